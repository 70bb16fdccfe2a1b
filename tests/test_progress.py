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
    with progress.reporting(recorder):
        result = evaluate(load_spec(ROOT / "specs" / "tiktok"), Request(grain="week"))
    starts = [e for e in recorder.events if e[0] == "start"]
    assert ("start", ("running queries", len(result.tables))) in starts
    assert sum(1 for e in recorder.events if e[0] == "advance") >= len(result.tables)
    assert sum(1 for e in recorder.events if e[0] == "finish") == len(starts)


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
