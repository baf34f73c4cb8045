"""Approval up the chain: a commune's month moves draft → submitted → approved (or returned).

Each commune-month (``commune_months``) has one state. The commune officer saves a draft of the
monthly form and submits it; a province clerk's import on the commune's behalf counts as
submitted too. A reviewer of the province (or the nation) approves it or returns it with a comment
the commune sees; the nation may approve a province's month as a whole. An approved month is
locked: a later import or form edit of it is refused with the reason (:func:`locked_rows`,
:func:`check_open`) until a user above the commune un-approves it with a reason.

Every transition is ONE function here (:func:`save_draft`, :func:`submit`, :func:`approve`,
:func:`return_month`, :func:`unapprove`, :func:`approve_province`, and :func:`record_import` for an
import); each writes the new state, one line of ``approval_events`` (the numbered history, from
which notices can be sent) and one of ``audit_log`` in the caller's transaction or its own, and
returns the :class:`Event` it recorded.
"""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any, Protocol

import duckdb
import pandas as pd

from xkld_geo.access import auth, scope
from xkld_geo.database import dataversion, db
from xkld_geo.errors import ApprovalError

STATES: dict[str, str] = {"draft": "Bản nháp", "submitted": "Đã gửi", "approved": "Đã phê duyệt",
                          "returned": "Bị trả lại"}
ACTIONS: dict[str, str] = {"draft": "Lưu nháp", "submit": "Gửi báo cáo", "import": "Nhập thay xã (coi như đã gửi)",
                           "approve": "Phê duyệt", "return": "Trả lại", "unapprove": "Hủy phê duyệt"}
FIGURES: dict[str, str] = {"received": "Tất cả đã nhận", "approved": "Chỉ số liệu đã duyệt"}
"""Which figures a page counts: every report received, or only the approved commune-months (the
year-end thi đua and the official report count these). Leaders switch between them."""
MONTHLY_KINDS = frozenset({"departures", "register", "job_fairs", "loans", "returnees"})
"""Import kinds that report a commune's month: locked once that month is approved."""
MAX_COMMENT = 2000


@dataclass(frozen=True)
class Event:
    """One recorded step: who moved which commune-month (or province-month) from what to what."""

    event_id: int
    at: dt.datetime
    username: str
    action: str
    month: dt.date
    unit: str
    from_state: str | None
    to_state: str
    comment: str | None


@dataclass(frozen=True)
class MonthState:
    """The state of one commune-month and what the form and the reviewer need of it."""

    month: dt.date
    commune: str
    state: str
    source: str
    form: dict[str, Any]
    warnings: list[str]
    officer_comment: str | None
    review_comment: str | None
    updated_by: str
    approved_by: str | None

    @property
    def label(self) -> str:
        return STATES[self.state]


def month_start(value: object) -> dt.date:
    """The first day of the month of a date (or a YYYY-MM text)."""
    stamp = pd.Timestamp(str(value) + "-01" if isinstance(value, str) and len(value) == 7 else value)
    return dt.date(stamp.year, stamp.month, 1)


def _text(value: object) -> str | None:
    return None if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)


def state(con: duckdb.DuckDBPyConnection, month: dt.date, commune: str) -> MonthState | None:
    """The commune-month's state, or None when nothing was received for it yet."""
    df = db.run(con, "approval_state", """
        SELECT * FROM commune_months WHERE month = $m AND commune_code = $c""",
                {"m": month_start(month), "c": commune})
    if not len(df):
        return None
    r = df.iloc[0]
    return MonthState(month_start(month), commune, r["state"], r["source"], json.loads(r["form"] or "{}"),
                      json.loads(r["warnings"] or "[]"), _text(r["officer_comment"]), _text(r["review_comment"]),
                      r["updated_by"], _text(r["approved_by"]))


