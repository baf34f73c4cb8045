"""Benchmark: map build time and page payload against the GeoDataFrame.explore() baseline.

Prints, in one run on this machine: the national commune-level map (3,321 communes), one
province's communes (the largest and a typical one), and the obvious alternative, explore() of the
commune layer coloured by a column. Targets (issue 3): national ≤ 2.5 MB and ≤ 0.8 s, ≥ 5× smaller
and faster than explore(); one province ≤ 400 KB and ≤ 0.2 s. Prints figures, asserts nothing.

Run after ``python -m xkld_geo build``: ``.venv/bin/python bench/map_bench.py``. The baseline needs
explore()'s extra packages: ``.venv/bin/pip install -r bench/requirements.txt``.
"""
from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import geopandas as gpd  # noqa: E402

from xkld_geo import maps
from xkld_geo.database import db
from xkld_geo.figures import queries
from xkld_geo.settings import load_settings  # noqa: E402
from xkld_geo.views import overview  # noqa: E402
from xkld_geo.warehouse import sources


def timed(func, repeat: int = 5) -> tuple[float, object]:
    """Median seconds of ``func`` over ``repeat`` runs, and its last result."""
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = func()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def ours(con, request: overview.Request, static_url: str) -> str:
    """Queries + map build + HTML render: everything a rerun does for the map."""
    return maps.page_html(overview.build_overview(con, request, static_url).fmap)


def baseline(settings) -> str:
    """GeoDataFrame.explore() of the commune layer coloured by a column (the obvious way)."""
    path = sources.resolve(settings)["communes_2025"]
    gdf = gpd.read_parquet(path) if path.suffix == ".parquet" else gpd.read_file(path)
    return gdf.explore(column="population", tooltip=["name", "population"]).get_root().render()


def main() -> None:
    settings = load_settings(secrets={})
    con = db.open_connection(settings.db_path, read_only=True)
    year = queries.years(con)[0]
    month = queries.last_data_month(con, year) or 12
    sizes = con.execute("""SELECT parent_code, sum(length(geojson)) AS n FROM unit_shapes s
        JOIN admin_units u USING (era, level, code) WHERE s.era = '2025' AND s.level = 'commune'
        AND s.lod = 'fine' GROUP BY 1 ORDER BY 2 DESC""").fetchall()
    largest = sizes[0][0]
    rows = []
    try:
        t_base, html_base = timed(lambda: baseline(settings), repeat=2)
    except ImportError as exc:
        raise SystemExit(f"explore() baseline unavailable ({exc}); "
                         "install bench/requirements.txt first") from exc
    rows.append(("explore() baseline, 3,321 communes", t_base, len(html_base)))
    t_nat, html_nat = timed(lambda: ours(con, overview.Request(year, month, national_level="commune"),
                                         settings.static_url))
    rows.append(("XKLĐ-Geo national commune map", t_nat, len(html_nat)))
    t_prov, html_prov = timed(lambda: ours(con, overview.Request(year, month), settings.static_url))
    rows.append(("XKLĐ-Geo national province map", t_prov, len(html_prov)))
    for code in (largest, "40", "46"):
        t, html = timed(lambda c=code: ours(con, overview.Request(year, month, c), settings.static_url))
        rows.append((f"XKLĐ-Geo province {code} communes", t, len(html)))
    print(f"{'map':45} {'build s':>9} {'payload KB':>11}")
    for name, seconds, size in rows:
        print(f"{name:45} {seconds:9.3f} {size / 1000:11.0f}")
    print(f"national commune map vs explore(): {t_base / t_nat:.1f}× faster, "
          f"{len(html_base) / len(html_nat):.1f}× smaller "
          f"(targets ≤ 0.8 s, ≤ 2500 KB, ≥ 5×: {'met' if t_nat <= 0.8 and len(html_nat) <= 2.5e6 and t_base / t_nat >= 5 and len(html_base) / len(html_nat) >= 5 else 'NOT met'})")
    worst = max(rows[3:], key=lambda r: r[2])
    print(f"largest province payload {worst[2] / 1000:.0f} KB in {worst[1]:.3f} s "
          f"(targets ≤ 400 KB, ≤ 0.2 s: {'met' if worst[2] <= 4e5 and max(r[1] for r in rows[3:]) <= 0.2 else 'NOT met'})")
    con.close()


if __name__ == "__main__":
    main()
