"""The shared store: PostgreSQL behind several app replicas, reached through DuckDB.

With ``XKLD_DATABASE_URL`` unset (the default) nothing here is used: every table lives in the
embedded DuckDB file. With ``XKLD_DATABASE_URL=postgresql://…`` each replica opens an in-memory
DuckDB (still the one query engine and SQL dialect) with two attached catalogs:

- ``ref``: this replica's local DuckDB file (``db_path``), read-only, built from the data files by
  ``python -m xkld_geo build`` (boundaries, shapes, crosswalk...), identical on every machine;
- ``pg``: PostgreSQL, through DuckDB's ``postgres`` extension (the ``duckdb-extension-postgres``
  wheel, loaded by file path like spatial), holding every table that is written (:func:`shared_tables`).

Each cursor's ``search_path`` is ``memory.main, pg.public, ref.main``, so the project's unqualified
table names resolve to PostgreSQL first and the views (made in ``memory``) read the shared rows.
Every DuckDB transaction of the app writes to ``pg`` only (temporary tables aside), as DuckDB
requires. psycopg does what the extension cannot: the schema's DDL with PostgreSQL's own
constraints and advisory locks (:func:`exclusive`).
"""
from __future__ import annotations

import logging
import re
import threading
import time
from collections import OrderedDict
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

import duckdb
import pandas as pd

from xkld_geo.database import backend, dataversion, extensions
from xkld_geo.database.backend import Database, attached
from xkld_geo.database.schema import migrations, tables
from xkld_geo.database.schema.table import Table
from xkld_geo.database.schema.views import VIEWS
from xkld_geo.errors import DatabaseError
from xkld_geo.settings import Settings

log = logging.getLogger("xkld_geo.database.store")

SEARCH_PATH = "memory.main,pg.public,ref.main"
"""Name resolution of every cursor: the views, then the shared tables, then the local reference data."""

SCHEMA_LOCK = "xkld_geo:schema"
"""Advisory lock under which the first replica to start creates the schema and runs migrations."""

DOWN = ("Không kết nối được cơ sở dữ liệu dùng chung PostgreSQL ({where}). Dữ liệu chưa được hiển thị "
        "để tránh nhầm số liệu cũ là số liệu hiện hành; thao tác vừa rồi không được ghi. Hãy thử lại sau "
        "ít phút hoặc báo cho quản trị hệ thống.")
"""The refusal shown (once, by st.error) while PostgreSQL cannot be reached."""

_LOST = ("server closed the connection", "connection refused", "could not connect", "no connection to the server",
         "terminating connection", "connection to server", "connection is bad", "ssl connection has been closed",
         "the database system is shutting down", "the database system is starting up", "broken pipe",
         "connection has been closed", "failed to get connection")
"""Fragments of libpq's messages that mean the connection to PostgreSQL is gone (not a bad statement)."""


def enabled(settings: Settings) -> bool:
    """Whether ``settings`` put the written tables in PostgreSQL."""
    return bool(settings.database_url)


def where(settings: Settings) -> str:
    """Host and port of the store, for messages (never the password)."""
    from psycopg.conninfo import conninfo_to_dict

    try:
        info = conninfo_to_dict(settings.database_url)
    except Exception:  # a malformed URL: name nothing
        return "?"
    return f"{info.get('host', 'localhost')}:{info.get('port', 5432)}/{info.get('dbname', '')}"


def lost(exc: BaseException) -> bool:
    """Whether ``exc`` says the connection to PostgreSQL was lost or refused (retry on a new one)."""
    text = str(exc).lower()
    return any(fragment in text for fragment in _LOST)


def down_error(settings: Settings, exc: BaseException | None = None) -> DatabaseError:
    """The Vietnamese refusal for a store that cannot be reached."""
    return DatabaseError(DOWN.format(where=where(settings)), reason="store_down", store=where(settings),
                         detail=str(exc)[:300] if exc else None)


def shared_tables() -> tuple[Table, ...]:
    """The tables that live in PostgreSQL, from the schema registry (never a hand list): every
    ``operational`` and ``edited`` table, and the ``derived`` tables declared ``written`` (imports
    and approvals write entered figures into them: the targets of ``intake.writes.TARGETS`` and
    the departure profiles)."""
    return tuple(t for t in tables.TABLES if t.kind != "derived" or t.written)


