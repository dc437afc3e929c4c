"""Source text -> `ast.ModuleAST`, with lark (LALR) and a Python-style indenter.

Lark's errors are turned into `DDSyntaxError`s that say, in words, what was expected where
("expected ':' after the signature", "unclosed '('", "bad indentation"), pointing at the
offending token, never lark's dump of parser states.
"""
from __future__ import annotations

import keyword
import re
import threading
from dataclasses import dataclass
from functools import lru_cache, cache
from pathlib import Path
from typing import cast

from lark import Lark, Token, v_args
from lark.visitors import Transformer_NonRecursive
from lark.exceptions import LarkError, UnexpectedCharacters, UnexpectedInput, VisitError
from lark.indenter import Indenter

from ddc.errors import DDError, DDSyntaxError, Span
from ddc.ir import dims as D

from . import ast
from .nesting import check_nesting
from .types import DTYPE_NAMES, TypeSpec

_OPEN = ("LPAR", "LSQB")
_CLOSE = ("RPAR", "RSQB")


class _IndentMismatch(LarkError):
    def __init__(self, token: Token, indent: int, levels: list[int]):
        super().__init__("bad indentation")
        self.token, self.indent, self.levels = token, indent, levels


class _DDIndenter(Indenter):
    """lark's Indenter, which also remembers the open brackets (for "unclosed '('") and
    reports a dedent to an unknown column with its position."""

    NL_type = "_NEWLINE"
    OPEN_PAREN_types = list(_OPEN)
    CLOSE_PAREN_types = list(_CLOSE)
    INDENT_type = "_INDENT"
    DEDENT_type = "_DEDENT"
    tab_len = 8

    def process(self, stream):
        self.open_brackets: list[Token] = []
        self.stray: tuple[Token, Token | None] | None = None  # a closer that matches no opener
        self.keyword_names: list[Token] = []  # keywords the lexer read as names, in order
        return super().process(self._track(stream))

    def note_name(self, tok: Token) -> Token:
        """lark calls this for every NAME it lexes. Its contextual lexer reads `def` as a
        NAME where only a name can come (`def def(...)`); where the keyword itself can
        come, it is read as the keyword."""
        if tok.value in KEYWORDS:
            self.keyword_names.append(tok)
        return tok

    def _track(self, stream):
        for tok in stream:
            if tok.type in _OPEN:
                self.open_brackets.append(tok)
            elif tok.type in _CLOSE:
                opener = self.open_brackets.pop() if self.open_brackets else None
                if self.stray is None and (opener is None or _OPEN.index(opener.type) != _CLOSE.index(tok.type)):
                    self.stray = (tok, opener)
            yield tok

    def handle_NL(self, token: Token):
        if self.paren_level > 0:
            return
        indent_str = token.rsplit("\n", 1)[1]
        indent = indent_str.count(" ") + indent_str.count("\t") * self.tab_len
        if indent < self.indent_level[-1] and indent not in self.indent_level:
            raise _IndentMismatch(token, indent, list(self.indent_level))
        yield from super().handle_NL(token)


def _lexed(tok: Token) -> tuple[int, int, int, int]:
    """A lexed token's line, column, end line and end column. lark types them optional (a
    token made by hand has none); its lexer sets all four, and the indenter's tokens
    borrow a newline's."""
    line, column, end_line, end_column = tok.line, tok.column, tok.end_line, tok.end_column
    assert line is not None and column is not None and end_line is not None and end_column is not None, tok
    return line, column, end_line, end_column


def _indenter(lark: Lark) -> _DDIndenter:
    """The parser's indenter, which keeps what the error messages read."""
    postlex = lark.options.postlex
    assert isinstance(postlex, _DDIndenter), postlex
    return postlex


@cache
def _lark() -> Lark:
    """The parser, built once per process (~80 ms: lark analyses the grammar into LALR
    tables). It is not cached on disk: lark's cache is a pickle, and loading one that
    another user could have written would run their code; the ~70 ms it saves a fresh
    process is not worth that."""
    grammar = (Path(__file__).parent / "grammar.lark").read_text()
    indenter = _DDIndenter()
    return Lark(grammar, parser="lalr", postlex=indenter, propagate_positions=True,
                maybe_placeholders=True, lexer_callbacks={"NAME": indenter.note_name})


# One lark parser serves every thread, one parse at a time: its lexer and the indenter keep
# the state of the parse under way (and the error path reads the indenter's brackets).
# Parsing holds the GIL throughout, so threads parsing at once gain nothing from a parser
# each (which would cost every thread the ~80 ms of building one).
_PARSING = threading.Lock()


