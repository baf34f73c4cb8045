"""Labour demand by occupation and market, from the orders: places offered against departures.

A first answer to the directives' "dự báo nhu cầu lao động … gắn với các ngành, nghề": the places
of the orders announced in the period (cancelled ones left out) by occupation × market, beside the
people who departed through those orders; the fill rate is departed / places. A province sees the
orders it announced; the country sees every order.
"""
from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pandas as pd

from xkld_geo.database import db
from xkld_geo.figures import queries
from xkld_geo.pipeline.funnel import period
from xkld_geo.reporting.profiles import OCCUPATIONS


@dataclass(frozen=True)
class DemandView:
    """``rows``: occupation, market, places, departed, fill %; ``places``/``departed``: occupation × market."""

    rows: pd.DataFrame
    places: pd.DataFrame
    departed: pd.DataFrame
    total_places: int
    total_departed: int
    is_demo: bool


def build_demand(con: duckdb.DuckDBPyConnection, year: int, month: int, province: str | None = None) -> DemandView:
    """Places offered and departures through the orders announced in January..``month`` of ``year``."""
    if province is not None:
        queries.check_code("tỉnh", province, 2)
    start, end = period(year, month)
    rows = db.run(con, "demand_rows", """
        SELECT o.occupation, COALESCE(m.name_vi, o.market) AS market, CAST(SUM(o.places) AS BIGINT) AS places,
               CAST(COALESCE(SUM(i.departed), 0) AS BIGINT) AS departed, bool_or(o.is_demo) AS is_demo
        FROM recruitment_orders o
        LEFT JOIN (SELECT order_code, SUM(departed) AS departed FROM order_interviews GROUP BY ALL) i
               ON i.order_code = o.order_code
        LEFT JOIN markets m ON m.code = o.market
        WHERE o.status <> 'cancelled' AND o.announced_on BETWEEN $start AND $end
          AND ($province IS NULL OR o.province_code = $province)
        GROUP BY ALL ORDER BY places DESC""", {"start": start, "end": end, "province": province})
    rows["occupation"] = rows["occupation"].map(OCCUPATIONS).fillna(rows["occupation"])
    rows["fill_pct"] = (100.0 * rows["departed"] / rows["places"].where(rows["places"] > 0)).astype(float)
    def matrix(value: str) -> pd.DataFrame:
        if rows.empty:
            return pd.DataFrame()
        return rows.pivot_table(index="occupation", columns="market", values=value, aggfunc="sum",
                                fill_value=0, margins=True, margins_name="Tổng")
    return DemandView(rows, matrix("places"), matrix("departed"), int(rows["places"].sum()),
                      int(rows["departed"].sum()), bool(rows["is_demo"].any()) if len(rows) else False)
