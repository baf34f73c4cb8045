"""The several-machine layout for real (scripts/hosts.sh): PostgreSQL, two replicas and nginx, each in
its own network namespace on a private link, the replicas reaching PostgreSQL over TLS with scram and
nginx reaching the replicas over the link. Needs root and iproute2, PostgreSQL and nginx (installed by
the set-up scripts); skipped without them, except under CI=true, where that is a failure."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import urllib.request
from pathlib import Path
from typing import Iterator

import pytest

from tests.conftest import TODAY, write_tiny_data
from xkld_geo.settings import PROJECT_ROOT

pytestmark = pytest.mark.postgres

HOSTS = PROJECT_ROOT / "scripts" / "hosts.sh"
LB, APP1, APP2, DB = "10.77.0.13:8080", "10.77.0.11:8501", "10.77.0.12:8501", "10.77.0.10"


def _missing() -> str | None:
    if os.geteuid() != 0:
        return "not root: network namespaces need root"
    if subprocess.run(["bash", str(PROJECT_ROOT / "scripts" / "ensure_postgres.sh")], capture_output=True).returncode:
        return "PostgreSQL or nginx missing"
    if shutil.which("ip") is None and not Path("/usr/sbin/ip").exists():
        return "iproute2 missing"
    return None


@pytest.fixture(scope="module")
def hosts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    why = _missing()
    if why:
        if os.environ.get("CI") == "true":
            pytest.fail(why)
        pytest.skip(why)
    root = tmp_path_factory.mktemp("hosts")
    env = {k: v for k, v in os.environ.items() if not k.startswith("XKLD_")}
    env.update({"XKLD_HOSTS_DIR": str(root / "state"), "XKLD_DATA_DIR": str(write_tiny_data(root / "data")),
                "XKLD_TODAY": TODAY.isoformat(), "XKLD_DEMO_SEED": "1", "XKLD_ID_KEY_FILE": str(root / "id.key")})
    started = subprocess.run(["bash", str(HOSTS), "start"], env=env, capture_output=True, text=True, timeout=900)
    try:
        assert started.returncode == 0, started.stderr[-3000:]
        yield env
    finally:
        subprocess.run(["bash", str(HOSTS), "stop"], env=env, capture_output=True, timeout=300)


def _get(address: str, path: str = "/xkld/health") -> tuple[int, str, str]:
    with urllib.request.urlopen(f"http://{address}{path}", timeout=30) as response:
        return response.status, response.read().decode(), response.headers.get("Set-Cookie", "")


def _psql(env: dict[str, str], sql: str) -> str:
    done = subprocess.run(["bash", str(HOSTS), "psql", "-At", "-c", sql], env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_each_host_answers_over_the_link_and_nginx_keeps_each_client_on_a_replica(hosts: dict[str, str]) -> None:
    for address in (APP1, APP2, LB):
        status, body, _ = _get(address)
        assert status == 200 and json.loads(body)["status"] == "up"
    _, _, cookie = _get(LB, "/")
    assert cookie.split(";")[0] in ("xkld_replica=app1", "xkld_replica=app2")


def test_the_replicas_reach_postgres_over_tls_with_scram_only(hosts: dict[str, str]) -> None:
    rows = _psql(hosts, "SELECT a.client_addr, s.ssl FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid) "
                        "WHERE a.client_addr IS NOT NULL")
    clients = [line.split("|") for line in rows.splitlines()]
    assert {addr for addr, _ in clients} <= {"10.77.0.11", "10.77.0.12"} and clients
    assert all(ssl == "t" for _, ssl in clients)
    hba = _psql(hosts, "SELECT type, auth_method FROM pg_hba_file_rules WHERE type <> 'local'")
    assert "hostssl|scram-sha-256" in hba and "host|reject" in hba
    assert _psql(hosts, "SHOW password_encryption") == "scram-sha-256"
    for sslmode in ("disable", "require"):      # without TLS, or with a wrong password: refused
        done = subprocess.run(["ip", "netns", "exec", "xkld-app1", "psql",
                               f"postgresql://xkld:wrong@{DB}:5432/xkld?sslmode={sslmode}", "-c", "SELECT 1"],
                              capture_output=True, text=True, timeout=30)
        assert done.returncode != 0
        assert ("no encryption" in done.stderr) if sslmode == "disable" else ("password authentication" in done.stderr)


def test_no_file_holds_the_database_password_after_start(hosts: dict[str, str]) -> None:
    state = Path(hosts["XKLD_HOSTS_DIR"])
    values = dict(line.split("=", 1) for line in (state / "hosts.env").read_text().splitlines() if "=" in line)
    pid = values["APP1_PID"]
    environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    password = next(v.split(b"=", 1)[1] for v in environ if v.startswith(b"PGPASSWORD="))
    assert len(password) >= 24
    found = []
    for folder in (state, Path(values["RUN"]), PROJECT_ROOT / "data"):
        for path in folder.rglob("*"):
            if path.is_file() and not path.is_symlink() and path.stat().st_size < 50_000_000:
                try:
                    if password in path.read_bytes():
                        found.append(str(path))
                except OSError:
                    pass
    assert not found
    assert oct((state / "admin.txt").stat().st_mode & 0o777) == "0o600"
