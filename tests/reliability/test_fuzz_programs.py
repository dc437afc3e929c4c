"""Fuzzing with random well-typed programs (`programs.py`): each one compiles, its result
equals a direct numpy evaluation of the same expression tree (in f64 closely, in f32 to
f32's precision and with f32 results, and under `debug_nans`, whose checking code is
written separately, exactly), and its derivatives pass `check_grads`."""
from __future__ import annotations

import numpy as np
from hypothesis import given

import ddc
from ddc.testing import check_grads

from .fuzzing import RAN, fuzz_settings
from .programs import programs


@fuzz_settings(ci_examples=80)
@given(programs())
def test_fuzz_random_programs_match_numpy_and_finite_differences(program):
    RAN["random programs vs numpy and finite differences"] += 1
    f = ddc.loads(program.source, name="fuzzed.dd").f
    scale = max(1.0, program.out.bound)  # the largest magnitude any value may have

    args = program.arguments(np.float64)
    expected = program.expected(args)
    got = f(*args)
    assert np.shape(got) == np.shape(expected) and np.asarray(got).dtype == np.float64
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12 * scale, err_msg=program.source)
    with ddc.config(debug_nans=True):  # no NaN or inf: the domains are smooth
        np.testing.assert_allclose(f(*args), got, rtol=1e-12, atol=1e-14 * scale, err_msg=program.source)

    args32 = program.arguments(np.float32)
    got32 = f(*args32)
    assert np.asarray(got32).dtype == np.float32, program.source
    widened = [a.astype(np.float64) if a.dtype == np.float32 else a for a in args32]
    np.testing.assert_allclose(got32, program.expected(widened),
                               rtol=1e-3, atol=1e-4 * scale, err_msg=program.source)

    check_grads(f, args, order=1, atol=1e-6 * scale)
