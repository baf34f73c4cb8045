"""All received or approved only: the overview, the thi đua page and the official report.

On the fictional country a clerk imports February 2026 for communes 99001 (500 people) and
99002 (400); the province approves 99002 only, so 99001's month stays submitted. With "all
received" the overview counts both; with "approved only" it counts 500 fewer, and both
say how many commune-months wait. The year-end thi đua and the official report count approved
figures, and a classification of received figures cannot be approved.
"""
from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from tests.conftest import run_page
from xkld_geo.access import auth
from xkld_geo.database import db
from xkld_geo.errors import QueryError
from xkld_geo.intake import ingest
from xkld_geo.reporting import approval, emulation
from xkld_geo.settings import Settings
from xkld_geo.views import overview

PASSWORD = "mat-khau-thu-nghiem"
MONTH = dt.date(2026, 2, 1)
CSV = ("Tháng,Mã xã,Thị trường,Giới tính,Hình thức,Nhóm ưu tiên,Số người\n"
       "02/2026,99001,Nhật Bản,Nam,Thực tập sinh kỹ thuật,,500\n"
       "02/2026,99002,Hàn Quốc,Nam,EPS,,400\n").encode()


def _one_submitted_one_approved(con: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    """99001's February is submitted (by import), 99002's approved by the province."""
    auth.create_user(con, "nhap.99", PASSWORD, "clerk", unit="99")
    auth.create_user(con, "duyet.99", PASSWORD, "planner", unit="99")
    report = ingest.import_file(con, CSV, "thang2.csv", "departures", auth.account(con, "nhap.99"), settings)
    assert report.accepted == 2
    approval.approve(con, auth.account(con, "duyet.99"), MONTH, "99002")
    assert approval.state(con, MONTH, "99001").state == "submitted"


def test_the_overview_counts_only_approved_months_when_asked(tiny_db: Settings, tiny_con) -> None:
    _one_submitted_one_approved(tiny_con, tiny_db)
    for province in (None, "99"):
        received = overview.build_overview(tiny_con, overview.Request(2026, 2, province), "/app/static",
                                           tiny_db.today)
        approved = overview.build_overview(tiny_con, overview.Request(2026, 2, province, figures="approved"),
                                           "/app/static", tiny_db.today)
        assert received.headline.ytd - approved.headline.ytd == 500     # 99001's submitted month left out
        assert received.trend.loc[2, "Năm nay (lũy kế)"] - approved.trend.loc[2, "Năm nay (lũy kế)"] == 500
        rows = {"received": received.ranking.set_index("Mã"), "approved": approved.ranking.set_index("Mã")}
        code = "99" if province is None else "99001"
        assert rows["received"].at[code, "Đã xuất cảnh (lũy kế)"] - rows["approved"].at[
            code, "Đã xuất cảnh (lũy kế)"] == 500
        if province == "99":   # the approved commune counts alike in both
            assert rows["received"].at["99002", "Đã xuất cảnh (lũy kế)"] == \
                rows["approved"].at["99002", "Đã xuất cảnh (lũy kế)"]
        assert received.approval_counts["submitted"] == 1 and received.approval_counts["approved"] == 1
        assert "1 xã–tháng chưa được phê duyệt" in received.approval_note
        assert "1 xã–tháng đã nhận chưa được phê duyệt" in approved.approval_note
    one = overview.build_overview(tiny_con, overview.Request(2026, 2, "99", "99001", figures="approved"),
                                  "/app/static", tiny_db.today)
    everything = overview.build_overview(tiny_con, overview.Request(2026, 2, "99", "99001"), "/app/static",
                                         tiny_db.today)
    assert everything.headline.ytd - one.headline.ytd == 500


def test_the_figures_choice_is_checked() -> None:
    with pytest.raises(QueryError):
        overview.Request(2026, 2, figures="du-kien")


def test_the_year_end_counts_approved_months_and_refuses_a_received_classification(tiny_db: Settings,
                                                                                  tiny_con) -> None:
    _one_submitted_one_approved(tiny_con, tiny_db)
    today = dt.date(2027, 1, 10)              # 2026 is over: its classification can be approved
    official = emulation.inputs(tiny_con, 2026, "99", today, 5).set_index("unit_code")
    everything = emulation.inputs(tiny_con, 2026, "99", today, 5, approved_only=False).set_index("unit_code")
    assert everything.at["99001", "attainment"] > official.at["99001", "attainment"]
    assert everything.at["99002", "attainment"] == official.at["99002", "attainment"]
    assert "1 xã–tháng đã nhận chưa được phê duyệt" in emulation.figures_note(tiny_con, 2026, "99", today)
    assert "1 xã–tháng chưa được phê duyệt" in emulation.figures_note(tiny_con, 2026, "99", today, False)
    admin = auth.User("qt", "QT", "admin")
    c = emulation.Criteria()
    with pytest.raises(QueryError, match="chỉ tính số liệu đã được phê duyệt"):
        emulation.approve(tiny_con, admin, 2026, "99", emulation.classify(everything.reset_index(), c), c, today, 5)
    assert emulation.approved(tiny_con, 2026, "99").empty
    emulation.approve(tiny_con, admin, 2026, "99", emulation.classify(official.reset_index(), c), c, today, 5)
    frozen = emulation.approved(tiny_con, 2026, "99").set_index("unit_code")
    assert len(frozen) == 6


def _prepare_app(settings: Settings) -> None:
    con = db.connect(settings)
    db.upgrade(con)
    _one_submitted_one_approved(con, settings)


def _metric(at, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def test_the_overview_page_switches_between_received_and_approved(app_env: Settings) -> None:
    _prepare_app(app_env)
    at = run_page("pages/0_Tong_quan.py", role="viewer",
                  state={"year": 2026, "month": 2, "province": "99"})
    assert not at.exception and not at.error
    assert at.radio(key="figures").value == "received"
    before = _metric(at, "Đã xuất cảnh (lũy kế)")
    assert any("1 xã–tháng chưa được phê duyệt" in c.value for c in at.caption)
    at.radio(key="figures").set_value("approved").run()
    assert not at.exception and not at.error
    after = _metric(at, "Đã xuất cảnh (lũy kế)")
    assert int(before.replace(".", "")) - int(after.replace(".", "")) == 500
    assert any("1 xã–tháng đã nhận chưa được phê duyệt" in c.value for c in at.caption)
    assert at.query_params.get("figures") in ("approved", ["approved"])


def test_a_meeting_link_can_ask_for_approved_figures(app_env: Settings) -> None:
    _prepare_app(app_env)
    at = run_page("pages/0_Tong_quan.py", role="viewer", query={"figures": "approved"})
    assert not at.exception and not at.error
    assert at.radio(key="figures").value == "approved"


def test_the_thi_dua_page_switches_and_approves_only_approved_figures(app_env: Settings) -> None:
    _prepare_app(app_env)
    at = run_page("pages/13_Thi_dua.py", role="admin")
    at.selectbox(key="emulation_province").set_value("99")
    at.selectbox(key="emulation_year").set_value(2026).run()
    assert not at.exception and not at.error
    assert at.radio(key="emulation_figures").value == "approved"
    assert any("1 xã–tháng đã nhận chưa được phê duyệt" in c.value for c in at.caption)
    official = at.dataframe[0].value.set_index("Đơn vị")["Điểm"]
    at.radio(key="emulation_figures").set_value("received").run()
    assert not at.exception and not at.error
    assert any("1 xã–tháng chưa được phê duyệt" in c.value for c in at.caption)
    received = at.dataframe[0].value.set_index("Đơn vị")["Điểm"].reindex(official.index)
    assert (received >= official).all() and (received > official).any()
    assert not [b for b in at.button if b.key == "emulation_approve"]


def test_the_report_page_uses_the_same_switch_approved_by_default(app_env: Settings) -> None:
    at = run_page("pages/12_Bao_cao_dinh_ky.py", role="viewer")
    assert not at.exception and not at.error
    assert at.radio(key="report_figures").value == "approved"
    assert [o for o in at.radio(key="report_figures").options] == list(approval.FIGURES.values())
