"""jvp, linearize, transpose and the derived transforms, checked numerically."""
from __future__ import annotations

import numpy as np
import pytest

from ddc import ir
from ddc.codegen import compile_graph
from ddc.errors import TransformError
from ddc.ir import Builder, TensorType, Value, f64, i32
from ddc.passes import autodiff
from ddc.passes.jvp import jvp
from ddc.passes.linearize import linearize
from ddc.passes.transpose import transpose
from ddc.testing import check_grads

from ..cases import CASES, T


def run(graph, *args):
    return compile_graph(ir.verify(graph))(*args)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_check_grads_every_primitive(case):
    check_grads(case.graph(), case.args(), order=2)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_passes_emit_verified_graphs(case):
    g = case.graph()
    ir.verify(jvp(g))
    lin = linearize(g)
    ir.verify(lin.primal)
    ir.verify(lin.linear)
    v = autodiff.vjp(g)
    ir.verify(v.backward)


@pytest.mark.parametrize("case", [c for c in CASES if ir.PRIMITIVES[c.prim].linear], ids=lambda c: c.name)
def test_transpose_dot_product_identity(case):
    """<T(ct), t> == <ct, L(t)> for the linear map t -> jvp tangent at fixed primals."""
    rng = np.random.default_rng(1)
    lin = linearize(case.graph())
    args = case.args()
    res_out = run(lin.primal, *args)
    res_out = res_out if isinstance(res_out, tuple) else (res_out,)
    residuals = list(res_out[lin.num_outputs:])
    tangents = [rng.standard_normal(tuple(v.shape)) for v in lin.linear.inputs[lin.num_residuals:]]
    lt = run(lin.linear, *residuals, *tangents)
    ct = rng.standard_normal(np.shape(lt))
    n_t = len(tangents)
    tr = transpose(lin.linear, [False] * lin.num_residuals + [True] * n_t)
    ir.verify(tr)
    back = run(tr, *residuals, ct)
    back = back if isinstance(back, tuple) else (back,)
    lhs = sum(float(np.vdot(b_, t)) for b_, t in zip(back, tangents))
    np.testing.assert_allclose(lhs, float(np.vdot(ct, lt)), rtol=1e-10, atol=1e-10)


def _graph(build, *types, name="f"):
    b = Builder()
    inputs = [Value(t, n) for t, n in zip(types, "xyzwuv")]
    outs = build(b, *inputs)
    return ir.verify(b.graph(inputs, outs if isinstance(outs, list) else [outs], name))


def _sum_all(b, x):
    return b.reduce_sum(x, axes=tuple(range(x.ndim)))


def test_grad_of_scalar_function_matches_analytic():
    g = _graph(lambda b, x: _sum_all(b, b.mul(b.exp(x), x)), T(5))
    x = np.linspace(-1, 1, 5)
    np.testing.assert_allclose(run(autodiff.grad(g), x), np.exp(x) * (1 + x), rtol=1e-12)


def test_value_and_grad_and_argnums_tuple():
    g = _graph(lambda b, x, y: _sum_all(b, b.mul(b.mul(x, y), y)), T(3), T(3))
    x, y = np.arange(3.0), np.arange(3.0) + 1
    value, gx, gy = run(autodiff.value_and_grad(g, (0, 1)), x, y)
    np.testing.assert_allclose(value, np.sum(x * y * y))
    np.testing.assert_allclose(gx, y * y)
    np.testing.assert_allclose(gy, 2 * x * y)


def test_grad_of_grad_is_second_derivative():
    g = _graph(lambda b, x: b.reduce_sum(b.mul(b.mul(x, x), x), axes=()), T())
    d2 = autodiff.grad(autodiff.grad(g))
    np.testing.assert_allclose(run(d2, 1.5), 6 * 1.5)


def test_hessian_matches_analytic():
    # f(x) = sum(x_i^2 * x_{i+1}) + sum(exp(x)) on a vector of 3
    def build(b, x):
        head = b.slice(x, start=(0,), limit=(2,), stride=(1,))
        tail = b.slice(x, start=(1,), limit=(3,), stride=(1,))
        return b.add(_sum_all(b, b.mul(b.mul(head, head), tail)), _sum_all(b, b.exp(x)))

    g = _graph(build, T(3))
    x = np.array([0.3, -0.7, 1.1])
    H = np.diag(np.exp(x))
    H[0, 0] += 2 * x[1]
    H[1, 1] += 2 * x[2]
    H[0, 1] += 2 * x[0]
    H[1, 0] += 2 * x[0]
    H[1, 2] += 2 * x[1]
    H[2, 1] += 2 * x[1]
    np.testing.assert_allclose(run(autodiff.hessian(g), x), H, rtol=1e-12)


