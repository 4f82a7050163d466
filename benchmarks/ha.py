"""Several controllers on etcd: intent write latency (etcd against SQLite), reads served by followers, and
failover time. Real processes throughout: te-controller, Debian's etcd, and for the failovers Mininet B4.

    .venv/bin/python benchmarks/ha.py [--writes 1000] [--kills 10] [--read-seconds 5] [--json docs/ha.json]

Part 1 (no switches: the controllers know B4's hosts from its topology file, so intents are accepted and
nothing is solved or installed, which leaves the store's cost alone): ``--writes`` POSTs of new intents, one
at a time, to a single controller with its SQLite store, to the leader of three controllers on a 3-member
etcd, and to a follower (which passes the write on to the leader). Then ``--threads`` clients GET one intent,
and the whole list, as fast as they can for ``--read-seconds`` from the leader and from a follower.

Part 2 (root, Mininet B4 at 10 Mbit/s, 3 controllers, 3 etcd members, ``ha_lease_ttl`` 2 s): ``--kills``
times SIGKILL the leader; time to a single acting leader, and to its takeover being complete (allocations
installed again); OpenFlow changes the new leader sent (expected 0). The killed one is started again each time.
"""
from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import threading
import time
from pathlib import Path

import requests

from topologies import lab
from topologies.b4 import B4Topo
from topologies.lab.etcd import EtcdCluster
from topologies.lab.ha import HASetup, running_ha

OUT = lab.REPO / "results" / "bench-ha"


def pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def writes(base_url: str, n: int, tag: str, first_port: int = 1000) -> list:
    """Latency (s) of ``n`` POSTs of new intents (UDP to ports from ``first_port``), one after the other."""
    session, out = requests.Session(), []
    for k in range(n):
        body = {"src": "10.0.0.1", "dst": "10.0.0.12", "rate_bps": 1e4, "name": f"{tag}-{k}",
                "match": {"ip_proto": 17, "tp_dst": first_port + k}}
        start = time.perf_counter()
        r = session.post(base_url + "/intents", json=body, timeout=30)
        out.append(time.perf_counter() - start)
        if r.status_code != 201:
            raise SystemExit(f"POST {k} to {base_url}: {r.status_code} {r.text.strip()}")
    return out


