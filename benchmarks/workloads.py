"""The five benchmark workloads, each written once per library.

A `Workload` names the `.dd` file and function that is ddc's side, the arguments to
differentiate, how to make the (float32) inputs, and the peers: hand-written numpy (a
forward, and an analytic backward checked against ddc by `cpu.py`), a JAX loss (timed as
`jax.jit(loss)` and `jax.jit(jax.grad(loss))`) and a PyTorch loss (eager, gradient by
`loss.backward()`). Peers import their library lazily, so this module needs numpy alone.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Workload:
    name: str
    dd_file: str  # beside this module
    function: str
    argnums: tuple[int, ...]
    make_inputs: Callable[[np.random.Generator], list[np.ndarray]]
    numpy_forward: Callable
    numpy_grad: Callable  # returns one array per argnum
    jax_loss: Callable  # (jnp module, jax module) -> loss function
    torch_loss: Callable  # (torch module) -> loss function
    small: dict  # sizes for `make_inputs` where per-call overhead is all there is

    @property
    def path(self) -> Path:
        return HERE / self.dd_file


def _normal(rng, shape, scale=1.0):
    return (rng.standard_normal(shape, dtype=np.float32) * np.float32(scale))


# -- 1. cross-entropy: mean(cross_entropy(x @ W, labels)), grad w.r.t. W ---------------------

def ce_inputs(rng, n=4096, d=512, c=1000):
    return [_normal(rng, (n, d)), _normal(rng, (d, c), d ** -0.5), rng.integers(0, c, n).astype(np.int32)]


def ce_forward(x, W, labels):
    z = x @ W
    z -= z.max(axis=1, keepdims=True)
    picked = z[np.arange(len(z)), labels]
    return np.mean(np.log(np.exp(z).sum(axis=1)) - picked)


def ce_grad(x, W, labels):
    """d/dW = x.T @ (softmax(z) - onehot(labels)) / n, the one-hot never built."""
    z = x @ W
    z -= z.max(axis=1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=1, keepdims=True)
    z[np.arange(len(z)), labels] -= 1
    z *= np.float32(1 / len(z))
    return (x.T @ z,)


def ce_jax(jnp, jax):
    def loss(x, W, labels):
        logp = jax.nn.log_softmax(x @ W, axis=1)
        return -jnp.mean(jnp.take_along_axis(logp, labels[:, None], axis=1))

    return loss


def ce_torch(torch):
    def loss(x, W, labels):
        return torch.nn.functional.cross_entropy(x @ W, labels)

    return loss


# -- 2. InfoNCE: z1 = x1 @ W, z2 = x2 @ W, cosine logits / temperature, grad w.r.t. W ------

TEMPERATURE = 0.1


def nce_inputs(rng, n=1024, d=256, k=128):
    return [_normal(rng, (d, k), d ** -0.5), _normal(rng, (n, d)), _normal(rng, (n, d))]


def _unit_rows(z):
    norm = np.sqrt(np.maximum(np.einsum("ij,ij->i", z, z), np.float32(1e-24)))[:, None]
    return z / norm, norm


def nce_forward(W, x1, x2):
    u1, _ = _unit_rows(x1 @ W)
    u2, _ = _unit_rows(x2 @ W)
    logits = (u1 @ u2.T) * np.float32(1 / TEMPERATURE)
    logits -= logits.max(axis=1, keepdims=True)
    lse = np.log(np.exp(logits).sum(axis=1))
    return np.mean(lse - np.diagonal(logits))


def nce_grad(W, x1, x2):
    """Cross-entropy with labels arange(n) on the logits, back through the normalisation."""
    u1, n1 = _unit_rows(x1 @ W)
    u2, n2 = _unit_rows(x2 @ W)
    p = (u1 @ u2.T) * np.float32(1 / TEMPERATURE)
    p -= p.max(axis=1, keepdims=True)
    np.exp(p, out=p)
    p /= p.sum(axis=1, keepdims=True)
    p[np.diag_indices_from(p)] -= 1
    p *= np.float32(1 / (TEMPERATURE * len(p)))
    du1, du2 = p @ u2, p.T @ u1
    dz1 = (du1 - u1 * np.einsum("ij,ij->i", du1, u1)[:, None]) / n1
    dz2 = (du2 - u2 * np.einsum("ij,ij->i", du2, u2)[:, None]) / n2
    return (x1.T @ dz1 + x2.T @ dz2,)


def nce_jax(jnp, jax):
    def loss(W, x1, x2):
        def unit(z):
            return z / jnp.sqrt(jnp.maximum(jnp.sum(z * z, axis=1, keepdims=True), 1e-24))

        u1, u2 = unit(x1 @ W), unit(x2 @ W)
        logp = jax.nn.log_softmax(u1 @ u2.T / TEMPERATURE, axis=1)
        return -jnp.mean(jnp.diagonal(logp))

    return loss


def nce_torch(torch):
    F = torch.nn.functional

    def loss(W, x1, x2):
        u1, u2 = F.normalize(x1 @ W, dim=1, eps=1e-12), F.normalize(x2 @ W, dim=1, eps=1e-12)
        labels = torch.arange(len(u1))
        return F.cross_entropy(u1 @ u2.T / TEMPERATURE, labels)

    return loss


# -- 3. DeepSets: rho(sum phi(x)), phi one layer, rho two; loss mean((out - y)^2), grad w.r.t. all weights -----------

def sets_inputs(rng, b=256, s=64, d=32, h=128):
    return [
        _normal(rng, (b, s, d)),
        _normal(rng, (d, h), d ** -0.5), np.zeros(h, np.float32),
        _normal(rng, (h, h), h ** -0.5), np.zeros(h, np.float32),
        _normal(rng, (h, 1), h ** -0.5), np.zeros(1, np.float32),
        _normal(rng, (b, 1)),
    ]


def _sets_layers(X, W1, b1, W2, b2, W3, b3):
    """phi on every element as one 2-d product (one BLAS call, not one per set), then
    rho = a two-layer MLP on the pooled sum, as stdlib/sets.dd defines deepsets."""
    b, s, d = X.shape
    h1 = X.reshape(b * s, d) @ W1
    h1 += b1
    np.maximum(h1, 0, out=h1)
    pooled = h1.reshape(b, s, -1).sum(axis=1)
    a2 = pooled @ W2 + b2
    r = np.maximum(a2, 0)
    return h1, pooled, a2, r, r @ W3 + b3


def sets_forward(X, W1, b1, W2, b2, W3, b3, y):
    out = _sets_layers(X, W1, b1, W2, b2, W3, b3)[-1]
    return np.mean((out - y) ** 2)


def sets_grad(X, W1, b1, W2, b2, W3, b3, y):
    h1, pooled, a2, r, out = _sets_layers(X, W1, b1, W2, b2, W3, b3)
    b, s, d = X.shape
    dout = (out - y) * np.float32(2 / out.size)
    da2 = dout @ W3.T
    da2 *= a2 > 0
    dpooled = da2 @ W2.T
    dh1 = np.where(h1.reshape(b, s, -1) > 0, dpooled[:, None, :], np.float32(0)).reshape(b * s, -1)
    return (X.reshape(b * s, d).T @ dh1, dh1.sum(axis=0), pooled.T @ da2, da2.sum(axis=0),
            r.T @ dout, dout.sum(axis=0))


def sets_jax(jnp, jax):
    def loss(X, W1, b1, W2, b2, W3, b3, y):
        pooled = jax.nn.relu(X @ W1 + b1).sum(axis=1)
        out = jax.nn.relu(pooled @ W2 + b2) @ W3 + b3
        return jnp.mean((out - y) ** 2)

    return loss


def sets_torch(torch):
    def loss(X, W1, b1, W2, b2, W3, b3, y):
        pooled = torch.relu(X @ W1 + b1).sum(dim=1)
        out = torch.relu(pooled @ W2 + b2) @ W3 + b3
        return torch.mean((out - y) ** 2)

    return loss


# -- 4. Mahalanobis: mean ||(x - y) @ L.T||, grad w.r.t. L ------------------------------------

def maha_inputs(rng, n=8192, d=64):
    return [_normal(rng, (n, d)), _normal(rng, (n, d)), _normal(rng, (d, d), d ** -0.5)]


def maha_forward(x, y, L):
    z = (x - y) @ L.T
    return np.mean(np.sqrt(np.einsum("ij,ij->i", z, z)))


def maha_grad(x, y, L):
    diff = x - y
    z = diff @ L.T
    dist = np.sqrt(np.einsum("ij,ij->i", z, z))
    z /= (dist * np.float32(len(z)))[:, None]
    return (z.T @ diff,)


def maha_jax(jnp, jax):
    def loss(x, y, L):
        z = (x - y) @ L.T
        return jnp.mean(jnp.sqrt(jnp.sum(z * z, axis=1)))

    return loss


def maha_torch(torch):
    def loss(x, y, L):
        z = (x - y) @ L.T
        return torch.mean(torch.sqrt(torch.sum(z * z, dim=1)))

    return loss


# -- 5. LoRA: out = x @ W0 + alpha / r * (x @ A) @ B, loss mean(out^2), grad w.r.t. A, B ---------

ALPHA = 2.0  # the adapter's output is scaled by alpha / r, as stdlib/layers.dd does


def lora_inputs(rng, n=2048, d=1024, r=16):
    return [_normal(rng, (n, d)), _normal(rng, (d, d), d ** -0.5),
            _normal(rng, (d, r), d ** -0.5), _normal(rng, (r, d), 0.01)]


def lora_forward(x, W0, A, B):
    out = x @ W0
    out += (x @ (A * np.float32(ALPHA / len(B)))) @ B
    return np.mean(out * out)


def lora_grad(x, W0, A, B):
    scale = np.float32(ALPHA / len(B))
    xa = x @ A
    out = x @ W0
    out += (xa * scale) @ B
    out *= np.float32(2 / out.size) * scale  # d loss / d (xa @ B), the scale folded in
    return (x.T @ (out @ B.T), xa.T @ out)


def lora_jax(jnp, jax):
    def loss(x, W0, A, B):
        out = x @ W0 + (ALPHA / B.shape[0]) * ((x @ A) @ B)
        return jnp.mean(out * out)

    return loss


def lora_torch(torch):
    def loss(x, W0, A, B):
        out = x @ W0 + (ALPHA / B.shape[0]) * ((x @ A) @ B)
        return torch.mean(out * out)

    return loss


WORKLOADS = [
    Workload("cross-entropy", "crossentropy.dd", "loss", (1,), ce_inputs,
             ce_forward, ce_grad, ce_jax, ce_torch, dict(n=37, d=12, c=9)),
    Workload("InfoNCE", "infonce.dd", "loss", (0,), nce_inputs,
             nce_forward, nce_grad, nce_jax, nce_torch, dict(n=19, d=10, k=6)),
    Workload("DeepSets", "deepsets.dd", "loss", (1, 2, 3, 4, 5, 6), sets_inputs,
             sets_forward, sets_grad, sets_jax, sets_torch, dict(b=7, s=5, d=4, h=6)),
    Workload("Mahalanobis", "mahalanobis.dd", "loss", (2,), maha_inputs,
             maha_forward, maha_grad, maha_jax, maha_torch, dict(n=23, d=5)),
    Workload("LoRA", "lora.dd", "loss", (2, 3), lora_inputs,
             lora_forward, lora_grad, lora_jax, lora_torch, dict(n=11, d=16, r=3)),
]
