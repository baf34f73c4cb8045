"""Schema migrations: a database made by the code before migrations keeps every row when today's
code opens it, the steps are recorded, a second open changes nothing, and a newer database is
refused. The old database is tests/data/legacy/v8_tiny.duckdb.gz, made by commit 8714fc9 itself
(tests/data/legacy/make_legacy.py)."""
from __future__ import annotations

import dataclasses
import gzip
import shutil
from pathlib import Path

import duckdb
import pytest

from tests.conftest import settings_for
from xkld_geo.database import db, schema
from xkld_geo.errors import DatabaseError
from xkld_geo.settings import Settings
from xkld_geo.warehouse import assembly

LEGACY = Path(__file__).parent / "data" / "legacy" / "v8_tiny.duckdb.gz"
KEPT = ("users", "sessions", "login_attempts", "audit_log", "plans", "plan_rows", "quota_changes",
        "import_log", "import_changes", "public_notices", "licensed_companies", "register_entries")


@pytest.fixture()
def legacy(tiny_data_dir: Path, tmp_path: Path) -> Path:
    """A copy of the schema-8 database, with users, a session, audit rows, an approved plan and an import."""
    path = tmp_path / "legacy.duckdb"
    with gzip.open(LEGACY) as src, open(path, "wb") as dst:
        shutil.copyfileobj(src, dst)
    return path


