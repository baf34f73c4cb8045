"""The overview: attainment by province, or by commune within one province, for a year.

One function assembles everything the home page shows, so the page itself only wires widgets.
"""
from __future__ import annotations

from dataclasses import dataclass

import duckdb
import folium
import pandas as pd

from xkld_geo import maps, metrics, queries


@dataclass(frozen=True)
class Overview:
    """What the overview page renders."""

    year: int
    province_code: str | None
    title: str
    headline: metrics.Headline
    table: pd.DataFrame
    fmap: folium.Map
    demo: bool


TABLE_COLUMNS = {"unit_code": "Mã", "unit_name": "Tên", "quota": "Chỉ tiêu",
                 "departures": "Đã xuất cảnh", "attainment_pct": "Đạt (%)"}


def build_overview(con: duckdb.DuckDBPyConnection, year: int, province_code: str | None,
                   static_url: str) -> Overview:
    """Attainment map, table and headline for all provinces, or one province's communes."""
    is_demo = queries.meta(con).get("contains_demo") == "true"
    if province_code is None:
        stats = queries.attainment(con, year, "province")
        shapes = queries.shapes(con, "2025", "province", "coarse")
        context = None
        title = f"Tỷ lệ hoàn thành chỉ tiêu {year} theo tỉnh/thành"
    else:
        stats = queries.attainment(con, year, "commune", province_code)
        shapes = queries.shapes(con, "2025", "commune", "fine", province_code)
        context = queries.shapes(con, "2025", "province", "coarse")
        context = context[context["code"] != province_code]
        name = queries.unit(con, province_code)["name"].iloc[0]
        title = f"Tỷ lệ hoàn thành chỉ tiêu {year}: các xã/phường của {name}"
    fmap = maps.attainment_map(
        maps.ChoroplethSpec(shapes, stats, context, f"Đạt chỉ tiêu {year}", is_demo), static_url)
    table = (stats[list(TABLE_COLUMNS)].sort_values("attainment_pct", ascending=False)
             .rename(columns=TABLE_COLUMNS).reset_index(drop=True))
    return Overview(year, province_code, title, metrics.headline(stats), table, fmap, is_demo)
