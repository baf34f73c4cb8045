"""The public summary: aggregates only, every count rounded so small ones cannot be worked out.

Rules (issues 7 and 13): no individual record ever; every count the public sees, on every view and
in every public file, is rounded to the threshold's base by :mod:`xkld_geo.figures.disclosure` (0 stays 0,
1 to threshold - 1 is "< threshold", the rest goes to the nearest multiple), each figure on its own,
totals included. Since no published figure but 0 is exact, subtracting views (a province's markets
from its total) or months (January..October minus January..September) never pins a small count;
the argument and its limit are in :mod:`xkld_geo.figures.disclosure`. All views read their labels from one
national cube (:func:`public_figures`), so one figure has one label everywhere. Priority-group
breakdowns are never public below the province.
"""
from __future__ import annotations

from dataclasses import dataclass

import duckdb
import folium
import numpy as np
import pandas as pd

from xkld_geo import maps
from xkld_geo.database import cache, db
from xkld_geo.figures import disclosure, metrics, queries, references
from xkld_geo.figures.disclosure import Cube, Key, Label
from xkld_geo.views import period_tables

THRESHOLD = disclosure.THRESHOLD

@dataclass(frozen=True)
class PublicFigures:
    """One period's national cube (true values, never shown) and the rounded label of every figure."""

    cube: Cube
    labels: dict[Key, Label]
    markets: pd.DataFrame  # code, name, safe: in display order, the same on every view
    threshold: int = THRESHOLD

    def label(self, key: Key) -> Label:
        """What the public sees for a figure: 0, "< threshold" or a rounded number."""
        if key in self.labels:
            return self.labels[key]
        return disclosure.round_count(self.cube.values.get(key, 0), self.threshold)


def _monthly_flows(con: duckdb.DuckDBPyConnection, year: int, month: int) -> pd.DataFrame:
    """Departures per month (1..``month`` of ``year``), commune and market, for the communes of the
    current map; one query for every period of the year (see :func:`_cube`)."""
    return db.run(con, "public_commune_markets", """
        SELECT CAST(month(d.month) AS INTEGER) AS m, c.province_code, d.commune_code, d.market,
               SUM(d.departures) AS n
        FROM departures d JOIN v_communes c ON c.commune_code = d.commune_code
        WHERE d.month >= make_date($year, 1, 1)
          AND d.month < make_date($year, $month, 1) + INTERVAL 1 MONTH
        GROUP BY ALL""", {"year": int(year), "month": int(month)})


