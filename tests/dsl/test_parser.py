"""The grammar: every construct parses into the AST it should, and syntax errors say in
words what was expected, pointing at the right line and column."""
from __future__ import annotations

import numpy as np
import pytest

from ddc import DDSyntaxError, ir
from ddc.dsl import ast, loads
from ddc.dsl.parser import parse

from .util import close, lowered, run


def body_expr(text: str) -> ast.Expr:
    """The expression of `return <text>` in a one-line function."""
    module = parse(f"def f(x: f32) -> f32:\n    return {text}\n")
    return module.functions[0].ret.value


def shape_of(e) -> object:
    """An expression as nested tuples: ('op', left, right), names as strings, numbers as is."""
    if isinstance(e, ast.Name):
        return e.id
    if isinstance(e, (ast.Number, ast.Constant)):
        return e.value
    if isinstance(e, ast.BinOp):
        return (e.op, shape_of(e.left), shape_of(e.right))
    if isinstance(e, ast.UnaryOp):
        return (e.op, shape_of(e.operand))
    if isinstance(e, ast.TupleExpr):
        return tuple(shape_of(i) for i in e.items)
    if isinstance(e, ast.Call):
        return ("call", shape_of(e.func), tuple(shape_of(a) for a in e.args),
                tuple((k.name, shape_of(k.value)) for k in e.kwargs))
    if isinstance(e, ast.Attribute):
        return ("attr", shape_of(e.value), e.attr)
    if isinstance(e, ast.Subscript):
        return ("index", shape_of(e.value), tuple(shape_of(i) for i in e.items))
    if isinstance(e, ast.Slice):
        return ("slice", *(None if p is None else shape_of(p) for p in (e.start, e.stop, e.step)))
    raise AssertionError(e)


@pytest.mark.parametrize("text, tree", [
    ("-x ** 2", ("-", ("**", "x", 2))),  # ** binds tighter than unary minus
    ("2 ** -x", ("**", 2, ("-", "x"))),
    ("x ** 2 ** 3", ("**", "x", ("**", 2, 3))),  # right-associative
    ("a - b - c", ("-", ("-", "a", "b"), "c")),  # left-associative
    ("a + b * c", ("+", "a", ("*", "b", "c"))),
    ("a @ b + c", ("+", ("@", "a", "b"), "c")),
    ("a / b @ c", ("@", ("/", "a", "b"), "c")),
    ("x < y + 1", ("<", "x", ("+", "y", 1))),
    ("(a + b) * c", ("*", ("+", "a", "b"), "c")),
    ("-(a) == +b", ("==", ("-", "a"), ("+", "b"))),
    ("a != b", ("!=", "a", "b")),
    ("a >= b", (">=", "a", "b")),
    ("a <= b", ("<=", "a", "b")),
    ("a > b", (">", "a", "b")),
])
def test_precedence_and_associativity_follow_python(text, tree):
    assert shape_of(body_expr(text)) == tree


@pytest.mark.parametrize("text, value", [
    ("1", 1), ("0.5", 0.5), ("1e-3", 1e-3), ("2.", 2.0), (".25", 0.25), ("3E2", 300.0),
    ("true", True), ("True", True), ("false", False), ("False", False), ("None", None),
])
def test_literals(text, value):
    e = body_expr(text)
    assert e.value == value and type(e.value) is type(value)


