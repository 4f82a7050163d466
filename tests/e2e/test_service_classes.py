"""Service classes on B4 (10 Mbit/s links, 10 % headroom: 9 Mbit/s plannable), with real traffic.

- A guaranteed intent keeps its rate while best-effort intents into the same host offer three times
  the bottleneck; the ingress switches mark the packets with the configured DSCP values.
- A guaranteed intent that does not fit is refused with 409 naming the link, and no switch changes.
- A group capped at 5 Mbit/s never lets its three intents through faster than that, and shares the cap
  by the intents' weights.
- A link failure that breaks two guarantees makes them ``degraded`` (shortfall, the short link named),
  and they are whole again when the link returns.
"""
import time

from topologies import lab
from topologies.b4 import B4Topo

BOTTLENECK_BPS = 10e6 * (1 - 0.1)


def ip(setup, host):
    return setup.net.get(host).IP()


def test_guarantee_holds_against_best_effort_and_packets_are_marked(network):
    setup = network(B4Topo(bw=10))
    lab.wait_full_reachability(setup.net, deadline_s=60)
    gold = lab.post_intent(setup, name="gold", src=ip(setup, "h1"), dst=ip(setup, "h12"), rate_bps=4e6,
                           **{"class": "guaranteed"})
    bulk = lab.post_intent(setup, name="bulk", src=ip(setup, "h2"), dst=ip(setup, "h12"), rate_bps=9e6)
    af11 = lab.post_intent(setup, name="af11", src=ip(setup, "h3"), dst=ip(setup, "h12"), rate_bps=9e6, dscp=10)
    allocs = lab.wait_allocations(setup, [gold, bulk, af11])
    planned = [allocs[i]["allocated_bps"] for i in (gold, bulk, af11)]
    rest = (BOTTLENECK_BPS - 4e6) / 2
    assert abs(planned[0] - 4e6) <= 1e-3 * 4e6 and all(abs(p - rest) <= 1e-3 * rest for p in planned[1:]), planned
    assert allocs[gold]["class"] == "guaranteed" and allocs[gold]["state"] == "installed"

    capture = lab.start_dscp_capture(setup.net.get("h12"), seconds=6)
    time.sleep(0.5)
    # each best-effort sender offers 1.5x the bottleneck (3x together); the guaranteed one twice its rate
    flows = [("h1", "h12", 2 * lab.goodput_of(4e6), 1), ("h2", "h12", 1.5 * BOTTLENECK_BPS, 1),
             ("h3", "h12", 1.5 * BOTTLENECK_BPS, 1)]
    goodputs = lab.udp_goodputs(setup.net, flows)
    seen = lab.dscp_counts(capture)
    kept = goodputs[0] / lab.goodput_of(4e6)
    lab.record("service_classes", "guaranteed_goodput_over_rate", kept, "ratio", goodputs_bps=goodputs,
               planned_bps=planned)
    assert kept >= 0.98, (goodputs, planned)
    for got, want in zip(goodputs[1:], planned[1:]):
        assert abs(got - lab.goodput_of(want)) <= 0.1 * lab.goodput_of(want), (goodputs, planned)
    # DSCP of what arrived: EF for the guaranteed intent, 0 (CS0) for best-effort priority 0, the intent's own 10
    dominant = {src: max(per, key=per.get) for src, per in seen.items() if sum(per.values()) > 100}
    lab.record("service_classes", "dscp_seen", len(dominant), "sources", seen={k: str(v) for k, v in seen.items()})
    assert dominant.get(ip(setup, "h1")) == 46 and dominant.get(ip(setup, "h2")) == 0, seen
    assert dominant.get(ip(setup, "h3")) == 10, seen
    assert set(seen[ip(setup, "h1")]) == {46}, seen  # every packet of the intent, not most

    classes = {c["class"]: c for c in lab.api(setup, "GET", "/classes", expect=200).json()["classes"]}
    assert classes["guaranteed"]["intents"] == 1 and classes["guaranteed"]["allocated_bps"] == planned[0]
    assert classes["best-effort"]["intents"] == 2


