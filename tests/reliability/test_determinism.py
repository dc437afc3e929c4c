"""Compilation is a function of the source text: the same source gives byte-identical IR
and generated code in any process (whatever PYTHONHASHSEED), and compiled code is cached
by content, so an edited file never runs stale code."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

import ddc

ROOT = Path(__file__).resolve().parents[2]

# Prints the IR and the generated source of functions, transforms and the checking
# variant of the example MLP and the stdlib's losses.
DUMP = f"""
import ddc
from ddc import ir, stdlib
mlp = ddc.load({str(ROOT / "examples" / "mlp.dd")!r})
losses = stdlib.load("losses")
functions = [mlp.mlp, mlp.loss, mlp.sgd_step, ddc.grad(mlp.loss, (0, 1, 2)),
             ddc.vmap(ddc.grad(mlp.loss), in_axes=(None, None, None, 0, 0)), ddc.hessian(losses.logsumexp),
             losses.supcon, ddc.value_and_grad(losses.infonce, (0, 1)), ddc.jacrev(losses.softmax)]
for f in functions:
    for dtype in (ir.f32, ir.f64):
        print(f.graph_for(dtype))
        print(f.compiled(dtype).source)
with ddc.config(debug_nans=True):
    print(mlp.loss.source)
"""


def dump(hash_seed: str) -> str:
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    return subprocess.run([sys.executable, "-c", DUMP], env=env, capture_output=True, text=True, check=True).stdout


def test_same_source_same_bytes_across_processes():
    first, second = dump("1"), dump("2")
    assert len(first) > 10_000 and first == second


def test_an_edited_file_runs_its_new_code(tmp_path):
    path = tmp_path / "model.dd"
    helper = tmp_path / "helper.dd"
    helper.write_text("def scale(x: f32) -> f32:\n    return x * 2.0\n")
    path.write_text("import helper\n\ndef f(x: f32) -> f32:\n    return helper.scale(x) + 1.0\n")
    assert ddc.load(path).f(1.0) == 3.0
    path.write_text("import helper\n\ndef f(x: f32) -> f32:\n    return helper.scale(x) + 5.0\n")
    assert ddc.load(path).f(1.0) == 7.0
    helper.write_text("def scale(x: f32) -> f32:\n    return x * 3.0\n")  # an imported file, same length
    g = ddc.load(path)
    assert g.f(1.0) == 8.0 and ddc.grad(g.f)(1.0) == 3.0


def test_functions_of_one_text_share_code_and_others_never_do():
    a = ddc.loads("def f(x: f64[n]) -> f64[n]:\n    return x * 2.0\n").f
    b = ddc.loads("def f(x: f64[n]) -> f64[n]:\n    return x * 2.0\n").f
    c = ddc.loads("def f(x: f64[n]) -> f64[n]:\n    return x * 3.0\n").f
    x = np.arange(3.0)
    assert a.compiled().fn is b.compiled().fn and c.compiled().fn is not a.compiled().fn
    np.testing.assert_array_equal(c(x), 3 * x)
    np.testing.assert_array_equal(a(x), 2 * x)
