"""The same spec gives the same numbers on DuckDB (CSV and file), SQLite and PostgreSQL.

The sample CSVs are loaded into each database with plain inserts (the csv module
and SQLAlchemy Core), then the TikTok spec runs with its source rebound there.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from kpiengine.engine import Request, evaluate, explain
from kpiengine.spec import load_spec

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "specs" / "tiktok"
DATA = SPEC / "data"

REQUESTS = [
    Request(),
    Request(grain="week", by=("campaign",)),
    Request(grain="month", date_from="2026-07-15", date_to="2026-09-10"),
    Request(grain="quarter"),
    Request(grain="year", by=("objective",)),
    Request(grain="day", by=("ad",), date_from="2026-08-01", date_to="2026-08-14"),
    Request(grain="week", by=("campaign", "ad_group"), where="objective != 'awareness'"),
    Request(where="campaign in ('Summer Sale', 'App Installs') and spend > 5"),
    Request(
        grain="week", where="date >= '2026-08-01' and date between '2026-07-01' and '2026-08-20'"
    ),
]


def _load_csvs(engine: sa.Engine) -> None:
    """Create one table per sample CSV, typed from its values, and insert the rows."""
    meta = sa.MetaData()
    for path in sorted(DATA.glob("*.csv")):
        with path.open(newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
        columns = []
        for name in rows[0]:
            values = [r[name] for r in rows if r[name] != ""]
            if name == "date":
                typ: Any = sa.Date()
            elif all(_is_int(v) for v in values):
                typ = sa.BigInteger()
            elif all(_is_float(v) for v in values):
                typ = sa.Double()
            else:
                typ = sa.Text()
            columns.append(sa.Column(name, typ))
        table = sa.Table(path.stem, meta, *columns)
        meta.create_all(engine, tables=[table])
        converted = [{c.name: _convert(r[c.name], c.type) for c in table.columns} for r in rows]
        with engine.begin() as conn:
            conn.execute(table.insert(), converted)


def _is_int(v: str) -> bool:
    try:
        int(v)
    except ValueError:
        return False
    return True


def _is_float(v: str) -> bool:
    try:
        float(v)
    except ValueError:
        return False
    return True


def _convert(value: str, typ: Any) -> Any:
    import datetime as dt

    if value == "":
        return None
    if isinstance(typ, sa.Date):
        return dt.date.fromisoformat(value)
    if isinstance(typ, sa.BigInteger):
        return int(value)
    if isinstance(typ, sa.Double):
        return float(value)
    return value


def _numbers(result: Any) -> dict[tuple[Any, ...], Any]:
    out = {}
    for table in result.tables:
        for row in table.rows:
            key = (table.name, row["period"], *(row[d] for d in table.dimensions))
            for kpi in table.kpis:
                out[(*key, kpi.name)] = row[kpi.name]
    return out


def _assert_same(expected: dict[Any, Any], got: dict[Any, Any]) -> None:
    assert set(got) == set(expected)
    for key, want in expected.items():
        have = got[key]
        if want is None or have is None:
            assert have is None, key
            assert want is None, key
        else:
            # Sums of two-decimal money in a different order differ in the last bits.
            assert math.isclose(have, want, rel_tol=1e-9, abs_tol=1e-9), (key, have, want)


@pytest.fixture(scope="module")
def spec() -> Any:
    return load_spec(SPEC)


@pytest.fixture(scope="module")
def baseline(spec: Any) -> list[Any]:
    return [evaluate(spec, r) for r in REQUESTS]


@pytest.fixture(scope="module")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("sqlite") / "tiktok.db"
    engine = sa.create_engine(f"sqlite:///{path}")
    _load_csvs(engine)
    engine.dispose()
    return f"sqlite:///{path}"


@pytest.fixture(scope="module")
def duckdb_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("duckdb") / "tiktok.duckdb"
    engine = sa.create_engine(f"duckdb:///{path}")
    _load_csvs(engine)
    engine.dispose()
    return f"duckdb:///{path}"


@pytest.fixture(scope="module")
def pg_url(postgres_db: str) -> str:
    engine = sa.create_engine(postgres_db)
    _load_csvs(engine)
    engine.dispose()
    return postgres_db


def _check_engine(spec: Any, baseline: list[Any], url: str) -> None:
    for request, expected in zip(REQUESTS, baseline, strict=True):
        rebound = Request(**{**request.__dict__, "sources": {"organic": url, "paid": url}})
        got = evaluate(spec, rebound)
        _assert_same(_numbers(expected), _numbers(got))
        assert [(f.rule, f.period, f.dimensions) for f in got.findings] == [
            (f.rule, f.period, f.dimensions) for f in expected.findings
        ]
        # The days the data covers, and so the partial periods, read alike everywhere
        # (SQLite returns dates as text, PostgreSQL and DuckDB as dates).
        assert [(t.name, t.data_from, t.data_to, t.partial_periods) for t in got.tables] == [
            (t.name, t.data_from, t.data_to, t.partial_periods) for t in expected.tables
        ]


def test_baseline_is_not_empty(baseline: list[Any]) -> None:
    # Guard against comparing empty results: every request yields KPI values.
    for result in baseline:
        assert any(table.rows for table in result.tables)
    assert any(result.findings for result in baseline)


def test_sqlite_gives_the_same_numbers(spec: Any, baseline: list[Any], sqlite_url: str) -> None:
    _check_engine(spec, baseline, sqlite_url)


def test_duckdb_file_gives_the_same_numbers(
    spec: Any, baseline: list[Any], duckdb_url: str
) -> None:
    _check_engine(spec, baseline, duckdb_url)


def test_postgresql_gives_the_same_numbers(spec: Any, baseline: list[Any], pg_url: str) -> None:
    _check_engine(spec, baseline, pg_url)


def test_dates_compare_with_iso_strings(baseline: list[Any]) -> None:
    with (DATA / "paid_daily.csv").open(newline="", encoding="utf-8") as fh:
        expected = sum(
            int(r["clicks"])
            for r in csv.DictReader(fh)
            if "2026-08-01" <= r["date"] <= "2026-08-20"
        )
    paid = next(t for t in baseline[-1].tables if t.name == "paid")
    assert sum(row["clicks"] for row in paid.rows) == expected


def test_explain_is_one_query_per_table_with_one_aggregate_per_dataset(spec: Any) -> None:
    queries = explain(spec, Request(grain="week"))
    assert [q.table for q in queries] == ["audience", "paid_audience", "organic", "paid"]
    audience, paid_audience, organic, paid = queries
    assert sorted(organic.datasets) == [
        "followers_daily", "organic_daily", "videos", "viewers_daily",
    ]  # fmt: skip
    assert paid.datasets == ["paid_daily"]
    assert paid_audience.datasets == ["paid_audience"]
    assert sorted(audience.datasets) == [
        "audience_age", "audience_gender", "audience_territory", "follower_activity",
        "viewers_daily",
    ]  # fmt: skip
    # Each dataset's table is scanned once per window, whatever the number of KPIs. The
    # organic table holds the trend rule `change(organic_engagement_rate) < -20%`: without
    # a range it joins its KPIs with themselves one week back (one read of each dataset);
    # with a range it also reads them for the weeks one week earlier.
    assert paid.sql.count("FROM paid_daily") == 1
    trend = [r for r in spec.rules.values() if "change(" in r.when.text]
    assert [(r.name, spec.kpis[r.kpi].category) for r in trend] == [
        ("engagement_rate_falling", "organic")
    ]
    for dataset in organic.datasets:
        assert organic.sql.count(f"FROM {dataset}") == 1, dataset
    assert "FROM cur LEFT OUTER JOIN cur AS prev ON" in organic.sql
    ranged = Request(grain="week", date_from="2026-08-03", date_to="2026-08-30")
    organic_ranged = next(q for q in explain(spec, ranged) if q.table == "organic")
    for dataset in organic_ranged.datasets:
        assert organic_ranged.sql.count(f"FROM {dataset}") == 2, dataset
    # With grain total and no range there is no earlier window: one scan.
    organic_total = next(q for q in explain(spec, Request()) if q.table == "organic")
    for dataset in organic_total.datasets:
        assert organic_total.sql.count(f"FROM {dataset}") == 1, dataset
    for dataset in audience.datasets:
        assert audience.sql.count(f"FROM {dataset}") == 1, dataset
    # the twelve segment KPIs (filtered aggregates) share one scan of paid_audience
    assert paid_audience.sql.count("FROM paid_audience") == 1
    assert paid.sql.upper().count("GROUP BY") == 1
    assert paid_audience.sql.upper().count("GROUP BY") == 1


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql", "duckdb"])
def test_explain_compiles_for_each_dialect(spec: Any, dialect: str) -> None:
    queries = explain(spec, Request(grain="month", by=("campaign",)), dialect=dialect)
    paid = next(q for q in queries if q.table == "paid")
    assert "SELECT" in paid.sql
    if dialect == "sqlite":
        assert "start of month" in paid.sql
    else:
        assert "date_trunc('month'" in paid.sql


PREV_SPEC = """\
sources: {s: csv:data}
datasets:
  paid: {source: s, table: paid_daily, time: date, dimensions: [campaign]}
