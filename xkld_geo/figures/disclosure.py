"""Disclosure control of every public count: rounding to base ``b`` (the threshold, 5 by default).

Rule (:func:`round_count`): 0 stays 0; 1 to ``b - 1`` is shown as "< b"; ``b`` and above is rounded
to the nearest multiple of ``b`` (ties up, so never below ``b``). Every figure is rounded on its own,
totals (province, national, market) included, so a total may differ from the sum of its rounded
rows; the screen says so (:func:`rounding_note`). Attainment shown publicly is computed from the
rounded count (:func:`attainment`), and is hidden for "< b".

Why this is safe across months (issue 13). The public screen shows cumulative counts, January to
month M, and anyone can note them month by month and subtract. Under rounding no published count
except 0 is exact: a reader who knows the rule learns only an interval (:func:`interval`), "< b" is
1..b-1 and a rounded ``n`` is the integers within ``b/2`` of ``n`` (for ``n = b``: b..⌈1.5 b⌉-1).
The difference of two published values of one cell lies in ``[lo_M - hi_k, hi_M - lo_k]``, whose
width is the sum of the two widths, so it is a single value only when both values are exact, that
is both 0, and then the difference is 0: the monthly count names nobody. For ``b ≥ 3`` every
non-zero label spans at least two integers (for ``b = 2`` "< 2" is exactly 1, which is why the
threshold must be at least 3 to mean anything; the setting refuses less than 2). Because no value is
exact, no secondary suppression (no "ẩn") and no audit against the published history is needed: the
same figure gets the same label whatever was published before, and the published history holds no
more than each month's rounded values.

Sums and periods together (:func:`protect`). The sums linking figures (province = Σ its communes =
Σ its markets, national = Σ provinces = Σ markets, market = Σ provinces) and the twelve cumulative
periods of a year (a figure never decreases from one period to the next) add information: a reader
intersects a total's interval with the sum of its parts' intervals, period after period. Where a
total is made of few small parts this narrows them: a market at 10 nationally (8..12) over eleven
provinces at "< 5" makes each province 1 or 2. So each period's labels are audited against every
published period of the year before them, by interval propagation over all those sums and periods
to a fixed point (:func:`propagate`), and wherever a published "< b" would be narrowed to an
interval of width 2 or less (its label says 1..b-1), a total that narrows it (or, failing that,
the figure itself) is not published in this period: it is shown as :data:`HIDDEN`, as SDMX's
flag "d" (hidden to protect another cell). Hiding only removes information, so it never narrows
anything else, and earlier periods are never changed (what was published stays published). The
guarantee is tested with an integer programme (SciPy ``milp``) that certifies, for every published
"< b" of every period, a solution of all the published labels and sums in which it is 1 and one in
which it is b-1 (tests/test_disclosure.py); docs/disclosure.md states what is and is not proven.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

Key = tuple
"""A published figure: ("T",) the national total, ("P", province), ("M", market),
("X", province, market) or ("C", commune)."""
Equation = tuple[Key, tuple[Key, ...]]
"""A total and its parts: the true parts add up to the true total, and a reader knows it."""
Label = int | str
"""What the public sees for a count: a multiple of the base, 0, or "< base"."""

THRESHOLD = 5
"""Default base (``public_threshold`` setting, XKLD_PUBLIC_THRESHOLD)."""
HIDDEN = "ẩn"
"""The label of a figure not published in a period to protect a small count (see :func:`protect`)."""
UNBOUNDED = 10**12
"""The upper end of a hidden figure's interval (nothing is known but that it is not negative)."""
NARROW = 2
"""A small count narrowed to an interval this wide or narrower is disclosed (1..4 is 3 wide)."""


@dataclass(frozen=True)
class Cube:
    """True figures of one period (never published as such) and the sums linking them."""

    values: dict[Key, int]
    equations: tuple[Equation, ...]


def check_base(base: int) -> int:
    """``base`` as an int, refused below 2 (rounding to 1 would publish the exact counts)."""
    if int(base) != base or base < 2:
        raise ValueError(f"rounding base must be an integer ≥ 2, got {base!r}")
    return int(base)


def small_label(base: int = THRESHOLD) -> str:
    """The label of a count from 1 to ``base - 1``."""
    return f"< {base}"


def round_count(n: int, base: int = THRESHOLD) -> Label:
    """The published label of a true count ``n`` (see the module docstring)."""
    base = check_base(base)
    n = int(n)
    if n < 0:
        raise ValueError(f"a count cannot be negative: {n}")
    if n == 0:
        return 0
    if n < base:
        return small_label(base)
    return (2 * n + base) // (2 * base) * base  # nearest multiple, ties up; ≥ base since n ≥ base


def interval(label: Label, base: int = THRESHOLD) -> tuple[int, int]:
    """Every true count a reader who knows the rule can infer from ``label``, as [low, high].

    The exact preimage of :func:`round_count` (tighter than "n ± b/2", so an attacker using it is at
    least as strong): 0 → [0, 0]; "< b" → [1, b-1]; n → the integers rounding to n.
    """
    base = check_base(base)
    if label == HIDDEN:
        return 0, UNBOUNDED
    if isinstance(label, str):
        if label != small_label(base):
            raise ValueError(f"not a label of base {base}: {label!r}")
        return 1, base - 1
    n = int(label)
    if n == 0:
        return 0, 0
    if n % base:
        raise ValueError(f"{n} is not a multiple of base {base}")
    low = max(base, math.ceil(n - base / 2))   # 2n+b ≥ 2nb/b ⇔ x ≥ n - b/2
    high = math.ceil(n + base / 2) - 1         # x < n + b/2
    return low, high


def rounded(values: dict[Key, int], base: int = THRESHOLD) -> dict[Key, Label]:
    """Every figure's label, each rounded independently of the others."""
    return {k: round_count(v, base) for k, v in values.items()}


