"""``tiktok-ads:PATH`` — Ads Manager report exports (CSV or XLSX), as canonical tables.

PATH is one export or a folder of them. Each file is a custom report with the UI's
column labels (``By Day``, ``Campaign name``, ``Cost``, ``Clicks (destination)``, …).
A report broken down by age, gender, country or interest category goes to
``paid_audience``; any other to ``paid_daily``.

Opening the source reads the headers only. The tables are loaded when a statement first
reads one of them: one scan of each file by DuckDB's ``read_csv``, the cleaning in SQL
(:mod:`kpiengine_tiktok.ads_load`), then the currency check. The date, every number
and the currency are always loaded, so every value that must be a number is checked in
every file; of the text columns (names, ids, objective, segments), the statement's
tables get only those it reads: they cost the most to load and have nothing to check.
A later statement that reads more text columns loads that table again, whole. XLSX
files are read with openpyxl (read-only) into a temporary CSV when the source opens and
go the same way.
"""

from __future__ import annotations

import csv
import io
import re
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kpiengine.errors import Location, SourceError
from kpiengine_tiktok.ads_load import MACROS, TEXT, Report, load_report, run
from kpiengine_tiktok.canonical import TABLES, CanonicalSource, quote_ident, shown
from kpiengine_tiktok.sheets import XLSX_MAGIC, cell_text, check_delimiter, column_letter, decode
from kpiengine_tiktok.textutil import match_headers, parse_uri

if TYPE_CHECKING:
    from kpiengine.registry import ValueType

OPTIONS = ("currency", "mixed_currency")
SUFFIXES = (".csv", ".xlsx")

#: Canonical column → the export labels it may have (compared after folding).
LABELS: dict[str, tuple[str, ...]] = {
    "date": ("By Day", "Day", "Date", "stat_time_day", "Time"),
    "campaign": ("Campaign name", "Campaign"),
    "campaign_id": ("Campaign ID", "campaign_id"),
    "ad_group": ("Ad group name", "Ad group", "Adgroup name"),
    "ad_group_id": ("Ad group ID", "Adgroup ID", "adgroup_id"),
    "ad": ("Ad name", "Ad"),
    "ad_id": ("Ad ID", "ad_id"),
    "objective": ("Objective", "Advertising objective", "Campaign objective", "objective_type"),
    "currency": ("Currency",),
    "age": ("Age",),
    "gender": ("Gender",),
    "country": ("Country/Region", "Country", "Location", "Country or region", "country_code"),
    "interest_category": ("Interest category", "Interest", "Interests", "interest_category"),
    "spend": ("Cost", "Spend", "Total cost", "spend"),
    "impressions": ("Impressions", "impressions"),
    "reach": ("Reach", "reach"),
    "clicks": ("Clicks (destination)", "Clicks", "clicks"),
    "conversions": ("Conversions", "conversion"),
    "conversion_value": (
        "Purchase value (website)",
        "Total purchase value (website)",
        "Conversion value",
        "Total complete payment value",
        "total_complete_payment_rate",
    ),
    "video_views": ("Video views", "video_play_actions"),
    "views_2s": ("2-second video views", "video_watched_2s"),
    "views_6s": ("6-second video views", "video_watched_6s"),
    "views_p25": ("Video views at 25%", "video_views_p25"),
    "views_p50": ("Video views at 50%", "video_views_p50"),
    "views_p75": ("Video views at 75%", "video_views_p75"),
    "views_p100": ("Video views at 100%", "video_views_p100"),
    "likes": ("Paid likes", "Likes", "likes"),
    "comments": ("Paid comments", "Comments", "comments"),
    "shares": ("Paid shares", "Shares", "shares"),
    "follows": ("Paid follows", "Follows", "follows"),
    "profile_visits": ("Paid profile visits", "Profile visits", "profile_visits"),
}
SEGMENTS = ("age", "gender", "country", "interest_category")
REQUIRED = ("date", "spend", "impressions", "clicks")
#: Loaded whatever a statement reads: the date and every number (their values are
#: checked, so a malformed file fails whatever the KPIs) and the currency (checked
#: across files). Names and ids are loaded when a statement reads them.
ALWAYS = {
    table: frozenset(c for c in TABLES[table] if c not in TEXT or c == "currency")
    for table in ("paid_daily", "paid_audience")
}


