"""The numpy backend: an `ir.Graph` becomes a readable Python function, compiled and cached.

The generated function checks its arguments and binds the symbolic dims (`numpy_args`),
then runs one statement per node, each written by the node's entry in `numpy_rules`:

    def mlp_0(x_1, W1_2, b1_3):
        ...argument checks, binding b_4, d_5, h_6...
        t_7 = x_1 @ W1_2  # f32[b_4,h_6]
        t_8 = b1_3  # f32[b_4,h_6], broadcast by its users
        t_9 = t_7 + t_8  # f32[b_4,h_6]
        del t_7, t_8
        t_10 = np.float32(0.0)  # f32[]
        t_11 = t_10  # f32[b_4,h_6], broadcast by its users
        h1_12 = np.maximum(t_9, t_11)  # f32[b_4,h_6]
        del t_9, t_11
        return h1_12

That is the plain form; the backend's own rewrites then make a relu one `np.maximum`
(`numpy_fusion`), write results into dying inputs (`numpy_buffers`), and run such a chain
of row-local nodes as blocks of rows on every core (`numpy_blocks`).

Every identifier is minted by `naming.Minter`, so no text from a `.dd` file reaches the
source except as re-minted identifiers, numbers re-emitted from parsed values, and labels
in error messages emitted with `repr`. Helpers that take more than one numpy call live in
`numpy_runtime`, which exported modules embed verbatim.
"""
from __future__ import annotations

import builtins
import functools
import hashlib
import linecache
import math
import re
import string
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ddc.errors import IRError
from ddc.ir import dims as D
from ddc.ir import requirements
from ddc.ir.core import Graph, Node
from ddc.ir.dtypes import DType
from ddc.ir.types import TensorType
from ddc.ir.verify import verify

from . import numpy_runtime
from .compiled import CompiledGraph
from .naming import MINTED, Minter, export_name
from .numpy_args import DimBinder, dtype_ref, start_function
from .numpy_blocks import Region, find_regions, sliced
from .numpy_buffers import BROADCASTS, VIEWS, plan_buffers
from .numpy_fusion import ADD_SCATTER, fuse, fused_rules, optimize

# What indexes, with the position of the index operand: the IR's primitives and the fused
# add_scatter(x, updates, idx).
INDEXED = {**requirements.INDEXED, ADD_SCATTER.name: 2}


# -- what a rule sees ----------------------------------------------------------------------

@dataclass(frozen=True)
class Site:
    """What a rule knows about its node besides the input names and the params."""

    in_types: tuple[TensorType, ...]
    out: TensorType
    dims: DimBinder
    users_broadcast: bool = False  # every user broadcasts this value itself (see below)
    rows: str | None = None  # inside a row block: the block's row count, for leading dims

    def dim(self, d: D.Dim) -> str:
        return self.dims.expr(d)

    def shape(self, shape) -> str:
        dims = [self.dim(d) for d in shape]
        if self.rows is not None and dims:
            dims[0] = self.rows
        return tuple_text(dims)


@dataclass(frozen=True)
class Held:
    """Values numpy holds smaller than their type says."""

    broadcast: set[int]  # broadcasts left to their users' own broadcasting (`_users_broadcast`)
    scalar: set[int]  # values held as numpy scalars: 0-d ones, and such broadcasts of them


def tuple_text(items) -> str:
    items = [str(x) for x in items]
    return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"


def axis_text(axes) -> str:
    return str(axes[0]) if len(axes) == 1 else tuple_text(axes)


_SCALAR_TYPES = {"bool": "np.bool_", "i32": "np.int32", "i64": "np.int64",
                 "f32": "np.float32", "f64": "np.float64"}


def literal(value, dtype: DType, site: Site) -> str:
    """A scalar as source: re-emitted from the parsed number (or the dim's runtime size)."""
    if isinstance(value, D.Sym):
        return site.dim(value)
    if dtype.is_bool:
        return repr(bool(value))
    if dtype.is_int:
        info = np.iinfo(dtype.np)
        if not info.min <= int(value) <= info.max:
            raise IRError(f"constant {int(value)} does not fit {dtype}")
        return repr(int(value))
    x = float(value)
    if math.isnan(x):
        return "np.nan"
    if math.isinf(x):
        return "np.inf" if x > 0 else "-np.inf"
    return repr(x)


