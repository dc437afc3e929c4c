"""Dim parameters: a standalone linear or backward graph takes the dims no input binds
from its caller, so `vjp`/`linearize` closures hold only the residuals they read."""
from __future__ import annotations

import numpy as np
import pytest

import ddc
from ddc.errors import IRError
from ddc.ir import parse_graph, verify
from ddc.passes import autodiff
from ddc.passes.linearize import linearize

SOURCE = """
def total(x: f64[n, d]) -> f64:
    return sum(x)

def scaled(x: f64[n, d], w: f64[d]) -> f64:
    return sum(x * w)

def first_row_sq(x: f64[n, d]) -> f64:
    return sum(x[0, :] ** 2)
"""


@pytest.fixture(scope="module")
def m():
    return ddc.loads(SOURCE)


def _arrays(closure) -> list[np.ndarray]:
    return [a for a in closure.bound if not isinstance(a, int)]


def test_vjp_of_sum_holds_no_array_of_its_input(m):
    x = np.arange(12.0).reshape(3, 4)
    value, back = ddc.vjp(m.total, x)
    assert value == x.sum()
    assert _arrays(back) == [], back.bound
    assert back.bound == (4, 3)  # d, n: the backward graph's dim parameters, sorted
    np.testing.assert_array_equal(back(2.0), np.full((3, 4), 2.0))


def test_closures_hold_only_the_residuals_the_backward_graph_reads(m):
    x, w = np.arange(12.0).reshape(3, 4), np.arange(4.0)
    _, back = ddc.vjp(m.scaled, x, w)
    # every array held is a residual input of the backward graph
    assert len(_arrays(back)) == len(back.graph.inputs) - 1
    gx, gw = back(1.0)
    np.testing.assert_array_equal(gx, np.broadcast_to(w, (3, 4)))
    np.testing.assert_array_equal(gw, x.sum(0))
    _, back = ddc.vjp(m.first_row_sq, x)
    assert all(a.size < x.size for a in _arrays(back))
    np.testing.assert_array_equal(back(1.0), np.vstack([2 * x[0], np.zeros((2, 4))]))
    _, lin = ddc.linearize(m.total, x)
    assert _arrays(lin) == [] and lin(np.ones_like(x)) == 12.0


def test_linearize_keeps_no_input_for_its_shape(m):
    g = m.total.graph
    lin = linearize(g)
    assert lin.num_residuals == 0
    v = autodiff.vjp(g)
    assert v.num_residuals == 0 and v.backward.dim_params() == ("d", "n")
    assert not [n for n in v.primal.nodes if n.prim.name == "slice"]


def test_backward_graph_prints_and_parses_back(m):
    back = verify(autodiff.vjp(m.total.graph).backward)
    text = str(back)
    assert text.startswith("graph vjp_total[d,n](%ct:f64[]):")
    again = parse_graph(text)
    assert str(again) == text and again.dim_params() == ("d", "n")


@pytest.mark.parametrize("header, message", [
    ("graph g(%ct:f64[]):", r"declares dim parameters \[none\].*\[n\]"),
    ("graph g[m,n](%ct:f64[]):", r"declares dim parameters \[m, n\].*\[n\]"),
])
def test_parser_checks_the_declared_dim_parameters(header, message):
    body = "\n  %0:f64[n] = broadcast_in_dim[shape=(n,), broadcast_dimensions=()] %ct\n  return %0\n"
    with pytest.raises(IRError, match=message) as e:
        parse_graph(header + body)
    assert e.value.span.line == 1


def test_an_input_axis_binds_a_dim_before_any_parameter_does():
    text = ("graph g(%x:f64[n]):\n"
            "  %0:f64[n] = neg %x\n"
            "  return %0\n")
    assert parse_graph(text).dim_params() == ()


def test_dim_parameters_run_on_every_backend(m):
    x = np.arange(6.0).reshape(2, 3)
    for backend in ("numpy", "triton"):
        _, closure = ddc.vjp(ddc.jit(m.first_row_sq, backend=backend), x)
        assert closure.bound[0] == 2
        got = np.asarray(closure(1.0))
        np.testing.assert_array_equal(got, np.vstack([2 * x[0], np.zeros((1, 3))]))
    with ddc.config(debug_nans=True):
        _, closure = ddc.vjp(m.total, x)
        np.testing.assert_array_equal(closure(3.0), np.full((2, 3), 3.0))


def test_a_dim_parameter_is_checked_at_call_time(m):
    x = np.arange(12.0).reshape(3, 4)
    _, back = ddc.vjp(m.first_row_sq, x)
    n, row = back.bound
    assert n == 3 and row.shape == (4,)
    with pytest.raises(ddc.CallError, match=r"dim parameter n is 2\.5, expected an int >= 0"):
        back.fn(2.5, row, 1.0)
    with pytest.raises(ddc.CallError, match="dim parameter n is -1"):
        back.fn(-1, row, 1.0)
    with pytest.raises(ddc.DDIndexError, match="needs n >= 1, got n = 0"):
        back.fn(0, row, 1.0)


def test_a_backward_graph_exports_as_a_standalone_module(m, tmp_path):
    from ddc.codegen.numpy.backend import module_source

    back = autodiff.vjp(m.total.graph).backward
    namespace: dict = {}
    exec(compile(module_source(back, "total_vjp"), str(tmp_path / "total_vjp.py"), "exec"), namespace)
    np.testing.assert_array_equal(namespace["total_vjp"](4, 3, 2.0), np.full((3, 4), 2.0))
