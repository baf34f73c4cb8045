"""The official periodic report as a DOCX in the administrative format (Nghị định 30/2020/NĐ-CP).

A4, margins top/bottom 22 mm, left 32 mm, right 17 mm; Times New Roman, body 13 pt, tables 10–11 pt;
Quốc hiệu and Tiêu ngữ, issuing body, number/symbol placeholders, place and date, "Kính gửi", the
sections, the attainment map as a figure, the statistical form, the signature block and "Nơi nhận".
Where LibreOffice (``soffice``) is installed, :func:`to_pdf` converts the document; elsewhere the
PDF is skipped (None).
"""
from __future__ import annotations

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
from docx.oxml.ns import qn
from docx.shared import Mm, Pt

from xkld_geo import export, metrics
from xkld_geo.reporting import completeness
from xkld_geo.reporting.report import ReportData
from xkld_geo.views.problems import PROBLEM_COLUMNS

FONT = "Times New Roman"
BODY_PT = 13
TABLE_PT = 10
QUOC_HIEU = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
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


def _table(doc: DocxDocument, frame: pd.DataFrame, size: int = TABLE_PT) -> None:
    table = doc.add_table(rows=1, cols=len(frame.columns))
    table.style = "Table Grid"
    for cell, name in zip(table.rows[0].cells, frame.columns):
        cell.text = str(name)
    percent = ["%" in str(name) for name in frame.columns]
    for row in frame.itertuples(index=False):
        cells = table.add_row().cells
        for cell, value, is_pct in zip(cells, row, percent):
            cell.text = _cell(value, is_pct)
    for row in table.rows:
        for cell in row.cells:
            for p in cell.paragraphs:
                for run in p.runs:
                    run.font.size, run.font.name = Pt(size), FONT


def _header(doc: DocxDocument, r: ReportData) -> None:
    head = doc.add_table(rows=1, cols=2)
    left, right = head.rows[0].cells
    left.text = f"UBND {r.province_name.upper()}\nSỞ NỘI VỤ\n\nSố: …../BC-SNV"
    right.text = f"{QUOC_HIEU}\n{TIEU_NGU}\n\n{r.province_name}, ngày {r.today.day:02d} tháng {r.today.month:02d} năm {r.today.year}"
    for cell in (left, right):
        for p in cell.paragraphs:
            p.alignment = WD_ALIGN_PARAGRAPH.CENTER
            for run in p.runs:
                run.font.name, run.font.size = FONT, Pt(12 if cell is left else 13)
                run.bold = True
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
               f"{c.on_time} ({_pct(c.on_time_pct)}); {c.due - c.received} báo cáo {completeness.MISSING_TEXT}.")
    doc.add_heading("VII. XÃ/PHƯỜNG CHẬM TIẾN ĐỘ VÀ NGƯỜI PHỤ TRÁCH", level=1)
    _covers(doc, r, year_to_date=True)
    if r.lagging.empty:
        _para(doc, "Không có xã/phường dưới 50% tiến độ.")
    else:
        lag = pd.DataFrame({"Xã/phường": r.lagging["unit_name"], "Đạt tiến độ (%)": r.lagging["pace_pct"],
                            "Phó Chủ tịch phụ trách": r.lagging.get("vice_chair"),
                            "Cán bộ phụ trách": r.lagging.get("officer"), "Điện thoại": r.lagging.get("phone")})
        _table(doc, lag.fillna(""))


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
    new.orientation, new.page_width, new.page_height = WD_ORIENT.LANDSCAPE, Mm(297), Mm(210)
    new.top_margin, new.bottom_margin, new.left_margin, new.right_margin = Mm(22), Mm(22), Mm(32), Mm(17)
    _para(doc, "PHỤ LỤC. BIỂU THỐNG KÊ", bold=True, align=WD_ALIGN_PARAGRAPH.CENTER)
    _para(doc, "Biểu 1. Số người đi làm việc ở nước ngoài theo xã/phường, giới tính, nhóm tuổi, trình độ chuyên môn, "
               f"châu lục và thị trường, {r.period.label}", bold=True, size=12)
    _table(doc, r.form, size=7)


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
