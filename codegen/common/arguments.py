"""The prologue of a generated function, for either backend: check every argument and
bind the dims.

For each parameter the backend's `convert` gives the lines that make it the backend's
array type or raise an `ArgumentError`; the numpy backend's inline the cheap test (an
ndarray of the declared dtype and rank) and call `check_array` only when it fails (see
`codegen.numpy.arguments`). Each symbolic dim name is
bound from the first parameter axis that is exactly that name; later axes with the same
name, static sizes and compound sizes (`n-1`) are compared against it:

    if type(W1_1) is not np.ndarray or W1_1.dtype != f32 or W1_1.ndim != 2:
        W1_1 = check_array(W1_1, f32, 2, 'parameter W1', 'f32[d,h]')
    if W1_1.shape[0] != d_4:
        raise dim_error('parameter W1', 0, W1_1.shape[0], 'd', d_4, 'parameter x')
    h_5 = W1_1.shape[1]

Then the call-time checks of `ir.requirements`, by their position in the function's
check table (the message is made from the table when one fails, never from the source):

    if n_2 - 5 < 0:
        raise dim_fault(0, (n_2,))
    check_indices(1, y_3, c_4)

Messages quote DSL names only through `naming.label` and `repr`.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ddc.errors import IRError
from ddc.ir import dims as D
from ddc.ir.core import Graph, Node, Value
from ddc.ir.requirements import Checks, DimRequirement, IndexCheck, call_checks, index_bound
from ddc.ir.types import TensorType

from .naming import Minter, label, stem


def plain_name(d: D.Dim) -> str | None:
    """The dim's name when the dim is just a name (`n`, not `n-1` or `2*n`)."""
    if isinstance(d, D.Sym) and len(d.terms) == 1:
        (mono, coeff), = d.terms
        if coeff == 1 and len(mono) == 1:
            return mono[0]
    return None


def describe(v: Value, index: int) -> str:
    """How messages refer to a parameter: by its DSL name, else by position."""
    name = label(v.name, "")
    return f"parameter {name}" if name else f"argument {index}"


class DimBinder:
    """The identifiers bound to dim names at call time, and who bound each one."""

    def __init__(self, mint: Minter):
        self.mint = mint
        self.idents: dict[str, str] = {}
        self.binders: dict[str, str] = {}
        self.read: set[str] | None = None  # when a set: collects each identifier `expr` reads

    def bind(self, name: str, binder: str) -> str:
        self.idents[name] = self.mint(name, "dim")
        self.binders[name] = binder
        return self.idents[name]

    def ident(self, name: str) -> str:
        if name not in self.idents:
            raise IRError(f"dim {name} is not the size of any parameter axis, "
                          f"so it cannot be known at call time")
        if self.read is not None:
            self.read.add(self.idents[name])
        return self.idents[name]

    def expr(self, d: D.Dim) -> str:
        """The dim as a Python expression over the bound identifiers."""
        return D.render(d, self.ident)

    def comment(self, d: D.Dim) -> str:
        """`expr`, for a comment: not counted as read."""
        read, self.read = self.read, None
        try:
            return self.expr(d)
        finally:
            self.read = read

    @staticmethod
    def label(name: str) -> str:
        return label(name, stem(name, "dim"))

    def text(self, d: D.Dim) -> str:
        """The dim as users wrote it, for messages."""
        return D.render(d, self.label)

    def declared(self, t: TensorType) -> str:
        if not t.shape:
            return t.dtype.name
        return f"{t.dtype.name}[{','.join(self.text(d) for d in t.shape)}]"


