"""Run a graph on a named backend and get numpy arrays back, so any suite can check both
backends with the same assertions (see the `backend` fixture in conftest.py)."""
from __future__ import annotations

import os

import numpy as np

from ddc.codegen import compile_graph
from ddc.ir import Graph


def to_numpy(x) -> np.ndarray:
    """An output of either backend (ndarray or torch tensor) as an ndarray."""
    if hasattr(x, "detach"):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def run(graph: Graph, *args, backend: str = "numpy"):
    """Outputs of `graph` on `args`: one array, or a tuple for several outputs."""
    out = compile_graph(graph, backend)(*args)
    if isinstance(out, tuple):
        return tuple(to_numpy(o) for o in out)
    return to_numpy(out)


# Triton kernels compiled for a GPU (not interpreted) may contract a*b+c into an fma and
# use approximate exp and sqrt: there results get this many ulps.
GPU_ULPS = 4


def interpreted() -> bool:
    return os.environ.get("TRITON_INTERPRET") == "1"


def assert_same_numbers(actual, expected, backend: str) -> None:
    """`actual` is `expected` to the last bit, with its dtype; GPU_ULPS on a GPU: still far
    below one rounding of a constant through f32."""
    actual, expected = to_numpy(actual), np.asarray(expected)
    assert actual.dtype == expected.dtype, (actual.dtype, expected.dtype)
    if backend == "triton" and not interpreted():
        np.testing.assert_array_max_ulp(actual, expected, maxulp=GPU_ULPS)
    else:
        assert np.array_equal(actual, expected), (actual, expected)


def ulp_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """|a - b| in ulps, for finite floats of one dtype (ordered integer views)."""
    bits = {4: np.int32, 8: np.int64}[a.dtype.itemsize]
    ia, ib = a.view(bits).astype(np.int64), b.view(bits).astype(np.int64)
    flip = lambda i: np.where(i < 0, np.iinfo(bits).min - i, i)  # noqa: E731  (sign-magnitude to ordered)
    return np.abs(flip(ia) - flip(ib))


def mismatches(got, want, ulps: int = 0, zero_sign: bool = True) -> list[str]:
    """Positions where `got` differs from `want`: a NaN missing or extra, a different sign
    (NaN's aside, and zeros' unless `zero_sign`), or more than `ulps` apart (finite floats)
    or unequal (all else)."""
    got, want = to_numpy(got), np.asarray(want)
    if got.dtype != want.dtype or got.shape != want.shape:
        return [f"{got.dtype}{list(got.shape)} where the reference has {want.dtype}{list(want.shape)}"]
    got, want = got.reshape(-1), want.reshape(-1)
    if want.dtype.kind != "f":
        bad = got != want
    else:
        nan = np.isnan(want)
        finite = np.isfinite(want) & np.isfinite(got)
        close = ulp_distance(got, want) <= ulps if ulps else got == want
        signed = ~nan if zero_sign else ~nan & (want != 0)
        bad = (np.isnan(got) != nan) | (signed & (np.signbit(got) != np.signbit(want)))
        bad |= ~nan & np.where(finite, ~close, got != want)
    return [f"at {i}: got {got[i]!r}, want {want[i]!r}" for i in np.flatnonzero(bad)[:8]]


def same_bits(got, want) -> bool:
    """`got` has `want`'s dtype, shape and bits: NaN where it has NaN, and every other
    number equal with the same sign (a NaN's sign bit is not a value)."""
    return not mismatches(got, want)
