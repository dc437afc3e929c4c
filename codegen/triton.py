"""The Triton backend: each fusion group becomes one `@triton.jit` kernel, and a host
function checks the arguments, allocates the outputs with torch and launches the kernels.

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
group's index space (`passes.fusion`) and computes each value *at a map*, one index
expression per axis over the space's iteration variables, by the rules of
`triton_rules` and `fusion.index_rules`. So the data-movement primitives (broadcast_in_dim,
transpose, reshape, slice, pad, concatenate) and gather are index arithmetic inside the
kernels, never host copies: a transposed operand is read transposed, a broadcast bias is
read in place. A value whose map uses only the variables of an enclosing loop is computed
there (hoisted). Loads are masked by the tile and by the bounds of every computed index.
Gather and scatter indices outside [0, n) are a DDIndexError (the index rule): checked on
the host before any launch where the index is an argument (`numpy_args`), else stored by
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
Symbolic dims are bound from the argument shapes by the numpy backend's prologue
(`numpy_args`) and passed to kernels as ints. Without a GPU the kernels run under
TRITON_INTERPRET=1, which `triton_runtime` sets before it imports triton.

No text from a .dd file reaches the source: identifiers are minted by `naming.Minter`,
numbers are re-emitted from parsed values, comments show minted names only.

Limits: index arithmetic is in int32 (tensors under 2**31 elements); a scatter_add whose
indices repeat adds with float atomics, in no fixed order.
"""
from __future__ import annotations

import builtins
import functools
import hashlib
import inspect
import linecache
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ddc.errors import IRError
from ddc.ir import dims as D
from ddc.ir.core import Graph, Node, Value
from ddc.ir.dtypes import DType
from ddc.ir.primitives import strided_extent
from ddc.ir.verify import verify
from ddc.passes.fusion import (
    FloorDiv, Gathered, Group, Ix, Mod, Var, collides, flat, fuse, gather_maps, identity,
    index_rules, map_variables, strides,
)

from . import numpy_runtime, triton_runtime
from .compiled import CompiledGraph
from .naming import Minter, export_name
from .numpy import Site, literal
from .numpy_args import DimBinder, start_function

TL_TYPES = {"bool": "tl.int1", "i32": "tl.int32", "i64": "tl.int64", "f32": "tl.float32",
            "f64": "tl.float64"}
TORCH_TYPES = {"bool": "torch.bool", "i32": "torch.int32", "i64": "torch.int64",
               "f32": "torch.float32", "f64": "torch.float64"}


def size(shape) -> D.Dim:
    total: D.Dim = 1
    for d in shape:
        total = total * d
    return total


def zero_of(dtype: DType) -> str:
    return "False" if dtype.is_bool else "0"


# -- scopes --------------------------------------------------------------------------------

class Scope:
    """A block of a kernel body (the body, a loop, an operand's part of a loop), with the
    source names of its iteration variables, the masks bounding them, and what it has
    computed. A child's lines join its parent's when it is closed, so a value hoisted into
    the parent while the child is written lands before the child's block."""

    def __init__(self, kernel: Kernel, parent: Scope | None = None, tile=None,
                 tile_mask: str | None = None, zero: str | None = None):
        self.kernel = kernel
        self.parent = parent
        self.variables: dict[str, str] = dict(parent.variables) if parent else {}
        self.masks: dict[str, str] = dict(parent.masks) if parent else {}
        self.aliases: dict[Ix, str] = dict(parent.aliases) if parent else {}
        # the tile's axes (as sets of variables spanning each), the mask of the whole
        # tile, and a zero index tensor of its shape: what stores and accumulators need
        self.tile: list[set[str]] = tile if tile is not None else (parent.tile if parent else [])
        self.tile_mask = tile_mask or (parent.tile_mask if parent else None)
        self.zero = zero or (parent.zero if parent else None)
        self.cache: dict = {}
        self.lines: list[str] = []

    def emit(self, line: str) -> None:
        self.lines.append(line)

    def bind(self, text: str, hint: str | None = None) -> str:
        name = self.kernel.mint(hint, "t")
        self.emit(f"{name} = {text}")
        return name

    def lookup(self, key):
        scope = self
        while scope is not None:
            if key in scope.cache:
                return scope.cache[key]
            scope = scope.parent
        return None

    def home(self, at) -> Scope:
        """The outermost enclosing scope that has every variable of `at`."""
        needed = map_variables(at)
        scope = self
        while scope.parent is not None and needed <= set(scope.parent.variables):
            scope = scope.parent
        return scope

    def close(self, header: str | None = None) -> None:
        """Append this block to the parent: under `header` (a loop), else inline."""
        if header is None:
            self.parent.lines += self.lines
        else:
            self.parent.lines += [header] + ["    " + line for line in self.lines]


# -- one kernel ----------------------------------------------------------------------------

