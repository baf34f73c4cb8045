"""Quota plans: proposals, named drafts with version checks, approval, audit and the decision annex.

A plan is one province's split of its yearly target among its communes. Planners save drafts
(each keeps method, parameters, author, time and comment); a save carries the version it started
from and is refused if someone saved in between. Only an approved plan becomes the official quota
for the year; every quota it changes is written to the append-only ``quota_changes`` log.
"""
from __future__ import annotations

import datetime as dt
import json
import math
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Iterable, Iterator, Sequence

import duckdb
import pandas as pd

from xkld_geo.access import auth, scope
from xkld_geo.database import dataversion, db, store
from xkld_geo.errors import AllocationError, PlanError
from xkld_geo.figures import periods, queries
from xkld_geo.intake import writes
from xkld_geo.planning import allocation
from xkld_geo.settings import current
from xkld_geo.text import markup

PLAN_TABLES = ("plans", "plan_rows", "quota_changes")


@dataclass(frozen=True)
class Params:
    """What a planner chose; stored with the plan so it can be explained later."""

    target: int
    method: str = "population"
    weight_population: float = 0.5
    floor: int = 4
    cap_pct: float | None = 150.0     # cap as % of last year's result (None: no cap)
    frozen: tuple[tuple[str, int], ...] = ()




def base_table(con: duckdb.DuckDBPyConnection, year: int, province: str,
               today: dt.date | None = None) -> pd.DataFrame:
    """The province's communes with population, last year's result and the quota in force.

    Last year's result is annualised (× 12 / months elapsed at today's cut-off, the month in
    progress counting its days; without ``today``, / months with data) while that year is still
    running, so caps and weights built on it are not cut short when next year is planned in November.
    """
    queries.check_code("tỉnh", province, 2)
    elapsed = None
    if today is not None and year - 1 == today.year:
        elapsed = periods.period(today.year, today.month, today).elapsed
    return db.run(con, "plan_base", """
        SELECT c.commune_code AS code, c.commune_name AS name, c.population,
               -- last year's result, annualised when that year is not over yet (planning in November)
               round(COALESCE((SELECT SUM(d.departures) FROM departures d WHERE d.commune_code = c.commune_code
                          AND d.month >= make_date($year - 1, 1, 1) AND d.month < make_date($year, 1, 1)), 0)
                     * 12.0 / GREATEST(1, COALESCE($elapsed, (SELECT count(DISTINCT month) FROM departures
                          WHERE month >= make_date($year - 1, 1, 1) AND month < make_date($year, 1, 1)))))
                   AS last_year,
               COALESCE(q.quota, qp.quota) AS current   -- the quota in force: this year's, else last year's
        FROM v_communes c
        LEFT JOIN quotas q ON q.year = $year AND q.unit_level = 'commune' AND q.unit_code = c.commune_code
        LEFT JOIN quotas qp ON qp.year = $year - 1 AND qp.unit_level = 'commune' AND qp.unit_code = c.commune_code
        WHERE c.province_code = $province ORDER BY c.commune_code""",
                  {"year": int(year), "province": province, "elapsed": elapsed})


def cap_of(last_year: float, floor: int, cap_pct: float | None) -> int | None:
    """The cap a commune gets: cap % of last year's result, never below the floor."""
    if cap_pct is None:
        return None
    return max(floor, int(math.floor(last_year * cap_pct / 100.0)))


def default_target(base: pd.DataFrame) -> int:
    """The target a new plan starts from: the quotas in force, else last year's result + 5 %."""
    if base["current"].notna().any():
        return int(base["current"].sum())
    return int(round(base["last_year"].sum() * 1.05))


def _units(base: pd.DataFrame, params: Params) -> list[allocation.UnitInput]:
    """The allocation inputs of the communes of ``base`` under ``params``."""
    frozen = dict(params.frozen)
    return [allocation.UnitInput(r.code, float(r.population or 0) * 0.675, float(r.last_year),
                                 params.floor, cap_of(r.last_year, params.floor, params.cap_pct),
                                 frozen.get(r.code))
            for r in base.itertuples()]


