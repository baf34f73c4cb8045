"""The open-data release: the public screen's figures as tables, described for re-use.

A release is what a statistics office publishes each month: static tables (CSV, XLSX, JSON), a
Frictionless data package describing them, and a page (:mod:`xkld_geo.release_site`). Every count
comes from the public screen's one suppression pattern (:func:`public.public_figures`, computed
with every earlier month of the year so cumulative releases cannot be subtracted), so the release
discloses nothing the screen does not. A hidden count is published as an empty cell with a flag,
as SDMX does (``c``: confidential, a count from 1 to threshold - 1; ``d``: hidden only to protect
another cell), never as a number. Nothing below the province is broken down by market or priority
group, and no person, phone number or ID is read at all.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field

import duckdb
import pandas as pd

from xkld_geo import DEMO_LABEL
from xkld_geo.errors import PublishError
from xkld_geo.figures import periods, queries, references
from xkld_geo.figures.disclosure import HIDDEN
from xkld_geo.views import public

CONFIDENTIAL = "c"
"""Flag of a small count (1 to threshold - 1), hidden (SDMX confidentiality status C)."""
PROTECTING = "d"
"""Flag of a figure hidden only to protect a small count (SDMX confidentiality status D)."""
LICENCE = {"name": "CC-BY-4.0", "title": "Creative Commons Attribution 4.0",
           "path": "https://creativecommons.org/licenses/by/4.0/"}
PUBLISHER = "XKLĐ-Geo: thông tin công khai về đưa người lao động đi làm việc ở nước ngoài"
REVISION_POLICY = (
    "Số liệu được công bố hằng tháng, lũy kế từ tháng 1 đến hết tháng gần nhất đã có báo cáo. "
    "Một bản đã phát hành không bao giờ bị ghi đè: khi số liệu của cùng kỳ được sửa, một bản hiệu đính "
    "mới (ví dụ 2026-11-r2) được phát hành, bản trước vẫn giữ nguyên trong thư mục releases/, và ghi chú "
    "phát hành nêu những ô đã thay đổi. Thư mục latest/ luôn là bản mới nhất.")

FLAG = {"name": "departures_flag", "type": "string", "title": "Cờ ô ẩn",
        "description": f"'{CONFIDENTIAL}': số nhỏ (từ 1 đến dưới ngưỡng) được giữ kín; '{PROTECTING}': số "
                       "được ẩn để bảo vệ một số nhỏ khác; trống: số được công bố (đã làm tròn).",
        "constraints": {"enum": [CONFIDENTIAL, PROTECTING]}}
DEPARTURES = {"name": "departures", "type": "integer", "title": "Số người đã đi", "unit": "người",
              "description": "Số người lao động đã xuất cảnh, lũy kế từ tháng 1 đến hết kỳ; trống khi ô bị ẩn "
                             "(xem cột departures_flag).", "constraints": {"minimum": 0}}
QUOTA = {"name": "quota", "type": "integer", "title": "Chỉ tiêu năm", "unit": "người",
         "description": "Chỉ tiêu cả năm theo kế hoạch đã phê duyệt; trống khi chưa giao chỉ tiêu.",
         "constraints": {"minimum": 0}}
ATTAINMENT = {"name": "attainment_pct", "type": "integer", "title": "Đạt chỉ tiêu", "unit": "%",
              "description": "Số người đã đi so với chỉ tiêu năm, làm tròn đến 1%; trống khi không có chỉ tiêu "
                             "hoặc khi số người đã đi bị ẩn.", "constraints": {"minimum": 0}}
ATTAINMENT_FLAG = FLAG | {"name": "attainment_flag", "title": "Cờ ô ẩn (đạt chỉ tiêu)",
                          "description": "Cùng cờ với departures_flag: tỷ lệ của một ô ẩn cũng bị ẩn."}


def _code(name: str, title: str, description: str) -> dict:
    return {"name": name, "type": "string", "title": title, "description": description,
            "constraints": {"required": True}}


def _text(name: str, title: str, description: str) -> dict:
    return {"name": name, "type": "string", "title": title, "description": description}


PROVINCE = _code("province_code", "Mã tỉnh", "Mã tỉnh/thành phố (danh mục 2025, 2 chữ số).")
UNIT_FIELDS = [DEPARTURES, FLAG, QUOTA, ATTAINMENT, ATTAINMENT_FLAG]
TABLES: dict[str, dict] = {
    "national": {"title": "Cả nước", "description": "Tổng số người đã đi và chỉ tiêu của cả nước.",
                 "fields": [_code("scope", "Phạm vi", "VN: cả nước."), _text("name", "Tên", "Tên phạm vi."),
                            *UNIT_FIELDS]},
    "provinces": {"title": "Theo tỉnh/thành phố", "description": "Số người đã đi và chỉ tiêu theo tỉnh/thành phố.",
                  "fields": [PROVINCE, _text("province_name", "Tên tỉnh", "Tên tỉnh/thành phố."), *UNIT_FIELDS]},
    "communes": {"title": "Theo xã/phường", "description": "Số người đã đi và chỉ tiêu theo xã/phường (danh mục 2025).",
                 "fields": [_code("commune_code", "Mã xã", "Mã xã/phường (danh mục 2025)."),
                            _text("commune_name", "Tên xã", "Tên xã/phường."), PROVINCE, *UNIT_FIELDS]},
    "markets": {"title": "Theo thị trường (cả nước)", "description": "Số người đã đi theo nước/vùng lãnh thổ đến.",
                "fields": [_code("market_code", "Mã thị trường", "Mã nước/vùng lãnh thổ (ISO 3166-1 alpha-2)."),
                           _text("market_name", "Thị trường", "Tên nước/vùng lãnh thổ."),
                           {"name": "safe_high_income", "type": "boolean", "title": "An toàn, thu nhập cao",
                            "description": "Thị trường được khuyến khích: an toàn, thu nhập cao."},
                           DEPARTURES, FLAG]},
    "province_markets": {"title": "Theo tỉnh và thị trường",
                         "description": "Số người đã đi theo tỉnh/thành phố và thị trường (không chia nhỏ hơn tỉnh).",
                         "fields": [PROVINCE, _code("market_code", "Mã thị trường", "Mã nước/vùng lãnh thổ."),
                                    DEPARTURES, FLAG]},
    "notices": {"title": "Thông báo công khai", "description": "Đường dây nóng, cảnh báo lừa đảo, giới thiệu.",
                "fields": [_code("key", "Mục", "hotline, fraud_warning hoặc about."),
                           _text("title", "Tiêu đề", "Tên mục."), _text("text", "Nội dung", "Nội dung thông báo.")]},
    "companies": {"title": "Doanh nghiệp được cấp phép",
                  "description": "Doanh nghiệp được cấp phép đưa người lao động đi làm việc ở nước ngoài.",
                  "fields": [_code("licence_no", "Số giấy phép", "Số giấy phép hoạt động dịch vụ."),
                             _text("company_name", "Doanh nghiệp", "Tên doanh nghiệp."),
                             _text("markets", "Thị trường", "Mã các thị trường, cách nhau bởi dấu phẩy."),
                             {"name": "valid_until", "type": "date", "title": "Hiệu lực đến",
                              "description": "Ngày hết hạn giấy phép."}]},
}
"""Every published table, its fields (Frictionless Table Schema) and descriptions, in page order."""
EMPTY_REASONS: dict[str, str] = {
    "companies": ("Bảng trống vì danh sách doanh nghiệp được cấp phép chưa được nhập vào hệ thống (quản trị viên "
                  "nhập danh sách chính thức của Cục Quản lý lao động ngoài nước); doanh nghiệp minh họa không "
                  "bao giờ được công bố."),
}
"""Why a table may be published without rows: a release never publishes an empty table silently."""


def empty_reason(name: str) -> str:
    """The sentence published beside table ``name`` when it has no rows."""
    return EMPTY_REASONS.get(name, "Bảng chưa có dòng nào trong kỳ này.")


KEYS = {"national": ["scope"], "provinces": ["province_code"], "communes": ["commune_code"],
        "markets": ["market_code"], "province_markets": ["province_code", "market_code"],
        "notices": ["key"], "companies": ["licence_no"]}


@dataclass(frozen=True)
class ReleaseData:
    """One release's period, tables and description (all figures already suppressed)."""

    year: int
    month: int
    period: periods.Period
    released: dt.date
    threshold: int
    demo: bool
    tables: dict[str, pd.DataFrame]
    shapes: pd.DataFrame = field(repr=False)  # national province geometry (code, name, geojson, bounds)

    @property
    def month_id(self) -> str:
        """The data month as a release name: '2026-11'."""
        return f"{self.year}-{self.month:02d}"

    def fingerprint(self) -> str:
        """A digest of everything published (tables, period, threshold), not of the release date."""
        digest = hashlib.sha256(f"{self.month_id}|{self.threshold}|{self.demo}".encode())
        for name in TABLES:
            digest.update(name.encode() + table_json(self.tables[name]).encode())
        return digest.hexdigest()


