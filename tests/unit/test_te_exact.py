"""Exact to each demand's own scale: tiny demands beside huge ones, and the bounds of what the engine represents.

The engine promises every demand its allocation to 1e-6 of *its own* request or fair level, from
1 bit/s beside 100 Gbit/s links upward; values it cannot represent that exactly are an input error.
"""
import json
import warnings
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize import linprog

import te
from te.cli import main
from te.errors import InvalidInput
from te.io import read_demands, read_topology
from te.model import MAX_BPS, MAX_RANGE, Demand
from te.paths import candidate_paths, solution_from_rates
from te.validate import check_solution, violations

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
B4 = DATA / "b4"
B4_FILES = ("teal_B4.json", "teal_B4_real_tms_converted.txt")
needs_b4 = pytest.mark.skipif(not all((B4 / name).is_file() for name in B4_FILES),
                              reason=f"B4 data ({', '.join(B4_FILES)}) not found in {B4}")
OWN_RTOL = 1e-6  # every demand exact to this share of its own request or fair level
G100 = 1e11
TINY_PAIRS = ((0, 11), (5, 6), (3, 9), (10, 2), (7, 8), (1, 4))


# ----------------------------------------------------------------------------- helpers

def b4_case(matrix=0, load=2.0, tiny=TINY_PAIRS, tiny_bps=1e3, capacity=1e10):
    """B4, every link at ``capacity``; Teal matrix ``matrix`` in bit/s times ``load``; ``tiny`` pairs at ``tiny_bps``.

    Teal's matrices are in the units of teal_B4.json's capacities (5000 per link), hence ``capacity / 5000``.
    """
    graph = read_topology(B4 / "teal_B4.json")
    for u, v in graph.edges:
        graph[u][v]["capacity"] = capacity
    rows = [line.split() for line in (B4 / "teal_B4_real_tms_converted.txt").read_text().splitlines()
            if line.strip() and not line.startswith("#")]
    tm = np.array(rows[matrix], dtype=float).reshape(12, 12) * capacity / 5000 * load
    tiny = set(tiny)
    demands = [Demand(f"{i}->{j}", str(i), str(j), tiny_bps if (i, j) in tiny else float(tm[i, j]))
               for i in range(12) for j in range(12) if i != j]
    return graph, demands


def allocation(sol):
    return dict(zip((d.id for d in sol.demands), sol.allocated_bps.tolist()))


def assert_own_scale(sol, expected, rtol=OWN_RTOL):
    """Each listed demand's allocation equals its expected value to ``rtol`` of that value (of its request for 0)."""
    got = allocation(sol)
    request = {d.id: d.rate_bps for d in sol.demands}
    bad = {k: (got[k], v) for k, v in expected.items() if abs(got[k] - v) > rtol * (v or request[k])}
    assert not bad, f"{sol.objective}: (allocated, expected) off by more than {rtol} of their own value: {bad}"


def validate(sol, graph, **kwargs):
    full = sol.objective == "min-mlu"
    check_solution(sol, graph, full=full, capacity=not full, **kwargs)


def dumbbell():
    """Two 1e12 bit/s demands and two 1 bit/s demands over one 100 Gbit/s link ``m -> n``.

    ``tiny-detour`` also has a longer path of its own (``c z1 z2 z3 x``) with nothing else on it,
    so every objective, max-throughput included, must give it its full 1 bit/s.
    """
    g = nx.DiGraph()
    for u, v in [("a", "m"), ("b", "m"), ("c", "m"), ("d", "m"), ("m", "n"), ("n", "x"), ("n", "y"),
                 ("c", "z1"), ("z1", "z2"), ("z2", "z3"), ("z3", "x")]:
        g.add_edge(u, v, capacity=G100, weight=1.0)
    demands = [Demand("big-a", "a", "x", 1e12), Demand("big-b", "b", "y", 1e12),
               Demand("tiny-shared", "d", "y", 1.0), Demand("tiny-detour", "c", "x", 1.0)]
    return g, demands


