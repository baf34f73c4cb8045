"""Families' clubs (câu lạc bộ gia đình có con em đi làm việc ở nước ngoài) per commune and year:
how many communes have one, member families and meetings, per province or per commune."""
from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pandas as pd

from xkld_geo.database import db
from xkld_geo.figures import queries


@dataclass(frozen=True)
class ClubsView:
    """Clubs per unit for one year; ``covered_pct``: share of communes with at least one club."""

    rows: pd.DataFrame       # unit_code, unit_name, communes, with_club, clubs, members, meetings
    communes: int
    with_club: int
    members: int
    meetings: int
    is_demo: bool

    @property
    def covered_pct(self) -> float | None:
        return 100.0 * self.with_club / self.communes if self.communes else None


def build_clubs(con: duckdb.DuckDBPyConnection, year: int, province: str | None) -> ClubsView:
    """The clubs of ``year`` per province (nationally) or per commune of ``province``."""
    queries.check_code("tỉnh", province, 2)
    rows = db.run(con, "clubs_by_unit", """
        SELECT CASE WHEN $province IS NULL THEN c.province_code ELSE c.commune_code END AS unit_code,
               CASE WHEN $province IS NULL THEN any_value(p.name) ELSE any_value(c.commune_name) END AS unit_name,
               count(*) AS communes, count(*) FILTER (WHERE f.clubs > 0) AS with_club,
               CAST(COALESCE(sum(f.clubs), 0) AS BIGINT) AS clubs, CAST(COALESCE(sum(f.members), 0) AS BIGINT) AS members,
               CAST(COALESCE(sum(f.meetings), 0) AS BIGINT) AS meetings, COALESCE(bool_or(f.is_demo), FALSE) AS is_demo
        FROM v_communes c
        JOIN admin_units p ON p.era = '2025' AND p.level = 'province' AND p.code = c.province_code
        LEFT JOIN family_clubs f ON f.commune_code = c.commune_code AND f.year = $year
        WHERE $province IS NULL OR c.province_code = $province
        GROUP BY 1 ORDER BY 1""", {"year": int(year), "province": province})
    return ClubsView(rows, int(rows["communes"].sum()), int(rows["with_club"].sum()), int(rows["members"].sum()),
                     int(rows["meetings"].sum()), bool(rows["is_demo"].any()))


def table(view: ClubsView) -> pd.DataFrame:
    """The page's table."""
    r = view.rows
    return pd.DataFrame({"Mã": r["unit_code"], "Tên": r["unit_name"], "Số xã": r["communes"],
                         "Xã có câu lạc bộ": r["with_club"], "Số câu lạc bộ": r["clubs"],
                         "Gia đình thành viên": r["members"], "Buổi sinh hoạt": r["meetings"]})