def test_jacfwd_and_jacrev_agree_with_each_other_and_analytic():
    g = _graph(lambda b, x, W: b.tanh(b.dot_general(W, x, contract=((1,), (0,)), batch=((), ()))),
               T(3), T(2, 3))
    rng = np.random.default_rng(0)
    x, W = rng.standard_normal(3), rng.standard_normal((2, 3))
    want_x = (1 - np.tanh(W @ x) ** 2)[:, None] * W
    np.testing.assert_allclose(run(autodiff.jacfwd(g, 0), x, W), want_x, rtol=1e-12)
    np.testing.assert_allclose(run(autodiff.jacrev(g, 0), x, W), want_x, rtol=1e-12)
    jw_f = run(autodiff.jacfwd(g, 1), x, W)
    jw_r = run(autodiff.jacrev(g, 1), x, W)
    assert jw_f.shape == (2, 2, 3)
    np.testing.assert_allclose(jw_f, jw_r, rtol=1e-12)


def test_jacobians_with_symbolic_dims():
    g = _graph(lambda b, x: b.mul(b.sin(x), x), TensorType(f64, ("n",)))
    x = np.linspace(0.1, 1.0, 4)
    np.testing.assert_allclose(run(autodiff.jacrev(g), x), np.diag(np.cos(x) * x + np.sin(x)), atol=1e-14)
    np.testing.assert_allclose(run(autodiff.jacfwd(g), x), np.diag(np.cos(x) * x + np.sin(x)), atol=1e-14)


def test_stop_gradient_blocks_the_gradient():
    g = _graph(lambda b, x: _sum_all(b, b.mul(x, b.stop_gradient(x))), T(4))
    x = np.arange(4.0)
    np.testing.assert_allclose(run(autodiff.grad(g), x), x)


def test_kink_conventions():
    """relu is select(x > 0, x, 0): relu'(0) = 0. max/min split ties; reduce_max splits
    among all maximal entries; abs'(0) = 0."""
    def relu(b, x):
        return _sum_all(b, b.select(b.compare(x, b.zeros(x.type), direction="gt"), x, b.zeros(x.type)))

    np.testing.assert_allclose(run(autodiff.grad(_graph(relu, T(3))), np.array([-1.0, 0.0, 2.0])), [0, 0, 1])
    maxg = autodiff.grad(_graph(lambda b, x, y: _sum_all(b, b.max(x, y)), T(2), T(2)), (0, 1))
    gx, gy = run(maxg, np.array([1.0, 2.0]), np.array([1.0, 3.0]))
    np.testing.assert_allclose(gx, [0.5, 0.0])
    np.testing.assert_allclose(gy, [0.5, 1.0])
    ming = autodiff.grad(_graph(lambda b, x, y: _sum_all(b, b.min(x, y)), T(2), T(2)), 0)
    np.testing.assert_allclose(run(ming, np.array([1.0, 2.0]), np.array([1.0, 3.0])), [0.5, 1.0])
    rmax = autodiff.grad(_graph(lambda b, x: b.reduce_max(x, axes=(0,)), T(4)))
    np.testing.assert_allclose(run(rmax, np.array([3.0, 1.0, 3.0, 3.0])), [1 / 3, 0, 1 / 3, 1 / 3])
    absg = autodiff.grad(_graph(lambda b, x: _sum_all(b, b.abs(x)), T(3)))
    np.testing.assert_allclose(run(absg, np.array([-2.0, 0.0, 2.0])), [-1, 0, 1])


def test_gradient_wrt_adapters_never_touches_frozen_weight():
    """out = x @ W0 + (x @ A) @ B: grad w.r.t. A, B has no dot producing W0's shape."""
    mm = dict(contract=((1,), (0,)), batch=((), ()))

    def lora(b, x, W0, A, B):
        out = b.add(b.dot_general(x, W0, **mm), b.dot_general(b.dot_general(x, A, **mm), B, **mm))
        return _sum_all(b, b.mul(out, out))

    shapes = [TensorType(f64, s) for s in (("b", "i"), ("i", "o"), ("i", "r"), ("r", "o"))]
    g = _graph(lora, *shapes)
    grad_ab = autodiff.grad(g, (2, 3))
    w0_shape = tuple(shapes[1].shape)
    for n in grad_ab.nodes:
        assert not (n.prim.name == "dot_general" and tuple(n.out.shape) == w0_shape), str(grad_ab)
    rng = np.random.default_rng(0)
    x, W0, A, B = (rng.standard_normal(s) for s in [(5, 4), (4, 3), (4, 2), (2, 3)])
    out = x @ W0 + x @ A @ B
    gA, gB = run(grad_ab, x, W0, A, B)
    np.testing.assert_allclose(gA, x.T @ (2 * out) @ B.T, rtol=1e-12)
    np.testing.assert_allclose(gB, (x @ A).T @ (2 * out), rtol=1e-12)


