"""Index maps: the index expressions (`Ix`) a Triton kernel evaluates values at, one per
axis over its space's iteration variables, and `index_rules`, how each map-like
primitive reads its inputs at maps derived from its own (see `partition`)."""
from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Callable

from ddc.ir import PRIMITIVES, dims as D
from ddc.ir.core import Node, Value


# -- index expressions ---------------------------------------------------------------------

@dataclass(frozen=True)
class Var:
    """An iteration variable of a kernel's index space."""

    name: str


@dataclass(frozen=True)
class FloorDiv:
    x: Ix
    d: D.Dim


@dataclass(frozen=True)
class Mod:
    x: Ix
    d: D.Dim


@dataclass(frozen=True)
class Gathered:
    """The integer held by value `index` at map `at`, a negative one wrapped by `size` as
    numpy does."""

    index: int
    at: tuple
    size: D.Dim


Atom = Var | FloorDiv | Mod | Gathered


@dataclass(frozen=True)
class Ix:
    """An affine index expression: sum of coefficient * atom, plus a constant; coefficients
    and constant are dims (ints or symbolic sizes). Equal expressions compare equal."""

    terms: tuple = ()
    const: D.Dim = 0

    @staticmethod
    def atom(a: Atom) -> Ix:
        return Ix(((a, 1),))

    def __add__(self, other) -> Ix:
        other = as_ix(other)
        coeffs = dict(self.terms)
        for a, c in other.terms:
            coeffs[a] = coeffs.get(a, 0) + c
        terms = tuple(sorted(((a, c) for a, c in coeffs.items() if c != 0), key=lambda t: repr(t[0])))
        return Ix(terms, self.const + other.const)

    def __sub__(self, other) -> Ix:
        return self + as_ix(other) * -1

    def __mul__(self, k: D.Dim) -> Ix:
        if k == 0:
            return ZERO
        return Ix(tuple((a, c * k) for a, c in self.terms), self.const * k)

    @property
    def is_var(self) -> bool:
        """Exactly one iteration variable: always inside its axis where its mask holds."""
        return (self.const == 0 and len(self.terms) == 1 and self.terms[0][1] == 1
                and isinstance(self.terms[0][0], Var))

    def variables(self) -> set[str]:
        out: set[str] = set()
        for a, _ in self.terms:
            out |= atom_variables(a)
        return out


ZERO = Ix()
Map = tuple  # one Ix per axis of the value read


def as_ix(x) -> Ix:
    return x if isinstance(x, Ix) else Ix((), x)


def var(name: str) -> Ix:
    return Ix.atom(Var(name))


def atom_variables(a: Atom) -> set[str]:
    if isinstance(a, Var):
        return {a.name}
    if isinstance(a, (FloorDiv, Mod)):
        return a.x.variables()
    return map_variables(a.at)


def map_variables(at: Map) -> set[str]:
    return set().union(*(ix.variables() for ix in at)) if at else set()


def rename(at: Map, to: dict[str, Ix]) -> Map:
    """`at` with the variables named in `to` replaced by their expressions."""
    out = []
    for ix in at:
        renamed = as_ix(ix.const)
        for a, c in ix.terms:
            renamed = renamed + (to[a.name] if isinstance(a, Var) and a.name in to else Ix.atom(a)) * c
        out.append(renamed)
    return tuple(out)


def identity(shape, names) -> Map:
    """The map of a value laid over the space: axis k at variable names[k]; a size-1 axis
    is always index 0, so maps that agree on every real axis compare equal."""
    return tuple(ZERO if d == 1 else var(n) for d, n in zip(shape, names))


def flat(at: Map, shape) -> Ix:
    """The row-major offset of index `at` in a contiguous tensor of `shape`."""
    total, stride = ZERO, 1
    for ix, d in reversed(list(zip(at, shape))):
        total = total + ix * stride
        stride = stride * d
    return total


def strides(shape) -> list:
    out, stride = [], 1
    for d in reversed(shape):
        out.append(stride)
        stride = stride * d
    return out[::-1]


# -- how map-like primitives read their inputs ---------------------------------------------

def _same(node: Node, at: Map) -> list[Map]:
    return [at] * len(node.inputs)


