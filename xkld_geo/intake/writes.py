"""The statistics an import writes: which rows, which natural key, and replacing without doubling.

A report covers *scopes*: a commune in a month (departures, job fairs, loans), a commune in a year
(quotas) or a commune, year and priority group (eligible pools). Importing replaces everything stored
for each scope it covers, demo figures included; a scope whose stored rows are already identical is
left alone and its rows count as already present, so importing the same file twice, or two
overlapping files, never counts anyone twice. Every replaced scope is written to ``import_changes``
(old and new totals), quota changes also to ``quota_changes``. Table and column names come from
:data:`TARGETS` only (a fixed whitelist), values are always bound.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd

from xkld_geo.database import db
from xkld_geo.intake import registers
from xkld_geo.intake.checks import COUNT_MAX, TOTAL
from xkld_geo.intake.kinds import Kind


@dataclass(frozen=True)
class Target:
    """A fact table an import writes: its natural key, the scope replaced together, its values."""

    table: str
    key: tuple[str, ...]
    scope: tuple[str, ...]
    values: tuple[str, ...]
    extra: tuple[str, ...] = ()      # stored but not compared (e.g. the source of a quota)

    @property
    def columns(self) -> tuple[str, ...]:
        return self.key + self.values + self.extra + ("is_demo",)


TARGETS: dict[str, Target] = {
    "departures": Target("departures", ("month", "commune_code", "market", "sex", "channel", "priority_group"),
                         ("month", "commune_code"), ("departures",)),
    "job_fairs": Target("job_fair_attendance", ("month", "commune_code"), ("month", "commune_code"),
                        ("attendees", "orientation_registrations")),
    "quotas": Target("quotas", ("year", "unit_level", "unit_code"), ("year", "unit_level", "unit_code"),
                     ("quota",), ("source",)),
    "pools": Target("eligible_pools", ("year", "commune_code", "priority_group"),
                    ("year", "commune_code", "priority_group"), ("pool",)),
    "loans": Target("programme_monthly", ("month", "commune_code"), ("month", "commune_code"),
                    ("loans", "loan_amount_mvnd", "returnees", "breaches", "fraud_reports")),
    "clubs": Target("family_clubs", ("year", "commune_code"), ("year", "commune_code"),
                    ("clubs", "members", "meetings")),
    "returnees": Target("returnees", ("month", "commune_code", "market", "occupation"), ("month", "commune_code"),
                        ("returned", "found_work")),
    "cases": Target("cases", ("case_ref",), ("case_ref",), ()),   # a register: written by protection.intake
}
TARGETS["register"] = TARGETS["departures"]
SOURCE_COLUMNS: dict[str, dict[str, str]] = {
    "departures": {"thang": "month", "thi_truong": "market", "gioi_tinh": "sex", "kenh": "channel",
                   "nhom_uu_tien": "priority_group", "so_nguoi": "departures"},
    "job_fairs": {"thang": "month", "so_nguoi_tham_du": "attendees", "so_dang_ky_dinh_huong": "orientation_registrations"},
    "quotas": {"nam": "year", "chi_tieu": "quota"},
    "pools": {"nam": "year", "nhom_uu_tien": "priority_group", "so_doi_tuong": "pool"},
    "clubs": {"nam": "year", "so_clb": "clubs", "so_thanh_vien": "members", "so_buoi_sinh_hoat": "meetings"},
    "returnees": {"thang": "month", "thi_truong": "market", "nghe": "occupation", "so_ve_nuoc": "returned",
                  "so_co_viec_lam": "found_work"},
    "loans": {"thang": "month", "so_khoan_vay": "loans", "so_tien_vay": "loan_amount_mvnd", "ve_nuoc": "returnees",
              "vi_pham": "breaches", "lua_dao": "fraud_reports"},
}
"""Template column → table column, per kind (registers are aggregated by :mod:`registers`)."""




@dataclass
class Plan:
    """What an import will write: rows per natural key, the scopes they replace, the refused rows."""

    kind: Kind
    target: Target
    rows: pd.DataFrame          # table rows (registers: entries), aggregated by natural key
    scopes: pd.DataFrame        # scope key of every accepted input row (index: row number)
    errors: pd.DataFrame        # row, field, value, reason
    merged_in_file: int = 0     # registers: the same worker twice in this file


@dataclass(frozen=True)
class WriteResult:
    """Counts of input rows by what happened to them, and how many scopes were replaced."""

    accepted: int
    already_present: int
    duplicates_merged: int
    units_replaced: int


def _error(rows: pd.Index, field: str, reason: str | pd.Series, value: str | pd.Series = "") -> pd.DataFrame:
    return pd.DataFrame({"row": rows, "field": field, "value": value, "reason": reason})


def scope_strings(frame: pd.DataFrame) -> pd.Series:
    """Each row's scope as one comparable string (dates as YYYY-MM-DD whatever their dtype)."""
    parts = [pd.to_datetime(frame[c]).dt.strftime("%Y-%m-%d") if c == "month" else frame[c].astype(str)
             for c in frame.columns]
    return pd.concat(parts, axis=1).agg("|".join, axis=1) if len(frame) else pd.Series(dtype=str)