def _event(con: duckdb.DuckDBPyConnection, username: str, action: str, month: dt.date, unit: str,
           before: str | None, after: str, comment: str | None, now: dt.datetime) -> Event:
    event_id = int(db.value(con, "approval_next_event", "SELECT COALESCE(max(event_id), 0) + 1 FROM approval_events"))
    db.execute(con, "approval_event", """
        INSERT INTO approval_events VALUES ($id, $at, $u, $a, $m, $unit, $from, $to, $c)""",
               {"id": event_id, "at": now, "u": username, "a": action, "m": month, "unit": unit, "from": before,
                "to": after, "c": comment})
    detail = f"{month:%m/%Y}: {STATES.get(before or '', 'chưa có')} → {STATES[after]}" + (f"; {comment}" if comment else "")
    auth.audit(con, username, f"month_{action}", unit, detail, now=now)
    return Event(event_id, now, username, action, month, unit, before, after, comment)


def _upsert(con: duckdb.DuckDBPyConnection, month: dt.date, commune: str, new_state: str, source: str,
            username: str, now: dt.datetime, **fields: Any) -> None:
    """Write the commune-month row (the columns given in ``fields`` replace the stored ones)."""
    columns = ("form", "warnings", "officer_comment", "review_comment", "approved_at", "approved_by")
    current = db.run(con, "approval_row", "SELECT * FROM commune_months WHERE month = $m AND commune_code = $c",
                     {"m": month, "c": commune})
    kept = {c: (None if not len(current) or pd.isna(current[c].iloc[0]) else current[c].iloc[0]) for c in columns}
    kept.update(fields)
    db.execute(con, "approval_delete", "DELETE FROM commune_months WHERE month = $m AND commune_code = $c",
               {"m": month, "c": commune})
    db.execute(con, "approval_insert", """
        INSERT INTO commune_months (month, commune_code, state, source, form, warnings, officer_comment,
                                    review_comment, updated_at, updated_by, approved_at, approved_by)
        VALUES ($m, $c, $s, $src, $form, $w, $oc, $rc, $at, $u, $aat, $aby)""",
               {"m": month, "c": commune, "s": new_state, "src": source, "form": kept["form"], "w": kept["warnings"],
                "oc": kept["officer_comment"], "rc": kept["review_comment"], "at": now, "u": username,
                "aat": kept["approved_at"], "aby": kept["approved_by"]})


def _lock_reason(found: MonthState) -> str:
    return (f"xã {found.commune} tháng {found.month:%m/%Y} đã được phê duyệt (bởi {found.approved_by}); số liệu đã "
            "khóa. Muốn sửa, cán bộ cấp trên phải hủy phê duyệt kèm lý do")


def check_open(con: duckdb.DuckDBPyConnection, month: dt.date, commune: str) -> MonthState | None:
    """Refuse (an :class:`ApprovalError`) any change to an approved commune-month; return its state."""
    found = state(con, month, commune)
    if found is not None and found.state == "approved":
        raise ApprovalError(_lock_reason(found)[0].upper() + _lock_reason(found)[1:] + ".", unit=commune,
                            month=f"{found.month:%Y-%m}", state=found.state, reason="locked")
    return found


def locked_rows(con: duckdb.DuckDBPyConnection, months: pd.Series, communes: pd.Series, field: str) -> pd.DataFrame:
    """Import rows (index: row number) of an approved commune-month, as errors (row, field, value, reason)."""
    columns = ["row", "field", "value", "reason"]
    cells = pd.DataFrame({"month": pd.to_datetime(months, errors="coerce"), "commune_code": communes}).dropna()
    if cells.empty:
        return pd.DataFrame(columns=columns)
    cells["month"] = cells["month"].dt.to_period("M").dt.start_time.dt.date
    approved = db.run(con, "approval_locked", """
        SELECT month, commune_code, approved_by FROM commune_months WHERE state = 'approved'
        AND list_contains($codes, commune_code)""", {"codes": sorted(set(cells["commune_code"].astype(str)))})
    if approved.empty:
        return pd.DataFrame(columns=columns)
    approved["month"] = pd.to_datetime(approved["month"]).dt.date
    by = {(m, c): a for m, c, a in approved.itertuples(index=False)}
    hit = [(i, m, c, by[(m, c)]) for i, m, c in zip(cells.index, cells["month"], cells["commune_code"].astype(str))
           if (m, c) in by]
    return pd.DataFrame({"row": [h[0] for h in hit], "field": field, "value": [h[2] for h in hit],
                         "reason": [f"xã {c} tháng {m:%m/%Y} đã được phê duyệt (bởi {a}); số liệu đã khóa, dòng này "
                                    "không được nhập. Muốn sửa, cán bộ cấp trên phải hủy phê duyệt kèm lý do"
                                    for _, m, c, a in hit]}, columns=columns)


