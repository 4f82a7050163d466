"""Forward Fault Correction (FFC; Liu et al., SIGCOMM 2014): allocations that survive any ``k`` link failures.

The model
---------
Each demand ``i`` has *tunnels*, its candidate paths ``t``, with a tunnel allocation
``a_it >= 0`` (bit/s), and a granted rate ``b_i`` with ``0 <= b_i <= r_i`` (its request). The
ingress switch sends ``b_i`` over the tunnels in proportion to ``a_it`` (the bucket weights of an
OpenFlow SELECT group), so in the normal case tunnel ``t`` carries ``b_i a_it / S_i`` with
``S_i = sum_t a_it``. When links fail, every tunnel through a failed link dies and the ingress
re-spreads ``b_i`` over the surviving tunnels in proportion to their ``a`` (local rescaling in
the data plane: Open vSwitch skips the buckets of dead ports; no controller round trip).

A *link* is an unordered node pair: its failure takes both directions (both arcs ``u->v`` and
``v->u``) down, which is what a cut fibre or a port going down does. Capacities stay per arc.
Protecting against ``k`` link failures also protects against any ``k`` arc failures.

The LP (:func:`ffc_solve`):

- capacity: for every arc ``e``, ``sum of a_it over tunnels through e <= c_e``;
- FFC: for every protected demand ``i`` and every set ``F`` of at most ``k`` failed links,
  ``b_i <= sum of a_it over the tunnels t of i that avoid F``;
- an unprotected demand (``protect``; and every demand when ``k = 0``) only has
  ``b_i <= S_i``: its normal-case traffic ``b_i a_it / S_i`` is then at most ``a_it``.

Why that is enough: in every failure case ``F`` the surviving tunnel ``t`` of a protected demand
carries ``b_i a_it / S_i(F) <= a_it`` (``S_i(F)``, the surviving allocation, is at least ``b_i``),
and dead tunnels carry nothing, so every surviving arc carries at most ``sum a <= c_e``. No
demand loses any of ``b_i``. :func:`check_ffc` verifies exactly this by brute force.

Exact encoding by enumeration
-----------------------------
A failure set ``F`` enters demand ``i``'s constraint only through the set ``K_i(F)`` of ``i``'s
tunnels it kills, ``K_i(F) = union over l in F of K_i({l})``, and a link on none of ``i``'s
tunnels kills none. So the constraints for all ``F`` (exponentially many, over every link of the
network) are exactly those for the *kill sets*: unions of at most ``k`` of the sets ``K_i({l})``,
``l`` a link on ``i``'s tunnels. A kill set contained in another gives a weaker constraint
(``a >= 0``), so only the maximal ones are kept (:func:`kill_sets`). Nothing is relaxed or
sampled: the LP's feasible set is exactly FFC's. Size per demand: with ``k = 1`` at most one row
per distinct link on its tunnels (fewer after merging equal and contained kill sets); in general
at most ``min(C(L_i, k), C(P_i, P_i // 2))`` rows for ``L_i >= k`` links and ``P_i`` tunnels (the
kill sets are an antichain of subsets of the tunnels, Sperner), e.g. 6 for 4 tunnels, and exactly
``P_i`` for ``P_i`` link-disjoint tunnels and ``k = 1``. (Arc-disjoint paths, as ``"disjoint"``
finds them, may still share a link in opposite directions.) A kill set of *every* tunnel forces
``b_i = 0``: ``k`` failures can cut the demand off over its tunnels; ``max-min`` freezes such
demands at 0 before its first LP. Enumerating costs ``O(k * L_i * 2**P_i)`` set operations per
demand at worst: 20-40 ms for Geant2012's 1560 demands and k = 1 to 3.

Objectives
----------
- ``max-throughput``: maximise ``sum b_i``, with the tie-break of :mod:`te.lp` (a cost per
  bit/s of tunnel allocation of at most 1e-4 of a unit of ``b``, growing with the tunnel's hops,
  divided by the most tunnels a demand has): among optima, the least allocation on the shortest
  tunnels.
- ``max-min``: weighted max-min fairness on ``b_i / w_i`` with strict priority classes (highest
  first), capped at requests, as :mod:`te.lp`'s ``max-min``: progressive filling by LPs. Within
  a class, demands whose cap level ``r_i / w_i`` is below a proven lower bound of the water level
  are held at their request, the others must get ``w_i t``, ``t`` is maximised; when ``t`` passes
  a cap level the bound rises and the LP is solved again. Then the demands whose level row has
  a positive dual (tight in every optimum: they cannot grow without another growing demand
  dropping below ``t``) are frozen at ``w_i t``, at least one per LP. A last LP places every
  demand at its value with the least allocation (tie-break as above).

``k = 0`` is the plain objective over the same tunnels (``b_i <= S_i`` only), so its allocations
are those of :func:`te.engine.build` over the same candidates.

Output
------
A :class:`te.model.Solution` whose path rates are the *normal-case traffic*
``b_i a_it / S_i`` (so ``allocated_bps`` is ``b``), and ``stats["tunnel_bps"]``, the tunnel
allocations ``a`` aligned with the paths: the weights of the SELECT group's buckets. Per demand
they are proportional to the normal-case traffic (they differ in scale only, ``S_i / b_i``), so
either gives the same split; ``a`` also says how much of each arc the demand reserves.

Exactness
---------
Every LP is in units of the largest capacity, with each arc's row divided by its capacity, so
HiGHS's tolerances (about 1e-7) are relative to it. After solving, the allocations are made
exactly feasible (``a`` clipped at 0 and scaled down on any arc over capacity, then ``b`` lowered
to its least surviving allocation): every output is exactly protected (to float rounding), and
optimal to 1e-6 of the largest capacity (the tests' bound; measured about 1e-9 on B4, Abilene and
Geant2012 at ``k = 0`` against :mod:`te.lp`). That is relative to the largest capacity, not to
each demand as in :mod:`te.lp`: a demand far below the links is exact only to that.

Unprotected demands get no guarantee: :func:`check_ffc` holds them to their normal-case traffic
on their surviving tunnels (the rest is lost). If the data plane re-spreads them too, the excess
falls on them only if they are queued below the protected ones.
"""
from __future__ import annotations

