"""Warehouse-friendly SQL: what a warehouse's planner and its bill depend on.

- the date range is a plain comparison on the raw time column (partition pruning);
- one statement per output table, scanning each dataset's table once per window (twice
  where a KPI or rule compares with the period before);
- one SELECT: no temporary tables, no other statements;
- each statement labelled with a comment naming kpiengine, the spec and the table,
  as it is sent to the database (so that it shows in the query history).

The same properties are checked for the warehouse dialects on the golden SQL
(tests/warehouses/test_golden.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from kpiengine.engine import Request, evaluate, explain, query_label
from kpiengine.spec import load_spec

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "specs" / "tiktok"
GOLDEN_SPEC = ROOT / "tests" / "golden" / "spec.yaml"
DIALECTS = ["duckdb", "sqlite", "postgresql"]


def _where_clauses(sql: str) -> list[str]:
    """The text of every WHERE clause, up to its GROUP BY or closing parenthesis."""
    out = []
    for match in re.finditer(r"\bWHERE\b", sql):
        depth, i = 0, match.end()
        while i < len(sql):
            if sql[i] == "(":
                depth += 1
            elif sql[i] == ")":
                if depth == 0:
                    break
                depth -= 1
            elif depth == 0 and sql.startswith(" GROUP BY", i):
                break
            i += 1
        out.append(sql[match.end() : i])
    return out


@pytest.mark.parametrize("dialect", DIALECTS)
def test_the_date_range_compares_the_raw_time_column(dialect: str) -> None:
    spec = load_spec(GOLDEN_SPEC)
    request = Request(grain="week", by=("campaign",), date_from="2026-08-01", date_to="2026-08-31")
    queries = explain(spec, request, dialect=dialect)
    assert queries
    for query in queries:
        wheres = _where_clauses(query.sql)
        assert wheres, query.sql
        for where in wheres:
            # `paid_daily.date >= <param> AND paid_daily.date < <param>`, nothing around it
            table = re.search(r"(\w+)\.\"?date\"? >=", where)
            assert table, where
            name = table.group(1)
            column = rf"{name}\.\"?date\"?"
            assert re.search(rf"(^|\s){column} >= \S+", where), where
            assert re.search(rf"\bAND {column} < \S+", where), where
            assert "date_trunc" not in where.lower()
            assert "CAST" not in where.upper()
            assert "date(" not in where  # SQLite's date() would defeat an index as well


def _period_over_period_categories(spec: Any) -> set[str]:
    """The categories of the KPIs whose rules compare with the period before."""
    return {
        spec.kpis[rule.kpi].category
        for rule in spec.rules.values()
        if rule.kpi and re.search(r"\b(previous|change)\(", rule.when.text)
    }


def test_the_catalogue_is_one_select_per_table_scanning_each_dataset_once_per_window() -> None:
    spec = load_spec(SPEC)
    # The trend rule `change(organic_engagement_rate) < -20%` is the catalogue's only
    # period-over-period rule: the organic table reads each of its datasets once for the
    # requested window and once for the window one period earlier, where there is one.
    assert _period_over_period_categories(spec) == {"organic"}
    for request, earlier in (
        (Request(), False),  # grain total, no range: no earlier window
        (
            Request(grain="week", by=("campaign",), date_from="2026-08-01", date_to="2026-08-31"),
            True,
        ),
    ):
        queries = explain(spec, request)
        tables = {q.table for q in queries}
        assert len(tables) == len(queries)  # one statement per output table
        assert "organic" in tables
        for query in queries:
            sql = query.sql
            upper = sql.upper()
            assert upper.lstrip().startswith(("SELECT", "WITH")), sql[:80]
            assert ";" not in sql
            for word in ("CREATE", "INSERT", "TEMPORARY", "TEMP ", "DROP", "UPDATE", "DELETE"):
                assert word not in upper.replace("TIMESTAMP", ""), word
            windows = 2 if earlier and query.table == "organic" else 1
            for dataset in query.datasets:
                table = spec.datasets[dataset].table.rpartition(".")[2]
                scans = re.findall(rf"\bFROM {re.escape(table)}\b", sql)
                assert len(scans) == windows, (query.table, dataset, len(scans))


def test_previous_reads_each_dataset_once_per_window() -> None:
    spec = load_spec(GOLDEN_SPEC)
    request = Request(grain="month", date_from="2026-08-01", date_to="2026-08-31")
    paid = next(q for q in explain(spec, request) if q.table == "paid")
    assert len(re.findall(r"\bFROM paid_daily\b", paid.sql)) == 2  # the window and the one before


def test_the_label_names_kpiengine_the_spec_and_the_table() -> None:
    spec = load_spec(SPEC)
    for query in explain(spec, Request(grain="week")):
        label = f"/* kpiengine spec={spec.name} table={query.table} */"
        assert label in query.sql


@pytest.mark.parametrize(
    "name",
    ["x */ DROP TABLE paid_daily; --", "a:b %(x)s ? $1", "*/*/", "", "Kampagnen Übersicht"],
)
def test_the_label_cannot_end_the_comment_or_hold_a_parameter(name: str) -> None:
    label = query_label(name, "paid by campaign, ad_group")
    assert label.startswith("/* kpiengine spec=")
    assert label.endswith(" table=paid_by_campaign_ad_group */")
    inside = label[2:-2]
    for bad in ("*/", "/*", ":", "%", "?", "$", ";", "'", '"'):
        assert bad not in inside, bad


@pytest.fixture
def statements_sent() -> Iterator[list[str]]:
    """Every SQL statement sent to any database while the test runs."""
    sent: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        sent.append(statement)

    sa.event.listen(sa.Engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        sa.event.remove(sa.Engine, "before_cursor_execute", record)


def test_statements_are_sent_with_their_label(tmp_path: Path, statements_sent: list[str]) -> None:
    (tmp_path / "data").symlink_to(SPEC / "data")
    (tmp_path / "odd.yaml").write_text(
        "name: 'odd */ name'\n"
        "sources: {s: csv:data}\n"
        "datasets:\n"
        "  paid: {source: s, table: paid_daily, time: date, dimensions: [campaign]}\n"
        "kpis:\n"
        "  clicks: sum(clicks)\n"
        "  clicks_change: change(clicks)\n",
        encoding="utf-8",
    )
    spec = load_spec(tmp_path / "odd.yaml")
    result = evaluate(spec, Request(grain="month", by=("campaign",)))
    assert result.tables[0].rows
    kpi_statements = [s for s in statements_sent if "sum(" in s]
    assert kpi_statements
    for statement in kpi_statements:
        assert "/* kpiengine spec=odd_name table=" in statement
        assert statement.count("*/") == 1


def test_the_grain_and_the_shift_are_part_of_the_statement_cache_key() -> None:
    from kpiengine.sql.dialects import PeriodShift, PeriodStart

    table = sa.table("t", sa.column("d"))
    week, month = PeriodStart("week", table.c.d), PeriodStart("month", table.c.d)
    assert week._generate_cache_key() != month._generate_cache_key()
    assert week._generate_cache_key() == PeriodStart("week", table.c.d)._generate_cache_key()
    back, forth = PeriodShift("week", table.c.d, -1), PeriodShift("week", table.c.d, 1)
    assert back._generate_cache_key() != forth._generate_cache_key()


def test_a_period_is_grouped_by_its_expression_not_a_label() -> None:
    from kpiengine.sql.dialects import PeriodStart

    table = sa.table("t", sa.column("d"), sa.column("x"))
    period = PeriodStart("month", table.c.d)
    query = sa.select(period.label("period"), sa.func.sum(table.c.x)).group_by(period)
    sql = str(query.compile(dialect=sa.dialects.postgresql.dialect()))
    assert sql.endswith(
        "GROUP BY CAST(date_trunc('month', CAST(t.d AS TIMESTAMP WITHOUT TIME ZONE)) AS DATE)"
    )


@pytest.mark.parametrize(
    ("type_code", "expected"),
    [
        ("BIGINT_TYPE", "number"),
        ("INT_TYPE", "number"),
        ("DOUBLE_TYPE", "number"),
        ("DECIMAL_TYPE", "number"),
        ("STRING_TYPE", "string"),
        ("VARCHAR_TYPE", "string"),
        ("DATE_TYPE", "date"),
        ("TIMESTAMP_TYPE", "date"),
        ("BOOLEAN_TYPE", "boolean"),
        ("INTERVAL_DAY_TIME_TYPE", "any"),
        ("ARRAY_TYPE", "any"),
        ("INTERVAL", "any"),
    ],
)
def test_spark_column_types_from_pyhive(type_code: str, expected: str) -> None:
    from kpiengine.builtins.sources import _value_type

    assert _value_type(type_code) == expected
