"""Importing the protection kinds (cases, families' clubs, returnees) and the register's several
priority groups: every bad cell refused with its row, column and a Vietnamese reason; the rest in;
re-importing the same file changes nothing; a status moves forward only, one audit row per step."""
from __future__ import annotations

import dataclasses

import pytest

from tests.conftest import TODAY
from xkld_geo.intake import ingest, kinds

CASE_HEAD = "Mã vụ việc,Loại vụ việc,Ngày tiếp nhận,Mã xã,Thị trường,Số giấy phép doanh nghiệp,Trạng thái,Ngày chuyển trạng thái,Cơ quan giải quyết,Kết quả,Ghi chú nội bộ\n"
GOOD_CASE = "VV-1,Lừa đảo,02/03/2026,99001,Nhật Bản,,Đang xác minh,05/03/2026,Công an tỉnh,,ghi chú\n"


def _import(con, settings, text: str, kind: str, name: str = "f.csv") -> ingest.ImportReport:
    return ingest.import_file(con, text.encode("utf-8"), name, kind, "can_bo", settings)


def _reasons(report: ingest.ImportReport) -> list[tuple[int, str, str]]:
    return list(zip(report.rejects["Dòng"], report.rejects["Cột"], report.rejects["Lý do"]))


@pytest.mark.parametrize(("kind", "head", "row", "field", "reason"), [
    ("cases", CASE_HEAD, "VV-2,Trộm cắp,02/03/2026,99001,JP,,,,,,\n", "Loại vụ việc", "không có trong danh mục"),
    ("cases", CASE_HEAD, "VV-2,Lừa đảo,02/04/2026,99001,JP,,,,,,\n", "Ngày tiếp nhận", "ngoài khoảng"),
    ("cases", CASE_HEAD, "VV-2,Lừa đảo,02/03/2026,99001,JP,GP-KHONG,,,,,\n", "Số giấy phép doanh nghiệp",
     "không có trong danh sách doanh nghiệp được cấp phép"),
    ("cases", CASE_HEAD, "VV-2,Lừa đảo,02/03/2026,99001,JP,,Xong rồi,,,,\n", "Trạng thái", "không có trong danh mục"),
    ("cases", CASE_HEAD, "VV-2,Lừa đảo,02/03/2026,99001,JP,,Đã kết thúc,,,,\n", "Kết quả", "cần ghi kết quả"),
    ("cases", CASE_HEAD, "VV-2,Lừa đảo,02/03/2026,99001,JP,,,01/03/2026,,,\n", "Ngày chuyển trạng thái",
     "trước ngày tiếp nhận"),
    ("cases", CASE_HEAD, "VV 2 có dấu,Lừa đảo,02/03/2026,99001,JP,,,,,,\n", "Mã vụ việc", "mã chỉ gồm"),
    ("cases", CASE_HEAD, "VV-1,Lừa đảo,02/03/2026,99001,JP,,,,,,\n", "Mã vụ việc", "trùng mã với dòng 2"),
    ("cases", CASE_HEAD, "VV-2,Lừa đảo,02/03/2026,12345,JP,,,,,,\n", "Mã xã", ""),
    ("clubs", "Năm,Mã xã,Số câu lạc bộ,Số gia đình thành viên,Số buổi sinh hoạt\n", "2026,99001,1,-3,2\n",
     "Số gia đình thành viên", "số âm"),
    ("clubs", "Năm,Mã xã,Số câu lạc bộ,Số gia đình thành viên,Số buổi sinh hoạt\n", "2026,99001,1,,2\n",
     "Số gia đình thành viên", "thiếu giá trị"),
    ("returnees", "Tháng,Mã xã,Thị trường,Nghề khi về nước,Số người về nước,Số người đã có việc làm\n",
     "02/2026,99001,JP,Cơ khí,2,3\n", "Số người đã có việc làm", "lớn hơn số người về nước"),
    ("returnees", "Tháng,Mã xã,Thị trường,Nghề khi về nước,Số người về nước,Số người đã có việc làm\n",
     "02/2026,99001,Sao Hỏa,Cơ khí,2,1\n", "Thị trường", "không có trong danh mục"),
    ("returnees", "Tháng,Mã xã,Thị trường,Nghề khi về nước,Số người về nước,Số người đã có việc làm\n",
     "02/2026,99001,JP,,2,1\n", "Nghề khi về nước", "thiếu giá trị"),
])
def test_a_bad_cell_is_refused_with_its_row_column_and_reason(tiny_con, tiny_db, kind, head, row, field,
                                                              reason) -> None:
    good = {"cases": GOOD_CASE, "clubs": "2026,99002,1,20,3\n", "returnees": "02/2026,99002,KR,Xây dựng,3,2\n"}[kind]
    report = _import(tiny_con, tiny_db, head + good + row, kind)
    assert report.accepted == 1 and report.rejected == 1, report.rejects
    line, column, why = _reasons(report)[0]
    assert line == 3 and field in column and reason in why, (line, column, why)
    assert report.rejects_csv().startswith(b"\xef\xbb\xbf")


def test_templates_of_the_new_kinds_are_read_back(tiny_con, tiny_db) -> None:
    for key in ("cases", "clubs", "returnees"):
        assert key in kinds.KINDS
        text = kinds.template_csv(key).decode("utf-8-sig")
        assert text.splitlines()[0].split(",")[0] == kinds.KINDS[key].columns[0].header
        assert kinds.template_xlsx(key)[:2] == b"PK"


