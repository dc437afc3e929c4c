"""The optimisation pipeline every backend's input goes through, once, before the
backend's own lowering passes.

Only rewrites that are exact for every input (NaN, ±0, ±inf, empty dims) and that every
backend gains from: graphs straight from the front end were never cleaned (a repeated
expression is computed twice, `x ** 2` is still a pow), so `cse` and `simplify` come
first, as the passes after them match simplified forms. `sum_of_products` is not here: a
contraction pays where it becomes one BLAS call (numpy), not where the product would
fuse into the sum (a GPU kernel).
"""
from __future__ import annotations

from ddc.ir import Graph

from .cse import cse
from .dce import dce
from .hoist_broadcasts import hoist_broadcasts
from .onehot import onehot_to_gather
from .pick_early import pick_early
from .simplify import simplify

PIPELINE = (cse, simplify, onehot_to_gather, pick_early, hoist_broadcasts, dce)


def optimize(graph: Graph) -> Graph:
    for p in PIPELINE:
        graph = p(graph)
    return graph