import itertools
from numbers import Integral
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp

from te.errors import InvalidInput
from te.lp import _HOP_PENALTY, _check, _linprog
from te.model import Solution
from te.paths import Candidates, solution_from_rates

__all__ = ["FFC_OBJECTIVES", "MAX_FAILURES", "Violation", "check_failures", "check_ffc", "failure_sets", "ffc_solve",
           "kill_sets", "links"]

FFC_OBJECTIVES = ("max-throughput", "max-min")
MAX_FAILURES = 3
"""Most simultaneous link failures :func:`ffc_solve` protects against."""

_FREEZE_SLACK = 1e-9  # held demands keep (1 - this) of their value (room for the solver's tolerance)
_RELAXED_SLACKS = (_FREEZE_SLACK, 1e-7, 1e-6)  # tried in turn while an LP with holds is infeasible
_DUAL_TOL = 1e-9
_LEVEL_RTOL = 1e-9


def check_failures(k) -> int:
    """``k`` as an int if FFC can protect against that many link failures, else :class:`~te.errors.InvalidInput`.

    Examples
    --------
    >>> check_failures(2)
    2
    >>> check_failures(4)
    Traceback (most recent call last):
    ...
    te.errors.InvalidInput: protect-failures must be 0, 1, 2 or 3, got 4
    >>> check_failures(True)
    Traceback (most recent call last):
    ...
    te.errors.InvalidInput: protect-failures must be 0, 1, 2 or 3, got True
    """
    if isinstance(k, bool) or not isinstance(k, Integral) or not 0 <= int(k) <= MAX_FAILURES:
        raise InvalidInput(f"protect-failures must be 0, 1, 2 or 3, got {k!r}")
    return int(k)


def _check_protect(cands: Candidates, protect) -> np.ndarray:
    """One bool per demand (all True for ``None``)."""
    n = len(cands.demands)
    if protect is None:
        return np.ones(n, dtype=bool)
    mask = np.asarray(protect)
    if mask.shape != (n,) or not (mask.dtype == bool or (np.issubdtype(mask.dtype, np.number) and
                                                          np.isin(mask, (0, 1)).all())):
        raise InvalidInput(f"protect must be one bool per demand ({n}), got {protect!r}"[:200])
    return mask.astype(bool)


