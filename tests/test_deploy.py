"""The files a province's IT team installs (scripts/deploy/): systemd units whose commands exist,
and an nginx site that nginx itself accepts, passing the browser's host, port and scheme."""
from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from xkld_geo import cli
from xkld_geo.settings import PROJECT_ROOT

DEPLOY = PROJECT_ROOT / "scripts" / "deploy"
UNITS = sorted((DEPLOY / "systemd").glob("*.service")) + sorted((DEPLOY / "systemd").glob("*.timer"))
INSTALLED = "/opt/xkld-geo/"


def _directives(unit: Path) -> list[tuple[str, str, str]]:
    """(section, key, value) of every directive of a unit file (keys may repeat, as systemd allows)."""
    section, out = "", []
    for line in unit.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        out.append((section, key.strip(), value.strip()))
    return out


@pytest.mark.parametrize("unit", UNITS, ids=lambda p: p.name)
def test_every_unit_is_well_formed_and_its_commands_exist(unit: Path) -> None:
    directives = _directives(unit)
    sections = {s for s, _, _ in directives}
    assert sections <= {"Unit", "Service", "Timer", "Install"} and "Unit" in sections
    if unit.suffix == ".timer":
        assert unit.with_suffix(".service").exists()
        assert any(k == "OnCalendar" for _, k, _ in directives)
        return
    for _, key, value in directives:
        if not key.startswith("Exec"):
            continue
        words = shlex.split(value.lstrip("+-@!"))
        program = words[0]
        if program.startswith(INSTALLED):
            local = PROJECT_ROOT / program[len(INSTALLED):]
            if ".venv/bin/python" in program:
                if words[1:3] == ["-m", "xkld_geo"]:
                    with pytest.raises(SystemExit) as done:   # the command parses (then asks for help)
                        cli._parser().parse_args([*words[3:], "--help"])
                    assert done.value.code == 0, value
                else:
                    assert (PROJECT_ROOT / words[1]).exists(), value
            else:
                assert local.exists() and os.access(local, os.X_OK), value
        else:
            assert program.startswith("/bin/") or program.startswith("/usr/"), value


def test_secrets_reach_the_replica_as_credentials_not_files_it_can_read() -> None:
    replica = _directives(DEPLOY / "systemd" / "xkld-replica@.service")
    creds = [v for _, k, v in replica if k == "LoadCredential"]
    assert any(c.startswith("pgpass:") for c in creds) and any(c.startswith("id-key:") for c in creds)
    env = [v for _, k, v in replica if k == "Environment"]
    assert "PGPASSFILE=%d/pgpass" in env and "XKLD_ID_KEY_FILE=%d/id-key" in env


def test_nginx_accepts_the_site_file(tmp_path: Path) -> None:
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if nginx is None or shutil.which("openssl") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("nginx or openssl missing (scripts/ensure_postgres.sh installs nginx)")
        pytest.skip("nginx or openssl missing")
    site = (DEPLOY / "nginx" / "xkld.conf").read_text(encoding="utf-8")
    snippet = DEPLOY / "nginx" / "xkld-proxy.conf"
    assert "include /etc/nginx/snippets/xkld-proxy.conf;" in site
    site = site.replace("/etc/nginx/snippets/xkld-proxy.conf", str(snippet))
    for needed in ("proxy_set_header Host $http_host;", "proxy_set_header X-Forwarded-Proto $scheme;",
                   "proxy_next_upstream error timeout http_502 http_503;", "max_fails=1"):
        assert needed in site + snippet.read_text(encoding="utf-8")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=xkld",
                    "-keyout", str(tmp_path / "privkey.pem"), "-out", str(tmp_path / "fullchain.pem")],
                   check=True, capture_output=True)
    (tmp_path / "site.conf").write_text(site.replace("/etc/ssl/xkld/", f"{tmp_path}/"), encoding="utf-8")
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n"
        f"http {{ access_log off; client_body_temp_path {tmp_path}/b; proxy_temp_path {tmp_path}/p; "
        f"fastcgi_temp_path {tmp_path}/f; uwsgi_temp_path {tmp_path}/u; scgi_temp_path {tmp_path}/s; "
        f"include {tmp_path}/site.conf; }}\n", encoding="utf-8")
    done = subprocess.run([nginx, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"),
                           "-e", str(tmp_path / "error.log")], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
