"""Loading one Ads Manager export into DuckDB: cleaning in SQL, and errors with a place.

:func:`load_report` reads some canonical columns of one export (CSV, or the CSV an
XLSX workbook was copied to) in one scan of DuckDB's ``read_csv``: thousands separators,
``%`` and currency signs stripped, ``-`` as null, the ``Total of N results`` row and
rows without a date counted and left out. Only the error path reads a file in Python,
to point at the line and column of a bad value.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kpiengine.errors import Location, SourceError
from kpiengine_tiktok.canonical import TABLES, quote_ident
from kpiengine_tiktok.sheets import cell_text, column_letter

TEXT = ("campaign", "campaign_id", "ad_group", "ad_group_id", "ad", "ad_id", "objective",
        "currency", "age", "gender", "country", "interest_category")  # fmt: skip
MONEY = ("spend", "conversion_value")

# A value is a number once thousands separators and `%` are removed; otherwise, if it
# looks like money ("$1,234.50", "1.234,50 €" is not supported, "USD 12.00"), once its
# currency sign or code is removed. Anything else is an error.
_MONEY_PATTERN = (
    r"^\s*[-−]?\s*(?:[A-Z]{3}\s?|[A-Z]{0,2}[$€£¥₩₫₹₺₽฿₱₦]\s?)?[-−]?"
    r"(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]+)?\s*(?:[$€£¥₩₫₹₺₽฿₱₦]|[A-Z]{3})?\s*$"
)
MACROS = f"""
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


def run(con: Any, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> list[Any]:
    """Execute ``sql`` (with bound ``params``) and fetch its whole result."""
    bound = dict(params) if isinstance(params, Mapping) else list(params)
    return list(con.execute(sql, bound).fetchall())


def load_report(
    con: Any, report: Report, table: str, columns: Collection[str], notices: list[str]
) -> None:
    """Read canonical ``columns`` of ``report`` (those it has) into DuckDB table ``table``,
    cleaned; rows left out are counted in ``notices``. Values are checked in the columns
    read only."""
    import duckdb

    report.loaded = table
    wanted = {c: i for c, i in report.columns.items() if c in columns}

    def thorough() -> None:
        # Every value read as text and cleaned by the SQL macros: slower, but it takes
        # every format the fast path leaves out, and finds the value that is wrong.
        run(con, f"DROP TABLE IF EXISTS {table}")
        try:
            _create(con, report, wanted, fast=False)
        except duckdb.Error as exc:
            raise _csv_error(report, exc) from None

    run(con, f"DROP TABLE IF EXISTS {table}")
    fast = True
    try:
        _create(con, report, wanted, fast=True)
    except duckdb.ConversionException:  # a count that is not written 1,234 or -
        fast = False
        thorough()
    except duckdb.Error as exc:
        raise _csv_error(report, exc) from None
    date = "date IS NULL" if "date" in wanted else "false"
    count = (
        "SELECT count(*) FILTER (WHERE _total), count(*) FILTER (WHERE _bad), "
        f"count(*) FILTER (WHERE NOT _total AND {date}), count(*) FROM {table}"
    )
    ((totals, bad_rows, undated, rows),) = run(con, count)
    if bad_rows and fast:  # money or a date in a form the fast path does not read
        thorough()
        ((totals, bad_rows, undated, rows),) = run(con, count)
    if bad_rows:
        raise _locate_bad_value(report, wanted)
    if totals or undated:
        run(con, f"DELETE FROM {table} WHERE _total OR {date}")
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


def _create(con: Any, report: Report, wanted: Mapping[str, int], *, fast: bool) -> None:
    """``CREATE TABLE`` of the ``wanted`` columns (canonical → index in the file), in one
    scan; the reader converts only the columns the query uses.

    ``fast``: DuckDB's CSV reader parses the count columns itself (``thousands=','``,
    ``-`` as null), which is several times faster than cleaning text in SQL; it raises
    a ConversionException on anything else, and the caller then reads with ``fast``
    False: every column as text, cleaned by the SQL macros. Money and dates are always
    cleaned in SQL (``$1,234.50``, and the totals row's label in the date column).
    """
    table_types = TABLES[report.table]
    native = {
        i: table_types[c]
        for c, i in wanted.items()
        if fast and c not in TEXT and c not in MONEY and c != "date"
    }
    # The path is a bound parameter; the column names are ours (c0, c1, …) and the types
    # are constants, so nothing from the file becomes SQL text.
    types = ", ".join(f"'c{i}': '{native.get(i, 'VARCHAR')}'" for i in range(len(report.header)))
    thousands = "thousands = ',', " if fast else ""
    read = (
        "read_csv($path, header = true, auto_detect = false, delim = ',', quote = '\"', "
        "escape = '\"', strict_mode = true, null_padding = false, encoding = 'utf-8', "
        f"nullstr = ['-', '--', ''], {thousands}columns = {{{types}}})"
    )
    inner, checks = [], []
    for column, i in wanted.items():
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
    # The totals row's label is in the first column, read even when not wanted (starts_with
    # first: the regular expression only runs on the few rows it lets through).
    total = "false" if 0 in native else "starts_with(c0, 'Total of ') AND kpi_total(c0)"
    inner.append(f"coalesce({total}, false) AS _t")
    if 0 not in wanted.values():
        inner.append("c0")
    outer = [
        f"CAST({quote_ident('x_' + column)} AS {table_types[column]}) AS {quote_ident(column)}"
        for column in wanted
    ]
    outer.append("_t AS _total")
    outer.append(f"coalesce(NOT _t AND ({' OR '.join(checks) or 'false'}), false) AS _bad")
    run(
        con,
        f"CREATE TABLE {report.loaded} AS SELECT {', '.join(outer)} "
        f"FROM (SELECT {', '.join(inner)} FROM {read})",
        {"path": str(report.csv_path)},
    )


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


# -- errors -----------------------------------------------------------------------------


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


def _locate_bad_value(report: Report, wanted: Mapping[str, int]) -> SourceError:
    """Find the first value that is not a number (or date) in the ``wanted`` columns, in
    Python: the slow path, taken only to say where the error is."""
    numeric = {i: c for c, i in wanted.items() if c not in TEXT}
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
