"""Writes the hostile intake corpus: files made to hurt the importer, each with an exact outcome.

Every file is built deterministically (no randomness, no clock), so a test can make it in a
temporary folder; :data:`COMMITTED` lists the small ones (< 100 KB) that are also committed beside
this script for looking at by hand. The big ones (a CSV with a million columns is 4 MB) are only
ever made at test time. The expected outcome of each file is written out in
``tests/test_hostile_intake.py``; against the fictional country of ``tests/conftest.py``
(communes 99001–99006, 98001–98002), reported for February 2026.

Run: ``.venv/bin/python tests/data/hostile/make_hostile.py [folder]`` (default: beside this script,
the committed files only; ``--all`` writes every file).
"""
from __future__ import annotations

import datetime as dt
import io
import itertools
import re
import sys
import zipfile
from pathlib import Path
from typing import Callable

import xlsxwriter

HERE = Path(__file__).resolve().parent
HEADER = ["Tháng", "Mã xã", "Tên xã/phường", "Tỉnh/thành phố", "Thị trường", "Giới tính", "Hình thức",
          "Nhóm ưu tiên", "Số người"]
LINK = "[Đăng nhập lại](http://evil.example/login)"
IMAGE = "![logo](http://evil.example/pixel.png)"
HTML = "<img src=x onerror=alert(1)>"
CREATED = dt.datetime(2026, 1, 1)
HOSTILE_NAME = f"{LINK} {HTML}.csv"
"""A file name that would be a link and an image tag if a page rendered it as Markdown or HTML."""


def fifty_rows() -> list[list[object]]:
    """Fifty distinct, valid departures rows of February 2026 (one person each)."""
    communes = ["99001", "99002", "99003", "99004", "99005", "99006", "98001", "98002"]
    combos = itertools.product(communes, ["JP", "KR", "TW"], ["Nam", "Nữ"], ["EPS", "Doanh nghiệp"])
    return [["02/2026", c, "", "", m, s, ch, "", 1] for c, m, s, ch in itertools.islice(combos, 50)]


def _xlsx(rows: list[list[object]]) -> bytes:
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    book.set_properties({"created": CREATED})       # no clock: the same bytes every time
    sheet = book.add_worksheet("Dữ liệu")
    for r, row in enumerate(rows):
        sheet.write_row(r, 0, row)
    book.close()
    return buffer.getvalue()


def _rezip(data: bytes, replace: dict[str, bytes | Callable[[bytes], bytes]], add: dict[str, bytes] | None = None,
           level: int = 9) -> bytes:
    """``data`` (a zip) with some parts replaced or edited and others added."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED,
                                                                   compresslevel=level) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename in replace:
                new = replace[info.filename]
                body = new(body) if callable(new) else new
            dst.writestr(zipfile.ZipInfo(info.filename, date_time=(2026, 1, 1, 0, 0, 0)), body,
                         compress_type=zipfile.ZIP_DEFLATED, compresslevel=level)
        for name, body in (add or {}).items():
            dst.writestr(zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0)), body,
                         compress_type=zipfile.ZIP_DEFLATED, compresslevel=level)
    return out.getvalue()


def lying_dimension() -> bytes:
    """50 data rows, but the sheet's <dimension> tag says A1:I6 (header and 5 rows)."""
    data = _xlsx([HEADER, *fifty_rows()])
    return _rezip(data, {"xl/worksheets/sheet1.xml": lambda xml: xml.replace(b'<dimension ref="A1:I51"/>',
                                                                              b'<dimension ref="A1:I6"/>')})


def shared_strings_bomb(n: int = 4_000_000) -> bytes:
    """A valid report whose shared strings part unzips to ~70 MB of one-letter strings (packed about
    a thousand times): openpyxl would load every one of them before reading a row."""
    data = _xlsx([HEADER, *fifty_rows()[:2]])
    head = f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst xmlns="http://schemas.' \
           f'openxmlformats.org/spreadsheetml/2006/main" count="{n}" uniqueCount="{n}">'.encode()
    return _rezip(data, {"xl/sharedStrings.xml": head + b"<si><t>x</t></si>" * n + b"</sst>"})


def shared_strings_count() -> bytes:
    """A small file whose shared strings part declares fifty million strings."""
    data = _xlsx([HEADER, *fifty_rows()[:2]])
    return _rezip(data, {"xl/sharedStrings.xml": lambda xml: re.sub(rb'count="\d+"', b'count="50000000"', xml)})


def sheet_bomb(rows: int = 400_000) -> bytes:
    """A worksheet part of ~60 MB of identical rows packed about a thousand times."""
    data = _xlsx([HEADER, *fifty_rows()[:1]])
    row = (b'<row><c t="inlineStr"><is><t>02/2026</t></is></c><c t="inlineStr"><is><t>99001</t></is></c></row>')

    def grow(xml: bytes) -> bytes:
        return xml.replace(b"</sheetData>", row * rows + b"</sheetData>")
    return _rezip(data, {"xl/worksheets/sheet1.xml": grow})


