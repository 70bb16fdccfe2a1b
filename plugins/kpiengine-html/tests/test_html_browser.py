"""The report opened in a real browser: headless Chromium, with the network disabled.

Debian's ``chromium`` is driven through playwright (``executable_path``; playwright
never downloads a browser of its own here). For each report (the CLI's on the shipped
TikTok catalogue and sample, with its organic-against-paid comparison and segment
rankings, under 2 MB; and one built by hand with every table shape and hostile text):

- the browser context is offline, and every request is routed through the test:
  any request other than the report file itself is recorded and aborted, and fails
  the test, as does any failed request;
- no console error (a Content-Security-Policy violation is one) and no page error;
- every chart container holds an SVG of real size with drawn marks;
- no script ran or exists, and hostile text shows as text;
- nothing is wider than a phone's screen, and on paper the folded data tables show;
- a full-page screenshot is saved in the test's temporary folder, and copied to the
  folder named by ``KPI_TEST_ARTIFACTS`` when that is set.

Without Chromium or playwright the tests are skipped, except when ``CI`` is set:
there they fail. ``KPI_TEST_CHROMIUM`` names another Chromium binary.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import pytest
from html_dom import parse
from html_sample import HOSTILE, rich_result
from kpiengine_html import render_html

from kpiengine.registry import OutputContext

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Route

ROOT = Path(__file__).resolve().parents[3]
SPEC = ROOT / "specs" / "tiktok"

#: How the machine's Chromium runs headless here: no sandbox as root, no GPU, and none
#: of the background connections (updates, sync, safe browsing) a closed network refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
]

#: What each chart container holds, measured in the page.
CHARTS_JS = """
() => Array.from(document.querySelectorAll("figure.chart")).map((figure) => {
  const svgs = figure.querySelectorAll(".chart-box > svg");
  const svg = svgs[0];
  if (!svg) return {id: figure.id, svgs: 0};
  const box = svg.getBoundingClientRect();
  const marks = Array.from(svg.querySelectorAll(".role-mark > *")).filter((mark) => {
    const b = mark.getBBox();
    return b.width > 0 || b.height > 0;
  });
  return {
    id: figure.id,
    kind: figure.dataset.kind,
    svgs: svgs.length,
    width: box.width,
    height: box.height,
    shapes: marks.filter((m) => m.tagName !== "text").length,
    display: getComputedStyle(svg).display,
  };
})
"""


def _unavailable(reason: str) -> NoReturn:
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set: the browser test must run)")
    pytest.skip(reason)


def _chromium() -> str:
    named = os.environ.get("KPI_TEST_CHROMIUM")
    found = named or shutil.which("chromium") or shutil.which("chromium-browser")
    if not found or not Path(found).exists():
        _unavailable("Debian's chromium is not installed (apt-get install chromium)")
    return found


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed (pip install playwright: it drives chromium)")
    executable = _chromium()
    started = time.monotonic()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        print(f"chromium {browser.version} started in {time.monotonic() - started:.2f}s")
        yield browser
        browser.close()


@dataclass
class Visit:
    """What happened while a page was open."""

    page: Page
    requests: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    console: list[tuple[str, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def console_errors(self) -> list[str]:
        return [text for kind, text in self.console if kind == "error"]


@pytest.fixture
def visit(browser: Browser) -> Iterator[Any]:
    contexts = []

    def open_(path: Path, width: int = 1280) -> Visit:
        context = browser.new_context(offline=True, viewport={"width": width, "height": 900})
        contexts.append(context)
        page = context.new_page()
        seen = Visit(page)
        allowed = path.as_uri()

        def route(route: Route) -> None:
            url = route.request.url
            if url == allowed:
                route.continue_()
            else:
                seen.blocked.append(url)
                route.abort("blockedbyclient")

        context.route("**/*", route)
        page.on("request", lambda request: seen.requests.append(request.url))
        page.on("requestfailed", lambda request: seen.failed.append(request.url))
        page.on("console", lambda message: seen.console.append((message.type, message.text)))
        page.on("pageerror", lambda error: seen.errors.append(str(error)))
        page.goto(allowed, wait_until="load")
        page.wait_for_timeout(200)  # let late requests or errors show up
        return seen

    yield open_
    for context in contexts:
        context.close()


#: What the default catalogue's report holds besides the KPI tables: the organic
#: against paid comparison, the segment rankings and the trend rule's finding.
SAMPLE_TABLES = [
    "Organic vs paid: paid costs", "Paid performance by age", "Paid performance by gender",
    "Paid performance by country", "Paid performance by interest category",
    "Best hours to post",
]  # fmt: skip


def _sample_report(folder: Path) -> Path:
    """``kpi run specs/tiktok`` (the whole default catalogue) as an HTML report."""
    if not SPEC.is_dir():
        pytest.skip("needs the kpiengine checkout's specs")
    report = folder / "report.html"
    args = ["--grain", "week", "--by", "campaign", "--compare", "previous"]
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "kpiengine", "run", str(SPEC), *args,
         "--format", "html", "-o", str(report)],
        capture_output=True,
        text=True,
        timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    print(f"kpi run … --format html: {time.monotonic() - started:.2f}s")
    size = report.stat().st_size
    print(f"report: {size:,} bytes")
    assert size < 2_000_000
    dom = parse(report.read_text(encoding="utf-8"))
    sections = [s.attrs.get("data-category") for s in dom.find_all("section", cls="category")]
    assert "comparison" in sections
    tables = [a.attrs.get("data-table") for a in dom.find_all("article")]
    assert all(name in tables for name in SAMPLE_TABLES), tables
    assert dom.find("article", cls="versus") is not None  # the pairs, one chart each
    assert "engagement_rate_falling" in report.read_text(encoding="utf-8")
    return report


def _hand_built_report(folder: Path) -> Path:
    report = folder / "report.html"
    report.write_text(render_html(rich_result(), OutputContext()), encoding="utf-8")
    return report


@pytest.fixture(params=["tiktok-sample", "hand-built"])
def report(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    make = _sample_report if request.param == "tiktok-sample" else _hand_built_report
    return make(tmp_path)


def _save_screenshot(page: Page, path: Path) -> None:
    started = time.monotonic()
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot {path} in {time.monotonic() - started:.2f}s")
    artifacts = os.environ.get("KPI_TEST_ARTIFACTS")
    if artifacts:
        Path(artifacts).mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, Path(artifacts) / path.name)


def test_the_report_opens_offline_with_every_chart_drawn(
    visit: Any, report: Path, request: pytest.FixtureRequest
) -> None:
    started = time.monotonic()
    seen: Visit = visit(report)
    print(f"opened in {time.monotonic() - started:.2f}s")

    assert seen.requests == [report.as_uri()]  # the file itself and nothing else
    assert seen.blocked == []
    assert seen.failed == []
    assert seen.console_errors == []
    assert seen.errors == []

    charts = seen.page.evaluate(CHARTS_JS)
    expected = len(parse(report.read_text(encoding="utf-8")).find_all("figure", cls="chart"))
    assert len(charts) == expected > 0
    for chart in charts:
        assert chart["svgs"] == 1, chart
        assert chart["display"] != "none", chart
        assert chart["width"] > 150, chart
        assert chart["height"] > 40, chart
        assert chart["shapes"] > 0, chart  # drawn marks: lines, bars, heat map cells
    assert seen.page.evaluate("document.scripts.length") == 0

    name = request.node.callspec.id
    _save_screenshot(seen.page, report.parent / f"report-{name}.png")


def test_hostile_text_shows_as_text(visit: Any, tmp_path: Path) -> None:
    seen: Visit = visit(_hand_built_report(tmp_path))
    page = seen.page
    assert page.evaluate("document.scripts.length") == 0
    assert page.evaluate("document.querySelectorAll('img, iframe, object, embed').length") == 0
    body = page.evaluate("document.body.innerText")
    assert HOSTILE in body
    assert "<img src=x onerror=alert(1)>" in body
    assert seen.console_errors == []
    assert seen.errors == []


def test_fits_a_phone_and_prints_the_data(visit: Any, tmp_path: Path) -> None:
    seen: Visit = visit(_hand_built_report(tmp_path), width=390)
    page = seen.page
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{overflow}px wider than the screen"
    _save_screenshot(page, tmp_path / "report-phone.png")

    def visible_folded_tables() -> int:
        return int(
            page.evaluate(
                "Array.from(document.querySelectorAll('details.data:not([open]) table'))"
                ".filter((table) => table.checkVisibility()).length"
            )
        )

    folded = [
        table
        for details in parse(page.content()).find_all("details", cls="data")
        if "open" not in details.attrs
        for table in details.find_all("table")
    ]
    assert folded
    assert visible_folded_tables() == 0  # folded on screen
    page.emulate_media(media="print")
    assert visible_folded_tables() == len(folded)  # on paper every value shows
    assert page.evaluate("getComputedStyle(document.querySelector('nav')).display") == "none"


def test_the_harness_sees_requests_and_errors(visit: Any, tmp_path: Path) -> None:
    """A page that asks for a remote image: the checks above would have caught it."""
    page = tmp_path / "leaky.html"
    page.write_text(
        '<!doctype html><title>x</title><img src="https://example.org/x.png">'
        "<script>console.error('boom')</script>",
        encoding="utf-8",
    )
    seen: Visit = visit(page)
    assert "https://example.org/x.png" in seen.requests
    assert seen.blocked == ["https://example.org/x.png"]
    assert "https://example.org/x.png" in seen.failed
    assert "boom" in seen.console_errors
