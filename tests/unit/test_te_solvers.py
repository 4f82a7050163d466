"""Every objective against the shared validity checks, hand-computed cases, and independent cross-checks."""
import doctest
import importlib
import itertools
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize import linprog

import te
from te.lp import edge_optimum
from te.model import Demand
from te.paths import Candidates, candidate_paths
from te.validate import check_solution

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
REPETITA = DATA / "repetita" / "2016TopologyZooUCL_inverseCapacity"
needs_data = pytest.mark.skipif(not DATA.is_dir(), reason=f"shared data set not found at {DATA}")
OBJECTIVES = ["max-throughput", "min-mlu", "max-min", "max-min-fast", "ecmp"]


def digraph(edges, capacity=10.0):
    g = nx.DiGraph()
    for e in edges:
        u, v, cap = e if len(e) == 3 else (*e, capacity)
        g.add_edge(u, v, capacity=float(cap), weight=1.0)
    return g


def validate(sol, graph):
    full = sol.objective == "min-mlu"
    check_solution(sol, graph, full=full, capacity=not full)


def random_case(seed, nodes=8, n_demands=12):
    rng = np.random.default_rng(seed)
    g = nx.gnm_random_graph(nodes, 14, seed=seed, directed=False)
    g = nx.compose(g, nx.path_graph(nodes))  # connected
    graph = nx.DiGraph()
    for u, v in sorted(g.edges):
        cap = float(rng.integers(1, 10))
        graph.add_edge(str(u), str(v), capacity=cap, weight=1.0)
        graph.add_edge(str(v), str(u), capacity=cap, weight=1.0)
    pairs = [(u, v) for u in graph for v in graph if u != v]
    picks = rng.choice(len(pairs), n_demands, replace=False)
    demands = [Demand(f"d{i}", *pairs[p], float(rng.integers(1, 8)), weight=float(rng.integers(1, 3)),
                      priority=int(rng.integers(0, 2))) for i, p in enumerate(picks)]
    return graph, demands


# ----------------------------------------------------------------------------- shared checks

@pytest.mark.parametrize("objective", OBJECTIVES)
@pytest.mark.parametrize("seed", range(4))
def test_every_objective_is_valid(objective, seed):
    graph, demands = random_case(seed)
    sol = te.solve(graph, demands, objective, k=3)
    validate(sol, graph)
    assert [d.id for d in sol.demands] == [d.id for d in demands]
    assert len(sol.path_ptr) == len(demands) + 1


@pytest.mark.parametrize("objective", OBJECTIVES)
def test_deterministic(objective):
    graph, demands = random_case(7)
    a, b = te.solve(graph, demands, objective, k=3), te.solve(graph, demands, objective, k=3)
    assert a.paths == b.paths and np.array_equal(a.path_rate_bps, b.path_rate_bps)


def test_paths_are_k_shortest_and_disjoint():
    graph, demands = random_case(3)
    for method in ("ksp", "disjoint"):
        cands = candidate_paths(graph, demands, k=3, method=method)
        for i, d in enumerate(demands):
            paths = cands.paths[cands.path_ptr[i]:cands.path_ptr[i + 1]]
            lengths = [len(p) for p in paths]
            assert lengths == sorted(lengths) and len(set(paths)) == len(paths)
            if method == "ksp":
                best = list(itertools.islice(nx.shortest_simple_paths(graph, d.src, d.dst), 3))
                assert lengths == [len(p) for p in best]
            else:
                arcs = [a for p in paths for a in zip(p[:-1], p[1:])]
                assert len(arcs) == len(set(arcs))


# ----------------------------------------------------------------------------- hand-computed cases

def test_max_throughput_splits_and_prefers_short_paths():
    g = digraph([("a", "b", 10), ("b", "c", 10), ("a", "c", 5), ("a", "d", 100), ("d", "e", 100), ("e", "c", 100)])
    sol = te.solve(g, [Demand("x", "a", "c", 12.0)], "max-throughput", k=3)
    assert [p for p, _ in sol.routes(0)] == [("a", "c"), ("a", "b", "c"), ("a", "d", "e", "c")]
    assert [r for _, r in sol.routes(0)] == pytest.approx([5.0, 7.0, 0.0], rel=1e-12, abs=1e-12)


def test_min_mlu_balances_and_may_exceed_one():
    g = digraph([("a", "b", 10), ("b", "c", 10), ("a", "c", 10)])
    sol = te.solve(g, [Demand("x", "a", "c", 30.0)], "min-mlu", k=2)
    assert sol.max_link_utilization == pytest.approx(1.5)
    assert sol.allocated_bps.tolist() == [30.0]


def test_max_min_weights_caps_and_priorities():
    # one shared link of 12: y (weight 2) gets twice x; z is capped at 1 and frees the rest
    g = digraph([("a", "m", 100), ("b", "m", 100), ("c", "m", 100), ("m", "t", 12)])
    demands = [Demand("x", "a", "t", 100.0), Demand("y", "b", "t", 100.0, weight=2.0), Demand("z", "c", "t", 1.0)]
    sol = te.solve(g, demands, "max-min")
    assert sol.allocated_bps == pytest.approx([11 / 3, 22 / 3, 1.0], rel=1e-7)
    # a higher class takes what it asks first; the others share what is left
    demands[2] = Demand("z", "c", "t", 9.0, priority=1)
    sol = te.solve(g, demands, "max-min")
    assert sol.allocated_bps == pytest.approx([1.0, 2.0, 9.0], rel=1e-7)


