"""The ECMP baseline checked by walking packets through a small fake OpenFlow pipeline."""
from controller.compile_ecmp import compile_baseline, host_pairs
from controller.ids import IdAllocator
from controller.pipeline import ECMP_LABELS
from controller.specs import ETH_TYPE_ARP, ETH_TYPE_IPV4, ETH_TYPE_IPV6, ETH_TYPE_MPLS, FlowSpec, GroupSpec, Output
from controller.topology import Fabric
from controller.tunnels import TunnelPlanner

from fakeof import walk
from test_controller_tunnels import fat_tree_k4_adjacency


def fat_tree_fabric():
    adj = fat_tree_k4_adjacency()
    f = Fabric()
    ports = {}
    for (a, _), p in adj.items():
        ports.setdefault(a, set()).add(p)
    for d, ps in ports.items():
        f.add_switch(d, ps | {10, 11}, now=0.0)
    for (a, b), p in adj.items():
        f.add_link(a, p, b, adj[(b, a)])
    n = 0
    for e in range(0x3001, 0x3009):
        for port in (10, 11):
            n += 1
            assert f.learn_host(f"10.0.0.{n}", f"00:00:00:00:00:{n:02x}", e, port)
    return f


def compile_fabric(f, planner=None, gids=None):
    planner = planner or TunnelPlanner(IdAllocator(*ECMP_LABELS))
    gids = gids or IdAllocator(1, 1000)
    tunnels = planner.plan(f.adjacency(), host_pairs(f))
    return compile_baseline(f.switches, f.hosts.values(), tunnels, gids), tunnels


def test_every_host_pair_is_delivered_over_every_bucket():
    f = fat_tree_fabric()
    state, _ = compile_fabric(f)
    hosts = list(f.hosts.values())
    for src in hosts:
        for dst in hosts:
            if src is dst:
                continue
            for pick in range(4):
                pkt = {"eth_type": ETH_TYPE_IPV4, "ipv4_dst": dst.ip}
                assert walk(state, f.links, src.dpid, src.port, pkt, pick) == ("out", dst.dpid, dst.port)


def test_inter_pod_buckets_use_all_four_cores():
    f = fat_tree_fabric()
    state, tunnels = compile_fabric(f)
    ts = tunnels[(0x3001, 0x3008)]
    assert {t.dpids[2] for t in ts} == {0x1001, 0x1002, 0x1003, 0x1004}
    (group,) = [g for g in state.groups() if g.dpid == 0x3001 and len(g.buckets) == 4
                and {b.actions[1].value for b in g.buckets} == {t.label for t in ts}]
    assert all(b.weight == 1 for b in group.buckets)


def test_control_rules_arp_to_controller_ipv6_dropped_unknown_ipv4_to_controller():
    f = fat_tree_fabric()
    state, _ = compile_fabric(f)
    assert walk(state, f.links, 0x3001, 10, {"eth_type": ETH_TYPE_ARP}) == ("controller", 0x3001)
    assert walk(state, f.links, 0x3001, 10, {"eth_type": ETH_TYPE_IPV6}) == ("drop", 0x3001)
    assert walk(state, f.links, 0x3001, 10, {"eth_type": ETH_TYPE_IPV4, "ipv4_dst": "10.9.9.9"}) == \
        ("controller", 0x3001)
    assert walk(state, f.links, 0x3001, 10, {"eth_type": ETH_TYPE_IPV4, "ipv4_dst": "224.0.0.251"}) == \
        ("drop", 0x3001)
    assert walk(state, f.links, 0x3001, 10, {"eth_type": 0x1234}) == ("drop", 0x3001)


def test_only_switches_with_hosts_get_groups_and_core_gets_only_tunnel_flows():
    f = fat_tree_fabric()
    state, _ = compile_fabric(f)
    assert {g.dpid for g in state.groups()} == set(range(0x3001, 0x3009))
    core_flows = [x for x in state.flows() if x.dpid == 0x1001 and x.match and ("eth_type", ETH_TYPE_MPLS) in x.match]
    assert core_flows and all(isinstance(x.actions[0], Output) for x in core_flows)


def test_link_failure_changes_only_affected_entries():
    from controller.reconcile import BARRIER, diff
    f = fat_tree_fabric()
    planner, gids = TunnelPlanner(IdAllocator(*ECMP_LABELS)), IdAllocator(1, 1000)
    before, _ = compile_fabric(f, planner, gids)
    adj = f.adjacency()
    f.remove_link(0x2001, adj[(0x2001, 0x1001)])
    f.remove_link(0x1001, adj[(0x1001, 0x2001)])
    after, _ = compile_fabric(f, planner, gids)
    changes = [c for c in diff(before, after) if c is not BARRIER]
    assert changes and all(c.op in ("modify", "delete") for c in changes)
    touched_groups = {c.spec.dpid for c in changes if isinstance(c.spec, GroupSpec)}
    assert touched_groups == set(range(0x3001, 0x3009))  # every edge reaches some pod via that core
    assert not any(isinstance(c.spec, FlowSpec) and c.op == "modify" for c in changes)  # routes stay
    # and everything is still delivered
    hosts = list(f.hosts.values())
    for pick in range(4):
        pkt = {"eth_type": ETH_TYPE_IPV4, "ipv4_dst": hosts[-1].ip}
        assert walk(after, f.links, hosts[0].dpid, hosts[0].port, pkt, pick)[0] == "out"


def test_hosts_on_one_switch_need_no_groups():
    f = Fabric()
    f.add_switch(1, [1, 2], 0.0)
    f.learn_host("10.0.0.1", "00:00:00:00:00:01", 1, 1)
    f.learn_host("10.0.0.2", "00:00:00:00:00:02", 1, 2)
    state, tunnels = compile_fabric(f)
    assert tunnels == {} and state.groups() == []
    assert walk(state, {}, 1, 1, {"eth_type": ETH_TYPE_IPV4, "ipv4_dst": "10.0.0.2"}) == ("out", 1, 2)
