"""Priority groups, markets, job fairs, loans and problems: exact figures, "no data", validation, pages."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from tests.conftest import run_page
from xkld_geo.access import auth
from xkld_geo.database import db
from xkld_geo.errors import ReferenceDataError
from xkld_geo.figures import metrics, references
from xkld_geo.settings import Settings
from xkld_geo.views import jobfairs, markets, priority
from xkld_geo.views import problems as problem_view


def test_shares_and_coverage_exact() -> None:
    rows = pd.DataFrame({"unit_code": ["a", "b", "c"], "unit_name": list("ABC"), "total": [40, 0, 10],
                         "in_group": [10, 0, 10], "pool": [200, 50, None], "poor_households": [100, 500, 10]})
    out = priority.add_rates(rows).set_index("unit_code")
    assert out.loc["a", "share_pct"] == 25.0 and out.loc["a", "coverage_pct"] == 5.0
    assert pd.isna(out.loc["b", "share_pct"]) and out.loc["b", "coverage_pct"] == 0.0
    assert pd.isna(out.loc["c", "coverage_pct"])            # pool unknown: no coverage
    table = priority.table(out.reset_index()).set_index("Mã")
    assert table.loc["b", "Tỷ lệ trong số người đi"] == "không có số liệu"  # not 0%, no division error
    assert table.loc["c", "Độ bao phủ nguồn"] == "không có số liệu"
    assert table.loc["a", "Tỷ lệ trong số người đi"] == "25,0%"





def test_priority_shares_match_the_database(tiny_con) -> None:
    rows = priority.shares(tiny_con, 2025, 12, "99", "ho_ngheo").set_index("unit_code")
    for code in rows.index:
        total, poor = tiny_con.execute("""SELECT SUM(departures), SUM(departures) FILTER (WHERE priority_group = 'ho_ngheo')
            FROM departures WHERE commune_code = $c AND year(month) = 2025""", {"c": code}).fetchone()
        assert rows.loc[code, "total"] == (total or 0) and rows.loc[code, "in_group"] == (poor or 0)
        pool = tiny_con.execute("SELECT pool FROM eligible_pools WHERE year = 2025 AND commune_code = $c "
                           "AND priority_group = 'ho_ngheo'", {"c": code}).fetchone()[0]
        expected = 100.0 * (poor or 0) / pool if pool else None
        assert (rows.loc[code, "coverage_pct"] == pytest.approx(expected)) if expected is not None \
            else pd.isna(rows.loc[code, "coverage_pct"])
    national = priority.shares(tiny_con, 2025, 12, None, priority.ALL_PRIORITY)
    assert set(national["unit_code"]) == {"98", "99"}


@pytest.mark.parametrize("series,met,missed_two", [
    ([5, 3, 4, 1, 6], (3, 5), False), ([5, 3, 2, 6, 6], (3, 5), True), ([4, 4, 4], (3, 3), False),
    ([], (0, 0), False), ([0], (0, 1), False),
])
def test_job_fair_counts(series: list[int], met: tuple[int, int], missed_two: bool) -> None:
    assert jobfairs.months_met(series) == met
    assert jobfairs.missed_two_in_a_row(series) is missed_two


def test_commune_meeting_the_target_three_months_of_five(tiny_con) -> None:
    for m, n in zip(range(1, 6), [5, 3, 4, 1, 6]):
        tiny_con.execute("UPDATE job_fair_attendance SET attendees = $n WHERE commune_code = '99001' "
                    "AND month = make_date(2025, $m, 1)", {"n": n, "m": m})
    comp = jobfairs.compliance(jobfairs.monthly(tiny_con, 2025, 5, "99")).set_index("unit_code")
    assert (comp.loc["99001", "met"], comp.loc["99001", "elapsed"]) == (3, 5)
    assert comp.loc["99001", "pct"] == 60.0 and not comp.loc["99001", "missed_two"]
    calendar = jobfairs.calendar(jobfairs.monthly(tiny_con, 2025, 5, "99")).set_index("Mã")
    assert calendar.loc["99001", ["T1", "T2", "T3", "T4", "T5"]].tolist() == [5, 3, 4, 1, 6]


def _set_fairs(con, commune: str, year: int, attendance: dict[int, int | None]) -> None:
    """Attendance of ``commune`` per month of ``year``; None removes that month's report."""
    for m, n in attendance.items():
        con.execute("DELETE FROM job_fair_attendance WHERE commune_code = $c AND month = make_date($y, $m, 1)",
                    {"c": commune, "y": year, "m": m})
        if n is not None:
            con.execute("INSERT INTO job_fair_attendance (month, commune_code, attendees, orientation_registrations, "
                        "is_demo) VALUES (make_date($y, $m, 1), $c, $n, 0, false)", {"c": commune, "y": year,
                                                                                      "m": m, "n": n})


