"""TE end to end on B4 in Mininet: intent POST -> rules installed, link down -> new allocation installed,
flow-mods per second.

Runs the real thing (ryu-manager + controller.app, userspace OVS, Mininet B4 at 10 Mbit/s) through the e2e
lab. Needs root and a running Open vSwitch (scripts/setup.sh). Usage::

    .venv/bin/python benchmarks/bench_te_e2e.py [--intents 100] [--failures 5] [--json out.json]

Times come from the controller itself: each allocation carries ``installed_at``, the wall-clock time at
which every switch had confirmed (barrier) the rules of its current allocation; the client notes the time
just before its POST or just before it sets the link down (same clock, same machine).
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

from topologies import lab
from topologies.b4 import B4Topo

REPO = lab.REPO


def pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def summary(values) -> str:
    return f"{statistics.median(values) * 1000:.0f} ms (p95 {pct(values, 0.95) * 1000:.0f}, " \
           f"max {max(values) * 1000:.0f}, n={len(values)})"


def wait_all(setup, ids, after: float, avoid=None, timeout=30.0) -> dict:
    """Allocations of ``ids`` once all are installed at or after ``after`` (and avoid the arc ``avoid``)."""
    deadline = time.monotonic() + timeout
    while True:
        allocs = {a["intent_id"]: a for a in lab.api(setup, "GET", "/allocations", expect=200).json()["allocations"]}
        done = all(allocs[i]["state"] in ("installed", "partial") and allocs[i]["installed_at"] is not None
                   for i in ids)
        if done and avoid is not None:
            done = not any(avoid in zip(p["switches"], p["switches"][1:]) for i in ids for p in allocs[i]["paths"])
            done = done and max(allocs[i]["installed_at"] for i in ids) >= after
        if done:
            return allocs
        if time.monotonic() > deadline:
            raise RuntimeError(f"allocations not installed within {timeout} s")
        time.sleep(0.01)


def run(n_intents: int, failures: int) -> dict:
    setup = lab.Setup("bench-te", B4Topo(bw=10), REPO / "results" / "bench" / "te-e2e")
    out = {}
    with lab.running(setup):
        lab.wait_full_reachability(setup.net, deadline_s=120)
        hosts = [h.IP() for h in setup.net.hosts]
        pairs = [(a, b) for a in hosts for b in hosts if a != b]
        ids, post_latency = [], []
        for n in range(n_intents):
            src, dst = pairs[n % len(pairs)]
            t0 = time.time()
            intent_id = lab.post_intent(setup, src=src, dst=dst, rate_bps=100e3,
                                            match={"ip_proto": 17, "tp_dst": 10000 + n // len(pairs)})
            a = lab.wait_allocations(setup, [intent_id], timeout=30)[intent_id]
            post_latency.append(a["installed_at"] - t0)
            ids.append(intent_id)
        out["post_to_installed_s"] = post_latency
        solve = lab.api(setup, "GET", "/allocations", expect=200).json()["solve"]
        out["solve_seconds_at_n"] = solve["solve_seconds"]

        # The busiest planned link carries the most tunnels: fail it, wait, restore it, wait.
        links = lab.api(setup, "GET", "/links", expect=200).json()["links"]
        busiest = max(links, key=lambda l: l["planned_load_bps"])
        arc = (busiest["src"], busiest["dst"])
        a_name, b_name = (f"s{int(d, 16)}" for d in arc)
        down, up, rates = [], [], []
        for _ in range(failures):
            t0 = time.time()
            setup.net.configLinkStatus(a_name, b_name, "down")
            allocs = wait_all(setup, ids, t0, avoid=arc)
            down.append(max(a["installed_at"] for a in allocs.values()) - t0)
            last = lab.api(setup, "GET", "/allocations", expect=200).json()["solve"]["last_install"]
            rates.append(last["changes"] / last["seconds"])
            t0 = time.time()
            setup.net.configLinkStatus(a_name, b_name, "up")
            time.sleep(3)  # LLDP rediscovers the link; the TE loop moves intents back
            allocs = wait_all(setup, ids, t0)
            up.append(max(a["installed_at"] for a in allocs.values()) - t0)
        out.update(link=f"{a_name}-{b_name}", link_down_to_installed_s=down, link_up_to_installed_s=up,
                   failover_changes=last["changes"], failover_mods_per_s=rates)

        # Flow-mods per second: delete every intent, then post them all back as fast as the API takes them.
        for intent_id in ids:
            lab.api(setup, "DELETE", f"/intents/{intent_id}", expect=204)
        deadline = time.monotonic() + 30
        while lab.api(setup, "GET", "/allocations", expect=200).json()["allocations"]:
            assert time.monotonic() < deadline
        time.sleep(1)
        mods_before = sum_mods(setup)
        t0 = time.time()
        ids = [lab.post_intent(setup, src=pairs[n % len(pairs)][0], dst=pairs[n % len(pairs)][1], rate_bps=100e3,
                                   match={"ip_proto": 17, "tp_dst": 10000 + n // len(pairs)}) for n in range(n_intents)]
        allocs = wait_all(setup, ids, t0)
        t1 = max(a["installed_at"] for a in allocs.values())
        mods = sum_mods(setup) - mods_before
        out.update(bulk_intents=n_intents, bulk_seconds=t1 - t0, bulk_mods=mods, bulk_mods_per_s=mods / (t1 - t0))
    return out


def sum_mods(setup) -> int:
    """Flow, group and meter mods the controller sent so far, from the reconcile lines of its log."""
    total = 0
    for line in setup.controller.log().splitlines():
        if "te: reconciled in" in line:
            ops = json.loads(line.split(": ", 2)[2].split(" on ")[0].replace("'", '"'))
            total += sum(ops.values())
    return total


def table(r: dict) -> str:
    return "\n".join([
        "| metric | B4, 10 Mbit/s links |",
        "|---|---|",
        f"| intent POST -> rules installed (sequential, 1..{len(r['post_to_installed_s'])} intents) | "
        f"{summary(r['post_to_installed_s'])} |",
        f"| TE solve with {len(r['post_to_installed_s'])} intents (max-min, k=4) | {r['solve_seconds_at_n'] * 1000:.0f} ms |",
        f"| link down -> every intent's new allocation installed ({r['link']}) | {summary(r['link_down_to_installed_s'])} |",
        f"| link up -> allocations moved back and installed | {summary(r['link_up_to_installed_s'])} |",
        f"| flow/group/meter mods in one failover reconcile | {r['failover_changes']} at "
        f"{statistics.median(r['failover_mods_per_s']):.0f} mods/s (incl. barriers) |",
        f"| {r['bulk_intents']} intents posted back to back -> all installed | {r['bulk_seconds'] * 1000:.0f} ms, "
        f"{r['bulk_mods']} mods, {r['bulk_mods_per_s']:.0f} mods/s |",
    ])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--intents", type=int, default=100)
    ap.add_argument("--failures", type=int, default=5)
    ap.add_argument("--json", help="also write the raw results here")
    args = ap.parse_args(argv)
    result = run(args.intents, args.failures)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))
    print(table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
