"""Everything that differs between SQL dialects, in one place.

Each construct here is a small SQLAlchemy element with a default rendering and
per-dialect overrides registered with ``@compiles``. The compiler uses only
these and portable Core; it never asks which dialect it is talking to.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement, FunctionElement

GRAINS = ("day", "week", "month", "quarter", "year", "total")


class PeriodStart(FunctionElement[Any]):
    """The date a time value's period (day, ISO week from Monday, month, quarter, year) starts."""

    type = sa.Date()
    name = "period_start"
    inherit_cache = True

    def __init__(self, grain: str, value: ColumnElement[Any]) -> None:
        if grain not in GRAINS[:-1]:
            raise ValueError(f"unknown grain {grain!r}")
        self.grain = grain
        super().__init__(value)


@compiles(PeriodStart)
def _period_start_default(element: PeriodStart, compiler: Any, **kw: Any) -> str:
    # date_trunc on a TIMESTAMP, cast back to DATE: PostgreSQL, DuckDB, Snowflake, Trino…
    (value,) = element.clauses
    arg = compiler.process(sa.cast(value, sa.DateTime()), **kw)
    return f"CAST(date_trunc('{element.grain}', {arg}) AS DATE)"


@compiles(PeriodStart, "sqlite")
def _period_start_sqlite(element: PeriodStart, compiler: Any, **kw: Any) -> str:
    (value,) = element.clauses
    arg = compiler.process(value, **kw)
    if element.grain == "day":
        return f"date({arg})"
    if element.grain == "week":  # forward to Sunday, back six days: the Monday
        return f"date({arg}, 'weekday 0', '-6 days')"
    if element.grain == "month":
        return f"date({arg}, 'start of month')"
    if element.grain == "quarter":
        return (
            f"date({arg}, 'start of month', "
            f"printf('-%d months', (CAST(strftime('%m', {arg}) AS INTEGER) - 1) % 3))"
        )
    return f"date({arg}, 'start of year')"


class PeriodShift(FunctionElement[Any]):
    """The start of the period ``steps`` periods away from a period start."""

    type = sa.Date()
    name = "period_shift"
    inherit_cache = True

    def __init__(self, grain: str, value: ColumnElement[Any], steps: int) -> None:
        if grain not in GRAINS[:-1]:
            raise ValueError(f"unknown grain {grain!r}")
        self.grain = grain
        self.steps = int(steps)
        super().__init__(value)

    def amount(self) -> tuple[int, str]:
        """How far to move, as (number, unit) with unit ``day`` or ``month``."""
        if self.grain in ("day", "week"):
            return self.steps * (7 if self.grain == "week" else 1), "day"
        return self.steps * {"month": 1, "quarter": 3, "year": 12}[self.grain], "month"


@compiles(PeriodShift)
def _period_shift_default(element: PeriodShift, compiler: Any, **kw: Any) -> str:
    (value,) = element.clauses
    number, unit = element.amount()
    arg = compiler.process(sa.cast(value, sa.Date()), **kw)
    return f"CAST({arg} + INTERVAL '{number} {unit}' AS DATE)"


@compiles(PeriodShift, "sqlite")
def _period_shift_sqlite(element: PeriodShift, compiler: Any, **kw: Any) -> str:
    (value,) = element.clauses
    number, unit = element.amount()
    return f"date({compiler.process(value, **kw)}, '{number:+d} {unit}s')"


class SafeDiv(FunctionElement[Any]):
    """``a / b`` as a floating-point division that yields NULL when ``b`` is zero.

    DuckDB divides the IEEE way (``x/0`` is ``inf``), SQLite and PostgreSQL
    divide integers to integers: both are avoided by casting to DOUBLE and
    turning a zero denominator into NULL.
    """

    type = sa.Double()
    name = "safe_div"
    inherit_cache = True


@compiles(SafeDiv)
def _safe_div(element: SafeDiv, compiler: Any, **kw: Any) -> str:
    num, den = element.clauses
    a = compiler.process(sa.cast(num, sa.Double()), **kw)
    b = compiler.process(sa.cast(den, sa.Double()), **kw)
    return f"({a} / NULLIF({b}, 0))"


class Round(FunctionElement[Any]):
    """``round(x, digits)`` on a DOUBLE (PostgreSQL only rounds NUMERIC to digits)."""

    type = sa.Double()
    name = "kpi_round"
    inherit_cache = True


@compiles(Round)
def _round(element: Round, compiler: Any, **kw: Any) -> str:
    value, digits = element.clauses
    return f"round({compiler.process(value, **kw)}, {compiler.process(digits, **kw)})"


@compiles(Round, "postgresql")
def _round_pg(element: Round, compiler: Any, **kw: Any) -> str:
    value, digits = element.clauses
    v = compiler.process(sa.cast(value, sa.Numeric()), **kw)
    d = compiler.process(sa.cast(digits, sa.Integer()), **kw)
    return f"CAST(round({v}, {d}) AS DOUBLE PRECISION)"


def to_double(value: ColumnElement[Any]) -> ColumnElement[Any]:
    return sa.cast(value, sa.Double())
