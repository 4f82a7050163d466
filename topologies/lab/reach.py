"""Reachability in the lab: parallel pingall, outages measured by ping, link failures on a ping's path."""
from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

from .switches import port_counters


@dataclass
class Pingall:
    ok: int
    total: int
    failed: list = field(default_factory=list)

    @property
    def loss(self) -> float:
        return 1.0 - self.ok / self.total if self.total else 1.0


def parallel_pingall(net, timeout_s: int = 1) -> Pingall:
    """Every host pings every other host once, all at the same time; a round takes about ``timeout_s``.

    Mininet's own pingAll() is sequential: with unreachable pairs it takes a timeout per pair.
    """
    hosts = net.hosts
    for h in hosts:
        script = " ".join(
            f"(ping -c1 -W{timeout_s} {o.IP()} >/dev/null 2>&1 && echo OK {o.name} || echo FAIL {o.name}) &"
            for o in hosts if o is not h)
        h.sendCmd(script + " wait")
    ok, failed = 0, []
    for h in hosts:
        for line in h.waitOutput().splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[0] == "OK":
                ok += 1
            elif len(parts) == 2 and parts[0] == "FAIL":
                failed.append((h.name, parts[1]))
    n = len(hosts)
    return Pingall(ok, n * (n - 1), failed)


def wait_full_reachability(net, deadline_s: float) -> tuple:
    """Repeat parallel pingall rounds until one has no loss; returns (time of success, rounds)."""
    end = time.monotonic() + deadline_s
    rounds = []
    while True:
        result = parallel_pingall(net)
        rounds.append(result)
        if result.loss == 0:
            return time.monotonic(), rounds
        if time.monotonic() > end:
            raise AssertionError(f"no full reachability within {deadline_s} s; last round lost "
                                 f"{len(result.failed)}/{result.total}: {result.failed[:10]}")
        time.sleep(0.2)


def ping_outage(output: str, interval_s: float) -> float:
    """Longest time without replies in ``ping -D -i interval_s`` output, less one interval.

    Counts the silent stretch between consecutive replies; a lost reply at the end is not counted.
    """
    stamps = [float(t) for t in re.findall(r"^\[(\d+\.\d+)\].*icmp_seq", output, re.M)]
    if len(stamps) < 2:
        raise AssertionError(f"too few ping replies to measure an outage:\n{output[-2000:]}")
    return max(b - a for a, b in zip(stamps, stamps[1:])) - interval_s


def switch_port_towards(net, sw, other):
    link = net.linksBetween(sw, other)[0]
    return str(sw.ports[link.intf1 if link.intf1.node is sw else link.intf2])


def busiest_next_hop(net, switch: str, host, target_ip: str) -> str:
    """The neighbour switch that ``host``'s pings to ``target_ip`` leave ``switch`` towards (tx counters)."""
    sw = net.get(switch)
    neighbours = sorted({(l.intf2.node if l.intf1.node is sw else l.intf1.node).name
                         for l in net.links if sw in (l.intf1.node, l.intf2.node)} & {s.name for s in net.switches})
    ports = {n: switch_port_towards(net, sw, net.get(n)) for n in neighbours}
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
