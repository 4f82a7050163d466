"""te.updates: congestion-free update plans (SWAN), checked for every order of switch updates.

Every plan is verified by :func:`te.updates.check_plan`, which enumerates every subset of flows
already switched in every transition (all orders of the ingress switches), independently of the
worst-case formula the planner uses.
"""
import math
import random

import networkx as nx
import pytest

from te.errors import InvalidInput
from te.updates import MAX_CHECK_FLOWS, RTOL, Violation, check_plan, one_shot_overload, plan_update, swan_bound

UP, DOWN = ("s", "x", "t"), ("s", "y", "t")


def two_paths(cap):
    return {("s", "x"): cap, ("x", "t"): cap, ("s", "y"): cap, ("y", "t"): cap}


def totals(alloc, flow):
    return sum(alloc.get(flow, {}).values())


def assert_valid(old, new, capacity, plan):
    """Feasible, ends at new, passes the brute-force check, keeps every flow's rate policy and paths."""
    assert plan.feasible and plan.reason is None
    assert plan.steps[-1] == new
    assert len(plan.worst) == len(plan.steps)
    assert max(plan.worst) <= 1 + RTOL
    assert check_plan(old, plan.steps, capacity) == []
    for flow in set(old) | set(new):
        lo, hi = sorted((totals(old, flow), totals(new, flow)))
        allowed = set(old.get(flow, {})) | set(new.get(flow, {}))
        for step in plan.steps[:-1]:
            assert lo * (1 - 1e-7) - 1e-9 <= totals(step, flow) <= hi * (1 + 1e-7) + 1e-9
            assert set(step[flow]) <= allowed
            assert all(rate >= 0 for rate in step[flow].values())


# ----------------------------------------------------------------------------- SWAN's example

def test_swan_example_direct_update_congests():
    """Two flows swap paths, every link 2/3 full: switched at once a link may carry 2 + 2 of 3."""
    cap = two_paths(3e9)
    old, new = {"f": {UP: 2e9}, "g": {DOWN: 2e9}}, {"f": {DOWN: 2e9}, "g": {UP: 2e9}}
    assert one_shot_overload(old, new, cap) == pytest.approx(4 / 3)
    bad = check_plan(old, [new], cap)
    # Only when exactly one of them has switched; either order congests.
    assert {v.switched for v in bad} == {frozenset({"f"}), frozenset({"g"})}
    assert Violation(1, frozenset({"f"}), ("s", "y"), 4e9, 3e9) in bad
    assert {v.arc for v in bad} == set(cap)


def test_swan_example_two_steps_with_a_third_of_scratch():
    """Hand-computed: halfway first (1 + 1 on each path); every transition fills links exactly (2 + 1 = 3)."""
    cap = two_paths(3e9)
    old, new = {"f": {UP: 2e9}, "g": {DOWN: 2e9}}, {"f": {DOWN: 2e9}, "g": {UP: 2e9}}
    assert swan_bound(1 / 3) == 2
    plan = plan_update(old, new, cap, scratch=1 / 3)
    assert_valid(old, new, cap, plan)
    assert plan.steps == [{"f": {UP: 1e9, DOWN: 1e9}, "g": {DOWN: 1e9, UP: 1e9}}, new]
    assert plan.worst == [1.0, 1.0]
    refused = plan_update(old, new, cap, scratch=1 / 3, max_steps=1)
    assert not refused.feasible and refused.steps == [] and refused.worst == []
    assert "updating in one step loads link" in refused.reason and "1.333 times" in refused.reason
    assert "SWAN's bound for scratch 0.3333 is 2 steps" in refused.reason


