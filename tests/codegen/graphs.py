"""Small helpers for the codegen tests: build a one-output graph, compare with numpy."""
from __future__ import annotations

import numpy as np

from ddc import ir
from ddc.codegen.numpy.backend import compile


def make_graph(build, *types, names=None, name="f") -> ir.Graph:
    """A graph whose inputs have `types` (named `names`, default a0, a1, ...) and whose
    outputs are what `build(b, *inputs)` returns (a value or a tuple of values)."""
    b = ir.Builder()
    names = names or [f"a{i}" for i in range(len(types))]
    inputs = [ir.Value(t, n) for t, n in zip(types, names)]
    out = build(b, *inputs)
    outputs = list(out) if isinstance(out, tuple) else [out]
    return ir.verify(b.graph(inputs, outputs, name))


def tolerance(dtype) -> dict:
    dtype = np.dtype(dtype)
    if dtype == np.float32:
        return {"rtol": 2e-5, "atol": 2e-6}
    if dtype == np.float64:
        return {"rtol": 1e-12, "atol": 1e-12}
    return {"rtol": 0, "atol": 0}


def assert_output(got, value: ir.Value, want, sizes: dict[str, int]):
    """`got` is a fresh ndarray of the value's declared dtype and shape, close to `want`."""
    assert isinstance(got, np.ndarray)
    assert got.dtype == value.dtype.np
    assert got.shape == tuple(ir.dims.evaluate(d, sizes) for d in value.shape)
    np.testing.assert_allclose(got, np.asarray(want).astype(got.dtype), **tolerance(got.dtype))


def run(graph: ir.Graph, *args):
    return compile(graph)(*args)
