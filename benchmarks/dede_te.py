#!/usr/bin/env python3
"""DeDe (OSDI'25 "Decouple and Decompose", PyPI ``dede``) on the TE benchmark instances, against the exact LP.

Run it with the DeDe environment's Python (``benchmarks/setup_dede.sh`` creates ``.venv-dede``); it
never imports the project's ``te`` package. Instances and their parsing are those of
``benchmarks/bench_te.py`` / ``te/io.py``: Teal B4 (real TM 0) and the Repetita ``*.0000.demands``
of Abilene, Geant2012, Uninett2011 (and, on request, Cogentco). Candidate paths: the ``--k`` (4)
shortest loopless paths per demand by the arc ``weight`` (networkx ``shortest_simple_paths``).

Problem: MAX-THROUGHPUT on those paths: maximise the total rate, each demand at most its request,
every arc at most its capacity. Solved three ways:

- ``exact``: the same path LP in cvxpy on HiGHS (``solver=SCIPY, method=highs``), plus the
  edge-formulation optimum (source-aggregated multicommodity flow; bench_te.py's quality reference).
- ``example`` (DeDe as its authors run TE): a port of ``examples/traffic_engineering`` (its
  ``lib/algorithms/dede_formulation.py`` + ``dede_subproblems.py``, objective ``total_flow``) of
  https://github.com/illinois-nsai/dede. One resource subproblem per arc (the flow of each source on
  it, sum <= capacity), one demand subproblem per source node (its path flows; per destination
  sum <= request; per arc it uses, the sum of its path flows = the consensus copy). ADMM iterations
  on ray actors, then the authors' 3-step "fix" that scales the iterate to a feasible allocation.
- ``api``: the ``dede`` package's own high-level interface, ``dd.Problem(Maximize(sum x),
  resource_constraints, demand_constraints)``, with the same per-(arc, source) copies ``z``: resource
  constraints ``sum_s z[e,s] <= c_e``, demand constraints ``sum_{p of k} x_p <= d_k`` and
  ``z[e,s] == sum of x_p over the paths of source s through e``. Its iterate is made feasible by a
  plain global scaling (demand over-allocation, then each path by its most overloaded arc).

``--protocols cold`` starts from zero and records the quality at checkpoints up to
``--max-iter`` ADMM iterations; ``warm`` follows the authors' benchmark (warm-up
``--warmup-iter`` iterations on the instance's next traffic matrix, then ``--warm-iter`` (10)
iterations and 3 fix steps on TM 0, timed). Each DeDe run is a separate process with a hard
``--timeout``; it also stops iterating itself a little before it.

Units: DeDe's ADMM is not scale-invariant, so rates are fed to it in the units of the authors' own
topology files: Teal units for B4 (capacity 5000, as in DeDe's examples/.../B4.json) and Mbit/s for
Repetita (capacities 1e3..1e5). ``--rho`` defaults to 0.01, the value of the authors' README command
for TE ``--obj total_flow`` (their benchmark script's default is 0.05).

Usage::

    benchmarks/setup_dede.sh
    .venv-dede/bin/python benchmarks/dede_te.py                                # b4,abilene,geant2012,uninett2011
    .venv-dede/bin/python benchmarks/dede_te.py --instances b4 --modes example --max-iter 200
    .venv-dede/bin/python benchmarks/dede_te.py --instances cogentco --timeout 900

Writes docs/dede-results.json (``--json``); worker logs go to a temporary directory (printed).
"""
from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import pickle
import platform
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from itertools import islice
from pathlib import Path

import networkx as nx
import numpy as np
import scipy.sparse as sp

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / ".." / "shared" / "data"
REPETITA = DATA / "repetita" / "2016TopologyZooUCL_inverseCapacity"
STEMS = {"abilene": "Abilene", "geant2012": "Geant2012", "uninett2011": "Uninett2011", "cogentco": "Cogentco"}
ALL = ("b4",) + tuple(STEMS)
DEFAULT = ("b4", "abilene", "geant2012", "uninett2011")
KBPS = 1000.0
EPS = 1e-6  # as in the authors' dede_subproblems.py


# =========================================================================== instances (as te/io.py)

def _add_arc(graph, u, v, capacity, weight, attrs):
    """te/io.py: self-loops dropped; a parallel arc adds its capacity to the first one."""
    if u == v:
        return
    if graph.has_edge(u, v):
        graph[u][v]["capacity"] += capacity
        return
    graph.add_edge(u, v, **{**attrs, "capacity": capacity, "weight": weight})


def read_nodelink(path):
    data = json.loads(Path(path).read_text())
    graph = nx.DiGraph()
    for node in data["nodes"]:
        graph.add_node(str(node["id"]))
    for link in data.get("links", data.get("edges")):
        u, v = str(link["source"]), str(link["target"])
        weight = float(link.get("weight", 1.0))
        _add_arc(graph, u, v, float(link["capacity"]), weight, {})
        if not data.get("directed", False):
            _add_arc(graph, v, u, float(link["capacity"]), weight, {})
    return graph


def _repetita_rows(path, keyword, width, start=0):
    lines = [line.split() for line in Path(path).read_text().splitlines() if line.strip()]
    assert lines[start][0] == keyword, (path, lines[start])
    count = int(lines[start][1])
    rows = lines[start + 2:start + 2 + count]
    assert len(rows) == count and all(len(r) == width for r in rows), path
    return rows, start + 2 + count


def read_repetita_graph(path):
    """Node id = 0-based line index (str); arcs directed as listed; bw in kbit/s -> bit/s."""
    nodes, nxt = _repetita_rows(path, "NODES", 3)
    edges, _ = _repetita_rows(path, "EDGES", 6, nxt)
    graph = nx.DiGraph()
    for index, (label, _x, _y) in enumerate(nodes):
        graph.add_node(str(index), label=label)
    for label, src, dst, weight, bw, _delay in edges:
        _add_arc(graph, src, dst, float(bw) * KBPS, float(weight), {"label": label})
    return graph


def read_repetita_demands(path, graph):
    """(id, src, dst, rate bit/s); a node is named by its id, else by its (unique) label."""
    by_label = {}
    for node, label in graph.nodes(data="label"):
        by_label.setdefault(label, []).append(node)

    def resolve(name):
        if name in graph:
            return name
        found = by_label.get(name, [])
        assert len(found) == 1, (path, name)
        return found[0]

    rows, _ = _repetita_rows(path, "DEMANDS", 4)
    return [(label, resolve(src), resolve(dst), float(bw) * KBPS) for label, src, dst, bw in rows]


def b4_matrix(index):
    rows = [line for line in open(DATA / "b4" / "teal_B4_real_tms_converted.txt") if not line.startswith("#")]
    return np.array(rows[index].split(), dtype=float).reshape(12, 12)


def matrix_demands(tm):
    """bench_te.py: every ordered pair i != j (zeros included), id "i-j"."""
    n = len(tm)
    return [(f"{i}-{j}", str(i), str(j), float(tm[i, j])) for i in range(n) for j in range(n) if i != j]


