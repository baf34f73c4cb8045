"""The data version: a counter bumped by every write that changes what the dashboards show.

Build, import commits, plan approvals and reference edits (markets, licensed companies, public
notices, people in charge) call :func:`bump` inside the same transaction as their write, so the
new version becomes visible exactly when the data does, and a rolled-back write leaves no bump.
:mod:`xkld_geo.database.cache` keys its shared results by this version (never by time): a result computed
before a write is never served after it. The table ``data_version`` is operational (a rebuild
carries it over, then bumps it), so a version number is never reused for different data.

With the shared store (:mod:`xkld_geo.database.store`) the same table lives in PostgreSQL and both caches
(:mod:`xkld_geo.database.cache` and :func:`xkld_geo.database.store.cached`) read this one counter. Several replicas
then bump at once, each in a REPEATABLE READ transaction (the postgres extension's), where
``max + 1`` would give two of them the same number and fail one write on the primary key. There
a bump takes a transaction-level advisory lock (:data:`LOCK`, released by the commit) and its
number from the sequence :data:`SEQUENCE`: no two bumps collide, and numbers follow the commits,
so ``max(version)`` moves whenever one commits (a number taken without the lock could commit
after a larger one and go unseen). Bump last in the transaction: the lock is held from the bump
to the commit, so other writes after it would lengthen the wait of every other replica's bump.
"""
from __future__ import annotations

import itertools
import threading
import time

import duckdb

from xkld_geo.database import backend
from xkld_geo.settings import Settings

REASON_CHARS = 200
_bumps = itertools.count(1)
_last_bump = 0


def bumps() -> int:
    """How many bumps this process has made: a per-run memo of the version
    (:func:`xkld_geo.database.cache.scope`) checks it again after a write of its own."""
    return _last_bump

SEQUENCE = "data_version_seq"
"""The shared store's source of version numbers (made by :data:`STORE_DDL`)."""

LOCK = "xkld_geo:data_version"
"""The advisory lock a bump holds until its transaction ends, in the shared store."""

STORE_SYNC = f"""SELECT setval('{SEQUENCE}', d.m) FROM (SELECT max(version) AS m FROM data_version) AS d
WHERE d.m > (SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM {SEQUENCE})"""
"""PostgreSQL: the sequence moved past every version stored (after a seed or a re-seed wrote
versions of their own)."""

STORE_DDL = f"CREATE SEQUENCE IF NOT EXISTS {SEQUENCE} AS integer;\n{STORE_SYNC}"
"""PostgreSQL: the sequence, made and moved past the stored versions (a seeded or older store);
run by :func:`xkld_geo.database.store.ensure_schema` under its lock, after the tables exist."""

_STORE_LOCK = f"SELECT pg_advisory_xact_lock(hashtext('{LOCK}'))"
_STORE_NEXT = f"SELECT nextval('{SEQUENCE}')::integer AS v"


def current(con: duckdb.DuckDBPyConnection) -> int:
    """The data version of the database behind ``con`` (0 before the first bump)."""
    return int(backend.value(con, "data_version", "SELECT COALESCE(max(version), 0) AS v FROM data_version"))


def current_keyed(con: duckdb.DuckDBPyConnection) -> int:
    """:func:`current` as a keyed lookup (:func:`xkld_geo.database.backend.keyed`): on the shared store, one
    statement straight to PostgreSQL (the primary key's last entry) instead of a scan through the
    postgres extension, which opens several transactions per query."""
    found = backend.keyed(con, "data_version_keyed", "SELECT COALESCE(max(version), 0) AS v FROM data_version", {})
    return int(found[0]) if found else 0


def bump(con: duckdb.DuckDBPyConnection, reason: str) -> None:
    """Record a new data version (the caller holds the write's transaction); ``reason`` says which
    write it was (``build``, ``import:departures``, ``plan_approved:12``...)."""
    reason = str(reason)[:REASON_CHARS]
    if not backend.attached(con):
        backend.execute(con, "data_version_bump", """INSERT INTO data_version
            SELECT COALESCE(max(version), 0) + 1, now(), $reason FROM data_version""", {"reason": reason})
        _counted()
        return
    # the statements are constants of this module (postgres_execute/postgres_query bind no parameters);
    # both run on the transaction's own PostgreSQL connection, so the lock ends with its commit
    backend.execute(con, "data_version_lock", f"CALL postgres_execute('pg', {backend.quote_literal(_STORE_LOCK)})")
    version = int(backend.run(con, "data_version_next",
                         f"SELECT v FROM postgres_query('pg', {backend.quote_literal(_STORE_NEXT)})")["v"].iloc[0])
    backend.execute(con, "data_version_bump_store", "INSERT INTO data_version VALUES ($v, now(), $reason)",
               {"v": version, "reason": reason})
    forget_seen()   # this replica's next look at the version asks again
    _counted()


def _counted() -> None:
    global _last_bump
    _last_bump = next(_bumps)


SEEN_EVERY_S = 0.5
"""A replica asks the store for the data version at most this often (and at once after a write of
its own), so it sees another replica's write within one second (half a second, plus the query)."""

_seen_lock = threading.Lock()
_seen: dict[str, tuple[float, int]] = {}
_generation = [0]   # moved by forget_seen: a version read before it is not kept


def seen(settings: Settings, con: duckdb.DuckDBPyConnection) -> int:
    """The shared store's data version as this replica sees it: :func:`current` (or
    :func:`current_keyed`), the counter in PostgreSQL that every write changing the figures bumps in
    its own transaction (imports, approvals, reference edits, cases; logins and sessions do not),
    which both :mod:`xkld_geo.database.cache` and :func:`xkld_geo.database.store.cached` read. Asked at most every
    :data:`SEEN_EVERY_S` seconds per store; a store that is down raises its DatabaseError (from
    :func:`xkld_geo.database.backend.run`, which retries a lost connection once)."""
    url = settings.database_url
    now = time.monotonic()
    with _seen_lock:
        found = _seen.get(url)
        if found and now - found[0] < SEEN_EVERY_S:
            return found[1]
        generation = _generation[0]
    # outside the lock: a slow store holds up no kept answer
    version = current(con) if settings.store_reads == "scan" else current_keyed(con)
    with _seen_lock:
        if generation == _generation[0]:
            _seen[url] = (now, version)
    return version


def forget_seen() -> None:
    """Ask the store again at the next look (this process just bumped the version)."""
    with _seen_lock:
        _seen.clear()
        _generation[0] += 1
