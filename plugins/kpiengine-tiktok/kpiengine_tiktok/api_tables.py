"""TikTok API answers → rows of the canonical tables.

One code path for both ways the answers arrive: fetched live, or read from saved JSON
files. Each answer is the whole JSON object TikTok sent (``{"code": 0, "message": …,
"request_id": …, "data": {…}}``), optionally with the request that produced it
(endpoint and parameters, as ``save=`` writes them). Without the request, the kind of
answer is recognised from its content.

Mapping (TikTok field → canonical column):

* ``report/integrated/get`` BASIC, ``stat_time_day`` → ``paid_daily``: ``spend``,
  ``impressions``, ``reach``, ``clicks``, ``conversion`` → conversions,
  ``total_complete_payment_rate`` (purchase value, money) → conversion_value,
  ``video_play_actions`` → video_views, ``video_watched_2s/6s`` → views_2s/6s,
  ``video_views_p25…p100`` → views_p25…p100, ``likes``, ``comments``, ``shares``,
  ``follows``, ``profile_visits``; names from the attribute metrics ``campaign_name``,
  ``adgroup_name``, ``ad_name`` (the id when a name is missing), ``objective_type`` in
  lower case. TikTok's ratios (``ctr``, ``cpc``, ``conversion_rate`` — percentages
  without ``%``) are never read.
* AUDIENCE reports → ``paid_audience``; ``age`` ``AGE_18_24`` → ``18-24``,
  ``AGE_55_100`` → ``55+``; ``gender`` ``FEMALE`` → ``Female``; ``NONE`` → ``Unknown``;
  ``country_code`` → country; ``interest_category`` as TikTok gives it.
* ``business/get`` → ``organic_daily`` (video_views, profile_views, likes, comments,
  shares), ``followers_daily`` (followers_count; the change is recomputed from the
  totals, null on the first day and after a gap), ``viewers_daily`` (unique_video_views
  as the total; new and returning are not in the API), ``follower_activity``
  (audience_activity), ``audience_gender`` / ``audience_territory`` / ``audience_age``
  (the demographics of the latest answer, fractions).
* ``business/video/list`` → ``videos``.
* ``advertiser/info`` → the account currency, for report rows that carry none.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from kpiengine.errors import SourceError
from kpiengine_tiktok.canonical import normalize_age, normalize_gender

#: TikTok's audience dimensions that ``paid_audience`` has a column for.
AUDIENCE_DIMENSIONS = {
    "age": "age",
    "gender": "gender",
    "country_code": "country",
    "interest_category": "interest_category",
}
#: Audience dimensions TikTok has but ``paid_audience`` does not (their rows are skipped).
OTHER_AUDIENCE_DIMENSIONS = frozenset(
    {"platform", "language", "placement", "province_id", "ac", "dma_id", "contextual_tag"}
)
ID_DIMENSIONS = ("ad_id", "adgroup_id", "campaign_id", "advertiser_id")

#: paid_daily column → TikTok metric (BASIC report).
BASIC_METRICS = {
    "spend": "spend",
    "impressions": "impressions",
    "reach": "reach",
    "clicks": "clicks",
    "conversions": "conversion",
    "conversion_value": "total_complete_payment_rate",
    "video_views": "video_play_actions",
    "views_2s": "video_watched_2s",
    "views_6s": "video_watched_6s",
    "views_p25": "video_views_p25",
    "views_p50": "video_views_p50",
    "views_p75": "video_views_p75",
    "views_p100": "video_views_p100",
    "likes": "likes",
    "comments": "comments",
    "shares": "shares",
    "follows": "follows",
    "profile_visits": "profile_visits",
}
#: paid_audience column → TikTok metric (AUDIENCE report: no reach or video metrics there).
AUDIENCE_METRICS = {
    "spend": "spend",
    "impressions": "impressions",
    "clicks": "clicks",
    "conversions": "conversion",
    "conversion_value": "total_complete_payment_rate",
}
MONEY = frozenset({"spend", "conversion_value"})
#: Attribute metrics asked for in reports, for names (valid at the ad and ad group level).
BASIC_ATTRIBUTES = (
    "campaign_name",
    "campaign_id",
    "adgroup_name",
    "adgroup_id",
    "ad_name",
    "objective_type",
)
AUDIENCE_ATTRIBUTES = ("campaign_name", "campaign_id", "adgroup_name")

#: ``business/get`` fields asked for.
BUSINESS_FIELDS = (
    "video_views",
    "unique_video_views",
    "profile_views",
    "likes",
    "comments",
    "shares",
    "followers_count",
    "audience_activity",
    "audience_ages",
    "audience_genders",
    "audience_countries",
)
#: ``business/video/list`` fields asked for.
VIDEO_FIELDS = (
    "item_id",
    "create_time",
    "caption",
    "share_url",
    "video_duration",
    "likes",
    "comments",
    "shares",
    "reach",
    "video_views",
    "average_time_watched",
    "full_video_watched_rate",
    "new_followers",
)
ORGANIC_FIELDS = {  # organic_daily column → business/get field
    "views": "video_views",
    "profile_views": "profile_views",
    "likes": "likes",
    "comments": "comments",
    "shares": "shares",
}
#: business/get demographic field → (canonical table, label column, label keys to try).
DEMOGRAPHICS = {
    "audience_genders": ("audience_gender", "gender", ("gender",)),
    "audience_countries": ("audience_territory", "territory", ("country", "country_code")),
    "audience_ages": ("audience_age", "age", ("age", "age_group")),
}

_NOT_AVAILABLE = frozenset({"", "-", "--", "N/A", "n/a", "null", "None"})
_THOUSANDS = re.compile(r"^-?\d{1,3}(,\d{3})+(\.\d+)?$")


class _Bad(ValueError):
    """A value that is not what its field needs; turned into a SourceError with the place."""


def number(value: Any, *, integer: bool, percent_ok: bool = False) -> int | float | None:
    """A TikTok metric value (usually a string) as a number; ``-`` and empty are None.

    ``percent_ok`` accepts ``"55%"`` (as 0.55). Counts must be whole numbers.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        raise _Bad(f"{value!r} is not a number")
    if isinstance(value, int | float):
        dec = Decimal(str(value))
    elif isinstance(value, str):
        text = value.strip()
        if text in _NOT_AVAILABLE:
            return None
        scale = Decimal(1)
        if percent_ok and text.endswith("%"):
            text, scale = text[:-1].strip(), Decimal("0.01")
        if _THOUSANDS.match(text):
            text = text.replace(",", "")
        try:
            dec = Decimal(text) * scale
        except InvalidOperation:
            raise _Bad(f"{value!r} is not a number") from None
        if not dec.is_finite():
            raise _Bad(f"{value!r} is not a number")
    else:
        raise _Bad(f"{type(value).__name__} {value!r} is not a number")
    if integer:
        if dec != dec.to_integral_value():
            raise _Bad(f"{value!r} is not a whole number")
        return int(dec)
    return float(dec)


