"""Reading an incoming CSV or XLSX report into a table of text cells, safely.

Files come from communes and companies by hand, so nothing in them is trusted: size, rows, columns
and cell length are bounded, and checked before the expensive parsing wherever that can be done
cheaply (a CSV's lines and delimiters are counted on the raw bytes; an XLSX's zip directory is
inspected for total and per-part unzipped size, packing ratio and number of parts, and its shared
strings are counted, before openpyxl loads anything). Row counts come from the rows actually
present, never from the file's own ``<dimension>`` tag, and an XLSX over ``max_xlsx_rows`` is
refused on a streamed count of its raw rows before it is parsed. Only the data is read (formulas
as the values Excel computed and saved; a formula saved without one is refused with its cell; no
macros, no links followed), the file name is only ever a label (the bytes
are processed in memory, never written anywhere), and the text is turned into Unicode whatever
legacy Vietnamese encoding it was typed in.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from collections import Counter
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

from xkld_geo.errors import IngestError
from xkld_geo.intake import charsets
from xkld_geo.intake.kinds import NOT_READ, Kind, column_label, find_header_row, match_headers
from xkld_geo.settings import Settings
from xkld_geo.text import formats

XLSX_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0"          # the old binary .xls (and .doc) container
HEADER_SEARCH = 10                       # rows looked at to find the header (titles may sit above it)
RATIO_FLOOR = 1_000_000                  # parts smaller than this (unzipped) are never too packed
WORKSHEET_PART = re.compile(r"xl/worksheets/[^/]+\.xml", re.IGNORECASE)
"""Worksheets are streamed row by row; every other part of an XLSX is loaded whole by openpyxl."""
SHARED_COUNT = re.compile(rb"\b(?:uniqueCount|count)\s*=\s*[\"'](\d+)[\"']")
DELIMITERS = (b",", b";", b"\t")


@dataclass(frozen=True)
class Limits:
    """What a file may be: its size, data rows, columns and cell length, and for an XLSX how far
    its zip may expand (in total, per part read whole, by packing ratio), its number of parts and
    of shared strings. The defaults match those of :mod:`xkld_geo.settings`."""

    max_bytes: int
    max_rows: int
    max_columns: int = 200
    max_cell_chars: int = 1000
    max_unzipped_bytes: int = 500_000_000
    max_part_bytes: int = 64_000_000
    max_ratio: float = 100.0
    max_members: int = 500
    max_shared_strings: int = 4_000_000
    max_xlsx_rows: int = 100_000

    @classmethod
    def from_settings(cls, s: Settings) -> "Limits":
        """The limits configured in ``s`` (XKLD_MAX_UPLOAD_MB, XKLD_MAX_IMPORT_ROWS, ...)."""
        return cls(int(s.max_upload_mb * 1_000_000), s.max_import_rows, s.max_import_columns, s.max_cell_chars,
                   int(s.max_unzipped_mb * 1_000_000), int(s.max_xlsx_part_mb * 1_000_000), s.max_zip_ratio,
                   s.max_zip_members, s.max_shared_strings, s.max_xlsx_rows)


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


def _mb(n: float) -> str:
    return f"{n / 1e6:,.1f} MB"


def check_zip(data: bytes, file: str, limits: Limits) -> None:
    """Refuse an XLSX that is not a zip, or whose zip would expand too far (a decompression bomb),
    reading only the zip directory and the first bytes of the shared strings: nothing is unpacked.

    The sizes in the directory cannot lie to the reader: Python's zipfile stops at the declared
    size and then fails the CRC check, so what openpyxl sees is bounded by what is checked here."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
            if len(infos) > limits.max_members:
                raise _refuse(file, f"tệp nén chứa {formats.fmt_int(len(infos))} phần, vượt giới hạn {formats.fmt_int(limits.max_members)} phần "
                                    "(một bảng tính thường có 10–20); tệp có thể bị hỏng hoặc độc hại.",
                              field="zip_members", value=len(infos), allowed=limits.max_members)
            expanded = sum(info.file_size for info in infos)
            if expanded > limits.max_unzipped_bytes:
                raise _refuse(file, f"nội dung giải nén ra {_mb(expanded)}, vượt giới hạn "
                                    f"{_mb(limits.max_unzipped_bytes)}; tệp có thể bị hỏng hoặc độc hại.",
                              field="unzipped_size", value=expanded, allowed=limits.max_unzipped_bytes)
            for info in infos:
                ratio = info.file_size / max(info.compress_size, 1)
                if info.file_size > RATIO_FLOOR and ratio > limits.max_ratio:
                    raise _refuse(file, f"phần {info.filename} nén {ratio:,.0f} lần (giải nén ra {_mb(info.file_size)}), "
                                        f"vượt giới hạn {limits.max_ratio:,.0f} lần: dấu hiệu của tệp nén độc hại.",
                                  field="zip_ratio", value=ratio, allowed=limits.max_ratio, part=info.filename)
                if not WORKSHEET_PART.fullmatch(info.filename) and info.file_size > limits.max_part_bytes:
                    raise _refuse(file, f"phần {info.filename} giải nén ra {_mb(info.file_size)}, vượt giới hạn "
                                        f"{_mb(limits.max_part_bytes)} cho một phần được đọc toàn bộ.",
                                  field="part_size", value=info.file_size, allowed=limits.max_part_bytes,
                                  part=info.filename)
            names = {info.filename for info in infos}
            if "xl/workbook.xml" not in names:
                raise _refuse(file, "không phải bảng tính XLSX (thiếu xl/workbook.xml).", field="format")
            for name in names:
                if name.lower().endswith("sharedstrings.xml"):
                    with archive.open(name) as part:
                        head = part.read(4096)
                    declared = max((int(n) for n in SHARED_COUNT.findall(head)), default=0)
                    if declared > limits.max_shared_strings:
                        raise _refuse(file, f"khai báo {formats.fmt_int(declared)} chuỗi văn bản khác nhau, vượt giới hạn "
                                            f"{formats.fmt_int(limits.max_shared_strings)}; tệp có thể bị hỏng hoặc độc hại.",
                                      field="shared_strings", value=declared, allowed=limits.max_shared_strings)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, NotImplementedError, ValueError) as exc:
        raise _refuse(file, "không phải tệp XLSX hợp lệ (tệp nén bị hỏng).", field="format") from exc


