"""Notifications end to end: the worker run for chosen dates against a real SMTP sink (aiosmtpd)
and a real HTTP receiver on loopback; the outbox's faults (a sender killed between sending and
marking, an SMTP server down or refusing the login); addresses refused on save; the scope of every
message. See docs/notifications.md."""
from __future__ import annotations

import dataclasses
import datetime as dt
import hmac
import io
import os
import re
import shutil
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path
from typing import Iterator

import pandas as pd
import pytest

from tests.conftest import settings_for
from tests.notify_support import HttpReceiver, SmtpSink
from xkld_geo.access import auth
from xkld_geo.database import db
from xkld_geo.errors import QueryError
from xkld_geo.notifications import channels, notices, outbox, scheduler, subscriptions
from xkld_geo.reporting import people
from xkld_geo.settings import PROJECT_ROOT, Settings

SECRET = "khoa-bi-mat-thu-nghiem"
MONTH = dt.date(2026, 2, 1)          # due 5 March 2026 (report_due_day 5)
REMINDER_DAY = dt.date(2026, 3, 3)
AFTER_DAY = dt.date(2026, 3, 6)
LATE, ON_TIME = "99002", "98001"     # a commune that never reports February, one that reported on 1 March
LEADER = "lanh-dao@minhhoa.example"


def _copy_db(template: Settings, folder: Path) -> Settings:
    assert template.data_dir is not None
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template.db_path, folder / "tiny.duckdb")
    return settings_for(template.data_dir, folder / "tiny.duckdb")


def _scenario(settings: Settings) -> None:
    """February's receipts made plain: 99002 sends nothing, 98001 everything on 1 March."""
    con = db.open_connection(settings.db_path)
    try:
        db.upgrade(con)
        con.execute("DELETE FROM report_receipts WHERE month = DATE '2026-02-01' AND commune_code IN ($a, $b)",
                    {"a": LATE, "b": ON_TIME})
        for kind in ("departures", "job_fairs", "loans"):
            con.execute("INSERT INTO report_receipts VALUES ($k, DATE '2026-02-01', $c, DATE '2026-03-01', "
                        "TIMESTAMP '2026-03-01 09:00:00', NULL, TRUE, FALSE)", {"k": kind, "c": ON_TIME})
    finally:
        con.close()


def _with(settings: Settings, sink: SmtpSink | None, **changes: object) -> Settings:
    smtp = {"smtp_host": "127.0.0.1", "smtp_port": sink.port} if sink else {}
    return dataclasses.replace(settings, smtp_starttls=False, outbox_backoff_s=0.0, webhook_secret=SECRET,
                               **smtp, **changes)  # type: ignore[arg-type]


def _env(settings: Settings, sink: SmtpSink, day: dt.date, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("XKLD_")}
    env.update({"XKLD_DB": str(settings.db_path), "XKLD_DATA_DIR": str(settings.data_dir),
                "XKLD_TODAY": day.isoformat(), "XKLD_ID_KEY_FILE": str(settings.id_key_file),
                "XKLD_GEOMETRY_DIR": os.environ.get("XKLD_GEOMETRY_DIR", ""), "XKLD_SMTP_HOST": "127.0.0.1",
                "XKLD_SMTP_PORT": str(sink.port), "XKLD_SMTP_STARTTLS": "off", "XKLD_OUTBOX_BACKOFF": "0",
                "XKLD_WEBHOOK_SECRET": SECRET})
    env.update(extra)
    return env


def _rows(settings: Settings, sql: str, **params: object) -> pd.DataFrame:
    con = db.open_connection(settings.db_path, read_only=True)
    try:
        return con.execute(sql, params or None).df()
    finally:
        con.close()


@dataclasses.dataclass
class Cycle:
    settings: Settings
    sink: SmtpSink
    hook: HttpReceiver
    cli_output: str
    after: scheduler.WorkerReport


