"""Every primitive on the values that are easy to get wrong, on every path.

For each registered primitive (`ir.PRIMITIVES`: a new one without a row here fails
`test_every_primitive_has_special_value_cases`), a graph of that one primitive runs on
NaN, ±0, ±inf, ±1, the smallest subnormal and normal numbers, the largest finite number
and ordinary values (every pair of them for binary primitives), and on empty shapes,
through the numpy backend, its debug_nans variant (on the cases where no value is NaN or
inf, so where it must not raise) and the Triton backend (under its interpreter without a
GPU). Each result is compared with the reference evaluator (`ir/reference.py`, the IR's
semantics) bit for bit: the same values, NaN where it has NaN, and the same sign on every
number that is not NaN (a NaN's sign bit is not a value).

Where a backend computes a primitive by another documented formula, `ULPS` gives its
bound in units in the last place at the finite values, and the special values must still
match exactly.
"""
from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest

from ddc import ir
from ddc.codegen import compile_graph
from ddc.codegen.numpy.debug import compile_checked
from ddc.ir import Builder, TensorType, Value, bool_, f32, f64, i32, i64
from ddc.ir.reference import evaluate
from tests.backends import GPU_ULPS, interpreted, mismatches

# -- the values ----------------------------------------------------------------------------


def float_values(dtype: np.dtype) -> np.ndarray:
    info = np.finfo(dtype)
    positive = [0.0, info.smallest_subnormal, info.tiny, 0.5, 1.0, 2.5, 7.0, info.max, np.inf]
    return np.array([np.nan] + [-v for v in positive] + positive, dtype)


def int_values(dtype: np.dtype) -> np.ndarray:
    info = np.iinfo(dtype)
    return np.array([info.min, info.min + 1, -7, -2, -1, 0, 1, 2, 7, info.max - 1, info.max], dtype)


def values(dtype: ir.DType, small: bool = False) -> np.ndarray:
    """The values to try; `small`: only those of magnitude at most 7 (no NaN, inf or
    extremes), where debug_nans runs."""
    v = float_values(dtype.np) if dtype.is_float else int_values(dtype.np)
    return v[np.abs(v.astype(np.float64)) <= 7] if small else v


