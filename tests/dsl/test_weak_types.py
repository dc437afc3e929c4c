"""Weak types: a literal, a constructor without `dtype=`, and an operation of such values
only take the dtype they are used at (JAX's rule), so an f64 program is bit-identical to the
same numpy f64 formula (never a constant rounded through f32), and an f32 one to numpy's f32."""
from __future__ import annotations

import numpy as np
import pytest

import ddc
import ddc.testing
from ddc import ir

from ..backends import assert_same_numbers
from .util import error_of, lowered, run

X = np.array([0.7, -1.3, 2.9])

# (expression of x: [3], numpy formula at the float type `t`)
EXAMPLES = [
    ("x * where(x > 0.0, 0.1, 0.2)", lambda x, t: x * np.where(x > 0, t(0.1), t(0.2))),
    ("x + full((3,), 0.1)", lambda x, t: x + np.full(3, 0.1, t)),
    ("x + arange(3) / 10", lambda x, t: x + np.arange(3, dtype=t) / t(10)),
    ("x + zeros(3) + 0.1", lambda x, t: x + np.zeros(3, t) + t(0.1)),
    ("x * ones(3) * 0.3", lambda x, t: x * np.ones(3, t) * t(0.3)),
    ("x + eye(3)[0] * 0.1", lambda x, t: x + np.eye(3, dtype=t)[0] * t(0.1)),
    ("x + full((3,), 0.1) * 2", lambda x, t: x + np.full(3, 0.1, t) * t(2)),
    ("x * -0.1", lambda x, t: x * t(-0.1)),
    ("x + reshape(full((1, 3), 0.1), (3,))", lambda x, t: x + np.full(3, 0.1, t)),
    ("x + exp(full((3,), 0.1))", lambda x, t: x + np.exp(np.full(3, 0.1, t))),
    ("x + arange(3) * 0.5", lambda x, t: x + np.arange(3, dtype=t) * t(0.5)),
    ("x / 3 + one_hot(arange(3), 3)[1] * 0.7", lambda x, t: x / t(3) + np.eye(3, dtype=t)[1] * t(0.7)),
    ("x + concatenate((full((1,), 0.1), arange(2) / 3))",
     lambda x, t: x + np.concatenate([np.full(1, 0.1, t), np.arange(2, dtype=t) / t(3)])),
]


def program(expr: str, param: str) -> str:
    return f"def f(x: {param}[3]) -> {param}[3]:\n    return {expr}\n"


def constants_are(graph: ir.Graph, dtype: ir.DType) -> None:
    """Every float constant has `dtype`, and no constant-only value is converted."""
    constant = set()
    for node in graph.nodes:
        if node.prim.name in ("constant", "iota") and node.out.dtype.is_float:
            assert node.out.dtype == dtype, node
        if node.prim.name in ("constant", "iota") or (node.inputs and all(v.id in constant for v in node.inputs)):
            constant.add(node.out.id)
            if node.prim.name == "convert":
                assert not node.inputs[0].dtype.is_float, node  # only comparisons (eye) become numbers


@pytest.mark.parametrize("expr, formula", EXAMPLES, ids=[e for e, _ in EXAMPLES])
def test_f64_programs_are_exact(expr, formula, backend):
    for param in ("f64", "float"):  # the default float of f64 code is f32; a generic one's is f64
        source = program(expr, param)
        assert_same_numbers(run(source, "f", X, dtype=ir.f64, backend=backend), formula(X, np.float64), backend)
        graph = lowered(source, "f", ir.f64)
        constants_are(graph, ir.f64)
        assert "f32" not in str(graph)


@pytest.mark.parametrize("expr, formula", EXAMPLES, ids=[e for e, _ in EXAMPLES])
def test_f32_programs_are_numpys_f32(expr, formula, backend):
    x = X.astype(np.float32)
    assert_same_numbers(run(program(expr, "float"), "f", x, backend=backend), formula(x, np.float32), backend)
    assert "f64" not in str(lowered(program(expr, "float"), "f"))


def test_the_ir_holds_the_constant_at_f64():
    text = str(lowered(program("x + full((3,), 0.1)", "f64"), "f", ir.f64))
    assert "constant[value=0.1, dtype=f64]" in text and "convert" not in text


