"""GPU benchmark: ddc's Triton backend against PyTorch eager and torch.compile.

    python benchmarks/gpu.py [--repeat 30] [--budget 270] [--workload NAME ...]

On a machine with an NVIDIA GPU this times, in float32, the forward and the gradient of
the workloads of the CPU benchmark (`workloads.py`: cross-entropy, InfoNCE, DeepSets,
Mahalanobis, LoRA, each a .dd file built on the stdlib) compiled by ddc's Triton backend,
against the same losses in PyTorch eager and, while the time budget lasts, torch.compile.
It prints two tables:
- per workload and pass: median milliseconds of ddc, torch eager and torch.compile, ddc's
  kernel count, and how far ddc's values are from torch eager's;
- per ddc kernel: its kind, median milliseconds, the bytes it reads and writes and the
  bandwidth that achieves, its FLOPs (2 per multiply-add of a product, 1 per element of
  any other arithmetic op) and the rate.
Products are IEEE float32 on both sides (TF32 off). ddc and eager run first for every
workload, then torch.compile for as many as the budget allows, so the run ends within
5 minutes. Without a GPU it says so in one line and exits 0; `--dry-run` checks this
harness on the CPU under Triton's interpreter with tiny inputs (its times mean nothing).
"""
from __future__ import annotations

import argparse
import functools
import inspect
import statistics
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

from runners import torch_arguments
from workloads import WORKLOADS, Workload

COMPILE_RESERVE_S = 60  # torch.compile of one workload's two passes, roughly


class Clock:
    """Milliseconds of device work: CUDA events on a GPU, the wall clock otherwise."""

    def __init__(self, torch, cuda: bool):
        self.torch, self.cuda = torch, cuda

    def span(self, call):
        """Run `call`; return a handle for `elapsed` (events are read after a sync)."""
        if self.cuda:
            start, end = (self.torch.cuda.Event(enable_timing=True) for _ in range(2))
            start.record()
            call()
            end.record()
            return start, end
        start = time.perf_counter()
        call()
        return (time.perf_counter() - start) * 1e3

    def elapsed(self, handle) -> float:
        if self.cuda:
            start, end = handle
            end.synchronize()
            return start.elapsed_time(end)
        return handle

    def median(self, call, repeat: int) -> float:
        for _ in range(2):  # warm-up: compiles, caches, allocator
            call()
        return statistics.median(self.elapsed(self.span(call)) for _ in range(repeat))


# -- ddc: whole functions and their kernels ----------------------------------------------------

@contextmanager
def timed_kernels(function, clock: Clock, spans: dict[str, list]):
    """Swap each kernel of a TritonFunction for one that records its launch's span."""
    namespace = function.namespace
    originals = {name: namespace[name] for name, _ in function.kernels}

    class Timed:
        def __init__(self, name):
            self.name = name

        def __getitem__(self, grid):
            launch = originals[self.name][grid]
            return lambda *a, **k: spans[self.name].append(clock.span(lambda: launch(*a, **k)))

    namespace.update({name: Timed(name) for name in originals})
    try:
        yield
    finally:
        namespace.update(originals)


def dim_sizes(graph, args) -> dict[str, int]:
    from ddc.codegen.common.arguments import plain_name

    sizes = {}
    for v, a in zip(graph.inputs, args):
        for d, n in zip(v.shape, a.shape):
            if plain_name(d) is not None:
                sizes[plain_name(d)] = int(n)
    return sizes


def kernel_work(group, sizes) -> tuple[int, int]:
    """(bytes read and written, FLOPs) of one kernel at these sizes."""
    from ddc.ir import dims as D

    def numel(shape):
        return int(np.prod([D.evaluate(d, sizes) for d in shape], dtype=np.int64))

    moved = sum(numel(v.shape) * v.dtype.np.itemsize for v in group.inputs + group.outputs)
    flops = 0
    for n in group.nodes:
        name = n.prim.name
        if name == "dot_general":
            lhs = n.inputs[0]
            flops += 2 * numel(n.out.shape) * numel([lhs.shape[a] for a in n.params["contract"][0]])
        elif name in ("reduce_sum", "reduce_max"):
            flops += numel(n.inputs[0].shape)
        elif n.prim.elementwise and name not in ("convert", "stop_gradient"):
            flops += numel(n.out.shape)
    return moved, flops


@dataclass
class Result:
    workload: str
    pass_name: str
    ddc_ms: float
    kernels: int
    eager_ms: float | None = None
    compiled_ms: float | str | None = None
    error: float | None = None
    per_kernel: list = field(default_factory=list)  # (name, kind, ms, bytes, flops)


def run_ddc(workload: Workload, inputs, torch, device, clock, repeat) -> tuple[list[Result], list]:
    import ddc
    from ddc.ir import f32

    f = getattr(ddc.load(workload.path), workload.function)
    args = [torch.from_numpy(a).to(device) for a in inputs]
    results, values = [], []
    for pass_name, fn in (("forward", f), ("gradient", ddc.grad(f, argnums=workload.argnums))):
        compiled = fn.compiled(f32, "triton")
        ms = clock.median(functools.partial(compiled, *args), repeat)
        spans = {name: [] for name, _ in compiled.kernels}
        with timed_kernels(compiled, clock, spans):
            for _ in range(repeat):
                compiled(*args)
        sizes = dim_sizes(compiled.graph, args)
        result = Result(workload.name, pass_name, ms, compiled.num_kernels)
        for name, group in compiled.kernels:
            moved, flops = kernel_work(group, sizes)
            kernel_ms = statistics.median(clock.elapsed(h) for h in spans[name])
            result.per_kernel.append((name, group.kind, kernel_ms, moved, flops))
        results.append(result)
        out = compiled(*args)
        values.append([t.detach().cpu().numpy() for t in (out if isinstance(out, tuple) else (out,))])
    return results, values


