"""The periodic report's layout as an official reads it: the motto on one line, statistical tables
sized by their content (codes and names never broken inside a word), numbers right-aligned and
written vi-VN, header rows repeated on every page, an A3 annex where A4 cannot hold its columns,
and sentences written by people."""
from __future__ import annotations

import datetime as dt
import io
import os
import re
import shutil
import subprocess

import pytest
from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn

from xkld_geo.reporting import document, report

TODAY = dt.date(2026, 3, 15)


def _data(con):
    return report.gather(con, report.parse_period("2025"), "99", TODAY, 5)


def _doc(data) -> Document:
    return Document(io.BytesIO(document.report_docx(data)))


def test_the_motto_fits_its_column_on_one_line(tiny_con) -> None:
    doc = _doc(_data(tiny_con))
    right = doc.tables[0].rows[0].cells[1]
    assert right.paragraphs[0].text == document.QUOC_HIEU
    width = right.width.mm
    assert document._text_mm(document.QUOC_HIEU, document.HEADER_PT, bold=True) + document.CELL_PADDING_MM < width
    assert document.HEADER_LEFT_MM + document.HEADER_RIGHT_MM <= 210 - 32 - 17 + 0.5   # within the text width


def test_statistical_tables_are_sized_by_content_with_repeated_headers(tiny_con) -> None:
    data = _data(tiny_con)
    doc = _doc(data)
    annex = doc.tables[-1]
    header = annex.rows[0]._tr.trPr
    assert header is not None and header.find(qn("w:tblHeader")) is not None     # repeated on every page
    widths = [c.width.mm for c in annex.rows[0].cells]
    assert len(set(round(w, 1) for w in widths)) > 2                              # not 28 equal columns
    code_width, name_width = widths[0], widths[1]
    assert code_width < name_width                                                # codes narrow, names wide
    for row in annex.rows[1:]:
        name = row.cells[1].text
        assert document._text_mm(name, document.ANNEX_PT) + 1 < row.cells[1].width.mm, name
        number = row.cells[3]
        assert number.paragraphs[0].alignment == WD_ALIGN_PARAGRAPH.RIGHT
    section = doc.sections[-1]
    text_width = section.page_width.mm - section.left_margin.mm - section.right_margin.mm
    assert sum(widths) <= text_width + 0.5                                        # A3 when A4 cannot hold it


def test_a_wide_annex_goes_on_a3(tiny_con, monkeypatch) -> None:
    monkeypatch.setattr(document, "A4_LANDSCAPE_TEXT_MM", 10.0)
    doc = _doc(_data(tiny_con))
    last = doc.sections[-1]
    assert round(last.page_width.mm) == 420 and round(last.page_height.mm) == 297


def test_numbers_in_the_document_are_written_vi_vn(tiny_con) -> None:
    doc = _doc(_data(tiny_con))
    text = "\n".join(p.text for p in doc.paragraphs) + "\n".join(c.text for t in doc.tables for r in t.rows
                                                               for c in r.cells)
    assert not re.search(r"\b\d{1,3}(,\d{3})+\b", text)          # no 1,234
    assert not re.search(r"\d\.\d{1,2}(?!\d)", text)             # no 12.5
    assert "báo cáo chưa báo cáo" not in text


@pytest.mark.parametrize("missing, sentence", [(0, "không còn báo cáo nào chưa nhận được."),
                                               (83, "còn 83 báo cáo đến hạn chưa nhận được."),
                                               (1200, "còn 1.200 báo cáo đến hạn chưa nhận được.")])
def test_missing_reports_read_as_a_sentence(missing: int, sentence: str) -> None:
    assert document.missing_sentence(missing) == sentence


def test_no_code_or_name_breaks_inside_a_word_in_the_rendered_pdf(tiny_con, tmp_path) -> None:
    """LibreOffice renders the report; every commune code and name of the annex comes out whole on one line."""
    if shutil.which("soffice") is None or shutil.which("pdftotext") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but LibreOffice or pdftotext is missing")
        pytest.skip("LibreOffice or pdftotext is not installed")
    data = _data(tiny_con)
    pdf = document.to_pdf(document.report_docx(data))
    assert pdf is not None
    (tmp_path / "r.pdf").write_bytes(pdf)
    lines = subprocess.run(["pdftotext", "-layout", str(tmp_path / "r.pdf"), "-"], capture_output=True,
                           check=True, text=True).stdout.splitlines()
    assert any(document.QUOC_HIEU in line for line in lines)                     # the motto on one line
    for code, name in zip(data.form.iloc[:, 0], data.form.iloc[:, 1]):
        if code:
            assert any(code in line and name in line for line in lines), (code, name)
