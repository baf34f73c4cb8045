"""A meeting room at once (issue 15): N concurrent sessions against the app, today's code beside the baseline.

    .venv/bin/python bench/load_bench.py [--db data/xkld.duckdb] [--sessions 1,10,50] [--seconds 30]
                                         [--think 5] [--saturation 10] [--quick] [--no-baseline]
                                         [--cold | --room] [--spread S] [--warm-first S]

Starts ``python serve.py`` on a copy of the demo database (with a bench viewer and one
logged-in session token per session), and drives the sessions over Streamlit's websocket protocol
with its own protobufs (``bench/ws_client.py``; no browser). Each logged-in session opens the
overview and then, after an exponential think time (mean ``--think`` seconds), does one of: switch
the year, switch the month, drill into a province (or back to the country), switch the national
map between provinces and communes, open a directive page (Nhóm ưu tiên, Thị trường, Sàn việc làm,
Vay vốn) and come back. One session in five is an anonymous visitor of the public page switching
provinces. Levels run one after the other on the same server (``--sessions``), then a saturation
level with no think time (``--saturation`` sessions).

For each level it prints p50/p95/max rerun latency, the first page of a new session, reruns per
second, the server's CPU milliseconds per page run (the figure that holds on a busy machine, where
latencies also measure the other processes), KB per rerun on the wire (websocket frames, deflated when the server negotiates it, plus
geometry files fetched, gzipped, once per session),
the server's peak RSS and failures (a run that raised, showed ``st.error`` or timed out). The
whole run is repeated with ``XKLD_CACHE=off`` (the code before issue 15: no shared cache,
geometry inline in every rerun, Streamlit's default full garbage collection after every run) and each figure is printed beside it with the ratio new/baseline.
Targets (issue 15): 50 sessions, think 5 s: p95 ≤ 1 s, 0 failures, RSS ≤ 2 GB; no think time:
≥ 20 runs/s, first page ≤ 0.5 s. A bench: it prints, asserts nothing.

Scoped accounts (issue 29): ``--scoped`` mixes, in every level, sessions of a province's account
and of a commune officer's account (the first province of the database and its first commune)
with the national ones, a third each, on the same warm server (new code only)::

    .venv/bin/python bench/load_bench.py --scoped [--sessions 6,30] [--seconds 20] [--saturation 0]

and prints, level by level, each group's runs, p50 and p95 with the ratio of its p95 to the national
sessions' p95 measured in the same level (the scope checks ride on the shared caches: the target is
a ratio near 1 and p95 ≤ 1 s at 50 sessions).

Restarts (``--cold``): for each start-up warm-up order a fresh server (new process, new copy of
the database), whose ``--sessions`` (default 50) sessions open at random times over its first
``--spread`` seconds (default 60) and click until the level ends; the new order
(``XKLD_WARMUP=priority``) beside the old one (``XKLD_WARMUP=geometry-first``), measured in the same
run, and beside the same room on the new order's server once it is warm. Target: p95 ≤ 1 s::

    .venv/bin/python bench/load_bench.py --cold [--sessions 50] [--spread 60] [--seconds 70]

A bigger room (``--room``): 50 then 200 sessions clicking every 5 s (think time) on one warm server
(the bench waits until the start-up warm-up has ended, then 5 unmeasured sessions warm the pages),
opening over ``--spread`` seconds (20); the 200 figure beside the 50 figure of the same run, no
``XKLD_CACHE=off`` baseline. Target: p95 ≤ 1 s at 200::

    .venv/bin/python bench/load_bench.py --room [--seconds 60]

``LOAD_BENCH_LOGS=DIR`` keeps each server's log there (the tracebacks behind the failures counted).
The servers run with ``XKLD_BACKUP_TIME=off`` (no daily backup during a bench).

Cluster mode (issue 19): the same sessions against replicas of the shared store, one replica
directly beside two replicas behind nginx, level by level in the same run::

    scripts/cluster.sh start          # or let the bench start (and stop) one: --start-cluster [--tiny]
    .venv/bin/python bench/load_bench.py --cluster /tmp/xkld-cluster [--sessions 10,30] [--seconds 30]

The session tokens are opened in the cluster's PostgreSQL (a bench user of its own per run), so each
is valid on every replica. Through nginx each session first asks for a page, as a browser does, and
keeps the replica the ``xkld_replica`` cookie names (its websocket and geometry files go there);
directly, all go to the first replica. Prints page runs/s, p50/p95 and failures of both, with the
ratio two/one, and how the sessions spread over the replicas; RSS is the replicas' together (the
cluster's pids, on this machine). ``--single URL --balanced URL`` overrides the two addresses.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ws_client import ROOT, Run, Server, Session, free_port, rss_mb, served_copy  # noqa: E402

DIRECTIVE_PAGES = ("Nhom_uu_tien", "Thi_truong", "San_viec_lam", "Vay_von_van_de")
OVERVIEW_ACTIONS = (("year", 0.3), ("month", 0.2), ("province", 0.2), ("level", 0.1), ("page", 0.2))
SCOPES = ("national", "province", "commune")
"""The groups of logged-in sessions with ``--scoped``: accounts of the nation, a province, a commune."""
LABELS = {"year": "Năm", "month": "Lũy kế đến tháng", "province": "Tỉnh/thành", "level": "Bản đồ cả nước"}


@dataclass
class Level:
    """What one level measured."""

    sessions: int
    think: float
    seconds: float
    runs: list[Run] = field(default_factory=list)
    first: list[Run] = field(default_factory=list)
    rss_peak_mb: float = 0.0
    replicas: Counter[str] = field(default_factory=Counter)   # sessions per replica (behind nginx)
    cpu_s: float = 0.0      # server CPU seconds used during the level
    by_group: dict[str, list[Run]] = field(default_factory=dict)   # --scoped: the runs of each scope

    def group_figures(self, group: str) -> dict[str, float]:
        """Runs, p50, p95 and failures of one group of sessions (``--scoped``)."""
        runs = self.by_group.get(group, [])
        times = sorted(r.seconds for r in runs if r.ok) or [float("nan")]
        return {"runs": float(len(runs)), "p50 s": statistics.median(times), "p95 s": _pct(times, 95),
                "failures": float(len([r for r in runs if not r.ok]))}

    def figures(self) -> dict[str, float]:
        times = sorted(r.seconds for r in self.runs if r.ok) or [float("nan")]
        firsts = [r.seconds for r in self.first if r.ok] or [float("nan")]
        every = self.runs + self.first
        return {"p50 s": statistics.median(times), "p95 s": _pct(times, 95), "max s": times[-1],
                "first page p50 s": statistics.median(firsts), "first page p95 s": _pct(sorted(firsts), 95),
                "reruns/s": len([r for r in every if r.ok]) / self.seconds,
                "KB/rerun": sum(r.bytes for r in every) / max(1, len(every)) / 1024,
                # CPU per page run: what the server spends, whatever else the machine is doing
                "server CPU ms/run": 1000 * self.cpu_s / max(1, len([r for r in every if r.ok])),
                "RSS MB": self.rss_peak_mb, "failures": float(len([r for r in every if not r.ok]))}


class Target(Protocol):
    """What the sessions talk to: a port on loopback, sticky or not, and memory to sample."""

    port: int
    sticky: bool

    def rss_mb(self) -> float: ...


@dataclass
class Remote:
    """A server this script did not start: one replica, or nginx in front of several (``sticky``)."""

    port: int
    pids: tuple[int, ...] = ()
    sticky: bool = False

    def rss_mb(self) -> float:
        """The replicas' resident memory together (nan when their processes are not on this machine)."""
        try:
            return sum(rss_mb(pid) for pid in self.pids) if self.pids else float("nan")
        except OSError:
            return float("nan")


