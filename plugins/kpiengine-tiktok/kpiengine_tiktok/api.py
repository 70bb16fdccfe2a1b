"""The ``tiktok-api:`` source: TikTok's Marketing and Business APIs, live or saved.

Two forms of URI::

    tiktok-api:live?advertiser_id=7012345678901234567&business_id=abc&start=2026-07-01&end=2026-09-30
    tiktok-api:PATH            a folder (or one file) of saved JSON answers

Live, the source asks:

* with ``advertiser_id`` (one, or several separated by commas): ``advertiser/info``
  (the account currency), then ``report/integrated/get`` BASIC at ``AUCTION_AD`` level
  by ``ad_id`` and ``stat_time_day`` (→ ``paid_daily``), and AUDIENCE at
  ``AUCTION_ADGROUP`` level by ``adgroup_id``, ``stat_time_day`` and each breakdown of
  ``audience=`` (→ ``paid_audience``); pages of up to 1000 rows; ranges longer than 30
  days split into windows of at most 30 days (TikTok's limit with ``stat_time_day``);
* with ``business_id``: ``business/get`` (→ organic, follower, viewer, activity and
  demographic tables), in the same 30-day windows, and ``business/video/list``
  (→ ``videos``; 20 a page, by cursor).

The access token is read from an environment variable only (``TIKTOK_ACCESS_TOKEN``,
or the one ``token_env=`` names) and sent in the ``Access-Token`` header; a URI that
holds a token is refused. Everything is fetched when the source opens, loaded into an
in-memory DuckDB as the canonical tables, and the token is dropped.

Options (``?name=value&…``): ``advertiser_id``, ``business_id``, ``start`` and ``end``
(``YYYY-MM-DD``, inclusive; or ``days=N``: the N days up to yesterday, UTC),
``include`` (any of ``basic,audience,business,videos``; default: all that the ids
allow), ``audience`` (breakdowns: any of ``age_gender,country,interest``; default all),
``currency`` (for report rows whose currency TikTok does not give), ``token_env``,
``base_url`` (https on ``*.tiktok.com``, or http(s) on 127.0.0.1/localhost; the
environment variable ``TIKTOK_API_BASE_URL`` may name any https URL), ``save`` (a
folder to write every answer into, for offline use later). Saved mode accepts
``currency`` only.
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
import logging
import os
import re
import urllib.parse
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kpiengine.errors import SourceError
from kpiengine.registry import Source
from kpiengine_tiktok.api_http import (
    DEFAULT_BASE_URL,
    ApiClient,
    ParamValue,
    RetryPolicy,
    Secret,
    is_loopback,
    normalize_base_url,
)
from kpiengine_tiktok.api_tables import (
    AUDIENCE_ATTRIBUTES,
    AUDIENCE_METRICS,
    BASIC_ATTRIBUTES,
    BASIC_METRICS,
    BUSINESS_FIELDS,
    VIDEO_FIELDS,
    Collector,
)
from kpiengine_tiktok.canonical import TABLES, CanonicalSource, quote_ident, resolve_path, shown

__all__ = ["DEFAULT_TOKEN_ENV", "ApiOptions", "open_api", "parse_uri"]

log = logging.getLogger("kpiengine_tiktok.api")

DEFAULT_TOKEN_ENV = "TIKTOK_ACCESS_TOKEN"  # noqa: S105 -- a variable name, not a token
BASE_URL_ENV = "TIKTOK_API_BASE_URL"
WINDOW_DAYS = 30  #: TikTok's longest range for one request with stat_time_day
PAGE_SIZE = 1000  #: TikTok's largest report page
VIDEO_PAGE = 20  #: TikTok's largest business/video/list page
MAX_PAGES = 10_000  #: a guard against a server that never stops paging

INCLUDES = ("basic", "audience", "business", "videos")
BREAKDOWNS: dict[str, tuple[str, ...]] = {
    "age_gender": ("age", "gender"),
    "country": ("country_code",),
    "interest": ("interest_category",),
}
LIVE_OPTIONS = frozenset(
    {
        "advertiser_id",
        "business_id",
        "start",
        "end",
        "days",
        "include",
        "audience",
        "currency",
        "token_env",
        "base_url",
        "save",
    }
)
SAVED_OPTIONS = frozenset({"currency"})
_SECRET_KEY = re.compile(r"token|secret|password|passwd|key|auth", re.IGNORECASE)
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_ID = re.compile(r"^[A-Za-z0-9_.:+/=\-]+$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")


@dataclass(frozen=True)
class ApiOptions:
    """A parsed ``tiktok-api:`` URI."""

    live: bool
    path: Path | None = None
    advertiser_ids: tuple[str, ...] = ()
    business_id: str | None = None
    start: dt.date | None = None
    end: dt.date | None = None
    include: frozenset[str] = frozenset()
    audience: tuple[str, ...] = tuple(BREAKDOWNS)
    currency: str | None = None
    token_env: str = DEFAULT_TOKEN_ENV
    base_url: str | None = None
    save: Path | None = None
    display: str = field(default="tiktok-api:", compare=False)


def display_uri(uri: str) -> str:
    """``uri`` safe to show: values of option names that look secret become ``***``
    (``token_env`` names a variable, not a secret, and is kept)."""
    head, sep, query = uri.partition("?")
    if not sep:
        return uri
    shown = []
    for part in query.split("&"):
        key, eq, value = part.partition("=")
        name = urllib.parse.unquote_plus(key)
        if eq and name != "token_env" and (_SECRET_KEY.search(name) or name not in LIVE_OPTIONS):
            value = "***"
        shown.append(f"{key}{eq}{value}")
    return f"{head}?{'&'.join(shown)}"


def _date(value: str, name: str, display: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise SourceError(f"`{name}={value}` is not a date YYYY-MM-DD (source {display})") from None


def parse_uri(uri: str, base_dir: Path, *, today: dt.date | None = None) -> ApiOptions:
    """Parse a ``tiktok-api:`` URI; raises :class:`SourceError` on any mistake."""
    display = display_uri(uri)
    scheme, _, rest = uri.partition(":")
    if scheme != "tiktok-api":
        raise SourceError(f"not a tiktok-api URI: {display}")
    target, _, query = rest.partition("?")
    if target.startswith("//"):
        target = target[2:]
    pairs = urllib.parse.parse_qsl(query, keep_blank_values=True, strict_parsing=False)
    options: dict[str, str] = {}
    for key, value in pairs:
        if _SECRET_KEY.search(key) and key != "token_env":
            raise SourceError(
                f"the URI holds `{key}=…`: never put the access token in a URI (source {display})",
                hint=f"set it in the environment variable {DEFAULT_TOKEN_ENV} "
                "(or the one named by `token_env=`)",
            )
        if key in options:
            raise SourceError(f"option `{key}` is given twice (source {display})")
        options[key] = value.strip()
    live = target == "live"
    allowed = LIVE_OPTIONS if live else SAVED_OPTIONS
    for key in options:
        if key not in allowed:
            near = difflib.get_close_matches(key, sorted(LIVE_OPTIONS), n=1)
            if key in LIVE_OPTIONS:
                hint = "only `tiktok-api:live?…` fetches; saved answers take `currency=` only"
            elif near:
                hint = f"did you mean `{near[0]}`?"
            else:
                hint = "options: " + ", ".join(sorted(allowed))
            raise SourceError(f"unknown option `{key}` (source {display})", hint=hint)
    currency = options.get("currency") or None
    if currency is not None and not _CURRENCY.match(currency):
        raise SourceError(f"`currency={currency}` is not an ISO 4217 code such as USD")
    if not live:
        if not target:
            raise SourceError(
                "tiktok-api: needs `live?…` or the path of saved answers",
                hint="tiktok-api:live?advertiser_id=…&start=…&end=…  or  tiktok-api:responses/",
            )
        return ApiOptions(
            live=False,
            path=resolve_path(urllib.parse.unquote(target), base_dir),
            currency=currency,
            display=display,
        )
    return _live_options(options, base_dir, display, currency, today)


def _live_options(
    options: Mapping[str, str],
    base_dir: Path,
    display: str,
    currency: str | None,
    today: dt.date | None,
) -> ApiOptions:
    advertisers = tuple(a.strip() for a in options.get("advertiser_id", "").split(",") if a.strip())
    business = options.get("business_id") or None
    for ident in (*advertisers, *([business] if business else [])):
        if not _ID.match(ident):
            raise SourceError(f"`{ident}` is not a TikTok id (source {display})")
    if not advertisers and not business:
        raise SourceError(
            f"tiktok-api:live needs `advertiser_id=` (ads) or `business_id=` (organic), or "
            f"both (source {display})"
        )
    start_text, end_text, days = options.get("start"), options.get("end"), options.get("days")
    if days and (start_text or end_text):
        raise SourceError(f"give `days=` or `start=`/`end=`, not both (source {display})")
    if days:
        if not days.isdigit() or not 1 <= int(days) <= 3650:
            raise SourceError(f"`days={days}` is not a number of days (source {display})")
        end = (today or dt.datetime.now(dt.UTC).date()) - dt.timedelta(days=1)
        start = end - dt.timedelta(days=int(days) - 1)
    else:
        if not start_text or not end_text:
            raise SourceError(
                f"tiktok-api:live needs `start=YYYY-MM-DD&end=YYYY-MM-DD` or `days=N` "
                f"(source {display})"
            )
        start = _date(start_text, "start", display)
        end = _date(end_text, "end", display)
        if end < start:
            raise SourceError(f"`end` {end} is before `start` {start} (source {display})")
    possible = {"basic", "audience"} if advertisers else set()
    possible |= {"business", "videos"} if business else set()
    include = set(possible)
    if "include" in options:
        include = {p.strip() for p in options["include"].split(",") if p.strip()}
        unknown = include - set(INCLUDES)
        if unknown:
            raise SourceError(
                f"`include=` knows {', '.join(INCLUDES)}, not {', '.join(sorted(unknown))} "
                f"(source {display})"
            )
        if include - possible:
            need = "advertiser_id" if include - possible & {"basic", "audience"} else "business_id"
            raise SourceError(f"`include={options['include']}` needs `{need}=` (source {display})")
    audience = tuple(BREAKDOWNS)
    if "audience" in options:
        audience = tuple(a.strip() for a in options["audience"].split(",") if a.strip())
        unknown = set(audience) - set(BREAKDOWNS)
        if unknown:
            raise SourceError(
                f"`audience=` knows {', '.join(BREAKDOWNS)}, not {', '.join(sorted(unknown))} "
                f"(source {display})"
            )
    token_env = options.get("token_env") or DEFAULT_TOKEN_ENV
    if not _ENV_NAME.match(token_env):
        raise SourceError(f"`token_env={token_env}` is not an environment variable name")
    base_url = options.get("base_url") or None
    if base_url is not None:
        _check_uri_base_url(base_url, display)
    save = resolve_path(options["save"], base_dir) if options.get("save") else None
    return ApiOptions(
        live=True,
        advertiser_ids=advertisers,
        business_id=business,
        start=start,
        end=end,
        include=frozenset(include),
        audience=audience,
        currency=currency,
        token_env=token_env,
        base_url=base_url,
        save=save,
        display=display,
    )


def _check_uri_base_url(url: str, display: str) -> None:
    """A base URL in a URI (a spec file can hold it) may only point at TikTok or at this
    machine: anywhere else would hand the user's token to whoever wrote the spec."""
    host = (urllib.parse.urlsplit(url).hostname or "").lower()
    tiktok = host == "tiktok.com" or host.endswith(".tiktok.com")
    if not (is_loopback(url) or (tiktok and url.startswith("https://"))):
        raise SourceError(
            f"`base_url=` may only name https://…tiktok.com or this machine, not {host or url} "
            f"(source {display})",
            hint=f"to use another host, set the environment variable {BASE_URL_ENV}",
        )
    normalize_base_url(url)


