"""The overview leaders open in meetings: attainment map, headline, ranking and trend.

One request (year, month, unit, indicator) gives one :class:`Overview`; the page only wires widgets
to :func:`build_overview` and renders what comes back. Figures are year-to-date up to the chosen
month and coloured against the *expected-by-now* pace (quota × months elapsed / 12), so a commune on
pace is not shown as failing in March. A month in progress is counted to its cut-off day on both
sides (figures, quota share, last year), and the year end is projected with last year's monthly
pattern (:mod:`xkld_geo.figures.periods`).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from typing import Any

import duckdb
import folium
import numpy as np
import pandas as pd

from xkld_geo import maps
from xkld_geo.database import cache
from xkld_geo.errors import QueryError
from xkld_geo.figures import metrics, periods, queries
from xkld_geo.foresight import forecast
from xkld_geo.reporting import approval, completeness
from xkld_geo.views import period_tables

INDICATORS = {"attainment": "Tỷ lệ đạt tiến độ chỉ tiêu",
              "per_1000": "Số người đi trên 1.000 người trong tuổi lao động"}
NATIONAL_LEVELS = {"province": "Theo tỉnh/thành", "commune": "Theo xã/phường (cả nước)"}
UNITS = {"now": "Đơn vị hiện nay (34 tỉnh, 3.321 xã)",
         "then": "Đơn vị thời điểm đó (63 tỉnh, huyện, xã cũ)"}
FIGURES = approval.FIGURES
NOW_LABEL = "Đơn vị hành chính hiện nay (từ 1/7/2025)"
THEN_LABEL = "Đơn vị hành chính thời điểm đó (trước 1/7/2025)"


@dataclass(frozen=True)
class Request:
    """What the user asked to see."""

    year: int
    month: int
    province: str | None = None
    commune: str | None = None
    indicator: str = "attainment"
    national_level: str = "province"
    units: str = "now"
    figures: str = "received"

    @property
    def approved_only(self) -> bool:
        """Whether only approved commune-months count (:data:`FIGURES`)."""
        return self.figures == "approved"

    @property
    def before_reform(self) -> bool:
        """Whether the whole period lies before the 1 July 2025 reform."""
        return self.year < 2025 or (self.year == 2025 and self.month <= 6)

    def __post_init__(self) -> None:
        queries.check_choice("đơn vị", self.units, UNITS)
        if self.units == "then" and not self.before_reform:
            raise QueryError("Chỉ xem được đơn vị cũ cho kỳ trước 1/7/2025.", field="đơn vị",
                             value=self.units, allowed="kỳ kết thúc trước tháng 7/2025")
        queries.check_choice("chỉ số", self.indicator, INDICATORS)
        queries.check_choice("số liệu", self.figures, FIGURES)
        queries.check_choice("cấp hiển thị", self.national_level, NATIONAL_LEVELS)
        queries.check_choice("tháng", self.month, range(1, 13))
        queries.check_code("tỉnh", self.province, 2)
        queries.check_code("xã", self.commune, 5)
        if self.commune and not self.province:
            raise QueryError("Chọn xã cần chọn tỉnh trước.", field="xã", value=self.commune,
                             allowed="một xã của tỉnh đã chọn")


@dataclass(frozen=True)
class PeriodHeadline:
    """Headline numbers of the selection for the period."""

    quota: int
    ytd: int
    attainment_pct: float | None     # ytd / full-year quota
    pace_pct: float | None           # ytd / expected by now
    projected: int                   # year-end at the current pace
    projected_pct: float | None
    communes: int
    communes_below_50: int           # below 50% of the expected-by-now figure
    period_label: str = ""           # "Lũy kế đến hết tháng 11/2026" / "Lũy kế đến ngày 01/12/2026"
    projection_note: str = ""        # which projection method was used, for the tooltip
    projected_low: int | None = None     # the 80 % range of the year-end forecast (None: no backtest)
    projected_high: int | None = None
    reports_received_pct: float | None = None   # monthly departures reports due by today and received
    reports_on_time_pct: float | None = None    # ... received by their due day


@dataclass(frozen=True)
class Overview:
    """Everything the overview page renders."""

    request: Request
    title: str
    period_label: str
    breadcrumbs: list[tuple[str, str | None, str | None]]   # (label, province, commune)
    headline: PeriodHeadline
    ranking: pd.DataFrame
    trend: pd.DataFrame
    map_spec: maps.ChoroplethSpec
    demo: bool
    static_url: str
    unit_names: dict[str, str] = field(default_factory=dict)
    trend_long: pd.DataFrame = field(default_factory=pd.DataFrame)   # (Tháng, Đường, Số người) for the chart
    approval_counts: dict[str, int] = field(default_factory=dict)   # the selection's commune-months by state
    approval_note: str = ""          # which figures count, and how many commune-months wait for approval

    @property
    def fmap(self) -> folium.Map:
        """The whole map in one piece (a standalone page, the tests, the benchmark)."""
        return maps.choropleth_map(self.map_spec, self.static_url)


def _ratio(num: np.ndarray, den: np.ndarray, scale: float = 100.0) -> np.ndarray:
    """``scale × num / den`` where ``den > 0``, NaN elsewhere (no division warnings)."""
    out = np.full(len(den), np.nan)
    ok = den > 0
    np.divide(scale * num, den, out=out, where=ok)
    return out


def enrich(rows: pd.DataFrame, period: periods.Period, projection: periods.Projection) -> pd.DataFrame:
    """Add pace, %, projection, change vs last year, rate per 1,000 and rank change.

    Everything is compared at the period's cut-off: the quota share to that day, and last year's
    figures to the same day (a month in progress takes that fraction of last year's month). The
    rank change of January compares with the December before (last year's full-year result).
    Computed on NumPy arrays and made into one frame (``assign`` inserts column by column): the
    overview enriches a province's communes on every new request, and column-by-column pandas
    arithmetic cost several milliseconds.
    """
    def col(name: str) -> np.ndarray:
        return pd.to_numeric(rows[name], errors="coerce").to_numpy(dtype=float, na_value=np.nan)

    quota, ytd = col("quota"), col("ytd")
    expected = quota * period.elapsed / 12.0
    last = col("ytd_last_year") - (1.0 - period.month_fraction) * col("ly_this_month")
    pace = _ratio(ytd, np.nan_to_num(expected, nan=0.0))
    if period.month > 1:
        prev_expected, prev_done = quota * (period.month - 1) / 12.0, col("ytd_prev_month")
    else:
        prev_expected, prev_done = col("last_year_quota"), col("last_year_total")
    prev_expected = np.nan_to_num(prev_expected, nan=0.0)
    rank = _rank(pd.Series(pace, index=rows.index))
    rank_change: pd.Series | Any = _rank(pd.Series(_ratio(prev_done, prev_expected), index=rows.index)) - rank
    if not (prev_expected > 0).any():
        rank_change = pd.NA  # no ranking the month before (first year of data)
    columns: dict[str, Any] = {name: rows[name] for name in rows.columns}   # as rows.assign(...), in one frame
    columns.update(
        expected=expected, pace_pct=pace, attainment_pct=_ratio(ytd, np.nan_to_num(quota, nan=0.0)),
        projected=np.round(ytd * projection.factor), ytd_last_year=np.round(last),
        change_pct=_ratio(ytd - last, np.nan_to_num(last, nan=0.0)),
        per_1000=_ratio(ytd, col("population") * metrics.WORKING_AGE_SHARE, 1000.0),
        rank=rank, rank_change=rank_change)
    return pd.DataFrame(columns, index=rows.index)


def _rank(pct: pd.Series) -> pd.Series:
    """Emulation rank: 1 = highest %, ties share the best rank, units without a quota last."""
    return pct.rank(ascending=False, method="min", na_option="bottom").astype("Int64")


RANKING_COLUMNS = {
    "rank": "Hạng", "rank_change": "± hạng so tháng trước", "unit_code": "Mã", "unit_name": "Tên",
    "quota": "Chỉ tiêu năm", "ytd": "Đã xuất cảnh (lũy kế)", "expected": "Cần đạt đến nay",
    "pace_pct": "Đạt tiến độ (%)", "attainment_pct": "Đạt chỉ tiêu năm (%)",
    "projected": "Dự báo cả năm", "ytd_last_year": "Cùng kỳ năm trước",
    "change_pct": "So cùng kỳ (%)", "per_1000": "Trên 1.000 người LĐ",
}


def ranking_table(rows: pd.DataFrame) -> pd.DataFrame:
    """The thi đua ranking, best first (rank, then code), with Vietnamese column names."""
    rank = rows["rank"]
    if rank.isna().any():
        order = rows.index.get_indexer(rows[["rank", "unit_code"]].sort_values(["rank", "unit_code"]).index)
    else:   # the usual case, sorted on the two arrays alone (sorting the whole frame cost twice as much)
        order = np.lexsort((rows["unit_code"].to_numpy().astype(str), rank.to_numpy(dtype="int64")))
    table = rows[list(RANKING_COLUMNS)].take(order)
    table.columns = pd.Index(list(RANKING_COLUMNS.values()))
    table["Cần đạt đến nay"] = table["Cần đạt đến nay"].round()
    return table.reset_index(drop=True)


def period_headline(rows: pd.DataFrame, communes: pd.DataFrame, period: periods.Period,
                    projection: periods.Projection) -> PeriodHeadline:
    """Totals over the selection; the below-50% count is over its communes."""
    quota = int(rows["quota"].fillna(0).sum())
    ytd = int(rows["ytd"].fillna(0).sum())
    projected = int(round(ytd * projection.factor))
    below = int((communes["pace_pct"].notna() & (communes["pace_pct"] < 50)).sum())
    return PeriodHeadline(quota, ytd, metrics.attainment_pct(ytd, quota),
                          metrics.pace_pct(ytd, quota, period.elapsed), projected,
                          metrics.attainment_pct(projected, quota), len(communes), below,
                          period.label, projection.explanation)


def with_forecast(head: PeriodHeadline, rows: pd.DataFrame, year_end: forecast.YearEnd, r: Request,
                  is_demo: bool) -> tuple[PeriodHeadline, pd.DataFrame]:
    """The headline's and ranking's year-end figures from the backtested forecast (shared per data
    version, :func:`forecast.forecast`): its central figure, its 80 % range, and a note saying
    which method, on what data and how often its range held, beside the old one-number method."""
    level, code = (("commune", r.commune) if r.commune else ("province", r.province) if r.province
                   else ("nation", forecast.NATION))
    found = year_end.row(level, str(code))
    if found is None:
        return head, rows
    central = int(round(found["forecast"]))
    low, high = (None, None) if pd.isna(found["lo"]) else (int(round(found["lo"])), int(round(found["hi"])))
    note = (f"{year_end.explanation(is_demo)} Cách hiện hành (theo mùa vụ năm trước, một con số): "
            f"{metrics.fmt_int(head.projected)}.")
    head = replace(head, projected=central, projected_pct=metrics.attainment_pct(central, head.quota),
                   projected_low=low, projected_high=high, projection_note=note)
    unit_level = "commune" if len(rows) and len(str(rows["unit_code"].iloc[0])) == 5 else "province"
    table = year_end.units(unit_level)
    central_of = pd.Series(table["forecast"].to_numpy(), index=table["unit_code"].to_numpy())
    rows = rows.assign(projected=np.round(rows["unit_code"].map(central_of).fillna(rows["projected"]).to_numpy(float)))
    return head, rows


def trend_table(monthly: pd.DataFrame, quota: int, month: int) -> pd.DataFrame:
    """Cumulative departures this year (to ``month``) and last year against the pace line."""
    months = monthly["month"].astype(int).to_numpy()
    this_year = monthly["this_year"].astype(float).cumsum().to_numpy()
    return pd.DataFrame({"Năm nay (lũy kế)": np.where(months <= month, this_year, np.nan),
                         "Năm trước (lũy kế)": monthly["last_year"].astype(float).cumsum().to_numpy(),
                         "Tiến độ cần đạt": [metrics.pace(quota, m) for m in months]},
                        index=pd.Index(months, name="Tháng"))


def trend_long(trend: pd.DataFrame) -> pd.DataFrame:
    """:func:`trend_table` in long form for the chart (month, line, people), months without a
    figure left out: ``melt`` and ``dropna`` on twelve rows cost more than the rest of the trend."""
    values = trend.to_numpy(dtype=float).T.ravel()
    long = pd.DataFrame({"Tháng": np.tile(trend.index.to_numpy(), len(trend.columns)),
                         "Đường": np.repeat(np.array(trend.columns, dtype=object), len(trend)),
                         "Số người": values})
    return long[~np.isnan(values)]


def map_properties(rows: pd.DataFrame, indicator: str) -> pd.DataFrame:
    """Map feature properties (tooltip values and fill colour) indexed by unit code."""
    props = pd.DataFrame({"quota": rows["quota"].to_numpy(), "departures": rows["ytd"].to_numpy(),
                          "pct": rows["pace_pct"].round(1).to_numpy(),
                          "change": rows["change_pct"].round(1).to_numpy(),
                          "per1000": rows["per_1000"].round(2).to_numpy()},
                         index=rows["unit_code"].to_numpy())
    classes = maps.PER_1000_CLASSES if indicator == "per_1000" else None
    value = props["per1000"] if indicator == "per_1000" else props["pct"]
    props["fill"] = [maps.colour_for(v, classes) for v in value]
    return props


OLD_TOOLTIP = (("departures", "Đã xuất cảnh", ""),)


def old_units_spec(con: duckdb.DuckDBPyConnection, r: Request, is_demo: bool) -> maps.ChoroplethSpec:
    """The map on the units of the time: old districts nationally, or the old communes that now
    form the chosen province, coloured by departures (they had no quota of their own here)."""
    level = "district" if r.province is None else "commune"
    stats = queries.old_unit_departures(con, r.year, r.month, level, r.province)
    shapes = queries.old_shapes(con, level, "coarse" if level == "district" else "fine", r.province)
    props = pd.DataFrame({"departures": stats["departures"].to_numpy()}, index=stats["unit_code"].to_numpy())
    props = props.reindex(shapes["code"]).fillna({"departures": 0})
    legend = f"departures_{level}"
    props["fill"] = [maps.colour_for(v, maps.LEGENDS[legend][:-1]) for v in props["departures"]]
    overlay = queries.old_shapes(con, "province", "coarse") if r.province is None else \
        queries.shapes(con, "2025", "province", "outline", r.province)
    return maps.ChoroplethSpec(shapes, props, None, f"Người xuất cảnh, T1–T{r.month}/{r.year}",
                               is_demo, overlay=overlay, classes=legend, tooltip=OLD_TOOLTIP,
                               label=THEN_LABEL)


def build_overview(con: duckdb.DuckDBPyConnection, request: Request, static_url: str,
                   today: dt.date | None = None, due_day: int = 5) -> Overview:
    """Assemble map, headline, ranking and trend for one request (and reporting completeness).

    Built once per data version and request, and shared by every session (:mod:`xkld_geo.database.cache`):
    the result is read-only. While a server that just started computes the forecasts' backtest
    (:func:`forecast.ready`), the overview comes without the year-end forecast (its note says
    so) rather than after it; the next page run once it is ready has it."""
    return cache.scope(con).get("overview", _build_overview, request, static_url,
                                today or dt.date.today(), due_day, forecast.ready(con))


def _origins_by_code(con: duckdb.DuckDBPyConnection, province: str) -> pd.DataFrame:
    """:func:`queries.origins` of ``province`` indexed by commune code (shared, read only)."""
    return queries.origins(con, province).set_index("unit_code")


FORECAST_PENDING = ("Dự báo cuối năm theo mô hình đang được tính (máy chủ vừa khởi động hoặc vừa nhận số liệu mới); "
                    "xem lại sau ít giây.")


def _build_overview(con: duckdb.DuckDBPyConnection, request: Request, static_url: str,
                    today: dt.date, due_day: int, with_forecast_model: bool = True) -> Overview:
    r = request
    shared = cache.scope(con)   # the parts, shared with other requests of the same data version
    is_demo = shared.get("meta", queries.meta).get("contains_demo") == "true"
    p = periods.period(r.year, r.month, today)
    approved = r.approved_only
    scope = period_tables.monthly(shared, r.year, r.province, approved)
    projection = periods.projection(p, scope["last_year"].tolist())
    names = dict(zip(*shared.get("provinces", queries.provinces, copy=False)[["code", "name"]].to_numpy().T))
    communes = enrich(period_tables.period_communes(shared, r.year, r.month, r.province, approved), p, projection)
    if r.province is None and r.national_level == "province":
        rows = enrich(period_tables.period_provinces(shared, r.year, r.month, approved), p, projection)
        shapes = shared.get("shapes", queries.shapes, "2025", "province", "coarse")
        context, overlay = None, None
        layers: tuple = ("provinces",)
    elif r.province is None:
        rows = communes
        shapes = shared.get("shapes", queries.shapes, "2025", "commune", "coarse")
        context, overlay = None, shared.get("shapes", queries.shapes, "2025", "province", "coarse")
        layers = ("communes",)
    else:
        if r.province not in names:
            raise QueryError(f"Không có tỉnh mã {r.province}.", field="tỉnh", value=r.province,
                             allowed=sorted(names))
        rows = communes
        shapes = shared.get("shapes", queries.shapes, "2025", "commune", "fine", r.province)
        # every province's outline underneath (the chosen one lies under its communes): one
        # geometry file for every province's map, so a new province sends only its communes' file
        context, overlay = shared.get("shapes", queries.shapes, "2025", "province", "outline"), None
        layers = ("province", r.province)
    selection = rows
    commune_names = dict(zip(communes["unit_code"], communes["unit_name"]))
    if r.commune is not None:
        if r.commune not in commune_names:
            raise QueryError(f"Xã mã {r.commune} không thuộc tỉnh đã chọn.", field="xã",
                             value=r.commune, allowed="một xã của tỉnh đã chọn")
        selection = communes[communes["unit_code"] == r.commune]
    period = p.short
    place = ("cả nước" if r.province is None else names[r.province]) if r.commune is None else \
        f"{commune_names[r.commune]} ({names[r.province]})"
    legend_title = (f"Đạt tiến độ đến {p.until}" if r.indicator == "attainment"
                    else f"Người đi / 1.000 người LĐ, {period}")
    history = shared.get("has_history", queries.has_history)
    if r.units == "then":
        if not history:
            raise QueryError("Cơ sở dữ liệu chưa có đơn vị hành chính cũ và bảng chuyển đổi.",
                             field="đơn vị", value=r.units, allowed=["now"])
        spec = old_units_spec(con, r, is_demo)
    else:
        props = map_properties(rows, r.indicator)
        tooltip = None
        if history and r.province is not None:
            props = props.join(shared.get("origins_by_code", _origins_by_code, r.province, copy=False))
            tooltip = maps.TOOLTIP + (("origin", "Gồm xã cũ", ""),)
        spec = maps.ChoroplethSpec(shapes, props, context, legend_title, is_demo, overlay=overlay,
                                   classes="per_1000" if r.indicator == "per_1000" else "attainment",
                                   tooltip=tooltip, label=NOW_LABEL if history else None,
                                   # the same shapes, tooltip and demo flag draw the same shapes part
                                   layers=(shared.path, shared.version, is_demo, tooltip) + layers
                                   if shared.enabled else None)
    crumbs: list[tuple[str, str | None, str | None]] = [("Toàn quốc", None, None)]
    if r.province:
        crumbs.append((names[r.province], r.province, None))
    if r.commune:
        crumbs.append((commune_names[r.commune], r.province, r.commune))
    monthly = scope if r.commune is None else queries.monthly_departures(con, r.year, r.province, r.commune,
                                                                         approved)
    head = period_headline(selection, communes if r.commune is None else selection, p, projection)
    # the backtested forecast reads every report received: approved figures keep the one-number projection;
    # while the start-up warm-up still computes it, the page shows the projection and says so
    year_end = forecast.forecast(con, r.year, p.month - 1 if p.in_progress else p.month) \
        if with_forecast_model and not approved else None
    if year_end is not None:
        head, rows = with_forecast(head, rows, year_end, r, is_demo)
    elif not with_forecast_model and not approved:
        head = replace(head, projection_note=f"{head.projection_note} {FORECAST_PENDING}".strip())
    trend = trend_table(monthly, head.quota, r.month)
    # one national table of the year's departures reports; each request cuts its part out
    done = completeness.selection_shares(period_tables.report_cells(shared, r.year, today, due_day), r.year, r.month,
                                         r.province, r.commune)
    head = replace(head, reports_received_pct=done.received_pct, reports_on_time_pct=done.on_time_pct)
    counts = shared.get("approval_received", approval.received_counts, r.year, 1, r.month, r.province)
    return Overview(r, f"Xuất khẩu lao động {place}, {period}", period, crumbs, head,
                    ranking_table(rows), trend, spec, is_demo, static_url, names | commune_names,
                    trend_long(trend), counts, approval.figures_note(counts, approved))