class Kernel:
    """Writes the kernel of one group, and the host lines that launch it."""

    def __init__(self, group: Group, name: str, mint: Minter, dims: DimBinder,
                 tensors: dict[int, str], values: dict[int, Value]):
        self.group = group
        self.name = name
        self.mint = mint
        self.dims = dims
        self.tensors = tensors
        self.values = values
        self.members = {n.out.id: n for n in group.nodes}
        self.used_dims: set[str] = set()
        self.top = Scope(self)
        # what the writer leaves for the host: lines picking block sizes, the grid, the
        # block sizes by constexpr name, and a condition for launching at all
        self.setup: list[str] = []
        self.grid = ""
        self.blocks: dict[str, str] = {}
        self.guard: str | None = None
        WRITERS[group.kind](self)

    # -- text ------------------------------------------------------------------------------
    def dim(self, d: D.Dim) -> str:
        """A dim inside the kernel (its names become kernel parameters)."""
        self.used_dims |= D.names(d)
        return self.host_dim(d)

    def host_dim(self, d: D.Dim) -> str:
        text = self.dims.expr(d)
        return text if text.isidentifier() or text.isdigit() else f"({text})"

    def ix(self, ix: Ix, scope: Scope) -> str:
        terms = []  # (negative, text)
        for atom, c in ix.terms:
            a = self.atom(atom, scope)
            a = a if a.isidentifier() else f"({a})"
            if isinstance(c, int):
                terms.append((c < 0, a if abs(c) == 1 else f"{a} * {abs(c)}"))
            else:
                terms.append((False, f"{a} * {self.dim(c)}"))
        const = ix.const
        if const != 0 or not terms:
            negative = isinstance(const, int) and const < 0
            terms.append((negative, self.dim(-const if negative else const)))
        text = ("-" if terms[0][0] else "") + terms[0][1]
        for negative, t in terms[1:]:
            text += f" - {t}" if negative else f" + {t}"
        return text

    def atom(self, atom, scope: Scope) -> str:
        if isinstance(atom, Var):
            return scope.variables[atom.name]
        if isinstance(atom, FloorDiv):
            return f"({self.ix(atom.x, scope)}) // {self.dim(atom.d)}"
        if isinstance(atom, Mod):
            return f"({self.ix(atom.x, scope)}) % {self.dim(atom.d)}"
        return self.index(atom, scope)

    def index(self, atom: Gathered, scope: Scope) -> str:
        """An index read from a tensor, as it is: one outside [0, n) is masked off where it
        is used, and the call raises (the index rule)."""
        return self.value(self.values[atom.index], atom.at, scope)

    def unflatten(self, scope: Scope, flat_name: str, shape, names: list[str], sources: list[str]):
        """Define one variable per non-unit axis of `shape` from a flat row-major index."""
        axes = [k for k, d in enumerate(shape) if d != 1]
        stride = strides(shape)
        for pos, k in enumerate(axes):
            if stride[k] == 1 and pos == 0:  # the only axis: the flat index itself
                scope.variables[names[k]] = flat_name
                continue
            quotient = flat_name if stride[k] == 1 else f"{flat_name} // {self.dim(stride[k])}"
            if pos > 0:  # the leading axis needs no remainder: the flat index is in range
                quotient = f"{quotient if stride[k] == 1 else f'({quotient})'} % {self.dim(shape[k])}"
            scope.emit(f"{sources[k]} = {quotient}")
            scope.variables[names[k]] = sources[k]

    # -- values ----------------------------------------------------------------------------
    def value(self, v: Value, at, scope: Scope) -> str:
        """The name holding `v` at map `at`, computed (once) in the scope that has its
        variables."""
        key = (v.id, at)
        found = scope.lookup(key)
        if found is not None:
            return found
        home = scope.home(at)
        node = self.members.get(v.id)
        text = self.load(v, at, home) if node is None else triton_rules[node.prim.name](self, node, at, home)
        name = text if text.isidentifier() else home.bind(text, v.name)
        home.cache[key] = name
        return name

    def bounds(self, at, shape, scope: Scope, block: bool) -> list[str]:
        """Conditions for `at` to be inside `shape` (where the tile's masks do not say so).
        In the mask of a `block` access, an index without iteration variables (x[0], x[-1],
        x[i] for a 0-d i) is made at least a 1-element block, as the scalars of `_iota` are:
        Triton's interpreter makes the `&` of a block and a 0-d comparison an int32 mask,
        which its loads refuse. (Such an index can be a block already: read through an alias.)"""
        parts = []
        for name in sorted(map_variables(at)):
            mask = scope.masks.get(name)
            if mask is not None and mask not in parts:
                parts.append(mask)
        for ix, d in zip(at, shape):
            constant = not ix.terms and isinstance(ix.const, int)
            if ix.is_var or (constant and isinstance(d, int) and 0 <= ix.const < d):
                continue
            text = self.ix(ix, scope)
            if block and not ix.variables():
                text = f"({text} + tl.zeros([1], tl.int32))"
            lower = [] if constant and ix.const >= 0 else [f"({text} >= 0)"]
            parts.append(" & ".join(lower + [f"({text} < {self.dim(d)})"]))
        return parts

    def pointer(self, v: Value, at, scope: Scope) -> str:
        offset = flat(at, v.shape)
        return f"{self.tensors[v.id]} + {scope.aliases.get(offset) or self.ix(offset, scope)}"

    def load(self, v: Value, at, scope: Scope) -> str:
        block = bool(map_variables(at)) or flat(at, v.shape) in scope.aliases  # as `pointer` reads it
        mask = " & ".join(self.bounds(at, v.shape, scope, block))
        return f"tl.load({self.pointer(v, at, scope)}{f', mask={mask}' if mask else ''})"

    def tile_pointer(self, v: Value, at, scope: Scope) -> str:
        """A pointer of the tile's full shape (stores and atomics need one)."""
        used = map_variables(at)
        text = self.pointer(v, at, scope)
        return text if all(axis & used for axis in scope.tile) else f"{text} + {scope.zero}"

    def store(self, v: Value, at, scope: Scope) -> None:
        value = self.value(v, at, scope)
        scope.emit(f"tl.store({self.tile_pointer(v, at, scope)}, {value}, mask={scope.tile_mask})")

    # -- the kernel's text -----------------------------------------------------------------
    def pointers(self) -> list[str]:
        return [self.tensors[v.id] for v in self.group.inputs + self.group.outputs]

    def dim_params(self) -> list[str]:
        return [ident for name, ident in self.dims.idents.items() if name in self.used_dims]

    def source(self) -> str:
        g = self.group
        params = self.pointers() + self.dim_params() + [f"{c}: tl.constexpr" for c in self.blocks]
        ops = " ".join(n.prim.name for n in g.nodes)
        return "\n".join(
            ["@triton.jit", f"def {self.name}({', '.join(params)}):",
             f"    # {g.kind} over [{', '.join(self.host_dim(d) for d in g.space.shape)}]: {ops}"]
            + ["    " + line for line in self.top.lines]) + "\n"

    def launch(self) -> list[str]:
        args = self.pointers() + self.dim_params() + [f"{k}={v}" for k, v in self.blocks.items()]
        call = f"{self.name}[{self.grid}]({', '.join(args)})"
        return self.setup + ([f"if {self.guard}:", f"    {call}"] if self.guard else [call])