def test_max_min_multipath_beats_single_bottleneck():
    # x has two paths; y only the top one: exact max-min gives y the whole top link
    g = digraph([("s", "u", 10), ("u", "t", 10), ("s", "w", 4), ("w", "t", 4), ("r", "u", 100)])
    demands = [Demand("x", "s", "t", 100.0), Demand("y", "r", "t", 100.0)]
    exact = te.solve(g, demands, "max-min", k=2)
    assert exact.allocated_bps == pytest.approx([7.0, 7.0], rel=1e-9)
    fast = te.solve(g, demands, "max-min-fast", k=2)
    validate(fast, g)
    assert fast.total_allocated_bps == pytest.approx(14.0, rel=1e-9)


def test_max_min_fast_hand_case():
    g = digraph([("a", "b", 10), ("b", "c", 10), ("a", "c", 4)])
    sol = te.solve(g, [Demand("x", "a", "c", 100.0), Demand("y", "a", "b", 3.0)], "max-min-fast", k=2)
    assert sol.allocated_bps == pytest.approx([11.0, 3.0], rel=1e-12)


def test_zero_rate_and_empty():
    g = digraph([("a", "b")])
    for objective in OBJECTIVES:
        sol = te.solve(g, [Demand("x", "a", "b", 0.0)], objective)
        assert sol.total_allocated_bps == 0.0
        assert te.solve(g, [], objective).total_allocated_bps == 0.0


def test_unreachable_and_bad_parameters():
    g = digraph([("a", "b")])
    g.add_node("c")
    with pytest.raises(te.NoPath, match="demand x: no path from 'a' to 'c'"):
        te.solve(g, [Demand("x", "a", "c", 1.0)], "max-min")
    with pytest.raises(te.InvalidInput, match="unknown objective"):
        te.solve(g, [], "fastest")
    with pytest.raises(te.InvalidInput, match=">= 1"):
        te.solve(g, [], "max-min", k=0)
    with pytest.raises(te.InvalidInput, match="uses a link that is not in the topology"):
        Candidates.from_paths(g, [Demand("x", "b", "a", 1.0)], [[("b", "a")]])


# ----------------------------------------------------------------------------- cross-checks

def test_single_commodity_matches_networkx_max_flow():
    graph, _ = random_case(11)
    for src, dst in [("0", "7"), ("2", "5")]:
        flow = nx.maximum_flow_value(graph, src, dst)
        paths = list(nx.all_simple_paths(graph, src, dst))
        cands = Candidates.from_paths(graph, [Demand("x", src, dst, 1e6)], [paths])
        sol = te.build(cands, "max-throughput").solve()
        validate(sol, graph)
        assert sol.total_allocated_bps == pytest.approx(flow, rel=1e-9)
        assert te.solve(graph, [Demand("x", src, dst, 1e6)], "max-min", k=len(paths)).total_allocated_bps == \
            pytest.approx(flow, rel=1e-9)


def per_commodity_edge_lp(graph, demands, objective):
    """Independent edge formulation: one flow variable per (demand, arc), dense, networkx-indexed."""
    arcs = list(graph.edges)
    nodes = list(graph.nodes)
    n_d, n_a = len(demands), len(arcs)
    n_x = n_d * n_a
    extra = 1 if objective == "min-mlu" else n_d  # U, or the carried rate of each demand
    eq_rows, eq_rhs = [], []
    for k, d in enumerate(demands):
        for v in nodes:
            row = np.zeros(n_x + extra)
            for j, (a, b) in enumerate(arcs):
                row[k * n_a + j] += (a == v) - (b == v)
            sign = (v == d.src) - (v == d.dst)
            if objective == "min-mlu":
                eq_rhs.append(sign * d.rate_bps)
            else:
                row[n_x + k] = -sign
                eq_rhs.append(0.0)
            eq_rows.append(row)
    ub_rows, ub_rhs = [], []
    for j, (a, b) in enumerate(arcs):
        row = np.zeros(n_x + extra)
        row[j:n_x:n_a] = 1.0
        cap = graph[a][b]["capacity"]
        if objective == "min-mlu":
            row[n_x] = -cap
        ub_rows.append(row)
        ub_rhs.append(0.0 if objective == "min-mlu" else cap)
    c = np.zeros(n_x + extra)
    if objective == "min-mlu":
        c[n_x] = 1.0
        bounds = [(0, None)] * (n_x + 1)
    else:
        c[n_x:] = -1.0
        bounds = [(0, None)] * n_x + [(0, d.rate_bps) for d in demands]
    res = linprog(c, A_ub=np.array(ub_rows), b_ub=ub_rhs, A_eq=np.array(eq_rows), b_eq=eq_rhs, bounds=bounds,
                  method="highs")
    assert res.status == 0
    return res.fun if objective == "min-mlu" else -res.fun