def windows(start: dt.date, end: dt.date, days: int = WINDOW_DAYS) -> list[tuple[dt.date, dt.date]]:
    """``start``..``end`` (inclusive) cut into consecutive windows of at most ``days`` days."""
    out = []
    while start <= end:
        last = min(end, start + dt.timedelta(days=days - 1))
        out.append((start, last))
        start = last + dt.timedelta(days=1)
    return out


# -- live ------------------------------------------------------------------------------

Saver = Callable[[str, str, Mapping[str, ParamValue], str], None]


@dataclass
class _Fetch:
    client: ApiClient
    collector: Collector
    saver: Saver | None
    count: int = 0

    def get(self, label: str, endpoint: str, params: Mapping[str, ParamValue]) -> dict[str, Any]:
        answer = self.client.get(endpoint, params)
        self.count += 1
        if self.saver is not None:
            self.saver(f"{self.count:04d}-{label}", endpoint, params, answer.text)
        self.collector.add(
            answer.body, f"{endpoint.strip('/')} ({label})", _request(endpoint, params)
        )
        data: dict[str, Any] = answer.body["data"]
        return data


def _request(endpoint: str, params: Mapping[str, ParamValue]) -> dict[str, Any]:
    return {"endpoint": endpoint, "params": dict(params)}


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", text)[:80]