def _table(base: pd.DataFrame, units: list[allocation.UnitInput], params: Params,
           proposed: pd.Series) -> pd.DataFrame:
    """``base`` with cap, frozen, proposed and difference columns."""
    out = base.copy()
    out["cap"] = [u.cap for u in units]
    out["frozen"] = out["code"].isin(dict(params.frozen))
    out["proposed"] = proposed
    out["difference"] = out["proposed"] - out["current"].fillna(0).astype(int)
    return out


def propose(base: pd.DataFrame, params: Params) -> pd.DataFrame:
    """Allocate the target over the communes of ``base``; adds cap, frozen, proposed, difference."""
    units = _units(base, params)
    result = allocation.allocate(units, params.target, params.method, params.weight_population)
    return _table(base, units, params, base["code"].map(result).astype(int))


def propose_or_explain(base: pd.DataFrame, params: Params) -> tuple[pd.DataFrame, AllocationError | None]:
    """:func:`propose`, or when the constraints cannot be met, the table and the reason.

    The table then proposes only the kept (frozen) values, the other communes are empty (NA), so
    the planner still sees every commune with its cap and can edit or unfreeze to recover.
    """
    try:
        return propose(base, params), None
    except AllocationError as exc:
        kept = base["code"].map(dict(params.frozen)).astype("Int64")
        return _table(base, _units(base, params), params, kept), exc


def edited_values(codes: pd.Series, before: pd.Series, after: pd.Series) -> dict[str, object]:
    """The cells of a proposals column that a planner changed, by commune code (NA-safe)."""
    same = [pd.isna(b) and pd.isna(a) if pd.isna(b) or pd.isna(a) else b == a for b, a in zip(before, after)]
    return {str(c): a for c, a, kept in zip(codes, after, same) if not kept}


def check_edits(table: pd.DataFrame, edited: dict[str, object]) -> tuple[dict[str, int], list[str]]:
    """Validate hand edits of proposed quotas: whole, non-negative, within the commune's cap.

    Returns the accepted values and a Vietnamese reason for each refused one.
    """
    caps = table.set_index("code")["cap"].to_dict()
    names = table.set_index("code")["name"].to_dict()
    ok: dict[str, int] = {}
    errors: list[str] = []
    for code, value in edited.items():
        label = f"Xã {names.get(code, code)} ({code}), cột Đề xuất"
        try:
            number = math.nan if value is None or value is pd.NA else float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            errors.append(f"{label}: '{value}' không phải là số.")
            continue
        if math.isnan(number):
            errors.append(f"{label}: ô trống, hãy nhập một số.")
        elif number < 0:
            errors.append(f"{label}: {number:g} là số âm.")
        elif number != int(number):
            errors.append(f"{label}: {number:g} không phải số nguyên.")
        elif caps.get(code) is not None and not pd.isna(caps[code]) and number > caps[code]:
            errors.append(f"{label}: {int(number)} vượt mức trần {int(caps[code])} (mức trần theo kết quả năm trước).")
        else:
            ok[code] = int(number)
    return ok, errors


def stored_params(head: pd.Series, quotas: dict[str, int]) -> Params:
    """The parameters a plan was saved with (its ``params`` JSON); missing ones take the defaults.

    Plans saved before a parameter was stored get its default; the target defaults to the total.
    """
    try:
        raw = json.loads(head.get("params") or "{}")
    except (TypeError, ValueError):
        raw = {}
    raw = raw if isinstance(raw, dict) else {}
    default = Params(int(sum(quotas.values())))
    method = str(raw.get("method") or head.get("method") or default.method)
    cap = raw.get("cap_pct", default.cap_pct)
    return Params(target=int(raw.get("target", default.target)),
                  method=method if method in allocation.METHODS else default.method,
                  weight_population=float(raw.get("weight_population", default.weight_population)),
                  floor=int(raw.get("floor", default.floor)),
                  cap_pct=None if cap is None else float(cap),
                  frozen=tuple(sorted((str(c), int(v)) for c, v in raw.get("frozen") or ())))


