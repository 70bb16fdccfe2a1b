"""Segment rankings: a spec's ``segments:`` section (audience insights).

KPIs broken down by one dimension (age, gender, country, hour, …), ranked by one of
them within each period: rank 1 is the best by that KPI's direction (lowest first
for a KPI where lower is better, such as a cost). A segment under any of the
spec's minimums (too few impressions or clicks to judge) is flagged with
``too_small`` and left unranked rather than ranked on noise.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from kpiengine.result import KpiInfo, Table
from kpiengine.spec import Segments


def ranked_table(
    segments: Segments, infos: Mapping[str, KpiInfo], rows: Sequence[Mapping[str, Any]]
) -> Table:
    """A table of the segments' KPIs with ``rank`` and ``too_small`` columns."""
    shown = list(dict.fromkeys([*segments.kpis, segments.rank_by]))
    lower_first = infos[segments.rank_by].direction == "lower"
    by_period: dict[str | None, list[dict[str, Any]]] = {}
    for row in rows:
        out = {
            "period": row["period"],
            segments.by: row[segments.by],
            **{k: row.get(k) for k in shown},
        }
        out["too_small"] = any(
            not _number(row.get(kpi)) or row[kpi] < minimum for kpi, minimum in segments.minimums
        )
        by_period.setdefault(row["period"], []).append(out)
    result_rows: list[dict[str, Any]] = []
    for period_rows in by_period.values():
        judged = [r for r in period_rows if not r["too_small"] and _number(r[segments.rank_by])]
        judged.sort(key=lambda r: r[segments.rank_by], reverse=not lower_first)
        for rank, row in enumerate(judged, 1):
            row["rank"] = rank
        unranked = [r for r in period_rows if "rank" not in r]
        for row in unranked:
            row["rank"] = None
        result_rows += judged + sorted(unranked, key=lambda r: str(r[segments.by]))
    kpis = [replace(infos[k], category="audience") for k in shown]
    kpis.append(
        KpiInfo(
            "rank",
            f"Rank by {infos[segments.rank_by].label}",
            "audience",
            "number",
            "none",
            "1 is the best segment; empty when the segment is too small to judge.",
        )
    )
    kpis.append(
        KpiInfo(
            "too_small",
            "Too small to judge",
            "audience",
            "number",
            "none",
            "Under a minimum: " + ", ".join(f"{k} {m:g}" for k, m in segments.minimums)
            if segments.minimums
            else "No minimum is set.",
        )
    )
    return Table(segments.label, "audience", [segments.by], kpis, result_rows)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
