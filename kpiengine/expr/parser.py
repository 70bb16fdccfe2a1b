"""Parse expression text into the typed syntax tree of :mod:`kpiengine.expr.ast`."""

from __future__ import annotations

import functools
import math
from typing import TYPE_CHECKING, Any

from kpiengine.errors import SpecError
from kpiengine.expr import ast

if TYPE_CHECKING:
    from lark import Lark

#: Expressions nest at most this deep; deeper ones are refused before parsing
#: (the parser and the compiler recurse).
MAX_DEPTH = 200
MAX_LENGTH = 20_000


#: Parsed trees by expression text. Nodes are immutable and their spans are relative
#: to the text, so the same text (``sum(spend)`` in many specs' KPIs) is parsed once.
_PARSED: dict[str, ast.Node] = {}
_PARSED_MAX = 10_000


@functools.cache
def _parser() -> Lark:
    from lark import Lark

    # Every token is kept and the spans are worked out from the tokens' positions in
    # _ToAst: lark's propagate_positions recomputes them on each of the ~20 reductions
    # of a short expression, which made up about 40 % of the parse.
    return Lark.open(
        "grammar.lark",
        rel_to=__file__,
        parser="lalr",
        keep_all_tokens=True,
        maybe_placeholders=False,
        cache=True,
    )


def parse(source: ast.ExprText | str) -> ast.Node:
    """Parse an expression; raise :class:`SpecError` pointing at the problem."""
    text = source if isinstance(source, str) else source.text
    node = _PARSED.get(text)
    if node is None:
        node = _parse(source if isinstance(source, ast.ExprText) else ast.ExprText(source))
        if len(_PARSED) < _PARSED_MAX:
            _PARSED[text] = node
    return node


def _parse(source: ast.ExprText) -> ast.Node:
    from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput

    text = source.text
    if not text.strip():
        raise SpecError("empty expression", location=source.locate(ast.Span(0, len(text))))
    if len(text) > MAX_LENGTH:
        raise SpecError(
            f"expression is too long ({len(text)} characters; at most {MAX_LENGTH})",
            location=source.locate(ast.Span(0, 1)),
        )
    _check_depth(source)
    try:
        tree = _parser().parse(text)
        node: ast.Node = _ToAst().transform(tree)
    except UnexpectedCharacters as exc:
        pos = exc.pos_in_stream or 0
        raise SpecError(
            f"unexpected character {text[pos]!r} in expression",
            location=source.locate(ast.Span(pos, pos + 1)),
        ) from None
    except UnexpectedEOF:
        raise _ends_too_early(source) from None
    except UnexpectedInput as exc:
        token: Any = getattr(exc, "token", None)
        start: int | None = getattr(token, "start_pos", None)
        if start is None or token.type == "$END":
            raise _ends_too_early(source) from None
        raise SpecError(
            f"unexpected {str(token)!r} in expression",
            location=source.locate(ast.Span(start, start + len(str(token)))),
            hint=_expected_hint(getattr(exc, "expected", None) or set()),
        ) from None
    except _BadNode as exc:
        raise SpecError(exc.message, location=source.locate(exc.span)) from None
    _check_tree_depth(node, source)
    return node


def _check_tree_depth(root: ast.Node, source: ast.ExprText) -> None:
    """Refuse trees deeper than MAX_DEPTH: the checker and compiler recurse on them."""
    stack = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise SpecError(
                f"expression nests too deeply (more than {MAX_DEPTH} levels)",
                location=source.locate(getattr(node, "span", None)),
                hint="split it into several KPIs that refer to each other",
            )
        stack.extend((child, depth + 1) for child in ast.children(node))


def _ends_too_early(source: ast.ExprText) -> SpecError:
    end = len(source.text.rstrip())
    return SpecError(
        "expression ends too early",
        location=source.locate(ast.Span(max(end - 1, 0), end)),
        hint=_eof_hint(source.text),
    )


def _check_depth(source: ast.ExprText) -> None:
    depth = 0
    for i, ch in enumerate(source.text):
        if ch == "(":
            depth += 1
            if depth > MAX_DEPTH:
                raise SpecError(
                    f"expression nests too deeply (more than {MAX_DEPTH} parentheses)",
                    location=source.locate(ast.Span(i, i + 1)),
                )
        elif ch == ")":
            depth -= 1


def _eof_hint(text: str) -> str | None:
    if text.count("(") > text.count(")"):
        return "a `)` is missing"
    if text.count("'") % 2:
        return "a string is not closed with `'`"
    return None


_TERMINAL_NAMES = {
    "RPAR": "`)`",
    "LPAR": "`(`",
    "COMMA": "`,`",
    "NAME": "a name",
    "NUMBER": "a number",
    "STRING": "a string",
    "COMP_OP": "a comparison",
    "ADD_OP": "`+` or `-`",
    "MUL_OP": "`*` or `/`",
    "AND": "`and`",
    "OR": "`or`",
}


def _expected_hint(expected: set[str]) -> str | None:
    names = sorted({_TERMINAL_NAMES[e] for e in expected if e in _TERMINAL_NAMES})
    if not names or len(names) > 6:
        return None
    return "expected " + ", ".join(names)


class _BadNode(Exception):
    def __init__(self, message: str, span: ast.Span) -> None:
        super().__init__(message)
        self.message = message
        self.span = span


#: The tokens the tree builder reads; the others (parentheses, commas, keywords) only
#: give the nodes their extent.
_ARGUMENT_TOKENS = frozenset(
    {"NUMBER", "PERCENT", "STRING", "NAME", "COMP_OP", "ADD_OP", "MUL_OP", "WHERE"}
)
#: Rules that only wrap their one argument: ``( x )`` and unary plus.
_PASS_THROUGH = frozenset({"atom", "unary"})


