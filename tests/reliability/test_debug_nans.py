"""`ddc.config(debug_nans=True)`: the first node that makes a NaN (or an inf from finite
values) raises NumericsError at its source line; the checking code is a separate,
separately cached variant, so the normal code and its results are unchanged."""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

import ddc
from ddc import NumericsError, ir, stdlib
from ddc.cli import main

SOURCE = """\
def two_nans(x: f32[n]) -> f32:
    r = sqrt(-x)
    l = log(-x)
    return sum(r + l)

def masked(s: f64[n, n]) -> f64[n]:
    hidden = where(s > 0.5, -1e400, s)
    return max(hidden, axis=1)

def cancels(s: f64[n]) -> f64:
    big = where(s > 0.0, 1e400, s)
    return sum(big - big)

def norm(x: f64[n]) -> f64:
    return sqrt(sum(x * x))

def rows(z: f64[n, c], y: i32[n]) -> f64:
    return -mean(log(z[arange(n), y]))
"""


@pytest.fixture(scope="module")
def m():
    return ddc.loads(SOURCE, name="nans.dd")


def nans_error(call) -> NumericsError:
    with ddc.config(debug_nans=True), pytest.raises(NumericsError) as info:
        call()
    return info.value


def test_the_first_node_that_makes_a_nan_is_named_with_its_line(m):
    err = nans_error(lambda: m.two_nans(np.array([1.0, 2.0], np.float32)))
    assert (err.file, err.line, err.col) == ("nans.dd", 2, 9)
    assert err.message.startswith("sqrt(f32[n]) produced a NaN (computing r)") and "clamp" in err.hint
    assert "   2 |     r = sqrt(-x)\n" in str(err) and str(err).splitlines()[2].endswith("^^^^^^^^")


def test_an_inf_from_an_inf_is_no_news_but_a_nan_from_infs_is(m):
    s = np.array([[0.1, 0.9], [0.2, 0.3]])
    with ddc.config(debug_nans=True):
        np.testing.assert_allclose(m.masked(s), [0.1, 0.3])
        np.testing.assert_allclose(m.masked(np.ones((2, 2))), [-np.inf, -np.inf])
    err = nans_error(lambda: m.cancels(np.array([1.0, -1.0])))
    assert (err.line, err.col) == (12, 16) and err.message.startswith("sub(f64[n], f64[n]) produced a NaN")


def test_a_nan_in_a_derivative_points_at_the_line_it_differentiates(m):
    with np.errstate(all="ignore"):
        assert np.isnan(ddc.grad(m.norm)(np.zeros(3))).all()  # unchecked, 0/0 passes silently
    err = nans_error(lambda: ddc.grad(m.norm)(np.zeros(3)))
    assert (err.line, err.col) == (15, 12) and "in a derivative" in err.message


def test_nan_arguments_are_reported_as_such(m):
    err = nans_error(lambda: m.norm(np.array([1.0, np.inf])))
    assert err.message == "argument 'x' of norm contains an inf" and err.line == 14


def test_values_are_the_same_with_and_without_checks(m):
    rng = np.random.default_rng(0)
    z, y = rng.uniform(0.1, 1.0, (5, 3)), rng.integers(0, 3, 5).astype(np.int32)
    functions = [(m.rows, (z, y)), (ddc.grad(m.rows), (z, y)), (ddc.vmap(m.norm), (z,))]
    losses = stdlib.load("losses")
    functions += [(losses.cross_entropy, (z, y)), (ddc.grad(losses.supcon), (z, y, 0.5))]
    for f, args in functions:
        plain = f(*args)
        with ddc.config(debug_nans=True):
            checked = f(*args)
        np.testing.assert_allclose(checked, plain, rtol=1e-12, atol=1e-15)


def test_the_checking_code_is_a_separate_variant(m):
    plain = m.norm.compiled(ir.f64).source
    with ddc.config(debug_nans=True):
        checked = m.norm.compiled(ir.f64).source
        assert m.norm.compiled(ir.f64).source is checked  # cached
    assert "isfinite" in checked and "isfinite" not in plain
    assert m.norm.compiled(ir.f64).source is plain  # the normal code is untouched
    assert ddc.config.debug_nans is False


def test_config_rejects_unknown_options_and_values():
    with pytest.raises(TypeError, match="no option 'debug_nan'"):
        ddc.config(debug_nan=True)
    with pytest.raises(TypeError, match="True or False"):
        ddc.config(debug_nans=1)
    ddc.config(debug_nans=True)
    try:
        assert ddc.config.debug_nans is True
    finally:
        ddc.config(debug_nans=False)


def test_the_environment_variable_turns_checks_on():
    code = ("import numpy as np, ddc\n"
            "f = ddc.loads('def f(x: f32) -> f32:\\n    return log(x)\\n', name='env.dd').f\n"
            "print(ddc.config.debug_nans)\n"
            "try:\n    f(np.float32(-1))\nexcept ddc.NumericsError as e:\n    print(e.line, e.col)\n")
    env = {**os.environ, "DDC_DEBUG_NANS": "1"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert out.split() == ["True", "2", "12"]


def test_the_cli_prints_it_like_any_error(m, tmp_path, capsys):
    path = tmp_path / "nans.dd"
    path.write_text(SOURCE)
    np.save(tmp_path / "x.npy", np.array([1.0, np.nan]))
    with ddc.config(debug_nans=True):
        status = main(["run", str(path), "norm", "--arg", f"x={tmp_path / 'x.npy'}"])
    err = capsys.readouterr().err
    assert status == 1 and "Traceback" not in err
    assert err.startswith(f"{path}:14:1: numerics error: argument 'x' of norm contains a NaN")
