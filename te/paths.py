"""Candidate paths per demand, and their compact sparse form used by every solver.

Two ways to pick candidates, both deterministic:

- ``"ksp"``: the ``k`` shortest loopless paths by the ``weight`` arc attribute (IGP weight;
  files without weights give 1.0, i.e. hop count), Yen's algorithm
  (:func:`scipy.sparse.csgraph.yen`).
- ``"disjoint"``: up to ``k`` pairwise edge-disjoint paths, greedily: the shortest path,
  then the shortest path avoiding the arcs already used, and so on.

Paths are listed by (weight, hops, node names). Which of several equal-cost paths make the
cut is decided by arc names (a tiny name-ranked perturbation of the weights), never by the
solver's internal order.
"""
from __future__ import annotations

from dataclasses import dataclass

import networkx as nx
import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra, yen

from te.errors import InvalidInput, NoPath
from te.model import Arc, Demand, Path

__all__ = ["Candidates", "candidate_paths", "solution_from_rates", "PATH_METHODS"]

PATH_METHODS = ("ksp", "disjoint")


@dataclass(frozen=True, eq=False)
class Candidates:
    """Demands with their candidate paths, indexed for vectorised model building.

    Attributes
    ----------
    demands : tuple of Demand
    arcs : tuple of (str, str)
        Every arc of the graph, sorted; arc ``j`` has capacity ``capacity_bps[j]``.
    capacity_bps : ndarray
    paths : tuple of tuple of str
        Flat list; demand ``i`` owns ``paths[path_ptr[i]:path_ptr[i + 1]]``.
    path_ptr : ndarray of int64
    path_demand : ndarray of int64
        Demand index of each path.
    path_hops : ndarray of float
        Number of arcs of each path.
    path_arc : scipy.sparse.csr_matrix
        ``paths x arcs`` 0/1 incidence.

    Examples
    --------
    >>> g = nx.DiGraph()
    >>> g.add_edge("a", "b", capacity=10.0, weight=1.0)
    >>> c = Candidates.from_paths(g, [Demand("d", "a", "b", 1.0)], [[("a", "b")]])
    >>> c.path_arc.toarray(), c.arcs
    (array([[1.]]), (('a', 'b'),))
    """

    demands: tuple[Demand, ...]
    arcs: tuple[Arc, ...]
    capacity_bps: np.ndarray
    paths: tuple[Path, ...]
    path_ptr: np.ndarray
    path_demand: np.ndarray
    path_hops: np.ndarray
    path_arc: sp.csr_matrix

    @property
    def arc_path(self) -> sp.csr_matrix:
        """``arcs x paths`` incidence (transpose of :attr:`path_arc`)."""
        return self.path_arc.T.tocsr()

    @classmethod
    def from_paths(cls, graph: nx.DiGraph, demands, paths_per_demand) -> "Candidates":
        """Index explicit candidate paths (one list of node tuples per demand).

        Raises
        ------
        te.errors.InvalidInput
            A path does not start at its demand's source, end at its destination, or uses a
            missing arc.
        """
        demands = tuple(demands)
        index = _Index(graph)
        flat, counts = [], []
        for d, paths in zip(demands, paths_per_demand, strict=True):
            for p in paths:
                if p[0] != d.src or p[-1] != d.dst:
                    raise InvalidInput(f"demand {d.id}: path {p} does not join {d.src!r} to {d.dst!r}")
            flat.extend(tuple(p) for p in paths)
            counts.append(len(paths))
        return index.candidates(demands, flat, counts)


