"""Mutation fuzzing: valid programs (the stdlib files, the examples, the programs of these
tests) with tokens deleted, inserted, replaced, swapped and lines duplicated. Whatever the
result, loading it, lowering and compiling every function, and taking a gradient and a
vmap of one, either works or raises a `DDError` with a message: never another exception,
RecursionError included."""
from __future__ import annotations

import re
from pathlib import Path

import ddc
import pytest
from hypothesis import given, strategies as st

from ddc import dsl, ir
from ddc.api import Module

from .fuzzing import RAN, fuzz_settings

ROOT = Path(__file__).resolve().parents[2]
SEEDS = sorted((ROOT / "stdlib").glob("*.dd")) + sorted((ROOT / "examples").rglob("*.dd"))

# Newlines with their indentation, comments, names, numbers, operators, other spaces, and
# any other single character: joined back, the tokens give the text exactly.
TOKEN = re.compile(r"\n[ \t]*|#[^\n]*|[A-Za-z_]\w*|\d+\.\d*(?:[eE][-+]?\d+)?|\d+|\*\*|->|==|!=|<=|>=|\.\.\."
                   r"|[ \t]+|.", re.S)

# Inserted besides the seeds' own tokens: what makes programs deep, big, odd or hostile.
EXTRA = ["(", ")", "[", "]", ",", ":", "\n", "\n    ", "\n        ", "\t", "\\\n", "def", "return", "import",
         "from", "grad(", "vmap(", "value_and_grad(", "argnums=", "in_axes=", "(0, None)", "arange(n)",
         "[arange(n), y]", "1e400", "-1e400", "10**100", "2**64", "0", "-1", "None", "...", "true", "float",
         "i32", "f64[n, n]", "__import__", "np", "exec", "é", "х", "\u202e", "\x00", "'", '"', "if", "lambda",
         "-(" * 150, "x" + " + x" * 300, ".T", "[::2]", "[1:]", "keepdims=true", "axis=5", "@", "**"]


def tokens(text: str) -> list[str]:
    return TOKEN.findall(text)


OPERATORS = {"+", "-", "*", "/", "@", "**", "<", ">", "<=", ">=", "==", "!="}


def kind(token: str) -> str | None:
    """name, number or operator: a token replaced by one of its kind keeps the syntax, so
    the mutant reaches the checker and the lowering (None: any other token)."""
    if token[:1].isalpha() or token[:1] == "_":
        return "name"
    if token[:1].isdigit():
        return "number"
    return "operator" if token in OPERATORS else None


@st.composite
def mutants(draw):
    seed = draw(st.sampled_from(SEEDS))
    toks = tokens(seed.read_text(encoding="utf-8"))
    vocabulary = sorted(set(toks)) + EXTRA
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(toks) - 1))
        op = draw(st.sampled_from(["delete", "insert", "replace", "swap", "duplicate line"] + ["same kind"] * 5))
        if op == "same kind":
            if kind(toks[i]) is not None:
                toks[i] = draw(st.sampled_from([t for t in vocabulary if kind(t) == kind(toks[i])]))
        elif op == "delete":
            del toks[i]
        elif op == "insert":
            toks.insert(i, draw(st.sampled_from(vocabulary)))
        elif op == "replace":
            toks[i] = draw(st.sampled_from(vocabulary))
        elif op == "swap":
            j = draw(st.integers(0, len(toks) - 1))
            toks[i], toks[j] = toks[j], toks[i]
        else:
            lines = "".join(toks).split("\n")
            k = draw(st.integers(0, len(lines) - 1))
            lines.insert(draw(st.integers(0, len(lines))), lines[k])
            toks = tokens("\n".join(lines))
        if not toks:
            toks = [""]
    return seed, "".join(toks)


def load_and_compile(seed: Path, text: str) -> None:
    """Everything a user might do with the file: load it (imports resolve beside the seed),
    lower and compile each function in f32 and f64, differentiate and batch the first."""
    module = Module(dsl.loads(text, name=seed.stem, path=seed))
    for f in module.functions.values():
        for dtype in (ir.f32, ir.f64):
            f.compiled(dtype)
    for f in list(module.functions.values())[:1]:
        for transform in (ddc.grad, ddc.vmap):
            try:
                transform(f).compiled(ir.f64)
            except ddc.TransformError:
                pass  # e.g. grad of a non-scalar: the transform's own error


@fuzz_settings(ci_examples=150)
@given(mutants())
def test_fuzz_mutated_programs_load_or_fail_with_a_ddc_error(mutant):
    RAN["mutated programs: success or DDError"] += 1
    seed, text = mutant
    try:
        load_and_compile(seed, text)
    except ddc.DDError as e:
        assert e.message and str(e).strip(), text


@pytest.mark.parametrize("seed", SEEDS, ids=lambda p: p.name)
def test_seeds_are_valid_and_tokenize_exactly(seed):
    text = seed.read_text(encoding="utf-8")
    assert "".join(tokens(text)) == text
    load_and_compile(seed, text)