def fetch(options: ApiOptions, client: ApiClient, collector: Collector) -> None:
    """Ask TikTok for everything ``options`` names, feeding each answer to ``collector``."""
    assert options.start is not None
    assert options.end is not None
    saver = _saver(options.save) if options.save is not None else None
    run = _Fetch(client, collector, saver)
    spans = windows(options.start, options.end)
    for advertiser in options.advertiser_ids:
        if not options.include & {"basic", "audience"}:
            break
        _advertiser_info(run, advertiser)
        if "basic" in options.include:
            collector.expect("paid_daily")
            metrics = [*BASIC_ATTRIBUTES, *BASIC_METRICS.values()]
            for first, last in spans:
                _report(run, advertiser, "BASIC", "AUCTION_AD", ["ad_id", "stat_time_day"],
                        metrics, first, last)  # fmt: skip
        if "audience" in options.include:
            collector.expect("paid_audience")
            metrics = [*AUDIENCE_ATTRIBUTES, *AUDIENCE_METRICS.values()]
            for breakdown in options.audience:
                dims = ["adgroup_id", "stat_time_day", *BREAKDOWNS[breakdown]]
                for first, last in spans:
                    _report(run, advertiser, "AUDIENCE", "AUCTION_ADGROUP", dims, metrics,
                            first, last)  # fmt: skip
    if options.business_id and "business" in options.include:
        collector.expect("organic_daily", "followers_daily")
        for first, last in spans:
            run.get(
                f"business-get-{_safe(options.business_id)}-{first}-{last}",
                "business/get/",
                {
                    "business_id": options.business_id,
                    "start_date": first.isoformat(),
                    "end_date": last.isoformat(),
                    "fields": list(BUSINESS_FIELDS),
                },
            )
    if options.business_id and "videos" in options.include:
        collector.expect("videos")
        _videos(run, options.business_id)


