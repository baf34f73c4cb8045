"""The single way into DuckDB: connections, the spatial extension, timeouts and query logging.

Every query of the project goes through :func:`run` (or :func:`execute` for statements without a
result), so a slow query is logged and a runaway one is interrupted in one place. The same place
notices when DuckDB has invalidated the database after a fatal error (a checkpoint that failed on a
full disk): the process-wide connection is then closed and opened again, so one failed write does
not leave every other session with a traceback until the app is restarted.

With ``XKLD_DATABASE_URL`` set, the shared connection is :func:`xkld_geo.store.open_shared`'s
(PostgreSQL attached to an in-memory DuckDB); a lost PostgreSQL connection is handled much like an
invalidated database: the transaction is rolled back, a read repeated once on a fresh cursor (the
extension reconnects), a write refused with a Vietnamese message; the national analytic queries
are kept by data version (:func:`xkld_geo.store.cached`).
"""
from __future__ import annotations

import logging
import threading
import time
import weakref
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Mapping

import duckdb
import pandas as pd

from xkld_geo import extensions, store, watchdog
from xkld_geo.errors import DatabaseError
from xkld_geo.settings import Settings, current

log = logging.getLogger("xkld_geo.db")

Params = Mapping[str, Any] | None
DURABLE = "COMMIT succeeded"
"""Start of DuckDB's fatal error when a commit was written but the checkpoint after it failed."""


def open_connection(path: Path | str, read_only: bool = False, spatial: bool = True,
                    create: bool = False) -> duckdb.DuckDBPyConnection:
    """Open a DuckDB file (``:memory:`` allowed) and load the spatial extension by file path.

    A missing file is an error unless ``create`` is set (only the build creates databases), so a
    mistyped path never leaves an empty database behind.
    """
    if not create and str(path) != ":memory:" and not Path(path).exists():
        raise DatabaseError(
            f"Chưa có cơ sở dữ liệu {path}. Hãy chạy: python -m xkld_geo build", path=str(path))
    try:
        con = duckdb.connect(str(path), read_only=read_only,
                             config={"allow_unsigned_extensions": "true",
                                     "autoinstall_known_extensions": "false",
                                     "autoload_known_extensions": "false"})
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():  # another process (the running app) holds the writer's lock
            raise DatabaseError(f"Cơ sở dữ liệu {path} đang được một tiến trình khác mở (thường là ứng dụng "
                                "đang chạy; DuckDB chỉ cho một tiến trình ghi). Hãy dừng ứng dụng rồi chạy lại "
                                "lệnh, hoặc nhập báo cáo qua trang Nhập dữ liệu.", path=str(path),
                                reason="locked") from exc
        raise DatabaseError(f"Không mở được cơ sở dữ liệu {path}: {exc}", path=str(path)) from exc
    if spatial:
        con.execute(f"LOAD '{extensions.spatial_path()}'")
    return con


Key = tuple[str, bool, str]
"""A shared connection: resolved file path, read-only, store URL ('' for the embedded file)."""
_shared: dict[Key, duckdb.DuckDBPyConnection] = {}
_settings: dict[Key, Settings] = {}
_shared_lock = threading.Lock()
_origin: "weakref.WeakKeyDictionary[duckdb.DuckDBPyConnection, Key]" = weakref.WeakKeyDictionary()
"""The shared connection (its key in ``_shared``) each cursor handed out by :func:`connect` came from."""


def invalidated(exc: BaseException) -> bool:
    """Whether ``exc`` says DuckDB invalidated the database (a fatal error, e.g. a checkpoint that
    failed on a full disk): every later statement on that instance fails until it is reopened."""
    return isinstance(exc, duckdb.FatalException) or "database has been invalidated" in str(exc)


def _stale(con: duckdb.DuckDBPyConnection, exc: BaseException) -> bool:
    """Whether ``con`` failed because its database was invalidated, or because it is a cursor of a
    shared connection that was closed (and replaced) after an invalidation."""
    return (invalidated(exc) or (isinstance(exc, duckdb.ConnectionException) and con in _origin)
            or _lost(con, exc))


def _lost(con: duckdb.DuckDBPyConnection, exc: BaseException) -> bool:
    """Whether ``con`` (a cursor on a shared store connection) failed because PostgreSQL went away."""
    key = _origin.get(con)
    return bool(key and key[2]) and store.lost(exc)


