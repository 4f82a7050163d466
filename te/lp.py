"""Path-formulation linear programs: ``max-throughput``, ``min-mlu`` and exact ``max-min``.

Every model is built as sparse matrices from the index arrays of :class:`te.paths.Candidates`
(no per-variable Python objects) and solved with ``scipy.optimize.linprog(method="highs")``.
Building and solving are separate calls (:func:`build_model`, :meth:`PathModel.solve`) so that
callers can time them; nothing here reads a clock.

Rates are divided by the largest capacity before solving (HiGHS works best near 1) and
multiplied back afterwards. The solver's feasibility tolerance (about 1e-7 of the largest
capacity) is then removed by :func:`repair`, so the returned rates respect every capacity and
request to floating-point precision.

Exact weighted max-min fairness (``max-min``)
---------------------------------------------
The water-level sequence of Danna et al. (INFOCOM 2012) and SWAN, with requests as caps and
strict priority classes (highest first; lower classes get zero until higher ones are frozen).
Within a class, with the unfrozen demands ``S`` at cap levels ``L_i = r_i / w_i``:

1. Let ``T`` be a known lower bound of the next water level (the previous level at first).
   Demands with ``L_i <= T`` are capped for sure: hold them at their request; every other
   demand must get ``w_i * t`` with no cap; maximise ``t``. That relaxation asks more of
   the uncapped demands than max-min does, so its ``t`` is again a lower bound: if some
   uncapped demand has ``L_i <= t``, set ``T = t`` and repeat. Each round caps at least one
   more demand and usually jumps over many cap levels at once.
2. When no uncapped demand has ``L_i <= t``, ``t`` is the exact level. ``t`` has no upper
   bound in this LP, so the duals ``y_i >= 0`` of the rows ``sum_p x_ip >= w_i t``
   satisfy ``sum w_i y_i = 1``. By complementary
   slackness a demand with ``y_i > 0`` is tight in *every* optimum: it cannot grow
   without another dropping below ``t*``. Those demands, and the capped ones, are frozen
   (a lower bound ``(1 - 1e-7)`` below their value absorbs solver tolerance); every
   answer freezes at least one demand.
3. Repeat until the class is frozen, then move to the next class.
4. The level LPs leave frozen demands anywhere above their value; a final max-throughput
   LP, each demand capped at its max-min value, places them exactly there on the
   shortest paths.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog

from te.errors import InvalidInput, SolverError
from te.paths import Candidates, _ranges, solution_from_rates

__all__ = ["LP_OBJECTIVES", "PathModel", "build_model", "repair", "edge_optimum"]

LP_OBJECTIVES = ("max-throughput", "min-mlu", "max-min")

# Per hop, the max-throughput objective discounts a unit of rate by at most this much (SWAN's
# latency term): small enough never to trade throughput for shorter paths in practice.
_HOP_PENALTY = 1e-4
_FREEZE_SLACK = 1e-9
_DUAL_TOL = 1e-9
_LEVEL_RTOL = 1e-9


def _demand_path(cands: Candidates) -> sp.csr_matrix:
    """``demands x paths`` 0/1 matrix; paths are grouped by demand, so it is CSR by construction."""
    n_paths = len(cands.paths)
    return sp.csr_matrix((np.ones(n_paths), np.arange(n_paths), cands.path_ptr),
                         shape=(len(cands.demands), n_paths))


def _throughput_cost(cands):
    """Cost vector of "maximise total rate, then prefer fewer hops" (minimised)."""
    return -1.0 + _HOP_PENALTY * cands.path_hops / max(cands.path_hops.max(initial=1.0), 1.0)


def _linprog(c, A_ub=None, b_ub=None, A_eq=None, b_eq=None, bounds=None):
    return linprog(c, A_ub=A_ub, b_ub=b_ub, A_eq=A_eq, b_eq=b_eq, bounds=bounds, method="highs")


def _check(res, what):
    if res.status != 0:
        raise SolverError(f"{what}: HiGHS stopped without an optimum: {res.message}")


@dataclass(eq=False)
class PathModel:
    """A path-formulation LP, built and ready to solve.

    Use :func:`build_model` to create one; :meth:`solve` returns a :class:`te.model.Solution`.
    """

    objective: str
    cands: Candidates
    scale: float
    arc_path: sp.csr_matrix
    demand_path: sp.csr_matrix
    rates: np.ndarray  # scaled requests
    capacity: np.ndarray  # scaled capacities
    c: np.ndarray | None = None
    A_ub: sp.csr_matrix | None = None
    b_ub: np.ndarray | None = None
    A_eq: sp.csr_matrix | None = None
    b_eq: np.ndarray | None = None

    @property
    def size(self) -> dict:
        """Variables and constraints of one LP of this model."""
        rows = sum(0 if a is None else a.shape[0] for a in (self.A_ub, self.A_eq))
        extra = {"max-throughput": 0, "min-mlu": 1, "max-min": 1}[self.objective]
        return {"variables": len(self.cands.paths) + extra, "constraints": rows}

    def solve(self):
        """Solve and return a :class:`te.model.Solution` (rates in bit/s).

        Raises
        ------
        te.errors.SolverError
            HiGHS did not reach an optimum.
        """
        if not len(self.cands.paths):
            return solution_from_rates(self.cands, self.objective, "optimal", np.zeros(0), 0.0, {"lps": 0, **self.size})
        elif self.objective == "max-min":
            x, value, lps = _solve_max_min(self)
        elif self.objective == "max-throughput":
            x, lps = _solve_max_throughput(self)
            value = float(x.sum()) * self.scale
        else:
            res = _linprog(self.c, self.A_ub, self.b_ub, self.A_eq, self.b_eq, (0, None))
            _check(res, self.objective)
            lps = 1
            x = res.x[:-1]
            value = res.x[-1]
        rates = repair(self.cands, x * self.scale, full=self.objective == "min-mlu")
        if self.objective != "min-mlu":
            value = float(rates.sum())
        return solution_from_rates(self.cands, self.objective, "optimal", rates, value, {"lps": lps, **self.size})


def build_model(cands: Candidates, objective: str) -> PathModel:
    """Build the sparse LP of ``objective`` over the candidate paths.

    Parameters
    ----------
    cands : te.paths.Candidates
    objective : {"max-throughput", "min-mlu", "max-min"}
        ``max-throughput``: maximise total rate, each demand at most its request, shorter
        paths preferred among optima. ``min-mlu``: route every demand in full, minimise the
        maximum link utilisation. ``max-min``: exact weighted max-min fair allocation with
        priority classes (see the module notes).

    Returns
    -------
    PathModel

    Examples
    --------
    >>> import networkx as nx
    >>> from te.model import Demand
    >>> from te.paths import candidate_paths
    >>> g = nx.DiGraph()
    >>> for u, v, cap in [("a", "b", 10.0), ("b", "c", 10.0), ("a", "c", 5.0)]:
    ...     g.add_edge(u, v, capacity=cap, weight=1.0)
    >>> cands = candidate_paths(g, [Demand("x", "a", "c", 12.0)], k=2)
    >>> sol = build_model(cands, "max-throughput").solve()
    >>> [(path, round(rate, 9)) for path, rate in sol.routes(0)]
    [(('a', 'c'), 5.0), (('a', 'b', 'c'), 7.0)]
    >>> round(build_model(cands, "min-mlu").solve().max_link_utilization, 6)
    0.8
    """
    if objective not in LP_OBJECTIVES:
        raise InvalidInput(f"unknown LP objective {objective!r} (expected one of {', '.join(LP_OBJECTIVES)})")
    rates_bps = np.array([d.rate_bps for d in cands.demands], dtype=float)
    scale = float(cands.capacity_bps.max()) if len(cands.arcs) else 1.0
    model = PathModel(objective, cands, scale, cands.path_arc.T.tocsr(), _demand_path(cands),
                      rates_bps / scale, cands.capacity_bps / scale)
    n_paths = len(cands.paths)
    if objective == "max-throughput":
        model.c = _throughput_cost(cands)
        model.A_ub = sp.vstack([model.arc_path, model.demand_path], format="csr")
        model.b_ub = np.concatenate([model.capacity, model.rates])
    elif objective == "min-mlu":
        model.c = np.zeros(n_paths + 1)
        model.c[-1] = 1.0
        mlu_column = sp.csr_matrix(-model.capacity[:, None])
        model.A_ub = sp.hstack([model.arc_path, mlu_column], format="csr")
        model.b_ub = np.zeros(len(cands.arcs))
        model.A_eq = sp.hstack([model.demand_path, sp.csr_matrix((len(cands.demands), 1))], format="csr")
        model.b_eq = model.rates
    else:
        # level LPs: arcs (<= capacity), demands (-sum x + w t <= -floor), plus the t column;
        # the final placement: arcs, demands (<= max-min value)
        model.A_ub = sp.vstack([model.arc_path, model.demand_path], format="csr")
        model.A_eq = None
    return model


def repair(cands: Candidates, rates_bps, full=False) -> np.ndarray:
    """Remove solver tolerance from path rates: non-negative, within requests and capacities.

    With ``full=True`` (``min-mlu``) each demand's rates are rescaled to sum exactly to its
    request and capacities are left alone (utilisation may exceed 1 by design). Otherwise
    each demand is scaled down to its request, then each path by the worst overload factor
    among its arcs, which can only lower loads.

    Examples
    --------
    >>> import networkx as nx
    >>> from te.model import Demand
    >>> g = nx.DiGraph()
    >>> g.add_edge("a", "b", capacity=10.0, weight=1.0)
    >>> c = Candidates.from_paths(g, [Demand("d", "a", "b", 20.0)], [[("a", "b")]])
    >>> repair(c, np.array([10.000001])), repair(c, np.array([19.0]), full=True)
    (array([10.]), array([20.]))
    """
    x = np.maximum(np.asarray(rates_bps, dtype=float), 0.0)
    requested = np.array([d.rate_bps for d in cands.demands], dtype=float)
    counts = np.diff(cands.path_ptr)
    allocated = np.zeros(len(requested))
    np.add.at(allocated, cands.path_demand, x)
    if full:
        with np.errstate(divide="ignore", invalid="ignore"):
            factor = np.where(allocated > 0, requested / allocated, 0.0)
        x = x * np.repeat(factor, counts)
        # a demand the solver left (numerically) empty goes on its first path
        empty = np.flatnonzero((allocated <= 0) & (requested > 0))
        x[cands.path_ptr[empty]] = requested[empty]
        return x
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(allocated > requested, requested / allocated, 1.0)
    x = x * np.repeat(factor, counts)
    load = cands.path_arc.T @ x
    with np.errstate(divide="ignore", invalid="ignore"):
        arc_factor = np.where(load > cands.capacity_bps, cands.capacity_bps / load, 1.0)
    if np.any(arc_factor < 1.0):
        # min over each path's arcs of the arc factor, via the CSR rows of path_arc
        pa = cands.path_arc
        per_entry = arc_factor[pa.indices]
        path_factor = np.ones(len(x))
        nonempty = np.diff(pa.indptr) > 0
        path_factor[nonempty] = np.minimum.reduceat(per_entry, pa.indptr[:-1][nonempty])
        x = x * path_factor
    return x


def _cheapest_path(cands: Candidates, cost) -> np.ndarray:
    """Index of each demand's cheapest path (ties: first listed); every demand has a path."""
    order = np.lexsort((np.arange(len(cost)), cost, cands.path_demand))
    return order[cands.path_ptr[:-1]]


