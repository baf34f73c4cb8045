"""Make the old databases of the upgrade tests: the fictional country's warehouse as an older
version of the code made it, filled with what a province would never want to lose: users, a
session, audit rows, an approved plan, imported reports and (from step 4 on) a worker register.

* ``v8_tiny.duckdb.gz``: commit 8714fc9, schema version 8, before migrations existed;
* ``step3_tiny.duckdb.gz``, ``step4_tiny.duckdb.gz``, ``step6_tiny.duckdb.gz``: the newest main at
  each of the last three schema steps before today's (main went from step 4 to 6 in one merge;
  :data:`STEPS`).

Run from the project root: ``.venv/bin/python tests/data/legacy/make_legacy.py [NAME ...]``
(default: every one). It checks each commit out into a temporary folder with ``git archive`` and
runs it with this project's Python, so the fixture is made by the old code itself; the upgrade
tests (tests/test_migrations.py) open, build and start the result with today's code. The outputs
are committed so the tests need no git history.
"""
from __future__ import annotations

import gzip
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
STEPS: dict[str, tuple[str, bool]] = {
    "v8_tiny": ("8714fc9", False),
    "step3_tiny": ("e0bab63", True),   # the newest main at each of the last three steps before today's
    "step4_tiny": ("7df8ba3", True),   # (before worker_groups: its register has one group per worker)
    "step6_tiny": ("3ec0a17", True),
}
"""Fixture name → (commit whose code makes it, whether a worker register is imported into it)."""

FILL = r'''
import datetime as dt, sys
from pathlib import Path
sys.path.insert(0, ".")
from tests.conftest import settings_for, write_tiny_data
from xkld_geo.access import auth
from xkld_geo.database import db
from xkld_geo.errors import AuthError
try:                                             # the layout since the packages (build, intake, planning)
    from xkld_geo.warehouse import assembly
    from xkld_geo.intake import ingest
    from xkld_geo.planning import plans
except ImportError:                              # the flat layout of older code
    from xkld_geo import ingest, plans, warehouse

root = Path(sys.argv[1])
settings = settings_for(write_tiny_data(root / "data"), root / "legacy.duckdb", today=dt.date(2026, 3, 15))
warehouse.build(settings)
db.close_all()
con = db.open_connection(settings.db_path)
auth.create_user(con, "quan_tri", "mat-khau-quan-tri", "admin", by="legacy")
auth.create_user(con, "ke_hoach", "mat-khau-ke-hoach", "planner", by="legacy")
auth.create_user(con, "can_bo", "mat-khau-can-bo", "clerk", by="legacy")
auth.login(con, "quan_tri", "mat-khau-quan-tri")
try:
    auth.login(con, "ke_hoach", "sai-mat-khau")  # a failed attempt, kept in login_attempts
except AuthError:
    pass
admin = auth.User("quan_tri", "Quản trị", "admin")
planner = auth.User("ke_hoach", "Kế hoạch", "planner")
base = plans.base_table(con, 2026, "99")
params = plans.Params(3000, floor=2, cap_pct=None)
table = plans.propose(base, params)
quotas = dict(zip(table["code"], table["proposed"].astype(int)))
pid, _ = plans.save_draft(con, year=2026, province="99", name="Phương án cũ", params=params, quotas=quotas,
                          user=planner, comment="trước khi có migrations")
plans.submit(con, pid, planner)
plans.approve(con, pid, admin)
report = ("Tháng,Mã xã,Thị trường,Giới tính,Hình thức,Số người\n"
          "02/2026,99004,TW,nu,doanh_nghiep,6\n02/2026,99005,JP,nam,thuc_tap_sinh,3\n")
ingest.import_file(con, report.encode(), "bao_cao_cu.csv", "departures", "can_bo", settings,
                   today=dt.date(2026, 3, 15))
if len(sys.argv) > 2:                            # a worker register (priority groups, one per worker)
    ingest.import_file(con, Path(sys.argv[2]).read_bytes(), "danh_sach_xa.csv", "register", "can_bo", settings,
                       today=dt.date(2026, 3, 15))
con.execute("CHECKPOINT")
con.close()
print(settings.db_path)
'''


def make(name: str) -> None:
    """Write ``NAME.duckdb.gz`` from the code of its commit."""
    commit, register = STEPS[name]
    out = HERE / f"{name}.duckdb.gz"
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "old"
        tree.mkdir()
        archive = subprocess.run(["git", "archive", commit], cwd=ROOT, check=True, capture_output=True).stdout
        with tarfile.open(fileobj=__import__("io").BytesIO(archive)) as tar:
            tar.extractall(tree, filter="data")
        (tree / "fill.py").write_text(FILL, encoding="utf-8")
        work = Path(tmp) / "work"
        work.mkdir()
        extra = [str(ROOT / "tests" / "data" / "danh_sach_xa.csv")] if register else []
        done = subprocess.run([sys.executable, "fill.py", str(work), *extra], cwd=tree, capture_output=True,
                              text=True, env={**os.environ, "XKLD_ID_KEY_FILE": str(work / "id.key")})
        if done.returncode:
            sys.exit(f"the old code ({commit}) failed:\n{done.stderr[-3000:]}")
        built = Path(done.stdout.strip().splitlines()[-1])
        with open(built, "rb") as src, gzip.open(out, "wb", compresslevel=9) as dst:
            shutil.copyfileobj(src, dst)
    print(f"wrote {out} ({out.stat().st_size // 1024} KB)")


def main() -> None:
    for name in sys.argv[1:] or list(STEPS):
        make(name)


if __name__ == "__main__":
    main()
