"""The `sql` output: results into a database in one transaction, replace or append.

A run that fails, or is killed, half way leaves the tables as they were."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from kpiengine.builtins import database
from kpiengine.engine import Request, evaluate
from kpiengine.errors import KpiError
from kpiengine.registry import OutputContext
from kpiengine.spec import load_spec

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def result() -> Any:
    spec = load_spec(ROOT / "specs" / "tiktok")
    return evaluate(spec, Request(grain="month", by=("campaign",)))


def _count(url: str, table: str) -> int:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        n = conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()
    engine.dispose()
    return int(n)


def _expected_values(result: Any) -> int:
    return sum(len(t.rows) * len(t.kpis) for t in result.tables)


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_writes_every_value_and_finding(
    engine: str, result: Any, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = (
        f"sqlite:///{tmp_path / 'dash.db'}"
        if engine == "sqlite"
        else request.getfixturevalue("postgres_db")
    )
    summary = database.write(result, url, OutputContext())
    assert "(replace)" in summary
    assert _count(url, "kpi_values") == _expected_values(result)
    assert _count(url, "kpi_findings") == len(result.findings)
    db = sa.create_engine(url)
    with db.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT period, dimensions, value FROM kpi_values "
                "WHERE category = 'paid' AND kpi = 'clicks'"
            )
        ).all()
        params = json.loads(conn.execute(sa.text("SELECT parameters FROM kpi_runs")).scalar_one())
    db.dispose()
    paid = next(t for t in result.tables if t.category == "paid")
    expected = {(r["period"], r["campaign"]): r["clicks"] for r in paid.rows}
    got = {(str(p)[:10], json.loads(d)["campaign"]): v for p, d, v in rows}
    assert got == expected
    assert params["by"] == ["campaign"]
    assert params["grain"] == "month"
    # replace drops the spec's earlier runs; append keeps them
    database.write(result, url, OutputContext())
    assert _count(url, "kpi_runs") == 1
    database.write(result, url, OutputContext(options={"mode": "append"}))
    assert _count(url, "kpi_runs") == 2
    assert _count(url, "kpi_values") == 2 * _expected_values(result)


def test_segment_flags_are_stored_as_one_or_zero(result: Any, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'dash.db'}"
    database.write(result, url, OutputContext())
    ranking = next(t for t in result.tables if t.name == "Paid performance by age")
    expected = {(r["period"], r["age"]): float(r["too_small"]) for r in ranking.rows}
    assert set(expected.values()) == {0.0, 1.0}  # the rows without an age are too small
    db = sa.create_engine(url)
    with db.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT period, dimensions, value FROM kpi_values "
                "WHERE table_name = 'Paid performance by age' AND kpi = 'too_small'"
            )
        ).all()
    db.dispose()
    assert {(str(p)[:10], json.loads(d)["age"]): v for p, d, v in rows} == expected


def test_a_failure_half_way_leaves_nothing(result: Any, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'dash.db'}"
    database.write(result, url, OutputContext())
    assert result.findings
    # A finding without a message breaks the last insert, after the run and its values.
    broken = dataclasses.replace(
        result, findings=[dataclasses.replace(result.findings[0], message=None)]
    )
    with pytest.raises(KpiError, match="writing results to sqlite"):
        database.write(broken, url, OutputContext(options={"mode": "append"}))
    # the failed run was rolled back whole: still exactly the first run
    assert _count(url, "kpi_runs") == 1
    assert _count(url, "kpi_values") == _expected_values(result)


def test_options_are_checked(result: Any, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'dash.db'}"
    with pytest.raises(KpiError, match="mode must be replace or append"):
        database.write(result, url, OutputContext(options={"mode": "merge"}))
    with pytest.raises(KpiError, match="prefix"):
        database.write(result, url, OutputContext(options={"prefix": "x; DROP"}))
    with pytest.raises(KpiError, match="unknown option `colour`"):
        database.write(result, url, OutputContext(options={"colour": "red"}))


def test_cli_writes_to_a_database_and_hides_the_password(tmp_path: Path) -> None:
    env = {**os.environ, "NO_COLOR": "1"}
    target = f"sqlite:///{tmp_path / 'dash.db'}"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "kpiengine",
            "run",
            "specs/tiktok",
            "--format",
            "sql",
            "-o",
            target,
            "-O",
            "prefix=tiktok_",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "wrote run" in proc.stderr
    assert _count(target, "tiktok_values") > 0
    bad = "postgresql+psycopg://writer:t0ps3cret@127.0.0.1:9/dash"
    proc = subprocess.run(
        [sys.executable, "-m", "kpiengine", "run", "specs/tiktok", "--format", "sql", "-o", bad],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "writer:***@127.0.0.1:9" in proc.stderr
    assert "t0ps3cret" not in proc.stderr + proc.stdout
    missing = subprocess.run(
        [sys.executable, "-m", "kpiengine", "run", "specs/tiktok", "--format", "sql"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert missing.returncode == 2
    assert "give it with --output" in missing.stderr


# A ``kpi`` that stops for good right after it has inserted the run's values, inside the
# write's transaction (the spec's earlier run already deleted by mode=replace), says so
# in the flag file and waits to be killed.
STUB = r"""
import os, runpy, sys, time
import sqlalchemy as sa

flag = sys.argv[1]
sys.argv = ["kpi", *sys.argv[2:]]

@sa.event.listens_for(sa.engine.Engine, "after_cursor_execute")
def stop(conn, cursor, statement, parameters, context, executemany):
    if statement.lstrip().upper().startswith("INSERT INTO KPI_VALUES"):
        with open(flag + ".tmp", "w") as fh:
            fh.write("inserted")
        os.replace(flag + ".tmp", flag)
        time.sleep(600)
        raise SystemExit("not killed")

runpy.run_module("kpiengine", run_name="__main__")
"""


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_a_run_killed_mid_write_leaves_the_earlier_run(
    engine: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = (
        f"sqlite:///{tmp_path / 'dash.db'}"
        if engine == "sqlite"
        else request.getfixturevalue("postgres_db")
    )
    args = ["run", "specs/tiktok", "--grain", "week", "--format", "sql", "-o", url]
    first = subprocess.run(
        [sys.executable, "-m", "kpiengine", *args], cwd=ROOT, capture_output=True, timeout=300
    )
    assert first.returncode == 0, first.stderr.decode()
    db = sa.create_engine(url, poolclass=sa.pool.NullPool)

    def state() -> tuple[list[Any], int, int]:
        with db.connect() as conn:
            runs = conn.execute(sa.text("SELECT run_id FROM kpi_runs")).scalars().all()
            values = conn.execute(sa.text("SELECT count(*) FROM kpi_values")).scalar_one()
            findings = conn.execute(sa.text("SELECT count(*) FROM kpi_findings")).scalar_one()
        return list(runs), int(values), int(findings)

    before = state()
    assert len(before[0]) == 1
    assert before[1] > 0
    assert before[2] > 0
    flag = tmp_path / "flag"
    proc = subprocess.Popen(
        [sys.executable, "-c", STUB, str(flag), *args],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 240
        while not flag.exists():
            if proc.poll() is not None:
                pytest.fail(f"the run ended before it wrote:\n{proc.communicate()[1].decode()}")
            assert time.monotonic() < deadline, "the values were never inserted"
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stderr.close()  # type: ignore[union-attr]
    assert proc.returncode == -signal.SIGKILL
    assert flag.read_text() == "inserted"  # killed with the new values inserted, uncommitted
    # The killed run's delete and inserts were rolled back: the earlier run, whole.
    assert state() == before
    db.dispose()