def _solve_max_throughput(model: PathModel):
    """Max-throughput by demand generation and aggregation; returns (scaled path rates, LPs solved).

    The full LP has a row per demand, and on large instances most demands never meet a
    full link. So:

    1. Route every demand in full on its cheapest path. Demands crossing an overloaded link
       become *free*; the others stay *fixed* and their load is taken off the capacities.
    2. Only a set ``R`` of links (at first, the overloaded ones) gets a capacity row. Free
       demands whose paths have the same costs and cross the same links of ``R`` are
       interchangeable in that LP: they are merged into one commodity (their requests
       added) and the solution is split back in proportion to requests. If a link outside
       ``R`` ends up overloaded it joins ``R`` and the LP is solved again.
    3. The link duals ``mu`` price the fixed demands: a fixed demand is optimal iff its path
       has the least reduced cost ``c_p + mu(p)`` among its candidates and that cost is
       <= 0 (then ``lambda_i >= 0`` completes a dual solution). Violators are freed and the
       LP re-solved; when none is left, the rates and ``(mu, lambda)`` satisfy the
       optimality conditions of the full LP.
    """
    cands, cost = model.cands, model.c
    n_arcs, n_paths = len(cands.arcs), len(cands.paths)
    counts = np.diff(cands.path_ptr)
    rates = model.rates
    path_arc = cands.path_arc
    fixed_path = _cheapest_path(cands, cost)
    load = path_arc[fixed_path].T @ rates
    rows = load > model.capacity * (1 + 1e-12)  # R: links with a capacity row
    free = (path_arc[fixed_path] @ rows.astype(float) > 0) & (rates > 0)
    x = np.zeros(n_paths)
    lps = 0
    while True:
        fixed = ~free
        x[:] = 0.0
        x[fixed_path[fixed]] = rates[fixed]
        fixed_load = path_arc.T @ x
        free_ids = np.flatnonzero(free)
        mu = np.zeros(n_arcs)
        while len(free_ids):
            cols, groups, group_ptr, members = _merge_free(cands, cost, free_ids, counts, rows)
            lead_cols = cols[groups]  # paths of each group's first member
            n_sub = len(lead_cols)
            group_rate = np.zeros(len(group_ptr) - 1)
            np.add.at(group_rate, members, rates[free_ids])
            arc_ids = np.flatnonzero(rows)
            A_arc = path_arc[lead_cols][:, arc_ids].T.tocsr()
            demand_rows = sp.csr_matrix((np.ones(n_sub), np.arange(n_sub), group_ptr), shape=(len(group_rate), n_sub))
            A = sp.vstack([A_arc, demand_rows], format="csr")
            b = np.concatenate([np.maximum(model.capacity[arc_ids] - fixed_load[arc_ids], 0.0), group_rate])
            res = _linprog(cost[lead_cols], A, b, bounds=(0, None))
            lps += 1
            _check(res, "max-throughput")
            with np.errstate(divide="ignore", invalid="ignore"):
                share = np.where(group_rate[np.repeat(np.arange(len(group_rate)), np.diff(group_ptr))] > 0,
                                 res.x / group_rate[np.repeat(np.arange(len(group_rate)), np.diff(group_ptr))], 0.0)
            # each free demand takes its group's split, scaled by its own request
            slot = np.arange(len(cols)) - np.repeat(np.cumsum(np.r_[0, counts[free_ids]])[:-1], counts[free_ids])
            x[cols] = share[group_ptr[members][np.repeat(np.arange(len(free_ids)), counts[free_ids])] + slot] * \
                np.repeat(rates[free_ids], counts[free_ids])
            mu = np.zeros(n_arcs)
            mu[arc_ids] = -res.ineqlin.marginals[:len(arc_ids)]
            overloaded = (path_arc.T @ x > model.capacity * (1 + 1e-9)) & ~rows
            if not overloaded.any():
                break
            rows |= overloaded
        reduced = cost + path_arc @ mu
        best = np.minimum.reduceat(reduced, cands.path_ptr[:-1]) if n_paths else reduced
        mine = reduced[fixed_path]
        bad = fixed & (rates > 0) & ((mine > best + 1e-9) | (mine > 1e-9))
        if not bad.any():
            return x, max(lps, 1)
        free |= bad