def _comment(text: str | None, required: str | None = None) -> str | None:
    cleaned = (text or "").strip()[:MAX_COMMENT]
    if required and not cleaned:
        raise ApprovalError(required, field="comment", reason="comment_required")
    return cleaned or None


def _may_report(con: duckdb.DuckDBPyConnection, user: auth.User, commune: str) -> None:
    if not auth.allowed(user, "report_monthly"):
        raise ApprovalError(f"Tài khoản {user.username} ({auth.ROLES[user.role]}) không có quyền lập báo cáo tháng "
                            "của xã.", field="role", value=user.role)
    scope.require_write(con, user, commune, "lập báo cáo tháng của xã này")


def _may_review(con: duckdb.DuckDBPyConnection, user: auth.User, commune: str) -> None:
    """A reviewer: may approve, inside its scope, and above the commune (a province or the nation)."""
    if not auth.allowed(user, "approve_reports"):
        raise ApprovalError(f"Tài khoản {user.username} ({auth.ROLES[user.role]}) không có quyền duyệt báo cáo.",
                            field="role", value=user.role)
    own = scope.require_write(con, user, commune, "duyệt báo cáo của xã này")
    if own.level not in ("nation", "province"):
        raise ApprovalError(f"Tài khoản {user.username} ({own.label}) không ở cấp trên của xã; chỉ tỉnh hoặc trung "
                            "ương duyệt báo cáo của xã.", field="unit", value=user.unit)


def save_draft(con: duckdb.DuckDBPyConnection, user: auth.User, month: dt.date, commune: str,
               form: dict[str, Any], comment: str | None = None, now: dt.datetime | None = None) -> Event:
    """Keep the form as a draft (nothing counts yet); refused once the month is approved."""
    _may_report(con, user, commune)
    month, now = month_start(month), now or dt.datetime.now()
    with db.transaction(con):
        found = check_open(con, month, commune)
        _upsert(con, month, commune, "draft", "form", user.username, now, form=json.dumps(form, ensure_ascii=False),
                officer_comment=_comment(comment))
        return _event(con, user.username, "draft", month, commune, found.state if found else None, "draft", None, now)


def submitted_in(con: duckdb.DuckDBPyConnection, user: auth.User, month: dt.date, commune: str,
                 form: dict[str, Any], warnings: list[str], comment: str | None, now: dt.datetime) -> Event:
    """Mark the commune-month submitted from the form, inside the caller's transaction (the one
    that writes its figures: :func:`xkld_geo.reporting.monthly.submit`). Soft-rule warnings need
    the officer's confirming comment, which the reviewer sees."""
    _may_report(con, user, commune)
    found = check_open(con, month, commune)
    text = _comment(comment, "Số liệu có giá trị bất thường so với 12 tháng trước của xã: hãy ghi chú xác nhận "
                             "trước khi gửi." if warnings else None)
    _upsert(con, month, commune, "submitted", "form", user.username, now, form=json.dumps(form, ensure_ascii=False),
            warnings=json.dumps(warnings, ensure_ascii=False), officer_comment=text, review_comment=None)
    return _event(con, user.username, "submit", month, commune, found.state if found else None, "submitted",
                  text, now)


