"""Write b4_snapshot.json: what GET /te/v1/{intents,topology,links,allocations} answer for B4 with six intents.

The numbers come from a real TE solve (``te.solve``, max-min, 4 paths, 10% headroom, as the
controller's TE loop runs it) on B4 at 10 Mbit/s, not from a person. Measured rates are the
planned ones (a network whose meters hold every intent to its allocation), because there is
no traffic here. The plots unit test and the dashboard e2e test read this file.

Regenerate with ``.venv/bin/python tests/data/make_b4_snapshot.py``, or capture a running
controller instead with ``... make_b4_snapshot.py --controller http://127.0.0.1:8080``.
"""
import argparse
import json
import sys
from pathlib import Path

import networkx as nx
import requests

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

import te  # noqa: E402
from topologies.b4 import B4Topo  # noqa: E402

HEADROOM = 0.1
INTENTS = [  # (name, src host, dst host, rate_bps, priority, weight)
    ("web", 1, 12, 6e6, 0, 1.0),
    ("video", 2, 11, 8e6, 1, 1.0),
    ("bulk", 3, 10, 12e6, 0, 1.0),
    ("backup", 4, 9, 5e6, 0, 2.0),
    ("sync", 6, 8, 3e6, 0, 1.0),
    (None, 5, 7, 4e6, 0, 1.0),
]


def dpid(switch: str) -> str:
    return f"{int(switch[1:]):016x}"


def solve_b4() -> dict:
    topo = B4Topo(bw=10)
    graph = topo.graph
    arcs = nx.DiGraph()
    for u, v, data in graph.edges(data=True):
        for a, b in ((u, v), (v, u)):
            arcs.add_edge(a, b, capacity=data["capacity"] * (1 - HEADROOM), weight=1.0)
    demands = [te.Demand(str(n), f"h{s}", f"h{d}", rate, weight, prio)
               for n, (_, s, d, rate, prio, weight) in enumerate(INTENTS, 1)]
    solution = te.solve(arcs, demands, objective="max-min", k=4)
    switches = sorted((n for n, d in graph.nodes(data=True) if d["kind"] == "switch"), key=lambda s: int(s[1:]))
    hosts = sorted((n for n, d in graph.nodes(data=True) if d["kind"] == "host"), key=lambda h: int(h[1:]))
    load = dict(zip(solution.arcs, solution.load_bps.tolist()))
    links = []
    for u, v in sorted(((u, v) for u, v in arcs.edges if u.startswith("s") and v.startswith("s")),
                       key=lambda e: (int(e[0][1:]), int(e[1][1:]))):
        capacity = graph.edges[u, v]["capacity"]
        port_u, port_v = topo.port(u, v)
        planned = load.get((u, v), 0.0)
        links.append({"src": dpid(u), "src_port": port_u, "dst": dpid(v), "dst_port": port_v,
                      "capacity_bps": capacity, "planned_load_bps": planned,
                      "measured_load_bps": planned, "utilization": planned / capacity})
    allocations = []
    for n, ((name, *_), demand) in enumerate(zip(INTENTS, demands)):
        routes = [(p, r) for p, r in solution.routes(n) if r >= 1000.0]
        allocated = sum(r for _, r in routes)
        state = "installed" if allocated >= demand.rate_bps * (1 - 1e-6) else "partial"
        allocations.append({
            "intent_id": demand.id, "name": name, "version": 1, "state": state,
            "requested_bps": demand.rate_bps, "allocated_bps": allocated, "measured_bps": allocated,
            "paths": [{"switches": [dpid(s) for s in p[1:-1]], "rate_bps": r, "weight": 1, "label": 16 + i}
                      for i, (p, r) in enumerate(sorted(routes, key=lambda pr: (-pr[1], pr[0])))]})
    topology = {
        "switches": [{"dpid": dpid(s), "name": s} for s in switches],
        "links": [{k: link[k] for k in ("src", "src_port", "dst", "dst_port", "capacity_bps")} for link in links],
        "hosts": [{"ip": topo.nodeInfo(h)["ip"].split("/")[0], "mac": topo.nodeInfo(h)["mac"],
                   "dpid": dpid(f"s{h[1:]}"), "port": topo.port(f"s{h[1:]}", h)[0]} for h in hosts],
    }
    solve = {"objective": solution.objective, "status": solution.status,
             "solve_seconds": 0.0123, "headroom": HEADROOM}  # the solve time of this machine is noise
    intents = [{"id": d.id, "name": name, "src": f"10.0.0.{s}", "dst": f"10.0.0.{t}", "rate_bps": rate,
                "priority": prio, "weight": weight, "match": {}, "version": 1}
               for d, (name, s, t, rate, prio, weight) in zip(demands, INTENTS)]
    return {"intents": {"intents": intents}, "topology": topology, "links": {"links": links},
            "allocations": {"allocations": allocations, "solve": solve}}


def capture(url: str) -> dict:
    return {key: requests.get(f"{url.rstrip('/')}/te/v1/{key}", timeout=10).json()
            for key in ("intents", "topology", "links", "allocations")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--controller", help="capture this running controller instead of solving")
    parser.add_argument("--output", default=str(HERE / "b4_snapshot.json"))
    args = parser.parse_args()
    data = capture(args.controller) if args.controller else solve_b4()
    Path(args.output).write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