def _merge_free(cands, cost, free_ids, counts, rows):
    """Group free demands whose candidate paths match in cost and in the row links they cross.

    Returns ``cols`` (path indices of the free demands, grouped by demand), ``groups``
    (positions in ``cols`` of the paths of each group's first demand, its *leader*),
    ``group_ptr`` (offsets of each group's paths in ``groups``) and ``members`` (group of
    each free demand).
    """
    sub_counts = counts[free_ids]
    sub_ptr = np.r_[0, np.cumsum(sub_counts)]
    cols = np.repeat(cands.path_ptr[free_ids] - sub_ptr[:-1], sub_counts) + np.arange(sub_ptr[-1])
    # Signature of the row links each path crosses. Ranking the 0/1 rows of a dense
    # paths x row-links array would take gigabytes on large instances; the same ranking comes
    # from each path's sorted crossed-link positions j, padded with 0 and stored as n - j
    # (a 1 in an earlier column, or one more crossed link, makes a row larger).
    row_ids = np.flatnonzero(rows)
    crossing = cands.path_arc[cols][:, row_ids].tocsr()
    crossing.sort_indices()
    per_path = np.diff(crossing.indptr)
    wide = max(int(per_path.max(initial=0)), 1)
    padded = np.zeros((len(cols), wide), dtype=np.int32 if len(row_ids) < 2 ** 31 else np.int64)
    if crossing.nnz:
        at = np.arange(crossing.nnz) - np.repeat(crossing.indptr[:-1], per_path)
        padded[np.repeat(np.arange(len(cols)), per_path), at] = len(row_ids) - crossing.indices
    del crossing
    _, signature = np.unique(padded, axis=0, return_inverse=True)
    del padded
    _, cost_id = np.unique(np.round(cost[cols], 12), return_inverse=True)
    width = int(sub_counts.max())
    key = np.full((len(free_ids), 2 * width + 1), -1, dtype=np.int64)
    key[:, 0] = sub_counts
    slot = np.arange(len(cols)) - np.repeat(sub_ptr[:-1], sub_counts)
    owner = np.repeat(np.arange(len(free_ids)), sub_counts)
    key[owner, 1 + 2 * slot] = signature.ravel()
    key[owner, 2 + 2 * slot] = cost_id.ravel()
    _, first, members = np.unique(key, axis=0, return_index=True, return_inverse=True)
    members = members.ravel()
    lead = first  # the first free demand of each group
    lead_counts = sub_counts[lead]
    groups = _ranges(sub_ptr[lead], lead_counts)
    group_ptr = np.r_[0, np.cumsum(lead_counts)]
    return cols, groups, group_ptr, members


