"""The Triton backend's host side: the graph, after the shared pipeline
(`passes.optimize`), is cut into kernels (`partition`); each group becomes one
`@triton.jit` kernel (`kernel`, with the lowering table `rules`), and a host function
checks the arguments, allocates the outputs with torch and launches the kernels.

    def mlp_0(x_1, W_2, bias_3):
        x_1 = to_tensor(x_1, torch.float32, 2, 'parameter x', 'f32[b,d]')
        b_4 = x_1.shape[0]
        ...
        t_7 = torch.empty((b_4, h_6), dtype=torch.float32, device=DEVICE)
        bm_19, bn_20, bk_21 = block(b_4, 64, 16), block(h_6, 64, 16), block(d_5, 32, 16)
        matmul_8[(blocks(b_4, bm_19) * blocks(h_6, bn_20) * 1,)](x_1, W_2, bias_3, t_7, b_4, d_5,
                                                                h_6, BLOCK_M=bm_19, ...)
        return t_7

How kernels read memory. Every tensor is contiguous and row-major. A kernel walks its
group's index space (`partition`) and computes each value *at a map*, one index
expression per axis over the space's iteration variables, by the rules of
`rules.triton_rules` and `partition.index_rules`. So the data-movement primitives (broadcast_in_dim,
transpose, reshape, slice, pad, concatenate) and gather are index arithmetic inside the
kernels, never host copies: a transposed operand is read transposed, a broadcast bias is
read in place. A value whose map uses only the variables of an enclosing loop is computed
there (hoisted). Loads are masked by the tile and by the bounds of every computed index.
Gather and scatter indices outside [0, n) are a DDIndexError (the index rule): checked on
the host before any launch where the index is an argument (`common.arguments`), else stored by
its kernel and checked after the launches, the kernels masking what it would read or add.

Kernels by kind (block sizes are powers of two picked from the shapes at call time, so
a compiled function serves every size):
- elementwise / gather: a 1-D tile of `BLOCK` elements of the flattened space;
- reduction: `BLOCK_O` rows per program; per reduction one loop over the reduced elements
  in chunks of `BLOCK_I`, each output stored in the first loop that has what it needs;
- matmul: `BLOCK_M x BLOCK_N` tiles of each batch entry, a loop over `BLOCK_K` chunks of
  the contraction with `tl.dot` (float32 in IEEE precision, no TF32), the epilogue on the
  finished tile;
- scatter: the updates' space, `tl.atomic_add` into a zeroed output.

Arguments may be torch tensors (used in place) or numpy arrays and Python values (copied
to the device: cuda when torch sees a GPU, else the CPU); results are torch tensors.
Symbolic dims are bound from the argument shapes by the shared prologue
(`common.arguments`) and passed to kernels as ints. Without a GPU the kernels run under
TRITON_INTERPRET=1, which `runtime` sets before it imports triton.

No text from a .dd file reaches the source: identifiers are minted by `naming.Minter`,
numbers are re-emitted from parsed values, comments show minted names only.

Limits: index arithmetic is in int32 (tensors under 2**31 elements); a scatter_add whose
indices repeat adds with float atomics, in no fixed order.
"""
from __future__ import annotations

import builtins
import functools
import hashlib
import linecache
from collections.abc import Callable, Sequence

import numpy as np

from ddc.ir.core import Graph, Value
from ddc.ir.verify import verify
from ddc.passes.optimize import optimize

from ..common.arguments import start_function
from ..common.compiled import CompiledGraph
from ..common.export import embedded_runtime
from ..common.naming import export_name
from . import runtime as triton_runtime
from .kernel import Kernel
from .partition import Group, partition
from .rules import torch_type


# -- the module: kernels and the host function ---------------------------------------------

def _to_tensor(v: Value, p: str, who: str, declared: str) -> list[str]:
    return [f"{p} = to_tensor({p}, {torch_type(v.dtype)}, {v.ndim}, {who!r}, {declared!r})"]


def _shape_text(k: Kernel, shape) -> str:
    items = [k.host_dim(d) for d in shape]
    return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"