def _unquote(token: str) -> str:
    if token.startswith("'"):
        return token[1:-1].replace("''", "'")
    body = token[1:-1]
    out: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            out.append({"n": "\n", "t": "\t"}.get(nxt, nxt))
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def _number(text: str, span: ast.Span) -> int | float:
    """A number literal: a whole number if it fits in 64 bits, else floating point."""
    value: int | float = float(text) if any(c in text for c in ".eE") else int(text)
    if isinstance(value, int) and not -(2**63) <= value < 2**63:
        try:
            value = float(value)
        except OverflowError:
            value = math.inf
    if not math.isfinite(value):
        raise _BadNode(f"number `{text}` is too large", span)
    return value


class _ToAst:
    """Turns lark's parse tree into :mod:`kpiengine.expr.ast` nodes (bottom-up)."""

    def transform(self, tree: Any) -> ast.Node:
        from lark import Token, Tree

        # An explicit stack instead of recursion: deep expressions must not overflow.
        # Each value comes with the extent of the text it was built from, tokens
        # included: a node's span runs from its first token to its last, and `( x )`
        # gives x's own span but widens its parent's.
        stack: list[tuple[Any, bool]] = [(tree, False)]
        values: list[tuple[Any, Any, Any]] = []
        while stack:
            item, ready = stack.pop()
            if isinstance(item, Token):
                values.append((item, item.start_pos, item.end_pos))
            elif not ready:
                stack.append((item, True))
                for child in reversed(item.children):
                    stack.append((child, False))
            else:
                n = len(item.children)
                parts = values[len(values) - n :]
                del values[len(values) - n :]
                start, end = parts[0][1], parts[-1][2]
                args = [
                    value
                    for value, _, _ in parts
                    if not isinstance(value, Token) or value.type in _ARGUMENT_TOKENS
                ]
                if item.data in _PASS_THROUGH:
                    values.append((args[0], start, end))
                else:
                    values.append((self._build(item.data, args, ast.Span(start, end)), start, end))
        result = values[0][0]
        if isinstance(result, Tree | Token):  # pragma: no cover - grammar always builds nodes
            raise TypeError("expression did not reduce to a node")
        return result  # type: ignore[no-any-return]

    def _build(self, data: str, args: list[Any], span: ast.Span) -> Any:
        if data == "number":
            return ast.Num(_number(str(args[0]), span), span)
        if data == "percent":
            return ast.Num(_number(str(args[0])[:-1], span) / 100, span)
        if data == "string":
            return ast.Str(_unquote(str(args[0])), span)
        if data == "true":
            return ast.Bool(True, span)
        if data == "false":
            return ast.Bool(False, span)
        if data == "null":
            return ast.Null(span)
        if data == "ref":
            return ast.Ref(str(args[0]), None, span)
        if data == "qualified_ref":
            return ast.Ref(str(args[1]), str(args[0]), span)
        if data == "neg":
            operand = args[0]
            if isinstance(operand, ast.Num):
                return ast.Num(-operand.value, span)
            return ast.Neg(operand, span)
        if data == "binop":
            return ast.BinOp(str(args[1]), args[0], args[2], span)
        if data == "compare":
            op = "!=" if str(args[1]) == "<>" else str(args[1])
            return ast.Compare(op, args[0], args[2], span)
        if data == "and_":
            return ast.And(args[0], args[1], span)
        if data == "or_":
            return ast.Or(args[0], args[1], span)
        if data == "not_":
            return ast.Not(args[0], span)
        if data in ("in_", "not_in"):
            return ast.In(args[0], tuple(args[1:]), data == "not_in", span)
        if data in ("between", "not_between"):
            return ast.Between(args[0], args[1], args[2], data == "not_between", span)
        if data in ("is_null", "is_not_null"):
            return ast.IsNull(args[0], data == "is_not_null", span)
        if data == "call_star":
            name = str(args[0]).lower()
            if name != "count":
                raise _BadNode(f"`*` is only allowed in count(*), not in {name}(*)", span)
            where = args[-1] if len(args) == 3 else None
            return ast.Agg("count", None, where, span)
        if data == "call":
            return self._call(args, span)
        raise _BadNode(f"no syntax rule for {data}", span)  # pragma: no cover

    def _call(self, args: list[Any], span: ast.Span) -> ast.Node:
        from lark import Token

        name = str(args[0]).lower()
        rest = args[1:]
        where: ast.Node | None = None
        if len(rest) >= 2 and isinstance(rest[-2], Token) and rest[-2].type == "WHERE":
            where = rest[-1]
            rest = rest[:-2]
        if name in ast.AGGREGATES:
            if len(rest) != 1:
                raise _BadNode(f"{name}() takes one argument, got {len(rest)}", span)
            if where is not None and name in ("first", "last"):
                raise _BadNode(f"{name}() cannot be filtered with `where`", span)
            return ast.Agg(name, rest[0], where, span)
        if where is not None:
            raise _BadNode(f"`where` only filters aggregates, not {name}()", span)
        if name == "share":
            if len(rest) != 1:
                raise _BadNode(f"share() takes one argument, got {len(rest)}", span)
            return ast.Share(rest[0], span)
        if name in ("previous", "change"):
            if len(rest) != 1:
                raise _BadNode(f"{name}() takes one argument, got {len(rest)}", span)
            return ast.Prev(name, rest[0], span)
        return ast.Call(name, tuple(rest), span)
