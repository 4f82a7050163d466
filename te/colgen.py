"""Paths generated as the optimisation needs them (``--paths auto``): column generation.

With ``k`` fixed candidate paths the LPs are exact *on their paths*; the paths cost quality
(with the 4 shortest paths, min-MLU is x1.53 the unrestricted optimum on Repetita's
Uninett2011.0000, x1.22 on Cogentco.0000). Here every
demand starts with its shortest path, and paths are added while some path could improve the
LP, until none can; the answer is then the optimum over *all* paths (the edge formulation),
on a handful of paths per demand.

How a path is priced
--------------------
Each LP solved reports, per bit/s, a price for every arc (the dual of its capacity row over its
capacity) and a threshold for every demand (from the duals of the demand's own rows and its
cost). A path that is not yet a candidate improves the LP exactly when the sum of its arcs'
prices is below its demand's threshold (negative reduced cost), and the cheapest such path of
every demand is a shortest path under the prices: one Dijkstra per source
(:func:`scipy.sparse.csgraph.dijkstra`), not per demand. A path counts as improving when it is
cheaper than the threshold by more than ``rtol`` (1e-7, HiGHS's own tolerance) of it.

Every objective runs the same loop: solve the model of :mod:`te.lp` on the current paths while
:func:`te.lp.recording_prices` collects the prices of every LP it solves (the fast
max-throughput decomposition reports its link duals, and a demand's threshold is then its
cheapest current path's cost), add every improving path, repeat until none is added. The last
solution is the answer, with the exactness of :mod:`te.lp` (repair, fill, shortest paths among
optima).

- ``max-throughput`` and ``min-mlu``: when no path improves the last LP, it is optimal over all
  paths.
- ``max-min``: every LP of the exact level sequence is priced right after it is solved, and
  solved again over the paths its prices add (:attr:`te.lp.PathModel.extend`), until it adds
  none; the sequence then goes on. Each level is thus the unrestricted optimum given the
  previous ones, and the frozen demands are the same (complementary slackness holds for the
  full problem with the same duals): the sequence is the exact max-min allocation over all
  paths. A max-throughput phase runs first (fast): when every demand fits, the level LPs need
  no more paths.

``max_paths`` bounds the paths of a demand (switches hold few); the answer is then the optimum
over the paths generated within that bound; ``stats["left_out"]`` counts the improving paths the
bound kept out of the last round (``te-solve --max-paths`` also solves without the bound and
shows the difference).

Examples
--------
One demand of 25 bit/s, a direct link a-d of 10 bit/s; the detour a-b-d (20 bit/s) is found:

>>> import networkx as nx
>>> from te.model import Demand
>>> g = nx.DiGraph()
>>> for u, v, cap in [("a", "d", 10.0), ("a", "b", 20.0), ("b", "d", 20.0)]:
...     g.add_edge(u, v, capacity=cap, weight=1.0)
>>> sol = generate(g, [Demand("x", "a", "d", 25.0)], "max-throughput").solve()
>>> [(p, round(r, 6)) for p, r in sol.routes(0)], sol.stats["paths_per_demand_max"]
([(('a', 'd'), 10.0), (('a', 'b', 'd'), 15.0)], 2)
"""
from __future__ import annotations

import weakref
from dataclasses import dataclass

import networkx as nx
import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

from te.errors import InvalidInput, NoPath, SolverError
from te.lp import LP_OBJECTIVES, _node_overloaded, build_model, recording_prices
from te.paths import Candidates, _Index, _odd_keys, _ranges, _runs
from te.progress import report

__all__ = ["generate", "GeneratedModel", "check_max_paths", "shortest_candidates"]

