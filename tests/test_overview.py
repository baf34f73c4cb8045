"""Period arithmetic (pace, projection, rank change) and the overview built on the fixture country."""
from __future__ import annotations

import datetime as dt
import io

import openpyxl
import pandas as pd
import pytest

from xkld_geo.errors import QueryError
from xkld_geo.figures import export, metrics, periods
from xkld_geo.views import overview


@pytest.mark.parametrize("quota,elapsed,pace", [(1200, 1, 100), (1200, 12, 1200), (1000, 3, 250),
                                                (290, 1 + 15 / 29, 290 * (44 / 29) / 12), (0, 6, 0)])
def test_pace(quota: int, elapsed: float, pace: float) -> None:
    assert metrics.pace(quota, elapsed) == pytest.approx(pace)


def test_on_pace_in_march_is_100_percent_not_25() -> None:
    assert metrics.pace_pct(250, 1000, 3) == pytest.approx(100.0)
    assert metrics.attainment_pct(250, 1000) == pytest.approx(25.0)
    assert metrics.attainment_class(metrics.pace_pct(250, 1000, 3)).key == "ge100"


def test_enrich_ranks_and_rank_change() -> None:
    rows = pd.DataFrame({
        "unit_code": ["99001", "99002", "99003", "99004"], "unit_name": list("ABCD"),
        "province_code": "99", "population": [1000, 2000, 0, 1000],
        "quota": [120, 120, 120, None],
        "ytd": [30, 60, 15, 5], "ytd_prev_month": [30, 10, 10, 5], "ytd_last_year": [20, 0, 15, 0],
        "ly_this_month": [5, 0, 5, 0], "last_year_total": [100, 0, 60, 0], "last_year_quota": [100, 100, 100, None],
    })
    march = periods.period(2026, 3, dt.date(2026, 5, 2))
    out = overview.enrich(rows, march, periods.projection(march, [])).set_index("unit_code")
    # expected by now = 120 × 3/12 = 30
    assert out["expected"].tolist()[:3] == [30.0, 30.0, 30.0]
    assert out["pace_pct"].tolist()[:3] == pytest.approx([100.0, 200.0, 50.0])
    assert pd.isna(out.loc["99004", "pace_pct"])
    assert out["rank"].tolist() == [2, 1, 3, 4]          # no quota ranks last
    # February: expected 20 → 150%, 50%, 50% → ranks 1, 2, 2; change = old - new
    assert out["rank_change"].tolist()[:3] == [-1, 1, -1]
    assert out.loc["99001", "change_pct"] == pytest.approx(50.0)
    assert pd.isna(out.loc["99002", "change_pct"])          # nothing last year: no %
    assert out.loc["99001", "per_1000"] == pytest.approx(1000 * 30 / (1000 * metrics.WORKING_AGE_SHARE))
    assert pd.isna(out.loc["99003", "per_1000"])
    assert out.loc["99001", "projected"] == 120


def test_january_rank_change_compares_with_the_december_before() -> None:
    rows = pd.DataFrame({"unit_code": ["1", "2"], "unit_name": ["A", "B"], "province_code": ["99", "99"],
                         "population": [1, 1], "quota": [12, 12], "ytd": [1, 2], "ytd_prev_month": [0, 0],
                         "ytd_last_year": [1, 1], "ly_this_month": [1, 1], "last_year_total": [150, 50],
                         "last_year_quota": [100, 100]})
    jan = periods.period(2026, 1, dt.date(2026, 2, 10))
    out = overview.enrich(rows, jan, periods.projection(jan, []))
    # December: A 150%, B 50% (ranks 1, 2); January: B 200%, A 100% (ranks 2, 1)
    assert out["rank_change"].tolist() == [-1, 1]


def test_first_year_has_no_rank_change() -> None:
    rows = pd.DataFrame({"unit_code": ["1"], "unit_name": ["A"], "province_code": ["99"],
                         "population": [1], "quota": [12], "ytd": [1], "ytd_prev_month": [0],
                         "ytd_last_year": [0], "ly_this_month": [0], "last_year_total": [0],
                         "last_year_quota": [None]})
    jan = periods.period(2026, 1, dt.date(2026, 3, 1))
    assert pd.isna(overview.enrich(rows, jan, periods.projection(jan, []))["rank_change"].iloc[0])


def test_month_in_progress_compares_last_year_to_the_same_day() -> None:
    rows = pd.DataFrame({"unit_code": ["1"], "unit_name": ["A"], "province_code": ["99"],
                         "population": [1], "quota": [1200], "ytd": [110], "ytd_prev_month": [100],
                         "ytd_last_year": [130], "ly_this_month": [30], "last_year_total": [1000],
                         "last_year_quota": [1000]})
    p = periods.period(2026, 2, dt.date(2026, 2, 14))  # 14 of 28 days
    out = overview.enrich(rows, p, periods.projection(p, [])).iloc[0]
    assert out["expected"] == pytest.approx(1200 * 1.5 / 12)
    assert out["ytd_last_year"] == 115                    # 100 + half of last February's 30
    assert out["change_pct"] == pytest.approx(100 * (110 - 115) / 115)


