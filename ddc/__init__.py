"""ddc: a compiler for differentiable programs."""
from .errors import (  # noqa: F401  (first: every subpackage imports these)
    CallError, DDError, DDImportError, DDNameError, DDSyntaxError, DDTypeError, IRError,
    NumericsError, Span, TransformError,
)
