"""Numbered migrations: how a database made by an older version is brought to today's schema.

A database records the steps it has had in ``schema_migrations``. Opening it read-write
(:func:`migrate`, given to the database by :func:`xkld_geo.database.db.connect` and the command line) runs the missing
steps in order, each in its own transaction, and records them; a database that has a step this
code does not know was made by a newer version and is refused, so old code never writes into a
schema it does not understand. A new database made by the build from the declarations
(:func:`xkld_geo.database.schema.tables.create_all`) is current by construction (:func:`mark_current`).

Databases from before migrations existed (schema version 8, no ``schema_migrations``) are taken
to be at step 1. Operational tables are never dropped without their rows: a step that changes a
table's constraints rebuilds it from its declaration and copies every row across by column name.
Steps are plain Python over :mod:`xkld_geo.database.backend`, so a second backend can run the same list.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Callable

import duckdb

from xkld_geo.database import backend
from xkld_geo.database.schema import tables
from xkld_geo.errors import DatabaseError

Step = Callable[[duckdb.DuckDBPyConnection], None]

DDL = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    number INTEGER PRIMARY KEY,
    name VARCHAR NOT NULL,
    applied_at TIMESTAMP NOT NULL,
    how VARCHAR NOT NULL                -- 'ran' | 'built' (a new database) | 'found' (from before migrations)
)"""


@dataclass(frozen=True)
class Migration:
    """One numbered step."""

    number: int
    name: str
    apply: Step


def _sql(*statements: str) -> Step:
    def step(con: duckdb.DuckDBPyConnection) -> None:
        for i, statement in enumerate(statements):
            backend.execute(con, f"migration_sql_{i}", statement)
    return step


def _create(*names: str) -> Step:
    """A step that adds declared tables (new in that version)."""
    def step(con: duckdb.DuckDBPyConnection) -> None:
        for name in names:
            tables.create(con, name)
    return step


def _rebuild(name: str) -> Step:
    """A step that re-creates table ``name`` from its declaration (new constraints) and copies every
    row across by column name: nothing is lost, columns the declaration added start empty."""
    def step(con: duckdb.DuckDBPyConnection) -> None:
        new = f"{name}__migrating"
        tables.create(con, name, as_name=new)
        old_cols = set(_columns(con, name))
        cols = ", ".join(backend.quote_identifier(c) for c in _columns(con, new) if c in old_cols)
        backend.execute(con, f"migration_copy_{name}",
                   f"INSERT INTO {backend.quote_identifier(new)} ({cols}) SELECT {cols} FROM {backend.quote_identifier(name)}")
        backend.execute(con, f"migration_drop_{name}", f"DROP TABLE {backend.quote_identifier(name)}")
        backend.execute(con, f"migration_rename_{name}",
                   f"ALTER TABLE {backend.quote_identifier(new)} RENAME TO {backend.quote_identifier(name)}")
    return step


