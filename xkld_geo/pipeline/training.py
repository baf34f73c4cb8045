"""Training: vocational, language and orientation courses per commune, completion rates, and the share
of departures that completed orientation.

A course counts in the period it ends in (January..month of the year, up to today): a course still
running has no completion rate yet. The completion rate is completed / enrolled. The share of
departures that completed orientation is the orientation completions of the period (the orders'
courses and the companies' general ones) over all departures of the period; the law makes the
orientation course a condition of departure, so a share far below 100% points at missing reports.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb
import pandas as pd

from xkld_geo.database import db
from xkld_geo.database.schema.pipeline import COURSE_TYPES
from xkld_geo.figures import queries
from xkld_geo.pipeline.funnel import period


@dataclass(frozen=True)
class TrainingView:
    """Per course type (``by_type``) and per unit (``units``): courses, enrolled, completed, rate."""

    by_type: pd.DataFrame
    units: pd.DataFrame
    orientation_completed: int
    all_departures: int
    orientation_share_pct: float | None
    is_demo: bool


def rate(completed: pd.Series, enrolled: pd.Series) -> pd.Series:
    """Completed over enrolled, in % (None where nobody enrolled)."""
    return (100.0 * completed / enrolled.where(enrolled > 0)).astype(float)


def build_training(con: duckdb.DuckDBPyConnection, year: int, month: int, today: dt.date,
                   province: str | None = None, commune: str | None = None) -> TrainingView:
    """Courses ended in January..``month`` of ``year`` (not after ``today``), of a place and its units."""
    if province is not None:
        queries.check_code("tỉnh", province, 2)
    if commune is not None:
        queries.check_code("xã", commune, 5)
    start, end = period(year, month)
    end = min(end, today)
    params = {"province": province, "commune": commune, "start": start, "end": end}
    level = "c.province_code" if province is None else "c.commune_code"
    rows = db.run(con, "training_units", f"""
        SELECT {level} AS unit_code, t.course_type, count(DISTINCT t.course_code) AS courses,
               CAST(SUM(t.enrolled) AS BIGINT) AS enrolled, CAST(SUM(t.completed) AS BIGINT) AS completed,
               bool_or(t.is_demo) AS is_demo
        FROM training_courses t JOIN v_communes c ON c.commune_code = t.commune_code
        WHERE t.end_on BETWEEN $start AND $end AND ($province IS NULL OR c.province_code = $province)
          AND ($commune IS NULL OR c.commune_code = $commune)
        GROUP BY ALL""", params)
    gone = int(db.run(con, "training_departures", """
        SELECT COALESCE(SUM(d.departures), 0) AS n FROM departures d JOIN v_communes c ON c.commune_code = d.commune_code
        WHERE d.month BETWEEN $start AND $end AND ($province IS NULL OR c.province_code = $province)
          AND ($commune IS NULL OR c.commune_code = $commune)""", params)["n"][0])
    by_type = (rows.groupby("course_type")[["courses", "enrolled", "completed"]].sum()
               .reindex(list(COURSE_TYPES), fill_value=0).reset_index())
    by_type["label"] = by_type["course_type"].map(COURSE_TYPES)
    by_type["completion_pct"] = rate(by_type["completed"], by_type["enrolled"])
    wide = rows.pivot_table(index="unit_code", columns="course_type", values=["enrolled", "completed"],
                            aggfunc="sum", fill_value=0)
    wide.columns = [f"{kind}_{value}" for value, kind in wide.columns]
    units = queries.provinces(con)[["code", "name"]] if province is None else db.run(
        con, "training_communes", "SELECT commune_code AS code, commune_name AS name FROM v_communes "
                                  "WHERE province_code = $p ORDER BY 1", {"p": province})
    units = units.rename(columns={"code": "unit_code", "name": "unit_name"}).merge(
        wide.reset_index(), on="unit_code", how="left").fillna(0)
    for kind in COURSE_TYPES:
        for value in ("enrolled", "completed"):
            units[f"{kind}_{value}"] = units.get(f"{kind}_{value}", 0)
            units[f"{kind}_{value}"] = units[f"{kind}_{value}"].astype(int)
        units[f"{kind}_pct"] = rate(units[f"{kind}_completed"], units[f"{kind}_enrolled"])
    oriented = int(by_type.set_index("course_type").loc["orientation", "completed"])
    return TrainingView(by_type, units, oriented, gone, 100.0 * oriented / gone if gone else None,
                        bool(rows["is_demo"].any()) if len(rows) else False)