class _Index:
    """Node and arc numbering of a graph (sorted by name) with a CSR weight matrix."""

    def __init__(self, graph: nx.DiGraph):
        self.nodes = sorted(graph)
        self.node_index = {n: i for i, n in enumerate(self.nodes)}
        self.arcs = tuple(sorted(graph.edges))
        n = len(self.nodes)
        tail = np.array([self.node_index[u] for u, _ in self.arcs], dtype=np.int64)
        head = np.array([self.node_index[v] for _, v in self.arcs], dtype=np.int64)
        self.tail, self.head = tail, head
        self.capacity = np.array([graph[u][v]["capacity"] for u, v in self.arcs], dtype=float)
        self.weight = np.array([graph[u][v].get("weight", 1.0) for u, v in self.arcs], dtype=float)
        self.arc_id = np.full((n, n), -1, dtype=np.int64)
        self.arc_id[tail, head] = np.arange(len(self.arcs))
        # Equal-cost paths: Yen's and Dijkstra's choice among ties depends on SciPy internals,
        # so every arc weight gets a perturbation (far below any real cost difference) growing
        # with the arc's rank by name; among equal-cost paths the one on lower-named arcs wins.
        rank = np.arange(1, len(self.arcs) + 1) / max(len(self.arcs), 1)
        eps = 1e-9 * (self.weight.min() if len(self.arcs) else 1.0) / max(n, 1)
        self.search_weight = self.weight + eps * rank
        self.matrix = self.weight_matrix(np.ones(len(self.arcs), dtype=bool))

    def weight_matrix(self, keep):
        n = len(self.nodes)
        m = sp.csr_matrix((self.search_weight[keep], (self.tail[keep], self.head[keep])), shape=(n, n))
        m.indices = m.indices.astype(np.int32)
        m.indptr = m.indptr.astype(np.int32)
        return m

    def order(self, paths):
        """Sort index paths by (weight, hops, names) and drop duplicates."""
        unique = {tuple(p) for p in paths}
        names = self.nodes

        def key(p):
            arcs = self.arc_id[list(p[:-1]), list(p[1:])]
            return (round(float(self.weight[arcs].sum()), 9), len(p), [names[i] for i in p])

        return sorted(unique, key=key)

    def candidates(self, demands, flat_paths, counts):
        path_ptr = np.zeros(len(demands) + 1, dtype=np.int64)
        np.cumsum(counts, out=path_ptr[1:])
        lengths = np.array([len(p) for p in flat_paths], dtype=np.int64)
        if len(flat_paths):
            node_ids = np.fromiter((self.node_index[n] for p in flat_paths for n in p), dtype=np.int64,
                                   count=int(lengths.sum()))
        else:
            node_ids = np.zeros(0, dtype=np.int64)
        # consecutive node pairs within each path (drop the pair spanning two paths)
        ends = np.cumsum(lengths)
        mask = np.ones(max(len(node_ids) - 1, 0), dtype=bool)
        mask[ends[:-1] - 1] = False
        arc_ids = self.arc_id[node_ids[:-1][mask], node_ids[1:][mask]] if len(node_ids) else node_ids
        if np.any(arc_ids < 0):
            bad = int(np.searchsorted(np.cumsum(lengths - 1), np.flatnonzero(arc_ids < 0)[0], side="right"))
            raise InvalidInput(f"path {flat_paths[bad]} uses a link that is not in the topology")
        hops = lengths - 1
        arc_ptr = np.zeros(len(flat_paths) + 1, dtype=np.int64)
        np.cumsum(hops, out=arc_ptr[1:])
        path_arc = sp.csr_matrix((np.ones(len(arc_ids)), arc_ids, arc_ptr), shape=(len(flat_paths), len(self.arcs)))
        return Candidates(
            demands=tuple(demands), arcs=self.arcs, capacity_bps=self.capacity.copy(),
            paths=tuple(flat_paths), path_ptr=path_ptr,
            path_demand=np.repeat(np.arange(len(demands), dtype=np.int64), counts),
            path_hops=hops.astype(float), path_arc=path_arc)


