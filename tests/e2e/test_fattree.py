"""k=4 fat-tree (20 switches, 16 hosts): reachability without a broadcast storm, ECMP spread, failover."""
import time

import pytest

from topologies import lab
from topologies.fattree import FatTreeTopo

CORES = ["c1", "c2", "c3", "c4"]


@pytest.fixture
def fattree(network):
    setup = network(FatTreeTopo(k=4, bw=10))
    reached, rounds = lab.wait_full_reachability(setup.net, deadline_s=90)
    setup.reached_at = reached
    setup.reach_rounds = rounds
    return setup


def test_fattree_pingall_without_storm(fattree):
    setup = fattree
    names = setup.bridge_names
    lab.record("fattree_k4", "time_to_full_reachability_from_controller_start",
                   setup.reached_at - setup.controller.started_at, "s", rounds=len(setup.reach_rounds))
    lab.record("fattree_k4", "time_to_full_reachability_from_network_start",
                   setup.reached_at - setup.network_started_at, "s")
    assert setup.net.pingAll(timeout="1") == 0.0
    # Packet-ins as the switches count them.  All of start-up with several pingall rounds: a storm
    # would be many thousands of ARP packet-ins per second.
    startup = lab.controller_packet_counts(names)
    assert startup["arp"] < 2000, startup
    # Steady state: only LLDP (Ryu's discovery) reaches the controller.
    rate = lab.steady_packet_in_rate(names, 10)
    lab.record("fattree_k4", "steady_packet_ins_per_s", rate["total"], "1/s",
                   lldp=round(rate["lldp"], 2), arp=round(rate["arp"], 2), ipv4=round(rate["ipv4"], 2))
    assert rate["arp"] + rate["ipv4"] < 2, rate
    assert rate["lldp"] < 100, rate


def _core_rx(names):
    return {c: sum(lab.port_rx_packets(c).values()) for c in names}


def test_ecmp_spreads_over_cores(fattree):
    net = fattree.net
    src_hosts = [net.get(f"h{i}") for i in (1, 2, 3, 4)]  # pod 0
    dst_hosts = [net.get(f"h{i}") for i in (13, 14, 15, 16)]  # pod 3
    servers = []
    for d in dst_hosts:
        servers.append(d.popen(["iperf3", "-s", "-1", "-p", "5201"]))
    time.sleep(0.5)
    before = _core_rx(CORES)
    clients = [s.popen(["iperf3", "-c", d.IP(), "-p", "5201", "-P", "8", "-t", "4", "-b", "200K"])
               for s, d in zip(src_hosts, dst_hosts)]
    try:
        for c in clients:
            c.wait(30)
    finally:
        for p in clients + servers:
            if p.poll() is None:
                p.terminate()
                p.wait(5)
    after = _core_rx(CORES)
    delta = {c: after[c] - before[c] for c in CORES}
    total = sum(delta.values())
    used = [c for c in CORES if delta[c] > 0.05 * total]
    lab.record("fattree_k4", "ecmp_cores_used", len(used), "cores", packets=delta)
    assert all(c.returncode == 0 for c in clients), [c.returncode for c in clients]
    assert total > 1000, delta
    assert len(used) >= 3, delta


def test_link_failure_recovers(fattree):
    """h1 (pod 0) -> h16 (pod 3): the edge-to-aggregation link the pings leave e1 on goes down."""
    result = lab.measure_link_failure(fattree.net, "h1", "h16")
    lab.record("fattree_k4", "recovery_after_link_down", result["outage_s"], "s", link=result["link"],
                   lost=result["lost"])
    assert result["link"] in ("e1-a1", "e1-a2")
    assert result["outage_s"] < 5, result
    # Everything is still reachable with the link down.
    assert lab.parallel_pingall(fattree.net).loss == 0.0
