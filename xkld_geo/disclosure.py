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

Limit. The sums linking figures (province = Σ its communes = Σ its markets, national = Σ provinces =
Σ markets, market = Σ provinces) add information: a reader intersects a total's interval with the
sum of its parts' intervals. When a sum has only two or three non-zero terms, all small, this can
narrow or even pin a part within one period: parts 4 and 4 of a total 8 (shown "< 5", "< 5", 10)
give 8..12 ∩ 2..8 = 8, so both are 4. Zeros are exact, so it is the number of non-zero terms that
counts. A real province has 50 to 170 communes and the uncertainties of many non-zero terms add up,
so this does not happen there in practice; the tiny test country's province 98 (two communes) is the
documented exception, and tests/test_disclosure.py measures it by linear programming over the whole
stack of months.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

Key = tuple
"""A published figure: ("T",) the national total, ("P", province), ("M", market),
("X", province, market) or ("C", commune)."""
Equation = tuple[Key, tuple[Key, ...]]
"""A total and its parts: the true parts add up to the true total, and a reader knows it."""
Label = int | str
"""What the public sees for a count: a multiple of the base, 0, or "< base"."""

THRESHOLD = 5
"""Default base (``public_threshold`` setting, XKLD_PUBLIC_THRESHOLD)."""


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


def attainment(label: Label, quota: float | None) -> float | None:
    """Attainment % shown publicly: the rounded count over the quota; None when hidden or no quota."""
    if isinstance(label, str) or quota is None or not quota > 0 or math.isnan(float(quota)):
        return None
    return 100.0 * float(label) / float(quota)


def rounding_note(base: int = THRESHOLD) -> str:
    """The sentence every public page shows beside rounded figures (Vietnamese)."""
    return (f"Số liệu làm tròn đến {base}; số từ 1 đến {base - 1} hiện là \"< {base}\"; "
            "tổng được làm tròn riêng nên có thể lệch với tổng các dòng.")