def links(cands: Candidates):
    """The links of the graph (unordered node pairs, ``(u, v)`` with ``u < v``, sorted) and the link of each arc.

    Returns
    -------
    links : tuple of (str, str)
    arc_link : ndarray of int
        Index into ``links`` of each of ``cands.arcs``.

    Examples
    --------
    >>> import networkx as nx
    >>> from te.model import Demand
    >>> g = nx.DiGraph([("a", "b", {"capacity": 1.0}), ("b", "a", {"capacity": 1.0}), ("b", "c", {"capacity": 1.0})])
    >>> cands = Candidates.from_paths(g, [Demand("d", "a", "c", 1.0)], [[("a", "b", "c")]])
    >>> links(cands)
    ((('a', 'b'), ('b', 'c')), array([0, 0, 1]))
    """
    keys = [tuple(sorted(arc)) for arc in cands.arcs]
    names = tuple(sorted(set(keys)))
    index = {key: j for j, key in enumerate(names)}
    return names, np.array([index[key] for key in keys], dtype=np.int64)


def _path_link(cands: Candidates, arc_link, n_links) -> sp.csr_matrix:
    """``paths x links`` 0/1: the links each path crosses."""
    pa = cands.path_arc.tocoo()
    m = sp.csr_matrix((np.ones(pa.nnz), (pa.row, arc_link[pa.col])), shape=(len(cands.paths), n_links))
    m.data[:] = 1.0  # a loop-free path crosses a link once; duplicates summed would say 2
    return m


def failure_sets(cands: Candidates, k: int, fixed=frozenset()):
    """Every set of at most ``k`` failed links among the links some tunnel crosses, the empty set first.

    ``fixed``: links (unordered node pairs ``(u, v)`` with ``u < v``) that do not fail (e.g. the access
    links of hosts, which no tunnel can avoid).

    Yields tuples of links (see :func:`links`), by size then in link order.

    Examples
    --------
    >>> import networkx as nx
    >>> from te.model import Demand
    >>> g = nx.DiGraph([("a", "b", {"capacity": 1.0}), ("b", "c", {"capacity": 1.0}), ("c", "d", {"capacity": 1.0})])
    >>> cands = Candidates.from_paths(g, [Demand("d", "a", "c", 1.0)], [[("a", "b", "c")]])
    >>> list(failure_sets(cands, 2))
    [(), (('a', 'b'),), (('b', 'c'),), (('a', 'b'), ('b', 'c'))]
    """
    k = check_failures(k)
    names, arc_link = links(cands)
    used = np.unique(arc_link[np.unique(cands.path_arc.indices)]) if cands.path_arc.nnz else np.zeros(0, np.int64)
    used = [j for j in used.tolist() if names[j] not in fixed]
    for size in range(k + 1):
        for combo in itertools.combinations(used, size):
            yield tuple(names[j] for j in combo)


def _maximal(masks):
    """The masks (ints as bit sets) not contained in another."""
    kept = []
    for m in sorted(set(masks), key=lambda m: (-m.bit_count(), m)):
        if not any(m & ~other == 0 for other in kept):
            kept.append(m)
    return kept


def kill_sets(cands: Candidates, k: int, protect=None, fixed=frozenset()) -> list:
    """The maximal sets of each demand's tunnels that at most ``k`` link failures can kill (see the module notes);
    links in ``fixed`` (see :func:`failure_sets`) do not fail.

    Returns
    -------
    list of list of tuple of int
        Per demand, its maximal kill sets as sorted global path indices; ``[]`` for ``k = 0``, an
        unprotected demand or a demand without a path.

    Examples
    --------
    Two tunnels sharing link a-b, and a third one apart:

    >>> import networkx as nx
    >>> from te.model import Demand
    >>> g = nx.DiGraph()
    >>> for u, v in [("a", "b"), ("b", "c"), ("b", "x"), ("x", "c"), ("a", "y"), ("y", "c")]:
    ...     g.add_edge(u, v, capacity=1.0)
    >>> paths = [("a", "b", "c"), ("a", "b", "x", "c"), ("a", "y", "c")]
    >>> cands = Candidates.from_paths(g, [Demand("d", "a", "c", 1.0)], [paths])
    >>> kill_sets(cands, 1), kill_sets(cands, 2)
    ([[(0, 1), (2,)]], [[(0, 1, 2)]])
    """
    k = check_failures(k)
    mask = _check_protect(cands, protect)
    n_dem = len(cands.demands)
    out = [[] for _ in range(n_dem)]
    if k == 0 or not len(cands.paths):
        return out
    names, arc_link = links(cands)
    pl = _path_link(cands, arc_link, len(names)).tocoo()
    owner = cands.path_demand[pl.row]
    slot = pl.row - cands.path_ptr[owner]
    # the tunnels (bits) each link kills, per (demand, link)
    per = {}
    for d, link, bit in zip(owner.tolist(), pl.col.tolist(), slot.tolist()):
        if mask[d] and names[link] not in fixed:
            per[d, link] = per.get((d, link), 0) | (1 << bit)
    singles = [set() for _ in range(n_dem)]
    for (d, _), m in per.items():
        singles[d].add(m)
    for d in range(n_dem):
        if not singles[d]:
            continue
        base = _maximal(singles[d])
        level = base
        for _ in range(k - 1):  # a union of fewer links is one of k with a link repeated
            level = _maximal([s | m for s in level for m in singles[d]])
        first = int(cands.path_ptr[d])
        out[d] = [tuple(first + b for b in range(m.bit_length()) if m >> b & 1) for m in level]
    return out


