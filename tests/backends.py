"""Run a graph on a named backend and get numpy arrays back, so any suite can check both
backends with the same assertions (see the `backend` fixture in conftest.py)."""
from __future__ import annotations

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
