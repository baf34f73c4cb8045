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
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import duckdb
import numpy as np
import pandas as pd

from xkld_geo import db, maps, metrics, queries

THRESHOLD = 5
SECONDARY = "ẩn"
"""Label of a cell hidden only to protect a small one (its value may be 0 or any number ≥ threshold)."""

Key = tuple
"""A published figure: ("T",) the national total, ("P", province), ("M", market),
("X", province, market) or ("C", commune); the single-table helpers use ("c", position)."""
Equation = tuple[Key, tuple[Key, ...]]
"""A total and its parts: the parts add up to the total, and a reader knows it."""

NOTICE_KEYS = {"hotline": "Đường dây nóng", "fraud_warning": "Cảnh báo lừa đảo",
               "about": "Giới thiệu chương trình"}
DEFAULT_NOTICES = {
    "hotline": "Đường dây nóng tư vấn xuất khẩu lao động: liên hệ Sở Nội vụ tỉnh/thành nơi bạn cư trú.",
    "fraud_warning": "Chỉ đăng ký qua doanh nghiệp được cấp phép hoặc Trung tâm Dịch vụ việc làm. "
                     "Không nộp tiền cho cá nhân môi giới; không có 'suất đi nhanh' hay 'bao đậu'.",
    "about": "Thông tin công khai về chỉ tiêu và kết quả đưa người lao động đi làm việc ở nước ngoài.",
}



@dataclass(frozen=True)
class Cube:
    """Figures a reader sees (true values here) and the sums linking them across all views."""

    values: dict[Key, int]
    equations: tuple[Equation, ...]


def suppression_pattern(cube: Cube, threshold: int = THRESHOLD) -> dict[Key, str]:
    """The hidden figures of ``cube`` and their labels ("< threshold" or :data:`SECONDARY`).

    1. every count from 1 to ``threshold - 1`` is hidden;
    2. every sum with a hidden term gets complementary suppressions until it is safe
       (:func:`_sum_safe`): one hidden cell in a row whose total is published is the difference;
    3. a hidden figure still determined by all the sums together (linear algebra) or by their
       bounds (:func:`exposed`) gets a complementary suppression in one of its sums; 2–3 repeat.
    Deterministic: complements are the cells that open the fewest new sums, then the smallest
    non-zero ones (a hidden 0 adds nothing to a sum's hidden total), then by key.
    """
    values = cube.values
    primary = {k for k, v in values.items() if 0 < v < threshold}
    hidden = set(primary)
    where: dict[Key, list[int]] = {}
    for i, (total, parts) in enumerate(cube.equations):
        for k in (total, *parts):
            where.setdefault(k, []).append(i)

    def cost(k: Key) -> tuple:
        fresh = sum(1 for i in where.get(k, ()) if not _touched(cube.equations[i], hidden))
        return fresh, values[k] == 0, values[k], k

    while True:
        _close(cube.equations, values, hidden, primary, threshold, cost)
        done: set[int] = set()
        for k in exposed(cube, hidden, primary, threshold):
            if done.intersection(where[k]):
                continue  # a complement was just added next to it; look again next round
            eqs = [cube.equations[i] for i in where[k]]
            options = ([p for _, parts in eqs for p in parts if p not in hidden]
                       or [t for t, _ in eqs if t not in hidden])
            if options:
                hidden.add(min(options, key=cost))
                done.update(where[k])
        if not done:
            break
    return {k: f"< {threshold}" if k in primary else SECONDARY for k in sorted(hidden)}


def _touched(equation: Equation, hidden: set[Key]) -> bool:
    total, parts = equation
    return total in hidden or any(p in hidden for p in parts)


def _sum_safe(equation: Equation, values: dict[Key, int], hidden: set[Key], primary: set[Key],
              threshold: int) -> bool:
    """Whether one sum leaves its hidden terms unknown.

    Safe: nothing hidden; or total and all parts hidden; or at least two hidden parts, one of them
    not a small count (it may be 0 or any number from the threshold up, so it absorbs any shift),
    holding two thresholds' worth between them, so many splits stay possible.
    """
    total, parts = equation
    inner = [p for p in parts if p in hidden]
    if total in hidden and len(inner) == len(parts):
        return True
    if not inner:
        return total not in hidden
    return (len(inner) >= 2 and any(p not in primary for p in inner)
            and sum(values[p] for p in inner) >= 2 * threshold)


