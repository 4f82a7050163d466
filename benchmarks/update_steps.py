"""Congestion-free updates (:mod:`te.updates`, SWAN): how many steps real re-allocations need, and how long the
plan takes to compute.

For B4 (Teal's topology and real traffic matrices) and Repetita Abilene: the old allocation is the max-min
plan of one matrix, the new one the plan of the next matrix (a routine re-allocation), or of the same matrix
with its busiest link drained for maintenance (no path through it; the link stays up meanwhile), both computed with ``s`` of every link kept free
(4 shortest paths each). For each scratch ``s``: the worst transient load of a one-shot update (every flow
switched in the worst order), the steps of the plan (1: the direct update is already congestion-free),
the worst load the plan reaches, and the seconds to compute it. Switches apply each step after the
previous one is confirmed, so the time an update takes is about steps x (one barrier round trip).

Usage::

    .venv/bin/python benchmarks/update_steps.py      # prints the table, writes docs/update-steps.json
"""
from __future__ import annotations

import json
import platform
import time
from pathlib import Path

import numpy as np

import te
from te.model import Demand
from te.paths import candidate_paths
from te.updates import one_shot_overload, plan_update

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / ".." / "shared" / "data"
OUT = ROOT / "docs" / "update-steps.json"
SCRATCH = (0.05, 0.1, 0.2)
LOAD = 1.2  # matrices scaled so that their min-MLU over 4 shortest paths is this: the plans fill links


def b4_matrices(count=2):
    graph = te.read_topology(DATA / "b4" / "teal_B4.json")
    rows = [line for line in open(DATA / "b4" / "teal_B4_real_tms_converted.txt") if not line.startswith("#")]
    out = []
    for row in rows[:count]:
        tm = np.array(row.split(), dtype=float).reshape(12, 12)
        out.append([Demand(f"{i}-{j}", str(i), str(j), float(tm[i, j])) for i in range(12) for j in range(12)
                    if i != j and tm[i, j] > 0])
    return graph, out


def abilene_matrices(count=2):
    base = DATA / "repetita" / "2016TopologyZooUCL_inverseCapacity"
    graph = te.read_topology(base / "Abilene.graph")
    return graph, [te.read_demands(base / f"Abilene.{n:04d}.demands", graph) for n in range(count)]


def scaled(graph, demands):
    mlu = te.build(candidate_paths(graph, demands, k=4), "min-mlu").solve().max_link_utilization
    return [Demand(d.id, d.src, d.dst, d.rate_bps * LOAD / mlu) for d in demands]


def allocation(graph, demands, scratch):
    """``flow -> {path: rate}`` of the max-min plan with ``scratch`` of every link free."""
    g = graph.copy()
    for u, v in g.edges:
        g[u][v]["capacity"] *= 1 - scratch
    sol = te.solve(g, demands, objective="max-min", k=4)
    out = {}
    for n, d in enumerate(sol.demands):
        out[d.id] = {tuple(p): r for p, r in sol.routes(n) if r > 1e-9 * g.graph.get("unit", 1.0)}
    return out


def main():
    header = ("instance", "change", "s", "one-shot", "steps", "plan worst", "plan s")
    print(" | ".join(header))
    rows = []
    capacity_of = {}
    for name, load in (("b4", b4_matrices), ("abilene", abilene_matrices)):
        graph, (first, second) = load()
        first, second = scaled(graph, first), scaled(graph, second)
        capacity = {(u, v): graph[u][v]["capacity"] for u, v in graph.edges}
        capacity_of[name] = capacity
        # the busiest link of the first plan is drained
        busy = max(capacity, key=lambda arc: sum(r for f in allocation(graph, first, 0.1).values()
                                                  for p, r in f.items() if arc in zip(p, p[1:])) / capacity[arc])
        failed = graph.copy()
        failed.remove_edges_from([busy, busy[::-1]])
        for change in ("next matrix", f"drain link {busy[0]}-{busy[1]}"):
            for s in SCRATCH:
                old = allocation(graph, first, s)
                new = allocation(graph, second, s) if change == "next matrix" else allocation(failed, first, s)
                worst_one_shot = one_shot_overload(old, new, capacity)
                start = time.perf_counter()
                plan = plan_update(old, new, capacity, s)
                seconds = time.perf_counter() - start
                row = {"instance": name, "change": change, "scratch": s, "one_shot_worst": worst_one_shot,
                       "steps": len(plan.steps) if plan.feasible else None, "feasible": plan.feasible,
                       "plan_worst": max(plan.worst, default=None) if plan.feasible else None,
                       "plan_seconds": seconds, "flows": len(set(old) | set(new)), "reason": plan.reason}
                rows.append(row)
                print(f"{name} | {change} | {s:g} | {worst_one_shot:.3f} | {row['steps']} | "
                      f"{row['plan_worst'] if row['plan_worst'] is None else round(row['plan_worst'], 3)} | "
                      f"{seconds:.3f}")
    OUT.write_text(json.dumps({"load": LOAD, "paths": 4, "python": platform.python_version(),
                               "machine": platform.machine(), "rows": rows}, indent=1) + "\n")
    print(f"wrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":

    main()
