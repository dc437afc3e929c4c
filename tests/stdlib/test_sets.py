"""Deep Sets, on each backend: invariant to the order of a set's elements; the mask leaves
padding out."""
from __future__ import annotations

import numpy as np
import pytest

from .util import close, function

DTYPES = pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])


def weights(dtype, d=3, seed=0):
    rng = np.random.default_rng(seed)
    shapes = [(d, 8), (8,), (8, 6), (6,), (6, 2), (2,)]
    return [rng.standard_normal(s).astype(dtype) for s in shapes]


@DTYPES
def test_permuting_the_elements_of_each_set_changes_nothing(dtype, backend):
    rng = np.random.default_rng(1)
    X = rng.standard_normal((4, 5, 3)).astype(dtype)
    mask = (rng.uniform(size=(4, 5)) < 0.7).astype(dtype)
    W = weights(dtype)
    order = np.stack([rng.permutation(5) for _ in range(4)])
    shuffled, shuffled_mask = np.take_along_axis(X, order[..., None], 1), np.take_along_axis(mask, order, 1)
    deepsets, masked = function("sets.deepsets", backend), function("sets.deepsets_masked", backend)
    close(deepsets(shuffled, *W), deepsets(X, *W), dtype)
    close(masked(shuffled, shuffled_mask, *W), masked(X, mask, *W), dtype)


@DTYPES
def test_padding_is_ignored(dtype, backend):
    rng = np.random.default_rng(2)
    X = rng.standard_normal((1, 6, 3)).astype(dtype)
    mask = np.array([[1, 1, 1, 0, 0, 0]], dtype)
    W = weights(dtype)
    masked = function("sets.deepsets_masked", backend)
    padded = masked(X, mask, *W)
    close(padded, function("sets.deepsets", backend)(X[:, :3].copy(), *W), dtype)
    X[:, 3:] = 100  # whatever the padding holds
    close(masked(X, mask, *W), padded, dtype)
