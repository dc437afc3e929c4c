"""Helpers called by code that ddc's numpy backend generates.

This file is copied verbatim into every exported module (`ddc compile ... -o f.py`), with
its import of the shared runtime (`codegen.common.runtime`) replaced by that file, so it
needs numpy alone. None of its top-level names ends in `_<digits>`, the shape of every
name the code generator mints, so generated names never shadow these.
"""
import math
import os
from typing import TYPE_CHECKING

import numpy as np

from ddc.codegen.common.runtime import (  # noqa: F401  (exports embed that file here)
    ArgumentError, IndexFault, PYTHON_KINDS, dim_error, dim_fault, multiply_out, size_error)

if TYPE_CHECKING:
    from concurrent.futures import ThreadPoolExecutor  # imported when the pool is made

bool_ = np.dtype("bool")
i32 = np.dtype("int32")
i64 = np.dtype("int64")
f32 = np.dtype("float32")
f64 = np.dtype("float64")


# -- argument checks: the generated code inlines the fast path and calls these otherwise --

def check_array(value, dtype, ndim, who, declared):
    """Turn `value` into an array of `dtype` and rank `ndim`, or say what is wrong with it.

    Numbers (Python's, and numpy scalars such as np.float64(0.1), which is a Python float)
    and lists take the declared dtype when their kind fits (an int for a float parameter is
    fine), as a literal in the source would; arrays must already have it, as a silent cast
    to another float dtype would change the numbers.
    """
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, (bool, int, float, list, tuple)):
        array = python_array(value, dtype, who, declared)
    else:
        array = np.asarray(value)
    if array.dtype != dtype:
        raise ArgumentError(
            f"{who} expects {declared}, got a {array.dtype} array; "
            f"cast it first, e.g. np.asarray(value, dtype=np.{dtype.name})",
            parameter=who, expected=declared, got=array.dtype)
    if array.ndim != ndim:
        raise ArgumentError(f"{who} expects {ndim} dims ({declared}), got shape {array.shape}",
                            parameter=who, expected=declared, got=array.shape)
    return array


def python_array(value, dtype, who, declared):
    try:
        inferred = np.asarray(value)
    except ValueError as e:
        raise ArgumentError(f"{who} expects {declared}, got a value numpy cannot read: {e}",
                            parameter=who, expected=declared) from None
    if inferred.size and dtype.kind not in PYTHON_KINDS.get(inferred.dtype.kind, ""):
        raise ArgumentError(f"{who} expects {declared}, got Python values of dtype {inferred.dtype}",
                            parameter=who, expected=declared, got=inferred.dtype)
    try:
        return np.asarray(value, dtype=dtype)
    except OverflowError as e:
        raise ArgumentError(f"{who} expects {declared}: {e}", parameter=who, expected=declared) from None


_UNSIGNED = {4: np.dtype("uint32"), 8: np.dtype("uint64")}


def check_indices(check, idx, bound, first_row=0):
    """Raise unless every element of the integer array `idx` lies in [0, bound). One pass:
    seen as unsigned, a negative index is larger than any bound. `first_row`: where the
    rows of `idx` start in the whole index (a row block checks its own rows)."""
    if idx.size and np.maximum.reduce(idx.view(_UNSIGNED[idx.dtype.itemsize]), axis=None) >= bound:
        bad = tuple(int(i) for i in np.argwhere((idx < 0) | (idx >= bound))[0])
        at = (bad[0] + first_row,) + bad[1:] if bad else bad
        raise IndexFault(check, (at, int(idx[bad]), int(bound)))


# -- primitives that are more than one numpy call ------------------------------------------

def logistic(x):
    """1 / (1 + exp(-x)), from exp(-|x|) so that no large |x| overflows."""
    e = np.exp(-np.abs(x))
    r = 1 / (1 + e)
    return np.where(x >= 0, r, e * r)


