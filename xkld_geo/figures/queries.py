"""Named, parametrised reads of the figures that several views share: units, shapes, attainment,
monthly departures, origins.

This is not the only SQL: a statement that belongs to one concept stays beside it, in that
concept's module (plans in :mod:`xkld_geo.planning.plans`, cases in
:mod:`xkld_geo.protection.cases`, ...), and only reads no single concept owns are kept here.
Wherever it lives, every statement goes through the database object
(:mod:`xkld_geo.database.db`) with a name and bound parameters.

Values are always bound as ``$name`` parameters; the few identifiers that vary (level, era, level
of detail) are checked against whitelists first, and only then do they select a fixed SQL text.
"""
from __future__ import annotations

from typing import Iterable

import duckdb
import pandas as pd

from xkld_geo.database import db
from xkld_geo.errors import QueryError

LEVELS = ("province", "commune")
ERAS = ("2025", "pre2025")
LODS = ("outline", "coarse", "fine")


def check_choice(field: str, value: object, allowed: Iterable[object]) -> None:
    """Refuse a value outside its whitelist with a message naming the field and allowed values."""
    allowed = tuple(allowed)
    if value not in allowed:
        raise QueryError(f"Giá trị '{value}' của {field} không hợp lệ; chọn một trong: "
                         f"{', '.join(map(str, allowed))}.", field=field, value=value, allowed=allowed)


def check_code(field: str, value: str | None, digits: int) -> None:
    """Refuse a unit code that is not ``digits`` decimal digits."""
    if value is not None and not (isinstance(value, str) and len(value) == digits and value.isascii() and value.isdigit()):
        raise QueryError(f"Mã {field} '{value}' không hợp lệ (cần {digits} chữ số).",
                         field=field, value=value, allowed=f"{digits} chữ số")


