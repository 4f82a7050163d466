"""Intents to plan to switch state, checked on a k=4 fat-tree with the fake pipeline of the ECMP tests."""
import pytest

from controller.compile_te import classifier_priority, compile_te, meter_for
from controller.ids import IdSpace
from controller.intents import IntentRegistry
from controller.pipeline import OWNER_TE, PRIO_ROUTE, TE_LABEL_MIN, decode_cookie, intent_cookie
from controller.reconcile import ADD, BARRIER, DELETE, MODIFY, diff
from controller.specs import ETH_TYPE_IPV4, ETH_TYPE_MPLS, FlowSpec, GroupSpec, Output, SetField, State
from controller.te_plan import plan
from controller.topology import FileHost, LinkInfo
from controller.views import allocation_views, link_views, topology_view

from fakeof import walk
from test_controller_compile import compile_fabric, fat_tree_fabric

MBIT = 1e6


def fabric_at(link_bps=10 * MBIT, host_bps=10 * MBIT):
    f = fat_tree_fabric()
    capacity = {pair: link_bps for pair in f.adjacency()}
    hosts = {ip: FileHost(f"h{n}", h.dpid, host_bps) for n, (ip, h) in enumerate(sorted(f.hosts.items()))}
    f.link_info = LinkInfo(capacity, {}, {0x1001: "c1"}, hosts)
    return f


def intents(*bodies):
    reg = IntentRegistry()
    for body in bodies:
        reg.create(body)
    return reg.list()


def compiled(te_plan):
    specs, shown = compile_te(te_plan, IdSpace())
    return specs, shown


def full_state(f, te_plan):
    baseline, _ = compile_fabric(f)
    specs, _ = compiled(te_plan)
    return State.of([*baseline, *specs])


def test_one_intent_below_capacity_gets_its_rate_a_meter_and_a_tunnel_to_its_host():
    f = fabric_at()
    [i] = intents({"src": "10.0.0.1", "dst": "10.0.0.16", "rate_bps": 4 * MBIT})
    p = plan(f, [i], headroom=0.1)
    [a] = p.allocations
    assert a.routable and a.allocated_bps == pytest.approx(4 * MBIT)
    state = full_state(f, p)
    src, dst = f.hosts["10.0.0.1"], f.hosts["10.0.0.16"]
    [classifier] = [x for x in state.flows() if x.cookie == intent_cookie(i.id, i.version)]
    assert classifier.dpid == src.dpid and classifier.priority == classifier_priority(i) > PRIO_ROUTE
    assert dict(classifier.match)["in_port"] == src.port
    [meter] = state.meters()
    assert (meter.dpid, meter.rate_kbps) == (src.dpid, 4000) and meter.meter_id == classifier.meter_id
    [group] = [g for g in state.groups() if g.group_id >= 1 << 30]
    assert all(b.actions[1].value >= TE_LABEL_MIN for b in group.buckets)
    pkt = {"eth_type": ETH_TYPE_IPV4, "ipv4_src": src.ip, "ipv4_dst": dst.ip}
    for pick in range(len(group.buckets)):
        assert walk(state, f.links, src.dpid, src.port, pkt, pick) == ("out", dst.dpid, dst.port)


def test_three_intents_into_one_host_share_its_link_by_weight_and_priority():
    f = fabric_at()
    bodies = [{"src": f"10.0.0.{n}", "dst": "10.0.0.16", "rate_bps": 6 * MBIT} for n in (1, 3, 5)]
    shares = plan(f, intents(*bodies), headroom=0.1).allocations
    assert [a.allocated_bps for a in shares] == pytest.approx([3 * MBIT] * 3, rel=1e-6)
    bodies[2]["weight"] = 2
    shares = plan(f, intents(*bodies), headroom=0.1).allocations
    assert [a.allocated_bps for a in shares] == pytest.approx([2.25 * MBIT, 2.25 * MBIT, 4.5 * MBIT], rel=1e-6)
    bodies[0]["priority"] = 1
    shares = plan(f, intents(*bodies), headroom=0.1).allocations
    assert [a.allocated_bps for a in shares] == pytest.approx([6 * MBIT, 1 * MBIT, 2 * MBIT], rel=1e-6)