def _close(equations: tuple[Equation, ...], values: dict[Key, int], hidden: set[Key],
           primary: set[Key], threshold: int, cost: Callable[[Key], tuple]) -> None:
    """Add complementary suppressions until every sum is safe (a fixpoint over linked sums)."""
    changed = True
    while changed:
        changed = False
        for equation in equations:
            while not _sum_safe(equation, values, hidden, primary, threshold):
                visible = [p for p in equation[1] if p not in hidden]
                hidden.add(min(visible, key=cost) if visible else equation[0])
                changed = True


def exposed(cube: Cube, hidden: set[Key], primary: set[Key], threshold: int = THRESHOLD) -> list[Key]:
    """Hidden non-zero figures a reader could work out exactly from everything published, sorted.

    Linear: the figure is a combination of the sums (its unit vector lies in their row space over
    the hidden terms). Bounds: a small count is 1..threshold-1 and any other hidden figure 0 or at
    least the threshold; propagating these through the sums pins the figure to one value.
    """
    live = [e for e in cube.equations if _touched(e, hidden)]
    if not live:
        return []
    cols = sorted(hidden)
    index = {k: i for i, k in enumerate(cols)}
    matrix = np.zeros((len(live), len(cols)))
    for row, (total, parts) in enumerate(live):
        if total in hidden:
            matrix[row, index[total]] -= 1
        for p in parts:
            if p in hidden:
                matrix[row, index[p]] += 1
    _, sing, vt = np.linalg.svd(matrix, full_matrices=False)
    rank = int((sing > 1e-9 * max(1.0, float(sing.max(initial=0)))).sum())
    linear = {cols[i] for i in np.flatnonzero((vt[:rank] ** 2).sum(axis=0) > 1 - 1e-6)}
    lo, hi = bounds(live, cube.values, hidden, primary, threshold)
    # A figure worked out as 0 names nobody: only a determined non-zero figure is a disclosure.
    return sorted(k for k in linear | {k for k in hidden if lo[k] >= hi[k]} if cube.values[k] != 0)


def bounds(equations: list[Equation], values: dict[Key, int], hidden: set[Key], primary: set[Key],
           threshold: int, passes: int = 200) -> tuple[dict[Key, float], dict[Key, float]]:
    """The narrowest range of each hidden figure a reader gets by propagating sums and bounds."""
    lo = {k: 1.0 if k in primary else 0.0 for k in hidden}
    hi = {k: threshold - 1.0 if k in primary else math.inf for k in hidden}
    rows = []
    for total, parts in equations:  # sum(sign * hidden) == rest
        terms = [(1, p) for p in parts if p in hidden] + ([(-1, total)] if total in hidden else [])
        rest = (0 if total in hidden else values[total]) - sum(values[p] for p in parts if p not in hidden)
        rows.append((terms, rest))
    for _ in range(passes):
        changed = False
        for terms, rest in rows:
            mins = [lo[k] if s > 0 else -hi[k] for s, k in terms]
            maxs = [hi[k] if s > 0 else -lo[k] for s, k in terms]
            for (s, k), others_min, others_max in zip(terms, _all_but_one(mins), _all_but_one(maxs)):
                low, high = rest - others_max, rest - others_min
                if s < 0:
                    low, high = -high, -low
                new_lo, new_hi = max(lo[k], low), min(hi[k], high)
                if k not in primary:  # 0 or ≥ threshold: a range inside 1..threshold-1 means 0
                    new_hi = 0.0 if new_hi < threshold else new_hi
                    new_lo = max(new_lo, float(threshold)) if new_lo > 0 else new_lo
                if (new_lo, new_hi) != (lo[k], hi[k]):
                    lo[k], hi[k], changed = new_lo, new_hi, True
        if not changed:
            break
    return lo, hi


