"""The built-in output formats (json, csv, table) and the value formatting they share."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import subprocess
import sys
from decimal import Decimal

import pytest

from kpiengine.builtins import outputs
from kpiengine.formatting import MISSING, format_as, format_period, format_value
from kpiengine.registry import OutputContext, OutputFormat
from kpiengine.result import Finding, KpiInfo, Result, Table

VIEWS = KpiInfo("views", "Views", "organic", "number", "higher")
ER = KpiInfo("engagement_rate", "Engagement rate", "organic", "percent", "higher")
WATCH = KpiInfo("avg_watch_time", "Avg. watch time", "organic", "duration", "higher")
SPEND = KpiInfo("spend", "Spend", "paid", "currency", "none", currency="USD")
CPC = KpiInfo("cpc", "CPC", "paid", "currency", "lower", currency="EUR", decimals=3)

PLAIN = OutputContext(color=False, width=None)


def make_result() -> Result:
    organic = Table(
        name="organic",
        category="organic",
        dimensions=["campaign"],
        kpis=[VIEWS, ER, WATCH],
        rows=[
            {
                "period": "2024-01-01",
                "campaign": "spring",
                "views": 1234567,
                "engagement_rate": 0.0141,
                "avg_watch_time": 65.2,
            },
            {
                "period": "2024-01-08",
                "campaign": "[bold]sale|2[/bold]",
                "views": 0,
                "engagement_rate": None,
                "avg_watch_time": 12.34,
            },
        ],
    )
    paid = Table(
        name="paid",
        category="paid",
        dimensions=["campaign", "country"],
        kpis=[SPEND, CPC],
        rows=[
            {
                "period": "2024-01-01",
                "campaign": "spring",
                "country": "DE",
                "spend": 1234.5,
                "cpc": 0.41234,
            },
        ],
    )
    return Result(
        spec="tiktok",
        grain="week",
        date_from="2024-01-01",
        date_to="2024-01-14",
        tables=[organic, paid],
        findings=[
            Finding(
                rule="low_engagement",
                kpi="engagement_rate",
                level="warn",
                message="Engagement rate fell to 1.41%",
                period="2024-01-01",
                dimensions={"campaign": "spring"},
                value=0.0141,
            ),
            Finding(
                rule="no_views",
                kpi="views",
                level="error",
                message="No views at all",
                period="2024-01-08",
                dimensions={"campaign": "sale"},
                value=0,
            ),
        ],
        notices=["the ads export ends on 2024-01-10"],
    )


# --------------------------------------------------------------------------- plugin


def test_the_module_provides_the_three_formats() -> None:
    formats = outputs.kpi_output_formats()
    assert [f.name for f in formats] == ["table", "json", "csv"]
    assert all(isinstance(f, OutputFormat) and f.description for f in formats)


def test_importing_the_outputs_does_not_import_rich() -> None:
    code = "import sys, kpiengine.builtins.outputs; print('rich' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "False"


# --------------------------------------------------------------------------- json


def test_json_has_the_documented_shape() -> None:
    text = outputs.render_json(make_result(), PLAIN)
    assert text.endswith("}\n")
    data = json.loads(text)
    assert data["spec"] == "tiktok"
    assert data["grain"] == "week"
    assert (data["from"], data["to"]) == ("2024-01-01", "2024-01-14")
    organic, paid = data["tables"]
    assert organic == {
        "name": "organic",
        "category": "organic",
        "dimensions": ["campaign"],
        "kpis": ["views", "engagement_rate", "avg_watch_time"],
        "data_from": None,  # a hand-built table: no days known, no partial periods
        "data_to": None,
        "partial_periods": [],
        "rows": [
            {
                "period": "2024-01-01",
                "campaign": "spring",
                "views": 1234567,
                "engagement_rate": 0.0141,
                "avg_watch_time": 65.2,
            },
            {
                "period": "2024-01-08",
                "campaign": "[bold]sale|2[/bold]",
                "views": 0,
                "engagement_rate": None,
                "avg_watch_time": 12.34,
            },
        ],
    }
    assert paid["dimensions"] == ["campaign", "country"]
    assert data["findings"][0] == {
        "rule": "low_engagement",
        "kpi": "engagement_rate",
        "level": "warn",
        "message": "Engagement rate fell to 1.41%",
        "period": "2024-01-01",
        "campaign": "spring",
        "value": 0.0141,
        "partial": False,
    }
    assert data["comparisons"] == []


def test_json_round_trips_result_to_dict() -> None:
    result = make_result()
    assert json.loads(outputs.render_json(result, PLAIN)) == result.to_dict()


def test_json_writes_non_finite_numbers_as_null() -> None:
    table = Table(
        "t",
        "organic",
        [],
        [VIEWS, ER],
        [{"period": None, "views": float("nan"), "engagement_rate": float("inf")}],
    )
    result = Result("s", "total", None, None, tables=[table])
    result.findings.append(Finding("r", "views", "info", "m", None, {}, float("-inf")))
    text = outputs.render_json(result, PLAIN)
    assert "NaN" not in text
    assert "Infinity" not in text
    data = json.loads(text)
    assert data["tables"][0]["rows"] == [{"period": None, "views": None, "engagement_rate": None}]
    assert data["findings"][0]["value"] is None


def test_json_converts_dates_decimals_and_other_database_values() -> None:
    row = {
        "period": dt.date(2024, 3, 1),
        "day": dt.datetime(2024, 3, 1, 12, 30),
        "views": Decimal("1234"),
        "engagement_rate": Decimal("0.0141"),
        "spend": Decimal("NaN"),
        "watch": dt.timedelta(minutes=1, seconds=5),
    }
    table = Table("t", "organic", ["day"], [VIEWS, ER], [row])
    data = json.loads(outputs.render_json(Result("s", "month", None, None, [table]), PLAIN))
    assert data["tables"][0]["rows"][0] == {
        "period": "2024-03-01",
        "day": "2024-03-01T12:30:00",
        "views": 1234,
        "engagement_rate": 0.0141,
        "spend": None,
        "watch": 65.0,
    }


def _slow_json(result: Result) -> str:
    """The text render_json must give: ``json.dumps`` with indent=2 of the cleaned dict."""
    data = outputs._finite(result.to_dict())
    text = json.dumps(
        data, indent=2, ensure_ascii=False, allow_nan=False, default=outputs._json_default
    )
    return text + "\n"


_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")


def _numbers_spelt_alike(text: str) -> str:
    """``text`` with every number spelt as Python spells it (``1e-7`` and ``1e-07`` are
    one value, which two JSON writers may spell differently); the rest untouched."""
    return _NUMBER.sub(lambda m: repr(float(m.group())), text)


def _odd_results() -> list[Result]:
    odd = Table(
        "odd",
        "other",
        ["day"],
        [VIEWS, ER],
        [
            {"period": None, "day": dt.date(2024, 3, 1), "views": Decimal("12"),
             "engagement_rate": float("nan")},
            {"period": "2024-03-01", "day": "Frühling ☀ \"q\"\n", "views": True,
             "engagement_rate": float("-inf")},
            {"period": None, "day": dt.datetime(2024, 3, 1, 12, 30, 0, 5), "views": None,
             "engagement_rate": dt.time(9, 5)},
            {},
        ],
    )  # fmt: skip
    empty = Table("empty", "other", [], [], [])
    # Every ASCII control character, quotes, backslashes, slashes and text outside the
    # ASCII range (kept as it is), in dimension values.
    texts = ["".join(map(chr, range(32))), '"\\/\x7f', "\u2028\u2029 é ☀ 𝄞", "}, {", ""]
    rates = [0.5, 1e-7, 1e300, -0.0, 2.5e-05, 1e16, 0.1 + 0.2, 5e-324]
    braces = Table(
        "braces",
        "other",
        ["campaign"],
        [VIEWS, ER],
        [
            {"period": "2024-03-01", "campaign": texts[i % len(texts)], "views": i,
             "engagement_rate": rate}
            for i, rate in enumerate(rates)
        ],
    )  # fmt: skip
    nested = Table("nested", "other", [], [VIEWS], [{"period": None, "views": 1}, {"x": [1]}])
    return [
        make_result(),
        Result("s", "week", None, None, [braces, nested, braces]),
        Result("s", "total", None, None, [odd, empty], comparisons=[{"nested": [1, [2, {}]]}]),
        Result("s", "total", None, None),
    ]


def test_json_text_is_json_dumps_indented_text() -> None:
    for result in _odd_results():
        text = outputs.render_json(result, PLAIN)
        assert json.loads(text) == json.loads(_slow_json(result))
        assert _numbers_spelt_alike(text) == _numbers_spelt_alike(_slow_json(result))


def test_json_of_what_the_fast_writer_refuses_is_the_standard_librarys() -> None:
    """An integer beyond 64 bits (a DECIMAL(38) sum, say) and a key that is not a
    string: written by ``json`` instead, the same text."""
    huge = Table("t", "paid", [], [VIEWS], [{"period": None, "views": 2**70 + 1}])
    keyed = Result("s", "total", None, None, comparisons=[{1: "one", None: 2.5}])
    for result in (Result("s", "total", None, None, [huge]), keyed):
        assert outputs.render_json(result, PLAIN) == _slow_json(result)
    assert '"views": 1180591620717411303425' in outputs.render_json(
        Result("s", "total", None, None, [huge]), PLAIN
    )


def test_json_keeps_non_ascii_text() -> None:
    table = Table(
        "t",
        "organic",
        ["campaign"],
        [VIEWS],
        [{"period": None, "campaign": "Frühling ☀", "views": 1}],
    )
    text = outputs.render_json(Result("s", "total", None, None, [table]), PLAIN)
    assert "Frühling ☀" in text


# --------------------------------------------------------------------------- csv


def read_csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_csv_stacks_the_tables_under_the_union_of_their_columns() -> None:
    text = outputs.render_csv(make_result(), PLAIN)
    header = text.splitlines()[0].split(",")
    assert header == [
        "table", "period", "campaign", "country",
        "views", "engagement_rate", "avg_watch_time", "spend", "cpc",
    ]  # fmt: skip
    rows = read_csv(text)
    assert rows == [
        {
            "table": "organic", "period": "2024-01-01", "campaign": "spring", "country": "",
            "views": "1234567", "engagement_rate": "0.0141", "avg_watch_time": "65.2",
            "spend": "", "cpc": "",
        },
        {
            "table": "organic", "period": "2024-01-08", "campaign": "[bold]sale|2[/bold]",
            "country": "", "views": "0", "engagement_rate": "", "avg_watch_time": "12.34",
            "spend": "", "cpc": "",
        },
        {
            "table": "paid", "period": "2024-01-01", "campaign": "spring", "country": "DE",
            "views": "", "engagement_rate": "", "avg_watch_time": "", "spend": "1234.5",
            "cpc": "0.41234",
        },
    ]  # fmt: skip


def test_csv_writes_floats_at_full_precision_and_raw_values() -> None:
    row = {
        "period": dt.date(2024, 1, 1),
        "campaign": 'say "hi", then\nleave',
        "views": 1 / 3,
        "engagement_rate": float("nan"),
        "spend": Decimal("1E+3"),
    }
    table = Table("t", "organic", ["campaign"], [VIEWS, ER, SPEND], [row])
    rows = read_csv(outputs.render_csv(Result("s", "day", None, None, [table]), PLAIN))
    assert rows == [
        {
            "table": "t",
            "period": "2024-01-01",
            "campaign": 'say "hi", then\nleave',
            "views": repr(1 / 3),
            "engagement_rate": "",
            "spend": "1000",
        }
    ]
    assert float(rows[0]["views"]) == 1 / 3


def test_csv_of_an_empty_result_is_a_header() -> None:
    assert outputs.render_csv(Result("s", "total", None, None), PLAIN) == "table,period\n"


# --------------------------------------------------------------------------- table


def test_table_shows_formatted_values_and_findings() -> None:
    text = outputs.render_table(make_result(), PLAIN)
    assert "\x1b[" not in text
    assert "tiktok · grain week · 2024-01-01 → 2024-01-14" in text
    assert "organic by campaign" in text
    assert "paid by campaign, country" in text
    for cell in ["Views", "Engagement rate", "Avg. watch time", "Spend", "CPC"]:
        assert cell in text
    for cell in ["1,234,567", "1.41%", "1m 05s", "12.3s", "1,234.50 USD", "0.412 EUR"]:
        assert cell in text
    # a value that looks like rich markup is shown as it is
    assert "[bold]sale|2[/bold]" in text
    assert "Findings (1 error, 1 warn)" in text
    lines = text.splitlines()
    error_line = next(line for line in lines if "no_views" in line)
    warn_line = next(line for line in lines if "low_engagement" in line)
    assert lines.index(error_line) < lines.index(warn_line)  # worst first
    assert error_line.startswith("error")
    assert "2024-01-08 campaign=sale" in error_line
    assert "No views at all" in error_line
    assert "note:" not in text  # notices go to stderr, from the CLI
    assert all(line == line.rstrip() for line in lines)


def test_table_shows_missing_values_as_a_dash() -> None:
    text = outputs.render_table(make_result(), PLAIN)
    sale_line = next(line for line in text.splitlines() if "sale|2" in line)
    assert MISSING in sale_line
    assert re.search(r"\b0\b", sale_line)


def test_table_colours_levels_only_when_allowed() -> None:
    coloured = outputs.render_table(make_result(), OutputContext(color=True, width=120))
    assert "\x1b[1;31merror" in coloured  # bold red
    assert "\x1b[33mwarn" in coloured  # yellow
    plain = outputs.render_table(make_result(), OutputContext(color=False, width=120))
    assert "\x1b[" not in plain


def test_table_respects_the_width() -> None:
    text = outputs.render_table(make_result(), OutputContext(color=False, width=60))
    assert max(len(line) for line in text.splitlines()) <= 60


def wide_result() -> Result:
    kpis = [
        KpiInfo(
            f"kpi_{i}", f"Cost per thousand impressions variant {i}", "paid", "currency", "none"
        )
        for i in range(12)
    ]
    rows = []
    for day in (1, 2):
        row: dict[str, object] = {"period": f"2024-01-0{day}", "campaign": "Brand Awareness"}
        row.update({info.name: 1234.5 * day + i for i, info in enumerate(kpis)})
        rows.append(row)
    return Result("s", "day", None, None, [Table("paid", "paid", ["campaign"], kpis, rows)])


@pytest.mark.parametrize("width", [60, 100, 150])
def test_a_wide_table_is_split_and_keeps_every_value_whole(width: int) -> None:
    result = wide_result()
    text = outputs.render_table(result, OutputContext(color=False, width=width))
    assert max(len(line) for line in text.splitlines()) <= width
    assert "paid by campaign (continued)" in text
    table = result.tables[0]
    for row in table.rows:
        for info in table.kpis:
            assert format_value(row[info.name], info) in text
    # every part repeats the period and dimension columns
    parts = text.count("paid by campaign")
    assert text.count("2024-01-02   Brand Awareness") == parts


@pytest.mark.parametrize("width", [50, 70, 200])
def test_narrow_tables_wrap_text_dimensions_not_periods_or_values(width: int) -> None:
    text = outputs.render_table(make_result(), OutputContext(color=False, width=width))
    assert max(len(line) for line in text.splitlines()) <= width
    for value in ["2024-01-01", "2024-01-08", "1,234,567", "1.41%", "1m 05s", "1,234.50 USD"]:
        assert value in text


def test_a_table_that_fits_is_not_split() -> None:
    text = outputs.render_table(wide_result(), OutputContext(color=False, width=1000))
    assert "(continued)" not in text
    assert "Cost per thousand impressions variant 11" in text  # header on one line


def test_findings_go_on_two_lines_when_the_width_is_short() -> None:
    result = make_result()
    result.findings.append(
        Finding("long", "views", "info", "a rather long message " * 5, None, {}, None)
    )
    text = outputs.render_table(result, OutputContext(color=False, width=70))
    assert max(len(line) for line in text.splitlines()) <= 70
    lines = text.splitlines()
    index = next(i for i, line in enumerate(lines) if line.startswith("error  no_views"))
    assert lines[index].split() == ["error", "no_views", "2024-01-08", "campaign=sale"]
    assert lines[index + 1] == "       No views at all"


def test_table_width_is_not_taken_from_a_dumb_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TERM", "dumb")
    text = outputs.render_table(make_result(), OutputContext(color=True, width=150))
    assert "organic by campaign" in text
    assert "Avg. watch time" in text  # not squeezed to 80 columns


def test_table_for_grain_total_has_no_period_column() -> None:
    table = Table("organic", "organic", [], [VIEWS], [{"period": None, "views": 5}])
    text = outputs.render_table(Result("s", "total", None, None, [table]), PLAIN)
    assert "period" not in text
    assert "all dates" in text
    assert "Findings" not in text


def test_table_with_no_rows_says_so() -> None:
    table = Table("paid", "paid", [], [SPEND], [])
    text = outputs.render_table(Result("s", "day", "2024-01-01", None, [table]), PLAIN)
    assert "no rows" in text
    assert "2024-01-01 → …" in text


def test_table_shows_periods_for_the_grain() -> None:
    table = Table("organic", "organic", [], [VIEWS], [{"period": "2024-04-01", "views": 5}])
    text = outputs.render_table(Result("s", "quarter", None, None, [table]), PLAIN)
    assert "2024-Q2" in text


# --------------------------------------------------------------------------- formatting


@pytest.mark.parametrize(
    ("value", "info", "expected"),
    [
        (None, VIEWS, MISSING),
        (None, ER, MISSING),
        (None, SPEND, MISSING),
        (None, WATCH, MISSING),
        (0, VIEWS, "0"),
        (0.0, VIEWS, "0"),
        (-1234, VIEWS, "-1,234"),
        (12345678901234567890123, VIEWS, "12,345,678,901,234,567,890,123"),
        (3.5, VIEWS, "3.5"),
        (3.14159, VIEWS, "3.14"),
        (1234.0, VIEWS, "1,234"),
        (-0.001, VIEWS, "0"),
        (Decimal("1234"), VIEWS, "1,234"),
        (Decimal("0.125"), VIEWS, "0.12"),
        (float("nan"), VIEWS, MISSING),
        (float("inf"), VIEWS, "∞"),
        (0.0141, ER, "1.41%"),
        (0, ER, "0.00%"),
        (0.0, ER, "0.00%"),
        (1, ER, "100.00%"),
        (-0.25, ER, "-25.00%"),
        (-0.000001, ER, "0.00%"),
        (Decimal("0.0141"), ER, "1.41%"),
        (12.5, ER, "1,250.00%"),
        (1234.56, SPEND, "1,234.56 USD"),
        (0, SPEND, "0.00 USD"),
        (-1234.5, SPEND, "-1,234.50 USD"),
        (10**18, SPEND, "1,000,000,000,000,000,000.00 USD"),
        (0.41234, CPC, "0.412 EUR"),
        (12.34, WATCH, "12.3s"),
        (5, WATCH, "5s"),
        (0, WATCH, "0s"),
        (59.96, WATCH, "1m 00s"),
        (65, WATCH, "1m 05s"),
        (3727, WATCH, "1h 02m 07s"),
        (-65, WATCH, "-1m 05s"),
        (True, VIEWS, "true"),
        ("n/a", VIEWS, "n/a"),
    ],
)
def test_format_value(value: object, info: KpiInfo, expected: str) -> None:
    assert format_value(value, info) == expected


def test_format_value_honours_decimals() -> None:
    assert format_as(0.0141, "percent", decimals=1) == "1.4%"
    assert format_as(0.0141, "percent", decimals=0) == "1%"
    assert format_as(2.5, "number", decimals=2) == "2.50"
    assert format_as(2, "number", decimals=1) == "2.0"
    assert format_as(1234.5, "currency") == "1,234.50"
    assert format_as(12.345, "duration", decimals=2) == "12.35s"


def test_unknown_format_is_shown_as_a_number() -> None:
    assert format_as(1234.5678, "sparkles") == "1,234.57"


@pytest.mark.parametrize(
    ("period", "grain", "expected"),
    [
        ("2024-03-04", "day", "2024-03-04"),
        ("2024-03-04", "week", "2024-03-04"),
        ("2024-03-01", "month", "2024-03"),
        (dt.date(2024, 10, 1), "quarter", "2024-Q4"),
        (dt.datetime(2024, 1, 1, 0, 0), "year", "2024"),
        (None, "total", "total"),
        ("not a date", "day", "not a date"),
    ],
)
def test_format_period(period: object, grain: str, expected: str) -> None:
    assert format_period(period, grain) == expected
