"""Built-in sources: any SQLAlchemy URL, and CSV or Parquet files in the embedded DuckDB."""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kpiengine import hookimpl
from kpiengine.errors import SourceError
from kpiengine.redact import redact_uri, scrub, secrets_in
from kpiengine.registry import SourceType, ValueType

if TYPE_CHECKING:
    from sqlalchemy.engine import URL, Engine
    from sqlalchemy.sql.expression import FromClause


def _value_type(type_code: Any) -> ValueType:
    """Map a DB-API type code (DuckDB's type names, PostgreSQL's OIDs, PyHive's
    ``BIGINT_TYPE``-style names for Spark and Hive) to a value type."""
    if isinstance(type_code, int):  # PostgreSQL OIDs
        if type_code in (20, 21, 23, 700, 701, 1700):
            return "number"
        if type_code in (25, 1042, 1043, 19):
            return "string"
        if type_code in (1082, 1114, 1184):
            return "date"
        if type_code == 16:
            return "boolean"
        return "any"
    name = str(type_code or "").upper()
    name = name.removesuffix("_TYPE")  # PyHive: BIGINT_TYPE, STRING_TYPE, DATE_TYPE, …
    if not name or name == "NONE" or "INTERVAL" in name:  # INTERVAL holds "INT"
        return "any"
    if any(k in name for k in ("INT", "DOUBLE", "FLOAT", "DECIMAL", "NUMERIC", "REAL")):
        return "number"
    if any(k in name for k in ("CHAR", "TEXT", "STRING")):
        return "string"
    if "DATE" in name or "TIMESTAMP" in name:
        return "date"
    if "BOOL" in name:
        return "boolean"
    return "any"


class SqlSource:
    """A database reached through SQLAlchemy, opened read-only where the dialect allows."""

    def __init__(self, uri: str, base_dir: Path) -> None:
        import sqlalchemy as sa
        from sqlalchemy.exc import ArgumentError, NoSuchModuleError

        self.display = redact_uri(uri)
        self._secrets = secrets_in(uri)
        try:
            url = sa.engine.make_url(uri)
        except ArgumentError:
            raise SourceError(f"not a valid database URL: {self.display}") from None
        kwargs: dict[str, Any] = {}
        backend = url.get_backend_name()
        if backend in ("sqlite", "duckdb") and url.database not in (None, "", ":memory:"):
            db = url.database
            if not db.startswith("file:"):
                path = Path(db)
                if not path.is_absolute():
                    path = base_dir / path
                if not path.exists():
                    raise SourceError(f"database file not found: {path} (source {self.display})")
                db = str(path)
            if backend == "sqlite":
                target = db if db.startswith("file:") else f"file:{db}"
                url = url.set(database=target, query={**url.query, "mode": "ro", "uri": "true"})
            else:
                # DuckDB reads the URL's query as settings: `access_mode=read_write` there
                # would win over read_only.
                query = {k: v for k, v in url.query.items() if k.lower() != "access_mode"}
                url = url.set(database=db, query=query)
                kwargs["connect_args"] = {"read_only": True}
        elif backend == "postgresql":
            kwargs["connect_args"] = {"options": "-c default_transaction_read_only=on"}
        # Others (hive:// for Spark's Thrift server, the warehouses) have no read-only
        # connection option: a user that can only read is the way (docs/scale-out.md).
        try:
            if url.drivername == "duckdb" and not url.query:
                # kpiengine's own DuckDB dialect; settings in the URL are duckdb-engine's
                # to sort (DuckDB's own from its extensions').
                url = url.set(drivername=_duckdb_driver())
            self._engine = _engine(url, kwargs)
        except NoSuchModuleError:
            raise SourceError(
                f"no SQLAlchemy dialect for `{url.drivername}` (source {self.display})",
                hint="install the dialect's package, e.g. `pip install duckdb-engine`",
            ) from None
        except ImportError as exc:
            raise SourceError(
                f"the database driver for {self.display} is not installed ({exc.name or exc})",
                hint="for PostgreSQL: `pip install 'kpiengine[postgresql]'`",
            ) from None
        self._columns: dict[str, dict[str, ValueType]] = {}

    @property
    def engine(self) -> Engine:
        return self._engine

    def error(self, exc: BaseException, doing: str) -> SourceError:
        detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        text = detail[0] if detail else type(exc).__name__
        return SourceError(f"{doing} {self.display} failed: {scrub(text, self._secrets)}")

    def table(self, name: str, columns: Sequence[str] | None = None) -> FromClause:
        import sqlalchemy as sa

        schema, _, table = name.rpartition(".")
        cols = list(columns) if columns is not None else list(self.columns(name))
        return sa.table(table, *[sa.column(c) for c in cols], schema=schema or None)

    def columns(self, table: str) -> dict[str, ValueType]:
        if table not in self._columns:
            import sqlalchemy as sa
            from sqlalchemy.exc import DBAPIError

            schema, _, name = table.rpartition(".")
            probe: Any = (
                sa.select(sa.literal_column("*"))
                .select_from(sa.table(name, schema=schema or None))
                .limit(0)
            )
            try:
                with self._engine.connect() as conn:
                    result = conn.execute(probe)
                    description = result.cursor.description or []
                    result.close()
            except DBAPIError as exc:
                raise self.error(exc, f"reading table `{table}` from") from None
            self._columns[table] = {d[0]: _value_type(d[1]) for d in description}
        return self._columns[table]

    def close(self) -> None:
        # Closes the pool's connections (none stays open between sessions); the engine
        # stays in _ENGINES for the next session on the same database.
        self._engine.dispose()


