"""Golden SQL for the warehouses: ``kpi explain --dialect NAME`` is kept per dialect in
``tests/golden/<dialect>/<case>.sql`` and checked to be unchanged and to parse.

These dialects are compile-checked, not run: no server is needed, only their SQLAlchemy
dialect packages (tox's ``warehouses`` env installs them) and sqlglot, which parses each
statement in the matching dialect. Spark (``hive``) is also run for real, in
``tests/spark``.

The cases are a small fixed spec (``tests/golden/spec.yaml``, one KPI or rule per
construct) at every grain, and two requests over a few core KPIs of ``specs/tiktok``,
so that the files change when the compiler changes, not when the catalogue grows.

When the SQL changes on purpose, regenerate the files and review the diff::

    KPI_UPDATE_GOLDEN=1 pytest tests/warehouses/test_golden.py

(or ``KPI_UPDATE_GOLDEN=1 tox -e warehouses``).
"""

from __future__ import annotations

import json
import os
import re
import shlex
from pathlib import Path
from typing import Any

import pytest

from kpiengine.engine import Request

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "golden"
UPDATE = os.environ.get("KPI_UPDATE_GOLDEN", "").strip() not in ("", "0")

#: SQLAlchemy dialect name → (the package that provides it, sqlglot's dialect name)
DIALECTS = {
    "trino": ("trino[sqlalchemy]", "trino"),
    "bigquery": ("sqlalchemy-bigquery", "bigquery"),
    "snowflake": ("snowflake-sqlalchemy", "snowflake"),
    "databricks": ("databricks-sqlalchemy", "databricks"),
    "hive": ("pyhive", "spark"),  # Spark SQL through the Thrift server (and run in tests/spark)
}

SAMPLE = "tests/golden/spec.yaml"
TIKTOK = "specs/tiktok"
AUGUST = {"date_from": "2026-08-01", "date_to": "2026-08-31"}
#: file stem → (spec, request); the request becomes `kpi explain` options
CASES: dict[str, tuple[str, Request]] = {
    "week_by_campaign": (
        SAMPLE,
        Request(grain="week", by=("campaign",), where="objective != 'awareness'", **AUGUST),
    ),
    "day": (SAMPLE, Request(grain="day", **AUGUST)),
    "month": (SAMPLE, Request(grain="month", **AUGUST)),
    "quarter_by_objective": (SAMPLE, Request(grain="quarter", by=("objective",))),
    "year": (SAMPLE, Request(grain="year")),
    "total_range": (SAMPLE, Request(grain="total", **AUGUST)),
    "total": (SAMPLE, Request(grain="total")),
    "tiktok_paid_week_by_campaign": (
        TIKTOK,
        Request(grain="week", by=("campaign",), kpis=("spend", "ctr", "cpm"), **AUGUST),
    ),
    "tiktok_organic_month": (
        TIKTOK,
        Request(grain="month", kpis=("engagement_rate_by_followers",), **AUGUST),
    ),
}


def options(request: Request) -> list[str]:
    """The `kpi explain` options that make ``request``."""
    args = ["--grain", request.grain]
    for dim in request.by:
        args += ["--by", dim]
    if request.date_from:
        args += ["--from", str(request.date_from)]
    if request.date_to:
        args += ["--to", str(request.date_to)]
    if request.where:
        args += ["--where", request.where]
    for kpi in request.kpis:
        args += ["--kpi", kpi]
    return args


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _require(dialect: str) -> None:
    """Skip (on a developer's machine) or fail (in CI) when the dialect is not installed."""
    from sqlalchemy.dialects import registry
    from sqlalchemy.exc import NoSuchModuleError

    try:
        registry.load(dialect)
    except (NoSuchModuleError, ImportError) as exc:
        package = DIALECTS[dialect][0]
        why = f"the `{dialect}` dialect is not installed (pip install {package}): {exc}"
        if _in_ci():
            pytest.fail(f"{why} (tox -e warehouses installs it)", pytrace=False)
        pytest.skip(why)


def explain(spec: str, request: Request, dialect: str) -> str:
    """What ``kpi explain SPEC --dialect DIALECT OPTIONS`` prints, under a line that says so."""
    from typer.testing import CliRunner

    from kpiengine.cli import app

    args = ["--dialect", dialect, *options(request)]
    result = CliRunner().invoke(app, ["explain", str(ROOT / spec), *args])
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    command = " ".join(["kpi", "explain", spec, *map(_quote, args)])
    text = f"-- {command}\n{result.stdout}"
    return "\n".join(line.rstrip() for line in text.strip().splitlines()) + "\n"


def _quote(arg: str) -> str:
    if re.fullmatch(r"[\w./:-]+", arg):
        return arg
    if not re.search(r'["$`\\]', arg):
        return f'"{arg}"'
    return shlex.quote(arg)


def statements(text: str) -> list[tuple[str, dict[str, Any]]]:
    """The statements of a golden file, each with its bound parameters."""
    out: list[tuple[str, dict[str, Any]]] = []
    for block in re.split(r"^-- table .*$", text, flags=re.MULTILINE)[1:]:
        sql, _, params = block.partition("\n-- parameters: ")
        out.append((sql.strip().rstrip(";"), json.loads(params) if params.strip() else {}))
    return out