kpis:
  clicks: sum(clicks)
  ctr: clicks / sum(impressions)
  clicks_before: previous(clicks)
  clicks_change: change(clicks)
  ctr_delta: ctr - previous(ctr)
rules:
  ctr_drop: {when: change(ctr) < -10%, level: warn}
"""


@pytest.fixture(scope="module")
def prev_spec(tmp_path_factory: pytest.TempPathFactory) -> Any:
    folder = tmp_path_factory.mktemp("prev")
    (folder / "data").symlink_to(DATA)
    (folder / "prev.yaml").write_text(PREV_SPEC, encoding="utf-8")
    return load_spec(folder / "prev.yaml")


PREV_REQUESTS = [
    Request(grain="day", date_from="2026-08-30", date_to="2026-09-03", by=("campaign",)),
    Request(grain="week", date_from="2026-08-03", date_to="2026-08-30"),
    Request(grain="month", date_from="2026-08-01", by=("campaign",)),
    Request(grain="quarter"),
    Request(grain="year"),
    Request(date_from="2026-09-01", date_to="2026-09-30"),
]


def test_previous_and_change_match_a_hand_computation(prev_spec: Any) -> None:
    daily: dict[tuple[str, str], int] = {}
    with (DATA / "paid_daily.csv").open(newline="", encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            key = (r["date"][:7], r["campaign"])
            daily[key] = daily.get(key, 0) + int(r["clicks"])
    result = evaluate(prev_spec, PREV_REQUESTS[2])
    rows = {(row["period"][:7], row["campaign"]): row for row in result.tables[0].rows}
    for (month, campaign), row in rows.items():
        before_month = {"2026-08": "2026-07", "2026-09": "2026-08"}[month]
        before = daily.get((before_month, campaign))  # July lies before --from
        assert row["clicks"] == daily[(month, campaign)]
        assert row["clicks_before"] == before
        if before:
            assert row["clicks_change"] == pytest.approx((row["clicks"] - before) / before)
        else:
            assert row["clicks_change"] is None
    # the rule fires exactly where CTR fell by more than 10 %
    fired = {(f.period[:7], f.dimensions["campaign"]) for f in result.findings}
    expected = set()
    for (month, campaign), row in rows.items():
        before_month = {"2026-08": "2026-07", "2026-09": "2026-08"}[month]
        previous = (
            evaluate(
                prev_spec,
                Request(
                    kpis=("ctr",),
                    date_from=f"{before_month}-01",
                    date_to=f"{before_month}-{31 if before_month != '2026-09' else 30}",
                    where=f"campaign = '{campaign}'",
                ),
            )
            .tables[0]
            .rows[0]["ctr"]
        )
        if previous and row["ctr"] is not None and (row["ctr"] - previous) / previous < -0.10:
            expected.add((month, campaign))
    assert fired == expected
    assert fired  # the sample has falling CTRs


def test_previous_without_a_range_is_the_period_before_by_hand(prev_spec: Any) -> None:
    # No --from/--to: the earlier values are the same table one period back (a join of
    # the KPIs with themselves). Sums by month and campaign straight from the CSV.
    clicks: dict[tuple[str, str], int] = {}
    impressions: dict[tuple[str, str], int] = {}
    with (DATA / "paid_daily.csv").open(newline="", encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            key = (r["date"][:7], r["campaign"])
            clicks[key] = clicks.get(key, 0) + int(r["clicks"])
            impressions[key] = impressions.get(key, 0) + int(r["impressions"])
    months = sorted({m for m, _ in clicks})
    before_of = dict(zip(months[1:], months[:-1], strict=True))
    result = evaluate(prev_spec, Request(grain="month", by=("campaign",)))
    rows = {(row["period"][:7], row["campaign"]): row for row in result.tables[0].rows}
    assert set(rows) == set(clicks)
    expected_fired = set()
    for (month, campaign), row in rows.items():
        earlier = (before_of.get(month), campaign)
        before = clicks.get(earlier)  # None for the first month: no data before it
        ctr = clicks[(month, campaign)] / impressions[(month, campaign)]
        ctr_before = clicks[earlier] / impressions[earlier] if earlier in clicks else None
        assert row["clicks_before"] == before
        if before:
            assert row["clicks_change"] == pytest.approx((row["clicks"] - before) / before)
        else:
            assert row["clicks_change"] is None
        if ctr_before is None:
            assert row["ctr_delta"] is None
        else:
            assert row["ctr_delta"] == pytest.approx(ctr - ctr_before)
            if (ctr - ctr_before) / ctr_before < -0.10:
                expected_fired.add((month, campaign))
    assert {(f.period[:7], f.dimensions["campaign"]) for f in result.findings} == expected_fired
    assert expected_fired
    assert any(row["clicks_before"] is None for row in rows.values())


@pytest.mark.parametrize("engine", ["sqlite", "duckdb", "postgresql"])
def test_previous_is_the_same_on_every_engine(
    prev_spec: Any, engine: str, request: pytest.FixtureRequest
) -> None:
    url = request.getfixturevalue(
        {"sqlite": "sqlite_url", "duckdb": "duckdb_url", "postgresql": "pg_url"}[engine]
    )
    for req in PREV_REQUESTS:
        expected = evaluate(prev_spec, req)
        got = evaluate(prev_spec, Request(**{**req.__dict__, "sources": {"s": url}}))
        _assert_same(_numbers(expected), _numbers(got))
        assert [(f.period, f.dimensions) for f in got.findings] == [
            (f.period, f.dimensions) for f in expected.findings
        ]