def _arc_loads(cands: Candidates):
    """What each arc's capacity row counts: ``(cap_a, cap_b)``, ``arcs x paths`` and ``arcs x demands``.

    An arc that *every* tunnel of a demand crosses (its hosts' access links, a bridge) carries exactly ``b_i``
    of it in every failure case, whatever the split: it counts ``b_i`` (``cap_b``). Any other arc carries
    ``b_i A / S(F) <= A``, ``A`` the allocation of the demand's tunnels through it: it counts their ``a``.

    >>> import networkx as nx
    >>> from te.model import Demand
    >>> g = nx.DiGraph([("s", "a", {"capacity": 1.0}), ("a", "t", {"capacity": 1.0}), ("s", "b", {"capacity": 1.0}),
    ...                 ("b", "t", {"capacity": 1.0}), ("h", "s", {"capacity": 1.0})])
    >>> cands = Candidates.from_paths(g, [Demand("d", "h", "t", 1.0)], [[("h", "s", "a", "t"), ("h", "s", "b", "t")]])
    >>> cap_a, cap_b = _arc_loads(cands)
    >>> cands.arcs[np.flatnonzero(cap_b.toarray()[:, 0])[0]], cap_a.sum(axis=1).A1.tolist()
    (('h', 's'), [1.0, 1.0, 0.0, 1.0, 1.0])
    """
    ap = cands.arc_path.tocoo()
    n_arcs, n_dem = len(cands.arcs), len(cands.demands)
    owner = cands.path_demand[ap.col]
    counts = np.diff(cands.path_ptr)
    crossing = sp.csr_matrix((np.ones(ap.nnz), (ap.row, owner)), shape=(n_arcs, n_dem))
    crossing.sum_duplicates()
    common = crossing.tocoo()
    common_mask = common.data >= counts[common.col]
    cap_b = sp.csr_matrix((np.ones(int(common_mask.sum())), (common.row[common_mask], common.col[common_mask])),
                          shape=(n_arcs, n_dem))
    keep = ~np.asarray(cap_b[ap.row, owner]).ravel().astype(bool)
    cap_a = sp.csr_matrix((ap.data[keep], (ap.row[keep], ap.col[keep])), shape=ap.shape)
    return cap_a, cap_b


