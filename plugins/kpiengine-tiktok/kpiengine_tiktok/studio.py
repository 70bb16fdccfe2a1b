"""``tiktok-studio:PATH`` — the TikTok Studio analytics export, as canonical tables.

PATH is a folder (of zips, or of the files inside them), one zip, or one file. TikTok
Studio exports one zip per analytics tab (``Overview_<date>_<epoch>_<handle>.zip``,
``Content_<handle>.zip``, ``Viewers_<handle>.zip``, ``Followers_<handle>.zip``) holding
CSV or XLSX files: Overview, Content, Viewers, FollowerHistory, FollowerActivity,
FollowerGender and FollowerTopTerritories.

Dates carry no year and follow the UI language; the year comes from ``?exported=``,
``?year=`` or the export time in the Overview zip's name (see :func:`_reference`).
"""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kpiengine.errors import SourceError
from kpiengine_tiktok.canonical import CanonicalSource, normalize_gender, shown
from kpiengine_tiktok.sheets import Sheet, read_sheet
from kpiengine_tiktok.textutil import (
    DayText,
    YearError,
    fold,
    match_headers,
    parse_day,
    parse_int,
    parse_share,
    parse_uri,
    time_of,
    years_from_order,
    years_from_reference,
)

OPTIONS = ("year", "exported")
SUFFIXES = (".csv", ".xlsx")
_OVERVIEW_ZIP = re.compile(r"overview_(\d{4}-\d{2}-\d{2})_(\d{9,11})_(.+)\.zip", re.IGNORECASE)

DATE = ("Date", "Data", "Fecha", "Ngày", "Datum", "Date (UTC)")
DISTRIBUTION = ("Distribution", "Distribuição", "Distribución", "Phân bổ", "Phân phối", "Share")


@dataclass(frozen=True)
class Kind:
    """One of the Studio files: how to recognise it and its columns.

    ``labels`` maps a field to the header texts it has in the UI languages known
    (English, Portuguese, Spanish, Vietnamese); ``optional`` fields may be missing.
    """

    name: str
    stems: tuple[str, ...]
    labels: dict[str, tuple[str, ...]]
    optional: tuple[str, ...] = ()


KINDS = (
    Kind(
        "Overview",
        ("overview",),
        {
            "date": DATE,
            "views": ("Video Views", "Visualizações de vídeo", "Visualizações do vídeo",
                      "Visualizaciones de videos", "Visualizaciones de video", "Lượt xem video"),
            "profile_views": ("Profile Views", "Visualizações do perfil",
                              "Visualizações de perfil", "Visitas ao perfil",
                              "Visualizaciones del perfil", "Lượt xem hồ sơ"),
            "likes": ("Likes", "Curtidas", "Me gusta", "Lượt thích"),
            "comments": ("Comments", "Comentários", "Comentarios", "Bình luận"),
            "shares": ("Shares", "Compartilhamentos", "Veces compartido", "Compartidos",
                       "Lượt chia sẻ"),
        },
    ),
    Kind(
        "FollowerHistory",
        ("followerhistory",),
        {
            "date": DATE,
            "followers": ("Followers", "Seguidores", "Người theo dõi", "Follower"),
            "difference": ("Difference in followers from previous day",
                           "Diferença de seguidores em relação ao dia anterior",
                           "Diferença em relação ao dia anterior",
                           "Diferencia de seguidores con respecto al día anterior",
                           "Chênh lệch người theo dõi so với ngày trước"),
        },
        optional=("difference",),
    ),
    Kind(
        "FollowerActivity",
        ("followeractivity",),
        {
            "date": DATE,
            "hour": ("Hour", "Hora", "Giờ"),
            "active_followers": ("Active followers", "Seguidores ativos", "Seguidores activos",
                                 "Người theo dõi đang hoạt động"),
        },
    ),
    Kind(
        "FollowerGender",
        ("followergender",),
        {"gender": ("Gender", "Gênero", "Género", "Sexo", "Giới tính"), "share": DISTRIBUTION},
    ),
    Kind(
        "FollowerTopTerritories",
        ("followertopterritories", "followerterritories", "topterritories"),
        {
            "territory": ("Top territories", "Principais territórios", "Territórios",
                          "Territorios principales", "Principales territorios",
                          "Khu vực hàng đầu", "Territories", "Territory"),
            "share": DISTRIBUTION,
        },
    ),
    Kind(
        "Viewers",
        ("viewers",),
        {
            "date": DATE,
            "viewers_total": ("Total Viewers", "Total de espectadores", "Espectadores totais",
                              "Espectadores totales", "Tổng số người xem"),
            "viewers_new": ("New Viewers", "Novos espectadores", "Espectadores nuevos",
                            "Nuevos espectadores", "Người xem mới"),
            "viewers_returning": ("Returning Viewers", "Espectadores recorrentes",
                                  "Espectadores que retornam", "Espectadores recurrentes",
                                  "Espectadores que regresan", "Người xem cũ",
                                  "Người xem quay lại"),
        },
    ),
    Kind(
        "Content",
        ("content",),
        {
            "time": ("Time", "Tempo", "Hora", "Horário", "Thời gian"),
            "title": ("Video title", "Título do vídeo", "Título del video", "Tiêu đề video"),
            "link": ("Video link", "Link do vídeo", "Enlace del video", "Link del video",
                     "Liên kết video"),
            "posted": ("Post time", "Hora da publicação", "Horário da publicação",
                       "Data de publicação", "Hora de publicación", "Thời gian đăng"),
            "likes": ("Total likes", "Total de curtidas", "Total de me gusta",
                      "Tổng lượt thích"),
            "comments": ("Total comments", "Total de comentários", "Total de comentarios",
                         "Tổng số bình luận"),
            "shares": ("Total shares", "Total de compartilhamentos", "Total de veces compartido",
                       "Total de compartidos", "Tổng lượt chia sẻ"),
            "views": ("Total views", "Total de visualizações", "Total de visualizaciones",
                      "Tổng lượt xem"),
        },
        optional=("time", "title"),
    ),
)  # fmt: skip
_BY_NAME = {k.name: k for k in KINDS}
_OTHERS = {"others", "outros", "otros", "autres", "andere", "altri", "khac", "other"}