def maxmin_certificate(sol, rtol=OWN_RTOL):
    """Independent check of weighted max-min (one class): no demand below its request can gain more than
    ``rtol`` of its own allocation without taking from a demand at or below its level.

    One LP per such demand, with every row scaled by its own magnitude (links by capacity, demands by
    their allocation) so that HiGHS's tolerances are relative to each element.
    """
    n_d = len(sol.demands)
    counts = np.diff(sol.path_ptr)
    owner = np.repeat(np.arange(n_d), counts)
    arc_index = {a: j for j, a in enumerate(sol.arcs)}
    rows, cols = [], []
    for p, path in enumerate(sol.paths):
        for arc in zip(path[:-1], path[1:]):
            rows.append(arc_index[arc])
            cols.append(p)
    arc_path = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(sol.arcs), len(sol.paths)))
    dem_path = sp.csr_matrix((np.ones(len(owner)), (owner, np.arange(len(owner)))), shape=(n_d, len(sol.paths)))
    alloc, req = sol.allocated_bps, sol.requested_bps
    w = np.array([d.weight for d in sol.demands])
    level = alloc / w
    unit = np.maximum(alloc, req * 1e-3)  # per-demand column unit
    cols_unit = unit[owner]
    A_arc = sp.diags(1 / sol.capacity_bps) @ arc_path @ sp.diags(cols_unit)
    for i in np.flatnonzero(alloc < req * (1 - rtol)):
        keep = (level <= level[i] * (1 + rtol)) & (np.arange(n_d) != i)  # levels within rtol count as equal
        A_keep = -(sp.diags(1 / unit[keep]) @ dem_path[keep] @ sp.diags(cols_unit))
        A_cap = sp.diags(1 / unit) @ dem_path @ sp.diags(cols_unit)
        c = -(dem_path[i] @ sp.diags(cols_unit)).toarray().ravel() / unit[i]
        A = sp.vstack([A_arc, A_keep, A_cap])
        b = np.r_[np.ones(len(sol.arcs)), -alloc[keep] / unit[keep] * (1 - 1e-9), req / unit]
        for options in ({}, {"presolve": False}, {"presolve": False, "primal_feasibility_tolerance": 1e-9}):
            res = linprog(c, A_ub=A, b_ub=b, bounds=(0, None), method="highs", options=options)
            if res.status == 0:  # HiGHS's presolve may trip over coefficients spanning 20 decades
                break
        assert res.status == 0, res.message
        best = -res.fun * unit[i]
        assert best <= alloc[i] * (1 + rtol), \
            f"demand {sol.demands[i].id}: allocated {alloc[i]!r}, could get {best!r} taking nothing from a poorer one"


# ----------------------------------------------------------------------------- the reported case: B4

@needs_b4
@pytest.mark.parametrize("objective", te.OBJECTIVES)
def test_b4_one_kbit_pairs_get_their_request(objective):
    graph, demands = b4_case()
    sol = te.solve(graph, demands, objective)
    validate(sol, graph, maximal=objective in ("max-throughput", "max-min"))
    if objective != "max-throughput":  # maximising the total may starve a long pair: 0 can be exact there
        assert_own_scale(sol, {f"{i}->{j}": 1e3 for i, j in TINY_PAIRS})


@needs_b4
def test_b4_random_trials_keep_every_small_pair():
    """Other matrices, 1.5-3x load, six random 1 kbit/s pairs: max-min gives each its 1 kbit/s."""
    rng = np.random.default_rng(20240611)
    pairs = [(i, j) for i in range(12) for j in range(12) if i != j]
    for _ in range(12):
        tiny = [pairs[p] for p in rng.choice(len(pairs), 6, replace=False)]
        graph, demands = b4_case(int(rng.integers(0, 36)), float(rng.uniform(1.5, 3.0)), tiny)
        sol = te.solve(graph, demands, "max-min")
        validate(sol, graph, maximal=True)
        assert_own_scale(sol, {f"{i}->{j}": 1e3 for i, j in tiny})


# ----------------------------------------------------------------------------- synthetic: 1 bit/s beside 100 Gbit/s

