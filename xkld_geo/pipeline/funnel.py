"""The funnel from the job fair to departure, per province and per commune, with the conversion at each step.

Steps: attended the fair → registered for orientation (the monthly job-fair report) → interviewed →
passed (the interviews of the orders, per commune) → trained (completed the orientation course of
the order) → departed through the order. Fair figures count the months of the period; the order
steps count the orders whose interview (else announcement) falls in the period, the order's cohort,
so a step never counts people of another period than the step before it; the last step counts the
cohort's departures dated by the end of the period, so it is a part of the period's departures (the
people who leave through an order are counted in the departures reports of their month too). The
conversion of a step
is its count over the previous step's; a step is "no data" (None) when the previous step is 0.
All departures of the period (every channel, from the departures reports) are shown beside: most
workers do not come through the fair, so they are not a step of the funnel.
"""
from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass

import duckdb
import pandas as pd

from xkld_geo.database import db
from xkld_geo.figures import queries

STEPS: dict[str, str] = {"attended": "Tham dự sàn giao dịch việc làm", "registered": "Đăng ký học định hướng",
                         "interviewed": "Dự phỏng vấn đơn hàng", "passed": "Trúng tuyển",
                         "trained": "Hoàn thành giáo dục định hướng", "departed": "Xuất cảnh theo đơn hàng"}


@dataclass(frozen=True)
class FunnelView:
    """The funnel of one place (``steps``: step, label, count, conversion %, share of the first step)
    and of its units (``units``: one row per province, or per commune of a province)."""

    year: int
    month: int
    province: str | None
    commune: str | None
    steps: pd.DataFrame
    units: pd.DataFrame
    all_departures: int
    is_demo: bool


def period(year: int, month: int) -> tuple[dt.date, dt.date]:
    """First and last day of January..``month`` of ``year``."""
    queries.check_choice("tháng", int(month), range(1, 13))
    return dt.date(int(year), 1, 1), dt.date(int(year), int(month), calendar.monthrange(int(year), int(month))[1])


def counts(con: duckdb.DuckDBPyConnection, year: int, month: int, province: str | None = None,
           today: dt.date | None = None) -> pd.DataFrame:
    """Each step's count per province (``province`` None) or per commune of ``province``; every
    unit listed, 0 where nothing was reported. Also ``all_departures`` and ``is_demo``.

    A period that has ended (its last day before ``today``; every period when ``today`` is None)
    counts as departed only the people of orders whose departure day falls by its end; in the
    period in progress everybody reported as departed left by today, within the period."""
    if province is not None:
        queries.check_code("tỉnh", province, 2)
    start, end = period(year, month)
    level = "c.province_code" if province is None else "c.commune_code"
    return db.run(con, "funnel_counts", f"""
        WITH units AS (
            SELECT c.commune_code, {level} AS unit_code FROM v_communes c
            WHERE $province IS NULL OR c.province_code = $province
        ), fairs AS (
            SELECT commune_code, SUM(attendees) AS attended, SUM(orientation_registrations) AS registered,
                   bool_or(is_demo) AS demo
            FROM job_fair_attendance WHERE month BETWEEN $start AND $end GROUP BY ALL
        ), cohort AS (
            SELECT order_code FROM recruitment_orders
            WHERE COALESCE(interview_on, announced_on) BETWEEN $start AND $end
        ), interviews AS (
            SELECT i.commune_code, SUM(i.interviewed) AS interviewed, SUM(i.passed) AS passed,
                   SUM(i.departed) FILTER (WHERE o.departure_on IS NULL OR o.departure_on <= $end
                                          OR $end >= $today) AS departed,
                   bool_or(i.is_demo) AS demo
            FROM order_interviews i JOIN recruitment_orders o USING (order_code)
            SEMI JOIN cohort USING (order_code) GROUP BY ALL
        ), trained AS (
            SELECT commune_code, SUM(completed) AS trained
            FROM training_courses SEMI JOIN cohort USING (order_code)
            WHERE course_type = 'orientation' GROUP BY ALL
        ), gone AS (
            SELECT commune_code, SUM(departures) AS n FROM departures
            WHERE month BETWEEN $start AND $end GROUP BY ALL
        )
        SELECT u.unit_code, any_value(n.name) AS unit_name,
               CAST(COALESCE(SUM(f.attended), 0) AS BIGINT) AS attended,
               CAST(COALESCE(SUM(f.registered), 0) AS BIGINT) AS registered,
               CAST(COALESCE(SUM(i.interviewed), 0) AS BIGINT) AS interviewed,
               CAST(COALESCE(SUM(i.passed), 0) AS BIGINT) AS passed,
               CAST(COALESCE(SUM(t.trained), 0) AS BIGINT) AS trained,
               CAST(COALESCE(SUM(i.departed), 0) AS BIGINT) AS departed,
               CAST(COALESCE(SUM(g.n), 0) AS BIGINT) AS all_departures,
               COALESCE(bool_or(f.demo), FALSE) OR COALESCE(bool_or(i.demo), FALSE) AS is_demo
        FROM units u
        JOIN admin_units n ON n.era = '2025' AND n.code = u.unit_code
             AND n.level = (CASE WHEN $province IS NULL THEN 'province' ELSE 'commune' END)
        LEFT JOIN fairs f ON f.commune_code = u.commune_code
        LEFT JOIN interviews i ON i.commune_code = u.commune_code
        LEFT JOIN trained t ON t.commune_code = u.commune_code
        LEFT JOIN gone g ON g.commune_code = u.commune_code
        GROUP BY u.unit_code ORDER BY u.unit_code""", {"province": province, "start": start, "end": end,
                                                      "today": today or dt.date.max})


def conversion(row: pd.Series) -> list[float | None]:
    """Per step: its count over the previous step's, in % (the first step: None)."""
    values = [float(row[s]) for s in STEPS]
    return [None] + [100.0 * b / a if a else None for a, b in zip(values, values[1:])]


def steps_of(row: pd.Series) -> pd.DataFrame:
    """The funnel of one row of :func:`counts` (or of their sum)."""
    first = float(row["attended"])
    return pd.DataFrame({"step": list(STEPS), "label": list(STEPS.values()),
                         "count": [int(row[s]) for s in STEPS], "conversion_pct": conversion(row),
                         "of_first_pct": [100.0 * row[s] / first if first else None for s in STEPS]})


def with_conversions(units: pd.DataFrame) -> pd.DataFrame:
    """``units`` with a ``<step>_pct`` column per step after the first (conversion from the previous)."""
    out = units.copy()
    names = list(STEPS)
    for prev, step in zip(names, names[1:]):
        out[f"{step}_pct"] = (100.0 * out[step] / out[prev].where(out[prev] > 0)).astype(float)
    return out


def build_funnel(con: duckdb.DuckDBPyConnection, year: int, month: int, province: str | None = None,
                 commune: str | None = None, today: dt.date | None = None) -> FunnelView:
    """The funnel of the country, a province or one of its communes, and of the units below it
    (``today``: see :func:`counts`)."""
    units = counts(con, year, month, province, today)
    if commune is not None:
        queries.check_code("xã", commune, 5)
        own = units[units["unit_code"] == commune]
        total = own[list(STEPS) + ["all_departures"]].sum()
    else:
        total = units[list(STEPS) + ["all_departures"]].sum()
    return FunnelView(int(year), int(month), province, commune, steps_of(total), with_conversions(units),
                      int(total["all_departures"]), bool(units["is_demo"].any()))
