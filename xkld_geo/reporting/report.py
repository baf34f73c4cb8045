"""The figures of the official periodic report a province sends up (month, quarter, half, year).

:func:`parse_period` reads '2026-11', '2026-Q3', '2026-H1' or '2026'; :func:`gather` assembles every
section's figures for one province from the same queries the pages use (``v_attainment``-consistent
year-to-date attainment, :func:`overview.build_overview` for pace and projection, job fairs, loans,
completeness, people in charge), and :mod:`xkld_geo.reporting.document` lays them out as a DOCX. A period
without any departures is refused with :class:`ReportError`: no document of zeros is made.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Mapping

import duckdb
import pandas as pd

from xkld_geo.database import db
from xkld_geo.errors import XkldError
from xkld_geo.figures import metrics, periods, queries
from xkld_geo.reporting import approval, completeness, people, profiles
from xkld_geo.views import jobfairs, overview
from xkld_geo.views import problems as problem_view

CONTINENTS: dict[str, str] = {"DE": "Châu Âu", "HU": "Châu Âu", "RO": "Châu Âu", "PL": "Châu Âu", "RU": "Châu Âu"}
"""Market → continent (every other market of the reference table is in Asia)."""
CONTINENT_ORDER = ("Châu Á", "Châu Âu", "Châu Phi", "Châu Mỹ", "Châu Đại Dương")
MAIN_MARKETS = ("JP", "TW", "KR")


class ReportError(XkldError):
    """A report cannot be made (details: period, province, reason)."""


@dataclass(frozen=True)
class ReportPeriod:
    """Months ``first``..``last`` of ``year``; ``kind`` is month, quarter, half or year."""

    year: int
    first: int
    last: int
    kind: str
    label: str

    @property
    def months(self) -> range:
        return range(self.first, self.last + 1)


def parse_period(text: str) -> ReportPeriod:
    """'2026-11' (month), '2026-Q3' (quarter), '2026-H1' (half year) or '2026' (year)."""
    t = str(text).strip().upper()
    if m := re.fullmatch(r"(\d{4})-(\d{1,2})", t):
        year, month = int(m[1]), int(m[2])
        if 1 <= month <= 12:
            return ReportPeriod(year, month, month, "month", f"tháng {month}/{year}")
    if m := re.fullmatch(r"(\d{4})-Q([1-4])", t):
        year, q = int(m[1]), int(m[2])
        return ReportPeriod(year, 3 * q - 2, 3 * q, "quarter", f"quý {['I', 'II', 'III', 'IV'][q - 1]} năm {year}")
    if m := re.fullmatch(r"(\d{4})-H([12])", t):
        year, h = int(m[1]), int(m[2])
        return ReportPeriod(year, 6 * h - 5, 6 * h, "half", f"{'6 tháng đầu' if h == 1 else '6 tháng cuối'} năm {year}")
    if re.fullmatch(r"\d{4}", t):
        return ReportPeriod(int(t), 1, 12, "year", f"năm {t}")
    raise ReportError(f"Kỳ báo cáo '{text}' không hợp lệ; dùng dạng 2026-11, 2026-Q3, 2026-H1 hoặc 2026.",
                      field="period", value=text, allowed=["YYYY-MM", "YYYY-Qn", "YYYY-Hn", "YYYY"])


@dataclass
class ReportData:
    """Every figure of one province's report."""

    period: ReportPeriod
    province: str
    province_name: str
    today: dt.date
    demo: bool
    communes: pd.DataFrame       # unit_code, unit_name, quota, period, ytd, attainment_pct, pace_pct
    totals: Mapping[str, object]
    headline: overview.PeriodHeadline
    overview_view: overview.Overview
    priority: pd.DataFrame       # group name, departures, share
    markets: pd.DataFrame        # market, continent, departures, share
    jobfairs: Mapping[str, object]
    problems: pd.DataFrame
    completeness: completeness.Shares
    completeness_units: pd.DataFrame
    lagging: pd.DataFrame        # communes below 50% of pace, with their people in charge
    form: pd.DataFrame           # the ministry-shaped statistical table (rows communes)
    window_note: str
    last: int = 0                # the period's last month with data (``period.last`` or today's month)
    approval_note: str = ""      # how many commune-months were left out as not approved yet

    def span(self, year_to_date: bool = False, last: int | None = None) -> str:
        """The months a section covers, said in the document: 'tháng 10/2026', 'tháng 7–9/2026', or
        from January ('tháng 1–10/2026') for year-to-date figures (``last``: another last month)."""
        last = last or self.last or self.period.last
        first = 1 if year_to_date else self.period.first
        months = f"{last}" if first == last else f"{first}–{last}"
        return f"tháng {months}/{self.period.year}"


