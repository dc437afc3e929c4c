"""Peak memory of one gradient call, one library per fresh process.

    python benchmarks/memory.py WORKLOAD LIBRARY   # prints one JSON line

The same method for every library: after the inputs exist and one warm-up call has
compiled everything, the kernel's peak-RSS counter is reset (`/proc/self/clear_refs`,
value 5), one gradient call runs, and the peak is read back (`VmHWM`); the figure is that
peak minus the resident size just before the call, so it counts the call's temporaries
and its outputs. `run()` starts the process with glibc's mmap threshold fixed at 64 KiB
(`MALLOC_MMAP_THRESHOLD_`), so every large buffer is mapped on allocation and unmapped on
free, in every library alike, instead of lingering in malloc's heap from the warm-up.
Where the library can say more: tracemalloc's peak for numpy and ddc (numpy reports its
buffers to it), XLA's own buffer assignment for jax (`memory_analysis()`: temporaries plus
outputs).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import threads  # noqa: F401  (first: thread settings before any numeric library)

HERE = Path(__file__).resolve().parent


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def _rss_peak_mib(call) -> float:
    import gc

    gc.collect()
    Path("/proc/self/clear_refs").write_text("5")
    before = _status_kib("VmRSS")
    result = call()
    peak = _status_kib("VmHWM")
    del result
    return (peak - before) / 1024


def _tracemalloc_peak_mib(call) -> float:
    import tracemalloc

    tracemalloc.start()
    result = call()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del result
    return peak / 2**20


def _xla_mib(workload, inputs) -> float:
    import jax
    import jax.numpy as jnp

    loss = workload.jax_loss(jnp, jax)
    compiled = jax.jit(jax.grad(loss, argnums=workload.argnums)).lower(*inputs).compile()
    stats = compiled.memory_analysis()
    return (stats.temp_size_in_bytes + stats.output_size_in_bytes) / 2**20


def measure(workload_name: str, library: str) -> dict:
    import numpy as np

    from runners import prepare
    from workloads import WORKLOADS

    (workload,) = [w for w in WORKLOADS if w.name == workload_name]
    inputs = workload.make_inputs(np.random.default_rng(0))
    runner = prepare(workload, library, inputs)
    runner.grad()
    out = {"rss_mib": _rss_peak_mib(runner.grad)}
    if library in ("numpy", "ddc"):
        out["tracemalloc_mib"] = _tracemalloc_peak_mib(runner.grad)
    if library == "jax":
        out["xla_mib"] = _xla_mib(workload, inputs)
    return out


def run(workload_name: str, library: str) -> dict:
    """`measure` in a fresh process."""
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_="65536")
    proc = subprocess.run([sys.executable, str(HERE / "memory.py"), workload_name, library],
                          capture_output=True, text=True, env=env, cwd=HERE)
    if proc.returncode != 0:
        raise RuntimeError(f"memory.py {workload_name} {library} failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    print(json.dumps(measure(sys.argv[1], sys.argv[2])))