def _pct(values: list[float], p: float) -> float:
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def _choice(options: list[str], rng: random.Random) -> str | None:
    return rng.choice(options) if options else None


async def _viewer(target: Target, token: str, until: float, think: float, level: Level,
                  rng: random.Random, group: str = "national", delay: float = 0.0) -> None:
    await asyncio.sleep(delay)   # --cold: the sessions open one after the other over the first minute
    async with Session(target.port, token, sticky=getattr(target, "sticky", False)) as s:
        level.replicas[s.replica or "-"] += 1
        level.first.append(await s.rerun(page_name=""))
        mine = level.by_group.setdefault(group, [])
        away = False
        while time.monotonic() < until:
            if think:
                await asyncio.sleep(min(rng.expovariate(1 / think), max(0.0, until - time.monotonic())))
                if time.monotonic() >= until:
                    break
            if away:
                run, away = await s.rerun(page_name=""), False
            else:
                action = rng.choices([a for a, _ in OVERVIEW_ACTIONS], [w for _, w in OVERVIEW_ACTIONS])[0]
                widget = s.widgets.get(LABELS.get(action, ""))
                if action == "page" or widget is None:
                    run, away = await s.rerun(page_name=rng.choice(DIRECTIVE_PAGES)), True
                else:
                    run = await s.rerun(widgets={widget_label(s, action): _choice(widget.options, rng)})
            level.runs.append(run)
            mine.append(run)


