"""Numbers: every builtin, operator and broadcasting case, lowered and run on each backend
(numpy, triton), against hand-written numpy, in f32 and f64 (one generic `float` source
each)."""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest

from ddc import ir

from .util import close, run


def normal(*shape):
    return lambda rng: rng.standard_normal(shape)


def positive(*shape):
    return lambda rng: rng.uniform(0.5, 2.0, shape)


def ints(high, *shape):
    return lambda rng: rng.integers(0, high, shape).astype(np.int32)


@dataclass
class Row:
    expr: str
    params: str
    returns: str
    reference: Callable
    inputs: list

    def __str__(self) -> str:
        return self.expr


X = "x: float[n, d]"
XY = "x: float[n, d], y: float[n, d]"
N, D = 3, 4

ROWS = [
    # elementwise, unary
    Row("exp(x)", X, "float[n, d]", np.exp, [normal(N, D)]),
    Row("log(x)", X, "float[n, d]", np.log, [positive(N, D)]),
    Row("log1p(x)", X, "float[n, d]", np.log1p, [positive(N, D)]),
    Row("sqrt(x)", X, "float[n, d]", np.sqrt, [positive(N, D)]),
    Row("tanh(x)", X, "float[n, d]", np.tanh, [normal(N, D)]),
    Row("sigmoid(x)", X, "float[n, d]", lambda x: 1 / (1 + np.exp(-x)), [normal(N, D)]),
    Row("relu(x)", X, "float[n, d]", lambda x: np.maximum(x, 0), [normal(N, D)]),
    Row("abs(x)", X, "float[n, d]", np.abs, [normal(N, D)]),
    Row("sign(x)", X, "float[n, d]", np.sign, [normal(N, D)]),
    Row("sin(x)", X, "float[n, d]", np.sin, [normal(N, D)]),
    Row("cos(x)", X, "float[n, d]", np.cos, [normal(N, D)]),
    Row("erf(x)", X, "float[n, d]", np.frompyfunc(math.erf, 1, 1), [normal(N, D)]),
    Row("-x", X, "float[n, d]", np.negative, [normal(N, D)]),
    Row("exp(k)", "k: i32[n]", "f32[n]", lambda k: np.exp(k.astype(np.float32)), [ints(5, N)]),
    # elementwise, binary, with numpy broadcasting
    Row("x + y", XY, "float[n, d]", np.add, [normal(N, D), normal(N, D)]),
    Row("x - y", "x: float[n, d], y: float[d]", "float[n, d]", np.subtract, [normal(N, D), normal(D)]),
    Row("x * y", "x: float[n, 1], y: float[1, d]", "float[n, d]", np.multiply, [normal(N, 1), normal(1, D)]),
    Row("x / y", "x: float[n, d], y: float[n, 1]", "float[n, d]", np.divide, [normal(N, D), positive(N, 1)]),
    Row("x ** y", XY, "float[n, d]", np.power, [positive(N, D), normal(N, D)]),
    Row("x ** 2", X, "float[n, d]", lambda x: x ** 2, [normal(N, D)]),
    Row("2 * x - 1", X, "float[n, d]", lambda x: 2 * x - 1, [normal(N, D)]),
    Row("1 / x", X, "float[n, d]", lambda x: 1 / x, [positive(N, D)]),
    Row("x * s", "x: float[n, d], s: float", "float[n, d]", np.multiply, [normal(N, D), normal()]),
    Row("maximum(x, y)", "x: float[n, d], y: float[d]", "float[n, d]", np.maximum, [normal(N, D), normal(D)]),
    Row("minimum(x, 0.0)", X, "float[n, d]", lambda x: np.minimum(x, 0), [normal(N, D)]),
    Row("where(x > y, x, 0.5 * y)", XY, "float[n, d]", lambda x, y: np.where(x > y, x, 0.5 * y),
        [normal(N, D), normal(N, D)]),
    Row("where(x > 0, 1.0, x)", X, "float[n, d]", lambda x: np.where(x > 0, 1, x), [normal(N, D)]),
    Row("x < y", "x: float[n, d], y: float[d]", "bool[n, d]", np.less, [normal(N, D), normal(D)]),
    Row("x <= y", XY, "bool[n, d]", np.less_equal, [normal(N, D), normal(N, D)]),
    Row("x > 0", X, "bool[n, d]", lambda x: x > 0, [normal(N, D)]),
    Row("x >= y", XY, "bool[n, d]", np.greater_equal, [normal(N, D), normal(N, D)]),
    Row("k == j", "k: i32[n], j: i32[n]", "bool[n]", np.equal, [ints(3, 8), ints(3, 8)]),
    Row("k != j", "k: i32[n], j: i32[n]", "bool[n]", np.not_equal, [ints(3, 8), ints(3, 8)]),
    Row("x * k", "x: float[n], k: i32[n]", "float[n]", lambda x, k: x * k.astype(x.dtype), [normal(N), ints(5, N)]),
    Row("k / j", "k: i32[n], j: i32[n]", "f32[n]", lambda k, j: (k / j).astype(np.float32), [ints(5, N), lambda r: np.array([1, 2, 3], np.int32)]),
    Row("k * 2 - j", "k: i32[n], j: i32[n]", "i32[n]", lambda k, j: k * 2 - j, [ints(5, N), ints(5, N)]),
    Row("x / d + n", X, "float[n, d]", lambda x: x / D + N, [normal(N, D)]),
    # reductions
    Row("sum(x)", X, "float", np.sum, [normal(N, D)]),
    Row("sum(x, axis=0)", X, "float[d]", lambda x: x.sum(0), [normal(N, D)]),
    Row("sum(x, axis=-1, keepdims=true)", X, "float[n, 1]", lambda x: x.sum(-1, keepdims=True), [normal(N, D)]),
    Row("mean(x)", X, "float", np.mean, [normal(N, D)]),
    Row("mean(x, axis=(0, 1), keepdims=True)", X, "float[1, 1]", lambda x: x.mean((0, 1), keepdims=True), [normal(N, D)]),
    Row("mean(k)", "k: i32[n]", "f32", lambda k: np.float32(k.mean()), [ints(9, 5)]),
    Row("max(x, axis=1)", X, "float[n]", lambda x: x.max(1), [normal(N, D)]),
    Row("max(x)", X, "float", np.max, [normal(N, D)]),
    Row("min(x, axis=0)", X, "float[d]", lambda x: x.min(0), [normal(N, D)]),
    Row("min(x, axis=-2, keepdims=true)", X, "float[1, d]", lambda x: x.min(-2, keepdims=True), [normal(N, D)]),
    Row("sum(x > 0)", X, "i32", lambda x: np.sum(x > 0), [normal(N, D)]),
    Row("max(k)", "k: i32[n]", "i32", np.max, [ints(9, 6)]),
    # linear algebra
    Row("a @ b", "a: float[n, k], b: float[k, m]", "float[n, m]", np.matmul, [normal(3, 4), normal(4, 2)]),
    Row("a @ v", "a: float[n, k], v: float[k]", "float[n]", np.matmul, [normal(3, 4), normal(4)]),
    Row("v @ b", "v: float[k], b: float[k, m]", "float[m]", np.matmul, [normal(4), normal(4, 2)]),
    Row("v @ w", "v: float[k], w: float[k]", "float", np.matmul, [normal(4), normal(4)]),
    Row("x @ w", "x: float[b, s, k], w: float[k, m]", "float[b, s, m]", np.matmul, [normal(2, 3, 4), normal(4, 5)]),
    Row("w @ x", "w: float[m, s], x: float[b, s, k]", "float[b, m, k]", np.matmul, [normal(5, 3), normal(2, 3, 4)]),
    Row("v @ x", "v: float[s], x: float[b, s, k]", "float[b, k]", np.matmul, [normal(3), normal(2, 3, 4)]),
    Row("x @ v", "x: float[b, s, k], v: float[k]", "float[b, s]", np.matmul, [normal(2, 3, 4), normal(4)]),
    Row("matmul(x, y)", "x: float[b, n, k], y: float[b, k, m]", "float[b, n, m]", np.matmul,
        [normal(2, 3, 4), normal(2, 4, 5)]),
    Row("x @ y", "x: float[1, n, k], y: float[b, k, m]", "float[b, n, m]", np.matmul, [normal(1, 3, 4), normal(2, 4, 5)]),
    Row("x @ y", "x: float[c, 1, n, k], y: float[b, k, m]", "float[c, b, n, m]", np.matmul,
        [normal(2, 1, 3, 4), normal(3, 4, 5)]),
    Row("x @ k", "x: float[n, d], k: i32[d, m]", "float[n, m]", lambda x, k: x @ k.astype(x.dtype), [normal(N, D), ints(3, D, 2)]),
    # a vector side (M or N of 1) with the other operand computed in the matmul's kernel
    Row("v @ (w * u)", "v: float[k], w: float[k, 1], u: float[1, m]", "float[m]", lambda v, w, u: v @ (w * u),
        [normal(20), normal(20, 1), normal(1, 3)]),
    Row("(w * u) @ v", "w: float[n, 1], u: float[1, k], v: float[k]", "float[n]", lambda w, u, v: (w * u) @ v,
        [normal(3, 1), normal(1, 20), normal(20)]),
    # shapes
    Row("x.T", X, "float[d, n]", np.transpose, [normal(N, D)]),
    Row("transpose(x, (1, 2, 0))", "x: float[a, b, c]", "float[b, c, a]", lambda x: x.transpose(1, 2, 0), [normal(2, 3, 4)]),
    Row("transpose(x, axes=(-1, 0, 1))", "x: float[a, b, c]", "float[c, a, b]", lambda x: x.transpose(2, 0, 1), [normal(2, 3, 4)]),
    Row("reshape(x, -1)", "x: float[3, 4]", "float[12]", lambda x: x.reshape(-1), [normal(3, 4)]),
    Row("reshape(x, (d, n))", X, "float[d, n]", lambda x: x.reshape(D, N), [normal(N, D)]),
    Row("reshape(x, (2, -1, 3))", "x: float[4, 3]", "float[2, 2, 3]", lambda x: x.reshape(2, -1, 3), [normal(4, 3)]),
    Row("reshape(reshape(x, (n * d,)), (n, d))", X, "float[n, d]", lambda x: x, [normal(N, D)]),
    Row("expand_dims(x, 0)", X, "float[1, n, d]", lambda x: x[None], [normal(N, D)]),
    Row("expand_dims(x, (1, -1))", X, "float[n, 1, d, 1]", lambda x: np.expand_dims(x, (1, -1)), [normal(N, D)]),
    Row("squeeze(x, 1)", "x: float[n, 1, d]", "float[n, d]", lambda x: x.squeeze(1), [normal(N, 1, D)]),
    Row("squeeze(x)", "x: float[1, n, 1]", "float[n]", np.squeeze, [normal(1, N, 1)]),
    Row("broadcast_to(v, (n, d))", "v: float[d], x: float[n, d]", "float[n, d]",
        lambda v, x: np.broadcast_to(v, x.shape), [normal(D), normal(N, D)]),
    Row("concatenate([x, y], axis=1)", "x: float[3, 2], y: float[3, 4]", "float[3, 6]",
        lambda x, y: np.concatenate([x, y], 1), [normal(3, 2), normal(3, 4)]),
    Row("concatenate((x, y, x))", "x: float[2, 3], y: float[1, 3]", "float[5, 3]",
        lambda x, y: np.concatenate([x, y, x]), [normal(2, 3), normal(1, 3)]),
    # indexing
    Row("x[0]", X, "float[d]", lambda x: x[0], [normal(N, D)]),
    Row("x[-1]", X, "float[d]", lambda x: x[-1], [normal(N, D)]),
    Row("x[1, -2]", X, "float", lambda x: x[1, -2], [normal(N, D)]),
    Row("x[:, 1:3]", X, "float[n, 2]", lambda x: x[:, 1:3], [normal(N, D)]),
    Row("x[..., 0]", "x: float[a, b, c]", "float[a, b]", lambda x: x[..., 0], [normal(2, 3, 4)]),
    Row("x[0, ..., 1:]", "x: float[a, b, 4]", "float[b, 3]", lambda x: x[0, ..., 1:], [normal(2, 3, 4)]),
    Row("x[::2]", "x: float[5, d]", "float[3, d]", lambda x: x[::2], [normal(5, D)]),
    Row("x[1:-1]", "x: float[5]", "float[3]", lambda x: x[1:-1], [normal(5)]),
    Row("x[-2:]", "x: float[5]", "float[2]", lambda x: x[-2:], [normal(5)]),
    Row("x[2:100:2]", "x: float[7]", "float[3]", lambda x: x[2:100:2], [normal(7)]),
    Row("x[0, 0] * x[-1, -1]", X, "float", lambda x: x[0, 0] * x[-1, -1], [normal(N, D)]),
    Row("x[i]", "x: float[n, d], i: i32", "float[d]", lambda x, i: x[i], [normal(N, D), lambda rng: np.int32(2)]),
    Row("sum(x[i] * x[0])", "x: float[n, d], i: i32", "float", lambda x, i: np.sum(x[i] * x[0]),
        [normal(N, D), ints(N)]),
    Row("x[i]", "x: float[n, d], i: i32[k]", "float[k, d]", lambda x, i: x[i], [normal(N, D), ints(N, 5)]),
    Row("x[:, i]", "x: float[n, d], i: i32[k]", "float[n, k]", lambda x, i: x[:, i], [normal(N, D), ints(D, 5)]),
    Row("x[i]", "x: float[n, d], i: i32[a, b]", "float[a, b, d]", lambda x, i: x[i], [normal(N, D), ints(N, 2, 2)]),
    Row("take(x, i)", "x: float[3, 4], i: i32[k]", "float[k]", lambda x, i: x.take(i), [normal(3, 4), ints(12, 5)]),
    Row("take(x, i, axis=-1)", "x: float[n, d], i: i32[k]", "float[n, k]", lambda x, i: x.take(i, -1),
        [normal(N, D), ints(D, 2)]),
    # constructors and conversions
    Row("zeros((n, 2)) + x[:, :2]", X, "float[n, 2]", lambda x: x[:, :2], [normal(N, D)]),
    Row("ones(d) * x", X, "float[n, d]", lambda x: x, [normal(N, D)]),
    Row("full((n, d), 0.5) * x", X, "float[n, d]", lambda x: 0.5 * x, [normal(N, D)]),
    Row("full(d, s)", "s: float, x: float[n, d]", "float[d]", lambda s, x: np.full(D, s), [normal(), normal(N, D)]),
    Row("eye(n) @ x", X, "float[n, d]", lambda x: x, [normal(N, D)]),
    Row("eye(n, d)", X, "float[n, d]", lambda x: np.eye(N, D), [normal(N, D)]),
    Row("eye(2, dtype=i32)", X, "i32[2, 2]", lambda x: np.eye(2, dtype=np.int32), [normal(N, D)]),
    Row("arange(n)", X, "i32[n]", lambda x: np.arange(N), [normal(N, D)]),
    Row("arange(2, 7)", X, "i32[5]", lambda x: np.arange(2, 7), [normal(N, D)]),
    Row("arange(0, 10, 3, dtype=float)", X, "float[4]", lambda x: np.arange(0, 10, 3), [normal(N, D)]),
    Row("sum(arange(1, d) * 2)", X, "i32", lambda x: np.sum(np.arange(1, D) * 2), [normal(N, D)]),
    Row("one_hot(y, 5)", "y: i32[b], x: float[n]", "float[b, 5]", lambda y, x: np.eye(5)[y], [ints(5, 6), normal(2)]),
    Row("one_hot(y, d, dtype=i32)", "y: i32[b], x: float[n, d]", "i32[b, d]", lambda y, x: np.eye(D, dtype=np.int32)[y],
        [ints(D, 6), normal(N, D)]),
    Row("astype(x, i32)", X, "i32[n, d]", lambda x: x.astype(np.int32), [lambda r: r.uniform(-5, 5, (N, D))]),
    Row("astype(k, float) / 2", "k: i32[n], x: float[n]", "float[n]", lambda k, x: k.astype(x.dtype) / 2,
        [ints(9, N), normal(N)]),
    Row("astype(x > 0, f64)", X, "f64[n, d]", lambda x: (x > 0).astype(np.float64), [normal(N, D)]),
    Row("stop_gradient(x) * 2", X, "float[n, d]", lambda x: x * 2, [normal(N, D)]),
]