@dataclass
class Member:
    """One file of the export: where it is (for messages), its bytes, its export time."""

    name: str
    data: bytes
    export_date: dt.date | None = None  # from the Overview zip's name
    order: tuple[int, str] = (0, "")


@dataclass
class Parsed:
    """The rows read from one file, dates still without their year."""

    kind: Kind
    sheet: Sheet
    member: Member
    rows: list[dict[str, Any]] = field(default_factory=list)
    days: list[tuple[int, DayText]] = field(default_factory=list)  # (row, date) to resolve
    undefined: list[int] = field(default_factory=list)  # rows with an `undefined` value
    skipped: list[int] = field(default_factory=list)  # rows without a date


def open_studio(uri: str, base_dir: Path) -> CanonicalSource:
    """Open a ``tiktok-studio:`` URI (see the module docstring)."""
    parsed_uri = parse_uri(uri, base_dir, OPTIONS)
    options = parsed_uri.options
    exported = _date_option(options, "exported", uri)
    year = _year_option(options, uri)
    notices: list[str] = []
    members = _collect(parsed_uri.path, uri, notices)
    parsed: list[Parsed] = []
    for member in members:
        sheet = read_sheet(member.name, member.data)
        kind = _kind_of(member.name, sheet)
        if kind is None:
            notices.append(f"{member.name}: not a TikTok Studio export file; ignored")
            continue
        parsed.append(_parse(kind, sheet, member))
    if not parsed:
        raise SourceError(
            f"no TikTok Studio export files in {parsed_uri.path} (source {uri})",
            hint="expected Overview, Content, Viewers and Follower… files (CSV or XLSX), "
            "or the zips TikTok Studio downloads",
        )
    latest = max((m.export_date for m in members if m.export_date), default=None)
    for item in parsed:
        _resolve_years(item, exported, year, latest)
    tables = _tables(parsed, notices)
    source = CanonicalSource(uri)
    source.missing_reasons.update(
        {
            "audience_age": "TikTok Studio exports have no age breakdown; the Business "
            "API has one (tiktok-api:)",
            "paid_daily": "TikTok Studio exports hold organic data only",
            "paid_audience": "TikTok Studio exports hold organic data only",
        }
    )
    try:
        for name, rows in tables.items():
            source.add_rows(name, rows)
    except Exception:
        source.close()
        raise
    source.notices.extend(notices)
    return source


