"""Loading: source files -> parsed, linked and checked `Module`s, in a `Program`.

`import losses` / `from layers import f` look for `losses.dd` beside the importing file,
then in the stdlib folder. Each file is loaded once per `load`; an import cycle or a
missing module is a `DDImportError` at the import line. Once every module is linked, the
checker runs on every function, so a bad program fails here, at load time.

Stdlib modules are loaded once per process, like Python imports: they import only each
other and check the same whoever imports them, so a checked stdlib module is kept (keyed by
its path and text, so an edited file loads afresh) and every later `load` links to it.

The loader keeps what checking and lowering learn about the functions (`dsl.library`):
a `Program` holds the library of its own functions, which falls back to the stdlib's.
"""
from __future__ import annotations

from pathlib import Path

import ddc.stdlib
from ddc.errors import DDImportError, DDNameError, DDTypeError, Span
from ddc.files import MAX_SOURCE_BYTES, UnreadableFile, read_regular
from ddc.ir import Graph
from ddc.ir.dtypes import DType, f32, f64
from ddc.ir.types import TensorType

from . import ast
from .callcheck import did_you_mean
from .check import check_modules
from .library import Library
from .lower import lower_function
from .parser import parse
from .program import FunctionDef, Module
from .types import resolve

STDLIB = Path(ddc.stdlib.__file__).parent

_STDLIB_LOADED: dict[tuple[Path, str], Module] = {}  # (resolved path, text) -> checked module
_STDLIB_LIBRARY = Library()  # the checked info and graphs of their functions


class Program:
    """A loaded module (`module`; its `name`, `path` and `functions` are the program's)
    and the library of what is known about its functions and those it imports."""

    def __init__(self, module: Module, library: Library):
        self.module = module
        self.library = library

    @property
    def name(self) -> str:
        return self.module.name

    @property
    def path(self) -> Path | None:
        return self.module.path

    @property
    def functions(self) -> dict[str, FunctionDef]:
        return self.module.functions

    def lower(self, fn: FunctionDef | str, float_dtype: DType = f32) -> Graph:
        """The IR graph of `fn` (a function of the program, or its name): inputs in parameter
        order (named after them), outputs in return order, named after the function. A
        generic function is lowered once per float dtype; one without `float` in its
        signature is the same graph for either."""
        if isinstance(fn, str):
            fn = self.functions[fn]
        if float_dtype not in (f32, f64):
            raise DDTypeError(f"float_dtype must be f32 or f64, got {float_dtype}")
        binding = float_dtype if fn.generic else f32
        arg_types = [TensorType(resolve(p.type.dtype, binding), p.type.dims) for p in fn.params]
        try:
            return lower_function(self.library, fn, arg_types, binding)
        except RecursionError:
            # expressions nest at most MAX_NESTING levels, so it is calls: each is lowered
            # (recursively) and inlined
            raise DDTypeError(f"{fn.name} calls functions that call functions too deeply to inline",
                              fn.span, hint="shorten the chain of calls, e.g. by merging functions") from None

    def __repr__(self) -> str:
        return f"<ddc program {self.module.name} ({', '.join(self.functions)})>"


def load(path) -> Program:
    path = Path(path)
    return loads(read_source(path), name=path.stem, path=path)


def read_source(path: Path, span: Span | None = None) -> str:
    """A `.dd` file's text (UTF-8, a byte-order mark dropped), or a DDImportError at `span`.
    Only a regular file of at most MAX_SOURCE_BYTES is read (not /dev/zero, not a FIFO)."""
    try:
        return read_regular(path, MAX_SOURCE_BYTES).decode("utf-8-sig")
    except UnreadableFile as e:
        raise DDImportError(str(e), span) from None
    except OSError as e:
        raise DDImportError(f"cannot read {path}: {e.strerror or e}", span) from None
    except UnicodeDecodeError as e:
        text = e.object.decode("utf-8", errors="replace")
        before = e.object[:e.start].decode("utf-8", errors="replace").split("\n")
        at = Span(str(path), len(before), len(before[-1]) + 1, len(before), len(before[-1]) + 2, text)
        raise DDImportError(f"{path.name} is not UTF-8 text: byte {e.object[e.start]:#x}: {e.reason}",
                            at, hint="save the file as UTF-8") from None


