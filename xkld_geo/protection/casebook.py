"""What the cases page shows (:func:`build_cases`): open cases per unit for the map, their ageing,
cases per company with the repeat offenders flagged, the list and the latest state changes.

Internal only: the public screen and the release never call this module. The note of a case is in
the list only when the caller asks for it (planners and administrators, see :mod:`xkld_geo.access.auth`).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import duckdb
import pandas as pd

from xkld_geo.access import scope
from xkld_geo.database import db
from xkld_geo.figures import queries
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
                with_notes: bool = False, viewer: scope.HasScope | None = None) -> CasesView:
    """Everything the cases page draws, for ``province`` (None: the country). With ``viewer`` the
    register is cut to the account's scope (:func:`scope.visible_communes`): a commune's officer
    sees its own commune's cases, units, alarms and state changes, never its neighbours'; the cases
    per company stay the province's aggregate."""
    listed = cases.case_list(con, province, today, with_notes=with_notes)
    by_unit = open_by_unit(con, province, today)
    changes = cases.history(con, limit=50 if viewer is None else 500)
    found = alarms.current(con, today, province)
    if viewer is not None and not scope.of(con, viewer).national:
        listed = scope.visible_communes(con, viewer, listed).reset_index(drop=True)
        if province is not None:   # a province's map: its communes (a national map shows provinces)
            by_unit = scope.visible_communes(con, viewer, by_unit, "unit_code").reset_index(drop=True)
        changes = changes[changes["case_ref"].isin(set(listed["case_ref"]))].head(50).reset_index(drop=True)
        if "source" in found and "unit_code" in found:
            communes = found[found["source"] == "commune"]
            kept = scope.visible_communes(con, viewer, communes, "unit_code")
            found = found[(found["source"] != "commune") | found.index.isin(kept.index)].reset_index(drop=True)
    open_cases = listed[listed["status"] != "closed"]
    is_demo = bool(listed["is_demo"].any()) if len(listed) else False
    return CasesView(by_unit, ageing(open_cases), by_company(con, province), listed, changes, len(open_cases),
                     is_demo, found, alarms.shared_record(con, today).text)


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
