"""WCMP: integer group-bucket weights that approximate fractional path splits.

A TE solution splits a demand over its paths in real-valued proportions; a switch's SELECT group
can only hash flows over buckets with integer weights. B4 quantises splits to multiples of 1/4
(a budget of 4 buckets); Open vSwitch accepts finer weights but never picks a weight-0 bucket
and spreads badly when one weight dwarfs another. :func:`quantize_weights` finds the integer
weights with the smallest worst-case split error within those limits.
"""
from __future__ import annotations

import math

import numpy as np

from te.errors import InvalidInput

__all__ = ["apportion", "quantize_weights", "reassign_slots", "split_error"]


def split_error(fractions, weights):
    """Worst absolute difference between the normalised fractions and the normalised weights.

    Parameters
    ----------
    fractions : sequence of float
        Desired split (>= 0, not all 0; need not sum to 1).
    weights : sequence of int
        Bucket weights (>= 0, not all 0), one per fraction.

    Returns
    -------
    float
        ``max_i |weights[i] / sum(weights) - fractions[i] / sum(fractions)|``.

    Raises
    ------
    te.errors.InvalidInput
        Lengths differ, or either sequence is negative, not finite or all 0.

    Examples
    --------
    >>> round(split_error([0.5, 0.3, 0.2], [2, 1, 1]), 12)
    0.05
    """
    p = _normalise(fractions, "fractions")
    w = _normalise(weights, "weights")
    if len(p) != len(w):
        raise InvalidInput(f"{len(w)} weights for {len(p)} fractions")
    return float(np.abs(w - p).max())


def quantize_weights(fractions, budget, max_ratio=256, keep_positive=True):
    """Integer weights of at most ``budget`` buckets whose split is closest to ``fractions``.

    Parameters
    ----------
    fractions : sequence of float
        Desired split over the paths (>= 0, not all 0; need not sum to 1).
    budget : int
        Largest allowed sum of the weights (B4: 4, i.e. multiples of 1/4).
    max_ratio : float, default 256
        Largest allowed ``max(w) / min(w)`` over the positive weights.
    keep_positive : bool, default True
        Give every positive fraction a weight of at least 1, so every path the TE solution
        uses keeps some traffic. With False a small fraction may get weight 0 when that
        lowers the worst error.

    Returns
    -------
    list of int
        One weight per fraction; 0 for every fraction of 0. The caller must leave weight-0
        buckets out of the group (Open vSwitch never picks them, and a group whose buckets all
        weigh 0 drops everything).

    Raises
    ------
    te.errors.InvalidInput
        Bad fractions, ``budget < 1``, ``max_ratio < 1``, or more positive fractions than
        ``budget`` with ``keep_positive``.

    Notes
    -----
    The result minimises ``split_error(fractions, w)`` exactly over all integer vectors that
    meet the constraints (up to the rounding of the float error values themselves); among
    optimal vectors it has the smallest sum, so the budget is used only when it helps, and
    the weights share no common factor (dividing by one would give a smaller sum with the
    same split).

    For each total ``T <= budget`` the error values an item can take are
    ``|k / T - p_i|``, ``k = 0..T``; whether error ``e`` is reachable is monotone in ``e``,
    so a binary search over those ``n (T + 1)`` values finds the optimum for ``T``. A
    test at ``e`` gives each item an interval of weights; the ratio limit asks for some
    ``m`` with every positive weight in ``[m, max_ratio * m]``, and the sums of the clipped
    interval ends are monotone in ``m``, so all ``m`` are tried at once with numpy. Without
    ``keep_positive`` the weights set to 0 can be taken as the smallest fractions (swapping
    a zero onto a smaller fraction never raises the error), so only ``n`` zero sets are tried.
    Totals whose per-item best error (ignoring the sum) already reaches the best error found
    are skipped. Worst case ``O(n^2 budget^2 log(n budget))`` time with ``n`` positive
    fractions; in practice a few milliseconds for budgets in the hundreds.

    Examples
    --------
    B4's quarter steps for a 50/30/20 split:

    >>> quantize_weights([0.5, 0.3, 0.2], budget=4)
    [2, 1, 1]

    A finer budget, and an exact split that needs only a few buckets:

    >>> quantize_weights([0.5, 0.3, 0.2], budget=64)
    [5, 3, 2]

    The ratio limit and ``keep_positive`` at work on a tiny fraction:

    >>> quantize_weights([0.995, 0.005], budget=1000, max_ratio=10)
    [10, 1]
    >>> quantize_weights([0.995, 0.005], budget=1000, max_ratio=10, keep_positive=False)
    [1, 0]
    """
    p = _normalise(fractions, "fractions")
    if int(budget) != budget or budget < 1:
        raise InvalidInput(f"budget must be an integer >= 1, got {budget!r}")
    if not max_ratio >= 1:
        raise InvalidInput(f"max_ratio must be >= 1, got {max_ratio!r}")
    budget = int(budget)
    positive = np.flatnonzero(p > 0)
    if keep_positive and len(positive) > budget:
        raise InvalidInput(f"{len(positive)} positive fractions do not fit in a budget of {budget} buckets")
    problem = _Problem(p[positive], max_ratio, keep_positive)
    best_error, best = np.inf, None
    for total, bound in enumerate(problem.error_bounds(budget), start=1):
        if bound >= best_error:
            continue
        found = problem.solve_total(total, below=best_error)
        if found is not None:
            best_error, best = found
    weights = np.zeros(len(p), dtype=np.int64)
    weights[positive] = best
    return weights.tolist()


