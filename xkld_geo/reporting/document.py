"""The official periodic report as a DOCX in the administrative format (Nghị định 30/2020/NĐ-CP).

A4, margins top/bottom 22 mm, left 32 mm, right 17 mm; Times New Roman, body 13 pt, tables 10–11 pt;
Quốc hiệu and Tiêu ngữ, issuing body, number/symbol placeholders, place and date, "Kính gửi", the
sections, the attainment map as a figure, the statistical form, the signature block and "Nơi nhận".
Where LibreOffice (``soffice``) is installed, :func:`to_pdf` converts the document; elsewhere the
PDF is skipped (None).
"""
from __future__ import annotations

import functools
import io
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd
from docx import Document
from docx.document import Document as DocxDocument
from docx.enum.section import WD_ORIENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt

from xkld_geo.figures import export, metrics
from xkld_geo.reporting.report import ReportData
from xkld_geo.text import formats
from xkld_geo.views.problems import PROBLEM_COLUMNS

FONT = "Times New Roman"
PT_MM = 25.4 / 72
CELL_PADDING_MM = 4.4
"""A cell's left and right margins (0,08 inch each in Word's "Table Grid") and a little air."""
SERIF_FONTS = {False: ("/usr/share/fonts/truetype/liberation2/LiberationSerif-Regular.ttf",
                       "/usr/share/fonts/truetype/liberation/LiberationSerif-Regular.ttf"),
               True: ("/usr/share/fonts/truetype/liberation2/LiberationSerif-Bold.ttf",
                      "/usr/share/fonts/truetype/liberation/LiberationSerif-Bold.ttf")}
A4_LANDSCAPE_TEXT_MM = 297 - 32 - 17
"""The text width of an A4 landscape page with the decree's margins; a wider annex goes on A3."""
BODY_PT = 13
TABLE_PT = 10
ANNEX_PT = 8
QUOC_HIEU = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
HEADER_PT = 12
"""Quốc hiệu and the issuing body in 12 pt bold capitals (Nghị định 30/2020, Phụ lục I)."""
HEADER_LEFT_MM, HEADER_RIGHT_MM = 62.0, 99.0
"""The header table's columns (161 mm of text width): the motto, 12 pt bold, needs about 90 mm."""
TIEU_NGU = "Độc lập - Tự do - Hạnh phúc"


def _range(h: Any) -> str:
    """', khoảng 80%: 145.000–156.000' where the forecast has a range, else nothing."""
    return "" if h.projected_low is None else f", khoảng 80%: {_n(h.projected_low)}–{_n(h.projected_high)}"


def _n(value: Any) -> str:
    return "–" if value is None or pd.isna(value) else metrics.fmt_int(value)


def _pct(value: Any) -> str:
    return "–" if value is None or pd.isna(value) else metrics.fmt_pct(float(value))


def _cell(value: Any, percent: bool) -> str:
    """A table cell: text as is; a percentage always with one decimal (0,0 like 87,5), half up;
    a whole number with thousands dots; a missing value as a dash."""
    if isinstance(value, str):
        return value
    if value is None or pd.isna(value):
        return "–"
    if percent or (isinstance(value, float) and not float(value).is_integer()):
        return metrics.fmt_decimal(float(value), 1)
    return _n(value)


def _covers(doc: DocxDocument, r: ReportData, year_to_date: bool = False) -> None:
    """The months a section's figures cover, said under its heading (no silent mixing of periods)."""
    _para(doc, f"Số liệu: {r.span(year_to_date)}" + (" (lũy kế từ đầu năm)." if year_to_date else "."),
          italic=True, size=12)


def _style(doc: DocxDocument) -> None:
    normal = doc.styles["Normal"]
    normal.font.name, normal.font.size = FONT, Pt(BODY_PT)
    normal.element.rPr.rFonts.set(qn("w:eastAsia"), FONT)
    for name in ("Heading 1", "Heading 2"):
        st = doc.styles[name]
        st.font.name, st.font.size, st.font.bold = FONT, Pt(BODY_PT), True
        st.font.color.rgb = None
        fonts = st.element.rPr.rFonts
        for theme in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
            fonts.attrib.pop(qn(theme), None)   # a theme font would win over Times New Roman
        for slot in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
            fonts.set(qn(slot), FONT)
    section = doc.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.orientation = WD_ORIENT.PORTRAIT
    section.top_margin, section.bottom_margin = Mm(22), Mm(22)
    section.left_margin, section.right_margin = Mm(32), Mm(17)


def _para(doc: DocxDocument, text: str, bold: bool = False, italic: bool = False, size: int = BODY_PT,
          align: Any = None) -> None:
    p = doc.add_paragraph()
    run = p.add_run(text)
    run.bold, run.italic, run.font.size, run.font.name = bold, italic, Pt(size), FONT
    if align is not None:
        p.alignment = align


