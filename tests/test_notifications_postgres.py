"""The outbox and the jobs on the shared PostgreSQL store, with two replicas for real: a throwaway
PostgreSQL on loopback, two worker processes (each its own DuckDB reference file and PostgreSQL
connections) started together against one SMTP sink. Each message is delivered once, each job
runs once. Skipped where PostgreSQL's server is not installed (a failure under CI=true)."""
from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path
from typing import Iterator

import pytest

from tests.conftest import settings_for
from tests.notify_support import SmtpSink, free_port
from xkld_geo.database import db
from xkld_geo.notifications import outbox
from xkld_geo.settings import PROJECT_ROOT, Settings

pytestmark = pytest.mark.postgres

MESSAGES = 40


def _pg_bin() -> str | None:
    for folder in [os.environ.get("XKLD_PG_BIN", "")] + sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if folder and os.access(os.path.join(folder, "initdb"), os.X_OK) and os.access(os.path.join(folder, "pg_ctl"),
                                                                                          os.X_OK):
            return folder
    return None


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    """A throwaway PostgreSQL (trust on loopback; owned by 'postgres' when the tests run as root)."""
    found = _pg_bin()
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("PostgreSQL (initdb, pg_ctl) missing: scripts/ensure_postgres.sh installs it")
        pytest.skip("PostgreSQL (initdb, pg_ctl) missing")
    # not under pytest's temporary root: pytest (of any concurrent session) makes that 0700 again,
    # and the server runs as another user
    folder = Path(tempfile.mkdtemp(prefix="xkld-notify-pg-"))
    os.chmod(folder, 0o777)
    prefix = ["runuser", "-u", "postgres", "--"] if os.getuid() == 0 else []
    port = free_port()
    data = folder / "data"
    subprocess.run(prefix + [f"{found}/initdb", "-D", str(data), "-A", "trust", "-U", "xkld", "--no-locale",
                             "-E", "UTF8"], check=True, capture_output=True, timeout=120)
    subprocess.run(prefix + [f"{found}/pg_ctl", "-D", str(data), "-l", str(folder / "log"), "-w", "-t", "60", "-o",
                             f"-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories={folder}", "start"],
                   check=True, capture_output=True, timeout=120)
    try:
        subprocess.run(prefix + [f"{found}/createdb", "-h", "127.0.0.1", "-p", str(port), "-U", "xkld", "xkld"],
                       check=True, capture_output=True, timeout=60)
        yield f"postgresql://xkld@127.0.0.1:{port}/xkld"
    finally:
        subprocess.run(prefix + [f"{found}/pg_ctl", "-D", str(data), "-m", "immediate", "-w", "stop"],
                       capture_output=True, timeout=60)
        shutil.rmtree(folder, ignore_errors=True)


def _replica(template: Settings, folder: Path, url: str) -> tuple[Settings, dict[str, str]]:
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template.db_path, folder / "tiny.duckdb")
    settings = settings_for(template.data_dir, folder / "tiny.duckdb")
    env = {k: v for k, v in os.environ.items() if not k.startswith("XKLD_")}
    env.update({"XKLD_DB": str(settings.db_path), "XKLD_DATA_DIR": str(template.data_dir),
                "XKLD_TODAY": "2026-03-03", "XKLD_DATABASE_URL": url, "XKLD_ID_KEY_FILE": str(folder / "id.key"),
                "XKLD_GEOMETRY_DIR": os.environ.get("XKLD_GEOMETRY_DIR", ""), "XKLD_SMTP_HOST": "127.0.0.1",
                "XKLD_SMTP_STARTTLS": "off", "XKLD_OUTBOX_BACKOFF": "0"})
    return settings, env


WORKER = """
import json, os, pathlib, sys, time
from xkld_geo.database import db
from xkld_geo.notifications import outbox, scheduler
from xkld_geo.settings import current
settings = current()
con = db.open_store(settings)
folder = pathlib.Path(sys.argv[1])
(folder / str(os.getpid())).touch()
while len(list(folder.iterdir())) < 2:   # both replicas connected: start together
    time.sleep(0.005)
jobs = scheduler.run_due_jobs(con, settings)
sent = 0
while True:
    report = outbox.send_due(con, settings, limit=3)
    sent += report.sent
    if not report.sent and not report.retried:
        break
print(json.dumps({"jobs": [r.status for r in jobs], "sent": sent}))
"""


