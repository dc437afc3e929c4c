"""The `ddc` command: check, run, ir, compile, viz.

Errors in the user's program print as `file:line:col: error`, the source line and a caret,
with exit status 1 and no traceback; usage errors exit 2 (argparse's convention).
"""
from __future__ import annotations

import argparse
import difflib
import math
import os
import sys
import traceback
from pathlib import Path

import numpy as np

from . import api
from .errors import DDError, DDNameError
from .files import open_regular
from .function import Function


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args) or 0
    except DDError as e:
        print(str(e), file=sys.stderr)
        return 1
    except (OSError, ValueError) as e:
        print(f"ddc: error: {e}", file=sys.stderr)
        return 1
    except MemoryError as e:  # the sizes the user asked for (the checks up front are best-effort)
        print(f"ddc: error: out of memory{f': {e}' if str(e) else ''}", file=sys.stderr)
        return 1
    except Exception as e:  # a bug in ddc itself: say so plainly
        if os.environ.get("DDC_DEBUG"):
            traceback.print_exc()
        print(f"ddc: internal error: {type(e).__name__}: {e}\n"
              "(set DDC_DEBUG=1 for the traceback; please report it)", file=sys.stderr)
        return 3


# -- argument parsing ----------------------------------------------------------------------

def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="ddc", description="Compile and run differentiable .dd programs.")
    sub = p.add_subparsers(dest="command", required=True)

    c = sub.add_parser("check", help="parse and check a .dd file")
    c.add_argument("file")
    c.set_defaults(handler=cmd_check)

    r = sub.add_parser("run", help="run a function and print its outputs")
    _common(r)
    r.add_argument("--arg", action="append", default=[], metavar="NAME=VALUE",
                   help="a number or a .npy file, for parameter NAME")
    r.add_argument("--random", action="store_true", help="fill missing arguments with seeded random data")
    r.add_argument("--dim", action="append", default=[], metavar="NAME=SIZE",
                   help="size of a symbolic dim, for --random")
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--int-high", type=int, default=2, help="random integers are drawn from [0, N)")
    r.set_defaults(handler=cmd_run)

    i = sub.add_parser("ir", help="print a function's IR")
    _common(i)
    i.add_argument("--stats", action="store_true", help="also print node counts by primitive")
    i.add_argument("--kernels", action="store_true", help="print the Triton fusion groups")
    i.set_defaults(handler=cmd_ir)

    k = sub.add_parser("compile", help="write a standalone module")
    _common(k)
    k.add_argument("-o", "--output", required=True)
    k.add_argument("--backend", choices=("numpy", "triton"), default="numpy")
    k.set_defaults(handler=cmd_compile)

    v = sub.add_parser("viz", help="draw a function's graph (.svg, .png, .pdf or .dot)")
    _common(v)
    v.add_argument("-o", "--output", required=True)
    v.add_argument("--kernels", action="store_true", help="draw fusion groups as clusters")
    v.add_argument("--lr", action="store_true", help="rank left to right")
    v.set_defaults(handler=cmd_viz)
    return p


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("file")
    p.add_argument("fn")
    p.add_argument("--grad", nargs="?", const="0", default=None, metavar="ARGNUMS",
                   help="the gradient w.r.t. ARGNUMS (comma separated, default 0)")
    p.add_argument("--jvp", action="store_true", help="the forward-mode (jvp) graph")
    p.add_argument("--vmap", default=None, metavar="AXES",
                   help="batch over AXES, one per parameter: e.g. 0,none")
    p.add_argument("--dtype", choices=("f32", "f64"), default="f32",
                   help="the float dtype for `float` signatures")


def _argnums(text: str):
    nums = tuple(int(x) for x in text.split(",") if x.strip())
    return nums[0] if len(nums) == 1 else nums


def _axes(text: str):
    return tuple(None if x.strip().lower() == "none" else int(x) for x in text.split(","))


def _refuse_overwriting_inputs(args) -> None:
    """`-o` must not name the program or a module it imports (by inode: links included)."""
    out = Path(args.output)
    if not out.exists():
        return
    for source in _source_files(args.file):
        if os.path.samefile(out, source):
            raise ValueError(f"refusing to write {out}: it is the program's source {source}"
                             if source == Path(args.file) else
                             f"refusing to write {out}: it is {source}, which the program imports")


