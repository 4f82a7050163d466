import itertools
import math
from functools import reduce

import numpy as np
import pytest

from te.errors import InvalidInput
from te.wcmp import quantize_weights, split_error


def brute_force(fractions, budget, max_ratio, keep_positive):
    """(least error, least total among optimal vectors) over every integer vector."""
    f = np.asarray(fractions, dtype=float)
    p = f / f.sum()
    v = np.array([w for w in itertools.product(range(budget + 1), repeat=len(f)) if 0 < sum(w) <= budget])
    ok = np.all(v[:, p == 0] == 0, axis=1)
    if keep_positive:
        ok &= np.all(v[:, p > 0] > 0, axis=1)
    smallest = np.where(v > 0, v, budget + 1).min(axis=1)
    ok &= v.max(axis=1) <= max_ratio * smallest
    v = v[ok]
    totals = v.sum(axis=1)
    errors = np.abs(v / totals[:, None] - p).max(axis=1)
    best = errors.min()
    return best, totals[errors <= best + 1e-12].min()


def test_b4_quarters():
    assert quantize_weights([0.5, 0.3, 0.2], budget=4) == [2, 1, 1]
    assert quantize_weights([0.6, 0.4], budget=4) == [2, 1]  # 2/3 beats 1/2 and 3/4
    assert quantize_weights([0.8, 0.2], budget=4) == [3, 1]


def test_uses_the_budget_only_when_it_helps():
    assert quantize_weights([1, 1, 1], budget=4) == [1, 1, 1]
    assert quantize_weights([2, 6, 4], budget=1000) == [1, 3, 2]
    assert quantize_weights([0.25, 0.75], budget=64) == [1, 3]


def test_zero_fractions_get_weight_zero():
    w = quantize_weights([0.0, 0.5, 0.0, 0.5], budget=8)
    assert w == [0, 1, 0, 1]


def test_keep_positive_controls_tiny_fractions():
    assert quantize_weights([0.9, 0.05, 0.05], budget=4) == [2, 1, 1]
    assert quantize_weights([0.9, 0.05, 0.05], budget=4, keep_positive=False) == [1, 0, 0]


@pytest.mark.parametrize("case", range(40))
def test_optimal_against_brute_force(case):
    rng = np.random.default_rng(case)
    n = int(rng.integers(2, 5))
    fractions = rng.dirichlet(np.full(n, 0.7))
    if case % 5 == 0:
        fractions[0] = 0.0
    budget = int(rng.integers(n, 11))
    max_ratio = [1, 2, 3, 256][case % 4]
    keep_positive = case % 3 != 0
    w = quantize_weights(fractions, budget, max_ratio=max_ratio, keep_positive=keep_positive)
    best, fewest = brute_force(fractions, budget, max_ratio, keep_positive)
    assert split_error(fractions, w) == pytest.approx(best, abs=1e-12)
    assert sum(w) == fewest


@pytest.mark.parametrize("seed", range(4))
def test_constraints_hold_on_larger_budgets(seed):
    rng = np.random.default_rng(100 + seed)
    fractions = rng.dirichlet(np.full(8, 0.3))
    for keep_positive in (True, False):
        w = quantize_weights(fractions, budget=1000, max_ratio=50, keep_positive=keep_positive)
        positive = [x for x in w if x > 0]
        assert 0 < sum(w) <= 1000
        assert max(positive) <= 50 * min(positive)
        assert reduce(math.gcd, w) == 1
        if keep_positive:
            assert all(x > 0 for x in w)
        # never worse than plain rounding at the same total, when rounding meets the constraints
        rounded = np.round(fractions / fractions.sum() * sum(w)).astype(int)
        if rounded.sum() > 0 and rounded.min() > 0 and rounded.max() <= 50 * rounded.min():
            assert split_error(fractions, w) <= split_error(fractions, rounded) + 1e-15


@pytest.mark.parametrize("args, kwargs", [
    (([0.2, 0.3, 0.5], 2), {}),
    (([0.2, -0.1], 4), {}),
    (([0.0, 0.0], 4), {}),
    (([], 4), {}),
    (([0.5, math.nan], 4), {}),
    (([0.5, 0.5], 0), {}),
    (([0.5, 0.5], 2.5), {}),
    (([0.5, 0.5], 4), {"max_ratio": 0.5}),
])
def test_bad_input_is_rejected(args, kwargs):
    with pytest.raises(InvalidInput):
        quantize_weights(*args, **kwargs)


def test_split_error():
    assert split_error([1, 1], [3, 1]) == 0.25
    assert split_error([0.2, 0.8], [0, 1]) == pytest.approx(0.2)
    with pytest.raises(InvalidInput):
        split_error([0.5, 0.5], [1])
    with pytest.raises(InvalidInput):
        split_error([0.5, 0.5], [0, 0])
