"""Mahalanobis distances, on each backend: the L and M = LᵀL forms agree, the pairwise
form matches the row-wise one, and coincident points have finite (zero) gradients."""
from __future__ import annotations

import numpy as np
import pytest

from ..backends import to_numpy
from .util import close, finite, function, vjp

DTYPES = pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])


def points(dtype, seed=0):
    rng = np.random.default_rng(seed)
    x, y, L = rng.standard_normal((5, 4)), rng.standard_normal((5, 4)), rng.standard_normal((3, 4))
    return x.astype(dtype), y.astype(dtype), L.astype(dtype)


@DTYPES
def test_the_l_and_psd_forms_agree(dtype, backend):
    x, y, L = points(dtype)
    close(function("metric.mahalanobis", backend)(x, y, L), function("metric.mahalanobis_psd", backend)(x, y, L.T @ L),
          dtype)


@DTYPES
def test_pairwise_diagonal_is_the_squared_rowwise_distance(dtype, backend):
    x, y, L = points(dtype)
    pairwise = to_numpy(function("metric.pairwise_sq_mahalanobis", backend)(x, y, L))
    close(np.diag(pairwise), to_numpy(function("metric.mahalanobis", backend)(x, y, L)) ** 2, dtype)


@DTYPES
def test_coincident_points_are_at_zero_with_finite_gradients(dtype, backend):
    x, _, L = points(dtype)
    for name, metric in [("mahalanobis", L), ("mahalanobis_psd", L.T @ L)]:
        value, grads = vjp(function(f"metric.{name}", backend), [x, x.copy(), metric])
        close(value, np.zeros(len(x)), dtype)
        assert finite(*grads)
        for g in grads:
            close(g, np.zeros_like(g), dtype)
    pairwise = to_numpy(function("metric.pairwise_sq_mahalanobis", backend)(x, x, L))
    assert np.all(pairwise >= 0)
    close(np.diag(pairwise), np.zeros(len(x)), dtype)


def test_a_slightly_indefinite_m_gives_zero_not_nan(backend):
    x = np.array([[1.0, 0.0], [0.0, 1.0]])
    M = np.diag([1.0, -1e-9])
    close(function("metric.mahalanobis_psd", backend)(x, np.zeros_like(x), M), [1.0, 0.0], np.float64)
