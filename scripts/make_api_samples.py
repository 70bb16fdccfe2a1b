"""Write the sample TikTok API answers in ``specs/tiktok/exports/api/`` from the sample CSVs.

Usage::

    python scripts/make_api_samples.py                    # specs/tiktok/data → exports/api
    python scripts/make_api_samples.py --data DIR --out DIR

The answers are what the TikTok APIs would have sent for the numbers in
``specs/tiktok/data/*.csv``, in TikTok's documented shapes, saved the way
``tiktok-api:live?…&save=DIR`` saves them: one JSON file per answer,
``{"request": {"endpoint": …, "params": {…}}, "response": {"code": 0, …}}``. So
``kpi run specs/tiktok --source tiktok=tiktok-api:specs/tiktok/exports/api`` gives the
same KPI values as the CSVs, except where the API has no data (new and returning
viewers).

* ``advertiser/info``: the account currency;
* ``report/integrated/get`` BASIC, ``AUCTION_AD`` by ``ad_id`` and ``stat_time_day``, one
  answer per 30-day window (TikTok's limit), metrics as strings (money with three
  decimals, ``-`` where the CSV is empty), TikTok's own ``ctr`` and ``cpc`` included
  as TikTok sends them (percentages without ``%``), to show that they are not read;
* ``report/integrated/get`` AUDIENCE, ``AUCTION_CAMPAIGN`` by ``campaign_id``,
  ``stat_time_day`` and the breakdown (age and gender, country, interest category);
* ``business/get`` per 30-day window: daily metrics, follower activity for the days
  that have it, the demographics;
* ``business/video/list``: 20 videos a page, by cursor.

Ids are the ones the Ads Manager sample export uses (``object_id`` in
``make_sample_data.py``). Deterministic: byte-identical on every run. Standard library
only.
"""

from __future__ import annotations

import argparse
import csv
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT / "specs" / "tiktok" / "data"
DEFAULT_OUT = ROOT / "specs" / "tiktok" / "exports" / "api"

ADVERTISER = "7420000000000000001"
BUSINESS = "biz-sampleshop"
WINDOW_DAYS = 30
VIDEO_PAGE = 20

AGE_CODES = {"18-24": "AGE_18_24", "25-34": "AGE_25_34", "35-44": "AGE_35_44",
             "45-54": "AGE_45_54", "55+": "AGE_55_100", "13-17": "AGE_13_17"}  # fmt: skip
#: TikTok metric ← paid_daily column ("" for a column the CSV lacks: "-").
BASIC_METRICS = (
    ("spend", "spend"), ("impressions", "impressions"), ("reach", "reach"),
    ("clicks", "clicks"), ("conversion", "conversions"),
    ("total_complete_payment_rate", "conversion_value"), ("video_play_actions", "video_views"),
    ("video_watched_2s", "views_2s"), ("video_watched_6s", "views_6s"),
    ("video_views_p25", "views_p25"), ("video_views_p50", "views_p50"),
    ("video_views_p75", "views_p75"), ("video_views_p100", "views_p100"), ("likes", "likes"),
    ("comments", "comments"), ("shares", "shares"), ("follows", "follows"),
    ("profile_visits", "profile_visits"),
)  # fmt: skip
BASIC_ATTRIBUTES = ("campaign_name", "campaign_id", "adgroup_name", "adgroup_id", "ad_name",
                    "objective_type")  # fmt: skip
AUDIENCE_METRICS = (("spend", "spend"), ("impressions", "impressions"), ("clicks", "clicks"),
                    ("conversion", "conversions"),
                    ("total_complete_payment_rate", "conversion_value"))  # fmt: skip
