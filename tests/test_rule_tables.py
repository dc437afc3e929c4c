"""A primitive cannot be half-added: every table keyed by primitive covers the registry."""
from __future__ import annotations

import pytest

from ddc.ir import PRIMITIVES

from .cases import CASES


def _tables():
    from ddc.codegen.numpy.rules import numpy_rules
    from ddc.codegen.triton import triton_rules
    from ddc.passes.jvp import jvp_rules
    from ddc.passes.vmap import batch_rules

    return {"jvp_rules": jvp_rules, "batch_rules": batch_rules, "numpy_rules": numpy_rules,
            "triton_rules": triton_rules}


def _backend_primitives(table):
    """The private primitives of the backend whose table this is (registered there)."""
    from ddc.codegen.numpy.fusion import BACKEND_PRIMITIVES

    return BACKEND_PRIMITIVES if table == "numpy_rules" else {}


@pytest.mark.parametrize("table", ["jvp_rules", "batch_rules", "numpy_rules", "triton_rules"])
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
