"""`in_axes`/`out_axes`, `argnums` and grad's scalar output are read in one place
(`ddc.passes.axes`, `ddc.passes.argnums`): the Python API, the `.dd` transform expressions,
the CLI and the passes accept the same things and say the same thing about the rest."""
from __future__ import annotations

import numpy as np
import pytest

import ddc
from ddc.cli import main
from ddc.dsl import loads
from ddc.passes.axes import axes_per_entry, in_batch_axes, out_batch_axes
from ddc.passes.vmap import vmap as vmap_pass

SOURCE = """
def affine(x: f32[n], W: f32[n, m]) -> f32[m]:
    return x @ W

def vec(x: f32[n]) -> f32[n]:
    return x * x
"""


def _dd_error(expression: str, returns: str = "f32[k, m]") -> ddc.DDError:
    source = SOURCE + f"\ndef f(xs: f32[k, n], W: f32[n, m]) -> {returns}:\n    return {expression}\n"
    with pytest.raises(ddc.DDError) as info:
        loads(source).lower("f")
    return info.value


def _api_error(**options) -> ddc.DDError:
    f = ddc.loads(SOURCE).affine
    with pytest.raises(ddc.DDError) as info:
        ddc.vmap(f, **options)(np.ones((3, 2), np.float32), np.ones((2, 4), np.float32))
    return info.value


@pytest.mark.parametrize("options, dd, message", [
    ({"in_axes": (0, 0, 0)}, "vmap(affine, in_axes=(0, 0, 0))(xs, W)", "in_axes has 3 entries for 2 arguments"),
    ({"in_axes": (None, None)}, "vmap(affine, in_axes=(None, None))(xs, W)", "in_axes maps no input"),
    ({"in_axes": (2, None)}, "vmap(affine, in_axes=(2, None))(xs, W)",
     "in_axes[0] = 2 is out of range: the batched tensor has rank 2"),
    ({"in_axes": (0, None), "out_axes": 2}, "vmap(affine, in_axes=(0, None), out_axes=2)(xs, W)",
     "out_axes[0] = 2 is out of range: the batched tensor has rank 2"),
    ({"in_axes": (0, None), "out_axes": (0, 0)}, "vmap(affine, in_axes=(0, None), out_axes=(0, 0))(xs, W)",
     "out_axes has 2 entries for 1 outputs"),
])
def test_vmap_axes_errors_are_the_same_from_python_and_from_dd(options, dd, message):
    from_python, from_dd = _api_error(**options), _dd_error(dd)
    assert isinstance(from_python, ddc.TransformError) and isinstance(from_dd, ddc.TransformError)
    assert message in from_python.message and message in from_dd.message


def test_a_bad_in_axes_is_refused_when_the_transform_is_made():
    f = ddc.loads(SOURCE).affine
    with pytest.raises(ddc.TransformError, match="in_axes must be an int or None, or a tuple of those"):
        ddc.vmap(f, in_axes=0.5)
    err = _dd_error("vmap(affine, in_axes=(0, 0.5))(xs, W)")
    assert isinstance(err, ddc.TransformError)
    assert "in_axes must be an int or None, or a tuple of those" in err.message


def test_the_cli_reads_in_axes_through_the_same_rules(capsys):
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "m.dd"
        path.write_text(SOURCE)
        assert main(["ir", str(path), "affine", "--vmap", "0,none"]) == 0
        assert main(["ir", str(path), "affine", "--vmap", "0,none,0"]) == 1
    assert "in_axes has 3 entries for 2 arguments" in capsys.readouterr().err


def test_the_shared_readers():
    assert axes_per_entry(None, 2, "in_axes", "arguments") == (None, None)
    assert axes_per_entry([1, None], 2, "in_axes", "arguments") == (1, None)
    assert in_batch_axes((-1, None), [3, 2]) == [2, None]
    assert out_batch_axes(-1, [0, 2]) == [0, 2]
    assert vmap_pass(ddc.loads(SOURCE).vec.graph_for(ddc.ir.f32), [0], -1).outputs[0].ndim == 2


def test_grad_of_a_non_scalar_says_the_same_from_python_and_from_dd():
    from_dd = _dd_error("grad(vec)(xs[0])", returns="f32[n]")
    with pytest.raises(ddc.TransformError) as info:
        ddc.grad(ddc.loads(SOURCE).vec)(np.ones(3, np.float32))
    expected = "grad: vec returns f32[n]; it needs a scalar float output"
    assert expected in from_dd.message and expected in info.value.message
    assert from_dd.hint == info.value.hint