@pytest.mark.parametrize("attendance,met,reported,missed_two", [
    ({1: 6, 2: None, 3: 6, 4: None, 5: 6}, 3, 3, False),   # reports in 3 of 5 months, all met: 3/5
    ({1: 6, 2: 1, 3: 6, 4: None, 5: 6}, 3, 4, False),      # a miss and a gap, a met month between
    ({1: 6, 2: None, 3: None, 4: 6, 5: 6}, 3, 3, True),    # two consecutive months without a report
    ({1: 6, 2: 2, 3: None, 4: 6, 5: 6}, 3, 4, True),       # a miss, then a month without a report
    ({1: 2, 2: 6, 3: None, 4: 6, 5: 1}, 2, 4, False),
])
def test_months_without_a_report_count_as_missed(tiny_con, attendance: dict[int, int | None], met: int,
                                                 reported: int, missed_two: bool) -> None:
    _set_fairs(tiny_con, "99001", 2025, attendance)
    rows = jobfairs.monthly(tiny_con, 2025, 5, "99")
    comp = jobfairs.compliance(rows).set_index("unit_code")
    assert (comp.loc["99001", "met"], comp.loc["99001", "elapsed"]) == (met, 5)
    assert comp.loc["99001", "reported"] == reported and bool(comp.loc["99001", "missed_two"]) is missed_two
    assert comp.loc["99001", "pct"] == pytest.approx(100.0 * met / 5)
    assert comp.loc["99001", "attendees"] == sum(n or 0 for n in attendance.values())
    calendar = jobfairs.calendar(rows).set_index("Mã")
    shown = calendar.loc["99001", [f"T{m}" for m in range(1, 6)]].tolist()
    assert [None if pd.isna(v) else v for v in shown] == list(attendance.values())  # no report: blank, not 0


def test_a_commune_without_any_report_is_listed(tiny_con) -> None:
    tiny_con.execute("DELETE FROM job_fair_attendance WHERE commune_code = '99002'")
    comp = jobfairs.compliance(jobfairs.monthly(tiny_con, 2025, 5, "99")).set_index("unit_code")
    assert set(comp.index) == {f"99{i:03d}" for i in range(1, 7)}
    row = comp.loc["99002"]
    assert (row["met"], row["elapsed"], row["reported"], row["attendees"]) == (0, 5, 0, 0)
    assert row["pct"] == 0.0 and row["missed_two"]
    assert (comp["elapsed"] == 5).all()


def test_the_period_stops_at_the_last_report_due() -> None:
    today = dt.date(2026, 3, 15)
    assert jobfairs.last_month(2025, 5, today) == 5             # a past year: to the chosen month
    assert jobfairs.last_month(2026, 12, today) == 2            # February's report was due on 5 March
    assert jobfairs.last_month(2026, 12, dt.date(2026, 3, 4)) == 1   # ... not yet on 4 March
    assert jobfairs.last_month(2026, 12, dt.date(2026, 3, 4), due_day=3) == 2
    assert jobfairs.last_month(2026, 2, today) == 2
    assert jobfairs.last_month(2027, 6, today) == 0             # a year not begun: nothing elapsed
    assert jobfairs.last_month(2026, 12) == 12                  # no date given: the chosen month
    with pytest.raises(Exception):
        jobfairs.last_month(2026, 13, today)


