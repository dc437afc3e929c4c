"""ddc: a compiler for differentiable programs.

    m = ddc.load("model.dd")
    loss = m.loss(W, x, y)
    g = ddc.grad(m.loss)(W, x, y)
"""
from .errors import (  # noqa: F401  (first: every subpackage imports these)
    CallError, DDError, DDImportError, DDIndexError, DDNameError, DDSyntaxError, DDTypeError, IRError,
    NumericsError, Span, TransformError,
)
from .config import config  # noqa: E402
from .function import Function  # noqa: E402
from .api import (  # noqa: E402
    Module, grad, hessian, jacfwd, jacrev, jit, jvp, linearize, load, loads, value_and_grad,
    vjp, vmap,
)
from . import testing  # noqa: E402  (`ddc.testing.check_grads` after `import ddc`)

__all__ = [
    "CallError", "DDError", "DDImportError", "DDIndexError", "DDNameError", "DDSyntaxError", "DDTypeError",
    "IRError", "NumericsError", "Span", "TransformError", "config", "Function", "Module", "grad",
    "hessian", "jacfwd", "jacrev", "jit", "jvp", "linearize", "load", "loads",
    "testing", "value_and_grad", "vjp", "vmap",
]
