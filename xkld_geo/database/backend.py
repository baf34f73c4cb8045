"""The database object: one per backend, and the named, timed way every statement reaches it.

A :class:`Database` is one database this process reads and writes, opened once per file, mode and
store: the embedded DuckDB file here; DuckDB with PostgreSQL attached in
:class:`xkld_geo.database.store.SharedDatabase`, which overrides the few things that differ (how it opens, how
a new cursor is prepared, which failures mean the connection was lost, the results kept by data
version, the lookups asked of PostgreSQL directly). Streamlit serves each browser session on its
own thread and DuckDB connections are not thread-safe, so each caller gets its own cursor on the
database's one connection; every cursor remembers its database (:func:`of`).

Every query of the project goes through :func:`run` (or :func:`execute` for statements without a
result), so a slow query is logged and a runaway one is interrupted in one place (the statements
themselves are written beside the concept they belong to: :mod:`xkld_geo.database` says where).
The same place notices when DuckDB has invalidated the database after a fatal error (a checkpoint that failed on a
full disk): the database's connection is then closed and opened again, so one failed write does
not leave every other session with a traceback until the app is restarted. A lost PostgreSQL
connection is handled much like it: the transaction is rolled back, a read repeated once on a fresh
cursor (the extension reconnects), a write refused with a Vietnamese message.

This module is the lowest layer of database access: the schema, its migrations, the shared store
and the data version use it; it imports none of them (how a database is brought up to date is
given to it as ``upgrade``). :mod:`xkld_geo.database.db` chooses the database for the settings.
"""
from __future__ import annotations

import logging
import threading
import time
import weakref
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

import duckdb
import pandas as pd

from xkld_geo.database import extensions, watchdog
from xkld_geo.errors import DatabaseError
from xkld_geo.settings import Settings, current

log = logging.getLogger("xkld_geo.database.db")

Params = Mapping[str, Any] | None
DURABLE = "COMMIT succeeded"
"""Start of DuckDB's fatal error when a commit was written but the checkpoint after it failed."""

Key = tuple[str, bool, str]
"""A database: resolved file path, read-only, store URL ('' for the embedded file)."""

Upgrade = Callable[[duckdb.DuckDBPyConnection, bool], None]
"""Brings a connection just opened up to this code's schema (``read_only``: only refuse a newer one)."""


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


def invalidated(exc: BaseException) -> bool:
    """Whether ``exc`` says DuckDB invalidated the database (a fatal error, e.g. a checkpoint that
    failed on a full disk): every later statement on that instance fails until it is reopened."""
    return isinstance(exc, duckdb.FatalException) or "database has been invalidated" in str(exc)




def key_of(settings: Settings, read_only: bool = False) -> Key:
    """The key of the database ``settings`` name, in mode ``read_only``."""
    return (str(Path(settings.db_path).resolve()), read_only, settings.database_url)


