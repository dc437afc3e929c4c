"""Helpers called by code that ddc's numpy backend generates.

This file is copied verbatim into every exported module (`ddc compile ... -o f.py`), so it
needs numpy alone. None of its top-level names ends in `_<digits>`, the shape of every
name the code generator mints, so generated names never shadow these.
"""
import os

import numpy as np

bool_ = np.dtype("bool")
i32 = np.dtype("int32")
i64 = np.dtype("int64")
f32 = np.dtype("float32")
f64 = np.dtype("float64")


class ArgumentError(ValueError):
    """An argument that does not match the compiled function's signature."""


# -- argument checks: the generated code inlines the fast path and calls these otherwise --

# The kinds of array a Python literal may become: ints fit int and float parameters.
PYTHON_KINDS = {"b": "b", "i": "if", "f": "f"}


def check_array(value, dtype, ndim, who, declared):
    """Turn `value` into an array of `dtype` and rank `ndim`, or say what is wrong with it.

    Python numbers and lists take the declared dtype when their kind fits (an int literal
    for a float parameter is fine); arrays must already have it, as a silent cast to
    another float dtype would change the numbers.
    """
    if isinstance(value, (bool, int, float, list, tuple)) and not isinstance(value, np.generic):
        array = python_array(value, dtype, who, declared)
    else:
        array = np.asarray(value)
    if array.dtype != dtype:
        raise ArgumentError(
            f"{who} expects {declared}, got a {array.dtype} array; "
            f"cast it first, e.g. np.asarray(value, dtype=np.{dtype.name})"
        )
    if array.ndim != ndim:
        raise ArgumentError(f"{who} expects {ndim} dims ({declared}), got shape {array.shape}")
    return array


def python_array(value, dtype, who, declared):
    try:
        inferred = np.asarray(value)
    except ValueError as e:
        raise ArgumentError(f"{who} expects {declared}, got a value numpy cannot read: {e}") from None
    if inferred.size and dtype.kind not in PYTHON_KINDS.get(inferred.dtype.kind, ""):
        raise ArgumentError(f"{who} expects {declared}, got Python values of dtype {inferred.dtype}")
    try:
        return np.asarray(value, dtype=dtype)
    except OverflowError as e:
        raise ArgumentError(f"{who} expects {declared}: {e}") from None


def dim_error(who, axis, size, dim, bound, binder):
    return ArgumentError(f"dim {dim} of {who} is {size}, but {binder} bound {dim} = {bound} (axis {axis})")


def size_error(who, axis, size, declared_size, expected):
    wanted = declared_size if declared_size == str(expected) else f"{declared_size} = {expected}"
    return ArgumentError(f"dim {axis} of {who} is {size}, expected {wanted}")


# -- primitives that are more than one numpy call ------------------------------------------

def logistic(x):
    """1 / (1 + exp(-x)), from exp(-|x|) so that no large |x| overflows."""
    e = np.exp(-np.abs(x))
    r = 1 / (1 + e)
    return np.where(x >= 0, r, e * r)


BLOCK_SIZE = 1 << 16  # elements per block of the blockwise helpers: cache-sized temporaries