@pytest.fixture(scope="module")
def cycle(tiny_template: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cycle]:
    """February's cycle of the fictional country: the worker run from the command line on 3 March
    (two days before the due day), then in-process on 6 March (the day after). A leader's account
    follows province 99 (report, pace, digest on); province 99 has a webhook."""
    settings = _copy_db(tiny_template, tmp_path_factory.mktemp("cycle"))
    _scenario(settings)
    sink, hook = SmtpSink().start(), HttpReceiver().start()
    con = db.open_connection(settings.db_path)
    try:
        leader = auth.create_user(con, "lanhdao", "mat-khau-thu-nghiem", "viewer", "Lãnh đạo <Thử>")
        admin = auth.User("quantri", "Quản trị", "admin")
        subscriptions.save_contact(con, leader, LEADER.upper(), "99")
        for kind in ("report", "pace", "digest"):
            subscriptions.set_subscription(con, leader, kind, True)
        subscriptions.save_webhook(con, admin, "99", hook.url, True)
    finally:
        con.close()
    done = subprocess.run([sys.executable, "-m", "xkld_geo", "worker", "--once"], cwd=PROJECT_ROOT,
                          env=_env(settings, sink, REMINDER_DAY), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    after = scheduler.once(_with(settings, sink, today=AFTER_DAY))
    db.close_all()
    try:
        yield Cycle(settings, sink, hook, done.stdout, after)
    finally:
        sink.stop()
        hook.stop()


def test_reminder_two_days_before_the_due_day(cycle: Cycle) -> None:
    assert "Nhắc hạn báo cáo (2026-02, ngày 03/03/2026): xong" in cycle.cli_output
    got = cycle.sink.to(f"can-bo1.x{LATE}@minhhoa.example")
    reminders = [d for d in got if "Nhắc hạn" in d.subject]
    assert len(reminders) == 1
    text = reminders[0].part("plain")
    assert "chậm nhất ngày 05/03/2026 (còn 2 ngày)" in text and "Xã Thử 2" in text and "Số người xuất cảnh" in text
    assert "Dữ liệu minh họa" in text
    assert reminders[0].part("html").startswith("<!DOCTYPE html>")
    assert not [d for d in cycle.sink.to(f"can-bo1.x{ON_TIME}@minhhoa.example") if "Nhắc hạn" in d.subject]


def test_missing_notice_the_day_after(cycle: Cycle) -> None:
    missing = [d for d in cycle.sink.to(f"pho-chu-tich1.x{LATE}@minhhoa.example") if "Chưa nhận" in d.subject]
    assert len(missing) == 1 and "chưa nhận báo cáo tháng 2/2026" in missing[0].part("plain")
    assert not [d for d in cycle.sink.to(f"can-bo1.x{ON_TIME}@minhhoa.example") if "Chưa nhận" in d.subject]


def test_province_digest(cycle: Cycle) -> None:
    digest = [d for d in cycle.sink.to("can-bo1.t99@minhhoa.example") if "Tổng hợp" in d.subject]
    assert len(digest) == 1
    text = digest[0].part("plain")
    assert LATE in text and "xã còn thiếu" in text
    leader = [d for d in cycle.sink.to(LEADER) if "Tổng hợp" in d.subject]
    assert len(leader) == 1   # the subscribed user follows province 99


def test_report_with_docx_and_pdf(cycle: Cycle) -> None:
    for address in ("pho-chu-tich1.t99@minhhoa.example", LEADER):
        reports = [d for d in cycle.sink.to(address) if "Báo cáo định kỳ" in d.subject]
        assert len(reports) == 1, address
        files = reports[0].attachments()
        docx = files["bao-cao-2026-02-tinh-99.docx"]
        assert zipfile.ZipFile(io.BytesIO(docx)).read("word/document.xml")
        if shutil.which("soffice") or shutil.which("libreoffice"):
            assert files["bao-cao-2026-02-tinh-99.pdf"].startswith(b"%PDF")
        else:
            assert "chưa được tạo" in reports[0].part("plain")
    assert not [d for d in cycle.sink.to(LEADER) if "Thành phố Mẫu" in d.subject]   # not the province followed


def test_pace_notice_lists_communes_below_half(cycle: Cycle) -> None:
    from xkld_geo.reporting import report

    con = db.open_connection(cycle.settings.db_path, read_only=True)
    try:
        data = report.gather(con, report.parse_period("2026-02"), "99", AFTER_DAY, 5)
    finally:
        con.close()
    pace = [d for d in cycle.sink.to(LEADER) if "tiến độ" in d.subject]
    if data.lagging.empty:
        assert not pace
        return
    assert len(pace) == 1
    for code in data.lagging["unit_code"]:
        assert code in pace[0].part("plain")


def test_webhook_signed_json_with_phones(cycle: Cycle) -> None:
    payloads = cycle.hook.payloads()
    assert payloads and {p["kind"] for p in payloads} >= {"reminder", "missing", "digest"}
    for headers, body in cycle.hook.received:
        assert hmac.compare_digest(headers[channels.SIGNATURE_HEADER], channels.signature(SECRET, body))
        assert headers[channels.KEY_HEADER]
    missing = [p for p in payloads if p["kind"] == "missing"]
    assert LATE in [p["unit_code"] for p in missing] and ON_TIME not in [p["unit_code"] for p in missing]
    assert all(any(person["phone"] for person in p["people"]) for p in missing)
    assert all(p["unit_code"].startswith("99") for p in payloads)   # province 98 has no webhook


def test_everything_sent_once_and_jobs_run_once(cycle: Cycle) -> None:
    status = _rows(cycle.settings, "SELECT status, count(*) AS n FROM outbox GROUP BY status")
    assert dict(zip(status["status"], status["n"])) == {"sent": len(cycle.sink.received) + len(cycle.hook.received)}
    ids = [str(d.message["Message-ID"]) for d in cycle.sink.received]
    assert len(ids) == len(set(ids))
    again = scheduler.once(_with(cycle.settings, cycle.sink, today=AFTER_DAY))   # a second worker, same day
    db.close_all()
    assert {r.status for r in again.jobs} == {"taken"} and again.sent.sent == 0
    runs = _rows(cycle.settings, "SELECT job, status FROM job_runs")
    assert sorted(runs["job"]) == ["digest", "missing", "pace", "reminder", "report"]
    assert set(runs["status"]) == {"done"}


def _scope_of(address: str) -> tuple[str, str]:
    """The unit a demo address belongs to: ('commune', code) or ('province', code); a user follows 99."""
    if address == LEADER:
        return "province", "99"
    m = re.search(r"\.(x|t)(\d+)@", address)
    assert m, address
    return ("commune" if m[1] == "x" else "province"), m[2]


def test_no_commune_figure_outside_the_recipients_scope(cycle: Cycle) -> None:
    communes = _rows(cycle.settings, "SELECT commune_code, commune_name, province_code FROM v_communes")
    assert len(cycle.sink.received) > 20
    for d in cycle.sink.received:
        level, code = _scope_of(d.to)
        allowed = {code} if level == "commune" else set(communes.loc[communes["province_code"] == code,
                                                                     "commune_code"])
        texts = [d.part("plain"), d.part("html")]
        for name, content in d.attachments().items():
            if name.endswith(".docx"):
                texts.append(zipfile.ZipFile(io.BytesIO(content)).read("word/document.xml").decode())
        for other in communes.itertuples(index=False):
            if other.commune_code in allowed:
                continue
            for text in texts:
                assert other.commune_code not in text, (d.to, d.subject, other.commune_code)
                assert not re.search(re.escape(other.commune_name) + r"(?!\d)", text), (d.to, d.subject)


def test_no_webhook_carries_a_commune_outside_its_unit(cycle: Cycle) -> None:
    communes = _rows(cycle.settings, "SELECT commune_code, commune_name, province_code FROM v_communes")
    for payload in cycle.hook.payloads():
        unit = payload["unit_code"]
        allowed = {unit} if len(unit) == 5 else set(communes.loc[communes["province_code"] == unit, "commune_code"])
        text = payload["text"] + payload["subject"] + str(payload["people"])
        for other in communes.itertuples(index=False):
            if other.commune_code not in allowed:
                assert other.commune_code not in text and not re.search(re.escape(other.commune_name) + r"(?!\d)",
                                                                         text), (payload["kind"], unit)


def test_webhook_retried_with_the_same_key(tiny_db: Settings) -> None:
    hook = HttpReceiver(fail_first=1).start()
    try:
        con = db.open_connection(tiny_db.db_path)
        try:
            db.upgrade(con)
            with db.transaction(con):
                outbox.enqueue(con, outbox.Message("test:retry", "webhook", (hook.url,), "Tin", "Nội dung", "missing",
                                                   "test", unit_code="99002", period="2026-02"))
            first = outbox.send_due(con, _with(tiny_db, None))
            assert first.retried == 1 and "503" in first.errors[0]
            second = outbox.send_due(con, _with(tiny_db, None))
            assert second.sent == 1
        finally:
            con.close()
    finally:
        hook.stop()
    (h1, b1), (h2, b2) = hook.received
    assert b1 == b2 and h1[channels.KEY_HEADER] == h2[channels.KEY_HEADER] == "test:retry"
    assert h2[channels.SIGNATURE_HEADER] == channels.signature(SECRET, b2)


def test_worker_cli_with_nothing_due(cycle: Cycle, tmp_path: Path) -> None:
    settings = _copy_db(cycle.settings, tmp_path)
    done = subprocess.run([sys.executable, "-m", "xkld_geo", "worker", "--once"], cwd=PROJECT_ROOT,
                          env=_env(settings, cycle.sink, dt.date(2026, 3, 20)), capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert "Hôm nay không có việc nào đến hạn." in done.stdout


def test_occurrences_and_catch_up() -> None:
    assert [(o.job, o.due_on) for o in notices.occurrences(REMINDER_DAY, 5, 3)] == [("reminder", REMINDER_DAY)]
    assert notices.occurrences(dt.date(2026, 3, 4), 5, 3) == [
        notices.Occurrence(REMINDER_DAY, "reminder", MONTH)]   # a missed reminder, still before the due day
    assert notices.occurrences(dt.date(2026, 3, 5), 5, 3) == []      # never a reminder on or after the due day
    late = notices.occurrences(dt.date(2026, 3, 8), 5, 3)
    assert {o.job for o in late} == {"missing", "digest", "report", "pace"} and {o.due_on for o in late} == {AFTER_DAY}
    assert notices.occurrences(dt.date(2026, 3, 10), 5, 3) == []     # beyond the catch-up days


# -- the outbox's faults ------------------------------------------------------------------------------

def _put(settings: Settings, count: int = 1, kind: str = "review") -> list[str]:
    con = db.open_connection(settings.db_path)
    try:
        db.upgrade(con)
        with db.transaction(con):
            ids = [outbox.enqueue(con, outbox.Message(f"test:{kind}:{i}", "email", (f"nguoi{i}@minhhoa.example",),
                                                      f"Thư thử {i}", f"Nội dung {i}", kind, "test"))
                   for i in range(count)]
    finally:
        con.close()
    return [i for i in ids if i]


def _send(settings: Settings) -> outbox.SendReport:
    con = db.open_connection(settings.db_path)
    try:
        return outbox.send_due(con, settings)
    finally:
        con.close()


@pytest.fixture()
def sink() -> Iterator[SmtpSink]:
    s = SmtpSink().start()
    yield s
    s.stop()


CRASH = """
import os, sys
from xkld_geo.database import db
from xkld_geo.notifications import outbox
from xkld_geo.settings import current

def die(*args, **kwargs):   # the process dies after the SMTP server accepted, before the mark
    os._exit(9)

outbox.mark_sent = die
outbox.send_due(db.open_connection(current().db_path), current())
"""


def test_killed_between_sending_and_marking_delivers_once(tiny_db: Settings, sink: SmtpSink) -> None:
    [message_id] = _put(tiny_db)
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(CRASH)], cwd=PROJECT_ROOT,
                          env=_env(tiny_db, sink, REMINDER_DAY, XKLD_OUTBOX_LEASE="1"), capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 9, proc.stderr[-2000:]
    assert len(sink.received) == 1
    time.sleep(1.2)   # the crashed sender's lease runs out
    restarted = _send(_with(tiny_db, sink, outbox_lease_s=1.0))
    assert restarted.unknown == 1 and restarted.sent == 0
    assert len(sink.received) == 1   # exactly one delivery, as the SMTP server saw it
    row = _rows(tiny_db, "SELECT status, last_error FROM outbox WHERE message_id = $id", id=message_id)
    assert row["status"][0] == "unknown" and "có thể đã đến" in row["last_error"][0]
    con = db.open_connection(tiny_db.db_path)   # an administrator looks and sends it again
    try:
        outbox.resend(con, auth.User("quantri", "Quản trị", "admin"), message_id)
        with pytest.raises(QueryError):
            outbox.resend(con, auth.User("xem", "Xem", "viewer"), message_id)
    finally:
        con.close()
    assert _send(_with(tiny_db, sink)).sent == 1 and len(sink.received) == 2


CRASH_BEFORE = """
import os
from xkld_geo.database import db
from xkld_geo.notifications import outbox
from xkld_geo.settings import current

real, calls = outbox.mark_handed, []

def handed(*args, **kwargs):   # the process dies after the first message, before handing over the second
    calls.append(1)
    if len(calls) == 2:
        os._exit(9)
    real(*args, **kwargs)

outbox.mark_handed = handed
outbox.send_due(db.open_connection(current().db_path), current())
"""


def test_killed_before_handing_over_the_rest_go_out_once(tiny_db: Settings, sink: SmtpSink) -> None:
    _put(tiny_db, 3)
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(CRASH_BEFORE)], cwd=PROJECT_ROOT,
                          env=_env(tiny_db, sink, REMINDER_DAY, XKLD_OUTBOX_LEASE="1"), capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 9, proc.stderr[-2000:]
    assert len(sink.received) == 1
    assert sorted(_rows(tiny_db, "SELECT status FROM outbox")["status"]) == ["sending", "sending", "sent"]
    time.sleep(1.2)
    restarted = _send(_with(tiny_db, sink, outbox_lease_s=1.0))
    assert (restarted.unknown, restarted.sent) == (0, 2)   # never handed over: sent now, once each
    assert sorted(d.to for d in sink.received) == [f"nguoi{i}@minhhoa.example" for i in range(3)]
    assert set(_rows(tiny_db, "SELECT status FROM outbox")["status"]) == {"sent"}


