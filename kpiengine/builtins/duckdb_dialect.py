"""duckdb-engine's SQLAlchemy dialect, without the two in-memory databases it opens aside.

duckdb-engine starts an in-memory DuckDB of its own to list DuckDB's settings (once a
process, to tell them from an extension's settings in a URL's query string), and asks
DuckDB's default connection, one more in-memory database, for the reserved keywords
each time a dialect is made. Starting a database costs 10-30 ms of a `kpi run`. This
subclass reads the keywords once a process, on the first connection it opens (or,
compiling before any, where duckdb-engine does), and leaves the settings list to
duckdb-engine when a URL has settings to sort. Statements, types and connections are
duckdb-engine's own.

Sources use it through the URL scheme ``duckdb+kpiengine://`` (see
:mod:`kpiengine.builtins.sources`); ``duckdb://`` stays duckdb-engine's dialect for
everyone else in the process.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import duckdb
import duckdb_engine
from sqlalchemy.dialects.postgresql.base import PGIdentifierPreparer

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


class _Preparer(duckdb_engine.DuckDBIdentifierPreparer):
    """Quotes DuckDB's reserved words too, read once they are needed."""

    def __init__(self, dialect: Any, **kwargs: Any) -> None:
        PGIdentifierPreparer.__init__(self, dialect, **kwargs)  # not duckdb-engine's query
        self.has_keywords = False

    def use_keywords(self, keywords: frozenset[str]) -> None:
        self.reserved_words = set(PGIdentifierPreparer.reserved_words) | keywords
        self.has_keywords = True

    def _requires_quotes(self, value: str) -> bool:
        if not self.has_keywords:  # compiled before connecting (kpi explain): ask as it does
            self.use_keywords(_reserved(duckdb.cursor().execute))
        return bool(super()._requires_quotes(value))


class DuckDBDialect(duckdb_engine.Dialect):
    preparer = _Preparer
    supports_statement_cache = False

    def initialize(self, connection: Any) -> None:
        super().initialize(connection)
        preparer = self.identifier_preparer
        if isinstance(preparer, _Preparer) and not preparer.has_keywords:
            preparer.use_keywords(_reserved(connection.exec_driver_sql))

    def connect(self, *cargs: Any, **cparams: Any) -> Any:
        if cparams.get("config") or cparams.get("url_config") or cparams.get("preload_extensions"):
            return super().connect(*cargs, **cparams)  # settings to sort: duckdb-engine's way
        cparams.pop("url_config", None)
        filesystems = cparams.pop("register_filesystems", [])
        # What duckdb-engine sends with a connection that has no settings of its own.
        agent = f"duckdb_engine/{duckdb_engine.__version__}(sqlalchemy/{_sqlalchemy_version()})"
        cparams["config"] = {"custom_user_agent": agent}
        conn = duckdb.connect(*cargs, **cparams)
        for filesystem in filesystems:
            conn.register_filesystem(filesystem)
        return duckdb_engine.ConnectionWrapper(conn)


def _sqlalchemy_version() -> str:
    import sqlalchemy

    return sqlalchemy.__version__