# -- kernels by kind -----------------------------------------------------------------------

def _flat_space(k: Kernel, shape) -> Scope:
    """The body of a kernel over a flattened 1-D tile of `shape`: variables s0, s1, ..."""
    top = k.top
    n = k.dim(size(shape))
    top.emit("s = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)")
    top.emit(f"s_mask = s < {n}")
    names = [f"s{j}" for j in range(len(shape))]
    k.unflatten(top, "s", shape, names, names)
    top.masks.update({name: "s_mask" for name in top.variables})
    top.tile, top.tile_mask, top.zero = [set(top.variables)], "s_mask", "tl.zeros([BLOCK], tl.int32)"
    top.aliases[flat(identity(shape, names), shape)] = "s"
    blk = k.mint("block")
    count = k.host_dim(size(shape))
    k.setup = [f"{blk} = block({count}, 1024)"]
    k.grid, k.blocks = f"(blocks({count}, {blk}),)", {"BLOCK": blk}
    return top


def write_elementwise(k: Kernel) -> None:
    top = _flat_space(k, k.group.space.shape)
    for v in k.group.outputs:
        k.store(v, k.group.placements[v.id], top)


def write_scatter(k: Kernel) -> None:
    """Each update added into its place of the (zeroed) output; repeated places add up."""
    top = _flat_space(k, k.group.space.shape)
    (node,) = k.group.anchors
    updates, idx = node.inputs
    at = identity(updates.shape, [f"s{j}" for j in range(updates.ndim)])
    value = k.value(updates, at, top)
    out_at, _ = gather_maps(at, node.out, idx, node.params["axis"], node.params["batch_dims"])
    mask = " & ".join(k.bounds(out_at, node.out.shape, top, block=True))  # a tile pointer
    top.emit(f"tl.atomic_add({k.tile_pointer(node.out, out_at, top)}, {value}"
             f"{f', mask={mask}' if mask else ''})")