_RTOL = 1e-7  # a path improves an LP when it is cheaper than the threshold by more than this share of it
_MAX_ROUNDS = 200
# Paths added per round at most, the most improving first. Kdl's first round (567,762 gravity demands, most
# crossing a full link) found 488,256 improving paths; the LP over all of them (666,095 columns, 321,309 rows)
# was not solved in 4 minutes (HiGHS's IPM: 26 iterations). With 50,000, the next LP has 93,656 columns and
# 26,748 rows: 15 s. Since the merged LPs need no row for a group carried in full (te.lp._merged_lp), the whole
# Kdl max-throughput run took 74 s with 15,000, 108 s with 20,000, 66 s with 25,000, 88 s with 35,000 and
# 78-80 s with 50,000: sensitive, 25,000 kept. Rounds elsewhere add far fewer (Cogentco: at most about 5,000).
_MAX_NEW = 25_000


def shortest_candidates(graph: nx.DiGraph, demands) -> Candidates:
    """Every demand with its one shortest path (by ``weight``, ties to lower-named arcs).

    One Dijkstra per distinct source. Raises :class:`te.errors.InvalidInput` for an unknown
    node or values outside the engine's bounds, :class:`te.errors.NoPath` for an unreachable
    destination.

    Examples
    --------
    >>> from te.model import Demand
    >>> g = nx.DiGraph([("a", "b"), ("b", "c"), ("a", "c")])
    >>> nx.set_edge_attributes(g, 1.0, "capacity")
    >>> shortest_candidates(g, [Demand("x", "a", "c", 1.0), Demand("y", "b", "c", 1.0)]).paths
    (('a', 'c'), ('b', 'c'))
    """
    demands = tuple(demands)
    index = _Index(graph)
    pool = _Pool(index, demands)
    pool.start()
    cands = pool.candidates()
    _FRESH[cands] = pool
    return cands


# The pool each shortest_candidates() answer came from, while nothing has added to it: solving those candidates
# starts from it instead of hashing every path again (Kdl: 0.4 s)
_FRESH: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


