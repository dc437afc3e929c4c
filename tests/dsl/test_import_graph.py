"""The front end's modules import each other one way: read from their source with `ast`,
every import counted (those inside functions too), the graph has no cycle."""
import ast
from pathlib import Path

import pytest

import ddc.dsl

FOLDER = Path(ddc.dsl.__file__).parent
PACKAGE = "ddc.dsl"


def _imports(path: Path) -> set[str]:
    """The modules of the package that `path` imports."""
    own = {p.stem for p in FOLDER.glob("*.py")} - {"__init__"}
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level == 1:
                base = f"{PACKAGE}.{base}" if base else PACKAGE
            elif node.level:
                continue
            if base == PACKAGE:  # `from . import ast, shapes`
                found |= {f"{PACKAGE}.{a.name}" for a in node.names if a.name in own}
            elif base.startswith(PACKAGE + "."):
                found.add(base)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith(PACKAGE + ".")}
    return found


def _graph() -> dict[str, set[str]]:
    return {f"{PACKAGE}.{p.stem}": _imports(p) for p in FOLDER.glob("*.py") if p.stem != "__init__"}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, str] = {}

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = "active"
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "active":
                return path[path.index(nxt):] + [node, nxt] if nxt in path else [node, nxt]
            if nxt not in state:
                found = visit(nxt, path + [node])
                if found:
                    return found
        state[node] = "done"
        return None

    for start in sorted(graph):
        if start not in state:
            found = visit(start, [])
            if found:
                return found
    return None


def test_the_front_end_imports_have_no_cycle():
    graph = _graph()
    assert "ddc.dsl.check" in graph and "ddc.dsl.lower" in graph["ddc.dsl.loader"]  # the reader works
    assert _cycle(graph) is None, " -> ".join(_cycle(graph))


def test_the_cycle_finder_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


@pytest.mark.parametrize("module", ["program", "checked"])
def test_the_plain_data_modules_import_only_types_and_the_ast(module):
    assert _imports(FOLDER / f"{module}.py") <= {"ddc.dsl.ast", "ddc.dsl.types"}
