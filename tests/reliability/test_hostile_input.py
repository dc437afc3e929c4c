"""A `.dd` file cannot run Python code. Identifiers built to escape (dunders, names of
numpy, of Python builtins and of the runtime's helpers, minted-looking names,
10,000-character names; Python's keywords are no names at all), comments full of code, quotes and backslashes, unicode
look-alikes and hostile file names either compile to the right numbers or are a clean
DDError; nothing runs (each payload would create a sentinel file, which must never
appear); and the generated source binds only minted names and contains none of the text.
The generated code is checked for the function, its gradient and its vmap, and for the
standalone module `ddc compile` writes."""
from __future__ import annotations

import ast
import io
import keyword
import tokenize

import numpy as np
import pytest

import ddc
from ddc.codegen.numpy import runtime as numpy_runtime
from ddc.codegen.common.naming import MINTED
from ddc.codegen.numpy.backend import module_source

SENTINEL = "pwned"
PAYLOAD = f"__import__('os').system('touch {SENTINEL}'); open('{SENTINEL}', 'w')"

NAMES = [
    "__import__", "__builtins__", "__class__", "__init__", "__dict__", "exec", "eval", "compile", "print",
    "open", "getattr", "globals", "np", "numpy", "os", "sys", "builtins", "f32", "i32", "check_array",
    "dim_error", "logistic", "gather", "match", "case", "t_1", "x_0",
    "dim_3", "_", "__", "_0", "X" * 10_000,
]
# Names the generated code itself uses (numpy, the runtime's helpers and dtypes): those
# may appear in it, but are never bound by it.
USED_BY_GENERATED_CODE = {"np"} | {name for name in vars(numpy_runtime) if not name.startswith("__")}

TEMPLATES = {
    "parameter and local": ("def f(NAME: f32[n], w: f32[n]) -> f32:\n"
                            "    t = NAME * w\n    NAME = t + 1.0\n    return sum(NAME)\n",
                            lambda x, w: np.sum(x * w + 1.0)),
    "dim": ("def f(x: f32[NAME], w: f32[NAME]) -> f32:\n    return sum(x * w)\n",
            lambda x, w: np.sum(x * w)),
    "function": ("def NAME(x: f32[n], w: f32[n]) -> f32:\n    return sum(x * w)\n\n"
                 "def f(x: f32[n], w: f32[n]) -> f32:\n    return NAME(x, w) + grad(NAME)(x, w)[0]\n",
                 lambda x, w: np.sum(x * w) + w[0]),
}


@pytest.fixture(autouse=True)
def in_tmp(tmp_path, monkeypatch):
    """Run each test in an empty folder, and fail it if the sentinel shows up there."""
    monkeypatch.chdir(tmp_path)
    yield
    assert not (tmp_path / SENTINEL).exists(), "a .dd file ran code"


def bound_names(source: str) -> set[str]:
    """Every name the source binds: functions, parameters, assignment targets."""
    tree = ast.parse(source)
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef):
            names.add(node.name)
            names.update(a.arg for a in node.args.args)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
    return names


def tokens(source: str) -> list[tokenize.TokenInfo]:
    return list(tokenize.generate_tokens(io.StringIO(source).readline))


def name_tokens(source: str) -> set[str]:
    return {t.string for t in tokens(source) if t.type == tokenize.NAME}


def exported(graph) -> str:
    """The function `ddc compile` writes into a standalone module (after the runtime's
    helpers, which the module holds verbatim), renamed to a minted-looking name."""
    source = module_source(graph, "exported_0")
    tree = ast.parse(source)
    (fn,) = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "exported_0"]
    return ast.get_source_segment(source, fn)


def assert_safe(source: str, hostile: str) -> None:
    """The hostile identifier is never code: every name the source binds is minted, and
    the identifier is no token of it. Argument checks quote DSL names in messages: those
    are string literals (repr of an ASCII identifier), so all of the source outside its
    string literals is free of the text too."""
    assert all(MINTED.fullmatch(name) for name in bound_names(source))
    assert hostile not in bound_names(source)
    if hostile not in USED_BY_GENERATED_CODE:
        assert hostile not in name_tokens(source)
    code = " ".join(t.string for t in tokens(source) if t.type not in (tokenize.STRING, tokenize.COMMENT))
    if "__" in hostile or len(hostile) > 24:
        assert hostile not in code
    for t in tokens(source):
        if t.type == tokenize.STRING:
            assert isinstance(ast.literal_eval(t.string), str)
    assert SENTINEL not in source and "system" not in name_tokens(source)


@pytest.mark.parametrize("where", TEMPLATES)
@pytest.mark.parametrize("name", NAMES, ids=lambda n: n if len(n) < 30 else f"{n[:3]}...x{len(n)}")
def test_hostile_identifiers_compute_right_and_never_reach_the_code(name, where):
    template, numpy_f = TEMPLATES[where]
    try:
        f = ddc.loads(template.replace("NAME", name), name="hostile.dd").f
    except ddc.DDError as e:  # e.g. a dim named like a dtype: a clean error is fine
        assert e.span is not None and str(e)
        return
    x, w = np.arange(1.0, 4.0, dtype=np.float32), np.array([0.5, -1.0, 2.0], np.float32)
    np.testing.assert_allclose(f(x, w), numpy_f(x, w), rtol=1e-6)
    transformed = (ddc.grad(f), ddc.vmap(f)) if where == "parameter and local" else ()
    for source in [f.source, exported(f.graph)] + [t.source for t in transformed]:
        assert_safe(source, name)


