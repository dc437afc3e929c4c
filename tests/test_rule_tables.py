"""A primitive cannot be half-added: every table keyed by primitive covers the registry.

Adding a primitive (say `erf`) is one `register` in `ir/primitives.py`, with its traits,
plus one line in each table below; each test here names the table that lacks it."""
from __future__ import annotations

import pytest

from ddc.ir import PRIMITIVES

from .cases import CASES


def _tables():
    from ddc.codegen.numpy.rules import numpy_rules
    from ddc.codegen.triton.rules import triton_rules
    from ddc.ir.reference import reference_rules
    from ddc.passes.jvp import jvp_rules
    from ddc.passes.vmap import batch_rules

    return {"jvp_rules": jvp_rules, "batch_rules": batch_rules, "numpy_rules": numpy_rules,
            "triton_rules": triton_rules, "reference_rules": reference_rules}


def _backend_primitives(table):
    """The private primitives of the backend whose table this is (registered there)."""
    from ddc.codegen.numpy.fusion import BACKEND_PRIMITIVES

    return BACKEND_PRIMITIVES if table == "numpy_rules" else {}


@pytest.mark.parametrize("table", ["jvp_rules", "batch_rules", "numpy_rules", "triton_rules",
                                   "reference_rules"])
def test_every_primitive_has_a_rule(table):
    rules = _tables()[table]
    missing = sorted(set(PRIMITIVES) - set(rules))
    assert not missing, f"{table} lacks {missing}"
    unknown = sorted(set(rules) - set(PRIMITIVES) - set(_backend_primitives(table)))
    assert not unknown, f"{table} has rules for unregistered primitives {unknown}"


def test_every_linear_primitive_has_a_transpose_rule():
    from ddc.passes.transpose import transpose_rules

    linear = {name for name, p in PRIMITIVES.items() if p.linear}
    assert not sorted(linear - set(transpose_rules))
    assert set(transpose_rules) <= linear, "transpose rules for non-linear primitives"


def test_every_primitive_has_a_test_case():
    assert not sorted(set(PRIMITIVES) - {c.prim for c in CASES})


def test_every_map_like_primitive_has_an_index_rule():
    """The Triton partition reads every primitive at a map but the kernels' anchors
    (reductions and contractions, which set a kernel's shape)."""
    from ddc.codegen.triton.index_maps import index_rules

    anchors = {name for name, p in PRIMITIVES.items() if p.reduction or name == "dot_general"}
    assert set(index_rules) == set(PRIMITIVES) - anchors


def test_every_elementwise_primitive_folds():
    """Folding is generic (each primitive's reference rule on constants), so a new
    elementwise primitive folds without an entry; this checks the table says so."""
    from ddc.passes.simplify import simplify_rules

    folded = {name for name, rules in simplify_rules.items() if any(group == "fold" for group, _ in rules)}
    assert folded == {name for name, p in PRIMITIVES.items() if p.elementwise}


def test_the_checking_variant_writes_every_primitive():
    """`debug_nans` writes each node with its plain expression (the same entry the
    optimised code uses); one case per primitive compiles and runs through it."""
    from ddc.codegen.numpy.debug import HINTS, compile_checked

    assert set(HINTS) <= set(PRIMITIVES)
    seen = set()
    for case in CASES:
        if case.prim in seen:
            continue
        seen.add(case.prim)
        compile_checked(case.graph())
    assert seen == set(PRIMITIVES)


def test_numpy_lowering_forms_are_complete():
    """The in-place, threaded and scalar-operand forms are fields of one entry: a
    threaded or scalar-operand form names the ufunc it calls, and an entry that may write
    into an input says how."""
    from ddc.codegen.numpy.rules import numpy_rules

    for name, lowering in numpy_rules.items():
        if lowering.threaded or lowering.with_scalar:
            assert lowering.ufunc, f"{name}: threaded or with_scalar without a ufunc"
        if lowering.ufunc:
            assert lowering.into is not None, f"{name}: a ufunc that cannot write in place"


def test_backend_primitives_are_registered_apart():
    """The numpy backend's private primitives are known to the verifier when it checks
    the graph that backend runs, and only then."""
    from ddc.codegen.numpy.fusion import BACKEND_PRIMITIVES
    from ddc.errors import IRError
    from ddc.ir import Builder, TensorType, Value, f64, verify

    assert not set(BACKEND_PRIMITIVES) & set(PRIMITIVES)
    x = Value(TensorType(f64, (3,)), "x")
    b = Builder()
    graph = b.graph([x], [b.bind(BACKEND_PRIMITIVES["relu"], x)])
    verify(graph, BACKEND_PRIMITIVES)
    with pytest.raises(IRError, match="unregistered primitive"):
        verify(graph)


def test_traits_are_consistent():
    for name, p in PRIMITIVES.items():
        if p.commutative:
            assert p.elementwise and p.arity == 2, name
        if p.reduction:
            assert not p.elementwise and not p.cheap, name
        if p.view or p.broadcast:
            assert p.arity in (0, 1), name
        if p.index_operand is not None:
            assert p.index_operand < p.arity and not p.elementwise, name