def _date_option(options: dict[str, str], key: str, uri: str) -> dt.date | None:
    if key not in options:
        return None
    try:
        return dt.date.fromisoformat(options[key])
    except ValueError:
        raise SourceError(
            f"option `{key}={options[key]}` of source {uri} is not a date (write YYYY-MM-DD)"
        ) from None


def _year_option(options: dict[str, str], uri: str) -> int | None:
    if "year" not in options:
        return None
    text = options["year"]
    if not re.fullmatch(r"\d{4}", text):
        raise SourceError(f"option `year={text}` of source {uri} is not a year (write YYYY)")
    return int(text)


# -- finding the files ------------------------------------------------------------------


def _collect(path: Path, uri: str, notices: list[str]) -> list[Member]:
    if path.is_dir():
        members: list[Member] = []
        for entry in sorted(path.iterdir()):
            if entry.name.startswith("."):
                continue
            if entry.is_file() and entry.suffix.lower() == ".zip":
                members += _zip_members(entry, notices)
            elif entry.is_file() and entry.suffix.lower() in SUFFIXES:
                members.append(Member(shown(entry), _read(entry), None, (0, entry.name)))
            else:
                notices.append(f"{shown(entry)}: not a CSV, XLSX or zip file; ignored")
        return members
    if path.is_file():
        if path.suffix.lower() == ".zip":
            return _zip_members(path, notices)
        return [Member(shown(path), _read(path), None, (0, path.name))]
    raise SourceError(f"file or folder not found: {path} (source {uri})")


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise SourceError(f"cannot read {shown(path)}: {exc.strerror or exc}") from None


#: A Studio export file holds at most a year of daily rows: far below this. A member
#: that expands beyond it (a zip bomb) is refused rather than read into memory.
MAX_MEMBER_BYTES = 64 * 1024 * 1024


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, name: str) -> bytes:
    too_big = SourceError(
        f"{name}: expands to more than {MAX_MEMBER_BYTES // (1024 * 1024)} MB; "
        "this is not a TikTok Studio export (a zip bomb?)"
    )
    if info.file_size > MAX_MEMBER_BYTES:
        raise too_big
    with zf.open(info) as fh:  # the declared size may lie: read no more than the limit
        data = fh.read(MAX_MEMBER_BYTES + 1)
    if len(data) > MAX_MEMBER_BYTES:
        raise too_big
    return data


def _zip_members(path: Path, notices: list[str]) -> list[Member]:
    match = _OVERVIEW_ZIP.fullmatch(path.name)
    export_date = None
    order = (0, path.name)
    if match:
        epoch = int(match[2])
        export_date = dt.datetime.fromtimestamp(epoch, tz=dt.UTC).date()
        order = (epoch, path.name)
    members = []
    try:
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                inner = info.filename
                base = inner.rsplit("/", 1)[-1]
                if info.is_dir() or base.startswith(".") or inner.startswith("__MACOSX/"):
                    continue
                name = f"{shown(path)}:{inner}"
                if not base.lower().endswith(SUFFIXES):
                    notices.append(f"{name}: not a CSV or XLSX file; ignored")
                    continue
                members.append(Member(name, _read_member(zf, info, name), export_date, order))
    except (zipfile.BadZipFile, EOFError, OSError, zipfile.LargeZipFile) as exc:
        detail = str(exc).strip() or type(exc).__name__
        raise SourceError(
            f"{shown(path)}: not a valid zip file ({detail}); the download may be truncated",
            hint="download the export from TikTok Studio again",
        ) from None
    if not members:
        notices.append(f"{shown(path)}: no CSV or XLSX file inside")
    return members


def _kind_of(name: str, sheet: Sheet) -> Kind | None:
    stem = re.sub(r"[^a-z]", "", fold(name.rsplit("/", 1)[-1].rsplit(":", 1)[-1]))
    for kind in KINDS:
        if any(s in stem for s in kind.stems):
            return kind
    best: tuple[int, Kind] | None = None
    for kind in KINDS:  # a renamed file: recognise it by its headers
        found, _ = match_headers(sheet.header, kind.labels)
        required = [f for f in kind.labels if f not in kind.optional]
        if all(f in found for f in required) and (best is None or len(found) > best[0]):
            best = (len(found), kind)
    return best[1] if best else None


# -- reading one file -------------------------------------------------------------------


