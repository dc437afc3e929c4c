"""`ddc.testing.check_grads` checks f32 programs' derivatives in f64, and `import ddc` is
enough to reach it."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import ddc
from ddc.ir import f32, f64
from ddc.passes.widen import widen

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "mlp.dd"



def test_import_ddc_is_enough_for_testing():
    code = "import ddc; print(ddc.testing.check_grads.__name__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "check_grads"


def test_the_readme_mlp_passes_check_grads_at_order_2():
    m = ddc.load(EXAMPLE)
    rng = np.random.default_rng(0)
    W1, b1, W2 = rng.standard_normal((3, 8)), rng.standard_normal(8), rng.standard_normal((8, 2))
    x, y = rng.standard_normal((4, 3)).astype(np.float32), np.array([0, 1, 1, 0], np.int32)
    assert m.loss.graph.inputs[0].dtype == f32
    ddc.testing.check_grads(m.loss, [W1, b1, W2, x, y], order=2)
    ddc.testing.check_grads(m.mlp, [x, W1, b1, W2], order=2)
    ddc.testing.check_grads(ddc.grad(m.loss, argnums=(2, 0)), [W1, b1, W2, x, y], order=1)


def test_widen_respecialises_an_f32_graph_at_f64():
    source = """
def f(x: f32[n], k: i32[n]) -> f32:
    z = astype(k, f32) * tanh(x) + 0.1 + astype(astype(x, f64), f32)
    return sum(z * z)
"""
    m32 = ddc.loads(source)
    m64 = ddc.loads(source.replace("f32", "f64"))
    wide = widen(m32.f.graph)
    assert "f32" not in str(wide)
    assert str(wide) == str(m64.f.graph_for(f64))
    x, k = np.linspace(-1, 1, 5), np.arange(5, dtype=np.int32)
    from ddc.codegen import compile_graph
    assert compile_graph(wide)(x, k) == m64.f(x, k)


def test_check_grads_still_fails_a_wrong_derivative():
    from ddc.ir import Builder, TensorType, Value
    from ddc.passes import jvp as jvp_module

    b = Builder()
    x = Value(TensorType(f32, (3,)), "x")
    g = b.graph([x], [b.reduce_sum(b.sin(x), axes=(0,))], "s")
    rule = jvp_module.jvp_rules["sin"]
    jvp_module.jvp_rules["sin"] = lambda b, p, t: (b.sin(p[0]), b.mul(t[0], b.sin(p[0])))  # wrong: not cos
    try:
        with pytest.raises(AssertionError, match="finite differences"):
            ddc.testing.check_grads(g, [np.array([0.1, 0.5, 1.0])], order=1)
    finally:
        jvp_module.jvp_rules["sin"] = rule
