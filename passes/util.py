"""What every pass shares: `traced` (DDC_DEBUG=1 prints the IR after each named pass)."""
from __future__ import annotations

import functools
import os
import sys


def debug_enabled() -> bool:
    return os.environ.get("DDC_DEBUG", "") not in ("", "0")


def traced(name: str):
    """Wrap a pass so that, with DDC_DEBUG=1, its result graph(s) go to stderr."""

    def wrap(fn):
        @functools.wraps(fn)
        def run(*args, **kwargs):
            result = fn(*args, **kwargs)
            if debug_enabled():
                for g in _graphs_in(result):
                    print(f"# after {name}\n{g}", file=sys.stderr)
            return result

        return run

    return wrap


def _graphs_in(result) -> list:
    """The graphs a pass returned: itself, or those in its tuple or result record."""
    if hasattr(result, "nodes"):
        return [result]
    items = result if isinstance(result, tuple) else getattr(result, "__dict__", {}).values()
    return [g for g in items if hasattr(g, "nodes")]