def _flag(label: int | str) -> str | None:
    """The flag of a public label: "< threshold" is held back (``c``), a figure hidden to protect a
    small count is ``d`` (:data:`xkld_geo.figures.disclosure.HIDDEN`); every other count is rounded."""
    if label == HIDDEN:
        return PROTECTING
    return CONFIDENTIAL if isinstance(label, str) else None


def _count(label: int | str) -> int | None:
    return None if isinstance(label, str) else int(label)


def _unit_rows(figures: public.PublicFigures, keys: list[public.Key], quotas: pd.Series) -> pd.DataFrame:
    """Departures, flag, quota and attainment of the units ``keys`` (quotas aligned with them)."""
    labels = [figures.label(k) for k in keys]
    counts = [_count(v) for v in labels]
    quota = pd.array([None if pd.isna(q) else int(q) for q in quotas], dtype="Int64")
    pct = [None if n is None or pd.isna(q) or q <= 0 else int(round(100.0 * n / float(q)))
           for n, q in zip(counts, quota)]
    return pd.DataFrame({"departures": pd.array(counts, dtype="Int64"), "departures_flag": [_flag(v) for v in labels],
                         "quota": quota, "attainment_pct": pd.array(pct, dtype="Int64"),
                         "attainment_flag": [_flag(v) for v in labels]})