def _kept_rows(path: Path) -> dict[str, list[tuple]]:
    """Every row of the kept tables and of the statistics tables, by their old columns."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        present = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        out: dict[str, list[tuple]] = {}
        for table in KEPT + ("departures", "quotas"):
            if table not in present:
                continue
            cols = [r[0] for r in con.execute("SELECT column_name FROM duckdb_columns() WHERE table_name = $t "
                                              "AND column_name NOT IN ('source', 'unit_code', 'company_licence', "
                                              "'must_change_password') ORDER BY column_index",
                                              {"t": table}).fetchall()]
            listed = ", ".join(db.quote_identifier(c) for c in cols)
            out[table] = sorted(con.execute(f"SELECT {listed} FROM {table}").fetchall(), key=repr)
    finally:
        con.close()
    return out


def test_the_old_database_holds_what_a_province_cannot_lose(legacy: Path) -> None:
    rows = _kept_rows(legacy)
    assert len(rows["users"]) == 3 and rows["plans"] and rows["plan_rows"] and rows["quota_changes"]
    assert rows["import_log"] and rows["import_changes"] and len(rows["audit_log"]) >= 5
    con = duckdb.connect(str(legacy), read_only=True)
    assert con.execute("SELECT value FROM dataset_meta WHERE key = 'schema_version'").fetchone()[0] == "8"
    assert not con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'schema_migrations'").fetchone()[0]
    con.close()


def test_opening_an_old_database_migrates_it_and_keeps_every_row(legacy: Path, tiny_data_dir: Path) -> None:
    before = _kept_rows(legacy)
    settings = settings_for(tiny_data_dir, legacy)
    con = db.connect(settings)            # how the app opens it
    steps = con.execute("SELECT number, how FROM schema_migrations ORDER BY number").fetchall()
    assert steps == [(1, "found")] + [(m.number, "ran") for m in schema.MIGRATIONS[1:]]
    source = con.execute("SELECT count(*) FROM duckdb_columns() WHERE table_name = 'login_attempts' "
                         "AND column_name = 'source'").fetchone()[0]
    assert source == 1
    db.close_all()
    assert _kept_rows(legacy) == before    # every row still there
    con = db.connect(settings)             # a second open changes nothing
    assert con.execute("SELECT count(*) FROM schema_migrations").fetchone()[0] == len(schema.MIGRATIONS)
    db.close_all()
    assert _kept_rows(legacy) == before


def test_a_migrated_database_has_the_declared_schema(legacy: Path, tiny_db: Settings) -> None:
    """Every declared table and column of a new build exists after the migrations, with the same
    types and constraints: a declaration changed without its migration fails here."""
    def shape(path: Path) -> set[tuple]:
        con = duckdb.connect(str(path), read_only=True)
        try:
            cols = con.execute("""SELECT table_name, column_name, data_type, is_nullable FROM duckdb_columns()
                                  WHERE NOT internal AND table_name IN (SELECT table_name FROM duckdb_tables())""").fetchall()
            checks = con.execute("""SELECT table_name, constraint_text FROM duckdb_constraints()
                                    WHERE constraint_type IN ('CHECK', 'PRIMARY KEY')""").fetchall()
            return set(cols) | set(checks)
        finally:
            con.close()
    db.connect(settings_for(tiny_db.data_dir, legacy))
    db.close_all()
    kept = set(schema.KEPT_TABLES)
    assert {r for r in shape(legacy) if r[0] in kept} == {r for r in shape(tiny_db.db_path) if r[0] in kept}


def test_a_failed_import_is_logged_as_failed_after_the_upgrade(legacy: Path, tiny_data_dir: Path) -> None:
    con = db.connect(settings_for(tiny_data_dir, legacy))
    con.execute("INSERT INTO import_log SELECT 999, now(), 'x', 'departures', 'f.csv', 'h', 1, NULL, 0, 0, 0, 0, 0, 0, "
                "'failed', 'thử', NULL")      # the old CHECK refused 'failed'
    assert con.execute("SELECT outcome FROM import_log WHERE import_id = 999").fetchone()[0] == "failed"


def test_a_rebuild_of_an_old_database_keeps_its_work(legacy: Path, tiny_data_dir: Path) -> None:
    before = _kept_rows(legacy)
    settings = settings_for(tiny_data_dir, legacy)
    assert assembly.build(settings, force=True).built
    after = _kept_rows(legacy)
    for table in KEPT:
        if table in before:
            assert set(before[table]) <= set(after[table]), table
    entered = [r for r in before["departures"] if r[-1] is False]
    assert entered and set(entered) <= set(after["departures"])


def test_a_database_from_a_newer_version_is_refused(tiny_db: Settings) -> None:
    con = duckdb.connect(str(tiny_db.db_path))
    con.execute("INSERT INTO schema_migrations VALUES ($n, 'from the future', now(), 'ran')",
                {"n": schema.LATEST + 1})
    con.close()
    with pytest.raises(DatabaseError) as caught:
        db.connect(tiny_db)
    assert "phiên bản mới hơn" in caught.value.message and caught.value.details["reason"] == "newer_schema"
    with pytest.raises(DatabaseError):
        db.connect(dataclasses.replace(tiny_db), read_only=True)


def test_a_new_build_is_current(tiny_db: Settings) -> None:
    con = db.connect(tiny_db)
    assert [r[0] for r in con.execute("SELECT how FROM schema_migrations").fetchall()] == ["built"] * len(schema.MIGRATIONS)
    assert schema.migrate(con) == []


OLD_STEPS = ("step3_tiny", "step4_tiny", "step6_tiny")
"""Databases made by the newest main at each of the last three schema steps before today's
(tests/data/legacy/make_legacy.py), each with a worker register."""


def _old(name: str, folder: Path) -> Path:
    path = folder / f"{name}.duckdb"
    with gzip.open(LEGACY.with_name(f"{name}.duckdb.gz")) as src, open(path, "wb") as dst:
        shutil.copyfileobj(src, dst)
    return path


def _run_sh_commands() -> list[list[str]]:
    """The ``python -m xkld_geo`` commands scripts/run.sh runs before it serves, in order (read from
    the script, so a change there is tested here)."""
    import shlex

    script = (Path(__file__).parents[1] / "scripts" / "run.sh").read_text()
    return [shlex.split(line.split("#")[0])[3:] for line in script.splitlines()
            if line.startswith(".venv/bin/python -m xkld_geo ")]


def _upgrade(path: Path, data_dir: Path, how: str) -> None:
    """Upgrade the old database at ``path`` the way ``how`` says."""
    import os
    import subprocess
    import sys

    settings = settings_for(data_dir, path)
    if how == "open":
        db.connect(settings)                      # how the app opens it
    elif how == "build":
        assembly.build(settings)                 # the data did not change: no rebuild, still upgraded
    elif how == "rebuild":
        assert assembly.build(settings, force=True).built
    else:                                         # run.sh's own commands, in a process of their own
        env = {k: v for k, v in os.environ.items() if not k.startswith("XKLD_")}
        env.update({"XKLD_DB": str(path), "XKLD_DATA_DIR": str(data_dir), "XKLD_DEMO_SEED": "1",
                    "XKLD_TODAY": settings.effective_today.isoformat(), "XKLD_ID_KEY_FILE": str(path) + ".idkey",
                    "XKLD_GEOMETRY_DIR": str(path.parent / "geometry")})
        commands = _run_sh_commands()
        assert commands[0] == ["build"], commands
        for args in commands:
            done = subprocess.run([sys.executable, "-m", "xkld_geo", *args], cwd=Path(__file__).parents[1], env=env,
                                  capture_output=True, text=True, timeout=600)
            assert done.returncode == 0, done.stderr[-3000:]
    db.close_all()


@pytest.mark.parametrize("how", ["open", "build", "rebuild", "run.sh"])
@pytest.mark.parametrize("name", OLD_STEPS)
def test_every_upgrade_path_runs_the_pending_steps_and_keeps_every_row(name: str, how: str, tiny_data_dir: Path,
                                                                       tmp_path: Path) -> None:
    """From each of the last three schema steps, by opening the file, by ``build`` (current data: no
    rebuild), by ``build --force`` and by scripts/run.sh's commands: every kept row is still there,
    every register entry's priority group is in ``worker_groups`` (step 6 moves them; a rebuild
    that marked it built lost them), and no step the old database lacked is recorded as built."""
    path = _old(name, tmp_path)
    con = duckdb.connect(str(path), read_only=True)
    had = {r[0] for r in con.execute("SELECT number FROM schema_migrations").fetchall()}
    groups = set(con.execute("SELECT DISTINCT person_key, year, priority_group FROM register_entries "
                             "WHERE priority_group <> 'khac'").fetchall())
    con.close()
    assert had and max(had) < schema.LATEST and groups          # an old database, with a register
    before = _kept_rows(path)
    _upgrade(path, tiny_data_dir, how)
    after = _kept_rows(path)
    for table, rows in before.items():
        if table in KEPT:
            assert set(rows) <= set(after[table]), table
    con = duckdb.connect(str(path), read_only=True)
    try:
        steps = dict(con.execute("SELECT number, how FROM schema_migrations").fetchall())
        assert sorted(steps) == [m.number for m in schema.MIGRATIONS]
        assert all(steps[n] == "ran" for n in steps if n not in had), steps   # run, never marked built
        assert groups <= set(con.execute("SELECT person_key, year, priority_group FROM worker_groups").fetchall())
        assert con.execute("SELECT count(*) FROM second_factors").fetchone() == (0,)
    finally:
        con.close()


def test_run_sh_builds_before_anything_else() -> None:
    assert _run_sh_commands()[0] == ["build"]
def test_a_database_of_the_previous_release_keeps_every_account_now_national(tiny_db: Settings) -> None:
    """A database as the code before scopes made it (step 7: users without scope, no approval
    tables) keeps every account and every row; each account is now national."""
    from xkld_geo.access import auth

    con = db.connect(tiny_db)
    for name, role in (("lanhdao", "viewer"), ("kehoach", "planner"), ("nhaplieu", "clerk")):
        auth.create_user(con, name, "mat-khau-thu-nghiem", role)
    db.close_all()
    raw = duckdb.connect(str(tiny_db.db_path))
    raw.execute("DROP TABLE commune_months")
    raw.execute("DROP TABLE approval_events")
    raw.execute("CREATE TABLE users_old AS SELECT username, display_name, role, password_hash, created_at, disabled "
                "FROM users")
    raw.execute("DROP TABLE users")
    raw.execute("ALTER TABLE users_old RENAME TO users")
    raw.execute("DELETE FROM schema_migrations WHERE number > 7")
    raw.close()
    before = _kept_rows(tiny_db.db_path)
    assert len(before["users"]) == 3
    con = db.connect(tiny_db)
    steps = [r[0] for r in con.execute("SELECT number FROM schema_migrations WHERE how = 'ran' ORDER BY 1").fetchall()]
    assert steps == [m.number for m in schema.MIGRATIONS if m.number > 7]
    units = con.execute("SELECT unit_code, count(*) FROM users GROUP BY 1").fetchall()
    assert units == [("VN", 3)]
    token, user = auth.login(con, "kehoach", "mat-khau-thu-nghiem")
    assert user.unit == "VN" and user.company is None and not user.must_change
    db.close_all()
    after = _kept_rows(tiny_db.db_path)
    assert set(after) == set(before)
    for table, rows in before.items():
        assert set(rows) <= set(after[table]), table       # the login added its own lines, nothing went
    assert after["users"] == before["users"]
