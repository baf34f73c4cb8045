"""Year-end emulation classification (thi đua): weighted criteria, a score, a level per unit.

Four criteria per commune (attainment of the yearly quota, share of months meeting the job-fair
rule, share of monthly reports on time, share of priority groups among departures) give points
``weight × min(value / target, 1)``; the score (0–100) sets the level by thresholds. Criteria are
saved with an audit line; an approved classification is frozen in ``classifications`` and never
overwritten. History before the July 2025 reform (through the crosswalk) is not built.
"""
from __future__ import annotations

import datetime as dt
import io
import json
from dataclasses import asdict, dataclass, field

import duckdb
import pandas as pd

from xkld_geo.access import auth
from xkld_geo.database import db
from xkld_geo.errors import QueryError
from xkld_geo.figures import metrics, periods, queries
from xkld_geo.reporting import approval, completeness
from xkld_geo.text import sheets
from xkld_geo.views import jobfairs

# --- criteria, scoring, freezing ------------------------------------------------------------------



REFORM = dt.date(2025, 7, 1)
"""Communes before this day were the units of the time (see :mod:`xkld_geo.warehouse.history`)."""

LEVELS = ("Hoàn thành xuất sắc nhiệm vụ", "Hoàn thành tốt nhiệm vụ", "Hoàn thành nhiệm vụ",
          "Không hoàn thành nhiệm vụ")
CRITERIA_LABELS = {"attainment": "Đạt chỉ tiêu năm", "jobfair": "Số tháng đạt chỉ tiêu dự sàn",
                   "on_time": "Báo cáo đúng hạn", "priority": "Tỷ lệ đối tượng ưu tiên"}


@dataclass(frozen=True)
class Criteria:
    """Weights (sum 100), targets (% at which a criterion gives full points) and level thresholds."""

    weights: dict[str, float] = field(default_factory=lambda: {"attainment": 50, "jobfair": 20, "on_time": 15,
                                                                "priority": 15})
    targets: dict[str, float] = field(default_factory=lambda: {"attainment": 100, "jobfair": 100, "on_time": 100,
                                                                "priority": 30})
    thresholds: tuple[float, float, float] = (90.0, 75.0, 50.0)   # xuất sắc, tốt, hoàn thành
    excellent_needs_quota: bool = True       # xuất sắc only with the quota met (≥ 100%)

    def check(self) -> None:
        """Refuse weights that do not cover the four criteria or do not add up to 100."""
        if set(self.weights) != set(CRITERIA_LABELS) or abs(sum(self.weights.values()) - 100) > 1e-6 \
                or any(w < 0 for w in self.weights.values()):
            raise QueryError("Trọng số phải gồm đủ 4 tiêu chí, không âm, tổng bằng 100.", field="weights",
                             value=self.weights)
        if any(t <= 0 for t in self.targets.values()) or not (self.thresholds[0] >= self.thresholds[1] >= self.thresholds[2]):
            raise QueryError("Mức đạt phải dương và ngưỡng xếp loại giảm dần (xuất sắc ≥ tốt ≥ hoàn thành).",
                             field="thresholds", value=self.thresholds)


def classify(units: pd.DataFrame, c: Criteria) -> pd.DataFrame:
    """Score and level of each unit; ``units`` has unit_code, unit_name and one % column per criterion
    (NaN counts as 0). Points of a criterion = weight × min(value / target, 1)."""
    c.check()
    out = units[["unit_code", "unit_name"]].copy()
    for key in CRITERIA_LABELS:
        value = units[key].astype(float).fillna(0.0)
        out[f"{key}_value"] = value.round(1)
        out[f"{key}_points"] = (c.weights[key] * (value / c.targets[key]).clip(upper=1.0)).round(2)
    out["score"] = out[[f"{k}_points" for k in CRITERIA_LABELS]].sum(axis=1).round(1)
    hi, mid, low = c.thresholds
    # the quota rule reads the attainment itself, not its rounding (99,96% has not met the quota)
    out["quota_met"] = units["attainment"].astype(float).fillna(0.0).to_numpy() >= 100

    def level(row: pd.Series) -> str:
        if row["score"] >= hi and (not c.excellent_needs_quota or row["quota_met"]):
            return LEVELS[0]
        return LEVELS[1] if row["score"] >= mid else LEVELS[2] if row["score"] >= low else LEVELS[3]
    out["level"] = out.apply(level, axis=1)
    out["reason"] = out.apply(lambda r: reason(r, c), axis=1)
    out["explanation"] = out.apply(lambda r: _explain(r, c), axis=1)
    out = out.drop(columns="quota_met")
    out = out.sort_values(["score", "unit_code"], ascending=[False, True]).reset_index(drop=True)
    out.attrs["approved_only"] = bool(units.attrs.get("approved_only", True))   # approve() reads it
    return out