def identity(con: duckdb.DuckDBPyConnection) -> str | None:
    """Which database a cursor of :func:`connect` reads (its file, and the store's URL), without a
    query; None for a connection opened otherwise."""
    key = _origin.get(con)
    return None if key is None else key[0] + (f"|{key[2]}" if key[2] else "")


def store_settings(con: duckdb.DuckDBPyConnection) -> Settings | None:
    """The settings of the shared store behind a cursor of :func:`connect`, or None (the embedded
    file, or a connection opened otherwise)."""
    key = _origin.get(con)
    return (_settings.get(key) or current()) if key and key[2] else None


def _cursor(key: Key) -> duckdb.DuckDBPyConnection:
    with _shared_lock:
        con = _shared.get(key)
        if con is None:
            if key[2]:
                con = store.open_shared(_settings.get(key) or current(), read_only=key[1])
            else:
                con = open_connection(key[0], read_only=key[1])
                try:
                    upgrade(con, read_only=key[1])
                except BaseException:
                    con.close()
                    raise
            _shared[key] = con
    cur = store.prepare(con.cursor(), _settings.get(key) or current()) if key[2] else con.cursor()
    _origin[cur] = key
    return cur


def _drop_if_invalidated(key: Key) -> None:
    """Close and forget the shared connection under ``key`` if DuckDB invalidated it (another
    thread may already have replaced it by a working one: that one is kept)."""
    with _shared_lock:
        con = _shared.get(key)
        if con is None:
            return
        try:
            con.cursor().execute("SELECT 1").fetchall()
            return
        except duckdb.Error as exc:
            if not invalidated(exc):
                return
        del _shared[key]
    log.error("DuckDB invalidated the database %s after a fatal error; it is opened again", key[0])
    try:
        con.close()   # closes its cursors too, so the next connect() gets a new database instance
    except duckdb.Error:  # pragma: no cover - already unusable
        pass


def forget_invalidated(con: duckdb.DuckDBPyConnection,
                       exc: BaseException | None = None) -> duckdb.DuckDBPyConnection | None:
    """After ``con`` failed with an invalidated database (or ``exc``, a lost PostgreSQL): reopen
    its shared connection and return a fresh cursor on it, or None when ``con`` was not handed
    out by :func:`connect`. A store that is still down raises its DatabaseError here.

    A lost PostgreSQL keeps its shared connection: the postgres extension reconnects by itself,
    and closing a DuckDB that has a PostgreSQL transaction open aborts the process (its rollback
    fails in a destructor); the failed cursor's transaction is rolled back here instead."""
    key = _origin.get(con)
    if key is None:
        return None
    if exc is not None and _lost(con, exc):
        _rollback(con)
        log.error("PostgreSQL connection lost (%s); the next statement reconnects", str(exc)[:200])
    else:
        _drop_if_invalidated(key)
    return _cursor(key)