def test_smtp_down_then_back_delivers_every_waiting_message(tiny_db: Settings, sink: SmtpSink) -> None:
    _put(tiny_db, 3)
    sink.stop()
    down = _send(_with(tiny_db, sink))
    assert down.sent == 0 and down.retried == 3 and "Không kết nối được máy chủ thư" in down.errors[0]
    waiting = _rows(tiny_db, "SELECT status, attempts, last_error FROM outbox")
    assert set(waiting["status"]) == {"waiting"} and set(waiting["attempts"]) == {1}
    assert waiting["last_error"].str.contains("127.0.0.1").all()
    sink.start()
    back = _send(_with(tiny_db, sink))
    assert back.sent == 3 and len(sink.received) == 3
    assert set(_rows(tiny_db, "SELECT status FROM outbox")["status"]) == {"sent"}


def test_login_refused_leaves_messages_waiting(tiny_db: Settings) -> None:
    sink = SmtpSink(password="dung").start()
    try:
        _put(tiny_db, 2)
        refused = _send(_with(tiny_db, sink, smtp_user="xkld", smtp_password="sai"))
        assert refused.retried == 2 and "từ chối đăng nhập" in refused.errors[0]
        assert not sink.received
        ok = _send(_with(tiny_db, sink, smtp_user="xkld", smtp_password="dung"))
        assert ok.sent == 2 and len(sink.received) == 2
    finally:
        sink.stop()