def _source_files(path: str) -> list[Path]:
    """The file and every .dd file it imports (directly or not)."""
    from ddc.dsl.program import FunctionDef, Module

    seen, files = set(), [Path(path)]
    todo = [d.module for d in api.load(path).definitions.values()]
    while todo:
        module = todo.pop()
        if id(module) in seen:
            continue
        seen.add(id(module))
        if module.path is not None:
            files.append(module.path)
        todo += [m.module if isinstance(m, FunctionDef) else m for m in module.namespace.values()
                 if isinstance(m, (FunctionDef, Module))]
    return files


def _function(args) -> Function:
    """The function named on the command line, with the requested transforms applied."""
    module = api.load(args.file)
    if args.fn not in module.functions:
        close = difflib.get_close_matches(args.fn, module.functions, n=1)
        raise DDNameError(f"{args.file} has no function {args.fn!r}; it has: {', '.join(module.functions)}",
                          hint=f"did you mean {close[0]!r}?" if close else None)
    f = module.functions[args.fn]
    if args.jvp:
        f = _jvp_function(f)
    if args.grad is not None:
        f = api.grad(f, _argnums(args.grad))
    if args.vmap is not None:
        f = api.vmap(f, in_axes=_axes(args.vmap))
    return f


def _jvp_function(f: Function) -> Function:
    """f's jvp graph as a function of (primals..., tangents...)."""
    from ddc.passes.jvp import jvp as jvp_pass

    names = tuple(v.name or f"arg{i}" for i, v in enumerate(jvp_pass(f.graph).inputs))
    generic = tuple(f.generic) + (False,) * (len(names) - len(f.generic))
    return f.derive(f"jvp_{f.name}", lambda dt: jvp_pass(f.graph_for(dt)),
                    param_names=names, generic=generic)


def _dtype(args):
    from ddc.ir import DTYPES

    return DTYPES[args.dtype]


# -- commands ------------------------------------------------------------------------------

def cmd_check(args) -> int:
    module = api.load(args.file)
    for name, fdef in module.definitions.items():
        params = ", ".join(f"{p.name}: {p.type}" for p in fdef.params)
        rets = ", ".join(str(r) for r in fdef.returns)
        if fdef.returns_tuple:
            rets = f"({rets})"
        print(f"def {name}({params}) -> {rets}")
    print(f"ok: {args.file}: {len(module.definitions)} function(s)")
    return 0


def cmd_ir(args) -> int:
    f = _function(args)
    g = f.graph_for(_dtype(args))
    print(g, end="")
    if args.stats:
        stats = g.stats()
        print(f"# {len(g.nodes)} nodes: " + ", ".join(f"{k} {v}" for k, v in stats.items()))
    if args.kernels:
        from ddc.codegen.triton.partition import partition

        print(partition(g).describe(), end="")
    return 0


def cmd_compile(args) -> int:
    _refuse_overwriting_inputs(args)
    f = _function(args)
    g = f.graph_for(_dtype(args))
    if args.backend == "numpy":
        from ddc.codegen.numpy.backend import module_source
    else:
        from ddc.codegen.triton.backend import module_source
    text = module_source(g, args.fn)
    Path(args.output).write_text(text)
    print(f"wrote {args.output}: {args.fn}({', '.join(v.name or '?' for v in g.inputs)})")
    return 0


def cmd_viz(args) -> int:
    from .viz import write

    _refuse_overwriting_inputs(args)
    f = _function(args)
    message = write(f.graph_for(_dtype(args)), args.output, kernels=args.kernels,
                    rankdir="LR" if args.lr else "TB")
    print(message)
    return 0


