"""Hierarchical shares (``te.hierarchy``): groups share the network by weight within caps and above
guarantees, then each group's demands share its part; hand-computed cases, bad inputs, te-solve, and a
randomized cross-check against an independent (one LP per entity) implementation of the semantics.
"""
import json
import math

import networkx as nx
import numpy as np
import pytest
from scipy.optimize import linprog

import te
from te.cli import main
from te.engine import AUTO_FALLBACK_K, build, candidates_for, hierarchical
from te.errors import InvalidInput
from te.hierarchy import Group, apply_group_caps, certificate, check_groups, group_totals, solve_hierarchical
from te.io import read_demand_file, read_demands
from te.model import MAX_BPS, Demand
from te.paths import candidate_paths
from te.validate import check_solution

RTOL = 1e-6


def link(capacity=10.0):
    """One link ``s -> t``."""
    return nx.DiGraph([("s", "t", {"capacity": capacity, "weight": 1.0})])


def allocation(sol):
    return dict(zip((d.id for d in sol.demands), sol.allocated_bps.tolist()))


def assert_allocation(sol, expected, rtol=RTOL, atol=1e-8):
    """Each demand within ``rtol`` of its expected value; ``atol`` (bit/s) for values near 0: a residue
    of full links is resolved to about 1e-9 of their capacity (te.model's notes)."""
    got = allocation(sol)
    bad = {k: (got[k], v) for k, v in expected.items() if not math.isclose(got[k], v, rel_tol=rtol, abs_tol=atol)}
    assert not bad, f"(allocated, expected): {bad}"


def solve(graph, demands, groups, objective="max-min", k=4):
    sol = te.solve(graph, demands, objective, k=k, groups=groups)
    check_solution(sol, graph)
    return sol


# ----------------------------------------------------------------------------- (a)-(e) hand-computed

def test_a_groups_share_by_weight_then_members_by_theirs():
    """One link of 10: A (weight 1) with two demands, B (weight 3) with one: A 2.5 (1.25 each), B 7.5."""
    demands = [Demand("a1", "s", "t", 10.0, group="A"), Demand("a2", "s", "t", 10.0, group="A"),
               Demand("b1", "s", "t", 10.0, group="B")]
    sol = solve(link(), demands, {"A": Group("A"), "B": Group("B", weight=3)})
    assert_allocation(sol, {"a1": 1.25, "a2": 1.25, "b1": 7.5})
    assert sol.objective == "max-min" and sol.status == "optimal" and sol.stats["lps"] > 0
    totals = {g["name"]: g["allocated_bps"] for g in group_totals(sol, {"A": Group("A"), "B": Group("B", weight=3)})}
    assert totals == pytest.approx({"A": 2.5, "B": 7.5}, rel=RTOL)


def test_b_capped_group_beside_an_ungrouped_demand():
    """A group capped at 3 (weights 1, 1, 2) and an ungrouped demand on a link of 10: 0.75/0.75/1.5 and 7."""
    demands = [Demand("g1", "s", "t", 10.0, group="G"), Demand("g2", "s", "t", 10.0, group="G"),
               Demand("g3", "s", "t", 10.0, weight=2.0, group="G"), Demand("u", "s", "t", 10.0)]
    groups = {"G": Group("G", rate_cap_bps=3.0)}
    sol = solve(link(), demands, groups)
    assert_allocation(sol, {"g1": 0.75, "g2": 0.75, "g3": 1.5, "u": 7.0})
    assert certificate(sol, groups) == []


def test_b_cap_below_requests_and_ungrouped_weight():
    """An ungrouped demand's weight is its group weight: weight 3 against a group of weight 1 takes 3/4."""
    demands = [Demand("g1", "s", "t", 10.0, group="G"), Demand("g2", "s", "t", 1.0, group="G"),
               Demand("u", "s", "t", 10.0, weight=3.0)]
    sol = solve(link(), demands, {"G": Group("G")})
    # G gets 2.5 of which g2 (request 1) takes 1 and g1 the rest
    assert_allocation(sol, {"g1": 1.5, "g2": 1.0, "u": 7.5})


def test_c_guaranteed_floor_comes_before_the_weights():
    """G (weight 1, guaranteed 6) against H (weight 3) on 10: G keeps 6, H gets 4 (without the floor: 2.5, 7.5)."""
    demands = [Demand("g", "s", "t", 10.0, group="G"), Demand("h", "s", "t", 10.0, group="H")]
    with_floor = {"G": Group("G", guaranteed_bps=6.0), "H": Group("H", weight=3.0)}
    assert_allocation(solve(link(), demands, with_floor), {"g": 6.0, "h": 4.0})
    without = {"G": Group("G"), "H": Group("H", weight=3.0)}
    assert_allocation(solve(link(), demands, without), {"g": 2.5, "h": 7.5})
    # a floor below the weighted share changes nothing
    small = {"G": Group("G", guaranteed_bps=1.0), "H": Group("H", weight=3.0)}
    assert_allocation(solve(link(), demands, small), {"g": 2.5, "h": 7.5})


