"""End-to-end harness: a real ``ryu-manager`` running controller.app, real OVS bridges, real Mininet hosts.

Test-only measurements on top of topologies.lab (the controller + Mininet lab), used by the
fixtures in conftest.py and by benchmarks/bench_controller.py.
"""
from __future__ import annotations

import json
import re
import subprocess
import time
from contextlib import contextmanager

from topologies.base import HOST_MTU
from topologies.lab import (  # noqa: F401  (re-exported for the tests)
    REPO, Controller, Pingall, Setup, bridges, dump_switches, environment_problem, free_port, ofctl,
    parallel_pingall, stale_interfaces, wait_full_reachability,
)

RESULTS = REPO / "results" / "e2e"
MEASUREMENTS = RESULTS / "measurements.jsonl"


def record(test: str, metric: str, value: float, unit: str, **extra) -> None:
    """Append one measurement to results/e2e/measurements.jsonl (and print it for ``pytest -s``)."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    row = dict(test=test, metric=metric, value=round(value, 4), unit=unit, time=time.time(), **extra)
    with open(MEASUREMENTS, "a") as f:
        f.write(json.dumps(row) + "\n")
    print(f"\n[measure] {test}: {metric} = {value:.3f} {unit} {extra if extra else ''}")


_N_PACKETS = re.compile(r"n_packets=(\d+)")


def controller_packet_counts(names) -> dict:
    """Packets that matched flows sending to the controller, per kind (lldp, arp, ipv4), summed over bridges.

    These are the switches' own counts of packet-ins, independent of the controller.
    """
    counts = {"lldp": 0, "arp": 0, "ipv4": 0}
    for name in names:
        for line in ofctl("dump-flows", name).splitlines():
            if "CONTROLLER" not in line.upper().split("ACTIONS=")[-1]:
                continue
            m = _N_PACKETS.search(line)
            n = int(m.group(1)) if m else 0
            if "dl_type=0x88cc" in line:
                counts["lldp"] += n
            elif "arp" in line:
                counts["arp"] += n
            else:
                counts["ipv4"] += n
    return counts


_PORT_STATS = re.compile(r"port\s+(\S+):\s+rx pkts=(\d+).*?tx pkts=(\d+)", re.S)


def port_counters(name) -> dict:
    """``{port: (rx packets, tx packets)}`` of one bridge (LOCAL excluded)."""
    return {port: (int(rx), int(tx)) for port, rx, tx in _PORT_STATS.findall(ofctl("dump-ports", name))
            if port.upper() != "LOCAL"}


def port_rx_packets(name) -> dict:
    """``{port: rx packets}`` of one bridge (LOCAL excluded)."""
    return {port: rx for port, (rx, _) in port_counters(name).items()}


def ping_outage(output: str, interval_s: float) -> float:
    """Longest time without replies in ``ping -D -i interval_s`` output, less one interval.

    Counts the silent stretch between consecutive replies; a lost reply at the end is not counted.
    """
    stamps = [float(t) for t in re.findall(r"^\[(\d+\.\d+)\].*icmp_seq", output, re.M)]
    if len(stamps) < 2:
        raise AssertionError(f"too few ping replies to measure an outage:\n{output[-2000:]}")
    return max(b - a for a, b in zip(stamps, stamps[1:])) - interval_s


def steady_packet_in_rate(switch_names, seconds: float = 10.0) -> dict:
    """Packet-ins per second by kind over ``seconds``, from the switches' flow counters."""
    before, t0 = controller_packet_counts(switch_names), time.monotonic()
    time.sleep(seconds)
    after, t1 = controller_packet_counts(switch_names), time.monotonic()
    rate = {k: (after[k] - before[k]) / (t1 - t0) for k in after}
    rate["total"] = sum(rate.values())
    return rate


def _switch_port_towards(net, sw, other):
    link = net.linksBetween(sw, other)[0]
    return str(sw.ports[link.intf1 if link.intf1.node is sw else link.intf2])