def test_tuples_lists_calls_attributes_and_indexing():
    assert shape_of(body_expr("(a, b)")) == ("a", "b")
    assert shape_of(body_expr("(a,)")) == ("a",)
    assert shape_of(body_expr("()")) == ()
    assert shape_of(body_expr("[a, b,]")) == ("a", "b")
    assert shape_of(body_expr("[]")) == ()
    assert shape_of(body_expr("f(a, b=1)")) == ("call", "f", ("a",), (("b", 1),))
    assert shape_of(body_expr("f()")) == ("call", "f", (), ())
    assert shape_of(body_expr("grad(f, argnums=(0, 1))(a, b)")) == (
        "call", ("call", "grad", ("f",), (("argnums", (0, 1)),)), ("a", "b"), ())
    assert shape_of(body_expr("x.T")) == ("attr", "x", "T")
    assert shape_of(body_expr("losses.xent(z)")) == ("call", ("attr", "losses", "xent"), ("z",), ())
    assert shape_of(body_expr("x[0]")) == ("index", "x", (0,))
    assert shape_of(body_expr("x[-1]")) == ("index", "x", (("-", 1),))
    assert shape_of(body_expr("x[:, 1:3]")) == ("index", "x", (("slice", None, None, None), ("slice", 1, 3, None)))
    assert shape_of(body_expr("x[::2]")) == ("index", "x", (("slice", None, None, 2),))
    assert shape_of(body_expr("x[..., 0]")) == ("index", "x", (..., 0))
    assert shape_of(body_expr("x[idx]")) == ("index", "x", ("idx",))


def test_functions_signatures_statements_comments():
    source = """# a comment before anything

import losses
from layers import dense, relu_layer   # two names

def f(x: f32[n, d], w: float[d, 3], k: i32, m: i64[2], flag: bool, y: f64[]) -> (f32[n], float):
    # a comment line inside the body

    a = x   # trailing comment
    b, c = a, w
    (p, q), r = (a, b), c
    s, = (a,)
    t = f(x,
          w, k,   # a call spread over lines
          m, flag, y)
    u = x + \\
        1
    return a, b,

def g() -> f32:
    return 1.0
"""
    module = parse(source, "m.dd")
    assert [i.module for i in module.imports] == ["losses", "layers"]
    assert [n for n, _ in module.imports[1].names] == ["dense", "relu_layer"]
    f, g = module.functions
    assert [p.name for p in f.params] == ["x", "w", "k", "m", "flag", "y"]
    assert [str(p.type) for p in f.params] == ["f32[n,d]", "float[d,3]", "i32", "i64[2]", "bool", "f64"]
    assert f.returns_tuple and [str(t) for t in f.returns] == ["f32[n]", "float"]
    assert not g.returns_tuple and g.params == ()
    targets = [shape_of(s.target) for s in f.body]
    assert targets == ["a", ("b", "c"), (("p", "q"), "r"), ("s",), "t", "u"]
    assert shape_of(f.ret.value) == ("a", "b")
    assert (f.span.line, f.span.col) == (6, 1)
    assert (f.body[1].value.span.line, f.body[1].value.span.col) == (10, 12)


def test_parenthesized_single_return_type_is_not_a_tuple():
    f, g = parse("def f(x: f32) -> (f32):\n    return x\ndef g(x: f32) -> (f32,):\n    return x,\n").functions
    assert not f.returns_tuple and g.returns_tuple


def test_source_without_final_newline_and_with_crlf():
    assert parse("def f(x: f32) -> f32:\n    return x").functions[0].name == "f"
    assert parse("def f(x: f32) -> f32:\r\n    return x\r\n").functions[0].name == "f"


def test_every_construct_lowers_and_round_trips():
    source = """
def main(x: float[n, d], idx: i32[k], W: float[d, d]) -> (float[n, d], float[k, d], float[d], float):
    h = helper(x, W)            # a function defined further down
    a, b = h[..., 0], h[:, 1:3]
    c = -x ** 2 + 2 ** -1 * x / d - (x @ W.T) @ W
    m = where(x >= 0, x, 0.5 * x) + sum(a) * 1e-3
    return m + c, x[idx], x[-1], mean(b) + max(x) + min(x[0, :])

def helper(x: float[n, d], W: float[d, d]) -> float[n, d]:
    return relu(x @ W)
"""
    for dtype in (ir.f32, ir.f64):
        graph = lowered(source, "main", dtype)
        assert [v.dtype for v in graph.inputs] == [dtype, ir.i32, dtype]


