"""Reading TikTok's localised text: headers, numbers, year-less dates, URI options."""

from __future__ import annotations

import datetime as dt
import itertools
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from urllib.parse import parse_qsl

from kpiengine.errors import SourceError
from kpiengine_tiktok.canonical import resolve_path


def fold(text: str) -> str:
    """``text`` for matching: accents removed, case folded, spaces collapsed.

    ``"Visualizações de vídeo"`` → ``"visualizacoes de video"``; ``"18 tháng Sáu"`` →
    ``"18 thang sau"``; Greek loses its accents the same way.
    """
    decomposed = unicodedata.normalize("NFD", text.replace("\ufeff", ""))
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    plain = plain.replace("đ", "d").replace("Đ", "D")
    return " ".join(plain.casefold().split())


# -- URIs -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Uri:
    """A ``scheme:PATH?option=value&…`` source URI, its path resolved."""

    scheme: str
    path: Path
    options: dict[str, str]


def parse_uri(uri: str, base_dir: Path, known: Sequence[str]) -> Uri:
    """Split ``uri``; an option not in ``known`` or given twice is a SourceError."""
    scheme, _, rest = uri.partition(":")
    raw_path, _, query = rest.partition("?")
    if not raw_path:
        raise SourceError(f"no path in source {uri}", hint=f"write `{scheme}:PATH`")
    options: dict[str, str] = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        if key not in known:
            allowed = ", ".join(f"`{k}`" for k in known) or "none"
            raise SourceError(
                f"unknown option `{key}` in source {uri}", hint=f"options of {scheme}: {allowed}"
            )
        if key in options:
            raise SourceError(f"option `{key}` is given twice in source {uri}")
        options[key] = value
    return Uri(scheme, resolve_path(raw_path, base_dir), options)


# -- headers ----------------------------------------------------------------------------


def match_headers(
    header: Sequence[str], labels: Mapping[str, Iterable[str]]
) -> tuple[dict[str, int], list[int]]:
    """Which column holds each canonical field: ``labels`` maps a field to the header
    texts it may have (compared after :func:`fold`). Returns field → column index and
    the indexes of the columns no field claimed."""
    wanted: dict[str, str] = {}
    for field, texts in labels.items():
        for text in texts:
            wanted.setdefault(fold(text), field)
    found: dict[str, int] = {}
    unclaimed: list[int] = []
    for index, text in enumerate(header):
        claimed = wanted.get(fold(text))
        if claimed is None or claimed in found:
            unclaimed.append(index)
        else:
            found[claimed] = index
    return found, unclaimed


# -- numbers ----------------------------------------------------------------------------

_INT_PLAIN = re.compile(r"[-+]?\d+")
_INT_GROUPED = re.compile(r"[-+]?\d{1,3}(?:([,.\u00a0\u202f ])\d{3})(?:\1\d{3})*")
_DECIMAL = re.compile(r"[-+]?(?:\d+(?:[.,]\d*)?|[.,]\d+)(?:[eE][-+]?\d+)?")
NULL_TEXTS = ("", "-", "undefined")


def parse_int(text: str) -> int | None:
    """A whole number as TikTok writes it: ``"1188"``, ``"-1"``, ``"1,188"``,
    ``"1.188"``, ``"1 188"``. None for an empty cell; ValueError for anything else."""
    value = text.strip().replace("\u2212", "-")
    if value == "":
        return None
    if _INT_PLAIN.fullmatch(value):
        return int(value)
    if _INT_GROUPED.fullmatch(value):
        return int(re.sub(r"[,.\u00a0\u202f ]", "", value))
    if re.fullmatch(r"[-+]?\d+\.0+", value):  # a whole number stored as a float (XLSX)
        return int(value.split(".")[0])
    raise ValueError(value)


def parse_share(text: str) -> tuple[float | None, bool]:
    """A distribution value as a fraction, and whether it was written as a percentage:
    ``"0.55"`` → 0.55, ``"55%"`` → 0.55, ``"0,55"`` → 0.55."""
    value = text.strip().replace("\u2212", "-")
    if value == "":
        return None, False
    percent = value.endswith("%")
    if percent:
        value = value[:-1].strip()
    if not _DECIMAL.fullmatch(value):
        raise ValueError(text)
    number = Decimal(value.replace(",", "."))
    return float(number / 100 if percent else number), percent


# -- dates ------------------------------------------------------------------------------

