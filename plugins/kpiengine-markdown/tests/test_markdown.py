"""The markdown output plugin, exercised as an installed plugin."""

from __future__ import annotations

from importlib.metadata import entry_points

import kpiengine_markdown
import pluggy
import pytest
from kpiengine_markdown import code, escape, render_markdown

from kpiengine import hookspecs
from kpiengine.registry import OutputContext
from kpiengine.result import Finding, KpiInfo, Result, Table

VIEWS = KpiInfo("views", "Views", "organic", "number", "higher")
ER = KpiInfo("engagement_rate", "Engagement rate", "organic", "percent", "higher")
SPEND = KpiInfo("spend", "Spend", "paid", "currency", "none", currency="USD")

CTX = OutputContext()


def make_result() -> Result:
    organic = Table(
        name="organic",
        category="organic",
        dimensions=["campaign"],
        kpis=[VIEWS, ER],
        rows=[
            {"period": "2024-01-01", "campaign": "spring", "views": 1234567,
             "engagement_rate": 0.0141},
            {"period": "2024-01-08", "campaign": "sale", "views": 0, "engagement_rate": None},
        ],
    )  # fmt: skip
    return Result(
        spec="tiktok",
        grain="week",
        date_from="2024-01-01",
        date_to="2024-01-14",
        tables=[organic],
        findings=[
            Finding("low_engagement", "engagement_rate", "warn", "Engagement rate fell to 1.41%",
                    "2024-01-01", {"campaign": "spring"}, 0.0141),
            Finding("no_views", "views", "error", "No views at all", "2024-01-08",
                    {"campaign": "sale"}, 0),
        ],
    )  # fmt: skip


def test_renders_the_documented_markdown() -> None:
    # the example in README.md
    assert render_markdown(make_result(), CTX) == (
        "**tiktok** · grain `week` · 2024-01-01 → 2024-01-14\n"
        "\n"
        "### organic by campaign\n"
        "\n"
        "| period | campaign | Views | Engagement rate |\n"
        "| :--- | :--- | ---: | ---: |\n"
        "| 2024-01-01 | spring | 1,234,567 | 1.41% |\n"
        "| 2024-01-08 | sale | 0 | — |\n"
        "\n"
        "### Findings\n"
        "\n"
        "- **error** `no_views` (2024-01-08, campaign=sale): No views at all\n"
        "- **warn** `low_engagement` (2024-01-01, campaign=spring): Engagement rate fell to 1.41%\n"
    )


def test_table_rows_have_as_many_cells_as_the_header() -> None:
    result = make_result()
    result.tables.append(
        Table("paid", "paid", ["campaign", "country"], [SPEND],
              [{"period": "2024-01-01", "campaign": "a|b", "country": None, "spend": -12.5}])
    )  # fmt: skip
    text = render_markdown(result, CTX)
    block = text.split("### paid by campaign, country\n\n")[1].split("\n\n")[0].splitlines()
    assert block == [
        "| period | campaign | country | Spend |",
        "| :--- | :--- | :--- | ---: |",
        "| 2024-01-01 | a\\|b | — | -12.50 USD |",
    ]


def test_grain_total_has_no_period_column_and_empty_tables_say_so() -> None:
    result = Result(
        "s", "total", None, None,
        tables=[Table("organic", "organic", [], [VIEWS], [{"period": None, "views": 7}]),
                Table("paid", "Paid ads", [], [SPEND], [])],
        notices=["the ads export ends on 2024-01-10"],
    )  # fmt: skip
    assert render_markdown(result, CTX) == (
        "**s** · grain `total` · all dates\n"
        "\n"
        "### organic\n"
        "\n"
        "| Views |\n"
        "| ---: |\n"
        "| 7 |\n"
        "\n"
        "### paid (Paid ads)\n"
        "\n"
        "_No rows._\n"
        "\n"
        "> **Note:** the ads export ends on 2024-01-10\n"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ad_group", "ad_group"),
        ("_hidden_", "\\_hidden\\_"),
        ("a*b*c", "a\\*b\\*c"),
        ("[link](x)", "\\[link\\](x)"),
        ("<script>", "\\<script\\>"),
        ("a|b", "a\\|b"),
        ("back\\slash", "back\\\\slash"),
        ("`tick`", "\\`tick\\`"),
        ("two\nlines", "two lines"),
    ],
)
def test_escape(text: str, expected: str) -> None:
    assert escape(text) == expected


def test_code_spans_fence_backticks() -> None:
    assert code("rule") == "`rule`"
    assert code("a`b") == "``a`b``"
    assert code("`x`") == "`` `x` ``"


def test_the_hook_matches_the_spec() -> None:
    pm = pluggy.PluginManager("kpiengine")
    pm.add_hookspecs(hookspecs)
    pm.register(kpiengine_markdown, "markdown")
    pm.check_pending()
    provided = [fmt for group in pm.hook.kpi_output_formats() for fmt in group]
    assert [fmt.name for fmt in provided] == ["markdown"]
    assert provided[0].render(make_result(), CTX) == render_markdown(make_result(), CTX)


def test_is_installed_as_a_kpiengine_plugin() -> None:
    (entry_point,) = entry_points(group="kpiengine", name="markdown")
    assert entry_point.value == "kpiengine_markdown"
    assert entry_point.load() is kpiengine_markdown
    assert entry_point.dist is not None
    assert entry_point.dist.name == "kpiengine-markdown"
