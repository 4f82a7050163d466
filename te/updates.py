"""Congestion-free update plans: from one TE allocation to another without overloading a link (SWAN).

An allocation gives every flow (an intent) a rate on each of its paths (tunnels): a mapping
``flow id -> {path: rate_bps}``, a path being a tuple of nodes whose consecutive pairs are links.
A flow missing from an allocation has rate 0 there (a new or a deleted intent).

The controller sets a flow's rates at its ingress switch, one atomic change per flow (meter and
SELECT-group weights together), but different flows' switches apply a step in any order. While
moving from allocation ``A^j`` to ``A^{j+1}`` a link ``l`` may therefore carry each flow at its
old or its new rates, and the worst case is ::

    sum_f max(load_f^j(l), load_f^{j+1}(l))      (load_f^j(l): f's rate on its paths through l)

A plan ``A^0 = old, A^1, ..., A^n = new`` is *congestion-free* when that is within the capacity
of every link for every transition (Hong et al., "Achieving High Utilization with
Software-Driven WAN", SIGCOMM 2013, section 4.3). :func:`check_plan` verifies it by brute force.

The bound (SWAN)
----------------
If ``old`` and ``new`` both leave a fraction ``s`` (the *scratch*) of every link free, a plan
of at most ``ceil(1/s) - 1`` *transitions* exists (:func:`swan_bound`), i.e. at most
``ceil(1/s) - 2`` intermediate allocations before ``new``; with ``s >= 1/2`` the direct update is
already congestion-free. Proof (SWAN's): with ``k`` transitions, take
``A^j = A^0 + (j/k)(A^N - A^0)``. Each flow's load changes by ``(b_f^N - b_f^0)/k`` per step,
so ``max(b_f^j, b_f^{j+1}) <= b_f^{j+1} + b_f^0 / k`` and a transition loads a link to at most
``(1 - s)c + (1 - s)c/k``, which is ``c`` at most as soon as ``k >= (1 - s)/s``. That
interpolation is the first plan tried for every number of steps; it needs no solver.

Rate policy
-----------
As in SWAN, no flow is throttled during an update: in every intermediate allocation a flow's
total rate is at least ``min(old total, new total)``. It is also at most
``max(old total, new total)``, so a flow never gets more than one of the two allocations gives
it (its demand may be no more). The interpolation above satisfies both, so the bound holds
under this policy. Only paths of the flow in ``old`` or ``new`` are used.

Search
------
One transition (the direct update) is checked first. Then, for ``n`` transitions, the
interpolation is tried and, if it congests, an LP over the intermediate rates
``a^j_{f,p} >= 0`` with ``u^j_{f,l} >= load_f^j(l)``, ``u^j_{f,l} >= load_f^{j+1}(l)`` and
``sum_f u^j_{f,l} <= z c(l)``, minimising ``z`` (the worst utilisation of the plan, so the plan
found leaves the most headroom); the plan is congestion-free when ``z <= 1``. A plan of ``n``
transitions gives one of ``n + 1`` (repeat ``new``), so feasibility is monotone in ``n`` and
the fewest transitions are found by doubling ``n`` (2, 4, 8, ...) up to ``max_steps``, then
bisecting. Rows are scaled per link (capacity) and columns per flow (its larger total).

Tolerance: a plan is accepted when every transition is within capacity to :data:`RTOL`
(relative; HiGHS's feasibility tolerance is 1e-7). The direct update and the interpolation are
exact up to float rounding.
"""
from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from numbers import Integral, Real
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp

from te.errors import InvalidInput, SolverError
from te.lp import _linprog
from te.model import MAX_BPS, capacity_error

__all__ = ["MAX_STEPS", "RTOL", "UpdatePlan", "Violation", "check_plan", "one_shot_overload", "plan_update",
           "swan_bound"]

MAX_STEPS = 1000
"""Most transitions :func:`plan_update` searches (the default for a scratch below 1/1001 is clamped to it)."""
RTOL = 1e-6
"""A transition is within capacity when its worst load is at most ``(1 + RTOL)`` times the capacity."""
MAX_CHECK_FLOWS = 16
"""Most flows :func:`check_plan` accepts (it enumerates all ``2**flows`` subsets)."""
_NOISE = 1e-9  # an LP path rate below this share of its flow's scale is solver noise, dropped (only lowers loads)


