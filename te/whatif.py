"""What-if analysis: failed links and nodes, scaled traffic, single-link failure sweeps, FFC protection.

Everything here is pure (no files, no printing); ``te-solve`` (:mod:`te.cli`) is a thin front end.

A *link* is an unordered node pair ``(u, v)`` with ``u < v``, as in :mod:`te.ffc`: failing it takes
both of its arcs ``u->v`` and ``v->u`` down.

What-if on the input (:func:`apply_whatif`)
-------------------------------------------
Failed links lose both arcs, failed nodes are removed with their arcs (demands from or to them
are *dropped*), every demand's rate is multiplied by ``scale``; demands that are left without any
path are *unrouted*: they get 0 and are listed, they are not an error.

Protection (:func:`protect`)
----------------------------
An FFC allocation (:func:`te.ffc.ffc_solve`) over given candidates, beside the unprotected
optimum over the same candidates (FFC with ``k = 0``), the demands ``k`` failures can cut off
(:func:`cut_off`) and a brute-force check (:func:`te.ffc.check_ffc`) when there are at most
:data:`CHECK_LIMIT` failure sets. Stub links (:func:`stub_links`, a node's only link) can be
taken not to fail: no path avoids them, so protecting against them would cut every demand of
the stub off.

Single-link failure sweep (:func:`link_failure_sweep`)
------------------------------------------------------
For every link of the graph, three answers to "what if it fails":

- *local rescaling* of a given allocation (the unprotected one, and the FFC one if any): every
  ingress re-spreads its demand's normal traffic over its surviving paths in proportion to their
  rates (OpenFlow SELECT groups skipping dead buckets), with no controller involved. A demand with
  no surviving path carrying traffic loses it. Reported: throughput lost and the worst arc
  utilisation, which may exceed 1 (:class:`Outcome`).
- *re-optimisation*: the controller recomputes the objective on the graph without the link.

What is reused between failures, and what is computed per failure:

- Candidate paths are computed once, before the sweep (the solution's own paths; with ``--paths
  auto`` the generated ones). A paths x links incidence, the normal-case loads and every demand's
  rate are computed once per allocation.
- Local rescaling of one failure touches only the demands with a path across the failed link:
  their paths' rates are re-spread (or dropped) and the loads changed by the difference; no other
  demand is looked at, and nothing is solved.
- Re-optimisation starts from the candidate set minus the paths across the link (their node
  arrays are sliced, not searched; only the arc numbering of the graph without the link is
  rebuilt, for the LP and column generation). Only demands left with no candidate path get new
  paths, computed for them alone on the graph without the link (by the same rule as the first
  ones: :func:`te.engine.candidates_for`, or the ``find_paths`` given), in one call per failure;
  a demand with no path at all in that graph gets 0. The other demands' paths are not searched
  again: the re-optimised allocation is the best over the surviving tunnels (what a controller
  with installed tunnels can do at once), and with ``generate`` (``--paths auto``) column
  generation goes on from them to the optimum over all paths.
- No solve at all when no candidate path crosses the link (same problem, same answer), nor, for
  objectives whose optimum is unique in value (max-throughput, min-mlu, max-min, alpha-fair, no
  groups), when only paths without traffic cross it: the no-failure optimum is still feasible,
  hence still optimal.

:attr:`Sweep.stats` counts these: ``path_searches`` (calls of the path finder), ``demands_repathed``,
``solves`` and ``solves_skipped``.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import NamedTuple

import networkx as nx
import numpy as np
import scipy.sparse as sp

from te.engine import DEFAULT_ALPHA, build, candidates_for
from te.errors import InvalidInput
from te.ffc import FFC_OBJECTIVES, check_failures, check_ffc, ffc_solve, kill_sets
from te.model import Demand, Solution
from te.paths import Candidates, PathList, _Index, _ranges
from te.progress import report

__all__ = ["CHECK_LIMIT", "FailureCase", "Outcome", "Protection", "Sweep", "WhatIf", "apply_whatif", "cut_off",
           "failure_set_count", "graph_links", "link_failure_sweep", "local_rescaling", "parse_link", "protect",
           "protection_candidates", "resolve_link", "resolve_node", "stub_links"]

CHECK_LIMIT = 10_000
"""Most failure sets :func:`protect` checks by brute force; above, the check is skipped ("not checked")."""
_UNIQUE_OPTIMUM = ("max-throughput", "min-mlu", "max-min", "alpha-fair")
_SAME = 1e-6  # re-optimised totals this close (share of the base or largest capacity) are equal: FFC's accuracy


# --------------------------------------------------------------------------- names and links

def resolve_node(graph: nx.DiGraph, name) -> str:
    """The node ``name`` means: its id, else the one node with that ``label`` (as demand files name nodes).

    Examples
    --------
    >>> g = nx.DiGraph()
    >>> g.add_nodes_from([("0", {"label": "Seattle"}), ("1", {"label": "Denver"})])
    >>> resolve_node(g, "1"), resolve_node(g, "Seattle")
    ('1', '0')
    >>> resolve_node(g, "Paris")
    Traceback (most recent call last):
    ...
    te.errors.InvalidInput: unknown node 'Paris'
    """
    name = str(name).strip()
    if name in graph:
        return name
    nodes = [n for n, label in graph.nodes(data="label") if label is not None and str(label) == name]
    if len(nodes) > 1:
        raise InvalidInput(f"label {name!r} names {len(nodes)} nodes ({', '.join(map(repr, nodes))}): give the node id")
    if not nodes:
        raise InvalidInput(f"unknown node {name!r}")
    return nodes[0]


def parse_link(text) -> tuple[str, str]:
    """``"U,V"`` as the pair of names ``(U, V)``.

    >>> parse_link("s1, s2")
    ('s1', 's2')
    >>> parse_link("s1")
    Traceback (most recent call last):
    ...
    te.errors.InvalidInput: expected two nodes U,V, got 's1'
    """
    parts = [p.strip() for p in str(text).split(",")]
    if len(parts) != 2 or not all(parts):
        raise InvalidInput(f"expected two nodes U,V, got {text!r}")
    return parts[0], parts[1]


def resolve_link(graph: nx.DiGraph, u, v) -> tuple[str, str]:
    """The link ``(a, b)`` (``a < b``) between the nodes ``u`` and ``v`` name (see :func:`resolve_node`).

    Examples
    --------
    >>> g = nx.DiGraph([("b", "a"), ("b", "c")])
    >>> resolve_link(g, "b", "a"), resolve_link(g, "c", "b")
    (('a', 'b'), ('b', 'c'))
    >>> resolve_link(g, "a", "c")
    Traceback (most recent call last):
    ...
    te.errors.InvalidInput: no link between 'a' and 'c'
    """
    a, b = resolve_node(graph, u), resolve_node(graph, v)
    if not (graph.has_edge(a, b) or graph.has_edge(b, a)):
        raise InvalidInput(f"no link between {a!r} and {b!r}")
    return (a, b) if a < b else (b, a)


def graph_links(graph: nx.DiGraph) -> tuple[tuple[str, str], ...]:
    """Every link of ``graph`` (an arc in either direction), ``(u, v)`` with ``u < v``, sorted.

    >>> graph_links(nx.DiGraph([("b", "a"), ("a", "b"), ("b", "c")]))
    (('a', 'b'), ('b', 'c'))
    """
    return tuple(sorted({(u, v) if u < v else (v, u) for u, v in graph.edges}))


def stub_links(graph: nx.DiGraph) -> frozenset:
    """Links whose one end has no other neighbour (a host's access link): no path of that node avoids it.

    >>> g = nx.DiGraph([("h", "s"), ("s", "h"), ("s", "t"), ("t", "u"), ("u", "s")])
    >>> sorted(stub_links(g))
    [('h', 's')]
    """
    neighbours = {n: set(graph.successors(n)) | set(graph.predecessors(n)) for n in graph}
    return frozenset(link for link in graph_links(graph) if len(neighbours[link[0]]) == 1 or
                     len(neighbours[link[1]]) == 1)


def protection_candidates(graph: nx.DiGraph, demands, k: int = 4, method: str = "disjoint") -> Candidates:
    """Candidate paths (tunnels) for protection: :func:`te.paths.candidate_paths`, with two changes for ``"disjoint"``.

    - A demand from or to a stub node (one neighbour: a host) gets paths disjoint *between its
      switches*, its stub links added at the ends: arc-disjoint paths from the host itself would be
      one path, as they all need its access link.
    - Tunnels must be *link*-disjoint (a failure takes both directions), and the greedy search
      (shortest path, then the shortest avoiding the arcs taken, ...) gives arc-disjoint paths,
      which may cross one link in opposite directions (on Repetita's Abilene, Chicago to Los
      Angeles gets 1-10-7-8-5 and 1-0-2-9-8-7-6-4-5, both through 7-8), and its choices can block
      each other. Unless it gives ``k`` link-disjoint paths, a maximum set of link-disjoint paths
      (max-flow over the links with both directions, :func:`networkx.edge_disjoint_paths`) is taken
      instead when it has more link-disjoint paths, the ``k`` cheapest of them.

    Examples
    --------
    Hosts x and y on switches a and d of a square a-b-d-c-a: two tunnels, not one.

    >>> g = nx.DiGraph()
    >>> for u, v in [("x", "a"), ("a", "b"), ("b", "d"), ("a", "c"), ("c", "d"), ("d", "y")]:
    ...     g.add_edge(u, v, capacity=10.0, weight=1.0); g.add_edge(v, u, capacity=10.0, weight=1.0)
    >>> protection_candidates(g, [Demand("h", "x", "y", 1.0)], k=4).paths
    (('x', 'a', 'b', 'd', 'y'), ('x', 'a', 'c', 'd', 'y'))

    A greedy trap: the shortest path s-a-b-t blocks both detours, max-flow finds two.

    >>> g = nx.DiGraph()
    >>> for u, v, w in [("s", "a", 1), ("a", "b", 1), ("b", "t", 1), ("s", "b", 5), ("a", "t", 5)]:
    ...     g.add_edge(u, v, capacity=1.0, weight=float(w)); g.add_edge(v, u, capacity=1.0, weight=float(w))
    >>> protection_candidates(g, [Demand("d", "s", "t", 1.0)], k=2).paths
    (('s', 'a', 't'), ('s', 'b', 't'))
    """
    from te.paths import candidate_paths

    demands = tuple(demands)
    if method != "disjoint":
        return candidate_paths(graph, demands, k=k, method=method)
    neighbours = {n: set(graph.successors(n)) | set(graph.predecessors(n)) for n in graph}

    def trunk(node, inward):
        if node not in neighbours or len(neighbours[node]) != 1:
            return node
        (switch,) = neighbours[node]
        return switch if (graph.has_edge(node, switch) if inward else graph.has_edge(switch, node)) else node

    def cost(p):
        return (round(sum(graph[u][v].get("weight", 1.0) for u, v in zip(p, p[1:])), 9), len(p), p)

    ends = [(trunk(d.src, True), trunk(d.dst, False)) for d in demands]
    inner = [(i, Demand(d.id, a, b, d.rate_bps)) for i, (d, (a, b)) in enumerate(zip(demands, ends)) if a != b]
    core = candidate_paths(graph, [d for _, d in inner], k=k, method=method) if inner else None
    per_demand = [[tuple(dict.fromkeys((d.src, a, b, d.dst)))] for d, (a, b) in zip(demands, ends)]  # a == b
    flows, links = {}, None
    for n, (i, inside) in enumerate(inner):
        d = demands[i]
        found = list(core.paths[core.path_ptr[n]:core.path_ptr[n + 1]])
        disjoint = _link_disjoint(found)
        if not (disjoint and len(found) >= k):
            pair = (inside.src, inside.dst)
            if pair not in flows:
                if links is None:  # links usable both ways: a path over them is a path either way
                    links = nx.Graph([(u, v) for u, v in graph.edges if graph.has_edge(v, u)])
                try:
                    flows[pair] = sorted((tuple(p) for p in nx.edge_disjoint_paths(links, *pair, cutoff=k)),
                                         key=cost)[:k]
                except (nx.NetworkXNoPath, nx.NetworkXError, nx.NodeNotFound):
                    flows[pair] = []
            if len(flows[pair]) > (len(found) if disjoint else 1):
                found = flows[pair]
        per_demand[i] = [(*((d.src,) if d.src != p[0] else ()), *p, *((d.dst,) if d.dst != p[-1] else ()))
                         for p in found]
    return Candidates.from_paths(graph, demands, per_demand)


def _link_disjoint(paths) -> bool:
    """Whether no two of ``paths`` cross one link (in either direction).

    >>> _link_disjoint([("a", "b", "c"), ("a", "c")]), _link_disjoint([("a", "b", "c"), ("c", "b", "d")])
    (True, False)
    """
    seen = set()
    for p in paths:
        for link in {frozenset(arc) for arc in zip(p, p[1:])}:
            if link in seen:
                return False
            seen.add(link)
    return True


def _without(graph, failed_links):
    """A view of ``graph`` without both arcs of every link in ``failed_links``."""
    arcs = [(u, v) for a, b in failed_links for u, v in ((a, b), (b, a)) if graph.has_edge(u, v)]
    return nx.restricted_view(graph, [], arcs)


def reachable(graph: nx.DiGraph, demands) -> np.ndarray:
    """One bool per demand: whether its destination can be reached from its source.

    >>> g = nx.DiGraph([("a", "b")])
    >>> reachable(g, [Demand("x", "a", "b", 1.0), Demand("y", "b", "a", 1.0)]).tolist()
    [True, False]
    """
    seen = {}
    out = np.zeros(len(demands), dtype=bool)
    for i, d in enumerate(demands):
        if d.src not in graph or d.dst not in graph:
            continue
        if d.src not in seen:
            seen[d.src] = nx.descendants(graph, d.src)
        out[i] = d.dst in seen[d.src]
    return out


# --------------------------------------------------------------------------- what-if on the input

@dataclass(frozen=True, eq=False)
class WhatIf:
    """The input after :func:`apply_whatif`: what to route, and what was failed, scaled and left out."""

    graph: nx.DiGraph
    """The topology without the failed links and nodes (a copy)."""
    demands: tuple
    """The demands to route: scaled, none from or to a failed node, each with a path."""
    failed_links: tuple = ()
    failed_nodes: tuple = ()
    scale: float = 1.0
    dropped: tuple = ()
    """Demands from or to a failed node (as given, not scaled)."""
    unrouted: tuple = ()
    """Demands (scaled) with no path left: they get 0."""

    def to_dict(self) -> dict:
        return {"failed_links": [list(link) for link in self.failed_links], "failed_nodes": list(self.failed_nodes),
                "scale": self.scale, "dropped_demands": [d.id for d in self.dropped],
                "unrouted_demands": [{"id": d.id, "src": d.src, "dst": d.dst, "requested_bps": d.rate_bps,
                                      "allocated_bps": 0.0} for d in self.unrouted]}


def apply_whatif(graph: nx.DiGraph, demands, fail_links=(), fail_nodes=(), scale: float = 1.0) -> WhatIf:
    """Fail links and nodes and scale the demands (see the module notes).

    Parameters
    ----------
    graph : networkx.DiGraph
    demands : sequence of Demand
    fail_links : iterable of (str, str)
        Links as node pairs (ids or labels, either order; :func:`resolve_link`): both arcs go.
    fail_nodes : iterable of str
        Nodes (ids or labels): removed with their arcs; demands from or to them are dropped.
    scale : float
        Every demand's rate is multiplied by it (> 0).

    Raises
    ------
    te.errors.InvalidInput
        An unknown node or link, a scale that is not a finite number > 0, a scaled rate beyond the
        engine's bounds.

    Examples
    --------
    A triangle a-b-c and a stub d hanging off c; failing a-b and c drops z (b->c) and leaves x and y
    without a path:

    >>> g = nx.DiGraph()
    >>> for u, v in [("a", "b"), ("b", "c"), ("a", "c"), ("c", "d")]:
    ...     g.add_edge(u, v, capacity=10.0); g.add_edge(v, u, capacity=10.0)
    >>> ds = [Demand("x", "a", "b", 2.0), Demand("y", "a", "d", 2.0), Demand("z", "b", "c", 2.0)]
    >>> w = apply_whatif(g, ds, fail_links=[("b", "a")], fail_nodes=["c"], scale=1.5)
    >>> w.failed_links, [d.id for d in w.dropped], [d.id for d in w.unrouted], w.demands
    ((('a', 'b'),), ['z'], ['x', 'y'], ())
    >>> w.graph.number_of_edges(), w.unrouted[0].rate_bps
    (0, 3.0)
    """
    scale = float(scale)
    if not math.isfinite(scale) or scale <= 0:
        raise InvalidInput(f"scale must be a finite number > 0, got {scale!r}")
    links = tuple(dict.fromkeys(resolve_link(graph, u, v) for u, v in fail_links))
    nodes = tuple(dict.fromkeys(resolve_node(graph, n) for n in fail_nodes))
    g = graph.copy()
    for a, b in links:
        for u, v in ((a, b), (b, a)):
            if g.has_edge(u, v):
                g.remove_edge(u, v)
    g.remove_nodes_from(nodes)
    gone = set(nodes)
    dropped = tuple(d for d in demands if d.src in gone or d.dst in gone)
    kept = []
    for d in demands:
        if d.src in gone or d.dst in gone:
            continue
        try:
            kept.append(d if scale == 1.0 else Demand(d.id, d.src, d.dst, d.rate_bps * scale, d.weight, d.priority,
                                                      d.group))
        except InvalidInput as exc:
            raise InvalidInput(f"scale {scale:g}: {exc}") from None
    ok = reachable(g, kept)
    return WhatIf(g, tuple(d for d, r in zip(kept, ok) if r), links, nodes, scale, dropped,
                  tuple(d for d, r in zip(kept, ok) if not r))


# --------------------------------------------------------------------------- protection (FFC)

def cut_off(cands: Candidates, k: int, fixed=frozenset()) -> np.ndarray:
    """One bool per demand: whether ``k`` link failures (not of ``fixed``) can kill all its paths (or it has none).

    FFC gives such a demand 0 (:mod:`te.ffc`).

    >>> g = nx.DiGraph()
    >>> for u, v in [("s", "a"), ("a", "t"), ("s", "b"), ("b", "t")]:
    ...     g.add_edge(u, v, capacity=10.0)
    >>> c = Candidates.from_paths(g, [Demand("one", "s", "t", 1.0), Demand("two", "s", "t", 1.0)],
    ...                           [[("s", "a", "t")], [("s", "a", "t"), ("s", "b", "t")]])
    >>> cut_off(c, 1).tolist(), cut_off(c, 2).tolist(), cut_off(c, 1, fixed={("a", "s"), ("a", "t")}).tolist()
    ([True, False], [True, True], [False, False])
    """
    counts = np.diff(cands.path_ptr)
    kills = kill_sets(cands, k, fixed=fixed)
    return np.array([counts[i] == 0 or any(len(s) == counts[i] for s in kills[i]) for i in range(len(counts))],
                    dtype=bool)


def failure_set_count(cands: Candidates, k: int, fixed=frozenset()) -> int:
    """How many failure sets :func:`te.ffc.check_ffc` tries: at most ``k`` of the links tunnels cross (not ``fixed``),
    the empty set included.

    >>> g = nx.DiGraph([("a", "b", {"capacity": 1.0}), ("b", "c", {"capacity": 1.0}), ("c", "d", {"capacity": 1.0})])
    >>> c = Candidates.from_paths(g, [Demand("d", "a", "d", 1.0)], [[("a", "b", "c", "d")]])
    >>> failure_set_count(c, 1), failure_set_count(c, 2), failure_set_count(c, 2, fixed={("a", "b")})
    (4, 7, 4)
    """
    used = {tuple(sorted(cands.arcs[j])) for j in np.unique(cands.path_arc.indices).tolist()} - set(fixed)
    return sum(math.comb(len(used), i) for i in range(check_failures(k) + 1))


@dataclass(frozen=True, eq=False)
class Protection:
    """An FFC allocation with what it costs and whether it holds (:func:`protect`)."""

    k: int
    solution: Solution
    """The FFC allocation: normal-case path rates; ``stats["tunnel_bps"]``, the tunnel reservations."""
    unprotected: Solution
    """The same objective over the same paths without protection (FFC with ``k = 0``)."""
    cut_off: tuple
    """Ids of the demands ``k`` failures can cut off (they get 0)."""
    fixed: frozenset
    """Links taken not to fail."""
    failure_sets: int
    violations: list | None
    """:func:`te.ffc.check_ffc`'s findings; None when not checked (more than the limit of failure sets)."""

    @property
    def cost(self) -> float:
        """Fraction of the unprotected total that protection gives up (0 when that total is 0)."""
        free = self.unprotected.total_allocated_bps
        return max(0.0, (free - self.solution.total_allocated_bps) / free) if free > 0 else 0.0

    def to_dict(self) -> dict:
        return {"k": self.k, "unprotected_total_bps": self.unprotected.total_allocated_bps,
                "protected_total_bps": self.solution.total_allocated_bps, "cost": self.cost,
                "cut_off": len(self.cut_off), "cut_off_demands": list(self.cut_off),
                "violations": None if self.violations is None else len(self.violations),
                "failure_sets": self.failure_sets, "fixed_links": [list(link) for link in sorted(self.fixed)]}


def protect(cands: Candidates, k: int, objective: str = "max-min", fixed=frozenset(),
            check_limit: int = CHECK_LIMIT) -> Protection:
    """The FFC allocation protecting every demand against ``k`` link failures, its cost, and its check.

    Parameters
    ----------
    cands : te.paths.Candidates
        The tunnels.
    k : int
        0 to 3.
    objective : {"max-min", "max-throughput"}
    fixed : collection of (str, str)
        Links that do not fail (e.g. :func:`stub_links`).
    check_limit : int
        Brute-force check (:func:`te.ffc.check_ffc`) only when there are at most this many failure sets.

    Examples
    --------
    One demand of 30 over two disjoint paths of 10: 20 unprotected, 10 protected (cost one half).

    >>> from te.paths import candidate_paths
    >>> g = nx.DiGraph()
    >>> for u, v in [("s", "a"), ("a", "t"), ("s", "b"), ("b", "t")]:
    ...     g.add_edge(u, v, capacity=10.0, weight=1.0)
    >>> p = protect(candidate_paths(g, [Demand("d", "s", "t", 30.0)], k=2), 1, "max-throughput")
    >>> p.solution.total_allocated_bps, p.unprotected.total_allocated_bps, p.cost, p.cut_off, p.violations
    (10.0, 20.0, 0.5, (), [])
    >>> p.to_dict()["failure_sets"], p.solution.stats["tunnel_bps"]
    (5, [10.0, 10.0])
    """
    k = check_failures(k)
    if objective not in FFC_OBJECTIVES:
        raise InvalidInput(f"protection works with {' or '.join(FFC_OBJECTIVES)}, not {objective!r}")
    fixed = frozenset(fixed)
    solution = ffc_solve(cands, k, objective, fixed=fixed)
    unprotected = solution if k == 0 else ffc_solve(cands, 0, objective)
    cut = cut_off(cands, k, fixed) if k else np.zeros(len(cands.demands), dtype=bool)
    sets = failure_set_count(cands, k, fixed)
    violations = check_ffc(cands, solution, k, fixed=fixed) if sets <= check_limit else None
    return Protection(k, solution, unprotected, tuple(d.id for d, c in zip(cands.demands, cut) if c), fixed, sets,
                      violations)


# --------------------------------------------------------------------------- local rescaling

class Outcome(NamedTuple):
    """An allocation after a failure, with local rescaling at the ingress switches."""

    lost_bps: float
    """Traffic of the demands whose every path with traffic died."""
    max_utilization: float
    """Worst arc load over capacity (may exceed 1)."""
    worst_arc: tuple | None
    cut_off: tuple
    """Ids of the demands that lost everything."""

    def to_dict(self) -> dict:
        return {"lost_bps": self.lost_bps, "max_utilization": self.max_utilization,
                "worst_link": None if self.worst_arc is None else list(self.worst_arc),
                "cut_off_demands": list(self.cut_off)}


def _candidates_of(graph: nx.DiGraph, solution: Solution) -> Candidates:
    """``solution``'s demands and paths as :class:`~te.paths.Candidates` over ``graph`` (indexed, not searched)."""
    index = _Index(graph)
    if index.arcs != tuple(solution.arcs):
        raise InvalidInput("the solution was not computed on this graph (its links differ)")
    counts = np.diff(solution.path_ptr)
    paths = solution.paths
    if isinstance(paths, PathList) and paths.names == tuple(index.nodes):
        return index.candidates(solution.demands, paths.node_ids, np.diff(paths.ptr), counts)
    ptr = np.asarray(solution.path_ptr)
    return Candidates.from_paths(graph, solution.demands, [paths[ptr[i]:ptr[i + 1]] for i in range(len(counts))])


def _link_incidence(cands: Candidates, links) -> sp.csc_matrix:
    """``paths x links`` 0/1 (CSC: the paths across each link are one slice)."""
    index = {link: j for j, link in enumerate(links)}
    arc_link = np.array([index[(u, v) if u < v else (v, u)] for u, v in cands.arcs], dtype=np.int64)
    pa = cands.path_arc.tocoo()
    m = sp.csc_matrix((np.ones(pa.nnz), (pa.row, arc_link[pa.col])), shape=(len(cands.paths), len(links)))
    m.data[:] = 1.0
    return m


class _Rescaler:
    """One allocation with what local rescaling needs, computed once: incidence, loads, demand rates."""

    def __init__(self, cands: Candidates, rates, links):
        self.cands = cands
        self.rates = np.asarray(rates, dtype=float)
        self.owner = cands.path_demand
        self.granted = np.bincount(self.owner, self.rates, minlength=len(cands.demands))
        self.load = np.asarray(cands.path_arc.T @ self.rates, dtype=float)
        self.capacity = cands.capacity_bps
        self.link_paths = _link_incidence(cands, links)
        self.path_arc = cands.path_arc

    def dead_paths(self, link_ids) -> np.ndarray:
        lp = self.link_paths
        return np.unique(np.concatenate([lp.indices[lp.indptr[j]:lp.indptr[j + 1]] for j in link_ids] or
                                        [np.zeros(0, np.int64)]))

    def after(self, link_ids) -> tuple[Outcome, int]:
        """The outcome of failing the links ``link_ids``, and how many demands had a path across them."""
        dead = self.dead_paths(link_ids)
        affected = np.unique(self.owner[dead])
        ptr = self.cands.path_ptr
        paths = _ranges(ptr[affected], ptr[affected + 1] - ptr[affected])  # every path of an affected demand
        old = self.rates[paths]
        alive = ~np.isin(paths, dead)
        local = np.searchsorted(affected, self.owner[paths])
        kept = np.bincount(local, np.where(alive, old, 0.0), minlength=len(affected))
        granted = self.granted[affected]
        with np.errstate(divide="ignore", invalid="ignore"):
            factor = np.where(kept > 0, granted / kept, 0.0)
        new = np.where(alive, old * factor[local], 0.0)
        load = self.load.copy()
        if len(paths):
            load += np.asarray(self.path_arc[paths].T @ (new - old), dtype=float)
        load = np.maximum(load, 0.0)
        lost_mask = (kept <= 0) & (granted > 0)
        util = load / self.capacity
        worst = int(np.argmax(util)) if len(util) else None
        demands = self.cands.demands
        outcome = Outcome(float(granted[lost_mask].sum()), float(util[worst]) if worst is not None else 0.0,
                          None if worst is None else tuple(self.cands.arcs[worst]),
                          tuple(demands[i].id for i in affected[lost_mask].tolist()))
        return outcome, len(affected)


def local_rescaling(graph: nx.DiGraph, solution: Solution, failed_links) -> Outcome:
    """What ``solution``'s traffic does when ``failed_links`` fail and every ingress rescales locally.

    Each demand re-spreads its rate over its surviving paths in proportion to their rates; a demand
    with no surviving path carrying traffic loses it. Loads are not capped: utilisation may exceed 1.

    Examples
    --------
    Demand x (6) split 4/2 over a-b-d and a-c-d, demand y (3) on a-c-d only; all links 10. When a-b
    fails, x moves all 6 onto a-c-d, which then carries 9: 90%. When c-d fails, y is cut off (3
    lost) and x moves to a-b-d.

    >>> from te.paths import solution_from_rates
    >>> g = nx.DiGraph()
    >>> for u, v in [("a", "b"), ("b", "d"), ("a", "c"), ("c", "d")]:
    ...     g.add_edge(u, v, capacity=10.0); g.add_edge(v, u, capacity=10.0)
    >>> c = Candidates.from_paths(g, [Demand("x", "a", "d", 6.0), Demand("y", "a", "d", 3.0)],
    ...                           [[("a", "b", "d"), ("a", "c", "d")], [("a", "c", "d")]])
    >>> sol = solution_from_rates(c, "max-throughput", "optimal", [4.0, 2.0, 3.0])
    >>> local_rescaling(g, sol, [("a", "b")])
    Outcome(lost_bps=0.0, max_utilization=0.9, worst_arc=('a', 'c'), cut_off=())
    >>> local_rescaling(g, sol, [("c", "d")])
    Outcome(lost_bps=3.0, max_utilization=0.6, worst_arc=('a', 'b'), cut_off=('y',))
    """
    links = graph_links(graph)
    index = {link: j for j, link in enumerate(links)}
    failed = [index[resolve_link(graph, u, v)] for u, v in failed_links]
    return _Rescaler(_candidates_of(graph, solution), solution.path_rate_bps, links).after(failed)[0]


# --------------------------------------------------------------------------- the sweep

@dataclass(frozen=True)
class FailureCase:
    """One link failure in a sweep (:func:`link_failure_sweep`)."""

    link: tuple
    demands_affected: int
    """Demands with a candidate path across the link."""
    unprotected: Outcome
    """Local rescaling of the unprotected allocation."""
    protected: Outcome | None
    """Local rescaling of the FFC allocation (None without one)."""
    reoptimised_bps: float
    """Total allocated when the controller re-solves the objective without the link."""
    reoptimised_lost_bps: float
    """The no-failure total minus that (negative: a failure can change a fair share's total either way)."""
    reoptimised_max_utilization: float
    repathed: tuple = ()
    """Demands that lost every candidate path and got new ones."""
    unroutable: tuple = ()
    """Demands with no path at all without the link (they get 0)."""
    solved: bool = True
    """False when the no-failure allocation was reused (see the module notes)."""

    def to_dict(self) -> dict:
        return {"link": list(self.link), "demands_affected": self.demands_affected,
                "unprotected": self.unprotected.to_dict(),
                "protected": None if self.protected is None else self.protected.to_dict(),
                "reoptimised": {"total_bps": self.reoptimised_bps, "lost_bps": self.reoptimised_lost_bps,
                                "max_utilization": self.reoptimised_max_utilization,
                                "repathed_demands": list(self.repathed), "unroutable_demands": list(self.unroutable),
                                "solved": self.solved}}


@dataclass(frozen=True)
class Sweep:
    """Every single link failure, worst first (:func:`link_failure_sweep`)."""

    cases: tuple
    base_bps: float
    """Total of the unprotected allocation with no failure."""
    base_max_utilization: float
    protected_base_bps: float | None = None
    stats: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"k": 1, "links": len(self.cases), "no_failure_total_bps": self.base_bps,
                "no_failure_max_utilization": self.base_max_utilization,
                "protected_no_failure_total_bps": self.protected_base_bps, "stats": self.stats,
                "cases": [c.to_dict() for c in self.cases]}


