"""The report's charts: Vega-Lite specs built with altair, rendered to SVG by vl-convert.

Rendering happens when the report is built (vl-convert runs Vega in an embedded
engine: no browser, no network), so the page carries plain inline SVG and no
JavaScript. Each SVG is parsed and written out again (:func:`clean_svg`): only
drawing elements are kept, ids are made unique across the page, and every text is
escaped by the XML serialiser.

Each :class:`Figure` carries the data table shown under its chart, its values
formatted as everywhere else (:mod:`kpiengine.formatting`).
"""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import altair as alt
import vl_convert

from kpiengine.formatting import MISSING, format_dimension, format_period, format_value
from kpiengine.result import KpiInfo, Result, Table
from kpiengine_html.markup import Markup
from kpiengine_html.model import (
    GRAIN_NOUNS,
    Pair,
    iso_period,
    natural_order,
    number,
    periods,
    series_label,
    snapshot,
)

#: At most this many lines in a trend chart (the largest series); the caption says so.
MAX_SERIES = 8
#: At most this many bars in a distribution chart (the largest values).
MAX_BARS = 15
#: A longer series is thinned to every n-th period (first and last kept).
MAX_POINTS = 370
#: A heat map over periods shows at most this many (the latest).
MAX_HEAT_ROWS = 31

WIDTH = 300
HEIGHT = 130
COLORS = ["#3b6ea8", "#e07b39", "#4f9a5b", "#c44e52", "#8172b2", "#937860", "#da8bc3", "#8c8c8c"]
SIDE_COLORS = {"organic": "#4f9a5b", "paid": "#3b6ea8"}
TIME_FORMATS = {"day": "%b %d", "week": "%b %d", "month": "%b %Y", "quarter": "%b %Y"}

CONFIG: dict[str, Any] = {
    "font": "sans-serif",
    "view": {"stroke": None},
    "axis": {
        "labelFontSize": 11,
        "labelColor": "#333",
        "titleFontSize": 11,
        "titleColor": "#333",
        "titleFontWeight": "normal",
        "gridColor": "#e8e8e8",
        "domainColor": "#999",
        "tickColor": "#999",
    },
    "legend": {"labelFontSize": 11, "orient": "bottom", "title": None, "symbolSize": 60},
    # The page gives each SVG one label and the data table under it; per-mark
    # descriptions would only double the file size.
    "aria": False,
}


@dataclass
class DataTable:
    """The values of a chart as a table: the first cell of each row is its header."""

    head: list[str]
    rows: list[list[str]]


@dataclass
class Figure:
    kind: str  # trend | bars | heatmap | versus | share
    title: str
    note: str
    spec: dict[str, Any]
    table: DataTable
    label: str  # what the chart shows, for screen readers
    notes: list[str] = field(default_factory=list)
    #: The KPI drawn, and whether the data table holds all of its values in the table.
    kpi: str | None = None
    complete: bool = False

    @property
    def drawn(self) -> int:
        """How many values the chart draws (points, bars, cells)."""
        spec = self.spec
        data = spec.get("data") or (spec.get("layer") or [{}])[0].get("data") or {}
        # altair moves inline data to the top-level ``datasets``, referenced by name
        values = data.get("values") or spec.get("datasets", {}).get(data.get("name"), [])
        return sum(1 for point in values if point.get("value") is not None)


# --------------------------------------------------------------------------- axes


@dataclass(frozen=True)
class Axis:
    """How a KPI's values go on an axis: a d3 format, a factor and a unit."""

    format: str
    factor: float = 1.0
    unit: str = ""
    whole: bool = False  # counts: no tick between two whole numbers

    def title(self, info: KpiInfo) -> str:
        label = info.label or info.name
        return f"{label} ({self.unit})" if self.unit else label