class _Model:
    """The FFC LP's fixed rows over ``cands``: arc capacities and one row per (demand, kill set)."""

    def __init__(self, cands: Candidates, k: int, protect: np.ndarray, fixed=frozenset()):
        self.cands, self.k, self.protect = cands, k, protect
        self.n_paths, self.n_dem = len(cands.paths), len(cands.demands)
        self.scale = float(cands.capacity_bps.max()) if len(cands.arcs) else 1.0
        self.requests = cands.requests_bps
        # surviving tunnels of every (demand, kill set); a demand without kill sets: all its tunnels
        kills = kill_sets(cands, k, protect, fixed)
        rows, cols, row_demand = [], [], []
        for d in range(self.n_dem):
            lo, hi = int(cands.path_ptr[d]), int(cands.path_ptr[d + 1])
            for dead in kills[d] or [()]:
                dead = set(dead)
                cols.extend(p for p in range(lo, hi) if p not in dead)
                rows.extend([len(row_demand)] * (hi - lo - len(dead)))
                row_demand.append(d)
        self.row_demand = np.array(row_demand, dtype=np.int64)
        self.survive = sp.csr_matrix((np.ones(len(cols)), (np.array(rows, dtype=np.int64), np.array(cols, np.int64))),
                                     shape=(len(row_demand), self.n_paths))
        self.failure_rows = int(sum(len(kill) for kill in kills))
        counts = np.diff(cands.path_ptr)
        # cut off: k failures can kill all its tunnels (or it has none), so b_i = 0 in every feasible allocation
        self.cut = np.array([counts[d] == 0 or any(len(dead) == counts[d] for dead in kills[d])
                             for d in range(self.n_dem)], dtype=bool)
        self.cap_a, self.cap_b = _arc_loads(cands)
        used = np.flatnonzero((np.diff(self.cap_a.indptr) > 0) | (np.diff(self.cap_b.indptr) > 0))
        row_scale = sp.diags(self.scale / cands.capacity_bps[used])
        n_rows = len(row_demand)
        # variables: a / scale (paths), then b / scale (demands)
        row_b = sp.csr_matrix((np.ones(n_rows), (np.arange(n_rows), self.row_demand)), shape=(n_rows, self.n_dem))
        self.A = sp.vstack([sp.hstack([row_scale @ self.cap_a[used], row_scale @ self.cap_b[used]]),
                            sp.hstack([-self.survive, row_b])], format="csr")
        self.b = np.concatenate([np.ones(len(used)), np.zeros(n_rows)])
        hops = cands.path_hops / max(cands.path_hops.max(initial=1.0), 1.0)
        self.tunnel_cost = _HOP_PENALTY * hops / max(int(counts.max(initial=1)), 1)

    @property
    def size(self):
        return {"variables": self.n_paths + self.n_dem, "constraints": self.A.shape[0]}

    def placement(self, lower_bps, upper_bps):
        """Maximise ``sum b`` with ``b`` within the bounds (bit/s), least tunnel allocation; returns (a, b) in bit/s."""
        c = np.concatenate([self.tunnel_cost, -np.ones(self.n_dem)])
        bounds = np.column_stack([np.zeros(self.n_paths + self.n_dem),
                                  np.concatenate([np.full(self.n_paths, np.inf), upper_bps / self.scale])])
        for slack in _RELAXED_SLACKS:
            bounds[self.n_paths:, 0] = lower_bps * (1 - slack) / self.scale
            res = _linprog(c, self.A, self.b, bounds=bounds)
            if res.status not in (2, 4):
                break
        _check(res, "ffc")
        return res.x[:self.n_paths] * self.scale, res.x[self.n_paths:] * self.scale

    def level(self, served, frozen, value, capped, growing, weights):
        """Maximise the level ``t``: growing demands get ``w_i t``, capped ones their request, frozen ones their value.

        Returns (t in bit/s per unit of weight, duals of the growing demands' level rows).
        """
        n_grow = int(growing.sum())
        w_top = float(weights[growing].max())
        rows = sp.csr_matrix((-np.ones(n_grow), (np.arange(n_grow), self.n_paths + np.flatnonzero(growing))),
                             shape=(n_grow, self.n_paths + self.n_dem))
        A = sp.vstack([sp.hstack([self.A, sp.csr_matrix((self.A.shape[0], 1))]),
                       sp.hstack([rows, sp.csr_matrix(weights[growing][:, None] / w_top)])], format="csr")
        b = np.concatenate([self.b, np.zeros(n_grow)])
        c = np.zeros(self.n_paths + self.n_dem + 1)
        c[-1] = -1.0
        held = np.where(capped, self.requests, np.where(frozen & served, value, 0.0))
        upper = np.where(growing, np.inf, np.where(served, np.where(frozen, self.requests, held), 0.0))
        for slack in _RELAXED_SLACKS:
            lower = np.where(capped | (frozen & served), held * (1 - slack), 0.0)
            bounds = np.column_stack([np.zeros(len(c)), np.full(len(c), np.inf)])
            bounds[self.n_paths:-1, 0] = lower / self.scale
            bounds[self.n_paths:-1, 1] = upper / self.scale
            res = _linprog(c, A, b, bounds=bounds)
            if res.status not in (2, 4):
                break
        _check(res, "ffc max-min")
        duals = -res.ineqlin.marginals[self.A.shape[0]:]
        return max(float(res.x[-1]), 0.0) * self.scale / w_top, duals

    def repair(self, a, b, target):
        """Make ``(a, b)`` exactly feasible: ``a >= 0`` within capacities, ``b`` in ``[0, target]`` and protected."""
        cands = self.cands
        a = np.maximum(a, 0.0)
        b = np.clip(b, 0.0, target)
        load = self.cap_a @ a + self.cap_b @ b
        with np.errstate(divide="ignore", invalid="ignore"):
            arc_factor = np.where(load > cands.capacity_bps, cands.capacity_bps / load, 1.0)
        if np.any(arc_factor < 1.0):
            pa = cands.path_arc
            factor = np.ones(self.n_paths)
            nonempty = np.diff(pa.indptr) > 0
            factor[nonempty] = np.minimum.reduceat(arc_factor[pa.indices], pa.indptr[:-1][nonempty])
            a = a * factor
            # b crosses its common arcs whole (``cap_b``): it shrinks with the most shrunk of its tunnels
            least_factor = np.ones(self.n_dem)
            np.minimum.at(least_factor, cands.path_demand, factor)
            b = b * least_factor
        least = np.full(self.n_dem, np.inf)
        np.minimum.at(least, self.row_demand, self.survive @ a)
        return a, np.minimum(b, least)


