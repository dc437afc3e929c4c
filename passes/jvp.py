"""Forward mode: `jvp(graph)` pushes tangents through every node, by `jvp_rules`.

The jvp graph takes (primals..., tangents...) and returns (outputs..., output tangents...).
Only float inputs named in `wrt` get a tangent, and only float outputs give one. `None`
is the symbolic zero: a node whose inputs all have zero tangent emits no tangent work at
all, which is how a gradient w.r.t. LoRA's A and B never touches the frozen W0.

Rules emit only primitives of the set, so `jvp` applies to its own output (higher order).
Rule signature (as in JAX): `rule(b, primals, tangents, **params) -> (out, out_tangent)`.

Conventions at kinks (documented in the README and tested):
- relu is lowered as `select(x <= 0, 0, x)`, so relu'(0) = 0, like JAX and PyTorch.
- `max`/`min` (elementwise) split the tangent evenly at ties: d max(x, y) = (dx + dy) / 2.
- `reduce_max` splits the tangent evenly among all maximal entries.
- abs'(0) = sign(0) = 0; sign' = 0 everywhere.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from ddc.ir import Builder, Graph, Value
from ddc.ir.core import Primitive

from .util import traced

JvpRule = Callable[..., tuple[Value, "Value | None"]]
jvp_rules: dict[str, JvpRule] = {}


def instantiate(b: Builder, t: Value | None, like: Value) -> Value:
    """A symbolic zero made concrete, for the few rules that need every tangent."""
    return b.zeros(like.type) if t is None else t


def add_tangents(b: Builder, x: Value | None, y: Value | None) -> Value | None:
    if x is None:
        return y
    if y is None:
        return x
    return b.add(x, y)


# -- combinators ---------------------------------------------------------------------------

def defjvp(name: str, *partials: Callable | None) -> None:
    """One function per argument: `partial(b, t, out, *primals, **params)` gives that
    argument's contribution to the output tangent; contributions are added."""

    def rule(b, primals, tangents, **params):
        out = b.bind(name, *primals, **params)
        total = None
        for partial, t in zip(partials, tangents):
            if t is not None and partial is not None:
                total = add_tangents(b, total, partial(b, t, out, *primals, **params))
        return out, total

    jvp_rules[name] = rule


def deflinear(name: str) -> None:
    """A primitive linear in all its inputs: apply it to the tangents (zeros filled in)."""

    def rule(b, primals, tangents, **params):
        out = b.bind(name, *primals, **params)
        if all(t is None for t in tangents):
            return out, None
        ts = [instantiate(b, t, p) for t, p in zip(tangents, primals)]
        return out, b.bind(name, *ts, **params)

    jvp_rules[name] = rule


def defzero(name: str) -> None:
    """A primitive whose output has zero tangent (piecewise constant, integer, or fresh)."""

    def rule(b, primals, tangents, **params):
        return b.bind(name, *primals, **params), None

    jvp_rules[name] = rule


# -- the table -----------------------------------------------------------------------------

def _one(b, like: Value, value=1.0) -> Value:
    return b.full(value, like.type)


defjvp("exp", lambda b, t, out, x: b.mul(t, out))
defjvp("log", lambda b, t, out, x: b.div(t, x))
defjvp("log1p", lambda b, t, out, x: b.div(t, b.add(_one(b, x), x)))
defjvp("tanh", lambda b, t, out, x: b.mul(t, b.sub(_one(b, out), b.mul(out, out))))
defjvp("logistic", lambda b, t, out, x: b.mul(t, b.mul(out, b.sub(_one(b, out), out))))
defjvp("sqrt", lambda b, t, out, x: b.div(t, b.mul(_one(b, out, 2.0), out)))
defjvp("sin", lambda b, t, out, x: b.mul(t, b.cos(x)))
defjvp("cos", lambda b, t, out, x: b.neg(b.mul(t, b.sin(x))))
defjvp("erf", lambda b, t, out, x: b.mul(t, b.mul(_one(b, x, 2 / math.sqrt(math.pi)), b.exp(b.neg(b.mul(x, x))))))  # 2/√π·e^(-x²)
defjvp("abs", lambda b, t, out, x: b.mul(t, b.sign(x)))
defjvp(
    "mul",
    lambda b, t, out, x, y: b.mul(t, y),
    lambda b, t, out, x, y: b.mul(x, t),
)
defjvp(
    "div",
    lambda b, t, out, x, y: b.div(t, y),
    lambda b, t, out, x, y: b.neg(b.div(b.mul(out, t), y)),
)


def _pow_dy(b, t, out, x, y):
    """log(x) * x ** y with log reading 1 where x == 0, as JAX: 0 there for y >= 0 (not
    log(0) * 0 = NaN), and no NaN comes back through the select in reverse mode."""
    at_zero = b.compare(x, b.zeros(x.type), direction="eq")
    return b.mul(t, b.mul(out, b.log(b.select(at_zero, _one(b, x), x))))


defjvp(
    "pow",
    lambda b, t, out, x, y: b.mul(t, b.mul(y, b.pow(x, b.sub(y, _one(b, y))))),
    _pow_dy,
)
defjvp(
    "dot_general",
    lambda b, t, out, x, y, **p: b.dot_general(t, y, **p),
    lambda b, t, out, x, y, **p: b.dot_general(x, t, **p),
)
defjvp("add", lambda b, t, out, x, y: t, lambda b, t, out, x, y: t)
defjvp("sub", lambda b, t, out, x, y: t, lambda b, t, out, x, y: b.neg(t))
defjvp("gather", lambda b, t, out, x, idx, **p: b.gather(t, idx, **p), None)
defjvp("scatter_add", lambda b, t, out, u, idx, **p: b.scatter_add(t, idx, **p), None)

