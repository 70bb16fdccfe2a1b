"""Built-in sources: read-only databases, CSV and Parquet files, and column discovery."""

from __future__ import annotations

import csv
import textwrap
from pathlib import Path
from typing import Any

import duckdb
import pytest
import sqlalchemy as sa

from kpiengine.builtins.sources import FileSource, SqlSource
from kpiengine.engine import Request, evaluate
from kpiengine.errors import KpiError, SourceError, SpecErrors
from kpiengine.spec import load_spec

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "specs" / "tiktok" / "data"


def _paid_clicks() -> int:
    with (DATA / "paid_daily.csv").open(newline="", encoding="utf-8") as fh:
        return sum(int(r["clicks"]) for r in csv.DictReader(fh))


def _write_fails(source: Any, table: str) -> None:
    with pytest.raises(sa.exc.DBAPIError), source.engine.begin() as conn:
        conn.execute(sa.text(f"DELETE FROM {table}"))


def test_sqlite_is_opened_read_only(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    engine = sa.create_engine(f"sqlite:///{db}")
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE t (d TEXT, x INTEGER)"))
        conn.execute(sa.text("INSERT INTO t VALUES ('2026-01-01', 1)"))
    engine.dispose()
    source = SqlSource("sqlite:///t.db", tmp_path)  # relative to the spec's folder
    assert set(source.columns("t")) == {"d", "x"}
    _write_fails(source, "t")
    source.close()
    check = sa.create_engine(f"sqlite:///{db}")
    with check.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM t")).scalar() == 1
    check.dispose()


def test_duckdb_file_is_opened_read_only_and_types_are_discovered(tmp_path: Path) -> None:
    db = tmp_path / "t.duckdb"
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE t (d DATE, n BIGINT, s VARCHAR, f DOUBLE)")
    con.execute("INSERT INTO t VALUES ('2026-01-01', 1, 'a', 1.5)")
    con.close()
    source = SqlSource(f"duckdb:///{db}", tmp_path)
    assert source.columns("t") == {"d": "date", "n": "number", "s": "string", "f": "number"}
    _write_fails(source, "t")
    source.close()


def test_postgresql_is_opened_read_only(postgres_db: str) -> None:
    engine = sa.create_engine(postgres_db)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE t (d DATE, n BIGINT, s TEXT)"))
        conn.execute(sa.text("INSERT INTO t VALUES ('2026-01-01', 1, 'a')"))
    source = SqlSource(postgres_db, Path.cwd())
    assert source.columns("t") == {"d": "date", "n": "number", "s": "string"}
    _write_fails(source, "t")
    source.close()
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM t")).scalar() == 1
    engine.dispose()


# -- writes through the engine's own connection fail, whatever the URL asks for ------------

WRITES = [
    "INSERT INTO t VALUES ('2026-01-02', 2)",
    "UPDATE t SET x = 0",
    "DELETE FROM t",
    "DROP TABLE t",
    "CREATE TABLE u (x INTEGER)",
    "ALTER TABLE t ADD COLUMN y INTEGER",
]


def _every_write_fails(source: Any) -> None:
    for statement in WRITES:
        with pytest.raises(sa.exc.DBAPIError), source.engine.begin() as conn:
            conn.execute(sa.text(statement))


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Path:
    db = tmp_path / "t.db"
    engine = sa.create_engine(f"sqlite:///{db}")
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE t (d TEXT, x INTEGER)"))
        conn.execute(sa.text("INSERT INTO t VALUES ('2026-01-01', 1)"))
    engine.dispose()
    return db


@pytest.mark.parametrize("query", ["", "?mode=rwc", "?mode=rw&uri=true", "?mode=memory"])
def test_sqlite_writes_fail_whatever_the_url_says(sqlite_db: Path, query: str) -> None:
    before = sqlite_db.read_bytes()
    source = SqlSource(f"sqlite:///{sqlite_db}{query}", sqlite_db.parent)
    _every_write_fails(source)
    # ATTACH would create the file it names, even on a read-only connection.
    with pytest.raises(sa.exc.DBAPIError), source.engine.connect() as conn:
        conn.execute(sa.text(f"ATTACH DATABASE '{sqlite_db.parent / 'new.db'}' AS other"))
    source.close()
    assert not (sqlite_db.parent / "new.db").exists()
    assert sqlite_db.read_bytes() == before


@pytest.mark.parametrize(
    "query", ["", "?access_mode=read_write", "?access_mode=READ_WRITE", "?access_mode=automatic"]
)
def test_duckdb_writes_fail_whatever_the_url_says(tmp_path: Path, query: str) -> None:
    db = tmp_path / "t.duckdb"
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE t (d DATE, x BIGINT)")
    con.execute("INSERT INTO t VALUES ('2026-01-01', 1)")
    con.close()
    before = db.read_bytes()
    source = SqlSource(f"duckdb:///{db}{query}", tmp_path)
    _every_write_fails(source)
    source.close()
    assert db.read_bytes() == before


@pytest.mark.parametrize(
    "query",
    ["", "?options=-c%20default_transaction_read_only%3Doff"],
)
def test_postgresql_writes_fail_whatever_the_url_says(postgres_db: str, query: str) -> None:
    engine = sa.create_engine(postgres_db)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE IF EXISTS t"))
        conn.execute(sa.text("CREATE TABLE t (d DATE, x BIGINT)"))
        conn.execute(sa.text("INSERT INTO t VALUES ('2026-01-01', 1)"))
    source = SqlSource(postgres_db + query, Path.cwd())
    with source.engine.connect() as conn:
        assert conn.execute(sa.text("SHOW default_transaction_read_only")).scalar() == "on"
    _every_write_fails(source)
    source.close()
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM t")).scalar() == 1
    engine.dispose()


def test_file_sources_leave_their_files_alone(tmp_path: Path) -> None:
    """CSV files are read through views of an in-memory DuckDB: writes land in memory,
    never in the files."""
    (tmp_path / "t.csv").write_text("d,x\n2026-01-01,1\n", encoding="utf-8")
    before = (tmp_path / "t.csv").read_bytes()
    source = FileSource(f"csv:{tmp_path}", tmp_path, "csv")
    for statement in (
        "INSERT INTO t VALUES ('2026-01-02', 2)",
        "DELETE FROM t",
        "UPDATE t SET x = 0",
    ):
        with pytest.raises(sa.exc.DBAPIError), source.engine.begin() as conn:
            conn.execute(sa.text(statement))  # a view cannot be written
    source.close()
    assert (tmp_path / "t.csv").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.csv"]


def test_missing_database_file_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="database file not found"):
        SqlSource("sqlite:///missing.db", tmp_path)


