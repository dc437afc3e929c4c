"""The floor under ddc's numpy code: one call of each kind it makes, timed in every library.

ddc's numpy backend only ever calls numpy (and the BLAS under it). Where a peer does one
such call faster, no code ddc generates closes the gap, so `cpu.py` reports these next to
the workloads, from the same process and thread settings:

- elementwise: ns per element of float32 `exp`, `log`, `tanh`, `max(x, 0)` and `x + y` on
  an array the size of the cross-entropy logits (4096 x 1000): plain numpy (one thread,
  as numpy runs), ddc's runtime (what its generated code calls for such an array:
  `parallel` spreads the slow ufuncs over the threads, `with_scalar` gives max its 0 as an
  array), `jax.jit` and PyTorch;
- matrix products: GFLOP/s of each workload's largest float32 product, `@` in each library.
"""
from __future__ import annotations

import numpy as np

from timing import time_interleaved

SHAPE = (4096, 1000)
# each workload's largest matrix product, (m, k, n)
PRODUCTS = {
    "cross-entropy": (4096, 512, 1000),
    "InfoNCE": (1024, 128, 1024),
    "DeepSets": (16384, 32, 128),
    "Mahalanobis": (8192, 64, 64),
    "LoRA": (2048, 1024, 1024),
}
LIBRARIES = ("numpy", "ddc", "jax", "torch")


def elementwise_calls(x: np.ndarray, y: np.ndarray) -> dict[str, dict[str, callable]]:
    """op -> library -> a zero-argument call computing it on x (and y), fresh output."""
    from ddc.codegen.numpy.runtime import parallel, with_scalar

    zero = np.float32(0)
    ops = {
        "exp": {"numpy": lambda: np.exp(x), "ddc": lambda: parallel(np.exp, x)},
        "log": {"numpy": lambda: np.log(y), "ddc": lambda: parallel(np.log, y)},
        "tanh": {"numpy": lambda: np.tanh(x), "ddc": lambda: parallel(np.tanh, x)},
        "max(x, 0)": {"numpy": lambda: np.maximum(x, zero), "ddc": lambda: with_scalar(np.maximum, x, zero)},
        "x + y": {"numpy": lambda: np.add(x, y), "ddc": lambda: np.add(x, y)},
    }
    _add_peers(ops, x, y)
    return ops


def _add_peers(ops: dict, x: np.ndarray, y: np.ndarray) -> None:
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        jax = None
    if jax is not None:
        jx, jy = jnp.asarray(x), jnp.asarray(y)
        fns = {"exp": jnp.exp, "log": lambda a, b: jnp.log(b), "tanh": jnp.tanh,
               "max(x, 0)": lambda a: jnp.maximum(a, 0), "x + y": jnp.add}
        for op, fn in fns.items():
            f = jax.jit(fn)
            args = (jx, jy) if op in ("log", "x + y") else (jx,)
            ops[op]["jax"] = lambda f=f, args=args: f(*args).block_until_ready()
    try:
        import torch
    except ImportError:
        return
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)
    ops["exp"]["torch"] = lambda: torch.exp(tx)
    ops["log"]["torch"] = lambda: torch.log(ty)
    ops["tanh"]["torch"] = lambda: torch.tanh(tx)
    ops["max(x, 0)"]["torch"] = lambda: torch.clamp_min(tx, 0.0)
    ops["x + y"]["torch"] = lambda: torch.add(tx, ty)


def product_calls(m: int, k: int, n: int, rng) -> dict[str, callable]:
    a = rng.standard_normal((m, k), dtype=np.float32)
    b = rng.standard_normal((k, n), dtype=np.float32)
    calls = {"numpy": lambda: a @ b}
    try:
        import jax
        import jax.numpy as jnp

        ja, jb, f = jnp.asarray(a), jnp.asarray(b), jax.jit(jnp.matmul)
        calls["jax"] = lambda: f(ja, jb).block_until_ready()
    except ImportError:
        pass
    try:
        import torch

        ta, tb = torch.from_numpy(a), torch.from_numpy(b)
        calls["torch"] = lambda: ta @ tb
    except ImportError:
        pass
    return calls


