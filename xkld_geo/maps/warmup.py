"""Geometry warm-up: the layers the pages draw, published before anybody asks for them.

A process that starts finds its geometry files in the folder of :mod:`xkld_geo.maps.geometry`
(written by the build, or by an earlier process); :func:`warm` reads them into the process (and the
layers' shapes into :mod:`xkld_geo.cache`), and builds those missing. It runs at the end of
``python -m xkld_geo build`` (:func:`warm_built`) and, once per app process, in one daemon thread
started by ``serve.py`` (:func:`start_background`), which never blocks a page run: a page asking for
a layer being built waits for that build (single flight), not for the others. The thread runs at
the page runs' priority on purpose: a lower one (``nice``) could leave it holding the GIL while the
system runs other work, stalling the page runs that wait for the GIL. The same thread warms again
after each write that bumps the data version (an import during a meeting), once per burst of writes.
A failure is logged, never raised: a page builds what it needs itself, as before.

The layers are those of the overview, public and directive pages (``queries.shapes`` calls in
``views/overview.py``, ``views/public.py`` and ``ui/directives.py``): the national provinces and
communes (coarse), the province outlines, and each province's communes (fine).
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Callable

import duckdb

from xkld_geo import cache, db, queries
from xkld_geo.maps import geometry
from xkld_geo.settings import Settings, current

log = logging.getLogger("xkld_geo.maps.warmup")

Layer = tuple[str, str, str | None]
"""A ``queries.shapes`` call of era 2025: (level, level of detail, province or None)."""

NATIONAL: tuple[Layer, ...] = (("province", "coarse", None), ("commune", "coarse", None),
                               ("province", "outline", None))


@dataclass(frozen=True)
class Warmed:
    """What a warm-up did: layers published, how many were built (topojson run), seconds taken."""

    layers: int
    built: int
    seconds: float


def layers(con: duckdb.DuckDBPyConnection) -> list[Layer]:
    """Every layer the pages draw: the national ones, then each province's communes."""
    provinces = cache.scope(con).get("provinces", queries.provinces, copy=False)
    return [*NATIONAL, *(("commune", "fine", str(code)) for code in sorted(provinces["code"]))]


def warm(con: duckdb.DuckDBPyConnection) -> Warmed:
    """Publish every layer of :func:`layers` (cheap for those already in the folder)."""
    start, built = time.perf_counter(), geometry.stats()["built"]
    shared = cache.scope(con)   # one data-version check for the whole warm-up, not one per layer
    todo = layers(con)
    for level, lod, province in todo:
        geometry.publish(shared.get("shapes", queries.shapes, "2025", level, lod, province))
    return Warmed(len(todo), geometry.stats()["built"] - built, time.perf_counter() - start)


def warm_built(settings: Settings) -> Warmed | None:
    """After ``python -m xkld_geo build``: publish the layers of the new database into its folder.
    None (and logged) on failure: the app builds them when first asked instead."""
    try:
        con = db.open_connection(settings.db_path, read_only=True)
        try:
            return warm(con)
        finally:
            con.close()
    except Exception:   # never fail a build for its cache
        log.exception("geometry warm-up after the build failed")
        return None


_started: threading.Thread | None = None
_start_lock = threading.Lock()


def _run(settings: Settings, then: Callable[[duckdb.DuckDBPyConnection], object] | None = None) -> None:
    try:
        con = db.connect(settings)
        done = warm(con)
        log.info("geometry warm-up: %d layers, %d built, %.1f s", done.layers, done.built, done.seconds)
        if then is not None:   # the pages' shared figures, after the shapes (see serve.py)
            then(con)
    except Exception:   # a page builds what it needs itself
        log.exception("warm-up failed")


def start_background(settings: Settings | None = None,
                     then: Callable[[duckdb.DuckDBPyConnection], object] | None = None) -> threading.Thread | None:
    """Start the warm-up in one daemon thread, once per process (later calls return the same
    thread), and run ``then(con)`` after it in the same thread (serve.py: the overview's shared
    period tables); None when the shared caches are off (``XKLD_CACHE=off`` draws geometry inline).

    The same thread warms again whenever a page run sees a newer data version (an import, an
    approval, a reference edit: :func:`cache.on_new_version`), so the first requests after a
    write find the new version's tables ready; writes in quick succession are warmed once."""
    global _started
    settings = settings or current()
    if not settings.cache:
        return None
    with _start_lock:
        if _started is None:
            _started = threading.Thread(target=_keep_warm, args=(settings, then), name="xkld-geometry-warmup",
                                        daemon=True)
            _started.start()
            cache.on_new_version(lambda path, version: _again.set())
        return _started


_again = threading.Event()   # a newer data version was seen: warm again


def _keep_warm(settings: Settings, then: Callable[[duckdb.DuckDBPyConnection], object] | None,
               rounds: int | None = None) -> None:
    """Warm now, then once more after each newer data version (``rounds``: stop after that many
    warm-ups, for tests; None: for the life of the process)."""
    done = 0
    while True:
        _run(settings, then)
        done += 1
        if rounds is not None and done >= rounds:
            return
        _again.wait()
        _again.clear()   # versions seen from here on wait for the next round
