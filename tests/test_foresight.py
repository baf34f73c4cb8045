"""Year-end forecasts (xkld_geo.foresight.forecast) on the fictional country: the backtest's
figures against hand-computed values, communes adding up to provinces and nation, the range and
the probability of reaching the quota, the command, and the Dự báo cuối năm page."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.conftest import problems, run_page
from xkld_geo import cli
from xkld_geo.foresight import forecast
from xkld_geo.settings import Settings

FAST = ("seasonal_naive", "seasonal_ratio")   # ETS is checked for coherence, not by hand


def designed(con) -> None:
    """Departures replaced by a designed history: every commune 10 a month in 2023; 10 a month in
    January–June 2024 and 20 in July–December; 20 a month in 2025 and in January–February 2026."""
    con.execute("DELETE FROM departures")
    con.execute("""
        INSERT INTO departures
        SELECT m, commune_code, 'JP', 'nam', (SELECT min(code) FROM channels), (SELECT min(code) FROM priority_groups),
               CASE WHEN m < DATE '2024-01-01' THEN 10 WHEN m < DATE '2024-07-01' THEN 10 ELSE 20 END, TRUE
        FROM v_communes, (SELECT CAST(unnest(generate_series(DATE '2023-01-01', DATE '2026-02-01', INTERVAL 1 MONTH))
                                  AS DATE) AS m)""")


@pytest.fixture()
def history(tiny_con) -> forecast.History:
    designed(tiny_con)
    return forecast.load_history(tiny_con)


def score(bt: forecast.Backtest, year: int, month: int, level: str, method: str) -> pd.Series:
    s = bt.scores()
    return s[(s["year"] == year) & (s["month"] == month) & (s["level"] == level)
             & (s["method"].astype(str) == method)].iloc[0]


# (year, cut-off month, method, MAPE = -bias): every commune, province and the nation alike.
# 2024, naive: Jan–Jun: 120 for 180 (-33.3 %); July: 60 + 20 + 5×10 = 130 (-27.8 %).
# 2024, ratio (and the current method): July: pace 80/70, 80 + 50×8/7 = 137.14 (-23.8 %).
# 2025, naive: January: 20 + 5×10 + 6×20 = 190 for 240 (-20.8 %); July on: exact.
# 2025, ratio: January: pace 20/10 = 2, 20 + 2×170 = 360 (+50 %); July: 140 + 100×7/4 = 315 (+31.25 %).
HAND = [(2024, 1, "seasonal_naive", -100 / 3), (2024, 6, "seasonal_naive", -100 / 3),
        (2024, 7, "seasonal_naive", -50 / 1.8), (2024, 7, "seasonal_ratio", -100 * (180 - 960 / 7) / 180),
        (2024, 7, "current", -100 * (180 - 960 / 7) / 180), (2025, 1, "seasonal_naive", -50 / 2.4),
        (2025, 7, "seasonal_naive", 0.0), (2025, 1, "seasonal_ratio", 50.0), (2025, 7, "seasonal_ratio", 31.25)]


@pytest.mark.parametrize(("year", "month", "method", "bias"), HAND)
@pytest.mark.parametrize("level", ["nation", "province", "commune"])
def test_backtest_scores_match_hand_computed_values(history, year, month, method, bias, level) -> None:
    bt = forecast.backtest(history, methods=FAST)
    assert bt.years == (2024, 2025)   # 2023 has no year before it, 2026 is not complete
    row = score(bt, year, month, level, method)
    assert row["bias"] == pytest.approx(bias, abs=1e-9)
    assert row["mape"] == pytest.approx(abs(bias), abs=1e-9)


def test_backtest_chooses_the_lower_provincial_error_and_counts_coverage(history) -> None:
    bt = forecast.backtest(history, methods=FAST)
    assert bt.chosen == "seasonal_naive"     # 2025's ratio over-shoots by half in the first half
    # 2024's naive forecasts all fell short, so the ratios 2025 takes from them all lie above 1: the
    # range reaches up from the forecast, and its lower end is the forecast itself (a range always
    # holds its point). From July on 2025's naive forecast is exact: every range holds it
    for month in range(7, 12):
        assert score(bt, 2025, month, "province", "seasonal_naive")["coverage"] == 100.0
    r = bt.records
    row = r[(r["year"] == 2025) & (r["month"] == 7) & (r["method"] == "seasonal_naive")
            & (r["unit_code"] == "99")].iloc[0]
    assert row["lo"] == row["forecast"] == row["actual"] == 6 * 240 < row["hi"]
    # the current method has no range, its coverage is not counted
    assert np.isnan(score(bt, 2024, 7, "province", "current")["coverage"])
    report = forecast.backtest_report(bt)
    assert "2024" in report and "Hiện hành MAPE" in report and "Mùa vụ đơn giản phủ" in report


@pytest.mark.parametrize("method", forecast.CANDIDATES)
def test_communes_add_up_to_provinces_and_nation(tiny_con, method: str) -> None:
    h = forecast.load_history(tiny_con)   # the demo history of the fictional country
    bt = forecast.backtest(h, methods=(method,))
    ye = forecast.year_end(h, bt.skill(), forecast.quotas(tiny_con, 2026), 2026, 2)
    assert ye is not None and ye.method == method
    communes, provinces = ye.units("commune"), ye.units("province")
    for col in ("ytd", "forecast", "quota"):
        by_province = communes.groupby("province_code")[col].sum()
        assert np.allclose(provinces.set_index("unit_code")[col].reindex(by_province.index), by_province)
        assert ye.units("nation")[col].iloc[0] == pytest.approx(communes[col].sum())
    t = ye.table
    assert (t["lo"] <= t["forecast"] + 1e-9).all() and (t["forecast"] <= t["hi"] + 1e-9).all()
    assert ((t["p_reach"].dropna() >= 0) & (t["p_reach"].dropna() <= 1)).all()
    need = (t["quota"] - t["ytd"]).clip(lower=0) / 10
    assert np.allclose(t["needed_per_month"].fillna(0), need.fillna(0))


def test_scope_filter_limits_commune_rows(tiny_con) -> None:
    h = forecast.load_history(tiny_con)
    ye = forecast.year_end(h, forecast.backtest(h, methods=FAST).skill(), forecast.quotas(tiny_con, 2026), 2026, 2)
    assert ye is not None
    assert set(ye.units("commune", "99", frozenset({"99001", "98001"}))["unit_code"]) == {"99001"}


def test_forecast_command_prints_the_backtest(tiny_db: Settings, monkeypatch, capsys) -> None:
    monkeypatch.setenv("XKLD_DB", str(tiny_db.db_path))
    monkeypatch.setenv("XKLD_TODAY", tiny_db.today.isoformat())
    assert cli.main(["forecast", "--backtest"]) == 0
    out = capsys.readouterr().out
    assert "Tháng chốt" in out and "Hiện hành MAPE" in out and "Phương pháp được chọn" in out
    assert cli.main(["forecast"]) == 0
    out = capsys.readouterr().out
    assert "Toàn quốc" in out and "khả năng đạt" in out and "Dữ liệu minh họa" in out


def test_outlook_page_shows_range_map_and_table(app_env: Settings) -> None:
    at = run_page("pages/18_Du_bao_cuoi_nam.py", query={"unit": "99"}, settings=app_env)
    assert not at.exception and not at.error, problems(at)
    labels = {m.label: m.value for m in at.metric}
    assert "(" in labels["Dự báo cả năm (khoảng 80%)"] and "–" in labels["Dự báo cả năm (khoảng 80%)"]
    assert any("Phương pháp" in i.value and "khoảng đã chứa kết quả thật" in i.value for i in at.info)
    assert len(at.dataframe[0].value) == 6    # the six communes of province 99


def test_the_overview_computes_the_forecast_once_per_data_version(tiny_con, monkeypatch) -> None:
    from xkld_geo.database import cache, dataversion
    from xkld_geo.views import overview

    cache.clear()
    calls: list[tuple[int, int]] = []
    real = forecast.year_end

    def counted(h, skill, quota, year, month):
        calls.append((year, month))
        return real(h, skill, quota, year, month)

    monkeypatch.setattr(forecast, "year_end", counted)
    for request in (overview.Request(2025, 5), overview.Request(2025, 5, "99"), overview.Request(2025, 5, "99", "99003"),
                    overview.Request(2025, 5, national_level="commune")):
        view = overview.build_overview(tiny_con, request, "/app/static")
        h = view.headline
        assert h.projected_low is not None and h.projected_low <= h.projected <= h.projected_high
        assert "khoảng đã chứa kết quả thật" in h.projection_note and "Cách hiện hành" in h.projection_note
    assert calls == [(2025, 5)]          # one forecast for every unit, level and session of the version
    dataversion.bump(tiny_con, "test")
    overview.build_overview(tiny_con, overview.Request(2025, 5, "98"), "/app/static")
    assert calls == [(2025, 5), (2025, 5)]   # a write: computed again, once
    cache.clear()


def test_the_ranking_carries_each_units_forecast(tiny_con) -> None:
    from xkld_geo.views import overview

    view = overview.build_overview(tiny_con, overview.Request(2025, 5, "99"), "/app/static")
    ye = forecast.forecast(tiny_con, 2025, 5)
    assert ye is not None
    expected = ye.units("commune", "99").set_index("unit_code")["forecast"].round()
    shown = view.ranking.set_index("Mã")["Dự báo cả năm"]
    assert (shown.reindex(expected.index) == expected).all()
    assert view.headline.projected == round(ye.row("province", "99")["forecast"])