def measure(budget_s: float = 2.0) -> dict:
    """{"elementwise": op -> library -> ns per element, "products": workload -> library ->
    GFLOP/s}."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal(SHAPE, dtype=np.float32)
    y = np.abs(rng.standard_normal(SHAPE, dtype=np.float32)) + np.float32(0.5)
    elementwise = {op: {lib: ms * 1e6 / x.size for lib, ms in time_interleaved(calls, budget_s=budget_s).items()}
                   for op, calls in elementwise_calls(x, y).items()}
    products = {}
    for name, (m, k, n) in PRODUCTS.items():
        times = time_interleaved(product_calls(m, k, n, rng), budget_s=budget_s)
        products[name] = {lib: 2 * m * k * n / (ms * 1e-3) / 1e9 for lib, ms in times.items()}
    return {"elementwise": elementwise, "products": products}


def report(ceilings: dict) -> list[str]:
    libs = [lib for lib in LIBRARIES if any(lib in row for row in ceilings["elementwise"].values())]
    out = ["## Ceilings: one numpy call, in every library", "",
           "What ddc's generated code is made of, timed alone (`ceilings.py`, same process and "
           "thread settings). Elementwise: ns per element on a float32 "
           f"{SHAPE[0]} x {SHAPE[1]} array, fresh output; *ddc* is the runtime helper its code "
           "calls for such an array (the slow ufuncs split over the threads; max given its 0 as "
           "an array), *numpy* the plain call (one thread).", "",
           "| op | " + " | ".join(libs) + " |", "|---|" + "---:|" * len(libs)]
    for op, row in ceilings["elementwise"].items():
        out.append(f"| {op} | " + " | ".join(f"{row[lib]:.2f}" if lib in row else "" for lib in libs) + " |")
    plibs = [lib for lib in LIBRARIES if any(lib in row for row in ceilings["products"].values())]
    out += ["", "Matrix products: GFLOP/s of each workload's largest float32 product (m x k @ k x n), `@`.", "",
            "| workload | m, k, n | " + " | ".join(plibs) + " |", "|---|---|" + "---:|" * len(plibs)]
    for name, row in ceilings["products"].items():
        m, k, n = PRODUCTS[name]
        out.append(f"| {name} | {m}, {k}, {n} | " + " | ".join(f"{row[lib]:.0f}" for lib in plibs) + " |")
    return out + [""]


def floor(ceilings: dict) -> str:
    """In words, the calls (from the tables) where ddc's runtime is slower than the fastest
    peer: the elementwise ops by how much, and the matrix products."""
    slower = []
    for op, row in ceilings["elementwise"].items():
        peers = {lib: t for lib, t in row.items() if lib in ("jax", "torch")}
        best = min(peers, key=peers.get, default=None)
        if best is not None and row["ddc"] > 1.1 * peers[best]:
            slower.append(f"{op} {row['ddc'] / peers[best]:.1f}x {best}'s")
    products = []
    for name, row in ceilings["products"].items():
        peers = {lib: g for lib, g in row.items() if lib != "numpy"}
        best = max(peers, key=peers.get, default=None)
        if best is not None and row["numpy"] < 0.9 * peers[best]:
            products.append(f"{name} {row['numpy'] / peers[best]:.2f}x {best}'s")
    parts = []
    if slower:
        parts.append("per element, the numpy calls ddc makes run float32 " + ", ".join(slower)
                     + " (Ceilings below: one call on a whole array)")
    if products:
        parts.append("numpy's BLAS runs the " + ", ".join(products) + " GFLOP/s")
    return "; ".join(parts) or "no single numpy call is slower than the peers' (Ceilings below)"
