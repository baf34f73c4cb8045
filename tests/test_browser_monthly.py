"""Browser test of the commune's monthly report on a phone (360×740), served on the tiny country.

A commune officer fills the form; an outlier (500 departures where the commune's last 12 months
had 7–21) needs a confirming comment; the province returns it with a comment; the commune corrects
and sends again; the province approves; a clerk's import for that commune-month is then refused;
an un-approval with a reason lets it through; the database's audit log holds every step.
"""
from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.browser_support import PASSWORD, _add_users, login, serve
from xkld_geo.access import auth
from xkld_geo.database import db
from xkld_geo.settings import Settings

pytestmark = [pytest.mark.browser]
PHONE = {"width": 360, "height": 740}
TIMEOUT = 30_000


def _phone(browser: Any, url: str, role: str) -> tuple[Any, Any]:
    """A new browser context logged in as ``b_<role>`` on ``url`` (at desktop size: the login form
    is in the sidebar), then narrowed to a phone."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    login(page, url, role=role)
    page.set_viewport_size(PHONE)
    return context, page


def _settled(page: Any) -> None:
    """Wait for the run a change started to finish (Streamlit shows its status widget while a
    script runs): a click sent during that run could be read against the form's old values."""
    page.wait_for_timeout(200)
    page.locator("[data-testid=stStatusWidget]").wait_for(state="hidden", timeout=TIMEOUT)


def _press(page: Any, label: str) -> None:
    _settled(page)
    page.get_by_role("button", name=label, exact=True).click()


def _fill(page: Any, label: str, value: str) -> None:
    _settled(page)
    box = page.get_by_label(label, exact=True)
    box.fill(value)
    box.press("Tab")
    _settled(page)


