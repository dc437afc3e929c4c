"""What the fuzz tests share: their example budget and the count of examples each ran
(printed at the end of every pytest run by `conftest.pytest_terminal_summary`).

CI runs a small, deterministic budget; a longer run draws fresh examples, e.g.

    DDC_FUZZ_EXAMPLES=5000 python -m pytest tests/reliability -k fuzz
"""
from __future__ import annotations

import os
from collections import Counter

from hypothesis import HealthCheck, settings

EXAMPLES_VAR = "DDC_FUZZ_EXAMPLES"
RAN: Counter = Counter()  # fuzz test -> examples it ran in this session


def fuzz_settings(ci_examples: int) -> settings:
    """`ci_examples`, derandomized, by default; DDC_FUZZ_EXAMPLES fresh ones when it is set."""
    requested = os.environ.get(EXAMPLES_VAR)
    return settings(
        max_examples=int(requested) if requested else ci_examples,
        derandomize=not requested,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
