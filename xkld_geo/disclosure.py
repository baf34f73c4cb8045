"""Disclosure control of the public figures: small counts hidden, within a period and across periods.

Within one period (issue 7): a count from 1 to ``threshold - 1`` is shown as "< threshold"
(primary), and further cells are hidden (:data:`SECONDARY`, complementary) until no hidden figure
can be worked out from the sums linking the published figures (:class:`Cube`,
:func:`suppression_pattern`, audited by linear algebra and bounds in :func:`exposed`).

Across periods (issue 13): the public screen publishes year-to-date figures for every month, so a
reader who writes down January–September and January–October subtracts them. Design: **sequential
release**. The months of a year are processed in order (:func:`year_pattern`) and the pattern of
month ``t`` is chosen knowing the patterns already published for the months before it, which it
never changes:

1. primary suppressions of month ``t``;
2. the history rule (:func:`_history`): a cell is also hidden when its value minus what the
   reader knows of it in an earlier month is a small non-zero count (e.g. 23 shown for T1–9 and
   26 for T1–10: 26 is hidden);
3. complementary suppressions inside month ``t`` (step 1–3 of :func:`suppression_pattern`);
4. the stack audit (:func:`differencing.audit`): an exact integer programme over every hidden
   cell of months ``1..t`` with the sums of each month, monotone cumulative counts and the label
   meanings; each count it recovers adds a complementary suppression *in month t*, and 3–4 repeat.

Why sequential and not "the best pattern for the whole year": a month already shown stays in
readers' notes. If publishing November changed what October showed, a reader who saw October in
October and again in December would combine both patterns. Because month ``t`` depends only on
months ``1..t``, the pattern computed for the whole year equals the one computed month by month
(for the same data), so any prefix of the published months is what the public already saw. Hiding
every cell of month ``t`` would always be safe (it tells nothing new), so a pattern always exists.

Limits: a correction of an already published month changes its figures, and a reader who kept the
old ones learns the size of the correction; the audit does not model that. Years are independent
(January restarts the cumulative counts). An "ẩn" figure a reader can pin to a value of at least
the threshold is not a small count and is accepted by the stack audit (the per-period audit still
avoids it).
"""
from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from xkld_geo import differencing
from xkld_geo.differencing import Stack

THRESHOLD = 5
SECONDARY = "ẩn"
"""Label of a cell hidden only to protect a small one (its value may be 0 or any number ≥ threshold)."""

Key = tuple
"""A published figure: ("T",) the national total, ("P", province), ("M", market),
("X", province, market) or ("C", commune); the single-table helpers use ("c", position)."""
Equation = tuple[Key, tuple[Key, ...]]
"""A total and its parts: the parts add up to the total, and a reader knows it."""

@dataclass(frozen=True)
class Cube:
    """Figures a reader sees (true values here) and the sums linking them across all views."""

    values: dict[Key, int]
    equations: tuple[Equation, ...]


def suppression_pattern(cube: Cube, threshold: int = THRESHOLD,
                        forced: frozenset[Key] | set[Key] = frozenset()) -> dict[Key, str]:
    """The hidden figures of ``cube`` and their labels ("< threshold" or :data:`SECONDARY`).

    1. every count from 1 to ``threshold - 1`` is hidden, and so is every cell of ``forced``
       (hidden for another reason, e.g. the history of earlier periods: labelled secondary);
    2. every sum with a hidden term gets complementary suppressions until it is safe
       (:func:`_sum_safe`): one hidden cell in a row whose total is published is the difference;
    3. a hidden figure still determined by all the sums together (linear algebra) or by their
       bounds (:func:`exposed`) gets a complementary suppression in one of its sums; 2–3 repeat.
    Deterministic: complements are the cells that open the fewest new sums, then the smallest
    non-zero ones (a hidden 0 adds nothing to a sum's hidden total), then by key.
    """
    values = cube.values
    primary = {k for k, v in values.items() if 0 < v < threshold}
    hidden = primary | set(forced)
    where: dict[Key, list[int]] = {}
    for i, (total, parts) in enumerate(cube.equations):
        for k in (total, *parts):
            where.setdefault(k, []).append(i)

    def cost(k: Key) -> tuple:
        fresh = sum(1 for i in where.get(k, ()) if not _touched(cube.equations[i], hidden))
        return fresh, values[k] == 0, values[k], k

    while True:
        _close(cube.equations, values, hidden, primary, threshold, cost)
        done: set[int] = set()
        for k in exposed(cube, hidden, primary, threshold):
            if done.intersection(where[k]):
                continue  # a complement was just added next to it; look again next round
            eqs = [cube.equations[i] for i in where[k]]
            options = ([p for _, parts in eqs for p in parts if p not in hidden]
                       or [t for t, _ in eqs if t not in hidden])
            if options:
                hidden.add(min(options, key=cost))
                done.update(where[k])
        if not done:
            break
    return {k: f"< {threshold}" if k in primary else SECONDARY for k in sorted(hidden)}


