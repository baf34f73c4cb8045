"""Job fairs: did each commune send at least 4 people a month to the provincial job fair?

Compliance = months that met the target / months counted in the period. The period runs from
January of the chosen year to the chosen month ("lũy kế đến tháng"), and counts only months whose
report was due by today (the 5th of the next month by default), so November is not "missed" on
1 December. Every month of the period counts for every commune: a month a commune did not
report is a missed month (0 attendees), and a commune with no report at all still appears (0 of N).
A commune that missed two consecutive calendar months is listed for follow-up.

The directive's full wording is "ít nhất 4 người/xã/tháng tham dự sàn giao dịch **và đăng ký học
định hướng**": a month meets it in full (``met_full``) when at least 4 people attended AND at
least 4 registered for the orientation class. ``met`` (attendance alone) is kept beside it, since
reports, emulation scores and tests read it.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Sequence

import duckdb
import numpy as np
import pandas as pd

from xkld_geo import maps
from xkld_geo.database import cache, db
from xkld_geo.figures import metrics, periods, queries
from xkld_geo.views import units

TARGET = 4
"""The directive: at least four people a month from every commune."""
DUE_DAY = 5
"""Default day of the next month by which the monthly report is due (setting ``report_due_day``)."""

COMPLIANCE_COLUMNS = ["unit_code", "unit_name", "met", "elapsed", "pct", "attendees", "registrations",
                      "missed_two", "reported", "met_full", "pct_full"]


def months_met_full(attendance: Sequence[int], registrations: Sequence[int],
                    target: int = TARGET) -> int:
    """Months with at least ``target`` attendees and at least ``target`` orientation registrations."""
    return sum(1 for a, r in zip(attendance, registrations) if a >= target and r >= target)


def months_met(attendance: Sequence[int], target: int = TARGET) -> tuple[int, int]:
    """(months with at least ``target`` attendees, months counted)."""
    return sum(1 for a in attendance if a >= target), len(attendance)


def missed_two_in_a_row(attendance: Sequence[int], target: int = TARGET) -> bool:
    """Whether two consecutive months both fell short of ``target`` (one value per calendar month)."""
    return any(a < target and b < target for a, b in zip(attendance, attendance[1:]))


def last_month(year: int, month: int, today: dt.date | None = None,
               due_day: int = DUE_DAY) -> int:
    """The last month of the period January..``month`` of ``year``, as the page defines it.

    With ``today`` given, the period stops at the last month whose report was due by today (the
    ``due_day`` of the next month), so a month whose report may still come is never counted as
    missed; it is empty (0) when no report of the year is due yet.
    """
    queries.check_choice("tháng", int(month), range(1, 13))
    if today is None:
        return int(month)
    return periods.last_due_month(int(year), int(month), today, due_day)


def monthly(con: duckdb.DuckDBPyConnection, year: int, month: int, province: str,
            today: dt.date | None = None, due_day: int = DUE_DAY) -> pd.DataFrame:
    """One row per commune of ``province`` and month of the period, reported or not.

    Columns: unit_code, unit_name, m, attendees, orientation_registrations (0 where the commune sent
    no report for the month) and reported (whether it did).
    """
    queries.check_code("tỉnh", province, 2)
    last = last_month(year, month, today, due_day)
    return db.run(con, "jobfair_monthly", """
        WITH units AS (
            SELECT commune_code, commune_name FROM v_communes WHERE province_code = $province
        ), months AS (
            SELECT CAST(m AS INTEGER) AS m FROM range(1, $last + 1) t(m)
        ), att AS (
            SELECT j.commune_code, CAST(month(j.month) AS INTEGER) AS m,
                   CAST(SUM(j.attendees) AS BIGINT) AS attendees,
                   CAST(SUM(j.orientation_registrations) AS BIGINT) AS registrations
            FROM job_fair_attendance j JOIN units u ON u.commune_code = j.commune_code
            WHERE j.month >= make_date($year, 1, 1) AND j.month < make_date($year + 1, 1, 1)
              AND month(j.month) <= $last
            GROUP BY ALL
        )
        SELECT u.commune_code AS unit_code, u.commune_name AS unit_name, months.m,
               COALESCE(a.attendees, 0) AS attendees, COALESCE(a.registrations, 0) AS orientation_registrations,
               a.commune_code IS NOT NULL AS reported
        FROM units u CROSS JOIN months
        LEFT JOIN att a ON a.commune_code = u.commune_code AND a.m = months.m
        ORDER BY 1, 3""", {"year": int(year), "last": last, "province": province})


def compliance(rows: pd.DataFrame, target: int = TARGET) -> pd.DataFrame:
    """Per commune: months met, months elapsed, compliance %, totals, the two-in-a-row flag, months reported.

    ``rows`` are :func:`monthly`'s. Each commune's series is laid on every month present in
    ``rows`` (a month missing for one commune counts as 0 attendees), so no gap is ever read as if
    the months either side of it were consecutive. Rows of the same commune and month are summed;
    ``reported`` counts the months with at least one reported row (every row counts as reported
    when the column is absent).

    Vectorized (one groupby, then commune × month NumPy arrays) because the province page calls it
    on every request; it gives what :func:`months_met`, :func:`months_met_full` and
    :func:`missed_two_in_a_row` give per commune.
    """
    flag = rows["reported"].astype(bool) if "reported" in rows else True
    sums = (rows.assign(reported=flag)
            .groupby(["unit_code", "unit_name", "m"], sort=True)[["attendees", "orientation_registrations",
                                                                  "reported"]].sum())
    if sums.empty:
        return pd.DataFrame([], columns=COMPLIANCE_COLUMNS)
    months = sorted(int(m) for m in rows["m"].unique())       # not empty here, so elapsed >= 1
    wide = sums.unstack("m", fill_value=0)

    def by_month(column: str) -> np.ndarray:
        """Commune × month array of ``column`` on every month of ``rows`` (0 where a commune has none)."""
        return wide[column].reindex(columns=months, fill_value=0).to_numpy()

    attendees, registrations = by_month("attendees"), by_month("orientation_registrations")
    attended, registered = attendees.astype(int) >= target, registrations.astype(int) >= target
    met, full = attended.sum(axis=1), (attended & registered).sum(axis=1)
    elapsed = len(months)
    return pd.DataFrame({
        "unit_code": wide.index.get_level_values("unit_code"), "unit_name": wide.index.get_level_values("unit_name"),
        "met": met.astype("int64"), "elapsed": np.full(len(wide), elapsed, dtype="int64"),
        "pct": 100.0 * met / elapsed,
        "attendees": attendees.sum(axis=1).astype("int64"),
        "registrations": registrations.sum(axis=1).astype("int64"),
        "missed_two": (~attended[:, 1:] & ~attended[:, :-1]).any(axis=1),
        "reported": (by_month("reported") > 0).sum(axis=1).astype("int64"),
        "met_full": full.astype("int64"), "pct_full": 100.0 * full / elapsed}, columns=COMPLIANCE_COLUMNS)


def province_total(comp: pd.DataFrame) -> dict[str, float | int | None]:
    """The province's line over its communes (:func:`compliance` rows): commune-months met of
    those counted, their share, attendees, registrations and communes that missed twice running."""
    met, elapsed = int(comp["met"].sum()), int(comp["elapsed"].sum())
    full = int(comp["met_full"].sum()) if "met_full" in comp else 0
    return {"met": met, "elapsed": elapsed, "pct": 100.0 * met / elapsed if elapsed else None,
            "met_full": full, "pct_full": 100.0 * full / elapsed if elapsed else None,
            "attendees": int(comp["attendees"].sum()), "registrations": int(comp["registrations"].sum()),
            "missed_two": int(comp["missed_two"].sum()), "communes": len(comp)}


def calendar(rows: pd.DataFrame) -> pd.DataFrame:
    """Commune × month table of attendance (the calendar heat-table); <NA> where no report came.

    ``rows`` are :func:`monthly`'s: one row per commune and month.
    """
    shown = rows["attendees"].astype("Int64")
    if "reported" in rows:
        shown = shown.where(rows["reported"].astype(bool), pd.NA)
    table = rows.assign(attendees=shown).pivot(index=["unit_code", "unit_name"], columns="m", values="attendees")
    table.columns = [f"T{m}" for m in table.columns]
    return table.reset_index().rename(columns={"unit_code": "Mã", "unit_name": "Tên"})


def province_compliance(con: duckdb.DuckDBPyConnection, year: int, month: int,
                        today: dt.date | None = None, due_day: int = DUE_DAY) -> pd.DataFrame:
    """Nationally: share of commune-months of the period that met the target, per province.

    Every commune counts for every month of the period (elapsed = communes × months); a month
    without a report is a missed one.
    """
    last = last_month(year, month, today, due_day)
    return db.run(con, "jobfair_provinces", """
        WITH att AS (
            SELECT commune_code, month(month) AS m, SUM(attendees) AS attendees,
                   SUM(orientation_registrations) AS registrations
            FROM job_fair_attendance
            WHERE month >= make_date($year, 1, 1) AND month < make_date($year + 1, 1, 1)
              AND month(month) <= $last
            GROUP BY ALL
        )
        SELECT c.province_code AS unit_code, any_value(p.name) AS unit_name,
               count(a.m) FILTER (WHERE a.attendees >= $target) AS met,
               count(DISTINCT c.commune_code) * $last AS elapsed,
               100.0 * count(a.m) FILTER (WHERE a.attendees >= $target)
                     / NULLIF(count(DISTINCT c.commune_code) * $last, 0) AS pct,
               CAST(COALESCE(SUM(a.attendees), 0) AS BIGINT) AS attendees,
               CAST(COALESCE(SUM(a.registrations), 0) AS BIGINT) AS registrations,
               count(a.m) AS reported,
               count(a.m) FILTER (WHERE a.attendees >= $target AND a.registrations >= $target) AS met_full,
               100.0 * count(a.m) FILTER (WHERE a.attendees >= $target AND a.registrations >= $target)
                     / NULLIF(count(DISTINCT c.commune_code) * $last, 0) AS pct_full
        FROM v_communes c
        JOIN admin_units p ON p.era = '2025' AND p.level = 'province' AND p.code = c.province_code
        LEFT JOIN att a ON a.commune_code = c.commune_code
        GROUP BY 1 ORDER BY 1""", {"year": int(year), "last": last, "target": TARGET})


PROVINCE_COLUMNS = {
    "unit_code": "Mã", "unit_name": "Tên", "met": "Lượt xã-tháng đạt", "elapsed": "Lượt xã-tháng trong kỳ",
    "pct": "Tỷ lệ đạt (%)", "attendees": "Lượt dự sàn", "registrations": "Đăng ký lớp định hướng",
    "reported": "Lượt xã-tháng có báo cáo", "met_full": "Lượt xã-tháng đạt đủ (dự sàn và đăng ký định hướng)",
    "pct_full": "Tỷ lệ đạt đủ (%)"}
"""The national table's columns as the page names them."""