def module_body(graph: Graph, name: str | None = None) -> tuple[str, str, list[tuple[str, Group]], list]:
    """(source of the kernels and the host function, the function's name, the kernels'
    names with their groups, in launch order, the table of call-time checks).

    The function is named `name` when given (the caller validates it), else a name
    minted from the graph's; deterministic."""
    verify(graph)
    runs = verify(optimize(graph))
    start = start_function(graph, _to_tensor, name, runs=runs)
    mint, fname, params, dims, body, tensors = (start.mint, start.name, start.params, start.dims,
                                                start.body, start.names)
    values = {v.id: v for v in runs.inputs + [n.out for n in runs.nodes]}
    kernels, sources = [], []
    # An index computed in the graph is stored too, and checked after the launches: the
    # kernels mask what an index out of range would read or add, and the call raises.
    computed = [n.index_input for n in start.computed]
    fusion = partition(Graph(runs.inputs, runs.nodes, runs.outputs + computed, runs.name))
    for group in fusion.groups:
        for v in group.outputs:
            tensors[v.id] = mint(v.name)
        kernel = Kernel(group, mint(group.kind, "kernel"), mint, dims, tensors, values)
        for v in group.outputs:
            alloc = "zeros" if group.kind == "scatter" else "empty"
            body.append(f"{tensors[v.id]} = torch.{alloc}({_shape_text(kernel, v.shape)}, "
                        f"dtype={torch_type(v.dtype)}, device=DEVICE)")
        body += kernel.launch()
        sources.append(kernel.source())
        kernels.append((kernel.name, group))
    body += [start.check_index(node, tensors[node.index_input.id])
             for node in start.computed]
    body.append(_return(runs, tensors))
    host = [f"def {fname}({', '.join(params)}):"] + [f"    {line}" for line in body]
    return "\n\n".join(sources + ["\n".join(host) + "\n"]), fname, kernels, start.checks


def _return(graph: Graph, tensors: dict[int, str]) -> str:
    """Outputs are fresh tensors: an argument, or a value returned twice, is cloned."""
    inputs = {v.id for v in graph.inputs}
    seen: set[int] = set()
    items = []
    for v in graph.outputs:
        name = tensors[v.id]
        items.append(f"{name}.clone()" if v.id in inputs or v.id in seen else name)
        seen.add(v.id)
    if len(items) == 1:
        return f"return {items[0]}"
    return f"return {', '.join(items)}" if items else "return ()"


# -- compiling and exporting ---------------------------------------------------------------

_RUNTIME_NAMES = {k: v for k, v in vars(triton_runtime).items() if not k.startswith("__")}


@functools.lru_cache(maxsize=256)
def _load(source: str, fname: str) -> Callable:
    """Run the source in a namespace holding the runtime; keyed by the source text, so an
    identical graph compiles once. The text goes into `linecache`, where Triton (and
    tracebacks) read the kernels' source."""
    digest = hashlib.sha256(source.encode()).hexdigest()[:12]
    filename = f"<ddc-triton-{digest}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    namespace = dict(_RUNTIME_NAMES)
    exec(builtins.compile(source, filename, "exec"), namespace)
    return namespace[fname]


class TritonFunction(CompiledGraph):
    """A graph compiled to Triton kernels. Call it with torch tensors (used in place),
    numpy arrays (copied to the device) or Python numbers and lists; it returns torch
    tensors. `.source` is the code it runs, `.kernels` the (name, fusion group) of each
    kernel it launches, in order, `.num_kernels` how many, and `.namespace` the globals the
    code runs in (the kernels by name, the runtime), for tools that time kernels."""

    def __init__(self, graph: Graph, source: str, fn: Callable, kernels: list[tuple[str, Group]],
                 checks: Sequence = ()):
        super().__init__(graph, source, fn, checks)
        self.kernels = kernels
        self.num_kernels = len(kernels)
        self.namespace = fn.__globals__

    def run(self, *args):
        with np.errstate(all="ignore"):  # the interpreter computes masked-off lanes too
            return self.fn(*args)

    def __repr__(self) -> str:
        return f"<TritonFunction {self.graph.name}: {self.num_kernels} kernels>"


def compile(graph: Graph) -> TritonFunction:
    source, fname, kernels, checks = module_body(graph)
    return TritonFunction(graph, source, _load(source, fname), kernels, checks)


def runtime_source() -> str:
    """The runtime as exported modules embed it, needing torch and triton alone."""
    return embedded_runtime(triton_runtime.__file__)


def module_source(graph: Graph, name: str) -> str:
    """A standalone module, needing torch and triton alone, that defines `name`."""
    export_name(name, set(dir(builtins)) | set(_RUNTIME_NAMES))
    source, _, _, _ = module_body(graph, name)
    return (f"# Generated by ddc: {name}(...) computes a compiled graph with Triton kernels "
            f"(torch and triton alone).\n{runtime_source()}\n\n{source}")
