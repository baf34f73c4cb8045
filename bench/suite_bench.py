"""How long the fast part of the test suite takes, beside the old fixture strategy in the same run.

Issue #14 found the suite building the tiny warehouse 144 times (about 2 of its 4 minutes). The
fixtures now build it once per session and copy the file per test. This bench runs the same tests
(everything but the real-data and browser tests, which build the real warehouse once either way)
twice in one go: as they run now, and with ``XKLD_TEST_BUILD_EACH=1``, which makes every test build
its own warehouse as before. It prints both wall times, the number of tests and the ratio.

    .venv/bin/python bench/suite_bench.py            # the whole fast part
    .venv/bin/python bench/suite_bench.py tests/test_app.py tests/test_plans.py   # some files
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(paths: list[str], build_each: bool) -> tuple[float, int]:
    """Wall time and number of passed tests of one pytest run."""
    env = dict(os.environ, XKLD_TEST_BUILD_EACH="1" if build_each else "0")
    env.pop("CI", None)
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                          "-m", "not real_data and not browser", *paths],
                         cwd=ROOT, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    passed = re.search(r"(\d+) passed", out.stdout)
    if out.returncode != 0:
        print(out.stdout[-3000:], out.stderr[-2000:])
        raise SystemExit(f"pytest failed (build_each={build_each})")
    return seconds, int(passed.group(1)) if passed else 0


def main() -> None:
    paths = sys.argv[1:] or ["tests"]
    now, tests = run(paths, build_each=False)
    before, tests_before = run(paths, build_each=True)
    print(f"{'strategy':<38}{'tests':>8}{'wall s':>10}")
    print(f"{'one build per session, copied (now)':<38}{tests:>8}{now:>10.1f}")
    print(f"{'one build per test (before #14)':<38}{tests_before:>8}{before:>10.1f}")
    print(f"ratio now / before: {now / before:.2f}  (target ≤ 0.50)")


if __name__ == "__main__":
    main()
