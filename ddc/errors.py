"""Every error ddc reports: one hierarchy rooted at `DDError`, each carrying a source span.

The root and the errors the IR raises (`Span`, `DDError`, `CallError`, `DDIndexError`,
`IRError`) are defined in `ddc.ir.errors`, so `ir/` imports nothing above it; the front
end's errors are defined here. Import any of them from here (or from `ddc`).
"""
from __future__ import annotations

from contextlib import contextmanager

from ddc.ir.errors import CallError, DDError, DDIndexError, IRError, Span, format_error

__all__ = [
    "CallError", "DDError", "DDImportError", "DDIndexError", "DDNameError", "DDSyntaxError", "DDTypeError",
    "IRError", "NumericsError", "Span", "TransformError", "format_error", "located",
]


class DDSyntaxError(DDError):
    kind = "syntax error"


class DDNameError(DDError):
    kind = "name error"


class DDTypeError(DDError):
    """Dtype, shape and arity errors found by the checker."""

    kind = "type error"


class DDImportError(DDError):
    kind = "import error"


class TransformError(DDError):
    """grad of a non-scalar, grad w.r.t. an integer, mismatched vmap sizes, ..."""

    kind = "transform error"


class NumericsError(DDError):
    """A NaN or inf found by `debug_nans`."""

    kind = "numerics error"


@contextmanager
def located(span):
    """Give errors raised without a span (by shared shape helpers, IR rules) this one."""
    try:
        yield
    except DDError as e:
        if e.span is None:
            e.span = span
        raise
