"""Checking the cells of a report: every value parsed, every problem named with its row and column.

Validation is vectorised over the distinct values of a column (a million-row register has a few
hundred distinct dates and a dozen markets), so it is fast on big files; each problem becomes one
line of the rejection file with the row number a person sees, the column header and a reason in
Vietnamese. Market, channel and group codes are checked against the reference tables in DuckDB,
accepting their codes and their Vietnamese or English names.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Callable

import duckdb
import numpy as np
import pandas as pd

from xkld_geo.database import db
from xkld_geo.intake.kinds import Kind, header_key

FIRST_YEAR = 2015
TOTAL = "__total__"
"""Market value of a departures row that is the commune-month total ('Tổng', 'Tổng cộng')."""

MARKET_ALIASES = {"nhat": "JP", "han": "KR", "dai loan": "TW", "trung quoc": "CN", "tq": "CN", "duc": "DE",
                  "korea": "KR", "han quoc eps": "KR", "a rap saudi": "SA", "saudi": "SA", "a rap": "SA",
                  "hong kong": "HK", "ma cao": "MO", "macau": "MO", "khac": "OTH", "nuoc khac": "OTH"}
CHANNEL_ALIASES = {"doanh nghiep": "doanh_nghiep", "dn": "doanh_nghiep", "hop dong": "doanh_nghiep",
                   "eps": "eps", "chuong trinh eps": "eps", "tts": "thuc_tap_sinh", "thuc tap sinh": "thuc_tap_sinh",
                   "tts ky thuat": "thuc_tap_sinh", "titp": "thuc_tap_sinh"}
GROUP_ALIASES = {"bdxn": "bo_doi_xuat_ngu", "bo doi": "bo_doi_xuat_ngu", "ho ngheo": "ho_ngheo",
                 "can ngheo": "ho_can_ngheo", "chinh sach": "gia_dinh_chinh_sach", "dttt": "dan_toc_thieu_so",
                 "dtts": "dan_toc_thieu_so", "dan toc": "dan_toc_thieu_so", "khong": "khac", "": "khac",
                 "su co moi truong bien": "su_co_moi_truong_bien", "moi truong bien": "su_co_moi_truong_bien",
                 "formosa": "su_co_moi_truong_bien", "hoc sinh": "hoc_sinh_khong_hoc_tiep",
                 "that nghiep": "that_nghiep", "huyen ngheo": "huyen_ngheo"}
SEXES = {"nam": "nam", "m": "nam", "male": "nam", "nu": "nu", "f": "nu", "female": "nu", "n": "nu"}
TOTAL_WORDS = {"tong", "tong cong", "cong", "total"}
CODE_MARK = "="
COUNT_MAX = 2_147_483_647
"""Largest count a fact table can hold: its count columns are DuckDB INTEGER (32-bit)."""
AMOUNT_MAX = 1e12
"""Largest amount (VND million) taken as typed: a billion billion dong is a typing error."""
"""Prefix of a reference code's key in a lookup map; folded names never start with it."""


class Invalid(ValueError):
    """A value that fails its check; the message is the Vietnamese reason."""


@dataclass(frozen=True)
class Reference:
    """Accepted spellings (folded) → code, for markets, channels and priority groups."""

    markets: dict[str, str]
    channels: dict[str, str]
    groups: dict[str, str]
    labels: dict[str, str]
    group_order: tuple[str, ...] = ()   # priority groups in their declared order        # 'market' | 'channel' | 'group' → the allowed values, for messages

    @classmethod
    def from_db(cls, con: duckdb.DuckDBPyConnection) -> "Reference":
        """Read the three reference tables (the market table is edited by administrators)."""
        tables = {name: db.run(con, f"reference_{name}", sql) for name, sql in (
            ("markets", "SELECT code, name_vi, name_en FROM markets ORDER BY code"),
            ("channels", "SELECT code, name_vi, name_en FROM channels ORDER BY code"),
            ("groups", "SELECT code, name_vi, name_en FROM priority_groups ORDER BY code"))}
        maps: dict[str, dict[str, str]] = {}
        labels: dict[str, str] = {}
        for name, aliases in (("markets", MARKET_ALIASES), ("channels", CHANNEL_ALIASES),
                              ("groups", GROUP_ALIASES)):
            frame = tables[name]
            codes = set(frame["code"])
            found = {header_key(a): c for a, c in aliases.items() if c in codes}
            for code, vi, en in frame.itertuples(index=False):
                found.update({header_key(vi): code, header_key(en): code})
            # Codes match as typed (any case), never after folding: 'Mỹ' must not become 'MY' (Malaysia).
            found.update({CODE_MARK + str(code).upper(): code for code in codes})
            maps[name] = found
            labels[name[:-1]] = ", ".join(f"{c} ({vi})" for c, vi, _ in frame.itertuples(index=False))
        from xkld_geo.database.schema.reference import PRIORITY_GROUPS

        return cls(maps["markets"], maps["channels"], maps["groups"], labels,
                   tuple(code for code, *_ in PRIORITY_GROUPS))


