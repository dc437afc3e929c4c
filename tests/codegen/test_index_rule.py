"""The index rule on every path (the reference evaluator, numpy, its debug_nans variant,
Triton, every transform):
a constant index or slice on a symbolic dim that the call's dims make invalid, and an
integer tensor index outside [0, n), raise `DDIndexError` at the indexing expression
before any number comes back; valid calls give the same numbers everywhere."""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

import ddc
from ddc.ir.reference import evaluate
from ddc.ir.requirements import call_checks

from ..backends import to_numpy

PATHS = ["reference", "numpy", "debug_nans", "triton"]
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
F32 = np.float32


def call(fn, path: str, *args):
    if path == "reference":
        out = evaluate(fn.graph_for(fn.bind_dtype(args)), *args)
        return tuple(out) if len(out) > 1 else out[0]
    if path == "triton":
        out = ddc.jit(fn, backend="triton")(*args)
    elif path == "debug_nans":
        with ddc.config(debug_nans=True):
            out = fn(*args)
    else:
        out = fn(*args)
    return tuple(map(to_numpy, out)) if isinstance(out, tuple) else to_numpy(out)


def raises(fn, path, *args, says: str, at: tuple[int, int] | None = None):
    with pytest.raises(ddc.DDIndexError) as info:
        call(fn, path, *args)
    assert says in info.value.message, info.value.message
    if at is not None:
        assert (info.value.line, info.value.col) == at, str(info.value)
    return info.value


# -- constant indices and slices on symbolic dims ------------------------------------------

# (body, return type, what n = 3 violates, numpy's formula at n = 7); x: f32[n]
CONSTANT = [
    ("x[-5]", "f32", "x[-5] needs n >= 5, got n = 3", lambda x: x[-5]),
    ("mean(x[-5:])", "f32", "x[-5:] needs n >= 5, got n = 3", lambda x: x[-5:].mean()),
    ("x[-5:]", "f32[5]", "x[-5:] needs n >= 5, got n = 3", lambda x: x[-5:]),
    ("x[:-5]", "f32[n - 5]", "x[:-5] needs n >= 5, got n = 3", lambda x: x[:-5]),
    ("x[5]", "f32", "x[5] needs n >= 6, got n = 3", lambda x: x[5]),
    ("x[2:5]", "f32[3]", "x[2:5] needs n >= 5, got n = 3", lambda x: x[2:5]),
    ("zeros(n - 5)", "f32[n - 5]", "zeros(n - 5) needs n >= 5, got n = 3", lambda x: np.zeros(len(x) - 5)),
    ("arange(n - 5)", "i32[n - 5]", "arange(n - 5) needs n >= 5, got n = 3", lambda x: np.arange(len(x) - 5)),
    ("eye(n - 5)", "f32[n - 5, n - 5]", "eye(n - 5) needs n >= 5, got n = 3", lambda x: np.eye(len(x) - 5)),
    ("reshape(x[5:], (n - 5, 1))", "f32[n - 5, 1]", "x[5:] needs n >= 5, got n = 3",
     lambda x: x[5:].reshape(-1, 1)),
]


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("body, ret, says, want", CONSTANT, ids=[c[0] for c in CONSTANT])
def test_a_constant_index_the_dims_make_invalid_raises(body, ret, says, want, path):
    m = ddc.loads(f"def f(x: f32[n]) -> {ret}:\n    return {body}\n")
    at = (2, 12 + body.index(says.split(" needs")[0]))  # the indexing expression
    raises(m.f, path, np.arange(3, dtype=F32), says=says, at=at)
    x = np.arange(7, dtype=F32)
    np.testing.assert_allclose(call(m.f, path, x), want(x), rtol=1e-6)


