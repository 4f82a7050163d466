"""Efficiency-fairness frontier of the ``alpha-fair`` objective, and its solve times (not a test: asserts nothing).

For alpha from 0 to 8 on two congested WANs it prints, and plots in ``docs/alpha-frontier.png``:
the total throughput against Jain's fairness index of the served fractions (allocated over
requested, demands with a request) and against the smallest served fraction, with ``max-min``
(the limit alpha -> infinity) as a reference point. Then it times ``alpha-fair`` on B4, Geant2012
and Cogentco and reports the KKT residual and duality gap each solve certifies.

Instances (k = 4 shortest paths):

- ``b4``: Teal's B4, every link 10 Gbit/s, Teal's matrix 0 in bit/s (capacity / 5000) times
  ``--b4-load`` (default 4: at 2 proportional fairness already equals max-min);
- ``geant2012``: Repetita Geant2012 (real capacities, gravity matrix 0000 between all pairs,
  scaled by Repetita to an optimal MLU of 0.9) times ``--geant-load`` (default 2);
- ``cogentco``: Repetita Cogentco (38,612 demands, 154k paths), matrix 0000 as given (timing only,
  at ``--cogentco-alphas``).

Times: wall clock (``perf_counter``) and CPU (``process_time``) of building the model plus solving,
candidate paths excluded. OpenBLAS is limited to one thread (set before numpy loads): on a shared
2-core machine its worker threads otherwise spin against other processes and a 486 x 486 Cholesky
takes 0.1-1 s instead of 10 ms.

Usage::

    .venv/bin/python benchmarks/alpha_frontier.py                    # frontier, figure, all timings
    .venv/bin/python benchmarks/alpha_frontier.py --skip-cogentco    # B4 and Geant2012 only
    .venv/bin/python benchmarks/alpha_frontier.py --cogentco-alphas 1,2,4,8  # Cogentco at higher alpha too
"""
from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import te  # noqa: E402
from te.alphafair import _build as build_alpha_fair  # noqa: E402  (unchecked: the frontier goes beyond MAX_ALPHA)
from te.errors import SolverError  # noqa: E402
from te.model import Demand  # noqa: E402

DATA = ROOT / ".." / "shared" / "data"
REPETITA = DATA / "repetita" / "2016TopologyZooUCL_inverseCapacity"
FRONTIER_ALPHAS = (0.0, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0)
B4_CAPACITY = 1e10
PRECISE_ALPHA = 4.0  # beyond, the demands far above the poorest are approximate (docs/alpha-fair.md)


def b4_instance(load):
    graph = te.read_topology(DATA / "b4" / "teal_B4.json")
    for u, v in graph.edges:
        graph[u][v]["capacity"] = B4_CAPACITY
    rows = [line.split() for line in (DATA / "b4" / "teal_B4_real_tms_converted.txt").read_text().splitlines()
            if line.strip() and not line.startswith("#")]
    tm = np.array(rows[0], dtype=float).reshape(12, 12) * B4_CAPACITY / 5000 * load
    demands = [Demand(f"{i}-{j}", str(i), str(j), float(tm[i, j])) for i in range(12) for j in range(12) if i != j]
    return graph, demands, f"Teal B4, 10 Gbit/s links, Teal matrix 0 x {load:g}"


def repetita_instance(stem, load):
    graph = te.read_topology(REPETITA / f"{stem}.graph")
    demands = te.read_demands(REPETITA / f"{stem}.0000.demands", graph)
    if load != 1:
        demands = [Demand(d.id, d.src, d.dst, d.rate_bps * load, d.weight, d.priority) for d in demands]
    return graph, demands, f"Repetita {stem}.0000 (gravity, all pairs) x {load:g}"


def jain(values):
    """Jain's fairness index: 1 when all equal, 1/n when one takes everything."""
    values = np.asarray(values, dtype=float)
    return float(values.sum() ** 2 / (len(values) * (values ** 2).sum())) if values.any() else 1.0


