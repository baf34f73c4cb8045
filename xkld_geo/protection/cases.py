"""The register of cases: workers in trouble abroad, fraud reports, breaches, disputes, deaths.

A case is recorded with its reference, kind, day, home commune, market, sending company, the
agency handling it; it holds no personal name. It moves along ``received → verifying → handling →
closed`` (a case found unfounded while verifying may close at once); any other move is refused with
the allowed ones named. Every recording and every change of status writes one ``audit_log`` row in
the same transaction as the change. The ``note`` is internal: only :func:`case_list` with
``with_notes=True`` (planners and administrators) reads it; nothing public ever does.
"""
from __future__ import annotations

import datetime as dt
import re
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

import duckdb
import pandas as pd

from xkld_geo.access import auth, scope
from xkld_geo.database import dataversion, db
from xkld_geo.database.schema.protection import CASE_KINDS, CASE_STATUSES
from xkld_geo.errors import CaseError
from xkld_geo.figures import queries

KIND_LABELS: dict[str, str] = dict(zip(CASE_KINDS, (
    "Phản ánh lừa đảo", "Vi phạm hợp đồng", "Cư trú bất hợp pháp", "Gặp khó khăn / đề nghị bảo hộ",
    "Tranh chấp lao động", "Tử vong, tai nạn")))
STATUS_LABELS: dict[str, str] = dict(zip(CASE_STATUSES, ("Đã tiếp nhận", "Đang xác minh", "Đang giải quyết",
                                                          "Đã kết thúc")))
TRANSITIONS: dict[str, tuple[str, ...]] = {"received": ("verifying",), "verifying": ("handling", "closed"),
                                           "handling": ("closed",), "closed": ()}
"""Allowed moves: status → the statuses it may go to (closing while verifying: found unfounded)."""
BREACH_KINDS = ("contract_breach", "illegal_stay")
"""Kinds counted as "vi phạm hợp đồng / cư trú bất hợp pháp" in the monthly figures."""
REPEATED = 2
"""A licensed company with this many fraud or breach cases (or more) is flagged."""
REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,39}$")
AGEING_BANDS = ((0, 30, "Dưới 30 ngày"), (30, 90, "30–89 ngày"), (90, 180, "90–179 ngày"),
                (180, 100_000, "Từ 180 ngày"))


@dataclass(frozen=True)
class NewCase:
    """What recording a case needs (no personal names: the worker is their commune and market)."""

    case_ref: str
    kind: str
    opened_on: dt.date
    commune_code: str
    market: str
    licence_no: str | None = None
    agency: str | None = None
    note: str | None = None


def next_ref(con: duckdb.DuckDBPyConnection, year: int) -> str:
    """The next free reference of ``year``: VV-YYYY-NNNNN."""
    n = db.run(con, "case_next_ref", """
        SELECT COALESCE(max(TRY_CAST(split_part(case_ref, '-', 3) AS INTEGER)), 0) AS n FROM cases
        WHERE case_ref LIKE $p""", {"p": f"VV-{int(year)}-%"})["n"].iloc[0]
    return f"VV-{int(year)}-{int(n) + 1:05d}"


