"""The public summary: aggregates only, small counts suppressed so they cannot be worked out.

Rules (issue 7): no individual record ever; a count from 1 to ``threshold - 1`` is shown as
"< threshold", and further cells are hidden (:data:`SECONDARY`) until no hidden figure can be worked
out from anything the public screen publishes, on any of its views. The views are linked: the
national table publishes each province's total, which is also the total of that province's commune
table and of its market table; the national market table publishes each market's total, the sum of
that market over all the province views. Suppressing view by view let a reader subtract across them
(a province's "< 5" for China came back as national China minus the other provinces), so the
pattern is computed once on the whole national cube (:class:`Cube`, :func:`suppression_pattern`)
and every view reads its labels from that one pattern (:class:`PublicFigures`). Priority-group
breakdowns are never public below the province.

Across months (issue 13): every month of a year is published (the screen lets anyone choose one),
so the pattern of a month is computed with all the months before it, once for the whole year
(:func:`disclosure.year_pattern`, sequential release), and kept in memory per year, published
months, threshold and data version (:func:`year_figures`). The maths lives in
:mod:`xkld_geo.disclosure`; this module builds the views.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Sequence

import duckdb
import numpy as np
import pandas as pd

from xkld_geo import db, disclosure, maps, metrics, queries
from xkld_geo.disclosure import (  # noqa: F401 - the screen's rules, re-exported for callers
    SECONDARY, THRESHOLD, Cube, Equation, Key, bounds, exposed, suppress, suppression_pattern,
    total_label)
from xkld_geo.settings import load_settings

NOTICE_KEYS = {"hotline": "Đường dây nóng", "fraud_warning": "Cảnh báo lừa đảo",
               "about": "Giới thiệu chương trình"}
DEFAULT_NOTICES = {
    "hotline": "Đường dây nóng tư vấn xuất khẩu lao động: liên hệ Sở Nội vụ tỉnh/thành nơi bạn cư trú.",
    "fraud_warning": "Chỉ đăng ký qua doanh nghiệp được cấp phép hoặc Trung tâm Dịch vụ việc làm. "
                     "Không nộp tiền cho cá nhân môi giới; không có 'suất đi nhanh' hay 'bao đậu'.",
    "about": "Thông tin công khai về chỉ tiêu và kết quả đưa người lao động đi làm việc ở nước ngoài.",
}

DDL = """
CREATE TABLE IF NOT EXISTS public_notices (
    key VARCHAR PRIMARY KEY,
    text VARCHAR NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    updated_by VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS licensed_companies (
    licence_no VARCHAR PRIMARY KEY,
    name VARCHAR NOT NULL,
    province_code VARCHAR,
    markets VARCHAR,
    valid_until DATE
);
"""


@dataclass(frozen=True)
class PublicFigures:
    """One period's national cube with its one suppression pattern: every view reads from it."""

    cube: Cube
    hidden: dict[Key, str]
    markets: pd.DataFrame  # code, name, safe: in display order, the same on every view

    def label(self, key: Key) -> int | str:
        """What the screen shows for a figure: its number, or its hidden label."""
        return self.hidden.get(key, self.cube.values.get(key, 0))


def _year_flows(con: duckdb.DuckDBPyConnection, year: int, last: int) -> pd.DataFrame:
    """Departures per month (1..``last``), commune and market, for the communes of the current map."""
    return db.run(con, "public_year_markets", """
        SELECT CAST(month(d.month) AS INTEGER) AS m, c.province_code, d.commune_code, d.market,
               SUM(d.departures) AS n
        FROM departures d JOIN v_communes c ON c.commune_code = d.commune_code
        WHERE d.month >= make_date($year, 1, 1) AND d.month < make_date($year, $last, 1) + INTERVAL 1 MONTH
        GROUP BY ALL""", {"year": int(year), "last": int(last)})


def _data_version(con: duckdb.DuckDBPyConnection, year: int) -> str:
    """A fingerprint of everything the year's figures are made of (departures, markets, communes)."""
    df = db.run(con, "public_data_version", """
        SELECT (SELECT count(*) || ':' || COALESCE(sum(departures), 0) || ':'
                       || COALESCE(bit_xor(hash(commune_code, month, market, sex, channel,
                                                priority_group, departures)), 0)
                FROM departures WHERE month >= make_date($year, 1, 1)
                  AND month < make_date($year + 1, 1, 1)) || '/'
            || (SELECT count(*) || ':' || COALESCE(bit_xor(hash(code, name_vi, safe_high_income)), 0)
                FROM markets) || '/'
            || (SELECT count(*) || ':' || COALESCE(bit_xor(hash(commune_code, province_code)), 0)
                FROM v_communes) AS v""", {"year": int(year)})
    return str(df["v"].iloc[0])


def _communes(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every commune of the current map and its province (zero-count ones are published too)."""
    return db.run(con, "public_communes",
                  "SELECT commune_code, province_code FROM v_communes ORDER BY commune_code")


def _markets(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The market list (every market is shown, with 0 where nobody went)."""
    return db.run(con, "public_markets",
                  "SELECT code, name_vi AS name, safe_high_income AS safe FROM markets ORDER BY code")


@dataclass(frozen=True)
class YearFigures:
    """A year's published months, their cubes (as a :class:`disclosure.Stack`) and patterns."""

    stack: disclosure.Stack
    patterns: tuple[dict[Key, str], ...]
    markets: pd.DataFrame  # code, name, safe (every market, and unnamed codes that occur)

    def figures(self, month: int) -> PublicFigures:
        """One month's figures with the pattern published for it."""
        t = self.stack.months.index(int(month))
        keys = self.stack.keys
        values = {k: int(v) for k, v in zip(keys, self.stack.values[t])}
        equations = tuple((keys[total], tuple(keys[p] for p in parts))
                          for total, parts in self.stack.equations)
        hidden = self.patterns[t]
        # one market order for every view, from published national figures only (an order by a
        # province's own counts would place its hidden cells between published ones)
        codes = list(self.markets["code"])
        rank = {m: (("M", m) in hidden, 0 if ("M", m) in hidden else -values[("M", m)], m) for m in codes}
        markets = self.markets.assign(rank=self.markets["code"].map(rank)).sort_values("rank")
        return PublicFigures(Cube(values, equations), hidden, markets.drop(columns="rank").reset_index(drop=True))


_CACHE: dict[tuple, YearFigures] = {}
_CACHE_LOCK = threading.Lock()
_CACHE_SIZE = 8


def year_figures(con: duckdb.DuckDBPyConnection, year: int, months: Sequence[int],
                 threshold: int = THRESHOLD) -> YearFigures:
    """The figures and patterns of the published ``months`` of ``year`` (1..M, in order).

    Kept in memory per (data version, year, months, threshold); a request for the first months
    of a computed year reads them from it (a month's pattern depends only on the months before).
    """
    months = tuple(int(m) for m in months)
    if not months or list(months) != sorted(set(months)) or months[0] < 1 or months[-1] > 12:
        raise ValueError(f"published months must be increasing months 1..12, got {months}")
    version = _data_version(con, year)
    with _CACHE_LOCK:
        for (v, y, ms, thr), found in _CACHE.items():
            if (v, y, thr) == (version, int(year), int(threshold)) and ms[:len(months)] == months:
                return _prefix(found, len(months))
    stack, markets = _year_stack(con, year, months)
    found = YearFigures(stack, disclosure.year_pattern(stack, threshold), markets)
    with _CACHE_LOCK:
        _CACHE[(version, int(year), months, int(threshold))] = found
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.pop(next(iter(_CACHE)))
    return found


def _prefix(found: YearFigures, n: int) -> YearFigures:
    """The first ``n`` published months of ``found``."""
    s = found.stack
    return YearFigures(disclosure.Stack(s.keys, s.months[:n], s.values[:n], s.equations),
                       found.patterns[:n], found.markets)


def _year_stack(con: duckdb.DuckDBPyConnection, year: int,
                months: tuple[int, ...]) -> tuple[disclosure.Stack, pd.DataFrame]:
    """The national cube of every published month (cumulative from January), as one stack.

    Cells: province × market with province totals (national table, province views' totals),
    market totals (national market table), the national total, and every commune with its
    province total; the sums linking them are what a reader can combine.
    """
    flows, communes, markets = _year_flows(con, year, months[-1]), _communes(con), _markets(con)
    # codes without a name are shown by code, so sums still add up; taken from every year, so a
    # code first seen in a later month does not change the cells (and patterns) of earlier ones
    seen = db.run(con, "public_market_codes", "SELECT DISTINCT market FROM departures")["market"]
    unnamed = sorted(set(seen) - set(markets["code"]))
    markets = pd.concat([markets, pd.DataFrame({"code": unnamed, "name": unnamed, "safe": False})],
                        ignore_index=True)
    codes, provinces = list(markets["code"]), sorted(set(communes["province_code"]))
    in_province = communes.groupby("province_code")["commune_code"].apply(list).to_dict()
    keys: list[Key] = [("T",), *(("P", p) for p in provinces), *(("M", m) for m in codes),
                       *(("X", p, m) for p in provinces for m in codes),
                       *(("C", c) for c in communes["commune_code"])]
    index = {k: i for i, k in enumerate(keys)}
    monthly = np.zeros((12, len(keys)), dtype=np.int64)
    for kind, cols in (("X", ["province_code", "market"]), ("C", ["commune_code"])):
        g = flows.groupby(["m", *cols])["n"].sum()
        for (m, *rest), n in g.items():
            monthly[int(m) - 1, index[(kind, *rest)]] += int(n)
    x = [index[("X", p, m)] for p in provinces for m in codes]
    eq_keys = ((("T",), tuple(("P", p) for p in provinces)), (("T",), tuple(("M", m) for m in codes)),
               *((("P", p), tuple(("X", p, m) for m in codes)) for p in provinces),
               *((("M", m), tuple(("X", p, m) for p in provinces)) for m in codes),
               *((("P", p), tuple(("C", c) for c in in_province.get(p, []))) for p in provinces))
    equations = tuple((index[t], np.array([index[k] for k in parts], dtype=np.int64)) for t, parts in eq_keys)
    for p in provinces:   # totals from their market cells
        monthly[:, index[("P", p)]] = monthly[:, [index[("X", p, m)] for m in codes]].sum(axis=1)
    for m in codes:
        monthly[:, index[("M", m)]] = monthly[:, [index[("X", p, m)] for p in provinces]].sum(axis=1)
    monthly[:, index[("T",)]] = monthly[:, x].sum(axis=1)
    cumulative = np.cumsum(monthly, axis=0)[[m - 1 for m in months]]
    return disclosure.Stack(tuple(keys), months, cumulative, equations), markets


def public_figures(con: duckdb.DuckDBPyConnection, year: int, month: int, threshold: int = THRESHOLD,
                   months: Sequence[int] | None = None) -> PublicFigures:
    """Every figure of the public screen for a year-to-date period, suppressed once for all views
    and consistently with every earlier published month (``months``; default 1..``month``)."""
    months = tuple(range(1, int(month) + 1)) if months is None else tuple(months)
    if int(month) not in months:
        raise ValueError(f"month {month} is not among the published months {months}")
    return year_figures(con, year, months, threshold).figures(month)


@dataclass(frozen=True)
class PublicSummary:
    """Everything the public screen shows (all aggregates, already suppressed)."""

    year: int
    month: int
    province: str | None
    title: str
    total: int | str             # departures in the period (the published group total, or hidden)
    table: pd.DataFrame          # unit code, name, departures label, attainment label
    markets: pd.DataFrame        # market name, departures label, safe flag
    costs: pd.DataFrame          # safe markets and costs panel
    notices: dict[str, str]
    companies: pd.DataFrame
    fmap: object
    demo: bool
    threshold: int = THRESHOLD   # counts 1..threshold-1 are shown as "< threshold"


def as_text(labels: pd.Series) -> list[str]:
    """Labels as display text (numbers with Vietnamese thousands separators)."""
    return [v if isinstance(v, str) else metrics.fmt_int(v) for v in labels]


def _attainment_label(pct: float | None, hidden: bool) -> str:
    if hidden or pct is None or pd.isna(pct):
        return "–"
    return f"{pct:.0f}%"


def notices(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Hotline, fraud warning and about text (administrator-edited, else the defaults)."""
    df = db.run(con, "public_notices", "SELECT key, text FROM public_notices")
    return DEFAULT_NOTICES | dict(zip(df["key"], df["text"]))


def set_notice(con: duckdb.DuckDBPyConnection, key: str, text: str, by: str) -> None:
    """Save one notice (administrators only; the caller checks the role and audits)."""
    queries.check_choice("mục thông báo", key, NOTICE_KEYS)
    text = (text or "").strip()
    if not text or len(text) > 2000:
        from xkld_geo.errors import QueryError

        raise QueryError("Nội dung thông báo cần từ 1 đến 2.000 ký tự.", field=key, value=len(text),
                         allowed="1–2000 ký tự")
    db.execute(con, "notice_set", "INSERT OR REPLACE INTO public_notices VALUES ($k, $t, now(), $u)",
               {"k": key, "t": text, "u": by})


def build_public(con: duckdb.DuckDBPyConnection, year: int, month: int, province: str | None,
                 static_url: str, months: Sequence[int] | None = None,
                 threshold: int | None = None) -> PublicSummary:
    """The public screen's content for a year-to-date period, nationally or for one province.

    Every count comes from the one national pattern (:func:`public_figures`), so no view can be
    subtracted from another to recover a hidden cell, and the pattern is safe together with every
    published month of the year (``months``, default 1..``month``: the months a visitor can choose).
    ``threshold`` defaults to the ``public_threshold`` setting.
    """
    threshold = load_settings().public_threshold if threshold is None else int(threshold)
    figures = public_figures(con, year, month, threshold, months)
    level = "province" if province is None else "commune"
    rows = queries.period_attainment(con, year, month, level, province)
    if province is None:
        keys, total_key = [("P", c) for c in rows["unit_code"]], ("T",)
        market_keys = [("M", m) for m in figures.markets["code"]]
    else:
        keys, total_key = [("C", c) for c in rows["unit_code"]], ("P", province)
        market_keys = [("X", province, m) for m in figures.markets["code"]]
    labels = pd.Series([figures.label(k) for k in keys], dtype=object)
    total = figures.label(total_key)
    counts = pd.Series([figures.cube.values.get(k, 0) for k in keys], dtype="float64")
    pct = 100.0 * counts / rows["quota"].astype("float64").where(rows["quota"] > 0)
    hidden = labels.map(lambda v: isinstance(v, str)).to_numpy(dtype=bool)
    table = pd.DataFrame({"Mã": rows["unit_code"], "Tên": rows["unit_name"],
                          "Số người đã đi": as_text(labels),
                          "Đạt chỉ tiêu": [_attainment_label(p, h) for p, h in zip(pct, hidden)]})
    shapes = (queries.shapes(con, "2025", "province", "coarse") if province is None
              else queries.shapes(con, "2025", "commune", "fine", province))
    props = pd.DataFrame({"departures": [v if not isinstance(v, str) else None for v in labels],
                          "shown": [str(v) for v in labels],
                          "pct": [None if h else (None if pd.isna(p) else round(float(p), 0))
                                  for p, h in zip(pct, hidden)]}, index=rows["unit_code"].to_numpy())
    props["fill"] = [maps.colour_for(None if h else p) for p, h in zip(pct, hidden)]
    spec = maps.ChoroplethSpec(shapes, props, None, f"Đạt chỉ tiêu đến T{month}/{year}",
                               queries.meta(con).get("contains_demo") == "true",
                               tooltip=(("shown", "Số người đã đi", ""), ("pct", "Đạt chỉ tiêu", "%")))
    markets = pd.DataFrame({"Thị trường": figures.markets["name"],
                            "Số người đã đi": as_text(pd.Series([figures.label(k) for k in market_keys],
                                                                dtype=object)),
                            "An toàn, thu nhập cao": np.where(figures.markets["safe"], "✓", "")})
    costs = db.run(con, "public_costs", """
        SELECT name_vi AS "Thị trường", avg_income_usd AS "Thu nhập ước tính (USD/tháng)",
               avg_cost_usd AS "Chi phí ước tính (USD)", source AS "Nguồn"
        FROM markets WHERE safe_high_income ORDER BY avg_income_usd DESC""")
    companies = db.run(con, "public_companies", """
        SELECT licence_no AS "Số giấy phép", name AS "Doanh nghiệp", markets AS "Thị trường",
               valid_until AS "Hiệu lực đến" FROM licensed_companies ORDER BY name""")
    place = "cả nước" if province is None else queries.unit(con, province)["name"].iloc[0]
    return PublicSummary(year, month, province, f"Kết quả đưa lao động đi làm việc ở nước ngoài: {place}, "
                         f"T1–{month}/{year}", total, table, markets, costs, notices(con), companies,
                         maps.choropleth_map(spec, static_url), spec.demo, threshold)


def create_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create the notice and licensed-company tables if missing."""
    db.execute(con, "public_tables", DDL)


COMPANY_COLUMNS = ["licence_no", "name", "province_code", "markets", "valid_until"]


def companies(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The licensed companies as stored (for the administrator's editor)."""
    return db.run(con, "companies_all", f"SELECT {', '.join(COMPANY_COLUMNS)} FROM licensed_companies "
                                        "ORDER BY name")


def check_companies(rows: pd.DataFrame) -> list[str]:
    """Problems of an edited company list, as "Dòng N, cột X: ..." (row 1 = the first)."""
    from xkld_geo.flows import ISO_ALPHA2

    errors: list[str] = []
    seen: set[str] = set()
    for i, row in enumerate(rows.to_dict("records"), start=1):
        licence = str(row.get("licence_no") or "").strip()
        if not licence or len(licence) > 50:
            errors.append(f"Dòng {i}, cột licence_no: cần số giấy phép (tối đa 50 ký tự).")
        elif licence in seen:
            errors.append(f"Dòng {i}, cột licence_no: số giấy phép {licence} bị trùng.")
        seen.add(licence)
        if not str(row.get("name") or "").strip():
            errors.append(f"Dòng {i}, cột name: cần tên doanh nghiệp.")
        province = row.get("province_code")
        if province and not pd.isna(province) and not (str(province).isdigit() and len(str(province)) == 2):
            errors.append(f"Dòng {i}, cột province_code: '{province}' không phải mã tỉnh 2 chữ số.")
        for code in str(row.get("markets") or "").replace(";", ",").split(","):
            if code.strip() and code.strip().upper() not in ISO_ALPHA2:
                errors.append(f"Dòng {i}, cột markets: '{code.strip()}' không phải mã quốc gia ISO.")
    return errors


def save_companies(con: duckdb.DuckDBPyConnection, rows: pd.DataFrame, by: str) -> int:
    """Replace the licensed-company list after checking every row (caller checks the role)."""
    from xkld_geo.errors import QueryError

    errors = check_companies(rows)
    if errors:
        raise QueryError(" ".join(errors[:5]), field="licensed_companies", errors=errors)
    clean = rows[COMPANY_COLUMNS].copy()
    clean["valid_until"] = pd.to_datetime(clean["valid_until"], errors="coerce").dt.date
    with db.transaction(con):
        con.execute("DELETE FROM licensed_companies")
        con.register("companies_in", clean)
        con.execute("INSERT INTO licensed_companies SELECT * FROM companies_in")
        con.unregister("companies_in")
    return len(clean)