def _accumulator(node: Node) -> tuple[str, str, Callable[[str, str, str], str], str]:
    """(initial value, accumulator dtype, how a chunk is folded in, how rows finish)."""
    dtype = node.out.dtype
    acc_type = "tl.int32" if dtype.is_bool else TL_TYPES[dtype.name]
    if node.prim.name == "reduce_sum":
        return ("0", acc_type, lambda acc, mask, x: f"{acc} + tl.where({mask}, {x}, 0)",
                "tl.sum({acc}, axis=1, keep_dims=True)")
    if dtype.is_float:
        return ("-INF", acc_type,
                lambda acc, mask, x: f"tl.maximum({acc}, tl.where({mask}, {x}, -INF), propagate_nan=tl.PropagateNan.ALL)",
                "tl.max({acc}, axis=1, keep_dims=True)")
    # the dtype's lowest value, written so that no literal overflows it
    lowest = "0" if dtype.is_bool else f"{-(2 ** (8 * dtype.np.itemsize - 1)) + 1} - 1"
    return (lowest, acc_type, lambda acc, mask, x: f"tl.maximum({acc}, tl.where({mask}, {x}, {lowest}))",
            "tl.max({acc}, axis=1, keep_dims=True)")


def _row_loop(k: Kernel, inner) -> Scope:
    """A loop over the reduced elements of every row, in chunks of BLOCK_I."""
    space = k.group.space
    loop = Scope(k, k.top, tile=k.top.tile + [set()], tile_mask="mask",
                 zero="tl.zeros([BLOCK_O, BLOCK_I], tl.int32)")
    loop.emit("i = start + tl.arange(0, BLOCK_I)[None, :]")
    loop.emit(f"i_mask = i < {k.dim(size(inner))}")
    loop.emit("mask = o_mask & i_mask")
    names = [f"i{j}" for j in range(len(inner))]
    k.unflatten(loop, "i", inner, names, names)
    loop.masks.update({name: "i_mask" for name in names if name in loop.variables})
    loop.tile[-1] = {name for name in names if name in loop.variables}
    kept = space.kept
    if kept == list(range(len(kept))):  # rows are leading: offset = row * row length + i
        loop.aliases[flat(space.operand_map(), space.shape)] = f"o * {k.dim(size(inner))} + i"
    return loop


def write_reduction(k: Kernel) -> None:
    g, top = k.group, k.top
    space = g.space
    rows, inner = space.rows(), [space.shape[a] for a in space.axes]
    top.emit("o = tl.program_id(0) * BLOCK_O + tl.arange(0, BLOCK_O)[:, None]")
    top.emit(f"o_mask = o < {k.dim(size(rows))}")
    names = [f"o{j}" for j in range(len(rows))]
    k.unflatten(top, "o", rows, names, names)
    top.masks.update({name: "o_mask" for name in top.variables})
    top.tile, top.tile_mask, top.zero = [set(top.variables)], "o_mask", "tl.zeros([BLOCK_O, 1], tl.int32)"
    top.aliases[flat(space.row_map(), rows)] = "o"

    # an output is stored in the first loop after the last reduction it needs
    needs: dict[int, int] = {}
    for n in g.nodes:
        needs[n.out.id] = max((needs.get(v.id, -1) for v in n.inputs), default=-1)
        if n in g.anchors:
            needs[n.out.id] = g.anchors.index(n)
    inner_vars = {f"i{j}" for j in range(len(inner))}
    per_loop: dict[int, list[Value]] = {}
    in_rows = []
    for v in g.outputs:
        if map_variables(g.placements[v.id]) & inner_vars:
            per_loop.setdefault(needs[v.id] + 1, []).append(v)
        else:
            in_rows.append(v)

    n_inner = k.dim(size(inner))
    for j, anchor in enumerate(g.anchors):
        init, acc_type, fold, finish = _accumulator(anchor)
        acc = top.bind(f"tl.full([BLOCK_O, BLOCK_I], {init}, {acc_type})", "acc")
        loop = _row_loop(k, inner)
        x = k.value(anchor.inputs[0], space.operand_map(), loop)
        if anchor.out.dtype.is_bool:
            x = f"{x}.to(tl.int32)"
        loop.emit(f"{acc} = {fold(acc, 'mask', x)}")
        for v in per_loop.get(j, []):
            k.store(v, g.placements[v.id], loop)
        loop.close(f"for start in range(0, {n_inner}, BLOCK_I):")
        result = top.bind(finish.format(acc=acc), anchor.out.name)
        if anchor.prim.name == "reduce_max" and anchor.out.dtype.is_float:  # tl.max drops nans
            nan_rows = f"tl.max(tl.where({acc} != {acc}, 1, 0), axis=1, keep_dims=True) > 0"
            result = top.bind(f"tl.where({nan_rows}, NAN, {result})", anchor.out.name)
        if anchor.out.dtype.is_bool:
            result = top.bind(f"{result} != 0", anchor.out.name)
        top.cache[(anchor.out.id, space.row_map())] = result
    for v in in_rows:
        k.store(v, g.placements[v.id], top)
    last = per_loop.get(len(g.anchors), [])
    if last:
        loop = _row_loop(k, inner)
        for v in last:
            k.store(v, g.placements[v.id], loop)
        loop.close(f"for start in range(0, {n_inner}, BLOCK_I):")

    bo, bi = k.mint("bo"), k.mint("bi")
    n_rows, n_inner = k.host_dim(size(rows)), k.host_dim(size(inner))
    if space.kept and space.kept[-1] == len(space.shape) - 1:
        # the operand's last (contiguous) axis is kept, as in a column sum: wide tiles of
        # rows, so neighbouring threads read neighbouring addresses
        k.setup = [f"{bo} = block({n_rows}, 128)", f"{bi} = block({n_inner}, 4096 // {bo})"]
    else:
        k.setup = [f"{bi} = block({n_inner}, 1024)", f"{bo} = block({n_rows}, 4096 // {bi})"]
    k.grid, k.blocks = f"(blocks({n_rows}, {bo}),)", {"BLOCK_O": bo, "BLOCK_I": bi}


