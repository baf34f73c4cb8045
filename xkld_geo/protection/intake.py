"""Importing the protection kinds (:mod:`.templates`): the checks the generic cell checks cannot do,
and the writing of the register of cases.

Clubs and returnees are plain fact tables: after :func:`check` they go through the generic
replace-by-scope writing of :mod:`xkld_geo.intake.writes` (idempotent re-import, changes logged).
Cases are a register: a new reference records a case (received) and walks it forward to the status
in the file; a known reference may only move forward along the allowed path; each step is one
audit row, written in the import's transaction. What cannot be written is refused row by row with
its column and a Vietnamese reason before anything is written.
"""
from __future__ import annotations

import datetime as dt
import re

import duckdb
import pandas as pd

from xkld_geo.access import auth
from xkld_geo.database import db
from xkld_geo.intake import registry
from xkld_geo.intake.kinds import Kind, header_key
from xkld_geo.intake.writes import Plan, WriteResult
from xkld_geo.protection import cases
from xkld_geo.protection.templates import PROTECTION_KINDS

KINDS = ("cases", "clubs", "returnees")
ORDER = ("received", "verifying", "handling", "closed")
KIND_WORDS = {header_key(v): k for k, v in cases.KIND_LABELS.items()} | {
    "lua dao": "fraud", "fraud": "fraud", "vi pham": "contract_breach", "vi pham hop dong": "contract_breach",
    "pha hop dong": "contract_breach", "cu tru bat hop phap": "illegal_stay", "o lai trai phep": "illegal_stay",
    "bo tron": "illegal_stay", "gap kho khan": "in_difficulty", "bao ho": "in_difficulty",
    "de nghi bao ho": "in_difficulty", "tranh chap": "labour_dispute", "tranh chap lao dong": "labour_dispute",
    "tu vong": "death_accident", "tai nan": "death_accident", "tu vong tai nan": "death_accident"}
STATUS_WORDS = {header_key(v): k for k, v in cases.STATUS_LABELS.items()} | {
    "tiep nhan": "received", "moi": "received", "xac minh": "verifying", "dang xu ly": "handling",
    "giai quyet": "handling", "ket thuc": "closed", "da giai quyet": "closed", "dong": "closed"} | {
    k: k for k in ORDER}
UNKNOWN_OCCUPATION = "Chưa xác định"


def _err(rows: pd.Index, field: str, values: pd.Series | str, reason: str | list[str]) -> pd.DataFrame:
    return pd.DataFrame({"row": rows, "field": field, "value": values, "reason": reason})


def _choice(values: pd.DataFrame, frame: pd.DataFrame, k: Kind, key: str, words: dict[str, str],
            default: str | None) -> pd.DataFrame:
    raw = frame[key] if key in frame else pd.Series("", index=frame.index)
    parsed = raw.map(lambda v: words.get(header_key(v)) if v != "" else default)
    values[key] = parsed
    bad = parsed.isna() & (raw != "")
    allowed = ", ".join(dict.fromkeys(cases.KIND_LABELS.values() if key == "loai" else cases.STATUS_LABELS.values()))
    return _err(raw.index[bad], k.column(key).header, raw[bad], f"không có trong danh mục; dùng: {allowed}")


def check(con: duckdb.DuckDBPyConnection, k: Kind, frame: pd.DataFrame, values: pd.DataFrame) -> pd.DataFrame:
    """Parse and check what only this module knows (``values`` is completed in place); the problems."""
    if k.key == "returnees":
        occupation = values["nghe"].fillna("").map(lambda v: re.sub(r"\s+", " ", str(v)).strip()[:80])
        values["nghe"] = occupation.where(occupation != "", None)
        returned, found = values["so_ve_nuoc"], values["so_co_viec_lam"]
        bad = returned.notna() & found.notna() & (found.astype(float) > returned.astype(float))
        return _err(values.index[bad], k.column("so_co_viec_lam").header, frame.loc[bad, "so_co_viec_lam"],
                    "số người có việc làm lớn hơn số người về nước")
    if k.key != "cases":
        return _err(pd.Index([]), "", "", "")
    problems = [_choice(values, frame, k, "loai", KIND_WORDS, None),
                _choice(values, frame, k, "trang_thai", STATUS_WORDS, "received")]
    refs = values["ma_vu_viec"].fillna("")
    bad = (refs != "") & ~refs.map(lambda r: bool(cases.REF.match(r)))
    problems.append(_err(refs.index[bad], k.column("ma_vu_viec").header, refs[bad],
                         "mã chỉ gồm chữ, số và . _ / - (tối đa 40 ký tự)"))
    first = pd.Series(refs.index, index=refs.index).groupby(refs.to_numpy()).transform("first")
    dup = (first.index != first.to_numpy()) & (refs != "")
    problems.append(_err(refs.index[dup], k.column("ma_vu_viec").header, refs[dup],
                         [f"trùng mã với dòng {r}" for r in first[dup]]))
    licences = values["so_giay_phep"].fillna("") if "so_giay_phep" in values else pd.Series("", index=values.index)
    values["so_giay_phep"] = licences
    known = set(db.run(con, "case_import_licences", "SELECT licence_no FROM licensed_companies")["licence_no"])
    bad = (licences != "") & ~licences.isin(known)
    problems.append(_err(licences.index[bad], k.column("so_giay_phep").header, licences[bad],
                         "không có trong danh sách doanh nghiệp được cấp phép"))
    stored = db.run(con, "case_import_stored", "SELECT case_ref, kind, commune_code, opened_on, status, outcome "
                    "FROM cases").set_index("case_ref")
    status_on = values["ngay_trang_thai"].where(values["ngay_trang_thai"].notna(), values["ngay_tiep_nhan"])
    values["ngay_trang_thai"] = status_on
    for row in values.index:
        ref, status = refs[row], values.at[row, "trang_thai"]
        opened, on = values.at[row, "ngay_tiep_nhan"], status_on[row]
        if status is None or pd.isna(status) or opened is None or pd.isna(opened):
            continue
        if on < opened:
            problems.append(_err(pd.Index([row]), k.column("ngay_trang_thai").header, str(frame.at[row, "ngay_trang_thai"]),
                                 "ngày chuyển trạng thái trước ngày tiếp nhận"))
        outcome = _text(values.at[row, "ket_qua"]) or ""
        if ref in stored.index:
            s = stored.loc[ref]
            if (s["kind"], s["commune_code"], pd.Timestamp(s["opened_on"]).date()) != (
                    values.at[row, "loai"], values.at[row, "commune_code"], opened):
                problems.append(_err(pd.Index([row]), k.column("ma_vu_viec").header, ref,
                                     "mã vụ việc đã có với loại, xã hoặc ngày tiếp nhận khác"))
            if ORDER.index(status) < ORDER.index(s["status"]):
                problems.append(_err(pd.Index([row]), k.column("trang_thai").header, str(frame.at[row, "trang_thai"]),
                                     f"vụ việc đang '{cases.STATUS_LABELS[s['status']]}': không chuyển ngược được"))
            outcome = outcome or (_text(s["outcome"]) or "")
        if status == "closed" and not outcome:
            problems.append(_err(pd.Index([row]), k.column("ket_qua").header, "", "cần ghi kết quả khi kết thúc vụ việc"))
    return pd.concat(problems, ignore_index=True)