def erf(x):
    """C's `erf` of each element in f64, rounded to x's dtype: the reference evaluator's
    definition (`ir.reference._erf`), so the two agree bit for bit. numpy has no erf and
    exported modules need numpy alone, hence `math.erf` one element at a time."""
    x = np.asarray(x)
    return np.asarray(_ERF(x), dtype=x.dtype)


_ERF = np.frompyfunc(math.erf, 1, 1)


def sign(x, out=None):
    """The sign of a float: -1, 1, or x itself at ±0 and NaN (np.sign gives +0 at -0.0)."""
    return np.copysign(np.sign(x, out=out), x, out=out)


def power(x, y, out=None):
    """`np.power(x, y)` as C's pow: numpy computes a scalar exponent of 0.5 as a square
    root, which is -0.0 at -0.0 and NaN at -inf, where pow gives +0.0 and inf."""
    if np.ndim(y) or y != 0.5:
        return np.power(x, y, out=out)
    r = np.where(x == -np.inf, np.inf, np.sqrt(x) + 0)
    if out is None:
        return r[()]
    out[...] = r
    return out


def convert(x, dtype):
    """`x.astype(dtype)`, where a float becomes an int by truncation toward zero, NaN is 0
    and a value beyond the int type's range is its min or max (numpy leaves those
    undefined)."""
    if x.dtype.kind != "f" or dtype.kind not in "iu":
        return x.astype(dtype)
    info = np.iinfo(dtype)
    low, high = float(info.min), -float(info.min)  # -2**(bits-1), 2**(bits-1): exact in floats
    inside = (x >= low) & (x < high)
    r = np.where(inside, x, 0).astype(dtype)
    r = np.where(x >= high, info.max, np.where(x < low, info.min, r)).astype(dtype, copy=False)
    return r[()]


def integer_pow(x, n):
    """x ** n for a constant int n; always a fresh array (x ** 1 is a copy)."""
    if n == 0:
        return np.ones_like(x)
    if n == 1:
        return np.positive(x)
    return multiply_out(x, n, np.multiply, lambda a: np.multiply(a, a), lambda a: np.divide(1, a))


BLOCK_SIZE = 1 << 16  # elements per block of the blockwise helpers: cache-sized temporaries


SELECT_WHERE_MAX = 1 << 11  # elements: below, np.where's fixed cost is the smaller