def write_matmul(k: Kernel) -> None:
    g, top = k.group, k.top
    space = g.space
    dot = space.dot
    (lc, rc), (lb, rb) = dot.params["contract"], dot.params["batch"]
    lhs, rhs = dot.inputs
    batch = [lhs.shape[a] for a in lb]
    lfree = [lhs.shape[a] for a in range(lhs.ndim) if a not in lc and a not in lb]
    rfree = [rhs.shape[a] for a in range(rhs.ndim) if a not in rc and a not in rb]
    contract = [lhs.shape[a] for a in lc]
    M, N, K = size(lfree), size(rfree), size(contract)
    names = space.product_names()
    nb, nm = len(batch), len(lfree)
    # one program per tile of each batch entry, all along grid axis 0 (the others are short)
    top.emit(f"tiles_n = tl.cdiv({k.dim(N)}, BLOCK_N)")
    top.emit(f"tiles = tl.cdiv({k.dim(M)}, BLOCK_M) * tiles_n")
    top.emit("pid_b = tl.program_id(0) // tiles")
    top.emit("pid_m = tl.program_id(0) % tiles // tiles_n")
    top.emit("pid_n = tl.program_id(0) % tiles_n")
    k.unflatten(top, "pid_b", batch, names[:nb], names[:nb])
    top.emit("m = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)[:, None]")
    top.emit(f"m_mask = m < {k.dim(M)}")
    k.unflatten(top, "m", lfree, names[nb:nb + nm], names[nb:nb + nm])
    top.emit("n = pid_n * BLOCK_N + tl.arange(0, BLOCK_N)[None, :]")
    top.emit(f"n_mask = n < {k.dim(N)}")
    k.unflatten(top, "n", rfree, names[nb + nm:], names[nb + nm:])
    top.emit("mask = m_mask & n_mask")
    m_vars = {v for v in names[nb:nb + nm] if v in top.variables}
    n_vars = {v for v in names[nb + nm:] if v in top.variables}
    top.masks.update({v: "m_mask" for v in m_vars} | {v: "n_mask" for v in n_vars})
    top.tile, top.tile_mask, top.zero = [m_vars, n_vars], "mask", "tl.zeros([BLOCK_M, BLOCK_N], tl.int32)"
    product = identity(space.shape, names)
    # the flat offset of the product, from the variables it has: a vector side (M or N of 1)
    # has none, and its `m` or `n` (a block of at least 16 for tl.dot) must not widen the
    # reads of its values, as it would through an alias naming it
    offset = ([f"pid_b * {k.dim(M * N)}"] if batch else []) + ([f"m * {k.dim(N)}"] if m_vars else []) + (
        ["n"] if n_vars else [])
    if offset:
        top.aliases[flat(product, space.shape)] = " + ".join(offset)

    out = dot.out.dtype
    acc = top.bind(f"tl.zeros([BLOCK_M, BLOCK_N], {TL_TYPES[out.name]})", "acc")
    loop = Scope(k, top)
    lhs_at, rhs_at = space.operand_maps()
    tiles = []
    for x, at, side, shape, mask in ((lhs, lhs_at, "ka", "[None, :]", "m_mask"),
                                     (rhs, rhs_at, "kb", "[:, None]", "n_mask")):
        part = Scope(k, loop)
        part.emit(f"{side} = start + tl.arange(0, BLOCK_K){shape}")
        part.emit(f"{side}_mask = {side} < {k.dim(K)}")
        k_names = [f"k{j}" for j in range(len(contract))]
        k.unflatten(part, side, contract, k_names, [f"{side}{j}" for j in range(len(contract))])
        part.masks.update({name: f"{side}_mask" for name in k_names if name in part.variables})
        value = k.value(x, at, part)
        tiles.append(part.bind(f"tl.where({mask} & {side}_mask, {value}, 0)", "tile"))
        part.close()
    a, b = tiles
    if out.is_float:
        precision = ', input_precision="ieee"' if out.name == "f32" else ""
        loop.emit(f"{acc} += tl.dot({a}, {b}{precision})")
    else:
        loop.emit(f"{acc} += tl.sum({a}[:, :, None] * {b}[None, :, :], axis=1)")
    loop.close(f"for start in range(0, {k.dim(K)}, BLOCK_K):")
    top.cache[(dot.out.id, product)] = acc
    for v in g.outputs:
        k.store(v, g.placements[v.id], top)

    bm, bn, bk = k.mint("bm"), k.mint("bn"), k.mint("bk")
    hM, hN, hB = k.host_dim(M), k.host_dim(N), k.host_dim(size(batch))
    k.setup = [f"{bm}, {bn}, {bk} = block({hM}, 64, 16), block({hN}, 64, 16), block({k.host_dim(K)}, 32, 16)"]
    k.grid = f"(blocks({hM}, {bm}) * blocks({hN}, {bn}) * {hB},)"
    k.blocks = {"BLOCK_M": bm, "BLOCK_N": bn, "BLOCK_K": bk}
    if not (isinstance(size(batch), int) and size(batch) > 0):
        k.guard = f"{hB} > 0"  # no program may run for an empty batch