# -- torch -----------------------------------------------------------------------------------

def torch_passes(workload: Workload, inputs, torch, device, compiled: bool):
    loss = workload.torch_loss(torch)
    if compiled:
        loss = torch.compile(loss)
    args, params, with_params = torch_arguments(workload, inputs, torch, device)

    def forward():
        with torch.no_grad():
            return loss(*args)

    def gradient():
        return torch.autograd.grad(loss(*with_params), params)

    return {"forward": forward, "gradient": gradient}


def distance(ours: list[np.ndarray], theirs) -> float:
    """The largest relative distance between ddc's outputs and torch's (norm-wise)."""
    theirs = theirs if isinstance(theirs, (tuple, list)) else (theirs,)
    worst = 0.0
    for a, b in zip(ours, theirs):
        b = b.detach().cpu().numpy()
        worst = max(worst, float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-30)))
    return worst


# -- the report ------------------------------------------------------------------------------

def table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[k]) for r in rows)) for k, h in enumerate(headers)]

    def line(cells):
        return "  ".join(c.rjust(w) if k else c.ljust(w) for k, (c, w) in enumerate(zip(cells, widths)))

    return "\n".join([line(headers), line(["-" * w for w in widths])] + [line(r) for r in rows])


def ms_text(ms) -> str:
    return ms if isinstance(ms, str) else "-" if ms is None else f"{ms:.3f}"


def report(results: list[Result]) -> str:
    summary = [[r.workload, r.pass_name, ms_text(r.ddc_ms), str(r.kernels), ms_text(r.eager_ms),
                ms_text(r.compiled_ms), "-" if r.error is None else f"{r.error:.1e}"] for r in results]
    kernels = []
    for r in results:
        for name, kind, ms, moved, flops in r.per_kernel:
            seconds = ms / 1e3
            kernels.append([r.workload, r.pass_name, name, kind, f"{ms:.4f}", f"{moved / 1e6:.2f}",
                            f"{moved / seconds / 1e9:.1f}" if seconds else "-", f"{flops / 1e9:.3f}",
                            f"{flops / seconds / 1e12:.2f}" if seconds else "-"])
    return "\n\n".join([
        table(["workload", "pass", "ddc ms", "kernels", "eager ms", "compile ms", "vs eager"], summary),
        table(["workload", "pass", "kernel", "kind", "ms", "MB", "GB/s", "GFLOP", "TFLOP/s"], kernels)])


def tiny(make_inputs, rng):
    """The workload's inputs with every size divided by 32 (for --dry-run)."""
    sizes = {k: max(2, p.default // 32) for k, p in inspect.signature(make_inputs).parameters.items()
             if isinstance(p.default, int)}
    return make_inputs(rng, **sizes)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=30, help="timed calls per measurement")
    parser.add_argument("--budget", type=float, default=270, help="seconds for the whole run")
    parser.add_argument("--workload", action="append", choices=[w.name for w in WORKLOADS])
    parser.add_argument("--dry-run", action="store_true", help="check the harness on the CPU, tiny inputs")
    args = parser.parse_args(argv)
    start = time.monotonic()
    import torch

    cuda = torch.cuda.is_available()
    if not cuda and not args.dry_run:
        print("benchmarks/gpu.py: no CUDA GPU visible to torch, nothing to time.")
        return 0
    device = torch.device("cuda" if cuda else "cpu")
    torch.set_default_device(device)  # tensors the peers make (labels = arange(n)) land beside the inputs
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    from ddc.codegen.triton.runtime import triton  # ddc's runtime imports triton (interpreted without a GPU)

    clock = Clock(torch, cuda)
    repeat = 2 if args.dry_run else args.repeat
    chosen = [w for w in WORKLOADS if not args.workload or w.name in args.workload]
    name = torch.cuda.get_device_name() if cuda else "CPU (dry run, Triton interpreter)"
    print(f"{name}; torch {torch.__version__}, triton {triton.__version__}; float32, TF32 off; "
          f"medians of {repeat} calls\n")
    results, inputs_of = [], {}
    for w in chosen:
        rng = np.random.default_rng(0)
        inputs = tiny(w.make_inputs, rng) if args.dry_run else w.make_inputs(rng)
        inputs_of[w.name] = inputs
        ours, values = run_ddc(w, inputs, torch, device, clock, repeat)
        for result, value in zip(ours, values):
            eager = torch_passes(w, inputs, torch, device, compiled=False)[result.pass_name]
            result.eager_ms = clock.median(eager, repeat)
            result.error = distance(value, eager())
        results += ours
    for w in chosen:  # torch.compile last: it is the slowest to build
        rows = [r for r in results if r.workload == w.name]
        if args.dry_run or time.monotonic() - start > args.budget - COMPILE_RESERVE_S:
            for r in rows:
                r.compiled_ms = "skipped"
            continue
        try:
            passes = torch_passes(w, inputs_of[w.name], torch, device, compiled=True)
            for r in rows:
                r.compiled_ms = clock.median(passes[r.pass_name], repeat)
        except Exception as e:  # torch.compile does not handle every loss on every setup
            for r in rows:
                r.compiled_ms = f"n/a ({type(e).__name__})"
    print(report(results))
    print(f"\n{time.monotonic() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
