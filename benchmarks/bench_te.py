"""Benchmark of the TE engine on real WAN topologies (not a test: prints tables, asserts nothing).

For each instance and objective: size (demands, paths, variables, constraints, LPs), seconds to
compute candidate paths, to build the model and to solve it, quality against the edge-formulation
optimum (or against the exact max-min for ``max-min-fast``), and the process's peak memory so far.
Side by side, the same max-throughput / min-mlu LPs written with cvxpy on the same HiGHS solver.

Usage::

    .venv/bin/python benchmarks/bench_te.py                      # every instance but kdl
    .venv/bin/python benchmarks/bench_te.py --instances b4,abilene --skip-cvxpy
    .venv/bin/python benchmarks/bench_te.py --instances kdl      # 567k demands, minutes
    .venv/bin/python benchmarks/bench_te.py --instances kdl-overload  # the same at 4.3x overload: hours

Quality column: ``max-throughput``/``max-min``/``max-min-fast``/``ecmp``: total allocated over the
edge-formulation maximum throughput; ``min-mlu``: edge-formulation optimal MLU over the path MLU
(1.000 = optimal). ``fast/exact`` rows: total and smallest allocation of ``max-min-fast`` over
those of ``max-min``.
"""
from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import time
from pathlib import Path

import numpy as np

import te
from te.engine import generates_paths, paths_arg
from te.lp import edge_optimum
from te.model import Demand

ROOT = Path(__file__).resolve().parents[1]

DATA = ROOT / ".." / "shared" / "data"
REPETITA = DATA / "repetita" / "2016TopologyZooUCL_inverseCapacity"
KDL_CAPACITY_BPS = 10e9
# Kdl's gravity matrix, total demand as a share of total arc capacity. "kdl" follows Repetita's convention, like
# every other instance here: scaled so that the optimal (unrestricted) MLU is 0.90, i.e. everything fits. The
# optimal MLU of the matrix at 5 % of capacity is 4.317233967 (te's exact min-mlu, 83 s; min-MLU scales linearly
# with the demand), hence the factor. "kdl-overload" keeps that 5 % matrix: 4.3 times what the network can carry
# at its busiest link even when routed best (paths are 22.7 hops long on average); about half the demand cannot
# be carried. It was the only Kdl instance before 2026-12-02.
KDL_OVERLOAD = 0.05
KDL_OVERLOAD_MLU = 4.317233967147785
KDL_MLU = 0.90
KDL_LOAD = KDL_OVERLOAD * KDL_MLU / KDL_OVERLOAD_MLU
ALL = ("b4", "abilene", "geant2012", "uninett2011", "cogentco", "kdl", "kdl-overload")
DEFAULT = ("b4", "abilene", "geant2012", "uninett2011", "cogentco")
OBJECTIVES = ("max-throughput", "min-mlu", "max-min", "max-min-fast", "ecmp")


def b4_matrices():
    rows = [line for line in open(DATA / "b4" / "teal_B4_real_tms_converted.txt") if not line.startswith("#")]
    return [np.array(r.split(), dtype=float).reshape(12, 12) for r in rows]


def matrix_demands(tm):
    n = len(tm)
    return [Demand(f"{i}-{j}", str(i), str(j), float(tm[i, j])) for i in range(n) for j in range(n) if i != j]


def gravity_demands(graph, load):
    """All ordered pairs, rate proportional to the product of the endpoints' total capacity."""
    nodes = sorted(graph)
    mass = np.array([sum(c for *_, c in graph.out_edges(n, data="capacity")) for n in nodes])
    total = load * sum(c for *_, c in graph.edges(data="capacity"))
    outer = np.outer(mass, mass)
    np.fill_diagonal(outer, 0.0)
    rates = outer / outer.sum() * total
    return [Demand(f"{u}-{v}", u, v, float(rates[i, j])) for i, u in enumerate(nodes) for j, v in enumerate(nodes)
            if i != j]


