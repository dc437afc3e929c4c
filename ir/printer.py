"""IR text: `print_graph` writes it, `parse_graph` reads it back (a round trip is exact).

    graph mlp(%x:f32[b,d], %W1:f32[d,h]):
      %0:f32[b,h] = dot_general[contract=((1,),(0,)), batch=((),())] %x %W1
      %h1:f32[b,h] = max %0 %1
      return %h1

A graph with dim parameters (`Graph.dim_params`: dims no input axis binds, which the
caller passes) lists them after its name: `graph vjp_f[d,n](%ct:f32[]):`.

Values print under their DSL name where they have one (made unique with a suffix),
else as a number. Tests and bug reports can hold IR literally.
"""
from __future__ import annotations

import math
import re

from .errors import DDError, IRError, Span

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
    dims = g.dim_params()
    lines = [f"graph {g.name}{'[' + ','.join(dims) + ']' if dims else ''}({args}):"]
    for n in g.nodes:
        params = ""
        if n.params:
            params = "[" + ", ".join(f"{k}={format_param(v)}" for k, v in n.params.items()) + "]"
        ins = "".join(f" %{name(v)}" for v in n.inputs)
        lines.append(f"  %{name(n.out)}:{n.out.type} = {n.prim.name}{params}{ins}")
    lines.append("  return " + ", ".join(f"%{name(v)}" for v in g.outputs))
    return "\n".join(lines) + "\n"


# -- parsing -------------------------------------------------------------------------------
#
# Any text gets a graph or an IRError at the line (and column) that cannot be read: never
# another exception, whatever the text (a truncated line, an unknown primitive, a bad
# param, a 5000-digit number, brackets nested thousands deep).

_HEADER = re.compile(r"^graph\s+([A-Za-z_][\w.]*)(?:\[([^\]]*)\])?\((.*)\):\s*$")
_NODE = re.compile(r"^%([\w.]+):(\w+\[[^\]]*\])\s*=\s*(\w+)(?:\[(.*)\])?((?:\s+%[\w.]+)*)\s*$")
_RETURN = re.compile(r"^return\s*(.*)$")
_TYPE = re.compile(r"^(\w+)\[([^\]]*)\]$")
_NUMBER = re.compile(r"^-?(\d+\.?\d*([eE][-+]?\d+)?|\.\d+([eE][-+]?\d+)?|inf|nan)$")
_LONG_INT = re.compile(r"\d{20,}")  # no int64 has 20 digits
MAX_INT = 2**63 - 1  # integers in IR text (params, dims) are int64s
MAX_DEPTH = 32  # params nest a few tuples deep ((contract, batch) pairs)


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


def _int(text: str) -> int:
    if _LONG_INT.search(text) or abs(int(text)) > MAX_INT:
        raise IRError(f"integer {text[:24]}{'...' if len(text) > 24 else ''} does not fit int64")
    return int(text)


def parse_dim(text: str) -> D.Dim:
    if _LONG_INT.search(text):
        raise IRError(f"dim {text[:24]}... has an integer that does not fit int64")
    try:
        dim = D.parse(text)
    except ValueError as e:
        raise IRError(str(e)) from None
    if isinstance(dim, int) and dim < 0:
        raise IRError(f"negative dim {dim}")
    return dim


def parse_type(text: str) -> TensorType:
    m = _TYPE.match(text.strip())
    if not m or m.group(1) not in DTYPES:
        raise IRError(f"bad type {text!r}")
    dims = [parse_dim(p) for p in _split_top(m.group(2))]
    return TensorType(DTYPES[m.group(1)], tuple(dims))


def parse_param(key: str, text: str, depth: int = 0):
    text = text.strip()
    if text.startswith("("):
        if not text.endswith(")"):
            raise IRError(f"bad param {key}={text}")
        if depth >= MAX_DEPTH:
            raise IRError(f"param {key} nests tuples more than {MAX_DEPTH} deep")
        return tuple(parse_param(key, p, depth + 1) for p in _split_top(text[1:-1]))
    if text in ("true", "false"):
        return text == "true"
    if _NUMBER.match(text):
        return float(text) if re.search(r"[.eEn]", text) else _int(text)
    if key == "dtype":
        if text not in DTYPES:
            raise IRError(f"unknown dtype {text!r}")
        return DTYPES[text]
    if key == "direction":
        return text
    try:
        return parse_dim(text)
    except IRError as e:
        raise IRError(f"bad param {key}={text}: {e.message}") from None


