"""Algebraic simplification and constant folding, as a pattern rewriter.

Each rule is a structural pattern and a rewrite (`passes/patterns.py`), in
`simplify_rules` by the root's primitive, in groups that can be run alone:
`simplify(g, only={"identities"})`. A rewrite sees what its pattern bound and may return
a replacement value, emitting new nodes into `b`; `None` keeps the node.

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

import numpy as np

from ddc.codegen.numpy import runtime as numpy_runtime
from ddc.ir import Graph, Node, Value

from .patterns import P, RuleTable, rewrite, rule, splat
from .util import traced

simplify_rules: RuleTable = {}


def _simplify(group: str, pattern: P):
    return rule(group, pattern, simplify_rules)


def _is(value):
    """A splat of the number `value` (not a bool)."""
    return lambda c, v: not isinstance(c, bool) and c == value


def _zero(negative: bool):
    """A splat of the integer 0, or of the float zero with that sign."""
    def test(c, v) -> bool:
        if isinstance(c, bool) or c != 0:
            return False
        return not v.dtype.is_float or (math.copysign(1.0, c) < 0) == negative

    return test


X, Y, A, C = P(name="x"), P(name="y"), P(name="a"), P(name="c")
ONE, TWO = splat(_is(1)), splat(_is(2))
ZERO, NEG_ZERO = splat(_zero(negative=False)), splat(_zero(negative=True))
NEG_A = P("neg", A)
NEG_A_ONCE, NEG_C_ONCE = P("neg", A, once=True, name="na"), P("neg", C, once=True)


# -- identities ----------------------------------------------------------------------------

@_simplify("identities", P("add", X, NEG_ZERO))
def _add_neg_zero(b, m):
    """x + (-0.0) is x for every x; x + 0.0 is not (-0.0 + 0.0 is +0.0)."""
    return m.x


@_simplify("identities", P("sub", X, ZERO))
def _sub_zero(b, m):
    """x - 0.0 is x for every x; not x - (-0.0) (0.0 - (-0.0) is +0.0)."""
    return m.x


@_simplify("identities", P("sub", NEG_ZERO, Y))
def _neg_zero_sub(b, m):
    """-0.0 - y is -y for every y; not 0.0 - y (0.0 - 0.0 is +0.0, -(0.0) is -0.0)."""
    return b.neg(m.y)


@_simplify("identities", P("mul", X, ONE))
def _mul_one(b, m):
    return m.x


@_simplify("identities", P("div", X, ONE))
def _div_one(b, m):
    return m.x


@_simplify("identities", P("neg", NEG_A))
def _neg_neg(b, m):
    return m.a


@_simplify("identities", P("convert", X))
def _convert_same(b, m):
    return m.x if m.x.dtype == m.params["dtype"] else None


@_simplify("identities", P("reshape", X))
def _reshape_same(b, m):
    return m.x if tuple(m.x.shape) == tuple(m.params["shape"]) else None


@_simplify("identities", P("reshape", P("reshape", X)))
def _reshape_reshape(b, m):
    return b.reshape(m.x, shape=m.params["shape"])


@_simplify("identities", P("broadcast_in_dim", X))
def _broadcast_same(b, m):
    """A broadcast that changes nothing goes."""
    x, shape, dims = m.x, m.params["shape"], m.params["broadcast_dimensions"]
    return x if tuple(x.shape) == tuple(shape) and tuple(dims) == tuple(range(x.ndim)) else None


@_simplify("identities", P("broadcast_in_dim", P("broadcast_in_dim", X, name="inner")))
def _broadcast_broadcast(b, m):
    """A broadcast of a broadcast is one."""
    outer, inner = m.params["broadcast_dimensions"], m.node("inner").params["broadcast_dimensions"]
    return b.broadcast_in_dim(m.x, shape=m.params["shape"],
                              broadcast_dimensions=tuple(outer[d] for d in inner))


@_simplify("identities", P("transpose", X))
def _transpose_same(b, m):
    return m.x if tuple(m.params["permutation"]) == tuple(range(m.x.ndim)) else None


@_simplify("identities", P("transpose", P("transpose", X, name="inner")))
def _transpose_transpose(b, m):
    inner = m.node("inner").params["permutation"]
    return b.transpose(m.x, permutation=tuple(inner[p] for p in m.params["permutation"]))


@_simplify("identities", P("transpose", P("dot_general", A, C, name="dot", once=True)))
def _transposed_dot(b, m):
    return _swapped_dot(b, m.node("dot"), m.params["permutation"])


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


@_simplify("identities", P("reduce_sum", X))
def _sum_over_nothing(b, m):
    return m.x if not m.params["axes"] else None


@_simplify("identities", P("reduce_sum", P("broadcast_in_dim", Y, name="copies")))
def _sum_of_broadcast(b, m):
    """sum(broadcast(y)) over exactly the new dims, when they hold one copy of y or two: a
    sum starts at +0.0, so these are y + 0.0 and (y + y) + 0.0 (for ints y and y + y).
    Not y * n in general: six copies of most y do not add up to 6 * y, and y * 0 is NaN
    at y = inf where the empty sum is 0."""
    y, copies, axes = m.y, m.copies, m.params["axes"]
    bdims = m.node("copies").params["broadcast_dimensions"]
    new_dims = tuple(i for i in range(copies.ndim) if i not in bdims)
    if sorted(axes) != list(new_dims):
        return None
    count = math.prod((copies.shape[a] for a in axes), start=1)
    if count not in (1, 2):
        return None
    total = y if count == 1 else b.add(y, y)
    return b.add(total, b.zeros(y.type)) if y.dtype.is_float else total


@_simplify("identities", P("pow", X, ONE))
def _first_pow(b, m):
    return m.x


@_simplify("identities", P("pow", X, TWO))
def _square(b, m):
    """x**2 is x*x (what `x ** 2` and its derivative leave): the same at every special
    value, and x*x is the correctly rounded square that numpy's own pow with a scalar 2
    computes. Not x**0.5 as sqrt(x): they differ at -0.0 and -inf."""
    return b.mul(m.x, m.x)


@_simplify("identities", P("integer_pow", X))
def _first_power(b, m):
    return m.x if m.params["y"] == 1 else None


# -- negation sinks toward smaller values -----------------------------------------------
#
# The backward of a division computes both `-ct / y` and `ct / y`; with the negation moved
# past the division, cse makes them one, and the negation, moved on past a product, meets
# an add and becomes a sub. Negation commutes exactly with products and float divisions,
# so no value changes; it does not commute with sums (-(0.0 + -0.0) is -0.0, -0.0 + 0.0 is
# +0.0), so it never moves past a reduce_sum or a contraction. Only a negation with no
# other use moves (else it stays needed and one more is made).

@_simplify("negation", P("div", NEG_A_ONCE, Y))
def _neg_over(b, m):
    """(-a) / y is -(a / y) in floats; not in ints (-(-2**31) wraps: (-a) / 2 is -2**30)."""
    return b.neg(b.div(m.a, m.y)) if m.na.dtype.is_float else None


@_simplify("negation", P("mul", NEG_A_ONCE, NEG_C_ONCE))
def _mul_negs(b, m):
    return b.mul(m.a, m.c)


@_simplify("negation", P("mul", NEG_A_ONCE, Y, ordered=True))
def _neg_mul(b, m):
    return b.neg(b.mul(m.a, m.y))


@_simplify("negation", P("mul", X, NEG_C_ONCE, ordered=True))
def _mul_neg(b, m):
    return b.neg(b.mul(m.x, m.c))


@_simplify("negation", P("add", X, NEG_A))
def _add_neg(b, m):
    return b.sub(m.x, m.a)


@_simplify("negation", P("sub", X, NEG_A))
def _sub_neg(b, m):
    return b.add(m.x, m.a)


# -- constant folding ----------------------------------------------------------------------
#
# A fold computes at the node's dtype (0-d numpy arrays of it: an f32 fold rounds like f32,
# int arithmetic wraps like the int type) with the same numpy calls the numpy backend
# makes, so a folded graph and an unfolded one give the same bits. Integer division is
# left to the runtime.

_FOLD = {
    "neg": np.negative, "exp": np.exp, "log": np.log, "log1p": np.log1p, "tanh": np.tanh,
    "sqrt": np.sqrt, "sin": np.sin, "cos": np.cos, "erf": numpy_runtime.erf, "abs": np.abs, "sign": numpy_runtime.sign,
    "add": np.add, "sub": np.subtract, "mul": np.multiply, "max": np.maximum,
    "min": np.minimum, "pow": numpy_runtime.power, "div": np.divide,
}
_BINARY = {"add", "sub", "mul", "max", "min", "pow", "div"}


def _constant(name: str) -> P:
    return splat(lambda c, v: True, name)


def _fold(name: str):
    """An elementwise op on constants (scalars, or broadcasts of them) is one constant."""
    operands = ("x", "y") if name in _BINARY else ("x",)

    @_simplify("fold", P(name, *map(_constant, operands)))
    def fold(b, m):
        xs = [m.values[k] for k in operands]
        if name == "div" and not xs[0].dtype.is_float:
            return None  # integer division (by zero too) is the runtime's
        arrays = [np.asarray(m.facts.splat(x), dtype=xs[0].dtype.np) for x in xs]
        with np.errstate(all="ignore"):
            result = _FOLD[name](*arrays)
        return b.full(np.asarray(result).item(), xs[0].type)

    return fold


for _name in _FOLD:
    _fold(_name)


@_simplify("fold", P("convert", _constant("x")))
def _fold_convert(b, m):
    """A convert of a constant, by the numpy runtime's `convert` (float to int: truncated
    toward zero, NaN to 0, saturated)."""
    x, dtype = m.x, m.params["dtype"]
    with np.errstate(all="ignore"):
        result = numpy_runtime.convert(np.asarray(m.facts.splat(x), dtype=x.dtype.np), dtype.np)
    return b.full(np.asarray(result).item(), x.type.with_dtype(dtype))


@_simplify("fold", P("integer_pow", _constant("x")))
def _fold_integer_pow(b, m):
    """By the backends' own multiplication chain, in x's dtype."""
    with np.errstate(all="ignore"):
        result = numpy_runtime.integer_pow(np.asarray(m.facts.splat(m.x), dtype=m.x.dtype.np),
                                           m.params["y"])
    return b.full(result.item(), m.x.type)


# -- the pass ------------------------------------------------------------------------------

@traced("simplify")
def simplify(graph: Graph, only: set[str] | None = None) -> Graph:
    return rewrite(graph, simplify_rules, only)


__all__ = ["simplify", "simplify_rules"]
