"""Deep Sets: learn the sum of a set of numbers.

Each set has 1 to 8 numbers in [-1, 1], padded to 8 with a mask. The model is
rho(sum_x phi(x)) (stdlib sets.deepsets_masked), so its prediction cannot depend on the
order of the elements; it has to learn that phi and rho together add.

    python examples/deepsets/train.py [--steps N] [--plot loss.png]
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

import ddc

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
import training  # noqa: E402  (examples/training.py, shared by the examples)

SETS, MAX_SIZE, HIDDEN = 256, 8, 32


def make_sets(rng, count: int = SETS):
    """(X [count, MAX_SIZE, 1], mask [count, MAX_SIZE], sums [count]), f32."""
    sizes = rng.integers(1, MAX_SIZE + 1, count)
    mask = (np.arange(MAX_SIZE) < sizes[:, None]).astype(np.float32)
    X = (rng.uniform(-1, 1, (count, MAX_SIZE)) * mask).astype(np.float32)
    return X[..., None], mask, X.sum(1)


def init_params(rng) -> list[np.ndarray]:
    """W1, b1, W2, b2, W3, b3, scaled so that activations start near unit size."""
    shapes = [(1, HIDDEN), (HIDDEN,), (HIDDEN, HIDDEN), (HIDDEN,), (HIDDEN, 1), (1,)]
    params = []
    for shape in shapes:
        scale = 1 / np.sqrt(shape[0]) if len(shape) == 2 else 0.1
        params.append((rng.standard_normal(shape) * scale).astype(np.float32))
    return params


def main(steps: int = 300, plot: str | None = None, seed: int = 0) -> tuple[float, float]:
    rng = np.random.default_rng(seed)
    data = make_sets(rng)
    params = init_params(rng)
    model = ddc.load(HERE / "deepsets.dd")
    loss_and_grads = ddc.value_and_grad(model.loss, argnums=tuple(range(len(params))))
    history = training.adam(loss_and_grads, params, data, steps, lr=0.01, every=max(steps // 15, 1))
    X, mask, sums = make_sets(rng, 5)
    for predicted, true in zip(model.predict(X, mask, *params), sums):
        print(f"  held-out set: sum {true:+.3f}, predicted {predicted:+.3f}")
    if plot:
        training.plot(history, plot, "Deep Sets: the sum of a set")
    return history[0], history[-1]


if __name__ == "__main__":
    training.command_line(main, __doc__)
