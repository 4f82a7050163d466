"""``alpha-fair``: hand-computed optima, an independent conic formulation (cvxpy + Clarabel), the limits.

The independent formulation sums each demand's path rates in cvxpy and lets Clarabel handle the
utility (power cones, or the exponential cone for the logarithm). Clarabel stops on a tolerance
of the *total* utility, so it resolves a demand only as far as that demand weighs in the sum:
for large alpha a demand far above the poorest one hardly does (its utility flux
``w x**(1 - alpha)`` is many decades smaller). The comparison therefore goes tier by tier
(:func:`assert_matches_clarabel`): the demands Clarabel resolves are compared, then held at te's
rates while Clarabel solves again for the rest.
"""
import math
import warnings
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp

import te
from te.alphafair import MAX_ALPHA, _build, build_alpha_fair, certificate, utility
from te.errors import InvalidInput
from te.model import Demand
from te.paths import candidate_paths
from te.validate import check_solution

cp = pytest.importorskip("cvxpy")

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
B4 = DATA / "b4"
needs_b4 = pytest.mark.skipif(not (B4 / "teal_B4.json").is_file(), reason=f"B4 data not found in {B4}")
ALPHAS = (0.5, 1.0, 2.0, 8.0)


def _any(cands, alpha):
    """The public builder up to MAX_ALPHA; beyond it (refused there) the unchecked one, to measure the method."""
    return build_alpha_fair(cands, alpha) if alpha <= MAX_ALPHA else _build(cands, alpha)
KKT = 1e-6  # the largest KKT residual solve() returns


# ----------------------------------------------------------------------------- helpers

def digraph(edges, capacity=1.0):
    g = nx.DiGraph()
    for e in edges:
        u, v, cap = e if len(e) == 3 else (*e, capacity)
        g.add_edge(u, v, capacity=float(cap), weight=1.0)
    return g


def random_case(seed, nodes=8, n_demands=12):
    """A connected random graph, symmetric capacities 1-9, random requests 1-7 and weights 1-2."""
    rng = np.random.default_rng(seed)
    g = nx.compose(nx.gnm_random_graph(nodes, 14, seed=seed), nx.path_graph(nodes))
    graph = nx.DiGraph()
    for u, v in sorted(g.edges):
        cap = float(rng.integers(1, 10))
        graph.add_edge(str(u), str(v), capacity=cap, weight=1.0)
        graph.add_edge(str(v), str(u), capacity=cap, weight=1.0)
    pairs = [(u, v) for u in graph for v in graph if u != v]
    picks = rng.choice(len(pairs), n_demands, replace=False)
    return graph, [Demand(f"d{i}", *pairs[p], float(rng.integers(1, 8)), weight=float(rng.integers(1, 3)))
                   for i, p in enumerate(picks)]


def b4_case(load=2.0, capacity=1e10, tiny=(), tiny_bps=1e3):
    """B4 with every link at ``capacity``, Teal matrix 0 in bit/s times ``load``; ``tiny`` pairs at ``tiny_bps``."""
    graph = te.read_topology(B4 / "teal_B4.json")
    for u, v in graph.edges:
        graph[u][v]["capacity"] = capacity
    rows = [line.split() for line in (B4 / "teal_B4_real_tms_converted.txt").read_text().splitlines()
            if line.strip() and not line.startswith("#")]
    tm = np.array(rows[0], dtype=float).reshape(12, 12) * capacity / 5000 * load
    return graph, [Demand(f"{i}->{j}", str(i), str(j), tiny_bps if (i, j) in tiny else float(tm[i, j]))
                   for i in range(12) for j in range(12) if i != j]


