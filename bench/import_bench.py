"""Benchmark: a 1,000,000-row individual register imported, validated and deduplicated (target ≤ 60 s).

Works on a copy of the built database (``python -m xkld_geo build`` first), so the real one is not
touched. The generated register (seeded) looks like a province-wide list: real 2025 commune codes,
one row in twenty giving the commune by name and province instead of a code, one worker in thirty
listed twice (by the commune and by the company, a few days apart), one row in a thousand with a
bad ID number or market. Prints the import time, rows per second and peak
memory (resident set size); it asserts nothing.

The default upload limit (50 MB) is meant for monthly reports; a 1M-row register is about 110 MB,
so the run raises the limit for itself and says so.

Then the same for a spreadsheet at the XLSX format's limit: 1,048,575 rows whose counts are
formulas (``tests/data/hostile/make_hostile.py``'s ``formula_xlsx``, made at run time, never
committed), imported with the default limits the way the command line and the upload page call
it (``ingest.import_file``): time, peak memory and memory after, printed beside the CSV figures.
With the default ``XKLD_MAX_XLSX_ROWS`` it is refused by the row limit; ``--xlsx-limit N`` raises
that limit to see what reading it would cost instead.

Run: ``.venv/bin/python bench/import_bench.py [--rows 1000000] [--keep FILE.csv] [--xlsx-rows 1048575]``.
"""
from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from xkld_geo import registrations  # noqa: F401  (the intake's kinds and hooks)
from xkld_geo.database import db  # noqa: F401  (the intake's kinds and hooks)
from xkld_geo.intake import ingest  # noqa: E402
from xkld_geo.settings import load_settings  # noqa: E402

MARKETS = ["Nhật Bản", "JP", "Hàn Quốc", "KR", "Đài Loan", "TW", "Đức", "Trung Quốc"]
CHANNELS = ["Thực tập sinh kỹ thuật", "tts", "EPS", "Doanh nghiệp", "dn"]
GROUPS = ["", "", "", "Hộ nghèo", "BĐXN", "Hộ cận nghèo", "DTTS"]


def peak_mb() -> float:
    """Peak resident set size of this process so far, in MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô"]
MIDDLE = ["Văn", "Thị", "Hữu", "Đức", "Ngọc", "Minh", "Thanh", "Quốc", "Xuân", "Thu"]
GIVEN = ["An", "Bình", "Cường", "Dũng", "Giang", "Hà", "Hải", "Hùng", "Hương", "Khánh", "Lan", "Linh", "Long",
         "Mai", "Nam", "Nga", "Phong", "Phương", "Quân", "Sơn", "Tâm", "Thảo", "Trang", "Trung", "Tuấn", "Yến"]


def _names(rng: np.random.Generator, n: int) -> np.ndarray:
    """Full names, most of them distinct (as in a real register, where every row is a person)."""
    parts = [rng.choice(np.array(words, dtype=object), size=n) for words in (FAMILY, MIDDLE, MIDDLE, GIVEN)]
    return parts[0] + " " + parts[1] + " " + parts[2] + " " + parts[3]


def register_csv(con, rows: int, today: dt.date, seed: int = 20260) -> tuple[bytes, int, int]:
    """The register as CSV bytes; returns (bytes, duplicated workers, bad rows)."""
    rng = np.random.default_rng(seed)
    units = con.execute("""SELECT c.code, c.name, p.name FROM admin_units c JOIN admin_units p
                           ON p.code = c.parent_code AND p.era = '2025' AND p.level = 'province'
                           WHERE c.era = '2025' AND c.level = 'commune' ORDER BY c.code""").fetchall()
    codes = np.array([u[0] for u in units])
    names = np.array([u[1] for u in units])
    provinces = np.array([u[2] for u in units])
    dup = rows // 30
    unique = rows - dup
    ids = rng.choice(10 ** 11, size=unique, replace=False) + 10 ** 11      # distinct 12-digit numbers
    person = np.concatenate([np.arange(unique), rng.choice(unique, size=dup, replace=False)])
    where = rng.integers(0, len(codes), size=unique)[person]
    start = dt.date(today.year, 1, 1).toordinal()
    day = rng.integers(start, today.toordinal() - 7, size=unique)[person] + np.where(
        np.arange(rows) >= unique, rng.integers(0, 5, size=rows), 0)           # the second listing: days later
    frame = pd.DataFrame({
        "Số CCCD/CMND": ids[person].astype(str),
        "Họ và tên": _names(rng, unique)[person],
        "Ngày xuất cảnh": [dt.date.fromordinal(int(d)).strftime("%d/%m/%Y") for d in day],
        "Giới tính": rng.choice(["Nam", "Nữ"], size=rows),
        "Mã xã": codes[where],
        "Tên xã/phường": "",
        "Tỉnh/thành phố": "",
        "Thị trường": rng.choice(MARKETS, size=rows),
        "Hình thức": rng.choice(CHANNELS, size=rows),
        "Nhóm ưu tiên": rng.choice(GROUPS, size=rows),
        "Đơn vị báo cáo": np.where(np.arange(rows) >= unique, "Công ty Cung ứng", "UBND xã")})
    by_name = rng.random(rows) < 0.05
    frame.loc[by_name, "Tên xã/phường"] = names[where][by_name]
    frame.loc[by_name, "Tỉnh/thành phố"] = provinces[where][by_name]
    frame.loc[by_name, "Mã xã"] = ""
    bad = rng.choice(rows, size=rows // 1000, replace=False)
    frame.loc[bad[: len(bad) // 2], "Số CCCD/CMND"] = "12345"
    frame.loc[bad[len(bad) // 2:], "Thị trường"] = "Sao Hỏa"
    order = rng.permutation(rows)
    return frame.iloc[order].to_csv(index=False).encode("utf-8"), dup, len(bad)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path, help="also write the generated CSV here")
    parser.add_argument("--xlsx-rows", type=int, default=1_048_575, help="rows of the formula XLSX (0: skip it)")
    parser.add_argument("--xlsx-limit", type=int, help="XKLD_MAX_XLSX_ROWS for the XLSX run (default: the setting)")
    args = parser.parse_args()
    settings = load_settings(secrets={})
    if not settings.db_path.exists():
        sys.exit(f"Chưa có cơ sở dữ liệu {settings.db_path}: chạy 'python -m xkld_geo build' trước.")
    xlsx = xlsx_run(settings, args.xlsx_rows, args.xlsx_limit) if args.xlsx_rows else ""
    with tempfile.TemporaryDirectory(prefix="xkld-import-bench-") as tmp:
        copy = Path(tmp) / "bench.duckdb"
        shutil.copy(settings.db_path, copy)
        cfg = dataclasses.replace(settings, db_path=copy, id_key=None, id_key_file=Path(tmp) / "id.key",
                                  max_upload_mb=500.0, max_import_rows=max(settings.max_import_rows, args.rows))
        con = db.open_connection(copy)
        today = cfg.effective_today
        t0 = time.perf_counter()
        data, dup, bad = register_csv(con, args.rows, today)
        made = time.perf_counter() - t0
        if args.keep:
            args.keep.write_bytes(data)
        base = peak_mb()
        print(f"register: {args.rows:,} rows, {len(data) / 1e6:.1f} MB CSV, {dup:,} workers listed twice, "
              f"{bad:,} bad rows (generated in {made:.1f} s; upload limit raised to {cfg.max_upload_mb:.0f} MB)")
        start = time.perf_counter()
        report = ingest.import_file(con, data, "bench_register.csv", "register", "bench", cfg)
        took = time.perf_counter() - start
        stored = con.execute("SELECT count(*) FROM register_entries").fetchone()[0]
        con.close()
    print(f"import: {report.summary()}")
    print(f"  stored workers {stored:,}; outcome {report.outcome}; rejected rows {report.rejected:,}")
    print(f"import time: {took:.1f} s ({args.rows / took:,.0f} rows/s; target ≤ 60 s for 1,000,000 rows: "
          f"{'met' if took <= 60 * args.rows / 1_000_000 else 'NOT met'})")
    print(f"peak memory (RSS): {peak_mb():,.0f} MB (before the import {base:,.0f} MB, "
          f"the CSV bytes alone {len(data) / 1e6:.0f} MB)")
    if args.xlsx_rows:
        print(f"formula XLSX (run first, its peak its own): {xlsx}")


def rss_mb() -> float:
    """Resident set size now, in MB."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 1e6


