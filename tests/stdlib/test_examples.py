"""The examples learn: each driver's `main` with a few steps ends well below its starting
loss. Also: Deep Sets' model is permutation invariant (on each backend), metric learning
beats Euclidean nearest neighbours, and the command line (`--steps`, `--plot` without
matplotlib)."""
from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import numpy as np
import pytest

import ddc

from ..backends import to_numpy

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def driver(name: str):
    """examples/<name>/train.py, imported as a module."""
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / name / "train.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name, steps, ratio", [
    ("lora", 60, 0.1),
    ("deepsets", 40, 0.02),
    ("infonce", 60, 0.5),
    ("metric", 40, 0.3),
])
def test_example_loss_falls(name, steps, ratio, capsys):
    first, last = driver(name).main(steps=steps)
    assert np.isfinite(first) and last < ratio * first, (first, last)
    printed = capsys.readouterr().out
    assert len(re.findall(r"^step +\d+ +loss", printed, re.M)) >= 5  # a line every few steps


def test_deepsets_example_is_permutation_invariant(backend):
    example = driver("deepsets")
    predict = ddc.jit(ddc.load(EXAMPLES / "deepsets" / "deepsets.dd").predict, backend)
    rng = np.random.default_rng(0)
    X, mask, _ = example.make_sets(rng, 6)
    params = example.init_params(rng)
    order = rng.permutation(X.shape[1])
    np.testing.assert_allclose(to_numpy(predict(X[:, order], mask[:, order], *params)),
                               to_numpy(predict(X, mask, *params)), rtol=1e-5, atol=1e-5)


def test_metric_example_beats_euclidean_nearest_neighbours(capsys):
    driver("metric").main(steps=40)
    printed = capsys.readouterr().out
    euclidean = float(re.search(r"Euclidean 1-NN accuracy ([\d.]+)", printed).group(1))
    learned = float(re.findall(r"1-NN accuracy ([\d.]+)$", printed, re.M)[-1])
    assert learned > euclidean + 0.2, printed


def test_command_line_steps(capsys):
    example = driver("lora")
    example.training.command_line(example.main, "LoRA", ["--steps", "3"])
    printed = capsys.readouterr().out
    assert re.search(r"^step +3 +loss", printed, re.M) and "->" in printed.splitlines()[-1]


def test_plot_without_matplotlib_says_how_to_install_it(monkeypatch, tmp_path):
    example = driver("lora")
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now fails
    with pytest.raises(SystemExit) as info:
        example.training.command_line(example.main, "LoRA", ["--steps", "3", "--plot", str(tmp_path / "loss.png")])
    assert "pip install 'ddc[plot]'" in str(info.value.code)
    assert not (tmp_path / "loss.png").exists()
