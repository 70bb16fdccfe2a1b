"""Re-run the ``$ kpi …`` examples in docs/*.md and write their real output back.

Examples whose expected output elides lines with ``…`` are left alone (update them
by hand); ``tests/test_docs.py`` checks every example, elided or not.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from test_docs import NOT_RUN, NOT_RUN_BLOCKS, run_example  # noqa: E402 - the test's rules


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
            out.extend(run_example(command)[1].split("\n"))
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
