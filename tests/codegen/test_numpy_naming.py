"""User names reach generated code only as re-minted identifiers (and quoted labels)."""
from __future__ import annotations

import io
import keyword
import tokenize

import numpy as np
import pytest

from ddc import ir
from ddc.codegen.numpy import runtime as numpy_runtime
from ddc.codegen.common.naming import MINTED, Minter, label, stem
from ddc.codegen.numpy.backend import compile
from ddc.ir import Sym, f64

from .graphs import make_graph

HOSTILE = ["__import__", "np", "print", "lambda", "x" * 300, "X", "x", "os.system('rm -rf /')",
           "a0_1", "ñ", "", "0day", "None", "check_array"]


def name_tokens(source: str) -> list[tokenize.TokenInfo]:
    return [t for t in tokenize.generate_tokens(io.StringIO(source).readline) if t.type == tokenize.NAME]


def hostile_graph():
    """Each input and each intermediate carries a hostile name; dims do too."""
    n, m = Sym.name("np"), Sym.name("lambda")
    types = [ir.TensorType(f64, (n, m)) for _ in HOSTILE]

    def build(b, *xs):
        total = xs[0]
        for x, name in zip(xs[1:], HOSTILE[1:]):
            total = b.bind("add", total, b.bind("mul", x, x, name=name), name=name)
        return b.reduce_sum(total, axes=(1,))

    return make_graph(build, *types, names=HOSTILE, name="__import__('os')")


def test_hostile_names_compute_the_right_numbers():
    g = hostile_graph()
    args = [np.full((2, 3), float(i)) for i in range(len(HOSTILE))]
    want = (args[0] + sum(a * a for a in args[1:])).sum(1)
    np.testing.assert_allclose(compile(g)(*args), want)


def test_hostile_names_never_become_identifiers():
    source = compile(hostile_graph()).source
    tokens = name_tokens(source)
    names = {t.string for t in tokens}
    for bad in ("__import__", "print", "lambda", "x" * 300, "os", "system", "None", "X", "x"):
        assert bad not in names
    for t in tokens:
        if t.string == "np":  # only ever the numpy module
            assert source.splitlines()[t.start[0] - 1][t.end[1]] == "."
    assert "rm -rf" not in source and "ñ" not in source


def test_every_bound_name_is_minted():
    """Parameters, dims and values: every name the function binds has the minted shape."""
    source = compile(hostile_graph()).source
    lines = source.splitlines()
    params = lines[0][lines[0].index("(") + 1:lines[0].index(")")].split(", ")
    targets = [line.split(" = ")[0].strip().split("[")[0]  # a row block writes `out[lo:hi] = ...`
               for line in lines[1:] if " = " in line and not line.strip().startswith("if")]
    assert all(MINTED.fullmatch(name) for name in params + targets + [lines[0][4:lines[0].index("(")]])
    assert len(set(params)) == len(params)


def test_names_differing_in_case_stay_apart():
    g = make_graph(lambda b, x, X: b.sub(x, X), ir.TensorType(f64, ()), ir.TensorType(f64, ()),
                   names=["x", "X"])
    assert compile(g)(5.0, 2.0) == 3.0


def test_minted_names_are_safe():
    mint = Minter()
    names = [mint(h) for h in HOSTILE] + [mint(None)]
    assert len(set(names)) == len(names)
    for name in names:
        assert MINTED.fullmatch(name) and name.isidentifier() and not keyword.iskeyword(name)
        assert len(name) <= 32
    assert stem("", "t") == "t" and stem("0day", "t") == "v0day"


def test_runtime_names_cannot_be_minted():
    assert not [k for k in vars(numpy_runtime) if MINTED.fullmatch(k)]


def test_labels_pass_only_ascii_identifiers():
    assert label("W1", "?") == "W1"
    assert label("os.system('x')", "?") == "?"
    assert label("ñ", "?") == "?"
    assert label("x" * 100, "?") == "?"


@pytest.mark.parametrize("name", ["__import__", "lambda", "x'); import os; ('"])
def test_argument_messages_quote_names_safely(name):
    g = make_graph(lambda b, x: b.neg(x), ir.TensorType(f64, ("n",)), names=[name])
    with pytest.raises(numpy_runtime.ArgumentError) as e:
        compile(g)(np.ones((2, 2)))
    assert ("parameter " + name if name.isidentifier() else "argument 0") in str(e.value)