def candidate_paths(graph: nx.DiGraph, demands, k: int = 4, method: str = "ksp") -> Candidates:
    """Compute up to ``k`` candidate paths for every demand.

    Parameters
    ----------
    graph : networkx.DiGraph
        Arcs with ``capacity`` and ``weight`` (see :func:`te.io.read_topology`).
    demands : sequence of Demand
    k : int, default 4
        Paths per demand (fewer when the graph has fewer).
    method : {"ksp", "disjoint"}
        k shortest loopless paths, or greedy edge-disjoint paths.

    Returns
    -------
    Candidates

    Raises
    ------
    te.errors.InvalidInput
        Unknown method, ``k < 1``, or a demand naming a node not in the graph.
    te.errors.NoPath
        A demand whose destination is unreachable.

    Examples
    --------
    >>> g = nx.DiGraph()
    >>> for u, v in [("a", "b"), ("b", "d"), ("a", "c"), ("c", "d"), ("a", "d")]:
    ...     g.add_edge(u, v, capacity=1.0, weight=1.0)
    >>> c = candidate_paths(g, [Demand("x", "a", "d", 1.0)], k=2)
    >>> c.paths
    (('a', 'd'), ('a', 'b', 'd'))
    >>> candidate_paths(g, [Demand("x", "a", "d", 1.0)], k=9).path_ptr
    array([0, 3])
    >>> candidate_paths(g, [Demand("x", "a", "d", 1.0)], k=3, method="disjoint").paths
    (('a', 'd'), ('a', 'b', 'd'), ('a', 'c', 'd'))
    """
    if method not in PATH_METHODS:
        raise InvalidInput(f"unknown path method {method!r} (expected one of {', '.join(PATH_METHODS)})")
    if int(k) < 1:
        raise InvalidInput(f"the number of paths per demand must be >= 1, got {k}")
    k = int(k)
    demands = tuple(demands)
    index = _Index(graph)
    finder = _yen if method == "ksp" else _disjoint
    cache: dict[tuple[int, int], list[tuple[int, ...]]] = {}
    flat, counts = [], []
    for d in demands:
        for end in (d.src, d.dst):
            if end not in index.node_index:
                raise InvalidInput(f"demand {d.id}: unknown node {end!r}")
        key = (index.node_index[d.src], index.node_index[d.dst])
        if key not in cache:
            cache[key] = index.order(finder(index, key[0], key[1], k))
        found = cache[key]
        if not found:
            raise NoPath(f"demand {d.id}: no path from {d.src!r} to {d.dst!r}")
        flat.extend(tuple(index.nodes[i] for i in p) for p in found)
        counts.append(len(found))
    return index.candidates(demands, flat, counts)


def _walk(pred_row, src, dst):
    path = [dst]
    while path[-1] != src:
        path.append(int(pred_row[path[-1]]))
    return path[::-1]


def _yen(index, src, dst, k):
    dist, pred = yen(index.matrix, src, dst, k, return_predecessors=True)
    return [_walk(pred[i], src, dst) for i in range(len(dist))]


def _disjoint(index, src, dst, k):
    keep = np.ones(len(index.arcs), dtype=bool)
    found = []
    for _ in range(k):
        dist, pred = dijkstra(index.weight_matrix(keep), indices=src, return_predecessors=True)
        if not np.isfinite(dist[dst]):
            break
        path = _walk(pred, src, dst)
        found.append(path)
        keep[index.arc_id[path[:-1], path[1:]]] = False
    return found


def solution_from_rates(cands: Candidates, objective: str, status: str, path_rate_bps, objective_value=float("nan"),
                        stats=None):
    """Wrap per-path rates (bit/s, aligned with ``cands.paths``) into a :class:`te.model.Solution`.

    Examples
    --------
    >>> g = nx.DiGraph()
    >>> g.add_edge("a", "b", capacity=10.0, weight=1.0)
    >>> c = Candidates.from_paths(g, [Demand("d", "a", "b", 4.0)], [[("a", "b")]])
    >>> solution_from_rates(c, "demo", "optimal", [4.0]).load_bps
    array([4.])
    """
    from te.model import Solution

    rates = np.asarray(path_rate_bps, dtype=float)
    load = cands.path_arc.T @ rates if len(rates) else np.zeros(len(cands.arcs))
    stats = {"paths": len(cands.paths), **(stats or {})}
    return Solution(objective, status, cands.demands, cands.paths, cands.path_ptr, rates, cands.arcs,
                    cands.capacity_bps, np.asarray(load, dtype=float), float(objective_value), stats)
