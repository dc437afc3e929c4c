"""Losses beyond the reference rows, on each backend: cross-entropy's analytic gradient,
stability at logits of ±1e4, and the edge cases of the contrastive losses; and the gather
in cross-entropy's graph."""
from __future__ import annotations

import numpy as np
import pytest

import ddc

from ..backends import assert_same_numbers, to_numpy
from .util import close, finite, function, vjp

DTYPES = pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])


def softmax(z):
    e = np.exp(z - z.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def classification(dtype, n=6, c=4, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, c)).astype(dtype), rng.integers(0, c, n).astype(np.int32)


@DTYPES
def test_cross_entropy_gradient_is_softmax_minus_one_hot(dtype, backend):
    z, t = classification(dtype)
    _, (grad,) = vjp(function("losses.cross_entropy", backend), [z, t])
    assert grad.dtype == dtype
    close(grad, softmax(z.astype(np.float64)) - np.eye(z.shape[1])[t], dtype)


@DTYPES
def test_gradient_of_the_mean_cross_entropy_is_divided_by_n(dtype, backend):
    z, t = classification(dtype)
    mean_ce = ddc.loads("import losses\ndef f(z: float[n, c], t: i32[n]) -> float:\n"
                        "    return mean(losses.cross_entropy(z, t))\n").f
    close(ddc.jit(ddc.grad(mean_ce), backend)(z, t), (softmax(z.astype(np.float64)) - np.eye(z.shape[1])[t]) / len(t),
          dtype)


def test_cross_entropy_gathers_the_label_logit():
    graph = function("losses.cross_entropy").graph
    gathers = [n for n in graph.nodes if n.prim.name == "gather"]
    assert len(gathers) == 1 and gathers[0].params["batch_dims"] == 1
    assert not any(n.prim.name == "iota" for n in graph.nodes)  # no one-hot built
    backward = ddc.grad(ddc.loads("import losses\ndef f(z: float[n, c], t: i32[n]) -> float:\n"
                                  "    return sum(losses.cross_entropy(z, t))\n").f).graph
    assert [n.prim.name for n in backward.nodes].count("scatter_add") == 1


def test_soft_cross_entropy_with_one_hot_targets_is_cross_entropy(backend):
    z, t = classification(np.float64)
    close(function("losses.cross_entropy_soft", backend)(z, np.eye(z.shape[1])[t]),
          function("losses.cross_entropy", backend)(z, t), np.float64)


# -- stability ------------------------------------------------------------------------------

BIG = np.array([[1e4, -1e4, 0.0, 1.0],
                [-1e4, -1e4, -1e4, -1e4],
                [1e4, 1e4, 1e4 - 1, -1e4]])
BIG_LABELS = np.array([1, 2, 3], np.int32)


@DTYPES
@pytest.mark.parametrize("name", ["logsumexp", "log_softmax", "softmax", "cross_entropy", "cross_entropy_soft"])
def test_logits_of_1e4_give_finite_values_and_gradients(name, dtype, backend):
    z = BIG.astype(dtype)
    second = {"cross_entropy": BIG_LABELS, "cross_entropy_soft": np.full(BIG.shape, 0.25, dtype)}
    args = [z] + ([second[name]] if name in second else [])
    rng = np.random.default_rng(0)
    shape = np.shape(function(f"losses.{name}")(*args))
    value, (grad, *_) = vjp(function(f"losses.{name}", backend), args, rng.standard_normal(shape).astype(dtype))
    assert finite(value, grad), (value, grad)


@DTYPES
def test_values_at_1e4_are_exact(dtype, backend):
    z = BIG.astype(dtype)
    lse = np.array([1e4 + np.log1p(np.exp(-1e4 + 1) + 2 * np.exp(-1e4)), -1e4 + np.log(4), 1e4 + np.log(2 + np.exp(-1))])
    close(function("losses.logsumexp", backend)(z), lse, dtype)
    close(function("losses.cross_entropy", backend)(z, BIG_LABELS), [2e4, np.log(4), 2e4 + np.log(2 + np.exp(-1))],
          dtype)
    close(to_numpy(function("losses.softmax", backend)(z))[2],
          [1 / (2 + np.exp(-1))] * 2 + [np.exp(-1) / (2 + np.exp(-1)), 0], dtype)
    _, (grad,) = vjp(function("losses.cross_entropy", backend), [z, BIG_LABELS])
    close(grad[0], [1, -1, 0, 0], dtype)