def select(pred, on_true, on_false, out=None):
    """`np.where(pred, on_true, on_false)`, for floats by bit masks: numpy's `where` decides
    element by element and runs several times slower. Exact, NaNs and signed zeros included:
    each result element is one operand's bits. Large arrays go in row blocks, so the integer
    mask is a small temporary that stays in cache."""
    if np.ndim(pred) == 0 or pred.size < SELECT_WHERE_MAX:
        return _where(pred, on_true, on_false, out)
    dtype = np.result_type(on_true, on_false)
    if dtype.kind != "f":
        return _where(pred, on_true, on_false, out)
    if pred.size <= BLOCK_SIZE:  # one block: no slicing, so numpy broadcasts the operands
        return _select_bits(pred, on_true, on_false, dtype, out)
    shape = np.broadcast_shapes(np.shape(pred), np.shape(on_true), np.shape(on_false))
    if out is None:
        out = np.empty(shape, dtype)
    # scalars stay scalars (a zero one picks the cheaper mask); arrays are sliced by rows
    p, t, f = (x if np.ndim(x) == 0 else np.broadcast_to(x, shape) for x in (pred, on_true, on_false))
    rows = max(1, BLOCK_SIZE // max(1, out.size // max(1, out.shape[0])))

    def block(lo):
        b = slice(lo, lo + rows)
        _select_bits(p[b], t if np.ndim(t) == 0 else t[b], f if np.ndim(f) == 0 else f[b], dtype, out[b])

    blocks = range(0, out.shape[0], rows)
    if out.size < PARALLEL_MIN_SIZE:
        for lo in blocks:
            block(lo)
    else:
        share(block, blocks)
    return out


def _where(pred, on_true, on_false, out):
    picked = np.where(pred, on_true, on_false)
    if out is None:
        return picked
    out[...] = picked
    return out


_SAME_SIZE_INT = {2: np.dtype("int16"), 4: i32, 8: i64}


def _select_bits(pred, on_true, on_false, dtype, out):
    bits = _SAME_SIZE_INT[dtype.itemsize]
    t = on_true if type(on_true) is np.ndarray and on_true.dtype == dtype else np.asarray(on_true, dtype)
    f = on_false if type(on_false) is np.ndarray and on_false.dtype == dtype else np.asarray(on_false, dtype)
    result = None if out is None else out.view(bits)
    if f.ndim == 0 and f.view(bits) == 0:  # `where(p, x, 0)`, as relu: x's bits where p, else +0.0
        r = np.bitwise_and(t.view(bits), np.negative(pred, dtype=bits), out=result)
    elif t.ndim == 0 and t.view(bits) == 0:
        r = np.bitwise_and(f.view(bits), np.subtract(pred, 1, dtype=bits), out=result)
    else:
        t, f = t.view(bits), f.view(bits)
        r = np.bitwise_xor(f, np.bitwise_and(np.bitwise_xor(t, f), np.negative(pred, dtype=bits)), out=result)
    return r.view(dtype) if out is None else out


BROADCAST_COPY_MAX = 1 << 12  # elements


def broadcast(x, shape):
    """`np.broadcast_to(x, shape)`, a read-only view; up to BROADCAST_COPY_MAX elements a
    copy instead, made in about a microsecond, where broadcast_to's own Python takes ten."""
    size = 1
    for n in shape:
        size *= n
    if size > BROADCAST_COPY_MAX:
        return np.broadcast_to(x, shape)
    out = np.empty(shape, x.dtype)
    out[...] = x
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
    if axis == batch_dims:  # nothing to move (a label per row, say): indexing alone
        return x[index]
    picked = np.moveaxis(x, axis, batch_dims)[index]
    return picked.transpose(order + tuple(range(len(order), picked.ndim)))


def scatter_add(updates, idx, axis, batch_dims, shape):
    """The transpose of `gather` in x: zeros of `shape` with `updates` added at `idx`
    (repeated indices add up)."""
    return scatter_add_into(np.zeros(shape, updates.dtype), updates, idx, axis, batch_dims)


def add_scatter(x, updates, idx, axis, batch_dims, out=None):
    """`x + scatter_add(updates, idx, ...)` without the zeros: `x + 0.0` (into `out`, which
    may be x), with the updates added at their indices. The same numbers when no two
    updates share a place, as `(x + 0.0) + u` is `x + (0.0 + u)` for every x and u."""
    return scatter_add_into(np.add(x, 0, out=out), updates, idx, axis, batch_dims)


def scatter_add_into(out, updates, idx, axis, batch_dims):
    """`out + scatter_add(updates, idx, ...)`, added into `out` in place and returned."""
    index, order = batched_index(idx, axis, batch_dims, axis - batch_dims)
    if axis == batch_dims:  # nothing to move: add at the index alone
        np.add.at(out, index, updates)
        return out
    order = order + tuple(range(len(order), updates.ndim))
    np.add.at(np.moveaxis(out, axis, batch_dims), index, np.transpose(updates, np.argsort(order)))
    return out


# -- max and min against a scalar ---------------------------------------------------------

# numpy's maximum/minimum/fmax/fmin loops have no vector path for a scalar operand: a relu
# as np.maximum(x, 0) runs ~5x slower than np.maximum(x, zeros) (numpy 2.4, AVX2). So the
# scalar goes in as a cached array of its value, a chunk at a time.
SCALAR_CHUNK = 1 << 16
SCALAR_MIN_SIZE = 1 << 12  # below this, the plain call is as fast
_filled: dict[tuple, np.ndarray] = {}  # (dtype char, scalar, its sign) -> its chunk


def filled_chunk(dtype, scalar):
    """A cached array of SCALAR_CHUNK elements equal to `scalar`, of `dtype`."""
    key = (dtype.char, scalar, math.copysign(1.0, scalar))  # -0.0 is not 0.0 here
    filled = _filled.get(key)
    if filled is None:
        if len(_filled) >= 16:
            _filled.clear()
        filled = _filled[key] = np.full(SCALAR_CHUNK, scalar, dtype)
    return filled


def relu(x, out=None):
    """max(x, 0) with relu(NaN) = NaN and relu(±0) = +0: np.maximum keeps NaN and gives
    either zero at -0.0, and adding +0.0 makes every zero +0.0 and changes nothing else.
    Large arrays go a chunk at a time, the add while the chunk is in cache, against a
    cached array of zeros (see with_scalar)."""
    contiguous = type(x) is np.ndarray and x.flags.c_contiguous and (out is None or out.flags.c_contiguous)
    if not contiguous or x.size < SCALAR_MIN_SIZE:
        r = np.maximum(x, x.dtype.type(0), out=out)
        return np.add(r, 0, out=r) if np.ndim(r) else r + 0
    zeros = filled_chunk(x.dtype, 0.0)
    if out is None:
        out = np.empty(x.shape, x.dtype)
    flat, dest = x.reshape(-1), out.reshape(-1)
    for lo in range(0, flat.size, SCALAR_CHUNK):
        part = dest[lo:lo + SCALAR_CHUNK]
        np.add(np.maximum(flat[lo:lo + SCALAR_CHUNK], zeros[:part.size], out=part), 0, out=part)
    return out


def with_scalar(ufunc, x, y, out=None):
    """`ufunc(x, y, out=out)`, where one of x and y is a scalar of the other's dtype."""
    if type(x) is np.ndarray and type(y) is not np.ndarray:
        array, scalar = x, y
    elif type(y) is np.ndarray and type(x) is not np.ndarray:
        array, scalar = y, x
    else:
        return ufunc(x, y, out=out)
    size = array.size
    if size < SCALAR_MIN_SIZE or scalar != scalar:  # nan: no cache entry would ever match
        return ufunc(x, y, out=out)
    filled = filled_chunk(array.dtype, scalar)
    if size <= SCALAR_CHUNK:  # a row block's worth: one call
        const = filled[:size].reshape(array.shape)
        return ufunc(array, const, out=out) if array is x else ufunc(const, array, out=out)
    if not array.flags.c_contiguous or out is not None and not out.flags.c_contiguous:
        return ufunc(x, y, out=out)
    if out is None:
        out = np.empty(array.shape, array.dtype)
    flat, dest = array.reshape(-1), out.reshape(-1)
    for lo in range(0, size, SCALAR_CHUNK):
        part = flat[lo:lo + SCALAR_CHUNK]
        pair = (part, filled[:part.size]) if array is x else (filled[:part.size], part)
        ufunc(*pair, out=dest[lo:lo + SCALAR_CHUNK])
    return out


# -- large elementwise work across cores ---------------------------------------------------

# numpy's transcendental loops run one element at a time and release the GIL, so a large
# array split into row blocks runs on every core. The thread count follows OMP_NUM_THREADS
# (as numpy's BLAS does), else the machine's cores.


def thread_count(omp_num_threads: str | None, cores: int | None) -> int:
    """The first entry of OMP_NUM_THREADS (an OpenMP list like `4,2` gives each nesting
    level its count; only the outermost is ours), else `cores`; anything that is not a
    positive integer (garbage, 0, a huge number) falls back to `cores`, never an error."""
    first = (omp_num_threads or "").split(",")[0].strip()
    if first.isascii() and first.isdigit() and len(first) <= 4 and int(first) > 0:
        return int(first)
    return max(1, cores or 1)


THREADS = thread_count(os.environ.get("OMP_NUM_THREADS"), os.cpu_count())
# Below this many elements, work stays on the calling thread: handing it over costs more
# than it saves, and on a busy machine a helper may wait long for a core.
PARALLEL_MIN_SIZE = 1 << 20
_pool: list["ThreadPoolExecutor"] = []  # the one pool, made on first use


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
