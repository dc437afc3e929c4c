"""IR text: `print_graph` writes it, `parse_graph` reads it back (a round trip is exact).

    graph mlp(%x:f32[b,d], %W1:f32[d,h]):
      %0:f32[b,h] = dot_general[contract=((1,),(0,)), batch=((),())] %x %W1
      %h1:f32[b,h] = max %0 %1
      return %h1

Values print under their DSL name where they have one (made unique with a suffix),
else as a number. Tests and bug reports can hold IR literally.
"""
from __future__ import annotations

import math
import re

from ddc.errors import IRError

from . import dims as D
from .core import PRIMITIVES, Builder, Graph, Value
from .dtypes import DTYPES
from .types import TensorType


# -- printing ------------------------------------------------------------------------------

def format_param(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, (tuple, list)):
        inner = ",".join(format_param(x) for x in v)
        return f"({inner},)" if len(v) == 1 else f"({inner})"
    return str(v)  # int, Sym, DType, direction names


class Namer:
    """Assigns each value a unique printable name: its hint if free, else hint_k, else a number."""

    def __init__(self):
        self.names: dict[int, str] = {}
        self.used: set[str] = set()
        self.counter = 0

    def __call__(self, v: Value) -> str:
        if v.id in self.names:
            return self.names[v.id]
        if v.name:
            name, k = v.name, 1
            while name in self.used:
                k += 1
                name = f"{v.name}_{k}"
        else:
            while str(self.counter) in self.used:
                self.counter += 1
            name = str(self.counter)
        self.used.add(name)
        self.names[v.id] = name
        return name


def print_graph(g: Graph) -> str:
    name = Namer()
    args = ", ".join(f"%{name(v)}:{v.type}" for v in g.inputs)
    lines = [f"graph {g.name}({args}):"]
    for n in g.nodes:
        params = ""
        if n.params:
            params = "[" + ", ".join(f"{k}={format_param(v)}" for k, v in n.params.items()) + "]"
        ins = "".join(f" %{name(v)}" for v in n.inputs)
        lines.append(f"  %{name(n.out)}:{n.out.type} = {n.prim.name}{params}{ins}")
    lines.append("  return " + ", ".join(f"%{name(v)}" for v in g.outputs))
    return "\n".join(lines) + "\n"


# -- parsing -------------------------------------------------------------------------------

_HEADER = re.compile(r"^graph\s+([A-Za-z_][\w.]*)\((.*)\):\s*$")
_NODE = re.compile(r"^%([\w.]+):(\w+\[[^\]]*\])\s*=\s*(\w+)(?:\[(.*)\])?((?:\s+%[\w.]+)*)\s*$")
_RETURN = re.compile(r"^return\s*(.*)$")
_TYPE = re.compile(r"^(\w+)\[([^\]]*)\]$")
_NUMBER = re.compile(r"^-?(\d+\.?\d*([eE][-+]?\d+)?|\.\d+([eE][-+]?\d+)?|inf|nan)$")


def _split_top(text: str, sep: str = ",") -> list[str]:
    parts, depth, cur = [], 0, ""
    for ch in text:
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        if ch == sep and depth == 0:
            parts.append(cur.strip())
            cur = ""
        else:
            cur += ch
    if cur.strip():
        parts.append(cur.strip())
    return parts


def parse_type(text: str) -> TensorType:
    m = _TYPE.match(text.strip())
    if not m or m.group(1) not in DTYPES:
        raise IRError(f"bad type {text!r}")
    dims = [D.parse(p) for p in _split_top(m.group(2))]
    return TensorType(DTYPES[m.group(1)], tuple(dims))


def parse_param(key: str, text: str):
    text = text.strip()
    if text.startswith("("):
        if not text.endswith(")"):
            raise IRError(f"bad param {key}={text}")
        return tuple(parse_param(key, p) for p in _split_top(text[1:-1]))
    if text in ("true", "false"):
        return text == "true"
    if _NUMBER.match(text):
        return float(text) if re.search(r"[.eEn]", text) else int(text)
    if key == "dtype":
        if text not in DTYPES:
            raise IRError(f"unknown dtype {text!r}")
        return DTYPES[text]
    if key == "direction":
        return text
    try:
        return D.parse(text)
    except ValueError as e:
        raise IRError(f"bad param {key}={text}: {e}") from None


def _params(text: str | None) -> dict:
    out = {}
    for item in _split_top(text or ""):
        key, eq, value = item.partition("=")
        if not eq:
            raise IRError(f"bad param {item!r}")
        out[key.strip()] = parse_param(key.strip(), value)
    return out


def parse_graph(text: str) -> Graph:
    """Read IR text. Types are recomputed by the type rules and must match what is written."""
    lines = [l.strip() for l in text.strip().splitlines() if l.strip()]
    if not lines:
        raise IRError("empty IR text")
    head = _HEADER.match(lines[0])
    if not head:
        raise IRError(f"expected 'graph NAME(...):', got {lines[0]!r}")
    env: dict[str, Value] = {}

    def define(name: str, v: Value) -> None:
        if name in env:
            raise IRError(f"%{name} defined twice")
        v.name = None if name.isdigit() else name
        env[name] = v

    def use(name: str) -> Value:
        if name not in env:
            raise IRError(f"%{name} used before definition")
        return env[name]

    inputs = []
    for arg in _split_top(head.group(2)):
        name, _, ty = arg.partition(":")
        v = Value(parse_type(ty))
        define(name.strip().lstrip("%"), v)
        inputs.append(v)
    b = Builder()
    outputs = None
    for line in lines[1:]:
        if (r := _RETURN.match(line)):
            outputs = [use(x.strip().lstrip("%")) for x in _split_top(r.group(1))]
            continue
        m = _NODE.match(line)
        if not m or outputs is not None:
            raise IRError(f"cannot read IR line {line!r}")
        name, ty, prim, params, ins = m.groups()
        if prim not in PRIMITIVES:
            raise IRError(f"unknown primitive {prim!r}")
        args = [use(x.lstrip("%")) for x in ins.split()]
        v = b.bind(prim, *args, **_params(params))
        if v.type != parse_type(ty):
            raise IRError(f"%{name}: written type {ty} but {prim} gives {v.type}")
        define(name, v)
    if outputs is None:
        raise IRError("missing 'return'")
    return b.graph(inputs, outputs, head.group(1))