def test_backoff_grows_and_gives_up(tiny_db: Settings) -> None:
    settings = dataclasses.replace(tiny_db, outbox_backoff_s=60.0, outbox_backoff_max_s=600.0, outbox_max_attempts=3,
                                   smtp_host="127.0.0.1")
    assert [outbox.backoff(settings, n).total_seconds() for n in (1, 2, 3, 4, 5)] == [60, 120, 240, 480, 600]
    _put(tiny_db)
    con = db.open_connection(tiny_db.db_path)
    try:
        at = dt.datetime.now()
        statuses = []
        for _ in range(3):
            [claimed] = outbox.load(con, outbox.claim(con, settings, now=at + dt.timedelta(days=1)))
            statuses.append(outbox.mark_failed(con, settings, claimed, "lỗi thử", now=at))
        assert statuses == ["waiting", "waiting", "failed"]
        assert outbox.claim(con, settings, now=at + dt.timedelta(days=2)) == []
    finally:
        con.close()


def test_webhook_refusal_and_missing_secret(tiny_db: Settings) -> None:
    hook = HttpReceiver(status=400).start()
    try:
        con = db.open_connection(tiny_db.db_path)
        try:
            db.upgrade(con)
            with db.transaction(con):
                outbox.enqueue(con, outbox.Message("test:hook", "webhook", (hook.url,), "Tin", "Nội dung", "missing",
                                                   "test"))
            no_secret = outbox.send_due(con, dataclasses.replace(tiny_db, webhook_secret="", outbox_backoff_s=0.0))
            assert (no_secret.sent, no_secret.retried) == (0, 0) and not hook.received   # waits, attempts untouched
            assert con.execute("SELECT status, attempts FROM outbox").fetchall() == [("waiting", 0)]
            refused = outbox.send_due(con, _with(tiny_db, None))
            assert refused.failed == 1 and "400" in refused.errors[0]   # a 4xx is not retried
        finally:
            con.close()
    finally:
        hook.stop()