def cmd_run(args) -> int:
    f = _function(args)
    g = f.graph_for(_dtype(args))
    given = {}
    for item in args.arg:
        name, eq, value = item.partition("=")
        if not eq:
            raise ValueError(f"--arg expects NAME=VALUE, got {item!r}")
        if name not in f.param_names:
            raise ValueError(f"{args.fn} has no parameter {name!r}; parameters: {', '.join(f.param_names)}")
        given[name] = load_npy(Path(value)) if value.endswith(".npy") else _number(value)
    dims = {}
    for item in args.dim:
        name, eq, value = item.partition("=")
        if not eq or not (value.isascii() and value.isdigit()) or len(value) > 19 or int(value) > MAX_DIM:
            raise ValueError(f"--dim expects NAME=SIZE with SIZE at most {MAX_DIM}, got {item[:80]!r}")
        dims[name] = int(value)
    missing = [(name, v) for name, v in zip(f.param_names, g.inputs) if name not in given]
    if missing and not args.random:
        name, v = missing[0]
        raise ValueError(f"missing argument {name} ({v.type}); pass --arg {name}=VALUE or --random")
    shapes = {name: _random_shape(v.type, dims, name) for name, v in missing}
    _check_memory({name: (shapes[name], v.type.dtype.np) for name, v in missing})
    rng = np.random.default_rng(args.seed)
    values = [given[name] if name in given else _random(rng, v.type, shapes[name], args.int_high)
              for name, v in zip(f.param_names, g.inputs)]
    outs = f(*values)
    outs = outs if isinstance(outs, tuple) else (outs,)
    np.set_printoptions(precision=6, suppress=True, threshold=200)
    for k, out in enumerate(outs):
        label = f"out{k}" if len(outs) > 1 else "out"
        out = np.asarray(out)
        print(f"{label}: {out.dtype}{list(out.shape)}\n{out}")
    return 0


def _number(text: str):
    try:
        return int(text)
    except ValueError:
        return float(text)


MAX_DIM = 2**63 - 1  # numpy indexes with int64


def _random_shape(t, dims, name) -> tuple[int, ...]:
    from ddc.ir import dims as D

    missing = sorted(set().union(*(D.names(d) for d in t.shape)) - set(dims)) if t.shape else []
    if missing:
        raise ValueError(f"--random needs sizes for dims {', '.join(missing)} of {name}: "
                         + " ".join(f"--dim {m}=N" for m in missing))
    return tuple(D.evaluate(d, dims) for d in t.shape)


def _check_memory(arrays: dict) -> None:
    """Refuse random arguments that need more bytes than the machine has, before any is made."""
    sizes = {name: math.prod(shape) * np.dtype(dtype).itemsize for name, (shape, dtype) in arrays.items()}
    total = sum(sizes.values())
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, OSError, ValueError):
        memory = 2**63
    if total > memory:
        biggest = max(sizes, key=sizes.__getitem__)
        shape, dtype = arrays[biggest]
        raise MemoryError(f"the random arguments need {total:,} bytes ({biggest}: {np.dtype(dtype).name}"
                          f"{list(shape)}, {sizes[biggest]:,} bytes), more than this machine's "
                          f"{memory:,} bytes of memory")


def load_npy(path: Path) -> np.ndarray:
    """A .npy file's array: a regular file, no pickled objects, and a header whose shape
    the file's bytes can hold (checked before the array is allocated)."""
    file, size = open_regular(path)
    with file:
        try:
            version = np.lib.format.read_magic(file)
            read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            shape, fortran, dtype = read_header(file)
        except ValueError as e:
            raise ValueError(f"{path} is not a .npy file: {e}") from None
        if dtype.hasobject:
            raise ValueError(f"{path} holds Python objects ({dtype}), which are never unpickled")
        needed = math.prod(shape) * dtype.itemsize
        if needed > size - file.tell():
            raise ValueError(f"{path}'s header asks for {dtype}{list(shape)} ({needed:,} bytes), "
                             f"but the file holds {size - file.tell():,} bytes of data")
        file.seek(0)
        return np.lib.format.read_array(file, allow_pickle=False)


def _random(rng, t, shape, int_high):
    if t.dtype.is_float:
        return rng.standard_normal(shape).astype(t.dtype.np)
    if t.dtype.is_bool:
        return rng.random(shape) < 0.5
    return rng.integers(0, int_high, size=shape).astype(t.dtype.np)


if __name__ == "__main__":
    sys.exit(main())