@dataclass(frozen=True)
class UpdatePlan:
    """The allocations to apply one after another, from the first intermediate one to ``new``.

    Attributes
    ----------
    steps : list of dict
        Allocations (``flow id -> {path: rate_bps}``) in order; the last is ``new`` itself.
        Intermediate ones list every flow of ``old`` or ``new`` with every path it has in either
        (rate 0.0 included). Empty when not ``feasible``.
    feasible : bool
        Whether a congestion-free plan of at most ``max_steps`` transitions was found.
    reason : str or None
        Why not (one line naming a link), ``None`` when feasible.
    worst : list of float
        Per transition (``old -> steps[0]``, ``steps[0] -> steps[1]``, ...), the largest worst-case
        load over capacity of any link; empty when not ``feasible``.
    """

    steps: list
    feasible: bool
    reason: str | None
    worst: list


class Violation(NamedTuple):
    """A link over capacity while flows ``switched`` already apply step ``step`` and the others do not."""

    step: int  # 1-based: the transition into steps[step - 1]
    switched: frozenset
    arc: tuple
    load_bps: float
    capacity_bps: float


def swan_bound(scratch) -> int | None:
    """Most transitions a congestion-free plan needs when old and new leave ``scratch`` of every link free.

    ``max(1, ceil(1/scratch) - 1)`` (SWAN, see the module notes); ``None`` for no scratch (no bound).

    Examples
    --------
    >>> swan_bound(1 / 3), swan_bound(0.1), swan_bound(0.3), swan_bound(0.5), swan_bound(0.0)
    (2, 9, 3, 1, None)
    >>> swan_bound(-0.1)
    Traceback (most recent call last):
    ...
    te.errors.InvalidInput: scratch must be a number between 0 and 1 (a fraction of every link), got -0.1
    """
    s = _check_scratch(scratch)
    if s == 0:
        return None
    return max(1, math.ceil(1 / s - 1e-9) - 1)  # 1e-9: 1 / (1/3) may round above 3


def _check_scratch(scratch) -> float:
    if isinstance(scratch, bool) or not isinstance(scratch, Real) or not 0 <= scratch <= 1:  # NaN fails too
        raise InvalidInput(f"scratch must be a number between 0 and 1 (a fraction of every link), got {scratch!r}")
    return float(scratch)


def _capacity(capacity) -> dict:
    if not isinstance(capacity, Mapping):
        raise InvalidInput(f"capacity must map links (u, v) to bit/s, got {type(capacity).__name__}")
    out = {}
    for arc, value in capacity.items():
        if not isinstance(arc, tuple) or len(arc) != 2:
            raise InvalidInput(f"capacity: a link must be a pair (u, v), got {arc!r}")
        if isinstance(value, bool) or not isinstance(value, Real):
            raise InvalidInput(f"link {arc}: capacity must be a number of bit/s, got {value!r}")
        why = capacity_error(f"link {arc}", value)
        if why:
            raise InvalidInput(why)
        out[arc] = float(value)
    return out


def _allocation(name, alloc, capacity) -> dict:
    """``alloc`` checked against ``capacity``: ``{flow: {path tuple: float rate}}``."""
    if not isinstance(alloc, Mapping):
        raise InvalidInput(f"{name}: an allocation must map flow ids to {{path: rate_bps}}, got {type(alloc).__name__}")
    out = {}
    for flow, paths in alloc.items():
        if not isinstance(paths, Mapping):
            raise InvalidInput(f"{name}: flow {flow!r}: expected a mapping of paths to rates, got {paths!r}")
        mine = {}
        for path, rate in paths.items():
            if not isinstance(path, tuple) or len(path) < 2:
                raise InvalidInput(f"{name}: flow {flow!r}: a path must be a tuple of at least 2 nodes, got {path!r}")
            for arc in zip(path, path[1:]):
                if arc not in capacity:
                    raise InvalidInput(f"{name}: flow {flow!r}: path {path} uses {arc}, which has no capacity")
            if isinstance(rate, bool) or not isinstance(rate, Real) or not 0 <= rate <= MAX_BPS:
                raise InvalidInput(f"{name}: flow {flow!r}: path {path}: rate must be a number of bit/s between 0 "
                                   f"and {MAX_BPS:g}, got {rate!r}")
            mine[path] = float(rate)
        out[flow] = mine
    return out


