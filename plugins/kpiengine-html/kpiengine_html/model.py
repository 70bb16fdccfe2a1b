"""What the report shows, worked out from a :class:`~kpiengine.result.Result`.

Nothing here knows HTML or charts: sections in reading order, the rows that stand
for "the whole range", KPI cards with their period-over-period change, and the
organic-vs-paid pairs of the comparison tables. Generic over the result: any
category, table, dimension or KPI that comes.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from kpiengine.formatting import format_as, format_dimension, format_period, format_value
from kpiengine.result import KpiInfo, Result, Table

#: Categories in the order their sections come; any other category follows, in the
#: order it first appears in the result.
CATEGORY_ORDER = ("organic", "paid", "audience", "comparison")

CATEGORY_TITLES = {
    "organic": "Organic",
    "paid": "Paid",
    "audience": "Audience",
    "comparison": "Organic vs paid",
}

#: How a grain's period is named in labels ("latest week").
GRAIN_NOUNS = {
    "day": "day",
    "week": "week",
    "month": "month",
    "quarter": "quarter",
    "year": "year",
}

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass(frozen=True)
class Section:
    category: str
    title: str
    anchor: str
    tables: list[Table]


def sections(result: Result) -> list[Section]:
    """The result's tables grouped by category: the known categories first."""
    by_category: dict[str, list[Table]] = {}
    for table in result.tables:
        by_category.setdefault(table.category or "other", []).append(table)
    known = [c for c in CATEGORY_ORDER if c in by_category]
    others = [c for c in by_category if c not in CATEGORY_ORDER]
    return [
        Section(
            category,
            CATEGORY_TITLES.get(category, capitalize(category.replace("_", " "))),
            f"section-{number}",
            by_category[category],
        )
        for number, category in enumerate([*known, *others], start=1)
    ]


def capitalize(text: str) -> str:
    """``text`` with its first letter in upper case, the rest as it is."""
    return text[:1].upper() + text[1:]


# --------------------------------------------------------------------------- values


def number(value: object) -> float | None:
    """``value`` as a finite float for a chart, or None (undefined, NaN, not a number)."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return None
    result = float(value)
    return result if math.isfinite(result) else None


def iso_period(period: object) -> str | None:
    """A period as an ISO date (``2026-07-27``), None for no period."""
    if period is None:
        return None
    if isinstance(period, dt.datetime):
        return period.date().isoformat()
    if isinstance(period, dt.date):
        return period.isoformat()
    return str(period)[:10]


def periods(table: Table) -> list[str]:
    """The distinct periods of ``table``'s rows, oldest first (rows without one left out)."""
    found = {iso_period(row.get("period")) for row in table.rows}
    return sorted(p for p in found if p is not None)


def series_label(row: Mapping[str, Any], dimensions: Sequence[str]) -> str:
    """The row's dimension values as one label: ``Summer Sale · Retargeting``."""
    return " · ".join(format_dimension(row.get(d)) for d in dimensions)


@dataclass(frozen=True)
class Snapshot:
    """The rows that stand for a table's whole range, and how to say so."""

    rows: list[dict[str, Any]]
    period: str | None
    label: str  # "whole range", "latest week (2026-09-28)"


def snapshot(table: Table, grain: str, kpi: str | None = None) -> Snapshot:
    """The rows that stand for the whole range.

    The rows without a period (the whole range) when there are any (with a value of
    ``kpi``, when one is named), else the latest period's rows: the latest that the
    data covers whole, so that a week of three days is not set against a full one.
    """
    overall = [row for row in table.rows if row.get("period") is None]
    if overall and (kpi is None or any(row.get(kpi) is not None for row in overall)):
        return Snapshot(overall, None, "whole range")
    found = periods(table)
    if not found:
        return Snapshot(overall, None, "whole range" if overall else "no rows")
    noun = GRAIN_NOUNS.get(grain, "period")
    whole = [p for p in found if p not in table.partial_periods]
    if whole:
        latest = whole[-1]
        what = f"latest complete {noun}" if latest != found[-1] else f"latest {noun}"
        label = f"{what} ({format_period(latest, grain)})"
    else:
        latest = found[-1]
        label = f"latest {noun} ({format_period(latest, grain)}, partial)"
    rows = [row for row in table.rows if iso_period(row.get("period")) == latest]
    return Snapshot(rows, latest, label)


