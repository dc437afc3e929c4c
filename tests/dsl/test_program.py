"""A loaded program: plain `FunctionDef`s, and a library (owned by the load) of what checking
and lowering learned about them."""
from __future__ import annotations

from ddc import ir
from ddc.dsl import Program, loads

SOURCE = "from losses import logsumexp\ndef f(x: float[n, c]) -> float:\n    return sum(logsumexp(x))\n"


def test_function_definitions_are_plain_data():
    fn = loads(SOURCE).functions["f"]
    assert set(vars(fn)) == {"ast", "module", "name", "span", "params", "returns", "returns_tuple", "generic"}


def test_each_load_keeps_its_own_functions_and_shares_the_stdlib_s():
    first, second = loads(SOURCE), loads(SOURCE)
    assert isinstance(first, Program) and first.library is not second.library
    g = first.lower("f", ir.f64)
    assert first.lower(first.functions["f"], ir.f64) is g  # by name or by definition
    assert second.lower("f", ir.f64) is not g
    f = first.functions["f"]
    assert first.library.owner(f) is first.library and f not in second.library.infos
    (stdlib_fn,) = [fn for fn in first.library.fallback.infos if fn.name == "logsumexp"]
    assert first.library.owner(stdlib_fn) is second.library.owner(stdlib_fn) is first.library.fallback