@dataclass(eq=False)
class _Index:
    """Flows, their paths (old and new together) and (flow, link) pairs as sparse matrices."""

    flows: list
    paths: list  # (flow position, path) per column
    path_flow: np.ndarray
    arcs: list
    capacity: np.ndarray  # bit/s per arc
    pair_flow: np.ndarray  # per (flow, arc) pair
    pair_arc: np.ndarray
    pair_path: sp.csr_matrix  # pairs x paths: how often the path crosses the pair's arc (own flow only)
    arc_pair: sp.csr_matrix  # arcs x pairs, 0/1

    @classmethod
    def build(cls, allocations, capacity):
        flows, flow_pos, paths, path_pos = [], {}, [], {}
        for alloc in allocations:
            for flow, mine in alloc.items():
                if flow not in flow_pos:
                    flow_pos[flow] = len(flows)
                    flows.append(flow)
                for path in mine:
                    key = (flow_pos[flow], path)
                    if key not in path_pos:
                        path_pos[key] = len(paths)
                        paths.append(key)
        arcs, arc_pos, pairs, pair_pos = [], {}, [], {}
        rows, cols = [], []
        for p, (f, path) in enumerate(paths):
            for arc in zip(path, path[1:]):
                if arc not in arc_pos:
                    arc_pos[arc] = len(arcs)
                    arcs.append(arc)
                key = (f, arc_pos[arc])
                if key not in pair_pos:
                    pair_pos[key] = len(pairs)
                    pairs.append(key)
                rows.append(pair_pos[key])
                cols.append(p)
        pair_flow = np.array([f for f, _ in pairs], dtype=int)
        pair_arc = np.array([a for _, a in pairs], dtype=int)
        n_pairs = len(pairs)
        return cls(flows=flows, paths=paths, path_flow=np.array([f for f, _ in paths], dtype=int), arcs=arcs,
                   capacity=np.array([capacity[a] for a in arcs], dtype=float), pair_flow=pair_flow,
                   pair_arc=pair_arc,
                   pair_path=sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n_pairs, len(paths))),
                   arc_pair=sp.csr_matrix((np.ones(n_pairs), (pair_arc, np.arange(n_pairs))),
                                          shape=(len(arcs), n_pairs)))

    def rates(self, alloc) -> np.ndarray:
        flows = self.flows
        return np.array([alloc.get(flows[f], {}).get(path, 0.0) for f, path in self.paths], dtype=float)

    def allocation(self, rates) -> dict:
        out = {flow: {} for flow in self.flows}
        for (f, path), rate in zip(self.paths, rates):
            out[self.flows[f]][path] = float(rate)
        return out

    def totals(self, rates) -> np.ndarray:
        return np.bincount(self.path_flow, weights=rates, minlength=len(self.flows))

    def utilisation(self, rates) -> np.ndarray:
        """Load over capacity of every arc."""
        return self.arc_pair @ (self.pair_path @ rates) / self.capacity

    def transient(self, a, b) -> np.ndarray:
        """Worst-case load over capacity of every arc while moving from rates ``a`` to ``b``."""
        return self.arc_pair @ np.maximum(self.pair_path @ a, self.pair_path @ b) / self.capacity

    def worst(self, states) -> list:
        return [float(self.transient(a, b).max(initial=0.0)) for a, b in zip(states, states[1:])]


def one_shot_overload(old, new, capacity) -> float:
    """Worst-case load over capacity of any link if every flow is switched from ``old`` to ``new`` in one step.

    ``max_l sum_f max(load_f^old(l), load_f^new(l)) / capacity(l)`` (0.0 with no link in use):
    above 1 the direct update may congest, depending on the order the switches apply it.

    Examples
    --------
    >>> up, down = ("s", "x", "t"), ("s", "y", "t")
    >>> cap = {("s", "x"): 3.0, ("x", "t"): 3.0, ("s", "y"): 3.0, ("y", "t"): 3.0}
    >>> one_shot_overload({"f": {up: 2.0}, "g": {down: 2.0}}, {"f": {down: 2.0}, "g": {up: 2.0}}, cap)
    1.3333333333333333
    """
    capacity = _capacity(capacity)
    old, new = _allocation("old", old, capacity), _allocation("new", new, capacity)
    idx = _Index.build([old, new], capacity)
    return float(idx.transient(idx.rates(old), idx.rates(new)).max(initial=0.0))