def _normalise(values, name):
    v = np.asarray(values, dtype=float)
    if v.ndim != 1 or len(v) == 0 or not np.all(np.isfinite(v)) or np.any(v < 0) or v.sum() == 0:
        raise InvalidInput(f"{name} must be finite numbers >= 0, not all 0, got {list(values)!r}")
    return v / v.sum()


class _Problem:
    """Positive fractions ``q`` to quantise; error values are ``|k / T - q_i|`` throughout,
    exactly the float expression :func:`split_error` evaluates."""

    def __init__(self, q, max_ratio, keep_positive):
        self.q = q
        self.max_ratio = max_ratio
        self.lowest = 1 if keep_positive else 0
        # Zero sets are prefixes of this order (smallest fractions first).
        self.order = np.argsort(q, kind="stable")

    def error_bounds(self, budget):
        """For each total ``1..budget``, the worst over items of each item's best error."""
        totals = np.arange(1, budget + 1, dtype=float)[:, None, None]
        near = np.floor(totals * self.q[None, :, None]) + np.arange(-1, 3)
        near = np.clip(near, self.lowest, totals)
        bounds = np.abs(near / totals - self.q[None, :, None]).min(axis=2).max(axis=1)
        if self.lowest:
            bounds[: len(self.q) - 1] = np.inf  # fewer buckets than paths to keep
        return bounds

    def solve_total(self, total, below):
        """``(error, weights)`` with the least error ``< below`` summing to ``total``, or None."""
        errors = np.abs(np.arange(total + 1) / total - self.q[:, None])
        values = np.unique(errors)
        values = values[values < below]
        if len(values) == 0 or self._boxes(errors, values[-1]) is None:
            return None
        lo, hi = 0, len(values) - 1  # values[hi] is feasible
        while lo < hi:
            mid = (lo + hi) // 2
            if self._boxes(errors, values[mid]) is None:
                lo = mid + 1
            else:
                hi = mid
        low, high = self._boxes(errors, values[hi])
        return float(values[hi]), _fill(errors, low, high, total)

    def _boxes(self, errors, bound):
        """Per-item weight ranges ``[low, high]`` that meet every constraint at error ``bound``
        and whose sums bracket the total, or None if there are none."""
        total = errors.shape[1] - 1
        allowed = errors <= bound
        allowed[:, : self.lowest] = False
        in_use = allowed[:, 1:].any(axis=1)
        first = np.argmax(allowed[:, 1:], axis=1) + 1
        last = total - np.argmax(allowed[:, :0:-1], axis=1)
        # An item may be 0 iff its fraction is within ``bound``: a prefix of ``order``.
        zeroable = int(allowed[:, 0].sum())
        must_zero = np.flatnonzero(~in_use[self.order])
        fewest = must_zero[-1] + 1 if len(must_zero) else 0
        most = min(zeroable, len(self.q) - 1)
        for zeros in range(fewest, most + 1):
            used = np.sort(self.order[zeros:])
            ranges = self._ratio_ranges(first[used], last[used], total)
            if ranges is not None:
                low, high = np.zeros(len(self.q), dtype=np.int64), np.zeros(len(self.q), dtype=np.int64)
                low[used], high[used] = ranges
                return low, high
        return None

    def _ratio_ranges(self, first, last, total):
        """Clip item ranges to ``[m, max_ratio * m]`` for the smallest ``m`` whose clipped
        range sums bracket ``total``; None if no ``m`` does."""
        m = np.arange(max(1, math.ceil(first.max() / self.max_ratio)), last.min() + 1)
        top = np.floor(self.max_ratio * m).astype(np.int64)
        low = np.maximum(first[:, None], m)
        high = np.minimum(last[:, None], top)
        fits = (low.sum(axis=0) <= total) & (high.sum(axis=0) >= total)
        if not fits.any():
            return None
        j = int(np.argmax(fits))
        return low[:, j], high[:, j]