def clarabel(cands, alpha, unit, at_least=None):
    """The alpha-fair optimum by cvxpy + Clarabel; ``unit`` (bit/s per demand) only scales the problem.

    ``at_least``: demand -> rate each listed demand keeps (it leaves the utility sum and only
    constrains the others), so that the next tier of demands can be resolved on its own scale.
    """
    at_least = at_least or {}
    requests = np.array([d.rate_bps for d in cands.demands])
    weights = np.array([d.weight for d in cands.demands])
    n, n_paths = len(requests), len(cands.paths)
    f = cp.Variable(n_paths, nonneg=True)  # each path's rate in its demand's unit
    path_unit = unit[cands.path_demand]
    totals = sp.csr_matrix((np.ones(n_paths), (cands.path_demand, np.arange(n_paths))), shape=(n, n_paths))
    loads = sp.diags(1 / cands.capacity_bps) @ cands.path_arc.T @ sp.diags(path_unit)
    x = totals @ f
    constraints = [loads @ f <= 1, x <= requests / unit]
    if at_least:
        kept = np.array(sorted(at_least))
        constraints.append(x[kept] >= np.array([at_least[i] for i in kept]) / unit[kept])
    free = np.array([i for i in np.flatnonzero(requests > 0) if i not in at_least])
    log_w = np.log(weights[free]) + (1 - alpha) * np.log(unit[free])
    w = np.exp(log_w - log_w.max())
    if alpha == 0:
        goal = w @ x[free]
    elif alpha == 1:
        goal = w @ cp.log(x[free])
    elif alpha < 1:
        goal = w @ cp.power(x[free], 1 - alpha) / (1 - alpha)
    else:
        goal = -(w @ cp.power(x[free], 1 - alpha)) / (alpha - 1)
    problem = cp.Problem(cp.Maximize(goal), constraints)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "solution may be inaccurate": judged below on what it resolves
        problem.solve(solver=cp.CLARABEL, tol_gap_abs=1e-10, tol_gap_rel=1e-10, tol_feas=1e-10, max_iter=500)
    assert problem.status in ("optimal", "optimal_inaccurate"), problem.status
    return totals @ (f.value * path_unit)


def assert_matches_clarabel(cands, alpha, rtol, deepest=0.0):
    """te's allocation against Clarabel's, tier by tier.

    Clarabel resolves the demands whose utility flux is within 1e-3 of the largest; those are
    compared, then kept at (1 - 1e-7 of) te's rates while Clarabel solves for the others, whose
    largest flux now leads, and so on until every demand whose flux is at least ``deepest`` of the
    largest has been compared.
    """
    sol = _any(cands, alpha).solve()
    x = sol.allocated_bps
    weights = np.array([d.weight for d in cands.demands])
    if alpha == 0:  # an LP: the optimum is a total, the allocation need not be unique
        ref = clarabel(cands, 0.0, np.array([max(d.rate_bps, 1.0) for d in cands.demands]))
        assert weights @ x == pytest.approx(weights @ ref, rel=1e-6)
        return
    unit = np.maximum(x, 1e-6 * x.max())
    flux = weights * unit ** (1 - alpha)
    kept = {i: x[i] * (1 - 1e-7) for i in np.flatnonzero((x == 0) | (flux < deepest * flux.max()))}
    while len(kept) < len(x):
        ref = clarabel(cands, alpha, unit, kept)
        free = np.array([i for i in range(len(x)) if i not in kept])
        tier = free[flux[free] >= 1e-3 * flux[free].max()]
        off = np.abs(x[tier] - ref[tier]) / x[tier]
        assert off.max() < rtol, (alpha, tier[off >= rtol], off.max())
        kept.update({i: x[i] * (1 - 1e-7) for i in tier})
    assert sol.stats["kkt_residual"] <= KKT


def line_network():
    """One flow over two unit links, one flow on each link."""
    g = digraph([("a", "b"), ("b", "c")])
    return g, [Demand("long", "a", "c", 10.0), Demand("ab", "a", "b", 10.0), Demand("bc", "b", "c", 10.0)]


# ----------------------------------------------------------------------------- hand-computed