def xlsx_run(settings, rows: int, limit: int | None) -> str:  # type: ignore[no-untyped-def]
    """Import the formula XLSX at the format's limit; print its time and memory and return them in
    one line, printed again beside the CSV figures at the end."""
    import importlib.util

    from xkld_geo.errors import IngestError
    from xkld_geo.intake import queue

    spec = importlib.util.spec_from_file_location(
        "make_hostile", Path(__file__).resolve().parent.parent / "tests" / "data" / "hostile" / "make_hostile.py")
    assert spec is not None and spec.loader is not None
    make_hostile = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_hostile)
    t0 = time.perf_counter()
    data = make_hostile.formula_xlsx(rows)
    made = time.perf_counter() - t0
    with tempfile.TemporaryDirectory(prefix="xkld-import-bench-") as tmp:
        copy = Path(tmp) / "bench.duckdb"
        shutil.copy(settings.db_path, copy)
        cfg = dataclasses.replace(settings, db_path=copy, id_key=None, id_key_file=Path(tmp) / "id.key",
                                  max_xlsx_rows=limit or settings.max_xlsx_rows)
        con = db.open_connection(copy)
        queue.release_memory()
        before, peak_before = rss_mb(), peak_mb()
        start = time.perf_counter()
        try:
            report = ingest.import_file(con, data, "bao_cao_gioi_han.xlsx", "departures", "bench", cfg)
            outcome = f"imported: {report.summary()}"
        except IngestError as exc:
            outcome = f"refused: {exc.message}"
        took = time.perf_counter() - start
        con.close()
    after = rss_mb()
    print(f"formula XLSX: {rows:,} rows, {len(data) / 1e6:.1f} MB (made in {made:.1f} s), "
          f"XKLD_MAX_XLSX_ROWS {cfg.max_xlsx_rows:,}")
    print(f"  {outcome}")
    line = (f"{took:.2f} s ({'refused' if outcome.startswith('refused') else 'imported'}; targets: imported "
            f"≤ 60 s or refused ≤ 5 s), peak memory (RSS) {peak_mb():,.0f} MB (target ≤ 1,000 MB; "
            f"{peak_before:,.0f} MB before it), memory after it {after - before:+,.0f} MB (target within 200 MB)")
    print(f"  {line}")
    return line


if __name__ == "__main__":
    main()
