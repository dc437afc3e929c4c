"""The numpy backend's own lowering passes, run after the shared pipeline
(`passes.optimize`) on a copy: the caller's graph, and what `.ir` shows, are unchanged.

- `sum_of_products`: a sum of a product as one contraction, which numpy makes one BLAS or
  einsum call (a GPU kernel would rather fuse the product into the sum);
- `schedule`: some nodes run as early as their inputs allow;
- `fuse_calls(graph)`: node pairs that one numpy call does better are merged into a node
  of a backend-private primitive (`BACKEND_PRIMITIVES`, which the verifier is given), that
  only this backend's lowering table knows:
  `add(x, scatter_add(u, idx))` where the scatter has no other use becomes
  `add_scatter(x, u, idx)`, `np.add.at` into `x + 0.0` (in place when x dies there),
  instead of a zero matrix, a scatter into it and a full-size add: the same numbers,
  as `(x + 0.0) + u` is `x + (0.0 + u)` for every x and u; but for floats only where no
  two updates can land in one place (one index per row), as `(x + u) + v` is not
  `x + (u + v)`;
  `select(x <= 0, 0, x)` (a relu) becomes `relu(x)`, one np.maximum and an add of +0.0
  in place; and `select(x > c, x, c)` becomes `fmax(x, c)`, `select(x < c, x, c)` `fmin`,
  where c is a constant that is neither NaN nor zero (at c = 0, fmax gives either zero at
  -0.0, position by position).
"""
from __future__ import annotations

import math

from ddc.ir.core import Graph, Node, Primitive
from ddc.passes.dce import dce
from ddc.passes.patterns import Facts
from ddc.passes.sum_of_products import sum_of_products


def lower(graph: Graph) -> Graph:
    """The numpy backend's passes, on a graph the shared pipeline optimised."""
    return fuse_calls(schedule(sum_of_products(graph)))


def early(node: Node) -> bool:
    """Nodes worth running as soon as their inputs exist: gathers (a pick reads little and
    makes little, and the large array it reads may then die sooner, so the node that came
    between can overwrite it in place), and scalars and iotas (so they do not cut runs of
    row-local nodes apart, see `blocks`)."""
    return node.prim.name in ("gather", "iota") or node.out.ndim == 0


def schedule(graph: Graph) -> Graph:
    """Each `early` node moved up to just after its inputs; the rest keep their order.

    Sort keys, in one pass: a node that stays keeps (its index, 0); an early node takes
    (the anchor of its latest input, one more than the depth of early inputs there)."""
    key: dict[int, tuple[int, int]] = {v.id: (-1, 0) for v in graph.inputs}
    keyed = []
    for i, n in enumerate(graph.nodes):
        if early(n):
            anchor = max((key[v.id][0] for v in n.inputs), default=-1)
            depth = max((key[v.id][1] for v in n.inputs if key[v.id][0] == anchor), default=0)
            key[n.out.id] = (anchor, depth + 1)
        else:
            key[n.out.id] = (i, 0)
        keyed.append((key[n.out.id], i, n))
    keyed.sort(key=lambda item: (item[0], item[1]))
    return Graph(graph.inputs, [n for _, _, n in keyed], graph.outputs, graph.name)


ADD_SCATTER = Primitive("add_scatter", lambda ts, **p: ts[0], ("axis", "batch_dims"), arity=3, index_operand=2)
# select(x > c, x, c) is fmax(x, c) for a constant c that is neither NaN (fmax would give
# x at a NaN c) nor zero (at x = -c the select gives c's zero, fmax either zero), as NaN
# in x gives c in both; select(x < c, x, c) is fmin: one ufunc pass instead of a compare
# and a masked select. select(x <= 0, 0, x) is relu (numpy_runtime.relu).
FMAX = Primitive("fmax", lambda ts: ts[0], arity=2, elementwise=True)
FMIN = Primitive("fmin", lambda ts: ts[0], arity=2, elementwise=True)
RELU = Primitive("relu", lambda ts: ts[0], elementwise=True)
_CLAMPS = {"gt": FMAX, "ge": FMAX, "lt": FMIN, "le": FMIN}
BACKEND_PRIMITIVES = {p.name: p for p in (ADD_SCATTER, FMAX, FMIN, RELU)}


def _clamp(n: Node, facts: Facts) -> Node | None:
    """`select(compare(x, c), x, c)` as fmax/fmin(x, c), and `select(x <= 0, 0, x)` as
    relu(x), else None."""
    pred, on_true, on_false = n.inputs
    p = facts.node(pred)
    if p is None or p.prim.name != "compare" or not n.out.dtype.is_float:
        return None
    (x, c), direction, value = p.inputs, p.params["direction"], facts.splat(p.inputs[1])
    if direction == "le" and on_false is x and value == 0 and _is_plus_zero(facts, on_true):
        return Node(RELU, [x], {}, n.out, n.span)
    if (direction not in _CLAMPS or x is not on_true or c is not on_false
            or value is None or value != value or value == 0):
        return None
    return Node(_CLAMPS[direction], [on_true, on_false], {}, n.out, n.span)


def _is_plus_zero(facts: Facts, v) -> bool:
    value = facts.splat(v)
    return value == 0 and math.copysign(1.0, value) > 0


def _one_per_place(scatter: Node) -> bool:
    """No two of the scatter's updates land in one place: its indices have no dims beyond
    the batch dims but ones of size 1."""
    return all(d == 1 for d in scatter.inputs[1].shape[scatter.params["batch_dims"]:])


def fuse_calls(graph: Graph) -> Graph:
    facts = Facts(graph)  # for its use counts, and splats
    producer = facts.producer = {n.out.id: n for n in graph.nodes}
    fused: set[int] = set()  # ids of scatter nodes folded into their add
    nodes: list[Node] = []
    for n in graph.nodes:
        if n.prim.name == "select":
            nodes.append(_clamp(n, facts) or n)
            continue
        if n.prim.name == "add":
            for dense, other in (n.inputs, reversed(n.inputs)):
                s = producer.get(other.id)
                if (s is not None and s.prim.name == "scatter_add" and facts.used_once(other)
                        and dense is not other and (_one_per_place(s) or not n.out.dtype.is_float)):
                    fused.add(id(s))
                    params = {"axis": s.params["axis"], "batch_dims": s.params["batch_dims"]}
                    # at the scatter's span: what can fail here is its index
                    nodes.append(Node(ADD_SCATTER, [dense, *s.inputs], params, n.out, s.span))
                    break
            else:
                nodes.append(n)
            continue
        nodes.append(n)
    nodes = [n for n in nodes if id(n) not in fused]
    return dce(Graph(graph.inputs, nodes, graph.outputs, graph.name))  # compares no longer read
