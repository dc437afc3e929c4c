"""Every class of bad input, one row each: the DDError subclass it gets, the file, line and
column it points at, what the message (or hint) tells the user, and that the printed
error quotes the source line with a caret under that column; the `ddc` command prints
exactly that and exits 1, without a traceback. docs/errors.md is this table in words; a
test checks that it lists every row."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

import ddc
from ddc import (CallError, DDError, DDImportError, DDIndexError, DDNameError, DDSyntaxError, DDTypeError,
                 NumericsError, TransformError)
from ddc.cli import main
from ddc.dsl.lower import GraphTooLarge

DOCS = Path(__file__).resolve().parents[2] / "docs" / "errors.md"

F32 = np.float32
SECRET = "$6$SECRET-HASH"  # what links point at holds this; no error may quote it


@dataclass
class Case:
    name: str
    error: type
    where: tuple[int, int]  # line, column
    says: tuple[str, ...]  # each in the message or the hint
    source: str  # model.dd
    action: Callable | None = None  # what is done with the loaded module, if loading works
    files: dict = field(default_factory=dict)  # other files beside model.dd
    links: dict = field(default_factory=dict)  # links beside model.dd -> files in a folder outside it
    file: str = "model.dd"  # where the error points


def f32(*shape):
    return np.ones(shape, F32)


SQUARES = ("def sq(v: f32[n], k: i32) -> f32:\n    return sum(v * v)\n\n"
           "def vec(v: f32[n]) -> f32[n]:\n    return v * v\n\n")
MM = "def mm(x: f32[n, d], W: f32[d, h]) -> f32[n, h]:\n    return x @ W\n"
STATIC = "def first(x: f32[3]) -> f32:\n    return x[0]\n"
TWO = "def two(x: f32[n], y: f32[n]) -> f32[n]:\n    return x * y\n"
LOG = "def f(x: f32[n]) -> f32:\n    y = x * 2.0\n    z = log(y)\n    return sum(z)\n"
EXP = "def f(x: f32[n]) -> f32[n]:\n    big = x * 100.0\n    return exp(big)\n"
TAKE = "def f(x: f32[n], i: i32[m]) -> f32[m]:\n    return x[i]\n"


def with_nans(call):
    def run(module):
        with ddc.config(debug_nans=True):
            call(module)
    return run


CASES = [
    # -- syntax ------------------------------------------------------------------------------
    Case("unexpected token", DDSyntaxError, (2, 15), ("expected an expression, found '*'",),
         "def f(x: f32) -> f32:\n    return x +* 2\n"),
    Case("dedent to no enclosing block", DDSyntaxError, (3, 1), ("bad indentation", "matches no enclosing block"),
         "def f(x: f32) -> f32:\n        y = x\n    return y\n"),
    Case("unexpected indent", DDSyntaxError, (3, 1), ("bad indentation: unexpected indent",),
         "def f(x: f32) -> f32:\n    y = x\n        z = y\n    return z\n"),
    Case("missing function body", DDSyntaxError, (1, 22), ("expected an indented function body after ':'",),
         "def f(x: f32) -> f32:\n"),
    Case("unclosed bracket", DDSyntaxError, (2, 12), ("unclosed '('", "add the matching ')'"),
         "def f(x: f32) -> f32:\n    y = exp(x\n    return y\n"),
    Case("unmatched bracket", DDSyntaxError, (2, 13), ("unmatched ')'",),
         "def f(x: f32) -> f32:\n    return x)\n"),
    Case("mismatched bracket", DDSyntaxError, (2, 14), ("']' does not match the '(' at line 2, column 12",),
         "def f(x: f32) -> f32:\n    return (x]\n"),
    Case("missing colon", DDSyntaxError, (1, 21), ("expected ':' after the signature",),
         "def f(x: f32) -> f32\n    return x\n"),
    Case("Python-only syntax", DDSyntaxError, (2, 5), ("'if' is Python syntax", "where(condition, x, y)"),
         "def f(x: f32) -> f32:\n    if x > 0:\n        return x\n"),
    Case("string literal", DDSyntaxError, (2, 12), ("the language has no strings",),
         "def f(x: f32) -> f32:\n    return 'x'\n"),
    Case("unicode look-alike name", DDSyntaxError, (2, 12), ("names must be ASCII",),
         "def f(x: f32) -> f32:\n    return \u0445\n"),  # Cyrillic ha
    Case("unknown dtype", DDSyntaxError, (1, 10), ("unknown dtype 'f16'", "bool, i32, i64, f32, f64, float"),
         "def f(x: f16) -> f32:\n    return x\n"),
    Case("keyword as a name", DDSyntaxError, (1, 5), ("'def' is a keyword, not a name", "rename it, e.g. to def_"),
         "def def(x: f32) -> f32:\n    return x\n"),
    Case("integer literal too large", DDSyntaxError, (2, 16), ("the integer 9223372036854775808 does not fit int64",
                                                               "write a float"),
         "def f(x: f64) -> f64:\n    return x + 9223372036854775808\n"),
    Case("no return", DDSyntaxError, (1, 5), ("function f has no return statement",),
         "def f(x: f32) -> f32:\n    y = x\n"),
    Case("expression nested too deeply", DDSyntaxError, (2, 12), ("nested too deeply", "several assignments"),
         "def f(x: f32) -> f32:\n    return " + "-(" * 150 + "x" + ")" * 150 + "\n"),
    # -- names ---------------------------------------------------------------------------------
    Case("undefined name", DDNameError, (2, 17), ("undefined name 'weigths'; did you mean 'weights'?",),
         "def f(weights: f32[n]) -> f32[n]:\n    return relu(weigths)\n"),
    Case("misspelled builtin", DDNameError, (2, 12), ("undefined name 'sigmod'; did you mean 'sigmoid'?",),
         "def f(x: f32[n]) -> f32[n]:\n    return sigmod(x)\n"),
    Case("unknown keyword argument", DDTypeError, (2, 19), ("sum() has no parameter 'axes'; did you mean 'axis'?",),
         "def f(x: f32[n, d]) -> f32[n]:\n    return sum(x, axes=1)\n"),
    Case("function defined twice", DDNameError, (4, 1), ("function f is defined twice (first at line 1)",),
         "def f(x: f32) -> f32:\n    return x\n\ndef f(x: f32) -> f32:\n    return x\n"),
    # -- types and shapes --------------------------------------------------------------------
    Case("shapes do not broadcast", DDTypeError, (2, 12), ("shapes [b,d] and [h] do not broadcast: dim d vs h",),
         "def f(x: f32[b, d], y: f32[h]) -> f32[b, d]:\n    return x + y\n"),
    Case("matmul dims differ", DDTypeError, (2, 12),
         ("matmul shapes f32[n,d] @ f32[k,m] do not match", "contracted dims are d (last of the left) and k"),
         "def f(x: f32[n, d], W: f32[k, m]) -> f32[n, m]:\n    return x @ W\n"),
    Case("return type differs from the signature", DDTypeError, (3, 12),
         ("f returns f32[n,d], but its signature declares f32[n]",),
         "def f(x: f32[n, d]) -> f32[n]:\n    y = x * 2\n    return y\n"),
    Case("a parameter dim written as an expression", DDTypeError, (1, 7),
         ("parameter 'x' has the dim n-1", "expressions like n-1 belong in the return type"),
         "def f(x: f32[n - 1]) -> f32:\n    return sum(x)\n"),
    Case("operation undefined on a dtype", DDTypeError, (2, 12), ("'+' is not defined on bool", "astype(x, i32)"),
         "def f(m: bool[n]) -> bool[n]:\n    return m + m\n"),
    Case("shape too large to index", DDTypeError, (2, 16),
         ("the shape [4000000000,4000000000] has more than 9223372036854775807 (2**63 - 1) elements",),
         "def f(x: f32) -> f32:\n    return sum(eye(4000000000) * x)\n"),
    Case("calls that inline to too many nodes", GraphTooLarge, (50, 21),
         ("inlining the calls f16 -> f15 (2 functions) would make a graph of 196606 IR nodes",
          "over the limit of 100000", "call it once and reuse the result"),
         "def f0(x: f32) -> f32:\n    return x * 2.0\n" + "".join(
             f"\ndef f{k}(x: f32) -> f32:\n    return f{k - 1}(x) + f{k - 1}(x)\n" for k in range(1, 17)),
         lambda m: m.f16.graph),
    Case("argument dims disagree in a call", DDTypeError, (5, 17),
         ("argument 'b' of g must be f32[d], got f32[m]: dim d = m, but an earlier argument bound d = k",),
         "def g(a: f32[n, d], b: f32[d]) -> f32[n]:\n    return a @ b\n\n"
         "def f(x: f32[b, k], y: f32[m]) -> f32[b]:\n    return g(x, y)\n"),
    Case("label index of the wrong shape", DDTypeError, (2, 12),
         ("x[arange(n), idx] picks one entry per row, so idx must have shape [n], got [c]",),
         "def f(z: f32[n, c], y: i32[c]) -> f32[n]:\n    return z[arange(n), y]\n"),
    # -- imports --------------------------------------------------------------------------------
    Case("module not found", DDImportError, (1, 1), ("no module named 'helpers'", "no helpers.dd in"),
         "import helpers\n"),
    Case("import cycle", DDImportError, (2, 1), ("import cycle: model -> b -> model", "move what both modules need"),
         "import b\n", files={"b.dd": "\nimport model\n"}, file="b.dd"),
    Case("name missing from a module", DDImportError, (1, 15), ("module b has no function 'squard'; did you mean 'squared'?",),
         "from b import squard\n", files={"b.dd": "def squared(x: f32) -> f32:\n    return x * x\n"}),
    Case("import of a link to a non-.dd file", DDImportError, (1, 1),
         ("secrets.dd is a link to something that is not a .dd file", "must be a .dd file"),
         "import secrets\n", links={"secrets.dd": "shadow"}),
    Case("file not UTF-8", DDImportError, (1, 1), ("b.dd is not UTF-8 text: byte 0xff", "save the file as UTF-8"),
         "import b\n", files={"b.dd": b"\xff\xfe"}, file="b.dd"),
    # -- transforms -------------------------------------------------------------------------
    Case("grad of a non-scalar output", TransformError, (8, 12),
         ("grad: vec returns f32[n]; it needs a scalar float output", "sum(...) or mean(...)"),
         SQUARES + "def f(x: f32[n]) -> f32[n]:\n    return grad(vec)(x)\n"),
    Case("grad w.r.t. an integer argument", TransformError, (8, 35), ("only float arguments have gradients",),
         SQUARES + "def f(x: f32[n], k: i32) -> i32:\n    return grad(sq, argnums=1)(x, k)\n"),
    Case("vmap batch sizes differ", TransformError, (8, 41),
         ("argument 1 has size c on its mapped axis, but argument 0 has size b",),
         SQUARES + "def f(xs: f32[b, n], k: i32[c]) -> f32[b]:\n    return vmap(sq, in_axes=(0, 0))(xs, k)\n"),
    Case("ddc.grad of a non-scalar output", TransformError, (4, 1),
         ("grad: vec returns f32[n]; it needs a scalar float output",),
         SQUARES, lambda m: ddc.grad(m.vec)(f32(3))),
    Case("ddc.grad w.r.t. an integer argument", TransformError, (1, 1),
         ("cannot differentiate sq w.r.t. argument 1 'k' of type i32[]: only float arguments have gradients",),
         SQUARES, lambda m: ddc.grad(m.sq, 1)(f32(3), 2)),
    Case("ddc.vmap batch sizes differ", CallError, (1, 20),
         ("vmap_two: dim B of parameter y is 4, but parameter x bound B = 3",),
         TWO, lambda m: ddc.vmap(m.two)(f32(3, 2), f32(4, 2))),
    # -- calls --------------------------------------------------------------------------------
    Case("wrong number of arguments", CallError, (1, 1), ("mm takes 2 arguments (x, W), got 1",),
         MM, lambda m: m.mm(f32(3, 4))),
    Case("wrong dtype", CallError, (1, 8), ("parameter x expects f32[n,d], got a float64 array", "np.float32"),
         MM, lambda m: m.mm(np.ones((3, 4)), f32(4, 5))),
    Case("wrong rank", CallError, (1, 22), ("parameter W expects 2 dims (f32[d,h]), got shape (4,)",),
         MM, lambda m: m.mm(f32(3, 4), f32(4))),
    Case("wrong static size", CallError, (1, 11), ("dim 0 of parameter x is 4, expected 3",),
         STATIC, lambda m: m.first(f32(4))),
    Case("inconsistent dim bindings", CallError, (1, 22), ("dim d of parameter W is 5, but parameter x bound d = 4",),
         MM, lambda m: m.mm(f32(3, 4), f32(5, 6))),
    Case("unknown keyword", CallError, (1, 1), ("mm has no parameter 'V'; parameters: x, W",),
         MM, lambda m: m.mm(f32(3, 4), V=f32(4, 5))),
    # -- indices (at call time, on every path) -------------------------------------------------
    Case("constant index beyond a symbolic dim", DDIndexError, (2, 12), ("x[-5] needs n >= 5, got n = 3",),
         "def f(x: f32[n]) -> f32:\n    return x[-5]\n", lambda m: m.f(f32(3))),
    Case("dim made negative by the call", DDIndexError, (2, 12), ("zeros(n - 5) needs n >= 5, got n = 3",),
         "def f(x: f32[n]) -> f32[n - 5]:\n    return zeros(n - 5)\n", lambda m: m.f(f32(3))),
    Case("tensor index outside its dim", DDIndexError, (2, 12), ("i[1] = 7 is outside [0, 4) for parameter i",),
         TAKE, lambda m: m.f(f32(4), np.array([0, 7], np.int32))),
    Case("negative tensor index", DDIndexError, (2, 12), ("i[0] = -1 is outside [0, 4) for parameter i",),
         TAKE, with_nans(lambda m: m.f(f32(4), np.array([-1], np.int32)))),
    Case("computed index outside its dim", DDIndexError, (2, 12), ("index[0] = 4 is outside [0, 4) in x[i + 1]",),
         "def f(x: f32[n], i: i32[m]) -> f32[m]:\n    return x[i + 1]\n", lambda m: m.f(f32(4), np.array([3], np.int32))),
    Case("label outside one_hot's classes", DDIndexError, (2, 12), ("y[1] = 3 is outside [0, 3) for parameter y",),
         "def f(y: i32[n]) -> f32[n, 3]:\n    return one_hot(y, 3)\n", lambda m: m.f(np.array([0, 3], np.int32))),
    # -- numerics (ddc.config(debug_nans=True)) ------------------------------------------------
    Case("NaN produced", NumericsError, (3, 9), ("log(f32[n]) produced a NaN (computing z)", "log(maximum(x, 1e-12))"),
         LOG, with_nans(lambda m: m.f(np.array([1, -1], F32)))),
    Case("inf produced from finite values", NumericsError, (3, 12), ("exp(f32[n]) produced an inf",),
         EXP, with_nans(lambda m: m.f(np.array([1, 2], F32)))),
    Case("NaN in an argument", NumericsError, (1, 1), ("argument 'x' of f contains a NaN",),
         LOG, with_nans(lambda m: m.f(np.array([1, np.nan], F32)))),
]


def raised(case: Case, folder: Path) -> DDError:
    for name, text in case.files.items():
        (folder / name).write_bytes(text if isinstance(text, bytes) else text.encode())
    for name, target in case.links.items():
        outside = folder.parent / f"{folder.name}-outside"
        outside.mkdir(exist_ok=True)
        (outside / target).write_text(f"root:{SECRET}:19000:0:99999:7:::\n")
        (folder / name).symlink_to(outside / target)
    (folder / "model.dd").write_text(case.source)
    with pytest.raises(DDError) as info:
        module = ddc.load(folder / "model.dd")
        if case.action is not None:
            case.action(module)
    return info.value


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_error_class_location_and_message(case, tmp_path):
    err = raised(case, tmp_path)
    assert type(err) is case.error, err
    assert (Path(err.file).name, err.line, err.col) == (case.file, *case.where), err
    for words in case.says:
        assert words in err.message or words in (err.hint or ""), err
    # file:line:col: kind: message, then the source line, then the caret under the column
    head, quoted, caret = str(err).splitlines()[:3]
    assert head == f"{err.file}:{err.line}:{err.col}: {err.kind}: {err.message}"
    gutter = quoted.index(" | ") + 3
    assert caret.index("^") - gutter == err.col - 1
    line = (tmp_path / case.file).read_bytes().decode(errors="replace").split("\n")[err.line - 1]
    assert quoted[gutter:] == line[:len(quoted) - gutter] or quoted.endswith("...")
    assert SECRET not in str(err)


def test_docs_list_every_error_class():
    text = DOCS.read_text()
    missing = [c.name for c in CASES if f"`{c.name}`" not in text]
    assert not missing, f"docs/errors.md lacks rows for {missing}"


LOAD_TIME = [c for c in CASES if c.action is None]


@pytest.mark.parametrize("case", LOAD_TIME, ids=[c.name for c in LOAD_TIME])
def test_the_cli_prints_the_error_and_exits_1(case, tmp_path, capsys):
    err = raised(case, tmp_path)
    assert main(["check", str(tmp_path / "model.dd")]) == 1
    printed = capsys.readouterr()
    assert printed.err == str(err) + "\n" and printed.out == "" and "Traceback" not in printed.err


def test_the_cli_prints_call_errors_at_the_parameter(tmp_path, capsys):
    (tmp_path / "model.dd").write_text(MM)
    np.save(tmp_path / "x.npy", np.ones((3, 4), F32))
    np.save(tmp_path / "W.npy", np.ones((5, 6), F32))
    status = main(["run", str(tmp_path / "model.dd"), "mm", "--arg", f"x={tmp_path / 'x.npy'}",
                   "--arg", f"W={tmp_path / 'W.npy'}"])
    lines = capsys.readouterr().err.splitlines()
    assert status == 1 and lines[0].endswith("model.dd:1:22: call error: mm: dim d of parameter W is 5, "
                                             "but parameter x bound d = 4 (axis 0)")
    assert lines[1] == "   1 | " + MM.splitlines()[0] and lines[2] == " " * 28 + "^" * 12
