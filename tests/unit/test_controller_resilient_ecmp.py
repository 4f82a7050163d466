"""Resilient ECMP: a path failure moves only that path's flows, and its repair moves them back.

Open vSwitch picks a SELECT bucket per flow by bucket position (highest random weight over the bucket
ids, an OpenFlow 1.3 bucket's id being its position; or, OVS 2.10 and later, a table of hash values to
buckets built from the buckets in order), so a group keeps its bucket count and positions and a
failed path's bucket is lent to a surviving path (:class:`controller.tunnels.TunnelPlanner`).
"""
import pytest

from controller.compile_ecmp import compile_baseline
from controller.core import Core
from controller.ids import IdAllocator
from controller.pipeline import ECMP_LABELS
from controller.restore import id_hints
from controller.tunnels import TunnelPlanner

from test_controller_compile import fat_tree_fabric
from test_controller_core import Network, _names
from test_controller_tunnels import fat_tree_k4_adjacency
from topologies.fattree import fattree_graph

PAIR = (0x3001, 0x3007)  # inter-pod: four paths, one over each core


def without(adj, a, b):
    return {arc: p for arc, p in adj.items() if set(arc) != {a, b}}


def bucket_labels(tunnels):
    return [t.label for t in tunnels[PAIR]]


def test_a_failed_path_lends_its_bucket_and_gets_it_back():
    adj = fat_tree_k4_adjacency()
    planner = TunnelPlanner(IdAllocator(*ECMP_LABELS))
    first = planner.plan(adj, [PAIR])
    assert len(set(bucket_labels(first))) == 4
    # agg 0x2001 <-> core 0x1001 carries the path of one bucket
    [gone] = [i for i, t in enumerate(first[PAIR]) if 0x1001 in t.dpids]
    broken = planner.plan(without(adj, 0x2001, 0x1001), [PAIR])
    assert len(broken[PAIR]) == 4
    changed = [i for i in range(4) if broken[PAIR][i] != first[PAIR][i]]
    assert changed == [gone]
    assert 0x1001 not in broken[PAIR][gone].dpids and broken[PAIR][gone] in first[PAIR]
    assert planner.plan(adj, [PAIR]) == first


def test_the_lent_bucket_goes_to_the_survivor_with_fewest_buckets_and_stays_there():
    adj = fat_tree_k4_adjacency()
    planner = TunnelPlanner(IdAllocator(*ECMP_LABELS))
    first = planner.plan(adj, [PAIR])[PAIR]
    core_of = [t.dpids[2] for t in first]
    one = planner.plan(without(adj, 0x2001, 0x1001), [PAIR])[PAIR]
    lent = core_of.index(0x1001)
    borrower = one[lent]
    # a second failure elsewhere: the first lent bucket stays put, the new one goes to the least loaded
    other = next(c for c in (0x1003, 0x1004) if c != borrower.dpids[2])
    agg = first[core_of.index(other)].dpids[1]
    two = planner.plan(without(without(adj, 0x2001, 0x1001), agg, other), [PAIR])[PAIR]
    assert two[lent] == borrower
    counts = {t: list(two).count(t) for t in set(two)}
    assert sorted(counts.values()) == [2, 2]  # two survivors, two buckets each
    assert [i for i in range(4) if two[i] != one[i]] == [core_of.index(other)]


def test_new_paths_are_appended_up_to_max_paths_and_vanished_paths_start_afresh():
    adj = fat_tree_k4_adjacency()
    planner = TunnelPlanner(IdAllocator(*ECMP_LABELS), max_paths=3)
    assert len(planner.plan(adj, [PAIR])[PAIR]) == 3
    planner = TunnelPlanner(IdAllocator(*ECMP_LABELS))
    half = planner.plan(without(adj, 0x2001, 0x1001), [PAIR])[PAIR]
    full = planner.plan(adj, [PAIR])[PAIR]
    assert full[:3] == half and full[3].dpids[2] == 0x1001  # the new path's bucket comes last
    # a direct link makes the old paths longer than the shortest: the slots start afresh
    shortcut = adj | {(0x3001, 0x3007): 99, (0x3007, 0x3001): 99}
    assert [t.dpids for t in planner.plan(shortcut, [PAIR])[PAIR]] == [(0x3001, 0x3007)]