def plan_update(old, new, capacity, scratch, max_steps=None) -> UpdatePlan:
    """The fewest congestion-free steps from allocation ``old`` to ``new`` (SWAN; see the module notes).

    Parameters
    ----------
    old, new : mapping
        ``flow id -> {path: rate_bps}``, a path a tuple of nodes; a missing flow has rate 0.
    capacity : mapping
        ``(u, v) -> bit/s`` for every link a path uses.
    scratch : float
        Fraction of every link that ``old`` and ``new`` leave free (between 0 and 1); sets the
        default ``max_steps`` to SWAN's bound :func:`swan_bound`.
    max_steps : int, optional
        Most transitions to search (1 to :data:`MAX_STEPS`). Default: ``swan_bound(scratch)``
        (clamped to :data:`MAX_STEPS`), or 1 (the direct update only) for no scratch.

    Returns
    -------
    UpdatePlan
        ``steps`` ends with ``new``. Not ``feasible`` when ``old`` or ``new`` overloads a link, or
        no plan of at most ``max_steps`` transitions exists; the controller then falls back to
        make-before-break.

    Examples
    --------
    SWAN's example: two flows swap two paths, each link 2/3 full (scratch 1/3). Switched at
    once, a link may carry both (4 of 3); one intermediate step, each flow halfway, avoids it:

    >>> up, down = ("s", "x", "t"), ("s", "y", "t")
    >>> cap = {("s", "x"): 3.0, ("x", "t"): 3.0, ("s", "y"): 3.0, ("y", "t"): 3.0}
    >>> old, new = {"f": {up: 2.0}, "g": {down: 2.0}}, {"f": {down: 2.0}, "g": {up: 2.0}}
    >>> plan = plan_update(old, new, cap, scratch=1 / 3)
    >>> plan.feasible, len(plan.steps), plan.worst
    (True, 2, [1.0, 1.0])
    >>> plan.steps[0]
    {'f': {('s', 'x', 't'): 1.0, ('s', 'y', 't'): 1.0}, 'g': {('s', 'y', 't'): 1.0, ('s', 'x', 't'): 1.0}}
    >>> plan.steps[-1] == new
    True

    With the links full there is no scratch, and no plan:

    >>> full = {arc: 2.0 for arc in cap}
    >>> plan = plan_update(old, new, full, scratch=0.0, max_steps=4)
    >>> plan.feasible, plan.steps
    (False, [])
    >>> print(plan.reason)  # doctest: +ELLIPSIS
    no congestion-free plan of at most 4 steps: the best one loads link (...) to 1.25 times its capacity in step ...
    """
    s = _check_scratch(scratch)
    bound = swan_bound(s)
    default = 1 if bound is None else min(bound, MAX_STEPS)
    if max_steps is None:
        limit = default
    elif isinstance(max_steps, bool) or not isinstance(max_steps, Integral) or not 1 <= max_steps <= MAX_STEPS:
        raise InvalidInput(f"max_steps must be a whole number from 1 to {MAX_STEPS}, got {max_steps!r}")
    else:
        limit = int(max_steps)
    capacity = _capacity(capacity)
    old, new = _allocation("old", old, capacity), _allocation("new", new, capacity)
    idx = _Index.build([old, new], capacity)
    a0, an = idx.rates(old), idx.rates(new)
    final = {flow: dict(paths) for flow, paths in new.items()}

    slack_notes = []
    for name, rates in (("old", a0), ("new", an)):
        util = idx.utilisation(rates)
        if not len(util):
            continue
        j = int(np.argmax(util))
        if util[j] > 1 + RTOL:
            return UpdatePlan([], False, f"the {name} allocation loads link {idx.arcs[j]} to {util[j]:.4g} times its "
                                         f"capacity: no update to or from it is congestion-free", [])
        if s > 0 and util[j] > 1 - s + RTOL:
            slack_notes.append(f"the {name} allocation leaves only {1 - util[j]:.4g} of link {idx.arcs[j]} free, "
                               f"less than the scratch {s:.4g}, so SWAN's bound does not apply")

    direct = idx.worst([a0, an])
    if direct[0] <= 1 + RTOL:
        return UpdatePlan([final], True, None, direct)

    def attempt(n):
        """(congestion-free?, states a^1..a^n, worst per transition) for ``n`` transitions."""
        states = [a0 + (an - a0) * (j / n) for j in range(1, n)] + [an]
        worst = idx.worst([a0, *states])
        if max(worst) <= 1 + RTOL:
            return True, states, worst
        states = [*_lp_states(idx, a0, an, n), an]
        worst = idx.worst([a0, *states])
        return max(worst) <= 1 + RTOL, states, worst

    # Feasibility is monotone in n: double until feasible (or the limit), then bisect.
    good, bad, last = None, 1, None
    n = 2
    while bad < limit:
        n = min(n, limit)
        ok, states, worst = attempt(n)
        if ok:
            good = (n, states, worst)
            break
        bad, last = n, states
        n *= 2
    if good is None:
        return UpdatePlan([], False, _why_not(idx, a0, an, limit, last, bound, s, slack_notes), [])
    while good[0] - bad > 1:
        mid = (good[0] + bad) // 2
        ok, states, worst = attempt(mid)
        if ok:
            good = (mid, states, worst)
        else:
            bad = mid
    _, states, worst = good
    return UpdatePlan([*(idx.allocation(a) for a in states[:-1]), final], True, None, worst)