def reload_params(base: pd.DataFrame, head: pd.Series, quotas: dict[str, int]) -> Params:
    """The parameters that reproduce a saved plan's quotas exactly over ``base``.

    They are the stored ones: only the communes frozen (hand-edited) in the saved plan stay
    frozen. Should a commune's recomputed value differ from the saved one (the data changed since
    the save), it is frozen at its saved value too, until the whole plan is reproduced. If the
    stored constraints cannot be met any more, the stored parameters are returned as they are
    and the page explains why (see :func:`propose_or_explain`).
    """
    params = stored_params(head, quotas)
    saved = {c: q for c, q in quotas.items() if c in set(base["code"])}
    frozen = dict(params.frozen)
    for _ in range(len(saved) + 1):
        params = replace(params, frozen=tuple(sorted(frozen.items())))
        try:
            table = propose(base, params)
        except AllocationError:
            return params
        got = dict(zip(table["code"], table["proposed"]))
        differ = {c: q for c, q in saved.items() if got.get(c) != q and c not in frozen}
        if not differ:
            return params
        frozen |= differ
    return params


def accepted_moves(rows: Iterable[Sequence[object]]) -> list[allocation.Move]:
    """The mid-year moves a planner kept: rows of (from code, to code, amount, accepted).

    An accepted amount that is not a whole non-negative number is refused, naming the row.
    """
    moves: list[allocation.Move] = []
    for from_code, to_code, amount, accepted in rows:
        if not accepted:
            continue
        try:
            number = float(amount)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            number = math.nan
        if math.isnan(number) or number < 0 or number != int(number):
            raise AllocationError(f"Số lượng chuyển từ xã {from_code} sang xã {to_code} ('{amount}') "
                                  "phải là số nguyên không âm.", constraint="move", codes=[from_code, to_code])
        moves.append(allocation.Move(str(from_code), str(to_code), int(number)))
    return moves


STALE = ("Phương án vừa được người khác lưu, trình hoặc phê duyệt cùng lúc; thao tác của bạn chưa được ghi. "
         "Hãy tải lại phương án rồi làm lại.")
"""The refusal when two sessions change the same plan at the same moment."""


@contextmanager
def _one_at_a_time(plan_id: int | None) -> Iterator[None]:
    """Turn DuckDB's write conflicts (two sessions changing the same rows at once: a
    TransactionException on a row, or a ConstraintException at commit) into a clear refusal.
    The transaction inside has been rolled back by then, so nothing is half-written.

    With the shared store, plan changes of every replica take turns under one advisory lock,
    taken before the transaction starts: the second of two approvals then finds the plan
    approved (no row claimed) and is refused as stale, exactly as on one machine."""
    try:
        with store.exclusive(current(), "xkld_geo:plans"):
            yield
    except (duckdb.TransactionException, duckdb.ConstraintException) as exc:
        raise PlanError(STALE, plan=plan_id, reason="stale", detail=str(exc)[:200]) from exc


def _updated(con: duckdb.DuckDBPyConnection, name: str, sql: str, params: dict) -> int:
    """Run an UPDATE and return how many rows it changed (DuckDB's count; the postgres extension
    has no UPDATE … RETURNING)."""
    return int(db.run(con, name, sql, params).iloc[0, 0])


def last_saver(con: duckdb.DuckDBPyConnection, plan_id: int) -> str | None:
    """Who last saved, submitted or approved ``plan_id`` (from the audit log), or None."""
    df = db.run(con, "plan_last_saver", """
        SELECT username FROM audit_log WHERE target = $id
          AND action IN ('plan_saved', 'plan_submitted', 'plan_approved')
        ORDER BY at_time DESC LIMIT 1""", {"id": str(int(plan_id))})
    return str(df["username"].iloc[0]) if len(df) else None


