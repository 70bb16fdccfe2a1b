"""Organic against paid: the spec's comparisons section, checked by hand on the sample."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from kpiengine.engine import Request, evaluate
from kpiengine.errors import SpecErrors
from kpiengine.spec import load_spec

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "specs" / "tiktok" / "data"

SPEC = """\
sources: {s: csv:data}
datasets:
  organic_daily: {source: s, table: organic_daily, time: date}
  paid: {source: s, table: paid_daily, time: date, dimensions: [campaign]}
kpis:
  organic_views: sum(organic_daily.views)
  organic_likes: sum(organic_daily.likes)
  organic_rate: {expr: organic_likes / organic_views, format: percent}
  paid_views: sum(paid.video_views)
  paid_likes: sum(paid.likes)
  paid_rate: {expr: paid_likes / sum(paid.impressions), format: percent}
  spend: {expr: sum(paid.spend), format: currency}
  cost_per_like: {expr: spend / paid_likes, format: currency}
comparisons:
  organic_vs_paid:
    label: Organic vs paid
    pairs:
      - {name: views, organic: organic_views, paid: paid_views, organic_includes_paid: true}
      - {name: likes, organic: organic_likes, paid: paid_likes}
      - {name: rate, organic: organic_rate, paid: paid_rate}
    costs: [cost_per_like]
"""


@pytest.fixture(scope="module")
def spec(tmp_path_factory: pytest.TempPathFactory) -> Any:
    folder = tmp_path_factory.mktemp("cmp")
    (folder / "data").symlink_to(DATA)
    (folder / "spec.yaml").write_text(SPEC, encoding="utf-8")
    return load_spec(folder / "spec.yaml")


def _monthly(name: str, column: str) -> dict[str, float]:
    out: dict[str, float] = {}
    with (DATA / f"{name}.csv").open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row[column] != "":
                out[row["date"][:7]] = out.get(row["date"][:7], 0) + float(row[column])
    return out


def test_pairs_per_month_and_overall(spec: Any) -> None:
    result = evaluate(spec, Request(grain="month"))
    tables = {t.name: t for t in result.tables if t.category == "comparison"}
    assert set(tables) == {
        "Organic vs paid: Views",
        "Organic vs paid: Likes",
        "Organic vs paid: Rate",
        "Organic vs paid: paid costs",
    }
    organic, paid = _monthly("organic_daily", "likes"), _monthly("paid_daily", "likes")
    likes = {r["period"]: r for r in tables["Organic vs paid: Likes"].rows}
    assert list(likes) == ["2026-07-01", "2026-08-01", "2026-09-01", None]
    for month in ("2026-07", "2026-08", "2026-09"):
        row = likes[f"{month}-01"]
        o, p = organic[month], paid[month]
        assert (row["organic"], row["paid"], row["difference"]) == (o, p, o - p)
        assert row["paid_per_organic"] == pytest.approx(p / o)
        assert row["paid_share"] == pytest.approx(p / (o + p))
        assert "organic_only" not in row
    total = likes[None]
    assert total["organic"] == sum(organic.values())
    assert total["paid_share"] == pytest.approx(
        sum(paid.values()) / (sum(organic.values()) + sum(paid.values()))
    )
    views = tables["Organic vs paid: Views"].rows[0]
    o, p = (
        _monthly("organic_daily", "views")["2026-07"],
        _monthly("paid_daily", "video_views")["2026-07"],
    )
    assert views["organic_only"] == o - p  # organic views include paid ones
    assert views["paid_share"] == pytest.approx(p / o)
    rate = tables["Organic vs paid: Rate"]
    assert "paid_share" not in [k.name for k in rate.kpis]  # no share of a ratio
    assert rate.rows[-1]["organic"] == pytest.approx(
        sum(organic.values()) / sum(_monthly("organic_daily", "views").values())
    )


def test_only_requested_pairs(spec: Any) -> None:
    result = evaluate(spec, Request(kpis=("organic_likes", "paid_likes")))
    names = [t.name for t in result.tables if t.category == "comparison"]
    assert names == ["Organic vs paid: Likes"]
    assert not [
        t
        for t in evaluate(spec, Request(where="campaign = 'x'")).tables
        if t.category == "comparison"
    ]


def test_unknown_kpi_in_a_comparison(tmp_path: Path) -> None:
    (tmp_path / "data").symlink_to(DATA)
    text = SPEC.replace("paid: paid_likes}", "paid: paid_likez}")
    (tmp_path / "spec.yaml").write_text(text, encoding="utf-8")
    from kpiengine.engine import check, session

    with pytest.raises(SpecErrors) as info, session(load_spec(tmp_path / "spec.yaml")) as sess:
        check(sess)
    assert "comparison `organic_vs_paid` names unknown KPI `paid_likez`" in info.value.render()
    assert "did you mean `paid_likes`" in info.value.render()


def _weekly_engagement_rate() -> dict[dt.date, float]:
    """Engagements per view of each week (Monday), from the sample CSV."""
    weeks: dict[dt.date, list[int]] = {}
    with (DATA / "organic_daily.csv").open(newline="", encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            day = dt.date.fromisoformat(r["date"])
            week = weeks.setdefault(day - dt.timedelta(days=day.weekday()), [0, 0])
            week[0] += int(r["likes"]) + int(r["comments"]) + int(r["shares"])
            week[1] += int(r["views"])
    return {week: e / v for week, (e, v) in weeks.items() if v}


def _falling(threshold: float) -> list[str]:
    """The weeks whose engagement rate fell by more than ``threshold`` (0.2 is 20 %)."""
    rate = _weekly_engagement_rate()
    return [
        week.isoformat()
        for week in sorted(rate)
        if (before := rate.get(week - dt.timedelta(weeks=1)))
        and (rate[week] - before) / before < -threshold
    ]


def test_the_catalogue_has_the_comparison_the_rankings_and_the_trend_rule() -> None:
    """specs/tiktok alone: organic vs paid, ranked segments, the engagement-rate trend rule.

    (Their values are checked against the oracle in tests/test_tiktok_sample.py.)"""
    spec = load_spec(ROOT / "specs" / "tiktok")
    result = evaluate(spec, Request(grain="week"))
    names = [t.name for t in result.tables]
    assert "Organic vs paid: Video views" in names
    assert "Organic vs paid: paid costs" in names
    assert "Paid performance by age" in names
    assert "Best hours to post" in names
    fired = [f.period for f in result.findings if f.rule == "engagement_rate_falling"]
    assert fired == _falling(0.20) == ["2026-07-13"]  # the week of the cold viral spike


def test_the_trend_rule_is_overridden_with_a_copy_of_the_rules(tmp_path: Path) -> None:
    """As docs/tiktok.md says: the catalogue's files, with an edited copy of rules.yaml."""
    catalogue = ROOT / "specs" / "tiktok"
    rules = (catalogue / "rules.yaml").read_text(encoding="utf-8")
    assert "change(organic_engagement_rate) < -20%" in rules
    mine = tmp_path / "my-rules.yaml"
    mine.write_text(rules.replace("< -20%", "< -5%"), encoding="utf-8")
    files = ["sources.yaml", "organic.yaml", "paid.yaml", "audience.yaml", "report.yaml"]
    spec = load_spec(*(catalogue / f for f in files), mine)
    result = evaluate(spec, Request(grain="week", kpis=("organic_engagement_rate",)))
    fired = [f.period for f in result.findings if f.rule == "engagement_rate_falling"]
    assert fired == _falling(0.05)
    assert len(fired) > 1  # more weeks than at 20 %
