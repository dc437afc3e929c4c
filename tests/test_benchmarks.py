"""The benchmark's workloads at small sizes: ddc's loss and gradient (from the .dd files)
against the hand-written numpy forward and analytic backward the benchmark times."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

import ddc

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from workloads import WORKLOADS

@pytest.mark.parametrize("workload", WORKLOADS, ids=lambda w: w.name)
def test_ddc_matches_the_hand_written_numpy(workload):
    inputs = workload.make_inputs(np.random.default_rng(0), **workload.small)
    forward = getattr(ddc.load(workload.path), workload.function)
    grads = ddc.grad(forward, argnums=workload.argnums)(*inputs)
    grads = grads if isinstance(grads, tuple) else (grads,)
    np.testing.assert_allclose(forward(*inputs), workload.numpy_forward(*inputs), rtol=2e-5)
    for got, want in zip(grads, workload.numpy_grad(*inputs), strict=True):
        assert got.shape == want.shape and got.dtype == np.float32
        np.testing.assert_allclose(got, want, rtol=2e-4, atol=2e-6 * np.abs(want).max())


def test_the_ceiling_calls_compute_the_same_numbers_in_every_library():
    """What `ceilings.py` times is the same computation in each library (jax if installed)."""
    from ceilings import elementwise_calls, product_calls

    rng = np.random.default_rng(1)
    x = rng.standard_normal((300, 50), dtype=np.float32)
    y = np.abs(rng.standard_normal((300, 50), dtype=np.float32)) + np.float32(0.5)
    for op, calls in elementwise_calls(x, y).items():
        want = calls["numpy"]()
        assert {"numpy", "ddc", "torch"} <= set(calls)
        for lib, call in calls.items():
            np.testing.assert_allclose(np.asarray(call()), want, rtol=2e-6, atol=1e-7, err_msg=f"{op} {lib}")
    calls = product_calls(20, 7, 9, rng)
    for lib, call in calls.items():
        np.testing.assert_allclose(np.asarray(call()), calls["numpy"](), rtol=1e-5, err_msg=lib)
