"""Indicators and their classes: attainment %, headline numbers, Vietnamese number formatting.

Attainment classes are fixed and meaningful (not quantiles), so the same colour means the same
thing in every meeting: below half, behind, nearly there, reached, and no quota.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

import pandas as pd

from xkld_geo.text import formats


@dataclass(frozen=True)
class ColourClass:
    """One legend entry: a label, the lower bound (inclusive) in %, and its colour."""

    key: str
    label: str
    lower: float
    colour: str


ATTAINMENT_CLASSES: tuple[ColourClass, ...] = (
    # ColorBrewer RdYlBu (colour-blind safe): red = far behind, blue = reached.
    ColourClass("lt50", "Dưới 50%", -math.inf, "#d7191c"),
    ColourClass("50to80", "50–80%", 50.0, "#fdae61"),
    ColourClass("80to100", "80–100%", 80.0, "#abd9e9"),
    ColourClass("ge100", "Từ 100% trở lên", 100.0, "#2c7bb6"),
)
NO_QUOTA = ColourClass("none", "Không có chỉ tiêu", math.nan, "#bdbdbd")


def attainment_pct(departures: float, quota: float) -> float | None:
    """Departures as % of quota, or None where there is no (positive) quota."""
    if quota is None or pd.isna(quota) or quota <= 0:
        return None
    return 100.0 * float(departures) / float(quota)


def attainment_class(pct: float | None) -> ColourClass:
    """The fixed class of an attainment %, or :data:`NO_QUOTA`."""
    if pct is None or pd.isna(pct):
        return NO_QUOTA
    chosen = ATTAINMENT_CLASSES[0]
    for cls in ATTAINMENT_CLASSES:
        if pct >= cls.lower:
            chosen = cls
    return chosen


@dataclass(frozen=True)
class Headline:
    """The three-plus headline numbers of a selection."""

    quota: int
    departures: int
    attainment_pct: float | None
    units: int
    units_below_50: int


def headline(rows: pd.DataFrame) -> Headline:
    """Totals of an attainment table (columns quota, departures, attainment_pct)."""
    quota = int(rows["quota"].fillna(0).sum())
    departures = int(rows["departures"].fillna(0).sum())
    below = int((rows["attainment_pct"].notna() & (rows["attainment_pct"] < 50)).sum())
    return Headline(quota, departures, attainment_pct(departures, quota), len(rows), below)


def fmt_int(value: float | int | None) -> str:
    """Vietnamese thousands separator: 12.345; a dash for missing values (see :mod:`xkld_geo.text.formats`)."""
    return formats.fmt_int(value)


def round_half_up(value: float, decimals: int = 1) -> float:
    """``value`` rounded to ``decimals`` places, halves away from zero as people round (131,25 →
    131,3), on the decimal the number is written as, not on its binary neighbour (Python's
    ``round`` and ``format`` round such halves to even)."""
    step = Decimal(1).scaleb(-decimals)
    return float(Decimal(repr(float(value))).quantize(step, rounding=ROUND_HALF_UP))


def round_half_up_series(values: pd.Series, decimals: int = 1) -> pd.Series:
    """:func:`round_half_up` of every value of a series (missing values stay missing)."""
    return values.map(lambda v: v if v is None or pd.isna(v) else round_half_up(v, decimals)).astype(float)


def fmt_decimal(value: float | None, decimals: int = 1) -> str:
    """A number with a decimal comma and always ``decimals`` places (0,0 like 87,5), half up; a dash when missing."""
    if value is None or pd.isna(value):
        return "–"
    return f"{round_half_up(value, decimals):.{decimals}f}".replace(".", ",")


def fmt_pct(value: float | None, decimals: int = 1) -> str:
    """Percent with a decimal comma: 87,5%; 'không có chỉ tiêu' when missing (see :mod:`xkld_geo.text.formats`)."""
    return formats.fmt_pct(value, decimals)


WORKING_AGE_SHARE = 0.675
"""Share of the population aged 15–64 (GSO, 2024 ≈ 67–68%), used to estimate the working-age
population of a commune where only its total population is known."""


def pace(quota: float, elapsed: float) -> float:
    """Expected departures by now at an even pace: quota × months elapsed / 12."""
    return float(quota) * elapsed / 12.0


def pace_pct(ytd: float, quota: float, elapsed: float) -> float | None:
    """Departures as % of the expected-by-now figure (100% = exactly on pace)."""
    expected = pace(quota, elapsed) if quota and not pd.isna(quota) else 0.0
    return None if expected <= 0 else 100.0 * float(ytd) / expected
