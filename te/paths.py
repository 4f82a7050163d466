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

import operator
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import networkx as nx
import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra, yen

from te.errors import InvalidInput, NoPath
from te.model import Arc, Demand, Path, check_magnitudes
from te.progress import report

__all__ = ["Candidates", "PathList", "candidate_paths", "solution_from_rates", "PATH_METHODS"]

PATH_METHODS = ("ksp", "disjoint")


class PathList(Sequence):
    """Read-only sequence of paths (tuples of node names) stored as integer node ids.

    Millions of candidate paths as Python tuples take gigabytes; this keeps one ``int32``
    array of node ids plus offsets and builds a tuple only when a path is read. Slices give
    tuples of paths; it compares equal to any sequence with the same paths.

    Examples
    --------
    >>> paths = PathList(("a", "b", "c"), np.array([0, 2, 5]), np.array([0, 1, 0, 2, 1]))
    >>> len(paths), paths[1], paths
    (2, ('a', 'c', 'b'), (('a', 'b'), ('a', 'c', 'b')))
    >>> paths == (("a", "b"), ("a", "c", "b")), paths[:1]
    (True, (('a', 'b'),))
    """

    __slots__ = ("names", "ptr", "node_ids")

    def __init__(self, names, ptr, node_ids):
        self.names = tuple(names)
        self.ptr = np.asarray(ptr, dtype=np.int64)
        self.node_ids = np.asarray(node_ids)

    def __len__(self):
        return len(self.ptr) - 1

    def __getitem__(self, i):
        if isinstance(i, slice):
            return tuple(self[j] for j in range(*i.indices(len(self))))
        i = operator.index(i)
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError("path index out of range")
        names = self.names
        return tuple(names[n] for n in self.node_ids[self.ptr[i]:self.ptr[i + 1]].tolist())

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __eq__(self, other):
        if isinstance(other, PathList) and other.names == self.names:
            return bool(np.array_equal(self.ptr, other.ptr) and np.array_equal(self.node_ids, other.node_ids))
        try:
            return len(self) == len(other) and all(a == tuple(b) for a, b in zip(self, other))
        except TypeError:
            return NotImplemented

    __hash__ = None

    def __repr__(self):
        return repr(tuple(self))


