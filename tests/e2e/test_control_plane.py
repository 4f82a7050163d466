"""Faults of the control plane must not hurt the data plane (real te-controller, OVS and Mininet, B4).

The probes of a hostile tester, rerun: a switch's OpenFlow connection cut for 5 s, a switch that
comes back empty, a switch gone for good, a fake switch claiming a connected switch's dpid, and
OpenFlow over TLS.
"""
import re
import subprocess
import time

import pytest

from topologies import lab
from topologies.b4 import B4Topo
from topologies.lab.impostor import Impostor, wait_until
from topologies.lab.pki import controller_tls, make_pki, ovs_ssl


# Counts UDP datagrams to port 9 for 2 s and prints the count; never sends a packet.
SINK = """
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("0.0.0.0", 9)); s.settimeout(0.1)
n, end = 0, time.monotonic() + 2
while time.monotonic() < end:
    try:
        s.recv(64); n += 1
    except socket.timeout:
        pass
print(n)
"""


def controller_target(bridge: str) -> list:
    return subprocess.run(["ovs-vsctl", "get-controller", bridge], capture_output=True, text=True,
                          check=True).stdout.split()


def wait_log(setup, text: str, timeout: float = 10.0) -> None:
    wait_until(lambda: text in setup.controller.log(), timeout)


def fresh_arp(net, *names) -> None:
    """Resolve the hosts' neighbours now, so no entry goes stale (and re-probes) during a short cut.

    Linux keeps a neighbour REACHABLE for 15-45 s after it resolved it; the probes of a stale one are
    ARP, which the controller answers (see README, troubleshooting).
    """
    for name in names:
        net.get(name).cmd("ip neigh flush all")
    for a in names:
        for b in names:
            if a != b:
                net.get(a).cmd(f"ping -c1 -W1 {net.get(b).IP()}")


def ping_loss(output: str) -> tuple:
    sent, received = map(int, re.search(r"(\d+) packets transmitted, (\d+) received", output).groups())
    return sent, sent - received


def test_a_5s_control_channel_cut_loses_no_ping(network):
    """s4's OpenFlow connection is cut for 5 s (its tables kept): h1 -> h4 loses nothing, no rule changes."""
    setup = network(B4Topo(bw=10))
    lab.wait_full_reachability(setup.net, deadline_s=60)
    net = setup.net
    fresh_arp(net, "h1", "h4")
    before = lab.switch_tables(setup.bridge_names)
    target = controller_target("s4")
    ping = net.get("h1").popen(["ping", "-i", "0.02", "-c", "400", "-W", "1", net.get("h4").IP()])
    time.sleep(1.0)
    # An unreachable controller address cuts the channel and keeps the tables (del-controller would flush them).
    subprocess.run(["ovs-vsctl", "set-controller", "s4", f"tcp:127.0.0.1:{lab.free_port()}"], check=True)
    wait_log(setup, "switch 0000000000000004 disconnected")
    time.sleep(5.0)
    subprocess.run(["ovs-vsctl", "set-controller", "s4", *target], check=True)
    out, _ = ping.communicate(timeout=60)
    sent, lost = ping_loss(out.decode())
    lab.record("control_plane", "pings_lost_in_5s_cut", lost, "packets", sent=sent)
    assert lost == 0, out.decode()[-1500:]
    wait_until(lambda: setup.controller.log().count("switch 0000000000000004 connected") == 2, 10)
    assert "back within its hold time" in setup.controller.log()
    time.sleep(1.0)
    assert lab.switch_tables(setup.bridge_names) == before  # nothing was removed or re-sent


