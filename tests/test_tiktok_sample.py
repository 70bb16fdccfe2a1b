"""The shipped TikTok spec and its sample data, checked against an independent oracle.

Every test runs the real CLI (``python -m kpiengine run specs/tiktok --format json``)
and compares its numbers with values computed here by hand, in plain Python, from
the CSV files read with the ``csv`` module: sums of raw counts, ratios of sums,
``None`` where a denominator is zero, the follower total on the last day of a
period. Nothing here imports kpiengine.
"""

from __future__ import annotations

import csv
import itertools
import json
import subprocess
import sys
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
SPEC = "specs/tiktok"
DATA = ROOT / SPEC / "data"
EXPORTS = ROOT / SPEC / "exports"
FILES = (
    "organic_daily.csv", "followers_daily.csv", "paid_daily.csv", "viewers_daily.csv",
    "videos.csv", "follower_activity.csv", "audience_gender.csv", "audience_territory.csv",
    "audience_age.csv", "paid_audience.csv",
)  # fmt: skip
FIRST_DAY, LAST_DAY = date(2026, 7, 1), date(2026, 9, 30)

ORGANIC_KPIS = (
    "organic_views", "organic_likes", "organic_comments", "organic_shares",
    "organic_engagements", "organic_engagement_rate", "engagement_rate_by_followers",
    "profile_views", "followers", "follower_growth", "follower_growth_rate",
    "organic_reach", "new_viewer_share", "videos_posted", "avg_views_per_video",
)  # fmt: skip
PAID_KPIS = (
    "spend", "impressions", "paid_reach", "frequency", "clicks", "ctr", "cpc", "cpm",
    "conversions", "conversion_rate", "cpa", "conversion_value", "roas", "paid_views",
    "view_rate_6s", "completion_rate", "paid_engagements", "paid_engagement_rate",
    "paid_follows", "cost_per_follow",
    # report.yaml: the paid side of the organic-against-paid comparison
    "paid_likes", "paid_comments", "paid_shares", "cost_per_view", "cost_per_engagement",
)  # fmt: skip
PAID_DIMENSIONS = ("campaign", "ad_group", "ad", "objective", "currency")
AUDIENCE_KPIS = (
    "follower_share_by_gender", "follower_share_by_territory", "follower_share_by_age",
    "active_followers", "peak_active_followers", "best_hour_to_post", "new_viewers",
    "returning_viewers", "returning_viewer_share",
)  # fmt: skip
SEGMENTS = {"age": "age", "gender": "gender", "country": "country",
            "interest": "interest_category"}  # fmt: skip
SEGMENT_KPIS = tuple(
    f"{kind}_by_{name}"
    for name in SEGMENTS
    for kind in ("ctr", "conversion_rate", "cpa", "impressions")  # impressions: report.yaml
)
TEXT_COLUMNS = (
    *PAID_DIMENSIONS, "age", "gender", "country", "interest_category", "territory",
    "video_id", "title", "posted_at",
)  # fmt: skip

Row = dict[str, Any]
Key = tuple[Any, ...]


# ---------------------------------------------------------------------------
# Running the CLI


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kpiengine", "run", SPEC, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=300,
        check=False,
    )


def run_json(*args: str) -> dict[str, Any]:
    proc = run_cli("--format", "json", *args)
    assert proc.returncode == 0, f"exit {proc.returncode}\nstderr:\n{proc.stderr}"
    return json.loads(proc.stdout)


def engine_rows(result: dict[str, Any], category: str, by: Iterable[str] = ()) -> dict[Key, Row]:
    """Rows of the tables of one category at one breakdown, keyed by (period, *dims).

    Tables of the same category and breakdown are merged, so the test does not
    depend on how the engine splits KPIs into tables.
    """
    by = list(by)
    tables = [t for t in result["tables"] if t["category"] == category]
    tables = [t for t in tables if list(t["dimensions"]) == by]
    assert tables, f"no {category!r} table by {by}: " + repr(
        [(t["name"], t["category"], t["dimensions"]) for t in result["tables"]]
    )
    merged: dict[Key, Row] = {}
    for table in tables:
        seen: set[Key] = set()
        for row in table["rows"]:
            key = (row["period"], *(row[d] for d in by))
            assert key not in seen, f"table {table['name']!r} has two rows for {key}"
            seen.add(key)
            merged.setdefault(key, {}).update(row)
    return merged


def kpis_in(result: dict[str, Any], category: str | None = None) -> set[str]:
    """The KPIs of the tables without breakdown (not the segment rankings, by a dimension)."""
    return {
        name
        for t in result["tables"]
        if (category is None or t["category"] == category) and not t["dimensions"]
        for name in t["kpis"]
    }


# ---------------------------------------------------------------------------
# The oracle


def _parse(value: str) -> Any:
    if value == "":
        return None
    try:
        return int(value)
    except ValueError:
        pass
    try:
        return float(value)
    except ValueError:
        return value


def load(name: str, directory: Path = DATA) -> list[Row]:
    with (directory / f"{name}.csv").open(encoding="utf-8", newline="") as f:
        rows = []
        for raw in csv.DictReader(f):
            row = {k: (v or None) if k in TEXT_COLUMNS else _parse(v) for k, v in raw.items()}
            if "date" in raw:
                row["date"] = date.fromisoformat(raw["date"])
            rows.append(row)
        return rows


