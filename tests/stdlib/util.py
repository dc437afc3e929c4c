"""Helpers for the stdlib tests: the stdlib modules, loaded once; their functions compiled
for a backend; values with their cotangents; tolerances per dtype. Values of either
backend (numpy arrays, torch tensors) are compared as numpy arrays."""
from __future__ import annotations

from functools import cache

import numpy as np

import ddc
import ddc.stdlib

from ..backends import to_numpy


@cache
def module(name: str) -> ddc.Module:
    return ddc.stdlib.load(name)


@cache
def function(qualified: str, backend: str = "numpy") -> ddc.Function:
    """'losses.softmax' -> the Function, compiled for `backend` (once per test session)."""
    name, fn = qualified.split(".")
    return ddc.jit(getattr(module(name), fn), backend)


def vjp(f: ddc.Function, args, cotangent=None):
    """(f(args), the cotangents of f's float arguments), for a cotangent of ones by default;
    as numpy arrays."""
    value, backward = ddc.vjp(f, *args)
    value = to_numpy(value)
    grads = backward(np.ones_like(value) if cotangent is None else cotangent)
    return value, tuple(to_numpy(g) for g in (grads if isinstance(grads, tuple) else (grads,)))


def close(actual, expected, dtype) -> None:
    tol = dict(rtol=1e-4, atol=1e-5) if np.dtype(dtype) == np.float32 else dict(rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(to_numpy(actual).astype(np.float64), to_numpy(expected).astype(np.float64), **tol)


def finite(*arrays) -> bool:
    return all(np.all(np.isfinite(to_numpy(a))) for a in arrays)
