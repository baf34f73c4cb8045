"""Reporting completeness: statuses from the demo history and from real imports (issue 16)."""
from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from tests.conftest import run_page
from xkld_geo.figures import periods
from xkld_geo.intake import ingest
from xkld_geo.reporting import completeness
from xkld_geo.settings import Settings

TODAY = dt.date(2026, 3, 15)


def _cells(con, today: dt.date = TODAY):
    return completeness.cells(con, dt.date(2025, 7, 1), dt.date(2026, 3, 1), today, 5)


def test_demo_history_has_known_statuses(tiny_con) -> None:
    """Seed 1, 15 March 2026: 8 communes × 9 months × 3 kinds; March not due, February due on 5 March."""
    table = _cells(tiny_con)
    assert len(table) == 8 * 9 * 3
    counts = table["status"].value_counts().to_dict()
    assert counts == {"on_time": 158, "late": 27, "not_due": 24, "corrected": 5, "missing": 2}
    assert set(table.loc[table["status"] == "not_due", "month"]) == {dt.date(2026, 3, 1)}
    late = table[table["status"] == "late"]
    assert (late["days_late"] > 0).all() and late["days_late"].max() <= 30
    assert (table.loc[table["status"] == "on_time", "days_late"] == 0).all()
    shares = completeness.shares(table)
    assert (shares.due, shares.received, shares.on_time) == (192, 190, 162)   # 158 + 4 corrected on time
    assert shares.received_pct == round(100 * 190 / 192, 1)
    # the missing reports are the recent ones: nothing received after today
    assert table.loc[table["status"] == "missing", "received_on"].isna().all()


def test_missing_cells_read_chua_bao_cao_never_zero(tiny_con) -> None:
    view = completeness.build_view(tiny_con, 2026, 2, "99", "departures", TODAY, 5)
    texts = set(view.calendar.drop(columns=["Mã", "Tên"]).stack())
    assert "0" not in texts and all(isinstance(t, str) for t in texts)
    table = _cells(tiny_con)
    row = table[(table["status"] == "missing")].iloc[0]
    assert completeness.status_text(row["status"], row["days_late"]) == "chưa báo cáo"


def _report(code: str, month: dt.date, n: int) -> bytes:
    return (f"Tháng,Mã xã,Thị trường,Giới tính,Hình thức,Số người\n"
            f"{month:%m/%Y},{code},JP,Nam,Thực tập sinh kỹ thuật,{n}\n").encode("utf-8")


def test_reimport_moves_missing_to_late_then_corrected(tiny_con, tiny_db: Settings) -> None:
    table = _cells(tiny_con)
    missing = table[(table["status"] == "missing") & (table["kind"] == "departures")]
    if missing.empty:   # the seeded history may have its missing reports in another kind
        row = table[table["kind"] == "departures"].iloc[-4]
        tiny_con.execute("DELETE FROM report_receipts WHERE kind = 'departures' AND month = $m AND commune_code = $c",
                         {"m": row["month"], "c": row["commune_code"]})
    else:
        row = missing.iloc[0]
    code, month = row["commune_code"], row["month"]
    due = periods.due_date(month.year, month.month, 5)
    before = _cells(tiny_con, due + dt.timedelta(days=7))
    cell = before[(before["commune_code"] == code) & (before["month"] == month) & (before["kind"] == "departures")]
    assert cell["status"].iloc[0] == "missing"
    day = due + dt.timedelta(days=7)
    settings = dataclasses.replace(tiny_db, today=day)
    ingest.import_file(tiny_con, _report(code, month, 3), "bao_cao.csv", "departures", "can_bo", settings, today=day)
    after = _cells(tiny_con, day)
    cell = after[(after["commune_code"] == code) & (after["month"] == month) & (after["kind"] == "departures")]
    assert cell["status"].iloc[0] == "late" and int(cell["days_late"].iloc[0]) == 7
    # the same file again changes nothing: still late, not corrected
    ingest.import_file(tiny_con, _report(code, month, 3), "bao_cao.csv", "departures", "can_bo", settings, today=day)
    again = _cells(tiny_con, day)
    assert again.loc[cell.index[0], "status"] == "late"
    later = day + dt.timedelta(days=2)
    ingest.import_file(tiny_con, _report(code, month, 4), "bao_cao_sua.csv", "departures", "can_bo",
                       dataclasses.replace(tiny_db, today=later), today=later)
    fixed = _cells(tiny_con, later)
    assert fixed.loc[cell.index[0], "status"] == "corrected" and int(fixed.loc[cell.index[0], "days_late"]) == 7
    assert completeness.status_text("corrected", 7) == "Đã sửa (trễ 7 ngày)"
    # the demo profile of the replaced commune-month is dropped with it
    left = tiny_con.execute("SELECT count(*) FROM departures_profile WHERE is_demo AND commune_code = $c AND month = $m",
                            {"c": code, "m": month}).fetchone()[0]
    assert left == 0