def _worst_first(case: FailureCase):
    return (-case.unprotected.lost_bps, -case.unprotected.max_utilization,
            -(case.protected.lost_bps if case.protected else 0.0), -case.reoptimised_lost_bps, case.link)


def link_failure_sweep(graph: nx.DiGraph, solution: Solution, objective: str, protected: Solution | None = None, *,
                       paths=4, path_method="ksp", generate=False, max_paths=None, alpha=DEFAULT_ALPHA,
                       groups=None, links=None, find_paths=None) -> Sweep:
    """Fail every link of ``graph`` alone: local rescaling of ``solution`` (and ``protected``), and re-optimisation.

    Parameters
    ----------
    graph : networkx.DiGraph
        The graph ``solution`` was computed on.
    solution : te.model.Solution
        The unprotected allocation (with no failure) of ``objective``. Its paths are the candidate
        set the re-optimisation starts from.
    objective : str
        What the controller re-solves after a failure (any of :data:`te.engine.OBJECTIVES`).
    protected : te.model.Solution, optional
        An FFC allocation (:func:`protect`) on the same graph, rescaled locally too.
    paths, path_method :
        How new paths are found for demands that lose every candidate (as the first ones were:
        :func:`te.engine.candidates_for`).
    generate, max_paths, alpha, groups :
        As for :func:`te.engine.build` (``generate``: column generation, ``--paths auto``).
    links : sequence of (str, str), optional
        The links to fail (default every link of ``graph``).
    find_paths : callable, optional
        ``find_paths(graph, demands) -> Candidates``, the new paths of demands left with none
        (default :func:`te.engine.candidates_for` with ``paths`` and ``path_method``; te-solve passes
        :func:`protection_candidates` under protection). Called once per failure that leaves some
        demand without a candidate path, with those demands only.

    Returns
    -------
    Sweep
        Cases sorted worst first: by throughput the unprotected allocation loses, then its
        utilisation, then the protected one's loss and the re-optimised loss. ``stats``: ``links``,
        ``path_searches``, ``demands_repathed``, ``solves``, ``solves_skipped``, ``seconds``.

    Examples
    --------
    A square a-b-d-c-a of 10 bit/s links with demand x a->d of 12; max-throughput splits it
    6/6 over the two 2-hop paths. When any link fails, local rescaling pushes 12 onto the other
    path (120%), nothing is lost; the controller re-solving gets 10.

    >>> from te.engine import solve
    >>> g = nx.DiGraph()
    >>> for u, v in [("a", "b"), ("b", "d"), ("a", "c"), ("c", "d")]:
    ...     g.add_edge(u, v, capacity=10.0, weight=1.0); g.add_edge(v, u, capacity=10.0, weight=1.0)
    >>> sol = solve(g, [Demand("x", "a", "d", 12.0)], "max-throughput", k=2)
    >>> s = link_failure_sweep(g, sol, "max-throughput", paths=2)
    >>> [(c.link, c.unprotected.lost_bps, round(c.unprotected.max_utilization, 6), round(c.reoptimised_bps, 6))
    ...  for c in s.cases][:2]
    [(('a', 'b'), 0.0, 1.2, 10.0), (('a', 'c'), 0.0, 1.2, 10.0)]
    >>> s.stats["path_searches"], s.stats["solves"]
    (0, 4)
    """
    t0 = time.perf_counter()
    if find_paths is None:
        def find_paths(g, demands):
            return candidates_for(g, demands, objective, k=paths, path_method=path_method, groups=groups)
    links = graph_links(graph) if links is None else tuple(resolve_link(graph, u, v) for u, v in links)
    all_links = graph_links(graph)
    link_index = {link: j for j, link in enumerate(all_links)}
    base_cands = _candidates_of(graph, solution)
    plain = _Rescaler(base_cands, solution.path_rate_bps, all_links)
    ffc = None if protected is None else _Rescaler(_candidates_of(graph, protected), protected.path_rate_bps,
                                                   all_links)
    base_total = solution.total_allocated_bps
    base_mlu = solution.max_link_utilization
    unique = objective in _UNIQUE_OPTIMUM and not groups and not any(d.group is not None for d in solution.demands)
    stats = {"links": len(links), "path_searches": 0, "demands_repathed": 0, "solves": 0, "solves_skipped": 0}
    cases = []
    for n, link in enumerate(links):
        report("single link failures", n, len(links))
        j = link_index[link]
        unprotected, affected = plain.after([j])
        safe = None if ffc is None else ffc.after([j])[0]
        dead = plain.dead_paths([j])
        if not len(dead) or (unique and not np.any(solution.path_rate_bps[dead] > 0)):
            stats["solves_skipped"] += 1
            cases.append(FailureCase(link, affected, unprotected, safe, base_total, 0.0, base_mlu, solved=False))
            continue
        g = _without(graph, [link])
        cands, repathed, unroutable = _surviving(g, base_cands, dead, find_paths, stats)
        model = build(cands, objective, generate=generate, max_paths=max_paths if generate else None, alpha=alpha,
                      groups=groups)
        sol = model.solve()
        stats["solves"] += 1
        total = sol.total_allocated_bps
        lost = base_total - total
        if abs(lost) <= _SAME * max(base_total, float(np.max(sol.capacity_bps, initial=0.0))):
            lost = 0.0  # solver tolerance (te.lp re-solving FFC's k = 0 base), not a change
        cases.append(FailureCase(link, affected, unprotected, safe, total, lost,
                                 sol.max_link_utilization, repathed, unroutable))
    report("single link failures", len(links), len(links))
    stats["seconds"] = time.perf_counter() - t0
    return Sweep(tuple(sorted(cases, key=_worst_first)), base_total, base_mlu,
                 None if protected is None else protected.total_allocated_bps, stats)


