"""Reporting periods: which months count, up to which day, and how a year's end is projected.

Departures, job fairs, loans and problems are reported by calendar month. A view covers January to
a chosen month of a year ("lũy kế đến hết tháng 11/2026"). A month that has ended is *complete*;
the month in progress holds only the days elapsed, so it is labelled with its cut-off date ("đến
ngày 01/12/2026") and everything compared with it (the quota's share, last year's figures) is
taken to the same day. The default view is the last complete month that has reported departures,
never a month still running and never a year that only has quotas.

The year-end projection scales the figures to date by last year's monthly pattern (the share of
last year's departures reached by the same day), so that a fortnight of January is not multiplied
by 24; where last year has no full record it falls back to a linear extrapolation and says so.
"""
from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from typing import Sequence

import duckdb

from xkld_geo.database import db

SEASONAL = "seasonal"
LINEAR = "linear"
METHODS = {SEASONAL: "theo mùa vụ năm trước", LINEAR: "tuyến tính theo số tháng đã qua"}


@dataclass(frozen=True)
class Period:
    """January to ``month`` of ``year``, counted up to ``cutoff`` (inclusive)."""

    year: int
    month: int
    cutoff: dt.date

    @property
    def in_progress(self) -> bool:
        """Whether ``month`` had not ended at the cut-off."""
        return self.cutoff.day < calendar.monthrange(self.year, self.month)[1]

    @property
    def month_fraction(self) -> float:
        """Share of ``month`` counted: 1 for a complete month, days elapsed / days otherwise."""
        return self.cutoff.day / calendar.monthrange(self.year, self.month)[1]

    @property
    def elapsed(self) -> float:
        """Months of the year counted by the cut-off (11 + 1/31 on 1 December)."""
        return (self.month - 1) + self.month_fraction

    @property
    def label(self) -> str:
        """'Lũy kế đến hết tháng 11/2026', or 'Lũy kế đến ngày 01/12/2026' for a month in progress."""
        if self.in_progress:
            return f"Lũy kế đến ngày {self.cutoff:%d/%m/%Y}"
        return f"Lũy kế đến hết tháng {self.month}/{self.year}"

    @property
    def until(self) -> str:
        """'hết T11/2026', or 'ngày 01/12/2026' for a month in progress (legends, captions)."""
        return f"ngày {self.cutoff:%d/%m/%Y}" if self.in_progress else f"hết T{self.month}/{self.year}"

    @property
    def short(self) -> str:
        """'tháng 1–11/2026', 'năm 2026', or 'tháng 1–12/2026 (đến ngày 01/12/2026)'."""
        text = f"tháng 1–{self.month}/{self.year}" if self.month < 12 else f"năm {self.year}"
        if self.in_progress:
            text = f"tháng 1–{self.month}/{self.year} (đến ngày {self.cutoff:%d/%m/%Y})"
        return text


def period(year: int, month: int, today: dt.date) -> Period:
    """The period January..``month`` of ``year`` as seen on ``today``.

    A month that has ended counts whole; today's month counts to today. A month that has not begun
    is refused by the callers (it is never offered); here it would count as whole.
    """
    last_day = calendar.monthrange(year, month)[1]
    cutoff = dt.date(year, month, last_day)
    if (year, month) == (today.year, today.month):
        cutoff = today
    return Period(int(year), int(month), cutoff)


def last_complete(today: dt.date) -> tuple[int, int]:
    """The last month that has ended by ``today`` (December of last year in January)."""
    return (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)


def reported_months(con: duckdb.DuckDBPyConnection) -> list[tuple[int, int]]:
    """Every (year, month) with departures recorded, oldest first."""
    df = db.run(con, "reported_months", """
        SELECT DISTINCT CAST(year(month) AS INTEGER) AS y, CAST(month(month) AS INTEGER) AS m
        FROM departures ORDER BY 1, 2""")
    return [(int(y), int(m)) for y, m in zip(df["y"], df["m"])]


def default_month(months: Sequence[tuple[int, int]], today: dt.date) -> tuple[int, int] | None:
    """The latest complete month with reported departures, else the latest with any, else None.

    ``months`` are :func:`reported_months`. A year that only has quotas (next year's approved plan)
    has no departures, so it is never the default.
    """
    complete = last_complete(today)
    done = [ym for ym in months if ym <= complete]
    if done:
        return max(done)
    return max(months) if months else None


def months_offered(months: Sequence[tuple[int, int]], year: int, today: dt.date) -> list[int]:
    """Months of ``year`` a view can end on: up to the last reported one, never past today."""
    latest = max((m for y, m in months if y == year), default=0)
    if (year, latest) > (today.year, today.month):
        latest = today.month if year == today.year else 0
    return list(range(1, latest + 1)) if latest else []


def due_date(year: int, month: int, due_day: int) -> dt.date:
    """The day the report of ``month`` is due: ``due_day`` of the next month."""
    nxt = dt.date(year + (month == 12), month % 12 + 1, 1)
    return nxt.replace(day=min(max(1, due_day), calendar.monthrange(nxt.year, nxt.month)[1]))


def last_due_month(year: int, month: int, today: dt.date, due_day: int) -> int:
    """The last month of January..``month`` of ``year`` whose report was due by ``today`` (0: none).

    Job-fair compliance counts only these, so a month whose report may still come is never missed.
    """
    for m in range(int(month), 0, -1):
        if due_date(int(year), m, due_day) <= today:
            return m
    return 0


@dataclass(frozen=True)
class Projection:
    """How year-end figures are projected from figures to the cut-off."""

    method: str          # SEASONAL | LINEAR
    factor: float        # year-end = figures to date × factor
    reached: float       # share of the year reached by the cut-off (last year's, or elapsed / 12)

    @property
    def explanation(self) -> str:
        """One Vietnamese sentence for the tooltip."""
        share = f"{100 * self.reached:.1f}%".replace(".", ",")
        if self.method == SEASONAL:
            return (f"Dự báo theo mùa vụ năm trước: đến cùng thời điểm, năm trước đã đạt {share} số người "
                    "đi cả năm; dự báo = lũy kế năm nay ÷ tỷ lệ đó.")
        return (f"Dự báo tuyến tính: đã qua {share} thời gian của năm; dự báo = lũy kế ÷ tỷ lệ đó "
                "(năm trước không có đủ số liệu theo tháng).")


def projection(p: Period, last_year_monthly: Sequence[float]) -> Projection:
    """Seasonal projection from last year's 12 monthly figures, else linear.

    Last year's share by the cut-off is its months before ``p.month`` plus the same fraction of
    ``p.month``: exactly what this year's figures cover. A last year with an empty month or no
    departures at all cannot give a pattern, and the linear rule is used.
    """
    ly = [float(v) for v in last_year_monthly]
    total = sum(ly)
    if len(ly) == 12 and total > 0 and all(v > 0 for v in ly):
        reached = (sum(ly[: p.month - 1]) + ly[p.month - 1] * p.month_fraction) / total
        return Projection(SEASONAL, 1.0 / reached, reached)
    reached = p.elapsed / 12.0
    return Projection(LINEAR, 1.0 / reached if reached > 0 else 0.0, reached)