def widget_label(s: Session, action: str) -> str:
    return LABELS[action]


async def _visitor(target: Target, until: float, think: float, level: Level, rng: random.Random,
                   delay: float = 0.0) -> None:
    """An anonymous visitor of the public page, switching provinces."""
    await asyncio.sleep(delay)
    async with Session(target.port, sticky=getattr(target, "sticky", False)) as s:
        level.replicas[s.replica or "-"] += 1
        level.first.append(await s.rerun(page_name="Cong_khai"))
        while time.monotonic() < until:
            if think:
                await asyncio.sleep(min(rng.expovariate(1 / think), max(0.0, until - time.monotonic())))
                if time.monotonic() >= until:
                    break
            widget = s.widgets.get("Tỉnh/thành")
            run = await (s.rerun(widgets={"Tỉnh/thành": _choice(widget.options, rng)}) if widget
                         else s.rerun(page_name="Cong_khai"))
            level.runs.append(run)


async def _sample_rss(server: Target, level: Level, until: float) -> None:
    while time.monotonic() < until:
        level.rss_peak_mb = max(level.rss_peak_mb, server.rss_mb())
        await asyncio.sleep(0.5)


async def run_level(server: Target, tokens: list[str], sessions: int, seconds: float, think: float,
                    seed: int, scoped: dict[str, list[str]] | None = None, spread: float = 0.0) -> Level:
    """One level: ``sessions`` at once for ``seconds``, or (``spread``) opening at random times over
    the first ``spread`` seconds (each stays until the end); with ``scoped`` (tokens of a province's
    and a commune's account, :func:`scoped_tokens`) the logged-in sessions take turns among
    :data:`SCOPES`."""
    level = Level(sessions, think, seconds)
    rng = random.Random(seed)
    until = time.monotonic() + seconds
    visitors = sessions // 5
    opens = [rng.uniform(0, spread) if spread else 0.0 for _ in range(sessions)]
    groups = [SCOPES[i % len(SCOPES)] if scoped else "national" for i in range(sessions - visitors)]
    tasks = [_viewer(server, (scoped or {}).get(g, tokens)[i], until, think, level, random.Random(rng.random()), g,
                     opens[i])
             for i, g in enumerate(groups)]
    tasks += [_visitor(server, until, think, level, random.Random(rng.random()), opens[sessions - visitors + i])
              for i in range(visitors)]
    cpu_of = getattr(server, "cpu_s", lambda: 0.0)   # a cluster's targets do not sample CPU
    started, cpu = time.monotonic(), cpu_of()
    results = await asyncio.gather(_sample_rss(server, level, until), *tasks, return_exceptions=True)
    level.cpu_s = cpu_of() - cpu
    level.seconds = max(seconds, time.monotonic() - started)   # runs in flight at the deadline finish
    for r in results:
        if isinstance(r, BaseException):
            level.first.append(Run(0.0, 0, False, f"{type(r).__name__}: {r}"))
    return level