def load_instance(name, tm_index=0):
    """(graph, demands, description, unit, unit name): rates divided by ``unit`` are what DeDe sees."""
    if name == "b4":
        graph = read_nodelink(DATA / "b4" / "teal_B4.json")
        return (graph, matrix_demands(b4_matrix(tm_index)),
                f"Teal B4, real TM {tm_index} (Teal units, capacity 5000)", 1.0, "Teal units")
    stem = STEMS[name]
    graph = read_repetita_graph(REPETITA / f"{stem}.graph")
    demands = read_repetita_demands(REPETITA / f"{stem}.{tm_index:04d}.demands", graph)
    return graph, demands, f"Repetita {stem}.{tm_index:04d}", 1e6, "Mbit/s"


def tie_broken_weights(graph):
    """``search_weight`` on every arc: te/paths.py's rule for equal-cost paths, so that the k paths are te's.

    te perturbs each weight by ``1e-9 * min weight / nodes * rank / arcs``, rank = 1.. in the
    order of the arcs' (tail, head) names; among equal-cost paths the one on lower-named arcs
    wins, whatever the search algorithm's internal order. Without it, networkx and te pick
    different paths among ties (Cogentco, all weights 10: another path LP, 0.13% lower).
    """
    arcs = sorted(graph.edges)
    eps = 1e-9 * min(graph[u][v]["weight"] for u, v in arcs) / max(graph.number_of_nodes(), 1)
    for rank, (u, v) in enumerate(arcs, 1):
        graph[u][v]["search_weight"] = graph[u][v]["weight"] + eps * rank / len(arcs)


def k_shortest(graph, src, dst, k):
    """The k shortest loopless paths by ``search_weight`` (Yen, networkx), as node lists."""
    try:
        return list(islice(nx.shortest_simple_paths(graph, src, dst, weight="search_weight"), k))
    except nx.NetworkXNoPath:
        return []


def build_instance(name, k):
    """Everything the solvers need, as plain arrays (pickled to the DeDe worker processes)."""
    t0 = time.perf_counter()
    graph, demands, description, unit, unit_name = load_instance(name)
    t1 = time.perf_counter()
    nodes = list(graph.nodes)  # file order, like the authors' networkx graphs
    node_index = {n: i for i, n in enumerate(nodes)}
    arcs = list(graph.edges)  # G.edges order, as in dede_formulation.py
    arc_index = {a: i for i, a in enumerate(arcs)}
    capacity = np.array([graph[u][v]["capacity"] for u, v in arcs], dtype=float)
    paths, path_demand = [], []
    tie_broken_weights(graph)
    for i, (_, src, dst, _) in enumerate(demands):
        for p in k_shortest(graph, src, dst, k) if src != dst else []:
            paths.append([arc_index[(u, v)] for u, v in zip(p[:-1], p[1:])])
            path_demand.append(i)
    t2 = time.perf_counter()
    # the next traffic matrix of the same instance (the warm-up of --protocols warm)
    if name == "b4":
        nxt = matrix_demands(b4_matrix(1))
    else:
        nxt = read_repetita_demands(REPETITA / f"{STEMS[name]}.0001.demands", graph)
    assert [(s, d) for _, s, d, _ in nxt] == [(s, d) for _, s, d, _ in demands], "TM 1 has other pairs"
    return {
        "name": name, "description": description, "unit": unit, "unit_name": unit_name, "k": k,
        "nodes": nodes, "arcs": [[node_index[u], node_index[v]] for u, v in arcs],
        "capacity": capacity / unit,
        "weight": np.array([graph[u][v]["weight"] for u, v in arcs], dtype=float),
        "demand_src": np.array([node_index[s] for _, s, _, _ in demands], dtype=np.int64),
        "demand_dst": np.array([node_index[d] for _, _, d, _ in demands], dtype=np.int64),
        "rate": np.array([r for *_, r in demands], dtype=float) / unit,
        "rate_next": np.array([r for *_, r in nxt], dtype=float) / unit,
        "paths": paths, "path_demand": np.array(path_demand, dtype=np.int64),
        "read_s": t1 - t0, "paths_s": t2 - t1,
    }


def incidence(inst):
    """(arc x path) and (demand x path) 0/1 matrices."""
    n_paths = len(inst["paths"])
    rows = np.concatenate([np.asarray(p, dtype=np.int64) for p in inst["paths"]]) if n_paths else np.zeros(0, int)
    cols = np.repeat(np.arange(n_paths), [len(p) for p in inst["paths"]])
    arc_path = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(inst["arcs"]), n_paths))
    dem_path = sp.csr_matrix((np.ones(n_paths), (inst["path_demand"], np.arange(n_paths))),
                             shape=(len(inst["rate"]), n_paths))
    return arc_path, dem_path


def assess(inst, x, arc_path=None, dem_path=None, rate=None):
    """Total rate and violations of path rates ``x`` (DeDe units).

    max_overload: max over arcs of (load - capacity) / capacity. excess: total rate served above
    the requests over the total request (per-demand relative excess is meaningless for the tiny
    Repetita demands), with the largest absolute excess beside it.
    """
    if arc_path is None:
        arc_path, dem_path = incidence(inst)
    x = np.asarray(x, dtype=float)
    load, served = arc_path @ x, dem_path @ x
    cap, req = inst["capacity"], inst["rate"] if rate is None else rate
    over = np.maximum(load - cap, 0) / cap
    excess = np.maximum(served - req, 0)
    return {"total": float(x.sum()), "min_x": float(x.min(initial=0.0)),
            "max_overload": float(over.max(initial=0.0)), "overloaded_arcs": int((over > 1e-6).sum()),
            "excess": float(excess.sum() / max(req.sum(), 1e-300)), "max_abs_excess": float(excess.max(initial=0.0)),
            "over_demands": int((excess > 1e-6 * max(req.max(initial=0.0), 1e-300)).sum())}


# =========================================================================== exact LPs (cvxpy + HiGHS)

def exact_path_lp(inst):
    """The path LP on HiGHS through cvxpy 1.4 (solver=SCIPY, method=highs), rates scaled by max capacity."""
    import cvxpy as cp

    t0 = time.perf_counter()
    arc_path, dem_path = incidence(inst)
    scale = inst["capacity"].max()
    x = cp.Variable(len(inst["paths"]), nonneg=True)
    problem = cp.Problem(cp.Maximize(cp.sum(x)), [arc_path @ x <= inst["capacity"] / scale,
                                                  dem_path @ x <= inst["rate"] / scale])
    t1 = time.perf_counter()
    problem.solve(solver=cp.SCIPY, scipy_options={"method": "highs"})
    elapsed = time.perf_counter() - t0
    assert problem.status == "optimal", problem.status
    other = elapsed - (t1 - t0) - problem.compilation_time  # HiGHS itself, and cvxpy unpacking the solution
    xv = np.maximum(x.value, 0) * scale
    return {"value": float(problem.value * scale), "s": elapsed, "status": problem.status,
            "cvxpy_compile_s": problem.compilation_time, "solver_s": other,
            "check": assess(inst, xv, arc_path, dem_path)}


