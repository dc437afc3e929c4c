"""The verifier's rejections, one malformed graph each: its own checks (SSA, arity, params,
registration, output types) and every way a primitive's type rule refuses its operands.
Graphs are built from `Node`s directly, since `Builder` would refuse most of them first."""
from __future__ import annotations

import dataclasses

import pytest

from ddc import IRError
from ddc.ir import PRIMITIVES, Builder, Graph, Node, Sym, TensorType, Value, bool_, f32, f64, i32, verify

n = Sym.name("n")


def T(*shape, dtype=f32) -> TensorType:
    return TensorType(dtype, shape)


def node(prim: str, inputs, out: TensorType | Value, **params) -> Node:
    return Node(PRIMITIVES[prim], list(inputs), params, out if isinstance(out, Value) else Value(out))


def rejects(graph: Graph, says: str) -> None:
    with pytest.raises(IRError) as info:
        verify(graph)
    assert says in info.value.message, info.value.message


# -- the verifier's own checks -------------------------------------------------------------

def test_a_well_formed_graph_passes_as_itself():
    b = Builder()
    x = Value(T(3))
    g = b.graph([x], [b.exp(x)])
    assert verify(g) is g


def test_an_input_listed_twice():
    x = Value(T(3))
    rejects(Graph([x, x], [], [x], "g"), f"graph g: input {x} listed twice")


def test_an_unregistered_primitive():
    x = Value(T(3))
    twin = dataclasses.replace(PRIMITIVES["exp"])  # equal, but not the registered object
    g = Graph([x], [Node(twin, [x], {}, Value(T(3)))], [x], "g")
    rejects(g, "graph g, node 0 (exp): unregistered primitive")


def test_the_wrong_number_of_inputs():
    x = Value(T(3))
    rejects(Graph([x], [node("add", [x], T(3))], [x], "g"), "node 0 (add): takes 2 inputs, has 1")


@pytest.mark.parametrize("params", [{}, {"axes": (0,), "keepdims": True}, {"axis": (0,)}])
def test_params_missing_extra_or_misnamed(params):
    x = Value(T(3))
    rejects(Graph([x], [node("reduce_sum", [x], T(), **params)], [x], "g"),
            f"node 0 (reduce_sum): params {list(params)}, expected ['axes']")


def test_an_input_used_before_it_is_defined():
    x = Value(T(3))
    later = Value(T(3))
    nodes = [node("neg", [later], T(3)), node("exp", [x], later)]
    rejects(Graph([x], nodes, [later], "g"), f"node 0 (neg): input {later} is not defined before use")


def test_an_input_defined_nowhere():
    x, stray = Value(T(3)), Value(T(3))
    rejects(Graph([x], [node("mul", [x, stray], T(3))], [x], "g"),
            f"node 0 (mul): input {stray} is not defined before use")


def test_a_type_rule_failure_is_reported_at_its_node():
    x, y = Value(T(3)), Value(T(3, dtype=f64))
    rejects(Graph([x, y], [node("neg", [x], T(3)), node("add", [x, y], T(3))], [x], "g"),
            "graph g, node 1 (add): add: operand types differ: f32[3] vs f64[3]")


def test_an_output_typed_unlike_its_rule():
    x = Value(T(3))
    rejects(Graph([x], [node("exp", [x], T(4))], [x], "g"), "node 0 (exp): output typed f32[4], rule gives f32[3]")


def test_a_value_defined_twice():
    x = Value(T(3))
    y = Value(T(3))
    nodes = [node("exp", [x], y), node("neg", [x], y)]
    rejects(Graph([x], nodes, [y], "g"), f"node 1 (neg): output {y} defined twice")


def test_a_node_redefining_an_input():
    x = Value(T(3))
    rejects(Graph([x], [node("exp", [x], x)], [x], "g"), f"node 0 (exp): output {x} defined twice")


def test_an_output_defined_nowhere():
    x, stray = Value(T(3)), Value(T(3))
    rejects(Graph([x], [], [stray], "g"), f"graph g: output {stray} is not defined")


# -- each refusal of a primitive's type rule -----------------------------------------------