_MONTH_NAMES: dict[int, tuple[str, ...]] = {
    1: ("january", "jan", "janeiro", "jan.", "enero", "ene", "janvier", "januar", "gennaio",
        "januari", "thang mot", "thang 1", "ιανουαριου", "ιανουαριος", "ιαν"),
    2: ("february", "feb", "fevereiro", "fev", "febrero", "fevrier", "februar", "febbraio",
        "februari", "thang hai", "thang 2", "φεβρουαριου", "φεβρουαριος", "φεβ"),
    3: ("march", "mar", "marco", "marzo", "mars", "marz", "maret", "thang ba", "thang 3",
        "μαρτιου", "μαρτιος", "μαρ"),
    4: ("april", "apr", "abril", "abr", "avril", "aprile", "thang tu", "thang 4",
        "απριλιου", "απριλιος", "απρ"),
    5: ("may", "maio", "mai", "mayo", "maggio", "mei", "thang nam", "thang 5", "μαιου",
        "μαιος", "μαι"),
    6: ("june", "jun", "junho", "junio", "juin", "juni", "giugno", "thang sau", "thang 6",
        "ιουνιου", "ιουνιος", "ιουν"),
    7: ("july", "jul", "julho", "julio", "juillet", "juli", "luglio", "thang bay", "thang 7",
        "ιουλιου", "ιουλιος", "ιουλ"),
    8: ("august", "aug", "agosto", "ago", "aout", "agustus", "thang tam", "thang 8",
        "αυγουστου", "αυγουστος", "αυγ"),
    9: ("september", "sep", "sept", "setembro", "set", "septiembre", "septembre",
        "settembre", "thang chin", "thang 9", "σεπτεμβριου", "σεπτεμβριος", "σεπ"),
    10: ("october", "oct", "outubro", "out", "octubre", "octobre", "oktober", "ottobre",
         "thang muoi", "thang 10", "οκτωβριου", "οκτωβριος", "οκτ"),
    11: ("november", "nov", "novembro", "noviembre", "novembre", "thang muoi mot",
         "thang 11", "νοεμβριου", "νοεμβριος", "νοε"),
    12: ("december", "dec", "dezembro", "dez", "diciembre", "dic", "decembre", "dezember",
         "dicembre", "desember", "thang muoi hai", "thang 12", "δεκεμβριου", "δεκεμβριος",
         "δεκ"),
}  # fmt: skip
MONTHS: dict[str, int] = {name: m for m, names in _MONTH_NAMES.items() for name in names}
_FILLER = {"de", "del", "of", "ngay", "le", "el", "the"}
_TIME = re.compile(r"(?:^|\s)(\d{1,2}):(\d{2})(?::(\d{2}))?\s*(am|pm)?(?=\s|$)")


@dataclass(frozen=True)
class DayText:
    """A parsed date: the year when the text has one."""

    year: int | None
    month: int
    day: int


def parse_day(text: str) -> DayText | None:
    """A date as TikTok Studio writes it, in any supported UI language, with or without
    a year: ``"August 9"``, ``"9 de agosto"``, ``"18 tháng Sáu"``, ``"15 Ιανουαρίου"``,
    ``"Aug 9, 2026"``, ``"2026-08-09"``. None when it is not a date."""
    raw = text.strip()
    iso = re.fullmatch(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T].*)?", raw)
    if iso:
        return _valid(int(iso[1]), int(iso[2]), int(iso[3]))
    folded = fold(raw)
    folded = _TIME.sub(" ", folded)
    tokens = [t for t in re.split(r"[\s,./]+", folded) if t and t not in _FILLER]
    year = None
    numbers = [t for t in tokens if t.isdigit()]
    words = [t for t in tokens if not t.isdigit()]
    for t in numbers:
        if len(t) == 4:
            year = int(t)
    small = [int(t) for t in numbers if len(t) <= 2]
    if year is not None and len(words) > 1 and words[-1] == "nam":
        words = words[:-1]  # Vietnamese "năm 2026": the year
    if words == ["thang"] and len(small) == 2:  # Vietnamese "18 tháng 6"
        return _valid(year, small[1], small[0])
    if not words or len(small) != 1:
        return None
    name = " ".join(words)
    month = MONTHS.get(name) or MONTHS.get(name.rstrip("."))
    if month is None:
        return None
    return _valid(year, month, small[0])


def _valid(year: int | None, month: int, day: int) -> DayText | None:
    if not 1 <= month <= 12 or not 1 <= day <= 31:
        return None
    try:
        dt.date(2000 if year is None else year, month, day)  # 2000 is a leap year
    except ValueError:
        return None
    return DayText(year, month, day)


def time_of(text: str) -> dt.time | None:
    """The time of day in a timestamp text (``"18:04"``, ``"6:04 PM"``), if any."""
    match = _TIME.search(fold(text))
    if not match:
        return None
    hour, minute, second = int(match[1]), int(match[2]), int(match[3] or 0)
    if match[4] == "pm" and hour < 12:
        hour += 12
    elif match[4] == "am" and hour == 12:
        hour = 0
    if hour > 23 or minute > 59 or second > 59:
        return None
    return dt.time(hour, minute, second)


class YearError(ValueError):
    """A year-less date whose year cannot be found."""


def years_from_reference(days: Sequence[DayText], reference: dt.date) -> list[int]:
    """The year of each date: the latest one not after ``reference`` (the export date,
    plus a day for time zones ahead of UTC). Across a December→January turn the
    December dates fall in the year before the export."""
    out = []
    for d in days:
        if d.year is not None:
            out.append(d.year)
            continue
        for year in (reference.year, reference.year - 1):
            try:
                if dt.date(year, d.month, d.day) <= reference:
                    out.append(year)
                    break
            except ValueError:  # 29 February in a common year
                continue
        else:
            raise YearError(f"{d.month:02d}-{d.day:02d}")
    return out


def years_from_order(days: Sequence[DayText], last_year: int) -> list[int]:
    """The year of each date of a file in date order, given the year of its latest
    date: walking back from the latest, the year goes down at each December→January
    turn. Works for files sorted either way."""
    keys = [(d.month, d.day) for d in days]
    up = sum(a < b for a, b in itertools.pairwise(keys))
    down = sum(a > b for a, b in itertools.pairwise(keys))
    order = list(range(len(days)))
    if down > up:
        order.reverse()
    years = [0] * len(days)
    year = last_year
    previous: tuple[int, int] | None = None
    for index in reversed(order):
        key = keys[index]
        if previous is not None and key > previous:
            year -= 1
        previous = key
        given = days[index].year
        years[index] = year if given is None else given
    for index, d in enumerate(days):
        if d.year is None:
            try:
                dt.date(years[index], d.month, d.day)
            except ValueError:
                raise YearError(f"{d.month:02d}-{d.day:02d}") from None
    return years