def test_guarantee_that_does_not_fit_is_refused_and_nothing_changes(network):
    setup = network(B4Topo(bw=10))
    lab.wait_full_reachability(setup.net, deadline_s=60)
    gold = lab.post_intent(setup, name="gold", src=ip(setup, "h1"), dst=ip(setup, "h12"), rate_bps=4e6,
                           **{"class": "guaranteed"})
    lab.wait_allocations(setup, [gold])
    before = lab.switch_tables([s.name for s in setup.net.switches])
    r = lab.api(setup, "POST", "/intents", {"name": "big", "src": ip(setup, "h4"), "dst": ip(setup, "h12"),
                                            "rate_bps": 6e6, "class": "guaranteed"}, expect=409)
    body = r.json()
    assert body["field"] == "rate_bps" and "does not fit" in body["error"], body
    links = {(link["src"], link["dst"]) for link in body["links"]}
    assert ("000000000000000c", ip(setup, "h12")) in links, body  # h12's access link: 4 + 6 > 9 Mbit/s
    assert abs(body["largest_fitting_bps"] - (BOTTLENECK_BPS - 4e6)) <= 1e-3 * BOTTLENECK_BPS, body
    time.sleep(2)  # anything the refused request could have set off would be on the switches by now
    assert lab.switch_tables([s.name for s in setup.net.switches]) == before
    assert [i["name"] for i in lab.api(setup, "GET", "/intents", expect=200).json()["intents"]] == ["gold"]
    # what fits is admitted
    lab.api(setup, "POST", "/intents", {"name": "fits", "src": ip(setup, "h4"), "dst": ip(setup, "h12"),
                                        "rate_bps": body["largest_fitting_bps"], "class": "guaranteed"}, expect=201)


def test_group_cap_holds_in_measured_traffic(network):
    setup = network(B4Topo(bw=10))
    lab.wait_full_reachability(setup.net, deadline_s=60)
    lab.api(setup, "POST", "/groups", {"name": "tenant", "rate_cap_bps": 5e6, "weight": 1}, expect=201)
    senders, weights = ("h4", "h5", "h6"), (1, 1, 2)
    ids = [lab.post_intent(setup, name=f"t-{h}", src=ip(setup, h), dst=ip(setup, "h11"), rate_bps=4e6,
                           weight=w, group="tenant") for h, w in zip(senders, weights)]
    allocs = lab.wait_allocations(setup, ids)
    planned = [allocs[i]["allocated_bps"] for i in ids]
    for got, want in zip(planned, (1.25e6, 1.25e6, 2.5e6)):
        assert abs(got - want) <= 1e-3 * want, planned
    goodputs = lab.udp_goodputs(setup.net, [(h, "h11", 2 * lab.goodput_of(4e6), 1) for h in senders])
    lab.record("service_classes", "group_goodput_over_cap", sum(goodputs) / lab.goodput_of(5e6), "ratio",
               goodputs_bps=goodputs, planned_bps=planned)
    assert sum(goodputs) <= lab.goodput_of(5e6) * 1.02, goodputs
    for got, want in zip(goodputs, planned):
        assert abs(got - lab.goodput_of(want)) <= 0.1 * lab.goodput_of(want), (goodputs, planned)
    groups = lab.api(setup, "GET", "/classes", expect=200).json()["groups"]
    assert groups[0]["name"] == "tenant" and groups[0]["allocated_bps"] <= 5e6 * (1 + 1e-6), groups
    r = lab.api(setup, "DELETE", "/groups/tenant", expect=409)
    assert r.json()["field"] == "name"


def test_link_failure_degrades_guarantees_and_they_recover(network):
    setup = network(B4Topo(bw=10))
    net = setup.net
    lab.wait_full_reachability(net, deadline_s=60)
    # s7-s11 and s8-s10 are the only links between {s9..s12} and the rest: 18 Mbit/s, 9 once one fails
    ids = [lab.post_intent(setup, name=n, src=ip(setup, s), dst=ip(setup, d), rate_bps=5e6, **{"class": "guaranteed"})
           for n, s, d in (("g1", "h1", "h12"), ("g2", "h2", "h11"))]
    lab.wait_allocations(setup, ids)
    down_at = time.time()
    net.configLinkStatus("s7", "s11", "down")
    short = lab.wait_allocations(setup, ids, states=("degraded",), timeout=30)
    lab.record("service_classes", "link_down_to_degraded_s", time.time() - down_at, "s")
    total = sum(a["allocated_bps"] for a in short.values())
    assert abs(total - BOTTLENECK_BPS) <= 1e-3 * BOTTLENECK_BPS, short
    for a in short.values():
        assert abs(a["shortfall_bps"] - (5e6 - a["allocated_bps"])) < 1, a
        assert ("0000000000000008", "000000000000000a") in {(lk["src"], lk["dst"]) for lk in a["short_links"]}, a
    classes = {c["class"]: c for c in lab.api(setup, "GET", "/classes", expect=200).json()["classes"]}
    assert classes["guaranteed"]["degraded"] == 2
    net.configLinkStatus("s7", "s11", "up")
    whole = lab.wait_allocations(setup, ids, states=("installed",), timeout=30)
    assert all(abs(a["allocated_bps"] - 5e6) <= 1e-3 * 5e6 for a in whole.values()), whole
