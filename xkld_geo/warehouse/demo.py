"""Seeded generator of demo ("Dữ liệu minh họa") labour-export statistics.

Commune-level worker and quota statistics are not public, so the product ships a realistic stand-in:
monthly departures per 2025 commune by market, sex, channel and priority group, yearly quotas, and
job-fair attendance. It is calibrated to the published national figures (yearly totals and the
Japan / Taiwan / Korea split) and spread over communes by their real 2025 population, with
province propensities that echo published provincial figures (Nghệ An highest, Thanh Hóa and
Hà Tĩnh high, the big cities low). Every row it makes is flagged ``is_demo``.

National and per-market monthly counts are exact by construction: each month's workers are first
assigned to markets in exact numbers, then to communes with probabilities that vary by province.
"""
from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from xkld_geo.database.schema import CHANNELS, MARKETS

FIRST_YEAR = 2021
SEASONALITY = np.array([0.055, 0.065, 0.085, 0.085, 0.085, 0.085, 0.08, 0.085, 0.09, 0.09, 0.095, 0.10])
SEASONALITY = SEASONALITY / SEASONALITY.sum()
"""Share of a year's departures by month: the Tết dip in January–February, a year-end peak."""

OTHER_MARKETS_2023 = {"CN": 1806, "HU": 1539, "SG": 1355, "RO": 840, "PL": 797, "HK": 584,
                      "MY": 480, "SA": 444, "RU": 266, "MO": 169}
"""Published 2023 counts of the smaller markets; Germany takes what the list leaves unnamed."""

PROVINCE_PROPENSITY: dict[str, float] = {
    "40": 4.2, "42": 3.6, "38": 2.2, "44": 1.6, "37": 1.6, "33": 1.5, "31": 1.1, "24": 1.3,
    "25": 1.3, "46": 1.1, "19": 0.9, "51": 0.9, "48": 0.8, "22": 0.6, "20": 0.7, "04": 0.5,
    "08": 0.7, "11": 0.5, "12": 0.5, "14": 0.5, "15": 0.6, "52": 0.6, "66": 0.6, "68": 0.5,
    "56": 0.4, "75": 0.35, "80": 0.45, "82": 0.6, "86": 0.45, "91": 0.45, "92": 0.45, "96": 0.4,
    "01": 0.45, "79": 0.12,
}
"""Relative propensity to send workers, per 2025 province, before commune-level noise."""

MOUNTAIN_PROVINCES = {"04", "08", "11", "12", "14", "15", "19", "20", "52", "66", "68"}
MALE_SHARE = {"JP": 0.6, "TW": 0.55, "KR": 0.88, "DE": 0.45, "SA": 0.3, "MY": 0.6}
CHANNEL_MIX = {"KR": (0.25, 0.75, 0.0), "JP": (0.25, 0.0, 0.75)}  # company, EPS, intern
DEMO_GROUPS = ("bo_doi_xuat_ngu", "ho_ngheo", "ho_can_ngheo", "gia_dinh_chinh_sach", "dan_toc_thieu_so", "khac")
"""The groups the demo departures are drawn from (the directives' other groups have no calibration yet)."""
PRIORITY_BASE = np.array([0.09, 0.06, 0.07, 0.04, 0.03, 0.71])
PRIORITY_MOUNTAIN = np.array([0.08, 0.12, 0.10, 0.04, 0.33, 0.33])
QUOTA_FLOOR = 3
"""Smallest demo quota of a commune (a commune is never given nothing to do)."""


@dataclass(frozen=True)
class Calibration:
    """National yearly totals and per-market shares the generator reproduces."""

    totals: dict[int, int]                  # full-year departures per year (estimated when partial)
    shares: dict[int, dict[str, float]]     # market -> share of the year's departures
    partial: dict[int, tuple[int, int]]     # year -> (last month covered, published total to then)
    plans: dict[int, int]                   # national quota (kế hoạch) per year, published or carried


