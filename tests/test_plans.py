"""Quota plans: drafts, version checks, approval into the official quotas, audit, the annex."""
from __future__ import annotations

import io

import openpyxl
import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import session_token
from xkld_geo import auth, db, plans
from xkld_geo.errors import PlanError
from xkld_geo.settings import PROJECT_ROOT, Settings, load_settings

PLANNER = auth.User("kehoach", "Kế hoạch", "planner")
ADMIN = auth.User("quantri", "Quản trị", "admin")





def _draft(tiny_con, target: int = 60, **kw) -> tuple[int, int, dict[str, int]]:
    base = plans.base_table(tiny_con, 2026, "99")
    table = plans.propose(base, plans.Params(target, floor=2, cap_pct=None))
    quotas = dict(zip(table["code"], table["proposed"].astype(int)))
    pid, version = plans.save_draft(tiny_con, year=2026, province="99", name="Phương án A",
                                    params=plans.Params(target, floor=2, cap_pct=None), quotas=quotas,
                                    user=PLANNER, **kw)
    return pid, version, quotas


def test_draft_reloads_identically(tiny_con) -> None:
    pid, version, quotas = _draft(tiny_con)
    head, loaded = plans.load(tiny_con, pid)
    assert loaded == quotas and sum(loaded.values()) == 60
    assert (head["status"], head["author"], head["version"], head["method"]) == ("draft", "kehoach", 1, "population")


def test_stale_save_is_refused(tiny_con) -> None:
    pid, version, quotas = _draft(tiny_con)
    plans.save_draft(tiny_con, year=2026, province="99", name="A (sửa)", params=plans.Params(60), quotas=quotas,
                     user=PLANNER, plan_id=pid, version=version)          # the first planner saves
    with pytest.raises(PlanError) as err:                                  # the second one is stale
        plans.save_draft(tiny_con, year=2026, province="99", name="A (sửa khác)", params=plans.Params(60),
                         quotas=quotas, user=ADMIN, plan_id=pid, version=version)
    assert err.value.details["reason"] == "stale_version"
    assert plans.load(tiny_con, pid)[0]["name"] == "A (sửa)"


def test_approval_becomes_the_official_quota(tiny_con) -> None:
    pid, _, quotas = _draft(tiny_con, target=77)
    with pytest.raises(PlanError):
        plans.approve(tiny_con, pid, ADMIN)                                     # drafts are submitted first
    plans.submit(tiny_con, pid, PLANNER)
    with pytest.raises(PlanError):
        plans.approve(tiny_con, pid, PLANNER)                                   # planners cannot approve
    before = tiny_con.execute("SELECT quota FROM v_attainment WHERE year = 2026 AND unit_code = '99'").fetchone()[0]
    changed = plans.approve(tiny_con, pid, ADMIN)
    after = tiny_con.execute("SELECT quota FROM v_attainment WHERE year = 2026 AND unit_code = '99'").fetchone()[0]
    assert after == 77 != before and changed > 0
    official = dict(tiny_con.execute("SELECT unit_code, quota FROM quotas WHERE year = 2026 AND unit_level = 'commune' "
                                "AND unit_code LIKE '99%'").fetchall())
    assert official == quotas
    log = tiny_con.execute("SELECT count(*) FROM quota_changes WHERE plan_id = $p", {"p": pid}).fetchone()[0]
    assert log == changed
    actions = [r[0] for r in tiny_con.execute("SELECT action FROM audit_log ORDER BY rowid").fetchall()]
    assert actions[-3:] == ["plan_saved", "plan_submitted", "plan_approved"]


def test_approved_plans_survive_a_rebuild(tiny_db: Settings) -> None:
    from xkld_geo import warehouse

    tiny_con = db.open_connection(tiny_db.db_path)
    pid, _, quotas = _draft(tiny_con, target=91)
    plans.submit(tiny_con, pid, PLANNER)
    plans.approve(tiny_con, pid, ADMIN)
    tiny_con.close()
    warehouse.build(tiny_db, force=True)
    tiny_con = db.open_connection(tiny_db.db_path)
    assert tiny_con.execute("SELECT quota FROM v_attainment WHERE year = 2026 AND unit_code = '99'").fetchone()[0] == 91
    tiny_con.close()


@pytest.mark.parametrize("value,reason", [(-3, "số âm"), (2.5, "không phải số nguyên"), ("abc", "không phải là số"),
                                          (10_000, "vượt mức trần")])
def test_bad_edits_are_refused_with_the_reason(tiny_con, value: object, reason: str) -> None:
    table = plans.propose(plans.base_table(tiny_con, 2026, "99"), plans.Params(60, floor=2, cap_pct=150))
    ok, errors = plans.check_edits(table, {"99001": value})
    assert not ok and len(errors) == 1 and reason in errors[0] and "99001" in errors[0]


