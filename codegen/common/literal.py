"""A scalar of the IR as source text, for either backend: re-emitted from the parsed
number (never from user text), or the runtime size of a dim."""
from __future__ import annotations

import math

import numpy as np

from ddc.errors import IRError
from ddc.ir import dims as D
from ddc.ir.dtypes import DType

from .arguments import DimBinder


def literal(value, dtype: DType, dims: DimBinder) -> str:
    if isinstance(value, D.Sym):
        return dims.expr(value)
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