def _surviving(g, base: Candidates, dead, find_paths, stats):
    """The candidates on ``g``: ``base`` without the ``dead`` paths, new paths only for demands left with none.

    Returns (Candidates over g without the unroutable demands, ids repathed, ids unroutable).
    """
    demands = base.demands
    alive = np.ones(len(base.paths), dtype=bool)
    alive[dead] = False
    counts = np.bincount(base.path_demand[alive], minlength=len(demands))
    orphans = np.flatnonzero(counts == 0)
    ptr = np.asarray(base.paths.ptr)
    lengths = np.diff(ptr)
    keep = np.flatnonzero(alive)
    nodes = [np.asarray(base.paths.node_ids)[_ranges(ptr[keep], lengths[keep])]]
    path_len, owners = [lengths[keep]], [base.path_demand[keep]]
    repathed, unroutable = (), ()
    if len(orphans):
        ok = reachable(g, [demands[i] for i in orphans])
        unroutable = tuple(demands[i].id for i in orphans[~ok])
        found = orphans[ok]
        if len(found):
            stats["path_searches"] += 1
            stats["demands_repathed"] += len(found)
            new = find_paths(g, [demands[i] for i in found])
            if tuple(new.paths.names) != tuple(base.paths.names):
                raise InvalidInput("new paths are over other nodes than the candidates")  # same graph: never
            nodes.append(np.asarray(new.paths.node_ids))
            path_len.append(np.diff(new.paths.ptr))
            owners.append(found[new.path_demand])
            counts[found] = np.diff(new.path_ptr)
            repathed = tuple(demands[i].id for i in found)
    node_ids, path_len, owners = np.concatenate(nodes), np.concatenate(path_len), np.concatenate(owners)
    order = np.argsort(owners, kind="stable")  # by demand, each demand's paths in their order
    start = np.concatenate([[0], np.cumsum(path_len)])[:-1]
    node_ids = node_ids[_ranges(start[order], path_len[order])]
    routed = counts > 0
    return (_Index(g).candidates(tuple(d for d, r in zip(demands, routed) if r), node_ids, path_len[order],
                                 counts[routed]), repathed, unroutable)