def load_instance(name):
    if name == "b4":
        graph = te.read_topology(DATA / "b4" / "teal_B4.json")
        return graph, matrix_demands(b4_matrices()[0]), "Teal B4, real TM 0 (Teal units, capacity 5000)"
    if name in ("kdl", "kdl-overload"):
        graph = te.read_topology(DATA / "topologyzoo" / "Kdl.graphml", default_capacity_bps=KDL_CAPACITY_BPS)
        load, mlu = (KDL_LOAD, KDL_MLU) if name == "kdl" else (KDL_OVERLOAD, KDL_OVERLOAD_MLU)
        return graph, gravity_demands(graph, load), (f"Topology Zoo GraphML, default capacity "
                                                     f"{KDL_CAPACITY_BPS:.0e} bit/s, gravity all pairs, "
                                                     f"total = {load:.2%} of capacity (optimal MLU {mlu:.2f})")
    stem = {"abilene": "Abilene", "geant2012": "Geant2012", "uninett2011": "Uninett2011", "cogentco": "Cogentco"}[name]
    graph = te.read_topology(REPETITA / f"{stem}.graph")
    return graph, te.read_demands(REPETITA / f"{stem}.0000.demands", graph), f"Repetita {stem}.0000"


def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(graph, demands, objective, k, cands=None):
    generate = generates_paths(objective, k)
    t0 = time.perf_counter()
    if cands is None or objective == "ecmp" or generate != (cands[1]):
        cands = (te.candidates_for(graph, demands, objective, k=k), generate)
    t1 = time.perf_counter()
    cands = cands[0]
    model = te.build(cands, objective, generate=generate)
    t2 = time.perf_counter()
    sol = model.solve()
    t3 = time.perf_counter()
    return sol, (cands, generate), (t1 - t0, t2 - t1, t3 - t2)


def paths_per_demand(sol):
    """Mean and largest number of paths with traffic per demand."""
    owner = np.repeat(np.arange(len(sol.demands)), np.diff(sol.path_ptr))
    used = np.bincount(owner[sol.path_rate_bps > 0], minlength=len(sol.demands))
    return (float(used.mean()) if len(used) else 0.0), int(used.max(initial=0))


def final_candidates(graph, sol):
    """The solution's own paths as Candidates (for cvxpy on the paths generation ended with)."""
    return te.Candidates.from_paths(graph, sol.demands, [sol.paths[sol.path_ptr[i]:sol.path_ptr[i + 1]]
                                                         for i in range(len(sol.demands))])


def cvxpy_run(cands, objective, style):
    """The same path LP as te.lp, written in cvxpy and solved by the same HiGHS.

    ``style="loops"``: one constraint per link and per demand over index lists, the way the
    LP is usually written by hand; ``style="matrix"``: sparse matrices (cvxpy's best case).
    """
    import cvxpy as cp

    from te.lp import _demand_path, _throughput_cost

    t0 = time.perf_counter()
    scale = cands.capacity_bps.max()
    capacity = cands.capacity_bps / scale
    rates = np.array([d.rate_bps for d in cands.demands]) / scale
    x = cp.Variable(len(cands.paths), nonneg=True)
    u = cp.Variable(nonneg=True)
    if style == "matrix":
        carried, per_demand = cands.path_arc.T.tocsr() @ x, _demand_path(cands) @ x
        link_rows = [carried <= (u * capacity if objective == "min-mlu" else capacity)]
        demand_rows = [per_demand == rates] if objective == "min-mlu" else [per_demand <= rates]
    else:
        arc_path = cands.path_arc.T.tocsr()
        link_rows = []
        for j in range(len(cands.arcs)):
            on = arc_path.indices[arc_path.indptr[j]:arc_path.indptr[j + 1]]
            if len(on):
                bound = u * capacity[j] if objective == "min-mlu" else capacity[j]
                link_rows.append(cp.sum(x[on]) <= bound)
        demand_rows = []
        for i in range(len(cands.demands)):
            mine = x[int(cands.path_ptr[i]):int(cands.path_ptr[i + 1])]
            demand_rows.append(cp.sum(mine) == rates[i] if objective == "min-mlu" else cp.sum(mine) <= rates[i])
    goal = cp.Minimize(u) if objective == "min-mlu" else cp.Minimize(_throughput_cost(cands) @ x)
    problem = cp.Problem(goal, link_rows + demand_rows)
    problem.solve(solver=cp.HIGHS)
    elapsed = time.perf_counter() - t0
    value = float(u.value) if objective == "min-mlu" else float(x.value.sum() * scale)
    return elapsed, value