def value_axis(info: KpiInfo, values: Sequence[float | None]) -> Axis:
    """The axis for ``info``'s values: percentages as %, currencies with their code."""
    present = [v for v in values if v is not None]
    largest = max((abs(v) for v in present), default=0.0)
    span = max(present, default=0.0) - min(present, default=0.0)
    if info.format == "percent":
        return Axis(".2~%" if largest < 0.05 else ".1~%")
    if info.format == "duration":
        if largest >= 180:
            return Axis(",~r", 1 / 60, "minutes")
        return Axis(",~r", 1.0, "seconds")
    unit = info.currency or "" if info.format == "currency" else ""
    whole = bool(present) and all(float(v).is_integer() for v in present)
    # 12k, 1.5M; but 2,234 and 2,235 (not 2.234k) when the values are close together
    return Axis("~s" if largest >= 1000 and span >= 100 else ",~r", 1.0, unit, whole)


def _axis(axis: Axis, **options: Any) -> alt.Axis:
    """A value axis; SI-prefixed labels say ``0``, not ``0k``, at zero."""
    if axis.format == "~s":
        options["labelExpr"] = "datum.value == 0 ? '0' : datum.label"
    if axis.whole:
        options["tickMinStep"] = 1
    return alt.Axis(format=axis.format, **options)


def _scaled(value: float | None, axis: Axis) -> float | None:
    return None if value is None else value * axis.factor


def _time_axis(grain: str) -> alt.X:
    return alt.X(
        "period:T",
        title=None,
        scale=alt.Scale(type="utc"),
        axis=alt.Axis(format=TIME_FORMATS.get(grain, "%Y"), labelOverlap=True, tickCount=6),
    )


#: Check each spec against the Vega-Lite schema (the tests do; a report skips the
#: cost, about a third of the build time).
VALIDATE = False


def _finish(chart: alt.TopLevelMixin) -> dict[str, Any]:
    spec: dict[str, Any] = chart.to_dict(validate=VALIDATE)
    spec["config"] = CONFIG
    return spec


# --------------------------------------------------------------------------- figures


def table_figures(table: Table, result: Result) -> list[Figure]:
    """The charts for one result table, by its shape.

    - an ``hour`` dimension: a heat map per KPI (hour against the other dimension,
      or against the periods);
    - broken down by a dimension, with a single period or in the audience
      category: bars per KPI for the whole range (or the latest period);
    - several periods: a trend per KPI, a line per breakdown value.
    """
    if not table.rows:
        return []
    names = {info.name for info in table.kpis}
    # A segment ranking's `rank` is an order, not an amount: its bars would say nothing.
    skip = {"rank"} if {"rank", "too_small"} <= names else set()
    kpis = [
        info
        for info in table.kpis
        if info.name not in skip and any(number(r.get(info.name)) is not None for r in table.rows)
    ]
    found = periods(table)
    if "hour" in table.dimensions:
        figures = [heatmap(table, info, result.grain) for info in kpis]
    elif table.dimensions and (len(found) < 2 or table.category == "audience"):
        figures = [bars(table, info, result.grain) for info in kpis]
    elif len(found) >= 2:
        order = _series_order(table, kpis)
        figures = [trend(table, info, result.grain, order) for info in kpis]
    else:
        figures = []
    return [figure for figure in figures if figure.drawn]


def _series_order(table: Table, kpis: Sequence[KpiInfo]) -> list[str]:
    """Breakdown values, largest first by the table's first count KPI (spend, views, …)."""
    labels = list(dict.fromkeys(series_label(row, table.dimensions) for row in table.rows))
    volume = next((k for k in kpis if k.format in ("number", "currency")), None)
    if volume is None:
        return labels
    totals = dict.fromkeys(labels, 0.0)
    for row in table.rows:
        totals[series_label(row, table.dimensions)] += abs(number(row.get(volume.name)) or 0.0)
    return sorted(labels, key=lambda label: -totals[label])


