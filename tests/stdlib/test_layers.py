"""Layers and adapters: LoRA's gradient w.r.t. (A, B) computes nothing of the frozen W0's
size and has the analytic values; an adapter with a zero up-projection and (IA)³ with unit
scales are the identity. Values on each backend."""
from __future__ import annotations

import numpy as np

import ddc

from .util import close, function

LORA_LOSS = """
from layers import lora_linear

def loss(x: float[b, i], W0: float[i, o], A: float[i, r], B: float[r, o], y: float[b, o]) -> float:
    error = lora_linear(x, W0, A, B, 16.0) - y
    return mean(error * error)
"""


def products_of_w0_size(graph) -> list:
    """The dot_generals whose result is [i, o] (or [o, i], transposed later)."""
    return [n for n in graph.nodes
            if n.prim.name == "dot_general" and sorted(map(str, n.out.type.shape)) == ["i", "o"]]


def test_lora_gradient_wrt_a_and_b_computes_nothing_for_w0(backend):
    loss = ddc.loads(LORA_LOSS).loss
    assert products_of_w0_size(ddc.grad(loss, argnums=(2, 3)).graph) == []
    assert len(products_of_w0_size(ddc.grad(loss, argnums=1).graph)) == 1  # the check can fail
    # and the gradients are right
    rng = np.random.default_rng(0)
    x, W0, A, B, y = (rng.standard_normal(s) for s in [(8, 6), (6, 5), (6, 2), (2, 5), (8, 5)])
    gA, gB = ddc.jit(ddc.grad(loss, argnums=(2, 3)), backend)(x, W0, A, B, y)
    residual = 2 * (x @ W0 + 8 * x @ A @ B - y) / y.size
    close(gA, 8 * x.T @ residual @ B.T, np.float64)
    close(gB, 8 * (x @ A).T @ residual, np.float64)


def test_adapter_with_zero_up_projection_and_ia3_with_unit_scale_are_the_identity(backend):
    rng = np.random.default_rng(1)
    h = rng.standard_normal((4, 6)).astype(np.float32)
    down, up = rng.standard_normal((6, 2)).astype(np.float32), np.zeros((2, 6), np.float32)
    close(function("layers.adapter", backend)(h, down, up), h, np.float32)
    close(function("layers.ia3", backend)(h, np.ones(6, np.float32)), h, np.float32)