GRADIENTS = [
    ("sum(x * where(x > 0.0, 0.1, 0.2))", lambda x: np.where(x > 0, 0.1, 0.2)),
    ("sum((x + full((3,), 0.1)) * (x + 0.1))", lambda x: 2 * (x + 0.1)),
    ("sum(x * (arange(3) / 10))", lambda x: np.arange(3) / 10),
    ("sum(x * x) * 0.3", lambda x: 0.3 * x + 0.3 * x),
]


@pytest.mark.parametrize("expr, gradient", GRADIENTS, ids=[e for e, _ in GRADIENTS])
def test_gradients_of_f64_programs_are_exact(expr, gradient):
    f = ddc.loads(f"def f(x: f64[3]) -> f64:\n    return {expr}\n").f
    g = ddc.grad(f)
    assert np.array_equal(g(X), gradient(X)), g(X) - gradient(X)
    constants_are(g.graph_for(ir.f64), ir.f64)
    ddc.testing.check_grads(f, (X,), order=2)


def test_dims_used_as_numbers_stay_exact():
    f = ddc.loads("def f(x: f64[n]) -> f64[n]:\n    return x / n + arange(n) / n\n").f
    x = np.linspace(-1, 1, 7)
    assert np.array_equal(f(x), x / 7 + np.arange(7) / 7)


# -- mixed int / float, and what the checker keeps --------------------------------------------

MIXED = """
def tenths() -> float[3]:
    return arange(3) / 10

def halves() -> float[3]:
    return arange(3) * 0.5

def inc(k: i32[n]) -> i32[n]:
    return k + 1

def half(k: i32[n]) -> f32[n]:
    return k * 0.5

def half_generic(k: i32[n], x: float[n]) -> float[n]:
    return k * 0.5 + x

def count(x: f64[n]) -> i32:
    return sum(arange(n) > 1)
"""


def test_mixed_int_and_float_weak_values():
    for dtype in (ir.f32, ir.f64):
        t = dtype.np.type
        out = run(MIXED, "tenths", dtype=dtype)
        assert out.dtype == t and np.array_equal(out, np.arange(3, dtype=t) / t(10))
        assert np.array_equal(run(MIXED, "halves", dtype=dtype), np.arange(3, dtype=t) * t(0.5))
    k = np.array([1, -4, 7], np.int32)
    assert run(MIXED, "inc", k).dtype == np.int32 and np.array_equal(run(MIXED, "inc", k), k + 1)
    assert run(MIXED, "half", k).dtype == np.float32  # i32 * 0.5 is the default float, as in JAX
    out = run(MIXED, "half_generic", k, X, dtype=ir.f64)
    assert out.dtype == np.float64 and np.array_equal(out, k * 0.5 + X)
    assert run(MIXED, "count", np.zeros(5)) == 3


@pytest.mark.parametrize("source, message", [
    ("def f(k: i32[n]) -> f64[n]:\n    return k * 0.5\n", "returns f32"),  # k is strong: k * 0.5 is f32
    ("def f(x: f64[3]) -> i32[3]:\n    return full((3,), 0.5)\n", "returns f32"),
    ("def g(k: i32[n]) -> i32[n]:\n    return k\n\ndef f(x: f64[3]) -> i32[3]:\n    return g(x[0] + zeros(3))\n",
     "argument 'k' of g must be i32"),
], ids=["strong-int-times-literal", "weak-float-as-int", "strong-plus-weak-is-strong"])
def test_weak_values_keep_their_kind(source, message):
    assert message in error_of(source, ddc.DDTypeError).message


WEAK_FLOW = """
def scale(v: float[n]) -> float[n]:
    return v * 3

def exact(v: f64[n]) -> f64[n]:
    return v

def returned(x: f64[3]) -> f64[3]:
    return full((3,), 0.1)

def through_exact(x: f64[3]) -> f64[3]:
    return x + exact(full((3,), 0.1))

def through_generic(x: float[3]) -> float[3]:
    return x + scale(full((3,), 0.1))

def default_in_f64_code(x: f64[3]) -> f64[3]:
    return x + scale(full((3,), 0.1))

def reduced(x: f64[3]) -> f64[3]:
    return x + sum(full((3,), 0.1))

def truncated(x: f64[3]) -> i32[3]:
    return astype(full((3,), -1.7), i32) + astype(arange(3) > 0, i32)
"""


