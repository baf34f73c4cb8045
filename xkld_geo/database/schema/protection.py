"""Operational tables of citizen protection (issue #18 part B): the register of cases of workers in
trouble, the families' clubs, the returnees, and the priority groups a registered worker belongs to.

They hold work that exists nowhere else, so a rebuild carries them over whole; their demo rows
(``is_demo``) are made anew by :mod:`xkld_geo.warehouse.demo_protection` after the carry-over. No table
holds a personal name: a case is known by its reference, a worker by the keyed hash of the register.
The free-text ``note`` of a case is internal: no public screen, release or open-data file reads it.
"""
from __future__ import annotations

from xkld_geo.database.schema.table import Table

CASE_KINDS = ("fraud", "contract_breach", "illegal_stay", "in_difficulty", "labour_dispute", "death_accident")
CASE_STATUSES = ("received", "verifying", "handling", "closed")


def _in(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


PROTECTION: tuple[Table, ...] = (
    Table("cases", "operational", ddl=f"""
CREATE TABLE IF NOT EXISTS cases (
    case_ref VARCHAR PRIMARY KEY,       -- the case's reference (from the report, or VV-YYYY-NNNNN)
    kind VARCHAR NOT NULL CHECK (kind IN ({_in(CASE_KINDS)})),
    opened_on DATE NOT NULL,            -- the day the case was received
    commune_code VARCHAR NOT NULL,      -- the worker's home commune (2025 code)
    market VARCHAR NOT NULL,            -- the country where it happened
    licence_no VARCHAR,                 -- the sending company (licensed_companies), if any
    status VARCHAR NOT NULL CHECK (status IN ({_in(CASE_STATUSES)})),
    status_on DATE NOT NULL,            -- the day of the last change of status
    closed_on DATE,                     -- set when closed: ageing stops there
    agency VARCHAR,                     -- the agency handling it (Sở Nội vụ, Công an tỉnh, ĐSQ...)
    outcome VARCHAR,                    -- what came of it (required to close)
    note VARCHAR,                       -- INTERNAL free text: never public, never released
    import_id INTEGER,                  -- the import that recorded it (NULL: entered or demo)
    updated_at TIMESTAMP NOT NULL,
    updated_by VARCHAR NOT NULL,
    is_demo BOOLEAN NOT NULL
)""", indexes=("CREATE INDEX IF NOT EXISTS cases_commune ON cases (commune_code)",)),
    Table("family_clubs", "operational", ddl="""
CREATE TABLE IF NOT EXISTS family_clubs (
    year INTEGER NOT NULL,
    commune_code VARCHAR NOT NULL,
    clubs INTEGER NOT NULL CHECK (clubs >= 0),        -- clubs of families with children abroad
    members INTEGER NOT NULL CHECK (members >= 0),    -- member families
    meetings INTEGER NOT NULL CHECK (meetings >= 0),  -- meetings held in the year so far
    import_id INTEGER,
    is_demo BOOLEAN NOT NULL,
    PRIMARY KEY (year, commune_code)
)"""),
    Table("returnees", "operational", ddl="""
CREATE TABLE IF NOT EXISTS returnees (
    month DATE NOT NULL,                -- month of return
    commune_code VARCHAR NOT NULL,
    market VARCHAR NOT NULL,            -- where they worked
    occupation VARCHAR NOT NULL,        -- the occupation they return to (or 'chua_xac_dinh')
    returned INTEGER NOT NULL CHECK (returned >= 0),
    found_work INTEGER NOT NULL CHECK (found_work >= 0),   -- of them, those who found work at home
    import_id INTEGER,
    is_demo BOOLEAN NOT NULL,
    PRIMARY KEY (month, commune_code, market, occupation)
)"""),
    Table("worker_groups", "operational", ddl="""
CREATE TABLE IF NOT EXISTS worker_groups (
    person_key VARCHAR NOT NULL,        -- register_entries.person_key (keyed hash, never the ID)
    year INTEGER NOT NULL,              -- register_entries.year
    priority_group VARCHAR NOT NULL,    -- one row per group the worker belongs to (several allowed)
    PRIMARY KEY (person_key, year, priority_group)
)"""),
)
"""The protection tables, appended to :data:`xkld_geo.database.schema.tables.TABLES`."""
