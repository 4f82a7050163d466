"""How many packets per second this machine's userspace Open vSwitch forwards, across N switches.

A line of N switches (links at 1 Gbit/s, TCLink's cap, so the shaper is not the limit) with a host at
each end and the controller's ECMP baseline; one iperf3 UDP stream of 1400-byte datagrams at rising
rates. The budget is the highest rate with under 1% loss, as packets per second and as packet-hops per
second (every switch a packet crosses costs the one ovs-vswitchd thread a lookup). Benchmarks that drive
traffic (hedera.py, the demo) compare what they offer with this (:data:`topologies.lab.PKT_HOPS_BUDGET`).
Needs root and Open vSwitch. Usage::

    .venv/bin/python benchmarks/emulator_budget.py [--hops 1,3,5] [--rates 5,10,20,40,80] [--seconds 4]
"""
from __future__ import annotations

import argparse
import json

import networkx as nx

from topologies import lab
from topologies.base import GraphTopo, add_hosts

REPO = lab.REPO


class LineTopo(GraphTopo):
    """``n`` switches in a line, h1 on the first and h2 on the last."""

    def describe(self, n=3, bw=1000):
        capacity = bw * 1e6
        g = nx.Graph(name="line", host_capacity=capacity)
        for i in range(1, n + 1):
            g.add_node(f"s{i}", kind="switch", dpid=i)
        for i in range(1, n):
            g.add_edge(f"s{i}", f"s{i + 1}", capacity=capacity)
        add_hosts(g, ["s1", f"s{n}"])
        return g


def udp_loss(net, rate_bps: float, seconds: int, port: int) -> tuple:
    """(received payload bit/s, loss fraction) of one UDP stream h1 -> h2."""
    h1, h2 = net.get("h1"), net.get("h2")
    server = lab.start_iperf_server(h2, port)
    lab.wait_iperf_server(h2, port)
    client = lab.start_iperf_udp(h1, h2.IP(), port, rate_bps, seconds)
    out, _ = client.communicate(timeout=seconds + 30)
    server.communicate(timeout=30)
    end = json.loads(out)["end"]["sum"]
    return end["bits_per_second"] * (1 - end["lost_percent"] / 100), end["lost_percent"] / 100


def run(hops, rates_mbps, seconds: int) -> list:
    rows = []
    for n in hops:
        setup = lab.Setup(f"budget-{n}", LineTopo(n=n), REPO / "results" / "bench" / f"budget-{n}")
        with lab.running(setup):
            lab.wait_full_reachability(setup.net, deadline_s=60)
            best = 0.0
            for k, mbps in enumerate(rates_mbps):
                got, loss = udp_loss(setup.net, mbps * 1e6, seconds, 5301 + k)
                pps = got / (lab.UDP_PAYLOAD * 8)
                print(f"{n} switches  offered {mbps:6.1f} Mbit/s  received {got / 1e6:6.1f}  loss {100 * loss:5.1f}%  "
                      f"{pps:7.0f} pkt/s", flush=True)
                rows.append({"switches": n, "offered_mbps": mbps, "received_bps": got, "loss": loss, "pps": pps})
                if loss < 0.01:
                    best = max(best, pps)
                else:
                    break
            rows.append({"switches": n, "budget_pps": best, "budget_pkt_hops": best * n})
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--hops", default="1,3,5", help="switches in the line")
    ap.add_argument("--rates", default="5,10,20,40,80,160", help="offered UDP payload rates (Mbit/s), rising")
    ap.add_argument("--seconds", type=int, default=4)
    ap.add_argument("--json", default=str(REPO / "results" / "emulator_budget.json"))
    args = ap.parse_args(argv)
    problem = lab.environment_problem()
    if problem:
        ap.exit(2, f"emulator_budget: {problem}\n")
    rows = run([int(h) for h in args.hops.split(",")], [float(r) for r in args.rates.split(",")], args.seconds)
    print("| switches | budget (pkt/s, < 1% loss) | pkt-hops/s |\n|---:|---:|---:|")
    for r in rows:
        if "budget_pps" in r:
            print(f"| {r['switches']} | {r['budget_pps']:.0f} | {r['budget_pkt_hops']:.0f} |")
    with open(args.json, "w") as f:
        json.dump(rows, f, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
