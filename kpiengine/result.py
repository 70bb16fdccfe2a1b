"""What an evaluation produces: tables of rows, rule findings, and KPI metadata.

Output plugins receive a :class:`Result`; :meth:`Result.to_dict` is the stable
JSON shape documented in docs/output.md.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any


def plain_value(value: Any) -> Any:
    """A database value as plain JSON-able Python: Decimal to int or float, NaN and
    infinities to None, dates to ISO text; ints, floats, text and None unchanged."""
    kind = type(value)
    if kind is int or kind is str or value is None:  # the common case, checked cheaply
        return value
    if kind is float:
        return value if math.isfinite(value) else None
    if isinstance(value, Decimal):
        if not value.is_finite():
            return None
        if value == value.to_integral_value():
            return int(value)
        return float(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


@dataclass(frozen=True)
class KpiInfo:
    """What an output needs to know to show a KPI's values."""

    name: str
    label: str
    category: str
    format: str  # number | percent | currency | duration
    direction: str  # higher | lower | none
    description: str = ""
    expression: str = ""
    currency: str | None = None
    decimals: int | None = None


@dataclass
class Table:
    """Rows for the KPIs of one category at one breakdown.

    Each row maps ``period`` (ISO date of the bucket start, None for grain
    ``total``), each dimension and each KPI name to its value (int, float, str or
    None when undefined).
    """

    name: str
    category: str
    dimensions: list[str]
    kpis: list[KpiInfo]
    rows: list[dict[str, Any]] = field(default_factory=list)
    #: The first and last day the table's data has within the range (ISO dates; None
    #: when its datasets have no time column, or no rows).
    data_from: str | None = None
    data_to: str | None = None
    #: The periods the data covers only in part: a first period starting before
    #: ``data_from`` or a last one ending after ``data_to`` (a week of 3 days of data).
    partial_periods: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Finding:
    """A row on which a rule's condition held."""

    rule: str
    kpi: str
    level: str  # info | warn | error
    message: str
    period: str | None
    dimensions: dict[str, Any]
    value: Any
    #: The period is one the data covers only in part (see Table.partial_periods).
    partial: bool = False


LEVELS = ("info", "warn", "error")


@dataclass
class Result:
    spec: str
    grain: str
    date_from: str | None
    date_to: str | None
    tables: list[Table] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    #: With ``compare`` set: one entry per table row and KPI, see :mod:`kpiengine.compare`.
    comparisons: list[dict[str, Any]] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    compare: str | None = None  # previous | year
    #: The request that produced the result (breakdown, filter, KPIs, sources with
    #: secrets redacted), for outputs that record how a run was made.
    parameters: dict[str, Any] = field(default_factory=dict)

    def kpi(self, name: str) -> KpiInfo | None:
        for table in self.tables:
            for info in table.kpis:
                if info.name == name:
                    return info
        return None

    def worst_level(self) -> str | None:
        """The highest level among the findings, or None when there are none."""
        levels = {f.level for f in self.findings}
        for level in reversed(LEVELS):
            if level in levels:
                return level
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "spec": self.spec,
            "grain": self.grain,
            "from": self.date_from,
            "to": self.date_to,
            "tables": [
                {
                    "name": t.name,
                    "category": t.category,
                    "dimensions": list(t.dimensions),
                    "kpis": [k.name for k in t.kpis],
                    "data_from": t.data_from,
                    "data_to": t.data_to,
                    "partial_periods": list(t.partial_periods),
                    "rows": [dict(r) for r in t.rows],
                }
                for t in self.tables
            ],
            "findings": [
                {
                    "rule": f.rule,
                    "kpi": f.kpi,
                    "level": f.level,
                    "message": f.message,
                    "period": f.period,
                    **f.dimensions,
                    "value": f.value,
                    "partial": f.partial,
                }
                for f in self.findings
            ],
            "compare": self.compare,
            "parameters": dict(self.parameters),
            "comparisons": [dict(c) for c in self.comparisons],
            "notices": list(self.notices),
        }