def _text(value: Any) -> str | None:
    """An id, name or code as text; ``-`` and empty are None."""
    if value is None or isinstance(value, bool):
        return None
    text = str(value).strip()
    return None if text in _NOT_AVAILABLE else text


def _day(value: Any) -> dt.date:
    """``2026-07-01`` or ``2026-07-01 00:00:00`` as a date."""
    text = str(value).strip() if value is not None else ""
    try:
        return dt.date.fromisoformat(text[:10])
    except ValueError:
        raise _Bad(f"{value!r} is not a date") from None


def _level(dims: Mapping[str, Any]) -> str:
    for name in ID_DIMENSIONS:
        if name in dims:
            return name.removesuffix("_id")
    return "account"


Row = dict[str, Any]


class Collector:
    """Gathers TikTok answers and builds the canonical tables from them.

    ``currency`` is the fallback for report rows whose currency nothing else gives.
    """

    def __init__(self, *, currency: str | None = None) -> None:
        self.default_currency = currency
        self.notices: list[str] = []
        self._advertiser_currency: dict[str, str] = {}
        self._present: set[str] = set()
        self._basic: dict[tuple[Any, ...], tuple[Row, str]] = {}
        self._basic_levels: dict[str, str] = {}
        self._audience: dict[tuple[Any, ...], tuple[Row, str]] = {}
        self._audience_levels: dict[tuple[str, ...], dict[str, str]] = {}
        self._daily: dict[dt.date, tuple[Row, str]] = {}
        self._activity: dict[dt.date, list[tuple[int, int | None]]] = {}
        self._demographics: tuple[tuple[dt.date, int], Mapping[str, Any]] | None = None
        self._videos: dict[str, tuple[Row, str]] = {}
        self._answers = 0
        self._skipped: Counter[str] = Counter()
        self._duplicates = 0

    # -- intake ------------------------------------------------------------------------

    def add(
        self,
        answer: Any,
        origin: str,
        request: Mapping[str, Any] | None = None,
    ) -> None:
        """Take one answer. ``origin`` names it in messages (a file, or an endpoint and
        window); ``request`` is ``{"endpoint": …, "params": {…}}`` when known."""
        if not isinstance(answer, Mapping) or "code" not in answer:
            raise SourceError(f"{origin}: not a TikTok API answer (no `code`)")
        code = answer.get("code")
        if code not in (0, "0"):
            message = _text(answer.get("message")) or "no message"
            raise SourceError(
                f"{origin}: a saved error answer (code {code}: {message}), not data",
                hint="save only answers with code 0",
            )
        data = answer.get("data")
        if not isinstance(data, Mapping):
            raise SourceError(f"{origin}: the answer has no `data` object")
        self._answers += 1
        endpoint = str((request or {}).get("endpoint") or "").strip("/")
        raw_params = (request or {}).get("params")
        params: Mapping[str, Any] = raw_params if isinstance(raw_params, Mapping) else {}
        try:
            if endpoint == "report/integrated/get" or (not endpoint and _is_report(data)):
                self._add_report(data, origin, params)
            elif endpoint == "business/get" or (not endpoint and _is_business(data)):
                self._add_business(data, origin, params)
            elif endpoint == "business/video/list" or (not endpoint and "videos" in data):
                self._add_videos(data, origin)
            elif endpoint == "advertiser/info" or (not endpoint and _is_advertiser_info(data)):
                self._add_advertiser_info(data)
            else:
                raise SourceError(
                    f"{origin}: not an answer of report/integrated/get, business/get, "
                    "business/video/list or advertiser/info",
                )
        except _Bad as exc:
            raise SourceError(f"{origin}: {exc}") from None

    def expect(self, *tables: str) -> None:
        """Make ``tables`` present even when no rows arrive (they were asked for)."""
        self._present.update(tables)

    def _add_advertiser_info(self, data: Mapping[str, Any]) -> None:
        for item in data.get("list") or []:
            if isinstance(item, Mapping):
                adv, currency = _text(item.get("advertiser_id")), _text(item.get("currency"))
                if adv and currency:
                    self._advertiser_currency[adv] = currency

    def _add_report(self, data: Mapping[str, Any], origin: str, params: Mapping[str, Any]) -> None:
        items = data.get("list")
        if not isinstance(items, list):
            raise SourceError(f"{origin}: a report answer without a `list`")
        report_type = str(params.get("report_type") or "").upper()
        if report_type == "BASIC":
            self._present.add("paid_daily")
        elif report_type == "AUDIENCE":
            self._present.add("paid_audience")
        advertiser = _text(params.get("advertiser_id"))
        for index, item in enumerate(items, 1):
            where = f"{origin}: list item {index}"
            if not isinstance(item, Mapping):
                raise SourceError(f"{where}: not an object")
            dims = item.get("dimensions") or {}
            metrics = item.get("metrics") or {}
            if not isinstance(dims, Mapping) or not isinstance(metrics, Mapping):
                raise SourceError(f"{where}: `dimensions` and `metrics` must be objects")
            if any(d in OTHER_AUDIENCE_DIMENSIONS for d in dims):
                other = sorted(d for d in dims if d in OTHER_AUDIENCE_DIMENSIONS)
                self._skipped[
                    f"report rows broken down by {', '.join(other)} (no such column)"
                ] += 1
                continue
            if "stat_time_day" not in dims:
                self._skipped["report rows without `stat_time_day` (not a daily report)"] += 1
                continue
            try:
                audience = tuple(sorted(d for d in dims if d in AUDIENCE_DIMENSIONS))
                if audience or report_type == "AUDIENCE":
                    self._audience_row(dims, metrics, audience, origin, advertiser)
                else:
                    self._basic_row(dims, metrics, origin, advertiser)
            except _Bad as exc:
                raise SourceError(f"{where}: {exc}") from None

    def _basic_row(
        self,
        dims: Mapping[str, Any],
        metrics: Mapping[str, Any],
        origin: str,
        advertiser: str | None,
    ) -> None:
        self._present.add("paid_daily")
        level = _level(dims)
        self._basic_levels.setdefault(level, origin)
        if len(self._basic_levels) > 1:
            raise SourceError(
                "BASIC reports at several levels ("
                + ", ".join(f"{lv} in {org}" for lv, org in sorted(self._basic_levels.items()))
                + "): their sums would count the same delivery twice",
                hint="keep the reports of one data level, preferably AUCTION_AD",
            )
        row: Row = {"date": _day(dims["stat_time_day"])}
        for col, key in (("campaign_id", "campaign_id"), ("ad_group_id", "adgroup_id")):
            row[col] = _text(dims.get(key)) or _text(metrics.get(key))
        row["ad_id"] = _text(dims.get("ad_id")) or _text(metrics.get("ad_id"))
        row["campaign"] = _text(metrics.get("campaign_name"))
        row["ad_group"] = _text(metrics.get("adgroup_name"))
        row["ad"] = _text(metrics.get("ad_name"))
        objective = _text(metrics.get("objective_type"))
        row["objective"] = objective.lower() if objective else None
        row["currency"] = _text(metrics.get("currency"))
        row["_advertiser"] = advertiser
        for col, key in BASIC_METRICS.items():
            row[col] = _metric(metrics, key, col)
        row_key = ("basic", *sorted((k, str(v)) for k, v in dims.items()))
        self._keep(self._basic, row_key, row, origin)

    def _audience_row(
        self,
        dims: Mapping[str, Any],
        metrics: Mapping[str, Any],
        audience: tuple[str, ...],
        origin: str,
        advertiser: str | None,
    ) -> None:
        self._present.add("paid_audience")
        level = _level(dims)
        levels = self._audience_levels.setdefault(audience, {})
        levels.setdefault(level, origin)
        if len(levels) > 1:
            raise SourceError(
                f"AUDIENCE reports by {', '.join(audience) or 'nothing'} at several levels ("
                + ", ".join(f"{lv} in {org}" for lv, org in sorted(levels.items()))
                + "): their sums would count the same delivery twice",
                hint="keep the reports of one data level",
            )
        row: Row = {"date": _day(dims["stat_time_day"])}
        row["_campaign_id"] = _text(dims.get("campaign_id")) or _text(metrics.get("campaign_id"))
        row["_ad_group_id"] = _text(dims.get("adgroup_id")) or _text(metrics.get("adgroup_id"))
        row["_ad_id"] = _text(dims.get("ad_id"))
        row["campaign"] = _text(metrics.get("campaign_name"))
        row["ad_group"] = _text(metrics.get("adgroup_name"))
        row["age"] = normalize_age(_text(dims.get("age")))
        row["gender"] = normalize_gender(_text(dims.get("gender")))
        country = _text(dims.get("country_code"))
        row["country"] = country.upper() if country else None
        row["interest_category"] = _text(dims.get("interest_category"))
        row["currency"] = _text(metrics.get("currency"))
        row["_advertiser"] = advertiser
        for col, key in AUDIENCE_METRICS.items():
            row[col] = _metric(metrics, key, col)
        row_key = ("audience", *sorted((k, str(v)) for k, v in dims.items()))
        self._keep(self._audience, row_key, row, origin)

    def _keep(
        self,
        store: dict[Any, tuple[Row, str]],
        key: Any,
        row: Row,
        origin: str,
    ) -> None:
        """Store ``row`` under ``key``; the same row twice counts once (reported), two
        different rows for one key are an error."""
        seen = store.get(key)
        if seen is None:
            store[key] = (row, origin)
        elif seen[0] == row:
            self._duplicates += 1
        else:
            raise SourceError(
                f"{origin} and {seen[1]} hold different values for the same row ({_describe(key)})",
                hint="keep one of the two saves (the newer one)",
            )

    def _add_business(
        self, data: Mapping[str, Any], origin: str, params: Mapping[str, Any]
    ) -> None:
        self._present.add("organic_daily")
        entries = data.get("metrics") or []
        if not isinstance(entries, list):
            raise SourceError(f"{origin}: `metrics` is not a list")
        latest: dt.date | None = None
        for index, entry in enumerate(entries, 1):
            where = f"{origin}: metrics item {index}"
            if not isinstance(entry, Mapping):
                raise SourceError(f"{where}: not an object")
            try:
                day = _day(entry.get("date"))
                latest = day if latest is None or day > latest else latest
                row: Row = {"date": day}
                for col, key in ORGANIC_FIELDS.items():
                    row[col] = number(entry.get(key), integer=True)
                if "followers_count" in entry:
                    self._present.add("followers_daily")
                    row["followers"] = number(entry.get("followers_count"), integer=True)
                if "unique_video_views" in entry:
                    self._present.add("viewers_daily")
                    row["viewers_total"] = number(entry.get("unique_video_views"), integer=True)
                activity = entry.get("audience_activity")
                if activity is not None:
                    self._present.add("follower_activity")
                    row["_activity"] = tuple(_activity(activity))
            except _Bad as exc:
                raise SourceError(f"{where}: {exc}") from None
            self._keep_daily(day, row, origin)
        if any(name in data for name in DEMOGRAPHICS):
            end = params.get("end_date")
            as_of = latest or (_day(end) if end else dt.date.min)
            rank = (as_of, self._answers)
            if self._demographics is None or rank >= self._demographics[0]:
                self._demographics = (rank, data)

    def _keep_daily(self, day: dt.date, row: Row, origin: str) -> None:
        seen = self._daily.get(day)
        if seen is None:
            self._daily[day] = (row, origin)
        elif seen[0] == row:
            self._duplicates += 1
        else:
            raise SourceError(
                f"{origin} and {seen[1]} hold different business/get values for {day}",
                hint="keep one of the two saves (the newer one)",
            )

    def _add_videos(self, data: Mapping[str, Any], origin: str) -> None:
        self._present.add("videos")
        videos = data.get("videos") or []
        if not isinstance(videos, list):
            raise SourceError(f"{origin}: `videos` is not a list")
        for index, video in enumerate(videos, 1):
            if not isinstance(video, Mapping):
                raise SourceError(f"{origin}: video {index}: not an object")
            video_id = _text(video.get("item_id"))
            if video_id is None:
                self._skipped["videos without `item_id`"] += 1
                continue
            try:
                row = _video_row(video_id, video)
            except _Bad as exc:
                raise SourceError(f"{origin}: video {video_id}: {exc}") from None
            self._keep(self._videos, ("video", ("item_id", video_id)), row, origin)

    # -- output ------------------------------------------------------------------------

    def tables(self) -> dict[str, list[Row] | None]:
        """Rows per canonical table; None for a table nothing was read for."""
        out: dict[str, list[Row] | None] = {}
        present = self._present
        daily = [row for _, (row, _) in sorted(self._daily.items())]
        if "organic_daily" in present:
            out["organic_daily"] = [{k: r.get(k) for k in ("date", *ORGANIC_FIELDS)} for r in daily]
        if "followers_daily" in present:
            out["followers_daily"] = _followers(daily)
        if "viewers_daily" in present:
            out["viewers_daily"] = [
                {"date": r["date"], "viewers_total": r.get("viewers_total")} for r in daily
            ]
        if "follower_activity" in present:
            out["follower_activity"] = [
                {"date": r["date"], "hour": hour, "active_followers": count}
                for r in daily
                for hour, count in r.get("_activity", ())
            ]
        if self._demographics is not None:
            try:
                out.update(_demographic_tables(self._demographics[1]))
            except _Bad as exc:
                raise SourceError(f"business/get demographics: {exc}") from None
        if "videos" in present:
            out["videos"] = [row for _, (row, _) in sorted(self._videos.items())]
        if "paid_daily" in present:
            out["paid_daily"] = self._paid_daily()
        if "paid_audience" in present:
            out["paid_audience"] = self._paid_audience()
        self._report()
        return out

    def _resolve_currency(self, row: Row) -> None:
        """The row's own currency, else its advertiser's, else the only one known, else
        the ``currency=`` option."""
        advertiser = row.pop("_advertiser")
        if row["currency"] is None and advertiser is not None:
            row["currency"] = self._advertiser_currency.get(advertiser)
        if row["currency"] is None:
            currencies = set(self._advertiser_currency.values())
            row["currency"] = (
                next(iter(currencies)) if len(currencies) == 1 else self.default_currency
            )

    def _paid_daily(self) -> list[Row]:
        rows = [dict(row) for row, _ in self._basic.values()]
        rows.sort(key=lambda r: (r["date"], r["campaign_id"] or "", r["ad_group_id"] or "",
                                 r["ad_id"] or ""))  # fmt: skip
        unnamed = 0
        for row in rows:
            self._resolve_currency(row)
            for name, ident in (("campaign", "campaign_id"), ("ad_group", "ad_group_id"),
                                ("ad", "ad_id")):  # fmt: skip
                if row[name] is None and row[ident] is not None:
                    row[name] = row[ident]
                    unnamed += 1
        if unnamed:
            self.notices.append(
                f"tiktok-api: {unnamed} campaign, ad group or ad names were missing from the "
                "reports; their ids are shown instead"
            )
        self._note_currency(rows, "paid_daily")
        return rows

    def _paid_audience(self) -> list[Row]:
        names: dict[str, str] = {}
        ad_group_of_ad: dict[str, str] = {}
        campaign_of_group: dict[str, str] = {}
        for row, _ in self._basic.values():
            for name, ident in (("campaign", "campaign_id"), ("ad_group", "ad_group_id")):
                if row[ident] and row[name]:
                    names[row[ident]] = row[name]
            if row["ad_id"] and row["ad_group_id"]:
                ad_group_of_ad[row["ad_id"]] = row["ad_group_id"]
            if row["ad_group_id"] and row["campaign_id"]:
                campaign_of_group[row["ad_group_id"]] = row["campaign_id"]
        out: list[Row] = []
        for stored, _ in self._audience.values():
            row = dict(stored)
            self._resolve_currency(row)
            campaign_id, group_id = row.pop("_campaign_id"), row.pop("_ad_group_id")
            ad_id = row.pop("_ad_id")
            if group_id is None and ad_id is not None:
                group_id = ad_group_of_ad.get(ad_id)
            if campaign_id is None and group_id is not None:
                campaign_id = campaign_of_group.get(group_id)
            row["campaign"] = row["campaign"] or (names.get(campaign_id) if campaign_id else None)
            row["campaign"] = row["campaign"] or campaign_id
            row["ad_group"] = row["ad_group"] or (names.get(group_id) if group_id else None)
            row["ad_group"] = row["ad_group"] or group_id
            out.append(row)
        out.sort(key=lambda r: tuple("" if v is None else str(v) for v in r.values()))
        self._note_currency(out, "paid_audience")
        return out

    def _note_currency(self, rows: Iterable[Row], table: str) -> None:
        missing = sum(1 for row in rows if row["currency"] is None)
        if missing:
            self.notices.append(
                f"tiktok-api: {missing} {table} rows have no currency (add `currency=CODE` "
                "to the URI, or save the advertiser/info answer with the reports)"
            )

    def _report(self) -> None:
        for reason, count in sorted(self._skipped.items()):
            self.notices.append(f"tiktok-api: skipped {count} {reason}")
        if self._duplicates:
            self.notices.append(
                f"tiktok-api: {self._duplicates} rows were given twice with the same values "
                "(counted once)"
            )