WRITERS: dict[str, Callable[[Kernel], None]] = {
    "elementwise": write_elementwise,
    "gather": write_elementwise,
    "reduction": write_reduction,
    "matmul": write_matmul,
    "scatter": write_scatter,
}


# -- the rule table: each primitive's value at a map, as one expression --------------------

def _map(fn: Callable[..., str]):
    """An elementwise primitive: its inputs read at its own map, combined by `fn`."""
    def rule(k: Kernel, node: Node, at, scope: Scope) -> str:
        return fn(node, *(k.value(v, at, scope) for v in node.inputs))

    return rule


def _call(name: str):
    return _map(lambda node, *xs: f"{name}({', '.join(xs)})")


def _infix(op: str):
    return _map(lambda node, x, y: f"{x} {op} {y}")


def _div(node, x, y):
    dtype = node.out.dtype
    if dtype.is_int:
        return f"{x} // {y}"  # rounds toward zero, as lax.div does
    return f"tl.div_rn({x}, {y})" if dtype.name == "f32" else f"{x} / {y}"


def _sqrt(node, x):
    return f"tl.sqrt_rn({x})" if node.out.dtype.name == "f32" else f"tl.sqrt({x})"


def _splat(k: Kernel, v: Value):
    """The number `v` is made of when the kernel builds it from one constant, else None."""
    node = k.members.get(v.id)
    while node is not None and node.prim.name in ("broadcast_in_dim", "convert", "reshape"):
        node = k.members.get(node.inputs[0].id)
    if node is None or node.prim.name != "constant" or isinstance(node.params["value"], D.Sym):
        return None
    return node.params["value"]


def _pow(k: Kernel, node: Node, at, scope: Scope) -> str:
    """x ** 2, x ** 3, x ** 4 as products (exact as numpy's square; no exp/log), else
    the general `power`."""
    x, y = node.inputs
    exponent = _splat(k, y)
    if exponent in (2, 3, 4):
        factor = k.value(x, at, scope)
        return " * ".join([factor] * int(exponent))
    return f"power({k.value(x, at, scope)}, {k.value(y, at, scope)})"


def _integer_pow(k: Kernel, node: Node, at, scope: Scope) -> str:
    """The numpy backend's multiplication chain (`multiply_out`) written out, with the
    squarings as calls (`square(square(x))`), so the source grows with the exponent's bits."""
    (x,), n = node.inputs, node.params["y"]
    one = f"tl.full([1], 1, {TL_TYPES[node.out.dtype.name]})"
    if n == 0:
        return one
    return numpy_runtime.multiply_out(
        k.value(x, at, scope), n, lambda a, b: f"({a} * {b})", lambda a: f"square({a})",
        lambda a: _div(node, one, a))


def _extremum(name: str, direction: str):
    """Floats as np.maximum/np.minimum compute them: NaN in either operand gives NaN, and
    equal operands (+0.0 and -0.0) give the second (tl.maximum's choice between zeros
    differs between the interpreter and the GPU)."""
    def fn(node, x, y):
        if not node.out.dtype.is_float:
            return f"tl.{name}({x}, {y})"
        return f"tl.where(({x} {direction} {y}) | ({x} != {x}), {x}, {y})"

    return fn


_COMPARE_OPS = {"lt": "<", "le": "<=", "gt": ">", "ge": ">=", "eq": "==", "ne": "!="}


