"""Backups of the embedded database that restore: a consistent copy taken while the app runs.

DuckDB lets one process write a file, so a copy of the running app's database is taken *inside*
that process, on its connection (:func:`snapshot`): the declared schema is created in a new file
attached beside it, then every table is copied in **one** read transaction (DuckDB's MVCC gives it
one snapshot: a write committing meanwhile is either wholly in the copy or wholly out), then the
views. The copy is written under a hidden name and renamed when complete (mode 600), so a killed
backup leaves no file that looks whole. ``COPY FROM DATABASE`` and ``EXPORT``/``IMPORT DATABASE``
were tried first; the former trips over foreign keys and the latter over views built on views.

:func:`restore` puts a backup in place of the database file while the app is stopped: it checks the
backup opens and has the tables and migrations this code knows, keeps the file it replaces beside
it (``.before-restore-<time>``), and never leaves a half-copied file at the database's path.

The served app takes the same copy every day by itself (:func:`scheduled`, a job of the app's
APScheduler scheduler, :mod:`xkld_geo.notifications.scheduler`, at ``XKLD_BACKUP_TIME``), on a
cursor of its own shared connection while the sessions keep reading and writing; a backup missed
while the app was stopped is taken :data:`CATCHUP_DELAY_S` after it starts (:func:`missed`), not
at once, so a restart's warm-up does not share the CPU with the copy.

The shared PostgreSQL store is backed up with PostgreSQL's own tools (``pg_dump`` /
``pg_restore``; ``scripts/cluster.sh backup|restore``, and the systemd timer in
``scripts/deploy/``).
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import shutil
from pathlib import Path

import duckdb

from xkld_geo.database import db
from xkld_geo.database.schema import migrations, tables
from xkld_geo.database.schema.views import VIEWS
from xkld_geo.errors import DatabaseError
from xkld_geo.settings import Settings

log = logging.getLogger("xkld_geo.database.backup")

CATCHUP_DELAY_S = 600.0
"""Seconds after the app's start at which a missed daily backup is taken (the warm-up first)."""

ALIAS = "xkld_backup"
"""The name the copy is attached under while it is written."""


def _partial(dest: Path) -> Path:
    return dest.with_name(f".{dest.name}.partial")


def default_name(now: dt.datetime | None = None) -> str:
    """``xkld-YYYYmmdd-HHMMSS.duckdb``: a backup's file name, sorted by time."""
    return f"xkld-{(now or dt.datetime.now()):%Y%m%d-%H%M%S}.duckdb"


