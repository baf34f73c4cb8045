"""Demo figures that hold commune by commune and day by day.

Departures through recruitment orders are a part of the commune's departures in every commune and
month (and the funnel's last step a part of the period's departures); events that would fall after
today are dropped, never moved onto it, so today's count follows the rate of the days before.
"""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from tests.conftest import frame
from xkld_geo.pipeline import funnel
from xkld_geo.warehouse import demo_pipeline, demo_protection, programme

OVER = """
    WITH through AS (
        SELECT i.commune_code, date_trunc('month', o.departure_on) AS month, SUM(i.departed) AS n
        FROM order_interviews i JOIN recruitment_orders o USING (order_code)
        WHERE i.departed > 0 GROUP BY ALL
    ), gone AS (SELECT commune_code, month, SUM(departures) AS n FROM departures GROUP BY ALL)
    SELECT t.commune_code, t.month, t.n AS through_orders, COALESCE(g.n, 0) AS departures
    FROM through t LEFT JOIN gone g ON g.commune_code = t.commune_code AND g.month = t.month
    WHERE t.n > COALESCE(g.n, 0)"""


def _funnel_within_departures(con, periods: list[tuple[int, int]], provinces: list[str | None]) -> None:
    for year, month in periods:
        for province in provinces:
            units = funnel.counts(con, year, month, province)
            bad = units[units["departed"] > units["all_departures"]]
            assert bad.empty, (year, month, province, bad[["unit_code", "departed", "all_departures"]].head())


def test_departures_through_orders_are_part_of_each_commune_months_departures(tiny_con) -> None:
    assert frame(tiny_con, "SELECT SUM(departed) AS n FROM order_interviews")["n"][0] > 0
    over = frame(tiny_con, OVER)
    assert over.empty, over.head()
    _funnel_within_departures(tiny_con, [(2025, 12), (2025, 5), (2026, 2), (2024, 12)], [None, "99", "98"])


@pytest.mark.real_data
def test_on_the_real_warehouse_no_commune_month_departs_more_through_orders_than_at_all(real_con) -> None:
    assert frame(real_con, "SELECT SUM(departed) AS n FROM order_interviews")["n"][0] > 10000
    over = frame(real_con, OVER)
    assert over.empty, (len(over), over.head())
    _funnel_within_departures(real_con, [(2026, 11), (2025, 12), (2025, 6)], [None, "40", "11", "04"])


def within_rate(days: pd.Series, today: dt.date, what: str) -> None:
    """Today's count of events is not a pile-up: within what the previous 28 days' rate allows."""
    counts = pd.to_datetime(pd.Series(days)).dt.date.value_counts()
    assert max(counts.index) <= today, what
    before = [counts.get(today - dt.timedelta(days=k), 0) for k in range(1, 29)]
    rate = float(np.mean(before))
    assert rate > 0, what
    assert counts.get(today, 0) <= rate + 4 * np.sqrt(rate) + 3, (what, counts.get(today, 0), rate)


def _synthetic(today: dt.date, n: int = 680) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """``n`` communes in 34 provinces, two years of fairs and departures up to ``today``."""
    rng = np.random.default_rng(5)
    communes = pd.DataFrame({"code": [f"{10 + i % 34}{i:03d}" for i in range(n)],
                             "parent_code": [f"{10 + i % 34}" for i in range(n)]})
    months = pd.date_range(dt.date(today.year - 1, 1, 1), dt.date(today.year, today.month, 1), freq="MS").date
    grid = pd.DataFrame({"month": np.repeat(months, n), "commune_code": np.tile(communes["code"], len(months))})
    share = np.where(pd.to_datetime(grid["month"]) == pd.Timestamp(today.year, today.month, 1),
                     today.day / 31, 1.0)
    fairs = grid.assign(orientation_registrations=rng.poisson(2.5 * share))
    departures = grid.assign(departures=rng.poisson(3.0 * share))
    return communes, fairs, departures


def test_demo_orders_are_not_piled_on_today() -> None:
    today = dt.date(2026, 12, 7)
    communes, fairs, departures = _synthetic(today)
    data = demo_pipeline.generate(communes, fairs, departures, 3, today)
    within_rate(data.orders["announced_on"], today, "orders announced")
    interviewed = data.orders[data.orders["status"].isin(["interviewed", "departed"])]
    within_rate(interviewed["interview_on"], today, "interviews")
    assert (pd.to_datetime(data.orders.loc[~data.orders["status"].isin(["interviewed", "departed"]),
                                           "interview_on"]) > pd.Timestamp(today)).all()


def test_demo_cases_and_their_steps_are_not_piled_on_today() -> None:
    today = dt.date(2026, 12, 7)
    _, _, departures = _synthetic(today)
    rng = np.random.default_rng(2)
    cm = departures.assign(breaches=rng.binomial(departures["departures"], 0.3),
                           fraud_reports=rng.binomial(departures["departures"], 0.05))
    cases = demo_protection.generate_cases(np.random.default_rng(1), cm, ["L1"], today)
    within_rate(cases["opened_on"], today, "cases opened")
    within_rate(cases["status_on"], today, "case status changes")
    assert (pd.to_datetime(cases["status_on"]) >= pd.to_datetime(cases["opened_on"])).all()


def test_the_month_in_progress_holds_fraud_reports_of_the_days_gone_by() -> None:
    today = dt.date(2026, 12, 7)
    communes, _, departures = _synthetic(today)
    monthly = programme.generate(communes.assign(population=1000), departures.assign(
        market="JP", channel="intern", priority_group="khac"), 3, set(), today).monthly
    month = pd.to_datetime(monthly["month"])
    december = monthly.loc[month == pd.Timestamp(2026, 12, 1), "fraud_reports"].sum()
    november = monthly.loc[month == pd.Timestamp(2026, 11, 1), "fraud_reports"].sum()
    assert december <= november * 7 / 30 * 1.6 + 5, (december, november)


@pytest.mark.real_data
def test_on_the_real_warehouse_nothing_piles_up_on_today(real_con, real_settings) -> None:
    today = real_settings.today
    for what, sql in (("cases opened", "SELECT opened_on AS d FROM cases WHERE is_demo"),
                      ("case status changes", "SELECT status_on AS d FROM cases WHERE is_demo"),
                      ("orders announced", "SELECT announced_on AS d FROM recruitment_orders WHERE is_demo"),
                      ("interviews", "SELECT o.interview_on AS d FROM recruitment_orders o "
                                     "SEMI JOIN order_interviews i USING (order_code) WHERE o.is_demo")):
        days = frame(real_con, sql)["d"]
        assert len(days) and pd.to_datetime(days).max() <= pd.Timestamp(today), what
        if what == "interviews":   # interviews fall on the 3rd to the 25th: none on the 1st at all
            continue
        within_rate(days, today, what)
