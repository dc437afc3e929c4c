"""How the numpy backend's prologue makes each argument an ndarray (see
`codegen.common.arguments`), and how its source names the runtime's dtype objects."""
from __future__ import annotations

from ddc.ir.core import Value
from ddc.ir.dtypes import DType


def dtype_ref(dtype: DType) -> str:
    """The runtime's dtype object (`runtime.f32`, ...): named as the ddc dtype, but `bool_`
    (which does not shadow the builtin)."""
    return "bool_" if dtype.is_bool else dtype.name


def numpy_conversion(v: Value, p: str, who: str, declared: str) -> list[str]:
    """Make parameter `p` an ndarray of its dtype and rank (or raise): the cheap test
    inline, `check_array` only when it fails."""
    dt = dtype_ref(v.dtype)
    return [
        f"if type({p}) is not np.ndarray or {p}.dtype != {dt} or {p}.ndim != {v.ndim}:",
        f"    {p} = check_array({p}, {dt}, {v.ndim}, {who!r}, {declared!r})",
    ]
