"""Each library's way to run a workload: `prepare(workload, library, inputs)` gives a
`Runner` holding zero-argument calls for the forward and the gradient (inputs already
converted to the library's arrays), what the first call of the gradient cost (compile
included), and how to read results back as numpy arrays.

Libraries: "ddc" (the numpy backend), "numpy" (hand-written), "jax" (`jax.jit`), "torch"
(eager; the forward under `no_grad`, the gradient by `loss.backward()`).
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from workloads import Workload

LIBRARIES = ("ddc", "numpy", "jax", "torch")


@dataclass
class Runner:
    forward: Callable[[], object]
    grad: Callable[[], object]
    first_grad_ms: float  # source (or traced function) to first gradient, included
    to_numpy: Callable[[object], list[np.ndarray]]
    functions: tuple = ()  # ddc only: the forward and gradient Functions, for profiles


def _timed_first(call) -> float:
    start = time.perf_counter()
    call()
    return (time.perf_counter() - start) * 1e3


def _as_list(x) -> list:
    return list(x) if isinstance(x, (tuple, list)) else [x]


def ddc_functions(workload: Workload):
    """Source text to callable forward and gradient, compiled for float32."""
    import ddc

    module = ddc.load(workload.path)
    forward = getattr(module, workload.function)
    grad = ddc.grad(forward, argnums=workload.argnums)
    grad.compiled()
    return forward, grad


def _ddc(workload, inputs):
    start = time.perf_counter()
    forward, grad = ddc_functions(workload)
    compile_ms = (time.perf_counter() - start) * 1e3
    return Runner(lambda: forward(*inputs), lambda: grad(*inputs), compile_ms,
                  lambda r: [np.asarray(a) for a in _as_list(r)], (forward, grad))


def _numpy(workload, inputs):
    return Runner(lambda: workload.numpy_forward(*inputs), lambda: workload.numpy_grad(*inputs),
                  0.0, lambda r: [np.asarray(a) for a in _as_list(r)])


def _jax(workload, inputs):
    import jax
    import jax.numpy as jnp

    loss = workload.jax_loss(jnp, jax)
    forward, grad = jax.jit(loss), jax.jit(jax.grad(loss, argnums=workload.argnums))
    args = [jnp.asarray(a) for a in inputs]
    first = _timed_first(lambda: jax.block_until_ready(grad(*args)))
    return Runner(lambda: jax.block_until_ready(forward(*args)),
                  lambda: jax.block_until_ready(grad(*args)), first,
                  lambda r: [np.asarray(a) for a in _as_list(r)])


def torch_arguments(workload: Workload, inputs, torch, device: str = "cpu"):
    """The inputs as torch tensors on `device` (integer labels as int64, which torch indexes
    with), fresh leaves for the differentiated ones, and the arguments with those in place."""
    args = [torch.from_numpy(a.astype(np.int64) if a.dtype.kind == "i" else a).to(device) for a in inputs]
    params = [args[i].detach().clone().requires_grad_() for i in workload.argnums]
    with_params = list(args)
    for i, p in zip(workload.argnums, params):
        with_params[i] = p
    return args, params, with_params


def _torch(workload, inputs):
    import torch

    from threads import setup_torch

    setup_torch(torch)
    loss = workload.torch_loss(torch)
    args, params, with_params = torch_arguments(workload, inputs, torch)

    def forward():
        with torch.no_grad():
            return loss(*args)

    def grad():
        for p in params:
            p.grad = None
        loss(*with_params).backward()
        return [p.grad for p in params]

    return Runner(forward, grad, _timed_first(grad),
                  lambda r: [t.detach().numpy() for t in _as_list(r)])


_PREPARE = {"ddc": _ddc, "numpy": _numpy, "jax": _jax, "torch": _torch}


def prepare(workload: Workload, library: str, inputs: list[np.ndarray]) -> Runner:
    return _PREPARE[library](workload, inputs)