@pytest.mark.parametrize("objective", te.OBJECTIVES)
def test_one_bit_per_second_beside_100_gbit(objective):
    graph, demands = dumbbell()
    sol = te.solve(graph, demands, objective, k=4)
    validate(sol, graph, maximal=objective in ("max-throughput", "max-min"))
    expected = {"tiny-detour": 1.0}
    if objective != "max-throughput":
        expected["tiny-shared"] = 1.0
    if objective == "min-mlu":
        expected.update({"big-a": 1e12, "big-b": 1e12})
    if objective == "max-min":
        expected.update({"big-a": (G100 - 1) / 2, "big-b": (G100 - 1) / 2})
    assert_own_scale(sol, expected)


def test_small_fair_levels_beside_100_gbit():
    """A 30 bit/s link among 100 Gbit/s links: the demands crossing it get their weighted share to the bit.

    x1, x2 (weights 1, 2) and x3 (request 3 bit/s) cross ``p -> q`` (30 bit/s): x3 gets 3, x1 and x2
    split 27 as 9 and 18. All of them and B1, B2 (weights 1, 3) share ``q -> t`` (100 Gbit/s).
    """
    g = nx.DiGraph()
    for u, v, cap in [("s1", "p", G100), ("s2", "p", G100), ("s3", "p", G100), ("p", "q", 30.0),
                      ("q", "t", G100), ("b1", "q", G100), ("b2", "q", G100)]:
        g.add_edge(u, v, capacity=cap, weight=1.0)
    demands = [Demand("x1", "s1", "t", 1e12), Demand("x2", "s2", "t", 1e12, weight=2.0), Demand("x3", "s3", "t", 3.0),
               Demand("B1", "b1", "t", 1e12), Demand("B2", "b2", "t", 1e12, weight=3.0)]
    sol = te.solve(g, demands, "max-min")
    validate(sol, g, maximal=True)
    assert_own_scale(sol, {"x1": 9.0, "x2": 18.0, "x3": 3.0, "B1": (G100 - 30) / 4, "B2": 3 * (G100 - 30) / 4})
    # the same with x3 in a higher class, and B2 in a lower one: B2 gets only what the others leave
    demands[2] = Demand("x3", "s3", "t", 3.0, priority=2)
    demands[4] = Demand("B2", "b2", "t", 1e12, weight=3.0, priority=-1)
    sol = te.solve(g, demands, "max-min")
    validate(sol, g)
    assert_own_scale(sol, {"x1": 9.0, "x2": 18.0, "x3": 3.0, "B1": G100 - 30, "B2": 0.0})


def mixed_case(seed, cap_decades=(3, 11), rate_decades=(0, 12), nodes=8, n_demands=14, priorities=False):
    """A random network whose capacities and requests are log-uniform over the given decades (bit/s)."""
    rng = np.random.default_rng(seed)
    base = nx.compose(nx.gnm_random_graph(nodes, int(nodes * 1.8), seed=seed), nx.path_graph(nodes))
    g = nx.DiGraph()
    for u, v in sorted(base.edges):
        cap = float(10 ** rng.uniform(*cap_decades))
        g.add_edge(str(u), str(v), capacity=cap, weight=1.0)
        g.add_edge(str(v), str(u), capacity=cap, weight=1.0)
    pairs = [(u, v) for u in g for v in g if u != v]
    picks = rng.choice(len(pairs), n_demands, replace=False)
    demands = [Demand(f"d{n}", *pairs[p], float(10 ** rng.uniform(*rate_decades)), weight=float(rng.integers(1, 4)),
                      priority=int(rng.integers(0, 2)) if priorities else 0) for n, p in enumerate(picks)]
    return g, demands


@pytest.mark.parametrize("seed", range(6))
def test_max_min_exact_across_eleven_decades(seed):
    """Random networks whose capacities span 1 kbit/s to 100 Gbit/s and requests 1 bit/s to 1 Tbit/s:
    max-min passes an independent, per-demand-scaled optimality check."""
    g, demands = mixed_case(seed)
    sol = te.solve(g, demands, "max-min", k=3)
    validate(sol, g, maximal=True)
    maxmin_certificate(sol)


