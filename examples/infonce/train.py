"""InfoNCE: learn an encoder that aligns two noisy views of the same example.

Each example has a 4-dim signal, embedded in 32 dims; its two views add independent
nuisance noise, larger than the signal, in 8 other directions. The encoder (stdlib
layers.mlp2) is trained with stdlib losses.infonce: matching views are positives, every
other example in the batch is a negative; each step draws a fresh batch. As it learns to keep the signal and drop the
nuisance, retrieval on held-out pairs (is the nearest view2 of each view1 its own?) goes up.

    python examples/infonce/train.py [--steps N] [--plot loss.png]
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

import ddc

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
import training  # noqa: E402  (examples/training.py, shared by the examples)

BATCH, SIGNAL, NUISANCE, INPUT, HIDDEN, EMBED = 128, 4, 8, 32, 64, 16


def make_world(rng):
    """The directions of the signal and of the (twice as strong) nuisance in input space."""
    return rng.standard_normal((SIGNAL, INPUT)), 2 * rng.standard_normal((NUISANCE, INPUT))


def make_views(rng, world, count: int = BATCH):
    """(view1, view2), each [count, INPUT] f32: one signal, independent nuisances."""
    signal_dirs, nuisance_dirs = world
    signal = rng.standard_normal((count, SIGNAL)) @ signal_dirs
    views = [signal + rng.standard_normal((count, NUISANCE)) @ nuisance_dirs for _ in range(2)]
    return [(v / 6).astype(np.float32) for v in views]  # about unit variance


def init_params(rng) -> list[np.ndarray]:
    """W1, b1, W2, b2 of the encoder."""
    return [(rng.standard_normal((INPUT, HIDDEN)) / np.sqrt(INPUT)).astype(np.float32),
            np.zeros(HIDDEN, np.float32),
            (rng.standard_normal((HIDDEN, EMBED)) / np.sqrt(HIDDEN)).astype(np.float32),
            np.zeros(EMBED, np.float32)]


def retrieval_accuracy(encode, params, view1, view2) -> float:
    """How often the view2 most cosine-similar to a view1 is its own."""
    e1, e2 = (encode(v, *params) for v in (view1, view2))
    e1 = e1 / np.linalg.norm(e1, axis=1, keepdims=True)
    e2 = e2 / np.linalg.norm(e2, axis=1, keepdims=True)
    return float(np.mean(np.argmax(e1 @ e2.T, axis=1) == np.arange(len(e1))))


def main(steps: int = 200, plot: str | None = None, seed: int = 0) -> tuple[float, float]:
    rng = np.random.default_rng(seed)
    world = make_world(rng)
    held_out = make_views(rng, world)
    params = init_params(rng)
    model = ddc.load(HERE / "infonce.dd")
    loss_and_grads = ddc.value_and_grad(model.loss, argnums=(0, 1, 2, 3))
    report = lambda p: f"held-out retrieval {retrieval_accuracy(model.encode, p, *held_out):.2f}"  # noqa: E731
    batches = lambda step: make_views(rng, world)  # noqa: E731  (a fresh batch per step)
    history = training.adam(loss_and_grads, params, batches, steps, lr=0.003,
                            every=max(steps // 10, 1), report=report)
    if plot:
        training.plot(history, plot, "InfoNCE: aligning two noisy views")
    return history[0], history[-1]


if __name__ == "__main__":
    training.command_line(main, __doc__)
