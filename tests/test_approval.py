"""Approval up the chain, the monthly form's rules, and the accounts' command line.

A commune's month: draft → submitted → returned (with the comment) → submitted → approved; an
approved month refuses imports and form edits until a user above un-approves it with a reason;
every step is in approval_events and audit_log; a clerk's import counts as submitted.
"""
from __future__ import annotations

import datetime as dt
import os
import stat
from pathlib import Path

import pytest

from xkld_geo.access import auth
from xkld_geo.cli import main
from xkld_geo.database import db
from xkld_geo.errors import ApprovalError, AuthError, ScopeError
from xkld_geo.intake import ingest
from xkld_geo.reporting import approval, monthly, rules
from xkld_geo.settings import Settings

PASSWORD = "mat-khau-thu-nghiem"
MONTH = dt.date(2026, 2, 1)


def _accounts(con) -> tuple[auth.User, auth.User, auth.User, auth.User]:
    auth.create_user(con, "xa.99001", PASSWORD, "commune", unit="99001")
    auth.create_user(con, "duyet.99", PASSWORD, "planner", unit="99")
    auth.create_user(con, "nhap.99", PASSWORD, "clerk", unit="99")
    auth.create_user(con, "duyet.tw", PASSWORD, "planner")
    return (auth.account(con, "xa.99001"), auth.account(con, "duyet.99"), auth.account(con, "nhap.99"),
            auth.account(con, "duyet.tw"))


def _form(n: int = 2, attendees: int = 1) -> monthly.Form:
    counts = {k: 0 for k in monthly.COUNTS} | {"departures_total": n, "attendees": attendees}
    return monthly.Form([monthly.Line("JP", "nam", "khac", "thuc_tap_sinh", n)], counts)


def _csv(commune: str, n: int) -> bytes:
    return (f"Tháng,Mã xã,Thị trường,Giới tính,Hình thức,Nhóm ưu tiên,Số người\n02/2026,{commune},Nhật Bản,Nam,"
            f"Thực tập sinh kỹ thuật,,{n}\n").encode()


def _departures(con, commune: str) -> int:
    return con.execute("SELECT COALESCE(sum(departures), 0) FROM departures WHERE commune_code = $c AND month = $m",
                       {"c": commune, "m": MONTH}).fetchone()[0]


def test_the_whole_chain_with_the_lock(tiny_db: Settings, tiny_con) -> None:
    con = tiny_con
    xa, tinh, clerk, tw = _accounts(con)
    monthly.save_draft(con, xa, "99001", MONTH, _form(2))
    assert approval.state(con, MONTH, "99001").state == "draft"
    monthly.submit(con, xa, "99001", MONTH, _form(2), "xác nhận", tiny_db, tiny_db.today)
    assert _departures(con, "99001") == 2
    with pytest.raises(ApprovalError, match="lý do trả lại"):
        approval.return_month(con, tinh, MONTH, "99001", "  ")
    approval.return_month(con, tinh, MONTH, "99001", "Thiếu số người dự sàn")
    returned = approval.state(con, MONTH, "99001")
    assert returned.state == "returned" and returned.review_comment == "Thiếu số người dự sàn"
    monthly.submit(con, xa, "99001", MONTH, _form(3, attendees=4), "xác nhận", tiny_db, tiny_db.today)
    with pytest.raises(ApprovalError, match="không có quyền duyệt"):
        approval.approve(con, xa, MONTH, "99001")
    approval.approve(con, tinh, MONTH, "99001")
    assert approval.state(con, MONTH, "99001").state == "approved" and _departures(con, "99001") == 3
    # locked: the import's row is refused with the reason, the form too
    report = ingest.import_file(con, _csv("99001", 9), "muon.csv", "departures", clerk, tiny_db)
    assert report.accepted == 0 and report.rejected == 1
    assert "đã được phê duyệt" in report.rejects["Lý do"].iloc[0] and _departures(con, "99001") == 3
    with pytest.raises(ApprovalError, match="đã được phê duyệt"):
        monthly.save_draft(con, xa, "99001", MONTH, _form(5))
    with pytest.raises(ApprovalError, match="lý do"):
        approval.unapprove(con, tinh, MONTH, "99001", "")
    approval.unapprove(con, tinh, MONTH, "99001", "Huyện báo sót 6 người")
    report = ingest.import_file(con, _csv("99001", 9), "muon.csv", "departures", clerk, tiny_db)
    assert report.accepted == 1 and _departures(con, "99001") == 9
    assert approval.state(con, MONTH, "99001").state == "submitted"
    steps = list(approval.history(con, MONTH, "99001")["action"])
    assert steps == ["draft", "submit", "return", "submit", "approve", "unapprove", "import"]
    audited = [r[0] for r in con.execute("SELECT action FROM audit_log WHERE action LIKE 'month_%' ORDER BY at_time")
               .fetchall()]
    assert audited == ["month_draft", "month_submit", "month_return", "month_submit", "month_approve",
                       "month_unapprove", "month_import"]