def _num(value: float) -> str:
    return f"{value:g}".replace(".", ",")


def reason(row: pd.Series, c: Criteria) -> str:
    """Why a unit has its level, short enough to be read in the table: the score's band and, for a
    score of the excellent band without the year's quota met, that rule (so 96,6 points can be
    'tốt' beside 95,5 points 'xuất sắc')."""
    hi, mid, low = c.thresholds
    score = float(row["score"])
    if score >= hi:
        if row["level"] == LEVELS[0]:
            return f"Từ {_num(hi)} điểm" + (" và đạt 100% chỉ tiêu năm" if c.excellent_needs_quota else "")
        return (f"Từ {_num(hi)} điểm nhưng chưa đạt 100% chỉ tiêu năm "
                f"({metrics.fmt_decimal(float(row['attainment_value']))}%): xếp hoàn thành tốt")
    if score >= mid:
        return f"Từ {_num(mid)} đến dưới {_num(hi)} điểm"
    if score >= low:
        return f"Từ {_num(low)} đến dưới {_num(mid)} điểm"
    return f"Dưới {_num(low)} điểm"


def final_on(year: int, due_day: int = jobfairs.DUE_DAY) -> dt.date:
    """The day a year's classification can be final: when the year's last monthly report (December's)
    is due. Before it the result is provisional and cannot be approved."""
    return periods.due_date(int(year), 12, due_day)


def provisional_note(year: int, today: dt.date, due_day: int = jobfairs.DUE_DAY) -> str | None:
    """The warning shown with a classification that is not final yet (None once it can be)."""
    final = final_on(year, due_day)
    if today >= final:
        return None
    return (f"Kết quả tạm tính: năm {year} chưa kết thúc kỳ báo cáo (báo cáo tháng 12/{year} đến hạn ngày "
            f"{final:%d/%m/%Y}); chưa phê duyệt được.")


def _explain(row: pd.Series, c: Criteria) -> str:
    parts = ", ".join(f"{CRITERIA_LABELS[k].lower()} {row[f'{k}_value']:.1f}% ({row[f'{k}_points']:.1f}/"
                      f"{c.weights[k]:.0f} điểm)".replace(".", ",") for k in CRITERIA_LABELS)
    text = f"{row['unit_name']}: {row['score']:.1f} điểm".replace(".", ",") + f" ({parts}) → {row['level'].lower()}"
    if row["score"] >= c.thresholds[0] and row["level"] != LEVELS[0]:
        text += "; chưa xếp xuất sắc vì chưa đạt 100% chỉ tiêu năm"
    return text + "."


def inputs(con: duckdb.DuckDBPyConnection, year: int, province: str, today: dt.date, due_day: int,
           approved_only: bool = True) -> pd.DataFrame:
    """The four criteria per commune of ``province`` for ``year`` (to the last month reported by today).

    Departures count only where approved (``approved_only``, the year-end rule): a commune-month
    received but not approved yet is left out (:func:`approval.counted_departures`)."""
    month = last_month(year, today)
    rows = queries.period_attainment(con, year, month, "commune", province)
    ytd = rows["ytd"]
    if approved_only:
        counted = approval.counted_departures(con, year, 1, month, province).groupby("commune_code")["departures"].sum()
        ytd = rows["unit_code"].map(counted).fillna(0)
    out = pd.DataFrame({"unit_code": rows["unit_code"], "unit_name": rows["unit_name"],
                        "attainment": (100.0 * ytd / rows["quota"].where(rows["quota"] > 0))})
    fairs = jobfairs.compliance(jobfairs.monthly(con, year, month, province, today, due_day)).set_index("unit_code")
    out["jobfair"] = out["unit_code"].map(fairs["pct"])
    table = completeness.cells(con, dt.date(year, 1, 1), dt.date(year, month, 1), today, due_day, province)
    out["on_time"] = out["unit_code"].map(completeness.by_unit(table, "commune").set_index("unit_code")["on_time_pct"])
    prio = db.run(con, "emulation_priority", """
        SELECT d.commune_code, 100.0 * SUM(d.departures) FILTER (WHERE g.is_priority) / NULLIF(SUM(d.departures), 0) AS pct
        FROM departures d JOIN priority_groups g ON g.code = d.priority_group
        JOIN v_communes c ON c.commune_code = d.commune_code
        WHERE c.province_code = $p AND year(d.month) = $y
          AND (NOT $approved OR NOT EXISTS (SELECT 1 FROM commune_months s WHERE s.month = d.month
                                            AND s.commune_code = d.commune_code AND s.state <> 'approved'))
        GROUP BY ALL""", {"p": province, "y": int(year), "approved": approved_only})
    out["priority"] = out["unit_code"].map(prio.set_index("commune_code")["pct"])
    out.attrs["approved_only"] = approved_only   # the classification carries which figures it counted
    return out