BOOL = dict(dtype=bool_)
INT = dict(dtype=i32)
DOT = dict(contract=((1,), (0,)), batch=((), ()))
RULES = [  # (primitive, operand types, params, what the rule says)
    ("add", [T(3), T(3, dtype=f64)], {}, "add: operand types differ: f32[3] vs f64[3]"),
    ("mul", [T(3), T(4)], {}, "mul: operand types differ: f32[3] vs f32[4]"),
    ("exp", [T(3, **INT)], {}, "exp: needs float operands, got i32[3]"),
    ("pow", [T(3, **INT), T(3, **INT)], {}, "pow: needs float operands, got i32[3]"),
    ("neg", [T(3, **BOOL)], {}, "neg: not defined on bool, got bool[3]"),
    ("max", [T(3, **BOOL), T(3, **BOOL)], {}, "max: not defined on bool, got bool[3]"),
    ("integer_pow", [T(3)], {"y": 2.0}, "integer_pow: the exponent must be an int that fits i64, got 2.0"),
    ("integer_pow", [T(3)], {"y": True}, "integer_pow: the exponent must be an int that fits i64, got True"),
    ("integer_pow", [T(3)], {"y": 2 ** 63},
     "integer_pow: the exponent must be an int that fits i64, got 9223372036854775808"),
    ("integer_pow", [T(3, **INT)], {"y": 2}, "integer_pow: needs float operands, got i32[3]"),
    ("compare", [T(3), T(3)], {"direction": "lq"}, "compare: unknown direction 'lq'"),
    ("compare", [T(3), T(3, dtype=f64)], {"direction": "lt"}, "compare: operand types differ: f32[3] vs f64[3]"),
    ("select", [T(3), T(3), T(3)], {}, "select: predicate must be bool, got f32[3]"),
    ("select", [T(3, **BOOL), T(3), T(3, dtype=f64)], {}, "select: operand types differ: f32[3] vs f64[3]"),
    ("select", [T(2, **BOOL), T(3), T(3)], {}, "select: predicate shape bool[2] differs from f32[3]"),
    ("broadcast_in_dim", [T(3)], {"shape": (2, 3), "broadcast_dimensions": ()},
     "broadcast_in_dim: f32[3] needs 1 broadcast_dimensions, got ()"),
    ("broadcast_in_dim", [T(3)], {"shape": (2, 3), "broadcast_dimensions": (2,)},
     "broadcast_in_dim: axis 2 out of range for rank 2"),
    ("broadcast_in_dim", [T(3, 3)], {"shape": (3, 3), "broadcast_dimensions": (1, 0)},
     "broadcast_in_dim: broadcast_dimensions must increase: (1, 0)"),
    ("broadcast_in_dim", [T(3, 3)], {"shape": (3, 3), "broadcast_dimensions": (1, 1)},
     "broadcast_in_dim: repeated axes (1, 1)"),
    ("broadcast_in_dim", [T(3)], {"shape": (2, 4), "broadcast_dimensions": (1,)},
     "broadcast_in_dim: cannot broadcast dim 3 of f32[3] to 4"),
    ("broadcast_in_dim", [T(n)], {"shape": (3,), "broadcast_dimensions": (0,)}, "broadcast_in_dim: cannot broadcast dim n of f32[n] to 3"),
    ("reshape", [T(2, 3)], {"shape": (5,)}, "reshape: cannot reshape f32[2,3] to [5]: sizes differ"),
    ("reshape", [T(n, 2)], {"shape": (n,)}, "reshape: cannot reshape f32[n,2] to [n]: sizes differ"),
    ("transpose", [T(2, 3)], {"permutation": (0, 0)}, "transpose: (0, 0) is not a permutation of 2 axes"),
    ("transpose", [T(2, 3)], {"permutation": (1,)}, "transpose: (1,) is not a permutation of 2 axes"),
    ("reduce_sum", [T(2, 3)], {"axes": (2,)}, "reduce_sum: axis 2 out of range for rank 2"),
    ("reduce_max", [T(2, 3)], {"axes": (-1,)}, "reduce_max: axis -1 out of range for rank 2"),
    ("reduce_sum", [T(2, 3)], {"axes": (0, 0)}, "reduce_sum: repeated axes (0, 0)"),
    ("reduce_sum", [T(2, **BOOL)], {"axes": (0,)}, "reduce_sum: convert bool to a number before summing"),
    ("dot_general", [T(2, 3), T(3, 4, dtype=f64)], DOT, "dot_general: dtypes differ: f32[2,3] vs f64[3,4]"),
    ("dot_general", [T(2, 3, **BOOL), T(3, 4, **BOOL)], DOT, "dot_general: not defined on bool"),
    ("dot_general", [T(2, 3), T(3, 4)], {"contract": ((1,), ()), "batch": ((), ())}, "dot_general: unpaired dims: contract=((1,), ()) batch=((), ())"),
    ("dot_general", [T(2, 3), T(3, 4)], {"contract": ((2,), (0,)), "batch": ((), ())},
     "dot_general: axis 2 out of range for rank 2"),
    ("dot_general", [T(2, 3), T(3, 4)], {"contract": ((1,), (1,)), "batch": ((), ())},
     "dot_general: dim 1 of f32[2,3] (3) != dim 1 of f32[3,4] (4)"),
    ("slice", [T(4)], {"start": (0, 0), "limit": (4, 4), "stride": (1, 1)},
     "slice: start/limit/stride must each have 1 entries"),
    ("slice", [T(4)], {"start": (0,), "limit": (4,), "stride": (0,)}, "slice: strides must be positive ints, got (0,)"),
    ("slice", [T(4)], {"start": (-1,), "limit": (4,), "stride": (1,)}, "slice: start -1 / limit 4 outside a dim of size 4"),
    ("slice", [T(4)], {"start": (0,), "limit": (5,), "stride": (1,)}, "slice: start 0 / limit 5 outside a dim of size 4"),
    ("slice", [T(4)], {"start": (3,), "limit": (2,), "stride": (1,)}, "slice: limit 2 before start 3"),
    ("slice", [T(n)], {"start": (0,), "limit": (n,), "stride": (2,)}, "slice: a stride of 2 needs a static extent, got n"),
    ("pad", [T(4)], {"low": (0,), "high": (0, 0), "interior": (0,)}, "pad: low/high/interior must each have 1 entries"),
    ("pad", [T(4)], {"low": (0,), "high": (0,), "interior": (-1,)},
     "pad: interior padding must be non-negative ints, got (-1,)"),
    ("pad", [T(n)], {"low": (0,), "high": (0,), "interior": (1,)}, "pad: a spacing of 2 needs a static dim, got n"),
    ("concatenate", [], {"axis": 0}, "concatenate: needs at least one operand"),
    ("concatenate", [T(2)], {"axis": 1}, "concatenate: axis 1 out of range for rank 1"),
    ("concatenate", [T(2), T(2, dtype=f64)], {"axis": 0}, "concatenate: operands differ: f32[2] vs f64[2]"),
    ("concatenate", [T(2), T(2, 2)], {"axis": 0}, "concatenate: operands differ: f32[2] vs f32[2,2]"),
    ("concatenate", [T(2, 3), T(2, 4)], {"axis": 0}, "concatenate: dim 1 differs: f32[2,3] vs f32[2,4]"),
    ("gather", [T(4), T(2)], {"axis": 0, "batch_dims": 0}, "gather: indices must be integers, got f32[2]"),
    ("gather", [T(3, 4), T(3, **INT)], {"axis": 0, "batch_dims": 1},
     "gather: batch_dims=1 must be <= axis=0 and <= rank of i32[3]"),
    ("gather", [T(3, 4), T(3, **INT)], {"axis": 2, "batch_dims": 0}, "gather: axis 2 out of range for f32[3,4]"),
    ("gather", [T(3, 4), T(2, **INT)], {"axis": 1, "batch_dims": 1}, "gather: leading 1 dims of f32[3,4] and i32[2] differ"),
    ("scatter_add", [T(2), T(2)], {"axis": 0, "batch_dims": 0, "shape": (4,)}, "scatter_add: indices must be integers, got f32[2]"),
    ("scatter_add", [T(3), T(2, **INT)], {"axis": 0, "batch_dims": 0, "shape": (4,)},
     "scatter_add: updates f32[3] do not fit f32[4] at indices i32[2]"),
    ("iota", [], {"shape": (2, 3), "dimension": 2, "dtype": i32}, "iota: axis 2 out of range for rank 2"),
    ("constant", [], {"value": 1.5, "dtype": i32}, "constant: value 1.5 does not fit dtype i32"),
    ("constant", [], {"value": True, "dtype": i32}, "constant: value True does not fit dtype i32"),
    ("constant", [], {"value": 1, "dtype": bool_}, "constant: value 1 does not fit dtype bool"),
    ("constant", [], {"value": False, "dtype": f32}, "constant: value False does not fit dtype f32"),
    ("constant", [], {"value": "1", "dtype": f32}, "constant: value '1' does not fit dtype f32"),
]


@pytest.mark.parametrize("prim, types, params, says", RULES, ids=[f"{r[0]}-{k}" for k, r in enumerate(RULES)])
def test_a_type_rule_refuses(prim, types, params, says):
    inputs = [Value(t) for t in types]
    g = Graph(inputs, [node(prim, inputs, T(), **params)], inputs[:1], "g")
    rejects(g, f"graph g, node 0 ({prim}): {says}")

