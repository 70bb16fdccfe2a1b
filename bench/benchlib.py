"""Shared helpers for the benchmark scripts: timing, the machine, and docs/performance.md.

Each benchmark owns one section of ``docs/performance.md``, delimited by
``<!-- bench:NAME:start -->`` and ``<!-- bench:NAME:end -->``; :func:`write_section`
rewrites that section and leaves the rest of the file alone.
"""

from __future__ import annotations

import datetime as dt
import gc
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
PERFORMANCE_MD = REPO / "docs" / "performance.md"

HEADER = """\
# Performance

Measured figures for kpiengine, written by the benchmark scripts in `bench/`
(see `bench/README.md`). Each section below is rewritten by the script named in it;
run that script to refresh the numbers on your machine. Times are wall-clock
medians over repeated runs on a warm operating-system file cache.
"""


def clock(fn: Callable[[], Any]) -> float:
    """Seconds one call of ``fn`` takes, timed as ``timeit`` times: the cyclic garbage
    collector run before and paused during the call.

    Otherwise a full collection (45 ms in the suite's process, which holds pandas, polars
    and pyarrow) lands on whichever call crosses the collector's threshold, and the
    same calls in each round: the suite once measured evaluate() at 1.23x the
    hand-written SQL that way, against 1.12-1.15x with the collector paused.
    """
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        start = time.perf_counter()
        fn()
        return time.perf_counter() - start
    finally:
        if was_enabled:
            gc.enable()


def median_time(fn: Callable[[], Any], repeat: int) -> tuple[float, list[float]]:
    """Run ``fn`` ``repeat`` times; the median and every time, in seconds."""
    times = [clock(fn) for _ in range(repeat)]
    return statistics.median(times), times


def process_time(argv: Sequence[str], cwd: Path, repeat: int) -> tuple[float, list[float]]:
    """Median wall time of a whole process (start, run, exit); it must exit 0."""

    def once() -> None:
        done = subprocess.run(argv, cwd=cwd, capture_output=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(
                f"{' '.join(argv[:3])} … exited {done.returncode}: "
                + done.stderr.decode(errors="replace")[-2000:]
            )

    return median_time(once, repeat)


def kpi_command() -> list[str]:
    """The `kpi` CLI of the running interpreter's environment (no PATH lookup)."""
    script = Path(sys.executable).with_name("kpi")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "kpiengine"]


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def _ram() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                kib = int(line.split()[1])
                return f"{kib / 1024 / 1024:.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return "unknown"


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def machine() -> dict[str, str]:
    """The machine and software versions, without host names or paths."""
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count() or 0
    return {
        "CPU": _cpu_model(),
        "cores": f"{usable} usable ({os.cpu_count()} online)",
        "RAM": _ram(),
        "OS": f"{platform.system()} {platform.release().split('-')[0]} ({platform.machine()})",
        "Python": platform.python_version(),
        "kpiengine": _version("kpiengine"),
        "duckdb": _version("duckdb"),
        "duckdb-engine": _version("duckdb-engine"),
        "SQLAlchemy": _version("SQLAlchemy"),
    }


def machine_table() -> str:
    rows = ["| | |", "|---|---|"]
    rows += [f"| {k} | {v} |" for k, v in machine().items()]
    try:
        load = Path("/proc/loadavg").read_text().split()[0]
        rows.append(f"| load average (1 min) at start | {load} |")
    except (OSError, IndexError):
        pass
    rows.append(f"| date | {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')} |")
    return "\n".join(rows)


def write_section(name: str, body: str, path: Path = PERFORMANCE_MD) -> None:
    """Replace (or append) the ``bench:NAME`` section of ``path`` with ``body``."""
    start, end = f"<!-- bench:{name}:start -->", f"<!-- bench:{name}:end -->"
    block = f"{start}\n{body.strip()}\n{end}"
    text = path.read_text(encoding="utf-8") if path.exists() else HEADER
    if start in text and end in text:
        before, rest = text.split(start, 1)
        _, after = rest.split(end, 1)
        text = before + block + after
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".md.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def seconds(value: float) -> str:
    """A duration for a table."""
    if value < 0.1:
        return f"{value * 1000:.1f} ms"
    if value < 1:
        return f"{value * 1000:.0f} ms"
    return f"{value:.2f} s"