@dataclass(frozen=True, eq=False)
class Candidates:
    """Demands with their candidate paths, indexed for vectorised model building.

    Attributes
    ----------
    demands : tuple of Demand
    arcs : tuple of (str, str)
        Every arc of the graph, sorted; arc ``j`` has capacity ``capacity_bps[j]``.
    capacity_bps : ndarray
    paths : PathList
        Flat sequence of node-name tuples, built lazily from integer node ids; demand ``i``
        owns ``paths[path_ptr[i]:path_ptr[i + 1]]``.
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
    paths: PathList
    path_ptr: np.ndarray
    path_demand: np.ndarray
    path_hops: np.ndarray
    path_arc: sp.csr_matrix

    @property
    def arc_path(self) -> sp.csr_matrix:
        """``arcs x paths`` incidence (transpose of :attr:`path_arc`)."""
        return self.path_arc.T.tocsr()

    @cached_property
    def requests_bps(self) -> np.ndarray:
        """Each demand's request (bit/s), read once: a Python loop over Kdl's 567,762 demands costs 0.2 s."""
        rates = np.array([d.rate_bps for d in self.demands], dtype=float)
        rates.setflags(write=False)  # shared by every reader
        return rates

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
        nodes, lengths, counts = array("i"), [], []
        for d, paths in zip(demands, paths_per_demand, strict=True):
            for p in paths:
                if p[0] != d.src or p[-1] != d.dst:
                    raise InvalidInput(f"demand {d.id}: path {p} does not join {d.src!r} to {d.dst!r}")
                try:
                    nodes.extend(index.node_index[n] for n in p)
                except KeyError:
                    raise InvalidInput(f"path {tuple(p)} uses a link that is not in the topology") from None
                lengths.append(len(p))
            counts.append(len(paths))
        return index.candidates(demands, np.frombuffer(nodes, dtype=np.int32), np.array(lengths, dtype=np.int64),
                                counts)


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
        self.arc_id = np.full((n, n), -1, dtype=np.int32 if len(self.arcs) < 2 ** 31 else np.int64)
        self.arc_id[tail, head] = np.arange(len(self.arcs))
        self._ones = np.ones(0)  # read-only, shared by the path-arc matrices built here (see candidates)
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

    def path_arcs(self, node_ids, lengths):
        """The arc ids of paths given as one array of node ids and the node count of each (-1: no such arc)."""
        node_ptr = np.concatenate([[0], np.cumsum(lengths)])
        # consecutive node pairs within each path (drop the pair spanning two paths)
        mask = np.ones(max(len(node_ids) - 1, 0), dtype=bool)
        mask[node_ptr[1:-1] - 1] = False
        if not len(node_ids):
            return np.zeros(0, self.arc_id.dtype)
        return self.arc_id[node_ids[:-1][mask], node_ids[1:][mask]]

    def candidates(self, demands, node_ids, lengths, counts, check=True, arc_ids=None):
        """Index paths given as one array of node ids, the node count of each path, and paths per demand.

        Raises :class:`te.errors.InvalidInput` for capacities or requests outside the engine's
        bounds (:func:`te.model.check_magnitudes`), unless ``check`` is false (the same demands
        and arcs were checked already). ``arc_ids``: the paths' :meth:`path_arcs`, if known.
        """
        if check:
            check_magnitudes(self.arcs, self.capacity, demands)
        path_ptr = np.zeros(len(demands) + 1, dtype=np.int64)
        np.cumsum(counts, out=path_ptr[1:])
        node_ids = np.asarray(node_ids, dtype=np.int32)
        lengths = np.asarray(lengths, dtype=np.int64)
        node_ptr = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(lengths, out=node_ptr[1:])
        if arc_ids is None:
            arc_ids = self.path_arcs(node_ids, lengths)
        paths = PathList(self.nodes, node_ptr, node_ids)
        if np.any(arc_ids < 0):
            bad = int(np.searchsorted(np.cumsum(lengths - 1), np.flatnonzero(arc_ids < 0)[0], side="right"))
            raise InvalidInput(f"path {paths[bad]} uses a link that is not in the topology")
        hops = lengths - 1
        arc_ptr = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(hops, out=arc_ptr[1:])
        small = arc_ptr[-1] < 2 ** 31 - 1
        index_type = np.int32 if small else np.int64
        if len(self._ones) < len(arc_ids):
            # column generation builds a matrix of tens of millions of ones every round (Kdl: 21 M): they are
            # one read-only buffer, grown when needed, rather than a new one each time (0.2 s a round)
            self._ones = np.ones(int(len(arc_ids) * 1.25) + 1024)
            self._ones.flags.writeable = False
        path_arc = sp.csr_matrix((self._ones[:len(arc_ids)], arc_ids.astype(index_type, copy=False),
                                  arc_ptr.astype(index_type)), shape=(len(lengths), len(self.arcs)), copy=False)
        return Candidates(
            demands=tuple(demands), arcs=self.arcs, capacity_bps=self.capacity.copy(),
            paths=paths, path_ptr=path_ptr,
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
        Unknown method, ``k < 1``, a demand naming a node not in the graph, or a capacity or
        request outside the engine's bounds (:func:`te.model.check_magnitudes`).
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
    check_magnitudes(index.arcs, index.capacity, demands)  # before the path search, which may take long
    finder = _yen if method == "ksp" else _disjoint
    # Paths of each distinct (src, dst) pair, stored once as flat node ids (no Python tuples kept).
    pair_of: dict[tuple[int, int], int] = {}
    pair_first, pair_count = [], []  # first path and number of paths of each pair
    nodes, lengths = array("i"), array("q")
    demand_pair = np.empty(len(demands), dtype=np.int64)
    for i, d in enumerate(demands):
        if not i % 256:  # minutes on big inputs: say how far, at a negligible cost
            report("paths", i, len(demands))
        for end in (d.src, d.dst):
            if end not in index.node_index:
                raise InvalidInput(f"demand {d.id}: unknown node {end!r}")
        key = (index.node_index[d.src], index.node_index[d.dst])
        pair = pair_of.get(key)
        if pair is None:
            found = index.order(finder(index, key[0], key[1], k))
            if not found:
                raise NoPath(f"demand {d.id}: no path from {d.src!r} to {d.dst!r}")
            pair = pair_of[key] = len(pair_first)
            pair_first.append(len(lengths))
            pair_count.append(len(found))
            for p in found:
                nodes.extend(p)
                lengths.append(len(p))
        demand_pair[i] = pair
    report("paths", len(demands), len(demands))
    node_ids = np.frombuffer(nodes, dtype=np.int32) if len(nodes) else np.zeros(0, dtype=np.int32)
    lengths = np.frombuffer(lengths, dtype=np.int64) if len(lengths) else np.zeros(0, dtype=np.int64)
    counts = np.asarray(pair_count, dtype=np.int64)[demand_pair] if len(demands) else np.zeros(0, dtype=np.int64)
    if len(pair_first) < len(demands):  # repeated pairs: copy their paths per demand
        path_ids = _ranges(np.asarray(pair_first, dtype=np.int64)[demand_pair], counts)
        node_ptr = np.r_[0, np.cumsum(lengths)]
        node_ids = node_ids[_ranges(node_ptr[path_ids], lengths[path_ids])]
        lengths = lengths[path_ids]
    return index.candidates(demands, node_ids, lengths, counts)


def _ranges(starts, counts):
    """Concatenation of ``arange(s, s + c)`` for every (start, count) pair."""
    starts, counts = np.asarray(starts, dtype=np.int64), np.asarray(counts, dtype=np.int64)
    total = int(counts.sum())
    if not total:
        return np.zeros(0, dtype=np.int64)
    offsets = np.r_[0, np.cumsum(counts)[:-1]]
    return np.repeat(starts - offsets, counts) + np.arange(total)


def _odd_keys(rng, size):
    """``size`` random odd 64-bit integers: multiplying by one is a bijection mod 2**64 (hash mixing)."""
    return rng.integers(0, 2 ** 63, size=size, dtype=np.uint64) * np.uint64(2) + np.uint64(1)


def _runs(k0, k1):
    """The (stable) order that sorts the key pairs ``(k0, k1)``, and which sorted positions start a run of
    equal pairs: the first of each run is the first of its pair in the input.

    >>> order, start = _runs(np.array([5, 3, 5], dtype=np.uint64), np.array([1, 2, 1], dtype=np.uint64))
    >>> order.tolist(), start.tolist()
    ([1, 0, 2], [True, True, False])
    """
    order = np.lexsort((k1, k0))
    a, b = k0[order], k1[order]
    start = np.ones(len(order), dtype=bool)
    start[1:] = (a[1:] != a[:-1]) | (b[1:] != b[:-1])
    return order, start


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