def timed(cands, alpha):
    wall, cpu = time.perf_counter(), time.process_time()
    sol = build_alpha_fair(cands, alpha).solve()
    return sol, time.perf_counter() - wall, time.process_time() - cpu


def describe(sol):
    asked = sol.requested_bps > 0
    served = sol.allocated_bps[asked] / sol.requested_bps[asked]
    return {"total_bps": sol.total_allocated_bps, "jain": jain(served), "min_served": float(served.min())}


def frontier(name, graph, demands, description, alphas):
    cands = te.candidate_paths(graph, demands, k=4)
    print(f"\n## {name}: {graph.number_of_nodes()} nodes, {graph.number_of_edges()} arcs, {len(demands)} demands, "
          f"{len(cands.paths)} paths ({description})")
    header = f"{'alpha':>6} | {'total Gbit/s':>12} | {'Jain':>6} | {'min served':>10} | {'iters':>5} | " \
             f"{'KKT':>8} | {'gap':>8} | {'wall s':>7} | {'cpu s':>7}"
    print(header)
    print("-" * len(header))
    rows = []
    for alpha in alphas:
        try:
            sol, wall, cpu = timed(cands, alpha)
        except SolverError as exc:
            print(f"{alpha:>6g} | {exc}")
            rows.append({"alpha": alpha, "error": str(exc)})
            continue
        row = {"alpha": alpha, **describe(sol), "iterations": sol.stats["iterations"],
               "kkt_residual": sol.stats["kkt_residual"], "duality_gap": sol.stats["duality_gap"], "wall_s": wall,
               "cpu_s": cpu}
        rows.append(row)
        kkt = "LP" if row["kkt_residual"] is None else f"{row['kkt_residual']:.1e}"
        gap = "LP" if row["duality_gap"] is None else f"{row['duality_gap']:.1e}"
        print(f"{alpha:>6g} | {row['total_bps'] / 1e9:>12.3f} | {row['jain']:>6.4f} | {row['min_served']:>10.4f} | "
              f"{row['iterations']:>5} | {kkt:>8} | {gap:>8} | {wall:>7.3f} | {cpu:>7.3f}")
    exact = te.build(cands, "max-min").solve()
    reference = describe(exact)
    print(f"{'max-min':>6} | {reference['total_bps'] / 1e9:>12.3f} | {reference['jain']:>6.4f} | "
          f"{reference['min_served']:>10.4f} | (exact weighted max-min, te.lp)")
    last = next((r for r in reversed(rows) if "error" not in r), None)
    if last is not None:
        sol = build_alpha_fair(cands, last["alpha"]).solve()
        off = np.abs(sol.allocated_bps - exact.allocated_bps) / np.maximum(exact.allocated_bps, 1e-300)
        print(f"alpha={last['alpha']:g} against max-min: total {last['total_bps'] / reference['total_bps']:.4f}, "
              f"smallest served {last['min_served']:.4f} vs {reference['min_served']:.4f}, demands within 1 % of "
              f"their max-min rate: {np.mean(off <= 0.01):.0%}, largest difference {off.max():.1%}")
    return {"name": name, "description": description, "demands": len(demands), "paths": len(cands.paths),
            "rows": rows, "max_min": reference}


def timings(instances, alphas):
    print("\n## solve times (build + solve; candidate paths excluded)")
    out = []
    for name, (graph, demands, description) in instances.items():
        t = time.perf_counter()
        cands = te.candidate_paths(graph, demands, k=4)
        paths_s = time.perf_counter() - t
        for alpha in alphas:
            try:
                sol, wall, cpu = timed(cands, alpha)
                stats = sol.stats
                out.append({"instance": name, "alpha": alpha, "demands": len(demands), "paths": len(cands.paths),
                            "paths_s": paths_s, "wall_s": wall, "cpu_s": cpu, "iterations": stats["iterations"],
                            "kkt_residual": stats["kkt_residual"], "duality_gap": stats["duality_gap"]})
                kkt = "LP" if stats["kkt_residual"] is None else f"{stats['kkt_residual']:.1e}"
                print(f"{name:>10} alpha={alpha:<4g} {len(demands):>6} demands {len(cands.paths):>7} paths: "
                      f"{wall:8.3f} s wall, {cpu:8.3f} s cpu, {stats['iterations']:>3} iterations, KKT {kkt}")
            except SolverError as exc:
                out.append({"instance": name, "alpha": alpha, "error": str(exc)})
                print(f"{name:>10} alpha={alpha:<4g}: {exc}")
    return out


