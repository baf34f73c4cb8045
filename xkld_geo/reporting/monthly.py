"""The commune's monthly report (page *Báo cáo tháng của xã*): the form, its draft, its submission.

A commune officer fills one form per month: departures by market, sex and priority group (one line
per combination, adding up to the month's total), job-fair attendance and orientation
registrations, loans, returnees, contract breaches, illegal stay and fraud reports. The draft is
kept (``commune_months.form``) until it is submitted; submitting writes the figures through the
import checks and writes (:func:`xkld_geo.intake.ingest.import_form`: the same hard rules, scope
and lock as a file) and marks the month submitted, in one transaction. The province then approves
or returns it (:mod:`xkld_geo.reporting.approval`).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

import duckdb
import pandas as pd

from xkld_geo.access import auth, scope
from xkld_geo.database import db
from xkld_geo.errors import ApprovalError
from xkld_geo.intake import checks
from xkld_geo.reporting import approval, rules
from xkld_geo.settings import Settings

COUNTS: dict[str, str] = {
    "departures_total": "Tổng số người xuất cảnh trong tháng",
    "attendees": "Số người dự sàn giao dịch việc làm",
    "orientation": "Số đăng ký lớp định hướng",
    "loans": "Số khoản vay (NHCSXH)",
    "returnees": "Số người về nước",
    "breaches": "Số vi phạm hợp đồng",
    "illegal_stay": "Số người ở lại trái phép",
    "fraud": "Số phản ánh lừa đảo",
}
"""The form's whole-number fields, in order, with their labels."""
AMOUNT_LABEL = "Số tiền vay (triệu đồng)"


@dataclass
class Line:
    """Departures of one market × sex × priority group × channel (codes)."""

    market: str
    sex: str
    group: str
    channel: str
    count: int


@dataclass
class Form:
    """The figures of one commune-month."""

    lines: list[Line] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=lambda: {k: 0 for k in COUNTS})
    loan_amount: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Form":
        counts = {k: 0 for k in COUNTS}
        counts.update({k: v for k, v in (data.get("counts") or {}).items() if k in COUNTS})
        return cls([Line(**line) for line in data.get("lines") or []], counts, float(data.get("loan_amount") or 0))


@dataclass(frozen=True)
class Choices:
    """Codes → Vietnamese labels for the departure lines."""

    markets: dict[str, str]
    sexes: dict[str, str]
    groups: dict[str, str]
    channels: dict[str, str]


@dataclass(frozen=True)
class FormView:
    """What the page shows: the commune-month, its state, the form, and what the user may do."""

    commune: str
    commune_name: str
    month: dt.date
    state: approval.MonthState | None
    form: Form
    choices: Choices
    editable: bool
    reason: str | None          # why the form cannot be edited (locked, submitted...)
    history: pd.DataFrame

    @property
    def state_label(self) -> str:
        return self.state.label if self.state else "Chưa lập"


def choices(con: duckdb.DuckDBPyConnection) -> Choices:
    """The markets, sexes, priority groups and channels a line may name."""
    ref = {name: db.run(con, f"monthly_{name}", sql) for name, sql in (
        ("markets", "SELECT code, name_vi FROM markets ORDER BY (code NOT IN ('JP', 'TW', 'KR')), name_vi"),
        ("channels", "SELECT code, name_vi FROM channels ORDER BY code"),
        ("groups", "SELECT code, name_vi FROM priority_groups ORDER BY (code = 'khac') DESC, code"))}
    as_dict = {k: dict(zip(v["code"], v["name_vi"])) for k, v in ref.items()}
    return Choices(as_dict["markets"], {"nam": "Nam", "nu": "Nữ"}, as_dict["groups"], as_dict["channels"])


def communes_for(con: duckdb.DuckDBPyConnection, user: auth.User) -> pd.DataFrame:
    """The communes whose form ``user`` may fill (code, name): its own, or those of its scope."""
    df = db.run(con, "monthly_communes", """
        SELECT commune_code, commune_name, province_code FROM v_communes ORDER BY province_code, commune_name""")
    return scope.visible_communes(con, user, df).reset_index(drop=True)


def problems(form: Form) -> list[str]:
    """Hard rules across the form's fields (:data:`rules.PARTS` and the departure lines)."""
    found = []
    for key, label in COUNTS.items():
        value = form.counts.get(key, 0)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            found.append(f"{label}: cần số nguyên ≥ 0.")
    if form.loan_amount < 0:
        found.append(f"{AMOUNT_LABEL}: cần số ≥ 0.")
    total = form.counts.get("departures_total", 0)
    lines = sum(line.count for line in form.lines)
    if any(line.count < 0 for line in form.lines):
        found.append("Dòng xuất cảnh: số người cần là số nguyên ≥ 0.")
    if lines != total:
        found.append(f"Các dòng xuất cảnh cộng lại {lines} người, khác tổng số người xuất cảnh {total} của tháng "
                     "(từng phần không vượt tổng, và cộng lại bằng tổng).")
    parts = {"illegal_stay": form.counts["illegal_stay"], "breaches_all": form.counts["breaches"] + form.counts["illegal_stay"],
             "loans_with_amount": 1 if form.loan_amount > 0 else 0, "loans": form.counts["loans"]}
    for part, whole, text in rules.PARTS:
        if parts[part] > parts[whole]:
            found.append(text + ".")
    return found


def warnings(con: duckdb.DuckDBPyConnection, commune: str, month: dt.date, form: Form) -> list[str]:
    """Soft-rule warnings of the form's figures against the commune's last 12 months."""
    figures: dict[str, float] = {k: v for k, v in form.counts.items() if k in rules.MEASURES}
    figures["breaches"] = form.counts["breaches"] + form.counts["illegal_stay"]
    return rules.warnings(con, commune, approval.month_start(month), figures)