def scoped_tokens(copy: Path, sessions: int) -> dict[str, list[str]]:
    """Accounts of a province (a leader, viewer) and of one of its communes (the commune's officer)
    in the served copy, with ``sessions`` logged-in tokens each."""
    from ws_client import BENCH_PASSWORD

    from xkld_geo.access import auth
    from xkld_geo.database import db

    con = db.open_connection(copy)
    try:
        province, commune = db.row(con, "bench_first_commune", """
            SELECT parent_code, code FROM admin_units WHERE era = '2025' AND level = 'commune'
            ORDER BY parent_code, code LIMIT 1""") or ("", "")
        out: dict[str, list[str]] = {}
        for group, role, unit in (("province", "viewer", province), ("commune", "commune", commune)):
            name = f"bench_load_{group}"
            auth.create_user(con, name, BENCH_PASSWORD, role, unit=unit)
            out[group] = [auth.login(con, name, BENCH_PASSWORD)[0] for _ in range(sessions)]
        print(f"scoped accounts: province {province}, commune {commune}", flush=True)
        return out
    finally:
        con.close()


def measure(db_path: Path, cache: str, levels: list[tuple[int, float]], seconds: float, seed: int,
            compression: str | None = None, scoped: bool = False, spread: float = 0.0,
            warm_first: float = 0.0) -> list[Level]:
    """Every level on one server with ``XKLD_CACHE=cache`` (``scoped``: national, province and
    commune accounts' sessions mixed in each level)."""
    folder = Path(tempfile.mkdtemp(prefix=f"load-bench-{cache}-"))
    served, tokens = served_copy(db_path, folder, max(n for n, _ in levels))
    groups = scoped_tokens(served, max(n for n, _ in levels)) if scoped else None
    env = {"XKLD_CACHE": cache, "XKLD_BACKUP_TIME": "off"} | (
        {"XKLD_TODAY": os.environ["XKLD_TODAY"]} if "XKLD_TODAY" in os.environ else {})
    out: list[Level] = []
    # the baseline is the code before issue 15: no shared cache, geometry inline, no websocket compression
    # (and Streamlit's defaults: a full garbage collection after every run, the file watcher)
    options = ("--server.enableWebsocketCompression", "false", "--runner.postScriptGC", "true",
               "--server.fileWatcherType", "auto") if cache == "off" else ()
    if compression is not None and cache == "on":   # --compression: the new code with it on or off
        options += ("--server.enableWebsocketCompression", "true" if compression == "on" else "false")
    try:
        with Server(served, env, folder / "streamlit.log", options) as server:
            print(f"[{cache}] server on port {server.port}, RSS {server.rss_mb():.0f} MB at start", flush=True)
            if warm_first:   # --room: a warm server (the start-up warm-up done, each page run once), not measured
                waited = wait_idle(server)
                asyncio.run(run_level(server, tokens, 5, warm_first, levels[0][1] or 1.0, seed - 1))
                print(f"[{cache}] start-up warm-up done after {waited:.0f} s, then 5 sessions for {warm_first:g} s "
                      "(not measured)", flush=True)
            for n, think in levels:
                level = asyncio.run(run_level(server, tokens, n, seconds, think, seed, groups,
                                              spread if think else 0.0))
                out.append(level)
                f = level.figures()
                print(f"[{cache}] {n} sessions, think {think:g} s: " + ", ".join(f"{k} {v:.3g}" for k, v in f.items()),
                      flush=True)
                errors = sorted({r.error for r in level.runs + level.first if not r.ok})
                for e in errors[:5]:
                    print(f"    failure: {e}")
            warm = asyncio.run(_warm_first_pages(server, tokens))
            print(f"[{cache}] first page of a new session on the warm server, one at a time: "
                  f"p50 {statistics.median(warm):.3f} s, max {max(warm):.3f} s", flush=True)
    finally:   # the database copy (hundreds of MB) and the server log go with the run
        keep_log(folder / "streamlit.log", f"load-{cache}")
        shutil.rmtree(folder, ignore_errors=True)
    return out


