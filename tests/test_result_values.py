"""What the database returns becomes plain JSON-able values in the result rows: NaN
and infinities null, decimals int or float, dates ISO text; other values unchanged.

The expected values are worked out by hand from the rows inserted below.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import duckdb
import pytest
from typer.testing import CliRunner

from kpiengine.cli import app
from kpiengine.engine import Request, evaluate
from kpiengine.spec import load_spec

ROWS = [
    # day, group, x (DOUBLE), m (DECIMAL(10,2)), n (BIGINT)
    ("2026-01-05", "a", "1.5", "1.25", 1),
    ("2026-01-06", "a", "inf", "2.75", 2),
    ("2026-01-07", "b", "2.0", "0.10", 5),
    ("2026-01-13", "a", "nan", "1.00", 7),
    ("2026-01-14", "b", "-3.0", None, None),
]


@pytest.fixture
def spec_file(tmp_path: Path) -> Path:
    db = tmp_path / "v.duckdb"
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE v (d DATE, g VARCHAR, x DOUBLE, m DECIMAL(10, 2), n BIGINT)")
    con.executemany(
        "INSERT INTO v VALUES"
        " (CAST(? AS DATE), ?, CAST(? AS DOUBLE), CAST(? AS DECIMAL(10, 2)), ?)",
        ROWS,
    )
    con.close()
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        textwrap.dedent(
            f"""\
            sources:
              s: duckdb:///{db}
            datasets:
              v:
                source: s
                table: v
                time: d
                dimensions: [g]
            kpis:
              top_x: max(x)
              total_m: sum(m)
              total_n: sum(n)
            """
        ),
        encoding="utf-8",
    )
    return spec


def _rows(spec_file: Path, grain: str) -> list[dict[str, Any]]:
    result = evaluate(load_spec(spec_file), Request(grain=grain, by=("g",)))
    (table,) = result.tables
    return table.rows


def test_values_by_week(spec_file: Path) -> None:
    assert _rows(spec_file, "week") == [
        # week of Monday 2026-01-05: a has 1.5 and inf, m 1.25 + 2.75 = 4.00
        {"period": "2026-01-05", "g": "a", "top_x": None, "total_m": 4, "total_n": 3},
        {"period": "2026-01-05", "g": "b", "top_x": 2.0, "total_m": 0.1, "total_n": 5},
        # week of Monday 2026-01-12: a has only nan; b only nulls for m and n
        {"period": "2026-01-12", "g": "a", "top_x": None, "total_m": 1, "total_n": 7},
        {"period": "2026-01-12", "g": "b", "top_x": -3.0, "total_m": None, "total_n": None},
    ]


def test_values_in_total(spec_file: Path) -> None:
    assert _rows(spec_file, "total") == [
        {"period": None, "g": "a", "top_x": None, "total_m": 5, "total_n": 10},
        {"period": None, "g": "b", "top_x": 2.0, "total_m": 0.1, "total_n": 5},
    ]


def test_types_of_the_values(spec_file: Path) -> None:
    rows = _rows(spec_file, "week")
    assert [type(r["total_m"]) for r in rows] == [int, float, int, type(None)]
    assert [type(r["period"]) for r in rows] == [str] * 4


def test_json_output_has_no_nan_or_infinity(spec_file: Path) -> None:
    done = CliRunner().invoke(
        app, ["run", str(spec_file), "--grain", "week", "--by", "g", "--format", "json"]
    )
    assert done.exit_code == 0, done.output
    assert "NaN" not in done.stdout
    assert "Infinity" not in done.stdout
    (table,) = json.loads(done.stdout)["tables"]
    assert [r["top_x"] for r in table["rows"]] == [None, 2.0, None, -3.0]