def _touched(equation: Equation, hidden: set[Key]) -> bool:
    total, parts = equation
    return total in hidden or any(p in hidden for p in parts)


def _sum_safe(equation: Equation, values: dict[Key, int], hidden: set[Key], primary: set[Key],
              threshold: int) -> bool:
    """Whether one sum leaves its hidden terms unknown.

    Safe: nothing hidden; or total and all parts hidden; or at least two hidden parts, one of them
    not a small count (it may be 0 or any number from the threshold up, so it absorbs any shift),
    holding two thresholds' worth between them, so many splits stay possible.
    """
    total, parts = equation
    inner = [p for p in parts if p in hidden]
    if total in hidden and len(inner) == len(parts):
        return True
    if not inner:
        return total not in hidden
    return (len(inner) >= 2 and any(p not in primary for p in inner)
            and sum(values[p] for p in inner) >= 2 * threshold)


def _close(equations: tuple[Equation, ...], values: dict[Key, int], hidden: set[Key],
           primary: set[Key], threshold: int, cost: Callable[[Key], tuple]) -> None:
    """Add complementary suppressions until every sum is safe (a fixpoint over linked sums)."""
    changed = True
    while changed:
        changed = False
        for equation in equations:
            while not _sum_safe(equation, values, hidden, primary, threshold):
                visible = [p for p in equation[1] if p not in hidden]
                hidden.add(min(visible, key=cost) if visible else equation[0])
                changed = True


def exposed(cube: Cube, hidden: set[Key], primary: set[Key], threshold: int = THRESHOLD) -> list[Key]:
    """Hidden non-zero figures a reader could work out exactly from everything published, sorted.

    Linear: the figure is a combination of the sums (its unit vector lies in their row space over
    the hidden terms). Bounds: a small count is 1..threshold-1 and any other hidden figure 0 or at
    least the threshold; propagating these through the sums pins the figure to one value.
    """
    live = [e for e in cube.equations if _touched(e, hidden)]
    if not live:
        return []
    linear: set[Key] = set()
    for block in _blocks(live, hidden):  # independent groups of sums: one small SVD each
        cols = sorted({k for total, parts in block for k in (total, *parts) if k in hidden})
        index = {k: i for i, k in enumerate(cols)}
        matrix = np.zeros((len(block), len(cols)))
        for row, (total, parts) in enumerate(block):
            if total in hidden:
                matrix[row, index[total]] -= 1
            for p in parts:
                if p in hidden:
                    matrix[row, index[p]] += 1
        _, sing, vt = np.linalg.svd(matrix, full_matrices=False)
        rank = int((sing > 1e-9 * max(1.0, float(sing.max(initial=0)))).sum())
        linear |= {cols[i] for i in np.flatnonzero((vt[:rank] ** 2).sum(axis=0) > 1 - 1e-6)}
    lo, hi = bounds(live, cube.values, hidden, primary, threshold)
    # A figure worked out as 0 names nobody: only a determined non-zero figure is a disclosure.
    return sorted(k for k in linear | {k for k in hidden if lo[k] >= hi[k]} if cube.values[k] != 0)