def _thin(found: list[str]) -> tuple[list[str], int]:
    """At most MAX_POINTS periods: every n-th, the first and the last kept."""
    if len(found) <= MAX_POINTS:
        return found, 1
    step = -(-len(found) // MAX_POINTS)
    kept = found[::step]
    if kept[-1] != found[-1]:
        kept.append(found[-1])
    return kept, step


def trend(table: Table, info: KpiInfo, grain: str, order: Sequence[str]) -> Figure:
    """A KPI over time: a line per breakdown value (the largest MAX_SERIES)."""
    shown_series = list(order[:MAX_SERIES]) if table.dimensions else [""]
    kept, step = _thin(periods(table))
    kept_set = set(kept)
    values: dict[tuple[str, str], object] = {}
    for row in table.rows:
        period = iso_period(row.get("period"))
        if period in kept_set:
            values[(period or "", series_label(row, table.dimensions))] = row.get(info.name)
    axis = value_axis(info, [number(v) for v in values.values()])
    points = [
        {"period": p, "series": s, "value": _scaled(number(values.get((p, s))), axis)}
        for s in shown_series
        for p in kept
        if (p, s) in values
    ]
    # Points on short series, and on sparse ones, where a lone value draws no line.
    counts = [
        sum(1 for p in points if p["series"] == s and p["value"] is not None) for s in shown_series
    ]
    dots = len(kept) <= 40 or min(counts, default=0) < 2
    mark = alt.Chart(alt.InlineData(values=points)).mark_line(
        point=alt.OverlayMarkDef(size=18) if dots else False, strokeWidth=2
    )
    y = alt.Y("value:Q", title=None, axis=_axis(axis, tickCount=5), scale=alt.Scale(zero=False))
    if table.dimensions:
        color = alt.Color(
            "series:N",
            sort=shown_series,
            scale=alt.Scale(domain=shown_series, range=COLORS[: len(shown_series)]),
            legend=alt.Legend(columns=2, labelLimit=140),
        )
        chart = mark.encode(x=_time_axis(grain), y=y, color=color)
    else:
        chart = mark.encode(x=_time_axis(grain), y=y, color=alt.value(COLORS[0]))
    notes = []
    if len(order) > len(shown_series) and table.dimensions:
        notes.append(
            f"The {len(shown_series)} largest of {len(order)} "
            f"{' · '.join(table.dimensions)} values are drawn."
        )
    if step > 1:
        noun = GRAIN_NOUNS.get(grain, "period")
        notes.append(f"Every {_ordinal(step)} {noun} of {len(periods(table))} is shown.")
    head = ["period", *(shown_series if table.dimensions else [info.label or info.name])]
    rows = [
        [
            format_period(p, grain),
            *(
                format_value(values[(p, s)], info) if (p, s) in values else MISSING
                for s in shown_series
            ),
        ]
        for p in kept
    ]
    title = axis.title(info)
    return Figure(
        "trend",
        title,
        f"by {GRAIN_NOUNS.get(grain, 'period')}"
        + (f", by {', '.join(table.dimensions)}" if table.dimensions else ""),
        _finish(chart.properties(width=WIDTH, height=HEIGHT)),
        DataTable(head, rows),
        f"Line chart: {title} by {GRAIN_NOUNS.get(grain, 'period')}"
        + (f", a line per {', '.join(table.dimensions)}" if table.dimensions else ""),
        notes,
        info.name,
        complete=step == 1
        and len(order) <= MAX_SERIES
        and all(row.get("period") is not None for row in table.rows),
    )


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def bars(table: Table, info: KpiInfo, grain: str) -> Figure:
    """A KPI across the values of the breakdown, for the whole range or the latest period."""
    shot = snapshot(table, grain, info.name)
    values: dict[str, object] = {}
    for row in shot.rows:
        values[series_label(row, table.dimensions)] = row.get(info.name)
    labels = list(values)
    natural = natural_order(row.get(table.dimensions[0]) for row in shot.rows)
    if len(table.dimensions) == 1 and natural != list(
        dict.fromkeys(row.get(table.dimensions[0]) for row in shot.rows)
    ):
        labels = [format_dimension(v) for v in natural]
    else:
        labels.sort(key=lambda label: -(number(values[label]) or float("-inf")))
    notes = []
    if len(labels) > MAX_BARS:
        largest = sorted(labels, key=lambda label: -(number(values[label]) or float("-inf")))
        keep = set(largest[:MAX_BARS])
        notes.append(f"The {MAX_BARS} largest of {len(labels)} values are drawn.")
        labels = [label for label in labels if label in keep]
    axis = value_axis(info, [number(values[label]) for label in labels])
    points = [
        {
            "category": label,
            "value": _scaled(number(values[label]), axis),
            "text": format_value(values[label], info),
        }
        for label in labels
    ]
    dimension = ", ".join(table.dimensions)
    base = alt.Chart(alt.InlineData(values=points)).encode(
        y=alt.Y("category:N", sort=labels, title=None, axis=alt.Axis(labelLimit=150)),
        x=alt.X("value:Q", title=None, axis=_axis(axis, tickCount=4)),
    )
    chart: alt.TopLevelMixin = base.mark_bar(color=COLORS[0], height={"band": 0.75})
    present = [v for label in labels if (v := _scaled(number(values[label]), axis)) is not None]
    if present and min(present) >= 0:
        top = max(present)
        base = base.encode(
            x=alt.X(
                "value:Q",
                title=None,
                axis=_axis(axis, tickCount=4),
                scale=alt.Scale(domain=[0, top * 1.3 if top > 0 else 1]),
            )
        )
        chart = alt.layer(
            base.mark_bar(color=COLORS[0], height={"band": 0.75}),
            base.mark_text(align="left", dx=4, fontSize=10, color="#333").encode(text="text:N"),
        )
    title = axis.title(info)
    return Figure(
        "bars",
        title,
        f"by {dimension}, {shot.label}",
        _finish(chart.properties(width=WIDTH, height=alt.Step(20))),
        DataTable(
            [dimension, info.label or info.name],
            [[label, format_value(values[label], info)] for label in labels],
        ),
        f"Bar chart: {title} by {dimension}, {shot.label}",
        notes,
        info.name,
        complete=not notes and len(shot.rows) == len(table.rows) == len(labels),
    )


def heatmap(table: Table, info: KpiInfo, grain: str) -> Figure:
    """A KPI by hour against the other dimension (weekday, day) or the periods."""
    others = [d for d in table.dimensions if d != "hour"]
    found = periods(table)
    if others:
        shot = snapshot(table, grain, info.name)
        rows, when = shot.rows, shot.label
        row_order = [
            format_dimension(v)
            for v in natural_order(
                series_label(r, others) if len(others) > 1 else r.get(others[0]) for r in rows
            )
        ]

        def row_key(row: Mapping[str, Any]) -> str:
            return series_label(row, others)

        y_title = ", ".join(others)
    elif len(found) >= 2:
        shown = found[-MAX_HEAT_ROWS:]
        rows = [r for r in table.rows if iso_period(r.get("period")) in set(shown)]
        row_order = [format_period(p, grain) for p in shown]
        noun = GRAIN_NOUNS.get(grain, "period")
        when = f"the last {len(shown)} {noun}s" if len(shown) < len(found) else ""

        def row_key(row: Mapping[str, Any]) -> str:
            return format_period(row.get("period"), grain)

        y_title = GRAIN_NOUNS.get(grain, "period")
    else:
        shot = snapshot(table, grain, info.name)
        rows, when = shot.rows, shot.label
        row_order = [info.label or info.name]

        def row_key(row: Mapping[str, Any]) -> str:
            return info.label or info.name

        y_title = ""
    hours = natural_order(r.get("hour") for r in rows)
    hour_labels = [format_dimension(h) for h in hours]
    cells: dict[tuple[str, str], object] = {}
    for row in rows:
        cells[(row_key(row), format_dimension(row.get("hour")))] = row.get(info.name)
    axis = value_axis(info, [number(v) for v in cells.values()])
    points = [
        {"row": r, "hour": hr, "value": _scaled(number(cells[(r, hr)]), axis)}
        for r in row_order
        for hr in hour_labels
        if (r, hr) in cells
    ]
    chart = (
        alt.Chart(alt.InlineData(values=points))
        .mark_rect(stroke="white", strokeWidth=1)
        .encode(
            x=alt.X(
                "hour:O",
                sort=hour_labels,
                title="hour",
                axis=alt.Axis(labelAngle=0, labelOverlap=True),
            ),
            y=alt.Y("row:O", sort=row_order, title=y_title or None),
            color=alt.Color(
                "value:Q",
                scale=alt.Scale(scheme="blues"),
                legend=alt.Legend(
                    format=axis.format,
                    orient="right",
                    gradientLength=80,
                    title=None,
                    labelExpr="datum.value == 0 ? '0' : datum.label"
                    if axis.format == "~s"
                    else alt.Undefined,
                ),
            ),
        )
    )
    title = axis.title(info)
    notes = []
    best = best_hours(cells, hour_labels, info)
    if best:
        way = "lowest" if info.direction == "lower" else "highest"
        notes.append(f"Best hours ({way} on average): {', '.join(best)}.")
    return Figure(
        "heatmap",
        title,
        ", ".join(
            part for part in (f"by hour{' and ' + y_title if y_title else ''}", when) if part
        ),
        _finish(chart.properties(width=alt.Step(14), height=alt.Step(18))),
        DataTable(
            [y_title or "", *hour_labels],
            [
                [
                    r,
                    *(
                        format_value(cells[(r, hr)], info) if (r, hr) in cells else MISSING
                        for hr in hour_labels
                    ),
                ]
                for r in row_order
            ],
        ),
        f"Heat map: {title} by hour{' and ' + y_title if y_title else ''}",
        notes,
        info.name,
        complete=len(rows) == len(table.rows) == len(cells),
    )


def best_hours(
    cells: Mapping[tuple[str, str], object], hours: Sequence[str], info: KpiInfo, top: int = 3
) -> list[str]:
    """The hours with the best average value (the highest, or the lowest when lower is better)."""
    averages: dict[str, float] = {}
    for hour in hours:
        found = [v for (_, h), raw in cells.items() if h == hour and (v := number(raw)) is not None]
        if found:
            averages[hour] = sum(found) / len(found)
    if len(averages) < 2:
        return []
    sign = 1 if info.direction == "lower" else -1
    return sorted(averages, key=lambda hour: sign * averages[hour])[:top]


# --------------------------------------------------------------------------- organic vs paid


def versus(pair: Pair, grain: str) -> Figure:
    """Organic against paid for one concept: lines over time, or two bars."""
    organic, paid = pair.infos["organic"], pair.infos["paid"]
    dated = [r for r in pair.rows if r.get("period") is not None]
    found = sorted({iso_period(r.get("period")) or "" for r in dated})
    sides = [("organic", "Organic", organic), ("paid", "Paid", paid)]
    raw = [number(r.get(name)) for r in pair.rows for name, _, _ in sides]
    axis = value_axis(organic, raw)
    head_infos = [pair.infos[n] for n in pair.infos]
    title = f"{pair.label}{f' ({axis.unit})' if axis.unit else ''}"
    color = alt.Color(
        "side:N",
        sort=["Organic", "Paid"],
        scale=alt.Scale(
            domain=["Organic", "Paid"], range=[SIDE_COLORS["organic"], SIDE_COLORS["paid"]]
        ),
    )
    if len(found) >= 2:
        kept, _ = _thin(found)
        points = [
            {
                "period": iso_period(r.get("period")),
                "side": side,
                "value": _scaled(number(r.get(name)), axis),
            }
            for name, side, _ in sides
            for r in dated
            if iso_period(r.get("period")) in set(kept)
        ]
        chart: alt.TopLevelMixin = (
            alt.Chart(alt.InlineData(values=points))
            .mark_line(
                point=alt.OverlayMarkDef(size=18) if len(kept) <= 40 else False, strokeWidth=2
            )
            .encode(
                x=_time_axis(grain),
                y=alt.Y("value:Q", title=None, axis=_axis(axis, tickCount=5)),
                color=color,
            )
        )
        rows = [r for r in dated if iso_period(r.get("period")) in set(kept)]
        rows.sort(key=lambda r: iso_period(r.get("period")) or "")
        note = f"organic and paid by {GRAIN_NOUNS.get(grain, 'period')}"
        kind_label = "Line chart"
    else:
        shot_rows = [r for r in pair.rows if r.get("period") is None] or pair.rows[-1:]
        row = shot_rows[0] if shot_rows else {}
        points = [
            {
                "side": side,
                "value": _scaled(number(row.get(name)), axis),
                "text": format_value(row.get(name), info),
            }
            for name, side, info in sides
        ]
        base = alt.Chart(alt.InlineData(values=points)).encode(
            y=alt.Y("side:N", sort=["Organic", "Paid"], title=None),
            x=alt.X("value:Q", title=None, axis=_axis(axis, tickCount=4)),
        )
        chart = alt.layer(
            base.mark_bar(height={"band": 0.7}).encode(color=color.legend(None)),
            base.mark_text(align="left", dx=4, fontSize=10, color="#333").encode(text="text:N"),
        )
        rows = shot_rows
        note = "organic and paid, whole range" if row.get("period") is None else "organic and paid"
        kind_label = "Bar chart"
    return Figure(
        "versus",
        title,
        note,
        _finish(chart.properties(width=WIDTH, height=HEIGHT if len(found) >= 2 else alt.Step(22))),
        DataTable(
            ["period", *(info.label or info.name for info in head_infos)],
            [
                [
                    format_period(r.get("period"), grain),
                    *(format_value(r.get(i.name), i) for i in head_infos),
                ]
                for r in rows
            ],
        ),
        f"{kind_label}: {title}, organic against paid",
    )


def paid_share(found: Sequence[Pair], grain: str) -> Figure | None:
    """Paid's share of the total for each pair that has one: comparable across concepts."""
    values: dict[str, tuple[object, KpiInfo]] = {}
    when = "whole range"
    for pair in found:
        info = pair.infos.get("paid_share")
        if info is None:
            continue
        overall = [r for r in pair.rows if r.get("period") is None]
        if overall:
            row = overall[0]
        else:
            dated = sorted(pair.rows, key=lambda r: iso_period(r.get("period")) or "")
            if not dated:
                continue
            row = dated[-1]
            noun = GRAIN_NOUNS.get(grain, "period")
            when = f"latest {noun} ({format_period(row.get('period'), grain)})"
        if number(row.get("paid_share")) is not None:
            values[pair.label] = (row.get("paid_share"), info)
    if not values:
        return None
    points = [
        {"pair": label, "value": number(v), "text": format_value(v, info)}
        for label, (v, info) in values.items()
    ]
    # Up to 100 %, unless a share goes beyond (an organic count that should include paid
    # but is smaller than it): then to that share, so that its bar stays inside the chart.
    top = max([1.0, *(v for point in points if (v := point["value"]) is not None)])
    base = alt.Chart(alt.InlineData(values=points)).encode(
        y=alt.Y("pair:N", sort=list(values), title=None, axis=alt.Axis(labelLimit=150)),
        x=alt.X(
            "value:Q",
            title=None,
            axis=alt.Axis(format=".0%", tickCount=4),
            scale=alt.Scale(domain=[0, top]),
        ),
    )
    chart = alt.layer(
        base.mark_bar(color=SIDE_COLORS["paid"], height={"band": 0.75}),
        base.mark_text(align="left", dx=4, fontSize=10, color="#333").encode(text="text:N"),
    )
    return Figure(
        "share",
        "Paid share of the total",
        when,
        _finish(chart.properties(width=WIDTH, height=alt.Step(20))),
        DataTable(
            ["", "Paid share"],
            [[label, format_value(v, info)] for label, (v, info) in values.items()],
        ),
        f"Bar chart: paid share of the total by concept, {when}",
    )


# --------------------------------------------------------------------------- SVG

_SVG = "http://www.w3.org/2000/svg"
_XLINK = "http://www.w3.org/1999/xlink"
_ALLOWED = frozenset(
    {
        "svg", "g", "path", "rect", "line", "circle", "ellipse", "polygon", "polyline",
        "text", "tspan", "defs", "clipPath", "linearGradient", "radialGradient", "stop",
        "title", "desc",
    }
)  # fmt: skip
_GEOMETRY = frozenset(
    {"d", "transform", "x", "y", "x1", "x2", "y1", "y2", "cx", "cy", "r", "width", "height",
     "points", "offset"}
)  # fmt: skip
#: Attributes of the parts of a chart that only add bytes: the root's ``role="img"``
#: makes its content one image for screen readers, and nothing on it is interactive.
_DROPPED = frozenset(
    {"role", "aria-hidden", "aria-label", "aria-roledescription", "pointer-events"}
)
_EMPTY_PATHS = frozenset({"", "M0,0h0v0h0Z"})
_LONG_DECIMALS = re.compile(r"(\d\.\d{2})\d+")
_URL_REF = re.compile(r"url\(#([^)]*)\)")


def render_svg(spec: Mapping[str, Any], prefix: str, label: str) -> Markup:
    """The chart as inline SVG markup (see :func:`clean_svg`)."""
    svg = vl_convert.vegalite_to_svg(dict(spec), allowed_base_urls=[])
    return clean_svg(svg, prefix, label)


def render_all(figures: Sequence[Figure]) -> list[Markup]:
    """Each figure's SVG, ids prefixed ``c1-``, ``c2-``, … in order.

    vl-convert renders in its own threads, so a few charts at once take about half
    the time on two cores.
    """
    jobs = [(f.spec, f"c{n}", f.label) for n, f in enumerate(figures, start=1)]
    if len(jobs) < 2:
        return [render_svg(*job) for job in jobs]
    workers = min(4, os.cpu_count() or 1, len(jobs))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="kpiengine-html") as pool:
        return list(pool.map(lambda job: render_svg(*job), jobs))


