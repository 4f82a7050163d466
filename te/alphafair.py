"""``alpha-fair``: maximise the sum of the demands' weighted alpha-fair utilities (Mo and Walrand, 2000).

Each demand ``i`` gets ``x_i``, the sum of its rates on its candidate paths, and the routing
maximises ``sum_i w_i U(x_i)`` with ``U(x) = x**(1 - alpha) / (1 - alpha)`` (``log x`` at
``alpha = 1``), links within capacity and every demand within its request (``x_i <= r_i``).
Demands requesting 0 get 0 and are left out of the sum. ``alpha`` trades efficiency for fairness:

- ``alpha = 0``: maximum (weighted) throughput;
- ``alpha = 1``: proportional fairness;
- ``alpha = 2``: minimum potential delay (``sum w_i / x_i`` is minimised);
- ``alpha -> infinity``: weighted max-min fairness (the ``max-min`` objective), to which the
  allocation converges. For finite ``alpha`` it differs: a demand may be given less than in
  max-min when that frees more for others (see docs/alpha-fair.md for how far alpha = 8 is).

Priorities (``Demand.priority``) are not used: every demand is in the one sum.

Optimality, and how it is reached
---------------------------------
The optimum is characterised by prices: with a price ``p_a`` on every link (0 unless the link is
full), each demand's marginal utility ``w_i x_i**-alpha`` equals the price of its cheapest path
(plus a price for its request when it gets all of it), and it only uses paths of that price.
:func:`certificate` measures how far a routing and link prices are from that, each condition
relative to its own scale, and the gap between the utility reached and the bound the prices prove.

``alpha = 0`` is the max-throughput LP of :mod:`te.lp` (weights as costs); no certificate is
computed for it. Every other ``alpha`` is solved by a primal-dual interior-point method on the
path formulation (:func:`_interior_point`), written for this structure:

- *Scaling.* Each demand's total is counted in its own unit (its request, or what its paths
  could carry if less), each path's rate in its own (its demand's, or its narrowest link if
  less), each link's load in its capacity, so a 1 bit/s demand beside 100 Gbit/s links is
  resolved to its own scale. Complementarity is measured per pair against the scale of
  the demand or link involved (its utility flux ``w_i x_i**(1 - alpha)``, or the largest price
  a link can have for the demands that use it), because for large ``alpha`` marginal utilities
  span dozens of decades.
- *Barrier schedule.* The barrier parameter is lowered in stages (as in IPOPT): each stage is
  solved to 10 times its parameter before the next, and the scales are renewed between stages.
- *Newton systems.* Paths are eliminated demand by demand (a diagonal plus rank one each), so the
  only system factorised is ``links x links`` (dense Cholesky: at most a few hundred links). The
  per-demand inverse and the link matrix are formed without cancellation: the link matrix is a
  sum over pairs of paths of one demand of ``(b_p / e_p - b_q / e_q)(...)^T`` plus one term per
  demand (:class:`_Newton`), and each demand's total change is computed directly, not as the sum
  of its paths' changes. Link slacks and prices change through the price side of the solve (to
  each link's own slack); what that leaves of ``B g + s = 1`` is corrected at the next step.
- *Everything fits.* If every request can be met at once (the max-throughput LP of :mod:`te.lp`
  routes all of them), that routing is the optimum for every ``alpha`` and is returned as is.
- *End.* The method stops when :func:`certificate` reports a KKT residual below 1e-8 (or gives up
  at 1e-6: :class:`~te.errors.SolverError` beyond). The rates are then cleaned (path rates below
  1e-8 of their demand's total and of each of their links dropped), repaired to be feasible
  exactly (:func:`te.lp.repair`), and certified again as returned.

Limits (measured, docs/alpha-fair.md): the certificate is relative to each demand's own scale.
Beyond ``alpha`` of about 4 on congested networks the demands' utility fluxes span so many decades
that the best-served ones are under-allocated (B4 at four times Teal's matrix, alpha = 8: up to
24 %) although the certificate passes; use ``max-min`` there. With capacities and requests across
12 decades, ``alpha >= 2`` is mostly refused (:class:`~te.errors.SolverError`).

Building (:func:`build_alpha_fair`) and solving (:meth:`AlphaFairModel.solve`) are separate so
that callers can time them; nothing here reads a clock.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from numbers import Real

import numpy as np
import scipy.linalg as la
import scipy.sparse as sp

from te.errors import InvalidInput, SolverError
from te.lp import _throughput_cost, build_model, repair
from te.paths import Candidates, solution_from_rates

__all__ = ["MAX_ALPHA", "AlphaFairModel", "build_alpha_fair", "certificate", "check_alpha", "utility"]

MAX_ALPHA = 4.0
"""Largest ``alpha`` accepted. Above it, on congested networks, the method was measured up to 24 %
below the exact answer on the best-served demands while its own certificate passed (marginal
utilities span too many decades for double precision; docs/alpha-fair.md), so a larger alpha is
an input error rather than a wrong answer: ``max-min`` is the limit of alpha-fair as alpha grows."""

_TARGET = 1e-8  # KKT residual the method stops at
_ACCEPT = 1e-6  # the largest it returns
_MAX_ITER = 150
_STALL = 20  # iterations at the last stage without a better certificate before giving up
_DROP = 1e-8  # path rates below this share of their demand's total and of every link are noise of the barrier
_STAGE_FIT = 10.0  # a stage is solved when its errors are within this many times its parameter
_REG = 1e-6  # regularisation of the path block, relative to each demand's curvature scale


def check_alpha(alpha) -> float:
    """``alpha`` as a float, or :class:`~te.errors.InvalidInput` naming it.

    Examples
    --------
    >>> check_alpha(2)
    2.0
    >>> check_alpha(-1)
    Traceback (most recent call last):
    ...
    te.errors.InvalidInput: alpha must be a finite number between 0 and 4 (beyond, use max-min, its limit), got -1
    >>> check_alpha("1")
    Traceback (most recent call last):
    ...
    te.errors.InvalidInput: alpha must be a finite number between 0 and 4 (beyond, use max-min, its limit), got '1'
    """
    if isinstance(alpha, bool) or not isinstance(alpha, Real) or not math.isfinite(alpha) \
            or not 0 <= alpha <= MAX_ALPHA:
        raise InvalidInput(f"alpha must be a finite number between 0 and {MAX_ALPHA:g} (beyond, use max-min, its "
                           f"limit), got {alpha!r}")
    return float(alpha)


def utility(x, alpha, weight=1.0):
    """``weight * x**(1 - alpha) / (1 - alpha)``, or ``weight * log(x)`` at ``alpha = 1``.

    Examples
    --------
    >>> float(utility(4.0, 0.5)), float(utility(4.0, 2.0)), round(float(utility(np.e, 1.0)), 12)
    (4.0, -0.25, 1.0)
    """
    x = np.asarray(x, dtype=float)
    if alpha == 1.0:
        return weight * np.log(x)
    return weight * x ** (1.0 - alpha) / (1.0 - alpha)


@dataclass(eq=False)
class AlphaFairModel:
    """An alpha-fair problem in the scaled path form; :meth:`solve` returns a :class:`te.model.Solution`.

    Only demands with a request and a path take part (``demand_ids``), with their paths
    (``path_ids``); each demand's total is counted in ``unit`` bit/s, each path's rate in
    ``share * unit`` (at most the path's narrowest link) and each link's load in its capacity, so
    ``B`` holds ``share * unit / capacity`` for every (arc, path) of the problem.
    """

    cands: Candidates
    alpha: float
    demand_ids: np.ndarray
    path_ids: np.ndarray
    unit: np.ndarray  # bit/s of one unit of each demand's rate
    rho: np.ndarray  # requests in units (>= 1)
    log_weight: np.ndarray  # log of w_i * unit_i**(1 - alpha): the weight of the utility in units
    share: np.ndarray  # each path's unit (its demand's, or its narrowest link if less) over its demand's
    B: sp.csr_matrix  # arcs x paths (arcs crossed by some path only): a path's unit over the arc's capacity
    owner: np.ndarray  # demand (0..n-1) of each path
    ptr: np.ndarray  # paths of demand i: ptr[i]:ptr[i + 1]
    slots: np.ndarray  # demands x (most paths of a demand): path ids, -1 padded
    pair_p: np.ndarray  # every pair of paths of one demand
    pair_q: np.ndarray
    pairs: sp.csr_matrix  # arcs x pairs: b_p / share_p - b_q / share_q
    pairs_t: sp.csr_matrix  # its transpose

    @property
    def _path_unit(self):
        return self.share * self.unit[self.owner]

    @property
    def size(self) -> dict:
        """Variables (paths) and constraints (links and requests) of the problem."""
        return {"variables": len(self.cands.paths), "constraints": len(self.cands.arcs) + len(self.cands.demands)}

    def solve(self):
        """Route every demand alpha-fairly; ``stats`` report the KKT residual and duality gap reached
        (``None`` at ``alpha = 0``, an LP solved by HiGHS).

        Raises
        ------
        te.errors.SolverError
            The KKT residual stays above 1e-6.

        Examples
        --------
        One flow over two unit links and one flow on each link: proportional fairness gives
        the long flow 1/3 and the short ones 2/3.

        >>> import networkx as nx
        >>> from te.model import Demand
        >>> from te.paths import candidate_paths
        >>> g = nx.DiGraph([("a", "b", {"capacity": 1.0}), ("b", "c", {"capacity": 1.0})])
        >>> demands = [Demand("long", "a", "c", 5.0), Demand("ab", "a", "b", 5.0), Demand("bc", "b", "c", 5.0)]
        >>> sol = build_alpha_fair(candidate_paths(g, demands), 1).solve()
        >>> sol.allocated_bps.round(6).tolist(), sol.stats["kkt_residual"] < 1e-6
        ([0.333333, 0.666667, 0.666667], True)
        """
        cands = self.cands
        if self.alpha == 0.0:
            return _max_throughput(cands)
        rates = np.zeros(len(cands.paths))
        stats = {"alpha": self.alpha, "lps": 0, "iterations": 0, "kkt_residual": 0.0, "duality_gap": 0.0}
        if len(self.demand_ids):
            # When every request fits at once, that is the optimum for every alpha (utilities grow
            # with the rate): the max-throughput LP finds it exactly, at the cost of one LP.
            every = build_model(cands, "max-throughput").solve()
            stats["lps"] = every.stats.get("lps", 1)
            if np.all(every.allocated_bps >= every.requested_bps * (1 - 1e-9)):
                rates = every.path_rate_bps
                y = np.zeros(self.B.shape[0])
                wt = np.exp(self.log_weight - np.median(self.log_weight))
            else:
                g, y, wt, stats["iterations"] = _solve_scaled(self)
                x = _totals(self, g)
                heaviest = self.B.T.tocsr().multiply(g[:, None]).max(axis=1).toarray().ravel()
                g = np.where((g * self.share >= _DROP * x[self.owner]) | (heaviest >= _DROP), g, 0.0)
                rates[self.path_ids] = g * self._path_unit
                rates = repair(cands, rates)
            scaled = rates[self.path_ids] / self._path_unit
            stats["kkt_residual"], stats["duality_gap"] = certificate(self, scaled, y, wt)
            if stats["kkt_residual"] > _ACCEPT:
                raise SolverError(f"alpha-fair (alpha={self.alpha:g}): the routing returned would have a KKT residual "
                                  f"of {stats['kkt_residual']:.2g}, above {_ACCEPT:g}")
        allocated = np.bincount(cands.path_demand, rates, minlength=len(cands.demands))
        weights = np.array([d.weight for d in cands.demands], dtype=float)
        asked = allocated > 0
        value = float(np.sum(utility(allocated[asked], self.alpha, weights[asked])))
        return solution_from_rates(cands, "alpha-fair", "optimal", rates, value, {**stats, **self.size})


def build_alpha_fair(cands: Candidates, alpha):
    """Build the alpha-fair problem over the candidate paths; call ``.solve()`` on the result.

    Parameters
    ----------
    cands : te.paths.Candidates
    alpha : float
        0 (max throughput) to :data:`MAX_ALPHA`; 1 is proportional fairness.

    Returns
    -------
    AlphaFairModel
        For ``alpha = 0`` its :meth:`~AlphaFairModel.solve` runs the max-throughput LP of
        :mod:`te.lp`, each path's cost scaled by its demand's weight.

    Raises
    ------
    te.errors.InvalidInput
        ``alpha`` is not a number in ``[0, MAX_ALPHA]``.

    Examples
    --------
    >>> import networkx as nx
    >>> from te.model import Demand
    >>> from te.paths import candidate_paths
    >>> g = nx.DiGraph([("a", "b", {"capacity": 3.0})])
    >>> demands = [Demand("x", "a", "b", 9.0), Demand("y", "a", "b", 9.0, weight=2.0)]
    >>> build_alpha_fair(candidate_paths(g, demands), 1).solve().allocated_bps.round(6).tolist()
    [1.0, 2.0]
    >>> build_alpha_fair(candidate_paths(g, demands), float("nan"))
    Traceback (most recent call last):
    ...
    te.errors.InvalidInput: alpha must be a finite number between 0 and 4 (beyond, use max-min, its limit), got nan
    """
    return _build(cands, check_alpha(alpha))


def _build(cands: Candidates, alpha: float):
    """:func:`build_alpha_fair` without the check of ``alpha`` (tests and benchmarks explore beyond MAX_ALPHA)."""
    alpha = float(alpha)
    rates = cands.requests_bps
    weights = np.array([d.weight for d in cands.demands], dtype=float)
    counts = np.diff(cands.path_ptr)
    demand_ids = np.flatnonzero((rates > 0) & (counts > 0))
    path_ids = np.flatnonzero(np.isin(cands.path_demand, demand_ids))
    pa = cands.path_arc[path_ids]
    local_counts = counts[demand_ids]
    ptr = np.r_[0, np.cumsum(local_counts)]
    owner = np.repeat(np.arange(len(demand_ids)), local_counts)
    arc_ids = np.unique(pa.indices)
    arc_local = np.full(len(cands.arcs), -1)
    arc_local[arc_ids] = np.arange(len(arc_ids))
    # a demand's unit: its request, or what its paths could carry at most if that is less
    capacity = cands.capacity_bps
    narrow = np.minimum.reduceat(capacity[pa.indices], pa.indptr[:-1]) if len(path_ids) else np.zeros(0)
    unit = np.minimum(rates[demand_ids], np.bincount(owner, narrow, minlength=len(demand_ids)))
    path_unit = np.minimum(unit[owner], narrow)  # a path beside a much wider one is counted on its own scale
    entry_path = np.repeat(np.arange(len(path_ids)), np.diff(pa.indptr))
    B = sp.csr_matrix((path_unit[entry_path] / capacity[pa.indices], arc_local[pa.indices], pa.indptr),
                      shape=(len(path_ids), len(arc_ids))).T.tocsr()
    share = path_unit / unit[owner]
    width = int(local_counts.max(initial=0))
    slots = np.full((len(demand_ids), width), -1, dtype=np.int64)
    slots[owner, np.arange(len(path_ids)) - ptr[owner]] = np.arange(len(path_ids))
    first, second = np.triu_indices(width, 1)
    pairs = [(slots[local_counts > b, a], slots[local_counts > b, b]) for a, b in zip(first, second)]
    pair_p = np.concatenate([p for p, _ in pairs]) if pairs else np.zeros(0, dtype=np.int64)
    pair_q = np.concatenate([q for _, q in pairs]) if pairs else np.zeros(0, dtype=np.int64)
    k = len(pair_p)
    difference = sp.csr_matrix((np.r_[1 / share[pair_p], -1 / share[pair_q]], (np.r_[pair_p, pair_q],
                                                                            np.tile(np.arange(k), 2))),
                               shape=(len(path_ids), k))
    pair_matrix = (B @ difference).tocsr()
    pair_matrix.eliminate_zeros()
    log_weight = np.log(weights[demand_ids]) + (1.0 - alpha) * np.log(unit)
    return AlphaFairModel(cands, alpha, demand_ids, path_ids, unit, rates[demand_ids] / unit, log_weight, share, B,
                          owner, ptr, slots, pair_p, pair_q, pair_matrix, pair_matrix.T.tocsr())


def _max_throughput(cands):
    """``alpha = 0``: the max-throughput LP of :mod:`te.lp`, each path's cost scaled by its demand's weight."""
    model = build_model(cands, "max-throughput")
    weights = np.array([d.weight for d in cands.demands], dtype=float)
    if len(weights) and np.ptp(weights) > 0:
        model.c = _throughput_cost(cands) * (weights / weights.max())[cands.path_demand]
    sol = model.solve()
    stats = {**sol.stats, "alpha": 0.0, "iterations": 0, "kkt_residual": None, "duality_gap": None}
    return replace(sol, objective="alpha-fair", objective_value=float(weights @ sol.allocated_bps), stats=stats)


def certificate(model: AlphaFairModel, g, y, weight):
    """KKT residual and relative duality gap of scaled path rates ``g`` with scaled link prices ``y``.

    With each demand's marginal utility ``m_i = weight_i * x_i**-alpha`` (``x_i`` the sum of its
    ``g``) and each path's price ``sum of y`` over its links, ``pi_i`` the least price of demand
    ``i``'s paths, the residual is the largest of, per demand or link, each relative to its own scale:

    - ``(pi_i - m_i)+ / m_i``: the prices ask less of a demand than it gets;
    - ``(m_i - pi_i)+ / m_i * (r_i - x_i) / r_i``: a demand wanting more while below its request;
    - ``sum_p g_p (price_p - pi_i) / (m_i x_i)``: rate on paths dearer than the cheapest;
    - per link, its spare capacity (as a share of the link, or of the demand's rate if that is
      larger) times the share of the demand's marginal utility its price makes up on a path no
      dearer than the demand's cheapest plus that price, the largest over the demands;
    - a link's load above its capacity, a demand's rate above its request (relative).

    The gap is the dual bound the prices give minus the utility reached, divided by the sum of
    ``m_i x_i``; it is a sum of non-negative terms (spare capacity times price, rate on dear
    paths, each demand's distance from its best response to its prices), each computed directly.
    The gap takes ``g`` as feasible (it is, after :func:`te.lp.repair`).
    """
    alpha, B, owner, share = model.alpha, model.B, model.owner, model.share
    n = len(model.unit)
    y = np.maximum(y, 0.0)
    x = _totals(model, g)
    marginal = weight * x ** (-alpha)
    flux = marginal * x
    price = (B.T @ y) / share  # per unit of the demand's rate
    pi = np.minimum.reduceat(price, model.ptr[:-1])
    stationary = np.maximum(pi - marginal, 0.0) / marginal
    below_request = np.maximum(marginal - pi, 0.0) / marginal * np.maximum(model.rho - x, 0.0) / model.rho
    dear = np.bincount(owner, g * share * (price - pi[owner]), minlength=n) / flux
    load = B @ g
    slack = np.maximum(1.0 - load, 0.0)
    excess = max(float(np.max(load - 1.0, initial=0.0)), float(np.max((x - model.rho) / model.rho, initial=0.0)))
    link_of = np.repeat(np.arange(B.shape[0]), np.diff(B.indptr))
    path_of = B.indices
    part = B.data * y[link_of] / share[path_of]
    effect = np.maximum(part - (price[path_of] - pi[owner][path_of]), 0.0) / marginal[owner][path_of]
    # the spare capacity counts in the demand's rate when the link is narrower than that rate
    effect *= np.minimum(1.0, share[path_of] / (B.data * x[owner][path_of]))
    used = np.diff(B.indptr) > 0
    most = np.zeros(B.shape[0])
    most[used] = np.maximum.reduceat(effect, B.indptr[:-1][used])
    kkt = max(excess, *(float(a.max(initial=0.0)) for a in (stationary, below_request, dear, slack * most)))
    with np.errstate(divide="ignore", over="ignore"):
        best = np.minimum(model.rho, np.where(pi > 0, (weight / np.where(pi > 0, pi, 1.0)) ** (1 / alpha), np.inf))
    log_ratio = np.log(best / x)
    gain = log_ratio if alpha == 1 else np.expm1((1 - alpha) * log_ratio) / (1 - alpha)
    response = flux * (gain - pi / marginal * np.expm1(log_ratio))  # w (U(best) - U(x)) - pi (best - x)
    gap = float(y @ slack + np.sum(g * share * (price - pi[owner])) + np.sum(np.maximum(response, 0.0)))
    return kkt, gap / float(flux.sum())


def _totals(model, g):
    """Each demand's rate (in its unit) from the path variables ``g`` (each in its path's unit)."""
    return np.bincount(model.owner, g * model.share, minlength=len(model.unit))


def _solve_scaled(model: AlphaFairModel):
    """Scaled path rates, link prices, utility weights and iterations; a second try shrinks the regularisation."""
    best = None
    iterations = 0
    for shrinking in (False, True):
        g, y, wt, kkt, its = _interior_point(model, shrinking)
        iterations += its
        if best is None or kkt < best[3]:
            best = (g, y, wt, kkt)
        if kkt <= _ACCEPT:
            break
    g, y, wt, kkt = best
    if kkt > _ACCEPT:
        raise SolverError(f"alpha-fair (alpha={model.alpha:g}): the interior-point method stopped at a KKT residual of "
                          f"{kkt:.2g} after {iterations} iterations, above {_ACCEPT:g}")
    return g, y, wt, iterations


def _padded(model, values, fill=0.0):
    """``values`` per path as a demands x slots array."""
    out = np.full(model.slots.shape, fill)
    ok = model.slots >= 0
    out[ok] = values[model.slots[ok]]
    return out


def _others(a):
    """Sum of the other entries of each row (prefix plus suffix sums: no cancellation)."""
    return np.cumsum(a, axis=1) - a + np.cumsum(a[:, ::-1], axis=1)[:, ::-1] - a


def _cholesky(S):
    """Cholesky factor of ``S`` (in place), with a growing diagonal shift if rounding leaves it indefinite."""
    diag = np.diag(S).copy()
    for shift in (0.0, 1e-14, 1e-12, 1e-10, 1e-8):
        S[np.diag_indices_from(S)] = diag * (1 + shift)
        try:
            return la.cho_factor(S, lower=True, check_finite=False)
        except la.LinAlgError:
            continue
    raise SolverError("alpha-fair: the Newton system is not positive definite")


class _Newton:
    """The Newton system of one iteration, with the paths eliminated demand by demand.

    In path space the system is ``(diag(d) + E^T diag(h) E + B^T diag(Dy) B) dg = xi``: ``d`` the
    paths' barrier terms (plus regularisation), ``h`` each demand's curvature (utility and request
    barrier), ``Dy`` the links', ``E`` each path's share of its demand's unit. ``G = diag(d) +
    E^T h E`` is inverted per demand (diagonal plus rank one) and the links' part by Woodbury:
    ``S = Dy^-1 + B G^-1 B^T`` (links x links) is formed as a sum over pairs of paths of a demand
    of ``(b_p / e_p - b_q / e_q)(...)^T`` (so arcs two paths share cancel exactly) plus one term
    per demand, and factorised.
    """

    def __init__(self, model, d, h, dy_inverse):
        self.model, self.h = model, h
        owner, e = model.owner, model.share
        self.dinv = _padded(model, 1.0 / d)
        self.e = _padded(model, e)
        weight = e * e / d
        self.a = _padded(model, weight)
        self.sigma = self.a.sum(axis=1)
        self.sigma_others = _others(self.a)
        self.denominator = 1 + h * self.sigma
        coefficient = weight[model.pair_p] * weight[model.pair_q] / self.sigma[owner[model.pair_p]]
        scaled = model.pairs.copy()
        scaled.data *= coefficient[scaled.indices]
        S = (scaled @ model.pairs_t).toarray()
        share = (e / d) / self.sigma[owner]  # each path's part of its demand's direction
        per_demand = model.B.copy()
        per_demand.data *= share[per_demand.indices]
        E = sp.csr_matrix((np.ones(len(owner)), owner, np.arange(len(owner) + 1)), shape=(len(owner), len(h)))
        V = (per_demand @ E).tocsr()
        scaled = V.copy()
        scaled.data *= (self.sigma / self.denominator)[scaled.indices]
        S += (scaled @ V.T).toarray()
        S[np.diag_indices_from(S)] += dy_inverse
        self.factor = _cholesky(S)

    def g_inverse(self, v):
        """``G^-1 v`` and each demand's total of it, without cancellation."""
        h, e = self.h, self.e
        padded = _padded(self.model, v)
        scaled = padded * self.dinv * e
        res = self.dinv * (padded * (1 + h[:, None] * self.sigma_others) / self.denominator[:, None]
                           - e * (h / self.denominator)[:, None] * _others(scaled))
        # A demand's total is accurate to its own size even when its request is tight, where the sum
        # of its paths' changes is not (paths with equal prices take nearly free splits): the paths
        # take the difference in proportion to share / d.
        total = scaled.sum(axis=1) / self.denominator
        res += self.dinv * e / self.sigma[:, None] * (total - (e * res).sum(axis=1))[:, None]
        return res[self.model.slots >= 0], total

    def solve(self, xi):
        """``(dg, dx, w)``: path and demand changes and ``w = Dy B dg``, for right-hand side ``xi``."""
        B = self.model.B
        v, _ = self.g_inverse(xi)
        w = la.cho_solve(self.factor, B @ v, check_finite=False)
        dg, dx = self.g_inverse(xi - B.T @ w)
        return dg, dx, w


