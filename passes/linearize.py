"""`linearize`: jvp, then partial evaluation into a primal graph and a linear graph.

Every node of the jvp graph is classified by what it depends on:
- known: depends on a primal input, not on any tangent -> the primal graph;
- constant: depends on no input at all (literals, iotas) -> recomputed wherever needed,
  never passed as a residual (a broadcast zero is cheaper to make than to keep);
- unknown: depends on a tangent -> the linear graph.

Known values that unknown nodes use are the residuals: the primal graph returns them
after its outputs, the linear graph takes them before its tangents. Dims that no residual
or tangent shape carries (the `n, d` of `x` in the linear graph of `sum(x)`) are the
linear graph's dim parameters (`Graph.dim_params`): its caller passes them, so no residual
is kept only for its shape. Nothing of the primal
computation is repeated in the linear graph, which is "You Only Linearize Once" (Radul et
al., POPL 2023): reverse mode is then `transpose` of the linear graph.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ddc.ir import Builder, Graph, Node, Value

from .cleanup import cleanup
from .jvp import jvp
from .util import traced


@dataclass
class Linearized:
    primal: Graph  # inputs -> outputs..., residuals...
    linear: Graph  # [dim parameters] residuals..., tangents... -> output tangents...
    num_outputs: int
    num_residuals: int


@traced("linearize")
def linearize(graph: Graph, wrt: Sequence[bool] | None = None) -> Linearized:
    if wrt is None:
        wrt = [True] * len(graph.inputs)
    j = cleanup(jvp(graph, wrt))
    n_in = len(graph.inputs)
    n_out = len(graph.outputs)
    primal_inputs, tangent_inputs = j.inputs[:n_in], j.inputs[n_in:]

    kind: dict[int, str] = {v.id: "known" for v in primal_inputs}
    kind.update({v.id: "unknown" for v in tangent_inputs})
    for node in j.nodes:
        kinds = {kind[v.id] for v in node.inputs}
        kind[node.out.id] = (
            "unknown" if "unknown" in kinds else "known" if "known" in kinds else "constant"
        )

    known_nodes = [n for n in j.nodes if kind[n.out.id] != "unknown"]
    unknown_nodes = [n for n in j.nodes if kind[n.out.id] == "unknown"]
    producer = {n.out.id: n for n in j.nodes}

    # Residuals: known values read by the linear side (tangent outputs count as reads).
    residuals: list[Value] = []
    seen: set[int] = set()
    linear_reads = [v for n in unknown_nodes for v in n.inputs] + list(j.outputs[n_out:])
    for v in linear_reads:
        if kind.get(v.id) == "known" and v.id not in seen:
            seen.add(v.id)
            residuals.append(v)
    for v in residuals:
        v.origin = "residual"

    primal = cleanup(Graph(list(primal_inputs), known_nodes, list(j.outputs[:n_out]) + residuals,
                           f"primal_{graph.name}"))

    # The linear graph: residuals and tangents in; constants it needs are recomputed.
    res_in = [Value(v.type, v.name, "residual") for v in residuals]
    env = {old.id: new for old, new in zip(residuals, res_in)}
    b = Builder(origin="tangent")
    needed = _constants_needed(linear_reads, kind, producer)
    for node in j.nodes:
        if node.out.id in needed or kind[node.out.id] == "unknown":
            new_out = Value(node.out.type, node.out.name,
                            "tangent" if kind[node.out.id] == "unknown" else None)
            b.nodes.append(Node(node.prim, [env.get(v.id, v) for v in node.inputs],
                                node.params, new_out, node.span))
            env[node.out.id] = new_out
    linear = cleanup(b.graph(res_in + list(tangent_inputs),
                             [env.get(v.id, v) for v in j.outputs[n_out:]],
                             f"linear_{graph.name}"))
    return Linearized(primal, linear, n_out, len(residuals))


def dim_arguments(primal: Graph, shapes: Sequence[Sequence[int]], graph: Graph) -> list[int]:
    """The dim parameters of `graph` (a linear or backward graph of `primal`) for a call
    of `primal` with arguments of `shapes`: what a closure over the residuals passes on."""
    sizes = primal.dim_sizes(shapes)
    return [sizes[d] for d in graph.dim_params()]


def _constants_needed(reads, kind, producer) -> set[int]:
    """Ids of constant-only nodes that the linear side reads, with their own inputs."""
    needed: set[int] = set()
    stack = [v for v in reads if kind.get(v.id) == "constant"]
    while stack:
        v = stack.pop()
        if v.id in needed:
            continue
        needed.add(v.id)
        stack.extend(producer[v.id].inputs)
    return needed