def test_two_replicas_send_each_message_once_and_run_each_job_once(tiny_template: Settings, pg_url: str,
                                                                   tmp_path: Path) -> None:
    (one, env1), (_, env2) = (_replica(tiny_template, tmp_path / f"r{n}", pg_url) for n in (1, 2))
    sink = SmtpSink().start()
    try:
        shared = Settings(**{**one.__dict__, "database_url": pg_url})
        con = db.open_store(shared)   # makes and seeds the shared store
        try:
            with db.transaction(con):
                for i in range(MESSAGES):
                    outbox.enqueue(con, outbox.Message(
                        f"pg:{i}", "email", (f"nguoi{i}@minhhoa.example",), f"Thư {i}", f"Nội dung {i}", "review",
                        "test", attachments=(outbox.Attachment("tep.bin", "application/octet-stream",
                                                                bytes([i, 0, 255])),)))
        finally:
            con.close()
        barrier = tmp_path / "barrier"
        barrier.mkdir()
        procs = [subprocess.Popen([sys.executable, "-c", textwrap.dedent(WORKER), str(barrier)], cwd=PROJECT_ROOT,
                                  env={**env, "XKLD_SMTP_PORT": str(sink.port)}, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for env in (env1, env2)]
        outputs = []
        for proc in procs:
            out, err = proc.communicate(timeout=600)
            assert proc.returncode == 0, err[-3000:]
            outputs.append(out.strip().splitlines()[-1])
    finally:
        sink.stop()
    import json

    results = [json.loads(o) for o in outputs]
    assert sorted(r["jobs"] for r in results) == [["done"], ["taken"]]   # the reminder job ran once
    import psycopg

    with psycopg.connect(pg_url, autocommit=True) as pc:
        statuses = dict(pc.execute("SELECT status, count(*) FROM outbox GROUP BY status").fetchall())
        reminders = pc.execute("SELECT count(*) FROM outbox WHERE kind = 'reminder'").fetchone()[0]
        senders = pc.execute("SELECT count(DISTINCT claimed_by) FROM outbox").fetchone()[0]
        runs = pc.execute("SELECT job, status FROM job_runs").fetchall()
    assert runs == [("reminder", "done")]
    assert reminders > 0 and statuses == {"sent": MESSAGES + reminders}
    ids = [str(d.message["Message-ID"]) for d in sink.received]
    assert len(ids) == MESSAGES + reminders == len(set(ids))   # each message delivered once
    assert sum(r["sent"] for r in results) == len(ids)
    print("senders", senders, [r["sent"] for r in results])
    assert senders >= 1
    tests = [d for d in sink.received if d.subject.startswith("Thư ")]
    assert sorted(d.attachments()["tep.bin"][0] for d in tests) == list(range(MESSAGES))


def test_a_store_from_before_notifications_is_upgraded(tiny_template: Settings, pg_url: str, tmp_path: Path) -> None:
    """Steps 11 and 12 on a store that has not had them: the tables made, people_in_charge.email added."""
    import psycopg

    settings, _ = _replica(tiny_template, tmp_path / "r", pg_url)
    shared = Settings(**{**settings.__dict__, "database_url": pg_url})
    db.open_store(shared).close()   # the store exists (made by the test above, or here)
    with psycopg.connect(pg_url, autocommit=True) as pc:
        pc.execute("DELETE FROM schema_migrations WHERE number IN (11, 12)")
        pc.execute("ALTER TABLE people_in_charge DROP COLUMN email")
        for table in ("outbox_attachments", "outbox", "job_runs", "notification_contacts",
                      "notification_subscriptions", "province_webhooks"):
            pc.execute(f"DROP TABLE {table}")
    db.open_store(shared).close()
    with psycopg.connect(pg_url, autocommit=True) as pc:
        steps = pc.execute("SELECT number, how FROM schema_migrations WHERE number >= 11 ORDER BY 1").fetchall()
        columns = {r[0] for r in pc.execute("SELECT column_name FROM information_schema.columns "
                                            "WHERE table_name = 'people_in_charge'").fetchall()}
        kinds = dict(pc.execute("SELECT column_name, data_type FROM information_schema.columns "
                                "WHERE table_name = 'outbox_attachments'").fetchall())
    assert steps == [(11, "ran"), (12, "ran")] and "email" in columns and kinds["content"] == "bytea"
    with psycopg.connect(pg_url, autocommit=True) as pc:   # a step run again on a store that has its result
        pc.execute("DELETE FROM schema_migrations WHERE number IN (11, 12)")
    db.open_store(shared).close()
    with psycopg.connect(pg_url, autocommit=True) as pc:
        assert pc.execute("SELECT count(*) FROM schema_migrations WHERE number >= 11").fetchone() == (2,)