def _metric(metrics: Mapping[str, Any], key: str, col: str) -> int | float | None:
    try:
        return number(metrics.get(key), integer=col not in MONEY)
    except _Bad as exc:
        raise _Bad(f"metric `{key}`: {exc}") from None


def _activity(value: Any) -> Iterable[tuple[int, int | None]]:
    if not isinstance(value, list):
        raise _Bad("`audience_activity` is not a list")
    for item in value:
        if not isinstance(item, Mapping):
            raise _Bad("an `audience_activity` item is not an object")
        hour = number(item.get("hour"), integer=True)
        if hour is None or not 0 <= hour <= 23:
            raise _Bad(f"`audience_activity` hour {item.get('hour')!r} is not 0..23")
        yield int(hour), _as_int(number(item.get("count"), integer=True))


def _as_int(value: int | float | None) -> int | None:
    return None if value is None else int(value)


def _video_row(video_id: str, video: Mapping[str, Any]) -> Row:
    created = number(video.get("create_time"), integer=True)
    posted = (
        dt.datetime.fromtimestamp(created, tz=dt.UTC).replace(tzinfo=None)
        if created is not None
        else None
    )
    return {
        "video_id": video_id,
        "date": posted.date() if posted else None,
        "posted_at": posted,
        "title": _text(video.get("caption")),
        "views": number(video.get("video_views"), integer=True),
        "likes": number(video.get("likes"), integer=True),
        "comments": number(video.get("comments"), integer=True),
        "shares": number(video.get("shares"), integer=True),
        "duration_s": number(video.get("video_duration"), integer=False),
        "reach": number(video.get("reach"), integer=True),
        "avg_watch_s": number(video.get("average_time_watched"), integer=False),
        "full_watch_rate": number(
            video.get("full_video_watched_rate"), integer=False, percent_ok=True
        ),
        "new_followers": number(video.get("new_followers"), integer=True),
    }


