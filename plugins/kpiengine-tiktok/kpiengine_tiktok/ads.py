"""``tiktok-ads:PATH`` — Ads Manager report exports (CSV or XLSX), as canonical tables.

PATH is one export or a folder of them. Each file is a custom report with the UI's
column labels (``By Day``, ``Campaign name``, ``Cost``, ``Clicks (destination)``, …).
A report broken down by age, gender, country or interest category goes to
``paid_audience``; any other to ``paid_daily``.

The cleaning runs in DuckDB, over ``read_csv(…, all_varchar)``: thousands separators,
``%`` and currency signs are stripped, ``-`` is null, the ``Total of N results`` row is
dropped (and counted). Only the error path reads a file in Python, to point at the line
and column of a bad value. XLSX files are read with openpyxl (read-only) into a
temporary CSV and go the same way.
"""

from __future__ import annotations

import csv
import io
import re
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kpiengine.errors import Location, SourceError
from kpiengine_tiktok.canonical import CanonicalSource, quote_ident, shown
from kpiengine_tiktok.sheets import XLSX_MAGIC, cell_text, check_delimiter, column_letter, decode
from kpiengine_tiktok.textutil import match_headers, parse_uri

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
TEXT = ("campaign", "campaign_id", "ad_group", "ad_group_id", "ad", "ad_id", "objective",
        "currency", "age", "gender", "country", "interest_category")  # fmt: skip
MONEY = ("spend", "conversion_value")
SEGMENTS = ("age", "gender", "country", "interest_category")
REQUIRED = ("date", "spend", "impressions", "clicks")

# A value is a number once thousands separators and `%` are removed; otherwise, if it
# looks like money ("$1,234.50", "1.234,50 €" is not supported, "USD 12.00"), once its
# currency sign or code is removed. Anything else is an error.
_MONEY_PATTERN = (
    r"^\s*[-−]?\s*(?:[A-Z]{3}\s?|[A-Z]{0,2}[$€£¥₩₫₹₺₽฿₱₦]\s?)?[-−]?"
    r"(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]+)?\s*(?:[$€£¥₩₫₹₺₽฿₱₦]|[A-Z]{3})?\s*$"
)
_MACROS = f"""
CREATE OR REPLACE TEMP MACRO kpi_blank(v) AS v IS NULL OR trim(v) IN ('', '-', '--');
CREATE OR REPLACE TEMP MACRO kpi_num(v) AS CASE
    WHEN kpi_blank(v) THEN NULL
    ELSE coalesce(
        TRY_CAST(replace(replace(trim(v), ',', ''), '%', '') AS DOUBLE),
        CASE WHEN regexp_full_match(v, '{_MONEY_PATTERN}')
             THEN TRY_CAST(regexp_replace(replace(v, '−', '-'), '[^0-9.\\-]', '', 'g') AS DOUBLE)
        END)
    END;
CREATE OR REPLACE TEMP MACRO kpi_date(v) AS CASE
    WHEN kpi_blank(v) THEN NULL
    ELSE coalesce(
        TRY_CAST(trim(v) AS DATE),
        CAST(TRY_STRPTIME(trim(v), ['%Y/%m/%d', '%Y-%m-%d %H:%M:%S', '%Y/%m/%d %H:%M:%S',
                                     '%Y-%m-%d %H:%M', '%Y.%m.%d']) AS DATE))
    END;
CREATE OR REPLACE TEMP MACRO kpi_text(v) AS CASE WHEN kpi_blank(v) THEN NULL ELSE trim(v) END;
CREATE OR REPLACE TEMP MACRO kpi_total(v) AS
    regexp_full_match(coalesce(trim(v), ''), '(?i)total of [0-9][0-9,.]* results?');
"""
_AGE_SQL = """CASE
    WHEN upper({v}) IN ('NONE', 'UNKNOWN') THEN 'Unknown'
    WHEN regexp_full_match(upper({v}), 'AGE_[0-9]+_100') THEN regexp_extract({v}, '[0-9]+') || '+'
    WHEN regexp_full_match(upper({v}), '(AGE_)?[0-9]+\\s*[-_]\\s*[0-9]+')
        THEN regexp_extract({v}, '([0-9]+)\\s*[-_]\\s*([0-9]+)', 1) || '-'
             || regexp_extract({v}, '([0-9]+)\\s*[-_]\\s*([0-9]+)', 2)
    ELSE {v} END"""
_GENDER_SQL = """CASE upper({v})
    WHEN 'FEMALE' THEN 'Female' WHEN 'MALE' THEN 'Male' WHEN 'NONE' THEN 'Unknown'
    WHEN 'UNKNOWN' THEN 'Unknown' WHEN 'OTHER' THEN 'Other' ELSE {v} END"""


