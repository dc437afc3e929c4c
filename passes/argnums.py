"""`argnums`, read one way for every transform, in Python and in `.dd` source; and the
one check that what grad differentiates returns a float scalar.

The order given is the order the results come in, as in JAX: `grad(f, argnums=(1, 0))`
returns `(df/dy, df/dx)`. The passes compute cotangents in positional order (one backward
graph for all of them), so `in_given_order` puts them back.
"""
from __future__ import annotations

from collections.abc import Sequence

from ddc.errors import TransformError


def _is_int(a) -> bool:
    return isinstance(a, int) and not isinstance(a, bool)


def check_argnums(argnums, what: str = ""):
    """`argnums` unchanged when it is an int or a tuple of ints (before the arity is known,
    as when a `.dd` transform expression is read)."""
    if not (_is_int(argnums) or (isinstance(argnums, tuple) and all(_is_int(a) for a in argnums))):
        raise TransformError(f"{what}argnums must be an int or a tuple of ints, got {argnums!r}")
    return argnums


def normalize_argnums(argnums, arity: int, fname: str, what: str = "") -> tuple[int, ...]:
    """Non-negative positions, in the order given; `what` prefixes the errors ("jacrev: ")."""
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    if not nums:
        raise TransformError(f"{what}argnums is empty: name at least one argument of {fname}")
    out = []
    for a in nums:
        if not _is_int(a):
            raise TransformError(f"{what}argnums must be an int or a tuple of ints, got {argnums!r}")
        if not -arity <= a < arity:
            raise TransformError(f"{what}argnums {a} is out of range: {fname} takes {arity} arguments")
        out.append(a % arity)
    if len(set(out)) != len(out):
        raise TransformError(f"{what}argnums {argnums} repeats an argument")
    return tuple(out)


def check_scalar_output(what: str, fname: str, results: Sequence, shown: str, span=None) -> None:
    """That `fname` returns one float scalar, as `what` (grad, value_and_grad) needs.
    `results` has an entry per output: `(shape, is float)`, or None for one that is no
    tensor (a nested tuple); `shown` is what it returns, in words."""
    if len(results) != 1:
        raise TransformError(f"{what}: {fname} returns {len(results)} values; it needs one scalar float",
                             span, hint="return a single scalar loss")
    if results[0] is None or results[0][0] or not results[0][1]:
        raise TransformError(f"{what}: {fname} returns {shown}; it needs a scalar float output", span,
                             hint="reduce it to a scalar with sum(...) or mean(...), or use vjp with a cotangent")


def wrt_mask(arity: int, argnums: Sequence[int]) -> list[bool]:
    return [i in argnums for i in range(arity)]


def in_given_order(by_position: Sequence, argnums: Sequence[int]) -> list:
    """Results for `argnums` listed in positional order (as a `wrt_mask` pass gives them),
    reordered to the order of `argnums`."""
    at = dict(zip(sorted(argnums), by_position))
    return [at[a] for a in argnums]