def edge_lp(inst):
    """Maximum throughput of the unrestricted multicommodity flow (commodities aggregated by source)."""
    import cvxpy as cp

    t0 = time.perf_counter()
    n, arcs = len(inst["nodes"]), np.array(inst["arcs"])
    m = len(arcs)
    scale = inst["capacity"].max()
    inc = sp.csr_matrix((np.r_[np.ones(m), -np.ones(m)],
                         (np.r_[arcs[:, 0], arcs[:, 1]], np.r_[np.arange(m), np.arange(m)])),
                        shape=(n, m))  # +1 at the tail: net outflow
    sources = np.unique(inst["demand_src"])
    pos = {s: i for i, s in enumerate(sources)}
    ns, nd = len(sources), len(inst["rate"])
    srow = np.array([pos[s] for s in inst["demand_src"]])
    supply = sp.csr_matrix((np.r_[np.ones(nd), -np.ones(nd)],
                            (np.r_[srow * n + inst["demand_src"], srow * n + inst["demand_dst"]],
                             np.r_[np.arange(nd), np.arange(nd)])), shape=(ns * n, nd))
    f = cp.Variable(ns * m, nonneg=True)
    t = cp.Variable(nd, nonneg=True)
    problem = cp.Problem(cp.Maximize(cp.sum(t)), [
        sp.kron(sp.identity(ns), inc, format="csr") @ f == supply @ t,
        sp.kron(np.ones((1, ns)), sp.identity(m), format="csr") @ f <= inst["capacity"] / scale,
        t <= inst["rate"] / scale])
    problem.solve(solver=cp.SCIPY, scipy_options={"method": "highs"})
    assert problem.status == "optimal", problem.status
    return {"value": float(problem.value * scale), "s": time.perf_counter() - t0}


# =========================================================================== DeDe, the authors' TE example
# Port of examples/traffic_engineering/lib/algorithms/dede_subproblems.py and dede_formulation.py
# (https://github.com/illinois-nsai/dede, MIT licence, (c) 2025 Illinois Networked Systems and AI),
# objective TOTAL_FLOW only. Changes: the Problem/paths plumbing of the example is replaced by plain
# arrays (capacities, traffic matrix, paths as arc-index lists), the solve loop is split into
# build / iterate / fix so that checkpoints can be taken, and SubproblemsWrap.get_path_values is added
# to read the path rates back. The arithmetic of the subproblems, the ADMM order, the lambda updates
# and the fix procedure are the authors'.

