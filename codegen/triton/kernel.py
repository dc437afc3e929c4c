"""One Triton kernel: a fusion group written as a `@triton.jit` function over its index
space (`Scope`s for the loops and tiles, `Kernel` for what it reads, holds and stores),
by kind: elementwise and gather, reduction, matmul, scatter. Each value is computed at a
map by the lowering table (`rules`); see `backend` for the whole picture."""
from __future__ import annotations

from collections.abc import Callable


from ddc.ir import dims as D
from ddc.ir.core import Node, Value

from ..common.arguments import DimBinder
from ..common.naming import Minter
from .index_maps import FloorDiv, Gathered, Ix, Mod, Var, flat, gather_maps, identity, map_variables, strides
from .partition import Group
from .rules import tl_type, triton_rules


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
        self.extents: dict[str, object] = dict(parent.extents) if parent else {}  # variable -> its axis' size
        self.aliases: dict[Ix, str] = dict(parent.aliases) if parent else {}
        # the tile's axes (as sets of variables spanning each), the mask of the whole
        # tile, and a zero index tensor of its shape: what stores and accumulators need
        self.tile: list[set[str]] = tile if tile is not None else (parent.tile if parent else [])
        self.tile_mask: str | None = tile_mask or (parent.tile_mask if parent else None)
        self.zero: str | None = zero or (parent.zero if parent else None)
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
        assert self.parent is not None, "the kernel body is not closed, only its blocks"
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
            scope.extents[names[k]] = shape[k]
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
            # a variable is inside its own axis; a shorter tensor read along it (the first
            # operands of a concatenate) needs its own bound
            if ix.is_var and scope.extents.get(ix.terms[0][0].name, d) == d:
                continue
            if constant and isinstance(d, int) and 0 <= ix.const < d:
                continue
            text = self.ix(ix, scope)
            if block and not ix.variables():
                text = f"({text} + tl.zeros([1], tl.int32))"
            lower = [] if constant and ix.const >= 0 or ix.is_var else [f"({text} >= 0)"]
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

def _one_tile(k: Kernel, var: str, block: str, lanes: str, shape, tile: str) -> list[str]:
    """The top scope as one tile of `shape` flattened: `var` numbers this program's lanes
    (`lanes`, `block` of them), masked below the size; the names var0, var1, ... it
    unflattens to index `shape`, returned."""
    top = k.top
    top.emit(f"{var} = tl.program_id(0) * {block} + {lanes}")
    top.emit(f"{var}_mask = {var} < {k.dim(D.product(shape))}")
    names = [f"{var}{j}" for j in range(len(shape))]
    k.unflatten(top, var, shape, names, names)
    top.masks.update({name: f"{var}_mask" for name in top.variables})
    top.tile, top.tile_mask, top.zero = [set(top.variables)], f"{var}_mask", f"tl.zeros({tile}, tl.int32)"
    return names


def _flat_space(k: Kernel, shape) -> Scope:
    """The body of a kernel over a flattened 1-D tile of `shape`: variables s0, s1, ..."""
    top = k.top
    names = _one_tile(k, "s", "BLOCK", "tl.arange(0, BLOCK)", shape, "[BLOCK]")
    top.aliases[flat(identity(shape, names), shape)] = "s"
    blk = k.mint("block")
    count = k.host_dim(D.product(shape))
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
    acc_type = "tl.int32" if dtype.is_bool else tl_type(dtype)
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
    loop.emit(f"i_mask = i < {k.dim(D.product(inner))}")
    loop.emit("mask = o_mask & i_mask")
    names = [f"i{j}" for j in range(len(inner))]
    k.unflatten(loop, "i", inner, names, names)
    loop.masks.update({name: "i_mask" for name in names if name in loop.variables})
    loop.tile[-1] = {name for name in names if name in loop.variables}
    kept = space.kept
    if kept == list(range(len(kept))):  # rows are leading: offset = row * row length + i
        loop.aliases[flat(space.operand_map(), space.shape)] = f"o * {k.dim(D.product(inner))} + i"
    return loop


def write_reduction(k: Kernel) -> None:
    g, top = k.group, k.top
    space = g.space
    rows, inner = space.rows(), [space.shape[a] for a in space.axes]
    _one_tile(k, "o", "BLOCK_O", "tl.arange(0, BLOCK_O)[:, None]", rows, "[BLOCK_O, 1]")
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

    n_inner = k.dim(D.product(inner))
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
    n_rows, n_inner = k.host_dim(D.product(rows)), k.host_dim(D.product(inner))
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
    dot = space.product
    (lc, rc), (lb, rb) = dot.params["contract"], dot.params["batch"]
    lhs, rhs = dot.inputs
    batch = [lhs.shape[a] for a in lb]
    lfree = [lhs.shape[a] for a in range(lhs.ndim) if a not in lc and a not in lb]
    rfree = [rhs.shape[a] for a in range(rhs.ndim) if a not in rc and a not in rb]
    contract = [lhs.shape[a] for a in lc]
    M, N, K = D.product(lfree), D.product(rfree), D.product(contract)
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
    acc = top.bind(f"tl.zeros([BLOCK_M, BLOCK_N], {tl_type(out)})", "acc")
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
    batch_size = D.product(batch)
    hM, hN, hB = k.host_dim(M), k.host_dim(N), k.host_dim(batch_size)
    k.setup = [f"{bm}, {bn}, {bk} = block({hM}, 64, 16), block({hN}, 64, 16), block({k.host_dim(K)}, 32, 16)"]
    k.grid = f"(blocks({hM}, {bm}) * blocks({hN}, {bn}) * {hB},)"
    k.blocks = {"BLOCK_M": bm, "BLOCK_N": bn, "BLOCK_K": bk}
    if not (isinstance(batch_size, int) and batch_size > 0):
        k.guard = f"{hB} > 0"  # no program may run for an empty batch


WRITERS: dict[str, Callable[[Kernel], None]] = {
    "elementwise": write_elementwise,
    "gather": write_elementwise,
    "reduction": write_reduction,
    "matmul": write_matmul,
    "scatter": write_scatter,
}
