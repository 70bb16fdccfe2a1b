"""The report page: one self-contained HTML document.

No script, no external resource of any kind: the styles are inline, the charts are
inline SVG, and a Content-Security-Policy of ``default-src 'none'`` makes the
browser refuse anything else, so the file opens the same with or without network.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib.resources import files

from kpiengine import __version__ as kpiengine_version
from kpiengine.formatting import (
    finding_place,
    format_dimension,
    format_period,
    format_value,
    partial_note,
)
from kpiengine.result import LEVELS, Finding, Result, Table
from kpiengine_html import charts
from kpiengine_html.markup import Markup, Node, h
from kpiengine_html.model import (
    GRAIN_NOUNS,
    Card,
    Changes,
    Pair,
    Section,
    capitalize,
    cards,
    compare_label,
    is_pair_table,
    pairs,
    periods,
    sections,
    snapshot,
)

#: Allows the inline styles and nothing else: no script, no request of any kind.
CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"

#: Column headings for the KPIs of an organic-vs-paid table, shared by every pair.
PAIR_HEADINGS = {
    "organic": "Organic",
    "paid": "Paid",
    "difference": "Organic − paid",
    "paid_per_organic": "Paid per organic",
    "ratio": "Ratio",
    "paid_share": "Paid share",
    "organic_only": "Organic only (estimate)",
}


def build_report(result: Result) -> str:
    """The whole report for ``result`` as an HTML document."""
    page = _Page(result)
    return page.document()


class _Page:
    def __init__(self, result: Result) -> None:
        self.result = result
        self.changes = Changes(result)
        self.sections = sections(result)
        # Every chart is planned first and rendered in one go (in parallel), numbered
        # in the order it appears on the page.
        self.pairs: dict[str, list[Pair]] = {}
        self.planned: dict[int, list[charts.Figure]] = {}
        order: list[charts.Figure] = []
        for section in self.sections:
            pair_tables = [t for t in section.tables if is_pair_table(t)]
            if pair_tables:
                found = [p for table in pair_tables for p in pairs(table, result)]
                self.pairs[section.anchor] = found
                share = charts.paid_share(found, result.grain)
                figures = [share] if share is not None else []
                figures += [charts.versus(pair, result.grain) for pair in found]
                self.planned[id(found)] = figures
                order += figures
            for table in section.tables:
                if not is_pair_table(table):
                    figures = charts.table_figures(table, result)
                    self.planned[id(table)] = figures
                    order += figures
        self.svgs = {
            id(figure): (number, svg)
            for number, (figure, svg) in enumerate(
                zip(order, charts.render_all(order), strict=True), start=1
            )
        }

    # ----------------------------------------------------------------- document

    def document(self) -> str:
        result = self.result
        title = f"KPI report · {result.spec}"
        head = h(
            "head",
            None,
            h("meta", {"charset": "utf-8"}),
            h("meta", {"http-equiv": "Content-Security-Policy", "content": CSP}),
            h("meta", {"name": "viewport", "content": "width=device-width, initial-scale=1"}),
            h("meta", {"name": "generator", "content": f"kpiengine {kpiengine_version}"}),
            h("title", None, title),
            h("style", None, Markup(_stylesheet())),
        )
        body = h(
            "body",
            None,
            self.header(title),
            h(
                "main",
                None,
                [self.section(section) for section in self.sections],
                self.findings(),
            ),
            h(
                "footer",
                None,
                f"Made with kpiengine {kpiengine_version}. Each chart's values are in "
                "the table under it; --format json or csv gives them unrounded.",
            ),
        )
        return "<!doctype html>\n" + h("html", {"lang": "en"}, head, body) + "\n"

    # ----------------------------------------------------------------- header

    def header(self, title: str) -> Markup:
        result = self.result
        found = sorted({p for table in result.tables for p in periods(table)})
        if result.date_from or result.date_to:
            asked = f"{result.date_from or '…'} → {result.date_to or '…'}"
        else:
            asked = "all dates"
        if found:
            noun = GRAIN_NOUNS.get(result.grain, "period")
            plural = "" if len(found) == 1 else "s"
            first, last = (format_period(p, result.grain) for p in (found[0], found[-1]))
            span = f"{len(found)} {noun}{plural}: {first} … {last}"
        else:
            span = "whole range"
        counts = dict.fromkeys(LEVELS, 0)
        for finding in result.findings:
            counts[finding.level] = counts.get(finding.level, 0) + 1
        summary = ", ".join(f"{n} {level}" for level, n in reversed(counts.items()) if n)
        facts: list[tuple[str, Node]] = [
            ("Spec", result.spec),
            ("Grain", result.grain),
            ("Range", asked),
            ("Periods", span),
            ("Compared", compare_label(result.compare)),
            (
                "Findings",
                h("a", {"href": "#findings"}, summary) if summary else "none",
            ),
        ]
        return h(
            "header",
            {"class": "report-header"},
            h("h1", None, title),
            h(
                "dl",
                {"class": "facts"},
                [
                    h("div", None, h("dt", None, name), h("dd", None, value))
                    for name, value in facts
                ],
            ),
            h(
                "ul",
                {"class": "notices"},
                [h("li", None, notice) for notice in result.notices],
            )
            if result.notices
            else None,
            h(
                "nav",
                {"aria-label": "Sections"},
                h(
                    "ul",
                    None,
                    [
                        h("li", None, h("a", {"href": f"#{s.anchor}"}, s.title))
                        for s in self.sections
                    ],
                    h("li", None, h("a", {"href": "#findings"}, "Findings")),
                ),
            ),
        )

    # ----------------------------------------------------------------- sections

    def section(self, section: Section) -> Markup:
        title_id = f"{section.anchor}-title"
        pair_tables = [t for t in section.tables if is_pair_table(t)]
        others = [t for t in section.tables if not is_pair_table(t)]
        return h(
            "section",
            {
                "id": section.anchor,
                "class": "category",
                "data-category": section.category,
                "aria-labelledby": title_id,
            },
            h("h2", {"id": title_id}, section.title),
            self.versus(self.pairs[section.anchor]) if pair_tables else None,
            [
                h("div", {"class": "small-tables"}, [self.table(t) for t in group])
                if small
                else [self.table(t) for t in group]
                for small, group in self.groups(others)
            ],
        )

    def groups(self, tables: Sequence[Table]) -> list[tuple[bool, list[Table]]]:
        """Runs of tables, small ones (a chart, no cards) apart: those sit side by side."""
        runs: list[tuple[bool, list[Table]]] = []
        for table in tables:
            small = len(self.planned[id(table)]) == 1 and not cards(
                table, self.result, self.changes
            )
            if runs and runs[-1][0] == small:
                runs[-1][1].append(table)
            else:
                runs.append((small, [table]))
        return runs

    def table(self, table: Table) -> Markup:
        grain = self.result.grain
        title = _table_title(table)
        table_cards = cards(table, self.result, self.changes)
        figures = self.planned[id(table)]
        if not table.rows:
            body: Node = h("p", {"class": "muted"}, "No rows.")
        else:
            partial = partial_note(table, grain)
            body = [
                h("p", {"class": "partial muted"}, capitalize(partial)) if partial else None,
                self.cards(table_cards) if table_cards else None,
                h(
                    "p",
                    {"class": "muted"},
                    f"Broken down by {', '.join(table.dimensions)}: "
                    "the charts and the table below show each value.",
                )
                if table.dimensions and not figures
                else None,
                self.figure_grid(figures),
                None
                if _charted_in_full(table, figures)
                else self.values(table, grain, open_=not figures and not table_cards),
            ]
        return h(
            "article",
            {"class": "result-table", "data-table": table.name},
            h("h3", None, title),
            body,
        )

    def cards(self, found: Sequence[Card]) -> Markup:
        same_when = len({card.when for card in found}) == 1
        return h(
            "div",
            {"class": "cards-block"},
            h("p", {"class": "cards-when muted"}, _cards_caption(found, same_when)),
            h("div", {"class": "cards"}, [_card(card, not same_when) for card in found]),
        )

    def figure_grid(self, figures: Sequence[charts.Figure]) -> Node:
        if not figures:
            return None
        return h("div", {"class": "figures"}, [self.figure(figure) for figure in figures])

    def figure(self, figure: charts.Figure) -> Markup:
        number, svg = self.svgs[id(figure)]
        return h(
            "figure",
            {"class": "chart", "data-kind": figure.kind, "id": f"chart-{number}"},
            h(
                "figcaption",
                None,
                h("span", {"class": "chart-title"}, figure.title),
                " ",
                h("span", {"class": "muted"}, figure.note),
            ),
            h("div", {"class": "chart-box"}, svg),
            [h("p", {"class": "chart-note"}, note) for note in figure.notes],
            h(
                "details",
                {"class": "data"},
                h("summary", None, "Data"),
                _data_table(figure.table, f"{figure.title}, {figure.note}"),
            ),
        )

    def values(self, table: Table, grain: str, *, open_: bool) -> Markup:
        """Every row of the table, formatted: the accessible form of all the charts."""
        show_period = any(row.get("period") is not None for row in table.rows)
        head = (["period"] if show_period else []) + list(table.dimensions)
        head += [info.label or info.name for info in table.kpis]
        rows = [
            [
                *([format_period(row.get("period"), grain)] if show_period else []),
                *(format_dimension(row.get(d)) for d in table.dimensions),
                *(format_value(row.get(info.name), info) for info in table.kpis),
            ]
            for row in table.rows[:_MAX_ROWS]
        ]
        keys = (1 if show_period else 0) + len(table.dimensions)
        caption = f"All values: {_table_title(table)}"
        more = len(table.rows) - len(rows)
        return h(
            "details",
            {"class": "data all-values", "open": open_},
            h("summary", None, f"All values ({len(table.rows)} rows)"),
            _data_table(charts.DataTable(head, rows), caption, keys=max(keys, 1)),
            h(
                "p",
                {"class": "muted"},
                f"The first {len(rows)} rows are shown; --format csv writes all {len(table.rows)}.",
            )
            if more > 0
            else None,
        )

    # ----------------------------------------------------------------- organic vs paid

    def versus(self, found: list[Pair]) -> Markup:
        grain = self.result.grain
        names = list(dict.fromkeys(name for pair in found for name in pair.infos))
        when = {snapshot(pair.table, grain).label for pair in found}
        rows = []
        for pair in found:
            row = _pair_snapshot(pair)
            rows.append(
                [
                    pair.label,
                    *(
                        format_value(row.get(name), pair.infos[name]) if name in pair.infos else "—"
                        for name in names
                    ),
                ]
            )
        head = ["", *(PAIR_HEADINGS.get(name, _label(found, name)) for name in names)]
        figures = self.planned[id(found)]
        caption = "Organic against paid, " + (when.pop() if len(when) == 1 else "by table")
        return h(
            "article",
            {"class": "result-table versus"},
            h("h3", None, capitalize(caption)),
            h(
                "div",
                {"class": "table-scroll"},
                _data_table(charts.DataTable(head, rows), caption),
            ),
            h(
                "p",
                {"class": "muted"},
                "Organic only is an estimate: TikTok's organic counts include paid "
                "activity, so it is the organic number minus the paid one.",
            )
            if "organic_only" in names
            else None,
            self.figure_grid(figures),
        )

    # ----------------------------------------------------------------- findings

    def findings(self) -> Markup:
        result = self.result
        rank = {level: i for i, level in enumerate(LEVELS)}
        found = sorted(result.findings, key=lambda f: -rank.get(f.level, -1))
        if not found:
            content: Node = h("p", {"class": "muted"}, "No rule findings.")
        else:
            content = h(
                "div",
                {"class": "table-scroll"},
                h(
                    "table",
                    {"class": "findings"},
                    h("caption", {"class": "visually-hidden"}, "Rule findings, worst first"),
                    h(
                        "thead",
                        None,
                        h(
                            "tr",
                            None,
                            [
                                h("th", {"scope": "col"}, name)
                                for name in ("Level", "Rule", "Where", "Value", "Message")
                            ],
                        ),
                    ),
                    h("tbody", None, [self.finding(f) for f in found]),
                ),
            )
        return h(
            "section",
            {"id": "findings", "class": "category", "aria-labelledby": "findings-title"},
            h("h2", {"id": "findings-title"}, "Findings"),
            content,
        )

    def finding(self, finding: Finding) -> Markup:
        grain = self.result.grain
        where = finding_place(finding, grain)
        info = self.result.kpi(finding.kpi)
        value = format_value(finding.value, info) if info else format_dimension(finding.value)
        level = finding.level if finding.level in LEVELS else "info"
        return h(
            "tr",
            {"class": f"level-{level}"},
            h("td", None, h("span", {"class": f"badge level-{level}"}, finding.level)),
            h("td", None, h("code", None, finding.rule)),
            h("td", None, " ".join(where) or "—"),
            h("td", {"class": "num"}, value),
            h("td", None, finding.message),
        )


_MAX_ROWS = 500


def _stylesheet() -> str:
    return files("kpiengine_html").joinpath("report.css").read_text(encoding="utf-8")


def _table_title(table: Table) -> str:
    title = table.name
    breakdown = "by " + ", ".join(table.dimensions)
    if table.dimensions and breakdown not in title.lower():
        title += " " + breakdown
    return capitalize(title)


def _charted_in_full(table: Table, figures: Sequence[charts.Figure]) -> bool:
    """Whether the charts' data tables already hold every value of ``table``."""
    complete = {figure.kpi for figure in figures if figure.complete}
    return bool(table.kpis) and all(info.name in complete for info in table.kpis)