def fmt_row(cells, widths):
    return " | ".join(str(c).rjust(w) for c, w in zip(cells, widths))


HEADER = ("objective", "demands", "paths", "used/dem", "max", "rounds", "LPs", "paths s", "build s", "solve s",
          "quality", "peak MB")
WIDTHS = (16, 7, 7, 8, 4, 6, 5, 8, 8, 8, 12, 8)


def bench_instance(name, k, skip_cvxpy, skip_edge, objectives):
    graph, demands, description = load_instance(name)
    print(f"\n## {name}: {graph.number_of_nodes()} nodes, {graph.number_of_edges()} arcs, {len(demands)} demands, "
          f"k={k} ({description})")
    edge = {}
    if not skip_edge:
        for obj in ("max-throughput", "min-mlu"):
            t = time.perf_counter()
            edge[obj] = edge_optimum(graph, demands, obj)
            print(f"edge formulation {obj}: {edge[obj]:.6g} ({time.perf_counter() - t:.2f} s)")
    print(fmt_row(HEADER, WIDTHS))
    print(fmt_row(["-" * w for w in WIDTHS], WIDTHS))
    cands, results = None, {}
    for obj in objectives:
        sol, c, (tp, tb, ts) = run(graph, demands, obj, k, cands)
        if obj != "ecmp":
            cands = c
        results[obj] = (sol, tb + ts)
        if obj == "min-mlu":
            quality = edge["min-mlu"] / sol.max_link_utilization if edge else float("nan")
        else:
            quality = sol.total_allocated_bps / edge["max-throughput"] if edge else float("nan")
        mean, most = paths_per_demand(sol)
        print(fmt_row([obj, len(demands), len(sol.paths), f"{mean:.2f}", most, sol.stats.get("rounds", "-"),
                       sol.stats.get("lps_total", sol.stats["lps"]), f"{tp:.3f}", f"{tb:.4f}", f"{ts:.4f}",
                       f"{quality:.9f}", f"{peak_mb():.0f}"], WIDTHS))
    if "max-min" in results and "max-min-fast" in results:
        exact, t_exact = results["max-min"]
        fast, t_fast = results["max-min-fast"]
        asked = exact.requested_bps > 0
        worst = [float((s.allocated_bps[asked] / s.requested_bps[asked]).min()) if asked.any() else 1.0
                 for s in (fast, exact)]
        print(f"max-min-fast / max-min: total {fast.total_allocated_bps / exact.total_allocated_bps:.4f}, "
              f"smallest served share {worst[0]:.4f} vs {worst[1]:.4f}, "
              f"speed-up (build+solve) {t_exact / t_fast:.1f}x")
    if not skip_cvxpy and cands is not None:
        for obj in ("max-throughput", "min-mlu"):
            if obj not in results:
                continue
            sol, ours = results[obj]
            ours_value = sol.total_allocated_bps if obj == "max-throughput" else sol.max_link_utilization
            # with generated paths, cvxpy gets the paths generation ended with (it does not generate them)
            on = final_candidates(graph, sol) if cands[1] else cands[0]
            for style in ("loops", "matrix"):
                elapsed, value = cvxpy_run(on, obj, style)
                print(f"cvxpy ({style}) {obj}: {elapsed:.3f} s end to end; te {ours:.3f} s build+solve is "
                      f"{elapsed / ours:.1f}x faster; objective cvxpy {value:.7g} vs te {ours_value:.7g}")
    return results