def _parse(kind: Kind, sheet: Sheet, member: Member) -> Parsed:
    found, _ = match_headers(sheet.header, kind.labels)
    missing = [f for f in kind.labels if f not in found and f not in kind.optional]
    if missing:
        field_name = missing[0]
        raise sheet.error(
            None,
            None,
            f"missing column `{kind.labels[field_name][0]}` in the {kind.name} file "
            f"(columns found: {', '.join(repr(h) for h in sheet.header)})",
        )
    out = Parsed(kind, sheet, member)
    reader = _READERS[kind.name]
    for index, cells in enumerate(sheet.rows):

        def cell(field_name: str, cells: list[str] = cells) -> str:
            return cells[found[field_name]].strip() if field_name in found else ""

        def fail(field_name: str, what: str, index: int = index) -> SourceError:
            column = found[field_name]
            text = sheet.rows[index][column]
            return sheet.error(
                index,
                column,
                f"`{text}` in column `{sheet.header[column]}` is not {what}",
                text=text,
            )

        reader(out, index, cell, fail)
    return out


Cell = Callable[[str], str]
Fail = Callable[[str, str], SourceError]


def _count(out: Parsed, index: int, cell: Cell, fail: Fail, name: str) -> int | None:
    text = cell(name)
    if fold(text) == "undefined":
        if not out.undefined or out.undefined[-1] != index:
            out.undefined.append(index)
        return None
    if text == "-":
        return None
    try:
        return parse_int(text)
    except ValueError:
        raise fail(name, "a number") from None


def _day(out: Parsed, index: int, cell: Cell, fail: Fail) -> bool:
    """Read the row's date for later; False (row skipped) when it is `undefined`."""
    text = cell("date")
    if fold(text) in ("undefined", ""):
        out.skipped.append(index)
        return False
    day = parse_day(text)
    if day is None:
        raise fail("date", "a date")
    out.days.append((len(out.rows), day))
    return True


def _read_daily(fields: Sequence[str]) -> Callable[[Parsed, int, Cell, Fail], None]:
    def read(out: Parsed, index: int, cell: Cell, fail: Fail) -> None:
        if not _day(out, index, cell, fail):
            return
        row: dict[str, Any] = {"_row": index}
        for name in fields:
            row[name] = _count(out, index, cell, fail, name)
        out.rows.append(row)

    return read


def _read_viewers(out: Parsed, index: int, cell: Cell, fail: Fail) -> None:
    _read_daily(("viewers_total", "viewers_new", "viewers_returning"))(out, index, cell, fail)
    if out.rows and out.rows[-1]["_row"] == index and out.rows[-1]["viewers_total"] is None:
        # A day not counted yet: TikTok writes Total = undefined, New = Returning = 0.
        out.rows[-1]["viewers_new"] = out.rows[-1]["viewers_returning"] = None


def _read_activity(out: Parsed, index: int, cell: Cell, fail: Fail) -> None:
    if not _day(out, index, cell, fail):
        return
    text = cell("hour")
    match = re.fullmatch(r"(\d{1,2})(?::00)?(?::00)?\s*(am|pm|h)?", fold(text))
    if not match or int(match[1]) > 23:
        raise fail("hour", "an hour of the day (0-23)")
    hour = int(match[1])
    if match[2] == "pm" and hour < 12:
        hour += 12
    elif match[2] == "am" and hour == 12:
        hour = 0
    row = {"_row": index, "hour": hour, "active_followers": None}
    row["active_followers"] = _count(out, index, cell, fail, "active_followers")
    out.rows.append(row)


def _read_share(key: str, normalise: Callable[[str], str | None]) -> Callable[..., None]:
    def read(out: Parsed, index: int, cell: Cell, fail: Fail) -> None:
        label = normalise(cell(key))
        if not label or fold(cell(key)) == "undefined":
            out.skipped.append(index)
            return
        text = cell("share")
        if fold(text) == "undefined":
            out.undefined.append(index)
            share = None
        else:
            try:
                share, _ = parse_share(text)
            except ValueError:
                raise fail("share", "a share (a fraction such as 0.55, or 55%)") from None
            if share is not None and not -1e-9 <= share <= 1 + 1e-9:
                raise fail("share", "a share between 0 and 1 (or 0 % and 100 %)")
        out.rows.append({"_row": index, key: label, "share": share})

    return read