def _params(text: str | None) -> dict:
    out = {}
    for item in _split_top(text or ""):
        key, eq, value = item.partition("=")
        if not eq:
            raise IRError(f"bad param {item!r}")
        out[key.strip()] = parse_param(key.strip(), value)
    return out


def parse_graph(text: str, file: str = "<ir>") -> Graph:
    """Read IR text. Types are recomputed by the type rules and must match what is written."""
    lines = [(k, line) for k, line in enumerate(text.split("\n"), 1) if line.strip()]
    if not lines:
        raise IRError("empty IR text", Span(file, 1, 1, 1, 2, text))
    reader = _Reader()
    for k, line in lines:
        span = _line_span(file, k, line, text)
        try:
            reader.read(line.strip())
        except IRError as e:
            if e.span is None:
                e.span = span
            raise
        except DDError as e:  # a type rule's own error, about this line
            raise IRError(e.message, span) from None
        except (ValueError, TypeError, KeyError, IndexError, ArithmeticError, RecursionError) as e:
            # a type rule given params of the wrong shape, say (`contract=(1,)`)
            raise IRError(f"cannot read IR line: {type(e).__name__}: {e}", span) from None
    return reader.graph(_line_span(file, *lines[0], text), _line_span(file, *lines[-1], text))


def _line_span(file: str, k: int, line: str, text: str) -> Span:
    """Line `k`'s text, without its indentation."""
    return Span(file, k, len(line) - len(line.lstrip()) + 1, k, len(line.rstrip()) + 1, text)


class _Reader:
    """The graph read so far, one stripped line at a time."""

    def __init__(self):
        self.env: dict[str, Value] = {}
        self.name = None
        self.dims: tuple[str, ...] = ()
        self.inputs: list[Value] = []
        self.outputs = None
        self.b = Builder()

    def define(self, name: str, v: Value) -> None:
        if name in self.env:
            raise IRError(f"%{name} defined twice")
        v.name = None if name.isdigit() else name
        self.env[name] = v

    def use(self, name: str) -> Value:
        if name not in self.env:
            raise IRError(f"%{name} used before definition")
        return self.env[name]

    def read(self, line: str) -> None:
        if self.name is None:
            head = _HEADER.match(line)
            if not head:
                raise IRError(f"expected 'graph NAME(...):', got {line[:80]!r}")
            self.name = head.group(1)
            self.dims = tuple(d.strip() for d in _split_top(head.group(2) or ""))
            for arg in _split_top(head.group(3)):
                name, _, ty = arg.partition(":")
                v = Value(parse_type(ty))
                self.define(name.strip().lstrip("%"), v)
                self.inputs.append(v)
            return
        if self.outputs is not None:
            raise IRError("a line after 'return'")
        if (r := _RETURN.match(line)):
            self.outputs = [self.use(x.strip().lstrip("%")) for x in _split_top(r.group(1))]
            return
        m = _NODE.match(line)
        if not m:
            raise IRError(f"cannot read IR line {line[:80]!r}")
        name, ty, prim, params, ins = m.groups()
        if prim not in PRIMITIVES:
            raise IRError(f"unknown primitive {prim!r}")
        args = [self.use(x.lstrip("%")) for x in ins.split()]
        written = parse_type(ty)
        v = self.b.bind(prim, *args, **_params(params))
        if v.type != written:
            raise IRError(f"%{name}: written type {ty} but {prim} gives {v.type}")
        self.define(name, v)

    def graph(self, header: Span, end: Span) -> Graph:
        if self.outputs is None:
            raise IRError("missing 'return'", end)
        g = self.b.graph(self.inputs, self.outputs, self.name)
        if g.dim_params() != self.dims:
            declared, used = (", ".join(d) or "none" for d in (self.dims, g.dim_params()))
            raise IRError(f"graph {self.name} declares dim parameters [{declared}], "
                          f"but its dims no input binds are [{used}]", header)
        return g