# -- the review notice (for the approval workflow) ----------------------------------------------------

def test_review_notice_in_the_callers_transaction(tiny_db: Settings, sink: SmtpSink) -> None:
    con = db.open_connection(tiny_db.db_path)
    try:
        db.upgrade(con)
        officer = auth.create_user(con, "canboxa", "mat-khau-thu-nghiem", "clerk")
        subscriptions.save_contact(con, officer, "can-bo-xa@minhhoa.example", None)
        with pytest.raises(RuntimeError), db.transaction(con):   # the decision fails: no notice either
            notices.notify_review(con, "canboxa", LATE, MONTH, "returned", "thiếu số liệu", "tinh99")
            raise RuntimeError("approval failed")
        assert not _count(con)
        with db.transaction(con):
            assert notices.notify_review(con, "canboxa", LATE, MONTH, "returned", "<b>Sai</b> & thiếu cột", "tinh99",
                                         event_key="1")
            assert notices.notify_review(con, "canboxa", LATE, MONTH, "returned", "lặp", "tinh99",
                                         event_key="1") is None   # the same decision notifies once
        assert notices.notify_review(con, "khongco", LATE, MONTH, "approved", None, "tinh99") is None
        with pytest.raises(QueryError):
            notices.notify_review(con, "canboxa", LATE, MONTH, "maybe", None, "tinh99")
        outbox.send_due(con, _with(tiny_db, sink))
    finally:
        con.close()
    [mail] = sink.received
    assert "bị trả lại" in mail.subject and "<b>Sai</b> & thiếu cột" in mail.part("plain")
    assert "&lt;b&gt;Sai&lt;/b&gt; &amp; thiếu cột" in mail.part("html") and "<b>Sai" not in mail.part("html")