def _fill(errors, low, high, total):
    """Weights within ``[low, high]`` summing to ``total``: each item's nearest value, then unit
    steps that each raise an item's error the least."""
    rows = np.arange(len(low))
    weights = np.array([lo + int(np.argmin(row[lo:hi + 1])) for row, lo, hi in zip(errors, low, high)],
                       dtype=np.int64)
    step = 1 if weights.sum() < total else -1
    limit = high if step == 1 else low
    while weights.sum() != total:
        after = np.clip(weights + step, 0, total)
        cost = np.where(weights != limit, errors[rows, after], np.inf)
        weights[int(np.argmin(cost))] += step
    return weights


def apportion(fractions, slots: int) -> list:
    """Whole numbers of ``slots`` per fraction, at least 1 each, summing to ``slots`` (largest remainder).

    For groups whose bucket count stays fixed (:func:`reassign_slots`): every slot is one bucket of
    weight 1, so the split error is at most ``1 / slots``.

    >>> apportion([0.5, 0.3, 0.2], 8)
    [4, 2, 2]
    >>> apportion([0.98, 0.01, 0.01], 8)
    [6, 1, 1]
    """
    p = _normalise(fractions, "fractions")
    if slots < len(p):
        raise InvalidInput(f"{slots} slots for {len(p)} paths")
    extra = slots - len(p)  # one slot each first, the rest by share
    raw = p * extra
    counts = np.floor(raw).astype(int)
    for i in np.argsort(-(raw - counts), kind="stable")[:extra - int(counts.sum())]:
        counts[i] += 1
    return (counts + 1).tolist()


def reassign_slots(previous, counts: dict) -> tuple:
    """Bucket slots (one key each) holding every key ``counts[key]`` times, moving as few as possible from ``previous``.

    A flow hashes onto a slot by its position, so a slot that keeps its key keeps its flows: when a
    path fails, only its own slots (and so only its flows) move, and the survivors' flows stay put.
    With a different number of slots than before, the layout starts afresh.

    >>> reassign_slots((), {"a": 2, "b": 2})
    ('a', 'a', 'b', 'b')
    >>> reassign_slots(("a", "a", "b", "b"), {"a": 3, "c": 1})  # b failed: its slots go to a and c
    ('a', 'a', 'a', 'c')
    >>> reassign_slots(("a", "a", "a", "c"), {"a": 2, "b": 1, "c": 1})  # b is back, a gives one slot up
    ('a', 'a', 'b', 'c')
    """
    n = sum(counts.values())
    if len(previous) != n:
        return tuple(key for key in sorted(counts, key=repr) for _ in range(counts[key]))
    left = dict(counts)
    slots = []
    for key in previous:
        if left.get(key, 0) > 0:
            left[key] -= 1
            slots.append(key)
        else:
            slots.append(None)
    wanting = [key for key in sorted(left, key=repr) for _ in range(left[key])]
    return tuple(key if key is not None else wanting.pop(0) for key in slots)