def natural_order(values: Iterable[object]) -> list[object]:
    """Distinct ``values`` in the order people expect on an axis.

    Numbers (hours) numerically, weekday names Monday first, labels that start with
    a number (age brackets such as ``18-24``, ``55+``) by that number, the rest in
    the order they come.
    """
    distinct = list(dict.fromkeys(values))

    def key(value: object) -> tuple[int, float, int]:
        position = distinct.index(value)
        if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
            return (0, float(value), position)
        text = format_dimension(value).strip().lower()
        for day, name in enumerate(WEEKDAYS):
            if text == name or (len(text) >= 3 and name.startswith(text)):
                return (1, day, position)
        match = re.match(r"([<≤>≥]?)\s*(\d+(?:\.\d+)?)", text)
        if match:
            below = 0.5 if match.group(1) in ("<", "≤") else 0.0  # "<18" before "18-24"
            return (2, float(match.group(2)) - below, position)
        return (3, 0, position)

    if all(key(v)[0] == 3 for v in distinct):
        return distinct
    return sorted(distinct, key=key)


# --------------------------------------------------------------------------- changes


@dataclass(frozen=True)
class Change:
    """A KPI's value against the earlier period (``result.comparisons``)."""

    earlier_period: str | None
    earlier: Any
    change: Any
    relative_change: Any


class Changes:
    """``result.comparisons`` looked up by table, KPI, period and dimension values."""

    def __init__(self, result: Result) -> None:
        dimensions = {table.name: table.dimensions for table in result.tables}
        self._entries: dict[tuple[Any, ...], Change] = {}
        for entry in result.comparisons:
            table = entry.get("table")
            key = (
                table,
                entry.get("kpi"),
                iso_period(entry.get("period")),
                *(_hashable(entry.get(d)) for d in dimensions.get(str(table), [])),
            )
            self._entries[key] = Change(
                iso_period(entry.get("earlier_period")),
                entry.get("earlier"),
                entry.get("change"),
                entry.get("relative_change"),
            )

    def get(self, table: Table, kpi: str, row: Mapping[str, Any]) -> Change | None:
        key = (
            table.name,
            kpi,
            iso_period(row.get("period")),
            *(_hashable(row.get(d)) for d in table.dimensions),
        )
        return self._entries.get(key)


def _hashable(value: object) -> object:
    try:
        hash(value)
    except TypeError:
        return repr(value)
    return value


@dataclass(frozen=True)
class Card:
    """One KPI's value for the whole range, with its change against the earlier period."""

    info: KpiInfo
    value_text: str
    when: str  # "whole range", "latest week (2026-09-28)"
    arrow: str  # ↑ ↓ → or "" without a change
    mood: str  # good | bad | neutral
    change_text: str  # "+12.3%", "" without a change
    earlier_text: str  # the earlier value ("15,960"), "" without a comparison
    against: str  # "the week before (2026-09-21)", "" without a comparison


def cards(table: Table, result: Result, changes: Changes) -> list[Card]:
    """A card per KPI of a table that is not broken down; none for a broken-down one.

    Each KPI's value for the whole range when the table has it, else its value in
    the latest period; each card says which.
    """
    if table.dimensions:
        return []
    found = []
    for info in table.kpis:
        shot = snapshot(table, result.grain, info.name)
        if len(shot.rows) != 1:
            continue
        row = shot.rows[0]
        found.append(
            card(info, row.get(info.name), shot.label, changes.get(table, info.name, row), result)
        )
    return found


