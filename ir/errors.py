"""The root of ddc's error hierarchy, `DDError` with its source `Span`, and the errors the
IR itself raises (`IRError`, `CallError`, `DDIndexError`). They live here, on the ground
floor, so `ir/` needs nothing above it; `ddc.errors` re-exports them beside the front
end's errors, and that is the path to import them from outside `ir/`.

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
        # lines as the parser counts them: only "\n" ends one (not "\f", "\x1c", "\u2028")
        lines = self.source.split("\n")
        return lines[self.line - 1].rstrip("\r") if 0 < self.line <= len(lines) else ""

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


class CallError(DDError):
    """Arguments that do not match a compiled function's signature."""

    kind = "call error"


class DDIndexError(CallError):
    """An index outside its dim at call time: an integer tensor index not in [0, n), or a
    constant index/slice bound that a symbolic dim is too small for (`x[-5]` at n = 3).
    Every path (reference evaluator, numpy, debug_nans, Triton) raises it, at the span of
    the indexing expression."""

    kind = "index error"


class IRError(DDError):
    """Malformed IR: verifier failures and unreadable IR text."""

    kind = "IR error"


QUOTE_WIDTH = 100  # a longer source line is quoted as a window around the caret


def format_error(err: DDError) -> str:
    head = f"{err.span}: {err.kind}: {err.message}" if err.span else f"{err.kind}: {err.message}"
    parts = [head]
    if err.span is not None and err.span.line_text():
        parts += _quote(err.span)
    if err.hint:
        parts.append(f"hint: {err.hint}")
    return "\n".join(parts)


def _quote(span: Span) -> list[str]:
    """The span's line and a caret under it. Characters that a terminal would not show as
    one visible cell (controls, bidi overrides) are shown as U+FFFD, so the quote looks
    like the text the parser read; tabs are kept so the caret lines up."""
    text = "".join(c if c.isprintable() or c == "\t" else "\ufffd" for c in span.line_text())
    start = min(max(span.col - 1, 0), len(text))
    width = span.end_col - span.col if span.end_line == span.line and span.end_col > span.col else 1
    width = max(1, min(width, len(text) - start))
    first, last = 0, len(text)
    if len(text) > QUOTE_WIDTH:
        first = max(0, start - QUOTE_WIDTH // 3)
        last = min(len(text), first + QUOTE_WIDTH)
        width = max(1, min(width, last - start))
    shown = ("..." if first else "") + text[first:last] + ("..." if last < len(text) else "")
    lead = ("   " if first else "") + "".join(c if c == "\t" else " " for c in text[first:start])
    gutter = f"{span.line:>4} | "
    return [gutter + shown, " " * len(gutter) + lead + "^" * width]