def postgres_ddl(ddl: str) -> str:
    """One declaration's DuckDB DDL as PostgreSQL DDL: the few DuckDB-only spellings mapped in
    this one place (DOUBLE, GEOMETRY, BLOB); references to tables kept local are dropped."""
    ddl = re.sub(r"\s+REFERENCES\s+\w+\s*\([^)]*\)", "", ddl)
    ddl = re.sub(r"\bDOUBLE\b(?!\s+PRECISION)", "DOUBLE PRECISION", ddl)
    return re.sub(r"\b(GEOMETRY|BLOB)\b", "BYTEA", ddl)


@contextmanager
def _pg(settings: Settings) -> Iterator["psycopg.Connection"]:  # type: ignore[name-defined]  # noqa: F821
    """A short-lived psycopg connection in autocommit mode (locks, DDL, health checks)."""
    import psycopg

    try:
        pc = psycopg.connect(settings.database_url, autocommit=True, connect_timeout=5,
                             application_name="xkld_geo")
    except psycopg.OperationalError as exc:
        raise down_error(settings, exc) from exc
    try:
        yield pc
    finally:
        pc.close()


KEYED_IDLE = 8
"""Idle psycopg connections a replica keeps for keyed lookups (:func:`keyed_row`)."""

_keyed_lock = threading.Lock()
_keyed_idle: dict[str, list[Any]] = {}
_PARAM = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")


def keyed_sql(sql: str) -> str:
    """A statement written for :func:`xkld_geo.database.db.run` (``$name`` parameters) in psycopg's
    spelling (``%(name)s``); a literal ``%`` doubled."""
    return _PARAM.sub(r"%(\1)s", sql.replace("%", "%%"))


def keyed_row(settings: Settings, sql: str, params: dict[str, Any]) -> tuple[Any, ...] | None:
    """The first row of a lookup by key, asked of PostgreSQL directly: one statement in one
    (autocommit) transaction on a kept connection, answered from the table's index. The postgres
    extension would open several transactions per query and read a joined table whole, on every
    page run. A connection that was lost is replaced once; a store that is down raises its
    DatabaseError, as :func:`open_shared` does."""
    import psycopg

    url = settings.database_url
    for attempt in (1, 2):
        with _keyed_lock:
            idle = _keyed_idle.setdefault(url, [])
            pc = idle.pop() if idle else None
        try:
            if pc is None:
                # key lookups only: the index, even where a small table's statistics would make the
                # planner read its every row (which grows with the table and is what this path avoids)
                pc = psycopg.connect(url, autocommit=True, connect_timeout=5, application_name="xkld_geo:keyed",
                                     options="-c enable_seqscan=off")
            found = pc.execute(keyed_sql(sql), params).fetchone()
        except psycopg.OperationalError as exc:
            if pc is not None:
                pc.close()
            if attempt == 2:
                raise down_error(settings, exc) from exc
            continue
        with _keyed_lock:
            if len(_keyed_idle[url]) < KEYED_IDLE:
                _keyed_idle[url].append(pc)
                pc = None
        if pc is not None:
            pc.close()
        return None if found is None else tuple(found)
    return None   # pragma: no cover - the loop returns or raises


def close_keyed() -> None:
    """Close the kept keyed-lookup connections (tests; a store replaced behind the process's back)."""
    with _keyed_lock:
        kept = [pc for idle in _keyed_idle.values() for pc in idle]
        _keyed_idle.clear()
    for pc in kept:
        pc.close()


@contextmanager
def exclusive(settings: Settings, name: str) -> Iterator[None]:
    """Hold the cluster-wide advisory lock ``name`` for the block (every replica waits for it);
    with the embedded backend, nothing to do (one process writes, DuckDB orders its sessions).

    Taken *before* the block's transaction starts, so that transaction's snapshot already sees
    what the previous holder committed: two imports of one file count it once, two approvals of
    one plan find it already approved."""
    if not enabled(settings):
        yield
        return
    with _pg(settings) as pc:
        pc.execute("SELECT pg_advisory_lock(hashtext(%s))", (name,))
        try:
            yield
        finally:
            try:
                pc.execute("SELECT pg_advisory_unlock(hashtext(%s))", (name,))
            except Exception:  # the connection died: PostgreSQL released the lock with it
                pass