def bench_b4_series(k):
    """Exact max-min on every Teal B4 matrix: as given, and at twice the load (congested)."""
    graph = te.read_topology(DATA / "b4" / "teal_B4.json")
    print(f"\n## b4 series: exact max-min on all {len(b4_matrices())} Teal matrices, 132 demands, k={k}")
    for factor in (1.0, 2.0, 4.0):
        times, lps = [], []
        for tm in b4_matrices():
            demands = matrix_demands(tm * factor)
            cands = te.candidates_for(graph, demands, "max-min", k=k)
            t0 = time.perf_counter()
            sol = te.build(cands, "max-min", generate=generates_paths("max-min", k)).solve()
            times.append(time.perf_counter() - t0)
            lps.append(sol.stats["lps"])
        print(f"load x{factor:g}: build+solve median {1000 * np.median(times):.1f} ms, max {1000 * max(times):.1f} ms, "
              f"LPs median {int(np.median(lps))} max {max(lps)}")


SCALING = ("abilene", "geant2012", "uninett2011", "cogentco", "kdl")


def one(name, objective, k):
    """Solve one instance in this (fresh) process; a JSON line of sizes, phase times and peak memory."""
    import json

    t0 = time.perf_counter()
    graph, demands, _ = load_instance(name)
    t1 = time.perf_counter()
    sol, _, (tp, tb, ts) = run(graph, demands, objective, k)
    mean, most = paths_per_demand(sol)
    print(json.dumps({"instance": name, "objective": objective, "nodes": graph.number_of_nodes(),
                      "arcs": graph.number_of_edges(), "demands": len(demands), "paths": len(sol.paths),
                      "paths_per_demand": mean, "paths_max": most, "rounds": sol.stats.get("rounds"),
                      "lps": sol.stats.get("lps_total", sol.stats["lps"]), "read_s": t1 - t0, "paths_s": tp,
                      "build_s": tb, "solve_s": ts, "te_s": tp + tb + ts, "peak_mb": peak_mb(),
                      "value": sol.max_link_utilization if objective == "min-mlu" else sol.total_allocated_bps}))