def _start(model):
    """A strictly feasible start: each path an equal share of what its busiest link allows at half load."""
    B, owner, ptr = model.B, model.owner, model.ptr
    counts = np.diff(ptr)[owner]
    full = B @ (1.0 / (counts * model.share))
    room = np.full(B.shape[0], np.inf)
    np.divide(0.5, full, out=room, where=full > 0)
    path_room = np.full(len(owner), np.inf)
    BT = B.T.tocsr()
    crossing = np.diff(BT.indptr) > 0
    path_room[crossing] = np.minimum.reduceat(room[BT.indices], BT.indptr[:-1][crossing])
    x = np.minimum(np.minimum.reduceat(path_room, ptr[:-1]), 0.5 * model.rho)
    return x[owner] / (counts * model.share)


def _interior_point(model: AlphaFairModel, shrinking: bool):
    """Primal-dual interior-point method in the scaled form (see the module notes).

    Variables: path rates ``g``, link slacks ``s`` (``B g + s = 1``), request slacks ``t``
    (``x + t = rho``) and their duals ``nu``, ``y``, ``z``. ``shrinking``: the path regularisation
    follows the barrier parameter down instead of staying at ``_REG``.
    Returns ``(g, y, weight, KKT residual, iterations)`` of the best iterate by :func:`certificate`.
    """
    alpha, B, owner, rho, e = model.alpha, model.B, model.owner, model.rho, model.share
    BT = B.T.tocsr()
    per_demand = np.diff(model.ptr)[owner]
    hops = np.diff(BT.indptr)
    g = _start(model)
    x = _totals(model, g)
    # utility weights normalised so that the median demand's utility flux starts at 1
    weight = np.exp(model.log_weight - np.median(model.log_weight + (1 - alpha) * np.log(x)))
    if not np.all(np.isfinite(weight) & (weight > 0)):
        raise SolverError(f"alpha-fair (alpha={alpha:g}): the demands' utilities span more than double precision holds")

    def link_scale(marginal, near=None):
        """The largest price each link can have: the least marginal utility per unit of link among
        the demands crossing it (only on paths ``near`` the cheapest of their demand, if given)."""
        per = (marginal[owner] * e / hops)[B.indices] / B.data
        if near is not None:
            per = np.where(near[B.indices], per, np.inf)
        out = np.full(B.shape[0], np.inf)
        busy = np.diff(B.indptr) > 0
        out[busy] = np.minimum.reduceat(per, B.indptr[:-1][busy])
        return out

    def scales(marginal, x, y):
        flux = marginal * x
        price = (BT @ y) / e
        near = price - np.minimum.reduceat(price, model.ptr[:-1])[owner] <= 0.5 * marginal[owner]
        by_links = link_scale(marginal, near)
        theta_a = np.where(np.isfinite(by_links), by_links, link_scale(marginal))
        return flux[owner] / per_demand, theta_a, flux

    marginal = weight * x ** (-alpha)
    s, t = 1.0 - B @ g, rho - x
    nu = marginal[owner] * e
    z = marginal * x / t
    y = 0.5 * link_scale(marginal)
    mu = 1.0
    theta_p, theta_a, theta_d = scales(marginal, x, y)
    best = (g, y, np.inf, 0)
    iters = 0
    for iters in range(1, _MAX_ITER + 1):
        x = _totals(model, g)
        marginal = weight * x ** (-alpha)
        feasible = _feasible(model, g)
        kkt = certificate(model, feasible, y, weight)[0]
        if kkt < best[2]:
            best = (feasible, y.copy(), kkt, iters)
        if kkt <= _TARGET or (mu <= _TARGET / 10 and iters - best[3] > _STALL) or not np.isfinite(kkt):
            break
        r_d = (z - marginal)[owner] * e + BT @ y - nu  # stationarity, per unit of each path
        r_p = B @ g + s - 1.0  # kept near 0 by the steps; corrected for what rounding leaves
        r_c = x + t - rho
        err_d = np.max(np.abs(r_d) / (marginal[owner] * e))
        comp = np.r_[g * nu / theta_p, s * y / theta_a, t * z / theta_d]
        while max(err_d, np.max(np.abs(comp - mu))) <= _STAGE_FIT * mu and mu > _TARGET / 10:
            mu = max(_TARGET / 10, min(0.2 * mu, mu ** 1.5))
            theta_p, theta_a, theta_d = scales(marginal, x, y)
            comp = np.r_[g * nu / theta_p, s * y / theta_a, t * z / theta_d]
        curvature = alpha * marginal / x
        reg = (min(_REG, mu) if shrinking else _REG) * (marginal / x)[owner] * e * e
        newton = _Newton(model, nu / g + reg, curvature + z / t, s / y)
        tau_g, tau_s, tau_t = mu * theta_p - g * nu, mu * theta_a - s * y, mu * theta_d - t * z
        xi = -r_d - BT @ ((tau_s + y * r_p) / s) - ((tau_t + z * r_c) / t)[owner] * e + tau_g / g
        dg, dx, w = newton.solve(xi)
        dnu = (tau_g - nu * dg) / g
        # w = Dy B dg: each link's change from its price side, accurate to its own slack
        ds = -r_p - w * (s / y)
        dy = (tau_s + y * r_p) / s + w
        dt = -r_c - dx
        dz = (tau_t - z * dt) / t
        step = min(1.0, max(0.99, 1 - mu) * min(_to_boundary(v, dv) for v, dv in
                                                 ((g, dg), (s, ds), (t, dt), (nu, dnu), (y, dy), (z, dz))))
        g, s, t = g + step * dg, s + step * ds, t + step * dt
        nu, y, z = nu + step * dnu, y + step * dy, z + step * dz
    g, y, kkt, _ = best
    return g, y, weight, kkt, iters


def _feasible(model, g):
    """``g`` scaled down onto the feasible set: each demand to its request, then each path by its most
    overloaded link (what :func:`te.lp.repair` does, here in units, to judge the iterate as it would be returned)."""
    B, owner = model.B, model.owner
    x = _totals(model, g)
    g = g * np.minimum(1.0, model.rho / np.maximum(x, np.finfo(float).tiny))[owner]
    factor = np.minimum(1.0, 1.0 / np.maximum(B @ g, np.finfo(float).tiny))
    if np.all(factor == 1.0):
        return g
    BT = B.T.tocsr()
    per_path = np.ones(len(g))
    crossing = np.diff(BT.indptr) > 0
    per_path[crossing] = np.minimum.reduceat(factor[BT.indices], BT.indptr[:-1][crossing])
    return g * per_path


def _to_boundary(v, dv):
    """Largest step keeping ``v + step * dv >= 0``."""
    falling = dv < 0
    return float(np.min(-v[falling] / dv[falling], initial=np.inf))
