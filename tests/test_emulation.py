"""Year-end emulation classification: hand-computed scores and levels, criteria audit, freezing."""
from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from tests.conftest import run_page
from xkld_geo.access import auth
from xkld_geo.errors import QueryError
from xkld_geo.reporting import emulation
from xkld_geo.settings import Settings

FIXTURE = pd.DataFrame({
    "unit_code": ["A", "B", "C", "D", "E"], "unit_name": ["Xã A", "Xã B", "Xã C", "Xã D", "Xã E"],
    "attainment": [120.0, 95.0, 80.0, 40.0, 100.0],
    "jobfair": [100.0, 100.0, 50.0, 25.0, 100.0],
    "on_time": [100.0, 100.0, 90.0, None, 100.0],
    "priority": [45.0, 30.0, 15.0, 6.0, 12.0]})
# weights 50/20/15/15, targets 100/100/100/30:
# A: 50 + 20 + 15 + 15 = 100 → xuất sắc
# B: 47.5 + 20 + 15 + 15 = 97.5, but 95% < 100% of quota → tốt (with the reason)
# C: 40 + 10 + 13.5 + 7.5 = 71 → hoàn thành
# D: 20 + 5 + 0 + 3 = 28 → không hoàn thành
# E: 50 + 20 + 15 + 6 = 91 → xuất sắc
EXPECTED = {"A": (100.0, 0), "E": (91.0, 0), "B": (97.5, 1), "C": (71.0, 2), "D": (28.0, 3)}


def test_hand_made_fixture_gives_hand_computed_levels() -> None:
    result = emulation.classify(FIXTURE, emulation.Criteria()).set_index("unit_code")
    for code, (score, level) in EXPECTED.items():
        assert result.loc[code, "score"] == pytest.approx(score)
        assert result.loc[code, "level"] == emulation.LEVELS[level]
    assert "chưa đạt 100% chỉ tiêu" in result.loc["B", "explanation"]
    assert result.loc["C", "jobfair_points"] == 10.0
    proposal = emulation.proposal(result.reset_index())
    assert list(proposal["Đơn vị"]) == ["Xã A", "Xã B", "Xã E"] or set(proposal["Đơn vị"]) == {"Xã A", "Xã B", "Xã E"}


def test_weights_must_add_up() -> None:
    with pytest.raises(QueryError):
        emulation.classify(FIXTURE, emulation.Criteria(weights={"attainment": 60, "jobfair": 20, "on_time": 15,
                                                                  "priority": 15}))


def test_criteria_are_audited_and_approval_freezes(tiny_con) -> None:
    planner, admin = auth.User("kh", "KH", "planner"), auth.User("qt", "QT", "admin")
    new = emulation.Criteria(weights={"attainment": 40, "jobfair": 20, "on_time": 20, "priority": 20})
    emulation.save_criteria(tiny_con, planner, new)
    assert emulation.current_criteria(tiny_con).weights["attainment"] == 40
    assert tiny_con.execute("SELECT count(*) FROM audit_log WHERE action = 'emulation_criteria'").fetchone()[0] == 1
    result = emulation.classify(emulation.inputs(tiny_con, 2025, "99", dt.date(2026, 3, 15), 5), new)
    assert len(result) == 6 and result["level"].isin(emulation.LEVELS).all()
    with pytest.raises(QueryError):
        emulation.approve(tiny_con, planner, 2025, "99", result, new)
    emulation.approve(tiny_con, admin, 2025, "99", result, new)
    frozen = emulation.approved(tiny_con, 2025, "99")
    assert len(frozen) == 6 and set(frozen["level"]) == set(result["level"])
    with pytest.raises(QueryError):
        emulation.approve(tiny_con, admin, 2025, "99", result, new)
    assert emulation.proposal_docx(emulation.proposal(result), "Đề nghị")[:2] == b"PK"
    assert emulation.proposal_xlsx(emulation.proposal(result), "Đề nghị")[:2] == b"PK"


def test_emulation_page(app_env: Settings) -> None:
    at = run_page("pages/13_Thi_dua.py", role="admin")
    assert not at.exception and not at.error
    at.selectbox(key="emulation_province").set_value("99")
    at.selectbox(key="emulation_year").set_value(2025).run()
    assert not at.exception and len(at.dataframe[0].value) == 6
    at.button(key="emulation_approve").click().run()
    assert not at.exception and at.success


