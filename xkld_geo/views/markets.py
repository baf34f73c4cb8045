"""Where they go: destination markets, the flow map and the market mix.

The market reference table (safe & high income flag, expected income and cost, with the source of
each figure) is read and edited through :mod:`xkld_geo.figures.references`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import duckdb
import folium
import pandas as pd
import shapely

from xkld_geo import maps
from xkld_geo.database import cache, db
from xkld_geo.figures import metrics, queries, references
from xkld_geo.text import collation, formats
from xkld_geo.text.markup import html_text
from xkld_geo.views import units


def by_market(con: duckdb.DuckDBPyConnection, year: int, month: int, province: str | None,
              commune: str | None = None) -> pd.DataFrame:
    """Year-to-date departures per market for the selection, with the reference figures."""
    queries.check_code("tỉnh", province, 2)
    queries.check_code("xã", commune, 5)
    queries.check_choice("tháng", int(month), range(1, 13))
    return db.run(con, "market_totals", """
        SELECT m.code AS market, m.name_vi, m.safe_high_income, m.avg_income_usd, m.avg_cost_usd, m.source,
               COALESCE(SUM(d.departures), 0) AS departures
        FROM markets m
        LEFT JOIN (SELECT d.* FROM departures d JOIN v_communes c ON c.commune_code = d.commune_code
                   WHERE d.month >= make_date($year, 1, 1) AND d.month <= make_date($year, $month, 1)
                     AND ($province IS NULL OR c.province_code = $province)
                     AND ($commune IS NULL OR c.commune_code = $commune)) d ON d.market = m.code
        GROUP BY ALL ORDER BY departures DESC, m.code""",
                  {"year": int(year), "month": int(month), "province": province, "commune": commune})


def safe_share(markets: pd.DataFrame) -> float | None:
    """Share (%) of departures going to markets marked safe and high income (None: no departures)."""
    total = markets["departures"].sum()
    return None if total == 0 else 100.0 * markets.loc[markets["safe_high_income"], "departures"].sum() / total


def monthly_mix(con: duckdb.DuckDBPyConnection, year: int, province: str | None) -> pd.DataFrame:
    """Departures per month (rows) and market (columns) of a year: the stacked chart's data."""
    queries.check_code("tỉnh", province, 2)
    df = db.run(con, "market_mix_monthly", """
        SELECT month(d.month) AS m, m.name_vi AS market, SUM(d.departures) AS n
        FROM departures d JOIN markets m ON m.code = d.market JOIN v_communes c ON c.commune_code = d.commune_code
        WHERE year(d.month) = $year AND ($province IS NULL OR c.province_code = $province)
        GROUP BY ALL ORDER BY 1""", {"year": int(year), "province": province})
    return df.pivot_table(index="m", columns="market", values="n", fill_value=0).rename_axis("Tháng")


def origins(con: duckdb.DuckDBPyConnection, year: int, month: int, province: str | None,
            market: str) -> pd.DataFrame:
    """Where one market's workers come from: departures per province, or per commune of a province."""
    queries.check_code("tỉnh", province, 2)
    queries.check_choice("thị trường", market, references.read(con, "markets")["code"].tolist())
    return db.run(con, "market_origins", """
        SELECT CASE WHEN $province IS NULL THEN c.province_code ELSE c.commune_code END AS unit_code,
               SUM(d.departures) AS departures
        FROM departures d JOIN v_communes c ON c.commune_code = d.commune_code
        WHERE d.market = $market AND d.month >= make_date($year, 1, 1) AND d.month <= make_date($year, $month, 1)
          AND ($province IS NULL OR c.province_code = $province)
        GROUP BY 1""", {"year": int(year), "month": int(month), "province": province, "market": market})


def country_shapes(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every destination country's shape (and Vietnam's), GeoJSON text: the flow map's countries."""
    return db.run(con, "country_shapes", "SELECT market AS code, name, geojson FROM country_shapes")


def country_points(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[float, float]]:
    """Where each country's flow line ends, (lat, lon): a point on its surface (parsing the country
    shapes costs more than drawing the lines, so it is done once per data version)."""
    shapes = cache.scope(con).get("country_shapes", country_shapes)
    points = shapely.point_on_surface(shapely.from_geojson(shapes["geojson"].tolist()))
    return {code: (round(float(point.y), 3), round(float(point.x), 3)) for code, point in zip(shapes["code"], points)}


