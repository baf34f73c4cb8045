"""Demo data of citizen protection, labelled "Dữ liệu minh họa" (``is_demo``): cases, families'
clubs and returnees, never dated after XKLD_TODAY.

Nothing is dated after XKLD_TODAY and nothing is moved onto it: the month in progress holds only
the days gone by, its events fall on those days, and a case's next step is dated only when its day
has come (otherwise the case is still "received"). Calibrated on the demo programme figures already generated: for the last :data:`CASE_MONTHS` months
every contract breach / illegal stay and every fraud report of ``programme_monthly`` becomes a case
(about 40% of breaches are illegal stay), so the figures derived from the register equal the monthly
totals there; workers in difficulty, labour disputes and deaths or accidents are added at small rates
of departures. Older cases are more often closed. Returnees are the programme's returnees split by
market and occupation, about two thirds finding work; about a third of communes have a families' club.
Written after the carry-over of a rebuild: entered rows are kept, demo rows are made anew.
"""
from __future__ import annotations

import datetime as dt

import duckdb
import numpy as np
import pandas as pd

from xkld_geo.database import db
from xkld_geo.protection.cases import KIND_LABELS
from xkld_geo.warehouse.demo import month_fraction

CASE_MONTHS = 12
RETURNEE_MONTHS = 24
AGENCIES = ("Sở Nội vụ", "Công an tỉnh", "UBND xã", "Cục Quản lý lao động ngoài nước", "Đại sứ quán Việt Nam")
OUTCOMES = ("Đã hỗ trợ người lao động về nước", "Doanh nghiệp đã bồi thường", "Đã hòa giải thành",
            "Chuyển cơ quan điều tra", "Phản ánh không có cơ sở")
OCCUPATIONS = {"Cơ khí": 0.22, "Điện tử": 0.14, "Xây dựng": 0.16, "Chế biến thực phẩm": 0.14, "Nông nghiệp": 0.1,
               "Dịch vụ, du lịch": 0.08, "Tự kinh doanh": 0.06, "Chưa xác định": 0.1}
FOUND_WORK = {"Chưa xác định": 0.2}
MARKET_MIX = {"JP": 0.5, "TW": 0.25, "KR": 0.17, "DE": 0.03, "CN": 0.05}
NOTE = "Dữ liệu minh họa"


def _days(rng: np.random.Generator, months: pd.Series, today: dt.date) -> pd.Series:
    """A random day in each month; in the month in progress a day gone by (its monthly figures
    cover only those days), so events keep their daily rate up to today and none is put on it."""
    start = pd.to_datetime(months)
    length = start.dt.days_in_month.to_numpy()
    current = ((start.dt.year == today.year) & (start.dt.month == today.month)).to_numpy()
    length = np.where(current, today.day, length)
    day = start + pd.to_timedelta(rng.integers(0, length), unit="D")
    return day.dt.date


def _fraction(months: pd.Series, today: dt.date) -> np.ndarray:
    """1 for a month gone by, the share of days gone by for the month in progress."""
    start = pd.to_datetime(months)
    current = ((start.dt.year == today.year) & (start.dt.month == today.month)).to_numpy()
    return np.where(current, month_fraction(today), 1.0)


def _or_none(mask: np.ndarray, values: object) -> np.ndarray:
    """``values`` where ``mask`` holds, else None (an object array)."""
    return pd.Series(list(np.asarray(values, dtype=object)), dtype=object).where(pd.Series(mask), None).to_numpy()


def generate_cases(rng: np.random.Generator, monthly: pd.DataFrame, licences: list[str],
                   today: dt.date) -> pd.DataFrame:
    """Cases of the last months from the monthly demo figures (``month, commune_code, breaches,
    fraud_reports, departures``)."""
    since = (pd.Timestamp(today).to_period("M") - (CASE_MONTHS - 1)).to_timestamp()
    m = monthly[pd.to_datetime(monthly["month"]) >= since].reset_index(drop=True)
    counts = {"breach": m["breaches"].to_numpy(int), "fraud": m["fraud_reports"].to_numpy(int),
              "in_difficulty": rng.poisson(0.01 * _fraction(m["month"], today) + m["departures"].to_numpy(float) * 0.004),
              "labour_dispute": rng.poisson(m["departures"].to_numpy(float) * 0.002),
              "death_accident": rng.poisson(m["departures"].to_numpy(float) * 0.0004)}
    parts = []
    for kind, n in counts.items():
        idx = np.repeat(np.arange(len(m)), n)
        kinds = (np.where(rng.random(len(idx)) < 0.4, "illegal_stay", "contract_breach") if kind == "breach"
                 else np.full(len(idx), kind))
        parts.append(pd.DataFrame({"i": idx, "kind": kinds}))
    c = pd.concat(parts, ignore_index=True)
    c["commune_code"] = m["commune_code"].to_numpy()[c["i"]]
    c["opened_on"] = _days(rng, pd.Series(pd.to_datetime(m["month"]).to_numpy()[c["i"]]), today).to_numpy()
    c = c.sort_values(["opened_on", "commune_code", "kind"]).reset_index(drop=True)
    age = np.array([(today - d).days for d in c["opened_on"]])
    u = rng.random(len(c))
    closed = u < np.minimum(0.92, age / 150)
    status = np.where(closed, "closed", np.where(age < 7, "received", np.where(u < 0.97 - 0.4 * (age < 30),
                                                                                "handling", "verifying")))
    progressed = rng.integers(1, 60, len(c))
    reached = progressed <= age   # a step after "received" only once its day has come, never moved onto today
    closed &= reached
    status = np.where(reached, status, "received")
    status_on = [d + dt.timedelta(days=int(p)) if s != "received" else d
                 for d, p, s in zip(c["opened_on"], progressed, status)]
    market = rng.choice(list(MARKET_MIX), size=len(c), p=list(MARKET_MIX.values()))
    tied = c["kind"].isin(["in_difficulty", "death_accident", "labour_dispute", "contract_breach", "fraud"]).to_numpy()
    company = (_or_none(tied & (rng.random(len(c)) < 0.8), rng.choice(licences, size=len(c))) if licences
               else np.full(len(c), None))
    return pd.DataFrame({
        "case_ref": [f"MH-{d.year}-{i + 1:05d}" for i, d in enumerate(c["opened_on"])], "kind": c["kind"],
        "opened_on": c["opened_on"], "commune_code": c["commune_code"], "market": market, "licence_no": company,
        "status": status, "status_on": status_on, "closed_on": _or_none(closed, status_on),
        "agency": rng.choice(AGENCIES, size=len(c)),
        "outcome": _or_none(closed, rng.choice(OUTCOMES, size=len(c))),
        "note": f"{NOTE}: " + c["kind"].map(KIND_LABELS), "import_id": None,
        "updated_at": dt.datetime.combine(today, dt.time(8)), "updated_by": "demo", "is_demo": True})