@pytest.mark.parametrize("objective", ["min-mlu", "max-throughput"])
@pytest.mark.parametrize("seed", range(3))
def test_all_simple_paths_match_edge_formulation(objective, seed):
    graph, demands = random_case(seed, nodes=6, n_demands=8)
    if objective == "max-throughput":
        demands = [Demand(d.id, d.src, d.dst, d.rate_bps * 3) for d in demands]
    paths = [list(nx.all_simple_paths(graph, d.src, d.dst)) for d in demands]
    sol = te.build(Candidates.from_paths(graph, demands, paths), objective).solve()
    validate(sol, graph)
    expected = per_commodity_edge_lp(graph, demands, objective)
    got = sol.max_link_utilization if objective == "min-mlu" else sol.total_allocated_bps
    assert got == pytest.approx(expected, rel=1e-6)
    assert edge_optimum(graph, demands, objective) == pytest.approx(expected, rel=1e-6)


def brute_max_min(graph, demands, paths):
    """Max-min by the textbook definition, one LP per demand: raise the lowest level, freeze who cannot grow."""
    cands = Candidates.from_paths(graph, demands, paths)
    n_p = len(cands.paths)
    arc_path = cands.path_arc.T.toarray()
    dem_path = np.zeros((len(demands), n_p))
    dem_path[cands.path_demand, np.arange(n_p)] = 1
    w = np.array([d.weight for d in demands])
    r = np.array([d.rate_bps for d in demands])
    fixed = {}
    while len(fixed) < len(demands):
        free = [i for i in range(len(demands)) if i not in fixed]

        def lp(objective_row, lo, hi):
            A = [np.append(arc_path, np.zeros((len(arc_path), 1)), 1)]
            b = [cands.capacity_bps]
            for i in range(len(demands)):
                row = np.append(-dem_path[i], w[i] if i in free else 0.0)
                A.append(row[None])
                b.append([-fixed.get(i, 0.0)])
                A.append(np.append(dem_path[i], 0.0)[None])
                b.append([r[i]])
            bounds = [(0, None)] * n_p + [(lo, hi)]
            res = linprog(objective_row, A_ub=np.vstack(A), b_ub=np.concatenate(b), bounds=bounds, method="highs")
            assert res.status == 0
            return res

        t = lp(np.append(np.zeros(n_p), -1.0), 0, min(r[i] / w[i] for i in free)).x[-1]
        new = {}
        for i in free:
            grow = lp(np.append(-dem_path[i], 0.0), t, t)
            if dem_path[i] @ grow.x[:n_p] <= w[i] * t * (1 + 1e-7) + 1e-9:
                new[i] = min(w[i] * t, r[i])
        fixed.update(new)
    return np.array([fixed[i] for i in range(len(demands))])


@pytest.mark.parametrize("seed", range(5))
def test_max_min_matches_textbook_definition(seed):
    graph, demands = random_case(seed, nodes=7, n_demands=10)
    demands = [Demand(d.id, d.src, d.dst, d.rate_bps, d.weight) for d in demands]  # one class
    cands = candidate_paths(graph, demands, k=3)
    paths = [cands.paths[cands.path_ptr[i]:cands.path_ptr[i + 1]] for i in range(len(demands))]
    sol = te.build(cands, "max-min").solve()
    assert sol.allocated_bps == pytest.approx(brute_max_min(graph, demands, paths), rel=1e-6, abs=1e-6)


@needs_data
@pytest.mark.parametrize("name", ["Abilene", "Geant2012"])
def test_repetita_edge_optimum_is_090(name):
    graph = te.read_topology(REPETITA / f"{name}.graph")
    demands = te.read_demands(REPETITA / f"{name}.0000.demands", graph)
    assert edge_optimum(graph, demands) == pytest.approx(0.90, abs=1e-4)
    sol = te.solve(graph, demands, "min-mlu", k=8)
    validate(sol, graph)
    assert 0.90 - 1e-6 <= sol.max_link_utilization <= 0.90 * 1.05


@needs_data
def test_repetita_max_min_fast_close_to_exact():
    graph = te.read_topology(REPETITA / "Abilene.graph")
    demands = te.read_demands(REPETITA / "Abilene.0000.demands", graph)
    demands = [Demand(d.id, d.src, d.dst, d.rate_bps * 2) for d in demands]
    exact, fast = (te.solve(graph, demands, o) for o in ("max-min", "max-min-fast"))
    validate(exact, graph)
    validate(fast, graph)
    assert abs(fast.total_allocated_bps / exact.total_allocated_bps - 1) < 0.05
    assert exact.allocated_bps.min() >= fast.allocated_bps.min() * (1 - 1e-6)


@pytest.mark.parametrize("module", ["te.model", "te.errors", "te.io", "te.paths", "te.lp", "te.waterfill",
                                    "te.validate", "te.engine", "te.cli"])
def test_doctests(module):
    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
