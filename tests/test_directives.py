"""Priority groups, markets, job fairs, loans and problems: exact figures, "no data", validation, pages."""
from __future__ import annotations

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import session_token
from xkld_geo import auth, flows, jobfairs, priority, programme
from xkld_geo.errors import MarketError
from xkld_geo.settings import PROJECT_ROOT, Settings, load_settings


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


@pytest.mark.parametrize("field,value,message", [
    ("code", "XX", "không phải mã quốc gia ISO"), ("code", "Japan", "không phải mã quốc gia ISO"),
    ("avg_income_usd", -100, "số nguyên không âm"), ("avg_cost_usd", "nhiều", "không phải là số"),
    ("source", "", "không được để trống"),
])
def test_reference_table_rejects_bad_rows(tiny_con, field: str, value: object, message: str) -> None:
    table = flows.reference(tiny_con)
    table.loc[2, field] = value
    errors = flows.check_reference(table)
    assert len(errors) == 1 and errors[0].startswith(f"Dòng 3, cột {field}") and message in errors[0]
    with pytest.raises(MarketError) as err:
        flows.save_reference(tiny_con, table, auth.User("qt", "qt", "admin"))
    assert message in err.value.message


def test_reference_edits_need_an_admin_and_are_audited(tiny_con) -> None:
    table = flows.reference(tiny_con)
    table.loc[table["code"] == "JP", "avg_income_usd"] = 1350
    with pytest.raises(MarketError):
        flows.save_reference(tiny_con, table, auth.User("kh", "kh", "planner"))
    flows.save_reference(tiny_con, table, auth.User("qt", "qt", "admin"))
    assert flows.reference(tiny_con).set_index("code").loc["JP", "avg_income_usd"] == 1350
    assert tiny_con.execute("SELECT count(*) FROM audit_log WHERE action = 'reference_edited'").fetchone()[0] == 1


def test_market_totals_and_safe_share(tiny_con) -> None:
    markets = flows.by_market(tiny_con, 2025, 12, "99")
    total = tiny_con.execute("SELECT SUM(departures) FROM departures WHERE commune_code LIKE '99%' "
                        "AND year(month) = 2025").fetchone()[0]
    assert markets["departures"].sum() == total
    safe = markets.loc[markets["safe_high_income"], "departures"].sum()
    assert flows.safe_share(markets) == pytest.approx(100.0 * safe / total)
    assert flows.safe_share(markets.assign(departures=0)) is None


def test_programme_totals(tiny_con) -> None:
    rows = programme.problems(tiny_con, 2025, 12, None)
    loans = tiny_con.execute("SELECT SUM(loans) FROM programme_monthly WHERE year(month) = 2025").fetchone()[0]
    assert rows["loans"].sum() == loans and set(rows["unit_code"]) == {"98", "99"}
    assert tiny_con.execute("SELECT bool_and(is_demo) FROM programme_monthly").fetchone()[0]





def _page(path: str, role: str | None = "viewer", unit: str | None = "99") -> AppTest:
    at = AppTest.from_file(str(PROJECT_ROOT / path), default_timeout=30)
    if unit:
        at.query_params["unit"] = unit
    if role:
        at.session_state["auth_token"] = session_token(load_settings(), role)
    return at.run()


@pytest.mark.parametrize("path", ["pages/2_Nhom_uu_tien.py", "pages/3_Thi_truong.py", "pages/4_San_viec_lam.py",
                                  "pages/5_Vay_von_van_de.py"])
def test_pages_render_and_are_gated(app_env: Settings, path: str) -> None:
    at = _page(path)
    assert not at.exception and not at.error
    assert any("Dữ liệu minh họa" in m.value for m in at.markdown)
    national = _page(path, unit=None)
    assert not national.exception and not national.error
    anonymous = _page(path, role=None)
    assert any("dành cho cán bộ" in w.value for w in anonymous.warning) and not anonymous.dataframe


def test_priority_group_selection(app_env: Settings) -> None:
    at = _page("pages/2_Nhom_uu_tien.py")
    at.selectbox(key="priority_group").set_value("bo_doi_xuat_ngu").run()
    assert not at.exception and "Bộ đội xuất ngũ" in at.subheader[0].value


def test_filters_are_kept_between_pages(app_env: Settings) -> None:
    at = _page("app.py")                                     # the overview, opened on province 99
    at.selectbox(key="month").set_value(2).run()
    assert at.selectbox(key="province").value == "99"
    at.switch_page("pages/4_San_viec_lam.py").run()
    assert not at.exception
    assert (at.selectbox(key="province").value, at.selectbox(key="month").value) == ("99", 2)
    at.switch_page("pages/2_Nhom_uu_tien.py").run()
    assert not at.exception and at.selectbox(key="province").value == "99"


def test_only_admins_edit_the_reference_table(app_env: Settings) -> None:
    viewer = _page("pages/3_Thi_truong.py")
    assert len([b for b in viewer.button if b.key == "reference_save"]) == 0
    admin = _page("pages/3_Thi_truong.py", role="admin")
    assert admin.button(key="reference_save") is not None
