"""End-to-end harness: a real ``ryu-manager`` running controller.app, real OVS bridges, real Mininet hosts.

Test-only measurements on top of topologies.lab (the controller + Mininet lab), used by the
fixtures in conftest.py and by benchmarks/bench_controller.py.
"""
from __future__ import annotations

import json
import re
import subprocess
import time

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
