"""DDC_DEBUG=1 prints the graph after every pass, each under the pass's name."""
from __future__ import annotations

import re

import numpy as np

import ddc


def test_each_pass_of_a_batched_gradient_is_named(monkeypatch, capsys):
    monkeypatch.setenv("DDC_DEBUG", "1")
    m = ddc.loads("def f(x: f64[3]) -> f64:\n    return sum(exp(x) * x)\n")
    batched = ddc.vmap(ddc.grad(m.f))
    x = np.arange(6.0).reshape(2, 3)
    np.testing.assert_allclose(batched(x), np.exp(x) * (x + 1), rtol=1e-15)
    traced = re.findall(r"^# after (\w+)\ngraph ", capsys.readouterr().err, re.M)
    for name in ("jvp", "linearize", "transpose", "cse", "simplify", "dce", "grad", "vmap"):
        assert name in traced, (name, traced)
    assert traced.index("grad") < traced.index("vmap")  # the batching runs on the gradient
