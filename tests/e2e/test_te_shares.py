"""Three intents into one bottleneck (h12's 10 Mbit/s access link, 9 Mbit/s after 10% headroom) on B4:
each receives its weighted max-min share, and changing a weight or a priority changes the shares."""
from topologies import lab
from topologies.b4 import B4Topo

BOTTLENECK_BPS = 10e6 * (1 - 0.1)
REQUEST_BPS = 6e6
SENDERS = ("h1", "h2", "h3")


def put(setup, intent_id, **changes):
    body = lab.api(setup, "GET", f"/intents/{intent_id}", expect=200).json()
    body = {k: body[k] for k in ("src", "dst", "rate_bps", "priority", "weight", "match", "name")} | changes
    return lab.api(setup, "PUT", f"/intents/{intent_id}", body, expect=200).json()["version"]


def check_shares(setup, ids, expected_bps, phase):
    allocs = lab.wait_allocations(setup, ids)
    allocated = [allocs[i]["allocated_bps"] for i in ids]
    for got, want in zip(allocated, expected_bps):
        assert abs(got - want) <= 1e-3 * want, (phase, allocated, expected_bps)
    flows = [(src, "h12", 2 * goodput, 1) for src, goodput in zip(SENDERS, map(lab.goodput_of, allocated))]
    goodputs = lab.udp_goodputs(setup.net, flows)
    for n, (got, alloc) in enumerate(zip(goodputs, allocated)):
        expected = lab.goodput_of(alloc)
        lab.record("te_shares", f"{phase}_intent{n + 1}_goodput_over_expected", got / expected, "ratio",
                       goodput_bps=got, expected_bps=expected)
    for got, alloc in zip(goodputs, allocated):
        assert abs(got - lab.goodput_of(alloc)) <= 0.1 * lab.goodput_of(alloc), (phase, goodputs, allocated)


def test_three_intents_share_a_bottleneck_by_weight_and_priority(network):
    setup = network(B4Topo(bw=10))
    lab.wait_full_reachability(setup.net, deadline_s=60)
    ids = [lab.post_intent(setup, src=setup.net.get(h).IP(), dst="10.0.0.12", rate_bps=REQUEST_BPS, name=f"to12-{h}")
           for h in SENDERS]
    share = BOTTLENECK_BPS / 3
    check_shares(setup, ids, [share] * 3, "equal")

    version = put(setup, ids[2], weight=2.0)
    lab.wait_allocations(setup, [ids[2]], version=version)
    check_shares(setup, ids, [BOTTLENECK_BPS / 4, BOTTLENECK_BPS / 4, BOTTLENECK_BPS / 2], "weight2")

    version = put(setup, ids[0], priority=1)
    lab.wait_allocations(setup, [ids[0]], version=version)
    rest = BOTTLENECK_BPS - REQUEST_BPS  # priority 1 is served in full first; weights 1:2 share the rest
    check_shares(setup, ids, [REQUEST_BPS, rest / 3, 2 * rest / 3], "priority")
