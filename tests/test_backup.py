"""Backups of the embedded database (xkld_geo.database.backup, `python -m xkld_geo backup|restore`): a copy
taken while the database is in use holds every row of one moment, restores in place of the file,
keeps the file it replaced, and refuses what is not a whole backup."""
from __future__ import annotations

import dataclasses
import datetime as dt
import os
import threading
import time
from pathlib import Path
from typing import Any

import duckdb
import pytest

from xkld_geo import cli
from xkld_geo.access import auth
from xkld_geo.database import backup, db
from xkld_geo.errors import DatabaseError
from xkld_geo.settings import Settings


def _count(path: Path, sql: str) -> int:
    con = db.open_connection(path, read_only=True)
    try:
        return int(con.execute(sql).fetchone()[0])
    finally:
        con.close()


def _write_pairs(cur: duckdb.DuckDBPyConnection, stop: threading.Event) -> None:
    """Write audit rows two per transaction until ``stop``: a consistent copy holds whole pairs only."""
    n = 0
    while not stop.is_set():
        cur.execute("BEGIN TRANSACTION")
        for half in ("a", "b"):
            cur.execute("INSERT INTO audit_log (at_time, username, action, target, detail) "
                        "VALUES (now(), 'cap', 'pair', ?, ?)", [str(n), half])
        cur.execute("COMMIT")
        n += 1
    cur.close()


def test_a_snapshot_holds_every_row_and_view_and_restores(tiny_db: Settings, tmp_path: Path) -> None:
    con = db.open_connection(tiny_db.db_path)
    auth.create_user(con, "saoluu", "mat-khau-sao-luu", "planner")
    dest = backup.snapshot(con, tmp_path / "b" / backup.default_name())
    auth.create_user(con, "sau_saoluu", "mat-khau-sau-sao-luu", "viewer")   # after the copy: not in it
    tables = [t for t, _ in backup.check(dest).items()]
    for table in tables:
        assert _count(dest, f'SELECT count(*) FROM "{table}"') == int(
            con.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]) - (table in ("users", "audit_log"))
    assert _count(dest, "SELECT count(*) FROM v_attainment") == int(con.execute(
        "SELECT count(*) FROM v_attainment").fetchone()[0])
    assert oct(dest.stat().st_mode & 0o777) == "0o600"
    assert not list(dest.parent.glob(".*partial"))
    con.close()
    db.close_all()
    kept = backup.restore(dest, tiny_db.db_path)
    assert kept is not None and kept.exists()
    assert _count(tiny_db.db_path, "SELECT count(*) FROM users WHERE username = 'saoluu'") == 1
    assert _count(tiny_db.db_path, "SELECT count(*) FROM users WHERE username = 'sau_saoluu'") == 0
    assert _count(kept, "SELECT count(*) FROM users WHERE username = 'sau_saoluu'") == 1


def test_a_write_committing_during_the_copy_is_wholly_in_or_wholly_out(tiny_db: Settings, tmp_path: Path) -> None:
    """Each write adds two rows in one transaction; the copy is one read transaction, so it never
    holds one row of a pair without the other."""
    con = db.open_connection(tiny_db.db_path)
    stop = threading.Event()

    def write_pairs() -> None:
        _write_pairs(con.cursor(), stop)

    writer = threading.Thread(target=write_pairs)
    writer.start()
    try:
        dest = backup.snapshot(con, tmp_path / "during.duckdb")
    finally:
        stop.set()
        writer.join()
    pairs = _count(dest, "SELECT count(*) FROM audit_log WHERE action = 'pair'")
    assert pairs % 2 == 0
    con.close()


@pytest.mark.parametrize("content", [b"", b"not a database", None])
def test_what_is_not_a_whole_backup_is_refused_and_nothing_moves(tiny_db: Settings, tmp_path: Path,
                                                                  content: bytes | None) -> None:
    bad = tmp_path / "bad.duckdb"
    if content is None:     # a DuckDB file without the schema
        import duckdb

        duckdb.connect(str(bad)).execute("CREATE TABLE users (x INTEGER)").close()
    else:
        bad.write_bytes(content)
    before = tiny_db.db_path.read_bytes()
    with pytest.raises(DatabaseError):
        backup.restore(bad, tiny_db.db_path)
    assert tiny_db.db_path.read_bytes() == before
    assert not list(tiny_db.db_path.parent.glob("*.before-restore-*"))


