"""The five dtypes of the language, ordered for promotion: bool < i32 < i64 < f32 < f64."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class DType:
    name: str
    numpy: str  # numpy's name for it, as emitted into generated code
    rank: int  # position in the promotion order

    @property
    def is_float(self) -> bool:
        return self.name in ("f32", "f64")

    @property
    def is_int(self) -> bool:
        return self.name in ("i32", "i64")

    @property
    def is_bool(self) -> bool:
        return self.name == "bool"

    @property
    def np(self) -> np.dtype:
        return np.dtype(self.numpy)

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return self.name


bool_ = DType("bool", "bool", 0)
i32 = DType("i32", "int32", 1)
i64 = DType("i64", "int64", 2)
f32 = DType("f32", "float32", 3)
f64 = DType("f64", "float64", 4)

DTYPES: dict[str, DType] = {d.name: d for d in (bool_, i32, i64, f32, f64)}
_BY_NUMPY = {d.np: d for d in DTYPES.values()}


def from_numpy(dt) -> DType | None:
    """The ddc dtype for a numpy dtype, or None when the language has no such dtype."""
    return _BY_NUMPY.get(np.dtype(dt))


def promote(a: DType, b: DType) -> DType:
    """The dtype of a binary op on `a` and `b` (JAX-like: ints meet floats at the float)."""
    return a if a.rank >= b.rank else b