def _protection(con: duckdb.DuckDBPyConnection) -> None:
    """Step 6: the protection tables; the priority groups the directives name; and every register
    entry's single group copied, without loss, into the multi-membership table ``worker_groups``
    (``register_entries.priority_group`` stays, as the worker's primary group)."""
    from xkld_geo.database.schema.reference import PRIORITY_GROUPS

    for name in ("cases", "family_clubs", "returnees", "worker_groups"):
        tables.create(con, name)
    for code, vi, en, is_priority in PRIORITY_GROUPS:
        backend.execute(con, "migration_priority_group", """
            INSERT INTO priority_groups VALUES ($code, $vi, $en, $p) ON CONFLICT DO NOTHING""",
                   {"code": code, "vi": vi, "en": en, "p": is_priority})
    backend.execute(con, "migration_worker_groups", """
        INSERT INTO worker_groups SELECT DISTINCT person_key, year, priority_group FROM register_entries
        WHERE priority_group <> 'khac' ON CONFLICT DO NOTHING""")


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "baseline: schema 8, as built before migrations existed", _sql()),
    Migration(2, "login_attempts.source: logins are throttled by client address too",
              _sql("ALTER TABLE login_attempts ADD COLUMN IF NOT EXISTS source VARCHAR")),
    Migration(3, "import_log: outcome 'failed' for a write that did not commit", _rebuild("import_log")),
    Migration(4, "the reporting cycle: report receipts, people in charge, emulation results, departure profiles",
              _create("report_receipts", "people_in_charge", "classification_criteria", "classifications",
                      "departures_profile")),
    Migration(5, "from job fair to departure: recruitment orders, their interviews, training courses",
              _create("recruitment_orders", "order_interviews", "training_courses")),
    Migration(6, "protection: cases, families' clubs, returnees; priority groups with multi-membership",
              _protection),
    Migration(7, "data_version", _create("data_version")),
    Migration(8, "second_factors: TOTP second factor, offered to every account, required for administrators",
              _create("second_factors")),
    Migration(9, "users: scope (unit_code VN / province / commune, company_licence) and one-time passwords; "
                 "existing accounts become national",
              _sql("ALTER TABLE users ADD COLUMN IF NOT EXISTS unit_code VARCHAR DEFAULT 'VN'",
                   "ALTER TABLE users ADD COLUMN IF NOT EXISTS company_licence VARCHAR",
                   "ALTER TABLE users ADD COLUMN IF NOT EXISTS must_change_password BOOLEAN DEFAULT FALSE",
                   "UPDATE users SET unit_code = 'VN' WHERE unit_code IS NULL",
                   "UPDATE users SET must_change_password = FALSE WHERE must_change_password IS NULL")),
    Migration(10, "the commune's monthly report and its approval: commune_months, approval_events",
              _create("commune_months", "approval_events")),
    Migration(11, "notifications: the outbox and its attachments, job runs, users' addresses and subscriptions, "
              "provinces' webhooks", _create("outbox", "outbox_attachments", "job_runs", "notification_contacts",
                                             "notification_subscriptions", "province_webhooks")),
    Migration(12, "people_in_charge.email: where reminders and reports go",
              _sql("ALTER TABLE people_in_charge ADD COLUMN IF NOT EXISTS email VARCHAR")),
)
"""Every step, in order. Append; never edit or renumber a step that has shipped."""

LATEST = MIGRATIONS[-1].number


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    df = backend.run(con, "migration_columns", """
        SELECT column_name FROM duckdb_columns()
        WHERE database_name = current_database() AND schema_name = current_schema() AND table_name = $t
        ORDER BY column_index""", {"t": table})
    return list(df["column_name"])


def _has_table(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    return bool(_columns(con, table))


def applied(con: duckdb.DuckDBPyConnection) -> list[int]:
    """Numbers of the steps this database has had (empty before migrations existed)."""
    if not _has_table(con, "schema_migrations"):
        return []
    return [int(n) for n in backend.run(con, "migrations_applied",
                                   "SELECT number FROM schema_migrations ORDER BY number")["number"]]


def record(con: duckdb.DuckDBPyConnection, m: Migration, how: str) -> None:
    backend.execute(con, "migration_record", "INSERT INTO schema_migrations VALUES ($n, $name, $at, $how)",
               {"n": m.number, "name": m.name, "at": dt.datetime.now(), "how": how})


def check_not_newer(done: list[int]) -> None:
    """Refuse a database made by a newer version of the code."""
    unknown = sorted(set(done) - {m.number for m in MIGRATIONS})
    if unknown:
        raise DatabaseError(
            f"Cơ sở dữ liệu đã được nâng cấp bởi một phiên bản mới hơn của XKLĐ-Geo (bước {unknown[-1]}; "
            f"phiên bản này chỉ biết đến bước {LATEST}). Hãy cập nhật mã nguồn trước khi mở cơ sở dữ liệu này.",
            reason="newer_schema", database_steps=unknown, known=LATEST)


def mark_current(con: duckdb.DuckDBPyConnection) -> None:
    """Record every step as done on a database just created from the declarations."""
    backend.execute(con, "migrations_table", DDL)
    for m in MIGRATIONS:
        record(con, m, "built")


def migrate(con: duckdb.DuckDBPyConnection) -> list[int]:
    """Run the steps this database has not had, each in one transaction; return their numbers.

    A database without any table (not built yet) is left alone: only the build creates databases.
    """
    done = applied(con)
    check_not_newer(done)
    if not done and not _has_table(con, "admin_units"):
        return []
    ran: list[int] = []
    if not done:
        with backend.transaction(con):
            backend.execute(con, "migrations_table", DDL)
            record(con, MIGRATIONS[0], "found")
        done = [MIGRATIONS[0].number]
    for m in MIGRATIONS:
        if m.number in done:
            continue
        with backend.transaction(con):
            m.apply(con)
            record(con, m, "ran")
        ran.append(m.number)
    return ran
