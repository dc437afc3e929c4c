"""Where a ddc-generated function spends its time, statement by statement.

`statement_times(fn, args)` runs the numpy source of a compiled ddc function with a clock
read after every top-level statement of the function (row blocks count as the one line
that runs them) and returns the median milliseconds of each, largest first. `cpu.py`
prints these for every workload where ddc is not the fastest, so the report says where
the time goes rather than guessing.
"""
from __future__ import annotations

import statistics
import time

_CLOCK = "clock_"  # not of the minted shape (`name_<digits>`): cannot clash with ddc's names


def _instrumented(source: str) -> tuple[str, list[str]]:
    """The source with `_T.append(clock())` after each statement of the last function."""
    head, found, body = source.rpartition("\ndef ")  # the function comes after its row blocks
    lines = ("def " + body if found else source).splitlines()
    out = [lines[0], f"    {_CLOCK}t = [{_CLOCK}()]"]
    statements = []
    for line in lines[1:]:
        stripped = line.strip()
        top = line.startswith("    ") and not line.startswith("     ")
        if top and stripped.startswith("return "):
            out.append(f"    {_CLOCK}r = {stripped[len('return '):]}")
            out.append(f"    {_CLOCK}t.append({_CLOCK}())")
            statements.append("return")
            out.append(f"    return {_CLOCK}t")
            continue
        out.append(line)
        if top and not stripped.startswith(("if ", "raise ", "del ")):
            out.append(f"    {_CLOCK}t.append({_CLOCK}())")
            statements.append(stripped.split("  #")[0])
    return (head + "\n" if head else "") + "\n".join(out) + "\n", statements


def statement_times(fn, args, repeats: int = 9) -> list[tuple[float, str]]:
    from ddc.codegen.numpy import backend

    source, statements = _instrumented(fn.compiled().source)
    namespace = dict(backend._RUNTIME_NAMES)
    namespace[_CLOCK] = time.perf_counter
    exec(compile(source, "<ddc-profile>", "exec"), namespace)
    run = namespace[backend._TOP_LEVEL_DEF.findall(source)[-1]]
    samples = []
    for _ in range(repeats):
        stamps = run(*args)
        samples.append([(b - a) * 1e3 for a, b in zip(stamps, stamps[1:])])
    medians = [statistics.median(column) for column in zip(*samples)]
    return sorted(zip(medians, statements), reverse=True)