@dataclass(frozen=True)
class JobfairsView:
    """Everything the Sàn việc làm page shows for one request; shared by every session, read-only.

    Nationally: the provinces' map and ``table``; for a province also the headline figures, the
    selected commune's box, the calendar (selected commune first) and who missed twice running.
    Nothing but the caption and ``empty`` when no report of the year is due yet."""

    last: int                                   # last month counted (0: none due yet)
    caption: str
    empty: str | None                           # the notice shown instead of figures
    figures: tuple[units.Figure, ...] = ()      # the province's line (columns left to right)
    commune: units.CommuneHeadline | None = None
    map: maps.ChoroplethSpec | None = None
    table: pd.DataFrame | None = None           # the provinces', or the province's communes
    calendar: pd.DataFrame | None = None        # commune × month attendance, <NA>: no report
    missed: tuple[str, ...] = ()                # communes that missed two months running
    demo: bool = False


def build_jobfairs(con: duckdb.DuckDBPyConnection, year: int, month: int, province: str | None,
                   commune: str | None, today: dt.date, due_day: int) -> JobfairsView:
    """The job-fair page of one request, built once per data version and request and shared by every
    session (:mod:`xkld_geo.database.cache`): the result is read-only."""
    return cache.scope(con).get("jobfairs_view", _build_jobfairs, int(year), int(month), province,
                                units.selected_commune(province, commune), today, int(due_day))


