"""``kpi run --format html -o report.html`` on the shipped TikTok sample, end to end.

The report must stay under 2 MB for the sample data, and a run killed half way must
leave no half-written report behind.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from html_dom import parse

ROOT = Path(__file__).resolve().parents[3]
SPEC = ROOT / "specs" / "tiktok"
LIMIT = 2_000_000  # bytes

pytestmark = pytest.mark.skipif(not SPEC.is_dir(), reason="needs the kpiengine checkout's specs")


def kpi(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kpiengine", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
    )


@pytest.mark.parametrize(
    "args",
    [
        ["--grain", "week", "--by", "campaign", "--compare", "previous"],
        ["--grain", "day", "--by", "campaign", "--compare", "previous"],  # the longest series
        ["--grain", "month", "--compare", "year"],
        ["--grain", "total"],
    ],
    ids=["week-by-campaign", "day-by-campaign", "month-year", "total"],
)
def test_the_sample_report_is_whole_and_small(tmp_path: Path, args: list[str]) -> None:
    proc = kpi("run", str(SPEC), *args, "--format", "html", "-o", "report.html", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    report = tmp_path / "report.html"
    size = report.stat().st_size
    assert size < LIMIT, f"{size:,} bytes"
    text = report.read_text(encoding="utf-8")
    assert text.endswith("</html>\n")
    dom = parse(text)
    categories = [s.attrs.get("data-category") for s in dom.find_all("section", cls="category")]
    assert categories[:2] == ["organic", "paid"]
    assert categories[-1] is None
    for figure in dom.find_all("figure", cls="chart"):
        assert figure.find("svg").find_all("path")
    if "--grain" in args and args[args.index("--grain") + 1] != "total":
        assert dom.find_all("figure", cls="chart")
    assert [p for p in tmp_path.iterdir() if p.name != "report.html"] == []  # no temp left


# A ``kpi`` whose writes of a report stop half way and hang: every file object opened
# for writing (``open``, ``os.fdopen``) and ``os.write`` write the first half of an
# HTML document, say so in the flag file, and wait to be killed. Wherever the CLI
# writes the report, the kill lands with half of it on disk.
STUB = r"""
import builtins, io, os, runpy, sys, time

flag = sys.argv[1]
sys.argv = ["kpi", *sys.argv[2:]]

def hang(data, write):
    text = data if isinstance(data, str) else bytes(data).decode("utf-8", "replace")
    if not text.lstrip().lower().startswith("<!doctype html"):
        return None
    half = len(data) // 2
    write(data[:half])
    with io.open(flag + ".tmp", "w") as fh:
        fh.write(str(half))
    os.replace(flag + ".tmp", flag)
    time.sleep(600)
    raise SystemExit("not killed")

class Writer:
    def __init__(self, fh):
        self._fh = fh
    def write(self, data):
        def write_now(part):
            self._fh.write(part)
            self._fh.flush()
        if hang(data, write_now) is None:
            return self._fh.write(data)
    def __enter__(self):
        return self
    def __exit__(self, *exc):
        return self._fh.__exit__(*exc)
    def __getattr__(self, name):
        return getattr(self._fh, name)
    def __iter__(self):
        return iter(self._fh)

def wrap(opener):
    def opened(*args, **kwargs):
        fh = opener(*args, **kwargs)
        mode = args[1] if len(args) > 1 else kwargs.get("mode", "r")
        return Writer(fh) if any(c in str(mode) for c in "wax+") else fh
    return opened

builtins.open = io.open = wrap(io.open)
os.fdopen = wrap(os.fdopen)
real_write = os.write
def os_write(fd, data):
    if hang(data, lambda part: real_write(fd, part)) is None:
        return real_write(fd, data)
os.write = os_write

runpy.run_module("kpiengine", run_name="__main__")
"""


def _run_and_kill_mid_write(tmp_path: Path, report: Path) -> int:
    flag = tmp_path / "flag"
    proc = subprocess.Popen(
        [sys.executable, "-c", STUB, str(flag), "run", str(SPEC), "--grain", "week",
         "--compare", "previous", "--format", "html", "-o", str(report)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 240
        while not flag.exists():
            if proc.poll() is not None:
                _out, err = proc.communicate()
                pytest.fail(f"the run ended before it wrote the report:\n{err.decode()}")
            assert time.monotonic() < deadline, "the report was never written"
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()  # type: ignore[union-attr]
        proc.stderr.close()  # type: ignore[union-attr]
    assert proc.returncode == -signal.SIGKILL
    half = int(flag.read_text())
    flag.unlink()
    return half


def test_killed_mid_write_leaves_the_old_report(tmp_path: Path) -> None:
    report = tmp_path / "report.html"
    report.write_text("<p>the report of the run before</p>\n", encoding="utf-8")
    half = _run_and_kill_mid_write(tmp_path, report)
    assert report.read_text(encoding="utf-8") == "<p>the report of the run before</p>\n"
    # The half that was written went to a temporary file beside it, never to the report.
    leftovers = [p for p in tmp_path.iterdir() if p != report]
    assert leftovers, "the kill did not land mid-write"
    assert all(p.name.startswith(".report.html.") for p in leftovers), leftovers
    assert [p.stat().st_size for p in leftovers] == [half]


def test_killed_mid_write_leaves_no_report(tmp_path: Path) -> None:
    report = tmp_path / "report.html"
    _run_and_kill_mid_write(tmp_path, report)
    assert not report.exists()


@pytest.mark.parametrize("after", [0.0, 0.5])
def test_killed_right_after_start_leaves_no_report(tmp_path: Path, after: float) -> None:
    report = tmp_path / "report.html"
    proc = subprocess.Popen(
        [sys.executable, "-m", "kpiengine", "run", str(SPEC), "--grain", "week",
         "--format", "html", "-o", str(report)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=tmp_path,
    )  # fmt: skip
    time.sleep(after)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL  # killed long before it could finish
    assert not report.exists()