def _cell_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, float) and not pd.isna(value) and not float(value).is_integer():
        return formats.fmt_dec(value, 1)
    return _n(value)


def _text_mm(text: str, size: float, bold: bool = False) -> float:
    """The printed width of ``text`` in Times New Roman (Liberation Serif has the same metrics)."""
    font = _font(round(size * 10), bold)
    if font is None:
        return len(text) * size * 0.5 * PT_MM
    return float(font.getlength(text)) / 10 * PT_MM


@functools.cache
def _font(tenths: int, bold: bool) -> Any:
    from PIL import ImageFont
    for path in SERIF_FONTS[bold]:
        if Path(path).exists():
            return ImageFont.truetype(path, tenths)
    return None


def column_widths(frame: pd.DataFrame, texts: list[list[str]], size: float) -> list[float]:
    """Each column's width in mm, sized by its content: the longest cell on one line (codes and
    names never break inside a word) and the header's longest word (headers wrap between words)."""
    widths = []
    for i, name in enumerate(frame.columns):
        body = max((_text_mm(row[i], size) for row in texts), default=0.0)
        head = max((_text_mm(word, size, bold=True) for word in str(name).split()), default=0.0)
        widths.append(max(body, head) + CELL_PADDING_MM)
    return widths


def _repeat_header(row: Any) -> None:
    """Mark a table's first row as its header, repeated at the top of every page."""
    properties = row._tr.get_or_add_trPr()
    for tag in ("w:tblHeader", "w:cantSplit"):
        element = OxmlElement(tag)
        element.set(qn("w:val"), "true")
        properties.append(element)


def _table(doc: DocxDocument, frame: pd.DataFrame, size: float = TABLE_PT) -> float:
    """``frame`` as a table: columns as wide as their content, numbers right-aligned, the header
    row repeated on every page and never split. Returns the table's width in mm."""
    percent = ["%" in str(name) for name in frame.columns]   # percentages always with one decimal (0,0)
    texts = [[_cell(v, is_pct) for v, is_pct in zip(row, percent)] for row in frame.itertuples(index=False)]
    widths = column_widths(frame, texts, size)
    numeric = [frame[c].dtype.kind in "iuf" for c in frame.columns]
    table = doc.add_table(rows=1, cols=len(frame.columns))
    table.style = "Table Grid"
    table.autofit = False
    for cell, name in zip(table.rows[0].cells, frame.columns):
        cell.text = str(name)
        for run in cell.paragraphs[0].runs:
            run.bold = True
        cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
    _repeat_header(table.rows[0])
    for row in texts:
        cells = table.add_row().cells
        for cell, text, right in zip(cells, row, numeric):
            cell.text = text
            if right:
                cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.RIGHT
    set_widths(table, widths)
    for row in table.rows:
        for cell in row.cells:
            for p in cell.paragraphs:
                for run in p.runs:
                    run.font.size, run.font.name = Pt(size), FONT
    return sum(widths)


def set_widths(table: Any, widths: list[float]) -> None:
    """Fixed column widths in mm, written where Word reads them (each cell) and where LibreOffice
    does (the table's grid), with a fixed layout so neither stretches a column to its text."""
    properties = table._tbl.tblPr
    layout = OxmlElement("w:tblLayout")
    layout.set(qn("w:type"), "fixed")
    properties.append(layout)
    for column, width in zip(table.columns, widths):
        column.width = Mm(width)
    for row in table.rows:
        for cell, width in zip(row.cells, widths):
            cell.width = Mm(width)


def _lines(cell: Any, lines: list[tuple[str, float, bool, bool]]) -> None:
    """One centred paragraph per (text, size, bold, italic) in ``cell``."""
    for i, (text, size, bold, italic) in enumerate(lines):
        p = cell.paragraphs[0] if i == 0 else cell.add_paragraph()
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        run = p.add_run(text)
        run.font.name, run.font.size, run.bold, run.italic = FONT, Pt(size), bold, italic