def _ascii_digits(parse: Callable[[str, dt.date], object]) -> Callable[[str, dt.date], object]:
    """``parse``, refusing first a cell with a digit other than ASCII 0–9 (Arabic-Indic "١٢",
    full-width "２", ...): Python's ``\\d`` and ``int`` read them, a person checking the file
    would not, so such a cell is never read as a number, a date or a code."""
    def strict(text: str, today: dt.date) -> object:
        other = next((ch for ch in text if ch.isdigit() and not ch.isascii()), None)
        if other is not None:
            raise Invalid(f"chỉ nhận chữ số 0–9; ô có '{other}' (U+{ord(other):04X}), một chữ số kiểu khác: "
                          "hãy gõ lại bằng chữ số thường")
        return parse(text, today)
    return strict


def _month(text: str, today: dt.date) -> dt.date:
    t = re.sub(r"\b(thang|nam)\b", " ", header_key(text)).strip()   # '-' and '.' are spaces here
    sep = r"[\s/]+"
    if m := re.fullmatch(rf"t?\s*(\d{{1,2}}){sep}(\d{{4}})", t):
        month, year = int(m[1]), int(m[2])
    elif m := re.fullmatch(rf"(\d{{4}}){sep}(\d{{1,2}})(?:{sep}\d{{1,2}})?", t):
        year, month = int(m[1]), int(m[2])
    elif m := re.fullmatch(rf"\d{{1,2}}{sep}(\d{{1,2}}){sep}(\d{{4}})", t):
        month, year = int(m[1]), int(m[2])
    else:
        raise Invalid("tháng không đúng dạng MM/YYYY")
    if not 1 <= month <= 12:
        raise Invalid(f"tháng {month} không có (1–12)")
    if year < FIRST_YEAR or dt.date(year, month, 1) > today:
        raise Invalid(f"tháng {month:02d}/{year} ngoài khoảng {FIRST_YEAR} – {today:%m/%Y}")
    return dt.date(year, month, 1)


def _year(text: str, today: dt.date) -> int:
    if not re.fullmatch(r"\d{4}", text):
        raise Invalid("năm phải có 4 chữ số")
    if not FIRST_YEAR <= int(text) <= today.year + 1:
        raise Invalid(f"năm ngoài khoảng {FIRST_YEAR} – {today.year + 1}")
    return int(text)


def _date(text: str, today: dt.date) -> dt.date:
    m = re.fullmatch(r"(\d{1,2})[/\-.](\d{1,2})[/\-.](\d{4})", text)
    iso = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})", text)
    try:
        value = (dt.date(int(m[3]), int(m[2]), int(m[1])) if m
                 else dt.date(int(iso[1]), int(iso[2]), int(iso[3])) if iso else None)
    except ValueError as exc:
        raise Invalid("ngày không có thật") from exc
    if value is None:
        raise Invalid("ngày không đúng dạng DD/MM/YYYY")
    if value.year < FIRST_YEAR or value > today:
        raise Invalid(f"ngày ngoài khoảng {FIRST_YEAR} – {today:%d/%m/%Y}")
    return value


PLAN_YEARS = 3
"""How far ahead a planned date (an interview, a departure, a course's end) may lie."""


def _plan_date(text: str, today: dt.date) -> dt.date:
    """A date that may lie ahead (up to :data:`PLAN_YEARS` years): planned, not yet happened."""
    return _date(text, dt.date(today.year + PLAN_YEARS, 12, 31))


