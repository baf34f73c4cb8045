"""Data intake: import a commune or company report without losing or double-counting anyone.

One call, :func:`import_file`, does everything a template import needs: read the file safely
(:mod:`spreadsheets`), check every cell (:mod:`records`), find each commune however it was written
(:mod:`gazetteer`, through the 2025 crosswalk for old units), then write in ONE transaction. Rows
that fail go to a rejection file with row, column and reason; the rest go in. A report replaces
the figures of the periods and units it covers (its natural key), so re-importing a file, or an
overlapping one, never adds twice: what is identical counts as already present, what differs is
replaced and the change is logged. Every import, refused ones too, is logged with the file's hash,
who, when, the counts and the outcome. A crash or a killed process before the commit leaves the
database as it was (DuckDB discards an uncommitted transaction).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import logging
from dataclasses import dataclass, field

import duckdb
import pandas as pd

from xkld_geo import auth, db, facts, gazetteer, records, registers, spreadsheets, templates
from xkld_geo.errors import IngestError
from xkld_geo.settings import Settings

log = logging.getLogger("xkld_geo.ingest")

REFORM = dt.date(2025, 7, 1)
DDL = """
CREATE TABLE IF NOT EXISTS import_log (
    import_id INTEGER PRIMARY KEY,
    at_time TIMESTAMP NOT NULL,
    username VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    file_name VARCHAR NOT NULL,         -- a label only: files are read in memory, never stored
    file_hash VARCHAR NOT NULL,         -- SHA-256 of the bytes
    file_bytes BIGINT NOT NULL,
    encoding VARCHAR,
    rows_read INTEGER NOT NULL,
    accepted INTEGER NOT NULL,
    rejected INTEGER NOT NULL,
    already_present INTEGER NOT NULL,
    duplicates_merged INTEGER NOT NULL,
    units_replaced INTEGER NOT NULL,
    outcome VARCHAR NOT NULL CHECK (outcome IN ('ok', 'partial', 'unchanged', 'rejected', 'refused')),
    message VARCHAR,
    key_check VARCHAR                   -- registers: fingerprint of the ID-hash key used
);
"""


def create_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create the import log, the change log and the register table if missing."""
    db.execute(con, "ingest_tables", DDL)
    facts.create_tables(con)
    registers.create_tables(con)


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
        text = (f"{self.file}: {self.rows:,} dòng; nhận {self.accepted:,}, đã có từ trước {self.already_present:,}, "
                f"bị từ chối {self.rejected:,}")
        if self.kind == "register":
            text += f", gộp trùng {self.duplicates_merged:,} người"
        if self.units_replaced:
            text += f"; thay số liệu cũ của {self.units_replaced:,} xã–kỳ"
        return text + "."

    def rejects_csv(self) -> bytes:
        """The rejection file as CSV (UTF-8 with BOM for Excel), safe to open in a spreadsheet."""
        return _spreadsheet_safe(self.rejects).to_csv(index=False).encode("utf-8-sig")

    def rejects_xlsx(self) -> bytes:
        """The rejection file as XLSX."""
        buffer = io.BytesIO()
        with pd.ExcelWriter(buffer, engine="xlsxwriter") as writer:
            _spreadsheet_safe(self.rejects).to_excel(writer, index=False, sheet_name="Dòng bị từ chối")
        return buffer.getvalue()


def _spreadsheet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """Cells that a spreadsheet would run as formulas get a leading apostrophe."""
    return frame.apply(lambda col: col.map(lambda v: f"'{v}" if isinstance(v, str) and v[:1] in "=+-@\t\r" else v))


def _next_id(con: duckdb.DuckDBPyConnection) -> int:
    return int(db.run(con, "import_next_id", "SELECT COALESCE(max(import_id), 0) + 1 AS n FROM import_log")["n"][0])


def _log(con: duckdb.DuckDBPyConnection, report: ImportReport, user: str, size: int, key_check: str | None) -> None:
    db.execute(con, "import_log_insert", """
        INSERT INTO import_log VALUES ($id, $at, $user, $kind, $file, $hash, $size, $enc, $rows, $acc, $rej,
                                       $present, $merged, $replaced, $outcome, $msg, $key)""",
               {"id": report.import_id, "at": dt.datetime.now(), "user": user, "kind": report.kind,
                "file": report.file[:200], "hash": report.file_hash, "size": size, "enc": report.encoding,
                "rows": report.rows, "acc": report.accepted, "rej": report.rejected,
                "present": report.already_present, "merged": report.duplicates_merged,
                "replaced": report.units_replaced, "outcome": report.outcome, "msg": report.message[:2000],
                "key": key_check})


def _refused(con: duckdb.DuckDBPyConnection, kind: str, file: str, digest: str, size: int, user: str,
             error: IngestError) -> None:
    """Log a file refused before its rows were looked at (in its own small transaction)."""
    report = ImportReport(kind, file, digest, "refused", message=error.message)
    with db.transaction(con):
        report.import_id = _next_id(con)
        _log(con, report, user, size, None)
        auth.audit(con, user, "import_refused", file[:200], error.message[:500])


def _match_units(con: duckdb.DuckDBPyConnection, frame: pd.DataFrame, period: pd.Series) -> pd.DataFrame:
    """2025 commune code per row (or why not), preferring old units for periods before the reform."""
    gaz = gazetteer.Gazetteer.from_db(con)
    present = {k: (k if k in frame else None) for k in ("ma_xa", "ten_xa", "tinh", "huyen_cu")}
    old = (pd.to_datetime(period, errors="coerce") < pd.Timestamp(REFORM)).fillna(False).astype(bool)
    parts = [gaz.match_many(frame.loc[mask], present["ma_xa"], present["ten_xa"], present["tinh"],
                            present["huyen_cu"], prefer_old=flag)
             for flag, mask in ((False, ~old), (True, old)) if mask.any()]
    return pd.concat(parts).reindex(frame.index)