def test_history_across_the_reform_reads_the_units_of_the_time(history_con) -> None:
    import datetime as dt

    from xkld_geo.reporting import emulation

    c = emulation.current_criteria(history_con)
    table = emulation.history(history_con, "99", range(2024, 2027), dt.date(2026, 3, 15), 5, c)
    assert list(table["unit_code"]) == [f"99{i:03d}" for i in range(1, 7)]
    assert {"2024", "2025", "2026"} <= set(table.columns)
    assert table.set_index("unit_code").loc["99001", "Gồm xã cũ (trước 1/7/2025)"] == "Xã Cũ Một, Xã Hợp Nhất"
    levels = {cell.split(" (")[0] for col in ("2024", "2025", "2026") for cell in table[col]}
    assert levels <= set(emulation.LEVELS)
    # a year's level equals that year's own classification
    year_2025 = emulation.classify(emulation.inputs(history_con, 2025, "99", dt.date(2026, 3, 15), 5), c)
    own = dict(zip(year_2025["unit_code"], year_2025["level"]))
    assert all(table.set_index("unit_code").loc[u, "2025"].startswith(own[u]) for u in own)


def test_the_grade_follows_the_score_and_says_why() -> None:
    # like Nghi Lộc 96,6 "tốt" beside Tây Hiếu 95,5 "xuất sắc": the first has not met the year's quota
    units = pd.DataFrame({"unit_code": ["N", "T", "R"], "unit_name": ["Xã N", "Xã T", "Xã R"],
                          "attainment": [99.96, 100.0, 96.0], "jobfair": [100.0, 80.0, 100.0],
                          "on_time": [100.0, 100.0, 100.0], "priority": [30.0, 30.0, 30.0]})
    result = emulation.classify(units, emulation.Criteria()).set_index("unit_code")
    assert result.loc["N", "score"] > result.loc["T", "score"] >= 90
    assert result.loc["N", "level"] == emulation.LEVELS[1]          # 99,96% is not the quota met
    assert result.loc["T", "level"] == emulation.LEVELS[0]
    assert result.loc["N", "reason"].startswith("Từ 90 điểm nhưng chưa đạt 100% chỉ tiêu năm")
    assert result.loc["T", "reason"] == "Từ 90 điểm và đạt 100% chỉ tiêu năm"
    assert result.loc["R", "reason"].endswith("(96,0%): xếp hoàn thành tốt")


def test_the_year_cannot_be_approved_before_its_last_report_is_due(tiny_con) -> None:
    admin = auth.User("qt", "QT", "admin")
    c = emulation.Criteria()
    result = emulation.classify(emulation.inputs(tiny_con, 2025, "99", dt.date(2025, 12, 7), 5), c)
    assert emulation.final_on(2025, 5) == dt.date(2026, 1, 5)
    assert "tạm tính" in emulation.provisional_note(2025, dt.date(2025, 12, 7), 5)
    with pytest.raises(QueryError, match="tạm tính"):
        emulation.approve(tiny_con, admin, 2025, "99", result, c, dt.date(2025, 12, 7), 5)
    assert emulation.approved(tiny_con, 2025, "99").empty
    assert emulation.provisional_note(2025, dt.date(2026, 1, 5), 5) is None
    emulation.approve(tiny_con, admin, 2025, "99", result, c, dt.date(2026, 1, 5), 5)
    assert len(emulation.approved(tiny_con, 2025, "99")) == 6


def test_the_page_marks_a_provisional_year_and_shows_the_reason(app_env: Settings) -> None:
    at = run_page("pages/13_Thi_dua.py", role="admin")
    at.selectbox(key="emulation_province").set_value("99")
    at.selectbox(key="emulation_year").set_value(2026).run()
    assert not at.exception and any("tạm tính" in w.value for w in at.warning)
    table = at.dataframe[0].value
    assert "Lý do xếp loại" in table.columns and table["Xếp loại"].str.endswith("(tạm tính)").all()
    assert not [b for b in at.button if b.key == "emulation_approve"]
