"""Year-end departures with an 80 % range, for the nation, each province and each commune, by a
method chosen on the past.

*The question.* At the end of month ``m`` of a year (the cut-off: months 1..m are complete), how
many people will have left by 31 December? The answer is the departures to date plus a forecast of
the months still to come, ``R``. Every method below forecasts ``R`` for each commune; provinces and
the nation are the sums of their communes, so the figures of a level always add up to the level
above (a bottom-up hierarchy). The one exception is the overview's old one-number method
(:data:`CURRENT`, :func:`xkld_geo.figures.periods.projection`), kept beside them as the reference.

*The candidates* (:data:`CANDIDATES`):

- ``seasonal_naive``: the commune's departures of the same months last year;
- ``seasonal_ratio``: the same, times its province's pace against last year to date (year to date
  ÷ the same months last year);
- ``ets``: exponential smoothing (Holt–Winters: level and additive seasonality on log(1 +
  departures), no trend, :mod:`statsmodels`) of the national monthly series, shared out to the
  communes in proportion to their ``seasonal_ratio`` forecasts (top-down). Its parameters are fitted
  once a year, on the series to the end of January, and run over each later cut-off's months (one
  optimisation a year instead of eleven, nothing from after the January); where the series to
  January has fewer than 24 months the method takes ``seasonal_ratio`` as it is.

*The backtest* (:func:`backtest`) replays every cut-off month 1–11 of the complete years of
2021–2025 that have a year before them (a seasonal method needs last year), and scores each method
at each level: MAPE (mean |forecast − outcome| / outcome, over units whose outcome is above 0) and
bias (the same, signed). The method with the lowest provincial MAPE over the whole backtest is the
one used (:attr:`Backtest.chosen`).

*The range* is empirical: the ratios ``(actual R + 1) / (forecast R + 1)`` of the backtest, pooled
by level (the nation; the provinces; communes by the size of their forecast) and by quarter of the
cut-off month (a class of fewer than :data:`MIN_SAMPLES` takes its whole level), give their 10th
and 90th percentiles; a forecast's range is its ``R`` scaled by them, widened where needed to hold
the central figure. The coverage printed for a backtest year is computed with the percentiles of the *other*
years alone (leave one year out), so it is the coverage a new year can expect, not a fitted one.
The same ratios give the probability of reaching the quota (their share above the ratio the quota
needs).
"""
from __future__ import annotations

import datetime as dt
import functools
import math
import warnings
from dataclasses import dataclass, field

import duckdb
import numpy as np
import pandas as pd

from xkld_geo.database import cache, db
from xkld_geo.figures import periods

BACKTEST_YEARS = range(2021, 2026)
"""Years the backtest may replay (those complete and with a year of data before them)."""
NOMINAL = 0.80
LOWER_Q, UPPER_Q = 0.10, 0.90
CURRENT = "current"
CANDIDATES = ("seasonal_naive", "seasonal_ratio", "ets")
DEFAULT = "seasonal_ratio"
"""The method used where no year can be replayed (no backtest, no range)."""
METHOD_LABELS = {
    CURRENT: "Cách hiện hành (lũy kế ÷ tỷ lệ năm trước đã đạt đến cùng thời điểm; một con số)",
    "seasonal_naive": "Mùa vụ đơn giản (lũy kế + các tháng còn lại của năm trước)",
    "seasonal_ratio": "Mùa vụ theo nhịp của tỉnh (các tháng còn lại của năm trước × nhịp năm nay so cùng kỳ "
                      "của tỉnh; cộng từ xã lên tỉnh, cả nước)",
    "ets": "San bằng mũ ETS (statsmodels) chuỗi tháng cả nước, chia xuống tỉnh và xã theo cách mùa vụ theo nhịp",
}
SHORT_LABELS = {CURRENT: "Hiện hành", "seasonal_naive": "Mùa vụ đơn giản", "seasonal_ratio": "Mùa vụ theo nhịp",
                "ets": "ETS"}
LEVELS = ("nation", "province", "commune")
LEVEL_LABELS = {"nation": "Toàn quốc", "province": "Tỉnh/thành", "commune": "Xã/phường"}
NATION = "VN"
"""The nation's unit code in the forecast tables."""
BANDS = ((1, 3), (4, 6), (7, 9), (10, 11))
"""Cut-off months pooled for the range (one quarter of the year each)."""
COMMUNE_SIZES = (5.0, 20.0, 60.0)
"""Edges of the communes' classes by forecast of the remaining months (people)."""
MIN_SAMPLES = 10
"""A class with fewer backtest ratios takes the percentiles of its whole level."""
ETS_MIN_MONTHS = 24


