"""Random well-typed `.dd` programs, each with a direct numpy evaluation of the same tree.

`programs()` is a hypothesis strategy for a `Program`: one function `f` over

    a: float[n, d], b: float[d], c: float[n], s: float   (values drawn in [-1, 1])
    y: i32[n]                                            (labels in [0, d), when used)

whose body is a random expression tree over the builtins and operators: elementwise
functions, arithmetic with numpy broadcasting (including [n, 1] from keepdims
reductions), comparisons under `where`, reductions over random axes, matmul, transposes,
indexing, label picking `z[arange(n), y]`, `take`, `one_hot`, `concatenate`, and calls of
helper functions. Every
expression carries an interval its values lie in (interval arithmetic from the
arguments' [-1, 1]), and that is how values stay in smooth domains: `log`, `sqrt` and
divisors only see expressions bounded below by 0.2 (made so with `1 + e*e` or
`sigmoid(e) + 0.5` where needed), `exp` only arguments below 4, and an operation whose
result could exceed 1e4 in magnitude is not chosen. Operators are written with the
fewest parentheses Python's precedence allows, so the parser's precedence is tested too.
"""
from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from hypothesis import strategies as st

BOUND = 1e4  # no expression's values may exceed this in magnitude
PARAMS = {"a": ("n", "d"), "b": ("d",), "c": ("n",), "s": ()}

# precedence, loosest first, as in dsl/grammar.lark
COMPARE, ARITH, TERM, UNARY, POWER, ATOM = range(6)


@dataclass(frozen=True)
class Expr:
    text: str
    prec: int  # of its outermost operator
    shape: tuple  # dim names "n", "d", or 1
    lo: float  # every value lies in [lo, hi]
    hi: float
    run: Callable[[dict], np.ndarray]  # the numpy evaluation, given the arguments by name

    @property
    def bound(self) -> float:
        return max(abs(self.lo), abs(self.hi))


@dataclass
class Program:
    source: str
    sizes: dict  # dim name -> size
    uses_labels: bool
    out: Expr
    seed: int

    @property
    def params(self) -> list[str]:
        return list(PARAMS) + (["y"] if self.uses_labels else [])

    def arguments(self, dtype=np.float64) -> list[np.ndarray]:
        rng = np.random.default_rng(self.seed)
        args = [rng.uniform(-1, 1, tuple(self.sizes[d] for d in PARAMS[p])).astype(dtype) for p in PARAMS]
        if self.uses_labels:
            args.append(rng.integers(0, self.sizes["d"], self.sizes["n"]).astype(np.int32))
        return args

    def expected(self, args) -> np.ndarray:
        return np.asarray(self.out.run(dict(zip(self.params, args))))


def _wrap(e: Expr, prec: int, strict: bool = False) -> str:
    """e's text as an operand where `prec` is needed (`strict`: for the right operand of a
    left-associative operator, or the left one of `**`)."""
    return f"({e.text})" if e.prec < prec or (strict and e.prec == prec) else e.text


def _dims(shape) -> str:
    return ", ".join(str(d) for d in shape)


def broadcast(*shapes) -> tuple | None:
    ndim = max(len(s) for s in shapes)
    out = [1] * ndim
    for s in shapes:
        for i, d in enumerate(s, start=ndim - len(s)):
            if d != 1 and out[i] != 1 and d != out[i]:
                return None
            out[i] = d if d != 1 else out[i]
    return tuple(out)


def _interval(values) -> tuple[float, float]:
    return min(values), max(values)


# -- the generator ---------------------------------------------------------------------------

