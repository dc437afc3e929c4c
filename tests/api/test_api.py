"""The Python API end to end: load, call, transform, compose."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import ddc
from ddc.testing import check_grads

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "mlp.dd"

PROGRAMS = """
def mlp_loss(W1: float[d, h], b1: float[h], W2: float[h, c], x: float[b, d], y: float[b, c]) -> float:
    h1 = tanh(x @ W1 + b1)
    err = h1 @ W2 - y
    return mean(err * err)

def softmax_ce(z: float[n, c], y: i32[n]) -> float:
    m = stop_gradient(max(z, axis=1, keepdims=true))
    lse = log(sum(exp(z - m), axis=1)) + m[:, 0]
    return mean(lse - sum(z * one_hot(y, c), axis=1))

def cosine_loss(a: float[n, d], b: float[n, d]) -> float:
    na = a / sqrt(sum(a * a, axis=1, keepdims=true))
    nb = b / sqrt(sum(b * b, axis=1, keepdims=true))
    return -mean(sum(na * nb, axis=1))

def cube(x: float) -> float:
    return x * x * x + sin(x)

def poly(x: float[n]) -> float:
    return sum(x[:-1] * x[:-1] * x[1:]) + sum(exp(x))

def two(x: float[n], s: float) -> (float[n], float):
    return x * s, sum(x)

def diff(x: float[n]) -> float[n-1]:
    return x[1:] - x[:-1]

def roughness(x: float[n]) -> float:
    return sum(diff(x) ** 2) + sum(diff(diff(x)) ** 2)