def flow_map(con: duckdb.DuckDBPyConnection, markets: pd.DataFrame, origin: tuple[float, float],
             static_url: str, demo: bool, fetched: bool = False) -> folium.Map:
    """Country shapes shaded by volume and one line per destination with departures.

    ``fetched``: the countries' shapes come from content-hashed geometry files the browser fetches
    once (:mod:`xkld_geo.maps.geometry`, served by ``serve.py``) and their figures are applied when
    they arrive, so the map's script carries no shape: rendering it no longer feeds some 270 KB of
    GeoJSON through folium's templates, the most expensive part of opening the page."""
    shapes = cache.scope(con).get("country_shapes", country_shapes)
    used = markets[markets["departures"] > 0].set_index("market")
    dest = shapes[shapes["code"].isin(used.index)].copy()
    props = pd.DataFrame({"departures": used["departures"]}).reindex(dest["code"])
    props["fill"] = [maps.colour_for(v, maps.LEGENDS["departures_market"][:-1]) for v in props["departures"]]
    fmap = maps.base_map(static_url, demo=demo)
    vietnam = shapes[shapes["code"] == "VN"]
    if len(vietnam):
        maps.ChoroplethLayer("" if fetched else maps.feature_collection(vietnam),
                             url=maps.geometry.publish(vietnam).url if fetched else None, stroke="#555", weight=1,
                             fill_opacity=1.0, default_fill="#fff3cd", interactive=False, name="origin").add_to(fmap)
    names = dict(zip(markets["market"], markets["name_vi"]))
    tooltip = (("departures", "Số người đi", ""),)
    fit = [[-5.0, 5.0], [62.0, 145.0]]
    if fetched:   # every country's shape from one file, the figures applied on arrival, the others dropped
        every = shapes[shapes["code"] != "VN"]
        every = every.assign(name=every["code"].map(names).fillna(every["name"]))
        maps.ChoroplethLayer("", url=maps.geometry.publish(every).url, tooltip_fields=tooltip, weight=0.8,
                             fit=fit, name="countries").add_to(fmap)
        maps.ChoroplethValues(maps.values_json(props), list(props.columns), [], layer="countries",
                              drop_missing=True).add_to(fmap)
    else:
        maps.ChoroplethLayer(maps.feature_collection(dest.assign(name=dest["code"].map(names)), props),
                             tooltip_fields=tooltip, weight=0.8, fit=fit, name="countries").add_to(fmap)
    top = max(1, int(used["departures"].max())) if len(used) else 1
    points = cache.scope(con).get("country_points", country_points)
    flows = []
    for code, row in used.iterrows():
        if code not in points:
            continue
        lat, lon = points[code]
        flows.append({"name": html_text(names.get(code, code)), "n": int(row["departures"]), "lat": lat,
                      "lon": lon, "safe": bool(row["safe_high_income"]),
                      "w": round(2 + 16 * math.sqrt(row["departures"] / top), 1)})
    maps.FlowLayer(origin, flows).add_to(fmap)
    maps.MapControl(maps.legend_html("Số người đi (năm đến nay)", maps.LEGENDS["departures_market"][:-1])
                    + "<br><i style='background:#2c7bb6'></i>An toàn, thu nhập cao"
                    + "<br><i style='background:#d95f02'></i>Thị trường khác").add_to(fmap)
    return fmap


def origin_point(con: duckdb.DuckDBPyConnection, province: str | None) -> tuple[float, float]:
    """Where flow lines start: the province's centre, or the middle of Vietnam."""
    if province is None:
        return (16.0, 106.5)
    unit = queries.unit(con, province)
    return (float(unit["center_lat"].iloc[0]), float(unit["center_lon"].iloc[0]))


def origins_map(con: duckdb.DuckDBPyConnection, rows: pd.DataFrame, province: str | None, title: str,
                static_url: str, demo: bool) -> folium.Map:
    """The commune (or province) map of where one market's workers come from."""
    level = "province" if province is None else "commune"
    shapes = queries.shapes(con, "2025", level, "coarse" if province is None else "fine", province)
    props = rows.set_index("unit_code").reindex(shapes["code"]).fillna({"departures": 0})
    legend = "departures_province" if province is None else "departures_commune"
    props["fill"] = [maps.colour_for(v, maps.LEGENDS[legend][:-1]) for v in props["departures"]]
    spec = maps.ChoroplethSpec(shapes, props, None, title, demo, classes=legend,
                               tooltip=(("departures", "Số người đi", ""),))
    return maps.choropleth_map(spec, static_url)


