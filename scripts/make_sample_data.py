"""Write the deterministic TikTok sample data used by ``specs/tiktok``.

Usage::

    python scripts/make_sample_data.py            # specs/tiktok/data/*.csv and the exports
    python scripts/make_sample_data.py --out DIR  # the CSVs into DIR, the exports beside it
    python scripts/make_sample_data.py --out DIR --exports DIR2

The numbers are invented but TikTok-shaped (see specs/tiktok/README.md): one
quarter, 2026-07-01 .. 2026-09-30, of organic account totals, follower totals,
viewers, videos, follower activity, audience shares, ad-level paid delivery and
paid delivery by audience segment. Everything comes from ``random.Random`` with
fixed seeds and plain float arithmetic (no libm calls such as ``sin`` or
``gauss``), so every run on every platform writes byte-identical files. Standard
library only.

Two forms of the same numbers are written:

* the canonical CSVs (``data/``): UTF-8, comma-separated, header row, ``\\n``
  line ends, ISO dates, ``.`` as decimal point, an empty field for null;
* the same data as TikTok exports it (``exports/studio`` and ``exports/ads``),
  with the quirks of the real files: a TikTok Studio export set (one zip per tab,
  the export time in the Overview zip's name, CSV with a BOM, every field quoted,
  no trailing newline, year-less dates in English and Portuguese, Portuguese
  headers, ``undefined`` for a day without data, the off-by-one follower difference
  column, a percent distribution, one file as XLSX) and Ads Manager reports (UI
  labels, thousands separators, ``%``, ``-`` for no value, a ``Total of N
  results`` row, a CSV and an XLSX). The zips are stored uncompressed with fixed
  timestamps, so they too are byte-identical on every run.
"""

from __future__ import annotations

import argparse
import csv
import io
import random
import zipfile
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from xml.sax.saxutils import escape

SEED = 20260701
START = date(2026, 7, 1)
END = date(2026, 9, 30)  # inclusive
DEFAULT_OUT = Path(__file__).resolve().parent.parent / "specs" / "tiktok" / "data"
EXTRA_SEED = SEED + 1  # the tables added later draw from their own generator, so the
# first three files stay as they were

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
        trend = 31000.0 + 14000.0 * i / (len(all_days) - 1)  # the views of its own reach
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
            change = round(views * rng.uniform(0.00024, 0.00056) + rng.uniform(-8.0, 4.0))
        followers += change
        # Growth is followers minus the previous day's followers; the data starts on
        # START, so the first day's growth is unknown (null), as every source gives it.
        followers_rows.append([day.isoformat(), followers, change if i else None])
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


def add_paid_views(organic: list[list[object]], paid: list[list[object]]) -> None:
    """Add each day's paid video views to the account's views, as TikTok counts them: the
    views of the account's videos include those its ads bought (Spark Ads), so that
    "organic only" views (views minus paid views) are never negative. The day the
    account shows nothing (``ZERO_DAY``) stays at zero: a gap in TikTok's data."""
    views_at = PAID_COLUMNS.index("video_views")
    paid_views: dict[object, int] = {}
    for row in paid:
        paid_views[row[0]] = paid_views.get(row[0], 0) + int(str(row[views_at]))
    for row in organic:
        if row[0] != ZERO_DAY.isoformat():
            row[1] = int(str(row[1])) + paid_views.get(row[0], 0)


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


# ---------------------------------------------------------------------------------------
# The tables added for the TikTok plugin: viewers, videos, follower activity, audience
# shares and paid delivery by audience segment. They draw from their own generator
# (EXTRA_SEED), after the three files above, so that those stay as they were.

VIEWER_COLUMNS = ["date", "viewers_total", "viewers_new", "viewers_returning"]
VIDEO_COLUMNS = [
    "video_id", "date", "posted_at", "title", "views", "likes", "comments", "shares",
    "duration_s", "reach", "avg_watch_s", "full_watch_rate", "new_followers",
]  # fmt: skip
ACTIVITY_COLUMNS = ["date", "hour", "active_followers"]
PAID_AUDIENCE_COLUMNS = [
    "date", "campaign", "ad_group", "age", "gender", "country", "interest_category",
    "currency", "spend", "impressions", "clicks", "conversions", "conversion_value",
]  # fmt: skip