TWO_D = [
    ("x[:, -5]", "f32[b]", "x[:, -5] needs n >= 5, got n = 3", lambda x: x[:, -5]),
    ("x[-5:, ::2]", "f32[5, 2]", "x[-5:, ::2] needs n >= 5, got n = 3", lambda x: x[-5:, ::2]),
]


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("body, ret, says, want", TWO_D, ids=[c[0] for c in TWO_D])
def test_two_d_and_strided_slices_raise_too(body, ret, says, want, path):
    x_type = "f32[b, n]" if body == "x[:, -5]" else "f32[n, 4]"
    m = ddc.loads(f"def f(x: {x_type}) -> {ret}:\n    return {body}\n")
    small = np.ones((2, 3) if body == "x[:, -5]" else (3, 4), F32)
    raises(m.f, path, small, says=says, at=(2, 12))
    x = np.arange(14 if body == "x[:, -5]" else 28, dtype=F32).reshape((2, 7) if body == "x[:, -5]" else (7, 4))
    np.testing.assert_allclose(call(m.f, path, x), want(x))


NEG = "def f(x: f32[n]) -> f32:\n    return x[-5] * 2.0\n"


@pytest.mark.parametrize("path", PATHS)
def test_transforms_keep_the_requirement(path):
    m = ddc.loads(NEG)
    small, x = np.arange(3, dtype=F32), np.arange(7, dtype=F32)
    says = "x[-5] needs n >= 5, got n = 3"
    g = ddc.grad(m.f)
    raises(g, path, small, says=says, at=(2, 12))
    np.testing.assert_array_equal(call(g, path, x), [0, 0, 2, 0, 0, 0, 0])
    v = ddc.vmap(m.f)
    raises(v, path, np.ones((2, 3), F32), says=says, at=(2, 12))
    np.testing.assert_array_equal(call(v, path, np.stack([x, x + 1])), [4, 6])
    raises(ddc.vmap(g), path, np.ones((2, 3), F32), says=says, at=(2, 12))


def test_linearize_and_a_standalone_vjp_carry_the_requirement_into_their_graphs():
    m = ddc.loads(NEG)
    x = np.arange(7, dtype=F32)
    _, f_vjp = ddc.vjp(m.f, x)
    _, f_jvp = ddc.linearize(m.f, x)
    for linear in (f_vjp, f_jvp):
        (check,) = call_checks([linear.graph]).prologue
        assert check.message({"n": 3}) == "x[-5] needs n >= 5, got n = 3"
    # the backward graph called for a too-short input (its dim parameter n) raises, not pads
    assert f_vjp.bound == (7,)
    with pytest.raises(ddc.DDIndexError, match=r"x\[-5\] needs n >= 5, got n = 3"):
        f_vjp.fn(3, F32(1.0))
    np.testing.assert_array_equal(f_vjp(F32(1.0)), [0, 0, 2, 0, 0, 0, 0])


def test_statically_true_requirements_are_dropped():
    m = ddc.loads("def f(x: f32[n]) -> f32[n + 1]:\n    return concatenate((x[0:n], zeros(1)))\n")
    assert call_checks([m.f.graph]).prologue == []
    assert "dim_fault" not in m.f.source


# -- tensor indices in [0, n) --------------------------------------------------------------

TAKE = """
def pick(x: f32[n], i: i32[m]) -> f32[m]:
    return x[i]

def took(x: f32[n, d], i: i32[m]) -> f32[n, m]:
    return take(x, i, axis=1)

def shifted(x: f32[n], i: i32[m]) -> f32[m]:
    return x[i + 1]

def total(x: f32[n], i: i32[m]) -> f32:
    return sum(x[i] * x[i])
"""


