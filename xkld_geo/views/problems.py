"""Loans, returns, contract breaches / illegal stay and fraud reports: the Vay vốn – vấn đề page.

One request (period, province, selected commune) gives one :class:`ProblemsView`, with the map of
every measure the page offers, so choosing another measure draws a map already built. The figures
come from :func:`xkld_geo.build.programme.problems` (breaches and fraud reports from the register of
cases where it has data, :mod:`xkld_geo.protection.problems`).
"""
from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pandas as pd

from xkld_geo import cache, maps, metrics
from xkld_geo.build import programme
from xkld_geo.views import units

MEASURES = tuple(programme.PROBLEM_COLUMNS)[2:]
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
    every session (:mod:`xkld_geo.cache`): the result is read-only."""
    return cache.scope(con).get("problems_view", _build_problems, int(year), int(month), province,
                                units.selected_commune(province, commune))


def _build_problems(con: duckdb.DuckDBPyConnection, year: int, month: int, province: str | None,
                    commune: str | None) -> ProblemsView:
    rows = programme.problems(con, year, month, province)
    demo = units.is_demo(con)
    totals = rows[list(programme.PROBLEM_COLUMNS)].sum()
    figures = tuple(units.Figure(label, metrics.fmt_int(totals[key])) for key, label in programme.PROBLEM_COLUMNS.items())
    headline = None
    if commune:
        own = rows[rows["unit_code"] == commune]
        headline = units.commune_headline(con, commune, rows, [
            units.Figure(label, metrics.fmt_int(own[key].iloc[0])) for key, label in programme.PROBLEM_COLUMNS.items()
        ] if len(own) else None)
    legend = "departures_province" if province is None else "departures_commune"
    by_unit = rows.set_index("unit_code")
    specs = {measure: units.unit_spec(con, province, commune, by_unit[measure], legend,
                                      programme.PROBLEM_COLUMNS[measure],
                                      (("value", programme.PROBLEM_COLUMNS[measure], ""),), demo,
                                      classes=maps.LEGENDS[legend][:-1])
             for measure in MEASURES}
    table = rows.rename(columns={"unit_code": "Mã", "unit_name": "Tên"} | programme.PROBLEM_COLUMNS)
    return ProblemsView(figures, headline, specs, table, demo)
