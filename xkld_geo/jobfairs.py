"""Job fairs: did each commune send at least 4 people a month to the provincial job fair?

Compliance = months that met the target / months elapsed in the period. A commune that missed two
months in a row is listed for follow-up. Orientation-class registrations are shown beside.
"""
from __future__ import annotations

from typing import Sequence

import duckdb
import pandas as pd

from xkld_geo import db, queries

TARGET = 4
"""The directive: at least four people a month from every commune."""


def months_met(attendance: Sequence[int], target: int = TARGET) -> tuple[int, int]:
    """(months with at least ``target`` attendees, months counted)."""
    return sum(1 for a in attendance if a >= target), len(attendance)


def missed_two_in_a_row(attendance: Sequence[int], target: int = TARGET) -> bool:
    """Whether two consecutive months both fell short of ``target``."""
    return any(a < target and b < target for a, b in zip(attendance, attendance[1:]))


def monthly(con: duckdb.DuckDBPyConnection, year: int, month: int, province: str) -> pd.DataFrame:
    """Attendance and registrations per commune and month of the period (communes of a province)."""
    queries.check_code("tỉnh", province, 2)
    queries.check_choice("tháng", int(month), range(1, 13))
    return db.run(con, "jobfair_monthly", """
        SELECT c.commune_code AS unit_code, c.commune_name AS unit_name, month(j.month) AS m,
               j.attendees, j.orientation_registrations
        FROM job_fair_attendance j JOIN v_communes c ON c.commune_code = j.commune_code
        WHERE c.province_code = $province
          AND j.month >= make_date($year, 1, 1) AND j.month <= make_date($year, $month, 1)
        ORDER BY 1, 3""", {"year": int(year), "month": int(month), "province": province})


def compliance(rows: pd.DataFrame, target: int = TARGET) -> pd.DataFrame:
    """Per commune: months met, months elapsed, compliance %, totals, and the two-in-a-row flag."""
    out = []
    for (code, name), g in rows.groupby(["unit_code", "unit_name"], sort=True):
        series = g.sort_values("m")["attendees"].astype(int).tolist()
        met, elapsed = months_met(series, target)
        out.append({"unit_code": code, "unit_name": name, "met": met, "elapsed": elapsed,
                    "pct": 100.0 * met / elapsed if elapsed else None,
                    "attendees": int(g["attendees"].sum()),
                    "registrations": int(g["orientation_registrations"].sum()),
                    "missed_two": missed_two_in_a_row(series, target)})
    return pd.DataFrame(out, columns=["unit_code", "unit_name", "met", "elapsed", "pct", "attendees",
                                      "registrations", "missed_two"])


def calendar(rows: pd.DataFrame) -> pd.DataFrame:
    """Commune × month table of attendance (the calendar heat-table)."""
    table = rows.pivot_table(index=["unit_code", "unit_name"], columns="m", values="attendees", aggfunc="sum")
    table.columns = [f"T{m}" for m in table.columns]
    return table.reset_index().rename(columns={"unit_code": "Mã", "unit_name": "Tên"})


def province_compliance(con: duckdb.DuckDBPyConnection, year: int, month: int) -> pd.DataFrame:
    """Nationally: share of commune-months that met the target, per province."""
    queries.check_choice("tháng", int(month), range(1, 13))
    return db.run(con, "jobfair_provinces", """
        SELECT c.province_code AS unit_code, any_value(p.name) AS unit_name,
               count(*) FILTER (WHERE j.attendees >= $target) AS met, count(*) AS elapsed,
               100.0 * count(*) FILTER (WHERE j.attendees >= $target) / count(*) AS pct,
               SUM(j.attendees) AS attendees, SUM(j.orientation_registrations) AS registrations
        FROM job_fair_attendance j JOIN v_communes c ON c.commune_code = j.commune_code
        JOIN admin_units p ON p.era = '2025' AND p.level = 'province' AND p.code = c.province_code
        WHERE j.month >= make_date($year, 1, 1) AND j.month <= make_date($year, $month, 1)
        GROUP BY 1 ORDER BY 1""", {"year": int(year), "month": int(month), "target": TARGET})