def snapshot(con: duckdb.DuckDBPyConnection, dest: Path) -> Path:
    """Copy the database behind ``con`` (the embedded file, read while the app runs) to ``dest``."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = _partial(dest)
    tmp.unlink(missing_ok=True)
    cur = con.cursor()
    source = str(db.value(cur, "backup_source", "SELECT current_database()"))
    db.execute(cur, "backup_attach", f"ATTACH {db.quote_literal(str(tmp))} AS {ALIAS}")
    try:
        db.execute(cur, "backup_use_copy", f"USE {ALIAS}")
        for table in tables.TABLES:
            tables.create(cur, table.name)
        db.execute(cur, "backup_migrations_table", migrations.DDL)
        names = [t.name for t in tables.TABLES] + ["schema_migrations"]
        db.execute(cur, "backup_use_source", f"USE {db.quote_identifier(source)}")
        db.execute(cur, "backup_begin", "BEGIN TRANSACTION")
        try:
            for name in names:
                q = db.quote_identifier(name)
                db.execute(cur, f"backup_copy_{name}",
                           f"INSERT INTO {ALIAS}.main.{q} SELECT * FROM {db.quote_identifier(source)}.main.{q}")
            db.execute(cur, "backup_commit", "COMMIT")
        except BaseException:
            db.execute(cur, "backup_rollback", "ROLLBACK")
            raise
        db.execute(cur, "backup_use_copy_views", f"USE {ALIAS}")
        db.execute(cur, "backup_views", VIEWS)
        db.execute(cur, "backup_use_source_again", f"USE {db.quote_identifier(source)}")
        db.execute(cur, "backup_checkpoint", f"CHECKPOINT {ALIAS}")
    finally:
        try:
            db.execute(cur, "backup_use_source_finally", f"USE {db.quote_identifier(source)}")
            db.execute(cur, "backup_detach", f"DETACH {ALIAS}")
        finally:
            cur.close()
    os.chmod(tmp, 0o600)
    os.replace(tmp, dest)
    return dest


def prune(folder: Path, keep: int) -> list[Path]:
    """Delete all but the ``keep`` newest backups in ``folder`` (and leftovers of killed ones);
    returns what was deleted."""
    folder = Path(folder)
    gone = sorted(folder.glob(".xkld-*.duckdb.partial"))
    backups = sorted(folder.glob("xkld-*.duckdb"))
    gone += backups[: max(0, len(backups) - max(1, keep))]
    for path in gone:
        path.unlink(missing_ok=True)
    return gone


def check(path: Path) -> dict[str, int]:
    """Open a backup read-only and count its rows per table; a file that is not a whole backup of
    a schema this code knows raises a DatabaseError naming it."""
    path = Path(path)
    try:
        con = db.open_connection(path, read_only=True)
    except DatabaseError:
        raise
    try:
        have = set(db.run(con, "backup_tables", "SELECT table_name FROM duckdb_tables() WHERE NOT internal")
                   ["table_name"].astype(str))
        missing = sorted({t.name for t in tables.TABLES} - have)
        if missing or "schema_migrations" not in have:
            raise DatabaseError(f"Tệp {path} không phải bản sao lưu đầy đủ: thiếu bảng "
                                f"{', '.join(missing) or 'schema_migrations'}.", path=str(path), missing=missing)
        migrations.check_not_newer(migrations.applied(con))
        return {t.name: int(db.value(con, f"backup_count_{t.name}",
                                     f"SELECT count(*) FROM {db.quote_identifier(t.name)}"))
                for t in tables.TABLES}
    finally:
        con.close()


def restore(source: Path, target: Path, now: dt.datetime | None = None) -> Path | None:
    """Put backup ``source`` in place of database ``target`` (the app stopped); returns where the
    replaced file was kept (None when there was none)."""
    source, target = Path(source), Path(target)
    check(source)
    if target.exists():   # refused while the app holds it, in Vietnamese, before anything moves
        db.open_connection(target).close()
    tmp = _partial(target)
    shutil.copyfile(source, tmp)
    os.chmod(tmp, 0o600)
    kept = None
    if target.exists():
        kept = target.with_name(f"{target.name}.before-restore-{(now or dt.datetime.now()):%Y%m%d-%H%M%S}")
        os.replace(target, kept)
        wal = target.with_name(target.name + ".wal")
        if wal.exists():
            os.replace(wal, kept.with_name(kept.name + ".wal"))
    os.replace(tmp, target)
    return kept


def due_time(backup_time: str) -> tuple[int, int]:
    """(hour, minute) of a ``backup_time`` setting (``HH:MM``, checked by the settings)."""
    hour, minute = (int(x) for x in backup_time.split(":"))
    return hour, minute


def missed(settings: Settings, now: dt.datetime | None = None) -> bool:
    """True when no backup in ``backup_dir`` was written since the latest daily time that has
    passed (the app was stopped then): the app takes one shortly after it starts."""
    if not settings.backup_time:
        return False
    now = now or dt.datetime.now()
    hour, minute = due_time(settings.backup_time)
    last_due = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if last_due > now:
        last_due -= dt.timedelta(days=1)
    newest = max((p.stat().st_mtime for p in Path(settings.backup_dir).glob("xkld-*.duckdb")), default=None)
    return newest is None or dt.datetime.fromtimestamp(newest) < last_due


def scheduled(settings: Settings) -> Path:
    """The served app's daily backup: a consistent copy of its embedded database into
    ``backup_dir`` on a cursor of the process's shared connection (the sessions keep working),
    then all but the ``backup_keep`` newest deleted. Returns the new backup."""
    started = dt.datetime.now()
    cur = db.connect(settings)
    try:
        dest = snapshot(cur, Path(settings.backup_dir) / default_name(started))
    finally:
        cur.close()
    gone = prune(settings.backup_dir, settings.backup_keep)
    log.warning("backup of %s written to %s in %.1f s (%d older deleted)", settings.db_path, dest,
                (dt.datetime.now() - started).total_seconds(), len(gone))
    return dest