def _header(doc: DocxDocument, r: ReportData) -> None:
    head = doc.add_table(rows=1, cols=2)
    head.autofit = False
    left, right = head.rows[0].cells
    set_widths(head, [HEADER_LEFT_MM, HEADER_RIGHT_MM])   # the motto's column holds it on one line
    place = f"{r.province_name}, ngày {r.today.day:02d} tháng {r.today.month:02d} năm {r.today.year}"
    _lines(left, [(f"UBND {r.province_name.upper()}", HEADER_PT, True, False), ("SỞ NỘI VỤ", HEADER_PT, True, False),
                  ("", HEADER_PT, False, False), ("Số: …../BC-SNV", BODY_PT, False, False)])
    _lines(right, [(QUOC_HIEU, HEADER_PT, True, False), (TIEU_NGU, BODY_PT, True, False),
                   ("", BODY_PT, False, False), (place, BODY_PT, False, True)])
    _para(doc, "BÁO CÁO", bold=True, align=WD_ALIGN_PARAGRAPH.CENTER)
    _para(doc, f"Kết quả thực hiện chỉ tiêu đưa người lao động đi làm việc ở nước ngoài theo hợp đồng, {r.period.label}",
          bold=True, align=WD_ALIGN_PARAGRAPH.CENTER)
    _para(doc, "Kính gửi: Bộ Nội vụ (Cục Quản lý lao động ngoài nước).", align=WD_ALIGN_PARAGRAPH.CENTER)
    if r.demo:
        _para(doc, "DỮ LIỆU MINH HỌA: báo cáo lập trên dữ liệu minh họa, không phải số liệu thật.", bold=True, italic=True)
    _para(doc, r.window_note + ".", italic=True)
    if r.approval_note:
        _para(doc, r.approval_note, italic=True)


def _sections(doc: DocxDocument, r: ReportData) -> None:
    h, t = r.headline, r.totals
    doc.add_heading("I. KẾT QUẢ THỰC HIỆN SO VỚI CHỈ TIÊU", level=1)
    _para(doc, f"Số liệu: trong kỳ {r.span()}; lũy kế {r.span(True)}.", italic=True, size=12)
    _para(doc, f"Trong {r.period.label}, toàn tỉnh đưa {_n(t['period'])} người lao động đi làm việc ở nước ngoài; "
               f"lũy kế từ đầu năm {_n(t['ytd'])} người, đạt {_pct(h.attainment_pct)} chỉ tiêu năm ({_n(t['quota'])} người).")
    table = r.communes.rename(columns={"unit_code": "Mã", "unit_name": "Xã/phường", "quota": "Chỉ tiêu năm",
                                       "period": "Trong kỳ", "ytd": "Lũy kế năm", "attainment_pct": "Đạt CT (%)",
                                       "pace_pct": "Đạt tiến độ (%)"})
    total = pd.DataFrame([["", "Tổng cộng", t["quota"], t["period"], t["ytd"], h.attainment_pct, h.pace_pct]],
                         columns=table.columns)
    _para(doc, "Bảng 1. Kết quả theo xã/phường", bold=True, size=12)
    _table(doc, pd.concat([table, total], ignore_index=True))
    doc.add_heading("II. TIẾN ĐỘ VÀ DỰ BÁO", level=1)
    _covers(doc, r, year_to_date=True)
    _para(doc, f"Tiến độ đạt {_pct(h.pace_pct)} so với số cần đạt đến nay (chỉ tiêu × số tháng đã qua / 12). "
               f"Dự báo cả năm {_n(h.projected)} người{_range(h)} ({_pct(h.projected_pct)} chỉ tiêu). {h.projection_note} "
               f"Có {h.communes_below_50}/{h.communes} xã/phường dưới 50% tiến độ.")
    png = export.map_png(r.overview_view.map_spec, f"{r.province_name}: đạt tiến độ chỉ tiêu")
    doc.add_picture(io.BytesIO(png), width=Mm(150))
    _para(doc, "Hình 1. Bản đồ tỷ lệ đạt tiến độ chỉ tiêu theo xã/phường", italic=True, size=12,
          align=WD_ALIGN_PARAGRAPH.CENTER)
    doc.add_heading("III. ĐỐI TƯỢNG ƯU TIÊN VÀ THỊ TRƯỜNG", level=1)
    _covers(doc, r)
    _table(doc, r.priority[["Nhóm", "departures", "Tỷ lệ (%)"]].rename(columns={"departures": "Số người"}))
    _para(doc, "")
    _table(doc, r.markets[["Thị trường", "Châu lục", "departures", "Tỷ lệ (%)"]].rename(columns={"departures": "Số người"}))
    doc.add_heading("IV. SÀN GIAO DỊCH VIỆC LÀM", level=1)
    fair_last = int(str(r.jobfairs.get("last") or 0))
    _para(doc, (f"Số liệu: {r.span(True, fair_last)} (lũy kế từ đầu năm, các tháng đã đến hạn báo cáo)." if fair_last
                else "Số liệu: chưa có tháng nào đến hạn báo cáo sàn giao dịch việc làm."), italic=True, size=12)
    f = r.jobfairs
    _para(doc, f"Lượt xã-tháng đạt ít nhất 4 người dự sàn: {f['met']}/{f['elapsed']} ({_pct(f['pct'])}); "
               f"{_n(f['attendees'])} lượt dự sàn, {_n(f['registrations'])} đăng ký học định hướng; "
               f"{f['missed_two']} xã hai tháng liền không đạt.")
    doc.add_heading("V. VAY VỐN, VỀ NƯỚC, VI PHẠM", level=1)
    _covers(doc, r, year_to_date=True)
    sums = r.problems[list(PROBLEM_COLUMNS)].sum()
    _para(doc, "; ".join(f"{label}: {_n(sums[key]) if key != 'loan_amount_mvnd' else metrics.fmt_int(round(sums[key]))}"
                         for key, label in PROBLEM_COLUMNS.items()) + " (lũy kế từ đầu năm).")
    doc.add_heading("VI. TÌNH HÌNH BÁO CÁO CỦA CÁC XÃ", level=1)
    _covers(doc, r)
    c = r.completeness
    _para(doc, f"Đã nhận {c.received}/{c.due} báo cáo tháng đến hạn ({_pct(c.received_pct)}); đúng hạn "
               f"{c.on_time} ({_pct(c.on_time_pct)}); {missing_sentence(c.due - c.received)}")
    doc.add_heading("VII. XÃ/PHƯỜNG CHẬM TIẾN ĐỘ VÀ NGƯỜI PHỤ TRÁCH", level=1)
    _covers(doc, r, year_to_date=True)
    if r.lagging.empty:
        _para(doc, "Không có xã/phường dưới 50% tiến độ.")
    else:
        lag = pd.DataFrame({"Xã/phường": r.lagging["unit_name"], "Đạt tiến độ (%)": r.lagging["pace_pct"],
                            "Phó Chủ tịch phụ trách": r.lagging.get("vice_chair"),
                            "Cán bộ phụ trách": r.lagging.get("officer"), "Điện thoại": r.lagging.get("phone")})
        _table(doc, lag.fillna(""))


