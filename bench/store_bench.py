"""What one page run costs PostgreSQL: transactions and rows read per page run on one replica of the
shared store, today's code beside the baseline (``XKLD_STORE_READS=scan``: the session's user found
by a join the postgres extension reads whole, the data version asked by every page run), in one run.

    .venv/bin/python bench/store_bench.py [--sessions 30] [--seconds 20] [--think 1] [--cluster DIR]

Starts ``scripts/cluster.sh`` on the tests' fictional country (or drives the running cluster whose
state is in ``--cluster DIR``), opens one logged-in session token per session in its PostgreSQL,
then, for each mode, restarts replica r1 with ``XKLD_STORE_READS`` set to that mode and drives the
sessions over the websocket protocol (``bench/load_bench.py``'s meeting-room mix) against it
alone, twice: once to warm it (the start-up warm-up, every period the mix asks for), then measured. PostgreSQL's own counters (``pg_stat_database``: commits and rollbacks;
``pg_stat_user_tables``: rows returned by sequential and index scans) are read before and after
each level, so the figures are the database's, not the app's idea of them. Prints, per page run,
transactions, rows read in all and from ``sessions``, ``users`` and ``data_version``, with the ratio
baseline/new. A bench: it prints, asserts nothing.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from load_bench import (  # noqa: E402
    CLUSTER,
    Remote,
    cluster_state,
    cluster_tokens,
    run_level,
    start_cluster,
    stop_cluster,
)

TABLES = ("sessions", "users", "data_version")
FLUSH_S = 11.0
"""PostgreSQL (15) flushes an idle connection's statistics after 10 s: wait that long before reading them."""
MODES = (("baseline", "scan"), ("new", "keyed"))


def counters(url: str) -> dict[str, int]:
    """PostgreSQL's cumulative counters of the store's database: transactions, rows read per table."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as pc:
        pc.execute("SELECT pg_stat_clear_snapshot()")
        xact = pc.execute("SELECT xact_commit + xact_rollback FROM pg_stat_database "
                          "WHERE datname = current_database()").fetchone()
        rows = pc.execute("SELECT relname, COALESCE(seq_tup_read, 0) + COALESCE(idx_tup_fetch, 0) "
                          "FROM pg_stat_user_tables").fetchall()
    out = {"transactions": int(xact[0]) if xact else 0, "rows": sum(int(r[1]) for r in rows)}
    out |= {f"rows {name}": int(count) for name, count in rows}
    out |= {f"rows {name}": out.get(f"rows {name}", 0) for name in TABLES}
    return out


def restart(folder: Path, mode: str) -> None:
    env = dict(os.environ) | {"XKLD_CLUSTER_DIR": str(folder), "XKLD_STORE_READS": mode}
    done = subprocess.run(["bash", str(CLUSTER), "restart", "r1"], env=env, capture_output=True, text=True,
                          timeout=300)
    if done.returncode != 0:
        raise SystemExit(f"cluster.sh restart r1 failed:\n{done.stderr[-2000:]}")


def measure(folder: Path, sessions: int, seconds: float, think: float) -> dict[str, dict[str, float]]:
    state = cluster_state(folder)
    port = int(state["PORTS"].split()[0])
    tokens = cluster_tokens(folder, state["URL"], sessions)
    figures: dict[str, dict[str, float]] = {}
    for label, mode in MODES:
        restart(folder, mode)
        target = Remote(port)
        # a warm server, as in a meeting: the same clicks once before (the start-up warm-up done, every
        # period of the mix computed once for this data version), then measured
        asyncio.run(run_level(target, tokens, sessions, seconds, think, 7))
        time.sleep(FLUSH_S)                     # an idle backend reports its counters within 10 s
        before = counters(state["URL"])
        level = asyncio.run(run_level(target, tokens, sessions, seconds, think, 7))
        time.sleep(FLUSH_S)
        after = counters(state["URL"])
        runs = len([r for r in level.runs + level.first if r.ok])
        failures = len([r for r in level.runs + level.first if not r.ok])
        figures[label] = {k: (after[k] - before.get(k, 0)) / max(1, runs) for k in after}
        figures[label] |= {"page runs": float(runs), "failures": float(failures),
                           "transactions/s": (after["transactions"] - before["transactions"]) / level.seconds}
        print(f"[{label}: XKLD_STORE_READS={mode}] {runs} page runs, {failures} failures", flush=True)
    return figures


def report(figures: dict[str, dict[str, float]]) -> None:
    base, new = figures["baseline"], figures["new"]
    print(f"\n{'per page run':28} {'new':>10} {'baseline':>10} {'baseline/new':>13}")
    busiest = sorted((k for k in base if k.startswith("rows ") and k[5:] not in TABLES and base[k] >= 1),
                     key=lambda k: -base[k])[:6]
    for key in ("transactions", "rows", *(f"rows {t}" for t in TABLES), *busiest, "transactions/s", "page runs",
                "failures"):
        new.setdefault(key, 0.0)
        ratio = base[key] / new[key] if new[key] else float("inf") if base[key] else float("nan")
        print(f"{key:28} {new[key]:10.2f} {base[key]:10.2f} {ratio:13.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=30)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--think", type=float, default=1.0, help="mean think time between clicks (s)")
    parser.add_argument("--cluster", type=Path, metavar="DIR", help="the running cluster's state folder")
    args = parser.parse_args()
    folder = args.cluster or Path(tempfile.mkdtemp(prefix="store-bench-")) / "state"
    if not args.cluster:
        start_cluster(folder, tiny=True)
    try:
        report(measure(folder, args.sessions, args.seconds, args.think))
    finally:
        if not args.cluster:
            stop_cluster(folder)
            shutil.rmtree(folder.parent, ignore_errors=True)


if __name__ == "__main__":
    main()
