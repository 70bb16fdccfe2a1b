"""Write the deterministic TikTok sample data used by ``specs/tiktok``.

Usage::

    python scripts/make_sample_data.py            # writes specs/tiktok/data/*.csv
    python scripts/make_sample_data.py --out DIR  # writes the same files into DIR

The numbers are invented but TikTok-shaped (see specs/tiktok/README.md): one
quarter, 2026-07-01 .. 2026-09-30, of organic account totals, follower totals and
ad-level paid delivery. Everything comes from one ``random.Random`` with a fixed
seed and plain float arithmetic (no libm calls such as ``sin`` or ``gauss``), so
every run on every platform writes byte-identical files. Standard library only.

Files: UTF-8, comma-separated, header row, ``\\n`` line ends, ISO dates,
``.`` as decimal point, an empty field for null.
"""

from __future__ import annotations

import argparse
import csv
import random
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

SEED = 20260701
START = date(2026, 7, 1)
END = date(2026, 9, 30)  # inclusive
DEFAULT_OUT = Path(__file__).resolve().parent.parent / "specs" / "tiktok" / "data"

# Day-of-week multipliers, Monday first: TikTok audiences peak at the weekend.
WEEKDAY_FACTOR = (0.90, 0.87, 0.93, 1.00, 1.08, 1.24, 1.19)

# Organic quirks, on purpose.
VIRAL = {  # day -> view multiplier (two viral videos and their tails)
    date(2026, 7, 17): 7.5,
    date(2026, 7, 18): 3.4,
    date(2026, 7, 19): 1.7,
    date(2026, 8, 21): 5.2,
    date(2026, 8, 22): 2.6,
    date(2026, 8, 23): 1.4,
}
LOW_ENGAGEMENT_DAY = date(2026, 7, 17)  # the viral video reached a cold audience
ZERO_DAY = date(2026, 8, 5)  # the account shows nothing at all that day
NEGATIVE_COMMENTS_DAY = date(2026, 9, 12)  # TikTok really reports comments = -1
QUIET_WEEK = (date(2026, 9, 7), date(2026, 9, 13))  # a Monday..Sunday losing followers
FOLLOWERS_BEFORE_START = 12_480  # the notional total at the end of 2026-06-30

# Paid quirks, on purpose.
ZERO_DELIVERY = ("UGC Unboxing", date(2026, 9, 3))  # an ad with no delivery for a day

ORGANIC_COLUMNS = ["date", "views", "profile_views", "likes", "comments", "shares"]
FOLLOWER_COLUMNS = ["date", "followers", "followers_change"]
PAID_COLUMNS = [
    "date", "campaign", "ad_group", "ad", "objective", "currency",
    "spend", "impressions", "reach", "clicks", "conversions", "conversion_value",
    "video_views", "views_2s", "views_6s", "views_p100",
    "likes", "comments", "shares", "follows", "profile_visits",
]  # fmt: skip


@dataclass(frozen=True)
class Campaign:
    name: str
    objective: str
    start: date
    end: date
    daily_budget: float  # USD across the campaign's four ads
    cpm: float  # USD per 1000 impressions
    ctr_start: float  # destination CTR at the start; drifts linearly to ctr_end
    ctr_end: float
    cvr: float  # conversions per click
    value_per_conversion: float  # USD
    follow_rate: float  # follows per video view
    ad_groups: tuple[tuple[str, tuple[str, str]], ...]
    null_value_rate: float = 0.0  # share of rows whose conversion_value is missing


CAMPAIGNS = (
    Campaign(
        name="Summer Sale",
        objective="conversions",
        start=START,
        end=date(2026, 8, 31),
        daily_budget=180.0,
        cpm=9.0,
        ctr_start=0.0115,
        ctr_end=0.0095,
        cvr=0.05,
        value_per_conversion=46.0,
        follow_rate=0.0006,
        ad_groups=(
            ("Prospecting - Broad", ("Beach Haul", "Créateur's cut")),
            ("Retargeting, 30 days", ("Last Chance", "Cart Reminder")),
        ),
    ),
    Campaign(
        name="Brand Awareness",
        objective="reach",
        start=START,
        end=END,
        daily_budget=120.0,
        cpm=5.6,
        ctr_start=0.0064,  # creative fatigue: falls under 0.5 % during August
        ctr_end=0.0034,
        cvr=0.024,
        value_per_conversion=42.0,
        follow_rate=0.0014,
        ad_groups=(
            ("Broad 18-34", ("Brand Story 15s", "Behind the Scenes")),
            ("Interest - Lifestyle", ("Team Intro", "Hashtag Challenge")),
        ),
    ),
    Campaign(
        name="App Installs",
        objective="app_installs",
        start=date(2026, 8, 15),
        end=END,
        daily_budget=150.0,
        cpm=12.0,
        ctr_start=0.017,
        ctr_end=0.015,
        cvr=0.07,
        value_per_conversion=11.0,  # first in-app purchases, reported late or not at all
        follow_rate=0.0004,
        ad_groups=(
            ("Android - Tier 1", ("Install Now", "Feature Tour")),
            ("iOS - Tier 1", ("Gameplay Teaser", "UGC Unboxing")),
        ),
        null_value_rate=0.03,
    ),
)

# Relative delivery weight and click quality of each ad slot within its campaign.
AD_WEIGHT = (0.34, 0.26, 0.22, 0.18)
AD_QUALITY = (1.10, 0.92, 1.04, 0.90)


