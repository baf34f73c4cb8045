"""Scope: the place an account belongs to, and what it may write and read there.

The organisation units are the nation (``VN``) → 34 provinces (2 digits) → 3.321 communes (5
digits, today's units); a licensed recruitment company (its licence number) is a reporting entity
of its own. Every account has one scope (``users.unit_code`` and ``users.company_licence``).

- **Writes** (imports, the commune's monthly form, plans, approvals, cases, people in charge,
  references) are accepted only for units inside the scope: the nation covers everything, a
  province its communes, a commune itself; a company writes only the kinds a company reports
  (its workers' register) and no unit's aggregate figures.
- **Reads**: national and province-level aggregates are visible to every internal role; commune
  detail (tables, maps, exports, the periodic report, the case register, the chase list, phone
  numbers) only inside the scope. A URL naming another unit gets the refusal, not the data.

Every check is here, used alike by the pages (through their ``build_*`` functions), by the
command line and by the import pipeline, so that the server, never the browser, decides.
Commune → province comes from ``admin_units`` (commune codes do not carry their province).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Protocol

import duckdb
import pandas as pd

from xkld_geo.database import db
from xkld_geo.errors import ScopeError

NATION = "VN"
LEVELS: dict[str, str] = {"nation": "Toàn quốc", "province": "Tỉnh", "commune": "Xã", "company": "Doanh nghiệp"}
COMPANY_KINDS = frozenset({"register", "orders", "interviews"})
"""Import kinds a company account may send: the list of its own workers (any commune of origin),
its recruitment orders and their interviews per commune (:func:`out_of_licence_rows`: only under
its own licence); never a unit's aggregate figures."""
LICENCE = re.compile(r"^[0-9A-Za-z/._-]{1,40}$")


class HasScope(Protocol):
    """What the checks need of an account (``auth.User``)."""

    @property
    def username(self) -> str: ...
    @property
    def role(self) -> str: ...
    @property
    def unit(self) -> str: ...
    @property
    def company(self) -> str | None: ...


@dataclass(frozen=True)
class Scope:
    """One account's place: ``level`` (a key of :data:`LEVELS`) and its ``code``; ``province``
    is the province of a province or commune scope (filled from ``admin_units`` for a commune)."""

    level: str
    code: str
    province: str | None = None

    @property
    def label(self) -> str:
        """Vietnamese label: "Toàn quốc", "Tỉnh 40", "Xã 40123", "Doanh nghiệp 123/LĐTBXH"."""
        return LEVELS[self.level] if self.level == "nation" else f"{LEVELS[self.level]} {self.code}"

    @property
    def national(self) -> bool:
        return self.level == "nation"


def level_of(unit: str) -> str:
    """'nation', 'province' or 'commune' of a unit code, or a :class:`ScopeError`."""
    text = str(unit or "").strip().upper()
    if text == NATION:
        return "nation"
    if re.fullmatch(r"\d{2}", text):
        return "province"
    if re.fullmatch(r"\d{5}", text):
        return "commune"
    raise ScopeError(f"Đơn vị '{unit}' không hợp lệ: dùng VN (toàn quốc), mã tỉnh 2 chữ số hoặc mã xã 5 chữ số.",
                     field="unit", value=unit, allowed=["VN", "2 chữ số", "5 chữ số"])


def province_of(con: duckdb.DuckDBPyConnection, commune: str) -> str | None:
    """The province of a commune of today's units (None when there is no such commune)."""
    return db.value(con, "scope_province_of", """
        SELECT parent_code FROM admin_units WHERE era = '2025' AND level = 'commune' AND code = $c""",
                    {"c": str(commune)})


def provinces_of(con: duckdb.DuckDBPyConnection, communes: Iterable[str]) -> dict[str, str]:
    """Commune → province for the communes given (unknown communes are left out)."""
    wanted = sorted({str(c) for c in communes if c is not None and str(c) != "nan"})
    if not wanted:
        return {}
    df = db.run(con, "scope_provinces_of", """
        SELECT code, parent_code FROM admin_units WHERE era = '2025' AND level = 'commune'
        AND list_contains($codes, code)""", {"codes": wanted})
    return dict(zip(df["code"], df["parent_code"]))


