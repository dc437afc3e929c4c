"""Deep and huge programs: each compiles in work linear in its size, or is a clean DDError
that says what to do, never a RecursionError or a hang.

Parentheses add no nesting and a long chain of one operator (`x + x + ...`) is walked
without recursion, so both compile at any length. Real nesting (calls in calls, unary
minus on unary minus) is limited to `MAX_NESTING` levels, checked by the parser. Work is
measured by counting Python function calls (deterministic, unlike time)."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import ddc
from ddc.dsl import lower
from ddc.dsl.lower import MAX_GRAPH_NODES
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


def doubling(levels: int) -> str:
    """f_k calls f_(k-1) twice: 2^levels nodes once inlined, from a file of ~50 bytes a level."""
    return "def f0(x: f32) -> f32:\n    return x * 2.0\n" + "".join(
        f"\ndef f{k}(x: f32) -> f32:\n    return f{k - 1}(x) + f{k - 1}(x)\n" for k in range(1, levels + 1))


def test_exponential_inlining_is_a_clean_error_in_bounded_memory(tmp_path):
    """`ddc ir` of a 2 KB file whose graph would have 2^40 nodes: exit 1 with the call
    chain, in a process limited to 1.5 GB (before the limit, it grew until killed)."""
    source = tmp_path / "doubling.dd"
    source.write_text(doubling(40))
    assert len(source.read_bytes()) < 2200
    limit = ("import resource, sys; resource.setrlimit(resource.RLIMIT_AS, (3 << 29, 3 << 29)); "
             "from ddc.cli import main; sys.exit(main(sys.argv[1:]))")
    done = subprocess.run([sys.executable, "-c", limit, "ir", str(source), "f40"], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 1, done.stderr[-2000:]
    first = done.stderr.splitlines()[0]
    assert first.startswith(f"{source}:122:12: type error: inlining the calls f40 -> f39 -> f38 -> ... -> f16 -> f15 "
                            "(26 functions) would make a graph of 196606 IR nodes, over the limit of 100000")
    assert "call it once and reuse the result" in done.stderr


def test_a_graph_just_under_the_limit_compiles():
    levels = MAX_GRAPH_NODES.bit_length() - 2  # 2^levels nodes and a few more
    assert getattr(ddc.loads(doubling(levels)), f"f{levels}")(1.0) == 2.0 ** (levels + 1)


def test_transforms_that_multiply_a_graph_past_the_limit_are_a_clean_error(monkeypatch):
    nested = "def f0(x: f32) -> f32:\n    return sin(x) * exp(x)\n" + "".join(
        f"\ndef f{k}(x: f32) -> f32:\n    return grad(f{k - 1})(x)\n" for k in range(1, 11))
    monkeypatch.setattr(lower, "MAX_GRAPH_NODES", 500)  # ten grads of grads make ~760 nodes
    with pytest.raises(lower.GraphTooLarge, match=r"inlining the calls f10 -> grad\(f9\) \(2 functions\) "
                                                  r"would make a graph of \d+ IR nodes, over the limit of 500"):
        _ = ddc.loads(nested).f10.graph


@pytest.mark.parametrize("expr, want", [
    ("x + " + "9" * 5000, ddc.DDSyntaxError),
    ("x + 9223372036854775808", ddc.DDSyntaxError),
    ("x + " + "0" * 5000 + "3", 4.0),  # leading zeros: the value is 3
    ("x + 1e400", np.inf),
    ("x - 1e400", -np.inf),
    ("x + 1" + "0" * 5000 + ".0", np.inf),
    ("sum(zeros(10**400))", ddc.DDError),
    ("sum(eye(10**30))", ddc.DDError),
    ("sum(eye(4000000000) * x)", ddc.DDTypeError),
    ("sum(full((10000000000, 10000000000), 1.0) * x)", ddc.DDTypeError),
    ("sum(ones(2**64) * x)", ddc.DDError),
    ("x + 10**10**10", ddc.DDError),
], ids=["5000 digits", "int64 + 1", "leading zeros", "1e400", "-1e400", "5000-digit float", "zeros(10**400)",
        "eye(10**30)", "eye(4e9)", "full 1e20", "ones(2**64)", "10**10**10"])
def test_huge_literals_are_located_errors_or_right_values(expr, want):
    source = f"def f(x: f64) -> f64:\n    return {expr}\n"
    if isinstance(want, type):
        with pytest.raises(want) as info:
            _ = ddc.loads(source, name="huge.dd").f.graph
        assert info.value.span is not None and info.value.line == 2, info.value
        return
    assert ddc.loads(source, name="huge.dd").f(np.float64(1.0)) == want


def test_a_huge_dim_in_a_type_is_a_located_error():
    with pytest.raises(ddc.DDSyntaxError, match="does not fit int64") as info:
        ddc.loads("def f(x: f32[" + "9" * 5000 + "]) -> f32:\n    return sum(x)\n")
    assert (info.value.line, info.value.col) == (1, 14)
    with pytest.raises(ddc.DDTypeError, match="more than numpy can index"):
        ddc.loads("def f(x: f32[n]) -> f32:\n    return sum(ones(n * 1000000000000000000 * 1000000000000000000))\n")
