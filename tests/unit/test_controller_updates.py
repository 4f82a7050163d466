"""Congestion-free staged updates (te_update_scratch, SWAN) through the whole core, on fake switches."""
import pytest

from controller.specs import MeterSpec
from topologies.b4 import b4_graph

from test_controller_core import MBIT, Network

CAPACITY_KBPS = 10_000  # every B4 link and host link


def meters(net, ids):
    """Intent id -> the rate (kbit/s) of its meter on the switches now (0 without one)."""
    out = {}
    for intent_id in ids:
        meter_id = net.core.ids.te_meters.lookup(intent_id)
        rates = [s.rate_kbps for s in net.switches.state() if isinstance(s, MeterSpec) and s.meter_id == meter_id]
        out[intent_id] = rates[0] if meter_id is not None and rates else 0
    return out


def run_until_settled(net, ids, limit=40):
    """Settle until a recomputation changes nothing; the meters after each one."""
    seen = [meters(net, ids)]
    for _ in range(limit):
        batch = net.settle(0.0 if net.core.te_steps else 0.5)
        if not batch.sends:
            return seen
        seen.append(meters(net, ids))
    raise AssertionError("the update never settled")


@pytest.mark.parametrize("scratch", [0.0, 0.1])
def test_a_new_intent_beside_a_full_one_is_phased_in_without_overloading_the_shared_link(tmp_path, scratch):
    net = Network(b4_graph(bw=10), tmp_path, te_headroom=0.1, te_update_scratch=scratch)
    net.start()
    a = net.core.intents.create({"src": "10.0.0.1", "dst": "10.0.0.12", "rate_bps": 9 * MBIT, "name": "a"}).id
    run_until_settled(net, [a])
    b = net.core.intents.create({"src": "10.0.0.2", "dst": "10.0.0.12", "rate_bps": 9 * MBIT, "name": "b"}).id
    seen = run_until_settled(net, [a, b])
    assert seen[0] == {a: 9000, b: 0} and seen[-1] == {a: 4500, b: 4500}
    # both share h12's access link; any switch may apply a step first: the worst case is the larger of each
    # intent's meter before and after the step
    worst = max(max(x[a], y[a]) + max(x[b], y[b]) for x, y in zip(seen, seen[1:]))
    updates = net.core.allocations_body()["solve"]["updates"]
    if scratch == 0:
        assert len(seen) == 2 and worst == 13_500  # one make-before-break step: 1.35x the link for a moment
    else:
        assert worst <= CAPACITY_KBPS, seen
        assert len(seen) - 1 == updates["last"]["steps"] > 1 and updates["staged"] == 1, (seen, updates)
        assert net.all_pairs_delivered()


def test_an_update_with_no_short_congestion_free_sequence_falls_back_to_one_step(tmp_path):
    # the allocation on the switches fills h12's link (planned with no headroom), and the steps may use only
    # 99.5 % of it: no congestion-free sequence starts there
    net = Network(b4_graph(bw=10), tmp_path, te_headroom=0.0, te_update_scratch=0.0)
    net.start()
    a = net.core.intents.create({"src": "10.0.0.1", "dst": "10.0.0.12", "rate_bps": 10 * MBIT, "name": "a"}).id
    run_until_settled(net, [a])
    net.core.settings = net.core.settings.__class__(**{**net.core.settings.__dict__, "te_headroom": 0.01,
                                                       "te_update_scratch": 0.005})
    b = net.core.intents.create({"src": "10.0.0.2", "dst": "10.0.0.12", "rate_bps": 9 * MBIT, "name": "b"}).id
    seen = run_until_settled(net, [a, b])
    updates = net.core.allocations_body()["solve"]["updates"]
    assert len(seen) == 2 and updates["fallbacks"] == 1 and updates["last"]["staged"] is False, (seen, updates)
    assert updates["last"]["reason"], updates

