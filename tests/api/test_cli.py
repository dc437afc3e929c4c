"""The `ddc` command: exit codes, outputs, and the standalone modules it writes."""
from __future__ import annotations

import os
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ddc.cli import main
from ddc.files import MAX_SOURCE_BYTES

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


# -- the files the command reads and writes ------------------------------------------------

SCALE = "def f(x: f64[n], s: f64) -> f64[n]:\n    return x * s\n"


def ddc_command(*argv, cwd, timeout=60) -> subprocess.CompletedProcess:
    """The command in a fresh process, killed after `timeout` s (a FIFO used to block it)."""
    return subprocess.run([sys.executable, "-m", "ddc.cli", *map(str, argv)], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout)


@pytest.mark.parametrize("target", ["program", "link to the program", "imported module"])
def test_compile_and_viz_refuse_to_overwrite_the_program(tmp_path, capsys, target):
    (tmp_path / "helpers.dd").write_text("def double(x: f64[n]) -> f64[n]:\n    return x * 2.0\n")
    program = tmp_path / "m.dd"
    program.write_text("from helpers import double\n\ndef f(x: f64[n]) -> f64[n]:\n    return double(x)\n")
    output = {"program": program, "link to the program": tmp_path / "out.py",
              "imported module": tmp_path / "helpers.dd"}[target]
    if target == "link to the program":
        output.symlink_to(program)
    before = {p.name: p.read_bytes() for p in tmp_path.glob("*.dd")}
    for command in ("compile", "viz"):
        assert main([command, str(program), "f", "-o", str(output)]) == 1
        err = capsys.readouterr().err
        assert err.startswith(f"ddc: error: refusing to write {output}: it is ") and "Traceback" not in err
    assert {p.name: p.read_bytes() for p in tmp_path.glob("*.dd")} == before


@pytest.mark.parametrize("kind", ["fifo", "device", "folder", "too large"])
def test_check_refuses_what_is_not_a_regular_source_file(tmp_path, kind):
    path = {"fifo": tmp_path / "m.dd", "device": Path("/dev/zero"), "folder": tmp_path / "d.dd",
            "too large": tmp_path / "big.dd"}[kind]
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "folder":
        path.mkdir()
    elif kind == "too large":
        path.write_bytes(b" " * (MAX_SOURCE_BYTES + 1))
    done = ddc_command("check", path, cwd=tmp_path)
    says = {"fifo": "it is a FIFO, not a regular file", "device": "it is a character device, not a regular file",
            "folder": "it is a folder, not a regular file",
            "too large": f"it has {MAX_SOURCE_BYTES + 1:,} bytes, over the limit of {MAX_SOURCE_BYTES:,}"}[kind]
    assert done.returncode == 1 and done.stderr.startswith(f"import error: cannot read {path}: {says}"), done.stderr


def test_an_import_of_a_fifo_is_refused_without_blocking(tmp_path):
    os.mkfifo(tmp_path / "helpers.dd")
    (tmp_path / "m.dd").write_text("import helpers\n\ndef f(x: f32) -> f32:\n    return x\n")
    done = ddc_command("check", tmp_path / "m.dd", cwd=tmp_path)
    assert done.returncode == 1 and "cannot read" in done.stderr and "it is a FIFO" in done.stderr


def npy_claiming(shape: tuple, data: bytes) -> bytes:
    """A .npy file whose header says `shape` of float64, followed by `data`."""
    header = f"{{'descr': '<f8', 'fortran_order': False, 'shape': {shape}, }}"
    header += " " * (127 - 10 - len(header)) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + data


@pytest.mark.parametrize("kind, says", [
    ("huge header", "x.npy's header asks for float64[1000000000000] (8,000,000,000,000 bytes), "
                    "but the file holds 16 bytes of data"),
    ("objects", "x.npy holds Python objects (object), which are never unpickled"),
    ("fifo", "cannot read x.npy: it is a FIFO, not a regular file"),
    ("not npy", "x.npy is not a .npy file"),
])
def test_run_refuses_bad_npy_arguments(tmp_path, kind, says):
    (tmp_path / "m.dd").write_text(SCALE)
    npy = tmp_path / "x.npy"
    if kind == "huge header":
        npy.write_bytes(npy_claiming((10**12,), b"\0" * 16))
    elif kind == "objects":
        np.save(npy, np.array([1, "a", None], dtype=object), allow_pickle=True)
    elif kind == "fifo":
        os.mkfifo(npy)
    else:
        npy.write_bytes(b"def f(x): pass\n")
    done = ddc_command("run", "m.dd", "f", "--arg", "x=x.npy", "--arg", "s=2", cwd=tmp_path)
    assert done.returncode == 1 and done.stderr.startswith(f"ddc: error: {says}"), done.stderr


def test_run_loads_npy_arguments_of_every_header_version(tmp_path, capsys):
    (tmp_path / "m.dd").write_text(SCALE)
    for version in ((1, 0), (2, 0), (3, 0)):
        with open(tmp_path / "x.npy", "wb") as f:
            np.lib.format.write_array(f, np.array([1.0, 2.0]), version=version)
        assert main(["run", str(tmp_path / "m.dd"), "f", "--arg", f"x={tmp_path / 'x.npy'}", "--arg", "s=3"]) == 0
        assert "[3. 6.]" in capsys.readouterr().out


@pytest.mark.parametrize("dims, says", [
    (["--dim", "n=1000000000000"], "ddc: error: out of memory: the random arguments need 8,000,000,000,008 bytes "
                                   "(x: float64[1000000000000], 8,000,000,000,000 bytes), more than this machine's"),
    (["--dim", "n=" + "9" * 5000], "ddc: error: --dim expects NAME=SIZE with SIZE at most 9223372036854775807"),
])
def test_run_refuses_random_arguments_larger_than_memory(tmp_path, dims, says):
    (tmp_path / "m.dd").write_text(SCALE)
    done = ddc_command("run", "m.dd", "f", "--random", *dims, cwd=tmp_path)
    assert done.returncode == 1 and done.stderr.startswith(says), done.stderr


def test_memory_errors_of_the_user_s_sizes_exit_1(tmp_path, capsys):
    """An output too large for memory (the sizes checked up front are only the inputs')."""
    (tmp_path / "m.dd").write_text("def outer(x: f64[n]) -> f64[n, n]:\n"
                                   "    return expand_dims(x, 1) * expand_dims(x, 0)\n")
    assert main(["run", str(tmp_path / "m.dd"), "outer", "--random", "--dim", "n=10000000"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("ddc: error: out of memory") and "internal error" not in err
