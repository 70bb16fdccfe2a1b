"""The sample API answers in ``specs/tiktok/exports/api`` against the sample CSVs.

``scripts/make_api_samples.py`` writes the answers TikTok's APIs would have sent for
the numbers in ``specs/tiktok/data/*.csv``. Here: the script is deterministic and its
output is the one committed; the ``tiktok-api:`` source reads back every CSV value;
and the shipped catalogue gives the same KPI values on the API answers as on the
CSVs, except the KPIs that need new and returning viewers, which the APIs do not give.
"""

from __future__ import annotations

import csv
import datetime as dt
import filecmp
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from kpiengine_tiktok import api
from kpiengine_tiktok.canonical import TABLES

import kpiengine

ROOT = Path(__file__).resolve().parents[3]
DATA = ROOT / "specs" / "tiktok" / "data"
SAMPLES = ROOT / "specs" / "tiktok" / "exports" / "api"
SCRIPT = ROOT / "scripts" / "make_api_samples.py"
#: Columns the APIs have no data for: null from tiktok-api, whatever the CSV holds.
API_GAPS = {"viewers_daily": {"viewers_new", "viewers_returning"}}


def make_samples(out: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def test_the_script_is_deterministic_and_the_samples_are_up_to_date(tmp_path: Path) -> None:
    make_samples(tmp_path / "one")
    make_samples(tmp_path / "two")
    names = sorted(p.name for p in (tmp_path / "one").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "two").iterdir())
    assert names == sorted(p.name for p in SAMPLES.glob("*.json")), (
        "specs/tiktok/exports/api is stale: run python scripts/make_api_samples.py"
    )
    _, mismatch, errors = filecmp.cmpfiles(tmp_path / "one", tmp_path / "two", names,
                                           shallow=False)  # fmt: skip
    assert (mismatch, errors) == ([], [])
    _, mismatch, errors = filecmp.cmpfiles(tmp_path / "one", SAMPLES, names, shallow=False)
    assert (mismatch, errors) == ([], []), "stale samples: run scripts/make_api_samples.py"


def typed(value: str, kind: str) -> Any:
    if value == "":
        return None
    if kind == "DATE":
        return dt.date.fromisoformat(value)
    if kind == "TIMESTAMP":
        return dt.datetime.fromisoformat(value)
    if kind in ("BIGINT", "INTEGER"):
        return int(value)
    if kind == "DOUBLE":
        return float(value)
    return value


def key(row: tuple[Any, ...]) -> tuple[str, ...]:
    return tuple("" if v is None else str(v) for v in row)


@pytest.fixture(scope="module")
def sample_source() -> Any:
    source = api.open_api(f"tiktok-api:{SAMPLES}", ROOT)
    yield source
    source.close()


CSV_TABLES = sorted(p.stem for p in DATA.glob("*.csv") if p.stem in TABLES)


@pytest.mark.parametrize("table", CSV_TABLES)
def test_every_csv_value_comes_back_from_the_api_answers(sample_source: Any, table: str) -> None:
    import sqlalchemy as sa

    with (DATA / f"{table}.csv").open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        columns = [c for c in reader.fieldnames or [] if c not in API_GAPS.get(table, ())]
        expected = [tuple(typed(r[c], TABLES[table][c]) for c in columns) for r in reader]
    query = sa.select(*(sa.column(c) for c in columns)).select_from(sa.table(table))
    with sample_source.engine.connect() as conn:
        got = [tuple(r) for r in conn.execute(query)]
        for gap in API_GAPS.get(table, ()):
            gaps = conn.execute(sa.select(sa.column(gap)).select_from(sa.table(table)))
            assert {r[0] for r in gaps} == {None}
    assert len(got) == len(expected)
    assert sorted(got, key=key) == sorted(expected, key=key)


def test_the_api_answers_fill_the_ids_the_csv_lacks(sample_source: Any) -> None:
    import sqlalchemy as sa

    query = sa.select(sa.column("campaign"), sa.column("campaign_id")).select_from(
        sa.table("paid_daily")
    ).distinct()  # fmt: skip
    with sample_source.engine.connect() as conn:
        ids = dict(tuple(r) for r in conn.execute(query))
    # the ids of the Ads Manager sample export
    assert ids["Summer Sale"] == "2604150405634444"
    assert len(set(ids.values())) == 3


def test_the_catalogue_gives_the_same_kpis_on_the_api_answers(tmp_path: Path) -> None:
    spec = kpiengine.load_spec(ROOT / "specs" / "tiktok")
    gaps = kpis_needing(spec, {c for cols in API_GAPS.values() for c in cols})
    rebound = dict.fromkeys(spec.sources, f"tiktok-api:{SAMPLES}")
    for grain in ("month", "total"):
        from_csv = kpiengine.evaluate(spec, kpiengine.Request(grain=grain))
        from_api = kpiengine.evaluate(spec, kpiengine.Request(grain=grain, sources=rebound))
        assert [t.name for t in from_api.tables] == [t.name for t in from_csv.tables]
        compared = 0
        for t_api, t_csv in zip(from_api.tables, from_csv.tables, strict=True):
            assert len(t_api.rows) == len(t_csv.rows), t_csv.name
            for r_api, r_csv in zip(t_api.rows, t_csv.rows, strict=True):
                for name, value in r_csv.items():
                    if name in gaps:
                        assert r_api[name] is None
                    elif isinstance(value, float):
                        assert r_api[name] == pytest.approx(value, rel=1e-9), (grain, name)
                    else:
                        assert r_api[name] == value, (grain, t_csv.name, name)
                    compared += 1
        assert compared > 50
        assert [(f.rule, f.period, f.value) for f in from_api.findings] == [
            (f.rule, f.period, pytest.approx(f.value)) for f in from_csv.findings
            if f.kpi not in gaps
        ]  # fmt: skip


def kpis_needing(spec: Any, columns: set[str]) -> set[str]:
    """The KPIs whose expression uses one of ``columns``, directly or through other KPIs."""
    words = {name: set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", kpi.expr.text))
             for name, kpi in spec.kpis.items()}  # fmt: skip
    needing = {name for name, used in words.items() if used & columns}
    while True:
        more = {name for name, used in words.items() if used & needing} - needing
        if not more:
            return needing
        needing |= more
