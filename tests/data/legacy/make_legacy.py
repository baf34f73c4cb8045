"""Make ``v8_tiny.duckdb.gz``: the fictional country's warehouse as the code before migrations made
it (commit 8714fc9, schema version 8), filled with what a province would never want to lose:
users, a session, audit rows, an approved plan, imported reports and a worker register.

Run from the project root: ``.venv/bin/python tests/data/legacy/make_legacy.py``. It checks that
commit out into a temporary folder with ``git archive`` and runs it with this project's Python,
so the fixture is made by the old code itself; the upgrade test (tests/test_migrations.py) opens
the result with today's code. The output is committed so the test needs no git history.
"""
from __future__ import annotations

import gzip
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

COMMIT = "8714fc9"
HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
OUT = HERE / "v8_tiny.duckdb.gz"

FILL = r'''
import datetime as dt, sys
from pathlib import Path
sys.path.insert(0, ".")
from tests.conftest import settings_for, write_tiny_data
from xkld_geo import auth, db
from xkld_geo.build import warehouse
from xkld_geo.intake import ingest
from xkld_geo.planning import plans
from xkld_geo.errors import AuthError

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
con.execute("CHECKPOINT")
con.close()
print(settings.db_path)
'''


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "old"
        tree.mkdir()
        archive = subprocess.run(["git", "archive", COMMIT], cwd=ROOT, check=True, capture_output=True).stdout
        with tarfile.open(fileobj=__import__("io").BytesIO(archive)) as tar:
            tar.extractall(tree, filter="data")
        (tree / "fill.py").write_text(FILL, encoding="utf-8")
        work = Path(tmp) / "work"
        work.mkdir()
        done = subprocess.run([sys.executable, "fill.py", str(work)], cwd=tree, capture_output=True, text=True)
        if done.returncode:
            sys.exit(f"the old code failed:\n{done.stderr[-3000:]}")
        built = Path(done.stdout.strip().splitlines()[-1])
        with open(built, "rb") as src, gzip.open(OUT, "wb", compresslevel=9) as dst:
            shutil.copyfileobj(src, dst)
    print(f"wrote {OUT} ({OUT.stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main()
