"""Every stdlib function, one row each: forward against a plain-numpy reference in f32 and
f64 on each backend; first and second derivatives with `ddc.testing.check_grads` (jvp
against finite differences, vjp against jvp, then the same for the jvp itself), which
holds the derivative rules and runs on numpy; and the Triton backend's gradients against
the numpy backend's."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest

from ddc.testing import check_grads

from ..backends import to_numpy
from .util import close, function, vjp

N, C, D = 5, 4, 3
rng_inputs = np.random.default_rng


def normal(*shape):
    return lambda rng: rng.standard_normal(shape)


def labels(high, n=N):
    return lambda rng: rng.integers(0, high, n).astype(np.int32)


def value(v):
    return lambda rng: np.float64(v)


# -- references, written the plain way ------------------------------------------------------

def softmax(z):
    e = np.exp(z)
    return e / e.sum(1, keepdims=True)


def cross_entropy(z, t):
    return -np.log(softmax(z))[np.arange(len(t)), t]


def normalize(z):
    return z / np.linalg.norm(z, axis=1, keepdims=True)


def infonce(z1, z2, tau):
    logits = normalize(z1) @ normalize(z2).T / tau
    return np.mean(cross_entropy(logits, np.arange(len(z1))))


def supcon(z, y, tau):
    u = normalize(z)
    n = len(z)
    total = 0.0
    for i in range(n):
        denominator = sum(np.exp(u[i] @ u[a] / tau) for a in range(n) if a != i)
        positives = [p for p in range(n) if p != i and y[p] == y[i]]
        if positives:
            total += -np.mean([np.log(np.exp(u[i] @ u[p] / tau) / denominator) for p in positives])
    return total / n


def pairwise_sq_mahalanobis(x, y, L):
    return np.array([[np.sum((L @ (xi - yj)) ** 2) for yj in y] for xi in x])


def relu(v):
    return np.maximum(v, 0)


def deepsets_masked(X, mask, W1, b1, W2, b2, W3, b3):
    out = []
    for elements, keep in zip(X, mask):
        pooled = sum(k * relu(x @ W1 + b1) for x, k in zip(elements, keep))
        out.append(relu(pooled @ W2 + b2) @ W3 + b3)
    return np.array(out)


def deepsets(X, *weights):
    return deepsets_masked(X, np.ones(X.shape[:2]), *weights)


@dataclass
class Row:
    name: str                # module.function
    inputs: list             # rng -> array, in argument order
    reference: Callable

    def __str__(self) -> str:
        return self.name


SET_WEIGHTS = [normal(D, 6), normal(6), normal(6, 5), normal(5), normal(5, 2), normal(2)]

ROWS = [
    # losses
    Row("losses.logsumexp", [normal(N, C)], lambda z: np.log(np.exp(z).sum(1))),
    Row("losses.log_softmax", [normal(N, C)], lambda z: np.log(softmax(z))),
    Row("losses.softmax", [normal(N, C)], softmax),
    Row("losses.cross_entropy", [normal(N, C), labels(C)], cross_entropy),
    Row("losses.cross_entropy_soft", [normal(N, C), lambda rng: softmax(rng.standard_normal((N, C)))],
        lambda z, t: -(t * np.log(softmax(z))).sum(1)),
    Row("losses.l2_normalize", [normal(N, D)], normalize),
    Row("losses.infonce", [normal(N, D), normal(N, D), value(0.5)], infonce),
    Row("losses.triplet", [normal(N, D), normal(N, D), normal(N, D), value(1.0)],
        lambda a, p, n, m: relu(((a - p) ** 2).sum(1) - ((a - n) ** 2).sum(1) + m)),
    Row("losses.contrastive", [normal(N, D), normal(N, D), lambda rng: np.array([1, 0, 1, 0, 0.]), value(2.5)],
        lambda a, b, same, m: (same * ((a - b) ** 2).sum(1)
                               + (1 - same) * relu(m - np.linalg.norm(a - b, axis=1)) ** 2)),
    Row("losses.supcon", [normal(6, D), lambda rng: np.array([0, 1, 0, 2, 1, 0], np.int32), value(0.5)], supcon),
    # metric
    Row("metric.safe_sqrt", [lambda rng: rng.uniform(0.5, 2, N)], np.sqrt),
    Row("metric.mahalanobis", [normal(N, D), normal(N, D), normal(2, D)],
        lambda x, y, L: np.linalg.norm((x - y) @ L.T, axis=1)),
    Row("metric.mahalanobis_psd", [normal(N, D), normal(N, D), lambda rng: np.eye(D) + 0.3 * np.ones((D, D))],
        lambda x, y, M: np.sqrt(np.einsum("ni,ij,nj->n", x - y, M, x - y))),
    Row("metric.pairwise_sq_mahalanobis", [normal(N, D), normal(4, D), normal(2, D)], pairwise_sq_mahalanobis),
    # sets
    Row("sets.deepsets", [normal(2, 4, D)] + SET_WEIGHTS, deepsets),
    Row("sets.deepsets_masked", [normal(2, 4, D), lambda rng: np.array([[1, 1, 0, 0], [1, 1, 1, 1.]])] + SET_WEIGHTS,
        deepsets_masked),
    # layers
    Row("layers.linear", [normal(N, D), normal(D, 4), normal(4)], lambda x, W, b: x @ W + b),
    Row("layers.mlp2", [normal(N, D), normal(D, 6), normal(6), normal(6, 2), normal(2)],
        lambda x, W1, b1, W2, b2: relu(x @ W1 + b1) @ W2 + b2),
    Row("layers.lora_linear", [normal(N, 6), normal(6, 4), normal(6, 2), normal(2, 4), value(3.0)],
        lambda x, W0, A, B, alpha: x @ W0 + alpha / 2 * (x @ A) @ B),
    Row("layers.adapter", [normal(N, 4), normal(4, 2), normal(2, 4)], lambda h, Wd, Wu: h + relu(h @ Wd) @ Wu),
    Row("layers.ia3", [normal(N, 4), normal(4)], lambda h, s: h * s),
]


def inputs(row: Row, dtype) -> list:
    rng = rng_inputs(sum(map(ord, row.name)))
    args = [np.asarray(make(rng)) for make in row.inputs]
    return [a.astype(dtype) if a.dtype.kind == "f" else a for a in args]


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("row", ROWS, ids=str)
def test_forward_against_numpy(row: Row, dtype, backend):
    args = inputs(row, dtype)
    out = to_numpy(function(row.name, backend)(*args))
    expected = row.reference(*[a.astype(np.float64) if a.dtype.kind == "f" else a for a in args])
    assert np.shape(out) == np.shape(expected)
    assert out.dtype == dtype
    close(out, expected, dtype)


@pytest.mark.parametrize("row", ROWS, ids=str)
def test_derivatives(row: Row):
    check_grads(function(row.name), inputs(row, np.float64), order=2)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("row", ROWS, ids=str)
def test_triton_gradients_agree_with_numpy(row: Row, dtype):
    """The vjp with a random cotangent (ones would hide errors: softmax's vjp of ones is 0),
    against the numpy backend's in f64, whose rules `test_derivatives` checks."""
    args = inputs(row, dtype)
    wide = [a.astype(np.float64) if a.dtype.kind == "f" else a for a in args]
    cotangent = np.random.default_rng(7).standard_normal(np.shape(function(row.name)(*wide)))
    _, want = vjp(function(row.name), wide, cotangent)
    _, got = vjp(function(row.name, "triton"), args, cotangent.astype(dtype))
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.dtype == dtype
        close(g, w, dtype)


def test_every_function_has_a_row():
    from .util import module

    covered = {r.name for r in ROWS}
    helpers = {"losses.pick", "sets.deepsets_phi"}  # checked through their callers
    for name in ("losses", "metric", "sets", "layers"):
        for fn in module(name).functions:
            assert f"{name}.{fn}" in covered | helpers, f"{name}.{fn} has no row"