ROW_TAG = re.compile(rb"<row\b([^>]*)>")
ROW_NUMBER = re.compile(rb"\br\s*=\s*[\"'](\d+)")
CELL_REF = re.compile(rb"\br\s*=\s*[\"']([A-Z]+\d+)")
FORMULA_WITHOUT_VALUE = re.compile(rb"(?:</f>|<f\b[^>]*/>)\s*(?:</c>|<v\s*/>|<v>\s*</v>)")
"""The end of a formula cell with no cached value (a file written by a program and never opened in
Excel); the cell's reference is looked up backwards from there."""
SCAN_CHUNK = 4 << 20
MAX_ROW_XML = 32 << 20
"""A single row's XML longer than this is refused (200 columns of 1,000 characters are ~1 MB)."""


def _scan_block(block: bytes, part: str, file: str, state: dict[str, int]) -> None:
    """Count the rows of one block of whole rows (and their highest row number); refuse a formula
    cell that has no cached value."""
    for match in ROW_TAG.finditer(block):
        state["rows"] += 1
        number = ROW_NUMBER.search(match.group(1))
        if number:
            state["last"] = max(state["last"], int(number.group(1)))
    if b"<f" in block:
        bare = FORMULA_WITHOUT_VALUE.search(block)
        if bare:
            start = block.rfind(b"<c", 0, bare.start())
            ref = CELL_REF.search(block, start, block.find(b">", start) + 1) if start >= 0 else None
            cell = ref.group(1).decode() if ref else "?"
            raise _refuse(file, f"ô {cell} là công thức chưa có giá trị đã tính (tệp do một chương trình tạo ra, "
                                "chưa từng mở bằng Excel). Hãy mở tệp bằng Excel rồi lưu lại, hoặc thay công thức "
                                "bằng số.", field=cell, reason="formula_without_value", part=part)