def open_ads(uri: str, base_dir: Path) -> CanonicalSource:
    """Open a ``tiktok-ads:`` URI (see the module docstring)."""
    parsed = parse_uri(uri, base_dir, OPTIONS)
    keep_currency = parsed.options.get("currency", "").strip().upper() or None
    mixed = parsed.options.get("mixed_currency", "").strip().lower()
    if mixed not in ("", "allow", "refuse"):
        raise SourceError(
            f"option `mixed_currency={mixed}` of source {uri} must be `allow` or `refuse`"
        )
    if keep_currency is not None and not re.fullmatch(r"[A-Z]{3}", keep_currency):
        raise SourceError(
            f"option `currency={keep_currency}` of source {uri} is not a currency code (USD, EUR…)"
        )
    source = AdsSource(uri, keep_currency, allow_mixed=mixed == "allow")
    try:
        files = _files(parsed.path, uri, source.notices)
        source.missing_reasons.update(
            dict.fromkeys(_ORGANIC, "Ads Manager exports hold paid data only"),
        )
        source.missing_reasons["paid_audience"] = (
            "no audience report (by age, gender, country or interest category) among the files"
        )
        source.missing_reasons["paid_daily"] = "no delivery report among the files"
        reports = [_report(path, source, k) for k, path in enumerate(files)]
        for table in ("paid_daily", "paid_audience"):
            parts = [r for r in reports if r.table == table]
            if parts:
                source.defer(table, parts)
    except BaseException:
        source.close()
        raise
    return source


class AdsSource(CanonicalSource):
    """The canonical tables of Ads Manager exports, each loaded when a statement first
    reads it (see the module docstring)."""

    def __init__(self, uri: str, keep_currency: str | None, *, allow_mixed: bool) -> None:
        import sqlalchemy as sa

        super().__init__(uri)
        self._uri = uri
        self._keep = keep_currency
        self._allow_mixed = allow_mixed
        self._reports: dict[str, list[Report]] = {}
        self._loaded: dict[str, frozenset[str]] = {}
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        # Before the statement's transaction begins, so that the tables it loads stay.
        sa.event.listen(self.engine, "before_execute", self._before_execute)

    @property
    def scratch(self) -> Path:
        """A temporary folder for the CSV copies of XLSX files, removed on close."""
        if self._tmp is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="kpi-tiktok-ads-")
        return Path(self._tmp.name)

    def defer(self, table: str, reports: list[Report]) -> None:
        """Make ``table`` from ``reports`` when a statement first reads it."""
        self._reports[table] = reports
        self.tables.append(table)

    def columns(self, table: str) -> dict[str, ValueType]:
        if table in self._reports:  # known without loading anything
            return {c: _value_type(t) for c, t in TABLES[table].items()}
        return super().columns(table)

    def close(self) -> None:
        try:
            super().close()
        finally:
            if self._tmp is not None:
                self._tmp.cleanup()
                self._tmp = None

    def _before_execute(self, conn: Any, statement: Any, *args: Any) -> None:
        if all(self._loaded.get(t) == frozenset(TABLES[t]) for t in self._reports):
            return  # everything is loaded
        read = _columns_read(statement, conn.dialect, self._reports)
        if read:
            # The other table is loaded whole now, so that any file given is checked.
            for table in self._reports:
                self._load(table, read.get(table))

    def _load(self, table: str, columns: frozenset[str] | None) -> None:
        """Load ``table`` with at least ``columns`` (None: every column)."""
        every = frozenset(TABLES[table])
        need = every if columns is None else (columns | ALWAYS[table]) & every
        have = self._loaded.get(table)
        if have is not None and need <= have:
            return
        first = have is None
        if not first:  # a second load reads every column, so there is no third
            need = every
        con = self.duck
        if not self._loaded:
            run(con, MACROS)
            # The rows' order does not matter (every query groups them): let DuckDB load
            # the files with all its threads.
            run(con, "SET preserve_insertion_order = false")
        reports = self._reports[table]
        # The notes of a second load would repeat those of the first.
        notices = self.notices if first else []
        for k, report in enumerate(reports):
            load_report(con, report, f"ads_{table}_{k}", need, notices)
        _combine(con, table, reports, need, self._keep, self._allow_mixed, self._uri, notices)
        self._loaded[table] = need


def _value_type(duck_type: str) -> ValueType:
    if duck_type in ("BIGINT", "INTEGER", "DOUBLE"):
        return "number"
    if duck_type in ("DATE", "TIMESTAMP"):
        return "date"
    return "string"


