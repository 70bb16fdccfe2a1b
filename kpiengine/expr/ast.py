"""The typed syntax tree of the expression language.

Nodes are frozen dataclasses; each carries the :class:`Span` of the text it came
from (ignored by ``==``, so tests can compare whole trees).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kpiengine.errors import Location


@dataclass(frozen=True)
class Span:
    """Start and end offsets of a node in its expression text."""

    start: int
    end: int


@dataclass(frozen=True)
class ExprText:
    """An expression's text and where it sits in its file, to point errors at it.

    ``origins[i]`` is the (file line, file column) where line ``i`` of the text
    starts; ``file_lines`` are the lines of the whole file.
    """

    text: str
    file: str = "<expression>"
    origins: tuple[tuple[int, int], ...] = ((1, 1),)
    file_lines: tuple[str, ...] | None = None

    def locate(self, span: Span | None) -> Location:
        start = 0 if span is None else min(span.start, len(self.text))
        end = len(self.text) if span is None else max(span.end, start + 1)
        line_no = self.text.count("\n", 0, start)
        line_start = self.text.rfind("\n", 0, start) + 1
        file_line, first_col = self.origins[min(line_no, len(self.origins) - 1)]
        lines = self.file_lines if self.file_lines is not None else tuple(self.text.split("\n"))
        line_text = lines[file_line - 1] if 0 < file_line <= len(lines) else None
        length = min(end, self._line_end(line_start)) - start
        return Location(
            self.file, file_line, first_col + start - line_start, max(length, 1), line_text
        )

    def _line_end(self, line_start: int) -> int:
        end = self.text.find("\n", line_start)
        return len(self.text) if end < 0 else end


def _span() -> Span | None:
    return field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Node:
    """Base of all nodes; each subclass has a ``span`` field (see :func:`span_of`)."""


def span_of(node: Node | None) -> Span | None:
    """Where ``node`` came from in its expression text (None when unknown)."""
    return getattr(node, "span", None)


@dataclass(frozen=True)
class Num(Node):
    value: float | int
    span: Span | None = _span()


@dataclass(frozen=True)
class Str(Node):
    value: str
    span: Span | None = _span()


@dataclass(frozen=True)
class DateLit(Node):
    """A date (made by the checker from a string compared with a date column)."""

    value: str  # ISO date
    span: Span | None = _span()


@dataclass(frozen=True)
class Bool(Node):
    value: bool
    span: Span | None = _span()


@dataclass(frozen=True)
class Null(Node):
    span: Span | None = _span()
    #: Set by the checker from the context (``sum(null)`` is a number), so that the SQL
    #: gets a typed NULL: PostgreSQL cannot sum, or add to, an untyped one.
    type: str = "any"


@dataclass(frozen=True)
class Ref(Node):
    """A name: a KPI outside aggregates, a column inside them; ``dataset.column`` qualified."""

    name: str
    dataset: str | None = None
    span: Span | None = _span()

    @property
    def display(self) -> str:
        return f"{self.dataset}.{self.name}" if self.dataset else self.name


@dataclass(frozen=True)
class Col(Node):
    """A resolved column of a dataset (made by the checker from a :class:`Ref`)."""

    dataset: str
    name: str
    type: str = "any"
    span: Span | None = _span()


@dataclass(frozen=True)
class KpiRef(Node):
    """A resolved reference to another KPI (made by the checker from a :class:`Ref`)."""

    name: str
    span: Span | None = _span()


@dataclass(frozen=True)
class BinOp(Node):
    """Arithmetic: ``op`` is one of ``+ - * /``; division by zero yields null."""

    op: str
    left: Node
    right: Node
    span: Span | None = _span()


@dataclass(frozen=True)
class Neg(Node):
    operand: Node
    span: Span | None = _span()


@dataclass(frozen=True)
class Compare(Node):
    """``op`` is one of ``= != < <= > >=``."""

    op: str
    left: Node
    right: Node
    span: Span | None = _span()


@dataclass(frozen=True)
class And(Node):
    left: Node
    right: Node
    span: Span | None = _span()


@dataclass(frozen=True)
class Or(Node):
    left: Node
    right: Node
    span: Span | None = _span()


@dataclass(frozen=True)
class Not(Node):
    operand: Node
    span: Span | None = _span()


@dataclass(frozen=True)
class In(Node):
    operand: Node
    items: tuple[Node, ...]
    negated: bool = False
    span: Span | None = _span()


@dataclass(frozen=True)
class Between(Node):
    operand: Node
    low: Node
    high: Node
    negated: bool = False
    span: Span | None = _span()


@dataclass(frozen=True)
class IsNull(Node):
    operand: Node
    negated: bool = False
    span: Span | None = _span()


AGGREGATES = ("sum", "avg", "min", "max", "count", "count_distinct", "first", "last")


@dataclass(frozen=True)
class Agg(Node):
    """An aggregate over the rows of a period: ``sum(x)``, ``count(*)`` (arg None),
    ``sum(x where cond)`` (a filtered aggregate), ``first(x)``/``last(x)`` (the
    value at the earliest/latest time in the period, summed over the rows there)."""

    func: str
    arg: Node | None
    where: Node | None = None
    span: Span | None = _span()
    #: Set by the checker: the dataset whose rows this aggregate runs over.
    dataset: str | None = None


@dataclass(frozen=True)
class Share(Node):
    """``share(x)``: x over its total across the breakdown within the period."""

    operand: Node
    span: Span | None = _span()


@dataclass(frozen=True)
class Prev(Node):
    """``previous(k)``: KPI k in the period before; ``change(k)``: its relative change.

    The operand is a KPI name. The earlier value comes from the window shifted back
    by one period (see :mod:`kpiengine.compare`), so it may lie before ``--from``.
    """

    func: str  # previous | change
    operand: Node
    span: Span | None = _span()


@dataclass(frozen=True)
class Call(Node):
    """A call of a registered function: ``coalesce``, ``if``, ``abs``, ``round``, …"""

    name: str
    args: tuple[Node, ...]
    span: Span | None = _span()


def children(node: Node) -> tuple[Node, ...]:
    """The direct sub-expressions of ``node``."""
    match node:
        case (
            BinOp(left=a, right=b)
            | Compare(left=a, right=b)
            | And(left=a, right=b)
            | Or(left=a, right=b)
        ):
            return (a, b)
        case (
            Neg(operand=a) | Not(operand=a) | IsNull(operand=a) | Share(operand=a) | Prev(operand=a)
        ):
            return (a,)
        case In(operand=a, items=items):
            return (a, *items)
        case Between(operand=a, low=lo, high=hi):
            return (a, lo, hi)
        case Agg(arg=arg, where=where):
            return tuple(n for n in (arg, where) if n is not None)
        case Call(args=args):
            return args
    return ()


def walk(node: Node) -> list[Node]:
    """``node`` and all its descendants, parents first."""
    out = [node]
    for child in children(node):
        out.extend(walk(child))
    return out