def _label(found: Sequence[Pair], name: str) -> str:
    for pair in found:
        if name in pair.infos:
            return pair.infos[name].label or name
    return name


def _pair_snapshot(pair: Pair) -> dict[str, object]:
    overall = [r for r in pair.rows if r.get("period") is None]
    if overall:
        return overall[0]
    dated = sorted(pair.rows, key=lambda r: str(r.get("period")))
    return dated[-1] if dated else {}


def _cards_caption(found: Sequence[Card], same_when: bool) -> str:
    """What the cards show: "Latest week (2026-09-28), against the week before (…)"."""
    against = next((card.against for card in found if card.against), "")
    if not same_when:
        return capitalize(f"against {against}") if against else ""
    when = found[0].when
    return capitalize(f"{when}, against {against}" if against else when)


def _card(card: Card, show_when: bool) -> Markup:
    info = card.info
    return h(
        "div",
        {"class": f"card mood-{card.mood}", "data-kpi": info.name},
        h(
            "div",
            {"class": "card-label", "title": info.description or None},
            info.label or info.name,
        ),
        h("div", {"class": "card-value"}, card.value_text),
        h("div", {"class": "card-when"}, capitalize(card.when)) if show_when else None,
        h(
            "div",
            {"class": "card-change"},
            h(
                "span",
                {"class": "change", "aria-label": _change_words(card)},
                f"{card.arrow} {card.change_text}".strip(),
            )
            if card.arrow
            else None,
            h("span", {"class": "earlier"}, f"was {card.earlier_text}"),
        )
        if card.against
        else None,
    )


def _change_words(card: Card) -> str:
    way = {"↑": "up", "↓": "down", "→": "unchanged"}.get(card.arrow, "")
    verdict = {"good": ", better", "bad": ", worse"}.get(card.mood, "")
    return f"{way} {card.change_text}{verdict}".strip()


def _data_table(table: charts.DataTable, caption: str, *, keys: int = 1) -> Markup:
    """``table`` as an HTML table: its first ``keys`` columns are row headers."""
    return h(
        "table",
        {"class": "data-table"},
        h("caption", {"class": "visually-hidden"}, caption),
        h(
            "thead",
            None,
            h(
                "tr",
                None,
                [
                    h("th", {"scope": "col", "class": None if i < keys else "num"}, name)
                    for i, name in enumerate(table.head)
                ],
            ),
        ),
        h(
            "tbody",
            None,
            [
                h(
                    "tr",
                    None,
                    [
                        h("th", {"scope": "row"}, cell) if i < keys else h("td", None, cell)
                        for i, cell in enumerate(row)
                    ],
                )
                for row in table.rows
            ],
        ),
    )
