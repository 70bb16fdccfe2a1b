"""How KPI values, periods and dimension values are shown to people.

Shared by the human-readable outputs (the built-in ``table``, the ``markdown``
plugin, ``html``) so that a KPI looks the same wherever it is shown. Machine outputs
(``json``, ``csv``) write raw values instead.

Formats (``KpiInfo.format``); ``KpiInfo.decimals``, when set, fixes the decimals:

- ``number``: ints with thousands separators (``12,345``), floats with up to 2
  decimals (``3.5``, ``1,234.57``);
- ``percent``: a fraction shown times 100 with 2 decimals (0.0141 is ``1.41%``);
- ``currency``: 2 decimals, thousands separators and the KPI's currency code when
  it has one (``1,234.56 USD``);
- ``duration``: seconds; below a minute with up to one decimal (``12.3s``), then
  minutes and seconds (``1m 05s``) and hours (``2h 03m 07s``).

An undefined value (None, NaN) is shown as ``—``.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from decimal import Decimal

from kpiengine.result import Finding, KpiInfo, Table

#: How an undefined value (None) is shown.
MISSING = "—"

_Number = int | float | Decimal


def format_value(value: object, info: KpiInfo) -> str:
    """``value`` of the KPI ``info`` as text for people (see the module docstring)."""
    return format_as(value, info.format, decimals=info.decimals, currency=info.currency)


def format_as(
    value: object, fmt: str, *, decimals: int | None = None, currency: str | None = None
) -> str:
    """``value`` in the format ``fmt`` (``number``, ``percent``, ``currency``, ``duration``).

    An unknown format is shown as ``number``; a value that is not a number (a string,
    a date) is shown as it is.
    """
    if value is None:
        return MISSING
    if isinstance(value, bool):
        return "true" if value else "false"
    if not isinstance(value, int | float | Decimal):
        return format_dimension(value)
    if not _is_finite(value):
        if _is_nan(value):
            return MISSING
        return "-∞" if value < 0 else "∞"
    if fmt == "percent":
        places = 2 if decimals is None else decimals
        return _fixed(value * 100, places) + "%"
    if fmt == "currency":
        places = 2 if decimals is None else decimals
        text = _fixed(value, places)
        return f"{text} {currency}" if currency else text
    if fmt == "duration":
        return _duration(value, decimals)
    return _number(value, decimals)


def format_period(period: object, grain: str) -> str:
    """A period (ISO date of the bucket start) as text for the grain.

    ``2024-03-01`` is shown as ``2024-03`` for grain ``month``, ``2024-Q1`` for
    ``quarter`` and ``2024`` for ``year``; day and week periods stay ISO dates.
    No period (grain ``total``) is shown as ``total``.
    """
    if period is None:
        return "total"
    if isinstance(period, dt.datetime):
        day = period.date()
    elif isinstance(period, dt.date):
        day = period
    else:
        try:
            day = dt.date.fromisoformat(str(period)[:10])
        except ValueError:
            return str(period)
    if grain == "month":
        return f"{day.year:04d}-{day.month:02d}"
    if grain == "quarter":
        return f"{day.year:04d}-Q{(day.month - 1) // 3 + 1}"
    if grain == "year":
        return f"{day.year:04d}"
    return day.isoformat()


def partial_note(table: Table, grain: str) -> str:
    """The line saying which periods of ``table`` its data covers only in part ("" when
    none), for outputs that people read."""
    periods = table.partial_periods
    if not periods:
        return ""
    noun = f"{grain}s" if len(periods) > 1 else grain
    return (
        f"partial {noun}: {', '.join(periods)} "
        f"(the data covers {table.data_from} … {table.data_to})"
    )


def finding_place(finding: Finding, grain: str) -> list[str]:
    """Where a finding is: its period (``2026-09-28 (partial)`` when the data covers
    that period only in part), then ``dimension=value`` for each dimension."""
    where = []
    if finding.period:
        period = format_period(finding.period, grain)
        where.append(f"{period} (partial)" if finding.partial else period)
    where += [f"{k}={format_dimension(v)}" for k, v in finding.dimensions.items()]
    return where


def format_dimension(value: object) -> str:
    """A dimension value as text: dates in ISO form, None as ``—``, control characters
    escaped (see :func:`printable`)."""
    if value is None:
        return MISSING
    if isinstance(value, dt.date | dt.datetime | dt.time):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    return printable(str(value))


#: Characters that would act on a terminal instead of showing: C0 and C1 controls, and
#: the bidirectional overrides that reorder what is shown.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """``text`` with control characters written as escapes (``\\x1b``, ``\\n``): data
    shown on a terminal must not move the cursor, clear the screen or change colours."""
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], text)


def _is_finite(value: _Number) -> bool:
    if isinstance(value, Decimal):
        return value.is_finite()
    if isinstance(value, float):
        return math.isfinite(value)
    return True


def _is_nan(value: _Number) -> bool:
    if isinstance(value, Decimal):
        return value.is_nan()
    return isinstance(value, float) and math.isnan(value)


def _fixed(value: _Number, places: int) -> str:
    """``value`` with thousands separators and exactly ``places`` decimals; never ``-0``."""
    if isinstance(value, int):
        value = Decimal(value)  # exact, however large
    return _no_negative_zero(f"{value:,.{max(places, 0)}f}")


def _number(value: _Number, decimals: int | None) -> str:
    if isinstance(value, int):
        return f"{value:,}" if decimals is None else _fixed(value, decimals)
    if decimals is not None:
        return _fixed(value, decimals)
    return _strip_zeros(_fixed(value, 2))


def _duration(value: _Number, decimals: int | None) -> str:
    seconds = float(value)
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    places = 1 if decimals is None else max(decimals, 0)
    if round(seconds, places) < 60:
        text = f"{seconds:.{places}f}"
        if decimals is None:
            text = _strip_zeros(text)
        text = _no_negative_zero(sign + text)
        return f"{text}s"
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{sign}{hours:,}h {minutes:02d}m {secs:02d}s"
    return f"{sign}{minutes}m {secs:02d}s"


def _strip_zeros(text: str) -> str:
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return _no_negative_zero(text)


def _no_negative_zero(text: str) -> str:
    if text.startswith("-") and not text.strip("-0.,"):
        return text[1:]
    return text
