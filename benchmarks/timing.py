"""Timing that holds up on a shared, noisy machine: interleaved rounds, medians."""
from __future__ import annotations

import statistics
import time

ROUND_BUDGET_S = 10.0  # per call site (a workload's forward, say), all libraries together


def time_interleaved(calls: dict[str, callable], warmup: int = 2,
                     budget_s: float = ROUND_BUDGET_S) -> dict[str, float]:
    """Median milliseconds per call; rounds call every library once, in turn, the order
    rotating from round to round: a library's worker threads can keep spinning after its
    call (OpenMP's do, for milliseconds), which slows whichever library runs next."""
    for call in calls.values():
        for _ in range(warmup):
            call()
    probe = {}
    for lib, call in calls.items():
        start = time.perf_counter()
        call()
        probe[lib] = time.perf_counter() - start
    rounds = int(min(60, max(8, budget_s / sum(probe.values()))))
    rounds = -(-rounds // len(calls)) * len(calls)  # every library in every place as often
    samples: dict[str, list[float]] = {lib: [] for lib in calls}
    order = list(calls.items())
    for r in range(rounds):
        for lib, call in order[r % len(order):] + order[:r % len(order)]:
            start = time.perf_counter()
            call()
            samples[lib].append((time.perf_counter() - start) * 1e3)
    return {lib: statistics.median(s) for lib, s in samples.items()}
