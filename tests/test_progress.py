"""Progress on long work: reported through kpiengine.progress, shown only on a terminal."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

from kpiengine import progress
from kpiengine.engine import Request, evaluate
from kpiengine.spec import load_spec

ROOT = Path(__file__).resolve().parents[1]


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, object]] = []

    def start(self, description: str, total: int | None) -> int:
        self.events.append(("start", (description, total)))
        return len(self.events)

    def advance(self, task_id: int, amount: int = 1) -> None:
        self.events.append(("advance", task_id))

    def finish(self, task_id: int) -> None:
        self.events.append(("finish", task_id))


def test_evaluate_reports_each_query() -> None:
    recorder = Recorder()
    spec = load_spec(ROOT / "specs" / "tiktok")
    with progress.reporting(recorder):
        result = evaluate(spec, Request(grain="week"))
    # One statement per KPI table (audience, paid_audience, organic, paid); the organic
    # against paid comparison over the weeks and over the whole range; one query per
    # segment ranking.
    kpi_tables = ["audience", "paid_audience", "organic", "paid"]
    assert [t.name for t in result.tables[:4]] == kpi_tables
    expected = [
        ("running queries", len(kpi_tables)),
        ("comparing organic and paid", len(spec.comparisons) * 2),
        ("ranking segments", len(spec.segments)),
    ]
    events = recorder.events
    starts = {i + 1: e[1] for i, e in enumerate(events) if e[0] == "start"}  # task id → task
    assert [task for task in starts.values() if task[0] in dict(expected)] == expected
    for task_id, (_, total) in starts.items():  # every task advanced to its total, finished
        if total is not None:
            assert events.count(("advance", task_id)) == total, starts[task_id]
        assert events.count(("finish", task_id)) == 1


def test_silent_without_a_reporter() -> None:
    with progress.task("nothing to see", total=3) as step:
        step()  # no reporter installed: nothing happens, nothing fails


def _run_with_stderr(tty: bool) -> str:
    cmd = [
        sys.executable,
        "-m",
        "kpiengine",
        "run",
        "specs/tiktok",
        "--grain",
        "week",
        "--format",
        "json",
        "-o",
        os.devnull,
    ]
    env = {**os.environ, "TERM": "xterm", "COLUMNS": "100"}
    env.pop("KPI_NO_PROGRESS", None)
    if not tty:
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=True)
        return proc.stderr
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=follower, stdin=subprocess.DEVNULL
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 4096)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=60)
    os.close(leader)
    assert proc.returncode == 0
    return b"".join(chunks).decode("utf-8", "replace")


def test_progress_is_shown_on_a_terminal_only() -> None:
    assert "running queries" in _run_with_stderr(tty=True)
    assert "running queries" not in _run_with_stderr(tty=False)
