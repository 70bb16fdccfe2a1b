"""Markdown output for kpiengine: ``kpi run … --format markdown``.

One GitHub-flavoured Markdown table per result table (values formatted as in the
terminal table: ``1.41%``, ``1,234.50 USD``, ``1m 05s``), each followed, when the run
compares (``--compare previous|year``), by a table of every KPI's relative change
against the period before or a year before; then the rule findings as a list:
ready to paste into a ticket, a pull request or a chat message.

A plugin like any third-party one: found through its ``kpiengine`` entry point and
using only kpiengine's public plugin API.
"""

from __future__ import annotations

import re
from typing import Any

from kpiengine import hookimpl
from kpiengine.formatting import (
    finding_place,
    format_dimension,
    format_period,
    format_value,
    partial_note,
)
from kpiengine.registry import OutputContext, OutputFormat
from kpiengine.result import LEVELS, Finding, KpiInfo, Result, Table

__all__ = ["change_table", "kpi_output_formats", "render_markdown"]


@hookimpl
def kpi_output_formats() -> list[OutputFormat]:
    """The ``markdown`` format."""
    return [
        OutputFormat(
            name="markdown",
            description="GitHub-flavoured Markdown tables and findings, for tickets and chat",
            render=render_markdown,
            extension="md",
        )
    ]


def render_markdown(result: Result, ctx: OutputContext) -> str:
    """The result as Markdown: a heading line, one table per result table, the findings."""
    lines = [_heading(result)]
    for table in result.tables:
        lines += ["", *_table(table, result.grain)]
        changes = change_table(result, table)
        if changes is not None:
            lines += ["", *_table(changes, result.grain)]
    if result.findings:
        lines += ["", "### Findings", ""]
        lines += [_finding(finding, result.grain) for finding in _worst_first(result.findings)]
    if result.notices:
        lines.append("")
        lines += [f"> **Note:** {escape(notice)}" for notice in result.notices]
    return "\n".join(lines) + "\n"


def _heading(result: Result) -> str:
    if result.date_from or result.date_to:
        dates = f"{escape(result.date_from or '…')} → {escape(result.date_to or '…')}"
    else:
        dates = "all dates"
    return f"**{escape(result.spec)}** · grain {code(result.grain)} · {dates}"


def _table(table: Table, grain: str) -> list[str]:
    title = table.name
    if table.category and table.category != table.name:
        title += f" ({table.category})"
    if table.dimensions:
        title += " by " + ", ".join(table.dimensions)
    lines = [f"### {escape(title)}", ""]
    if not table.rows:
        return [*lines, "_No rows._"]

    show_period = grain != "total" or any(row.get("period") is not None for row in table.rows)
    header: list[str] = []
    align: list[str] = []
    if show_period:
        header.append("period")
        align.append(":---")
    header += table.dimensions
    align += [":---"] * len(table.dimensions)
    header += [info.label or info.name for info in table.kpis]
    align += ["---:"] * len(table.kpis)

    lines.append(_row(header))
    lines.append("| " + " | ".join(align) + " |")
    for row in table.rows:
        cells: list[str] = []
        if show_period:
            cells.append(format_period(row.get("period"), grain))
        cells += [format_dimension(row.get(dimension)) for dimension in table.dimensions]
        cells += [format_value(row.get(info.name), info) for info in table.kpis]
        lines.append(_row(cells))
    partial = partial_note(table, grain)
    if partial:
        lines += ["", f"_{escape(partial)}_"]
    return lines


def change_table(result: Result, table: Table) -> Table | None:
    """The relative change of each KPI against the earlier period, as a table of its own.

    None when the run does not compare. The same table as the terminal output's: a
    row per period and breakdown of ``result.comparisons``, values as percentages.
    """
    if not result.compare:
        return None
    against = "the period before" if result.compare == "previous" else "a year before"
    rows: dict[tuple[Any, ...], dict[str, Any]] = {}
    for entry in result.comparisons:
        if entry.get("table") != table.name:
            continue
        key = (entry.get("period"), *(_key(entry.get(d)) for d in table.dimensions))
        row = rows.setdefault(
            key, {"period": entry.get("period"), **{d: entry.get(d) for d in table.dimensions}}
        )
        row[entry["kpi"]] = entry.get("relative_change")
    kpis = [
        KpiInfo(k.name, k.label, k.category, "percent", k.direction, decimals=1) for k in table.kpis
    ]
    name = f"{table.name}: change against {against}"
    return Table(name, name, list(table.dimensions), kpis, list(rows.values()))


def _key(value: object) -> object:
    try:
        hash(value)
    except TypeError:
        return repr(value)
    return value


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(escape(cell) or " " for cell in cells) + " |"


def _worst_first(findings: list[Finding]) -> list[Finding]:
    rank = {level: i for i, level in enumerate(LEVELS)}
    return sorted(findings, key=lambda f: -rank.get(f.level, -1))


def _finding(finding: Finding, grain: str) -> str:
    where = finding_place(finding, grain)
    context = f" ({escape(', '.join(where))})" if where else ""
    return f"- **{escape(finding.level)}** {code(finding.rule)}{context}: {escape(finding.message)}"


# Characters that Markdown would otherwise read as formatting. An underscore inside
# a word (``ad_group``) is left alone: GitHub does not read it as emphasis.
_SPECIAL = re.compile(r"[\\`*\[\]<>|]|(?<![0-9A-Za-z])_|_(?![0-9A-Za-z])")


def escape(text: str) -> str:
    """``text`` as literal Markdown on one line: formatting characters escaped."""
    text = " ".join(text.splitlines())
    return _SPECIAL.sub(lambda m: "\\" + m.group(0), text)


def code(text: str) -> str:
    """``text`` as an inline code span, fenced with enough backticks."""
    text = " ".join(text.splitlines())
    runs = [len(run) for run in re.findall(r"`+", text)]
    fence = "`" * (max(runs, default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"
