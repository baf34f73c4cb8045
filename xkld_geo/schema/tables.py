"""Every table of the warehouse, declared once, and the views built on them.

Each :class:`Table` says what a rebuild does with it: ``derived`` tables are made anew from the
input files and the demo generator; ``operational`` tables hold work that exists nowhere else
(accounts, audit, plans, imports, registers, notices...) and are carried over whole; ``edited``
reference tables are filled by the build with defaults and carry administrators' edits over by
key. :func:`create_all` makes a new database from these declarations; an older database is
brought to them by the numbered steps of :mod:`xkld_geo.schema.migrations`.

The views ``v_attainment`` and ``v_departures_monthly`` are a public contract documented in the
README: BI tools read them directly, so their columns only ever grow. The DDL is plain SQL that
DuckDB runs as it is; a second backend maps the few DuckDB-only types (GEOMETRY) in one place.
"""
from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pandas as pd

from xkld_geo import db
from xkld_geo.schema.reference import CHANNELS, MARKETS, PRIORITY_GROUPS
from xkld_geo.schema.views import VIEWS

SCHEMA_VERSION = "9"
"""Version of the derived content (part of the build fingerprint); the tables' shape is tracked
by the migrations instead."""

KINDS = ("derived", "operational", "edited")


@dataclass(frozen=True)
class Table:
    """One table: its name, what a rebuild does with it (:data:`KINDS`), its key and its DDL."""

    name: str
    kind: str
    key: tuple[str, ...] = ()       # for 'edited' tables: the rows an administrator's edit replaces
    ddl: str = ""
    indexes: tuple[str, ...] = ()   # CREATE INDEX IF NOT EXISTS statements

    def __post_init__(self) -> None:
        assert self.kind in KINDS, self.kind
        assert f"CREATE TABLE IF NOT EXISTS {self.name} (" in self.ddl, self.name


