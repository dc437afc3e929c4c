"""What exported modules of either backend share: the runtime file, embedded as text."""
from __future__ import annotations

from pathlib import Path

from . import runtime as shared_runtime

SHARED_IMPORT = "from ddc.codegen.common.runtime import"


def embedded_runtime(path: str) -> str:
    """The text of the runtime file at `path` with its one import of the shared runtime
    (that statement, which may run over several lines in parentheses) replaced by the
    shared runtime's own text, so the module needs no ddc."""
    lines = Path(path).read_text().splitlines()
    (at,) = [k for k, line in enumerate(lines) if line.startswith(SHARED_IMPORT)]
    end = at
    if lines[at].split("#")[0].rstrip().endswith("("):
        while ")" not in lines[end].split("#")[0]:
            end += 1
    shared = Path(shared_runtime.__file__).read_text().rstrip("\n")
    return "\n".join(lines[:at] + [shared] + lines[end + 1:]) + "\n"
