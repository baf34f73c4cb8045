"""The warehouse schema: tables, reference data and the stable reporting views.

The views ``v_attainment`` and ``v_departures_monthly`` are a public contract documented in the
README: BI tools read them directly, so their columns only ever grow.
"""
from __future__ import annotations

import duckdb

from xkld_geo import db

SCHEMA_VERSION = "9"

TABLES = """
CREATE TABLE IF NOT EXISTS dataset_meta (
    key VARCHAR PRIMARY KEY,
    value VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS admin_units (
    code VARCHAR NOT NULL,          -- official GSO code: province 2, district 3, commune 5 digits
    name VARCHAR NOT NULL,
    unit_type VARCHAR,              -- Xã / Phường / Đặc khu / Tỉnh / Thành phố / Quận / Huyện ...
    level VARCHAR NOT NULL CHECK (level IN ('province', 'district', 'commune')),
    parent_code VARCHAR,            -- province of a commune (2025) or of a district (pre-2025)
    era VARCHAR NOT NULL CHECK (era IN ('2025', 'pre2025')),
    valid_from DATE NOT NULL,
    valid_to DATE,                  -- NULL: still in force
    population BIGINT,
    area_km2 DOUBLE,
    center_lon DOUBLE,
    center_lat DOUBLE,
    geom GEOMETRY,
    PRIMARY KEY (era, level, code)
);
CREATE TABLE IF NOT EXISTS unit_shapes (
    era VARCHAR NOT NULL,
    level VARCHAR NOT NULL,
    code VARCHAR NOT NULL,
    lod VARCHAR NOT NULL CHECK (lod IN ('outline', 'coarse', 'fine')),
    geojson VARCHAR NOT NULL,       -- compact GeoJSON geometry, coordinates rounded per LOD
    PRIMARY KEY (era, level, code, lod)
);
CREATE TABLE IF NOT EXISTS markets (
    code VARCHAR PRIMARY KEY,       -- ISO 3166-1 alpha-2, or OTH for all others
    name_vi VARCHAR NOT NULL,
    name_en VARCHAR NOT NULL,
    region VARCHAR NOT NULL,
    safe_high_income BOOLEAN NOT NULL,
    avg_income_usd INTEGER,         -- typical monthly income, USD
    avg_cost_usd INTEGER,           -- typical total cost to the worker, USD
    source VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS priority_groups (
    code VARCHAR PRIMARY KEY,
    name_vi VARCHAR NOT NULL,
    name_en VARCHAR NOT NULL,
    is_priority BOOLEAN NOT NULL
);
CREATE TABLE IF NOT EXISTS channels (
    code VARCHAR PRIMARY KEY,
    name_vi VARCHAR NOT NULL,
    name_en VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS departures (
    month DATE NOT NULL,            -- first day of the month
    commune_code VARCHAR NOT NULL,  -- 2025 commune code
    market VARCHAR NOT NULL REFERENCES markets(code),
    sex VARCHAR NOT NULL CHECK (sex IN ('nam', 'nu')),
    channel VARCHAR NOT NULL REFERENCES channels(code),
    priority_group VARCHAR NOT NULL REFERENCES priority_groups(code),
    departures INTEGER NOT NULL CHECK (departures >= 0),
    is_demo BOOLEAN NOT NULL,
    PRIMARY KEY (month, commune_code, market, sex, channel, priority_group)
);
CREATE TABLE IF NOT EXISTS quotas (
    year INTEGER NOT NULL,
    unit_code VARCHAR NOT NULL,
    unit_level VARCHAR NOT NULL CHECK (unit_level IN ('province', 'commune')),
    quota INTEGER NOT NULL CHECK (quota >= 0),
    is_demo BOOLEAN NOT NULL,
    source VARCHAR NOT NULL,
    PRIMARY KEY (year, unit_level, unit_code)
);
CREATE TABLE IF NOT EXISTS job_fair_attendance (
    month DATE NOT NULL,
    commune_code VARCHAR NOT NULL,
    attendees INTEGER NOT NULL CHECK (attendees >= 0),
    orientation_registrations INTEGER NOT NULL CHECK (orientation_registrations >= 0),
    is_demo BOOLEAN NOT NULL,
    PRIMARY KEY (month, commune_code)
);
"""