def _advertiser_info(run: _Fetch, advertiser: str) -> None:
    """The account currency. Not fatal when TikTok refuses it (the app may lack the scope):
    report rows can carry their own currency, and ``currency=`` is the fallback."""
    try:
        run.get(
            f"advertiser-info-{_safe(advertiser)}",
            "advertiser/info/",
            {"advertiser_ids": [advertiser], "fields": ["advertiser_id", "currency", "timezone"]},
        )
    except SourceError as exc:
        if "answered advertiser/info with error" not in exc.message:
            raise
        run.collector.notices.append(f"tiktok-api: no account currency: {exc.message}")


def _report(
    run: _Fetch,
    advertiser: str,
    report_type: str,
    level: str,
    dimensions: list[str],
    metrics: list[str],
    first: dt.date,
    last: dt.date,
) -> None:
    extra = "-".join(d for d in dimensions if d not in ("ad_id", "adgroup_id", "stat_time_day"))
    label = f"report-{report_type.lower()}{'-' + extra if extra else ''}-{_safe(advertiser)}"
    page = 1
    while True:
        data = run.get(
            f"{label}-{first}-{last}-p{page}",
            "report/integrated/get/",
            {
                "advertiser_id": advertiser,
                "service_type": "AUCTION",
                "report_type": report_type,
                "data_level": level,
                "dimensions": dimensions,
                "metrics": metrics,
                "start_date": first.isoformat(),
                "end_date": last.isoformat(),
                "page": page,
                "page_size": PAGE_SIZE,
            },
        )
        info = data.get("page_info")
        total = info.get("total_page") if isinstance(info, Mapping) else None
        try:
            total_pages = int(total) if total is not None else 1
        except (TypeError, ValueError):
            raise SourceError(f"TikTok gave `total_page` {total!r}, not a number") from None
        if page >= total_pages:
            return
        page += 1
        if page > MAX_PAGES:
            raise SourceError(f"the TikTok report kept paging past {MAX_PAGES} pages; stopped")