def _departures(con: duckdb.DuckDBPyConnection, year: int, first: int, last: int, province: str) -> pd.DataFrame:
    return db.run(con, "report_departures", """
        SELECT d.commune_code, d.market, d.sex, d.priority_group, SUM(d.departures) AS departures
        FROM departures d JOIN v_communes c ON c.commune_code = d.commune_code
        WHERE c.province_code = $p AND d.month BETWEEN make_date($y, $f, 1) AND make_date($y, $l, 1)
        GROUP BY ALL""", {"p": province, "y": int(year), "f": int(first), "l": int(last)})


def _profile(con: duckdb.DuckDBPyConnection, year: int, first: int, last: int, province: str) -> pd.DataFrame:
    return db.run(con, "report_profile", """
        SELECT p.commune_code, p.age_group, p.qualification, SUM(p.departures) AS departures
        FROM departures_profile p JOIN v_communes c ON c.commune_code = p.commune_code
        WHERE c.province_code = $p AND p.month BETWEEN make_date($y, $f, 1) AND make_date($y, $l, 1)
        GROUP BY ALL""", {"p": province, "y": int(year), "f": int(first), "l": int(last)})


def statistical_form(communes: pd.DataFrame, dep: pd.DataFrame, prof: pd.DataFrame) -> pd.DataFrame:
    """Rows = communes (+ a total row); columns = total, by sex, age group, qualification, continent, market.

    Age group and qualification come from ``departures_profile``; a commune-month without a profile
    (an imported report) is counted in 'Chưa phân loại' so every column group adds up to the total."""
    codes = list(communes["unit_code"])
    out = pd.DataFrame({"Mã": codes, "Xã/phường": list(communes["unit_name"])}).set_index("Mã", drop=False)
    total = dep.groupby("commune_code")["departures"].sum().reindex(codes).fillna(0)
    out["Tổng số"] = total
    for sex, label in (("nam", "Nam"), ("nu", "Nữ")):
        out[label] = dep[dep["sex"] == sex].groupby("commune_code")["departures"].sum().reindex(codes).fillna(0)
    for col, labels in (("age_group", profiles.AGE_GROUPS), ("qualification", profiles.QUALIFICATIONS)):
        part = prof.pivot_table(index="commune_code", columns=col, values="departures", aggfunc="sum")
        part = part.reindex(index=codes, columns=list(labels)).fillna(0)
        for key, label in labels.items():
            out[label] = part[key]
        rest = total - part.sum(axis=1)
        if (rest != 0).any():
            out[f"Chưa phân loại ({'tuổi' if col == 'age_group' else 'trình độ'})"] = rest
    dep = dep.assign(continent=dep["market"].map(lambda m: CONTINENTS.get(m, "Châu Á")))
    cont = dep.pivot_table(index="commune_code", columns="continent", values="departures", aggfunc="sum")
    for c in CONTINENT_ORDER:
        out[c] = cont.reindex(index=codes)[c].fillna(0) if c in cont else 0
    for m, label in (("JP", "Nhật Bản"), ("TW", "Đài Loan"), ("KR", "Hàn Quốc")):
        out[label] = dep[dep["market"] == m].groupby("commune_code")["departures"].sum().reindex(codes).fillna(0)
    out["Thị trường khác"] = total - out[["Nhật Bản", "Đài Loan", "Hàn Quốc"]].sum(axis=1)
    out = out.reset_index(drop=True)
    numbers = out.columns[2:]
    out[numbers] = out[numbers].astype(int)
    total_row = pd.DataFrame([["", "Tổng cộng", *out[numbers].sum().tolist()]], columns=out.columns)
    return pd.concat([out, total_row], ignore_index=True)


