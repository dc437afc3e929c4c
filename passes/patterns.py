"""The rewrite driver that pattern passes share, and a small structural matcher for it.

A rule table maps a primitive name to `(group, rule)` pairs; `rewrite` visits the nodes in
order and gives each one to its primitive's rules, first to last: the first that returns
a value of the node's type replaces it. A rule is `rule(b, facts, *inputs, **params)`
(the node's already rewritten inputs and its params), emitting any new nodes into `b`.

Most rules are written as a pattern and a rewrite:

    @rule("identities", P("add", X, NEG_ZERO), simplify_rules)
    def _add_neg_zero(b, m):
        return m.x

The pattern's root is the node being rewritten (its primitive keys the table; its
inputs are matched against the node's).

A pattern `P(prim, *inputs, name=, once=)` matches a value made by a node of `prim` whose
inputs match `inputs`; `P(name=...)` matches any value; `splat(test, name)` a value that is
one scalar constant (`Facts.splat`) passing `test(constant, value)`. `name` binds the value
(a name bound twice must be the same value); `once` asks that it have no other use. The
rewrite gets the `Match`: the bound values as attributes, the root's params, and the node
behind any bound value. It may still decline by returning None (then the next way the
pattern matches is tried, then the next rule).

Commutative primitives (the `commutative` trait) match their two operands as written, then
swapped; the first order that matches wins, so which binding a rule sees is fixed by the
graph alone, never by the order rules or sets were built in. `ordered=True` matches as
written only, for a rewrite that keeps each operand where it was.
"""
from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Callable, Iterator

import numpy as np

from ddc.ir import PRIMITIVES, Builder, Graph, Node, Value
from ddc.ir.dims import Sym


Rule = Callable[..., "Value | None"]
RuleTable = dict[str, list[tuple[str, Rule]]]


class Facts:
    """What the rewriter knows about values it has emitted: their defining node; and how
    many uses each value of the input graph has (outputs count as uses)."""

    def __init__(self, graph: Graph | None = None):
        self.producer: dict[int, Node] = {}
        self.uses: dict[int, int] = {}
        if graph is not None:
            for n in graph.nodes:
                for v in n.inputs:
                    self.uses[v.id] = self.uses.get(v.id, 0) + 1
            for v in graph.outputs:
                self.uses[v.id] = self.uses.get(v.id, 0) + 1

    def used_once(self, v: Value) -> bool:
        """`v` has exactly one use: a value of the input graph, or one a rule returned in
        place of one (other values made by the rewrite are not counted, so never are)."""
        return self.uses.get(v.id) == 1

    def node(self, v: Value) -> Node | None:
        return self.producer.get(v.id)

    def splat(self, v: Value):
        """The scalar a value is made of (a constant, or a broadcast/reshape of one), as a
        value of its dtype (an f32 constant 0.1 is f32's nearest number), or None. A convert
        is folded before anything reads it, so it is not looked through."""
        n = self.node(v)
        while n is not None and n.prim.name in ("broadcast_in_dim", "reshape"):
            n = self.node(n.inputs[0])
        if n is None or n.prim.name != "constant" or isinstance(n.params["value"], Sym):
            return None
        try:
            return np.asarray(n.params["value"], dtype=v.dtype.np).item()
        except OverflowError:  # an int constant its dtype cannot hold: the backends reject it
            return None


# -- patterns ------------------------------------------------------------------------------

class P:
    """A pattern over values: see the module docstring."""

    def __init__(self, prim: str | None = None, *inputs: P, name: str | None = None,
                 once: bool = False, test: Callable[[Facts, Value], bool] | None = None,
                 ordered: bool = False):
        self.prim, self.inputs, self.name, self.once, self.test = prim, inputs, name, once, test
        self.swaps = prim is not None and PRIMITIVES[prim].commutative and len(inputs) == 2 and not ordered

    def matches(self, v: Value, facts: Facts, bound: dict[str, Value]) -> Iterator[dict]:
        """Every way `v` matches, as the bindings it extends `bound` with, in order."""
        if self.name is not None and self.name in bound and bound[self.name] is not v:
            return
        if self.once and not facts.used_once(v):
            return
        if self.test is not None and not self.test(facts, v):
            return
        if self.name is not None:
            bound = {**bound, self.name: v}
        if self.prim is None:
            yield bound
            return
        node = facts.node(v)
        if node is not None and node.prim.name == self.prim:
            yield from self.operands(node.inputs, facts, bound)

    def operands(self, values, facts: Facts, bound) -> Iterator[dict[str, Value]]:
        """Bindings matching `values` (a node's inputs) against this pattern's inputs: as
        written, then swapped where the primitive is commutative."""
        if len(values) != len(self.inputs):
            return
        yield from _all(self.inputs, list(values), facts, bound)
        if self.swaps:
            yield from _all(self.inputs, list(values[::-1]), facts, bound)


