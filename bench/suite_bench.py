"""How long the test suite takes: the daily fast loop beside the same tests run one at a time, and
optionally the whole pytest run, in the same session (the machine is noisy: compare the ratios).

    .venv/bin/python bench/suite_bench.py                 # fast loop (-n auto) beside the same tests serially
    .venv/bin/python bench/suite_bench.py --full          # and the whole pytest run (browser, cluster, real data)
    .venv/bin/python bench/suite_bench.py --build-each    # and every test building its own tiny warehouse
    .venv/bin/python bench/suite_bench.py tests/test_app.py tests/test_plans.py   # some files

The fast loop is what ``bash scripts/test.sh --fast`` runs: every test but the browser, cluster and
real-data ones, in parallel with pytest-xdist. Targets: the fast loop under 2 minutes, the whole
pytest run under 6 minutes, on a quiet two-core machine. ``--build-each`` sets
``XKLD_TEST_BUILD_EACH=1``, the fixture strategy of old (one warehouse per test instead of one per
session, copied), to show what the session fixture saves. A bench: it prints, asserts nothing.
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FAST = "not browser and not postgres and not real_data"


def run(label: str, args: list[str], build_each: bool = False) -> tuple[str, float, int, int]:
    """(label, wall seconds, tests passed, tests failed) of one pytest run."""
    env = dict(os.environ, XKLD_TEST_BUILD_EACH="1" if build_each else "0")
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
                         cwd=ROOT, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    passed = re.search(r"(\d+) passed", out.stdout)
    failed = re.search(r"(\d+) failed", out.stdout)
    print(f"  {label}: {seconds:.1f} s", flush=True)
    return label, seconds, int(passed.group(1)) if passed else 0, int(failed.group(1)) if failed else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="*", default=["tests"])
    parser.add_argument("--full", action="store_true", help="also time the whole pytest run")
    parser.add_argument("--build-each", action="store_true", help="also time one warehouse per test")
    args = parser.parse_args()
    rows = [run("fast loop (-n auto, scripts/test.sh --fast)", ["-n", "auto", "-m", FAST, *args.paths]),
            run("same tests, one process", ["-m", FAST, *args.paths])]
    if args.build_each:
        rows.append(run("same tests, one warehouse per test", ["-m", FAST, *args.paths], build_each=True))
    if args.full:
        rows.append(run("whole pytest run", list(args.paths)))
    print(f"\n{'run':<46}{'passed':>8}{'failed':>8}{'wall s':>10}{'÷ one process':>15}")
    base = rows[1][1]
    for label, seconds, passed, failed in rows:
        print(f"{label:<46}{passed:>8}{failed:>8}{seconds:>10.1f}{seconds / base:>15.2f}")
    print("targets: fast loop < 120 s, whole pytest run < 360 s (quiet two-core machine)")


if __name__ == "__main__":
    main()
