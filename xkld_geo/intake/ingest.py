"""Data intake: import a commune or company report without losing or double-counting anyone.

One call, :func:`import_file`, does everything a template import needs: read the file safely
(:mod:`spreadsheets`), check every cell (:mod:`records`), find each commune however it was written
(:mod:`gazetteer`, through the 2025 crosswalk for old units), then write in ONE transaction. Rows
that fail go to a rejection file with row, column and reason; the rest go in. A report replaces
the figures of the periods and units it covers (its natural key), so re-importing a file, or an
overlapping one, never adds twice: what is identical counts as already present, what differs is
replaced and the change is logged. Every import, refused and failed ones too, is logged with the
file's hash, who, when, the counts and the outcome. A crash or a killed process before the commit
leaves the database as it was (DuckDB discards an uncommitted transaction); a commit that fails (a
full disk, an I/O error) is rolled back, and the failed attempt is logged in a transaction of its
own afterwards, or, when even that cannot be written (the disk is still full), kept in memory and
logged by the next import or look at the log once the database can be written again.
"""
from __future__ import annotations

import datetime as dt
import errno
import hashlib
import logging
import shutil
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import duckdb
import pandas as pd

from xkld_geo.access import auth, scope
from xkld_geo.database import dataversion, db, store
from xkld_geo.errors import DatabaseError, IngestError, ScopeError, XkldError
from xkld_geo.intake import checks, gazetteer, kinds, queue, registers, registry, spreadsheets, writes
from xkld_geo.settings import Settings, current
from xkld_geo.text import formats, sheets

log = logging.getLogger("xkld_geo.intake.ingest")

REFORM = dt.date(2025, 7, 1)




@dataclass
class ImportReport:
    """What an import did; ``rejects`` has one line per refused row (row, columns, reasons, cells)."""

    kind: str
    file: str
    file_hash: str
    outcome: str
    rows: int = 0
    accepted: int = 0
    rejected: int = 0
    already_present: int = 0
    duplicates_merged: int = 0
    units_replaced: int = 0
    encoding: str = ""
    import_id: int | None = None
    message: str = ""
    rejects: pd.DataFrame = field(default_factory=pd.DataFrame)

    def summary(self) -> str:
        """One Vietnamese sentence for the page and the command line."""
        text = (f"{self.file}: {formats.fmt_int(self.rows)} dòng; nhận {formats.fmt_int(self.accepted)}, đã có từ trước {formats.fmt_int(self.already_present)}, "
                f"bị từ chối {formats.fmt_int(self.rejected)}")
        if self.kind == "register":
            text += f", gộp trùng {formats.fmt_int(self.duplicates_merged)} người"
        if self.units_replaced:
            unit = {"orders": "đơn hàng", "interviews": "đơn hàng–xã", "training": "khóa học–xã"}.get(self.kind, "xã–kỳ")
            text += f"; thay số liệu cũ của {formats.fmt_int(self.units_replaced)} {unit}"
        return text + "."

    def rejects_csv(self) -> bytes:
        """The rejection file as CSV (UTF-8 with BOM for Excel), safe to open in a spreadsheet."""
        return sheets.csv_bytes(self.rejects)

    def rejects_xlsx(self) -> bytes:
        """The rejection file as XLSX (the refused cells as text, never formulas)."""
        return sheets.xlsx_bytes({"Dòng bị từ chối": self.rejects})


IMPORT_LOCK = "xkld_geo:imports"
"""With the shared store, imports of every replica write one at a time under this advisory lock
(taken before the transaction, so each sees the last one's rows): two communes' files both land
with their own import numbers, and one file sent twice at once is counted once."""


def next_import_id(con: duckdb.DuckDBPyConnection) -> int:
    return int(db.run(con, "import_next_id", "SELECT COALESCE(max(import_id), 0) + 1 AS n FROM import_log")["n"][0])