def last_month(year: int, today: dt.date) -> int:
    """The last month of ``year`` the classification counts by ``today``."""
    return 12 if year < today.year else max(1, today.month - 1)


def figures_note(con: duckdb.DuckDBPyConnection, year: int, province: str, today: dt.date,
                 approved_only: bool = True) -> str:
    """Which figures the classification counted and how many of the year's commune-months are
    not approved yet (:func:`approval.figures_note`)."""
    counts = approval.received_counts(con, year, 1, last_month(year, today), province)
    return approval.figures_note(counts, approved_only)


def history(con: duckdb.DuckDBPyConnection, province: str, years: range, today: dt.date, due_day: int,
            c: Criteria) -> pd.DataFrame:
    """Each commune's level year by year: the approved (frozen) result where there is one, else the
    score on today's criteria. Years before the 1 July 2025 reform are read through the crosswalk:
    their figures were carried onto today's communes, and the column "Gồm xã cũ" names the units of
    the time each commune came from."""
    rows: list[pd.DataFrame] = []
    for year in years:
        frozen = approved(con, year, province)
        result = frozen if len(frozen) else classify(inputs(con, year, province, today, due_day), c)
        rows.append(result[["unit_code", "unit_name", "level", "score"]].assign(year=year))
    if not rows:
        return pd.DataFrame(columns=["unit_code", "unit_name"])
    long = pd.concat(rows, ignore_index=True)
    long["shown"] = [f"{lvl} ({score:.1f})".replace(".", ",") for lvl, score in zip(long["level"], long["score"])]
    table = long.pivot(index=["unit_code", "unit_name"], columns="year", values="shown").reset_index()
    table.columns = [str(col) for col in table.columns]
    if min(years) < REFORM.year + 1 and queries.has_history(con):
        origin = queries.origins(con, province).set_index("unit_code")["origin"]
        table.insert(2, "Gồm xã cũ (trước 1/7/2025)", table["unit_code"].map(origin))
    return table


def current_criteria(con: duckdb.DuckDBPyConnection) -> Criteria:
    """The newest saved criteria, or the defaults."""
    rows = db.run(con, "emulation_criteria", "SELECT criteria FROM classification_criteria ORDER BY at_time DESC LIMIT 1")
    if rows.empty:
        return Criteria()
    d = json.loads(rows["criteria"].iloc[0])
    return Criteria(d["weights"], d["targets"], tuple(d["thresholds"]), d["excellent_needs_quota"])


def save_criteria(con: duckdb.DuckDBPyConnection, user: auth.User, c: Criteria) -> None:
    """Store new criteria (planners and administrators), audited with the old and new values."""
    if not auth.allowed(user, "plan_quotas"):
        raise QueryError("Chỉ cán bộ kế hoạch và quản trị viên sửa được tiêu chí thi đua.", field="role", value=user.role)
    c.check()
    old, new, now = json.dumps(asdict(current_criteria(con))), json.dumps(asdict(c)), dt.datetime.now()
    with db.transaction(con):
        db.execute(con, "emulation_save_criteria", "INSERT INTO classification_criteria VALUES ($at, $u, $c)",
                   {"at": now, "u": user.username, "c": new})
        auth.audit(con, user.username, "emulation_criteria", None, f"trước: {old} | sau: {new}", now=now)


def approved(con: duckdb.DuckDBPyConnection, year: int, province: str) -> pd.DataFrame:
    """The frozen classification of ``year`` for ``province`` (empty when not approved)."""
    return db.run(con, "emulation_approved", """SELECT * FROM classifications WHERE year = $y AND province_code = $p
                   ORDER BY score DESC, unit_code""", {"y": int(year), "p": province})


