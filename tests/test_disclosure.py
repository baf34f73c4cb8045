"""Disclosure across periods (issue 13): no small count recovered by comparing published months.

The attacker here is independent of :mod:`xkld_geo.differencing`: it reads only published labels
(a number, "< T" or "ẩn") of every month and solves its own integer programme over them.
"""
from __future__ import annotations

import numpy as np
import pytest
from scipy import optimize

from tests.test_public import _published, _views
from xkld_geo import db, disclosure, public
from xkld_geo.settings import Settings

T = disclosure.THRESHOLD


def _stack(months: list[dict[str, int]], groups: dict[str, list[str]]) -> disclosure.Stack:
    """A stack of hand-made cumulative values: ``groups`` maps a total to its parts."""
    keys = tuple(months[0])
    index = {k: i for i, k in enumerate(keys)}
    values = np.array([[m[k] for k in keys] for m in months], dtype=np.int64)
    eqs = tuple((index[t], np.array([index[p] for p in parts])) for t, parts in groups.items())
    return disclosure.Stack(tuple((k,) for k in keys), tuple(range(1, len(months) + 1)), values, eqs)


def _attack(labels: list[dict[object, object]], sums: list[list[tuple[object, list[object]]]]) -> list[str]:
    """Windows a reader recovers from published ``labels`` of each month and their ``sums``.

    Variables: every hidden (cell, month). Known: shown values, "< T" = 1..T-1, "ẩn" = 0 or ≥ T,
    each month's sums, cumulative counts never falling. Reported: a window C(u) − C(s) (C(0) = 0)
    whose feasible range lies inside 1..T-1 (a cumulative count only when exact: its "< T" label
    already says 1..T-1, and a window from a start known to be 0 is such a count).
    """
    cells = sorted({k for month in labels for k in month}, key=repr)
    n_m = len(labels)
    var: dict[tuple[object, int], int] = {}
    for t, month in enumerate(labels):
        for k in cells:
            if isinstance(month[k], str):
                var[(k, t)] = len(var)
    n = len(var)
    secondary = [key for key in var if labels[key[1]][key[0]] == public.SECONDARY]
    width = n + len(secondary)
    big = 10.0 ** 7
    rows, lo, hi = [], [], []

    def term(k: object, t: int) -> tuple[np.ndarray, float]:
        row = np.zeros(width)
        if t < 0:
            return row, 0.0
        if (k, t) in var:
            row[var[(k, t)]] = 1.0
            return row, 0.0
        return row, float(labels[t][k])

    for t in range(n_m):
        for total, parts in sums[t]:
            row, const = term(total, t)
            row, const = -row, -const
            for p in parts:
                r, c = term(p, t)
                row, const = row + r, const + c
            if row.any():
                rows.append(row), lo.append(-const), hi.append(-const)
        if t:
            for k in cells:   # C(k, t-1) ≤ C(k, t)
                (r0, c0), (r1, c1) = term(k, t - 1), term(k, t)
                if (r1 - r0).any():
                    rows.append(r1 - r0), lo.append(c0 - c1), hi.append(np.inf)
    for j, key in enumerate(secondary):
        for factor, low, high in ((T, 0.0, np.inf), (big, -np.inf, 0.0)):
            row = np.zeros(width)
            row[var[key]], row[n + j] = 1.0, -factor
            rows.append(row), lo.append(low), hi.append(high)
    low_b = [1.0 if labels[t][k] == f"< {T}" else 0.0 for k, t in var] + [0.0] * len(secondary)
    high_b = [T - 1.0 if labels[t][k] == f"< {T}" else big for k, t in var] + [1.0] * len(secondary)
    constraint = optimize.LinearConstraint(np.array(rows), lo, hi) if rows else ()

    def extent(row: np.ndarray, const: float) -> tuple[float, float]:
        if not row.any():
            return const, const
        ends = []
        for sign in (1.0, -1.0):
            res = optimize.milp(sign * row, integrality=np.ones(width), constraints=constraint,
                                bounds=optimize.Bounds(low_b, high_b))
            assert res.success, res.message
            ends.append(row @ res.x + const)
        return round(ends[0]), round(ends[1])

    found = []
    for k in cells:
        for u in range(n_m):
            for s in range(-1, u):
                (rs, cs), (ru, cu) = term(k, s), term(k, u)
                if not (rs.any() or ru.any()) and s >= 0 and not 1 <= cu - cs <= T - 1:
                    continue
                low, high = extent(ru - rs, cu - cs)
                start_top = extent(rs, cs)[1] if s >= 0 else 0
                cumulative = start_top == 0
                if (low == high and 1 <= low <= T - 1) or (not cumulative and 1 <= low and high <= T - 1):
                    found.append(f"{k} months {s + 1}→{u + 1}: {low}..{high}")
    return found


