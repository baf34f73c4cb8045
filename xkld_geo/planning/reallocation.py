"""Mid-year reallocation: each commune's results so far and the quota moves proposed between them.

Communes well ahead of pace can give part of their quota to those far behind (never below a floor);
the maths is :func:`xkld_geo.planning.allocation.propose_reallocation`, this module feeds it the
year-to-date figures of one province.
"""
from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd

from xkld_geo.errors import AllocationError
from xkld_geo.figures import periods, queries
from xkld_geo.planning import allocation


def reallocation_table(con: duckdb.DuckDBPyConnection, year: int, month: int, province: str,
                       floor: int = 0, today: dt.date | None = None) -> tuple[pd.DataFrame, list[allocation.Move]]:
    """Year-to-date results of a province's communes and the proposed mid-year moves (a month in
    progress counts the days elapsed at ``today``)."""
    elapsed = periods.period(year, month, today).elapsed if today is not None else float(month)
    rows = queries.period_attainment(con, year, month, "commune", province)
    rows = rows[rows["quota"].notna()]
    quotas = dict(zip(rows["unit_code"], rows["quota"].astype(int)))
    ytd = dict(zip(rows["unit_code"], rows["ytd"].astype(int)))
    try:
        moves = allocation.propose_reallocation(quotas, ytd, elapsed, {c: floor for c in quotas})
    except AllocationError:
        moves = []
    return rows, moves