def _communes(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every commune of the current map and its province (zero-count ones are published too)."""
    return db.run(con, "public_communes",
                  "SELECT commune_code, province_code FROM v_communes ORDER BY commune_code")


def _markets(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The market list (every market is shown, with 0 where nobody went)."""
    return db.run(con, "public_markets",
                  "SELECT code, name_vi AS name, safe_high_income AS safe FROM markets ORDER BY code")


def _cube(monthly: pd.DataFrame, month: int, communes: pd.DataFrame,
          markets: pd.DataFrame) -> tuple[Cube, pd.DataFrame]:
    """The true figures of January..``month`` (from :func:`_monthly_flows`) and the sums linking
    them, with the market list."""
    flows = monthly[monthly["m"] <= month]
    unnamed = sorted(set(flows["market"]) - set(markets["code"]))  # shown by code, so sums still add up
    markets = pd.concat([markets, pd.DataFrame({"code": unnamed, "name": unnamed, "safe": False})],
                        ignore_index=True)
    codes, provinces = list(markets["code"]), sorted(set(communes["province_code"]))
    by_cell = flows.groupby(["province_code", "market"])["n"].sum().to_dict()
    by_commune = flows.groupby("commune_code")["n"].sum().to_dict()
    values: dict[Key, int] = {("X", p, m): int(by_cell.get((p, m), 0)) for p in provinces for m in codes}
    values |= {("C", c): int(by_commune.get(c, 0)) for c in communes["commune_code"]}
    values |= {("P", p): sum(values[("X", p, m)] for m in codes) for p in provinces}
    values |= {("M", m): sum(values[("X", p, m)] for p in provinces) for m in codes}
    values[("T",)] = sum(values[("P", p)] for p in provinces)
    in_province = communes.groupby("province_code")["commune_code"].apply(list).to_dict()
    equations = ((("T",), tuple(("P", p) for p in provinces)), (("T",), tuple(("M", m) for m in codes)),
                 *((("P", p), tuple(("X", p, m) for m in codes)) for p in provinces),
                 *((("M", m), tuple(("X", p, m) for p in provinces)) for m in codes),
                 *((("P", p), tuple(("C", c) for c in in_province[p])) for p in provinces))
    return Cube(values, equations), markets


def public_figures(con: duckdb.DuckDBPyConnection, year: int, month: int,
                   threshold: int = THRESHOLD) -> PublicFigures:
    """Every figure of the public screen for a year-to-date period, each rounded on its own, with
    the few figures :func:`disclosure.protect` hides so that no small count can be narrowed.

    The cube holds province × market cells with their province totals (national table, province
    views' totals), market totals (national market table) and the national total, plus every
    commune with its province total; its equations are the sums a reader knows link them (the
    disclosure tests attack through them). ``threshold`` is the rounding base. The labels of
    January..``month`` are audited against those of every earlier period of the year, each
    computed the same way, so what this period hides never depends on a later one.
    """
    threshold = disclosure.check_base(threshold)
    communes, base_markets, monthly = _communes(con), _markets(con), _monthly_flows(con, year, month)
    earlier: list[dict[Key, Label]] = []
    for m in range(1, int(month) + 1):
        cube, markets = _cube(monthly, m, communes, base_markets)
        labels = disclosure.protect(earlier, disclosure.rounded(cube.values, threshold), cube.equations, threshold)
        earlier.append(labels)
    codes = list(markets["code"])
    # one market order for every view, from published national labels only (largest first, "< t"
    # and hidden between the multiples and 0): an order by true counts would rank markets sharing a label
    rank = {m: (-sum(disclosure.interval(labels[("M", m)], threshold)) if labels[("M", m)] != disclosure.HIDDEN
                else -1, m) for m in codes}
    markets = markets.assign(rank=markets["code"].map(rank)).sort_values("rank").drop(columns="rank")
    return PublicFigures(cube, labels, markets.reset_index(drop=True), threshold)


@dataclass(frozen=True)
class PublicSummary:
    """Everything the public screen shows (all aggregates, already rounded)."""

    year: int
    month: int
    province: str | None
    title: str
    total: int | str             # departures in the period (its own rounded label)
    table: pd.DataFrame          # unit code, name, departures label, attainment label
    markets: pd.DataFrame        # market name, departures label, safe flag
    costs: pd.DataFrame          # safe markets and costs panel
    notices: dict[str, str]
    companies: pd.DataFrame
    spec: maps.ChoroplethSpec    # the map (drawn in the page as shapes plus values)
    demo: bool
    note: str = disclosure.rounding_note(THRESHOLD)   # how the figures are rounded (shown beside them)
    static_url: str = "/app/static"

    @property
    def fmap(self) -> folium.Map:
        """The whole map in one piece (a standalone page, the tests)."""
        return maps.choropleth_map(self.spec, self.static_url)


def as_text(labels: pd.Series) -> list[str]:
    """Labels as display text (numbers with Vietnamese thousands separators)."""
    return [v if isinstance(v, str) else metrics.fmt_int(v) for v in labels]


def _attainment_label(pct: float | None) -> str:
    if pct is None or pd.isna(pct):
        return "–"
    return f"{pct:.0f}%"


def build_public(con: duckdb.DuckDBPyConnection, year: int, month: int, province: str | None,
                 static_url: str, threshold: int = THRESHOLD) -> PublicSummary:
    """The public screen's content for a year-to-date period, nationally or for one province.

    Every count is its label in the one national cube (:func:`public_figures`), rounded to base
    ``threshold``; attainment is computed from that label, so it gives no more away than the count.
    Built once per data version and shared by every visitor (:mod:`xkld_geo.database.cache`): read-only.
    """
    return cache.scope(con).get("public", _build_public, int(year), int(month), province, static_url, int(threshold))


def _costs(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    return db.run(con, "public_costs", """
        SELECT name_vi AS "Thị trường", avg_income_usd AS "Thu nhập ước tính (USD/tháng)",
               avg_cost_usd AS "Chi phí ước tính (USD)", source AS "Nguồn"
        FROM markets WHERE safe_high_income ORDER BY avg_income_usd DESC""")


def _companies(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    return db.run(con, "public_companies", """
        SELECT licence_no AS "Số giấy phép", name AS "Doanh nghiệp", markets AS "Thị trường",
               valid_until AS "Hiệu lực đến" FROM licensed_companies ORDER BY name COLLATE vi""")


def _build_public(con: duckdb.DuckDBPyConnection, year: int, month: int, province: str | None,
                  static_url: str, threshold: int) -> PublicSummary:
    # what does not depend on the province is shared by every province's view (and the overview:
    # the same "shapes" entries), so a province seen for the first time costs only its own part
    shared = cache.scope(con)
    figures = shared.get("public_figures", public_figures, year, month, threshold)
    # the overview's tables of the period (the same cache entries), read only
    rows = (period_tables.period_provinces(shared, year, month) if province is None
            else period_tables.period_communes(shared, year, month, province))
    keys: list[Key]
    total_key: Key
    market_keys: list[Key]
    if province is None:
        keys, total_key = [("P", c) for c in rows["unit_code"]], ("T",)
        market_keys = [("M", m) for m in figures.markets["code"]]
    else:
        keys, total_key = [("C", c) for c in rows["unit_code"]], ("P", province)
        market_keys = [("X", province, m) for m in figures.markets["code"]]
    labels = pd.Series([figures.label(k) for k in keys], dtype=object)
    quotas = [None if pd.isna(q) else float(q) for q in rows["quota"]]
    pct = [disclosure.attainment(v, q) for v, q in zip(labels, quotas)]
    table = pd.DataFrame({"Mã": rows["unit_code"], "Tên": rows["unit_name"],
                          "Số người đã đi": as_text(labels),
                          "Đạt chỉ tiêu": [_attainment_label(p) for p in pct]})
    shapes = (shared.get("shapes", queries.shapes, "2025", "province", "coarse") if province is None
              else shared.get("shapes", queries.shapes, "2025", "commune", "fine", province))
    props = pd.DataFrame({"departures": [v if not isinstance(v, str) else None for v in labels],
                          "shown": as_text(labels),
                          "pct": [None if p is None else round(p, 0) for p in pct]},
                         index=rows["unit_code"].to_numpy())
    props["fill"] = [maps.colour_for(p) for p in pct]
    demo = shared.get("meta", queries.meta).get("contains_demo") == "true"
    tooltip = (("shown", "Số người đã đi", ""), ("pct", "Đạt chỉ tiêu", "%"))
    # every period of the same place draws the same shapes part (ui/map_component): only figures travel
    spec = maps.ChoroplethSpec(shapes, props, None, f"Đạt chỉ tiêu đến T{month}/{year}", demo, tooltip=tooltip,
                               layers=(shared.path, shared.version, demo, tooltip, "public", province)
                               if shared.enabled else None)
    markets = pd.DataFrame({"Thị trường": figures.markets["name"],
                            "Số người đã đi": as_text(pd.Series([figures.label(k) for k in market_keys],
                                                                dtype=object)),
                            "An toàn, thu nhập cao": np.where(figures.markets["safe"], "✓", "")})
    costs, companies = shared.get("public_costs", _costs), shared.get("public_companies", _companies)
    provinces = shared.get("provinces", queries.provinces, copy=False)
    names = dict(zip(provinces["code"], provinces["name"]))
    place = "cả nước" if province is None else names.get(province) or queries.unit(con, province)["name"].iloc[0]
    return PublicSummary(year, month, province, f"Kết quả đưa lao động đi làm việc ở nước ngoài: {place}, "
                         f"T1–\u2060{month}/{year}", figures.label(total_key), table, markets, costs,
                         shared.get("notices", references.notices), companies, spec, spec.demo,
                         disclosure.rounding_note(figures.threshold), static_url)
