"""Controller benchmark: reachability time, link-failure recovery and steady packet-ins, as a table.

Runs the real thing (ryu-manager + controller.app, userspace OVS, Mininet) through the e2e
lab (topologies.lab), ``--repeat`` times per topology, and prints median (min-max).  Needs root and a
running Open vSwitch (scripts/setup.sh).  Usage::

    .venv/bin/python benchmarks/bench_controller.py [--repeat 3] [--topos b4,fattree] [--json out.json]
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

from topologies import lab

REPO = lab.REPO

# Measured flows: the pair whose path loses a link, per topology.
TOPOS = {
    "b4": ("B4 (12 switches, 19 links)", lambda: __import__("topologies.b4", fromlist=["B4Topo"]).B4Topo(bw=10),
           ("h1", "h12")),
    "fattree": ("fat-tree k=4 (20 switches, 16 hosts)",
                lambda: __import__("topologies.fattree", fromlist=["FatTreeTopo"]).FatTreeTopo(k=4, bw=10),
                ("h1", "h16")),
}

METRICS = [
    ("reach_from_controller_s", "controller start -> full reachability (s)"),
    ("reach_from_network_s", "network up -> full reachability (s)"),
    ("packet_ins_per_s", "steady packet-ins/s, all (LLDP included)"),
    ("non_lldp_packet_ins_per_s", "steady packet-ins/s, ARP + IPv4"),
    ("recovery_s", "link down -> ping recovers (s)"),
    ("lost_pings", "pings lost at 100/s during failover"),
]


def run_once(key: str, run: int) -> dict:
    _, make_topo, (src, dst) = TOPOS[key]
    setup = lab.Setup(f"bench-{key}", make_topo(), lab.REPO / "results" / "bench" / f"{key}-{run}")
    try:
        setup.start()
        reached, _ = lab.wait_full_reachability(setup.net, deadline_s=120)
        rate = lab.steady_packet_in_rate(setup.bridge_names, 10)
        failure = lab.measure_link_failure(setup.net, src, dst)
        problems = setup.controller.log_problems()
    finally:
        leftovers = setup.stop()
    if problems or leftovers:
        raise RuntimeError(f"{key} run {run}: {problems or leftovers}")
    return {
        "reach_from_controller_s": reached - setup.controller.started_at,
        "reach_from_network_s": reached - setup.network_started_at,
        "packet_ins_per_s": rate["total"],
        "non_lldp_packet_ins_per_s": rate["arp"] + rate["ipv4"],
        "recovery_s": failure["outage_s"],
        "lost_pings": failure["lost"],
        "failed_link": failure["link"],
    }


def table(results: dict) -> str:
    keys = list(results)
    head = "| metric | " + " | ".join(TOPOS[k][0] for k in keys) + " |"
    lines = [head, "|---|" + "---|" * len(keys)]
    for metric, label in METRICS:
        cells = []
        for k in keys:
            values = [r[metric] for r in results[k]]
            cells.append(f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--topos", default="b4,fattree")
    ap.add_argument("--json", default=str(REPO / "results" / "bench_controller.json"))
    args = ap.parse_args(argv)
    problem = lab.environment_problem()
    if problem:
        print(f"cannot run: {problem}", file=sys.stderr)
        return 2
    results = {}
    for key in args.topos.split(","):
        results[key] = []
        for run in range(args.repeat):
            r = run_once(key, run)
            print(f"{key} run {run}: " + ", ".join(f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}"
                                                   for k, v in r.items()), file=sys.stderr)
            results[key].append(r)
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(results, indent=1))
    print(f"median (min-max) of {args.repeat} runs; emulated links 10 Mbit/s; userspace OVS; ", end="")
    print("times from the controller process start include Ryu start-up and building the Mininet network\n")
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