def scaling(objectives, k, names, out_json, out_png, timeout):
    """Each instance and objective in its own process (peak memory is per process); table, fit and plot."""
    import json
    import subprocess

    rows = []
    for objective in objectives:
        for name in names:
            cmd = [sys.executable, __file__, "--one", name, "--objectives", objective, "--paths", str(k)]
            try:
                done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
            except subprocess.TimeoutExpired:
                print(f"{objective} {name}: did not finish in {timeout:.0f} s", flush=True)
                rows.append({"instance": name, "objective": objective, "timeout_s": timeout})
                continue
            if done.returncode:
                print(f"{objective} {name}: failed: {done.stderr.strip().splitlines()[-1:]}", flush=True)
                continue
            row = json.loads(done.stdout.strip().splitlines()[-1])
            rows.append(row)
            print(f"{objective:15s} {name:12s} demands {row['demands']:7d} paths {row['paths']:8d} "
                  f"({row['paths_per_demand']:.2f}/demand, max {row['paths_max']}) rounds {row['rounds']} "
                  f"LPs {row['lps']} | paths {row['paths_s']:.2f} s build {row['build_s']:.2f} s "
                  f"solve {row['solve_s']:.2f} s = {row['te_s']:.2f} s | peak {row['peak_mb']:.0f} MB", flush=True)
    fits = {}
    for objective in objectives:
        done = [r for r in rows if r["objective"] == objective and "te_s" in r]
        if len(done) >= 2:
            x = np.log([r["demands"] for r in done])
            fits[objective] = {"time": float(np.polyfit(x, np.log([r["te_s"] for r in done]), 1)[0]),
                               "memory": float(np.polyfit(x, np.log([r["peak_mb"] for r in done]), 1)[0])}
            print(f"{objective}: time ~ demands^{fits[objective]['time']:.2f}, "
                  f"peak memory ~ demands^{fits[objective]['memory']:.2f}")
    Path(out_json).write_text(json.dumps({"paths": str(k), "rows": rows, "fits": fits}, indent=1) + "\n")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 4))
    FigureCanvasAgg(fig)
    for ax, key, label in ((fig.add_subplot(1, 2, 1), "te_s", "paths + build + solve (s)"),
                           (fig.add_subplot(1, 2, 2), "peak_mb", "peak memory (MB)")):
        for objective in objectives:
            done = [r for r in rows if r["objective"] == objective and "te_s" in r]
            if done:
                slope = fits.get(objective, {}).get("time" if key == "te_s" else "memory")
                ax.plot([r["demands"] for r in done], [r[key] for r in done], "o-",
                        label=objective + (f" (slope {slope:.2f})" if slope is not None else ""))
                for r in done:
                    ax.annotate(r["instance"], (r["demands"], r[key]), fontsize=7)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("demands")
        ax.set_ylabel(label)
        ax.legend(fontsize=7)
        ax.grid(True, which="both", alpha=0.3)
    fig.suptitle(f"TE engine scaling, --paths {k}, 2-core machine")
    fig.tight_layout()
    fig.savefig(out_png, dpi=110)
    print(f"wrote {out_json} and {out_png}")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--instances", default=",".join(DEFAULT), help=f"comma-separated, from {','.join(ALL)}")
    p.add_argument("--objectives", default=",".join(OBJECTIVES))
    p.add_argument("--paths", type=paths_arg, default="auto", metavar="auto|K")
    p.add_argument("--skip-cvxpy", action="store_true")
    p.add_argument("--skip-edge", action="store_true", help="skip the edge-formulation optimum (quality column)")
    p.add_argument("--one", metavar="INSTANCE", help="solve INSTANCE with the first objective; print one JSON line")
    p.add_argument("--scaling", action="store_true",
                   help=f"time and peak memory against demands over {','.join(SCALING)} (or --instances), each in "
                        "its own process; writes docs/te-scaling.json and docs/te-scaling.png")
    p.add_argument("--timeout", type=float, default=1800.0, help="--scaling: seconds per instance (default 1800)")
    args = p.parse_args(argv)
    if args.one:
        one(args.one, args.objectives.split(",")[0], args.paths)
        return 0
    if args.scaling:
        names = [n for n in args.instances.split(",") if n] if args.instances != ",".join(DEFAULT) else list(SCALING)
        objectives = [o for o in args.objectives.split(",") if o] if args.objectives != ",".join(OBJECTIVES) else \
            ["max-throughput", "min-mlu", "max-min"]
        scaling(objectives, args.paths, names, ROOT / "docs" / "te-scaling.json", ROOT / "docs" / "te-scaling.png",
                args.timeout)
        return 0
    names = [n.strip().lower() for n in args.instances.split(",") if n.strip()]
    unknown = set(names) - set(ALL)
    if unknown:
        p.error(f"unknown instances: {', '.join(sorted(unknown))}")
    if not DATA.is_dir():
        p.error(f"shared data not found at {DATA}")
    print(f"# TE engine benchmark: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"Python {platform.python_version()}, numpy {np.__version__}, scipy {__import__('scipy').__version__}")
    objectives = [o.strip() for o in args.objectives.split(",")]
    for name in names:
        if name == "b4":
            bench_b4_series(args.paths)
        bench_instance(name, args.paths, args.skip_cvxpy, args.skip_edge or name.startswith("kdl"), objectives)
    return 0


if __name__ == "__main__":
    sys.exit(main())
