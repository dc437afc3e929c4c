"""Modules: `import m` / `from m import f` resolve beside the importing file, then in the
stdlib folder; each file loads once per load; cycles and missing modules are errors at the
import line."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import ddc.stdlib
from ddc import DDImportError, DDNameError, DDSyntaxError, ir
from ddc.dsl import load, loads
from ddc.dsl.loader import STDLIB

from .util import close

LOSSES = """
def squared(z: float[b, c], t: float[b, c]) -> float:
    return mean((z - t) ** 2)

def scale(z: float[b, c]) -> float[b, c]:
    return 2 * z
"""

LAYERS = """
from losses import scale

def dense(x: float[b, d], W: float[d, c]) -> float[b, c]:
    return scale(x @ W)
"""

MODEL = """
import losses
from layers import dense

def loss(W: float[d, c], x: float[b, d], t: float[b, c]) -> float:
    return losses.squared(dense(x, W), t)

def step(W: float[d, c], x: float[b, d], t: float[b, c]) -> float[d, c]:
    return W - 0.1 * grad(losses.squared)(dense(x, W), t)[0, 0] * W
"""


def write(folder: Path, **files: str) -> None:
    for name, text in files.items():
        (folder / f"{name}.dd").write_text(text)


@pytest.fixture
def stdlib(tmp_path, monkeypatch) -> Path:
    """An empty folder standing in for the stdlib."""
    folder = tmp_path / "stdlib"
    folder.mkdir()
    monkeypatch.setattr("ddc.dsl.loader.STDLIB", folder)
    return folder


def test_imports_resolve_beside_the_file_and_functions_compose(tmp_path):
    write(tmp_path, losses=LOSSES, layers=LAYERS, model=MODEL)
    module = load(tmp_path / "model.dd")
    assert module.path == tmp_path / "model.dd" and list(module.functions) == ["loss", "step"]
    rng = np.random.default_rng(0)
    W, x, t = rng.standard_normal((3, 2)), rng.standard_normal((4, 3)), rng.standard_normal((4, 2))
    from ddc.codegen.numpy.backend import compile

    value = compile(module.lower("loss", ir.f64))(W, x, t)
    close(value, np.mean((2 * x @ W - t) ** 2))


def test_imported_spans_point_into_their_own_files(tmp_path):
    write(tmp_path, losses=LOSSES, layers=LAYERS, model=MODEL)
    graph = load(tmp_path / "model.dd").lower("loss")
    files = {Path(n.span.file).name for n in graph.nodes}
    assert files == {"losses.dd", "layers.dd"}


def test_each_file_loads_once_per_load(tmp_path):
    write(tmp_path, losses=LOSSES, layers=LAYERS, model=MODEL)
    module = load(tmp_path / "model.dd").module
    through_layers = module.namespace["dense"].module.namespace["scale"].module
    assert module.namespace["losses"] is through_layers


def test_loads_with_a_path_imports_beside_it(tmp_path):
    write(tmp_path, losses=LOSSES)
    module = loads("import losses\ndef f(z: f32[b, c]) -> f32[b, c]:\n    return losses.scale(z)\n",
                   path=tmp_path / "main.dd")
    assert module.lower("f").outputs[0].type.shape == (ir.Sym.name("b"), ir.Sym.name("c"))


def test_the_stdlib_is_the_package_s_folder():
    assert STDLIB == Path(ddc.stdlib.__file__).parent


def test_stdlib_is_the_fallback(stdlib):
    write(stdlib, ddtest_helpers="def twice(x: float[n]) -> float[n]:\n    return 2 * x\n")
    module = loads("from ddtest_helpers import twice\ndef f(x: f32[n]) -> f32[n]:\n    return twice(x)\n")
    assert [n.prim.name for n in module.lower("f").nodes] == ["constant", "broadcast_in_dim", "mul"]


def test_a_missing_module_is_an_error_at_the_import(tmp_path):
    write(tmp_path, main="def f(x: f32) -> f32:\n    return x\n\nimport nowhere\n")
    with pytest.raises(DDImportError) as info:
        load(tmp_path / "main.dd")
    err = info.value
    assert (Path(err.file).name, err.line, err.col) == ("main.dd", 4, 1)
    assert "no module named 'nowhere'" in err.message


def test_a_missing_name_in_a_module_suggests_one(tmp_path):
    write(tmp_path, losses=LOSSES, main="from losses import squard\n")
    with pytest.raises(DDImportError) as info:
        load(tmp_path / "main.dd")
    assert (info.value.line, info.value.col) == (1, 20) and "did you mean 'squared'?" in info.value.message


def test_a_missing_module_function_suggests_one(tmp_path):
    write(tmp_path, losses=LOSSES, main="import losses\ndef f(z: f32[b, c]) -> f32[b, c]:\n    return losses.scal(z)\n")
    with pytest.raises(DDNameError) as info:
        load(tmp_path / "main.dd")
    assert (info.value.line, info.value.col) == (3, 12) and "did you mean 'scale'?" in info.value.message


def test_an_import_cycle_is_an_error_at_the_import_that_closes_it(tmp_path):
    write(tmp_path, a="import b\n", b="\nfrom c import g\n", c="import a\ndef g(x: f32) -> f32:\n    return x\n")
    with pytest.raises(DDImportError) as info:
        load(tmp_path / "a.dd")
    err = info.value
    assert (Path(err.file).name, err.line, err.col) == ("c.dd", 1, 1)
    assert "import cycle: a -> b -> c -> a" in err.message


def test_a_module_importing_itself_is_a_cycle(tmp_path):
    write(tmp_path, a="import a\n")
    with pytest.raises(DDImportError, match="import cycle: a -> a"):
        load(tmp_path / "a.dd")


def test_errors_in_imported_files_point_into_them(tmp_path):
    write(tmp_path, bad="def f(x: f32) -> f32\n    return x\n", main="import bad\n")
    with pytest.raises(DDSyntaxError) as info:
        load(tmp_path / "main.dd")
    assert Path(info.value.file).name == "bad.dd" and info.value.line == 1


def test_a_function_may_not_shadow_an_import(tmp_path):
    write(tmp_path, losses=LOSSES, main="from losses import scale\ndef scale(x: f32) -> f32:\n    return x\n")
    with pytest.raises(DDNameError) as info:
        load(tmp_path / "main.dd")
    assert info.value.line == 2 and "has the name of an import" in info.value.message


def test_an_unreadable_file():
    with pytest.raises(DDImportError, match="cannot read"):
        load("/nonexistent/model.dd")


def test_stdlib_modules_load_once_per_process_until_their_text_changes(stdlib):
    write(stdlib, ddtest_cached="def twice(x: float[n]) -> float[n]:\n    return 2 * x\n")
    user = "import ddtest_cached\ndef f(x: f32[n]) -> f32[n]:\n    return ddtest_cached.twice(x)\n"
    first, second = loads(user).module, loads(user).module
    assert first is not second  # the user's module is loaded afresh
    assert first.namespace["ddtest_cached"] is second.namespace["ddtest_cached"]
    write(stdlib, ddtest_cached="def twice(x: float[n]) -> float[n]:\n    return x + x\n")
    edited = loads(user)
    assert edited.module.namespace["ddtest_cached"] is not first.namespace["ddtest_cached"]
    assert [n.prim.name for n in edited.lower("f").nodes] == ["add"]


def test_a_stdlib_module_that_fails_its_check_is_not_kept(stdlib):
    write(stdlib, ddtest_broken="def bad(x: f32[n]) -> f32[n]:\n    return y\n")
    for _ in range(2):  # the second load reports the error again, not a half-checked module
        with pytest.raises(DDNameError) as info:
            loads("import ddtest_broken\n")
        assert (Path(info.value.file).name, info.value.line) == ("ddtest_broken.dd", 2)


def test_a_stdlib_function_s_graph_cache_stays_bounded(stdlib, monkeypatch):
    """Stdlib modules live as long as the process, so the graphs their functions cache (one
    per argument types) must not grow without end."""
    from ddc.dsl import library

    monkeypatch.setattr(library, "MAX_GRAPHS_PER_FUNCTION", 4)
    write(stdlib, ddtest_grow="def twice(x: float[n]) -> float[n]:\n    return 2 * x\n")
    for k in range(10):
        loads(f"import ddtest_grow\ndef f(x: f32[m{k}]) -> f32[m{k}]:\n    return ddtest_grow.twice(x)\n").lower("f")
    program = loads("import ddtest_grow\n")
    twice = program.module.namespace["ddtest_grow"].functions["twice"]
    assert 1 <= len(program.library.owner(twice).graphs[twice]) <= 4