class Generator:
    ARGUMENT_RANGE = (-1.0, 1.0)  # the interval the float arguments' values are drawn from
    CONSTANTS = (0.5, 2.0, 3, 1.5, 0.25)  # the literals of scalar leaves

    def __init__(self, rng: random.Random, sizes: dict, env: dict, budget: list[int], helpers: list[str]):
        self.rng = rng
        self.sizes = sizes
        self.env = env  # float parameter name -> Expr (as seen inside the current function)
        # shared with the generators of helper bodies: operations left, helpers defined
        self.budget, self.helpers = budget, helpers
        self.uses_labels = False

    def pick(self, options):
        return self.rng.choice(options)

    def coin(self) -> bool:
        return self.rng.random() < 0.5

    def size(self, shape) -> int:
        return math.prod(self.sizes[d] if isinstance(d, str) else d for d in shape)

    def makers(self) -> list[Callable]:
        """The ways to make an expression of a given shape (each may decline with None)."""
        return [self.unary, self.binary, self.reduction, self.where, self.matmul, self.reshaped,
                self.indexed, self.picked, self.taken, self.joined, self.called]

    def accepts(self, made: Expr) -> bool:
        return made.bound <= BOUND

    def expr(self, shape: tuple, depth: int) -> Expr:
        """A random expression of `shape`, at most `depth` operations deep."""
        makers = self.makers()
        if depth > 0 and self.budget[0] > 0 and self.rng.randint(0, 3) > 0:
            self.budget[0] -= 1
            for maker in self.rng.sample(makers, len(makers)):
                made = maker(shape, depth - 1)
                if made is not None and self.accepts(made):
                    return made
        return self.leaf(shape)

    # leaves
    def leaf(self, shape) -> Expr:
        names = [p for p in self.env if self.env[p].shape == shape]
        flipped = [p for p in self.env if len(shape) == 2 and self.env[p].shape == shape[::-1]]
        options = names + [f"{p}.T" for p in flipped] + (["const"] if shape == () else [])
        if not options:
            return self.outer_leaf(shape)
        choice = self.pick(options)
        if choice == "const":
            value = self.pick(self.CONSTANTS)
            return Expr(repr(value), ATOM, (), value, value, lambda env, v=value: np.float64(v))
        if choice.endswith(".T"):
            p = self.env[choice[:-2]]
            return Expr(f"{p.text}.T", ATOM, shape, p.lo, p.hi, lambda env, p=p: p.run(env).T)
        return self.env[choice]

    def outer_leaf(self, shape) -> Expr:
        """A tensor of any shape from the vector parameters: the product of c or b reshaped
        along each n or d axis (so [n, n] is c[i] * c[j], and [n, 1] is c as a column)."""
        factors = []
        for i, dim in enumerate(shape):
            if dim != 1:
                v = self.env[{"n": "c", "d": "b"}[dim]]
                target = tuple(dim if j == i else 1 for j in range(len(shape)))
                factors.append((v, target))
        if not factors:
            v, target = self.env["s"], shape
        sizes = [tuple(self.sizes.get(d, 1) for d in t) for _, t in factors or [(None, target)]]
        texts = [f"reshape({v.text}, {_tuple(t)})" for v, t in factors or [(v, target)]]
        bound = math.prod(v.bound for v, _ in factors) if factors else v.bound
        vectors = [v for v, _ in factors] or [v]

        def run(env):
            out = np.float64(1.0)
            for v, size in zip(vectors, sizes):
                out = out * v.run(env).reshape(size)
            return out

        return Expr(" * ".join(texts), TERM if len(texts) > 1 else ATOM, shape, -bound, bound, run)

    # elementwise
    def positive(self, e: Expr) -> Expr:
        """e itself if its values are >= 0.2, else an expression of e that is."""
        if e.lo >= 0.2:
            return e
        if self.coin():
            return Expr(f"1.0 + {_wrap(e, TERM)} * {_wrap(e, TERM, True)}", ARITH, e.shape,
                        1.0, 1.0 + e.bound ** 2, lambda env: 1.0 + e.run(env) * e.run(env))
        return Expr(f"sigmoid({e.text}) + 0.5", ARITH, e.shape, 0.5, 1.5,
                    lambda env: 1 / (1 + np.exp(-e.run(env))) + 0.5)

    def unary(self, shape, depth) -> Expr | None:
        e = self.expr(shape, depth)
        name = self.pick(["tanh", "sigmoid", "sin", "cos", "exp", "log", "sqrt", "neg", "square", "pow", "abs"])
        if name == "tanh":
            return Expr(f"tanh({e.text})", ATOM, shape, math.tanh(e.lo), math.tanh(e.hi), lambda env: np.tanh(e.run(env)))
        if name == "sigmoid":
            def sig(x):
                return 1 / (1 + math.exp(-x))
            return Expr(f"sigmoid({e.text})", ATOM, shape, sig(e.lo), sig(e.hi),
                        lambda env: 1 / (1 + np.exp(-e.run(env))))
        if name in ("sin", "cos"):
            return Expr(f"{name}({e.text})", ATOM, shape, -1.0, 1.0, lambda env: getattr(np, name)(e.run(env)))
        if name == "exp":
            if e.hi > 4:
                return None
            return Expr(f"exp({e.text})", ATOM, shape, math.exp(e.lo), math.exp(e.hi), lambda env: np.exp(e.run(env)))
        if name in ("log", "sqrt"):
            p = self.positive(e)
            f = getattr(math, name)
            return Expr(f"{name}({p.text})", ATOM, shape, f(p.lo), f(p.hi), lambda env: getattr(np, name)(p.run(env)))
        if name == "neg":
            return Expr(f"-{_wrap(e, UNARY)}", UNARY, shape, -e.hi, -e.lo, lambda env: -e.run(env))
        if name == "square":
            lo = 0.0 if e.lo <= 0 <= e.hi else min(e.lo ** 2, e.hi ** 2)
            return Expr(f"{_wrap(e, POWER, True)} ** 2", POWER, shape, lo, e.bound ** 2, lambda env: e.run(env) ** 2)
        if name == "pow":
            p = self.positive(e)
            return Expr(f"{_wrap(p, POWER, True)} ** 1.5", POWER, shape, p.lo ** 1.5, p.hi ** 1.5,
                        lambda env: p.run(env) ** 1.5)
        if e.lo <= 0 <= e.hi:  # abs is smooth only away from 0
            return None
        return Expr(f"abs({e.text})", ATOM, shape, min(abs(e.lo), abs(e.hi)), e.bound, lambda env: np.abs(e.run(env)))

    def operand_shapes(self, shape) -> tuple:
        """Two shapes that broadcast to `shape`, numpy-style."""
        def one():
            kind = self.pick(["same", "same", "suffix", "ones"])
            if kind == "suffix" and shape:
                return shape[self.rng.randint(1, len(shape)):]
            if kind == "ones" and shape:
                i = self.rng.randint(0, len(shape) - 1)
                return shape[:i] + (1,) + shape[i + 1:]
            return shape
        for _ in range(4):
            s1, s2 = one(), one()
            if broadcast(s1, s2) == shape:
                return s1, s2
        return shape, shape

    def binary(self, shape, depth) -> Expr | None:
        s1, s2 = self.operand_shapes(shape)
        x, y = self.expr(s1, depth), self.expr(s2, depth)
        op = self.pick(["+", "-", "*", "/", "maximum", "minimum"])
        if op == "+":
            return Expr(f"{_wrap(x, ARITH)} + {_wrap(y, ARITH, True)}", ARITH, shape, x.lo + y.lo, x.hi + y.hi,
                        lambda env: x.run(env) + y.run(env))
        if op == "-":
            return Expr(f"{_wrap(x, ARITH)} - {_wrap(y, ARITH, True)}", ARITH, shape, x.lo - y.hi, x.hi - y.lo,
                        lambda env: x.run(env) - y.run(env))
        if op == "*":
            lo, hi = _interval([x.lo * y.lo, x.lo * y.hi, x.hi * y.lo, x.hi * y.hi])
            return Expr(f"{_wrap(x, TERM)} * {_wrap(y, TERM, True)}", TERM, shape, lo, hi,
                        lambda env: x.run(env) * y.run(env))
        if op == "/":
            d = self.positive(y)
            lo, hi = _interval([x.lo / d.lo, x.lo / d.hi, x.hi / d.lo, x.hi / d.hi])
            return Expr(f"{_wrap(x, TERM)} / {_wrap(d, TERM, True)}", TERM, shape, lo, hi,
                        lambda env: x.run(env) / d.run(env))
        if x.hi >= y.lo and y.hi >= x.lo:  # overlapping: ties make max/min unsmooth
            return None
        fn = np.maximum if op == "maximum" else np.minimum
        lo, hi = (max(x.lo, y.lo), max(x.hi, y.hi)) if op == "maximum" else (min(x.lo, y.lo), min(x.hi, y.hi))
        return Expr(f"{op}({x.text}, {y.text})", ATOM, shape, lo, hi, lambda env: fn(x.run(env), y.run(env)))

    def where(self, shape, depth) -> Expr | None:
        left, right = self.expr(shape, depth), self.expr(self.pick([shape, ()]), depth)
        x, y = self.expr(shape, depth), self.expr(self.pick([shape, shape[1:] if shape else ()]), depth)
        # no == or !=: whether two floats are equal is up to rounding, which f32 changes
        direction = self.pick([">", "<", ">=", "<="])
        compare = {">": np.greater, "<": np.less, ">=": np.greater_equal, "<=": np.less_equal}[direction]
        cond = f"{_wrap(left, ARITH)} {direction} {_wrap(right, ARITH)}"
        return Expr(f"where({cond}, {x.text}, {y.text})", ATOM, shape, min(x.lo, y.lo), max(x.hi, y.hi),
                    lambda env: np.where(compare(left.run(env), right.run(env)), x.run(env), y.run(env)))

    # reductions
    def reduction(self, shape, depth) -> Expr | None:
        if 1 in shape:
            return self.keepdims_reduction(shape, depth)
        if shape == () and self.coin():
            inner = self.expr(self.pick([("n",), ("d",), ("n", "d")]), depth)
            axes, text_axis = tuple(range(len(inner.shape))), ""
        else:
            at = self.rng.randint(0, len(shape))
            inner = self.expr(shape[:at] + (self.pick(["n", "d"]),) + shape[at:], depth)
            axis = self.pick([at, at - len(inner.shape)])
            axes, text_axis = (at,), f", axis={axis}"
        return self._reduce(inner, axes, text_axis, keepdims=False, shape=shape)

    def keepdims_reduction(self, shape, depth) -> Expr:
        at = next(i for i, d in enumerate(shape) if d == 1)
        inner = self.expr(shape[:at] + (self.pick(["n", "d"]),) + shape[at + 1:], depth)
        return self._reduce(inner, (at,), f", axis={at}, keepdims=true", keepdims=True, shape=shape)

    def _reduce(self, inner: Expr, axes, text_axis, keepdims, shape) -> Expr:
        name = self.pick(["sum", "mean", "max", "min"])
        count = self.size(tuple(inner.shape[a] for a in axes))
        if name == "sum":
            lo, hi = (inner.lo * count, inner.hi * count) if count else (0.0, 0.0)
        else:
            lo, hi = inner.lo, inner.hi
        fn = {"sum": np.sum, "mean": np.mean, "max": np.max, "min": np.min}[name]
        return Expr(f"{name}({inner.text}{text_axis})", ATOM, shape, min(lo, hi), max(lo, hi),
                    lambda env: fn(inner.run(env), axis=axes, keepdims=keepdims))

    # linear algebra and shapes
    def matmul(self, shape, depth) -> Expr | None:
        """[p,k] @ [k,q], [p,k] @ [k], [k] @ [k,q] or [k] @ [k], written @ or matmul(...)."""
        if len(shape) > 2 or 1 in shape:
            return None
        k = self.pick(["n", "d"])
        if len(shape) == 2:
            left, right = (shape[0], k), (k, shape[1])
        elif len(shape) == 1:
            left, right = self.pick([((shape[0], k), (k,)), ((k,), (k, shape[0]))])
        else:
            left, right = (k,), (k,)
        x, y = self.expr(left, depth), self.expr(right, depth)
        m = self.sizes[k] * x.bound * y.bound
        if self.coin():
            return Expr(f"{_wrap(x, TERM)} @ {_wrap(y, TERM, True)}", TERM, shape, -m, m,
                        lambda env: x.run(env) @ y.run(env))
        return Expr(f"matmul({x.text}, {y.text})", ATOM, shape, -m, m, lambda env: x.run(env) @ y.run(env))

    def reshaped(self, shape, depth) -> Expr | None:
        if len(shape) == 2:
            e = self.expr(shape[::-1], depth)
            if self.coin():
                return Expr(f"{_wrap(e, ATOM)}.T", ATOM, shape, e.lo, e.hi, lambda env: e.run(env).T)
            return Expr(f"transpose({e.text})", ATOM, shape, e.lo, e.hi, lambda env: np.transpose(e.run(env)))
        if 1 in shape:
            at = shape.index(1)
            e = self.expr(shape[:at] + shape[at + 1:], depth)
            return Expr(f"expand_dims({e.text}, {at})", ATOM, shape, e.lo, e.hi,
                        lambda env: np.expand_dims(e.run(env), at))
        if shape == ():
            e = self.expr(("n", "d"), depth)
            m = self.size(("n", "d")) * e.bound
            return Expr(f"sum(reshape({e.text}, (-1,)))", ATOM, (), -m, m, lambda env: np.sum(e.run(env).reshape(-1)))
        return None

    def indexed(self, shape, depth) -> Expr | None:
        if 1 in shape or len(shape) >= 2:
            return None
        k = self.pick(["n", "d"])
        where = self.pick(["first", "last", "slice_sum"])
        if where == "slice_sum":  # x[1:] has n-1 rows, which no signature can name: sum them
            e = self.expr((k,) + shape, depth)
            m = self.sizes[k] * e.bound
            return Expr(f"sum({_wrap(e, ATOM)}[1:], axis=0)", ATOM, shape, -m, m,
                        lambda env: np.sum(e.run(env)[1:], axis=0))
        e = self.expr(shape + (k,), depth)
        i = 0 if where == "first" else -1
        index = f"[..., {i}]" if self.coin() else ("[:, " if shape else "[") + f"{i}]"
        return Expr(f"{_wrap(e, ATOM)}{index}", ATOM, shape, e.lo, e.hi, lambda env: e.run(env)[..., i])

    def picked(self, shape, depth) -> Expr | None:
        """numpy's label picking: z[arange(n), y] with y: i32[n] in [0, d)."""
        if shape != ("n",):
            return None
        z = self.expr(("n", "d"), depth)
        self.uses_labels = True
        return Expr(f"{_wrap(z, ATOM)}[arange(n), y]", ATOM, shape, z.lo, z.hi,
                    lambda env: z.run(env)[np.arange(len(env["y"])), env["y"]])

    def taken(self, shape, depth) -> Expr | None:
        """take(e, y, axis=0) with e: [d, ...] (y's values are in [0, d)), or one_hot(y, d)."""
        if not shape or shape[0] != "n" or 1 in shape:
            return None
        self.uses_labels = True
        if shape == ("n", "d") and self.coin():
            return Expr("one_hot(y, d)", ATOM, shape, 0.0, 1.0,
                        lambda env: np.eye(self.sizes["d"])[env["y"]])
        e = self.expr(("d",) + shape[1:], depth)
        return Expr(f"take({e.text}, y, axis=0)", ATOM, shape, e.lo, e.hi, lambda env: np.take(e.run(env), env["y"], axis=0))

    def joined(self, shape, depth) -> Expr | None:
        """sum(concatenate((x, y), axis=0), axis=0), x and y of shapes [k, ...] and [j, ...]."""
        x, y = self.expr((self.pick(["n", "d"]),) + shape, depth), self.expr((self.pick(["n", "d"]),) + shape, depth)
        m = (self.size(x.shape[:1]) + self.size(y.shape[:1])) * max(x.bound, y.bound)
        return Expr(f"sum(concatenate(({x.text}, {y.text}), axis=0), axis=0)", ATOM, shape, -m, m,
                    lambda env: np.sum(np.concatenate((x.run(env), y.run(env)), axis=0), axis=0))

    def called(self, shape, depth) -> Expr | None:
        """A helper h_k(a, b, c, s, y) -> float[shape] called with expressions: its body is
        generated knowing the intervals of the arguments it is called with."""
        args = {p: self.expr(PARAMS[p], self.rng.randint(0, 1)) for p in PARAMS}
        params = {p: Expr(p, ATOM, PARAMS[p], a.lo, a.hi, lambda env, p=p: env[p]) for p, a in args.items()}
        body = type(self)(self.rng, self.sizes, params, self.budget, self.helpers).expr(shape, depth)
        self.uses_labels = True  # y is passed on, whether the body picks with it or not
        name = f"h{len(self.helpers)}"
        self.helpers.append(f"def {name}({SIGNATURE}) -> {_signature_shape(shape)}:\n    return {body.text}\n")
        call = f"{name}({', '.join(args[p].text for p in PARAMS)}, y)"

        def run(env):
            return body.run({**{p: args[p].run(env) for p in PARAMS}, "y": env["y"]})

        return Expr(call, ATOM, shape, body.lo, body.hi, run)