@pytest.mark.parametrize("path", PATHS)
def test_a_tensor_index_outside_its_dim_raises_naming_the_parameter(path):
    m = ddc.loads(TAKE)
    x = np.arange(4, dtype=F32)
    for bad in (-1, 4):
        raises(m.pick, path, x, np.array([0, bad, 1], np.int32),
               says=f"i[1] = {bad} is outside [0, 4) for parameter i", at=(3, 12))
        raises(ddc.grad(m.total), path, x, np.array([bad], np.int32),
               says=f"i[0] = {bad} is outside [0, 4) for parameter i", at=(12, 16))
    raises(m.took, path, np.ones((2, 3), F32), np.array([2, 3], np.int32),
           says="i[1] = 3 is outside [0, 3) for parameter i", at=(6, 12))
    raises(m.shifted, path, x, np.array([3], np.int32), says="index[0] = 4 is outside [0, 4)", at=(9, 12))
    raises(m.shifted, path, x, np.array([-2], np.int32), says="index[0] = -1 is outside [0, 4)")
    np.testing.assert_array_equal(call(m.pick, path, x, np.array([3, 0], np.int32)), [3, 0])
    np.testing.assert_array_equal(call(m.shifted, path, x, np.array([-1, 2], np.int32)), [0, 3])
    np.testing.assert_array_equal(call(ddc.grad(m.total), path, x, np.array([1, 1, 3], np.int32)),
                                  [0, 4, 0, 6])


@pytest.mark.parametrize("path", PATHS)
def test_vmap_of_a_gather_raises_for_one_bad_lane(path):
    m = ddc.loads(TAKE)
    v = ddc.vmap(m.pick, in_axes=(0, 0))
    x = np.arange(8, dtype=F32).reshape(2, 4)
    idx = np.array([[0, 3], [1, 4]], np.int32)
    raises(v, path, x, idx, says="i[1, 1] = 4 is outside [0, 4) for parameter i", at=(3, 12))
    idx[1, 1] = 2
    np.testing.assert_array_equal(call(v, path, x, idx), [[0, 3], [5, 6]])


MLP_ARGS = dict(b=6, d=3, h=8, c=5)


def mlp_args(labels):
    rng = np.random.default_rng(0)
    b, d, h, c = MLP_ARGS.values()
    return (rng.standard_normal((d, h)).astype(F32), rng.standard_normal(h).astype(F32),
            rng.standard_normal((h, c)).astype(F32), rng.standard_normal((b, d)).astype(F32),
            np.asarray(labels, np.int32))


def test_the_mlp_loss_is_one_number_on_every_path_and_raises_for_labels_out_of_range():
    mlp = ddc.load(str(EXAMPLES / "mlp.dd"))
    args = mlp_args([0, 4, 2, 1, 3, 0])
    W1, b1, W2, x, y = (a.astype(np.float64) if a.dtype == F32 else a for a in args)
    z = np.maximum(x @ W1 + b1, 0) @ W2
    logp = z - z.max(1, keepdims=True)
    logp -= np.log(np.exp(logp).sum(1, keepdims=True))
    want = -logp[np.arange(6), y].mean()
    grad = ddc.grad(mlp.loss, argnums=(0, 1, 2))
    values = [call(mlp.loss, path, *args) for path in PATHS]
    for v in values:
        np.testing.assert_allclose(v, want, rtol=1e-5)
    np.testing.assert_allclose(values, values[0], rtol=2e-6)
    grads = [call(grad, path, *args) for path in PATHS]
    for g in grads[1:]:
        for a, b in zip(g, grads[0]):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    for bad in (-1, 5):
        labels = [0, 4, bad, 1, 3, 0]
        for path in PATHS:
            for fn in (mlp.loss, grad):
                raises(fn, path, *mlp_args(labels), says=f"y[2] = {bad} is outside [0, 5) for parameter y",
                       at=(16, 29))


@pytest.mark.parametrize("path", PATHS)
def test_cross_entropy_and_one_hot_labels_follow_the_rule(path):
    m = ddc.loads("import losses\n"
                  "def ce(z: f32[n, c], y: i32[n]) -> f32:\n    return mean(losses.cross_entropy(z, y))\n"
                  "def oh(y: i32[n]) -> f32[n, 3]:\n    return one_hot(y, 3)\n")
    z = np.arange(6, dtype=F32).reshape(2, 3)
    for bad in (-1, 3):
        for fn in (m.ce, ddc.grad(m.ce)):
            raises(fn, path, z, np.array([0, bad], np.int32), says=f"[1] = {bad} is outside [0, 3)")
        raises(m.oh, path, np.array([bad, 1], np.int32), says=f"y[0] = {bad} is outside [0, 3) for parameter y",
               at=(5, 12))
    np.testing.assert_array_equal(call(m.oh, path, np.array([2, 0], np.int32)), np.eye(3)[[2, 0]])


