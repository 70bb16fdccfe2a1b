"""Organic against paid: the spec's comparisons section, checked by hand on the sample."""

from __future__ import annotations

import csv
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


def test_the_tiktok_report_add_on() -> None:
    """The shipped add-on merges with the catalogue: comparisons, rankings, the trend rule."""
    spec = load_spec(ROOT / "specs" / "tiktok", ROOT / "specs" / "tiktok_report.yaml")
    result = evaluate(spec, Request(grain="week"))
    names = [t.name for t in result.tables]
    assert "Organic vs paid: Video views" in names
    assert "Best hours to post" in names
    views = {}
    likes = {}
    with (DATA / "organic_daily.csv").open(newline="", encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            views[r["date"]] = int(r["views"])
            likes[r["date"]] = int(r["likes"]) + int(r["comments"]) + int(r["shares"])

    def rate(start: str) -> float:
        import datetime as dt

        days = [(dt.date.fromisoformat(start) + dt.timedelta(days=i)).isoformat() for i in range(7)]
        return sum(likes.get(d, 0) for d in days) / sum(views.get(d, 0) for d in days)

    fired = [f.period for f in result.findings if f.rule == "engagement_rate_falling"]
    assert fired == ["2026-07-13"]
    assert (rate("2026-07-13") - rate("2026-07-06")) / rate("2026-07-06") < -0.2