SIGNATURE = "a: float[n, d], b: float[d], c: float[n], s: float, y: i32[n]"


def _signature_shape(shape) -> str:
    return f"float[{_dims(shape)}]" if shape else "float"


def _tuple(shape) -> str:
    return f"({shape[0]},)" if len(shape) == 1 else f"({_dims(shape)})"


SHAPES = [(), ("n",), ("d",), ("n", "d"), ("d", "n"), ("n", 1)]  # of f's result


@st.composite
def programs(draw, max_depth: int = 4, max_operations: int = 12, generator: type = Generator,
             min_size: int = 1) -> Program:
    """A program made by `generator` (a `Generator` class), with dims n, d >= `min_size`."""
    sizes = {"n": draw(st.integers(min_size, 4)), "d": draw(st.integers(min_size, 4))}
    seed = draw(st.integers(0, 2 ** 32 - 1))
    shape = draw(st.sampled_from(SHAPES))
    depth = draw(st.integers(1, max_depth))
    return make_program(generator, seed, sizes, shape, depth, max_operations, draw(st.integers(0, 2 ** 32 - 1)))


def make_program(generator: type, seed: int, sizes: dict, shape: tuple, depth: int,
                 max_operations: int = 12, value_seed: int = 0) -> Program:
    """The program `generator` makes from `seed`: f of result `shape`, `depth` deep."""
    lo, hi = generator.ARGUMENT_RANGE
    env = {p: Expr(p, ATOM, dims, lo, hi, lambda env, p=p: env[p]) for p, dims in PARAMS.items()}
    gen = generator(random.Random(seed), sizes, env, [max_operations], [])
    out = gen.expr(shape, depth)
    signature = SIGNATURE if gen.uses_labels else SIGNATURE.removesuffix(", y: i32[n]")
    source = "".join(h + "\n" for h in gen.helpers) + (
        f"def f({signature}) -> {_signature_shape(shape)}:\n    return {out.text}\n")
    return Program(source, sizes, gen.uses_labels, out, value_seed)
