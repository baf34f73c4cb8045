"""People in charge: editing rights, audit, the XLSX import, and never on the public page (issue 16)."""
from __future__ import annotations

import io

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import run_page
from xkld_geo.access import auth
from xkld_geo.database import db
from xkld_geo.errors import IngestError, QueryError, XkldError
from xkld_geo.intake import kinds
from xkld_geo.reporting import people
from xkld_geo.settings import PROJECT_ROOT, Settings

APP = str(PROJECT_ROOT / "app.py")
PLANNER = auth.User("ke_hoach", "Kế hoạch", "planner")
VIEWER = auth.User("lanh_dao", "Lãnh đạo", "viewer")


def _rows(*people_rows: tuple[str, str, str, str]) -> pd.DataFrame:
    return pd.DataFrame(people_rows, columns=people.COLUMNS)


def test_planner_edits_a_commune_and_the_change_is_audited(tiny_con) -> None:
    n = people.save_unit(tiny_con, PLANNER, "commune", "99001", _rows(
        ("pho_chu_tich", "Trần Thị Bình", "Phó Chủ tịch UBND", "0912 345 678"),
        ("can_bo", "Lê Văn Cường", "Công chức", "0987.654.321")))
    assert n == 2
    stored = people.listing(tiny_con, "99", "commune")
    own = stored[stored["unit_code"] == "99001"]
    assert list(own["full_name"]) == ["Lê Văn Cường", "Trần Thị Bình"] and not own["is_demo"].any()
    assert "0912345678" in set(own["phone"])
    line = tiny_con.execute("SELECT username, action, target, detail FROM audit_log WHERE action = 'people_edit'").fetchall()
    assert line[0][:3] == ("ke_hoach", "people_edit", "commune:99001") and "Trần Thị Bình" in line[0][3]
    assert people.contacts(tiny_con, "99").loc["99001", "phone"] == "0987654321"


@pytest.mark.parametrize("row, message", [
    (("chu_tich", "A B", "", ""), "vai trò"),
    (("can_bo", "  ", "", ""), "thiếu họ và tên"),
    (("can_bo", "Nguyễn Văn A", "", "12345"), "số điện thoại"),
])
def test_bad_rows_are_refused_and_nothing_is_written(tiny_con, row, message) -> None:
    before = people.listing(tiny_con, "99")
    with pytest.raises(QueryError) as caught:
        people.save_unit(tiny_con, PLANNER, "commune", "99001", _rows(row))
    assert message in caught.value.message
    pd.testing.assert_frame_equal(people.listing(tiny_con, "99"), before)


def test_a_viewer_cannot_edit(tiny_con) -> None:
    with pytest.raises(QueryError):
        people.save_unit(tiny_con, VIEWER, "commune", "99001", _rows(("can_bo", "Nguyễn Văn A", "", "")))


def _xlsx(rows: list[list[str]]) -> bytes:
    k = people.PEOPLE
    headers = [c.header for c in k.columns]
    frame = pd.DataFrame([r + [""] * (len(headers) - len(r)) for r in rows], columns=headers)
    buffer = io.BytesIO()
    frame.to_excel(buffer, index=False)
    return buffer.getvalue()


def test_import_replaces_the_units_of_the_file_and_refuses_bad_units_whole(tiny_con, tiny_db: Settings) -> None:
    data = _xlsx([
        ["Tỉnh", "", "", "Tỉnh Thử Nghiệm", "", "Phó Chủ tịch phụ trách", "Hoàng Văn Hải", "Phó Chủ tịch UBND tỉnh", "0911111111"],
        ["Xã", "99002", "", "", "", "Cán bộ phụ trách", "Phạm Thị Lan", "Công chức", "0922222222"],
        ["Xã", "99003", "", "", "", "Cán bộ phụ trách", "Đỗ Văn Nam", "", "0933333333"],
        ["Xã", "99003", "", "", "", "Thành viên Ban Chỉ đạo", "Vũ Thị Mai", "Thành viên", "sai-so"],
    ])
    before = people.listing(tiny_con, "99")
    report = people.import_people(tiny_con, data, "nguoi.xlsx", PLANNER, tiny_db)
    assert (report.accepted, report.rejected, report.units_replaced) == (2, 2, 2)
    assert set(report.rejects["Dòng"]) == {4, 5}
    after = people.listing(tiny_con, "99")
    assert list(after.loc[after["unit_code"] == "99002", "full_name"]) == ["Phạm Thị Lan"]
    assert after.loc[after["unit_code"] == "99003"].reset_index(drop=True).equals(
        before.loc[before["unit_code"] == "99003"].reset_index(drop=True))      # bad unit left as it was
    assert tiny_con.execute("SELECT kind, outcome FROM import_log").fetchall()[-1] == ("people", "partial")
    with pytest.raises(IngestError):
        people.import_people(tiny_con, data, "nguoi.xlsx", VIEWER, tiny_db)


