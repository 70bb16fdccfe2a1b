"""Regenerate the ``kpi … --help`` blocks in docs/cli.md (``--check``: only compare).

Each block follows a marker ``<!-- help: COMMAND -->`` (``kpi`` for the top level)
and holds the exact help text at 100 columns.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLI_MD = ROOT / "docs" / "cli.md"
BLOCK = re.compile(r"(<!-- help: (?P<cmd>[\w-]+) -->\n```text\n)(?P<body>.*?)(```)", re.DOTALL)


def help_text(command: str) -> str:
    args = ["--help"] if command == "kpi" else [command, "--help"]
    env = {**os.environ, "COLUMNS": "100", "NO_COLOR": "1", "TERM": "dumb"}
    proc = subprocess.run(
        [sys.executable, "-m", "kpiengine", *args],
        capture_output=True,
        text=True,
        env=env,
        check=True,
        cwd=ROOT,
    )
    return proc.stdout.rstrip() + "\n"


def render(text: str) -> str:
    return BLOCK.sub(lambda m: m.group(1) + help_text(m.group("cmd")) + m.group(4), text)


def main() -> int:
    text = CLI_MD.read_text(encoding="utf-8")
    new = render(text)
    if "--check" in sys.argv:
        if new != text:
            print("docs/cli.md is out of date: run python scripts/update_cli_docs.py")
            return 1
        return 0
    CLI_MD.write_text(new, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