def expand(x: str, positions, ndim: int) -> str:
    """`x` indexed with `None` so that its axes sit at `positions` of an `ndim`-d result;
    numpy broadcasting aligns trailing axes by itself, so those need nothing."""
    positions = list(positions)
    if positions == list(range(ndim - len(positions), ndim)):
        return x
    index = [":" if i in positions else "None" for i in range(positions[0], ndim)]
    while index[-1] == ":":
        index.pop()
    return f"{x}[{', '.join(index)}]"


# -- the rule table: one function per primitive, each returning one expression -------------

def _call(fn: str):
    return lambda site, *args: f"{fn}({', '.join(args)})"


def _infix(op: str):
    return lambda site, x, y: f"{x} {op} {y}"


def _div(site, x, y):
    return f"{x} / {y}" if site.out.dtype.is_float else f"int_div({x}, {y})"


_COMPARE_OPS = {"lt": "<", "le": "<=", "gt": ">", "ge": ">=", "eq": "==", "ne": "!="}


def _compare(site, x, y, direction):
    return f"{x} {_COMPARE_OPS[direction]} {y}"


def _select(site, pred, on_true, on_false):
    if site.out.dtype.is_float:
        return f"select({pred}, {on_true}, {on_false})"  # bit masks: numpy's where is slow
    return f"np.where({pred}, {on_true}, {on_false})"


def _convert(site, x, dtype):
    if site.in_types[0].dtype.is_float and dtype.is_int:
        return f"convert({x}, {dtype_ref(dtype)})"  # truncated, NaN to 0, saturated
    return f"{x}.astype({dtype_ref(dtype)})"


def _broadcast_in_dim(site, x, shape, broadcast_dimensions):
    view = expand(x, broadcast_dimensions, len(shape))
    return view if site.users_broadcast else f"broadcast({view}, {site.shape(shape)})"


def _reshape(site, x, shape):
    return f"{x}.reshape({site.shape(shape)})"


def _transpose(site, x, permutation):
    if tuple(permutation) == (1, 0):
        return f"{x}.T"
    return f"{x}.transpose({tuple_text(permutation)})"


def _reduce_sum(site, x, axes):
    # numpy sums small ints in the platform int; the IR keeps the operand's dtype
    dtype = f", dtype={dtype_ref(site.out.dtype)}" if site.out.dtype.is_int else ""
    return f"np.add.reduce({x}, axis={axis_text(axes)}{dtype})"  # np.sum's wrapper costs 3 µs a call


def _lowest(dtype: DType) -> str:
    if dtype.is_float:
        return "-np.inf"
    if dtype.is_bool:
        return "False"
    return str(np.iinfo(dtype.np).min)


def _reduce_max(site, x, axes):
    # `initial` makes the max of an empty axis the dtype's lowest value, as in lax
    return f"np.maximum.reduce({x}, axis={axis_text(axes)}, initial={_lowest(site.out.dtype)})"


def _moved(x: str, order) -> str:
    order = tuple(order)
    return x if order == tuple(range(len(order))) else f"{x}.transpose({tuple_text(order)})"


def _dot_general(site, x, y, contract, batch):
    """The cheapest correct numpy form: `@` for vectors and matrices (transposed views are
    free), one `@` after reshaping without batch dims, batched `np.matmul` with one free
    dim per side, and einsum for everything else."""
    (lc, rc), (lb, rb) = contract, batch
    lhs, rhs = site.in_types
    lfree = [i for i in range(lhs.ndim) if i not in lc and i not in lb]
    rfree = [i for i in range(rhs.ndim) if i not in rc and i not in rb]
    if not lb and len(lc) == 1 and lhs.ndim <= 2 and rhs.ndim <= 2:
        left = f"{x}.T" if lhs.ndim == 2 and lc[0] == 0 else x
        right = f"{y}.T" if rhs.ndim == 2 and rc[0] == 1 else y
        return f"{left} @ {right}"
    if not lb:
        return _reshaped_product(site, x, y, lc, rc, lfree, rfree)
    if len(lc) == 1 and len(lfree) == 1 and len(rfree) == 1:
        return f"np.matmul({_moved(x, [*lb, *lfree, *lc])}, {_moved(y, [*rb, *rc, *rfree])})"
    return _einsum(x, y, lhs.ndim, rhs.ndim, lc, rc, lb, rb, lfree, rfree)


