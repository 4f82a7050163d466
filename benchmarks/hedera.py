"""Hedera's comparison on a k=4 fat-tree in Mininet: ECMP only vs TE intents vs the LP optimum.

Every host sends long TCP flows (iperf3; one, then eight per pair) to its partner in a permutation:
``stride(4)`` (host i to i+4 mod 16: every flow leaves its pod) and seeded random permutations. Each pattern runs twice on the same
network: with the ECMP baseline alone (flows hashed onto equal-cost paths at the ingress, collisions share
a link), then with one intent per flow asking for the host link's rate (max-min TE places and meters them).
The optimum is the edge-formulation multi-commodity max-throughput LP on the same graph (te.lp.edge_optimum).
Throughputs are frame rates (iperf3's TCP goodput divided by the payload share of a full frame), so they
compare with capacities. Needs root and Open vSwitch. Usage::

    .venv/bin/python benchmarks/hedera.py [--bw 5] [--seconds 10] [--random 2 | --seeds 0,3] [--json out.json]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import networkx as nx

from topologies import lab
import te
from te.lp import edge_optimum
from topologies.fattree import FatTreeTopo, random_permutation, stride

REPO = lab.REPO

def run_flows(net, pairs, seconds: int, parallel: int) -> tuple:
    """Aggregate received TCP goodput (bit/s) of ``parallel`` flows per pair, all pairs at once, and the share
    of one core ovs-vswitchd used meanwhile."""
    servers, clients = [], []
    for n, (s, d) in enumerate(pairs):
        host = net.hosts[d]
        servers.append(lab.start_iperf_server(host, 5301 + n))
        lab.wait_iperf_server(host, 5301 + n)
    cpu, start = lab.ovs_cpu_seconds(), time.monotonic()
    for n, (s, d) in enumerate(pairs):
        clients.append(lab.start_iperf_tcp(net.hosts[s], net.hosts[d].IP(), 5301 + n, seconds, parallel))
    goodput = sum(lab.received_goodput(srv, cli) for srv, cli in zip(servers, clients))
    return goodput, (lab.ovs_cpu_seconds() - cpu) / (time.monotonic() - start)


def optimum(topology_file: Path, pairs, rate_bps: float) -> float:
    graph = te.read_topology(topology_file)
    demands = [te.Demand(f"f{s}", f"h{s + 1}", f"h{d + 1}", rate_bps) for s, d in pairs]
    return edge_optimum(graph, demands, "max-throughput")


def run(bw: float, seconds: int, seeds, parallels=(1, 8), fewest_paths_s: float = 1.0) -> list:
    patterns = [(f"stride(4), {p} flow(s)/pair", stride(4), p) for p in parallels]
    patterns += [(f"random (seed {s}), {p} flow(s)/pair", random_permutation(s), p)
                 for s in seeds for p in parallels]
    setup = lab.Setup("hedera", FatTreeTopo(k=4, bw=bw), REPO / "results" / "bench" / "hedera",
                      te_fewest_paths_seconds=fewest_paths_s)
    rate = bw * 1e6
    rows = []
    with lab.running(setup):
        net = setup.net
        lab.wait_full_reachability(net, deadline_s=120)
        description = setup.topo.graph
        for name, pairs, parallel in patterns:
            # every host sends at most its link's rate, over the switches between the two hosts
            flows = [(rate, nx.shortest_path_length(description, f"h{s + 1}", f"h{d + 1}") - 1, True) for s, d in pairs]
            warning = lab.budget_warning(flows)
            if warning:
                print(f"{name}: {warning}", file=sys.stderr, flush=True)
            ecmp, ecmp_cpu = run_flows(net, pairs, seconds, parallel)
            ecmp /= lab.TCP_PAYLOAD_SHARE
            ids = [lab.post_intent(setup, src=net.hosts[s].IP(), dst=net.hosts[d].IP(), rate_bps=rate)
                   for s, d in pairs]
            allocs = lab.wait_allocations(setup, ids, timeout=30)
            planned = sum(a["allocated_bps"] for a in allocs.values())
            time.sleep(1)
            te_rate, te_cpu = run_flows(net, pairs, seconds, parallel)
            te_rate /= lab.TCP_PAYLOAD_SHARE
            for intent_id in ids:
                lab.api(setup, "DELETE", f"/intents/{intent_id}", expect=204)
            opt = optimum(setup.artifacts / "topology.json", pairs, rate)
            rows.append({"pattern": name, "optimum_bps": opt, "ecmp_bps": ecmp, "te_bps": te_rate,
                         "te_planned_bps": planned, "offered_pkt_hops": lab.offered_pkt_hops(flows),
                         "ovs_cpu_ecmp": ecmp_cpu, "ovs_cpu_te": te_cpu,
                         "over_budget": warning is not None})
            print(json.dumps(rows[-1]), flush=True)
            time.sleep(1)
    return rows


def table(rows, bw) -> str:
    def cell(v, opt):
        return f"{v / 1e6:.1f} ({100 * v / opt:.0f}%)"

    lines = [f"| pattern (k=4 fat-tree, {bw:g} Mbit/s links) | LP optimum (Mbit/s) | ECMP only | TE: planned "
             "(after 10% headroom) | TE: measured | ovs-vswitchd CPU (ECMP / TE) |", "|---|---|---|---|---|---|"]
    for r in rows:
        opt = r["optimum_bps"]
        flag = " (over the emulator's budget)" if r.get("over_budget") else ""
        lines.append(f"| {r['pattern']}{flag} | {opt / 1e6:.1f} | {cell(r['ecmp_bps'], opt)} | "
                     f"{cell(r['te_planned_bps'], opt)} | {cell(r['te_bps'], opt)} | "
                     f"{100 * r['ovs_cpu_ecmp']:.0f}% / {100 * r['ovs_cpu_te']:.0f}% |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bw", type=float, default=5.0, help="link speed in Mbit/s (default 5)")
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--random", type=int, default=2, help="random permutations (seeds 0..N-1)")
    ap.add_argument("--seeds", help="random permutations of these seeds (comma-separated; instead of --random)")
    ap.add_argument("--fewest-paths", type=float, default=1.0, metavar="SECONDS",
                    help="the controller's te_fewest_paths_seconds (0: keep the LP's split)")
    ap.add_argument("--json")
    args = ap.parse_args(argv)
    seeds = [int(x) for x in args.seeds.split(",")] if args.seeds else list(range(args.random))
    rows = run(args.bw, args.seconds, seeds, fewest_paths_s=args.fewest_paths)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    print(table(rows, args.bw))
    return 0


if __name__ == "__main__":
    sys.exit(main())
