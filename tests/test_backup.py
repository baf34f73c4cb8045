"""Backups of the embedded database (xkld_geo.backup, `python -m xkld_geo backup|restore`): a copy
taken while the database is in use holds every row of one moment, restores in place of the file,
keeps the file it replaced, and refuses what is not a whole backup."""
from __future__ import annotations

import threading
from pathlib import Path

import pytest

from xkld_geo import auth, backup, cli, db
from xkld_geo.errors import DatabaseError
from xkld_geo.settings import Settings


def _count(path: Path, sql: str) -> int:
    con = db.open_connection(path, read_only=True)
    try:
        return int(con.execute(sql).fetchone()[0])
    finally:
        con.close()


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
        cur = con.cursor()
        n = 0
        while not stop.is_set():
            cur.execute("BEGIN TRANSACTION")
            for half in ("a", "b"):
                cur.execute("INSERT INTO audit_log (at_time, username, action, target, detail) "
                            "VALUES (now(), 'cap', 'pair', ?, ?)", [str(n), half])
            cur.execute("COMMIT")
            n += 1
        cur.close()

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
