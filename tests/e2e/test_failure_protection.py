"""Failure protection (te_protect_failures = 1, FFC) on B4 at 10 Mbit/s with real UDP traffic at 90 % of the
intent's allocation: the first link of the tunnel that carries the traffic fails.

Port counters of every switch port are sampled every 100 ms (``ovs-appctl dpctl/show -s``). Protected, the
ingress switch moves the traffic to the surviving tunnel at once (its SELECT group skips the dead bucket):
the intent loses only what was in flight, and no surviving link carries more than its capacity in any
sample, whether the controller recomputes (it does within ~0.2 s) or is stopped (SIGSTOP: fail-secure,
nothing but the switches acts). Unprotected, the same failure black-holes the intent until the controller
recomputes, and for good while it is stopped.
"""
import signal
import time

import pytest

from topologies import lab
from topologies.b4 import B4Topo

CAPACITY_BPS = 10e6
SECONDS = 12


def first_link_carrying(setup, sampler_rates, switch, candidates):
    """The neighbour of ``switch`` (among ``candidates``) whose link carried the most in the samples."""
    net = setup.net
    totals = {}
    for other in candidates:
        name = net.linksBetween(net.get(switch), net.get(other))[0].intf1
        name = name.name if name.node.name == switch else net.linksBetween(net.get(switch), net.get(other))[0].intf2.name
        totals[other] = sum(r.get(name, 0.0) for _, r in sampler_rates)
    return max(totals, key=totals.get), totals


def switch_ports(net):
    """Interface name -> (switch, neighbour switch) for every switch-to-switch link (both ends)."""
    out = {}
    for link in net.links:
        a, b = link.intf1.node, link.intf2.node
        if a.name.startswith("s") and b.name.startswith("s"):
            out[link.intf1.name] = (a.name, b.name)
            out[link.intf2.name] = (b.name, a.name)
    return out


def fail_under_traffic(setup, stop_controller: bool) -> dict:
    net = setup.net
    intent = lab.post_intent(setup, name="a", src=net.get("h1").IP(), dst=net.get("h12").IP(), rate_bps=9e6)
    alloc = lab.wait_allocations(setup, [intent])[intent]
    offered = 0.9 * alloc["allocated_bps"]
    server = lab.start_iperf_server(net.get("h12"), 5201)
    lab.wait_iperf_server(net.get("h12"), 5201)
    client = lab.start_iperf_udp(net.get("h1"), net.get("h12").IP(), 5201, lab.goodput_of(offered), SECONDS)
    sampler = lab.PortSampler(0.1).start()
    time.sleep(3)
    warm = len(sampler.samples)
    victim, _ = first_link_carrying(setup, sampler.rates(), "s1", ("s2", "s3"))
    if stop_controller:
        setup.controller.proc.send_signal(signal.SIGSTOP)
    try:
        failed_at = time.monotonic()
        net.configLinkStatus("s1", victim, "down")
        time.sleep(4)
    finally:
        if stop_controller:
            setup.controller.proc.send_signal(signal.SIGCONT)
    sampler.stop()
    lost, sent = lab.udp_loss(server, client)
    ports = switch_ports(net)
    dead = {("s1", victim), (victim, "s1")}
    worst, where = 0.0, None
    for t, rates in sampler.rates()[warm:]:
        if t <= failed_at + 0.1:  # the interval the failure fell into
            continue
        for name, bps in rates.items():
            if name in ports and ports[name] not in dead and bps / CAPACITY_BPS > worst:
                worst, where = bps / CAPACITY_BPS, ports[name]
    return {"allocated_bps": alloc["allocated_bps"], "paths": len(alloc["paths"]), "offered_bps": offered,
            "failed": f"s1-{victim}", "lost": lost, "sent": sent, "worst_utilisation": worst, "worst_link": where,
            "samples": len(sampler.samples) - warm}


@pytest.mark.parametrize("stop_controller", [False, True], ids=["controller-running", "controller-stopped"])
def test_protected_intent_survives_a_link_failure_without_loss_or_overload(network, stop_controller):
    setup = network(B4Topo(bw=10), te_protect_failures=1)
    lab.wait_full_reachability(setup.net, deadline_s=60)
    got = fail_under_traffic(setup, stop_controller)
    lab.record("failure_protection", f"protected_{'stopped' if stop_controller else 'running'}_lost_datagrams",
               got["lost"], "datagrams", **got)
    assert got["paths"] >= 2, got  # reserved on two disjoint tunnels
    assert got["worst_utilisation"] <= 1.0, got
    assert got["lost"] <= 0.005 * got["sent"], got  # what was in flight on the failed link, nothing more


def test_unprotected_intent_is_black_holed_while_the_controller_is_away(network):
    setup = network(B4Topo(bw=10))
    lab.wait_full_reachability(setup.net, deadline_s=60)
    got = fail_under_traffic(setup, stop_controller=True)
    lab.record("failure_protection", "unprotected_stopped_lost_datagrams", got["lost"], "datagrams", **got)
    # its single tunnel's bucket is dead: everything sent after the failure is lost until the controller is back
    assert got["lost"] > 0.2 * got["sent"], got
