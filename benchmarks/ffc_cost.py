"""What Forward Fault Correction (:mod:`te.ffc`) costs in throughput: k = 0, 1, 2 link failures on real WANs.

For each instance and path choice (4 shortest paths ``ksp``, 4 edge-disjoint paths ``disjoint``) and
each k: the max-throughput total of :func:`te.ffc.ffc_solve`, its fraction of the unprotected
optimum over the same paths (k = 0), the seconds of ``ffc_solve`` (paths computed beforehand), the
LP's failure rows, the demands that k failures can cut off over their tunnels (they get 0), and
the violations :func:`te.ffc.check_ffc` finds by brute force (always 0).

Traffic: B4 (Teal's topology, capacity 5000 per arc) with Teal's real matrix 0; Abilene and
Geant2012 with Repetita's ``.0000.demands`` gravity matrix. Each matrix is scaled so that routing
it all over the 4 shortest paths needs ``LOAD`` = 1.5 times the capacity (min-MLU 1.5): the
unprotected max-min is then link-limited (the table says how many demands get their request).

Usage::

    .venv/bin/python benchmarks/ffc_cost.py            # prints the table, writes docs/ffc-cost.json
"""
from __future__ import annotations

import json
import platform
import time
from pathlib import Path

import numpy as np

import te
from te.ffc import check_ffc, ffc_solve, kill_sets
from te.model import Demand
from te.paths import candidate_paths

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / ".." / "shared" / "data"
REPETITA = DATA / "repetita" / "2016TopologyZooUCL_inverseCapacity"
OUT = ROOT / "docs" / "ffc-cost.json"
LOAD = 1.5
PATHS = 4
METHODS = ("ksp", "disjoint")
KS = (0, 1, 2)


def b4():
    graph = te.read_topology(DATA / "b4" / "teal_B4.json")
    rows = [line for line in open(DATA / "b4" / "teal_B4_real_tms_converted.txt") if not line.startswith("#")]
    tm = np.array(rows[0].split(), dtype=float).reshape(12, 12)
    demands = [Demand(f"{i}-{j}", str(i), str(j), float(tm[i, j])) for i in range(12) for j in range(12)
               if i != j and tm[i, j] > 0]
    return graph, demands, "Teal B4, real TM 0"


def repetita(stem):
    def load():
        graph = te.read_topology(REPETITA / f"{stem}.graph")
        return graph, te.read_demands(REPETITA / f"{stem}.0000.demands", graph), f"Repetita {stem}.0000"
    return load


INSTANCES = {"b4": b4, "abilene": repetita("Abilene"), "geant2012": repetita("Geant2012")}


def scaled(graph, demands):
    """The demands scaled so that their min-MLU over the 4 shortest paths is LOAD; returns (demands, factor)."""
    mlu = te.build(candidate_paths(graph, demands, k=PATHS), "min-mlu").solve().max_link_utilization
    factor = LOAD / mlu
    return [Demand(d.id, d.src, d.dst, d.rate_bps * factor, d.weight, d.priority) for d in demands], factor


def main():
    rows = []
    header = ("instance", "paths", "k", "throughput", "of k=0", "solve s", "rows", "cut off", "violations")
    widths = (10, 8, 2, 14, 7, 8, 6, 8, 10)
    line = " | ".join(h.rjust(w) for h, w in zip(header, widths))
    print(line)
    print("-" * len(line))
    for name, load in INSTANCES.items():
        graph, demands, description = load()
        demands, factor = scaled(graph, demands)
        for method in METHODS:
            cands = candidate_paths(graph, demands, k=PATHS, method=method)
            fair = te.build(cands, "max-min").solve()
            plain = te.build(cands, "max-throughput").solve().total_allocated_bps  # te.lp, for k = 0
            at_request = int(np.sum(fair.allocated_bps >= fair.requested_bps * (1 - 1e-6)))
            base = None
            for k in KS:
                t0 = time.perf_counter()
                sol = ffc_solve(cands, k, "max-throughput")
                seconds = time.perf_counter() - t0
                total = sol.total_allocated_bps
                base = total if k == 0 else base
                cut = sum(any(len(s) == cands.path_ptr[i + 1] - cands.path_ptr[i] for s in sets)
                          for i, sets in enumerate(kill_sets(cands, k)))
                bad = len(check_ffc(cands, sol, k))
                row = {"instance": name, "description": description, "nodes": graph.number_of_nodes(),
                       "arcs": graph.number_of_edges(), "demands": len(demands), "demand_scale": factor,
                       "paths": method, "paths_per_demand": PATHS, "paths_total": len(cands.paths), "k": k,
                       "throughput": total, "requested": float(sol.requested_bps.sum()),
                       "fraction_of_unprotected": total / base if base else float("nan"),
                       "solve_seconds": seconds, "failure_rows": sol.stats["failure_rows"],
                       "constraints": sol.stats["constraints"], "variables": sol.stats["variables"],
                       "cut_off_demands": int(cut), "violations": bad,
                       "unprotected_max_min_at_request": at_request, "engine_max_throughput": plain}
                rows.append(row)
                print(" | ".join(str(c).rjust(w) for c, w in zip(
                    (name, method, k, f"{total:.6g}", f"{row['fraction_of_unprotected']:.3f}", f"{seconds:.3f}",
                     row["failure_rows"], cut, bad), widths)))
        print(f"   ({name}: {len(demands)} demands x {factor:.3g}; unprotected max-min gives "
              f"{rows[-1]['unprotected_max_min_at_request']} of them their request over disjoint paths, "
              f"{rows[-4]['unprotected_max_min_at_request']} over ksp)")
    OUT.write_text(json.dumps({"load": LOAD, "paths_per_demand": PATHS, "python": platform.python_version(),
                               "machine": platform.machine(), "rows": rows}, indent=1) + "\n")
    print(f"\nwritten: {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
