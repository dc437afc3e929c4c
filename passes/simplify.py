"""Algebraic simplification and constant folding, as a pattern rewriter.

Patterns are indexed by primitive: `pattern(b, facts, *inputs, **params) -> Value | None`. A
pattern sees the node's (already rewritten) inputs and may return a replacement value,
emitting new nodes into `b` if it needs them; `None` means "no match", and the node is
kept. Patterns are plain functions in `simplify_rules`, composable by name:
`simplify(g, only={"identities"})`.

What the AD passes leave behind and this removes: `x*1`, `x/1`, `x+(-0.0)`, `x-0.0`,
`-0.0-x` (as `-x`), `neg(neg(x))`, `x**1`, `x**2` (as `x*x`), converts, reshapes,
broadcasts and transposes that change nothing, a transpose of a transpose, a reshape of a
reshape, and a sum of one or two broadcast copies (`y + 0.0`, `(y + y) + 0.0`). Negations
move past products and float divisions (or vanish into a sub). Scalar constant arithmetic
is folded at the node's dtype, by the numpy runtime's own helpers where a primitive needs
one (sign, pow, float-to-int convert).

Every pattern is exact for every input, NaN, signed zeros, infinities and empty dims
included. Those that look right but are not, and are not made, each have a test in
`tests/passes/test_exact_rewrites.py` with the input that tells them apart: `x+0` (-0.0 +
0.0 is +0.0), `0-x` (0.0 - 0.0 is +0.0, -(0.0) is -0.0), `x*0` (NaN at inf), `x-x` (NaN at
inf), `sum(broadcast(y))` as `y*n` (NaN at n = 0 and y = inf, where the empty sum is 0;
six copies of most y do not add up to 6*y), a negation moved past a sum or a contraction
(a sum starts at +0.0: the sum of [-0.0] is +0.0, its negation -0.0), and `x**0.5` as
`sqrt(x)` (pow(-0.0, 0.5) is +0.0, pow(-inf, 0.5) is inf).
"""
from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from ddc.codegen import numpy_runtime
from ddc.ir import Builder, Graph, Node, Value
from ddc.ir.dims import Sym

from .util import traced

Pattern = Callable[..., "Value | None"]
simplify_rules: dict[str, list[tuple[str, Pattern]]] = {}


def pattern(group: str, *prims: str, table: dict | None = None):
    """Register a pattern for `prims` in `table` (default: `simplify_rules`)."""
    rules = simplify_rules if table is None else table

    def register(fn: Pattern) -> Pattern:
        for p in prims:
            rules.setdefault(p, []).append((group, fn))
        return fn

    return register


class Facts:
    """What the rewriter knows about values it has emitted: their defining node; and how
    many uses each value of the input graph has (outputs count as uses)."""

    def __init__(self, graph: Graph | None = None):
        self.producer: dict[int, Node] = {}
        self.uses: dict[int, int] = {}
        if graph is not None:
            for n in graph.nodes:
                for v in n.inputs:
                    self.uses[v.id] = self.uses.get(v.id, 0) + 1
            for v in graph.outputs:
                self.uses[v.id] = self.uses.get(v.id, 0) + 1

    def used_once(self, v: Value) -> bool:
        """`v` has exactly one use: a value of the input graph, or one a pattern returned in
        place of one (other values made by the rewrite are not counted, so never are)."""
        return self.uses.get(v.id) == 1

    def node(self, v: Value) -> Node | None:
        return self.producer.get(v.id)

    def splat(self, v: Value):
        """The scalar a value is made of (a constant, or a broadcast/reshape of one), as a
        value of its dtype (an f32 constant 0.1 is f32's nearest number), or None. A convert
        is folded before anything reads it, so it is not looked through."""
        n = self.node(v)
        while n is not None and n.prim.name in ("broadcast_in_dim", "reshape"):
            n = self.node(n.inputs[0])
        if n is None or n.prim.name != "constant" or isinstance(n.params["value"], Sym):
            return None
        try:
            return np.asarray(n.params["value"], dtype=v.dtype.np).item()
        except OverflowError:  # an int constant its dtype cannot hold: the backends reject it
            return None