TABLES: tuple[Table, ...] = (
    # --- from schema
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
    Table("markets", "edited", key=('code',), ddl="""
CREATE TABLE IF NOT EXISTS markets (
    code VARCHAR PRIMARY KEY,       -- ISO 3166-1 alpha-2, or OTH for all others
    name_vi VARCHAR NOT NULL,
    name_en VARCHAR NOT NULL,
    region VARCHAR NOT NULL,
    safe_high_income BOOLEAN NOT NULL,
    avg_income_usd INTEGER,         -- typical monthly income, USD
    avg_cost_usd INTEGER,           -- typical total cost to the worker, USD
    source VARCHAR NOT NULL
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
    Table("departures", "derived", ddl="""
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
    Table("quotas", "derived", ddl="""
CREATE TABLE IF NOT EXISTS quotas (
    year INTEGER NOT NULL,
    unit_code VARCHAR NOT NULL,
    unit_level VARCHAR NOT NULL CHECK (unit_level IN ('province', 'commune')),
    quota INTEGER NOT NULL CHECK (quota >= 0),
    is_demo BOOLEAN NOT NULL,
    source VARCHAR NOT NULL,
    PRIMARY KEY (year, unit_level, unit_code)
)"""),
    Table("job_fair_attendance", "derived", ddl="""
CREATE TABLE IF NOT EXISTS job_fair_attendance (
    month DATE NOT NULL,
    commune_code VARCHAR NOT NULL,
    attendees INTEGER NOT NULL CHECK (attendees >= 0),
    orientation_registrations INTEGER NOT NULL CHECK (orientation_registrations >= 0),
    is_demo BOOLEAN NOT NULL,
    PRIMARY KEY (month, commune_code)
)"""),
    # --- from auth
    Table("users", "operational", ddl="""
CREATE TABLE IF NOT EXISTS users (
    username VARCHAR PRIMARY KEY,
    display_name VARCHAR NOT NULL,
    role VARCHAR NOT NULL,
    password_hash VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL,
    disabled BOOLEAN NOT NULL DEFAULT FALSE
)"""),
    Table("sessions", "operational", ddl="""
CREATE TABLE IF NOT EXISTS sessions (
    token_hash VARCHAR PRIMARY KEY,     -- SHA-256 of the token: a leaked table opens no session
    username VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
)"""),
    Table("login_attempts", "operational", ddl="""
CREATE TABLE IF NOT EXISTS login_attempts (
    username VARCHAR NOT NULL,
    at_time TIMESTAMP NOT NULL,
    ok BOOLEAN NOT NULL,
    source VARCHAR                      -- client address (NULL in databases from before sources)
)"""),
    Table("audit_log", "operational", ddl="""
CREATE TABLE IF NOT EXISTS audit_log (
    at_time TIMESTAMP NOT NULL,
    username VARCHAR NOT NULL,          -- 'public' / 'cli' where nobody is logged in
    action VARCHAR NOT NULL,            -- login, login_failed, logout, user_added, import, approve, ...
    target VARCHAR,
    detail VARCHAR
)"""),
    # --- from plans
    Table("plans", "operational", ddl="""
CREATE TABLE IF NOT EXISTS plans (
    plan_id INTEGER PRIMARY KEY,      -- max + 1 (no sequence: plans survive rebuilds by copy)
    year INTEGER NOT NULL,
    province_code VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    status VARCHAR NOT NULL CHECK (status IN ('draft', 'submitted', 'approved', 'superseded')),
    method VARCHAR NOT NULL,
    params VARCHAR NOT NULL,          -- JSON: target, weights, floor, cap %, frozen communes
    author VARCHAR NOT NULL,
    comment VARCHAR,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL
)"""),
    Table("plan_rows", "operational", ddl="""
CREATE TABLE IF NOT EXISTS plan_rows (
    plan_id INTEGER NOT NULL,
    commune_code VARCHAR NOT NULL,
    quota INTEGER NOT NULL CHECK (quota >= 0),
    PRIMARY KEY (plan_id, commune_code)
)"""),
    Table("quota_changes", "operational", ddl="""
CREATE TABLE IF NOT EXISTS quota_changes (
    at_time TIMESTAMP NOT NULL,
    username VARCHAR NOT NULL,
    plan_id INTEGER,                  -- the approved plan that changed it, or
    year INTEGER NOT NULL,
    unit_code VARCHAR NOT NULL,
    old_quota INTEGER,
    new_quota INTEGER NOT NULL,
    import_id INTEGER                 -- the import that changed it (see import_log)
)"""),
    # --- from public
    Table("public_notices", "operational", ddl="""
CREATE TABLE IF NOT EXISTS public_notices (
    key VARCHAR PRIMARY KEY,
    text VARCHAR NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    updated_by VARCHAR NOT NULL
)"""),
    Table("licensed_companies", "operational", ddl="""
CREATE TABLE IF NOT EXISTS licensed_companies (
    licence_no VARCHAR PRIMARY KEY,
    name VARCHAR NOT NULL,
    province_code VARCHAR,
    markets VARCHAR,
    valid_until DATE
)"""),
    # --- from programme
    Table("eligible_pools", "derived", ddl="""
CREATE TABLE IF NOT EXISTS eligible_pools (
    year INTEGER NOT NULL,
    commune_code VARCHAR NOT NULL,
    priority_group VARCHAR NOT NULL,    -- the pool of people a priority group can draw on
    pool INTEGER NOT NULL CHECK (pool >= 0),
    is_demo BOOLEAN NOT NULL,
    PRIMARY KEY (year, commune_code, priority_group)
)"""),
    Table("programme_monthly", "derived", ddl="""
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
    # --- from history
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
    # --- from ingest
    Table("import_log", "operational", ddl="""
CREATE TABLE IF NOT EXISTS import_log (
    import_id INTEGER PRIMARY KEY,
    at_time TIMESTAMP NOT NULL,
    username VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    file_name VARCHAR NOT NULL,         -- a label only: files are read in memory, never stored
    file_hash VARCHAR NOT NULL,         -- SHA-256 of the bytes
    file_bytes BIGINT NOT NULL,
    encoding VARCHAR,
    rows_read INTEGER NOT NULL,
    accepted INTEGER NOT NULL,
    rejected INTEGER NOT NULL,
    already_present INTEGER NOT NULL,
    duplicates_merged INTEGER NOT NULL,
    units_replaced INTEGER NOT NULL,
    outcome VARCHAR NOT NULL CHECK (outcome IN ('ok', 'partial', 'unchanged', 'rejected', 'refused', 'failed')),
    message VARCHAR,
    key_check VARCHAR                   -- registers: fingerprint of the ID-hash key used
)"""),
    # --- from registers
    Table("register_entries", "operational", ddl="""
CREATE TABLE IF NOT EXISTS register_entries (
    person_key VARCHAR NOT NULL,        -- keyed hash of the citizen ID (never the number itself)
    year INTEGER NOT NULL,              -- year of departure: one departure per person and year
    month DATE NOT NULL,
    commune_code VARCHAR NOT NULL,
    market VARCHAR NOT NULL,
    sex VARCHAR NOT NULL,
    channel VARCHAR NOT NULL,
    priority_group VARCHAR NOT NULL,
    reporter VARCHAR NOT NULL,          -- who reported it first (commune or company, else the file name)
    import_id INTEGER NOT NULL,
    PRIMARY KEY (person_key, year)
)"""),
    # --- from facts
    Table("import_changes", "operational", ddl="""
CREATE TABLE IF NOT EXISTS import_changes (
    import_id INTEGER NOT NULL,
    table_name VARCHAR NOT NULL,
    period VARCHAR NOT NULL,            -- YYYY-MM or YYYY
    unit_code VARCHAR NOT NULL,
    detail VARCHAR,                     -- the priority group, for eligible pools
    old_total DOUBLE,                   -- NULL: nothing was stored before
    new_total DOUBLE NOT NULL
)"""),
)
"""THE declaration of every table, in creation order."""

BY_NAME: dict[str, Table] = {t.name: t for t in TABLES}

KEPT_TABLES: dict[str, tuple[str, ...]] = {t.name: t.key for t in TABLES if t.kind != "derived"}
"""What a rebuild (``build --force``) carries over from the old database, because it is not
derived from the input files (losing it would be losing work): table name → key columns (empty:
every old row is copied; else old rows replace the build's defaults by key, so edits survive).
Entered rows of the derived statistics tables (imports, approved quotas) are carried over
separately, by scope (``warehouse.ENTERED_FACTS``)."""

DERIVED_TABLES: frozenset[str] = frozenset(t.name for t in TABLES if t.kind == "derived")
"""Tables rebuilt from the input files and the demo generator."""



def create(con: duckdb.DuckDBPyConnection, name: str, as_name: str | None = None) -> None:
    """Create one declared table (under ``as_name`` when given, for a rebuild) and its indexes."""
    t = BY_NAME[name]
    ddl = t.ddl if as_name is None else t.ddl.replace(f"EXISTS {name} (", f"EXISTS {as_name} (", 1)
    db.execute(con, f"create_{as_name or name}", ddl)
    for index in t.indexes if as_name is None else ():
        db.execute(con, f"index_{name}", index)


def create_all(con: duckdb.DuckDBPyConnection) -> None:
    """Create every table, load the small reference tables, and (re)create the views."""
    for t in TABLES:
        create(con, t.name)
    db.execute(con, "schema_clear_reference", "DELETE FROM markets; DELETE FROM priority_groups; "
                                             "DELETE FROM channels;")
    for table, rows in (("markets", MARKETS), ("priority_groups", PRIORITY_GROUPS), ("channels", CHANNELS)):
        frame = pd.DataFrame(rows, columns=[f"c{i}" for i in range(len(rows[0]))])  # in declared order
        with db.registered(con, "reference_in", frame):
            db.execute(con, f"reference_{table}", f"INSERT INTO {table} SELECT * FROM reference_in")
    db.execute(con, "schema_views", VIEWS)