def _scope_keys(values: pd.DataFrame, t: Target, kind: str) -> pd.DataFrame:
    out = values.rename(columns=SOURCE_COLUMNS.get(kind, {})).copy()
    if kind == "quotas":
        out["unit_level"], out["unit_code"] = "commune", out["commune_code"]
    return out


def _duplicates(frame: pd.DataFrame, ok: pd.Index, k: Kind) -> pd.DataFrame:
    """Rows repeating an earlier row's unit, period and breakdown exactly (as typed)."""
    cols = [c.key for c in k.columns if c.kind not in ("count", "amount", "text") and c.key in frame]
    if ok.empty:
        return _error(ok, "Dòng", [])
    keys = frame.loc[ok, cols].astype(str).agg("\x1f".join, axis=1)
    first = pd.Series(keys.index, index=keys.index).groupby(keys.to_numpy()).transform("first")
    dup = first.index != first.to_numpy()
    return _error(first.index[dup], "Dòng", [f"trùng với dòng {r} (cùng xã, kỳ và phân loại)" for r in first[dup]])


def _totals(values: pd.DataFrame, ok: pd.Index, k: Kind) -> pd.DataFrame:
    """Departures: a 'Tổng' row must equal the sum of its commune-month's detail rows."""
    rows = values.loc[ok]
    is_total = rows["thi_truong"] == TOTAL
    if not is_total.any():
        return _error(pd.Index([]), "", "")
    scope = rows["thang"].astype(str) + "|" + rows["commune_code"].astype(str)
    detail = rows["so_nguoi"].where(~is_total, 0).groupby(scope).sum()
    total = rows["so_nguoi"].where(is_total, 0).groupby(scope).sum()
    n_detail = (~is_total).groupby(scope).sum()
    bad = [s for s in total.index[is_total.groupby(scope).any()] if detail[s] != total[s] or n_detail[s] == 0]
    hit = scope.isin(bad)
    reason = scope[hit].map(lambda s: (f"dòng tổng ({int(total[s])}) khác tổng các dòng chi tiết ({int(detail[s])})"
                                       if n_detail[s] else "chỉ có dòng tổng, thiếu các dòng chi tiết"))
    return _error(rows.index[hit], k.column("so_nguoi").header, reason.to_numpy())


def _overflow(mapped: pd.DataFrame, ok: pd.Index, t: Target, k: Kind) -> pd.DataFrame:
    """Rows whose natural key adds up (over several spellings of one market, say) to a count the
    table's INTEGER column cannot hold; each row alone was checked in :mod:`records`."""
    rows, out = mapped.loc[ok], [_error(pd.Index([]), "", "")]
    sources = SOURCE_COLUMNS.get(k.key, {})
    for col in (c for c in k.columns if c.kind == "count" and c.key in sources):
        if sources[col.key] not in rows or rows[sources[col.key]].astype(float).sum() <= COUNT_MAX:
            continue   # nothing can overflow: the usual case, decided without grouping
        keys = rows[list(t.key)].astype(str).agg("\x1f".join, axis=1)
        total = rows[sources[col.key]].astype(float).groupby(keys).transform("sum")
        hit = total.index[total > COUNT_MAX]
        out.append(_error(hit, col.header, "tổng các dòng cùng xã, kỳ và phân loại vượt " + f"{COUNT_MAX:,}".replace(",", ".")))
    return pd.concat(out, ignore_index=True)