VIRAL_POSTS = {date(2026, 7, 17): 12.0, date(2026, 8, 21): 8.0}  # the two viral videos
PARTIAL_VIEWERS_DAY = END  # TikTok has not counted the viewers of the last day yet
ACTIVITY_DAYS = 7  # FollowerActivity covers the last seven days only
# Share of followers active in each hour of the day (0..23): evenings are busiest.
HOUR_FACTOR = (
    0.050, 0.034, 0.024, 0.018, 0.016, 0.020, 0.034, 0.052, 0.066, 0.072, 0.078, 0.086,
    0.094, 0.090, 0.084, 0.088, 0.098, 0.112, 0.128, 0.142, 0.150, 0.138, 0.108, 0.074,
)  # fmt: skip
AUDIENCE_GENDER = (("Female", "0.5512"), ("Male", "0.4127"), ("Other", "0.0361"))
AUDIENCE_TERRITORY = (
    ("US", "0.3124"), ("GB", "0.1186"), ("CA", "0.0853"), ("AU", "0.0642"),
    ("DE", "0.0511"), ("Others", "0.3684"),
)  # fmt: skip
AUDIENCE_AGE = (  # from the Business API: Studio exports have no age breakdown
    ("18-24", "0.3412"), ("25-34", "0.3375"), ("35-44", "0.1721"), ("45-54", "0.0968"),
    ("55+", "0.0524"),
)  # fmt: skip
VIDEO_TITLES = (
    "Summer haul, part {n} #fyp",
    'Packing "the" beach bag in 30s',
    "Behind the scenes: our studio",
    "3 ways to wear it",
    "POV: the parcel finally arrives",
    "Q&A — your questions, answered",
    "Try-on: new colours",
    "Day in the life of our team",
)
# Paid delivery by audience segment: one report per breakdown, as Ads Manager gives
# them. Weights share out each campaign's daily delivery; the click factor shifts the
# CTR by segment, the conversion factor the conversion rate.
AGES = (("18-24", 0.30, 1.15, 0.80), ("25-34", 0.33, 1.05, 1.10), ("35-44", 0.19, 0.95, 1.15),
        ("45-54", 0.11, 0.80, 1.00), ("55+", 0.07, 0.60, 0.85))  # fmt: skip
GENDERS = (("Female", 0.56, 1.08, 1.05), ("Male", 0.44, 0.90, 0.94))
COUNTRIES = (("US", 0.58, 1.05, 1.10), ("GB", 0.25, 0.95, 0.95), ("CA", 0.17, 0.90, 0.80))
INTERESTS = (
    ("Apparel & Accessories", 0.45, 1.10, 1.10),
    ("Beauty & Personal Care", 0.35, 1.00, 0.95),
    ("Games", 0.20, 0.70, 0.70),
)
BREAKDOWNS = (
    ("age_gender", tuple((a, g) for a in AGES for g in GENDERS)),
    ("country", tuple((c,) for c in COUNTRIES)),
    ("interest", tuple((i,) for i in INTERESTS)),
)


def viewer_rows(rng: random.Random, organic: list[list[object]]) -> list[list[object]]:
    """Daily unique viewers, new and returning, from the day's views."""
    rows: list[list[object]] = []
    for day_text, views, *_ in organic:
        day = date.fromisoformat(str(day_text))
        total = round(int(str(views)) * rng.uniform(0.58, 0.78))
        new_share = 0.86 if day in VIRAL else rng.uniform(0.52, 0.70)
        new = round(total * new_share)
        if day == PARTIAL_VIEWERS_DAY:
            rows.append([day_text, None, None, None])
        else:
            rows.append([day_text, total, new, total - new])
    return rows