def _reshaped_product(site, x, y, lc, rc, lfree, rfree) -> str:
    """A contraction without batch dims as one `@`: each side's free dims and contracted
    dims moved together and merged (a view when they already are), a side without free
    dims a vector. This is what `np.tensordot` does, but it calls `np.dot`, which is ~20%
    slower than `@` on float32 matrices here (and a full contraction becomes a BLAS dot)."""
    lhs, rhs = site.in_types
    if not lc:  # nothing contracted: every free dim of x times every free dim of y
        return f"np.multiply.outer({x}, {y})"

    def size(t, axes) -> str:
        return site.dim(math.prod((t.shape[i] for i in axes), start=1))

    def merged(name, t, first, second):
        """`name` as a matrix (first dims, second dims), or a vector if one side is empty;
        stored the other way round, as the transposed view of that matrix (free for BLAS,
        where moving the dims would copy)."""
        if first and second and [*second, *first] == list(range(t.ndim)) and len(first) + len(second) > 2:
            return f"{name}.reshape({size(t, second)}, {size(t, first)}).T"
        moved = _moved(name, [*first, *second])
        if len(first) <= 1 and len(second) <= 1:
            return moved
        if first and second:
            return f"{moved}.reshape({size(t, first)}, {size(t, second)})"
        return f"{moved}.reshape({size(t, first or second)})"

    product = f"{merged(x, lhs, lfree, lc)} @ {merged(y, rhs, rc, rfree)}"
    if len(lfree) == 1 and len(rfree) <= 1 or not lfree and len(rfree) == 1:
        return product  # already the output's shape
    return f"({product}).reshape({site.shape(site.out.shape) if site.out.shape else '()'})"


def _einsum(x, y, lrank, rrank, lc, rc, lb, rb, lfree, rfree):
    letters = iter(string.ascii_letters)
    left, right = [""] * lrank, [""] * rrank
    for a, b in [*zip(lb, rb), *zip(lc, rc)]:
        left[a] = right[b] = next(letters)
    for i in lfree:
        left[i] = next(letters)
    for i in rfree:
        right[i] = next(letters)
    out = [left[i] for i in lb] + [left[i] for i in lfree] + [right[i] for i in rfree]
    spec = f"{''.join(left)},{''.join(right)}->{''.join(out)}"
    return f"np.einsum({spec!r}, {x}, {y}, optimize=False)"


def _slice(site, x, start, limit, stride):
    (t,) = site.in_types
    parts = []
    for d, lo, hi, k in zip(t.shape, start, limit, stride):
        part = f"{'' if lo == 0 else site.dim(lo)}:{'' if hi == d else site.dim(hi)}"
        parts.append(part if k == 1 else f"{part}:{k}")
    while len(parts) > 1 and parts[-1] == ":":
        parts.pop()
    return f"{x}[{', '.join(parts) or '()'}]"


def _pad(site, x, low, high, interior):
    negative = any(isinstance(p, int) and p < 0 for p in (*low, *high))
    if not low or any(interior) or negative:
        return f"pad({x}, {site.shape(low)}, {site.shape(high)}, {tuple_text(interior)})"
    widths = tuple_text(f"({site.dim(lo)}, {site.dim(hi)})" for lo, hi in zip(low, high))
    return f"np.pad({x}, {widths})"


def _concatenate(site, *xs, axis):
    return f"np.concatenate({tuple_text(xs)}, axis={axis})"


def _gather(site, x, idx, axis, batch_dims):
    if batch_dims == 0:
        return f"np.take({x}, {idx}, axis={axis})"
    return f"gather({x}, {idx}, axis={axis}, batch_dims={batch_dims})"