def plan(k: Kind, frame: pd.DataFrame, values: pd.DataFrame, errors: pd.DataFrame, key: bytes | None,
         reporter: str = "") -> Plan:
    """Decide, before writing anything, which rows go in and which are refused and why."""
    t = TARGETS[k.key]
    ok = values.index.difference(errors["row"].unique())
    if k.key == "register":
        return _register_plan(k, frame, values.loc[ok], errors, key, reporter)
    if k.key == "cases":   # a register of cases, written by protection.intake (every row is its own scope)
        return Plan(k, t, values.loc[ok].copy(), values.loc[ok, ["ngay_tiep_nhan", "commune_code"]], errors)
    errors = pd.concat([errors, _duplicates(frame, ok, k)], ignore_index=True)
    ok = ok.difference(errors["row"].unique())
    if k.key == "departures":
        errors = pd.concat([errors, _totals(values, ok, k)], ignore_index=True)
    mapped = _scope_keys(values, t, k.key)
    errors = pd.concat([errors, _overflow(mapped, ok.difference(errors["row"].unique()), t, k)], ignore_index=True)
    located = mapped["commune_code"].notna() & mapped[t.scope[0]].notna()
    scope_of = scope_strings(mapped.loc[located, list(t.scope)])
    spoiled = set(scope_of.loc[scope_of.index.isin(errors["row"])])
    hit = scope_of.index[scope_of.isin(spoiled) & ~scope_of.index.isin(errors["row"])]
    if len(hit):
        errors = pd.concat([errors, _error(hit, "Dòng", "cùng xã và kỳ với một dòng bị lỗi; cả nhóm chưa được nhập "
                                                        "để không ghi thiếu số liệu")], ignore_index=True)
    ok = values.index.difference(errors["row"].unique())
    rows = mapped.loc[ok]
    if k.key == "departures":
        rows = rows[rows["market"] != TOTAL]
    scopes = mapped.loc[ok, list(t.scope)]
    rows = rows[list(t.key + t.values)].groupby(list(t.key), as_index=False, dropna=False).sum(min_count=1)
    if k.key == "departures":
        rows = rows[rows["departures"] > 0]
    if k.key == "quotas":
        rows["source"] = "import"
    rows["is_demo"] = False
    return Plan(k, t, rows.reset_index(drop=True), scopes, errors)


def _register_plan(k: Kind, frame: pd.DataFrame, values: pd.DataFrame, errors: pd.DataFrame, key: bytes | None,
                   reporter: str) -> Plan:
    assert key is not None
    dates = pd.to_datetime(values["ngay_xuat_canh"])
    named = frame.loc[values.index, "don_vi_bao_cao"] if "don_vi_bao_cao" in frame else pd.Series("", index=values.index)
    entries = pd.DataFrame({
        "person_key": registers.person_keys(values["so_cccd"], key), "year": dates.dt.year.astype(int),
        "month": dates.dt.to_period("M").dt.to_timestamp().dt.date, "commune_code": values["commune_code"],
        "market": values["thi_truong"], "sex": values["gioi_tinh"], "channel": values["kenh"],
        "priority_group": values["nhom_uu_tien"].str.split(";").str[0],
        "groups": values["nhom_uu_tien"], "reporter": named.where(named != "", reporter).str[:200]},
        index=values.index)
    first = ~entries.duplicated(["person_key", "year"], keep="first")
    return Plan(k, TARGETS["register"], entries[first], entries[["month", "commune_code"]], errors,
                merged_in_file=int((~first).sum()))


def _prepared(con: duckdb.DuckDBPyConnection, p: Plan) -> pd.DataFrame:
    """Incoming rows with values a report left blank (or had no column for) taken from what is stored."""
    rows = p.rows.copy()
    blank = [v for v in p.target.values if v in rows and rows[v].isna().any()]
    if not blank:
        return rows
    on = " AND ".join(f"x.{c} = k.{c}" for c in p.target.key)
    with db.registered(con, "imp_keys", rows[list(p.target.key)]):
        stored = db.run(con, f"import_stored_{p.target.table}",
                        f"SELECT {', '.join('x.' + c for c in p.target.key + p.target.values)} "
                        f"FROM {p.target.table} x JOIN imp_keys k ON {on}")
    if "month" in p.target.key:  # one dtype on both sides of the merge
        rows["month"], stored["month"] = pd.to_datetime(rows["month"]), pd.to_datetime(stored["month"])
    merged = rows.merge(stored, on=list(p.target.key), how="left", suffixes=("", "_stored"))
    for v in blank:
        merged[v] = merged[v].astype(float).fillna(merged[f"{v}_stored"].astype(float)).fillna(0)
    return merged[rows.columns]


