"""The one way numbers and dates are written: vi-VN (dot for thousands, comma for decimals,
day/month/year), on screens, in tables, charts, map legends, exports, documents and the release.

- Python text: :func:`fmt_int` ("12.345"), :func:`fmt_dec` ("254,5"), :func:`fmt_pct` ("113,7%"),
  :func:`fmt_date` ("07/12/2026"), :func:`fmt_datetime` ("07/12/2026 14:05").
- Browser tables (Streamlit's column configuration, sprintf-js): :data:`TABLE_INT` writes whole
  numbers with a dot every three digits; decimals keep their value and get a comma from the
  table's display values (see :mod:`xkld_geo.ui.tables`).
- Charts (Vega-Lite): :data:`VEGA_LOCALE`, the d3 number and time locale of Vietnamese.
- Spreadsheets (Excel/LibreOffice number formats are written in the en-US notation and shown in
  the reader's locale): :data:`XLSX_INT`, :data:`XLSX_DEC`.
"""
from __future__ import annotations

import datetime as dt
import math
from decimal import ROUND_HALF_UP, Decimal

import pandas as pd

TABLE_INT = "%'.,d"
"""A whole number in a Streamlit table: sprintf-js takes the character after ``'`` as the
thousands separator when ``,`` asks for one (Streamlit's sprintf, column_config docs)."""
TABLE_SIGNED_INT = "%+'.,d"
XLSX_INT = "#,##0"
XLSX_DEC = "#,##0.0"
DATE = "%d/%m/%Y"
DATETIME = "%d/%m/%Y %H:%M"
TABLE_DATE = "DD/MM/YYYY"
TABLE_DATETIME = "DD/MM/YYYY HH:mm"

VEGA_LOCALE: dict[str, dict[str, object]] = {
    "number": {"decimal": ",", "thousands": ".", "grouping": [3], "currency": ["", " ₫"]},
    "time": {
        "dateTime": "%A, %d/%m/%Y %X", "date": "%d/%m/%Y", "time": "%H:%M:%S", "periods": ["SA", "CH"],
        "days": ["Chủ nhật", "Thứ hai", "Thứ ba", "Thứ tư", "Thứ năm", "Thứ sáu", "Thứ bảy"],
        "shortDays": ["CN", "T2", "T3", "T4", "T5", "T6", "T7"],
        "months": [f"Tháng {m}" for m in range(1, 13)],
        "shortMonths": [f"Th{m}" for m in range(1, 13)],
    },
}
"""The Vietnamese d3 locale, for a Vega-Lite spec's ``config.locale``: axes read 150.000, not 150,000."""


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or bool(pd.isna(value))  # type: ignore[arg-type]


def fmt_int(value: float | int | None) -> str:
    """A whole number with a dot every three digits: 12.345; a dash for a missing value."""
    if _missing(value):
        return "–"
    return f"{int(round(value)):,}".replace(",", ".")  # type: ignore[arg-type]


def fmt_dec(value: float | int | None, decimals: int = 1) -> str:
    """A decimal number, vi-VN: 1.254,5; a dash for a missing value."""
    if _missing(value):
        return "–"
    step = Decimal(1).scaleb(-decimals)   # halves up, as people round (131,25 → 131,3), not to even
    rounded = float(Decimal(repr(float(value))).quantize(step, rounding=ROUND_HALF_UP))  # type: ignore[arg-type]
    text = f"{rounded:,.{decimals}f}"
    return text.replace(",", " ").replace(".", ",").replace(" ", ".")


def fmt_pct(value: float | None, decimals: int = 1, missing: str = "không có chỉ tiêu") -> str:
    """A percentage with a decimal comma and no space: 113,7%."""
    if _missing(value):
        return missing
    return f"{fmt_dec(value, decimals)}%"


def fmt_ratio(part: int, whole: int) -> str:
    """"724/3.321": both counts written as numbers."""
    return f"{fmt_int(part)}/{fmt_int(whole)}"


def fmt_date(value: dt.date | None) -> str:
    """07/12/2026; empty for a missing date."""
    return "" if value is None or _missing(value) else value.strftime(DATE)


def fmt_datetime(value: dt.datetime | None) -> str:
    """07/12/2026 14:05; empty for a missing time."""
    return "" if value is None or _missing(value) else value.strftime(DATETIME)


def fmt_range(low: float, high: float | None = None) -> str:
    """A legend's class: "1.000–9.999", or "Từ 40.000 trở lên" when open above."""
    if high is None:
        return f"Từ {fmt_int(low)} trở lên"
    return f"{fmt_int(low)}–{fmt_int(high)}"