def approve(con: duckdb.DuckDBPyConnection, user: auth.User, year: int, province: str, result: pd.DataFrame,
            c: Criteria, today: dt.date | None = None, due_day: int = jobfairs.DUE_DAY) -> None:
    """Freeze a classification (administrators); an approved year is never overwritten, a year
    is not approved before its last monthly report is due (:func:`final_on`; ``today`` defaults to
    the clock), and a classification that counted figures not approved yet
    (``inputs(..., approved_only=False)``) is refused: the official result counts approved ones."""
    if not auth.allowed(user, "approve_plans"):
        raise QueryError("Chỉ quản trị viên phê duyệt được kết quả thi đua.", field="role", value=user.role)
    note = provisional_note(year, today or dt.date.today(), due_day)
    if note is not None:
        raise QueryError(note, field="year", value=year, allowed=[f"từ {final_on(year, due_day):%d/%m/%Y}"])
    if not approved(con, year, province).empty:
        raise QueryError(f"Kết quả thi đua năm {year} đã được phê duyệt và không sửa được.", field="year", value=year)
    if not result.attrs.get("approved_only", True):
        raise QueryError("Kết quả thi đua chính thức chỉ tính số liệu đã được phê duyệt; kết quả này gồm cả số liệu "
                         "chưa duyệt nên không phê duyệt được.", field="figures", value="received",
                         allowed=["approved"])
    now = dt.datetime.now()
    with db.transaction(con):
        for r in result.itertuples(index=False):
            breakdown = {k: {"value": getattr(r, f"{k}_value"), "points": getattr(r, f"{k}_points")} for k in CRITERIA_LABELS}
            db.execute(con, "emulation_freeze", """INSERT INTO classifications VALUES ($y, $p, $code, $name, $score,
                       $level, $b, $e, $c, $at, $u)""", {"y": int(year), "p": province, "code": r.unit_code,
                       "name": r.unit_name, "score": float(r.score), "level": r.level, "b": json.dumps(breakdown),
                       "e": r.explanation, "c": json.dumps(asdict(c)), "at": now, "u": user.username})
        auth.audit(con, user.username, "emulation_approve", f"{year}:{province}", f"{len(result)} đơn vị", now=now)


def proposal(result: pd.DataFrame) -> pd.DataFrame:
    """The commendation proposal: units classified excellent or good, best first."""
    keep = result[result["level"].isin(LEVELS[:2])]
    return pd.DataFrame({"STT": range(1, len(keep) + 1), "Đơn vị": keep["unit_name"].to_numpy(),
                         "Điểm": keep["score"].to_numpy(), "Xếp loại": keep["level"].to_numpy(),
                         "Hình thức đề nghị": ["Bằng khen" if lv == LEVELS[0] else "Giấy khen" for lv in keep["level"]],
                         "Lý do": keep["explanation"].to_numpy()})


def proposal_xlsx(table: pd.DataFrame, title: str) -> bytes:
    """The proposal list as XLSX (a title line above the table); unit names and reasons are text,
    never formulas (:mod:`xkld_geo.text.sheets`)."""
    buffer = io.BytesIO()
    with sheets.workbook(buffer) as book:
        sheet = sheets.add_sheet(book, "De nghi khen thuong")
        sheets.write(sheet, 0, 0, title)
        sheets.write_frame(sheet, table, start_row=2)
    return buffer.getvalue()


def proposal_docx(table: pd.DataFrame, title: str) -> bytes:
    """The proposal list as DOCX (Times New Roman, A4)."""
    from docx import Document
    from docx.shared import Mm, Pt

    doc = Document()
    doc.styles["Normal"].font.name, doc.styles["Normal"].font.size = "Times New Roman", Pt(13)
    s = doc.sections[0]
    s.page_width, s.page_height, s.left_margin, s.right_margin = Mm(210), Mm(297), Mm(32), Mm(17)
    doc.add_paragraph("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM\nĐộc lập - Tự do - Hạnh phúc")
    doc.add_paragraph(title).runs[0].bold = True
    grid = doc.add_table(rows=1, cols=len(table.columns))
    grid.style = "Table Grid"
    for cell, name in zip(grid.rows[0].cells, table.columns):
        cell.text = str(name)
    for row in table.itertuples(index=False):
        for cell, value in zip(grid.add_row().cells, row):
            cell.text = str(value).replace(".", ",") if isinstance(value, float) else str(value)
    buffer = io.BytesIO()
    doc.save(buffer)
    return buffer.getvalue()