def busiest_next_hop(net, switch: str, host, target_ip: str) -> str:
    """The neighbour switch that ``host``'s pings to ``target_ip`` leave ``switch`` towards (tx counters)."""
    sw = net.get(switch)
    neighbours = sorted({(l.intf2.node if l.intf1.node is sw else l.intf1.node).name
                         for l in net.links if sw in (l.intf1.node, l.intf2.node)} & {s.name for s in net.switches})
    ports = {n: _switch_port_towards(net, sw, net.get(n)) for n in neighbours}
    before = port_counters(switch)
    host.popen(["ping", "-i", "0.01", "-c", "200", target_ip]).wait(20)
    after = port_counters(switch)
    return max(neighbours, key=lambda n: after[ports[n]][1] - before[ports[n]][1])


def measure_link_failure(net, src: str, dst: str, interval_s: float = 0.01, count: int = 600) -> dict:
    """Ping ``dst`` from ``src`` continuously, take down the first link on the ping's path, measure the outage.

    Returns ``{"link", "outage_s", "lost"}``; the outage is the longest silence between replies.
    """
    h_src, h_dst = net.get(src), net.get(dst)
    link = h_src.defaultIntf().link
    first_switch = (link.intf2 if link.intf1.node is h_src else link.intf1).node.name
    nxt = busiest_next_hop(net, first_switch, h_src, h_dst.IP())
    ping = h_src.popen(["ping", "-D", "-i", str(interval_s), "-W", "1", "-c", str(count), h_dst.IP()])
    time.sleep(count * interval_s / 3)
    net.configLinkStatus(first_switch, nxt, "down")
    out, _ = ping.communicate(timeout=count * interval_s + 30)
    out = out.decode() if isinstance(out, bytes) else out
    sent, received = map(int, re.search(r"(\d+) packets transmitted, (\d+) received", out).groups())
    return {"link": f"{first_switch}-{nxt}", "outage_s": ping_outage(out, interval_s), "lost": sent - received}


# --- intents over REST and measured traffic (tests/e2e/test_te_*.py) -------------------------
UDP_PAYLOAD = 1400  # iperf3 -l: one datagram fits the hosts' 1450-byte MTU
# What a meter and a shaped link count per datagram beyond the payload: UDP 8 + IPv4 20 + Ethernet 14.
UDP_FRAME = UDP_PAYLOAD + 8 + 20 + 14


# A full TCP segment at the hosts' MTU: payload = MTU - IPv4 20 - TCP 20 - timestamps 12; frame = MTU + Ethernet 14.
TCP_PAYLOAD_SHARE = (HOST_MTU - 52) / (HOST_MTU + 14)


def goodput_of(frame_bps: float) -> float:
    """The UDP payload rate iperf3 reports when frames (what meters count) arrive at ``frame_bps``."""
    return frame_bps * UDP_PAYLOAD / UDP_FRAME


def api(setup, method: str, path: str, body=None, expect: int | None = None):
    """One REST call to the lab's controller; returns the response (checked against ``expect``)."""
    import requests

    r = requests.request(method, setup.controller.api_url + path, json=body, timeout=10)
    if expect is not None:
        assert r.status_code == expect, f"{method} {path} {body}: {r.status_code} {r.text}"
    return r


def allocation(setup, intent_id: str) -> dict:
    for a in api(setup, "GET", "/allocations", expect=200).json()["allocations"]:
        if a["intent_id"] == intent_id:
            return a
    raise AssertionError(f"intent {intent_id} has no allocation")