def test_months_to_come_are_not_counted(tiny_con) -> None:
    rows = jobfairs.monthly(tiny_con, 2026, 12, "99", today=dt.date(2026, 3, 15))
    assert sorted(rows["m"].unique()) == [1, 2]                 # March is running: not due, not missed
    assert (jobfairs.compliance(rows)["elapsed"] == 2).all()
    assert jobfairs.monthly(tiny_con, 2026, 12, "99", today=dt.date(2025, 12, 31)).empty


def test_province_compliance_counts_every_commune_month(tiny_con) -> None:
    tiny_con.execute("DELETE FROM job_fair_attendance WHERE commune_code = '99002'")
    _set_fairs(tiny_con, "99001", 2025, {2: None})
    rows = jobfairs.province_compliance(tiny_con, 2025, 5).set_index("unit_code")
    met = tiny_con.execute("""SELECT count(*) FROM job_fair_attendance WHERE commune_code LIKE '99%'
        AND month BETWEEN DATE '2025-01-01' AND DATE '2025-05-01' AND attendees >= 4""").fetchone()[0]
    assert (rows.loc["99", "met"], rows.loc["99", "elapsed"], rows.loc["99", "reported"]) == (met, 30, 24)
    assert rows.loc["99", "pct"] == pytest.approx(100.0 * met / 30)
    assert rows.loc["98", "elapsed"] == 10 and rows.loc["98", "reported"] == 10
    detail = jobfairs.compliance(jobfairs.monthly(tiny_con, 2025, 5, "99"))
    assert detail["met"].sum() == met and detail["elapsed"].sum() == 30


def _compliance_oracle(rows: pd.DataFrame, target: int = jobfairs.TARGET) -> pd.DataFrame:
    """The per-commune loop :func:`jobfairs.compliance` was before it was vectorized, kept as the oracle."""
    months = sorted(int(m) for m in rows["m"].unique())
    reported = rows["reported"] if "reported" in rows else pd.Series(True, index=rows.index)
    out = []
    for (code, name), g in rows.assign(reported=reported).groupby(["unit_code", "unit_name"], sort=True):
        by_month = g.groupby("m")["attendees"].sum().reindex(months, fill_value=0)
        series = by_month.astype(int).tolist()
        registered = g.groupby("m")["orientation_registrations"].sum().reindex(months, fill_value=0)
        met, elapsed = jobfairs.months_met(series, target)
        full = jobfairs.months_met_full(series, registered.astype(int).tolist(), target)
        out.append({"unit_code": code, "unit_name": name, "met": met, "elapsed": elapsed,
                    "pct": 100.0 * met / elapsed if elapsed else None,
                    "attendees": int(g["attendees"].sum()),
                    "registrations": int(g["orientation_registrations"].sum()),
                    "missed_two": jobfairs.missed_two_in_a_row(series, target),
                    "reported": int(g.loc[g["reported"].astype(bool), "m"].nunique()),
                    "met_full": full, "pct_full": 100.0 * full / elapsed if elapsed else None})
    return pd.DataFrame(out, columns=jobfairs.COMPLIANCE_COLUMNS)


def _fair_rows(*rows: tuple, reported: bool = True) -> pd.DataFrame:
    """A :func:`jobfairs.monthly`-like frame from (code, month, attendees, registrations[, reported]) tuples,
    with :func:`jobfairs.monthly`'s dtypes; without the ``reported`` column when ``reported`` is False."""
    frame = pd.DataFrame([(code, f"Xã {code}", m, a, r, *rest) for code, m, a, r, *rest in rows],
                         columns=["unit_code", "unit_name", "m", "attendees", "orientation_registrations",
                                  "reported"][:6 if reported else 5])
    types = {"m": "int32", "attendees": "int64", "orientation_registrations": "int64"}
    return frame.astype(types | ({"reported": "bool"} if reported else {}))


