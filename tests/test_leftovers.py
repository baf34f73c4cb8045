"""What killed builds and publishes leave behind is removed at the next start (a command, the
server, a build, a publish); the leftovers of a process still running are kept."""
from __future__ import annotations

import dataclasses
import datetime as dt
import os
import subprocess
import sys
import time
from pathlib import Path

from xkld_geo.database import db, leftovers
from xkld_geo.release import site as release_site
from xkld_geo.settings import PROJECT_ROOT, Settings


def _dead_pid() -> int:
    """The id of a process that has ended."""
    done = subprocess.Popen(["true"])
    done.wait()
    return done.pid


def _plant(settings: Settings, out: Path) -> tuple[list[Path], list[Path]]:
    """Leftovers of dead processes (to go) and of this live one (to stay)."""
    dead, live = _dead_pid(), os.getpid()
    db_path = Path(settings.db_path)
    gone = [db_path.with_name(f".{db_path.name}.building-{dead}"),
            db_path.with_name(f".{db_path.name}.building-{dead}.wal"),
            out / "releases" / f".2026-02{release_site.WORK_MARK}{dead}-abc",
            out / f".latest{release_site.WORK_MARK}{dead}-def",
            out / f".latest-old-{dead}",
            out / "releases" / ".2026-01-xyz"]                  # older code's name, an hour old
    kept = [db_path.with_name(f".{db_path.name}.building-{os.getppid()}"),     # another live process
            out / "releases" / f".2026-03{release_site.WORK_MARK}{live}-ghi",
            out / "releases" / ".2026-04-new"]                  # older code's name, just made
    for path in gone + kept:
        path.parent.mkdir(parents=True, exist_ok=True)
        if "building" in path.name:
            path.write_bytes(b"x" * 1000)
        else:
            path.mkdir()
            (path / "data.csv").write_text("a\n1\n")
    old = time.time() - 2 * release_site.STALE_AFTER_S
    os.utime(out / "releases" / ".2026-01-xyz", (old, old))
    return gone, kept


def test_the_next_command_removes_what_killed_builds_and_publishes_left(tiny_db: Settings, tmp_path: Path) -> None:
    out = tmp_path / "public"
    gone, kept = _plant(tiny_db, out)
    env = {k: v for k, v in os.environ.items() if not k.startswith("XKLD_")}
    env.update({"XKLD_DB": str(tiny_db.db_path), "XKLD_PUBLISH_DIR": str(out), "XKLD_DATA_DIR": str(tiny_db.data_dir)})
    done = subprocess.run([sys.executable, "-m", "xkld_geo", "settings"], env=env, cwd=PROJECT_ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert not [p for p in gone if p.exists()]
    assert all(p.exists() for p in kept)


def test_the_server_start_removes_them(tiny_db: Settings, tmp_path: Path) -> None:
    out = tmp_path / "public"
    gone, kept = _plant(tiny_db, out)
    assert set(leftovers.remove(dataclasses.replace(tiny_db, publish_dir=out))) == set(gone)
    assert all(p.exists() for p in kept)
    assert "leftovers.remove(current())" in (PROJECT_ROOT / "serve.py").read_text()   # called at the start


def test_a_publish_after_a_killed_one_carries_no_hidden_folder(tiny_db: Settings, tmp_path: Path) -> None:
    out = tmp_path / "public"
    gone, _ = _plant(tiny_db, out)
    con = db.open_connection(tiny_db.db_path)
    try:
        release_site.publish(con, out, dt.date(2026, 3, 15), 5)
    finally:
        con.close()
    assert not [p for p in gone if p.exists() and "public" in str(p)]
    hidden = [p for p in out.rglob(".*") if f"{release_site.WORK_MARK}{os.getpid()}" not in p.name
              and not p.name.endswith("-new")]
    assert hidden == [], hidden
