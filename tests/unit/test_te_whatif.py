"""te.whatif: what-if input changes, local rescaling, FFC protection and the single-link failure sweep.

Small hand-made graphs whose answers are worked out by hand in the comments.
"""
from pathlib import Path

import networkx as nx
import numpy as np
import pytest

import te.whatif as whatif
from te.engine import build, solve
from te.errors import InvalidInput
from te.ffc import check_ffc
from te.model import Demand
from te.paths import Candidates, candidate_paths, solution_from_rates
from te.whatif import (apply_whatif, cut_off, failure_set_count, link_failure_sweep, local_rescaling, protect,
                       protection_candidates, resolve_link, stub_links)

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
REPETITA = DATA / "repetita" / "2016TopologyZooUCL_inverseCapacity"
needs_data = pytest.mark.skipif(not DATA.is_dir(), reason=f"shared data set not found at {DATA}")


def graph(links, capacity=10.0):
    """Both directions of every link; ``links`` items are (u, v) or (u, v, capacity)."""
    g = nx.DiGraph()
    for link in links:
        u, v = link[:2]
        c = link[2] if len(link) > 2 else capacity
        g.add_edge(u, v, capacity=float(c), weight=1.0)
        g.add_edge(v, u, capacity=float(c), weight=1.0)
    return g


# ----------------------------------------------------------------------------- local rescaling

def square_two_demands(ac=10.0):
    """a-b-d and a-c-d; x (6) split 4 / 2, y (3) on a-c-d alone."""
    g = graph([("a", "b"), ("b", "d"), ("a", "c", ac), ("c", "d")])
    c = Candidates.from_paths(g, [Demand("x", "a", "d", 6.0), Demand("y", "a", "d", 3.0)],
                              [[("a", "b", "d"), ("a", "c", "d")], [("a", "c", "d")]])
    return g, solution_from_rates(c, "max-throughput", "optimal", [4.0, 2.0, 3.0])


def test_local_rescaling_by_hand():
    g, sol = square_two_demands()
    # a-c fails: x keeps a-b-d and moves all 6 there (0.6); y's only path died: 3 lost
    out = local_rescaling(g, sol, [("c", "a")])
    assert out.lost_bps == 3.0 and out.max_utilization == pytest.approx(0.6) and out.cut_off == ("y",)
    # b-d fails: x's 6 join y's 3 on a-c-d: 9 of 10, nothing lost
    out = local_rescaling(g, sol, [("b", "d")])
    assert out.lost_bps == 0.0 and out.max_utilization == pytest.approx(0.9) and out.worst_arc == ("a", "c")
    # an unused direction or an unused link changes nothing
    assert local_rescaling(g, sol, []).max_utilization == pytest.approx(0.5)  # a-c and c-d carry 5, a-b 4


def test_local_rescaling_may_overload():
    g, sol = square_two_demands(ac=5.0)
    # a-b fails: a-c (5 bit/s) gets x's 6 and y's 3: 9 / 5 = 180%
    out = local_rescaling(g, sol, [("a", "b")])
    assert out.lost_bps == 0.0 and out.max_utilization == pytest.approx(1.8) and out.worst_arc == ("a", "c")


def test_local_rescaling_of_both_links_and_unknown_link():
    g, sol = square_two_demands()
    out = local_rescaling(g, sol, [("a", "b"), ("c", "d")])
    assert out.lost_bps == 9.0 and out.max_utilization == 0.0 and set(out.cut_off) == {"x", "y"}
    with pytest.raises(InvalidInput, match="no link between 'a' and 'd'"):
        local_rescaling(g, sol, [("a", "d")])


# ----------------------------------------------------------------------------- the sweep, by hand

def chain():
    """a-b (10), b-c (10), a-c (5), c-d (10); x a->b 8 and y c->d 4, one shortest path each."""
    g = graph([("a", "b"), ("b", "c"), ("a", "c", 5.0), ("c", "d")])
    demands = [Demand("x", "a", "b", 8.0), Demand("y", "c", "d", 4.0)]
    sol = solve(g, demands, "max-throughput", k=1)
    return g, sol


