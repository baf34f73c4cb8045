"""Quota allocation: exact sums, floors, caps, frozen values, determinism, hand-worked examples."""
from __future__ import annotations

import random

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from xkld_geo.errors import AllocationError
from xkld_geo.planning.allocation import Move, UnitInput, allocate, apply_moves, largest_remainder, propose_reallocation


def test_worked_example_by_hand() -> None:
    """Target 100 over populations 50/30/20 with a floor of 25 each.

    Unconstrained: 50, 30, 20 → commune C is below its floor of 25, so it is clamped to 25 and the
    remaining 75 is split 50:30 between A and B: 46.875 and 28.125 → floors 46 and 28 (sum 99), the
    leftover 1 goes to the larger remainder (A: .875) → 47, 28, 25.
    """
    units = [UnitInput("00003", population=20, floor=25), UnitInput("00001", population=50, floor=25),
             UnitInput("00002", population=30, floor=25)]
    assert allocate(units, 100) == {"00001": 47, "00002": 28, "00003": 25}


def test_ties_go_to_the_smaller_code() -> None:
    assert largest_remainder({"00002": 1, "00001": 1, "00003": 1}, 2) == {"00001": 1, "00002": 1, "00003": 0}


def test_cap_and_frozen_by_hand() -> None:
    """A is frozen at 10; 90 remain for B (cap 30) and C: 45/45 → B capped at 30, C takes 60."""
    units = [UnitInput("00001", population=1, frozen=10), UnitInput("00002", population=50, cap=30),
             UnitInput("00003", population=50)]
    assert allocate(units, 100) == {"00001": 10, "00002": 30, "00003": 60}


def test_blend_by_hand() -> None:
    """Weight 0.5: A = .5·(60/100) + .5·(10/40) = .425, B = .5·.4 + .5·.75 = .575 → 42.5/57.5 of 100
    → 42 and 57, leftover 1 to the tie broken by code (A) → 43, 57."""
    units = [UnitInput("00001", population=60, last_year=10), UnitInput("00002", population=40, last_year=30)]
    assert allocate(units, 100, "blend", 0.5) == {"00001": 43, "00002": 57}


INFEASIBLE = [
    ("floors above target", [UnitInput("1", 1, floor=60), UnitInput("2", 1, floor=50)], 100, "floors_above_target"),
    ("caps below target", [UnitInput("1", 1, cap=10), UnitInput("2", 1, cap=20)], 100, "caps_below_target"),
    ("floor above cap", [UnitInput("1", 1, floor=10, cap=5)], 100, "floor_above_cap"),
    ("frozen over cap", [UnitInput("1", 1, cap=5, frozen=9), UnitInput("2", 1)], 100, "frozen_out_of_bounds"),
    ("all frozen", [UnitInput("1", 1, frozen=9)], 100, "all_frozen"),
    ("negative target", [UnitInput("1", 1)], -5, "target"),
    ("duplicate code", [UnitInput("1", 1), UnitInput("1", 2)], 5, "duplicate"),
]


@pytest.mark.parametrize("name,units,target,constraint", INFEASIBLE, ids=[c[0] for c in INFEASIBLE])
def test_infeasible_constraints_are_named(name: str, units: list[UnitInput], target: int, constraint: str) -> None:
    with pytest.raises(AllocationError) as err:
        allocate(units, target)
    assert err.value.details["constraint"] == constraint and err.value.message


@st.composite
def problems(draw: st.DrawFn) -> tuple[list[UnitInput], int, str, float]:
    n = draw(st.integers(1, 25))
    units = []
    for i in range(n):
        floor = draw(st.integers(0, 20))
        cap = draw(st.one_of(st.none(), st.integers(floor, floor + 200)))
        frozen = draw(st.one_of(st.none(), st.integers(floor, cap if cap is not None else floor + 50)))
        if draw(st.integers(0, 3)):
            frozen = None
        units.append(UnitInput(f"{i:05d}", draw(st.floats(0, 1e5)), draw(st.floats(0, 500)),
                               floor, cap, frozen))
    target = draw(st.integers(0, 5000))
    return units, target, draw(st.sampled_from(["population", "last_year", "blend"])), draw(st.floats(0, 1))


@settings(max_examples=300, deadline=None)
@given(problems())
def test_properties(problem: tuple[list[UnitInput], int, str, float]) -> None:
    units, target, method, weight = problem
    try:
        result = allocate(units, target, method, weight)
    except AllocationError as err:
        frozen = sum(u.frozen for u in units if u.frozen is not None)
        free = [u for u in units if u.frozen is None]
        floors = sum(u.floor for u in free)
        caps = sum(u.cap for u in free) if free and all(u.cap is not None for u in free) else None
        assert (frozen + floors > target or (caps is not None and frozen + caps < target)
                or (not free and frozen != target)), err.value.details
        return
    assert sum(result.values()) == target
    for u in units:
        assert result[u.code] >= u.floor
        assert u.cap is None or result[u.code] <= u.cap
        assert u.frozen is None or result[u.code] == u.frozen
    shuffled = units[:]
    random.Random(1).shuffle(shuffled)
    assert allocate(shuffled, target, method, weight) == result


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 10**6), min_size=2, max_size=30), st.integers(0, 10**5))
def test_proportional_is_monotone_in_population(pops: list[int], target: int) -> None:
    assume(sum(pops) > 0)
    units = [UnitInput(f"{i:05d}", population=p) for i, p in enumerate(pops)]
    result = allocate(units, target)
    for a in units:
        for b in units:
            if a.population > b.population:
                assert result[a.code] >= result[b.code]


def test_reallocation_by_hand() -> None:
    """After 6 months: A (quota 100, 20 so far → 40 projected) can give 60; B (quota 50, 40 so far →
    80 projected) can take 30; C (quota 30, 30 → 60) can take 30. A gives 30 to B and 30 to C."""
    quotas = {"A": 100, "B": 50, "C": 30}
    moves = propose_reallocation(quotas, {"A": 20, "B": 40, "C": 30}, 6)
    assert moves == [Move("A", "B", 30, moves[0].reason), Move("A", "C", 30, moves[1].reason)]
    after = apply_moves(quotas, moves)
    assert after == {"A": 40, "B": 80, "C": 60} and sum(after.values()) == sum(quotas.values())


def test_reallocation_respects_floors_and_keeps_the_total() -> None:
    quotas = {"A": 100, "B": 10}
    moves = propose_reallocation(quotas, {"A": 0, "B": 100}, 3, floors={"A": 90})
    assert sum(m.amount for m in moves) == 10
    assert sum(apply_moves(quotas, moves).values()) == 110
    with pytest.raises(AllocationError):
        apply_moves(quotas, [Move("B", "A", 50)])
