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
    result = evaluate(spec, Request(kpis=("clicks",), sources={"tiktok": f"parquet:{folder}"}))
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