def mix_spec(long: pd.DataFrame) -> dict[str, Any]:
    """The plain Vega-Lite spec ``st.bar_chart(stack=True, height=300)`` makes of the wide monthly
    table (``long`` is its melted data: Tháng, color, value): building and validating that Altair
    chart cost about 0,3 s of CPU on every page run. As there, an integer column's axis never
    ticks between whole numbers."""
    def axis(column: str, grid: bool) -> dict[str, Any]:
        whole = column in long and pd.api.types.is_integer_dtype(long[column])
        return {"grid": grid, "tickMinStep": 1} if whole else {"grid": grid}

    return {
        "mark": {"type": "bar"},
        "encoding": {
            "x": {"field": "Tháng", "type": "ordinal", "title": "", "sort": None, "axis": axis("Tháng", False)},
            "y": {"field": "value", "type": "quantitative", "title": "", "stack": True, "axis": axis("value", True)},
            "color": {"field": "color", "type": "nominal", "title": " ",
                      "sort": collation.sorted_names(long["color"].dropna().unique().tolist())
                      if "color" in long else None,   # market names in Vietnamese order
                      "legend": {"titlePadding": 5, "offset": 5, "orient": "bottom"}},
            "tooltip": [{"field": "Tháng", "type": "quantitative"},
                        {"field": "value", "type": "quantitative", "title": "Số người", "format": ",d"},
                        {"field": "color", "type": "nominal", "title": "Thị trường"}],
        },
        "config": {"locale": formats.VEGA_LOCALE},   # axes and tooltips in vi-VN: 10.000, not 10,000
        "height": 300,
        "params": [{"name": "market_mix_zoom", "select": {"type": "interval", "encodings": ["x", "y"]},
                    "bind": "scales"}],
    }


@dataclass(frozen=True)
class FlowMap:
    """What the flow map draws (the market mix, where lines start); the map component renders it
    once per shared view, with this object as its owner."""

    mix: pd.DataFrame
    origin: tuple[float, float]
    static_url: str
    demo: bool


@dataclass(frozen=True)
class MarketsView:
    """Everything the Thị trường page shows for one period and place, besides one market's origins
    (:func:`build_origins`); shared by every session, read-only."""

    figures: tuple[units.Figure, ...]   # departures, safe share, markets
    flow: FlowMap
    monthly: pd.DataFrame               # long: Tháng, color (market), value: the stacked chart's data
    chart: dict[str, Any]               # its Vega-Lite spec (:func:`mix_spec`)
    choices: tuple[str, ...]            # markets with departures, the origin map's choices
    names: dict[str, str]               # market code -> Vietnamese name
    reference: pd.DataFrame             # the market reference table (income, cost, sources)
    demo: bool


def build_markets(con: duckdb.DuckDBPyConnection, year: int, month: int, province: str | None,
                  commune: str | None, static_url: str) -> MarketsView:
    """The market page of one period and place, built once per data version and request and shared
    by every session (:mod:`xkld_geo.database.cache`): the result is read-only."""
    return cache.scope(con).get("markets_view", _build_markets, int(year), int(month), province,
                                commune, static_url)


def _build_markets(con: duckdb.DuckDBPyConnection, year: int, month: int, province: str | None,
                   commune: str | None, static_url: str) -> MarketsView:
    shared = cache.scope(con)
    mix = shared.get("market_mix", by_market, year, month, province, commune)
    demo = units.is_demo(con)
    figures = (units.Figure("Số người đi", metrics.fmt_int(mix["departures"].sum())),
               units.Figure("Đến thị trường an toàn, thu nhập cao", metrics.fmt_pct(safe_share(mix))),
               units.Figure("Số thị trường", str(int((mix["departures"] > 0).sum()))))
    wide = monthly_mix(con, year, province)
    long = wide.reset_index().melt(id_vars="Tháng", var_name="color", value_name="value")
    used = mix[mix["departures"] > 0]
    return MarketsView(figures, FlowMap(mix, origin_point(con, province), static_url, demo), long, mix_spec(long),
                       tuple(used["market"]), dict(zip(mix["market"], mix["name_vi"])),
                       shared.get("reference_markets", references.read, "markets"), demo)


def build_origins(con: duckdb.DuckDBPyConnection, year: int, month: int, province: str | None,
                  commune: str | None, market: str) -> maps.ChoroplethSpec:
    """The map of where one market's workers come from (the selected commune outlined), built once
    per data version and request and shared by every session: read-only."""
    return cache.scope(con).get("market_origins_map", _build_origins, int(year), int(month), province,
                                units.selected_commune(province, commune), market)


def _build_origins(con: duckdb.DuckDBPyConnection, year: int, month: int, province: str | None,
                   commune: str | None, market: str) -> maps.ChoroplethSpec:
    values = origins(con, year, month, province, market).set_index("unit_code")["departures"]
    legend = "departures_province" if province is None else "departures_commune"
    names = by_market(con, year, month, province)
    name = dict(zip(names["market"], names["name_vi"])).get(market, market)   # "Nhật Bản", not "JP"
    return units.unit_spec(con, province, commune, values, legend, f"Số người đi {name}",
                           (("value", "Số người đi", ""),), units.is_demo(con), classes=maps.LEGENDS[legend][:-1])