def _neg_of(facts: Facts, v: Value) -> Value | None:
    """What `v` negates, when it is a negation."""
    n = facts.node(v)
    return n.inputs[0] if n is not None and n.prim.name == "neg" else None


def _is(facts: Facts, v: Value, value) -> bool:
    c = facts.splat(v)
    return c is not None and not isinstance(c, bool) and c == value


def _is_zero(facts: Facts, v: Value, negative: bool) -> bool:
    """`v` is a splat of the integer 0, or of the float zero with that sign."""
    c = facts.splat(v)
    if c is None or isinstance(c, bool) or c != 0:
        return False
    return not v.dtype.is_float or (math.copysign(1.0, c) < 0) == negative


# -- identities ----------------------------------------------------------------------------

@pattern("identities", "add")
def _add_zero(b, facts, x, y):
    """x + (-0.0) is x for every x; x + 0.0 is not (-0.0 + 0.0 is +0.0)."""
    if _is_zero(facts, y, negative=True):
        return x
    if _is_zero(facts, x, negative=True):
        return y
    return None


@pattern("identities", "sub")
def _sub_zero(b, facts, x, y):
    """x - 0.0 is x, and -0.0 - y is -y, for every x and y (not x - (-0.0), nor 0.0 - y:
    0.0 - 0.0 is +0.0, -(0.0) is -0.0)."""
    if _is_zero(facts, y, negative=False):
        return x
    if _is_zero(facts, x, negative=True):
        return b.neg(y)
    return None


@pattern("identities", "mul")
def _mul_one(b, facts, x, y):
    if _is(facts, y, 1):
        return x
    if _is(facts, x, 1):
        return y
    return None


@pattern("identities", "div")
def _div_one(b, facts, x, y):
    return x if _is(facts, y, 1) else None


@pattern("identities", "neg")
def _neg_neg(b, facts, x):
    return _neg_of(facts, x)


@pattern("identities", "convert")
def _convert_same(b, facts, x, dtype):
    return x if x.dtype == dtype else None


@pattern("identities", "reshape")
def _reshape(b, facts, x, shape):
    if tuple(x.shape) == tuple(shape):
        return x
    n = facts.node(x)
    if n is not None and n.prim.name == "reshape":
        return b.reshape(n.inputs[0], shape=shape)
    return None


@pattern("identities", "broadcast_in_dim")
def _broadcast(b, facts, x, shape, broadcast_dimensions):
    """A broadcast that changes nothing goes; a broadcast of a broadcast is one."""
    if tuple(x.shape) == tuple(shape) and tuple(broadcast_dimensions) == tuple(range(x.ndim)):
        return x
    n = facts.node(x)
    if n is not None and n.prim.name == "broadcast_in_dim":
        inner = n.params["broadcast_dimensions"]
        return b.broadcast_in_dim(n.inputs[0], shape=shape,
                                  broadcast_dimensions=tuple(broadcast_dimensions[d] for d in inner))
    return None


@pattern("identities", "transpose")
def _transpose(b, facts, x, permutation):
    if tuple(permutation) == tuple(range(x.ndim)):
        return x
    n = facts.node(x)
    if n is not None and n.prim.name == "transpose":
        inner = n.params["permutation"]
        return b.transpose(n.inputs[0], permutation=tuple(inner[p] for p in permutation))
    if n is not None and n.prim.name == "dot_general" and facts.used_once(x):
        return _swapped_dot(b, n, permutation)
    return None