def test_a_clerks_import_counts_as_submitted_and_the_nation_approves_a_province(tiny_db: Settings, tiny_con) -> None:
    con = tiny_con
    _, _, clerk, tw = _accounts(con)
    report = ingest.import_file(con, _csv("99002", 4) + b"02/2026,99003,KR,Nam,EPS,,1\n", "x.csv", "departures",
                                clerk, tiny_db)
    assert report.accepted == 2
    assert {approval.state(con, MONTH, c).state for c in ("99002", "99003")} == {"submitted"}
    assert approval.state(con, MONTH, "99002").source == "import"
    events = approval.approve_province(con, tw, MONTH, "99")
    assert {e.unit for e in events} == {"99002", "99003"}
    assert all(e.to_state == "approved" for e in events)
    with pytest.raises(ApprovalError):
        approval.approve_province(con, auth.account(con, "duyet.99"), MONTH, "99")


def test_hard_rules_refuse_and_soft_rules_need_a_comment(tiny_db: Settings, tiny_con) -> None:
    con = tiny_con
    xa, *_ = _accounts(con)
    bad = _form(2)
    bad.counts["departures_total"] = 5       # the lines add up to 2
    with pytest.raises(ApprovalError, match="khác tổng"):
        monthly.submit(con, xa, "99001", MONTH, bad, "x", tiny_db, tiny_db.today)
    with pytest.raises(ApprovalError, match="chưa tới"):
        monthly.build_form_view(con, xa, "99001", dt.date(2026, 5, 1), tiny_db.today)
    big = _form(2000)
    with pytest.raises(ApprovalError, match="ghi chú xác nhận") as caught:
        monthly.submit(con, xa, "99001", MONTH, big, "", tiny_db, tiny_db.today)
    assert caught.value.details["warnings"]
    event = monthly.submit(con, xa, "99001", MONTH, big, "Đợt tuyển lớn của doanh nghiệp", tiny_db, tiny_db.today)
    stored = approval.state(con, MONTH, "99001")
    assert stored.warnings and stored.officer_comment == "Đợt tuyển lớn của doanh nghiệp" and event.action == "submit"


@pytest.mark.parametrize(("history", "value", "flagged"), [
    ([10, 11, 9, 10, 12, 10, 11, 9, 10, 10, 11, 10], 10, False),
    ([10, 11, 9, 10, 12, 10, 11, 9, 10, 10, 11, 10], 40, True),       # z far above 3,5
    ([10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10], 31, True),     # MAD 0: more than 3 × the median
    ([10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10], 30, False),
    ([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], 3, False),                 # nothing to compare with
    ([5, 7], 100, False),                                              # too little history
    ([2, 3, 2, 4, 3, 2, 3, 2, 3, 4, 2, 3], 9, True),                  # z 4,0 (8 would be 3,4)
    ([2, 3, 2, 4, 3, 2, 3, 2, 3, 4, 2, 3], 5, False),
])
def test_soft_rule_outliers(history: list[int], value: int, flagged: bool) -> None:
    assert (rules.outlier(history, value) is not None) == flagged