def check_unit(con: duckdb.DuckDBPyConnection, unit: str) -> str:
    """A unit code that exists (normalised), or a :class:`ScopeError` naming it."""
    level = level_of(unit)
    code = str(unit).strip().upper()
    if level == "nation":
        return code
    found = db.value(con, "scope_unit_exists", """
        SELECT count(*) FROM admin_units WHERE era = '2025' AND level = $l AND code = $c""", {"l": level, "c": code})
    if not found:
        raise ScopeError(f"Không có {LEVELS[level].lower()} mã {code} trong danh mục đơn vị hành chính hiện hành.",
                         field="unit", value=code)
    return code


def make(con: duckdb.DuckDBPyConnection, unit: str | None, company: str | None = None) -> Scope:
    """The scope of a unit code (and company licence); a commune's province is looked up."""
    if company:
        if not LICENCE.match(company):
            raise ScopeError(f"Số giấy phép '{company}' không hợp lệ (chữ, số, / . _ -; tối đa 40 ký tự).",
                             field="company", value=company)
        return Scope("company", company)
    code = str(unit or NATION).strip().upper()
    level = level_of(code)
    if level == "commune":
        return Scope("commune", code, province_of(con, code))
    return Scope(level, code, code if level == "province" else None)


def of(con: duckdb.DuckDBPyConnection, user: HasScope) -> Scope:
    """The scope of an account (the public visitor and legacy callers: the nation)."""
    return make(con, getattr(user, "unit", NATION), getattr(user, "company", None))


def covers(scope: Scope, unit: str, unit_province: str | None = None) -> bool:
    """Whether ``scope`` contains ``unit`` (VN, a province, or a commune whose province is
    ``unit_province``). A company covers no unit."""
    if scope.level == "nation":
        return True
    if scope.level == "company":
        return False
    level = level_of(unit)
    if scope.level == "province":
        return (level == "province" and unit == scope.code) or (level == "commune" and unit_province == scope.code)
    return level == "commune" and unit == scope.code


def refusal(user: HasScope, scope: Scope, unit: str, what: str, row: int | None = None,
            field: str | None = None) -> ScopeError:
    """The Vietnamese refusal of an act outside the scope: who, which unit, and where."""
    where = (f"Dòng {row}, cột {field}: " if row is not None and field else "")
    return ScopeError(f"{where}đơn vị {unit} nằm ngoài phạm vi của tài khoản {user.username} ({scope.label}); "
                      f"không được {what}.", field=field or "unit", value=unit, row=row, scope=scope.code,
                      reason="out_of_scope")


def require_write(con: duckdb.DuckDBPyConnection, user: HasScope, unit: str, what: str = "ghi số liệu") -> Scope:
    """Refuse (a :class:`ScopeError`) a write for ``unit`` outside the account's scope."""
    scope = of(con, user)
    code = str(unit).strip().upper()
    prov = province_of(con, code) if level_of(code) == "commune" else None
    if not covers(scope, code, prov):
        raise refusal(user, scope, code, what)
    return scope


def require_read(con: duckdb.DuckDBPyConnection, user: HasScope, unit: str | None) -> Scope:
    """Refuse commune-level detail of ``unit`` (a province or a commune; None: the whole
    country) outside the account's scope. National and province aggregates are asked with
    :func:`aggregate_visible` instead."""
    scope = of(con, user)
    if unit is None or str(unit).upper() == NATION:
        if scope.national:
            return scope
        raise refusal(user, scope, NATION, "xem số liệu chi tiết từng xã của cả nước")
    return require_write(con, user, str(unit), "xem số liệu chi tiết của đơn vị này")


def detail_province(con: duckdb.DuckDBPyConnection, user: HasScope, asked: str | None) -> str | None:
    """The province whose commune detail a page may show: the one asked (checked), else the
    account's own (a national account may see all: None)."""
    scope = of(con, user)
    if asked:
        require_read(con, user, asked)
        return asked
    if scope.national:
        return None
    if scope.province is None:
        raise refusal(user, scope, NATION, "xem số liệu chi tiết từng xã")
    return scope.province


def visible_communes(con: duckdb.DuckDBPyConnection, user: HasScope, frame: pd.DataFrame,
                     column: str = "commune_code") -> pd.DataFrame:
    """The rows of ``frame`` whose commune the account may see in detail (a read filter)."""
    scope = of(con, user)
    if scope.national or frame.empty:
        return frame
    if scope.level == "company":
        return frame.iloc[0:0]
    if scope.level == "commune":
        return frame[frame[column].astype(str) == scope.code]
    provinces = provinces_of(con, frame[column].astype(str))
    return frame[frame[column].astype(str).map(provinces).eq(scope.province)]