def _territory(text: str) -> str | None:
    value = text.strip()
    if not value:
        return None
    if fold(value) in _OTHERS:
        return "Others"
    return value.upper() if re.fullmatch(r"[A-Za-z]{2}", value) else value


def _read_content(out: Parsed, index: int, cell: Cell, fail: Fail) -> None:
    link = cell("link")
    video_id = video_id_of(link)
    if video_id is None:
        raise fail("link", "a TikTok video link (…/video/<id>)")
    row: dict[str, Any] = {"_row": index, "video_id": video_id, "title": cell("title") or None}
    posted_text = cell("posted")
    row["posted_at"] = None
    if fold(posted_text) in ("", "undefined", "-"):
        out.skipped.append(index)
        return
    stamp = _timestamp(posted_text)
    if stamp is not None:
        row["posted_at"] = stamp
    else:
        day = parse_day(posted_text)
        if day is None:
            raise fail("posted", "a date and time")
        row["_time"] = time_of(posted_text) or dt.time(0)
        out.days.append((len(out.rows), day))
    for name in ("views", "likes", "comments", "shares"):
        row[name] = _count(out, index, cell, fail, name)
    out.rows.append(row)


def video_id_of(link: str) -> str | None:
    """The video id: the last path segment of ``Video link``
    (``https://www.tiktok.com/@shop/video/7412345678901234567?lang=en`` → the digits)."""
    path = re.split(r"[?#]", link.strip(), maxsplit=1)[0].rstrip("/")
    if not path:
        return None
    last = path.rsplit("/", 1)[-1]
    return last or None


def _timestamp(text: str) -> dt.datetime | None:
    value = text.strip()
    if re.fullmatch(r"\d{10}", value):
        return dt.datetime.fromtimestamp(int(value), tz=dt.UTC).replace(tzinfo=None)
    match = re.fullmatch(r"(\d{4}-\d{2}-\d{2})(?:[ T](\d{1,2}:\d{2}(?::\d{2})?))?.*", value)
    if not match:
        return None
    try:
        day = dt.date.fromisoformat(match[1])
    except ValueError:
        return None
    moment = time_of(match[2]) if match[2] else dt.time(0)
    return dt.datetime.combine(day, moment or dt.time(0))


_READERS: dict[str, Callable[[Parsed, int, Cell, Fail], None]] = {
    "Overview": _read_daily(("views", "profile_views", "likes", "comments", "shares")),
    "FollowerHistory": _read_daily(("followers",)),
    "FollowerActivity": _read_activity,
    "FollowerGender": _read_share("gender", normalize_gender),
    "FollowerTopTerritories": _read_share("territory", _territory),
    "Viewers": _read_viewers,
    "Content": _read_content,
}


# -- years ------------------------------------------------------------------------------


def _resolve_years(
    item: Parsed, exported: dt.date | None, year: int | None, latest: dt.date | None
) -> None:
    """Give every date of ``item`` its year; see :func:`_reference` for where it comes from."""
    days = [d for _, d in item.days]
    if not days:
        return
    try:
        if all(d.year is not None for d in days):
            years = [d.year or 0 for d in days]
        elif exported is not None:
            years = years_from_reference(days, exported + dt.timedelta(days=1))
        elif year is not None and item.kind.name != "Content":
            years = years_from_order(days, year)
        elif year is not None:
            years = years_from_reference(days, dt.date(year, 12, 31))
        elif item.member.export_date is not None or latest is not None:
            reference = item.member.export_date or latest
            assert reference is not None
            years = years_from_reference(days, reference + dt.timedelta(days=1))
        else:
            example = next(d for d in days if d.year is None)
            raise SourceError(
                f"{item.sheet.name}: the dates have no year ({_month_day(example)}) and the "
                "export time is unknown",
                hint="keep the Overview zip's name (Overview_<date>_<epoch>_<handle>.zip) "
                "beside the other files, or give the year of the export's last day: "
                "tiktok-studio:PATH?year=YYYY (or the export date: ?exported=YYYY-MM-DD)",
            )
    except YearError as exc:
        raise SourceError(f"{item.sheet.name}: no year fits the date {exc}") from None
    for (row_index, day), y in zip(item.days, years, strict=True):
        row = item.rows[row_index]
        date = dt.date(y, day.month, day.day)
        if item.kind.name == "Content":
            row["posted_at"] = dt.datetime.combine(date, row.pop("_time"))
        else:
            row["date"] = date


