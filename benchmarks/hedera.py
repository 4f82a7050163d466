"""Hedera's comparison on a k=4 fat-tree in Mininet: ECMP, Hedera's global first fit, adaptive TE and TE intents
against the LP optimum.

Every host sends long TCP flows (iperf3; one, then eight per pair) to its partner in a permutation:
``stride(4)`` (host i to i+4 mod 16: every flow leaves its pod) and seeded random permutations. Each
pattern runs four times on the same network:

* ECMP only: the baseline hashes every flow onto an equal-cost path (collisions share a link);
* global first fit: ``te_elephants = global-first-fit``, nobody declares anything; the controller detects
  the elephants, estimates their demand and places each on the first path with room (Hedera);
* adaptive TE: ``te_elephants = max-min``, the same detection, placed by the TE engine's max-min;
* TE with intents: one intent per pair asking for the host link's rate (max-min TE places and meters them).

The optimum is the edge-formulation multi-commodity max-throughput LP on the same graph (te.lp.edge_optimum).
Throughputs are frame rates (iperf3's TCP goodput divided by the payload share of a full frame), so they
compare with capacities; the first ``SKIP`` seconds of each run (detection, TCP start) are left out. Needs
root and Open vSwitch. Usage::

    .venv/bin/python benchmarks/hedera.py [--bw 1] [--seconds 18] [--random 2 | --seeds 0,3] [--json out.json]
        [--chart docs/hedera.png]
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

SKIP = 6  # seconds of each run left out: TCP start, and two polls of the flow counters for adaptive TE
MODES = ("ecmp", "gff", "adaptive", "intents")
LABELS = {"ecmp": "ECMP only", "gff": "global first fit", "adaptive": "adaptive TE (max-min)",
          "intents": "TE with intents"}


def run_flows(net, pairs, seconds: int, parallel: int, during=None) -> tuple:
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
    seen = during() if during else None
    goodput = sum(lab.received_goodput(srv, cli, skip=SKIP) for srv, cli in zip(servers, clients))
    return goodput, (lab.ovs_cpu_seconds() - cpu) / (time.monotonic() - start), seen


def optimum(topology_file: Path, pairs, rate_bps: float) -> float:
    graph = te.read_topology(topology_file)
    demands = [te.Demand(f"f{s}", f"h{s + 1}", f"h{d + 1}", rate_bps) for s, d in pairs]
    return edge_optimum(graph, demands, "max-throughput")


def placed_demand(setup, seconds: float) -> float:
    """Mid-run: what the controller reserved for the elephants it placed (bit/s)."""
    time.sleep(seconds)
    body = setup.api.call("GET", "/elephants", expect=200).json()
    return sum(e["reserved_bps"] or 0.0 for e in body["elephants"] if e["state"] == "placed")


def wait_no_elephants(setup, timeout: float = 30.0) -> None:
    """The last run's flows have expired from the counters (and their rules are gone)."""
    deadline = time.monotonic() + timeout
    while setup.api.call("GET", "/elephants", expect=200).json()["elephants"] and time.monotonic() < deadline:
        time.sleep(0.5)
    time.sleep(1.0)


def run(bw: float, seconds: int, seeds, parallels=(1, 8), fewest_paths_s: float = 1.0, modes=MODES) -> list:
    patterns = [(f"stride(4), {p} flow(s)/pair", stride(4), p) for p in parallels]
    patterns += [(f"random (seed {s}), {p} flow(s)/pair", random_permutation(s), p)
                 for s in seeds for p in parallels]
    setup = lab.Setup("hedera", FatTreeTopo(k=4, bw=bw), REPO / "results" / "bench" / "hedera",
                      te_fewest_paths_seconds=fewest_paths_s, te_elephants="off")
    rate = bw * 1e6
    rows = {name: {"pattern": name} for name, _, _ in patterns}
    with lab.running(setup):
        net = setup.net
        lab.wait_full_reachability(net, deadline_s=120)
        description = setup.topo.graph
        for name, pairs, parallel in patterns:
            row = rows[name]
            # every host sends at most its link's rate, over the switches between the two hosts
            flows = [(rate, nx.shortest_path_length(description, f"h{s + 1}", f"h{d + 1}") - 1, True) for s, d in pairs]
            warning = lab.budget_warning(flows)
            if warning:
                print(f"{name}: {warning}", file=sys.stderr, flush=True)
            row |= {"optimum_bps": optimum(setup.artifacts / "topology.json", pairs, rate),
                    "offered_pkt_hops": lab.offered_pkt_hops(flows), "over_budget": warning is not None}
            if "ecmp" in modes:
                row["ecmp_bps"], row["ovs_cpu_ecmp"], _ = run_flows(net, pairs, seconds, parallel)
            if "intents" not in modes:
                continue
            ids = [lab.post_intent(setup, src=net.hosts[s].IP(), dst=net.hosts[d].IP(), rate_bps=rate)
                   for s, d in pairs]
            allocs = lab.wait_allocations(setup, ids, timeout=30)
            row["intents_planned_bps"] = sum(a["allocated_bps"] for a in allocs.values())
            time.sleep(1)
            row["intents_bps"], row["ovs_cpu_intents"], _ = run_flows(net, pairs, seconds, parallel)
            for intent_id in ids:
                lab.api(setup, "DELETE", f"/intents/{intent_id}", expect=204)
            time.sleep(1)
        for mode, setting in (("gff", "global-first-fit"), ("adaptive", "max-min")):
            if mode not in modes:
                continue
            setup.controller.reconfigure(te_elephants=setting)
            lab.wait_full_reachability(net, deadline_s=120)
            for name, pairs, parallel in patterns:
                row = rows[name]
                row[f"{mode}_bps"], row[f"ovs_cpu_{mode}"], row[f"{mode}_planned_bps"] = run_flows(
                    net, pairs, seconds, parallel, during=lambda: placed_demand(setup, SKIP + 2))
                wait_no_elephants(setup)
        for row in rows.values():
            for mode in modes:
                row[f"{mode}_bps"] /= lab.TCP_PAYLOAD_SHARE
            print(json.dumps(row), flush=True)
    return list(rows.values())


