"""LoRA: adapt a frozen random linear layer to a new target with a rank-4 update.

The target is W0 plus a rank-4 change; only the factors A (in x rank) and B (rank x out)
are trained, W0 stays frozen. B starts at zero, as in the LoRA paper, so training starts
from the frozen layer's own loss.

    python examples/lora/train.py [--steps N] [--plot loss.png]
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

import ddc

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
import training  # noqa: E402  (examples/training.py, shared by the examples)

IN, OUT, RANK, BATCH = 32, 16, 4, 256


def make_task(rng):
    W0 = rng.standard_normal((IN, OUT)) / np.sqrt(IN)
    change = rng.standard_normal((IN, RANK)) @ rng.standard_normal((RANK, OUT)) / np.sqrt(IN * RANK)
    x = rng.standard_normal((BATCH, IN))
    y = x @ (W0 + change)
    return W0.astype(np.float32), x.astype(np.float32), y.astype(np.float32)


def main(steps: int = 200, plot: str | None = None, seed: int = 0) -> tuple[float, float]:
    rng = np.random.default_rng(seed)
    W0, x, y = make_task(rng)
    A = (rng.standard_normal((IN, RANK)) / np.sqrt(IN)).astype(np.float32)
    B = np.zeros((RANK, OUT), np.float32)
    model = ddc.load(HERE / "lora.dd")
    loss_and_grads = ddc.value_and_grad(model.loss, argnums=(0, 1))  # w.r.t. A and B only
    history = training.adam(loss_and_grads, [A, B], [W0, x, y], steps, lr=0.01, every=max(steps // 15, 1))
    if plot:
        training.plot(history, plot, "LoRA: rank-4 adaptation of a frozen layer")
    return history[0], history[-1]


if __name__ == "__main__":
    training.command_line(main, __doc__)