#: Engines by URL and options, kept across sessions (the most recently used
#: _ENGINES_MAX). A process that evaluates the same source again skips creating the
#: engine and connecting its dialect, and finds its statements already compiled:
#: SQLAlchemy's cache of compiled statements lives on the engine.
_ENGINES: OrderedDict[str, Engine] = OrderedDict()
_ENGINES_MAX = 8
_ENGINES_LOCK = threading.Lock()


def _engine(url: URL, kwargs: dict[str, Any]) -> Engine:
    import sqlalchemy as sa

    key = url.render_as_string(hide_password=False) + "\0" + repr(sorted(kwargs.items()))
    with _ENGINES_LOCK:
        engine = _ENGINES.get(key)
        if engine is not None:
            _ENGINES.move_to_end(key)
            return engine
    engine = sa.create_engine(url, **kwargs)
    if url.get_backend_name() == "sqlite":
        sa.event.listen(engine, "connect", _no_attach)
    with _ENGINES_LOCK:
        _ENGINES[key] = engine
        while len(_ENGINES) > _ENGINES_MAX:
            _, dropped = _ENGINES.popitem(last=False)
            dropped.dispose()
    return engine


def _duckdb_driver() -> str:
    """The URL scheme of kpiengine's DuckDB dialect (see :mod:`.duckdb_dialect`)."""
    from kpiengine.builtins import duckdb_dialect

    duckdb_dialect.register()
    return duckdb_dialect.DRIVER


def _no_attach(dbapi_connection: Any, record: Any) -> None:
    """No ATTACH on SQLite connections: even read-only, ATTACH creates the file it names."""
    import sqlite3

    dbapi_connection.setlimit(sqlite3.SQLITE_LIMIT_ATTACHED, 0)


class FileSource(SqlSource):
    """CSV or Parquet files (one file, or every file in a folder) as views in DuckDB in memory.

    Each file becomes a table named after its file name without the extension. A file
    is read (and, for CSV, its format sniffed) when a query first asks for its table,
    so a run reads only the files its datasets use.
    """

    def __init__(self, uri: str, base_dir: Path, kind: str) -> None:
        import sqlalchemy as sa
        from sqlalchemy.pool import StaticPool

        self.display = uri
        self._secrets = []
        self._columns = {}
        raw_path = uri.split(":", 1)[1]
        path = Path(raw_path).expanduser()
        if not path.is_absolute():
            path = base_dir / path
        suffixes = (".csv", ".tsv", ".txt", ".csv.gz") if kind == "csv" else (".parquet",)
        if path.is_dir():
            files = sorted(p for p in path.iterdir() if p.is_file() and p.name.endswith(suffixes))
            if not files:
                raise SourceError(f"no {kind} files in folder {path} (source {uri})")
        elif path.is_file():
            files = [path]
        else:
            raise SourceError(f"file or folder not found: {path} (source {uri})")
        self._kind = kind
        self._unread = {_table_name(file): file for file in files}
        self._engine = sa.create_engine(f"{_duckdb_driver()}:///:memory:", poolclass=StaticPool)

    def table(self, name: str, columns: Sequence[str] | None = None) -> FromClause:
        self._read(name)
        return super().table(name, columns)

    def columns(self, table: str) -> dict[str, ValueType]:
        self._read(table)
        return super().columns(table)

    def _read(self, name: str) -> None:
        """Make the view of table ``name`` if it comes from a file not read yet."""
        file = self._unread.pop(name, None)
        if file is None:
            return
        raw = self._engine.raw_connection()
        try:
            con: Any = raw.driver_connection
            try:
                kind = self._kind
                rel = _csv(con, str(file)) if kind == "csv" else con.read_parquet(str(file))
                rel.create_view(name, replace=True)
            except Exception as exc:
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
                raise SourceError(f"cannot read {kind} file {file}: {first}") from None
        finally:
            raw.close()