def _count(con: object) -> int:
    return int(db.value(con, "test_outbox_count", "SELECT count(*) FROM outbox"))  # type: ignore[arg-type]


# -- addresses refused on save ------------------------------------------------------------------------

@pytest.mark.parametrize("email", ["khong-co-a-con", "a@b", "x@@minhhoa.example", "có dấu@minhhoa.example",
                                   "a b@minhhoa.example", "x" * 250 + "@a.vn"])
def test_malformed_address_refused(tiny_con: object, email: str) -> None:
    db.upgrade(tiny_con)  # type: ignore[arg-type]
    user = auth.User("lanhdao", "Lãnh đạo", "viewer")
    with pytest.raises(QueryError, match="thư điện tử .* không hợp lệ"):
        subscriptions.save_contact(tiny_con, user, email, None)  # type: ignore[arg-type]
    rows = pd.DataFrame([{"role": "can_bo", "full_name": "Nguyễn Văn A", "position": "", "phone": "",
                          "email": email}])
    with pytest.raises(QueryError, match="Dòng 1: địa chỉ thư điện tử"):
        people.save_unit(tiny_con, auth.User("kh", "KH", "planner"), "commune", "99001", rows)  # type: ignore[arg-type]


@pytest.mark.parametrize("url", ["ftp://may-chu/hook", "http://", "javascript:alert(1)", "https://u:p@may-chu/x",
                                 "https://may chu/x", "may-chu/hook"])