# every place a name goes: function, parameter, dim, variable, attribute, keyword argument, module
NAME_PLACES = {
    **{where: template for where, (template, _) in TEMPLATES.items()},
    "attribute": "import losses\n\ndef f(x: f32[n], w: f32[n]) -> f32:\n    return losses.NAME(x)\n",
    "keyword argument": "def f(x: f32[n], w: f32[n]) -> f32:\n    return sum(x, NAME=0)\n",
    "module": "import NAME\n",
    "imported name": "from losses import NAME\n",
}


@pytest.mark.parametrize("where", NAME_PLACES)
@pytest.mark.parametrize("word", sorted(set(keyword.kwlist) | {"true", "false"}))
def test_keywords_are_no_names(word, where):
    source = NAME_PLACES[where].replace("NAME", word)
    try:
        _ = ddc.loads(source, name="keyword.dd").f
    except ddc.DDSyntaxError as e:
        template = NAME_PLACES[where].split("\n")
        first = template.index(next(line for line in template if "NAME" in line)) + 1
        assert e.line == first and e.span.line_text()[e.col - 1:].startswith(word), e
        assert e.message == f"'{word}' is a keyword, not a name", e
        return
    except ddc.DDError as e:
        pytest.fail(f"{word} as a {where}: {type(e).__name__}: {e}")
    pytest.fail(f"{word} is accepted as a {where}")


def test_hostile_names_in_call_errors_are_quoted_safely():
    f = ddc.loads(TEMPLATES["parameter and local"][0].replace("NAME", "X" * 10_000), name="hostile.dd").f
    with pytest.raises(ddc.CallError) as info:
        f(np.ones(3, np.float32), np.ones(4, np.float32))
    assert "X" * 100 not in info.value.message and "but argument 0 bound n = 3" in info.value.message


COMMENTS = [
    f"# {PAYLOAD}",
    "# ''' \"\"\" \\ \\\\ \\n \\x00 {} %s",
    "# \u202e evil bidi override \u202c and a zero-width joiner \u200d",
    f"# \x00 \x0c \x1b[31m {PAYLOAD}",
    f"#\\\n# {PAYLOAD}",
]


@pytest.mark.parametrize("comment", COMMENTS, ids=["code", "quotes and backslashes", "bidi", "controls", "continuation"])
def test_comments_never_reach_the_code(comment):
    source = f"{comment}\ndef f(x: f32[n]) -> f32:  {comment}\n    {comment}\n    y = x * 2.0  {comment}\n    return sum(y)\n"
    f = ddc.loads(source, name="commented.dd").f
    assert f(np.ones(3, np.float32)) == 6.0
    for text in (f.source, ddc.grad(f).source, exported(f.graph)):
        assert "import" not in name_tokens(text) and SENTINEL not in text and "bidi" not in text


@pytest.mark.parametrize("text", [
    f"def f(x: f32) -> f32:\n    return x + {PAYLOAD}\n",
    'def f(x: f32) -> f32:\n    return x + "\\"; __import__(\'os\')"\n',
    "def f(x: f32) -> f32:\n    return x \\\n    + 1.0; __import__('os')\n",
    "def f(x: f32) -> f32:\n    return \u0435xp(x)\n",  # Cyrillic e
    "def f(x: f32) -> f32:\n    return ｘ\n",  # fullwidth x
    "def f(x: f32) -> f32:\n    return x\u200b\n",  # zero-width space
    "def f(x: f32) -> f32:\n    return x.__class__\n",
    "def f(x: f32) -> f32:\n    return x.__globals__\n",
    "def f(x: f32) -> f32:\n    return __import__(x)\n",
    "def f(x: f32) -> f32:\n    return exec(x)\n",
    "def f(x: f32) -> f32:\n    return np.exp(x)\n",
    "def f(x: f32) -> f32:\n    return x[__import__]\n",
    "import os\ndef f(x: f32) -> f32:\n    return x\n",
    "from os import system\ndef f(x: f32) -> f32:\n    return x\n",
], ids=["code in an expression", "string", "line continuation", "Cyrillic e", "fullwidth x", "zero-width space",
        "dunder attribute", "globals attribute", "__import__", "exec", "np.exp", "dunder index", "import os",
        "from os import"])
def test_code_in_expressions_is_a_clean_error(text):
    with pytest.raises(ddc.DDError) as info:
        ddc.loads(text, name="hostile.dd").f(1.0)
    assert info.value.span is not None and info.value.line >= 1 and str(info.value)


def test_hostile_file_names(tmp_path):
    name = f"x'); {PAYLOAD} #\"\\"
    path = tmp_path / f"{name}.dd"
    path.write_text("def f(x: f32) -> f32:\n    return x * 2.0\n")
    f = ddc.load(path).f
    assert f(1.5) == 3.0
    assert "system" not in f.source and SENTINEL not in f.source
    path.write_text("def f(x: f32) -> f32:\n    return y\n")
    with pytest.raises(ddc.DDNameError) as info:
        ddc.load(path)
    assert info.value.file == str(path) and str(info.value).startswith(str(path))


def test_numbers_are_re_emitted_from_their_values():
    f = ddc.loads("def f(x: f64) -> (f64, f64, f64):\n    return x * 1e400, x * 1e-400, x + 0.1000000000000000055511151231257827\n").f
    big, tiny, tenth = f(np.float64(1.0))
    assert big == np.inf and tiny == 0.0 and tenth == 1.1
    assert "1e400" not in f.source and "0.1000000000000000055511151231257827" not in f.source
    with pytest.raises(ddc.DDTypeError, match="does not fit i32"):
        ddc.loads("def f(k: i32) -> i32:\n    return k + 99999999999\n")
    with pytest.raises(ddc.DDSyntaxError, match="does not fit int64"):
        ddc.loads("def f(k: i32) -> i32:\n    return k + 99999999999999999999999\n")
