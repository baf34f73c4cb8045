"""The page Báo cáo tháng của xã under AppTest: the commune fills and sends, the province approves;
and scoped accounts on the shared pages (a URL naming another unit gets the refusal)."""
from __future__ import annotations

import datetime as dt

from tests.conftest import problems, run_page
from xkld_geo.access import auth
from xkld_geo.database import db
from xkld_geo.reporting import approval
from xkld_geo.settings import Settings

PAGE = "pages/17_Bao_cao_thang_xa.py"
PASSWORD = "mat-khau-thu-nghiem"


def _account(settings: Settings, name: str, role: str, unit: str) -> None:
    con = db.connect(settings)
    db.upgrade(con)
    auth.create_user(con, name, PASSWORD, role, unit=unit)


def _button(at, label: str):
    return next(b for b in at.button if b.label == label)


def test_a_commune_sends_its_month_and_the_province_approves_it(app_env: Settings) -> None:
    _account(app_env, "xa.99001", "commune", "99001")
    _account(app_env, "duyet.99", "planner", "99")
    at = run_page(PAGE, role="commune", username="xa.99001")
    assert not problems(at)
    assert [s.value for s in at.selectbox if s.label == "Xã"][0] == "99001"
    assert at.selectbox(key="monthly_commune").options == ["Xã Thử 1"]      # its own commune only
    assert any("Chưa lập" in m.value for m in at.markdown)
    at.number_input(key="line_count").set_value(2)
    at = _button(at, "Thêm dòng").click().run()
    assert not problems(at)
    month = dt.date(app_env.today.year, app_env.today.month, 1)
    con = db.connect(app_env)
    assert approval.state(con, month, "99001").state == "draft"             # the line saved the draft
    at.number_input(key="monthly_departures_total").set_value(2)
    at.number_input(key="monthly_attendees").set_value(1)
    at.text_area(key="monthly_comment").set_value("Xác nhận số liệu")
    at = _button(at, "Gửi báo cáo").click().run()
    assert not problems(at), problems(at)
    assert any("Đã gửi báo cáo" in s.value for s in at.success)
    assert approval.state(con, month, "99001").state == "submitted"
    review = run_page(PAGE, role="planner", username="duyet.99")
    assert not problems(review)
    assert "99001" in list(review.dataframe[0].value["Mã xã"])
    review = _button(review, "Phê duyệt").click().run()
    assert approval.state(con, month, "99001").state == "approved"
    again = run_page(PAGE, role="commune", username="xa.99001")
    assert any("đã được phê duyệt" in i.value for i in again.info)


def test_a_url_naming_another_unit_gets_the_refusal(app_env: Settings) -> None:
    _account(app_env, "kh.99", "planner", "99")
    at = run_page("pages/0_Tong_quan.py", role="planner", username="kh.99", query={"unit": "98"})
    assert any("ngoài phạm vi" in e.value and "98" in e.value for e in at.error)
    ok = run_page("pages/0_Tong_quan.py", role="planner", username="kh.99", query={"unit": "99001"})
    assert not any("ngoài phạm vi" in e.value for e in ok.error)


def test_a_province_account_picks_only_its_province(app_env: Settings) -> None:
    _account(app_env, "xem.98", "viewer", "98")
    at = run_page("pages/10_Tinh_hinh_bao_cao.py", role="viewer", username="xem.98")
    assert not problems(at)
    assert set(at.selectbox(key="province").options) <= {"Toàn quốc", "Thành phố Mẫu"}
    people = run_page("pages/11_Nguoi_phu_trach.py", role="viewer", username="xem.98")
    table = people.dataframe[0].value
    assert set(table["Đơn vị"]) <= {"Thành phố Mẫu", "Phường Mẫu 1", "Phường Mẫu 2"}


def test_a_one_time_password_must_be_changed_before_any_page(app_env: Settings) -> None:
    con = db.connect(app_env)
    db.upgrade(con)
    auth.create_user(con, "xa.moi", PASSWORD, "commune", unit="99002", must_change=True)
    at = run_page(PAGE, role="commune", username="xa.moi")
    assert any("mật khẩu một lần" in w.value for w in at.warning)
    assert not at.number_input                                             # nothing of the page yet
    at.text_input(key="otp_old").set_value(PASSWORD)
    at.text_input(key="otp_new").set_value("mat-khau-moi-cua-xa")
    at.text_input(key="otp_again").set_value("mat-khau-moi-cua-xa")
    at = _button(at, "Đổi mật khẩu").click().run()
    assert not problems(at), problems(at)
    assert at.number_input                                                 # the form opens
    assert not auth.login(con, "xa.moi", "mat-khau-moi-cua-xa")[1].must_change
