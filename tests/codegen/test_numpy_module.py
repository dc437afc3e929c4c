"""The compiled function as a whole: outputs, caching, determinism, standalone export."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from ddc import ir
from ddc.codegen.numpy.backend import compile, module_source
from ddc.ir import Sym, f32, f64, i32

from .graphs import make_graph


def T(dtype, *shape):
    return ir.TensorType(dtype, shape)


def classifier_loss():
    """mean(-log(logistic(logits))[i, y[i]]) + a scatter of the row sums: exercises the
    runtime helpers (logistic, batched gather, scatter_add) and symbolic dims."""
    n = Sym.name("n")

    def build(b, x, W, y):
        logits = b.bind("dot_general", x, W, contract=((1,), (0,)), batch=((), ()), name="logits")
        p = b.bind("logistic", logits, name="p")
        picked = b.gather(b.neg(b.log(p)), y, axis=1, batch_dims=1)
        loss = b.div(b.reduce_sum(picked, axes=(0,)), b.constant(value=n, dtype=f32))
        spread = b.scatter_add(b.reduce_sum(p, axes=(1,)), y, axis=1, batch_dims=1, shape=(n, 3))
        return b.bind("neg", loss, name="loss"), spread

    return make_graph(build, T(f32, "n", "d"), T(f32, "d", 3), T(i32, "n"), names=["x", "W", "y"],
                      name="loss")


def classifier_args():
    rng = np.random.default_rng(1)
    return (rng.standard_normal((5, 4)).astype(np.float32), rng.standard_normal((4, 3)).astype(np.float32),
            rng.integers(0, 3, 5).astype(np.int32))


def test_several_outputs_come_back_as_a_tuple_of_arrays():
    x, W, y = classifier_args()
    loss, spread = compile(classifier_loss())(x, W, y)
    p = 1 / (1 + np.exp(-(x @ W)))
    np.testing.assert_allclose(loss, -np.mean(-np.log(p[np.arange(5), y])), rtol=1e-5)
    want = np.zeros((5, 3), np.float32)
    want[np.arange(5), y] = p.sum(1)
    np.testing.assert_allclose(spread, want, rtol=1e-5)
    assert isinstance(loss, np.ndarray) and loss.shape == () and loss.dtype == np.float32


def test_outputs_never_alias_arguments_or_each_other():
    def build(b, x):
        t = b.transpose(x, permutation=(1, 0))
        wide = b.broadcast_in_dim(b.reduce_sum(x, axes=(1,)), shape=(2, 3), broadcast_dimensions=(0,))
        return x, t, b.stop_gradient(x), wide, t, b.reshape(t, shape=(6,))

    x = np.arange(6.0).reshape(2, 3)
    outs = compile(make_graph(build, T(f64, 2, 3)))(x)
    for i, out in enumerate(outs):
        assert isinstance(out, np.ndarray) and out.flags.writeable
        assert not np.shares_memory(out, x)
        for other in outs[:i]:
            assert not np.shares_memory(out, other)
    np.testing.assert_array_equal(outs[3], [[3, 3, 3], [12, 12, 12]])


def test_temporaries_are_freed_after_their_last_use():
    def build(b, x):
        return b.reduce_sum(b.exp(b.mul(x, x)), axes=(0,))

    source = compile(make_graph(build, T(f64, "n"))).source
    assert "    del t_3\n" in source and "    del t_4\n" in source


def test_identical_graphs_compile_once_and_edits_take_effect():
    def graph(c):
        return make_graph(lambda b, x: b.mul(x, b.broadcast_in_dim(
            b.constant(value=c, dtype=f64), shape=x.shape, broadcast_dimensions=())), T(f64, "n"))

    assert compile(graph(2.0)).fn is compile(graph(2.0)).fn
    assert compile(graph(2.0))(np.ones(2))[0] == 2.0
    assert compile(graph(3.0))(np.ones(2))[0] == 3.0


def test_source_is_deterministic():
    first, second = classifier_loss(), classifier_loss()
    assert compile(first).source == compile(second).source
    assert compile(ir.parse_graph(str(first))).source == compile(first).source
    assert module_source(first, "loss") == module_source(second, "loss")


def test_standalone_module_needs_numpy_alone(tmp_path):
    g = classifier_loss()
    (tmp_path / "exported.py").write_text(module_source(g, "classifier_loss"))
    args = classifier_args()
    for i, a in enumerate(args):
        np.save(tmp_path / f"arg{i}.npy", a)
    numpy_home = os.path.dirname(os.path.dirname(np.__file__))
    script = textwrap.dedent(f"""
        import importlib.util, sys
        sys.path.insert(0, {str(tmp_path)!r})
        sys.path.append({numpy_home!r})
        assert importlib.util.find_spec("ddc") is None, "ddc must not be importable here"
        import numpy as np
        import exported
        args = [np.load({str(tmp_path)!r} + f"/arg{{i}}.npy") for i in range(3)]
        loss, spread = exported.classifier_loss(*args)
        np.save({str(tmp_path)!r} + "/loss.npy", loss)
        np.save({str(tmp_path)!r} + "/spread.npy", spread)
        try:
            exported.classifier_loss(args[0].astype(np.float64), args[1], args[2])
        except exported.ArgumentError as e:
            print(e)
    """)
    done = subprocess.run([sys.executable, "-I", "-S", "-c", script], capture_output=True, text=True,
                          cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "parameter x expects f32[n,d], got a float64 array" in done.stdout
    loss, spread = compile(g)(*args)
    np.testing.assert_array_equal(np.load(tmp_path / "loss.npy"), loss)
    np.testing.assert_array_equal(np.load(tmp_path / "spread.npy"), spread)


@pytest.mark.parametrize("name", ["print", "class", "np", "check_array", "ArgumentError", "__init__",
                                  "x-y", "ñ", "", 3])
def test_module_function_name_is_validated(name):
    with pytest.raises(ValueError, match="cannot name the exported function"):
        module_source(classifier_loss(), name)