def test_more_scratch_needs_fewer_steps():
    cap = two_paths(4.0)
    old, new = {"f": {UP: 2.0}, "g": {DOWN: 2.0}}, {"f": {DOWN: 2.0}, "g": {UP: 2.0}}
    plan = plan_update(old, new, cap, scratch=0.5)
    assert plan.steps == [new] and plan.worst == [1.0]
    # A quarter of scratch: 3 of 4 used, SWAN's bound is 3 transitions, and 3 are needed
    # (each transition adds 3/n of the other flow on a link already carrying 3).
    old, new = {"f": {UP: 3.0}, "g": {DOWN: 3.0}}, {"f": {DOWN: 3.0}, "g": {UP: 3.0}}
    plan = plan_update(old, new, cap, scratch=0.25)
    assert_valid(old, new, cap, plan)
    assert len(plan.steps) == swan_bound(0.25) == 3
    assert not plan_update(old, new, cap, scratch=0.25, max_steps=2).feasible


def test_no_scratch_is_infeasible():
    cap = two_paths(2.0)
    old, new = {"f": {UP: 2.0}, "g": {DOWN: 2.0}}, {"f": {DOWN: 2.0}, "g": {UP: 2.0}}
    assert swan_bound(0.0) is None
    plan = plan_update(old, new, cap, scratch=0.0)  # default: the direct update only
    assert not plan.feasible and plan.steps == []
    assert "updating in one step" in plan.reason and "no scratch" in plan.reason
    plan = plan_update(old, new, cap, scratch=0.0, max_steps=10)
    assert not plan.feasible
    assert plan.reason.startswith("no congestion-free plan of at most 10 steps: the best one loads link (")
    assert "1.1 times its capacity" in plan.reason  # 2 + 2/10 of 2: the best 10 transitions can do


def test_scratch_claimed_but_not_left_is_reported():
    cap = two_paths(2.0)
    old, new = {"f": {UP: 2.0}, "g": {DOWN: 2.0}}, {"f": {DOWN: 2.0}, "g": {UP: 2.0}}
    plan = plan_update(old, new, cap, scratch=0.25)
    assert not plan.feasible
    assert "the old allocation leaves only 0 of link" in plan.reason and "less than the scratch 0.25" in plan.reason


@pytest.mark.parametrize("side", ["old", "new"])
def test_an_overloaded_allocation_has_no_plan(side):
    cap = two_paths(3.0)
    fine, over = {"f": {UP: 1.0}}, {"f": {UP: 2.0}, "g": {("s", "x"): 1.5}}
    old, new = (over, fine) if side == "old" else (fine, over)
    plan = plan_update(old, new, cap, scratch=0.1)
    assert not plan.feasible
    assert plan.reason == (f"the {side} allocation loads link ('s', 'x') to 1.167 times its capacity: "
                           "no update to or from it is congestion-free")


def test_already_feasible_in_one_shot():
    cap = two_paths(10.0)
    old = {"f": {UP: 3.0, DOWN: 1.0}, "g": {DOWN: 2.0}}
    new = {"f": {UP: 1.0, DOWN: 3.0}, "g": {UP: 2.0}}
    assert one_shot_overload(old, new, cap) == pytest.approx(0.5)
    plan = plan_update(old, new, cap, scratch=0.1)
    assert plan.steps == [new] and plan.feasible and plan.worst == [pytest.approx(0.5)]
    assert check_plan(old, plan.steps, cap) == []
    assert plan_update(old, old, cap, scratch=0.0).steps == [old]  # nothing to change


# ----------------------------------------------------------------------------- new and deleted flows

def test_new_flow_waits_for_room():
    """h is new on UP, which f leaves: direct, h may arrive first (2 + 2 of 3)."""
    cap = two_paths(3.0)
    old, new = {"f": {UP: 2.0}}, {"f": {DOWN: 2.0}, "h": {UP: 2.0}}
    assert one_shot_overload(old, new, cap) == pytest.approx(4 / 3)
    plan = plan_update(old, new, cap, scratch=1 / 3)
    assert_valid(old, new, cap, plan)
    assert len(plan.steps) == 2
    assert set(plan.steps[0]) == {"f", "h"}


