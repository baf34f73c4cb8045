"""The audit log: one append-only line per thing done (who, what, to what, when, detail).

Every module that changes something writes here (accounts, second factors, imports, approvals,
reference edits...). Apart from :mod:`xkld_geo.access.auth` (which hands :func:`audit` on under its old
name) so that what auth itself uses, such as the second factor, can write its lines without
importing auth back.
"""
from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd

from xkld_geo.database import db


def audit(con: duckdb.DuckDBPyConnection, username: str, action: str, target: str | None = None,
          detail: str | None = None, now: dt.datetime | None = None) -> None:
    """Append one line to the audit log (append-only: nothing updates or deletes it)."""
    db.execute(con, "audit", "INSERT INTO audit_log VALUES ($at, $u, $a, $t, $d)",
               {"at": now or dt.datetime.now(), "u": username, "a": action, "t": target,
                "d": (detail or "")[:2000] or None})


def audit_entries(con: duckdb.DuckDBPyConnection, limit: int = 200) -> pd.DataFrame:
    """The newest lines of the audit log."""
    return db.run(con, "audit_entries", """
        SELECT at_time AS "Thời điểm", username AS "Tài khoản", action AS "Việc", target AS "Đối tượng",
               detail AS "Chi tiết" FROM audit_log ORDER BY at_time DESC LIMIT $n""", {"n": int(limit)})
