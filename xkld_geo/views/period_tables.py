"""The national tables every overview and public-page request is cut from, shared per data version.

Each period's communes and provinces, each year's monthly series of every province and its
departures reports: computed once per data version into the shared cache (:mod:`xkld_geo.database.cache`)
and handed out without a copy, their callers only read or cut them. The cache keys are written
once here, for the warm-up (:func:`warm_periods`, run in the background when the app starts) and
the requests alike. A province's part is cut out of the national table instead of a query per
province; with the cache off, a province's communes are queried for that province alone.
"""
from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd

from xkld_geo.database import cache
from xkld_geo.figures import periods, queries
from xkld_geo.foresight import forecast
from xkld_geo.reporting import completeness


def warm_periods(con: duckdb.DuckDBPyConnection, today: dt.date, due_day: int) -> int:
    """Compute the national tables every overview request is cut from (each period's communes and
    provinces, each year's monthly series and reporting cells) for every period the overview
    offers, and the year-end forecast of the latest period (its backtest included), into the
    shared cache: run once in the background when the app starts
    (:mod:`xkld_geo.maps.warmup`), so the leaders' first clicks on any year or month only cut
    their part out. Returns how many periods were warmed."""
    shared = cache.scope(con)
    reported = shared.get("reported_months", periods.reported_months)
    count, latest = 0, None
    for year in sorted({y for y, _ in reported}, reverse=True):
        months = periods.months_offered(reported, year, today)
        if not months:
            continue
        monthly_table(shared, year)
        report_cells(shared, year, today, due_day)
        latest = latest or periods.period(year, months[-1], today)
        for month in reversed(months):   # the latest first: the periods a meeting opens on
            period_communes(shared, year, month, None)
            period_provinces(shared, year, month)
            count += 1
    if latest is not None:   # last: its backtest fits ETS models once per process (seconds of CPU)
        forecast.forecast(con, latest.year, latest.month - 1 if latest.in_progress else latest.month)
    return count


def _approved(approved_only: bool) -> tuple[bool, ...]:
    """The extra argument of an approved-figures query: none for all received figures, so their
    cache keys stay the ones the warm-up fills."""
    return (True,) if approved_only else ()


def monthly_table(shared: cache.Scope, year: int, approved_only: bool = False) -> pd.DataFrame:
    """The year's monthly departures of every province (``approved_only``: approved figures only)."""
    return shared.get("monthly_by_province", queries.monthly_departures_by_province, year,
                      *_approved(approved_only), copy=False)


def report_cells(shared: cache.Scope, year: int, today: dt.date, due_day: int) -> pd.DataFrame:
    """The year's departures reports of every commune (:func:`completeness.cells`)."""
    return shared.get("report_cells", completeness.cells, dt.date(year, 1, 1), dt.date(year, 12, 1),
                      today, due_day, None, ("departures",), copy=False)


def period_provinces(shared: cache.Scope, year: int, month: int, approved_only: bool = False) -> pd.DataFrame:
    """The period's figures per province (``approved_only``: approved figures only)."""
    extra = (None, True) if approved_only else ()
    return shared.get("period_attainment", queries.period_attainment, year, month, "province", *extra, copy=False)


def period_communes(shared: cache.Scope, year: int, month: int, province: str | None,
                    approved_only: bool = False) -> pd.DataFrame:
    """The period's figures per commune of the country or of ``province``: cut out of the national
    table of the period, shared by every request of that period (the overview's and the public
    page's), instead of a query per province. Read only, as :func:`period_provinces`.
    ``approved_only``: approved figures only (a table of its own)."""
    if province is not None and not shared.enabled:   # nothing shared: the province's part alone
        return queries.period_attainment(shared.con, year, month, "commune", province, approved_only)
    extra = (None, True) if approved_only else ()
    national = shared.get("period_attainment", queries.period_attainment, year, month, "commune", *extra,
                          copy=False)   # read only: cut (a copy) or enriched (a new frame)
    if province is None:
        return national
    return national[national["province_code"].to_numpy() == province].reset_index(drop=True)


def monthly(shared: cache.Scope, year: int, province: str | None, approved_only: bool = False) -> pd.DataFrame:
    """:func:`queries.monthly_departures` of the country or of ``province``, cut out of the year's
    table of every province (shared by every request of the year; ``approved_only``: approved
    figures only)."""
    table = monthly_table(shared, year, approved_only)
    if province is not None:
        table = table[table["province_code"].to_numpy() == province]
    out = table.groupby("month", as_index=False, sort=True)[["this_year", "last_year"]].sum()
    if len(out) < 12:   # no province at all (an empty gazetteer): the twelve months at 0
        out = pd.DataFrame({"month": range(1, 13)}).merge(out, on="month", how="left").fillna(0)
    return out.reset_index(drop=True)
