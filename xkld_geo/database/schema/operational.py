"""Operational tables: work that exists nowhere else (accounts, the audit trail, plans, imports and
their log, registers, notices, the reporting cycle...), carried over whole by a rebuild; and
``edited`` reference tables, which the build fills with defaults and whose administrators' edits
are carried over by key."""
from __future__ import annotations

from xkld_geo.database.schema.table import Table

OPERATIONAL: tuple[Table, ...] = (
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
    Table("users", "operational", ddl="""
CREATE TABLE IF NOT EXISTS users (
    username VARCHAR PRIMARY KEY,
    display_name VARCHAR NOT NULL,
    role VARCHAR NOT NULL,
    password_hash VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL,
    disabled BOOLEAN NOT NULL DEFAULT FALSE,
    unit_code VARCHAR DEFAULT 'VN',             -- scope: VN, a province (2 digits) or a commune (5 digits)
    company_licence VARCHAR,                    -- a company account: its licence number (xkld_geo.access.scope)
    must_change_password BOOLEAN DEFAULT FALSE  -- a one-time password: changed at the first login
)"""),
    Table("sessions", "operational", ddl="""
CREATE TABLE IF NOT EXISTS sessions (
    token_hash VARCHAR PRIMARY KEY,     -- SHA-256 of the token: a leaked table opens no session
    username VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
)"""),
    Table("second_factors", "operational", ddl="""
CREATE TABLE IF NOT EXISTS second_factors (
    username VARCHAR PRIMARY KEY,
    secret VARCHAR NOT NULL,            -- base32 TOTP secret (RFC 6238), shown once to its owner
    created_at TIMESTAMP NOT NULL,
    confirmed_at TIMESTAMP,             -- NULL until a code from the owner's app was accepted once
    last_step BIGINT                    -- the newest 30-second step accepted: a code works once
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
    Table("people_in_charge", "operational", ddl="""
CREATE TABLE IF NOT EXISTS people_in_charge (
    unit_level VARCHAR NOT NULL CHECK (unit_level IN ('province', 'commune')),
    unit_code VARCHAR NOT NULL,
    role VARCHAR NOT NULL,              -- pho_chu_tich | ban_chi_dao | can_bo
    seq INTEGER NOT NULL,               -- order within the unit
    full_name VARCHAR NOT NULL,
    position VARCHAR,                   -- position, or the role in the steering committee
    phone VARCHAR,
    updated_at TIMESTAMP NOT NULL,
    updated_by VARCHAR NOT NULL,
    is_demo BOOLEAN NOT NULL,
    email VARCHAR,                      -- notifications (reminders, digests, reports); demo: @minhhoa.example
    PRIMARY KEY (unit_level, unit_code, role, seq)
)"""),
    Table("classification_criteria", "operational", ddl="""
CREATE TABLE IF NOT EXISTS classification_criteria (
    at_time TIMESTAMP NOT NULL,
    username VARCHAR NOT NULL,
    criteria VARCHAR NOT NULL           -- JSON: weights and level thresholds in force from at_time
)"""),
    Table("classifications", "operational", ddl="""
CREATE TABLE IF NOT EXISTS classifications (
    year INTEGER NOT NULL,
    province_code VARCHAR NOT NULL,
    unit_code VARCHAR NOT NULL,
    unit_name VARCHAR NOT NULL,
    score DOUBLE NOT NULL,
    level VARCHAR NOT NULL,
    breakdown VARCHAR NOT NULL,         -- JSON: criterion -> value, points
    explanation VARCHAR NOT NULL,
    criteria VARCHAR NOT NULL,          -- JSON of the criteria used
    approved_at TIMESTAMP NOT NULL,
    approved_by VARCHAR NOT NULL,
    PRIMARY KEY (year, province_code, unit_code)
)"""),
    Table("report_receipts", "operational", ddl="""
CREATE TABLE IF NOT EXISTS report_receipts (
    kind VARCHAR NOT NULL,              -- departures | job_fairs | loans
    month DATE NOT NULL,                -- first day of the month the report covers
    commune_code VARCHAR NOT NULL,
    received_on DATE NOT NULL,          -- the day it was received (an import: its day)
    received_at TIMESTAMP NOT NULL,
    import_id INTEGER,                  -- NULL for the demo history
    changed BOOLEAN NOT NULL,           -- whether it changed the figures stored before
    is_demo BOOLEAN NOT NULL
)"""),
    Table("commune_months", "operational", ddl="""
CREATE TABLE IF NOT EXISTS commune_months (
    month DATE NOT NULL,                -- first day of the month reported
    commune_code VARCHAR NOT NULL,
    state VARCHAR NOT NULL CHECK (state IN ('draft', 'submitted', 'approved', 'returned')),
    source VARCHAR NOT NULL CHECK (source IN ('form', 'import')),
    form VARCHAR,                       -- JSON: the monthly form's figures (draft or submitted)
    warnings VARCHAR,                   -- JSON: soft-rule warnings when submitted (xkld_geo.reporting.rules)
    officer_comment VARCHAR,            -- the commune's confirming comment on those warnings
    review_comment VARCHAR,             -- the reviewer's comment (returned, un-approved)
    updated_at TIMESTAMP NOT NULL,
    updated_by VARCHAR NOT NULL,
    approved_at TIMESTAMP,
    approved_by VARCHAR,
    PRIMARY KEY (month, commune_code)
)"""),
    Table("approval_events", "operational", ddl="""
CREATE TABLE IF NOT EXISTS approval_events (
    event_id INTEGER PRIMARY KEY,       -- max + 1: the order of the steps (notices are sent from here)
    at_time TIMESTAMP NOT NULL,
    username VARCHAR NOT NULL,
    action VARCHAR NOT NULL,            -- draft | submit | import | approve | return | unapprove
    month DATE NOT NULL,
    unit_code VARCHAR NOT NULL,         -- a commune (or a province for a province-wide approval)
    from_state VARCHAR,
    to_state VARCHAR NOT NULL,
    comment VARCHAR
)"""),
    Table("data_version", "operational", ddl="""
CREATE TABLE IF NOT EXISTS data_version (
    version INTEGER PRIMARY KEY,        -- max + 1, bumped in the transaction of the write (xkld_geo.database.dataversion)
    at_time TIMESTAMP NOT NULL,
    reason VARCHAR NOT NULL             -- build, import:<kind>, plan_approved:<id>, reference:<table>...
)"""),
)