@pytest.mark.parametrize("dtype", [ir.f32, ir.f64], ids=str)
@pytest.mark.parametrize("row", ROWS, ids=str)
def test_builtin_against_numpy(row: Row, dtype, backend):
    source = f"def f({row.params}) -> {row.returns}:\n    return {row.expr}\n"
    rng = np.random.default_rng(0)
    args = [np.asarray(make(rng)) for make in row.inputs]
    args = [a.astype(dtype.np) if a.dtype == np.float64 else a for a in args]
    out = run(source, "f", *args, dtype=dtype, backend=backend)
    expected = np.asarray(row.reference(*args))
    close(out, expected, dtype.np)
    assert np.shape(out) == expected.shape
    if row.returns.startswith("float"):
        assert out.dtype == dtype.np


CALLS = """
def affine(x: float[n, d], W: float[d, h], b: float[h]) -> float[n, h]:
    return x @ W + b

def scaled(x: float[m], w: float) -> float[m]:
    return x * w + 1

def two(x: float[n], y: float[n]) -> (float[n], float):
    return x * y, sum(x)

def net(x: float[b, d], W1: float[d, h], b1: float[h], W2: float[h, c], b2: float[c]) -> (float[b, c], float):
    h1 = tanh(affine(x, W1, b1))
    logits = affine(h1, W=W2, b=b2)
    p, s = two(scaled(logits[0], 2), scaled(w=3, x=logits[-1]))
    return logits, s + sum(p)
"""