def card(info: KpiInfo, value: object, when: str, change: Change | None, result: Result) -> Card:
    delta = number(change.change) if change is not None else None
    relative = number(change.relative_change) if change is not None else None
    if delta is None and relative is not None:
        delta = relative
    arrow, mood, change_text, earlier_text, against = "", "neutral", "", "", ""
    if change is not None and delta is not None:
        arrow = "↑" if delta > 0 else "↓" if delta < 0 else "→"
        mood = direction_mood(info.direction, delta)
        if relative is not None:
            change_text = signed(format_as(relative, "percent", decimals=1), relative)
        else:
            change_text = signed(format_value(change.change, info), delta)
    if change is not None:
        against = earlier_name(result)
        if change.earlier_period:
            against += f" ({format_period(change.earlier_period, result.grain)})"
        earlier_text = format_value(change.earlier, info)
    return Card(
        info, format_value(value, info), when, arrow, mood, change_text, earlier_text, against
    )


def direction_mood(direction: str, delta: float) -> str:
    """``good`` when the KPI moved the way its direction prefers, ``bad`` the other way."""
    if delta == 0 or direction not in ("higher", "lower"):
        return "neutral"
    return "good" if (delta > 0) == (direction == "higher") else "bad"


def signed(text: str, value: float) -> str:
    """``text`` with a ``+`` in front when ``value`` is positive."""
    return f"+{text}" if value > 0 and not text.startswith("+") else text


def earlier_name(result: Result) -> str:
    """How the earlier period is named: "the week before", "a year before"."""
    if result.compare == "year":
        return "a year before"
    if result.grain == "total":
        return "the period before"
    return f"the {GRAIN_NOUNS.get(result.grain, 'period')} before"


def compare_label(compare: str | None) -> str:
    if compare == "previous":
        return "against the period before"
    if compare == "year":
        return "against a year before"
    return "none"


# --------------------------------------------------------------------------- organic vs paid


@dataclass(frozen=True)
class Pair:
    """One concept on both sides (views, likes, …): rows by period, KPIs by name.

    From a comparison table per pair (KPIs ``organic``, ``paid``, …), or from one
    row group of a comparison table broken down by ``metric``.
    """

    label: str
    table: Table
    rows: list[dict[str, Any]]
    infos: dict[str, KpiInfo]


def is_pair_table(table: Table) -> bool:
    """A table that sets an organic value against a paid one (KPIs ``organic`` and ``paid``)."""
    names = {info.name for info in table.kpis}
    return {"organic", "paid"} <= names and set(table.dimensions) <= {"metric"}


def pairs(table: Table, result: Result) -> list[Pair]:
    """The organic-vs-paid pairs of a comparison table."""
    infos = {info.name: info for info in table.kpis}
    if "metric" not in table.dimensions:
        label = table.name.split(":", 1)[1].strip() if ":" in table.name else table.name
        return [Pair(label, table, list(table.rows), infos)]
    groups: dict[object, list[dict[str, Any]]] = {}
    for row in table.rows:
        groups.setdefault(_hashable(row.get("metric")), []).append(row)
    found = []
    for metric, rows in groups.items():
        metric_info = metric_kpi(result, format_dimension(metric))
        own = dict(infos)
        if metric_info is not None:
            for name in ("organic", "paid", "difference", "organic_only"):
                if name in own:
                    base = own[name]
                    own[name] = KpiInfo(
                        base.name,
                        base.label,
                        base.category,
                        metric_info.format,
                        base.direction,
                        currency=metric_info.currency,
                        decimals=metric_info.decimals,
                    )
        label = metric_info.label if metric_info is not None else format_dimension(metric)
        label = capitalize(label.replace("_", " "))
        found.append(Pair(label, table, rows, own))
    return found


def metric_kpi(result: Result, metric: str) -> KpiInfo | None:
    """The KPI a comparison's ``metric`` value stands for, to format its values."""
    for name in (metric, f"organic_{metric}", f"paid_{metric}"):
        info = result.kpi(name)
        if info is not None and info.category != "comparison":
            return info
    wanted = metric.strip().lower()
    for table in result.tables:
        for info in table.kpis:
            if info.category != "comparison" and info.label.strip().lower() == wanted:
                return info
    return None