@dataclass(frozen=True)
class History:
    """Monthly departures of every commune, from January of ``first_year``."""

    communes: np.ndarray      # commune codes (C,)
    provinces: np.ndarray     # the province code of each commune (C,)
    first_year: int
    values: np.ndarray        # (C, 12 × years): departures per month, 0 where none
    last: tuple[int, int]     # the last (year, month) with departures, (0, 0) when none

    @functools.cached_property
    def province_codes(self) -> np.ndarray:
        """The provinces, sorted."""
        return np.unique(self.provinces)

    @functools.cached_property
    def province_index(self) -> np.ndarray:
        """Each commune's position in :attr:`province_codes`."""
        return np.searchsorted(self.province_codes, self.provinces)

    def year(self, year: int) -> np.ndarray | None:
        """The (C, 12) months of ``year``, or None outside the history."""
        i = year - self.first_year
        if i < 0 or 12 * (i + 1) > self.values.shape[1]:
            return None
        return self.values[:, 12 * i: 12 * (i + 1)]

    def complete(self, year: int) -> bool:
        """Whether every month of ``year`` has been reported (the history runs past its December)."""
        return self.year(year) is not None and self.last >= (year, 12)

    def national_until(self, year: int, month: int) -> np.ndarray:
        """The national monthly series from the first month to ``month`` of ``year``."""
        end = 12 * (year - self.first_year) + month
        return self.values[:, :max(0, end)].sum(axis=0)

    def by_province(self, x: np.ndarray) -> np.ndarray:
        """Sums of a per-commune array per province (rows of a 2-D array)."""
        idx, n = self.province_index, len(self.province_codes)
        if x.ndim == 1:
            return np.bincount(idx, weights=x, minlength=n)
        return np.stack([np.bincount(idx, weights=x[:, j], minlength=n) for j in range(x.shape[1])], axis=1)


def load_history(con: duckdb.DuckDBPyConnection) -> History:
    """Every commune's monthly departures (communes without any have zeros)."""
    df = db.run(con, "forecast_history", """
        SELECT c.commune_code, c.province_code, CAST(year(d.month) AS INTEGER) AS y,
               CAST(month(d.month) AS INTEGER) AS m, CAST(SUM(d.departures) AS DOUBLE) AS n
        FROM v_communes c LEFT JOIN departures d ON d.commune_code = c.commune_code
        GROUP BY ALL ORDER BY 1""")
    units = df.drop_duplicates("commune_code")
    codes = units["commune_code"].to_numpy(dtype=str)
    provinces = units["province_code"].to_numpy(dtype=str)
    data = df.dropna(subset=["y"])
    first = int(data["y"].min()) if len(data) else 2021
    last_year = int(data["y"].max()) if len(data) else first
    values = np.zeros((len(codes), 12 * (last_year - first + 1)))
    if len(data):
        row = np.searchsorted(codes, data["commune_code"].to_numpy(dtype=str))
        col = 12 * (data["y"].to_numpy(int) - first) + data["m"].to_numpy(int) - 1
        np.add.at(values, (row, col), data["n"].to_numpy(float))
        top = data[data["y"] == last_year]["m"].max()
        last = (last_year, int(top))
    else:
        last = (0, 0)
    return History(codes, provinces, first, values, last)


# --- the methods ---------------------------------------------------------------------------------

def _pace(h: History, this: np.ndarray, last: np.ndarray, month: int) -> np.ndarray:
    """Each commune's province's year to date ÷ the same months last year (1 where last year had none)."""
    ytd_p, ly_p = h.by_province(this[:, :month].sum(1)), h.by_province(last[:, :month].sum(1))
    return np.divide(ytd_p, ly_p, out=np.ones_like(ytd_p), where=ly_p > 0)[h.province_index]


@functools.lru_cache(maxsize=64)
def _ets_parameters(series: tuple[float, ...]) -> tuple[float, float, float, tuple[float, ...]] | None:
    """Holt–Winters on log(1 + y) fitted to ``series`` (statsmodels): smoothing of level and season,
    initial level and seasons; None where the series is too short or the fit fails."""
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    y = np.log1p(np.asarray(series, dtype=float))
    if len(y) < ETS_MIN_MONTHS:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            p = ExponentialSmoothing(y, trend=None, seasonal="add", seasonal_periods=12,
                                     initialization_method="estimated").fit(use_brute=False).params
        except (ValueError, np.linalg.LinAlgError):
            return None
    found = (float(p["smoothing_level"]), float(p["smoothing_seasonal"]), float(p["initial_level"]),
             tuple(float(v) for v in p["initial_seasons"]))
    return found if all(np.isfinite(found[:3])) else None