def test_the_command_line_backs_up_keeps_the_newest_and_restores(tiny_db: Settings, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "backups"
    for k, v in {"XKLD_DB": str(tiny_db.db_path), "XKLD_BACKUP_DIR": str(folder), "XKLD_BACKUP_KEEP": "2",
                 "XKLD_DATA_DIR": str(tiny_db.data_dir)}.items():
        monkeypatch.setenv(k, v)
    (folder).mkdir()
    for name in ("xkld-20260101-000000.duckdb", "xkld-20260102-000000.duckdb", ".xkld-x.duckdb.partial"):
        (folder / name).write_bytes(b"old")
    assert cli.main(["backup"]) == 0
    made = sorted(folder.glob("xkld-*.duckdb"))
    assert [p.name for p in made][0] == "xkld-20260102-000000.duckdb" and len(made) == 2
    assert not list(folder.glob(".*partial"))
    newest = made[-1]
    assert cli.main(["restore", str(newest)]) == 0
    assert "Đã khôi phục" in capsys.readouterr().out
    assert cli.main(["restore", str(folder / "xkld-20260102-000000.duckdb")]) == 2   # not a backup
    assert "Lỗi:" in capsys.readouterr().err


def test_with_the_shared_store_the_command_points_to_pg_dump(tiny_db: Settings, monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("XKLD_DB", str(tiny_db.db_path))
    monkeypatch.setenv("XKLD_DATABASE_URL", "postgresql://xkld@127.0.0.1:1/xkld")
    assert cli.main(["backup"]) == 2
    assert "pg_dump" in capsys.readouterr().err


def _pairs(path: Path) -> int:
    return _count(path, "SELECT count(*) FROM audit_log WHERE action = 'pair'")


def test_the_served_app_backs_itself_up_daily_while_it_keeps_writing(tiny_db: Settings, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    """The app's scheduler (APScheduler, as in the served process) takes the day's backup on the
    process's shared connection while a session keeps writing pairs of rows; the copy holds whole
    pairs only, and `python -m xkld_geo restore` puts it in place once the app is stopped."""
    from xkld_geo.notifications import scheduler

    folder = tmp_path / "backups"
    settings = dataclasses.replace(tiny_db, backup_dir=folder, backup_keep=3, backup_time="00:00")
    monkeypatch.setattr(backup, "CATCHUP_DELAY_S", 0.2)   # the missed backup, at once instead of 10 min later
    stop = threading.Event()

    def write_pairs() -> None:   # a page run's writes, on a cursor of the shared connection
        _write_pairs(db.connect(settings), stop)

    writer = threading.Thread(target=write_pairs)
    writer.start()
    try:
        assert scheduler.start_backups(settings)
        daily = scheduler._in_app[0].get_job("embedded_backup")
        assert "hour='0', minute='0'" in str(daily.trigger)
        deadline = time.monotonic() + 60
        while not list(folder.glob("xkld-*.duckdb")) and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(0.3)   # the app keeps writing after the copy
    finally:
        stop.set()
        writer.join()
        scheduler.stop_in_app()
    made = sorted(folder.glob("xkld-*.duckdb"))
    assert len(made) == 1 and not list(folder.glob(".*partial"))
    copied = _pairs(made[0])
    assert copied > 0 and copied % 2 == 0
    db.close_all()
    assert _pairs(tiny_db.db_path) > copied   # written after the copy
    for k, v in {"XKLD_DB": str(tiny_db.db_path), "XKLD_DATA_DIR": str(tiny_db.data_dir)}.items():
        monkeypatch.setenv(k, v)
    assert cli.main(["restore", str(made[0])]) == 0
    assert "Đã khôi phục" in capsys.readouterr().out
    assert _pairs(tiny_db.db_path) == copied


@pytest.mark.parametrize(("now", "newest", "missed"), [
    ("2026-03-15 01:00", None, True),                  # never backed up
    ("2026-03-15 01:00", "2026-03-14 02:05", False),   # yesterday's 02:00 done, today's not due yet
    ("2026-03-15 03:00", "2026-03-14 02:05", True),    # today's 02:00 passed while stopped
    ("2026-03-15 03:00", "2026-03-15 02:01", False),
    ("2026-03-15 01:00", "2026-03-13 02:05", True),    # yesterday's missed
])
def test_a_missed_daily_backup_is_known_from_the_newest_file(tiny_db: Settings, tmp_path: Path, now: str,
                                                            newest: str | None, missed: bool) -> None:
    settings = dataclasses.replace(tiny_db, backup_dir=tmp_path, backup_time="02:00")
    if newest is not None:
        at = dt.datetime.fromisoformat(newest).timestamp()
        (tmp_path / "xkld-x.duckdb").write_bytes(b"x")
        os.utime(tmp_path / "xkld-x.duckdb", (at, at))
    assert backup.missed(settings, dt.datetime.fromisoformat(now)) is missed


@pytest.mark.parametrize(("changes", "scheduled"), [
    ({"backup_time": ""}, False),                                               # XKLD_BACKUP_TIME=off
    ({"database_url": "postgresql://xkld@127.0.0.1:1/xkld"}, False),            # the shared store: pg_dump
    ({"backup_time": "23:59", "scheduler": "off"}, True),                      # whatever the notifications do
])
def test_the_daily_backup_is_scheduled_for_the_embedded_file_only(tiny_db: Settings, tmp_path: Path,
                                                                  changes: dict[str, Any], scheduled: bool) -> None:
    from xkld_geo.notifications import scheduler

    try:
        assert scheduler.start_backups(dataclasses.replace(tiny_db, backup_dir=tmp_path, **changes)) is scheduled
    finally:
        scheduler.stop_in_app()


@pytest.mark.parametrize(("value", "parsed"), [("02:00", "02:00"), ("7:5", "07:05"), ("off", ""), ("", "")])
def test_the_backup_time_setting(value: str, parsed: str) -> None:
    from xkld_geo.settings import _parse_backup_time

    assert _parse_backup_time(value) == parsed


@pytest.mark.parametrize("value", ["25:00", "2h", "02:00:00"])
def test_a_bad_backup_time_is_refused_in_vietnamese(value: str) -> None:
    from xkld_geo.errors import ConfigError
    from xkld_geo.settings import _parse_backup_time

    with pytest.raises(ConfigError, match="XKLD_BACKUP_TIME"):
        _parse_backup_time(value)
