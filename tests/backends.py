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


def assert_same_numbers(actual, expected, backend: str) -> None:
    """`actual` is `expected` to the last bit, with its dtype. Triton kernels compiled for a
    GPU (not interpreted) may contract a*b+c into an fma and use approximate exp and sqrt,
    so there they get 4 ulps: still far below one rounding of a constant through f32."""
    actual, expected = to_numpy(actual), np.asarray(expected)
    assert actual.dtype == expected.dtype, (actual.dtype, expected.dtype)
    if backend == "triton" and os.environ.get("TRITON_INTERPRET") != "1":
        np.testing.assert_array_max_ulp(actual, expected, maxulp=4)
    else:
        assert np.array_equal(actual, expected), (actual, expected)