ORGANIC = load("organic_daily")
FOLLOWERS = load("followers_daily")
PAID = load("paid_daily")
VIEWERS = load("viewers_daily")
VIDEOS = load("videos")
ACTIVITY = load("follower_activity")
GENDER = load("audience_gender")
TERRITORY = load("audience_territory")
AGE = load("audience_age")
PAID_AUDIENCE = load("paid_audience")


def bucket(day: date, grain: str) -> str | None:
    if grain == "total":
        return None
    if grain == "day":
        start = day
    elif grain == "week":
        start = day - timedelta(days=day.weekday())
    elif grain == "month":
        start = day.replace(day=1)
    elif grain == "quarter":
        start = day.replace(month=(day.month - 1) // 3 * 3 + 1, day=1)
    elif grain == "year":
        start = day.replace(month=1, day=1)
    else:
        raise ValueError(grain)
    return start.isoformat()


def div(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return a / b


def total(rows: list[Row], column: str) -> float | None:
    """SQL SUM: nulls are skipped; null when every value is null."""
    values = [r[column] for r in rows if r[column] is not None]
    return sum(values) if values else None


def paid_kpis(rows: list[Row]) -> Row:
    s = {
        column: total(rows, column)
        for column in rows[0]
        if column not in {*PAID_DIMENSIONS, "date"}
    }
    spend, impressions, clicks = s["spend"], s["impressions"], s["clicks"]
    conversions, value, views = s["conversions"], s["conversion_value"], s["video_views"]
    engagements = s["likes"] + s["comments"] + s["shares"]
    cpm = div(spend, impressions)
    return {
        "spend": spend,
        "impressions": impressions,
        "paid_reach": s["reach"],
        "frequency": div(impressions, s["reach"]),
        "clicks": clicks,
        "ctr": div(clicks, impressions),
        "cpc": div(spend, clicks),
        "cpm": None if cpm is None else cpm * 1000,
        "conversions": conversions,
        "conversion_rate": div(conversions, clicks),
        "cpa": div(spend, conversions),
        "conversion_value": value,
        "roas": div(value, spend),
        "paid_views": views,
        "view_rate_6s": div(s["views_6s"], views),
        "completion_rate": div(s["views_p100"], views),
        "paid_engagements": engagements,
        "paid_engagement_rate": div(engagements, impressions),
        "paid_follows": s["follows"],
        "cost_per_follow": div(spend, s["follows"]),
        "paid_likes": s["likes"],
        "paid_comments": s["comments"],
        "paid_shares": s["shares"],
        "cost_per_view": div(spend, views),
        "cost_per_engagement": div(spend, engagements),
    }


def organic_kpis(
    organic: list[Row], followers: list[Row], viewers: list[Row], videos: list[Row]
) -> Row:
    views, likes = total(organic, "views"), total(organic, "likes")
    comments, shares = total(organic, "comments"), total(organic, "shares")
    engagements = None if likes is None else likes + comments + shares
    end = None  # followers on the latest day of the period (summed over that day's rows)
    if followers:
        last_day = max(r["date"] for r in followers)
        end = sum(r["followers"] for r in followers if r["date"] == last_day)
    growth = total(followers, "followers_change")
    reach = total(viewers, "viewers_total")
    posted = len(videos) or None  # a period without videos has no row to count: null
    return {
        "organic_views": views,
        "organic_likes": likes,
        "organic_comments": comments,
        "organic_shares": shares,
        "organic_engagements": engagements,
        "organic_engagement_rate": div(engagements, views),
        "engagement_rate_by_followers": div(engagements, end),
        "profile_views": total(organic, "profile_views"),
        "followers": end,
        "follower_growth": growth,
        "follower_growth_rate": None if growth is None else div(growth, end - growth),
        "organic_reach": reach,
        "new_viewer_share": div(total(viewers, "viewers_new"), reach),
        "videos_posted": posted,
        "avg_views_per_video": div(total(videos, "views"), posted),
    }


def in_range(day: date, date_from: date | None, date_to: date | None) -> bool:
    return (date_from is None or day >= date_from) and (date_to is None or day <= date_to)


def expected_paid(
    grain: str = "total",
    by: Iterable[str] = (),
    date_from: date | None = None,
    date_to: date | None = None,
    where: Callable[[Row], bool] = lambda r: True,
) -> dict[Key, Row]:
    by = list(by)
    groups: dict[Key, list[Row]] = defaultdict(list)
    for r in PAID:
        if in_range(r["date"], date_from, date_to) and where(r):
            groups[(bucket(r["date"], grain), *(r[d] for d in by))].append(r)
    return {key: paid_kpis(rows) for key, rows in groups.items()}


def expected_organic(
    grain: str = "total", date_from: date | None = None, date_to: date | None = None
) -> dict[Key, Row]:
    organic: dict[Key, list[Row]] = defaultdict(list)
    followers: dict[Key, list[Row]] = defaultdict(list)
    viewers: dict[Key, list[Row]] = defaultdict(list)
    videos: dict[Key, list[Row]] = defaultdict(list)
    for rows, groups in ((ORGANIC, organic), (FOLLOWERS, followers), (VIEWERS, viewers),
                         (VIDEOS, videos)):  # fmt: skip
        for r in rows:
            if in_range(r["date"], date_from, date_to):
                groups[(bucket(r["date"], grain),)].append(r)
    keys = organic.keys() | followers.keys() | viewers.keys() | videos.keys()
    return {key: organic_kpis(organic[key], followers[key], viewers[key], videos[key])
            for key in keys}  # fmt: skip


def expected_audience(activity: list[Row] = ACTIVITY) -> Row:
    """The audience KPIs over everything (no breakdown, grain total)."""
    counts = [r["active_followers"] for r in activity]
    peak = max(counts) if counts else None
    # the busiest hour; on a tie, the later hour
    best = max((r["active_followers"], r["hour"]) for r in activity)[1] if activity else None
    returning = total(VIEWERS, "viewers_returning")
    return {
        "follower_share_by_gender": total(GENDER, "share"),
        "follower_share_by_territory": total(TERRITORY, "share"),
        "follower_share_by_age": total(AGE, "share"),
        "active_followers": sum(counts) / len(counts) if counts else None,
        "peak_active_followers": peak,
        "best_hour_to_post": best,
        "new_viewers": total(VIEWERS, "viewers_new"),
        "returning_viewers": returning,
        "returning_viewer_share": div(returning, total(VIEWERS, "viewers_total")),
    }


def segment_kpis(rows: list[Row]) -> Row:
    """CTR, conversion rate and CPA of each breakdown, each over the rows that have it."""
    out: Row = {}
    for name, column in SEGMENTS.items():
        mine = [r for r in rows if r[column] is not None]
        clicks, conversions = total(mine, "clicks"), total(mine, "conversions")
        out[f"ctr_by_{name}"] = div(clicks, total(mine, "impressions"))
        out[f"conversion_rate_by_{name}"] = div(conversions, clicks)
        out[f"cpa_by_{name}"] = div(total(mine, "spend"), conversions)
        out[f"impressions_by_{name}"] = total(mine, "impressions")
    return out


def expected_segments(
    by: str | None = None, grain: str = "total", where: Callable[[Row], bool] = lambda r: True
) -> dict[Key, Row]:
    groups: dict[Key, list[Row]] = defaultdict(list)
    for r in PAID_AUDIENCE:
        if not where(r):
            continue
        key = (bucket(r["date"], grain),) + ((r[by],) if by else ())
        groups[key].append(r)
    return {key: segment_kpis(rows) for key, rows in groups.items()}


def assert_rows(got: dict[Key, Row], expected: dict[Key, Row], kpis: Iterable[str]) -> None:
    """Same keys, and every KPI equal to the oracle's (floats to 1e-9, None as None)."""
    assert sorted(got, key=repr) == sorted(expected, key=repr)
    problems = []
    for key, want_row in sorted(expected.items(), key=lambda kv: repr(kv[0])):
        got_row = got[key]
        for kpi in kpis:
            want, have = want_row[kpi], got_row.get(kpi, "<missing>")
            if want is None:
                ok = have is None
            else:
                ok = isinstance(have, int | float) and have == pytest.approx(want, rel=1e-9)
            if not ok:
                problems.append(f"{key} {kpi}: expected {want!r}, got {have!r}")
    assert not problems, f"{len(problems)} mismatches:\n" + "\n".join(problems[:40])


# ---------------------------------------------------------------------------
# The data itself


def test_sample_data_has_the_planted_quirks() -> None:
    assert len(ORGANIC) == len(FOLLOWERS) == (LAST_DAY - FIRST_DAY).days + 1 == 92
    assert [r["date"] for r in ORGANIC] == [r["date"] for r in FOLLOWERS]
    assert min(r["date"] for r in PAID) == FIRST_DAY
    assert max(r["date"] for r in PAID) == LAST_DAY
    assert len(PAID) < 2000
    # one row per ad per active day
    assert len({(r["date"], r["ad"]) for r in PAID}) == len(PAID)
    assert {r["campaign"] for r in PAID} == {"Summer Sale", "Brand Awareness", "App Installs"}
    assert {r["currency"] for r in PAID} == {"USD"}
    assert any(r["views"] == 0 and r["likes"] == 0 for r in ORGANIC)
    assert any(r["comments"] == -1 for r in ORGANIC)
    assert any(r["followers_change"] is not None and r["followers_change"] < 0 for r in FOLLOWERS)
    # the data starts on FIRST_DAY: its growth against the day before is unknown
    assert FOLLOWERS[0]["followers_change"] is None
    assert all(r["followers_change"] is not None for r in FOLLOWERS[1:])
    assert any(r["impressions"] == 0 and r["spend"] == 0 for r in PAID)
    assert any(r["conversion_value"] is None for r in PAID)
    assert "Créateur's cut" in {r["ad"] for r in PAID}
    # followers_change is this day's total minus the previous day's
    for prev, cur in itertools.pairwise(FOLLOWERS):
        assert cur["followers"] - prev["followers"] == cur["followers_change"]


def test_generator_is_deterministic(tmp_path: Path) -> None:
    out, exports = tmp_path / "data", tmp_path / "exports"
    proc = subprocess.run(
        [sys.executable, "scripts/make_sample_data.py", "--out", str(out), "--exports",
         str(exports)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in out.iterdir()) == sorted(FILES)
    for name in FILES:
        assert (out / name).read_bytes() == (DATA / name).read_bytes(), name
    # the TikTok-format exports of the same numbers (saved API answers are not generated)
    for kind in ("studio", "ads"):
        written = sorted(p.name for p in (exports / kind).iterdir())
        shipped = sorted(p.name for p in (EXPORTS / kind).iterdir())
        assert written == shipped
        assert len(written) >= 4
        for name in written:
            assert (exports / kind / name).read_bytes() == (EXPORTS / kind / name).read_bytes()


# ---------------------------------------------------------------------------
# KPI values


def test_totals_for_every_kpi() -> None:
    result = run_json()
    assert result["spec"] == "tiktok"
    assert result["grain"] == "total"
    assert kpis_in(result, "organic") == set(ORGANIC_KPIS)
    assert kpis_in(result, "paid") == set(PAID_KPIS)
    assert kpis_in(result, "audience") == set(AUDIENCE_KPIS)
    assert kpis_in(result, "paid_audience") == set(SEGMENT_KPIS)
    assert_rows(engine_rows(result, "organic"), expected_organic(), ORGANIC_KPIS)
    assert_rows(engine_rows(result, "paid"), expected_paid(), PAID_KPIS)
    assert_rows(engine_rows(result, "audience"), {(None,): expected_audience()}, AUDIENCE_KPIS)
    assert_rows(engine_rows(result, "paid_audience"), expected_segments(), SEGMENT_KPIS)


def test_sub_range() -> None:
    d_from, d_to = date(2026, 8, 10), date(2026, 9, 6)
    result = run_json("--from", d_from.isoformat(), "--to", d_to.isoformat())
    assert (result["from"], result["to"]) == (d_from.isoformat(), d_to.isoformat())
    organic = expected_organic(date_from=d_from, date_to=d_to)
    assert_rows(engine_rows(result, "organic"), organic, ORGANIC_KPIS)
    assert_rows(
        engine_rows(result, "paid"), expected_paid(date_from=d_from, date_to=d_to), PAID_KPIS
    )
    # the follower KPIs are taken at the edges of the range, not of the data
    row = organic[(None,)]
    assert row["followers"] == next(r["followers"] for r in FOLLOWERS if r["date"] == d_to)
    day_before = d_from - timedelta(days=1)
    start = next(r["followers"] for r in FOLLOWERS if r["date"] == day_before)
    assert row["follower_growth"] == row["followers"] - start


@pytest.mark.parametrize("grain", ["day", "week", "month", "quarter", "year"])
def test_grains(grain: str) -> None:
    result = run_json("--grain", grain)
    assert result["grain"] == grain
    assert_rows(engine_rows(result, "organic"), expected_organic(grain), ORGANIC_KPIS)
    assert_rows(engine_rows(result, "paid"), expected_paid(grain), PAID_KPIS)


def test_month_periods() -> None:
    result = run_json("--grain", "month")
    assert sorted(k[0] for k in engine_rows(result, "paid")) == [
        "2026-07-01", "2026-08-01", "2026-09-01",
    ]  # fmt: skip


def test_week_by_campaign() -> None:
    result = run_json("--grain", "week", "--by", "campaign")
    got = engine_rows(result, "paid", ["campaign"])
    expected = expected_paid("week", ["campaign"])
    # exactly one row per (week start, campaign) with data: "App Installs" starts
    # mid-August, "Summer Sale" ends with August, the first week starts on a Monday
    # before the data does
    assert sorted(got, key=repr) == sorted(expected, key=repr)
    assert ("2026-06-29", "Brand Awareness") in got
    assert ("2026-07-06", "App Installs") not in got
    assert ("2026-09-14", "Summer Sale") not in got
    assert_rows(got, expected, ["clicks", "spend", "ctr"])
    assert_rows(got, expected, PAID_KPIS)


def test_by_ad_group_with_quoted_values() -> None:
    result = run_json("--by", "ad_group")
    got = engine_rows(result, "paid", ["ad_group"])
    assert (None, "Retargeting, 30 days") in got
    assert_rows(got, expected_paid(by=["ad_group"]), PAID_KPIS)


def test_where_campaign() -> None:
    result = run_json("--where", "campaign = 'Summer Sale'")
    expected = expected_paid(where=lambda r: r["campaign"] == "Summer Sale")
    assert_rows(engine_rows(result, "paid"), expected, PAID_KPIS)
    assert expected != expected_paid()


def test_where_with_non_ascii_and_apostrophe() -> None:
    result = run_json("--where", "ad = 'Créateur''s cut'", "--by", "ad")
    got = engine_rows(result, "paid", ["ad"])
    assert list(got) == [(None, "Créateur's cut")]
    assert_rows(
        got, expected_paid(by=["ad"], where=lambda r: r["ad"] == "Créateur's cut"), PAID_KPIS
    )


def test_day_by_ad_every_row() -> None:
    result = run_json("--grain", "day", "--by", "ad")
    assert_rows(engine_rows(result, "paid", ["ad"]), expected_paid("day", ["ad"]), PAID_KPIS)


def test_division_by_zero_is_null() -> None:
    zero = next(r for r in PAID if r["impressions"] == 0)
    day = zero["date"].isoformat()
    result = run_json("--grain", "day", "--by", "ad", "--from", day, "--to", day)
    got = engine_rows(result, "paid", ["ad"])
    row = got[(day, zero["ad"])]
    assert row["impressions"] == 0
    assert row["spend"] == 0
    undefined = ["ctr", "cpc", "cpm", "cpa", "roas", "frequency", "conversion_rate"]
    undefined += ["view_rate_6s", "completion_rate", "paid_engagement_rate", "cost_per_follow"]
    for kpi in undefined:
        assert row[kpi] is None, kpi
    others = [r for key, r in got.items() if key[1] != zero["ad"]]
    assert others
    assert all(r["ctr"] is not None for r in others)
    assert_rows(got, expected_paid("day", ["ad"], zero["date"], zero["date"]), PAID_KPIS)


def test_organic_day_without_views() -> None:
    zero = next(r for r in ORGANIC if r["views"] == 0)
    day = zero["date"].isoformat()
    result = run_json("--grain", "day", "--from", day, "--to", day)
    row = engine_rows(result, "organic")[(day,)]
    assert row["organic_views"] == 0
    assert row["organic_engagement_rate"] is None
    assert row["followers"] is not None


def test_null_conversion_value() -> None:
    missing = next(r for r in PAID if r["conversion_value"] is None)
    day = missing["date"].isoformat()
    result = run_json("--grain", "day", "--by", "ad", "--from", day, "--to", day)
    row = engine_rows(result, "paid", ["ad"])[(day, missing["ad"])]
    assert row["conversion_value"] is None
    assert row["roas"] is None
    assert row["spend"] == pytest.approx(missing["spend"], rel=1e-9)


def test_kpi_subset() -> None:
    result = run_json("--kpi", "ctr", "--kpi", "followers")
    assert kpis_in(result) == {"ctr", "followers"}
    assert engine_rows(result, "paid")[(None,)]["ctr"] == pytest.approx(
        expected_paid()[(None,)]["ctr"], rel=1e-9
    )
    assert engine_rows(result, "organic")[(None,)]["followers"] == FOLLOWERS[-1]["followers"]


# ---------------------------------------------------------------------------
# Audience


@pytest.mark.parametrize(
    ("by", "rows", "column"),
    [("gender", GENDER, "gender"), ("territory", TERRITORY, "territory"), ("age", AGE, "age")],
)
def test_follower_shares_by_dimension(by: str, rows: list[Row], column: str) -> None:
    result = run_json("--by", by, "--kpi", f"follower_share_by_{by}")
    got = engine_rows(result, "audience", [by])
    expected = {(None, r[column]): {f"follower_share_by_{by}": r["share"]} for r in rows}
    assert_rows(got, expected, [f"follower_share_by_{by}"])
    assert sum(r["share"] for r in rows) == pytest.approx(1.0)


def test_active_followers_by_hour_and_the_best_hour() -> None:
    result = run_json("--by", "hour", "--kpi", "active_followers", "--kpi", "best_hour_to_post")
    got = engine_rows(result, "audience", ["hour"])
    expected = {}
    for hour in range(24):
        rows = [r for r in ACTIVITY if r["hour"] == hour]
        assert len(rows) == 7  # the last seven days
        expected[(None, hour)] = {
            "active_followers": sum(r["active_followers"] for r in rows) / 7,
            "best_hour_to_post": hour,
        }
    assert_rows(got, expected, ["active_followers", "best_hour_to_post"])
    whole = engine_rows(run_json("--kpi", "best_hour_to_post"), "audience")[(None,)]
    best = expected_audience()["best_hour_to_post"]
    assert whole["best_hour_to_post"] == best
    assert 17 <= best <= 22  # the evening peak planted in the sample data
    # by day: each day's busiest hour
    daily = run_json(
        "--grain", "day", "--kpi", "best_hour_to_post", "--kpi", "peak_active_followers"
    )
    got_daily = engine_rows(daily, "audience")
    by_day = {
        (day.isoformat(),): expected_audience([r for r in ACTIVITY if r["date"] == day])
        for day in {r["date"] for r in ACTIVITY}
    }
    assert_rows(got_daily, by_day, ["best_hour_to_post", "peak_active_followers"])


def test_new_and_returning_viewers_by_month() -> None:
    result = run_json("--grain", "month", "--kpi", "new_viewers", "--kpi", "returning_viewers",
                      "--kpi", "returning_viewer_share", "--kpi", "new_viewer_share")  # fmt: skip
    audience = engine_rows(result, "audience")
    organic = engine_rows(result, "organic")
    for month in ("2026-07-01", "2026-08-01", "2026-09-01"):
        rows = [r for r in VIEWERS if bucket(r["date"], "month") == month]
        new, back = total(rows, "viewers_new"), total(rows, "viewers_returning")
        reach = total(rows, "viewers_total")
        assert new is not None
        assert back is not None
        assert new + back == reach  # the day not counted yet is null in all three
        assert audience[(month,)]["new_viewers"] == new
        assert audience[(month,)]["returning_viewers"] == back
        assert audience[(month,)]["returning_viewer_share"] == pytest.approx(back / reach)
        assert organic[(month,)]["new_viewer_share"] == pytest.approx(new / reach)


@pytest.mark.parametrize("by", ["age", "gender", "country", "interest_category"])
def test_paid_results_by_audience_segment(by: str) -> None:
    result = run_json("--by", by, *(x for k in SEGMENT_KPIS for x in ("--kpi", k)))
    got = engine_rows(result, "paid_audience", [by])
    expected = expected_segments(by)
    assert_rows(got, expected, SEGMENT_KPIS)
    name = next(n for n, c in SEGMENTS.items() if c == by)
    values = {key[1]: row[f"ctr_by_{name}"] for key, row in got.items() if key[1] is not None}
    assert len(values) >= 2
    assert len({round(v, 6) for v in values.values()}) == len(values)  # segments differ


def test_segment_reports_each_cover_the_whole_delivery() -> None:
    # Each audience report splits the same delivery: its totals are paid_daily's.
    for column in SEGMENTS.values():
        rows = [r for r in PAID_AUDIENCE if r[column] is not None]
        assert total(rows, "impressions") == total(PAID, "impressions")
        assert total(rows, "clicks") == total(PAID, "clicks")
        assert total(rows, "spend") == pytest.approx(total(PAID, "spend"))
    result = run_json("--kpi", "ctr", "--kpi", "ctr_by_age", "--kpi", "ctr_by_interest")
    paid = engine_rows(result, "paid")[(None,)]
    segments = engine_rows(result, "paid_audience")[(None,)]
    assert segments["ctr_by_age"] == pytest.approx(paid["ctr"], rel=1e-12)
    assert segments["ctr_by_interest"] == pytest.approx(paid["ctr"], rel=1e-12)


# ---------------------------------------------------------------------------
# Rules


RULE_CASES = [
    # rule, kpi, level, grain, by, condition on the oracle's value
    ("ctr_below_half_percent", "ctr", "warn", "week", ["campaign"], lambda v: v < 0.005),
    ("cpa_above_30", "cpa", "warn", "week", ["campaign"], lambda v: v > 30),
    ("roas_below_one", "roas", "warn", "month", ["campaign"], lambda v: v < 1),
    ("roas_below_one", "roas", "warn", "total", ["ad"], lambda v: v < 1),
    ("follower_count_fell", "follower_growth", "warn", "day", [], lambda v: v < 0),
    ("follower_count_fell", "follower_growth", "warn", "week", [], lambda v: v < 0),
    ("low_organic_engagement", "organic_engagement_rate", "info", "day", [], lambda v: v < 0.02),
]


@pytest.mark.parametrize(
    ("rule", "kpi", "level", "grain", "by", "condition"),
    RULE_CASES,
    ids=[f"{c[1]}-{c[3]}-{'-'.join(c[4]) or 'all'}" for c in RULE_CASES],
)
def test_rule_findings(
    rule: str, kpi: str, level: str, grain: str, by: list[str], condition: Callable[[float], bool]
) -> None:
    args = ["--grain", grain]
    for dim in by:
        args += ["--by", dim]
    result = run_json(*args)
    expected_rows = expected_paid(grain, by) if kpi in PAID_KPIS else expected_organic(grain)
    expected = {
        key: row[kpi]
        for key, row in expected_rows.items()
        if row[kpi] is not None and condition(row[kpi])
    }
    assert expected, "the sample data should make this rule fire"
    findings = [f for f in result["findings"] if f["rule"] == rule]
    assert {f["kpi"] for f in findings} == {kpi}
    got = {(f["period"], *(f[d] for d in by)): f for f in findings}
    assert len(got) == len(findings), "one finding per row"
    assert sorted(got, key=repr) == sorted(expected, key=repr)
    for key, finding in got.items():
        assert finding["level"] == level
        assert finding["value"] == pytest.approx(expected[key], rel=1e-9)
        for value in key[1:]:
            assert value in finding["message"]


def test_ctr_findings_are_the_weak_campaign_weeks() -> None:
    result = run_json("--grain", "week", "--by", "campaign")
    weeks = {(f["period"], f["campaign"]) for f in result["findings"] if f["kpi"] == "ctr"}
    expected = {
        key
        for key, row in expected_paid("week", ["campaign"]).items()
        if row["ctr"] is not None and row["ctr"] < 0.005
    }
    assert weeks == expected
    assert {campaign for _, campaign in weeks} == {"Brand Awareness"}
    assert all(
        f["rule"] == "ctr_below_half_percent" for f in result["findings"] if f["kpi"] == "ctr"
    )


def test_no_findings_at_total() -> None:
    # the whole account over the whole quarter is healthy: no rule holds
    organic, paid = expected_organic()[(None,)], expected_paid()[(None,)]
    assert paid["ctr"] >= 0.005
    assert paid["cpa"] <= 30
    assert paid["roas"] >= 1
    assert organic["follower_growth"] >= 0
    assert organic["organic_engagement_rate"] >= 0.02
    proc = run_cli("--format", "json", "--fail-on", "warn")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["findings"] == []


def test_fail_on() -> None:
    args = ["--format", "json", "--grain", "week", "--by", "campaign"]
    proc = run_cli(*args)
    assert proc.returncode == 0, proc.stderr
    levels = {f["level"] for f in json.loads(proc.stdout)["findings"]}
    assert "warn" in levels
    assert "error" not in levels
    assert run_cli(*args, "--fail-on", "warn").returncode == 1
    assert run_cli(*args, "--fail-on", "error").returncode == 0


# ---------------------------------------------------------------------------
# Organic against paid, segment rankings (report.yaml) and period over period (the
# trend rule in rules.yaml, --compare previous)

#: comparison table → organic KPI, paid KPI, whether TikTok's organic count includes paid
PAIRS = {
    "Video views": ("organic_views", "paid_views", True),
    "Likes": ("organic_likes", "paid_likes", False),
    "Comments": ("organic_comments", "paid_comments", False),
    "Shares": ("organic_shares", "paid_shares", False),
    "Engagements": ("organic_engagements", "paid_engagements", False),
    "Engagement rate": ("organic_engagement_rate", "paid_engagement_rate", False),
    "Reach (sum of daily reach)": ("organic_reach", "paid_reach", False),
    "Follows gained": ("follower_growth", "paid_follows", False),
}
RATES = {"Engagement rate"}  # ratios: no share of a total
COSTS = ("cost_per_view", "cost_per_engagement", "cost_per_follow")
#: ranking table → the segment KPIs' suffix and the dimension
RANKINGS = {
    "Paid performance by age": ("age", "age"),
    "Paid performance by gender": ("gender", "gender"),
    "Paid performance by country": ("country", "country"),
    "Paid performance by interest category": ("interest", "interest_category"),
}
MIN_IMPRESSIONS = 1000


def range_args(d_from: date | None, d_to: date | None) -> list[str]:
    return [*(["--from", d_from.isoformat()] if d_from else []),
            *(["--to", d_to.isoformat()] if d_to else [])]  # fmt: skip


def table_rows(result: dict[str, Any], name: str, by: Iterable[str] = ()) -> dict[Key, Row]:
    (table,) = [t for t in result["tables"] if t["name"] == name]
    rows = {(r["period"], *(r[d] for d in by)): r for r in table["rows"]}
    assert len(rows) == len(table["rows"]), name
    return rows


def step_back(day: date, grain: str, length: int = 0) -> date:
    """The start of the period before (for grain total: ``length`` days before)."""
    if grain == "day":
        return day - timedelta(days=1)
    if grain == "week":
        return day - timedelta(weeks=1)
    if grain == "month":
        assert day.day == 1
        return (day - timedelta(days=1)).replace(day=1)
    assert grain == "total"
    return day - timedelta(days=length)


def earlier_range(
    grain: str, d_from: date | None, d_to: date | None
) -> tuple[date | None, date | None]:
    """The range shifted back by one period (grain total: by its own length)."""
    length = (d_to - d_from).days + 1 if d_from and d_to else 0
    return (
        step_back(d_from, grain, length) if d_from else None,
        step_back(d_to, grain, length) if d_to else None,
    )


def close(have: Any, want: float | None) -> bool:
    if want is None:
        return have is None
    return isinstance(have, int | float) and have == pytest.approx(want, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize(
    ("grain", "d_from", "d_to"),
    [
        ("week", None, None),
        ("month", date(2026, 8, 10), date(2026, 9, 6)),
        ("total", date(2026, 8, 1), date(2026, 8, 31)),
        ("total", None, None),
    ],
)
def test_organic_vs_paid(grain: str, d_from: date | None, d_to: date | None) -> None:
    result = run_json("--grain", grain, *range_args(d_from, d_to))
    organic = expected_organic(grain, d_from, d_to)
    paid = expected_paid(grain, date_from=d_from, date_to=d_to)
    if grain != "total":  # and the whole range, in a row without a period, last
        organic |= expected_organic("total", d_from, d_to)
        paid |= expected_paid("total", date_from=d_from, date_to=d_to)
    keys = sorted(organic.keys() | paid.keys(), key=lambda k: (k[0] is None, k[0] or ""))
    for label, (o_kpi, p_kpi, includes_paid) in PAIRS.items():
        expected: dict[Key, Row] = {}
        for key in keys:
            o, p = organic.get(key, {}).get(o_kpi), paid.get(key, {}).get(p_kpi)
            diff = o - p if o is not None and p is not None else None
            row = {"organic": o, "paid": p, "difference": diff, "paid_per_organic": div(p, o)}
            if label not in RATES:  # the organic count includes paid: it is the total
                whole = o if includes_paid else (None if diff is None else o + p)
                row["paid_share"] = div(p, whole)
            if includes_paid:  # the estimate of organic alone
                row["organic_only"] = diff
            expected[key] = row
        (table,) = [t for t in result["tables"] if t["name"] == f"Organic vs paid: {label}"]
        assert table["category"] == "comparison"
        assert table["kpis"] == list(expected[keys[0]])
        got = table_rows(result, f"Organic vs paid: {label}")
        assert list(got) == keys
        assert_rows(got, expected, list(expected[keys[0]]))
    costs = {key: {c: paid.get(key, {}).get(c) for c in COSTS} for key in keys}
    assert_rows(table_rows(result, "Organic vs paid: paid costs"), costs, COSTS)


@pytest.mark.parametrize(
    ("grain", "where"),
    [("total", None), ("month", None), ("day", "campaign = 'App Installs'")],
)
def test_segment_rankings(grain: str, where: str | None) -> None:
    result = run_json("--grain", grain, *(["--where", where] if where else []))
    keep: Callable[[Row], bool] = (
        (lambda r: r["campaign"] == "App Installs") if where else (lambda r: True)
    )
    flagged = 0
    for label, (name, column) in RANKINGS.items():
        expected = expected_segments(column, grain, keep)
        for key, row in expected.items():
            impressions = row[f"impressions_by_{name}"]
            # the rows of the other reports (no value for this dimension) have none
            row["too_small"] = impressions is None or impressions < MIN_IMPRESSIONS
            flagged += key[1] is not None and row["too_small"]
        for period in {key[0] for key in expected}:
            judged = [
                k for k, r in expected.items()
                if k[0] == period and not r["too_small"] and r[f"ctr_by_{name}"] is not None
            ]  # fmt: skip
            judged.sort(key=lambda k: expected[k][f"ctr_by_{name}"], reverse=True)  # higher first
            for k, r in expected.items():
                if k[0] == period:
                    r["rank"] = judged.index(k) + 1 if k in judged else None
        got = table_rows(result, label, [column])
        shown = [f"{kind}_by_{name}" for kind in ("ctr", "conversion_rate", "cpa")]
        assert_rows(got, expected, [*shown, "rank"])
        assert {k: r["too_small"] for k, r in got.items()} == {
            k: r["too_small"] for k, r in expected.items()
        }
    if where:  # 55+ got under 1,000 impressions a day from App Installs on some days
        assert flagged > 0
        return
    hours: dict[Key, list[int]] = defaultdict(list)
    for r in ACTIVITY:
        hours[(bucket(r["date"], grain), r["hour"])].append(r["active_followers"])
    best = sorted(hours, key=lambda k: (k[0] or "", -sum(hours[k]) / len(hours[k])))
    got = table_rows(result, "Best hours to post", ["hour"])
    assert list(got) == best  # ranked, best first, within each period
    for k, row in got.items():
        assert row["active_followers"] == pytest.approx(sum(hours[k]) / len(hours[k]))
        assert row["too_small"] is False
    assert [r["rank"] for r in got.values()] == list(range(1, 25)) * len({k[0] for k in got})


def expected_trend(grain: str, d_from: date | None, d_to: date | None) -> dict[Key, float]:
    """The rows where the organic engagement rate fell more than 20 % against the
    period before (computed from the data before the range too), with the rate."""
    if grain == "total" and not (d_from and d_to):
        return {}  # no earlier period to compare with
    e_from, e_to = earlier_range(grain, d_from, d_to)
    now, before = expected_organic(grain, d_from, d_to), expected_organic(grain, e_from, e_to)
    fired = {}
    for key, row in now.items():
        earlier = (None,) if key[0] is None else (
            step_back(date.fromisoformat(key[0]), grain).isoformat(),
        )  # fmt: skip
        rate = row["organic_engagement_rate"]
        was = before.get(earlier, {}).get("organic_engagement_rate")
        if rate is not None and was and (rate - was) / abs(was) < -0.20:
            fired[key] = rate
    return fired


@pytest.mark.parametrize(
    ("grain", "d_from", "d_to"),
    [
        ("day", None, None),
        ("week", None, None),
        ("month", None, None),
        # the first week's week before lies entirely before --from
        ("week", date(2026, 7, 13), date(2026, 8, 9)),
        ("total", date(2026, 7, 13), date(2026, 7, 19)),
        ("total", date(2026, 8, 1), date(2026, 8, 31)),
        ("total", None, None),
    ],
)
def test_engagement_rate_falling(grain: str, d_from: date | None, d_to: date | None) -> None:
    result = run_json("--grain", grain, *range_args(d_from, d_to))
    expected = expected_trend(grain, d_from, d_to)
    findings = [f for f in result["findings"] if f["rule"] == "engagement_rate_falling"]
    got = {(f["period"],): f for f in findings}
    assert len(got) == len(findings)
    assert sorted(got, key=repr) == sorted(expected, key=repr)
    for key, finding in got.items():
        assert finding["kpi"] == "organic_engagement_rate"
        assert finding["level"] == "warn"
        assert finding["value"] == pytest.approx(expected[key], rel=1e-9)
        assert "fell more than 20 %" in finding["message"]
    if d_from is not None and grain == "week":
        # the first week fired against a week wholly outside the requested range
        assert (d_from.isoformat(),) in expected
    if grain in ("day", "week"):
        assert expected, "the sample data should make this rule fire"
    if d_from is None and grain == "total":
        assert not any("previous()" in n for n in result.get("notices", []))


@pytest.mark.parametrize(
    ("grain", "d_from", "d_to"),
    [("total", date(2026, 8, 1), date(2026, 8, 31)), ("week", date(2026, 7, 13), date(2026, 8, 9))],
)
def test_compare_previous_before_from(grain: str, d_from: date, d_to: date) -> None:
    result = run_json("--grain", grain, *range_args(d_from, d_to), "--compare", "previous")
    e_from, e_to = earlier_range(grain, d_from, d_to)
    assert e_to is not None
    if grain == "total":
        assert e_to < d_from  # the whole earlier range lies before --from
    sides: list[tuple[str, tuple[str, ...], Callable[..., dict[Key, Row]]]] = [
        ("organic", ORGANIC_KPIS, expected_organic),
        ("paid", PAID_KPIS, lambda g, a, b: expected_paid(g, date_from=a, date_to=b)),
    ]
    for table, kpis, oracle in sides:
        now, before = oracle(grain, d_from, d_to), oracle(grain, e_from, e_to)
        entries = {(e["period"], e["kpi"]): e for e in result["comparisons"] if e["table"] == table}
        assert set(entries) == {(key[0], kpi) for key in now for kpi in kpis}
        for (period, kpi), entry in entries.items():
            earlier = None if period is None else (
                step_back(date.fromisoformat(period), grain).isoformat()
            )  # fmt: skip
            assert entry["earlier_period"] == earlier
            value, was = now[(period,)][kpi], before.get((earlier,), {}).get(kpi)
            change = value - was if value is not None and was is not None else None
            assert close(entry["value"], value), (table, period, kpi)
            assert close(entry["earlier"], was), (table, period, kpi, entry["earlier"], was)
            assert close(entry["change"], change), (table, period, kpi)
            assert close(entry["relative_change"], div(change, None if was is None else abs(was)))
        # the first period's earlier values come from before --from, not null
        first = min(key[0] or "" for key in now) or None
        assert entries[(first, kpis[0])]["earlier"] is not None
        assert entries[(first, kpis[0])]["earlier_period"] in (
            None,
            (d_from - timedelta(7)).isoformat(),
        )


@pytest.mark.parametrize(
    "args",
    [
        ["--kpi", "no_such_kpi"],
        ["--grain", "fortnight"],
        ["--by", "no_such_dimension"],
        ["--from", "2026-13-01"],
        ["--where", "campaign = "],
    ],
)
def test_user_errors_exit_2(args: list[str]) -> None:
    proc = run_cli("--format", "json", *args)
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
