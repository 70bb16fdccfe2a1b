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


def _compared(kind: str) -> Result:
    result = make_result()
    result.compare = kind
    earlier = "2023-12-25" if kind == "previous" else "2023-01-02"
    result.comparisons = [
        {"table": "organic", "kpi": "views", "period": "2024-01-01", "earlier_period": earlier,
         "campaign": "spring", "value": 1234567, "earlier": 1000000, "change": 234567,
         "relative_change": 0.234567},
        {"table": "organic", "kpi": "engagement_rate", "period": "2024-01-01",
         "earlier_period": earlier, "campaign": "spring", "value": 0.0141, "earlier": 0.02,
         "change": -0.0059, "relative_change": -0.295},
        {"table": "organic", "kpi": "views", "period": "2024-01-08", "earlier_period": "2024-01-01",
         "campaign": "sale", "value": 0, "earlier": 0, "change": 0, "relative_change": None},
        {"table": "other", "kpi": "views", "period": "2024-01-01", "earlier_period": earlier,
         "value": 1, "earlier": 1, "change": 0, "relative_change": 0.0},
    ]  # fmt: skip
    return result


def test_change_against_the_period_before() -> None:
    text = render_markdown(_compared("previous"), CTX)
    block = text.split("| 2024-01-08 | sale | 0 | — |\n\n")[1].split("\n\n### Findings")[0]
    assert block == (
        "### organic: change against the period before by campaign\n"
        "\n"
        "| period | campaign | Views | Engagement rate |\n"
        "| :--- | :--- | ---: | ---: |\n"
        "| 2024-01-01 | spring | 23.5% | -29.5% |\n"
        "| 2024-01-08 | sale | — | — |"
    )


def test_change_against_a_year_before_and_tables_without_comparisons() -> None:
    result = _compared("year")
    result.tables.append(Table("paid", "paid", [], [SPEND], [{"period": None, "spend": 1.0}]))
    text = render_markdown(result, CTX)
    assert "### organic: change against a year before by campaign\n" in text
    assert "### paid: change against a year before\n\n_No rows._\n" in text
    assert "change against" not in render_markdown(make_result(), CTX)  # no --compare


def test_change_table_mirrors_the_terminal_output() -> None:
    from kpiengine_markdown import change_table

    from kpiengine.builtins.outputs import _change_table

    for kind in ("previous", "year"):
        result = _compared(kind)
        assert change_table(result, result.tables[0]) == _change_table(result, result.tables[0])
