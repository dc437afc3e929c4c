"""The CPU benchmark: ddc's numpy backend against hand-written numpy, JAX and PyTorch.

    python benchmarks/cpu.py [--only NAME ...] [--no-memory] [--no-scaling] [--no-ceilings]

One process, every library held to one thread count (`threads.py`, imported first). For
each workload (`workloads.py`) it checks every library's loss and gradient against ddc's,
times the forward and the gradient (median over interleaved rounds after warm-up: each
round calls every library once, so load from elsewhere on the machine falls on all of
them alike), times compiling (ddc: source text to callable gradient; JAX: its first call),
measures the peak memory of one gradient call per library in fresh processes
(`memory.py`), and times compiling chains of ~200 and ~20,000 nodes (`scaling.py`).
Where ddc is not the fastest, the statements of its generated code are timed
(`hotspots.py`), and under them, each kind of numpy call it makes is timed in every library
(`ceilings.py`). The results, and which targets they meet, go to `benchmarks/RESULTS.md`.
"""
from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from pathlib import Path

import threads  # first: sets thread counts before numpy/jax/torch load

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from runners import LIBRARIES, Runner, prepare  # noqa: E402
from ceilings import report as ceiling_table  # noqa: E402
from ceilings import floor  # noqa: E402
from timing import time_interleaved  # noqa: E402
from workloads import WORKLOADS, Workload  # noqa: E402

PEERS = ("numpy", "jax", "torch")


def check(workload: Workload, runners: dict[str, Runner]) -> None:
    """Every library computes the same loss and gradient as ddc (float32 tolerances)."""
    ref_loss = runners["ddc"].to_numpy(runners["ddc"].forward())[0]
    ref_grads = runners["ddc"].to_numpy(runners["ddc"].grad())
    for lib, r in runners.items():
        loss = r.to_numpy(r.forward())[0]
        if not np.allclose(loss, ref_loss, rtol=1e-4, atol=1e-5):
            raise AssertionError(f"{workload.name}: {lib} loss {loss} != ddc {ref_loss}")
        for k, (g, ref) in enumerate(zip(r.to_numpy(r.grad()), ref_grads, strict=True)):
            err = np.abs(g - ref).max() / max(np.abs(ref).max(), 1e-30)
            if g.shape != ref.shape or err > 1e-3:
                raise AssertionError(f"{workload.name}: {lib} gradient {k} differs from ddc's "
                                     f"(relative error {err:.2g})")


def run_workload(workload: Workload, libraries, memory: bool) -> dict:
    inputs = workload.make_inputs(np.random.default_rng(0))
    runners = {lib: prepare(workload, lib, inputs) for lib in libraries}
    check(workload, runners)
    result = {
        "forward": time_interleaved({lib: r.forward for lib, r in runners.items()}),
        "grad": time_interleaved({lib: r.grad for lib, r in runners.items()}),
        "compile": {lib: runners[lib].first_grad_ms for lib in ("ddc", "jax") if lib in runners},
    }
    small = workload.make_inputs(np.random.default_rng(0), **workload.small)
    result["small_grad"] = time_interleaved({lib: prepare(workload, lib, small).grad for lib in libraries},
                                            budget_s=1.0)
    result["hotspots"] = {}
    for k, kind in enumerate(("forward", "grad")):
        if result[kind]["ddc"] > min(t for lib, t in result[kind].items() if lib != "ddc"):
            from hotspots import statement_times

            result["hotspots"][kind] = statement_times(runners["ddc"].functions[k], inputs)[:5]
    if memory:
        from memory import run as measure_memory

        result["memory"] = {lib: measure_memory(workload.name, lib) for lib in libraries}
    return result


STAGES = ("load", "lower", "grad", "codegen")