def _swapped_dot(b, dot: Node, permutation) -> Value | None:
    """transpose(dot_general(a, c)) as dot_general(c, a) when that is exactly the layout
    asked for (what transposing a matmul leaves: `(ct.T @ x).T` is `x.T @ ct`)."""
    a, c = dot.inputs
    (ac, cc), (ab, cb) = dot.params["contract"], dot.params["batch"]
    nb = len(ab)
    na = a.ndim - len(ac) - nb
    nc = c.ndim - len(cc) - nb
    # where each output dim of dot(a, c) lands in the output of dot(c, a)
    moved = list(range(nb)) + [nb + nc + i for i in range(na)] + [nb + i for i in range(nc)]
    if [moved[p] for p in permutation] != list(range(len(permutation))):
        return None
    return b.dot_general(c, a, contract=(cc, ac), batch=(cb, ab))


@pattern("identities", "reduce_sum")
def _sum_of_broadcast(b, facts, x, axes):
    """sum(broadcast(y)) over exactly the new dims, when they hold one copy of y or two: a
    sum starts at +0.0, so these are y + 0.0 and (y + y) + 0.0 (for ints y and y + y).
    Not y * n in general: six copies of most y do not add up to 6 * y, and y * 0 is NaN
    at y = inf where the empty sum is 0."""
    if not axes:
        return x
    n = facts.node(x)
    if n is None or n.prim.name != "broadcast_in_dim":
        return None
    y, bdims = n.inputs[0], n.params["broadcast_dimensions"]
    new_dims = tuple(i for i in range(x.ndim) if i not in bdims)
    if sorted(axes) != list(new_dims):
        return None
    count = math.prod((x.shape[a] for a in axes), start=1)
    if count not in (1, 2):
        return None
    total = y if count == 1 else b.add(y, y)
    return b.add(total, b.zeros(y.type)) if y.dtype.is_float else total


@pattern("identities", "pow")
def _small_powers(b, facts, x, y):
    """x**1 is x, x**2 is x*x (what `x ** 2` and its derivative leave): the same at every
    special value, and x*x is the correctly rounded square that numpy's own pow with a
    scalar 2 computes. Not x**0.5 as sqrt(x): they differ at -0.0 and -inf."""
    if _is(facts, y, 1):
        return x
    if _is(facts, y, 2):
        return b.mul(x, x)
    return None


@pattern("identities", "integer_pow")
def _first_power(b, facts, x, y):
    return x if y == 1 else None


# -- negation sinks toward smaller values -----------------------------------------------
#
# The backward of a division computes both `-ct / y` and `ct / y`; with the negation moved
# past the division, cse makes them one, and the negation, moved on past a product, meets
# an add and becomes a sub. Negation commutes exactly with products and float divisions,
# so no value changes; it does not commute with sums (-(0.0 + -0.0) is -0.0, -0.0 + 0.0 is
# +0.0), so it never moves past a reduce_sum or a contraction. Only a negation with no
# other use moves (else it stays needed and one more is made).

def _negated(facts: Facts, v: Value) -> Value | None:
    """What `v` negates, when `v` is a negation used only here."""
    return _neg_of(facts, v) if facts.used_once(v) else None


@pattern("negation", "div")
def _neg_over(b, facts, x, y):
    """(-a) / y is -(a / y) in floats; not in ints (-(-2**31) wraps: (-a) / 2 is -2**30)."""
    a = _negated(facts, x) if x.dtype.is_float else None
    return None if a is None else b.neg(b.div(a, y))


@pattern("negation", "mul")
def _mul_neg(b, facts, x, y):
    a, c = _negated(facts, x), _negated(facts, y)
    if a is not None and c is not None:
        return b.mul(a, c)
    if a is not None:
        return b.neg(b.mul(a, y))
    return None if c is None else b.neg(b.mul(x, c))


@pattern("negation", "add")
def _add_neg(b, facts, x, y):
    for kept, other in ((x, y), (y, x)):
        a = _neg_of(facts, other)
        if a is not None:
            return b.sub(kept, a)
    return None


@pattern("negation", "sub")
def _sub_neg(b, facts, x, y):
    a = _neg_of(facts, y)
    return None if a is None else b.add(x, a)


