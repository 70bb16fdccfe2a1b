"""Period-over-period comparison: windows and date arithmetic."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pytest

from kpiengine.compare import earlier_window, shift
from kpiengine.engine import Request, evaluate
from kpiengine.spec import load_spec
from kpiengine.sql.compiler import Window

ROOT = Path(__file__).resolve().parents[1]
D = dt.date


@pytest.mark.parametrize(
    ("day", "grain", "kind", "expected"),
    [
        (D(2026, 3, 31), "month", "previous", D(2026, 2, 28)),
        (D(2024, 3, 31), "month", "previous", D(2024, 2, 29)),
        (D(2026, 1, 15), "quarter", "previous", D(2025, 10, 15)),
        (D(2026, 1, 5), "week", "previous", D(2025, 12, 29)),
        (D(2026, 1, 1), "day", "previous", D(2025, 12, 31)),
        (D(2024, 2, 29), "day", "year", D(2023, 2, 28)),
        (D(2026, 8, 3), "week", "year", D(2025, 8, 4)),  # still a Monday
    ],
)
def test_shift(day: dt.date, grain: str, kind: str, expected: dt.date) -> None:
    assert shift(day, grain, kind) == expected


def test_previous_range_of_the_same_length() -> None:
    window = Window("total", D(2026, 8, 1), D(2026, 8, 31))
    assert earlier_window(window, "previous") == Window("total", D(2026, 7, 1), D(2026, 7, 31))


def test_total_previous_and_year_on_the_sample() -> None:
    with (ROOT / "specs/tiktok/data/organic_daily.csv").open(newline="", encoding="utf-8") as fh:
        views = {r["date"]: int(r["views"]) for r in csv.DictReader(fh)}
    spec = load_spec(ROOT / "specs" / "tiktok")
    request = Request(
        kpis=("organic_views",), date_from="2026-09-01", date_to="2026-09-30", compare="previous"
    )
    result = evaluate(spec, request)
    (entry,) = result.comparisons
    sept = sum(v for d, v in views.items() if d.startswith("2026-09"))
    # 30 days before 2026-09-01: 2026-08-02 .. 2026-08-31
    before = sum(v for d, v in views.items() if "2026-08-02" <= d <= "2026-08-31")
    assert (entry["value"], entry["earlier"], entry["change"]) == (sept, before, sept - before)
    yearly = evaluate(spec, Request(**{**request.__dict__, "compare": "year"}))
    (entry,) = yearly.comparisons
    assert entry["earlier"] is None  # no data a year before
    assert entry["relative_change"] is None