def record_import(con: duckdb.DuckDBPyConnection, username: str, kind: str, scopes: pd.DataFrame,
                  import_id: int, now: dt.datetime | None = None) -> int:
    """An import on the communes' behalf counts as submitted (the caller holds the import's
    transaction; approved months never reach here: their rows were refused). Set-wise: one
    statement per step whatever the number of communes; each commune-month gets its event, the
    import one audit line. Soft-rule outliers are stored for the reviewer. Returns the events written."""
    from xkld_geo.reporting import rules

    if scopes.empty or "month" not in scopes or "commune_code" not in scopes:
        return 0
    now = now or dt.datetime.now()
    cells = scopes[["month", "commune_code"]].dropna().copy()
    cells["month"] = pd.to_datetime(cells["month"]).dt.to_period("M").dt.start_time.dt.date
    cells["commune_code"] = cells["commune_code"].astype(str)
    cells = cells.drop_duplicates().reset_index(drop=True)
    if cells.empty:
        return 0
    flagged = rules.import_warnings(con, kind, rules.stored_values(con, kind, cells))
    cells["warnings"] = [json.dumps(flagged.get((m, c), []), ensure_ascii=False)
                         for m, c in zip(cells["month"], cells["commune_code"])]
    with db.registered(con, "approval_cells", cells):
        before = db.run(con, "approval_import_before", """
            SELECT x.month, x.commune_code, m.state, m.source FROM approval_cells x
            LEFT JOIN commune_months m ON m.month = x.month AND m.commune_code = x.commune_code""")
        db.execute(con, "approval_import_update", """
            UPDATE commune_months m SET state = 'submitted', source = 'import', warnings = x.warnings,
                   review_comment = CASE WHEN m.state = 'submitted' AND m.source = 'import' THEN m.review_comment END,
                   updated_at = $at, updated_by = $u
            FROM approval_cells x WHERE m.month = x.month AND m.commune_code = x.commune_code""",
                   {"at": now, "u": username})
        db.execute(con, "approval_import_insert", """
            INSERT INTO commune_months (month, commune_code, state, source, warnings, updated_at, updated_by)
            SELECT x.month, x.commune_code, 'submitted', 'import', x.warnings, $at, $u FROM approval_cells x
            WHERE NOT EXISTS (SELECT 1 FROM commune_months m WHERE m.month = x.month AND m.commune_code = x.commune_code)""",
                   {"at": now, "u": username})
    moved = before[~(before["state"].eq("submitted") & before["source"].eq("import"))].copy()
    if moved.empty:
        return 0
    first = int(db.value(con, "approval_next_event", "SELECT COALESCE(max(event_id), 0) + 1 FROM approval_events"))
    events = pd.DataFrame({"event_id": range(first, first + len(moved)), "at_time": now, "username": username,
                           "action": "import", "month": pd.to_datetime(moved["month"]).dt.date.to_numpy(),
                           "unit_code": moved["commune_code"].to_numpy(),
                           "from_state": moved["state"].where(moved["state"].notna(), None).to_numpy(),
                           "to_state": "submitted", "comment": f"lần nhập {import_id} ({kind})"})
    with db.registered(con, "approval_new_events", events):
        db.execute(con, "approval_import_events", "INSERT INTO approval_events BY NAME SELECT * FROM approval_new_events")
    auth.audit(con, username, "month_import", f"import:{import_id}",
               f"{len(moved)} xã–tháng chuyển sang \"{STATES['submitted']}\" ({kind})", now=now)
    return len(moved)


class Reviewed(Protocol):
    """Told of a decision on a commune's month, in its transaction: (submitter, commune, month,
    ``approved``/``returned``, comment, reviewer, the decision's key, when)."""

    def __call__(self, con: duckdb.DuckDBPyConnection, submitter: str, commune_code: str, month: dt.date,
                 decision: str, comment: str | None, reviewer: str, event_key: str | None = None,
                 now: dt.datetime | None = None) -> Any: ...


_reviewed: list[Reviewed] = []


def on_review(listener: Reviewed) -> None:
    """Tell ``listener`` of every approval and return, in the decision's transaction (the
    notifications put the submitter's e-mail in the outbox: registered by
    :mod:`xkld_geo.registrations`, so this module does not import them)."""
    if listener not in _reviewed:
        _reviewed.append(listener)


