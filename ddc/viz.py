"""Graphviz pictures of the IR: `to_dot` draws a graph, `render_svg` gives the SVG that
Jupyter shows for a `Function`, `write` saves a .svg, .png, .pdf or .dot file (`ddc viz`).

A picture is the text IR laid out as dataflow:
- inputs are ovals; every other value is a box with its name as the text IR prints it
  (`%h1` where the DSL named it, else `%7`, so the picture and `ddc ir` can be read side by
  side), its primitive, the params that matter and its type (`f32[n,c]`); values the graph
  returns have a double border and say which output they are;
- the fill says which transform made a value (`Value.origin`), explained by a legend;
- edges are solid for floats, dashed for ints, dotted for bools, and number the operands
  of primitives where their order matters (`sub`, `dot_general`, `select`, ...);
- constant-only subgraphs (constants, iotas, their broadcasts, and anything computed from
  them alone) are folded into the label of each node that uses them, as an expression,
  so a gradient's scaffolding of zeros and ones does not drown the real work;
- with `kernels=True` the kernels of `ddc.codegen.triton.partition` are clusters.

Every label is a graphviz HTML label built from escaped text, so no name or value can
break the dot source; node ids in it are minted (`n0`, `n1`, ...).
"""
from __future__ import annotations

import html
import shutil
from pathlib import Path

import graphviz

from ddc.ir import Graph, Node, Sym, Value
from ddc.ir.printer import Namer, format_param

RANKDIRS = ("TB", "LR", "BT", "RL")
# file suffix -> graphviz output format (None: the dot source itself)
FORMATS = {".svg": "svg", ".png": "png", ".pdf": "pdf", ".dot": None}
INSTALL_HINT = "install graphviz (apt-get install graphviz / brew install graphviz)"

ORIGIN_COLORS = {
    "primal": "#eef2f7",
    "tangent": "#d6f0d6",
    "cotangent": "#fde2c6",
    "residual": "#e6dbf5",
}
EDGE_STYLES = {  # dtype kind -> (graphviz style, colour)
    "float": ("solid", "#444444"),
    "int": ("dashed", "#2f6db5"),
    "bool": ("dotted", "#b5352f"),
}
EXPRESSION_WIDTH = 48  # longer folded expressions are cut with an ellipsis


# -- the public functions ------------------------------------------------------------------

def to_dot(graph: Graph, kernels: bool = False, rankdir: str = "TB",
           collapse_constants: bool = True) -> graphviz.Digraph:
    """The picture of `graph` as a graphviz Digraph (`.source` is the dot text).

    `kernels`: draw the fusion groups as clusters; `rankdir`: "TB" (top to bottom) or "LR"
    (left to right, often better for long graphs); `collapse_constants`: fold
    constant-only subgraphs into the labels of their users."""
    if rankdir not in RANKDIRS:
        raise ValueError(f"rankdir must be one of {', '.join(RANKDIRS)}, got {rankdir!r}")
    return _Drawing(graph, rankdir, collapse_constants, _kernel_groups(graph) if kernels else []).dot


def render_svg(graph: Graph) -> str | None:
    """The picture as SVG text, or None when graphviz's `dot` program is not installed."""
    data = _render(to_dot(graph), "svg")
    return None if data is None else data.decode("utf-8")