@pytest.mark.parametrize("objective", te.OBJECTIVES)
@pytest.mark.parametrize("case", [
    # 10 Gbit/s links, 60 requests from 1 bit/s to 30 Gbit/s: max-throughput used to leave small
    # demands at 0 beside spare capacity
    dict(seed=59, cap_decades=(10, 10), rate_decades=(0, 10.5), nodes=10, n_demands=60, k=4),
    dict(seed=88, cap_decades=(10, 10), rate_decades=(0, 10.5), nodes=10, n_demands=60, k=4),
    # links from 1 bit/s to 1 Tbit/s, the whole range: min-mlu used to fail ("infeasible")
    dict(seed=92, cap_decades=(0, 12), rate_decades=(0, 12)),
    dict(seed=94, cap_decades=(0, 12), rate_decades=(0, 12)),
    # the same with two priority classes
    dict(seed=31, cap_decades=(0, 12), rate_decades=(0, 12), priorities=True),
], ids=["10G-a", "10G-b", "12-decades-a", "12-decades-b", "12-decades-classes"])
def test_every_objective_across_the_whole_range(objective, case):
    """Every objective stays valid, and max-min and max-throughput leave no demand short of its
    request beside spare capacity (to 1e-6 of the demand's own allocation)."""
    case = dict(case)
    k = case.pop("k", 3)
    g, demands = mixed_case(**case)
    sol = te.solve(g, demands, objective, k=k)
    validate(sol, g, maximal=objective in ("max-throughput", "max-min"))


@pytest.mark.parametrize("objective", te.OBJECTIVES)
def test_scale_does_not_change_the_answer(objective):
    """The same network with every value times 2**-30 (exact in floating point): allocations scale with it,
    to each demand's own 1e-6."""
    graph, demands = dumbbell()
    factor = 2.0 ** -30
    small = nx.DiGraph()
    for u, v, c in graph.edges(data="capacity"):
        small.add_edge(u, v, capacity=c * factor, weight=1.0)
    scaled = [Demand(d.id, d.src, d.dst, d.rate_bps * factor) for d in demands]
    big, little = te.solve(graph, demands, objective), te.solve(small, scaled, objective)
    want = {d.id: a / factor for d, a in zip(little.demands, little.allocated_bps)}
    if objective == "max-throughput":  # only the demands every optimum fixes
        want = {k: want[k] for k in ("tiny-detour",)}
    assert_own_scale(big, want)


# ----------------------------------------------------------------------------- bounds

def one_line(exc):
    text = str(exc.value)
    assert "\n" not in text
    return text


def test_capacity_above_the_largest_representable_is_an_error(tmp_path):
    topo = tmp_path / "t.json"
    topo.write_text(json.dumps({"directed": True, "nodes": [{"id": n} for n in "abc"],
                                "links": [{"source": "a", "target": "b", "capacity": 1e300},
                                          {"source": "b", "target": "c", "capacity": 1e10}]}))
    with pytest.raises(InvalidInput) as exc:
        read_topology(topo)
    text = one_line(exc)
    assert "link a-b" in text and "1e+300" in text and f"{MAX_BPS:g}" in text
    # a graph built in code reaches the same bound when solved, whatever the objective
    g = nx.DiGraph()
    g.add_edge("a", "b", capacity=1e300, weight=1.0)
    g.add_edge("b", "c", capacity=1e10, weight=1.0)
    for objective in te.OBJECTIVES:
        with pytest.raises(InvalidInput) as exc:
            te.solve(g, [Demand("x", "a", "c", 1e9)], objective)
        text = one_line(exc)
        assert "('a', 'b')" in text and "1e+300" in text and f"{MAX_BPS:g}" in text