def _all_but_one(xs: list[float]) -> list[float]:
    """For each position, the sum of the other values (one-signed infinities counted apart)."""
    finite = sum(x for x in xs if math.isfinite(x))
    infinite = [x for x in xs if not math.isfinite(x)]
    out = []
    for x in xs:
        left = len(infinite) - (not math.isfinite(x))
        out.append(infinite[0] if left else finite - (x if math.isfinite(x) else 0.0))
    return out


def suppress(values: pd.Series, groups: pd.Series | None = None, threshold: int = THRESHOLD) -> pd.Series:
    """Published labels for one stand-alone table: the number, "< threshold" or :data:`SECONDARY`.

    ``groups`` names the group whose total is published with each cell (None: one group). The
    same rules as the linked screen (:func:`suppression_pattern`) on a cube of just this table.
    """
    counts = values.fillna(0).astype(np.int64).tolist()
    names = ["all"] * len(counts) if groups is None else [str(g) for g in groups]
    cells = [("c", i) for i in range(len(counts))]
    vals: dict[Key, int] = dict(zip(cells, counts))
    equations = []
    for name in dict.fromkeys(names):
        parts = tuple(c for c, g in zip(cells, names) if g == name)
        vals[("g", name)] = sum(vals[p] for p in parts)
        equations.append((("g", name), parts))
    hidden = suppression_pattern(Cube(vals, tuple(equations)), threshold)
    return pd.Series([hidden.get(c, vals[c]) for c in cells], index=values.index, dtype=object)


def total_label(values: pd.Series, labels: pd.Series, threshold: int = THRESHOLD) -> int | str:
    """The total to publish beside a stand-alone table's ``labels``, or a hidden label.

    Hidden when small, or when the hidden cells could not be made safe (:func:`_sum_safe`), as in
    a table of one small cell.
    """
    counts = values.fillna(0).astype(np.int64).tolist()
    total = sum(counts)
    if 0 < total < threshold:
        return f"< {threshold}"
    cells = [("c", i) for i in range(len(counts))]
    vals: dict[Key, int] = dict(zip(cells, counts)) | {("g",): total}
    hidden = {c for c, v in zip(cells, labels) if isinstance(v, str)}
    primary = {c for c in cells if 0 < vals[c] < threshold}
    if not _sum_safe((("g",), tuple(cells)), vals, hidden, primary, threshold):
        return SECONDARY
    return total


@dataclass(frozen=True)
class PublicFigures:
    """One period's national cube with its one suppression pattern: every view reads from it."""

    cube: Cube
    hidden: dict[Key, str]
    markets: pd.DataFrame  # code, name, safe: in display order, the same on every view

    def label(self, key: Key) -> int | str:
        """What the screen shows for a figure: its number, or its hidden label."""
        return self.hidden.get(key, self.cube.values.get(key, 0))


def _period_flows(con: duckdb.DuckDBPyConnection, year: int, month: int) -> pd.DataFrame:
    """Year-to-date departures per commune and market, for the communes of the current map."""
    return db.run(con, "public_commune_markets", """
        SELECT c.province_code, d.commune_code, d.market, SUM(d.departures) AS n
        FROM departures d JOIN v_communes c ON c.commune_code = d.commune_code
        WHERE d.month >= make_date($year, 1, 1)
          AND d.month < make_date($year, $month, 1) + INTERVAL 1 MONTH
        GROUP BY ALL""", {"year": int(year), "month": int(month)})