MONEY = {"spend", "conversion_value"}
BREAKDOWNS = (  # name, TikTok dimensions, CSV columns
    ("age-gender", ("age", "gender"), ("age", "gender")),
    ("country_code", ("country_code",), ("country",)),
    ("interest_category", ("interest_category",), ("interest_category",)),
)
BUSINESS_FIELDS = ["video_views", "unique_video_views", "profile_views", "likes", "comments",
                   "shares", "followers_count", "audience_activity", "audience_ages",
                   "audience_genders", "audience_countries"]  # fmt: skip
VIDEO_FIELDS = ["item_id", "create_time", "caption", "share_url", "video_duration", "likes",
                "comments", "shares", "reach", "video_views", "average_time_watched",
                "full_video_watched_rate", "new_followers"]  # fmt: skip

Row = dict[str, str]


def object_id(*names: str) -> str:
    """The id the Ads Manager sample export gives a campaign, ad group or ad."""
    value = 0
    for ch in "/".join(names):
        value = (value * 131 + ord(ch)) % 10**15
    return str(1_700_000_000_000_000 + value)


def read(data: Path, name: str) -> list[Row]:
    path = data / f"{name}.csv"
    if not path.exists():
        return []
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def windows(start: date, end: date) -> Iterator[tuple[date, date]]:
    while start <= end:
        last = min(end, start + timedelta(days=WINDOW_DAYS - 1))
        yield start, last
        start = last + timedelta(days=1)


def metric(value: str | None, money: bool) -> str:
    """A metric as TikTok sends it: a string; money with three decimals; ``-`` if none."""
    if value is None or value == "":
        return "-"
    return f"{float(value):.3f}" if money else str(int(value))


def ratio(num: str | None, den: str | None, scale: float, digits: int) -> str:
    if not num or not den or float(den) == 0:
        return "0.00" if digits == 2 else "0.000"
    return f"{float(num) / float(den) * scale:.{digits}f}"


def integer(value: str) -> int | None:
    return None if value == "" else int(value)


