"""Every table of the warehouse, declared once, and the views built on them.

Each :class:`Table` says what a rebuild does with it: ``derived`` tables are made anew from the
input files and the demo generator; ``operational`` tables hold work that exists nowhere else
(accounts, audit, plans, imports, registers, notices...) and are carried over whole; ``edited``
reference tables are filled by the build with defaults and carry administrators' edits over by
key. :func:`create_all` makes a new database from these declarations; an older database is
brought to them by the numbered steps of :mod:`xkld_geo.database.schema.migrations`.

The views ``v_attainment`` and ``v_departures_monthly`` are a public contract documented in the
manual (docs/bi.md): BI tools read them directly, so their columns only ever grow. The DDL is plain SQL that
DuckDB runs as it is; a second backend maps the few DuckDB-only types (GEOMETRY) in one place.
"""
from __future__ import annotations

import duckdb
import pandas as pd

from xkld_geo.database import backend
from xkld_geo.database.schema.derived import DERIVED
from xkld_geo.database.schema.notifications import NOTIFICATIONS
from xkld_geo.database.schema.operational import OPERATIONAL
from xkld_geo.database.schema.pipeline import PIPELINE
from xkld_geo.database.schema.protection import PROTECTION
from xkld_geo.database.schema.reference import CHANNELS, MARKETS, PRIORITY_GROUPS
from xkld_geo.database.schema.table import Table
from xkld_geo.database.schema.views import VIEWS

SCHEMA_VERSION = "11"
"""Version of the derived content (part of the build fingerprint); the tables' shape is tracked
by the migrations instead."""

TABLES: tuple[Table, ...] = (tuple(t for t in OPERATIONAL if t.kind == "edited") + DERIVED
                             + tuple(t for t in OPERATIONAL if t.kind != "edited") + PIPELINE + PROTECTION
                             + NOTIFICATIONS)
"""THE declaration of every table, in creation order (reference tables first: statistics refer to them)."""

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
    backend.execute(con, f"create_{as_name or name}", ddl)
    for index in t.indexes if as_name is None else ():
        backend.execute(con, f"index_{name}", index)


def create_all(con: duckdb.DuckDBPyConnection) -> None:
    """Create every table, load the small reference tables, and (re)create the views."""
    for t in TABLES:
        create(con, t.name)
    backend.execute(con, "schema_clear_reference", "DELETE FROM markets; DELETE FROM priority_groups; "
                                             "DELETE FROM channels;")
    for table, rows in (("markets", MARKETS), ("priority_groups", PRIORITY_GROUPS), ("channels", CHANNELS)):
        frame = pd.DataFrame(rows, columns=[f"c{i}" for i in range(len(rows[0]))])  # in declared order
        with backend.registered(con, "reference_in", frame):
            backend.execute(con, f"reference_{table}", f"INSERT INTO {table} SELECT * FROM reference_in")
    backend.execute(con, "schema_views", VIEWS)
