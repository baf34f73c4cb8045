"""The shared store after a local build: what ``python -m xkld_geo build`` does to PostgreSQL.

With ``XKLD_DATABASE_URL`` set, a build makes this replica's local reference file as always, then
brings the store's schema up to this code (:func:`upgrade`: the tables created and seeded from the
build when the store is new, the migration steps it has not had run, under the schema lock) and
changes none of its rows: accounts, plans, imports, edits, and the demo figures and defaults that
were seeded when the store was made all stay as they are.

``build --reseed-store`` (:func:`reseed`) is the path for new data files or a new demo seed: the
store's rows are replaced by a fresh build of this code and data, carried over with the store's
own rows exactly as a local rebuild carries over the old file's (:func:`warehouse.carry_over`:
accounts, sessions, audit, plans, edited reference rows, and entered figures outranking the demo
rows of their scope), in one PostgreSQL transaction, so a failure leaves the store as it was.
Imports and plan changes wait for it (their advisory locks); a login made meanwhile may be lost
(sign in again). Every replica must then be rebuilt from the same files and restarted.
"""
from __future__ import annotations

import logging
import shutil
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

from xkld_geo.database import dataversion, db, store
from xkld_geo.settings import Settings
from xkld_geo.text import formats

log = logging.getLogger("xkld_geo.warehouse.seed")

PLANS_LOCK = "xkld_geo:plans"
"""The lock plan changes take (``planning.plans``): a re-seed holds it, and the import lock."""


@dataclass(frozen=True)
class StoreReport:
    """What a build did to the shared store."""

    where: str                      # host:port/database
    created: bool = False           # the store was empty: tables made and seeded from this build
    ran: tuple[int, ...] = ()       # migration steps run now
    reseeded: dict[str, int] | None = None   # rows per table after a re-seed

    def message(self) -> str:
        """The Vietnamese summary the command line prints."""
        head = f"Kho dùng chung PostgreSQL {self.where}: "
        if self.reseeded is not None:
            return head + (f"đã nạp lại từ bản dựng mới {len(self.reseeded)} bảng "
                           f"({formats.fmt_int(sum(self.reseeded.values()))} dòng), giữ tài khoản, phiên, nhật ký, kế hoạch, "
                           "dữ liệu tham chiếu đã sửa và số liệu đã nhập. Hãy dựng lại và khởi động lại mọi bản sao.")
        if self.created:
            return head + "chưa có bảng; đã tạo theo khai báo và nạp dữ liệu ban đầu từ bản dựng này."
        done = (f"đã chạy các bước nâng cấp {', '.join(map(str, self.ran))}; " if self.ran
                else "lược đồ đã hiện hành; ")
        return head + done + ("không thay đổi dòng nào (tài khoản, kế hoạch, số liệu đã nhập, số liệu minh họa "
                              "và mặc định nạp lúc tạo kho giữ nguyên). Để thay số liệu minh họa và mặc định "
                              "bằng bản dựng mới mà vẫn giữ dữ liệu đã nhập: python -m xkld_geo build --reseed-store")


def _applied(settings: Settings) -> set[int] | None:
    """Migration steps the store has recorded (None: no schema yet)."""
    with store._pg(settings) as pc:
        row = pc.execute("SELECT to_regclass('public.schema_migrations') IS NOT NULL").fetchone()
        if not (row and row[0]):
            return None
        numbers = {int(r[0]) for r in pc.execute("SELECT number FROM schema_migrations").fetchall()}
    return numbers or None


def upgrade(settings: Settings) -> StoreReport:
    """Make the store's schema current for this code (see the module docstring); no row changes."""
    before = _applied(settings)
    store.open_shared(settings).close()     # creates and seeds, or runs the missing steps, under the lock
    after = _applied(settings) or set()
    return StoreReport(store.where(settings), created=before is None,
                       ran=tuple(sorted(after - before)) if before is not None else ())


def reseed(settings: Settings) -> StoreReport:
    """Replace the store's rows by a fresh build carried over with them (see the module docstring).

    The store's shared tables are copied into a temporary DuckDB file, and a build is made over it
    as over an old database: the build's own carry-over keeps the store's work and its demo writers
    replace the demo rows, as in a local rebuild. The result replaces the store's rows in one
    transaction. The import and plan locks are held from the copy to the commit."""
    from xkld_geo.intake import ingest
    from xkld_geo.warehouse import assembly

    report = upgrade(settings)
    seed = settings.demo_seed if settings.seed_is_explicit else (
        assembly.stored_seed(Path(settings.db_path)) or settings.demo_seed)   # the local build's seed
    folder = Path(tempfile.mkdtemp(prefix=".reseed-", dir=Path(settings.db_path).parent))
    merged = folder / "store.duckdb"
    tables = store.shared_tables()
    counts: dict[str, int] = {}
    try:
        with store.exclusive(settings, ingest.IMPORT_LOCK), store.exclusive(settings, PLANS_LOCK):
            con = store.open_shared(settings)
            try:
                db.execute(con, "seed_attach_copy", f"ATTACH {db.quote_literal(str(merged))} AS store_copy")
                for t in tables:   # the store's rows, as an old database the build carries over
                    q = db.quote_identifier(t.name)
                    db.execute(con, f"seed_copy_{t.name}", f"CREATE TABLE store_copy.main.{q} AS SELECT * FROM pg.public.{q}")
                db.execute(con, "seed_detach_copy", "DETACH store_copy")
                assembly.build(replace(settings, db_path=merged, database_url="", demo_seed=seed,
                                        seed_is_explicit=True), force=True)
                db.execute(con, "seed_attach_fresh", f"ATTACH {db.quote_literal(str(merged))} AS fresh (READ_ONLY)")
                try:
                    with db.transaction(con):
                        for t in tables:
                            q = db.quote_identifier(t.name)
                            db.execute(con, f"seed_clear_{t.name}", f"DELETE FROM pg.public.{q}")
                            db.execute(con, f"seed_fill_{t.name}",
                                       f"INSERT INTO pg.public.{q} BY NAME SELECT * FROM fresh.main.{q}")
                            counts[t.name] = int(db.run(con, f"seed_count_{t.name}",
                                                        f"SELECT count(*) AS n FROM fresh.main.{q}")["n"].iloc[0])
                        db.execute(con, "seed_sequence",   # past the versions written (the build's own too)
                                   f"CALL postgres_execute('pg', {db.quote_literal(dataversion.STORE_SYNC)})")
                        dataversion.bump(con, "reseed")
                finally:
                    db.execute(con, "seed_detach_fresh", "DETACH fresh")
            finally:
                con.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    log.warning("shared store %s re-seeded: %s rows", report.where, sum(counts.values()))
    return replace(report, reseeded=counts)
