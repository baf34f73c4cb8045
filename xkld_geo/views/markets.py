"""Where they go: destination markets, the flow map, market mix, and the market reference table.

The reference table (safe & high income flag, expected income and cost, with the source of each
figure) is edited by administrators; every row is checked (a real ISO country code, non-negative
whole amounts, a stated source) and a bad row is refused with its row, field and the allowed values.
"""
from __future__ import annotations

import math

import duckdb
import folium
import pandas as pd
import shapely

from xkld_geo import auth, dataversion, db, maps, markup, queries
from xkld_geo.errors import MarketError, XkldError
from xkld_geo.markup import html_text

ISO_ALPHA2 = frozenset("""AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO
BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER
ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN
IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH
MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN
PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ
TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW""".split())
"""ISO 3166-1 alpha-2 country codes (Taiwan's TW included, as the labour statistics use it)."""

REFERENCE_COLUMNS = ["code", "name_vi", "name_en", "region", "safe_high_income", "avg_income_usd",
                     "avg_cost_usd", "source"]


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
    queries.check_choice("thị trường", market, reference(con)["code"].tolist())
    return db.run(con, "market_origins", """
        SELECT CASE WHEN $province IS NULL THEN c.province_code ELSE c.commune_code END AS unit_code,
               SUM(d.departures) AS departures
        FROM departures d JOIN v_communes c ON c.commune_code = d.commune_code
        WHERE d.market = $market AND d.month >= make_date($year, 1, 1) AND d.month <= make_date($year, $month, 1)
          AND ($province IS NULL OR c.province_code = $province)
        GROUP BY 1""", {"year": int(year), "month": int(month), "province": province, "market": market})


def reference(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The market reference table."""
    return db.run(con, "markets_reference", f"SELECT {', '.join(REFERENCE_COLUMNS)} FROM markets ORDER BY code")


NAME_CHARS = 120
"""Longest market or region name accepted (the source may be as long as ``max_text_chars``)."""


def check_reference(rows: pd.DataFrame) -> list[str]:
    """Every problem of an edited reference table, as "Dòng N, cột X: ..." messages (row 1 = first)."""
    errors: list[str] = []
    seen: set[str] = set()
    for i, row in enumerate(rows.to_dict("records"), start=1):
        code = str(row.get("code") or "").strip().upper()
        if code not in ISO_ALPHA2:
            errors.append(f"Dòng {i}, cột code: '{row.get('code')}' không phải mã quốc gia ISO 3166-1 "
                          "(hai chữ cái, ví dụ JP, KR, DE).")
        elif code in seen:
            errors.append(f"Dòng {i}, cột code: mã {code} bị trùng.")
        seen.add(code)
        for field in ("avg_income_usd", "avg_cost_usd"):
            value = row.get(field)
            if value is None or (isinstance(value, float) and math.isnan(value)):
                continue
            try:
                number = float(value)
            except (TypeError, ValueError):
                errors.append(f"Dòng {i}, cột {field}: '{value}' không phải là số.")
                continue
            if number < 0 or number != int(number):
                errors.append(f"Dòng {i}, cột {field}: {value} phải là số nguyên không âm (USD).")
        for field in ("name_vi", "source"):
            if not str(row.get(field) or "").strip():
                errors.append(f"Dòng {i}, cột {field}: không được để trống (ghi rõ nguồn của số liệu).")
        for field, limit in (("name_vi", NAME_CHARS), ("name_en", NAME_CHARS), ("region", NAME_CHARS),
                             ("source", None)):
            try:
                markup.check_length(str(row.get(field) or ""), f"Dòng {i}, cột {field}", limit)
            except XkldError as exc:
                errors.append(exc.message)
    return errors


def save_reference(con: duckdb.DuckDBPyConnection, rows: pd.DataFrame, user: auth.User) -> int:
    """Validate and save the edited reference table (administrators); returns rows saved.

    Markets already used by statistics cannot be deleted; every save is audited.
    """
    if not auth.allowed(user, "edit_reference"):
        raise MarketError("Chỉ quản trị viên được sửa bảng thị trường.", field="role", value=user.role)
    errors = check_reference(rows)
    if errors:
        raise MarketError(" ".join(errors[:5]) + (f" (và {len(errors) - 5} lỗi khác)" if len(errors) > 5 else ""),
                          errors=errors, allowed=sorted(ISO_ALPHA2))
    clean = rows[REFERENCE_COLUMNS].copy()
    clean["code"] = clean["code"].str.strip().str.upper()
    clean["safe_high_income"] = clean["safe_high_income"].fillna(False).astype(bool)
    with db.transaction(con), db.registered(con, "markets_in", clean):
        db.execute(con, "markets_upsert", """INSERT INTO markets SELECT * FROM markets_in ON CONFLICT (code) DO UPDATE SET
            name_vi = excluded.name_vi, name_en = excluded.name_en, region = excluded.region,
            safe_high_income = excluded.safe_high_income, avg_income_usd = excluded.avg_income_usd,
            avg_cost_usd = excluded.avg_cost_usd, source = excluded.source""")
        auth.audit(con, user.username, "reference_edited", "markets", f"{len(clean)} rows")
        dataversion.bump(con, "reference:markets")
    return len(clean)


def flow_map(con: duckdb.DuckDBPyConnection, markets: pd.DataFrame, origin: tuple[float, float],
             static_url: str, demo: bool) -> folium.Map:
    """Country shapes shaded by volume and one line per destination with departures."""
    shapes = db.run(con, "country_shapes", "SELECT market AS code, name, geojson FROM country_shapes")
    used = markets[markets["departures"] > 0].set_index("market")
    dest = shapes[shapes["code"].isin(used.index)].copy()
    props = pd.DataFrame({"departures": used["departures"]}).reindex(dest["code"])
    props["fill"] = [maps.colour_for(v, maps.LEGENDS["departures_market"][:-1]) for v in props["departures"]]
    fmap = maps.base_map(static_url, demo=demo)
    vietnam = shapes[shapes["code"] == "VN"]
    if len(vietnam):
        maps.ChoroplethLayer(maps.feature_collection(vietnam), stroke="#555", weight=1, fill_opacity=1.0,
                             default_fill="#fff3cd", interactive=False, name="origin").add_to(fmap)
    names = dict(zip(markets["market"], markets["name_vi"]))
    maps.ChoroplethLayer(maps.feature_collection(dest.assign(name=dest["code"].map(names)), props),
                         tooltip_fields=(("departures", "Số người đi", ""),), weight=0.8,
                         fit=[[-5.0, 5.0], [62.0, 145.0]], name="countries").add_to(fmap)
    top = max(1, int(used["departures"].max())) if len(used) else 1
    flows = []
    for code, row in used.iterrows():
        geometry = shapes.loc[shapes["code"] == code, "geojson"]
        if not len(geometry):
            continue
        point = shapely.point_on_surface(shapely.from_geojson(geometry.iloc[0]))
        flows.append({"name": html_text(names.get(code, code)), "n": int(row["departures"]), "lat": round(point.y, 3),
                      "lon": round(point.x, 3), "safe": bool(row["safe_high_income"]),
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
