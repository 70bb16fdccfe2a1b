"""The built-in output formats: ``table``, ``json`` and ``csv``.

A plugin module like any third-party one: the plugin manager registers it from its
list of built-ins. ``rich`` is imported only when a table is rendered, so that
importing this module stays cheap.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
import numbers
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property
from typing import TYPE_CHECKING, Any

from kpiengine import hookimpl
from kpiengine.formatting import (
    finding_place,
    format_dimension,
    format_period,
    format_value,
    partial_note,
    printable,
)
from kpiengine.registry import OutputContext, OutputFormat
from kpiengine.result import LEVELS, KpiInfo, Result, Table, plain_value

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table as RichTable


@hookimpl
def kpi_output_formats() -> list[OutputFormat]:
    """The ``table``, ``json`` and ``csv`` formats."""
    return [
        OutputFormat(
            name="table",
            description="tables for people, then the rule findings (the default)",
            render=render_table,
            extension="txt",
        ),
        OutputFormat(
            name="json",
            description="one JSON object: tables, findings, comparisons (docs/output.md)",
            render=render_json,
            extension="json",
        ),
        OutputFormat(
            name="csv",
            description="the rows of every table in one CSV, one column per KPI (no findings)",
            render=render_csv,
            extension="csv",
        ),
    ]


# --------------------------------------------------------------------------- json


def render_json(result: Result, ctx: OutputContext) -> str:
    """``Result.to_dict()`` as JSON indented by two spaces; NaN and infinity become null.

    orjson writes it: the standard library spends most of a large table's time turning
    floats into text (about 70 ms for a table of 5,250 rows of 20 KPIs, against 5 ms).
    The text is ``json.dumps(…, indent=2, ensure_ascii=False)``'s, dates and times
    included, but for the spelling of some numbers (``1e-7`` for ``1e-07``, ``0.00001``
    for ``1e-05``: the same values). What orjson refuses (an integer beyond 64 bits, a
    key that is not a string) is written by the standard library instead.
    """
    import orjson

    data = result.to_dict()
    try:
        text = orjson.dumps(data, default=_json_default, option=orjson.OPT_INDENT_2).decode()
        return text + "\n"
    except TypeError:  # orjson.JSONEncodeError
        text = json.dumps(
            _finite(data), indent=2, ensure_ascii=False, allow_nan=False, default=_json_default
        )
        return text + "\n"


def _finite(value: Any) -> Any:
    """``value`` with every NaN or infinite float replaced by None (JSON has neither)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value


def _json_default(value: Any) -> Any:
    """JSON for the values a database hands back that ``json`` does not know."""
    if isinstance(value, dt.time):
        return value.isoformat()
    if isinstance(value, Decimal | dt.date):
        return plain_value(value)
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, numbers.Integral):  # numpy and other integer scalars
        return int(value)
    if isinstance(value, numbers.Real):
        number = float(value)
        return number if math.isfinite(number) else None
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    return str(value)  # UUIDs, IP addresses, …: their text form


# --------------------------------------------------------------------------- csv


def render_csv(result: Result, ctx: OutputContext) -> str:
    """Every table's rows in one CSV: ``table, period, <dimensions>, <kpis>``.

    Tables with different dimensions or KPIs share one header (the union, in order
    of first appearance); cells a table does not have are empty. Values are raw:
    fractions as fractions, floats at full precision, None as an empty cell.
    """
    dimensions: dict[str, None] = {}
    kpis: dict[str, None] = {}
    for table in result.tables:
        dimensions.update(dict.fromkeys(table.dimensions))
        kpis.update(dict.fromkeys(info.name for info in table.kpis))
    header = list(dict.fromkeys(["table", "period", *dimensions, *kpis]))

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for table in result.tables:
        for row in table.rows:
            writer.writerow([table.name, *(_csv_cell(row.get(name)) for name in header[1:])])
    return buffer.getvalue()


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else ""
    if isinstance(value, Decimal):
        return format(value, "f") if value.is_finite() else ""
    if isinstance(value, dt.date | dt.datetime | dt.time):
        return value.isoformat()
    return str(value)


# --------------------------------------------------------------------------- table

_LEVEL_STYLES = {"error": "bold red", "warn": "yellow", "info": "cyan"}