def _replace(con: duckdb.DuckDBPyConnection, t: Target, scopes: pd.DataFrame, rows: pd.DataFrame,
             import_id: int) -> tuple[pd.DataFrame, int]:
    """Replace the scopes whose stored rows differ from ``rows``; return the changed scopes and how
    many of them held figures before."""
    cols = ", ".join(t.key + t.values)
    on = " AND ".join(f"x.{c} = s.{c}" for c in t.scope)
    with db.registered(con, "imp_scopes", scopes.drop_duplicates().reset_index(drop=True)), \
            db.registered(con, "imp_rows", rows):
        changed = db.run(con, f"import_changed_{t.table}", f"""
            WITH cur AS (SELECT {cols}, is_demo FROM {t.table} x SEMI JOIN imp_scopes s ON {on}),
                 inc AS (SELECT {cols}, is_demo FROM imp_rows),
                 diff AS ((SELECT * FROM cur EXCEPT ALL SELECT * FROM inc)
                          UNION ALL (SELECT * FROM inc EXCEPT ALL SELECT * FROM cur))
            SELECT DISTINCT {', '.join('d.' + c for c in t.scope)} FROM diff d""")
        if changed.empty:
            return changed, 0
        total = t.values[0]
        unit = "unit_code" if "unit_code" in t.scope else "commune_code"
        period = "CAST(s.year AS VARCHAR)" if "year" in t.scope else "strftime(s.month, '%Y-%m')"
        detail = "s.priority_group" if "priority_group" in t.scope else "NULL"
        with db.registered(con, "imp_changed", changed):
            log = db.run(con, f"import_totals_{t.table}", f"""
                SELECT {period} AS period, s.{unit} AS unit_code, {detail} AS detail,
                       (SELECT sum({total}) FROM {t.table} x WHERE {on}) AS old_total,
                       COALESCE((SELECT sum({total}) FROM imp_rows x WHERE {on}), 0) AS new_total
                FROM imp_changed s""")
            log.insert(0, "table_name", t.table)
            log.insert(0, "import_id", import_id)
            with db.registered(con, "imp_log", log):
                db.execute(con, "import_changes_insert", "INSERT INTO import_changes BY NAME SELECT * FROM imp_log")
            _write_changed(con, t, on)
        return changed, int(log["old_total"].notna().sum())


def _write_changed(con: duckdb.DuckDBPyConnection, t: Target, on: str) -> None:
    """Make the stored rows of the changed scopes (``imp_changed``) equal to ``imp_rows``.

    Rows whose key the report no longer has are deleted, kept keys are updated in place and new
    keys inserted: a key is never deleted and inserted again in one transaction, which DuckDB
    1.5 cannot roll back safely when the commit then fails (a full disk aborted the process).
    """
    same = " AND ".join(f"r.{c} = x.{c}" for c in t.key)
    db.execute(con, f"import_delete_{t.table}", f"""
        DELETE FROM {t.table} x USING imp_changed s
        WHERE {on} AND NOT EXISTS (SELECT 1 FROM imp_rows r WHERE {same})""")
    sets = ", ".join(f"{c} = r.{c}" for c in t.values + t.extra + ("is_demo",))
    db.execute(con, f"import_update_{t.table}", f"""
        UPDATE {t.table} x SET {sets} FROM imp_rows r
        WHERE {same} AND EXISTS (SELECT 1 FROM imp_changed s WHERE {on})""")
    db.execute(con, f"import_insert_{t.table}", f"""
        INSERT INTO {t.table} BY NAME SELECT {', '.join('r.' + c for c in t.columns)}
        FROM imp_rows r SEMI JOIN imp_changed s ON {on.replace('x.', 'r.')}
        WHERE NOT EXISTS (SELECT 1 FROM {t.table} x WHERE {same})""")


