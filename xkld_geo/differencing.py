"""Differencing: what a reader learns by combining every period published so far (the stack audit).

The public screen publishes year-to-date (cumulative) figures for every month of a year. A reader
who notes them month after month holds, for each cell, a chain of cumulative counts. This module
plays that reader with exact integer programming and reports every count from 1 to
``threshold - 1`` the chain gives away.

The reader's model (:func:`audit`), over the periods published so far (positions ``0..t``):

* a variable for every hidden cell of every period (shown cells are constants);
* additivity inside each period (a total is the sum of its parts, as in :class:`disclosure.Cube`);
* monotonicity across periods: counts of people who left are never negative, so a cumulative
  count never falls (``C(s) <= C(u)`` for ``s < u``), and nothing is below 0;
* the labels: "< T" means 1..T-1; "ẩn" means 0 or at least T (a switch per such cell);
* integrality.

What must stay unknown:

* (A) every hidden small cumulative count keeps at least two feasible values (the label "< T"
  itself says 1..T-1, which the per-period rules accept);
* (B) every window ``C(u) - C(s)`` of a cell between two published periods, whose true value is
  1..T-1, keeps a feasible value of 0 or of at least T: the reader must not even learn that a
  small, non-zero number of people left in that window. A window that starts where the cell is
  known to be 0 *is* a cumulative count and falls under (A).

Only windows whose inner periods are all hidden are checked: a shown period in between splits a
window into two independent ones, and if each can be 0 or reach T, so can their sum.

Cost: the variables split into independent blocks (connected through sums and through a cell's run
of hidden months); a province whose total is shown is its own block. Each block is solved with
HiGHS (``scipy.optimize.milp``); the true figures and a few aggregate solutions serve as witnesses
that clear most quantities without solving for them one by one. Blocks already cleared at an
earlier step, with the same constraints, are not solved again (``memo``).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import optimize, sparse
from scipy.sparse import csgraph

Key = tuple
EXACT_UP_TO = 150
"""Blocks up to this many hidden cells answer an open question exactly (integer programme); larger
ones count a question the inner linear programme cannot clear as recovered, which only ever adds
a suppression (safe, and seconds instead of minutes for a year of 3,321 communes)."""


@dataclass(frozen=True)
class Stack:
    """A year of published periods: the same cells and sums in every period, cumulative values.

    ``values[t, i]`` is cell ``keys[i]`` from January to the end of ``months[t]``; each equation is
    (index of the total, indices of its parts).
    """

    keys: tuple[Key, ...]
    months: tuple[int, ...]
    values: np.ndarray
    equations: tuple[tuple[int, np.ndarray], ...]


@dataclass(frozen=True)
class Finding:
    """A count a reader recovers: cell ``keys[cell]`` between period positions ``start`` (exclusive;
    -1 = from January) and ``end``; the reader knows it lies in ``low..high``."""

    cell: int
    start: int
    end: int
    low: int
    high: int


@dataclass
class Memo:
    """Blocks already cleared (by a hash of their constraints), kept across the steps of a year."""

    safe: set[str] = field(default_factory=set)


def audit(stack: Stack, hidden: np.ndarray, threshold: int, memo: Memo | None = None) -> list[Finding]:
    """Every count the periods ``0..len(hidden)-1`` give away together (empty: safe).

    ``hidden[t, i]`` says whether cell ``i`` is hidden in period ``t``.
    """
    memo = memo or Memo()
    t_last = hidden.shape[0]
    values = stack.values[:t_last].astype(np.float64)
    hid = hidden.astype(bool)
    primary = (values > 0) & (values < threshold)
    rows_, cells_ = np.nonzero(hid)
    n = len(rows_)
    if n == 0:
        return _shown_windows(values, hid, threshold)
    var = -np.ones(hid.shape, dtype=np.int64)
    var[rows_, cells_] = np.arange(n)
    shown = np.where(hid, np.nan, values)
    before = pd.DataFrame(shown).ffill().fillna(0.0).to_numpy()   # last shown value before
    after = pd.DataFrame(shown).bfill().fillna(np.inf).to_numpy()  # next shown value after
    lb = np.where(primary, 1.0, 0.0)[rows_, cells_]
    lb = np.maximum(lb, np.vstack([np.zeros((1, hid.shape[1])), before[:-1]])[rows_, cells_])
    ub = np.where(primary, threshold - 1.0, np.inf)[rows_, cells_]
    ub = np.minimum(ub, np.vstack([after[1:], np.full((1, hid.shape[1]), np.inf)])[rows_, cells_])
    second = ~primary[rows_, cells_]
    lb = np.where(second & (lb > 0), np.maximum(lb, threshold), lb)   # 0 or ≥ T
    ub = np.where(second & (ub < threshold), 0.0, ub)
    big = float(values.max(initial=0)) + threshold
    # equality rows (sums) and inequality rows (x_t − x_{t+1} ≤ 0 for a cell hidden in both)
    eq_r, eq_c, eq_v, rhs = [], [], [], []
    for t in range(t_last):
        for total, parts in stack.equations:
            terms = [(var[t, p], 1.0) for p in parts if hid[t, p]]
            if hid[t, total]:
                terms.append((var[t, total], -1.0))
            if not terms:
                continue
            rest = (0.0 if hid[t, total] else values[t, total]) - values[t, parts][~hid[t, parts]].sum()
            row = len(rhs)
            rhs.append(rest)
            for c, v in terms:
                eq_r.append(row), eq_c.append(c), eq_v.append(v)
    both = hid[:-1] & hid[1:]
    mt, mc = np.nonzero(both)
    mono = np.column_stack([var[mt, mc], var[mt + 1, mc]]) if len(mt) else np.zeros((0, 2), np.int64)
    a_eq = sparse.csr_matrix((eq_v, (eq_r, eq_c)), shape=(len(rhs), n))
    rhs_arr = np.array(rhs, dtype=np.float64)
    link = sparse.csr_matrix((np.ones(len(eq_c)), (eq_r, eq_c)), shape=(len(rhs), n))
    graph = (link.T @ link) + sparse.csr_matrix((np.ones(len(mono)), (mono[:, 0], mono[:, 1])), shape=(n, n))
    _, label = csgraph.connected_components(graph, directed=False)
    # a row's block is that of any of its columns (the absolute pattern: totals enter as −1)
    eq_label = label[np.asarray(abs(a_eq).argmax(axis=1)).ravel()] if len(rhs) else np.zeros(0, np.int64)
    findings = _shown_windows(values, hid, threshold)
    questions = _questions(values, hid, var, primary, threshold)
    by_block: dict[int, list[tuple]] = {}
    for q in questions:
        by_block.setdefault(int(label[q[1] if q[1] >= 0 else q[2]]), []).append(q)
    for block, qs in sorted(by_block.items()):
        cols = np.flatnonzero(label == block)
        rows = np.flatnonzero(eq_label == block)
        keep = np.isin(mono[:, 0], cols)
        problem = _Block(cols, a_eq[rows][:, cols], rhs_arr[rows], mono[keep], lb[cols], ub[cols],
                         second[cols], threshold, big)
        sig = problem.signature(qs)
        if sig in memo.safe:
            continue
        found = problem.solve(qs, values[rows_[cols], cells_[cols]])
        findings += [Finding(int(cells_[q[2] if q[2] >= 0 else q[1]]), q[3], q[4], lo, hi)
                     for q, lo, hi in found]
        if not found:
            memo.safe.add(sig)
    return findings


def _shown_windows(values: np.ndarray, hid: np.ndarray, threshold: int) -> list[Finding]:
    """Windows between two shown periods of a cell with a small difference (plain subtraction)."""
    out = []
    for i in range(values.shape[1]):
        seen = [(t, values[t, i]) for t in range(values.shape[0]) if not hid[t, i]]
        for (s, vs), (u, vu) in zip(seen, seen[1:]):
            if 1 <= vu - vs <= threshold - 1:
                out.append(Finding(i, s, u, int(vu - vs), int(vu - vs)))
    return out


def _questions(values: np.ndarray, hid: np.ndarray, var: np.ndarray, primary: np.ndarray,
               threshold: int) -> list[tuple]:
    """What must stay unknown: (kind, start var or −1, end var or −1, start, end, true value, shown part).

    kind "A": a hidden small cumulative count (end var); kind "B": a window ``end − start`` whose
    true value is small, with at least one end hidden and every period inside hidden. A shown end
    enters as a constant (``shown part`` = shown end − shown start).
    """
    out = []
    t_last, n_cells = values.shape
    for t, i in zip(*np.nonzero(hid & primary)):
        out.append(("A", -1, int(var[t, i]), -1, int(t), values[t, i], 0.0))
    for i in np.flatnonzero(hid.any(axis=0)):
        col, v = hid[:, i], values[:, i]
        t = 0
        while t < t_last:
            if not col[t]:
                t += 1
                continue
            end = t
            while end + 1 < t_last and col[end + 1]:
                end += 1
            # the run t..end is hidden; windows (a, b] with a in t-1..end, b in a+1..end+1
            for a in range(t - 1, end + 1):
                va = 0.0 if a < 0 else v[a]
                if a < t and va == 0:
                    continue   # from a known 0: a cumulative count, question A
                for b in range(a + 1, min(end + 1, t_last - 1) + 1):
                    if a == t - 1 and b == end + 1:
                        continue   # both ends shown: plain subtraction
                    if not 1 <= v[b] - va <= threshold - 1:
                        continue
                    sa = int(var[a, i]) if a >= t else -1
                    sb = int(var[b, i]) if b <= end else -1
                    const = (v[b] if sb < 0 else 0.0) - (va if sa < 0 else 0.0)
                    out.append(("B", sa, sb, a, b, v[b] - va, const))
            t = end + 1
    return out


class _Block:
    """One independent block of the reader's integer programme."""

    def __init__(self, cols: np.ndarray, a_eq: sparse.csr_matrix, rhs: np.ndarray, mono: np.ndarray,
                 lb: np.ndarray, ub: np.ndarray, second: np.ndarray, threshold: int, big: float) -> None:
        self.cols, self.threshold = cols, threshold
        local = {int(c): j for j, c in enumerate(cols)}
        self.local = local
        n = len(cols)
        switch = np.flatnonzero(second & (lb == 0) & (ub >= threshold))
        width = n + len(switch)
        rows = [sparse.hstack([a_eq, sparse.csr_matrix((a_eq.shape[0], len(switch)))])]
        low, high = [rhs], [rhs]
        if len(mono):
            m = sparse.csr_matrix((np.r_[np.ones(len(mono)), -np.ones(len(mono))],
                                   (np.r_[np.arange(len(mono)), np.arange(len(mono))],
                                    np.r_[[local[int(c)] for c in mono[:, 0]],
                                          [local[int(c)] for c in mono[:, 1]]])), shape=(len(mono), width))
            rows.append(m), low.append(np.full(len(mono), -np.inf)), high.append(np.zeros(len(mono)))
        if len(switch):
            k = np.arange(len(switch))
            cap = np.where(np.isfinite(ub[switch]), ub[switch], big)
            on = sparse.csr_matrix((np.r_[np.ones(len(k)), -threshold * np.ones(len(k))],
                                    (np.r_[k, k], np.r_[switch, n + k])), shape=(len(k), width))
            off = sparse.csr_matrix((np.r_[np.ones(len(k)), -cap],
                                     (np.r_[k, k], np.r_[switch, n + k])), shape=(len(k), width))
            rows += [on, off]
            low += [np.zeros(len(k)), np.full(len(k), -np.inf)]
            high += [np.full(len(k), np.inf), np.zeros(len(k))]
        self.matrix = sparse.vstack(rows).tocsr()
        self.low, self.high = np.concatenate(low), np.concatenate(high)
        self.bounds = optimize.Bounds(np.r_[lb, np.zeros(len(switch))],
                                      np.r_[np.where(np.isfinite(ub), ub, big), np.ones(len(switch))])
        self.width, self.n, self.switch = width, n, switch
        self.exact = n <= EXACT_UP_TO

    def signature(self, questions: list[tuple]) -> str:
        """A hash of the block's constraints and questions (equal hash: equal answer)."""
        h = hashlib.sha1()
        for arr in (self.cols, self.matrix.data, self.matrix.indices, self.matrix.indptr, self.low,
                    self.high, self.bounds.lb, self.bounds.ub):
            h.update(np.ascontiguousarray(arr).tobytes())
        h.update(repr(questions).encode())
        return h.hexdigest()

    def _vector(self, q: tuple) -> tuple[np.ndarray, float]:
        c = np.zeros(self.width)
        if q[2] >= 0:
            c[self.local[q[2]]] += 1.0
        if q[1] >= 0:
            c[self.local[q[1]]] -= 1.0
        return c, q[6]

    def _optimum(self, c: np.ndarray, mode: str = "inner") -> np.ndarray | None:
        """An optimal world for objective ``c``, or None.

        ``inner``: a linear programme where every "ẩn" cell keeps its true side (0, or at least
        T); fast, and a whole-number optimum of it is a world the reader must accept, so it can
        clear questions (a fractional one: the exact programme in small blocks, else None).
        ``exact``: the reader's integer programme. ``relaxed``: its linear relaxation (a bound
        the reader cannot beat).
        """
        constraints = optimize.LinearConstraint(self.matrix, self.low, self.high)
        if mode != "exact":
            res = optimize.milp(c, integrality=np.zeros(self.width),
                                bounds=self.inner if mode == "inner" else self.bounds, constraints=constraints)
            if mode == "relaxed" or (res.x is not None and self._valid(res.x)):
                return None if res.x is None else res.x
            if not self.exact:
                return None
        res = optimize.milp(c, integrality=np.ones(self.width), bounds=self.bounds, constraints=constraints)
        if res.x is None:  # the true figures are feasible, so this means a solver limit
            raise RuntimeError(f"differencing audit: {res.message}")
        return np.round(res.x)

    def _valid(self, x: np.ndarray) -> bool:
        """Whether a relaxed optimum is a world the reader must accept (whole, labels respected)."""
        cells = x[: self.n]
        if np.abs(cells - np.round(cells)).max(initial=0) > 1e-6:
            return False
        v = np.round(cells[self.switch])
        return bool(((v <= 0) | (v >= self.threshold)).all())

    def solve(self, questions: list[tuple], truth: np.ndarray) -> list[tuple[tuple, int, int]]:
        """The questions this block answers (with the reader's range); the others stay unknown."""
        vecs = [self._vector(q) for q in questions]
        lb, ub = self.bounds.lb.copy(), self.bounds.ub.copy()
        side = truth[self.switch] >= self.threshold
        ub[self.switch[~side]] = 0.0
        lb[self.switch[side]] = self.threshold
        lb[self.n + np.flatnonzero(side)], ub[self.n + np.flatnonzero(~side)] = 1.0, 0.0
        self.inner = optimize.Bounds(lb, ub)
        witnesses = [np.r_[truth, np.zeros(self.width - self.n)]]
        pending = list(range(len(questions)))

        def clear(w: np.ndarray | None) -> None:
            nonlocal pending
            if w is None:
                return
            pending = [j for j in pending if not self._cleared(questions[j], vecs[j], w)]

        clear(witnesses[0])
        # aggregate pushes: every pending quantity down, then up, then mixed directions (seeded,
        # so the pattern is deterministic), while a push clears something
        rng = np.random.default_rng(len(questions))
        for push in range(12):
            if not pending:
                break
            signs = (np.ones(len(pending)) if push == 0 else -np.ones(len(pending)) if push == 1
                     else rng.choice([-1.0, 1.0], len(pending)))
            before = len(pending)
            clear(self._optimum(sum(sg * vecs[j][0] for sg, j in zip(signs, pending))))
            if push >= 2 and len(pending) == before:
                break
        found = []
        for j in list(pending):
            if j not in pending:
                continue
            c, const = vecs[j]
            ends = []
            for mode in (("inner", "exact") if self.exact else ("inner",)):
                ends = [self._optimum(c, mode), self._optimum(-c, mode)]
                for w in ends:
                    clear(w)
                if j not in pending:
                    break
            if j not in pending:
                continue
            q = questions[j]
            seen = [c @ w + const for w in ends if w is not None] or [q[5]]
            lo, hi = int(round(min(seen))), int(round(max(seen)))
            if q[0] == "B" and q[1] >= 0:   # from a start that can only be 0: a cumulative count
                start = np.zeros(self.width)
                start[self.local[q[1]]] = -1.0
                top = self._optimum(start, "exact" if self.exact else "relaxed")
                if top is not None and -(start @ top) < 0.5 and (lo < hi or not self.exact):
                    pending.remove(j)
                    continue
            found.append((q, lo, hi))
            pending.remove(j)
        return found

    def _cleared(self, q: tuple, vec: tuple[np.ndarray, float], w: np.ndarray) -> bool:
        value = float(vec[0] @ w + vec[1])
        if q[0] == "A":
            return abs(value - q[5]) > 0.5
        return value <= 0.5 or value >= self.threshold - 0.5

