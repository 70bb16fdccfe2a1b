"""Partial periods: the first or last period that the data covers only in part.

The expected days come from the sample CSVs read with the csv module, and the
periods from the calendar by hand, not from the engine.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from kpiengine.compare import partial_periods, period_end
from kpiengine.engine import Request, evaluate
from kpiengine.spec import load_spec

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "specs" / "tiktok"
DATA = SPEC / "data"


def _dates(name: str) -> list[str]:
    with (DATA / f"{name}.csv").open(newline="", encoding="utf-8") as fh:
        return [row["date"] for row in csv.DictReader(fh) if row["date"]]


@pytest.mark.parametrize(
    ("start", "grain", "end"),
    [
        ("2026-09-28", "week", "2026-10-04"),
        ("2026-02-01", "month", "2026-02-28"),
        ("2028-02-01", "month", "2028-02-29"),
        ("2026-10-01", "quarter", "2026-12-31"),
        ("2026-01-01", "year", "2026-12-31"),
        ("2026-09-30", "day", "2026-09-30"),
    ],
)
def test_period_end(start: str, grain: str, end: str) -> None:
    assert period_end(dt.date.fromisoformat(start), grain).isoformat() == end


def test_partial_periods_by_hand() -> None:
    weeks = {"2026-06-29", "2026-07-06", "2026-09-21", "2026-09-28"}
    # 2026-07-01 is a Wednesday, 2026-09-30 a Wednesday.
    assert partial_periods("week", weeks, "2026-07-01", "2026-09-30") == [
        "2026-06-29",
        "2026-09-28",
    ]
    assert partial_periods("week", weeks, "2026-06-29", "2026-10-04") == []
    months = {"2026-07-01", "2026-08-01", "2026-09-01"}
    assert partial_periods("month", months, "2026-07-01", "2026-09-30") == []
    assert partial_periods("month", months, "2026-07-02", "2026-09-29") == [
        "2026-07-01",
        "2026-09-01",
    ]
    assert partial_periods("quarter", {"2026-07-01"}, "2026-07-01", "2026-09-30") == []
    assert partial_periods("year", {"2026-01-01"}, "2026-07-01", "2026-09-30") == ["2026-01-01"]
    assert partial_periods("day", {"2026-07-01"}, "2026-07-01", "2026-07-01") == []


@pytest.fixture(scope="module")
def spec() -> Any:
    return load_spec(SPEC)


def test_the_sample_weeks(spec: Any) -> None:
    organic = _dates("organic_daily")  # organic_views reads this dataset only
    paid = _dates("paid_daily")
    result = evaluate(spec, Request(grain="week", kpis=("organic_views", "spend")))
    tables = {t.name: t for t in result.tables}
    assert (tables["organic"].data_from, tables["organic"].data_to) == (min(organic), max(organic))
    assert (tables["paid"].data_from, tables["paid"].data_to) == (min(paid), max(paid))
    # The data runs Wednesday 2026-07-01 to Wednesday 2026-09-30: the weeks of
    # Monday 2026-06-29 and Monday 2026-09-28 are partial, the twelve between are whole.
    for name in ("organic", "paid"):
        assert tables[name].partial_periods == ["2026-06-29", "2026-09-28"]
        assert len({r["period"] for r in tables[name].rows}) == 14


def test_whole_months_and_a_range_on_week_boundaries(spec: Any) -> None:
    months = evaluate(spec, Request(grain="month", kpis=("spend",)))
    assert months.tables[0].partial_periods == []
    weeks = evaluate(
        spec,
        Request(grain="week", kpis=("spend",), date_from="2026-07-06", date_to="2026-09-27"),
    )
    paid = weeks.tables[0]
    assert (paid.data_from, paid.data_to, paid.partial_periods) == ("2026-07-06", "2026-09-27", [])


def test_a_range_starting_mid_week(spec: Any) -> None:
    result = evaluate(
        spec,
        Request(grain="week", kpis=("spend",), date_from="2026-07-08", date_to="2026-07-19"),
    )
    paid = result.tables[0]
    # Wednesday 8 July to Sunday 19 July: the week of the 6th has five days of it.
    assert (paid.data_from, paid.data_to) == ("2026-07-08", "2026-07-19")
    assert paid.partial_periods == ["2026-07-06"]
    assert [r["period"] for r in paid.rows] == ["2026-07-06", "2026-07-13"]


def test_grain_total_and_tables_without_time(spec: Any) -> None:
    total = evaluate(spec, Request(kpis=("spend", "follower_share_by_gender")))
    tables = {t.name: t for t in total.tables}
    assert tables["paid"].partial_periods == []
    assert tables["paid"].data_from == min(_dates("paid_daily"))
    # Follower shares come from a table without a time column: no days to cover.
    assert tables["audience"].data_from is None
    assert tables["audience"].partial_periods == []


def test_every_output_says_so() -> None:
    def run(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "kpiengine", "run", str(SPEC), *args],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert done.returncode in (0, 1), done.stderr
        return done.stdout

    note = "partial weeks: 2026-06-29, 2026-09-28 (the data covers 2026-07-01 … 2026-09-30)"
    assert note in run("--grain", "week", "--kpi", "spend", "--format", "table")
    markdown = run("--grain", "week", "--kpi", "spend", "--kpi", "roas", "--format", "markdown")
    assert f"_{note}_" in markdown
    assert "(2026-09-28 (partial)" in markdown
    assert "2026-09-28 (partial)" in run("--grain", "week", "--kpi", "roas", "--format", "table")
    table = json.loads(run("--grain", "week", "--kpi", "spend", "--format", "json"))["tables"][0]
    assert table["partial_periods"] == ["2026-06-29", "2026-09-28"]
    assert (table["data_from"], table["data_to"]) == ("2026-07-01", "2026-09-30")
    findings = json.loads(run("--grain", "week", "--kpi", "roas", "--format", "json"))["findings"]
    assert {f["period"] for f in findings if f["partial"]} == {"2026-09-28"}
    months = run("--grain", "month", "--kpi", "spend", "--format", "table")
    assert "partial" not in months


def test_findings_on_a_partial_period_say_so(spec: Any) -> None:
    result = evaluate(spec, Request(grain="week"))
    partial = {"2026-06-29", "2026-09-28"}  # the sample's first and last weeks
    assert result.findings
    for finding in result.findings:
        assert finding.partial == (finding.period in partial), finding
    # ROAS is under 1 in the last, three-day week: found, and marked.
    last = [f for f in result.findings if f.period == "2026-09-28"]
    assert last
    assert all(f.partial for f in last)
    months = evaluate(spec, Request(grain="month"))
    assert months.findings
    assert not any(f.partial for f in months.findings)
