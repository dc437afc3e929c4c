"""`TensorType`: a dtype and a shape whose dims are ints or symbolic `Sym`s."""
from __future__ import annotations

from dataclasses import dataclass

from . import dims as D
from .dtypes import DType


@dataclass(frozen=True)
class TensorType:
    dtype: DType
    shape: tuple[D.Dim, ...]

    def __post_init__(self):
        object.__setattr__(self, "shape", tuple(D.as_dim(d) for d in self.shape))

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def with_shape(self, shape) -> TensorType:
        return TensorType(self.dtype, tuple(shape))

    def with_dtype(self, dtype: DType) -> TensorType:
        return TensorType(dtype, self.shape)

    def dim_names(self) -> set[str]:
        return set().union(*(D.names(d) for d in self.shape)) if self.shape else set()

    def size(self) -> D.Dim:
        return D.product(self.shape)

    def __str__(self) -> str:
        return f"{self.dtype}[{','.join(str(d) for d in self.shape)}]"
