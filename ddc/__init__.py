"""ddc: a compiler for differentiable programs.

    m = ddc.load("model.dd")
    loss = m.loss(W, x, y)
    g = ddc.grad(m.loss)(W, x, y)

The errors and `config` are imported with the package; the rest (the front end, the
passes, the backends) on first use of a name below, so `import ddc.ir` loads the IR alone.
"""
import importlib

from .errors import (
    CallError, DDError, DDImportError, DDIndexError, DDNameError, DDSyntaxError, DDTypeError, IRError,
    NumericsError, Span, TransformError,
)
from .config import config

_LAZY = {  # name -> the submodule that defines it
    "Function": "function",
    **{name: "api" for name in (
        "Module", "grad", "hessian", "jacfwd", "jacrev", "jit", "jvp", "linearize", "load", "loads",
        "value_and_grad", "vjp", "vmap")},
    "testing": None,  # the submodule itself: `ddc.testing.check_grads` after `import ddc`
}

__all__ = [
    "CallError", "DDError", "DDImportError", "DDIndexError", "DDNameError", "DDSyntaxError", "DDTypeError",
    "IRError", "NumericsError", "Span", "TransformError", "config", "Function", "Module", "grad",
    "hessian", "jacfwd", "jacrev", "jit", "jvp", "linearize", "load", "loads",
    "testing", "value_and_grad", "vjp", "vmap",
]


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'ddc' has no attribute {name!r}")
    module = importlib.import_module(f"{__name__}.{_LAZY[name] or name}")
    value = module if _LAZY[name] is None else getattr(module, name)
    globals()[name] = value  # found directly from now on
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