def _review(con: duckdb.DuckDBPyConnection, user: auth.User, month: dt.date, commune: str, action: str,
            allowed_from: tuple[str, ...], to: str, comment: str | None, now: dt.datetime | None) -> Event:
    _may_review(con, user, commune)
    month, now = month_start(month), now or dt.datetime.now()
    with db.transaction(con):
        found = state(con, month, commune)
        if found is None or found.state not in allowed_from:
            shown = STATES[found.state] if found else "chưa có báo cáo"
            raise ApprovalError(f"Xã {commune} tháng {month:%m/%Y} đang ở trạng thái \"{shown}\"; không thể "
                                f"{ACTIONS[action].lower()}.", unit=commune, month=f"{month:%Y-%m}",
                                state=found.state if found else None, allowed=list(allowed_from))
        fields: dict[str, Any] = {}
        if action == "approve":
            fields = {"approved_at": now, "approved_by": user.username}
        elif action == "return":
            fields = {"review_comment": comment}
        elif action == "unapprove":
            fields = {"approved_at": None, "approved_by": None, "review_comment": comment}
        _upsert(con, month, commune, to, found.source, user.username, now, **fields)
        event = _event(con, user.username, action, month, commune, found.state, to, comment, now)
        if action in ("approve", "return"):   # the submitter is told, in the same transaction (the outbox)
            for listener in _reviewed:
                listener(con, found.updated_by, commune, month, "approved" if action == "approve" else "returned",
                         comment, user.username, event_key=str(event.event_id), now=now)
        dataversion.bump(con, f"approval:{action}:{commune}:{month:%Y-%m}")
        return event


def approve(con: duckdb.DuckDBPyConnection, user: auth.User, month: dt.date, commune: str,
            now: dt.datetime | None = None) -> Event:
    """Approve a submitted commune-month: its figures count, and it is locked."""
    return _review(con, user, month, commune, "approve", ("submitted",), "approved", None, now)


def return_month(con: duckdb.DuckDBPyConnection, user: auth.User, month: dt.date, commune: str, comment: str,
                 now: dt.datetime | None = None) -> Event:
    """Return a submitted commune-month to the commune with the reviewer's comment (required)."""
    text = _comment(comment, "Hãy ghi lý do trả lại để xã biết cần sửa gì.")
    return _review(con, user, month, commune, "return", ("submitted",), "returned", text, now)


def unapprove(con: duckdb.DuckDBPyConnection, user: auth.User, month: dt.date, commune: str, reason: str,
              now: dt.datetime | None = None) -> Event:
    """Un-approve (unlock) an approved commune-month, with a reason (required); it is submitted again."""
    text = _comment(reason, "Hãy ghi lý do hủy phê duyệt.")
    return _review(con, user, month, commune, "unapprove", ("approved",), "submitted", text, now)


def approve_province(con: duckdb.DuckDBPyConnection, user: auth.User, month: dt.date, province: str,
                     now: dt.datetime | None = None) -> list[Event]:
    """The nation approves a province's month as a whole: every submitted commune-month of it."""
    own = scope.of(con, user)
    if not own.national or not auth.allowed(user, "approve_reports"):
        raise ApprovalError(f"Chỉ cán bộ duyệt cấp trung ương phê duyệt cả tháng của một tỉnh; tài khoản "
                            f"{user.username} ({own.label}) không được.", field="unit", value=user.unit)
    month = month_start(month)
    waiting = db.run(con, "approval_province_waiting", """
        SELECT m.commune_code FROM commune_months m JOIN v_communes c ON c.commune_code = m.commune_code
        WHERE m.month = $m AND c.province_code = $p AND m.state = 'submitted' ORDER BY 1""",
                     {"m": month, "p": province})["commune_code"]
    return [approve(con, user, month, commune, now) for commune in waiting]


def queue(con: duckdb.DuckDBPyConnection, user: auth.User, month: dt.date | None = None) -> pd.DataFrame:
    """Commune-months inside the account's scope with their state (newest first), for the reviewer."""
    df = db.run(con, "approval_queue", """
        SELECT m.month, m.commune_code, c.commune_name, c.province_code, m.state, m.source, m.warnings,
               m.officer_comment, m.review_comment, m.updated_by, m.updated_at, m.approved_by
        FROM commune_months m LEFT JOIN v_communes c ON c.commune_code = m.commune_code
        WHERE $m IS NULL OR m.month = $m ORDER BY m.month DESC, m.commune_code""",
                {"m": month_start(month) if month else None})
    return scope.visible_communes(con, user, df).reset_index(drop=True)


def history(con: duckdb.DuckDBPyConnection, month: dt.date, commune: str) -> pd.DataFrame:
    """Every step of one commune-month, oldest first."""
    return db.run(con, "approval_history", """
        SELECT event_id, at_time, username, action, from_state, to_state, comment FROM approval_events
        WHERE month = $m AND unit_code = $c ORDER BY event_id""", {"m": month_start(month), "c": commune})


