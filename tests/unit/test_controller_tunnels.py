import pytest

from controller.ids import IdAllocator
from controller.pipeline import ECMP_LABELS, MPLS_LABEL_MIN
from controller.tunnels import TunnelPlanner, equal_cost_paths


def fat_tree_k4_adjacency():
    """Directed adjacency of a k=4 fat-tree's switches; port numbers are arbitrary but consistent."""
    adj = {}
    port = {}

    def link(a, b):
        for x, y in ((a, b), (b, a)):
            port[x] = port.get(x, 0) + 1
            adj[(x, y)] = port[x]

    cores = [0x1000 + i for i in range(1, 5)]
    for pod in range(4):
        aggs = [0x2000 + 2 * pod + i for i in (1, 2)]
        edges = [0x3000 + 2 * pod + i for i in (1, 2)]
        for e in edges:
            for a in aggs:
                link(e, a)
        for j, a in enumerate(aggs):
            for c in cores[2 * j:2 * j + 2]:
                link(a, c)
    return adj


def test_fat_tree_inter_pod_has_four_paths_over_four_cores():
    paths = equal_cost_paths(fat_tree_k4_adjacency(), 0x3001, 0x3007, 16)
    assert len(paths) == 4
    assert {p[2][0] for p in paths} == {0x1001, 0x1002, 0x1003, 0x1004}
    assert all(len(p) == 4 for p in paths)  # edge, agg, core, agg (egress edge not a hop)


def test_intra_pod_has_two_paths_and_max_paths_caps():
    adj = fat_tree_k4_adjacency()
    assert len(equal_cost_paths(adj, 0x3001, 0x3002, 16)) == 2
    assert len(equal_cost_paths(adj, 0x3001, 0x3007, 3)) == 3


def test_unreachable_or_unknown_gives_no_paths():
    assert equal_cost_paths({(1, 2): 1}, 2, 1, 4) == []
    assert equal_cost_paths({(1, 2): 1}, 1, 9, 4) == []


def test_labels_are_unique_and_stable_when_an_unrelated_path_breaks():
    adj = fat_tree_k4_adjacency()
    planner = TunnelPlanner(IdAllocator(*ECMP_LABELS))
    pairs = [(0x3001, 0x3007), (0x3007, 0x3001), (0x3001, 0x3002)]
    first = planner.plan(adj, pairs)
    labels = [t.label for ts in first.values() for t in ts]
    assert len(labels) == len(set(labels)) == 10 and min(labels) >= MPLS_LABEL_MIN
    # take down agg 0x2001 <-> core 0x1001
    broken = {arc: p for arc, p in adj.items() if set(arc) != {0x2001, 0x1001}}
    second = planner.plan(broken, pairs)
    assert len(second[(0x3001, 0x3007)]) == 4  # the failed path's bucket is lent (test_controller_resilient_ecmp.py)
    assert len({t.hops for t in second[(0x3001, 0x3007)]}) == 3
    before = {t.hops: t.label for ts in first.values() for t in ts}
    after = {t.hops: t.label for ts in second.values() for t in ts}
    assert all(before[h] == label for h, label in after.items())  # surviving paths keep their label
    # repair: the restored path gets its own label back (kept for it meanwhile, so never another path's)
    third = planner.plan(adj, pairs)
    restored = [t for t in third[(0x3001, 0x3007)] if t.hops not in after]
    assert len(restored) == 1 and restored[0].label == before[restored[0].hops]
    assert restored[0].label not in after.values()


def test_tunnel_properties():
    (t,) = TunnelPlanner(IdAllocator(*ECMP_LABELS)).plan({(1, 2): 5, (2, 3): 6}, [(1, 3)])[(1, 3)]
    assert (t.ingress, t.first_port, t.transit, t.egress, t.dpids) == (1, 5, ((2, 6),), 3, (1, 2, 3))


def test_id_allocator_keeps_ids_and_wraps_without_collisions():
    ids = IdAllocator(1, 3)
    assert [ids.get(k) for k in "abc"] == [1, 2, 3]
    assert ids.get("a") == 1
    with pytest.raises(RuntimeError):
        ids.get("d")
    ids.retain(["b"])
    assert "a" not in ids and "b" in ids
    assert ids.get("d") == 1 and ids.get("e") == 3