def test_the_command_line_adds_scoped_accounts_and_acts_as_them(tiny_db: Settings, tiny_con, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    for key, value in (("XKLD_DB", tiny_db.db_path), ("XKLD_DATA_DIR", tiny_db.data_dir),
                       ("XKLD_TODAY", tiny_db.today.isoformat()), ("XKLD_ID_KEY_FILE", tiny_db.id_key_file)):
        monkeypatch.setenv(key, str(value))
    tiny_con.close()
    db.close_all()
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO(PASSWORD + "\n"))
    assert main(["users", "add", "nhap.98", "--role", "clerk", "--unit", "98", "--password-stdin"]) == 0
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO(PASSWORD + "\n"))
    assert main(["users", "add", "xa.sai", "--role", "commune", "--unit", "38", "--password-stdin"]) == 2
    assert "Không có tỉnh mã 38" in capsys.readouterr().err
    accounts = tmp_path / "xa.csv"
    accounts.write_text("username,role,unit,name\nxa.98001,commune,98001,Cán bộ xã 1\nxa.98002,commune,98002,\n",
                        encoding="utf-8")
    out = tmp_path / "mk.csv"
    assert main(["users", "import", str(accounts), "--out", str(out), "--as", "root"]) == 2   # unknown acting account
    assert main(["users", "import", str(accounts), "--out", str(out)]) == 0
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "username,mat_khau_mot_lan" and len(lines) == 3
    assert main(["users", "import", str(accounts), "--out", str(out)]) == 2    # never overwritten
    first = dict(line.split(",") for line in lines[1:])
    con = db.open_connection(tiny_db.db_path)
    try:
        _, user = auth.login(con, "xa.98001", first["xa.98001"])
        assert user.must_change and user.unit == "98001"
        with pytest.raises(AuthError):
            auth.change_password(con, "xa.98001", "sai-mat-khau-roi", "mat-khau-moi-dai-hon")
        auth.change_password(con, "xa.98001", first["xa.98001"], "mat-khau-moi-dai-hon")
        assert not auth.login(con, "xa.98001", "mat-khau-moi-dai-hon")[1].must_change
    finally:
        con.close()
    data = tmp_path / "hai_tinh.csv"
    data.write_bytes(_csv("98001", 2) + b"02/2026,99001,KR,Nam,EPS,,1\n")
    assert main(["import", str(data), "--kind", "departures", "--user", "khong.co"]) == 2
    assert "không có hoặc đã bị khóa" in capsys.readouterr().err
    assert main(["import", str(data), "--kind", "departures", "--user", "nhap.98",
                 "--rejects", str(tmp_path / "tu_choi.csv")]) == 1
    rejects = (tmp_path / "tu_choi.csv").read_text(encoding="utf-8-sig")
    assert "99001" in rejects and "ngoài phạm vi của tài khoản nhap.98 (Tỉnh 98)" in rejects
    con = db.open_connection(tiny_db.db_path, read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM departures WHERE NOT is_demo AND month = $m AND commune_code = "
                           "'99001'", {"m": MONTH}).fetchone()[0] == 0
        assert con.execute("SELECT count(*) FROM departures WHERE NOT is_demo AND month = $m AND commune_code = "
                           "'98001'", {"m": MONTH}).fetchone()[0] == 1
    finally:
        con.close()


def test_a_province_administrator_manages_its_province_only(tiny_con) -> None:
    con = tiny_con
    auth.create_user(con, "qt.99", PASSWORD, "admin", unit="99")
    admin = auth.account(con, "qt.99")
    auth.add_account(con, admin, "xa.99004", PASSWORD, "commune", unit="99004")
    for unit in ("98001", "98", "VN"):
        with pytest.raises(ScopeError, match="ngoài phạm vi"):
            auth.add_account(con, admin, f"x.{unit.lower()}", PASSWORD, "viewer", unit=unit)
    auth.create_user(con, "xem.98", PASSWORD, "viewer", unit="98")
    with pytest.raises(ScopeError):
        auth.disable_account(con, admin, "xem.98")
    assert set(auth.list_accounts(con, admin)["username"]) == {"qt.99", "xa.99004"}
    with pytest.raises(AuthError, match="Cán bộ xã phải thuộc một xã"):
        auth.create_user(con, "xa.sai", PASSWORD, "commune", unit="99")


