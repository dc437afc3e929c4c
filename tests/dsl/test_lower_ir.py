"""The IR that lowering emits: which primitives, names, spans, dtypes; every graph passes
`ir.verify` and round-trips through its text form (see util.lowered)."""
from __future__ import annotations

from ddc import ir
from ddc.dsl import loads

from .util import lowered, prims

MLP = """
def mlp(x: f32[b, d], W1: f32[d, h], b1: f32[h], W2: f32[h, c]) -> f32[b, c]:
    h1 = relu(x @ W1 + b1)
    return h1 @ W2
"""


def test_inputs_outputs_and_name_follow_the_signature():
    graph = lowered(MLP, "mlp")
    assert graph.name == "mlp"
    assert [v.name for v in graph.inputs] == ["x", "W1", "b1", "W2"]
    assert [str(v.type) for v in graph.inputs] == ["f32[b,d]", "f32[d,h]", "f32[h]", "f32[h,c]"]
    assert [str(v.type) for v in graph.outputs] == ["f32[b,c]"]


def test_variables_name_their_values_and_every_node_has_its_span():
    graph = lowered(MLP, "mlp")
    assert "%h1:f32[b,h] = select" in str(graph)
    for node in graph.nodes:
        assert node.span is not None and node.span.line in (3, 4)
    (dot,) = [n for n in graph.nodes if n.prim.name == "dot_general" and n.span.line == 4]
    assert (dot.span.col, dot.span.end_col) == (12, 19)


def test_unbroadcast_add_has_no_broadcast():
    graph = lowered("def f(x: f32[n, d], y: f32[n, d]) -> f32[n, d]:\n    return x + y\n", "f")
    assert prims(graph) == ["add"]


def test_broadcast_is_explicit_and_aligns_trailing_dims():
    graph = lowered("def f(x: f32[n, d], y: f32[d]) -> f32[n, d]:\n    return x + y\n", "f")
    assert prims(graph) == ["broadcast_in_dim", "add"]
    assert graph.nodes[0].params == {"shape": (ir.Sym.name("n"), ir.Sym.name("d")), "broadcast_dimensions": (1,)}
    graph = lowered("def f(x: f32[n, 1], y: f32[1, d]) -> f32[n, d]:\n    return x * y\n", "f")
    assert prims(graph) == ["broadcast_in_dim", "broadcast_in_dim", "mul"]


def test_promotion_converts_explicitly_and_constants_take_the_tensor_dtype():
    graph = lowered("def f(x: f64[n], k: i32[n]) -> f64[n]:\n    return x * k + 2\n", "f")
    assert prims(graph) == ["convert", "mul", "constant", "broadcast_in_dim", "add"]
    assert graph.nodes[2].params == {"value": 2.0, "dtype": ir.f64}
    graph = lowered("def f(k: i32[n], j: i32[n]) -> f32[n]:\n    return k / j\n", "f")
    assert prims(graph) == ["convert", "convert", "div"]  # `/` of ints gives f32


def test_relu_is_a_select_and_sigmoid_is_logistic():
    graph = lowered("def f(x: f32[n]) -> f32[n]:\n    return relu(x)\n", "f")
    assert "select" in prims(graph) and "max" not in prims(graph)
    compare = next(n for n in graph.nodes if n.prim.name == "compare")
    assert compare.params == {"direction": "le"}  # select(x <= 0, 0, x): relu(NaN) is NaN
    graph = lowered("def f(x: f32[n]) -> f32[n]:\n    return sigmoid(x)\n", "f")
    assert prims(graph) == ["logistic"]


def test_mean_divides_by_a_symbolic_size():
    graph = lowered("def f(x: f32[n, d]) -> f32[d]:\n    return mean(x, axis=0)\n", "f")
    assert prims(graph) == ["reduce_sum", "constant", "broadcast_in_dim", "div"]
    assert graph.nodes[1].params["value"] == ir.Sym.name("n")


def test_min_is_a_negated_max_and_keepdims_reshapes():
    graph = lowered("def f(x: f32[n, d]) -> f32[n, 1]:\n    return min(x, axis=1, keepdims=true)\n", "f")
    assert prims(graph) == ["neg", "reduce_max", "neg", "reshape"]


def test_sum_of_bools_counts_in_i32():
    graph = lowered("def f(x: f32[n]) -> i32:\n    return sum(x > 0)\n", "f")
    assert prims(graph)[-2:] == ["convert", "reduce_sum"] and graph.outputs[0].dtype == ir.i32


def test_one_hot_scatters_ones_and_eye_compares_against_iota():
    # a scatter, so a label outside [0, 10) is a DDIndexError like any tensor index
    graph = lowered("def f(y: i32[b]) -> f32[b, 10]:\n    return one_hot(y, 10)\n", "f")
    assert prims(graph) == ["constant", "broadcast_in_dim", "reshape", "scatter_add"]
    graph = lowered("def f(x: f32[n, n]) -> f32[n, n]:\n    return x * eye(n)\n", "f")
    assert prims(graph) == ["iota", "iota", "compare", "convert", "mul"]


