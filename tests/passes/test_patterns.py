"""The structural matcher and the rewrite driver of `passes/patterns.py`, and cleanup's
fixed point."""
from __future__ import annotations

import pytest

from ddc import ir
from ddc.ir import Builder, TensorType, Value, f64
from ddc.passes import cleanup as cleanup_module
from ddc.passes.cleanup import MAX_ROUNDS, cleanup
from ddc.passes.dce import dce
from ddc.passes.patterns import P, rewrite, rule, splat
from ddc.passes.simplify import simplify

T = TensorType(f64, (3,))


def _graph(build, n_inputs=2):
    b = Builder()
    inputs = [Value(T, name) for name in "xyzw"[:n_inputs]]
    out = build(b, *inputs)
    return ir.verify(b.graph(inputs, [out], "g"))


def _rewritten(graph, pattern, make, **options):
    """`graph` rewritten by one rule; `make(b, m)` also records what each match bound."""
    table: dict = {}
    seen: list[dict] = []

    def record(b, m):
        seen.append(dict(m.values))
        return make(b, m)

    rule("test", pattern, table)(record)
    return ir.verify(rewrite(graph, table, **options)), seen


def test_commutative_operands_match_as_written_then_swapped():
    g = _graph(lambda b, x, y: b.mul(b.neg(x), b.neg(y)))
    pattern = P("mul", P("neg", P(name="a")), P(name="rest"))
    out, seen = _rewritten(g, pattern, lambda b, m: None)
    x, y = g.inputs
    neg_x, neg_y = (n.out for n in g.nodes[:2])
    # every way, in a fixed order: as written (a = x), then swapped (a = y)
    assert [(s["a"], s["rest"]) for s in seen] == [(x, neg_y), (y, neg_x)]
    assert str(out) == str(g)


def test_the_first_binding_the_rewrite_accepts_wins():
    g = _graph(lambda b, x, y: b.mul(b.neg(x), b.neg(y)))
    x, y = g.inputs
    pattern = P("mul", P("neg", P(name="a")), P(name="rest"))
    out, seen = _rewritten(g, pattern, lambda b, m: None if m.a is x else b.sub(m.a, m.rest))
    assert [s["a"] for s in seen] == [x, y]
    last = out.nodes[-1]
    assert last.prim.name == "sub" and last.inputs == [y, g.nodes[0].out]


def test_ordered_patterns_and_non_commutative_primitives_match_as_written_only():
    g = _graph(lambda b, x, y: b.mul(x, b.neg(y)))
    _, seen = _rewritten(g, P("mul", P("neg", P(name="a")), P(name="rest"), ordered=True),
                         lambda b, m: None)
    assert seen == []
    g = _graph(lambda b, x, y: b.sub(x, b.neg(y)))
    _, seen = _rewritten(g, P("sub", P("neg", P(name="a")), P(name="rest")), lambda b, m: None)
    assert seen == []


def test_a_name_bound_twice_must_be_the_same_value():
    same = _graph(lambda b, x, y: b.mul(b.exp(x), b.exp(x)))
    twice = P("mul", P(name="v"), P(name="v"))
    _, seen = _rewritten(same, twice, lambda b, m: None)
    assert seen == []  # two exp nodes: two values, until cse makes them one
    from ddc.passes.cse import cse

    _, seen = _rewritten(cse(same), twice, lambda b, m: None)
    assert len(seen) == 2  # as written, then swapped: the same binding


def test_once_and_splat():
    def build(b, x, y):
        n = b.neg(x)
        return b.add(b.mul(n, y), n)

    g = _graph(build)
    _, seen = _rewritten(g, P("mul", P("neg", P(name="a"), once=True), P(name="y")), lambda b, m: None)
    assert seen == []  # the negation has another use
    g = _graph(lambda b, x, y: b.mul(x, b.full(2.0, T)))
    _, seen = _rewritten(g, P("mul", P(name="x"), splat(lambda c, v: c == 2.0, name="two")),
                         lambda b, m: None)
    assert len(seen) == 1 and seen[0]["x"] is g.inputs[0]


def test_keep_names_names_the_replacement_after_the_node():
    b = Builder()
    x = Value(T, "x")
    out = b.neg(b.exp(x), name="result")
    g = b.graph([x], [out], "g")
    new, _ = _rewritten(g, P("neg", P("exp", P(name="v"))), lambda b, m: b.sin(m.v), keep_names=True)
    assert new.outputs[0].name == "result"
    new, _ = _rewritten(g, P("neg", P("exp", P(name="v"))), lambda b, m: b.sin(m.v))
    assert new.outputs[0].name is None


def test_simplify_groups_still_run_alone():
    g = _graph(lambda b, x, y: b.mul(b.neg(x), b.mul(y, b.full(1.0, T))))
    identities = dce(simplify(g, only={"identities"}))
    assert identities.stats() == {"mul": 1, "neg": 1} and identities.nodes[-1].prim.name == "mul"
    full = cleanup(g)  # the negation moves past the product too
    assert full.stats() == {"mul": 1, "neg": 1} and full.nodes[-1].prim.name == "neg"


def test_cleanup_runs_to_a_fixed_point_and_says_when_there_is_none(monkeypatch):
    # a chain that needs one round per link: each round's dce frees the next negation
    g = _graph(lambda b, x, y: b.neg(b.neg(b.neg(b.neg(b.neg(b.neg(x)))))))
    assert cleanup(g).stats() == {}
    g = _graph(lambda b, x, y: b.exp(x))
    flip = {"exp": [("flip", lambda b, facts, x: b.exp(b.neg(b.neg(x))))]}
    monkeypatch.setattr(cleanup_module, "simplify", lambda graph: rewrite(graph, flip))
    with pytest.raises(RuntimeError, match=f"no fixed point after {MAX_ROUNDS} rounds"):
        cleanup(g)