def pg_rows(settings: Settings, name: str, sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    """Run one named statement on PostgreSQL itself (psycopg, autocommit) and return its rows: for
    what DuckDB's extension cannot say, such as a claim with ``FOR UPDATE SKIP LOCKED``
    (:mod:`xkld_geo.notifications.outbox`). ``$name`` placeholders as in :func:`xkld_geo.database.db.run`
    (bound by psycopg, never pasted in); logged by name likewise."""
    start = time.perf_counter()
    with _pg(settings) as pc:
        try:
            rows = pc.execute(re.sub(r"\$(\w+)", r"%(\1)s", sql), params).fetchall()
        except Exception as exc:
            if lost(exc):
                raise down_error(settings, exc) from exc
            raise
    log.debug("pg statement %s took %.1f ms", name, (time.perf_counter() - start) * 1000)
    return [tuple(r) for r in rows]


def prepare(cur: duckdb.DuckDBPyConnection, settings: Settings) -> duckdb.DuckDBPyConnection:
    """Set a new cursor's name resolution (a per-cursor setting in DuckDB; setting it asks
    PostgreSQL for the schema, so a store that is down is refused here, in Vietnamese)."""
    try:
        cur.execute(f"SET search_path = '{SEARCH_PATH}'")
    except duckdb.Error as exc:
        cur.close()
        if lost(exc):
            raise down_error(settings, exc) from exc
        raise
    return cur


def open_shared(settings: Settings, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with the local reference file and PostgreSQL attached, the schema
    made or migrated (once, under :data:`SCHEMA_LOCK`) and the views created over both."""
    local = Path(settings.db_path)
    if not local.exists():
        raise DatabaseError(f"Chưa có dữ liệu tham chiếu {local} trên máy này. Hãy chạy: python -m xkld_geo build",
                            path=str(local))
    con = backend.open_connection(":memory:")
    try:
        backend.execute(con, "store_load_postgres", f"LOAD {backend.quote_literal(str(extensions.postgres_path()))}")
        backend.execute(con, "store_attach_ref", f"ATTACH {backend.quote_literal(str(local))} AS ref (READ_ONLY)")
        if settings.store_reads == "keyed":
            # no "SELECT 1" before and after every query on a pooled connection (two of the four
            # transactions each query cost): a connection found dead fails its statement, and
            # db.run reconnects and asks again once (:func:`xkld_geo.database.db.forget_invalidated`)
            backend.execute(con, "store_pool_no_health_check", "SET pg_pool_health_check_query = ''")
        try:
            backend.execute(con, "store_attach_pg", f"ATTACH {backend.quote_literal(settings.database_url)} AS pg (TYPE postgres"
                       + (", READ_ONLY)" if read_only else ")"))
        except duckdb.Error as exc:
            raise down_error(settings, exc) from exc
        if not read_only:
            ensure_schema(con, settings)
        prepare(con, settings)
        backend.execute(con, "store_views", VIEWS)   # in memory.main: they read pg first, then ref
    except BaseException:
        con.close()
        raise
    return con


def _pg_columns(pc: "psycopg.Connection", table: str) -> list[str]:  # type: ignore[name-defined]  # noqa: F821
    rows = pc.execute("SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' "
                      "AND table_name = %s ORDER BY ordinal_position", (table,)).fetchall()
    return [r[0] for r in rows]


def ensure_schema(con: duckdb.DuckDBPyConnection, settings: Settings) -> list[int]:
    """Create the shared tables missing in PostgreSQL from their declarations, then: on a new
    store, copy the rows this replica's build made for them (defaults, demo figures) and record
    every migration as built; on an existing one, run the steps it has not had. All under one
    advisory lock, so of replicas starting together the first does it and the others find it done.
    Returns the numbers of the steps that ran."""
    with _pg(settings) as pc:
        pc.execute("SELECT pg_advisory_lock(hashtext(%s))", (SCHEMA_LOCK,))
        try:
            pc.execute(postgres_ddl(migrations.DDL))
            for t in shared_tables():
                pc.execute(postgres_ddl(t.ddl))
                for index in t.indexes:
                    pc.execute(postgres_ddl(index))
            backend.execute(con, "store_clear_cache", "CALL pg_clear_cache()")   # the extension caches the catalog
            backend.execute(con, "store_search_pg", "SET search_path = 'pg.public'")  # unqualified names mean PostgreSQL
            try:
                ran = _seed_or_migrate(con, settings)
            finally:
                backend.execute(con, "store_clear_cache", "CALL pg_clear_cache()")
                backend.execute(con, "store_search_path", f"SET search_path = '{SEARCH_PATH}'")
            pc.execute(dataversion.STORE_DDL)   # after the seed: numbers go on from the versions stored
            return ran
        finally:
            try:
                pc.execute("SELECT pg_advisory_unlock(hashtext(%s))", (SCHEMA_LOCK,))
            except Exception:  # pragma: no cover - connection gone: the lock went with it
                pass


def _seed_or_migrate(con: duckdb.DuckDBPyConnection, settings: Settings) -> list[int]:
    """On a new store (no migration recorded): copy this replica's built rows of the shared tables
    and record every migration as built. Else run the steps the store has not had. (The caller
    holds :data:`SCHEMA_LOCK`, with unqualified names meaning PostgreSQL.)"""
    done = migrations.applied(con)
    migrations.check_not_newer(done)
    if not done:
        with backend.transaction(con):
            for t in shared_tables():
                q = backend.quote_identifier(t.name)
                backend.execute(con, f"store_seed_{t.name}", f"INSERT INTO pg.public.{q} BY NAME SELECT * FROM ref.main.{q}")
            for m in migrations.MIGRATIONS:
                migrations.record(con, m, "built")
        log.warning("shared store %s created from the declarations and seeded", where(settings))
        return []
    ran = []
    for m in migrations.MIGRATIONS:
        if m.number in done:
            continue
        with backend.transaction(con):
            m.apply(con)
            migrations.record(con, m, "ran")
        ran.append(m.number)
    if ran:
        log.warning("shared store %s upgraded: migrations %s", where(settings), ran)
    return ran


CACHED_QUERIES = frozenset({"attainment", "national_totals", "period_attainment_commune",
                            "period_attainment_province", "monthly_departures",
                            "monthly_departures_by_province", "period_attainment_commune_approved",
                            "period_attainment_province_approved", "monthly_departures_approved",
                            "monthly_departures_by_province_approved"})
"""The national analytic queries (names given to :func:`xkld_geo.database.db.run`) whose results a replica
keeps while the store's data version does not change: through the extension they cost several
times the embedded ones (see docs/benchmarks.md), and every page run asks for them again."""

CACHE_ENTRIES = 256

_cache_lock = threading.Lock()
_results: "OrderedDict[tuple[str, str, str, int], pd.DataFrame]" = OrderedDict()

VERSION_EVERY_S = dataversion.SEEN_EVERY_S
data_version = dataversion.seen
forget_version = dataversion.forget_seen
"""The store's data version as a replica sees it, kept in :mod:`xkld_geo.database.dataversion` (named here too)."""


def cached(settings: Settings, con: duckdb.DuckDBPyConnection, name: str, sql: str, params: Any,
           compute: Callable[[], pd.DataFrame]) -> pd.DataFrame:
    """The result of query ``name`` for ``params`` at the current data version (read on ``con``):
    kept from an earlier run of this replica while nothing was written, else ``compute()`` (a copy
    is returned, so a caller changing its frame changes nothing kept)."""
    version = dataversion.seen(settings, con)
    key = (settings.database_url, name, sql + repr(sorted(dict(params or {}).items())), version)
    with _cache_lock:
        found = _results.get(key)
        if found is not None:
            _results.move_to_end(key)
            return found.copy()
    out = compute()
    with _cache_lock:
        _results[key] = out.copy()
        while len(_results) > CACHE_ENTRIES:
            _results.popitem(last=False)
    return out


class SharedDatabase(Database):
    """The shared store as a :class:`xkld_geo.database.backend.Database`: an in-memory DuckDB with the
    local reference file and PostgreSQL attached (:func:`open_shared`), each cursor's name
    resolution set (:func:`prepare`), a lost PostgreSQL told apart from a bad statement
    (:func:`lost`), the national analytic queries kept by data version (:func:`cached`) and the
    lookups by key asked of PostgreSQL directly (:func:`keyed_row`)."""

    shared = True

    def open(self) -> duckdb.DuckDBPyConnection:
        return open_shared(self.settings, read_only=self.read_only)

    def prepare(self, cur: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
        return prepare(cur, self.settings)

    def lost(self, exc: BaseException) -> bool:
        return lost(exc)

    def down_error(self, exc: BaseException | None = None) -> DatabaseError:
        return down_error(self.settings, exc)

    def cached(self, con: duckdb.DuckDBPyConnection, name: str, sql: str, params: Any,
               compute: Callable[[], pd.DataFrame]) -> pd.DataFrame:
        if name not in CACHED_QUERIES:
            return compute()
        return cached(self.settings, con, name, sql, params, compute)

    def keyed_row(self, sql: str, params: dict[str, Any]) -> tuple[Any, ...] | None:
        return keyed_row(self.settings, sql, params)


__all__ = ["CACHED_QUERIES", "SharedDatabase", "attached", "cached", "close_keyed", "data_version", "down_error",
           "enabled", "ensure_schema", "exclusive", "forget_version", "keyed_row", "lost", "open_shared", "pg_rows",
           "postgres_ddl", "prepare", "shared_tables", "where"]