def _broadcast(node: Node, at: Map) -> list[Map]:
    x = node.inputs[0]
    dims = node.params["broadcast_dimensions"]
    return [tuple(ZERO if x.shape[j] == 1 else at[dims[j]] for j in range(x.ndim))]


def _transpose(node: Node, at: Map) -> list[Map]:
    perm = node.params["permutation"]
    back = [0] * len(perm)
    for k, p in enumerate(perm):
        back[p] = at[k]
    return [tuple(back)]


def squeezed_pairs(a_shape, b_shape) -> list[tuple[int, int]] | None:
    """When two shapes differ only by size-1 axes: the pairs of their other axes."""
    a = [i for i, d in enumerate(a_shape) if d != 1]
    b = [i for i, d in enumerate(b_shape) if d != 1]
    if [a_shape[i] for i in a] != [b_shape[i] for i in b]:
        return None
    return list(zip(a, b))


def reshape_map(at: Map, out_shape, in_shape) -> Map:
    """The index of `in_shape` holding element `at` of its reshape to `out_shape`."""
    pairs = squeezed_pairs(out_shape, in_shape)
    if pairs is not None:
        comps = [ZERO] * len(in_shape)
        for o, i in pairs:
            comps[i] = at[o]
        return tuple(comps)
    offset = flat(at, out_shape)
    comps, leading = [], True
    for d, stride in zip(in_shape, strides(in_shape)):
        if d == 1:
            comps.append(ZERO)
            continue
        q = offset if stride == 1 else Ix.atom(FloorDiv(offset, stride))
        comps.append(q if leading else Ix.atom(Mod(q, d)))
        leading = False
    return tuple(comps)


def _reshape(node: Node, at: Map) -> list[Map]:
    return [reshape_map(at, node.out.shape, node.inputs[0].shape)]


def _slice(node: Node, at: Map) -> list[Map]:
    p = node.params
    return [tuple(ix * k + s for ix, s, k in zip(at, p["start"], p["stride"]))]


def _pad(node: Node, at: Map) -> list[Map]:
    """Where the input sits under `at`; the backend masks the positions that are padding."""
    p = node.params
    out = []
    for ix, lo, it in zip(at, p["low"], p["interior"]):
        shifted = ix - lo
        out.append(shifted if it == 0 else Ix.atom(FloorDiv(shifted, it + 1)))
    return [tuple(out)]


def _concatenate(node: Node, at: Map) -> list[Map]:
    axis = node.params["axis"]
    out, offset = [], 0
    for x in node.inputs:
        out.append(at[:axis] + (at[axis] - offset,) + at[axis + 1:])
        offset = offset + x.shape[axis]
    return out


def gather_maps(at: Map, x: Value, idx: Value, axis: int, batch_dims: int) -> tuple[Map, Map]:
    """For `gather` at `at`: where x is read, and where the index is read."""
    n_idx = idx.ndim - batch_dims
    idx_at = at[:batch_dims] + at[axis:axis + n_idx]
    picked = Ix.atom(Gathered(idx.id, idx_at, x.shape[axis]))
    return at[:axis] + (picked,) + at[axis + n_idx:], idx_at


def _gather(node: Node, at: Map) -> list[Map]:
    x, idx = node.inputs
    return list(gather_maps(at, x, idx, node.params["axis"], node.params["batch_dims"]))


def collides(node: Node) -> bool:
    """Whether a scatter_add may add two updates into one place: only when its indices have
    dims beyond the batch dims. Without, it is a one-hot placement, read like a gather."""
    return node.inputs[1].ndim > node.params["batch_dims"]


def _one_hot(node: Node, at: Map) -> list[Map]:
    axis, batch_dims = node.params["axis"], node.params["batch_dims"]
    return [at[:axis] + at[axis + 1:], at[:batch_dims]]


def _no_inputs(node: Node, at: Map) -> list[Map]:
    return []


index_rules: dict[str, Callable[[Node, Map], list[Map]]] = {
    **{name: _same for name, p in PRIMITIVES.items() if p.elementwise},
    "broadcast_in_dim": _broadcast,
    "transpose": _transpose,
    "reshape": _reshape,
    "slice": _slice,
    "pad": _pad,
    "concatenate": _concatenate,
    "gather": _gather,
    "scatter_add": _one_hot,  # only where `collides` is false
    "iota": _no_inputs,
    "constant": _no_inputs,
}