def _define_example():
    import cvxpy as cp
    import ray
    from cvxpy.problems.problem import Problem as CpProblem
    from scipy.sparse import coo_matrix

    class SubproblemR(CpProblem):
        """Per-arc resource subproblem: var[src] = flow of source src on the arc."""

        def __init__(self, num_nodes, num_edges, idx, constrs_gp, rho):
            self._runtime = 0
            self.id = idx
            self.rho = rho
            self.capacity = constrs_gp
            self.var = cp.Variable(num_nodes, nonneg=True)
            self.var.value = np.zeros(num_nodes)
            self.s = cp.Variable(nonneg=True)
            self.s.value = 0.0
            # prevent None solution in rare cases
            self.old_var_value = np.zeros(num_nodes)
            self.old_s_value = 0.0
            self.param = cp.Parameter(num_nodes)
            self.param.value = np.zeros(num_nodes)
            # lambda for original constraints
            self.f1 = self.var.sum() + self.s - self.capacity
            self.l1 = cp.Parameter(value=0.0)
            # lambda for x = z
            self.f2 = self.var - self.param
            self.l2 = cp.Parameter(self.f2.shape, value=np.zeros(self.f2.shape))
            super().__init__(cp.Minimize(
                self.rho / 2 * cp.sum_squares(self.f1 + self.l1)
                + self.rho / 2 * cp.sum_squares(self.var)
                - self.rho * self.var @ self.param
                + self.rho * self.var @ self.l2))

        def get_solution(self):
            return self.var.value

        def get_obj(self):
            return 0

        def solve(self, param_value, *args, **kwargs):
            start = time.time()
            self.l1.value += self.f1.value
            self.param.value = param_value
            self.l2.value += self.f2.value
            self.old_var_value = self.var.value
            self.old_s_value = self.s.value
            res = super().solve(*args, **kwargs)
            if self.var.value is None:
                self.var.value = self.old_var_value
                self.s.value = self.old_s_value
            self._runtime = time.time() - start
            return res

        def fix(self, param_value=None):
            return param_value / (param_value.sum() + EPS) * self.capacity

        def get_fix_obj(self, param_value=None):
            return 0

    class SubproblemD(CpProblem):
        """Per-source demand subproblem: the rates of all paths from one source."""

        def __init__(self, num_nodes, num_edges, idx, constrs_gp, rho):
            self._runtime = 0
            self.id = idx
            self.rho = rho
            self.num_paths = 0
            self.m_all_d_all_p, self.m_all_e_all_p = [], []
            for dst, _demand, idx_paths in zip(*constrs_gp):
                for idx_p in idx_paths:
                    self.m_all_d_all_p.append([dst, self.num_paths])
                    self.m_all_e_all_p += [[idx_e, self.num_paths] for idx_e in idx_p]
                    self.num_paths += 1
            e_to_shorter_e_dict = {}
            self.num_edges = num_edges
            # only focus on edge used
            self.idx_e_list = []
            for idx_e in np.sort(np.unique(np.array(self.m_all_e_all_p, dtype=np.int64).reshape(-1, 2)[:, 0])):
                e_to_shorter_e_dict[idx_e] = len(e_to_shorter_e_dict)
                self.idx_e_list.append(idx_e)
            self.m_all_d_all_p = coo_matrix(
                (np.ones(len(self.m_all_d_all_p)), np.array(self.m_all_d_all_p, dtype=np.int64).reshape(-1, 2).T),
                shape=(num_nodes, self.num_paths))
            self.m_all_e_all_p = [[e_to_shorter_e_dict[idx_e], p] for idx_e, p in self.m_all_e_all_p]
            self.m_all_e_all_p = coo_matrix(
                (np.ones(len(self.m_all_e_all_p)), np.array(self.m_all_e_all_p, dtype=np.int64).reshape(-1, 2).T),
                shape=(len(e_to_shorter_e_dict), self.num_paths))

            self.var = cp.Variable(self.num_paths, nonneg=True)
            self.var.value = np.zeros(self.num_paths)
            self.s = cp.Variable(num_nodes, nonneg=True)
            self.s.value = np.zeros(num_nodes)
            self.demands = cp.Parameter(num_nodes)
            self.demands.value = np.array(constrs_gp[1])
            self.param = cp.Parameter(len(e_to_shorter_e_dict))
            self.param.value = np.zeros(len(e_to_shorter_e_dict))
            # lambda for original constraints
            self.f1 = self.m_all_d_all_p @ self.var + self.s - self.demands
            self.l1 = cp.Parameter(self.f1.shape, value=np.zeros(self.f1.shape))
            # lambda for x = z
            self.f2 = self.m_all_e_all_p @ self.var - self.param
            self.l2 = cp.Parameter(self.f2.shape, value=np.zeros(self.f2.shape))
            super().__init__(cp.Minimize(
                -self.var.sum()
                + self.rho / 2 * cp.sum_squares(self.f1 + self.l1)
                + self.rho / 2 * cp.sum_squares(self.f2 + self.l2)))

        def get_solution(self):
            res = np.zeros(self.num_edges)
            res[self.idx_e_list] = self.m_all_e_all_p @ self.var.value
            return res

        def get_obj(self):
            return -self.var.value.sum()

        def solve(self, param_value, *args, **kwargs):
            start = time.time()
            self.l1.value += self.f1.value
            # note: we haven't update param in f2 yet
            # note: keep l2 the same between resource probs and demand probs at each iter
            self.l2.value += self.f2.value
            self.param.value = param_value[self.idx_e_list]
            res = super().solve(*args, **kwargs)
            self.var_fix = self.var.value
            self._runtime = time.time() - start
            return res

        def fix(self, param_value=None):
            res = np.zeros(self.num_edges)
            # remove demand over-allocation
            self.var_fix = self.var.value / (
                np.maximum(self.m_all_d_all_p @ self.var.value / (self.demands.value + EPS), 1)
                @ self.m_all_d_all_p)
            # remove edge capacity over-allocation
            edge_oversubscribe = np.maximum(
                self.m_all_e_all_p @ self.var_fix / (param_value[self.idx_e_list] + EPS), 1)
            self.var_fix /= (
                coo_matrix(([edge_oversubscribe[i] for i in self.m_all_e_all_p.row],
                            (self.m_all_e_all_p.row, self.m_all_e_all_p.col)),
                           shape=self.m_all_e_all_p.shape).max(axis=0).toarray().reshape(-1))
            res[self.idx_e_list] = self.m_all_e_all_p @ self.var_fix
            return res

        def get_fix_obj(self, param_value=None):
            return -self.var_fix.sum()

    @ray.remote
    class SubproblemsWrap:
        """Wrap subproblems for one actor in ray."""

        def __init__(self, num_nodes, num_edges, idx_r, idx_d, constrs_gps_r, constrs_gps_d, rho):
            self.num_nodes = num_nodes
            self.num_edges = num_edges
            self.probs_r = [SubproblemR(num_nodes, num_edges, (0, idx), gp, rho)
                            for idx, gp in zip(idx_r, constrs_gps_r)]
            self.probs_d = [SubproblemD(num_nodes, num_edges, (1, idx), gp, rho)
                            for idx, gp in zip(idx_d, constrs_gps_d)]

        def get_solution_r(self):
            if self.probs_r:
                return np.vstack([prob.get_solution() for prob in self.probs_r])
            return np.empty((0, self.num_nodes))

        def get_solution_d(self):
            if self.probs_d:
                return np.array([prob.get_solution() for prob in self.probs_d])
            return np.empty((0, self.num_edges))

        def solve_r(self, param_values, *args, **kwargs):
            aug_lgr = 0
            for prob, param_value in zip(self.probs_r, param_values):
                aug_lgr += prob.solve(param_value, *args, **kwargs)
            return aug_lgr

        def solve_d(self, param_values, *args, **kwargs):
            aug_lgr = 0
            for prob, param_value in zip(self.probs_d, param_values):
                aug_lgr += prob.solve(param_value, *args, **kwargs)
            return aug_lgr

        def get_obj(self):
            return sum(prob.get_obj() for prob in self.probs_r + self.probs_d)

        def fix_r(self, param_values=None):
            if self.probs_r:
                return np.vstack([prob.fix(pv) for prob, pv in zip(self.probs_r, param_values)])
            return np.empty((0, self.num_nodes))

        def fix_d(self, param_values=None):
            if self.probs_d:
                return np.vstack([prob.fix(pv) for prob, pv in zip(self.probs_d, param_values)])
            return np.empty((0, self.num_edges))

        def get_fix_obj(self, param_values=None):
            return sum(prob.get_fix_obj() for prob in self.probs_d)

        def update_parameters(self, param_values):
            for prob, param_value in zip(self.probs_d, param_values):
                prob.demands.value = param_value

        def get_path_values(self):
            """(added) per demand subproblem: its source index, raw and fixed path rates."""
            return [(prob.id[1], np.asarray(prob.var.value, dtype=float),
                     np.asarray(getattr(prob, "var_fix", prob.var.value), dtype=float)) for prob in self.probs_d]

    return SubproblemsWrap