def test_missing_table_is_a_user_error(tmp_path: Path) -> None:
    source = FileSource(f"csv:{DATA}", tmp_path, "csv")
    with pytest.raises(SourceError, match="reading table `nope`"):
        source.columns("nope")
    source.close()


def test_parquet_folder(tmp_path: Path) -> None:
    folder = tmp_path / "pq"
    folder.mkdir()
    con = duckdb.connect()
    for name in ("organic_daily", "followers_daily", "paid_daily"):
        src = str(DATA / f"{name}.csv")
        dst = str(folder / f"{name}.parquet")
        con.execute(f"COPY (SELECT * FROM read_csv_auto('{src}')) TO '{dst}' (FORMAT parquet)")
    con.close()
    spec = load_spec(ROOT / "specs" / "tiktok")
    result = evaluate(spec, Request(kpis=("clicks",), sources={"paid": f"parquet:{folder}"}))
    assert result.tables[0].rows[0]["clicks"] == _paid_clicks()


def test_a_single_csv_file(tmp_path: Path) -> None:
    spec_file = tmp_path / "one.yaml"
    spec_file.write_text(
        textwrap.dedent(
            f"""\
            sources:
              ads: csv:{DATA / "paid_daily.csv"}
            datasets:
              paid: {{source: ads, table: paid_daily, time: date}}
            kpis:
              clicks: sum(clicks)
            """
        ),
        encoding="utf-8",
    )
    result = evaluate(load_spec(spec_file))
    assert result.tables[0].rows[0]["clicks"] == _paid_clicks()