def test_c_floors_that_do_not_fit_are_met_in_proportion():
    """Floors 8 and 4 on a link of 6: 4 and 2; a group without a floor gets nothing; requests bound floors."""
    demands = [Demand("a", "s", "t", 10.0, group="A"), Demand("b", "s", "t", 10.0, group="B"),
               Demand("c", "s", "t", 10.0, group="C")]
    groups = {"A": Group("A", guaranteed_bps=8.0), "B": Group("B", guaranteed_bps=4.0), "C": Group("C", weight=9.0)}
    assert_allocation(solve(link(6.0), demands, groups), {"a": 4.0, "b": 2.0, "c": 0.0})
    # A's floor is bounded by its request (2): A 2, B 4, and C shares the rest by weight with them
    demands[0] = Demand("a", "s", "t", 2.0, group="A")
    assert_allocation(solve(link(7.0), demands, groups), {"a": 2.0, "b": 4.0, "c": 1.0})


def test_c_floor_with_a_cap_and_members():
    """A floor is spread over the group's members by their weights; the cap still bounds the group."""
    demands = [Demand("g1", "s", "t", 10.0, group="G"), Demand("g2", "s", "t", 10.0, weight=3.0, group="G"),
               Demand("u", "s", "t", 10.0, weight=100.0)]
    groups = {"G": Group("G", rate_cap_bps=5.0, guaranteed_bps=4.0)}
    assert_allocation(solve(link(), demands, groups), {"g1": 1.0, "g2": 3.0, "u": 6.0})


def redistribution_graph():
    """Link ``s -> t`` of 10 shared by all; ``a2`` also crosses its own bottleneck ``x -> s`` of 1."""
    g = nx.DiGraph()
    for u, v, cap in [("s", "t", 10.0), ("x", "s", 1.0)]:
        g.add_edge(u, v, capacity=cap, weight=1.0)
    demands = [Demand("a1", "s", "t", 10.0, group="A"), Demand("a2", "x", "t", 10.0, group="A"),
               Demand("b1", "s", "t", 10.0, group="B")]
    return g, demands


def test_d_a_member_held_by_its_own_bottleneck_leaves_its_share_to_its_siblings():
    """A and B get 5 each; a2 can use only 1 of A's 5, so a1 takes 4 (flat max-min would give a1 and b1 4.5)."""
    g, demands = redistribution_graph()
    groups = {"A": Group("A"), "B": Group("B")}
    sol = solve(g, demands, groups)
    assert_allocation(sol, {"a1": 4.0, "a2": 1.0, "b1": 5.0})
    assert certificate(sol, groups) == []
    flat = te.solve(g, [Demand(d.id, d.src, d.dst, d.rate_bps) for d in demands], "max-min")
    assert_allocation(flat, {"a1": 4.5, "a2": 1.0, "b1": 4.5})


def test_d_multipath_members_and_groups():
    """Members spread over two paths; the groups' totals are what weights say, the members' within them."""
    g = nx.DiGraph()
    for u, v, cap in [("s", "m", 6.0), ("m", "t", 6.0), ("s", "t", 4.0)]:
        g.add_edge(u, v, capacity=cap, weight=1.0)
    demands = [Demand("a1", "s", "t", 20.0, group="A"), Demand("a2", "s", "m", 20.0, group="A"),
               Demand("b1", "s", "t", 20.0, group="B")]
    groups = {"A": Group("A"), "B": Group("B", weight=4.0)}
    sol = solve(g, demands, groups, k=2)
    # cut {s-m, s-t} carries everything (10): A 2, B 8; A's 2 split 1/1 (a2 can use s-m alone)
    assert_allocation(sol, {"a1": 1.0, "a2": 1.0, "b1": 8.0})


def test_e_priorities_with_groups_caps_count_higher_classes():
    """Class 1 first: g_hi takes 4 of G's cap of 6; in class 0, G has 2 left beside u."""
    demands = [Demand("g_hi", "s", "t", 4.0, priority=1, group="G"), Demand("g_lo", "s", "t", 10.0, group="G"),
               Demand("u", "s", "t", 10.0)]
    groups = {"G": Group("G", rate_cap_bps=6.0)}
    sol = solve(link(), demands, groups)
    assert_allocation(sol, {"g_hi": 4.0, "g_lo": 2.0, "u": 4.0})
    assert certificate(sol, groups) == []