def wait_idle(server: Server, limit: float = 900.0) -> float:
    """Seconds until the server, left alone, uses under 10 % of a core for 3 s (its start-up
    warm-up done), at most ``limit``."""
    started = time.monotonic()
    while time.monotonic() - started < limit:
        before = server.cpu_s()
        time.sleep(3)
        if server.cpu_s() - before < 0.3:
            break
    return time.monotonic() - started


def keep_log(log: Path, name: str) -> None:
    """Copy a server's log to ``$LOAD_BENCH_LOGS/<name>.log`` when that variable names a folder
    (to read the tracebacks behind the failures counted)."""
    target = os.environ.get("LOAD_BENCH_LOGS")
    if target and log.exists():
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(log, Path(target) / f"{name}.log")


async def _warm_first_pages(server: Server, tokens: list[str], count: int = 5) -> list[float]:
    """Seconds to the first page of ``count`` new sessions opened one after the other, once the
    levels have warmed the server: the cost of a session itself, not of a cold cache."""
    times = []
    for token in tokens[:count]:
        async with Session(server.port, token) as s:
            run = await s.rerun(page_name="")
            times.append(run.seconds if run.ok else float("nan"))
    return times


WARMUP_ORDERS = ("priority", "geometry-first")
"""``XKLD_WARMUP`` of the new code and of the old order (every map layer, then the figures)."""


def measure_cold(db_path: Path, sessions: int, spread: float, seconds: float, think: float,
                 seed: int) -> tuple[Level, Level, Level]:
    """``--cold``: for each warm-up order, a fresh server (a new process on a new copy of the
    database and its geometry files) whose first ``sessions`` sessions open at random times over
    its first ``spread`` seconds, as a meeting room arriving, and click until ``seconds``; then,
    on the server of the new order, the same sessions again once it is warm. Returns (cold with
    the new order, cold with the old order, warm) for :func:`report_cold`."""
    cold: dict[str, Level] = {}
    warm = None
    for order in WARMUP_ORDERS:
        folder = Path(tempfile.mkdtemp(prefix=f"load-bench-cold-{order}-"))
        try:
            served, tokens = served_copy(db_path, folder, sessions)
            env = {"XKLD_CACHE": "on", "XKLD_WARMUP": order, "XKLD_BACKUP_TIME": "off"} | (
                {"XKLD_TODAY": os.environ["XKLD_TODAY"]} if "XKLD_TODAY" in os.environ else {})
            with Server(served, env, folder / "streamlit.log") as server:
                print(f"[cold, XKLD_WARMUP={order}] server on port {server.port}: {sessions} sessions "
                      f"opening over {spread:g} s", flush=True)
                level = asyncio.run(run_level(server, tokens, sessions, seconds, think, seed, spread=spread))
                cold[order] = level
                print(f"[cold, XKLD_WARMUP={order}] " + ", ".join(f"{k} {v:.3g}" for k, v in level.figures().items()),
                      flush=True)
                for e in sorted({r.error for r in level.runs + level.first if not r.ok})[:5]:
                    print(f"    failure: {e}")
                if order == WARMUP_ORDERS[0]:   # the same room again on the now warm server
                    warm = asyncio.run(run_level(server, tokens, sessions, seconds, think, seed + 1, spread=spread))
                    print(f"[warm, XKLD_WARMUP={order}] " + ", ".join(f"{k} {v:.3g}" for k, v in warm.figures().items()),
                          flush=True)
        finally:
            keep_log(folder / "streamlit.log", f"cold-{order}")
            shutil.rmtree(folder, ignore_errors=True)
    assert warm is not None
    return cold[WARMUP_ORDERS[0]], cold[WARMUP_ORDERS[1]], warm