def clean_svg(text: str, prefix: str, label: str) -> Markup:
    """``text`` (an SVG document) parsed and written out again, safe to inline.

    Only drawing elements stay (no script, no foreignObject, no image); event
    attributes and links to anything but the SVG's own ids go; ids become ``prefix-1``,
    ``prefix-2``, … so that two charts' clip paths never collide and the same chart
    gives the same SVG; coordinates keep two decimals; hidden
    and empty parts and per-part ARIA attributes go. The root gets ``role="img"`` and
    ``label`` for screen readers.
    """
    root = ET.fromstring(text)  # noqa: S314 - vl-convert's own output, not user input
    if root.tag != f"{{{_SVG}}}svg":
        raise ValueError("not an SVG document")
    for parent in list(root.iter()):
        for child in list(parent):
            if (
                not isinstance(child.tag, str)
                or _local(child.tag) not in _ALLOWED
                or child.get("display") == "none"
                or (_local(child.tag) == "path" and child.get("d") in _EMPTY_PATHS)
            ):
                parent.remove(child)
    # Ids numbered in document order: Vega's own count on across charts and runs.
    ids = {
        value: f"{prefix}-{number}"
        for number, value in enumerate(
            dict.fromkeys(e.get("id") for e in root.iter() if e.get("id")), start=1
        )
        if value
    }

    def ref(target: str) -> str:
        return ids.get(target, f"{prefix}-missing")

    for element in root.iter():
        element.tag = _local(element.tag)
        for name, value in list(element.attrib.items()):
            local = _local(name)
            del element.attrib[name]
            if local.lower().startswith("on") or (local == "href" and not value.startswith("#")):
                continue
            if local in _DROPPED or (local == "opacity" and value == "1"):
                continue  # the root's role and label speak for the whole chart
            # Namespaces written out by hand: ElementTree would invent ``ns0:`` prefixes,
            # which HTML's parser does not read as SVG.
            key = f"xlink:{local}" if name.startswith(f"{{{_XLINK}}}") else local
            if local == "id":
                value = ids[value]
            elif local == "href":
                value = f"#{ref(value[1:])}"
            elif "url(#" in value:
                value = _URL_REF.sub(lambda m: f"url(#{ref(m.group(1))})", value)
            elif local in _GEOMETRY:
                value = _LONG_DECIMALS.sub(r"\1", value)
            element.set(key, value)
    root.set("xmlns", _SVG)
    if any(key.startswith("xlink:") for element in root.iter() for key in element.attrib):
        root.set("xmlns:xlink", _XLINK)
    root.set("class", "chart-svg")
    root.set("role", "img")
    root.set("aria-label", label)
    return Markup(ET.tostring(root, encoding="unicode"))


def _local(name: str) -> str:
    return name.rsplit("}", 1)[-1]
