"""Recruitment orders (đơn hàng): the orders open now and the orders of a period, with their interviews.

An order is open while its status is announced, recruiting or interviewed (not departed, not
cancelled). A province sees the orders it announced, the national ones (no province) and those
that interviewed people of its communes. Demo orders name demo licences (MH-GP-..), which are
shown as demo companies and never added to the public list of licensed companies.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb
import pandas as pd

from xkld_geo.database import db
from xkld_geo.database.schema.pipeline import OPEN_STATUSES, ORDER_STATUSES
from xkld_geo.figures import queries
from xkld_geo.pipeline.funnel import period
from xkld_geo.reporting.profiles import OCCUPATIONS

COLUMNS: dict[str, str] = {
    "order_code": "Mã đơn hàng", "company": "Doanh nghiệp", "market_name": "Thị trường",
    "occupation_name": "Ngành nghề", "places": "Chỉ tiêu tuyển", "interviewed": "Dự phỏng vấn",
    "passed": "Trúng tuyển", "departed": "Đã xuất cảnh", "cost_usd": "Chi phí (USD)",
    "income_usd": "Thu nhập dự kiến (USD/tháng)", "announced_on": "Ngày thông báo",
    "interview_on": "Ngày phỏng vấn", "departure_on": "Ngày xuất cảnh dự kiến", "status_name": "Trạng thái",
    "requirements": "Yêu cầu"}


@dataclass(frozen=True)
class OrdersView:
    """Orders open now and orders announced in the period (``COLUMNS`` plus codes), their counts."""

    today: dt.date
    open_orders: pd.DataFrame
    period_orders: pd.DataFrame
    by_status: pd.DataFrame
    open_places: int
    is_demo: bool


def orders(con: duckdb.DuckDBPyConnection, province: str | None, commune: str | None = None) -> pd.DataFrame:
    """Every order a province (or the country) sees, with its interviews summed over the place's communes."""
    if province is not None:
        queries.check_code("tỉnh", province, 2)
    if commune is not None:
        queries.check_code("xã", commune, 5)
    frame = db.run(con, "pipeline_orders", """
        WITH here AS (
            SELECT i.order_code, SUM(i.interviewed) AS interviewed, SUM(i.passed) AS passed,
                   SUM(i.departed) AS departed
            FROM order_interviews i JOIN v_communes c ON c.commune_code = i.commune_code
            WHERE ($province IS NULL OR c.province_code = $province) AND ($commune IS NULL OR c.commune_code = $commune)
            GROUP BY ALL
        )
        SELECT o.order_code, o.licence_no,
               COALESCE(lc.name, CASE WHEN o.is_demo THEN 'Doanh nghiệp minh họa ' || o.licence_no
                                      ELSE o.licence_no || ' (chưa có trong danh sách được cấp phép)' END) AS company,
               o.province_code, o.market, COALESCE(m.name_vi, o.market) AS market_name, o.occupation, o.places,
               CAST(COALESCE(h.interviewed, 0) AS BIGINT) AS interviewed, CAST(COALESCE(h.passed, 0) AS BIGINT) AS passed,
               CAST(COALESCE(h.departed, 0) AS BIGINT) AS departed, o.cost_usd, o.income_usd, o.announced_on,
               o.interview_on, o.departure_on, o.status, o.requirements, o.is_demo
        FROM recruitment_orders o
        LEFT JOIN licensed_companies lc ON lc.licence_no = o.licence_no
        LEFT JOIN markets m ON m.code = o.market
        LEFT JOIN here h ON h.order_code = o.order_code
        WHERE ($province IS NULL AND $commune IS NULL) OR h.order_code IS NOT NULL
           OR ($commune IS NULL AND (o.province_code = $province OR o.province_code IS NULL))
        ORDER BY o.announced_on DESC, o.order_code""", {"province": province, "commune": commune})
    frame["occupation_name"] = frame["occupation"].map(OCCUPATIONS).fillna(frame["occupation"])
    frame["status_name"] = frame["status"].map(ORDER_STATUSES)
    return frame


def build_orders(con: duckdb.DuckDBPyConnection, year: int, month: int, today: dt.date,
                 province: str | None = None, commune: str | None = None) -> OrdersView:
    """The orders open on ``today`` and those announced in January..``month`` of ``year``."""
    start, end = period(year, month)
    rows = orders(con, province, commune)
    is_open = rows["status"].isin(OPEN_STATUSES) & (pd.to_datetime(rows["announced_on"]) <= pd.Timestamp(today))
    announced = pd.to_datetime(rows["announced_on"])
    in_period = rows[(announced >= pd.Timestamp(start)) & (announced <= pd.Timestamp(end))]
    by_status = (in_period.groupby("status").agg(orders=("order_code", "size"), places=("places", "sum"))
                 .reindex(list(ORDER_STATUSES), fill_value=0).reset_index())
    by_status["status_name"] = by_status["status"].map(ORDER_STATUSES)
    open_orders = rows[is_open].reset_index(drop=True)
    return OrdersView(today, open_orders, in_period.reset_index(drop=True), by_status,
                      int(open_orders["places"].sum()), bool(rows["is_demo"].any()))


def table(frame: pd.DataFrame) -> pd.DataFrame:
    """Orders as shown: Vietnamese headers, in :data:`COLUMNS` order."""
    return frame[list(COLUMNS)].rename(columns=COLUMNS)