def save_draft(con: duckdb.DuckDBPyConnection, *, year: int, province: str, name: str, params: Params,
               quotas: dict[str, int], user: auth.User, comment: str = "", plan_id: int | None = None,
               version: int | None = None) -> tuple[int, int]:
    """Save a new draft, or a new version of draft ``plan_id`` started from ``version``.

    A stale save (someone saved the plan since ``version`` was loaded) is refused, never merged.
    Returns (plan_id, new version).
    """
    if not auth.allowed(user, "plan_quotas"):
        raise PlanError(f"Tài khoản {user.username} không có quyền lập phương án chỉ tiêu.", field="role",
                        value=user.role, reason="forbidden")
    scope.require_write(con, user, province, "lập phương án chỉ tiêu cho đơn vị này")
    name = markup.check_length((name or "").strip(), "Tên phương án", 120)
    if not name:
        raise PlanError("Hãy đặt tên cho phương án.", field="name")
    comment = markup.check_length(comment, "Ghi chú của phương án")
    now = dt.datetime.now()
    payload = json.dumps(params.__dict__, ensure_ascii=False, default=list)
    with _one_at_a_time(plan_id), db.transaction(con):
        if plan_id is None:
            plan_id = int(db.run(con, "plan_next_id", "SELECT COALESCE(max(plan_id), 0) + 1 AS n FROM plans")["n"][0])
            db.execute(con, "plan_insert", """INSERT INTO plans (plan_id, year, province_code, name,
                status, method, params, author, comment, created_at, updated_at, version)
                VALUES ($id, $y, $p, $n, 'draft', $m, $params, $a, $c, $t, $t, 1)""",
                {"id": plan_id, "y": int(year), "p": province, "n": name, "m": params.method, "params": payload,
                 "a": user.username, "c": comment, "t": now})
            new_version = 1
        else:
            changed = [int(version or 0) + 1] if _updated(con, "plan_update", """UPDATE plans SET name = $n,
                method = $m, params = $params, comment = $c, updated_at = $t, version = version + 1
                WHERE plan_id = $id AND version = $v AND status = 'draft'""",
                {"n": name, "m": params.method, "params": payload, "c": comment, "t": now,
                 "id": int(plan_id), "v": int(version or 0)}) else []
            if not changed:
                found = db.run(con, "plan_current", "SELECT version, status, author, updated_at FROM plans "
                                                    "WHERE plan_id = $id", {"id": int(plan_id)})
                current = tuple(found.iloc[0]) if len(found) else None
                saver = (last_saver(con, int(plan_id)) or current[2]) if current else None
                raise PlanError(
                    f"Phương án đã được lưu bởi người khác (phiên bản {current[0]}, {saver}, "
                    f"{current[3]:%H:%M %d/%m}) hoặc không còn là bản nháp; hãy tải lại rồi sửa tiếp."
                    if current else "Không có phương án này.", plan=plan_id, reason="stale_version",
                    saved_by=saver)
            new_version = changed[0]
        rows = pd.DataFrame({"plan_id": int(plan_id), "commune_code": list(quotas), "quota": list(quotas.values())})
        with db.registered(con, "plan_rows_in", rows):
            # rows of a commune the plan still has are updated in place (see writes._write_changed)
            db.execute(con, "plan_rows_delete", """DELETE FROM plan_rows WHERE plan_id = $id
                AND commune_code NOT IN (SELECT commune_code FROM plan_rows_in)""", {"id": int(plan_id)})
            db.execute(con, "plan_rows_upsert", """INSERT INTO plan_rows SELECT plan_id, commune_code, quota
                FROM plan_rows_in ON CONFLICT (plan_id, commune_code) DO UPDATE SET quota = EXCLUDED.quota""")
        auth.audit(con, user.username, "plan_saved", str(plan_id), f"version={new_version}")
    return int(plan_id), int(new_version)


def list_plans(con: duckdb.DuckDBPyConnection, year: int, province: str) -> pd.DataFrame:
    """The plans of a province and year, newest first."""
    return db.run(con, "plans_list", """
        SELECT p.plan_id, p.name, p.status, p.method, p.author, p.updated_at, p.version, p.comment,
               (SELECT SUM(quota) FROM plan_rows r WHERE r.plan_id = p.plan_id) AS total
        FROM plans p WHERE year = $y AND province_code = $p ORDER BY updated_at DESC""",
                  {"y": int(year), "p": province})


def load(con: duckdb.DuckDBPyConnection, plan_id: int) -> tuple[pd.Series, dict[str, int]]:
    """A plan's header and its quotas by commune."""
    head = db.run(con, "plan_get", "SELECT * FROM plans WHERE plan_id = $id", {"id": int(plan_id)})
    if not len(head):
        raise PlanError(f"Không có phương án số {plan_id}.", plan=plan_id, reason="missing")
    rows = db.run(con, "plan_rows_get", "SELECT commune_code, quota FROM plan_rows WHERE plan_id = $id",
                  {"id": int(plan_id)})
    return head.iloc[0], dict(zip(rows["commune_code"], rows["quota"].astype(int)))


