"""ddc from several threads: loading programs (one lark parser, shared under a lock),
`ddc.config` (a setting per thread or task, over the process default), and the runtime's
thread count read from OMP_NUM_THREADS."""
from __future__ import annotations

import os
import subprocess
import sys
import threading

import numpy as np
import pytest

import ddc
from ddc.codegen.numpy.runtime import thread_count
from ddc.dsl import parser

THREADS = 8


def run_in_threads(work, count: int = THREADS) -> list:
    """`work(k)` in `count` threads started together; their results (or exceptions), in order.
    A tiny switch interval makes the threads interleave inside the parser."""
    results: list = [None] * count
    start = threading.Barrier(count)

    def body(k):
        start.wait()
        try:
            results[k] = work(k)
        except Exception as e:  # handed back to the test
            results[k] = e

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        threads = [threading.Thread(target=body, args=(k,)) for k in range(count)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
    finally:
        sys.setswitchinterval(interval)
    return results


def program(i: int) -> str:
    return (f"def f{i}(x: f32[n], y: f32[n]) -> f32:\n"
            f"    z = (x * {i}.0 + y) * (x - y)\n"
            f"    w = exp(z[0:2]) + [1.0, 2.0][0]\n"
            f"    return sum(z) + sum(w)\n")


def test_threads_parse_programs_at_once():
    def parse_many(k):
        # uncached: every call goes through lark
        return [parser.parse.__wrapped__(program(i), f"m{i}.dd").functions[0].name for i in range(k, 200, THREADS)]

    results = run_in_threads(parse_many)
    assert results == [[f"f{i}" for i in range(k, 200, THREADS)] for k in range(THREADS)]


def test_threads_get_the_right_syntax_errors_at_once():
    bad = "def f(x: f32) -> f32:\n    return (x + 1.0\n"

    def fail(k):
        errors = []
        for _ in range(20):
            try:
                parser.parse.__wrapped__(bad, "bad.dd")
            except ddc.DDSyntaxError as e:
                errors.append((e.message, e.line, e.col))
            parser.parse.__wrapped__(program(k), "ok.dd")
        return set(errors)

    assert run_in_threads(fail) == [{("unclosed '('", 2, 12)}] * THREADS


def test_threads_load_and_run_programs_at_once():
    x, y = np.arange(3, dtype=np.float32), np.ones(3, np.float32)

    def load_and_run(k):
        source = "import losses\n\n" + program(k) + f"\ndef g(x: f32[n], y: f32[n]) -> f32:\n    return f{k}(x, y)\n"
        return float(ddc.loads(source, name=f"m{k}").g(x, y))

    expected = [float(np.sum((x * k + y) * (x - y)) + np.sum(np.exp(((x * k + y) * (x - y))[:2]) + 1.0))
                for k in range(THREADS)]
    np.testing.assert_allclose(run_in_threads(load_and_run), expected, rtol=1e-6)


# -- ddc.config ------------------------------------------------------------------------------

def test_config_in_one_thread_leaves_the_others_alone():
    inside, outside = threading.Event(), threading.Event()
    seen = {}

    def scoped():
        with ddc.config(debug_nans=True):
            inside.set()
            outside.wait(10)
            seen["scoped, inside"] = ddc.config.debug_nans
        seen["scoped, after"] = ddc.config.debug_nans

    def other():
        inside.wait(10)
        seen["other"] = ddc.config.debug_nans
        outside.set()

    threads = [threading.Thread(target=scoped), threading.Thread(target=other)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert seen == {"scoped, inside": True, "scoped, after": False, "other": False}
    assert ddc.config.debug_nans is False


def test_config_blocks_in_many_threads_restore_their_own_values():
    def flip(k):
        wanted = k % 2 == 0
        for _ in range(200):
            with ddc.config(debug_nans=wanted):
                if ddc.config.debug_nans is not wanted:
                    return "saw another thread's setting"
            if ddc.config.debug_nans is not False:
                return "kept a setting after its block"
        return "ok"

    assert run_in_threads(flip) == ["ok"] * THREADS
    assert ddc.config.debug_nans is False


def test_config_set_without_a_block_holds_in_its_thread_only():
    def set_it(k):
        ddc.config(debug_nans=True)
        return ddc.config.debug_nans

    assert run_in_threads(set_it, 2) == [True, True]
    assert ddc.config.debug_nans is False  # this thread never set it


def test_config_debug_nans_runs_the_checking_code_in_threads():
    f = ddc.loads("def f(x: f32[n]) -> f32:\n    return sum(log(x))\n").f

    def call(k):
        with ddc.config(debug_nans=k % 2 == 0), np.errstate(invalid="ignore"):  # both per thread
            try:
                f(np.array([-1.0], np.float32))
            except ddc.NumericsError:
                return "raised"
            return "nan"

    assert run_in_threads(call) == ["raised", "nan"] * (THREADS // 2)


# -- OMP_NUM_THREADS -------------------------------------------------------------------------

@pytest.mark.parametrize("value, threads", [
    ("4", 4), ("4,2", 4), (" 3 , 1", 3), ("", 6), (None, 6), ("0", 6), ("-2", 6), ("four", 6),
    ("4.5", 6), ("1" * 5000, 6), ("99999", 6), ("\u0663", 6),  # an Arabic-Indic three
])
def test_thread_count_reads_the_first_omp_entry_or_falls_back(value, threads):
    assert thread_count(value, 6) == threads
    assert thread_count(value, None) == (threads if threads != 6 else 1)


def test_an_omp_list_does_not_crash_ddc():
    env = dict(os.environ, OMP_NUM_THREADS="4,2")
    code = ("import numpy as np, ddc\n"
            "from ddc.codegen.numpy import runtime as numpy_runtime\n"
            "f = ddc.loads('def f(x: f32[n]) -> f32:\\n    return sum(x)\\n').f\n"
            "print(numpy_runtime.THREADS, f(np.ones(3, np.float32)))\n")
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["4", "3.0"]
