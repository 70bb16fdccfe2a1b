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