def write(graph: Graph, path, kernels: bool = False, rankdir: str = "TB") -> str:
    """Draw `graph` into `path` (.svg, .png, .pdf or .dot); return a one-line message.

    Without the `dot` program, the .dot source is written next to `path` instead, and the
    message says how to install graphviz and render it."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise ValueError(f"cannot draw into {path}: the file must end in .svg, .png, .pdf or .dot")
    dot = to_dot(graph, kernels=kernels, rankdir=rankdir)
    what = f"graph {graph.name}, {len(graph.nodes)} nodes"
    fmt = FORMATS[suffix]
    if fmt is None:
        path.write_text(dot.source)
        return f"wrote {path} ({what}, graphviz source)"
    data = _render(dot, fmt)
    if data is None:
        source = path.with_suffix(".dot")
        source.write_text(dot.source)
        return (f"graphviz's `dot` program was not found, so wrote {source} instead of {path}: "
                f"{INSTALL_HINT}, then run `dot -T{fmt} {source} -o {path}`")
    path.write_bytes(data)
    return f"wrote {path} ({what})"


def _render(dot: graphviz.Digraph, fmt: str) -> bytes | None:
    if shutil.which("dot") is None:
        return None
    try:
        return dot.pipe(format=fmt)
    except graphviz.ExecutableNotFound:
        return None


def _kernel_groups(graph: Graph) -> list:
    from ddc.codegen.triton.partition import partition

    return list(partition(graph).groups)


# -- the drawing ---------------------------------------------------------------------------

class _Drawing:
    """Builds the Digraph for one graph: values become nodes, uses become edges."""

    def __init__(self, graph: Graph, rankdir: str, collapse_constants: bool, groups: list):
        self.graph = graph
        self.name = Namer()
        for v in graph.inputs + [n.out for n in graph.nodes]:
            self.name(v)  # number values in text-IR order, so `%7` here is `%7` in `ddc ir`
        returned = {v.id for v in graph.outputs}
        constants = constant_producers(graph) if collapse_constants else {}
        self.folded = {vid: n for vid, n in constants.items() if vid not in returned}
        self.expressions = _Expressions(self.folded)
        self.output_positions: dict[int, list[int]] = {}
        for k, v in enumerate(graph.outputs):
            self.output_positions.setdefault(v.id, []).append(k)
        self.ids: dict[int, str] = {}
        self.origins: set[str] = set()
        self.edge_kinds: set[str] = set()

        self.dot = graphviz.Digraph(name=graph.name if graph.name.isidentifier() else "graph")
        self.dot.attr(rankdir=rankdir, fontname="Helvetica", fontsize="12", labelloc="t",
                      label=_html_label([f"<B>{_esc(graph.name)}</B>"]),
                      nodesep="0.25", ranksep="0.35", newrank="true")
        self.dot.attr("node", shape="box", style="rounded,filled", fontname="Helvetica",
                      fontsize="10", margin="0.1,0.04", height="0.3")
        self.dot.attr("edge", arrowsize="0.6", fontname="Helvetica")

        with self.dot.subgraph() as row:
            row.attr(rank="same")
            for v in graph.inputs:
                self._input(row, v)
            for a, b in zip(graph.inputs, graph.inputs[1:]):  # keep the signature's order
                row.edge(self.ids[a.id], self.ids[b.id], style="invis")
        self._nodes(groups)
        self._legend()

    def _mint(self, v: Value) -> str:
        self.ids[v.id] = f"n{len(self.ids)}"
        return self.ids[v.id]

    def _fill(self, v: Value) -> str:
        origin = v.origin if v.origin in ORIGIN_COLORS else "primal"
        self.origins.add(origin)
        return ORIGIN_COLORS[origin]

    def _output_lines(self, v: Value) -> list[str]:
        return [f"<B>output {k}</B>" for k in self.output_positions.get(v.id, [])]

    def _output_attrs(self, v: Value) -> dict:
        return {"peripheries": "2"} if v.id in self.output_positions else {}

    def _input(self, where: graphviz.Digraph, v: Value) -> None:
        lines = [f"<B>%{_esc(self.name(v))}</B>", _esc(str(v.type))] + self._output_lines(v)
        where.node(self._mint(v), _html_label(lines), shape="ellipse", style="filled",
                   fillcolor=self._fill(v), **self._output_attrs(v))

    def _nodes(self, groups: list) -> None:
        """Every node not folded away, inside its kernel's cluster where it has one."""
        drawn = [n for n in self.graph.nodes if n.out.id not in self.folded]
        group_of: dict[int, int] = {}
        for k, group in enumerate(groups):
            for n in group.nodes:
                group_of.setdefault(n.out.id, k)  # a recomputed constant: its first kernel
        for k, group in enumerate(groups):
            members = [n for n in drawn if group_of.get(n.out.id) == k]
            if not members:
                continue
            with self.dot.subgraph(name=f"cluster_k{k}") as cluster:
                cluster.attr(label=_html_label([_esc(f"kernel {group.id}: {group.kind}")]),
                             style="rounded,dashed", color="#888888", fontsize="10")
                for n in members:
                    self._node(cluster, n)
        for n in drawn:
            if n.out.id not in group_of:
                self._node(self.dot, n)
        for n in drawn:
            self._edges(n)

    def _node(self, where: graphviz.Digraph, n: Node) -> None:
        v = n.out
        lines = [f"<B>%{_esc(self.name(v))}</B> = {_esc(n.prim.name)}"]
        params = shown_params(n)
        if params:
            lines.append(_small(" ".join(params)))
        for k, a in enumerate(n.inputs):
            if a.id in self.folded:
                text = self.expressions.operand(a, n)
                lines.append(_small(f"{k}: {text}" if _order_matters(n) else text))
        lines.append(_esc(str(v.type)))
        lines += self._output_lines(v)
        where.node(self._mint(v), _html_label(lines), fillcolor=self._fill(v), **self._output_attrs(v))

    def _edges(self, n: Node) -> None:
        numbered = _order_matters(n)
        for k, a in enumerate(n.inputs):
            if a.id in self.folded:
                continue
            kind = _dtype_kind(a)
            self.edge_kinds.add(kind)
            style, color = EDGE_STYLES[kind]
            attrs = dict(style=style, color=color, tooltip=graphviz.escape(f"%{self.name(a)}: {a.type}"))
            if numbered:
                attrs.update(headlabel=str(k), labelfontsize="8", labelfontcolor="#666666")
            self.dot.edge(self.ids[a.id], self.ids[n.out.id], **attrs)

    def _legend(self) -> None:
        """A small table of the fills and edge styles in use, when there is more than one."""
        rows = []
        if len(self.origins) > 1:
            rows += [f'<TR><TD BGCOLOR="{color}">{origin}</TD></TR>'
                     for origin, color in ORIGIN_COLORS.items() if origin in self.origins]
        if len(self.edge_kinds) > 1:
            rows.append('<TR><TD BORDER="0">edges: '
                        + ", ".join(f"{style} {kind}" for kind, (style, _) in EDGE_STYLES.items()
                                    if kind in self.edge_kinds)
                        + "</TD></TR>")
        if rows:
            table = ('<<TABLE BORDER="0" CELLBORDER="1" CELLSPACING="2" CELLPADDING="3">'
                     + "".join(rows) + "</TABLE>>")
            self.dot.node("legend", table, shape="plain", style="solid", fontsize="9")


