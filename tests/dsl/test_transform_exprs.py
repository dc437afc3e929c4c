"""Transform expressions (`grad`, `value_and_grad`, `vmap`, and their compositions),
lowered through the autodiff and vmap passes and checked, on each backend, against
analytic gradients, finite differences and Python loops."""
from __future__ import annotations

import numpy as np
import pytest

from ddc import TransformError, ir
from ddc.dsl import loads

from ..backends import run as run_graph
from .util import close, lowered, prims, run

SOURCE = """
def loss(W: float[d, c], x: float[b, d], t: float[b, c]) -> float:
    r = x @ W - t
    return 0.5 * sum(r * r)

def cubic(v: float[n], w: float[n]) -> float:
    return sum(v * v * v * w)

def affine(v: float[n], W: float[n, m]) -> float[m]:
    return tanh(v @ W)

def gradient(W: float[d, c], x: float[b, d], t: float[b, c]) -> float[d, c]:
    return grad(loss)(W, x, t)

def both(W: float[d, c], x: float[b, d], t: float[b, c]) -> (float, float[d, c], float[b, d]):
    value, (gW, gx) = value_and_grad(loss, argnums=(0, 1))(W, x, t)
    return value, gW, gx

def last_grad(W: float[d, c], x: float[b, d], t: float[b, c]) -> float[b, c]:
    return grad(loss, argnums=-1)(W, x, t)

def sgd(W: float[d, c], x: float[b, d], t: float[b, c]) -> float[d, c]:
    g = grad(loss, argnums=0)(W, x, t)
    return W - 0.1 * g

def rows(vs: float[k, n], W: float[n, m]) -> float[k, m]:
    return vmap(affine, in_axes=(0, None))(vs, W)

def columns(vs: float[n, k], W: float[n, m]) -> float[m, k]:
    return vmap(affine, in_axes=(1, None), out_axes=1)(vs, W)

def per_example(vs: float[k, n], ws: float[k, n]) -> float[k, n]:
    return vmap(grad(cubic))(vs, ws)

def weights_grads(v: float[n], ws: float[k, n]) -> float[n, k]:
    return vmap(grad(cubic, argnums=1), in_axes=(None, 0), out_axes=-1)(v, ws)

def second(v: float[n], w: float[n]) -> float[n]:
    return grad(grad_sum)(v, w)

def grad_sum(v: float[n], w: float[n]) -> float:
    return sum(grad(cubic)(v, w))
"""


def data(dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s).astype(dtype) for s in [(3, 2), (4, 3), (4, 2)]]


def test_grad_matches_the_analytic_gradient(backend):
    W, x, t = data()
    close(run(SOURCE, "gradient", W, x, t, dtype=ir.f64, backend=backend), x.T @ (x @ W - t))


def test_value_and_grad_with_a_tuple_of_argnums(backend):
    W, x, t = data()
    value, gW, gx = run(SOURCE, "both", W, x, t, dtype=ir.f64, backend=backend)
    r = x @ W - t
    close(value, 0.5 * np.sum(r * r))
    close(gW, x.T @ r)
    close(gx, r @ W.T)


def test_negative_argnums_and_f32(backend):
    W, x, t = data(np.float32)
    g = run(SOURCE, "last_grad", W, x, t, dtype=ir.f32, backend=backend)
    assert g.dtype == np.float32
    close(g, t - x @ W, np.float32)


def test_an_sgd_step(backend):
    W, x, t = data()
    close(run(SOURCE, "sgd", W, x, t, dtype=ir.f64, backend=backend), W - 0.1 * x.T @ (x @ W - t))


def test_vmap_against_a_loop(backend):
    rng = np.random.default_rng(2)
    vs, W = rng.standard_normal((5, 3)), rng.standard_normal((3, 2))
    close(run(SOURCE, "rows", vs, W, dtype=ir.f64, backend=backend), np.stack([np.tanh(v @ W) for v in vs]))
    out = run(SOURCE, "columns", vs.T.copy(), W, dtype=ir.f64, backend=backend)
    close(out, np.stack([np.tanh(v @ W) for v in vs], axis=1))


def test_vmap_of_grad_gives_per_example_gradients(backend):
    rng = np.random.default_rng(3)
    vs, ws = rng.standard_normal((5, 3)), rng.standard_normal((5, 3))
    close(run(SOURCE, "per_example", vs, ws, dtype=ir.f64, backend=backend), 3 * vs ** 2 * ws)
    v = rng.standard_normal(3)
    close(run(SOURCE, "weights_grads", v, ws, dtype=ir.f64, backend=backend), np.stack([v ** 3] * 5, axis=-1))


def test_grad_of_grad_against_finite_differences(backend):
    rng = np.random.default_rng(4)
    v, w = rng.standard_normal(3), rng.standard_normal(3)
    out = run(SOURCE, "second", v, w, dtype=ir.f64, backend=backend)
    close(out, 6 * v * w)
    eps = 1e-6
    fd = [(np.sum(3 * (v + eps * e) ** 2 * w) - np.sum(3 * (v - eps * e) ** 2 * w)) / (2 * eps) for e in np.eye(3)]
    np.testing.assert_allclose(out, fd, rtol=1e-6)


def test_the_lowered_graph_inlines_the_transform_with_names_and_spans():
    graph = lowered(SOURCE, "sgd", ir.f64)
    assert "g" in {n.out.name for n in graph.nodes}
    assert all(n.span is not None for n in graph.nodes)
    # loss's lines (line 4's constants may fold away), then sgd's update
    assert {3, 24} <= {n.span.line for n in graph.nodes} <= {3, 4, 24}


def test_vmap_binds_the_batch_dim_to_the_arguments():
    graph = lowered(SOURCE, "rows", ir.f32)
    assert str(graph.outputs[0].type) == "f32[k,m]"
    assert "dot_general" in prims(graph)


def test_a_batched_output_with_out_axes_none_is_an_error_at_the_call():
    source = SOURCE + "\ndef bad(vs: f32[k, n], W: f32[n, m]) -> f32[m]:\n    return vmap(affine, in_axes=(0, None), out_axes=None)(vs, W)\n"
    module = loads(source)  # the checker cannot see which outputs depend on the batch
    with pytest.raises(TransformError) as info:
        module.lower("bad")
    assert (info.value.line, info.value.col) == (source.count("\n"), 12)
    assert "out_axes entry is None" in info.value.message


def test_transforms_of_imported_functions(tmp_path, backend):
    (tmp_path / "fns.dd").write_text("def sq(x: float[n]) -> float:\n    return sum(x * x)\n")
    source = ("import fns\nfrom fns import sq\n\ndef f(x: f64[n]) -> (f64[n], f64[n]):\n"
              "    return grad(fns.sq)(x), grad(sq)(x) + vmap(grad(sq), in_axes=1, out_axes=1)(reshape(x, (n, 1)))[:, 0]\n")
    module = loads(source, path=tmp_path / "main.dd")
    x = np.array([1.0, -2.0, 3.0])
    a, b = run_graph(module.lower("f", ir.f64), x, backend=backend)
    close(a, 2 * x)
    close(b, 4 * x)
