"""`parse_graph`'s refusals not named in tests/reliability/test_ir_text.py: each is an
`IRError` at the line (and column, past the indentation) it cannot read, saying what is
wrong there."""
from __future__ import annotations

import pytest

from ddc import IRError
from ddc.ir import parse_graph

MLP = ("graph mlp(%x:f32[b,d], %W1:f32[d,h]):\n"
       "  %0:f32[b,h] = dot_general[contract=((1,),(0,)), batch=((),())] %x %W1\n"
       "  %1:f32[] = constant[value=0.0, dtype=f32]\n"
       "  return %0\n")


@pytest.mark.parametrize("old, new, where, says", [
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
    assert (info.value.line, info.value.col) == where and info.value.message.startswith(says), info.value


@pytest.mark.parametrize("text", ["", "\n", "   \n\t\n"])
def test_empty_text_is_an_error_at_its_start(text):
    with pytest.raises(IRError, match="empty IR text") as info:
        parse_graph(text, file="blank.ir")
    assert (info.value.file, info.value.line, info.value.col) == ("blank.ir", 1, 1)


def test_the_file_name_is_the_one_given():
    with pytest.raises(IRError) as info:
        parse_graph(MLP.replace("%x:f32[b,d]", "%x:f33[b,d]"), file="model.ir")
    assert str(info.value).startswith("model.ir:1:1: IR error: bad type")
