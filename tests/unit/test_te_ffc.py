"""Forward Fault Correction (``te.ffc``): hand-computed cases, brute-force failure checks, independent LPs.

The independent formulation (:func:`independent_lp`) is written here from the definition, not from
the module's kill sets: one row per demand and per set of at most ``k`` failed links of the whole
graph (links found from the arcs here), solved with ``scipy.optimize.linprog``. Max-min allocations
are checked against the definition too (:func:`assert_max_min`): no demand can get more without a
demand at a lower or equal weighted level, or of a higher class, getting less.
"""
import itertools

import networkx as nx
import numpy as np
import pytest
from scipy.optimize import linprog

from te.engine import build
from te.errors import InvalidInput
from te.ffc import check_failures, check_ffc, failure_sets, ffc_solve, kill_sets, links
from te.model import Demand
from te.paths import Candidates, candidate_paths
from te.validate import check_solution


# ----------------------------------------------------------------------------- helpers

def digraph(edges, capacity=10.0, both=False):
    g = nx.DiGraph()
    for e in edges:
        u, v, cap = e if len(e) == 3 else (*e, capacity)
        g.add_edge(u, v, capacity=float(cap), weight=1.0)
        if both:
            g.add_edge(v, u, capacity=float(cap), weight=1.0)
    return g


def parallel(n_paths, capacity=10.0):
    """``s`` to ``t`` over ``n_paths`` disjoint two-hop paths."""
    return digraph([e for i in range(n_paths) for e in ((("s", f"m{i}"), (f"m{i}", "t")))], capacity)


def shared_case():
    """x: s-a-t, s-b-t; y: u-a-t, u-c-t; every link 10; x and y share a-t."""
    g = digraph([("s", "a"), ("a", "t"), ("s", "b"), ("b", "t"), ("u", "a"), ("u", "c"), ("c", "t")])
    return g, [[("s", "a", "t"), ("s", "b", "t")], [("u", "a", "t"), ("u", "c", "t")]]


def shared_cands(x=Demand("x", "s", "t", 30.0), y=Demand("y", "u", "t", 30.0)):
    g, paths = shared_case()
    return Candidates.from_paths(g, [x, y], paths)