@lru_cache(maxsize=256)
def parse(source: str, file: str = "<string>") -> ast.ModuleAST:
    """The AST of `source`. Cached by (text, file name): the AST is immutable, and every
    `ddc.load` re-reads the stdlib modules it imports, which need not be parsed again."""
    source = source.removeprefix("\ufeff")  # a byte-order mark some editors write
    text = source if source.endswith("\n") else source + "\n"
    with _PARSING:
        lark = _lark()
        try:
            tree = lark.parse(text)
        except UnexpectedInput as e:
            raise _syntax_error(e, lark, file, source) from None
        except _IndentMismatch as e:
            line = _lexed(e.token)[2]  # the end of the newline: the badly indented line
            raise DDSyntaxError(
                f"bad indentation: this line is indented by {e.indent}, which matches no enclosing "
                f"block (levels {', '.join(map(str, e.levels))})",
                Span(file, line, 1, line, e.indent + 1, source),
            ) from None
        if _indenter(lark).keyword_names:  # it parsed, with a keyword as a name
            tok = _indenter(lark).keyword_names[0]
            raise _keyword_error(tok.value, _token_span(tok, file, source))
    try:
        module = _ToAST(file, source).transform(tree)
    except VisitError as e:
        if isinstance(e.orig_exc, DDError):
            raise e.orig_exc from None
        raise
    check_nesting(module)
    return module


# -- syntax errors in words -----------------------------------------------------------------

_WORDS = {
    "NAME": "a name", "INT": "a number", "FLOAT": "a number", "_NEWLINE": "the end of the line",
    "_INDENT": "an indented block", "_DEDENT": "the end of the block", "$END": "the end of the file",
}


def _describe_terminal(name: str, lark: Lark) -> str:
    if name in _WORDS:
        return _WORDS[name]
    try:
        pattern = lark.get_terminal(name).pattern
    except KeyError:
        return name
    return f"'{pattern.value}'" if pattern.type == "str" else name


def _describe_token(tok: Token) -> str:
    if tok.type in _WORDS and tok.type not in ("NAME", "INT", "FLOAT"):
        return _WORDS[tok.type]
    return f"'{tok.value}'"


def _token_span(tok: Token, file: str, source: str) -> Span:
    line, col = tok.line or 1, tok.column or 1
    if tok.type == "_INDENT":  # it borrows the newline's position; point at the indented line
        _, _, line, col = _lexed(tok)
        return Span(file, line, 1, line, col, source)
    if tok.type in ("_NEWLINE", "_DEDENT", "$END"):
        # point just after the last thing on the line, where the missing token belongs
        lines = source.split("\n")  # as lark counts lines (str.splitlines also splits at \f, \u2028, ...)
        line = min(line, len(lines))
        text = lines[line - 1].split("#", 1)[0].rstrip()
        col = len(text) + 1
        return Span(file, line, col, line, col + 1, source)
    return Span(file, line, col, tok.end_line or line, tok.end_column or col + 1, source)


