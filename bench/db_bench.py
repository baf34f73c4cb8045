"""Benchmark: the national commune-level attainment query on the full demo database, and its size.

Run after ``python -m xkld_geo build``:  ``.venv/bin/python bench/db_bench.py [--repeat 20]``.
Prints figures; it asserts nothing (targets are judged by people, not by unit tests).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from xkld_geo.database import db  # noqa: E402
from xkld_geo.figures import queries  # noqa: E402
from xkld_geo.settings import load_settings  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    settings = load_settings(secrets={})
    path = Path(settings.db_path)
    con = db.open_connection(path, read_only=True)
    year = queries.years(con)[0]
    times = []
    rows = 0
    for _ in range(args.repeat):
        start = time.perf_counter()
        rows = len(queries.attainment(con, year, "commune"))
        times.append((time.perf_counter() - start) * 1000)
    tables = con.execute("SELECT table_name, estimated_size FROM duckdb_tables() ORDER BY 2 DESC").fetchall()
    con.close()
    size = path.stat().st_size + (Path(f"{path}.wal").stat().st_size if Path(f"{path}.wal").exists() else 0)
    print(f"database: {path}")
    print(f"database size: {size / 1e6:.1f} MB")
    print(f"national commune-level attainment query ({year}, {rows} rows, {args.repeat} runs): "
          f"median {statistics.median(times):.1f} ms, min {min(times):.1f} ms, max {max(times):.1f} ms")
    for name, est in tables:
        print(f"  table {name}: ~{est:,} rows")


if __name__ == "__main__":
    main()
