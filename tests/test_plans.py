"""Quota plans: drafts, version checks, approval into the official quotas, audit, the annex."""
from __future__ import annotations

import io
import json

import openpyxl
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import run_page
from xkld_geo.access import auth
from xkld_geo.database import db
from xkld_geo.errors import AllocationError, PlanError
from xkld_geo.planning import annex, plans, reallocation
from xkld_geo.settings import Settings

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
    from xkld_geo.warehouse import assembly

    tiny_con = db.open_connection(tiny_db.db_path)
    pid, _, quotas = _draft(tiny_con, target=91)
    plans.submit(tiny_con, pid, PLANNER)
    plans.approve(tiny_con, pid, ADMIN)
    tiny_con.close()
    assembly.build(tiny_db, force=True)
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
    ws = openpyxl.load_workbook(io.BytesIO(annex.annex_xlsx(tiny_con, pid, "Tỉnh Thử Nghiệm")))["Phụ lục"]
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in ws["C1"].value and "NĂM 2026" in ws["A3"].value
    codes = [ws.cell(row=r, column=2).value for r in range(7, 13)]
    assert codes == sorted(quotas) and all(isinstance(c, str) and len(c) == 5 for c in codes)
    assert [ws.cell(row=r, column=3).value for r in range(7, 9)] == ["Xã Thử 1", "Xã Thử 2"]
    assert ws.cell(row=13, column=4).value == 60 == sum(ws.cell(row=r, column=4).value for r in range(7, 13))
    assert any("CHỦ TỊCH" in str(c.value) for row in ws.iter_rows() for c in row)
    csv = annex.annex_csv(tiny_con, pid).decode("utf-8-sig")
    assert "Xã Thử 1" in csv and ",99001," in csv


def test_a_reloaded_draft_keeps_every_parameter_and_only_its_hand_edits(tiny_con) -> None:
    base = plans.base_table(tiny_con, 2026, "99")
    params = plans.Params(70, "blend", 0.3, 3, 200.0, (("99002", 5),))
    quotas = dict(zip(base["code"], plans.propose(base, params)["proposed"].astype(int)))
    pid, _ = plans.save_draft(tiny_con, year=2026, province="99", name="B", params=params, quotas=quotas,
                              user=PLANNER, comment="ghi chú")
    head, saved = plans.load(tiny_con, pid)
    assert plans.stored_params(head, saved) == params == plans.reload_params(base, head, saved)
    again = plans.propose(base, plans.reload_params(base, head, saved))
    assert dict(zip(again["code"], again["proposed"])) == quotas and list(again.loc[again["frozen"], "code"]) == ["99002"]


def test_reload_freezes_what_the_stored_parameters_no_longer_give(tiny_con) -> None:
    """A commune whose saved value no longer follows from the stored parameters keeps that value."""
    base = plans.base_table(tiny_con, 2026, "99")
    params = plans.Params(60, floor=2, cap_pct=None)
    quotas = dict(zip(base["code"], plans.propose(base, params)["proposed"].astype(int)))
    quotas["99001"], quotas["99006"] = quotas["99001"] + 1, quotas["99006"] - 1   # as if the data changed
    head = pd.Series({"params": json.dumps(params.__dict__), "method": "population"})
    reloaded = plans.reload_params(base, head, quotas)
    again = plans.propose(base, reloaded)
    assert dict(zip(again["code"], again["proposed"])) == quotas
    assert {"99001", "99006"} <= set(dict(reloaded.frozen)) and len(reloaded.frozen) < len(quotas)


def test_stored_params_of_an_old_plan_take_the_defaults() -> None:
    head = pd.Series({"params": json.dumps({"target": 50, "method": "nope"}), "method": "nope"})
    assert plans.stored_params(head, {"a": 50}) == plans.Params(50)
    assert plans.stored_params(pd.Series({"params": None, "method": "last_year"}), {"a": 7}) == \
        plans.Params(7, "last_year")


def test_infeasible_constraints_still_give_a_table_to_edit(tiny_con) -> None:
    base = plans.base_table(tiny_con, 2026, "99")
    table, error = plans.propose_or_explain(base, plans.Params(10, floor=4, cap_pct=None, frozen=(("99001", 3),)))
    assert isinstance(error, AllocationError) and error.details["constraint"] == "frozen_out_of_bounds"
    assert table["proposed"].tolist()[:2] == [3, pd.NA] and int(table["proposed"].sum()) == 3
    assert len(table) == 6 and table["frozen"].sum() == 1