def _columns_read(
    statement: Any, dialect: Any, tables: Iterable[str]
) -> dict[str, frozenset[str] | None]:
    """The ``tables`` that ``statement`` reads, each with the canonical columns it may
    read (None: all of them).

    From the SQL text: a name written as a word may be read. That may take in a column
    that is not read (a KPI named like a column), never miss one that is: a statement
    names every column it reads, unless it selects ``*``.
    """
    if not hasattr(statement, "compile"):
        return dict.fromkeys(tables)
    sql = str(statement.compile(dialect=dialect))
    words = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", sql))
    star = re.search(r"(?i)\bselect\s+(?:distinct\s+)?\*|\.\s*\*", sql) is not None
    return {
        table: None if star else frozenset(c for c in TABLES[table] if c in words)
        for table in tables
        if table in words
    }


_ORGANIC = (
    "organic_daily",
    "followers_daily",
    "viewers_daily",
    "videos",
    "follower_activity",
    "audience_gender",
    "audience_territory",
    "audience_age",
)


def _files(path: Path, uri: str, notices: list[str]) -> list[Path]:
    if path.is_dir():
        files = []
        for entry in sorted(path.iterdir()):
            if entry.name.startswith("."):
                continue
            if entry.is_file() and entry.suffix.lower() in SUFFIXES:
                files.append(entry)
            else:
                notices.append(f"{shown(entry)}: not a CSV or XLSX file; ignored")
        if not files:
            raise SourceError(f"no CSV or XLSX files in folder {path} (source {uri})")
        return files
    if path.is_file():
        return [path]
    raise SourceError(f"file or folder not found: {path} (source {uri})")


# -- one file ---------------------------------------------------------------------------


def _report(path: Path, source: AdsSource, index: int) -> Report:
    name = shown(path)
    is_xlsx = path.suffix.lower() in (".xlsx", ".xlsm")
    if is_xlsx:
        csv_path = source.scratch / f"report{index}.csv"
        header = _xlsx_to_csv(path, csv_path)
    else:
        csv_path = path
        header = _csv_header(path)
    columns, _ = match_headers(header, LABELS)
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        label = LABELS[missing[0]][0]
        first_line = None if is_xlsx else _first_line(path)
        raise SourceError(
            f"missing column `{label}` in the Ads Manager export "
            f"(columns found: {', '.join(repr(h) for h in header)})",
            location=Location(name, 1, 1, 1, first_line),
            hint="export the report with the time dimension `By Day` and the metrics "
            "Cost, Impressions and Clicks (destination)"
            if missing[0] == "date"
            else None,
        )
    table = "paid_audience" if any(s in columns for s in SEGMENTS) else "paid_daily"
    return Report(path, name, csv_path, header, columns, table, is_xlsx)


def _first_line(path: Path) -> str | None:
    with path.open("rb") as fh:
        head = fh.read(65536)
    text = head.decode("utf-8-sig", errors="replace")
    return text.splitlines()[0] if text else None


def _csv_header(path: Path) -> list[str]:
    name = shown(path)
    try:
        with path.open("rb") as fh:
            head = fh.read(65536)
    except OSError as exc:
        raise SourceError(f"cannot read {name}: {exc.strerror or exc}") from None
    if not head.strip(b" \t\r\n\xef\xbb\xbf"):
        raise SourceError(f"{name}: the file is empty")
    if head.startswith(XLSX_MAGIC):
        raise SourceError(f"{name}: this is a zip or XLSX file, not CSV (name it .xlsx)")
    text = decode(name, head[: head.rfind(b"\n") + 1] if b"\n" in head else head)
    first = text.splitlines()[0] if text else ""
    header = next(csv.reader(io.StringIO(first)), [])
    header = [h.strip() for h in header]
    check_delimiter(name, first, header)
    return header


def _xlsx_to_csv(path: Path, target: Path) -> list[str]:
    """Copy the first sheet of an XLSX workbook into a CSV file; its header."""
    import zipfile

    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    name = shown(path)
    try:
        if path.stat().st_size == 0:
            raise SourceError(f"{name}: the file is empty")
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as exc:
        raise SourceError(f"{name}: not a valid XLSX workbook ({_message(exc)})") from None
    header: list[str] | None = None
    try:
        sheet = book.worksheets[0]
        with target.open("w", encoding="utf-8", newline="") as out:
            writer = csv.writer(out, lineterminator="\n")
            for number, values in enumerate(_rows(name, sheet), start=1):
                cells = [cell_text(v) for v in values]
                if header is None:
                    if not any(c.strip() for c in cells):
                        continue
                    header = [c.strip() for c in cells]
                    while header and not header[-1]:
                        header.pop()
                    writer.writerow(header)
                    continue
                extra = [k for k in range(len(header), len(cells)) if cells[k].strip()]
                if extra:
                    raise SourceError(
                        f"a value outside the header's columns "
                        f"(cell {column_letter(extra[0])}{number})",
                        location=Location(name, number, extra[0] + 1),
                    )
                writer.writerow((cells + [""] * len(header))[: len(header)])
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, EOFError) as exc:
        raise SourceError(f"{name}: not a valid XLSX workbook ({_message(exc)})") from None
    finally:
        book.close()
    if header is None:
        raise SourceError(f"{name}: the workbook is empty")
    return header


