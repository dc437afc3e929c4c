"""Symbolic dimension sizes.

A dim is a Python `int` or a `Sym`: a polynomial with integer coefficients over dim names
(`n`, `n+m`, `n-1`, `2*n`, `n*d`). Signatures bind names at call time; slicing,
concatenation and reshape make sums, differences and products. Keeping dims symbolic lets
one compiled function serve every size, and lets the checker compare `d` with `k` before
any data exists. A `Sym` whose polynomial is a constant is always normalised to an `int`,
so `==` between dims is exact polynomial equality.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

Monomial = tuple[str, ...]  # sorted names, with repetition: ("d", "n") is d*n


class Sym:
    __slots__ = ("terms", "_hash")

    def __init__(self, terms: Mapping[Monomial, int]):
        self.terms: tuple[tuple[Monomial, int], ...] = tuple(
            sorted(((m, c) for m, c in terms.items() if c != 0), key=_term_order)
        )
        self._hash = hash(self.terms)

    @staticmethod
    def name(name: str) -> Sym:
        return Sym({(name,): 1})

    # Arithmetic works on the term dictionaries, then normalises.
    def _dict(self) -> dict[Monomial, int]:
        return dict(self.terms)

    def __add__(self, other: Dim) -> Dim:
        out = self._dict()
        for m, c in _as_terms(other).items():
            out[m] = out.get(m, 0) + c
        return _normalise(out)

    __radd__ = __add__

    def __neg__(self) -> Dim:
        return _normalise({m: -c for m, c in self.terms})

    def __sub__(self, other: Dim) -> Dim:
        return self + (-other)

    def __rsub__(self, other: Dim) -> Dim:
        return (-self) + other

    def __mul__(self, other: Dim) -> Dim:
        out: dict[Monomial, int] = {}
        for m1, c1 in self.terms:
            for m2, c2 in _as_terms(other).items():
                m = tuple(sorted(m1 + m2))
                out[m] = out.get(m, 0) + c1 * c2
        return _normalise(out)

    __rmul__ = __mul__

    def __eq__(self, other) -> bool:
        return isinstance(other, Sym) and self.terms == other.terms

    def __hash__(self) -> int:
        return self._hash

    def names(self) -> set[str]:
        return {n for m, _ in self.terms for n in m}

    def __str__(self) -> str:
        return render(self, lambda n: n)

    def __repr__(self) -> str:
        return f"Sym({self})"


Dim = int | Sym


def _term_order(term):
    mono, _ = term
    return (-len(mono), mono)  # highest degree first, constant last


def _as_terms(d: Dim) -> dict[Monomial, int]:
    if isinstance(d, Sym):
        return d._dict()
    if isinstance(d, bool) or not isinstance(d, int):
        raise TypeError(f"not a dim: {d!r}")
    return {(): d}


def _normalise(terms: dict[Monomial, int]) -> Dim:
    terms = {m: c for m, c in terms.items() if c != 0}
    if not terms:
        return 0
    if set(terms) == {()}:
        return terms[()]
    return Sym(terms)


def as_dim(x) -> Dim:
    """An int, a name, or a Sym, as a normalised dim."""
    if isinstance(x, str):
        return Sym.name(x)
    if isinstance(x, Sym):
        return x
    if isinstance(x, bool) or not isinstance(x, int):
        raise TypeError(f"not a dim: {x!r}")
    return x


def product(dims: Iterable[Dim]) -> Dim:
    """The product of some dims (1 for none): an array's size from its shape."""
    total: Dim = 1
    for d in dims:
        total = total * d
    return total


def is_static(d: Dim) -> bool:
    return isinstance(d, int)


def names(d: Dim) -> set[str]:
    return d.names() if isinstance(d, Sym) else set()


def evaluate(d: Dim, env: Mapping[str, int]) -> int:
    if isinstance(d, int):
        return d
    total = 0
    for mono, c in d.terms:
        v = c
        for n in mono:
            v *= env[n]
        total += v
    return total


