"""Helpers for the TikTok plugin's tests: run the real CLI on the shipped catalogue.

Every test goes through ``python -m kpiengine run specs/tiktok --source …``, the way a
user runs it, and reads the ``--format json`` output.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[3]
SPEC = ROOT / "specs" / "tiktok"


def kpi(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kpiengine", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=300,
        check=False,
    )


def run(*args: str, kpis: tuple[str, ...] = (), cwd: Path = ROOT) -> dict[str, Any]:
    """``kpi run specs/tiktok ARGS --kpi … --format json``, which must exit 0."""
    selected = [x for k in kpis for x in ("--kpi", k)]
    proc = kpi("run", str(SPEC), "--format", "json", *selected, *args, cwd=cwd)
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stderr}"
    assert "Traceback" not in proc.stderr
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


def fails(*args: str, cwd: Path = ROOT) -> str:
    """``kpi run specs/tiktok ARGS``, which must exit 2 without a traceback; its stderr."""
    proc = kpi("run", str(SPEC), "--format", "json", *args, cwd=cwd)
    assert proc.returncode == 2, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    assert "Traceback" not in proc.stderr
    assert proc.stdout == ""
    return proc.stderr


def rows(result: dict[str, Any], category: str, by: tuple[str, ...] = ()) -> dict[Any, Any]:
    """The rows of ``category``'s table broken down by ``by``, keyed by (period, *dims).

    Segment rankings (tables with a ``rank`` column, such as "Best hours to post", also
    of category audience and by hour) are not KPI tables: :func:`table` finds them."""
    tables = [
        t
        for t in result["tables"]
        if t["category"] == category and tuple(t["dimensions"]) == by and "rank" not in t["kpis"]
    ]
    assert len(tables) == 1, [(t["name"], t["dimensions"]) for t in result["tables"]]
    return {(r["period"], *(r[d] for d in by)): r for r in tables[0]["rows"]}


def table(result: dict[str, Any], name: str) -> list[dict[str, Any]]:
    """The rows of the table called ``name``, in order."""
    (found,) = [t for t in result["tables"] if t["name"] == name]
    rows: list[dict[str, Any]] = found["rows"]
    return rows


def one(result: dict[str, Any], category: str) -> dict[str, Any]:
    """The single row of ``category`` at grain total without breakdown."""
    table = rows(result, category)
    assert list(table) == [(None,)]
    row: dict[str, Any] = table[(None,)]
    return row


def studio_csv(*lines: str, bom: bool = True) -> bytes:
    """A CSV as TikTok Studio writes it: the lines as given, joined with ``\\n`` and no
    newline at the end, behind a BOM."""
    return (("\ufeff" if bom else "") + "\n".join(lines)).encode("utf-8")


def write_zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def xlsx(rows: list[list[Any]]) -> bytes:
    """A one-sheet workbook holding ``rows`` (openpyxl)."""
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()