def test_intent_larger_than_a_path_is_split_with_weighted_buckets():
    f = fabric_at(host_bps=40 * MBIT)
    [i] = intents({"src": "10.0.0.1", "dst": "10.0.0.16", "rate_bps": 17 * MBIT})
    p = plan(f, [i], headroom=0.1)
    [a] = p.allocations
    assert a.allocated_bps == pytest.approx(17 * MBIT) and len(a.paths) >= 2
    assert all(s.rate_bps <= 9 * MBIT * (1 + 1e-6) for s in a.paths)
    _, shown = compiled(p)
    weights = [w for _, _, w in shown[i.id]]
    rates = [s.rate_bps for s, _, _ in shown[i.id]]
    assert all(w > 0 for w in weights) and sum(weights) <= 64
    for w, r in zip(weights, rates):
        assert w / sum(weights) == pytest.approx(r / sum(rates), abs=0.02)
    state = full_state(f, p)
    src, dst = f.hosts["10.0.0.1"], f.hosts["10.0.0.16"]
    [group] = [g for g in state.groups() if g.group_id >= 1 << 30]
    pkt = {"eth_type": ETH_TYPE_IPV4, "ipv4_src": src.ip, "ipv4_dst": dst.ip}
    for pick in range(len(group.buckets)):
        assert walk(state, f.links, src.dpid, src.port, pkt, pick) == ("out", dst.dpid, dst.port)
    assert p.load_bps and max(p.load_bps.values()) <= 9 * MBIT * (1 + 1e-6)


def test_unlocated_host_is_unroutable_and_gets_nothing():
    f = fabric_at()
    [i] = intents({"src": "10.0.0.1", "dst": "10.9.9.9", "rate_bps": MBIT})
    p = plan(f, [i])
    assert p.allocations[0].reason == "host 10.9.9.9 is not located yet"
    assert compiled(p) == ([], {})
    [view] = allocation_views([i], p, {}, {i.id: (1.0, 2.0)})
    assert view["state"] == "unroutable" and view["reason"]


def test_starved_intent_is_dropped_at_its_ingress():
    f = fabric_at()
    high, low = intents({"src": "10.0.0.1", "dst": "10.0.0.16", "rate_bps": 20 * MBIT, "priority": 1},
                        {"src": "10.0.0.3", "dst": "10.0.0.16", "rate_bps": 5 * MBIT})
    p = plan(f, [high, low], headroom=0.1)
    assert [a.allocated_bps for a in p.allocations] == pytest.approx([9 * MBIT, 0], abs=1)
    specs, _ = compiled(p)
    [drop] = [s for s in specs if isinstance(s, FlowSpec) and s.cookie == intent_cookie(low.id, low.version)]
    assert drop.actions == () and drop.goto_table is None and drop.meter_id is None


def test_intent_between_hosts_of_one_switch_is_metered_straight_out():
    f = fabric_at()
    [i] = intents({"src": "10.0.0.1", "dst": "10.0.0.2", "rate_bps": 2 * MBIT, "match": {"ip_proto": 17, "tp_dst": 5001}})
    specs, shown = compiled(plan(f, [i]))
    flows = [s for s in specs if isinstance(s, FlowSpec)]
    assert [type(s) for s in specs].count(GroupSpec) == 0 and len(flows) == 1
    assert flows[0].actions == (SetField("ip_dscp", 0), Output(f.hosts["10.0.0.2"].port))
    assert ("udp_dst", 5001) in flows[0].match and flows[0].priority == classifier_priority(i)


def test_moving_an_intent_installs_new_tunnels_before_the_group_moves_and_removes_old_ones_after():
    f = fabric_at()
    [i] = intents({"src": "10.0.0.1", "dst": "10.0.0.16", "rate_bps": 4 * MBIT})
    ids = IdSpace()
    p1 = plan(f, [i])
    old = State.of(compile_te(p1, ids)[0])
    first = p1.allocations[0].paths[0]
    a, b = first.dpids[1], first.dpids[2]  # an aggregation -> core link of the path
    f.set_port(a, first.hops[1][1], False)
    p2 = plan(f, [i])
    assert all((a, b) not in zip(s.dpids, s.dpids[1:]) for s in p2.allocations[0].paths)
    new = State.of(compile_te(p2, ids)[0])
    phases, cur = [], []
    for c in diff(old, new):
        if c is BARRIER:
            phases.append(cur)
            cur = []
        else:
            cur.append(c)
    kinds = [{(c.op, type(c.spec).__name__, c.spec.match[0][1] == ETH_TYPE_MPLS if isinstance(c.spec, FlowSpec) else None)
              for c in phase} for phase in phases]
    assert kinds == [{(ADD, "FlowSpec", True)}, {(MODIFY, "GroupSpec", None)}, {(DELETE, "FlowSpec", True)}], kinds