def test_default_target_and_edited_values() -> None:
    base = pd.DataFrame({"current": [None, None], "last_year": [100.0, 100.0]})
    assert plans.default_target(base) == 210
    assert plans.default_target(base.assign(current=[5, None])) == 5
    codes = pd.Series(["a", "b", "c", "d"])
    before = pd.Series([1, 2, pd.NA, pd.NA], dtype="Int64")
    after = pd.Series([1.0, 3.0, None, 4.0])
    assert plans.edited_values(codes, before, after) == {"b": 3.0, "d": 4.0}


def test_an_emptied_cell_is_refused(tiny_con) -> None:
    table = plans.propose(plans.base_table(tiny_con, 2026, "99"), plans.Params(60, floor=2, cap_pct=150))
    ok, errors = plans.check_edits(table, {"99001": float("nan"), "99002": None})
    assert not ok and len(errors) == 2 and all("ô trống" in e for e in errors)


def test_accepted_moves_are_parsed_and_bad_amounts_refused() -> None:
    moves = plans.accepted_moves([("a", "b", 3.0, True), ("a", "c", 9, False)])
    assert [(m.from_code, m.to_code, m.amount) for m in moves] == [("a", "b", 3)]
    for bad in (-1, 2.5, float("nan"), "x", None):
        with pytest.raises(AllocationError):
            plans.accepted_moves([("a", "b", bad, True)])


def test_midyear_moves_keep_the_total(tiny_con) -> None:
    rows, moves = reallocation.reallocation_table(tiny_con, 2026, 3, "99")
    from xkld_geo.planning.allocation import apply_moves

    quotas = dict(zip(rows["unit_code"], rows["quota"].astype(int)))
    assert sum(apply_moves(quotas, moves).values()) == sum(quotas.values())


# --- the workbench page -------------------------------------------------------------------------




def _workbench(role: str = "planner") -> AppTest:
    return run_page("pages/6_Phan_bo_chi_tieu.py", role=role, query={"unit": "99"})


def _edit(at: AppTest, row: int, value: object) -> AppTest:
    """Type ``value`` into the Đề xuất cell of ``row`` of the proposals editor, as the browser sends it."""
    key = at.data_editor[0].key
    at.session_state[key] = {"edited_rows": {row: {"Đề xuất": value}}, "added_rows": [], "deleted_rows": []}
    return at.run()


def _plan_editors(at: AppTest) -> int:
    return sum(e.key.startswith("plan_editor_") for e in at.data_editor)


def _proposals(at: AppTest) -> dict[str, int]:
    table = at.data_editor[0].value
    return dict(zip(table["Mã"], table["Đề xuất"]))


