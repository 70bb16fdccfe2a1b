"""The same specs give the same numbers on Spark as on DuckDB.

The sample CSVs are loaded into a Spark Thrift server in local mode (see conftest.py),
and the whole TikTok catalogue runs through the built-in SQL source with a
``hive://`` URL (PyHive), at several grains, breakdowns, ranges and filters, and with
``previous()``/``change()``. Every KPI value, finding and comparison must equal the
result of the spec's own sources (the CSV files in the embedded DuckDB).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
from sparkserver import in_ci, missing_requirements, table_name

from kpiengine.builtins.sources import SqlSource
from kpiengine.engine import Request, evaluate, explain
from kpiengine.spec import Spec, load_spec

if missing_requirements() and not in_ci():  # one line in the summary, not one per test
    pytest.skip(f"Spark not available: {missing_requirements()}", allow_module_level=True)

ROOT = Path(__file__).resolve().parents[2]
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
    Request(grain="month", compare="previous", date_from="2026-08-01", date_to="2026-09-30"),
    Request(grain="week", by=("campaign",), compare="year"),
]


def rebound(spec: Spec, request: Request, url: str) -> Request:
    """The request with every source of the spec that reads the sample CSVs bound to ``url``."""
    sources = {}
    for name, source in spec.sources.items():
        kind, _, path = source.uri.partition(":")
        if kind == "csv" and (source.base_dir / path).resolve() == DATA.resolve():
            sources[name] = url
    assert sources, "no source of the spec reads specs/tiktok/data"
    return Request(**{**request.__dict__, "sources": sources})


def numbers(result: Any) -> dict[tuple[Any, ...], Any]:
    """Every KPI value of a result, keyed by table, period, dimension values and KPI."""
    out: dict[tuple[Any, ...], Any] = {}
    for table in result.tables:
        for row in table.rows:
            key = (table.name, row.get("period"), *(row.get(d) for d in table.dimensions))
            for kpi in table.kpis:
                out[(*key, kpi.name)] = row.get(kpi.name)
    for entry in result.comparisons:
        key = tuple(sorted((k, str(v)) for k, v in entry.items() if not _is_number(v)))
        for field in ("value", "earlier", "change", "relative_change"):
            out[("comparison", *key, field)] = entry[field]
    return out


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def assert_same(expected: dict[Any, Any], got: dict[Any, Any]) -> None:
    assert set(got) == set(expected)
    for key, want in expected.items():
        have = got[key]
        if want is None or have is None:
            assert have is None, key
            assert want is None, key
        elif _is_number(want):
            # Sums of two-decimal money in a different order differ in the last bits.
            assert math.isclose(have, want, rel_tol=1e-9, abs_tol=1e-9), (key, have, want)
        else:
            assert have == want, key


def findings(result: Any) -> list[tuple[Any, ...]]:
    return [(f.rule, f.level, f.period, sorted(f.dimensions.items())) for f in result.findings]


@pytest.fixture(scope="module")
def spec() -> Spec:
    return load_spec(SPEC)


@pytest.mark.parametrize("request_", REQUESTS, ids=lambda r: _request_id(r))
def test_catalogue_gives_the_same_numbers_on_spark(
    spec: Spec, spark_url: str, request_: Request
) -> None:
    expected = evaluate(spec, request_)
    assert any(table.rows for table in expected.tables), "the DuckDB baseline is empty"
    got = evaluate(spec, rebound(spec, request_, spark_url))
    assert [t.name for t in got.tables] == [t.name for t in expected.tables]
    assert_same(numbers(expected), numbers(got))
    assert findings(got) == findings(expected)


def _request_id(request: Request) -> str:
    parts = [request.grain, *request.by]
    if request.date_from or request.date_to:
        parts.append(f"{request.date_from or ''}..{request.date_to or ''}")
    if request.where:
        parts.append("where")
    if request.compare:
        parts.append(f"compare-{request.compare}")
    return "-".join(parts)


PREV_SPEC = """\
name: prev
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

PREV_REQUESTS = [
    Request(grain="day", date_from="2026-08-30", date_to="2026-09-03", by=("campaign",)),
    Request(grain="week", date_from="2026-08-03", date_to="2026-08-30"),
    Request(grain="month", date_from="2026-08-01", by=("campaign",)),
    Request(grain="quarter"),
    Request(grain="year"),
    Request(date_from="2026-09-01", date_to="2026-09-30"),
]


@pytest.fixture(scope="module")
def prev_spec(tmp_path_factory: pytest.TempPathFactory) -> Spec:
    folder = tmp_path_factory.mktemp("prev")
    (folder / "data").symlink_to(DATA)
    (folder / "prev.yaml").write_text(PREV_SPEC, encoding="utf-8")
    return load_spec(folder / "prev.yaml")


@pytest.mark.parametrize("request_", PREV_REQUESTS, ids=lambda r: _request_id(r))
def test_previous_and_change_are_the_same_on_spark(
    prev_spec: Spec, spark_url: str, request_: Request
) -> None:
    # This spec declares no columns: checking it discovers them on Spark first.
    expected = evaluate(prev_spec, request_)
    got = evaluate(prev_spec, Request(**{**request_.__dict__, "sources": {"s": spark_url}}))
    assert_same(numbers(expected), numbers(got))
    assert findings(got) == findings(expected)


def test_every_sample_value_is_loaded(spark_url: str) -> None:
    """Each column holds as many values on Spark as its CSV file has non-empty cells."""
    import csv

    import sqlalchemy as sa

    engine = sa.create_engine(spark_url, poolclass=sa.pool.NullPool)
    quote = engine.dialect.identifier_preparer.quote_identifier
    try:
        with engine.connect() as conn:
            for path in sorted(DATA.glob("*.csv")):
                with path.open(newline="", encoding="utf-8-sig") as fh:
                    reader = csv.reader(fh)
                    header = next(reader)
                    rows = list(reader)
                expected = [len(rows)]
                expected += [
                    sum(1 for r in rows if i < len(r) and r[i] != "") for i in range(len(header))
                ]
                counts = ", ".join(f"count({quote(c)})" for c in header)
                table = quote(table_name(path))
                got = conn.exec_driver_sql(f"SELECT count(*), {counts} FROM {table}").fetchone()
                assert got is not None
                assert list(got) == expected, path.name
    finally:
        engine.dispose()


def test_columns_are_discovered_without_reflection(spark_url: str) -> None:
    source = SqlSource(spark_url, ROOT)
    try:
        columns = source.columns("paid_daily")
        videos = source.columns("videos")
    finally:
        source.close()
    assert columns["date"] == "date"
    assert columns["campaign"] == "string"
    assert columns["spend"] == "number"
    assert columns["clicks"] == "number"
    assert videos["posted_at"] == "date"  # a TIMESTAMP column


def test_explain_through_spark_is_labelled_and_compares_the_raw_time_column(
    spec: Spec, spark_url: str
) -> None:
    request = Request(grain="week", date_from="2026-08-01", date_to="2026-08-31")
    queries = explain(spec, rebound(spec, request, spark_url))
    assert queries
    for query in queries:
        assert f"SELECT /* kpiengine spec=tiktok table={query.table} */" in query.sql
    paid = next(q for q in queries if "paid_daily" in q.datasets)
    assert "`paid_daily`.`date` >= %(param_" in paid.sql
