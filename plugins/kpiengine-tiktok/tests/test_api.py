"""The ``tiktok-api:`` source against a fake TikTok on 127.0.0.1, and from saved answers.

The fake answers in TikTok's documented shapes (every metric a string, ``-`` for not
available, ``page_info`` paging, cursor paging for videos, the 30-day limit with
``stat_time_day``, code 40100 for the rate limit) and records every request, so the
tests can check the windows, the pages and the ``Access-Token`` header. No request
leaves the machine. Expected KPI values are worked out by hand from the fixture below,
in the comments next to them.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from kpiengine_tiktok import api
from kpiengine_tiktok.api_http import ApiClient, RetryPolicy, Secret

import kpiengine
from kpiengine.errors import SourceError

TOKEN = "tt-Secret-Token-3f9c1e"
ADVERTISER = "7000000000000000001"
BUSINESS = "-000biz.Account_1"
START, END = "2026-06-01", "2026-07-15"  # 45 days: windows 06-01..06-30 and 07-01..07-15
DATA = Path(__file__).resolve().parent / "data" / "api"
PLUGIN_TESTS = Path(__file__).resolve().parent

# -- the fixture: what the fake TikTok holds --------------------------------------------

# BASIC rows at ad level. Ads: a1 "Beach Haul" (ad group g1 "Broad", campaign c1
# "Summer Sale"), a2 "Créateur's cut" (ad group g2 "Retargeting, 30 days", campaign c2
# "Brand Awareness").
IDS = {
    "a1": ("c1", "Summer Sale", "g1", "Broad", "Beach Haul", "CONVERSIONS"),
    "a2": ("c2", "Brand Awareness", "g2", "Retargeting, 30 days", "Créateur's cut", "REACH"),
}
METRIC_ORDER = (
    "spend", "impressions", "reach", "clicks", "conversion", "total_complete_payment_rate",
    "video_play_actions", "video_watched_2s", "video_watched_6s", "video_views_p25",
    "video_views_p50", "video_views_p75", "video_views_p100", "likes", "comments", "shares",
    "follows", "profile_visits",
)  # fmt: skip
BASIC = [
    ("2026-06-10", "a1", "10.500", "1000", "800", "20", "2", "60.00", "600", "300", "120",
     "200", "150", "100", "50", "12", "3", "1", "2", "5"),
    ("2026-06-10", "a2", "4.500", "500", "450", "5", "0", "0.00", "250", "100", "40",
     "80", "60", "40", "20", "4", "0", "0", "1", "2"),
    ("2026-06-30", "a1", "20.000", "2000", "1500", "30", "3", "90.00", "1200", "600", "250",
     "400", "300", "200", "100", "20", "5", "2", "3", "8"),
    ("2026-07-01", "a1", "15.000", "1500", "1200", "15", "1", "-", "900", "450", "180",
     "300", "220", "150", "70", "10", "1", "1", "1", "4"),
    ("2026-07-15", "a2", "0.000", "0", "0", "0", "0", "0.00", "0", "0", "0",
     "0", "0", "0", "0", "0", "0", "0", "0", "0"),
]  # fmt: skip

# AUDIENCE rows at ad group level: (breakdown, date, ad group, {dimension: value}, spend,
# impressions, clicks, conversion, value). The g2 row has no names ("-"): they come from
# the BASIC report.
AUDIENCE = [
    ("age_gender", "2026-06-10", "g1", {"age": "AGE_18_24", "gender": "FEMALE"},
     "6.000", "600", "12", "1", "30.00"),
    ("age_gender", "2026-06-10", "g1", {"age": "AGE_25_34", "gender": "MALE"},
     "4.500", "400", "6", "1", "30.00"),
    ("age_gender", "2026-06-10", "g2", {"age": "NONE", "gender": "NONE"},
     "4.500", "500", "5", "0", "0.00"),
    ("country", "2026-06-30", "g1", {"country_code": "US"}, "20.000", "2000", "30", "3", "90.00"),
    ("country", "2026-07-01", "g1", {"country_code": "DE"}, "15.000", "1500", "15", "1", "-"),
    ("interest", "2026-06-30", "g1", {"interest_category": "Games"},
     "20.000", "2000", "30", "3", "90.00"),
]  # fmt: skip

AUDIENCE_METRICS = ("spend", "impressions", "clicks", "conversion", "total_complete_payment_rate")

# business/get daily metrics (numbers, as the Business API gives them).
DAYS = [
    {"date": "2026-06-29", "video_views": 1000, "profile_views": 10, "likes": 50,
     "comments": 5, "shares": 5, "followers_count": 500, "unique_video_views": 800,
     "audience_activity": [{"hour": "0", "count": 12}, {"hour": "20", "count": 40}]},
    {"date": "2026-06-30", "video_views": 2000, "profile_views": 20, "likes": 100,
     "comments": 10, "shares": 10, "followers_count": 510, "unique_video_views": 1500,
     "audience_activity": [{"hour": "0", "count": 10}, {"hour": "20", "count": 50}]},
    {"date": "2026-07-01", "video_views": 0, "profile_views": 0, "likes": 0,
     "comments": 0, "shares": 0, "followers_count": 505, "unique_video_views": 0,
     "audience_activity": []},
    {"date": "2026-07-02", "video_views": 1000, "profile_views": 5, "likes": 40,
     "comments": -1, "shares": 1, "followers_count": 520, "unique_video_views": 900,
     "audience_activity": [{"hour": "20", "count": 45}]},
]  # fmt: skip
# Demographics differ per window: the answer for the latest window wins.
GENDERS = {
    "2026-06-30": [{"gender": "Female", "percentage": 0.6}, {"gender": "Male", "percentage": 0.4}],
    "2026-07-15": [{"gender": "Female", "percentage": 0.55},
                   {"gender": "Male", "percentage": 0.45}],
}  # fmt: skip
COUNTRIES = [{"country": "US", "percentage": 0.7}, {"country": "DE", "percentage": 0.3}]
AGES = [{"age": "18-24", "percentage": 0.5}, {"age": "25-34", "percentage": 0.5}]


def _epoch(*args: int) -> int:
    return int(dt.datetime(*args, tzinfo=dt.UTC).timestamp())


VIDEOS = [
    {"item_id": "7400000000000000001", "create_time": _epoch(2026, 6, 29, 12, 0),
     "caption": "Beach day #summer", "share_url": "https://www.tiktok.com/@a/video/1",
     "video_duration": 15.5, "likes": 50, "comments": 5, "shares": 5, "reach": 900,
     "video_views": 1000, "average_time_watched": 7.25, "full_video_watched_rate": 0.2,
     "new_followers": 4, "is_ad": False},
    {"item_id": "7400000000000000002", "create_time": _epoch(2026, 6, 30, 18, 30),
     "caption": "Créateur's cut", "share_url": "https://www.tiktok.com/@a/video/2",
     "video_duration": 31.0, "likes": 120, "comments": 9, "shares": 14, "reach": 2500,
     "video_views": 3000, "average_time_watched": 12.0, "full_video_watched_rate": 0.1,
     "new_followers": 11, "is_ad": False},
    {"item_id": "7400000000000000003", "create_time": _epoch(2026, 7, 2, 8, 0),
     "caption": "", "share_url": "https://www.tiktok.com/@a/video/3",
     "video_duration": 9.0, "likes": 20, "comments": 1, "shares": 0, "reach": 450,
     "video_views": 500, "average_time_watched": 4.5, "full_video_watched_rate": 0.35,
     "new_followers": 0, "is_ad": True},
]  # fmt: skip


# -- the fake TikTok ------------------------------------------------------------------


@dataclass
class Seen:
    """One request the fake received."""

    path: str
    params: dict[str, Any]
    headers: dict[str, str]
    raw_url: str


Reply = tuple[int, dict[str, str], bytes]


@dataclass
class FakeTikTok:
    """TikTok's report, business and video endpoints over a fixed data set."""

    token: str = TOKEN
    page_cap: int = 2  #: rows per report page at most (TikTok allows 1000): forces paging
    video_cap: int = 2  #: videos per page at most: forces cursor paging
    currency: str = "EUR"
    seen: list[Seen] = field(default_factory=list)
    #: Replies to give before answering normally, one per request (for failures).
    script: list[Callable[[Seen], Reply]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def handle(self, raw_url: str, headers: Mapping[str, str]) -> Reply:
        parts = urllib.parse.urlsplit(raw_url)
        params: dict[str, Any] = {}
        for key, value in urllib.parse.parse_qsl(parts.query, keep_blank_values=True):
            params[key] = json.loads(value) if value[:1] in "[{" else value
        request = Seen(parts.path, params, dict(headers), raw_url)
        with self.lock:
            self.seen.append(request)
            scripted = self.script.pop(0) if self.script else None
        if scripted is not None:
            return scripted(request)
        if request.headers.get("Access-Token") != self.token:
            return ok({"code": 40105, "message": "Access token is incorrect or has been revoked.",
                       "request_id": "req-auth", "data": {}})  # fmt: skip
        endpoint = parts.path.removeprefix("/open_api/v1.3/").strip("/")
        if endpoint == "report/integrated/get":
            return self.report(params)
        if endpoint == "business/get":
            return self.business(params)
        if endpoint == "business/video/list":
            return self.videos(params)
        if endpoint == "advertiser/info":
            return ok(envelope({"list": [{"advertiser_id": ADVERTISER, "name": "Shop",
                                          "currency": self.currency,
                                          "timezone": "Europe/Berlin"}]}))  # fmt: skip
        return 404, {}, b"not found"

    def report(self, params: Mapping[str, Any]) -> Reply:
        first = dt.date.fromisoformat(params["start_date"])
        last = dt.date.fromisoformat(params["end_date"])
        dims = params["dimensions"]
        if "stat_time_day" in dims and (last - first).days + 1 > 30:
            return ok({"code": 40002, "message": "The time range can't exceed 30 days.",
                       "request_id": "req-range", "data": {}})  # fmt: skip
        rows: list[dict[str, Any]] = []
        wanted = set(params["metrics"])
        if params["report_type"] == "BASIC":
            for day, ad, *values in BASIC:
                if first <= dt.date.fromisoformat(day) <= last:
                    c, cname, g, gname, aname, objective = IDS[ad]
                    metrics = dict(zip(METRIC_ORDER, values, strict=True))
                    metrics |= {"campaign_id": c, "campaign_name": cname, "adgroup_id": g,
                                "adgroup_name": gname, "ad_name": aname,
                                "objective_type": objective}  # fmt: skip
                    metrics = {k: v for k, v in metrics.items() if k in wanted}
                    metrics["ctr"] = "1.41"  # a percentage without %: must be ignored
                    rows.append({"dimensions": {"ad_id": ad, "stat_time_day": f"{day} 00:00:00"},
                                 "metrics": metrics})  # fmt: skip
        else:
            breakdown = tuple(d for d in dims if d not in ("adgroup_id", "stat_time_day"))
            for _, day, group, audience, *values in AUDIENCE:
                if tuple(audience) != breakdown:
                    continue
                if first <= dt.date.fromisoformat(day) <= last:
                    metrics = dict(zip(AUDIENCE_METRICS, values, strict=True))
                    named = group == "g1"
                    metrics |= {"campaign_name": "Summer Sale" if named else "-",
                                "campaign_id": "c1" if named else "c2",
                                "adgroup_name": "Broad" if named else "-",
                                "conversion_rate": "16.67"}  # fmt: skip
                    rows.append({"dimensions": {"adgroup_id": group,
                                                "stat_time_day": f"{day} 00:00:00", **audience},
                                 "metrics": metrics})  # fmt: skip
        size = min(int(params["page_size"]), self.page_cap)
        page = int(params["page"])
        total_pages = max(1, -(-len(rows) // size))
        chunk = rows[(page - 1) * size : page * size]
        info = {"page": page, "page_size": size, "total_page": total_pages,
                "total_number": len(rows)}  # fmt: skip
        return ok(envelope({"page_info": info, "list": chunk}))

    def business(self, params: Mapping[str, Any]) -> Reply:
        first = dt.date.fromisoformat(params["start_date"])
        last = dt.date.fromisoformat(params["end_date"])
        wanted = set(params["fields"])
        metrics = [
            {k: v for k, v in day.items() if k == "date" or k in wanted}
            for day in DAYS
            if first <= dt.date.fromisoformat(day["date"]) <= last
        ]
        data: dict[str, Any] = {"followers_count": 520, "metrics": metrics,
                                "audience_genders": GENDERS[params["end_date"]],
                                "audience_countries": COUNTRIES,
                                "audience_ages": AGES}  # fmt: skip
        return ok(envelope(data))

    def videos(self, params: Mapping[str, Any]) -> Reply:
        start = int(params.get("cursor", 0))
        size = min(int(params["max_count"]), self.video_cap)
        chunk = VIDEOS[start : start + size]
        more = start + size < len(VIDEOS)
        data = {"videos": chunk, "cursor": start + size, "has_more": more}
        return ok(envelope(data))


def envelope(data: Any, code: int = 0, message: str = "OK") -> dict[str, Any]:
    return {"code": code, "message": message, "request_id": "req-0001", "data": data}


def ok(body: Any, headers: dict[str, str] | None = None, status: int = 200) -> Reply:
    return (
        status,
        {"Content-Type": "application/json", **(headers or {})},
        json.dumps(body).encode(),
    )


def reply(
    status: int, body: Any = None, headers: dict[str, str] | None = None
) -> Callable[[Seen], Reply]:
    raw = b"" if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    return lambda _: (status, headers or {}, raw)


def code(number: int, message: str = "Too many requests") -> Callable[[Seen], Reply]:
    return lambda _: ok({"code": number, "message": message, "request_id": f"req-{number}",
                         "data": {}})  # fmt: skip


@pytest.fixture
def tiktok() -> Iterator[tuple[FakeTikTok, str]]:
    """The fake and its base URL, served from a thread on 127.0.0.1 and a free port."""
    fake = FakeTikTok()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, headers, body = fake.handle(self.path, dict(self.headers.items()))
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield fake, f"http://127.0.0.1:{server.server_address[1]}/open_api/v1.3/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


class Sleeps:
    """A sleep function that records instead of sleeping."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def live_uri(base: str, **extra: str) -> str:
    query = {"advertiser_id": ADVERTISER, "business_id": BUSINESS, "start": START, "end": END,
             "base_url": base, **extra}  # fmt: skip
    return "tiktok-api:live?" + urllib.parse.urlencode(query)


def open_live(base: str, sleep: Sleeps | None = None, **extra: str) -> Any:
    return api.open_api(
        live_uri(base, **extra),
        Path.cwd(),
        environ={"TIKTOK_ACCESS_TOKEN": TOKEN},
        sleep=sleep or Sleeps(),
    )


def rows(source: Any, table: str, order: str = "") -> list[tuple[Any, ...]]:
    import sqlalchemy as sa

    query = sa.select(source.table(table))
    with source.engine.connect() as conn:
        result = [tuple(r) for r in conn.execute(query)]
    return sorted(result, key=lambda r: tuple("" if v is None else str(v) for v in r))


def all_tables(source: Any) -> dict[str, list[tuple[Any, ...]]]:
    return {name: rows(source, name) for name in sorted(source.tables)}


# -- KPIs through the engine, computed by hand ----------------------------------------

SPEC = """\
name: api-test
sources:
  tiktok: csv:unused
datasets:
  paid_daily:
    source: tiktok
    table: paid_daily
    time: date
    dimensions: [campaign, ad_group, ad, currency, objective]
  paid_audience:
    source: tiktok
    table: paid_audience
    time: date
    dimensions: [campaign, ad_group, age, gender, country, interest_category, currency]
  organic_daily: {source: tiktok, table: organic_daily, time: date}
  followers_daily: {source: tiktok, table: followers_daily, time: date}
  videos: {source: tiktok, table: videos, time: date}
kpis:
  spend: {expr: sum(spend), dataset: paid_daily}
  clicks: {expr: sum(clicks), dataset: paid_daily}
  impressions: {expr: sum(impressions), dataset: paid_daily}
  ctr: {expr: clicks / impressions, format: percent}
  conversions: {expr: sum(conversions), dataset: paid_daily}
  cpa: {expr: spend / conversions}
  conversion_value: {expr: sum(conversion_value), dataset: paid_daily}
  roas: {expr: conversion_value / spend}
  paid_views: {expr: sum(video_views), dataset: paid_daily}
  view_rate_6s: {expr: sum(views_6s) / paid_views, dataset: paid_daily}
  completion_rate: {expr: sum(views_p100) / paid_views, dataset: paid_daily}
  views_p50: {expr: sum(views_p50), dataset: paid_daily}
  aud_clicks: {expr: sum(clicks), dataset: paid_audience}
  aud_impressions: {expr: sum(impressions), dataset: paid_audience}
  aud_ctr: {expr: aud_clicks / aud_impressions}
  organic_views: {expr: sum(views), dataset: organic_daily}
  organic_engagements: {expr: sum(likes) + sum(comments) + sum(shares), dataset: organic_daily}
  organic_engagement_rate: {expr: organic_engagements / organic_views}
  followers: {expr: last(followers), dataset: followers_daily}
  follower_growth: {expr: sum(followers_change), dataset: followers_daily}
  videos_posted: {expr: count(video_id), dataset: videos}
  avg_views_per_video: {expr: sum(views) / videos_posted, dataset: videos}
"""


def evaluate(tmp_path: Path, uri: str, **request: Any) -> list[dict[str, Any]]:
    spec_file = tmp_path / "spec" / "api.yaml"
    spec_file.parent.mkdir(exist_ok=True)
    spec_file.write_text(SPEC, encoding="utf-8")
    spec = kpiengine.load_spec(spec_file)
    result = kpiengine.evaluate(spec, kpiengine.Request(sources={"tiktok": uri}, **request))
    return [row for table in result.tables for row in table.rows]


def merged(table_rows: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for row in table_rows:
        out.update({k: v for k, v in row.items() if k != "period"})
    return out


@pytest.fixture
def token_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIKTOK_ACCESS_TOKEN", TOKEN)


@pytest.mark.usefixtures("token_env")
def test_live_kpis_match_the_hand_computed_values(
    tiktok: tuple[FakeTikTok, str], tmp_path: Path
) -> None:
    _, base = tiktok
    values = merged(evaluate(tmp_path, live_uri(base)))
    # Paid, from the five BASIC rows.
    assert values["spend"] == pytest.approx(50.0)  # 10.5 + 4.5 + 20 + 15 + 0
    assert values["impressions"] == 5000  # 1000 + 500 + 2000 + 1500 + 0
    assert values["clicks"] == 70  # 20 + 5 + 30 + 15
    assert values["ctr"] == pytest.approx(0.014)  # 70 / 5000, not TikTok's "1.41"
    assert values["conversions"] == 6  # 2 + 0 + 3 + 1
    assert values["cpa"] == pytest.approx(50 / 6)
    assert values["conversion_value"] == pytest.approx(150.0)  # 60 + 0 + 90 + "-" (null) + 0
    assert values["roas"] == pytest.approx(3.0)  # 150 / 50
    assert values["paid_views"] == 2950  # 600 + 250 + 1200 + 900
    assert values["view_rate_6s"] == pytest.approx(0.2)  # (120 + 40 + 250 + 180) / 2950
    assert values["completion_rate"] == pytest.approx(240 / 2950)  # 50 + 20 + 100 + 70
    assert values["views_p50"] == 730  # 150 + 60 + 300 + 220
    # Organic, from business/get.
    assert values["organic_views"] == 4000  # 1000 + 2000 + 0 + 1000
    assert values["organic_engagements"] == 220  # likes 190 + comments 14 + shares 16
    assert values["organic_engagement_rate"] == pytest.approx(0.055)  # 220 / 4000
    assert values["followers"] == 520  # the last day's total
    assert values["follower_growth"] == 20  # null, +10, -5, +15
    assert values["videos_posted"] == 3
    assert values["avg_views_per_video"] == pytest.approx(1500.0)  # (1000 + 3000 + 500) / 3


@pytest.mark.usefixtures("token_env")
def test_live_breakdowns_by_campaign_and_audience(
    tiktok: tuple[FakeTikTok, str], tmp_path: Path
) -> None:
    _, base = tiktok
    by_campaign = {
        r["campaign"]: r
        for r in evaluate(tmp_path, live_uri(base), by=["campaign"], kpis=["spend", "ctr"])
    }
    assert by_campaign["Summer Sale"]["spend"] == pytest.approx(45.5)  # 10.5 + 20 + 15
    assert by_campaign["Summer Sale"]["ctr"] == pytest.approx(65 / 4500)
    assert by_campaign["Brand Awareness"]["spend"] == pytest.approx(4.5)
    assert by_campaign["Brand Awareness"]["ctr"] == pytest.approx(0.01)  # 5 / 500

    found = evaluate(tmp_path, live_uri(base), by=["age"], kpis=["aud_ctr"],
                     where="age is not null")  # fmt: skip
    by_age = {r["age"]: r["aud_ctr"] for r in found}
    assert by_age == {"18-24": pytest.approx(0.02), "25-34": pytest.approx(0.015),
                      "Unknown": pytest.approx(0.01)}  # fmt: skip
    found = evaluate(tmp_path, live_uri(base), by=["country"], kpis=["aud_ctr"],
                     where="country is not null")  # fmt: skip
    by_country = {r["country"]: r["aud_ctr"] for r in found}
    assert by_country == {"US": pytest.approx(0.015), "DE": pytest.approx(0.01)}


def test_live_tables_hold_the_canonical_rows(tiktok: tuple[FakeTikTok, str]) -> None:
    _, base = tiktok
    source = open_live(base)
    try:
        paid = {(r[0].isoformat(), r[6]): r for r in rows(source, "paid_daily")}
        assert paid["2026-06-10", "a2"][:9] == (
            dt.date(2026, 6, 10), "Brand Awareness", "c2", "Retargeting, 30 days", "g2",
            "Créateur's cut", "a2", "reach", "EUR",
        )  # fmt: skip
        assert paid["2026-07-01", "a1"][14] is None  # conversion_value "-"
        assert len(paid) == 5
        audience = rows(source, "paid_audience")
        nameless = [r for r in audience if r[3] == "Unknown"]
        # names of g2 from the BASIC report; NONE → Unknown; currency from advertiser/info
        assert nameless == [
            (
                dt.date(2026, 6, 10),
                "Brand Awareness",
                "Retargeting, 30 days",
                "Unknown",
                "Unknown",
                None,
                None,
                "EUR",
                4.5,
                500,
                5,
                0,
                0.0,
            )
        ]
        assert len(audience) == 6
        assert rows(source, "followers_daily") == [
            (dt.date(2026, 6, 29), 500, None),
            (dt.date(2026, 6, 30), 510, 10),
            (dt.date(2026, 7, 1), 505, -5),
            (dt.date(2026, 7, 2), 520, 15),
        ]
        assert rows(source, "viewers_daily")[0] == (dt.date(2026, 6, 29), 800, None, None)
        assert rows(source, "follower_activity") == [
            (dt.date(2026, 6, 29), 0, 12), (dt.date(2026, 6, 29), 20, 40),
            (dt.date(2026, 6, 30), 0, 10), (dt.date(2026, 6, 30), 20, 50),
            (dt.date(2026, 7, 2), 20, 45),
        ]  # fmt: skip
        # The demographics of the latest window (ending 2026-07-15).
        assert rows(source, "audience_gender") == [("Female", 0.55), ("Male", 0.45)]
        assert rows(source, "audience_territory") == [("DE", 0.3), ("US", 0.7)]
        assert rows(source, "audience_age") == [("18-24", 0.5), ("25-34", 0.5)]
        assert rows(source, "videos")[1] == (
            "7400000000000000002", dt.date(2026, 6, 30), dt.datetime(2026, 6, 30, 18, 30),
            "Créateur's cut", 3000, 120, 9, 14, 31.0, 2500, 12.0, 0.1, 11,
        )  # fmt: skip
    finally:
        source.close()


def test_live_splits_ranges_into_30_day_windows_and_pages(tiktok: tuple[FakeTikTok, str]) -> None:
    fake, base = tiktok
    open_live(base).close()
    reports = [s.params for s in fake.seen if s.path.endswith("report/integrated/get/")]
    basic = [(p["start_date"], p["end_date"], p["page"]) for p in reports
             if p["report_type"] == "BASIC"]  # fmt: skip
    # June: 3 rows, 2 a page → pages 1 and 2; July 1-15: 2 rows → one page.
    assert basic == [("2026-06-01", "2026-06-30", "1"), ("2026-06-01", "2026-06-30", "2"),
                     ("2026-07-01", "2026-07-15", "1")]  # fmt: skip
    assert {p["page_size"] for p in reports} == {"1000"}
    first = next(p for p in reports if p["report_type"] == "BASIC")
    assert first["data_level"] == "AUCTION_AD"
    assert first["dimensions"] == ["ad_id", "stat_time_day"]
    assert first["service_type"] == "AUCTION"
    assert "ctr" not in first["metrics"]
    assert {"campaign_name", "adgroup_name", "ad_name", "spend", "conversion"} <= set(
        first["metrics"]
    )
    audience = [(tuple(p["dimensions"][2:]), p["start_date"], p["end_date"], p["page"])
                for p in reports if p["report_type"] == "AUDIENCE"]  # fmt: skip
    assert audience == [
        (("age", "gender"), "2026-06-01", "2026-06-30", "1"),  # 3 rows: 2 pages
        (("age", "gender"), "2026-06-01", "2026-06-30", "2"),
        (("age", "gender"), "2026-07-01", "2026-07-15", "1"),  # no rows: 1 empty page
        (("country_code",), "2026-06-01", "2026-06-30", "1"),
        (("country_code",), "2026-07-01", "2026-07-15", "1"),
        (("interest_category",), "2026-06-01", "2026-06-30", "1"),
        (("interest_category",), "2026-07-01", "2026-07-15", "1"),
    ]
    assert {tuple(p["dimensions"][:2]) for p in reports if p["report_type"] == "AUDIENCE"} == {
        ("adgroup_id", "stat_time_day")
    }
    assert {p["data_level"] for p in reports if p["report_type"] == "AUDIENCE"} == {
        "AUCTION_ADGROUP"
    }
    business = [(s.params["start_date"], s.params["end_date"]) for s in fake.seen
                if s.path.endswith("business/get/")]  # fmt: skip
    assert business == [("2026-06-01", "2026-06-30"), ("2026-07-01", "2026-07-15")]
    videos = [s.params.get("cursor") for s in fake.seen if s.path.endswith("video/list/")]
    assert videos == [None, "2"]  # 3 videos, 2 a page: the second page by cursor
    assert all(s.params["max_count"] == "20" for s in fake.seen if "video" in s.path)


def test_windows() -> None:
    d = dt.date
    assert api.windows(d(2026, 7, 1), d(2026, 7, 30)) == [(d(2026, 7, 1), d(2026, 7, 30))]
    assert api.windows(d(2026, 7, 1), d(2026, 7, 31)) == [
        (d(2026, 7, 1), d(2026, 7, 30)), (d(2026, 7, 31), d(2026, 7, 31))]  # fmt: skip
    assert api.windows(d(2026, 7, 1), d(2026, 9, 30)) == [
        (d(2026, 7, 1), d(2026, 7, 30)), (d(2026, 7, 31), d(2026, 8, 29)),
        (d(2026, 8, 30), d(2026, 9, 28)), (d(2026, 9, 29), d(2026, 9, 30))]  # fmt: skip
    assert api.windows(d(2026, 7, 1), d(2026, 7, 1)) == [(d(2026, 7, 1), d(2026, 7, 1))]


def test_every_request_carries_the_token_in_the_header_only(
    tiktok: tuple[FakeTikTok, str],
) -> None:
    fake, base = tiktok
    open_live(base).close()
    # advertiser/info 1; BASIC 3 (June in 2 pages, July); AUDIENCE 7 (age and gender: June in
    # 2 pages and July; country: 2; interest category: 2); business/get 2; videos 2 pages
    assert len(fake.seen) == 15
    for request in fake.seen:
        assert request.headers.get("Access-Token") == TOKEN
        assert TOKEN not in request.raw_url


def test_rate_limit_and_server_errors_are_retried_with_backoff(
    tiktok: tuple[FakeTikTok, str],
) -> None:
    fake, base = tiktok
    fake.script = [
        code(40100),
        reply(429, {"code": 40100, "message": "slow down"}, {"Retry-After": "2"}),
        reply(503, b"<html>busy</html>"),
        code(50002, "Internal error, try again"),
    ]
    sleeps = Sleeps()
    source = open_live(base, sleeps, include="basic")
    try:
        assert len(rows(source, "paid_daily")) == 5
    finally:
        source.close()
    # attempts 1..4 failed on the first request (advertiser/info), the fifth succeeded
    assert [s.path.rsplit("/", 2)[-2] for s in fake.seen[:5]] == ["info"] * 5
    assert len(sleeps.calls) == 4
    policy = RetryPolicy()
    assert sleeps.calls[1] == 2.0  # Retry-After honoured
    for n, delay in enumerate(sleeps.calls):
        if n != 1:  # backoff 1, 2, 4, 8 s with jitter between half and all of it
            assert policy.base_delay * 2**n / 2 <= delay <= policy.base_delay * 2**n


def test_rate_limit_gives_up_after_bounded_attempts(tiktok: tuple[FakeTikTok, str]) -> None:
    fake, base = tiktok
    fake.script = [code(40100)] * 50
    sleeps = Sleeps()
    with pytest.raises(SourceError) as caught:
        open_live(base, sleeps)
    message = caught.value.render()
    assert "rate limited" in message
    assert "40100" in message
    assert "gave up after 6 attempts" in message
    assert len(fake.seen) == RetryPolicy().attempts
    assert len(sleeps.calls) == RetryPolicy().attempts - 1
    assert sum(sleeps.calls) <= RetryPolicy().max_total
    assert TOKEN not in message


def test_total_waiting_is_capped(tiktok: tuple[FakeTikTok, str]) -> None:
    fake, base = tiktok
    fake.script = [reply(429, None, {"Retry-After": "25"})] * 50
    sleeps = Sleeps()
    client = ApiClient(base, Secret(TOKEN), policy=RetryPolicy(attempts=10, max_total=60),
                       sleep=sleeps)  # fmt: skip
    with pytest.raises(SourceError, match="HTTP 429"):
        client.get("advertiser/info/", {"advertiser_ids": [ADVERTISER]})
    assert sleeps.calls == [25.0, 25.0]  # a third wait would pass the 60 s cap
    assert len(fake.seen) == 3


def test_tiktok_error_codes_are_reported_with_message_and_request_id(
    tiktok: tuple[FakeTikTok, str],
) -> None:
    fake, base = tiktok
    fake.script = [lambda _: ok({"code": 40002, "message": "metrics: invalid field `bogus`",
                                 "request_id": "202607150000ABC", "data": {}})]  # fmt: skip
    client = ApiClient(base, Secret(TOKEN), sleep=Sleeps())
    with pytest.raises(SourceError) as caught:
        client.get("report/integrated/get/", {"advertiser_id": ADVERTISER})
    message = caught.value.render()
    assert "error 40002" in message
    assert "metrics: invalid field `bogus`" in message
    assert "request_id 202607150000ABC" in message
    assert len(fake.seen) == 1  # not retried


def test_a_wrong_token_gets_tiktoks_message_and_a_hint(tiktok: tuple[FakeTikTok, str]) -> None:
    fake, base = tiktok
    fake.token = "another-token"
    with pytest.raises(SourceError) as caught:
        open_live(base)
    message = caught.value.render()
    assert "error 40105" in message
    assert "Access token is incorrect" in message
    assert "$TIKTOK_ACCESS_TOKEN" in message
    assert TOKEN not in message


@pytest.mark.parametrize("status", [401, 403, 500])
def test_http_failures_never_show_the_token_even_when_echoed(
    tiktok: tuple[FakeTikTok, str], status: int, caplog: pytest.LogCaptureFixture
) -> None:
    fake, base = tiktok
    # A hostile or buggy server that echoes the token in its error body.
    echo = {"code": 40105, "message": f"bad token {TOKEN}", "request_id": "req-echo"}
    fake.script = [reply(status, echo)] * 10
    caplog.set_level(logging.DEBUG, logger="kpiengine_tiktok")
    with pytest.raises(SourceError) as caught:
        open_live(base)
    text = caught.value.render() + repr(caught.value) + str(caught.value.args)
    assert f"HTTP {status}" in text
    assert "bad token ***" in text
    assert TOKEN not in text
    assert caught.value.__cause__ is None  # no urllib exception (with its URL) chained on
    assert caught.value.__context__ is None or caught.value.__suppress_context__
    assert TOKEN not in caplog.text
    assert "retrying" in caplog.text or status != 500


def test_unreachable_server_never_shows_the_token() -> None:
    closed = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    port = closed.server_address[1]
    closed.server_close()  # nothing listens there any more
    with pytest.raises(SourceError) as caught:
        open_live(f"http://127.0.0.1:{port}/open_api/v1.3/")
    assert "cannot reach the TikTok API at 127.0.0.1" in caught.value.render()
    assert TOKEN not in caught.value.render()


def test_a_timeout_is_retried_then_reported() -> None:
    class Slow(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            time.sleep(0.6)
            self.send_response(200)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        sleeps = Sleeps()
        client = ApiClient(f"http://127.0.0.1:{server.server_address[1]}/", Secret(TOKEN),
                           policy=RetryPolicy(attempts=2), sleep=sleeps, timeout=0.2)  # fmt: skip
        with pytest.raises(SourceError) as caught:
            client.get("business/get/", {"business_id": BUSINESS})
        message = caught.value.render()
        assert "the connection failed" in message
        assert "gave up after 2 attempts" in message
        assert TOKEN not in message
        assert len(sleeps.calls) == 1
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_redirects_are_refused(tiktok: tuple[FakeTikTok, str]) -> None:
    fake, base = tiktok
    fake.script = [reply(302, b"", {"Location": "http://127.0.0.1:9/steal"})]
    with pytest.raises(SourceError, match="redirect"):
        open_live(base)
    assert len(fake.seen) == 1


def test_not_json_and_missing_data_are_errors(tiktok: tuple[FakeTikTok, str]) -> None:
    fake, base = tiktok
    client = ApiClient(base, Secret(TOKEN), sleep=Sleeps())
    fake.script = [reply(200, b"<html>maintenance</html>")]
    with pytest.raises(SourceError, match="not JSON"):
        client.get("business/get/", {})
    fake.script = [reply(200, {"code": 0, "message": "OK"})]
    with pytest.raises(SourceError, match="without a `data` object"):
        client.get("business/get/", {})


def test_the_token_never_shows_in_repr_display_logs_or_results(
    tiktok: tuple[FakeTikTok, str], caplog: pytest.LogCaptureFixture, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv("TIKTOK_ACCESS_TOKEN", TOKEN)
    fake, base = tiktok
    fake.script = [code(40100)]
    caplog.set_level(logging.DEBUG, logger="kpiengine_tiktok")
    source = open_live(base)
    try:
        shown = repr(source) + str(source.display) + repr(vars(source)) + repr(source.notices)
        assert TOKEN not in shown
        assert "GET report/integrated/get/" in caplog.text  # debug lines exist ...
        assert "rate limited" in caplog.text
        assert TOKEN not in caplog.text  # ... and hold no token
    finally:
        source.close()
    secret = Secret(TOKEN)
    client = ApiClient(base, secret)
    assert TOKEN not in repr(secret) + str(secret) + repr(client) + repr(vars(client))
    import pickle

    with pytest.raises(TypeError):
        pickle.dumps(secret)
    result_rows = evaluate(tmp_path, live_uri(base))
    assert TOKEN not in json.dumps(result_rows, default=str)


def test_a_token_echoed_in_the_data_never_reaches_a_table_or_a_saved_answer(
    tiktok: tuple[FakeTikTok, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake, base = tiktok
    answer = fake.report

    def echoing(params: Mapping[str, Any]) -> Reply:  # a campaign named after the token
        status, headers, body = answer(params)
        return status, headers, body.replace(b"Summer Sale", f"{TOKEN} sale".encode())

    fake.report = echoing  # type: ignore[method-assign]
    source = open_live(base, save=str(tmp_path / "saved"))
    try:
        tables = json.dumps(all_tables(source), default=str)
    finally:
        source.close()
    assert "*** sale" in tables
    assert TOKEN not in tables
    saved = "".join(p.read_text("utf-8") for p in (tmp_path / "saved").glob("*.json"))
    assert "*** sale" in saved
    assert TOKEN not in saved
    monkeypatch.setenv("TIKTOK_ACCESS_TOKEN", TOKEN)
    by_campaign = evaluate(tmp_path, live_uri(base), by=("campaign",))
    assert TOKEN not in json.dumps(by_campaign, default=str)


def run_kpi(*args: str, cwd: Path, env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kpiengine", *args],
        cwd=cwd,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
        check=False,
    )


def test_cli_run_explain_and_errors_never_print_the_token(
    tiktok: tuple[FakeTikTok, str], tmp_path: Path
) -> None:
    fake, base = tiktok
    spec_dir = tmp_path / "spec"
    spec_dir.mkdir()
    (spec_dir / "api.yaml").write_text(SPEC.replace("csv:unused", live_uri(base)), "utf-8")
    env = {"TIKTOK_ACCESS_TOKEN": TOKEN}
    for args in (("run", "spec", "--format", "json"), ("run", "spec", "--format", "table"),
                 ("explain", "spec"), ("list", "spec")):  # fmt: skip
        done = run_kpi(*args, cwd=tmp_path, env=env)
        assert done.returncode == 0, done.stderr
        assert TOKEN not in done.stdout + done.stderr
    data = json.loads(run_kpi("run", "spec", "--format", "json", cwd=tmp_path, env=env).stdout)
    spend = next(r["spend"] for t in data["tables"] for r in t["rows"] if "spend" in r)
    assert spend == pytest.approx(50.0)
    # failures: a wrong token (TikTok error 40105), HTTP 401 with the token echoed back
    fake.token = "the-right-one"
    done = run_kpi("run", "spec", cwd=tmp_path, env=env)
    assert done.returncode == 2
    assert "40105" in done.stderr
    assert TOKEN not in done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    fake.script = [reply(401, {"message": f"boom {TOKEN}"})] * 100  # (500 would be retried)
    done = run_kpi("run", "spec", cwd=tmp_path, env=env)
    assert "HTTP 401 (boom ***)" in done.stderr
    assert done.returncode == 2
    assert TOKEN not in done.stdout + done.stderr
    # no token at all
    done = run_kpi("run", "spec", cwd=tmp_path, env={"TIKTOK_ACCESS_TOKEN": ""})
    assert done.returncode == 2
    assert "TIKTOK_ACCESS_TOKEN is not set" in done.stderr


# -- the URI -------------------------------------------------------------------------


def test_token_in_the_uri_is_refused_without_echoing_it() -> None:
    for key in ("access_token", "token", "Access-Token", "secret"):
        uri = f"tiktok-api:live?advertiser_id=1&start=2026-07-01&end=2026-07-02&{key}={TOKEN}"
        with pytest.raises(SourceError) as caught:
            api.open_api(uri, Path.cwd(), environ={})
        assert "never put the access token in a URI" in caught.value.render()
        assert TOKEN not in caught.value.render()
    assert TOKEN not in api.display_uri(f"tiktok-api:live?x=1&access_token={TOKEN}")


def test_missing_token_names_the_variable() -> None:
    uri = "tiktok-api:live?advertiser_id=1&start=2026-07-01&end=2026-07-02&token_env=MY_TT"
    with pytest.raises(SourceError) as caught:
        api.open_api(uri, Path.cwd(), environ={"TIKTOK_ACCESS_TOKEN": TOKEN})
    assert "MY_TT is not set" in caught.value.render()
    assert "token_env=MY_TT" in caught.value.render()  # the variable name is not a secret


def test_token_env_names_another_variable(tiktok: tuple[FakeTikTok, str]) -> None:
    fake, base = tiktok
    uri = live_uri(base, include="videos", token_env="SHOP_TT")
    source = api.open_api(uri, Path.cwd(), environ={"SHOP_TT": TOKEN}, sleep=Sleeps())
    try:
        assert source.tables == ["videos"]
    finally:
        source.close()
    assert {s.headers["Access-Token"] for s in fake.seen} == {TOKEN}


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("advertiser_id=1&start=2026-07-01", "needs `start=YYYY-MM-DD&end=YYYY-MM-DD`"),
        ("advertiser_id=1&start=2026-07-01&end=2026-06-01", "is before `start`"),
        ("advertiser_id=1&start=2026-7-1&end=2026-07-02", "is not a date"),
        ("start=2026-07-01&end=2026-07-02", "needs `advertiser_id=`"),
        ("advertiser_id=1&days=7&start=2026-07-01", "not both"),
        ("advertiser_id=1&days=x", "not a number of days"),
        ("advertiser_id=1&days=7&include=videos", "needs `business_id=`"),
        ("advertiser_id=1&days=7&include=organic", "not organic"),
        ("advertiser_id=1&days=7&audience=platform", "not platform"),
        ("advertiser_id=1&days=7&advertiser=2", "did you mean `advertiser_id`"),
        ("advertiser_id=1&days=7&currency=dollars", "not an ISO 4217 code"),
        ("advertiser_id=1&days=7&base_url=https://evil.example/", "may only name"),
        ("advertiser_id=1&days=7&base_url=http://business-api.tiktok.com/", "may only name"),
        ("advertiser_id=1&days=7&token_env=A-B", "not an environment variable name"),
        ("advertiser_id=1 OR 1&days=7", "not a TikTok id"),
        ("advertiser_id=1&days=7&days=8", "given twice"),
    ],
)
def test_bad_uris_are_user_errors(query: str, message: str) -> None:
    with pytest.raises(SourceError, match=message.replace("(", r"\(")):
        api.parse_uri(f"tiktok-api:live?{query}", Path.cwd())


def test_uri_options() -> None:
    opts = api.parse_uri("tiktok-api:live?advertiser_id=1,2&days=7", Path("/data"),
                         today=dt.date(2026, 7, 10))  # fmt: skip
    assert opts.advertiser_ids == ("1", "2")
    assert (opts.start, opts.end) == (dt.date(2026, 7, 3), dt.date(2026, 7, 9))
    assert opts.include == {"basic", "audience"}
    assert opts.audience == ("age_gender", "country", "interest")
    assert opts.token_env == api.DEFAULT_TOKEN_ENV
    saved = api.parse_uri("tiktok-api:answers?currency=USD", Path("/data"))
    assert (saved.live, saved.path, saved.currency) == (False, Path("/data/answers"), "USD")
    with pytest.raises(SourceError, match="only `tiktok-api:live"):
        api.parse_uri("tiktok-api:answers?start=2026-07-01", Path("/data"))
    # base_url to TikTok over https or to this machine is fine in a URI
    sandbox = "https://sandbox-ads.tiktok.com/open_api/v1.3/"
    api.parse_uri(f"tiktok-api:live?business_id=b&days=1&base_url={sandbox}", Path())
    api.parse_uri("tiktok-api:live?business_id=b&days=1&base_url=http://localhost:8080/", Path())


def test_base_url_from_the_environment(tiktok: tuple[FakeTikTok, str]) -> None:
    fake, base = tiktok
    uri = f"tiktok-api:live?business_id={BUSINESS}&start={START}&end={END}&include=videos"
    env = {"TIKTOK_ACCESS_TOKEN": TOKEN, "TIKTOK_API_BASE_URL": base}
    api.open_api(uri, Path.cwd(), environ=env, sleep=Sleeps()).close()
    assert len(fake.seen) == 2
    with pytest.raises(SourceError, match="plain http"):
        api.open_api(uri, Path.cwd(), environ={**env, "TIKTOK_API_BASE_URL": "http://example.com/"})


# -- saved answers --------------------------------------------------------------------


def test_saved_answers_give_the_same_tables_and_kpis_as_live(
    tiktok: tuple[FakeTikTok, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TIKTOK_ACCESS_TOKEN", TOKEN)
    fake, base = tiktok
    saved = tmp_path / "saved"
    live = open_live(base, save=str(saved))
    try:
        live_tables = all_tables(live)
    finally:
        live.close()
    files = sorted(p.name for p in saved.iterdir())
    assert len(files) == len(fake.seen) == 15
    assert files[0] == "0001-advertiser-info-7000000000000000001.json"
    for file in saved.iterdir():
        assert TOKEN not in file.read_text("utf-8")
    offline = api.open_api(f"tiktok-api:{saved}", Path.cwd())
    try:
        assert all_tables(offline) == live_tables
        assert offline.display == f"tiktok-api:{saved}"
    finally:
        offline.close()
    assert evaluate(tmp_path, f"tiktok-api:{saved}") == evaluate(tmp_path, live_uri(base))


def test_hand_saved_answers_without_requests(tmp_path: Path) -> None:
    """tests/data/api holds answers as a user would save them with curl: bare JSON objects,
    one a file or a list of pages in one file; their kind is recognised from the content."""
    source = api.open_api("tiktok-api:data/api?currency=GBP", PLUGIN_TESTS)
    try:
        assert sorted(source.tables) == [
            "audience_age", "audience_gender", "audience_territory", "follower_activity",
            "followers_daily", "organic_daily", "paid_audience", "paid_daily", "videos",
            "viewers_daily",
        ]  # fmt: skip
        paid = rows(source, "paid_daily")
        # 2026-07-01 ad 1 (names given), 2026-07-01 ad 2 (names missing: the ids), 2026-07-02
        # ad 1; currency from the URI (no advertiser/info saved); 1,234 impressions.
        assert [(r[0].day, r[1], r[3], r[5], r[8], r[9], r[10]) for r in paid] == [
            (1, "1711", "1712", "1713", "GBP", 3.0, 300),
            (1, "Spring", "Broad", "Hook A", "GBP", 12.34, 1234),
            (2, "Spring", "Broad", "Hook A", "GBP", 7.66, 766),
        ]
        assert source.notices == [
            "tiktok-api: 3 campaign, ad group or ad names were missing from the reports; "
            "their ids are shown instead",
            "tiktok-api: skipped 1 report rows broken down by platform (no such column)",
            "tiktok-api: 1 rows were given twice with the same values (counted once)",
        ]
        # the country row names no campaign: it comes from the ad group in the BASIC report
        assert rows(source, "paid_audience") == [
            (dt.date(2026, 7, 1), "Spring", "Broad", None, None, "FR", None, "GBP",
             10.0, 1000, 20, 2, None),
            (dt.date(2026, 7, 1), "Spring", "Broad", "55+", "Female", None, None, "GBP",
             10.0, 1000, 20, 2, 50.0),
        ]  # fmt: skip
        assert rows(source, "organic_daily") == [(dt.date(2026, 7, 1), 100, 2, 10, 1, 1)]
        assert rows(source, "audience_gender") == [("Female", 0.61), ("Male", 0.39)]
        assert rows(source, "videos") == [
            ("1", dt.date(2026, 7, 1), dt.datetime(2026, 7, 1, 10, 0), "First", 100, 10, 1, 1,
             12.0, 90, 6.5, 0.25, 2),
        ]  # fmt: skip
    finally:
        source.close()


def write(folder: Path, name: str, content: Any) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    text = content if isinstance(content, str) else json.dumps(content)
    (folder / name).write_text(text, encoding="utf-8")


def report_answer(*items: tuple[dict[str, Any], dict[str, Any]]) -> dict[str, Any]:
    return envelope({"page_info": {"page": 1, "page_size": 1000, "total_page": 1,
                                   "total_number": len(items)},
                     "list": [{"dimensions": d, "metrics": m} for d, m in items]})  # fmt: skip


DAY = {"stat_time_day": "2026-07-01 00:00:00"}


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"a.json": "{\n  \"code\": 0,\n  oops\n}"}, r"a.json:3:3: not valid JSON"),
        ({"a.json": [1]}, "not a TikTok API answer"),
        ({"a.json": envelope({}, 40100, "Too many requests")}, "a saved error answer"),
        ({"a.json": envelope({"something": []})}, "not an answer of report/integrated/get"),
        ({"a.json": report_answer(({"ad_id": "1", **DAY}, {"spend": "abc"}))},
         r"list item 1: metric `spend`: 'abc' is not a number"),
        ({"a.json": report_answer(({"ad_id": "1", **DAY}, {"clicks": "2.5"}))},
         "is not a whole number"),
        ({"a.json": report_answer(({"ad_id": "1", "stat_time_day": "July 1"}, {}))},
         "is not a date"),
        ({"a.json": report_answer(({"ad_id": "1", **DAY}, {"spend": "1.0"})),
          "b.json": report_answer(({"ad_id": "1", **DAY}, {"spend": "2.0"}))},
         "hold different values for the same row"),
        ({"a.json": report_answer(({"ad_id": "1", **DAY}, {"spend": "1.0"})),
          "b.json": report_answer(({"campaign_id": "1", **DAY}, {"spend": "1.0"}))},
         "BASIC reports at several levels"),
        ({"a.json": envelope({"metrics": [{"date": "2026-07-01", "audience_activity": [
            {"hour": "24", "count": 1}]}]})}, "hour '24' is not 0..23"),
    ],
)  # fmt: skip
def test_bad_saved_answers_are_user_errors_naming_the_file(
    tmp_path: Path, files: dict[str, Any], message: str
) -> None:
    for name, content in files.items():
        write(tmp_path / "saved", name, content)
    with pytest.raises(SourceError, match=message) as caught:
        api.open_api("tiktok-api:saved", tmp_path)
    assert str(tmp_path / "saved") in caught.value.render()


def test_saved_paths_that_do_not_exist_or_hold_nothing(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="file or folder not found"):
        api.open_api("tiktok-api:nowhere", tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(SourceError, match=r"no saved TikTok answers \(\*.json\)"):
        api.open_api("tiktok-api:empty", tmp_path)
    with pytest.raises(SourceError, match="needs `live"):
        api.open_api("tiktok-api:", tmp_path)


def test_numbers() -> None:
    from kpiengine_tiktok.api_tables import number
    from kpiengine_tiktok.canonical import normalize_age, normalize_gender

    assert number("20.000", integer=False) == 20.0
    assert number("3765", integer=True) == 3765
    assert number("1,234", integer=True) == 1234
    assert number("-", integer=True) is None
    assert number("", integer=False) is None
    assert number(-1, integer=True) == -1
    assert number("55%", integer=False, percent_ok=True) == pytest.approx(0.55)
    assert number("0.55", integer=False, percent_ok=True) == pytest.approx(0.55)
    assert normalize_age("AGE_55_100") == "55+"
    assert normalize_age("AGE_13_17") == "13-17"
    assert normalize_age("NONE") == "Unknown"
    assert normalize_gender("FEMALE") == "Female"
    assert normalize_gender("NONE") == "Unknown"


def test_plugin_registers_the_scheme() -> None:
    import kpiengine_tiktok

    types = {t.scheme: t for t in kpiengine_tiktok.kpi_source_types()}
    source = types["tiktok-api"].open("tiktok-api:data/api?currency=GBP", PLUGIN_TESTS)
    source.close()
