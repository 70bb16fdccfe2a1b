"""Fuzzing the front end: random and mutated expressions and spec files.

Whatever the input, the parser, the spec loader and the checker either succeed or
raise kpiengine's own :class:`~kpiengine.errors.KpiError` (exit code 2 from the CLI),
within a time bound, and ``kpi validate`` never prints a traceback.

The hypothesis budget follows ``KPI_HYPOTHESIS_PROFILE`` like the differential tests
(see :data:`EXAMPLES`, stated in docs/reliability.md).
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from limits import bounded

from kpiengine.check import check_spec
from kpiengine.engine import Request, explain
from kpiengine.errors import KpiError
from kpiengine.expr.ast import ExprText
from kpiengine.expr.parser import parse
from kpiengine.pluginmanager import default_plugins
from kpiengine.spec import Spec, load_spec

ROOT = Path(__file__).resolve().parents[1]

#: Examples per run of each fuzz test, by profile.
EXAMPLES = {"default": 300, "long": 5000}
PROFILE = os.environ.get("KPI_HYPOTHESIS_PROFILE", "default")
FUZZ = settings(
    max_examples=EXAMPLES[PROFILE],
    deadline=None,  # the bound is enforced by `bounded`, which also stops a real hang
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
#: Seconds one parse, load, check or compile may take, however odd the input.
TIME_BOUND = 10.0
#: Spec files the CLI validates in a subprocess (each costs a Python start-up).
CLI_SAMPLE = 12


def only_kpi_errors(call: Callable[[], Any]) -> KpiError | None:
    """Run ``call``; return the KpiError it raised, None if it succeeded. Anything
    else (a crash, a hang) fails the test."""
    with bounded(TIME_BOUND):
        try:
            call()
        except KpiError as exc:
            error = exc
        else:
            return None
    assert error.render().strip(), "an error without a message"
    return error


# -- inputs --------------------------------------------------------------------------------

#: Valid expressions over the shop example (docs/examples/shop), to mutate.
EXPRESSIONS = [
    "sum(orders) / sum(visits)",
    "sum(revenue where channel = 'ads' and date >= '2026-03-01')",
    "count(* where country in ('DE', 'FR') or not (visits between 1 and 2))",
    "round(coalesce(revenue_share, 0), 2) + -greatest(orders, visits, 3.5e2) * 10%",
    "share(last(orders.revenue)) - first(visits) # comment",
    "count(if(visits is not null, \"it's\", 'O''Brien') <> 'a\\\\b')",
    "count_distinct(channel where revenue > 0.5%) + least(conversion_rate, null, 1)",
    "avg(abs(revenue - orders)) * max(date where orders = 0) is null",
]
TOKENS = [
    "(", ")", "((", "))", ",", "'", '"', "''", "\\", "*", "/", "+", "-", "--", "%", "#",
    ".", "..", "=", "<>", "!=", "<=", "where", "and", "or", "not", "in", "between", "is",
    "null", "true", "sum(", "count(*", "share(", "if(", "1e999", "99999999999999999999999",
    "0.", ".5", "1e", "\n", "\t", " ", "\x00", "é", "𝔘", "\u202e", "x.y.z", "_",
]  # fmt: skip


def mutated(base: st.SearchStrategy[str], tokens: list[str]) -> st.SearchStrategy[str]:
    """``base`` with a few random edits: deletions, duplications, inserted tokens."""

    @st.composite
    def edit(draw: Any) -> str:
        text = draw(base)
        for _ in range(draw(st.integers(1, 4))):
            i = draw(st.integers(0, len(text)))
            j = draw(st.integers(i, min(len(text), i + 8)))
            kind = draw(st.sampled_from(["insert", "delete", "duplicate", "replace"]))
            token = draw(st.sampled_from(tokens) | st.text(max_size=3))
            if kind == "insert":
                text = text[:i] + token + text[i:]
            elif kind == "delete":
                text = text[:i] + text[j:]
            elif kind == "duplicate":
                text = text[:j] + text[i:j] + text[j:]
            else:
                text = text[:i] + token + text[j:]
        return text

    return edit()


expressions = st.one_of(
    mutated(st.sampled_from(EXPRESSIONS), TOKENS),
    st.lists(st.sampled_from([*TOKENS, "x", "1", "sum", "a"]), max_size=30).map(" ".join),
    st.text(max_size=60),
)

SPEC_FILES = sorted([*ROOT.glob("specs/tiktok/*.yaml"), *ROOT.glob("docs/examples/*/*.yaml")])
YAML_TOKENS = [
    *TOKENS, ": ", "- ", "&a ", "*a", "<<: ", "!!python/object:os.system ", "!!binary ", "---",
    "...", "{", "}", "[", "]", "? ", "|", ">-", "~", ".nan", "2024-01-01", "0x1F", "!!set ",
    "kpis:", "datasets:", "sources:", "expr: ", "\n  ", "\n    - ", "\ufeff", "\r\n",
]  # fmt: skip

KEYS = [
    "name", "sources", "datasets", "kpis", "rules", "defaults", "source", "table", "time",
    "dimensions", "columns", "expr", "when", "level", "message", "kpi", "format", "x", "1",
]  # fmt: skip
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(), st.sampled_from(EXPRESSIONS),
    st.text(max_size=20),
)  # fmt: skip
trees = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=30,
)
spec_texts = st.one_of(
    mutated(st.sampled_from(SPEC_FILES).map(lambda p: p.read_text(encoding="utf-8")), YAML_TOKENS),
    trees.map(lambda t: yaml.safe_dump(t, allow_unicode=True)),
    st.text(max_size=200),
)


# -- the tests ---------------------------------------------------------------------------


@FUZZ
@given(text=expressions)
def test_the_parser_raises_only_user_errors(text: str) -> None:
    only_kpi_errors(lambda: parse(text))


def _columns(spec: Any) -> dict[str, dict[str, str]]:
    return {name: dict(ds.columns or {}) for name, ds in spec.datasets.items()}


def _shop_spec(expr: str) -> Spec:
    """The shop example with declared columns and one more KPI, ``fuzzed``."""
    spec = load_spec(ROOT / "docs" / "examples" / "shop" / "shop.yaml")
    orders = spec.datasets["orders"]
    spec.datasets["orders"] = dataclasses.replace(
        orders,
        columns={
            "date": "date", "country": "string", "channel": "string", "visits": "number",
            "orders": "number", "revenue": "number",
        },
    )  # fmt: skip
    revenue = spec.kpis["revenue"]
    spec.kpis["fuzzed"] = dataclasses.replace(revenue, name="fuzzed", expr=ExprText(expr))
    return spec


@FUZZ
@given(text=expressions)
def test_the_checker_and_compiler_raise_only_user_errors(text: str) -> None:
    spec = _shop_spec(text)
    columns = _columns(spec)
    if only_kpi_errors(lambda: check_spec(spec, columns, default_plugins().functions)):
        event("rejected by the parser or the checker")
        return
    event("checked, then compiled")
    # It checks: then it compiles, for every dialect, without opening the source.
    for dialect in ("duckdb", "sqlite", "postgresql"):
        only_kpi_errors(lambda d=dialect: explain(spec, Request(kpis=("fuzzed",)), dialect=d))


@FUZZ
@given(text=spec_texts | st.binary(max_size=200).map(lambda b: b.decode("latin-1")))
def test_the_spec_loader_and_checker_raise_only_user_errors(
    text: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    path = tmp_path_factory.mktemp("fuzz") / "spec.yaml"
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    loaded: list[Any] = []
    error = only_kpi_errors(lambda: loaded.append(load_spec(path)))
    event("rejected by the loader" if error else "loaded")
    if error is None:
        spec = loaded[0]
        only_kpi_errors(lambda: check_spec(spec, _columns(spec), default_plugins().functions))


@pytest.fixture(scope="module")
def broken_specs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Mutated spec files that the loader or the checker rejects in-process."""
    folder = tmp_path_factory.mktemp("broken")
    found: list[Path] = []

    @settings(max_examples=200, database=None, deadline=None)
    @given(text=spec_texts)
    def collect(text: str) -> None:
        if len(found) >= CLI_SAMPLE:
            return
        path = folder / f"spec{len(found)}.yaml"
        path.write_text(text, encoding="utf-8")
        try:
            spec = load_spec(path)
            check_spec(spec, _columns(spec), default_plugins().functions)
        except KpiError:
            found.append(path)
            return
        path.unlink()

    collect()
    assert len(found) == CLI_SAMPLE
    return found


def test_kpi_validate_exits_2_without_a_traceback(broken_specs: list[Path]) -> None:
    for path in broken_specs:
        proc = subprocess.run(
            [sys.executable, "-m", "kpiengine", "validate", str(path)],
            capture_output=True,
            text=True,
            timeout=60,
            env={k: v for k, v in os.environ.items() if k != "KPI_DEBUG"},
        )
        assert proc.returncode == 2, (path.read_text(encoding="utf-8"), proc.stderr)
        assert "Traceback" not in proc.stdout + proc.stderr
        assert "error" in proc.stderr, proc.stderr