def ffc_solve(cands: Candidates, k: int, objective: str = "max-min", protect=None, fixed=frozenset()) -> Solution:
    """Allocations that survive any ``k`` link failures with local rescaling (see the module notes).

    Parameters
    ----------
    cands : te.paths.Candidates
        The tunnels: each demand's candidate paths.
    k : int
        Link failures to survive: 0, 1, 2 or 3 (0: the plain objective over these tunnels).
    objective : {"max-min", "max-throughput"}
    protect : sequence of bool, optional
        One per demand: which demands are protected (default: all). The others get no failure
        rows and no guarantee.
    fixed : collection of (str, str)
        Links (``(u, v)`` with ``u < v``) that do not fail, e.g. hosts' access links, which every
        tunnel of a demand crosses (see :func:`failure_sets`).

    Returns
    -------
    te.model.Solution
        Path rates are the normal-case traffic ``b_i a_it / S_i`` (``allocated_bps`` is ``b``),
        status ``"optimal"``; ``stats``: ``lps``, ``k``, ``protected`` (count), ``failure_rows``,
        ``variables``, ``constraints``, and ``tunnel_bps``, the tunnel allocations ``a`` (bucket
        weights) aligned with the paths.

    Raises
    ------
    te.errors.InvalidInput
        ``k`` not in 0..3, an unknown objective, ``protect`` not one bool per demand.
    te.errors.SolverError
        HiGHS reached no optimum.

    Examples
    --------
    One demand over two disjoint 10 bit/s paths: protected against one failure it gets 10, each
    tunnel reserving 10 (either alone carries it all) and carrying 5 in the normal case.

    >>> import networkx as nx
    >>> from te.model import Demand
    >>> from te.paths import candidate_paths
    >>> g = nx.DiGraph()
    >>> for u, v in [("s", "a"), ("a", "t"), ("s", "b"), ("b", "t")]:
    ...     g.add_edge(u, v, capacity=10.0, weight=1.0)
    >>> cands = candidate_paths(g, [Demand("d", "s", "t", 30.0)], k=2)
    >>> sol = ffc_solve(cands, 1, "max-throughput")
    >>> sol.allocated_bps.tolist(), sol.path_rate_bps.tolist(), sol.stats["tunnel_bps"]
    ([10.0], [5.0, 5.0], [10.0, 10.0])
    >>> ffc_solve(cands, 0, "max-throughput").allocated_bps.tolist(), check_ffc(cands, sol, 1)
    ([20.0], [])
    """
    k = check_failures(k)
    if objective not in FFC_OBJECTIVES:
        raise InvalidInput(f"unknown FFC objective {objective!r} (expected one of {', '.join(FFC_OBJECTIVES)})")
    protect = _check_protect(cands, protect)
    stats = {"k": k, "protected": int(protect.sum())}
    if not len(cands.paths):
        n = len(cands.paths)
        return solution_from_rates(cands, objective, "optimal", np.zeros(n), 0.0,
                                   {"lps": 0, **stats, "failure_rows": 0, "variables": len(cands.demands),
                                    "constraints": 0, "tunnel_bps": []})
    model = _Model(cands, k, protect, fixed)
    if objective == "max-throughput":
        a, b = model.placement(np.zeros(model.n_dem), model.requests)
        a, b = model.repair(a, b, model.requests)
        lps = 1
    else:
        a, b, lps = _max_min(model)
    total = np.bincount(cands.path_demand, a, minlength=model.n_dem)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(total > 0, b / total, 0.0)
    rates = a * share[cands.path_demand]
    stats = {"lps": lps, **stats, "failure_rows": model.failure_rows, **model.size, "tunnel_bps": a.tolist()}
    return solution_from_rates(cands, objective, "optimal", rates, float(rates.sum()), stats)


