"""One row per primitive use, like JAX's `grad_test_spec`: a small graph around the
primitive, and argument values inside its smooth domain. The autodiff suite (and any
backend suite) runs every row; `test_rule_tables` checks every primitive has a row."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ddc import ir
from ddc.ir import Builder, TensorType, Value, f64, i32


@dataclass
class Case:
    name: str
    prim: str
    build: Callable[[Builder, list[Value]], Value]
    arg_types: list[TensorType]
    make_args: Callable[[np.random.Generator], list[np.ndarray]]

    def graph(self) -> ir.Graph:
        b = Builder()
        inputs = [Value(t, f"a{i}") for i, t in enumerate(self.arg_types)]
        return ir.verify(b.graph(inputs, [self.build(b, inputs)], self.name))

    def args(self, seed: int = 0) -> list[np.ndarray]:
        values = self.make_args(np.random.default_rng(seed))
        return [np.asarray(v, dtype=t.dtype.np) for v, t in zip(values, self.arg_types)]


def T(*shape, dtype=f64) -> TensorType:
    return TensorType(dtype, shape)


def normal(*shapes):
    return lambda rng: [rng.standard_normal(s) for s in shapes]


def positive(*shapes):
    return lambda rng: [rng.uniform(0.5, 2.0, s) for s in shapes]


def distinct(*shapes):
    """Values far apart, so max/min/abs/sign are smooth around them."""
    def make(rng):
        out, offset = [], 0.0
        for s in shapes:
            n = int(np.prod(s))
            vals = (rng.permutation(n) + offset + 0.5) * 0.37 * rng.choice([-1, 1], n)
            out.append(vals.reshape(s))
            offset += 0.13
        return out

    return make


def _unary(name, make=normal):
    return Case(name, name, lambda b, a: b.bind(name, a[0]), [T(3, 4)], make((3, 4)))


def _binary(name, make=normal):
    return Case(name, name, lambda b, a: b.bind(name, a[0], a[1]), [T(3, 4), T(3, 4)],
                make((3, 4), (3, 4)))


def _iota_times(b, a):
    ramp = b.convert(b.iota(shape=(3, 4), dimension=1, dtype=i32), dtype=f64)
    return b.mul(a[0], ramp)


def _with_constant(b, a):
    return b.mul(a[0], b.full(2.5, a[0].type))


def _select(b, a):
    return b.select(b.compare(a[0], a[1], direction="gt"), b.exp(a[0]), b.sin(a[1]))


CASES: list[Case] = [
    *[_unary(n) for n in ("exp", "tanh", "logistic", "sin", "cos", "erf", "neg")],
    *[_unary(n, positive) for n in ("log", "log1p", "sqrt")],
    *[_unary(n, distinct) for n in ("abs", "sign")],
    *[_binary(n) for n in ("add", "sub", "mul")],
    _binary("div", positive),
    _binary("pow", positive),
    *[Case(f"integer_pow_{n}".replace("-", "m"), "integer_pow", lambda b, a, n=n: b.integer_pow(a[0], y=n),
           [T(3, 4)], normal((3, 4)) if n >= 0 else positive((3, 4))) for n in (0, 1, 2, 3, 5, -1, -3)],
    *[_binary(n, distinct) for n in ("max", "min")],
    Case("compare_select", "compare", _select, [T(3, 4), T(3, 4)], distinct((3, 4), (3, 4))),
    Case("select", "select",
         lambda b, a: b.select(a[2], a[0], a[1]),
         [T(3, 4), T(3, 4), T(3, 4, dtype=ir.bool_)],
         lambda rng: [rng.standard_normal((3, 4)), rng.standard_normal((3, 4)), rng.random((3, 4)) < 0.5]),
    Case("convert", "convert",
         lambda b, a: b.mul(a[0], b.convert(a[1], dtype=f64)),
         [T(3, 4), T(3, 4, dtype=i32)],
         lambda rng: [rng.standard_normal((3, 4)), rng.integers(-3, 4, (3, 4))]),
    Case("stop_gradient", "stop_gradient",
         lambda b, a: b.add(a[0], b.stop_gradient(b.full(0.0, a[0].type))), [T(3)], normal((3,))),
    Case("broadcast_new_dim", "broadcast_in_dim",
         lambda b, a: b.broadcast_in_dim(a[0], shape=(2, 3), broadcast_dimensions=(1,)), [T(3)], normal((3,))),
    Case("broadcast_stretch", "broadcast_in_dim",
         lambda b, a: b.broadcast_in_dim(a[0], shape=(3, 4), broadcast_dimensions=(0, 1)), [T(3, 1)], normal((3, 1))),
    Case("reshape", "reshape", lambda b, a: b.reshape(a[0], shape=(3, 2)), [T(2, 3)], normal((2, 3))),
    Case("transpose", "transpose", lambda b, a: b.transpose(a[0], permutation=(1, 2, 0)), [T(2, 3, 4)],
         normal((2, 3, 4))),
    Case("reduce_sum", "reduce_sum", lambda b, a: b.reduce_sum(a[0], axes=(0, 2)), [T(2, 3, 4)],
         normal((2, 3, 4))),
    Case("reduce_max", "reduce_max", lambda b, a: b.reduce_max(a[0], axes=(1,)), [T(3, 4)], distinct((3, 4))),
    Case("matmul", "dot_general",
         lambda b, a: b.dot_general(a[0], a[1], contract=((1,), (0,)), batch=((), ())),
         [T(2, 3), T(3, 4)], normal((2, 3), (3, 4))),
    Case("batched_dot", "dot_general",
         lambda b, a: b.dot_general(a[0], a[1], contract=((1,), (2,)), batch=((0,), (1,))),
         [T(2, 3, 4), T(5, 2, 3)], normal((2, 3, 4), (5, 2, 3))),
    Case("slice", "slice",
         lambda b, a: b.slice(a[0], start=(1, 0), limit=(6, 4), stride=(2, 3)), [T(7, 4)], normal((7, 4))),
    Case("pad", "pad",
         lambda b, a: b.pad(a[0], low=(1, 0), high=(2, 1), interior=(1, 0)), [T(3, 2)], normal((3, 2))),
    Case("concatenate", "concatenate",
         lambda b, a: b.concatenate(a[0], a[1], a[0], axis=1), [T(2, 3), T(2, 1)], normal((2, 3), (2, 1))),
    Case("gather", "gather",
         lambda b, a: b.gather(a[0], a[1], axis=0, batch_dims=0), [T(4, 3), T(5, dtype=i32)],
         lambda rng: [rng.standard_normal((4, 3)), rng.integers(0, 4, 5)]),
    Case("gather_batched", "gather",
         lambda b, a: b.gather(a[0], a[1], axis=1, batch_dims=1), [T(4, 3), T(4, dtype=i32)],
         lambda rng: [rng.standard_normal((4, 3)), rng.integers(0, 3, 4)]),
    Case("scatter_add", "scatter_add",
         lambda b, a: b.scatter_add(a[0], a[1], axis=0, batch_dims=0, shape=(4, 3)),
         [T(5, 3), T(5, dtype=i32)],
         lambda rng: [rng.standard_normal((5, 3)), rng.integers(0, 4, 5)]),
    Case("iota", "iota", _iota_times, [T(3, 4)], normal((3, 4))),
    Case("constant", "constant", _with_constant, [T(3, 4)], normal((3, 4))),
]