def select(pred, on_true, on_false, out=None):
    """`np.where(pred, on_true, on_false)`, for floats by bit masks: numpy's `where` decides
    element by element and runs several times slower. Exact, NaNs and signed zeros included:
    each result element is one operand's bits. Runs in row blocks, so the integer mask is a
    small temporary that stays in cache."""
    dtype = np.result_type(on_true, on_false)
    if dtype.kind != "f" or np.ndim(pred) == 0:
        return np.where(pred, on_true, on_false)
    bits = np.dtype(f"i{dtype.itemsize}")
    p, t, f = np.broadcast_arrays(pred, np.asarray(on_true, dtype), np.asarray(on_false, dtype))
    if out is None:
        out = np.empty(p.shape, dtype)
    t, f, result = t.view(bits), f.view(bits), out.view(bits)
    false_is_zero = np.ndim(on_false) == 0 and np.asarray(on_false, dtype).view(bits) == 0
    true_is_zero = np.ndim(on_true) == 0 and np.asarray(on_true, dtype).view(bits) == 0
    rows = max(1, BLOCK_SIZE // max(1, out.size // max(1, out.shape[0])))
    for lo in range(0, out.shape[0], rows):
        b = slice(lo, lo + rows)
        if false_is_zero:  # `where(p, x, 0)`, as relu: x's bits where p, else +0.0
            np.bitwise_and(t[b], np.negative(p[b], dtype=bits), out=result[b])
        elif true_is_zero:
            np.bitwise_and(f[b], np.subtract(p[b], 1, dtype=bits), out=result[b])
        else:
            mixed = np.bitwise_and(np.bitwise_xor(t[b], f[b]), np.negative(p[b], dtype=bits))
            np.bitwise_xor(f[b], mixed, out=result[b])
    return out


def int_div(x, y):
    """Integer division rounding toward zero, as lax.div does (numpy's // rounds down)."""
    q = x // y
    return q + ((q < 0) & (q * y != x))


def pad(x, low, high, interior):
    """Zero padding as lax.pad does it: `interior` zeros between neighbours, then `low` and
    `high` zeros at the ends, where a negative amount crops instead."""
    x = np.asarray(x)
    grown = [d + max(d - 1, 0) * k for d, k in zip(x.shape, interior)]
    out = np.zeros([g + max(lo, 0) + max(hi, 0) for g, lo, hi in zip(grown, low, high)], x.dtype)
    out[tuple(slice(max(lo, 0), max(lo, 0) + g, k + 1) for g, lo, k in zip(grown, low, interior))] = x
    return out[tuple(slice(max(-lo, 0), n - max(-hi, 0)) for n, lo, hi in zip(out.shape, low, high))]


def batched_index(idx, axis, batch_dims, n_middle):
    """How gather and scatter_add address x: `np.moveaxis(x, axis, batch_dims)` indexed by
    the returned tuple picks x[b, ..., idx[b], ...] for every batch position b, giving dims
    batch + idx + middle + rest; `order` permutes those to x's order, batch + middle + idx
    + rest (middle: the dims of x between the batch dims and `axis`)."""
    grid = tuple(
        np.arange(n).reshape((n,) + (1,) * (idx.ndim - 1 - j))
        for j, n in enumerate(idx.shape[:batch_dims])
    )
    b, i, m = batch_dims, idx.ndim - batch_dims, n_middle
    order = (*range(b), *range(b + i, b + i + m), *range(b, b + i))
    return grid + (idx,), order


def gather(x, idx, axis, batch_dims):
    """`np.take(x, idx, axis)` mapped over the leading `batch_dims` dims of x and idx."""
    index, order = batched_index(idx, axis, batch_dims, axis - batch_dims)
    picked = np.moveaxis(x, axis, batch_dims)[index]
    return picked.transpose(order + tuple(range(len(order), picked.ndim)))


def scatter_add(updates, idx, axis, batch_dims, shape):
    """The transpose of `gather` in x: zeros of `shape` with `updates` added at `idx`
    (repeated indices add up)."""
    return scatter_add_into(np.zeros(shape, updates.dtype), updates, idx, axis, batch_dims)


def scatter_add_into(out, updates, idx, axis, batch_dims):
    """`out + scatter_add(updates, idx, ...)`, added into `out` in place and returned."""
    index, order = batched_index(idx, axis, batch_dims, axis - batch_dims)
    order = order + tuple(range(len(order), updates.ndim))
    np.add.at(np.moveaxis(out, axis, batch_dims), index, np.transpose(updates, np.argsort(order)))
    return out


# -- large elementwise work across cores ---------------------------------------------------

# numpy's transcendental loops run one element at a time and release the GIL, so a large
# array split into row blocks runs on every core. The thread count follows OMP_NUM_THREADS
# (as numpy's BLAS does), else the machine's cores.
THREADS = max(1, int(os.environ.get("OMP_NUM_THREADS") or os.cpu_count() or 1))
# Below this many elements, work stays on the calling thread: handing it over costs more
# than it saves, and on a busy machine a helper may wait long for a core.
PARALLEL_MIN_SIZE = 1 << 20
_pool = []


def share(task, items):
    """`task(item)` for every item, here and on up to THREADS - 1 pool threads that take
    items from one queue as they come free. Threads that have not started when the queue
    runs dry (on a busy machine a pool thread may wait for a core) are cancelled, not
    waited for: the caller only waits for items already in progress."""
    items = iter(items)

    def drain():
        for item in items:
            task(item)

    if THREADS == 1:
        return drain()
    if not _pool:
        from concurrent.futures import ThreadPoolExecutor

        _pool.append(ThreadPoolExecutor(THREADS - 1, thread_name_prefix="ddc"))
    helpers = [_pool[0].submit(drain) for _ in range(THREADS - 1)]
    drain()
    for h in helpers:
        if not h.cancel():
            h.result()


def parallel(ufunc, x, out=None):
    """`ufunc(x, out=out)` over blocks of rows of a large `x`, shared among threads."""
    rows = x.shape[0] if x.ndim else 0
    if THREADS == 1 or x.size < PARALLEL_MIN_SIZE or rows < 2:
        return ufunc(x, out=out)
    if out is None:
        out = np.empty(x.shape, x.dtype)
    step = max(1, rows * BLOCK_SIZE // x.size)
    share(lambda lo: ufunc(x[lo:lo + step], out=out[lo:lo + step]), range(0, rows, step))
    return out


def run_rows(block, rows, row_size, args=()):
    """`block(lo, hi, *args)` over cache-sized blocks of `rows` rows, shared among threads;
    work too small to share runs as one block."""
    if THREADS == 1 or rows * row_size < PARALLEL_MIN_SIZE:
        block(0, rows, *args)  # one block: per-block calls would cost more than cache misses
        return
    step = max(1, BLOCK_SIZE // max(1, row_size))
    share(lambda lo: block(lo, min(lo + step, rows), *args), range(0, rows, step))
