"""Who goes: departures of each priority group, their share, and coverage of the eligible pool.

A unit with no departures has no share: it is shown as "no data", never as 0% or a division error.
Coverage = the group's departures / its eligible pool (where a pool is known).

A worker may belong to several groups (``worker_groups``, from the registers): each departure row
carries the worker's primary group, so "any priority group" counts every person once, and one
group counts its primary members plus the registered workers who are also in it
(:data:`SECONDARY_SQL`): a worker in two groups counts once in "any group" and once in each. Communes with many
poor households (top quarter of the selection) but a low priority share (bottom quarter) are
flagged for attention.
"""
from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd

from xkld_geo import maps
from xkld_geo.database import cache, db
from xkld_geo.database.schema import PRIORITY_GROUPS
from xkld_geo.figures import metrics, queries
from xkld_geo.views import units

ALL_PRIORITY = "tat_ca_uu_tien"
GROUPS = {ALL_PRIORITY: "Tất cả nhóm ưu tiên"} | {code: name for code, name, _, _ in PRIORITY_GROUPS}
NO_DATA = "không có số liệu"


def group_codes(group: str) -> list[str]:
    """The priority-group codes a selection stands for."""
    queries.check_choice("nhóm", group, GROUPS)
    if group == ALL_PRIORITY:
        return [code for code, _, _, is_priority in PRIORITY_GROUPS if is_priority]
    return [group]


SECONDARY_SQL = """
    SELECT r.commune_code, count(*) AS n FROM worker_groups g
    JOIN register_entries r ON r.person_key = g.person_key AND r.year = g.year
    WHERE g.priority_group IN (SELECT unnest($groups)) AND g.priority_group <> r.priority_group
      AND r.month >= make_date($year, 1, 1) AND r.month <= make_date($year, $month, 1)
    GROUP BY 1"""
"""Registered workers of the month range also in the selected group besides their primary group."""


def shares(con: duckdb.DuckDBPyConnection, year: int, month: int, province: str | None,
           group: str) -> pd.DataFrame:
    """Per province (nationally) or commune: total, group departures, share %, pool, coverage %."""
    queries.check_code("tỉnh", province, 2)
    queries.check_choice("tháng", int(month), range(1, 13))
    codes = group_codes(group)
    df = db.run(con, "priority_shares", f"""
        WITH units AS (
            SELECT commune_code, commune_name, province_code FROM v_communes
            WHERE $province IS NULL OR province_code = $province
        ), dep AS (
            SELECT d.commune_code, SUM(d.departures) AS total,
                   SUM(d.departures) FILTER (WHERE d.priority_group IN (SELECT unnest($groups))) AS in_group
            FROM departures d
            WHERE d.month >= make_date($year, 1, 1) AND d.month <= make_date($year, $month, 1)
            GROUP BY 1
        ), extra AS (
            SELECT * FROM ({SECONDARY_SQL}) WHERE $single
        ), pools AS (
            SELECT commune_code, SUM(pool) FILTER (WHERE priority_group IN (SELECT unnest($groups))) AS pool,
                   SUM(pool) FILTER (WHERE priority_group = 'ho_ngheo') AS poor
            FROM eligible_pools WHERE year = $year GROUP BY 1
        )
        SELECT CASE WHEN $province IS NULL THEN u.province_code ELSE u.commune_code END AS unit_code,
               CASE WHEN $province IS NULL THEN any_value(p.name) ELSE any_value(u.commune_name) END AS unit_name,
               COALESCE(SUM(dep.total), 0) AS total,
               COALESCE(SUM(dep.in_group), 0) + COALESCE(SUM(extra.n), 0) AS in_group,
               SUM(pools.pool) AS pool, SUM(pools.poor) AS poor_households
        FROM units u
        JOIN admin_units p ON p.era = '2025' AND p.level = 'province' AND p.code = u.province_code
        LEFT JOIN dep ON dep.commune_code = u.commune_code
        LEFT JOIN extra ON extra.commune_code = u.commune_code
        LEFT JOIN pools ON pools.commune_code = u.commune_code
        GROUP BY 1 ORDER BY 1""", {"year": int(year), "month": int(month), "province": province, "groups": codes,
                                        "single": group != ALL_PRIORITY})
    return add_rates(df)


