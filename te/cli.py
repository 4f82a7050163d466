"""``te-solve``: route a demand file over a topology file and report the allocation.

Examples
--------
>>> main(["--topology", "/nonexistent.json", "--demands", "d.json", "--objective", "min-mlu"])
2
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time

import numpy as np

from te.engine import OBJECTIVES, build, candidates_for
from te.errors import SolverError, TEError
from te.io import read_demands, read_topology
from te.paths import PATH_METHODS
from te.unsplit import fewest_paths, paths_used

_TOP_LINKS = 5


def _parser():
    p = argparse.ArgumentParser(prog="te-solve", description="Traffic-engineering allocation of demands on a topology.")
    p.add_argument("--topology", required=True, metavar="FILE", help=".json (node-link), .graphml (Topology Zoo) or .graph (Repetita)")
    p.add_argument("--demands", required=True, metavar="FILE", help=".json list or Repetita .demands")
    p.add_argument("--objective", required=True, choices=OBJECTIVES)
    p.add_argument("--paths", type=int, default=4, metavar="K", help="candidate paths per demand (default 4)")
    p.add_argument("--path-method", choices=PATH_METHODS, default="ksp",
                   help="k shortest paths (default) or edge-disjoint paths")
    p.add_argument("--default-capacity", type=float, metavar="BPS", help="capacity of links whose file gives none")
    p.add_argument("--fewest-paths", type=float, default=0.0, metavar="SECONDS",
                   help="then route the same rates over the fewest paths, with this time limit "
                        "(switches that hash whole flows can follow it; default 0: off)")
    p.add_argument("--output", metavar="FILE.json", help="write the full allocation as JSON")
    return p


def _rate(bps):
    for unit, size in (("Tbit/s", 1e12), ("Gbit/s", 1e9), ("Mbit/s", 1e6), ("kbit/s", 1e3)):
        if abs(bps) >= size:
            return f"{bps / size:.3f} {unit}"
    return f"{bps:.3f} bit/s"


def _summary(sol, times):
    requested = float(sol.requested_bps.sum())
    allocated = sol.total_allocated_bps
    share = allocated / requested if requested > 0 else 1.0
    lines = [
        f"objective        {sol.objective} ({sol.status})",
        f"demands          {len(sol.demands)}, candidate paths {len(sol.paths)}, "
        f"LPs {sol.stats.get('lps', 0)}, variables {sol.stats.get('variables', 0)}, "
        f"paths used {paths_used(sol)}" + (f" (LP split: {sol.stats['paths_used_before']})"
                                            if "paths_used_before" in sol.stats else ""),
        f"time             paths {times['paths']:.3f} s, build {times['build']:.3f} s, solve {times['solve']:.3f} s",
        f"max utilisation  {sol.max_link_utilization:.4f}",
        f"allocated        {_rate(allocated)} of {_rate(requested)} requested ({100 * share:.2f}%)",
        f"fully served     {int(np.sum(sol.allocated_bps >= sol.requested_bps * (1 - 1e-9)))} of {len(sol.demands)} demands",
        "most loaded links:",
    ]
    order = sorted(range(len(sol.arcs)), key=lambda j: (-sol.utilization[j], sol.arcs[j]))[:_TOP_LINKS]
    for j in order:
        u, v = sol.arcs[j]
        lines.append(f"  {u} -> {v}  {100 * sol.utilization[j]:7.2f}%  {_rate(sol.load_bps[j])} / {_rate(sol.capacity_bps[j])}")
    return "\n".join(lines)


def _document(sol, times):
    allocated = sol.allocated_bps
    demands = []
    for i, d in enumerate(sol.demands):
        demands.append({
            "id": d.id, "src": d.src, "dst": d.dst, "weight": d.weight, "priority": d.priority,
            "requested_bps": d.rate_bps, "allocated_bps": float(allocated[i]),
            "paths": [{"nodes": list(p), "rate_bps": r} for p, r in sol.routes(i)],
        })
    links = [{"src": u, "dst": v, "capacity_bps": float(c), "load_bps": float(load), "utilization": float(load / c)}
             for (u, v), c, load in zip(sol.arcs, sol.capacity_bps, sol.load_bps)]
    value = sol.objective_value
    return {
        "objective": sol.objective, "status": sol.status,
        "objective_value": value if math.isfinite(value) else None,
        "max_link_utilization": sol.max_link_utilization,
        "total_requested_bps": float(sol.requested_bps.sum()),
        "total_allocated_bps": sol.total_allocated_bps,
        "solve_seconds": times["solve"], "build_seconds": times["build"], "paths_seconds": times["paths"],
        "stats": sol.stats, "demands": demands, "links": links,
    }


def main(argv=None) -> int:
    """Run ``te-solve``; returns the exit code (0 ok, 2 bad input, 1 solver failure)."""
    args = _parser().parse_args(argv)
    try:
        graph = read_topology(args.topology, args.default_capacity)
        demands = read_demands(args.demands, graph)
        t0 = time.perf_counter()
        cands = candidates_for(graph, demands, args.objective, k=args.paths, path_method=args.path_method)
        t1 = time.perf_counter()
        model = build(cands, args.objective)
        t2 = time.perf_counter()
        sol = model.solve()
        if args.fewest_paths > 0:
            sol = fewest_paths(sol, args.fewest_paths)
        t3 = time.perf_counter()
    except TEError as exc:
        print(f"te-solve: error: {exc}", file=sys.stderr)
        return 1 if isinstance(exc, SolverError) else 2
    except (OSError, ValueError) as exc:
        print(f"te-solve: error: {exc}", file=sys.stderr)
        return 2
    times = {"paths": t1 - t0, "build": t2 - t1, "solve": t3 - t2}
    print(_summary(sol, times))
    if args.output:
        try:
            with open(args.output, "w", encoding="utf-8") as fh:
                json.dump(_document(sol, times), fh, indent=1)
                fh.write("\n")
        except OSError as exc:
            print(f"te-solve: error: cannot write {args.output}: {exc}", file=sys.stderr)
            return 2
    return 0