def _scatter_add(site, updates, idx, axis, batch_dims, shape):
    return (f"scatter_add({updates}, {idx}, axis={axis}, batch_dims={batch_dims}, "
            f"shape={site.shape(shape)})")


def _iota(site, shape, dimension, dtype):
    line = f"np.arange({site.dim(shape[dimension])}, dtype={dtype_ref(dtype)})"
    if len(shape) == 1:
        return line
    return f"broadcast({expand(line, [dimension], len(shape))}, {site.shape(shape)})"


def _constant(site, value, dtype):
    return f"{_SCALAR_TYPES[dtype.name]}({literal(value, dtype, site)})"


def _sign(site, x):
    return f"sign({x})" if site.out.dtype.is_float else f"np.sign({x})"


numpy_rules: dict[str, Callable[..., str]] = {
    "neg": lambda site, x: f"-{x}",
    "abs": _call("np.abs"),
    "sign": _sign,
    "exp": _call("np.exp"),
    "log": _call("np.log"),
    "log1p": _call("np.log1p"),
    "tanh": _call("np.tanh"),
    "logistic": _call("logistic"),
    "sqrt": _call("np.sqrt"),
    "sin": _call("np.sin"),
    "cos": _call("np.cos"),
    "add": _infix("+"),
    "sub": _infix("-"),
    "mul": _infix("*"),
    "div": _div,
    "pow": _call("power"),
    "integer_pow": lambda site, x, y: f"integer_pow({x}, {int(y)})",
    "max": _call("np.maximum"),
    "min": _call("np.minimum"),
    "compare": _compare,
    "select": _select,
    "convert": _convert,
    "stop_gradient": lambda site, x: x,
    "broadcast_in_dim": _broadcast_in_dim,
    "reshape": _reshape,
    "transpose": _transpose,
    "reduce_sum": _reduce_sum,
    "reduce_max": _reduce_max,
    "dot_general": _dot_general,
    "slice": _slice,
    "pad": _pad,
    "concatenate": _concatenate,
    "gather": _gather,
    "scatter_add": _scatter_add,
    "iota": _iota,
    "constant": _constant,
}

# numpy's name for each elementwise primitive that can write into a dying input (`out=`).
UFUNCS = {
    "neg": "np.negative", "abs": "np.abs", "sign": "np.sign", "exp": "np.exp", "log": "np.log",
    "log1p": "np.log1p", "tanh": "np.tanh", "sqrt": "np.sqrt", "sin": "np.sin", "cos": "np.cos",
    "add": "np.add", "sub": "np.subtract", "mul": "np.multiply", "div": "np.divide",
    "pow": "power", "max": "np.maximum", "min": "np.minimum",
    "fmax": "np.fmax", "fmin": "np.fmin", "relu": "relu",  # backend-private, see numpy_fusion
}
# Float primitives whose numpy ufunc differs from the primitive at ±0, NaN or inf: the
# runtime's helper of the same signature (np.sign(-0.0) is +0.0).
FLOAT_HELPERS = {"sign": "sign"}
# The slow ones (numpy computes them one element at a time): split across cores when large.
PARALLEL = {"exp", "log", "log1p", "tanh", "sin", "cos"}
# Slow with a scalar operand (a relu's 0): numpy_runtime.with_scalar gives it as an array.
WITH_SCALAR = {"max", "min", "fmax", "fmin"}


# -- the function --------------------------------------------------------------------------

def _users_broadcast(graph: Graph) -> set[int]:
    """The broadcast_in_dim results that numpy's own broadcasting can stand in for: not an
    output, and each user is elementwise with another operand that is no broadcast, so it
    has the full shape. `np.broadcast_to` costs microseconds; this is most bias adds."""
    producers, users = graph.producers(), graph.users()
    outputs = {v.id for v in graph.outputs}

    def full(v) -> bool:
        return v.id not in producers or producers[v.id].prim.name != "broadcast_in_dim"

    return {
        n.out.id for n in graph.nodes
        if n.prim.name == "broadcast_in_dim" and n.out.id not in outputs and users.get(n.out.id)
        and all(u.prim.elementwise and any(full(v) for v in u.inputs) for u in users[n.out.id])
    }