def pairs(dtype: ir.DType, small: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Every (x, y) of `values(dtype, small)`, as two flat arrays."""
    v = values(dtype, small)
    x, y = np.meshgrid(v, v, indexing="ij")
    return x.reshape(-1), y.reshape(-1)


# -- the cases: (graph, arguments) for each primitive, for each dtype it takes -------------

@dataclass
class Case:
    name: str
    build: Callable[..., Value]
    types: list[TensorType]
    args: list[np.ndarray]

    def graph(self) -> ir.Graph:
        b = Builder()
        inputs = [Value(t, f"a{i}") for i, t in enumerate(self.types)]
        return ir.verify(b.graph(inputs, [self.build(b, *inputs)], self.name))


def T(dtype, *shape) -> TensorType:
    return TensorType(dtype, shape)


N = ir.Sym.name("n")
FLOATS, INTS = (f32, f64), (i32, i64)


def _elementwise(prim: str, dtypes, arity: int, **params) -> list[Case]:
    cases = []
    tag = "".join(f"-{v}" for v in params.values())
    for dtype in dtypes:
        build = lambda b, *xs: b.bind(prim, *xs, **params)  # noqa: E731
        for small, suffix in ((False, ""), (True, "-small")):
            args = [values(dtype, small)] if arity == 1 else list(pairs(dtype, small))
            cases.append(Case(f"{prim}-{dtype}{tag}{suffix}", build, [T(dtype, N)] * arity, args))
        empty = [np.zeros(0, dtype.np)] * arity
        cases.append(Case(f"{prim}-{dtype}{tag}-empty", build, [T(dtype, N)] * arity, empty))
    return cases


def _select_cases() -> list[Case]:
    cases = []
    for dtype in (*FLOATS, *INTS):
        x, y = pairs(dtype)
        pred = np.arange(x.size) % 3 == 0
        cases.append(Case(f"select-{dtype}", lambda b, p, x, y: b.select(p, x, y),
                          [T(bool_, N), T(dtype, N), T(dtype, N)], [pred, x, y]))
    return cases


def _convert_cases() -> list[Case]:
    cases = []
    for source, target in itertools.product((*FLOATS, *INTS, bool_), (*FLOATS, *INTS, bool_)):
        if source == target:
            continue
        x = np.array([False, True]) if source.is_bool else values(source)
        if source.is_float:  # and the edges of each int type's range
            edges = [float(np.iinfo(t.np).min) for t in INTS] + [float(np.iinfo(t.np).max) for t in INTS]
            x = np.concatenate([x, np.array(edges + [-e for e in edges] + [1e10, -1e10, 2.7, -2.7], source.np)])
        cases.append(Case(f"convert-{source}-{target}", lambda b, x, t=target: b.convert(x, dtype=t),
                          [T(source, N)], [x]))
    return cases


def _reduce_cases(prim: str) -> list[Case]:
    cases = []
    for dtype in (*FLOATS, *INTS):
        v = values(dtype)
        if dtype.is_float and prim == "reduce_sum":  # sums exact in any order: no overflow, no rounding
            v = v[np.isin(np.abs(v), [0.0, 1.0, 2.5, 7.0, np.inf]) | np.isnan(v)]
        if dtype.is_int and prim == "reduce_sum":
            v = v[np.abs(v.astype(np.float64)) < 100]
        rows = np.array([[a, b, c] for a, b, c in itertools.product(v, repeat=3)], dtype.np)
        build = lambda b, x: b.bind(prim, x, axes=(1,))  # noqa: E731
        cases.append(Case(f"{prim}-{dtype}", build, [T(dtype, N, 3)], [rows]))
        cases.append(Case(f"{prim}-{dtype}-empty-axis", build, [T(dtype, N, 0)], [np.zeros((4, 0), dtype.np)]))
        cases.append(Case(f"{prim}-{dtype}-empty-rows", build, [T(dtype, N, 3)], [np.zeros((0, 3), dtype.np)]))
    return cases


def _dot_cases() -> list[Case]:
    cases = []
    for dtype in FLOATS:
        x, y = pairs(dtype)  # one product per row: no rounding in a sum
        build = lambda b, x, y: b.dot_general(x, y, contract=((1,), (0,)), batch=((0,), (1,)))  # noqa: E731
        cases.append(Case(f"dot_general-{dtype}", build, [T(dtype, N, 1), T(dtype, 1, N)],
                          [x.reshape(-1, 1), y.reshape(1, -1)]))
        matmul = lambda b, x, y: b.dot_general(x, y, contract=((1,), (0,)), batch=((), ()))  # noqa: E731
        cases.append(Case(f"dot_general-{dtype}-empty-contraction", matmul, [T(dtype, N, 0), T(dtype, 0, 3)],
                          [np.zeros((2, 0), dtype.np), np.zeros((0, 3), dtype.np)]))
    return cases


def _moves() -> list[Case]:
    """The primitives that move values: each must keep every value's bits."""
    cases = []
    for dtype in (f32, i32):
        v = values(dtype)
        n = v.size
        grid = np.concatenate([v, v[::-1]]).reshape(2, n)
        cases += [
            Case(f"broadcast_in_dim-{dtype}", lambda b, x: b.broadcast_in_dim(x, shape=(2, N), broadcast_dimensions=(1,)),
                 [T(dtype, N)], [v]),
            Case(f"reshape-{dtype}", lambda b, x: b.reshape(x, shape=(2 * N,)), [T(dtype, 2, N)], [grid]),
            Case(f"transpose-{dtype}", lambda b, x: b.transpose(x, permutation=(1, 0)), [T(dtype, 2, N)], [grid]),
            Case(f"slice-{dtype}", lambda b, x: b.slice(x, start=(0, 1), limit=(2, N), stride=(1, 1)),
                 [T(dtype, 2, N)], [grid]),
            Case(f"pad-{dtype}", lambda b, x: b.pad(x, low=(1,), high=(2,), interior=(0,)), [T(dtype, N)], [v]),
            Case(f"concatenate-{dtype}", lambda b, x, y: b.concatenate(x, y, axis=0),
                 [T(dtype, N), T(dtype, 2)], [v, v[:2]]),
            Case(f"gather-{dtype}", lambda b, x, i: b.gather(x, i, axis=0, batch_dims=0),
                 [T(dtype, N), T(i32, 2 * N)], [v, np.arange(2 * n, dtype=np.int32)[::-1] % n]),
            Case(f"scatter_add-{dtype}", lambda b, u, i: b.scatter_add(u, i, axis=0, batch_dims=0, shape=(N,)),
                 [T(dtype, N), T(i32, N)], [v, np.arange(n, dtype=np.int32)[::-1]]),
            Case(f"scatter_add-{dtype}-rows",  # one update per row: Triton places it without adding
                 lambda b, u, i: b.scatter_add(u, i, axis=1, batch_dims=1, shape=(N, 3)),
                 [T(dtype, N), T(i32, N)], [v, np.arange(n, dtype=np.int32) % 3]),
            Case(f"stop_gradient-{dtype}", lambda b, x: b.stop_gradient(x), [T(dtype, N)], [v]),
            Case(f"slice-{dtype}-empty", lambda b, x: b.slice(x, start=(0, 0), limit=(2, N), stride=(1, 1)),
                 [T(dtype, 2, N)], [np.zeros((2, 0), dtype.np)]),
            Case(f"gather-{dtype}-empty", lambda b, x, i: b.gather(x, i, axis=0, batch_dims=0),
                 [T(dtype, N), T(i32, 0)], [v, np.zeros(0, np.int32)]),
        ]
    return cases


def _constants() -> list[Case]:
    cases = []
    for dtype in (*FLOATS, *INTS):
        for k, value in enumerate(values(dtype).tolist()):
            cases.append(Case(f"constant-{dtype}-{k}", lambda b, x, v=value: b.full(v, x.type),
                              [T(dtype, N)], [np.zeros(2, dtype.np)]))
    cases.append(Case("iota-i32", lambda b, x: b.iota(shape=(N, 2), dimension=0, dtype=i32), [T(f32, N)],
                      [np.zeros(5, np.float32)]))
    cases.append(Case("iota-f32-empty", lambda b, x: b.iota(shape=(N,), dimension=0, dtype=f32), [T(f32, N)],
                      [np.zeros(0, np.float32)]))
    return cases


def _all_cases() -> dict[str, list[Case]]:
    table: dict[str, list[Case]] = {}
    for prim in ir.primitives.UNARY_FLOAT:
        table[prim] = _elementwise(prim, FLOATS, 1)
    for prim in ir.primitives.UNARY_ANY:
        table[prim] = _elementwise(prim, (*FLOATS, *INTS), 1)
    for prim in ir.primitives.BINARY_ARITH:
        table[prim] = _elementwise(prim, (*FLOATS, *INTS), 2)
    for prim in ir.primitives.BINARY_FLOAT:
        table[prim] = _elementwise(prim, FLOATS, 2)
    table["integer_pow"] = [c for y in (-3, -2, -1, 0, 1, 2, 3, 5, 8)
                            for c in _elementwise("integer_pow", FLOATS, 1, y=y)]
    table["compare"] = [c for d in ir.primitives.COMPARE_DIRECTIONS
                        for c in _elementwise("compare", (*FLOATS, *INTS), 2, direction=d)]
    table["select"] = _select_cases()
    table["convert"] = _convert_cases()
    table["reduce_sum"] = _reduce_cases("reduce_sum")
    table["reduce_max"] = _reduce_cases("reduce_max")
    table["dot_general"] = _dot_cases()
    for case in _moves() + _constants():
        table.setdefault(case.name.split("-")[0], []).append(case)
    return table


CASES = _all_cases()
ALL = [c for cases in CASES.values() for c in cases]

# -- what a backend may do differently, and by how much ------------------------------------

# (backend, primitive, dtype) -> largest error in ulps at finite values, where the backend
# uses another formula than the reference's numpy call (the special values must still match
# exactly). Triton's pow is exp(y * log|x|): in f64 for f32 operands (1 ulp), and in f64
# for f64 ones, which loses about |y * ln|x|| ulps (up to ~710 at the ends of the range);
# tanh and log1p are built from exp and log (triton_runtime). The bounds are the largest
# errors seen on 200,000 values spread over 12 orders of magnitude, plus one. Under
# Triton's interpreter, exp, log, sqrt, sin and cos are numpy's own; on a GPU they are
# CUDA's (within 2 ulps, more for f32 exp and log of large arguments: not measured here).
# erf is `tl.math.erf`: under the interpreter `math.erf` per element, the reference's own
# (0 ulps, so no entry); on a GPU libdevice's `erf`/`erff`, 2 ulps by CUDA's documentation,
# inside GPU_ULPS.
ULPS = {
    ("triton", "pow", "f32"): 1, ("triton", "pow", "f64"): 1024,
    ("triton", "tanh", "f32"): 6, ("triton", "tanh", "f64"): 4,
    ("triton", "log1p", "f32"): 5, ("triton", "log1p", "f64"): 3,
}


# (backend, primitive) whose zeros may differ in sign from the reference's: numpy's
# maximum.reduce gives the later of two equal values, so the max of +0.0 and -0.0 follows
# the reduction order, which Triton's tree does not share. (JAX gives +0.0 there.)
ZERO_SIGN_FREE = {("triton", "reduce_max")}


def run_case(case: Case, path: str):
    graph = case.graph()
    if path == "numpy":
        return compile_graph(graph, "numpy")(*case.args)
    if path == "debug_nans":
        return compile_checked(graph)(*case.args)
    return compile_graph(graph, "triton")(*case.args)


def finite_case(case: Case) -> bool:
    """No argument and no reference value is NaN or inf: debug_nans must not raise."""
    def finite(a):
        a = np.asarray(a)
        return a.dtype.kind != "f" or bool(np.isfinite(a).all())

    return all(finite(a) for a in case.args) and all(finite(w) for w in evaluate(case.graph(), *case.args))


def _check(case: Case, path: str, backend: str):
    (want,) = evaluate(case.graph(), *case.args)
    prim = case.name.split("-")[0]
    ulps = ULPS.get((backend, prim, case.name.split("-")[1]), 0)
    if backend == "triton" and not interpreted():
        ulps = max(ulps, GPU_ULPS)
    bad = mismatches(run_case(case, path), want, ulps, (backend, prim) not in ZERO_SIGN_FREE)
    assert not bad, f"{case.name} on {path}: " + "; ".join(bad)


# -- the tests -----------------------------------------------------------------------------

def test_every_primitive_has_special_value_cases():
    missing = sorted(set(ir.PRIMITIVES) - set(CASES))
    assert not missing, f"primitives without special-value cases here: {missing}"


@pytest.mark.parametrize("case", ALL, ids=lambda c: c.name)
def test_numpy_backend_matches_the_reference(case):
    _check(case, "numpy", "numpy")


@pytest.mark.parametrize("case", [c for c in ALL if finite_case(c)], ids=lambda c: c.name)
def test_debug_nans_variant_matches_the_reference(case):
    _check(case, "debug_nans", "numpy")


@pytest.mark.parametrize("case", ALL, ids=lambda c: c.name)
def test_triton_backend_matches_the_reference(case):
    _check(case, "triton", "triton")