@pytest.mark.parametrize("alpha", [0.5, 1.0, 2.0, 4.0, 8.0])
def test_line_network(alpha):
    """The long flow pays both links: x_long**-alpha = 2 x_short**-alpha, so x_long = 1 / (1 + 2**(1/alpha)).

    alpha = 1: 1/3 and 2/3 (proportional fairness); alpha = 2: 1/(1 + sqrt 2) = sqrt 2 - 1.
    """
    graph, demands = line_network()
    sol = _any(candidate_paths(graph, demands), alpha).solve()
    long_rate = 1 / (1 + 2 ** (1 / alpha))
    assert sol.allocated_bps == pytest.approx([long_rate, 1 - long_rate, 1 - long_rate], rel=1e-7)
    if alpha == 1.0:
        assert sol.allocated_bps == pytest.approx([1 / 3, 2 / 3, 2 / 3], rel=1e-7)
    if alpha == 2.0:
        assert sol.allocated_bps[0] == pytest.approx(math.sqrt(2) - 1, rel=1e-7)
    check_solution(sol, graph)


@pytest.mark.parametrize("alpha", [0.5, 1.0, 2.0])
def test_weights_share_one_link(alpha):
    """On one link of capacity 7 the shares go as w_i**(1/alpha)."""
    graph = digraph([("a", "b", 7.0)])
    weights = [1.0, 2.0, 4.0]
    demands = [Demand(f"d{i}", "a", "b", 100.0, weight=w) for i, w in enumerate(weights)]
    sol = _any(candidate_paths(graph, demands), alpha).solve()
    shares = np.array(weights) ** (1 / alpha)
    assert sol.allocated_bps == pytest.approx(7.0 * shares / shares.sum(), rel=1e-7)


def test_requests_cap_and_zero_requests():
    """A demand asking less than its share gets its request; the rest share what is left; 0 gets 0."""
    graph = digraph([("a", "b", 10.0)])
    demands = [Demand("small", "a", "b", 1.0), Demand("x", "a", "b", 50.0), Demand("y", "a", "b", 50.0),
               Demand("none", "a", "b", 0.0)]
    for alpha in (0.5, 1.0, 8.0):
        sol = _any(candidate_paths(graph, demands), alpha).solve()
        assert sol.allocated_bps == pytest.approx([1.0, 4.5, 4.5, 0.0], rel=1e-7)
        assert sol.path_rate_bps[-1] == 0.0


def test_multipath_proportional_fairness():
    """A demand splits over two routes when both cost it the same.

    Links a-b (capacity 0.5), a-c and c-b (1 each); X goes a->b (direct, or via c) with weight 3,
    Y a->c and Z c->b. With logarithms: a-b is full, X sends x2 via c, Y and Z get 1 - x2 each and
    X's two routes have equal price: 3 / (0.5 + x2) = 2 / (1 - x2), so x2 = 0.4: X 0.9, Y and Z 0.6.
    """
    graph = digraph([("a", "b", 0.5), ("a", "c", 1.0), ("c", "b", 1.0)])
    demands = [Demand("X", "a", "b", 5.0, weight=3.0), Demand("Y", "a", "c", 5.0), Demand("Z", "c", "b", 5.0)]
    sol = build_alpha_fair(candidate_paths(graph, demands, k=2), 1.0).solve()
    assert sol.allocated_bps == pytest.approx([0.9, 0.6, 0.6], rel=1e-7)
    assert [rate for _, rate in sol.routes(0)] == pytest.approx([0.5, 0.4], rel=1e-7)


# ----------------------------------------------------------------------------- independent formulation

@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("alpha", (0.0, *ALPHAS))
def test_random_graphs_match_clarabel(seed, alpha):
    graph, demands = random_case(seed)
    cands = candidate_paths(graph, demands, k=3)
    assert_matches_clarabel(cands, alpha, rtol=1e-3)
    check_solution(_any(cands, alpha).solve(), graph)


@needs_b4
@pytest.mark.parametrize("alpha", (0.0, *ALPHAS))
def test_b4_matches_clarabel(alpha):
    """Every demand to 1e-4 up to alpha = 2; at alpha = 8 those whose utility flux is within 1e-11 of
    the largest (te's precision there: see the next test)."""
    graph, demands = b4_case()
    assert_matches_clarabel(candidate_paths(graph, demands), alpha, rtol=1e-4, deepest=1e-11 if alpha > 4 else 0.0)


@needs_b4
@pytest.mark.xfail(strict=True, reason="alpha = 8: demands whose utility flux is below 1e-14 of the largest are "
                                       "under-allocated by up to 1 % (B4 x2) to 24 % (x4): docs/alpha-fair.md")
