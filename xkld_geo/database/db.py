"""The single way into the database for the application: the configured :class:`Database` and its cursors.

The database object and the named, timed statements live in :mod:`xkld_geo.database.backend` (the lowest
layer, which the schema, the migrations, the shared store and the data version use); this module
chooses, for the settings, which database the process talks to: the embedded DuckDB file
(:class:`xkld_geo.database.backend.Database`, brought up to date by the numbered migrations when it is
opened read-write), or, with ``XKLD_DATABASE_URL`` set, PostgreSQL attached to an in-memory DuckDB
(:class:`xkld_geo.database.store.SharedDatabase`). It hands the statement helpers on under their usual names
(``db.run``, ``db.execute``, ``db.transaction``, ``db.quote_identifier``...), so callers above the
database layer import this one module.
"""
from __future__ import annotations

import logging

import duckdb

from xkld_geo.database import backend, store
from xkld_geo.database.backend import (
    DURABLE,
    Database,
    Key,
    Params,
    close_all,
    execute,
    forget_invalidated,
    invalidated,
    keyed,
    open_connection,
    quote_identifier,
    quote_literal,
    registered,
    row,
    run,
    transaction,
    value,
)
from xkld_geo.database.schema import migrations
from xkld_geo.settings import Settings, current

__all__ = ["DURABLE", "Database", "Key", "Params", "close_all", "connect", "current_database", "execute",
           "forget_invalidated", "identity", "invalidated", "keyed", "open_connection", "open_store",
           "quote_identifier", "quote_literal", "registered", "row", "run", "store_settings", "transaction",
           "upgrade", "value"]

log = logging.getLogger("xkld_geo.database.db")


def upgrade(con: duckdb.DuckDBPyConnection, read_only: bool = False) -> None:
    """Bring a database just opened up to this code's schema (numbered migrations, each in a
    transaction), or refuse one made by a newer version; read-only, only the refusal applies."""
    if read_only:
        migrations.check_not_newer(migrations.applied(con))
        return
    ran = migrations.migrate(con)
    if ran:
        log.warning("database upgraded: migrations %s", ran)


def current_database(settings: Settings | None = None, read_only: bool = False) -> Database:
    """The process's database for ``settings`` (the configured ones by default): the shared store
    when ``XKLD_DATABASE_URL`` is set, else the embedded file."""
    settings = settings or current()
    if store.enabled(settings):
        return backend.database(settings, read_only, lambda: store.SharedDatabase(settings, read_only))
    return backend.database(settings, read_only, lambda: Database(settings, read_only, upgrade=upgrade))


def connect(settings: Settings | None = None, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """A cursor on the process-wide connection to the configured database.

    DuckDB connections are not thread-safe but their cursors are; Streamlit serves each browser
    session on its own thread, so each caller gets its own cursor on one shared connection. A
    connection that DuckDB invalidated is replaced here by a new one.
    """
    return backend.connect(current_database(settings, read_only))


def identity(con: duckdb.DuckDBPyConnection) -> str | None:
    """Which database a cursor of :func:`connect` reads (its file, and the store's URL), without a
    query; None for a connection opened otherwise."""
    found = backend.of(con)
    return None if found is None else found.identity


def store_settings(con: duckdb.DuckDBPyConnection) -> Settings | None:
    """The settings of the shared store behind a cursor of :func:`connect`, or None (the embedded
    file, or a connection opened otherwise)."""
    found = backend.of(con)
    return found.settings if found is not None and found.shared else None


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