def table(rows, bw) -> str:
    def cell(v, opt):
        return "-" if v is None else f"{v / 1e6:.1f} ({100 * v / opt:.0f}%)"

    lines = [f"| pattern (k=4 fat-tree, {bw:g} Mbit/s links) | LP optimum (Mbit/s) | ECMP only | global first fit: "
             "measured (planned) | adaptive TE: measured (planned) | TE with intents: measured (planned) | "
             "ovs-vswitchd CPU (ECMP / GFF / adaptive / intents) |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        opt = r["optimum_bps"]
        flag = " (over the emulator's budget)" if r.get("over_budget") else ""
        planned = {m: f"{cell(r[f'{m}_bps'], opt)} ({100 * r[f'{m}_planned_bps'] / opt:.0f}%)" if f"{m}_bps" in r
                   else "-" for m in ("gff", "adaptive", "intents")}
        cpu = " / ".join(f"{100 * r[f'ovs_cpu_{m}']:.0f}%" if f"ovs_cpu_{m}" in r else "-" for m in MODES)
        lines.append(f"| {r['pattern']}{flag} | {opt / 1e6:.1f} | {cell(r.get('ecmp_bps'), opt)} | {planned['gff']} | "
                     f"{planned['adaptive']} | {planned['intents']} | {cpu} |")
    return "\n".join(lines)


def chart(rows, path: Path) -> None:
    """A grouped bar chart: share of the optimum per pattern and mode (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(11, 4.5))
    width = 0.8 / len(MODES)
    for n, mode in enumerate(MODES):
        shares = [100 * r.get(f"{mode}_bps", 0.0) / r["optimum_bps"] for r in rows]
        ax.bar([i + (n - 1.5) * width for i in range(len(rows))], shares, width, label=LABELS[mode])
    ax.axhline(100, color="black", linewidth=0.8)
    ax.set_xticks(range(len(rows)))
    ax.set_xticklabels([r["pattern"].replace(" flow(s)/pair", "") for r in rows], rotation=20, ha="right", fontsize=8)
    ax.set_ylabel("measured throughput, % of the LP optimum")
    ax.set_ylim(0, 110)
    ax.legend(ncol=4, fontsize=8, loc="lower center")
    ax.set_title("k=4 fat-tree, TCP (iperf3), each pattern with 1 and 8 flows per pair")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bw", type=float, default=1.0, help="link speed in Mbit/s (default 1: inside the emulator's budget)")
    ap.add_argument("--seconds", type=int, default=18)
    ap.add_argument("--random", type=int, default=2, help="random permutations (seeds 0..N-1)")
    ap.add_argument("--seeds", help="random permutations of these seeds (comma-separated; instead of --random)")
    ap.add_argument("--fewest-paths", type=float, default=1.0, metavar="SECONDS",
                    help="the controller's te_fewest_paths_seconds (0: keep the LP's split)")
    ap.add_argument("--flows", default="1,8", help="flows per pair to run (comma-separated; default 1,8)")
    ap.add_argument("--modes", default=",".join(MODES), help=f"which of {','.join(MODES)} to run (default all)")
    ap.add_argument("--json")
    ap.add_argument("--chart", help="write a bar chart (PNG) here")
    args = ap.parse_args(argv)
    seeds = [int(x) for x in args.seeds.split(",")] if args.seeds else list(range(args.random))
    rows = run(args.bw, args.seconds, seeds, [int(x) for x in args.flows.split(",")], fewest_paths_s=args.fewest_paths,
               modes=[m for m in args.modes.split(",") if m])
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    print(table(rows, args.bw))
    if args.chart:
        chart(rows, Path(args.chart))
    return 0


if __name__ == "__main__":
    sys.exit(main())
