"""Segment rankings: ranked by a KPI's direction, small segments flagged, by hand."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest

from kpiengine.engine import Request, check, evaluate, session
from kpiengine.errors import SpecErrors
from kpiengine.spec import load_spec

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "specs" / "tiktok" / "data"

SPEC = """\
sources: {s: csv:data}
datasets:
  paid: {source: s, table: paid_daily, time: date, dimensions: [campaign, ad]}
kpis:
  impressions: sum(impressions)
  clicks: sum(clicks)
  ctr: {expr: clicks / impressions, format: percent, direction: higher}
  cpc: {expr: sum(spend) / clicks, format: currency, direction: lower}
segments:
  by_ad_ctr:
    label: Ads by CTR
    by: ad
    kpis: [ctr, clicks]
    rank_by: ctr
    min: {clicks: MIN}
  by_ad_cpc:
    by: ad
    kpis: [cpc]
    rank_by: cpc
"""


def _per_ad() -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    with (DATA / "paid_daily.csv").open(newline="", encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            ad = out.setdefault(r["ad"], {"clicks": 0, "impressions": 0, "spend": 0.0})
            ad["clicks"] += int(r["clicks"])
            ad["impressions"] += int(r["impressions"])
            ad["spend"] += float(r["spend"])
    return out


@pytest.fixture
def spec(tmp_path: Path) -> Any:
    ads = _per_ad()
    threshold = sorted(a["clicks"] for a in ads.values())[2]  # the two smallest are too small
    (tmp_path / "data").symlink_to(DATA)
    (tmp_path / "s.yaml").write_text(SPEC.replace("MIN", str(threshold)), encoding="utf-8")
    return load_spec(tmp_path / "s.yaml")


def test_ranked_by_direction_and_small_segments_flagged(spec: Any) -> None:
    ads = _per_ad()
    threshold = sorted(a["clicks"] for a in ads.values())[2]
    result = evaluate(spec)
    tables = {t.name: t for t in result.tables if t.category == "audience"}
    ctr = tables["Ads by CTR"]
    judged = [ad for ad, a in ads.items() if a["clicks"] >= threshold]
    expected = sorted(
        judged, key=lambda ad: ads[ad]["clicks"] / ads[ad]["impressions"], reverse=True
    )
    ranked = [r["ad"] for r in ctr.rows if r["rank"] is not None]
    assert ranked == expected
    assert [r["rank"] for r in ctr.rows if r["rank"] is not None] == list(
        range(1, len(expected) + 1)
    )
    small = {r["ad"] for r in ctr.rows if r["too_small"]}
    assert small == {ad for ad, a in ads.items() if a["clicks"] < threshold}
    assert len(small) == 2
    assert all(r["rank"] is None for r in ctr.rows if r["too_small"])
    # cost per click: lower is better, so rank 1 is the cheapest ad
    cpc = tables["By ad cpc"]
    cheapest = min(ads, key=lambda ad: ads[ad]["spend"] / ads[ad]["clicks"])
    assert cpc.rows[0]["ad"] == cheapest
    assert cpc.rows[0]["rank"] == 1


def test_ranked_per_period(spec: Any) -> None:
    result = evaluate(spec, Request(grain="month"))
    table = next(t for t in result.tables if t.name == "Ads by CTR")
    periods = {r["period"] for r in table.rows}
    assert len(periods) == 3
    for period in periods:
        ranks = [r["rank"] for r in table.rows if r["period"] == period and r["rank"] is not None]
        assert ranks == list(range(1, len(ranks) + 1))


def test_segments_need_the_dimension(tmp_path: Path) -> None:
    (tmp_path / "data").symlink_to(DATA)
    text = SPEC.replace("MIN", "10").replace(
        "by: ad\n    kpis: [cpc]", "by: country\n    kpis: [cpc]"
    )
    (tmp_path / "s.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(SpecErrors) as info, session(load_spec(tmp_path / "s.yaml")) as sess:
        check(sess)
    assert "cannot be broken down by `country`" in info.value.render()