def loads(source: str, name: str = "<string>", path=None) -> Program:
    """Load a module from text. `path` (if given) is where imports are looked for and what
    errors show; without it, only the stdlib can be imported."""
    loader = _Loader()
    try:
        module = loader.load_source(source, name, Path(path) if path is not None else None)
    except RecursionError:  # each import is loaded (recursively) before its importer
        chain = " -> ".join(p.stem for p in loader.loading[:3]) + " -> ... -> " + loader.loading[-1].stem
        raise DDImportError(f"imports nested too deeply: {chain}, {len(loader.loading)} files",
                            hint="import the modules from fewer levels") from None
    infos = check_modules(loader.modules, _STDLIB_LIBRARY.info)
    stdlib = {fn for m in loader.stdlib.values() for fn in m.functions.values()}
    _STDLIB_LIBRARY.add({fn: info for fn, info in infos.items() if fn in stdlib})
    _STDLIB_LOADED.update(loader.stdlib)
    library = Library(fallback=_STDLIB_LIBRARY)
    library.add({fn: info for fn, info in infos.items() if fn not in stdlib})
    return Program(module, library)


class _Loader:
    def __init__(self):
        self.modules: list[Module] = []  # in load order: a module after what it imports
        self.by_path: dict[Path, Module] = {}
        self.loading: list[Path] = []  # the import chain being loaded, for cycles
        self.stdlib: dict[tuple[Path, str], Module] = {}  # stdlib modules this load checks

    def load_source(self, source: str, name: str, path: Path | None) -> Module:
        key = path.resolve() if path is not None else None
        if key is not None:
            self.loading.append(key)
        tree = parse(source, str(path) if path is not None else name)
        module = Module(name, path, tree)
        for imp in tree.imports:
            self.link(module, imp)
        for f in tree.functions:
            self.define(module, f)
        if key is not None:
            self.loading.pop()
            self.by_path[key] = module
        self.modules.append(module)
        return module

    def load_file(self, path: Path, span: Span) -> Module:
        key = path.resolve()
        if key in self.by_path:
            return self.by_path[key]
        if key in self.loading:
            chain = self.loading[self.loading.index(key):] + [key]
            hint = (f"this file is named {key.name}, so `import {key.stem}` finds it before any "
                    f"stdlib module of that name; rename the file" if len(chain) == 2
                    else "move what both modules need into a third module")
            raise DDImportError("import cycle: " + " -> ".join(p.stem for p in chain), span, hint=hint)
        source = read_source(path, span)
        if key.parent != STDLIB.resolve():
            return self.load_source(source, path.stem, path)
        module = _STDLIB_LOADED.get((key, source))
        if module is None:
            module = self.stdlib[key, source] = self.load_source(source, path.stem, path)
        self.by_path[key] = module
        return module

    def find(self, name: str, importer: Module, span: Span) -> Path:
        places = ([importer.path.parent] if importer.path is not None else []) + [STDLIB]
        for folder in places:
            candidate = folder / f"{name}.dd"
            if candidate.is_symlink():
                return self.link_target(candidate, span)
            if candidate.exists():
                return candidate
        where = " or ".join(str(p) for p in places)
        raise DDImportError(f"no module named '{name}': there is no {name}.dd in {where}", span)

    @staticmethod
    def link_target(link: Path, span: Span) -> Path:
        """Where a module that is a symbolic link points: a regular `.dd` file, else a
        DDImportError that names the link but neither quotes nor names what it points at
        (it may be any file on the machine, such as a key or a password file)."""
        target = link.resolve()
        if target.suffix != ".dd" or not target.is_file():
            raise DDImportError(f"{link.name} is a link to something that is not a .dd file", span,
                                hint="an imported module must be a .dd file")
        return target

    def link(self, module: Module, imp) -> None:
        imported = self.load_file(self.find(imp.module, module, imp.span), imp.span)
        if isinstance(imp, ast.Import):
            self.bind(module, imp.module, imported, imp.span)
            return
        for name, span in imp.names:
            target = imported.functions.get(name)
            if target is None:
                raise DDImportError(f"module {imp.module} has no function '{name}'"
                                    + did_you_mean(name, imported.functions), span)
            self.bind(module, name, target, span)

    def bind(self, module: Module, name: str, target, span: Span) -> None:
        if name in module.namespace and module.namespace[name] is not target:
            raise DDNameError(f"'{name}' is imported twice, as different things", span)
        module.namespace[name] = target

    def define(self, module: Module, tree: ast.FunctionAST) -> None:
        if tree.name in module.functions:
            first = module.functions[tree.name].span
            raise DDNameError(f"function {tree.name} is defined twice (first at line {first.line})", tree.span)
        if tree.name in module.namespace:
            raise DDNameError(f"function {tree.name} has the name of an import", tree.span)
        fn = FunctionDef(tree, module)
        module.functions[tree.name] = fn
        module.namespace[tree.name] = fn
