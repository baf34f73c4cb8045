"""What the reporting cycle adds to the data intake (registered in :mod:`xkld_geo.intake.registry`).

- the approval lock: rows of a commune-month already approved are refused with the reason
  (:func:`xkld_geo.reporting.approval.locked_rows`), for the monthly kinds;
- after an import kept rows, in its transaction: one receipt per commune-month it covers
  (:func:`xkld_geo.reporting.completeness.record_import`), the departure profiles of replaced
  figures dropped (:func:`xkld_geo.reporting.profiles.drop_replaced`), and, for a file of a
  monthly kind, the commune-months counted as submitted (:func:`xkld_geo.reporting.approval.record_import`).
"""
from __future__ import annotations

import duckdb
import pandas as pd

from xkld_geo.intake import registry
from xkld_geo.reporting import approval, completeness, profiles


def _locked(con: duckdb.DuckDBPyConnection, rows: registry.Rows) -> pd.DataFrame:
    return approval.locked_rows(con, rows.period, rows.values["commune_code"], rows.unit_field)


def _receipts(con: duckdb.DuckDBPyConnection, written: registry.Written) -> None:
    completeness.record_import(con, written.kind, written.scopes, written.import_id, written.today)


def _profiles(con: duckdb.DuckDBPyConnection, written: registry.Written) -> None:
    profiles.drop_replaced(con, written.import_id)


def _submitted(con: duckdb.DuckDBPyConnection, written: registry.Written) -> None:
    if written.via == "import" and written.kind in approval.MONTHLY_KINDS:
        approval.record_import(con, written.user, written.kind, written.scopes, written.import_id)


def register_with_intake() -> None:
    """Register the lock check and the hooks after a write (once, from :mod:`xkld_geo.registrations`)."""
    registry.add_check(sorted(approval.MONTHLY_KINDS), _locked)
    registry.add_after_write(_receipts)
    registry.add_after_write(_profiles)
    registry.add_after_write(_submitted)