def test_malformed_webhook_url_refused(tiny_con: object, url: str) -> None:
    db.upgrade(tiny_con)  # type: ignore[arg-type]
    with pytest.raises(QueryError, match="webhook .* không hợp lệ"):
        subscriptions.save_webhook(tiny_con, auth.User("qt", "QT", "admin"), "99", url, True)  # type: ignore[arg-type]


def test_subscriptions_scope_and_defaults(tiny_con: object) -> None:
    con = tiny_con
    db.upgrade(con)  # type: ignore[arg-type]
    user = auth.create_user(con, "lanhdao", "mat-khau-thu-nghiem", "viewer")  # type: ignore[arg-type]
    with pytest.raises(QueryError, match="Tỉnh mã 12"):
        subscriptions.save_contact(con, user, "ld@minhhoa.example", "12")  # type: ignore[arg-type]
    with pytest.raises(QueryError):
        subscriptions.save_contact(con, auth.PUBLIC, "ld@minhhoa.example", None)  # type: ignore[arg-type]
    subscriptions.save_contact(con, user, "  LD@minhhoa.example ", "98")  # type: ignore[arg-type]
    view = subscriptions.build_subscriptions(con, user)  # type: ignore[arg-type]
    assert view.email == "ld@minhhoa.example" and view.province == "98"
    assert dict(zip(view.kinds["kind"], view.kinds["enabled"])) == {"digest": False, "report": False, "pace": False,
                                                                   "review": True}
    subscriptions.set_subscription(con, user, "report", True)  # type: ignore[arg-type]
    assert subscriptions.user_recipients(con, "report", "98") == [("lanhdao", "ld@minhhoa.example")]  # type: ignore[arg-type]
    assert subscriptions.user_recipients(con, "report", "99") == []  # type: ignore[arg-type]
    with pytest.raises(QueryError):
        subscriptions.set_subscription(con, user, "reminder", True)  # type: ignore[arg-type]
    person = subscriptions.build_subscriptions(con, user)  # type: ignore[arg-type]
    assert person.as_person.empty
    subscriptions.save_contact(con, user, "can-bo1.t98@minhhoa.example", "98")  # type: ignore[arg-type]
    assert "Tổng hợp" in subscriptions.build_subscriptions(con, user).as_person["Nhận"].iloc[0]  # type: ignore[arg-type]


