import math
import time

import numpy as np
import pytest

from te.errors import InvalidInput
from te.flowsim import UnknownArc, max_min_rates


def assert_max_min_fair(paths, capacity, caps, rates, loads, rtol=1e-9):
    """Feasibility plus the max-min optimality certificate: every flow is at its cap or crosses a
    saturated arc on which no flow gets more than it does."""
    caps = np.full(len(paths), np.inf) if caps is None else np.asarray(caps, dtype=float)
    on_arc = {arc: [] for arc in capacity}
    for f, path in enumerate(paths):
        for arc in zip(path[:-1], path[1:]):
            on_arc[arc].append(f)
    assert np.all(rates >= 0) and np.all(rates <= caps * (1 + rtol))
    for arc, flows in on_arc.items():
        assert loads[arc] == pytest.approx(sum(rates[f] for f in flows), rel=rtol, abs=1e-12)
        assert loads[arc] <= capacity[arc] * (1 + rtol) + 1e-12
    for f, path in enumerate(paths):
        if rates[f] >= caps[f] * (1 - rtol):
            continue
        bottlenecks = [arc for arc in zip(path[:-1], path[1:])
                       if loads[arc] >= capacity[arc] * (1 - rtol)
                       and rates[f] >= max(rates[g] for g in on_arc[arc]) * (1 - rtol)]
        assert bottlenecks, f"flow {f} ({rates[f]}) has no bottleneck and is below its cap {caps[f]}"


def test_classic_three_flows_on_two_links():
    # f0 crosses both links; the 4 bit/s link is its bottleneck, shared equally with f2,
    # and f1 takes the rest of the 10 bit/s link.
    paths = [("a", "b", "c"), ("a", "b"), ("b", "c")]
    capacity = {("a", "b"): 10.0, ("b", "c"): 4.0}
    rates, loads = max_min_rates(paths, capacity)
    assert rates.tolist() == [2.0, 8.0, 2.0]
    assert loads == {("a", "b"): 10.0, ("b", "c"): 4.0}


def test_flows_on_the_same_path_share_it_equally():
    rates, loads = max_min_rates([("a", "b")] * 4, {("a", "b"): 1e9, ("b", "a"): 1e9})
    assert rates.tolist() == [2.5e8] * 4
    assert loads == {("a", "b"): 1e9, ("b", "a"): 0.0}


def test_caps_free_capacity_for_the_other_flows():
    paths = [("a", "b", "c"), ("a", "b"), ("b", "c")]
    rates, _ = max_min_rates(paths, {("a", "b"): 10.0, ("b", "c"): 4.0}, caps=[1.0, 3.0, math.inf])
    assert rates.tolist() == [1.0, 3.0, 3.0]


def test_one_node_path_uses_no_link_and_gets_its_cap():
    rates, loads = max_min_rates([("a",), ("a",), ("a", "b")], {("a", "b"): 1.0}, caps=[2.0, math.inf, 5.0])
    assert rates.tolist() == [2.0, math.inf, 1.0]
    assert loads == {("a", "b"): 1.0}


def test_zero_capacity_and_unlimited_links():
    capacity = {("a", "b"): 0.0, ("b", "c"): math.inf, ("c", "d"): 3.0}
    rates, loads = max_min_rates([("a", "b", "c"), ("b", "c"), ("b", "c", "d")], capacity, caps=[1, 7, 9])
    assert rates.tolist() == [0.0, 7.0, 3.0]
    assert loads == {("a", "b"): 0.0, ("b", "c"): 10.0, ("c", "d"): 3.0}
    assert max_min_rates([("b", "c")], capacity)[0].tolist() == [math.inf]


def test_a_flow_crossing_an_arc_twice_counts_twice():
    capacity = {("a", "b"): 3.0, ("b", "a"): 10.0}
    rates, loads = max_min_rates([("a", "b", "a", "b"), ("a", "b")], capacity)
    assert rates.tolist() == [1.0, 1.0]
    assert loads[("a", "b")] == 3.0


def test_no_flows():
    rates, loads = max_min_rates([], {("a", "b"): 1.0})
    assert rates.shape == (0,) and loads == {("a", "b"): 0.0}


def test_unknown_arc_is_a_key_error_naming_the_arc_and_flow():
    with pytest.raises(UnknownArc) as info:
        max_min_rates([("a", "b"), ("a", "c")], {("a", "b"): 1.0})
    assert isinstance(info.value, KeyError) and isinstance(info.value, InvalidInput)
    assert str(info.value) == "flow 1: arc ('a', 'c') has no capacity"


@pytest.mark.parametrize("capacity, caps", [({("a", "b"): -1.0}, None), ({("a", "b"): math.nan}, None),
                                            ({("a", "b"): 1.0}, [1.0, 2.0]), ({("a", "b"): 1.0}, [-1.0])])
def test_bad_capacities_or_caps_are_invalid_input(capacity, caps):
    with pytest.raises(InvalidInput):
        max_min_rates([("a", "b")], capacity, caps=caps)


def _layered_instance(rng, layers, width, n_flows, capped_share):
    """Flows through a layered graph with full bipartite links between consecutive layers."""
    capacity = {}
    for layer in range(layers - 1):
        for i in range(width):
            for j in range(width):
                capacity[(f"l{layer}n{i}", f"l{layer + 1}n{j}")] = float(rng.choice([1e9, 1e10, 4e10]))
    starts = rng.integers(0, layers - 1, size=n_flows)
    lengths = rng.integers(1, layers, size=n_flows)
    picks = rng.integers(0, width, size=(n_flows, layers))
    paths = [tuple(f"l{layer}n{picks[f, layer]}" for layer in range(s, min(s + n, layers - 1) + 1))
             for f, (s, n) in enumerate(zip(starts, lengths))]
    caps = np.where(rng.random(n_flows) < capped_share, rng.exponential(3e8, n_flows), np.inf)
    return paths, capacity, caps


@pytest.mark.parametrize("seed", range(5))
def test_random_instances_are_feasible_and_max_min_fair(seed):
    rng = np.random.default_rng(seed)
    paths, capacity, caps = _layered_instance(rng, layers=4, width=4, n_flows=300, capped_share=0.4)
    rates, loads = max_min_rates(paths, capacity, caps)
    assert_max_min_fair(paths, capacity, caps, rates, loads)


def test_40k_flows_over_2k_arcs_in_about_a_second():
    rng = np.random.default_rng(7)
    paths, capacity, caps = _layered_instance(rng, layers=6, width=20, n_flows=40_000, capped_share=0.5)
    assert len(capacity) == 2000
    start = time.perf_counter()
    rates, loads = max_min_rates(paths, capacity, caps)
    elapsed = time.perf_counter() - start
    assert elapsed < 5.0  # about 0.3 s on the 2-core CI machine; generous for noisy neighbours
    load = np.array([loads[a] for a in capacity])
    assert np.all(load <= np.array(list(capacity.values())) * (1 + 1e-9))
    assert np.all(rates <= caps)