def test_linear_graph_repeats_no_primal_work():
    g = _graph(lambda b, x: _sum_all(b, b.exp(b.sin(x))), T(3))
    lin = linearize(g)
    prims = {n.prim.name for n in lin.linear.nodes}
    assert not prims & {"exp", "sin", "cos"}, str(lin.linear)
    assert lin.num_residuals >= 1


def test_grad_errors_name_the_problem():
    vec = _graph(lambda b, x: b.exp(x), T(3))
    with pytest.raises(TransformError, match="scalar"):
        autodiff.grad(vec)
    mixed = _graph(lambda b, x, n: _sum_all(b, b.mul(x, b.convert(n, dtype=f64))), T(3), T(3, dtype=i32))
    with pytest.raises(TransformError, match="argument 1 'y'.*only float"):
        autodiff.grad(mixed, 1)
    with pytest.raises(TransformError, match="out of range"):
        autodiff.grad(mixed, 5)


def test_transpose_rejects_nonlinear_use():
    b = Builder()
    t = Value(T(3), "t")
    g = b.graph([t], [b.mul(t, t)], "sq")
    with pytest.raises(TransformError, match="not linear"):
        transpose(g, [True])
    b = Builder()
    t = Value(T(3), "t")
    g = b.graph([t], [b.exp(t)], "e")
    with pytest.raises(TransformError, match="not linear"):
        transpose(g, [True])


def test_cleanups_remove_identity_work():
    g = _graph(lambda b, x: b.mul(b.add(x, b.full(-0.0, x.type)), b.full(1.0, x.type)), T(3))
    from ddc.passes.cleanup import cleanup

    assert cleanup(g).nodes == []
    # x + 0.0 is not x at x = -0.0, so it stays
    plus_zero = cleanup(_graph(lambda b, x: b.add(x, b.zeros(x.type)), T(3)))
    assert [n.prim.name for n in plus_zero.nodes][-1] == "add"


def test_ddc_debug_prints_the_ir_after_each_pass(monkeypatch, capsys):
    monkeypatch.setenv("DDC_DEBUG", "1")
    autodiff.grad(_graph(lambda b, x: _sum_all(b, b.exp(x)), T(3)))
    err = capsys.readouterr().err
    for name in ("jvp", "linearize", "transpose", "cse", "simplify", "dce", "grad"):
        assert f"# after {name}\ngraph " in err


def test_square_and_its_derivative_need_no_pow():
    from ddc.passes.cleanup import cleanup

    g = _graph(lambda b, x: _sum_all(b, b.pow(x, b.full(2.0, x.type))), T(3))
    assert "pow" not in cleanup(g).stats()
    dg = autodiff.grad(g)
    assert "pow" not in dg.stats() and "sub" not in dg.stats(), str(dg)
    np.testing.assert_allclose(run(dg, np.array([1.0, -2.0, 3.0])), [2.0, -4.0, 6.0])


def test_matmul_gradients_come_out_in_layout_without_transposes():
    """(ct.T @ x).T is emitted as x.T @ ct, and broadcasts of broadcasts are one."""
    mm = dict(contract=((1,), (0,)), batch=((), ()))
    g = _graph(lambda b, x, W: _sum_all(b, b.tanh(b.dot_general(x, W, **mm))), T(4, 3), T(3, 2))
    dg = autodiff.grad(g, (0, 1))
    assert "transpose" not in dg.stats(), str(dg)
    x, W = np.random.default_rng(0).standard_normal((4, 3)), np.random.default_rng(1).standard_normal((3, 2))
    gx, gW = run(dg, x, W)
    s = 1 - np.tanh(x @ W) ** 2
    np.testing.assert_allclose(gW, x.T @ s, rtol=1e-12)
    np.testing.assert_allclose(gx, s @ W.T, rtol=1e-12)
    b = Builder()
    v = Value(T(3), "v")
    twice = b.broadcast_in_dim(b.broadcast_in_dim(v, shape=(2, 3), broadcast_dimensions=(1,)),
                               shape=(5, 2, 3), broadcast_dimensions=(1, 2))
    from ddc.passes.cleanup import cleanup

    assert cleanup(b.graph([v], [twice], "f")).stats() == {"broadcast_in_dim": 1}