def _build_jobfairs(con: duckdb.DuckDBPyConnection, year: int, month: int, province: str | None,
                    commune: str | None, today: dt.date, due_day: int) -> JobfairsView:
    demo = units.is_demo(con)
    last = last_month(year, month, today, due_day)
    pending = "" if last == month else (
        f" Báo cáo tháng {last + 1}/{year} hạn ngày {periods.due_date(year, last + 1, due_day):%d/%m/%Y}, chưa tính.")
    caption = (f"Chỉ thị: mỗi xã đưa ít nhất {TARGET} người/tháng tới sàn giao dịch việc làm của tỉnh. "
               f"Kỳ tính: tháng 1–{last}/{year}; tháng xã không báo cáo tính là không đạt (0 người)." + pending)
    if last == 0:
        return JobfairsView(last, caption, f"Năm {year}: chưa đến hạn báo cáo tháng nào.", demo=demo)
    if province is None:
        rows = province_compliance(con, year, month, today, due_day)
        spec = units.unit_spec(con, None, None, rows.set_index("unit_code")["pct"], "compliance",
                               "Tỷ lệ lượt xã-tháng đạt (%)", (("value", "Tỷ lệ đạt (%)", ""),), demo)
        return JobfairsView(last, caption, None, map=spec, table=rows.rename(columns=PROVINCE_COLUMNS), demo=demo)
    rows = monthly(con, year, month, province, today, due_day)
    comp = compliance(rows)
    labels = pd.Series([f"{m}/{e}" for m, e in zip(comp["met"], comp["elapsed"])], index=comp["unit_code"])
    total = province_total(comp)
    figures = (units.Figure("Toàn tỉnh: lượt xã-tháng đạt", f"{total['met']}/{total['elapsed']}"),
               units.Figure("Toàn tỉnh: tỷ lệ đạt", metrics.fmt_pct(total["pct"])),
               units.Figure("Toàn tỉnh: lượt dự sàn", metrics.fmt_int(total["attendees"])),
               units.Figure("Toàn tỉnh: đăng ký lớp định hướng", metrics.fmt_int(total["registrations"])),
               units.Figure("Toàn tỉnh: đạt đủ (dự sàn và đăng ký định hướng)", metrics.fmt_pct(total["pct_full"]),
                            f"Tháng có ít nhất {TARGET} người dự sàn VÀ ít nhất {TARGET} người đăng ký "
                            "học định hướng, đúng như chỉ thị."))
    headline = None
    if commune:
        own = comp[comp["unit_code"] == commune]
        headline = units.commune_headline(con, commune, comp, [
            units.Figure(f"Số tháng đạt ≥ {TARGET} người", labels[commune]),
            units.Figure("Tỷ lệ tháng đạt", metrics.fmt_pct(own["pct"].iloc[0])),
            units.Figure("Tháng có báo cáo", f"{own['reported'].iloc[0]}/{own['elapsed'].iloc[0]}"),
            units.Figure("Lượt dự sàn", metrics.fmt_int(own["attendees"].iloc[0])),
            units.Figure("Hai tháng liền không đạt", "Có" if own["missed_two"].iloc[0] else "Không"),
        ] if len(own) else None)
    spec = units.unit_spec(con, province, commune, comp.set_index("unit_code")["pct"], "compliance",
                           f"Số tháng đạt ≥ {TARGET} người", (("label", "Số tháng đạt", ""),), demo, labels=labels)
    table = pd.DataFrame({"Mã": comp["unit_code"], "Tên": comp["unit_name"], "Số tháng đạt": labels.to_numpy(),
                          "Số tháng đạt đủ (dự sàn và đăng ký định hướng)": [
                              f"{m}/{e}" for m, e in zip(comp["met_full"], comp["elapsed"])],
                          "Tháng có báo cáo": comp["reported"],
                          "Lượt dự sàn": comp["attendees"], "Đăng ký lớp định hướng": comp["registrations"],
                          "Hai tháng liền không đạt": comp["missed_two"].map({True: "Có", False: ""})})
    board = calendar(rows)
    if commune is not None:   # the selected commune first
        first = board["Mã"] == commune
        board = pd.concat([board[first], board[~first]])
    return JobfairsView(last, caption, None, figures, headline, spec, table, board,
                        tuple(comp.loc[comp["missed_two"], "unit_name"]), demo)