def _max_min(model: _Model):
    """Weighted max-min with priority classes by progressive filling (module notes); returns (a, b, LPs)."""
    cands = model.cands
    weights = np.array([d.weight for d in cands.demands], dtype=float)
    priority = np.array([d.priority for d in cands.demands], dtype=np.int64)
    rates = model.requests
    cap_level = rates / weights
    value = np.zeros(model.n_dem)
    frozen = (rates <= 0) | model.cut  # at 0: cut-off demands would otherwise be frozen one per LP
    served = np.zeros(model.n_dem, dtype=bool)
    lps = 0
    for level_class in sorted(set(priority.tolist()), reverse=True):
        served |= priority == level_class
        t_prev = 0.0
        while True:
            active = served & ~frozen
            if not active.any():
                break
            known, t = t_prev, t_prev
            while True:  # held at the request: demands capped below a proven lower bound of the level
                capped = active & (cap_level <= known)
                growing = active & ~capped
                if not growing.any():
                    break
                t, duals = model.level(served, frozen, value, capped, growing, weights)
                lps += 1
                if (growing & (cap_level <= t * (1 + _LEVEL_RTOL))).any():
                    known = t * (1 + _LEVEL_RTOL)
                    continue
                break
            stuck = np.zeros(model.n_dem, dtype=bool)
            if growing.any():
                ids = np.flatnonzero(growing)
                stuck[ids[duals > _DUAL_TOL]] = True
                if not stuck.any():
                    stuck[ids[np.argmax(duals)]] = True
            value[capped] = rates[capped]
            value[stuck] = weights[stuck] * t
            frozen |= capped | stuck
            t_prev = t
    a, b = model.placement(value, value)
    a, b = model.repair(a, b, value)
    return a, b, lps + 1


class Violation(NamedTuple):
    """A failure case that overloads an arc, or cuts a protected demand off (``link`` None, ``demand`` its id)."""

    link: tuple | None
    """The overloaded arc ``(u, v)``."""
    failed: tuple
    """The failed links (see :func:`links`)."""
    load_bps: float
    """The arc's load after rescaling; for a demand cut off, the rate it loses."""
    capacity_bps: float
    """The arc's capacity; 0 for a demand cut off."""
    demand: str | None = None


def _traffic(cands: Candidates, solution_or_arrays) -> np.ndarray:
    """Normal-case traffic per path from a Solution, its path rates, or ``(tunnel_bps, granted_bps)``."""
    if isinstance(solution_or_arrays, Solution):
        rates = np.asarray(solution_or_arrays.path_rate_bps, dtype=float)
    elif isinstance(solution_or_arrays, tuple) and len(solution_or_arrays) == 2 and np.ndim(solution_or_arrays[0]) == 1:
        a = np.asarray(solution_or_arrays[0], dtype=float)
        b = np.asarray(solution_or_arrays[1], dtype=float)
        if len(a) != len(cands.paths) or len(b) != len(cands.demands):
            raise InvalidInput(f"check_ffc: expected {len(cands.paths)} tunnel allocations and {len(cands.demands)} "
                               f"granted rates, got {len(a)} and {len(b)}")
        total = np.bincount(cands.path_demand, a, minlength=len(b))
        with np.errstate(divide="ignore", invalid="ignore"):
            rates = a * np.where(total > 0, b / total, 0.0)[cands.path_demand]
    else:
        rates = np.asarray(solution_or_arrays, dtype=float)
    if rates.shape != (len(cands.paths),):
        raise InvalidInput(f"check_ffc: expected {len(cands.paths)} path rates, got {rates.shape}")
    return rates