def _convert(node, x):
    dtype, source = node.params["dtype"], node.inputs[0].dtype
    if dtype == source:
        return x
    if dtype.is_bool:
        return f"{x} != 0"
    if source.is_float and dtype.is_int:  # truncated, NaN to 0, saturated (numpy_runtime.convert)
        info = np.iinfo(dtype.np)
        low, high = float(info.min), -float(info.min)
        inside = f"tl.where(({x} >= {low!r}) & ({x} < {high!r}), {x}, 0).to({TL_TYPES[dtype.name]})"
        return (f"tl.where({x} >= {high!r}, {info.max}, "
                f"tl.where({x} < {low!r}, {info.min}, {inside})).to({TL_TYPES[dtype.name]})")
    return f"{x}.to({TL_TYPES[dtype.name]})"


def _moved(k: Kernel, node: Node, at, scope: Scope) -> str:
    """broadcast_in_dim, transpose, reshape, slice: the input, read elsewhere."""
    (x_at,) = index_rules[node.prim.name](node, at)
    return k.value(node.inputs[0], x_at, scope)


def _pad(k: Kernel, node: Node, at, scope: Scope) -> str:
    (x,) = node.inputs
    if x.type.size() == 0:  # all padding: nothing to read (an empty operand has no memory)
        return f"tl.full([1], {zero_of(x.dtype)}, {TL_TYPES[x.dtype.name]})"
    (x_at,) = index_rules["pad"](node, at)
    value = k.value(x, x_at, scope)
    p = node.params
    inside = []
    for ix, d, lo, hi, it in zip(at, x.shape, p["low"], p["high"], p["interior"]):
        if lo == 0 and hi == 0 and it == 0:
            continue
        shifted = k.ix(ix - lo, scope)
        inside.append(f"({shifted} >= 0) & ({shifted} < {k.dim(strided_extent(d, it + 1))})")
        if it:
            inside.append(f"(({shifted}) % {it + 1} == 0)")
    if not inside:
        return value
    return f"tl.where({' & '.join(inside)}, {value}, {zero_of(x.dtype)})"


def _concatenate(k: Kernel, node: Node, at, scope: Scope) -> str:
    axis = node.params["axis"]
    maps = index_rules["concatenate"](node, at)
    position = k.ix(at[axis], scope)
    text = k.value(node.inputs[-1], maps[-1], scope)
    end: D.Dim = 0
    ends = []
    for x in node.inputs[:-1]:
        end = end + x.shape[axis]
        ends.append(end)
    for x, x_at, end in reversed(list(zip(node.inputs[:-1], maps[:-1], ends))):
        text = f"tl.where({position} < {k.dim(end)}, {k.value(x, x_at, scope)}, {text})"
    return text


def _gather(k: Kernel, node: Node, at, scope: Scope) -> str:
    x, idx = node.inputs
    x_at, _ = index_rules["gather"](node, at)
    value = k.value(x, x_at, scope)
    axis = node.params["axis"]
    picked = k.ix(x_at[axis], scope)
    inside = f"({picked} >= 0) & ({picked} < {k.dim(x.shape[axis])})"
    return f"tl.where({inside}, {value}, {zero_of(x.dtype)})"


def _scatter_add(k: Kernel, node: Node, at, scope: Scope) -> str:
    if collides(node):
        raise IRError("internal error: a colliding scatter_add is read like a one-hot placement")
    updates, idx = node.inputs
    u_at, idx_at = index_rules["scatter_add"](node, at)
    axis = node.params["axis"]
    picked = k.index(Gathered(idx.id, idx_at, node.out.shape[axis]), scope)
    value = k.value(updates, u_at, scope)
    if updates.dtype.is_float:
        value = f"({value} + 0.0)"  # what lands on the zeros is 0.0 + u: +0.0 at u = -0.0
    return f"tl.where({k.ix(at[axis], scope)} == {picked}, {value}, {zero_of(updates.dtype)})"


# Scalars made in a kernel are 1-element blocks, not 0-d tensors: they broadcast the same,
# and Triton's interpreter miscomputes `&` of a comparison of a made 0-d tensor.

def _iota(k: Kernel, node: Node, at, scope: Scope) -> str:
    ix, tl_type = at[node.params["dimension"]], TL_TYPES[node.params["dtype"].name]
    if not ix.terms:
        return f"tl.full([1], {k.ix(ix, scope)}, {tl_type})"
    return f"({k.ix(ix, scope)}).to({tl_type})"


def _constant(k: Kernel, node: Node, at, scope: Scope) -> str:
    value, dtype = node.params["value"], node.params["dtype"]
    if isinstance(value, D.Sym):
        text = k.dim(value)
    elif dtype.is_float:
        x = float(value)
        text = "NAN" if math.isnan(x) else ("INF" if x > 0 else "-INF") if math.isinf(x) else repr(x)
    else:
        text = literal(value, dtype, Site((), node.out.type, k.dims))
    return f"tl.full([1], {text}, {TL_TYPES[dtype.name]})"


def _register(k: Kernel, node: Node, at, scope: Scope) -> str:
    raise IRError(f"internal error: {node.prim.name} read at a map where its kernel does not hold it")