def test_the_year_end_and_the_official_report_count_approved_months_only(tiny_db: Settings, tiny_con) -> None:
    from xkld_geo.reporting import emulation, report

    con = tiny_con
    _, tinh, clerk, _ = _accounts(con)
    before = emulation.inputs(con, 2026, "99", tiny_db.today, tiny_db.report_due_day).set_index("unit_code")
    ingest.import_file(con, _csv("99001", 500) + b"02/2026,99002,KR,Nam,EPS,,400\n", "lon.csv", "departures", clerk,
                       tiny_db)
    approval.approve(con, tinh, MONTH, "99002")           # 99001 stays submitted
    counted = emulation.inputs(con, 2026, "99", tiny_db.today, tiny_db.report_due_day).set_index("unit_code")
    everything = emulation.inputs(con, 2026, "99", tiny_db.today, tiny_db.report_due_day,
                                  approved_only=False).set_index("unit_code")
    assert counted.at["99002", "attainment"] > before.at["99002", "attainment"]          # approved: counts
    assert everything.at["99001", "attainment"] > counted.at["99001", "attainment"]      # submitted: left out
    data = report.gather(con, report.parse_period("2026-02"), "99", tiny_db.today, tiny_db.report_due_day)
    assert data.communes.set_index("unit_code").at["99002", "period"] == 400
    assert data.communes.set_index("unit_code").at["99001", "period"] != 500
    assert "1 xã–tháng đã nhận chưa được phê duyệt" in data.approval_note
    everything = report.gather(con, report.parse_period("2026-02"), "99", tiny_db.today, tiny_db.report_due_day,
                               approved_only=False)
    assert everything.communes.set_index("unit_code").at["99001", "period"] == 500


def test_the_submitter_is_told_of_each_decision_through_the_outbox(tiny_db: Settings, tiny_con) -> None:
    """A return and an approval each put one e-mail to the submitter in the outbox, in the decision's
    own transaction; the province's digest counts what waits and lists the soft-rule outliers."""
    from xkld_geo.notifications import notices, subscriptions

    con = tiny_con
    xa, tinh, _, tw = _accounts(con)
    subscriptions.save_contact(con, xa, "can-bo.99001@minhhoa.example", None)
    monthly.submit(con, xa, "99001", MONTH, _form(2), "xác nhận", tiny_db, tiny_db.today)
    assert notices.review_backlog(con, "99", MONTH) == {"waiting": 1, "returned": 0}
    approval.return_month(con, tinh, MONTH, "99001", "Thiếu <b>số</b> người dự sàn")
    assert notices.review_backlog(con, "99", MONTH) == {"waiting": 0, "returned": 1}
    monthly.submit(con, xa, "99001", MONTH, _form(2), "đã sửa", tiny_db, tiny_db.today)
    approval.approve(con, tinh, MONTH, "99001")
    sent = con.execute("SELECT kind, recipients, subject, body_html FROM outbox WHERE kind = 'review' "
                       "ORDER BY created_at").fetchall()
    assert len(sent) == 2
    assert all("can-bo.99001@minhhoa.example" in str(r[1]) for r in sent)
    assert "bị trả lại" in sent[0][2] and "đã được duyệt" in sent[1][2]
    assert "&lt;b&gt;số&lt;/b&gt;" in sent[0][3] and "<b>số</b>" not in sent[0][3]
    assert subscriptions.account_provinces(con, tinh) == ("99",)
    assert subscriptions.account_provinces(con, xa) == ()
    assert subscriptions.account_provinces(con, tw) is None