def read_calibration(path: Path, last_year: int) -> Calibration:
    """Turn the published national figures into full-year totals and market shares per year.

    A year published only in part (2025 January–October) is extrapolated with the seasonality; a
    year without a figure follows the latest full estimate; a market without a figure (Japan 2024)
    takes what remains after the known markets and the usual share of the smaller ones.
    """
    pub = pd.read_csv(path)
    totals: dict[int, int] = {}
    shares: dict[int, dict[str, float]] = {}
    partial: dict[int, tuple[int, int]] = {}
    published_plans: dict[int, int] = {}
    small_total_2023 = 159986 - 80010 - 58620 - 11626
    small_split = {k: v / small_total_2023 for k, v in OTHER_MARKETS_2023.items()}
    small_split["DE"] = 1 - sum(small_split.values())
    small_share = small_total_2023 / 159986
    for row in pub.itertuples():
        year = int(row.year)
        total = int(row.total)
        if "january-october" in str(row.period).lower():
            partial[year] = (10, total)
            total = int(round(total / SEASONALITY[:10].sum()))
        big = {"JP": row.japan, "TW": row.taiwan, "KR": row.korea}
        published = int(row.total)
        known = {k: float(v) / published for k, v in big.items() if pd.notna(v)}
        if "JP" not in known:
            known["JP"] = 1 - small_share - sum(known.values())
        rest = 1 - sum(known.values())
        mix = dict(known) | {k: rest * s for k, s in small_split.items()}
        totals[year] = total
        shares[year] = mix
        if "plan" in pub.columns and pd.notna(row.plan):
            published_plans[year] = int(row.plan)
    latest = max(y for y in totals if y <= last_year) if any(y <= last_year for y in totals) else max(totals)
    for year in range(FIRST_YEAR - 1, last_year + 1):
        if year not in totals:
            totals[year] = int(round(totals[latest] * 1.03 ** (year - latest)))
            shares[year] = shares[latest]
    return Calibration(totals, shares, partial, national_plans(published_plans, totals, last_year))


PLAN_GROWTH = 1.03
"""Yearly growth assumed for a national plan not (yet) published, from the nearest published one."""


def national_plans(published: dict[int, int], totals: dict[int, int], last_year: int) -> dict[int, int]:
    """The national quota of every demo year: the published plan where there is one, else the
    nearest published plan carried at :data:`PLAN_GROWTH` a year; with no plan published at all,
    last year's departures plus 5% (how provinces set quotas)."""
    plans: dict[int, int] = {}
    for year in range(FIRST_YEAR, last_year + 1):
        if year in published:
            plans[year] = published[year]
        elif published:
            nearest = min(published, key=lambda y: (abs(y - year), -y))
            plans[year] = int(round(published[nearest] * PLAN_GROWTH ** (year - nearest)))
        else:
            plans[year] = int(round(totals.get(year - 1, totals[year]) * 1.05))
    return plans


def monthly_targets(cal: Calibration, year: int) -> np.ndarray:
    """Departures per month of ``year``: seasonality × total, exact to the published part-year."""
    if year in cal.partial:
        last, published = cal.partial[year]
        head = _integer_split(published, SEASONALITY[:last])
        tail_total = int(round(published * SEASONALITY[last:].sum() / SEASONALITY[:last].sum()))
        return np.concatenate([head, _integer_split(tail_total, SEASONALITY[last:])])
    return _integer_split(cal.totals[year], SEASONALITY)


def _integer_split(total: int, weights: np.ndarray) -> np.ndarray:
    """Largest-remainder split of ``total`` by ``weights`` (sums exactly, deterministic)."""
    raw = total * np.asarray(weights, dtype=float) / np.sum(weights)
    base = np.floor(raw).astype(np.int64)
    order = np.argsort(-(raw - base), kind="stable")
    base[order[: total - int(base.sum())]] += 1
    return base


@dataclass
class DemoData:
    """The generated tables, ready to insert."""

    departures: pd.DataFrame
    quotas: pd.DataFrame
    job_fairs: pd.DataFrame


