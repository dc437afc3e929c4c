"""Helpers for the stdlib tests: the stdlib modules, loaded once; values with their
cotangents; tolerances per dtype."""
from __future__ import annotations

from functools import cache

import numpy as np

import ddc
import ddc.stdlib


@cache
def module(name: str) -> ddc.Module:
    return ddc.stdlib.load(name)


def function(qualified: str) -> ddc.Function:
    """'losses.softmax' -> the Function."""
    name, fn = qualified.split(".")
    return getattr(module(name), fn)


def vjp(f: ddc.Function, args, cotangent=None):
    """(f(args), the cotangents of f's float arguments), for a cotangent of ones by default."""
    value, backward = ddc.vjp(f, *args)
    grads = backward(np.ones_like(value) if cotangent is None else cotangent)
    return value, grads if isinstance(grads, tuple) else (grads,)


def close(actual, expected, dtype) -> None:
    tol = dict(rtol=1e-4, atol=1e-5) if np.dtype(dtype) == np.float32 else dict(rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(np.asarray(actual, np.float64), np.asarray(expected, np.float64), **tol)


def finite(*arrays) -> bool:
    return all(np.all(np.isfinite(a)) for a in arrays)