def missing_sentence(missing: int) -> str:
    """The reports not received, as a person writes it (not "83 báo cáo chưa báo cáo")."""
    if missing <= 0:
        return "không còn báo cáo nào chưa nhận được."
    return f"còn {formats.fmt_int(missing)} báo cáo đến hạn chưa nhận được."


def _closing(doc: DocxDocument, r: ReportData) -> None:
    sign = doc.add_table(rows=1, cols=2)
    left, right = sign.rows[0].cells
    left.text = "Nơi nhận:\n- Như trên;\n- UBND tỉnh (để b/c);\n- Lưu: VT."
    right.text = "GIÁM ĐỐC\n\n\n\n(Ký, ghi rõ họ tên)"
    for p in right.paragraphs:
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    for cell in (left, right):
        for p in cell.paragraphs:
            for run in p.runs:
                run.font.name, run.font.size = FONT, Pt(11 if cell is left else BODY_PT)
                run.bold = cell is right


def _annex(doc: DocxDocument, r: ReportData) -> None:
    """The statistical form (rows communes), on landscape pages after the signature."""
    new = doc.add_section()
    texts = [[_cell_text(v) for v in row] for row in r.form.itertuples(index=False)]
    wide = sum(column_widths(r.form, texts, ANNEX_PT)) > A4_LANDSCAPE_TEXT_MM
    width, height = (Mm(420), Mm(297)) if wide else (Mm(297), Mm(210))   # A3 where A4 cannot hold the columns
    new.orientation, new.page_width, new.page_height = WD_ORIENT.LANDSCAPE, width, height
    new.top_margin, new.bottom_margin, new.left_margin, new.right_margin = Mm(22), Mm(22), Mm(32), Mm(17)
    _para(doc, "PHỤ LỤC. BIỂU THỐNG KÊ", bold=True, align=WD_ALIGN_PARAGRAPH.CENTER)
    _para(doc, "Biểu 1. Số người đi làm việc ở nước ngoài theo xã/phường, giới tính, nhóm tuổi, trình độ chuyên môn, "
               f"châu lục và thị trường, {r.period.label}", bold=True, size=12)
    _table(doc, r.form, size=ANNEX_PT)


def report_docx(r: ReportData) -> bytes:
    """The report of ``r`` as DOCX bytes."""
    doc = Document()
    _style(doc)
    _header(doc, r)
    _sections(doc, r)
    _closing(doc, r)
    _annex(doc, r)
    buffer = io.BytesIO()
    doc.save(buffer)
    return buffer.getvalue()


def to_pdf(docx: bytes, timeout_s: float = 120) -> bytes | None:
    """The DOCX converted to PDF by LibreOffice, or None where ``soffice`` is not installed."""
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "bao-cao.docx"
        src.write_bytes(docx)
        subprocess.run([soffice, "--headless", "--convert-to", "pdf", "--outdir", tmp, str(src)],
                       check=True, capture_output=True, timeout=timeout_s)
        out = src.with_suffix(".pdf")
        return out.read_bytes() if out.exists() else None