def generate(communes: pd.DataFrame, calibration_csv: Path, seed: int, today: dt.date) -> DemoData:
    """Generate demo statistics for every 2025 commune from January 2023 to ``today``'s month.

    ``communes`` needs columns ``code``, ``parent_code`` (province) and ``population``.
    """
    rng = np.random.default_rng(seed)
    communes = communes.sort_values("code").reset_index(drop=True)
    n = len(communes)
    province = communes["parent_code"].to_numpy()
    pop = communes["population"].fillna(communes["population"].median()).to_numpy(dtype=float)
    cal = read_calibration(calibration_csv, today.year)
    markets = [m[0] for m in MARKETS]

    prov_factor = np.array([PROVINCE_PROPENSITY.get(p, 0.7) for p in province])
    base_effect = rng.lognormal(0.0, 0.7, n)
    base_effect[rng.random(n) < 0.03] = 0.0              # a few communes send nobody
    tilt_by_province = {p: rng.lognormal(0.0, 0.35, len(markets)) for p in sorted(set(province))}
    tilt = np.stack([tilt_by_province[p] for p in province])  # commune x market
    mountain = np.isin(province, list(MOUNTAIN_PROVINCES))

    frames: list[pd.DataFrame] = []
    yearly: dict[int, np.ndarray] = {}
    effect = base_effect.copy()
    for year in range(FIRST_YEAR, today.year + 1):
        effect = effect * rng.lognormal(0.0, 0.25, n)    # communes drift year to year
        propensity = pop * prov_factor * effect
        months = monthly_targets(cal, year)
        last_month = 12 if year < today.year else today.month
        counts = np.zeros(n, dtype=np.int64)
        for m in range(1, last_month + 1):
            target = int(months[m - 1])
            if (year, m) == (today.year, today.month):  # the month in progress: the days gone by
                target = int(round(target * month_fraction(today)))
            per_market = _integer_split(target, np.array([cal.shares[year][k] for k in markets]))
            for k, market in enumerate(markets):
                if per_market[k] == 0:
                    continue
                p = propensity * tilt[:, k]
                idx = rng.choice(n, size=int(per_market[k]), p=p / p.sum())
                counts += np.bincount(idx, minlength=n)
                frames.append(_attributes(rng, idx, market, mountain, dt.date(year, m, 1)))
        yearly[year] = counts
    workers = pd.concat(frames, ignore_index=True)
    workers["commune_code"] = communes["code"].to_numpy()[workers.pop("idx").to_numpy()]
    departures = (workers.groupby(["month", "commune_code", "market", "sex", "channel", "priority_group"],
                                  as_index=False).size().rename(columns={"size": "departures"}))
    departures["is_demo"] = True

    quotas = _quotas(rng, communes, cal, yearly, today)
    job_fairs = _job_fairs(rng, communes, today)
    return DemoData(departures, quotas, job_fairs)


def month_fraction(today: dt.date) -> float:
    """Share of today's month gone by (today included): what the month in progress holds."""
    return today.day / calendar.monthrange(today.year, today.month)[1]


def _attributes(rng: np.random.Generator, idx: np.ndarray, market: str, mountain: np.ndarray,
                month: dt.date) -> pd.DataFrame:
    """Sex, channel and priority group of each worker going to ``market``."""
    size = len(idx)
    male = rng.random(size) < MALE_SHARE.get(market, 0.65)
    channel_p = CHANNEL_MIX.get(market, (1.0, 0.0, 0.0))
    channel = rng.choice(len(CHANNELS), size=size, p=channel_p)
    in_mountain = mountain[idx]
    group = np.where(in_mountain,
                     rng.choice(len(DEMO_GROUPS), size=size, p=PRIORITY_MOUNTAIN),
                     rng.choice(len(DEMO_GROUPS), size=size, p=PRIORITY_BASE))
    return pd.DataFrame({
        "month": month, "idx": idx, "market": market,
        "sex": np.where(male, "nam", "nu"),
        "channel": np.array([c[0] for c in CHANNELS])[channel],
        "priority_group": np.array(DEMO_GROUPS)[group],
    })