def test_e_priorities_higher_class_takes_first_then_groups_share_the_rest():
    """Class 1 (weights 1:1 between two groups) fills 6 of 10; class 0's groups share the 4 left 1:3."""
    demands = [Demand("a_hi", "s", "t", 3.0, priority=1, group="A"), Demand("b_hi", "s", "t", 3.0, priority=1,
                                                                           group="B"),
               Demand("a_lo", "s", "t", 10.0, group="A"), Demand("b_lo", "s", "t", 10.0, group="B")]
    groups = {"A": Group("A"), "B": Group("B", weight=3.0)}
    assert_allocation(solve(link(), demands, groups), {"a_hi": 3.0, "b_hi": 3.0, "a_lo": 1.0, "b_lo": 3.0})
    # a guarantee counts what the group's higher class already got: A is owed 1 more in class 0
    groups = {"A": Group("A", guaranteed_bps=4.0), "B": Group("B", weight=3.0)}
    assert_allocation(solve(link(), demands, groups), {"a_hi": 3.0, "b_hi": 3.0, "a_lo": 1.0, "b_lo": 3.0})
    groups = {"A": Group("A", guaranteed_bps=5.0), "B": Group("B", weight=3.0)}
    assert_allocation(solve(link(), demands, groups), {"a_hi": 3.0, "b_hi": 3.0, "a_lo": 2.0, "b_lo": 2.0})


def test_everything_fits_gives_every_request_within_caps():
    demands = [Demand("a1", "s", "t", 1.0, group="A"), Demand("a2", "s", "t", 2.0, group="A"),
               Demand("u", "s", "t", 3.0)]
    assert_allocation(solve(link(), demands, {"A": Group("A", rate_cap_bps=5.0)}), {"a1": 1.0, "a2": 2.0, "u": 3.0})
    # the cap binds although the link has room
    assert_allocation(solve(link(), demands, {"A": Group("A", rate_cap_bps=1.5)}), {"a1": 0.75, "a2": 0.75, "u": 3.0})


def test_own_scale_tiny_group_beside_huge_links():
    """A group capped at 1 bit/s beside 100 Gbit/s demands: its members get 0.5 each, to 1e-6 of that."""
    g = link(1e11)
    demands = [Demand("big", "s", "t", 1e12), Demand("t1", "s", "t", 1e12, group="T"),
               Demand("t2", "s", "t", 1e12, group="T"), Demand("tiny", "s", "t", 1.0, group="U")]
    groups = {"T": Group("T", rate_cap_bps=1.0), "U": Group("U")}
    sol = solve(g, demands, groups)
    assert_allocation(sol, {"t1": 0.5, "t2": 0.5, "tiny": 1.0, "big": 1e11 - 2.0}, atol=0.0)


def test_without_group_names_it_is_weighted_max_min():
    """Groups given but no demand in any: the hierarchical solver gives flat weighted max-min."""
    g = nx.DiGraph()
    for u, v in [("a", "b"), ("b", "c"), ("d", "b")]:
        g.add_edge(u, v, capacity=8.0, weight=1.0)
    demands = [Demand("x", "a", "c", 10.0), Demand("y", "d", "c", 10.0, weight=3.0)]
    assert hierarchical("max-min", demands, {"G": Group("G")}) and not hierarchical("max-min", demands)
    assert_allocation(solve(g, demands, {"G": Group("G")}), {"x": 2.0, "y": 6.0})


def test_auto_paths_use_the_fallback_k():
    g = nx.complete_graph(6, nx.DiGraph)
    nx.set_edge_attributes(g, 1.0, "capacity")
    g = nx.relabel_nodes(g, str)
    demands = [Demand("x", "0", "1", 9.0, group="G")]
    cands = candidates_for(g, demands, "max-min", k="auto", groups={"G": Group("G")})
    assert len(cands.paths) == AUTO_FALLBACK_K
    sol = te.solve(g, demands, "max-min", k="auto", groups={"G": Group("G")})
    assert sol.allocated_bps[0] == pytest.approx(AUTO_FALLBACK_K, rel=RTOL)


def test_zero_requests_and_unused_groups():
    demands = [Demand("z", "s", "t", 0.0, group="A"), Demand("a", "s", "t", 4.0, group="A"),
               Demand("b", "s", "t", 20.0, group="B")]
    groups = {"A": Group("A"), "B": Group("B"), "unused": Group("unused", rate_cap_bps=1.0)}
    sol = solve(link(), demands, groups)
    assert_allocation(sol, {"z": 0.0, "a": 4.0, "b": 6.0})
    assert [g["allocated_bps"] for g in group_totals(sol, groups)] == pytest.approx([4.0, 6.0, 0.0])


# ----------------------------------------------------------------------------- (f) other objectives: caps only