def many_parts(n: int = 2000) -> bytes:
    """An XLSX with two thousand extra (tiny) parts."""
    return _rezip(_xlsx([HEADER, *fifty_rows()[:1]]), {}, {f"xl/media/p{i}.xml": b"<p/>" for i in range(n)})


def wide_xlsx() -> bytes:
    """A header row, then a row with a cell in the last column Excel has (XFD, column 16,384)."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    book.set_properties({"created": CREATED})       # no clock: the same bytes every time
    sheet = book.add_worksheet("Dữ liệu")
    sheet.write_row(0, 0, HEADER)
    sheet.write_row(1, 0, fifty_rows()[0])
    sheet.write(1, 16383, "x")
    book.close()
    return buffer.getvalue()


def duplicate_alias_xlsx() -> bytes:
    """Two columns that both give the count: 'Số người' and its alias 'Số lượng'."""
    return _xlsx([[*HEADER, "Số lượng"], [*fifty_rows()[0], 5]])


def _csv(rows: list[list[object]]) -> bytes:
    return ("\r\n".join(",".join(str(v) for v in row) for row in rows) + "\r\n").encode("utf-8")


def wide_csv(columns: int = 1_000_000) -> bytes:
    """A header of a million columns (~4 MB), then one short row."""
    return b",".join(b"c%d" % (i % 1000) for i in range(columns)) + b"\r\n" + _csv([fifty_rows()[0]])


def wide_row_csv(columns: int = 1_000_000) -> bytes:
    """A proper header and first row, then (past the lines looked at for a header) a row of a million cells."""
    rows = [HEADER] + fifty_rows()[:12]
    return _csv(rows) + b"," * columns + b"\r\n"


def long_cell_csv() -> bytes:
    """Row 3 has a commune name of 5,000 characters."""
    rows = [HEADER, fifty_rows()[0], ["02/2026", "", "Xã " + "A" * 4997, "", "JP", "Nam", "EPS", "", 1]]
    return _csv(rows)


def duplicate_header_csv() -> bytes:
    """The same header twice: 'Số người' in columns I and J."""
    return _csv([[*HEADER, "Số người"], [*fifty_rows()[0], 7]])


def huge_counts_csv() -> bytes:
    """Counts an INTEGER column cannot hold: 99,999,999,999 (row 2), 400 digits (row 3), and two
    rows of 2,000,000,000 whose sum (one key, two spellings of Japan) overflows (rows 5 and 6)."""
    return _csv([HEADER,
                 ["02/2026", "99001", "", "", "JP", "Nam", "EPS", "", "99999999999"],
                 ["02/2026", "99002", "", "", "JP", "Nam", "EPS", "", "9" * 400],
                 ["02/2026", "99003", "", "", "JP", "Nam", "EPS", "", "2"],
                 ["02/2026", "99004", "", "", "JP", "Nam", "EPS", "", "2000000000"],
                 ["02/2026", "99004", "", "", "Nhật Bản", "Nam", "EPS", "", "2000000000"]])


def markdown_header_csv() -> bytes:
    """Header cells carrying a Markdown link, an image and HTML; the required columns are missing,
    so the refusal lists the header cells back."""
    return _csv([["Tháng", "Mã xã", LINK, IMAGE, HTML], ["02/2026", "99001", "a", "b", "c"]])


def markdown_cells_csv() -> bytes:
    """A valid report whose one bad row carries formulas and Markdown into the rejection file, with
    empty cells that must stay empty."""
    return _csv([HEADER, fifty_rows()[0],
                 ["02/2026", "99002", "=HYPERLINK(\"http://evil\")", "", "@SUM(A1)", "+Nam", "-EPS", "", "x"]])


FILES: dict[str, Callable[[], bytes]] = {
    "kich_thuoc_sai.xlsx": lying_dimension,
    "bom_chuoi.xlsx": shared_strings_bomb,
    "dem_chuoi_sai.xlsx": shared_strings_count,
    "bom_trang_tinh.xlsx": sheet_bomb,
    "nhieu_phan.xlsx": many_parts,
    "rong.xlsx": wide_xlsx,
    "cot_trung_ten_khac.xlsx": duplicate_alias_xlsx,
    "rong_trieu_cot.csv": wide_csv,
    "dong_trieu_o.csv": wide_row_csv,
    "o_qua_dai.csv": long_cell_csv,
    "cot_trung.csv": duplicate_header_csv,
    "so_qua_lon.csv": huge_counts_csv,
    "tieu_de_markdown.csv": markdown_header_csv,
    "o_cong_thuc.csv": markdown_cells_csv,
}
"""Every hostile file by name, with the function that makes it."""
XLSX_ROW_LIMIT = 1_048_575
"""Data rows of a sheet at the format's limit (1,048,576 rows, one of them the header)."""