def _random_fair_rows(seed: int) -> pd.DataFrame:
    """Communes × a random subset of months, some rows dropped, some duplicated, reported mixed."""
    rng = np.random.default_rng(seed)
    months = sorted(rng.choice(np.arange(1, 13), size=int(rng.integers(1, 13)), replace=False).tolist())
    rows = [(f"{c:05d}", int(m), int(rng.integers(0, 9)), int(rng.integers(0, 9)), bool(rng.random() < 0.8))
            for c in rng.permutation(40) for m in months if rng.random() < 0.85]
    rows += [rows[int(i)] for i in rng.integers(0, len(rows), size=len(rows) // 10)]   # duplicate reports
    return _fair_rows(*rows)


_COMPLIANCE_CASES = {
    "gaps in the months": (_fair_rows(("a", 1, 5, 5, True), ("a", 3, 1, 5, True), ("a", 7, 2, 0, True),
                                      ("b", 1, 0, 0, False), ("b", 3, 9, 9, True), ("b", 7, 4, 3, True)), 4),
    "a commune without rows in some months": (_fair_rows(
        ("a", 1, 6, 6, True), ("a", 2, 6, 6, True), ("a", 3, 6, 6, True), ("a", 4, 6, 6, True),
        ("b", 1, 6, 6, True), ("b", 4, 6, 6, True), ("c", 2, 1, 1, True)), 4),
    "duplicates of a commune and month are summed": (_fair_rows(
        ("a", 1, 2, 2, True), ("a", 1, 2, 2, False), ("a", 2, 3, 1, False), ("a", 2, 0, 3, False),
        ("b", 2, 1, 0, True), ("b", 2, 1, 0, True), ("b", 1, 7, 7, False)), 4),
    "reported mixed, one commune never reported": (_fair_rows(
        ("a", 1, 0, 0, False), ("a", 2, 0, 0, False), ("b", 1, 5, 5, True), ("b", 2, 0, 0, False)), 4),
    "nothing reported": (_fair_rows(("a", 1, 0, 0, False), ("b", 1, 0, 0, False)), 4),
    "no reported column": (_fair_rows(("a", 2, 5, 1), ("a", 5, 1, 5), ("b", 2, 3, 3), ("b", 2, 3, 3),
                                      reported=False), 4),
    "a single month": (_fair_rows(("a", 1, 1, 0, True), ("b", 1, 8, 8, True)), 4),
    "target 2": (_fair_rows(("a", 1, 2, 1, True), ("a", 2, 1, 2, True), ("a", 3, 1, 1, True),
                            ("b", 1, 3, 3, True), ("b", 3, 2, 2, False)), 2),
    "target 7": (_fair_rows(("a", 1, 7, 7, True), ("a", 2, 6, 8, True), ("a", 3, 8, 6, True)), 7),
    "target 0: every month met": (_fair_rows(("a", 1, 0, 0, True), ("b", 2, 0, 0, False)), 0),
    "empty": (_fair_rows(), 4),
    "empty without the reported column": (_fair_rows(reported=False), 4),
    **{f"random {seed}": (_random_fair_rows(seed), target) for seed, target in [(1, 4), (2, 4), (3, 3), (4, 5)]},
}


@pytest.mark.parametrize("rows,target", list(_COMPLIANCE_CASES.values()), ids=list(_COMPLIANCE_CASES))
def test_compliance_matches_the_per_commune_loop(rows: pd.DataFrame, target: int) -> None:
    before = rows.copy()
    pd.testing.assert_frame_equal(jobfairs.compliance(rows, target), _compliance_oracle(rows, target),
                                  check_dtype=True, check_index_type=True, check_column_type=True,
                                  check_exact=True)
    pd.testing.assert_frame_equal(rows, before)                 # the input is left as it was


def test_compliance_matches_the_per_commune_loop_on_the_fixture(tiny_con) -> None:
    _set_fairs(tiny_con, "99001", 2025, {1: 6, 2: None, 3: 1, 4: None, 5: 6})
    tiny_con.execute("DELETE FROM job_fair_attendance WHERE commune_code = '99002'")
    for month, today in [(5, None), (12, dt.date(2025, 4, 10)), (12, dt.date(2025, 1, 2))]:
        rows = jobfairs.monthly(tiny_con, 2025, month, "99", today)
        pd.testing.assert_frame_equal(jobfairs.compliance(rows), _compliance_oracle(rows),
                                      check_index_type=True, check_column_type=True, check_exact=True)


@pytest.mark.parametrize("field,value,message", [
    ("code", "XX", "không phải mã quốc gia ISO"), ("code", "Japan", "không phải mã quốc gia ISO"),
    ("avg_income_usd", -100, "số nguyên không âm"), ("avg_cost_usd", "nhiều", "không phải là số"),
    ("source", "", "không được để trống"),
])
def test_reference_table_rejects_bad_rows(tiny_con, field: str, value: object, message: str) -> None:
    table = references.read(tiny_con, "markets")
    table[field] = table[field].astype(object)   # as the editor hands it back: any cell may hold text
    table.loc[2, field] = value
    errors = references.check_markets(table)
    assert len(errors) == 1 and errors[0].startswith(f"Dòng 3, cột {field}") and message in errors[0]
    with pytest.raises(ReferenceDataError) as err:
        references.save(tiny_con, 'markets', table, auth.User("qt", "qt", "admin"))
    assert message in err.value.message


def test_reference_edits_need_an_admin_and_are_audited(tiny_con) -> None:
    table = references.read(tiny_con, "markets")
    table.loc[table["code"] == "JP", "avg_income_usd"] = 1350
    with pytest.raises(ReferenceDataError):
        references.save(tiny_con, 'markets', table, auth.User("kh", "kh", "planner"))
    references.save(tiny_con, 'markets', table, auth.User("qt", "qt", "admin"))
    assert references.read(tiny_con, "markets").set_index("code").loc["JP", "avg_income_usd"] == 1350
    assert tiny_con.execute("SELECT count(*) FROM audit_log WHERE action = 'reference_edited'").fetchone()[0] == 1


def test_market_totals_and_safe_share(tiny_con) -> None:
    mix = markets.by_market(tiny_con, 2025, 12, "99")
    total = tiny_con.execute("SELECT SUM(departures) FROM departures WHERE commune_code LIKE '99%' "
                        "AND year(month) = 2025").fetchone()[0]
    assert mix["departures"].sum() == total
    safe = mix.loc[mix["safe_high_income"], "departures"].sum()
    assert markets.safe_share(mix) == pytest.approx(100.0 * safe / total)
    assert markets.safe_share(mix.assign(departures=0)) is None


def test_programme_totals(tiny_con) -> None:
    rows = problem_view.problems(tiny_con, 2025, 12, None)
    loans = tiny_con.execute("SELECT SUM(loans) FROM programme_monthly WHERE year(month) = 2025").fetchone()[0]
    assert rows["loans"].sum() == loans and set(rows["unit_code"]) == {"98", "99"}
    assert tiny_con.execute("SELECT bool_and(is_demo) FROM programme_monthly").fetchone()[0]






@pytest.mark.parametrize("path", ["pages/2_Nhom_uu_tien.py", "pages/3_Thi_truong.py", "pages/4_San_viec_lam.py",
                                  "pages/5_Vay_von_van_de.py"])
def test_pages_render_and_are_gated(app_env: Settings, path: str) -> None:
    at = run_page(path, query={"unit": "99"})
    assert not at.exception and not at.error
    assert any("Dữ liệu minh họa" in m.value for m in at.markdown)
    national = run_page(path)
    assert not national.exception and not national.error
    anonymous = run_page(path, role=None, query={"unit": "99"})
    assert any("dành cho cán bộ" in w.value for w in anonymous.warning) and not anonymous.dataframe


def test_priority_group_selection(app_env: Settings) -> None:
    at = run_page("pages/2_Nhom_uu_tien.py", query={"unit": "99"})
    at.selectbox(key="priority_group").set_value("bo_doi_xuat_ngu").run()
    assert not at.exception and "Bộ đội xuất ngũ" in at.subheader[0].value


def test_job_fair_page_shows_the_selected_commune(app_env: Settings) -> None:
    _set_fairs(db.connect(app_env), "99001", 2025, {1: 6, 2: None, 3: 6, 4: None, 5: 6})
    at = run_page("pages/4_San_viec_lam.py", query={"unit": "99"})
    at.selectbox(key="year").set_value(2025).run()
    at.selectbox(key="month").set_value(5).run()
    assert not any("đang chọn" in m.value for m in at.markdown)      # no commune yet: province only
    at.selectbox(key="commune").set_value("99001").run()
    assert not at.exception and not at.error
    assert any("Xã/phường đang chọn: Xã Thử 1" in m.value for m in at.markdown)
    figures = {m.label: m.value for m in at.metric}
    assert figures["Số tháng đạt ≥ 4 người"] == "3/5" and figures["Tháng có báo cáo"] == "3/5"
    assert figures["Tỷ lệ tháng đạt"] == "60,0%" and figures["Lượt dự sàn"] == "18"
    assert figures["Hai tháng liền không đạt"] == "Không"
    con = db.connect(app_env)
    met, attendees = con.execute("""SELECT count(*) FILTER (WHERE attendees >= 4), SUM(attendees)
        FROM job_fair_attendance WHERE commune_code LIKE '99%' AND month BETWEEN '2025-01-01' AND '2025-05-01'
        """).fetchone()
    assert figures["Toàn tỉnh: lượt xã-tháng đạt"] == f"{met}/30"      # the province's total line
    assert figures["Toàn tỉnh: lượt dự sàn"] == metrics.fmt_int(attendees)
    table, calendar = at.dataframe[0].value, at.dataframe[1].value
    assert table.iloc[0]["Mã"] == "99001" and table.iloc[0]["Số tháng đạt"] == "3/5"   # listed first
    assert calendar.iloc[0]["Mã"] == "99001" and pd.isna(calendar.iloc[0]["T2"])
    assert len(table) == 6
    at.selectbox(key="commune").set_value("").run()
    assert not any("đang chọn" in m.value for m in at.markdown)


@pytest.mark.parametrize("path,first_table", [("pages/2_Nhom_uu_tien.py", 0), ("pages/5_Vay_von_van_de.py", 0)])
def test_other_pages_show_the_selected_commune(app_env: Settings, path: str, first_table: int) -> None:
    at = run_page(path, query={"unit": "99003"})                            # a commune in the URL selects it
    assert not at.exception and not at.error
    assert at.selectbox(key="commune").value == "99003"
    assert any("Xã/phường đang chọn: Xã Thử 3" in m.value for m in at.markdown)
    assert at.dataframe[first_table].value.iloc[0]["Mã"] == "99003"


def test_selected_commune_row_is_marked() -> None:
    from xkld_geo.ui.directives import SELECTED_STYLE, _marked

    table = pd.DataFrame({"Mã": ["a", "b", "c"], "Số": [1.0, 2.0, None], "Tỷ lệ": [0.25, 1.5, 2.0]})
    plain = _marked(table, None)
    assert isinstance(plain, pd.DataFrame) and plain["Số"].dtype == "Int64"
    styled = _marked(table, "b")
    assert styled.data["Mã"].tolist() == ["b", "a", "c"]
    html = styled.to_html()
    assert SELECTED_STYLE.split(";")[0] in html and "1.5" in html and "2.000000" not in html
    assert isinstance(_marked(table, "z"), pd.DataFrame)     # a commune not in the table: nothing marked


def test_filters_are_kept_between_pages(app_env: Settings) -> None:
    at = run_page("app.py", query={"unit": "99"})                                     # the overview, opened on province 99
    at.selectbox(key="month").set_value(2).run()
    assert at.selectbox(key="province").value == "99"
    at.switch_page("pages/4_San_viec_lam.py").run()
    assert not at.exception
    assert (at.selectbox(key="province").value, at.selectbox(key="month").value) == ("99", 2)
    at.switch_page("pages/2_Nhom_uu_tien.py").run()
    assert not at.exception and at.selectbox(key="province").value == "99"


def test_only_admins_edit_the_reference_table(app_env: Settings) -> None:
    viewer = run_page("pages/3_Thi_truong.py", query={"unit": "99"})
    assert len([b for b in viewer.button if b.key == "reference_save"]) == 0
    admin = run_page("pages/3_Thi_truong.py", role="admin", query={"unit": "99"})
    assert admin.button(key="reference_save") is not None