def test_a_malformed_csv_is_a_user_error(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "paid_daily.csv").write_text(
        "date,clicks\n2026-01-01,3\n2026-01-02,lots\n", encoding="utf-8"
    )
    spec_file = tmp_path / "s.yaml"
    spec_file.write_text(
        "sources: {s: csv:data}\n"
        "datasets: {paid: {source: s, table: paid_daily, time: date,"
        " columns: {date: date, clicks: number}}}\n"
        "kpis: {clicks: sum(clicks)}\n",
        encoding="utf-8",
    )
    with pytest.raises(KpiError) as info:
        evaluate(load_spec(spec_file))
    assert "paid" in info.value.message


#: CSV files in the shapes people export, each read by a csv: source as DuckDB's own
#: read_csv reads it (the oracle).
CSV_SHAPES = {
    "plain.csv": b"date,clicks,spend\n2026-01-01,3,1.5\n2026-01-02,4,2.25\n",
    "semicolons.csv": b"day;clicks;note\n01/02/2026;1,5;x\n15/03/2026;2,5;y\n",
    "tabs.tsv": b"date\tclicks\n2026-01-01\t3\n2026-01-02\t4\n",
    "quoted.csv": b'n,text\n1,"a, b"\n2,"say ""hi"""\n',
    "timestamps.csv": b"at,clicks\n2026-01-01 10:00:00,1\n2026-01-02 11:30:00,2\n",
    "bom_crlf.csv": b"\xef\xbb\xbfdate,clicks\r\n2026-01-01,1\r\n2026-01-02,2\r\n",
    "comment.csv": b"# exported 2026-01-03\ndate,clicks\n2026-01-01,1\n",
    "empty_column.csv": b"date,clicks\n2026-01-01,\n2026-01-02,\n",
    "dates_and_times.csv": b"date,clicks\n2026-01-03 00:00:00,1\n2026-01-04,2\n",
    "header_only.csv": b"date,clicks\n",
    "thousands.csv": b'Date,Cost\n"Jan 5, 2026","1,234.50"\n',
    # Beyond the sniffer's sample of 20,480 rows, a date written with its time: a date too.
    "late_time.csv": (
        "date,clicks\n"
        + "".join(f"2026-01-{1 + i % 28:02d},{i}\n" for i in range(21_000))
        + "2026-02-03 00:00:00,7\n"
    ).encode(),
}


def _described(con: Any, sql: str) -> tuple[list[tuple[str, str]], list[tuple[Any, ...]]]:
    cursor = con.execute(sql)
    description = [(d[0], str(d[1])) for d in cursor.description]
    return description, [tuple(r) for r in cursor.fetchall()]


def _duckdb_read(path: Path) -> tuple[list[tuple[str, str]], list[tuple[Any, ...]]]:
    """What DuckDB's own read_csv makes of the file: column names and types, and rows."""
    con = duckdb.connect()
    try:
        con.read_csv(str(path)).create_view("t")
        return _described(con, "SELECT * FROM t")
    finally:
        con.close()


@pytest.mark.parametrize("name", sorted(CSV_SHAPES))
def test_csv_files_are_read_as_duckdb_reads_them_the_format_sniffed_once(
    tmp_path: Path, name: str
) -> None:
    from kpiengine.builtins.sources import _sniffed_csv

    path = tmp_path / name
    path.write_bytes(CSV_SHAPES[name])
    con = duckdb.connect()
    try:
        _sniffed_csv(con, str(path)).create_view("t")
        assert _described(con, "SELECT * FROM t") == _duckdb_read(path)
        (view,) = con.execute("SELECT sql FROM duckdb_views() WHERE view_name = 't'").fetchone()
    finally:
        con.close()
    # The format and the columns are written into the view: its queries do not sniff again.
    assert "auto_detect := false" in view
    assert "columns" in view


def test_a_csv_source_reads_its_files_as_duckdb_reads_them(tmp_path: Path) -> None:
    (tmp_path / "quoted.csv").write_bytes(CSV_SHAPES["quoted.csv"])
    source = FileSource(f"csv:{tmp_path}", tmp_path, "csv")
    try:
        source.table("quoted")  # reads the file
        with source.engine.connect() as conn:
            con = conn.connection.driver_connection
            assert _described(con, "SELECT * FROM quoted") == _duckdb_read(tmp_path / "quoted.csv")
    finally:
        source.close()


