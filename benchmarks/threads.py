"""One thread count for every library, set before numpy, jax or torch is imported.

Import this module first in every benchmark process (the subprocesses that measure
memory inherit the environment). `THREADS` defaults to the machine's cores; the
DDC_BENCH_THREADS variable overrides it.

Some machines here set OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE so that old OpenBLAS builds
run correctly; they slow a current numpy, so a benchmark process drops both (together,
and only in its own environment: tests never do). `blas_kernel()` reports which kernel
OpenBLAS then runs, from threadpoolctl.
"""
from __future__ import annotations

import os

THREADS = int(os.environ.get("DDC_BENCH_THREADS") or os.cpu_count() or 1)
DROPPED = {k: os.environ.pop(k) for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE") if k in os.environ}

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = str(THREADS)
# OpenMP runtimes keep their threads spinning after a parallel region (Intel's, which
# PyTorch's MKL build uses, for 200 ms): in one process with other libraries, those spinning
# threads take the cores that OpenBLAS's threads wait for, and the next numpy call runs up
# to 100x slower. Sleeping at once costs PyTorch a wake-up per op instead; every library
# then has the cores to itself while it runs.
os.environ["KMP_BLOCKTIME"] = "0"
os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
# OpenBLAS's own (pthreads) threads do the same after each BLAS call unless told to sleep
# at once: elementwise work that follows a matrix product on other threads (ddc's row
# blocks) then finds no free core. The same setting for hand-written numpy and ddc.
os.environ["OPENBLAS_THREAD_TIMEOUT"] = "4"
# XLA's CPU client sizes its pools from these; Eigen's intra-op pool follows the flag.
os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen=true"
                           f" intra_op_parallelism_threads={THREADS}").strip()
os.environ.setdefault("JAX_PLATFORMS", "cpu")


def settings() -> dict[str, str]:
    keys = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "KMP_BLOCKTIME",
            "OMP_WAIT_POLICY", "OPENBLAS_THREAD_TIMEOUT", "XLA_FLAGS")
    out = {k: os.environ[k] for k in keys}
    out["torch.set_num_threads"] = str(THREADS)
    if DROPPED:
        out["dropped for this process"] = ", ".join(f"{k}={v}" for k, v in DROPPED.items())
    return out


def blas_kernel() -> str:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "unknown (threadpoolctl not installed)"
    import numpy  # noqa: F401  (loads the BLAS threadpoolctl reports on)

    infos = [i for i in threadpool_info() if i.get("user_api") == "blas"]
    return "; ".join(f"{i['internal_api']} {i.get('version')} {i.get('architecture')} "
                     f"x{i['num_threads']}" for i in infos) or "none found"


def setup_torch(torch) -> None:
    torch.set_num_threads(THREADS)
