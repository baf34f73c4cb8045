"""The data version: a counter bumped by every write that changes what the dashboards show.

Build, import commits, plan approvals and reference edits (markets, licensed companies, public
notices, people in charge) call :func:`bump` inside the same transaction as their write, so the
new version becomes visible exactly when the data does, and a rolled-back write leaves no bump.
:mod:`xkld_geo.cache` keys its shared results by this version (never by time): a result computed
before a write is never served after it. The table ``data_version`` is operational (a rebuild
carries it over, then bumps it), so a version number is never reused for different data.
"""
from __future__ import annotations

import itertools

import duckdb

from xkld_geo import db

REASON_CHARS = 200
_bumps = itertools.count(1)
_last_bump = 0


def bumps() -> int:
    """How many bumps this process has made: a per-run memo of the version
    (:func:`xkld_geo.cache.scope`) checks it again after a write of its own."""
    return _last_bump


def current(con: duckdb.DuckDBPyConnection) -> int:
    """The data version of the database behind ``con`` (0 before the first bump)."""
    df = db.run(con, "data_version", "SELECT COALESCE(max(version), 0) AS v FROM data_version")
    return int(df["v"].iloc[0])


def bump(con: duckdb.DuckDBPyConnection, reason: str) -> None:
    """Record a new data version (the caller holds the write's transaction); ``reason`` says which
    write it was (``build``, ``import:departures``, ``plan_approved:12``...)."""
    db.execute(con, "data_version_bump", """INSERT INTO data_version
        SELECT COALESCE(max(version), 0) + 1, now(), $reason FROM data_version""",
               {"reason": str(reason)[:REASON_CHARS]})
    global _last_bump
    _last_bump = next(_bumps)
