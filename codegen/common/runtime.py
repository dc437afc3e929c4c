"""The runtime pieces both backends' generated code calls: the argument error, the dim
checks, the call-time check fault, and the integer-power chain.

Plain Python, importing nothing: exported modules of either backend embed this file
verbatim in place of the one line of their runtime that imports it
(`codegen.common.export.embedded_runtime`). None of its top-level names ends in
`_<digits>`, the shape of every minted name.
"""


class ArgumentError(ValueError):
    """An argument that does not match the compiled function's signature. `parameter` is
    how the message names the argument (`parameter x`, `argument 2`; None when the error
    is about the call, not one argument), `dim` the axis or dim name at fault, `expected`
    and `got` what was declared and what came."""

    def __init__(self, message, parameter=None, dim=None, expected=None, got=None):
        super().__init__(message)
        self.parameter, self.dim, self.expected, self.got = parameter, dim, expected, got


# The kinds of array a Python literal may become: ints fit int and float parameters.
PYTHON_KINDS = {"b": "b", "i": "if", "f": "f"}


def dim_error(who, axis, size, dim, bound, binder):
    return ArgumentError(f"dim {dim} of {who} is {size}, but {binder} bound {dim} = {bound} (axis {axis})",
                         parameter=who, dim=dim, expected=bound, got=size)


def size_error(who, axis, size, declared_size, expected):
    wanted = declared_size if declared_size == str(expected) else f"{declared_size} = {expected}"
    return ArgumentError(f"dim {axis} of {who} is {size}, expected {wanted}",
                         parameter=who, dim=axis, expected=expected, got=size)


# -- call-time checks: each refers to the compiled function's check table by position ---

class IndexFault(IndexError):
    """A call-time check failed: `check` is its position in the function's check table
    (ddc turns this into a located DDIndexError), `detail` what failed: the dims' values
    for a dim requirement, else (position, value, bound) of the first bad index."""

    def __init__(self, check, detail):
        super().__init__(check, detail)
        self.check, self.detail = check, detail

    def __str__(self):
        if len(self.detail) == 3 and isinstance(self.detail[0], tuple):
            at, value, bound = self.detail
            return f"index{list(at)} = {value} is outside [0, {bound}) (check {self.check})"
        return f"the dims {self.detail} violate requirement {self.check} of this function"


def dim_fault(check, dims):
    return IndexFault(check, tuple(int(d) for d in dims))


def multiply_out(x, n, mul, square, reciprocal):
    """x ** n for an int n != 0, by repeated squaring as JAX's `integer_pow` does it: the
    product of the squarings x, x**2, x**4, ... that n's bits select, in that order; for
    n < 0, the reciprocal of x ** -n. The one definition of this chain: the numpy backend
    runs it on arrays, the Triton backend on source text, constant folding on scalars, so
    every path rounds the same way (to the last bit, as JAX)."""
    acc, power, m = None, x, abs(n)
    while True:
        if m & 1:
            acc = power if acc is None else mul(acc, power)
        m >>= 1
        if not m:
            return reciprocal(acc) if n < 0 else acc
        power = square(power)
