"""`argnums`, read one way for every transform, in Python and in `.dd` source.

The order given is the order the results come in, as in JAX: `grad(f, argnums=(1, 0))`
returns `(df/dy, df/dx)`. The passes compute cotangents in positional order (one backward
graph for all of them), so `in_given_order` puts them back.
"""
from __future__ import annotations

from collections.abc import Sequence

from ddc.errors import TransformError


def normalize_argnums(argnums, arity: int, fname: str, what: str = "") -> tuple[int, ...]:
    """Non-negative positions, in the order given; `what` prefixes the errors ("jacrev: ")."""
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    if not nums:
        raise TransformError(f"{what}argnums is empty: name at least one argument of {fname}")
    out = []
    for a in nums:
        if not isinstance(a, int) or isinstance(a, bool):
            raise TransformError(f"{what}argnums must be an int or a tuple of ints, got {argnums!r}")
        if not -arity <= a < arity:
            raise TransformError(f"{what}argnums {a} is out of range: {fname} takes {arity} arguments")
        out.append(a % arity)
    if len(set(out)) != len(out):
        raise TransformError(f"{what}argnums {argnums} repeats an argument")
    return tuple(out)


def wrt_mask(arity: int, argnums: Sequence[int]) -> list[bool]:
    return [i in argnums for i in range(arity)]


def in_given_order(by_position: Sequence, argnums: Sequence[int]) -> list:
    """Results for `argnums` listed in positional order (as a `wrt_mask` pass gives them),
    reordered to the order of `argnums`."""
    at = dict(zip(sorted(argnums), by_position))
    return [at[a] for a in argnums]
