"""The `ddc` command: exit codes, outputs, and the standalone modules it writes."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ddc.cli import main

EXAMPLE = str(Path(__file__).resolve().parents[2] / "examples" / "mlp.dd")
DIMS = ["--dim", "b=4", "--dim", "d=3", "--dim", "h=8", "--dim", "c=2"]


def test_check_ok_and_signatures(capsys):
    assert main(["check", EXAMPLE]) == 0
    out = capsys.readouterr().out
    assert "def mlp(x: f32[b,d], W1: f32[d,h], b1: f32[h], W2: f32[h,c]) -> f32[b,c]" in out
    assert "ok:" in out


def test_check_error_is_located_without_traceback(tmp_path, capsys):
    bad = tmp_path / "bad.dd"
    bad.write_text("def f(x: f32[n, d], W: f32[k, m]) -> f32[n, m]:\n    return x @ W\n")
    assert main(["check", str(bad)]) == 1
    err = capsys.readouterr().err
    assert f"{bad}:2:12" in err and "^" in err and "Traceback" not in err


def test_run_random_prints_outputs(capsys):
    assert main(["run", EXAMPLE, "mlp", "--random", *DIMS]) == 0
    assert "out: float32[4, 2]" in capsys.readouterr().out


def test_run_with_numbers_and_npy(tmp_path, capsys):
    src = tmp_path / "f.dd"
    src.write_text("def f(x: f64[n], s: f64) -> f64[n]:\n    return x * s\n")
    np.save(tmp_path / "x.npy", np.array([1.0, 2.0]))
    assert main(["run", str(src), "f", "--arg", f"x={tmp_path / 'x.npy'}", "--arg", "s=3"]) == 0
    assert "[3. 6.]" in capsys.readouterr().out


def test_run_grad(capsys):
    assert main(["run", EXAMPLE, "loss", "--grad", "2", "--random", "--int-high", "2", *DIMS]) == 0
    assert "out: float32[8, 2]" in capsys.readouterr().out


@pytest.mark.parametrize("argv, message", [
    (["run", EXAMPLE, "mlp", "--random"], "--dim b=N"),
    (["run", EXAMPLE, "mlp"], "missing argument x"),
    (["run", EXAMPLE, "mlq", "--random"], "did you mean 'mlp'"),
    (["run", EXAMPLE, "mlp", "--arg", "nope=1", "--random", *DIMS], "no parameter 'nope'"),
    (["check", "/nonexistent/file.dd"], "file.dd"),
])
def test_user_errors_exit_1(argv, message, capsys):
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


@pytest.mark.parametrize("argv", [[], ["frobnicate"], ["run", EXAMPLE], ["ir", EXAMPLE, "mlp", "--dtype", "f16"]])
def test_usage_errors_exit_2(argv):
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2


def test_ir_grad_stats_and_vmap(capsys):
    assert main(["ir", EXAMPLE, "loss", "--grad", "0,2", "--stats"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("graph grad_loss(") and "%grad_W1:f32[d,h]" in out and "# " in out
    assert main(["ir", EXAMPLE, "mlp", "--vmap", "0,none,none,none"]) == 0
    out = capsys.readouterr().out
    assert "%x:f32[B,b,d]" in out and "%W1:f32[d,h]" in out
    assert main(["ir", EXAMPLE, "mlp", "--jvp"]) == 0
    assert "%dW1:f32[d,h]" in capsys.readouterr().out


def test_compiled_gradient_module_runs_with_numpy_alone(tmp_path):
    out = tmp_path / "grad_loss.py"
    assert main(["compile", EXAMPLE, "loss", "--grad", "0,1,2", "-o", str(out)]) == 0
    import ddc

    rng = np.random.default_rng(0)
    args = [rng.standard_normal(s).astype(np.float32) for s in [(3, 8), (8,), (8, 2), (4, 3)]]
    args.append(np.array([0, 1, 1, 0], dtype=np.int32))
    want = ddc.grad(ddc.load(EXAMPLE).loss, (0, 1, 2))(*args)
    np.savez(tmp_path / "args.npz", *args)
    script = (
        "import sys, numpy as np\n"
        "try:\n    import ddc\nexcept ImportError:\n    pass\nelse:\n    sys.exit('ddc importable')\n"
        f"sys.path.insert(0, {str(tmp_path)!r})\n"
        "from grad_loss import loss\n"
        f"a = np.load({str(tmp_path / 'args.npz')!r})\n"
        "g = loss(*[a[f'arr_{i}'] for i in range(5)])\n"
        f"np.savez({str(tmp_path / 'out.npz')!r}, *g)\n"
    )
    # -I -S: no site-packages, no PYTHONPATH; then a folder holding numpy alone
    numpy_home = tmp_path / "site"
    numpy_home.mkdir()
    (numpy_home / "numpy").symlink_to(Path(np.__file__).parent)
    libs = Path(np.__file__).parents[1] / "numpy.libs"
    if libs.exists():
        (numpy_home / "numpy.libs").symlink_to(libs)
    script = f"import sys; sys.path.insert(0, {str(numpy_home)!r})\n" + script
    subprocess.run([sys.executable, "-I", "-S", "-c", script], check=True)
    got = np.load(tmp_path / "out.npz")
    for k, w in enumerate(want):
        np.testing.assert_allclose(got[f"arr_{k}"], w, rtol=1e-6)