def _solve_max_min(model: PathModel):
    """Run the water-level sequence; returns (scaled path rates, final level, LPs solved)."""
    cands = model.cands
    n_dem, n_paths = len(cands.demands), len(cands.paths)
    n_arcs = len(cands.arcs)
    weights = np.array([d.weight for d in cands.demands], dtype=float)
    priority = np.array([d.priority for d in cands.demands], dtype=np.int64)
    rates = model.rates
    cap_level = rates / weights
    floor = np.zeros(n_dem)  # scaled lower bound of frozen demands
    value = np.zeros(n_dem)  # scaled max-min rate of frozen demands
    frozen = rates <= 0
    lower_rows = np.arange(n_arcs, n_arcs + n_dem)
    # Requests need no rows here: a growing demand's level w t stays below its request
    # (t <= the next cap level) and any excess can be dropped without lowering t.
    A_level = sp.vstack([model.arc_path, -model.demand_path], format="csr")
    A_fit = sp.vstack([model.arc_path, model.demand_path, -model.demand_path], format="csr")
    unbounded = float(model.capacity.sum()) + 1.0  # linprog wants finite right-hand sides
    placed = None
    lps = 0
    x = np.zeros(n_paths)
    served = np.zeros(n_dem, dtype=bool)  # demands of classes already reached
    for level_class in sorted(set(priority.tolist()), reverse=True):
        served |= priority == level_class
        path_ub = np.where(served[cands.path_demand], np.inf, 0.0)
        bounds = np.column_stack([np.zeros(n_paths + 1), np.append(path_ub, np.inf)])
        t_prev = 0.0
        # Cheap common case first: if the whole class fits, max-min gives everyone its request.
        members = served & ~frozen
        if served.all() and not frozen.any():
            # a single class: the max-throughput LP (demand generation, fast) decides
            fit_x, fit_lps = _solve_max_throughput(PathModel("max-throughput", cands, model.scale, model.arc_path,
                                                             model.demand_path, rates, model.capacity,
                                                             c=_throughput_cost(cands)))
        else:
            fit_cost = np.where(members[cands.path_demand], _throughput_cost(cands), 0.0)
            res = _linprog(fit_cost, A_fit, np.concatenate([model.capacity, np.where(members, rates, unbounded), -floor]),
                           bounds=bounds[:-1])
            _check(res, "max-min")
            fit_x, fit_lps = res.x, 1
        lps += fit_lps
        if np.all(model.demand_path @ fit_x >= rates * (1 - _FREEZE_SLACK), where=members):
            value[members] = rates[members]
            floor[members] = rates[members] * (1 - _FREEZE_SLACK)
            frozen |= members
            placed = fit_x if served.all() else None
            continue
        placed = None
        while True:
            active = served & ~frozen
            if not active.any():
                break
            # Demands whose cap level is at most a proven lower bound of the water level are
            # capped for sure; hold them at their request, let the rest grow without caps, and
            # repeat with the new (higher) bound until no further cap falls below it.
            known = t_prev
            while True:
                capped = active & (cap_level <= known)
                growing = active & ~capped
                lower = np.where(capped, rates, floor)
                t_col = sp.csr_matrix((weights[growing], (lower_rows[growing], np.zeros(growing.sum(), dtype=int))),
                                      shape=(n_arcs + n_dem, 1))
                bounds[-1] = (t_prev, np.inf if growing.any() else t_prev)
                c = np.zeros(n_paths + 1)
                c[-1] = -1.0
                res = _linprog(c, sp.hstack([A_level, t_col], format="csr"), np.concatenate([model.capacity, -lower]),
                               bounds=bounds)
                lps += 1
                _check(res, "max-min")
                t = res.x[-1]
                if not (growing & (cap_level <= t * (1 + _LEVEL_RTOL))).any():
                    break
                known = t * (1 + _LEVEL_RTOL)
            duals = -res.ineqlin.marginals[lower_rows]
            stuck = growing & (duals > _DUAL_TOL)
            if growing.any() and not stuck.any():
                stuck[np.flatnonzero(growing)[np.argmax(duals[growing])]] = True
            value[capped] = rates[capped]
            value[stuck] = weights[stuck] * t
            floor[capped | stuck] = value[capped | stuck] * (1 - _FREEZE_SLACK)
            frozen |= capped | stuck
            t_prev = t
    if placed is not None:  # the last class fitted whole: its LP already placed everyone
        return placed, t_prev, lps
    # The level LPs leave frozen demands anywhere above their floor: one last max-throughput LP
    # capped at the max-min values places every demand at its value, on the shortest paths.
    res = _linprog(_throughput_cost(cands), model.A_ub, np.concatenate([model.capacity, value]),
                   bounds=(0, None))
    _check(res, "max-min (final placement)")
    return res.x, t_prev, lps + 1