def formula_xlsx(rows: int = XLSX_ROW_LIMIT, cached: bool = True) -> bytes:
    """A departures report with ``rows`` data rows whose counts are formulas (``=1+0``), written part
    by part like a spreadsheet program would (shared strings, one worksheet); with ``cached`` each
    formula carries the value Excel would have saved with it (``<v>1</v>``), without it none.
    At the format's limit it is about 30 MB packed and 200 MB unpacked: every size and packing
    check passes. Made in seconds at run time; never committed."""
    texts = ["Tháng", "Mã xã", "Tên xã/phường", "Tỉnh/thành phố", "Thị trường", "Giới tính", "Hình thức",
             "Nhóm ưu tiên", "Số người", "02/2026", "Nam", "Nữ", "JP", "KR", "TW", "EPS", "Doanh nghiệp"]
    communes = ["99001", "99002", "99003", "99004", "99005", "99006"]
    texts += communes
    index = {t: i for i, t in enumerate(texts)}
    ns = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    rel = 'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'
    out = io.BytesIO()
    stamp = (2026, 1, 1, 0, 0, 0)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        def put(name: str, body: str) -> None:
            z.writestr(zipfile.ZipInfo(name, date_time=stamp), body.encode(), compress_type=zipfile.ZIP_DEFLATED)
        put("[Content_Types].xml", '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.'
            'openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/'
            'vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.'
            'spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/sharedStrings.'
            'xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
            '</Types>')
        put("_rels/.rels", '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
            'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.'
            'openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
            '</Relationships>')
        put("xl/workbook.xml", f'<?xml version="1.0" encoding="UTF-8"?><workbook {ns} {rel}><sheets>'
            '<sheet name="Dữ liệu" sheetId="1" r:id="rId1"/></sheets></workbook>')
        put("xl/_rels/workbook.xml.rels", '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://'
            'schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.'
            'openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
            '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
            'sharedStrings" Target="sharedStrings.xml"/></Relationships>')
        put("xl/sharedStrings.xml", f'<?xml version="1.0" encoding="UTF-8"?><sst {ns} count="{len(texts)}" '
            f'uniqueCount="{len(texts)}">' + "".join(f"<si><t>{t}</t></si>" for t in texts) + "</sst>")
        with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:   # deflated, as the zip
            sheet.write(f'<?xml version="1.0" encoding="UTF-8"?><worksheet {ns}><sheetData>'.encode())
            head = "".join(f'<c r="{col}1" t="s"><v>{index[t]}</v></c>' for col, t in zip("ABCDEFGHI", texts[:9]))
            sheet.write(f'<row r="1">{head}</row>'.encode())
            value = "<v>1</v>" if cached else ""
            combos = [(c, m, x, ch) for c in communes for m in ("JP", "KR", "TW") for x in ("Nam", "Nữ")
                      for ch in ("EPS", "Doanh nghiệp")]
            pieces = [(f'"><v>{index["02/2026"]}</v></c><c r="B{{n}}" t="s"><v>{index[c]}</v></c>'
                       f'<c r="E{{n}}" t="s"><v>{index[m]}</v></c><c r="F{{n}}" t="s"><v>{index[x]}</v></c>'
                       f'<c r="G{{n}}" t="s"><v>{index[ch]}</v></c><c r="I{{n}}"><f>1+0</f>{value}</c></row>')
                      for c, m, x, ch in combos]
            batch: list[str] = []
            for n in range(2, rows + 2):
                batch.append(f'<row r="{n}"><c r="A{n}" t="s' + pieces[n % len(pieces)].replace("{n}", str(n)))
                if len(batch) == 50_000:
                    sheet.write("".join(batch).encode())
                    batch = []
            sheet.write(("".join(batch) + "</sheetData></worksheet>").encode())
    return out.getvalue()


COMMITTED = ("kich_thuoc_sai.xlsx", "dem_chuoi_sai.xlsx", "rong.xlsx", "cot_trung_ten_khac.xlsx", "o_qua_dai.csv",
             "cot_trung.csv", "so_qua_lon.csv", "tieu_de_markdown.csv", "o_cong_thuc.csv")
"""The small files also kept in the repository (each well under 100 KB)."""


def write(folder: Path, names: tuple[str, ...] | None = None) -> dict[str, Path]:
    """Write the named files (default: all) into ``folder``; returns name → path."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name in names or tuple(FILES):
        paths[name] = folder / name
        paths[name].write_bytes(FILES[name]())
    return paths


def main(argv: list[str]) -> None:
    everything = "--all" in argv
    folders = [a for a in argv if not a.startswith("--")]
    write(Path(folders[0]) if folders else HERE, None if everything else COMMITTED)


if __name__ == "__main__":
    main(sys.argv[1:])
