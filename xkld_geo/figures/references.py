"""Reference data edited by administrators: markets, licensed companies and public notices.

The three share one path, :func:`save`: the role is checked, every row is checked and a bad edit
is refused whole (a :class:`~xkld_geo.errors.ReferenceDataError` naming row, field and the allowed
values), then the rows are written and audited in one transaction. What differs per kind (its
columns, its row checks, how its rows are written) is declared once in :data:`KINDS`.

- *markets*: an ISO country code, whole non-negative amounts, a stated source; rows are upserted
  by code (markets used by statistics are never deleted);
- *companies*: the licensed-company list shown on the public page; the list is replaced;
- *notices*: hotline, fraud warning and the about text; only the notices given are replaced.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import duckdb
import pandas as pd

from xkld_geo.access import auth, scope
from xkld_geo.database import dataversion, db
from xkld_geo.errors import ReferenceDataError, XkldError
from xkld_geo.text import markup

ISO_ALPHA2 = frozenset("""AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO
BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER
ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN
IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH
MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN
PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ
TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW""".split())
"""ISO 3166-1 alpha-2 country codes (Taiwan's TW included, as the labour statistics use it)."""

NAME_CHARS = 120
"""Longest market or region name accepted (the source may be as long as ``max_text_chars``)."""
COMPANY_TEXT_CHARS = 500
NOTICE_CHARS = 2000

NOTICE_KEYS = {"hotline": "Đường dây nóng", "fraud_warning": "Cảnh báo lừa đảo",
               "about": "Giới thiệu chương trình"}
DEFAULT_NOTICES = {
    "hotline": "Đường dây nóng tư vấn xuất khẩu lao động: liên hệ Sở Nội vụ tỉnh/thành nơi bạn cư trú.",
    "fraud_warning": "Chỉ đăng ký qua doanh nghiệp được cấp phép hoặc Trung tâm Dịch vụ việc làm. "
                     "Không nộp tiền cho cá nhân môi giới; không có 'suất đi nhanh' hay 'bao đậu'.",
    "about": "Thông tin công khai về chỉ tiêu và kết quả đưa người lao động đi làm việc ở nước ngoài.",
}


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT


def check_markets(rows: pd.DataFrame) -> list[str]:
    """Every problem of an edited market table, as "Dòng N, cột X: ..." messages (row 1 = first)."""
    errors: list[str] = []
    seen: set[str] = set()
    for i, row in enumerate(rows.to_dict("records"), start=1):
        code = str(row.get("code") or "").strip().upper()
        if code not in ISO_ALPHA2:
            errors.append(f"Dòng {i}, cột code: '{row.get('code')}' không phải mã quốc gia ISO 3166-1 "
                          "(hai chữ cái, ví dụ JP, KR, DE).")
        elif code in seen:
            errors.append(f"Dòng {i}, cột code: mã {code} bị trùng.")
        seen.add(code)
        for field in ("avg_income_usd", "avg_cost_usd"):
            value = row.get(field)
            if _blank(value):
                continue
            try:
                number = float(value)  # type: ignore[arg-type]
            except (TypeError, ValueError):
                errors.append(f"Dòng {i}, cột {field}: '{value}' không phải là số.")
                continue
            if number < 0 or number != int(number):
                errors.append(f"Dòng {i}, cột {field}: {value} phải là số nguyên không âm (USD).")
        for field in ("name_vi", "source"):
            if not str(row.get(field) or "").strip():
                errors.append(f"Dòng {i}, cột {field}: không được để trống (ghi rõ nguồn của số liệu).")
        for field, limit in (("name_vi", NAME_CHARS), ("name_en", NAME_CHARS), ("region", NAME_CHARS),
                             ("source", None)):
            try:
                markup.check_length(str(row.get(field) or ""), f"Dòng {i}, cột {field}", limit)
            except XkldError as exc:
                errors.append(exc.message)
    return errors


def check_companies(rows: pd.DataFrame) -> list[str]:
    """Problems of an edited company list, as "Dòng N, cột X: ..." (row 1 = the first)."""
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
        for field in KINDS["companies"].columns:  # free text is bounded by the server, whatever the browser sent
            value = row.get(field)
            if isinstance(value, str) and len(value) > COMPANY_TEXT_CHARS:
                errors.append(f"Dòng {i}, cột {field}: dài {len(value)} ký tự; tối đa {COMPANY_TEXT_CHARS} ký tự.")
        province = row.get("province_code")
        if province and not _blank(province) and not (str(province).isdigit() and len(str(province)) == 2):
            errors.append(f"Dòng {i}, cột province_code: '{province}' không phải mã tỉnh 2 chữ số.")
        for code in str(row.get("markets") or "").replace(";", ",").split(","):
            if code.strip() and code.strip().upper() not in ISO_ALPHA2:
                errors.append(f"Dòng {i}, cột markets: '{code.strip()}' không phải mã quốc gia ISO.")
    return errors


def check_notices(rows: pd.DataFrame) -> list[str]:
    """Problems of edited notices: a known key and 1–2,000 characters of text."""
    errors: list[str] = []
    for i, row in enumerate(rows.to_dict("records"), start=1):
        key = str(row.get("key") or "")
        if key not in NOTICE_KEYS:
            errors.append(f"Dòng {i}, cột key: '{key}' không phải mục thông báo ({', '.join(NOTICE_KEYS)}).")
        text = str(row.get("text") or "").strip()
        if not text or len(text) > NOTICE_CHARS:
            errors.append(f"Dòng {i}, cột text: nội dung thông báo cần từ 1 đến 2.000 ký tự (đang có {len(text)}).")
    return errors


def _write_markets(con: duckdb.DuckDBPyConnection, rows: pd.DataFrame, by: str) -> None:
    rows["code"] = rows["code"].str.strip().str.upper()
    rows["safe_high_income"] = rows["safe_high_income"].fillna(False).astype(bool)
    with db.registered(con, "markets_in", rows):
        db.execute(con, "markets_upsert", """INSERT INTO markets SELECT * FROM markets_in ON CONFLICT (code) DO UPDATE SET
            name_vi = excluded.name_vi, name_en = excluded.name_en, region = excluded.region,
            safe_high_income = excluded.safe_high_income, avg_income_usd = excluded.avg_income_usd,
            avg_cost_usd = excluded.avg_cost_usd, source = excluded.source""")


def _write_companies(con: duckdb.DuckDBPyConnection, rows: pd.DataFrame, by: str) -> None:
    rows["valid_until"] = pd.to_datetime(rows["valid_until"], errors="coerce").dt.date
    with db.registered(con, "companies_in", rows):
        db.execute(con, "companies_clear", "DELETE FROM licensed_companies")
        db.execute(con, "companies_insert", "INSERT INTO licensed_companies SELECT * FROM companies_in")


def _write_notices(con: duckdb.DuckDBPyConnection, rows: pd.DataFrame, by: str) -> None:
    for row in rows.to_dict("records"):
        db.execute(con, "notice_set", "INSERT OR REPLACE INTO public_notices VALUES ($k, $t, now(), $u)",
                   {"k": row["key"], "t": str(row["text"]).strip(), "u": by})


@dataclass(frozen=True)
class ReferenceKind:
    """One kind of administrator-edited reference data."""

    key: str
    title: str                      # Vietnamese, for messages
    table: str
    columns: tuple[str, ...]
    order: str                      # ORDER BY of the editor's view
    check: Callable[[pd.DataFrame], list[str]]
    write: Callable[[duckdb.DuckDBPyConnection, pd.DataFrame, str], None]
    allowed: object = None          # what a bad value may be instead, for the error's details


KINDS: dict[str, ReferenceKind] = {k.key: k for k in (
    ReferenceKind("markets", "bảng thị trường", "markets",
                  ("code", "name_vi", "name_en", "region", "safe_high_income", "avg_income_usd", "avg_cost_usd",
                   "source"), "code", check_markets, _write_markets, sorted(ISO_ALPHA2)),
    ReferenceKind("companies", "danh sách doanh nghiệp được cấp phép", "licensed_companies",
                  ("licence_no", "name", "province_code", "markets", "valid_until"), "name", check_companies,
                  _write_companies),
    ReferenceKind("notices", "thông báo công khai", "public_notices", ("key", "text"), "key", check_notices,
                  _write_notices, sorted(NOTICE_KEYS)),
)}


def read(con: duckdb.DuckDBPyConnection, kind: str) -> pd.DataFrame:
    """The stored rows of ``kind``, in the editor's order and columns."""
    k = KINDS[kind]
    return db.run(con, f"reference_{k.key}", f"SELECT {', '.join(db.quote_identifier(c) for c in k.columns)} "
                                             f"FROM {db.quote_identifier(k.table)} ORDER BY {db.quote_identifier(k.order)}")


def notices(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Hotline, fraud warning and about text: the administrator's, else the defaults."""
    df = read(con, "notices")
    return DEFAULT_NOTICES | dict(zip(df["key"], df["text"]))


def save(con: duckdb.DuckDBPyConnection, kind: str, rows: pd.DataFrame, user: auth.User) -> int:
    """Check and save edited rows of ``kind`` for ``user``; return the number of rows saved.

    Only administrators may edit reference data. A single bad row refuses the whole edit, and the
    write and its audit line commit together or not at all.
    """
    k = KINDS[kind]
    if not auth.allowed(user, "edit_reference"):
        raise ReferenceDataError(f"Chỉ quản trị viên được sửa {k.title}.", field="role", value=user.role,
                                 allowed=["admin"])
    if not scope.of(con, user).national:
        raise scope.refusal(user, scope.of(con, user), scope.NATION, f"sửa {k.title} (danh mục dùng chung cả nước)")
    missing = [c for c in k.columns if c not in rows.columns]
    if missing:
        raise ReferenceDataError(f"Thiếu cột {', '.join(missing)} trong {k.title}.", field=missing[0],
                                 allowed=list(k.columns))
    errors = k.check(rows)
    if errors:
        raise ReferenceDataError(" ".join(errors[:5]) + (f" (và {len(errors) - 5} lỗi khác)" if len(errors) > 5
                                                         else ""), errors=errors, allowed=k.allowed)
    clean = rows[list(k.columns)].copy()
    with db.transaction(con):
        k.write(con, clean, user.username)
        auth.audit(con, user.username, "reference_edited", k.table, f"{len(clean)} rows")
        dataversion.bump(con, f"reference:{k.table}")   # cached pages see the edit at once
    return len(clean)


def save_notice(con: duckdb.DuckDBPyConnection, key: str, text: str, user: auth.User) -> None:
    """Save one public notice (the administrator's page edits them one at a time)."""
    save(con, "notices", pd.DataFrame({"key": [key], "text": [text]}), user)