def test_b4_alpha_8_deepest_tiers():
    graph, demands = b4_case()
    assert_matches_clarabel(candidate_paths(graph, demands), 8.0, rtol=1e-4)


# ----------------------------------------------------------------------------- limits

@pytest.mark.parametrize("seed", range(4))
def test_alpha_zero_is_max_throughput(seed):
    graph, demands = random_case(seed)
    demands = [Demand(d.id, d.src, d.dst, d.rate_bps) for d in demands]  # max-throughput is unweighted
    cands = candidate_paths(graph, demands, k=3)
    sol = build_alpha_fair(cands, 0).solve()
    assert sol.objective == "alpha-fair" and sol.stats["alpha"] == 0.0
    assert sol.total_allocated_bps == pytest.approx(te.build(cands, "max-throughput").solve().total_allocated_bps,
                                                    rel=1e-9)


def test_alpha_zero_follows_weights():
    """Maximum weighted throughput: the heavier demand takes the shared link."""
    graph = digraph([("a", "b", 5.0), ("b", "c", 5.0)])
    demands = [Demand("light", "a", "c", 5.0), Demand("heavy", "b", "c", 5.0, weight=3.0)]
    assert build_alpha_fair(candidate_paths(graph, demands), 0).solve().allocated_bps.tolist() == [0.0, 5.0]


@needs_b4
def test_large_alpha_approaches_max_min_on_b4():
    """B4 at twice Teal's matrix 0, alpha = 8: the smallest served share is within 0.5 % of max-min's
    and the total within 0.1 %; and max-min, a feasible allocation, scores no better in alpha = 8's
    own utility (to 1e-6 of it: the tolerance of the method)."""
    graph, demands = b4_case()
    cands = candidate_paths(graph, demands)
    exact = te.build(cands, "max-min").solve()
    sol = _any(cands, 8.0).solve()
    requested = exact.requested_bps
    assert (sol.allocated_bps / requested).min() == pytest.approx((exact.allocated_bps / requested).min(), rel=5e-3)
    assert sol.total_allocated_bps == pytest.approx(exact.total_allocated_bps, rel=1e-3)
    ours, theirs = (float(np.sum(utility(s.allocated_bps / 1e9, 8.0))) for s in (sol, exact))
    assert theirs <= ours + 1e-6 * abs(ours)


@pytest.mark.parametrize("seed", range(4))
def test_large_alpha_approaches_max_min(seed):
    """Small random graphs: at alpha = 8 every demand is within 15 % of its weighted max-min rate,
    and the least served (rate over weight) within 1 %."""
    graph, demands = random_case(seed)
    cands = candidate_paths(graph, demands, k=3)
    exact = te.build(cands, "max-min").solve().allocated_bps
    x = _any(cands, 8.0).solve().allocated_bps
    weights = np.array([d.weight for d in demands])
    assert np.all(np.abs(x - exact) <= 0.15 * exact)
    assert (x / weights).min() == pytest.approx((exact / weights).min(), rel=1e-2)


# ----------------------------------------------------------------------------- exactness, stats, input

@needs_b4
@pytest.mark.parametrize("alpha", ALPHAS)
def test_one_kbit_demands_beside_ten_gbit_links_are_exact(alpha):
    """1 kbit/s pairs on 10 Gbit/s links get their request exactly (their marginal utility dwarfs any price)."""
    tiny = ((0, 11), (5, 6), (3, 9), (10, 2), (7, 8), (1, 4))
    graph, demands = b4_case(tiny=tiny)
    sol = _any(candidate_paths(graph, demands), alpha).solve()
    got = dict(zip((d.id for d in demands), sol.allocated_bps.tolist()))
    for i, j in tiny:
        assert got[f"{i}->{j}"] == pytest.approx(1e3, rel=1e-6)
    check_solution(sol, graph)