@pytest.mark.parametrize("dtype", [ir.f32, ir.f64], ids=str)
def test_user_function_calls(dtype, backend):
    rng = np.random.default_rng(1)
    x, W1, b1, W2, b2 = (rng.standard_normal(s).astype(dtype.np) for s in [(5, 3), (3, 4), (4,), (4, 2), (2,)])
    logits, total = run(CALLS, "net", x, W1, b1, W2, b2, dtype=dtype, backend=backend)
    expected = np.tanh(x @ W1 + b1) @ W2 + b2
    close(logits, expected, dtype.np)
    p = (expected[0] * 2 + 1) * (expected[-1] * 3 + 1)
    close(total, (expected[0] * 2 + 1).sum() + p.sum(), dtype.np)
    assert logits.dtype == dtype.np


def test_float_binds_per_call_and_constants_take_the_float(backend):
    source = """
def g(x: float[n]) -> float[n]:
    return x * 0.5 + zeros(n)

def f(a: f32[n], b: f64[n]) -> (f32[n], f64[n], f32[n]):
    return g(a), g(b), astype(g(b), f32)
"""
    a, b = np.arange(3, dtype=np.float32), np.arange(3, dtype=np.float64)
    ra, rb, rc = run(source, "f", a, b, backend=backend)
    assert (ra.dtype, rb.dtype, rc.dtype) == (np.float32, np.float64, np.float32)
    close(ra, a / 2, np.float32)
    close(rb, b / 2)


COMPUTED_DIMS = """
def diff(x: float[n]) -> float[n-1]:
    return x[1:] - x[:-1]

def flat(x: float[n, d]) -> float[n * d]:
    return reshape(x, (n * d,))

def padded(x: float[n]) -> float[2 * (n + 1)]:
    return concatenate([x, x, zeros(2)])

def smooth(x: float[n]) -> float:
    return sum(diff(x) ** 2) + sum(flat(reshape(x, (1, n))))
"""


def test_return_types_with_computed_dims(backend):
    x = np.array([0.0, 1.0, 4.0, 9.0, 16.0], np.float32)
    close(run(COMPUTED_DIMS, "diff", x, backend=backend), np.diff(x), np.float32)
    close(run(COMPUTED_DIMS, "flat", x.reshape(5, 1), backend=backend), x, np.float32)
    close(run(COMPUTED_DIMS, "padded", x, backend=backend), np.concatenate([x, x, [0, 0]]), np.float32)
    close(run(COMPUTED_DIMS, "smooth", x, backend=backend), (np.diff(x) ** 2).sum() + x.sum(), np.float32)

