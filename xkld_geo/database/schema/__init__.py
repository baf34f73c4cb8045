"""The schema, declared once (:mod:`.tables`, :mod:`.views`, :mod:`.reference`) and moved forward
only by numbered migrations (:mod:`.migrations`)."""
from __future__ import annotations

from xkld_geo.database.schema.migrations import LATEST, MIGRATIONS, Migration, applied, mark_current, migrate
from xkld_geo.database.schema.reference import CHANNELS, MARKETS, PRIORITY_GROUPS
from xkld_geo.database.schema.tables import (
           BY_NAME,
           DERIVED_TABLES,
           KEPT_TABLES,
           SCHEMA_VERSION,
           TABLES,
           Table,
           create,
           create_all,
)
from xkld_geo.database.schema.views import VIEWS

__all__ = ["BY_NAME", "CHANNELS", "DERIVED_TABLES", "KEPT_TABLES", "LATEST", "MARKETS", "MIGRATIONS",
           "Migration", "PRIORITY_GROUPS", "SCHEMA_VERSION", "TABLES", "Table", "VIEWS", "applied",
           "create", "create_all", "mark_current", "migrate"]
