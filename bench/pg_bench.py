"""Benchmark: the analytic queries on the embedded DuckDB file, and the same queries with the shared
store (the written tables in PostgreSQL, read through DuckDB's postgres extension).

Run after ``python -m xkld_geo build``, against a PostgreSQL database (an empty one is created and
seeded from the local file on first use; ``scripts/cluster.sh start`` prints one)::

    XKLD_DATABASE_URL=postgresql://xkld@127.0.0.1:55432/xkld .venv/bin/python bench/pg_bench.py [--repeat 10]

Prints a table of median times (PostgreSQL: each run after a write, i.e. not kept; "kept": the
same query again while nothing was written); it asserts nothing (targets are judged by people, not by unit tests).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Callable

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from xkld_geo.database import db, store  # noqa: E402
from xkld_geo.figures import queries  # noqa: E402
from xkld_geo.settings import load_settings  # noqa: E402

Query = Callable[[duckdb.DuckDBPyConnection, int], object]

QUERIES: dict[str, Query] = {
    "attainment, communes (national)": lambda con, year: queries.attainment(con, year, "commune"),
    "attainment, provinces": lambda con, year: queries.attainment(con, year, "province"),
    "national totals by year": lambda con, year: queries.national_totals(con),
    "monthly departures (national)": lambda con, year: queries.monthly_departures(con, year),
    "period attainment, communes (to June)": lambda con, year: queries.period_attainment(con, year, 6, "commune"),
}


def timed(con: duckdb.DuckDBPyConnection, query: Query, year: int, repeat: int, keep: bool = True) -> float:
    """Median milliseconds of ``repeat`` runs (after one warm-up run); ``keep=False`` empties the
    shared store's result cache before each run (the cost when another replica has just written)."""
    query(con, year)
    times = []
    for _ in range(repeat):
        if not keep:
            store._results.clear()
        start = time.perf_counter()
        query(con, year)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    settings = load_settings(secrets={})
    if not store.enabled(settings):
        sys.exit("Set XKLD_DATABASE_URL to a PostgreSQL database (see the docstring).")
    embedded = db.open_connection(settings.db_path, read_only=True)
    db.close_all()
    year = queries.years(embedded)[0]
    start = time.perf_counter()
    shared = db.connect(settings)   # first use: creates and seeds the store
    opened_ms = (time.perf_counter() - start) * 1000
    rows = db.run(shared, "bench_rows", "SELECT count(*) AS n FROM departures")["n"][0]
    print(f"local file {settings.db_path}; store {store.where(settings)}; departures rows {rows:,}; year {year}")
    print(f"opening the store (attach, schema check{', seeding' if opened_ms > 5000 else ''}): {opened_ms:.0f} ms")
    print(f"{'query':42} {'embedded ms':>12} {'PostgreSQL ms':>14} {'ratio':>6} {'kept ms':>8}")
    for name, query in QUERIES.items():
        local = timed(embedded, query, year, args.repeat)
        remote = timed(shared, query, year, args.repeat, keep=False)
        kept = timed(shared, query, year, args.repeat)
        print(f"{name:42} {local:12.1f} {remote:14.1f} {remote / local:6.1f} {kept:8.1f}")
    embedded.close()
    shared.close()


if __name__ == "__main__":
    main()