def _text(value: object) -> str | None:
    """A cell's text, or None when blank or missing."""
    return None if value is None or (not isinstance(value, str) and pd.isna(value)) or value == "" else str(value)


def _path(current: str, target: str) -> list[str]:
    """The allowed moves from ``current`` to ``target`` (forward only), one status at a time."""
    steps: list[str] = []
    while current != target:
        current = target if target in cases.TRANSITIONS[current] else ORDER[ORDER.index(current) + 1]
        steps.append(current)
    return steps


def write_cases(con: duckdb.DuckDBPyConnection, rows: pd.DataFrame, import_id: int, user: str) -> tuple[int, int]:
    """Record new cases and move known ones (the caller holds the transaction); (accepted, present)."""
    stored = db.run(con, "case_import_current", "SELECT case_ref, status, agency, outcome, note FROM cases"
                    ).set_index("case_ref")
    accepted = present = 0
    for r in rows.itertuples(index=False):
        agency, outcome, note = _text(r.co_quan), _text(r.ket_qua), _text(r.ghi_chu)
        same = True
        if r.ma_vu_viec not in stored.index:
            cases.record(con, cases.NewCase(r.ma_vu_viec, r.loai, r.ngay_tiep_nhan, r.commune_code, r.thi_truong,
                                            _text(r.so_giay_phep), agency, note),
                         user, r.ngay_tiep_nhan, import_id=import_id, in_transaction=True)
            current = "received"
        else:
            s = stored.loc[r.ma_vu_viec]
            current = str(s["status"])
            same = all((new or None) in (None, old) for new, old in ((agency, s["agency"]), (outcome, s["outcome"]),
                                                                      (note, s["note"])))
            if current == r.trang_thai and same:
                present += 1
                continue
        steps = _path(current, r.trang_thai)
        for step in steps:     # the outcome and note go with the last step (closing needs the outcome)
            last = step == steps[-1]
            cases.move(con, r.ma_vu_viec, step, user, r.ngay_trang_thai, agency=agency,
                       outcome=outcome if last else None, note=note if last else None, in_transaction=True)
        if not same and not steps:
            db.execute(con, "case_import_update", """
                UPDATE cases SET agency = COALESCE($a, agency), outcome = COALESCE($o, outcome),
                       note = COALESCE($n, note), updated_at = $now, updated_by = $u WHERE case_ref = $r""",
                       {"a": agency, "o": outcome, "n": note, "now": dt.datetime.now(), "u": user, "r": r.ma_vu_viec})
            auth.audit(con, user, "case_updated", r.ma_vu_viec, "agency/outcome/note")
        accepted += 1
    return accepted, present


def _check(con: duckdb.DuckDBPyConnection, rows: registry.Rows) -> pd.DataFrame:
    return check(con, rows.kind, rows.frame, rows.values)


def _write_cases(con: duckdb.DuckDBPyConnection, p: Plan, import_id: int, user: str) -> WriteResult:
    accepted, present = write_cases(con, p.rows, import_id, user)
    return WriteResult(accepted, present, 0, 0)


def register_with_intake() -> None:
    """Add the protection kinds to the intake with their checks; the register of cases written by
    :func:`write_cases` (once, from :mod:`xkld_geo.registrations`)."""
    for k in PROTECTION_KINDS:
        registry.add_kind(k, write=_write_cases if k.key == "cases" else None)
    registry.add_check(KINDS, _check)
