"""The html output plugin on hand-built results: structure, cards, formatting, escaping."""

from __future__ import annotations

import datetime as dt
import math
import re
from decimal import Decimal
from importlib.metadata import entry_points
from typing import Any

import kpiengine_html
import pluggy
import pytest
from html_dom import Node, parse
from html_sample import HOSTILE, QUOTES, UNICODE, VIEWS, WEEKS, rich_result
from kpiengine_html import charts, render_html
from kpiengine_html.markup import Markup, h, render
from kpiengine_html.model import Pair, direction_mood, natural_order

from kpiengine import hookspecs
from kpiengine.registry import OutputContext
from kpiengine.result import Finding, KpiInfo, Result, Table

CTX = OutputContext()


@pytest.fixture(scope="module")
def report() -> str:
    return render_html(rich_result(), CTX)


@pytest.fixture(scope="module")
def dom(report: str) -> Node:
    return parse(report)


def _article(dom: Node, table: str) -> Node:
    return dom.find("article", data_table=table)


def _figure(scope: Node, title: str) -> Node:
    for figure in scope.find_all("figure", cls="chart"):
        if figure.find("span", cls="chart-title").text == title:
            return figure
    raise AssertionError(f"no chart titled {title!r}")


# --------------------------------------------------------------------------- plugin


def test_is_installed_as_a_kpiengine_plugin() -> None:
    (entry_point,) = entry_points(group="kpiengine", name="html")
    assert entry_point.value == "kpiengine_html"
    assert entry_point.load() is kpiengine_html
    assert entry_point.dist is not None
    assert entry_point.dist.name == "kpiengine-html"


def test_the_hook_matches_the_spec() -> None:
    pm = pluggy.PluginManager("kpiengine")
    pm.add_hookspecs(hookspecs)
    pm.register(kpiengine_html, "html")
    pm.check_pending()
    (fmt,) = [fmt for group in pm.hook.kpi_output_formats() for fmt in group]
    assert (fmt.name, fmt.extension) == ("html", "html")
    result = Result("s", "total", None, None)
    assert fmt.render(result, CTX) == render_html(result, CTX)