def _followers(daily: list[Row]) -> list[Row]:
    """Totals per day and the change against the day before (null without one)."""
    by_day = {r["date"]: r.get("followers") for r in daily}
    out = []
    for row in daily:
        today = row.get("followers")
        before = by_day.get(row["date"] - dt.timedelta(days=1))
        change = today - before if today is not None and before is not None else None
        out.append({"date": row["date"], "followers": today, "followers_change": change})
    return out


def _demographic_tables(data: Mapping[str, Any]) -> dict[str, list[Row]]:
    out: dict[str, list[Row]] = {}
    for field, (table, column, keys) in DEMOGRAPHICS.items():
        if field not in data:
            continue
        items = data.get(field) or []
        if not isinstance(items, list):
            raise _Bad(f"`{field}` is not a list")
        rows = []
        for item in items:
            if not isinstance(item, Mapping):
                raise _Bad(f"a `{field}` item is not an object")
            label = next((_text(item.get(k)) for k in keys if _text(item.get(k))), None)
            if label is None:  # an unexpected key name: take the first text that is not a share
                label = next(
                    (_text(v) for k, v in item.items() if k != "percentage" and isinstance(v, str)),
                    None,
                )
            if column == "gender":
                label = normalize_gender(label)
            elif column == "age":
                label = normalize_age(label)
            elif column == "territory" and label and len(label) == 2:
                label = label.upper()
            share = number(item.get("percentage"), integer=False, percent_ok=True)
            rows.append({column: label, "share": share})
        out[table] = rows
    return out


def _is_report(data: Mapping[str, Any]) -> bool:
    items = data.get("list")
    return isinstance(items, list) and (
        ("page_info" in data and not items)
        or any(isinstance(i, Mapping) and "dimensions" in i for i in items)
    )


def _is_business(data: Mapping[str, Any]) -> bool:
    return "metrics" in data or any(name in data for name in DEMOGRAPHICS)


def _is_advertiser_info(data: Mapping[str, Any]) -> bool:
    items = data.get("list")
    return isinstance(items, list) and any(
        isinstance(i, Mapping) and "advertiser_id" in i and "dimensions" not in i for i in items
    )


def _describe(key: tuple[Any, ...]) -> str:
    return ", ".join(f"{k}={v}" for k, v in key[1:])