def render_table(result: Result, ctx: OutputContext) -> str:
    """One table per result table, then the findings, for a terminal.

    Notices are not repeated here: the CLI prints them on stderr.
    """
    from rich.console import Console
    from rich.text import Text

    buffer = io.StringIO()
    console = Console(
        file=buffer,
        force_terminal=ctx.color,
        color_system="standard" if ctx.color else None,
        width=ctx.width or 200,
        height=25,  # with a width alone, rich falls back to 80 columns when TERM=dumb
        no_color=not ctx.color,
        markup=False,  # values are data, never markup
        emoji=False,
        highlight=False,
        legacy_windows=False,
    )
    console.print(Text(_heading(result), style="bold"))
    for table in result.tables:
        console.print()
        for part in _rich_tables(table, result.grain, console, console.width):
            console.print(part)
        partial = partial_note(table, result.grain)
        if partial:
            console.print(Text(f"  {partial}", style="dim"))
        changes = _change_table(result, table)
        if changes is not None:
            console.print()
            for part in _rich_tables(changes, result.grain, console, console.width):
                console.print(part)
    if result.findings:
        console.print()
        _print_findings(console, result)
    return "".join(line.rstrip() + "\n" for line in buffer.getvalue().splitlines())


def _change_table(result: Result, table: Table) -> Table | None:
    """The relative change of each KPI against the earlier period, as a table of its own."""
    if not result.compare:
        return None
    against = "the period before" if result.compare == "previous" else "a year before"
    rows: dict[tuple[Any, ...], dict[str, Any]] = {}
    for entry in result.comparisons:
        if entry["table"] != table.name:
            continue
        key = (entry["period"], *(entry.get(d) for d in table.dimensions))
        row = rows.setdefault(
            key, {"period": entry["period"], **{d: entry.get(d) for d in table.dimensions}}
        )
        row[entry["kpi"]] = entry["relative_change"]
    kpis = [
        KpiInfo(k.name, k.label, k.category, "percent", k.direction, decimals=1) for k in table.kpis
    ]
    name = f"{table.name}: change against {against}"
    return Table(
        name,
        name,  # the title names the category already
        list(table.dimensions),
        kpis,
        list(rows.values()),
    )


def _heading(result: Result) -> str:
    if result.date_from or result.date_to:
        dates = f"{result.date_from or '…'} → {result.date_to or '…'}"
    else:
        dates = "all dates"
    return f"{result.spec} · grain {result.grain} · {dates}"


@dataclass
class _Column:
    header: str
    cells: list[str]
    numeric: bool

    @cached_property
    def values_width(self) -> int:
        return max(map(_cell_len, self.cells), default=0)

    @property
    def natural(self) -> int:
        """Width with the header on one line and no value wrapped."""
        return max(_cell_len(self.header), self.values_width)

    @property
    def compact(self) -> int:
        """Width with the header wrapped at words and long text values wrapped."""
        values = self.values_width if self.numeric else min(self.values_width, _COMPACT_TEXT)
        words = max(map(_cell_len, self.header.split()), default=1)
        return max(values, words, min(_cell_len(self.header), _COMPACT_HEADER))


_COMPACT_HEADER = 16  # a header wider than this wraps when the table does not fit
_COMPACT_TEXT = 30  # a text value wider than this wraps when the table does not fit


def _cell_len(text: str) -> int:
    from rich.cells import cell_len

    return cell_len(text)


