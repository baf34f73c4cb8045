"""What the cases page shows (:func:`build_cases`): open cases per unit for the map, their ageing,
cases per company with the repeat offenders flagged, the list and the latest state changes.

Internal only: the public screen and the release never call this module. The note of a case is in
the list only when the caller asks for it (planners and administrators, see :mod:`xkld_geo.auth`).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import duckdb
import pandas as pd

from xkld_geo import db, queries
from xkld_geo.protection import alarms, cases


@dataclass(frozen=True)
class CasesView:
    """The cases page's figures for one province (or the country)."""

    open_by_unit: pd.DataFrame   # unit_code, unit_name, open_cases, oldest_days (every unit, 0 where none)
    ageing: pd.DataFrame         # band, open cases in it
    companies: pd.DataFrame      # licence_no, company, licensed, cases per kind, repeated (flag)
    cases: pd.DataFrame          # the list (notes only when asked for)
    changes: pd.DataFrame        # the latest state changes, from the audit log
    open_total: int
    is_demo: bool
    alarms: pd.DataFrame = field(default_factory=pd.DataFrame)   # early warning (:mod:`.alarms`)
    alarm_record: str = ""       # how often the early warning has fired before (:func:`alarms.record`)


def open_by_unit(con: duckdb.DuckDBPyConnection, province: str | None, today: dt.date) -> pd.DataFrame:
    """Open cases per province (nationally) or per commune of ``province``, with the oldest one's age."""
    queries.check_code("tỉnh", province, 2)
    return db.run(con, "cases_open_by_unit", """
        WITH open AS (
            SELECT commune_code, count(*) AS n, max(date_diff('day', opened_on, $today)) AS oldest
            FROM cases WHERE status <> 'closed' GROUP BY 1
        )
        SELECT CASE WHEN $province IS NULL THEN c.province_code ELSE c.commune_code END AS unit_code,
               CASE WHEN $province IS NULL THEN any_value(p.name) ELSE any_value(c.commune_name) END AS unit_name,
               CAST(COALESCE(sum(o.n), 0) AS BIGINT) AS open_cases, max(o.oldest) AS oldest_days
        FROM v_communes c
        JOIN admin_units p ON p.era = '2025' AND p.level = 'province' AND p.code = c.province_code
        LEFT JOIN open o ON o.commune_code = c.commune_code
        WHERE $province IS NULL OR c.province_code = $province
        GROUP BY 1 ORDER BY 1""", {"province": province, "today": today})


def ageing(open_cases: pd.DataFrame) -> pd.DataFrame:
    """Open cases by how long they have been open (bands of :data:`cases.AGEING_BANDS`)."""
    days = open_cases["days_open"].astype(int)
    return pd.DataFrame({"band": [label for _, _, label in cases.AGEING_BANDS],
                         "open_cases": [int(((days >= lo) & (days < hi)).sum()) for lo, hi, _ in cases.AGEING_BANDS]})


def by_company(con: duckdb.DuckDBPyConnection, province: str | None) -> pd.DataFrame:
    """Cases per sending company; ``repeated``: fraud + breach + illegal-stay cases ≥ :data:`cases.REPEATED`."""
    queries.check_code("tỉnh", province, 2)
    kinds = ", ".join(f"count(*) FILTER (WHERE k.kind = '{k}') AS {k}" for k in cases.KIND_LABELS)
    df = db.run(con, "cases_by_company", f"""
        SELECT k.licence_no, any_value(l.name) AS company, bool_or(l.licence_no IS NOT NULL) AS licensed,
               count(*) AS total, count(*) FILTER (WHERE k.status <> 'closed') AS open, {kinds}
        FROM cases k JOIN v_communes c ON c.commune_code = k.commune_code
        LEFT JOIN licensed_companies l ON l.licence_no = k.licence_no
        WHERE k.licence_no IS NOT NULL AND ($province IS NULL OR c.province_code = $province)
        GROUP BY 1 ORDER BY total DESC, 1""", {"province": province})
    serious = df[["fraud", *cases.BREACH_KINDS]].sum(axis=1) if len(df) else pd.Series(dtype=int)
    df["repeated"] = (serious >= cases.REPEATED) & df["licensed"].astype(bool)
    df["company"] = df["company"].fillna("Không có trong danh sách doanh nghiệp được cấp phép")
    return df


def build_cases(con: duckdb.DuckDBPyConnection, province: str | None, today: dt.date,
                with_notes: bool = False) -> CasesView:
    """Everything the cases page draws, for ``province`` (None: the country)."""
    listed = cases.case_list(con, province, today, with_notes=with_notes)
    open_cases = listed[listed["status"] != "closed"]
    is_demo = bool(listed["is_demo"].any()) if len(listed) else False
    return CasesView(open_by_unit(con, province, today), ageing(open_cases), by_company(con, province), listed,
                     cases.history(con, limit=50), len(open_cases), is_demo, alarms.current(con, today, province),
                     alarms.shared_record(con, today).text)


def table(view: CasesView) -> pd.DataFrame:
    """The case list as the page shows it (Vietnamese labels)."""
    c = view.cases
    out = pd.DataFrame({
        "Mã vụ việc": c["case_ref"], "Loại": c["kind"].map(cases.KIND_LABELS), "Ngày tiếp nhận": c["opened_on"],
        "Xã": c["commune_name"], "Thị trường": c["market"], "Doanh nghiệp": c["company"].fillna(c["licence_no"]),
        "Trạng thái": c["status"].map(cases.STATUS_LABELS), "Số ngày": c["days_open"],
        "Cơ quan giải quyết": c["agency"], "Kết quả": c["outcome"]})
    if "note" in c:
        out["Ghi chú nội bộ"] = c["note"]
    return out


def company_table(view: CasesView) -> pd.DataFrame:
    """Cases per company with the flag written out."""
    c = view.companies
    out = pd.DataFrame({"Số giấy phép": c["licence_no"], "Doanh nghiệp": c["company"], "Tổng số vụ": c["total"],
                        "Đang mở": c["open"]})
    for key, label in cases.KIND_LABELS.items():
        out[label] = c[key] if len(c) else []
    out["Cảnh báo"] = [f"Lặp lại lừa đảo/vi phạm (≥ {cases.REPEATED} vụ)" if r else ("Không được cấp phép" if not lic else "")
                       for r, lic in zip(c["repeated"], c["licensed"])]
    return out
