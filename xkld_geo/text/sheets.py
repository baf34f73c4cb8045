"""The one writer of every spreadsheet and CSV the product makes (exports, templates, rejection
files, the plan annex, the thi đua proposal, the open-data release).

Text from users and files (unit, company and market names, comments, cells of refused rows) can
start with ``=``, ``+``, ``-``, ``@``: a spreadsheet program would run it as a formula
(``=HYPERLINK(...)`` sends the reader's data elsewhere). So:

* XLSX: every text is written as a string cell, never a formula nor a hyperlink
  (:data:`markup.XLSX_OPTIONS` and ``write_string``); text that looks like a formula is also
  marked with Excel's quote prefix, so that editing the cell does not turn it into one. The text
  itself is kept exactly.
* CSV: there is no cell type in a CSV, so such text gets a leading apostrophe
  (:func:`markup.cell_text`, the OWASP advice); numbers are written as numbers.

Nothing else in the product calls ``to_csv``, ``to_excel``, ``ExcelWriter``, xlsxwriter or
openpyxl's writer (tests/test_sheets.py walks every writer and searches the code for strays).
"""
from __future__ import annotations

import datetime as dt
import io
import math
import weakref
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd
import xlsxwriter
from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet

from xkld_geo.text.markup import FORMULA_START, XLSX_OPTIONS, cell_text

CSV_ENCODING = "utf-8-sig"
"""UTF-8 with a BOM, so that Excel shows the diacritics."""


def safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with every text cell and column name a spreadsheet would run neutralised
    (:func:`markup.cell_text`); numbers, dates and empty cells as they are."""
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(cell_text)
    out.columns = [cell_text(str(c)) for c in out.columns]
    return out


def csv_text(frame: pd.DataFrame) -> str:
    """``frame`` as CSV text (no index), escaped by :func:`safe_frame`."""
    return safe_frame(frame).to_csv(index=False)


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """``frame`` as a CSV download (UTF-8 with BOM), escaped."""
    return csv_text(frame).encode(CSV_ENCODING)


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """``frame`` as a CSV file (UTF-8 with BOM), escaped."""
    path.write_bytes(csv_bytes(frame))


def csv_rows(rows: list[list[Any]]) -> bytes:
    """Rows of plain values (a header first) as CSV bytes (UTF-8 with BOM, CRLF), escaped."""
    import csv

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for row in rows:
        writer.writerow([cell_text(v) for v in row])
    return out.getvalue().encode(CSV_ENCODING)


@contextmanager
def workbook(target: Path | io.BytesIO) -> Iterator[xlsxwriter.Workbook]:
    """An xlsxwriter workbook with strings never turned into formulas or links; closed at the end."""
    book = xlsxwriter.Workbook(target, {"in_memory": True, **XLSX_OPTIONS})
    try:
        yield book
    finally:
        book.close()


_books: weakref.WeakKeyDictionary[Worksheet, xlsxwriter.Workbook] = weakref.WeakKeyDictionary()
_quoted_formats: weakref.WeakKeyDictionary[xlsxwriter.Workbook, dict[int, Format]] = weakref.WeakKeyDictionary()


def _quoted(book: xlsxwriter.Workbook, fmt: Format | None) -> Format:
    """``fmt`` with Excel's quote prefix (one format object per base format, made once per book)."""
    cache = _quoted_formats.setdefault(book, {})
    key = id(fmt)
    if key not in cache:
        props: dict[str, Any] = {"quote_prefix": True}
        if fmt is not None:
            props.update({"bold": fmt.bold, "italic": fmt.italic, "num_format": fmt.num_format or 0,
                          "text_wrap": fmt.text_wrap, "border": fmt.bottom})
        cache[key] = book.add_format(props)
    return cache[key]


def write(sheet: Worksheet, row: int, col: int, value: Any, fmt: Format | None = None) -> None:
    """One cell: text as a string (quote-prefixed when it looks like a formula), numbers as numbers,
    dates as dates, missing values as blank cells."""
    book = _books.get(sheet)
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA or value is pd.NaT:
        sheet.write_blank(row, col, None, fmt)
    elif isinstance(value, bool):
        sheet.write_boolean(row, col, value, fmt)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        sheet.write_number(row, col, float(value) if math.isfinite(float(value)) else 0.0, fmt)
    elif hasattr(value, "item") and not isinstance(value, str):        # numpy scalars
        write(sheet, row, col, value.item(), fmt)
    elif isinstance(value, (dt.datetime, dt.date)):
        sheet.write_string(row, col, value.isoformat(), fmt)
    else:
        text = str(value)
        quoted = text.startswith(FORMULA_START) and book is not None
        sheet.write_string(row, col, text, _quoted(book, fmt) if quoted else fmt)


def add_sheet(book: xlsxwriter.Workbook, name: str) -> Worksheet:
    """A new worksheet (name cut to Excel's 31 characters) that :func:`write` knows the book of."""
    sheet = book.add_worksheet(name[:31])
    _books[sheet] = book
    return sheet


def write_frame(sheet: Worksheet, frame: pd.DataFrame, start_row: int = 0,
                header_format: Format | None = None) -> None:
    """The header and rows of ``frame`` from ``start_row``, every cell through :func:`write`."""
    for j, name in enumerate(frame.columns):
        write(sheet, start_row, j, str(name), header_format)
    for i, values in enumerate(frame.itertuples(index=False, name=None), start=start_row + 1):
        for j, value in enumerate(values):
            write(sheet, i, j, value)


def xlsx_bytes(frames: Mapping[str, pd.DataFrame]) -> bytes:
    """One sheet per frame (sheet name → table) as XLSX bytes."""
    buffer = io.BytesIO()
    with workbook(buffer) as book:
        for name, frame in frames.items():
            write_frame(add_sheet(book, name), frame)
    return buffer.getvalue()


def write_xlsx(frames: Mapping[str, pd.DataFrame], path: Path) -> None:
    """One sheet per frame, written to ``path``."""
    path.write_bytes(xlsx_bytes(frames))