def log_import(con: duckdb.DuckDBPyConnection, report: ImportReport, user: str, size: int, key_check: str | None,
         at: dt.datetime | None = None) -> None:
    db.execute(con, "import_log_insert", """
        INSERT INTO import_log VALUES ($id, $at, $user, $kind, $file, $hash, $size, $enc, $rows, $acc, $rej,
                                       $present, $merged, $replaced, $outcome, $msg, $key)""",
               {"id": report.import_id, "at": at or dt.datetime.now(), "user": user, "kind": report.kind,
                "file": report.file[:200], "hash": report.file_hash, "size": size, "enc": report.encoding,
                "rows": report.rows, "acc": report.accepted, "rej": report.rejected,
                "present": report.already_present, "merged": report.duplicates_merged,
                "replaced": report.units_replaced, "outcome": report.outcome, "msg": report.message[:2000],
                "key": key_check})


@dataclass
class _Attempt:
    """An import that did not go in (refused or failed), to be logged with its original time."""

    report: ImportReport
    user: str
    size: int
    at: dt.datetime


_pending: list[_Attempt] = []
_pending_lock = threading.Lock()


def _accepts_failed(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether this database's import_log takes outcome 'failed' (built after it was added)."""
    checks = db.run(con, "import_log_checks", """
        SELECT constraint_text FROM duckdb_constraints()
        WHERE table_name = 'import_log' AND constraint_type = 'CHECK'""")["constraint_text"]
    return any("failed" in str(text) for text in checks)


def _write_attempt(con: duckdb.DuckDBPyConnection, attempt: _Attempt) -> None:
    """Log a refused or failed import and its audit line, in one small transaction of their own."""
    report = attempt.report
    if report.outcome == "failed" and not _accepts_failed(con):
        report.outcome, report.message = "refused", f"[failed] {report.message}"
    with store.exclusive(current(), IMPORT_LOCK), db.transaction(con):
        report.import_id = next_import_id(con)
        log_import(con, report, attempt.user, attempt.size, None, attempt.at)
        auth.audit(con, attempt.user, f"import_{report.outcome}", report.file[:200], report.message[:500],
                   now=attempt.at)


def _try_write(con: duckdb.DuckDBPyConnection, attempt: _Attempt) -> Exception | None:
    """Log ``attempt`` on ``con``, or on a reopened connection if DuckDB invalidated this one;
    returns the error when the database cannot be written (the disk may still be full)."""
    try:
        _write_attempt(con, attempt)
        return None
    except (duckdb.Error, DatabaseError) as exc:
        lost = (db.invalidated(exc) or isinstance(exc, duckdb.ConnectionException)
                or (isinstance(exc, DatabaseError) and exc.details.get("reason") == "invalidated"))
        fresh = db.forget_invalidated(con) if lost else None
        if fresh is None:
            return exc
        try:
            _write_attempt(fresh, attempt)
            return None
        except (duckdb.Error, DatabaseError) as again:
            return again


def _record(con: duckdb.DuckDBPyConnection, attempt: _Attempt) -> None:
    """Log an attempt now if the database can be written, else keep it for :func:`_flush_pending`."""
    error = _try_write(con, attempt)
    if error is not None:
        log.error("import of %s (%s) could not be logged yet (%s); it is logged once the database can be "
                  "written", attempt.report.file[:200], attempt.report.outcome, error)
        with _pending_lock:
            _pending.append(attempt)


def _flush_pending(con: duckdb.DuckDBPyConnection) -> None:
    """Log the attempts that could not be logged when they happened (oldest first)."""
    with _pending_lock:
        waiting = list(_pending)
        _pending.clear()
    for i, attempt in enumerate(waiting):
        error = _try_write(con, attempt)
        if error is not None:
            log.warning("pending import log lines still cannot be written: %s", error)
            with _pending_lock:
                _pending[:0] = waiting[i:]
            return


def log_refused(con: duckdb.DuckDBPyConnection, kind: str, file: str, digest: str, size: int, user: str,
             error: IngestError) -> None:
    """Log a file refused before its rows were looked at (in its own small transaction)."""
    _record(con, _Attempt(ImportReport(kind, file, digest, "refused", message=error.message), user, size,
                          dt.datetime.now()))


def _failed(con: duckdb.DuckDBPyConnection, report: ImportReport, user: str, size: int,
            exc: BaseException) -> XkldError:
    """Log an import whose writing failed (after the rollback) and make the clerk's error."""
    full = "no space left" in str(exc).lower()
    if full:
        message = (f"Tệp {report.file}: không ghi được vào cơ sở dữ liệu vì ổ đĩa của máy chủ đã đầy; chưa có "
                   "số liệu nào của tệp được ghi. Hãy báo quản trị viên giải phóng dung lượng rồi nhập lại tệp.")
    else:
        message = (f"Tệp {report.file}: không ghi được vào cơ sở dữ liệu (lỗi {type(exc).__name__}); chưa có số "
                   "liệu nào của tệp được ghi. Hãy nhập lại tệp; nếu vẫn lỗi, hãy báo quản trị viên.")
    failed = ImportReport(report.kind, report.file, report.file_hash, "failed", rows=report.rows,
                          rejected=report.rejected, encoding=report.encoding,
                          message=f"{message} Chi tiết: {type(exc).__name__}: {str(exc)[:500]}")
    _record(con, _Attempt(failed, user, size, dt.datetime.now()))
    return DatabaseError(message, file=report.file, reason="disk_full" if full else "write_failed",
                         detail=f"{type(exc).__name__}: {str(exc)[:500]}")


def _match_units(con: duckdb.DuckDBPyConnection, frame: pd.DataFrame, period: pd.Series) -> pd.DataFrame:
    """2025 commune code per row (or why not), preferring old units for periods before the reform."""
    gaz = gazetteer.Gazetteer.from_db(con)
    present = {k: (k if k in frame else None) for k in ("ma_xa", "ten_xa", "tinh", "huyen_cu")}
    old = (pd.to_datetime(period, errors="coerce") < pd.Timestamp(REFORM)).fillna(False).astype(bool)
    parts = [gaz.match_many(frame.loc[mask], present["ma_xa"], present["ten_xa"], present["tinh"],
                            present["huyen_cu"], prefer_old=flag)
             for flag, mask in ((False, ~old), (True, old)) if mask.any()]
    return pd.concat(parts).reindex(frame.index)


def _period_start(values: pd.DataFrame, k: kinds.Kind) -> pd.Series:
    if k.period in values:      # a kind whose period is one of its date columns (training courses)
        return values[k.period]
    if k.period == "none":
        return pd.Series(None, index=values.index, dtype="object")
    if k.key == "register":
        return values["ngay_xuat_canh"]
    if k.period == "date":
        return values[next(c.key for c in k.columns if c.kind == "date")]
    if k.period == "month":
        return values["thang"]
    return values["nam"].map(lambda y: None if pd.isna(y) else dt.date(int(y), 1, 1))


def _unit_errors(frame: pd.DataFrame, matched: pd.DataFrame, k: kinds.Kind) -> pd.DataFrame:
    """Rows whose commune could not be settled: not found, ambiguous, or an old commune that was split."""
    bad = matched["code"].isna() & matched["reason"].fillna("").ne("")
    blank = pd.Series("", index=frame.index)
    code, name = frame.get("ma_xa", blank), frame.get("ten_xa", blank)
    fields = code.ne("").map({True: k.column("ma_xa").header, False: k.column("ten_xa").header})
    shown = (code + " " + name).str.strip()
    return pd.DataFrame({"row": frame.index[bad], "field": fields[bad].to_numpy(), "value": shown[bad].to_numpy(),
                         "reason": matched["reason"][bad].to_numpy()})


def rejects_table(frame: pd.DataFrame, errors: pd.DataFrame, k: kinds.Kind) -> pd.DataFrame:
    """One line per refused row: row number, columns, reasons, then the row's cells (IDs masked)."""
    if errors.empty:
        return pd.DataFrame(columns=["Dòng", "Cột", "Lý do"])
    grouped = errors.groupby("row", sort=True).agg(
        field=("field", lambda s: ", ".join(dict.fromkeys(s))), reason=("reason", lambda s: "; ".join(dict.fromkeys(s))))
    cells = frame.loc[grouped.index].copy()
    if "so_cccd" in cells:
        cells["so_cccd"] = cells["so_cccd"].map(checks.mask_id)
    cells = cells.drop(columns=[c for c in ("ho_ten",) if c in cells])
    cells.columns = [k.column(c).header for c in cells.columns]
    out = pd.DataFrame({"Dòng": grouped.index, "Cột": grouped["field"].to_numpy(), "Lý do": grouped["reason"].to_numpy()})
    return pd.concat([out.reset_index(drop=True), cells.reset_index(drop=True)], axis=1)


def _name(user: auth.User | str) -> str:
    return user if isinstance(user, str) else user.username


Progress = Callable[[str, int, "int | None"], None]
"""Told what an import is doing: ``(stage, done, total)`` with stage ``read`` (rows read of the
sheet's rows), ``checked`` (rows checked, ``total`` the communes they name), ``written`` (rows
accepted). The import page shows it as a live counter."""


def import_file(con: duckdb.DuckDBPyConnection, data: bytes, file: str, kind: str, user: auth.User | str,
                settings: Settings, today: dt.date | None = None,
                on_wait: queue.Waiting | None = None, on_progress: Progress | None = None) -> ImportReport:
    """Import one report of ``kind``; returns the report. A refused file raises :class:`IngestError`
    (after logging it); rows with problems never stop the others. A file of at least
    ``import_queue_mb`` waits for its turn in the server's import queue (:mod:`queue`), telling
    ``on_wait`` how many files are ahead of it; ``on_progress`` is told the rows read, checked
    and written as they go (:data:`Progress`).

    ``user`` is the account the import acts for: rows of communes outside its scope and rows of
    an approved (locked) commune-month are refused with the reason (:mod:`xkld_geo.access.scope`, and
    the checks the domain packages registered: :mod:`xkld_geo.intake.registry`); a bare name acts for the nation (the operator)."""
    registry.require()
    big = len(data) >= settings.import_queue_mb * 1_000_000
    with queue.QUEUE.turn(big, on_wait):
        return _import_file(con, data, file, kind, user, settings, today, on_progress)


def _import_file(con: duckdb.DuckDBPyConnection, data: bytes, file: str, kind: str, user: auth.User | str,
                 settings: Settings, today: dt.date | None, on_progress: Progress | None = None) -> ImportReport:
    k = kinds.kind(kind)
    today = today or settings.effective_today
    digest = hashlib.sha256(data).hexdigest()
    limits = spreadsheets.Limits.from_settings(settings)
    name = _name(user)
    _flush_pending(con)
    key = None
    try:
        if not isinstance(user, str) and not auth.allowed(user, "import_data"):
            raise IngestError(f"Tệp {file}: tài khoản {user.username} ({auth.ROLES[user.role]}) không có quyền nhập "
                              "dữ liệu.", file=file, field="user", reason="not_allowed")
        if not isinstance(user, str) and user.company and k.key not in scope.COMPANY_KINDS:
            try:
                scope.require_kind(user, k.key)
            except ScopeError as exc:   # logged as a refused file, like any other
                raise IngestError(f"Tệp {file}: {exc.message}", file=file, field="kind", value=k.key,
                                  allowed=sorted(scope.COMPANY_KINDS), reason="out_of_scope") from exc
        if k.key == "register":
            key = registers.secret_key(settings)
            registers.check_key(con, key)
        sheet = spreadsheets.read(data, file, k, limits, on_rows=None if on_progress is None else
                                  lambda done, total: on_progress("read", done, total))
    except IngestError as exc:
        log_refused(con, kind, file, digest, len(data), name, exc)
        raise
    report = ImportReport(kind, file, digest, "ok", rows=len(sheet.frame), encoding=sheet.encoding)
    try:
        _write(con, sheet, k, key, report, user, len(data), today, settings, on_progress)
    except (duckdb.Error, DatabaseError, OSError) as exc:
        raise _failed(con, report, name, len(data), exc) from exc
    except Exception as exc:   # a fault of ours: logged as failed, then raised as it is
        _failed(con, report, name, len(data), exc)
        raise
    log.info("import %s: %s", report.import_id, report.message)
    return report


def import_form(con: duckdb.DuckDBPyConnection, sheets: list[tuple[str, pd.DataFrame]], label: str,
                user: auth.User, settings: Settings, today: dt.date,
                then: Callable[[duckdb.DuckDBPyConnection], None] | None = None) -> list[ImportReport]:
    """Write the figures of a form (one frame of template cells per kind) through the same checks,
    scope, lock and writes as a file import, all or nothing, in ONE transaction; ``then`` runs in
    that transaction after the figures (the form's own state). A problem in any cell raises an
    :class:`IngestError` naming the kind, field and reason, and nothing is written."""
    registry.require()
    prepared = []
    for kind_key, frame in sheets:
        k = kinds.kind(kind_key)
        frame = frame.copy()
        frame.index = range(2, len(frame) + 2)
        sheet = spreadsheets.Sheet(label, frame, {c: i for i, c in enumerate(frame.columns)}, "form", False)
        report = ImportReport(kind_key, label, hashlib.sha256(pd.util.hash_pandas_object(frame).values.tobytes()).hexdigest(), "ok",
                              rows=len(frame), encoding="form")
        plan = _prepare(con, sheet, k, None, report, user, today)
        if report.rejected:
            reasons = "; ".join(f"{r['Cột']}: {r['Lý do']}" for _, r in report.rejects.iterrows())
            raise IngestError(f"{k.title}: {reasons}", kind=kind_key, field="form", rejects=report.rejects)
        prepared.append((sheet, k, report, plan))
    check_free_space(settings)
    with store.exclusive(settings, IMPORT_LOCK), db.transaction(con):
        for sheet, k, report, plan in prepared:
            _commit(con, sheet, k, None, report, plan, user, 0, today, via="form")
        if then is not None:
            then(con)
    return [report for _, _, report, _ in prepared]


def check_free_space(settings: Settings) -> None:
    """Refuse to start writing when the database's disk is (nearly) full.

    A commit that fails on a full disk is rolled back (imports update kept keys in place, see
    :func:`writes._write_changed`: DuckDB 1.5.5 aborts the process when it has to undo a key
    deleted and inserted again), but refusing before any work is cheaper and clearer for the clerk,
    and keeps room for the failure's own log line (XKLD_MIN_FREE_MB)."""
    if str(settings.db_path) == ":memory:":
        return
    free = shutil.disk_usage(Path(settings.db_path).resolve().parent).free
    if free < settings.min_free_mb * 1_000_000:
        raise OSError(errno.ENOSPC, f"No space left on device: {free / 1e6:.1f} MB free beside "
                                    f"{Path(settings.db_path).name}, {settings.min_free_mb:.0f} MB needed")


def _write(con: duckdb.DuckDBPyConnection, sheet: spreadsheets.Sheet, k: kinds.Kind, key: bytes | None,
           report: ImportReport, user: auth.User | str, size: int, today: dt.date, settings: Settings,
           on_progress: Progress | None = None) -> None:
    """Check the rows of ``sheet``, then write them and the log line in one transaction."""
    plan = _prepare(con, sheet, k, key, report, user, today, on_progress)
    check_free_space(settings)
    with store.exclusive(settings, IMPORT_LOCK), db.transaction(con):
        _commit(con, sheet, k, key, report, plan, user, size, today)
    if on_progress is not None:
        on_progress("written", report.accepted, len(sheet.frame))


def _place_errors(con: duckdb.DuckDBPyConnection, frame: pd.DataFrame, values: pd.DataFrame, k: kinds.Kind,
                  user: auth.User | str) -> pd.DataFrame:
    """Rows outside the account's scope."""
    field = k.column("ma_xa").header if "ma_xa" in frame else k.column("ten_xa").header
    parts = []
    if not isinstance(user, str):
        parts.append(scope.out_of_scope_rows(con, user, k.key, values["commune_code"], field))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["row", "field", "value", "reason"])


