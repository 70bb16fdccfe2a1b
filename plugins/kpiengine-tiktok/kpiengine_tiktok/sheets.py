"""Small tabular files (CSV or XLSX) read into memory, with positions for error messages."""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from kpiengine.errors import Location, SourceError

XLSX_MAGIC = b"PK\x03\x04"


@dataclass
class Sheet:
    """The cells of one file: a header and the data rows, all as text.

    ``name`` is how messages name the file (``exports/Followers_x.zip:FollowerGender.csv``).
    ``lines`` maps a row's position to its line number (CSV) or row number (XLSX);
    ``raw`` holds a CSV's physical lines, for showing the offending line.
    """

    name: str
    header: list[str]
    rows: list[list[str]]
    lines: list[int]
    is_xlsx: bool = False
    raw: list[str] = field(default_factory=list)

    def error(
        self, row: int | None, column: int | None, message: str, *, text: str = ""
    ) -> SourceError:
        """A SourceError at data row ``row`` (None: the header) and ``column`` (0-based)."""
        line = 1 if row is None else self.lines[row]
        if self.is_xlsx:
            cell = f"row {line}" if column is None else f"cell {column_letter(column)}{line}"
            where = Location(self.name, line, (column or 0) + 1)
            return SourceError(f"{message} ({cell})", location=where)
        line_text = self.raw[line - 1] if 0 < line <= len(self.raw) else None
        col = 1
        if line_text is not None and column is not None:
            col = _field_start(line_text, column) + 1
        where = Location(self.name, line, col, max(len(text), 1), line_text)
        return SourceError(message, location=where)


def column_letter(index: int) -> str:
    """``0`` → ``A``, ``26`` → ``AA``."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def _field_start(line: str, column: int) -> int:
    """The offset in ``line`` where field number ``column`` starts (quote-aware)."""
    index, quoted, start = 0, False, 0
    for pos, ch in enumerate(line):
        if ch == '"':
            quoted = not quoted
        elif ch == "," and not quoted:
            index += 1
            if index == column:
                start = pos + 1
                return start + (1 if line[start : start + 1] == '"' else 0)
    if column == 0:
        return 1 if line.startswith('"') else 0
    return 0


def read_sheet(name: str, data: bytes) -> Sheet:
    """A CSV or XLSX file from its bytes; a SourceError for an empty or malformed file."""
    if not data.strip(b" \t\r\n\xef\xbb\xbf"):
        raise SourceError(f"{name}: the file is empty")
    if name.lower().endswith((".xlsx", ".xlsm")):
        return _read_xlsx(name, data)
    if data.startswith(XLSX_MAGIC):
        raise SourceError(f"{name}: this is a zip or XLSX file, not CSV")
    return _read_csv(name, data)


def decode(name: str, data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise SourceError(
            f"{name}: not UTF-8 text (byte {exc.start + 1}, line {line})",
            hint="TikTok's exports are UTF-8; re-save the file as UTF-8 CSV",
        ) from None


def check_delimiter(name: str, header_line: str, header: list[str]) -> None:
    """A header read as one field but holding ``;`` or tabs: the wrong delimiter."""
    if len(header) == 1:
        for sep, label in ((";", "semicolons"), ("\t", "tabs"), ("|", "pipes")):
            if sep in header_line:
                raise SourceError(
                    f"wrong delimiter: the header is separated by {label}, "
                    "TikTok's exports by commas",
                    location=Location(name, 1, header_line.index(sep) + 1, 1, header_line),
                    hint="export the file again from TikTok, or save it as comma-separated CSV",
                )


def _read_csv(name: str, data: bytes) -> Sheet:
    text = decode(name, data)
    raw = text.splitlines()
    first = next((line for line in raw if line.strip()), "")
    check_delimiter(name, first, next(csv.reader([first]), []))
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows: list[list[str]] = []
    lines: list[int] = []
    header: list[str] | None = None
    start = 1
    try:
        for record in reader:
            if header is None:
                header = [h.strip() for h in record]
                check_delimiter(name, raw[0] if raw else "", header)
            elif any(cell.strip() for cell in record):
                rows.append(record)
                lines.append(start)
            start = reader.line_num + 1
    except csv.Error as exc:
        line = reader.line_num
        raise SourceError(
            f"malformed CSV: {exc}",
            location=Location(name, line, 1, 1, raw[line - 1] if 0 < line <= len(raw) else None),
        ) from None
    if header is None:
        raise SourceError(f"{name}: the file is empty")
    sheet = Sheet(name, header, rows, lines, raw=raw)
    for k, row in enumerate(rows):
        if len(row) != len(header):
            raise sheet.error(
                k,
                None,
                f"this line has {len(row)} fields, the header has {len(header)}",
            )
    return sheet


def _read_xlsx(name: str, data: bytes) -> Sheet:
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as exc:
        raise SourceError(f"{name}: not a valid XLSX workbook ({_first_line(exc)})") from None
    try:
        sheet = book.worksheets[0] if book.worksheets else None
        if sheet is None:
            raise SourceError(f"{name}: the workbook has no sheet")
        header: list[str] | None = None
        rows: list[list[str]] = []
        lines: list[int] = []
        for number, values in enumerate(_iter_rows(name, sheet), start=1):
            cells = [cell_text(v) for v in values]
            if header is None:
                if not any(cells):
                    continue
                header = [c.strip() for c in cells]
                while header and not header[-1]:
                    header.pop()
                continue
            if not any(c.strip() for c in cells):
                continue
            cells = (cells + [""] * len(header))[: max(len(header), len(cells))]
            if any(c.strip() for c in cells[len(header) :]):
                extra = next(i for i in range(len(header), len(cells)) if cells[i].strip())
                raise SourceError(
                    f"a value outside the header's columns (cell {column_letter(extra)}{number})",
                    location=Location(name, number, extra + 1),
                )
            rows.append(cells[: len(header)])
            lines.append(number)
    finally:
        book.close()
    if header is None:
        raise SourceError(f"{name}: the workbook is empty")
    return Sheet(name, header, rows, lines, is_xlsx=True)


def _iter_rows(name: str, sheet: Any) -> Iterator[tuple[Any, ...]]:
    try:
        yield from sheet.iter_rows(values_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, EOFError) as exc:
        raise SourceError(f"{name}: not a valid XLSX workbook ({_first_line(exc)})") from None


def cell_text(value: Any) -> str:
    """An XLSX cell as the text the export would hold."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
