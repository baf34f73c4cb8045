"""CPU of one cached overview rerun (issue 15 follow-up): the Streamlit-side work per page run.

    .venv/bin/python bench/rerun_bench.py [--db data/xkld.duckdb] [--runs 30] [--profile 25]
                                          [--query province=40] [--query national_level=commune]

Runs the app under Streamlit's ``AppTest`` on a copy of the database, logged in as a viewer, opens
the overview once (filling the shared cache), then reruns it ``--runs`` times with nothing changed
but a year switched back and forth, as a leader clicking in a meeting does, and prints the median
and mean milliseconds of CPU per rerun, and of the first page of a new session (a fresh AppTest on
the warm process). ``--profile N`` prints the N costliest functions (cProfile, cumulative) over
the reruns (``--first``: over the first pages). The widgets of the page are set by label. A bench: it prints, asserts nothing.
"""
from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _session(token: str, query: dict[str, str]):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    for k, v in query.items():
        at.query_params[k] = v
    at.session_state["auth_token"] = token
    return at


_profiling: list[cProfile.Profile] = []


def _profile_script_thread() -> cProfile.Profile:
    """Profile the page script where it runs (Streamlit's script thread, not this one)."""
    from streamlit.runtime.scriptrunner import script_runner

    profiler = cProfile.Profile()
    _profiling.append(profiler)
    original = script_runner.ScriptRunner._run_script

    def run_script(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        if not _profiling:
            return original(self, *args, **kwargs)
        profiler.enable()
        try:
            return original(self, *args, **kwargs)
        finally:
            profiler.disable()
    script_runner.ScriptRunner._run_script = run_script
    return profiler


def main() -> None:
    from xkld_geo.settings import load_settings

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, default=load_settings(secrets={}).db_path)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--profile", type=int, default=0, help="print the N costliest functions")
    parser.add_argument("--first", action="store_true", help="profile the first pages, not the reruns")
    parser.add_argument("--query", action="append", default=[], help="URL parameter name=value")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="rerun-bench-"))
    served = folder / "served.duckdb"
    shutil.copy(args.db, served)
    os.environ["XKLD_DB"] = str(served)
    from xkld_geo.access import auth
    from xkld_geo.database import db

    con = db.connect(load_settings(secrets={}))
    db.upgrade(con)
    if not con.execute("SELECT 1 FROM users WHERE username = 'bench_rerun'").fetchone():
        auth.create_user(con, "bench_rerun", "mat-khau-bench-rerun", "viewer")
    token, _ = auth.login(con, "bench_rerun", "mat-khau-bench-rerun")
    query = dict(q.split("=", 1) for q in args.query)

    at = _session(token, query).run()
    problems = [e.message for e in at.exception] + [e.value for e in at.error]
    if problems:
        raise SystemExit(f"the overview failed: {problems[:3]}")
    years = list(at.selectbox(key="year").options)
    times: list[float] = []
    profiler = _profile_script_thread() if args.profile else None
    if profiler and args.first:
        _profiling.clear()
    for i in range(args.runs):
        at.selectbox(key="year").set_value(int(years[i % min(2, len(years))]))
        started = time.process_time()
        at.run()
        times.append((time.process_time() - started) * 1000)
    if profiler:
        _profiling[:] = [profiler] if args.first else []
    firsts: list[float] = []
    for _ in range(max(3, args.runs // 10)):
        fresh = _session(token, query)
        started = time.process_time()
        fresh.run()
        firsts.append((time.process_time() - started) * 1000)
    print(f"overview rerun, {args.runs} runs, query {query or '-'}: CPU median {statistics.median(times):.1f} ms, "
          f"mean {statistics.mean(times):.1f} ms (process CPU, AppTest's own work included)")
    print(f"first page of a new session, {len(firsts)} runs: CPU median {statistics.median(firsts):.1f} ms")
    _profiling.clear()
    if profiler:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(args.profile)
    db.close_all()
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