@dataclass
class Report:
    """One export file: its columns and where it is loaded."""

    path: Path
    name: str  # for messages
    csv_path: Path  # the CSV DuckDB reads (a temporary one for XLSX)
    header: list[str]
    columns: dict[str, int]  # canonical column → index
    table: str  # canonical table: paid_daily or paid_audience
    is_xlsx: bool
    loaded: str = ""  # the DuckDB table holding the cleaned rows


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
    source = CanonicalSource(uri)
    try:
        files = _files(parsed.path, uri, source.notices)
    except SourceError:
        source.close()
        raise
    source.missing_reasons.update(
        dict.fromkeys(_ORGANIC, "Ads Manager exports hold paid data only"),
    )
    source.missing_reasons["paid_audience"] = (
        "no audience report (by age, gender, country or interest category) among the files"
    )
    source.missing_reasons["paid_daily"] = "no delivery report among the files"
    with tempfile.TemporaryDirectory(prefix="kpi-tiktok-ads-") as tmp:
        try:
            con = source.duck
            _run(con, _MACROS)
            # The rows' order does not matter (every query groups them): let DuckDB load
            # the file with all its threads.
            _run(con, "SET preserve_insertion_order = false")
            reports = [_report(path, Path(tmp), k) for k, path in enumerate(files)]
            for k, report in enumerate(reports):
                _load(con, report, k, source.notices)
            for table in ("paid_daily", "paid_audience"):
                parts = [r for r in reports if r.table == table]
                if parts:
                    _combine(con, source, table, parts, keep_currency, mixed == "allow", uri)
        except BaseException:
            source.close()
            raise
    return source


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