def _rows(name: str, sheet: Any) -> Iterator[tuple[Any, ...]]:
    yield from sheet.iter_rows(values_only=True)


def _message(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


# -- all files --------------------------------------------------------------------------


def _combine(
    con: Any,
    table: str,
    reports: Sequence[Report],
    loaded: frozenset[str],
    keep: str | None,
    allow_mixed: bool,
    uri: str,
    notices: list[str],
) -> None:
    """Canonical ``table``: a view over the loaded reports, after the currency check.

    Columns some report has but that were not loaded are left out of the view, so that a
    statement reading one fails instead of seeing nulls.
    """
    counts = run(
        con,
        " UNION ALL ".join(
            f"SELECT currency, count(*) FROM {r.loaded} GROUP BY currency"
            if "currency" in r.columns
            else f"SELECT CAST(NULL AS VARCHAR), count(*) FROM {r.loaded}"
            for r in reports
        ),
    )
    totals: dict[str | None, int] = {}
    for code, n in counts:
        totals[code] = totals.get(code, 0) + n
    currencies = sorted(
        ((c, n) for c, n in totals.items() if c is not None), key=lambda cn: (-cn[1], cn[0])
    )
    names = ", ".join(r.name for r in reports)
    has_currency = {r.loaded: "currency" in r.columns for r in reports}
    if keep is not None and currencies:
        dropped = {c: n for c, n in totals.items() if c != keep}
        if dropped:
            other = ", ".join(f"{n} in {c or 'no currency'}" for c, n in dropped.items())
            notices.append(
                f"{table}: kept the {keep} rows only (currency={keep}); left out {other}"
            )
            for report in reports:
                if has_currency[report.loaded]:
                    drop = f"DELETE FROM {report.loaded} WHERE currency IS DISTINCT FROM ?"
                    run(con, drop, [keep])
                else:  # no Currency column: none of its rows is in `keep`
                    run(con, f"DELETE FROM {report.loaded}")
    elif keep is not None:  # no Currency column: the option says which currency it is
        notices.append(f"{table}: no Currency column; the money is taken as {keep}")
        for report in reports:
            if not has_currency[report.loaded]:
                run(con, f"ALTER TABLE {report.loaded} ADD COLUMN currency VARCHAR")
                has_currency[report.loaded] = True
            run(con, f"UPDATE {report.loaded} SET currency = ?", [keep])
    elif len(currencies) > 1 and not allow_mixed:
        listing = ", ".join(f"{c} ({n} rows)" for c, n in currencies)
        raise SourceError(
            f"the Ads Manager export mixes currencies: {listing} in {names}",
            hint=f"sums across currencies mean nothing: keep one with `{uri.split('?')[0]}"
            f"?currency={currencies[0][0]}`, or, to break the KPIs down by currency "
            "yourself (--by currency), allow it with `?mixed_currency=allow`",
        )
    elif len(currencies) > 1:
        notices.append(
            f"{table}: several currencies ({', '.join(c for c, _ in currencies)}); break the "
            "money KPIs down with --by currency"
        )
    in_files = {c for r in reports for c in r.columns}
    shown_columns = [c for c in TABLES[table] if c in loaded or c not in in_files]
    parts = []
    for report in reports:
        have = {c for c in report.columns if c in loaded}
        if has_currency[report.loaded]:
            have.add("currency")
        values = [
            quote_ident(c) if c in have else f"CAST(NULL AS {TABLES[table][c]}) AS {quote_ident(c)}"
            for c in shown_columns
        ]
        parts.append(f"SELECT {', '.join(values)} FROM {report.loaded}")
    run(con, f"CREATE OR REPLACE VIEW {quote_ident(table)} AS {' UNION ALL '.join(parts)}")
