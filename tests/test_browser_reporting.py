"""Real-browser tests of the reporting cycle: the completeness map draws with its chase list, and
the periodic report downloads as a DOCX a clerk can open."""
from __future__ import annotations

import io
from typing import Any

import pytest

from tests.browser_support import counts, login

pytestmark = [pytest.mark.browser, pytest.mark.real_data]


def test_completeness_map_and_chase_list(page: Any, app_url: str, real_con) -> None:
    communes = real_con.execute("SELECT count(*) FROM admin_units WHERE era = '2025' AND level = 'commune' "
                                "AND parent_code = '40'").fetchone()[0]
    login(page, f"{app_url}/Tinh_hinh_bao_cao?unit=40")
    assert counts(page, "choropleth", communes)["choropleth"] == communes
    page.get_by_text("Xã cần đôn đốc").first.wait_for(timeout=30_000)
    assert page.get_by_text("Tỷ lệ đúng hạn").first.is_visible()
    assert page.external == []


def test_the_periodic_report_downloads_as_docx(page: Any, app_url: str) -> None:
    from docx import Document

    login(page, f"{app_url}/Bao_cao_dinh_ky")
    page.get_by_role("button", name="Lập báo cáo").click()
    button = page.get_by_role("button", name="Báo cáo (DOCX)")
    button.wait_for(timeout=90_000)
    with page.expect_download(timeout=60_000) as caught:
        button.click()
    data = open(caught.value.path(), "rb").read()
    doc = Document(io.BytesIO(data))
    cells = [c.text for t in doc.tables for row in t.rows for c in row.cells]  # the heading is a table
    text = "\n".join([p.text for p in doc.paragraphs] + cells)
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in text and "Kính gửi" in text
    assert caught.value.suggested_filename.endswith(".docx")
