"""The Triton backend: a graph, after the shared pipeline (`passes.optimize`), is cut into
kernels (`partition`, over the index maps of `index_maps`), each written as one
`@triton.jit` function (`kernel`, by the lowering table `rules`) and launched in order by
a host function (`backend`: `compile`, `module_source`); `runtime` holds what the
generated code calls.

Nothing is imported here: the partition and the tables need neither torch nor triton
(`ddc ir --kernels` and the kernel pictures use them without a GPU stack); `backend` and
`runtime` need both.
"""