def connect(settings: Settings | None = None, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """A cursor on the process-wide connection to the configured database.

    DuckDB connections are not thread-safe but their cursors are; Streamlit serves each browser
    session on its own thread, so each caller gets its own cursor on one shared connection. A
    connection that DuckDB invalidated is replaced here by a new one.
    """
    settings = settings or current()
    key = (str(Path(settings.db_path).resolve()), read_only, settings.database_url)
    _settings[key] = settings
    cur = _cursor(key)
    try:
        cur.execute("SELECT 1").fetchall()
    except duckdb.Error as exc:
        if not invalidated(exc):
            raise
        _drop_if_invalidated(key)
        cur = _cursor(key)
    return cur


def open_store(settings: Settings, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """A private connection for the command line, upgraded when read-write: the embedded file
    (which the running app must not hold to write), or the shared store (usable while replicas run)."""
    if store.enabled(settings):
        return store.open_shared(settings, read_only=read_only)
    con = open_connection(settings.db_path, read_only=read_only)
    if read_only:
        return con
    try:
        upgrade(con)
    except BaseException:
        con.close()
        raise
    return con


def upgrade(con: duckdb.DuckDBPyConnection, read_only: bool = False) -> None:
    """Bring a database just opened up to this code's schema (numbered migrations, each in a
    transaction), or refuse one made by a newer version; read-only, only the refusal applies."""
    from xkld_geo.schema import migrations  # the schema module uses this one: imported late

    if read_only:
        migrations.check_not_newer(migrations.applied(con))
        return
    ran = migrations.migrate(con)
    if ran:
        log.warning("database upgraded: migrations %s", ran)


def quote_literal(text: str) -> str:
    """``text`` as an SQL string literal, for the few statements that take no parameters (ATTACH, LOAD)."""
    return "'" + str(text).replace("'", "''") + "'"


def quote_identifier(name: str) -> str:
    """``name`` as a quoted SQL identifier, the one way table and column names that are not
    literals in the code reach a statement (quotes doubled, NUL refused)."""
    if "\x00" in name or not name:
        raise DatabaseError(f"Tên không hợp lệ trong câu lệnh SQL: {name!r}", identifier=name)
    return '"' + name.replace('"', '""') + '"'


@contextmanager
def registered(con: duckdb.DuckDBPyConnection, name: str, frame: Any) -> Iterator[str]:
    """Make ``frame`` readable as table ``name`` for the block (DuckDB's replacement scan), and
    unregister it afterwards, whatever happens."""
    con.register(name, frame)
    try:
        yield name
    finally:
        try:
            con.unregister(name)
        except duckdb.Error:  # the connection failed meanwhile
            pass


def close_all() -> None:
    """Close every shared connection (tests and rebuilds call this before replacing the file)."""
    with _shared_lock:
        for con in _shared.values():
            try:
                con.close()
            except duckdb.Error:  # pragma: no cover - already closed
                pass
        _shared.clear()


def _rollback(con: duckdb.DuckDBPyConnection) -> None:
    try:
        con.execute("ROLLBACK")
    except duckdb.Error:  # the failure already ended the transaction (or invalidated the database)
        pass


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """One transaction on ``con``: committed when the block ends, rolled back (and the error
    raised again) when anything in it fails, even an interrupt, so nothing is half-written.

    A failed COMMIT (a full disk, an I/O error) is rolled back and raised as DuckDB's error; when
    DuckDB reports the commit durable and only the checkpoint after it failed, the block's work is
    stored, so nothing is raised, but the invalidated shared connection is reopened."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield
    except BaseException:
        _rollback(con)
        raise
    try:
        con.execute("COMMIT")
    except duckdb.Error as exc:
        if _lost(con, exc):
            _rollback(con)
            raise store.down_error(_settings.get(_origin[con]) or current(), exc) from exc
        if invalidated(exc):
            forget_invalidated(con)
        if DURABLE in str(exc):
            log.error("commit stored, checkpoint failed: %s", exc)
            return
        _rollback(con)
        raise


@contextmanager
def _deadline(con: duckdb.DuckDBPyConnection, seconds: float) -> Iterator[None]:
    """Interrupt the statement running on ``con`` if it outlives ``seconds`` (one watchdog thread
    for all queries, not a timer thread each)."""
    deadline = watchdog.arm(seconds, con.interrupt) if seconds > 0 else None
    try:
        yield
    finally:
        if deadline:
            deadline.cancel()


def _timed(con: duckdb.DuckDBPyConnection, name: str, sql: str, params: Params,
           timeout_s: float, slow_ms: float, fetch: bool | str) -> Any:
    start = time.perf_counter()
    try:
        with _deadline(con, timeout_s):
            rel = con.execute(sql, dict(params) if params else None)
            result = rel.fetchone() if fetch == "one" else rel.df() if fetch else None
    except duckdb.InterruptException as exc:
        raise DatabaseError(f"Truy vấn {name} quá {timeout_s:.0f} giây và đã bị dừng.",
                            query=name, timeout_s=timeout_s) from exc
    except duckdb.CatalogException as exc:
        raise DatabaseError(f"Cơ sở dữ liệu thiếu bảng cho truy vấn {name}: {exc}. "
                            "Hãy chạy: python -m xkld_geo build --force", query=name) from exc
    elapsed = (time.perf_counter() - start) * 1000
    level = logging.WARNING if elapsed > slow_ms else logging.DEBUG
    log.log(level, "query %s took %.1f ms", name, elapsed)
    return result


def _invalidated_error(name: str, exc: duckdb.Error) -> DatabaseError:
    return DatabaseError(f"Cơ sở dữ liệu vừa gặp lỗi ghi nghiêm trọng (thường do ổ đĩa đầy) và đã được mở lại; "
                         f"thao tác vừa rồi ({name}) không được ghi. Hãy thử lại.", query=name,
                         reason="invalidated", detail=str(exc)[:300])


def run(con: duckdb.DuckDBPyConnection, name: str, sql: str, params: Params = None,
        settings: Settings | None = None) -> pd.DataFrame:
    """Run a named, parametrised query (``$name`` placeholders) and return a DataFrame.

    On a database DuckDB invalidated, the shared connection is reopened and the query run once
    more on a fresh cursor (a read changes nothing, so repeating it is safe)."""
    s = settings or current()
    key = _origin.get(con)
    if key and key[2] and name in store.CACHED_QUERIES:   # the shared store: kept by data version
        return store.cached(_settings.get(key) or s, con, name, sql, params,
                            lambda: _run(con, name, sql, params, s))
    return _run(con, name, sql, params, s)


def row(con: duckdb.DuckDBPyConnection, name: str, sql: str, params: Params = None) -> tuple[Any, ...] | None:
    """The first row of a named query as a tuple (None without rows), without making a DataFrame
    (about 2 ms less per call): for the small lookups every page run makes (data version, session)."""
    key, s = _origin.get(con), current()
    if not (key and key[2]):   # the shared store takes the path of every query (reconnects, errors)
        try:
            return _timed(con, name, sql, params, s.query_timeout_s, s.slow_query_ms, fetch="one")
        except duckdb.Error:
            pass   # an invalidated database: reopened and asked again by run()
    df = run(con, name, sql, params)
    return tuple(df.iloc[0].tolist()) if len(df) else None


def keyed(con: duckdb.DuckDBPyConnection, name: str, sql: str, params: dict[str, Any]) -> tuple[Any, ...] | None:
    """The first row of a lookup by key (a session by its token's hash, an account by its name), as
    :func:`row`. On the shared store (``XKLD_STORE_READS=keyed``) it is asked of PostgreSQL directly
    (:func:`xkld_geo.store.keyed_row`: one statement, the row by its index) instead of through the
    postgres extension, which would read the tables it joins whole on every page run. The statement
    must therefore be plain SQL that PostgreSQL and DuckDB both accept."""
    key, s = _origin.get(con), current()
    settings = _settings.get(key, s) if key else s
    if not (key and key[2]) or settings.store_reads != "keyed":
        return row(con, name, sql, params)
    started = time.perf_counter()
    found = store.keyed_row(settings, sql, params)
    elapsed_ms = 1000 * (time.perf_counter() - started)
    if elapsed_ms > s.slow_query_ms:
        log.warning("slow keyed lookup %s: %.0f ms", name, elapsed_ms)
    return found


def value(con: duckdb.DuckDBPyConnection, name: str, sql: str, params: Params = None) -> Any:
    """The first value of a named query's first row (None without rows), as :func:`row`."""
    found = row(con, name, sql, params)
    return None if found is None else found[0]


def _run(con: duckdb.DuckDBPyConnection, name: str, sql: str, params: Params, s: Settings) -> pd.DataFrame:
    try:
        out = _timed(con, name, sql, params, s.query_timeout_s, s.slow_query_ms, fetch=True)
    except duckdb.Error as exc:
        if not _stale(con, exc):
            raise
        fresh = forget_invalidated(con, exc)
        if fresh is None:
            raise _invalidated_error(name, exc) from exc
        try:
            out = _timed(fresh, name, sql, params, s.query_timeout_s, s.slow_query_ms, fetch=True)
        except duckdb.Error as again:
            if _lost(fresh, again):
                raise store.down_error(s, again) from again
            raise
    assert out is not None
    return out


def execute(con: duckdb.DuckDBPyConnection, name: str, sql: str, params: Params = None,
            settings: Settings | None = None) -> None:
    """Run a named statement that returns nothing (DDL, INSERT).

    On a database DuckDB invalidated, the shared connection is reopened for the next caller, but
    the statement is not repeated (it may belong to a transaction that is lost): an error says so."""
    s = settings or current()
    try:
        _timed(con, name, sql, params, s.query_timeout_s, s.slow_query_ms, fetch=False)
    except duckdb.Error as exc:
        if not _stale(con, exc):
            raise
        was_lost = _lost(con, exc)
        forget_invalidated(con, exc)
        if was_lost:
            raise store.down_error(s, exc) from exc
        raise _invalidated_error(name, exc) from exc
