"""Reading an incoming CSV or XLSX report into a table of text cells, safely.

Files come from communes and companies by hand, so nothing in them is trusted: size and row count
are checked before anything is parsed (a zipped XLSX also by how far it would expand), only the
data is read (formulas as their last computed values, no macros, no links followed), the file name
is only ever a label (the bytes are processed in memory, never written anywhere), and the text is
turned into Unicode whatever legacy Vietnamese encoding it was typed in.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from collections import Counter
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

from xkld_geo import charsets
from xkld_geo.errors import IngestError
from xkld_geo.templates import NOT_READ, Kind, find_header_row, match_headers

XLSX_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0"          # the old binary .xls (and .doc) container
EXPANSION = 20                           # an XLSX may unzip to at most this many times the size limit
HEADER_SEARCH = 10                       # rows looked at to find the header (titles may sit above it)


@dataclass(frozen=True)
class Limits:
    """What a file may be: at most ``max_bytes`` bytes and ``max_rows`` data rows."""

    max_bytes: int
    max_rows: int


@dataclass
class Sheet:
    """The cells of a report, as text, one column per declared column key found in the file.

    ``frame`` is indexed by the row number a person sees in the file (the header is row 1 when it
    is the first line); ``encoding`` says how the text was stored and ``converted`` whether a legacy
    Vietnamese encoding (TCVN3, VNI, Windows-1258) was turned into Unicode.
    """

    file: str
    frame: pd.DataFrame
    columns: dict[str, int]
    encoding: str
    converted: bool


def _refuse(file: str, message: str, **details: object) -> IngestError:
    return IngestError(f"Tệp {file}: {message}", file=file, **details)


def check_size(data: bytes, file: str, limits: Limits) -> None:
    """Refuse a file over the size limit, before anything reads it."""
    if len(data) > limits.max_bytes:
        raise _refuse(file, f"dung lượng {len(data) / 1e6:.1f} MB vượt giới hạn "
                            f"{limits.max_bytes / 1e6:.0f} MB; hãy chia thành nhiều tệp.",
                      field="size", value=len(data), allowed=limits.max_bytes)
    if not data.strip():
        raise _refuse(file, "tệp rỗng.", field="size", value=0)


def _cell_text(value: object) -> str:
    """An XLSX cell as text: whole numbers without '.0', dates as ISO, nothing as ''."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip()


def _xlsx_rows(data: bytes, file: str, limits: Limits) -> list[list[str]]:
    """Every row of the first data sheet as text (refusing zip bombs and oversized sheets first)."""
    from openpyxl import load_workbook

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            expanded = sum(info.file_size for info in archive.infolist())
            names = set(archive.namelist())
    except zipfile.BadZipFile as exc:
        raise _refuse(file, "không phải tệp XLSX hợp lệ (tệp nén bị hỏng).", field="format") from exc
    if expanded > limits.max_bytes * EXPANSION:
        raise _refuse(file, "nội dung giải nén quá lớn so với giới hạn; tệp có thể bị hỏng hoặc độc hại.",
                      field="size", value=expanded)
    if "xl/workbook.xml" not in names:
        raise _refuse(file, "không phải bảng tính XLSX (thiếu xl/workbook.xml).", field="format")
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True, keep_links=False)
    except Exception as exc:  # openpyxl raises many kinds for malformed files
        raise _refuse(file, f"không đọc được bảng tính ({type(exc).__name__}).", field="format") from exc
    try:
        sheet = book["Dữ liệu"] if "Dữ liệu" in book.sheetnames else book.worksheets[0]
        declared = sheet.max_row or 0
        if declared > limits.max_rows + HEADER_SEARCH:
            raise _refuse(file, f"có {declared:,} dòng, vượt giới hạn {limits.max_rows:,} dòng.",
                          field="rows", value=declared, allowed=limits.max_rows)
        rows: list[list[str]] = []
        for values in sheet.iter_rows(values_only=True):
            rows.append([_cell_text(v) for v in values])
            if len(rows) > limits.max_rows + HEADER_SEARCH:
                raise _refuse(file, f"vượt giới hạn {limits.max_rows:,} dòng.", field="rows",
                              allowed=limits.max_rows)
        return rows
    finally:
        book.close()


