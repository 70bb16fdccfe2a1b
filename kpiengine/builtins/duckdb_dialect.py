"""kpiengine's own SQLAlchemy dialect for DuckDB files and its in-memory database.

duckdb-engine's dialect is PostgreSQL's with DuckDB's connection under it. Importing it
imports SQLAlchemy's whole PostgreSQL package (every driver adapter, asyncio among them)
and duckdb-engine, about 0.1 s of each `kpi run`; it also opens in-memory databases of
its own to list DuckDB's settings and keywords. The statements kpiengine compiles need
none of that: this dialect is SQLAlchemy's default one with DuckDB's connection, its
reserved words (read once a process) and its type names, and writes what duckdb-engine
writes for them (``$1`` parameters, ``DOUBLE PRECISION``).

Sources use it through the URL scheme ``duckdb+kpiengine://`` (see
:mod:`kpiengine.builtins.sources`) for a database file or ``:memory:`` without
settings in the URL; a URL with settings, which duckdb-engine sorts into DuckDB's own
and its extensions', keeps duckdb-engine's dialect, as does ``duckdb://`` for everyone
else in the process.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import duckdb
from sqlalchemy import pool
from sqlalchemy.engine import URL
from sqlalchemy.engine.default import DefaultDialect
from sqlalchemy.sql import compiler

DRIVER = "duckdb+kpiengine"
_RESERVED = "SELECT keyword_name FROM duckdb_keywords() WHERE keyword_category = 'reserved'"
_keywords: frozenset[str] | None = None


def _reserved(run: Callable[[str], Any]) -> frozenset[str]:
    """DuckDB's reserved keywords, read with ``run`` once: they are the library's, the same
    for every database."""
    global _keywords
    if _keywords is None:
        _keywords = frozenset(row[0] for row in run(_RESERVED).fetchall())
    return _keywords


def register() -> None:
    """Make ``duckdb+kpiengine://`` URLs known to SQLAlchemy (by name, no entry-point scan)."""
    from sqlalchemy.dialects import registry

    if "duckdb.kpiengine" not in registry.impls:
        registry.register("duckdb.kpiengine", __name__, "DuckDBDialect")


class DBAPI:
    """The DB-API module SQLAlchemy asks for: the duckdb module's names."""

    paramstyle = "numeric_dollar"
    apilevel = duckdb.apilevel
    threadsafety = duckdb.threadsafety
    Error = duckdb.Error
    Warning = duckdb.Warning
    InterfaceError = duckdb.Error
    DatabaseError = duckdb.DatabaseError
    DataError = duckdb.DataError
    OperationalError = duckdb.OperationalError
    IntegrityError = duckdb.IntegrityError
    InternalError = duckdb.InternalError
    ProgrammingError = duckdb.ProgrammingError
    NotSupportedError = duckdb.NotSupportedError
    TransactionException = duckdb.TransactionException


class Cursor:
    """A cursor that runs on its connection itself.

    ``DuckDBPyConnection.cursor()`` would open a second connection to the database, which
    does not see the first one's temporary views (a file source's tables).
    """

    rowcount = -1
    arraysize = 1

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self._con = con

    @property
    def description(self) -> Any:
        return self._con.description

    def execute(self, statement: str, parameters: Sequence[Any] | None = None) -> Cursor:
        self._con.execute(statement, parameters or None)
        return self

    def executemany(self, statement: str, parameters: Sequence[Sequence[Any]]) -> Cursor:
        self._con.executemany(statement, list(parameters))
        return self

    def fetchone(self) -> Any:
        return self._con.fetchone()

    def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._con.fetchmany(size or self.arraysize)

    def fetchall(self) -> list[Any]:
        return self._con.fetchall()

    def close(self) -> None:
        pass  # the connection stays open; SQLAlchemy closes it


class Connection:
    """A DuckDB connection as a DB-API connection (``driver_connection`` is DuckDB's)."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con

    def cursor(self) -> Cursor:
        return Cursor(self.con)

    def commit(self) -> None:
        _outside_a_transaction(self.con.commit)

    def rollback(self) -> None:
        _outside_a_transaction(self.con.rollback)

    def close(self) -> None:
        self.con.close()

    def __getattr__(self, name: str) -> Any:  # DuckDB's own methods (read_csv, …)
        return getattr(self.con, name)


def _outside_a_transaction(end: Callable[[], Any]) -> None:
    """Commit or roll back; DuckDB refuses both when no transaction is open, which is
    every time here (statements run in auto-commit)."""
    try:
        end()
    except duckdb.TransactionException as exc:
        if "no transaction is active" not in str(exc):
            raise


class _Preparer(compiler.IdentifierPreparer):
    """Quotes DuckDB's reserved words too, read once they are needed."""

    def __init__(self, dialect: Any, **kwargs: Any) -> None:
        super().__init__(dialect, **kwargs)
        self.has_keywords = False

    def use_keywords(self, keywords: frozenset[str]) -> None:
        self.reserved_words = set(compiler.RESERVED_WORDS) | keywords
        self.has_keywords = True

    def _requires_quotes(self, value: str) -> bool:
        if not self.has_keywords:  # compiled before connecting (kpi explain)
            self.use_keywords(_reserved(duckdb.cursor().execute))
        return bool(super()._requires_quotes(value))


class _TypeCompiler(compiler.GenericTypeCompiler):
    """DuckDB's names of the types kpiengine casts to (as duckdb-engine writes them)."""

    def visit_double(self, type_: Any, **kw: Any) -> str:
        return "DOUBLE PRECISION"

    def visit_float(self, type_: Any, **kw: Any) -> str:
        return "DOUBLE PRECISION"  # DuckDB's FLOAT has 4 bytes

    def visit_datetime(self, type_: Any, **kw: Any) -> str:
        return "TIMESTAMP"


class DuckDBDialect(DefaultDialect):
    name = "duckdb"
    driver = "kpiengine"
    supports_statement_cache = True
    supports_native_boolean = True
    supports_native_decimal = True
    supports_sane_rowcount = False
    supports_server_side_cursors = False
    div_is_floordiv = False  # DuckDB's `/` divides integers exactly
    default_paramstyle = "numeric_dollar"
    preparer = _Preparer  # type: ignore[assignment]  # (typed as the base class)
    type_compiler_cls = _TypeCompiler

    @classmethod
    def import_dbapi(cls) -> Any:
        return DBAPI

    @classmethod
    def get_pool_class(cls, url: URL) -> type[pool.Pool]:
        return pool.SingletonThreadPool if url.database == ":memory:" else pool.QueuePool

    def create_connect_args(self, url: URL) -> tuple[list[Any], dict[str, Any]]:
        return [url.database or ":memory:"], {}

    def connect(self, *cargs: Any, **cparams: Any) -> Any:
        return Connection(duckdb.connect(*cargs, **cparams))

    def initialize(self, connection: Any) -> None:
        super().initialize(connection)
        preparer = self.identifier_preparer
        if isinstance(preparer, _Preparer) and not preparer.has_keywords:
            preparer.use_keywords(_reserved(connection.exec_driver_sql))

    def _get_server_version_info(self, connection: Any) -> tuple[int, ...]:
        return tuple(int(p) for p in duckdb.__version__.split(".")[:3] if p.isdigit())

    def _get_default_schema_name(self, connection: Any) -> str:
        return "main"

    def get_isolation_level(self, dbapi_connection: Any) -> Any:
        raise NotImplementedError  # SQLAlchemy's way to say there is none: it catches this

    def do_begin(self, dbapi_connection: Any) -> None:
        pass  # auto-commit: kpiengine's sources only read
