"""Programs and inputs for the differential fuzzer (`test_fuzz_differential.py`), which
runs each program on every path and compares the paths with each other, so nothing here
needs to stay in a smooth domain.

`AnyValueGenerator` is the smooth generator of `programs.py` without its guards (`log`,
`sqrt`, divisors and `exp` see any value; `abs`, `maximum`, `==` see ties) and with the
builtins the smooth one avoids because they are unsmooth or exact-valued: `relu`, `sign`,
`log1p`, integer and negative powers, `astype` round trips through ints and bools,
`stop_gradient`, negative and empty slices, constructors (`zeros`, `ones`, `full`,
`eye`, `arange`), `broadcast_to`, `squeeze`, gathers `e[y]`, special literals.
`Inputs` holds the arguments: floats mixing NaN, ±inf, ±0, huge, tiny and subnormal
values with ordinary ones, and labels that may be negative or out of range; dims may be 0.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .programs import ATOM, POWER, TERM, UNARY, Expr, Generator, _dims, _wrap

_INF = math.inf


def _expr(text: str, shape, prec: int = ATOM) -> Expr:
    """An expression whose values may be anything (no interval, no numpy evaluation)."""
    return Expr(text, prec, shape, -_INF, _INF, None)


class AnyValueGenerator(Generator):
    """Programs over any float values, with the unsmooth builtins too."""
    ARGUMENT_RANGE = (-_INF, _INF)
    # no int literal alone (a scalar program returning one would be an i32 program)
    CONSTANTS = (0.5, 2.0, 1.5, 0.0, 1e30, 1e-30, 1e-40, 1e300)

    def makers(self):
        return super().makers() + [self.compared, self.casted, self.sliced, self.constructed,
                                   self.stopped, self.broadcasted, self.gathered]

    def accepts(self, made: Expr) -> bool:
        return True

    def positive(self, e: Expr) -> Expr:
        return e if self.coin() else super().positive(e)

    def unary(self, shape, depth) -> Expr:
        e = self.expr(shape, depth)
        names = ["tanh", "sigmoid", "sin", "cos", "erf", "exp", "log", "log1p", "sqrt", "abs", "relu", "neg", "pow"]
        name = self.pick(names + ["sign"])
        if name == "neg":
            return _expr(f"-{_wrap(e, UNARY)}", shape, UNARY)
        if name == "pow":
            exponent = self.pick(["2", "0", "3", "-1", "-2.5", "1.5", "0.5"])
            return _expr(f"{_wrap(e, POWER, True)} ** {exponent}", shape, POWER)
        return _expr(f"{name}({e.text})", shape)

    def binary(self, shape, depth) -> Expr:
        s1, s2 = self.operand_shapes(shape)
        x, y = self.expr(s1, depth), self.expr(s2, depth)
        op = self.pick(["+", "-", "*", "/", "**", "maximum", "minimum"])
        if op in ("maximum", "minimum"):
            return _expr(f"{op}({x.text}, {y.text})", shape)
        prec = {"+": 1, "-": 1, "*": TERM, "/": TERM, "**": POWER}[op]
        if op == "**":
            return _expr(f"{_wrap(x, POWER, True)} ** {_wrap(y, UNARY)}", shape, POWER)
        return _expr(f"{_wrap(x, prec)} {op} {_wrap(y, prec, True)}", shape, prec)

    def compared(self, shape, depth) -> Expr:
        """where(x op y, ...) with every comparison, ties and NaN included."""
        left, right = self.expr(shape, depth), self.expr(self.pick([shape, ()]), depth)
        x, y = self.expr(shape, depth), self.expr(self.pick([shape, ()]), depth)
        op = self.pick(["==", "!=", "<", ">=", ">", "<="])
        return _expr(f"where({_wrap(left, 1)} {op} {_wrap(right, 1)}, {x.text}, {y.text})", shape)

    def casted(self, shape, depth) -> Expr:
        """Round trips through ints and bools: truncation, saturation, NaN to 0, x != 0."""
        e = self.expr(shape, depth)
        casts = [f"astype({e.text}, bool)", f"{_wrap(e, 1)} > 0", f"astype({e.text}, i32)",
                 f"astype({e.text}, i64)"]
        inner = self.pick(casts)
        return _expr(f"astype({inner}, float)", shape)

    def sliced(self, shape, depth) -> Expr | None:
        """A reduction of a strided or negative slice along a new leading axis."""
        if 1 in shape:
            return None
        e = self.expr((self.pick(["n", "d"]),) + shape, depth)
        part = self.pick([":-1", "-2:", "1:", ":0", "-1:"])
        reduce = self.pick(["sum", "max", "mean"])
        return _expr(f"{reduce}({_wrap(e, ATOM)}[{part}], axis=0)", shape)

    def constructed(self, shape, depth) -> Expr | None:
        """A constructor, scaled by an expression so its dtype and values matter."""
        if 1 in shape:
            return None
        dims = f"({shape[0]},)" if len(shape) == 1 else f"({_dims(shape)})"
        s = self.expr((), depth)
        options = [f"zeros({dims})", f"ones({dims})", f"full({dims}, {s.text}, dtype=float)"]
        if len(shape) == 1:
            options.append(f"astype(arange({shape[0]}), float)")
        if len(shape) == 2:
            options.append(f"eye({shape[0]}, {shape[1]})")
        made = self.pick(options)
        return _expr(made if made.startswith("full") else f"{_wrap(s, TERM)} * {made}", shape, TERM)

    def stopped(self, shape, depth) -> Expr:
        return _expr(f"stop_gradient({self.expr(shape, depth).text})", shape)

    def broadcasted(self, shape, depth) -> Expr | None:
        if not shape:
            return None
        if 1 in shape:
            at = shape.index(1)
            e = self.expr(shape[:at] + shape[at + 1:], depth)
            return _expr(f"expand_dims({e.text}, {at})", shape)
        e = self.expr(shape[1:], depth)
        return _expr(f"broadcast_to({e.text}, ({_dims(shape)},))", shape)

    def gathered(self, shape, depth) -> Expr | None:
        """e[y]: rows of e picked by the labels, which may lie outside [0, d)."""
        if not shape or shape[0] != "n" or 1 in shape:
            return None
        self.uses_labels = True
        e = self.expr(("d",) + shape[1:], depth)
        if self.coin():
            return _expr(f"{_wrap(e, ATOM)}[y]", shape)
        return _expr(f"squeeze(take({_wrap(e, ATOM)}, expand_dims(y, 1), axis=0), axis=1)", shape)


# -- inputs ------------------------------------------------------------------------------------

def special_values(dtype) -> list[float]:
    """The values that break naive rewrites, for `dtype`."""
    info = np.finfo(dtype)
    return [np.nan, np.inf, -np.inf, 0.0, -0.0, float(info.max), -float(info.max), float(info.tiny),
            float(info.smallest_subnormal), -float(info.smallest_subnormal), 1.0, -1.0, 0.5, 2.0,
            float(info.max) / 4, 1e-3]


@dataclass
class Inputs:
    """The arguments of one run, drawn from a seed: `special` is each float element's
    chance of being a special value; `wild` that of a label lying outside [0, d)."""
    seed: int
    special: float
    wild: float

    def arguments(self, sizes: dict, shapes: list[tuple], labels: bool, dtype) -> list[np.ndarray]:
        rng = np.random.default_rng(self.seed)
        specials = np.array(special_values(dtype), dtype)
        args = []
        for shape in shapes:
            concrete = tuple(sizes[d] for d in shape)
            plain = rng.uniform(-3, 3, concrete).astype(dtype)
            picked = specials[rng.integers(0, len(specials), concrete)]
            args.append(np.where(rng.random(concrete) < self.special, picked, plain).astype(dtype))
        if labels:
            n, d = sizes["n"], sizes["d"]
            inside = rng.integers(0, max(d, 1), n)
            outside = rng.choice([-1, -d - 1, d, d + 2], n)
            args.append(np.where(rng.random(n) < self.wild, outside, inside).astype(np.int32))
        return args


def show(args) -> str:
    """The arguments as Python literals that keep -0.0, NaN and inf, for failure messages."""
    return "\n".join(f"  arg {i}: np.array({a.tolist()!r}, np.{a.dtype})" for i, a in enumerate(args))