def test_a_switch_back_empty_has_every_host_routed_again_within_a_second(network):
    """s4 loses its tables (del-controller flushes them); when it reconnects, every route is back at once,
    although h4 never sends anything: it is a receive-only UDP sink."""
    setup = network(B4Topo(bw=10))
    lab.wait_full_reachability(setup.net, deadline_s=60)
    net = setup.net
    target = controller_target("s4")
    subprocess.run(["ovs-vsctl", "del-controller", "s4"], check=True)
    wait_log(setup, "switch 0000000000000004 disconnected")
    assert "nw_dst=10.0.0.4" not in lab.ofctl("dump-flows", "s4")
    hosts = [h.IP() for h in net.hosts]
    subprocess.run(["ovs-vsctl", "set-controller", "s4", *target], check=True)
    connected = time.monotonic()

    def s4_routes_everyone():
        flows = lab.ofctl("dump-flows", "s4")
        return all(f"nw_dst={ip} " in flows or f"nw_dst={ip}," in flows for ip in hosts)

    took = wait_until(s4_routes_everyone, timeout=5.0, step=0.02)
    lab.record("control_plane", "routes_back_after_empty_reconnect", took, "s")
    assert took < 1.0
    assert time.monotonic() - connected < 5.0
    # Traffic to the silent host arrives: a UDP sink on h4 counts datagrams and sends nothing back.
    h1, h4 = net.get("h1"), net.get("h4")
    sink = h4.popen(["python3", "-c", SINK], stdout=subprocess.PIPE, text=True)
    time.sleep(0.3)
    h1.cmd(f"for i in $(seq 50); do echo x > /dev/udp/{h4.IP()}/9; done")
    out, _ = sink.communicate(timeout=10)
    assert int(out) == 50


def test_a_switch_gone_longer_than_its_hold_time_is_routed_around_and_reprogrammed_when_back(network):
    setup = network(B4Topo(bw=10), switch_hold_time=2.0)
    lab.wait_full_reachability(setup.net, deadline_s=60)
    target = controller_target("s3")
    subprocess.run(["ovs-vsctl", "del-controller", "s3"], check=True)  # and its tables are gone
    wait_log(setup, "switch 0000000000000003 disconnected")
    wait_log(setup, "switch 0000000000000003 has been disconnected for", timeout=10)
    time.sleep(0.5)
    # h1 reaches h12 around s3 now.
    h1, h12 = setup.net.get("h1"), setup.net.get("h12")
    assert "1 received" in h1.cmd(f"ping -c1 -W2 {h12.IP()}")
    subprocess.run(["ovs-vsctl", "set-controller", "s3", *target], check=True)
    lab.wait_full_reachability(setup.net, deadline_s=60)
    assert setup.controller.log().count("switch 0000000000000003 connected") == 2


def test_a_fake_switch_claiming_a_connected_dpid_does_not_displace_it(network):
    setup = network(B4Topo(bw=10))
    lab.wait_full_reachability(setup.net, deadline_s=60)
    net = setup.net
    fresh_arp(net, "h1", "h5")
    ping = net.get("h1").popen(["ping", "-i", "0.02", "-c", "150", "-W", "1", net.get("h5").IP()])
    time.sleep(0.5)
    with Impostor("127.0.0.1", setup.controller.port, dpid=1) as fake:
        assert fake.wait_closed(timeout=5.0), "the controller kept the impostor's connection"
        wait_log(setup, "claiming switch 0000000000000001")
    out, _ = ping.communicate(timeout=60)
    sent, lost = ping_loss(out.decode())
    lab.record("control_plane", "pings_lost_with_impostor", lost, "packets", sent=sent)
    assert lost == 0
    assert fake.received[lab.impostor.FLOW_MOD] == 0
    assert "switch 0000000000000001 disconnected" not in setup.controller.log()
    assert lab.parallel_pingall(net).loss == 0.0


@pytest.fixture
def pki(artifacts):
    return make_pki(artifacts / "pki")


def test_openflow_over_tls(network, pki):
    """Switches connect with TLS (certificates from one CA); a client without a certificate gets nowhere."""
    with ovs_ssl(pki):
        setup = network(B4Topo(bw=10), tls=controller_tls(pki))
        assert controller_target("s1")[0].startswith("ssl:127.0.0.1:")
        lab.wait_full_reachability(setup.net, deadline_s=60)
        with pytest.raises(AssertionError):  # plain TCP on the TLS port: the handshake fails, no switch
            with Impostor("127.0.0.1", setup.controller.port, dpid=1) as fake:
                wait_until(lambda: fake.received[lab.impostor.FEATURES_REQUEST] > 0, timeout=3.0)
        assert lab.parallel_pingall(setup.net).loss == 0.0