def test_matmul_of_a_batch_against_a_matrix_is_one_dot_general():
    graph = lowered("def f(x: f32[b, s, d], W: f32[d, h]) -> f32[b, s, h]:\n    return x @ W\n", "f")
    assert prims(graph) == ["dot_general"]
    assert graph.nodes[0].params == {"contract": ((2,), (0,)), "batch": ((), ())}


def test_batched_matmul_uses_dot_general_batch_dims():
    graph = lowered("def f(x: f32[b, n, d], y: f32[b, d, m]) -> f32[b, n, m]:\n    return x @ y\n", "f")
    assert prims(graph) == ["dot_general"]
    assert graph.nodes[0].params == {"contract": ((2,), (1,)), "batch": ((0,), (0,))}
    graph = lowered("def f(x: f32[1, n, d], y: f32[b, d, m]) -> f32[b, n, m]:\n    return x @ y\n", "f")
    assert prims(graph) == ["broadcast_in_dim", "dot_general"]


def test_negative_index_on_a_symbolic_dim_is_a_slice_and_a_reshape():
    graph = lowered("def f(x: f32[n, d]) -> f32[d]:\n    return x[-1]\n", "f")
    assert prims(graph) == ["slice", "reshape"]
    n, d = ir.Sym.name("n"), ir.Sym.name("d")
    assert graph.nodes[0].params == {"start": (n - 1, 0), "limit": (n, d), "stride": (1, 1)}


def test_full_slices_emit_nothing_and_tensor_indices_gather():
    graph = lowered("def f(x: f32[n, d]) -> f32[n, d]:\n    return x[:, ...]\n", "f")
    assert prims(graph) == []
    graph = lowered("def f(x: f32[n, d], i: i32[k]) -> f32[n, k]:\n    return x[:, i]\n", "f")
    assert prims(graph) == ["gather"] and graph.nodes[0].params == {"axis": 1, "batch_dims": 0}


def test_dim_values_are_constants_of_the_dim():
    graph = lowered("def f(x: f32[n, d]) -> f32[n, d]:\n    return x / d\n", "f")
    assert graph.nodes[0].params == {"value": ir.Sym.name("d"), "dtype": ir.f32}


def test_constants_fold_and_dims_fold_symbolically():
    graph = lowered("def f(x: f32[n, d]) -> f32[n, d]:\n    return x * (2 * 3 - 5) ** 2\n", "f")
    assert graph.nodes[0].params["value"] == 1.0
    graph = lowered("def f(x: f32[n, d]) -> f32[d, n]:\n    return reshape(reshape(x, n * d), (d, n + d - d))\n", "f")
    assert prims(graph) == ["reshape", "reshape"]
    assert graph.nodes[0].params["shape"] == (ir.Sym.name("n") * ir.Sym.name("d"),)


def test_user_calls_are_inlined_with_the_callees_names_and_spans():
    source = MLP + """
def loss(W1: f32[d, h], b1: f32[h], W2: f32[h, c], x: f32[b, d]) -> f32:
    out = mlp(x, W1, b1, W2)
    return mean(out * out)
"""
    graph = lowered(source, "loss")
    names = {v.name for v in (n.out for n in graph.nodes)}
    assert {"h1", "out"} <= names
    assert {n.span.line for n in graph.nodes} == {3, 4, 8}  # line 7's call is all mlp's nodes


def test_generic_functions_lower_per_float_dtype_and_are_cached():
    program = loads("def f(x: float[n], k: i32[n]) -> float[n]:\n    return x * k\n")
    g32, g64 = program.lower("f", ir.f32), program.lower("f", ir.f64)
    assert [v.dtype for v in g32.inputs] == [ir.f32, ir.i32]
    assert [v.dtype for v in g64.inputs] == [ir.f64, ir.i32]
    assert program.lower("f", ir.f32) is g32
    plain = loads("def f(x: f32[n]) -> f32[n]:\n    return zeros(n) + x\n")
    assert plain.lower("f", ir.f64) is plain.lower("f", ir.f32)


def test_constructors_default_to_the_float_binding():
    source = ("def f(x: float[n]) -> float[n, n]:\n    return eye(n) + zeros((n, n)) + full((n, n), 0.5)"
              " + one_hot(arange(n), n) + ones(n, dtype=float)\n")
    graph = lowered(source, "f", ir.f64)
    assert graph.outputs[0].dtype == ir.f64
    assert {n.params["dtype"] for n in graph.nodes if n.prim.name == "convert"} == {ir.f64}
    assert {n.params["dtype"] for n in graph.nodes if n.prim.name == "constant"} == {ir.f64}


def test_public_function_definition():
    fn = loads(MLP).functions["mlp"]
    assert fn.name == "mlp" and (fn.span.line, fn.span.col) == (2, 1)
    assert [(p.name, str(p.type), p.span.col) for p in fn.params][:2] == [("x", "f32[b,d]", 9), ("W1", "f32[d,h]", 23)]
    assert [str(t) for t in fn.returns] == ["f32[b,c]"] and not fn.returns_tuple
    assert fn.params[0].type.dtype == ir.f32 and fn.params[0].type.shape == ("b", "d")