VIEWS = """
CREATE OR REPLACE VIEW v_communes AS
SELECT code AS commune_code, name AS commune_name, unit_type, parent_code AS province_code,
       population, area_km2
FROM admin_units WHERE era = '2025' AND level = 'commune';

CREATE OR REPLACE VIEW v_departures_monthly AS
SELECT month, commune_code AS unit_code, market, sex, channel, priority_group, departures, is_demo
FROM departures;

CREATE OR REPLACE VIEW v_attainment AS
WITH yearly AS (
    SELECT CAST(year(month) AS INTEGER) AS year, commune_code, SUM(departures) AS departures,
           bool_or(is_demo) AS is_demo
    FROM departures GROUP BY ALL
), commune_rows AS (
    SELECT q.year, c.commune_code AS unit_code, 'commune' AS unit_level, c.commune_name AS unit_name,
           c.province_code, q.quota, COALESCE(y.departures, 0) AS departures,
           q.is_demo OR COALESCE(y.is_demo, FALSE) AS is_demo
    FROM quotas q
    JOIN v_communes c ON c.commune_code = q.unit_code
    LEFT JOIN yearly y ON y.year = q.year AND y.commune_code = q.unit_code
    WHERE q.unit_level = 'commune'
), province_rows AS (
    SELECT r.year, r.province_code AS unit_code, 'province' AS unit_level, p.name AS unit_name,
           r.province_code, SUM(r.quota) AS quota, SUM(r.departures) AS departures,
           bool_or(r.is_demo) AS is_demo
    FROM commune_rows r
    JOIN admin_units p ON p.era = '2025' AND p.level = 'province' AND p.code = r.province_code
    GROUP BY ALL
)
SELECT year, unit_code, unit_level, unit_name, province_code,
       CAST(quota AS BIGINT) AS quota, CAST(departures AS BIGINT) AS departures,
       CASE WHEN quota > 0 THEN round(100.0 * departures / quota, 1) END AS attainment_pct,
       is_demo
FROM (SELECT * FROM commune_rows UNION ALL SELECT * FROM province_rows);
"""

MARKETS: list[tuple[str, str, str, str, bool, int | None, int | None, str]] = [
    # code, name_vi, name_en, region, safe & high income, income USD/month, cost USD, source
    ("JP", "Nhật Bản", "Japan", "Đông Bắc Á", True, 1200, 5500, "Ước tính minh họa; cần cập nhật từ DOLAB"),
    ("TW", "Đài Loan (Trung Quốc)", "Taiwan", "Đông Bắc Á", True, 900, 4500, "Ước tính minh họa; cần cập nhật từ DOLAB"),
    ("KR", "Hàn Quốc", "South Korea", "Đông Bắc Á", True, 1600, 1000, "Chương trình EPS; ước tính minh họa"),
    ("DE", "Đức", "Germany", "Châu Âu", True, 2500, 3000, "Ước tính minh họa"),
    ("CN", "Trung Quốc", "China", "Đông Bắc Á", False, 700, 2000, "Ước tính minh họa"),
    ("HU", "Hungary", "Hungary", "Châu Âu", True, 1000, 3500, "Ước tính minh họa"),
    ("SG", "Singapore", "Singapore", "Đông Nam Á", True, 1000, 3000, "Ước tính minh họa"),
    ("RO", "Romania", "Romania", "Châu Âu", False, 800, 3500, "Ước tính minh họa"),
    ("PL", "Ba Lan", "Poland", "Châu Âu", True, 1000, 4000, "Ước tính minh họa"),
    ("HK", "Hồng Kông (Trung Quốc)", "Hong Kong", "Đông Bắc Á", False, 600, 1500, "Ước tính minh họa"),
    ("MY", "Malaysia", "Malaysia", "Đông Nam Á", False, 450, 1200, "Ước tính minh họa"),
    ("SA", "Ả Rập Xê Út", "Saudi Arabia", "Trung Đông", False, 500, 1000, "Ước tính minh họa"),
    ("RU", "Nga", "Russia", "Châu Âu", False, 700, 2500, "Ước tính minh họa"),
    ("MO", "Ma Cao (Trung Quốc)", "Macao", "Đông Bắc Á", False, 700, 1500, "Ước tính minh họa"),
]

PRIORITY_GROUPS: list[tuple[str, str, str, bool]] = [
    ("bo_doi_xuat_ngu", "Bộ đội xuất ngũ", "Demobilised soldiers", True),
    ("ho_ngheo", "Hộ nghèo", "Poor households", True),
    ("ho_can_ngheo", "Hộ cận nghèo", "Near-poor households", True),
    ("gia_dinh_chinh_sach", "Gia đình chính sách", "Policy families", True),
    ("dan_toc_thieu_so", "Dân tộc thiểu số", "Ethnic minorities", True),
    ("khac", "Khác", "Other", False),
]

CHANNELS: list[tuple[str, str, str]] = [
    ("doanh_nghiep", "Hợp đồng qua doanh nghiệp", "Company contract"),
    ("eps", "Chương trình EPS (công)", "Public EPS programme"),
    ("thuc_tap_sinh", "Thực tập sinh kỹ thuật", "Technical intern"),
]


def create_all(con: duckdb.DuckDBPyConnection) -> None:
    """Create every table, load the small reference tables, and (re)create the views."""
    db.execute(con, "schema_tables", TABLES)
    db.execute(con, "schema_clear_reference", "DELETE FROM markets; DELETE FROM priority_groups; "
                                             "DELETE FROM channels;")
    con.executemany("INSERT INTO markets VALUES (?, ?, ?, ?, ?, ?, ?, ?)", MARKETS)
    con.executemany("INSERT INTO priority_groups VALUES (?, ?, ?, ?)", PRIORITY_GROUPS)
    con.executemany("INSERT INTO channels VALUES (?, ?, ?)", CHANNELS)
    db.execute(con, "schema_views", VIEWS)