def communes_in_scope(con: duckdb.DuckDBPyConnection, user: HasScope) -> frozenset[str] | None:
    """The communes whose detail the account may see (None: every one, the nation's accounts): a
    province's communes, a commune itself, none for a company. For views that take a set
    (the year-end outlook's map and table)."""
    own = of(con, user)
    if own.national:
        return None
    if own.level == "commune":
        return frozenset({own.code})
    if own.level != "province":
        return frozenset()
    df = db.run(con, "scope_province_communes", """
        SELECT code FROM admin_units WHERE era = '2025' AND level = 'commune' AND parent_code = $p""",
                {"p": own.province})
    return frozenset(df["code"].astype(str))


def aggregate_visible(user: HasScope) -> bool:
    """National and province-level aggregates: every internal role (leaders compare provinces)."""
    return user.role != "public"


def out_of_scope_rows(con: duckdb.DuckDBPyConnection, user: HasScope, kind: str, communes: pd.Series,
                      field: str) -> pd.DataFrame:
    """Import rows (index: row number) whose commune lies outside the account's scope, as
    errors (row, field, value, reason) of the import pipeline."""
    scope = of(con, user)
    columns = ["row", "field", "value", "reason"]
    known = communes.dropna().astype(str)
    if scope.national or known.empty:
        return pd.DataFrame(columns=columns)
    if scope.level == "company":
        if kind in COMPANY_KINDS:
            return pd.DataFrame(columns=columns)
        bad = known
    elif scope.level == "commune":
        bad = known[known != scope.code]
    else:
        provinces = provinces_of(con, known)
        bad = known[known.map(provinces).ne(scope.province)]
    reason = [f"xã {c} nằm ngoài phạm vi của tài khoản {user.username} ({scope.label}); dòng này không được nhập"
              for c in bad]
    return pd.DataFrame({"row": bad.index, "field": field, "value": bad.to_numpy(), "reason": reason})


def require_kind(user: HasScope, kind: str) -> None:
    """Refuse a company account an import kind it does not report (:data:`COMPANY_KINDS`)."""
    if getattr(user, "company", None) and kind not in COMPANY_KINDS:
        raise ScopeError(f"Tài khoản doanh nghiệp {user.username} (giấy phép {user.company}) chỉ nhập được danh sách "
                         "người lao động, đơn hàng tuyển lao động và kết quả phỏng vấn đơn hàng của chính doanh "
                         f"nghiệp; không nhập được loại '{kind}'.", field="kind", value=kind,
                         allowed=sorted(COMPANY_KINDS), reason="out_of_scope")


def import_kinds(user: HasScope, keys: Iterable[str]) -> list[str]:
    """Of the import kinds ``keys``, those the account may send (a company: :data:`COMPANY_KINDS`)."""
    return [k for k in keys if not getattr(user, "company", None) or k in COMPANY_KINDS]


def own_rows(user: HasScope, frame: pd.DataFrame, licence_column: str | None = None,
             user_column: str | None = None) -> pd.DataFrame:
    """A company account's own rows of a listing (its orders by licence, its imports by account
    name); every row for the other accounts (their limits are the units: :func:`visible_communes`)."""
    company = getattr(user, "company", None)
    if not company or frame.empty:
        return frame
    keep = pd.Series(True, index=frame.index)
    if licence_column:
        keep &= frame[licence_column].astype(str).str.upper() == company.upper()
    if user_column:
        keep &= frame[user_column].astype(str) == user.username
    return frame[keep]


def _folded(text: object) -> str:
    from xkld_geo.intake.kinds import header_key

    return header_key(str(text or ""))