def build_form_view(con: duckdb.DuckDBPyConnection, user: auth.User, commune: str, month: dt.date,
                    today: dt.date) -> FormView:
    """The form of one commune-month for ``user`` (refused outside its scope: the page shows the reason)."""
    scope.require_write(con, user, commune, "xem hoặc lập báo cáo tháng của xã này")
    month = approval.month_start(month)
    if month > dt.date(today.year, today.month, 1):
        raise ApprovalError(f"Tháng {month:%m/%Y} chưa tới; chỉ báo cáo tháng đã qua hoặc tháng hiện tại.",
                            field="month", value=f"{month:%Y-%m}")
    found = approval.state(con, month, commune)
    form = Form.from_dict(found.form) if found and found.form else Form()
    name = db.value(con, "monthly_commune_name", "SELECT commune_name FROM v_communes WHERE commune_code = $c",
                    {"c": commune}) or commune
    reason = None
    if found and found.state == "approved":
        reason = (f"Tháng {month:%m/%Y} đã được phê duyệt (bởi {found.approved_by}); số liệu đã khóa. Muốn sửa, cán "
                  "bộ cấp trên phải hủy phê duyệt kèm lý do.")
    elif not auth.allowed(user, "report_monthly"):
        reason = f"Tài khoản {user.username} ({auth.ROLES[user.role]}) chỉ xem, không lập báo cáo tháng."
    return FormView(commune, str(name), month, found, form, choices(con), reason is None, reason,
                    approval.history(con, month, commune))


def save_draft(con: duckdb.DuckDBPyConnection, user: auth.User, commune: str, month: dt.date, form: Form,
               comment: str | None = None) -> approval.Event:
    """Keep the form as a draft (nothing counts yet)."""
    return approval.save_draft(con, user, month, commune, form.to_dict(), comment)


def _frames(commune: str, month: dt.date, form: Form, c: Choices) -> list[tuple[str, pd.DataFrame]]:
    """The form's figures as the cells of the three import templates it feeds."""
    when = f"{month:%m/%Y}"
    lines = [{"thang": when, "ma_xa": commune, "thi_truong": c.markets.get(x.market, x.market),
              "gioi_tinh": c.sexes.get(x.sex, x.sex), "kenh": c.channels.get(x.channel, x.channel),
              "nhom_uu_tien": "" if x.group == "khac" else c.groups.get(x.group, x.group), "so_nguoi": str(x.count)}
             for x in form.lines if x.count > 0]
    if not lines:   # nobody left this month: one empty line, so the month's stored departures are cleared
        first = next(iter(c.markets)), "Nam", next(iter(c.channels.values()))
        lines = [{"thang": when, "ma_xa": commune, "thi_truong": c.markets[first[0]], "gioi_tinh": first[1],
                  "kenh": first[2], "nhom_uu_tien": "", "so_nguoi": "0"}]
    total = {"thang": when, "ma_xa": commune, "thi_truong": "Tổng", "gioi_tinh": "", "kenh": "", "nhom_uu_tien": "",
             "so_nguoi": str(form.counts["departures_total"])}
    n = form.counts
    return [
        ("departures", pd.DataFrame(lines + [total], dtype=str)),
        ("job_fairs", pd.DataFrame([{"thang": when, "ma_xa": commune, "so_nguoi_tham_du": str(n["attendees"]),
                                     "so_dang_ky_dinh_huong": str(n["orientation"])}], dtype=str)),
        ("loans", pd.DataFrame([{"thang": when, "ma_xa": commune, "so_khoan_vay": str(n["loans"]),
                                 "so_tien_vay": f"{form.loan_amount:g}", "ve_nuoc": str(n["returnees"]),
                                 "vi_pham": str(n["breaches"] + n["illegal_stay"]), "lua_dao": str(n["fraud"])}],
                               dtype=str)),
    ]


def submit(con: duckdb.DuckDBPyConnection, user: auth.User, commune: str, month: dt.date, form: Form,
           comment: str | None, settings: Settings, today: dt.date) -> approval.Event:
    """Submit the month: hard rules refuse (nothing written); soft-rule outliers need ``comment``;
    the figures are written like an import and the month is marked submitted, in one transaction."""
    from xkld_geo.intake import ingest

    month = approval.month_start(month)
    approval.check_open(con, month, commune)
    if not auth.allowed(user, "report_monthly"):
        raise ApprovalError(f"Tài khoản {user.username} ({auth.ROLES[user.role]}) không có quyền lập báo cáo tháng.",
                            field="role", value=user.role)
    scope.require_write(con, user, commune, "gửi báo cáo tháng của xã này")
    found = problems(form)
    if found:
        raise ApprovalError(" ".join(found), field="form", problems=found, reason="hard_rule")
    flagged = warnings(con, commune, month, form)
    if flagged and not (comment or "").strip():
        raise ApprovalError("Số liệu bất thường so với 12 tháng trước của xã: " + " ".join(flagged)
                            + " Hãy ghi chú xác nhận số liệu trước khi gửi.", field="comment", warnings=flagged,
                            reason="comment_required")
    events: list[approval.Event] = []
    now = dt.datetime.now()
    ingest.import_form(con, _frames(commune, month, form, choices(con)), f"Báo cáo tháng {month:%m/%Y} xã {commune}",
                       user, settings, today,
                       then=lambda c: events.append(approval.submitted_in(c, user, month, commune, form.to_dict(),
                                                                          flagged, comment, now)))
    return events[0]


COUNT_MAX = checks.COUNT_MAX