def test_cases_import_again_is_unchanged_then_moves_forward_with_audit_rows(tiny_con, tiny_db) -> None:
    first = _import(tiny_con, tiny_db, CASE_HEAD + GOOD_CASE, "cases")
    assert (first.accepted, first.outcome) == (1, "ok")
    again = _import(tiny_con, tiny_db, CASE_HEAD + GOOD_CASE, "cases")
    assert (again.accepted, again.already_present, again.outcome) == (0, 1, "unchanged")
    closed = _import(tiny_con, tiny_db, CASE_HEAD + GOOD_CASE.replace("Đang xác minh,05/03/2026", "Đã kết thúc,10/03/2026")
                     .replace(",,ghi", ",Đã hỗ trợ về nước,ghi"), "cases")
    assert closed.accepted == 1
    audit = tiny_con.execute("SELECT action, detail FROM audit_log WHERE target = 'VV-1' ORDER BY at_time").fetchall()
    assert audit == [("case_opened", "fraud; received"), ("case_status", "received → verifying"),
                     ("case_status", "verifying → closed")]
    back = _import(tiny_con, tiny_db, CASE_HEAD + GOOD_CASE, "cases")   # closed → verifying: refused
    assert back.rejected == 1 and "không chuyển ngược" in _reasons(back)[0][2]
    assert tiny_con.execute("SELECT status, outcome FROM cases WHERE case_ref = 'VV-1'").fetchone() == (
        "closed", "Đã hỗ trợ về nước")


def test_clubs_and_returnees_reimport_replace_not_add(tiny_con, tiny_db) -> None:
    head = "Tháng,Mã xã,Thị trường,Nghề khi về nước,Số người về nước,Số người đã có việc làm\n"
    rows = "02/2026,99001,JP,Cơ khí,4,3\n02/2026,99001,KR,Cơ khí,1,1\n"
    assert _import(tiny_con, tiny_db, head + rows, "returnees").accepted == 2
    assert _import(tiny_con, tiny_db, head + rows, "returnees").outcome == "unchanged"
    _import(tiny_con, tiny_db, head + "02/2026,99001,JP,Cơ khí,5,3\n", "returnees")
    assert tiny_con.execute("""SELECT market, returned, found_work, is_demo FROM returnees
                               WHERE commune_code = '99001' AND month = DATE '2026-02-01'""").fetchall() == [
        ("JP", 5, 3, False)]
    clubs = "Năm,Mã xã,Số câu lạc bộ,Số gia đình thành viên,Số buổi sinh hoạt\n2026,99001,1,25,2\n"
    for _ in range(2):
        _import(tiny_con, tiny_db, clubs, "clubs")
    assert tiny_con.execute("SELECT clubs, members, meetings FROM family_clubs WHERE year = 2026 "
                            "AND commune_code = '99001'").fetchall() == [(1, 25, 2)]


def test_a_failed_write_leaves_nothing_half_written(tiny_con, tiny_db, monkeypatch) -> None:
    from xkld_geo.protection import cases

    before = tiny_con.execute("SELECT count(*) FROM cases").fetchone()[0], \
        tiny_con.execute("SELECT count(*) FROM audit_log WHERE action LIKE 'case%'").fetchone()[0]
    calls = {"n": 0}
    real = cases.move

    def failing(*args, **kwargs):
        calls["n"] += 1
        raise OSError("disk went away")
    monkeypatch.setattr(cases, "move", failing)
    with pytest.raises(Exception):
        _import(tiny_con, tiny_db, CASE_HEAD + GOOD_CASE, "cases")
    monkeypatch.setattr(cases, "move", real)
    assert calls["n"] == 1
    after = tiny_con.execute("SELECT count(*) FROM cases").fetchone()[0], \
        tiny_con.execute("SELECT count(*) FROM audit_log WHERE action LIKE 'case%'").fetchone()[0]
    assert after == before
    assert tiny_con.execute("SELECT outcome FROM import_log ORDER BY import_id DESC LIMIT 1").fetchone()[0] == "failed"


def test_a_register_row_with_two_groups_keeps_both(tiny_con, tiny_db) -> None:
    register = ("Số CCCD/CMND,Ngày xuất cảnh,Giới tính,Mã xã,Thị trường,Hình thức,Nhóm ưu tiên\n"
                "079199001234,12/02/2026,Nữ,99001,Nhật Bản,Thực tập sinh kỹ thuật,Dân tộc thiểu số; Hộ nghèo\n"
                "079199001235,12/02/2026,Nam,99001,Nhật Bản,Thực tập sinh kỹ thuật,Người thất nghiệp\n"
                "079199001236,12/02/2026,Nam,99001,Nhật Bản,Thực tập sinh kỹ thuật,\n")
    settings = dataclasses.replace(tiny_db)
    report = _import(tiny_con, settings, register, "register")
    assert report.accepted == 3, report.rejects
    primary = sorted(r[0] for r in tiny_con.execute("SELECT priority_group FROM register_entries").fetchall())
    assert primary == ["ho_ngheo", "khac", "that_nghiep"]    # the first in the declared order is the primary
    groups = sorted(r[0] for r in tiny_con.execute("SELECT priority_group FROM worker_groups").fetchall())
    assert groups == ["dan_toc_thieu_so", "ho_ngheo", "that_nghiep"]
    assert _import(tiny_con, settings, register, "register").already_present == 3
    assert tiny_con.execute("SELECT count(*) FROM worker_groups").fetchone()[0] == 3
    _ = TODAY
