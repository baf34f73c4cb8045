"""The notifications page under AppTest: a user's address and kinds (a malformed address refused
with a Vietnamese message), and the administrator's outbox (failed messages with their reason,
resend), job runs and webhooks."""
from __future__ import annotations

import dataclasses

import pytest

from tests.conftest import problems, run_page
from xkld_geo.database import db
from xkld_geo.notifications import outbox
from xkld_geo.settings import Settings

PAGE = "pages/20_Thong_bao.py"


def test_user_saves_address_and_turns_kinds_on(app_env: Settings) -> None:
    at = run_page(PAGE, role="viewer", username="lanhdao")
    assert not problems(at)
    assert [t.label for t in at.toggle][0].startswith("Tổng hợp")
    at.text_input(key="notify_email").set_value("khong-phai-dia-chi")
    at.button[0].click().run()
    assert at.error and "không hợp lệ" in at.error[0].value
    at.text_input(key="notify_email").set_value("lanh-dao@minhhoa.example")
    at.selectbox(key="notify_province").set_value("99")
    at.button[0].click().run()
    assert not problems(at) and at.success
    at.toggle(key="notify_kind_report").set_value(True).run()
    assert not problems(at)
    con = db.connect(app_env)
    assert con.execute("SELECT email, province_code FROM notification_contacts WHERE username = 'lanhdao'"
                       ).fetchall() == [("lanh-dao@minhhoa.example", "99")]
    assert con.execute("SELECT enabled FROM notification_subscriptions WHERE username = 'lanhdao' AND kind = 'report'"
                       ).fetchall() == [(True,)]
    assert not any(t.label == "Hộp thư đi" for t in at.tabs)   # not an administrator


@pytest.fixture()
def failed_message(app_env: Settings) -> str:
    con = db.connect(app_env)
    db.upgrade(con)
    with db.transaction(con):
        message_id = outbox.enqueue(con, outbox.Message("page:1", "email", ("a@minhhoa.example",), "Thư <thử>",
                                                        "Nội dung", "review", "test"))
    assert message_id
    [claimed] = outbox.load(con, outbox.claim(con, dataclasses.replace(app_env, smtp_host="127.0.0.1")))
    outbox.mark_failed(con, app_env, claimed, "Máy chủ thư từ chối người nhận: a@minhhoa.example.", permanent=True)
    return message_id


def test_admin_sees_the_outbox_and_resends(app_env: Settings, failed_message: str) -> None:
    at = run_page(PAGE, role="admin")
    assert not problems(at)
    assert [t.label for t in at.tabs] == ["Đăng ký nhận", "Hộp thư đi", "Lịch chạy", "Webhook của tỉnh"]
    table = at.tabs[1].dataframe[0].value
    row = table[table["Mã thư"] == failed_message].iloc[0]
    assert row["Trạng thái"] == "Gửi không được" and "từ chối người nhận" in row["Lỗi gần nhất"]
    assert "Gửi lại" in [b.label for b in at.button]
    at.selectbox(key="outbox_resend_id").set_value(failed_message)
    next(b for b in at.button if b.label == "Gửi lại").click().run()
    assert not problems(at)
    con = db.connect(app_env)
    assert con.execute("SELECT status, attempts FROM outbox WHERE message_id = $i", {"i": failed_message}
                       ).fetchall() == [("waiting", 0)]
    jobs = at.tabs[2].dataframe[0].value
    assert set(jobs["Trạng thái"]) == {"Chưa chạy"} and len(jobs) == 5


def test_admin_webhook_url_refused(app_env: Settings) -> None:
    at = run_page(PAGE, role="admin")
    at.text_input(key="webhook_url").set_value("ftp://cong-sms/hook")
    next(b for b in at.button if b.label == "Lưu webhook").click().run()
    assert at.error and "webhook" in at.error[0].value and "không hợp lệ" in at.error[0].value
    at.text_input(key="webhook_url").set_value("https://cong-sms.example/hook")
    next(b for b in at.button if b.label == "Lưu webhook").click().run()
    assert not problems(at) and at.success