def build_tables(con: duckdb.DuckDBPyConnection, year: int, month: int, threshold: int) -> dict[str, pd.DataFrame]:
    """The release's tables for January..``month`` of ``year``, from the public screen's pattern."""
    figures = public.public_figures(con, year, month, threshold)
    provinces = queries.period_attainment(con, year, month, "province")
    communes = queries.period_attainment(con, year, month, "commune")
    national = pd.concat([pd.DataFrame({"scope": ["VN"], "name": ["Cả nước"]}),
                          _unit_rows(figures, [("T",)], pd.Series([provinces["quota"].sum(min_count=1)]))], axis=1)
    prov = pd.concat([pd.DataFrame({"province_code": provinces["unit_code"], "province_name": provinces["unit_name"]}),
                      _unit_rows(figures, [("P", c) for c in provinces["unit_code"]], provinces["quota"])], axis=1)
    comm = pd.concat([pd.DataFrame({"commune_code": communes["unit_code"], "commune_name": communes["unit_name"],
                                    "province_code": communes["province_code"]}),
                      _unit_rows(figures, [("C", c) for c in communes["unit_code"]], communes["quota"])], axis=1)
    m = figures.markets
    market_labels = [figures.label(("M", c)) for c in m["code"]]
    markets = pd.DataFrame({"market_code": m["code"], "market_name": m["name"], "safe_high_income": m["safe"].astype(bool),
                            "departures": pd.array([_count(v) for v in market_labels], dtype="Int64"),
                            "departures_flag": [_flag(v) for v in market_labels]})
    pairs = [(p, c) for p in provinces["unit_code"] for c in m["code"]]
    cells = [figures.label(("X", p, c)) for p, c in pairs]
    province_markets = pd.DataFrame({"province_code": [p for p, _ in pairs], "market_code": [c for _, c in pairs],
                                     "departures": pd.array([_count(v) for v in cells], dtype="Int64"),
                                     "departures_flag": [_flag(v) for v in cells]})
    texts = references.notices(con)
    notices = pd.DataFrame({"key": list(references.NOTICE_KEYS), "title": list(references.NOTICE_KEYS.values()),
                            "text": [texts[k] for k in references.NOTICE_KEYS]})
    firms = references.read(con, "companies")
    companies = pd.DataFrame({"licence_no": firms["licence_no"], "company_name": firms["name"],
                              "markets": firms["markets"],
                              "valid_until": pd.to_datetime(firms["valid_until"], errors="coerce").dt.date})
    return {"national": national, "provinces": prov, "communes": comm, "markets": markets,
            "province_markets": province_markets, "notices": notices, "companies": companies}


def release_period(con: duckdb.DuckDBPyConnection, today: dt.date) -> tuple[int, int]:
    """The period the public screen shows by default: the last complete month with departures."""
    latest = periods.default_month(periods.reported_months(con), today)
    if latest is None:
        raise PublishError("Chưa có số liệu xuất cảnh nào để công bố.")
    return latest


def build_release(con: duckdb.DuckDBPyConnection, today: dt.date, threshold: int) -> ReleaseData:
    """Everything a release publishes, for the default period as seen on ``today``."""
    year, month = release_period(con, today)
    shapes = queries.shapes(con, "2025", "province", "coarse")
    return ReleaseData(year, month, periods.period(year, month, today), today, int(threshold),
                       queries.meta(con).get("contains_demo") == "true",
                       build_tables(con, year, month, threshold), shapes)