def test_annex_xlsx_and_csv(tiny_con) -> None:
    pid, _, quotas = _draft(tiny_con, target=60)
    plans.submit(tiny_con, pid, PLANNER)
    plans.approve(tiny_con, pid, ADMIN)
    ws = openpyxl.load_workbook(io.BytesIO(plans.annex_xlsx(tiny_con, pid, "Tỉnh Thử Nghiệm")))["Phụ lục"]
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in ws["C1"].value and "NĂM 2026" in ws["A3"].value
    codes = [ws.cell(row=r, column=2).value for r in range(7, 13)]
    assert codes == sorted(quotas) and all(isinstance(c, str) and len(c) == 5 for c in codes)
    assert [ws.cell(row=r, column=3).value for r in range(7, 9)] == ["Xã Thử 1", "Xã Thử 2"]
    assert ws.cell(row=13, column=4).value == 60 == sum(ws.cell(row=r, column=4).value for r in range(7, 13))
    assert any("CHỦ TỊCH" in str(c.value) for row in ws.iter_rows() for c in row)
    csv = plans.annex_csv(tiny_con, pid).decode("utf-8-sig")
    assert "Xã Thử 1" in csv and ",99001," in csv


def test_midyear_moves_keep_the_total(tiny_con) -> None:
    rows, moves = plans.reallocation_table(tiny_con, 2026, 3, "99")
    from xkld_geo.allocation import apply_moves

    quotas = dict(zip(rows["unit_code"], rows["quota"].astype(int)))
    assert sum(apply_moves(quotas, moves).values()) == sum(quotas.values())


# --- the workbench page -------------------------------------------------------------------------




def _workbench(role: str = "planner") -> AppTest:
    at = AppTest.from_file(str(PROJECT_ROOT / "pages/6_Phan_bo_chi_tieu.py"), default_timeout=30)
    at.query_params["unit"] = "99"
    at.session_state["auth_token"] = session_token(load_settings(), role)
    return at.run()


def test_viewer_cannot_open_the_workbench(app_env: Settings) -> None:
    at = _workbench("viewer")
    assert len(at.error) == 1 and "không có quyền" in at.error[0].value


def test_workbench_allocates_and_totals(app_env: Settings) -> None:
    at = _workbench()
    assert not at.exception and not at.error
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Tổng đề xuất"] == metrics["Chỉ tiêu tỉnh"] and metrics["Còn lại chưa phân bổ"] == "0"


def test_edit_over_the_cap_is_refused(app_env: Settings) -> None:
    """AppTest cannot type into st.data_editor, so the page's edit path is driven directly: the table
    the page shows, one cell over its cap, through the check the page applies to every edit."""
    at = _workbench()
    assert not at.exception
    table = plans.propose(plans.base_table(db.connect(app_env), 2027, "99"),
                          plans.Params(60, floor=4, cap_pct=150))
    ok, errors = plans.check_edits(table, {"99001": int(table["cap"].iloc[0]) + 1})
    assert not ok and "vượt mức trần" in errors[0]


def test_saving_and_reloading_a_draft_in_the_page(app_env: Settings) -> None:
    at = _workbench()
    at.text_input(key="plan_name").input("Phương án thử")
    at.button(key="plan_save").click().run()
    assert not at.exception and any("Đã lưu phương án" in s.value for s in at.success)
    before = {m.label: m.value for m in at.metric}
    at.button(key="plan_load").click().run()
    assert not at.exception and not at.error
    after = {m.label: m.value for m in at.metric}
    assert after["Tổng đề xuất"] == before["Tổng đề xuất"]
    assert after["Xã giữ nguyên"] == "6"  # every commune holds its saved value


def test_stale_save_is_refused_in_the_page(app_env: Settings) -> None:
    """Two planners load the same draft; the first saves; the second one's save is refused."""
    first = _workbench()
    first.text_input(key="plan_name").input("Chung")
    first.button(key="plan_save").click().run()
    second = _workbench()
    second.button(key="plan_load").click().run()
    first.button(key="plan_load").click().run()
    first.button(key="plan_save").click().run()                     # version 1 → 2
    assert any("phiên bản 2" in s.value for s in first.success)
    second.button(key="plan_save").click().run()                    # still holds version 1
    assert not second.exception
    assert any("đã được lưu bởi người khác" in e.value for e in second.error)


def test_approval_in_the_page_changes_v_attainment(app_env: Settings) -> None:
    at = _workbench("admin")
    at.selectbox(key="plan_year").set_value(2026).run()
    at.number_input(key="plan_target").set_value(123).run()
    at.text_input(key="plan_name").input("Chính thức")
    at.button(key="plan_save").click().run()
    at.button(key="plan_submit").click().run()
    at.button(key="plan_approve").click().run()
    assert not at.exception and any("Đã phê duyệt" in s.value for s in at.success)
    con = db.connect(app_env)
    assert con.execute("SELECT quota FROM v_attainment WHERE year = 2026 AND unit_code = '99'").fetchone()[0] == 123
    at.run()
    assert len(at.get("download_button")) == 2  # the annex, XLSX and CSV, once approved