def _delimiter(sample: str) -> str:
    """The separator of a CSV text: comma, semicolon (Excel with a Vietnamese locale) or tab."""
    lines = [line for line in sample.splitlines()[:HEADER_SEARCH] if line.strip()]
    best, best_score = ",", -1
    for candidate in (",", ";", "\t"):
        counts = [line.count(candidate) for line in lines]
        score = min(counts) if counts else 0
        if score > best_score:
            best, best_score = candidate, score
    return best


def _csv_frame(data: bytes, file: str, limits: Limits) -> tuple[pd.DataFrame, str, bool]:
    """The CSV's cells as text (no header interpretation yet), its encoding and conversion flag."""
    if data.count(b"\n") > limits.max_rows + HEADER_SEARCH:
        raise _refuse(file, f"có hơn {limits.max_rows:,} dòng, vượt giới hạn.", field="rows",
                      allowed=limits.max_rows)
    decoded = charsets.decode_bytes(data, file, cells_later=True)  # legacy text and NFC: per cell, in read()
    try:
        frame = pd.read_csv(io.StringIO(decoded.text), sep=_delimiter(decoded.text[:20000]), header=None,
                            dtype=str, keep_default_na=False, skip_blank_lines=False, quoting=csv.QUOTE_MINIMAL,
                            engine="c")
    except (pd.errors.ParserError, ValueError) as exc:
        raise _refuse(file, f"không đọc được dạng CSV: {str(exc)[:200]}", field="format") from exc
    return frame, decoded.encoding, decoded.converted


def _cell_counts(frame: pd.DataFrame) -> dict[str, int]:
    """Each distinct cell of ``frame`` and how often it occurs."""
    counts: Counter = Counter()
    for col in frame:
        counts.update(frame[col].value_counts(sort=False).to_dict())
    return counts


def _per_distinct(col: pd.Series, func: Callable[[str], str]) -> pd.Series:
    """``func`` applied to each distinct cell of a text column once (columns repeat a few values
    over a million rows), the result spread back over the rows."""
    codes, uniques = pd.factorize(col, use_na_sentinel=False)
    return pd.Series(np.asarray([func(v) for v in uniques], dtype=object)[codes], index=col.index, name=col.name)


def read(data: bytes, file: str, k: Kind, limits: Limits) -> Sheet:
    """Read a report of kind ``k`` (CSV or XLSX, told apart by content, not by name)."""
    check_size(data, file, limits)
    if data.startswith(OLE_MAGIC):
        raise _refuse(file, "là bảng tính Excel cũ (.xls); hãy lưu lại thành .xlsx hoặc CSV UTF-8.",
                      field="format")
    if data.startswith(XLSX_MAGIC):
        frame = pd.DataFrame(_xlsx_rows(data, file, limits)).fillna("").astype(str)
        encoding, converted = "xlsx", False
    else:
        frame, encoding, converted = _csv_frame(data, file, limits)
    if frame.empty:
        raise _refuse(file, "không có dòng nào.", field="rows", value=0)
    frame = frame.apply(lambda col: _per_distinct(col, str.strip))
    top = frame.head(HEADER_SEARCH)
    head_fix, _ = charsets.fix_legacy_text(_cell_counts(top))  # a legacy-encoded header is found too
    top = top.apply(lambda col: col.map(head_fix))
    head = find_header_row(k, top.to_numpy().tolist())
    columns = {key: i for key, i in match_headers(k, top.iloc[head].tolist(), file).items() if key not in NOT_READ}
    body = frame.iloc[head + 1:, list(columns.values())]
    fix, legacy = charsets.fix_legacy_text(_cell_counts(body))
    body = body.apply(lambda col: _per_distinct(col, fix))  # without legacy text: NFC only
    if legacy:
        encoding, converted = f"{encoding}+{legacy}", True
    body.columns = list(columns)
    body.index = pd.RangeIndex(head + 2, head + 2 + len(body), name="row")
    body = body[(body != "").any(axis=1)]
    if len(body) > limits.max_rows:
        raise _refuse(file, f"có {len(body):,} dòng dữ liệu, vượt giới hạn {limits.max_rows:,} dòng.",
                      field="rows", value=len(body), allowed=limits.max_rows)
    if body.empty:
        raise _refuse(file, "không có dòng dữ liệu nào dưới dòng tiêu đề.", field="rows", value=0)
    return Sheet(file, body, columns, encoding, converted)