triton_rules: dict[str, Callable[[Kernel, Node, tuple, Scope], str]] = {
    "neg": _map(lambda node, x: f"-{x}"),
    "abs": _call("tl.abs"),
    "sign": _call("sign"),
    "exp": _call("tl.exp"),
    "log": _call("tl.log"),
    "log1p": _call("log1p"),
    "tanh": _call("tanh"),
    "logistic": _call("logistic"),
    "sqrt": _map(_sqrt),
    "sin": _call("tl.sin"),
    "cos": _call("tl.cos"),
    "add": _infix("+"),
    "sub": _infix("-"),
    "mul": _infix("*"),
    "div": _map(_div),
    "pow": _pow,
    "integer_pow": _integer_pow,
    "max": _map(_extremum("maximum", ">")),
    "min": _map(_extremum("minimum", "<")),
    "compare": _map(lambda node, x, y: f"{x} {_COMPARE_OPS[node.params['direction']]} {y}"),
    "select": _call("tl.where"),
    "convert": _map(_convert),
    "stop_gradient": _map(lambda node, x: x),
    "broadcast_in_dim": _moved,
    "reshape": _moved,
    "transpose": _moved,
    "slice": _moved,
    "pad": _pad,
    "concatenate": _concatenate,
    "gather": _gather,
    "scatter_add": _scatter_add,
    "iota": _iota,
    "constant": _constant,
    "reduce_sum": _register,
    "reduce_max": _register,
    "dot_general": _register,
}


# -- the module: kernels and the host function ---------------------------------------------

def _to_tensor(v: Value, p: str, who: str, declared: str) -> list[str]:
    return [f"{p} = to_tensor({p}, {TORCH_TYPES[v.dtype.name]}, {v.ndim}, {who!r}, {declared!r})"]


def _shape_text(k: Kernel, shape) -> str:
    items = [k.host_dim(d) for d in shape]
    return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"


def module_body(graph: Graph, name: str | None = None) -> tuple[str, str, list[tuple[str, Group]], list]:
    """(source of the kernels and the host function, the function's name, the kernels'
    names with their groups, in launch order, the table of call-time checks).

    The function is named `name` when given (the caller validates it), else a name
    minted from the graph's; deterministic."""
    verify(graph)
    start = start_function(graph, name, convert=_to_tensor)
    mint, fname, params, dims, body, tensors = (start.mint, start.name, start.params, start.dims,
                                                start.body, start.names)
    values = {v.id: v for v in graph.inputs + [n.out for n in graph.nodes]}
    kernels, sources = [], []
    # An index computed in the graph is stored too, and checked after the launches: the
    # kernels mask what an index out of range would read or add, and the call raises.
    computed = [n.inputs[1] for n in start.computed]
    fusion = fuse(Graph(graph.inputs, graph.nodes, graph.outputs + computed, graph.name))
    for group in fusion.groups:
        for v in group.outputs:
            tensors[v.id] = mint(v.name)
        kernel = Kernel(group, mint(group.kind, "kernel"), mint, dims, tensors, values)
        for v in group.outputs:
            alloc = "zeros" if group.kind == "scatter" else "empty"
            body.append(f"{tensors[v.id]} = torch.{alloc}({_shape_text(kernel, v.shape)}, "
                        f"dtype={TORCH_TYPES[v.dtype.name]}, device=DEVICE)")
        body += kernel.launch()
        sources.append(kernel.source())
        kernels.append((kernel.name, group))
    body += [start.check_index(node, tensors[node.inputs[1].id]) for node in start.computed]
    body.append(_return(graph, tensors))
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
                 checks: list = ()):
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


# Exported modules embed the runtime with its one ddc import replaced by what it imports.
_SHARED = (numpy_runtime.ArgumentError, numpy_runtime.dim_error, numpy_runtime.size_error,
           numpy_runtime.IndexFault, numpy_runtime.dim_fault)
_SHARED_IMPORT = "from ddc.codegen.numpy_runtime import"


def runtime_source() -> str:
    lines = Path(triton_runtime.__file__).read_text().splitlines()
    (at,) = [k for k, line in enumerate(lines) if line.startswith(_SHARED_IMPORT)]
    shared = "\n\n".join(inspect.getsource(obj) for obj in _SHARED)
    return "\n".join(lines[:at] + [shared.rstrip("\n")] + lines[at + 1:]) + "\n"


def module_source(graph: Graph, name: str) -> str:
    """A standalone module, needing torch and triton alone, that defines `name`."""
    export_name(name, set(dir(builtins)) | set(_RUNTIME_NAMES))
    source, _, _, _ = module_body(graph, name)
    return (f"# Generated by ddc: {name}(...) computes a compiled graph with Triton kernels "
            f"(torch and triton alone).\n{runtime_source()}\n\n{source}")
