"""Year-end emulation classification (thi đua): weighted criteria, a score, a level per unit."""
from __future__ import annotations

import duckdb

from xkld_geo import db

DDL = """
CREATE TABLE IF NOT EXISTS classification_criteria (
    at_time TIMESTAMP NOT NULL,
    username VARCHAR NOT NULL,
    criteria VARCHAR NOT NULL           -- JSON: weights and level thresholds in force from at_time
);
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
);
"""


def create_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create the criteria log and the frozen classifications if missing."""
    db.execute(con, "emulation_tables", DDL)
