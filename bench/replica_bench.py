"""Benchmark: requests per second one replica serves, beside two replicas behind nginx, in one run.

Each request is ``GET /xkld/health``: one read of the shared store through the replica's DuckDB
and PostgreSQL, the kind of work every page run starts with (a page run itself goes over
Streamlit's WebSocket and is not driven here). Start the cluster first::

    scripts/cluster.sh start
    .venv/bin/python bench/replica_bench.py --single http://127.0.0.1:8601 --balanced http://127.0.0.1:8600

Without a replica cookie nginx spreads the requests over both replicas. Prints figures; asserts nothing.
"""
from __future__ import annotations

import argparse
import threading
import time
import urllib.request


def hammer(base: str, seconds: float, workers: int) -> tuple[float, int]:
    """Requests per second (and errors) from ``workers`` threads for ``seconds``."""
    done = [0] * workers
    errors = [0] * workers
    stop = time.perf_counter() + seconds

    def loop(i: int) -> None:
        while time.perf_counter() < stop:
            try:
                with urllib.request.urlopen(f"{base}/xkld/health", timeout=30) as response:
                    response.read()
                done[i] += 1
            except Exception:
                errors[i] += 1

    threads = [threading.Thread(target=loop, args=(i,)) for i in range(workers)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(done) / (time.perf_counter() - start), sum(errors)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--single", required=True, help="one replica, e.g. http://127.0.0.1:8601")
    parser.add_argument("--balanced", required=True, help="nginx in front of both, e.g. http://127.0.0.1:8600")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=16)
    args = parser.parse_args()
    for label, base in (("one replica", args.single), ("two replicas behind nginx", args.balanced)):
        rate, errors = hammer(base, args.seconds, args.workers)
        print(f"{label:28} {rate:8.1f} requests/s  ({errors} errors, {args.workers} clients, {args.seconds:.0f} s)")


if __name__ == "__main__":
    main()