def test_scheduler_in_the_app_process_sends_the_outbox(tiny_db: Settings, sink: SmtpSink) -> None:
    _put(tiny_db, 2)
    settings = _with(tiny_db, sink, worker_send_every_s=5.0, scheduler="app")
    assert not scheduler.start_in_app(dataclasses.replace(settings, scheduler="off"))
    assert scheduler.start_in_app(settings)
    try:
        deadline = time.monotonic() + 30
        while len(sink.received) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        scheduler.stop_in_app()
    assert len(sink.received) == 2


def test_outbox_and_subscriptions_survive_a_forced_build(tiny_db: Settings) -> None:
    from xkld_geo.warehouse import assembly

    con = db.open_connection(tiny_db.db_path)
    try:
        db.upgrade(con)
        with db.transaction(con):
            outbox.enqueue(con, outbox.Message("keep:1", "email", ("a@minhhoa.example",), "Giữ", "Nội dung", "report",
                                               "test", attachments=(outbox.Attachment("a.bin", "application/x", b"\x00\xff"),)))
        user = auth.create_user(con, "lanhdao", "mat-khau-thu-nghiem", "viewer")
        subscriptions.save_contact(con, user, "ld@minhhoa.example", "99")
        subscriptions.set_subscription(con, user, "report", True)
    finally:
        con.close()
    assembly.build(tiny_db, force=True)
    db.close_all()
    assert list(_rows(tiny_db, "SELECT content FROM outbox_attachments")["content"]) == [b"\x00\xff"]
    assert _rows(tiny_db, "SELECT count(*) AS n FROM notification_subscriptions")["n"][0] == 1
    emails = _rows(tiny_db, "SELECT email FROM people_in_charge WHERE unit_code = '99002' AND role = 'can_bo'")
    assert list(emails["email"]) == ["can-bo1.x99002@minhhoa.example"]   # demo people rebuilt with addresses


def test_the_served_app_runs_the_jobs_and_sends(tiny_template: Settings, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch, sink: SmtpSink) -> None:
    """``python serve.py`` with an SMTP server set: the scheduler inside the served process runs the
    day's job (3 March: the reminder) and its sender delivers, with nothing else started."""
    from tests.browser_support import serve

    settings = _copy_db(tiny_template, tmp_path / "served")
    _scenario(settings)
    for name, value in {**_env(settings, sink, REMINDER_DAY), "XKLD_WORKER_RUN_AT": "00:00",
                        "XKLD_WORKER_SEND_EVERY": "5"}.items():
        if name.startswith("XKLD_"):
            monkeypatch.setenv(name, value)
    served = serve(settings.db_path, dataclasses.replace(settings, today=REMINDER_DAY), tmp_path)
    next(served)
    try:
        deadline = time.monotonic() + 120
        while not sink.to(f"can-bo1.x{LATE}@minhhoa.example") and time.monotonic() < deadline:
            time.sleep(0.5)
    finally:
        served.close()
    assert [d.subject for d in sink.to(f"can-bo1.x{LATE}@minhhoa.example")] == [
        "[XKLĐ-Geo] Nhắc hạn báo cáo tháng 2/2026 – Xã Thử 2"]


def test_the_long_running_worker(tiny_template: Settings, tmp_path: Path, sink: SmtpSink) -> None:
    """``python -m xkld_geo worker``: started after the day's time, it runs the day's job at once and
    sends every few seconds, until interrupted."""
    import signal

    settings = _copy_db(tiny_template, tmp_path)
    _scenario(settings)
    env = _env(settings, sink, REMINDER_DAY, XKLD_WORKER_RUN_AT="00:00", XKLD_WORKER_SEND_EVERY="5")
    proc = subprocess.Popen([sys.executable, "-m", "xkld_geo", "worker"], cwd=PROJECT_ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 90
        while not sink.to(f"can-bo1.x{LATE}@minhhoa.example") and time.monotonic() < deadline:
            assert proc.poll() is None, proc.communicate()[1][-2000:]
            time.sleep(0.5)
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)   # a job in progress (a report's PDF) finishes first
    assert proc.returncode == 0, err[-2000:]
    assert len(sink.to(f"can-bo1.x{LATE}@minhhoa.example")) == 1
