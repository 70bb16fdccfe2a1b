"""Organic against paid: the tables a spec's ``comparisons:`` section asks for.

For each pair of KPIs (organic views with paid views, …) one table, per period and
overall: the organic value, the paid value, the difference (organic - paid), paid
per organic, paid's share of the total and, when the organic number counts paid
activity too (TikTok's views do), the organic-only estimate (organic - paid). The
values come from the same KPIs as the organic and paid tables; this module only
combines them, period by period.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from kpiengine.result import KpiInfo, Table
from kpiengine.spec import Comparison, Pair

#: values[period][kpi]: period None is the whole range.
Values = Mapping[str | None, Mapping[str, Any]]

_COUNTS = ("number", "currency", "duration")


def pair_table(
    comparison: Comparison, pair: Pair, infos: Mapping[str, KpiInfo], values: Values
) -> Table:
    organic, paid = infos[pair.organic], infos[pair.paid]
    additive = organic.format in _COUNTS and paid.format in _COUNTS
    kpis = [
        replace(organic, name="organic", label=f"Organic ({organic.label})", category="comparison"),
        replace(paid, name="paid", label=f"Paid ({paid.label})", category="comparison"),
        replace(
            organic,
            name="difference",
            label="Organic - paid",
            direction="none",
            description="The organic value minus the paid value.",
            category="comparison",
        ),
        KpiInfo(
            "paid_per_organic",
            "Paid per organic",
            "comparison",
            "number",
            "none",
            "The paid value divided by the organic value.",
            decimals=2,
        ),
    ]
    if additive:
        kpis.append(
            KpiInfo(
                "paid_share",
                "Paid share of the total",
                "comparison",
                "percent",
                "none",
                "Paid over the total of organic and paid"
                + (
                    " (the organic number already includes paid)."
                    if pair.organic_includes_paid
                    else "."
                ),
            )
        )
    if pair.organic_includes_paid:
        kpis.append(
            replace(
                organic,
                name="organic_only",
                label="Organic only (estimate)",
                description="Estimate: the organic number minus the paid one, because the "
                "organic count includes paid activity. Joined on the date only.",
                category="comparison",
            )
        )
    rows = []
    for period, kpi_values in values.items():
        o, p = _number(kpi_values.get(pair.organic)), _number(kpi_values.get(pair.paid))
        row: dict[str, Any] = {
            "period": period,
            "organic": o,
            "paid": p,
            "difference": o - p if o is not None and p is not None else None,
            "paid_per_organic": _ratio(p, o),
        }
        if additive:
            total = (
                o
                if pair.organic_includes_paid
                else (o + p if o is not None and p is not None else None)
            )
            row["paid_share"] = _ratio(p, total)
        if pair.organic_includes_paid:
            row["organic_only"] = o - p if o is not None and p is not None else None
        rows.append(row)
    return Table(f"{comparison.label}: {pair.label}", "comparison", [], kpis, rows)


def costs_table(
    comparison: Comparison, names: list[str], infos: Mapping[str, KpiInfo], values: Values
) -> Table:
    """The paid-only cost KPIs (cost per view, per engagement, …) beside the pairs."""
    kpis = [replace(infos[n], category="comparison") for n in names]
    rows = [
        {"period": period, **{n: kpi_values.get(n) for n in names}}
        for period, kpi_values in values.items()
    ]
    return Table(f"{comparison.label}: paid costs", "comparison", [], kpis, rows)


def _number(value: Any) -> float | int | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    return None


def _ratio(num: float | int | None, den: float | int | None) -> float | None:
    if num is None or den is None or den == 0:
        return None
    return num / den
