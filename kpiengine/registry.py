"""The things plugins provide: source types, output formats and expression functions.

These are plain data classes so that a plugin needs nothing but this module and
``kpiengine.hookimpl`` to extend kpiengine.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine
    from sqlalchemy.sql.expression import ColumnElement, FromClause

    from kpiengine.result import Result

#: The value types of the expression language. ``any`` is a column whose type is unknown.
ValueType = Literal["number", "string", "boolean", "date", "any"]


class Source(Protocol):
    """An open data source: an SQLAlchemy engine and the tables it holds.

    ``display`` is the URI with any password or token replaced by ``***``; it is
    the only form of the URI that may appear in messages.
    """

    display: str

    @property
    def engine(self) -> Engine: ...

    def table(self, name: str, columns: Sequence[str] | None = None) -> FromClause:
        """The table (or view) called ``name``, for use in a SELECT.

        ``columns`` are the columns queries may use (declared in the spec); when
        None, the source discovers them.
        """
        ...

    def columns(self, table: str) -> dict[str, ValueType]:
        """The columns of ``table`` and their types (``any`` when unknown).

        Must not rely on dialect reflection; a zero-row SELECT works everywhere.
        """
        ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class SourceType:
    """A kind of source, picked by the scheme of a source URI (``csv`` in ``csv:data/``).

    ``open(uri, base_dir)`` opens it; relative paths in the URI are relative to
    ``base_dir`` (the directory of the spec file that names the source, or the
    working directory for ``--source``). It raises
    :class:`~kpiengine.errors.SourceError` with a clear message when it cannot.
    """

    scheme: str
    description: str
    open: Callable[[str, Path], Source]


@dataclass(frozen=True)
class OutputContext:
    """How the output will be shown: colours allowed, terminal width (None: not a terminal)."""

    color: bool = False
    width: int | None = None
    #: ``--option KEY=VALUE`` pairs for the output format.
    options: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class OutputFormat:
    """An output format (``--format NAME``): renders a result to text or bytes."""

    name: str
    description: str
    render: Callable[[Result, OutputContext], str | bytes]
    extension: str = ""
    #: For formats that write somewhere themselves (a database): called with the
    #: ``--output`` target instead of ``render``; returns a one-line summary.
    write: Callable[[Result, str, OutputContext], str] | None = None


@dataclass(frozen=True)
class FunctionDef:
    """A scalar function of the expression language.

    ``check(arg_types)`` returns the result type, or raises ``ValueError`` with a
    message for the user when the argument types do not fit. ``compile(args)``
    builds the SQLAlchemy expression from the compiled arguments.
    """

    name: str
    min_args: int
    max_args: int | None
    check: Callable[[Sequence[ValueType]], ValueType]
    compile: Callable[[Sequence[ColumnElement[object]]], ColumnElement[object]]
    description: str = ""
