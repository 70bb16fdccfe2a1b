"""Everything that differs between SQL dialects, in one place.

Each construct here is a small SQLAlchemy element with a default rendering and
per-dialect overrides registered with ``@compiles``. The compiler uses only
these and portable Core; it never asks which dialect it is talking to (the one choice of
statement shape, :func:`full_joins_on_keys`, is made here and handed to it).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import coercions, roles
from sqlalchemy.sql.expression import ColumnElement, FunctionElement
from sqlalchemy.sql.visitors import InternalTraversal

GRAINS = ("day", "week", "month", "quarter", "year", "total")


def full_joins_on_keys(dialect: Any) -> bool:
    """Whether the dialect joins several datasets' aggregates with FULL JOINs on their
    keys (see ``TableCompiler._combine``), rather than on the union of their keys.

    DuckDB plans and runs the FULL JOINs faster; PostgreSQL refuses a FULL JOIN on
    ``IS NOT DISTINCT FROM``, which keys that may be null need, so the others keep the union.
    """
    return getattr(dialect, "name", None) == "duckdb"


class _Period(ColumnElement[Any]):
    """A date computed from a time value and a grain (a base for the two below).

    A column expression rather than a SQL function: SQLAlchemy treats a function in
    GROUP BY as a FROM clause and groups by its label, which BigQuery's dialect then
    renders as a name that does not exist. ``grain`` (and ``steps``) are part of the
    cache key, so week and month never share a compiled statement.
    """

    inherit_cache = True
    # SQLAlchemy's own declarations are plain class-level lists like this one.
    _traverse_internals = [  # noqa: RUF012
        ("value", InternalTraversal.dp_clauseelement),
        ("grain", InternalTraversal.dp_string),
    ]

    def __init__(self, grain: str, value: ColumnElement[Any]) -> None:
        if grain not in GRAINS[:-1]:
            raise ValueError(f"unknown grain {grain!r}")
        self.grain = grain
        self.value = coercions.expect(roles.ExpressionElementRole, value)
        self.type = sa.Date()

    @property
    def _from_objects(self) -> list[Any]:
        return list(self.value._from_objects)


class PeriodStart(_Period):
    """The date a time value's period (day, ISO week from Monday, month, quarter, year) starts."""

    __visit_name__ = "kpi_period_start"
    inherit_cache = True


@compiles(PeriodStart)
def _period_start_default(element: PeriodStart, compiler: Any, **kw: Any) -> str:
    # date_trunc on a TIMESTAMP, cast back to DATE: PostgreSQL, DuckDB, Spark, Databricks
    arg = compiler.process(sa.cast(element.value, sa.DateTime()), **kw)
    return f"CAST(date_trunc('{element.grain}', {arg}) AS DATE)"


@compiles(PeriodStart, "sqlite")
def _period_start_sqlite(element: PeriodStart, compiler: Any, **kw: Any) -> str:
    arg = compiler.process(element.value, **kw)
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


@compiles(PeriodStart, "trino")
def _period_start_trino(element: PeriodStart, compiler: Any, **kw: Any) -> str:
    # Trino's date_trunc keeps the type of its argument: on a DATE it returns a DATE.
    arg: str = compiler.process(sa.cast(element.value, sa.Date()), **kw)
    return arg if element.grain == "day" else f"date_trunc('{element.grain}', {arg})"


@compiles(PeriodStart, "bigquery")
def _period_start_bigquery(element: PeriodStart, compiler: Any, **kw: Any) -> str:
    # BigQuery: DATE_TRUNC(date, part), and its WEEK starts on Sunday unless told otherwise.
    arg: str = compiler.process(sa.cast(element.value, sa.Date()), **kw)
    if element.grain == "day":
        return arg
    part = "WEEK(MONDAY)" if element.grain == "week" else element.grain.upper()
    return f"DATE_TRUNC({arg}, {part})"


@compiles(PeriodStart, "snowflake")
def _period_start_snowflake(element: PeriodStart, compiler: Any, **kw: Any) -> str:
    # Snowflake's week depends on the session's WEEK_START; DAYOFWEEKISO does not
    # (Monday is 1), so the Monday is found by going back that many days less one.
    arg: str = compiler.process(sa.cast(element.value, sa.Date()), **kw)
    if element.grain == "day":
        return arg
    if element.grain == "week":
        return f"DATEADD(day, 1 - DAYOFWEEKISO({arg}), {arg})"
    return f"DATE_TRUNC('{element.grain}', {arg})"


@compiles(PeriodStart, "duckdb")
def _period_start_duckdb(element: PeriodStart, compiler: Any, **kw: Any) -> str:
    # DuckDB truncates a DATE itself. A cast to DATE costs nothing on a DATE column (and
    # drops a timestamp's time of day, which no period needs), where the default's cast
    # to TIMESTAMP made a weekly query over narrow tables up to a third slower
    # (docs/performance.md, the benchmark suite).
    arg = compiler.process(sa.cast(element.value, sa.Date()), **kw)
    return f"CAST(date_trunc('{element.grain}', {arg}) AS DATE)"


