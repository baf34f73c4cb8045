"""Returnees: the occupation they come back to and whether they found work at home, so that the
directive's "nguồn nhân lực chất lượng cao sau khi về nước" can be followed. Year to date, per
occupation and per province or commune; the share who found work has no value where nobody returned."""
from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd

from xkld_geo.database import db
from xkld_geo.figures import queries


@dataclass(frozen=True)
class ReturneesView:
    """Returnees of months 1..``month`` of a year."""

    by_occupation: pd.DataFrame   # occupation, returned, found_work, found_pct
    by_unit: pd.DataFrame         # unit_code, unit_name, returned, found_work, found_pct
    returned: int
    found_work: int
    is_demo: bool

    @property
    def found_pct(self) -> float | None:
        return 100.0 * self.found_work / self.returned if self.returned else None


def _pct(df: pd.DataFrame) -> pd.DataFrame:
    returned = df["returned"].astype(float)
    df["found_pct"] = np.where(returned > 0, 100.0 * df["found_work"] / returned.where(returned > 0), np.nan)
    return df


def build_returnees(con: duckdb.DuckDBPyConnection, year: int, month: int, province: str | None) -> ReturneesView:
    """Returnees by occupation and by unit, January to ``month`` of ``year``."""
    queries.check_code("tỉnh", province, 2)
    queries.check_choice("tháng", int(month), range(1, 13))
    params = {"year": int(year), "month": int(month), "province": province}
    base = """FROM returnees r JOIN v_communes c ON c.commune_code = r.commune_code
              JOIN admin_units p ON p.era = '2025' AND p.level = 'province' AND p.code = c.province_code
              WHERE r.month >= make_date($year, 1, 1) AND r.month <= make_date($year, $month, 1)
                AND ($province IS NULL OR c.province_code = $province)"""
    occ = db.run(con, "returnees_by_occupation", f"""
        SELECT r.occupation, CAST(sum(r.returned) AS BIGINT) AS returned, CAST(sum(r.found_work) AS BIGINT) AS found_work,
               bool_or(r.is_demo) AS is_demo {base} GROUP BY 1 ORDER BY returned DESC, 1""", params)
    units = db.run(con, "returnees_by_unit", f"""
        SELECT CASE WHEN $province IS NULL THEN c.province_code ELSE c.commune_code END AS unit_code,
               CASE WHEN $province IS NULL THEN any_value(p.name) ELSE any_value(c.commune_name) END AS unit_name,
               CAST(sum(r.returned) AS BIGINT) AS returned, CAST(sum(r.found_work) AS BIGINT) AS found_work
        {base} GROUP BY 1 ORDER BY 1""", params)
    return ReturneesView(_pct(occ), _pct(units), int(occ["returned"].sum()), int(occ["found_work"].sum()),
                         bool(occ["is_demo"].any()) if len(occ) else False)