def _totals(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_workbench_is_labelled_as_demo_data(app_env: Settings) -> None:
    at = _workbench()
    assert any("Dữ liệu minh họa" in m.value and "demo-badge" in m.value for m in at.markdown)


def test_viewer_cannot_open_the_workbench(app_env: Settings) -> None:
    at = _workbench("viewer")
    assert len(at.error) == 1 and "không có quyền" in at.error[0].value


def test_workbench_allocates_and_totals(app_env: Settings) -> None:
    at = _workbench()
    assert not at.exception and not at.error
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Tổng đề xuất"] == metrics["Chỉ tiêu tỉnh"] and metrics["Còn lại chưa phân bổ"] == "0"


def test_edit_over_the_cap_is_refused(app_env: Settings) -> None:
    """One cell typed over its cap in the page's editor: refused once, nothing is frozen."""
    at = _workbench()
    cap = int(at.data_editor[0].value["Mức trần"].iloc[0])
    before = _proposals(at)
    _edit(at, 0, cap + 1)
    assert not at.exception and len(at.error) == 1
    assert "vượt mức trần" in at.error[0].value and "99001" in at.error[0].value
    assert _totals(at)["Xã giữ nguyên"] == "0" and _proposals(at) == before


def test_edit_within_the_cap_is_kept_and_the_rest_re_split(app_env: Settings) -> None:
    at = _workbench()
    value = int(at.data_editor[0].value["Mức trần"].iloc[0]) - 1
    _edit(at, 0, value)
    assert not at.exception and not at.error
    assert _proposals(at)["99001"] == value and _totals(at)["Xã giữ nguyên"] == "1"
    assert _totals(at)["Còn lại chưa phân bổ"] == "0"


CONTROLS = ("plan_target", "plan_method", "plan_weight", "plan_floor", "plan_cap", "plan_name", "plan_comment")


def _controls(at: AppTest) -> dict[str, object]:
    return {k: at.session_state[k] for k in CONTROLS}


def test_saving_and_reloading_a_draft_in_the_page(app_env: Settings) -> None:
    """Every parameter comes back, the quotas are the saved ones, nothing is frozen, and an edit
    within bounds afterwards re-splits the rest to the target."""
    at = _workbench()
    at.selectbox(key="plan_method").set_value("blend").run()
    at.slider(key="plan_weight").set_value(0.3).run()
    at.number_input(key="plan_floor").set_value(3).run()
    at.number_input(key="plan_cap").set_value(200).run()
    at.text_input(key="plan_name").input("Phương án thử")
    at.text_input(key="plan_comment").input("theo kết hợp")
    at.button(key="plan_save").click().run()
    assert not at.exception and any("Đã lưu phương án" in s.value for s in at.success)
    saved, controls, totals = _proposals(at), _controls(at), _totals(at)
    at.selectbox(key="plan_method").set_value("population").run()          # wander off, then reload
    at.number_input(key="plan_floor").set_value(0).run()
    at.number_input(key="plan_cap").set_value(0).run()
    at.number_input(key="plan_target").set_value(500).run()
    at.button(key="plan_load").click().run()
    assert not at.exception and not at.error
    assert _controls(at) == controls and _proposals(at) == saved and _totals(at) == totals
    assert _totals(at)["Xã giữ nguyên"] == "0"
    row = 1
    value = int(saved["99002"]) + 1
    assert value <= int(at.data_editor[0].value["Mức trần"].iloc[row])
    _edit(at, row, value)
    assert not at.exception and not at.error
    after = _proposals(at)
    assert after["99002"] == value and sum(after.values()) == controls["plan_target"]
    assert _totals(at)["Xã giữ nguyên"] == "1" and _totals(at)["Còn lại chưa phân bổ"] == "0"


def test_a_hand_edited_draft_reloads_with_only_that_commune_kept(app_env: Settings) -> None:
    at = _workbench()
    _edit(at, 2, int(at.data_editor[0].value["Mức trần"].iloc[2]) - 10)
    at.text_input(key="plan_name").input("Sửa tay")
    at.button(key="plan_save").click().run()
    saved = _proposals(at)
    at.button(key="plan_unfreeze").click().run()
    at.button(key="plan_load").click().run()
    assert not at.exception and not at.error
    assert _proposals(at) == saved and _totals(at)["Xã giữ nguyên"] == "1"
    assert at.data_editor[0].value["Giữ nguyên"].tolist() == [False, False, True, False, False, False]


def test_a_draft_without_cap_reloads_without_error(app_env: Settings) -> None:
    at = _workbench()
    at.number_input(key="plan_cap").set_value(0).run()
    at.text_input(key="plan_name").input("Không trần")
    at.button(key="plan_save").click().run()
    saved = _proposals(at)
    at.number_input(key="plan_cap").set_value(150).run()                   # the default cap is back
    table = at.data_editor[0].value
    over = {c for c, cap in zip(table["Mã"], table["Mức trần"]) if saved[c] > cap}
    assert over  # the saved plan does not fit the default cap: the old reload failed here
    at.button(key="plan_load").click().run()
    assert not at.exception and not at.error
    assert at.session_state["plan_cap"] == 0 and _proposals(at) == saved
    assert _totals(at)["Xã giữ nguyên"] == "0"


def test_an_infeasible_allocation_can_be_recovered_in_the_page(app_env: Settings) -> None:
    """A kept value the new cap refuses: the reason is shown once, the editor and unfreeze stay."""
    at = _workbench()
    _edit(at, 2, int(at.data_editor[0].value["Mức trần"].iloc[2]) - 1)      # keep 99003 just under its cap
    at.number_input(key="plan_cap").set_value(100).run()                   # ... which the lower cap refuses
    assert not at.exception and len(at.error) == 1 and "giữ nguyên" in at.error[0].value
    assert _plan_editors(at) == 1 and _totals(at)["Xã giữ nguyên"] == "1"
    _edit(at, 2, 300)                                                       # edited back within its cap
    assert not at.exception and len(at.error) == 1 and "mức trần" in at.error[0].value  # the caps are too low
    assert _proposals(at)["99003"] == 300
    at.button(key="plan_unfreeze").click().run()
    at.number_input(key="plan_cap").set_value(150).run()
    assert not at.exception and not at.error and _totals(at)["Xã giữ nguyên"] == "0"
    at.number_input(key="plan_floor").set_value(1000).run()                # floors above the target
    assert len(at.error) == 1 and "mức sàn" in at.error[0].value and _plan_editors(at) == 1
    at.number_input(key="plan_floor").set_value(4).run()
    assert not at.exception and not at.error and _totals(at)["Còn lại chưa phân bổ"] == "0"


def test_stale_save_names_whoever_saved_last(tiny_con) -> None:
    pid, version, quotas = _draft(tiny_con)                                # created by the planner
    other = auth.User("nguoikhac", "Người khác", "planner")
    plans.save_draft(tiny_con, year=2026, province="99", name="A (sửa)", params=plans.Params(60), quotas=quotas,
                     user=other, plan_id=pid, version=version)
    with pytest.raises(PlanError) as err:
        plans.save_draft(tiny_con, year=2026, province="99", name="A (khác)", params=plans.Params(60),
                         quotas=quotas, user=ADMIN, plan_id=pid, version=version)
    assert "nguoikhac" in err.value.message and "kehoach" not in err.value.message
    assert err.value.details["saved_by"] == "nguoikhac"


def test_simultaneous_approvals_give_one_approval_and_one_clear_refusal(tiny_con, monkeypatch) -> None:
    """Two sessions (two cursors of the one shared connection, as in the app) approve the same plan
    at the same moment: both are inside their transaction before either commits."""
    import threading

    pid, _, _ = _draft(tiny_con, target=70)
    plans.submit(tiny_con, pid, PLANNER)
    both_inside = threading.Barrier(2, timeout=5)
    audit = auth.audit

    def audit_then_wait(con, username, action, *args, **kw):  # the last statement before COMMIT
        audit(con, username, action, *args, **kw)
        if action == "plan_approved":
            try:
                both_inside.wait()
            except threading.BrokenBarrierError:  # the other one was refused before getting here
                pass

    monkeypatch.setattr(auth, "audit", audit_then_wait)
    outcomes: list[object] = []

    def approve(cursor) -> None:
        try:
            outcomes.append(plans.approve(cursor, pid, ADMIN))
        except Exception as exc:  # noqa: BLE001 - the test looks at what came out
            outcomes.append(exc)

    threads = [threading.Thread(target=approve, args=(tiny_con.cursor(),)) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    refused = [o for o in outcomes if isinstance(o, Exception)]
    assert len(outcomes) == 2 and len(refused) == 1, outcomes
    assert isinstance(refused[0], PlanError) and refused[0].details["reason"] in ("stale", "not_submitted")
    assert "người khác" in refused[0].message or "đã trình" in refused[0].message
    assert tiny_con.execute("SELECT status FROM plans WHERE plan_id = $id", {"id": pid}).fetchone()[0] == "approved"
    assert tiny_con.execute("SELECT quota FROM v_attainment WHERE year = 2026 AND unit_code = '99'").fetchone()[0] == 70


def test_long_comments_are_refused_by_the_server(tiny_con, monkeypatch: pytest.MonkeyPatch) -> None:
    from xkld_geo.errors import XkldError

    monkeypatch.setenv("XKLD_MAX_TEXT_CHARS", "100")
    with pytest.raises(XkldError) as err:
        _draft(tiny_con, comment="x" * 101)
    assert "100" in err.value.message and "Ghi chú" in err.value.message
    assert tiny_con.execute("SELECT count(*) FROM plans").fetchone()[0] == 0
    _draft(tiny_con, comment="x" * 100)


def test_annex_cells_are_never_formulas(tiny_con) -> None:
    tiny_con.execute("UPDATE admin_units SET name = '=HYPERLINK(\"http://evil.example\",\"x\")' "
                     "WHERE era = '2025' AND code = '99001'")
    pid, _, _ = _draft(tiny_con, target=60)
    plans.submit(tiny_con, pid, PLANNER)
    plans.approve(tiny_con, pid, ADMIN)
    ws = openpyxl.load_workbook(io.BytesIO(annex.annex_xlsx(tiny_con, pid, "=Tỉnh")))["Phụ lục"]
    cells = [c for row in ws.iter_rows() for c in row if c.value is not None]
    assert all(c.data_type != "f" for c in cells)
    assert ws.cell(row=7, column=3).value.startswith("=HYPERLINK")      # the text is kept, as text
    csv = annex.annex_csv(tiny_con, pid).decode("utf-8-sig")
    import csv as csvlib

    names = [r["Tên xã, phường"] for r in csvlib.DictReader(io.StringIO(csv))]
    assert names[0].startswith("'=HYPERLINK") and not any(n.startswith(("=", "+", "-", "@")) for n in names)