def meta(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """The ``dataset_meta`` key/value pairs (fingerprint, demo flag, build time...)."""
    df = db.run(con, "meta", "SELECT key, value FROM dataset_meta")
    return dict(zip(df["key"], df["value"]))


def years(con: duckdb.DuckDBPyConnection) -> list[int]:
    """Years with quotas, newest first."""
    df = db.run(con, "years", "SELECT DISTINCT year FROM quotas ORDER BY year DESC")
    return [int(y) for y in df["year"]]


def provinces(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The 34 current provinces: code, name, unit_type, population, centre."""
    return db.run(con, "provinces", """
        SELECT code, name, unit_type, population, center_lon, center_lat
        FROM admin_units WHERE era = '2025' AND level = 'province' ORDER BY name COLLATE vi""")  # Vietnamese order (collation.SQL)


def unit(con: duckdb.DuckDBPyConnection, code: str) -> pd.DataFrame:
    """One current unit (province or commune) by code."""
    return db.run(con, "unit", """
        SELECT code, name, unit_type, level, parent_code, population, area_km2, center_lon, center_lat
        FROM admin_units WHERE era = '2025' AND code = $code""", {"code": code})


def attainment(con: duckdb.DuckDBPyConnection, year: int, level: str,
               province_code: str | None = None) -> pd.DataFrame:
    """Rows of ``v_attainment`` for a year at one level, optionally within one province."""
    check_choice("cấp", level, LEVELS)
    check_code("tỉnh", province_code, 2)
    return db.run(con, "attainment", """
        SELECT year, unit_code, unit_level, unit_name, province_code, quota, departures,
               attainment_pct, is_demo
        FROM v_attainment
        WHERE year = $year AND unit_level = $level
          AND ($province IS NULL OR province_code = $province)
        ORDER BY unit_code""", {"year": int(year), "level": level, "province": province_code})


def shapes(con: duckdb.DuckDBPyConnection, era: str, level: str, lod: str,
           province_code: str | None = None) -> pd.DataFrame:
    """Precomputed GeoJSON geometry text with code and name, optionally within one province."""
    check_choice("thời kỳ", era, ERAS)
    check_choice("cấp", level, LEVELS + ("district",))
    check_choice("mức chi tiết", lod, LODS)
    check_code("tỉnh", province_code, 2)
    return db.run(con, "shapes", """
        SELECT u.code, u.name, u.unit_type, u.parent_code, u.population, u.center_lon,
               ST_XMin(u.geom) AS xmin, ST_YMin(u.geom) AS ymin,
               ST_XMax(u.geom) AS xmax, ST_YMax(u.geom) AS ymax, s.geojson
        FROM unit_shapes s
        JOIN admin_units u ON u.era = s.era AND u.level = s.level AND u.code = s.code
        WHERE s.era = $era AND s.level = $level AND s.lod = $lod
          AND ($province IS NULL OR u.parent_code = $province)
        ORDER BY u.code""", {"era": era, "level": level, "lod": lod, "province": province_code})


def national_totals(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Departures per year and market over the whole country (calibration checks, benchmarks)."""
    return db.run(con, "national_totals", """
        SELECT CAST(year(month) AS INTEGER) AS year, market, SUM(departures) AS departures
        FROM departures GROUP BY ALL ORDER BY year, market""")


APPROVED_DEPARTURES = """(SELECT d.* FROM departures d WHERE NOT EXISTS (
    SELECT 1 FROM commune_months s WHERE s.month = d.month AND s.commune_code = d.commune_code
    AND s.state <> 'approved'))"""
"""The departures that count as approved: a commune-month received but not approved yet (submitted,
returned, a draft) is left out; figures without a state (the demo history, imports from before
approval existed) count as they are (:func:`xkld_geo.reporting.approval.counted_departures`)."""


def departures_source(approved_only: bool) -> str:
    """The departures table, or its approved part (:data:`APPROVED_DEPARTURES`), to put in a FROM."""
    return APPROVED_DEPARTURES if approved_only else "departures"


def _named(name: str, approved_only: bool) -> str:
    """A query's name, with ``_approved`` for its approved-figures variant (its own cache entry)."""
    return name + "_approved" if approved_only else name


_PERIOD_COMMUNES = """
WITH cur AS (
    SELECT commune_code,
           SUM(departures) FILTER (WHERE month < make_date($year, $month, 1) + INTERVAL 1 MONTH) AS ytd,
           SUM(departures) FILTER (WHERE month < make_date($year, $month, 1)) AS ytd_prev_month
    FROM {departures} AS departures
    WHERE month >= make_date($year, 1, 1) AND month < make_date($year + 1, 1, 1)
    GROUP BY 1
), last AS (
    SELECT commune_code,
           SUM(departures) FILTER (WHERE month < make_date($year - 1, $month, 1) + INTERVAL 1 MONTH)
               AS ytd_last_year,
           SUM(departures) FILTER (WHERE month = make_date($year - 1, $month, 1)) AS ly_this_month,
           SUM(departures) AS last_year_total
    FROM {departures} AS departures
    WHERE month >= make_date($year - 1, 1, 1) AND month < make_date($year, 1, 1)
    GROUP BY 1
), communes AS (
    SELECT c.commune_code AS unit_code, c.commune_name AS unit_name, c.province_code,
           c.population, q.quota,
           COALESCE(cur.ytd, 0) AS ytd, COALESCE(cur.ytd_prev_month, 0) AS ytd_prev_month,
           COALESCE(last.ytd_last_year, 0) AS ytd_last_year,
           COALESCE(last.ly_this_month, 0) AS ly_this_month,
           COALESCE(last.last_year_total, 0) AS last_year_total, q0.quota AS last_year_quota
    FROM v_communes c
    LEFT JOIN quotas q ON q.year = $year AND q.unit_level = 'commune' AND q.unit_code = c.commune_code
    LEFT JOIN quotas q0 ON q0.year = $year - 1 AND q0.unit_level = 'commune' AND q0.unit_code = c.commune_code
    LEFT JOIN cur ON cur.commune_code = c.commune_code
    LEFT JOIN last ON last.commune_code = c.commune_code
    WHERE $province IS NULL OR c.province_code = $province
)
"""


def period_attainment(con: duckdb.DuckDBPyConnection, year: int, month: int, level: str,
                      province_code: str | None = None, approved_only: bool = False) -> pd.DataFrame:
    """Year-to-date figures per unit up to ``month`` of ``year``.

    Columns: unit_code, unit_name, province_code, population, quota (NULL: none), ytd (departures
    to the end of ``month``), ytd_prev_month (to the end of the month before), ytd_last_year (the
    same months of the year before), ly_this_month (``month`` of the year before, to cut last year
    at the same day as a month in progress), last_year_total and last_year_quota (for January's
    rank change against the December before). With ``approved_only`` only approved figures count
    (:data:`APPROVED_DEPARTURES`), this year's and last year's alike.
    """
    check_choice("cấp", level, LEVELS)
    check_code("tỉnh", province_code, 2)
    check_choice("tháng", int(month), range(1, 13))
    params = {"year": int(year), "month": int(month), "province": province_code}
    head = _PERIOD_COMMUNES.format(departures=departures_source(approved_only))
    if level == "commune":
        return db.run(con, _named("period_attainment_commune", approved_only),
                      head + "SELECT * FROM communes ORDER BY unit_code", params)
    return db.run(con, _named("period_attainment_province", approved_only), head + """
        SELECT p.code AS unit_code, p.name AS unit_name, p.code AS province_code,
               SUM(c.population) AS population, SUM(c.quota) AS quota, SUM(c.ytd) AS ytd,
               SUM(c.ytd_prev_month) AS ytd_prev_month, SUM(c.ytd_last_year) AS ytd_last_year,
               SUM(c.ly_this_month) AS ly_this_month, SUM(c.last_year_total) AS last_year_total,
               SUM(c.last_year_quota) AS last_year_quota
        FROM communes c
        JOIN admin_units p ON p.era = '2025' AND p.level = 'province' AND p.code = c.province_code
        GROUP BY ALL ORDER BY unit_code""", params)


def monthly_departures(con: duckdb.DuckDBPyConnection, year: int, province_code: str | None = None,
                       commune_code: str | None = None, approved_only: bool = False) -> pd.DataFrame:
    """Departures per month number (1–12) of ``year`` and of the year before, for a selection
    (``approved_only``: approved figures only, :data:`APPROVED_DEPARTURES`).

    Columns: month (1–12), this_year, last_year. Months without data are 0.
    """
    check_code("tỉnh", province_code, 2)
    check_code("xã", commune_code, 5)
    return db.run(con, _named("monthly_departures", approved_only), """
        WITH sel AS (
            SELECT d.month, d.departures FROM """ + departures_source(approved_only) + """ d
            JOIN v_communes c ON c.commune_code = d.commune_code
            WHERE d.month >= make_date($year - 1, 1, 1) AND d.month < make_date($year + 1, 1, 1)
              AND ($province IS NULL OR c.province_code = $province)
              AND ($commune IS NULL OR c.commune_code = $commune)
        )
        SELECT m.m AS month,
               COALESCE(SUM(s.departures) FILTER (WHERE year(s.month) = $year), 0) AS this_year,
               COALESCE(SUM(s.departures) FILTER (WHERE year(s.month) = $year - 1), 0) AS last_year
        FROM range(1, 13) m(m)
        LEFT JOIN sel s ON month(s.month) = m.m
        GROUP BY m.m ORDER BY m.m""",
                  {"year": int(year), "province": province_code, "commune": commune_code})


def monthly_departures_by_province(con: duckdb.DuckDBPyConnection, year: int,
                                   approved_only: bool = False) -> pd.DataFrame:
    """:func:`monthly_departures` of every province at once (one query per year, which the
    overview shares across requests and cuts up). Columns: province_code, month (1–12), this_year,
    last_year; every province has its twelve months (0 where none). ``approved_only``: approved
    figures only."""
    return db.run(con, _named("monthly_departures_by_province", approved_only), """
        WITH sel AS (
            SELECT c.province_code, month(d.month) AS m, year(d.month) AS y, SUM(d.departures) AS n
            FROM """ + departures_source(approved_only) + """ d JOIN v_communes c ON c.commune_code = d.commune_code
            WHERE d.month >= make_date($year - 1, 1, 1) AND d.month < make_date($year + 1, 1, 1)
            GROUP BY ALL
        )
        SELECT p.province_code, m.m AS month,
               COALESCE(SUM(s.n) FILTER (WHERE s.y = $year), 0) AS this_year,
               COALESCE(SUM(s.n) FILTER (WHERE s.y = $year - 1), 0) AS last_year
        FROM (SELECT DISTINCT province_code FROM v_communes) p CROSS JOIN range(1, 13) m(m)
        LEFT JOIN sel s ON s.province_code = p.province_code AND s.m = m.m
        GROUP BY ALL ORDER BY p.province_code, m.m""", {"year": int(year)})


def last_data_month(con: duckdb.DuckDBPyConnection, year: int) -> int:
    """The last month of ``year`` with any departures recorded (12 for a finished year, 0 if none)."""
    df = db.run(con, "last_data_month", """
        SELECT COALESCE(max(month(month)), 0) AS m FROM departures
        WHERE month >= make_date($year, 1, 1) AND month < make_date($year + 1, 1, 1)""",
                {"year": int(year)})
    return int(df["m"].iloc[0])


def has_history(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the database holds the pre-2025 units and the crosswalk."""
    return meta(con).get("has_history") == "true"


def old_unit_departures(con: duckdb.DuckDBPyConnection, year: int, month: int, level: str,
                        province_code: str | None = None) -> pd.DataFrame:
    """Year-to-date departures on the units of the time (before 1 July 2025).

    ``level`` 'district' gives every old district; 'commune' gives the old communes that now lie in
    the new province ``province_code``. Columns: unit_code, departures.
    """
    check_choice("cấp", level, ("district", "commune"))
    check_code("tỉnh", province_code, 2)
    check_choice("tháng", int(month), range(1, 13))
    params = {"year": int(year), "month": int(month), "province": province_code}
    if level == "district":
        return db.run(con, "old_departures_district", """
            SELECT district_code AS unit_code, SUM(departures) AS departures
            FROM v_departures_monthly_old
            WHERE month >= make_date($year, 1, 1) AND month <= make_date($year, $month, 1)
              AND district_code IS NOT NULL
            GROUP BY 1 ORDER BY 1""", {"year": params["year"], "month": params["month"]})
    return db.run(con, "old_departures_commune", """
        SELECT d.old_commune_code AS unit_code, SUM(d.departures) AS departures
        FROM departures_old d
        WHERE d.month >= make_date($year, 1, 1) AND d.month <= make_date($year, $month, 1)
          AND d.old_commune_code IN (SELECT old_code FROM crosswalk WHERE new_province_code = $province)
        GROUP BY 1 ORDER BY 1""", params)


def old_shapes(con: duckdb.DuckDBPyConnection, level: str, lod: str,
               province_code: str | None = None) -> pd.DataFrame:
    """Shapes of units of the time: all old provinces or districts, or the old communes now in a
    new province (only those with a known polygon)."""
    check_choice("cấp", level, ("province", "district", "commune"))
    check_choice("mức chi tiết", lod, LODS)
    check_code("tỉnh", province_code, 2)
    return db.run(con, "old_shapes", """
        SELECT u.code, u.name, u.unit_type, u.parent_code, u.population, u.center_lon,
               ST_XMin(u.geom) AS xmin, ST_YMin(u.geom) AS ymin,
               ST_XMax(u.geom) AS xmax, ST_YMax(u.geom) AS ymax, s.geojson
        FROM unit_shapes s
        JOIN admin_units u ON u.era = s.era AND u.level = s.level AND u.code = s.code
        WHERE s.era = 'pre2025' AND s.level = $level AND s.lod = $lod
          AND ($province IS NULL OR u.code IN (SELECT old_code FROM crosswalk WHERE new_province_code = $province))
        ORDER BY u.code""", {"level": level, "lod": lod, "province": province_code})


def origins(con: duckdb.DuckDBPyConnection, province_code: str) -> pd.DataFrame:
    """For each new commune of a province, the old communes it came from (split ones marked)."""
    check_code("tỉnh", province_code, 2)
    return db.run(con, "origins", """
        SELECT new_code AS unit_code,
               string_agg(old_name || CASE WHEN merge_type = 'partial' THEN ' (một phần)' ELSE '' END,
                          ', ' ORDER BY old_name) AS origin
        FROM crosswalk WHERE new_province_code = $province GROUP BY 1""", {"province": province_code})
