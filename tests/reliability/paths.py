"""Running one program on every path and comparing each with the reference evaluator:
the machinery of `test_fuzz_differential.py`.

The paths: `ir.reference.evaluate` on `f.graph_for(dtype)` (the semantics), the numpy
backend `f(...)`, its `debug_nans` variant, and the Triton backend (TRITON_INTERPRET=1).

- Values agree bitwise (`np.array_equal(..., equal_nan=True)` and equal `np.signbit`, but
  for NaNs, whose sign bit means nothing), except where a backend computes a primitive
  with another formula (`OTHER_FORMULA`): there the bound is `ULPS` ulps of the largest
  magnitude of the reference run where that run is finite, and only errors, shapes and
  dtypes where it is not; and the signs of zeros from the primitives of `UNORDERED_ZEROS`.
- Errors agree: when the reference raises (a `DDIndexError`), every path raises the same
  class; a path raising anything else is a disagreement, printed with the program.
- The `debug_nans` contract, from `codegen/numpy/debug.py`: when it returns, it returns
  the reference's values (as the numpy backend must: the same rules, so bitwise but for
  matrix products); it raises `NumericsError` only if some float value of the reference
  run (an argument's or a node's) is not finite; and with finite arguments and a
  reference that does not raise, it raises exactly when some node makes a NaN, or an inf
  not computed from an infinite constant (inf in, inf out is no news).
"""
from __future__ import annotations

import numpy as np

import ddc
from ddc.codegen.numpy.fusion import lower as numpy_lowering
from ddc.errors import NumericsError
from ddc.ir import Graph
from ddc.ir.reference import evaluate
from ddc.passes.optimize import optimize

from .fuzzing import RAN


# Primitives a backend computes with another formula than the reference's, which changes
# rounding: the numpy backend's matrix products (and the sums of products its
# `sum_of_products` pass makes into them) are BLAS calls, another summation order with
# fused multiply-adds; Triton sums in tiles, its matrix products are `tl.dot`, and its
# tanh, log1p and pow are formulas of its own (`codegen/triton/runtime.py`: expm1-based tanh,
# exp(y * log|x|), x ** 3 as x * x * x). (On a GPU, tl.exp, tl.log, tl.sin and tl.cos are
# libdevice's too; under the interpreter, which the tests use, they are numpy's.)
# And the numpy backend's simplify makes x ** 2 into x * x, exact, where the reference's
# f32 np.power with an array exponent is 1 ulp off for 1 input in 10 (reported by h5).
OTHER_FORMULA = {"numpy": {"dot_general", "pow"}, "debug_nans": {"dot_general"},
                 "triton": {"dot_general", "reduce_sum", "tanh", "log1p", "pow"}}
# Primitives whose zeros' signs depend on the order a backend reduces in: the max of -0
# and +0 is the first one met (np.maximum's rule), and Triton meets them in tiles.
UNORDERED_ZEROS = {"numpy": set(), "debug_nans": set(), "triton": {"reduce_max"}}
# Where one is in the graph: how many ulps of the run's largest magnitude values may differ
# (a gradient amplifies a rounding difference: d/dx x**3 made 70 ulps of Triton's tiled sum).
ULPS = {"float32": 256, "float64": 256}


def assert_same(expected, got, what: str, context: str, how="bitwise") -> None:
    """Equal shapes and dtypes, and values: bitwise (`how` = "bitwise"), bitwise but for
    the signs of zeros ("zeros"), not at all ("shapes"), or, for `how` a float (the
    largest magnitude of the reference run), within `ULPS`: the same NaNs and infs, and
    finite values at most ULPS ulps of that magnitude apart, whatever the sign of a zero
    ((0 + 0) * -2 is -0; a tiled 0 * -2 + 0 * -2, summed from +0, is +0)."""
    expected, got = np.asarray(expected), np.asarray(got)
    assert got.shape == expected.shape and got.dtype == expected.dtype, \
        f"{what}: {got.dtype}{list(got.shape)}, the reference {expected.dtype}{list(expected.shape)}" \
        f"\n{context}"
    if how == "shapes":
        return
    if how in ("bitwise", "zeros") or expected.dtype.kind != "f":
        numbers = ~np.isnan(expected)  # a NaN's sign bit means nothing
        if how == "zeros":  # nor, here, a zero's
            numbers &= expected != 0
        same = (np.array_equal(expected, got, equal_nan=True)
                and np.array_equal(np.signbit(expected[numbers]), np.signbit(got[numbers])))
        bound = "bitwise"
    else:
        ulps = ULPS[expected.dtype.name]
        tolerance = ulps * float(np.finfo(expected.dtype).eps) * how
        finite = np.isfinite(expected) & np.isfinite(got)
        close = np.abs(expected - got, where=finite, out=np.zeros(expected.shape)) <= tolerance
        same = (np.array_equal(np.where(finite, 0, expected), np.where(finite, 0, got), equal_nan=True)
                and bool(close.all()))
        bound = f"{ulps} ulps of {how!r}"
    assert same, f"{what} differs from the reference ({bound})\n{context}\n" \
                 f"reference: {expected.tolist()!r}\n{what}: {got.tolist()!r}"