CODE_PATTERN = re.compile(r"[0-9A-Za-zÀ-ỹĐđ][0-9A-Za-zÀ-ỹĐđ/\-._ ]{0,49}")


def _code(text: str, _: dt.date) -> str:
    """An order, course or licence number: letters, digits, '/', '-', '.', '_' and spaces, 1–50."""
    if not CODE_PATTERN.fullmatch(text.strip()):
        raise Invalid("mã chỉ gồm chữ, số, '/', '-', '.', '_' (tối đa 50 ký tự)")
    return text.strip()


def _named(labels: dict[str, str], aliases: dict[str, str], what: str) -> Callable[[str, dt.date], str]:
    """A lookup over a fixed list: its codes, its Vietnamese labels and some other spellings."""
    mapping = {header_key(a): c for a, c in aliases.items()}
    mapping.update({header_key(v): c for c, v in labels.items()})
    mapping.update({CODE_MARK + c.upper(): c for c in labels})
    return _lookup(mapping, ", ".join(labels.values()), what)


def _count(text: str, _: dt.date) -> int:
    t = text.replace(" ", "")
    if re.fullmatch(r"\d{1,3}([.,]\d{3})+", t):       # 1.234 or 1,234: thousands separators
        t = re.sub(r"[.,]", "", t)
    if re.fullmatch(r"\d+(\.0+)?", t):
        value = int(t.split(".")[0])          # not through float: 400 digits would be infinite
        if value > COUNT_MAX:
            raise Invalid(f"số quá lớn (tối đa {COUNT_MAX:,})".replace(",", "."))
        return value
    if re.fullmatch(r"-\s*\d+([.,]\d+)?", t):
        raise Invalid("số âm")
    if re.fullmatch(r"\d*[.,]\d+", t):
        raise Invalid("không phải số nguyên")
    raise Invalid("không phải số")


def _amount(text: str, _: dt.date) -> float:
    t = text.replace(" ", "")
    if re.fullmatch(r"\d{1,3}(\.\d{3})+(,\d+)?", t):    # 1.234,5 (Vietnamese)
        t = t.replace(".", "").replace(",", ".")
    t = t.replace(",", ".")
    if t.startswith("-"):
        raise Invalid("số âm")
    if not re.fullmatch(r"\+?(\d+\.?\d*|\.\d+)", t):     # no 'inf', 'nan' or '1e999'
        raise Invalid("không phải số")
    value = float(t)
    if value > AMOUNT_MAX:
        raise Invalid(f"số quá lớn (tối đa {AMOUNT_MAX:,.0f})".replace(",", "."))
    return value


def _lookup(mapping: dict[str, str], label: str, what: str) -> Callable[[str, dt.date], str]:
    def parse(text: str, _: dt.date) -> str:
        exact = CODE_MARK + text.strip().upper()
        if exact in mapping:
            return mapping[exact]
        key = header_key(text)
        if key in mapping:
            return mapping[key]
        raise Invalid(f"{what} '{text}' không có trong danh mục; dùng: {label}")
    return parse


GROUP_SEPARATORS = r"\s*[;+\n]\s*"
"""Between the groups of one worker in a register cell ("Hộ nghèo; Dân tộc thiểu số")."""


def _groups(parse: Callable[[str, dt.date], object], order: list[str]) -> Callable[[str, dt.date], str]:
    """A parser of one or several groups: their codes, in the reference order, joined by ';'."""
    def parse_many(text: str, today: dt.date) -> str:
        codes = {str(parse(part, today)) for part in re.split(GROUP_SEPARATORS, text.strip()) if part}
        priority = sorted((c for c in codes if c != "khac"), key=lambda c: order.index(c) if c in order else 99)
        return ";".join(priority) or "khac"
    return parse_many


