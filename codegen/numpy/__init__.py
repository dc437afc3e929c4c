"""The numpy backend: an `ir.Graph` becomes a readable Python function, compiled and cached
(`backend`: `compile`, `module_source`).

`emit` writes the function (after the shared pipeline, `passes.optimize`, and this
backend's own passes, `fusion`), `rules` is its lowering table, `runtime` the helpers the
code calls (embedded in exported modules), `debug` the checking variant.

Nothing is imported here, so that `runtime` can be imported alone (constant folding in
`passes.simplify` computes with it).
"""
