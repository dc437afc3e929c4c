"""Every error ddc reports: one hierarchy rooted at `DDError`, each carrying a source span.

A message reads like a good compiler's: `file:line:col: error: what`, the source line, a
caret under the offending text, and (where we know it) a hint saying what to change.
Errors raised far from the parser (inside a pass, at call time) still point at the `.dd`
source because lowering copies spans onto IR nodes.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Span:
    """A region of one source file; lines and columns are 1-based, `end_col` exclusive."""

    file: str
    line: int
    col: int
    end_line: int
    end_col: int
    source: str = field(default="", repr=False, compare=False)  # the file, to quote its line

    def line_text(self) -> str:
        lines = self.source.splitlines()
        return lines[self.line - 1] if 0 < self.line <= len(lines) else ""

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


class DDError(Exception):
    """Base of every error ddc raises on bad input."""

    kind = "error"

    def __init__(self, message: str, span: Span | None = None, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.span = span
        self.hint = hint

    @property
    def file(self) -> str | None:
        return self.span.file if self.span else None

    @property
    def line(self) -> int | None:
        return self.span.line if self.span else None

    @property
    def col(self) -> int | None:
        return self.span.col if self.span else None

    def __str__(self) -> str:
        return format_error(self)


class DDSyntaxError(DDError):
    kind = "syntax error"


class DDNameError(DDError):
    kind = "name error"


class DDTypeError(DDError):
    """Dtype, shape and arity errors found by the checker."""

    kind = "type error"


class DDImportError(DDError):
    kind = "import error"


class TransformError(DDError):
    """grad of a non-scalar, grad w.r.t. an integer, mismatched vmap sizes, ..."""

    kind = "transform error"


class CallError(DDError):
    """Arguments that do not match a compiled function's signature."""

    kind = "call error"


class IRError(DDError):
    """Malformed IR: verifier failures and unreadable IR text."""

    kind = "IR error"


class NumericsError(DDError):
    """A NaN or inf found by `debug_nans`."""

    kind = "numerics error"


def format_error(err: DDError) -> str:
    head = f"{err.span}: {err.kind}: {err.message}" if err.span else f"{err.kind}: {err.message}"
    parts = [head]
    if err.span is not None:
        text = err.span.line_text()
        if text:
            width = (
                err.span.end_col - err.span.col
                if err.span.end_line == err.span.line and err.span.end_col > err.span.col
                else 1
            )
            width = max(1, min(width, len(text) - err.span.col + 1))
            gutter = f"{err.span.line:>4} | "
            parts.append(gutter + text)
            parts.append(" " * (len(gutter) + err.span.col - 1) + "^" * width)
    if err.hint:
        parts.append(f"hint: {err.hint}")
    return "\n".join(parts)