def plot(results, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.6))
    for result, marker in zip(results, "os^"):
        rows = [r for r in result["rows"] if "error" not in r]
        top = max(r["total_bps"] for r in rows)
        precise = [r for r in rows if r["alpha"] <= PRECISE_ALPHA]
        rough = [r for r in rows if r["alpha"] >= PRECISE_ALPHA]
        for ax, key in zip(axes, ("jain", "min_served")):
            line, = ax.plot([r[key] for r in precise], [r["total_bps"] / top for r in precise], marker=marker,
                            label=result["name"])
            color = line.get_color()
            ax.plot([r[key] for r in rough], [r["total_bps"] / top for r in rough], marker=marker, linestyle=":",
                    color=color, markerfacecolor="none",
                    label=f"{result['name']}, alpha > {PRECISE_ALPHA:g} (richest demands approximate)")
            for r in rows:
                if r["alpha"] in (0.0, 0.5, 1.0, 2.0, 4.0, 8.0):
                    ax.annotate(f"{r['alpha']:g}", (r[key], r["total_bps"] / top), textcoords="offset points",
                                xytext=(4, 4), fontsize=7, color=color)
            ref = result["max_min"]
            ax.plot([ref[key]], [ref["total_bps"] / top], marker="*", markersize=12, color=color, linestyle="none",
                    label=f"{result['name']} max-min (alpha -> inf)")
    axes[0].set_xlabel("Jain's index of served fractions (allocated / requested)")
    axes[1].set_xlabel("smallest served fraction")
    for ax in axes:
        ax.set_ylabel("total throughput / alpha = 0 (max throughput)")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    fig.suptitle("alpha-fair: efficiency against fairness as alpha goes 0 -> 8 (labels: alpha)")
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    print(f"\nwrote {path}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--b4-load", type=float, default=4.0)
    parser.add_argument("--geant-load", type=float, default=2.0)
    parser.add_argument("--alphas", default=",".join(f"{a:g}" for a in FRONTIER_ALPHAS))
    parser.add_argument("--time-alphas", default="0.5,1,2,4,8")
    parser.add_argument("--cogentco-alphas", default="0.5,1,2", help="each takes 10-60 s of CPU")
    parser.add_argument("--skip-cogentco", action="store_true")
    parser.add_argument("--out-png", default=str(ROOT / "docs" / "alpha-frontier.png"))
    parser.add_argument("--out-json", default=str(ROOT / "docs" / "alpha-frontier.json"))
    args = parser.parse_args(argv)
    alphas = [float(a) for a in args.alphas.split(",")]
    print(f"Python {platform.python_version()}, numpy {np.__version__}, {os.cpu_count()} CPUs, "
          f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')}")
    b4 = b4_instance(args.b4_load)
    geant = repetita_instance("Geant2012", args.geant_load)
    results = [frontier("b4", *b4, alphas), frontier("geant2012", *geant, alphas)]
    plot(results, args.out_png)
    instances = {"b4": b4, "geant2012": geant, "geant2012 x1": repetita_instance("Geant2012", 1.0)}
    times = timings(instances, [float(a) for a in args.time_alphas.split(",")])
    if not args.skip_cogentco:
        times += timings({"cogentco": repetita_instance("Cogentco", 1.0)},
                         [float(a) for a in args.cogentco_alphas.split(",")])
    Path(args.out_json).write_text(json.dumps({"frontier": results, "timings": times}, indent=1) + "\n")
    print(f"wrote {args.out_json}")


if __name__ == "__main__":
    main()