def test_deleted_flow_leaves_first():
    cap = two_paths(3.0)
    old, new = {"f": {DOWN: 2.0}, "h": {UP: 2.0}}, {"f": {UP: 2.0}}
    plan = plan_update(old, new, cap, scratch=1 / 3)
    assert_valid(old, new, cap, plan)
    assert len(plan.steps) == 2 and "h" not in plan.steps[-1]


def test_lp_clears_the_way_in_fewer_steps_than_the_interpolation():
    """f moves off UP (9 of 10) for a new flow h: the interpolation needs 9 steps (9 + 9/n <= 10),
    the LP two (f moves first while h waits at 0, which the rate policy allows: min(0, 9) = 0)."""
    cap = two_paths(10.0)
    old, new = {"f": {UP: 9.0}}, {"f": {DOWN: 9.0}, "h": {UP: 9.0}}
    plan = plan_update(old, new, cap, scratch=0.1)
    assert_valid(old, new, cap, plan)
    assert len(plan.steps) == 2
    first = plan.steps[0]
    assert first["f"][DOWN] == pytest.approx(9.0) and first["h"][UP] == pytest.approx(0.0, abs=1e-6)


def test_unchanged_flows_are_kept_whole():
    """A third flow that keeps its path never drops below its rate in the intermediate steps."""
    cap = two_paths(4.0)
    cap.update({("s", "z"): 4.0, ("z", "t"): 4.0})
    old = {"f": {UP: 3.0}, "g": {DOWN: 3.0}, "k": {("s", "z", "t"): 3.0}}
    new = {"f": {DOWN: 3.0}, "g": {UP: 3.0}, "k": {("s", "z", "t"): 3.0}}
    plan = plan_update(old, new, cap, scratch=0.25)
    assert_valid(old, new, cap, plan)
    assert all(step["k"] == {("s", "z", "t"): pytest.approx(3.0)} for step in plan.steps)


# ----------------------------------------------------------------------------- randomized

def random_case(seed):
    """3-5 flows with 2-3 paths each on a small random graph; old and new fill the busiest link to 1 - s."""
    rng = random.Random(seed)
    g = nx.gnm_random_graph(6, 10, seed=seed)
    g.add_edges_from(zip(range(5), range(1, 6)))
    capacity = {}
    for u, v in g.edges:
        c = float(rng.randint(5, 20))
        capacity[(str(u), str(v))] = capacity[(str(v), str(u))] = c
    dg = nx.DiGraph(list(capacity))
    scratch = rng.choice([0.1, 0.2, 0.25, 1 / 3, 0.4])
    flows = {}
    for i in range(rng.randint(3, 5)):
        while True:
            a, b = rng.sample(sorted(dg), 2)
            paths = [tuple(p) for p in nx.shortest_simple_paths(dg, a, b)]
            if len(paths) >= 2:
                break
        flows[f"f{i}"] = paths[:rng.randint(2, 3)]

    def allocation():
        alloc = {}
        for flow, paths in flows.items():
            if rng.random() < 0.15:  # absent: a new or deleted flow
                continue
            alloc[flow] = {p: rng.uniform(0.0, 5.0) if rng.random() < 0.7 else 0.0 for p in paths}
        loads = {}
        for paths in alloc.values():
            for p, rate in paths.items():
                for arc in zip(p, p[1:]):
                    loads[arc] = loads.get(arc, 0.0) + rate
        top = max((load / capacity[arc] for arc, load in loads.items()), default=0.0)
        factor = (1 - scratch) / top if top else 1.0
        return {f: {p: r * factor for p, r in paths.items()} for f, paths in alloc.items()}

    return allocation(), allocation(), capacity, scratch