def test_labels_are_kept_for_every_path_of_a_slot():
    adj = fat_tree_k4_adjacency()
    labels = IdAllocator(*ECMP_LABELS)
    planner = TunnelPlanner(labels)
    first = planner.plan(adj, [PAIR])[PAIR]
    planner.plan(without(adj, 0x2001, 0x1001), [PAIR])
    assert all(labels.lookup((t.hops, t.egress)) == t.label for t in first)  # the failed path's too
    planner.plan(adj, [])
    assert not any((t.hops, t.egress) in labels for t in first)


def test_compiled_group_keeps_its_buckets_and_a_restart_adopts_the_lent_ones():
    f = fat_tree_fabric()
    planner, gids = TunnelPlanner(IdAllocator(*ECMP_LABELS)), IdAllocator(1, 1000)
    pairs = [PAIR]
    before = compile_baseline(f.switches, f.hosts.values(), planner.plan(f.adjacency(), pairs), gids)
    adj = f.adjacency()
    f.remove_link(0x2001, adj[(0x2001, 0x1001)])
    f.remove_link(0x1001, adj[(0x1001, 0x2001)])
    after = compile_baseline(f.switches, f.hosts.values(), planner.plan(f.adjacency(), pairs), gids)
    [g0], [g1] = before.groups(), after.groups()
    assert len(g1.buckets) == 4 and sum(a != b for a, b in zip(g0.buckets, g1.buckets)) == 1
    # a restarted controller reads the group back with a bucket repeated, and plans the same group
    hints = id_hints(after, f.links)
    assert len(hints.ecmp_slots[PAIR]) == 4 and len(set(hints.ecmp_slots[PAIR])) == 3
    fresh = TunnelPlanner(IdAllocator(*ECMP_LABELS))
    for key, label in hints.ecmp_labels.items():
        fresh.labels.adopt(key, label)
    fresh.adopt(hints.ecmp_slots)
    assert compile_baseline(f.switches, f.hosts.values(), fresh.plan(f.adjacency(), pairs), gids) == after


@pytest.fixture
def fattree(tmp_path):
    net = Network(fattree_graph(k=4, bw=10), tmp_path)
    net.start()
    return net


def test_through_the_core_only_the_failed_paths_bucket_changes_and_every_pair_is_delivered(fattree):
    net = fattree

    def groups():
        return {(g.dpid, g.group_id): g.buckets for g in net.switches.state().groups()}

    first = groups()
    a, b = _names(net, ["2001", "1001"])
    links = dict(net.links)
    net.link_down(a, b)
    net.settle()
    assert net.all_pairs_delivered()
    down = groups()
    assert down.keys() == first.keys()
    for key, buckets in first.items():
        assert len(down[key]) == len(buckets)
        changed = [new for old, new in zip(buckets, down[key]) if old != new]
        assert len(changed) <= 1 and all(new in buckets for new in changed)  # lent to a path already there
    assert sum(down[k] != first[k] for k in first) > 0
    for (x, px), (y, py) in links.items():  # the link is back: both ends' ports up, LLDP finds it
        if (x, px) not in net.links:
            net.links[(x, px)] = (y, py)
            net.core.port_changed(x, px, True, net.now)
            net.core.link_added(x, px, y, py, net.now)
    net.settle()
    assert groups() == first
    assert net.all_pairs_delivered()


def test_a_controller_restarted_during_a_failure_adopts_the_lent_buckets_and_sends_no_change(fattree):
    net = fattree
    net.link_down(*_names(net, ["2001", "1001"]))
    net.settle()
    assert any(len(set(g.buckets)) < len(g.buckets) for g in net.switches.state().groups())  # lent buckets
    old = net.core
    net.core = Core(old.settings, old.fabric.link_info, now=net.now)
    for dpid in sorted(net.dpid.values()):
        net.connect(dpid)
    net.discover()
    batch = net.settle(5.0)
    assert not net.core.restoring and batch.sends == []
    assert net.core.planner.slots.keys() == old.planner.slots.keys()
