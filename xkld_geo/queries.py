"""Named, parametrised queries: the only SQL the app runs outside the build.

Values are always bound as ``$name`` parameters; the few identifiers that vary (level, era, level
of detail) are checked against whitelists first, and only then do they select a fixed SQL text.
"""
from __future__ import annotations

from typing import Iterable

import duckdb
import pandas as pd

from xkld_geo import db
from xkld_geo.errors import QueryError

LEVELS = ("province", "commune")
ERAS = ("2025", "pre2025")
LODS = ("coarse", "fine")


def check_choice(field: str, value: object, allowed: Iterable[object]) -> None:
    """Refuse a value outside its whitelist with a message naming the field and allowed values."""
    allowed = tuple(allowed)
    if value not in allowed:
        raise QueryError(f"Giá trị '{value}' của {field} không hợp lệ; chọn một trong: "
                         f"{', '.join(map(str, allowed))}.", field=field, value=value, allowed=allowed)


def check_code(field: str, value: str | None, digits: int) -> None:
    """Refuse a unit code that is not ``digits`` decimal digits."""
    if value is not None and not (isinstance(value, str) and len(value) == digits and value.isdigit()):
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
        FROM admin_units WHERE era = '2025' AND level = 'province' ORDER BY name""")


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