class Database:
    """The embedded DuckDB file of ``settings.db_path``: one connection, a cursor per caller.

    ``upgrade`` runs on the connection when it is opened (the numbered migrations, given by
    :mod:`xkld_geo.database.db`, so this layer does not import the schema that uses it)."""

    shared = False
    """Whether the written tables live in PostgreSQL (:class:`xkld_geo.database.store.SharedDatabase`)."""

    def __init__(self, settings: Settings, read_only: bool = False, upgrade: Upgrade | None = None) -> None:
        self.settings = settings
        self.read_only = read_only
        self.key = key_of(settings, read_only)
        self._upgrade = upgrade
        self._con: duckdb.DuckDBPyConnection | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.key[0]!r}, read_only={self.read_only})"

    @property
    def identity(self) -> str:
        """Which database this is: its file, and the store's URL."""
        return self.key[0] + (f"|{self.key[2]}" if self.key[2] else "")

    def open(self) -> duckdb.DuckDBPyConnection:
        """A new connection to this database, brought up to date (read-write) or checked (read-only)."""
        con = open_connection(self.key[0], read_only=self.read_only)
        if self._upgrade is not None:
            try:
                self._upgrade(con, self.read_only)
            except BaseException:
                con.close()
                raise
        return con

    def prepare(self, cur: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
        """A new cursor made ready for use (nothing to do for the embedded file)."""
        return cur

    def lost(self, exc: BaseException) -> bool:
        """Whether ``exc`` says the connection behind this database went away (never, for a file)."""
        return False

    def down_error(self, exc: BaseException | None = None) -> DatabaseError:
        """The Vietnamese refusal for a database that cannot be reached."""
        return DatabaseError(f"Không mở được cơ sở dữ liệu {self.key[0]}.", path=self.key[0],
                             detail=str(exc)[:300] if exc else None)

    def cached(self, con: duckdb.DuckDBPyConnection, name: str, sql: str, params: Params,
               compute: Callable[[], pd.DataFrame]) -> pd.DataFrame:
        """The result of query ``name``: computed every time here (the shared store keeps some)."""
        return compute()

    def keyed_row(self, sql: str, params: dict[str, Any]) -> tuple[Any, ...] | None:
        """A lookup by key asked of the backend directly (the shared store only)."""
        raise NotImplementedError

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A cursor on this database's connection (opened at the first call)."""
        with self._lock:
            if self._con is None:
                self._con = self.open()
            con = self._con
        cur = self.prepare(con.cursor())
        _origin[cur] = self
        return cur

    def drop_if_invalidated(self) -> None:
        """Close and forget the connection if DuckDB invalidated it (another thread may already
        have replaced it by a working one: that one is kept)."""
        with self._lock:
            con = self._con
            if con is None:
                return
            try:
                con.cursor().execute("SELECT 1").fetchall()
                return
            except duckdb.Error as exc:
                if not invalidated(exc):
                    return
            self._con = None
        log.error("DuckDB invalidated the database %s after a fatal error; it is opened again", self.key[0])
        try:
            con.close()   # closes its cursors too, so the next cursor() gets a new database instance
        except duckdb.Error:  # pragma: no cover - already unusable
            pass

    def close(self) -> None:
        """Close the connection (and with it every cursor handed out)."""
        with self._lock:
            con, self._con = self._con, None
        if con is not None:
            try:
                con.close()
            except duckdb.Error:  # pragma: no cover - already closed
                pass


_databases: dict[Key, Database] = {}
_databases_lock = threading.Lock()
_origin: "weakref.WeakKeyDictionary[duckdb.DuckDBPyConnection, Database]" = weakref.WeakKeyDictionary()
"""The database each cursor handed out by :meth:`Database.cursor` belongs to."""


def database(settings: Settings, read_only: bool, make: Callable[[], Database]) -> Database:
    """The process's database for ``settings`` and mode (made by ``make`` the first time); its
    settings are the latest given."""
    key = key_of(settings, read_only)
    with _databases_lock:
        found = _databases.get(key)
        if found is None:
            found = _databases[key] = make()
    found.settings = settings
    return found


def of(con: duckdb.DuckDBPyConnection) -> Database | None:
    """The database a cursor was handed out by, or None for a connection opened otherwise."""
    return _origin.get(con)


def connect(db: Database) -> duckdb.DuckDBPyConnection:
    """A cursor on ``db``, checked: a connection that DuckDB invalidated is replaced here by a new one."""
    cur = db.cursor()
    try:
        cur.execute("SELECT 1").fetchall()
    except duckdb.Error as exc:
        if not invalidated(exc):
            raise
        db.drop_if_invalidated()
        cur = db.cursor()
    return cur


def _stale(con: duckdb.DuckDBPyConnection, exc: BaseException) -> bool:
    """Whether ``con`` failed because its database was invalidated, or because it is a cursor of a
    connection that was closed (and replaced) after an invalidation."""
    return (invalidated(exc) or (isinstance(exc, duckdb.ConnectionException) and con in _origin)
            or _lost(con, exc))


def _lost(con: duckdb.DuckDBPyConnection, exc: BaseException) -> bool:
    """Whether ``con`` (a cursor on the shared store) failed because PostgreSQL went away."""
    found = _origin.get(con)
    return found is not None and found.shared and found.lost(exc)


def forget_invalidated(con: duckdb.DuckDBPyConnection,
                       exc: BaseException | None = None) -> duckdb.DuckDBPyConnection | None:
    """After ``con`` failed with an invalidated database (or ``exc``, a lost PostgreSQL): reopen
    its database's connection and return a fresh cursor on it, or None when ``con`` was not handed
    out by a :class:`Database`. A store that is still down raises its DatabaseError here.

    A lost PostgreSQL keeps its connection: the postgres extension reconnects by itself, and
    closing a DuckDB that has a PostgreSQL transaction open aborts the process (its rollback
    fails in a destructor); the failed cursor's transaction is rolled back here instead."""
    found = _origin.get(con)
    if found is None:
        return None
    if exc is not None and _lost(con, exc):
        _rollback(con)
        log.error("PostgreSQL connection lost (%s); the next statement reconnects", str(exc)[:200])
    else:
        found.drop_if_invalidated()
    return found.cursor()


def attached(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether ``con`` is a connection of the shared store (PostgreSQL attached as ``pg``)."""
    df = run(con, "store_attached", "SELECT count(*) AS n FROM duckdb_databases() "
             "WHERE database_name = 'pg' AND type = 'postgres'")
    return bool(df["n"].iloc[0])


def close_all() -> None:
    """Close every database's connection (tests and rebuilds call this before replacing the file);
    the next cursor of each, even one asked for through a cursor handed out before, opens it again."""
    with _databases_lock:
        found = list(_databases.values())
    for d in found:
        d.close()


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
            raise _origin[con].down_error(exc) from exc
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
    found = _origin.get(con)
    if found is not None and found.shared:   # the shared store keeps some by data version
        return found.cached(con, name, sql, params, lambda: _run(con, name, sql, params, s))
    return _run(con, name, sql, params, s)


def row(con: duckdb.DuckDBPyConnection, name: str, sql: str, params: Params = None) -> tuple[Any, ...] | None:
    """The first row of a named query as a tuple (None without rows), without making a DataFrame
    (about 2 ms less per call): for the small lookups every page run makes (data version, session)."""
    found, s = _origin.get(con), current()
    if not (found and found.shared):   # the shared store takes the path of every query (reconnects, errors)
        try:
            return _timed(con, name, sql, params, s.query_timeout_s, s.slow_query_ms, fetch="one")
        except duckdb.Error:
            pass   # an invalidated database: reopened and asked again by run()
    df = run(con, name, sql, params)
    return tuple(df.iloc[0].tolist()) if len(df) else None


def keyed(con: duckdb.DuckDBPyConnection, name: str, sql: str, params: dict[str, Any]) -> tuple[Any, ...] | None:
    """The first row of a lookup by key (a session by its token's hash, an account by its name), as
    :func:`row`. On the shared store (``XKLD_STORE_READS=keyed``) it is asked of PostgreSQL directly
    (:meth:`Database.keyed_row`: one statement, the row by its index) instead of through the
    postgres extension, which would read the tables it joins whole on every page run. The statement
    must therefore be plain SQL that PostgreSQL and DuckDB both accept."""
    db, s = _origin.get(con), current()
    settings = db.settings if db else s
    if not (db and db.shared) or settings.store_reads != "keyed":
        return row(con, name, sql, params)
    started = time.perf_counter()
    found = db.keyed_row(sql, params)
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
                raise _origin[fresh].down_error(again) from again
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
            raise _origin[con].down_error(exc) from exc
        raise _invalidated_error(name, exc) from exc