#: What ``sniff_csv`` reports of a CSV file's format, and the ``read_csv`` keyword each is
#: given back with.
_CSV_FORMAT = (
    ("Delimiter", "sep"),
    ("Quote", "quotechar"),
    ("Escape", "escapechar"),
    ("NewLineDelimiter", "lineterminator"),
    ("Comment", "comment"),
    ("SkipRows", "skiprows"),
    ("HasHeader", "header"),
    ("DateFormat", "date_format"),
    ("TimestampFormat", "timestamp_format"),
)


def _csv(con: Any, path: str) -> Any:
    """The CSV file as a DuckDB relation: :func:`_sniffed_csv`'s, or where that cannot be
    made (a file the sniffer cannot read, a duckdb without one of the keywords), plain
    ``read_csv``'s, which reads the file or says why it cannot."""
    import duckdb

    try:
        return _sniffed_csv(con, path)
    except (TypeError, KeyError, duckdb.Error):
        return con.read_csv(path)


def _sniffed_csv(con: Any, path: str) -> Any:
    """The CSV file as a DuckDB relation, its format and columns sniffed once.

    The duckdb module's ``read_csv`` without options (duckdb 2.0) sniffs a file three
    times (to bind it, to count its columns, and to pin the format it found into the view
    so that queries do not sniff again): about 50 ms for a 100 KB file, most of a small
    run. ``sniff_csv`` reports the same in one pass, which is given back with detection
    off: the same view, the same rows.
    """
    cursor = con.execute("SELECT * FROM sniff_csv($1)", [path])
    report = dict(zip([d[0] for d in cursor.description], cursor.fetchall()[0], strict=True))
    options = {}
    for field, keyword in _CSV_FORMAT:
        value = report.get(field)
        if value is not None:  # None: a format the file does not need
            options[keyword] = "" if value == "(empty)" else value  # say, no escape character
    if options.get("date_format") == "%Y-%m-%d":
        # ISO dates are read by a lenient cast (a later `2026-01-03 00:00:00` is a date
        # too), which this explicit format would make strict.
        del options["date_format"]
    columns = {c["name"]: c["type"] for c in report["Columns"]}
    return con.read_csv(path, auto_detect=False, columns=columns, **options)


_SUFFIXES = re.compile(r"(\.(csv|tsv|txt|parquet))?(\.gz)?$", re.IGNORECASE)


def _table_name(file: Path) -> str:
    stem = _SUFFIXES.sub("", file.name)
    return re.sub(r"[^A-Za-z0-9_]", "_", stem)


@hookimpl
def kpi_source_types() -> list[SourceType]:
    return [
        SourceType(
            "sqlalchemy",
            "Any SQLAlchemy database URL (duckdb:///, sqlite:///, postgresql+psycopg://, …); "
            "opened read-only where the dialect allows.",
            SqlSource,
        ),
        SourceType(
            "csv",
            "csv:PATH — a CSV file, or a folder of them, queried in the embedded DuckDB.",
            lambda uri, base: FileSource(uri, base, "csv"),
        ),
        SourceType(
            "parquet",
            "parquet:PATH — a Parquet file, or a folder of them, in the embedded DuckDB.",
            lambda uri, base: FileSource(uri, base, "parquet"),
        ),
    ]
