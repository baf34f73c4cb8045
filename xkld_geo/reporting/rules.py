"""Validation rules of a commune's monthly figures, declared once for the form and every import.

**Hard rules** refuse. The cell rules (whole numbers ≥ 0, a month that exists and is not in the
future, a commune that exists) are those of :mod:`xkld_geo.intake.checks`: the monthly form writes
its figures through the same import checks (:func:`xkld_geo.intake.ingest.import_form`), so one
declaration serves both. The rules across fields are declared here (:data:`PARTS`): a part never
exceeds its total, and the departure lines add up to the month's total (as an import's "Tổng" row
must, :func:`xkld_geo.intake.writes.plan`).

**Soft rules** ask: a figure far from the commune's own last 12 months (a modified z-score above
:data:`Z_LIMIT`, or more than :data:`RATIO_LIMIT` times its median) needs a confirming comment on
the form; an import's outliers are recorded on the commune-month for the reviewer to see.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd

from xkld_geo.database import db

Z_LIMIT = 3.5
RATIO_LIMIT = 3.0
MIN_HISTORY = 3
"""Months of history a soft rule needs before it judges (fewer: no warning)."""


@dataclass(frozen=True)
class Measure:
    """A monthly figure that soft rules watch: its label and where its history is stored."""

    key: str
    label: str
    table: str
    column: str


MEASURES: dict[str, Measure] = {m.key: m for m in (
    Measure("departures_total", "Tổng số người xuất cảnh", "departures", "departures"),
    Measure("attendees", "Số người dự sàn giao dịch việc làm", "job_fair_attendance", "attendees"),
    Measure("orientation", "Số đăng ký lớp định hướng", "job_fair_attendance", "orientation_registrations"),
    Measure("loans", "Số khoản vay", "programme_monthly", "loans"),
    Measure("returnees", "Số người về nước", "programme_monthly", "returnees"),
    Measure("breaches", "Vi phạm hợp đồng, ở lại trái phép", "programme_monthly", "breaches"),
    Measure("fraud", "Phản ánh lừa đảo", "programme_monthly", "fraud_reports"),
)}
MEASURE_OF_KIND = {"departures": "departures_total", "register": "departures_total", "job_fairs": "attendees",
                   "loans": "loans"}
"""The figure of an import kind whose outliers are recorded for the reviewer."""

PARTS: tuple[tuple[str, str, str], ...] = (
    ("illegal_stay", "breaches_all", "Số người ở lại trái phép không vượt tổng số vi phạm (vi phạm hợp đồng + ở lại "
                                     "trái phép)"),
    ("loans_with_amount", "loans", "Có số tiền vay thì phải có số khoản vay"),
)
"""(part, total, rule text): hard rules across the form's fields, besides the departure lines."""

HISTORY_SQL = {
    "departures": """
        SELECT commune_code, month, sum(departures) AS v FROM departures
        WHERE list_contains($codes, commune_code) AND month >= $first AND month < $last GROUP BY ALL""",
    "job_fair_attendance": """
        SELECT commune_code, month, attendees, orientation_registrations FROM job_fair_attendance
        WHERE list_contains($codes, commune_code) AND month >= $first AND month < $last""",
    "programme_monthly": """
        SELECT commune_code, month, loans, returnees, breaches, fraud_reports FROM programme_monthly
        WHERE list_contains($codes, commune_code) AND month >= $first AND month < $last""",
}


def outlier(history: list[float] | np.ndarray, value: float) -> str | None:
    """Why ``value`` is unusual against ``history`` (the commune's last 12 months), or None."""
    past = np.asarray([v for v in history if v is not None and not pd.isna(v)], dtype=float)
    if len(past) < MIN_HISTORY:
        return None
    median = float(np.median(past))
    mad = float(np.median(np.abs(past - median)))
    if mad > 0:
        z = 0.6745 * (value - median) / mad
        if z > Z_LIMIT:
            return f"điểm z hiệu chỉnh {z:.1f} > {Z_LIMIT:g}".replace(".", ",")
    if median > 0 and value > RATIO_LIMIT * median:
        return f"gấp {value / median:.1f} lần trung vị {median:g} của 12 tháng trước".replace(".", ",")
    return None