def with_literals(sql: str, params: dict[str, Any]) -> str:
    """The statement with each placeholder (``:name``, ``%(name)s``, ``:`name```) replaced
    by its value as a SQL literal, for a parser that knows no placeholders."""

    def literal(match: re.Match[str]) -> str:
        value = params[next(g for g in match.groups() if g)]
        if isinstance(value, bool) or value is None:
            return {True: "TRUE", False: "FALSE", None: "NULL"}[value]
        if isinstance(value, int | float):
            return repr(value)
        return "'" + str(value).replace("'", "''") + "'"

    pattern = r"%\((\w+)\)s|:`(\w+)`|(?<![:\w]):(\w+)"
    return re.sub(pattern, literal, sql)


CASE_IDS = [(d, c) for d in DIALECTS for c in CASES]


@pytest.mark.parametrize(("dialect", "case"), CASE_IDS, ids=[f"{d}-{c}" for d, c in CASE_IDS])
def test_golden_sql_is_unchanged(dialect: str, case: str) -> None:
    _require(dialect)
    spec, request = CASES[case]
    got = explain(spec, request, dialect)
    path = GOLDEN / dialect / f"{case}.sql"
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(got, encoding="utf-8")
    assert path.exists(), f"no golden file {path.relative_to(ROOT)}: run with KPI_UPDATE_GOLDEN=1"
    want = path.read_text(encoding="utf-8")
    assert got == want, (
        f"the SQL for {dialect} changed: if on purpose, regenerate with "
        "KPI_UPDATE_GOLDEN=1 pytest tests/warehouses/test_golden.py and review the diff"
    )


@pytest.mark.parametrize(("dialect", "case"), CASE_IDS, ids=[f"{d}-{c}" for d, c in CASE_IDS])
def test_golden_sql_parses_in_its_dialect(dialect: str, case: str) -> None:
    import sqlglot
    from sqlglot import exp

    path = GOLDEN / dialect / f"{case}.sql"
    found = statements(path.read_text(encoding="utf-8"))
    assert found
    for sql, params in found:
        parsed = sqlglot.parse(with_literals(sql, params), read=DIALECTS[dialect][1])
        assert len(parsed) == 1
        tree = parsed[0]
        assert isinstance(tree, exp.Select), type(tree)
        assert not list(tree.find_all(exp.Placeholder, exp.Parameter)), "a placeholder is left"


def test_there_is_no_stray_golden_file() -> None:
    expected = {GOLDEN / d / f"{c}.sql" for d in DIALECTS for c in CASES}
    assert set(GOLDEN.glob("*/*.sql")) <= expected


# -- what the golden SQL means ----------------------------------------------------------
#
# Parsing proves the syntax only. To check the meaning without a warehouse, each golden
# statement is translated by sqlglot from its dialect into DuckDB's and run on the sample
# CSVs; it must give the numbers kpiengine gives on DuckDB itself. This catches a
# period that starts on the wrong day or a shift by the wrong amount, as far as sqlglot
# translates the dialect's functions faithfully.


@pytest.fixture(scope="module")
def sample_duckdb() -> Any:
    import duckdb

    con = duckdb.connect()
    for path in sorted((ROOT / "specs" / "tiktok" / "data").glob("*.csv")):
        con.read_csv(str(path)).create_view(path.stem)
    yield con
    con.close()


def _run_translated(con: Any, sql: str, dialect: str) -> list[tuple[Any, ...]]:
    import sqlglot
    from sqlglot import exp

    tree = sqlglot.parse_one(sql, read=dialect)
    for node in tree.find_all(exp.Round):  # DuckDB's round() takes an INTEGER of digits
        digits = node.args.get("decimals")
        if digits is not None:
            node.set("decimals", exp.cast(digits.copy(), "INT"))
    rows: list[tuple[Any, ...]] = con.execute(tree.sql(dialect="duckdb")).fetchall()
    return rows


def _plain(value: Any) -> Any:
    import datetime as dt

    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


@pytest.mark.parametrize(("dialect", "case"), CASE_IDS, ids=[f"{d}-{c}" for d, c in CASE_IDS])
def test_golden_sql_gives_the_duckdb_numbers(dialect: str, case: str, sample_duckdb: Any) -> None:
    import math

    from kpiengine.engine import evaluate
    from kpiengine.spec import load_spec

    spec, request = CASES[case]
    expected = evaluate(load_spec(ROOT / spec), request)
    found = statements((GOLDEN / dialect / f"{case}.sql").read_text(encoding="utf-8"))
    assert len(found) <= len(expected.tables)
    for (sql, params), table in zip(found, expected.tables, strict=False):
        raw = _run_translated(sample_duckdb, with_literals(sql, params), DIALECTS[dialect][1])
        names = (["period"] if request.grain != "total" else []) + list(table.dimensions)
        names += [k.name for k in table.kpis]
        got = [dict(zip(names, map(_plain, row), strict=False)) for row in raw]
        for row in got:
            row.setdefault("period", None)
        order = ["period", *table.dimensions]

        def key(row: dict[str, Any], order: list[str] = order) -> list[str]:
            return [repr(row[k]) for k in order]

        assert len(got) == len(table.rows), table.name
        for have, want in zip(sorted(got, key=key), sorted(table.rows, key=key), strict=True):
            assert key(have) == key(want), table.name
            for kpi in table.kpis:
                a, b = have[kpi.name], want[kpi.name]
                if a is None or b is None:
                    assert a is None, (table.name, kpi.name, key(want), a, b)
                    assert b is None, (table.name, kpi.name, key(want), a, b)
                else:
                    assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12), (
                        table.name, kpi.name, key(want), a, b,
                    )  # fmt: skip
