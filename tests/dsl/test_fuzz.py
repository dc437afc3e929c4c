"""Bad input never escapes as a bare Python exception: mutated programs either load and
lower, or fail with a DDError that carries a message."""
from __future__ import annotations

import random

import pytest

from ddc import DDError, ir
from ddc.dsl import loads

from .test_numbers import CALLS
from .test_transform_exprs import SOURCE

PIECES = ["x", "(", ")", "[", "]", ",", ":", "-", "**", "@", "*", "/", "+", "0", "1", "-1", "2.5", "n", "d",
          "None", "...", "true", "sum(", "axis=", "grad(", "vmap(", "in_axes=", "argnums=", "\n", "    ", "def",
          "return", "=", ".T", "i32", "f32[n]", "float", "[:, 0]", "[::2]", "reshape(", "(0, None)", "eye(", "1e400",
          "10**100", "#", "import", "@ x"]


def mutate(rng: random.Random, source: str) -> str:
    for _ in range(rng.randint(1, 3)):
        at = rng.randrange(len(source) + 1)
        choice = rng.random()
        if choice < 0.3:
            source = source[:at] + source[at + rng.randint(1, 4):]
        elif choice < 0.8:
            source = source[:at] + rng.choice(PIECES) + source[at:]
        else:
            lines = source.split("\n")
            lines.insert(rng.randrange(len(lines)), rng.choice(lines))
            source = "\n".join(lines)
    return source


@pytest.mark.parametrize("seed", range(3))
def test_mutated_programs_fail_only_with_ddc_errors(seed):
    rng = random.Random(seed)
    for _ in range(50):
        source = mutate(rng, rng.choice([SOURCE, CALLS]))
        try:
            program = loads(source)
            for fn in program.functions.values():
                program.lower(fn, ir.f32)
        except DDError as e:
            assert e.message and str(e)


def test_absurdly_deep_expressions_are_errors():
    source = "def f(x: f32) -> f32:\n    return " + "-(" * 400 + "x" + ")" * 400 + "\n"
    with pytest.raises(DDError, match="nested too deeply"):
        loads(source).lower("f")
