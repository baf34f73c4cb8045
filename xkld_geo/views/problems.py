"""Loans, returns, contract breaches / illegal stay and fraud reports: the Vay vốn – vấn đề page.

One request (period, province, selected commune) gives one :class:`ProblemsView`, with the map of
every measure the page offers, so choosing another measure draws a map already built. The figures
come from :func:`problems`, here beside the view (the demo generator is not imported at run time) (breaches and fraud reports from the register of
cases where it has data, :mod:`xkld_geo.protection.problems`).
"""
from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pandas as pd

from xkld_geo import maps
from xkld_geo.database import cache, db
from xkld_geo.figures import metrics, queries
from xkld_geo.protection.problems import MONTHLY_SQL
from xkld_geo.views import units

PROBLEM_COLUMNS = {"loans": "Số khoản vay", "loan_amount_mvnd": "Số tiền cho vay trong kỳ (triệu đồng)",
                   "returnees": "Về nước", "breaches": "Vi phạm hợp đồng / cư trú bất hợp pháp",
                   "fraud_reports": "Phản ánh lừa đảo"}


def problems(con: duckdb.DuckDBPyConnection, year: int, month: int, province: str | None) -> pd.DataFrame:
    """Year-to-date loans, returns, breaches and fraud reports per province or per commune; breaches
    and fraud reports come from the register of cases where it has data (:mod:`xkld_geo.protection.problems`)."""
    queries.check_code("tỉnh", province, 2)
    queries.check_choice("tháng", int(month), range(1, 13))
    return db.run(con, "programme_problems", f"""
        SELECT CASE WHEN $province IS NULL THEN c.province_code ELSE c.commune_code END AS unit_code,
               CASE WHEN $province IS NULL THEN p.name ELSE c.commune_name END AS unit_name,
               SUM(m.loans) AS loans, round(SUM(m.loan_amount_mvnd), 1) AS loan_amount_mvnd,
               SUM(m.returnees) AS returnees, SUM(m.breaches) AS breaches, SUM(m.fraud_reports) AS fraud_reports
        FROM ({MONTHLY_SQL}) m
        JOIN v_communes c ON c.commune_code = m.commune_code
        JOIN admin_units p ON p.era = '2025' AND p.level = 'province' AND p.code = c.province_code
        WHERE m.month >= make_date($year, 1, 1) AND m.month <= make_date($year, $month, 1)
          AND ($province IS NULL OR c.province_code = $province)
        GROUP BY ALL ORDER BY 1""", {"year": int(year), "month": int(month), "province": province})


MEASURES = tuple(PROBLEM_COLUMNS)[2:]
"""What the map can show: returnees, breaches, fraud reports."""


@dataclass(frozen=True)
class ProblemsView:
    """Everything the page shows for one request; shared by every session, read-only."""

    figures: tuple[units.Figure, ...]           # the selection's totals, one per column
    commune: units.CommuneHeadline | None       # the selected commune's box
    maps: dict[str, maps.ChoroplethSpec]        # measure -> its map
    table: pd.DataFrame                         # per unit, Vietnamese column names
    demo: bool


def build_problems(con: duckdb.DuckDBPyConnection, year: int, month: int, province: str | None,
                   commune: str | None) -> ProblemsView:
    """The page of one period and place, built once per data version and request and shared by
    every session (:mod:`xkld_geo.database.cache`): the result is read-only."""
    return cache.scope(con).get("problems_view", _build_problems, int(year), int(month), province,
                                units.selected_commune(province, commune))


def _build_problems(con: duckdb.DuckDBPyConnection, year: int, month: int, province: str | None,
                    commune: str | None) -> ProblemsView:
    rows = problems(con, year, month, province)
    demo = units.is_demo(con)
    totals = rows[list(PROBLEM_COLUMNS)].sum()
    figures = tuple(units.Figure(label, metrics.fmt_int(totals[key])) for key, label in PROBLEM_COLUMNS.items())
    headline = None
    if commune:
        own = rows[rows["unit_code"] == commune]
        headline = units.commune_headline(con, commune, rows, [
            units.Figure(label, metrics.fmt_int(own[key].iloc[0])) for key, label in PROBLEM_COLUMNS.items()
        ] if len(own) else None)
    legend = "departures_province" if province is None else "departures_commune"
    by_unit = rows.set_index("unit_code")
    specs = {measure: units.unit_spec(con, province, commune, by_unit[measure], legend,
                                      PROBLEM_COLUMNS[measure],
                                      (("value", PROBLEM_COLUMNS[measure], ""),), demo,
                                      classes=maps.LEGENDS[legend][:-1])
             for measure in MEASURES}
    table = rows.rename(columns={"unit_code": "Mã", "unit_name": "Tên"} | PROBLEM_COLUMNS)
    return ProblemsView(figures, headline, specs, table, demo)
