"""The same allocation over as few paths as possible, so that switches hashing whole flows can follow it.

A switch spreads an intent over its paths per flow (a SELECT group hashes the 5-tuple), so an intent that
carries one flow uses one of its paths whatever the split says, and a split over several paths gives that
flow only one path's share. Every LP objective has many optima that differ only in how demands are split;
:func:`fewest_paths` picks, among routings that give every demand exactly the rate it already has and fit
every link, one that uses the fewest (demand, path) pairs: a mixed-integer program solved by HiGHS through
:func:`scipy.optimize.milp`, within a time limit. When it finds nothing better in time, the solution is
returned unchanged.

For permutation traffic on a fat-tree (a rearrangeably non-blocking Clos network) a single path per demand
always exists at any feasible rate, and this finds it.
"""
from __future__ import annotations

import dataclasses

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import csr_matrix, hstack, identity, vstack

# A path rate below this share of its demand's rate is rounding noise, not a route.
REL_TOL = 1e-7


def _path_arc(solution) -> csr_matrix:
    index = {arc: j for j, arc in enumerate(solution.arcs)}
    rows, cols = [], []
    for p, path in enumerate(solution.paths):
        for arc in zip(path, path[1:]):
            rows.append(p)
            cols.append(index[arc])
    return csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(solution.paths), len(solution.arcs)))


def paths_used(solution) -> int:
    """How many (demand, path) pairs carry traffic."""
    rates = solution.path_rate_bps
    allocated = np.repeat(solution.allocated_bps, np.diff(solution.path_ptr))
    return int(np.count_nonzero(rates > REL_TOL * np.maximum(allocated, 1.0)))


def fewest_paths(solution, time_limit: float = 2.0):
    """``solution`` with every demand's rate unchanged, routed over the fewest paths that fit the links.

    Parameters
    ----------
    solution : te.model.Solution
        Any routing (an LP optimum, water-filling, ...); its candidate paths are the ones to choose from.
    time_limit : float
        Seconds HiGHS may take; the best routing found by then is used (never one with more paths).

    Returns
    -------
    te.model.Solution
        With ``stats["paths_used"]`` before and after (``paths_used_before``).

    Examples
    --------
    Two demands of 1 between the same ends, two parallel links of capacity 1: an LP may split both,
    this gives each a link of its own.

    >>> import networkx as nx
    >>> from te.model import Demand
    >>> from te.paths import Candidates, solution_from_rates
    >>> g = nx.DiGraph()
    >>> for mid in ("x", "y"):
    ...     g.add_edge("a", mid, capacity=1.0, weight=1.0); g.add_edge(mid, "b", capacity=1.0, weight=1.0)
    >>> paths = [[("a", "x", "b"), ("a", "y", "b")]] * 2
    >>> c = Candidates.from_paths(g, [Demand("d1", "a", "b", 1.0), Demand("d2", "a", "b", 1.0)], paths)
    >>> split = solution_from_rates(c, "max-throughput", "optimal", [0.5, 0.5, 0.5, 0.5])
    >>> best = fewest_paths(split)
    >>> [[r for _, r in best.routes(i) if r > 0] for i in range(2)], float(best.load_bps.max())
    ([[1.0], [1.0]], 1.0)
    >>> best.stats["paths_used_before"], best.stats["paths_used"]
    (4, 2)
    """
    before = paths_used(solution)
    n_paths = len(solution.paths)
    x = solution.allocated_bps
    if n_paths == 0 or before == len(solution.demands):
        return _with_stats(solution, solution.path_rate_bps, before, before)
    scale = float(max(np.max(solution.capacity_bps), np.max(x), 1.0))
    rate = x / scale
    demand_of = np.repeat(np.arange(len(solution.demands)), np.diff(solution.path_ptr))
    A = _path_arc(solution)
    # Variables: f (path rates, scaled) then y (path used, binary). Minimise the number of paths used.
    cost = np.concatenate([np.zeros(n_paths), np.ones(n_paths)])
    per_demand = csr_matrix((np.ones(n_paths), (demand_of, np.arange(n_paths))), shape=(len(x), n_paths))
    f_le_y = hstack([identity(n_paths, format="csr"), -csr_matrix(np.diag(rate[demand_of]))])
    constraints = [
        LinearConstraint(hstack([per_demand, csr_matrix((len(x), n_paths))]), rate, rate),  # every demand its rate
        LinearConstraint(f_le_y, -np.inf, 0.0),  # a path carries traffic only when it is used
        # every arc within capacity, or within what the given routing already puts there (a tiny excess
        # of the solver's is not this function's to judge)
        LinearConstraint(hstack([A.T, csr_matrix((A.shape[1], n_paths))]), -np.inf,
                         np.maximum(solution.capacity_bps, solution.load_bps) / scale * (1 + 1e-9)),
    ]
    result = milp(cost, constraints=constraints, integrality=np.concatenate([np.zeros(n_paths), np.ones(n_paths)]),
                  bounds=Bounds(0, np.concatenate([np.full(n_paths, np.inf), np.ones(n_paths)])),
                  options={"time_limit": time_limit, "mip_rel_gap": 0.0})
    if result.x is None:
        return _with_stats(solution, solution.path_rate_bps, before, before)
    f = np.clip(result.x[:n_paths], 0.0, None) * scale
    f[f <= REL_TOL * np.maximum(x[demand_of], 1.0)] = 0.0
    # Put back exactly each demand's rate (the solver's sums are exact only to its tolerance).
    sums = np.bincount(demand_of, weights=f, minlength=len(x))
    f *= np.where(sums[demand_of] > 0, x[demand_of] / np.where(sums[demand_of] > 0, sums[demand_of], 1.0), 0.0)
    after = int(np.count_nonzero(f))
    if after >= before:
        return _with_stats(solution, solution.path_rate_bps, before, before)
    return _with_stats(solution, f, before, after, A)


def _with_stats(solution, rates, before: int, after: int, A=None):
    load = solution.load_bps if A is None else np.asarray(A.T @ rates, dtype=float)
    stats = {**solution.stats, "paths_used_before": before, "paths_used": after}
    return dataclasses.replace(solution, path_rate_bps=np.asarray(rates, dtype=float), load_bps=load, stats=stats)
