"""Metric learning: learn a Mahalanobis metric L that separates classes.

Three classes differ along 2 of 10 input dims (centres on a circle of radius 2); the other 8 carry noise of twice the radius,
so Euclidean nearest neighbours mostly pick the wrong class. L (2 x 10) is trained with
NCA, written with stdlib metric.pairwise_sq_mahalanobis and losses.logsumexp; the
nearest-neighbour accuracy on held-out points under |L(x - y)| is printed as it rises.

    python examples/metric/train.py [--steps N] [--plot loss.png]
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

import ddc

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
import training  # noqa: E402  (examples/training.py, shared by the examples)

CLASSES, POINTS, DIMS, INFORMATIVE, RANK = 3, 150, 10, 2, 2


def make_points(rng, centres):
    """(x [POINTS, DIMS] f32, labels [POINTS] i32): class centres in the informative dims,
    large noise in the others."""
    labels = rng.integers(0, CLASSES, POINTS).astype(np.int32)
    x = rng.standard_normal((POINTS, DIMS)) * 4
    x[:, :INFORMATIVE] = centres[labels] + 0.5 * rng.standard_normal((POINTS, INFORMATIVE))
    return x.astype(np.float32), labels


def nearest_neighbour_accuracy(L, x_train, y_train, x_test, y_test) -> float:
    a, b = x_test @ L.T, x_train @ L.T
    distances = ((a[:, None, :] - b[None, :, :]) ** 2).sum(-1)
    return float(np.mean(y_train[np.argmin(distances, axis=1)] == y_test))


def main(steps: int = 150, plot: str | None = None, seed: int = 0) -> tuple[float, float]:
    rng = np.random.default_rng(seed)
    angles = 2 * np.pi * np.arange(CLASSES) / CLASSES
    centres = 2 * np.stack([np.cos(angles), np.sin(angles)], axis=1)  # on a circle in the informative dims
    x, labels = make_points(rng, centres)
    x_test, labels_test = make_points(rng, centres)
    L = (rng.standard_normal((RANK, DIMS)) / np.sqrt(DIMS)).astype(np.float32)
    euclidean = nearest_neighbour_accuracy(np.eye(DIMS), x, labels, x_test, labels_test)
    print(f"Euclidean 1-NN accuracy {euclidean:.2f}")
    model = ddc.load(HERE / "nca.dd")
    loss_and_grad = ddc.value_and_grad(model.nca, argnums=(0,))
    report = lambda p: f"1-NN accuracy {nearest_neighbour_accuracy(p[0], x, labels, x_test, labels_test):.2f}"  # noqa: E731
    history = training.adam(loss_and_grad, [L], [x, labels], steps, lr=0.02, every=max(steps // 10, 1),
                            report=report)
    if plot:
        training.plot(history, plot, "Mahalanobis metric learning (NCA)")
    return history[0], history[-1]


if __name__ == "__main__":
    training.command_line(main, __doc__)