class ExampleDeDe:
    """dede_formulation.DeDeFormulation (TOTAL_FLOW) on plain arrays; build / iterate / fix split."""

    def __init__(self, inst, rho, num_cpus):
        import ray

        self.ray = ray
        self.inst, self.rho, self.num_cpus = inst, rho, num_cpus
        n = len(inst["nodes"])
        self.num_nodes, self.num_edges = n, len(inst["arcs"])
        np.random.seed(7)  # as DeDeFormulation.__init__
        # constraint groups, as DeDeFormulation.solve: one per arc (capacity) and per source node
        self.constrs_gps_r = [float(c) for c in inst["capacity"]]
        pair = {(int(s), int(d)): i for i, (s, d) in enumerate(zip(inst["demand_src"], inst["demand_dst"]))}
        assert len(pair) == len(inst["rate"]), "one demand per (src, dst) pair expected"
        paths_of = [[] for _ in inst["rate"]]
        for j, i in enumerate(inst["path_demand"]):
            paths_of[i].append(j)
        self.local_paths = []  # per source: global path index of each of its subproblem's variables
        self.constrs_gps_d = []
        for src in range(n):
            gp, mine = [[], [], []], []
            for dst in range(n):
                i = pair.get((src, dst))
                gp[0].append(dst)
                gp[1].append(0.0 if i is None else float(inst["rate"][i]))
                gp[2].append([] if i is None else [inst["paths"][j] for j in paths_of[i]])
                mine += [] if i is None else paths_of[i]
            self.constrs_gps_d.append(gp)
            self.local_paths.append(np.array(mine, dtype=np.int64))
        self.tm = self.matrix(inst["rate"])

    def matrix(self, rate):
        tm = np.zeros((self.num_nodes, self.num_nodes))
        tm[self.inst["demand_src"], self.inst["demand_dst"]] = rate
        return tm

    def start_ray(self):
        self.ray.shutdown()
        self.ray.init(num_cpus=self.num_cpus)

    def build(self):
        """get_subproblems + the initial demand solution (waits for the actors to be built)."""
        Wrap = _define_example()
        ray = self.ray
        constrs_gps_idx_r = np.arange(len(self.constrs_gps_r))
        constrs_gps_idx_d = np.arange(len(self.constrs_gps_d))
        np.random.shuffle(constrs_gps_idx_r)
        np.random.shuffle(constrs_gps_idx_d)
        self.param_idx_r, self.param_idx_d, self.probs = [], [], []
        for cpu in range(self.num_cpus):
            idx_r = constrs_gps_idx_r[cpu::self.num_cpus].tolist()
            idx_d = constrs_gps_idx_d[cpu::self.num_cpus].tolist()
            self.param_idx_r.append(idx_r)
            self.param_idx_d.append(idx_d)
            self.probs.append(Wrap.remote(self.num_nodes, self.num_edges, idx_r, idx_d,
                                          [self.constrs_gps_r[j] for j in idx_r],
                                          [self.constrs_gps_d[j] for j in idx_d], self.rho))
        self.param_idx_r_back = np.argsort(np.hstack(self.param_idx_r))
        self.param_idx_d_back = np.argsort(np.hstack(self.param_idx_d))
        self.sol_d = np.vstack(ray.get([p.get_solution_d.remote() for p in self.probs]))
        self.sol_d = self.sol_d[self.param_idx_d_back, :].T

    def set_demands(self, rate):
        """update_parameters (new traffic matrix; lambdas and iterates are kept)."""
        self.tm = self.matrix(rate)
        self.ray.get([p.update_parameters.remote(self.tm[idx]) for p, idx in zip(self.probs, self.param_idx_d)])

    def iterate(self):
        """One ADMM iteration of DeDeFormulation.solve (TOTAL_FLOW): resources, then demands."""
        ray = self.ray
        for prob, idx in zip(self.probs, self.param_idx_r):
            prob.solve_r.remote(self.sol_d[idx], enforce_dpp=True)
        self.sol_r = np.vstack(ray.get([p.get_solution_r.remote() for p in self.probs]))
        self.sol_r = self.sol_r[self.param_idx_r_back, :].T
        for prob, idx in zip(self.probs, self.param_idx_d):
            prob.solve_d.remote(self.sol_r[idx], enforce_dpp=True)
        self.sol_d = np.vstack(ray.get([p.get_solution_d.remote() for p in self.probs]))
        self.sol_d = self.sol_d[self.param_idx_d_back, :].T

    def fix(self, num_fix_iter=3):
        """The authors' constraint-violation fix; returns get_fix_obj()."""
        ray = self.ray
        self.fix_sol_d = self.sol_d
        for _ in range(num_fix_iter):
            self.fix_sol_r = np.vstack(ray.get([p.fix_r.remote(self.fix_sol_d[idx])
                                                for p, idx in zip(self.probs, self.param_idx_r)]))
            self.fix_sol_r = self.fix_sol_r[self.param_idx_r_back, :].T
            self.fix_sol_d = np.vstack(ray.get([p.fix_d.remote(self.fix_sol_r[idx])
                                                for p, idx in zip(self.probs, self.param_idx_d)]))
            self.fix_sol_d = self.fix_sol_d[self.param_idx_d_back, :].T
        return -sum(ray.get([p.get_fix_obj.remote() for p in self.probs]))

    def path_values(self):
        """(raw, fixed) path rates in the instance's path order."""
        raw, fixed = np.zeros(len(self.inst["paths"])), np.zeros(len(self.inst["paths"]))
        for part in self.ray.get([p.get_path_values.remote() for p in self.probs]):
            for src, r, f in part:
                raw[self.local_paths[src]] = r
                fixed[self.local_paths[src]] = f
        return raw, fixed

    def naive_obj(self):
        return -sum(self.ray.get([p.get_obj.remote() for p in self.probs]))


# =========================================================================== DeDe, the package's dd.Problem

class ApiDeDe:
    """dd.Problem(Maximize(sum x), resource_constraints, demand_constraints) with per-(arc, source) copies."""

    def __init__(self, inst, rho, num_cpus):
        self.inst, self.rho, self.num_cpus = inst, rho, num_cpus

    def model(self):
        import cvxpy as cp
        import dede as dd

        inst = self.inst
        n_paths = len(inst["paths"])
        src_of_path = inst["demand_src"][inst["path_demand"]]
        # z[(arc, source)]: the flow of one source on one arc; only pairs some path uses
        on_pair = {}
        for j, arcs in enumerate(inst["paths"]):
            for a in arcs:
                on_pair.setdefault((a, int(src_of_path[j])), []).append(j)
        pairs = sorted(on_pair)
        self.x = dd.Variable(n_paths, nonneg=True)
        self.z = dd.Variable(len(pairs), nonneg=True)
        per_arc = {}
        for i, (a, _) in enumerate(pairs):
            per_arc.setdefault(a, []).append(i)
        resource = [cp.sum(self.z[idx]) <= inst["capacity"][a] for a, idx in sorted(per_arc.items())]
        paths_of = {}
        for j, i in enumerate(inst["path_demand"]):
            paths_of.setdefault(int(i), []).append(j)
        demand = [cp.sum(self.x[idx]) <= inst["rate"][i] for i, idx in sorted(paths_of.items())]
        demand += [self.z[i] == cp.sum(self.x[on_pair[pair]]) for i, pair in enumerate(pairs)]
        self.sizes = {"z": len(pairs), "resource_constraints": len(resource), "demand_constraints": len(demand)}
        self.problem = dd.Problem(dd.Maximize(cp.sum(self.x)), resource, demand)
        self.sizes.update(resource_groups=len(self.problem.constrs_gps_r),
                          demand_groups=len(self.problem.constrs_gps_d))

    def solve(self, num_iter):
        """``num_iter`` more ADMM iterations (dede keeps its actors and duals between calls)."""
        with open(os.devnull, "w") as null, contextlib.redirect_stdout(null):  # dede prints every iteration
            return self.problem.solve(num_cpus=self.num_cpus, rho=self.rho, num_iter=num_iter)

    def path_values(self):
        """The demand side's path rates (x is local to the demand subproblems), via ray's __ray_call__."""
        import ray

        def grab(actor):
            return [(list(p.var_id_pos_list), np.asarray(p.var.value, dtype=float)) for p in actor.probs_d]

        x = np.zeros(self.x.size)
        for part in ray.get([a.__ray_call__.remote(grab) for a in self.problem._subprob_cache.probs]):
            for ids, values in part:
                for (var_id, pos), value in zip(ids, values):
                    if var_id == self.x.id:
                        x[pos] = value
        return x


def scale_to_feasible(inst, x, arc_path, dem_path):
    """Plain global repair of an ADMM iterate (api mode): demands first, then each path by its worst arc."""
    x = np.maximum(x, 0)
    served = dem_path @ x
    ratio = np.where(served > inst["rate"], inst["rate"] / np.maximum(served, 1e-300), 1.0)
    x = x * ratio[inst["path_demand"]]
    load = arc_path @ x
    over = np.maximum(load / inst["capacity"], 1.0)
    worst = np.ones(len(x))
    coo = arc_path.tocoo()
    np.maximum.at(worst, coo.col, over[coo.row])
    return x / worst