def _in_place(node: Node, args: list[str], target: str, threads: bool = True) -> str:
    """The node writing into `target`, a dying input of the output's type."""
    if node.prim is ADD_SCATTER:
        return f"add_scatter({', '.join(args)}, {node.params['axis']}, {node.params['batch_dims']}, out={target})"
    if node.prim.name == "select":
        return f"select({', '.join(args)}, out={target})"
    return _ufunc_call(node, args, f", out={target}", threads)


def _small(node: Node, limit: int = numpy_runtime.SCALAR_MIN_SIZE) -> bool:
    """The node's output is known to have fewer than `limit` elements."""
    size = node.out.type.size()
    return isinstance(size, int) and size < limit


def _ufunc(node: Node) -> str:
    name = node.prim.name
    return FLOAT_HELPERS[name] if name in FLOAT_HELPERS and node.out.dtype.is_float else UFUNCS[name]


def _ufunc_call(node: Node, args: list[str], out: str = "", threads: bool = True) -> str:
    name = node.prim.name
    if threads and name in PARALLEL and not _small(node, numpy_runtime.PARALLEL_MIN_SIZE):
        return f"parallel({UFUNCS[name]}, {', '.join(args)}{out})"
    return f"{_ufunc(node)}({', '.join(args)}{out})"


def _writable_inputs(node: Node) -> list:
    """The inputs the node's lowering could write its result into (with `out=`)."""
    if node.prim is ADD_SCATTER:
        return node.inputs[:1]
    name = node.prim.name
    if name == "select" and node.out.dtype.is_float:
        return node.inputs[1:]
    if name in UFUNCS and (name != "div" or node.out.dtype.is_float):  # int div: a helper
        return node.inputs
    return []


def _statement(node: Node, names: dict[int, str], dims: DimBinder, held: Held,
               target: str | None = None, rows: str | None = None) -> str:
    """One node's line; `rows` inside a row block (no threads there: blocks have them)."""
    rule = numpy_rules.get(node.prim.name) or fused_rules.get(node.prim.name)
    if rule is None:
        raise IRError(f"the numpy backend has no rule for {node.prim.name}")
    site = Site(tuple(v.type for v in node.inputs), node.out.type, dims, node.out.id in held.broadcast, rows)
    args = [names[v.id] for v in node.inputs]
    threads = rows is None
    if node.prim.name in WITH_SCALAR and sum(v.id in held.scalar for v in node.inputs) == 1 and not _small(node):
        out = "" if target is None else f", out={target}"
        expr = f"with_scalar({UFUNCS[node.prim.name]}, {', '.join(args)}{out})"
    elif target is not None:
        expr = _in_place(node, args, target, threads)
    elif node.prim.name in PARALLEL:
        expr = _ufunc_call(node, args, threads=threads)
    else:
        expr = rule(site, *args, **node.params)
    kind = f"{node.out.dtype}[{','.join(dims.expr(d) for d in node.out.shape)}]"
    if site.users_broadcast:
        kind += ", broadcast by its users"
    return f"{names[node.out.id]} = {expr}  # {kind}"


def _return(graph: Graph, names: dict[int, str], bases: dict[int, object]) -> str:
    """Outputs are fresh arrays: copy an argument, a view of one, a broadcast, or a second
    output sharing memory with an earlier one; make numpy scalars 0-d arrays."""
    claimed: set = set()
    items = []
    for v in graph.outputs:
        base = bases[v.id]
        if base in ("argument", "broadcast") or base in claimed:
            items.append(f"np.array({names[v.id]})")
        else:
            claimed.add(base)
            items.append(f"np.asarray({names[v.id]})" if v.ndim == 0 else names[v.id])
    if len(items) == 1:
        return f"return {items[0]}"
    return f"return {', '.join(items)}" if items else "return ()"