def _check_new(con: duckdb.DuckDBPyConnection, case: NewCase, today: dt.date) -> None:
    queries.check_choice("loại vụ việc", case.kind, CASE_KINDS)
    if not REF.match(case.case_ref or ""):
        raise CaseError(f"Mã vụ việc '{case.case_ref}' không hợp lệ (chữ, số, . _ / -, tối đa 40 ký tự).",
                        field="case_ref", value=case.case_ref)
    if case.opened_on > today:
        raise CaseError(f"Ngày tiếp nhận {case.opened_on:%d/%m/%Y} sau hôm nay.", field="opened_on",
                        value=str(case.opened_on))
    queries.check_code("xã", case.commune_code, 5)
    found = db.run(con, "case_refs_known", """
        SELECT (SELECT count(*) FROM v_communes WHERE commune_code = $c) AS commune,
               (SELECT count(*) FROM markets WHERE code = $m) AS market,
               (SELECT count(*) FROM licensed_companies WHERE licence_no = $l) AS company,
               (SELECT count(*) FROM cases WHERE case_ref = $r) AS taken""",
                   {"c": case.commune_code, "m": case.market, "l": case.licence_no, "r": case.case_ref}).iloc[0]
    if not found["commune"]:
        raise CaseError(f"Không có xã mã {case.commune_code}.", field="commune_code", value=case.commune_code)
    if not found["market"]:
        raise CaseError(f"Không có thị trường '{case.market}'.", field="market", value=case.market)
    if case.licence_no and not found["company"]:
        raise CaseError(f"Số giấy phép '{case.licence_no}' không có trong danh sách doanh nghiệp được cấp phép.",
                        field="licence_no", value=case.licence_no)
    if found["taken"]:
        raise CaseError(f"Mã vụ việc '{case.case_ref}' đã có.", field="case_ref", value=case.case_ref)


def _transaction(con: duckdb.DuckDBPyConnection, held: bool) -> AbstractContextManager[None]:
    """A write's own transaction, or none when the caller already holds one (an import's)."""
    return nullcontext() if held else db.transaction(con)


def record(con: duckdb.DuckDBPyConnection, case: NewCase, user: str, today: dt.date,
           import_id: int | None = None, is_demo: bool = False, in_transaction: bool = False,
           actor: auth.User | None = None) -> None:
    """Record a new case as received, with its audit row (one transaction unless the caller holds one).
    ``actor``: the account recording it (the page): refused outside its scope."""
    if actor is not None:
        if not auth.allowed(actor, "handle_cases"):
            raise CaseError(f"Tài khoản {actor.username} không có quyền ghi vụ việc.", field="role", value=actor.role)
        scope.require_write(con, actor, case.commune_code, "ghi vụ việc của xã này")
    _check_new(con, case, today)
    with _transaction(con, in_transaction):
        db.execute(con, "case_insert", """
            INSERT INTO cases VALUES ($ref, $kind, $on, $commune, $market, $licence, 'received', $on, NULL,
                                      $agency, NULL, $note, $import, $now, $user, $demo)""",
                   {"ref": case.case_ref, "kind": case.kind, "on": case.opened_on, "commune": case.commune_code,
                    "market": case.market, "licence": case.licence_no or None, "agency": case.agency or None,
                    "note": case.note or None, "import": import_id, "now": dt.datetime.now(), "user": user,
                    "demo": is_demo})
        auth.audit(con, user, "case_opened", case.case_ref, f"{case.kind}; received")
        dataversion.bump(con, f"case_opened:{case.case_ref}")


def status_of(con: duckdb.DuckDBPyConnection, case_ref: str) -> str:
    """The case's status, or an error naming the reference."""
    df = db.run(con, "case_status", "SELECT status FROM cases WHERE case_ref = $r", {"r": case_ref})
    if df.empty:
        raise CaseError(f"Không có vụ việc mã '{case_ref}'.", field="case_ref", value=case_ref)
    return str(df["status"].iloc[0])