def check_ffc(cands: Candidates, solution_or_arrays, k: int, protect=None, rtol=1e-9, tol_bps=1e-6,
              fixed=frozenset()) -> list:
    """Every failure case of at most ``k`` links that breaks the FFC guarantee, by brute force.

    For every set ``F`` of at most ``k`` links among those some tunnel crosses (:func:`failure_sets`,
    the normal case first), each protected demand re-spreads its rate over its surviving tunnels in
    proportion to its normal-case traffic (the bucket weights); an unprotected demand keeps its
    traffic on its surviving tunnels and loses the rest. Reported: every arc whose load then exceeds
    its capacity by more than ``tol_bps + rtol * capacity``, and every protected demand with a rate
    whose tunnels all died.

    Parameters
    ----------
    cands : te.paths.Candidates
    solution_or_arrays : te.model.Solution, array_like, or (array_like, array_like)
        A solution (any objective) over ``cands``, its normal-case path rates, or the pair
        ``(tunnel_bps, granted_bps)`` (traffic ``b_i a_it / S_i``).
    k : int
        0 to 3.
    protect : sequence of bool, optional
        As in :func:`ffc_solve`.

    Returns
    -------
    list of Violation
        Empty when the allocation is protected.

    Examples
    --------
    The plain optimum over two disjoint 10 bit/s paths (10 on each) is not protected: when one
    path's link fails, the other must carry 20.

    >>> import networkx as nx
    >>> from te.model import Demand
    >>> from te.paths import candidate_paths
    >>> g = nx.DiGraph()
    >>> for u, v in [("s", "a"), ("a", "t"), ("s", "b"), ("b", "t")]:
    ...     g.add_edge(u, v, capacity=10.0, weight=1.0)
    >>> cands = candidate_paths(g, [Demand("d", "s", "t", 30.0)], k=2)
    >>> found = check_ffc(cands, [10.0, 10.0], 1)
    >>> len(found), found[0]
    (8, Violation(link=('b', 't'), failed=(('a', 's'),), load_bps=20.0, capacity_bps=10.0, demand=None))

    Tunnels reserving 9 each, granting 10: the demand now fits whatever link fails, and with a
    path alone it is cut off when that path fails.

    >>> check_ffc(cands, ([9.0, 9.0], [10.0]), 1)
    []
    >>> single = candidate_paths(g, [Demand("d", "s", "t", 30.0)], k=1)
    >>> check_ffc(single, [10.0], 1)[0]
    Violation(link=None, failed=(('a', 's'),), load_bps=10.0, capacity_bps=0.0, demand='d')
    """
    k = check_failures(k)
    protect = _check_protect(cands, protect)
    x = _traffic(cands, solution_or_arrays)
    names, arc_link = links(cands)
    pl = _path_link(cands, arc_link, len(names)).tocsc()
    owner = cands.path_demand
    n_dem = len(cands.demands)
    granted = np.bincount(owner, x, minlength=n_dem)
    capacity = cands.capacity_bps
    limit = capacity + tol_bps + rtol * capacity
    index = {name: j for j, name in enumerate(names)}
    found = []
    for failed in failure_sets(cands, k, fixed):
        alive = np.ones(len(x), dtype=bool)
        for name in failed:
            j = index[name]
            alive[pl.indices[pl.indptr[j]:pl.indptr[j + 1]]] = False
        kept = np.bincount(owner, np.where(alive, x, 0.0), minlength=n_dem)
        with np.errstate(divide="ignore", invalid="ignore"):
            factor = np.where(protect & (kept > 0), granted / kept, 1.0)
        y = np.where(alive, x * factor[owner], 0.0)
        load = cands.path_arc.T @ y
        for e in np.flatnonzero(load > limit):
            found.append(Violation(cands.arcs[e], failed, float(load[e]), float(capacity[e])))
        for i in np.flatnonzero(protect & (kept <= 0) & (granted > tol_bps)):
            found.append(Violation(None, failed, float(granted[i]), 0.0, cands.demands[i].id))
    return found