@pytest.mark.parametrize("seed", range(40))
def test_random_plans_are_congestion_free_in_every_order(seed):
    old, new, cap, scratch = random_case(seed)
    plan = plan_update(old, new, cap, scratch=scratch)
    assert_valid(old, new, cap, plan)  # SWAN: always feasible with the scratch both leave
    assert len(plan.steps) <= swan_bound(scratch)
    if len(plan.steps) > 1:
        assert check_plan(old, [new], cap) != []  # the direct update really congests in some order
        assert one_shot_overload(old, new, cap) > 1
        fewer = plan_update(old, new, cap, scratch=scratch, max_steps=len(plan.steps) - 1)
        assert not fewer.feasible and "link (" in fewer.reason
    else:
        assert check_plan(old, [new], cap) == []


def test_random_cases_include_multi_step_plans():
    lengths = []
    for seed in range(40):
        old, new, cap, scratch = random_case(seed)
        lengths.append(len(plan_update(old, new, cap, scratch=scratch).steps))
    assert max(lengths) >= 2 and min(lengths) == 1


# ----------------------------------------------------------------------------- the checker and inputs

def test_check_plan_sees_intermediate_orders_only():
    """Three flows each shift one link along a line: only the orders moving f before g overload."""
    cap = {("a", "b"): 1.0, ("b", "c"): 1.0, ("c", "d"): 1.0}
    p = [("a", "b"), ("b", "c"), ("c", "d")]
    old = {"f": {p[0]: 1.0}, "g": {p[1]: 1.0}, "h": {p[2]: 0.0}}
    new = {"f": {p[1]: 1.0}, "g": {p[2]: 1.0}, "h": {p[0]: 0.0}}
    bad = check_plan(old, [new], cap)
    # f onto b-c before g left it
    assert {(v.switched, v.arc) for v in bad} == {(frozenset({"f"}), ("b", "c")), (frozenset({"f", "h"}), ("b", "c"))}
    assert check_plan(old, [{"f": {p[0]: 1.0}, "g": {p[2]: 1.0}}, new], cap) == []  # g first, then f


def test_check_plan_refuses_too_many_flows():
    cap = {("a", "b"): 1.0}
    old = {i: {("a", "b"): 0.0} for i in range(MAX_CHECK_FLOWS + 1)}
    with pytest.raises(InvalidInput, match="at most 16"):
        check_plan(old, [old], cap)


@pytest.mark.parametrize("old, cap, kwargs, message", [
    ({"f": {("s", "q"): 1.0}}, two_paths(1.0), {}, r"old: flow 'f': path \('s', 'q'\) uses \('s', 'q'\), which has no"),
    ({"f": {UP: -1.0}}, two_paths(1.0), {}, "old: flow 'f': path .*: rate must be a number"),
    ({"f": {UP: math.nan}}, two_paths(1.0), {}, "rate must be a number"),
    ({"f": {"sxt": 1.0}}, two_paths(1.0), {}, "a path must be a tuple of at least 2 nodes"),
    ({"f": [UP]}, two_paths(1.0), {}, "expected a mapping of paths to rates"),
    ({}, {("s", "x"): 0.0}, {}, r"link \('s', 'x'\): capacity must be a finite number > 0"),
    ({}, two_paths(1.0), {"scratch": 1.5}, "scratch must be a number between 0 and 1"),
    ({}, two_paths(1.0), {"max_steps": 0}, "max_steps must be a whole number from 1 to 1000"),
    ({}, two_paths(1.0), {"max_steps": 2.0}, "max_steps must be a whole number"),
])
def test_invalid_input(old, cap, kwargs, message):
    with pytest.raises(InvalidInput, match=message):
        plan_update(old, {}, cap, **{"scratch": 0.1, **kwargs})


def test_swan_bound():
    assert [swan_bound(s) for s in (1.0, 0.5, 0.4, 1 / 3, 0.25, 0.2, 0.1, 0.05)] == [1, 1, 2, 2, 3, 4, 9, 19]
    with pytest.raises(InvalidInput):
        swan_bound(True)
