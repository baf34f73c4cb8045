"""Seeded demo ("Dữ liệu minh họa") of the path from the job fair to departure.

Made from the demo job-fair attendance and departures already generated, commune-month by
commune-month, so that every step of the funnel is a part of the one before it: of the people who
registered for orientation at the fair, about 70% are interviewed for one of the orders the province
announces that month, 60% of those pass, 90% of those complete the order's orientation course and
92% of those depart through the order. Orders carry a market (Japan first, as in the departures),
an occupation, places a little above the people passed, and the market's typical cost and income.
Language courses prepare the orders to East Asia and Germany, vocational courses some of the
factory and building orders; general orientation courses of the companies cover most of the other
departures of each commune-month.

Nothing is counted after ``today`` and nothing is moved onto it: an order interviews only on a day
gone by, a course has people who completed it only if it ended by today, an order has departures only
if its departure day has come. Orders already announced whose interviews lie ahead (this month's and
the next two months') are the open orders, with no counts; orders not yet announced are dropped.
The people who depart through orders in a commune and month are never more than that commune's
departures of the month (:func:`within_departures`).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd

from xkld_geo.database import db
from xkld_geo.database.schema.reference import MARKETS
from xkld_geo.reporting.profiles import OCCUPATIONS
from xkld_geo.warehouse.demo import month_fraction

MARKET_P: dict[str, float] = {"JP": 0.48, "TW": 0.26, "KR": 0.10, "DE": 0.05, "CN": 0.03, "HU": 0.03,
                              "SG": 0.02, "PL": 0.02, "RO": 0.01}
OCCUPATION_P = np.array([0.45, 0.15, 0.12, 0.06, 0.12, 0.10])
STEP = {"interviewed": 0.7, "passed": 0.6, "trained": 0.9, "departed": 0.92}
"""Share of each funnel step that reaches the next one."""
LANGUAGE_MARKETS = {"JP", "KR", "TW", "DE"}
COMPANIES = 24
"""Demo licences MH-GP-01 .. MH-GP-24: named in the views as demo companies, never added to the
(public) list of licensed companies."""


@dataclass
class PipelineDemo:
    """The generated tables, ready to insert (every row ``is_demo``)."""

    orders: pd.DataFrame
    interviews: pd.DataFrame
    courses: pd.DataFrame


def _yyyymm(month: pd.Series) -> pd.Series:
    """'YYYYMM' of each month (strftime is slow on half a million rows)."""
    m = pd.to_datetime(month)
    return (m.dt.year * 100 + m.dt.month).astype(str)


def _days(base: pd.Series, days: np.ndarray) -> pd.Series:
    return (pd.to_datetime(base) + pd.to_timedelta(days, unit="D")).dt.date


def _orders(rng: np.random.Generator, cells: pd.DataFrame, today: dt.date) -> tuple[pd.DataFrame, pd.Series]:
    """One to six orders per province-month with interviews; each commune-month picks one.

    The month in progress gets as many orders as a whole month would (its fair registrations cover
    only the days gone by) and, like every month, interview days from the 3rd to the 25th: an order
    whose interview day is still ahead has no interviews yet (see :func:`generate`). Nothing is
    moved onto today."""
    per = cells.groupby(["province_code", "month"], as_index=False)["interviewed"].sum()
    month = pd.to_datetime(per["month"])
    current = ((month.dt.year == today.year) & (month.dt.month == today.month)).to_numpy()
    whole = per["interviewed"] / np.where(current, month_fraction(today), 1.0)
    per["n"] = np.clip(np.ceil(whole / 40), 1, 6).astype(int)
    orders = per.loc[per.index.repeat(per["n"])].reset_index(drop=True)
    orders["j"] = orders.groupby(["province_code", "month"]).cumcount()
    orders["order_code"] = ("MH-" + orders["province_code"] + "-" + _yyyymm(orders["month"])
                            + "-" + (orders["j"] + 1).astype(str).str.zfill(2))
    n = cells.merge(per[["province_code", "month", "n"]], on=["province_code", "month"])["n"].to_numpy()
    pick = (rng.random(len(cells)) * n).astype(int) + 1
    codes = ("MH-" + cells["province_code"] + "-" + _yyyymm(cells["month"]) + "-"
             + pd.Series(pick, index=cells.index).astype(str).str.zfill(2))
    orders["interview_on"] = _interview_days(rng, orders["month"])
    return orders, codes


def _interview_days(rng: np.random.Generator, months: pd.Series) -> list[dt.date]:
    """A day from the 3rd to the 25th of each month."""
    month = pd.to_datetime(months)
    day = rng.integers(3, 26, len(month))
    return [dt.date(m.year, m.month, int(d)) for m, d in zip(month, day)]


def _attributes(rng: np.random.Generator, orders: pd.DataFrame, today: dt.date) -> pd.DataFrame:
    """Market, occupation, company, cost, income and dates of each order."""
    markets = list(MARKET_P)
    weights = np.array(list(MARKET_P.values()))
    orders["market"] = np.array(markets)[rng.choice(len(markets), len(orders), p=weights / weights.sum())]
    occupations = list(OCCUPATIONS)
    orders["occupation"] = np.array(occupations)[rng.choice(len(occupations), len(orders),
                                                            p=OCCUPATION_P / OCCUPATION_P.sum())]
    orders["licence_no"] = [f"MH-GP-{i:02d}" for i in rng.integers(1, COMPANIES + 1, len(orders))]
    income = {m[0]: m[5] for m in MARKETS}
    cost = {m[0]: m[6] for m in MARKETS}
    orders["income_usd"] = (orders["market"].map(income) * rng.lognormal(0, 0.1, len(orders))).round(-1)
    orders["cost_usd"] = (orders["market"].map(cost) * rng.lognormal(0, 0.15, len(orders))).round(-1)
    orders["requirements"] = np.where(orders["occupation"] == "dieu_duong", "Nữ 20–35 tuổi, có chứng chỉ điều dưỡng",
                                      "Nam/nữ 18–35 tuổi, tốt nghiệp THCS trở lên, đủ sức khỏe")
    interview = pd.Series(orders["interview_on"])
    orders["announced_on"] = _days(interview, -rng.integers(15, 45, len(orders)))
    orders["departure_on"] = _days(interview, rng.integers(100, 160, len(orders)))
    orders["province_code"] = orders["province_code"].astype(str)
    return orders


def _course(base: pd.DataFrame, kind: str, prefix: str, provider: str, start: np.ndarray, length: np.ndarray,
            enrolled: np.ndarray, completed: np.ndarray, today: dt.date) -> pd.DataFrame:
    start_on = _days(base["interview_on"], start)
    end_on = _days(pd.Series(start_on, index=base.index), length)
    done = pd.to_datetime(end_on) <= pd.Timestamp(today)
    out = pd.DataFrame({"course_code": prefix + base["order_code"], "commune_code": base["commune_code"],
                        "course_type": kind, "provider": provider, "market": base["market"],
                        "occupation": base["occupation"], "order_code": base["order_code"], "start_on": start_on,
                        "end_on": end_on, "enrolled": enrolled, "completed": np.where(done, completed, 0)})
    return out[pd.to_datetime(out["start_on"]) <= pd.Timestamp(today)]


def generate(communes: pd.DataFrame, job_fairs: pd.DataFrame, departures: pd.DataFrame, seed: int,
             today: dt.date) -> PipelineDemo:
    """Orders, interviews per commune and courses, consistent with the demo fairs and departures."""
    rng = np.random.default_rng(seed + 31)
    province = communes.set_index("code")["parent_code"].astype(str)
    cells = job_fairs[["month", "commune_code", "orientation_registrations"]].copy()
    cells["province_code"] = cells["commune_code"].map(province)
    cells["interviewed"] = rng.binomial(cells["orientation_registrations"].to_numpy(int), STEP["interviewed"])
    cells = cells[(cells["interviewed"] > 0) & cells["province_code"].notna()].reset_index(drop=True)
    cells["passed"] = rng.binomial(cells["interviewed"].to_numpy(int), STEP["passed"])
    orders, cells["order_code"] = _orders(rng, cells, today)
    orders = _attributes(rng, orders, today)
    cells = cells.merge(orders[["order_code", "interview_on", "departure_on", "market", "occupation"]], on="order_code")
    cells = cells[pd.to_datetime(cells["interview_on"]) <= pd.Timestamp(today)].reset_index(drop=True)
    trained = rng.binomial(cells["passed"].to_numpy(int), STEP["trained"])
    departed = rng.binomial(trained, STEP["departed"])
    orientation = _course(cells, "orientation", "GDDH-", "Doanh nghiệp tuyển dụng (minh họa)",
                          rng.integers(70, 80, len(cells)), np.full(len(cells), 14), cells["passed"].to_numpy(),
                          trained, today)
    done = cells.index.isin(orientation.index[orientation["completed"] > 0])
    gone = pd.to_datetime(cells["departure_on"]) <= pd.Timestamp(today)
    cells["departed"] = within_departures(cells.assign(departed=np.where(done & gone, departed, 0)), departures)
    lang = cells[cells["market"].isin(LANGUAGE_MARKETS) & (cells["passed"] > 0)]
    language = _course(lang, "language", "NN-", "Trung tâm ngoại ngữ (minh họa)", rng.integers(5, 10, len(lang)),
                       rng.integers(50, 65, len(lang)), lang["passed"].to_numpy(),
                       rng.binomial(lang["passed"].to_numpy(int), 0.93), today)
    trade = cells[cells["occupation"].isin(["xay_dung", "san_xuat"]) & (cells["passed"] > 0)]
    trade = trade[rng.random(len(trade)) < 0.3]
    vocational = _course(trade, "vocational", "NG-", "Trường cao đẳng nghề (minh họa)", rng.integers(5, 10, len(trade)),
                         rng.integers(30, 45, len(trade)), trade["passed"].to_numpy(),
                         rng.binomial(trade["passed"].to_numpy(int), 0.9), today)
    general = _general_orientation(rng, departures, province, today)
    courses = pd.concat([orientation, language, vocational, general], ignore_index=True)
    courses = courses[courses["enrolled"] > 0].assign(is_demo=True)
    interviewed_on = pd.to_datetime(orders["interview_on"])
    ahead = (interviewed_on > pd.Timestamp(today)).to_numpy()
    orders["status"] = np.where(pd.to_datetime(orders["departure_on"]) <= pd.Timestamp(today), "departed",
                                np.where(ahead, _open_status(rng, len(orders)), "interviewed"))
    orders["places"] = (orders.merge(cells.groupby("order_code", as_index=False)["passed"].sum(), on="order_code",
                                     how="left")["passed"].fillna(0) * rng.uniform(1.0, 1.5, len(orders))).astype(int) + 2
    orders.loc[ahead, "places"] = rng.integers(10, 60, int(ahead.sum()))
    orders = pd.concat([orders, _coming_orders(rng, orders, today)], ignore_index=True)
    orders = orders[pd.to_datetime(orders["announced_on"]) <= pd.Timestamp(today)].assign(is_demo=True)
    interviews = cells[["order_code", "commune_code", "interviewed", "passed", "departed"]].assign(is_demo=True)
    keep = ["order_code", "licence_no", "province_code", "market", "occupation", "places", "requirements", "cost_usd",
            "income_usd", "announced_on", "interview_on", "departure_on", "status", "is_demo"]
    return PipelineDemo(orders[keep], interviews, courses)


def _general_orientation(rng: np.random.Generator, departures: pd.DataFrame, province: pd.Series,
                         today: dt.date) -> pd.DataFrame:
    """The companies' orientation courses for departures outside the fair's orders, per commune-month."""
    dep = departures.groupby(["month", "commune_code"], as_index=False)["departures"].sum()
    dep = dep[dep["departures"] > 0].reset_index(drop=True)
    enrolled = rng.binomial(dep["departures"].to_numpy(int), 0.75)
    month = pd.to_datetime(dep["month"])
    start = (month - pd.Timedelta(days=20)).dt.date
    end = (month - pd.Timedelta(days=6)).dt.date
    out = pd.DataFrame({"course_code": "GDDH-DN-" + dep["commune_code"].map(province).fillna("00") + "-"
                        + _yyyymm(month), "commune_code": dep["commune_code"], "course_type": "orientation",
                        "provider": "Doanh nghiệp dịch vụ (minh họa)", "market": None, "occupation": None,
                        "order_code": None, "start_on": start, "end_on": end, "enrolled": enrolled,
                        "completed": rng.binomial(enrolled, 0.96)})
    return out[pd.to_datetime(out["end_on"]) <= pd.Timestamp(today)]


def _open_status(rng: np.random.Generator, n: int) -> np.ndarray:
    """Status of orders whose interviews lie ahead: mostly announced or recruiting, a few cancelled."""
    return np.where(rng.random(n) < 0.05, "cancelled", np.where(rng.random(n) < 0.5, "announced", "recruiting"))


def _coming_orders(rng: np.random.Generator, orders: pd.DataFrame, today: dt.date) -> pd.DataFrame:
    """Orders of the next two months, as many per province as this month's: the ones already
    announced (``announced_on`` ≤ today, filtered by the caller) are open orders without counts.
    Announcements thus run at the same daily rate up to today; none is moved onto it."""
    this = orders[pd.to_datetime(orders["month"]) == pd.Timestamp(today.year, today.month, 1)]
    per = this.groupby("province_code").size()
    frames = []
    for ahead in (1, 2):
        month = (pd.Timestamp(today.year, today.month, 1) + pd.DateOffset(months=ahead)).date()
        out = pd.DataFrame({"province_code": np.repeat(per.index.to_numpy(), per.to_numpy())})
        out["month"] = month
        out["j"] = out.groupby("province_code").cumcount()
        out["order_code"] = ("MH-" + out["province_code"] + "-" + f"{month:%Y%m}" + "-"
                             + (out["j"] + 1).astype(str).str.zfill(2))
        frames.append(out)
    out = pd.concat(frames, ignore_index=True)
    out["interview_on"] = _interview_days(rng, out["month"])
    out = _attributes(rng, out, today)
    out["status"] = _open_status(rng, len(out))
    out["places"] = rng.integers(10, 60, len(out))
    return out


def within_departures(cells: pd.DataFrame, departures: pd.DataFrame) -> np.ndarray:
    """``cells.departed`` cut so that, in every commune and month of departure, the people who left
    through orders are at most the commune's departures of that month (the departures reports).

    ``cells`` has commune_code, departure_on, departed; ``departures`` month, commune_code,
    departures. Within a commune-month the orders are served in order of departure day."""
    left = departures.assign(month=pd.to_datetime(departures["month"])).groupby(
        ["commune_code", "month"])["departures"].sum()
    c = pd.DataFrame({"commune_code": cells["commune_code"].to_numpy(),
                      "month": pd.to_datetime(cells["departure_on"]).dt.to_period("M").dt.to_timestamp().to_numpy(),
                      "day": pd.to_datetime(cells["departure_on"]).to_numpy(),
                      "departed": cells["departed"].to_numpy(np.int64)}, index=cells.index)
    cap = pd.MultiIndex.from_frame(c[["commune_code", "month"]]).map(left).to_numpy(dtype=float)
    c["cap"] = np.nan_to_num(cap, nan=0.0).astype(np.int64)
    c = c.sort_values(["commune_code", "month", "day"], kind="mergesort")
    before = c.groupby(["commune_code", "month"])["departed"].cumsum() - c["departed"]
    c["kept"] = np.clip(c["cap"] - before, 0, c["departed"])
    return c["kept"].reindex(cells.index).to_numpy(np.int64)


def write_demo(con: duckdb.DuckDBPyConnection, data: PipelineDemo) -> None:
    """Replace the demo rows of the three tables; entered rows (and their keys) are left alone.
    Called after the rebuild's carry-over, like the demo reporting history."""
    for table, frame, key in (("recruitment_orders", data.orders, ("order_code",)),
                              ("order_interviews", data.interviews, ("order_code", "commune_code")),
                              ("training_courses", data.courses, ("course_code", "commune_code"))):
        same = " AND ".join(f"x.{c} = d.{c}" for c in key)
        frame = frame.assign(**{c: pd.to_datetime(frame[c]) for c in frame.columns if c.endswith("_on")})
        db.execute(con, f"demo_pipeline_clear_{table}", f"DELETE FROM {table} WHERE is_demo")
        with db.registered(con, "pipeline_demo_in", frame):
            db.execute(con, f"demo_pipeline_{table}", f"""
                INSERT INTO {table} BY NAME SELECT * FROM pipeline_demo_in d
                WHERE NOT EXISTS (SELECT 1 FROM {table} x WHERE {same})""")