def out_of_licence_rows(con: duckdb.DuckDBPyConnection, user: HasScope, kind: str, values: pd.DataFrame,
                        headers: dict[str, str]) -> pd.DataFrame:
    """Rows of a recruitment-order import (index: row number) outside the account's scope, as
    errors (row, field, value, reason): for a company, an order under another licence, or the
    interviews of an order that is not its own; for a province, an order announced by another
    province. ``headers`` maps the template keys (so_giay_phep, ma_don_hang, tinh) to the file's
    column headers."""
    columns = ["row", "field", "value", "reason"]
    own = of(con, user)
    if own.national or kind not in ("orders", "interviews"):
        return pd.DataFrame(columns=columns)
    rows: list[tuple[object, str, str, str]] = []
    if own.level == "company" and kind == "orders" and "so_giay_phep" in values:
        mine = _folded(own.code)
        for i, cell in values["so_giay_phep"].items():
            if isinstance(cell, str) and cell.strip() and _folded(cell) != mine:
                rows.append((i, headers["so_giay_phep"], cell,
                             f"đơn hàng của giấy phép {cell} không thuộc tài khoản {user.username} "
                             f"(giấy phép {own.code}); dòng này không được nhập"))
    elif own.level == "company" and kind == "interviews" and "ma_don_hang" in values:
        stored = db.run(con, "scope_order_licences", "SELECT order_code, licence_no FROM recruitment_orders")
        licence_of = {_folded(c): _folded(lic) for c, lic in stored.itertuples(index=False)}
        mine = _folded(own.code)
        for i, cell in values["ma_don_hang"].items():
            found = licence_of.get(_folded(cell)) if isinstance(cell, str) else None
            if found is not None and found != mine:
                rows.append((i, headers["ma_don_hang"], str(cell),
                             f"đơn hàng {cell} là của doanh nghiệp khác, không thuộc tài khoản {user.username} "
                             f"(giấy phép {own.code}); dòng này không được nhập"))
    elif own.level in ("province", "commune") and kind == "orders" and "tinh" in values:
        names = db.run(con, "scope_province_names", """
            SELECT code, name FROM admin_units WHERE era = '2025' AND level = 'province'""")
        code_of: dict[str, str] = {}
        for code, name in names.itertuples(index=False):
            key = _folded(name)
            code_of.update({code: code, key: code,
                            key.removeprefix("tinh ").removeprefix("thanh pho ").strip(): code})
        for i, cell in values["tinh"].items():
            text = cell.strip() if isinstance(cell, str) else ""
            # blank: a national order, announced by the nation and not by a province
            given = code_of.get(_folded(text).removeprefix("tinh ").removeprefix("thanh pho ").strip(),
                                code_of.get(text)) if text else None
            if given != own.province:
                shown = cell if isinstance(cell, str) and cell.strip() else "(toàn quốc)"
                rows.append((i, headers["tinh"], shown,
                             f"đơn hàng của {shown} nằm ngoài phạm vi của tài khoản {user.username} ({own.label}); "
                             "dòng này không được nhập"))
    return pd.DataFrame(rows, columns=columns)


def manages(con: duckdb.DuckDBPyConnection, admin: HasScope, unit: str | None, company: str | None = None) -> bool:
    """Whether administrator ``admin`` may create or change an account of scope ``unit`` /
    ``company``: a national administrator any; a province administrator only inside its province
    (never the nation, another province or a company)."""
    scope = of(con, admin)
    if scope.national:
        return True
    if company or scope.level != "province":
        return False
    code = str(unit or NATION).strip().upper()
    level = level_of(code)
    prov = province_of(con, code) if level == "commune" else None
    return covers(scope, code, prov)


def provinces_shown(con: duckdb.DuckDBPyConnection, user: HasScope, codes: list[str]) -> list[str]:
    """Of ``codes``, the provinces whose commune detail the account may open (a selector's
    options): all for the nation, its own for a province, none for a commune or a company (they
    see the national, province-level view; a commune's own figures are on its monthly report)."""
    own = of(con, user)
    if own.national:
        return list(codes)
    if own.level == "province":
        return [c for c in codes if c == own.province]
    return []


def check_url_unit(con: duckdb.DuckDBPyConnection, user: HasScope, raw: str | None) -> None:
    """Refuse a URL naming a province or commune outside the account's detail scope (``?unit=38``)."""
    if raw is None or str(raw).strip() == "":
        return
    text = str(raw).strip()
    try:
        level = level_of(text)
    except ScopeError:
        return      # not a unit code: the page ignores it with its own warning
    if level == "nation":
        return
    own = of(con, user)
    prov = province_of(con, text) if level == "commune" else text
    allowed = own.national or (own.level == "province" and prov == own.province)
    if not allowed:
        raise refusal(user, own, text, "xem số liệu chi tiết của đơn vị này")


def people_visible(con: duckdb.DuckDBPyConnection, user: HasScope, listing: pd.DataFrame) -> pd.DataFrame:
    """Rows of a people-in-charge listing (unit_level, unit_code) the account may see: names and
    phone numbers are commune-level detail."""
    own = of(con, user)
    if own.national or listing.empty:
        return listing
    provinces = provinces_of(con, listing.loc[listing["unit_level"] == "commune", "unit_code"].astype(str))
    keep = [covers(own, str(code), provinces.get(str(code)) if lvl == "commune" else None)
            for lvl, code in zip(listing["unit_level"], listing["unit_code"])]
    return listing[keep]