def report_cold(new: Level, old: Level, warm: Level) -> None:
    print(f"\nFigures of a restart: {new.sessions} sessions opening in the server's first minute, "
          f"{new.seconds:.0f} s (cold, new warm-up order | cold, old order XKLD_WARMUP=geometry-first | "
          "the same room on the warm server)")
    b, w = old.figures(), warm.figures()
    for key, value in new.figures().items():
        print(f"  {key:18} {value:10.3f} | {b[key]:10.3f} | {w[key]:10.3f}")


def report(new: list[Level], base: list[Level] | None,
           heading: str = "new code | baseline XKLD_CACHE=off | ratio new/baseline") -> None:
    print(f"\nFigures ({heading})")
    for i, level in enumerate(new):
        print(f"\n{level.sessions} sessions, think time {level.think:g} s, {level.seconds:.0f} s:")
        f = level.figures()
        b = base[i].figures() if base else {}
        for key, value in f.items():
            if key in b:
                ratio = value / b[key] if b[key] else float("nan")
                print(f"  {key:18} {value:10.3f} | {b[key]:10.3f} | {ratio:7.3f}")
            else:
                print(f"  {key:18} {value:10.3f}")
        if set(level.replicas) - {"-"}:   # sticky sessions: where nginx sent them
            print("  sessions per replica behind nginx: "
                  + ", ".join(f"{k} {v}" for k, v in sorted(level.replicas.items())))

def report_scoped(levels: list[Level]) -> None:
    """Each scope's p95 beside the national sessions' p95 of the same level (ratio scoped/national)."""
    print("\nScoped accounts (same server, same level: group | runs | p50 s | p95 s | p95 ratio to national "
          "| failures)")
    for level in levels:
        print(f"\n{level.sessions} sessions, think time {level.think:g} s, {level.seconds:.0f} s:")
        national = level.group_figures("national")["p95 s"]
        for group in SCOPES:
            g = level.group_figures(group)
            ratio = g["p95 s"] / national if national == national and national else float("nan")
            print(f"  {group:9} {g['runs']:6.0f} | {g['p50 s']:7.3f} | {g['p95 s']:7.3f} | {ratio:6.2f} "
                  f"| {g['failures']:.0f}")


CLUSTER = ROOT / "scripts" / "cluster.sh"


def cluster_state(folder: Path) -> dict[str, str]:
    """The variables scripts/cluster.sh wrote to ``folder/cluster.env`` (URL, PORTS, LB_PORT, pids)."""
    state = folder / "cluster.env"
    if not state.exists():
        raise SystemExit(f"no running cluster in {folder} (scripts/cluster.sh start, or --start-cluster)")
    values = dict(line.split("=", 1) for line in state.read_text().splitlines() if "=" in line)
    return {k: v.strip('"') for k, v in values.items()}


def cluster_tokens(folder: Path, url: str, sessions: int) -> list[str]:
    """A bench user of this run in the cluster's PostgreSQL and ``sessions`` logged-in tokens, valid
    on every replica (opened through the first replica's reference file, as its command line does)."""
    from xkld_geo.access import auth
    from xkld_geo.database import db
    from xkld_geo.settings import load_settings

    settings = replace(load_settings(secrets={}), database_url=url, db_path=folder / "replica-1" / "xkld.duckdb")
    con = db.open_store(settings)
    try:
        name = f"bench_load_{os.getpid()}"
        auth.create_user(con, name, "mat-khau-bench-2026", "viewer")
        return [auth.login(con, name, "mat-khau-bench-2026")[0] for _ in range(sessions)]
    finally:
        con.close()