def _why_not(idx, a0, an, limit, last, bound, s, notes) -> str:
    """One line: the link the best plan of ``limit`` transitions overloads, and why no bound helped."""
    if last is None:  # only the direct update was allowed
        seq, what = [a0, an], "updating in one step"
    else:
        seq, what = [a0, *last], f"no congestion-free plan of at most {limit} steps: the best one"
    t = int(np.argmax(idx.worst(seq)))
    util = idx.transient(seq[t], seq[t + 1])
    j = int(np.argmax(util))
    text = f"{what} loads link {idx.arcs[j]} to {util[j]:.4g} times its capacity"
    if len(seq) > 2:
        text += f" in step {t + 1}"
    if bound is None:
        text += " (no scratch: SWAN guarantees no plan)"
    elif limit < bound:
        text += f" (SWAN's bound for scratch {s:.4g} is {bound} steps)"
    return "; ".join([text, *notes])


def _lp_states(idx, a0, an, n):
    """Intermediate rates ``a^1 .. a^{n-1}`` minimising the plan's worst utilisation (module notes)."""
    K, T = n - 1, n
    P, Q, L, F = len(idx.paths), idx.pair_path.shape[0], len(idx.arcs), len(idx.flows)
    t0, tn = idx.totals(a0), idx.totals(an)
    lo, hi = np.minimum(t0, tn), np.maximum(t0, tn)
    scale = np.where(hi > 0, hi, 1.0)  # a flow's unit: its larger total
    M = idx.pair_path  # pair loads in flow units from path rates in flow units
    G = sp.csr_matrix((scale[idx.pair_flow] / idx.capacity[idx.pair_arc], (idx.pair_arc, np.arange(Q))), shape=(L, Q))
    D = sp.csr_matrix((np.ones(P), (idx.path_flow, np.arange(P))), shape=(F, P))
    IK, IQ = sp.identity(K, format="csr"), sp.identity(Q, format="csr")
    zero = lambda r, c: sp.csr_matrix((r, c))  # noqa: E731
    A = sp.bmat([
        [sp.kron(IK, M), sp.kron(sp.eye(K, T, k=1), -IQ), zero(K * Q, 1)],  # u^j >= load of state j (j >= 1)
        [sp.kron(IK, M), sp.kron(sp.eye(K, T, k=0), -IQ), zero(K * Q, 1)],  # u^{j-1} >= load of state j
        [zero(T * L, K * P), sp.kron(sp.identity(T), G), sp.csr_matrix(-np.ones((T * L, 1)))],  # sum_f u / c <= z
        [sp.kron(IK, D), zero(K * F, T * Q), zero(K * F, 1)],  # total <= max(old, new)
        [sp.kron(IK, -D), zero(K * F, T * Q), zero(K * F, 1)],  # total >= min(old, new)
    ], format="csr")
    b = np.concatenate([np.zeros(2 * K * Q + T * L), np.tile(hi / scale, K), np.tile(-lo / scale, K)])
    pair_scale = scale[idx.pair_flow]
    u_lo = np.zeros((T, Q))
    u_lo[0] = (M @ a0) / pair_scale  # the old and new loads are fixed: bounds, not rows
    u_lo[-1] = np.maximum(u_lo[-1], (M @ an) / pair_scale)
    x_hi = np.tile(np.where(hi[idx.path_flow] > 0, 1.0, 0.0), K)
    lower = np.concatenate([np.zeros(K * P), u_lo.ravel(), [0.0]])
    upper = np.concatenate([x_hi, np.full(T * Q + 1, np.inf)])
    c = np.zeros(K * P + T * Q + 1)
    c[-1] = 1.0
    res = _linprog(c, A_ub=A, b_ub=b, bounds=np.column_stack([lower, upper]), prescaled="small")
    if res.status != 0:
        raise SolverError(f"update plan of {n} steps: HiGHS stopped without an optimum: {res.message}")
    x = res.x[:K * P].reshape(K, P).clip(0.0, 1.0)
    x[x < _NOISE] = 0.0
    return list(x * scale[idx.path_flow])