def test_a_csv_whose_sniffed_format_cannot_be_given_back_is_read_as_duckdb_reads_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kpiengine.builtins import sources

    # A keyword this duckdb does not know, as an older duckdb would not know one.
    monkeypatch.setattr(sources, "_CSV_FORMAT", (*sources._CSV_FORMAT, ("Quote", "no_such")))
    path = tmp_path / "quoted.csv"
    path.write_bytes(CSV_SHAPES["quoted.csv"])
    con = duckdb.connect()
    try:
        with pytest.raises((TypeError, duckdb.Error)):
            sources._sniffed_csv(con, str(path))
        sources._csv(con, str(path)).create_view("t")
        assert _described(con, "SELECT * FROM t") == _duckdb_read(path)
    finally:
        con.close()


def test_declared_columns_are_checked_without_opening_the_source(tmp_path: Path) -> None:
    spec_file = tmp_path / "s.yaml"
    spec_file.write_text(
        "sources: {s: postgresql+psycopg://nobody@127.0.0.1:9/none}\n"
        "datasets: {paid: {source: s, table: t, time: date,"
        " columns: {date: date, clicks: number}}}\n"
        "kpis: {clicks: sum(clickz)}\n",
        encoding="utf-8",
    )
    from kpiengine.engine import check, session

    with pytest.raises(SpecErrors) as info, session(load_spec(spec_file)) as sess:
        check(sess)
    assert "unknown column `clickz`" in info.value.render()


# --------------------------------------------------------------------------- reuse


def _weekly_db(path: Path) -> Path:
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE t (d DATE, x BIGINT)")
    con.execute("INSERT INTO t VALUES ('2026-01-05', 1), ('2026-01-06', 2), ('2026-01-13', 4)")
    con.close()
    return path


def _weekly_spec(tmp_path: Path, db: Path) -> Any:
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        textwrap.dedent(
            f"""\
            sources:
              s: duckdb:///{db}
            datasets:
              t:
                source: s
                table: t
                time: d
                columns: {{d: date, x: number}}
            kpis:
              total: sum(x)
            """
        ),
        encoding="utf-8",
    )
    return load_spec(spec)


def test_a_source_evaluated_again_reuses_its_engine_and_statement_but_reads_afresh(
    tmp_path: Path,
) -> None:
    from kpiengine.builtins import sources

    db = _weekly_db(tmp_path / "w.duckdb")
    spec = _weekly_spec(tmp_path, db)

    def weeks(request: Request) -> dict[str | None, Any]:
        return {r["period"]: r["total"] for r in evaluate(spec, request).tables[0].rows}

    week = Request(grain="week")
    assert weeks(week) == {"2026-01-05": 3, "2026-01-12": 4}  # by hand
    engines = dict(sources._ENGINES)
    assert weeks(Request(grain="total")) == {None: 7}
    assert weeks(week) == {"2026-01-05": 3, "2026-01-12": 4}
    assert dict(sources._ENGINES) == engines  # the same engine, the same key
    # No connection stays open between runs: the file opens for writing in this process
    # (DuckDB refuses a second configuration of an open database), and the next run,
    # through the same engine and statement, reads the new row.
    con = duckdb.connect(str(db))
    con.execute("INSERT INTO t VALUES ('2026-01-14', 10)")
    con.close()
    assert weeks(week) == {"2026-01-05": 3, "2026-01-12": 14}


def test_engines_kept_are_bounded_and_the_oldest_disposed(tmp_path: Path) -> None:
    from kpiengine.builtins import sources

    opened = []
    for i in range(sources._ENGINES_MAX + 2):
        source = SqlSource(f"duckdb:///{_weekly_db(tmp_path / f'{i}.duckdb')}", tmp_path)
        assert source.columns("t") == {"d": "date", "x": "number"}
        source.close()
        opened.append(source.engine)
    assert len(sources._ENGINES) == sources._ENGINES_MAX
    kept = list(sources._ENGINES.values())
    assert opened[-1] in kept
    assert opened[0] not in kept
    assert opened[1] not in kept