def reads(url: str, threads: int, seconds: float) -> float:
    """GETs of ``url`` per second, ``threads`` clients with a session each."""
    counts, stop = [0] * threads, time.monotonic() + seconds

    def client(k):
        session = requests.Session()
        while time.monotonic() < stop:
            r = session.get(url, timeout=10)
            if r.status_code != 200:
                raise SystemExit(f"GET {url}: {r.status_code}")
            counts[k] += 1

    workers = [threading.Thread(target=client, args=(k,)) for k in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return sum(counts) / seconds


def row(name: str, values: list) -> dict:
    return {"case": name, "n": len(values), "p50_ms": round(1000 * statistics.median(values), 2),
            "p95_ms": round(1000 * pct(values, 0.95), 2), "max_ms": round(1000 * max(values), 2)}


def part1(args, topo_file: Path) -> dict:
    results = {"writes": [], "reads": []}
    (OUT / "single").mkdir(parents=True, exist_ok=True)
    single = lab.Controller(OUT / "single", topo_file)
    single.start()
    try:
        results["writes"].append(row("SQLite, one controller", writes(single.api_url, args.writes, "s")))
    finally:
        single.stop()
    with EtcdCluster(OUT / "etcd", members=3) as etcd:
        controllers = []
        try:
            for n in range(3):
                (OUT / f"c{n}").mkdir(parents=True, exist_ok=True)
                c = lab.Controller(OUT / f"c{n}", topo_file, intent_store=etcd.url("/bench"), ha_member=f"c{n}")
                c.start()
                controllers.append(c)
            deadline = time.monotonic() + 20
            leader = None
            while leader is None and time.monotonic() < deadline:
                for n, c in enumerate(controllers):
                    if requests.get(c.api_url + "/cluster", timeout=2).json().get("acting"):
                        leader = n
                time.sleep(0.1)
            if leader is None:
                raise SystemExit("no leader elected")
            follower = (leader + 1) % 3
            results["writes"].append(row("etcd (3 members), to the leader",
                                         writes(controllers[leader].api_url, args.writes, "l")))
            results["writes"].append(row("etcd (3 members), to a follower (passed on)",
                                         writes(controllers[follower].api_url, args.writes // 4, "f",
                                                first_port=1000 + args.writes)))
            time.sleep(1)  # the follower has every intent (watch)
            count = len(requests.get(controllers[follower].api_url + "/intents", timeout=10).json()["intents"])
            for who, n in (("leader", leader), ("follower", follower)):
                base = controllers[n].api_url
                results["reads"].append({"controller": who, "what": "GET /te/v1/intents/{id}", "threads": args.threads,
                                         "per_s": round(reads(base + "/intents/1", args.threads, args.read_seconds))})
                results["reads"].append({"controller": who, "what": f"GET /te/v1/intents ({count} intents)",
                                         "threads": args.threads,
                                         "per_s": round(reads(base + "/intents", args.threads, args.read_seconds), 1)})
        finally:
            for c in controllers:
                c.stop()
    return results


def _links(setup, n) -> int:
    try:
        return len(requests.get(setup.controllers[n].api_url + "/links", timeout=2).json()["links"])
    except (requests.RequestException, ValueError, KeyError):
        return -1


def _wait_view(setup, rejoined: int, leader: int, timeout: float = 30.0) -> None:
    """Until the restarted controller follows and sees every link the leader sees (from the leader's LLDP)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = setup.cluster(rejoined) or {}
        if body.get("role") == "follower" and body.get("leader") == f"c{leader}" and \
                _links(setup, rejoined) == _links(setup, leader) > 0:
            return
        time.sleep(0.2)
    raise SystemExit(f"c{rejoined} did not rejoin with the whole view within {timeout} s")


def part2(args) -> dict:
    setup = HASetup("bench-ha", B4Topo(bw=10), OUT / "failover", controllers=3, etcd_members=3, ha_lease_ttl=2)
    runs = []
    with running_ha(setup):
        leader = setup.wait_leader(30)
        lab.wait_full_reachability(setup.net, deadline_s=60)
        ids = [setup.api(leader).post_intent(src="10.0.0.1", dst="10.0.0.12", rate_bps=4e6),
               setup.api(leader).post_intent(src="10.0.0.3", dst="10.0.0.10", rate_bps=2e6)]
        setup.api(leader).wait_allocations(ids, timeout=30)
        for _ in range(args.kills):
            time.sleep(1)
            start, wall = time.monotonic(), time.time()
            setup.kill(leader)
            new = setup.wait_leader(timeout=15, not_=leader, step=0.02)
            elected = time.monotonic() - start
            setup.api(new).wait_allocations(ids, timeout=30, installed_after=wall)
            done = time.monotonic() - start
            sent = setup.cluster(new)["changes_sent"]
            runs.append({"elected_s": round(elected, 3), "takeover_done_s": round(done, 3), "changes_sent": sent})
            print(f"  kill c{leader}: c{new} leads after {elected:.2f} s, takeover done after {done:.2f} s, "
                  f"{sent} OpenFlow changes", flush=True)
            setup.controllers[leader].start()
            _wait_view(setup, leader, new)
            leader = new
    elected = [r["elected_s"] for r in runs]
    done = [r["takeover_done_s"] for r in runs]
    return {"runs": runs, "elected_median_s": statistics.median(elected), "elected_max_s": max(elected),
            "takeover_median_s": statistics.median(done), "takeover_max_s": max(done)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--writes", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--read-seconds", type=float, default=5.0)
    parser.add_argument("--kills", type=int, default=10, help="failovers on Mininet B4 (0 to skip; needs root)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    topo_file = OUT / "b4.json"
    B4Topo(bw=10).write_topology_file(str(topo_file))
    out = {"machine": f"{platform.node()} {platform.machine()}, Python {platform.python_version()}",
           "when": time.strftime("%Y-%m-%d %H:%M")}
    out |= part1(args, topo_file)
    print(f"\nIntent writes (POST /te/v1/intents, one at a time, {args.writes} each; to a follower {args.writes // 4})")
    print(f"{'case':48} {'n':>5} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    for r in out["writes"]:
        print(f"{r['case']:48} {r['n']:5d} {r['p50_ms']:8.2f} {r['p95_ms']:8.2f} {r['max_ms']:8.2f}")
    print(f"\nReads ({args.threads} clients, {args.read_seconds:g} s each)")
    for r in out["reads"]:
        print(f"{r['controller']:9} {r['what']:40} {r['per_s']:>9} /s")
    if args.kills:
        print(f"\nFailover on Mininet B4 ({args.kills} SIGKILLs of the leader, lease TTL 2 s)")
        out["failover"] = part2(args)
        f = out["failover"]
        print(f"new leader: median {f['elected_median_s']:.2f} s, max {f['elected_max_s']:.2f} s; takeover done: "
              f"median {f['takeover_median_s']:.2f} s, max {f['takeover_max_s']:.2f} s; OpenFlow changes by new "
              f"leaders: {sum(r['changes_sent'] for r in f['runs'])}")
    if args.json:
        args.json.write_text(json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