class _Pool:
    """The paths of every demand, kept flat (node ids, node counts, owners), and the machinery to add more."""

    def __init__(self, index: _Index, demands):
        self.index = index
        self.demands = demands
        ids = index.node_index
        for d in demands:
            for end in (d.src, d.dst):
                if end not in ids:
                    raise InvalidInput(f"demand {d.id}: unknown node {end!r}")
        self.src = np.array([ids[d.src] for d in demands], dtype=np.int64)
        self.dst = np.array([ids[d.dst] for d in demands], dtype=np.int64)
        self.checked = False  # whether candidates() checked the demands' magnitudes (once is enough)
        self.arcs = None  # once candidates() ran: the arc ids of its paths, the first chunk (sorted by demand)
        self.chunks = []  # (node ids, node counts, owners) of the paths added together
        self.last = None  # what candidates() last returned, until a path is added
        self.count = np.zeros(len(demands), dtype=np.int64)  # paths per demand
        # two 64-bit hashes of (demand, node ids) of every path, sorted: a path found again is not added twice
        self.seen = (np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.uint64))
        rng = np.random.default_rng(0xC01)
        n = len(index.nodes)
        self._node_key = rng.integers(1, 2 ** 63, size=(2, n), dtype=np.uint64)
        self._demand_key = rng.integers(1, 2 ** 63, size=(2, len(demands)), dtype=np.uint64)
        self._step_key = _odd_keys(rng, (2, n + 1))
        # arcs are sorted by (tail name, head name), i.e. by (tail id, head id): CSR order
        self.indptr = np.zeros(n + 1, dtype=np.int32)
        np.cumsum(np.bincount(index.tail, minlength=n), out=self.indptr[1:])
        self.indices = index.head.astype(np.int32)

    def _matrix(self, weight):
        n = len(self.index.nodes)
        return sp.csr_matrix((weight, self.indices, self.indptr), shape=(n, n))

    def _shortest(self, weight, which, walk=None):
        """Distance and shortest path of demands ``which`` under arc ``weight``.

        Returns (distance per demand, node ids of the paths end to end, node count per path); an
        unreachable destination has distance inf and a path of 0 nodes. ``walk(dist)``, if given,
        says which of them need their path (a mask; the others get none): pricing walks back only
        the improving ones (:func:`_walk_back`).
        """
        sources, row = np.unique(self.src[which], return_inverse=True)
        dist, pred = dijkstra(self._matrix(weight), indices=sources, return_predecessors=True)
        dst = self.dst[which]
        dist = dist[row, dst]
        want = np.isfinite(dist) if walk is None else walk(dist) & np.isfinite(dist)
        nodes, mine = _walk_back(pred, row[want], self.src[which][want], dst[want])
        lengths = np.zeros(len(which), dtype=np.int64)
        lengths[want] = mine
        return dist, nodes, lengths

    def start(self):
        """One shortest path (by the topology's weights) per demand."""
        everyone = np.arange(len(self.demands))
        dist, nodes, lengths = self._shortest(self.index.search_weight, everyone)
        if not np.isfinite(dist).all():
            d = self.demands[int(np.flatnonzero(~np.isfinite(dist))[0])]
            raise NoPath(f"demand {d.id}: no path from {d.src!r} to {d.dst!r}")
        self._add(everyone, nodes, lengths)

    def _add(self, owners, nodes, lengths) -> int:
        """Add the paths (flat node ids) of demands ``owners`` that are new; returns how many were."""
        raw = nodes.astype(np.int32)
        if not len(owners):
            return 0
        # a path's keys: sum over its nodes of (node's value times its position's odd multiplier), plus its
        # demand's value, mod 2**64, twice with independent values; two different paths share both with
        # probability about 2**-128
        lengths = np.asarray(lengths, dtype=np.int64)
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        position = np.arange(len(raw)) - np.repeat(starts, lengths)
        keys = [np.add.reduceat(self._node_key[h][raw] * self._step_key[h][position], starts) +
                self._demand_key[h][owners] for h in range(2)]
        order, first = _runs(*keys)  # not first: the same path twice in this batch
        k0, k1 = keys[0][order], keys[1][order]
        s0, s1 = self.seen
        at = np.minimum(np.searchsorted(s0, k0), max(len(s0) - 1, 0))
        known = (s0[at] == k0) & (s1[at] == k1) if len(s0) else np.zeros(len(k0), dtype=bool)
        keep = np.zeros(len(owners), dtype=bool)
        keep[order[first & ~known]] = True
        if keep.any():
            self.seen = _merged_keys(s0, s1, k0[first & ~known], k1[first & ~known])
            mask = np.repeat(keep, lengths)
            self.chunks.append((raw[mask], lengths[keep], owners[keep]))
            self.last = None
            np.add.at(self.count, owners[keep], 1)
        return int(keep.sum())

    def price(self, arc_price, threshold, max_paths=None, rtol=_RTOL):
        """Add every demand's cheapest path under ``arc_price`` if it costs less than its threshold.

        At most ``_MAX_NEW`` are added, those improving most (relative to
        the threshold) first. Returns (paths added, improving paths left out by ``max_paths``).
        """
        which = np.flatnonzero(threshold > 0)
        if not len(which):
            return 0, 0
        # a tiny cost per hop keeps the weights positive and prefers short paths among equals; it makes
        # a path's distance at most n * delta (1e-12 of the largest threshold) above its price
        delta = 1e-12 * float(threshold[which].max()) / max(len(self.index.nodes), 1)
        limit = threshold[which] * (1 - rtol)
        room = np.ones(len(which), dtype=bool) if max_paths is None else self.count[which] < max_paths
        top = _MAX_NEW

        def walk(dist):  # the improving paths with room, at most ``_MAX_NEW`` of them, the most improving first
            ok = (dist < limit) & room
            if ok.sum() > top:
                gain = np.where(ok, (threshold[which] - dist) / threshold[which], -np.inf)
                ok &= gain >= np.partition(gain, len(gain) - top)[len(gain) - top]
            return ok
        dist, nodes, lengths = self._shortest(arc_price + delta, which, walk=walk)
        better = lengths > 0  # walked: every walked path has at least its destination
        left_out = int(((dist < limit) & ~room).sum())
        if not better.any():
            return 0, left_out
        added = self._add(which[better], nodes, lengths[better])
        return added, left_out

    def candidates(self) -> Candidates:
        """The pool's paths as :class:`te.paths.Candidates` (the last answer again when nothing was added since)."""
        if self.last is not None:
            return self.last
        arcs = None
        if self.arcs is not None and len(self.chunks) > 1:
            # the first chunk is the last call's, sorted by demand, with its arc ids: the new paths (and their arc
            # ids) are inserted after their demand's (one pass; re-sorting Kdl's 21 M node ids took 0.4 s a round)
            nodes, lengths, owners = self.chunks[0]
            new_nodes, new_lengths, new_owners = self._sorted(self.chunks[1:])
            at = np.searchsorted(owners, new_owners, side="right")  # each new path's place among the old ones
            node_at = np.concatenate([[0], np.cumsum(lengths)])[at]
            nodes = np.insert(nodes, np.repeat(node_at, new_lengths), new_nodes)
            arc_at = np.concatenate([[0], np.cumsum(lengths - 1)])[at]
            arcs = np.insert(self.arcs, np.repeat(arc_at, new_lengths - 1), self.index.path_arcs(new_nodes, new_lengths))
            lengths, owners = np.insert(lengths, at, new_lengths), np.insert(owners, at, new_owners)
        else:
            nodes, lengths, owners = self._sorted(self.chunks)
        self.chunks = [(nodes, lengths, owners)]
        cands = self.index.candidates(self.demands, nodes, lengths, self.count, check=not self.checked,
                                      arc_ids=arcs)
        self.arcs = cands.path_arc.indices
        self.checked = True
        self.last = cands
        return cands

    @staticmethod
    def _sorted(chunks):
        """The paths of ``chunks`` as one (node ids, node counts, owners), by demand, each demand's in the order they came."""
        nodes = np.concatenate([c[0] for c in chunks]) if chunks else np.zeros(0, dtype=np.int32)
        lengths = np.concatenate([c[1] for c in chunks]) if chunks else np.zeros(0, dtype=np.int64)
        owners = np.concatenate([c[2] for c in chunks]) if chunks else np.zeros(0, dtype=np.int64)
        order = np.argsort(owners, kind="stable")
        start = np.concatenate([[0], np.cumsum(lengths)])[:-1]
        return nodes[_ranges(start[order], lengths[order])], lengths[order], owners[order]

    @classmethod
    def from_candidates(cls, cands: Candidates):
        """A pool holding the paths of ``cands`` (the one they came from, if still fresh: taken, not shared)."""
        fresh = _FRESH.pop(cands, None)
        if fresh is not None:
            return fresh
        graph = nx.DiGraph()
        graph.add_nodes_from(cands.paths.names)
        for (u, v), c in zip(cands.arcs, cands.capacity_bps.tolist()):
            graph.add_edge(u, v, capacity=c)
        pool = cls(_Index(graph), cands.demands)
        ptr = cands.paths.ptr
        pool._add(cands.path_demand, np.asarray(cands.paths.node_ids), np.diff(ptr))
        return pool


