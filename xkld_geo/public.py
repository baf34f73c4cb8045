"""The public summary: aggregates only, small counts suppressed so they cannot be worked out.

Rules (issue 7): no individual record ever; a count from 1 to ``threshold - 1`` is shown as
"< threshold"; and within every group whose total is published (the communes of a province, the
markets of a province), suppression goes on until no suppressed cell can be recovered by subtracting
the published cells from the total: at least two cells are hidden and together they hold at least
two thresholds' worth, so many splits stay possible. Priority-group breakdowns are never public
below the province.
"""
from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd

from xkld_geo import db, maps, metrics, queries

THRESHOLD = 5
SECONDARY = "ẩn"
"""Label of a cell hidden only to protect a small one (its value may be anything)."""

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


def suppress(values: pd.Series, groups: pd.Series | None = None, threshold: int = THRESHOLD) -> pd.Series:
    """Published labels for counts: the number, "< threshold", or :data:`SECONDARY`.

    ``groups`` names the group whose total is published with each cell (None: one group).
    """
    counts = values.fillna(0).astype(np.int64)
    groups = pd.Series("all", index=values.index) if groups is None else groups
    primary = (counts > 0) & (counts < threshold)
    hidden = primary.copy()
    for _, idx in counts.groupby(groups).groups.items():
        if not primary.loc[idx].any():
            continue
        candidates = counts.loc[idx][~hidden.loc[idx]].sort_values(kind="stable")
        for code in candidates.index:
            if _protected(counts.loc[idx], hidden.loc[idx], primary.loc[idx], threshold):
                break
            hidden.loc[code] = True
    labels = counts.astype(object)
    labels[hidden] = SECONDARY
    labels[primary] = f"< {threshold}"
    return labels


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


def _protected(counts: pd.Series, hidden: pd.Series, primary: pd.Series, threshold: int) -> bool:
    """Whether the hidden cells of a group are safe against subtraction from its total.

    At least two hidden cells, at least one of them a secondary one (whose value may be 0 or any
    number from the threshold up, so it absorbs any shift), and two thresholds' worth between them.
    """
    return bool(hidden.sum() >= 2 and (hidden & ~primary).any()
                and int(counts[hidden].sum()) >= 2 * threshold)


def total_label(values: pd.Series, labels: pd.Series, threshold: int = THRESHOLD) -> int | str:
    """The group total to publish beside ``labels``, or a hidden label when it would give away a cell.

    When the hidden cells could not be made safe (fewer than two, or under two thresholds' worth,
    as in a group of one small cell) the total is hidden too.
    """
    total = int(values.fillna(0).sum())
    if 0 < total < threshold:
        return f"< {threshold}"
    counts = values.fillna(0).astype(np.int64)
    hidden = labels.map(lambda v: isinstance(v, str)).astype(bool)
    primary = (counts > 0) & (counts < threshold)
    if hidden.any() and not _protected(counts, hidden, primary, threshold):
        return SECONDARY
    return total


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
    """The public screen's content for a year-to-date period, nationally or for one province."""
    level = "province" if province is None else "commune"
    rows = queries.period_attainment(con, year, month, level, province)
    # the published total (national, or the province's) is the one group every cell belongs to
    labels = suppress(rows["ytd"].set_axis(rows["unit_code"]))
    total = total_label(rows["ytd"].set_axis(rows["unit_code"]), labels)
    pct = 100.0 * rows["ytd"] / rows["quota"].where(rows["quota"] > 0)
    hidden = labels.map(lambda v: isinstance(v, str)).to_numpy()
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
    mix = db.run(con, "public_market_mix", """
        SELECT m.name_vi AS market, m.safe_high_income AS safe, COALESCE(SUM(d.departures), 0) AS n
        FROM markets m
        LEFT JOIN departures d ON d.market = m.code
             AND d.month >= make_date($year, 1, 1) AND d.month <= make_date($year, $month, 1)
             AND ($province IS NULL OR d.commune_code IN
                  (SELECT commune_code FROM v_communes WHERE province_code = $province))
        GROUP BY ALL ORDER BY n DESC""", {"year": int(year), "month": int(month), "province": province})
    markets = pd.DataFrame({"Thị trường": mix["market"], "Số người đã đi": as_text(suppress(mix["n"])),
                            "An toàn, thu nhập cao": np.where(mix["safe"], "✓", "")})
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
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("DELETE FROM licensed_companies")
        con.register("companies_in", clean)
        con.execute("INSERT INTO licensed_companies SELECT * FROM companies_in")
        con.unregister("companies_in")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return len(clean)