def divide(a: Dim, b: Dim) -> Dim | None:
    """`a / b` when it is exact as polynomials over monomial divisors, else None."""
    if b == 0:
        return None
    if a == 0:
        return 0  # no terms to divide (its one constant term 0 has no names)
    if isinstance(b, int):
        terms = _as_terms(a)
        if all(c % b == 0 for c in terms.values()):
            return _normalise({m: c // b for m, c in terms.items()})
        return None
    if len(b.terms) != 1:
        return 1 if a == b else None
    (bm, bc), = b.terms
    out: dict[Monomial, int] = {}
    for m, c in _as_terms(a).items():
        rest = list(m)
        for n in bm:
            if n not in rest:
                return None
            rest.remove(n)
        if c % bc:
            return None
        out[tuple(rest)] = c // bc
    return _normalise(out)


def render(d: Dim, name_of) -> str:
    """Text for a dim; `name_of` maps each dim name to what should be printed for it.

    Used both for IR text (names as they are) and for generated code (re-minted names),
    so the output is always a valid Python expression.
    """
    if isinstance(d, int):
        return str(d)
    pieces = []
    for mono, c in d.terms:
        factors = [name_of(n) for n in mono]
        if not factors:
            body = str(abs(c))
        elif abs(c) == 1:
            body = "*".join(factors)
        else:
            body = "*".join([str(abs(c))] + factors)
        sign = "-" if c < 0 else "+"
        pieces.append((sign, body))
    first_sign, first = pieces[0]
    text = ("-" if first_sign == "-" else "") + first
    for sign, body in pieces[1:]:
        text += sign + body
    return text


_TOKEN = re.compile(r"\s*(?:(\d+)|([A-Za-z_][A-Za-z0-9_]*)|([-+*()]))")


def parse(text: str) -> Dim:
    """Read back what `render(d, str)` wrote: sums and products of names and integers."""
    tokens = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise ValueError(f"bad dim expression {text!r}")
        tokens.append(m.group(1) or m.group(2) or m.group(3))
        pos = m.end()
    tokens.append(None)
    i = 0

    def atom() -> Dim:
        nonlocal i
        tok = tokens[i]
        i += 1
        if tok is None:
            raise ValueError(f"bad dim expression {text!r}")
        if tok.isdigit():
            return int(tok)
        if tok == "(":
            v = expr()
            if tokens[i] != ")":
                raise ValueError(f"bad dim expression {text!r}")
            i += 1
            return v
        if tok == "-":
            return -atom()
        if tok[0].isalpha() or tok[0] == "_":
            return Sym.name(tok)
        raise ValueError(f"bad dim expression {text!r}")

    def term() -> Dim:
        nonlocal i
        v = atom()
        while tokens[i] == "*":
            i += 1
            v = v * atom()
        return v

    def expr() -> Dim:
        nonlocal i
        v = term()
        while tokens[i] in ("+", "-"):
            op = tokens[i]
            i += 1
            t = term()
            v = v + t if op == "+" else v - t
        return v

    result = expr()
    if tokens[i] is not None:
        raise ValueError(f"bad dim expression {text!r}")
    return result


def map_param(param, fn):
    """A node's param with `fn` applied to each dim it holds that is a `Sym` (params are
    nested tuples of ints, Syms and other values)."""
    if isinstance(param, Sym):
        return fn(param)
    if isinstance(param, tuple):
        return tuple(map_param(p, fn) for p in param)
    return param


def substitute(d: Dim, mapping: Mapping[str, Dim]) -> Dim:
    """`d` with each name in `mapping` replaced by its dim (names not in it stay)."""
    if isinstance(d, int):
        return d
    total: Dim = 0
    for mono, c in d.terms:
        term: Dim = c
        for n in mono:
            term = term * mapping.get(n, Sym.name(n))
        total = total + term
    return total
