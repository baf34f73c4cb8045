"""Benchmark: the national commune map on the wire (issue 15), today's code beside the baseline.

    .venv/bin/python bench/commune_map_bench.py [--db data/xkld.duckdb] [--no-baseline]

Starts ``python serve.py`` on a copy of the database, logs one session in over Streamlit's
websocket protocol (``bench/ws_client.py``, as the load bench does), opens the overview, switches
the national map to its 3,321 communes, then switches the month and the year through periods not
seen yet, then back to periods seen before. Prints the KB each step put on the wire (websocket
frames as deflated by the negotiated compression, plus the geometry files the tab fetches,
gzipped, once) beside the same steps with ``XKLD_CACHE=off`` (geometry inline in every run) and
the ratio new/baseline. Targets: the first national commune map ≤ 300 KB; a later year or month
switch ≤ 50 KB. A bench: it prints, asserts nothing.
"""
from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ws_client import ROOT, Server, Session, served_copy  # noqa: E402

LEVEL, MONTH, YEAR = "Bản đồ cả nước", "Lũy kế đến tháng", "Năm"


async def steps(port: int, token: str) -> list[tuple[str, int]]:
    """(step, bytes on the wire) for the overview's national commune map and its switches."""
    out: list[tuple[str, int]] = []
    async with Session(port, token) as s:
        first = await s.rerun(page_name="")
        communes = await s.rerun(widgets={LEVEL: s.widgets[LEVEL].options[1]})
        out.append(("first national commune map (page + map)", first.bytes + communes.bytes))
        year = s.widgets[YEAR].options
        months = s.widgets[MONTH].options
        for month in (months[0], months[len(months) // 2]):
            out.append((f"month switch to {month} (not seen)", (await s.rerun(widgets={MONTH: month})).bytes))
        out.append((f"year switch to {year[1]} (not seen)", (await s.rerun(widgets={YEAR: year[1]})).bytes))
        out.append((f"year switch to {year[0]} (seen)", (await s.rerun(widgets={YEAR: year[0]})).bytes))
        out.append((f"year switch to {year[1]} (seen)", (await s.rerun(widgets={YEAR: year[1]})).bytes))
    return out


def measure(source: Path, cache: str) -> list[tuple[str, int]]:
    """The steps against a served copy of ``source`` with ``XKLD_CACHE=cache``."""
    folder = Path(tempfile.mkdtemp(prefix="xkld-bench-"))
    try:
        served, tokens = served_copy(source, folder, 1)
        with Server(served, {"XKLD_CACHE": cache}, folder / "app.log") as server:
            return asyncio.run(steps(server.port, tokens[0]))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", type=Path, default=None, help="database to copy (default: the configured one)")
    parser.add_argument("--no-baseline", action="store_true", help="skip the XKLD_CACHE=off run")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from xkld_geo.settings import load_settings

    source = args.db or Path(load_settings(secrets={}).db_path)
    new = measure(source, "on")
    old = None if args.no_baseline else measure(source, "off")
    print("KB on the wire: new code | baseline XKLD_CACHE=off | ratio new/baseline")
    for i, (step, size) in enumerate(new):
        line = f"  {step:<45} {size / 1024:8.1f}"
        if old is not None:
            line += f" | {old[i][1] / 1024:8.1f} | {size / max(1, old[i][1]):5.2f}"
        print(line)
    first, later = new[0][1] / 1024, max(size for _, size in new[1:]) / 1024
    print(f"first map {first:.0f} KB (target ≤ 300: {'met' if first <= 300 else 'NOT met'}); "
          f"largest later switch {later:.0f} KB (target ≤ 50: {'met' if later <= 50 else 'NOT met'})")


if __name__ == "__main__":
    main()