def prologue(inputs: list[Value], params: list[str], dims: DimBinder,
             convert: Callable[[Value, str, str, str], list[str]]) -> list[str]:
    """Lines that check each argument and bind every dim name they determine.

    `convert(value, param, who, declared)` gives the lines that turn one argument into the
    backend's array type (an ndarray, a torch tensor)."""
    lines: list[str] = []
    compound: list[tuple[str, str, int, D.Dim]] = []  # like n-1: checked once n is bound
    for index, (v, p) in enumerate(zip(inputs, params)):
        who = describe(v, index)
        lines += convert(v, p, who, dims.declared(v.type))
        for axis, d in enumerate(v.shape):
            size = f"{p}.shape[{axis}]"
            name = plain_name(d)
            if name is not None and name not in dims.idents:
                lines.append(f"{dims.bind(name, who)} = {size}")
            elif name is not None:
                lines += [
                    f"if {size} != {dims.ident(name)}:",
                    f"    raise dim_error({who!r}, {axis}, {size}, {dims.label(name)!r}, "
                    f"{dims.ident(name)}, {dims.binders[name]!r})",
                ]
            elif isinstance(d, int):
                lines += [
                    f"if {size} != {d}:",
                    f"    raise size_error({who!r}, {axis}, {size}, {str(d)!r}, {d})",
                ]
            else:
                compound.append((p, who, axis, d))
    for p, who, axis, d in compound:
        size = f"{p}.shape[{axis}]"
        lines += [
            f"if {size} != {dims.expr(d)}:",
            f"    raise size_error({who!r}, {axis}, {size}, {dims.text(d)!r}, {dims.expr(d)})",
        ]
    return lines


def check_lines(checks: list, params: list[str], dims: DimBinder) -> list[str]:
    """The prologue's checks, each raising with its position in `checks`."""
    lines = []
    for k, check in enumerate(checks):
        if isinstance(check, DimRequirement):
            env = ", ".join(dims.ident(n) for n in sorted(D.names(check.expr)))
            lines += [f"if {dims.expr(check.expr)} < 0:", f"    raise dim_fault({k}, ({env},))"]
        else:
            lines.append(index_line(k, params[check.input], dims.expr(check.bound)))
    return lines


def index_line(k: int, idx: str, bound: str) -> str:
    return f"check_indices({k}, {idx}, {bound})"


@dataclass
class FunctionStart:
    """What every generated function begins with, whatever the backend: minted names for
    the function and its parameters, the dims they bind, and the argument-check lines."""

    mint: Minter
    name: str
    params: list[str]  # the signature: the graph's dim parameters, then one per input
    dims: DimBinder
    body: list[str]
    names: dict[int, str]  # value id -> its name in the source; the parameters so far
    checks: list  # the check table: the prologue's checks, then any the body adds
    computed: list[Node]  # indexing nodes of the last graph whose index the body must check

    def check_index(self, node: Node, idx: str, first_row: str | None = None) -> str:
        """The line checking `node`'s computed index (its `index_operand`, named `idx`;
        its rows start at `first_row` of the whole index inside a row block), added to
        the table."""
        self.checks.append(IndexCheck(None, index_bound(node), node.span, node.prim.name,
                                      node.index_input.name, None))
        line = index_line(len(self.checks) - 1, idx, self.dims.expr(index_bound(node)))
        return line if first_row is None else f"{line[:-1]}, {first_row})"


def start_function(graph: Graph, convert: Callable[[Value, str, str, str], list[str]],
                   name: str | None = None, runs: Graph | None = None) -> FunctionStart:
    """`convert`: see `prologue`. `runs`: the form of `graph` the body computes, when the
    backend rewrote it; its checks are made too, and its computed indices are the ones
    the body checks."""
    mint = Minter()
    minted = mint(graph.name, "f")
    dims = DimBinder(mint)
    # the graph's dim parameters come first, as ints, and bind their names directly
    dim_params = [dims.bind(d, f"dim parameter {d}") for d in graph.dim_params()]
    params = [mint(v.name, "arg") for v in graph.inputs]
    body = [line for d, p in zip(graph.dim_params(), dim_params) for line in (
        f"if type({p}) is not int or {p} < 0:",
        f"    raise ArgumentError('dim parameter {dims.label(d)} is ' + repr({p}) + ', expected an int >= 0', "
        f"'dim parameter {dims.label(d)}', {dims.label(d)!r}, 'an int >= 0', {p})")]
    body += prologue(graph.inputs, params, dims, convert=convert)
    checks: Checks = call_checks([graph] if runs is None else [graph, runs])
    body += check_lines(checks.prologue, params, dims)
    return FunctionStart(mint, name or minted, dim_params + params, dims, body,
                         {v.id: p for v, p in zip(graph.inputs, params)}, checks.prologue,
                         checks.computed)