def outcome(call):
    """The path's outputs as a list of numpy arrays, or the exception it raised."""
    try:
        with np.errstate(all="ignore"):
            out = call()
    except Exception as e:  # a crash is a disagreement too, reported with the program
        return e
    out = out if isinstance(out, (tuple, list)) else (out,)
    flat = []
    for o in out:
        flat.extend(o if isinstance(o, tuple) else (o,))
    return [o.cpu().numpy() if hasattr(o, "cpu") else np.asarray(o) for o in flat]


def assert_agrees(expected, got, what: str, context: str, how="bitwise") -> None:
    if isinstance(expected, Exception) or isinstance(got, Exception):
        assert type(got) is type(expected), \
            f"{what} gave {got!r}, the reference {expected!r}\n{context}"
        return
    assert len(got) == len(expected), context
    for e, g in zip(expected, got):
        assert_same(e, g, what, context, how)


def debug_must_raise(graph, args) -> bool | None:
    """Whether the debug_nans variant must raise on `args`, by the contract above; None
    when that is not decided (the arguments are not finite, or the reference raises)."""
    values = evaluate_all(graph, args)
    if values is None or not all(np.isfinite(a).all() for a in args if a.dtype.kind == "f"):
        return None
    from_inf: set[int] = set()  # float values computed from an infinite constant
    for node in graph.nodes:
        value = values[node.out.id]
        if value.dtype.kind != "f":
            continue
        if node.prim.name == "constant":
            if not np.isfinite(value).all():
                from_inf.add(node.out.id)
        elif any(v.id in from_inf for v in node.inputs):
            from_inf.add(node.out.id)
            if np.isnan(value).any():
                return True
        elif not np.isfinite(value).all():
            return True
    return False


def evaluate_all(graph, args) -> dict | None:
    """Every value of the reference run, by value id (None if the reference raises)."""
    probe = Graph(graph.inputs, graph.nodes, [n.out for n in graph.nodes], graph.name)
    try:
        with np.errstate(all="ignore"):
            outs = evaluate(probe, *args)
    except ddc.DDError:
        return None
    return {n.out.id: o for n, o in zip(graph.nodes, outs)}


def check_debug_nans(f, graph, args, expected, context: str) -> None:
    with ddc.config(debug_nans=True):
        got = outcome(lambda: f(*args))
    must_raise = debug_must_raise(graph, args)
    if isinstance(got, NumericsError):
        assert must_raise is not False, f"debug_nans raised {got}, but every value is finite\n{context}"
        RAN["differential: debug_nans raised NumericsError"] += 1
        return
    assert not must_raise, f"debug_nans returned, but the reference run makes a NaN or inf\n{context}"
    assert_agrees(expected, got, "debug_nans", context, comparison(graph, args, "debug_nans"))


def check_paths(f, dtype, args, context: str, triton: bool) -> None:
    """f on every path against the reference, on one set of arguments."""
    graph = f.graph_for(dtype)
    expected = outcome(lambda: evaluate(graph, *args))
    if isinstance(expected, Exception):
        context += f"\nthe reference raised {expected!r}"
    check_backend(f, graph, args, expected, "numpy", context)
    check_debug_nans(f, graph, args, expected, context)
    if triton:
        check_backend(ddc.jit(f, backend="triton"), graph, args, expected, "triton", context)


def check_backend(f, graph, args, expected, backend: str, context: str) -> None:
    got = outcome(lambda: f(*args))
    assert_agrees(expected, got, backend, context, comparison(graph, args, backend))


def comparison(graph, args, backend: str):
    """How a backend's values must agree: bitwise, unless the graph it runs holds a
    primitive it computes with another formula (`OTHER_FORMULA`): then to `ULPS` of the
    reference run's largest magnitude where that run is finite, and only in errors,
    shapes and dtypes where it is not (an inf or NaN may come of the other rounding)."""
    run = numpy_lowering(optimize(graph)) if backend == "numpy" else graph  # numpy: sum(x * y) is a product
    held = {n.prim.name for n in [*graph.nodes, *run.nodes]}
    if not OTHER_FORMULA[backend] & held:
        return "zeros" if UNORDERED_ZEROS[backend] & held else "bitwise"
    scale = reference_scale(graph, args)
    if scale is None:
        RAN[f"differential: {backend}, another formula on non-finite values: shapes compared"] += 1
        return "shapes"
    return scale


def reference_scale(graph, args) -> float | None:
    """The largest magnitude among the reference run's values, None if one is not finite."""
    values = evaluate_all(graph, args)
    if values is None:
        return 0.0  # the reference raises: only errors are compared
    floats = [np.abs(v) for v in [*values.values(), *args] if v.dtype.kind == "f" and v.size]
    if not all(np.isfinite(v).all() for v in floats):
        return None
    return float(max((v.max() for v in floats), default=0.0))
