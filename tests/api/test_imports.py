"""What importing a part of ddc loads: `ddc.ir` is the ground floor, and `import ddc` is
cheap until a name of the front end is used."""
import subprocess
import sys

ABOVE_IR = ("ddc.dsl", "ddc.passes", "ddc.codegen", "ddc.api", "ddc.function", "lark")


def _loaded_after(statement: str) -> list[str]:
    code = f"{statement}; import sys; print(' '.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return out.split()


def _above_ir(modules: list[str]) -> list[str]:
    return [m for m in modules if any(m == p or m.startswith(p + ".") for p in ABOVE_IR)]


def test_importing_the_ir_loads_nothing_above_it():
    assert _above_ir(_loaded_after("import ddc.ir")) == []


def test_importing_ddc_defers_the_front_end():
    assert _above_ir(_loaded_after("import ddc")) == []


def test_every_public_name_of_ddc_resolves():
    import ddc

    for name in ddc.__all__:
        assert getattr(ddc, name) is not None, name
    assert set(ddc.__all__) <= set(dir(ddc))
    assert ddc.testing.check_grads is not None


def test_errors_are_one_hierarchy_whichever_path_names_them():
    import ddc
    import ddc.errors
    import ddc.ir.errors

    for name in ("Span", "DDError", "IRError", "CallError", "DDIndexError"):
        assert getattr(ddc, name) is getattr(ddc.errors, name) is getattr(ddc.ir.errors, name)
    assert issubclass(ddc.DDTypeError, ddc.ir.errors.DDError)


def test_no_module_of_the_ir_names_anything_above_it():
    """Read from the source, imports inside functions included: the subprocess test above
    sees only what one `import` happens to run."""
    import ast
    from pathlib import Path

    import ddc.ir

    def above(name: str) -> bool:
        return name == "lark" or ((name == "ddc" or name.startswith("ddc.")) and not name.startswith("ddc.ir"))

    upward = []
    for path in sorted(Path(ddc.ir.__file__).parent.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            upward += [f"{path.name}: {n}" for n in names if above(n)]
    assert upward == []
