"""HTML report output for kpiengine: ``kpi run … --format html -o report.html``.

One self-contained HTML file: a header (spec, grain, range, comparison), a section
per category (organic, paid, audience, organic vs paid, then any other) with KPI
cards and their change against the earlier period, trend charts, organic-vs-paid
charts, distribution bars and activity-by-hour heat maps, then the rule findings.
Charts are rendered to inline SVG when the report is built (altair and
vl-convert), so the file needs no network, no script and no chart library to open.

A plugin like any third-party one: found through its ``kpiengine`` entry point and
using only kpiengine's public plugin API. The chart libraries are imported only
when a report is rendered, so that loading the plugin stays cheap.
"""

from __future__ import annotations

from kpiengine import hookimpl
from kpiengine.registry import OutputContext, OutputFormat
from kpiengine.result import Result

__all__ = ["kpi_output_formats", "render_html"]


@hookimpl
def kpi_output_formats() -> list[OutputFormat]:
    """The ``html`` format."""
    return [
        OutputFormat(
            name="html",
            description="one self-contained HTML report: KPI cards, charts, findings",
            render=render_html,
            extension="html",
        )
    ]


def render_html(result: Result, ctx: OutputContext) -> str:
    """The result as one self-contained HTML document (see the module docstring)."""
    from kpiengine_html.page import build_report

    return build_report(result)