def random_case(seed, k_paths=4, method="ksp"):
    """6-8 nodes, a connected random graph (both directions, capacities 1-9), 3-6 demands."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(6, 9))
    base = nx.compose(nx.gnm_random_graph(n, int(rng.integers(n, 2 * n)), seed=seed), nx.path_graph(n))
    g = nx.DiGraph()
    for u, v in sorted(base.edges):
        cap = float(rng.integers(1, 10))
        g.add_edge(str(u), str(v), capacity=cap, weight=1.0)
        g.add_edge(str(v), str(u), capacity=cap, weight=1.0)
    pairs = [(u, v) for u in g for v in g if u != v]
    picks = rng.choice(len(pairs), size=int(rng.integers(3, 7)), replace=False)
    demands = [Demand(f"d{j}", *pairs[p], float(rng.integers(1, 15)), weight=float(rng.choice([1.0, 2.0])),
                      priority=int(rng.integers(0, 2)) if seed % 3 == 0 else 0)
               for j, p in enumerate(picks)]
    return g, candidate_paths(g, demands, k=k_paths, method=method)


def graph_links(cands):
    """Undirected links (frozensets) and, per path, the set of links it crosses (independent of te.ffc)."""
    every = sorted({frozenset(a) for a in cands.arcs}, key=sorted)
    on = [{frozenset(a) for a in zip(p[:-1], p[1:])} for p in cands.paths]
    return every, on


def independent_lp(cands, k, protect=None, fixed_lower=None, maximise=None):
    """The FFC LP from its definition over every failure set of the graph: returns the optimum and (a, b).

    Variables ``a`` (paths) then ``b`` (demands). ``maximise``: a demand index (else the sum of b);
    ``fixed_lower``: lower bounds of b.
    """
    n_p, n_d = len(cands.paths), len(cands.demands)
    protect = np.ones(n_d, bool) if protect is None else np.asarray(protect)
    every, on = graph_links(cands)
    rows, rhs = [], []
    for e, arc in enumerate(cands.arcs):
        row = np.zeros(n_p + n_d)
        for p, path in enumerate(cands.paths):
            if arc in set(zip(path[:-1], path[1:])):
                row[p] = 1.0
        rows.append(row)
        rhs.append(cands.capacity_bps[e])
    for i in range(n_d):
        mine = range(cands.path_ptr[i], cands.path_ptr[i + 1])
        cases = [()] if not protect[i] else [f for size in range(k + 1) for f in itertools.combinations(every, size)]
        for failed in cases:
            row = np.zeros(n_p + n_d)
            row[n_p + i] = 1.0
            for p in mine:
                if not on[p] & set(failed):
                    row[p] = -1.0
            rows.append(row)
            rhs.append(0.0)
    requests = np.array([d.rate_bps for d in cands.demands])
    lower = np.zeros(n_d) if fixed_lower is None else fixed_lower
    bounds = [(0, None)] * n_p + list(zip(lower, requests))
    c = np.zeros(n_p + n_d)
    if maximise is None:
        c[n_p:] = -1.0
    else:
        c[n_p + maximise] = -1.0
    res = linprog(c, A_ub=np.array(rows), b_ub=np.array(rhs), bounds=bounds, method="highs")
    assert res.status == 0, res.message
    return -res.fun, res.x[:n_p], res.x[n_p:]


def assert_max_min(cands, sol, k, protect=None, rtol=1e-6):
    """No demand can get more while every demand of a higher class, or of its class at a lower or equal
    weighted level, keeps its rate (the definition of weighted max-min fairness with priorities)."""
    b = sol.allocated_bps
    w = np.array([d.weight for d in cands.demands])
    prio = np.array([d.priority for d in cands.demands])
    top = cands.capacity_bps.max()
    for i, d in enumerate(cands.demands):
        if b[i] >= d.rate_bps - rtol * top:
            continue
        hold = (prio > prio[i]) | ((prio == prio[i]) & (b / w <= b[i] / w[i] + rtol * top))
        hold[i] = False
        # held exactly (up to 1e-9 of each): slack given to many demands could add up for demand i
        lower = np.where(hold, b * (1 - 1e-9), 0.0)
        best, _, _ = independent_lp(cands, k, protect, fixed_lower=lower, maximise=i)
        assert best <= b[i] + rtol * top, f"demand {d.id} could get {best} > {b[i]}"


def assert_consistent(cands, sol):
    """Normal-case traffic within capacities and requests, proportional to the tunnel allocations."""
    check_solution(sol)
    a = np.array(sol.stats["tunnel_bps"])
    assert a.shape == (len(cands.paths),) and (a >= 0).all()
    assert (cands.path_arc.T @ a <= cands.capacity_bps * (1 + 1e-12)).all()
    total = np.bincount(cands.path_demand, a, minlength=len(cands.demands))
    b = sol.allocated_bps
    with np.errstate(invalid="ignore", divide="ignore"):
        expect = a * np.where(total > 0, b / total, 0.0)[cands.path_demand]
    np.testing.assert_allclose(sol.path_rate_bps, expect, rtol=1e-12, atol=1e-12)
    assert (b <= total * (1 + 1e-12)).all()


# ----------------------------------------------------------------------------- hand-computed

@pytest.mark.parametrize("objective", ["max-throughput", "max-min"])
@pytest.mark.parametrize("n_paths, k, expected", [(2, 1, 10.0), (2, 0, 20.0), (1, 1, 0.0), (1, 0, 10.0),
                                                   (3, 1, 20.0), (3, 2, 10.0), (3, 3, 0.0), (3, 0, 30.0)])
def test_one_demand_over_disjoint_paths(objective, n_paths, k, expected):
    cands = candidate_paths(parallel(n_paths), [Demand("d", "s", "t", 100.0)], k=n_paths)
    sol = ffc_solve(cands, k, objective)
    assert sol.allocated_bps[0] == pytest.approx(expected, abs=1e-9)
    assert sol.status == "optimal" and sol.stats["k"] == k and sol.stats["lps"] >= 1
    assert check_ffc(cands, sol, k) == []
    assert_consistent(cands, sol)
    if expected and k < n_paths:
        # each tunnel reserves what the others must cover: b / (n - k)
        np.testing.assert_allclose(sol.stats["tunnel_bps"], expected / (n_paths - k), rtol=1e-9)
        np.testing.assert_allclose(sol.path_rate_bps, expected / n_paths, rtol=1e-9)


def test_the_plain_optimum_is_not_protected_and_ffc_is():
    cands = candidate_paths(parallel(2), [Demand("d", "s", "t", 100.0)], k=2)
    plain = build(cands, "max-throughput").solve()
    assert plain.total_allocated_bps == pytest.approx(20.0)
    found = check_ffc(cands, plain, 1)
    assert found and all(v.load_bps == pytest.approx(20.0) and v.capacity_bps == 10.0 for v in found)
    assert {v.failed for v in found} == {((f"m{i}", end),) for i in range(2) for end in "st"}
    assert check_ffc(cands, plain, 0) == []


def test_two_demands_sharing_a_link():
    cands = shared_cands()
    # k=1: b_x <= a_x1, b_y <= a_y1 and a_x1 + a_y1 <= 10 on a-t
    sol = ffc_solve(cands, 1, "max-throughput")
    assert sol.total_allocated_bps == pytest.approx(10.0)
    assert check_ffc(cands, sol, 1) == []
    assert ffc_solve(cands, 1, "max-min").allocated_bps == pytest.approx([5.0, 5.0])
    # unprotected: 10 on each private link, and a-t shared
    assert ffc_solve(cands, 0, "max-throughput").total_allocated_bps == pytest.approx(30.0)
    assert ffc_solve(cands, 0, "max-min").allocated_bps == pytest.approx([15.0, 15.0])
    # k=2 cuts both off (s-a and s-b, or u-a and u-c)
    assert ffc_solve(cands, 2, "max-min").allocated_bps == pytest.approx([0.0, 0.0], abs=1e-9)


def test_max_min_with_weights_caps_and_priorities():
    weighted = shared_cands(y=Demand("y", "u", "t", 30.0, weight=3.0))
    assert ffc_solve(weighted, 1, "max-min").allocated_bps == pytest.approx([2.5, 7.5])
    capped = shared_cands(x=Demand("x", "s", "t", 2.0))
    assert ffc_solve(capped, 1, "max-min").allocated_bps == pytest.approx([2.0, 8.0])
    first = shared_cands(y=Demand("y", "u", "t", 30.0, priority=1))
    sol = ffc_solve(first, 1, "max-min")
    assert sol.allocated_bps == pytest.approx([0.0, 10.0], abs=1e-9)
    assert check_ffc(first, sol, 1) == []


def test_protecting_a_subset():
    cands = shared_cands()
    # y unprotected: b_y <= a_y1 + a_y2; x protected: b_x <= a_x1 and b_x <= a_x2
    sol = ffc_solve(cands, 1, "max-min", protect=[True, False])
    assert sol.allocated_bps == pytest.approx([10.0, 10.0])
    assert sol.stats["protected"] == 1
    assert check_ffc(cands, sol, 1, protect=[True, False]) == []
    assert check_ffc(cands, sol, 1) != []  # y is not protected: re-spread, it would overload
    assert ffc_solve(cands, 1, "max-throughput", protect=[True, False]).total_allocated_bps == pytest.approx(20.0)
    assert ffc_solve(cands, 1, "max-throughput", protect=[False, False]).total_allocated_bps == pytest.approx(30.0)
    assert ffc_solve(cands, 1, "max-min", protect=np.array([1, 0])).allocated_bps == pytest.approx([10.0, 10.0])


def test_failures_cut_both_directions_of_a_link():
    # both demands cross link a-b, in opposite directions: one failure of that link kills both
    g = digraph([("a", "b"), ("b", "c"), ("a", "c")], both=True)
    cands = Candidates.from_paths(g, [Demand("x", "a", "b", 9.0), Demand("y", "b", "a", 9.0)],
                                  [[("a", "b"), ("a", "c", "b")], [("b", "a"), ("b", "c", "a")]])
    names, arc_link = links(cands)
    assert names == (("a", "b"), ("a", "c"), ("b", "c")) and len(set(arc_link.tolist())) == 3
    assert kill_sets(cands, 1) == [[(0,), (1,)], [(2,), (3,)]]
    sol = ffc_solve(cands, 1, "max-throughput")
    assert sol.allocated_bps == pytest.approx([9.0, 9.0])
    assert check_ffc(cands, sol, 1) == []


def test_kill_sets_keep_only_maximal_ones():
    # paths 0 and 1 share s-a; path 2 is apart: k=1 {0,1} and {2}; k=2 all three
    g = digraph([("s", "a"), ("a", "t"), ("a", "b"), ("b", "t"), ("s", "c"), ("c", "t")])
    cands = Candidates.from_paths(g, [Demand("d", "s", "t", 30.0)],
                                  [[("s", "a", "t"), ("s", "a", "b", "t"), ("s", "c", "t")]])
    assert kill_sets(cands, 0) == [[]]
    assert kill_sets(cands, 1) == [[(0, 1), (2,)]]
    assert kill_sets(cands, 2) == [[(0, 1, 2)]]
    assert kill_sets(cands, 1, protect=[False]) == [[]]
    assert ffc_solve(cands, 1, "max-throughput").allocated_bps == pytest.approx([10.0])


def test_failure_sets_and_validation():
    cands = candidate_paths(parallel(2), [Demand("d", "s", "t", 1.0)], k=2)
    sets = list(failure_sets(cands, 2))
    assert sets[0] == () and len(sets) == 1 + 4 + 6
    for bad in (-1, 4, 1.5, True, "1", None):
        with pytest.raises(InvalidInput, match=r"^protect-failures must be 0, 1, 2 or 3"):
            ffc_solve(cands, bad)
    assert [check_failures(k) for k in (0, 1, 2, 3, np.int64(2))] == [0, 1, 2, 3, 2]
    with pytest.raises(InvalidInput, match="unknown FFC objective 'min-mlu'"):
        ffc_solve(cands, 1, "min-mlu")
    for bad in ([True, False], [2], "yes"):
        with pytest.raises(InvalidInput, match="protect must be one bool per demand"):
            ffc_solve(cands, 1, protect=bad)
    with pytest.raises(InvalidInput, match="expected 2 path rates"):
        check_ffc(cands, [1.0], 1)


def test_no_demands():
    cands = candidate_paths(parallel(2), [], k=2)
    sol = ffc_solve(cands, 2, "max-min")
    assert sol.total_allocated_bps == 0.0 and sol.stats["tunnel_bps"] == [] and check_ffc(cands, sol, 2) == []


def test_zero_requests_get_nothing():
    cands = candidate_paths(parallel(2), [Demand("z", "s", "t", 0.0), Demand("d", "s", "t", 50.0)], k=2)
    for objective in ("max-min", "max-throughput"):
        sol = ffc_solve(cands, 1, objective)
        assert sol.allocated_bps == pytest.approx([0.0, 10.0], abs=1e-9)


# ----------------------------------------------------------------------------- random, against brute force

RANDOM = [(seed, k, method) for seed in range(5) for k in (1, 2) for method in ("ksp", "disjoint")]


@pytest.mark.parametrize("seed, k, method", RANDOM)
def test_random_kill_sets_are_the_maximal_sets_any_failure_kills(seed, k, method):
    _, cands = random_case(seed, method=method)
    every, on = graph_links(cands)
    found = kill_sets(cands, k)
    for i in range(len(cands.demands)):
        mine = range(cands.path_ptr[i], cands.path_ptr[i + 1])
        killed = {frozenset(p for p in mine if on[p] & set(f)) for size in range(1, k + 1)
                  for f in itertools.combinations(every, size)} - {frozenset()}
        maximal = {s for s in killed if not any(s < other for other in killed)}
        assert {frozenset(s) for s in found[i]} == maximal


@pytest.mark.parametrize("seed, k, method", RANDOM)
def test_random_max_throughput_is_protected_and_optimal(seed, k, method):
    _, cands = random_case(seed, method=method)
    sol = ffc_solve(cands, k, "max-throughput")
    assert check_ffc(cands, sol, k) == []
    assert_consistent(cands, sol)
    best, _, _ = independent_lp(cands, k)
    top = cands.capacity_bps.max()
    assert sol.total_allocated_bps == pytest.approx(best, abs=1e-6 * top)
    # protecting a subset lies between protecting all and none
    protect = np.arange(len(cands.demands)) % 2 == 0
    part = ffc_solve(cands, k, "max-throughput", protect=protect)
    assert check_ffc(cands, part, k, protect=protect) == []
    assert part.total_allocated_bps == pytest.approx(independent_lp(cands, k, protect)[0], abs=1e-6 * top)
    assert best - 1e-6 * top <= part.total_allocated_bps


@pytest.mark.parametrize("seed, k, method", RANDOM)
def test_random_max_min_is_protected_and_max_min_fair(seed, k, method):
    _, cands = random_case(seed, method=method)
    sol = ffc_solve(cands, k, "max-min")
    assert check_ffc(cands, sol, k) == []
    assert_consistent(cands, sol)
    assert_max_min(cands, sol, k)


@pytest.mark.parametrize("seed, method", [(seed, method) for seed in range(6) for method in ("ksp", "disjoint")])
def test_random_k0_is_the_plain_objective_over_the_same_paths(seed, method):
    _, cands = random_case(seed, method=method)
    top = cands.capacity_bps.max()
    plain = build(cands, "max-throughput").solve()
    assert ffc_solve(cands, 0, "max-throughput").total_allocated_bps == pytest.approx(plain.total_allocated_bps,
                                                                                       abs=1e-6 * top)
    fair = ffc_solve(cands, 0, "max-min")
    np.testing.assert_allclose(fair.allocated_bps, build(cands, "max-min").solve().allocated_bps, atol=1e-6 * top)
    assert_consistent(cands, fair)


def test_random_protection_costs_throughput():
    _, cands = random_case(11, method="ksp")
    totals = [ffc_solve(cands, k, "max-throughput").total_allocated_bps for k in (0, 1, 2, 3)]
    assert all(a >= b - 1e-9 for a, b in zip(totals, totals[1:]))


def test_the_max_min_check_catches_an_unfair_allocation():
    """:func:`assert_max_min` is not vacuous: equal shares fail it when the weights are 1 and 3."""
    equal = ffc_solve(shared_cands(), 1, "max-min")
    weighted = shared_cands(y=Demand("y", "u", "t", 30.0, weight=3.0))
    with pytest.raises(AssertionError, match="demand y could get"):
        assert_max_min(weighted, equal, 1)
    assert_max_min(weighted, ffc_solve(weighted, 1, "max-min"), 1)


def test_cut_off_demands_cost_no_level_lp():
    """Demands one failure cuts off (a single tunnel) get 0 at once, not one level LP each."""
    g = parallel(2)
    demands = [Demand(f"one{j}", "s", "t", 5.0) for j in range(20)] + [Demand("two", "s", "t", 50.0)]
    paths = [[("s", "m0", "t")]] * 20 + [[("s", "m0", "t"), ("s", "m1", "t")]]
    cands = Candidates.from_paths(g, demands, paths)
    sol = ffc_solve(cands, 1, "max-min")
    assert sol.allocated_bps == pytest.approx([0.0] * 20 + [10.0], abs=1e-9)
    assert sol.stats["lps"] <= 3
    assert ffc_solve(cands, 0, "max-min").allocated_bps == pytest.approx([0.5] * 20 + [10.0])


def test_an_arc_every_tunnel_crosses_counts_the_granted_rate_not_the_reservations():
    """A host's access link carries the demand's rate whatever its split: two disjoint 10-unit tunnels behind a
    9-unit access link protect 9 against one failure (counting reservations there would give 4.5)."""
    import networkx as nx

    from te.ffc import check_ffc, ffc_solve
    from te.model import Demand
    from te.paths import Candidates

    g = nx.DiGraph()
    for u, v, c in (("h", "s", 9.0), ("s", "a", 10.0), ("a", "t", 10.0), ("s", "b", 10.0), ("b", "t", 10.0)):
        g.add_edge(u, v, capacity=c)
    cands = Candidates.from_paths(g, [Demand("d", "h", "t", 20.0)], [[("h", "s", "a", "t"), ("h", "s", "b", "t")]])
    fixed = {("h", "s")}
    for objective in ("max-throughput", "max-min"):
        sol = ffc_solve(cands, 1, objective, fixed=fixed)
        assert sol.allocated_bps.tolist() == pytest.approx([9.0])
        assert check_ffc(cands, sol, 1, fixed=fixed) == []
