"""Period-over-period comparison (``--compare previous|year``).

The earlier values come from a second run of the same statements over an earlier
window, so they are computed from data outside the requested range:

- ``previous``: each row against the period just before it (the week before, the
  month before, …); with grain ``total``, the range of the same length just before.
- ``year``: each row against the same dates a year earlier (52 weeks earlier for
  grain ``week``, so that weeks still start on Monday).

The window is shifted as a whole, so a partial first or last bucket is compared
with an equally partial one.
"""

from __future__ import annotations

import calendar
import datetime as dt
from typing import Any

from kpiengine.errors import RequestError
from kpiengine.result import Table
from kpiengine.sql.compiler import Window

KINDS = ("previous", "year")
_MONTHS = {"month": 1, "quarter": 3, "year": 12}


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return dt.date(year, month + 1, min(day.day, last))


def shift(day: dt.date, grain: str, kind: str, window: Window | None = None) -> dt.date:
    """``day`` moved back by one comparison step."""
    if kind == "year":
        if grain == "week":
            return day - dt.timedelta(weeks=52)
        return _add_months(day, -12)
    if grain == "day":
        return day - dt.timedelta(days=1)
    if grain == "week":
        return day - dt.timedelta(weeks=1)
    if grain in _MONTHS:
        return _add_months(day, -_MONTHS[grain])
    assert window is not None
    assert window.date_from is not None
    assert window.date_to is not None
    length = (window.date_to - window.date_from).days + 1
    return day - dt.timedelta(days=length)


def period_end(start: dt.date, grain: str) -> dt.date:
    """The last day of the period of ``grain`` that starts on ``start``."""
    if grain == "day":
        return start
    if grain == "week":
        return start + dt.timedelta(days=6)
    return _add_months(start, _MONTHS[grain]) - dt.timedelta(days=1)


def partial_periods(grain: str, periods: set[str], data_from: str, data_to: str) -> list[str]:
    """The ``periods`` (ISO start dates) that the data, from ``data_from`` to
    ``data_to``, covers only in part: at most the first and the last."""
    if grain in ("day", "total"):
        return []
    first, last = dt.date.fromisoformat(data_from), dt.date.fromisoformat(data_to)
    out = []
    for text in sorted(periods):
        start = dt.date.fromisoformat(text)
        if start < first or period_end(start, grain) > last:
            out.append(text)
    return out


def earlier_window(window: Window, kind: str) -> Window:
    """The window the earlier values are computed over."""
    if kind not in KINDS:
        raise RequestError(f"--compare wants previous or year, got `{kind}`")
    if window.grain == "total" and (window.date_from is None or window.date_to is None):
        raise RequestError(
            f"--compare {kind} with grain total needs --from and --to",
            hint="give the range to compare, or a grain such as --grain month",
        )
    start = shift(window.date_from, window.grain, kind, window) if window.date_from else None
    end = shift(window.date_to, window.grain, kind, window) if window.date_to else None
    return Window(window.grain, start, end)


def compare_rows(table: Table, earlier: Table, grain: str, kind: str) -> list[dict[str, Any]]:
    """For every row and KPI: value, earlier value, absolute and relative change."""
    dims = table.dimensions
    by_key = {(row["period"], *(row[d] for d in dims)): row for row in earlier.rows}
    out: list[dict[str, Any]] = []
    for row in table.rows:
        period = row["period"]
        earlier_period = (
            shift(dt.date.fromisoformat(period), grain, kind).isoformat() if period else None
        )
        match = by_key.get((earlier_period, *(row[d] for d in dims)))
        for info in table.kpis:
            value = row.get(info.name)
            before = match.get(info.name) if match else None
            change = _change(value, before)
            out.append(
                {
                    "table": table.name,
                    "kpi": info.name,
                    "period": period,
                    "earlier_period": earlier_period,
                    **{d: row[d] for d in dims},
                    "value": value,
                    "earlier": before,
                    "change": change,
                    "relative_change": _relative(change, before),
                }
            )
    return out


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _change(value: Any, before: Any) -> Any:
    if _number(value) and _number(before):
        return value - before
    return None


def _relative(change: Any, before: Any) -> float | None:
    if change is None or not _number(before) or before == 0:
        return None
    return float(change) / float(abs(before))