def _rich_tables(table: Table, grain: str, console: Console, width: int) -> list[RichTable]:
    """``table`` as rich tables no wider than ``width``.

    At its natural width when that fits. Otherwise long headers and text values wrap;
    when even that is too wide, the KPI columns are split over several tables, each
    repeating the period and dimension columns. KPI values never wrap or get cut.
    """
    show_period = grain != "total" or any(row.get("period") is not None for row in table.rows)
    keys: list[_Column] = []
    if show_period:
        keys.append(
            _Column("period", [format_period(row.get("period"), grain) for row in table.rows], True)
        )
    keys += [
        _Column(name, [format_dimension(row.get(name)) for row in table.rows], False)
        for name in table.dimensions
    ]
    kpis = [
        _Column(
            info.label or info.name,
            [format_value(row.get(info.name), info) for row in table.rows],
            True,
        )
        for info in table.kpis
    ]

    title = table.name
    if table.category and table.category != table.name:
        title += f" ({table.category})"
    if table.dimensions:
        title += " by " + ", ".join(table.dimensions)

    def build(
        columns: list[_Column], widths: list[int] | None, title: str, rows: bool = True
    ) -> RichTable:
        from rich import box
        from rich.table import Table as RichTable
        from rich.text import Text

        rich_table = RichTable(
            title=Text(title, style="bold"),
            title_justify="left",
            box=box.SIMPLE_HEAD,
            caption=None if table.rows else Text("no rows"),
        )
        for i, column in enumerate(columns):
            rich_table.add_column(
                Text(column.header),
                justify="right" if column.numeric and i >= len(keys) else "left",
                width=None if widths is None else widths[i],
                overflow="fold",
            )
        for n in range(len(table.rows) if rows else 0):
            rich_table.add_row(*(Text(column.cells[n]) for column in columns))
        return rich_table

    def fits(columns: list[_Column], widths: list[int]) -> bool:
        # with every column's width fixed, the rows do not change the table's width
        return _width(console, build(columns, widths, "", rows=False)) <= width

    if fits(keys + kpis, [column.natural for column in keys + kpis]):
        return [build(keys + kpis, None, title)]

    # Text dimensions give way first, down to a few characters, so that at least one
    # KPI fits beside them.
    key_widths = [column.compact for column in keys]
    widest = max(kpis, key=lambda column: column.compact, default=None)
    if widest is not None:
        while not fits([*keys, widest], [*key_widths, widest.compact]):
            shrinkable = [i for i, c in enumerate(keys) if not c.numeric and key_widths[i] > 8]
            if not shrinkable:
                break
            key_widths[max(shrinkable, key=lambda i: key_widths[i])] -= 1

    chunks: list[list[_Column]] = []
    for kpi in kpis:
        if chunks:
            candidate = [*chunks[-1], kpi]
            if fits([*keys, *candidate], key_widths + [column.compact for column in candidate]):
                chunks[-1].append(kpi)
                continue
        chunks.append([kpi])
    return [
        build(
            keys + chunk,
            key_widths + [column.compact for column in chunk],
            title if number == 0 else f"{title} (continued)",
        )
        for number, chunk in enumerate(chunks or [[]])
    ]


def _print_findings(console: Console, result: Result) -> None:
    """The findings, worst first: one aligned line each, or two when the width is short."""
    from rich.padding import Padding
    from rich.table import Table as RichTable
    from rich.text import Text

    counts = dict.fromkeys(LEVELS, 0)
    for finding in result.findings:
        counts[finding.level] = counts.get(finding.level, 0) + 1
    summary = ", ".join(f"{n} {level}" for level, n in reversed(counts.items()) if n)
    console.print(Text(f"Findings ({summary})", style="bold"))

    rank = {level: i for i, level in enumerate(LEVELS)}
    findings = sorted(result.findings, key=lambda f: -rank.get(f.level, -1))
    rows = []
    for finding in findings:
        where = finding_place(finding, result.grain)
        level = Text(finding.level, style=_LEVEL_STYLES.get(finding.level, ""))
        rows.append(
            (level, Text(finding.rule), Text(" ".join(where)), Text(printable(finding.message)))
        )

    grid = RichTable(box=None, show_header=False, pad_edge=False, padding=(0, 2, 0, 0))
    for _ in range(4):
        grid.add_column(no_wrap=True)
    for row in rows:
        grid.add_row(*row)
    if _width(console, grid) <= console.width:
        console.print(grid)
        return
    indent = max(len(finding.level) for finding in findings) + 2
    for level_text, rule_text, where_text, message_text in rows:
        gap = " " * (indent - len(level_text))
        console.print(Text.assemble(level_text, gap, rule_text, "  ", where_text))
        console.print(Padding(message_text, (0, 0, 0, indent)))


def _width(console: Console, renderable: RichTable) -> int:
    """The width ``renderable`` takes when nothing wraps."""
    from rich.measure import Measurement

    unbounded = console.options.update_width(1_000_000)  # get() clamps to the max width
    return Measurement.get(console, unbounded, renderable).maximum