def compile_times(workload: Workload, repeats: int = 7) -> dict[str, float]:
    """Median ms from source text to callable gradient (the parser already built), and of
    its stages: load (parse and check the file and the stdlib modules it imports), lower
    (the forward graph), grad (the AD passes), codegen (numpy source, compiled)."""
    import ddc

    samples: dict[str, list[float]] = {k: [] for k in STAGES + ("total",)}
    from ddc.codegen.numpy import backend as numpy_backend
    from ddc.dsl import parser

    for _ in range(repeats):
        parser.parse.cache_clear()  # a cold compile: no cached ASTs or compiled sources
        numpy_backend.load.cache_clear()
        t0 = time.perf_counter()
        forward = getattr(ddc.load(workload.path), workload.function)
        t1 = time.perf_counter()
        _ = forward.graph  # traced and lowered on first access
        t2 = time.perf_counter()
        grad = ddc.grad(forward, argnums=workload.argnums)
        _ = grad.graph
        t3 = time.perf_counter()
        grad.compiled()
        t4 = time.perf_counter()
        for k, (a, b) in zip(STAGES + ("total",), [(t0, t1), (t1, t2), (t2, t3), (t3, t4), (t0, t4)]):
            samples[k].append((b - a) * 1e3)
    return {k: statistics.median(v) for k, v in samples.items()}


# -- the report ----------------------------------------------------------------------------

def _fmt(ms: float) -> str:
    return f"{ms:.1f}" if ms >= 10 else f"{ms:.2f}"


def machine_lines() -> list[str]:
    import ddc

    versions = [f"python {platform.python_version()}", f"numpy {np.__version__}"]
    for name in ("jax", "torch"):
        try:
            versions.append(f"{name} {__import__(name).__version__}")
        except ImportError:
            versions.append(f"{name} (not installed)")
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    lines = [f"- Machine: {cpu}, {threads.os.cpu_count()} cores, {platform.system()} {platform.release()}",
             f"- Versions: ddc {getattr(ddc, '__version__', '0.1.0')}, {', '.join(versions)}",
             f"- BLAS under numpy: {threads.blas_kernel()}",
             f"- Threads: {threads.THREADS} for every library: " +
             "; ".join(f"`{k}={v}`" for k, v in threads.settings().items())]
    return lines