def test_sweep_by_hand_worst_first():
    g, sol = chain()
    assert sol.total_allocated_bps == pytest.approx(12.0)
    sweep = link_failure_sweep(g, sol, "max-throughput", paths=1)
    cases = {c.link: c for c in sweep.cases}
    assert [c.link for c in sweep.cases] == [("a", "b"), ("c", "d"), ("a", "c"), ("b", "c")]
    ab = cases["a", "b"]
    # locally: x's only path died (8 lost), y alone on c-d (40%); re-solved: x over a-c-b gets 5, y 4
    assert ab.unprotected.lost_bps == 8.0 and ab.unprotected.max_utilization == pytest.approx(0.4)
    assert ab.reoptimised_bps == pytest.approx(9.0) and ab.reoptimised_lost_bps == pytest.approx(3.0)
    assert ab.reoptimised_max_utilization == pytest.approx(1.0) and ab.repathed == ("x",) and ab.solved
    cd = cases["c", "d"]
    # d is cut off: y gets 0 everywhere, x keeps 8 on a-b
    assert cd.unprotected.lost_bps == 4.0 and cd.unroutable == ("y",) and cd.repathed == ()
    assert cd.reoptimised_bps == pytest.approx(8.0) and cd.reoptimised_max_utilization == pytest.approx(0.8)
    for link in [("a", "c"), ("b", "c")]:  # no candidate path crosses them: nothing changes, nothing solved
        c = cases[link]
        assert not c.solved and c.demands_affected == 0 and c.unprotected.lost_bps == 0.0
        assert c.reoptimised_bps == sol.total_allocated_bps and c.unprotected.max_utilization == pytest.approx(0.8)
    assert sweep.stats["solves"] == 2 and sweep.stats["solves_skipped"] == 2
    doc = sweep.to_dict()
    assert doc["links"] == 4 and doc["cases"][0]["reoptimised"]["repathed_demands"] == ["x"]


def test_sweep_reuses_paths_and_solves_only_what_changed(monkeypatch):
    """Paths are searched once per failure that leaves demands without a candidate, for them only; links
    that no path with traffic crosses are not re-solved."""
    g, sol = chain()
    searches, builds = [], []
    real_candidates_for, real_build = whatif.candidates_for, whatif.build

    def counting_candidates_for(graph, demands, *args, **kwargs):
        searches.append(tuple(d.id for d in demands))
        return real_candidates_for(graph, demands, *args, **kwargs)

    def counting_build(cands, *args, **kwargs):
        builds.append(len(cands.demands))
        return real_build(cands, *args, **kwargs)

    monkeypatch.setattr(whatif, "candidates_for", counting_candidates_for)
    monkeypatch.setattr(whatif, "build", counting_build)
    sweep = link_failure_sweep(g, sol, "max-throughput", paths=1)
    assert searches == [("x",)]  # a-b: x alone; c-d leaves y with no path at all: no search
    assert sweep.stats["path_searches"] == 1 and sweep.stats["demands_repathed"] == 1
    assert builds == [2, 1]  # a-b: both demands; c-d: y unroutable, x alone
    assert sweep.stats["solves"] == len(builds)


def test_sweep_custom_path_finder_and_surviving_candidates():
    """With 2 candidates each, a failure leaves every demand a path: no search; the re-solve uses the survivors."""
    g = graph([("a", "b"), ("b", "d"), ("a", "c"), ("c", "d")])
    sol = solve(g, [Demand("x", "a", "d", 12.0)], "max-throughput", k=2)
    calls = []
    sweep = link_failure_sweep(g, sol, "max-throughput", paths=2,
                               find_paths=lambda graph, demands: calls.append(demands))
    assert calls == [] and sweep.stats["path_searches"] == 0
    for case in sweep.cases:  # 12 on one 10 bit/s path: 120%, nothing lost; re-solved: 10
        assert case.unprotected.lost_bps == 0.0 and case.unprotected.max_utilization == pytest.approx(1.2)
        assert case.reoptimised_bps == pytest.approx(10.0) and case.reoptimised_lost_bps == pytest.approx(2.0)


def test_sweep_with_generated_paths_goes_on_from_the_survivors():
    g = graph([("a", "b"), ("b", "d"), ("a", "c"), ("c", "d"), ("a", "e"), ("e", "f"), ("f", "d")])
    demands = [Demand("x", "a", "d", 25.0)]
    sol = build(whatif.candidates_for(g, demands, "max-throughput", k="auto"), "max-throughput",
                generate=True).solve()
    assert sol.total_allocated_bps == pytest.approx(25.0)
    sweep = link_failure_sweep(g, sol, "max-throughput", paths="auto", generate=True)
    for case in sweep.cases:  # two of three disjoint 10 bit/s paths are left: 20 after any failure
        assert case.reoptimised_bps == pytest.approx(20.0)