# =========================================================================== worker process

class Stop(Exception):
    pass


def checkpoints(max_iter):
    marks = {1, 2, 5, 10, 20, 50, 100, 200, 300, 500, 700, 1000, 1500, 2000, 3000, 5000, max_iter}
    return sorted(m for m in marks if m <= max_iter)


def worker(job_path):
    """Run one DeDe job (mode x protocol) on a pickled instance; write progress JSON as it goes."""
    job = pickle.loads(Path(job_path).read_bytes())
    inst, out = job["instance"], Path(job["out"])
    deadline = job["started"] + job["budget_s"]
    result = {"status": "running", "phase": "start", "checkpoints": []}

    def save():
        tmp = out.with_suffix(".tmp")
        tmp.write_text(json.dumps(result))
        tmp.replace(out)

    def on_term(signum, frame):
        raise Stop(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_term)
    arc_path, dem_path = incidence(inst)
    solver = None
    try:
        t0 = time.perf_counter()
        if job["mode"] == "example":
            solver = ExampleDeDe(inst, job["rho"], job["num_cpus"])
            result["subproblems"] = {"resource": len(solver.constrs_gps_r), "demand": len(solver.constrs_gps_d)}
            result["phase"] = "ray.init"
            save()
            solver.start_ray()
            t1 = time.perf_counter()
            result["ray_init_s"] = t1 - t0
            result["phase"] = "build"
            save()
            if job["protocol"] == "warm":
                solver.tm = solver.matrix(inst["rate_next"])
                for gp, row in zip(solver.constrs_gps_d, solver.tm):
                    gp[1] = list(row)
            solver.build()
            t2 = time.perf_counter()
            result["build_s"] = t2 - t1
            result["setup_s"] = t2 - t0
        else:
            if job.get("recursion_limit"):  # pickling dede 0.1.6's nested objective sums to the actors needs it
                sys.setrecursionlimit(job["recursion_limit"])
                result["recursion_limit"] = job["recursion_limit"]
            solver = ApiDeDe(inst, job["rho"], job["num_cpus"])
            result["phase"] = "dd.Problem"
            save()
            solver.model()
            t1 = time.perf_counter()
            result["model_s"] = t1 - t0
            result["subproblems"] = {"resource": solver.sizes["resource_groups"],
                                     "demand": solver.sizes["demand_groups"]}
            result["sizes"] = solver.sizes
            result["phase"] = "solve(num_iter=0): ray.init and the actors"
            save()
            solver.solve(0)
            result["actors_s"] = time.perf_counter() - t1  # ray.init + building the subproblem actors
            result["setup_s"] = time.perf_counter() - t0

        def evaluate(it, admm_s, phase):
            t = time.perf_counter()
            if job["mode"] == "example":
                fix_obj = solver.fix(job["fix_steps"])
                fix_s = time.perf_counter() - t
                raw, fixed = solver.path_values()
            else:
                raw = solver.path_values()
                fixed = scale_to_feasible(inst, raw, arc_path, dem_path)  # (api runs are cold: TM 0)
                fix_s = time.perf_counter() - t
                fix_obj = float(fixed.sum())
            rate = inst["rate_next"] if phase.startswith("warm-up") else inst["rate"]  # the TM being solved
            row = {"iter": it, "phase": phase, "admm_s": admm_s, "fix_s": fix_s, "fix_obj": float(fix_obj),
                   "raw": assess(inst, raw, arc_path, dem_path, rate),
                   "fixed": assess(inst, fixed, arc_path, dem_path, rate), "wall_s": time.time() - job["started"]}
            result["checkpoints"].append(row)
            save()
            return row

        def run(max_iter, phase, marks, until=None):
            until = deadline if until is None else until
            admm_s, it = 0.0, 0
            for mark in marks:
                if job["mode"] == "example":
                    while it < mark:
                        t = time.perf_counter()
                        solver.iterate()
                        admm_s += time.perf_counter() - t
                        it += 1
                        if it == 1 and "first_iter_s" not in result:
                            result["first_iter_s"] = admm_s
                        if time.time() > until:
                            break
                else:
                    while it < mark:  # dede continues from its cached actors and duals on every call
                        step = min(mark - it, 10)
                        t = time.perf_counter()
                        solver.solve(step)
                        admm_s += time.perf_counter() - t
                        if it == 0 and step == 1 and "first_iter_s" not in result:
                            result["first_iter_s"] = admm_s
                        it += step
                        if time.time() > until:
                            break
                result["phase"] = f"{phase}: iteration {it}"
                evaluate(it, admm_s, phase)
                if time.time() > until:
                    if until == deadline:
                        result["stopped"] = f"time budget ({job['budget_s']:.0f} s) reached at {phase} iteration {it}"
                    return it, admm_s
            return it, admm_s

        if job["protocol"] == "cold":
            it, admm_s = run(job["max_iter"], "cold", checkpoints(job["max_iter"]))
        else:  # the authors' benchmark: warm-up on another TM, then a few timed iterations on TM 0
            # the warm-up gets at most 3/4 of the time budget, the timed phase on TM 0 the rest
            warm_until = job["started"] + 0.75 * job["budget_s"]
            warm_it, warm_s = run(job["warmup_iter"], "warm-up on TM 1", [job["warmup_iter"]], warm_until)
            result["warmup"] = {"iters": warm_it, "admm_s": warm_s,
                                "cut_by_budget": warm_it < job["warmup_iter"]}
            if job["mode"] == "example":
                solver.set_demands(inst["rate"])
            else:
                raise RuntimeError("warm protocol is only implemented for the example mode")
            it, admm_s = run(job["warm_iter"], "TM 0 after warm-up", [m for m in (1, 2, 5, 10, 20, 50, 100)
                                                                       if m < job["warm_iter"]] + [job["warm_iter"]])
        result.update(status="budget" if "stopped" in result else "ok", iters=it, admm_s=admm_s, phase="done")
    except Stop as exc:
        result.update(status="timeout", error=str(exc))
    except Exception as exc:  # reported, not hidden: the parent prints it
        result.update(status="error", error=f"{type(exc).__name__}: {exc}", traceback=traceback.format_exc())
    finally:
        save()
        with contextlib.suppress(Exception):
            import ray

            ray.shutdown()