def _all(patterns, values, facts: Facts, bound) -> Iterator[dict[str, Value]]:
    if not patterns:
        yield bound
        return
    for first in patterns[0].matches(values[0], facts, bound):
        yield from _all(patterns[1:], values[1:], facts, first)


def splat(test: Callable[[object, Value], bool], name: str | None = None) -> P:
    """A value that is one scalar constant `c` (`Facts.splat`) with `test(c, value)`."""
    def is_splat(facts: Facts, v: Value) -> bool:
        c = facts.splat(v)
        return c is not None and test(c, v)

    return P(name=name, test=is_splat)


@dataclass
class Match:
    """What a rule's pattern bound: values by name (`m.x`), the root node's params."""

    values: dict[str, Value]
    params: dict
    facts: Facts

    def __getattr__(self, name: str) -> Value:
        try:
            return self.__dict__["values"][name]
        except KeyError:
            raise AttributeError(name) from None

    def node(self, name: str) -> Node:
        """The node that made the value bound to `name` (a pattern with a primitive)."""
        return self.facts.producer[self.values[name].id]


def rule(group: str, pattern: P, table: RuleTable):
    """Register `rewrite(b, match)` for the nodes `pattern` matches, in `table`."""
    def register(rewrite: Callable[[Builder, Match], Value | None]):
        def apply(b: Builder, facts: Facts, *inputs: Value, **params) -> Value | None:
            for bound in pattern.operands(inputs, facts, {}):
                out = rewrite(b, Match(bound, params, facts))
                if out is not None:
                    return out
            return None

        assert pattern.prim is not None, "a rule's pattern names the primitive it rewrites"
        table.setdefault(pattern.prim, []).append((group, apply))
        return rewrite

    return register


def pattern(group: str, *prims: str, table: RuleTable):
    """Register a plain rule `fn(b, facts, *inputs, **params)` for `prims` in `table`."""
    def register(fn: Rule) -> Rule:
        for p in prims:
            table.setdefault(p, []).append((group, fn))
        return fn

    return register


# -- the driver ----------------------------------------------------------------------------

def rewrite(graph: Graph, rules: RuleTable, only: set[str] | None = None,
            keep_names: bool = False) -> Graph:
    """Rewrite `graph` node by node with the rules in `rules` (in groups `only`, or all).

    The first rule that returns a value of the node's type replaces the node; nodes the
    rules emit are known to later ones. `keep_names`: a replacement made here takes the
    name of the node it replaces (so generated code keeps the DSL's variable names)."""
    facts = Facts(graph)
    b = Builder()
    env: dict[int, Value] = {}
    for node in graph.nodes:
        b.span = node.span
        inputs = [env.get(v.id, v) for v in node.inputs]
        replacement = None
        for group, fn in rules.get(node.prim.name, ()):
            if only is None or group in only:
                start = len(b.nodes)
                replacement = fn(b, facts, *inputs, **node.params)
                for new in b.nodes[start:]:
                    facts.producer[new.out.id] = new
                    new.out.origin = new.out.origin or node.out.origin  # keep pictures' colours
                if replacement is not None:
                    break
        if replacement is not None and replacement.type == node.out.type:
            env[node.out.id] = replacement
            if replacement.id in facts.producer and replacement.id not in facts.uses:
                # a value made here takes over the node's uses, so rules further on can
                # see it used once, and chains (a negation moving on) finish in one pass
                facts.uses[replacement.id] = facts.uses.get(node.out.id, 0)
                if keep_names and replacement.name is None:
                    replacement.name = node.out.name
            continue
        fresh = node.with_inputs(inputs)
        b.nodes.append(fresh)
        facts.producer[node.out.id] = fresh
    outputs = [env.get(v.id, v) for v in graph.outputs]
    return b.graph(graph.inputs, outputs, graph.name)
