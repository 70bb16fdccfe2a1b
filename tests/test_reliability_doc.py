"""docs/reliability.md states how much is tested; this keeps its numbers true."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import test_differential
import test_fuzz
import test_hostile
from differential import MUTANTS

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "reliability.md"


def counts() -> dict[str, int]:
    own_hostile = [
        name
        for name, fn in inspect.getmembers(test_hostile, inspect.isfunction)
        if name.startswith("test_")
        and fn.__module__ == test_hostile.__name__
        and name
        not in (
            "test_hostile_case",
            "test_every_case_names_its_outcome",
            "test_the_data_is_what_the_cases_expect",
        )
    ]
    fuzz_tests = [
        name
        for name, fn in inspect.getmembers(test_fuzz, inspect.isfunction)
        if name.startswith("test_") and hasattr(fn, "hypothesis")
    ]
    return {
        "hostile corpus cases (files in tests/hostile/)": len(test_hostile.CASES),
        "hostile corpus runs (a case once per engine it names)": len(list(test_hostile._params())),
        "hostile cases written as test functions": len(own_hostile),
        "databases compared with the oracle": 3,
        "differential examples per run (default profile)": test_differential.EXAMPLES["default"],
        "differential examples per run (long profile)": test_differential.EXAMPLES["long"],
        "regression examples the differential tests found": len(test_differential.REGRESSIONS),
        "compiler mutants the probe catches": len(MUTANTS),
        "fuzz tests": len(fuzz_tests),
        "fuzz examples per test per run (default profile)": test_fuzz.EXAMPLES["default"],
        "fuzz examples per test per run (long profile)": test_fuzz.EXAMPLES["long"],
        "broken spec files `kpi validate` checks in a subprocess": test_fuzz.CLI_SAMPLE,
    }


def test_the_counts_in_docs_reliability_are_true() -> None:
    doc = DOC.read_text(encoding="utf-8")
    table = dict(re.findall(r"^\| (.+?) \| (\d+) \|$", doc, re.MULTILINE))
    for label, value in counts().items():
        assert label in table, f"docs/reliability.md lacks the row `| {label} | {value} |`"
        assert int(table[label]) == value, f"docs/reliability.md: {label} is {value}"


def test_every_mutant_is_described() -> None:
    doc = DOC.read_text(encoding="utf-8")
    for name in MUTANTS:
        assert f"`{name}`" in doc, name
