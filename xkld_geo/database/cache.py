"""Work done once per data version, shared by every session of the process.

Fifty people looking at the same overview ask the same questions: the units and their names, the
shapes, the markets, the figures of a period. :class:`Scope` answers each question once per *data
version* (:mod:`xkld_geo.database.dataversion`) and database file, and serves the stored answer to every
session until a write bumps the version; nothing ever expires by time, so a figure is never stale
and never recomputed for nothing. A scope checks the version once, with one tiny query, when it is
made, then serves every lookup from the same version. The Streamlit layer tells page runs apart
(:func:`per_run`), so that :func:`scope` makes one scope, one version check, per page run and
database, not one per widget group that asks (a write of this process in the run checks again).

Stored results are shared: DataFrames are handed out as copies (cheap: the geometry text columns
are shared references), other results must be treated as read-only. The store keeps the most
recently used :data:`MAX_ENTRIES` results and drops those of older versions of a database when a
newer version is seen. Sessions that miss the same result at once wait for the one that computes
it (:mod:`xkld_geo.database.singleflight`) instead of computing it each. ``XKLD_CACHE=off`` turns it off (every lookup computes), for the baseline of
``bench/load_bench.py``.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from contextlib import contextmanager
from typing import Any, Callable, Hashable, Iterator, TypeVar

import duckdb
import pandas as pd

from xkld_geo.database import dataversion, db, singleflight, store
from xkld_geo.errors import DatabaseError
from xkld_geo.settings import current as current_settings

T = TypeVar("T")
MAX_ENTRIES = 1024

_store: OrderedDict[tuple[Any, ...], Any] = OrderedDict()   # (path, version, name, *args) -> result
_latest: dict[str, int] = {}          # database path -> newest version seen
_lock = threading.Lock()
_stats = {"hits": 0, "misses": 0}
_listeners: list[Callable[[str, int], object]] = []   # told of each newer data version (on_new_version)


def stamp(con: duckdb.DuckDBPyConnection) -> tuple[str, int]:
    """(database file, data version) behind ``con``, in one tiny query (the version alone for a
    cursor of the shared connection, whose database :func:`db.identity` knows)."""
    known = db.identity(con)
    if known is not None:
        shared = db.store_settings(con)
        if shared is not None and shared.store_reads == "keyed":
            return known, store.data_version(shared, con)   # asked of PostgreSQL at most twice a second
        return known, dataversion.current(con)
    df = db.run(con, "cache_stamp", """
        SELECT (SELECT path FROM duckdb_databases() WHERE database_name = current_database()) AS path,
               (SELECT COALESCE(max(version), 0) FROM data_version) AS version""")
    return str(df["path"].iloc[0]), int(df["version"].iloc[0])


def _forget_older(path: str, version: int) -> bool:
    """Drop the entries of older versions of ``path`` (caller holds the lock); True when ``version``
    is newer than one seen before (a write since), False for the first version seen or an old one."""
    seen = _latest.get(path, -1)
    if seen >= version:
        return False
    _latest[path] = version
    for key in [k for k in _store if k[0] == path and k[1] < version]:
        del _store[key]
    return seen >= 0


def on_new_version(listener: Callable[[str, int], object]) -> None:
    """Call ``listener(path, version)`` (in the page run that notices it, so it must return at once)
    whenever a newer data version of a database is seen: the served app warms the shared tables
    of the new version in the background (:mod:`xkld_geo.maps.warmup`) instead of leaving each
    first request after an import to compute them."""
    with _lock:
        _listeners.append(listener)


_deferred: set[str] = set()   # names the warm-up is computing: page runs may do without them meanwhile


@contextmanager
def deferring(name: str) -> Iterator[None]:
    """While this runs, :func:`deferred` (``name``) is True: the start-up warm-up says it is computing
    the (slow) results called ``name``, so a page run that can show its page without them does,
    instead of waiting for them (serving while warming; :mod:`xkld_geo.maps.warmup`)."""
    with _lock:
        _deferred.add(name)
    try:
        yield
    finally:
        with _lock:
            _deferred.discard(name)


def deferred(name: str) -> bool:
    """True while the warm-up computes the results called ``name`` (:func:`deferring`)."""
    with _lock:
        return name in _deferred


def clear() -> None:
    """Forget everything (tests; a database replaced behind the process's back)."""
    with _lock:
        _store.clear()
        _latest.clear()
        _stats.update(hits=0, misses=0)


def stats() -> dict[str, int]:
    """Hits, misses and entries so far (benches, logs)."""
    with _lock:
        return dict(_stats) | {"entries": len(_store)}


class Scope:
    """The cache as seen by one page run: one version check, then lookups keyed by arguments."""

    def __init__(self, con: duckdb.DuckDBPyConnection, enabled: bool | None = None) -> None:
        self.con = con
        self.enabled = current_settings().cache if enabled is None else enabled
        self.path, self.version = "", 0
        if self.enabled:
            try:
                self.path, self.version = stamp(con)
            except DatabaseError:   # a database older than data_version opened read-only: compute, never cache
                self.enabled = False
        if self.enabled:
            with _lock:
                newer, listeners = _forget_older(self.path, self.version), list(_listeners)
            for listener in listeners if newer else ():
                listener(self.path, self.version)

    def has(self, name: str, *args: Hashable) -> bool:
        """Whether the result of ``name`` for ``args`` is stored at this version (nothing computed)."""
        if not self.enabled:
            return False
        with _lock:
            return (self.path, self.version, name, *args) in _store

    def get(self, name: str, compute: Callable[..., T], *args: Hashable, copy: bool = True) -> T:
        """``compute(con, *args)``, computed once per data version and shared (a DataFrame comes
        back as a copy, so callers may change it; ``copy=False`` hands out the shared frame itself,
        for callers that only read it: copying the national tables on every request cost more
        than cutting them up)."""
        if not self.enabled:
            return compute(self.con, *args)
        key = (self.path, self.version, name, *args)
        found = _lookup(key)
        if found is _MISSING:
            with _flights.turn(key):   # sessions missing the same result at once: one computes it
                found = _lookup(key)
                if found is _MISSING:
                    found = compute(self.con, *args)
                    with _lock:
                        _stats["misses"] += 1
                        if _latest.get(self.path, -1) <= self.version:  # a newer version came meanwhile: do not keep
                            _store[key] = found
                            while len(_store) > MAX_ENTRIES:
                                _store.popitem(last=False)
        return found.copy() if copy and isinstance(found, pd.DataFrame) else found


def _lookup(key: tuple[Any, ...]) -> Any:
    """The stored result of ``key`` (counted as a hit), or ``_MISSING``."""
    with _lock:
        found = _store.get(key, _MISSING)
        if found is not _MISSING:
            _store.move_to_end(key)
            _stats["hits"] += 1
    return found


_flights = singleflight.Flights()


_MISSING = object()


def _no_run() -> object | None:
    """Outside Streamlit nothing tells page runs apart: every :func:`scope` checks the version."""
    return None


_run_marker: Callable[[], object | None] = _no_run
_memo = threading.local()    # this thread's (marker, con, bumps, scope) of the page run in progress


def per_run(marker: Callable[[], object | None]) -> None:
    """Install how to tell page runs apart: ``marker()`` returns an object that stays the same
    (``is``) during one page run and is new on the next, or None outside a page run."""
    global _run_marker
    _run_marker = marker


def scope(con: duckdb.DuckDBPyConnection) -> Scope:
    """A :class:`Scope` on ``con`` at its current data version: within one page run (see
    :func:`per_run`) and on the same cursor, the same scope, checked once; again after a bump."""
    marker = _run_marker()
    if marker is None:
        return Scope(con)
    bumps = dataversion.bumps()
    found = getattr(_memo, "value", None)
    if found is not None and found[0] is marker and found[1] is con and found[2] == bumps:
        return found[3]
    made = Scope(con)
    _memo.value = (marker, con, bumps, made)
    return made