def _videos(run: _Fetch, business_id: str) -> None:
    cursor: int | str | None = None
    seen: set[str] = set()
    for page in range(1, MAX_PAGES + 1):
        params: dict[str, ParamValue] = {
            "business_id": business_id,
            "fields": list(VIDEO_FIELDS),
            "max_count": VIDEO_PAGE,
        }
        if cursor is not None:
            params["cursor"] = cursor
        data = run.get(f"video-list-{_safe(business_id)}-p{page}", "business/video/list/", params)
        if not data.get("has_more"):
            return
        next_cursor = data.get("cursor")
        if not isinstance(next_cursor, int | str) or str(next_cursor) in seen:
            raise SourceError(
                "business/video/list said has_more but gave no new cursor; stopped to avoid a loop"
            )
        seen.add(str(next_cursor))
        cursor = next_cursor
    raise SourceError(f"business/video/list kept paging past {MAX_PAGES} pages; stopped")


def _saver(folder: Path) -> Saver:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SourceError(f"cannot create the folder for saved answers {folder}: {exc}") from None

    def save(name: str, endpoint: str, params: Mapping[str, ParamValue], text: str) -> None:
        record = {
            "request": {"endpoint": endpoint, "params": dict(params)},
            "response": json.loads(text),
        }
        path = folder / f"{name}.json"
        try:
            path.write_text(
                json.dumps(record, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
            )
        except OSError as exc:
            raise SourceError(f"cannot save a TikTok answer to {path}: {exc}") from None

    return save


# -- saved -----------------------------------------------------------------------------


def saved_answers(path: Path) -> Iterator[tuple[Any, str, Mapping[str, Any] | None]]:
    """Each answer in a saved file or folder (``*.json``, sorted, sub-folders included):
    ``(answer, origin, request)``. A file holds one answer, a list of answers, or
    ``{"request": {"endpoint": …, "params": …}, "response": answer}`` records."""
    if path.is_dir():
        files = sorted(p for p in path.rglob("*.json") if p.is_file())
        if not files:
            raise SourceError(f"no saved TikTok answers (*.json) in {shown(path)}")
    elif path.is_file():
        files = [path]
    else:
        raise SourceError(f"file or folder not found: {shown(path)}")
    for path_of_file in files:
        file = shown(path_of_file)
        try:
            content = json.loads(path_of_file.read_text(encoding="utf-8-sig"))
        except UnicodeDecodeError:
            raise SourceError(f"{file}: not UTF-8 text") from None
        except json.JSONDecodeError as exc:
            raise SourceError(
                f"{file}:{exc.lineno}:{exc.colno}: not valid JSON ({exc.msg})"
            ) from None
        except OSError as exc:
            raise SourceError(f"cannot read {file}: {exc.strerror or exc}") from None
        items = content if isinstance(content, list) else [content]
        for index, item in enumerate(items, 1):
            origin = file if len(items) == 1 else f"{file} (answer {index})"
            if isinstance(item, Mapping) and "response" in item and "code" not in item:
                request = item.get("request")
                yield item["response"], origin, request if isinstance(request, Mapping) else None
            else:
                yield item, origin, None


# -- the source ------------------------------------------------------------------------


def open_api(
    uri: str,
    base_dir: Path,
    *,
    environ: Mapping[str, str] | None = None,
    sleep: Callable[[float], None] | None = None,
    policy: RetryPolicy | None = None,
    today: dt.date | None = None,
) -> Source:
    """Open a ``tiktok-api:`` URI (see the module docstring) as canonical tables.

    The keyword arguments are for tests: the environment to read, the sleep function
    for backoff, the retry policy and today's date (for ``days=``).
    """
    options = parse_uri(uri, base_dir, today=today)
    collector = Collector(currency=options.currency)
    if options.live:
        env = os.environ if environ is None else environ
        client = _client(options, env, sleep, policy)
        try:
            fetch(options, client, collector)
        finally:
            del client  # the token goes with it
    else:
        assert options.path is not None
        for answer, origin, request in saved_answers(options.path):
            collector.add(answer, origin, request)
    tables = collector.tables()
    if not any(rows is not None for rows in tables.values()):
        raise SourceError(f"no TikTok data in {options.display}")
    return load(options.display, tables, collector.notices)


def load(
    display: str,
    tables: Mapping[str, list[dict[str, Any]] | None],
    notices: list[str],
) -> CanonicalSource:
    """The canonical source holding ``tables`` (rows as dicts; None: the table is absent).

    Each table goes into DuckDB in one statement: every column is one bound list
    parameter, unnested (``SELECT unnest($1) AS "date", …``): no data in the SQL text,
    and thousands of rows in milliseconds where ``executemany`` takes seconds.
    """
    source = CanonicalSource(display)
    try:
        for name, rows in tables.items():
            if rows is None:
                continue
            columns = list(TABLES[name])
            select = ", ".join(
                f"unnest(${n}) AS {quote_ident(col)}" for n, col in enumerate(columns, 1)
            )
            params = [[row.get(col) for row in rows] for col in columns]
            source.add_relation(name, source.duck.sql(f"SELECT {select}", params=params))
    except Exception as exc:
        source.close()
        if isinstance(exc, SourceError):
            raise
        raise SourceError(f"cannot load {display}: {exc}") from None
    source.notices.extend(notices)
    return source


def _client(
    options: ApiOptions,
    env: Mapping[str, str],
    sleep: Callable[[float], None] | None,
    policy: RetryPolicy | None,
) -> ApiClient:
    token = env.get(options.token_env, "").strip()
    if not token:
        raise SourceError(
            f"no TikTok access token: the environment variable {options.token_env} is not set "
            f"(source {options.display})",
            hint=f"export {options.token_env}=… (the token of your TikTok for Business app)",
        )
    base_url = options.base_url or env.get(BASE_URL_ENV, "").strip() or DEFAULT_BASE_URL
    kwargs: dict[str, Any] = {"policy": policy}
    if sleep is not None:
        kwargs["sleep"] = sleep
    return ApiClient(base_url, Secret(token), token_hint=f"${options.token_env}", **kwargs)