def run_job(inst, mode, protocol, args, tmpdir):
    """One worker process with a hard timeout (its process group is ended on expiry)."""
    stem = f"{inst['name']}-{mode}-{protocol}"
    out, log, job_path = (Path(tmpdir) / f"{stem}.{ext}" for ext in ("json", "log", "pkl"))
    started = time.time()
    job = {"instance": inst, "mode": mode, "protocol": protocol, "rho": args.rho, "num_cpus": args.num_cpus,
           "max_iter": args.max_iter, "warmup_iter": args.warmup_iter, "warm_iter": args.warm_iter,
           "fix_steps": args.fix_steps, "out": str(out), "started": started,
           "recursion_limit": args.api_recursion_limit,
           "budget_s": max(args.timeout - max(30.0, 0.1 * args.timeout), 0.5 * args.timeout)}
    job_path.write_bytes(pickle.dumps(job))
    env = dict(os.environ, RAY_DEDUP_LOGS="0", PYTHONUNBUFFERED="1")
    with open(log, "w") as fh:
        proc = subprocess.Popen([sys.executable, __file__, "--worker", str(job_path)], stdout=fh,
                                stderr=subprocess.STDOUT, start_new_session=True, env=env)
        killed = False
        try:
            proc.wait(timeout=args.timeout)
        except subprocess.TimeoutExpired:
            killed = True
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        with contextlib.suppress(ProcessLookupError):  # leftovers of ray in the worker's group, if any
            os.killpg(proc.pid, signal.SIGKILL)
    result = json.loads(out.read_text()) if out.exists() else {"status": "error", "checkpoints": []}
    if killed:
        result["status"] = "timeout"
        result["error"] = f"killed after {args.timeout:.0f} s (phase: {result.get('phase')})"
    elif proc.returncode and result.get("status") in (None, "running"):
        result.update(status="error", error=f"worker exited with code {proc.returncode}")
    result.update(mode=mode, protocol=protocol, wall_s=time.time() - started, log=str(log), rho=args.rho,
                  num_cpus=args.num_cpus)
    return result


# =========================================================================== reporting

def summarize(run, exact):
    """Adds quality figures against the exact path-LP optimum to one run."""
    opt = exact["value"]
    for row in run["checkpoints"]:
        row["quality"] = row["fix_obj"] / opt if opt > 0 else float("nan")
        row["raw_quality"] = row["raw"]["total"] / opt if opt > 0 else float("nan")
    rows = [r for r in run["checkpoints"] if r["phase"] != "warm-up on TM 1"]
    if rows:
        last = rows[-1]
        run["final"] = last
        run["quality"] = last["quality"]
        for target in (0.9, 0.99, 0.999):
            hit = next((r for r in rows if r["quality"] >= target), None)
            run[f"iters_to_{target:g}"] = hit["iter"] if hit else None
            run[f"s_to_{target:g}"] = hit["admm_s"] + hit["fix_s"] if hit else None
        for mark in (10, 100):
            hit = next((r for r in rows if r["iter"] == mark), None)
            run[f"quality_at_{mark}"] = hit["quality"] if hit else None
    return run


def fmt(value, spec, dash="-"):
    return dash if value is None or (isinstance(value, float) and math.isnan(value)) else format(value, spec)


def row_cells(entry, run):
    final = run.get("final")
    sub = run.get("subproblems", {})
    it = final["iter"] if final else None
    solve = final["admm_s"] + final["fix_s"] if final else None
    status = run["status"]
    if run.get("warmup"):
        status += f" (warm-up {run['warmup']['iters']} it, {run['warmup']['admm_s']:.0f} s)"
    return [entry["instance"], f"{run['mode']}/{run['protocol']}", entry["demands"], entry["paths"],
            f"{sub.get('resource', '-')}/{sub.get('demand', '-')}",
            fmt(run.get("ray_init_s"), ".1f"), fmt(run.get("setup_s"), ".1f"), fmt(it, "d"), fmt(solve, ".1f"),
            fmt(final["admm_s"] / it if final and it else None, ".3f"),
            fmt(final["fix_obj"] if final else None, ".6g"), fmt(run.get("quality"), ".4f"),
            fmt(final["raw"]["max_overload"] if final else None, ".2e"),
            fmt(final["raw"]["excess"] if final else None, ".2e"),
            fmt(final["fixed"]["max_overload"] if final else None, ".1e"), status]


HEADER = ("instance", "mode/protocol", "demands", "paths", "R/D sub", "ray s", "build s", "iters", "solve s",
          "s/iter", "DeDe total", "DeDe/exact", "raw over", "raw excess", "fix over", "status")


def convergence_cells(entry, run):
    rows = [r for r in run["checkpoints"] if not r["phase"].startswith("warm-up")]
    at = {r["iter"]: r["quality"] for r in rows}

    def reach(target):
        it, sec = run.get(f"iters_to_{target:g}"), run.get(f"s_to_{target:g}")
        return "-" if it is None else f"{it} ({sec:.1f} s)"

    return [entry["instance"], f"{run['mode']}/{run['protocol']}", fmt(at.get(1), ".3f"), fmt(at.get(10), ".3f"),
            fmt(at.get(100), ".3f"), fmt(at.get(1000), ".4f"), reach(0.9), reach(0.99), reach(0.999),
            f"{entry['exact']['s']:.2f}"]


CONV_HEADER = ("instance", "mode/protocol", "q@1", "q@10", "q@100", "q@1000", "to 90%: it (s)", "to 99%: it (s)",
               "to 99.9%: it (s)", "exact s")


def print_table(header, rows):
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows)]
    line = lambda cells: " | ".join(str(c).rjust(w) for c, w in zip(cells, widths))  # noqa: E731
    print(line(header))
    print(line(["-" * w for w in widths]))
    for r in rows:
        print(line(r))