def _walk_back(pred, row, src, dst):
    """The paths ``src`` to ``dst`` in shortest-path trees (``pred[row]``), end to end, and their node counts.

    All walked back from their destinations together, one predecessor step at a time, each step only over
    the paths not yet at their source, and every node written into place at the end (Kdl's 567,762 first
    paths, 13.5 M nodes: 0.8 s, where stacking the steps into a table and reading it backwards took 2.3 s).

    >>> pred = np.array([[-9999, 0, 1, 0]])  # from node 0: 0-1, 1-2, 0-3
    >>> nodes, lengths = _walk_back(pred, np.array([0, 0, 0]), np.array([0, 0, 0]), np.array([2, 3, 0]))
    >>> nodes.tolist(), lengths.tolist()
    ([0, 1, 2, 0, 3, 0], [3, 2, 1])
    """
    flat = pred.ravel()
    idx, cur = np.arange(len(dst)), np.asarray(dst, dtype=np.int64)
    base, src = np.asarray(row, dtype=np.int64) * pred.shape[1], np.asarray(src)
    steps, seen = [idx], [cur]
    while True:
        going = np.flatnonzero(cur != src)
        if not len(going):
            break
        idx, base, src = idx[going], base[going], src[going]
        cur = flat[base + cur[going]]
        steps.append(idx)
        seen.append(cur)
    step = np.repeat(np.arange(len(steps)), [len(s) for s in steps])
    owner = np.concatenate(steps)
    lengths = np.bincount(owner, minlength=len(dst))
    end = np.cumsum(lengths) - 1
    nodes = np.empty(len(owner), dtype=np.int64)
    nodes[end[owner] - step] = np.concatenate(seen)
    return nodes, lengths