def _run(con: Any, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> list[Any]:
    """Execute ``sql`` (with bound ``params``) and fetch its whole result."""
    bound = dict(params) if isinstance(params, Mapping) else list(params)
    return list(con.execute(sql, bound).fetchall())


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


def _report(path: Path, tmp: Path, index: int) -> Report:
    name = shown(path)
    is_xlsx = path.suffix.lower() in (".xlsx", ".xlsm")
    if is_xlsx:
        csv_path = tmp / f"report{index}.csv"
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


def _cleaned(column: str, raw: str) -> str:
    """The SQL expression giving canonical ``column`` from raw column ``raw``."""
    if column == "date":
        return f"kpi_date({raw})"
    if column == "age":
        return _AGE_SQL.format(v=f"kpi_text({raw})")
    if column == "gender":
        return _GENDER_SQL.format(v=f"kpi_text({raw})")
    if column == "currency":
        return f"upper(kpi_text({raw}))"
    if column in TEXT:
        return f"kpi_text({raw})"
    return f"kpi_num({raw})"


def _load(con: Any, report: Report, index: int, notices: list[str]) -> None:
    """Read ``report`` into table ``ads_<index>``: the canonical columns of its table,
    cleaned, with a flag for the totals row; rows left out are counted in ``notices``."""
    import duckdb

    report.loaded = f"ads_{index}"

    def thorough() -> None:
        # Every value read as text and cleaned by the SQL macros: slower, but it takes
        # every format the fast path leaves out, and finds the value that is wrong.
        _run(con, f"DROP TABLE IF EXISTS {report.loaded}")
        try:
            _create(con, report, fast=False)
        except duckdb.Error as exc:
            raise _csv_error(report, exc) from None

    fast = True
    try:
        _create(con, report, fast=True)
    except duckdb.ConversionException:  # a count that is not written 1,234 or -
        fast = False
        thorough()
    except duckdb.Error as exc:
        raise _csv_error(report, exc) from None
    count = (
        "SELECT count(*) FILTER (WHERE _total), count(*) FILTER (WHERE _bad), "
        f"count(*) FILTER (WHERE NOT _total AND date IS NULL), count(*) FROM {report.loaded}"
    )
    ((totals, bad_rows, undated, rows),) = _run(con, count)
    if bad_rows and fast:  # money or a date in a form the fast path does not read
        thorough()
        ((totals, bad_rows, undated, rows),) = _run(con, count)
    if bad_rows:
        raise _locate_bad_value(report)
    if totals or undated:
        _run(con, f"DELETE FROM {report.loaded} WHERE _total OR date IS NULL")
    if rows - totals - undated == 0:
        notices.append(f"{report.name}: no data rows")
    if totals:
        notices.append(
            f"{report.name}: {totals} `Total of N results` "
            f"{'row' if totals == 1 else 'rows'} left out (the totals of the report)"
        )
    if undated:
        notices.append(
            f"{report.name}: {undated} {'row' if undated == 1 else 'rows'} without a date left out"
        )


def _create(con: Any, report: Report, *, fast: bool) -> None:
    """``CREATE TABLE ads_<n>`` from the file, in one scan.

    ``fast``: DuckDB's CSV reader parses the count columns itself (``thousands=','``,
    ``-`` as null), which is several times faster than cleaning text in SQL; it raises
    a ConversionException on anything else, and the caller then reads with ``fast``
    False: every column as text, cleaned by the SQL macros. Money and dates are always
    cleaned in SQL (``$1,234.50``, and the totals row's label in the date column).
    """
    from kpiengine_tiktok.canonical import TABLES

    native = {
        i
        for c, i in report.columns.items()
        if fast and c not in TEXT and c not in MONEY and c != "date"
    }
    names = [f"c{i}" for i in range(len(report.header))]
    # The path is a bound parameter; the column names are ours (c0, c1, …) and the types
    # are constants, so nothing from the file becomes SQL text.
    types = ", ".join(
        f"'{n}': '{TABLES[report.table][_column_of(report, i)] if i in native else 'VARCHAR'}'"
        for i, n in enumerate(names)
    )
    thousands = "thousands = ',', " if fast else ""
    read = (
        "read_csv($path, header = true, auto_detect = false, delim = ',', quote = '\"', "
        "escape = '\"', strict_mode = true, null_padding = false, encoding = 'utf-8', "
        f"nullstr = ['-', '--', ''], {thousands}columns = {{{types}}})"
    )
    inner, checks = [], []
    for column, i in report.columns.items():
        raw = f"c{i}"
        x = quote_ident("x_" + column)
        if i in native or (fast and column in TEXT and column not in ("currency", "age", "gender")):
            value = raw  # parsed by the reader, or text with `-` and empty as null already
        elif fast and column == "currency":
            value = f"upper({raw})"
        elif fast and column in MONEY:  # 1,234.50, $1,234.50 or €1,234.50 (replace is cheap)
            plain = f"replace(replace(replace({raw}, ',', ''), '$', ''), '€', '')"
            value = f"TRY_CAST({plain} AS DOUBLE)"
        elif fast and column == "date":  # 2026-07-01 (the CASE keeps the cast out of the reader)
            value = (
                f"CASE WHEN starts_with({raw}, 'Total of ') THEN NULL "
                f"ELSE TRY_CAST({raw} AS DATE) END"
            )
        else:
            value = _cleaned(column, raw)
        inner.append(f"{raw}, {value} AS {x}")
        if column not in TEXT and i not in native:
            # a value that is there (`-` and empty are null) but does not read as its type
            blank = f"{raw} IS NULL" if fast else f"kpi_blank({raw})"
            checks.append(f"({x} IS NULL AND NOT {blank})")
    # (starts_with first: the regular expression only runs on the few rows it lets through)
    total = "false" if 0 in native else "starts_with(c0, 'Total of ') AND kpi_total(c0)"
    inner.append(f"coalesce({total}, false) AS _t")
    outer = []
    for column, typ in TABLES[report.table].items():
        value = quote_ident("x_" + column) if column in report.columns else "NULL"
        outer.append(f"CAST({value} AS {typ}) AS {quote_ident(column)}")
    outer.append("_t AS _total")
    outer.append(f"coalesce(NOT _t AND ({' OR '.join(checks) or 'false'}), false) AS _bad")
    if 0 not in report.columns.values():
        inner.append("c0")
    _run(
        con,
        f"CREATE TABLE {report.loaded} AS SELECT {', '.join(outer)} "
        f"FROM (SELECT {', '.join(inner)} FROM {read})",
        {"path": str(report.csv_path)},
    )


def _column_of(report: Report, index: int) -> str:
    return next(c for c, i in report.columns.items() if i == index)


def _csv_error(report: Report, exc: Exception) -> SourceError:
    text = str(exc)
    match = re.search(r"CSV Error on Line: (\d+)", text)
    original = re.search(r"Original Line: (.*)", text)
    reason = ""
    for line in text.splitlines()[1:]:
        line = line.strip()
        if line and not line.startswith(("Original Line", "Possible fixes", "*")):
            reason = line
            break
    if match:
        line_no = int(match[1])
        return SourceError(
            f"malformed CSV: {reason or 'cannot read this line'}",
            location=Location(report.name, line_no, 1, 1, original[1] if original else None),
        )
    first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    return SourceError(f"cannot read {report.name}: {first}")


def _locate_bad_value(report: Report) -> SourceError:
    """Find the first value that is not a number (or date) in the file, in Python: the
    slow path, taken only to say where the error is."""
    numeric = {i: c for c, i in report.columns.items() if c not in TEXT}
    rows = _xlsx_rows(report.path) if report.is_xlsx else _csv_rows(report.path)
    for line, cells in rows:
        if cells and _is_total(cells[0]):
            continue
        for index, column in numeric.items():
            value = cells[index] if index < len(cells) else ""
            if _blank(value):
                continue
            ok = _is_date(value) if column == "date" else _is_number(value)
            if ok:
                continue
            what = "a date (YYYY-MM-DD)" if column == "date" else "a number"
            label = report.header[index]
            message = f"`{value}` in column `{label}` is not {what}"
            if report.is_xlsx:
                return SourceError(
                    f"{message} (cell {column_letter(index)}{line})",
                    location=Location(report.name, line, index + 1),
                )
            raw = _physical_line(report.path, line)
            column_no = raw.find(value) + 1 if raw and value in raw else 1
            return SourceError(
                message,
                location=Location(report.name, line, column_no, max(len(value), 1), raw),
            )
    return SourceError(f"{report.name}: a value is not a number (its place was not found)")


def _csv_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        start = 1
        for n, record in enumerate(reader):
            if n:
                yield start, record
            start = reader.line_num + 1


def _xlsx_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    """The rows after the header, with their row numbers in the sheet."""
    import openpyxl

    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        seen_header = False
        for number, values in enumerate(book.worksheets[0].iter_rows(values_only=True), 1):
            cells = [cell_text(v) for v in values]
            if not seen_header:
                seen_header = any(c.strip() for c in cells)
                continue
            yield number, cells
    finally:
        book.close()


def _physical_line(path: Path, number: int) -> str | None:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        for n, line in enumerate(fh, start=1):
            if n == number:
                return line.rstrip("\r\n")
    return None


_NUMBER = re.compile(_MONEY_PATTERN)


def _blank(value: str) -> bool:
    return value.strip() in ("", "-", "--")


def _is_total(value: str) -> bool:
    return re.fullmatch(r"(?i)total of [0-9][0-9,.]* results?", value.strip()) is not None


def _is_number(value: str) -> bool:
    plain = value.strip().replace(",", "").replace("%", "")
    try:
        float(plain)
    except ValueError:
        return _NUMBER.match(value) is not None
    return plain.lower() not in ("nan", "inf", "-inf", "infinity")


def _is_date(value: str) -> bool:
    return re.fullmatch(r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?",
                        value.strip()) is not None  # fmt: skip


# -- all files --------------------------------------------------------------------------


def _combine(
    con: Any,
    source: CanonicalSource,
    table: str,
    reports: Sequence[Report],
    keep: str | None,
    allow_mixed: bool,
    uri: str,
) -> None:
    """Canonical ``table``: a view over the loaded reports, after the currency check."""
    from kpiengine_tiktok.canonical import TABLES

    counts = _run(
        con,
        " UNION ALL ".join(
            f"SELECT currency, count(*) FROM {r.loaded} GROUP BY currency" for r in reports
        ),
    )
    totals: dict[str | None, int] = {}
    for code, n in counts:
        totals[code] = totals.get(code, 0) + n
    currencies = sorted(
        ((c, n) for c, n in totals.items() if c is not None), key=lambda cn: (-cn[1], cn[0])
    )
    names = ", ".join(r.name for r in reports)
    if keep is not None and currencies:
        dropped = {c: n for c, n in totals.items() if c != keep}
        if dropped:
            other = ", ".join(f"{n} in {c or 'no currency'}" for c, n in dropped.items())
            source.notices.append(
                f"{table}: kept the {keep} rows only (currency={keep}); left out {other}"
            )
            for report in reports:
                _run(con, f"DELETE FROM {report.loaded} WHERE currency IS DISTINCT FROM ?", [keep])
    elif keep is not None:  # no Currency column: the option says which currency it is
        source.notices.append(f"{table}: no Currency column; the money is taken as {keep}")
        for report in reports:
            _run(con, f"UPDATE {report.loaded} SET currency = ?", [keep])
    elif len(currencies) > 1 and not allow_mixed:
        listing = ", ".join(f"{c} ({n} rows)" for c, n in currencies)
        raise SourceError(
            f"the Ads Manager export mixes currencies: {listing} in {names}",
            hint=f"sums across currencies mean nothing: keep one with `{uri.split('?')[0]}"
            f"?currency={currencies[0][0]}`, or, to break the KPIs down by currency "
            "yourself (--by currency), allow it with `?mixed_currency=allow`",
        )
    elif len(currencies) > 1:
        source.notices.append(
            f"{table}: several currencies ({', '.join(c for c, _ in currencies)}); break the "
            "money KPIs down with --by currency"
        )
    columns = ", ".join(quote_ident(c) for c in TABLES[table])
    union = " UNION ALL ".join(f"SELECT {columns} FROM {r.loaded}" for r in reports)
    _run(con, f"CREATE VIEW {quote_ident(table)} AS {union}")
    source.tables.append(table)