def days(start: date, end: date) -> list[date]:
    return [start + timedelta(n) for n in range((end - start).days + 1)]


def money(x: float) -> str:
    return f"{x:.2f}"


def organic_rows(rng: random.Random) -> tuple[list[list[object]], list[list[object]]]:
    """Daily account totals and follower totals."""
    organic: list[list[object]] = []
    followers_rows: list[list[object]] = []
    followers = FOLLOWERS_BEFORE_START
    all_days = days(START, END)
    for i, day in enumerate(all_days):
        trend = 6200.0 + 2800.0 * i / (len(all_days) - 1)
        raw = trend * WEEKDAY_FACTOR[day.weekday()] * rng.uniform(0.82, 1.18)
        views = round(raw * VIRAL.get(day, 1.0))
        like_rate = 0.012 if day == LOW_ENGAGEMENT_DAY else rng.uniform(0.04, 0.08)
        likes = round(views * like_rate)
        comments = round(likes * rng.uniform(0.02, 0.06))
        shares = round(likes * rng.uniform(0.03, 0.10))
        profile_views = round(views * rng.uniform(0.008, 0.02))
        if day == ZERO_DAY:
            views = profile_views = likes = comments = shares = 0
        if day == NEGATIVE_COMMENTS_DAY:
            comments = -1
        organic.append([day.isoformat(), views, profile_views, likes, comments, shares])

        if QUIET_WEEK[0] <= day <= QUIET_WEEK[1]:
            change = -rng.randint(4, 22)
        elif day == ZERO_DAY:
            change = -9
        else:
            change = round(views * rng.uniform(0.0012, 0.0028) + rng.uniform(-8.0, 4.0))
        followers += change
        followers_rows.append([day.isoformat(), followers, change])
    return organic, followers_rows


def paid_rows(rng: random.Random) -> list[list[object]]:
    """One row per ad per day on which its campaign runs, ordered by date then ad."""
    rows: list[list[object]] = []
    span = (END - START).days
    for day in days(START, END):
        drift = (day - START).days / span
        for campaign in CAMPAIGNS:
            if not campaign.start <= day <= campaign.end:
                continue
            ctr_base = campaign.ctr_start + (campaign.ctr_end - campaign.ctr_start) * drift
            slot = 0
            for ad_group, ads in campaign.ad_groups:
                for ad in ads:
                    rows.append(paid_row(rng, day, campaign, ad_group, ad, slot, ctr_base))
                    slot += 1
    return rows


def paid_row(
    rng: random.Random,
    day: date,
    campaign: Campaign,
    ad_group: str,
    ad: str,
    slot: int,
    ctr_base: float,
) -> list[object]:
    pace = 0.9 + 0.1 * WEEKDAY_FACTOR[day.weekday()]
    spend = round(campaign.daily_budget * AD_WEIGHT[slot] * pace * rng.uniform(0.8, 1.2), 2)
    impressions = round(spend / (campaign.cpm * rng.uniform(0.85, 1.15)) * 1000)
    reach = round(impressions / rng.uniform(1.08, 1.35))
    clicks = round(impressions * ctr_base * AD_QUALITY[slot] * rng.uniform(0.8, 1.2))
    conversions = round(clicks * campaign.cvr * rng.uniform(0.6, 1.4))
    value = conversions * campaign.value_per_conversion * rng.uniform(0.7, 1.3)
    conversion_value: str | None = money(value)
    if rng.random() < campaign.null_value_rate:
        conversion_value = None
    video_views = round(impressions * rng.uniform(0.55, 0.75))
    views_2s = round(video_views * rng.uniform(0.45, 0.60))
    views_6s = round(views_2s * rng.uniform(0.35, 0.50))
    views_p100 = round(views_6s * rng.uniform(0.25, 0.45))
    likes = round(video_views * rng.uniform(0.004, 0.012))
    comments = round(likes * rng.uniform(0.02, 0.08))
    shares = round(likes * rng.uniform(0.03, 0.10))
    follows = round(video_views * campaign.follow_rate * rng.uniform(0.6, 1.4))
    profile_visits = round(video_views * rng.uniform(0.002, 0.006))
    counts = [impressions, reach, clicks, conversions]
    engagement = [video_views, views_2s, views_6s, views_p100, likes, comments, shares, follows,
                  profile_visits]  # fmt: skip
    if (ad, day) == ZERO_DELIVERY:
        spend = 0.0
        counts = [0] * len(counts)
        conversion_value = money(0.0)
        engagement = [0] * len(engagement)
    return [
        day.isoformat(), campaign.name, ad_group, ad, campaign.objective, "USD",
        money(spend), *counts, conversion_value, *engagement,
    ]  # fmt: skip


def write_csv(path: Path, header: list[str], rows: list[list[object]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help="output directory (default: %(default)s)"
    )
    args = parser.parse_args(argv)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)

    rng = random.Random(SEED)  # noqa: S311 -- sample data, not cryptography
    organic, followers = organic_rows(rng)
    paid = paid_rows(rng)
    write_csv(out / "organic_daily.csv", ORGANIC_COLUMNS, organic)
    write_csv(out / "followers_daily.csv", FOLLOWER_COLUMNS, followers)
    write_csv(out / "paid_daily.csv", PAID_COLUMNS, paid)
    for name, rows in (("organic_daily", organic), ("followers_daily", followers),
                       ("paid_daily", paid)):  # fmt: skip
        print(f"{out / (name + '.csv')}: {len(rows)} rows")


if __name__ == "__main__":
    main()
