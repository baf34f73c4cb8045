"""The profile of departures the ministry's statistical form asks for: age group, qualification, occupation.

``departures`` has no age, qualification or occupation (and its primary key is a public contract),
so they live in a breakdown table of their own, ``departures_profile``, whose commune-month-sex
totals equal the departures of that commune, month and sex. The demo generator fills it
(:func:`xkld_geo.warehouse.demo.departures_profile`); an imported departures report that replaces a
commune-month's demo figures also drops that commune-month's demo profile (:func:`drop_replaced`),
so a profile never describes figures that are no longer there.
"""
from __future__ import annotations

import duckdb
import pandas as pd

from xkld_geo.database import db

AGE_GROUPS: dict[str, str] = {"16_17": "Từ 16 đến dưới 18 tuổi", "18_30": "Từ 18 đến 30 tuổi",
                              "31_35": "Từ 31 đến 35 tuổi", "36_45": "Từ 36 đến 45 tuổi",
                              "tren_45": "Trên 45 tuổi"}
QUALIFICATIONS: dict[str, str] = {"chua_dao_tao": "Chưa qua đào tạo", "so_cap": "Sơ cấp",
                                  "trung_cap": "Trung cấp", "cao_dang": "Cao đẳng", "dai_hoc": "Đại học",
                                  "thac_si": "Thạc sĩ", "tien_si": "Tiến sĩ"}
OCCUPATIONS: dict[str, str] = {"san_xuat": "Sản xuất, chế biến, chế tạo", "xay_dung": "Xây dựng",
                               "nong_nghiep": "Nông nghiệp, thủy sản", "dieu_duong": "Điều dưỡng, hộ lý",
                               "dich_vu": "Dịch vụ", "khac": "Khác"}





def write_demo(con: duckdb.DuckDBPyConnection, profile: pd.DataFrame) -> None:
    """Replace the demo profile rows (the caller holds the build's transaction or connection)."""
    db.execute(con, "profiles_clear_demo", "DELETE FROM departures_profile WHERE is_demo")
    with db.registered(con, "profile_in", profile):
        db.execute(con, "profiles_insert", "INSERT INTO departures_profile BY NAME SELECT * FROM profile_in")


def drop_replaced(con: duckdb.DuckDBPyConnection, import_id: int) -> None:
    """Drop the demo profile of the commune-months whose departures import ``import_id`` replaced."""
    db.execute(con, "profiles_drop_replaced", """
        DELETE FROM departures_profile p USING (
            SELECT DISTINCT unit_code, period FROM import_changes
            WHERE import_id = $id AND table_name = 'departures') c
        WHERE p.is_demo AND p.commune_code = c.unit_code AND strftime(p.month, '%Y-%m') = c.period""",
               {"id": int(import_id)})