def test_numbers_of_a_program_that_uses_most_syntax():
    source = """
def f(x: f64[n, 3], i: i32[2]) -> (f64[n, 3], f64[2, 2], f64):
    y = -x ** 2 + x / 2 - (1 - x) * 3
    return y, x[i][:, ::2], 2 ** 3 ** 2 + x[-1, -1]
"""
    x = np.arange(12.0).reshape(4, 3)
    i = np.array([3, 1], np.int32)
    y, z, s = run(source, "f", x, i, dtype=ir.f64)
    close(y, -x ** 2 + x / 2 - (1 - x) * 3)
    close(z, x[i][:, ::2])
    close(s, 2 ** 3 ** 2 + x[-1, -1])


def test_names_are_ascii_only():
    err = pytest.raises(DDSyntaxError, loads, "def f(x: f32) -> f32:\n    \u03b1 = x\n    return x\n").value
    assert (err.line, err.col) == (2, 5) and "ASCII" in err.message


# -- syntax errors --------------------------------------------------------------------------------

@pytest.mark.parametrize("source, line, col, fragment", [
    ("def f(x: f32) -> f32\n    return x\n", 1, 21, "expected ':' after the signature"),
    ("def f(x: f32) -> f32:\n    y = x +* 2\n    return y\n", 2, 12, "expected an expression, found '*'"),
    ("def f(x: f32):\n    return x\n", 1, 14, "expected '->'"),
    ("def f(x: f32) -> f32:\n    y = exp(x\n    return y\n", 2, 12, "unclosed '('"),
    ("def f(x: f32[n]) -> f32:\n    y = x[0\n    return y\n", 2, 10, "unclosed '['"),
    ("def f(x: f32) -> f32:\n    return exp((x)\n", 2, 15, "unclosed '('"),
    ("def f(x: f32) -> f32:\n        y = x\n    return y\n", 3, 1, "bad indentation"),
    ("def f(x: f32) -> f32:\n    y = x\n        z = y\n    return z\n", 3, 1, "bad indentation: unexpected indent"),
    ("def f(x: f32) -> f32:\nreturn x\n", 2, 1, "expected an indented function body"),
    ("def f(x: f32) -> f32:\n    return x < 1 < 2\n", 2, 18, "comparisons cannot be chained"),
    ("def f(x: f32) -> f32:\n    return $x\n", 2, 12, "unexpected character '$'"),
    ("def f(x: f16) -> f32:\n    return x\n", 1, 10, "unknown dtype 'f16'"),
    ("def f(x: f32) -> f32:\n    y = x\n", 1, 5, "has no return statement"),
    ("def f(x: f32) -> f32:\n    return x\n    y = x\n", 3, 5, "return must come last"),
    ("def f(x: f32) -> f32:\n    return g(a=1, x)\n", 2, 19, "positional argument after a keyword"),
    ("def f(x: f32) -> f32:\n    return g(a=1, a=2)\n", 2, 19, "repeated"),
    ("def f(x: f32) -> f32:\n    return x)\n", 2, 13, "unmatched ')'"),
])
def test_syntax_errors_say_what_was_expected(source, line, col, fragment):
    with pytest.raises(DDSyntaxError) as info:
        parse(source, "bad.dd")
    err = info.value
    assert (err.file, err.line, err.col) == ("bad.dd", line, col)
    assert fragment in err.message
    assert "Token(" not in str(err) and "Expected one of" not in str(err)


def test_syntax_error_message_quotes_the_line_with_a_caret():
    with pytest.raises(DDSyntaxError) as info:
        parse("def f(x: f32) -> f32:\n    y = exp(x\n    return y\n", "bad.dd")
    text = str(info.value)
    assert text.splitlines()[0] == "bad.dd:2:12: syntax error: unclosed '('"
    assert "    y = exp(x" in text and text.splitlines()[2].endswith("^")
