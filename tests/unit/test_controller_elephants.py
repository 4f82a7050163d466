"""Adaptive TE (controller.elephants, te.hedera): detection from flow counters, Hedera's demand estimation
and global first fit, max-min placement, and the rules the core compiles, on fake switches."""
import pytest

from controller.elephants import (
    BULK_FRAME_BYTES, PERSIST_POLLS, QUIET_POLLS, ElephantTracker, FlowKey, count_flows, place,
)
from controller.pipeline import COOKIE_ELEPHANT, PRIO_ELEPHANT, TABLE_FLOWS
from controller.specs import ETH_TYPE_IPV4, Learn, Resubmit
from te.hedera import estimate_demands, global_first_fit
from topologies.fattree import fattree_graph

from test_controller_core import Network

MBIT = 1e6
CAP = lambda ip: 1 * MBIT  # noqa: E731


def key(n, dst="10.0.0.9", sport=40000):
    return FlowKey(f"10.0.0.{n}", dst, 6, sport + n, 5201)


# --- te.hedera -----------------------------------------------------------------------------
def test_demand_estimation_matches_hedera_worked_example():
    # Hedera's figure 7 example in spirit: A -> {B, C}, D -> B: B is over-subscribed (A's half and all of D)
    # and is shared equally; A's flow to C then takes what A has left.
    assert estimate_demands([("A", "B"), ("A", "C"), ("D", "B")], 1.0) == [0.5, 0.5, 0.5]
    # four senders into one receiver, one of them also sending elsewhere
    d = estimate_demands([("A", "R"), ("B", "R"), ("C", "R"), ("D", "R"), ("D", "S")], 1.0)
    assert d == pytest.approx([0.25, 0.25, 0.25, 0.25, 0.75])


def test_demand_estimation_respects_every_nic():
    flows = [("A", "B"), ("A", "C"), ("A", "D"), ("E", "B"), ("F", "C")]
    d = estimate_demands(flows, {"A": 3.0, "B": 1.0, "C": 2.0, "D": 5.0, "E": 1.0, "F": 1.0})
    for host in "ABCDEF":
        out = sum(x for (s, _), x in zip(flows, d) if s == host)
        into = sum(x for (_, t), x in zip(flows, d) if t == host)
        assert out <= {"A": 3.0, "E": 1.0, "F": 1.0}.get(host, 9) + 1e-9 and into <= {"B": 1, "C": 2, "D": 5}.get(
            host, 9) + 1e-9
    # B is shared by A and E (0.5 each), C by A and F (1.0 each); A's flow to D takes the rest of A: 1.5
    assert d == pytest.approx([0.5, 1.0, 1.5, 0.5, 1.0])


def test_global_first_fit_leaves_what_fits_nowhere_and_reserves_in_place():
    residual = {"x": 1.0, "y": 0.5}
    assert global_first_fit([0.6, 0.5, 0.3], [[["x"], ["y"]]] * 3, residual) == [0, 1, 0]
    assert residual == pytest.approx({"x": 0.1, "y": 0.0})


# --- detection -----------------------------------------------------------------------------
def test_a_flow_at_the_threshold_is_an_elephant_and_a_quiet_one_becomes_a_mouse_again():
    t = ElephantTracker(0.1)
    k = key(1)
    assert not t.counters(1, [(k, 0, 0)], True, 0.0, CAP)
    assert t.counters(1, [(k, 12_500, 10)], True, 1.0, CAP)  # 100 kbit/s = 10 % of 1 Mbit/s
    assert [e.reason for e in t.list()] == ["rate"] and t.detected == 1
    bytes_, changed = 12_500, []
    for n in range(QUIET_POLLS):
        bytes_ += 500  # 4 kbit/s of 100-byte packets: below half the threshold, not bulk
        changed.append(t.counters(1, [(k, bytes_, 10 + 5 * (n + 1))], True, 2.0 + n, CAP))
    assert changed == [False] * (QUIET_POLLS - 1) + [True] and t.list() == []


def test_a_starved_bulk_flow_is_found_by_persistence_but_an_ack_stream_is_not():
    t = ElephantTracker(0.1)
    bulk, acks = key(1), key(2)
    found = []
    for n in range(PERSIST_POLLS + 1):
        # 11 and 5 kbit/s: far below the threshold; full frames for one, 66-byte ACKs for the other
        samples = [(bulk, (BULK_FRAME_BYTES + 400) * n, n), (acks, 66 * 10 * n, 10 * n)]
        found.append(t.counters(1, samples, True, float(n), CAP))
    assert found == [False] * PERSIST_POLLS + [True]
    assert [(e.key, e.reason) for e in t.list()] == [(bulk, "persistent")]