def start_cluster(folder: Path, tiny: bool) -> dict[str, str]:
    """scripts/cluster.sh start with its state in ``folder`` on free ports (the fictional country of
    the tests with ``tiny``, else the data of XKLD_DATA_DIR as the replicas would build it)."""
    env = dict(os.environ) | {"XKLD_CLUSTER_DIR": str(folder), "XKLD_CLUSTER_PG_PORT": str(free_port()),
                              "XKLD_CLUSTER_PORTS": f"{free_port()} {free_port()}",
                              "XKLD_CLUSTER_LB_PORT": str(free_port())}
    if tiny:
        from tests.conftest import TODAY, write_tiny_data

        env |= {"XKLD_DATA_DIR": str(write_tiny_data(folder.parent / "data")), "XKLD_TODAY": TODAY.isoformat(),
                "XKLD_DEMO_SEED": "1", "XKLD_ID_KEY_FILE": str(folder.parent / "id.key")}
        os.environ["XKLD_TODAY"] = TODAY.isoformat()
    print(f"starting scripts/cluster.sh in {folder} ...", flush=True)
    done = subprocess.run(["bash", str(CLUSTER), "start"], env=env, capture_output=True, text=True, timeout=1800)
    if done.returncode != 0:
        stop_cluster(folder)
        raise SystemExit(f"scripts/cluster.sh start failed:\n{done.stderr[-3000:]}")
    return cluster_state(folder)


def stop_cluster(folder: Path) -> None:
    if (folder / "cluster.env").exists():
        subprocess.run(["bash", str(CLUSTER), "stop"], env=dict(os.environ) | {"XKLD_CLUSTER_DIR": str(folder)},
                       capture_output=True, timeout=300)


def _port(url: str) -> int:
    parsed = urllib.parse.urlparse(url if "//" in url else f"http://{url}")
    if parsed.hostname not in ("127.0.0.1", "localhost") or not parsed.port:
        raise SystemExit(f"{url}: the sessions talk to loopback ports only (http://127.0.0.1:PORT)")
    return parsed.port


def measure_cluster(folder: Path, levels: list[tuple[int, float]], seconds: float, seed: int,
                    single: str | None, balanced: str | None) -> tuple[list[Level], list[Level]]:
    """Each level against one replica directly, then against nginx in front of all (sticky)."""
    state = cluster_state(folder)
    pids = tuple(int(v) for k, v in state.items() if k.startswith("REPLICA_") and k.endswith("_PID"))
    ports = state["PORTS"].split()
    one = Remote(_port(single) if single else int(ports[0]), pids[:1])
    two = Remote(_port(balanced) if balanced else int(state["LB_PORT"]), pids, sticky=True)
    tokens = cluster_tokens(folder, state["URL"], max(n for n, _ in levels))
    print(f"one replica on port {one.port}, {len(ports)} replicas behind nginx on port {two.port}", flush=True)
    singles: list[Level] = []
    pairs: list[Level] = []
    for n, think in levels:
        for label, target, out in (("one replica", one, singles), ("behind nginx", two, pairs)):
            level = asyncio.run(run_level(target, tokens, n, seconds, think, seed))
            out.append(level)
            f = level.figures()
            print(f"[{label}] {n} sessions, think {think:g} s: " + ", ".join(f"{k} {v:.3g}" for k, v in f.items()),
                  flush=True)
            for e in sorted({r.error for r in level.runs + level.first if not r.ok})[:5]:
                print(f"    failure: {e}")
    return pairs, singles