def _blocks(equations: list[Equation], hidden: set[Key]) -> list[list[Equation]]:
    """The sums grouped by the hidden figures they share (no hidden figure links two groups)."""
    parent: dict[Key, Key] = {}

    def root(k: Key) -> Key:
        while parent.setdefault(k, k) != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    terms = [[k for k in (total, *parts) if k in hidden] for total, parts in equations]
    for ks in terms:
        for k in ks[1:]:
            parent[root(k)] = root(ks[0])
    groups: dict[Key, list[Equation]] = {}
    for equation, ks in zip(equations, terms):
        groups.setdefault(root(ks[0]), []).append(equation)
    return list(groups.values())


def bounds(equations: list[Equation], values: dict[Key, int], hidden: set[Key], primary: set[Key],
           threshold: int, passes: int = 200) -> tuple[dict[Key, float], dict[Key, float]]:
    """The narrowest range of each hidden figure a reader gets by propagating sums and bounds."""
    lo = {k: 1.0 if k in primary else 0.0 for k in hidden}
    hi = {k: threshold - 1.0 if k in primary else math.inf for k in hidden}
    rows = []
    for total, parts in equations:  # sum(sign * hidden) == rest
        terms = [(1, p) for p in parts if p in hidden] + ([(-1, total)] if total in hidden else [])
        rest = (0 if total in hidden else values[total]) - sum(values[p] for p in parts if p not in hidden)
        rows.append((terms, rest))
    for _ in range(passes):
        changed = False
        for terms, rest in rows:
            mins = [lo[k] if s > 0 else -hi[k] for s, k in terms]
            maxs = [hi[k] if s > 0 else -lo[k] for s, k in terms]
            for (s, k), others_min, others_max in zip(terms, _all_but_one(mins), _all_but_one(maxs)):
                low, high = rest - others_max, rest - others_min
                if s < 0:
                    low, high = -high, -low
                new_lo, new_hi = max(lo[k], low), min(hi[k], high)
                if k not in primary:  # 0 or ≥ threshold: a range inside 1..threshold-1 means 0
                    new_hi = 0.0 if new_hi < threshold else new_hi
                    new_lo = max(new_lo, float(threshold)) if new_lo > 0 else new_lo
                if (new_lo, new_hi) != (lo[k], hi[k]):
                    lo[k], hi[k], changed = new_lo, new_hi, True
        if not changed:
            break
    return lo, hi


def _all_but_one(xs: list[float]) -> list[float]:
    """For each position, the sum of the other values (one-signed infinities counted apart)."""
    finite = sum(x for x in xs if math.isfinite(x))
    infinite = [x for x in xs if not math.isfinite(x)]
    out = []
    for x in xs:
        left = len(infinite) - (not math.isfinite(x))
        out.append(infinite[0] if left else finite - (x if math.isfinite(x) else 0.0))
    return out


def suppress(values: pd.Series, groups: pd.Series | None = None, threshold: int = THRESHOLD) -> pd.Series:
    """Published labels for one stand-alone table: the number, "< threshold" or :data:`SECONDARY`.

    ``groups`` names the group whose total is published with each cell (None: one group). The
    same rules as the linked screen (:func:`suppression_pattern`) on a cube of just this table.
    """
    counts = values.fillna(0).astype(np.int64).tolist()
    names = ["all"] * len(counts) if groups is None else [str(g) for g in groups]
    cells = [("c", i) for i in range(len(counts))]
    vals: dict[Key, int] = dict(zip(cells, counts))
    equations = []
    for name in dict.fromkeys(names):
        parts = tuple(c for c, g in zip(cells, names) if g == name)
        vals[("g", name)] = sum(vals[p] for p in parts)
        equations.append((("g", name), parts))
    hidden = suppression_pattern(Cube(vals, tuple(equations)), threshold)
    return pd.Series([hidden.get(c, vals[c]) for c in cells], index=values.index, dtype=object)


def total_label(values: pd.Series, labels: pd.Series, threshold: int = THRESHOLD) -> int | str:
    """The total to publish beside a stand-alone table's ``labels``, or a hidden label.

    Hidden when small, or when the hidden cells could not be made safe (:func:`_sum_safe`), as in
    a table of one small cell.
    """
    counts = values.fillna(0).astype(np.int64).tolist()
    total = sum(counts)
    if 0 < total < threshold:
        return f"< {threshold}"
    cells = [("c", i) for i in range(len(counts))]
    vals: dict[Key, int] = dict(zip(cells, counts)) | {("g",): total}
    hidden = {c for c, v in zip(cells, labels) if isinstance(v, str)}
    primary = {c for c in cells if 0 < vals[c] < threshold}
    if not _sum_safe((("g",), tuple(cells)), vals, hidden, primary, threshold):
        return SECONDARY
    return total