# ----------------------------------------------------------------------------- protection

def random_network(seed, n=8, m=14, demands=12):
    rng = np.random.default_rng(seed)
    while True:
        und = nx.gnm_random_graph(n, m, seed=int(rng.integers(1 << 30)))
        if nx.is_connected(und):
            break
    g = graph([(str(u), str(v), float(rng.choice([5, 10, 20]))) for u, v in und.edges])
    nodes = sorted(g)
    pairs = [(s, t) for s in nodes for t in nodes if s != t]
    chosen = rng.choice(len(pairs), size=demands, replace=False)
    return g, [Demand(f"d{i}", *pairs[j], float(rng.uniform(1, 15))) for i, j in enumerate(chosen)]


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("objective", ["max-min", "max-throughput"])
def test_protected_allocation_never_overloads_and_loses_nothing_in_any_single_failure(seed, objective):
    g, demands = random_network(seed)
    cands = protection_candidates(g, demands, k=4)
    p = protect(cands, 1, objective)
    assert p.violations == [] and p.failure_sets == failure_set_count(cands, 1)
    assert p.solution.total_allocated_bps <= p.unprotected.total_allocated_bps * (1 + 1e-9)
    cut = set(p.cut_off)
    assert all(p.solution.allocated_bps[i] <= 1e-6 for i, d in enumerate(demands) if d.id in cut)
    sweep = link_failure_sweep(g, p.unprotected, objective, protected=p.solution, paths=4,
                               find_paths=lambda graph, ds: protection_candidates(graph, ds, k=4))
    assert len(sweep.cases) == len(whatif.graph_links(g))
    for case in sweep.cases:
        assert case.protected.max_utilization <= 1 + 1e-9, case
        assert case.protected.lost_bps <= 1e-6, case
    assert sweep.protected_base_bps == pytest.approx(p.solution.total_allocated_bps)


def test_protect_cost_cut_off_and_unchecked():
    g = graph([("s", "a"), ("a", "t"), ("s", "b"), ("b", "t")])
    cands = candidate_paths(g, [Demand("two", "s", "t", 30.0), Demand("one", "s", "a", 5.0)], k=2)
    p = protect(cands, 1, "max-throughput")
    # "one" has s-a and s-b-t-a: 2 disjoint tunnels; "two" has s-a-t and s-b-t
    assert p.cut_off == () and p.violations == []
    single = candidate_paths(g, [Demand("two", "s", "t", 30.0)], k=1)
    q = protect(single, 1, "max-throughput", check_limit=1)
    assert q.cut_off == ("two",) and q.solution.total_allocated_bps == 0.0 and q.cost == 1.0
    assert q.violations is None and q.to_dict()["violations"] is None and q.failure_sets == 3
    assert set(q.to_dict()) >= {"k", "unprotected_total_bps", "protected_total_bps", "cost", "cut_off", "violations"}
    with pytest.raises(InvalidInput, match="max-min"):
        protect(single, 1, "min-mlu")


def test_stub_links_are_fixed_and_hosts_get_switch_disjoint_tunnels():
    g = graph([("h1", "a"), ("a", "b"), ("b", "d"), ("a", "c"), ("c", "d"), ("d", "h2")])
    demands = [Demand("x", "h1", "h2", 30.0)]
    fixed = stub_links(g)
    assert fixed == {("a", "h1"), ("d", "h2")}
    greedy = candidate_paths(g, demands, k=4, method="disjoint")
    assert len(greedy.paths) == 1  # arc-disjoint from the host: its access link allows one
    cands = protection_candidates(g, demands, k=4)
    assert list(cands.paths) == [("h1", "a", "b", "d", "h2"), ("h1", "a", "c", "d", "h2")]
    assert cut_off(cands, 1).tolist() == [True] and cut_off(cands, 1, fixed).tolist() == [False]
    p = protect(cands, 1, "max-throughput", fixed=fixed)
    assert p.solution.total_allocated_bps == pytest.approx(10.0) and p.violations == []
    assert check_ffc(cands, p.solution, 1, fixed=fixed) == []


