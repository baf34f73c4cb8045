"""Benchmark: allocating 3,321 communes with every constraint kind (target ≤ 50 ms).

Uses the real 2025 communes' populations when the database is built (else synthetic ones), last
year's demo results, a floor per commune, caps at 150% of last year, a blend of both methods and
a frozen tenth. Prints figures, asserts nothing. Run: ``.venv/bin/python bench/allocation_bench.py``.
"""
from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from xkld_geo.planning.allocation import UnitInput, allocate  # noqa: E402


def communes() -> list[tuple[str, float, float]]:
    """(code, population, last year's departures) of the 3,321 communes."""
    try:
        from xkld_geo.database import db
        from xkld_geo.settings import load_settings

        con = db.open_connection(load_settings(secrets={}).db_path, read_only=True)
        rows = con.execute("""SELECT c.commune_code, c.population, COALESCE(SUM(d.departures), 0)
            FROM v_communes c LEFT JOIN departures d ON d.commune_code = c.commune_code
             AND year(d.month) = (SELECT max(year) - 1 FROM quotas) GROUP BY ALL""").fetchall()
        con.close()
        return [(c, float(p or 0), float(d)) for c, p, d in rows]
    except Exception:  # no database: synthetic communes of a similar spread
        rng = np.random.default_rng(1)
        return [(f"{i:05d}", float(rng.lognormal(10, 0.6)), float(rng.poisson(45))) for i in range(3321)]


def main() -> None:
    data = communes()
    units = [UnitInput(code, pop, last, floor=3, cap=max(3, int(last * 1.5)) + 20,
                       frozen=(int(last) + 3 if i % 10 == 0 else None))
             for i, (code, pop, last) in enumerate(data)]
    target = int(sum(last for _, _, last in data) * 1.05)
    times = []
    for _ in range(20):
        start = time.perf_counter()
        result = allocate(units, target, "blend", 0.6)
        times.append((time.perf_counter() - start) * 1000)
    assert sum(result.values()) == target
    print(f"{len(units)} communes, target {target:,}, floors + caps + 10% frozen + blend")
    print(f"allocate(): median {statistics.median(times):.1f} ms, max {max(times):.1f} ms "
          f"(target ≤ 50 ms: {'met' if statistics.median(times) <= 50 else 'NOT met'})")


if __name__ == "__main__":
    main()
