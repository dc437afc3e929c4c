"""Types of the language: signature annotations, the checker's tensor types, dtype rules.

`TypeSpec` is what a signature says (`f32[n, d]`, `float[n]`). `Tensor` is what the checker
knows about an expression: a dtype, a shape of dims, and, for literals and dim values, the
value itself (`static`). An expression is *weak*, as Python scalars are in JAX, when its
dtype is only a default that the operands it meets decide: literals and dims, constructors
without `dtype=` (`zeros(n)`, `arange(n)`), and elementwise or structural operations of weak
operands only (`where(c, 0.1, 0.2)`, `arange(n) / 10`). `x * 2` keeps x's dtype, and
`x + full((n,), 0.1)` adds 0.1 in x's dtype. A weak tensor's dtype is its kind's default (the
function's float, i32 or bool); the lowering emits it at the dtype its consumer needs. The
dtype `FLOAT` is the variable that `float` in a signature names: one per function, bound to
f32 or f64 when the function is lowered or called.

Promotion (one home, used by the checker and the lowering):
bool < i32 < i64 < f32 < f64, with FLOAT between f32 and f64 (f32 joined with a float that
may be f64 is that float).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ddc.ir import dims as D
from ddc.ir.dtypes import DTYPES, DType, bool_, i32
from ddc.ir.types import TensorType

FLOAT = "float"
DTypeLike = DType | str  # a DType or FLOAT

DTYPE_NAMES: dict[str, DTypeLike] = {**DTYPES, FLOAT: FLOAT}


def shape_str(shape) -> str:
    return f"[{','.join(str(d) for d in shape)}]"


@dataclass(frozen=True)
class TypeSpec:
    """A type as written in a signature: a dtype name (or "float") and dims: names, ints, or
    (in return types) polynomials of them (`n-1`, `2*n`) as `Sym`s."""

    dtype: DTypeLike
    shape: tuple[int | str | D.Sym, ...]

    def __str__(self) -> str:
        return f"{self.dtype}{shape_str(self.shape)}" if self.shape else str(self.dtype)

    @property
    def dims(self) -> tuple[D.Dim, ...]:
        return tuple(D.as_dim(d) for d in self.shape)

    def dim_names(self) -> set[str]:
        return {n for d in self.shape for n in ({d} if isinstance(d, str) else D.names(d))}

    def computed_dims(self) -> list[D.Sym]:
        """The dims written as expressions (`n-1`), not as a name or a size."""
        return [d for d in self.shape if isinstance(d, D.Sym)]


@dataclass(frozen=True)
class Tensor:
    """The checker's type of a tensor expression. `static` holds the value of a literal or a
    dim (an int, float, bool or Sym); those are weak scalars. `weak`: see the module's doc."""

    dtype: DTypeLike
    shape: tuple[D.Dim, ...]
    static: int | float | D.Sym | None = None  # (a bool is an int)
    weak: bool = False

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def constant(self) -> bool:
        return self.static is not None

    def __str__(self) -> str:
        if self.constant:
            return f"the constant {self.static}"
        return f"{self.dtype}{shape_str(self.shape)}" if self.shape else str(self.dtype)


def tensor_of(spec: TypeSpec, float_dtype: DTypeLike) -> Tensor:
    return Tensor(float_dtype if spec.dtype == FLOAT else spec.dtype, spec.dims)


def describe(t: TensorType) -> Tensor:
    return Tensor(t.dtype, t.shape)


# -- dtype kinds and promotion ---------------------------------------------------------------

BOOL, INT, REAL = 0, 1, 2  # dtype kinds, ordered


def kind(dtype: DTypeLike) -> int:
    if isinstance(dtype, str) or dtype.is_float:  # the one str is FLOAT
        return REAL
    return INT if dtype.is_int else BOOL


def is_float(dtype: DTypeLike) -> bool:
    return kind(dtype) == REAL


def _rank(dtype: DTypeLike) -> float:
    return 3.5 if isinstance(dtype, str) else dtype.rank


def promote(a: DTypeLike, b: DTypeLike) -> DTypeLike:
    return a if _rank(a) >= _rank(b) else b


def static_kind(value) -> int:
    if isinstance(value, bool):
        return BOOL
    return REAL if isinstance(value, float) else INT


def default_dtype(k: int, float_dtype: DTypeLike) -> DTypeLike:
    return (bool_, i32, float_dtype)[k]


def weak_tensor(value, float_dtype: DTypeLike) -> Tensor:
    """The type of a literal or dim value: a scalar of its kind's default dtype."""
    return Tensor(default_dtype(static_kind(value), float_dtype), (), value, weak=True)


def weakened(t: Tensor, float_dtype: DTypeLike) -> Tensor:
    """`t` as a weak tensor: of its kind's default dtype, which its consumers override."""
    return Tensor(default_dtype(kind(t.dtype), float_dtype), t.shape, weak=True)


def join(ts: list[Tensor], float_dtype: DTypeLike) -> DTypeLike:
    """The common dtype of operands, JAX-style: weak values take the strong operands' dtype
    unless they are of a higher kind (`i32 * 0.5` is a float)."""
    strong = [t.dtype for t in ts if not t.weak]
    weak_kind = max((kind(t.dtype) for t in ts if t.weak), default=BOOL)
    if not strong:
        return default_dtype(weak_kind, float_dtype)
    dtype = strong[0]
    for d in strong[1:]:
        dtype = promote(dtype, d)
    if weak_kind > kind(dtype):
        return default_dtype(weak_kind, float_dtype)
    return dtype


def fits(value, dtype: DTypeLike) -> bool:
    """Whether a constant can become a `dtype` value (integers must be in its range)."""
    if isinstance(value, int) and not isinstance(value, bool) and isinstance(dtype, DType) and dtype.is_int:
        bounds = np.iinfo(dtype.np)
        return bounds.min <= value <= bounds.max
    return True


def resolve(dtype: DTypeLike, float_dtype: DType) -> DType:
    return float_dtype if isinstance(dtype, str) else dtype


def bind_float(specs: list[TypeSpec], args: list[Tensor], default: DTypeLike):
    """The dtype a callee's `float` binds to: that of its (non-weak) float arguments,
    else the caller's float. Returns (dtype, None), or (the dtype bound first, index of an
    argument that disagrees)."""
    bound = None
    for i, (spec, arg) in enumerate(zip(specs, args)):
        if spec.dtype != FLOAT or arg.weak or not is_float(arg.dtype):
            continue  # weak values take whatever float is; non-floats are an error elsewhere
        if bound is None:
            bound = arg.dtype
        elif arg.dtype != bound:
            return bound, i
    return (default if bound is None else bound), None


# -- values of the checker ----------------------------------------------------------------------
# Besides Tensors, an expression can be a tuple (of anything below), None, Ellipsis, a dtype
# (DType or FLOAT), a function reference (dsl.transforms) or an imported module.

def is_static(value) -> bool:
    """Known before run time: everything but tensors computed from the arguments."""
    if isinstance(value, Tensor):
        return value.constant
    if isinstance(value, tuple):
        return all(is_static(v) for v in value)
    return True


def flatten(value) -> list:
    return [leaf for v in value for leaf in flatten(v)] if isinstance(value, tuple) else [value]


def unflatten(leaves: list, like):
    """Leaves put back into the tuple nesting of `like`."""
    it = iter(leaves)

    def build(x):
        return tuple(build(v) for v in x) if isinstance(x, tuple) else next(it)

    return build(like)
