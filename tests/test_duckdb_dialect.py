"""kpiengine's DuckDB dialect: SQLAlchemy's default one on DuckDB's connection, writing
what duckdb-engine's writes, without importing duckdb-engine or PostgreSQL's dialect."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections import OrderedDict
from pathlib import Path

import duckdb
import pytest
import sqlalchemy as sa

from kpiengine.builtins import duckdb_dialect, sources
from kpiengine.builtins.sources import SqlSource
from kpiengine.engine import Request, evaluate, explain
from kpiengine.spec import load_spec

REPO = Path(__file__).resolve().parents[1]


def _database(tmp_path: Path) -> Path:
    db = tmp_path / "t.duckdb"
    con = duckdb.connect(str(db))
    # `pivot` and `qualify` are reserved in DuckDB, not in PostgreSQL: they must be quoted.
    con.execute('CREATE TABLE t (d DATE, "pivot" BIGINT, "qualify" BIGINT, x BIGINT)')
    con.execute(
        "INSERT INTO t VALUES ('2026-01-05', 1, 10, 100), ('2026-01-06', 2, 20, 200),"
        " ('2026-01-13', 4, 40, 400)"
    )
    con.close()
    return db


def _spec(tmp_path: Path, db: Path) -> Path:
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
            kpis:
              p: sum(pivot)
              q: sum(qualify) / sum(x)
            """
        ),
        encoding="utf-8",
    )
    return spec


def test_reserved_words_are_quoted_before_and_after_connecting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(duckdb_dialect, "_keywords", None)  # as in a fresh process
    db = _database(tmp_path)
    spec = load_spec(_spec(tmp_path, db))
    # explain compiles with the source's dialect without connecting to it
    sql = explain(spec, Request(grain="week"))[0].sql
    assert '"pivot"' in sql
    assert '"qualify"' in sql
    # As in another fresh process: no keywords read, no engine kept, no statement built.
    monkeypatch.setattr(duckdb_dialect, "_keywords", None)
    monkeypatch.setattr(sources, "_ENGINES", OrderedDict())
    spec = load_spec(_spec(tmp_path, db))
    result = evaluate(spec, Request(grain="week"))  # keywords read on the connection
    rows = {r["period"]: (r["p"], r["q"]) for r in result.tables[0].rows}
    # by hand: week of 2026-01-05 has rows 1 and 2, week of 2026-01-12 row 4
    assert rows == {"2026-01-05": (3, 30 / 300), "2026-01-12": (4, 40 / 400)}
    assert duckdb_dialect._keywords is not None
    assert {"pivot", "qualify"} <= duckdb_dialect._keywords


def test_a_plain_file_url_opens_read_only_without_a_settings_database(tmp_path: Path) -> None:
    db = _database(tmp_path)
    code = textwrap.dedent(
        f"""\
        from pathlib import Path
        import duckdb_engine.config
        from kpiengine.builtins.sources import SqlSource
        source = SqlSource("duckdb:///{db}", Path("."))
        print(source.engine.dialect.name, sorted(source.columns("t")))
        print(duckdb_engine.config.get_core_config.cache_info().currsize)
        source.close()
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split("\n")[:2] == ["duckdb ['d', 'pivot', 'qualify', 'x']", "0"]
    source = SqlSource(f"duckdb:///{db}", tmp_path)
    try:
        with source.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT sum(x) FROM t")).scalar() == 700
            with pytest.raises(sa.exc.DBAPIError, match="read-only"):
                conn.execute(sa.text("DELETE FROM t"))
    finally:
        source.close()


def test_settings_in_the_url_still_apply(tmp_path: Path) -> None:
    db = _database(tmp_path)
    source = SqlSource(f"duckdb:///{db}?threads=1", tmp_path)
    try:
        with source.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT current_setting('threads')")).scalar() == 1
    finally:
        source.close()


def test_duckdb_urls_elsewhere_keep_duckdb_engines_dialect() -> None:
    duckdb_dialect.register()
    plain = sa.create_engine("duckdb:///:memory:")
    ours = sa.create_engine(f"{duckdb_dialect.DRIVER}:///:memory:")
    assert type(plain.dialect) is not duckdb_dialect.DuckDBDialect
    assert type(ours.dialect) is duckdb_dialect.DuckDBDialect
    plain.dispose()
    ours.dispose()


def test_the_catalogue_compiles_as_with_duckdb_engines_dialect() -> None:
    """kpiengine's DuckDB dialect writes, for the statements kpiengine builds, the SQL
    duckdb-engine's (PostgreSQL's) dialect writes: the text is compared whole."""
    from kpiengine.engine import _statement, check, plan, session, window_of

    duckdb_dialect.register()
    ours = sa.create_engine(f"{duckdb_dialect.DRIVER}:///:memory:")
    theirs = sa.create_engine("duckdb:///:memory:")  # duckdb-engine's
    assert type(theirs.dialect).__module__ == "duckdb_engine"
    spec = load_spec(REPO / "specs" / "tiktok")
    requests = [
        Request(grain="week", by=("campaign",)),
        Request(grain="month", date_from="2024-07-01", date_to="2024-09-30"),
        Request(grain="total", where="campaign != 'x' and spend > 1.5"),
        Request(grain="day", by=("campaign",), kpis=("ctr", "spend")),
    ]
    compared = 0
    for request in requests:
        with session(spec) as sess:
            checked = check(sess)
            for table_plan in plan(checked, request, []):
                window = window_of(request)
                stmt, _ = _statement(sess, checked, table_plan, window, offline=True)
                a = stmt.compile(dialect=ours.dialect)
                b = stmt.compile(dialect=theirs.dialect)
                assert str(a) == str(b), (request, table_plan.name)
                assert a.params == b.params
                compared += 1
    assert compared >= 10
    ours.dispose()
    theirs.dispose()


def test_a_run_on_a_duckdb_file_imports_neither_duckdb_engine_nor_postgresql(
    tmp_path: Path,
) -> None:
    db = _database(tmp_path)
    code = textwrap.dedent(
        f"""\
        import sys
        from kpiengine.cli import main
        sys.argv = ["kpi", "run", {str(_spec(tmp_path, db))!r}, "--grain", "week"]
        try:
            main()
        except SystemExit as exc:
            assert exc.code == 0, exc.code
        loaded = [m for m in sys.modules if m.startswith(("duckdb_engine", "sqlalchemy.dialects"))]
        print(sorted(loaded), file=sys.stderr)
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "2026-01-05" in done.stdout  # the week's row is there
    assert done.stderr.strip() == "['sqlalchemy.dialects']", done.stderr