def _merged_keys(s0, s1, n0, n1):
    """Key pairs ``(s0, s1)`` and ``(n0, n1)``, each sorted, merged into one sorted pair of arrays.

    One pass, where sorting both again took Kdl about 0.1 s a round (900,000 paths).

    >>> u = lambda *v: np.array(v, dtype=np.uint64)
    >>> [k.tolist() for k in _merged_keys(u(1, 4, 4, 9), u(5, 1, 7, 0), u(0, 4, 4, 12), u(3, 0, 2, 1))]
    [[0, 1, 4, 4, 4, 4, 9, 12], [3, 5, 0, 1, 2, 7, 0, 1]]
    """
    at = np.searchsorted(s0, n0, side="left")
    end = np.searchsorted(s0, n0, side="right")
    for i in np.flatnonzero(end > at):  # the same first key already there (rare): place by the second
        at[i] += np.searchsorted(s1[at[i]:end[i]], n1[i])
    return np.insert(s0, at, n0), np.insert(s1, at, n1)


@dataclass(eq=False)
class GeneratedModel:
    """A model whose :meth:`solve` generates its paths (see the module notes); built by :func:`generate`."""

    objective: str
    cands: Candidates
    max_paths: int | None = None
    max_rounds: int = _MAX_ROUNDS

    @property
    def size(self):
        return {"variables": len(self.cands.paths), "constraints": len(self.cands.arcs) + len(self.cands.demands)}

    def solve(self):
        """Generate paths until none improves, then solve; returns a :class:`te.model.Solution`.

        ``solution.stats`` gains ``rounds`` (of pricing), ``paths_generated``,
        ``paths_per_demand_mean`` / ``_max`` (paths with a nonzero rate), ``lps_total`` (every
        LP of every round) and ``left_out`` (improving paths ``max_paths`` kept out).

        Raises
        ------
        te.errors.SolverError
            HiGHS failed, or no convergence within ``max_rounds`` rounds.
        """
        pool = _Pool.from_candidates(self.cands)
        stats = {"rounds": 0, "lps_total": 0, "left_out": 0}
        if self.objective != "max-min":
            return self._finish(self._converge(pool, self.objective, stats), stats)
        # max-throughput first (fast): when every demand fits, the max-min LPs need no more paths. When some
        # node must send or receive more than its links carry, not every demand fits, and the level LPs
        # price their own paths: the pass would only cost time (B4 at twice its load: a quarter of it).
        rates = self.cands.requests_bps
        warm = {}
        if not _node_overloaded(self.cands, rates):
            self._converge(pool, "max-throughput", stats, warm)
        return self._finish(self._max_min(pool, stats, warm), stats)

    def _max_min(self, pool, stats, warm):
        """One run of the level sequence, each LP solved again over the paths its prices add.

        ``warm``: where the max-throughput pass ended (see :func:`te.lp._solve_fix_and_merge`); the check
        that every demand fits starts there, not from scratch (Kdl: 1 LP instead of 11, and about 60 s less).
        """
        with recording_prices() as records:
            def extend():
                added = left_out = 0
                for prices, threshold in records:
                    a, b = pool.price(prices, threshold, self.max_paths)
                    added, left_out = added + a, left_out + b
                records.clear()
                stats["left_out"] = left_out
                if not added:
                    return None
                stats["rounds"] += 1
                report("max-min, generating paths: round", stats["rounds"])
                if stats["rounds"] >= self.max_rounds:
                    raise SolverError(f"max-min: column generation did not converge in {self.max_rounds} rounds")
                model = build_model(pool.candidates(), "max-min")
                model.extend, model.warm = extend, warm
                return model

            model = build_model(pool.candidates(), "max-min")
            model.extend, model.warm = extend, warm
            solution = model.solve()
        stats["lps_total"] += solution.stats.get("lps", 0)
        return solution

    def _converge(self, pool, objective, stats, warm=None):
        """Solve ``objective`` on the pool's paths, price every LP solved, add paths; until none is added.

        ``warm``: a dict that keeps where each round's fix-and-merge ended (:mod:`te.lp`): the next one
        starts there; the caller's, to start a later solve there too.
        """
        warm = {} if warm is None else warm
        while True:
            model = build_model(pool.candidates(), objective)
            if not len(model.cands.paths):
                return model.solve()
            model.warm = warm
            with recording_prices() as records:
                answer = model.solve_lps()  # a Solution (model.finish) only from the last round
            stats["lps_total"] += answer[1]
            added = left_out = 0
            for prices, threshold in records:
                a, b = pool.price(prices, threshold, self.max_paths)
                added, left_out = added + a, left_out + b
            stats["rounds"] += 1
            report(f"{objective}, generating paths: round", stats["rounds"])
            if not added:
                stats["left_out"] = left_out
                return model.finish(*answer)
            if stats["rounds"] >= self.max_rounds:
                raise SolverError(f"{objective}: column generation did not converge in {self.max_rounds} rounds")

    def _finish(self, solution, stats):
        owner = np.repeat(np.arange(len(solution.demands)), np.diff(solution.path_ptr))
        used = np.bincount(owner[solution.path_rate_bps > 0], minlength=len(solution.demands))
        stats.update(paths_generated=len(solution.paths),
                     paths_per_demand_mean=float(used.mean()) if len(used) else 0.0,
                     paths_per_demand_max=int(used.max(initial=0)))
        solution.stats.update(stats)
        return solution