def compare(con: duckdb.DuckDBPyConnection, a: int, b: int) -> pd.DataFrame:
    """Two plans side by side: quota in each and the difference (b − a) per commune."""
    _, qa = load(con, a)
    _, qb = load(con, b)
    codes = sorted(set(qa) | set(qb))
    out = pd.DataFrame({"code": codes, "a": [qa.get(c, 0) for c in codes], "b": [qb.get(c, 0) for c in codes]})
    out["difference"] = out["b"] - out["a"]
    return out


def submit(con: duckdb.DuckDBPyConnection, plan_id: int, user: auth.User) -> None:
    """Mark a draft as submitted for approval."""
    scope.require_write(con, user, str(load(con, plan_id)[0]["province_code"]), "trình phương án của đơn vị này")
    with _one_at_a_time(plan_id), db.transaction(con):
        done = _updated(con, "plan_submit", "UPDATE plans SET status = 'submitted', updated_at = now(), "
                        "version = version + 1 WHERE plan_id = $id AND status = 'draft'", {"id": int(plan_id)})
        if not done:
            raise PlanError("Chỉ trình được phương án đang là bản nháp.", plan=plan_id, reason="not_draft")
        auth.audit(con, user.username, "plan_submitted", str(plan_id))


def approve(con: duckdb.DuckDBPyConnection, plan_id: int, user: auth.User) -> int:
    """Make a submitted plan the official quota of its year; returns how many quotas changed."""
    if not auth.allowed(user, "approve_plans"):
        raise PlanError("Chỉ người có quyền phê duyệt mới phê duyệt được phương án.", plan=plan_id,
                        reason="forbidden")
    head, quotas = load(con, plan_id)
    scope.require_write(con, user, str(head["province_code"]), "phê duyệt phương án của đơn vị này")
    if head["status"] != "submitted":
        raise PlanError("Chỉ phê duyệt được phương án đã trình.", plan=plan_id, reason="not_submitted")
    year, province = int(head["year"]), str(head["province_code"])
    now = dt.datetime.now()
    with _one_at_a_time(plan_id), db.transaction(con):
        # claim the plan first: of two approvals at once, the second stops here (no row, or a conflict)
        claimed = _updated(con, "plan_claim", "UPDATE plans SET status = 'approved', updated_at = $t, "
                           "version = version + 1 WHERE plan_id = $id AND status = 'submitted'",
                           {"t": now, "id": int(plan_id)})
        if not claimed:
            raise PlanError(STALE, plan=plan_id, reason="stale")
        current = db.run(con, "plan_old_quotas", """SELECT unit_code, quota FROM quotas WHERE year = $y
            AND unit_level = 'commune' AND unit_code IN (SELECT commune_code FROM plan_rows WHERE plan_id = $id)""",
                         {"y": year, "id": int(plan_id)})
        old = dict(zip(current["unit_code"], current["quota"]))
        changes = pd.DataFrame({"at_time": now, "username": user.username, "plan_id": int(plan_id), "year": year,
                                "unit_code": list(quotas), "old_quota": [old.get(c) for c in quotas],
                                "new_quota": list(quotas.values())})
        changes = changes[changes["old_quota"] != changes["new_quota"]]
        with db.registered(con, "changes_in", changes):
            db.execute(con, "plan_quota_changes", "INSERT INTO quota_changes BY NAME SELECT * FROM changes_in")
        # quotas are updated in place, never deleted and inserted again (see writes._write_changed)
        db.execute(con, "plan_quotas", """INSERT INTO quotas
            SELECT $y, commune_code, 'commune', quota, FALSE, 'plan:' || $id FROM plan_rows WHERE plan_id = $id
            ON CONFLICT (year, unit_level, unit_code)
            DO UPDATE SET quota = EXCLUDED.quota, is_demo = EXCLUDED.is_demo, source = EXCLUDED.source""",
                   {"y": year, "id": int(plan_id)})
        writes.sum_province_quotas(con, pd.DataFrame({"year": [year], "province_code": [province]}))
        db.execute(con, "plan_supersede", "UPDATE plans SET status = 'superseded' WHERE year = $y "
                   "AND province_code = $p AND status = 'approved' AND plan_id <> $id",
                   {"y": year, "p": province, "id": int(plan_id)})
        auth.audit(con, user.username, "plan_approved", str(plan_id), f"{len(changes)} quotas changed")
        dataversion.bump(con, f"plan_approved:{plan_id}")
    return len(changes)