@DTYPES
@pytest.mark.parametrize("name", ["infonce", "supcon"])
def test_contrastive_losses_at_logits_of_1e4_are_finite(name, dtype, backend):
    rng = np.random.default_rng(1)
    z1 = rng.standard_normal((6, 3)).astype(dtype)
    second = rng.standard_normal((6, 3)).astype(dtype) if name == "infonce" else np.array([0, 1, 0, 2, 1, 0], np.int32)
    temperature = dtype(1e-4)  # cosine similarities of ±1 become logits of ±1e4
    value, grads = vjp(function(f"losses.{name}", backend), [z1, second, temperature])
    assert finite(value, *grads) and value > 0, (value, grads)


# -- contrastive losses: edge cases -----------------------------------------------------------

def test_infonce_of_identical_orthogonal_views_is_small_and_of_swapped_views_large(backend):
    z = np.eye(4)
    infonce = function("losses.infonce", backend)
    assert float(infonce(z, z, 0.1)) == pytest.approx(np.log(1 + 3 * np.exp(-10)))
    assert float(infonce(z, z[::-1].copy(), 0.1)) > 10


def test_supcon_without_any_positive_pair_is_zero_and_self_pairs_do_not_count(backend):
    z = np.random.default_rng(2).standard_normal((4, 3))
    supcon = function("losses.supcon", backend)
    assert float(supcon(z, np.arange(4, dtype=np.int32), 0.5)) == 0
    # two examples of one class: each one's only positive is the other, its only negative is not there
    pair = np.array([[1.0, 0.0], [0.0, 1.0]])
    assert float(supcon(pair, np.zeros(2, np.int32), 0.5)) == pytest.approx(0, abs=1e-12)


@DTYPES
def test_contrastive_at_zero_distance_has_a_finite_gradient(dtype, backend):
    x = np.random.default_rng(3).standard_normal((3, 4)).astype(dtype)
    same = np.array([1, 0, 0], dtype)
    value, grads = vjp(function("losses.contrastive", backend), [x, x.copy(), same, dtype(1.5)])
    assert_same_numbers(value, np.array([0, 1.5 ** 2, 1.5 ** 2], dtype), backend)  # exact in either float
    assert finite(*grads)
    close(grads[0], np.zeros_like(x), dtype)  # D = 0 is a minimum of D² and the kink of D


def test_l2_normalize_of_a_zero_row_is_zero_with_a_finite_gradient(backend):
    z = np.array([[0.0, 0.0], [3.0, 4.0]])
    value, (grad,) = vjp(function("losses.l2_normalize", backend), [z])
    close(value, [[0, 0], [0.6, 0.8]], np.float64)
    assert finite(grad)


@DTYPES
def test_margin_losses_are_their_numpy_formulas_to_the_last_bit(dtype, backend):
    # literals and Python-number margins take the arguments' dtype: no constant rounded through
    # f32. One column, so each distance is a sum of one term, whatever order a backend sums in.
    rng = np.random.default_rng(4)
    a, p, n = (rng.standard_normal((5, 1)).astype(dtype) for _ in range(3))
    same = np.array([1, 0, 1, 0, 0], dtype)
    to_p, to_n = ((a - p) ** 2).sum(1), ((a - n) ** 2).sum(1)
    triplet = function("losses.triplet", backend)(a, p, n, 0.3)
    assert_same_numbers(triplet, np.maximum(to_p - to_n + dtype(0.3), 0), backend)
    contrastive = function("losses.contrastive", backend)(a, p, same, 1.5)
    expected = same * to_p + (1 - same) * np.maximum(dtype(1.5) - np.sqrt(to_p), 0) ** 2
    assert_same_numbers(contrastive, expected, backend)
