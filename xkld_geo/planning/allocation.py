"""Splitting a province's quota among its communes: fair, exact, explainable (pure functions).

Methods: proportional to (working-age, else total) population, to last year's departures, or a
blend of both with the planner's weight. Constraints: an integer floor per commune, an optional
integer cap, and frozen communes that keep their value while the rest is re-split. The continuous
shares are found by water-filling (scale the weights, clamp to [floor, cap], repeat on the
unclamped) and turned into whole numbers by largest-remainder rounding with ties broken by code, so
the result sums exactly to the target, never leaves [floor, cap], and is the same on every run
whatever the input order. Infeasible constraints raise :class:`AllocationError` naming them.

Monotonicity (proportional method, no constraints): quota_i = floor(λ·w_i) + r_i with r_i ∈ {0, 1}
given in order of decreasing remainder. If w_a > w_b then either floor(λ·w_a) > floor(λ·w_b), and
a gets at least as much, or the floors are equal and a's remainder is larger, so a is served first.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np

from xkld_geo.errors import AllocationError

METHODS = {"population": "Theo dân số trong tuổi lao động", "last_year": "Theo kết quả năm trước",
           "blend": "Kết hợp dân số và kết quả năm trước"}


@dataclass(frozen=True)
class UnitInput:
    """One commune: its weights and constraints (floors and caps are whole numbers)."""

    code: str
    population: float = 0.0
    last_year: float = 0.0
    floor: int = 0
    cap: int | None = None
    frozen: int | None = None


def _fmt(n: float) -> str:
    return f"{int(round(n)):,}".replace(",", ".")


def largest_remainder(weights: Mapping[str, float], total: int) -> dict[str, int]:
    """Whole numbers proportional to ``weights`` that sum exactly to ``total`` (ties by code)."""
    codes = sorted(weights)
    w = np.array([max(0.0, float(weights[c])) for c in codes])
    if total < 0:
        raise AllocationError(f"Tổng cần chia ({total}) âm.", constraint="target", numbers={"target": total})
    if total == 0 or not codes:
        return {c: 0 for c in codes}
    if w.sum() <= 0:
        raise AllocationError("Mọi trọng số đều bằng 0: không có cơ sở để chia.", constraint="weights",
                              numbers={"target": total}, codes=codes)
    return dict(zip(codes, _round(total * w / w.sum(), total, np.array(codes)).tolist()))


def _round(x: np.ndarray, total: int, codes: np.ndarray) -> np.ndarray:
    """Largest-remainder rounding of ``x`` (which sums to ``total``), ties by code ascending."""
    base = np.floor(x + 1e-9).astype(np.int64)
    short = int(total - base.sum())
    if short > 0:
        remainder = x - base
        order = np.lexsort((codes, -np.round(remainder, 9)))  # last key is primary
        base[order[:short]] += 1
    return base


def weights_for(units: Sequence[UnitInput], method: str, weight_population: float = 1.0) -> np.ndarray:
    """The proportional weight of each unit under ``method`` (shares of each basis when blended)."""
    if method not in METHODS:
        raise AllocationError(f"Phương pháp '{method}' không có; chọn một trong: {', '.join(METHODS)}.",
                              constraint="method", allowed=list(METHODS))
    pop = np.array([max(0.0, u.population) for u in units], dtype=float)
    last = np.array([max(0.0, u.last_year) for u in units], dtype=float)
    if method == "population":
        return pop
    if method == "last_year":
        return last
    if not 0.0 <= weight_population <= 1.0:
        raise AllocationError(f"Tỷ trọng dân số {weight_population} phải trong khoảng 0–1.",
                              constraint="weight_population", numbers={"weight": weight_population})
    share = lambda a: a / a.sum() if a.sum() > 0 else np.zeros_like(a)  # noqa: E731
    return weight_population * share(pop) + (1 - weight_population) * share(last)


def _check(units: Sequence[UnitInput], target: int) -> None:
    if int(target) != target or target < 0:
        raise AllocationError(f"Chỉ tiêu cần phân bổ ({target}) phải là số nguyên không âm.",
                              constraint="target", numbers={"target": target})
    seen: set[str] = set()
    for u in units:
        if u.code in seen:
            raise AllocationError(f"Mã xã {u.code} xuất hiện hai lần.", constraint="duplicate", codes=[u.code])
        seen.add(u.code)
        if u.floor < 0 or (u.cap is not None and u.cap < u.floor):
            raise AllocationError(f"Xã {u.code}: mức sàn {u.floor} lớn hơn mức trần {u.cap}.",
                                  constraint="floor_above_cap", codes=[u.code],
                                  numbers={"floor": u.floor, "cap": u.cap})
        if u.frozen is not None and (u.frozen < u.floor or (u.cap is not None and u.frozen > u.cap)
                                     or u.frozen < 0):
            raise AllocationError(f"Xã {u.code}: giá trị giữ nguyên {u.frozen} nằm ngoài khoảng "
                                  f"sàn {u.floor} – trần {u.cap}.", constraint="frozen_out_of_bounds",
                                  codes=[u.code], numbers={"frozen": u.frozen, "floor": u.floor, "cap": u.cap})
    frozen = sum(u.frozen for u in units if u.frozen is not None)
    free = [u for u in units if u.frozen is None]
    floors = sum(u.floor for u in free)
    if frozen + floors > target:
        raise AllocationError(
            f"Tổng mức sàn ({_fmt(floors)}) cộng phần giữ nguyên ({_fmt(frozen)}) vượt chỉ tiêu ({_fmt(target)}).",
            constraint="floors_above_target", numbers={"floors": floors, "frozen": frozen, "target": target})
    if free and all(u.cap is not None for u in free):
        caps = sum(u.cap for u in free)  # type: ignore[misc]
        if frozen + caps < target:
            raise AllocationError(
                f"Tổng mức trần ({_fmt(caps)}) cộng phần giữ nguyên ({_fmt(frozen)}) thấp hơn chỉ tiêu ({_fmt(target)}).",
                constraint="caps_below_target", numbers={"caps": caps, "frozen": frozen, "target": target})
    if not free and frozen != target:
        raise AllocationError(f"Mọi xã đều giữ nguyên ({_fmt(frozen)}) nhưng chỉ tiêu là {_fmt(target)}.",
                              constraint="all_frozen", numbers={"frozen": frozen, "target": target})


def _water_fill(w: np.ndarray, lo: np.ndarray, hi: np.ndarray, total: float) -> np.ndarray:
    """Continuous x with lo ≤ x ≤ hi, sum x = total, x = clamp(λ·w) for one λ."""
    if w.sum() <= 0:
        w = np.ones_like(w)  # no basis at all: share equally
    fixed = np.zeros(len(w), dtype=bool)
    x = lo.astype(float).copy()
    for _ in range(len(w) + 1):
        free = ~fixed
        rest = total - x[fixed].sum()
        wf = w[free]
        if wf.sum() <= 0:
            # only zero-weight units remain: spread what is left equally within their bounds
            wf = np.ones_like(wf)
            w = w.copy()
            w[free] = 1.0
        x[free] = rest * wf / wf.sum()
        below = free & (x < lo - 1e-12)
        above = free & (x > hi + 1e-12)
        if not below.any() and not above.any():
            return x
        # clamp the violators on the side that is off by more, then re-solve the rest
        if (lo[below] - x[below]).sum() >= (x[above] - hi[above]).sum():
            x[below], fixed[below] = lo[below], True
        else:
            x[above], fixed[above] = hi[above], True
    return x


def allocate(units: Sequence[UnitInput], target: int, method: str = "population",
             weight_population: float = 1.0) -> dict[str, int]:
    """Whole-number quotas summing exactly to ``target`` under every floor, cap and frozen value."""
    units = sorted(units, key=lambda u: u.code)
    _check(units, target)
    codes = np.array([u.code for u in units])
    result = np.zeros(len(units), dtype=np.int64)
    frozen = np.array([u.frozen is not None for u in units])
    result[frozen] = [u.frozen for u in units if u.frozen is not None]
    free = ~frozen
    if free.any():
        rest = int(target - result[frozen].sum())
        free_units = [u for u in units if u.frozen is None]
        w = weights_for(free_units, method, weight_population)
        lo = np.array([u.floor for u in free_units], dtype=float)
        hi = np.array([u.cap if u.cap is not None else np.inf for u in free_units], dtype=float)
        x = _water_fill(w, lo, hi, float(rest))
        result[free] = _round(x, rest, codes[free])
    return dict(zip(codes.tolist(), result.tolist()))


@dataclass(frozen=True)
class Move:
    """A proposed transfer of quota between two communes, with its reason."""

    from_code: str
    to_code: str
    amount: int
    reason: str = field(default="")


def propose_reallocation(quotas: Mapping[str, int], ytd: Mapping[str, int], months_elapsed: float,
                         floors: Mapping[str, int] | None = None) -> list[Move]:
    """Moves from communes projected to miss their quota to those projected to exceed it.

    Projection: year-to-date × 12 / months elapsed. A donor gives at most its projected shortfall
    (never going below its floor); a receiver takes at most its projected excess. The province
    total is unchanged by construction. Largest donors meet largest receivers first; ties by code.
    """
    if not 0 < months_elapsed <= 12:
        raise AllocationError(f"Số tháng đã qua ({months_elapsed}) phải trong khoảng 1–12.",
                              constraint="months_elapsed", numbers={"months": months_elapsed})
    floors = floors or {}
    give: list[tuple[int, str]] = []
    take: list[tuple[int, str]] = []
    for code in sorted(quotas):
        projected = ytd.get(code, 0) * 12.0 / months_elapsed
        gap = quotas[code] - projected
        if gap >= 1:
            amount = int(min(np.floor(gap), quotas[code] - floors.get(code, 0)))
            if amount > 0:
                give.append((amount, code))
        elif gap <= -1:
            take.append((int(np.floor(-gap)), code))
    give.sort(key=lambda t: (-t[0], t[1]))
    take.sort(key=lambda t: (-t[0], t[1]))
    moves: list[Move] = []
    i = j = 0
    while i < len(give) and j < len(take):
        amount = min(give[i][0], take[j][0])
        moves.append(Move(give[i][1], take[j][1], amount,
                          f"Xã {give[i][1]} dự báo thiếu, xã {take[j][1]} dự báo vượt chỉ tiêu"))
        give[i] = (give[i][0] - amount, give[i][1])
        take[j] = (take[j][0] - amount, take[j][1])
        i += give[i][0] == 0
        j += take[j][0] == 0
    return moves


def apply_moves(quotas: Mapping[str, int], moves: Sequence[Move]) -> dict[str, int]:
    """Quotas after the accepted moves (the total stays the same; nothing goes negative)."""
    out = dict(quotas)
    for m in moves:
        if m.amount < 0 or out.get(m.from_code, 0) < m.amount or m.to_code not in out:
            raise AllocationError(f"Không chuyển được {m.amount} từ xã {m.from_code} sang xã {m.to_code}.",
                                  constraint="move", codes=[m.from_code, m.to_code])
        out[m.from_code] -= m.amount
        out[m.to_code] += m.amount
    return out