@functools.lru_cache(maxsize=512)
def _ets_remaining(series: tuple[float, ...], horizon: int, estimated_on: int) -> float | None:
    """The national departures of the next ``horizon`` months after ``series``, by the Holt–Winters
    model whose parameters were fitted to its first ``estimated_on`` months (the January cut-off
    of the year: one fit a year, the later cut-offs only run the fitted model over their months,
    with nothing from after the January), or None. Both kept per process: a past cut-off's series
    does not change when this month's reports come in."""
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    params = _ets_parameters(series[:estimated_on])
    if params is None or horizon <= 0:
        return None
    level, season, initial, seasons = params
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            model = ExponentialSmoothing(np.log1p(np.asarray(series, dtype=float)), trend=None, seasonal="add",
                                         seasonal_periods=12, initialization_method="known", initial_level=initial,
                                         initial_seasonal=np.asarray(seasons))
            fit = model.fit(smoothing_level=level, smoothing_seasonal=season, optimized=False)
            ahead = np.expm1(np.asarray(fit.forecast(horizon), dtype=float)).clip(0)
        except (ValueError, np.linalg.LinAlgError):
            return None
    return float(ahead.sum()) if np.isfinite(ahead).all() else None


def remaining(h: History, year: int, month: int, method: str) -> np.ndarray | None:
    """Each commune's forecast of months ``month + 1``..12 of ``year`` made at the end of ``month``
    by a method of :data:`CANDIDATES`; None where last year is not in the history."""
    this, last = h.year(year), h.year(year - 1)
    if this is None or last is None:
        return None
    naive = last[:, month:].sum(1)
    if method == "seasonal_naive":
        return naive
    ratio = naive * _pace(h, this, last, month)
    if method == "seasonal_ratio":
        return ratio
    if method == "ets":
        january = 12 * (year - h.first_year) + 1
        total = _ets_remaining(tuple(h.national_until(year, month).tolist()), 12 - month, january)
        if total is None:
            return ratio
        base = ratio.sum()
        return ratio * (total / base) if base > 0 else np.full(len(ratio), total / max(1, len(ratio)))
    raise ValueError(f"unknown method {method}")


def _factor(ly: np.ndarray, month: int) -> np.ndarray:
    """:func:`xkld_geo.figures.periods.projection`'s factor for whole months, row by row of (n, 12) last
    years: last year's total ÷ its months to ``month`` where every month had departures, else 12 ÷
    ``month``."""
    total, done = ly.sum(1), ly[:, :month].sum(1)
    seasonal = (ly > 0).all(1) & (total > 0)
    out = np.full(len(ly), 12.0 / month)
    np.divide(total, done, out=out, where=seasonal & (done > 0))
    return out


def current_method(h: History, year: int, month: int) -> dict[str, np.ndarray] | None:
    """The overview's one-number projection at each level: year to date × the factor of the unit's
    own last year (a commune takes its province's, as the overview's ranking of a province does)."""
    this, last = h.year(year), h.year(year - 1)
    if this is None or last is None:
        return None
    ytd = this[:, :month].sum(1)
    ytd_p, ly_p = h.by_province(ytd), h.by_province(last)
    f_p = _factor(ly_p, month)
    return {"nation": ytd.sum() * _factor(last.sum(0)[None, :], month),
            "province": ytd_p * f_p, "commune": ytd * f_p[h.province_index]}


def _levels(h: History, per_commune: np.ndarray) -> np.ndarray:
    """A per-commune array and its sums: the nation first, then provinces, then communes."""
    return np.concatenate([[per_commune.sum()], h.by_province(per_commune), per_commune])


def unit_frame(h: History) -> pd.DataFrame:
    """Level, unit code and province of the rows of :func:`_levels`."""
    p = h.province_codes
    return pd.DataFrame({"level": ["nation"] + ["province"] * len(p) + ["commune"] * len(h.communes),
                         "unit_code": np.concatenate([[NATION], p, h.communes]),
                         "province_code": np.concatenate([[None], p, h.provinces])})


# --- the range ------------------------------------------------------------------------------------

GROUPS = ("Tỉnh", *(f"Xã, dự báo các tháng còn lại {lo:g}–{hi:g} người" for lo, hi in
                    zip((0.0, *COMMUNE_SIZES), COMMUNE_SIZES)), f"Xã, từ {COMMUNE_SIZES[-1]:g} người", "Toàn quốc")
"""The level groups whose backtest ratios are pooled (each split by :data:`BANDS`)."""


def stratum(levels: np.ndarray, month: int | np.ndarray, rem: np.ndarray) -> np.ndarray:
    """The class whose backtest ratios give a forecast's range, as ``group × len(BANDS) + band``:
    group 0 is the provinces, 1..4 communes by forecast of the remaining months
    (:data:`COMMUNE_SIZES`), 5 the nation (:data:`GROUPS`); the band is the quarter of the
    cut-off month (:data:`BANDS`)."""
    band = np.searchsorted([b[1] for b in BANDS], np.asarray(month), side="left")
    size = 1 + np.searchsorted(COMMUNE_SIZES, np.asarray(rem, float), side="right")
    levels = np.asarray(levels)
    group = np.where(levels == "commune", size, np.where(levels == "nation", len(GROUPS) - 1, 0))
    return (group * len(BANDS) + band).astype(int)