def _prepare(con: duckdb.DuckDBPyConnection, sheet: spreadsheets.Sheet, k: kinds.Kind, key: bytes | None,
             report: ImportReport, user: auth.User | str, today: dt.date,
             on_progress: Progress | None = None) -> Any:
    """Check the rows of ``sheet`` (cells, units, scope, lock) and plan what to write."""
    frame = sheet.frame
    checked = checks.check(frame, k, checks.Reference.from_db(con), today)
    values = checked.values
    errors = checked.errors
    period = _period_start(values, k)
    if any(c.key in ("ma_xa", "ten_xa") for c in k.columns):
        matched = _match_units(con, frame, period)
        values["commune_code"] = matched["code"]
        errors = pd.concat([errors, _unit_errors(frame, matched, k), _place_errors(con, frame, values, k, user)],
                           ignore_index=True)
    rows = registry.Rows(k, frame, values, period, today)
    found = [check(con, rows) for check in registry.checks_of(k.key)]   # e.g. the approval lock, cases
    if not isinstance(user, str) and k.key in ("orders", "interviews"):   # a company's own orders only
        headers = {c.key: c.header for c in k.columns}
        found.append(scope.out_of_licence_rows(con, user, k.key, values, headers))
    if found:
        errors = pd.concat([errors, *found], ignore_index=True)
    handling = registry.handling(k.key)
    plan = (handling.plan(con, rows, errors) if handling.plan
            else writes.plan(k, frame, values, errors, key, reporter=sheet.file))
    report.rejects = rejects_table(frame, plan.errors, k)
    report.rejected = int(plan.errors["row"].nunique()) if not plan.errors.empty else 0
    if on_progress is not None:
        communes = int(values["commune_code"].nunique()) if "commune_code" in values else 0
        on_progress("checked", len(frame), communes)
    return plan


