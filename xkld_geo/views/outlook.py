"""What it takes to reach the quota: the Dự báo cuối năm page.

For the nation, a province or the communes of a province: the backtested year-end forecast
(:mod:`xkld_geo.foresight.forecast`) with its 80 % range, the probability of reaching the quota and
the departures a month needed from the cut-off on, and a map of the communes by that probability
(red: likely to miss). Commune rows go through :func:`build_outlook`'s ``communes`` filter, so an
account limited to some communes sees only those.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb
import pandas as pd

from xkld_geo import maps
from xkld_geo.database import cache, db
from xkld_geo.errors import QueryError
from xkld_geo.figures import periods, queries
from xkld_geo.foresight import forecast

LIKELY_MISS = 0.20
"""A unit whose probability of reaching its quota is below this is "likely to miss"."""
TOOLTIP = (("quota", "Chỉ tiêu năm", ""), ("forecast", "Dự báo cả năm", ""), ("low", "Thấp (10%)", ""),
           ("high", "Cao (90%)", ""), ("reach", "Khả năng đạt chỉ tiêu", "%"), ("needed", "Cần mỗi tháng", ""))
COLUMNS = {"unit_code": "Mã", "unit_name": "Tên", "quota": "Chỉ tiêu năm", "ytd": "Lũy kế đến tháng chốt",
           "forecast": "Dự báo cả năm", "lo": "Thấp (khoảng 80%)", "hi": "Cao (khoảng 80%)",
           "reach_pct": "Khả năng đạt chỉ tiêu (%)", "needed_per_month": "Cần mỗi tháng từ nay"}


@dataclass(frozen=True)
class Outlook:
    """The page's figures: the selection's headline row, its units and the map."""

    title: str
    cutoff_label: str
    selection: pd.Series | None      # the nation's or the province's forecast row
    units: pd.DataFrame              # COLUMNS (Vietnamese names), least likely to reach first
    likely_miss: int                 # communes below LIKELY_MISS
    communes: int                    # communes with a quota
    map_spec: maps.ChoroplethSpec | None
    explanation: str
    is_demo: bool


def cutoff_of(year: int, month: int, today: dt.date) -> int:
    """The forecast's cut-off for the period January..``month``: the month itself when complete,
    the month before while it is in progress."""
    p = periods.period(year, month, today)
    return p.month - 1 if p.in_progress else p.month


def unit_table(rows: pd.DataFrame, names: dict[str, str]) -> pd.DataFrame:
    """Forecast rows as shown: Vietnamese columns, rounded, least likely to reach first."""
    t = rows.assign(unit_name=rows["unit_code"].map(names).fillna(rows["unit_code"]),
                    reach_pct=(100.0 * rows["p_reach"]).round(0))
    for c in ("quota", "ytd", "forecast", "lo", "hi", "needed_per_month"):
        t[c] = t[c].round(0)
    t = t.sort_values(["reach_pct", "unit_code"], na_position="last")[list(COLUMNS)]
    return t.rename(columns=COLUMNS).reset_index(drop=True)


def map_properties(rows: pd.DataFrame) -> pd.DataFrame:
    """Tooltip values and fill colour (probability of reaching the quota) by unit code."""
    reach = (100.0 * rows["p_reach"]).round(0)
    props = pd.DataFrame({"quota": rows["quota"].round(0).to_numpy(), "forecast": rows["forecast"].round(0).to_numpy(),
                          "low": rows["lo"].round(0).to_numpy(), "high": rows["hi"].round(0).to_numpy(),
                          "reach": reach.to_numpy(), "needed": rows["needed_per_month"].round(0).to_numpy()},
                         index=rows["unit_code"].to_numpy())
    props["fill"] = [maps.colour_for(v, maps.LEGENDS["reach"][:-1]) for v in props["reach"]]
    return props


def build_outlook(con: duckdb.DuckDBPyConnection, year: int, month: int, province: str | None, today: dt.date,
                  communes: frozenset[str] | None = None) -> Outlook:
    """The forecast of ``year`` for the period January..``month``: the nation's or ``province``'s
    row, its provinces (nationally) or communes, and the map of communes by probability of
    reaching their quota. ``communes`` limits commune rows (an account's scope)."""
    queries.check_code("tỉnh", province, 2)
    shared = cache.scope(con)
    is_demo = shared.get("meta", queries.meta).get("contains_demo") == "true"
    names = dict(zip(*shared.get("provinces", queries.provinces, copy=False)[["code", "name"]].to_numpy().T))
    if province is not None and province not in names:
        raise QueryError(f"Không có tỉnh mã {province}.", field="tỉnh", value=province, allowed=sorted(names))
    place = "cả nước" if province is None else names[province]
    cut = cutoff_of(year, month, today)
    ye = forecast.forecast(con, year, cut)
    if ye is None:
        return Outlook(f"Dự báo cuối năm {year}, {place}", "", None, pd.DataFrame(columns=list(COLUMNS.values())),
                       0, 0, None, "Chưa có tháng nào trọn vẹn của năm để dự báo.", is_demo)
    selection = ye.row("nation", forecast.NATION) if province is None else ye.row("province", province)
    commune_rows = ye.units("commune", province, communes)
    commune_names = shared.get("commune_names", _commune_names, copy=False)
    listed = ye.units("province") if province is None else commune_rows
    table = unit_table(listed, names if province is None else commune_names)
    with_quota = commune_rows[commune_rows["p_reach"].notna()]
    if province is None:
        shapes = shared.get("shapes", queries.shapes, "2025", "commune", "coarse")
        overlay = shared.get("shapes", queries.shapes, "2025", "province", "coarse")
    else:
        shapes = shared.get("shapes", queries.shapes, "2025", "commune", "fine", province)
        overlay = None
    if communes is not None:
        shapes = shapes[shapes["code"].isin(communes)]
    spec = maps.ChoroplethSpec(shapes, map_properties(commune_rows), None,
                               f"Khả năng đạt chỉ tiêu {year} (dự báo đến hết tháng {cut}/{year})", is_demo,
                               overlay=overlay, classes="reach", tooltip=TOOLTIP)
    return Outlook(f"Dự báo cuối năm {year}, {place}", f"Tính đến hết tháng {cut}/{year}", selection, table,
                   int((with_quota["p_reach"] < LIKELY_MISS).sum()), len(with_quota), spec,
                   ye.explanation(is_demo), is_demo)


def _commune_names(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Every commune's name by code."""
    df = cache.scope(con).get("commune_list", _communes)
    return dict(zip(df["commune_code"], df["commune_name"]))


def _communes(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    return db.run(con, "outlook_communes", "SELECT commune_code, commune_name FROM v_communes")
