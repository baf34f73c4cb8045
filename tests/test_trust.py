"""Numbers leaders can trust on the default view: the period, pace and projection, checked against
an independent SQL computation on warehouses built on different days; the demo never writes the
future; demo quotas follow the published plans."""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Iterator

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import run_page, settings_for, write_tiny_data
from xkld_geo.database import db
from xkld_geo.figures import metrics
from xkld_geo.foresight import forecast
from xkld_geo.settings import PROJECT_ROOT, Settings
from xkld_geo.warehouse import assembly

APP = str(PROJECT_ROOT / "app.py")

DAYS = [  # the day the warehouse is built and the app opened, and the default (year, month)
    (dt.date(2026, 12, 1), (2026, 11)),
    (dt.date(2026, 6, 15), (2026, 5)),
    (dt.date(2027, 1, 15), (2026, 12)),
    (dt.date(2028, 2, 29), (2028, 1)),
]


def serve(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, today: dt.date) -> Settings:
    """Build the fictional country on ``today`` and point the app's environment at it."""
    settings = settings_for(write_tiny_data(tmp_path / "data"), tmp_path / "tiny.duckdb", today=today)
    assembly.build(settings)
    for var, value in {"XKLD_DB": settings.db_path, "XKLD_DATA_DIR": settings.data_dir,
                       "XKLD_TODAY": today.isoformat(), "XKLD_ID_KEY_FILE": settings.id_key_file}.items():
        monkeypatch.setenv(var, str(value))
    db.close_all()
    return settings


@pytest.fixture(params=DAYS, ids=[d.isoformat() for d, _ in DAYS])
def built_on(request: pytest.FixtureRequest, tmp_path: Path,
             monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Settings, tuple[int, int]]]:
    """The fictional country built on one of :data:`DAYS`, with the default period expected."""
    today, expected = request.param
    yield serve(tmp_path, monkeypatch, today), expected
    db.close_all()


def independent(con: duckdb.DuckDBPyConnection, year: int, month: int) -> tuple[int, int, float, int]:
    """(quota, departures, % of pace, projection) for January..``month`` (a complete month), in SQL
    alone: pace = quota × month / 12; projection = departures × last year's total / last year's
    departures to the end of the same month."""
    quota, ytd, ly_total, ly_ytd = con.execute("""
        SELECT (SELECT SUM(quota) FROM quotas WHERE year = $y AND unit_level = 'commune'),
               (SELECT SUM(departures) FROM departures WHERE year(month) = $y AND month(month) <= $m),
               (SELECT SUM(departures) FROM departures WHERE year(month) = $y - 1),
               (SELECT SUM(departures) FROM departures WHERE year(month) = $y - 1 AND month(month) <= $m)
        """, {"y": year, "m": month}).fetchone()
    return int(quota), int(ytd), 100.0 * ytd / (quota * month / 12), int(round(ytd * ly_total / ly_ytd))


def _run(settings: Settings) -> AppTest:
    return run_page("app.py", settings=settings)


def test_default_overview_matches_an_independent_computation(built_on: tuple[Settings, tuple[int, int]]) -> None:
    settings, (year, month) = built_on
    at = _run(settings)
    assert not at.exception and not at.error
    assert (at.selectbox(key="year").value, at.selectbox(key="month").value) == (year, month)
    con = db.connect(settings)
    quota, ytd, pace, projected = independent(con, year, month)
    shown = {m.label: m.value for m in at.metric}
    assert shown["Chỉ tiêu năm"] == metrics.fmt_int(quota)
    assert shown["Đã xuất cảnh (lũy kế)"] == metrics.fmt_int(ytd)
    assert shown["Đạt tiến độ"] == metrics.fmt_pct(pace)
    # the headline shows the backtested forecast and its 80 % range; the old one-number method
    # (computed here independently) is named beside it in the note
    found = forecast.forecast(con, year, month)
    assert found is not None
    nation = found.row("nation", forecast.NATION)
    assert shown["Dự báo cả năm"] == (f"{metrics.fmt_int(nation['forecast'])} ({metrics.fmt_int(nation['lo'])}–"
                                      f"{metrics.fmt_int(nation['hi'])})")
    assert nation["lo"] <= nation["forecast"] <= nation["hi"]
    label = f"Lũy kế đến hết tháng {month}/{year}"
    assert any(label in m.value for m in at.markdown)
    note = next(m for m in at.metric if m.label == "Dự báo cả năm").help
    assert "mùa vụ" in note and f"Cách hiện hành (theo mùa vụ năm trước, một con số): {metrics.fmt_int(projected)}" in note
    assert "Dữ liệu minh họa" in note and "khoảng đã chứa kết quả thật" in note


