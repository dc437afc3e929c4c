"""Helpers for the DSL tests: load a program, lower a function (checking the graph with
`ir.verify` and its text round trip), run it on a backend (numpy unless told)."""
from __future__ import annotations

import numpy as np
import pytest

from ddc import ir
from ddc.dsl import loads

from .. import backends


def lowered(source: str, name: str, dtype=ir.f32) -> ir.Graph:
    graph = loads(source).lower(name, dtype)
    ir.verify(graph)
    text = str(graph)
    assert str(ir.parse_graph(text)) == text
    return graph


def run(source: str, name: str, *args, dtype=ir.f32, backend: str = "numpy"):
    """The outputs as numpy arrays, whichever backend computed them."""
    return backends.run(lowered(source, name, dtype), *args, backend=backend)


def prims(graph: ir.Graph) -> list[str]:
    return [n.prim.name for n in graph.nodes]


def error_of(source: str, cls, path=None):
    with pytest.raises(cls) as info:
        loads(source, path=path)
    err = info.value
    assert isinstance(err, cls) and err.span is not None, err
    return err


def close(actual, expected, dtype=np.float64):
    tol = 1e-5 if np.dtype(dtype) == np.float32 else 1e-12
    np.testing.assert_allclose(np.asarray(actual, dtype=np.float64), np.asarray(expected, dtype=np.float64),
                               rtol=tol, atol=tol)
