"""`ir.parse_graph` on malformed IR text: a graph, or an `IRError` at the line it cannot
read, never another exception. Named cases (a dim `n*`, `f32[-3]`, a truncated line, an
unknown primitive, params of the wrong shape, 5000-digit numbers, tuples nested 5000
deep), then printed graphs mutated by hypothesis."""
from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest
from hypothesis import given, strategies as st

import ddc
from ddc import IRError
from ddc.ir import parse_graph

from .fuzzing import RAN, fuzz_settings

ROOT = Path(__file__).resolve().parents[2]


@cache
def printed() -> tuple[str, ...]:
    mlp = ddc.load(ROOT / "examples" / "mlp.dd")
    losses = ddc.load(ROOT / "stdlib" / "losses.dd")
    functions = (mlp.mlp, ddc.grad(mlp.loss, (0, 1, 2)), ddc.vmap(mlp.mlp, (0, None, None, None)), losses.softmax)
    return tuple(str(f.graph) for f in functions)


MLP = ("graph mlp(%x:f32[b,d], %W1:f32[d,h]):\n"
       "  %0:f32[b,h] = dot_general[contract=((1,),(0,)), batch=((),())] %x %W1\n"
       "  %1:f32[] = constant[value=0.0, dtype=f32]\n"
       "  return %0\n")


@pytest.mark.parametrize("old, new, where, says", [
    ("f32[b,d]", "f32[n*]", (1, 1), "bad dim expression 'n*'"),
    ("f32[b,d]", "f32[-3]", (1, 1), "negative dim -3"),
    ("f32[b,h] = dot_general", "f32[b,h] = frobnicate", (2, 3), "unknown primitive 'frobnicate'"),
    ("contract=((1,),(0,))", "contract=((1,),)", (2, 3), "cannot read IR line"),
    ("contract=((1,),(0,))", "contract=((1" + "0" * 5000 + ",),(0,))", (2, 3), "does not fit int64"),
    ("f32[b,d]", "f32[" + "9" * 5000 + "]", (1, 1), "does not fit int64"),
    ("value=0.0", "value=" + "9" * 5000, (3, 3), "does not fit int64"),
    ("contract=((1,),(0,))", "contract=" + "(" * 5000 + ")" * 5000, (2, 3), "nests tuples more than"),
    ("dtype=f32]", "dtype=f16]", (3, 3), "unknown dtype 'f16'"),
    ("  return %0\n", "", (3, 3), "missing 'return'"),
    ("%x %W1", "%x %W2", (2, 3), "%W2 used before definition"),
    ("%x %W1", "%x", (2, 3), "dot_general takes 2 inputs, got 1"),
    ("dot_general[contract=((1,),(0,)), batch=((),())] %x %W1", "dot_general[contract=((1,),(0,)), batch=((),())",
     (2, 3), "cannot read IR line"),  # truncated
    ("  return %0\n", "  return %0\n  %2:f32[] = neg %1\n", (5, 3), "a line after 'return'"),
    ("graph mlp(", "graf mlp(", (1, 1), "expected 'graph NAME(...):', got 'graf mlp("),
    ("%x:f32[b,d]", "%x:f33[b,d]", (1, 1), "bad type 'f33[b,d]'"),
    ("%x:f32[b,d]", "%x:f32", (1, 1), "bad type 'f32'"),
    ("%W1:f32[d,h]", "%x:f32[d,h]", (1, 1), "%x defined twice"),
    ("%1:f32[]", "%0:f32[]", (3, 3), "%0 defined twice"),
    ("f32[b,d]", "f32[b+" + "9" * 30 + "]", (1, 1), "dim b+9999999999999999999999... has an integer that does not fit int64"),
    ("%0:f32[b,h] =", "%0:f32[b,d] =", (2, 3), "%0: written type f32[b,d] but dot_general gives f32[b,h]"),
    ("%W1:f32[d,h]", "%W1:f64[d,h]", (2, 3), "dot_general: dtypes differ: f32[b,d] vs f64[d,h]"),  # the type rule's words
    ("value=0.0, dtype=f32]", "value=1.5, dtype=i32]", (3, 3), "constant: value 1.5 does not fit dtype i32"),
    ("value=0.0, dtype=f32", "value=0.0, dtype=f32, extra=1", (3, 3), "constant: missing params [], unexpected ['extra']"),
    ("value=0.0, dtype=f32", "dtype=f32", (3, 3), "constant: missing params ['value'], unexpected []"),
    ("value=0.0, dtype=f32", "value=0.0, dtype", (3, 3), "bad param 'dtype'"),
    ("value=0.0", "value=n*", (3, 3), "bad param value=n*: bad dim expression 'n*'"),
    ("batch=((),())", "batch=((),()", (2, 3), "bad param batch=("),
    ("  return %0\n", "  return %0, %9\n", (4, 3), "%9 used before definition"),
])
def test_malformed_ir_is_an_ir_error_at_its_line(old, new, where, says):
    assert old in MLP
    with pytest.raises(IRError) as info:
        parse_graph(MLP.replace(old, new))
    assert (info.value.line, info.value.col) == where and says in info.value.message, info.value
    assert str(info.value).startswith(f"<ir>:{where[0]}:{where[1]}: IR error: ")


@pytest.mark.parametrize("text", ["", "\n", "   \n\t\n"])
def test_empty_text_is_an_error_at_its_start(text):
    with pytest.raises(IRError, match="empty IR text") as info:
        parse_graph(text, file="blank.ir")
    assert (info.value.file, info.value.line, info.value.col) == ("blank.ir", 1, 1)


def test_the_file_name_is_the_one_given():
    with pytest.raises(IRError) as info:
        parse_graph(MLP.replace("%x:f32[b,d]", "%x:f33[b,d]"), file="model.ir")
    assert str(info.value).startswith("model.ir:1:1: IR error: bad type")


def test_printed_graphs_read_back_exactly():
    for text in printed():
        assert str(parse_graph(text)) == text


PIECES = ["n*", "-3", "f32[-3]", "[", "]", "(", ")", ",", "%", "=", ":", "9" * 5000, "1e999", "nan", "-inf",
          "(" * 1000, ")" * 1000, "foo", "%0", "%zz", "i64[]", "bool[n]", "dot_general", "reduce_sum", "=1",
          "shape=(", "axes=(0,)", "\n", "  ", "n-", "n*n*n", "((1,),(0,))", "[]", "dtype=", "return", "graph"]


@st.composite
def mutated(draw) -> str:
    text = draw(st.sampled_from(printed()))
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(text)))
        how = draw(st.sampled_from(["delete", "insert", "truncate", "duplicate line"]))
        if how == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 20)):]
        elif how == "insert":
            text = text[:at] + draw(st.sampled_from(PIECES)) + text[at:]
        elif how == "truncate":
            text = text[:at]
        else:
            lines = text.split("\n")
            k = at % len(lines)
            text = "\n".join(lines[:k + 1] + lines[k:])
    return text


@fuzz_settings(300)
@given(mutated())
def test_fuzz_mutated_ir_text_reads_or_is_an_ir_error(text):
    RAN["test_fuzz_mutated_ir_text_reads_or_is_an_ir_error"] += 1
    try:
        graph = parse_graph(text)
    except IRError as e:
        assert e.span is not None and e.line >= 1 and e.message
        return
    assert re.match(r"graph \w", str(graph))