@pytest.mark.parametrize("objective", ["max-throughput", "min-mlu", "max-min-fast", "ecmp"])
def test_f_other_objectives_keep_the_caps_by_scaling_down(objective):
    demands = [Demand("g1", "s", "t", 4.0, group="G"), Demand("g2", "s", "t", 2.0, group="G"),
               Demand("u", "s", "t", 2.0)]
    groups = {"G": Group("G", weight=5.0, rate_cap_bps=3.0, guaranteed_bps=1.0)}
    sol = te.solve(link(), demands, objective, groups=groups)
    check_solution(sol, link(), capacity=True)
    assert_allocation(sol, {"g1": 2.0, "g2": 1.0, "u": 2.0})
    assert sol.objective == objective and sol.stats["groups_scaled"] == 1


def test_f_max_throughput_post_pass_values():
    demands = [Demand("g1", "s", "t", 4.0, group="G"), Demand("g2", "s", "t", 2.0, group="G"),
               Demand("u", "s", "t", 2.0)]
    sol = te.solve(link(), demands, "max-throughput", groups=[Group("G", rate_cap_bps=3.0)])
    assert sol.objective_value == pytest.approx(5.0) and sol.load_bps.tolist() == pytest.approx([5.0])
    # no cap crossed: the solution is left as it is
    same = apply_group_caps(sol, [Group("G", rate_cap_bps=30.0)])
    assert same.allocated_bps.tolist() == sol.allocated_bps.tolist() and same.stats["groups_scaled"] == 0
    # max-min with the same groups is hierarchical, not scaled afterwards
    assert "groups_scaled" not in te.solve(link(), demands, "max-min", groups=[Group("G", rate_cap_bps=3.0)]).stats


def test_f_generated_paths_keep_caps():
    g = nx.DiGraph()
    for u, v, cap in [("s", "t", 2.0), ("s", "m", 5.0), ("m", "t", 5.0)]:
        g.add_edge(u, v, capacity=cap, weight=1.0)
    demands = [Demand("g", "s", "t", 6.0, group="G")]
    sol = te.solve(g, demands, "max-throughput", k="auto", groups={"G": Group("G", rate_cap_bps=4.0)})
    assert sol.allocated_bps.tolist() == pytest.approx([4.0])


# ----------------------------------------------------------------------------- (g) bad inputs

@pytest.mark.parametrize("kwargs, message", [
    ({"name": ""}, "group name must be a non-empty string, got ''"),
    ({"name": 3}, "group name must be a non-empty string, got 3"),
    ({"name": "g", "weight": 0}, "group g: weight must be a finite number > 0, got 0"),
    ({"name": "g", "weight": -1.5}, "group g: weight must be a finite number > 0, got -1.5"),
    ({"name": "g", "weight": float("nan")}, "group g: weight must be a finite number > 0, got nan"),
    ({"name": "g", "weight": "2"}, "group g: weight must be a finite number > 0, got '2'"),
    ({"name": "g", "weight": True}, "group g: weight must be a finite number > 0, got True"),
    ({"name": "g", "rate_cap_bps": 0.0}, "group g: rate_cap_bps must be a finite number > 0, got 0.0"),
    ({"name": "g", "rate_cap_bps": float("inf")}, "group g: rate_cap_bps must be a finite number > 0, got inf"),
    ({"name": "g", "guaranteed_bps": 2 * MAX_BPS}, "group g: guaranteed_bps 2e+15 is above 1e+15 bit/s"),
    ({"name": "g", "rate_cap_bps": 1.0, "guaranteed_bps": 2.0},
     "group g: guaranteed_bps 2 is above its rate_cap_bps 1"),
])
def test_g_bad_groups(kwargs, message):
    with pytest.raises(InvalidInput) as err:
        Group(**kwargs)
    assert str(err.value).startswith(message) and "\n" not in str(err.value)


def test_g_bad_references():
    with pytest.raises(InvalidInput, match=r"^demand d: group must be a non-empty name or None, got ''$"):
        Demand("d", "s", "t", 1.0, group="")
    demands = [Demand("d", "s", "t", 1.0, group="nope")]
    for objective in ("max-min", "max-throughput"):
        with pytest.raises(InvalidInput, match=r"^demand d: unknown group 'nope' \(groups: G\)$"):
            te.solve(link(), demands, objective, groups={"G": Group("G")})
    with pytest.raises(InvalidInput, match=r"^demand d: unknown group 'nope' \(no groups are defined\)$"):
        te.solve(link(), demands)
    with pytest.raises(InvalidInput, match=r"^group G: listed under another name, 'H'$"):
        check_groups({"H": Group("G")})
    with pytest.raises(InvalidInput, match=r"^group G is defined twice$"):
        check_groups([Group("G"), Group("G", weight=2)])
    with pytest.raises(InvalidInput, match=r"^group G: expected a te.hierarchy.Group, got dict$"):
        check_groups({"G": {"weight": 1}})