def _labels_of(stack: disclosure.Stack, patterns: tuple[dict, ...]) -> tuple[list[dict], list[list]]:
    labels = [{k: p.get(k, int(v)) for k, v in zip(stack.keys, row)} for row, p in zip(stack.values, patterns)]
    sums = [[(stack.keys[t], [stack.keys[i] for i in parts]) for t, parts in stack.equations]] * len(labels)
    return labels, sums


CASES = {
    # the ward: 23 for T1–9 and 26 for T1–10 (3 people in October)
    "23 to 26": ([{"P": 100, "a": 23, "b": 37, "c": 40}, {"P": 113, "a": 26, "b": 42, "c": 45}],
                 {"P": ["a", "b", "c"]}),
    # every commune moves by 5 or more, but the province total by 3 less than their sum would say:
    # the total's own difference is small
    "through a province total": ([{"T": 200, "P": 100, "Q": 100, "a": 50, "b": 50, "c": 60, "d": 40},
                                  {"T": 210, "P": 103, "Q": 107, "a": 50, "b": 53, "c": 60, "d": 47}],
                                 {"T": ["P", "Q"], "P": ["a", "b"], "Q": ["c", "d"]}),
    # "< 5" in month 1 and 5 in month 2: 1..4 people in month 2; then 10, hidden, 13
    "monotonic bounds": ([{"P": 43, "a": 3, "b": 20, "c": 20}, {"P": 50, "a": 5, "b": 25, "c": 20},
                          {"P": 58, "a": 10, "b": 28, "c": 20}, {"P": 66, "a": 13, "b": 33, "c": 20}],
                         {"P": ["a", "b", "c"]}),
    "steady small flows": ([{"P": 60 + 9 * t, "a": 20 + 3 * t, "b": 20 + 2 * t, "c": 20 + 4 * t}
                            for t in range(6)], {"P": ["a", "b", "c"]}),
}


@pytest.mark.parametrize("name", CASES)
def test_hand_made_stacks_give_no_small_count_away(name: str) -> None:
    months, groups = CASES[name]
    stack = _stack(months, groups)
    patterns = disclosure.year_pattern(stack)
    labels, sums = _labels_of(stack, patterns)
    assert not _attack(labels, sums)
    assert disclosure.year_pattern(stack) == patterns   # deterministic
    if name == "23 to 26":
        assert ("a",) in patterns[1]
    # the old per-period rule alone leaves a leak in every case (the test would catch a regression)
    old = tuple(disclosure.suppression_pattern(disclosure.Cube(
        {k: int(v) for k, v in zip(stack.keys, row)},
        tuple((stack.keys[t], tuple(stack.keys[i] for i in p)) for t, p in stack.equations))) for row in stack.values)
    assert _attack(*_labels_of(stack, old))


def test_a_published_month_never_changes_when_the_next_one_is_added() -> None:
    months, groups = CASES["steady small flows"]
    full = disclosure.year_pattern(_stack(months, groups))
    for m in range(1, len(months)):
        assert disclosure.year_pattern(_stack(months[:m], groups)) == full[:m]


def _screen(con, year: int, months: list[int]) -> tuple[list[dict], list[list]]:
    """What a reader notes from every view of the public screen, month by month."""
    labels, sums = [], []
    for month in months:
        shown, s = _published(_views(con, year, month))
        labels.append(shown), sums.append(s)
    return labels, sums


@pytest.mark.xfail(strict=True, reason="open (issue 13): in the fixture the market totals MY and RO are "
                   "'< 5' in every month and the sums show they grew by 1..3; hiding more cells of the "
                   "newest month cannot help when the '< 5' labels themselves carry it")
def test_no_small_count_across_the_months_of_the_fixture(tiny_db: Settings) -> None:
    con = db.open_connection(tiny_db.db_path, read_only=True)
    labels, sums = _screen(con, 2026, [1, 2, 3])
    con.close()
    assert not _attack(labels, sums)


def _differences(labels: list[dict]) -> list[str]:
    """Plain subtraction of two published months, and monotone bounds from "< T" labels."""
    found = []
    for k in labels[0]:
        shown = [(t, m[k]) for t, m in enumerate(labels)]
        for s, a in shown:
            for u, b in shown:
                if s >= u:
                    continue
                if isinstance(a, int) and isinstance(b, int) and 1 <= b - a <= T - 1:
                    found.append(f"{k} {s + 1}→{u + 1}: {b - a}")
                if a == f"< {T}" and isinstance(b, int) and b - (T - 1) >= 1 and b - 1 <= T - 1:
                    found.append(f"{k} {s + 1}→{u + 1}: {b - (T - 1)}..{b - 1}")
    return found


@pytest.mark.real_data
def test_no_small_count_across_the_months_of_the_demo_year(real_con) -> None:
    year = 2026
    last = max(m for m in range(1, 13)
               if real_con.execute("SELECT count(*) FROM departures WHERE year(month) = $y AND "
                                   "month(month) = $m", {"y": year, "m": m}).fetchone()[0])
    labels, _ = _screen(real_con, year, list(range(1, last + 1)))
    found = _differences(labels)
    assert not found, found[:20]