def generate_clubs(rng: np.random.Generator, yearly: pd.DataFrame, today: dt.date) -> pd.DataFrame:
    """Clubs per commune and year (``year, commune_code, departures``), meetings so far this year."""
    n = len(yearly)
    dep = yearly["departures"].to_numpy(float)
    has = rng.random(n) < np.clip(0.15 + dep / (dep.mean() + 1) * 0.2, 0, 0.85)
    months = np.where(yearly["year"].to_numpy() == today.year, today.month, 12)
    out = pd.DataFrame({"year": yearly["year"], "commune_code": yearly["commune_code"],
                        "clubs": np.where(has, 1 + (rng.random(n) < 0.1), 0),
                        "members": np.where(has, rng.poisson(15 + np.minimum(dep, 200) * 0.25), 0),
                        "meetings": np.where(has, 1 + rng.binomial(months - 1, 0.3), 0), "import_id": None, "is_demo": True})
    return out[out["clubs"] > 0].reset_index(drop=True)


def generate_returnees(rng: np.random.Generator, monthly: pd.DataFrame, today: dt.date) -> pd.DataFrame:
    """Returnees of the last months by market and occupation, from the programme's returnees."""
    since = (pd.Timestamp(today).to_period("M") - (RETURNEE_MONTHS - 1)).to_timestamp()
    m = monthly[(pd.to_datetime(monthly["month"]) >= since) & (monthly["returnees"] > 0)].reset_index(drop=True)
    idx = np.repeat(np.arange(len(m)), m["returnees"].to_numpy(int))
    occupation = rng.choice(list(OCCUPATIONS), size=len(idx), p=list(OCCUPATIONS.values()))
    p_work = np.array([FOUND_WORK.get(o, 0.7) for o in occupation])
    people = pd.DataFrame({"month": m["month"].to_numpy()[idx], "commune_code": m["commune_code"].to_numpy()[idx],
                           "market": rng.choice(list(MARKET_MIX), size=len(idx), p=list(MARKET_MIX.values())),
                           "occupation": occupation, "returned": 1, "found_work": (rng.random(len(idx)) < p_work)})
    out = people.groupby(["month", "commune_code", "market", "occupation"], as_index=False)[
        ["returned", "found_work"]].sum()
    return out.assign(found_work=out["found_work"].astype(int), import_id=None, is_demo=True)


def write_demo(con: duckdb.DuckDBPyConnection, seed: int, today: dt.date) -> dict[str, int]:
    """Replace every demo row of the protection tables (entered rows of the same keys win)."""
    rng = np.random.default_rng(seed + 53)
    monthly = db.run(con, "demo_protection_monthly", """
        SELECT m.month, m.commune_code, m.breaches, m.fraud_reports, m.returnees,
               COALESCE(d.n, 0) AS departures
        FROM programme_monthly m LEFT JOIN (SELECT month, commune_code, sum(departures) AS n FROM departures
                                            GROUP BY ALL) d USING (month, commune_code)
        WHERE m.is_demo AND m.month <= $today ORDER BY m.month, m.commune_code""", {"today": today})
    yearly = db.run(con, "demo_protection_yearly", """
        SELECT CAST(year(month) AS INTEGER) AS year, commune_code, sum(departures) AS departures FROM departures
        WHERE month <= $today GROUP BY ALL ORDER BY 1, 2""", {"today": today})
    licences = sorted(db.run(con, "demo_protection_licences", "SELECT licence_no FROM licensed_companies")["licence_no"])
    frames = {"cases": generate_cases(rng, monthly, licences, today), "family_clubs": generate_clubs(rng, yearly, today),
              "returnees": generate_returnees(rng, monthly, today)}
    keys = {"cases": "case_ref", "family_clubs": "year, commune_code", "returnees": "month, commune_code"}
    for table, frame in frames.items():
        db.execute(con, f"demo_clear_{table}", f"DELETE FROM {table} WHERE is_demo")
        same = " AND ".join(f"x.{k.strip()} = d.{k.strip()}" for k in keys[table].split(","))
        with db.registered(con, "protection_in", frame):
            db.execute(con, f"demo_insert_{table}", f"""
                INSERT INTO {table} BY NAME SELECT * FROM protection_in d
                WHERE NOT EXISTS (SELECT 1 FROM {table} x WHERE {same})""")
    return {t: len(f) for t, f in frames.items()}