def test_demand_repr_and_equality_with_groups():
    d = Demand("d", "s", "t", 1.0, group="G")
    assert repr(d) == "Demand(id='d', src='s', dst='t', rate_bps=1.0, weight=1.0, priority=0)"
    assert d != Demand("d", "s", "t", 1.0) and d == Demand("d", "s", "t", 1.0, group="G")


# ----------------------------------------------------------------------------- files and te-solve

TOPOLOGY = {"directed": True, "nodes": [{"id": "s"}, {"id": "t"}],
            "links": [{"source": "s", "target": "t", "capacity": "10M"}]}
GROUPED = {"groups": [{"name": "web", "weight": 1, "rate_cap_bps": "3M"}, {"name": "bulk", "weight": 3,
                                                                         "guaranteed_bps": "1M"}],
           "demands": [{"id": "w1", "src": "s", "dst": "t", "rate_bps": "10M", "group": "web"},
                       {"id": "w2", "src": "s", "dst": "t", "rate_bps": "10M", "weight": 2, "group": "web"},
                       {"id": "b", "src": "s", "dst": "t", "rate_bps": "10M", "group": "bulk"},
                       {"id": "u", "src": "s", "dst": "t", "rate_bps": "10M"}]}


@pytest.fixture
def files(tmp_path):
    topo, demands = tmp_path / "topo.json", tmp_path / "demands.json"
    topo.write_text(json.dumps(TOPOLOGY))

    def write(doc):
        demands.write_text(json.dumps(doc))
        return ["--topology", str(topo), "--demands", str(demands)]

    return write


def test_read_demand_file_groups_and_backward_compatibility(files, tmp_path):
    files(GROUPED)
    graph = te.read_topology(tmp_path / "topo.json")
    demands, groups = read_demand_file(tmp_path / "demands.json", graph)
    assert [d.group for d in demands] == ["web", "web", "bulk", None]
    assert groups == {"web": Group("web", 1.0, 3e6), "bulk": Group("bulk", 3.0, guaranteed_bps=1e6)}
    assert read_demands(tmp_path / "demands.json", graph) == demands
    files(GROUPED["demands"][3:])  # a plain list: no groups
    assert read_demand_file(tmp_path / "demands.json", graph) == (read_demands(tmp_path / "demands.json", graph), {})


BAD_FILES = [
    ({"demands": [{"src": "s", "dst": "t", "rate_bps": 1, "group": "x"}]},
     "demand d0: unknown group 'x' (the file defines no groups)"),
    ({"groups": [{"name": "a"}], "demands": [{"src": "s", "dst": "t", "rate_bps": 1, "group": "x"}]},
     "demand d0: unknown group 'x' (groups: a)"),
    ({"groups": [{"name": "a"}, {"name": "a", "weight": 2}], "demands": []}, "group a is defined twice"),
    ({"groups": [{"name": "a", "rate_cap_bps": "1M", "guaranteed_bps": "2M"}], "demands": []},
     "group a: guaranteed_bps 2e+06 is above its rate_cap_bps 1e+06"),
    ({"groups": [{"name": "a", "weight": 0}], "demands": []}, "group a: weight must be a finite number > 0, got 0"),
    ({"groups": [{"name": "a", "weight": "heavy"}], "demands": []},
     "group a: weight must be a finite number > 0, got 'heavy'"),
    ({"groups": [{"name": "a", "ceil": "1M"}], "demands": []},
     "group a: unknown field 'ceil' (known: guaranteed_bps, name, rate_cap_bps, weight)"),
    ({"groups": [{"weight": 1}], "demands": []}, "group #0: 'name' must be a non-empty string, got None"),
    ({"groups": {"a": {}}, "demands": []}, "'groups' must be a list of groups, got dict"),
    ({"groups": [{"name": "a", "rate_cap_bps": "5MB"}], "demands": []}, "group a: rate_cap_bps: not a rate: '5MB'"),
    ({"groups": [{"name": "a", "rate_cap_bps": -1}], "demands": []},
     "group a: rate_cap_bps must be a finite number > 0, got -1.0"),
    ({"groups": [], "demands": [{"src": "s", "dst": "t", "rate_bps": 1, "group": 5}]},
     "demand d0: group must be a group's name, got 5"),
    ({"groups": [{"name": "a"}]}, "expected a JSON list of demands"),
]


