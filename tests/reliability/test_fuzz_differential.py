"""Differential fuzzing: every path computes what the reference evaluator computes.

Each random program (`differential.AnyValueGenerator`) runs on inputs holding NaN, ±inf,
±0, huge, tiny and subnormal values, empty dims and out-of-range labels, forward and as
the gradient of its sum w.r.t. the float arguments, on every path (`paths.check_paths`:
the reference, numpy, debug_nans, and Triton on every `TRITON_SHARE`-th example), which
must agree bitwise except where `paths.OTHER_FORMULA` and `paths.ULPS` say otherwise.
"""
from __future__ import annotations

import random

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import ddc
from ddc.ir import PRIMITIVES, f32, f64

from .differential import AnyValueGenerator, Inputs, show
from .fuzzing import RAN, fuzz_settings
from .paths import check_paths
from .programs import PARAMS, SHAPES, SIGNATURE, Program, make_program, programs

FLOAT_ARGS = (0, 1, 2, 3)  # a, b, c, s
TRITON_SHARE = 2  # Triton under its interpreter costs ~70 ms a check, the other paths ~14 ms together


def loss_of(program) -> str:
    """`loss`, the sum of f's values: a scalar to differentiate."""
    params = ", ".join(program.params)
    signature = SIGNATURE if program.uses_labels else SIGNATURE.removesuffix(", y: i32[n]")
    return f"\ndef loss({signature}) -> float:\n    return sum(f({params}))\n"


@fuzz_settings(ci_examples=200)
@given(programs(generator=AnyValueGenerator, min_size=0), st.integers(0, 2 ** 32 - 1),
       st.sampled_from([0.0, 0.1, 0.5]), st.sampled_from([0.0, 0.0, 0.3]), st.sampled_from([f32, f64]))
def test_fuzz_every_path_computes_what_the_reference_computes(program, seed, special, wild, dtype):
    RAN["differential: programs on every path"] += 1
    m = ddc.loads(program.source + loss_of(program), name="fuzzed.dd")
    args = Inputs(seed, special, wild).arguments(program.sizes, list(PARAMS.values()),
                                                 program.uses_labels, dtype.np)
    context = f"{program.source}\n{dtype} arguments:\n{show(args)}"
    triton = RAN["differential: programs on every path"] % TRITON_SHARE == 0
    if triton:
        RAN["differential: also on triton"] += 1
    check_paths(m.f, dtype, args, context, triton)
    check_paths(ddc.grad(m.loss, argnums=FLOAT_ARGS), dtype, args, "the gradient of\n" + context, triton)


# What no `.dd` expression lowers to: the transposes of slicing and gathering, which only
# gradient graphs hold.
GRADIENT_ONLY = {"pad", "scatter_add"}


def test_the_generator_reaches_every_primitive():
    """Programs from seeds 0, 1, ... (compiled, not run) until their forward graphs have
    held every primitive but `GRADIENT_ONLY` and their gradient graphs those; at most 3000."""
    forward_wanted = set(PRIMITIVES) - GRADIENT_ONLY
    forward: set[str] = set()
    backward: set[str] = set()
    for seed in range(3000):
        if forward >= forward_wanted and backward >= GRADIENT_ONLY:
            break
        rng = random.Random(seed)
        program = make_program(AnyValueGenerator, seed, {"n": 2, "d": 3}, rng.choice(SHAPES), rng.randint(1, 4))
        m = ddc.loads(program.source + loss_of(program), name="fuzzed.dd")
        forward.update(n.prim.name for n in m.f.graph_for(f64).nodes)
        backward.update(n.prim.name for n in ddc.grad(m.loss, argnums=FLOAT_ARGS).graph_for(f64).nodes)
    assert forward_wanted - forward == set() and GRADIENT_ONLY - backward == set()


# Programs the fuzzer found disagreeing, with the fixed code's module, each checked on
# every path as the fuzzer checks it (sizes n, d; all-ones f32 arguments unless given).
FOUND = {
    # codegen/numpy/emit.py: a row region whose run began with a broadcast only used after it
    # was emitted after that broadcast's inputs were deleted (UnboundLocalError)
    "region_after_its_first_broadcast": (
        "sum(concatenate((where(expand_dims(reshape(c, (n, 1)) * reshape(c, (1, n)), 2) >= s, "
        "reshape(c, (n, 1, 1)) * reshape(c, (1, n, 1)), reshape(c, (n, 1, 1)) * reshape(c, (1, n, 1))), "
        "expand_dims(where(reshape(c, (n, 1)) * reshape(c, (1, n)) >= s, reshape(c, (n, 1)) * "
        "reshape(c, (1, n)), 0.5), 2)), axis=0), axis=0)", ("n", 1), {"n": 1, "d": 4}),
    # codegen/numpy/blocks.py: a region of broadcasts only used after it had no nodes left
    # and its code called max() of no row sizes
    "region_of_broadcasts_only": (
        "mean((reshape(b, (d, 1)) * reshape(b, (1, d)))[1:], axis=0)", ("d",), {"n": 0, "d": 1}),
    # codegen/triton/kernel.py: the first operand of a concatenate was read along the whole
    # concatenated axis, past its end (a segfault under the interpreter when it is empty)
    "concatenate_reads_past_its_first_operand": (
        "sum(concatenate((reshape(c, (n, 1)) * reshape(c, (1, n)), reshape(b, (d, 1)) * "
        "reshape(c, (1, n))), axis=0), axis=0)", ("n",), {"n": 0, "d": 3}),
    # codegen/numpy/debug.py: a literal finite in Python but inf in f32 counted as finite,
    # so the inf computed from it was reported as news
    "constant_infinite_in_f32": ("1e300 + c", ("n",), {"n": 1, "d": 0}),
    # codegen/numpy/blocks.py: a row region wrote into the rows of c * c, which a broadcast
    # made again after the region still read (d/dc 3.0787, not 3c² + 2c(1 - tanh²(c²)) = 3.1003)
    "donated_input_read_by_a_broadcast_after_the_region": (
        "sum(concatenate((max(reshape(c, (n, 1, 1)) * reshape(c, (1, n, 1)) * reshape(c, (1, 1, n)), "
        "axis=2, keepdims=true), tanh(reshape(c, (n, 1, 1)) * reshape(c, (1, n, 1)))), axis=0), axis=0)",
        ("n", 1), {"n": 1, "d": 0}),
    # codegen/triton/rules.py: min and max `|`-ed a loaded scalar's comparison, a 0-d bool,
    # with a block's, which the interpreter cannot (a TypeError from bitwise_or)
    "extremum_of_a_loaded_scalar": ("minimum(s, a.T)[:, 0]", ("d",), {"n": 2, "d": 2}),
}


@pytest.mark.parametrize("name", FOUND)
def test_what_the_fuzzer_found_agrees_on_every_path(name):
    body, shape, sizes = FOUND[name]
    signature = SIGNATURE.removesuffix(", y: i32[n]")
    source = f"def f({signature}) -> float[{', '.join(map(str, shape))}]:\n    return {body}\n"
    program = Program(source, sizes, False, None, 0)
    m = ddc.loads(source + loss_of(program), name="found.dd")
    for n_extra in (0, 2):  # the sizes found, and larger ones
        dims = {k: v + n_extra for k, v in sizes.items()}
        args = Inputs(7, 0.0, 0.0).arguments(dims, list(PARAMS.values()), False, np.float32)
        context = f"{source}\narguments:\n{show(args)}"
        check_paths(m.f, f32, args, context, triton=True)
        check_paths(ddc.grad(m.loss, argnums=FLOAT_ARGS), f32, args, context, triton=True)