def _period_start(values: pd.DataFrame, k: templates.Kind) -> pd.Series:
    if k.key == "register":
        return values["ngay_xuat_canh"]
    if k.period == "month":
        return values["thang"]
    return values["nam"].map(lambda y: None if pd.isna(y) else dt.date(int(y), 1, 1))


def _unit_errors(frame: pd.DataFrame, matched: pd.DataFrame, k: templates.Kind) -> pd.DataFrame:
    """Rows whose commune could not be settled: not found, ambiguous, or an old commune that was split."""
    bad = matched["code"].isna() & matched["reason"].fillna("").ne("")
    blank = pd.Series("", index=frame.index)
    code, name = frame.get("ma_xa", blank), frame.get("ten_xa", blank)
    fields = code.ne("").map({True: k.column("ma_xa").header, False: k.column("ten_xa").header})
    shown = (code + " " + name).str.strip()
    return pd.DataFrame({"row": frame.index[bad], "field": fields[bad].to_numpy(), "value": shown[bad].to_numpy(),
                         "reason": matched["reason"][bad].to_numpy()})


def _rejects(frame: pd.DataFrame, errors: pd.DataFrame, k: templates.Kind) -> pd.DataFrame:
    """One line per refused row: row number, columns, reasons, then the row's cells (IDs masked)."""
    if errors.empty:
        return pd.DataFrame(columns=["Dòng", "Cột", "Lý do"])
    grouped = errors.groupby("row", sort=True).agg(
        field=("field", lambda s: ", ".join(dict.fromkeys(s))), reason=("reason", lambda s: "; ".join(dict.fromkeys(s))))
    cells = frame.loc[grouped.index].copy()
    if "so_cccd" in cells:
        cells["so_cccd"] = cells["so_cccd"].map(records.mask_id)
    cells = cells.drop(columns=[c for c in ("ho_ten",) if c in cells])
    cells.columns = [k.column(c).header for c in cells.columns]
    out = pd.DataFrame({"Dòng": grouped.index, "Cột": grouped["field"].to_numpy(), "Lý do": grouped["reason"].to_numpy()})
    return pd.concat([out.reset_index(drop=True), cells.reset_index(drop=True)], axis=1)


def import_file(con: duckdb.DuckDBPyConnection, data: bytes, file: str, kind: str, user: str,
                settings: Settings, today: dt.date | None = None) -> ImportReport:
    """Import one report of ``kind``; returns the report. A refused file raises :class:`IngestError`
    (after logging it); rows with problems never stop the others."""
    k = templates.kind(kind)
    today = today or settings.effective_today
    digest = hashlib.sha256(data).hexdigest()
    limits = spreadsheets.Limits(int(settings.max_upload_mb * 1_000_000), settings.max_import_rows)
    key = None
    try:
        if k.key == "register":
            key = registers.secret_key(settings)
            registers.check_key(con, key)
        sheet = spreadsheets.read(data, file, k, limits)
    except IngestError as exc:
        _refused(con, kind, file, digest, len(data), user, exc)
        raise
    frame = sheet.frame
    checked = records.check(frame, k, records.Reference.from_db(con), today)
    values = checked.values
    matched = _match_units(con, frame, _period_start(values, k))
    values["commune_code"] = matched["code"]
    errors = pd.concat([checked.errors, _unit_errors(frame, matched, k)], ignore_index=True)
    plan = facts.plan(k, frame, values, errors, key, reporter=file)
    report = ImportReport(kind, file, digest, "ok", rows=len(frame), encoding=sheet.encoding,
                          rejects=_rejects(frame, plan.errors, k))
    report.rejected = int(plan.errors["row"].nunique()) if not plan.errors.empty else 0
    with db.transaction(con):
        report.import_id = _next_id(con)
        result = facts.write(con, plan, report.import_id, user)
        report.accepted, report.already_present = result.accepted, result.already_present
        report.duplicates_merged, report.units_replaced = result.duplicates_merged, result.units_replaced
        report.outcome = ("rejected" if report.accepted + report.already_present + report.duplicates_merged == 0
                          else "partial" if report.rejected else "unchanged" if report.accepted == 0 else "ok")
        report.message = report.summary()
        _log(con, report, user, len(data), registers.key_check(key) if key else None)
        auth.audit(con, user, "import", f"{kind}:{file[:150]}", report.message)
    log.info("import %s: %s", report.import_id, report.message)
    return report


def import_log(con: duckdb.DuckDBPyConnection, limit: int = 100) -> pd.DataFrame:
    """The newest imports, for the import page."""
    return db.run(con, "import_log_list", """
        SELECT import_id AS "Lần nhập", at_time AS "Thời điểm", username AS "Người nhập", kind AS "Loại",
               file_name AS "Tệp", rows_read AS "Số dòng", accepted AS "Nhận", already_present AS "Đã có",
               rejected AS "Từ chối", duplicates_merged AS "Gộp trùng", units_replaced AS "Xã–kỳ thay thế",
               outcome AS "Kết quả", left(file_hash, 12) AS "Mã tệp (SHA-256)"
        FROM import_log ORDER BY import_id DESC LIMIT $n""", {"n": int(limit)})
