"""Derived tables: rebuilt by every build from the input files and the demo generator (boundaries,
shapes, statistics, the crosswalk...). Entered rows of the statistics tables (imports, approved
quotas) are carried over by scope (``warehouse.ENTERED_FACTS``)."""
from __future__ import annotations

from xkld_geo.database.schema.table import Table

DERIVED: tuple[Table, ...] = (
    Table("dataset_meta", "derived", ddl="""
CREATE TABLE IF NOT EXISTS dataset_meta (
    key VARCHAR PRIMARY KEY,
    value VARCHAR NOT NULL
)"""),
    Table("admin_units", "derived", ddl="""
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
)"""),
    Table("unit_shapes", "derived", ddl="""
CREATE TABLE IF NOT EXISTS unit_shapes (
    era VARCHAR NOT NULL,
    level VARCHAR NOT NULL,
    code VARCHAR NOT NULL,
    lod VARCHAR NOT NULL CHECK (lod IN ('outline', 'coarse', 'fine')),
    geojson VARCHAR NOT NULL,       -- compact GeoJSON geometry, coordinates rounded per LOD
    PRIMARY KEY (era, level, code, lod)
)"""),
    Table("priority_groups", "derived", ddl="""
CREATE TABLE IF NOT EXISTS priority_groups (
    code VARCHAR PRIMARY KEY,
    name_vi VARCHAR NOT NULL,
    name_en VARCHAR NOT NULL,
    is_priority BOOLEAN NOT NULL
)"""),
    Table("channels", "derived", ddl="""
CREATE TABLE IF NOT EXISTS channels (
    code VARCHAR PRIMARY KEY,
    name_vi VARCHAR NOT NULL,
    name_en VARCHAR NOT NULL
)"""),
    Table("departures", "derived", written=True, ddl="""
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
)"""),
    Table("quotas", "derived", written=True, ddl="""
CREATE TABLE IF NOT EXISTS quotas (
    year INTEGER NOT NULL,
    unit_code VARCHAR NOT NULL,
    unit_level VARCHAR NOT NULL CHECK (unit_level IN ('province', 'commune')),
    quota INTEGER NOT NULL CHECK (quota >= 0),
    is_demo BOOLEAN NOT NULL,
    source VARCHAR NOT NULL,
    PRIMARY KEY (year, unit_level, unit_code)
)"""),
    Table("job_fair_attendance", "derived", written=True, ddl="""
CREATE TABLE IF NOT EXISTS job_fair_attendance (
    month DATE NOT NULL,
    commune_code VARCHAR NOT NULL,
    attendees INTEGER NOT NULL CHECK (attendees >= 0),
    orientation_registrations INTEGER NOT NULL CHECK (orientation_registrations >= 0),
    is_demo BOOLEAN NOT NULL,
    PRIMARY KEY (month, commune_code)
)"""),
    Table("eligible_pools", "derived", written=True, ddl="""
CREATE TABLE IF NOT EXISTS eligible_pools (
    year INTEGER NOT NULL,
    commune_code VARCHAR NOT NULL,
    priority_group VARCHAR NOT NULL,    -- the pool of people a priority group can draw on
    pool INTEGER NOT NULL CHECK (pool >= 0),
    is_demo BOOLEAN NOT NULL,
    PRIMARY KEY (year, commune_code, priority_group)
)"""),
    Table("programme_monthly", "derived", written=True, ddl="""
CREATE TABLE IF NOT EXISTS programme_monthly (
    month DATE NOT NULL,
    commune_code VARCHAR NOT NULL,
    loans INTEGER NOT NULL,             -- Social Policy Bank loans for labour export (count)
    loan_amount_mvnd DOUBLE NOT NULL,   -- their amount, VND million
    returnees INTEGER NOT NULL,
    breaches INTEGER NOT NULL,          -- contract breaches / illegal stay reported
    fraud_reports INTEGER NOT NULL,
    is_demo BOOLEAN NOT NULL,
    PRIMARY KEY (month, commune_code)
)"""),
    Table("country_shapes", "derived", ddl="""
CREATE TABLE IF NOT EXISTS country_shapes (
    market VARCHAR PRIMARY KEY,          -- market code, or VN for the origin
    name VARCHAR NOT NULL,
    geojson VARCHAR NOT NULL
)"""),
    Table("crosswalk", "derived", ddl="""
CREATE TABLE IF NOT EXISTS crosswalk (
    old_code VARCHAR NOT NULL,          -- commune before 1 July 2025 (codes as of 2025-03)
    old_name VARCHAR,
    old_province_code VARCHAR,
    old_district_code VARCHAR,
    new_code VARCHAR NOT NULL,          -- commune from 1 July 2025
    new_province_code VARCHAR,
    merge_type VARCHAR,                 -- full | partial (the old commune was split) | district (an
                                        -- island district without communes, old_code = its code)
    weight DOUBLE NOT NULL,             -- share of the old commune carried to the new one
    basis VARCHAR NOT NULL,             -- whole | population | area | equal
    PRIMARY KEY (old_code, new_code)
)"""),
    Table("crosswalk_disagreements", "derived", ddl="""
CREATE TABLE IF NOT EXISTS crosswalk_disagreements (
    old_code VARCHAR PRIMARY KEY,
    primary_targets VARCHAR,            -- new codes in the loaded (dvhcvn) crosswalk
    secondary_targets VARCHAR,          -- new codes in the second (vietnamadminunits) crosswalk
    kind VARCHAR NOT NULL               -- only_primary | only_secondary | different_targets
)"""),
    Table("departures_old", "derived", ddl="""
CREATE TABLE IF NOT EXISTS departures_old (
    month DATE NOT NULL,                -- before 2025-07-01: as reported on the units of the time
    old_commune_code VARCHAR NOT NULL,
    market VARCHAR NOT NULL,
    sex VARCHAR NOT NULL,
    channel VARCHAR NOT NULL,
    priority_group VARCHAR NOT NULL,
    departures INTEGER NOT NULL CHECK (departures >= 0),
    is_demo BOOLEAN NOT NULL,
    PRIMARY KEY (month, old_commune_code, market, sex, channel, priority_group)
)"""),
    Table("rebase_unmapped", "derived", ddl="""
CREATE TABLE IF NOT EXISTS rebase_unmapped (
    month DATE NOT NULL,
    old_commune_code VARCHAR NOT NULL,
    departures INTEGER NOT NULL,
    reason VARCHAR NOT NULL
)"""),
    Table("departures_profile", "derived", written=True, ddl="""
CREATE TABLE IF NOT EXISTS departures_profile (
    month DATE NOT NULL,
    commune_code VARCHAR NOT NULL,
    sex VARCHAR NOT NULL,
    age_group VARCHAR NOT NULL,
    qualification VARCHAR NOT NULL,
    occupation VARCHAR NOT NULL,
    departures INTEGER NOT NULL CHECK (departures >= 0),
    is_demo BOOLEAN NOT NULL,
    PRIMARY KEY (month, commune_code, sex, age_group, qualification, occupation)
)"""),
)
