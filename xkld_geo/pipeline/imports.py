"""Writing the pipeline's imports: recruitment orders, interviews per commune, training courses.

The cells were parsed by :func:`xkld_geo.intake.checks.check` like every report; this module adds
the checks that need the database or several cells of a row (the licensed company exists, the
order was imported first, passed ≤ interviewed, a course's end not before its start...), then
writes by natural key: an order; an order × commune; a course × commune. A key whose stored row
is identical counts as already present, a differing one is updated in place (its old and new
totals go to ``import_changes``), a new one is inserted: re-importing a file never adds twice.
Registered with the intake (:func:`register_with_intake`); the caller
(:func:`xkld_geo.intake.ingest.import_file`) holds the one transaction of the import.
"""
from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd

from xkld_geo.database import db
from xkld_geo.intake import registry
from xkld_geo.intake.kinds import Kind, header_key
from xkld_geo.intake.writes import Plan, Target, WriteResult
from xkld_geo.pipeline.templates import LOOKUPS, PIPELINE_KINDS

TARGETS: dict[str, Target] = {
    "orders": Target("recruitment_orders", ("order_code",), ("order_code",),
                     ("places", "licence_no", "province_code", "market", "occupation", "requirements", "cost_usd",
                      "income_usd", "announced_on", "interview_on", "departure_on", "status")),
    "interviews": Target("order_interviews", ("order_code", "commune_code"), ("order_code", "commune_code"),
                         ("interviewed", "passed", "departed")),
    "training": Target("training_courses", ("course_code", "commune_code"), ("course_code", "commune_code"),
                       ("enrolled", "completed", "course_type", "provider", "market", "occupation", "order_code",
                        "start_on", "end_on")),
}
"""Table, key and values per kind; the first value is the total logged in ``import_changes``."""
SOURCE_COLUMNS: dict[str, dict[str, str]] = {
    "orders": {"ma_don_hang": "order_code", "so_giay_phep": "licence_no", "tinh": "province_code",
               "thi_truong": "market", "nganh_nghe": "occupation", "so_cho": "places", "yeu_cau": "requirements",
               "chi_phi_usd": "cost_usd", "thu_nhap_usd": "income_usd", "ngay_thong_bao": "announced_on",
               "ngay_phong_van": "interview_on", "ngay_xuat_canh_du_kien": "departure_on", "trang_thai": "status"},
    "interviews": {"ma_don_hang": "order_code", "so_phong_van": "interviewed", "so_trung_tuyen": "passed",
                   "so_xuat_canh": "departed"},
    "training": {"ma_khoa": "course_code", "loai_khoa": "course_type", "don_vi_dao_tao": "provider",
                 "thi_truong": "market", "nganh_nghe": "occupation", "ma_don_hang": "order_code",
                 "ngay_bat_dau": "start_on", "ngay_ket_thuc": "end_on", "so_ghi_danh": "enrolled",
                 "so_hoan_thanh": "completed"},
}
"""Template column → table column, per kind."""
PERIOD_SQL: dict[str, str] = {
    "orders": "strftime(r.announced_on, '%Y-%m')",
    "interviews": "COALESCE((SELECT strftime(COALESCE(o.interview_on, o.announced_on), '%Y-%m') "
                  "FROM recruitment_orders o WHERE o.order_code = r.order_code), '')",
    "training": "strftime(r.start_on, '%Y-%m')",
}
TEXT_MAX = 500


def _problems(rows: pd.Index, field: str, reason: str | list[str]) -> pd.DataFrame:
    return pd.DataFrame({"row": rows, "field": field, "value": "", "reason": reason})


def _where(mask: pd.Series, k: Kind, field: str, reason: str) -> pd.DataFrame:
    return _problems(mask.index[mask.fillna(False).astype(bool)], k.column(field).header, reason)


def _known(con: duckdb.DuckDBPyConnection, name: str, sql: str) -> dict[str, str]:
    """Folded spelling → the code as stored, of the first column of ``sql``'s result."""
    return {header_key(v): v for v in db.run(con, name, sql).iloc[:, 0]}


def _canonical(v: pd.DataFrame, key: str, known: dict[str, str]) -> pd.Series:
    """Whether each row's ``key`` cell names a known code (blank: not given); the cells become
    the codes as stored, however they were typed."""
    given = v[key].fillna("").astype(str)
    codes = given.map(lambda t: known.get(header_key(t)))
    v[key] = codes.where(given != "", None)
    return (given == "") | codes.notna()