def edge_optimum(graph, demands, objective: str = "min-mlu") -> float:
    """Optimum of the unrestricted multi-commodity flow (edge formulation), for quality checks.

    Commodities are aggregated by source (any flow from one source decomposes into paths),
    so the LP has ``sources x arcs`` variables whatever the number of demands.

    Parameters
    ----------
    graph : networkx.DiGraph
    demands : sequence of Demand
    objective : {"min-mlu", "max-throughput"}

    Returns
    -------
    float
        The minimum max-link-utilisation, or the maximum total rate in bit/s.

    Examples
    --------
    >>> import networkx as nx
    >>> from te.model import Demand
    >>> g = nx.DiGraph()
    >>> for u, v, cap in [("a", "b", 10.0), ("b", "c", 10.0), ("a", "c", 5.0)]:
    ...     g.add_edge(u, v, capacity=cap, weight=1.0)
    >>> round(edge_optimum(g, [Demand("x", "a", "c", 12.0)]), 6)
    0.8
    >>> round(edge_optimum(g, [Demand("x", "a", "c", 20.0)], "max-throughput"), 6)
    15.0
    """
    if objective not in ("min-mlu", "max-throughput"):
        raise InvalidInput(f"edge formulation supports min-mlu and max-throughput, not {objective!r}")
    nodes = sorted(graph)
    index = {n: i for i, n in enumerate(nodes)}
    arcs = sorted(graph.edges)
    n, m = len(nodes), len(arcs)
    tail = np.array([index[u] for u, _ in arcs])
    head = np.array([index[v] for _, v in arcs])
    capacity = np.array([graph[u][v]["capacity"] for u, v in arcs], dtype=float)
    scale = capacity.max()
    incidence = sp.csr_matrix((np.r_[np.ones(m), -np.ones(m)], (np.r_[tail, head], np.r_[np.arange(m), np.arange(m)])),
                              shape=(n, m))
    sources = sorted({index[d.src] for d in demands})
    s_pos = {s: i for i, s in enumerate(sources)}
    n_s = len(sources)
    # aggregate requests per (source, destination)
    pair = {}
    for d in demands:
        key = (s_pos[index[d.src]], index[d.dst])
        pair[key] = pair.get(key, 0.0) + d.rate_bps / scale
    keys = sorted(pair)
    src_of = np.array([k[0] for k in keys], dtype=np.int64)
    dst_of = np.array([k[1] for k in keys], dtype=np.int64)
    amount = np.array([pair[k] for k in keys])
    flow = sp.kron(sp.identity(n_s, format="csr"), incidence, format="csr")  # rows (s, v), cols (s, arc)
    cap_rows = sp.kron(np.ones((1, n_s)), sp.identity(m, format="csr"), format="csr")
    src_node = np.array(sources, dtype=np.int64)
    n_pairs = len(keys)
    # net outflow of commodity s at v: +a at v = s, -a at v = dst
    supply = sp.csr_matrix((np.r_[np.ones(n_pairs), -np.ones(n_pairs)],
                            (np.r_[src_of * n + src_node[src_of], src_of * n + dst_of],
                             np.r_[np.arange(n_pairs), np.arange(n_pairs)])), shape=(n_s * n, n_pairs))
    n_flow = n_s * m
    if objective == "min-mlu":
        A_eq = sp.hstack([flow, sp.csr_matrix((n_s * n, 1))], format="csr")
        b_eq = supply @ amount
        A_ub = sp.hstack([cap_rows, sp.csr_matrix(-capacity[:, None] / scale)], format="csr")
        c = np.zeros(n_flow + 1)
        c[-1] = 1.0
        res = _linprog(c, A_ub, np.zeros(m), A_eq, b_eq, (0, None))
        _check(res, "edge min-mlu")
        return float(res.x[-1])
    A_eq = sp.hstack([flow, -supply], format="csr")
    A_ub = sp.hstack([cap_rows, sp.csr_matrix((m, n_pairs))], format="csr")
    c = np.r_[np.zeros(n_flow), -np.ones(n_pairs)]
    bounds = np.column_stack([np.zeros(n_flow + n_pairs), np.r_[np.full(n_flow, np.inf), amount]])
    res = _linprog(c, A_ub, capacity / scale, A_eq, np.zeros(n_s * n), bounds)
    _check(res, "edge max-throughput")
    return float(-res.fun * scale)