class Writer:
    """Numbered answer files, as ``save=`` names them."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.count = 0
        self.paths: list[Path] = []

    def answer(self, label: str, endpoint: str, params: dict[str, Any], data: Any) -> None:
        self.count += 1
        request_id = f"20261001000000{self.count:04d}SAMPLE"
        response = {"code": 0, "message": "OK", "request_id": request_id, "data": data}
        record = {"request": {"endpoint": endpoint, "params": params}, "response": response}
        path = self.out / f"{self.count:04d}-{label}.json"
        path.write_text(dump(record) + "\n", encoding="utf-8")
        self.paths.append(path)


def dump(value: Any, indent: int = 0) -> str:
    """JSON with objects spread over lines and each item of a list of objects on one line
    (readable, and a change to one row is a one-line diff)."""
    pad = " " * (indent + 1)
    if isinstance(value, dict) and value and indent < 3:
        items = [f"{pad}{json.dumps(k)}: {dump(v, indent + 1)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + " " * indent + "}"
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        items = [pad + json.dumps(v, ensure_ascii=False) for v in value]
        return "[\n" + ",\n".join(items) + "\n" + " " * indent + "]"
    return json.dumps(value, ensure_ascii=False)


def page_info(rows: list[Any]) -> dict[str, int]:
    return {"page": 1, "page_size": 1000, "total_page": 1, "total_number": len(rows)}


def report_params(report_type: str, level: str, dims: list[str], metrics: list[str],
                  first: date, last: date) -> dict[str, Any]:  # fmt: skip
    return {"advertiser_id": ADVERTISER, "service_type": "AUCTION", "report_type": report_type,
            "data_level": level, "dimensions": dims, "metrics": metrics,
            "start_date": first.isoformat(), "end_date": last.isoformat(), "page": 1,
            "page_size": 1000}  # fmt: skip


def write_paid(w: Writer, data: Path, start: date, end: date) -> None:
    paid = read(data, "paid_daily")
    audience = read(data, "paid_audience")
    if not paid and not audience:
        return
    currencies = {r["currency"] for r in paid + audience}
    if len(currencies) != 1:
        raise SystemExit(f"one currency expected in the sample, found {sorted(currencies)}")
    w.answer(f"advertiser-info-{ADVERTISER}", "advertiser/info/",
             {"advertiser_ids": [ADVERTISER], "fields": ["advertiser_id", "currency",
                                                        "timezone"]},
             {"list": [{"advertiser_id": ADVERTISER, "name": "Sample Shop",
                        "currency": currencies.pop(), "timezone": "Etc/GMT"}]})  # fmt: skip
    metrics = [*BASIC_ATTRIBUTES, *(m for m, _ in BASIC_METRICS)]
    for first, last in windows(start, end):
        items = []
        for r in paid:
            if not first.isoformat() <= r["date"] <= last.isoformat():
                continue
            ids = (object_id(r["campaign"]), object_id(r["campaign"], r["ad_group"]),
                   object_id(r["campaign"], r["ad_group"], r["ad"]))  # fmt: skip
            values = {"campaign_name": r["campaign"], "campaign_id": ids[0],
                      "adgroup_name": r["ad_group"], "adgroup_id": ids[1], "ad_name": r["ad"],
                      "objective_type": r["objective"].upper()}  # fmt: skip
            for name, col in BASIC_METRICS:
                values[name] = metric(r.get(col), col in MONEY)
            values["ctr"] = ratio(r["clicks"], r["impressions"], 100, 2)  # TikTok's: not read
            values["cpc"] = ratio(r["spend"], r["clicks"], 1, 3)
            items.append({"dimensions": {"ad_id": ids[2],
                                         "stat_time_day": f"{r['date']} 00:00:00"},
                          "metrics": values})  # fmt: skip
        w.answer(f"report-basic-{ADVERTISER}-{first}-{last}-p1", "report/integrated/get/",
                 report_params("BASIC", "AUCTION_AD", ["ad_id", "stat_time_day"], metrics,
                               first, last),
                 {"page_info": page_info(items), "list": items})  # fmt: skip
    metrics = ["campaign_name", *(m for m, _ in AUDIENCE_METRICS)]
    for label, dims, columns in BREAKDOWNS:
        mine = [r for r in audience if all(r[c] for c in columns)]
        for first, last in windows(start, end):
            items = []
            for r in mine:
                if not first.isoformat() <= r["date"] <= last.isoformat():
                    continue
                d = {"campaign_id": object_id(r["campaign"]),
                     "stat_time_day": f"{r['date']} 00:00:00"}  # fmt: skip
                for dim, col in zip(dims, columns, strict=True):
                    d[dim] = {"age": AGE_CODES.get(r[col], r[col]),
                              "gender": r[col].upper()}.get(dim, r[col])  # fmt: skip
                values = {"campaign_name": r["campaign"]}
                for name, col in AUDIENCE_METRICS:
                    values[name] = metric(r[col], col in MONEY)
                values["ctr"] = ratio(r["clicks"], r["impressions"], 100, 2)
                items.append({"dimensions": d, "metrics": values})
            w.answer(f"report-audience-{label}-{ADVERTISER}-{first}-{last}-p1",
                     "report/integrated/get/",
                     report_params("AUDIENCE", "AUCTION_CAMPAIGN",
                                   ["campaign_id", "stat_time_day", *dims], metrics, first, last),
                     {"page_info": page_info(items), "list": items})  # fmt: skip


def write_organic(w: Writer, data: Path, start: date, end: date) -> None:
    organic = {r["date"]: r for r in read(data, "organic_daily")}
    if not organic:
        return
    followers = {r["date"]: r for r in read(data, "followers_daily")}
    viewers = {r["date"]: r for r in read(data, "viewers_daily")}
    activity: dict[str, list[dict[str, Any]]] = {}
    for r in read(data, "follower_activity"):
        activity.setdefault(r["date"], []).append(
            {"hour": r["hour"], "count": integer(r["active_followers"])}
        )
    demographics = {
        "audience_ages": [{"age": r["age"], "percentage": float(r["share"])}
                          for r in read(data, "audience_age")],
        "audience_genders": [{"gender": r["gender"], "percentage": float(r["share"])}
                             for r in read(data, "audience_gender")],
        "audience_countries": [{"country": r["territory"], "percentage": float(r["share"])}
                               for r in read(data, "audience_territory")],
    }  # fmt: skip
    for first, last in windows(start, end):
        metrics = []
        day = first
        while day <= last:
            key = day.isoformat()
            day += timedelta(days=1)
            if key not in organic:
                continue
            o = organic[key]
            entry: dict[str, Any] = {"date": key}
            if key in followers:
                entry["followers_count"] = integer(followers[key]["followers"])
            entry |= {"video_views": integer(o["views"]),
                      "profile_views": integer(o["profile_views"]),
                      "likes": integer(o["likes"]), "comments": integer(o["comments"]),
                      "shares": integer(o["shares"])}  # fmt: skip
            if key in viewers:
                entry["unique_video_views"] = integer(viewers[key]["viewers_total"])
            if key in activity:
                entry["audience_activity"] = activity[key]
            metrics.append(entry)
        last_followers = metrics[-1].get("followers_count") if metrics else None
        body: dict[str, Any] = {"followers_count": last_followers, "metrics": metrics}
        body |= {k: v for k, v in demographics.items() if v}
        w.answer(f"business-get-{BUSINESS}-{first}-{last}", "business/get/",
                 {"business_id": BUSINESS, "start_date": first.isoformat(),
                  "end_date": last.isoformat(), "fields": BUSINESS_FIELDS}, body)  # fmt: skip


def write_videos(w: Writer, data: Path) -> None:
    videos = read(data, "videos")
    if not videos:
        return
    items = []
    for r in videos:
        posted = datetime.fromisoformat(r["posted_at"]).replace(tzinfo=UTC)
        items.append({
            "item_id": r["video_id"], "is_ad": False, "create_time": int(posted.timestamp()),
            "caption": r["title"],
            "share_url": f"https://www.tiktok.com/@sampleshop/video/{r['video_id']}",
            "video_duration": float(r["duration_s"]), "likes": integer(r["likes"]),
            "comments": integer(r["comments"]), "shares": integer(r["shares"]),
            "reach": integer(r["reach"]), "video_views": integer(r["views"]),
            "average_time_watched": float(r["avg_watch_s"]),
            "full_video_watched_rate": float(r["full_watch_rate"]),
            "new_followers": integer(r["new_followers"]),
        })  # fmt: skip
    for page, at in enumerate(range(0, len(items), VIDEO_PAGE), 1):
        params: dict[str, Any] = {"business_id": BUSINESS, "fields": VIDEO_FIELDS,
                                  "max_count": VIDEO_PAGE}  # fmt: skip
        if at:
            params["cursor"] = at
        more = at + VIDEO_PAGE < len(items)
        w.answer(f"video-list-{BUSINESS}-p{page}", "business/video/list/", params,
                 {"videos": items[at : at + VIDEO_PAGE], "cursor": at + VIDEO_PAGE,
                  "has_more": more})  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA,
                        help="the sample CSVs (default: %(default)s)")  # fmt: skip
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help="where to write the answers (default: %(default)s)")  # fmt: skip
    args = parser.parse_args(argv)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.json"):
        old.unlink()
    dates = sorted(
        r["date"] for r in read(args.data, "organic_daily") + read(args.data, "paid_daily")
    )
    if not dates:
        raise SystemExit(f"no sample data in {args.data}")
    start, end = date.fromisoformat(dates[0]), date.fromisoformat(dates[-1])
    w = Writer(out)
    write_paid(w, args.data, start, end)
    write_organic(w, args.data, start, end)
    write_videos(w, args.data)
    for path in w.paths:
        print(path)


if __name__ == "__main__":
    main()
