"""Reporting periods: cut-off days, the default month, report due dates and the projection rule."""
from __future__ import annotations

import datetime as dt

import pytest

from xkld_geo.figures import periods


@pytest.mark.parametrize("year,month,today,elapsed,in_progress,label", [
    (2026, 11, dt.date(2026, 12, 1), 11.0, False, "Lũy kế đến hết tháng 11/2026"),
    (2026, 12, dt.date(2026, 12, 1), 11 + 1 / 31, True, "Lũy kế đến ngày 01/12/2026"),
    (2026, 1, dt.date(2026, 1, 31), 1.0, False, "Lũy kế đến hết tháng 1/2026"),
    (2026, 2, dt.date(2026, 2, 14), 1.5, True, "Lũy kế đến ngày 14/02/2026"),
    (2028, 2, dt.date(2028, 2, 29), 2.0, False, "Lũy kế đến hết tháng 2/2028"),  # leap day ends February
    (2028, 2, dt.date(2028, 2, 15), 1 + 15 / 29, True, "Lũy kế đến ngày 15/02/2028"),
    (2024, 3, dt.date(2026, 2, 1), 3.0, False, "Lũy kế đến hết tháng 3/2024"),  # a past period is whole
])
def test_period_cut_off(year: int, month: int, today: dt.date, elapsed: float, in_progress: bool,
                        label: str) -> None:
    p = periods.period(year, month, today)
    assert p.elapsed == pytest.approx(elapsed)
    assert p.in_progress is in_progress
    assert p.label == label


MONTHS_2026 = [(2025, m) for m in range(1, 13)] + [(2026, m) for m in range(1, 13)]


@pytest.mark.parametrize("months,today,expected", [
    (MONTHS_2026, dt.date(2026, 12, 1), (2026, 11)),     # December in progress: November
    (MONTHS_2026, dt.date(2026, 6, 15), (2026, 5)),
    ([(2025, m) for m in range(1, 13)] + [(2026, 1)], dt.date(2026, 1, 15), (2025, 12)),  # January: last December
    ([(2025, 12), (2026, 1), (2026, 2)], dt.date(2026, 2, 28), (2026, 1)),
    ([(2026, 1), (2026, 2), (2026, 3)], dt.date(2026, 12, 1), (2026, 3)),   # reports stop in March
    ([(2026, 12)], dt.date(2026, 12, 1), (2026, 12)),     # only the month in progress: that one
    ([], dt.date(2026, 12, 1), None),
])
def test_default_month(months: list[tuple[int, int]], today: dt.date, expected: tuple[int, int] | None) -> None:
    assert periods.default_month(months, today) == expected


def test_a_year_with_only_quotas_offers_no_month() -> None:
    assert periods.months_offered(MONTHS_2026, 2027, dt.date(2026, 12, 1)) == []
    assert periods.months_offered(MONTHS_2026, 2026, dt.date(2026, 12, 1)) == list(range(1, 13))
    assert periods.months_offered(MONTHS_2026, 2026, dt.date(2026, 10, 3)) == list(range(1, 11))


@pytest.mark.parametrize("year,month,today,due_day,expected", [
    (2026, 12, dt.date(2026, 12, 1), 5, 10),     # November's report is due on 5 December
    (2026, 12, dt.date(2026, 12, 5), 5, 11),
    (2026, 12, dt.date(2027, 1, 5), 5, 12),       # December's is due on 5 January
    (2026, 3, dt.date(2026, 12, 1), 5, 3),
    (2027, 6, dt.date(2026, 12, 1), 5, 0),
    (2026, 1, dt.date(2026, 2, 4), 5, 0),
    (2026, 1, dt.date(2026, 3, 1), 31, 1),       # due day past the month's end: its last day
])
def test_last_due_month(year: int, month: int, today: dt.date, due_day: int, expected: int) -> None:
    assert periods.last_due_month(year, month, today, due_day) == expected


def test_projection_uses_last_years_pattern() -> None:
    last_year = [50, 50, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100]  # 1,100 in all
    p = periods.period(2026, 1, dt.date(2026, 1, 15))  # 15 of 31 January days
    proj = periods.projection(p, last_year)
    assert proj.method == periods.SEASONAL
    assert proj.reached == pytest.approx(50 * 15 / 31 / 1100)
    assert proj.factor == pytest.approx(1 / proj.reached)
    assert "mùa vụ" in proj.explanation
    full = periods.projection(periods.period(2025, 12, dt.date(2026, 3, 1)), last_year)
    assert full.factor == pytest.approx(1.0)


@pytest.mark.parametrize("last_year", [[], [0] * 12, [10] * 11 + [0]])
def test_projection_falls_back_to_linear(last_year: list[int]) -> None:
    p = periods.period(2026, 3, dt.date(2026, 4, 1))
    proj = periods.projection(p, last_year)
    assert proj.method == periods.LINEAR and proj.factor == pytest.approx(4.0)
    assert "tuyến tính" in proj.explanation