def ratio(actual_rem: np.ndarray, rem: np.ndarray) -> np.ndarray:
    """The backtest's error of a remaining-months forecast: log((actual + 1) / (forecast + 1))."""
    return np.log((np.asarray(actual_rem, float).clip(0) + 1.0) / (np.asarray(rem, float).clip(0) + 1.0))


@dataclass(frozen=True)
class Calibration:
    """The backtest's log ratios per stratum (and per level group, key ``-1 - group``, as the
    fall-back of a thin stratum), sorted: their percentiles give ranges, their shares above a
    needed ratio the probability of reaching a quota."""

    samples: dict[int, np.ndarray] = field(default_factory=dict)

    @staticmethod
    def of(strata: np.ndarray, errors: np.ndarray) -> Calibration:
        """Pool ``errors`` by stratum and by level group."""
        strata, errors = np.asarray(strata, int), np.asarray(errors, float)
        order = np.lexsort((errors, strata))
        strata, errors = strata[order], errors[order]
        keys, starts = np.unique(strata, return_index=True)
        samples = {int(k): part for k, part in zip(keys, np.split(errors, starts[1:]))}
        groups = strata // len(BANDS)
        for g in np.unique(groups):
            samples[-1 - int(g)] = np.sort(errors[groups == g])
        return Calibration(samples)

    def pool(self, stratum_: int) -> np.ndarray | None:
        """The ratios of ``stratum_``, or of its level group where it has fewer than :data:`MIN_SAMPLES`."""
        found = self.samples.get(int(stratum_))
        if found is not None and len(found) >= MIN_SAMPLES:
            return found
        return self.samples.get(-1 - int(stratum_) // len(BANDS))

    def bounds(self, strata: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The 10th and 90th percentiles of each stratum's ratios (NaN where none)."""
        strata = np.asarray(strata, int)
        lo, hi = np.full(len(strata), np.nan), np.full(len(strata), np.nan)
        for s in np.unique(strata):
            pool = self.pool(int(s))
            if pool is not None and len(pool):
                at = strata == s
                lo[at], hi[at] = np.quantile(pool, LOWER_Q), np.quantile(pool, UPPER_Q)
        return lo, hi

    def exceed(self, strata: np.ndarray, needed: np.ndarray) -> np.ndarray:
        """Share of each stratum's ratios at or above ``needed`` (NaN where none)."""
        strata = np.asarray(strata, int)
        out = np.full(len(strata), np.nan)
        for s in np.unique(strata):
            pool = self.pool(int(s))
            if pool is not None and len(pool):
                at = strata == s
                out[at] = 1.0 - np.searchsorted(pool, needed[at], side="left") / len(pool)
        return out


def interval(ytd: np.ndarray, rem: np.ndarray, lo_q: np.ndarray, hi_q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The range of year-end figures: year to date + the remaining forecast scaled by the
    percentiles, widened where needed to hold the central figure (a range beside its point, never
    away from it; the backtest counts coverage with the same rule)."""
    base = np.asarray(rem, float).clip(0) + 1.0
    lo_q, hi_q = np.fmin(lo_q, 0.0), np.fmax(hi_q, 0.0)
    lo_q, hi_q = np.where(np.isnan(lo_q), np.nan, lo_q), np.where(np.isnan(hi_q), np.nan, hi_q)
    return ytd + (base * np.exp(lo_q) - 1.0).clip(0), ytd + (base * np.exp(hi_q) - 1.0).clip(0)


# --- the backtest ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Backtest:
    """Every replayed forecast: one row per year, cut-off month, method and unit."""

    years: tuple[int, ...]
    records: pd.DataFrame   # year, month, method, level, unit_code, ytd, rem, forecast, actual, stratum, err,
                            # lo, hi, covered (lo/hi/covered for the candidates only)
    chosen: str

    def scores(self, by: tuple[str, ...] = ("year", "month", "level", "method")) -> pd.DataFrame:
        """MAPE, bias (%) and coverage of the 80 % range (%), grouped ``by``."""
        return scores(self.records, by)

    def calibration(self, method: str | None = None, leave_out: int | None = None) -> Calibration:
        """The ratios of ``method`` (the chosen one) in every backtest year but ``leave_out``."""
        r = self.records
        keep = (r["method"].to_numpy() == (method or self.chosen)) & (r["year"].to_numpy() != leave_out)
        return Calibration.of(r["stratum"].to_numpy()[keep], r["err"].to_numpy()[keep])

    def skill(self) -> Skill:
        """What forecasts need of this backtest, without its replayed rows (the shared cache keeps
        this: a few MB instead of every unit's every replay)."""
        return Skill(self.years, self.chosen, {lv: self.coverage(lv) for lv in LEVELS},
                     {lv: self.mape(lv) for lv in LEVELS}, {lv: self.mape(lv, CURRENT) for lv in LEVELS},
                     {y: self.calibration(self.chosen, y) for y in (None, *self.years)} if self.years else {})

    def coverage(self, level: str) -> float | None:
        """Share (%) of the chosen method's ranges that held the outcome at ``level``."""
        r = self.records
        sel = r[(r["method"] == self.chosen) & (r["level"] == level)]
        return float(100.0 * sel["covered"].mean()) if len(sel) else None

    def mape(self, level: str, method: str | None = None) -> float | None:
        """The MAPE (%) of ``method`` (the chosen one) over the whole backtest at ``level``."""
        r = self.records
        sel = r[(r["method"] == (method or self.chosen)) & (r["level"] == level) & (r["actual"] > 0)]
        return float(100.0 * ((sel["forecast"] - sel["actual"]).abs() / sel["actual"]).mean()) if len(sel) else None


@dataclass(frozen=True)
class Skill:
    """The chosen method of a backtest, its record per level, and the ratios its ranges are drawn
    from (per backtest year left out; None: every year, for a year outside the backtest)."""

    years: tuple[int, ...]
    chosen: str
    coverage: dict[str, float | None]        # level -> coverage (%) of the chosen method's range
    mape: dict[str, float | None]            # level -> MAPE (%) of the chosen method
    current_mape: dict[str, float | None]    # level -> MAPE (%) of the current method
    calibrations: dict[int | None, Calibration]

    def calibration(self, year: int) -> Calibration | None:
        """The ratios for a forecast of ``year`` (that year left out), None without a backtest."""
        return self.calibrations.get(year if year in self.years else None)


def scores(records: pd.DataFrame, by: tuple[str, ...]) -> pd.DataFrame:
    """MAPE and bias (%, over units whose outcome is above 0) and coverage (%, over every unit; NaN
    for the current method, which has no range) of ``records`` grouped ``by``."""
    r = records[records["actual"] > 0]
    rel = (r["forecast"] - r["actual"]) / r["actual"]
    errors = pd.DataFrame({k: r[k] for k in by} | {"ape": rel.abs() * 100.0, "pe": rel * 100.0})
    out = errors.groupby(list(by), sort=True, observed=True).agg(mape=("ape", "mean"), bias=("pe", "mean"), units=("ape", "size"))
    held = pd.DataFrame({k: records[k] for k in by} | {"covered": records["covered"].astype(float) * 100.0})
    return out.join(held.groupby(list(by), sort=True, observed=True).agg(coverage=("covered", "mean"))).reset_index()


def backtest_years(h: History) -> tuple[int, ...]:
    """The years of :data:`BACKTEST_YEARS` that are complete and have last year in the history."""
    return tuple(y for y in BACKTEST_YEARS if h.complete(y) and h.year(y - 1) is not None)


def backtest(h: History, years: tuple[int, ...] | None = None, methods: tuple[str, ...] = CANDIDATES) -> Backtest:
    """Replay every cut-off month 1–11 of ``years`` (default :func:`backtest_years`) with the
    current method and ``methods``; the ranges of a year come from the other years' ratios (leave
    one year out)."""
    years = backtest_years(h) if years is None else tuple(years)
    units = unit_frame(h)
    kinds = [CURRENT, *CANDIDATES]
    blocks: dict[str, list[np.ndarray]] = {k: [] for k in ("year", "month", "method", "ytd", "rem", "forecast",
                                                            "actual")}

    def add(year: int, month: int, method: str, ytd: np.ndarray, rem: np.ndarray, forecast: np.ndarray,
            actual: np.ndarray) -> None:
        n = len(ytd)
        for key, value in (("year", np.full(n, year)), ("month", np.full(n, month)),
                           ("method", np.full(n, kinds.index(method))), ("ytd", ytd), ("rem", rem),
                           ("forecast", forecast), ("actual", actual)):
            blocks[key].append(value)

    for year in years:
        this = h.year(year)
        assert this is not None
        actual = _levels(h, this.sum(1))
        for month in range(1, 12):
            ytd = _levels(h, this[:, :month].sum(1))
            old = current_method(h, year, month)
            assert old is not None
            add(year, month, CURRENT, ytd, np.full(len(ytd), np.nan),
                np.concatenate([old["nation"], old["province"], old["commune"]]), actual)
            for method in methods:
                rem = remaining(h, year, month, method)
                assert rem is not None
                rem_all = _levels(h, rem)
                add(year, month, method, ytd, rem_all, ytd + rem_all, actual)
    columns = ["year", "month", "method", "level", "unit_code", "province_code", "ytd", "rem", "forecast",
               "actual"]
    if not blocks["year"]:
        empty = pd.DataFrame(columns=[*columns, "stratum", "err", "lo", "hi", "covered"])
        return Backtest(years, empty, DEFAULT)
    repeats = len(blocks["year"])
    records = pd.DataFrame({
        "year": np.concatenate(blocks["year"]), "month": np.concatenate(blocks["month"]),
        "method": pd.Categorical.from_codes(np.concatenate(blocks["method"]), categories=kinds),
        "level": pd.Categorical(np.tile(units["level"].to_numpy(), repeats), categories=list(LEVELS)),
        "unit_code": np.tile(units["unit_code"].to_numpy(), repeats),
        "province_code": np.tile(units["province_code"].to_numpy(), repeats),
        **{k: np.concatenate(blocks[k]) for k in ("ytd", "rem", "forecast", "actual")}})
    method_of, year_of = records["method"].to_numpy(), records["year"].to_numpy()
    cand = method_of != CURRENT
    rem, ytd, actual = (records[c].to_numpy(dtype=float) for c in ("rem", "ytd", "actual"))
    strata = np.full(len(records), -1)
    strata[cand] = stratum(records["level"].to_numpy()[cand], records["month"].to_numpy()[cand], rem[cand])
    err = np.where(cand, ratio(actual - ytd, np.nan_to_num(rem)), np.nan)
    lo, hi, covered = (np.full(len(records), np.nan) for _ in range(3))
    for method in methods:
        mine = method_of == method
        for year in years:
            calib = Calibration.of(strata[mine & (year_of != year)], err[mine & (year_of != year)])
            at = mine & (year_of == year)
            lo_q, hi_q = calib.bounds(strata[at])
            lo[at], hi[at] = interval(ytd[at], rem[at], lo_q, hi_q)
            held = (np.round(lo[at]) <= actual[at]) & (actual[at] <= np.round(hi[at]))
            covered[at] = np.where(np.isnan(lo_q), np.nan, held.astype(float))
    records = records.assign(stratum=strata, err=err, lo=lo, hi=hi, covered=covered)
    prov = scores(records[records["level"] == "province"], ("method",)).set_index("method")["mape"]
    prov.index = prov.index.astype(str)
    ranked = prov.reindex(list(methods)).dropna()
    chosen = str(ranked.idxmin()) if len(ranked) else DEFAULT
    return Backtest(years, records, chosen)


# --- the forecast of a year ------------------------------------------------------------------------

@dataclass(frozen=True)
class YearEnd:
    """Year-end forecasts of every unit made at the end of ``month`` of ``year``."""

    year: int
    month: int                     # the cut-off: months 1..month complete
    method: str
    table: pd.DataFrame            # level, unit_code, province_code, quota, ytd, forecast, lo, hi, p_reach,
                                   # needed_per_month (NaN where there is no quota or no range)
    backtest_years: tuple[int, ...]
    coverage: dict[str, float | None]   # level -> backtest coverage (%) of the chosen method's range
    mape: dict[str, float | None]       # level -> backtest MAPE (%) of the chosen method
    current_mape: dict[str, float | None]

    def row(self, level: str, code: str) -> pd.Series | None:
        """The forecast of one unit, or None."""
        t = self.table
        found = t[(t["level"] == level) & (t["unit_code"] == code)]
        return found.iloc[0] if len(found) else None

    def units(self, level: str, province: str | None = None, communes: frozenset[str] | None = None) -> pd.DataFrame:
        """The rows of ``level``, of ``province`` only, and of ``communes`` only when given (an
        account's scope)."""
        t = self.table[self.table["level"] == level]
        if province is not None and level != "nation":
            t = t[t["province_code"] == province]
        if communes is not None and level == "commune":
            t = t[t["unit_code"].isin(communes)]
        return t.reset_index(drop=True)

    def explanation(self, is_demo: bool) -> str:
        """Which method, on what data, how often right: one Vietnamese paragraph."""
        return explanation(self.method, self.backtest_years, self.coverage, self.mape, self.current_mape,
                           self.year, self.month, is_demo)


def _pct(value: float | None) -> str:
    return "–" if value is None or math.isnan(value) else f"{value:.1f}%".replace(".", ",")


def explanation(method: str, years: tuple[int, ...], coverage: dict[str, float | None],
                mape: dict[str, float | None], current_mape: dict[str, float | None], year: int, month: int,
                is_demo: bool) -> str:
    """The Vietnamese note every forecast carries: method, data, backtest record."""
    data = (f"Dữ liệu: số người xuất cảnh hằng tháng của từng xã, tính đến hết tháng {month}/{year}"
            + (" (Dữ liệu minh họa)." if is_demo else "."))
    if not years:
        return (f"Phương pháp: {METHOD_LABELS[method]}. {data} Chưa có năm đủ số liệu để kiểm định trên quá khứ, "
                "nên chưa có khoảng dự báo.")
    span = f"{years[0]}–{years[-1]}" if len(years) > 1 else str(years[0])
    return (f"Phương pháp: {METHOD_LABELS[method]}, được chọn vì sai số nhỏ nhất khi chạy lại các năm {span}. "
            f"{data} Khoảng 80% lấy từ sai số thực tế của các lần chạy lại; khoảng đã chứa kết quả thật "
            f"{_pct(coverage.get('nation'))} số lần ở cấp toàn quốc, {_pct(coverage.get('province'))} ở cấp tỉnh, "
            f"{_pct(coverage.get('commune'))} ở cấp xã. Sai số trung bình (MAPE) ở cấp tỉnh "
            f"{_pct(mape.get('province'))}, cách hiện hành {_pct(current_mape.get('province'))}.")


def quotas(con: duckdb.DuckDBPyConnection, year: int) -> pd.Series:
    """Each commune's quota of ``year`` (by commune code)."""
    df = db.run(con, "forecast_quotas", """
        SELECT unit_code, CAST(quota AS DOUBLE) AS quota FROM quotas WHERE year = $y AND unit_level = 'commune'""",
                {"y": int(year)})
    return pd.Series(df["quota"].to_numpy(), index=df["unit_code"].to_numpy(dtype=str))


def year_end(h: History, skill: Skill, quota: pd.Series, year: int, month: int) -> YearEnd | None:
    """The forecasts of ``year`` made at the end of ``month`` (1–12) by the backtest's chosen
    method, their ranges from the backtest years other than ``year``, the probability of reaching
    the quota and the departures a month it needs from then on. None where the history has no
    ``year`` or no year before it, or ``month`` is 0 (no complete month yet)."""
    this = h.year(year)
    if this is None or not 1 <= month <= 12:
        return None
    method = skill.chosen
    rem_c = np.zeros(len(h.communes)) if month == 12 else remaining(h, year, month, method)
    if rem_c is None:
        return None
    ytd, rem = _levels(h, this[:, :month].sum(1)), _levels(h, rem_c)
    units = unit_frame(h)
    q_c = quota.reindex(h.communes).to_numpy(dtype=float)
    has_quota = ~np.isnan(q_c)
    mask = np.concatenate([[has_quota.any()], h.by_province(has_quota.astype(float)) > 0, has_quota])
    q = np.where(mask, _levels(h, np.nan_to_num(q_c)), np.nan)
    strata = stratum(units["level"].to_numpy(), month, rem)
    if month == 12:
        lo_q = hi_q = np.zeros(len(rem))
        p = np.where(ytd >= q, 1.0, 0.0)
    elif (calib := skill.calibration(year)) is not None:
        lo_q, hi_q = calib.bounds(strata)
        need = ratio(q - ytd, rem)
        p = np.where(q - ytd <= 0, 1.0, calib.exceed(strata, need))
    else:
        lo_q = hi_q = p = np.full(len(rem), np.nan)
    lo, hi = interval(ytd, rem, lo_q, hi_q)
    left = 12 - month
    needed = np.where(left > 0, (q - ytd).clip(0) / max(left, 1), 0.0)
    table = units.assign(quota=q, ytd=ytd, forecast=ytd + rem, lo=lo, hi=hi,
                         p_reach=np.where(np.isnan(q) | (q <= 0), np.nan, p), needed_per_month=needed)
    return YearEnd(year, month, method, table, skill.years, skill.coverage, skill.mape, skill.current_mape)


# --- shared per data version ----------------------------------------------------------------------

def shared_history(con: duckdb.DuckDBPyConnection) -> History:
    """:func:`load_history`, once per data version (read only)."""
    return cache.scope(con).get("forecast_history", load_history)


def _skill(con: duckdb.DuckDBPyConnection) -> Skill:
    return backtest(shared_history(con)).skill()


def shared_skill(con: duckdb.DuckDBPyConnection) -> Skill:
    """:func:`backtest` of the database's history as a :class:`Skill`, once per data version (read only)."""
    return cache.scope(con).get("forecast_skill", _skill)


def ready(con: duckdb.DuckDBPyConnection) -> bool:
    """False while the warm-up of a process that just started (or of a new data version) is
    computing the backtest (``cache.deferred("forecast_skill")``) and it is not stored yet: the
    overview then shows its page without the year-end forecast instead of waiting seconds for it."""
    return not cache.deferred("forecast_skill") or cache.scope(con).has("forecast_skill")


def _year_end(con: duckdb.DuckDBPyConnection, year: int, month: int) -> YearEnd | None:
    return year_end(shared_history(con), shared_skill(con), quotas(con, year), year, month)


def forecast(con: duckdb.DuckDBPyConnection, year: int, month: int) -> YearEnd | None:
    """:func:`year_end` of ``year`` at the end of ``month``, once per data version and shared by
    every session (read only): the overview, the outlook page and the report read it."""
    return cache.scope(con).get("forecast_year_end", _year_end, int(year), int(month))


def cutoff(h: History, today: dt.date) -> tuple[int, int]:
    """The latest cut-off to forecast from: the last complete month by ``today``, or the last
    month with data when that is earlier."""
    return min(periods.last_complete(today), h.last)


def _fmt(value: float) -> str:
    return "–" if value is None or math.isnan(value) else f"{value:.1f}".replace(".", ",")


def backtest_report(bt: Backtest) -> str:
    """The backtest in Vietnamese: per level, every cut-off month's MAPE and bias (%) of each
    method and the coverage (%) of the candidates' 80 % ranges, then the whole backtest."""
    if not bt.years:
        return ("Chưa có năm nào đủ số liệu để chạy lại (cần một năm đủ 12 tháng trong 2021–2025 và năm trước "
                "nó).")
    methods = [m for m in (CURRENT, *CANDIDATES) if m in set(bt.records["method"].astype(str))]
    lines = [f"Chạy lại dự báo cuối năm trên các năm {', '.join(map(str, bt.years))}, mỗi tháng chốt 1–11 "
             "(tháng 12 là kết quả). MAPE: sai số tuyệt đối trung bình (%); lệch: sai số có dấu trung bình (%, "
             "dương là dự báo cao hơn thực tế), trên các đơn vị có người đi; phủ: tỷ lệ (%) khoảng 80% chứa "
             "kết quả thật, khoảng lấy từ các năm khác (bỏ năm đang thử).",
             *(f"  {SHORT_LABELS[m]}: {METHOD_LABELS[m]}" for m in methods)]
    table = bt.scores()
    for level in LEVELS:
        sub = table[table["level"] == level]
        wide = pd.DataFrame(index=pd.MultiIndex.from_frame(sub[["year", "month"]].drop_duplicates()))
        for m in methods:
            part = sub[sub["method"].astype(str) == m].set_index(["year", "month"])
            wide[f"{SHORT_LABELS[m]} MAPE"] = part["mape"]
            wide[f"{SHORT_LABELS[m]} lệch"] = part["bias"]
            if m != CURRENT:
                wide[f"{SHORT_LABELS[m]} phủ"] = part["coverage"]
        wide.index.names = ["Năm", "Tháng chốt"]
        units = int(sub["units"].max()) if len(sub) else 0
        lines += ["", f"{LEVEL_LABELS[level]} (tối đa {units} đơn vị mỗi lần):",
                  wide.to_string(float_format=_fmt)]
    whole = bt.scores(("level", "method"))
    lines += ["", "Cả quá trình chạy lại:"]
    for level in LEVELS:
        for m in methods:
            row = whole[(whole["level"] == level) & (whole["method"].astype(str) == m)]
            if len(row):
                r = row.iloc[0]
                cov = "" if m == CURRENT else f", phủ {_fmt(r['coverage'])}%"
                lines.append(f"  {LEVEL_LABELS[level]:12} {SHORT_LABELS[m]:18} MAPE {_fmt(r['mape'])}%, "
                             f"lệch {_fmt(r['bias'])}%{cov}")
    lines += ["", f"Phương pháp được chọn (MAPE cấp tỉnh nhỏ nhất): {METHOD_LABELS[bt.chosen]}. "
              f"Khoảng danh nghĩa {NOMINAL:.0%}; phủ thực tế: toàn quốc {_fmt(bt.coverage('nation') or math.nan)}%, "
              f"tỉnh {_fmt(bt.coverage('province') or math.nan)}%, xã {_fmt(bt.coverage('commune') or math.nan)}%."]
    return "\n".join(lines)


def forecast_report(ye: YearEnd, names: dict[str, str], is_demo: bool) -> str:
    """The year-end forecast of the nation and every province, in Vietnamese."""
    def n(v: float) -> str:
        return "–" if v is None or math.isnan(v) else f"{int(round(v)):,}".replace(",", ".")
    lines = [f"Dự báo số người xuất cảnh cả năm {ye.year} (tính đến hết tháng {ye.month}/{ye.year}), khoảng 80%:",
             ye.explanation(is_demo), ""]
    for level in ("nation", "province"):
        for _, r in ye.units(level).iterrows():
            name = "Toàn quốc" if level == "nation" else names.get(str(r["unit_code"]), str(r["unit_code"]))
            p = "–" if math.isnan(r["p_reach"]) else f"{100 * r['p_reach']:.0f}%"
            lines.append(f"  {name:28} {n(r['forecast']):>9} ({n(r['lo'])}–{n(r['hi'])}); chỉ tiêu {n(r['quota'])}, "
                         f"khả năng đạt {p}, cần {n(r['needed_per_month'])} người/tháng")
    return "\n".join(lines)