def video_rows(rng: random.Random) -> list[list[object]]:
    """The account's posts: about two a week, and the two viral ones."""
    rows: list[list[object]] = []
    for i, day in enumerate(days(START, END)):
        if day not in VIRAL_POSTS and rng.random() >= 0.28:
            continue
        hour, minute, second = rng.randint(9, 21), rng.randint(0, 59), rng.randint(0, 59)
        posted = datetime(day.year, day.month, day.day, hour, minute, second)
        seconds = i * 86_400 + hour * 3600 + minute * 60 + second
        video_id = str(7_525_000_000_000_000_000 + seconds * 1_000_000 + rng.randint(0, 999_999))
        title = VIDEO_TITLES[len(rows) % len(VIDEO_TITLES)].format(n=len(rows) // 8 + 1)
        views = round(rng.uniform(3_000, 38_000) * VIRAL_POSTS.get(day, 1.0))
        likes = round(views * rng.uniform(0.03, 0.09))
        duration = round(rng.uniform(9.0, 75.0), 1)
        rows.append([
            video_id, day.isoformat(), posted.isoformat(sep=" "), title, views, likes,
            round(likes * rng.uniform(0.02, 0.07)), round(likes * rng.uniform(0.03, 0.10)),
            f"{duration:.1f}", round(views * rng.uniform(0.70, 0.92)),
            f"{duration * rng.uniform(0.30, 0.65):.1f}", f"{rng.uniform(0.05, 0.32):.4f}",
            round(views * rng.uniform(0.0006, 0.0022)),
        ])  # fmt: skip
    return rows


def activity_rows(rng: random.Random, followers: list[list[object]]) -> list[list[object]]:
    """Active followers per hour over the last seven days."""
    rows: list[list[object]] = []
    for day_text, count, _ in followers[-ACTIVITY_DAYS:]:
        weekend = date.fromisoformat(str(day_text)).weekday() >= 5
        for hour, factor in enumerate(HOUR_FACTOR):
            shift = 1.12 if weekend and 10 <= hour <= 16 else 1.0
            active = round(int(str(count)) * factor * shift * rng.uniform(0.9, 1.1))
            rows.append([day_text, hour, active])
    return rows


def allocate(total: int, weights: list[float], carry: list[float]) -> list[int]:
    """``total`` split in proportion to ``weights`` into integers that add up to it.

    ``carry`` holds what rounding gave or took from each part so far, and is updated:
    over many days, a small segment gets its share (error diffusion) instead of always
    losing the rounding to the big ones.
    """
    whole = sum(weights)
    exact = [total * w / whole + c for w, c in zip(weights, carry, strict=True)]
    parts = [max(int(x // 1), 0) for x in exact]
    order = sorted(range(len(weights)), key=lambda k: (-(exact[k] - parts[k]), k))
    for k in order[: max(total - sum(parts), 0)]:
        parts[k] += 1
    while sum(parts) > total:  # carries can round up more than there is
        k = max(range(len(parts)), key=lambda k: (parts[k] - exact[k], k))
        parts[k] -= 1
    for k in range(len(parts)):
        carry[k] = exact[k] - parts[k]
    return parts


def paid_audience_rows(rng: random.Random, paid: list[list[object]]) -> list[list[object]]:
    """Each campaign's daily delivery, broken down by age and gender, by country and by
    interest category (three reports): the segments of a report add up to the day."""
    totals: dict[tuple[str, str], list[int | None]] = {}
    for row in paid:
        key = (str(row[0]), str(row[1]))
        spend, impressions, clicks, conversions = row[6], row[7], row[9], row[10]
        value = row[11]
        sums = totals.setdefault(key, [0, 0, 0, 0, None])
        sums[0] = (sums[0] or 0) + round(float(str(spend)) * 100)
        sums[1] = (sums[1] or 0) + int(str(impressions))
        sums[2] = (sums[2] or 0) + int(str(clicks))
        sums[3] = (sums[3] or 0) + int(str(conversions))
        if value is not None:
            sums[4] = (sums[4] or 0) + round(float(str(value)) * 100)
    rows: list[list[object]] = []
    carries: dict[tuple[str, str, str], list[float]] = {}
    for (day_text, campaign), (cents, impressions, clicks, conversions, value) in totals.items():
        for breakdown, segments in BREAKDOWNS:

            def carry(
                metric: str, n: int = len(segments), key: tuple[str, str] = (campaign, breakdown)
            ) -> list[float]:
                return carries.setdefault((*key, metric), [0.0] * n)

            noise = [rng.uniform(0.85, 1.15) for _ in segments]
            reach_w, click_w, conv_w = [], [], []
            for seg, n in zip(segments, noise, strict=True):
                share = n
                ctr = cvr = 1.0
                for _, weight, click_factor, conv_factor in seg:
                    share *= weight
                    ctr *= click_factor
                    cvr *= conv_factor
                reach_w.append(share)
                click_w.append(share * ctr)
                conv_w.append(share * ctr * cvr)
            spend_parts = allocate(int(cents or 0), reach_w, carry("spend"))
            imp_parts = allocate(int(impressions or 0), reach_w, carry("impressions"))
            click_parts = allocate(int(clicks or 0), click_w, carry("clicks"))
            conv_parts = allocate(int(conversions or 0), conv_w, carry("conversions"))
            value_parts = None if value is None else allocate(value, conv_w, carry("value"))
            for k, seg in enumerate(segments):
                labels = {"age": None, "gender": None, "country": None, "interest": None}
                names = [s[0] for s in seg]
                if len(seg) == 2:
                    labels["age"], labels["gender"] = names
                elif seg[0] in COUNTRIES:
                    labels["country"] = names[0]
                else:
                    labels["interest"] = names[0]
                rows.append([
                    day_text, campaign, None, labels["age"], labels["gender"],
                    labels["country"], labels["interest"], "USD",
                    money(spend_parts[k] / 100), imp_parts[k], click_parts[k], conv_parts[k],
                    None if value_parts is None else money(value_parts[k] / 100),
                ])  # fmt: skip
    return rows


# -- TikTok's own formats ---------------------------------------------------------------

HANDLE = "sampleshop"
EXPORT_TIME = datetime(2026, 10, 2, 9, 0, tzinfo=UTC)  # two days after the data
ZIP_TIME = (2026, 10, 2, 9, 0, 0)
MONTHS_EN = ("January", "February", "March", "April", "May", "June", "July", "August",
             "September", "October", "November", "December")  # fmt: skip
MONTHS_PT = ("janeiro", "fevereiro", "março", "abril", "maio", "junho", "julho", "agosto",
             "setembro", "outubro", "novembro", "dezembro")  # fmt: skip


def english_day(day_text: object) -> str:
    day = date.fromisoformat(str(day_text))
    return f"{MONTHS_EN[day.month - 1]} {day.day}"


def portuguese_day(day_text: object) -> str:
    day = date.fromisoformat(str(day_text))
    return f"{day.day} de {MONTHS_PT[day.month - 1]}"


def text(value: object, null: str = "") -> str:
    return null if value is None else str(value)


def studio_csv(header: list[str], rows: list[list[str]]) -> bytes:
    """A CSV as TikTok Studio writes it: a BOM, every field quoted, no trailing newline."""
    buf = io.StringIO()
    writer = csv.writer(buf, quoting=csv.QUOTE_ALL, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return ("\ufeff" + buf.getvalue().rstrip("\n")).encode("utf-8")


def plain_csv(header: list[str], rows: list[list[str]], *, bom: bool = False) -> bytes:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows([header, *rows])
    return (("\ufeff" if bom else "") + buf.getvalue()).encode("utf-8")


def write_zip(path: Path, members: list[tuple[str, bytes]]) -> None:
    """A zip with fixed timestamps and no compression: the same bytes on every run."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as zf:
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.external_attr = 0o644 << 16
            zf.writestr(info, data)


def column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def xlsx(rows: list[list[object]]) -> bytes:
    """A minimal one-sheet workbook (written by hand, so that it is deterministic): text
    cells as inline strings, ``int`` and ``float`` cells as numbers."""
    sheet_rows = []
    for r, row in enumerate(rows, start=1):
        cells = []
        for c, value in enumerate(row):
            ref = f"{column_letter(c)}{r}"
            if value is None:
                continue
            if isinstance(value, int | float):
                cells.append(f'<c r="{ref}"><v>{value}</v></c>')
            else:
                cells.append(f'<c r="{ref}" t="inlineStr"><is><t>{escape(str(value))}</t></is></c>')
        sheet_rows.append(f'<row r="{r}">{"".join(cells)}</row>')
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    pkg = "http://schemas.openxmlformats.org/package/2006/relationships"
    ct = "application/vnd.openxmlformats-officedocument.spreadsheetml"
    parts = [
        ("[Content_Types].xml",
         '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
         '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
         '<Default Extension="rels" '
         'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
         '<Default Extension="xml" ContentType="application/xml"/>'
         f'<Override PartName="/xl/workbook.xml" ContentType="{ct}.sheet.main+xml"/>'
         f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{ct}.worksheet+xml"/>'
         "</Types>"),
        ("_rels/.rels",
         '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
         f'<Relationships xmlns="{pkg}"><Relationship Id="rId1" '
         f'Type="{rel}/officeDocument" Target="xl/workbook.xml"/></Relationships>'),
        ("xl/workbook.xml",
         '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
         f'<workbook xmlns="{main}" xmlns:r="{rel}"><sheets>'
         '<sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'),
        ("xl/_rels/workbook.xml.rels",
         '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
         f'<Relationships xmlns="{pkg}"><Relationship Id="rId1" '
         f'Type="{rel}/worksheet" Target="worksheets/sheet1.xml"/></Relationships>'),
        ("xl/worksheets/sheet1.xml",
         '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
         f'<worksheet xmlns="{main}"><sheetData>{"".join(sheet_rows)}</sheetData></worksheet>'),
    ]  # fmt: skip
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as zf:
        for name, data in parts:
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.external_attr = 0o644 << 16
            zf.writestr(info, data.encode("utf-8"))
    return buf.getvalue()


def write_studio_exports(
    folder: Path,
    organic: list[list[object]],
    followers: list[list[object]],
    viewers: list[list[object]],
    videos: list[list[object]],
    activity: list[list[object]],
) -> list[Path]:
    """The quarter as a TikTok Studio export set: one zip per analytics tab."""
    folder.mkdir(parents=True, exist_ok=True)
    epoch = int(EXPORT_TIME.timestamp())
    overview = studio_csv(
        ["Date", "Video Views", "Profile Views", "Likes", "Comments", "Shares"],
        [[english_day(r[0]), *(text(v) for v in r[1:])] for r in organic],
    )
    # "Difference in followers from previous day" really holds the next day minus this
    # day; the export's last day has no next day yet.
    history = [
        [english_day(r[0]), text(r[1]),
         text(int(str(followers[i + 1][1])) - int(str(r[1]))) if i + 1 < len(followers) else "0"]
        for i, r in enumerate(followers)
    ]  # fmt: skip
    follower_files = [
        ("FollowerHistory.csv", studio_csv(
            ["Date", "Followers", "Difference in followers from previous day"], history)),
        ("FollowerActivity.csv", studio_csv(
            ["Date", "Hour", "Active followers"],
            [[english_day(r[0]), text(r[1]), text(r[2])] for r in activity])),
        ("FollowerGender.csv", studio_csv(
            ["Gender", "Distribution"], [list(r) for r in AUDIENCE_GENDER])),
        ("FollowerTopTerritories.csv", studio_csv(
            ["Top territories", "Distribution"],
            [[name, f"{float(share) * 100:.2f}%"] for name, share in AUDIENCE_TERRITORY])),
    ]  # fmt: skip
    viewers_pt = studio_csv(  # exported with the app in Portuguese
        ["Data", "Total de espectadores", "Novos espectadores", "Espectadores recorrentes"],
        [[portuguese_day(r[0]), text(r[1], "undefined"), text(r[2], "0"), text(r[3], "0")]
         for r in viewers],
    )  # fmt: skip
    export_time = EXPORT_TIME.strftime("%Y-%m-%d %H:%M:%S")
    content = xlsx([
        ["Time", "Video title", "Video link", "Post time", "Total likes", "Total comments",
         "Total shares", "Total views"],
        *([export_time, r[3], f"https://www.tiktok.com/@{HANDLE}/video/{r[0]}", r[2],
           str(r[5]), str(r[6]), str(r[7]), str(r[4])] for r in videos),
    ])  # fmt: skip
    zips = [
        (f"Overview_{START.isoformat()}_{epoch}_{HANDLE}.zip", [("Overview.csv", overview)]),
        (f"Content_{HANDLE}.zip", [("Content.xlsx", content)]),
        (f"Viewers_{HANDLE}.zip", [("Viewers.csv", viewers_pt)]),
        (f"Followers_{HANDLE}.zip", follower_files),
    ]
    paths = []
    for name, members in zips:
        write_zip(folder / name, members)
        paths.append(folder / name)
    return paths


ADS_DELIVERY = [
    "By Day", "Campaign name", "Campaign ID", "Ad group name", "Ad group ID", "Ad name",
    "Ad ID", "Objective", "Currency", "Primary status", "Cost", "Impressions", "Reach",
    "Frequency", "Clicks (destination)", "CTR (destination)", "CPC (destination)", "CPM",
    "Conversions", "Cost per conversion", "Conversion rate (CVR, clicks)",
    "Purchase value (website)", "Purchase ROAS (website)", "Video views",
    "2-second video views", "6-second video views", "Video views at 100%", "Paid likes",
    "Paid comments", "Paid shares", "Paid follows", "Paid profile visits",
]  # fmt: skip


def grouped(n: int) -> str:
    return f"{n:,}"


def ratio(a: float, b: float, scale: float = 1.0, digits: int = 2, suffix: str = "") -> str:
    return "-" if b == 0 else f"{a / b * scale:,.{digits}f}{suffix}"


def object_id(*names: str) -> str:
    """A stable 16-digit id for a campaign, ad group or ad (TikTok's ids are numbers)."""
    value = 0
    for ch in "/".join(names):
        value = (value * 131 + ord(ch)) % 10**15
    return str(1_700_000_000_000_000 + value)


def ads_delivery_row(r: list[object]) -> list[str]:
    (day, campaign, ad_group, ad, objective, currency, spend_t, imp, reach, clicks, conv,
     value_t, views, v2, v6, v100, likes, comments, shares, follows, visits) = r  # fmt: skip
    spend = float(str(spend_t))
    n = {k: int(str(v)) for k, v in (("imp", imp), ("reach", reach), ("clicks", clicks),
                                       ("conv", conv))}  # fmt: skip
    value = None if value_t is None else float(str(value_t))
    return [
        str(day), str(campaign), object_id(str(campaign)), str(ad_group),
        object_id(str(campaign), str(ad_group)), str(ad),
        object_id(str(campaign), str(ad_group), str(ad)), str(objective), str(currency),
        "Active" if n["imp"] else "Not delivering", f"{spend:,.2f}", grouped(n["imp"]),
        grouped(n["reach"]), ratio(n["imp"], n["reach"]), grouped(n["clicks"]),
        ratio(n["clicks"], n["imp"], 100, 2, "%"), ratio(spend, n["clicks"]),
        ratio(spend, n["imp"], 1000), grouped(n["conv"]), ratio(spend, n["conv"]),
        ratio(n["conv"], n["clicks"], 100, 2, "%"),
        "-" if value is None else f"{value:,.2f}",
        "-" if value is None else ratio(value, spend),
        *(grouped(int(str(x))) for x in (views, v2, v6, v100, likes, comments, shares,
                                         follows, visits)),
    ]  # fmt: skip


def totals_row(header: list[str], rows: list[list[str]]) -> list[str]:
    """Ads Manager's ``Total of N results`` row: sums of the count and money columns."""
    out = [f"Total of {len(rows)} results"]
    summed = {"Cost", "Impressions", "Reach", "Clicks (destination)", "Conversions",
              "Purchase value (website)", "Video views", "2-second video views",
              "6-second video views", "Video views at 100%", "Paid likes", "Paid comments",
              "Paid shares", "Paid follows", "Paid profile visits"}  # fmt: skip
    for k, name in enumerate(header[1:], start=1):
        if name not in summed:
            out.append("-")
            continue
        values = [float(r[k].replace(",", "")) for r in rows if r[k] != "-"]
        money_column = name in ("Cost", "Purchase value (website)")
        out.append(f"{sum(values):,.2f}" if money_column else grouped(round(sum(values))))
    return out


def write_ads_exports(
    folder: Path, paid: list[list[object]], audience: list[list[object]]
) -> list[Path]:
    """Ads Manager custom reports: ad-level delivery by day (July-August as CSV,
    September as XLSX) and the audience reports (by age and gender, by country, by
    interest category) as CSV."""
    folder.mkdir(parents=True, exist_ok=True)
    summer = [ads_delivery_row(r) for r in paid if str(r[0]) < "2026-09-01"]
    september = [r for r in paid if str(r[0]) >= "2026-09-01"]
    paths = [folder / "ad_report_by_day_2026-07-01_2026-08-31.csv"]
    paths[0].write_bytes(
        plain_csv(ADS_DELIVERY, [*summer, totals_row(ADS_DELIVERY, summer)], bom=True)
    )
    xlsx_rows: list[list[object]] = [list(ADS_DELIVERY)]
    for r in september:
        cells: list[object] = []
        for name, cell in zip(ADS_DELIVERY, ads_delivery_row(r), strict=True):
            plain = cell.replace(",", "")
            counts = name in ("Impressions", "Reach", "Clicks (destination)", "Conversions")
            if counts or name.startswith(("Paid ", "Video views", "2-second", "6-second")):
                cells.append(int(plain))
            elif name in ("Cost", "Purchase value (website)") and plain != "-":
                cells.append(float(plain))
            else:
                cells.append(cell)
        xlsx_rows.append(cells)
    paths.append(folder / "ad_report_by_day_2026-09.xlsx")
    paths[-1].write_bytes(xlsx(xlsx_rows))
    reports = (
        ("audience_report_age_gender.csv", ["Age", "Gender"], (3, 4)),
        ("audience_report_country.csv", ["Country/Region"], (5,)),
        ("audience_report_interest.csv", ["Interest category"], (6,)),
    )
    for name, labels, columns in reports:
        header = ["By Day", "Campaign name", *labels, "Currency", "Cost", "Impressions",
                  "Clicks (destination)", "CTR (destination)", "Conversions",
                  "Purchase value (website)"]  # fmt: skip
        rows = []
        for r in audience:
            if r[columns[0]] is None:
                continue
            spend, imp, clicks = float(str(r[8])), int(str(r[9])), int(str(r[10]))
            rows.append([
                str(r[0]), str(r[1]), *(str(r[c]) for c in columns), str(r[7]),
                f"{spend:,.2f}", grouped(imp), grouped(clicks), ratio(clicks, imp, 100, 2, "%"),
                grouped(int(str(r[11]))), "-" if r[12] is None else f"{float(str(r[12])):,.2f}",
            ])  # fmt: skip
        path = folder / name
        path.write_bytes(plain_csv(header, [*rows, totals_row(header, rows)]))
        paths.append(path)
    return paths


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
    parser.add_argument(
        "--exports",
        type=Path,
        default=None,
        help="directory for the TikTok-format exports (default: `exports` beside --out)",
    )
    args = parser.parse_args(argv)
    out: Path = args.out
    exports: Path = args.exports or out.parent / "exports"
    out.mkdir(parents=True, exist_ok=True)

    rng = random.Random(SEED)  # noqa: S311 -- sample data, not cryptography
    organic, followers = organic_rows(rng)
    paid = paid_rows(rng)
    add_paid_views(organic, paid)
    extra = random.Random(EXTRA_SEED)  # noqa: S311 -- sample data, not cryptography
    viewers = viewer_rows(extra, organic)
    videos = video_rows(extra)
    activity = activity_rows(extra, followers)
    audience = paid_audience_rows(extra, paid)
    tables: list[tuple[str, list[str], list[list[object]]]] = [
        ("organic_daily", ORGANIC_COLUMNS, organic),
        ("followers_daily", FOLLOWER_COLUMNS, followers),
        ("paid_daily", PAID_COLUMNS, paid),
        ("viewers_daily", VIEWER_COLUMNS, viewers),
        ("videos", VIDEO_COLUMNS, videos),
        ("follower_activity", ACTIVITY_COLUMNS, activity),
        ("audience_gender", ["gender", "share"], [list(r) for r in AUDIENCE_GENDER]),
        ("audience_territory", ["territory", "share"], [list(r) for r in AUDIENCE_TERRITORY]),
        ("audience_age", ["age", "share"], [list(r) for r in AUDIENCE_AGE]),
        ("paid_audience", PAID_AUDIENCE_COLUMNS, audience),
    ]
    for name, header, rows in tables:
        write_csv(out / f"{name}.csv", header, rows)
        print(f"{out / (name + '.csv')}: {len(rows)} rows")
    for path in write_studio_exports(
        exports / "studio", organic, followers, viewers, videos, activity
    ):
        print(path)
    for path in write_ads_exports(exports / "ads", paid, audience):
        print(path)


if __name__ == "__main__":
    main()