# -- what a label says ---------------------------------------------------------------------

# Params the output type already shows, left out of labels.
HIDDEN_PARAMS = {
    "broadcast_in_dim": {"shape"},
    "reshape": {"shape"},
    "iota": {"shape", "dtype"},
    "scatter_add": {"shape"},
    "constant": {"dtype"},
}
# Params at their default value, left out of labels.
AT_DEFAULT = {
    ("dot_general", "batch"): lambda v: all(len(side) == 0 for side in v),
    ("slice", "stride"): lambda v: all(s == 1 for s in v),
    ("pad", "interior"): lambda v: all(i == 0 for i in v),
    ("gather", "batch_dims"): lambda v: v == 0,
    ("scatter_add", "batch_dims"): lambda v: v == 0,
}
# Params whose value says it all: `lt`, `f32`, `0.5` rather than `direction=lt`.
BARE_PARAMS = {"direction", "dtype", "value"}


def shown_params(n: Node) -> list[str]:
    """The params worth reading in a picture, as `key=value` text."""
    out = []
    for key, value in n.params.items():
        if key in HIDDEN_PARAMS.get(n.prim.name, ()):
            continue
        if AT_DEFAULT.get((n.prim.name, key), lambda v: False)(value):
            continue
        text = _clip(format_param(value))
        out.append(text if key in BARE_PARAMS else f"{key}={text}")
    return out


def constant_producers(graph: Graph) -> dict[int, Node]:
    """The nodes computing values that depend on no graph input, by output value id."""
    out: dict[int, Node] = {}
    for n in graph.nodes:
        if all(v.id in out for v in n.inputs):
            out[n.out.id] = n
    return out