def _import(browser: Any, url: str, csv: Path) -> str:
    """A national clerk imports ``csv`` (departures) on the import page; returns the report's text."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    login(page, f"{url}/Nhap_du_lieu", role="clerk")
    page.locator("[data-testid=stFileUploaderDropzoneInput]").set_input_files(str(csv))
    page.get_by_text(csv.name).first.wait_for(timeout=TIMEOUT)
    _press(page, "Nhập dữ liệu")
    result = page.get_by_text("Lần nhập số").first
    result.wait_for(timeout=TIMEOUT)
    text = result.inner_text()
    context.close()
    return text


def test_the_monthly_report_on_a_phone_from_draft_to_lock(browser: Any, tiny_template: Settings,
                                                          tmp_path_factory: pytest.TempPathFactory) -> None:
    folder = tmp_path_factory.mktemp("monthly_server")
    served = folder / "served.duckdb"
    shutil.copyfile(tiny_template.db_path, served)
    _add_users(served)
    con = db.open_connection(served)
    auth.create_user(con, "b_commune", PASSWORD, "commune", unit="99001")
    auth.create_user(con, "b_duyet99", PASSWORD, "planner", unit="99")
    con.close()
    db.close_all()
    month = dt.date(tiny_template.today.year, tiny_template.today.month, 1)
    csv = folder / "xa_thang.csv"
    csv.write_text(f"Tháng,Mã xã,Thị trường,Giới tính,Hình thức,Nhóm ưu tiên,Số người\n{month:%m/%Y},99001,Nhật Bản,"
                   "Nam,Thực tập sinh kỹ thuật,,14\n", encoding="utf-8")
    server = serve(served, tiny_template, folder)
    url = next(server)
    try:
        # the commune fills the form on a phone; 500 is an outlier: a comment is asked for
        xa, page = _phone(browser, f"{url}/Bao_cao_thang_xa", "commune")
        page.get_by_text("Xã Thử 1, tháng").first.wait_for(timeout=TIMEOUT)
        _fill(page, "Số người", "500")
        _press(page, "Thêm dòng")
        page.get_by_text("Bản nháp").first.wait_for(timeout=TIMEOUT)
        _fill(page, "Tổng số người xuất cảnh trong tháng", "500")
        _press(page, "Gửi báo cáo")
        page.get_by_text("Hãy ghi chú xác nhận").first.wait_for(timeout=TIMEOUT)
        page.get_by_label("Ghi chú xác nhận (bắt buộc khi số liệu bất thường)").fill("Đợt tuyển lớn của doanh nghiệp")
        _press(page, "Gửi báo cáo")
        page.get_by_text("Đã gửi báo cáo tháng").first.wait_for(timeout=TIMEOUT)
        page.screenshot(path=str(folder / "commune-sent.png"), full_page=True)
        xa.close()
        # the province returns it with a comment
        tinh, review = _phone(browser, f"{url}/Bao_cao_thang_xa", "duyet99")
        review.get_by_text("Duyệt báo cáo tháng của các xã").wait_for(timeout=TIMEOUT)
        review.get_by_label("Ý kiến (bắt buộc khi trả lại hoặc hủy phê duyệt)").fill("500 người là quá cao, xem lại")
        _press(review, "Trả lại")
        review.get_by_text("Trả lại: Xã Thử 1").wait_for(timeout=TIMEOUT)
        # the commune sees the comment, corrects and sends again
        xa, page = _phone(browser, f"{url}/Bao_cao_thang_xa", "commune")
        page.get_by_text("Tỉnh trả lại: 500 người là quá cao, xem lại").wait_for(timeout=TIMEOUT)
        _press(page, "Xóa")
        page.get_by_text("Bản nháp").first.wait_for(timeout=TIMEOUT)
        _fill(page, "Số người", "13")
        _press(page, "Thêm dòng")
        page.get_by_text("Xóa dòng số").wait_for(timeout=TIMEOUT)
        _fill(page, "Tổng số người xuất cảnh trong tháng", "13")
        _press(page, "Gửi báo cáo")
        page.get_by_text("Đã gửi báo cáo tháng").first.wait_for(timeout=TIMEOUT)
        xa.close()
        # the province approves
        review.get_by_label("Ý kiến (bắt buộc khi trả lại hoặc hủy phê duyệt)").fill("")
        _press(review, "Phê duyệt")
        review.get_by_text("Phê duyệt: Xã Thử 1").wait_for(timeout=TIMEOUT)
        # an import for that commune-month is refused, with the reason
        refused = _import(browser, url, csv)
        assert "nhận 0" in refused and "bị từ chối 1" in refused, refused
        # an un-approval with a reason lets it through
        review.get_by_label("Ý kiến (bắt buộc khi trả lại hoặc hủy phê duyệt)").fill("Xã báo sót 1 người")
        _press(review, "Hủy phê duyệt")
        review.get_by_text("Hủy phê duyệt: Xã Thử 1").wait_for(timeout=TIMEOUT)
        accepted = _import(browser, url, csv.rename(folder / "xa_thang_lan2.csv"))
        assert "nhận 1" in accepted, accepted
        tinh.close()
    finally:
        server.close()      # stops the server: the database can be read
    con = db.open_connection(served, read_only=True)
    try:
        steps = [r[0] for r in con.execute("""SELECT action FROM approval_events WHERE unit_code = '99001'
                                              AND month = $m ORDER BY event_id""", {"m": month}).fetchall()]
        assert steps == ["draft", "submit", "return", "draft", "draft", "submit", "approve", "unapprove", "import"]
        audited = [r[0] for r in con.execute("""SELECT action FROM audit_log WHERE action LIKE 'month_%'
                                                OR action LIKE 'import%' ORDER BY at_time""").fetchall()]
        for action in ("month_draft", "month_submit", "month_return", "month_approve", "month_unapprove",
                       "month_import", "import"):
            assert action in audited, (action, audited)
        assert con.execute("""SELECT sum(departures) FROM departures WHERE commune_code = '99001'
                              AND month = $m""", {"m": month}).fetchone()[0] == 14
    finally:
        con.close()
