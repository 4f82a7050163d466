"""A link of an intent's tunnel fails: the TE loop re-allocates around it; when it returns, so does the
original allocation. Times from link down to new allocation installed and to traffic flowing are reported."""
import re
import time

from topologies import lab
from topologies.b4 import B4Topo


def wait_paths(setup, intent_id, accept, timeout=30.0):
    deadline = time.monotonic() + timeout
    while True:
        a = lab.allocation(setup, intent_id)
        if a["state"] in ("installed", "partial") and accept(a):
            return a
        assert time.monotonic() < deadline, f"allocation did not change as expected: {a}"
        time.sleep(0.02)


def names(alloc):
    return [tuple(f"s{int(d, 16)}" for d in p["switches"]) for p in alloc["paths"]]


def test_link_failure_on_a_tunnel_reallocates_and_recovers(network):
    setup = network(B4Topo(bw=10))
    net = setup.net
    lab.wait_full_reachability(net, deadline_s=60)
    intent_id = lab.post_intent(setup, src="10.0.0.1", dst="10.0.0.12", rate_bps=4e6)
    original = lab.wait_allocations(setup, [intent_id])[intent_id]
    path = names(original)[0]
    a, b = path[0], path[1]

    ping = net.get("h1").popen(["ping", "-D", "-i", "0.01", "-W", "1", "-c", "800", net.get("h12").IP()])
    time.sleep(2)
    down_at = time.time()
    net.configLinkStatus(a, b, "down")
    moved = wait_paths(setup, intent_id, lambda x: all((a, b) not in zip(p, p[1:]) for p in names(x)))
    out, _ = ping.communicate(timeout=60)
    outage = lab.ping_outage(out.decode(), 0.01)
    installed_after = moved["installed_at"] - down_at
    lab.record("te_failover", "link_down_to_new_allocation_installed", installed_after, "s", link=f"{a}-{b}",
                   paths=names(moved))
    lab.record("te_failover", "link_down_traffic_outage", outage, "s")
    assert moved["allocated_bps"] == original["allocated_bps"], moved
    assert installed_after < 5 and outage < 5, (installed_after, outage)
    sent, received = map(int, re.search(r"(\d+) packets transmitted, (\d+) received", out.decode()).groups())
    assert received > sent - 500, (sent, received)

    [goodput] = lab.udp_goodputs(net, [("h1", "h12", 8e6, 1)], seconds=5)
    assert abs(goodput - lab.goodput_of(4e6)) <= 0.1 * lab.goodput_of(4e6), goodput

    up_at = time.time()
    net.configLinkStatus(a, b, "up")
    back = wait_paths(setup, intent_id, lambda x: names(x) == names(original))
    lab.record("te_failover", "link_up_to_original_allocation_installed", back["installed_at"] - up_at, "s")
    assert back["allocated_bps"] == original["allocated_bps"]