def test_an_expired_entry_ends_the_elephant_and_a_reply_in_parts_is_read_whole():
    t = ElephantTracker(0.1)
    a, b = key(1), key(2)
    t.counters(1, [(a, 0, 0)], False, 0.0, CAP)
    t.counters(1, [(b, 0, 0)], True, 0.0, CAP)
    assert not t.counters(1, [(a, 50_000, 40)], False, 1.0, CAP)  # more to come
    assert t.counters(1, [(b, 50_000, 40)], True, 1.0, CAP)
    assert {e.key for e in t.list()} == {a, b}
    assert t.counters(1, [(b, 100_000, 80)], True, 2.0, CAP)
    assert [e.key for e in t.list()] == [b]
    assert t.forget(1) and t.list() == []


def test_flow_keys_round_trip_through_their_match_and_other_protocols_are_not_flows():
    k = FlowKey("10.0.0.1", "10.0.0.2", 17, 1000, 2000)
    assert FlowKey.from_match(dict(k.match(4))) == k
    assert FlowKey.from_match({"ip_proto": 1, "ipv4_src": "10.0.0.1", "ipv4_dst": "10.0.0.2"}) is None


def test_counting_rules_resubmit_host_traffic_and_learn_per_protocol():
    specs = count_flows(7, [3, 4, 3], idle_timeout=5)
    ingress = [s for s in specs if s.table_id == 0]
    assert [dict(s.match)["in_port"] for s in ingress] == [3, 4]
    assert all(s.actions == (Resubmit(TABLE_FLOWS),) and s.goto_table == 1 for s in ingress)
    learns = [s.actions[0] for s in specs if s.actions and isinstance(s.actions[0], Learn)]
    assert {l.values for l in learns} == {(("eth_type", ETH_TYPE_IPV4), ("ip_proto", 6)),
                                          (("eth_type", ETH_TYPE_IPV4), ("ip_proto", 17))}
    assert count_flows(7, [], 5) == []


# --- placement and rules on a fat-tree ------------------------------------------------------
@pytest.fixture(params=["global-first-fit", "max-min"])
def adaptive(request, tmp_path):
    net = Network(fattree_graph(k=4, bw=1), tmp_path, te_elephants=request.param, te_headroom=0.1)
    net.start()
    return net


def report(net, flows, now, rate_bps=MBIT):
    """Two polls of the ingress switches: every flow sent ``rate_bps`` of full frames."""
    for dt, scale in ((0.0, 0), (1.0, 1)):
        net.now += dt
        per_switch = {}
        for k in flows:
            per_switch.setdefault(net.host_at[k.src][0], []).append(
                (tuple(k.match(net.host_at[k.src][1])), int(scale * rate_bps / 8), int(scale * rate_bps / 8 / 1500)))
        reaction = None
        for dpid, samples in per_switch.items():
            reaction = net.core.flow_counters(dpid, samples, True, net.now)
    return reaction


def test_two_elephants_from_one_edge_switch_are_placed_on_disjoint_paths_with_meters(adaptive):
    net = adaptive
    # h1 and h2 share edge switch e1 (two uplinks); both send to other pods
    flows = [FlowKey("10.0.0.1", "10.0.0.5", 6, 40001, 5201), FlowKey("10.0.0.2", "10.0.0.9", 6, 40002, 5202)]
    assert report(net, flows, net.now).recompute
    batch = net.settle()
    placed = {p.elephant.key: p for p in net.core.placements.values()}
    assert {k: p.state for k, p in placed.items()} == {k: "placed" for k in flows}
    paths = [placed[k].share.dpids for k in flows]
    assert paths[0][1] != paths[1][1]  # different aggregation switches: no shared uplink
    for k in flows:
        assert placed[k].share.rate_bps == pytest.approx(0.9 * MBIT)  # the NIC after headroom
    rules = [c.spec for c in batch.sends if getattr(c.spec, "cookie", None) == COOKIE_ELEPHANT]
    assert len(rules) == 2 and all(r.priority == PRIO_ELEPHANT and r.meter_id is not None for r in rules)
    for k in flows:  # the 5-tuple still reaches its host through the placed tunnel
        assert net.delivers(k.src, k.dst, picks=[0], extra={"ip_proto": 6, "tcp_src": k.sport, "tcp_dst": k.dport})
    body = net.core.elephants_body()
    assert body["detected_total"] == 2 and [e["state"] for e in body["elephants"]] == ["placed", "placed"]