def main() -> None:
    from xkld_geo.settings import load_settings

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, default=load_settings(secrets={}).db_path)
    parser.add_argument("--sessions", default="1,10,50", help="session counts, one level each")
    parser.add_argument("--seconds", type=float, default=30.0, help="length of each level")
    parser.add_argument("--think", type=float, default=5.0, help="mean exponential think time (s)")
    parser.add_argument("--saturation", type=int, default=10, help="sessions of the no-think level (0: none)")
    parser.add_argument("--quick", action="store_true", help="1 and 10 sessions, 10 s each, saturation 5")
    parser.add_argument("--no-baseline", action="store_true", help="skip the XKLD_CACHE=off run")
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--cluster", type=Path, metavar="DIR",
                        help="drive the running cluster whose state scripts/cluster.sh keeps in DIR "
                             "(one replica directly beside all behind nginx)")
    parser.add_argument("--start-cluster", action="store_true",
                        help="start scripts/cluster.sh in a temporary folder first (stopped afterwards)")
    parser.add_argument("--tiny", action="store_true", help="with --start-cluster: the tests' fictional country")
    parser.add_argument("--single", help="cluster mode: one replica's address (default: the first replica)")
    parser.add_argument("--balanced", help="cluster mode: nginx's address (default: the cluster's)")
    parser.add_argument("--scoped", action="store_true",
                        help="mix province and commune accounts' sessions with national ones in each level and "
                             "print their p95 beside the national p95 (new code only)")
    parser.add_argument("--compression", choices=("on", "off"), default=None,
                        help="websocket compression of the new code's server (default: as configured)")
    parser.add_argument("--cold", action="store_true",
                        help="restarts: a fresh server whose sessions (first of --sessions, default 50) open over its "
                             "first --spread seconds, warm-up in priority order beside the old order "
                             "(XKLD_WARMUP=geometry-first) and beside the same room on the warm server")
    parser.add_argument("--room", action="store_true",
                        help="a bigger room on one warm server: 50 then 200 sessions (think 5 s, opening over "
                             "--spread s), no saturation level, no XKLD_CACHE=off baseline (--sessions overrides "
                             "the counts)")
    parser.add_argument("--warm-first", type=float, default=None, metavar="SECONDS",
                        help="before the levels, wait for the server's start-up warm-up to end (its CPU idle), then 5 "
                             "unmeasured sessions for this long (default 0: neither; --room: 30)")
    parser.add_argument("--spread", type=float, default=None,
                        help="seconds over which each level's sessions open (default: 0, all at once; --room: 20; "
                             "--cold: 60, the server's first minute)")
    args = parser.parse_args()
    counts = [int(n) for n in args.sessions.split(",") if n]
    seconds, saturation = args.seconds, args.saturation
    if args.quick:
        counts, seconds, saturation = [1, 10], 10.0, 5
    if args.room:
        counts = counts if args.sessions != parser.get_default("sessions") else [50, 200]
        saturation, args.no_baseline = 0, True
    spread = args.spread if args.spread is not None else 60.0 if args.cold else 20.0 if args.room else 0.0
    levels = [(n, args.think) for n in counts] + ([(saturation, 0.0)] if saturation else [])
    if args.cluster or args.start_cluster:
        folder = args.cluster or Path(tempfile.mkdtemp(prefix="load-bench-cluster-")) / "state"
        if args.start_cluster:
            start_cluster(folder, args.tiny)
        try:
            pairs, singles = measure_cluster(folder, levels, seconds, args.seed, args.single, args.balanced)
        finally:
            if args.start_cluster:
                stop_cluster(folder)
                if not args.cluster:   # the temporary folder this run made (state, replicas' files, data)
                    shutil.rmtree(folder.parent, ignore_errors=True)
        report(pairs, singles, "replicas behind nginx | one replica directly | ratio nginx/one")
        return
    if args.scoped:
        scoped = measure(args.db, "on", levels, seconds, args.seed, args.compression, scoped=True)
        report(scoped, None, "new code, national, province and commune sessions together")
        report_scoped(scoped)
        return
    if args.cold:
        n = counts[0] if args.sessions != parser.get_default("sessions") else 50
        length = max(seconds, spread + 10)
        report_cold(*measure_cold(args.db, n, spread, length, args.think, args.seed))
        return
    warm_first = args.warm_first if args.warm_first is not None else 30.0 if args.room else 0.0
    new = measure(args.db, "on", levels, seconds, args.seed, args.compression, spread=spread, warm_first=warm_first)
    base = None if args.no_baseline else measure(args.db, "off", levels, seconds, args.seed)
    report(new, base)
    if args.room:
        print("\nA bigger room on one warm server, same run: "
              + " | ".join(f"{lv.sessions} sessions p95 {lv.figures()['p95 s']:.3f} s, "
                           f"first page p95 {lv.figures()['first page p95 s']:.3f} s, "
                           f"server CPU {lv.figures()['server CPU ms/run']:.0f} ms/run, "
                           f"failures {lv.figures()['failures']:.0f}" for lv in new))


if __name__ == "__main__":
    main()