def _region_lines(graph: Graph, region: Region, names: dict[int, str], mint: Minter,
                  dims: DimBinder, held: Held, blocks: list[str], checked) -> list[str]:
    """A row region as a block function over `[lo, hi)` rows (appended to `blocks`, defined
    beside the function), and the lines that run it.

    Inputs with the leading dim are sliced, others used whole; values used after the
    region are full arrays, allocated first, that each block writes its rows into."""
    fn, lo, hi, rows = mint("rows"), mint("lo"), mint("hi"), mint("n")
    local = dict(names)
    lines: list[str] = []
    nodes = [graph.nodes[i] for i in region.nodes]
    sub = Graph(list(region.inputs), nodes, list(region.outputs), graph.name)
    plan = plan_buffers(sub, _writable_inputs, region.donated)
    donated = {v.id: v for v in region.donated}
    in_place: set[int] = set()
    for v in region.outputs:
        # an output the blocks computed in place in a donated input's rows lives there
        names[v.id] = mint(v.name)
        home = donated.pop(plan.buffer[v.id], None)
        if home is not None and home.type == v.type:
            lines.append(f"{names[v.id]} = {names[home.id]}")
            in_place.add(v.id)
        else:
            lines.append(f"{names[v.id]} = np.empty({Site((), v.type, dims).shape(v.shape)}, "
                         f"{dtype_ref(v.dtype)})")
    inner = [f"{rows} = {hi} - {lo}"]
    for v in region.inputs:
        if sliced(v, region.rows):
            local[v.id] = mint(v.name)
            inner.append(f"{local[v.id]} = {names[v.id]}[{lo}:{hi}]")
    for k, node in enumerate(nodes):
        local[node.out.id] = mint(node.out.name)
        target = plan.overwrite.get(k)
        inner += checked(node, _statement(node, local, dims, held, target and local[target.id], rows), local,
                         region, lo)
        if k in plan.dying:
            inner.append("del " + ", ".join(local[v.id] for v in plan.dying[k]))
    inner += [f"{names[v.id]}[{lo}:{hi}] = {local[v.id]}" for v in region.outputs if v.id not in in_place]
    row_sizes = sorted({dims.expr(math.prod(n.out.shape[1:], start=1)) for n in nodes})
    row_size = row_sizes[0] if len(row_sizes) == 1 else f"max({', '.join(row_sizes)})"
    # The block is a function of its own that takes what it reads as arguments: nested in
    # the generated function, CPython's compiler would copy that function's names for each
    # block, which grows as the square of the program.
    assigned = {line.split(" = ")[0] for line in inner if " = " in line}
    free = sorted({t for line in inner for t in MINTED.findall(line.split("  #")[0])} - assigned - {lo, hi},
                  key=lambda t: int(t.rsplit("_", 1)[1]))
    blocks.append(f"def {fn}({', '.join([lo, hi] + free)}):")
    blocks += [f"    {line}" for line in inner]
    blocks.append("")
    lines.append(f"run_rows({fn}, {dims.expr(region.rows)}, {row_size}, {tuple_text(free) if free else '()'})")
    return lines


def function_source(graph: Graph, name: str | None = None) -> str:
    """The Python source of one function computing `graph`, after the functions of its row
    blocks (if any); deterministic.

    Named `name` when given (the caller validates it), else a name minted from the graph's.
    """
    return function_code(graph, name)[0]