def _month_day(day: DayText) -> str:
    return dt.date(2000, day.month, day.day).strftime("%B %d")


# -- tables -----------------------------------------------------------------------------

_KEYS: dict[str, tuple[str, ...]] = {
    "Overview": ("date",),
    "FollowerHistory": ("date",),
    "Viewers": ("date",),
    "FollowerActivity": ("date", "hour"),
    "Content": ("video_id",),
}
_TABLE = {
    "Overview": "organic_daily",
    "FollowerHistory": "followers_daily",
    "Viewers": "viewers_daily",
    "FollowerActivity": "follower_activity",
    "Content": "videos",
    "FollowerGender": "audience_gender",
    "FollowerTopTerritories": "audience_territory",
}


def _tables(parsed: list[Parsed], notices: list[str]) -> dict[str, list[dict[str, Any]]]:
    by_kind: dict[str, list[Parsed]] = {}
    for item in sorted(parsed, key=lambda p: p.member.order):
        by_kind.setdefault(item.kind.name, []).append(item)
        _report(item, notices)
    tables: dict[str, list[dict[str, Any]]] = {}
    for kind_name, items in by_kind.items():
        table = _TABLE[kind_name]
        if kind_name not in _KEYS:  # a snapshot: the latest export's file only
            latest = items[-1]
            for older in items[:-1]:
                notices.append(
                    f"{older.sheet.name}: an older {kind_name} snapshot than "
                    f"{latest.sheet.name}; its {len(older.rows)} rows are not used"
                )
            tables[table] = latest.rows
            continue
        keys = _KEYS[kind_name]
        merged: dict[tuple[Any, ...], dict[str, Any]] = {}
        same = changed = 0
        for item in items:
            for row in item.rows:
                key = tuple(row.get(k) for k in keys)
                if key in merged:
                    old = {k: v for k, v in merged[key].items() if not k.startswith("_")}
                    new = {k: v for k, v in row.items() if not k.startswith("_")}
                    if old == new:
                        same += 1
                    else:
                        changed += 1
                merged[key] = row
        if same or changed:
            notices.append(
                f"{kind_name}: {same + changed} rows appear in several files and are counted "
                f"once ({changed} with different values: the latest export's are used)"
            )
        rows = sorted(merged.values(), key=lambda r: tuple(_sortable(r.get(k)) for k in keys))
        if kind_name == "Content":
            for row in rows:
                row["date"] = row["posted_at"].date() if row.get("posted_at") else None
        tables[table] = rows
    if "followers_daily" in tables:
        _follower_change(tables["followers_daily"])
    return tables


def _sortable(value: Any) -> tuple[bool, Any]:
    return (value is None, value if value is not None else 0)


def _follower_change(rows: list[dict[str, Any]]) -> None:
    """followers_change = followers minus the previous day's followers (null on the
    first day, after a gap or next to an unknown count). TikTok's own difference column
    is not used: it has been seen to hold the next day's change."""
    previous: dict[str, Any] | None = None
    for row in rows:
        change = None
        if (
            previous is not None
            and row["date"] - previous["date"] == dt.timedelta(days=1)
            and row["followers"] is not None
            and previous["followers"] is not None
        ):
            change = row["followers"] - previous["followers"]
        row["followers_change"] = change
        previous = row


def _report(item: Parsed, notices: list[str]) -> None:
    """Notices for the rows of ``item`` read as null or skipped."""
    sheet = item.sheet

    def where(rows: list[int]) -> str:
        lines = [str(sheet.lines[r]) for r in rows[:5]]
        more = f" and {len(rows) - 5} more" if len(rows) > 5 else ""
        label = "row" if sheet.is_xlsx else "line"
        return f"{label}{'s' if len(rows) > 1 else ''} {', '.join(lines)}{more}"

    if item.undefined:
        n = len(item.undefined)
        extra = ""
        if item.kind.name == "Viewers":
            extra = " (a day TikTok has not counted yet: its new and returning viewers too)"
        notices.append(
            f"{sheet.name}: {n} {'row has' if n == 1 else 'rows have'} `undefined` values, "
            f"read as null{extra} ({where(item.undefined)})"
        )
    if item.skipped:
        n = len(item.skipped)
        notices.append(
            f"{sheet.name}: {n} {'row' if n == 1 else 'rows'} without a date or label "
            f"skipped ({where(item.skipped)})"
        )