def test_overview_totals_match_the_database(tiny_con) -> None:
    view = overview.build_overview(tiny_con, overview.Request(2025, 5), "/app/static")
    quota, ytd = tiny_con.execute("""SELECT (SELECT SUM(quota) FROM quotas WHERE year = 2025 AND unit_level = 'commune'),
        (SELECT SUM(departures) FROM departures WHERE month BETWEEN '2025-01-01' AND '2025-05-01')""").fetchone()
    assert (view.headline.quota, view.headline.ytd) == (quota, ytd)
    assert view.headline.pace_pct == pytest.approx(100 * ytd / (quota * 5 / 12))
    assert view.headline.communes == 8
    assert len(view.ranking) == 2
    assert view.trend.loc[5, "Năm nay (lũy kế)"] == ytd
    assert pd.isna(view.trend.loc[6, "Năm nay (lũy kế)"])
    assert view.trend.loc[12, "Tiến độ cần đạt"] == pytest.approx(quota)


def test_overview_of_one_commune(tiny_con) -> None:
    view = overview.build_overview(tiny_con, overview.Request(2025, 12, "99", "99003"), "/app/static")
    assert [c[0] for c in view.breadcrumbs] == ["Toàn quốc", "Tỉnh Thử Nghiệm", "Xã Thử 3"]
    assert view.headline.communes == 1
    assert len(view.ranking) == 6  # the ranking still shows the commune among its peers
    monthly = tiny_con.execute("SELECT SUM(departures) FROM departures WHERE commune_code = '99003' "
                          "AND year(month) = 2025").fetchone()[0]
    assert view.headline.ytd == monthly == view.trend.loc[12, "Năm nay (lũy kế)"]


@pytest.mark.parametrize("kwargs,field", [({"month": 13}, "tháng"), ({"province": "1"}, "tỉnh"),
                                          ({"province": "99", "commune": "9900"}, "xã"),
                                          ({"commune": "99001"}, "xã"), ({"indicator": "x"}, "chỉ số")])
def test_bad_requests_are_refused(kwargs: dict, field: str) -> None:
    base = {"year": 2025, "month": 6} | kwargs
    with pytest.raises(QueryError) as err:
        overview.Request(**base)
    assert err.value.details["field"] == field


def test_commune_outside_the_province_is_refused(tiny_con) -> None:
    with pytest.raises(QueryError):
        overview.build_overview(tiny_con, overview.Request(2025, 6, "98", "99001"), "/app/static")


def test_exports(tiny_con) -> None:
    view = overview.build_overview(tiny_con, overview.Request(2025, 12, "99"), "/app/static")
    book = openpyxl.load_workbook(io.BytesIO(export.ranking_xlsx(view.ranking, view.title, True)))
    sheet = book["Xếp hạng"]
    assert sheet["A1"].value == view.title and "Dữ liệu minh họa" in sheet["A2"].value
    header = [c.value for c in sheet[4]]
    codes = [sheet.cell(row=r, column=header.index("Mã") + 1).value for r in range(5, 11)]
    assert sorted(codes) == [f"99{i:03d}" for i in range(1, 7)]  # text, zero-padded
    png = export.map_png(view.map_spec, view.title)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000


@pytest.mark.parametrize("rows,top,bottom,shown", [(5, 5, 0, 5), (20, 10, 0, 20), (30, 10, 10, 30),
                                                   (300, 10, 10, 50)])
def test_ranking_groups_top_and_bottom_and_cuts_a_long_table_to_its_ends(rows: int, top: int, bottom: int,
                                                                          shown: int) -> None:
    from xkld_geo.ui import overview as page

    table = pd.DataFrame({"Hạng": range(1, rows + 1), "Mã": [f"{i:05d}" for i in range(rows)]})
    out = page.ranking_shown(table, everything=False)
    assert len(out) == shown and list(out.columns[:2]) == ["Hạng", page.GROUP]
    everything = page.ranking_shown(table)
    assert len(everything) == rows
    assert sum(g == [page.TOP] for g in everything[page.GROUP]) == top
    assert sum(g == [page.BOTTOM] for g in everything[page.GROUP]) == bottom
    assert everything[page.GROUP].iloc[0] == [page.TOP]
    assert out["Hạng"].iloc[-1] == rows                       # the last one is still shown


@pytest.mark.parametrize("month", [1, 5, 12])
def test_trend_long_is_the_melted_trend_without_missing_months(month: int) -> None:
    monthly = pd.DataFrame({"month": range(1, 13), "this_year": range(10, 130, 10), "last_year": range(5, 65, 5)})
    trend = overview.trend_table(monthly, 1200, month)
    melted = (trend.astype(float).reset_index().melt(id_vars="Tháng", var_name="Đường", value_name="Số người")
              .dropna(subset=["Số người"]))
    pd.testing.assert_frame_equal(overview.trend_long(trend), melted, check_exact=True)
    assert len(overview.trend_long(trend)) == 24 + month


def test_ranking_orders_by_rank_then_code_with_or_without_missing_ranks() -> None:
    rows = pd.DataFrame({c: [1.0, 2.0, 3.0, 4.0] for c in overview.RANKING_COLUMNS})
    rows["unit_code"] = ["04", "02", "03", "01"]
    rows["rank"] = pd.array([2, 1, 2, 3], dtype="Int64")
    assert overview.ranking_table(rows)["Mã"].tolist() == ["02", "03", "04", "01"]
    rows["rank"] = pd.array([2, pd.NA, 2, 1], dtype="Int64")
    assert overview.ranking_table(rows)["Mã"].tolist() == ["01", "03", "04", "02"]
