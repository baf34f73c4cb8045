"""Geometry warm-up: the layers the pages draw, published before anybody asks for them.

A process that starts finds its geometry files in the folder of :mod:`xkld_geo.maps.geometry`
(written by the build, or by an earlier process); :func:`warm` reads them into the process (and the
layers' shapes into :mod:`xkld_geo.database.cache`), and builds those missing. It runs at the end of
``python -m xkld_geo build`` (:func:`warm_built`) and, once per app process, in one daemon thread
started by ``serve.py`` (:func:`start_background`), which never blocks a page run: a page asking for
a layer being built waits for that build (single flight), not for the others. The thread runs at
the page runs' priority on purpose: a lower one (``nice``) could leave it holding the GIL while the
system runs other work, stalling the page runs that wait for the GIL. The same thread warms again
after each write that bumps the data version (an import during a meeting), once per burst of writes.
A failure is logged, never raised: a page builds what it needs itself, as before.

The order (``XKLD_WARMUP``) is what a restart during a meeting needs first. ``priority`` (the
default) first builds the pages a meeting opens on (:func:`first_pages`: the overview of the
default period with its national figures, forecast and national map, and the public page), then
the national layers, then each province's communes, then the caller's ``then`` (the older periods).
Sessions arriving meanwhile do not wait for the whole warm-up: what they need and the warm-up has
not reached yet they compute themselves, once, through the single-flight caches; what it is
computing they wait for, not the rest. ``geometry-first`` is the order before: every layer, then
the figures (the baseline of ``bench/load_bench.py --cold``), during which the first sessions
computed the overview's national figures and forecast themselves while the warm-up competed for
the CPU.

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

from xkld_geo.database import cache, db
from xkld_geo.figures import periods, queries
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


def first_pages(con: duckdb.DuckDBPyConnection, settings: Settings) -> tuple[int, int] | None:
    """Build what the first page of a meeting shows, into the shared cache: the overview of the
    default period (:func:`periods.default_month`, the one the page opens on) with its national
    figures, monthly series, reporting shares and the national map's shapes, published; then the
    public page of that period (one visitor in five). The year-end forecast comes with the
    overview once its backtest is stored (:func:`forecast.ready`). Returns the period, or None
    when there is none."""
    from xkld_geo.views import overview, public

    shared = cache.scope(con)
    today = settings.effective_today
    latest = periods.default_month(shared.get("reported_months", periods.reported_months), today)
    if latest is None:
        return None
    year, month = latest
    view = overview.build_overview(con, overview.Request(year, month), settings.static_url, today,
                                   settings.report_due_day)
    geometry.publish(view.map_spec.shapes)
    public.build_public(con, year, month, None, settings.static_url, settings.public_threshold)
    return latest


def national(con: duckdb.DuckDBPyConnection) -> None:
    """Publish the national layers (the overview's and public page's maps of the country)."""
    shared = cache.scope(con)
    for level, lod, province in NATIONAL:
        geometry.publish(shared.get("shapes", queries.shapes, "2025", level, lod, province))


def priority(con: duckdb.DuckDBPyConnection, settings: Settings) -> tuple[int, int] | None:
    """``XKLD_WARMUP=priority``, before :func:`warm`: the first pages without the forecast, the
    national layers, then the forecasts' backtest (seconds of CPU; meanwhile page runs show the
    overview without the forecast instead of waiting: ``cache.deferring``), then the first page
    with it. Returns the period of the first page."""
    from xkld_geo.foresight import forecast

    with cache.deferring("forecast_skill"):
        latest = first_pages(con, settings)
        national(con)
        if latest is not None:
            p = periods.period(latest[0], latest[1], settings.effective_today)
            forecast.forecast(con, p.year, p.month - 1 if p.in_progress else p.month)
    return first_pages(con, settings)


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


PRELOAD = ("statsmodels.tsa.holtwinters",)
"""Modules the first pages need that take seconds to import (the forecast's ETS models, with
scipy): imported by :func:`start_background` in the caller's thread, while the server starts, not
in the warm-up thread, where the import held the interpreter lock while the first sessions waited."""


def preload() -> None:
    """Import :data:`PRELOAD` (a failure is logged: the page imports it when it needs it)."""
    import importlib

    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except Exception:
            log.exception("preloading %s failed", name)


_started: threading.Thread | None = None
_start_lock = threading.Lock()


def _run(settings: Settings, then: Callable[[duckdb.DuckDBPyConnection], object] | None = None) -> None:
    try:
        con = db.connect(settings)
        if settings.warmup == "priority":   # the meeting's first page before everything else
            started = time.perf_counter()
            period = priority(con, settings)
            log.info("first pages warmed (%s) in %.1f s", period, time.perf_counter() - started)
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
            if settings.warmup == "priority":
                preload()
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