def _months_before(month: dt.date) -> tuple[dt.date, dt.date]:
    first = dt.date(month.year - 1, month.month, 1)
    return first, month


def history(con: duckdb.DuckDBPyConnection, communes: list[str], month: dt.date, measure: str) -> pd.DataFrame:
    """Monthly values of a measure for ``communes`` over the 12 months before ``month``: one row per
    commune and month (departures: months without a row are 0)."""
    m = MEASURES[measure]
    first, last = _months_before(month)
    df = db.run(con, f"rules_history_{m.table}", HISTORY_SQL[m.table], {"codes": communes, "first": first,
                                                                        "last": last})
    column = "v" if m.table == "departures" else m.column
    out = df[["commune_code", "month", column]].rename(columns={column: "value"})
    if m.table == "departures":
        months = pd.date_range(first, last, freq="MS", inclusive="left")
        grid = pd.MultiIndex.from_product([communes, months], names=["commune_code", "month"])
        out["month"] = pd.to_datetime(out["month"])
        out = out.set_index(["commune_code", "month"]).reindex(grid, fill_value=0).reset_index()
    return out


def warnings(con: duckdb.DuckDBPyConnection, commune: str, month: dt.date, figures: dict[str, float]) -> list[str]:
    """Soft-rule warnings of one commune-month's figures (Vietnamese sentences)."""
    found = []
    for key, value in figures.items():
        if key not in MEASURES or value is None:
            continue
        past = history(con, [commune], month, key)["value"].tolist()
        why = outlier(past, float(value))
        if why:
            found.append(f"{MEASURES[key].label} = {value:g}: bất thường so với 12 tháng trước của xã ({why}).")
    return found


def import_warnings(con: duckdb.DuckDBPyConnection, kind: str, totals: pd.DataFrame) -> dict[tuple[dt.date, str], list[str]]:
    """Soft-rule warnings of an import: ``totals`` has month, commune_code, value (the kind's
    measure per commune-month); one query per month imported, not per commune."""
    measure = MEASURE_OF_KIND.get(kind)
    out: dict[tuple[dt.date, str], list[str]] = {}
    if measure is None or totals.empty:
        return out
    for month, part in totals.groupby("month"):
        past = history(con, sorted(set(part["commune_code"])), month, measure)
        by_commune = {c: g["value"].tolist() for c, g in past.groupby("commune_code")}
        for commune, value in zip(part["commune_code"], part["value"]):
            why = outlier(by_commune.get(commune, []), float(value))
            if why:
                out[(month, commune)] = [f"{MEASURES[measure].label} = {value:g}: bất thường so với 12 tháng trước "
                                         f"của xã ({why})."]
    return out


def stored_values(con: duckdb.DuckDBPyConnection, kind: str, cells: pd.DataFrame) -> pd.DataFrame:
    """The stored value of an import kind's measure for commune-months ``cells`` (month,
    commune_code): month, commune_code, value (departures: 0 where nothing is stored)."""
    measure = MEASURE_OF_KIND.get(kind)
    if measure is None or cells.empty:
        return pd.DataFrame(columns=["month", "commune_code", "value"])
    m = MEASURES[measure]
    months = sorted(set(cells["month"]))
    df = db.run(
        con, f"rules_stored_{m.table}", HISTORY_SQL[m.table],
        {"codes": sorted(set(cells["commune_code"])), "first": months[0],
         "last": dt.date(months[-1].year + months[-1].month // 12, months[-1].month % 12 + 1, 1)})
    column = "v" if m.table == "departures" else m.column
    df = df.rename(columns={column: "value"})[["commune_code", "month", "value"]]
    df["month"] = pd.to_datetime(df["month"]).dt.date
    out = cells[["month", "commune_code"]].drop_duplicates().merge(df, on=["month", "commune_code"], how="left")
    return out.fillna({"value": 0}) if m.table == "departures" else out.dropna()
