"""Deep and huge programs: each compiles in work linear in its size, or is a clean DDError
that says what to do, never a RecursionError or a hang.

Parentheses add no nesting and a long chain of one operator (`x + x + ...`) is walked
without recursion, so both compile at any length. Real nesting (calls in calls, unary
minus on unary minus) is limited to `MAX_NESTING` levels, checked by the parser. Work is
measured by counting Python function calls (deterministic, unlike time)."""
from __future__ import annotations

import sys

import numpy as np
import pytest

import ddc
from ddc.dsl.nesting import MAX_NESTING


def returning(expr: str, signature: str = "x: f32") -> str:
    return f"def f({signature}) -> f32:\n    return {expr}\n"


def test_5000_parentheses_compile():
    f = ddc.loads(returning("(" * 5000 + "x * 2.0" + ")" * 5000)).f
    assert f(1.5) == 3.0


@pytest.mark.parametrize("expr", [
    "exp(" * 5000 + "x" + ")" * 5000,
    "-" * 5000 + "x",
    "-(" * 5000 + "x" + ")" * 5000,
    "x" + ".T" * 1000,
    "x" + "[0]" * 1000,
    "x" + " ** x" * 1000,  # right-associative: nests
], ids=["calls", "minus", "minus-parenthesized", "attributes", "subscripts", "powers"])
def test_deep_nesting_is_a_clean_error(expr):
    with pytest.raises(ddc.DDSyntaxError, match="nested too deeply") as info:
        ddc.loads(returning(expr), name="deep.dd")
    assert (info.value.line, info.value.col) == (2, 12)
    assert info.value.hint == "split it into several assignments"


def test_deep_assignment_targets_are_a_clean_error():
    target = "(" * 1000 + "a" + ",)" * 1000  # ((a,),) nested a thousand times
    with pytest.raises(ddc.DDSyntaxError, match="nested too deeply"):
        ddc.loads(f"def f(x: f32) -> f32:\n    {target} = x\n    return x\n")


def test_nesting_up_to_the_limit_compiles():
    f = ddc.loads(returning("-(" * (MAX_NESTING - 1) + "x" + ")" * (MAX_NESTING - 1))).f
    assert f(2.0) == (-2.0 if (MAX_NESTING - 1) % 2 else 2.0)


def test_long_programs_compute_right():
    x = np.arange(3, dtype=np.float32)
    long_sum = ddc.loads("def f(x: f32[n]) -> f32[n]:\n    return x" + " + x" * 5000 + "\n").f
    np.testing.assert_allclose(long_sum(x), 5001 * x)
    statements = ddc.loads("def f(x: f64) -> f64:\n" + "    x = x * 0.5 + 1.0\n" * 1000 + "    return x\n").f
    assert statements(np.float64(0.0)) == pytest.approx(2.0)  # the fixed point of x / 2 + 1
    chain = "def f0(x: f32) -> f32:\n    return x\n" + "".join(
        f"\ndef f{i}(x: f32) -> f32:\n    return f{i - 1}(x) + 1.0\n" for i in range(1, 100))
    assert ddc.loads(chain).f99(0.5) == 99.5


def test_too_long_chains_of_calls_and_imports_are_clean_errors(tmp_path):
    chain = "def f0(x: f32) -> f32:\n    return x\n" + "".join(
        f"\ndef f{i}(x: f32) -> f32:\n    return f{i - 1}(x) + 1.0\n" for i in range(1, 1000))
    with pytest.raises(ddc.DDTypeError, match="f999 calls functions that call functions too deeply") as info:
        ddc.loads(chain, name="chain.dd").f999(1.0)
    assert info.value.line == chain.split("\n").index("def f999(x: f32) -> f32:") + 1
    (tmp_path / "m0.dd").write_text("def g(x: f32) -> f32:\n    return x\n")
    for i in range(1, 400):
        (tmp_path / f"m{i}.dd").write_text(f"import m{i - 1}\n")
    with pytest.raises(ddc.DDImportError, match="imports nested too deeply: m399 -> m398 -> m397 -> ..."):
        ddc.load(tmp_path / "m399.dd")


def calls_to_compile(source: str) -> int:
    """Python function calls made loading `source` and compiling its f."""
    count = 0

    def profile(frame, event, arg):
        nonlocal count
        count += event == "call"

    sys.setprofile(profile)
    try:
        ddc.loads(source).f.compiled()
    finally:
        sys.setprofile(None)
    return count


PROGRAMS = {
    "statements": lambda n: "def f(x: f32) -> f32:\n" + "    x = x * 1.0001 + 0.5\n" * n + "    return x\n",
    "sum terms": lambda n: "def f(x: f32[n]) -> f32[n]:\n    return x" + " + x" * n + "\n",
    "gradient of statements": lambda n: ("def g(x: f32) -> f32:\n" + "    x = sin(x) * 1.0001 + 0.5\n" * n
                                          + "    return x\n\ndef f(x: f32) -> f32:\n    return grad(g)(x)\n"),
}


@pytest.mark.parametrize("kind", PROGRAMS)
def test_huge_programs_compile_in_linear_work(kind):
    make = PROGRAMS[kind]
    calls_to_compile(make(10))  # parser tables and other one-time work
    ratio = calls_to_compile(make(200)) / calls_to_compile(make(100))
    assert 1.6 < ratio < 2.3, f"twice the {kind} took {ratio:.2f} times the work"  # quadratic: near 4
