"""The rest of the programme the directives track: eligible pools, loans, returns and problems.

Demo data (flagged ``is_demo``) is made from the departures already generated, in sensible
proportions: Social Policy Bank loans go to about 40% of priority-group departures (up to VND 100
million for Korea's EPS programme, less elsewhere); workers come back after a 3–5 year contract;
contract breaches / illegal stay run near 6% overall and 31% for Korea EPS (mid-2023 figures);
fraud reports are rare. Eligible pools (poor and near-poor households, demobilised soldiers
returning this year, ...) are sized from population with province and commune variation.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd

from xkld_geo.database import db
from xkld_geo.warehouse.demo import month_fraction

POOL_SHARE = {"ho_ngheo": 0.012, "ho_can_ngheo": 0.010, "bo_doi_xuat_ngu": 0.0025,
              "gia_dinh_chinh_sach": 0.004, "dan_toc_thieu_so": 0.02}
"""Pool per inhabitant per priority group, before province and commune variation."""


@dataclass
class ProgrammeData:
    """Generated tables, ready to insert."""

    pools: pd.DataFrame
    monthly: pd.DataFrame




def generate(communes: pd.DataFrame, departures: pd.DataFrame, seed: int, mountain: set[str],
             today: dt.date | None = None) -> ProgrammeData:
    """Pools per commune and year; loans, returns, breaches and fraud reports per commune-month.

    The month in progress (``today``'s) holds only the days gone by: the fraud reports' base rate
    is scaled like the departures the other figures are drawn from."""
    rng = np.random.default_rng(seed + 7)
    communes = communes.sort_values("code").reset_index(drop=True)
    pop = communes["population"].fillna(communes["population"].median()).to_numpy(float)
    in_mountain = communes["parent_code"].isin(mountain).to_numpy()
    years = sorted({m.year for m in pd.to_datetime(departures["month"])})
    pools = []
    for group, share in POOL_SHARE.items():
        factor = np.where(in_mountain, 3.0 if group in ("ho_ngheo", "dan_toc_thieu_so") else 1.5, 1.0)
        level = pop * share * factor * rng.lognormal(0, 0.5, len(pop))
        if group == "dan_toc_thieu_so":
            level *= np.where(in_mountain, 8.0, 0.3)
        for year in years:
            pools.append(pd.DataFrame({"year": year, "commune_code": communes["code"], "priority_group": group,
                                       "pool": rng.poisson(level * rng.lognormal(0, 0.1, len(pop)))}))
    d = pd.DataFrame({"month": pd.to_datetime(departures["month"]), "commune_code": departures["commune_code"],
                      "n": departures["departures"]})
    d["prio"] = np.where(departures["priority_group"] != "khac", d["n"], 0)
    d["eps"] = np.where((departures["market"] == "KR") & (departures["channel"] == "eps"), d["n"], 0)
    by = d.groupby(["month", "commune_code"], as_index=False)[["n", "prio", "eps"]].sum()
    loans = rng.binomial(by["prio"].astype(int), 0.4)
    amount = loans * np.where(by["eps"] > 0, 95.0, 60.0) * rng.uniform(0.8, 1.05, len(by))
    returnees = rng.poisson(by["n"].to_numpy(float) * 0.25)
    breaches = rng.binomial(by["n"].astype(int), 0.05) + rng.binomial(by["eps"].astype(int), 0.25)
    base = np.full(len(by), 0.02)
    if today is not None:
        current = ((by["month"].dt.year == today.year) & (by["month"].dt.month == today.month)).to_numpy()
        base = np.where(current, 0.02 * month_fraction(today), base)
    fraud = rng.poisson(base + by["n"].to_numpy(float) * 0.004)
    monthly = pd.DataFrame({"month": by["month"].dt.date, "commune_code": by["commune_code"], "loans": loans,
                            "loan_amount_mvnd": np.round(amount, 1), "returnees": returnees,
                            "breaches": breaches, "fraud_reports": fraud})
    pools_df = pd.concat(pools, ignore_index=True)
    pools_df["is_demo"] = True
    monthly["is_demo"] = True
    return ProgrammeData(pools_df, monthly)


def write_demo(con: duckdb.DuckDBPyConnection, data: ProgrammeData) -> None:
    """Replace every demo row of the programme tables."""
    db.execute(con, "demo_clear_pools", "DELETE FROM eligible_pools WHERE is_demo")
    db.execute(con, "demo_clear_programme", "DELETE FROM programme_monthly WHERE is_demo")
    with db.registered(con, "pools_in", data.pools), db.registered(con, "prog_in", data.monthly):
        db.execute(con, "demo_pools", "INSERT INTO eligible_pools SELECT year, commune_code, priority_group, pool, "
                   "is_demo FROM pools_in")
        db.execute(con, "demo_programme", "INSERT INTO programme_monthly SELECT month, commune_code, loans, "
                   "loan_amount_mvnd, returnees, breaches, fraud_reports, is_demo FROM prog_in")


def write_countries(con: duckdb.DuckDBPyConnection, shapes: pd.DataFrame) -> None:
    """Store the country outlines (market, name, geojson)."""
    db.execute(con, "countries_clear", "DELETE FROM country_shapes")
    with db.registered(con, "countries_in", shapes):
        db.execute(con, "countries_insert", "INSERT INTO country_shapes SELECT market, name, geojson FROM countries_in")


def mountain_provinces() -> set[str]:
    """Provinces treated as mountainous by the demo generator (shared with :mod:`xkld_geo.warehouse.demo`)."""
    from xkld_geo.warehouse.demo import MOUNTAIN_PROVINCES

    return set(MOUNTAIN_PROVINCES)
