"""``max-min-fast``: B4-style multipath water-filling, no LP.

Every unfrozen demand of the current priority class grows at ``weight`` bit/s per unit of a
common fill level, on its *current* path: the first of its candidate paths (shortest first)
with no saturated link. The level rises event by event:

- a link saturates: every demand whose current path crosses it moves on to its next usable
  path, or freezes when none is left;
- a demand reaches its request (level ``rate / weight``): it freezes.

Classes are served from the highest priority down, each on what the previous ones left.
Like B4's progressive filling this is fair per path but not the exact multipath max-min
optimum (a demand never moves rate it already placed); ``te.lp`` computes that optimum.
Events cost O(links) vectorised work plus the demands they touch, so a run costs about
(links + demands) x O(links). Building (:func:`build_waterfill`) and filling
(:meth:`WaterFill.solve`) are separate so callers can time them; nothing here reads a clock.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from te.paths import Candidates, solution_from_rates
from te.lp import repair

__all__ = ["WaterFill", "build_waterfill"]

_SATURATED = 1e-9  # residual below this fraction of capacity counts as full


@dataclass(eq=False)
class WaterFill:
    """A prepared water-filling run; :meth:`solve` returns a :class:`te.model.Solution`."""

    cands: Candidates
    arc_path: object  # arcs x paths CSR, to find the paths crossing a saturated arc

    @property
    def size(self) -> dict:
        """No LP: variables are the paths, constraints the links and requests."""
        return {"variables": len(self.cands.paths), "constraints": len(self.cands.arcs) + len(self.cands.demands)}

    def solve(self):
        """Fill and return the allocation.

        Examples
        --------
        >>> import networkx as nx
        >>> from te.model import Demand
        >>> from te.paths import candidate_paths
        >>> g = nx.DiGraph()
        >>> for u, v, cap in [("a", "b", 10.0), ("b", "c", 10.0), ("a", "c", 4.0)]:
        ...     g.add_edge(u, v, capacity=cap, weight=1.0)
        >>> ds = [Demand("x", "a", "c", 100.0), Demand("y", "a", "b", 3.0, priority=1)]
        >>> sol = build_waterfill(candidate_paths(g, ds, k=2)).solve()
        >>> sol.routes(0), sol.routes(1)
        ([(('a', 'c'), 4.0), (('a', 'b', 'c'), 7.0)], [(('a', 'b'), 3.0)])
        """
        rates = _fill(self.cands, self.arc_path)
        rates = repair(self.cands, rates)
        return solution_from_rates(self.cands, "max-min-fast", "heuristic", rates, float(rates.sum()),
                                   {"lps": 0, **self.size})


def build_waterfill(cands: Candidates) -> WaterFill:
    """Prepare a water-filling run over the candidate paths (ordered shortest first)."""
    return WaterFill(cands, cands.path_arc.T.tocsr())


def _fill(cands: Candidates, arc_path) -> np.ndarray:
    path_arc = cands.path_arc
    n_paths = len(cands.paths)
    weights = np.array([d.weight for d in cands.demands], dtype=float)
    requests = cands.requests_bps
    priority = np.array([d.priority for d in cands.demands], dtype=np.int64)
    ptr, path_demand = cands.path_ptr, cands.path_demand
    capacity = cands.capacity_bps
    residual = capacity.copy()
    saturated = residual <= _SATURATED * capacity
    rate = np.zeros(n_paths)
    arcs_of = [path_arc.indices[path_arc.indptr[p]:path_arc.indptr[p + 1]] for p in range(n_paths)]

    def first_usable(i, start):
        for p in range(start, ptr[i + 1]):
            if not saturated[arcs_of[p]].any():
                return p
        return -1

    for cls in sorted(set(priority.tolist()), reverse=True):
        members = np.flatnonzero((priority == cls) & (requests > 0))
        current = {}  # demand -> (path, level at which it started on that path)
        growth = np.zeros(len(capacity))  # bit/s per unit level on each arc
        level = 0.0
        for i in members.tolist():
            p = first_usable(i, ptr[i])
            if p >= 0:
                current[i] = (p, 0.0)
                growth[arcs_of[p]] += weights[i]
        cap_order = sorted(current, key=lambda i: (requests[i] / weights[i], i))
        cap_pos = 0

        def stop(i, at):
            p, since = current.pop(i)
            rate[p] += weights[i] * (at - since)
            growth[arcs_of[p]] -= weights[i]
            return p

        while current:
            while cap_pos < len(cap_order) and cap_order[cap_pos] not in current:
                cap_pos += 1
            next_cap = requests[cap_order[cap_pos]] / weights[cap_order[cap_pos]] if cap_pos < len(cap_order) else np.inf
            busy = growth > 0
            with np.errstate(divide="ignore"):
                to_full = np.where(busy, residual / np.where(busy, growth, 1.0), np.inf)
            next_arc = level + to_full.min()
            target = min(next_cap, next_arc)
            residual -= growth * (target - level)
            level = target
            if next_cap <= next_arc:
                # every demand capped at this level freezes at exactly its request
                while cap_pos < len(cap_order):
                    i = cap_order[cap_pos]
                    if i in current:
                        if requests[i] / weights[i] > level:
                            break
                        stop(i, requests[i] / weights[i])
                    cap_pos += 1
                continue
            full = np.flatnonzero(busy & (residual <= _SATURATED * capacity) & ~saturated)
            if len(full) == 0:  # rounding: the minimum arc is marginally above the threshold
                full = np.array([int(np.argmin(to_full))])
            saturated[full] = True
            residual[full] = 0.0
            moved = set()
            for a in full.tolist():
                for p in arc_path.indices[arc_path.indptr[a]:arc_path.indptr[a + 1]].tolist():
                    i = int(path_demand[p])
                    if i in current and current[i][0] == p and i not in moved:
                        moved.add(i)
            for i in sorted(moved):
                p = stop(i, level)
                q = first_usable(i, p + 1)
                if q >= 0:
                    current[i] = (q, level)
                    growth[arcs_of[q]] += weights[i]
    return rate
