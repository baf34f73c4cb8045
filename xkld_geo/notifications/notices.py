"""What goes out, to whom and when: the scheduled notices of the reporting cycle, and the review
notice a report's approval or return sends to its submitter.

A monthly report is due on ``report_due_day`` of the next month (:func:`xkld_geo.figures.periods.due_date`).
Relative to that day:

===========  ======  ==========================================================================
job          day     message
===========  ======  ==========================================================================
reminder     -2      each commune that has not sent every report yet: its people in charge
missing      +1      each commune still missing a report: its people in charge
digest       +1      each province: who has not reported, late ones, reports waiting or returned
                     (when the approval workflow supplies them): its steering committee/officers
report       +1      each province: the monthly periodic report, DOCX and PDF: its leader, subscribers
pace         +1      each province: communes that fell below 50 % of pace since the last notice
===========  ======  ==========================================================================

:func:`compose` only reads and writes documents; the scheduler puts its messages in the outbox in
the transaction that records the job's run. Each message is about one commune or one province, the
recipient's own (people in charge by their unit; users by the province they follow within their
account's scope), so no message carries a commune-level figure outside its recipient's scope.
A province with a webhook gets the commune and province notices as JSON too, with the people's
names and phones, for its SMS or Zalo gateway.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass, field
from typing import Any, Iterable

import duckdb
import pandas as pd

from xkld_geo.database import db
from xkld_geo.figures import periods, queries
from xkld_geo.notifications import subscriptions, templates
from xkld_geo.notifications.outbox import Attachment, Message, enqueue
from xkld_geo.reporting import completeness
from xkld_geo.settings import Settings

log = logging.getLogger("xkld_geo.notifications.notices")

JOBS: dict[str, tuple[int, str]] = {
    "reminder": (-2, "Nhắc hạn báo cáo"), "missing": (1, "Báo chưa nhận báo cáo"),
    "digest": (1, "Tổng hợp của tỉnh"), "report": (1, "Báo cáo định kỳ tháng"), "pace": (1, "Xã dưới 50% tiến độ"),
}
"""Job → (day relative to the due day, Vietnamese name)."""
PACE_FLOOR = 50.0
PREFIX = "[XKLĐ-Geo]"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@dataclass(frozen=True, order=True)
class Occurrence:
    """One run of a job: the day it is due and the month whose reports it is about."""

    due_on: dt.date
    job: str
    month: dt.date

    @property
    def period(self) -> str:
        return f"{self.month:%Y-%m}"

    @property
    def event(self) -> str:
        return f"job:{self.job}:{self.due_on.isoformat()}"


def _shift(month: dt.date, back: int) -> dt.date:
    index = month.year * 12 + month.month - 1 - back
    return dt.date(index // 12, index % 12 + 1, 1)


def occurrences(today: dt.date, due_day: int, catchup_days: int) -> list[Occurrence]:
    """The job runs due on ``today`` or missed in the ``catchup_days`` before it (a reminder only
    while its report is not yet due), oldest first."""
    out = []
    for back in range(0, 3):
        month = _shift(dt.date(today.year, today.month, 1), back)
        if month < completeness.REPORTING_START:
            continue
        due = periods.due_date(month.year, month.month, due_day)
        for job, (offset, _) in JOBS.items():
            on = due + dt.timedelta(days=offset)
            if on > today or on < today - dt.timedelta(days=catchup_days) or (job == "reminder" and today >= due):
                continue
            out.append(Occurrence(on, job, month))
    return sorted(out)


def _label(month: dt.date) -> str:
    return f"tháng {month.month}/{month.year}"


def _greeting(name: str | None) -> str:
    return f"Kính gửi: {name}," if name else "Kính gửi Quý cơ quan,"


@dataclass
class Composer:
    """Composes the messages of one worker run (keeps each province's report figures for the run)."""

    con: duckdb.DuckDBPyConnection
    settings: Settings
    today: dt.date
    _gathered: dict[tuple[str, str], Any] = field(default_factory=dict)
    _names: dict[str, str] = field(default_factory=dict)
    _demo: bool | None = None

    @property
    def demo(self) -> bool:
        if self._demo is None:
            self._demo = queries.meta(self.con).get("contains_demo") == "true"
        return self._demo

    def province_name(self, code: str) -> str:
        if not self._names:
            table = queries.provinces(self.con)
            self._names = {str(c): str(n) for c, n in zip(table["code"], table["name"])}
        return self._names.get(code, code)

    def compose(self, occ: Occurrence) -> list[Message]:
        """Every message of one job run."""
        if occ.job in ("reminder", "missing"):
            return self._communes(occ)
        if occ.job == "digest":
            return self._digest(occ)
        if occ.job == "report":
            return self._report(occ)
        if occ.job == "pace":
            return self._pace(occ)
        raise KeyError(occ.job)

    # -- recipients ---------------------------------------------------------------------------------

    def _addressed(self, occ: Occurrence, level: str, code: str, province: str, letter_for: Any,
                   payload: dict[str, Any], attachments: tuple[Attachment, ...] = ()) -> list[Message]:
        """One e-mail per person in charge of ``level:code`` (and per subscribed user, for a province
        kind) with an address, and one webhook message for the province's gateway."""
        kind = occ.job
        staff = subscriptions.people_recipients(self.con, kind, level, code)
        to: dict[str, str | None] = {}
        for r in staff.itertuples(index=False):
            if isinstance(r.email, str) and r.email:
                to.setdefault(r.email.lower(), str(r.full_name))
        if kind in subscriptions.PROVINCE_KINDS:
            for _username, email in subscriptions.user_recipients(self.con, kind, province):
                to.setdefault(email.lower(), None)
        messages = []
        for email, name in to.items():
            letter: templates.Letter = letter_for(name)
            messages.append(Message(f"{kind}:{occ.period}:{code}:email:{email}", "email", (email,), letter.subject,
                                    templates.text(letter), kind, occ.event, templates.html(letter), code, occ.period,
                                    payload, attachments))
        hook = subscriptions.webhook_of(self.con, province) if kind != "report" else None
        if hook and (len(staff) or messages):
            letter = letter_for(None)
            people_list = [{"name": str(r.full_name), "role": str(r.role),
                            "phone": r.phone if isinstance(r.phone, str) else None,
                            "email": r.email if isinstance(r.email, str) else None} for r in staff.itertuples(index=False)]
            messages.append(Message(f"{kind}:{occ.period}:{code}:webhook:{province}", "webhook", (hook,),
                                    letter.subject, templates.text(letter), kind, occ.event, None, code, occ.period,
                                    {**payload, "people": people_list}))
        return messages

    # -- commune notices ----------------------------------------------------------------------------

    def _cells(self, occ: Occurrence, province: str | None = None) -> pd.DataFrame:
        return completeness.cells(self.con, occ.month, occ.month, self.today, self.settings.report_due_day, province)

    def _communes(self, occ: Occurrence) -> list[Message]:
        due = periods.due_date(occ.month.year, occ.month.month, self.settings.report_due_day)
        wanted = "not_due" if occ.job == "reminder" else "missing"
        cells = self._cells(occ)
        cells = cells[cells["status"] == wanted]
        messages: list[Message] = []
        for (province, code, commune), rows in cells.groupby(["province_code", "commune_code", "commune_name"]):
            kinds = [completeness.KINDS[k] for k in rows["kind"]]
            place = f"{commune} (mã {code}, {self.province_name(str(province))})"
            if occ.job == "reminder":
                subject = f"{PREFIX} Nhắc hạn báo cáo {_label(occ.month)} – {commune}"
                lines = [f"Báo cáo {_label(occ.month)} của {place} cần gửi chậm nhất ngày {due:%d/%m/%Y} "
                         f"(còn {(due - self.today).days} ngày).", f"Hệ thống chưa nhận: {', '.join(kinds)}.",
                         "Đề nghị đồng chí gửi báo cáo qua trang Nhập dữ liệu hoặc gửi Sở Nội vụ đúng hạn."]
            else:
                subject = f"{PREFIX} Chưa nhận báo cáo {_label(occ.month)} – {commune}"
                lines = [f"Đến hết ngày {due:%d/%m/%Y} (hạn báo cáo), hệ thống chưa nhận báo cáo {_label(occ.month)} "
                         f"của {place}: {', '.join(kinds)}.",
                         "Đề nghị đồng chí gửi ngay; xã chưa báo cáo được ghi 'chưa báo cáo' trong báo cáo của tỉnh."]

            def letter_for(name: str | None, subject: str = subject, lines: list[str] = lines) -> templates.Letter:
                return templates.Letter(subject, _greeting(name), lines, demo=self.demo)

            payload = {"commune_code": str(code), "province_code": str(province), "missing_kinds": list(rows["kind"]),
                       "due": due.isoformat()}
            messages += self._addressed(occ, "commune", str(code), str(province), letter_for, payload)
        return messages

    # -- province notices ---------------------------------------------------------------------------

    def _provinces(self) -> list[str]:
        return sorted(self._names or {str(c): "" for c in queries.provinces(self.con)["code"]})

    def _digest(self, occ: Occurrence) -> list[Message]:
        due = periods.due_date(occ.month.year, occ.month.month, self.settings.report_due_day)
        cells = self._cells(occ)
        messages: list[Message] = []
        for province in self._provinces():
            own = cells[cells["province_code"] == province]
            if own.empty:
                continue
            name = self.province_name(province)
            missing = own[own["status"] == "missing"]
            late = own[own["status"] == "late"]
            rows = [(str(c), str(n), ", ".join(completeness.KINDS[k] for k in g["kind"]))
                    for (c, n), g in missing.groupby(["commune_code", "commune_name"])]
            communes = own["commune_code"].nunique()
            lines = [f"Tình hình báo cáo {_label(occ.month)} của {name} sau hạn {due:%d/%m/%Y}: "
                     f"{communes - len(rows)}/{communes} xã đã gửi đủ báo cáo; {len(rows)} xã còn thiếu; "
                     f"{late['commune_code'].nunique()} xã gửi trễ."]
            backlog = review_backlog(self.con, province, occ.month)
            if backlog is not None:
                lines.append(f"Báo cáo chờ duyệt: {backlog['waiting']}; bị trả lại chưa gửi lại: {backlog['returned']}.")
            flagged = outliers(self.con, province, occ.month)
            if flagged:
                lines.append(f"Số liệu cần xem lại (vượt quy tắc kiểm tra mềm): {'; '.join(flagged)}.")
            lines.append("Các xã chưa gửi đủ:" if rows else "Tất cả các xã đã gửi đủ báo cáo.")
            subject = f"{PREFIX} Tổng hợp báo cáo {_label(occ.month)} – {name}"

            def letter_for(person: str | None, subject: str = subject, lines: list[str] = lines,
                           rows: list[tuple[str, str, str]] = rows) -> templates.Letter:
                return templates.Letter(subject, _greeting(person), lines, ("Mã xã", "Xã/phường", "Chưa nhận"),
                                        rows, demo=self.demo)

            payload = {"province_code": province, "missing_communes": [r[0] for r in rows]}
            messages += self._addressed(occ, "province", province, province, letter_for, payload)
        return messages

    def _gather(self, province: str, month: dt.date) -> Any:
        """The province's report figures for ``month`` (None without data), once per run."""
        from xkld_geo.reporting import report

        key = (province, f"{month:%Y-%m}")
        if key not in self._gathered:
            try:
                self._gathered[key] = report.gather(self.con, report.parse_period(key[1]), province, self.today,
                                                    self.settings.report_due_day)
            except report.ReportError as exc:
                log.info("no report for %s %s: %s", province, key[1], exc.message)
                self._gathered[key] = None
        return self._gathered[key]

    def _wanted(self, kind: str, province: str) -> bool:
        """Whether anybody would receive a province notice of ``kind`` (else nothing is computed)."""
        staff = subscriptions.people_recipients(self.con, kind, "province", province)
        return bool(staff["email"].notna().any() or subscriptions.user_recipients(self.con, kind, province))

    def _report(self, occ: Occurrence) -> list[Message]:
        from xkld_geo.reporting import document

        messages: list[Message] = []
        for province in self._provinces():
            if not self._wanted("report", province):
                continue
            data = self._gather(province, occ.month)
            if data is None:
                continue
            docx = document.report_docx(data)
            stem = f"bao-cao-{occ.period}-tinh-{province}"
            files = [Attachment(f"{stem}.docx", DOCX, docx)]
            try:
                pdf = document.to_pdf(docx)
            except Exception as exc:  # LibreOffice failed or timed out: the DOCX goes alone, said in the text
                log.warning("PDF of %s failed: %s", stem, exc)
                pdf = None
            if pdf is not None:
                files.append(Attachment(f"{stem}.pdf", "application/pdf", pdf))
            name = data.province_name
            subject = f"{PREFIX} Báo cáo định kỳ {_label(occ.month)} – {name}"
            lines = [f"Gửi kèm báo cáo định kỳ {data.period.label} của {name} về đưa người lao động đi làm việc ở "
                     f"nước ngoài theo hợp đồng ({', '.join(f.file_name for f in files)}).",
                     f"Số người xuất cảnh trong tháng: {data.totals['period']:,}; lũy kế từ đầu năm: "
                     f"{data.totals['ytd']:,}/{data.totals['quota']:,} chỉ tiêu năm.".replace(",", "."),
                     data.window_note + "."]
            if pdf is None:
                lines.append("Bản PDF chưa được tạo (máy chủ không có LibreOffice); bản DOCX đầy đủ nội dung.")

            def letter_for(person: str | None, subject: str = subject, lines: list[str] = lines) -> templates.Letter:
                return templates.Letter(subject, _greeting(person), lines, demo=self.demo)

            messages += self._addressed(occ, "province", province, province, letter_for,
                                        {"province_code": province, "files": [f.file_name for f in files]}, tuple(files))
        return messages

    def _previous_pace(self, province: str, month: dt.date) -> set[str] | None:
        """Communes the last pace notice of ``province`` (for the month before) listed as below."""
        found = db.value(self.con, "notify_previous_pace", """
            SELECT payload FROM outbox WHERE kind = 'pace' AND unit_code = $p AND period = $period
            ORDER BY created_at LIMIT 1""", {"p": province, "period": f"{_shift(month, 1):%Y-%m}"})
        if found is None:
            return None
        return set(json.loads(found).get("below", []))

    def _pace(self, occ: Occurrence) -> list[Message]:
        messages: list[Message] = []
        for province in self._provinces():
            if not self._wanted("pace", province):
                continue
            data = self._gather(province, occ.month)
            if data is None:
                continue
            lag = data.lagging
            below = {str(c) for c in lag["unit_code"]}
            before = self._previous_pace(province, occ.month) or set()
            new = lag[~lag["unit_code"].astype(str).isin(before)]
            if new.empty:
                continue
            name = data.province_name
            rows = [(str(r.unit_code), str(r.unit_name), f"{int(r.ytd):,}".replace(",", "."),
                     f"{int(r.quota):,}".replace(",", "."), f"{float(r.pace_pct):.1f}".replace(".", ","))
                    for r in new.sort_values("pace_pct").itertuples(index=False)]
            subject = f"{PREFIX} {len(rows)} xã dưới {PACE_FLOOR:.0f}% tiến độ – {name}, {_label(occ.month)}"
            lines = [f"Đến hết {_label(occ.month)}, {len(rows)} xã của {name} mới xuống dưới {PACE_FLOOR:.0f}% tiến độ "
                     f"chỉ tiêu năm (tổng số xã dưới {PACE_FLOOR:.0f}%: {len(below)}).",
                     "Tiến độ = số xuất cảnh lũy kế / (chỉ tiêu năm × số tháng đã qua / 12)."]

            def letter_for(person: str | None, subject: str = subject, lines: list[str] = lines,
                           rows: list[tuple[str, str, str, str, str]] = rows) -> templates.Letter:
                return templates.Letter(subject, _greeting(person), lines,
                                        ("Mã xã", "Xã/phường", "Lũy kế", "Chỉ tiêu năm", "% tiến độ"), rows,
                                        ("Danh sách người phụ trách từng xã có trong báo cáo định kỳ và trang "
                                         "Người phụ trách.",), demo=self.demo)

            messages += self._addressed(occ, "province", province, province, letter_for,
                                        {"province_code": province, "below": sorted(below),
                                         "new": [r[0] for r in rows]})
        return messages


def review_backlog(con: duckdb.DuckDBPyConnection, province: str, month: dt.date) -> dict[str, int] | None:
    """Reports of ``province``'s communes for ``month`` waiting for approval and returned to the
    commune (:mod:`xkld_geo.reporting.approval`), for the digest."""
    rows = db.run(con, "notify_review_backlog", """
        SELECT m.state, count(*) AS n FROM commune_months m JOIN v_communes c ON c.commune_code = m.commune_code
        WHERE c.province_code = $p AND m.month = $m AND m.state IN ('submitted', 'returned') GROUP BY 1""",
                  {"p": province, "m": dt.date(month.year, month.month, 1)})
    counts = dict(zip(rows["state"], rows["n"].astype(int)))
    return {"waiting": counts.get("submitted", 0), "returned": counts.get("returned", 0)}


def outliers(con: duckdb.DuckDBPyConnection, province: str, month: dt.date) -> list[str]:
    """Figures of ``province``'s communes for ``month`` that broke a soft rule (the warnings the
    form or an import stored with the commune-month, :mod:`xkld_geo.reporting.rules`), one line
    each ("Xã A (99001): …"), for the digest. Only the province's own communes are listed."""
    rows = db.run(con, "notify_outliers", """
        SELECT m.commune_code, c.commune_name, m.warnings FROM commune_months m
        JOIN v_communes c ON c.commune_code = m.commune_code
        WHERE c.province_code = $p AND m.month = $m AND m.warnings IS NOT NULL AND m.warnings NOT IN ('', '[]')
        ORDER BY 1""", {"p": province, "m": dt.date(month.year, month.month, 1)})
    lines = []
    for r in rows.itertuples(index=False):
        for warning in json.loads(r.warnings or "[]"):
            lines.append(f"{r.commune_name} ({r.commune_code}): {warning}")
    return lines


REVIEW: dict[str, str] = {"approved": "đã được duyệt", "returned": "bị trả lại"}


def notify_review(con: duckdb.DuckDBPyConnection, submitter: str, commune_code: str, month: dt.date, decision: str,
                  comment: str | None, reviewer: str, event_key: str | None = None,
                  now: dt.datetime | None = None) -> str | None:
    """Tell the submitter that their report of ``commune_code`` for ``month`` was approved or
    returned, with the reviewer's comment: one e-mail put in the outbox *in the caller's
    transaction* (call it inside the transaction that records the decision), if the submitter gave
    an address and keeps review notices on. ``event_key`` names the decision (e.g. its row id; the
    default is its time), so each decision notifies once. Returns the message id, or None."""
    queries.check_choice("quyết định", decision, REVIEW)
    queries.check_code("xã", commune_code, 5)
    at = now or dt.datetime.now()
    found = [email for username, email in subscriptions.user_recipients(con, "review") if username == submitter]
    if not found:
        return None
    unit = queries.unit(con, commune_code)
    commune = str(unit["name"].iloc[0]) if len(unit) else commune_code
    period = f"{month:%Y-%m}"
    subject = f"{PREFIX} Báo cáo {_label(month)} của {commune} {REVIEW[decision]}"
    lines = [f"Báo cáo {_label(month)} của {commune} (mã {commune_code}) do đồng chí gửi {REVIEW[decision]} "
             f"({reviewer}, {at:%H:%M %d/%m/%Y})."]
    lines.append(f"Ý kiến: {comment}" if (comment or "").strip() else "Không có ý kiến kèm theo.")
    if decision == "returned":
        lines.append("Đề nghị đồng chí sửa theo ý kiến trên và gửi lại báo cáo.")
    demo = queries.meta(con).get("contains_demo") == "true"
    letter = templates.Letter(subject, "Kính gửi đồng chí,", lines, demo=demo)
    key = f"review:{period}:{commune_code}:{decision}:{event_key or at.isoformat()}:email:{found[0]}"
    return enqueue(con, Message(key, "email", (found[0],), subject, templates.text(letter), "review",
                                f"review:{decision}:{commune_code}:{period}", templates.html(letter), commune_code,
                                period, {"decision": decision, "commune_code": commune_code}), at)


def put(con: duckdb.DuckDBPyConnection, messages: Iterable[Message]) -> int:
    """Put composed messages in the outbox (in the caller's transaction); returns how many were new."""
    return sum(enqueue(con, m) is not None for m in messages)
