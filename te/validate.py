"""Checks every algorithm's output must pass; shared by the tests of all objectives."""
from __future__ import annotations

import numpy as np

__all__ = ["check_solution", "violations"]


def violations(solution, graph=None, tol_bps=1e-6, rtol=1e-9, full=False, capacity=True, expected=None,
               maximal=False, own_rtol=1e-6):
    """List the ways ``solution`` breaks the rules (empty list when it is valid).

    Checks: rates finite and >= 0; each demand's allocation at most its request (exactly
    its request with ``full=True``); every path starts at its demand's source, ends at its
    destination, is loop-free and uses arcs of ``graph`` (when given); link loads equal the
    sum of path rates; loads within capacity (unless ``capacity=False``, e.g. ``min-mlu``).
    Tolerances: ``tol_bps + rtol * value``.

    Two optional checks hold each demand to its *own* scale (``own_rtol`` of its own value,
    however small beside the others):

    - ``expected``: the allocation each demand should get (input order); each must be within
      ``own_rtol`` of its expected value (of its request when the expected value is 0).
    - ``maximal=True``: no demand is short of its request while one of its candidate paths
      could carry more of it, i.e. while every arc of that path has spare capacity above
      ``own_rtol`` of the demand's allocation (of its request when it has none) plus
      ``1e-12`` of the arc's capacity (rounding). Every max-min and max-throughput optimum
      passes; a demand left empty by solver tolerance does not.

    Examples
    --------
    >>> import networkx as nx
    >>> from te import Demand, solve
    >>> g = nx.DiGraph()
    >>> g.add_edge("a", "b", capacity=5.0, weight=1.0)
    >>> violations(solve(g, [Demand("d", "a", "b", 9.0)], "max-throughput"), g)
    []
    >>> violations(solve(g, [Demand("d", "a", "b", 9.0)], "max-throughput"), g, expected=[4.0])
    ['demand d: allocated 5.0 differs from 4.0 by more than 1e-06 of it']
    >>> from te.paths import candidate_paths, solution_from_rates
    >>> short = solution_from_rates(candidate_paths(g, [Demand("d", "a", "b", 1.0)]), "demo", "optimal", [0.5])
    >>> violations(short, g, maximal=True)
    ["demand d: allocated 0.5 of 1.0 while path ('a', 'b') has 4.5 bit/s spare"]
    """
    problems = []
    rates = solution.path_rate_bps
    if not np.all(np.isfinite(rates)) or np.any(rates < 0):
        problems.append("a path rate is negative or not finite")
    allocated, requested = solution.allocated_bps, solution.requested_bps
    slack = tol_bps + rtol * requested
    for i in np.flatnonzero(allocated > requested + slack):
        problems.append(f"demand {solution.demands[i].id}: allocated {allocated[i]!r} > requested {requested[i]!r}")
    if full:
        for i in np.flatnonzero(allocated < requested - slack):
            problems.append(f"demand {solution.demands[i].id}: allocated {allocated[i]!r} < requested {requested[i]!r}")
    arc_set = set(solution.arcs)
    load = dict.fromkeys(solution.arcs, 0.0)
    for i, d in enumerate(solution.demands):
        for path, rate in solution.routes(i):
            if path[0] != d.src or path[-1] != d.dst or len(set(path)) != len(path):
                problems.append(f"demand {d.id}: path {path} is not a loop-free {d.src}->{d.dst} path")
            for arc in zip(path[:-1], path[1:]):
                if arc not in arc_set or (graph is not None and not graph.has_edge(*arc)):
                    problems.append(f"demand {d.id}: path {path} uses missing link {arc}")
                else:
                    load[arc] += rate
    summed = np.array([load[a] for a in solution.arcs])
    if not np.allclose(summed, solution.load_bps, rtol=1e-9, atol=tol_bps):
        problems.append("link loads differ from the sum of path rates")
    if capacity:
        over = summed > solution.capacity_bps + tol_bps + rtol * solution.capacity_bps
        for j in np.flatnonzero(over):
            problems.append(f"link {solution.arcs[j]}: load {summed[j]!r} > capacity {solution.capacity_bps[j]!r}")
    own = np.where(allocated > 0, allocated, requested)
    if expected is not None:
        want = np.asarray(expected, dtype=float)
        scale = np.where(want > 0, want, requested)
        for i in np.flatnonzero(~(np.abs(allocated - want) <= own_rtol * scale)):
            problems.append(f"demand {solution.demands[i].id}: allocated {float(allocated[i])!r} differs from "
                            f"{float(want[i])!r} by more than {own_rtol:g} of it")
    if maximal:
        spare = dict(zip(solution.arcs, (solution.capacity_bps - summed - 1e-12 * solution.capacity_bps).tolist()))
        for i in np.flatnonzero(allocated < requested - own_rtol * own):
            for path, _ in solution.routes(i):
                room = min(spare.get(arc, -np.inf) for arc in zip(path[:-1], path[1:]))
                if room > own_rtol * own[i]:
                    problems.append(f"demand {solution.demands[i].id}: allocated {float(allocated[i])!r} of "
                                    f"{float(requested[i])!r} while path {path} has {room:.6g} bit/s spare")
                    break
    return problems


def check_solution(solution, graph=None, **kwargs):
    """Raise ``AssertionError`` listing every problem :func:`violations` finds.

    Examples
    --------
    >>> import networkx as nx
    >>> from te import Demand, solve
    >>> g = nx.DiGraph()
    >>> g.add_edge("a", "b", capacity=5.0, weight=1.0)
    >>> check_solution(solve(g, [Demand("d", "a", "b", 9.0)], "min-mlu"), g, full=True, capacity=False)
    """
    problems = violations(solution, graph, **kwargs)
    if problems:
        raise AssertionError("; ".join(problems[:10]) + (f" (+{len(problems) - 10} more)" if len(problems) > 10 else ""))