for _name in ("neg", "broadcast_in_dim", "reshape", "transpose", "reduce_sum",
              "slice", "pad", "concatenate"):
    deflinear(_name)

for _name in ("sign", "compare", "iota", "constant", "stop_gradient"):
    defzero(_name)


def _select_jvp(b, primals, tangents):
    pred, on_true, on_false = primals
    out = b.select(pred, on_true, on_false)
    _, t_true, t_false = tangents
    if t_true is None and t_false is None:
        return out, None
    return out, b.select(pred, instantiate(b, t_true, on_true), instantiate(b, t_false, on_false))


jvp_rules["select"] = _select_jvp


def _integer_pow_jvp(b, primals, tangents, y):
    """n * x ** (n - 1): zero for n == 0, and x ** 0 is 1 exactly (no division by x)."""
    (x,), (t,) = primals, tangents
    out = b.integer_pow(x, y=y)
    if y == 0:
        return out, None
    if y == 1:
        return out, t
    power = x if y == 2 else b.integer_pow(x, y=y - 1)
    return out, b.mul(t, b.mul(_one(b, x, float(y)), power))


jvp_rules["integer_pow"] = _integer_pow_jvp


def _convert_jvp(b, primals, tangents, dtype):
    (x,), (t,) = primals, tangents
    out = b.convert(x, dtype=dtype)
    if t is None or not (x.dtype.is_float and dtype.is_float):
        return out, None
    return out, b.convert(t, dtype=dtype)


jvp_rules["convert"] = _convert_jvp


def _extremum_jvp(name: str, wins: str):
    """max/min: the winner's tangent; at a tie, the mean of both."""

    def rule(b, primals, tangents):
        x, y = primals
        out = b.bind(name, x, y)
        tx, ty = tangents
        if tx is None and ty is None:
            return out, None
        tx, ty = instantiate(b, tx, x), instantiate(b, ty, y)
        half = b.mul(b.add(tx, ty), _one(b, x, 0.5))
        tie_or_y = b.select(b.compare(x, y, direction="eq"), half, ty)
        return out, b.select(b.compare(x, y, direction=wins), tx, tie_or_y)

    jvp_rules[name] = rule


_extremum_jvp("max", "gt")
_extremum_jvp("min", "lt")


def _reduce_max_jvp(b, primals, tangents, axes):
    (x,), (t,) = primals, tangents
    out = b.reduce_max(x, axes=axes)
    if t is None:
        return out, None
    kept = tuple(i for i in range(x.ndim) if i not in axes)
    spread = b.broadcast_in_dim(out, shape=x.shape, broadcast_dimensions=kept)
    at_max = b.convert(b.compare(x, spread, direction="eq"), dtype=x.dtype)
    count = b.reduce_sum(at_max, axes=axes)
    picked = b.reduce_sum(b.mul(t, at_max), axes=axes)
    return out, b.div(picked, count)


jvp_rules["reduce_max"] = _reduce_max_jvp


# -- the pass ------------------------------------------------------------------------------

def has_tangent(v: Value) -> bool:
    return v.dtype.is_float


@traced("jvp")
def jvp(graph: Graph, wrt: Sequence[bool] | None = None) -> Graph:
    """The jvp graph: inputs (primals..., tangents for float inputs in `wrt`...), outputs
    (outputs..., tangents of the float outputs...). Zero output tangents are materialised."""
    if wrt is None:
        wrt = [True] * len(graph.inputs)
    b = Builder(origin="primal")
    primal_in = [Value(v.type, v.name, "primal") for v in graph.inputs]
    tangent_in = [
        Value(v.type, f"d{v.name}" if v.name else None, "tangent")
        for v, w in zip(graph.inputs, wrt) if w and has_tangent(v)
    ]
    env: dict[int, Value] = {}
    tan: dict[int, Value | None] = {}
    tangent_ids = {v.id for v in tangent_in}
    it = iter(tangent_in)
    for old, new, w in zip(graph.inputs, primal_in, wrt):
        env[old.id] = new
        tan[old.id] = next(it) if w and has_tangent(old) else None
    for node in graph.nodes:
        b.span = node.span
        out, t = _apply(b, node.prim, [env[v.id] for v in node.inputs],
                        [tan[v.id] for v in node.inputs], node.params, tangent_ids)
        out.name = node.out.name
        if t is not None and t.name is None and node.out.name:
            t.name = f"d{node.out.name}"
        env[node.out.id], tan[node.out.id] = out, t
    b.span = None
    outs = [env[v.id] for v in graph.outputs]
    out_tangents = [instantiate(b, tan[v.id], env[v.id]) for v in graph.outputs if has_tangent(v)]
    return b.graph(primal_in + tangent_in, outs + out_tangents, f"jvp_{graph.name}")


def _apply(b: Builder, prim: Primitive, primals, tangents, params, tangent_ids: set[int]):
    """Run one rule; the nodes it makes that read a tangent are marked 'tangent'."""
    if all(t is None for t in tangents):
        return b.bind(prim, *primals, **params), None
    start = len(b.nodes)
    out, t = jvp_rules[prim.name](b, primals, tangents, **params)
    for n in b.nodes[start:]:
        if any(v.id in tangent_ids for v in n.inputs):
            n.out.origin = "tangent"
            tangent_ids.add(n.out.id)
    return out, t