def province_shapes(con: duckdb.DuckDBPyConnection, province: str) -> pd.DataFrame:
    """One province's commune geometry (the app's fine level of detail)."""
    return queries.shapes(con, "2025", "commune", "fine", province)


def _plain(value: object) -> object:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if hasattr(value, "item"):
        return value.item()  # type: ignore[union-attr]
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


def table_records(df: pd.DataFrame) -> list[dict]:
    """Rows as JSON-ready dicts (None for an empty cell, ISO dates)."""
    return [{c: _plain(v) for c, v in zip(df.columns, row)} for row in df.itertuples(index=False, name=None)]


def table_json(df: pd.DataFrame) -> str:
    """A table as a JSON array of row objects (Frictionless' keyed JSON rows)."""
    return json.dumps(table_records(df), ensure_ascii=False, separators=(",", ":"))


def datapackage(data: ReleaseData, version: str) -> dict:
    """The Frictionless Data Package descriptor of a release (every table in CSV, XLSX and JSON)."""
    demo = f" ({DEMO_LABEL})" if data.demo else ""
    resources = []
    for name, spec in TABLES.items():
        schema = {"fields": spec["fields"], "missingValues": [""], "primaryKey": KEYS[name]}
        for fmt, media in (("csv", "text/csv"), ("xlsx", "application/vnd.openxmlformats-officedocument."
                                                                   "spreadsheetml.sheet"), ("json", "application/json")):
            res = {"name": f"{name.replace('_', '-')}-{fmt}", "path": f"data/{name}.{fmt}", "format": fmt,
                   "mediatype": media, "profile": "tabular-data-resource", "title": spec["title"] + demo,
                   "description": spec["description"] + (" " + empty_reason(name) if data.tables[name].empty
                                                          else ""), "schema": schema}
            if fmt == "csv":
                res |= {"encoding": "utf-8", "dialect": {"delimiter": ",", "header": True}}
            if fmt == "json" and data.tables[name].empty:
                # an empty JSON array has no rows to read a table from (Frictionless refuses it)
                res = {k: v for k, v in res.items() if k != "schema"} | {
                    "profile": "data-resource", "description": spec["description"] + " " + empty_reason(name)
                    + " Các cột như tệp CSV."}
            resources.append(res)
    return {
        "profile": "data-package", "name": "xkld-geo-cong-khai", "id": f"xkld-geo-cong-khai-{version}",
        "title": f"Kết quả đưa người lao động đi làm việc ở nước ngoài, {data.period.short}{demo}",
        "description": (f"{data.period.label}. Số liệu làm tròn đến {data.threshold}; các số từ 1 đến "
                        f"{data.threshold - 1} được để trống, có cờ '{CONFIDENTIAL}' (như SDMX)."
                        + (f" {DEMO_LABEL}: số liệu sinh ngẫu nhiên để thử nghiệm, không phải số liệu thật."
                           if data.demo else "")),
        "version": version, "created": dt.datetime.combine(data.released, dt.time()).isoformat() + "Z",
        "licenses": [LICENCE], "keywords": ["xuất khẩu lao động", "chỉ tiêu", "Việt Nam"]
        + ([DEMO_LABEL] if data.demo else []),
        "contributors": [{"title": PUBLISHER, "role": "publisher"}],
        "temporal": {"start": f"{data.year}-01-01", "end": data.period.cutoff.isoformat()},
        "xkld": {"data_month": data.month_id, "threshold": data.threshold, "demo": data.demo,
                 "flags": {CONFIDENTIAL: f"số từ 1 đến {data.threshold - 1}"}},
        "resources": resources,
    }


def changes(before: dict[str, list[dict]], after: dict[str, pd.DataFrame], limit: int = 20) -> list[str]:
    """What a revision changed: per table, rows added or removed and cells changed (a few examples)."""
    notes: list[str] = []
    for name, df in after.items():
        keys = KEYS[name]
        old = {tuple(r.get(k) for k in keys): r for r in before.get(name, [])}
        new = {tuple(r.get(k) for k in keys): r for r in table_records(df)}
        changed = [(k, c, old[k].get(c), v) for k, r in new.items() if k in old
                   for c, v in r.items() if old[k].get(c) != v]
        added, removed = len(new.keys() - old.keys()), len(old.keys() - new.keys())
        if not (changed or added or removed):
            continue
        title = TABLES[name]["title"]
        notes.append(f"{title}: {len(changed)} ô thay đổi, {added} dòng thêm, {removed} dòng bỏ.")
        for key, column, was, now in changed[:limit]:
            notes.append(f"  {'/'.join(map(str, key))}, {column}: {_shown(was)} → {_shown(now)}")
    return notes


def _shown(value: object) -> str:
    return "trống" if value is None else str(value)