def _person_ids(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Citizen ID numbers, digits only; Excel's dropped leading zeros restored for 10–11 digits."""
    digits = values.str.replace(r"[\s.\-]", "", regex=True).str.replace(r"\.0$", "", regex=True)
    short = digits.str.fullmatch(r"[0-9]{10,11}")                 # ASCII digits only
    digits = digits.where(~short, digits.str.zfill(12))
    ok = digits.str.fullmatch(r"[0-9]{12}|[0-9]{9}")
    return digits.where(ok), pd.Series(np.where(ok, "", "số CCCD cần 12 chữ số (CMND 9 chữ số)"),
                                        index=values.index)


def mask_id(text: str) -> str:
    """An ID number as shown in a rejection file: only its last 3 characters."""
    return "•" * max(0, len(text) - 3) + text[-3:] if text else ""


def _apply(values: pd.Series, parse: Callable[[str, dt.date], object], today: dt.date) -> tuple[pd.Series, pd.Series]:
    """Parse the distinct values once; return the parsed column and the reason per row ('' = fine)."""
    parsed: dict[str, object] = {}
    reasons: dict[str, str] = {}
    for value in values.unique():
        try:
            parsed[value] = parse(value, today)
        except Invalid as exc:
            reasons[value] = str(exc)
    return values.map(parsed), values.map(reasons).fillna("")


@dataclass
class Checked:
    """Parsed values (typed, by column key) and the problems found (row, field, value, reason)."""

    values: pd.DataFrame
    errors: pd.DataFrame


def check(frame: pd.DataFrame, k: Kind, ref: Reference, today: dt.date) -> Checked:
    """Parse every declared column present in ``frame``; blanks in required columns are problems."""
    parsers: dict[str, Callable[[str, dt.date], object]] = {
        "month": _month, "year": _year, "date": _date, "count": _count, "amount": _amount,
        "sex": _lookup(SEXES, "Nam, Nữ", "giới tính"),
        "channel": _lookup(ref.channels, ref.labels["channel"], "hình thức"),
        "group": _lookup(ref.groups, ref.labels["group"], "nhóm ưu tiên"),
        "plan_date": _plan_date, "code": _code}
    parsers.update({kind: _ascii_digits(parsers[kind])
                    for kind in ("month", "year", "date", "count", "amount", "plan_date", "code")})
    from xkld_geo.intake.registry import LOOKUPS  # the lists the domain packages registered

    parsers.update({kind: _named(*spec) for kind, spec in LOOKUPS.items()})
    markets = dict(ref.markets)
    if k.key == "departures":
        markets.update({w: TOTAL for w in TOTAL_WORDS})
    parsers["market"] = _lookup(markets, ref.labels["market"], "thị trường")
    if k.key == "register":   # a worker may be in several groups: all kept, the first is the primary
        parsers["group"] = _groups(parsers["group"], list(ref.group_order))
    values = pd.DataFrame(index=frame.index)
    problems: list[pd.DataFrame] = []
    # A departures 'Tổng' row carries only the commune-month total: no breakdown is asked of it.
    is_total = (frame["thi_truong"].map(lambda v: header_key(v) in TOTAL_WORDS) if k.key == "departures"
                and "thi_truong" in frame else pd.Series(False, index=frame.index))
    for col in k.columns:
        if col.key not in frame:
            values[col.key] = "khac" if col.kind == "group" and not col.required else None
            continue
        raw = frame[col.key]
        blank = raw == ""
        if col.kind in ("sex", "channel", "group"):
            blank &= ~is_total
            raw = raw.where(~is_total, "")
        if col.kind == "person_id":
            parsed, reason = _person_ids(raw)
            shown = raw.map(mask_id)
        elif col.kind in parsers:
            parsed, reason = _apply(raw, parsers[col.kind], today)
            reason = reason.where(raw != "", "")
            shown = raw
        else:
            parsed, reason, shown = raw, pd.Series("", index=raw.index), raw
        if col.kind == "group" and not col.required:
            parsed = parsed.where(~blank, "khac")
            reason = reason.where(~blank, "")
        else:
            reason = reason.where(~blank, "thiếu giá trị (cột bắt buộc)" if col.required else "")
            parsed = parsed.where(~blank, None)
        values[col.key] = parsed
        bad = reason != ""
        if bad.any():
            problems.append(pd.DataFrame({"row": raw.index[bad], "field": col.header,
                                          "value": shown[bad].to_numpy(), "reason": reason[bad].to_numpy()}))
    errors = (pd.concat(problems, ignore_index=True) if problems
              else pd.DataFrame(columns=["row", "field", "value", "reason"]))
    return Checked(values, errors)