def check_sheet_rows(data: bytes, file: str, limits: Limits) -> int:
    """Count the rows of every worksheet on the raw XML, streamed in chunks (nothing kept but the row
    being scanned), and refuse as soon as one sheet has more than ``max_xlsx_rows`` data rows: a
    sheet at the format's limit (1,048,576 rows) is refused in a second or two, before openpyxl
    reads a cell. A row number written on a later row counts the rows it skips (openpyxl makes them
    up). Formula cells are read as the value Excel computed and saved with them; a formula saved
    without one is refused with its cell (:func:`_scan_block`). Returns the most rows of a sheet."""
    most = 0
    allowed = limits.max_xlsx_rows + HEADER_SEARCH
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for info in archive.infolist():
            if not WORKSHEET_PART.fullmatch(info.filename):
                continue
            state = {"rows": 0, "last": 0}
            carry = b""
            with archive.open(info) as part:
                while True:
                    chunk = part.read(SCAN_CHUNK)
                    buffer = carry + chunk
                    cut = len(buffer)                         # the end of the part: everything left
                    if chunk:                                 # else up to the last whole row
                        end = buffer.rfind(b"</row>")
                        cut = end + len(b"</row>") if end >= 0 else 0
                    _scan_block(buffer[:cut], info.filename, file, state)
                    carry = buffer[cut:]
                    if max(state["rows"], state["last"]) > allowed:
                        raise _refuse(file, f"bảng tính có hơn {formats.fmt_int(limits.max_xlsx_rows)} dòng, vượt giới hạn "
                                            f"{formats.fmt_int(limits.max_xlsx_rows)} dòng của một tệp XLSX (thiết lập "
                                            "XKLD_MAX_XLSX_ROWS). Hãy lưu thành CSV UTF-8 (được đến "
                                            f"{formats.fmt_int(limits.max_rows)} dòng) hoặc chia thành nhiều tệp.",
                                      field="rows", value=max(state["rows"], state["last"]) - HEADER_SEARCH,
                                      allowed=limits.max_xlsx_rows, reason="xlsx_rows", part=info.filename)
                    if len(carry) > MAX_ROW_XML:
                        raise _refuse(file, f"một dòng của {info.filename} dài hơn {_mb(MAX_ROW_XML)}; tệp có thể "
                                            "bị hỏng hoặc độc hại.", field="row_size", part=info.filename)
                    if not chunk:
                        break
            most = max(most, state["rows"], state["last"])
    return most


ROWS_STEP = 2000
"""Rows read between two calls of a reader's ``on_rows`` (the import page's live counter)."""


def _xlsx_rows(data: bytes, file: str, limits: Limits,
               on_rows: Callable[[int, int | None], None] | None = None) -> list[list[str]]:
    """Every row of the first data sheet as text (refusing zip bombs and oversized sheets first).

    The rows are counted as they come: ``reset_dimensions`` makes openpyxl ignore the sheet's
    ``<dimension>`` tag, which a program (or a person) may have written wrong and which read-only
    openpyxl otherwise trusts, silently dropping the rows below it."""
    from openpyxl import load_workbook

    check_zip(data, file, limits)
    try:
        total: int | None = check_sheet_rows(data, file, limits)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, NotImplementedError, ValueError) as exc:
        raise _refuse(file, "không phải tệp XLSX hợp lệ (tệp nén bị hỏng).", field="format") from exc
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True, keep_links=False)
    except Exception as exc:  # openpyxl raises many kinds for malformed files
        raise _refuse(file, f"không đọc được bảng tính ({type(exc).__name__}).", field="format") from exc
    try:
        sheet = book["Dữ liệu"] if "Dữ liệu" in book.sheetnames else book.worksheets[0]
        sheet.reset_dimensions()
        rows: list[list[str]] = []
        for values in sheet.iter_rows(values_only=True):
            if len(values) > limits.max_columns:
                raise _refuse(file, f"dòng {len(rows) + 1} có {formats.fmt_int(len(values))} cột, vượt giới hạn "
                                    f"{formats.fmt_int(limits.max_columns)} cột.", row=len(rows) + 1, field="columns",
                              value=len(values), allowed=limits.max_columns)
            rows.append([_cell_text(v) for v in values])
            if on_rows is not None and len(rows) % ROWS_STEP == 0:
                on_rows(len(rows), total)
            if len(rows) > limits.max_rows + HEADER_SEARCH:
                raise _refuse(file, f"vượt giới hạn {formats.fmt_int(limits.max_rows)} dòng.", field="rows",
                              allowed=limits.max_rows)
        return rows
    except IngestError:
        raise
    except Exception as exc:  # a part that fails its CRC or its XML half-way through the sheet
        raise _refuse(file, f"không đọc được bảng tính ({type(exc).__name__}).", field="format") from exc
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


def check_csv_shape(data: bytes, file: str, limits: Limits) -> None:
    """Refuse a CSV with too many lines, columns or too long a line, on the raw bytes, before it
    is decoded or parsed (a million delimiters in the header would otherwise become a million
    columns, each handled one by one)."""
    breaks = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == ord("\n"))
    if len(breaks) > limits.max_rows + HEADER_SEARCH:
        raise _refuse(file, f"có hơn {formats.fmt_int(limits.max_rows)} dòng, vượt giới hạn.", field="rows",
                      allowed=limits.max_rows)
    if not len(breaks):  # one line, or old Mac line ends
        breaks = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == ord("\r"))
    end = int(breaks[HEADER_SEARCH]) if len(breaks) > HEADER_SEARCH else len(data)
    for number, line in enumerate(data[:end].split(b"\n"), start=1):
        columns = max(line.count(d) for d in DELIMITERS) + 1
        if columns > limits.max_columns:
            raise _refuse(file, f"dòng {number} có {formats.fmt_int(columns)} cột, vượt giới hạn {formats.fmt_int(limits.max_columns)} cột.",
                          row=number, field="columns", value=columns, allowed=limits.max_columns)
    starts = np.concatenate(([-1], breaks, [len(data)]))
    lengths = np.diff(starts) - 1
    longest = int(lengths.argmax())
    allowed = limits.max_columns * (limits.max_cell_chars + 3) * 4   # 4: bytes of a character, at most
    if lengths[longest] > allowed:
        raise _refuse(file, f"dòng {longest + 1} dài {formats.fmt_int(int(lengths[longest]))} byte, vượt giới hạn {formats.fmt_int(allowed)} byte.",
                      row=longest + 1, field="line_length", value=int(lengths[longest]), allowed=allowed)