def test_an_elephant_that_ends_takes_its_rule_and_meter_along(adaptive):
    net = adaptive
    k = FlowKey("10.0.0.1", "10.0.0.5", 6, 40001, 5201)
    report(net, [k], net.now)
    net.settle()
    assert any(getattr(s, "cookie", None) == COOKIE_ELEPHANT for s in net.switches.state())
    net.now += 1.0
    assert net.core.flow_counters(net.host_at[k.src][0], [], True, net.now).recompute  # its entry expired
    net.settle()
    state = net.switches.state()
    assert not any(getattr(s, "cookie", None) == COOKIE_ELEPHANT for s in state)
    assert not state.meters()
    assert net.all_pairs_delivered()


def test_flows_an_intent_claims_and_flows_within_one_switch_stay_where_they_are(tmp_path):
    net = Network(fattree_graph(k=4, bw=1), tmp_path, te_elephants="global-first-fit")
    net.start()
    net.core.intents.create({"src": "10.0.0.1", "dst": "10.0.0.5", "rate_bps": 500_000})
    claimed = FlowKey("10.0.0.1", "10.0.0.5", 6, 40001, 5201)
    local = FlowKey("10.0.0.3", "10.0.0.4", 6, 40003, 5203)  # h3 and h4 share edge switch e2
    report(net, [claimed, local], net.now)
    net.settle()
    states = {p.elephant.key: p.state for p in net.core.placements.values()}
    assert states == {claimed: "intent", local: "local"}


def test_global_first_fit_keeps_placed_flows_in_place_when_a_new_one_arrives(tmp_path):
    net = Network(fattree_graph(k=4, bw=1), tmp_path, te_elephants="global-first-fit", te_headroom=0.1)
    net.start()
    first = FlowKey("10.0.0.1", "10.0.0.5", 6, 40001, 5201)
    report(net, [first], net.now)
    net.settle()
    before = net.core.placements[first].share.dpids
    second = FlowKey("10.0.0.2", "10.0.0.6", 6, 40002, 5202)
    report(net, [first, second], net.now)
    net.settle()
    assert net.core.placements[first].share.dpids == before
    assert net.core.placements[second].share.dpids[1] != before[1]


def test_placement_is_skipped_entirely_when_adaptive_te_is_off(tmp_path):
    net = Network(fattree_graph(k=4, bw=1), tmp_path)
    net.start()
    assert not any(f.table_id == TABLE_FLOWS for f in net.switches.state().flows())
    assert place("global-first-fit", net.core.fabric, [], net.core.te_plan, [], {}) == {}


def test_max_min_places_the_flows_of_a_pair_together_as_an_intent_would_be(tmp_path):
    """Eight elephants per pair are one demand per pair: each pair's flows share one path and its 0.9 Mbit/s."""
    net = Network(fattree_graph(k=4, bw=1), tmp_path, te_elephants="max-min", te_headroom=0.1)
    net.start()
    flows = [FlowKey(src, dst, 6, 40000 + n, 5201) for src, dst in (("10.0.0.1", "10.0.0.5"), ("10.0.0.2", "10.0.0.6"))
             for n in range(8)]
    report(net, flows, net.now, rate_bps=MBIT / 8)
    net.settle()
    placed = net.core.placements
    assert all(placed[k].state == "placed" for k in flows)
    for src in ("10.0.0.1", "10.0.0.2"):
        mine = [placed[k] for k in flows if k.src == src]
        assert len({p.share.dpids for p in mine}) == 1  # one path for the pair
        assert sum(p.share.rate_bps for p in mine) == pytest.approx(0.9 * MBIT)
    assert placed[flows[0]].share.dpids[1] != placed[flows[8]].share.dpids[1]  # the pairs do not share an uplink
    meters = [m for m in net.switches.state().meters()]
    assert sorted(m.rate_kbps for m in meters) == [900, 900]  # one meter per pair and path