def move(con: duckdb.DuckDBPyConnection, case_ref: str, new_status: str, user: str, on: dt.date,
         agency: str | None = None, outcome: str | None = None, note: str | None = None,
         in_transaction: bool = False, actor: auth.User | None = None) -> None:
    """Move a case to ``new_status`` on day ``on`` (an allowed move only), with its audit row;
    ``actor`` (the page's account) is refused for a case of a commune outside its scope.

    ``agency``, ``outcome`` and ``note`` replace the stored ones when given; closing needs an outcome.
    """
    queries.check_choice("trạng thái", new_status, CASE_STATUSES)
    if actor is not None:
        commune = db.value(con, "case_commune", "SELECT commune_code FROM cases WHERE case_ref = $r", {"r": case_ref})
        if commune is not None:
            scope.require_write(con, actor, str(commune), "xử lý vụ việc của xã này")
    current = status_of(con, case_ref)
    allowed = TRANSITIONS[current]
    if new_status not in allowed:
        names = ", ".join(STATUS_LABELS[s] for s in allowed) or "không có (vụ việc đã kết thúc)"
        raise CaseError(f"Vụ việc {case_ref} đang ở trạng thái '{STATUS_LABELS[current]}': không thể chuyển sang "
                        f"'{STATUS_LABELS[new_status]}'. Được chuyển sang: {names}.", case=case_ref,
                        field="status", value=new_status, allowed=list(allowed))
    stored = db.run(con, "case_dates", "SELECT status_on, outcome FROM cases WHERE case_ref = $r",
                    {"r": case_ref}).iloc[0]
    if on < pd.Timestamp(stored["status_on"]).date():
        raise CaseError(f"Ngày chuyển {on:%d/%m/%Y} trước ngày của trạng thái hiện tại.", case=case_ref,
                        field="status_on", value=str(on))
    if new_status == "closed" and not (outcome or stored["outcome"]):
        raise CaseError(f"Vụ việc {case_ref}: cần ghi kết quả giải quyết trước khi kết thúc.", case=case_ref,
                        field="outcome")

    with _transaction(con, in_transaction):
        db.execute(con, "case_move", """
            UPDATE cases SET status = $s, status_on = $on, closed_on = CASE WHEN $s = 'closed' THEN $on END,
                   agency = COALESCE($agency, agency), outcome = COALESCE($outcome, outcome),
                   note = COALESCE($note, note), updated_at = $now, updated_by = $user
            WHERE case_ref = $r""", {"s": new_status, "on": on, "agency": agency or None,
                                     "outcome": outcome or None, "note": note or None,
                                     "now": dt.datetime.now(), "user": user, "r": case_ref})
        auth.audit(con, user, "case_status", case_ref, f"{current} → {new_status}")
        dataversion.bump(con, f"case_status:{case_ref}")


def case_list(con: duckdb.DuckDBPyConnection, province: str | None, today: dt.date, open_only: bool = False,
              with_notes: bool = False) -> pd.DataFrame:
    """Cases of a province (or all), newest first, with days open; the note only if ``with_notes``."""
    queries.check_code("tỉnh", province, 2)
    df = db.run(con, "case_list", """
        SELECT k.case_ref, k.kind, k.opened_on, k.commune_code, c.commune_name, c.province_code, k.market,
               k.licence_no, l.name AS company, k.status, k.status_on, k.agency, k.outcome,
               CASE WHEN $notes THEN k.note END AS note, k.is_demo,
               date_diff('day', k.opened_on, COALESCE(k.closed_on, $today)) AS days_open
        FROM cases k JOIN v_communes c ON c.commune_code = k.commune_code
        LEFT JOIN licensed_companies l ON l.licence_no = k.licence_no
        WHERE ($province IS NULL OR c.province_code = $province) AND (NOT $open OR k.status <> 'closed')
        ORDER BY k.opened_on DESC, k.case_ref""",
                {"province": province, "today": today, "open": open_only, "notes": with_notes})
    if not with_notes:
        df = df.drop(columns="note")
    return df


def history(con: duckdb.DuckDBPyConnection, case_ref: str | None = None, limit: int = 200) -> pd.DataFrame:
    """State changes from the audit log (newest first), of one case or of all."""
    return db.run(con, "case_history", """
        SELECT at_time, username, action, target AS case_ref, detail FROM audit_log
        WHERE action IN ('case_opened', 'case_status') AND ($r IS NULL OR target = $r)
        ORDER BY at_time DESC LIMIT $n""", {"r": case_ref, "n": int(limit)})