def test_loading_the_plugin_does_not_import_the_chart_libraries() -> None:
    import subprocess
    import sys

    code = (
        "import sys, kpiengine_html; "
        "print(sorted(m for m in ('altair', 'vl_convert') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# --------------------------------------------------------------------------- document


def test_one_self_contained_document(report: str, dom: Node) -> None:
    assert report.startswith("<!doctype html>\n")
    (html,) = dom.find_all("html")
    assert html.attrs["lang"] == "en"
    csp = dom.find("meta", http_equiv="Content-Security-Policy").attrs["content"] or ""
    assert "default-src 'none'" in csp
    assert "script-src" not in csp  # nothing may run
    # Nothing to fetch: no script, stylesheet link, image, frame, font or import.
    for tag in ("script", "link", "img", "iframe", "object", "embed", "image", "foreignobject"):
        assert not dom.find_all(tag), tag
    for node in dom.iter():
        for name, value in node.attrs.items():
            assert not name.startswith("on"), (node.tag, name)
            if name in ("href", "xlink:href"):
                assert (value or "").startswith("#"), value
            assert name != "src"
    namespaces = {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}
    assert set(re.findall(r"https?://[^\s\"'<>)]+", report)) <= namespaces
    assert re.findall(r"url\((?!#)", report) == []
    assert "@import" not in report
    assert "@font-face" not in report


def test_ids_are_unique_and_links_resolve(dom: Node) -> None:
    ids = [node.attrs["id"] for node in dom.iter() if node.attrs.get("id")]
    assert len(ids) == len(set(ids))
    references = 0
    for node in dom.iter():
        for name, value in node.attrs.items():
            targets = re.findall(r"url\(#([^)]+)\)", value or "")
            if name in ("href", "xlink:href"):
                targets.append((value or "")[1:])
            for target in targets:
                assert target in ids, value
                references += 1
    assert references > 5  # the nav's links, the charts' clip paths


def test_sections_in_order_then_findings(dom: Node) -> None:
    main = dom.find("main")
    sections = [n for n in main.children if isinstance(n, Node) and n.tag == "section"]
    assert [s.attrs.get("data-category") for s in sections] == [
        "organic", "paid", "audience", "comparison", "retention", None,
    ]  # fmt: skip
    assert [s.find("h2").text for s in sections] == [
        "Organic", "Paid", "Audience", "Organic vs paid", "Retention", "Findings",
    ]  # fmt: skip
    nav = [(a.attrs["href"], a.text) for a in dom.find("nav").find_all("a")]
    assert nav == [(f"#{s.attrs['id']}", s.find("h2").text) for s in sections]


def test_header_says_what_was_run(dom: Node) -> None:
    header = dom.find("header")
    facts = {div.find("dt").text: div.find("dd").text for div in header.find("dl").find_all("div")}
    assert facts == {
        "Spec": f"tiktok {HOSTILE}",
        "Grain": "week",
        "Range": f"{WEEKS[0]} → 2026-08-30",
        "Periods": f"8 weeks: {WEEKS[0]} … {WEEKS[-1]}",
        "Compared": "against the period before",
        "Findings": "1 error, 1 warn, 1 info",
    }
    assert dom.find("title").text == f"KPI report · tiktok {HOSTILE}"
    assert [li.text for li in header.find("ul", cls="notices").find_all("li")] == [
        f"notice with {QUOTES}"
    ]


# --------------------------------------------------------------------------- cards


def _cards(article: Node) -> dict[str, dict[str, Any]]:
    found = {}
    for card in article.find_all("div", cls="card"):
        change = card.find_all("span", cls="change")
        earlier = card.find_all("span", cls="earlier")
        found[card.find("div", cls="card-label").text] = {
            "value": card.find("div", cls="card-value").text,
            "change": change[0].text if change else None,
            "mood": next(c for c in card.classes if c.startswith("mood-")),
            "earlier": earlier[0].text if earlier else None,
        }
    return found


def test_cards_show_the_latest_period_with_its_change(dom: Node) -> None:
    organic = _article(dom, "organic")
    assert organic.find("p", cls="cards-when").text == (
        f"Latest week ({WEEKS[-1]}), against the week before ({WEEKS[-2]})"
    )
    assert _cards(organic) == {
        "Video views": {"value": "20,500", "change": "↑ +7.9%", "mood": "mood-good",
                        "earlier": "was 19,000"},
        "Engagement rate": {"value": "4.00%", "change": "↓ -35.5%", "mood": "mood-bad",
                            "earlier": "was 6.20%"},
        "Average watch time": {"value": "15.5s", "change": "↑ +6.9%", "mood": "mood-good",
                               "earlier": "was 14.5s"},
        "Followers": {"value": "12,280", "change": "↑ +0.3%", "mood": "mood-good",
                      "earlier": "was 12,240"},
    }  # fmt: skip
    change = organic.find("span", cls="change")
    assert change.attrs["aria-label"] == "up +7.9%, better"


def test_cards_skip_a_last_week_the_data_covers_in_part() -> None:
    rows = [{"period": w, "organic_views": 1000 + n} for n, w in enumerate(WEEKS)]
    organic = Table("organic", "organic", [], [VIEWS], rows)
    organic.data_from, organic.data_to = WEEKS[0], "2026-08-26"  # a Wednesday
    organic.partial_periods = [WEEKS[-1]]
    result = Result("s", "week", None, None, tables=[organic])
    article = _article(parse(render_html(result, CTX)), "organic")
    assert article.find("p", cls="partial").text == (
        f"Partial week: {WEEKS[-1]} (the data covers {WEEKS[0]} … 2026-08-26)"
    )
    assert article.find("p", cls="cards-when").text == f"Latest complete week ({WEEKS[-2]})"
    assert _cards(article)["Video views"]["value"] == "1,006"
    # When every period is partial, the latest one, said to be partial.
    organic.partial_periods = list(WEEKS)
    article = _article(parse(render_html(result, CTX)), "organic")
    assert article.find("p", cls="cards-when").text == f"Latest week ({WEEKS[-1]}, partial)"
    assert _cards(article)["Video views"]["value"] == "1,007"


def test_cards_without_a_comparison_and_for_the_whole_range(dom: Node) -> None:
    retention = _article(dom, "retention")
    assert retention.find("p", cls="cards-when").text == f"Latest week ({WEEKS[-1]})"
    assert _cards(retention) == {
        "Session length": {"value": "3m 55s", "change": None, "mood": "mood-neutral",
                           "earlier": None},
        "Churn rate": {"value": "1.30%", "change": None, "mood": "mood-neutral", "earlier": None},
    }  # fmt: skip
    costs = _article(dom, "Organic vs paid: paid costs")  # a row with no period: whole range
    assert costs.find("p", cls="cards-when").text == "Whole range"
    assert _cards(costs)["Cost per view"]["value"] == "0.0135 EUR"
    assert not _article(dom, "paid").find_all("div", cls="card")  # broken down: no cards


@pytest.mark.parametrize(
    ("direction", "delta", "mood"),
    [
        ("higher", 1.0, "good"),
        ("higher", -1.0, "bad"),
        ("lower", -0.5, "good"),  # cost per acquisition fell
        ("lower", 0.5, "bad"),
        ("none", 3.0, "neutral"),
        ("higher", 0.0, "neutral"),
    ],
)
def test_direction_decides_whether_a_change_is_good(
    direction: str, delta: float, mood: str
) -> None:
    assert direction_mood(direction, delta) == mood


def test_grain_total_against_a_year_before() -> None:
    cpa = KpiInfo("cpa", "CPA", "paid", "currency", "lower", currency="USD")
    result = Result(
        "s", "total", "2026-01-01", "2026-03-31",
        tables=[Table("paid", "paid", [], [cpa], [{"period": None, "cpa": 18.5}])],
        comparisons=[{"table": "paid", "kpi": "cpa", "period": None, "earlier_period": None,
                      "value": 18.5, "earlier": 20.0, "change": -1.5, "relative_change": -0.075}],
        compare="year",
    )  # fmt: skip
    dom = parse(render_html(result, CTX))
    paid = _article(dom, "paid")
    assert paid.find("p", cls="cards-when").text == "Whole range, against a year before"
    assert _cards(paid) == {
        "CPA": {"value": "18.50 USD", "change": "↓ -7.5%", "mood": "mood-good",
                "earlier": "was 20.00 USD"},
    }  # fmt: skip
    assert not paid.find_all("figure")  # one row: nothing to chart, the values are shown
    values = paid.find("details", cls="all-values")  # folded: the cards say it all
    assert "open" not in values.attrs
    assert values.find("table").rows() == [["CPA"], ["18.50 USD"]]


def test_a_change_without_a_relative_change_shows_the_absolute_one() -> None:
    growth = KpiInfo("follower_growth", "Follower growth", "organic", "number", "higher")
    result = Result(
        "s", "week", None, None,
        tables=[Table("organic", "organic", [], [growth],
                      [{"period": "2026-01-05", "follower_growth": 12}])],
        comparisons=[{"table": "organic", "kpi": "follower_growth", "period": "2026-01-05",
                      "earlier_period": "2025-12-29", "value": 12, "earlier": 0, "change": 12,
                      "relative_change": None}],
        compare="previous",
    )  # fmt: skip
    card = _cards(_article(parse(render_html(result, CTX)), "organic"))["Follower growth"]
    assert card == {"value": "12", "change": "↑ +12", "mood": "mood-good", "earlier": "was 0"}


# --------------------------------------------------------------------------- charts


def test_every_table_shape_gets_its_charts(dom: Node) -> None:
    def kinds(article: Node) -> list[str]:
        return [f.attrs["data-kind"] or "" for f in article.find_all("figure", cls="chart")]

    assert kinds(_article(dom, "organic")) == ["trend"] * 4
    assert kinds(_article(dom, "paid")) == ["trend"] * 3
    for name in (
        "follower share by gender",
        "follower share by territory",
        "follower share by age",
    ):
        assert kinds(_article(dom, name)) == ["bars"]
    assert kinds(_article(dom, "follower activity")) == ["heatmap"]
    assert kinds(_article(dom, "activity by hour")) == ["heatmap"]
    versus = dom.find("article", cls="versus")
    assert kinds(versus) == ["share", "versus", "versus", "versus", "versus"]
    assert kinds(_article(dom, "retention")) == ["trend", "trend"]
    for figure in dom.find_all("figure", cls="chart"):
        svg = figure.find("svg")
        assert svg.attrs["role"] == "img"
        assert svg.attrs["aria-label"]
        assert figure.find_all("path") or figure.find_all("rect")
        assert figure.find("details", cls="data").find("table").rows()[1:]  # data under it


def test_axes_follow_the_kpi_format(dom: Node) -> None:
    organic = _article(dom, "organic")
    rate = _figure(organic, "Engagement rate")
    labels = [t.text for t in rate.find("svg").find_all("text")]
    assert "6%" in labels
    assert "0%" not in labels
    assert _figure(_article(dom, "paid"), "Spend (EUR)")  # currency code in the title
    session = _figure(_article(dom, "retention"), "Session length (minutes)")
    assert session.find("details").find("table").rows()[1] == [WEEKS[0], "1m 35s"]
    views = _figure(organic, "Video views")
    assert {"10k", "20k"} <= {t.text for t in views.find("svg").find_all("text")}


def test_values_are_formatted_by_their_kpi(dom: Node) -> None:
    paid = _article(dom, "paid")
    spend = _figure(paid, "Spend (EUR)").find("details").find("table").rows()
    # the largest spender first, in every chart of the table
    assert spend[0] == ["period", UNICODE, QUOTES, HOSTILE, "Summer Sale"]
    assert spend[1] == [WEEKS[0], "400.00 EUR", "300.00 EUR", "200.00 EUR", "100.00 EUR"]
    ctr = _figure(paid, "Click-through rate").find("details").find("table").rows()
    assert ctr[0] == spend[0]
    assert ctr[1][3:] == ["0.50%", "0.40%"]
    versus = dom.find("article", cls="versus")
    summary = versus.find("table").rows()
    assert summary[0] == ["", "Organic", "Paid", "Organic − paid", "Paid per organic",
                          "Paid share", "Organic only (estimate)", "Ratio"]  # fmt: skip
    assert summary[1] == ["Views", "122,000", "29,600", "92,400", "0.24", "24.26%", "92,400", "—"]
    # a metric named after a KPI takes that KPI's format
    assert summary[4] == ["Engagement rate", "5.10%", "0.61%", "4.49%", "—", "—", "—", "0.12"]
    assert summary[3][:3] == ["Likes", "4,800", "1,200"]


def test_distribution_bars_order_and_limit(dom: Node) -> None:
    age = _figure(_article(dom, "follower share by age"), "Follower share")
    assert [row[0] for row in age.find("details").find("table").rows()[1:]] == [
        "13-17", "18-24", "25-34", "35-44", "45-54", "55+",
    ]  # fmt: skip
    territory = _article(dom, "follower share by territory")
    figure = _figure(territory, "Follower share")
    rows = figure.find("details").find("table").rows()[1:]
    assert len(rows) == charts.MAX_BARS
    assert rows[0] == ["US", "30.00%"]
    assert figure.find("p", cls="chart-note").text == "The 15 largest of 17 values are drawn."
    # the values left out of the chart are still in the table of all values
    everything = territory.find("details", cls="all-values").find("table").rows()
    assert [HOSTILE, "1.76%"] in everything


def test_heat_map_by_weekday_and_hour(dom: Node) -> None:
    figure = _figure(_article(dom, "follower activity"), "Active followers")
    rows = figure.find("details").find("table").rows()
    assert rows[0] == ["weekday", *(str(hour) for hour in range(24))]
    assert [row[0] for row in rows[1:]] == [
        "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday",
    ]  # fmt: skip
    assert rows[1][1 + 20] == "1,500"
    assert figure.find("p", cls="chart-note").text == "Best hours (highest on average): 20, 19, 21."
    assert len(figure.find("svg").find_all("path")) >= 7 * 24  # a cell per weekday and hour


def test_specs_are_valid_vega_lite(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(charts, "VALIDATE", True)
    result = rich_result()
    for table in result.tables:
        for figure in charts.table_figures(table, result):  # raises on a schema error
            assert figure.spec["config"]["aria"] is False


def test_long_series_are_thinned_and_many_series_limited() -> None:
    views = KpiInfo("views", "Views", "organic", "number", "higher")
    start = dt.date(2024, 1, 1)
    days = [start + dt.timedelta(days=n) for n in range(1000)]
    campaigns = [f"campaign {n}" for n in range(12)]
    rows = [
        {"period": day, "campaign": c, "views": n * 10 + i}
        for n, day in enumerate(days)
        for i, c in enumerate(campaigns)
    ]
    result = Result("s", "day", None, None, tables=[Table("t", "x", ["campaign"], [views], rows)])
    (figure,) = charts.table_figures(result.tables[0], result)
    data = figure.table.rows
    assert len(data) <= charts.MAX_POINTS + 1
    assert data[0][0] == "2024-01-01"
    assert data[-1][0] == days[-1].isoformat()
    assert figure.table.head == ["period", *campaigns[::-1][: charts.MAX_SERIES]]  # largest
    assert figure.notes == [
        "The 8 largest of 12 campaign values are drawn.",
        "Every 3rd day of 1000 is shown.",
    ]
    assert not figure.complete
    report = render_html(result, CTX)
    assert len(report.encode()) < 2_000_000
    assert "The first 500 rows are shown" in report


def test_odd_values_do_not_break_the_report() -> None:
    rate = KpiInfo("rate", "Rate", "organic", "percent", "higher")
    spend = KpiInfo("spend", "Spend", "paid", "currency", "none", currency="USD")
    rows: list[dict[str, Any]] = [
        {"period": dt.date(2026, 1, 5), "rate": Decimal("0.125"), "spend": Decimal("10.50")},
        {"period": dt.date(2026, 1, 12), "rate": math.nan, "spend": None},
        {"period": dt.date(2026, 1, 19), "rate": math.inf, "spend": 3},
    ]
    empty_kpi = KpiInfo("never", "Never", "organic", "number", "higher")
    result = Result(
        "s", "week", None, None,
        tables=[Table("t", "organic", [], [rate, spend, empty_kpi],
                      [{**row, "never": None} for row in rows]),
                Table("empty", "paid", ["campaign"], [spend], [])],
    )  # fmt: skip
    dom = parse(render_html(result, CTX))
    table = _article(dom, "t")
    assert [f.find("span", cls="chart-title").text for f in table.find_all("figure")] == [
        "Rate", "Spend (USD)",
    ]  # fmt: skip  # no chart for a KPI without a value
    assert _figure(table, "Rate").find("table").rows()[1:] == [
        ["2026-01-05", "12.50%"], ["2026-01-12", "—"], ["2026-01-19", "∞"],
    ]  # fmt: skip
    assert _cards(table)["Spend"]["value"] == "3.00 USD"
    assert _article(dom, "empty").find("p").text == "No rows."


def test_an_empty_result() -> None:
    dom = parse(render_html(Result("s", "total", None, None), CTX))
    assert dom.find("section", id="findings").find("p").text == "No rule findings."
    assert not dom.find_all("figure")


# --------------------------------------------------------------------------- escaping


def test_data_is_never_markup(report: str, dom: Node) -> None:
    assert "<script" not in report.lower()
    assert "<img" not in report.lower()
    assert "onerror=" not in report.replace("onerror=alert(1)&gt;", "")
    assert not dom.find_all("script")
    assert not dom.find_all("img")
    texts = [node for node in dom.iter() if HOSTILE in node.text and node.tag in ("td", "th")]
    assert texts, "the campaign name is shown, as text"
    # in the charts' own text (legends, labels) as well
    svg_texts = {t.text for t in dom.find_all("text")}
    assert HOSTILE in svg_texts
    assert QUOTES in svg_texts
    assert UNICODE in svg_texts
    findings = dom.find("table", cls="findings").rows()
    assert findings[1:] == [
        ["error", "engagement_fell", WEEKS[-1], "4.00%",
         "Engagement rate fell by 21.6% <img src=x onerror=alert(1)>"],
        ["warn", "cpa_above_target", f"{WEEKS[-1]} campaign={HOSTILE}", "41.50 EUR",
         f"CPA above target for {HOSTILE}"],
        ["info", "note", WEEKS[-1], "20,500", f"Views of {UNICODE} are up"],
    ]  # fmt: skip


def test_names_in_attributes_are_escaped() -> None:
    label = f'{QUOTES} "><script>x</script>'
    info = KpiInfo("k", label, "organic", "number", "higher", description=f"desc {HOSTILE}")
    result = Result(
        label, "total", None, None,
        tables=[Table(f't"{HOSTILE}', f"cat {QUOTES}", [], [info], [{"period": None, "k": 1}])],
        findings=[Finding(label, "k", f"lvl{HOSTILE}", label, None, {"d": label}, 1)],
    )  # fmt: skip
    report = render_html(result, CTX)
    assert "<script" not in report
    dom = parse(report)
    assert dom.find("article").attrs["data-table"] == f't"{HOSTILE}'
    card = dom.find("div", cls="card")
    assert card.find("div", cls="card-label").attrs["title"] == f"desc {HOSTILE}"
    assert card.find("div", cls="card-label").text == label
    assert dom.find("section", cls="category").find("h2").text == f"Cat {QUOTES}"
    (row,) = dom.find("table", cls="findings").rows()[1:]
    assert row == [f"lvl{HOSTILE}", label, f"d={label}", "1", label]
    assert dom.find("table", cls="findings").find("tr", cls="level-info")  # unknown level


def test_the_builder_escapes_and_refuses_names_from_data() -> None:
    assert h("p", {"title": '"a" & <b>'}, "<i>x</i>") == (
        '<p title="&quot;a&quot; &amp; &lt;b&gt;">&lt;i&gt;x&lt;/i&gt;</p>'
    )
    assert h("details", {"open": True, "hidden": False, "id": None}) == "<details open></details>"
    assert render(["a", Markup("<b>b</b>"), None, ["<c>"]]) == "a<b>b</b>&lt;c&gt;"
    with pytest.raises(ValueError, match="tag"):
        h("p onclick=x")
    with pytest.raises(ValueError, match="attribute"):
        h("p", {"onclick": "x"})


def test_clean_svg_keeps_drawing_and_nothing_else() -> None:
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
        'width="10" height="10" onload="alert(1)">'
        '<script>alert(2)</script><foreignObject><div>x</div></foreignObject>'
        '<image xlink:href="https://example.org/x.png"/>'
        '<defs><clipPath id="clip1"><rect width="1.23456" height="2"/></clipPath></defs>'
        '<g clip-path="url(#clip1)"><path d="M0.123456,1L2,3" onclick="x"/>'
        '<use xlink:href="#clip1"/><a href="https://example.org">y</a>'
        "<text>&lt;script&gt; &amp; &quot;</text></g></svg>"
    )  # fmt: skip
    out = charts.clean_svg(svg, "c7", 'chart "1" <b>')
    assert out == (
        '<svg width="10" height="10" xmlns="http://www.w3.org/2000/svg" class="chart-svg" '
        'role="img" aria-label="chart &quot;1&quot; &lt;b&gt;">'
        '<defs><clipPath id="c7-1"><rect width="1.23" height="2" /></clipPath></defs>'
        '<g clip-path="url(#c7-1)"><path d="M0.12,1L2,3" />'
        '<text>&lt;script&gt; &amp; "</text></g></svg>'
    )


def test_natural_order() -> None:
    assert natural_order([3, 1, 2, 1]) == [1, 2, 3]
    assert natural_order(["Sun", "Mon", "Wednesday", "tuesday"]) == [
        "Mon", "tuesday", "Wednesday", "Sun",
    ]  # fmt: skip
    assert natural_order(["55+", "18-24", "<18", "25-34"]) == ["<18", "18-24", "25-34", "55+"]
    assert natural_order(["US", "GB", "DE"]) == ["US", "GB", "DE"]  # as they come


def test_size_of_the_hand_built_report(report: str) -> None:
    assert len(report.encode()) < 2_000_000


def test_a_kpi_known_only_for_the_whole_range() -> None:
    share = KpiInfo("share_female", "Share female", "audience", "percent", "none")
    active = KpiInfo("active", "Active followers", "audience", "number", "higher")
    rows: list[dict[str, Any]] = [
        {"period": week, "share_female": None, "active": 100 + n} for n, week in enumerate(WEEKS)
    ]
    rows.append({"period": None, "share_female": 0.58, "active": None})
    result = Result(
        "s", "week", None, None, tables=[Table("audience", "audience", [], [share, active], rows)]
    )
    article = _article(parse(render_html(result, CTX)), "audience")
    assert article.find("p", cls="cards-when").text == ""
    assert {
        card.find("div", cls="card-label").text: (
            card.find("div", cls="card-value").text,
            card.find("div", cls="card-when").text,
        )
        for card in article.find_all("div", cls="card")
    } == {
        "Share female": ("58.00%", "Whole range"),
        "Active followers": ("107", f"Latest week ({WEEKS[-1]})"),
    }
    # a trend for the KPI with values by week, none for the one without
    assert [f.find("span", cls="chart-title").text for f in article.find_all("figure")] == [
        "Active followers"
    ]


def test_a_paid_share_over_100_percent_stays_inside_the_chart() -> None:
    # An organic count that includes paid but is smaller than it (ads whose views TikTok
    # does not count as the account's): the share goes over 100 %, as on the sample data.
    share = KpiInfo("paid_share", "Paid share of the total", "comparison", "percent", "none")

    def figure(views_share: float) -> charts.Figure:
        found = [
            Pair(label, Table(f"Organic vs paid: {label}", "comparison", [], [share], rows),
                 rows, {"paid_share": share})
            for label, rows in (("Video views", [{"period": None, "paid_share": views_share}]),
                                ("Likes", [{"period": None, "paid_share": 0.2897}]))
        ]  # fmt: skip
        made = charts.paid_share(found, "week")
        assert made is not None
        return made

    def width(fig: charts.Figure) -> float:
        svg = str(charts.render_svg(fig.spec, "t", fig.label))
        match = re.search(r'<svg[^>]* width="(\d+(?:\.\d+)?)"', svg)
        assert match, svg[:200]
        return float(match.group(1))

    over = figure(2.9358)
    assert over.table.rows[0] == ["Video views", "293.58%"]
    # the axis reaches 294 %, so the chart is as wide as with a full bar (same label width)
    assert width(over) == pytest.approx(width(figure(1.0)), abs=2)


def test_a_segment_ranking_charts_its_kpis_not_its_ranks() -> None:
    ctr = KpiInfo("ctr_by_age", "CTR by age", "audience", "percent", "higher")
    rank = KpiInfo("rank", "Rank by CTR by age", "audience", "number", "none")
    small = KpiInfo("too_small", "Too small to judge", "audience", "number", "none")
    rows = [
        {"period": None, "age": "18-24", "ctr_by_age": 0.0098, "rank": 1, "too_small": False},
        {"period": None, "age": "55+", "ctr_by_age": 0.0051, "rank": 2, "too_small": False},
        {"period": None, "age": None, "ctr_by_age": None, "rank": None, "too_small": True},
    ]
    table = Table("Paid performance by age", "audience", ["age"], [ctr, rank, small], rows)
    result = Result("s", "total", None, None, tables=[table])
    assert [f.title for f in charts.table_figures(table, result)] == ["CTR by age"]


def test_every_chart_draws_something() -> None:
    result = rich_result()
    for table in result.tables:
        for figure in charts.table_figures(table, result):
            assert figure.drawn > 0, figure.title


def test_the_same_result_gives_the_same_bytes(report: str) -> None:
    assert render_html(rich_result(), CTX) == report  # no timestamps, stable ids