def _syntax_error(e: UnexpectedInput, lark: Lark, file: str, source: str) -> DDSyntaxError:
    if isinstance(e, UnexpectedCharacters):
        pos = cast(int, e.pos_in_stream)  # lark types it None on the base class; the lexer sets it
        char = source[pos] if pos < len(source) else ""
        span = Span(file, e.line, e.column, e.line, e.column + 1, source)
        if not char.isascii() and char.isalnum():
            return DDSyntaxError(f"unexpected character {char!r}: names must be ASCII", span,
                                 hint="use letters A-Z, a-z, digits and '_' in names")
        if char == "\r":
            return DDSyntaxError("unexpected character '\\r'", span, hint="end lines with \\n or \\r\\n")
        if char in "'\"":
            return DDSyntaxError(f"unexpected character {char!r}: the language has no strings", span)
        return DDSyntaxError(f"unexpected character {char!r}", span)
    tok = getattr(e, "token", None) or Token("$END", "")
    # `accepts` asks the parser state; `expected` also lists the always-accepted newline
    expected = set(getattr(e, "accepts", None) or getattr(e, "expected", ()) or ())
    postlex = _indenter(lark)
    earlier = [k for k in postlex.keyword_names if tok.line is not None and _lexed(k)[0] < tok.line]
    if earlier:  # the first problem in the file: a keyword used as a name on an earlier line
        return _keyword_error(earlier[0].value, _token_span(earlier[0], file, source))
    unclosed = _unclosed_bracket(tok, expected, postlex.open_brackets)
    if unclosed is not None:
        line, col = _lexed(unclosed)[:2]
        return DDSyntaxError(f"unclosed '{unclosed.value}'", Span(file, line, col, line, col + 1, source),
                             hint=f"add the matching '{')' if unclosed.value == '(' else ']'}'")
    span = _token_span(tok, file, source)
    stray = postlex.stray
    if stray is not None and (stray[0].line, stray[0].column) == (tok.line, tok.column):
        closer, opener = stray
        if opener is None:
            return DDSyntaxError(f"unmatched '{closer.value}'", span, hint="remove it, or add the bracket it closes")
        return DDSyntaxError(f"'{closer.value}' does not match the '{opener.value}' at line {opener.line}, "
                             f"column {opener.column}", span)
    line_text = span.line_text()
    word = _keyword_as_name(tok, expected, line_text[:span.col - 1])
    if word is not None:
        start, end = word.span()
        return _keyword_error(word.group(), Span(file, span.line, start + 1, span.line, end + 1, source))
    keyword = _python_keyword(line_text[:span.col - 1 + len(tok.value)])
    if keyword is not None:
        word = keyword.group()
        return DDSyntaxError(f"'{word}' is Python syntax that the .dd language does not have",
                             Span(file, span.line, keyword.start() + 1, span.line, keyword.end() + 1, source),
                             hint=_PYTHON_KEYWORDS[word])
    if tok.type == "_INDENT":
        return DDSyntaxError("bad indentation: unexpected indent", span)
    if expected == {"_INDENT"}:
        return DDSyntaxError("expected an indented function body after ':'", span)
    if "COLON" in expected and line_text.lstrip().startswith("def "):
        return DDSyntaxError(f"expected ':' after the signature, found {_describe_token(tok)}", span)
    if tok.value in ("<", "<=", ">", ">=", "==", "!=") and tok.type != "NAME":
        return DDSyntaxError("comparisons cannot be chained: compare two values at a time", span)
    if {"NAME", "INT", "LPAR"} <= expected:
        what = "an expression"
    else:
        words = sorted({_describe_terminal(t, lark) for t in expected})
        what = " or ".join(words) if len(words) <= 4 else "one of " + ", ".join(words)
    return DDSyntaxError(f"expected {what}, found {_describe_token(tok)}", span)


_PYTHON_KEYWORDS = {
    "if": "choose between values with where(condition, x, y)",
    "elif": "choose between values with where(condition, x, y)",
    "else": "choose between values with where(condition, x, y)",
    "for": "map over a batch with vmap(f), or reduce an axis with sum(x, axis=...)",
    "while": "map over a batch with vmap(f), or reduce an axis with sum(x, axis=...)",
    "and": "combine masks with where(a, b, false), or multiply them as numbers",
    "or": "combine masks with where(a, true, b), or add them as numbers",
    "not": "negate a mask with where(m, false, true)",
    "lambda": "define a function with def",
    "class": "define functions with def",
    "with": "the body of a function is assignments and one return",
    "try": "the body of a function is assignments and one return",
    "global": "the body of a function is assignments and one return",
    "yield": "the body of a function is assignments and one return",
    "in": "compare with == and reduce with max(...) or sum(...)",
    "is": "compare with ==",
}


def _keyword_error(word: str, span: Span) -> DDSyntaxError:
    return DDSyntaxError(f"'{word}' is a keyword, not a name", span, hint=f"rename it, e.g. to {word}_")


def _keyword_as_name(tok: Token, expected: set[str], before: str) -> re.Match | None:
    """A keyword the parser read as itself where a name was meant: the failing token where
    a name can come (`y = return`), or the word before an `=` that binds (`False = x`,
    `sum(x, True=0)`). Where a keyword is read as a NAME, `_DDIndenter.note_name` notes it."""
    if tok.value in KEYWORDS and "NAME" in expected:
        return re.compile(re.escape(tok.value)).match(before + tok.value, len(before))
    word = re.search(r"[A-Za-z_]\w*(?=\s*$)", before) if tok.value == "=" else None
    return word if word is not None and word.group() in KEYWORDS else None


def _python_keyword(text: str) -> re.Match | None:
    """The first Python-only keyword in `text` (the line up to the failing token)."""
    code = text.split("#", 1)[0]
    return next((m for m in re.finditer(r"[A-Za-z_][A-Za-z0-9_]*", code) if m.group() in _PYTHON_KEYWORDS), None)