def add_rates(df: pd.DataFrame) -> pd.DataFrame:
    """Share (% of departures) and coverage (% of the pool), None where undefined; the attention flag."""
    out = df.copy()
    total = out["total"].astype(float)
    out["share_pct"] = np.where(total > 0, 100.0 * out["in_group"] / total.where(total > 0), np.nan)
    pool = out["pool"].astype(float)
    out["coverage_pct"] = np.where(pool > 0, 100.0 * out["in_group"] / pool.where(pool > 0), np.nan)
    poor = out["poor_households"].astype(float)
    many_poor = poor >= poor.quantile(0.75) if poor.notna().any() else pd.Series(False, index=out.index)
    low_share = out["share_pct"] <= out["share_pct"].quantile(0.25)
    out["attention"] = (many_poor & low_share & out["share_pct"].notna()).astype(bool)
    return out


def label(value: float | None, decimals: int = 1) -> str:
    """A percentage for display, or "không có số liệu"."""
    if value is None or pd.isna(value):
        return NO_DATA
    return f"{value:.{decimals}f}%".replace(".", ",")


def table(rows: pd.DataFrame) -> pd.DataFrame:
    """The page's table, with "no data" written out."""
    return pd.DataFrame({
        "Mã": rows["unit_code"], "Tên": rows["unit_name"], "Tổng số người đi": rows["total"],
        "Thuộc nhóm": rows["in_group"], "Tỷ lệ trong số người đi": [label(v) for v in rows["share_pct"]],
        "Nguồn đủ điều kiện": rows["pool"], "Độ bao phủ nguồn": [label(v) for v in rows["coverage_pct"]],
        "Hộ nghèo": rows["poor_households"],
        "Cần chú ý": np.where(rows["attention"], "Nhiều hộ nghèo, ít người ưu tiên", ""),
    })


@dataclass(frozen=True)
class PriorityView:
    """Everything the Nhóm ưu tiên page shows for one request; shared by every session, read-only."""

    group: str
    title: str                                  # the subheader: group and period
    figures: tuple[units.Figure, ...]           # departures in the group, share, units needing attention
    commune: units.CommuneHeadline | None       # the selected commune's box (a commune of a chosen province)
    map: maps.ChoroplethSpec
    table: pd.DataFrame                         # the page's table, Vietnamese column names
    demo: bool


def build_priority(con: duckdb.DuckDBPyConnection, year: int, month: int, province: str | None,
                   commune: str | None, group: str) -> PriorityView:
    """The page of one priority group and period, built once per data version and request and
    shared by every session (:mod:`xkld_geo.database.cache`): the result is read-only."""
    return cache.scope(con).get("priority_view", _build_priority, int(year), int(month), province,
                                units.selected_commune(province, commune), group)


def _build_priority(con: duckdb.DuckDBPyConnection, year: int, month: int, province: str | None,
                    commune: str | None, group: str) -> PriorityView:
    rows = cache.scope(con).get("priority_shares", shares, year, month, province, group)
    demo = units.is_demo(con)
    total, in_group = rows["total"].sum(), rows["in_group"].sum()
    figures = (units.Figure("Số người đi thuộc nhóm", metrics.fmt_int(in_group)),
               units.Figure("Tỷ lệ trong số người đi", label(100.0 * in_group / total if total else None)),
               units.Figure("Đơn vị cần chú ý", str(int(rows["attention"].sum())),
                            "Nhiều hộ nghèo (¼ cao nhất) nhưng tỷ lệ người ưu tiên thấp (¼ thấp nhất)"))
    headline = None
    if commune:
        own = rows[rows["unit_code"] == commune]
        headline = units.commune_headline(con, commune, rows, [
            units.Figure("Tổng số người đi", metrics.fmt_int(own["total"].iloc[0])),
            units.Figure("Số người đi thuộc nhóm", metrics.fmt_int(own["in_group"].iloc[0])),
            units.Figure("Tỷ lệ trong số người đi", label(own["share_pct"].iloc[0])),
            units.Figure("Độ bao phủ nguồn", label(own["coverage_pct"].iloc[0])),
            units.Figure("Cần chú ý", "Có" if own["attention"].iloc[0] else "Không"),
        ] if len(own) else None)
    by_unit = rows.set_index("unit_code")["share_pct"]
    spec = units.unit_spec(con, province, commune, by_unit, "share", "Tỷ lệ người thuộc nhóm",
                           (("label", "Tỷ lệ trong số người đi", ""),), demo, classes=maps.LEGENDS["share"][:-1],
                           labels=pd.Series([label(v) for v in by_unit], index=by_unit.index))
    return PriorityView(group, f"{GROUPS[group]}: tỷ lệ trong số người đi, tháng 1–{month}/{year}", figures,
                        headline, spec, table(rows), demo)