def check_plan(old, steps, capacity, rtol=RTOL) -> list:
    """Every link overload of a plan, for every set of flows already switched in every transition.

    Brute force, independent of :func:`plan_update`: in the transition into ``steps[t]`` each
    flow is at its rates of the previous allocation or of ``steps[t]`` (a flow's change is
    atomic), and switches apply it in any order, so every subset of flows may be switched at
    once; all ``2**flows`` subsets are enumerated (every order passes only through them).
    A flow missing from an allocation has rate 0 there.

    Parameters
    ----------
    old : mapping
        The allocation before the plan, ``flow id -> {path: rate_bps}``.
    steps : sequence of mapping
        The allocations applied in turn (e.g. :attr:`UpdatePlan.steps`).
    capacity : mapping
        ``(u, v) -> bit/s``.
    rtol : float
        A load above ``(1 + rtol)`` times the capacity is a violation.

    Returns
    -------
    list of Violation
        Empty when the plan is congestion-free.

    Examples
    --------
    >>> up, down = ("s", "x", "t"), ("s", "y", "t")
    >>> cap = {("s", "x"): 3.0, ("x", "t"): 3.0, ("s", "y"): 3.0, ("y", "t"): 3.0}
    >>> old, new = {"f": {up: 2.0}, "g": {down: 2.0}}, {"f": {down: 2.0}, "g": {up: 2.0}}
    >>> check_plan(old, [new], cap)[0]
    Violation(step=1, switched=frozenset({'f'}), arc=('s', 'y'), load_bps=4.0, capacity_bps=3.0)
    >>> check_plan(old, plan_update(old, new, cap, scratch=1 / 3).steps, cap)
    []
    """
    capacity = _capacity(capacity)
    if isinstance(rtol, bool) or not isinstance(rtol, Real) or not 0 <= rtol < 1:
        raise InvalidInput(f"rtol must be a number between 0 and 1, got {rtol!r}")
    if isinstance(steps, (str, bytes, Mapping)) or not hasattr(steps, "__iter__"):
        raise InvalidInput(f"steps must be a sequence of allocations, got {type(steps).__name__}")
    states = [_allocation("old", old, capacity),
              *(_allocation(f"step {t + 1}", step, capacity) for t, step in enumerate(steps))]
    flows = list(dict.fromkeys(f for state in states for f in state))
    if len(flows) > MAX_CHECK_FLOWS:
        raise InvalidInput(f"check_plan enumerates every subset of flows: at most {MAX_CHECK_FLOWS}, got {len(flows)}")

    def loads(paths):  # arc -> load of one flow
        out = {}
        for path, rate in paths.items():
            for arc in zip(path, path[1:]):
                out[arc] = out.get(arc, 0.0) + rate
        return out

    per_flow = [{f: loads(state.get(f, {})) for f in flows} for state in states]
    violations = []
    for t in range(1, len(states)):
        before, after = per_flow[t - 1], per_flow[t]
        for r in range(len(flows) + 1):
            for switched in itertools.combinations(flows, r):
                total = {}
                for f in flows:
                    for arc, load in (after if f in switched else before)[f].items():
                        total[arc] = total.get(arc, 0.0) + load
                for arc, load in total.items():
                    if load > capacity[arc] * (1 + rtol):
                        violations.append(Violation(t, frozenset(switched), arc, load, capacity[arc]))
    return violations
