"""Citizen protection (issue #18 part B) on the tiny fictional country (tests/conftest.py, today
15 March 2026): cases move only along their allowed states with one audit row per change; the
problem counts are derived from the register by its rule; priority groups count a worker once in
"any group" and once in each; nothing of a case reaches the public screen or the release."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import TODAY, frame, run_page
from xkld_geo.database import db
from xkld_geo.errors import CaseError
from xkld_geo.protection import casebook, cases, clubs, returnees
from xkld_geo.release import site as release_site
from xkld_geo.settings import Settings
from xkld_geo.views import priority
from xkld_geo.views import problems as problem_view

SECRET_NOTE = "Ghi-chú-nội-bộ-KHÔNG-công-khai"


def _case(con, ref: str = "VV-2026-T0001", kind: str = "fraud", on: dt.date = dt.date(2026, 3, 1),
          commune: str = "99001", licence: str | None = None) -> None:
    cases.record(con, cases.NewCase(ref, kind, on, commune, "JP", licence, "Đội-xử-lý-T1", SECRET_NOTE), "planner", TODAY)


def _audit(con, ref: str) -> list[tuple]:
    return con.execute("SELECT action, detail FROM audit_log WHERE target = $r ORDER BY at_time", {"r": ref}).fetchall()


def test_a_case_moves_through_its_states_with_an_audit_row_per_change(tiny_con) -> None:
    _case(tiny_con)
    for status, day in (("verifying", 3), ("handling", 5), ("closed", 9)):
        cases.move(tiny_con, "VV-2026-T0001", status, "planner", dt.date(2026, 3, day),
                   outcome="Đã hỗ trợ" if status == "closed" else None)
    assert _audit(tiny_con, "VV-2026-T0001") == [
        ("case_opened", "fraud; received"), ("case_status", "received → verifying"),
        ("case_status", "verifying → handling"), ("case_status", "handling → closed")]
    row = tiny_con.execute("SELECT status, closed_on, outcome FROM cases WHERE case_ref = 'VV-2026-T0001'").fetchone()
    assert row == ("closed", dt.date(2026, 3, 9), "Đã hỗ trợ")


@pytest.mark.parametrize(("path", "refused", "reason"), [
    ((), "handling", "Đang xác minh"),                  # received may only go to verifying
    ((), "closed", "Đang xác minh"),
    (("verifying", "handling"), "verifying", "Đã kết thúc"),   # never backwards
    (("verifying", "handling", "closed"), "handling", "đã kết thúc"),
])
def test_an_invalid_transition_is_refused_and_writes_nothing(tiny_con, path, refused, reason) -> None:
    _case(tiny_con)
    for status in path:
        cases.move(tiny_con, "VV-2026-T0001", status, "planner", dt.date(2026, 3, 5), outcome="x")
    before = (frame(tiny_con, "SELECT * FROM cases").to_dict("records"), len(_audit(tiny_con, "VV-2026-T0001")))
    with pytest.raises(CaseError) as caught:
        cases.move(tiny_con, "VV-2026-T0001", refused, "planner", dt.date(2026, 3, 6), outcome="x")
    assert reason in caught.value.message and caught.value.details["field"] == "status"
    assert (frame(tiny_con, "SELECT * FROM cases").to_dict("records"), len(_audit(tiny_con, "VV-2026-T0001"))) == before


def test_closing_needs_an_outcome_and_a_case_needs_known_references(tiny_con) -> None:
    _case(tiny_con)
    cases.move(tiny_con, "VV-2026-T0001", "verifying", "planner", dt.date(2026, 3, 2))
    with pytest.raises(CaseError, match="kết quả"):
        cases.move(tiny_con, "VV-2026-T0001", "closed", "planner", dt.date(2026, 3, 3))
    with pytest.raises(CaseError, match="giấy phép"):
        _case(tiny_con, "VV-2", licence="KHONG-CO")
    with pytest.raises(CaseError, match="đã có"):
        _case(tiny_con)


def test_views_open_map_ageing_and_companies_flagged(tiny_con) -> None:
    tiny_con.execute("DELETE FROM cases")
    tiny_con.execute("INSERT INTO licensed_companies VALUES ('GP-1', 'Công ty A', '99', 'JP', NULL), "
                     "('GP-2', 'Công ty B', '99', 'JP', NULL)")
    _case(tiny_con, "A1", "fraud", dt.date(2026, 3, 10), licence="GP-1")
    _case(tiny_con, "A2", "contract_breach", dt.date(2025, 12, 1), licence="GP-1")
    _case(tiny_con, "B1", "in_difficulty", dt.date(2025, 8, 1), "99002", licence="GP-2")
    _case(tiny_con, "B2", "fraud", dt.date(2026, 1, 5), "99002", licence="GP-2")
    cases.move(tiny_con, "B2", "verifying", "p", dt.date(2026, 1, 6))
    cases.move(tiny_con, "B2", "closed", "p", dt.date(2026, 1, 7), outcome="Không có cơ sở")
    view = casebook.build_cases(tiny_con, "99", TODAY)
    opened = view.open_by_unit.set_index("unit_code")
    assert opened.loc["99001", "open_cases"] == 2 and opened.loc["99002", "open_cases"] == 1
    assert opened.loc["99003", "open_cases"] == 0 and view.open_total == 3
    assert opened.loc["99002", "oldest_days"] == (TODAY - dt.date(2025, 8, 1)).days
    assert dict(zip(view.ageing["band"], view.ageing["open_cases"])) == {
        "Dưới 30 ngày": 1, "30–89 ngày": 0, "90–179 ngày": 1, "Từ 180 ngày": 1}
    companies = view.companies.set_index("licence_no")
    assert bool(companies.loc["GP-1", "repeated"]) and not bool(companies.loc["GP-2", "repeated"])
    assert "note" not in view.cases and SECRET_NOTE not in view.cases.to_string()
    assert SECRET_NOTE in casebook.build_cases(tiny_con, "99", TODAY, with_notes=True).cases["note"].tolist()


def test_problem_counts_come_from_the_register_where_it_has_data(tiny_con) -> None:
    tiny_con.execute("DELETE FROM cases")
    imported = problem_view.problems(tiny_con, 2026, 3, "99").set_index("unit_code")
    other = problem_view.problems(tiny_con, 2026, 3, "98").set_index("unit_code")
    _case(tiny_con, "R1", "fraud", dt.date(2026, 2, 10), "99001")
    _case(tiny_con, "R2", "illegal_stay", dt.date(2026, 2, 11), "99001")
    _case(tiny_con, "R3", "contract_breach", dt.date(2026, 3, 1), "99003")
    _case(tiny_con, "R4", "labour_dispute", dt.date(2026, 3, 2), "99003")
    jan = frame(tiny_con, "SELECT commune_code, breaches, fraud_reports FROM programme_monthly "
                "WHERE month = DATE '2026-01-01' AND commune_code LIKE '99%'").set_index("commune_code")
    derived = problem_view.problems(tiny_con, 2026, 3, "99").set_index("unit_code")
    for code in imported.index:      # January from the imported totals, February and March from the register
        expected_breaches = jan["breaches"].get(code, 0) + {"99001": 1, "99003": 1}.get(code, 0)
        expected_fraud = jan["fraud_reports"].get(code, 0) + (1 if code == "99001" else 0)
        assert (derived.loc[code, "breaches"], derived.loc[code, "fraud_reports"]) == (expected_breaches, expected_fraud)
        assert derived.loc[code, "loans"] == imported.loc[code, "loans"]
    # a province without any case keeps its imported totals
    assert problem_view.problems(tiny_con, 2026, 3, "98").set_index("unit_code").equals(other)


def test_demo_cases_reproduce_the_demo_monthly_figures(tiny_con) -> None:
    demo = frame(tiny_con, "SELECT count(*) AS n, max(opened_on) AS last, bool_and(is_demo) AS demo FROM cases")
    assert demo["n"][0] > 0 and demo["last"][0] <= pd.Timestamp(TODAY) and demo["demo"][0]
    derived = problem_view.problems(tiny_con, 2026, 3, None)
    raw = frame(tiny_con, """SELECT sum(breaches) AS b, sum(fraud_reports) AS f FROM programme_monthly
                             WHERE month >= DATE '2026-01-01' AND month <= DATE '2026-03-01'""")
    assert (derived["breaches"].sum(), derived["fraud_reports"].sum()) == (raw["b"][0], raw["f"][0])


def test_clubs_and_returnees(tiny_con) -> None:
    tiny_con.execute("DELETE FROM family_clubs; DELETE FROM returnees")
    tiny_con.execute("INSERT INTO family_clubs VALUES (2026, '99001', 1, 30, 2, NULL, FALSE), "
                     "(2026, '99002', 2, 50, 1, NULL, FALSE)")
    tiny_con.execute("INSERT INTO returnees VALUES (DATE '2026-02-01', '99001', 'JP', 'Cơ khí', 4, 3, NULL, FALSE), "
                     "(DATE '2026-03-01', '99002', 'KR', 'Cơ khí', 2, 1, NULL, FALSE), "
                     "(DATE '2026-03-01', '99002', 'KR', 'Xây dựng', 2, 0, NULL, FALSE)")
    view = clubs.build_clubs(tiny_con, 2026, "99")
    assert (view.communes, view.with_club, view.members, view.meetings) == (6, 2, 80, 3)
    assert view.covered_pct == pytest.approx(100 * 2 / 6)
    back = returnees.build_returnees(tiny_con, 2026, 3, "99")
    assert (back.returned, back.found_work) == (8, 4)
    occ = back.by_occupation.set_index("occupation")
    assert occ.loc["Cơ khí", "found_pct"] == pytest.approx(100 * 4 / 6) and occ.loc["Xây dựng", "found_pct"] == 0
    assert returnees.build_returnees(tiny_con, 2026, 1, "99").found_pct is None   # nobody returned: no share


def test_a_worker_in_two_groups_counts_once_in_any_group_and_once_in_each(tiny_con) -> None:
    tiny_con.execute("DELETE FROM departures WHERE commune_code = '99006' AND year(month) = 2026")
    rows = [("k1", "ho_ngheo", ("ho_ngheo", "dan_toc_thieu_so")), ("k2", "ho_ngheo", ("ho_ngheo",)),
            ("k3", "khac", ())]
    for key, primary, groups in rows:
        tiny_con.execute("INSERT INTO register_entries VALUES ($k, 2026, DATE '2026-02-01', '99006', 'JP', 'nam', "
                         "'thuc_tap_sinh', $g, 'test', 1)", {"k": key, "g": primary})
        for g in groups:
            tiny_con.execute("INSERT INTO worker_groups VALUES ($k, 2026, $g)", {"k": key, "g": g})
    tiny_con.execute("""INSERT INTO departures SELECT month, commune_code, market, sex, channel, priority_group,
                        count(*), FALSE FROM register_entries WHERE commune_code = '99006' GROUP BY ALL""")

    def in_group(group: str) -> int:
        df = priority.shares(tiny_con, 2026, 3, "99", group).set_index("unit_code")
        return int(df.loc["99006", "in_group"]), int(df.loc["99006", "total"])

    assert in_group(priority.ALL_PRIORITY) == (2, 3)      # k1 once, k2 once; k3 in no group
    assert in_group("ho_ngheo") == (2, 3)
    assert in_group("dan_toc_thieu_so") == (1, 3)          # k1's second group
    assert in_group("that_nghiep") == (0, 3)


def test_migration_copies_each_register_group_into_the_membership_table(legacy_with_register: Path,
                                                                         tiny_data_dir: Path) -> None:
    from tests.conftest import settings_for
    con = db.connect(settings_for(tiny_data_dir, legacy_with_register))
    assert con.execute("SELECT person_key, year, priority_group FROM worker_groups ORDER BY 1").fetchall() == [
        ("p1", 2025, "ho_ngheo")]     # p2's 'khac' is no group
    names = {r[0] for r in con.execute("SELECT code FROM priority_groups").fetchall()}
    assert {"su_co_moi_truong_bien", "hoc_sinh_khong_hoc_tiep", "that_nghiep", "huyen_ngheo"} <= names
    assert con.execute("SELECT count(*) FROM register_entries").fetchone()[0] == 2


@pytest.fixture()
def legacy_with_register(tmp_path: Path) -> Path:
    import gzip
    import shutil

    import duckdb
    path = tmp_path / "legacy.duckdb"
    with gzip.open(Path(__file__).parent / "data" / "legacy" / "v8_tiny.duckdb.gz") as src, open(path, "wb") as dst:
        shutil.copyfileobj(src, dst)
    con = duckdb.connect(str(path))
    con.execute("INSERT INTO register_entries VALUES ('p1', 2025, DATE '2025-09-01', '99001', 'JP', 'nam', "
                "'thuc_tap_sinh', 'ho_ngheo', 'x', 1), ('p2', 2025, DATE '2025-09-01', '99001', 'JP', 'nu', "
                "'thuc_tap_sinh', 'khac', 'x', 1)")
    con.close()
    return path


def test_public_screen_and_release_never_show_a_case(app_env: Settings, tmp_path: Path) -> None:
    con = db.connect(app_env)
    _case(con, "VV-BI-MAT-0001", "fraud", dt.date(2026, 3, 2), "99004")
    db.close_all()
    at = run_page("pages/1_Cong_khai.py", role=None, query={"unit": "99004"})
    assert not at.exception
    shown = "\n".join(str(e.value) for e in at.main if hasattr(e, "value"))
    shown += "\n".join(df.value.to_string() for df in at.dataframe)
    for secret in (SECRET_NOTE, "VV-BI-MAT-0001", "Phản ánh lừa đảo", "Vụ việc"):
        assert secret not in shown
    con = db.open_connection(app_env.db_path)
    try:
        release_site.publish(con, tmp_path / "out", TODAY, 5)
    finally:
        con.close()
    files = [p for p in (tmp_path / "out").rglob("*") if p.is_file() and p.suffix not in (".png", ".gz", ".xlsx")]
    text = "\n".join(p.read_bytes().decode("utf-8", "replace") for p in files)
    for secret in (SECRET_NOTE, "VV-BI-MAT-0001", "MH-2026", "case_ref", "Đội-xử-lý-T1", "cases"):
        assert secret not in text, secret


def _tables(at: AppTest) -> str:
    return "\n".join(df.value.to_string() for df in at.dataframe)


def test_cases_page_moves_a_case_for_a_planner_and_hides_notes_from_a_viewer(app_env: Settings) -> None:
    con = db.connect(app_env)
    _case(con, "VV-APP-0001", "fraud", dt.date(2026, 3, 14), "99001")
    db.close_all()

    def page(role: str) -> AppTest:
        return run_page("pages/15_Bao_ho_cong_dan.py", role=role, query={"unit": "99"}, settings=app_env)

    viewer = page("viewer")
    assert not viewer.exception and not viewer.error
    assert "VV-APP-0001" in _tables(viewer) and SECRET_NOTE not in _tables(viewer)
    assert not [f for f in viewer.selectbox if f.key == "case_move_ref"]
    planner = page("planner")
    assert SECRET_NOTE in _tables(planner)
    planner.selectbox(key="case_move_ref").set_value("VV-APP-0001")
    planner.selectbox(key="case_move_status").set_value("verifying")
    submit = [b for b in planner.button if b.label == "Lưu"][0]
    submit.click().run()
    assert not planner.exception and not planner.error
    con = db.connect(app_env)
    assert con.execute("SELECT status FROM cases WHERE case_ref = 'VV-APP-0001'").fetchone()[0] == "verifying"
    assert con.execute("SELECT username, detail FROM audit_log WHERE target = 'VV-APP-0001' AND action = 'case_status'"
                       ).fetchall() == [("test_planner", "received → verifying")]


def test_clubs_and_returnees_page_shows_both_tabs(app_env: Settings) -> None:
    at = run_page("pages/16_Cau_lac_bo_ve_nuoc.py", query={"unit": "99"}, settings=app_env)
    assert not at.exception and not at.error
    assert [t.label for t in at.tabs] == ["Câu lạc bộ gia đình", "Người về nước"]
    tables = _tables(at)
    assert "Xã có câu lạc bộ" in tables or len(at.dataframe) >= 3
    assert any("Dữ liệu minh họa" in str(m.value) for m in at.markdown)
    labels = [m.label for m in at.metric]
    assert "Tỷ lệ có việc làm" in labels and "Gia đình thành viên" in labels


def test_a_planner_records_a_case_on_the_page(app_env: Settings) -> None:
    at = run_page("pages/15_Bao_ho_cong_dan.py", role="planner", query={"unit": "99"}, settings=app_env)
    at.selectbox(key="case_new_kind").set_value("in_difficulty")
    at.selectbox(key="case_new_commune").set_value("99003")
    at.text_area(key="case_new_note").input("cần hỗ trợ về nước")
    [b for b in at.button if b.label == "Ghi vụ việc"][0].click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    con = db.connect(app_env)
    row = con.execute("SELECT case_ref, kind, commune_code, status, note FROM cases WHERE NOT is_demo").fetchone()
    assert row == ("VV-2026-00001", "in_difficulty", "99003", "received", "cần hỗ trợ về nước")
    assert con.execute("SELECT username, action FROM audit_log WHERE target = $r", {"r": row[0]}).fetchall() == [
        ("test_planner", "case_opened")]


def test_the_page_refuses_an_invalid_move_with_one_message(app_env: Settings) -> None:
    con = db.connect(app_env)
    _case(con, "VV-APP-0002", "fraud", dt.date(2026, 3, 14), "99001")
    db.close_all()
    at = run_page("pages/15_Bao_ho_cong_dan.py", role="planner", query={"unit": "99"}, settings=app_env)
    at.selectbox(key="case_move_ref").set_value("VV-APP-0002")
    at.selectbox(key="case_move_status").set_value("closed")
    [b for b in at.button if b.label == "Lưu"][0].click().run()
    assert not at.exception and len(at.error) == 1 and "Được chuyển sang: Đang xác minh" in at.error[0].value
    con = db.connect(app_env)
    assert con.execute("SELECT status FROM cases WHERE case_ref = 'VV-APP-0002'").fetchone()[0] == "received"
