"""The official periodic report: DOCX layout, totals consistent with v_attainment, no report of zeros."""
from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from docx import Document

from tests.conftest import run_page
from xkld_geo import cli
from xkld_geo.reporting import document, report
from xkld_geo.settings import Settings

TODAY = dt.date(2026, 3, 15)


def _doc(con, period: str = "2025", province: str = "99") -> tuple[report.ReportData, Document]:
    data = report.gather(con, report.parse_period(period), province, TODAY, 5)
    return data, Document(io.BytesIO(document.report_docx(data)))


def test_docx_layout_follows_decree_30(tiny_con) -> None:
    _, doc = _doc(tiny_con)
    s = doc.sections[0]
    assert round(s.page_width.mm) == 210 and round(s.page_height.mm) == 297
    assert 20 <= s.top_margin.mm <= 25 and 20 <= s.bottom_margin.mm <= 25
    assert 30 <= s.left_margin.mm <= 35 and 15 <= s.right_margin.mm <= 20
    normal = doc.styles["Normal"].font
    assert normal.name == "Times New Roman" and 13 <= normal.size.pt <= 14
    text = "\n".join(c.text for t in doc.tables for r in t.rows for c in r.cells) + \
        "\n".join(p.text for p in doc.paragraphs)
    for needed in ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc", "Số: …../BC-SNV",
                   "Kính gửi", "Nơi nhận", "ngày 15 tháng 03 năm 2026", "15/12"):
        assert needed in text
    assert doc.inline_shapes and len(doc.inline_shapes) == 1       # the attainment map


def test_commune_table_totals_equal_v_attainment(tiny_con) -> None:
    data, doc = _doc(tiny_con)
    quota, departures = tiny_con.execute("SELECT quota, departures FROM v_attainment WHERE year = 2025 AND "
                                         "unit_code = '99' AND unit_level = 'province'").fetchone()
    table = next(t for t in doc.tables if len(t.columns) > 2 and t.rows[0].cells[2].text == "Chỉ tiêu năm")
    total = table.rows[-1].cells
    assert total[1].text == "Tổng cộng"
    assert int(total[2].text.replace(".", "")) == quota and int(total[4].text.replace(".", "")) == departures
    assert sum(int(r.cells[4].text.replace(".", "")) for r in table.rows[1:-1]) == departures
    form = data.form
    assert form["Tổng số"].iloc[-1] == departures == form["Nam"].iloc[-1] + form["Nữ"].iloc[-1]
    ages = [c for c in form.columns if "tuổi" in c]
    assert form[ages].iloc[-1].sum() == departures


@pytest.mark.parametrize("period, kind, first, last", [("2026-11", "month", 11, 11), ("2026-Q3", "quarter", 7, 9),
                                                       ("2026-H1", "half", 1, 6), ("2026", "year", 1, 12)])
def test_periods_parse(period: str, kind: str, first: int, last: int) -> None:
    p = report.parse_period(period)
    assert (p.kind, p.first, p.last) == (kind, first, last)


@pytest.mark.parametrize("period", ["2026-13", "2026-Q5", "26", "x"])
def test_bad_periods_are_refused(period: str) -> None:
    with pytest.raises(report.ReportError):
        report.parse_period(period)


def test_a_period_without_data_makes_no_document(tiny_con) -> None:
    with pytest.raises(report.ReportError) as caught:
        report.gather(tiny_con, report.parse_period("2019-Q1"), "99", TODAY, 5)
    assert caught.value.details["reason"] == "no_data" and "không lập báo cáo" in caught.value.message


def test_cli_writes_the_docx(tiny_db: Settings, tmp_path, monkeypatch) -> None:
    for key, value in (("XKLD_DB", tiny_db.db_path), ("XKLD_TODAY", TODAY.isoformat()),
                       ("XKLD_DATA_DIR", tiny_db.data_dir)):
        monkeypatch.setenv(key, str(value))
    out = tmp_path / "bc.docx"
    assert cli.main(["report", "--period", "2026-Q1", "--province", "99", "--out", str(out)]) == 0
    assert "CỘNG HÒA" in Document(str(out)).tables[0].rows[0].cells[1].text
    assert cli.main(["report", "--period", "2019", "--province", "99", "--out", str(tmp_path / "x.docx")]) == 2
    assert not (tmp_path / "x.docx").exists()


def test_report_page_makes_a_download(app_env: Settings) -> None:
    at = run_page("pages/12_Bao_cao_dinh_ky.py")
    at.selectbox(key="report_province").set_value("99")
    at.radio(key="report_kind").set_value("year")
    at.selectbox(key="report_year").set_value(2025)
    at.button(key="report_make").click().run()
    assert not at.exception and not at.error and at.success


def test_the_report_renders_to_pdf_with_libreoffice(tiny_con) -> None:
    """Where LibreOffice is installed (scripts/test.sh installs it), the same report comes out as an
    A4 PDF; under CI=true a missing LibreOffice is a failure, not a skip."""
    import os
    import shutil

    if shutil.which("soffice") is None and shutil.which("libreoffice") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but LibreOffice (soffice) is missing: scripts/ensure_office.sh installs it")
        pytest.skip("LibreOffice (soffice) is not installed")
    data = report.gather(tiny_con, report.parse_period("2025"), "99", dt.date(2026, 3, 15), 5)
    pdf = document.to_pdf(document.report_docx(data))
    assert pdf is not None and pdf[:5] == b"%PDF-"
    assert b"/MediaBox [0 0 595" in pdf or b"/MediaBox[0 0 595" in pdf   # A4: 595 × 842 points


def _following(doc, heading: str) -> str:
    """The paragraph right after a section heading."""
    paragraphs = [p.text for p in doc.paragraphs]
    return paragraphs[next(i for i, t in enumerate(paragraphs) if t.startswith(heading)) + 1]


def test_each_section_says_which_months_it_covers(tiny_con) -> None:
    # October 2025 of the fixture: sections on the month say October, year-to-date ones January–October
    data, doc = _doc(tiny_con, "2025-10")
    assert _following(doc, "I. ") == "Số liệu: trong kỳ tháng 10/2025; lũy kế tháng 1–10/2025."
    for heading in ("III. ", "VI. "):
        assert _following(doc, heading) == "Số liệu: tháng 10/2025.", heading
    for heading in ("II. ", "V. ", "VII. "):
        assert _following(doc, heading) == "Số liệu: tháng 1–10/2025 (lũy kế từ đầu năm).", heading
    assert _following(doc, "IV. ").startswith("Số liệu: tháng 1–10/2025 (lũy kế từ đầu năm")
    _, quarter = _doc(tiny_con, "2025-Q3")
    assert _following(quarter, "III. ") == "Số liệu: tháng 7–9/2025."


def test_percentages_read_alike_and_round_half_up(tiny_con) -> None:
    from xkld_geo.figures import metrics

    assert metrics.fmt_pct(131.25) == "131,3%" and metrics.fmt_pct(0.0) == "0,0%" and metrics.fmt_pct(2.675) == "2,7%"
    assert metrics.round_half_up(131.25) == 131.3 and document._cell(0.0, True) == "0,0"
    assert document._cell(50.0, True) == "50,0" and document._cell(131.25, True) == "131,3"
    _, doc = _doc(tiny_con)
    for table in doc.tables:
        header = [c.text for c in table.rows[0].cells]
        for j, name in enumerate(header):
            if "%" in name:
                values = [row.cells[j].text for row in table.rows[1:]]
                assert all(v == "–" or re.fullmatch(r"\d{1,3}(\.\d{3})*,\d", v) for v in values), (name, values)
