"""Differential tests: random specs, data and requests on DuckDB, SQLite and PostgreSQL,
each compared with the reference evaluator of tests/oracle.py.

The hypothesis budget is a profile: ``default`` (the normal suite) or ``long``
(``KPI_HYPOTHESIS_PROFILE=long``), see :data:`EXAMPLES`. docs/reliability.md
states these numbers and test_reliability_doc.py keeps them true.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from collections.abc import Iterator
from typing import Any

import pytest
from differential import (
    MUTANTS,
    Databases,
    KpiCase,
    RequestCase,
    datasets,
    describe,
    kpi_cases,
    requests,
    run_case,
)
from hypothesis import HealthCheck, Phase, event, given, note, reject, settings
from hypothesis import strategies as st

from kpiengine.errors import KpiError
from kpiengine.expr.parser import parse

#: Examples per run of each hypothesis test, by profile.
EXAMPLES = {"default": 400, "long": 4000}
PROFILE = os.environ.get("KPI_HYPOTHESIS_PROFILE", "default")
if PROFILE not in EXAMPLES:
    raise ValueError(f"KPI_HYPOTHESIS_PROFILE must be one of {sorted(EXAMPLES)}, got {PROFILE!r}")

#: ``KPI_MUTANT=NAME`` runs this module against a deliberately broken compiler (a key of
#: differential.MUTANTS): the tests must then fail. Without shrinking, to fail fast.
MUTANT = os.environ.get("KPI_MUTANT")
if MUTANT is not None and MUTANT not in MUTANTS:
    raise ValueError(f"KPI_MUTANT must be one of {sorted(MUTANTS)}, got {MUTANT!r}")

for _name, _count in EXAMPLES.items():
    settings.register_profile(
        f"kpi-differential-{_name}",
        max_examples=_count,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        phases=[Phase.explicit, Phase.generate]
        if MUTANT
        else [Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
    )
DIFFERENTIAL = settings.get_profile(f"kpi-differential-{PROFILE}")


@pytest.fixture(scope="module")
def dbs(tmp_path_factory: pytest.TempPathFactory, postgres_db: str) -> Iterator[Databases]:
    databases = Databases(tmp_path_factory.mktemp("differential"), postgres_db)
    with pytest.MonkeyPatch.context() as mp:
        if MUTANT:
            MUTANTS[MUTANT](mp)
        yield databases
    databases.close()


@st.composite
def cases(draw: Any) -> tuple[Any, Any, Any]:
    kpis = draw(kpi_cases())
    data = draw(datasets())
    req = draw(requests([k.name for k in kpis]))
    return kpis, data, req


@DIFFERENTIAL
@given(case=cases())
def test_engines_agree_with_the_oracle(dbs: Databases, case: tuple[Any, Any, Any]) -> None:
    kpis, data, req = case
    outcome = run_case(dbs, kpis, data, req)
    note(describe(kpis, data, req))
    if outcome.skipped:
        event(f"skipped: {outcome.skipped.split(':')[0]}")
        reject()
    event(f"KPI values compared: {min(outcome.compared, 20) // 5 * 5}+")
    assert not outcome.mismatches, "\n".join(str(m) for m in outcome.mismatches[:10])


# -- regression examples: failures the differential tests found, fixed in the engine ----

DAY = dt.date(2024, 1, 3)  # a Wednesday


def kpi(name: str, text: str, dataset: str = "a", category: str = "p") -> KpiCase:
    return KpiCase(name, parse(text), "number", dataset, category, text)


def a_row(**values: Any) -> dict[str, Any]:
    row = {"day": DAY, "g1": "A", "g2": "x", "x": 1, "y": 2, "f": 0.5, "ok": True}
    return {**row, **values}


ROWS = {
    "a": [a_row(), a_row(g1="O'Brien", x=5, day=DAY + dt.timedelta(days=7)), a_row(x=None)],
    "b": [{"day": DAY, "g1": "A", "x": 10, "z": 1.5}],
    "c": [{"g1": "A", "w": 7}, {"g1": "B", "w": None}],
}

REGRESSIONS = {
    # `x = null` is null (SQL); SQLAlchemy had turned it into `x IS NULL`.
    "comparison with null is null": (
        [kpi("k0", "count(* where x = null)"), kpi("k1", "count(* where x != null)")],
        RequestCase(where_text="null = null or g1 = 'A'"),
    ),
    # PostgreSQL cannot sum, add to or compare an untyped NULL.
    "typed nulls": (
        [
            kpi("k0", "sum(null)"),
            kpi("k1", "coalesce(null, null) + sum(x)"),
            kpi("k2", "share(coalesce(sum(x), min(null)))"),
            kpi("k3", "sum(if(ok, null, x)) + max(least(null, null))"),
            kpi("k4", "count(* where '2024-01-03' not in (null, day))"),
        ],
        RequestCase(grain="week"),
    ),
    # 1000000 * 1000000 overflowed a 32-bit integer on PostgreSQL and DuckDB.
    "whole numbers are 64-bit": (
        [kpi("k0", "sum(x) + 1000000 * 1000000"), kpi("k1", "2147483647 + 1 + count(*)")],
        RequestCase(),
    ),
    # least()/greatest() skip nulls (they were null when the first argument was).
    "least and greatest skip nulls": (
        [
            kpi("k0", "sum(least(null, x, 3))"),
            kpi("k1", "greatest(sum(x), null, max(y))"),
            kpi("k2", "sum(greatest(x, null))"),
        ],
        RequestCase(by=("g1",)),
    ),
    # A dataset without time next to one with time: PostgreSQL could not UNION a text NULL
    # period with dates.
    "a dataset without time beside one with time": (
        [kpi("k0", "sum(a.x) + sum(c.w)"), kpi("k1", "share(sum(c.w))", "c")],
        RequestCase(grain="month"),
    ),
    # Text compared with dates by `in` and `between` is read as a date.
    "text against dates": (
        [
            kpi("k0", "count(* where '2024-01-03' in (day, null))"),
            kpi("k1", "count(* where '2024-01-05' not between day and b.day)", "b"),
        ],
        RequestCase(by=("g1",)),
    ),
    # Literal nulls everywhere a value may be (least(null, null) crashed SQLAlchemy).
    "nulls everywhere": (
        [
            kpi("k0", "count(least(null, null)) + count(greatest(null, null, null))"),
            kpi("k1", "count(* where x between null and 5) + count(* where null between x and 5)"),
            kpi("k2", "count(* where x in (null)) + count(* where null in (1, 2))"),
            kpi("k3", "count(* where null is null) + count(* where not null)"),
            kpi("k4", "count(* where null and x > 0) + count(if(null, null, null))"),
            kpi("k5", "count(coalesce(null, null)) + count(-null) + sum(abs(null))"),
            kpi("k6", "sum(round(null, null)) + count(* where g1 in (null, 'A'))"),
            kpi("k7", "count(* where day not between null and '2024-01-01')"),
        ],
        RequestCase(by=("g2",)),
    ),
    # A reference to a date KPI compared with text: the text is a date (PostgreSQL refused
    # `date = varchar` when KPI references were untyped).
    "references have their KPI's type": (
        [
            kpi("k0", "count(*) + if(k1 = '2024-01-03', 100, 0) + if(k1 in ('2024-01-10'), 1, 0)"),
            dataclasses.replace(kpi("k1", "max(day)"), type="date"),
            kpi("k2", "count(* where g1 between 'A' and 'Z') + if(k1 > '2024-01-05', 1, 0)"),
        ],
        RequestCase(by=("g1",)),
    ),
    # round(x, digits) on DuckDB needs INTEGER digits.
    "round to digits": ([kpi("k0", "round(sum(f) / 3, 2)")], RequestCase(grain="day")),
}


@pytest.mark.parametrize("name", sorted(REGRESSIONS))
def test_regression(dbs: Databases, name: str) -> None:
    kpis, req = REGRESSIONS[name]
    outcome = run_case(dbs, kpis, ROWS, req)
    assert outcome.skipped is None
    assert outcome.compared > 0
    assert not outcome.mismatches, "\n".join(str(m) for m in outcome.mismatches)


# -- the oracle really checks: deliberate compiler bugs make the comparison fail ----------

#: One case that each mutant of differential.MUTANTS gets wrong.
MUTANT_PROBE = (
    [
        kpi("k0", "sum(x + y) - sum(x - y)"),
        kpi("k1", "count(* where x <= 1) + sum(x where ok)"),
        kpi("k2", "last(x) - first(y)"),
        kpi("k3", "sum(x) / count(*)"),
        kpi("k4", "sum(a.x) + sum(b.x)"),
        kpi("k5", "sum(x) / sum(y - y)"),
    ],
    RequestCase(grain="month", by=("g1",)),
)
MUTANT_ROWS = {
    "a": [
        a_row(x=1, y=2, ok=True),
        a_row(x=2, y=3, ok=False, day=DAY + dt.timedelta(days=1)),
        a_row(g1="B", x=7, y=1, ok=True),
    ],
    "b": [{"day": DAY, "g1": "A", "x": 10, "z": 1.5}, {"day": DAY, "g1": "C", "x": 4, "z": 0.5}],
    "c": [],
}


def test_the_probe_passes_unmutated(dbs: Databases) -> None:
    kpis, req = MUTANT_PROBE
    outcome = run_case(dbs, kpis, MUTANT_ROWS, req)
    assert outcome.compared > 0
    assert not outcome.mismatches, "\n".join(str(m) for m in outcome.mismatches)


@pytest.mark.parametrize("mutant", sorted(MUTANTS))
def test_a_mutated_compiler_is_caught(
    dbs: Databases, mutant: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    MUTANTS[mutant](monkeypatch)
    kpis, req = MUTANT_PROBE
    try:
        outcome = run_case(dbs, kpis, MUTANT_ROWS, req)
    except KpiError:
        return  # the database refused the mutant's SQL: caught too
    assert outcome.mismatches, f"mutant {mutant!r} went unnoticed"