def _csv_frame(data: bytes, file: str, limits: Limits) -> tuple[pd.DataFrame, str, bool]:
    """The CSV's cells as text (no header interpretation yet), its encoding and conversion flag."""
    check_csv_shape(data, file, limits)
    decoded = charsets.decode_bytes(data, file, cells_later=True)  # legacy text and NFC: per cell, in read()
    try:
        frame = pd.read_csv(io.StringIO(decoded.text), sep=_delimiter(decoded.text[:20000]), header=None,
                            dtype=str, keep_default_na=False, skip_blank_lines=False, quoting=csv.QUOTE_MINIMAL,
                            engine="c")
    except (pd.errors.ParserError, ValueError) as exc:
        raise _refuse(file, f"không đọc được dạng CSV: {str(exc)[:200]}", field="format") from exc
    if frame.shape[1] > limits.max_columns:  # a delimiter the byte count above did not see (UTF-16)
        raise _refuse(file, f"có {formats.fmt_int(frame.shape[1])} cột, vượt giới hạn {formats.fmt_int(limits.max_columns)} cột.",
                      field="columns", value=frame.shape[1], allowed=limits.max_columns)
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


def _stripped(col: pd.Series, file: str, limits: Limits) -> pd.Series:
    """A column's cells without surrounding spaces; a cell over the length limit refuses the file
    (checked once per distinct cell)."""
    codes, uniques = pd.factorize(col, use_na_sentinel=False)
    cleaned = np.asarray([str(v).strip() for v in uniques], dtype=object)
    lengths = np.fromiter(map(len, cleaned), dtype=np.int64, count=len(cleaned))
    if len(lengths) and lengths.max() > limits.max_cell_chars:
        at = int(np.flatnonzero(lengths[codes] > limits.max_cell_chars)[0])
        row, column = int(col.index[at]) + 1, column_label(int(col.name))
        raise _refuse(file, f"ô {column}{row} dài {formats.fmt_int(int(lengths[codes[at]]))} ký tự, vượt giới hạn "
                            f"{formats.fmt_int(limits.max_cell_chars)} ký tự.", row=row, field=column,
                      value=int(lengths[codes[at]]), allowed=limits.max_cell_chars)
    return pd.Series(cleaned[codes], index=col.index, name=col.name)


def read(data: bytes, file: str, k: Kind, limits: Limits,
         on_rows: Callable[[int, int | None], None] | None = None) -> Sheet:
    """Read a report of kind ``k`` (CSV or XLSX, told apart by content, not by name); ``on_rows``
    is told the rows read so far (and the sheet's row count when known) every :data:`ROWS_STEP`
    rows of an XLSX and once at the end."""
    check_size(data, file, limits)
    if data.startswith(OLE_MAGIC):
        raise _refuse(file, "là bảng tính Excel cũ (.xls); hãy lưu lại thành .xlsx hoặc CSV UTF-8.",
                      field="format")
    if data.startswith(XLSX_MAGIC):
        frame = pd.DataFrame(_xlsx_rows(data, file, limits, on_rows)).fillna("").astype(str)
        encoding, converted = "xlsx", False
    else:
        frame, encoding, converted = _csv_frame(data, file, limits)
    if frame.empty:
        raise _refuse(file, "không có dòng nào.", field="rows", value=0)
    if on_rows is not None:
        on_rows(len(frame), len(frame))
    frame = frame.apply(lambda col: _stripped(col, file, limits))
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
        raise _refuse(file, f"có {formats.fmt_int(len(body))} dòng dữ liệu, vượt giới hạn {formats.fmt_int(limits.max_rows)} dòng.",
                      field="rows", value=len(body), allowed=limits.max_rows)
    if body.empty:
        raise _refuse(file, "không có dòng dữ liệu nào dưới dòng tiêu đề.", field="rows", value=0)
    return Sheet(file, body, columns, encoding, converted)