def test_te_solve_reports_a_bound_in_one_line(tmp_path, capsys):
    topo = tmp_path / "t.json"
    topo.write_text(json.dumps({"nodes": [{"id": "a"}, {"id": "b"}],
                                "links": [{"source": "a", "target": "b", "capacity": 1e300}]}))
    demands = tmp_path / "d.json"
    demands.write_text(json.dumps([{"src": "a", "dst": "b", "rate_bps": 1}]))
    assert main(["--topology", str(topo), "--demands", str(demands), "--objective", "max-min"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("te-solve: error: ") and "link a-b: capacity 1e+300" in err


def test_rate_above_the_largest_representable_is_an_error(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no numpy overflow warning on the way
        with pytest.raises(InvalidInput) as exc:
            Demand("x", "a", "b", 1e308)
        text = one_line(exc)
        assert "demand x" in text and "1e+308" in text and f"{MAX_BPS:g}" in text
        g = nx.DiGraph([("a", "b", {"capacity": 1e10, "weight": 1.0})])
        path = tmp_path / "d.json"
        path.write_text(json.dumps([{"id": "x", "src": "a", "dst": "b", "rate_bps": 1e308}]))
        with pytest.raises(InvalidInput, match=r"d\.json: demand x: .*1e\+308"):
            read_demands(path, g)
    assert Demand("ok", "a", "b", MAX_BPS).rate_bps == MAX_BPS


@pytest.mark.parametrize("objective", te.OBJECTIVES)
def test_values_spanning_more_than_the_range_are_an_error(objective):
    g = nx.DiGraph()
    g.add_edge("a", "b", capacity=1e12, weight=1.0)
    g.add_edge("b", "c", capacity=1e-1, weight=1.0)  # 13 decades below a -> b
    with pytest.raises(InvalidInput) as exc:
        te.solve(g, [Demand("x", "a", "b", 1.0)], objective)
    text = one_line(exc)
    assert "('b', 'c')" in text and f"{MAX_RANGE:g}" in text
    g["b"]["c"]["capacity"] = 1.0  # 12 decades: fine
    te.solve(g, [Demand("x", "a", "b", 1.0)], objective)
    with pytest.raises(InvalidInput) as exc:  # a request 13 decades below the largest capacity
        te.solve(g, [Demand("x", "a", "b", 1e-1)], objective)
    text = one_line(exc)
    assert "demand x" in text and f"{MAX_RANGE:g}" in text
    assert te.solve(g, [Demand("x", "a", "b", 0.0)], objective).total_allocated_bps == 0.0  # zero is exact


def test_duplicate_node_id_is_an_error_naming_it(tmp_path):
    topo = tmp_path / "t.json"
    topo.write_text(json.dumps({"nodes": [{"id": "a"}, {"id": "b"}, {"id": "a", "x": 1}],
                                "links": [{"source": "a", "target": "b", "capacity": 1}]}))
    with pytest.raises(InvalidInput) as exc:
        read_topology(topo)
    assert "t.json" in one_line(exc) and "node 'a'" in one_line(exc) and "twice" in one_line(exc)
    topo.write_text(json.dumps({"nodes": [{"id": 1}, {"id": "1"}], "links": []}))  # the same id once read
    with pytest.raises(InvalidInput, match="node '1' .*twice"):
        read_topology(topo)


# ----------------------------------------------------------------------------- the checks themselves

def test_violations_report_inexact_and_non_maximal_allocations():
    g = nx.DiGraph()
    g.add_edge("a", "b", capacity=G100, weight=1.0)
    cands = candidate_paths(g, [Demand("big", "a", "b", 5e10), Demand("tiny", "a", "b", 1.0)])
    short = solution_from_rates(cands, "demo", "optimal", np.array([5e10, 0.5]))
    assert violations(short, g) == []
    problems = violations(short, g, maximal=True)
    assert len(problems) == 1 and "demand tiny" in problems[0] and "spare" in problems[0]
    problems = violations(short, g, expected=[5e10, 1.0])
    assert len(problems) == 1 and "demand tiny" in problems[0]
    assert violations(short, g, expected=[5e10 * (1 + 1e-7), 0.5 * (1 - 1e-7)]) == []