def _provinces(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Folded province name (with and without 'Tỉnh'/'Thành phố') or code → 2025 province code."""
    found = db.run(con, "pipeline_provinces", "SELECT code, name FROM admin_units "
                                              "WHERE era = '2025' AND level = 'province'")
    out: dict[str, str] = {}
    for code, name in found.itertuples(index=False):
        key = header_key(name)
        out.update({code: code, key: code, key.removeprefix("tinh ").removeprefix("thanh pho ").strip(): code})
    return out


def _row_checks(con: duckdb.DuckDBPyConnection, k: Kind, v: pd.DataFrame, today: dt.date) -> list[pd.DataFrame]:
    """The checks of one kind that need the database or several cells of a row."""
    out: list[pd.DataFrame] = []
    orders = _known(con, "pipeline_order_codes", "SELECT order_code FROM recruitment_orders")
    for key in ("yeu_cau", "don_vi_dao_tao"):
        if key in v:
            out.append(_where(v[key].fillna("").str.len() > TEXT_MAX, k, key, f"dài quá {TEXT_MAX} ký tự"))
    if k.key == "orders":
        licences = _known(con, "pipeline_licences", "SELECT licence_no FROM licensed_companies")
        out.append(_where(~_canonical(v, "so_giay_phep", licences), k, "so_giay_phep",
                          "số giấy phép không có trong danh sách doanh nghiệp được cấp phép (trang Quản trị)"))
        provinces = _provinces(con)
        given = v["tinh"].fillna("").astype(str)
        code = given.map(lambda t: provinces.get(header_key(t).removeprefix("tinh ").removeprefix("thanh pho ")
                                                 .strip(), provinces.get(t.strip())))
        out.append(_where((given != "") & code.isna(), k, "tinh", "không có tỉnh/thành phố này (tên hoặc mã 2 số)"))
        v["tinh"] = code.where(given != "", None)
        announced, interview = pd.to_datetime(v["ngay_thong_bao"]), pd.to_datetime(v["ngay_phong_van"])
        departure = pd.to_datetime(v["ngay_xuat_canh_du_kien"])
        out.append(_where(interview < announced, k, "ngay_phong_van", "ngày phỏng vấn trước ngày thông báo"))
        out.append(_where(departure < interview.fillna(announced), k, "ngay_xuat_canh_du_kien",
                          "ngày xuất cảnh dự kiến trước ngày phỏng vấn/thông báo"))
        out.append(_where((v["trang_thai"] == "departed") & ~(departure <= pd.Timestamp(today)), k, "trang_thai",
                          "trạng thái 'Đã xuất cảnh' cần ngày xuất cảnh không sau hôm nay"))
    elif k.key == "interviews":
        out.append(_where(~_canonical(v, "ma_don_hang", orders), k, "ma_don_hang",
                          "đơn hàng chưa được nhập; hãy nhập đơn hàng (mẫu 'Đơn hàng tuyển lao động') trước"))
        out.append(_where(v["so_trung_tuyen"] > v["so_phong_van"], k, "so_trung_tuyen",
                          "số trúng tuyển lớn hơn số dự phỏng vấn"))
        out.append(_where(pd.to_numeric(v["so_xuat_canh"]).fillna(0) > v["so_trung_tuyen"], k, "so_xuat_canh",
                          "số đã xuất cảnh lớn hơn số trúng tuyển"))
    else:
        out.append(_where(~_canonical(v, "ma_don_hang", orders), k, "ma_don_hang",
                          "đơn hàng chưa được nhập; để trống hoặc nhập đơn hàng trước"))
        out.append(_where(v["so_hoan_thanh"] > v["so_ghi_danh"], k, "so_hoan_thanh",
                          "số hoàn thành lớn hơn số ghi danh"))
        start, end = pd.to_datetime(v["ngay_bat_dau"]), pd.to_datetime(v["ngay_ket_thuc"])
        out.append(_where(end < start, k, "ngay_ket_thuc", "ngày kết thúc trước ngày bắt đầu"))
        out.append(_where((end > pd.Timestamp(today)) & (v["so_hoan_thanh"] > 0), k, "so_hoan_thanh",
                          "khóa học chưa kết thúc: chưa có học viên hoàn thành"))
    return out


def plan(con: duckdb.DuckDBPyConnection, k: Kind, frame: pd.DataFrame, values: pd.DataFrame,
         errors: pd.DataFrame, today: dt.date) -> Plan:
    """Decide, before writing anything, which rows go in and which are refused and why."""
    t = TARGETS[k.key]
    ok = values.index.difference(errors["row"].unique())
    v = values.loc[ok].copy()
    found = [errors, *_row_checks(con, k, v, today)] if len(v) else [errors]
    errors = pd.concat(found, ignore_index=True)
    mapped = v.rename(columns=SOURCE_COLUMNS[k.key])
    if "so_xuat_canh" in values and "departed" in mapped:
        mapped["departed"] = pd.to_numeric(mapped["departed"]).fillna(0).astype(int)
    ok = mapped.index.difference(errors["row"].unique())
    keys = mapped.loc[ok, list(t.key)].astype(str).agg("\x1f".join, axis=1) if len(ok) else pd.Series(dtype=str)
    first = pd.Series(keys.index, index=keys.index).groupby(keys.to_numpy()).transform("first")
    dup = first.index != first.to_numpy()
    if dup.any():
        errors = pd.concat([errors, _problems(first.index[dup], "Dòng", [
            f"trùng với dòng {r} (cùng mã{' và xã' if 'commune_code' in t.key else ''})" for r in first[dup]])],
            ignore_index=True)
    ok = ok.difference(errors["row"].unique())
    rows = mapped.loc[ok, list(t.key + t.values)].copy()
    rows["is_demo"] = False
    return Plan(k, t, rows.reset_index(drop=True), mapped.loc[ok, list(t.key)], errors)


def write(con: duckdb.DuckDBPyConnection, p: Plan, import_id: int) -> WriteResult:
    """Write a plan (the caller holds the transaction); unchanged keys count as already present."""
    t = p.target
    table = db.quote_identifier(t.table)
    cols = ", ".join(t.columns)
    same = " AND ".join(f"x.{c} = r.{c}" for c in t.key)
    with db.registered(con, "pipeline_rows", p.rows):
        db.execute(con, "pipeline_typed", f"CREATE OR REPLACE TEMP TABLE pipeline_in AS "
                                          f"SELECT {cols} FROM {table} LIMIT 0")
        db.execute(con, "pipeline_typed_fill", f"INSERT INTO pipeline_in BY NAME SELECT {cols} FROM pipeline_rows")
    try:
        db.execute(con, "pipeline_changed", f"""
            CREATE OR REPLACE TEMP TABLE pipeline_changed AS
            SELECT {', '.join(t.key)} FROM (SELECT {cols} FROM pipeline_in EXCEPT SELECT {cols} FROM {table})""")
        total = t.values[0]
        db.execute(con, f"pipeline_log_{t.table}", f"""
            INSERT INTO import_changes BY NAME
            SELECT $id AS import_id, '{t.table}' AS table_name, {PERIOD_SQL[p.kind.key]} AS period,
                   r.{t.key[-1]} AS unit_code, r.{t.key[0]} AS detail,
                   (SELECT x.{total} FROM {table} x WHERE {same}) AS old_total, r.{total} AS new_total
            FROM pipeline_in r SEMI JOIN pipeline_changed c ON {same.replace('x.', 'c.')}""", {"id": int(import_id)})
        replaced = int(db.run(con, "pipeline_replaced", f"SELECT count(*) AS n FROM pipeline_changed r "
                                                        f"SEMI JOIN {table} x ON {same}")["n"][0])
        changed = int(db.run(con, "pipeline_changed_n", "SELECT count(*) AS n FROM pipeline_changed")["n"][0])
        sets = ", ".join(f"{c} = r.{c}" for c in t.values + ("is_demo",))
        db.execute(con, f"pipeline_update_{t.table}", f"""
            UPDATE {table} x SET {sets} FROM pipeline_in r
            WHERE {same} AND EXISTS (SELECT 1 FROM pipeline_changed c WHERE {same.replace('x.', 'c.')})""")
        db.execute(con, f"pipeline_insert_{t.table}", f"""
            INSERT INTO {table} BY NAME SELECT {', '.join('r.' + c for c in t.columns)} FROM pipeline_in r
            WHERE NOT EXISTS (SELECT 1 FROM {table} x WHERE {same})""")
    finally:
        db.execute(con, "pipeline_drop", "DROP TABLE IF EXISTS pipeline_in; DROP TABLE IF EXISTS pipeline_changed")
    return WriteResult(changed, len(p.rows) - changed, 0, replaced)


def _plan(con: duckdb.DuckDBPyConnection, rows: registry.Rows, errors: pd.DataFrame) -> Plan:
    return plan(con, rows.kind, rows.frame, rows.values, errors, rows.today)


def _write(con: duckdb.DuckDBPyConnection, p: Plan, import_id: int, user: str) -> WriteResult:
    return write(con, p, import_id)


def register_with_intake() -> None:
    """Add the pipeline's kinds (orders, interviews, courses) and their value lists to the intake
    (once, from :mod:`xkld_geo.registrations`)."""
    for k in PIPELINE_KINDS.values():
        registry.add_kind(k, plan=_plan, write=_write)
    registry.add_lookups(LOOKUPS)