def test_an_index_error_from_the_command_line_is_located_and_exits_1(tmp_path, capsys):
    from ddc.cli import main

    model = tmp_path / "model.dd"
    model.write_text(TAKE)
    np.save(tmp_path / "i.npy", np.array([0, 9], np.int32))
    code = main(["run", str(model), "pick", "--arg", f"i={tmp_path / 'i.npy'}", "--random", "--dim", "n=4"])
    err = capsys.readouterr().err
    assert code == 1
    assert "model.dd:3:12: index error: i[1] = 9 is outside [0, 4) for parameter i" in err
    assert "Traceback" not in err and "internal error" not in err


def test_a_valid_call_pays_microseconds_for_the_check():
    # no timing assertion on a shared machine: the check runs, and its cost is printed
    m = ddc.loads(TAKE)
    x, idx = np.arange(1024, dtype=F32), np.random.default_rng(0).integers(0, 1024, 1024).astype(np.int32)
    assert "check_indices(" in m.pick.source
    np.testing.assert_array_equal(m.pick(x, idx), x[idx])
    from ddc.codegen.numpy.runtime import check_indices

    start = time.perf_counter()
    for _ in range(1000):
        check_indices(0, idx, 1024)
    print(f"check_indices on [1024] int32: {(time.perf_counter() - start) * 1e3:.2f} us per call")


ROW = "\ndef row(x: f32[n, d], i: i32) -> f32:\n    return sum(x[i + 1] * x[i + 1])\n"


def test_every_path_raises_the_same_error_word_for_word():
    m = ddc.loads(TAKE + NEG + ROW)
    x = np.arange(4, dtype=F32)
    rows = np.arange(12, dtype=F32).reshape(3, 4)
    calls = [(m.pick, (x, np.array([0, 7], np.int32))), (m.shifted, (x, np.array([3], np.int32))),
             (m.row, (rows, np.int32(2))), (ddc.grad(m.row), (rows, np.int32(-2))),
             (ddc.grad(m.total), (x, np.array([-1], np.int32))), (m.f, (np.arange(3, dtype=F32),)),
             (ddc.grad(m.f), (np.arange(3, dtype=F32),))]
    for fn, args in calls:
        said = set()
        for path in PATHS:
            with pytest.raises(ddc.DDIndexError) as info:
                call(fn, path, *args)
            said.add(str(info.value))
        assert len(said) == 1, said


def test_a_computed_index_checked_in_row_blocks_is_reported_at_its_row(monkeypatch):
    from ddc.codegen.numpy import runtime as numpy_runtime

    monkeypatch.setattr(numpy_runtime, "THREADS", 2)
    monkeypatch.setattr(numpy_runtime, "PARALLEL_MIN_SIZE", 1 << 10)  # many blocks of rows
    m = ddc.loads("import losses\ndef f(z: f32[n, c], y: i32[n]) -> f32:\n"
                  "    return mean(losses.cross_entropy(z, abs(y) - 1))\n")
    g = ddc.grad(m.f)
    assert any("check_indices(" in line and line.startswith("    ") for line in g.source.split("def gradf")[0].splitlines())
    z, y = np.ones((2048, 256), F32), np.full(2048, 3, np.int32)
    assert g(z, y).shape == (2048, 256)
    y[1500] = 0
    with pytest.raises(ddc.DDIndexError, match=r"index\[1500\] = -1 is outside \[0, 256\)"):
        g(z, y)