def _communes(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every commune of the current map and its province (zero-count ones are published too)."""
    return db.run(con, "public_communes",
                  "SELECT commune_code, province_code FROM v_communes ORDER BY commune_code")


def _markets(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The market list (every market is shown, with 0 where nobody went)."""
    return db.run(con, "public_markets",
                  "SELECT code, name_vi AS name, safe_high_income AS safe FROM markets ORDER BY code")


def public_figures(con: duckdb.DuckDBPyConnection, year: int, month: int,
                   threshold: int = THRESHOLD) -> PublicFigures:
    """Every figure of the public screen for a year-to-date period, suppressed once for all views.

    The cube holds province × market cells with their province totals (national table, province
    views' totals), market totals (national market table) and the national total, plus every
    commune with its province total; the sums linking them are what a reader can combine.
    """
    flows, communes, markets = _period_flows(con, year, month), _communes(con), _markets(con)
    unnamed = sorted(set(flows["market"]) - set(markets["code"]))  # shown by code, so sums still add up
    markets = pd.concat([markets, pd.DataFrame({"code": unnamed, "name": unnamed, "safe": False})],
                        ignore_index=True)
    codes, provinces = list(markets["code"]), sorted(set(communes["province_code"]))
    by_cell = flows.groupby(["province_code", "market"])["n"].sum().to_dict()
    by_commune = flows.groupby("commune_code")["n"].sum().to_dict()
    values: dict[Key, int] = {("X", p, m): int(by_cell.get((p, m), 0)) for p in provinces for m in codes}
    values |= {("C", c): int(by_commune.get(c, 0)) for c in communes["commune_code"]}
    values |= {("P", p): sum(values[("X", p, m)] for m in codes) for p in provinces}
    values |= {("M", m): sum(values[("X", p, m)] for p in provinces) for m in codes}
    values[("T",)] = sum(values[("P", p)] for p in provinces)
    in_province = communes.groupby("province_code")["commune_code"].apply(list).to_dict()
    equations = ((("T",), tuple(("P", p) for p in provinces)), (("T",), tuple(("M", m) for m in codes)),
                 *((("P", p), tuple(("X", p, m) for m in codes)) for p in provinces),
                 *((("M", m), tuple(("X", p, m) for p in provinces)) for m in codes),
                 *((("P", p), tuple(("C", c) for c in in_province[p])) for p in provinces))
    cube = Cube(values, equations)
    hidden = suppression_pattern(cube, threshold)
    # one market order for every view, from published national figures only (an order by a
    # province's own counts would place its hidden cells between published ones)
    rank = {m: (("M", m) in hidden, 0 if ("M", m) in hidden else -values[("M", m)], m) for m in codes}
    markets = markets.assign(rank=markets["code"].map(rank)).sort_values("rank").drop(columns="rank")
    return PublicFigures(cube, hidden, markets.reset_index(drop=True))


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
                 static_url: str) -> PublicSummary:
    """The public screen's content for a year-to-date period, nationally or for one province.

    Every count comes from the one national pattern (:func:`public_figures`), so no view can be
    subtracted from another to recover a hidden cell.
    """
    figures = public_figures(con, year, month)
    level = "province" if province is None else "commune"
    rows = queries.period_attainment(con, year, month, level, province)
    keys: list[Key]
    total_key: Key
    market_keys: list[Key]
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
                         maps.choropleth_map(spec, static_url), spec.demo)




COMPANY_COLUMNS = ["licence_no", "name", "province_code", "markets", "valid_until"]


def companies(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The licensed companies as stored (for the administrator's editor)."""
    return db.run(con, "companies_all", f"SELECT {', '.join(COMPANY_COLUMNS)} FROM licensed_companies "
                                        "ORDER BY name")


def check_companies(rows: pd.DataFrame) -> list[str]:
    """Problems of an edited company list, as "Dòng N, cột X: ..." (row 1 = the first)."""
    from xkld_geo.views.markets import ISO_ALPHA2

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
        for field in COMPANY_COLUMNS:  # free text is bounded by the server, whatever the browser sent
            value = row.get(field)
            if isinstance(value, str) and len(value) > 500:
                errors.append(f"Dòng {i}, cột {field}: dài {len(value)} ký tự; tối đa 500 ký tự.")
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
    with db.transaction(con), db.registered(con, "companies_in", clean):
        db.execute(con, "companies_clear", "DELETE FROM licensed_companies")
        db.execute(con, "companies_insert", "INSERT INTO licensed_companies SELECT * FROM companies_in")
    return len(clean)
