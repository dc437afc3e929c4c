"""The backends do not import each other: `codegen/numpy/` and `codegen/triton/` each use
`codegen/common/` (which imports neither), read from their import statements with `ast`,
relative imports resolved."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

CODEGEN = Path(__file__).resolve().parents[2] / "codegen"
PACKAGES = ("numpy", "triton", "common")


def imported_modules(path: Path) -> set[str]:
    """Every module `path` imports, as `ddc.codegen....` names (relative ones resolved)."""
    package = ["ddc", "codegen", *path.relative_to(CODEGEN).parent.parts]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            found.add(module)
            found |= {f"{module}.{a.name}" for a in node.names}  # `from . import runtime`
    return found


def backend_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[2] if parts[:2] == ["ddc", "codegen"] and len(parts) > 2 and parts[2] in PACKAGES else None


@pytest.mark.parametrize("package", PACKAGES)
def test_no_backend_imports_another(package):
    allowed = {package, "common"}
    files = sorted((CODEGEN / package).glob("*.py"))
    assert files
    for path in files:
        reached = {backend_of(m) for m in imported_modules(path)} - {None}
        assert reached <= allowed, f"{path.relative_to(CODEGEN)} imports {sorted(reached - allowed)}"


def test_the_dispatcher_is_the_one_place_that_knows_both():
    assert (CODEGEN / "__init__.py").exists()
    assert sorted(p.name for p in CODEGEN.glob("*.py")) == ["__init__.py"]