def sum_province_quotas(con: duckdb.DuckDBPyConnection, provinces: pd.DataFrame) -> None:
    """THE rule for province quotas: each (``year``, ``province_code``) of ``provinces`` gets the sum
    of its communes' quotas (imports, approved plans and rebuilds all call this); the province row
    is demo only if a commune row is, and a province left without commune quotas loses its row.

    Existing province rows are updated in place (``ON CONFLICT DO UPDATE``), never deleted and
    inserted again, which DuckDB 1.5 cannot roll back safely when the commit then fails."""
    with db.registered(con, "quota_provinces_in", provinces[["year", "province_code"]].drop_duplicates()):
        db.execute(con, "sum_province_quotas", """
            INSERT INTO quotas
            SELECT q.year, p.province_code, 'province', CAST(sum(q.quota) AS INTEGER), bool_or(q.is_demo), 'communes'
            FROM quotas q JOIN admin_units u ON u.era = '2025' AND u.level = 'commune' AND u.code = q.unit_code
            JOIN quota_provinces_in p ON p.year = q.year AND p.province_code = u.parent_code
            WHERE q.unit_level = 'commune' GROUP BY q.year, p.province_code
            ON CONFLICT (year, unit_level, unit_code)
            DO UPDATE SET quota = EXCLUDED.quota, is_demo = EXCLUDED.is_demo, source = EXCLUDED.source""")
        db.execute(con, "drop_empty_province_quotas", """
            DELETE FROM quotas q USING quota_provinces_in p
            WHERE q.unit_level = 'province' AND q.year = p.year AND q.unit_code = p.province_code
              AND NOT EXISTS (SELECT 1 FROM quotas c JOIN admin_units u ON u.era = '2025' AND u.level = 'commune'
                              AND u.code = c.unit_code WHERE c.unit_level = 'commune' AND c.year = p.year
                              AND u.parent_code = p.province_code)""")


def _quota_followups(con: duckdb.DuckDBPyConnection, changed: pd.DataFrame, import_id: int, user: str) -> None:
    """Log every changed commune quota and recompute the provinces' quotas as their communes' sums."""
    with db.registered(con, "imp_quota_changed", changed):
        db.execute(con, "import_quota_changes", """
            INSERT INTO quota_changes BY NAME
            SELECT $at AS at_time, $user AS username, NULL AS plan_id, $id AS import_id, c.year, c.unit_code,
                   CAST(l.old_total AS INTEGER) AS old_quota, CAST(l.new_total AS INTEGER) AS new_quota
            FROM imp_quota_changed c JOIN import_changes l ON l.import_id = $id AND l.table_name = 'quotas'
                 AND l.unit_code = c.unit_code AND l.period = CAST(c.year AS VARCHAR)""",
                   {"at": dt.datetime.now(), "user": user, "id": import_id})
        provinces = db.run(con, "import_quota_provinces", """
            SELECT DISTINCT c.year, u.parent_code AS province_code FROM imp_quota_changed c
            JOIN admin_units u ON u.era = '2025' AND u.level = 'commune' AND u.code = c.unit_code""")
    sum_province_quotas(con, provinces)


def write(con: duckdb.DuckDBPyConnection, p: Plan, import_id: int, user: str) -> WriteResult:
    """Write a plan (the caller holds the transaction) and count what happened to each input row."""
    if p.kind.key == "register":
        parts = registers.split_new(con, p.rows)
        new = parts["new"].assign(import_id=import_id)
        registers.insert(con, new)
        replaced = 0
        if len(new):
            scopes = new[["month", "commune_code"]].drop_duplicates()
            rows = registers.departures_for(con, scopes).assign(is_demo=False)
            _, replaced = _replace(con, p.target, scopes, rows, import_id)
        return WriteResult(len(new), len(parts["present"]), p.merged_in_file + len(parts["merged"]), replaced)
    rows = _prepared(con, p)
    changed, replaced = _replace(con, p.target, p.scopes, rows, import_id)
    if p.kind.key == "quotas" and len(changed):
        _quota_followups(con, changed, import_id, user)
    scope_of = scope_strings(p.scopes)
    changed_keys = set(scope_strings(changed[list(p.target.scope)]))
    accepted = int(np.count_nonzero(scope_of.isin(changed_keys)))
    return WriteResult(accepted, len(scope_of) - accepted, 0, replaced)
