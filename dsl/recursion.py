"""No function of a program calls itself, directly or through others: a depth-first walk
over the call graph the checker recorded (`FunctionInfo.calls`)."""
from __future__ import annotations

from collections.abc import Callable

from ddc.errors import DDTypeError

from .checked import FunctionInfo
from .program import FunctionDef


def check_no_recursion(functions: list[FunctionDef], info: Callable[[FunctionDef], FunctionInfo]) -> None:
    """Depth-first over the call graph, with an explicit stack: a chain of thousands of
    functions calling each other is no recursion here."""
    state: dict[FunctionDef, str] = {}
    for root in functions:
        if root in state:
            continue
        state[root], path, pending = "active", [root], [iter(info(root).calls)]
        while pending:
            step = next(pending[-1], None)
            if step is None:
                state[path.pop()] = "done"
                pending.pop()
                continue
            callee, span = step
            if state.get(callee) == "active":
                cycle = path[path.index(callee):] + [callee]
                raise DDTypeError(
                    "recursive call: " + " -> ".join(f.name for f in cycle)
                    + "; ddc functions cannot call themselves", span,
                    hint="unroll the recursion, or express it with vmap or a reduction",
                )
            if callee not in state:
                state[callee] = "active"
                path.append(callee)
                pending.append(iter(info(callee).calls))
