"""ddc: a compiler for differentiable programs.

    m = ddc.load("model.dd")
    loss = m.loss(W, x, y)
    g = ddc.grad(m.loss)(W, x, y)
"""
from .errors import (  # first: every subpackage imports these
    CallError, DDError, DDImportError, DDIndexError, DDNameError, DDSyntaxError, DDTypeError, IRError,
    NumericsError, Span, TransformError,
)
from .config import config
from .function import Function
from .api import (
    Module, grad, hessian, jacfwd, jacrev, jit, jvp, linearize, load, loads, value_and_grad,
    vjp, vmap,
)
from . import testing  # `ddc.testing.check_grads` after `import ddc`

__all__ = [
    "CallError", "DDError", "DDImportError", "DDIndexError", "DDNameError", "DDSyntaxError", "DDTypeError",
    "IRError", "NumericsError", "Span", "TransformError", "config", "Function", "Module", "grad",
    "hessian", "jacfwd", "jacrev", "jit", "jvp", "linearize", "load", "loads",
    "testing", "value_and_grad", "vjp", "vmap",
]