def generate(graph: nx.DiGraph, demands, objective: str, max_paths: int | None = None) -> GeneratedModel:
    """A model of ``objective`` whose paths are generated as it is solved.

    Parameters
    ----------
    graph : networkx.DiGraph
    demands : sequence of Demand
    objective : {"max-throughput", "min-mlu", "max-min"}
    max_paths : int, optional
        At most this many paths per demand.

    Raises
    ------
    te.errors.InvalidInput
        Unknown objective, ``max_paths < 1``, an unknown node, values outside the engine's bounds.
    te.errors.NoPath
        An unreachable destination.
    """
    if objective not in LP_OBJECTIVES:
        raise InvalidInput(f"generated paths work with {', '.join(LP_OBJECTIVES)}, not {objective!r}")
    return GeneratedModel(objective, shortest_candidates(graph, demands), check_max_paths(max_paths))


def check_max_paths(max_paths):
    """``max_paths`` as an int >= 1, or None; else :class:`te.errors.InvalidInput`.

    >>> check_max_paths(None), check_max_paths(3)
    (None, 3)
    >>> check_max_paths(0)
    Traceback (most recent call last):
    ...
    te.errors.InvalidInput: max paths per demand must be a whole number >= 1, got 0
    """
    if max_paths is None:
        return None
    try:
        value = int(max_paths)
    except (TypeError, ValueError):
        value = 0
    if value < 1 or value != max_paths and not isinstance(max_paths, str):
        raise InvalidInput(f"max paths per demand must be a whole number >= 1, got {max_paths!r}")
    return value