def test_a_month_in_progress_is_counted_to_its_cut_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = serve(tmp_path, monkeypatch, dt.date(2026, 12, 1))
    at = _run(settings)
    at.selectbox(key="month").set_value(12).run()
    assert not at.exception and not at.error
    con = db.connect(settings)
    quota, ytd, dec, ly_dec = con.execute("""
        SELECT (SELECT SUM(quota) FROM quotas WHERE year = 2026 AND unit_level = 'commune'),
               (SELECT SUM(departures) FROM departures WHERE year(month) = 2026),
               (SELECT SUM(departures) FROM departures WHERE month = DATE '2026-12-01'),
               (SELECT SUM(departures) FROM departures WHERE month = DATE '2025-12-01')""").fetchone()
    db.close_all()
    assert 0 < dec <= round(ly_dec / 31 * 2) + 2  # about one day of December, never the whole month
    shown = {m.label: m.value for m in at.metric}
    assert shown["Đạt tiến độ"] == metrics.fmt_pct(100.0 * ytd / (quota * (11 + 1 / 31) / 12))
    assert any("Lũy kế đến ngày 01/12/2026" in m.value for m in at.markdown)


DATED = {"departures": "month", "job_fair_attendance": "month", "programme_monthly": "month",
         "departures_old": "month", "cases": "status_on", "returnees": "month"}


@pytest.mark.parametrize("today", [dt.date(2026, 12, 1), dt.date(2026, 1, 15), dt.date(2028, 2, 29)])
def test_no_demo_row_is_dated_after_today(tmp_path: Path, today: dt.date) -> None:
    data = write_tiny_data(tmp_path / "data")
    settings = settings_for(data, tmp_path / "tiny.duckdb", today=today)
    assembly.build(settings)
    db.close_all()
    con = db.open_connection(settings.db_path, read_only=True)
    try:
        present = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        for table, column in DATED.items():
            if table in present:
                late = con.execute(f"SELECT count(*) FROM {table} WHERE {column} > $t",  # fixed names
                                   {"t": today}).fetchone()[0]
                assert late == 0, table
        assert con.execute("SELECT max(year) FROM quotas WHERE is_demo").fetchone()[0] == today.year
        this_month = con.execute("SELECT SUM(departures) FROM departures WHERE month = $m",
                                 {"m": today.replace(day=1)}).fetchone()[0] or 0
        last_year = con.execute("SELECT SUM(departures) FROM departures WHERE month = $m",
                                {"m": today.replace(year=today.year - 1, day=1)}).fetchone()[0] or 0
        if today.day < 28:  # the month in progress holds about the days elapsed, not the month
            assert this_month < last_year
    finally:
        con.close()


def test_demo_quotas_follow_the_published_plans(tiny_con) -> None:
    # tests/conftest.py NATIONAL_CSV: plans 2024 3,000 and 2025 3,300
    plans = dict(tiny_con.execute("SELECT year, SUM(quota) FROM quotas WHERE unit_level = 'commune' "
                                  "GROUP BY 1").fetchall())
    assert plans[2024] == 3000 and plans[2025] == 3300
    provinces = dict(tiny_con.execute("SELECT year, SUM(quota) FROM quotas WHERE unit_level = 'province' "
                                      "GROUP BY 1").fetchall())
    assert provinces == plans


PUBLISHED_PLANS = {2021: 90_000, 2022: 90_000, 2023: 120_000, 2024: 125_000, 2025: 130_000}


@pytest.mark.real_data
def test_national_demo_quota_is_within_two_percent_of_the_plan(real_con) -> None:
    got = dict(real_con.execute("SELECT year, SUM(quota) FROM quotas WHERE unit_level = 'commune' "
                                "AND year BETWEEN 2021 AND 2025 GROUP BY 1").fetchall())
    for year, plan in PUBLISHED_PLANS.items():
        assert abs(got[year] - plan) <= 0.02 * plan, year
    dep_2022 = real_con.execute("SELECT SUM(departures) FROM departures WHERE year(month) = 2022").fetchone()[0]
    assert 100 * dep_2022 / got[2022] == pytest.approx(158.6, abs=1.0)  # attainment follows the departures


def test_next_years_approved_quota_does_not_blank_the_default_views(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    settings = serve(tmp_path, monkeypatch, dt.date(2026, 12, 1))
    con = db.connect(settings)
    con.execute("""INSERT INTO quotas SELECT 2027, unit_code, unit_level, quota, false, 'plan'
                   FROM quotas WHERE year = 2026""")  # an approved plan for next year
    con.close()
    at = _run(settings)
    assert (at.selectbox(key="year").value, at.selectbox(key="month").value) == (2026, 11)
    assert 2027 not in at.selectbox(key="year").options and "2027" not in at.selectbox(key="year").options
    public = run_page("pages/1_Cong_khai.py", role=None)
    assert not public.exception and not public.error
    assert "T1–11/2026" in public.title[0].value.replace("\u2060", "")
