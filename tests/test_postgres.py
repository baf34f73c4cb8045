"""The shared store (issue #19) against real processes: scripts/cluster.sh starts a throwaway
PostgreSQL, two app replicas and nginx; the tests drive the replicas over HTTP and run the same code
as a replica in separate worker processes (each its own DuckDB, its own PostgreSQL connections),
started together, to make the concurrency happen for real. No mocks.

Skipped where PostgreSQL or nginx is missing (scripts/ensure_postgres.sh installs them), except under
CI=true, where that is a failure, like the browser tests.
"""
from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.conftest import TODAY, write_tiny_data
from xkld_geo.settings import PROJECT_ROOT

pytestmark = pytest.mark.postgres

CLUSTER = PROJECT_ROOT / "scripts" / "cluster.sh"

PRELUDE = """
import datetime as dt, json, sys, time
from xkld_geo.access import auth
from xkld_geo.database import db
from xkld_geo import registrations
from xkld_geo.errors import XkldError
from xkld_geo.intake import ingest
from xkld_geo.planning import plans
from xkld_geo.settings import current
settings = current()
con = db.connect(settings) if CONNECT else None
def at(barrier, n=2):  # start together: once n workers are connected and ready (files in a folder)
    if not barrier:
        return
    import os, pathlib
    folder = pathlib.Path(barrier)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / str(os.getpid())).touch()
    while len(list(folder.iterdir())) < n:
        time.sleep(0.005)
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _tools_present() -> bool:
    done = subprocess.run(["bash", str(PROJECT_ROOT / "scripts" / "ensure_postgres.sh")], capture_output=True)
    return done.returncode == 0


@dataclass
class Cluster:
    """The running cluster: its state folder, environment, ports and the PostgreSQL URL."""

    folder: Path
    env: dict[str, str]
    url: str
    ports: tuple[int, int]
    lb: int

    def replica_env(self, n: int) -> dict[str, str]:
        """The environment replica ``n`` (1 or 2) runs with."""
        return {**self.env, "XKLD_DATABASE_URL": self.url,
                "XKLD_DB": str(self.folder / f"replica-{n}" / "xkld.duckdb")}

    def worker(self, n: int, code: str, connect: bool = True) -> subprocess.Popen[str]:
        """Start a process running ``code`` with replica ``n``'s settings (not waited for)."""
        source = f"CONNECT = {connect}\n" + PRELUDE + textwrap.dedent(code)
        return subprocess.Popen([sys.executable, "-c", source], cwd=PROJECT_ROOT,
                                env=self.replica_env(n), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def run(self, n: int, code: str, timeout: float = 120, connect: bool = True) -> str:
        """Run ``code`` in a worker of replica ``n`` and return what it printed."""
        proc = self.worker(n, code, connect)
        out, err = proc.communicate(timeout=timeout)
        assert proc.returncode == 0, err[-3000:]
        return out.strip()

    def sql(self, query: str, *params: Any) -> list[tuple[Any, ...]]:
        """Read PostgreSQL directly (psycopg), to check what the replicas wrote."""
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as pc:
            return pc.execute(query, params).fetchall()

    def script(self, *command: str) -> None:
        subprocess.run(["bash", str(CLUSTER), *command], env=self.env, check=True, timeout=300,
                       capture_output=True)


def health(port: int, cookies: str | None = None) -> tuple[int, dict[str, Any], str]:
    """GET /xkld/health on ``port``: status, JSON body and the Set-Cookie header."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}/xkld/health")
    if cookies:
        request.add_header("Cookie", cookies)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read()), response.headers.get("Set-Cookie", "")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}"), exc.headers.get("Set-Cookie", "")


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """PostgreSQL, two replicas of the fictional country and nginx, for the whole session."""
    if not _tools_present():
        message = "PostgreSQL or nginx missing (scripts/ensure_postgres.sh could not install them)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    root = tmp_path_factory.mktemp("cluster")
    ports = (_free_port(), _free_port())
    lb = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("XKLD_")}
    env.update({"XKLD_CLUSTER_DIR": str(root / "state"), "XKLD_DATA_DIR": str(write_tiny_data(root / "data")),
                "XKLD_TODAY": TODAY.isoformat(), "XKLD_DEMO_SEED": "1", "XKLD_ID_KEY_FILE": str(root / "id.key"),
                "XKLD_CLUSTER_PG_PORT": str(_free_port()), "XKLD_CLUSTER_PORTS": f"{ports[0]} {ports[1]}",
                "XKLD_CLUSTER_LB_PORT": str(lb), "XKLD_LOGIN_DELAY_BASE": "30"})
    started = subprocess.run(["bash", str(CLUSTER), "start"], env=env, capture_output=True, text=True, timeout=600)
    state = root / "state" / "cluster.env"
    try:
        assert started.returncode == 0, started.stderr[-3000:]
        values = dict(line.split("=", 1) for line in state.read_text().splitlines() if "=" in line)
        yield Cluster(root / "state", env, values["URL"], ports, lb)
    finally:
        if state.exists():
            subprocess.run(["bash", str(CLUSTER), "stop"], env=env, capture_output=True, timeout=120)


def served_by(cookie: str) -> str:
    """The replica nginx says served an answer (its sticky cookie; the health answer names none)."""
    found = re.search(r"xkld_replica=(\w+)", cookie)
    return found.group(1) if found else ""


def test_nginx_spreads_new_clients_and_keeps_each_on_its_replica(cluster: Cluster) -> None:
    first = [health(cluster.lb) for _ in range(4)]
    assert {served_by(cookie) for _, _, cookie in first} == {"r1", "r2"}   # round robin without a cookie
    for status, body, _ in first:
        assert status == 200 and body == {"status": "up"}                   # up, and nothing more
    for replica in ("r1", "r2"):                                             # the cookie holds a client
        assert {served_by(health(cluster.lb, f"xkld_replica={replica}")[2]) for _ in range(4)} == {replica}


def test_each_migration_ran_once_from_the_declarations(cluster: Cluster) -> None:
    from xkld_geo.database import store
    from xkld_geo.database.schema import migrations

    rows = cluster.sql("SELECT number, count(*) FROM schema_migrations GROUP BY number ORDER BY number")
    assert rows == [(m.number, 1) for m in migrations.MIGRATIONS]
    tables = {r[0] for r in cluster.sql("SELECT table_name FROM information_schema.tables "
                                        "WHERE table_schema = 'public'")}
    assert tables == {t.name for t in store.shared_tables()} | {"schema_migrations"}
    assert "admin_units" not in tables and {"departures", "users", "sessions", "plans"} <= tables
    # a replica restarting (a new process) finds the schema current and runs nothing
    assert cluster.run(2, "from xkld_geo.database import store; print(store.ensure_schema(con, settings))") == "[]"


def test_a_step_the_store_has_not_had_runs_once_under_the_lock(cluster: Cluster) -> None:
    """A store made by an older version (here: step 4 forgotten) gets the step when replicas
    start, once, however many start together."""
    from xkld_geo.database.schema import migrations

    cluster.sql("DELETE FROM schema_migrations WHERE number = %s RETURNING number", migrations.LATEST)
    start = tempfile.mkdtemp(prefix="xkld-barrier-")
    code = f"""
        at({start!r})
        db.connect(settings)   # the replica starting: attach, and make the schema current
        print("started")"""
    workers = [cluster.worker(n, code, connect=False) for n in (1, 2)]
    outs = [w.communicate(timeout=120) for w in workers]
    assert [o.strip() for o, _ in outs] == ["started", "started"], outs
    upgraded = [e for _, e in outs if f"upgraded: migrations [{migrations.LATEST}]" in e]
    assert len(upgraded) == 1, outs
    assert cluster.sql("SELECT how FROM schema_migrations WHERE number = %s", migrations.LATEST) == [("ran",)]


def test_two_planners_approving_one_plan_on_two_replicas(cluster: Cluster) -> None:
    pid = int(cluster.run(1, """
        planner = auth.User("kehoach", "Kế hoạch", "planner")
        base = plans.base_table(con, 2026, "99")
        table = plans.propose(base, plans.Params(70, floor=2, cap_pct=None))
        quotas = dict(zip(table["code"], table["proposed"].astype(int)))
        pid, _ = plans.save_draft(con, year=2026, province="99", name="Cụm", params=plans.Params(70, floor=2,
                                  cap_pct=None), quotas=quotas, user=planner)
        plans.submit(con, pid, planner)
        print(pid)"""))
    start = tempfile.mkdtemp(prefix="xkld-barrier-")
    code = f"""
        at({start!r})
        try:
            plans.approve(con, {pid}, auth.User("quantri", "Quản trị", "admin"))
            print("approved")
        except XkldError as exc:
            print(exc.details.get("reason"))"""
    workers = [cluster.worker(n, code) for n in (1, 2)]
    outcomes = sorted(w.communicate(timeout=120)[0].strip() for w in workers)
    assert outcomes == ["approved", "stale"]
    assert cluster.sql("SELECT status, version FROM plans WHERE plan_id = %s", pid) == [("approved", 3)]
    assert cluster.sql("SELECT count(*) FROM audit_log WHERE action = 'plan_approved' AND target = %s",
                       str(pid)) == [(1,)]


def _csv(commune: str, count: int) -> str:
    return f"Tháng,Mã xã,Thị trường,Giới tính,Hình thức,Số người\n01/2026,{commune},JP,nam,dn,{count}\n"


def _import_at(start: str, text: str, name: str, together: int = 2) -> str:
    return f"""
        at({start!r}, {together})
        report = ingest.import_file(con, {text!r}.encode(), {name!r}, "departures", "can_bo", settings)
        print(report.outcome, report.accepted, report.import_id)"""


def _entered(cluster: Cluster, commune: str) -> int | None:
    rows = cluster.sql("SELECT sum(departures) FROM departures WHERE commune_code = %s AND month = '2026-01-01' "
                       "AND NOT is_demo", commune)
    return rows[0][0]


def test_two_communes_imported_at_once_both_land(cluster: Cluster) -> None:
    start = tempfile.mkdtemp(prefix="xkld-barrier-")
    workers = [cluster.worker(1, _import_at(start, _csv("99002", 7), "xa2.csv")),
               cluster.worker(2, _import_at(start, _csv("99003", 9), "xa3.csv"))]
    outs = [w.communicate(timeout=120) for w in workers]
    results = [o.strip().split() for o, _ in outs]
    assert [r[:2] for r in results] == [["ok", "1"], ["ok", "1"]], outs
    assert results[0][2] != results[1][2]                       # each its own import number
    assert (_entered(cluster, "99002"), _entered(cluster, "99003")) == (7, 9)


def test_one_file_imported_on_two_replicas_at_once_counts_once(cluster: Cluster) -> None:
    start = tempfile.mkdtemp(prefix="xkld-barrier-")
    text = _csv("99004", 5)
    workers = [cluster.worker(n, _import_at(start, text, "cung_tep.csv")) for n in (1, 2)]
    outcomes = sorted(w.communicate(timeout=120)[0].split()[0] for w in workers)
    assert outcomes == ["ok", "unchanged"]
    assert _entered(cluster, "99004") == 5


def test_a_write_on_one_replica_is_seen_on_the_other_within_a_second(cluster: Cluster) -> None:
    """Replica 1 keeps the national figures by data version; an import through replica 2 moves
    the version, so replica 1's next page run shows the new figures within a second."""
    importer = PRELUDE.replace("CONNECT", "True") + textwrap.dedent(_import_at("", _csv("99006", 11), "moi.csv", 0))
    out = cluster.run(1, f"""
        import os, subprocess
        from xkld_geo.figures import queries
        def total():
            return int(queries.attainment(con, 2026, "province", "99")["departures"].sum())
        before = total()
        start = time.time()
        assert total() == before and time.time() - start < 0.05   # kept: no query through PostgreSQL
        env = dict(os.environ, XKLD_DB={str(cluster.folder / "replica-2" / "xkld.duckdb")!r})
        subprocess.run([sys.executable, "-c", {importer!r}], env=env, check=True)
        start = time.time()
        while total() == before and time.time() - start < 5:
            time.sleep(0.02)
        print(total() != before, time.time() - start)""")
    changed, seconds = out.splitlines()[-1].split()   # (the importer printed its report first)
    assert changed == "True" and float(seconds) < 1.0, out


def test_two_replicas_bumping_the_data_version_at_once_both_succeed(cluster: Cluster) -> None:
    """Writes of different kinds (an import here, an approval there) take different locks, so their
    bumps meet: each replica bumps 25 times in its own transactions while the other does. With
    ``max + 1`` in the extension's REPEATABLE READ transactions one failed on the primary key."""
    (count, top), = cluster.sql("SELECT count(*), COALESCE(max(version), 0) FROM data_version")
    start = tempfile.mkdtemp(prefix="xkld-barrier-")
    code = f"""
        from xkld_geo.database import dataversion
        at({start!r})
        for i in range(25):
            with db.transaction(con):
                dataversion.bump(con, f"test:{{i}}")
                time.sleep(0.005)
        print("ok")"""
    outs = [w.communicate(timeout=180) for w in [cluster.worker(n, code) for n in (1, 2)]]
    assert [o.strip() for o, _ in outs] == ["ok", "ok"], [e[-2000:] for _, e in outs]
    (count_after, top_after), = cluster.sql("SELECT count(*), max(version) FROM data_version")
    assert count_after == count + 50 and top_after >= top + 50


def test_version_numbers_follow_the_commits(cluster: Cluster) -> None:
    """A bump waits for an earlier one's commit, so the later commit has the larger number and
    ``max(version)`` moves with each commit (the cache of every replica relies on it)."""
    go = Path(tempfile.mkdtemp()) / "bumped"
    both = tempfile.mkdtemp(prefix="xkld-barrier-")
    fast = cluster.worker(2, f"""
        import pathlib
        from xkld_geo.database import dataversion
        at({both!r})
        while not pathlib.Path({str(go)!r}).exists():           # connected: wait for the slow bump
            time.sleep(0.01)
        started = time.time()
        with db.transaction(con):
            dataversion.bump(con, "test:fast")
        print(time.time() - started)""")
    slow = cluster.worker(1, f"""
        import pathlib
        from xkld_geo.database import dataversion
        at({both!r})
        with db.transaction(con):
            dataversion.bump(con, "test:slow")
            pathlib.Path({str(go)!r}).touch()
            time.sleep(1.0)                                     # the other bump comes meanwhile
        print("ok")""")
    outs = [w.communicate(timeout=120) for w in (slow, fast)]
    assert outs[0][0].strip() == "ok", outs[0][1][-2000:]
    assert float(outs[1][0].strip()) > 0.3, outs[1]             # it waited for the slow one's commit
    versions = dict(cluster.sql("SELECT reason, version FROM data_version WHERE reason IN ('test:slow', 'test:fast')"))
    assert versions["test:fast"] > versions["test:slow"], versions


def test_replica_b_sees_a_bump_within_a_second_and_logins_move_nothing(cluster: Cluster) -> None:
    """Both caches read one counter (dataversion.current): a login on replica 1 leaves replica
    2's version (and kept figures) alone; a bump on replica 1 reaches replica 2 within 1 s."""
    login = PRELUDE.replace("CONNECT", "True") + textwrap.dedent("""
        auth.create_user(con, "dem", "mat-khau-thu-nghiem", "viewer")
        auth.login(con, "dem", "mat-khau-thu-nghiem")""")
    bump = PRELUDE.replace("CONNECT", "True") + textwrap.dedent("""
        from xkld_geo.database import dataversion
        with db.transaction(con):
            dataversion.bump(con, "test:seen")""")
    env = {**cluster.replica_env(1)}
    out = cluster.run(2, f"""
        import subprocess
        from xkld_geo.database import cache, dataversion, store
        before = store.data_version(settings, con)
        assert cache.stamp(con)[1] == before == dataversion.current(con)   # one counter for both caches
        subprocess.run([sys.executable, "-c", {login!r}], env={env!r}, check=True)
        time.sleep(0.6)                                         # past the half second
        assert store.data_version(settings, con) == before, "a login moved the data version"
        subprocess.run([sys.executable, "-c", {bump!r}], env={env!r}, check=True)
        start = time.time()
        while store.data_version(settings, con) == before and time.time() - start < 5:
            time.sleep(0.02)
        print(store.data_version(settings, con) > before, time.time() - start)""")
    changed, seconds = out.splitlines()[-1].split()
    assert changed == "True" and float(seconds) < 1.0, out


def test_sessions_and_login_lockout_are_shared(cluster: Cluster) -> None:
    token = cluster.run(1, """
        auth.create_user(con, "chung", "mat-khau-thu-nghiem", "viewer")
        token, _ = auth.login(con, "chung", "mat-khau-thu-nghiem")
        print(token)""")
    for n in (1, 2):                                            # opened through replica 1's code, valid on both
        assert cluster.run(n, f"print(auth.session_user(con, {token!r}).username)") == "chung"
    for port in cluster.ports:                                  # the health check names nobody, cookie or not
        assert health(port, f"xkld_session={token}")[:2] == (200, {"status": "up"})
    # failed logins on replica 1 lock the name out on replica 2 too
    cluster.run(1, """
        for _ in range(5):
            try:
                auth.login(con, "chung", "sai", source="10.0.0.1")
            except XkldError:
                pass""")
    refused = cluster.run(2, """
        try:
            auth.login(con, "chung", "mat-khau-thu-nghiem", source="10.0.0.1")
            print("logged in")
        except XkldError as exc:
            print("refused", exc.details.get("reason"))""")
    assert refused == "refused rate_limited", refused


def test_the_command_line_works_while_the_replicas_run(cluster: Cluster) -> None:
    done = subprocess.run([sys.executable, "-m", "xkld_geo", "users", "add", "dongloat", "--role", "planner",
                           "--name", "Dòng lệnh", "--password-stdin"], input="mat-khau-dong-lenh\n",
                          cwd=PROJECT_ROOT, env=cluster.replica_env(1), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert cluster.sql("SELECT role FROM users WHERE username = 'dongloat'") == [("planner",)]
    assert all(health(port)[0] == 200 for port in cluster.ports)


def _cli(cluster: Cluster, n: int, *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([sys.executable, "-m", "xkld_geo", *args], cwd=PROJECT_ROOT, env=cluster.replica_env(n),
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def test_a_build_says_what_it_does_to_the_store_and_a_reseed_keeps_the_work(cluster: Cluster) -> None:
    """``build`` with the store set makes its schema current and changes no row, and says so;
    ``build --reseed-store`` replaces the built rows (here: demo rows lost are back) and keeps
    accounts, sessions and entered figures, in one transaction, bumping the data version."""
    tables = ("departures", "users", "sessions", "audit_log", "plans", "import_log")
    count = {t: cluster.sql(f"SELECT count(*) FROM {t}")[0][0] for t in tables}
    out = _cli(cluster, 1, "build").stdout
    assert "lược đồ đã hiện hành" in out and "không thay đổi dòng nào" in out and "--reseed-store" in out, out
    assert {t: cluster.sql(f"SELECT count(*) FROM {t}")[0][0] for t in tables} == count

    token = cluster.run(1, """
        auth.create_user(con, "giulai", "mat-khau-thu-nghiem", "viewer")
        print(auth.login(con, "giulai", "mat-khau-thu-nghiem")[0])""")
    entered = "Tháng,Mã xã,Thị trường,Giới tính,Hình thức,Số người\n02/2026,99002,KR,nu,dn,6\n"
    assert cluster.run(1, _import_at(tempfile.mkdtemp(), entered, "giu.csv", 1)).split()[:2] == ["ok", "1"]
    demo = "SELECT count(*) FROM departures WHERE is_demo AND commune_code = '99001'"
    (demo_rows,), = cluster.sql(demo)
    assert demo_rows > 0
    cluster.sql("DELETE FROM departures WHERE is_demo AND commune_code = '99001' RETURNING 1")
    users = cluster.sql("SELECT username FROM users ORDER BY 1")
    migrations_before = cluster.sql("SELECT number, how FROM schema_migrations ORDER BY 1")

    out = _cli(cluster, 1, "build", "--reseed-store").stdout
    assert "đã nạp lại từ bản dựng mới" in out, out
    assert cluster.sql(demo) == [(demo_rows,)]                               # the build's rows are back
    assert cluster.sql("SELECT sum(departures) FROM departures WHERE commune_code = '99002' "
                       "AND month = '2026-02-01' AND NOT is_demo") == [(6,)]   # the entered figure kept
    assert cluster.sql("SELECT username FROM users ORDER BY 1") == users
    assert cluster.sql("SELECT number, how FROM schema_migrations ORDER BY 1") == migrations_before
    assert cluster.sql("SELECT reason FROM data_version ORDER BY version DESC LIMIT 1") == [("reseed",)]
    for n in (1, 2):                                                         # the session still holds
        assert cluster.run(n, f"print(auth.session_user(con, {token!r}).username)") == "giulai"
    assert cluster.run(2, """
        from xkld_geo.database import dataversion
        with db.transaction(con):
            dataversion.bump(con, "test:after-reseed")
        print("ok")""") == "ok"                                              # the sequence is past every version


def test_postgres_restarted_while_the_app_runs(cluster: Cluster) -> None:
    assert all(health(port)[0] == 200 for port in cluster.ports)
    go = Path(tempfile.mkdtemp()) / "restarted"
    reader = cluster.worker(1, f"""
        import pathlib
        from xkld_geo.figures import queries
        def total():
            return int(queries.attainment(con, 2026, "province", "99")["departures"].sum())
        before = total()
        print("ready", flush=True)
        while not pathlib.Path({str(go)!r}).exists():
            time.sleep(0.05)
        time.sleep(0.6)                                         # past the data version's half second
        print(total() == before)""")
    assert reader.stdout is not None and reader.stdout.readline().strip() == "ready"
    cluster.script("pg-restart")
    go.touch()
    out, err = reader.communicate(timeout=120)
    assert out.strip() == "True", err[-2000:]                   # same process, same figures, no error
    for port in cluster.ports:                                  # the replicas reconnect by themselves
        status, body, _ = health(port)
        assert (status, body) == (200, {"status": "up"}), body


def test_an_import_interrupted_by_a_restart_is_rolled_back_and_can_be_retried(cluster: Cluster) -> None:
    import psycopg

    text = _csv("99005", 4)
    blocker = psycopg.connect(cluster.url)
    blocker.execute("LOCK TABLE audit_log IN EXCLUSIVE MODE")  # the import's last write will wait here
    worker = cluster.worker(1, f"""
        try:
            ingest.import_file(con, {text!r}.encode(), "ngat.csv", "departures", "can_bo", settings)
            print("ok")
        except XkldError as exc:
            print("failed", exc.details.get("reason"))""")
    try:
        for _ in range(120):   # until the import is inside its transaction, waiting on the lock
            waiting = cluster.sql("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")[0][0]
            if waiting:
                break
            time.sleep(0.5)
        assert waiting, "the import never reached its transaction"
        cluster.script("pg-restart")                            # ends the import's transaction (and the lock)
    finally:
        try:
            blocker.close()
        except psycopg.Error:
            pass
    out, err = worker.communicate(timeout=120)
    assert out.startswith("failed"), (out, err[-2000:])
    assert _entered(cluster, "99005") is None                   # nothing half-written
    retried = cluster.run(2, _import_at(tempfile.mkdtemp(), text, "ngat.csv", together=1))
    assert retried.split()[:2] == ["ok", "1"]
    assert _entered(cluster, "99005") == 4


PAGE = """
    from streamlit.testing.v1 import AppTest
    at_ = AppTest.from_file("app.py", default_timeout=90)
    if con is not None:   # signed in as a viewer (the overview is for officials)
        auth.create_user(con, "xem", "mat-khau-thu-nghiem", "viewer")
        at_.session_state["auth_token"] = auth.login(con, "xem", "mat-khau-thu-nghiem")[0]
    at_.run()
    print(json.dumps({"errors": [e.value for e in at_.error], "exceptions": [str(e.value)[:300] for e in at_.exception],
                      "metrics": {m.label: m.value for m in at_.metric}}))"""


def test_the_overview_page_runs_on_the_shared_store(cluster: Cluster) -> None:
    from xkld_geo.figures import metrics

    shown = json.loads(cluster.run(1, PAGE, timeout=180).splitlines()[-1])
    assert shown["exceptions"] == [] and shown["errors"] == [], shown
    quota = cluster.sql("SELECT sum(quota) FROM quotas WHERE year = 2026 AND unit_level = 'commune'")[0][0]
    assert shown["metrics"]["Chỉ tiêu năm"] == metrics.fmt_int(quota)   # the shared figures, not the local file's


def test_postgres_down_pages_say_so_without_a_traceback(cluster: Cluster) -> None:
    from xkld_geo.database import store

    cluster.script("pg-stop")
    try:
        for port in cluster.ports:
            status, body, _ = health(port)
            assert (status, body) == (503, {"status": "down"})     # the reason is in the server's log only
        shown = json.loads(cluster.run(1, PAGE, timeout=180, connect=False).splitlines()[-1])
        assert shown["exceptions"] == []
        assert len(shown["errors"]) == 1 and store.DOWN.split("(")[0] in shown["errors"][0]
    finally:
        cluster.script("pg-start")
    assert all(health(port)[0] == 200 for port in cluster.ports)


def test_the_shared_tables_come_from_the_registry() -> None:
    """Every table the app writes at run time is declared so: operational, edited, or derived and
    ``written`` (entered figures); the reference data stays local. Needs no PostgreSQL."""
    from xkld_geo.database import store
    from xkld_geo.database.schema import TABLES
    from xkld_geo.intake import writes

    shared = {t.name for t in store.shared_tables()}
    assert {t.table for t in writes.TARGETS.values()} | {"departures_profile"} <= shared
    assert {t.name for t in TABLES if t.kind != "derived"} <= shared
    assert not {"admin_units", "unit_shapes", "crosswalk", "country_shapes", "dataset_meta"} & shared
    assert "DOUBLE PRECISION" in store.postgres_ddl(next(t.ddl for t in TABLES if t.name == "programme_monthly"))
    assert "REFERENCES" not in store.postgres_ddl(next(t.ddl for t in TABLES if t.name == "departures"))


@pytest.mark.browser
def test_a_browser_behind_nginx_stays_logged_in_across_reloads_and_a_killed_replica(cluster: Cluster,
                                                                                    page: Any) -> None:
    """Through the generated nginx on a port other than 80/443 (its own free port): the login sets the
    HttpOnly cookie (the gateway's origin check sees the browser's host and port), a reload keeps the
    user logged in, and so does a reload after the replica serving the browser is killed."""
    cluster.run(1, """auth.create_user(con, "quanhe", "mat-khau-qua-nginx", "viewer")""")
    url = f"http://127.0.0.1:{cluster.lb}/"
    page.goto(url)
    page.get_by_label("Tên đăng nhập").fill("quanhe")
    page.get_by_label("Mật khẩu").fill("mat-khau-qua-nginx")
    page.get_by_role("button", name="Đăng nhập").click()
    page.get_by_text("Đăng nhập:").first.wait_for(state="attached", timeout=30_000)

    def cookies() -> dict[str, str]:
        return {c["name"]: c["value"] for c in page.context.cookies(url)}

    deadline = time.monotonic() + 20
    while "xkld_session" not in cookies() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert "xkld_session" in cookies(), "POST /xkld/session was refused behind nginx: no session cookie"
    assert all(status != 403 for address, status in page.responses if "/xkld/session" in address)
    page.reload()
    page.get_by_text("Đăng nhập:").first.wait_for(state="attached", timeout=30_000)
    served = cookies()["xkld_replica"]
    assert served in ("r1", "r2")
    try:
        cluster.script("kill", served)
        page.reload()
        page.get_by_text("Đăng nhập:").first.wait_for(state="attached", timeout=60_000)
        assert cookies()["xkld_replica"] != served      # the other replica answers now, same session
    finally:
        cluster.script("restart", served)
    for port in cluster.ports:
        assert health(port)[0] == 200


def test_keyed_lookups_ask_postgres_by_key_and_a_logout_ends_the_session_at_once(cluster: Cluster) -> None:
    """The session of every page run and the data version are asked of PostgreSQL directly (one
    statement each, by key) on the shared store, and answer as the extension's scan does: the same
    user, nobody after a logout on the other replica, the version another replica just bumped."""
    token = cluster.run(1, """
        auth.create_user(con, "khoa", "mat-khau-theo-khoa", "planner")
        print(auth.login(con, "khoa", "mat-khau-theo-khoa")[0])""")
    out = cluster.run(2, f"""
        from xkld_geo.database import dataversion, store
        assert settings.store_reads == "keyed"
        user = auth.session_user(con, {token!r})
        print(user.username, user.role, dataversion.current_keyed(con) == dataversion.current(con))
        names = [pc.info.get_parameters().get("application_name") for pcs in store._keyed_idle.values() for pc in pcs]
        print(sorted(set(names)))""")
    first, kept = out.splitlines()
    assert first == "khoa planner True"
    assert kept == "['xkld_geo:keyed']"          # the lookup went by psycopg, and its connection is kept
    cluster.run(1, f"auth.logout(con, {token!r})")
    assert cluster.run(2, f"print(auth.session_user(con, {token!r}))") == "None"


def test_a_rolling_upgrade_under_load_fails_no_request_and_logs_nobody_out(cluster: Cluster) -> None:
    """`cluster.sh upgrade` drains, rebuilds and restarts each replica in turn while clients keep asking
    nginx: no request fails, every replica has a new process, and a session opened before is still live."""
    import threading

    token = cluster.run(1, """
        auth.create_user(con, "nangcap", "mat-khau-nang-cap", "viewer")
        print(auth.login(con, "nangcap", "mat-khau-nang-cap")[0])""")
    before = dict(line.split("=", 1) for line in (cluster.folder / "cluster.env").read_text().splitlines()
                  if line.startswith("REPLICA_"))
    failures: list[str] = []
    answered = [0]
    stop = threading.Event()

    def ask() -> None:
        while not stop.is_set():
            for path in ("/xkld/health", "/"):
                request = urllib.request.Request(f"http://127.0.0.1:{cluster.lb}{path}",
                                                 headers={"Cookie": f"xkld_session={token}"})
                try:
                    with urllib.request.urlopen(request, timeout=30) as response:
                        answered[0] += response.status == 200
                except (urllib.error.URLError, OSError) as exc:
                    failures.append(f"{path}: {exc}")
            time.sleep(0.05)

    clients = [threading.Thread(target=ask) for _ in range(3)]
    for c in clients:
        c.start()
    try:
        cluster.script("upgrade")
    finally:
        stop.set()
        for c in clients:
            c.join(60)
    after = dict(line.split("=", 1) for line in (cluster.folder / "cluster.env").read_text().splitlines()
                 if line.startswith("REPLICA_"))
    assert not failures, failures[:5]
    assert answered[0] > 50
    assert set(before) == set(after) and all(before[k] != after[k] for k in before)   # every replica restarted
    for pid in after.values():        # with the settings it was started with (XKLD_TODAY, the data...)
        environ = Path(f"/proc/{pid.strip()}/environ").read_bytes().split(b"\0")
        assert f"XKLD_TODAY={TODAY.isoformat()}".encode() in environ
    assert cluster.run(2, f"print(auth.session_user(con, {token!r}).username)") == "nangcap"
    for port in cluster.ports:
        assert health(port)[0] == 200


def test_a_backup_of_the_store_restores_every_row_into_a_fresh_database(cluster: Cluster) -> None:
    """`cluster.sh backup` (pg_dump) and `restore` into a new database: every shared table holds the
    same rows (accounts, plans, imports, cases...), and a replica's code reads the restored store."""
    cluster.run(1, """
        auth.create_user(con, "saoluu_pg", "mat-khau-sao-luu-pg", "clerk")
        """ + _import_at("", _csv("99004", 5), "saoluu.csv", 1).replace("at('', 1)", ""))
    done = subprocess.run(["bash", str(CLUSTER), "backup"], env=cluster.env, capture_output=True, text=True,
                          timeout=300, check=True)
    dump = Path(done.stdout.strip().splitlines()[-1])
    assert dump.exists() and oct(dump.stat().st_mode & 0o777) == "0o600"
    done = subprocess.run(["bash", str(CLUSTER), "restore", str(dump), "xkld_khoiphuc"], env=cluster.env,
                          capture_output=True, text=True, timeout=300, check=True)
    restored = done.stdout.strip().splitlines()[-1]
    assert restored.endswith("/xkld_khoiphuc")
    import psycopg

    tables = [r[0] for r in cluster.sql("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
    assert {"users", "plans", "import_log", "departures", "cases", "sessions"} <= set(tables)
    with psycopg.connect(restored, autocommit=True) as pc:
        for table in tables:
            original = cluster.sql(f'SELECT count(*) FROM "{table}"')[0][0]
            assert pc.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0] == original, table
    env = {**cluster.replica_env(1), "XKLD_DATABASE_URL": restored}
    out = subprocess.run([sys.executable, "-c", "CONNECT = True\n" + PRELUDE + textwrap.dedent("""
        print(db.value(con, "t", "SELECT count(*) FROM users WHERE username = 'saoluu_pg'"),
              db.value(con, "t2", "SELECT sum(departures) FROM departures WHERE commune_code = '99004' "
                                  "AND NOT is_demo"))""")], cwd=PROJECT_ROOT, env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split()[0] == "1" and float(out.stdout.split()[1]) >= 5


def test_the_nightly_backup_script_dumps_and_keeps_the_newest(cluster: Cluster, tmp_path: Path) -> None:
    """scripts/deploy/pg_backup.sh (what xkld-pg-backup.timer runs): a dump readable by its owner only,
    the newest XKLD_PG_BACKUP_KEEP kept, no partial file left."""
    state = dict(line.split("=", 1) for line in (cluster.folder / "cluster.env").read_text().splitlines() if "=" in line)
    env = {**os.environ, "PGHOST": "127.0.0.1", "PGPORT": state["PG_PORT"], "PGUSER": "xkld", "PGDATABASE": "xkld",
           "XKLD_PG_BACKUP_DIR": str(tmp_path), "XKLD_PG_BACKUP_KEEP": "2",
           "PATH": f"{state['PG_BIN']}:{os.environ.get('PATH', '')}"}
    for _ in range(3):
        subprocess.run(["bash", str(PROJECT_ROOT / "scripts" / "deploy" / "pg_backup.sh")], env=env, check=True,
                       capture_output=True, timeout=120)
        time.sleep(1.1)   # the file names carry the second
    dumps = sorted(tmp_path.glob("xkld-*.dump"))
    assert len(dumps) == 2 and not list(tmp_path.glob("*.partial"))
    assert all(oct(d.stat().st_mode & 0o777) == "0o600" for d in dumps)
    listed = subprocess.run([f"{state['PG_BIN']}/pg_restore", "--list", str(dumps[-1])], capture_output=True,
                            text=True, check=True).stdout
    assert "TABLE DATA public users" in listed
