"""Identifiers and labels for generated code, built so that no user text can inject code.

Every identifier in generated source is minted here as `<stem>_<k>`: the stem keeps only
the ASCII letters and digits of a hint (a DSL variable or dim name), capped in length, and
`k` counts up per function. The stem has no underscore, so the `_<k>` suffix makes each
minted name distinct from every other one, and no minted name can be a keyword, a builtin,
`np`, a dunder, or a name the runtime defines (those never end in `_<digits>`).

Messages shown to users (argument errors) may quote DSL names: `label` lets an ASCII
identifier through as it is and replaces anything else, and the text is then emitted with
`repr`, so it is a string literal and never code.
"""
from __future__ import annotations

import keyword
import re

STEM_LIMIT = 24
LABEL_LIMIT = 64
_NOT_ALNUM = re.compile(r"[^A-Za-z0-9]")
MINTED = re.compile(r"[A-Za-z][A-Za-z0-9]*_[0-9]+")  # the shape of every minted name


def stem(hint: str | None, fallback: str) -> str:
    """The hint's ASCII letters and digits, capped; `fallback` when none are left."""
    text = _NOT_ALNUM.sub("", hint or "")[:STEM_LIMIT]
    if not text:
        return fallback
    return text if text[0].isalpha() else "v" + text[: STEM_LIMIT - 1]


class Minter:
    """Hands out the identifiers of one generated function, in a deterministic order."""

    def __init__(self):
        self.count = 0

    def __call__(self, hint: str | None, fallback: str = "t") -> str:
        name = f"{stem(hint, fallback)}_{self.count}"
        self.count += 1
        return name


def label(name: str | None, fallback: str) -> str:
    """`name` for use in a message if it is a short ASCII identifier, else `fallback`."""
    if name and name.isascii() and name.isidentifier() and len(name) <= LABEL_LIMIT:
        return name
    return fallback


def export_name(name, taken: set[str]) -> str:
    """`name`, if it can name the function of an exported module: an ASCII identifier that
    is not a keyword, a dunder, or in `taken` (builtins, names the module defines)."""
    if (not isinstance(name, str) or not name.isascii() or not name.isidentifier()
            or keyword.iskeyword(name) or name in taken or name.startswith("__")):
        raise ValueError(
            f"{name!r} cannot name the exported function: use an ASCII identifier that is "
            f"not a keyword, a builtin, a dunder, or a name the module defines")
    return name