def report(results: dict, compile_ms: dict, parser_ms: float, scaling: list[dict] | None,
           load: tuple, ceilings: dict | None = None) -> str:
    libs = [lib for lib in LIBRARIES if any(lib in r["grad"] for r in results.values())]
    peers = [lib for lib in libs if lib != "ddc"]
    out = ["# CPU benchmark results", "",
           "Produced by `python benchmarks/cpu.py`; all numbers come from one run.", ""]
    out += machine_lines()
    out.append("- Load average (1 min) at the start and the end of the run: "
               f"{load[0]:.2f}, {load[1]:.2f} (other work on this shared machine slows every "
               "library alike, round by round; ratios hold better than absolute times)")
    out += ["", "Times are medians in milliseconds over interleaved rounds after warm-up. "
            "*ratio* is ddc's time over the fastest peer's (<= 1.00: ddc is fastest); "
            "*grad/fwd* is ddc's gradient time over its forward time.", ""]
    for kind in ("forward", "grad"):
        out += [f"## {'Forward' if kind == 'forward' else 'Gradient'}", "",
                "| workload | " + " | ".join(libs) + " | ratio | fastest peer |" +
                (" grad/fwd |" if kind == "grad" else ""),
                "|---|" + "---:|" * (len(libs) + 2) + ("---:|" if kind == "grad" else "")]
        for name, r in results.items():
            t = r[kind]
            best = min(peers, key=lambda lib: t[lib])
            row = f"| {name} | " + " | ".join(_fmt(t[lib]) for lib in libs)
            row += f" | **{t['ddc'] / t[best]:.2f}** | {best} |"
            if kind == "grad":
                row += f" {r['grad']['ddc'] / r['forward']['ddc']:.2f} |"
            out.append(row)
        out.append("")
    out += ["## Small inputs: the cost of a call", "",
            "The gradient at tiny sizes (the workload's `small` dims in `workloads.py`), where "
            "what a call costs is all there is: argument checks, dispatch, per-op overhead. "
            "Median µs.", "",
            "| workload | sizes | " + " | ".join(libs) + " |", "|---|---|" + "---:|" * len(libs)]
    for w in WORKLOADS:
        if w.name in results:
            t = results[w.name]["small_grad"]
            sizes = ", ".join(f"{k}={v}" for k, v in w.small.items())
            out.append(f"| {w.name} | {sizes} | " + " | ".join(f"{t[lib] * 1e3:.0f}" for lib in libs) + " |")
    out.append("")
    out += ["## Compile time", "",
            "ddc: source text to callable gradient (`ddc.load` + `ddc.grad` + codegen), median of 5, "
            "after the process loaded its parser and the stdlib once "
            f"(a one-time {parser_ms:.0f} ms, like an import: lark builds its parser tables, "
            "no cache file is kept, and each stdlib module is parsed and "
            "checked once per process); *load* parses and checks the workload's file (a cold "
            "parse: the AST cache is cleared) and links the stdlib, *lower* builds the forward graph, "
            "*grad* runs the AD passes, *codegen* writes and compiles the numpy source. "
            "JAX: the first call of "
            "`jax.jit(jax.grad(loss))` (trace, compile, run). PyTorch eager has no compile step.", "",
            "| workload | ddc compile (ms) | of which: load | lower | grad | codegen | JAX first call (ms) |",
            "|---|---:|---:|---:|---:|---:|---:|"]
    for name, r in results.items():
        jax_ms = r["compile"].get("jax")
        c = compile_ms[name]
        out.append(f"| {name} | {c['total']:.1f} | " + " | ".join(f"{c[k]:.1f}" for k in STAGES) +
                   f" | {'' if jax_ms is None else f'{jax_ms:.0f}'} |")
    out.append("")
    if scaling:
        out += ["## Compile-time scaling", "",
                "A chain of `h = tanh(h @ W + b)` layers, generated as .dd text (`scaling.py`); "
                "source text to callable gradient w.r.t. W and b.", "",
                "| layers | forward nodes | gradient nodes | load (ms) | grad (ms) | codegen (ms) "
                "| total (ms) | µs per node |", "|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for s in scaling:
            out.append(f"| {s['layers']} | {s['nodes']} | {s['grad_nodes']} | {s['load_ms']:.0f} | "
                       f"{s['grad_ms']:.0f} | {s['codegen_ms']:.0f} | {s['total_ms']:.0f} | "
                       f"{s['us_per_node']:.0f} |")
        ratio = scaling[-1]["us_per_node"] / scaling[0]["us_per_node"]
        out += ["", f"Time per node, largest over smallest: {ratio:.2f}x.", ""]
    out += targets(results, compile_ms, scaling, ceilings)
    spots = {name: r["hotspots"] for name, r in results.items() if r.get("hotspots")}
    if spots:
        out += ["## Where ddc's time goes where it is not the fastest", "",
                "Median ms of the five costliest statements of the generated function "
                "(`hotspots.py`, measured in the same run; a `run_rows` line is a row-blocked "
                "region of elementwise work, `@`/`np.matmul`/`einsum` are BLAS calls).", ""]
        for name, kinds in spots.items():
            for kind, rows in kinds.items():
                out.append(f"- {name}, {kind}: " + "; ".join(f"{ms:.1f} `{text[:70]}`" for ms, text in rows))
        out.append("")
    if ceilings:
        out += ceiling_table(ceilings)
    if any("memory" in r for r in results.values()):
        out += ["## Peak memory of one gradient call (MiB)", "",
                "Each library in a fresh process (`memory.py`): the rise of the peak resident set "
                "during one gradient call after a warm-up call, with glibc's mmap threshold fixed "
                "so freed buffers leave the process in every library alike. In brackets: "
                "tracemalloc's peak (numpy, ddc) and XLA's buffer assignment, temporaries plus "
                "outputs (jax).", "",
                "| workload | " + " | ".join(libs) + " |", "|---|" + "---:|" * len(libs)]
        for name, r in results.items():
            cells = []
            for lib in libs:
                m = r["memory"][lib]
                extra = m.get("tracemalloc_mib", m.get("xla_mib"))
                cells.append(f"{m['rss_mib']:.1f}" + ("" if extra is None else f" ({extra:.1f})"))
            out.append(f"| {name} | " + " | ".join(cells) + " |")
        out.append("")
    return "\n".join(out)


def targets(results: dict, compile_ms: dict, scaling: list[dict] | None, ceilings: dict | None = None) -> list[str]:
    """The brief's targets, each met or not, from this run's numbers."""
    def fastest(r, kind):
        return min(t for lib, t in r[kind].items() if lib != "ddc")

    def verdict(misses):
        return "met" if not misses else "**not met**: " + ", ".join(misses)

    out = ["## Targets", ""]
    for kind, label in (("grad", "Gradient"), ("forward", "Forward")):
        misses = [f"{n} {r[kind]['ddc'] / fastest(r, kind):.2f}x" for n, r in results.items()
                  if r[kind]["ddc"] > fastest(r, kind)]
        out.append(f"- {label}: ddc <= 1.0x the fastest peer on every workload: {verdict(misses)}")
        if misses and ceilings:
            out.append(f"  - where the time goes: the statements below; under them, {floor(ceilings)}")
    misses = [f"{n} {r['grad']['ddc'] / r['forward']['ddc']:.2f}x" for n, r in results.items()
              if r["grad"]["ddc"] > 3 * r["forward"]["ddc"]]
    out.append(f"- Gradient cost <= 3x forward cost: {verdict(misses)}")
    def largest_stage(c):
        stage = max(STAGES, key=lambda k: c[k])
        return f"{stage} {c[stage]:.0f} ms of it"

    misses = [f"{n} {c['total']:.0f} ms ({largest_stage(c)})" for n, c in compile_ms.items()
              if c["total"] > 50]
    out.append(f"- Compile <= 50 ms per workload: {verdict(misses)}")
    if scaling:
        ratio = scaling[-1]["us_per_node"] / scaling[0]["us_per_node"]
        out.append(f"- Compile time linear in program size (per node within 2x): "
                   f"{'met' if ratio <= 2 else '**not met**'} ({ratio:.2f}x)")
    if any("memory" in r for r in results.values()):
        misses = [n for n, r in results.items()
                  if r["memory"]["ddc"]["rss_mib"] > min(r["memory"][lib]["rss_mib"] for lib in ("jax", "torch")
                                                        if lib in r["memory"])]
        out.append(f"- Peak memory of a gradient call no higher than JAX's or PyTorch's: {verdict(misses)}")
    return out + [""]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", help="workload names to run")
    parser.add_argument("--libraries", nargs="*", default=list(LIBRARIES))
    parser.add_argument("--no-memory", action="store_true")
    parser.add_argument("--no-scaling", action="store_true")
    parser.add_argument("--no-ceilings", action="store_true")
    parser.add_argument("--output", default=str(HERE / "RESULTS.md"))
    args = parser.parse_args(argv)
    if "ddc" not in args.libraries:
        parser.error("ddc is the reference every library is checked against")

    import ddc

    start = time.perf_counter()
    ddc.loads("import layers\nimport losses\nimport metric\nimport sets\n")  # once per process
    parser_ms = (time.perf_counter() - start) * 1e3

    load_start = threads.os.getloadavg()[0]
    results, compile_ms = {}, {}
    for w in WORKLOADS:
        if args.only and w.name not in args.only:
            continue
        compile_ms[w.name] = compile_times(w)
        results[w.name] = run_workload(w, args.libraries, not args.no_memory)
        print(w.name, {k: v for k, v in results[w.name].items() if k in ("forward", "grad")}, flush=True)
    scaling = None
    if not args.no_scaling:
        from scaling import compile_time

        scaling = [compile_time(k) for k in (50, 5000)]
    ceilings = None
    if not args.no_ceilings:
        from ceilings import measure

        ceilings = measure()
    text = report(results, compile_ms, parser_ms, scaling, (load_start, threads.os.getloadavg()[0]), ceilings)
    Path(args.output).write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