@pytest.mark.parametrize("doc, message", BAD_FILES)
def test_g_bad_group_files_exit_2_with_one_line(files, capsys, doc, message):
    args = files(doc)
    assert main(args + ["--objective", "max-min"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("te-solve: error: ") and err.count("\n") == 1 and message in err, err
    with pytest.raises(InvalidInput):
        read_demand_file(args[3], te.read_topology(args[1]))


def test_te_solve_shows_group_totals(files, capsys, tmp_path):
    args = files(GROUPED)
    assert main(args + ["--objective", "max-min"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    head = lines.index("groups:")
    assert lines[head + 1].split() == ["group", "weight", "demands", "requested", "allocated", "cap", "guaranteed"]
    # web (weight 1), bulk (weight 3, floor 1M) and u (weight 1) on 10M: 2M, 6M, 2M
    assert lines[head + 2].split() == ["web", "1", "2", "20.000", "Mbit/s", "2.000", "Mbit/s", "3.000", "Mbit/s", "-"]
    assert lines[head + 3].split() == ["bulk", "3", "1", "10.000", "Mbit/s", "6.000", "Mbit/s", "-", "1.000",
                                       "Mbit/s"]
    output = tmp_path / "out.json"
    assert main(args + ["--objective", "max-throughput", "--output", str(output)]) == 0
    doc = json.loads(output.read_text())
    assert [(g["name"], g["allocated_bps"], g["rate_cap_bps"]) for g in doc["groups"]] == \
        [("web", pytest.approx(3e6), 3e6), ("bulk", pytest.approx(2.5e6), None)]
    assert {d["id"]: d["group"] for d in doc["demands"]} == {"w1": "web", "w2": "web", "b": "bulk", "u": None}
    assert doc["groups"][0]["requested_bps"] == 2e7


def test_te_solve_without_groups_has_no_group_table(files, capsys):
    args = files(GROUPED["demands"][3:])
    assert main(args + ["--objective", "max-min"]) == 0
    assert "groups:" not in capsys.readouterr().out


def test_te_solve_max_paths_with_groups_is_refused(files, capsys):
    args = files(GROUPED)
    assert main(args + ["--objective", "max-min", "--max-paths", "2"]) == 2
    assert "--max-paths: max-min with groups generates no paths" in capsys.readouterr().err


# ----------------------------------------------------------------------------- (h) randomized cross-check

def _reference_max_min(cands, rows_of, weight, cap, floor, holds, uppers, active_demands):
    """Lexicographic weighted max-min of entity totals by the textbook method: maximise the level, then one LP
    per entity asks whether it can exceed it; no duals. Unscaled scipy LPs (small numbers only).

    ``rows_of[e]``: member demand ids; ``holds``/``uppers``: lists of (demand ids, bound); demands outside
    ``active_demands`` and not held carry nothing.
    """
    n_paths = len(cands.paths)
    owner = cands.path_demand
    arc_rows = cands.path_arc.T.toarray()

    def total(ids):
        return np.isin(owner, list(ids)).astype(float)

    n_e = len(weight)
    value = np.zeros(n_e)
    frozen = np.array(cap) <= 1e-12
    residue = 1e-7 * float(cands.capacity_bps.max())  # what the holds' slack (1e-9 of a value) can leave free
    allowed = np.isin(owner, list(active_demands) + [i for ids, _ in holds for i in ids])
    bounds = [(0, None) if ok else (0, 0) for ok in allowed] + [(0, None)]

    def constraints(t_fixed=None, growing=()):
        A, b = [np.c_[arc_rows, np.zeros(len(arc_rows))]], [cands.capacity_bps]
        for ids, hi in uppers:
            A.append(np.r_[total(ids), 0.0][None]), b.append([hi])
        for ids, lo in holds:
            A.append(-np.r_[total(ids), 0.0][None]), b.append([-lo])
        for e in range(n_e):
            if frozen[e]:
                A.append(-np.r_[total(rows_of[e]), 0.0][None]), b.append([-value[e] * (1 - 1e-9)])
            else:
                A.append(-np.r_[total(rows_of[e]), 0.0][None]), b.append([-floor[e] * (1 - 1e-9)])
                if e in growing:
                    A.append(np.r_[-total(rows_of[e]), weight[e]][None]), b.append([0.0])
        return np.vstack(A), np.concatenate(b)

    requests = np.array([d.rate_bps for d in cands.demands])
    uppers = uppers + [([i], requests[i]) for i in range(len(requests))]  # every demand within its request
    while not frozen.all():
        growing = [e for e in range(n_e) if not frozen[e]]
        top = min(cap[e] / weight[e] for e in growing)
        A, b = constraints(growing=growing)
        c = np.r_[np.zeros(n_paths), -1.0]
        res = linprog(c, A, b, bounds=bounds[:-1] + [(0, top)], method="highs")
        assert res.status == 0
        t = res.x[-1]
        progress = False
        for e in growing:
            level = min(cap[e], max(floor[e], weight[e] * t))
            if cap[e] / weight[e] <= t * (1 + 1e-9):
                value[e], frozen[e], progress = cap[e], True, True
                continue
            others = [o for o in growing if o != e]
            A, b = constraints(growing=others)
            c = np.r_[-total(rows_of[e]), 0.0]
            res = linprog(c, A, b, bounds=bounds[:-1] + [(t * (1 - 1e-9), t * (1 - 1e-9))], method="highs")
            assert res.status == 0
            if -res.fun <= level * (1 + 1e-7) + residue:
                value[e], frozen[e], progress = level, True, True
        assert progress
    return value


def reference(cands, groups):
    """Hierarchical max-min as the module notes say it, class by class, with :func:`_reference_max_min`."""
    demands = cands.demands
    requests = np.array([d.rate_bps for d in demands])
    value = np.zeros(len(demands))
    done = set()
    for level in sorted({d.priority for d in demands}, reverse=True):
        members = [i for i, d in enumerate(demands) if d.priority == level and requests[i] > 0]
        holds = [([i], value[i] * (1 - 1e-9)) for i in done if value[i] > 0]
        entities = {}
        for i in members:
            entities.setdefault(demands[i].group or ("", i), []).append(i)
        keys = list(entities)
        rows = [entities[k] for k in keys]
        weight, cap, floor = [], [], []
        for key, ids in zip(keys, rows):
            need = requests[ids].sum()
            if isinstance(key, str):
                group = groups[key]
                got = sum(value[i] for i in done if demands[i].group == key)
                u = need if group.rate_cap_bps is None else max(0.0, min(need, group.rate_cap_bps - got))
                f = 0.0 if group.guaranteed_bps is None else min(max(0.0, group.guaranteed_bps - got), u)
                weight.append(group.weight), cap.append(u), floor.append(f)
            else:
                weight.append(demands[ids[0]].weight), cap.append(need), floor.append(0.0)
        uppers = [([i], requests[i]) for ids in rows if len(ids) > 1 for i in ids]
        with_floor = [e for e in range(len(rows)) if floor[e] > 0]
        reached = np.zeros(len(rows))
        if with_floor:
            floors = [floor[e] for e in with_floor]
            reached[with_floor] = _reference_max_min(cands, [rows[e] for e in with_floor], floors, floors,
                                                     [0.0] * len(with_floor), holds, uppers,
                                                     [i for e in with_floor for i in rows[e]])
        totals = _reference_max_min(cands, rows, weight, cap, reached, holds, uppers, members)
        # stage B
        split = [e for e in range(len(rows)) if len(rows[e]) > 1 and 0 < totals[e] < requests[rows[e]].sum()]
        for e in range(len(rows)):
            if e not in split:
                ids = rows[e]
                value[ids] = requests[ids] if len(ids) > 1 and totals[e] > 0 else min(totals[e], requests[ids[0]])
        fixed = [([i], value[i] * (1 - 1e-9)) for e in range(len(rows)) if e not in split for i in rows[e]
                 if value[i] > 0]
        if split:
            ids = [i for e in split for i in rows[e]]
            flat = [demands[i].weight * weight[e] / sum(demands[j].weight for j in rows[e]) for e in split
                    for i in rows[e]]
            group_holds = [(rows[e], totals[e] * (1 - 1e-7)) for e in split]
            group_uppers = [(rows[e], totals[e] * (1 + 1e-7)) for e in split]
            got = _reference_max_min(cands, [[i] for i in ids], flat, requests[ids], [0.0] * len(ids),
                                     holds + fixed + group_holds, group_uppers, ids)
            value[ids] = got
        done |= set(members)
    return value


def random_case(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(4, 7))
    g = nx.gnp_random_graph(n, 0.5, seed=int(seed), directed=True)
    g.add_edges_from((i, (i + 1) % n) for i in range(n))  # strongly connected
    g = nx.relabel_nodes(g, str)
    for u, v in g.edges:
        g[u][v]["capacity"] = float(rng.choice([2.0, 5.0, 10.0]))
        g[u][v]["weight"] = 1.0
    groups = {}
    for name in ("A", "B", "C"):
        cap = float(rng.choice([3.0, 8.0])) if rng.random() < 0.5 else None
        floor = float(rng.choice([1.0, 2.0])) if rng.random() < 0.4 else None
        if cap is not None and floor is not None:
            floor = min(floor, cap)
        groups[name] = Group(name, float(rng.choice([1.0, 2.0, 3.0])), cap, floor)
    demands = []
    for i in range(int(rng.integers(3, 8))):
        src, dst = rng.choice(n, 2, replace=False)
        group = rng.choice(["A", "B", "C", None, None])
        demands.append(Demand(f"d{i}", str(src), str(dst), float(rng.choice([1.0, 4.0, 20.0])),
                              float(rng.choice([1.0, 2.0])), int(rng.random() < 0.25), group))
    return g, demands, groups


@pytest.mark.parametrize("seed", range(12))
def test_h_random_cases_match_the_reference_and_the_certificate(seed):
    g, demands, groups = random_case(seed)
    cands = candidate_paths(g, demands, k=2)
    sol = solve_hierarchical(cands, groups)
    check_solution(sol, g, maximal=False)
    assert certificate(sol, groups) == []
    expected = reference(cands, groups)
    got = sol.allocated_bps
    scale = max(float(cands.capacity_bps.max()), 1.0)
    assert np.allclose(got, expected, rtol=1e-5, atol=1e-5 * scale), (seed, got.tolist(), expected.tolist())
    # brute-force properties: within requests and caps, and a group below its cap and requests is
    # blocked: each of its members short of its request has every candidate path through a full link
    for row in group_totals(sol, groups):
        if row["rate_cap_bps"] is not None:
            assert row["allocated_bps"] <= row["rate_cap_bps"] * (1 + 1e-9)
    full = sol.load_bps >= sol.capacity_bps * (1 - 1e-6)
    arc = {a: j for j, a in enumerate(sol.arcs)}
    for i, d in enumerate(sol.demands):
        group = groups.get(d.group)
        capped = group is not None and group.rate_cap_bps is not None and \
            sum(got[j] for j, e in enumerate(sol.demands) if e.group == d.group) >= group.rate_cap_bps * (1 - 1e-6)
        if got[i] < d.rate_bps * (1 - 1e-6) and not capped:
            for path, _ in sol.routes(i):
                assert any(full[arc[a]] for a in zip(path, path[1:])), (seed, d.id, path)


@pytest.mark.parametrize("seed", range(4))
def test_h_without_groups_equals_flat_max_min(seed):
    g, demands, _ = random_case(100 + seed)
    demands = [Demand(d.id, d.src, d.dst, d.rate_bps, d.weight, d.priority) for d in demands]
    cands = candidate_paths(g, demands, k=2)
    flat = build(cands, "max-min").solve()
    hier = solve_hierarchical(cands, {})
    assert np.allclose(hier.allocated_bps, flat.allocated_bps, rtol=1e-6, atol=1e-6)


def test_alpha_fair_inside_groups_keeps_the_groups_totals_and_shares_them_alpha_fairly():
    """One link of 10: group a (weight 1) has x and y, y also crossing a link of 1; ungrouped u. Groups share
    5 / 5 (max-min); inside a, proportional fairness (alpha 1) with y capped by its link at 1 gives x 4, y 1;
    with weights 1:3 and no side link, alpha 1 splits a's 5 as 1.25 / 3.75 (max-min would too: by weight),
    and alpha 0.5 as (w_i^2 share) 0.5 / 4.5."""
    import networkx as nx

    from te.engine import build
    from te.hierarchy import Group
    from te.model import Demand
    from te.paths import candidate_paths

    g = nx.DiGraph()
    for u, v, c in (("s", "t", 10.0), ("t", "z", 1.0)):
        g.add_edge(u, v, capacity=c, weight=1.0)
    ds = [Demand("x", "s", "t", 10.0, group="a"), Demand("y", "s", "z", 10.0, group="a"), Demand("u", "s", "t", 10.0)]
    sol = build(candidate_paths(g, ds), "alpha-fair", alpha=1.0, groups={"a": Group("a")}).solve()
    assert sol.allocated_bps.tolist() == pytest.approx([4.0, 1.0, 5.0], abs=1e-5)
    ds = [Demand("x", "s", "t", 10.0, group="a"), Demand("y", "s", "t", 10.0, weight=3.0, group="a"),
          Demand("u", "s", "t", 10.0)]
    for alpha, want in ((1.0, [1.25, 3.75, 5.0]), (0.5, [0.5, 4.5, 5.0]), (2.0, [5 / (1 + 3 ** 0.5), 5 * 3 ** 0.5 / (1 + 3 ** 0.5), 5.0])):
        sol = build(candidate_paths(g, ds), "alpha-fair", alpha=alpha, groups={"a": Group("a")}).solve()
        assert sol.allocated_bps.tolist() == pytest.approx(want, rel=2e-5), alpha  # Clarabel: ~1e-5
    # the post-pass case of the other objectives: G capped at 3 shares it 1.5 / 1.5 (alpha 1), not 2 / 1
    demands = [Demand("g1", "s", "t", 4.0, group="G"), Demand("g2", "s", "t", 2.0, group="G"),
               Demand("u", "s", "t", 2.0)]
    sol = te.solve(link(), demands, "alpha-fair", groups={"G": Group("G", weight=5.0, rate_cap_bps=3.0)})
    assert sol.allocated_bps.tolist() == pytest.approx([1.5, 1.5, 2.0], rel=2e-5) and sol.status == "optimal"