def _key_equations(stack: Stack) -> tuple[Equation, ...]:
    return tuple((stack.keys[total], tuple(stack.keys[p] for p in parts)) for total, parts in stack.equations)


def _history(stack: Stack, hidden: np.ndarray, t: int, threshold: int) -> np.ndarray:
    """Cells of period ``t`` whose value, set beside an earlier period, gives a small count away.

    Against an earlier shown value the difference is exact; against an earlier "< T" cell the
    reader knows it was 1..T-1 (at least the last value shown before it), so the window lies in
    ``[v - (T-1), v - low]``. The stack audit covers every other combination.
    """
    values = stack.values
    v = values[t]
    force = np.zeros(len(v), dtype=bool)
    last_shown = np.zeros(len(v))
    for s in range(t):
        shown = ~hidden[s]
        diff = v - values[s]
        small = (diff >= 1) & (diff <= threshold - 1)
        force |= shown & small
        low = np.maximum(1.0, last_shown)
        primary = hidden[s] & (values[s] > 0) & (values[s] < threshold)
        force |= primary & small & (v - low <= threshold - 1) & (v - (threshold - 1) >= 1)
        last_shown = np.where(shown, values[s], last_shown)
    return force & ~((v > 0) & (v < threshold))


def _complement(stack: Stack, row_hidden: np.ndarray, cell: int, where: dict[int, list[int]],
                rank: np.ndarray) -> int | None:
    """A cell of the newest period to hide so that ``cell``'s recovered count opens up again.

    The cell itself when shown; else the cheapest shown cell of a sum it belongs to (``rank``:
    the smallest count of at least one person first), widening to the sums of those sums' cells.
    """
    if not row_hidden[cell]:
        return cell
    seen, frontier = {cell}, {cell}
    while frontier:
        eqs = {e for c in frontier for e in where.get(c, ())}
        cells = {int(c) for e in eqs for c in (stack.equations[e][0], *stack.equations[e][1])}
        options = [c for c in cells if not row_hidden[c]]
        if options:
            return min(options, key=lambda c: rank[c])
        frontier = cells - seen
        seen |= cells
    return None


def year_pattern(stack: Stack, threshold: int = THRESHOLD) -> tuple[dict[Key, str], ...]:
    """The published pattern of every period of ``stack``, each safe with all the ones before it.

    Sequential release (see the module docstring): the pattern of period ``t`` depends only on
    periods ``0..t``, so publishing one more month never changes an earlier one.
    """
    keys, equations = stack.keys, _key_equations(stack)
    where: dict[int, list[int]] = {}
    for e, (total, parts) in enumerate(stack.equations):
        for c in (total, *parts):
            where.setdefault(int(c), []).append(e)
    memo = differencing.Memo()
    hidden = np.zeros(stack.values.shape, dtype=bool)
    patterns: list[dict[Key, str]] = []
    for t in range(len(stack.months)):
        row = stack.values[t]
        cube = Cube({k: int(v) for k, v in zip(keys, row)}, equations)
        order = np.argsort(np.where(row > 0, row, np.iinfo(np.int64).max), kind="stable")
        rank = np.empty(len(keys), dtype=np.int64)
        rank[order] = np.arange(len(keys))   # cheaper complement: a smaller non-zero count
        forced = {keys[i] for i in np.flatnonzero(_history(stack, hidden, t, threshold))}
        while True:
            pattern = suppression_pattern(cube, threshold, forced)
            hidden[t] = [k in pattern for k in keys]
            findings = differencing.audit(stack, hidden[: t + 1], threshold, memo)
            more = set()
            for f in findings:
                c = _complement(stack, hidden[t], f.cell, where, rank)
                if c is not None:
                    more.add(keys[c])
            if not more - set(pattern):
                break  # safe (or nothing left to hide in this period)
            forced |= more
        patterns.append(pattern)
    return tuple(patterns)