def _commit(con: duckdb.DuckDBPyConnection, sheet: spreadsheets.Sheet, k: kinds.Kind, key: bytes | None,
            report: ImportReport, plan: Any, user: auth.User | str, size: int, today: dt.date,
            via: str = "import") -> None:
    """Write a planned import and its log line (the caller holds the lock and the transaction); the
    registered hooks follow the rows (:func:`registry.after_write`: receipts, profiles, approval)."""
    name = _name(user)
    handling = registry.handling(k.key)
    report.import_id = next_import_id(con)
    result = (handling.write(con, plan, report.import_id, name) if handling.write
              else writes.write(con, plan, report.import_id, name))
    report.accepted, report.already_present = result.accepted, result.already_present
    report.duplicates_merged, report.units_replaced = result.duplicates_merged, result.units_replaced
    report.outcome = ("rejected" if report.accepted + report.already_present + report.duplicates_merged == 0
                      else "partial" if report.rejected else "unchanged" if report.accepted == 0 else "ok")
    report.message = report.summary()
    if report.accepted + report.already_present + report.duplicates_merged:
        written = registry.Written(k.key, plan.scopes, report.import_id, today, name, via)
        for hook in registry.after_write():
            hook(con, written)
    log_import(con, report, name, size, registers.key_check(key) if key else None)
    auth.audit(con, name, "import" if via == "import" else "form_import", f"{k.key}:{sheet.file[:150]}",
               report.message)
    dataversion.bump(con, f"import:{k.key}:{report.import_id}")


def import_log(con: duckdb.DuckDBPyConnection, limit: int = 100) -> pd.DataFrame:
    """The newest imports, for the import page (attempts not logged yet for a full disk first go in)."""
    _flush_pending(con)
    return db.run(con, "import_log_list", """
        SELECT import_id AS "Lần nhập", at_time AS "Thời điểm", username AS "Người nhập", kind AS "Loại",
               file_name AS "Tệp", rows_read AS "Số dòng", accepted AS "Nhận", already_present AS "Đã có",
               rejected AS "Từ chối", duplicates_merged AS "Gộp trùng", units_replaced AS "Xã–kỳ thay thế",
               outcome AS "Kết quả", left(file_hash, 12) AS "Mã tệp (SHA-256)"
        FROM import_log ORDER BY import_id DESC LIMIT $n""", {"n": int(limit)})