"""


@pytest.fixture(scope="module")
def m():
    return ddc.loads(PROGRAMS, name="programs.dd")


def rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def test_load_and_call_example():
    mod = ddc.load(EXAMPLE)
    rng = np.random.default_rng(0)
    x, W1, b1, W2 = (rng.standard_normal(s).astype(np.float32) for s in [(4, 3), (3, 8), (8,), (8, 2)])
    np.testing.assert_allclose(mod.mlp(x, W1, b1, W2), np.maximum(x @ W1 + b1, 0) @ W2, rtol=1e-5)
    np.testing.assert_allclose(mod.mlp(x=x, W1=W1, b1=b1, W2=W2), mod.mlp(x, W1, b1, W2))
    assert "mlp" in dir(mod) and mod.mlp.graph.name == "mlp"
    assert "dot_general" in mod.mlp.ir and "def " in mod.mlp.source


def test_generic_float_binds_per_call(m):
    x = rand(3)
    assert m.two(x, 2.0)[0].dtype == np.float64
    assert m.two(x.astype(np.float32), 2.0)[0].dtype == np.float32
    out, total = m.two(x, 2.0)
    np.testing.assert_allclose(out, 2 * x)
    np.testing.assert_allclose(total, x.sum())


def test_call_errors_name_parameter_and_dim(m):
    with pytest.raises(ddc.CallError, match=r"programs.dd:\d+:\d+.*W2"):
        m.mlp_loss(rand(3, 4), rand(4), rand(5, 2), rand(6, 3), rand(6, 2))
    with pytest.raises(ddc.CallError, match="takes 5 arguments"):
        m.mlp_loss(rand(3, 4))
    with pytest.raises(ddc.CallError, match="no parameter 'q'"):
        m.cube(q=1.0)


@pytest.mark.parametrize("name, shapes", [
    ("mlp_loss", [(3, 4), (4,), (4, 2), (5, 3), (5, 2)]),
    ("cosine_loss", [(4, 3), (4, 3)]),
    ("poly", [(5,)]),
    ("roughness", [(6,)]),  # through a function returning f32[n-1]
])
def test_composite_gradients_against_finite_differences(m, name, shapes):
    f = getattr(m, name)
    check_grads(f, [rand(*s, seed=k) for k, s in enumerate(shapes)], order=2)


def test_softmax_cross_entropy_gradient_is_softmax_minus_onehot(m):
    z = rand(4, 3)
    y = np.array([0, 2, 1, 2], dtype=np.int32)
    check_grads(m.softmax_ce, [z, y], order=2)
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    np.testing.assert_allclose(ddc.grad(m.softmax_ce)(z, y), (p - np.eye(3)[y]) / 4, rtol=1e-12)


def test_transforms_compose_and_are_functions(m):
    d3 = ddc.grad(ddc.grad(ddc.grad(m.cube)))
    np.testing.assert_allclose(d3(0.7), 6 - np.cos(0.7), rtol=1e-6)
    assert "graph" in d3.ir and "def " in d3.source
    value, g = ddc.value_and_grad(m.cube)(2.0)
    np.testing.assert_allclose([value, g], [8 + np.sin(2.0), 12 + np.cos(2.0)], rtol=1e-6)
    x = rand(3)
    total, (g_x,) = ddc.value_and_grad(m.poly, (0,))(x)
    assert isinstance(ddc.grad(m.poly, (0,))(x), tuple)
    np.testing.assert_allclose(g_x, ddc.grad(m.poly)(x))


def test_jvp_linearize_vjp(m):
    x, t = rand(5), rand(5, seed=1)
    out, tan = ddc.jvp(m.poly, (x,), (t,))
    g = ddc.grad(m.poly)(x)
    np.testing.assert_allclose(tan, g @ t, rtol=1e-12)
    out2, f_jvp = ddc.linearize(m.poly, x)
    np.testing.assert_allclose(out2, out)
    np.testing.assert_allclose(f_jvp(t), tan, rtol=1e-12)
    out3, f_vjp = ddc.vjp(m.poly, x)
    np.testing.assert_allclose(f_vjp(1.0), g, rtol=1e-12)


def test_hessian_and_jacobians(m):
    x = rand(4)
    H = ddc.hessian(m.poly)(x)
    want = np.diag(np.exp(x))
    for i in range(3):
        want[i, i] += 2 * x[i + 1]
        want[i, i + 1] += 2 * x[i]
        want[i + 1, i] += 2 * x[i]
    np.testing.assert_allclose(H, want, rtol=1e-12)
    J = ddc.jacfwd(m.two, 0)
    with pytest.raises(ddc.TransformError):
        _ = J.graph  # two outputs: jacobians need one
    jf = ddc.jacfwd(ddc.grad(m.poly))(x)
    jr = ddc.jacrev(ddc.grad(m.poly))(x)
    np.testing.assert_allclose(jf, want, rtol=1e-12)
    np.testing.assert_allclose(jr, want, rtol=1e-12)


def test_per_example_gradients_equal_a_loop(m):
    """vmap(grad(loss), in_axes=(None, None, None, 0, 0)) over single examples."""
    W1, b1, W2 = rand(3, 4), rand(4, seed=1), rand(4, 2, seed=2)
    xs, ys = rand(6, 1, 3, seed=3), rand(6, 1, 2, seed=4)
    per_example = ddc.vmap(ddc.grad(m.mlp_loss, (0, 1, 2)), in_axes=(None, None, None, 0, 0))
    got = per_example(W1, b1, W2, xs, ys)
    g = ddc.grad(m.mlp_loss, (0, 1, 2))
    for i in range(6):
        for k, want in enumerate(g(W1, b1, W2, xs[i], ys[i])):
            np.testing.assert_allclose(got[k][i], want, rtol=1e-12)


def test_vmap_of_matmul_against_weight_is_one_dot(m):
    mod = ddc.load(EXAMPLE)
    g = ddc.vmap(mod.mlp, in_axes=(0, None, None, None)).graph
    dots = [n for n in g.nodes if n.prim.name == "dot_general"]
    assert len(dots) == 2
    assert not any(n.prim.name == "broadcast_in_dim" and n.inputs[0] in g.inputs[1:2] for n in g.nodes)


def test_transform_errors_point_at_the_function(m):
    with pytest.raises(ddc.TransformError, match="scalar") as e:
        ddc.grad(m.two)(rand(3), 1.0)
    assert e.value.file == "programs.dd"
    with pytest.raises(ddc.TransformError, match="only float"):
        _ = ddc.grad(m.softmax_ce, 1).graph


def test_vmap_of_a_function_with_a_computed_return_dim(m):
    x = rand(3, 5)
    np.testing.assert_allclose(ddc.vmap(m.diff)(x), np.diff(x, axis=1))



def test_a_vmap_batch_size_mismatch_says_what_the_batch_dim_is():
    f = ddc.loads("def f(x: float[n], y: float[n]) -> float[n]:\n    return x * y\n", name="w.dd").f
    with pytest.raises(ddc.CallError) as info:
        ddc.vmap(f)(rand(3, 4), rand(5, 4))
    assert "dim B of parameter y is 5, but parameter x bound B = 3" in info.value.message
    assert "vmap adds a batch dim" in info.value.hint
    with pytest.raises(ddc.CallError) as info:  # not about a dim: no word on vmap's
        ddc.vmap(f)(rand(3, 4), rand(3, 4).astype(np.float32))
    assert "expects f64" in info.value.message and info.value.hint is None