def events_since(con: duckdb.DuckDBPyConnection, after_id: int = 0) -> list[Event]:
    """Recorded steps after ``after_id`` (for notices: the outbox reads from here)."""
    df = db.run(con, "approval_events_since", "SELECT * FROM approval_events WHERE event_id > $id ORDER BY event_id",
                {"id": int(after_id)})
    return [Event(int(r.event_id), r.at_time.to_pydatetime(), r.username, r.action, month_start(r.month),
                  r.unit_code, _text(r.from_state), r.to_state, _text(r.comment)) for r in df.itertuples(index=False)]


def counted_departures(con: duckdb.DuckDBPyConnection, year: int, first: int, last: int, province: str,
                       approved_only: bool = True) -> pd.DataFrame:
    """Departures per commune, market, sex and priority group of months ``first``–``last`` of a
    province: with ``approved_only``, a commune-month that was received but not approved
    (submitted, returned, draft) is left out; figures without a state (the demo history, imports
    from before approval existed) count as they are."""
    return db.run(con, "approval_counted_departures", """
        SELECT d.commune_code, d.market, d.sex, d.priority_group, SUM(d.departures) AS departures
        FROM departures d JOIN v_communes c ON c.commune_code = d.commune_code
        WHERE c.province_code = $p AND d.month BETWEEN make_date($y, $f, 1) AND make_date($y, $l, 1)
          AND (NOT $approved OR NOT EXISTS (SELECT 1 FROM commune_months s WHERE s.month = d.month
                                            AND s.commune_code = d.commune_code AND s.state <> 'approved'))
        GROUP BY ALL""", {"p": province, "y": int(year), "f": int(first), "l": int(last), "approved": approved_only})


def received_counts(con: duckdb.DuckDBPyConnection, year: int, first: int, last: int,
                    province: str | None) -> dict[str, int]:
    """Commune-months of months ``first``–``last`` of a year (a province or all) by approval state."""
    df = db.run(con, "approval_received_counts", """
        SELECT m.state, count(*) AS n FROM commune_months m JOIN v_communes c ON c.commune_code = m.commune_code
        WHERE m.month BETWEEN make_date($y, $f, 1) AND make_date($y, $l, 1) AND ($p IS NULL OR c.province_code = $p)
        GROUP BY 1""", {"y": int(year), "f": int(first), "l": int(last), "p": province})
    counts = {k: 0 for k in STATES}
    counts.update({r.state: int(r.n) for r in df.itertuples(index=False)})
    return counts


def approved_note(counts: dict[str, int]) -> str:
    """What "approved figures only" left out, in one Vietnamese sentence."""
    waiting = counts["submitted"] + counts["returned"] + counts["draft"]
    if not waiting:
        return (f"Chỉ tính số liệu đã phê duyệt; mọi xã–tháng đã nhận trong kỳ đều đã được phê duyệt "
                f"({counts['approved']:,}).").replace(",", ".")
    return (f"Chỉ tính số liệu đã phê duyệt: {waiting:,} xã–tháng đã nhận chưa được phê duyệt (chờ duyệt "
            f"{counts['submitted']:,}, bị trả lại {counts['returned']:,}, nháp {counts['draft']:,}) chưa được tính; "
            f"đã phê duyệt {counts['approved']:,}.").replace(",", ".")


def figures_note(counts: dict[str, int], approved_only: bool) -> str:
    """What a page's figures include, in one Vietnamese sentence: with approved figures only, how
    many commune-months were left out (:func:`approved_note`); with every report received, how many
    of them are not approved yet (empty when none waits)."""
    if approved_only:
        return approved_note(counts)
    waiting = counts.get("submitted", 0) + counts.get("returned", 0) + counts.get("draft", 0)
    if not waiting:
        return ""
    return (f"Số liệu gồm mọi báo cáo đã nhận; {waiting:,} xã–tháng chưa được phê duyệt (báo cáo định kỳ chính "
            "thức và thi đua cuối năm chỉ tính số đã phê duyệt).").replace(",", ".")