@pytest.mark.parametrize("alpha", [0.5, 1.0])
def test_twelve_decades_are_certified_or_refused(alpha):
    """Capacities and requests log-uniform from 1 bit/s to 1 Tbit/s (the engine's whole range): every
    answer is valid and certified to 1e-6; the method may refuse (SolverError, measured on 4 of 40
    such networks at alpha = 1 and none at 0.5), never return an uncertified routing."""
    solved = 0
    for seed in range(10):
        rng = np.random.default_rng(seed)
        base = nx.compose(nx.gnm_random_graph(8, 14, seed=seed), nx.path_graph(8))
        graph = nx.DiGraph()
        for u, v in sorted(base.edges):
            cap = float(10 ** rng.uniform(0, 12))
            graph.add_edge(str(u), str(v), capacity=cap, weight=1.0)
            graph.add_edge(str(v), str(u), capacity=cap, weight=1.0)
        pairs = [(u, v) for u in graph for v in graph if u != v]
        demands = [Demand(f"d{i}", *pairs[p], float(10 ** rng.uniform(0, 12)), weight=float(rng.integers(1, 4)))
                   for i, p in enumerate(rng.choice(len(pairs), 14, replace=False))]
        try:
            sol = _any(candidate_paths(graph, demands, k=3), alpha).solve()
        except te.SolverError:
            continue
        solved += 1
        check_solution(sol, graph)
        assert sol.stats["kkt_residual"] <= KKT
    assert solved >= 8


@pytest.mark.parametrize("alpha", ALPHAS)
def test_stats_report_kkt_and_gap(alpha):
    graph, demands = random_case(7)
    cands = candidate_paths(graph, demands, k=3)
    model = _any(cands, alpha)
    sol = model.solve()
    assert (sol.objective, sol.status) == ("alpha-fair", "optimal")
    assert sol.stats["alpha"] == alpha and sol.stats["iterations"] > 0
    assert 0 <= sol.stats["kkt_residual"] <= KKT and 0 <= sol.stats["duality_gap"] <= KKT
    assert sol.stats["variables"] == model.size["variables"] == len(cands.paths)
    weights = np.array([d.weight for d in demands])
    assert sol.objective_value == pytest.approx(float(np.sum(utility(sol.allocated_bps, alpha, weights))))


def test_certificate_sees_a_wrong_allocation():
    """Half of the optimal rates: feasible, but far from optimal, and the certificate says so."""
    graph, demands = line_network()
    model = build_alpha_fair(candidate_paths(graph, demands), 1.0)
    g = np.array([1 / 3, 2 / 3, 2 / 3]) / model.unit[model.owner]
    weight = np.exp(model.log_weight)
    prices = np.array([1.5, 1.5])  # optimal prices: 1 / (2/3) on each link
    good, _ = certificate(model, g, prices * model.unit[1], weight)
    bad, _ = certificate(model, g / 2, prices * model.unit[1], weight)
    assert good < 1e-9 and bad > 0.1


def test_nothing_to_route():
    graph = digraph([("a", "b")])
    sol = build_alpha_fair(candidate_paths(graph, [Demand("z", "a", "b", 0.0)]), 2).solve()
    assert sol.allocated_bps.tolist() == [0.0] and sol.stats["kkt_residual"] == 0.0


def test_deterministic():
    graph, demands = random_case(3)
    cands = candidate_paths(graph, demands, k=3)
    first, second = (build_alpha_fair(cands, 2.0).solve() for _ in range(2))
    assert np.array_equal(first.path_rate_bps, second.path_rate_bps)


@pytest.mark.parametrize("alpha", [-1, -0.5, float("nan"), float("inf"), MAX_ALPHA + 1, "1", None, True, [1.0]])
def test_bad_alpha(alpha):
    graph, demands = line_network()
    with pytest.raises(InvalidInput, match=r"^alpha must be a finite number between 0 and 4 \(beyond, use max-min, its limit\), got "):
        build_alpha_fair(candidate_paths(graph, demands), alpha)


def test_alpha_above_the_exact_range_is_refused_with_max_min_named():
    g = nx.DiGraph([("a", "b", {"capacity": 3.0})])
    with pytest.raises(InvalidInput, match="between 0 and 4 \\(beyond, use max-min, its limit\\)"):
        build_alpha_fair(candidate_paths(g, [Demand("x", "a", "b", 9.0)]), 6.0)