def wait_allocations(setup, ids, timeout: float = 20.0, states=("installed", "partial"), version=None) -> dict:
    """Poll until every intent in ``ids`` is in one of ``states`` (at ``version``, if given); ``{id: allocation}``."""
    deadline = time.monotonic() + timeout
    while True:
        body = api(setup, "GET", "/allocations", expect=200).json()
        got = {a["intent_id"]: a for a in body["allocations"] if a["intent_id"] in ids}
        if all(i in got and got[i]["state"] in states and (version is None or got[i]["version"] == version)
               for i in ids):
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"allocations not {states} within {timeout} s: {got}")
        time.sleep(0.05)


def post_intent(setup, **body) -> str:
    return api(setup, "POST", "/intents", body, expect=201).json()["id"]


def switch_tables(names) -> dict:
    """Flows (without counters), groups and meters of every bridge, sorted: for comparing states."""
    out = {}
    for name in sorted(names):
        flows = ofctl("dump-flows", "--no-stats", name).splitlines()
        groups = ofctl("dump-groups", name).splitlines()[1:]
        meters = ofctl("dump-meters", name).splitlines()[1:]
        out[name] = {"flows": sorted(flows), "groups": sorted(groups), "meters": sorted(meters)}
    return out


def start_iperf_server(host, port: int):
    return host.popen(["iperf3", "-s", "-1", "-J", "-p", str(port)])


def start_iperf_udp(host, server_ip: str, port: int, rate_bps: float, seconds: int, parallel: int = 1):
    """``parallel`` UDP streams (different source ports) offering ``rate_bps`` of payload in total."""
    return host.popen(["iperf3", "-c", server_ip, "-p", str(port), "-u", "-b", str(int(rate_bps / parallel)),
                       "-l", str(UDP_PAYLOAD), "-t", str(seconds), "-P", str(parallel), "-J"])


def start_iperf_tcp(host, server_ip: str, port: int, seconds: int, parallel: int = 1):
    return host.popen(["iperf3", "-c", server_ip, "-p", str(port), "-t", str(seconds), "-P", str(parallel), "-J"])


def received_goodput(server, client, skip: int = 2) -> float:
    """Mean received payload rate (bit/s) at an iperf3 server over its 1-second intervals, first ``skip`` left out.

    The first seconds carry the meter's burst and the start-up; later intervals are the steady state.
    """
    client.communicate(timeout=120)
    out, _ = server.communicate(timeout=30)
    report = json.loads(out)
    rates = [iv["sum"]["bits_per_second"] for iv in report["intervals"]]
    steady = rates[skip:-1] if len(rates) > skip + 2 else rates  # the last interval is often partial
    return sum(steady) / len(steady)


def wait_iperf_server(host, port: int, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while f":{port} " not in host.cmd(f"ss -lnH 'sport = :{port}'") + " ":
        if time.monotonic() > deadline:
            raise AssertionError(f"iperf3 server on {host.name}:{port} did not start")
        time.sleep(0.05)


def udp_goodputs(net, flows, seconds: int = 8) -> list:
    """Run UDP flows at the same time and measure each one's received goodput.

    ``flows``: ``[(src_name, dst_name, offered_payload_bps, parallel), ...]``.
    """
    servers, clients = [], []
    for n, (src, dst, _, _) in enumerate(flows):
        port = 5201 + n
        servers.append(start_iperf_server(net.get(dst), port))
        wait_iperf_server(net.get(dst), port)
    for n, (src, dst, rate, parallel) in enumerate(flows):
        clients.append(start_iperf_udp(net.get(src), net.get(dst).IP(), 5201 + n, rate, seconds, parallel))
    return [received_goodput(s, c) for s, c in zip(servers, clients)]


@contextmanager
def running(setup):
    """Start ``setup`` for a benchmark; stop it on the way out and fail on controller log errors or leftovers."""
    try:
        setup.start()
        yield setup
        problems = setup.controller.log_problems()
        if problems:
            raise RuntimeError(f"controller log {setup.controller.log_path}: {problems[:5]}")
    finally:
        leftovers = setup.stop()
    if leftovers:
        raise RuntimeError(f"left behind: {leftovers}")