def test_protection_tunnels_are_link_disjoint_not_just_arc_disjoint():
    """Greedy arc-disjoint paths may cross one link both ways (Repetita's Abilene, 1 -> 5 through 7-8)."""
    g = graph([("1", "10"), ("10", "7"), ("7", "8"), ("8", "5"), ("1", "0"), ("0", "2"), ("2", "9"), ("9", "8"),
               ("7", "6"), ("6", "4"), ("4", "5"), ("10", "9")])
    g["10"]["9"]["weight"] = g["9"]["10"]["weight"] = 5.0
    g["4"]["5"]["weight"] = g["5"]["4"]["weight"] = 5.0
    demands = [Demand("d", "1", "5", 1.0)]
    greedy = candidate_paths(g, demands, k=4, method="disjoint")
    assert not whatif._link_disjoint(list(greedy.paths))
    cands = protection_candidates(g, demands, k=4)
    assert whatif._link_disjoint(list(cands.paths)) and len(cands.paths) == 2
    assert not cut_off(cands, 1).any()


@needs_data
def test_repetita_abilene_protected_cuts_nothing_off():
    g = te_read(REPETITA / "Abilene.graph")
    from te.io import read_demand_file

    demands, _ = read_demand_file(REPETITA / "Abilene.0000.demands", g)
    cands = protection_candidates(g, demands, k=4)
    assert not cut_off(cands, 1).any()


def te_read(path):
    from te.io import read_topology

    return read_topology(path)


# ----------------------------------------------------------------------------- what-if on the input

def labelled():
    g = graph([("0", "1"), ("1", "2"), ("0", "2"), ("2", "3")])
    nx.set_node_attributes(g, {"0": "Seattle", "1": "Denver", "2": "Chicago", "3": "Boston"}, "label")
    return g


def test_apply_whatif_names_by_id_or_label_and_lists_what_is_left_out():
    g = labelled()
    ds = [Demand("sd", "0", "1", 4.0), Demand("cb", "2", "3", 4.0), Demand("db", "1", "3", 2.0)]
    w = apply_whatif(g, ds, fail_links=[("Seattle", "1"), ("1", "0")], fail_nodes=["Chicago"], scale=2.0)
    assert w.failed_links == (("0", "1"),) and w.failed_nodes == ("2",)
    assert [d.id for d in w.dropped] == ["cb"]
    # 0-1 is down and Chicago (the detour, and Boston's only neighbour) too: sd and db have no path
    assert [d.id for d in w.unrouted] == ["sd", "db"] and [d.rate_bps for d in w.unrouted] == [8.0, 4.0]
    assert w.demands == () and "2" not in w.graph and not w.graph.has_edge("1", "0")
    assert "2" in g and g.has_edge("0", "1")  # the input is not changed
    doc = w.to_dict()
    assert doc["unrouted_demands"][0] == {"id": "sd", "src": "0", "dst": "1", "requested_bps": 8.0,
                                          "allocated_bps": 0.0}


def test_apply_whatif_scales_and_keeps_routable_demands():
    g = labelled()
    w = apply_whatif(g, [Demand("sd", "0", "1", 4.0, weight=2.0, priority=1)], fail_links=[("0", "1")], scale=0.5)
    assert w.demands == (Demand("sd", "0", "1", 2.0, weight=2.0, priority=1),) and w.unrouted == ()


@pytest.mark.parametrize("links, nodes, scale, message", [
    ([("0", "3")], [], 1.0, "no link between '0' and '3'"),
    ([("0", "Paris")], [], 1.0, "unknown node 'Paris'"),
    ([], ["Paris"], 1.0, "unknown node 'Paris'"),
    ([], [], 0.0, "scale must be a finite number > 0"),
    ([], [], float("inf"), "scale must be a finite number > 0"),
    ([], [], 1e30, r"scale 1e\+30: demand sd: rate_bps 4e\+30 is above"),
])
def test_apply_whatif_refuses(links, nodes, scale, message):
    with pytest.raises(InvalidInput, match=message):
        apply_whatif(labelled(), [Demand("sd", "0", "1", 4.0)], links, nodes, scale)


def test_ambiguous_label():
    g = labelled()
    g.nodes["3"]["label"] = "Denver"
    with pytest.raises(InvalidInput, match="label 'Denver' names 2 nodes"):
        resolve_link(g, "Denver", "Chicago")