def report(results):
    """The two summary tables of a run (also ``--report FILE`` on a saved JSON)."""
    runs = [(e, r) for e in results for r in e["runs"]]
    print("\nDeDe total, DeDe/exact: the authors' fixed (feasible) allocation against the exact path LP; build s: "
          "everything before ADMM iteration 1 (ray s: ray.init alone); solve s: the ADMM iterations and the final fix; "
          "raw over: largest relative arc overload of the ADMM iterate itself; raw excess: its rate above the "
          "requests over the total request; fix over: overload after the fix")
    print_table(HEADER, [row_cells(e, r) for e, r in runs])
    print("\nConvergence: q@N = DeDe/exact (fixed allocation) after N ADMM iterations; to X%: first checkpoint "
          "(1, 2, 5, 10, 20, 50, 100, 200, 300, 500, 700, 1000, and the last iteration) at or above X% of the "
          "exact optimum, with the ADMM + fix seconds to it; exact s: cvxpy + HiGHS on the same path LP")
    print_table(CONV_HEADER, [convergence_cells(e, r) for e, r in runs])


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--instances", default=",".join(DEFAULT), help=f"comma-separated, from {','.join(ALL)}")
    p.add_argument("--modes", default="example,api", help="example (the authors' TE code), api (dd.Problem)")
    p.add_argument("--protocols", default="cold,warm", help="cold, warm (authors' warm-up protocol; example mode)")
    p.add_argument("--api-instances", default="b4,abilene,geant2012,uninett2011",
                   help="instances the api mode is tried on (it compiles one cvxpy problem per constraint)")
    p.add_argument("--api-recursion-limit", type=int, default=0, metavar="N",
                   help="api mode: sys.setrecursionlimit(N) first (0: Python's default). dede 0.1.6 sums each "
                        "group's objective term by term, and ray cannot pickle the deep sums of large groups")
    p.add_argument("--k", type=int, default=4, help="candidate paths per demand")
    p.add_argument("--num-cpus", type=int, default=2)
    p.add_argument("--rho", type=float, default=0.01,
                   help="ADMM rho; 0.01 is the authors' README command for TE total_flow (their script default: 0.05)")
    p.add_argument("--max-iter", type=int, default=1000, help="ADMM iterations of the cold protocol")
    p.add_argument("--warmup-iter", type=int, default=1000, help="warm protocol: iterations on TM 1")
    p.add_argument("--warm-iter", type=int, default=10, help="warm protocol: timed iterations on TM 0")
    p.add_argument("--fix-steps", type=int, default=3, help="authors' violation-fix steps (default 3)")
    p.add_argument("--timeout", type=float, default=600.0, help="hard limit per DeDe run, seconds")
    p.add_argument("--skip-edge", action="store_true", help="skip the edge-formulation optimum")
    p.add_argument("--json", default=str(ROOT / "docs" / "dede-results.json"), help="output ('' for none)")
    p.add_argument("--merge", action="store_true",
                   help="keep the other instances and runs already in --json (replace only what this run redoes)")
    p.add_argument("--report", metavar="JSON", help="only print the tables of a saved results file")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        return worker(args.worker)
    if args.report:
        saved = json.loads(Path(args.report).read_text())
        meta = saved["meta"]
        print(f"{args.report}: run {meta['date']}, {meta['cpus']} CPUs, load average {meta['load_avg_start'][0]:.2f} "
              f"at start, rho {meta['args']['rho']}, num_cpus {meta['args']['num_cpus']}, "
              f"timeout {meta['args']['timeout']:.0f} s")
        report(saved["instances"])
        return 0

    import cvxpy

    names = [n.strip() for n in args.instances.split(",") if n.strip()]
    unknown = [n for n in names if n not in ALL]
    if unknown:
        p.error(f"unknown instance(s) {unknown}; choose from {ALL}")
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    protocols = [m.strip() for m in args.protocols.split(",") if m.strip()]
    api_ok = {n.strip() for n in args.api_instances.split(",")}
    versions = {}
    for pkg in ("dede", "cvxpy", "numpy", "scipy", "ray", "networkx", "osqp"):
        with contextlib.suppress(Exception):
            from importlib.metadata import version

            versions[pkg] = version(pkg)
    meta = {"date": time.strftime("%Y-%m-%d %H:%M:%S"), "host": platform.node(), "cpus": os.cpu_count(),
            "load_avg_start": os.getloadavg(), "python": platform.python_version(), "versions": versions,
            "args": {k: v for k, v in vars(args).items() if k != "worker"}}
    print(f"DeDe TE benchmark: {meta['date']}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}, "
          f"rho {args.rho}, num_cpus {args.num_cpus}, timeout {args.timeout:.0f} s; " +
          ", ".join(f"{k} {v}" for k, v in versions.items()))
    print(f"cvxpy solvers: {', '.join(cvxpy.installed_solvers())}")
    tmpdir = tempfile.mkdtemp(prefix="dede_te_")
    print(f"worker logs: {tmpdir}")
    results, saved_meta, saved = [], None, []
    if args.merge and args.json and Path(args.json).exists():
        old = json.loads(Path(args.json).read_text())
        saved_meta, saved = old["meta"], old["instances"]

    def write():
        """Write the JSON (with --merge: the saved file with this run's (mode, protocol) runs replaced)."""
        merged = [dict(e) for e in saved]
        for entry in results:
            old = next((e for e in merged if e["instance"] == entry["instance"]), None)
            if old is None:
                merged.append(entry)
                continue
            keys = {(r["mode"], r["protocol"]) for r in entry["runs"]}
            runs = [r for r in old["runs"] if (r["mode"], r["protocol"]) not in keys] + entry["runs"]
            old.update({k: v for k, v in entry.items() if k != "runs" and v is not None}, runs=runs)
        head = meta if saved_meta is None else dict(saved_meta, merged=saved_meta.get("merged", []) + [meta])
        if args.json:
            Path(args.json).write_text(json.dumps({"meta": head, "instances": merged}, indent=1) + "\n")
        return merged

    for name in names:
        inst = build_instance(name, args.k)
        exact = exact_path_lp(inst)
        edge = None if args.skip_edge else edge_lp(inst)
        n_arcs = len(inst["arcs"])
        print(f"\n## {name}: {len(inst['nodes'])} nodes, {n_arcs} arcs, {len(inst['rate'])} demands, "
              f"{len(inst['paths'])} paths (k={args.k}; {inst['paths_s']:.1f} s), {inst['description']}; "
              f"rates in {inst['unit_name']}")
        print(f"exact path LP (cvxpy+HiGHS): {exact['value']:.8g} {inst['unit_name']} in {exact['s']:.2f} s "
              f"(cvxpy compile {exact['cvxpy_compile_s']:.2f} s, HiGHS {exact['solver_s']:.2f} s; "
              f"total request {inst['rate'].sum():.8g})" +
              ("" if edge is None else f"; edge formulation {edge['value']:.8g} "
               f"(path/edge {exact['value'] / edge['value']:.6f}, {edge['s']:.2f} s)"), flush=True)
        entry = {"instance": name, "description": inst["description"], "unit": inst["unit_name"],
                 "nodes": len(inst["nodes"]), "arcs": n_arcs, "demands": len(inst["rate"]),
                 "paths": len(inst["paths"]), "k": args.k, "paths_s": inst["paths_s"],
                 "total_request": float(inst["rate"].sum()), "exact": exact, "edge": edge, "runs": []}
        for mode in modes:
            for protocol in protocols:
                if mode == "api" and (protocol != "cold" or name not in api_ok):
                    continue
                t = time.time()
                print(f"  running DeDe {mode}/{protocol} (timeout {args.timeout:.0f} s) ...", flush=True)
                run = summarize(run_job(inst, mode, protocol, args, tmpdir), exact)
                final = run.get("final")
                print(f"  {mode}/{protocol}: {run['status']} in {time.time() - t:.0f} s"
                      + (f", {final['iter']} iterations, DeDe/exact {run['quality']:.4f}" if final else "")
                      + (f" [{run.get('error') or run.get('stopped')}]"
                         if run.get("error") or run.get("stopped") else ""),
                      flush=True)
                if run["status"] == "error" and run.get("traceback"):
                    print("    " + run["traceback"].strip().splitlines()[-1])
                entry["runs"].append(run)
        results.append(entry)
        write()
    meta["load_avg_end"] = os.getloadavg()
    report(write())
    if args.json:
        print(f"wrote {args.json}" + (" (merged)" if saved_meta is not None else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