# -- constant folding ----------------------------------------------------------------------
#
# A fold computes at the node's dtype (0-d numpy arrays of it: an f32 fold rounds like f32,
# int arithmetic wraps like the int type) with the same numpy calls the numpy backend
# makes, so a folded graph and an unfolded one give the same bits. Integer division is
# left to the runtime.

_FOLD = {
    "neg": np.negative, "exp": np.exp, "log": np.log, "log1p": np.log1p, "tanh": np.tanh,
    "sqrt": np.sqrt, "sin": np.sin, "cos": np.cos, "abs": np.abs, "sign": numpy_runtime.sign,
    "add": np.add, "sub": np.subtract, "mul": np.multiply, "max": np.maximum,
    "min": np.minimum, "pow": numpy_runtime.power, "div": np.divide,
}


def _fold(name):
    """An elementwise op on constants (scalars, or broadcasts of them) is one constant."""

    def fold(b, facts, *xs):
        values = [facts.splat(x) for x in xs]
        if any(v is None for v in values):
            return None
        if name == "div" and not xs[0].dtype.is_float:
            return None  # integer division (by zero too) is the runtime's
        arrays = [np.asarray(v, dtype=xs[0].dtype.np) for v in values]
        with np.errstate(all="ignore"):
            result = _FOLD[name](*arrays)
        return b.full(np.asarray(result).item(), xs[0].type)

    return fold


for _name in _FOLD:
    pattern("fold", _name)(_fold(_name))


@pattern("fold", "convert")
def _fold_convert(b, facts, x, dtype):
    """A convert of a constant, by the numpy runtime's `convert` (float to int: truncated
    toward zero, NaN to 0, saturated)."""
    value = facts.splat(x)
    if value is None:
        return None
    with np.errstate(all="ignore"):
        result = numpy_runtime.convert(np.asarray(value, dtype=x.dtype.np), dtype.np)
    return b.full(np.asarray(result).item(), x.type.with_dtype(dtype))


@pattern("fold", "integer_pow")
def _fold_integer_pow(b, facts, x, y):
    """By the backends' own multiplication chain, in x's dtype."""
    value = facts.splat(x)
    if value is None:
        return None
    with np.errstate(all="ignore"):
        result = numpy_runtime.integer_pow(np.asarray(value, dtype=x.dtype.np), y)
    return b.full(result.item(), x.type)


# -- the pass ------------------------------------------------------------------------------

def rewrite(graph: Graph, rules: dict[str, list[tuple[str, Pattern]]], only: set[str] | None = None) -> Graph:
    """Rewrite `graph` node by node with the patterns in `rules` (in groups `only`, or all).

    The driver that other pattern passes share: the first pattern that returns a value of
    the node's type replaces the node; nodes the patterns emit are known to later ones."""
    facts = Facts(graph)
    b = Builder()
    env: dict[int, Value] = {}
    for node in graph.nodes:
        b.span = node.span
        inputs = [env.get(v.id, v) for v in node.inputs]
        replacement = None
        for group, fn in rules.get(node.prim.name, ()):
            if only is None or group in only:
                start = len(b.nodes)
                replacement = fn(b, facts, *inputs, **node.params)
                for new in b.nodes[start:]:
                    facts.producer[new.out.id] = new
                    new.out.origin = new.out.origin or node.out.origin  # keep pictures' colours
                if replacement is not None:
                    break
        if replacement is not None and replacement.type == node.out.type:
            env[node.out.id] = replacement
            if replacement.id in facts.producer and replacement.id not in facts.uses:
                # a value made here takes over the node's uses, so patterns further on can
                # see it used once, and chains (a negation moving on) finish in one pass
                facts.uses[replacement.id] = facts.uses.get(node.out.id, 0)
            continue
        fresh = node.with_inputs(inputs)
        b.nodes.append(fresh)
        facts.producer[node.out.id] = fresh
    outputs = [env.get(v.id, v) for v in graph.outputs]
    return b.graph(graph.inputs, outputs, graph.name)


@traced("simplify")
def simplify(graph: Graph, only: set[str] | None = None) -> Graph:
    return rewrite(graph, simplify_rules, only)