def _unclosed_bracket(tok: Token, expected: set[str], open_brackets: list[Token]) -> Token | None:
    """The bracket left open when the parser fails on a later line or at the end of file."""
    if not open_brackets:
        return None
    innermost = open_brackets[-1]
    closer = "RPAR" if innermost.type == "LPAR" else "RSQB"
    later = tok.type == "$END" or (tok.line is not None and tok.line > _lexed(innermost)[0])
    return innermost if later and (closer in expected or tok.type == "$END") else None


# -- parse tree -> AST ----------------------------------------------------------------------

@dataclass(frozen=True)
class _Target:
    """An assignment target while the tree is built (so it is not taken for a value)."""

    expr: ast.Expr


# Python's keywords and the language's own: never a name (of a function, parameter, dim,
# variable, attribute, keyword argument or module)
KEYWORDS = frozenset(keyword.kwlist) | {"true", "false"}

MAX_INT = 2**63 - 1  # the largest integer literal

_BINOPS = {
    "add": "+", "sub": "-", "mul": "*", "div": "/", "matmul": "@", "pow": "**",
    "lt": "<", "le": "<=", "gt": ">", "ge": ">=", "eq": "==", "ne": "!=",
}


@v_args(meta=True)
class _ToAST(Transformer_NonRecursive):  # a sum of thousands of terms is a tree that deep
    def __init__(self, file: str, source: str):
        super().__init__()
        self.file, self.source = file, source

    def span(self, meta) -> Span:
        return Span(self.file, meta.line, meta.column, meta.end_line, meta.end_column, self.source)

    def token_span(self, tok: Token) -> Span:
        return Span(self.file, *_lexed(tok), self.source)

    def int_of(self, tok: Token) -> int:
        """An integer literal's value, which must fit int64 (the widest integer dtype, and
        what numpy indexes with); checked on the digits, so a 5000-digit literal is never
        converted (Python refuses to, past 4300 digits)."""
        digits = str(tok).lstrip("0") or "0"
        if len(digits) > 19 or int(digits) > MAX_INT:
            shown = digits if len(digits) <= 30 else f"{digits[:12]}...{digits[-6:]} ({len(digits)} digits)"
            raise DDSyntaxError(f"the integer {shown} does not fit int64 (at most {MAX_INT})", self.token_span(tok),
                                hint="write a float (e.g. 1e30) if a large value is meant")
        return int(digits)

    # module level
    def start(self, meta, items):
        imports = tuple(i for i in items if isinstance(i, (ast.Import, ast.FromImport)))
        functions = tuple(i for i in items if isinstance(i, ast.FunctionAST))
        return ast.ModuleAST(self.file, self.source, imports, functions)

    def import_module(self, meta, items):
        return ast.Import(self.span(meta), str(items[0]))

    def import_from(self, meta, items):
        module, *names = items
        return ast.FromImport(self.span(meta), str(module), tuple((str(n), self.token_span(n)) for n in names))

    # functions
    def funcdef(self, meta, items):
        name, *rest = items
        params = tuple(p for p in rest if isinstance(p, ast.Param))
        (returns, returns_tuple, return_span), = [r for r in rest if isinstance(r, tuple)]
        stmts = [s for s in rest if isinstance(s, (ast.Assign, ast.Return))]
        returns_at = [i for i, s in enumerate(stmts) if isinstance(s, ast.Return)]
        if not returns_at:
            raise DDSyntaxError(f"function {name} has no return statement", self.token_span(name),
                                hint="end the body with `return <expression>`")
        if returns_at[0] != len(stmts) - 1:
            raise DDSyntaxError("statements after return are never run: return must come last",
                                stmts[returns_at[0] + 1].span)
        def_span = Span(self.file, meta.line, meta.column, return_span.end_line, return_span.end_col, self.source)
        return ast.FunctionAST(def_span, str(name), params, returns, returns_tuple, return_span,
                               tuple(stmts[:-1]), stmts[-1])

    def param(self, meta, items):
        name, spec = items
        return ast.Param(self.span(meta), str(name), spec)

    def single_return(self, meta, items):
        return (tuple(items), False, self.span(meta))

    def tuple_return(self, meta, items):
        *types, trailing = items
        return (tuple(types), len(types) > 1 or trailing is not None, self.span(meta))

    def type(self, meta, items):
        name, *dims = items
        if str(name) not in DTYPE_NAMES:
            raise DDSyntaxError(
                f"unknown dtype '{name}'", self.token_span(name),
                hint="the dtypes are " + ", ".join(DTYPE_NAMES),
            )
        return TypeSpec(DTYPE_NAMES[str(name)], tuple(d for d in dims if d is not None))

    def dim_name(self, meta, items):
        return str(items[0])

    def dim_int(self, meta, items):
        return self.int_of(items[0])

    def dim_add(self, meta, items):
        return D.as_dim(items[0]) + D.as_dim(items[1])

    def dim_sub(self, meta, items):
        return D.as_dim(items[0]) - D.as_dim(items[1])

    def dim_mul(self, meta, items):
        return D.as_dim(items[0]) * D.as_dim(items[1])

    def trailing_comma(self, meta, items):
        return True

    # statements
    def assign(self, meta, items):
        # items: targets [trailing comma] values [trailing comma]
        split = next(i for i, x in enumerate(items) if not isinstance(x, _Target))
        targets = [t.expr for t in items[:split]]
        rest = items[split:]  # [trailing comma of the targets], values, [trailing comma]
        target = self._tuple_of(targets) if len(targets) > 1 or rest[0] is True else targets[0]
        values = [i for i in rest if isinstance(i, ast.Expr)]
        trailing = rest[-1] is True
        value = values[0] if len(values) == 1 and not trailing else self._tuple_of(values)
        return ast.Assign(self._between(target.span, value.span), target, value)

    def target_name(self, meta, items):
        return _Target(ast.Name(self.span(meta), str(items[0])))

    def target_tuple(self, meta, items):
        return _Target(ast.TupleExpr(self.span(meta), tuple(t.expr for t in items if isinstance(t, _Target))))

    def return_stmt(self, meta, items):
        values = [i for i in items if isinstance(i, ast.Expr)]
        trailing = items[-1] is True
        value = values[0] if len(values) == 1 and not trailing else self._tuple_of(values)
        return ast.Return(self._between(self.span(meta), value.span), value)

    def _between(self, first: Span, last: Span) -> Span:
        """From the start of `first` to the end of `last` (a statement without its newline)."""
        return Span(self.file, first.line, first.col, last.end_line, last.end_col, self.source)

    def _tuple_of(self, values: list[ast.Expr]) -> ast.TupleExpr:
        return ast.TupleExpr(self._between(values[0].span, values[-1].span), tuple(values))

    # expressions
    def __default__(self, data, children, meta):
        if data in _BINOPS:
            left, right = children
            return ast.BinOp(self.span(meta), _BINOPS[data], left, right)
        return super().__default__(data, children, meta)

    def neg(self, meta, items):
        return ast.UnaryOp(self.span(meta), "-", items[0])

    def pos(self, meta, items):
        return ast.UnaryOp(self.span(meta), "+", items[0])

    def name(self, meta, items):
        return ast.Name(self.span(meta), str(items[0]))

    def int(self, meta, items):
        return ast.Number(self.span(meta), self.int_of(items[0]))

    def float(self, meta, items):
        return ast.Number(self.span(meta), float(items[0]))

    def true(self, meta, items):
        return ast.Constant(self.span(meta), True)

    def false(self, meta, items):
        return ast.Constant(self.span(meta), False)

    def none(self, meta, items):
        return ast.Constant(self.span(meta), None)

    def ellipsis(self, meta, items):
        return ast.Constant(self.span(meta), ...)

    def tuple(self, meta, items):
        return ast.TupleExpr(self.span(meta), tuple(i for i in items if i is not None))

    list = tuple

    def call(self, meta, items):
        func, *arguments = items
        args, kwargs = [], []
        for a in arguments:
            if a is None:
                continue
            if isinstance(a, ast.Keyword):
                if any(k.name == a.name for k in kwargs):
                    raise DDSyntaxError(f"keyword argument '{a.name}' repeated", a.span)
                kwargs.append(a)
            elif kwargs:
                raise DDSyntaxError("positional argument after a keyword argument", a.span)
            else:
                args.append(a)
        return ast.Call(self.span(meta), func, tuple(args), tuple(kwargs))

    def keyword(self, meta, items):
        name, value = items
        return ast.Keyword(self.span(meta), str(name), value)

    def attribute(self, meta, items):
        value, attr = items
        return ast.Attribute(self.span(meta), value, str(attr))

    def subscript(self, meta, items):
        value, *subs = items
        return ast.Subscript(self.span(meta), value, tuple(subs))

    def slice(self, meta, items):
        start, stop, step = items
        return ast.Slice(self.span(meta), start, stop, step)