def test_deleting_every_intent_releases_its_ids():
    f = fabric_at()
    ids = IdSpace()
    compile_te(plan(f, intents({"src": "10.0.0.1", "dst": "10.0.0.16", "rate_bps": MBIT})), ids)
    assert "1" in ids.te_groups and "1" in ids.te_meters and len(ids.te_labels._ids) > 0
    assert compile_te(plan(f, []), ids) == ([], {})
    assert "1" not in ids.te_groups and "1" not in ids.te_meters and len(ids.te_labels._ids) == 0


def test_cookies_carry_owner_intent_and_version():
    [i] = intents({"src": "10.0.0.1", "dst": "10.0.0.16", "rate_bps": MBIT})
    c = intent_cookie(i.id, i.version)
    assert (c >> 48) & 0xFF == OWNER_TE and (c >> 20) & 0xFFFFFF == 1 and c & 0xFFFFF == 1
    decoded = decode_cookie(c)
    assert (decoded.owner, decoded.intent, decoded.version) == (OWNER_TE, i.id, i.version)


def test_meter_burst_is_a_fraction_of_a_second_but_at_least_a_few_frames():
    assert meter_for(1, 1, 10 * MBIT, 50).burst_kb == 500
    assert meter_for(1, 1, 100e3, 50).burst_kb == 194


def test_views_name_switches_and_carry_loads():
    f = fabric_at()
    [i] = intents({"src": "10.0.0.1", "dst": "10.0.0.16", "rate_bps": MBIT})
    p = plan(f, [i])
    topo = topology_view(f)
    assert {"dpid": "0000000000001001", "name": "c1"} in topo["switches"] and len(topo["hosts"]) == 16
    links = link_views(f, p, {(0x3001, f.hosts["10.0.0.1"].port): 5.0})
    loaded = [l for l in links if l["planned_load_bps"] > 0]
    assert loaded and all(l["planned_load_bps"] == pytest.approx(MBIT) for l in loaded)
    assert all(l["measured_load_bps"] is None for l in links)  # host ports are not links


def test_a_split_intent_keeps_its_bucket_slots_so_a_failed_path_moves_only_its_own_flows():
    """Resilient WCMP: a split intent's group has a fixed number of buckets; when one of its paths goes, the
    buckets of the others keep their path (a flow hashes onto a bucket by position), and when it returns,
    it takes back only as many as its share needs."""
    import dataclasses

    f = fabric_at(host_bps=40 * MBIT)
    [i] = intents({"src": "10.0.0.1", "dst": "10.0.0.16", "rate_bps": 17 * MBIT})
    p = plan(f, [i], headroom=0.1)
    [a] = p.allocations
    assert len(a.paths) == 2
    # a third path: y's aggregation switch over its other core (y: the path over the lower-numbered switches;
    # the plan may list its two equally good paths either way round)
    y, x = sorted(a.paths, key=lambda q: q.dpids)
    (d0, d1, d2, d3, d4), (h0, h1, _, h3) = y.dpids, y.hops
    z = dataclasses.replace(y, dpids=(d0, d1, d2 - 1, d3, d4), hops=(h0, (h1[0], h1[1] - 1), (d2 - 1, 4), h3))
    a = dataclasses.replace(a, paths=(x, y, z))
    ids = IdSpace()

    def buckets(allocation):
        specs, _ = compile_te(dataclasses.replace(p, allocations=(allocation,)), ids, budget=12)
        [group] = [s for s in specs if isinstance(s, GroupSpec)]
        assert all(b.weight == 1 for b in group.buckets) and len(group.buckets) == 12
        return [next(x.value for x in b.actions if getattr(x, "field", None) == "mpls_label") for b in group.buckets]

    first = buckets(a)
    first_paths = ids.te_slots[i.id]
    assert sorted(first.count(label) for label in set(first)) == [4, 4, 4]
    survivors = tuple(dataclasses.replace(s, rate_bps=13.5 * MBIT) for s in a.paths[1:])
    down = buckets(dataclasses.replace(a, paths=survivors))
    [failed] = set(first) - set(down)
    moved = [n for n in range(12) if down[n] != first[n]]
    assert moved == [n for n in range(12) if first[n] == failed]  # exactly the failed path's slots
    buckets(a)
    # it returns to the same slots (under a new label: its old one was released while it was down), so
    # every flow is back on the path it had
    assert ids.te_slots[i.id] == first_paths