def _quotas(rng: np.random.Generator, communes: pd.DataFrame, cal: Calibration,
            yearly: dict[int, np.ndarray], today: dt.date) -> pd.DataFrame:
    """Quotas the way they are set: the national plan pushed down to communes.

    Each year's national quota is the published plan (:attr:`Calibration.plans`); it is split over
    communes by last year's result (the first year by population and province propensity) with a
    growth target that varies by commune, every commune getting at least :data:`QUOTA_FLOOR`, by
    largest remainder so the communes add up to the plan exactly. Province quotas are the sum of
    their communes'. Attainment then follows from the departures, which follow the published totals.
    """
    codes = communes["code"].to_numpy()
    province = communes["parent_code"].to_numpy()
    pop = communes["population"].fillna(communes["population"].median()).to_numpy(dtype=float)
    prov_factor = np.array([PROVINCE_PROPENSITY.get(p, 0.7) for p in province])
    previous = pop * prov_factor
    rows: list[pd.DataFrame] = []
    for year in range(FIRST_YEAR, today.year + 1):
        growth = np.maximum(0.5, 1.05 + rng.normal(0.0, 0.08, len(codes)))
        weight = np.maximum(previous, 0.2 * previous.mean()) * growth
        plan = cal.plans[year]
        floor = min(QUOTA_FLOOR, plan // max(1, len(codes)))
        quota = floor + _integer_split(plan - floor * len(codes), weight)
        rows.append(pd.DataFrame({"year": year, "unit_code": codes, "unit_level": "commune",
                                  "quota": quota, "province": province}))
        previous = yearly[year].astype(float) if yearly[year].sum() > 0 else previous
    commune_q = pd.concat(rows, ignore_index=True)
    province_q = (commune_q.groupby(["year", "province"], as_index=False)["quota"].sum()
                  .rename(columns={"province": "unit_code"}).assign(unit_level="province"))
    out = pd.concat([commune_q.drop(columns="province"), province_q], ignore_index=True)
    out["is_demo"] = True
    out["source"] = "demo"
    return out[["year", "unit_code", "unit_level", "quota", "is_demo", "source"]]


def _job_fairs(rng: np.random.Generator, communes: pd.DataFrame, today: dt.date) -> pd.DataFrame:
    """Monthly job-fair attendance per commune around the directive's 4 a month, with laggards."""
    n = len(communes)
    months = pd.date_range(dt.date(FIRST_YEAR, 1, 1), dt.date(today.year, today.month, 1), freq="MS")
    level = rng.lognormal(np.log(5.0), 0.45, n)
    lam = level[None, :] * rng.lognormal(0.0, 0.3, (len(months), n))
    lam[-1] *= month_fraction(today)  # the month in progress: only the fairs held so far
    attendees = rng.poisson(lam)
    registrations = rng.binomial(attendees, 0.45)
    return pd.DataFrame({
        "month": np.repeat(months.date, n),
        "commune_code": np.tile(communes["code"].to_numpy(), len(months)),
        "attendees": attendees.ravel(),
        "orientation_registrations": registrations.ravel(),
        "is_demo": True,
    })


AGE_P = np.array([0.01, 0.72, 0.15, 0.10, 0.02])
"""Share of workers by age group (16–17, 18–30, 31–35, 36–45, over 45): mostly young adults."""
QUALIFICATION_P = np.array([0.42, 0.30, 0.13, 0.08, 0.06, 0.008, 0.002])
"""Share by qualification (none, primary vocational, ... doctorate): most unqualified or primary."""
OCCUPATION_P = np.array([0.45, 0.15, 0.12, 0.06, 0.12, 0.10])


def departures_profile(departures: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Age group, qualification and occupation of the demo departures, per commune, month and sex.

    Each worker draws a category; the counts per commune-month-sex therefore add up exactly to the
    departures of that commune, month and sex."""
    from xkld_geo.reporting.profiles import AGE_GROUPS, OCCUPATIONS, QUALIFICATIONS

    rng = np.random.default_rng(seed + 23)
    groups = departures.groupby(["month", "commune_code", "sex"], as_index=False)["departures"].sum()
    groups = groups[groups["departures"] > 0].reset_index(drop=True)
    who = np.repeat(np.arange(len(groups)), groups["departures"].to_numpy(dtype=np.int64))
    ages = np.array(list(AGE_GROUPS))[rng.choice(len(AGE_P), len(who), p=AGE_P)]
    quals = np.array(list(QUALIFICATIONS))[rng.choice(len(QUALIFICATION_P), len(who), p=QUALIFICATION_P)]
    occs = np.array(list(OCCUPATIONS))[rng.choice(len(OCCUPATION_P), len(who), p=OCCUPATION_P / OCCUPATION_P.sum())]
    workers = pd.DataFrame({"g": who, "age_group": ages, "qualification": quals, "occupation": occs})
    counts = workers.groupby(["g", "age_group", "qualification", "occupation"], as_index=False).size()
    out = groups.drop(columns="departures").iloc[counts["g"].to_numpy()].reset_index(drop=True)
    out = pd.concat([out, counts.drop(columns="g").rename(columns={"size": "departures"})], axis=1)
    out["is_demo"] = True
    return out