def gather(con: duckdb.DuckDBPyConnection, period: ReportPeriod, province: str, today: dt.date,
           due_day: int, approved_only: bool = True) -> ReportData:
    """Every section's figures for ``province`` and ``period`` (refused when the period has no data).

    The official report counts approved figures only (``approved_only``): the departures of
    commune-months received but not approved are left out, and the report says how many."""
    queries.check_code("tỉnh", province, 2)
    unit = queries.unit(con, province)
    if unit.empty or unit["level"].iloc[0] != "province":
        raise ReportError(f"Không có tỉnh mã {province}.", field="province", value=province)
    if dt.date(period.year, period.first, 1) > today:
        raise ReportError(f"Kỳ {period.label} chưa bắt đầu.", field="period", value=period.label)
    last = period.last if dt.date(period.year, period.last, 1) <= today else today.month
    dep = approval.counted_departures(con, period.year, period.first, last, province, approved_only)
    if dep.empty or int(dep["departures"].sum()) == 0:
        raise ReportError(f"Tỉnh {unit['name'].iloc[0]} chưa có số liệu xuất cảnh {period.label}; không lập báo cáo.",
                          field="period", value=period.label, province=province, reason="no_data")
    view = overview.build_overview(con, overview.Request(period.year, last, province), "", today, due_day)
    rows = queries.period_attainment(con, period.year, last, "commune", province)
    in_period = dep.groupby("commune_code")["departures"].sum()
    p = periods.period(period.year, last, today)
    communes = pd.DataFrame({"unit_code": rows["unit_code"], "unit_name": rows["unit_name"],
                             "quota": rows["quota"].fillna(0).astype(int),
                             "period": rows["unit_code"].map(in_period).fillna(0).astype(int),
                             "ytd": rows["ytd"].fillna(0).astype(int)})
    if approved_only:   # the year to date from approved figures too
        ytd = approval.counted_departures(con, period.year, 1, last, province).groupby("commune_code")["departures"].sum()
        communes["ytd"] = communes["unit_code"].map(ytd).fillna(0).astype(int)
    communes["attainment_pct"] = metrics.round_half_up_series(
        100.0 * communes["ytd"] / communes["quota"].where(communes["quota"] > 0))
    communes["pace_pct"] = metrics.round_half_up_series(100.0 * communes["ytd"] / (
        communes["quota"] * p.elapsed / 12.0).where(communes["quota"] > 0))
    totals = {"quota": int(communes["quota"].sum()), "period": int(communes["period"].sum()),
              "ytd": int(communes["ytd"].sum())}
    groups = dict(zip(*db.run(con, "report_groups", "SELECT code, name_vi FROM priority_groups")[["code", "name_vi"]]
                      .to_numpy().T))
    prio = dep.groupby("priority_group", as_index=False)["departures"].sum()
    prio["Nhóm"] = prio["priority_group"].map(groups)
    prio["Tỷ lệ (%)"] = metrics.round_half_up_series(100.0 * prio["departures"] / totals["period"])
    names = dict(zip(*db.run(con, "report_markets", "SELECT code, name_vi FROM markets")[["code", "name_vi"]]
                     .to_numpy().T))
    markets = dep.groupby("market", as_index=False)["departures"].sum().sort_values("departures", ascending=False)
    markets["Thị trường"] = markets["market"].map(names).fillna(markets["market"])
    markets["Châu lục"] = markets["market"].map(lambda m: CONTINENTS.get(m, "Châu Á"))
    markets["Tỷ lệ (%)"] = metrics.round_half_up_series(100.0 * markets["departures"] / totals["period"])
    fairs = jobfairs.province_total(jobfairs.compliance(jobfairs.monthly(con, period.year, last, province, today,
                                                                         due_day)))
    fairs["last"] = jobfairs.last_month(period.year, last, today, due_day)   # months whose report is due
    table = completeness.cells(con, dt.date(period.year, period.first, 1), dt.date(period.year, last, 1), today,
                               due_day, province)
    comp_units = completeness.by_unit(table, "commune")
    who = people.contacts(con, province)
    lag = communes[communes["pace_pct"].notna() & (communes["pace_pct"] < 50)].join(who, on="unit_code")
    form = statistical_form(communes, dep, _profile(con, period.year, period.first, last, province))
    note = (f"Số liệu tính đến hết tháng {last}/{period.year}" if last == period.last else
            f"Số liệu tính đến ngày {today:%d/%m/%Y} (kỳ chưa kết thúc)")
    if period.kind == "year":
        note += (". Thông tư 21/2021/TT-BLĐTBXH (Điều 15) quy định số liệu báo cáo năm tính từ ngày 15/12 năm trước "
                 "đến ngày 14/12; số liệu của hệ thống được tổng hợp theo tháng nên báo cáo này dùng tháng 1–12 "
                 f"năm {period.year}, số liệu nửa cuối tháng 12 được cập nhật khi có.")
    counts = approval.received_counts(con, period.year, period.first, last, province)
    return ReportData(period, province, str(unit["name"].iloc[0]), today, view.demo, communes, totals,
                      view.headline, view, prio, markets, fairs,
                      problem_view.problems(con, period.year, last, province), completeness.shares(table),
                      comp_units, lag, form, note, last, approval.approved_note(counts) if approved_only else
                      "Tính mọi số liệu đã nhận, kể cả chưa phê duyệt.")