INFIX = {"add": "+", "sub": "-", "mul": "*", "div": "/", "pow": "**"}


class _Expressions:
    """Folded constant subgraphs as short expressions: `full([b,h], 0.5)`, `1.0 / f32(b)`.

    An elementwise primitive fixes the shape of its operands, so there a scalar broadcast
    to that shape reads as the scalar alone; elsewhere shapes are written out."""

    def __init__(self, producers: dict[int, Node]):
        self.producers = producers
        self.memo: dict[int, str] = {}  # shared subexpressions are written once, and clipped

    def operand(self, v: Value, user: Node) -> str:
        """`v` as an operand of a drawn node `user`."""
        if user.prim.elementwise:
            return self.of(self._under_elementwise(v))
        if v.ndim and self.producers[v.id].prim.elementwise:
            return f"{self.of(v)} : {v.type}"
        return self.of(v)

    def of(self, v: Value) -> str:
        if v.id not in self.memo:
            self.memo[v.id] = _clip(self._write(self.producers[v.id]))
        return self.memo[v.id]

    def _write(self, n: Node) -> str:
        prim = n.prim.name
        shown = [self._under_elementwise(a) for a in n.inputs] if n.prim.elementwise else n.inputs
        args = [self.of(a) for a in shown]
        if prim == "constant":
            return format_param(n.params["value"])
        if prim == "iota":
            return f"iota({n.out.type}, dim={n.params['dimension']})"
        if prim == "broadcast_in_dim" and n.inputs[0].ndim == 0:
            return f"full({_shape(n.out)}, {args[0]})"
        if prim in ("broadcast_in_dim", "reshape"):  # the shape says more than the params
            return f"{prim.split('_')[0]}({args[0]}, {_shape(n.out)})"
        if prim == "convert":
            return f"{n.params['dtype']}({args[0]})"
        if prim == "neg":
            return f"-{self._grouped(shown[0])}"
        if prim in INFIX:
            return f"{self._grouped(shown[0])} {INFIX[prim]} {self._grouped(shown[1])}"
        params = shown_params(n)
        return f"{prim}{'[' + ', '.join(params) + ']' if params else ''}({', '.join(args)})"

    def _under_elementwise(self, v: Value) -> Value:
        """What stands for `v` under an elementwise primitive: a scalar broadcast to the
        primitive's shape is the scalar itself."""
        n = self.producers[v.id]
        return n.inputs[0] if n.prim.name == "broadcast_in_dim" and n.inputs[0].ndim == 0 else v

    def _grouped(self, v: Value) -> str:
        """`v`'s expression as an operand of an operator: in parentheses when it is an
        operation itself, or a compound dim such as `b*c`."""
        n = self.producers[v.id]
        value = n.params.get("value")
        compound_dim = isinstance(value, Sym) and not str(value).isidentifier()
        return f"({self.of(v)})" if n.prim.name in INFIX or compound_dim else self.of(v)


# -- small helpers -------------------------------------------------------------------------

def _order_matters(n: Node) -> bool:
    return len(n.inputs) > 1 and not n.prim.commutative


def _dtype_kind(v: Value) -> str:
    return "float" if v.dtype.is_float else "bool" if v.dtype.is_bool else "int"


def _shape(v: Value) -> str:
    return f"[{','.join(str(d) for d in v.shape)}]"


def _clip(text: str, width: int = EXPRESSION_WIDTH) -> str:
    return text if len(text) <= width else text[:width - 1] + "…"


def _esc(text: str) -> str:
    """Text for an HTML label: markup escaped, and backslashes doubled, since graphviz
    expands `\\N`, `\\G`, ... even there."""
    return html.escape(text, quote=True).replace("\\", "\\\\")


def _small(text: str) -> str:
    return f'<FONT POINT-SIZE="9" COLOR="#444444">{_esc(text)}</FONT>'


def _html_label(lines: list[str]) -> str:
    """An HTML label from lines that are already escaped (or are markup made here)."""
    return "<" + "<BR/>".join(lines) + ">"