def function_code(graph: Graph, name: str | None = None) -> tuple[str, list]:
    """`function_source`, and the table of call-time checks its code refers to."""
    verify(graph)
    runs = fuse(optimize(graph))
    start = start_function(graph, name, runs=runs, indexed=INDEXED)
    graph = runs
    mint, dims, body, names = start.mint, start.dims, start.body, start.names
    computed = {id(n) for n in start.computed}

    def checked(node: Node, statement: str, local: dict[int, str], region=None, lo=None) -> list[str]:
        """The node's statement, after the check of its index where it is computed (in a
        row block, of the block's rows, which start at `lo`)."""
        if id(node) not in computed:
            return [statement]
        at = INDEXED[node.prim.name]
        idx = node.inputs[at]
        first_row = lo if region is not None and sliced(idx, region.rows) else None
        return [start.check_index(node, local[idx.id], at, first_row), statement]

    bases: dict[int, object] = {v.id: "argument" for v in graph.inputs}
    regions = {r.nodes[0]: r for r in find_regions(graph)}
    blocks: list[str] = []  # the row blocks' functions, defined before this one
    sliced_inputs = {v.id for r in regions.values() for v in r.inputs if sliced(v, r.rows)}
    implicit = _users_broadcast(graph) - sliced_inputs
    scalars = {v.id for v in graph.inputs if v.ndim == 0} | {
        n.out.id for n in graph.nodes
        if n.out.ndim == 0 or n.out.id in implicit and n.inputs[0].ndim == 0}
    held = Held(implicit, scalars)
    inside_ids = {id(graph.nodes[i]) for r in regions.values() for i in r.nodes}
    # what a region makes, and the broadcasts it leaves to be made after it
    handled = inside_ids | {id(n) for r in regions.values() for n in r.recomputed}
    inside = {i for i, n in enumerate(graph.nodes) if id(n) in handled}
    plan = plan_buffers(graph, lambda n: [] if id(n) in inside_ids else _writable_inputs(n))
    dying = plan.dying
    for i, node in enumerate(graph.nodes):
        if i in regions:
            body += _region_lines(graph, regions[i], names, mint, dims, held, blocks, checked)
            for v in regions[i].outputs:
                bases[v.id] = v.id
            for n in regions[i].recomputed:
                names[n.out.id] = mint(n.out.name)
                body.append(_statement(n, names, dims, held))
                bases[n.out.id] = "broadcast"
        elif i not in inside:
            names[node.out.id] = mint(node.out.name)
            target = plan.overwrite.get(i)
            body += checked(node, _statement(node, names, dims, held, target and names[target.id]), names)
            if node.prim.name in VIEWS:
                bases[node.out.id] = bases[node.inputs[0].id]
            else:
                bases[node.out.id] = "broadcast" if node.prim.name in BROADCASTS else node.out.id
        gone = [v for v in dying.get(i, ()) if v.id in names]
        if gone:
            body.append("del " + ", ".join(names[v.id] for v in gone))
    body.append(_return(graph, names, bases))
    lines = blocks + [f"def {start.name}({', '.join(start.params)}):"] + [f"    {line}" for line in body]
    return "\n".join(lines) + "\n", start.checks


# -- compiling and exporting ---------------------------------------------------------------

_RUNTIME_NAMES = {k: v for k, v in vars(numpy_runtime).items() if not k.startswith("__")}


_TOP_LEVEL_DEF = re.compile(r"^def ([A-Za-z0-9_]+)\(", re.M)


@functools.lru_cache(maxsize=256)
def _load(source: str) -> Callable:
    """Run the source of one function in a namespace holding numpy and the runtime helpers.

    Keyed by the source text, so an identical graph compiles once and a changed one can
    never reuse stale code. The text goes into `linecache` so tracebacks show its lines.
    """
    digest = hashlib.sha256(source.encode()).hexdigest()[:12]
    filename = f"<ddc-numpy-{digest}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    namespace = dict(_RUNTIME_NAMES)
    exec(builtins.compile(source, filename, "exec"), namespace)
    name = _TOP_LEVEL_DEF.findall(source)[-1]  # the function itself: after its row blocks
    return namespace[name]


class NumpyFunction(CompiledGraph):
    """A graph compiled to numpy. Call it with arrays (or Python numbers and lists);
    `.source` is the Python it runs, `.fn` that function, `.graph` the graph it came from."""

    def __repr__(self) -> str:
        return f"<NumpyFunction {self.graph.name}>"


def compile(graph: Graph) -> NumpyFunction:
    source, checks = function_code(graph)
    return NumpyFunction(graph, source, _load(source), checks)


_RUNTIME_SOURCE = Path(numpy_runtime.__file__).read_text()


def module_source(graph: Graph, name: str) -> str:
    """A standalone module, needing numpy alone, that defines the function `name`."""
    export_name(name, set(dir(builtins)) | set(_RUNTIME_NAMES))
    return (f"# Generated by ddc: {name}(...) computes a compiled graph with numpy alone.\n"
            f"{_RUNTIME_SOURCE}\n\n{function_source(graph, name)}")
