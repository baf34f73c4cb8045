"""A licensed recruitment company's own page: its orders, the people it sent, beside the aggregates.

A company reports as an entity of its own (:mod:`xkld_geo.access.scope`, scope level ``company``): its
recruitment orders and their interviews. Its account sees its own rows only (the orders under its
licence), the people those orders sent summed by province and by market, and the national and
province aggregates every internal role sees; never a commune's row. A national account may open
any company's page; a province or commune account none (a company reports to the nation).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb
import pandas as pd

from xkld_geo.access import scope
from xkld_geo.database import db
from xkld_geo.errors import ScopeError
from xkld_geo.figures import queries
from xkld_geo.pipeline import orders as pipeline_orders

PROVINCE_COLUMNS = {"province_code": "Mã tỉnh", "province_name": "Tỉnh/thành", "orders": "Số đơn hàng",
                    "interviewed": "Dự phỏng vấn", "passed": "Trúng tuyển", "departed": "Đã xuất cảnh"}
NATIONAL_COLUMNS = {"unit_code": "Mã tỉnh", "unit_name": "Tỉnh/thành", "quota": "Chỉ tiêu năm",
                    "ytd": "Đã xuất cảnh (lũy kế)"}


@dataclass(frozen=True)
class CompanyView:
    """What the company page renders: the company, its orders (Vietnamese headers), the people its
    orders sent by province and by market, its totals, and the national figures per province."""

    licence: str
    name: str
    year: int
    month: int
    orders: pd.DataFrame
    by_province: pd.DataFrame
    by_market: pd.DataFrame
    totals: dict[str, int]
    national: pd.DataFrame
    demo: bool


def licences(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Every licence with orders or on the licensed list (a national account's selector)."""
    return list(db.run(con, "company_licences", """
        SELECT licence_no FROM recruitment_orders UNION SELECT licence_no FROM licensed_companies
        ORDER BY 1""")["licence_no"])


def company_of(con: duckdb.DuckDBPyConnection, user: scope.HasScope, asked: str | None) -> str:
    """The licence whose page the account may open: a company its own (another one asked is refused),
    a national account the one asked; a province or commune account none."""
    own = scope.of(con, user)
    if own.level == "company":
        if asked and asked.strip().upper() != own.code.upper():
            raise scope.refusal(user, own, asked, "xem số liệu của doanh nghiệp khác")
        return own.code
    if not own.national:
        raise ScopeError(f"Trang doanh nghiệp dành cho tài khoản của doanh nghiệp và cán bộ cấp trung ương; tài khoản "
                         f"{user.username} ({own.label}) không xem được.", field="company", value=asked,
                         reason="out_of_scope")
    if not asked:
        raise ScopeError("Chọn một doanh nghiệp (số giấy phép).", field="company", value=asked)
    return asked


def build_company(con: duckdb.DuckDBPyConnection, user: scope.HasScope, year: int, today: dt.date,
                  licence: str | None = None) -> CompanyView:
    """The page of one company for ``year`` (orders announced that year), after its scope check
    (:func:`company_of`). Departures through its orders are summed by province and market: no
    commune's row leaves here."""
    code = company_of(con, user, licence)
    everything = pipeline_orders.orders(con, None)
    mine = everything[everything["licence_no"].astype(str).str.upper() == code.upper()]
    mine = mine[pd.to_datetime(mine["announced_on"]).dt.year == int(year)]
    name = str(mine["company"].iloc[0]) if len(mine) else db.value(
        con, "company_name", "SELECT max(name) FROM licensed_companies WHERE upper(licence_no) = upper($l)",
        {"l": code}) or code
    sent = db.run(con, "company_by_province", """
        SELECT c.province_code, p.name AS province_name, count(DISTINCT o.order_code) AS orders,
               CAST(SUM(i.interviewed) AS BIGINT) AS interviewed, CAST(SUM(i.passed) AS BIGINT) AS passed,
               CAST(SUM(i.departed) AS BIGINT) AS departed
        FROM recruitment_orders o JOIN order_interviews i ON i.order_code = o.order_code
        JOIN v_communes c ON c.commune_code = i.commune_code
        JOIN admin_units p ON p.era = '2025' AND p.level = 'province' AND p.code = c.province_code
        WHERE upper(o.licence_no) = upper($l) AND year(o.announced_on) = $y
        GROUP BY ALL ORDER BY departed DESC, c.province_code""", {"l": code, "y": int(year)})
    markets = mine.groupby("market_name", as_index=False).agg(
        orders=("order_code", "count"), places=("places", "sum"), departed=("departed", "sum")).sort_values(
        "departed", ascending=False).rename(columns={"market_name": "Thị trường", "orders": "Số đơn hàng",
                                                     "places": "Chỉ tiêu tuyển", "departed": "Đã xuất cảnh"})
    totals = {"orders": len(mine), "places": int(mine["places"].sum()),
              "open": int(mine["status"].isin(["announced", "recruiting", "interviewed"]).sum()),
              "interviewed": int(sent["interviewed"].sum()), "passed": int(sent["passed"].sum()),
              "departed": int(sent["departed"].sum())}
    month = 12 if int(year) < today.year else max(1, min(12, queries.last_data_month(con, int(year)) or 1))
    national = queries.period_attainment(con, int(year), month, "province")[list(NATIONAL_COLUMNS)].rename(
        columns=NATIONAL_COLUMNS)
    return CompanyView(code, name, int(year), month, pipeline_orders.table(mine).reset_index(drop=True),
                       sent.rename(columns=PROVINCE_COLUMNS), markets.reset_index(drop=True), totals, national,
                       bool(mine["is_demo"].any()) if len(mine) else False)
