"""Re-run the ``$ kpi …`` examples in docs/*.md and write their real output back.

Examples whose expected output elides lines with ``…`` are left alone (update them
by hand); ``tests/test_docs.py`` checks every example, elided or not.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from test_docs import NOT_RUN, NOT_RUN_BLOCKS  # noqa: E402 - shares the test's rules


def run(command: str) -> str:
    env = {**os.environ, "COLUMNS": "100"}
    env.pop("NO_COLOR", None)
    env.pop("PYTHONPATH", None)
    args = shlex.split(command)
    proc = subprocess.run(
        [sys.executable, "-m", "kpiengine", *args[1:]],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return (proc.stdout + proc.stderr).rstrip("\n")


def update_block(block: str) -> str:
    if any(s in block for s in NOT_RUN_BLOCKS):
        return block
    lines = block.rstrip("\n").split("\n")
    starts = [i for i, line in enumerate(lines) if line.startswith("$ ")]
    out = lines[: starts[0]] if starts else lines
    for n, i in enumerate(starts):
        end = starts[n + 1] if n + 1 < len(starts) else len(lines)
        command, expected = lines[i][2:], lines[i + 1 : end]
        out.append(lines[i])
        runnable = command.startswith("kpi") and not any(s in command for s in NOT_RUN)
        if runnable and expected and "…" not in expected:
            out.extend(run(command).split("\n"))
        else:
            out.extend(expected)
    return "\n".join(out) + "\n"


def main() -> int:
    for page in sorted((ROOT / "docs").glob("*.md")):
        text = page.read_text(encoding="utf-8")
        new = re.sub(
            r"(```console\n)(.*?)(```)",
            lambda m: m.group(1) + update_block(m.group(2)) + m.group(3),
            text,
            flags=re.DOTALL,
        )
        if new != text:
            page.write_text(new, encoding="utf-8")
            print(f"updated {page.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