def test_import_reads_addresses_and_refuses_bad_ones(tiny_con, tiny_db: Settings) -> None:
    data = _xlsx([
        ["Xã", "99002", "", "", "", "Cán bộ phụ trách", "Phạm Thị Lan", "", "", " Lan@Xa.Example "],
        ["Xã", "99003", "", "", "", "Cán bộ phụ trách", "Đỗ Văn Nam", "", "", "khong-phai-thu"],
    ])
    report = people.import_people(tiny_con, data, "nguoi.xlsx", PLANNER, tiny_db)
    assert (report.accepted, report.rejected) == (1, 1)
    assert "thư điện tử không hợp lệ" in " ".join(report.rejects.astype(str).stack())
    after = people.listing(tiny_con, "99")
    assert list(after.loc[after["unit_code"] == "99002", "email"]) == ["lan@xa.example"]


def test_template_is_read_back(tiny_con) -> None:
    from xkld_geo.intake import spreadsheets

    sheet = spreadsheets.read(kinds.template_xlsx_of(people.PEOPLE), "mau.xlsx", people.PEOPLE,
                              spreadsheets.Limits(10**6, 100))
    assert len(sheet.frame) == 1 and "nguoi_phu_trach" in sheet.frame


def _page(role: str) -> AppTest:
    return run_page("pages/11_Nguoi_phu_trach.py", role=role)


def test_people_page_viewer_sees_but_cannot_edit(app_env: Settings) -> None:
    at = _page("viewer")
    assert not at.exception and not at.error
    assert len(at.dataframe[0].value) > 0 and "Họ và tên" in at.dataframe[0].value.columns
    assert not [b for b in at.button if b.key == "people_save"]


def test_people_page_planner_saves(app_env: Settings) -> None:
    at = _page("planner")
    assert not at.exception
    at.selectbox(key="people_province").set_value("99").run()
    unit = at.selectbox(key="people_unit").value
    level, code = unit.split(":")
    con = db.connect(app_env)
    stored = con.execute("SELECT count(*) FROM people_in_charge WHERE unit_level = $l AND unit_code = $c",
                         {"l": level, "c": code}).fetchone()[0]
    at.button(key="people_save").click().run()
    assert not at.exception and not at.error
    assert at.success and f"Đã lưu {stored} người" in at.success[0].value
    audit = con.execute("SELECT username, target FROM audit_log WHERE action = 'people_edit'").fetchall()
    assert audit == [("test_planner", unit)]


def test_public_page_shows_no_names_or_phones(app_env: Settings) -> None:
    con = db.connect(app_env)
    names = [n for n, in con.execute("SELECT full_name FROM people_in_charge").fetchall()]
    phones = [p for p, in con.execute("SELECT phone FROM people_in_charge WHERE phone IS NOT NULL").fetchall()]
    at = run_page("pages/1_Cong_khai.py", role=None)
    assert not at.exception
    shown = " ".join(str(e.value) for kind in ("markdown", "caption", "text", "metric", "subheader", "title")
                     for e in getattr(at, kind))
    shown += " ".join(df.value.to_string() for df in at.dataframe)
    assert names and not any(n in shown for n in names)
    assert not any(p in shown for p in phones)


def test_import_refuses_units_outside_the_accounts_scope(tiny_con, tiny_db: Settings) -> None:
    auth.create_user(tiny_con, "kh.99", "mat-khau-thu-nghiem", "planner", unit="99")
    planner99 = auth.account(tiny_con, "kh.99")
    data = _xlsx([
        ["Xã", "99002", "", "", "", "Cán bộ phụ trách", "Phạm Thị Lan", "Công chức", "0922222222"],
        ["Xã", "98001", "", "", "", "Cán bộ phụ trách", "Đỗ Văn Nam", "", "0933333333"],
        ["Tỉnh", "", "", "Thành phố Mẫu", "", "Phó Chủ tịch phụ trách", "Hoàng Văn Hải", "", "0911111111"],
    ])
    before = people.listing(tiny_con, "98")
    report = people.import_people(tiny_con, data, "nguoi.xlsx", planner99, tiny_db)
    assert (report.accepted, report.rejected) == (1, 2)
    assert report.rejects["Lý do"].str.contains("ngoài phạm vi của tài khoản kh.99").all()
    assert people.listing(tiny_con, "98").equals(before)
    with pytest.raises(XkldError, match="ngoài phạm vi"):
        people.save_unit(tiny_con, planner99, "province", "98", _rows(("can_bo", "Nguyễn Văn A", "", "")))