class PeriodShift(_Period):
    """The start of the period ``steps`` periods away from a period start."""

    __visit_name__ = "kpi_period_shift"
    inherit_cache = True
    _traverse_internals = [  # noqa: RUF012
        *_Period._traverse_internals,
        ("steps", InternalTraversal.dp_plain_obj),
    ]

    def __init__(self, grain: str, value: ColumnElement[Any], steps: int) -> None:
        super().__init__(grain, value)
        self.steps = int(steps)

    def amount(self) -> tuple[int, str]:
        """How far to move, as (number, unit) with unit ``day`` or ``month``."""
        if self.grain in ("day", "week"):
            return self.steps * (7 if self.grain == "week" else 1), "day"
        return self.steps * {"month": 1, "quarter": 3, "year": 12}[self.grain], "month"


@compiles(PeriodShift)
def _period_shift_default(element: PeriodShift, compiler: Any, **kw: Any) -> str:
    number, unit = element.amount()
    arg = compiler.process(sa.cast(element.value, sa.Date()), **kw)
    return f"CAST({arg} + INTERVAL '{number} {unit}' AS DATE)"


@compiles(PeriodShift, "sqlite")
def _period_shift_sqlite(element: PeriodShift, compiler: Any, **kw: Any) -> str:
    number, unit = element.amount()
    return f"date({compiler.process(element.value, **kw)}, '{number:+d} {unit}s')"


@compiles(PeriodShift, "trino")
def _period_shift_trino(element: PeriodShift, compiler: Any, **kw: Any) -> str:
    # Trino writes intervals as INTERVAL '7' DAY; date_add says the same more plainly.
    number, unit = element.amount()
    arg = compiler.process(sa.cast(element.value, sa.Date()), **kw)
    return f"date_add('{unit}', {number}, {arg})"


@compiles(PeriodShift, "bigquery")
def _period_shift_bigquery(element: PeriodShift, compiler: Any, **kw: Any) -> str:
    number, unit = element.amount()
    arg = compiler.process(sa.cast(element.value, sa.Date()), **kw)
    return f"DATE_ADD({arg}, INTERVAL {number} {unit.upper()})"


@compiles(PeriodShift, "snowflake")
def _period_shift_snowflake(element: PeriodShift, compiler: Any, **kw: Any) -> str:
    number, unit = element.amount()
    arg = compiler.process(sa.cast(element.value, sa.Date()), **kw)
    return f"DATEADD({unit}, {number}, {arg})"


@compiles(PeriodShift, "hive")
@compiles(PeriodShift, "databricks")
def _period_shift_spark(element: PeriodShift, compiler: Any, **kw: Any) -> str:
    # Spark SQL (the Thrift server, Databricks): date + INTERVAL works but gives a
    # TIMESTAMP on older versions; date_add and add_months always give a DATE.
    number, unit = element.amount()
    arg = compiler.process(sa.cast(element.value, sa.Date()), **kw)
    if unit == "day":
        return f"date_add({arg}, {number})"
    return f"add_months({arg}, {number})"


@compiles(sa.Date, "hive")
def _date_type_hive(element: sa.Date, compiler: Any, **kw: Any) -> str:
    # PyHive renders DATE as TIMESTAMP (for old Hive); Spark has DATE, and periods are dates.
    return "DATE"


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
    d = compiler.process(sa.cast(digits, sa.Integer()), **kw)  # DuckDB wants an INTEGER
    return f"round({compiler.process(value, **kw)}, {d})"


@compiles(Round, "postgresql")
def _round_pg(element: Round, compiler: Any, **kw: Any) -> str:
    value, digits = element.clauses
    v = compiler.process(sa.cast(value, sa.Numeric()), **kw)
    d = compiler.process(sa.cast(digits, sa.Integer()), **kw)
    return f"CAST(round({v}, {d}) AS DOUBLE PRECISION)"


class BigInt(FunctionElement[Any]):
    """A whole-number literal as a 64-bit integer.

    Bound as it is, DuckDB takes ``1000000`` for a 32-bit integer and PostgreSQL's
    driver casts it to INTEGER, so that ``1000000 * 1000000`` overflowed there.
    """

    type = sa.BigInteger()
    name = "kpi_bigint"
    inherit_cache = True

    def __init__(self, value: int) -> None:
        super().__init__(sa.literal(value, sa.BigInteger()))


@compiles(BigInt)
def _bigint(element: BigInt, compiler: Any, **kw: Any) -> str:
    (value,) = element.clauses
    return f"CAST({compiler.process(value, **kw)} AS BIGINT)"


@compiles(BigInt, "bigquery")
def _bigint_bigquery(element: BigInt, compiler: Any, **kw: Any) -> str:
    (value,) = element.clauses
    return f"CAST({compiler.process(value, **kw)} AS INT64)"  # BigQuery's name for BIGINT


@compiles(BigInt, "postgresql")
def _bigint_pg(element: BigInt, compiler: Any, **kw: Any) -> str:
    (value,) = element.clauses
    return str(compiler.process(value, **kw))  # the driver's bind cast already says ::BIGINT


def to_double(value: ColumnElement[Any]) -> ColumnElement[Any]:
    return sa.cast(value, sa.Double())