Labels = dict[Key, Label]


def propagate(periods: list[Labels], equations: tuple[Equation, ...], base: int = THRESHOLD
              ) -> tuple[np.ndarray, np.ndarray, list[Key]]:
    """What a reader can infer from ``periods`` (the labels of January..1, January..2, ... of one
    year) and the sums ``equations`` (true in every period): the interval [low, high] of every
    figure in every period, as arrays (period × key), after propagating every sum both ways and
    the order of periods (a cumulative figure never decreases) to a fixed point."""
    keys = sorted({k for labels in periods for k in labels} | {t for t, _ in equations}
                  | {p for _, parts in equations for p in parts})
    at = {k: i for i, k in enumerate(keys)}
    low = np.zeros((len(periods), len(keys)), dtype=np.int64)
    high = np.full((len(periods), len(keys)), UNBOUNDED, dtype=np.int64)
    for m, labels in enumerate(periods):
        for k, label in labels.items():
            low[m, at[k]], high[m, at[k]] = interval(label, base)
    index = [(at[t], np.array([at[p] for p in parts], dtype=np.int64)) for t, parts in equations]
    while True:
        before = (low.copy(), high.copy())
        for m in range(len(periods)):
            lo, hi = low[m], high[m]
            for t, parts in index:
                sum_lo, sum_hi = int(lo[parts].sum()), int(hi[parts].sum())
                lo[t], hi[t] = max(lo[t], sum_lo), min(hi[t], sum_hi)
                lo[parts] = np.maximum(lo[parts], lo[t] - (sum_hi - hi[parts]))
                hi[parts] = np.minimum(hi[parts], hi[t] - (sum_lo - lo[parts]))
        low = np.maximum.accumulate(low, axis=0)
        high = np.minimum.accumulate(high[::-1], axis=0)[::-1].copy()
        high = np.minimum(high, UNBOUNDED)
        if np.array_equal(low, before[0]) and np.array_equal(high, before[1]):
            return low, high, keys


def exposed(periods: list[Labels], equations: tuple[Equation, ...], base: int = THRESHOLD) -> list[tuple[int, Key]]:
    """(period index, key) of every published "< base" that :func:`propagate` narrows to an
    interval of width :data:`NARROW` or less."""
    low, high, keys = propagate(periods, equations, base)
    small = small_label(base)
    at = {k: i for i, k in enumerate(keys)}
    return [(m, k) for m, labels in enumerate(periods) for k, v in labels.items()
            if v == small and high[m, at[k]] - low[m, at[k]] <= NARROW]


def protect(earlier: list[Labels], labels: Labels, equations: tuple[Equation, ...],
            base: int = THRESHOLD) -> Labels:
    """``labels`` of a new period with just enough figures :data:`HIDDEN` that, together with the
    ``earlier`` periods of the year (already published, never changed) and the sums, no published
    "< base" of any period is narrowed to width :data:`NARROW` or less (see the module docstring).

    For a small figure it would narrow, the period's totals of the sums the figure is a part of
    are hidden first (a province total over few small communes, a market total over few small
    provinces); if that is not enough, the figure itself."""
    out = dict(labels)
    while True:
        found = exposed([*earlier, out], equations, base)
        if not found:
            return out
        hide: set[Key] = set()
        for _, key in found:
            hide |= _culprits(key, out, equations, base)
        hide = {k for k in hide if out.get(k, 0) not in (0, HIDDEN)}
        if not hide:  # nothing left to hide near them: hide every published figure of the period
            hide = {k for k, v in out.items() if v not in (0, HIDDEN)}
            if not hide:
                return out
        out.update({k: HIDDEN for k in hide})


def _culprits(key: Key, labels: Labels, equations: tuple[Equation, ...], base: int) -> set[Key]:
    """What to hide in this period for an exposed small figure ``key``: the totals of the sums that
    narrow it on their own (a total over few small parts); the figure itself where its own parts
    narrow it (a small total of several small parts); else every published total it is a part of,
    and the figure itself once those are hidden."""
    def bounds(k: Key) -> tuple[int, int]:
        return interval(labels.get(k, 0), base)

    out: set[Key] = set()
    as_part = [(t, parts) for t, parts in equations if key in parts]
    for total, parts in as_part:
        t_lo, t_hi = bounds(total)
        others = [bounds(p) for p in parts if p != key]
        lo = max(1, t_lo - sum(h for _, h in others))
        hi = min(base - 1, t_hi - sum(lo_ for lo_, _ in others))
        if hi - lo <= NARROW and labels.get(total, 0) != HIDDEN:
            out.add(total)
    for total, parts in equations:
        if total == key:
            lo = sum(bounds(p)[0] for p in parts)
            hi = sum(bounds(p)[1] for p in parts)
            if min(base - 1, hi) - max(1, lo) <= NARROW:
                out.add(key)
    if not out:
        out = {t for t, _ in as_part if labels.get(t, 0) not in (0, HIDDEN)} or {key}
    return out


def attainment(label: Label, quota: float | None) -> float | None:
    """Attainment % shown publicly: the rounded count over the quota; None when hidden or no quota."""
    if isinstance(label, str) or quota is None or not quota > 0 or math.isnan(float(quota)):
        return None
    return 100.0 * float(label) / float(quota)


def rounding_note(base: int = THRESHOLD) -> str:
    """The sentence every public page shows beside rounded figures (Vietnamese)."""
    return (f"Số liệu làm tròn đến {base}; số từ 1 đến {base - 1} hiện là \"< {base}\"; "
            "tổng được làm tròn riêng nên có thể lệch với tổng các dòng; \"ẩn\": số không công bố để "
            "không làm lộ một số nhỏ khác.")