def test_profile_totals_equal_departures(tiny_con) -> None:
    diff = tiny_con.execute("""
        SELECT count(*) FROM (SELECT month, commune_code, sex, sum(departures) AS n FROM departures GROUP BY ALL) d
        FULL JOIN (SELECT month, commune_code, sex, sum(departures) AS n FROM departures_profile GROUP BY ALL) p
        USING (month, commune_code, sex) WHERE d.n IS DISTINCT FROM p.n""").fetchone()[0]
    assert diff == 0
    young = tiny_con.execute("SELECT sum(departures) FILTER (WHERE age_group = '18_30') / sum(departures) "
                             "FROM departures_profile").fetchone()[0]
    assert 0.6 < young < 0.85


@pytest.mark.parametrize("kind", ["register_x", "quotas"])
def test_record_import_ignores_other_kinds(tiny_con, kind: str) -> None:
    import pandas as pd

    assert completeness.record_import(tiny_con, kind, pd.DataFrame({"month": [], "commune_code": []}), 1, TODAY) == 0


def test_completeness_page_and_overview_metric(app_env: Settings) -> None:


    at = run_page("app.py")
    assert {m.label: m.value for m in at.metric}["Báo cáo tháng đã nhận"].endswith("%")
    at.switch_page("pages/10_Tinh_hinh_bao_cao.py").run()
    assert not at.exception and not at.error
    at.selectbox(key="province").set_value("99").run()
    assert not at.exception
    calendar = at.dataframe[1].value
    assert list(calendar["Mã"]) == [f"99{i:03d}" for i in range(1, 7)]
    at.radio(key="completeness_kind").set_value("loans").run()
    assert not at.exception


def test_the_chase_list_counts_then_lists_and_sorts_on_the_counts(tiny_con) -> None:
    tiny_con.execute("""DELETE FROM report_receipts WHERE (commune_code = '99001' AND month = DATE '2026-01-01')
                        OR (commune_code = '99002' AND month = DATE '2026-02-01' AND kind = 'loans')
                        OR (commune_code = '99003' AND kind = 'departures'
                            AND month IN (DATE '2026-01-01', DATE '2026-02-01'))""")
    view = completeness.build_view(tiny_con, 2026, 2, "99", "departures", TODAY, 5)
    chase = view.chase.set_index("Mã")
    assert list(view.chase.columns) == list(completeness.CHASE_COLUMNS)
    assert chase.loc["99001", "Số báo cáo còn thiếu"] >= 3
    assert chase.loc["99001", "Loại báo cáo còn thiếu"].split("; ")[:3] == list(completeness.KINDS.values())
    assert chase.loc["99002", "Loại báo cáo còn thiếu"].endswith("Vay vốn, về nước, vi phạm")
    counts = view.chase["Số báo cáo còn thiếu"].tolist()
    assert all(isinstance(n, int) for n in counts) and counts == sorted(counts, reverse=True)
    first = [dt.date(int(t.split("/")[1]), int(t.split("/")[0]), 1) for t in view.chase["Từ tháng"]]
    for (n0, f0), (n1, f1) in zip(zip(counts, first), zip(counts[1:], first[1:])):
        assert n0 > n1 or f0 <= f1                 # same count: the longest missing first


def test_the_completeness_map_classes_are_about_reports_on_time() -> None:
    from xkld_geo import maps

    classes = maps.LEGENDS[completeness.MAP_CLASSES]
    assert all("tháng" not in c.label for c in classes) and "đúng hạn" in classes[0].label
    assert len({maps.colour_for(v, classes[:-1]) for v in (62.0, 68.5, 77.0)}) == 3


@pytest.mark.real_data
def test_the_national_completeness_map_separates_the_provinces(real_con) -> None:
    from xkld_geo import maps

    view = completeness.build_view(real_con, 2026, 11, None, "departures", dt.date(2026, 12, 1), 5)
    classes = maps.LEGENDS[completeness.MAP_CLASSES][:-1]
    assert len({maps.colour_for(v, classes) for v in view.map_values}) >= 2, view.map_values.describe()