def test_weak_values_at_returns_calls_and_reductions():
    t = np.float64
    assert np.array_equal(run(WEAK_FLOW, "returned", X, dtype=ir.f64), np.full(3, 0.1))
    assert np.array_equal(run(WEAK_FLOW, "through_exact", X, dtype=ir.f64), X + 0.1)  # the parameter's dtype
    assert np.array_equal(run(WEAK_FLOW, "through_generic", X, dtype=ir.f64), X + np.full(3, 0.1) * t(3))
    # reaching a generic argument or a reduction without meeting a strong value: the default
    # float, which is f32 in code without `float`
    f32_part = (np.full(3, 0.1, np.float32) * np.float32(3)).astype(t)
    assert np.array_equal(run(WEAK_FLOW, "default_in_f64_code", X, dtype=ir.f64), X + f32_part)
    assert np.array_equal(run(WEAK_FLOW, "reduced", X), X + t(np.full(3, 0.1, np.float32).sum()))
    assert np.array_equal(run(WEAK_FLOW, "truncated", X), np.array([-1, 0, 0], np.int32))


def test_variables_name_weak_values_and_long_weak_chains_lower():
    text = str(lowered("def f(x: f64[3]) -> f64[3]:\n    c = full((3,), 0.1)\n    return x + c\n", "f"))
    assert "%c:f64[3] = broadcast_in_dim" in text and "constant[value=0.1, dtype=f64]" in text
    chain = ddc.loads("def f(x: f64[3]) -> f64[3]:\n    return x + (zeros(3)" + " + 0.1" * 3000 + ")\n").f
    expected = np.zeros(3)
    for _ in range(3000):
        expected = expected + 0.1
    assert np.array_equal(chain(X), X + expected)


def test_vmap_of_a_weak_argument():
    source = """
def inner(v: f64[d]) -> f64[d]:
    return v * 2

def f(x: f64[b, d]) -> f64[b, d]:
    return x + vmap(inner)(full((b, d), 0.1))
"""
    x = np.ones((2, 3))
    assert np.array_equal(run(source, "f", x), x + np.full((2, 3), 0.1) * 2)


# -- Python numbers passed to `float` parameters --------------------------------------------

SCALARS = """
def scaled(x: float[n], s: float) -> float[n]:
    return x * s

def first(s: float, x: float[n]) -> float[n]:
    return x * s

def alone(s: float) -> float:
    return s * 3

def typed(x: f64[n], s: f32) -> f64[n]:
    return x * astype(s, f64)
"""


def test_python_scalars_never_decide_the_float():
    m = ddc.loads(SCALARS)
    for s in (0.1, np.float64(0.1), np.float32(0.1)):
        out = m.scaled(X, s)
        assert out.dtype == np.float64 and np.array_equal(out, X * float(s))
        out = m.first(s, X.astype(np.float32))  # a numpy scalar first: the array still decides
        assert out.dtype == np.float32 and np.array_equal(out, X.astype(np.float32) * np.float32(s))
        assert m.alone(s).dtype == np.float32 and m.alone(s) == np.float32(s) * np.float32(3)
    # a number for an f32 parameter is rounded to f32 once, as numpy's asarray(s, f32)
    assert np.array_equal(m.typed(X, 0.1), X * np.float64(np.float32(0.1)))


def test_a_weak_one_hot_takes_the_float_of_the_logits_it_meets():
    # before weak types one_hot(y, c) was f32 and clashed with f64 logits in the generic call
    m = ddc.loads("import losses\n\ndef f(z: f64[n, c], y: i32[n]) -> f64[n]:\n"
                  "    return losses.cross_entropy_soft(z, one_hot(y, c))\n")
    z, y = np.random.default_rng(5).standard_normal((4, 3)), np.array([0, 2, 1, 2], np.int32)
    log_softmax = z - z.max(1, keepdims=True) - np.log(np.exp(z - z.max(1, keepdims=True)).sum(1, keepdims=True))
    np.testing.assert_allclose(m.f(z, y), -log_softmax[np.arange(4), y], rtol=1e-14)
