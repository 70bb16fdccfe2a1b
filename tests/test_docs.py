"""The docs stay true: help blocks match the CLI, examples give the output shown, links resolve."""

from __future__ import annotations

import importlib.util
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PAGES = sorted(p for p in DOCS.glob("*.md") if p.name != "performance.md")

# Examples that need what a test machine lacks (a warehouse, a file the reader makes,
# an install step) are shown but not run.
NOT_RUN = ("path/to", "warehouse", "postgresql+", "schema.json", " -o ", "--output")
# Blocks that show a plugin the reader installs first are not run at all.
NOT_RUN_BLOCKS = ("pip install", "jsonl")


def _examples() -> list[tuple[str, str, str]]:
    found = []
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for block in re.findall(r"```console\n(.*?)```", text, re.DOTALL):
            if any(s in block for s in NOT_RUN_BLOCKS):
                continue  # the block depends on a step that is not run
            lines = block.rstrip("\n").split("\n")
            starts = [i for i, line in enumerate(lines) if line.startswith("$ ")]
            for n, i in enumerate(starts):
                end = starts[n + 1] if n + 1 < len(starts) else len(lines)
                command = lines[i][2:]
                if command.startswith("kpi") and not any(s in command for s in NOT_RUN):
                    found.append((page.name, command, "\n".join(lines[i + 1 : end])))
    return found


EXAMPLES = _examples()


def test_there_are_examples_to_check() -> None:
    assert len(EXAMPLES) >= 15


def run_example(command: str) -> tuple[int, str]:
    """Run a documented ``kpi …`` command as a reader would: its exit code and output."""
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
    return proc.returncode, (proc.stdout + proc.stderr).rstrip("\n")


@pytest.mark.parametrize(("page", "command", "expected"), EXAMPLES, ids=[e[1] for e in EXAMPLES])
def test_examples_give_the_output_shown(page: str, command: str, expected: str) -> None:
    code, got = run_example(command)
    assert code in (0, 1, 2), got
    if not expected:  # a list of commands without their output: they must just work
        assert code in (0, 1), got
        return
    if "…" not in expected:
        assert got == expected, f"{page}: {command}"
        return
    position = 0  # with `…` lines elided, the other lines appear in order
    for line in expected.split("\n"):
        if line == "…":
            continue
        found = got.find(line, position)
        assert found >= 0, f"{page}: {command}: missing {line!r}\n{got}"
        position = found + len(line)


def test_cli_help_blocks_are_up_to_date() -> None:
    path = ROOT / "scripts" / "update_cli_docs.py"
    spec = importlib.util.spec_from_file_location("update_cli_docs", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    text = module.CLI_MD.read_text(encoding="utf-8")
    assert text.count("<!-- help: ") >= 6
    assert module.render(text) == text, "run: python scripts/update_cli_docs.py"


@pytest.mark.parametrize("page", [*PAGES, ROOT / "README.md"], ids=lambda p: p.name)
def test_relative_links_resolve(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
        if "://" in target or target.startswith("mailto:"):
            continue
        assert (page.parent / target).exists(), f"{page.name}: broken link {target}"
