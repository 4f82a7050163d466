"""Path-formulation linear programs: ``max-throughput``, ``min-mlu`` and exact ``max-min``.

Every model is built as sparse matrices from the index arrays of :class:`te.paths.Candidates`
(no per-variable Python objects) and solved by HiGHS through ``highspy`` (or, for comparison,
``scipy.optimize.linprog(method="highs")``: see ``_BACKEND``).
Building and solving are separate calls (:func:`build_model`, :meth:`PathModel.solve`) so that
callers can time them; nothing here reads a clock.

Scaling
-------
HiGHS's tolerances (about 1e-7) are absolute, so every row and column is put on its *own*
scale (:meth:`PathModel.shares`). A link's row is divided by the link's capacity. In
``max-min`` a demand's row counts shares of its own scale (its request, its max-min value,
or its weight times the water level), and a path's variable is its rate in
units of that scale, clipped to the path: at most its narrowest link (so that a
tolerance-sized share of a big demand is never a visible rate on a small link; every arc
coefficient is then at most 1) and at least 1e-8 of its widest (HiGHS drops coefficients below
1e-9, and a demand whose use of a full link vanished so would cross it for free). A 1 bit/s
demand beside 100 Gbit/s links is then as exact as any other. (Dividing everything by the
largest capacity instead put it at 1e-11, below the tolerance, where the solver may drop it.)
``max-throughput`` and ``min-mlu`` keep one scale for their variables, with per-link rows
(``min-mlu``: only those of links under 1e-3 of the largest). Both solve by demand generation
(:func:`_solve_fix_and_merge`), which merges demands by request; per-demand columns made
``min-mlu`` ten times slower, and :func:`repair` gives every demand exactly its request anyway.

What tolerance remains is removed afterwards: :func:`repair` brings every demand within its
target and every link within its capacity (scaling down, a relative loss of at most the
tolerance), then :func:`fill` gives a demand left short (a tiny one the solver rounded away)
its missing rate on candidate paths with spare capacity. HiGHS's presolve sometimes trips over
rows spanning many decades; such an LP is solved again without it. The bounds that keep all of
this within HiGHS's range are checked on input (:func:`te.model.check_magnitudes`).

Exact weighted max-min fairness (``max-min``)
---------------------------------------------
The water-level sequence of Danna et al. (INFOCOM 2012) and SWAN, with requests as caps and
strict priority classes (highest first; lower classes get zero until higher ones are frozen).
Within a class, with the unfrozen demands ``S`` at cap levels ``L_i = r_i / w_i``:

1. Let ``T`` be a known lower bound of the next water level (the previous level at first).
   Demands with ``L_i <= T`` are capped for sure: hold them at their request; every other
   demand must get ``w_i * t`` with no cap; maximise ``t``. That relaxation asks more of
   the uncapped demands than max-min does, so its ``t`` is again a lower bound: if some
   uncapped demand has ``L_i <= t``, set ``T = t`` and repeat. Each round caps at least one
   more demand and usually jumps over many cap levels at once.
2. When no uncapped demand has ``L_i <= t``, ``t`` is the exact level. ``t`` has no upper
   bound in this LP, so the duals ``y_i >= 0`` of the rows ``sum_p x_ip >= w_i t``
   satisfy ``sum w_i y_i = 1``. By complementary
   slackness a demand with ``y_i > 0`` is tight in *every* optimum: it cannot grow
   without another dropping below ``t*``. Those demands, and the capped ones, are frozen
   (a lower bound ``(1 - 1e-9)`` below their value absorbs solver tolerance); every
   answer freezes at least one demand.
3. Repeat until the class is frozen, then move to the next class.
4. The level LPs leave frozen demands anywhere above their value; a final LP places every
   demand at its max-min value (maximise the sum of the demands' shares of their values,
   then prefer shorter paths), then :func:`repair` and :func:`fill`.

Each demand's row is scaled by its own value: a capped demand's by its request, a frozen one's
by its value, a growing one's by ``w_i`` times a unit of the level (the previous level, or at
first an estimate from the shortest paths; re-chosen when the level lands more than 1000 times
away from it), so ``t`` is near 1 in every LP.
"""
from __future__ import annotations

import contextlib
import contextvars
import warnings
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import scipy.sparse as sp
from scipy.optimize import OptimizeWarning, linprog

from te.errors import InvalidInput, SolverError
from te.paths import Candidates, _odd_keys, _ranges, _runs, solution_from_rates
from te.progress import report

__all__ = ["LP_OBJECTIVES", "PathModel", "build_model", "repair", "fill", "edge_optimum", "recording_prices"]

LP_OBJECTIVES = ("max-throughput", "min-mlu", "max-min")

# Per hop, the max-throughput objective discounts a unit of rate by at most this much (SWAN's
# latency term): small enough never to trade throughput for shorter paths in practice.
_HOP_PENALTY = 1e-4
_FREEZE_SLACK = 1e-9
_DUAL_TOL = 1e-9
_LEVEL_RTOL = 1e-9
_FIT_RTOL = 1e-7  # a class "fits" when every member gets its request to this share (repair may cost that much)
_UNIT_RANGE = 1e3  # a level LP is solved again in a new unit when its level lands further than this from the unit
_MIN_COEF = 1e-8  # a path's unit is at least this share of its widest link (HiGHS drops coefficients below 1e-9)
_NOISE = 1e-12  # fill: a demand this close to its target (relative) is not short
_RELAXED_SLACKS = (_FREEZE_SLACK, 1e-7, 1e-6)  # holds of a level LP, relaxed in turn while it is infeasible


# Column generation (te.colgen) prices new paths with the duals of every LP solved here: while
# ``recording_prices()`` is active, each LP appends (arc price, threshold), both per bit/s: a new path
# for demand i improves that LP when the sum of its arcs' prices is below ``threshold[i]``.
_PRICES: contextvars.ContextVar = contextvars.ContextVar("te_lp_prices", default=None)


@contextlib.contextmanager
def recording_prices():
    """Collect the path prices of every LP solved inside the ``with`` block (a list of (arc price, threshold)).

    Examples
    --------
    >>> import networkx as nx
    >>> from te.model import Demand
    >>> from te.paths import candidate_paths
    >>> g = nx.DiGraph([("a", "b", {"capacity": 4.0}), ("b", "c", {"capacity": 4.0})])
    >>> cands = candidate_paths(g, [Demand("x", "a", "c", 9.0), Demand("y", "a", "b", 9.0)])
    >>> with recording_prices() as prices:
    ...     _ = build_model(cands, "max-min").solve()
    >>> len(prices) > 0, prices[-1][0].shape
    (True, (2,))
    """
    token = _PRICES.set([])
    try:
        yield _PRICES.get()
    finally:
        _PRICES.reset(token)


def _record_prices(cands, res, threshold):
    """Append the arc prices (duals of the first ``len(arcs)`` rows, divided by capacity) and thresholds."""
    prices = _PRICES.get()
    if prices is not None:
        n_arcs = len(cands.arcs)
        prices.append((np.maximum(-res.ineqlin.marginals[:n_arcs], 0.0) / cands.capacity_bps, threshold))


def _demand_path(cands: Candidates) -> sp.csr_matrix:
    """``demands x paths`` 0/1 matrix; paths are grouped by demand, so it is CSR by construction."""
    n_paths = len(cands.paths)
    return sp.csr_matrix((np.ones(n_paths), np.arange(n_paths), cands.path_ptr),
                         shape=(len(cands.demands), n_paths))


def _throughput_cost(cands):
    """Cost vector of "maximise total rate, then prefer fewer hops" (minimised)."""
    return -1.0 + _HOP_PENALTY * cands.path_hops / max(cands.path_hops.max(initial=1.0), 1.0)


def _share_cost(cands, unit, scale):
    """Cost of each path variable (minimised) in an LP in shares (:meth:`PathModel.shares`).

    -1 per share of its demand's ``unit``, so that every demand's share counts the same however
    small the demand, plus the hop penalty per bit/s (over the largest unit), which can never pay
    for lowering a share. ``scale`` is the rate (bit/s) of one unit of each path's variable.

    Examples
    --------
    >>> import networkx as nx
    >>> from te.model import Demand
    >>> g = nx.DiGraph([("a", "b", {"capacity": 9.0}), ("b", "c", {"capacity": 9.0}), ("a", "c", {"capacity": 9.0})])
    >>> c = Candidates.from_paths(g, [Demand("d", "a", "c", 1.0)], [[("a", "c"), ("a", "b", "c")]])
    >>> _share_cost(c, np.array([4.0]), np.array([4.0, 4.0])).tolist()
    [-0.99995, -0.9999]
    """
    mine = unit[cands.path_demand]
    top = float(unit.max(initial=0.0))
    hops = cands.path_hops / max(cands.path_hops.max(initial=1.0), 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        per_bit = np.where(mine > 0, -1.0 / mine, 0.0) + (_HOP_PENALTY * hops / top if top > 0 else 0.0)
    return scale * per_bit


# Every LP here is feasible by construction (zero rates, or the previous level LP's answer, fit
# it), so "infeasible" (status 2), like "numerical difficulties" (status 4), is HiGHS's presolve
# or unscaling tripping over rows whose coefficients span many decades. Tried in turn:
_RETRIES = (("highs", {"presolve": False}),
            ("highs", {"primal_feasibility_tolerance": 1e-9, "dual_feasibility_tolerance": 1e-9}),
            ("highs-ipm", {"presolve": False}))


# An LP already in shares (PathModel.shares) may be solved without HiGHS's own scaling first
# (``prescaled``). Measured: for the final placement that is 20 times faster on Cogentco (154k
# paths) and faster everywhere else; for the level LPs it saves a quarter of the iterations up
# to a few thousand paths (B4, AttMpls) but costs up to ten times as many on Cogentco.
_PRESCALED = {"simplex_scale_strategy": 0}
_SMALL_LP = 5000  # columns: "small" below this
# The plain merged max-throughput LPs (te.lp._solve_fix_and_merge, a row per group) go to the primal simplex: on
# Cogentco's seven (6,000-7,000 columns) 0.35 s against 0.77 s for HiGHS's default dual simplex (and 0.75 s for
# its IPM); on Kdl's 1.5 s against 7.6 s. Those with groups assumed full do better with the dual (_reference_lp).
# Larger ones stay with the dual simplex: Kdl's first (550,467 columns, 581 rows) took 24 s with it and had
# not finished after 200 s with the primal.
_PRIMAL = {"simplex_strategy": 4}
_PRIMAL_COLUMNS = 50_000
# ... unless they have many rows too (demands with several paths): Kdl's second (93,656 columns, 26,748 rows)
# took 15.5 s with the interior point method (and crossover), 35 s with the primal and 103 s with the dual.
_IPM = {"solver": "ipm"}
_PRESCALED_NO_PRESOLVE = {**_PRESCALED, "presolve": "off"}
_PRESOLVE_OFF_RANGE = 1e4  # largest / smallest nonzero coefficient of a small LP solved without presolve


def _well_scaled(values) -> bool:
    """Whether the nonzero coefficients span less than ``_PRESOLVE_OFF_RANGE``.

    >>> _well_scaled(np.array([0.5, 1.0, -2.0, 0.0])), _well_scaled(np.array([1e-9, 1.0]))
    (True, False)
    """
    mags = np.abs(values[values != 0])
    return bool(not len(mags) or mags.max() < _PRESOLVE_OFF_RANGE * mags.min())
_LPS_SOLVED = 0  # LPs solved by this process (told to te.progress: te-solve shows it)


def _linprog(c, A_ub=None, b_ub=None, A_eq=None, b_eq=None, bounds=None, prescaled=None, options=None, retry=True):
    """An LP in ``scipy.optimize.linprog``'s form solved by HiGHS, retried as ``_RETRIES`` says.

    ``prescaled``: None, "small" or "always" (see ``_PRESCALED``); ``options``: HiGHS options of the
    first attempt (when not prescaled), e.g. ``_PRIMAL``. Solved through ``highspy`` (one
    HiGHS model, no conversion layer) unless ``_BACKEND`` is "scipy"; the result has ``linprog``'s
    fields (status, x, fun, marginals). (Starting each max-min level LP from the previous one's
    basis was measured too: no faster on Geant2012 and up to 1.7x slower on Uninett2011.)
    ``retry=False``: one attempt only, for an LP that may really be infeasible.
    """
    global _LPS_SOLVED
    _LPS_SOLVED += 1
    report("LPs", _LPS_SOLVED)
    off = prescaled == "always" or (prescaled == "small" and len(c) <= _SMALL_LP)
    first = (("highs", _PRESCALED),) if off else (("highs", options),) if options else ()
    attempts = (*first, ("highs", {}), *_RETRIES) if retry else (first or (("highs", {}),))[:1]
    for method, options in attempts:
        if _BACKEND == "highspy":
            res = _highs(c, A_ub, b_ub, A_eq, b_eq, bounds, method, options)
        else:
            with warnings.catch_warnings():
                # scipy hands options it has no keyword for (simplex_scale_strategy) to HiGHS verbatim,
                # with a warning saying so
                warnings.simplefilter("ignore", OptimizeWarning)
                res = linprog(c, A_ub=A_ub, b_ub=b_ub, A_eq=A_eq, b_eq=b_eq, bounds=bounds, method=method,
                              options=options)
        if res.status not in (2, 4):
            break
    return res


_BACKEND = "highspy"  # or "scipy": the same HiGHS through scipy.optimize.linprog (benchmarks compare them)


def _bound_arrays(bounds, n):
    """Lower and upper bounds of ``n`` variables from ``linprog``'s ``bounds`` (a pair, or one pair per variable)."""
    if bounds is None:
        return np.zeros(n), np.full(n, np.inf)
    arr = np.asarray(bounds, dtype=object)
    if arr.ndim == 1:  # one (lower, upper) pair for every variable
        lo, hi = arr
        return (np.full(n, -np.inf if lo is None else float(lo)), np.full(n, np.inf if hi is None else float(hi)))
    arr = np.asarray(bounds, dtype=float)  # (n, 2); None became nan
    lo, hi = arr[:, 0].copy(), arr[:, 1].copy()
    lo[np.isnan(lo)], hi[np.isnan(hi)] = -np.inf, np.inf
    return lo, hi


def _highs(c, A_ub, b_ub, A_eq, b_eq, bounds, method, options):
    """One LP through highspy, answered in ``linprog``'s terms.

    The arrays go to HiGHS as they are (``passModel`` with numpy arrays; a CSR matrix row-wise, so one
    block of rows needs no conversion), and one ``Highs`` object is reused with its options reset: about
    half of what a small LP (B4) costs was Python-side model building before.
    """
    import highspy
    from types import SimpleNamespace

    c = np.asarray(c, dtype=float)
    n = len(c)
    n_ub = 0 if A_ub is None else A_ub.shape[0]
    n_eq = 0 if A_eq is None else A_eq.shape[0]
    if n_ub and not n_eq:
        A, row_lo, row_hi = A_ub, np.full(n_ub, -np.inf), np.asarray(b_ub, dtype=float)
    elif n_eq and not n_ub:
        A, row_lo = A_eq, np.asarray(b_eq, dtype=float)
        row_hi = row_lo
    elif n_ub:
        A = sp.vstack([sp.csr_matrix(A_ub), sp.csr_matrix(A_eq)], format="csr")
        row_lo = np.concatenate([np.full(n_ub, -np.inf), np.asarray(b_eq, dtype=float)])
        row_hi = np.concatenate([np.asarray(b_ub, dtype=float), np.asarray(b_eq, dtype=float)])
    else:
        A, row_lo, row_hi = sp.csc_matrix((0, n)), np.zeros(0), np.zeros(0)
    if not sp.issparse(A) or A.format not in ("csr", "csc"):
        A = sp.csr_matrix(A)
    fmt = 2 if A.format == "csr" else 1  # HiGHS's MatrixFormat: kRowwise, kColwise
    if options is _PRESCALED and n <= _SMALL_LP and _well_scaled(A.data):
        # a small LP whose coefficients span less than _PRESOLVE_OFF_RANGE: HiGHS's presolve costs more than it
        # saves (B4's level LPs: 28 -> 20 ms for the sequence); a badly scaled one (1 bit/s beside 100 Gbit/s)
        # needs it to come out exact
        options = _PRESCALED_NO_PRESOLVE
    col_lo, col_hi = _bound_arrays(bounds, n)
    h = _HIGHS.get("h")
    if h is None:
        h = _HIGHS["h"] = highspy.Highs()
    else:
        h.clearModel()
        h.resetOptions()
    h.setOptionValue("output_flag", False)
    if method == "highs-ipm":
        h.setOptionValue("solver", "ipm")
    for key, value in options.items():
        h.setOptionValue(key, value)
    n_row = A.shape[0]
    h.passModel(n, n_row, A.nnz, fmt, 1, 0.0, c, col_lo, col_hi, np.ascontiguousarray(row_lo, dtype=float),
                np.ascontiguousarray(row_hi, dtype=float), A.indptr.astype(np.int32, copy=False),
                A.indices.astype(np.int32, copy=False), np.ascontiguousarray(A.data, dtype=float),
                np.zeros(n, dtype=np.int32))  # all continuous (an empty array is refused)
    h.run()
    status = h.getModelStatus()
    S = highspy.HighsModelStatus
    code = {S.kOptimal: 0, S.kIterationLimit: 1, S.kTimeLimit: 1, S.kInfeasible: 2, S.kUnbounded: 3,
            S.kUnboundedOrInfeasible: 3}.get(status, 4)
    sol = h.getSolution()
    duals = np.asarray(sol.row_dual, dtype=float) if code == 0 else np.full(n_row, np.nan)
    return SimpleNamespace(status=code, message=h.modelStatusToString(status),
                           x=np.asarray(sol.col_value, dtype=float) if code == 0 else None,
                           fun=h.getInfo().objective_function_value if code == 0 else None,
                           ineqlin=SimpleNamespace(marginals=duals[:n_ub]),
                           eqlin=SimpleNamespace(marginals=duals[n_ub:]))


_HIGHS: dict = {}  # the Highs object this process reuses


def _check(res, what):
    if res.status != 0:
        raise SolverError(f"{what}: HiGHS stopped without an optimum: {res.message}")


@dataclass(eq=False)
class PathModel:
    """A path-formulation LP, built and ready to solve.

    Use :func:`build_model` to create one; :meth:`solve` returns a :class:`te.model.Solution`.
    """

    objective: str
    cands: Candidates
    scale: float
    demand_path: sp.csr_matrix
    rates: np.ndarray  # scaled requests
    capacity: np.ndarray  # scaled capacities
    c: np.ndarray | None = None
    row_scale: np.ndarray | None = None  # min-mlu: the factor each arc row is multiplied by
    # max-min: called after each LP (te.colgen); returns a model over more paths to solve that LP again, or None
    extend: object = None
    # max-throughput, min-mlu: where the last solve of the same demands ended (te.colgen keeps it between rounds)
    warm: dict | None = None

    @cached_property
    def arc_path(self) -> sp.csr_matrix:
        """``arcs x paths`` incidence, CSR (the level LPs of max-min are built from it)."""
        return self.cands.path_arc.T.tocsr()

    @cached_property
    def requests_bps(self) -> np.ndarray:
        """Requests in bit/s, exactly as the demands give them."""
        return self.cands.requests_bps

    @cached_property
    def entry_capacity(self) -> np.ndarray:
        """Capacity (bit/s) of the arc of each nonzero of ``arc_path``."""
        return np.repeat(self.cands.capacity_bps, np.diff(self.arc_path.indptr))

    @cached_property
    def path_span(self) -> tuple[np.ndarray, np.ndarray]:
        """Narrowest and widest capacity (bit/s) on each path."""
        pa = self.cands.path_arc
        cap = self.cands.capacity_bps[pa.indices]
        narrow, wide = np.full(len(self.cands.paths), np.inf), np.zeros(len(self.cands.paths))
        nonempty = np.diff(pa.indptr) > 0
        narrow[nonempty] = np.minimum.reduceat(cap, pa.indptr[:-1][nonempty])
        wide[nonempty] = np.maximum.reduceat(cap, pa.indptr[:-1][nonempty])
        return narrow, wide

    def shares(self, unit):
        """The LP's matrices with every row and column on its own scale (see the module notes).

        Parameters
        ----------
        unit : ndarray
            Scale (bit/s) of each demand's row; 0 for a demand with no rate in this LP.

        Returns
        -------
        arc_rows : csr_matrix
            ``arcs x paths``: the load of one unit of each path variable over each arc's capacity.
        demand_rows : csr_matrix
            ``demands x paths``: one unit of each path variable as a share of its demand's ``unit``.
        scale : ndarray
            The rate (bit/s) of one unit of each path variable: its demand's unit, clipped to
            ``[1e-8 of the path's widest link, its narrowest link]``; 0 where the unit is 0.

        Examples
        --------
        >>> import networkx as nx
        >>> from te.model import Demand
        >>> from te.paths import candidate_paths
        >>> g = nx.DiGraph([("a", "b", {"capacity": 1e11}), ("b", "c", {"capacity": 10.0}),
        ...                 ("a", "c", {"capacity": 1e11})])
        >>> model = build_model(candidate_paths(g, [Demand("x", "a", "c", 1e9)], k=2), "max-min")
        >>> arcs, demands, scale = model.shares(np.array([1e9]))
        >>> model.cands.paths, model.cands.arcs
        ((('a', 'c'), ('a', 'b', 'c')), (('a', 'b'), ('a', 'c'), ('b', 'c')))
        >>> scale.tolist(), demands.toarray().tolist(), arcs.toarray().tolist()
        ([1000000000.0, 10.0], [[1.0, 1e-08]], [[0.0, 1e-10], [0.01, 0.0], [0.0, 1.0]])
        """
        scale, arc_data, share = self._share_data(unit)
        ap = self.arc_path
        arc_rows = sp.csr_matrix((arc_data, ap.indices, ap.indptr), shape=ap.shape)
        demand_rows = sp.csr_matrix((share, np.arange(len(scale)), self.cands.path_ptr), shape=self.demand_path.shape)
        return arc_rows, demand_rows, scale

    def _share_data(self, unit):
        """:meth:`shares` as the nonzeros of ``arc_path`` and ``demand_path``, and the scale."""
        narrow, wide = self.path_span
        mine = unit[self.cands.path_demand]
        scale = np.where(mine > 0, np.minimum(np.maximum(mine, _MIN_COEF * wide), narrow), 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.where(mine > 0, scale / mine, 0.0)
        return scale, scale[self.arc_path.indices] / self.entry_capacity, share

    @cached_property
    def level_template(self) -> sp.csr_matrix:
        """Structure of every level LP: ``[arc_path, 0; demand_path, 1]`` (the last column is ``t``), CSR."""
        ap, n_paths = self.arc_path, len(self.cands.paths)
        ptr = self.cands.path_ptr
        n_dem = len(self.cands.demands)
        # demand row i: its paths, then t
        dem_indices = np.insert(np.arange(n_paths), ptr[1:], n_paths)
        indptr = np.concatenate([ap.indptr, ap.nnz + ptr[1:] + np.arange(1, n_dem + 1)])
        return sp.csr_matrix((np.ones(ap.nnz + n_paths + n_dem), np.concatenate([ap.indices, dem_indices]), indptr),
                             shape=(ap.shape[0] + n_dem, n_paths + 1))

    @cached_property
    def first_path_arc(self) -> sp.csr_matrix:
        """``arcs x demands``: the arcs of each demand's first (shortest) candidate path."""
        return self.cands.path_arc[self.cands.path_ptr[:-1]].T.tocsr()

    @property
    def size(self) -> dict:
        """Variables and constraints of one LP of this model."""
        rows = len(self.cands.arcs) + len(self.cands.demands)  # the full LP; solve() may need fewer rows
        extra = {"max-throughput": 0, "min-mlu": 1, "max-min": 1}[self.objective]
        return {"variables": len(self.cands.paths) + extra, "constraints": rows}

    def solve(self):
        """Solve and return a :class:`te.model.Solution` (rates in bit/s).

        Raises
        ------
        te.errors.SolverError
            HiGHS did not reach an optimum.
        """
        cands = self.cands
        if not len(cands.paths):
            return solution_from_rates(cands, self.objective, "optimal", np.zeros(0), 0.0, {"lps": 0, **self.size})
        if self.objective == "max-min":
            rates, lps, cands = _solve_max_min(self)
            return solution_from_rates(cands, self.objective, "optimal", rates, float(rates.sum()),
                                       {"lps": lps, **self.size})
        return self.finish(*self.solve_lps())

    def solve_lps(self):
        """max-throughput or min-mlu: the LPs only, as (scaled path rates, LPs solved, MLU or None).

        :meth:`finish` makes the :class:`te.model.Solution` (repair, fill). Column generation prices
        every round's LPs but needs a routing from its last round only (on Kdl, repair and fill cost
        0.3 s a round).
        """
        return _solve_fix_and_merge(self, self.warm)

    def finish(self, x, lps, value):
        """The :class:`te.model.Solution` of :meth:`solve_lps`'s answer: within every capacity and request."""
        cands = self.cands
        if self.objective == "max-throughput":
            rates = fill(cands, repair(cands, x * self.scale))
            value = float(rates.sum())
        else:
            rates = repair(cands, x * self.scale, full=True)
        return solution_from_rates(cands, self.objective, "optimal", rates, value, {"lps": lps, **self.size})


def build_model(cands: Candidates, objective: str) -> PathModel:
    """Build the sparse LP of ``objective`` over the candidate paths.

    Parameters
    ----------
    cands : te.paths.Candidates
    objective : {"max-throughput", "min-mlu", "max-min"}
        ``max-throughput``: maximise total rate, each demand at most its request, shorter
        paths preferred among optima. ``min-mlu``: route every demand in full, minimise the
        maximum link utilisation. ``max-min``: exact weighted max-min fair allocation with
        priority classes (see the module notes).

    Returns
    -------
    PathModel

    Examples
    --------
    >>> import networkx as nx
    >>> from te.model import Demand
    >>> from te.paths import candidate_paths
    >>> g = nx.DiGraph()
    >>> for u, v, cap in [("a", "b", 10.0), ("b", "c", 10.0), ("a", "c", 5.0)]:
    ...     g.add_edge(u, v, capacity=cap, weight=1.0)
    >>> cands = candidate_paths(g, [Demand("x", "a", "c", 12.0)], k=2)
    >>> sol = build_model(cands, "max-throughput").solve()
    >>> [(path, round(rate, 9)) for path, rate in sol.routes(0)]
    [(('a', 'c'), 5.0), (('a', 'b', 'c'), 7.0)]
    >>> round(build_model(cands, "min-mlu").solve().max_link_utilization, 6)
    0.8
    """
    if objective not in LP_OBJECTIVES:
        raise InvalidInput(f"unknown LP objective {objective!r} (expected one of {', '.join(LP_OBJECTIVES)})")
    rates_bps = cands.requests_bps
    scale = float(cands.capacity_bps.max()) if len(cands.arcs) else 1.0
    model = PathModel(objective, cands, scale, _demand_path(cands), rates_bps / scale, cands.capacity_bps / scale)
    if objective == "max-throughput":
        model.c = _throughput_cost(cands)
    elif objective == "min-mlu":
        # variables: path rates over the largest capacity, then the MLU; rows: each arc's load minus
        # its capacity times the MLU <= 0, each demand's rates sum to its request (only the rows and
        # demands _solve_fix_and_merge needs). The row of an arc under 1e-3 of the largest is scaled up
        # to that (its MLU coefficient would otherwise fall below HiGHS's 1e-9 and be dropped);
        # repair() then rescales every demand to exactly its request, however small. The 0/1 demand
        # rows keep the LP fast (per-demand columns made it 10x slower, every row scaled 10% slower).
        model.c = np.zeros(len(cands.paths) + 1)
        model.c[-1] = 1.0
        model.row_scale = np.maximum(1.0, 1e-3 * scale / cands.capacity_bps)
    # max-min: every LP of the sequence is built when it is solved (see _level_lp)
    return model


def repair(cands: Candidates, rates_bps, full=False, target_bps=None) -> np.ndarray:
    """Remove solver tolerance from path rates: non-negative, within requests and capacities.

    With ``full=True`` (``min-mlu``) each demand's rates are rescaled to sum exactly to its
    request and capacities are left alone (utilisation may exceed 1 by design). Otherwise
    each demand is scaled down to its request, then each path by the worst overload factor
    among its arcs, which can only lower loads. Both scalings are relative, so a demand
    loses at most the overload's share of its own rate. ``target_bps`` (one value per
    demand) replaces the requests, e.g. with max-min values.

    Examples
    --------
    >>> import networkx as nx
    >>> from te.model import Demand
    >>> g = nx.DiGraph()
    >>> g.add_edge("a", "b", capacity=10.0, weight=1.0)
    >>> c = Candidates.from_paths(g, [Demand("d", "a", "b", 20.0)], [[("a", "b")]])
    >>> repair(c, np.array([10.000001])), repair(c, np.array([19.0]), full=True)
    (array([10.]), array([20.]))
    >>> repair(c, np.array([9.0]), target_bps=[8.0])
    array([8.])
    """
    x = np.maximum(np.asarray(rates_bps, dtype=float), 0.0)
    if target_bps is None:
        requested = cands.requests_bps
    else:
        requested = np.maximum(np.asarray(target_bps, dtype=float), 0.0)
    counts = np.diff(cands.path_ptr)
    allocated = np.zeros(len(requested))
    np.add.at(allocated, cands.path_demand, x)
    if full:
        with np.errstate(divide="ignore", invalid="ignore"):
            factor = np.where(allocated > 0, requested / allocated, 0.0)
        x = x * np.repeat(factor, counts)
        # a demand the solver left (numerically) empty goes on its first path
        empty = np.flatnonzero((allocated <= 0) & (requested > 0))
        x[cands.path_ptr[empty]] = requested[empty]
        return x
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(allocated > requested, requested / allocated, 1.0)
    x = x * np.repeat(factor, counts)
    load = cands.path_arc.T @ x
    with np.errstate(divide="ignore", invalid="ignore"):
        arc_factor = np.where(load > cands.capacity_bps, cands.capacity_bps / load, 1.0)
    if np.any(arc_factor < 1.0):
        # min over each path's arcs of the arc factor, via the CSR rows of path_arc
        pa = cands.path_arc
        per_entry = arc_factor[pa.indices]
        path_factor = np.ones(len(x))
        nonempty = np.diff(pa.indptr) > 0
        path_factor[nonempty] = np.minimum.reduceat(per_entry, pa.indptr[:-1][nonempty])
        x = x * path_factor
    return x


def fill(cands: Candidates, rates_bps, target_bps=None, rounds=8) -> np.ndarray:
    """Raise demands short of their target along candidate paths with spare capacity; no link is overloaded.

    Solver tolerance can leave a demand that is tiny beside the links short of its target
    (even at zero) while its paths have room. Each round, every short demand's path is offered
    the least, over its arcs, of the arc's spare capacity divided by the number of short
    demands' paths crossing it (so simultaneous raises cannot overload an arc); each demand
    takes from its paths in order (shortest first) up to its shortfall. A demand whose paths
    are all full stays where it is. Cost: ``O(nonzeros of path_arc)`` per round. The rounds
    shrink what is left geometrically; a last pass, one demand at a time, takes what remains
    on the paths of the demands it still matters to (room above 1e-9 of their allocation).

    Parameters
    ----------
    cands : te.paths.Candidates
    rates_bps : array_like
        Path rates (bit/s) within the capacities, e.g. from :func:`repair`.
    target_bps : array_like, optional
        Rate each demand should reach (default: its request).
    rounds : int
        At most this many rounds (each one finishes the demands that need no shared arc).

    Returns
    -------
    numpy.ndarray
        The raised path rates.

    Examples
    --------
    Demand ``t`` (1 bit/s) was left at 0 on a 10 Gbit/s link carrying 9.9 Gbit/s:

    >>> import networkx as nx
    >>> from te.model import Demand
    >>> g = nx.DiGraph()
    >>> g.add_edge("a", "b", capacity=1e10, weight=1.0)
    >>> c = Candidates.from_paths(g, [Demand("big", "a", "b", 2e10), Demand("t", "a", "b", 1.0)],
    ...                           [[("a", "b")], [("a", "b")]])
    >>> fill(c, np.array([9.9e9, 0.0]), target_bps=[9.9e9, 1.0]).tolist()
    [9900000000.0, 1.0]
    >>> x = fill(c, np.array([9.9e9, 0.0]))  # both short of their requests: they share the spare 100 Mbit/s
    >>> float(x[1]), bool(x.sum() <= 1e10), round(float(x[0]) / 1e10, 9)
    (1.0, True, 1.0)
    """
    x = np.array(rates_bps, dtype=float)
    owner = cands.path_demand
    n_dem = len(cands.demands)
    if target_bps is None:
        target = cands.requests_bps
    else:
        target = np.asarray(target_bps, dtype=float)
    if not np.any(target - np.bincount(owner, x, minlength=n_dem) > _NOISE * target):
        return x  # short by rounding only (the common case): nothing to do
    pa, capacity = cands.path_arc, cands.capacity_bps
    nonempty = np.diff(pa.indptr) > 0
    starts = pa.indptr[:-1][nonempty]

    def least(per_arc):  # least value over each path's arcs
        out = np.zeros(len(x))
        out[nonempty] = np.minimum.reduceat(per_arc[pa.indices], starts)
        return out

    # Room on a path counts when it is more than 1e-9 of its demand's allocation and than the
    # rounding in a link's load (about 1e-16 of its capacity): less changes nobody's rate.
    floor = 1e-13 * least(capacity)
    slot = np.arange(len(x)) - cands.path_ptr[owner]  # position of each path among its demand's
    by_slot = [np.flatnonzero(slot == s) for s in range(int(slot.max(initial=-1)) + 1)]
    for _ in range(rounds + 1):
        allocated = np.bincount(owner, x, minlength=n_dem)
        deficit = target - allocated
        spare = np.maximum(capacity - pa.T @ x, 0.0)
        offered = (deficit > _NOISE * target)[owner] & (least(spare) > np.maximum(1e-9 * allocated[owner], floor))
        if not offered.any():
            return x
        if _ == rounds:
            break
        crossing = pa.T @ offered.astype(float)
        room = least(spare / np.maximum(crossing, 1.0) * (1 - 1e-12))  # margin for rounding in the sums
        room[~offered] = 0.0
        # exact per-demand running totals: one vector step per path position, not a global cumsum
        # (which would lose a 1 bit/s demand's rate beside sums of Gbit/s)
        left = np.maximum(deficit, 0.0)
        add = np.zeros(len(x))
        for paths in by_slot:
            d = owner[paths]
            add[paths] = np.minimum(room[paths], left[d])
            left[d] -= add[paths]
        x += add
    # the exact pass, one path at a time, over what the rounds left
    load = pa.T @ x
    left = np.maximum(deficit, 0.0)
    for p in np.flatnonzero(offered).tolist():
        i = owner[p]
        arcs = pa.indices[pa.indptr[p]:pa.indptr[p + 1]]
        take = min(float(np.min(capacity[arcs] - load[arcs])) * (1 - 1e-12), left[i])
        if take > 0:
            x[p] += take
            load[arcs] += take
            left[i] -= take
    return x


def _cheapest_path(cands: Candidates, cost) -> np.ndarray:
    """Index of each demand's cheapest path (ties: first listed); every demand has a path."""
    return _two_cheapest(cands, cost)[0]


def _two_cheapest(cands: Candidates, cost):
    """Each demand's cheapest path under ``cost`` (ties: the first listed) and the cost of its next cheapest
    (inf for a demand with one path).

    Demands with one or two paths (nearly all of them, even on Kdl) are read off directly; only those with
    more are sorted (sorting all took 30-50 ms a call on Kdl, several calls a round).

    >>> import networkx as nx
    >>> from te.model import Demand
    >>> g = nx.DiGraph([("a", "b", {"capacity": 1.0}), ("b", "c", {"capacity": 1.0}), ("a", "c", {"capacity": 1.0})])
    >>> c = Candidates.from_paths(g, [Demand("x", "a", "c", 1.0), Demand("y", "a", "b", 1.0)],
    ...                           [[("a", "c"), ("a", "b", "c")], [("a", "b")]])
    >>> [v.tolist() for v in _two_cheapest(c, np.array([0.5, 0.5, 0.1]))]
    [[0, 2], [0.5, inf]]
    """
    return _two_cheapest_at(cands.path_ptr[:-1], np.diff(cands.path_ptr), cost)


def _two_cheapest_at(first, counts, cost):
    """:func:`_two_cheapest` for the demands whose paths are ``first`` to ``first + counts`` (path ids)."""
    path = first.copy()
    runner_up = np.full(len(first), np.inf)
    two = np.flatnonzero(counts == 2)
    if len(two):
        a, b = cost[first[two]], cost[first[two] + 1]
        second = b < a
        path[two] += second
        runner_up[two] = np.where(second, a, b)
    more = np.flatnonzero(counts > 2)
    if len(more):  # lexsort is stable: ties keep the path order
        sub = _ranges(first[more], counts[more])
        sub = sub[np.lexsort((cost[sub], np.repeat(np.arange(len(more)), counts[more])))]
        at = np.concatenate([[0], np.cumsum(counts[more])[:-1]])
        path[more] = sub[at]
        runner_up[more] = cost[sub[at + 1]]
    return path, runner_up


def _solve_fix_and_merge(model: PathModel, warm: dict | None = None):
    """Max-throughput or min-MLU by demand generation and aggregation.

    Returns (scaled path rates, LPs solved, MLU or None).

    The full LP has a row per demand, and on large instances most demands never meet a link
    that matters. So:

    1. Route every demand in full on its cheapest path. Only a set ``R`` of links gets a
       capacity row: at first, for max-throughput, the overloaded links; for min-MLU, the links
       whose utilisation reaches a lower bound of the optimal MLU (the busiest node's share of
       its links). Demands crossing a link of ``R`` become *free*; the others stay *fixed* and
       their load is taken off the capacities.
    2. Free demands whose paths have the same costs and cross the same links of ``R`` are
       interchangeable in that LP: they are merged into one commodity (their requests added)
       and the solution is split back in proportion to requests. A commodity with one path
       gets its request as the bound of its variable, not as a row. If a link outside ``R``
       ends up overloaded (above the MLU) it joins ``R`` and the LP is solved again.
    3. The link duals ``mu`` price the fixed demands: a fixed demand is optimal iff its path
       has the least reduced cost ``c_p + mu(p)`` among its candidates (and, for
       max-throughput, that cost is <= 0, so that ``lambda_i >= 0`` completes a dual
       solution; a demand held at zero is optimal iff its least reduced cost is >= 0).
       Violators are freed and the LP re-solved; when none is left, the rates and
       ``(mu, lambda)`` satisfy the optimality conditions of the full LP.

    ``warm`` (a dict, kept by the caller between calls on growing path sets of the same
    demands and arcs, as column generation does) starts where the last call ended: ``R`` only
    grows, and for max-throughput the last link duals classify the demands instead of step 1:
    a demand whose cheapest path is clearly negative in reduced cost (and clearly cheaper than
    its others) is fixed in full on it, one whose cheapest is clearly positive is held at zero,
    and only the rest are free. On Kdl (567,762 demands, most crossing a full link) that keeps
    every LP after the first small.
    """
    mlu = model.objective == "min-mlu"
    cands = model.cands
    n_arcs, n_paths = len(cands.arcs), len(cands.paths)
    counts = np.diff(cands.path_ptr)
    rates = model.rates
    cost = model.c[:n_paths]
    path_arc = cands.path_arc
    live = rates > 0
    zero = np.zeros(len(rates), dtype=bool)  # max-throughput: fixed at no rate
    known = warm is not None and len(warm.get("rows", ())) == n_arcs
    fixed_path = _cheapest_path(cands, cost)
    load = _load_on(path_arc, fixed_path, rates)
    if mlu:
        # rows: the links at least halfway from a lower bound of the MLU up to the busiest (_most_loaded)
        with np.errstate(divide="ignore", invalid="ignore"):
            util = np.where(model.capacity > 0, load / model.capacity, np.inf)
        # a lower bound of the MLU that depends on demands and arcs only: once per column generation
        floor = warm["floor"] if known and "floor" in warm else _node_utilisation(cands, model.requests_bps)
        rows = _most_loaded(util, floor)
    else:
        rows = load > model.capacity * (1 + 1e-12)
    if known:
        rows |= warm["rows"]
    free = live & ((path_arc @ rows.astype(float))[fixed_path] > 0)
    if known and len(warm.get("free", ())) == len(rates):
        free |= live & warm["free"]
    if known and not mlu and warm.get("mu") is not None:
        # the last link duals may fix more of the free demands: in full on a path clearly negative in
        # reduced cost and clearly cheaper than the others, or at zero when even the cheapest is clearly
        # positive. Kept when it leaves less than half as many demands free, or fewer when more than
        # _PRICE_FIX_FREE are (Kdl: 44,803 instead of 550,467 in its second round, then 56k instead of 96k).
        # Measured on Cogentco (about 21,000 free): kept whenever it leaves fewer, 0.94 s; never, 0.84 s; as
        # here, 0.72 s
        by_mu, at_zero, in_full = _clear_by_price(cands, cost + path_arc @ warm["mu"])
        zero_mu = free & at_zero
        settled = free & in_full
        path_mu = np.where(settled, by_mu, fixed_path)
        free_mu = free & ~zero_mu & ~settled
        # The demands fixed in full must fit. On a link they would overload, those that moved there (were not
        # carried in full on that very path last time) are freed first: the others fitted together before.
        full = live & ~zero_mu & ~free_mu
        slot = path_mu - cands.path_ptr[:-1]
        held = warm.get("held")
        stayed = slot == held if held is not None and len(held) == len(rates) else np.zeros(len(rates), dtype=bool)
        over = np.zeros(n_arcs, dtype=bool)
        for keep in (stayed, np.zeros(len(rates), dtype=bool)):
            now = _load_on(path_arc, path_mu[full], rates[full]) > model.capacity * (1 + 1e-12)
            if not now.any():
                break
            over |= now
            back = full & ~keep & ((path_arc @ now.astype(float))[path_mu] > 0)
            free_mu |= back
            full &= ~back
        n_free, n_mu = int(free.sum()), int(free_mu.sum())
        if 2 * n_mu < n_free or (n_free > _PRICE_FIX_FREE and n_mu < n_free):
            free, zero, fixed_path = free_mu, zero_mu & ~free_mu, path_mu
            rows |= over
    # what _merged_lp knows: the demands not carried in full when the last call ended (their groups keep a
    # demand row), and the last link prices
    state = {"partial": warm["partial"].copy() if known and len(warm.get("partial", ())) == len(rates)
             else np.zeros(len(rates), dtype=bool),
             "hint": warm.get("mu") if known else None,
             "active": np.zeros(n_paths, dtype=bool)}
    x = np.zeros(n_paths)
    lps = 0
    value = None
    sifting, last_objective = True, np.inf
    while True:
        full = ~free & ~zero
        x[:] = 0.0
        x[fixed_path[full]] = rates[full]
        fixed_load = path_arc.T @ x
        last_cols = np.zeros(0, dtype=np.int64)
        free_ids = np.flatnonzero(free)
        mu = np.zeros(n_arcs)
        lead_cols = ()
        if mlu:
            with np.errstate(divide="ignore", invalid="ignore"):
                value = float(np.max(np.where(model.capacity > 0, fixed_load / model.capacity, 0.0), initial=0.0))
        while len(free_ids):
            _activate(cands, cost, free_ids, state, lps)
            answer = _merged_lp(model, free_ids, counts, rows, fixed_load, state)
            lps += 1
            if answer is None:  # a shortcut of _merged_lp was wrong for some groups: solved again without it
                continue
            res, sub_x, price, lead_cols, group_ptr, group_rate, cols, members, arc_ids, sub_counts = answer
            if mlu:
                value = float(res.x[-1])
            member_rate = group_rate[np.repeat(np.arange(len(group_rate)), np.diff(group_ptr))]
            with np.errstate(divide="ignore", invalid="ignore"):
                share = np.where(member_rate > 0, sub_x / member_rate, 0.0)
            # each free demand takes its group's split, scaled by its own request
            slot = np.arange(len(cols)) - np.repeat(np.cumsum(np.r_[0, sub_counts])[:-1], sub_counts)
            x[last_cols] = 0.0  # an LP before this one may have had other paths of the free demands (_activate)
            x[cols] = share[group_ptr[members][np.repeat(np.arange(len(free_ids)), sub_counts)] + slot] * \
                np.repeat(rates[free_ids], sub_counts)
            last_cols = cols
            mu = np.zeros(n_arcs)
            mu[arc_ids] = price
            state["hint"] = mu
            state["carrying"] = x > 0
            load = path_arc.T @ x
            overloaded = (load > model.capacity * (value if mlu else 1.0) * (1 + 1e-9)) & ~rows
            if not overloaded.any():
                break
            if mlu:  # the links well above the MLU (that of an LP over too few links can be far too low)
                with np.errstate(divide="ignore", invalid="ignore"):
                    overloaded &= _most_loaded(np.where(model.capacity > 0, load / model.capacity, np.inf), value)
            rows |= overloaded
        reduced = cost + path_arc @ mu
        state["reduced"] = reduced if state["hint"] is mu else None
        best = np.minimum.reduceat(reduced, cands.path_ptr[:-1]) if n_paths else reduced
        mine = reduced[fixed_path]
        if mlu:  # mu sums to 1 over the row links' capacities; no rate can be dropped
            bad = full & live & (mine > best + 1e-9 * max(float(mu.max(initial=0.0)), 1e-300))
        else:
            bad = (full & live & ((mine > best + 1e-9) | (mine > 1e-9))) | (zero & (best < -1e-9))
        bad |= _left_out(cands, reduced, best, state["active"], free, mu if mlu else None)
        if not bad.any():
            if warm is not None:
                # the path each demand had in full, alone (its slot among its paths, which later rounds keep), or -1
                where, alone = _carried_alone(cands, x, rates)
                allocated = np.bincount(cands.path_demand, x, minlength=len(rates))
                warm.update(rows=rows, free=free, mu=None if mlu else mu,
                            held=np.where(alone, where - cands.path_ptr[:-1], -1),
                            partial=live & (allocated < rates * (1 - 1e-9)))
                if mlu:
                    warm["floor"] = floor
            prices = _PRICES.get()
            if prices is not None:
                if mlu:  # a path improves iff mu(p) is below its demand's cheapest current path
                    prices.append((mu, np.where(live, best, 0.0)))
                else:  # a path improves iff its c_p + mu(p) is below min(0, best)
                    hop = _HOP_PENALTY / max(cands.path_hops.max(initial=1.0), 1.0)
                    prices.append((mu + hop, np.where(live, 1.0 + np.minimum(best, 0.0), 0.0)))
            return x, max(lps, 1), value
        objective = float(cost @ x)
        if np.isfinite(last_objective) and objective >= last_objective - 1e-12 * abs(last_objective):
            sifting = False  # no progress since the last LP: sifting may be going round in circles
        last_objective = objective
        if sifting and not mlu and lps <= _SIFT_LPS and len(lead_cols) > _SIFT_COLUMNS:
            # Sifting: a free demand the LP left at zero with a clearly positive reduced cost, or carried in full
            # on one clearly cheapest path, is fixed where it is (the current rates stay feasible and optimal for
            # the smaller LP, so the objective never goes down). Kdl's sequence of LPs otherwise grows with every
            # demand ever freed. Only in the first _SIFT_LPS LPs of a call, and while each LP improves on the
            # last: a Kdl round once went 17 LPs round the same 48,759 free demands.
            where, alone = _carried_alone(cands, x, rates)
            by_mu, at_zero, in_full = _clear_by_price(cands, reduced, _SIFT_MARGIN)
            allocated = np.bincount(cands.path_demand, x, minlength=len(rates))
            drop = free & ~bad & (allocated <= 1e-12 * rates) & at_zero
            keep = free & ~bad & alone & (where == by_mu) & in_full
            free &= ~drop & ~keep
            zero |= drop
            fixed_path[keep] = by_mu[keep]
        free |= bad
        zero &= ~bad


def _load_on(path_arc, paths, rates):
    """The load per arc of ``rates`` on ``paths`` (distinct path ids): ``path_arc[paths].T @ rates`` without
    copying those rows out (Kdl: most of 21 M entries, several times a round).

    >>> m = sp.csr_matrix(np.array([[1.0, 1.0, 0.0], [0.0, 1.0, 1.0], [1.0, 0.0, 0.0]]))
    >>> _load_on(m, np.array([2, 1]), np.array([5.0, 2.0])).tolist()
    [5.0, 2.0, 2.0]
    """
    x = np.zeros(path_arc.shape[0])
    x[paths] = rates
    return path_arc.T @ x


_FIX_MARGIN = 1e-6  # warm max-throughput: a reduced cost this far from 0 (or from the runner-up) fixes a demand
# Sifting fixes a free demand only by this margin (reduced costs are about -1 per bit/s carried): with the warm
# start's _FIX_MARGIN, most of what one LP fixed came back free after the next (Kdl: 97k fixed, 17k freed again,
# 18k fixed, 28k freed...) and a round took up to 16 LPs. Kdl max-throughput, whole run: margin 1e-6: 96 LPs,
# 44-48 s; 1e-5: 64, 51 s; 1e-4: 60, 44 s; 1e-3, 3e-3, 1e-2 and 1e-1: the same 54 LPs, 34-36 s; no sifting: 54
# LPs, 37 s
_SIFT_MARGIN = 1e-3
_PRICE_FIX_FREE = 50_000  # warm max-throughput: fix demands by the last duals only when more than this are free
_SIFT_LPS = 20  # max-throughput fixes settled free demands again only in the first LPs of a call
# ... and only after an LP this wide: on smaller ones (Cogentco's, up to 5,000 columns) the extra LPs cost more
# in Python than the smaller ones save (15 LPs and 1.07 s against 8 and 0.87 s)
_SIFT_COLUMNS = 20_000


def _carried_alone(cands: Candidates, x, rates):
    """Per demand: a path with rate (the last one) and whether it alone carries the whole request.

    >>> import networkx as nx
    >>> from te.model import Demand
    >>> g = nx.DiGraph([("a", "b", {"capacity": 1.0}), ("b", "c", {"capacity": 1.0}), ("a", "c", {"capacity": 1.0})])
    >>> c = Candidates.from_paths(g, [Demand("x", "a", "c", 1.0), Demand("y", "a", "b", 1.0)],
    ...                           [[("a", "c"), ("a", "b", "c")], [("a", "b")]])
    >>> where, alone = _carried_alone(c, np.array([0.0, 1.0, 0.5]), np.array([1.0, 1.0]))
    >>> where.tolist(), alone.tolist()
    ([1, 2], [True, False])
    """
    on = np.flatnonzero(x > 0)
    n_on = np.bincount(cands.path_demand[on], minlength=len(rates))
    where = np.zeros(len(rates), dtype=np.int64)
    where[cands.path_demand[on]] = on
    return where, (rates > 0) & (n_on == 1) & (x[where] >= rates * (1 - 1e-9))


def _clear_by_price(cands: Candidates, reduced, margin=_FIX_MARGIN):
    """Each demand's cheapest path under ``reduced`` costs; whether even that one is clearly positive (the
    demand belongs at zero); whether it is clearly negative and clearly cheaper than the demand's others (the
    demand belongs in full on it). Clearly: by more than ``margin``.

    >>> import networkx as nx
    >>> from te.model import Demand
    >>> g = nx.DiGraph([("a", "b", {"capacity": 1.0}), ("b", "c", {"capacity": 1.0}), ("a", "c", {"capacity": 1.0})])
    >>> c = Candidates.from_paths(g, [Demand("x", "a", "c", 1.0), Demand("y", "a", "b", 1.0)],
    ...                           [[("a", "c"), ("a", "b", "c")], [("a", "b")]])
    >>> path, at_zero, in_full = _clear_by_price(c, np.array([0.5, -0.2, 0.1]))
    >>> path.tolist(), at_zero.tolist(), in_full.tolist()
    ([1, 2], [False, True], [True, False])
    """
    path, runner_up = _two_cheapest(cands, reduced)
    best = reduced[path]
    return path, best > margin, (best < -margin) & (runner_up > best + margin)


_ACTIVE_LPS = 8  # after this many LPs in a call, paths once active stay active (the LPs of a call end)


def _activate(cands: Candidates, cost, free_ids, state, lps):
    """Mark each free demand's two cheapest paths under the ``hint`` prices active (every path, with no hint).

    The merged LP of the free demands takes only their active paths: a group of demands with three paths or
    more needs a row of its own, and at the optimum nearly every demand uses one or two (Kdl: at most 2,
    1.001 on average). The paths that carried rate in the last LP stay active (fewer demands switch back and
    forth: Kdl over eight merge orders, 61-64 LPs and 25.1-27.7 s against 65-73 LPs and 25.7-33.0 s without).
    A free demand whose left-out path comes out cheaper than its active ones is solved again with it (see
    :func:`_left_out`). After ``_ACTIVE_LPS`` LPs in a call, a path once active stays active, so the LPs of a
    call end (``lps``: LPs solved in this call so far).
    """
    if state["hint"] is None:
        state["active"][:] = True
        return
    key = state.pop("reduced", None)  # the caller's, under these very prices
    if key is None:
        key = cost + cands.path_arc @ state["hint"]
    counts = np.diff(cands.path_ptr)[free_ids]
    _, runner_up = _two_cheapest_at(cands.path_ptr[free_ids], counts, key)
    mine = _ranges(cands.path_ptr[free_ids], counts)
    if lps < _ACTIVE_LPS:
        state["active"][:] = False
    state["active"][mine] |= key[mine] <= np.repeat(runner_up, counts)
    if "carrying" in state:
        state["active"][mine] |= state["carrying"][mine]


def _left_out(cands: Candidates, reduced, best, active, free, mlu_prices=None):
    """The free demands with a path left out of their LP (not ``active``) that is cheaper than what they pay.

    ``best``: each demand's least ``reduced`` cost. Max-throughput: a demand pays the least reduced cost of
    its active paths, or 0 when that is positive (it is then not carried in full). Min-MLU (``mlu_prices``,
    the link prices): the least of its active paths; tolerance relative to the largest price.

    >>> import networkx as nx
    >>> from te.model import Demand
    >>> g = nx.DiGraph([("a", "b", {"capacity": 1.0}), ("b", "c", {"capacity": 1.0}), ("a", "c", {"capacity": 1.0})])
    >>> c = Candidates.from_paths(g, [Demand("x", "a", "c", 1.0), Demand("y", "a", "b", 1.0)],
    ...                           [[("a", "c"), ("a", "b", "c")], [("a", "b")]])
    >>> reduced, free = np.array([-0.5, -0.7, -0.2]), np.array([True, True])
    >>> _left_out(c, reduced, np.array([-0.7, -0.2]), np.array([True, False, True]), free).tolist()
    [True, False]
    >>> _left_out(c, reduced, np.array([-0.7, -0.2]), np.array([False, True, True]), free).tolist()
    [False, False]
    """
    out = np.zeros(len(best), dtype=bool)
    ids = np.flatnonzero(free)
    if not len(ids):
        return out
    counts = np.diff(cands.path_ptr)[ids]
    mine = _ranges(cands.path_ptr[ids], counts)
    paid = np.minimum.reduceat(np.where(active[mine], reduced[mine], np.inf), np.cumsum(counts) - counts)
    if mlu_prices is not None:
        out[ids] = best[ids] < paid - 1e-9 * max(float(mlu_prices.max(initial=0.0)), 1e-300)
    else:
        out[ids] = best[ids] < np.minimum(paid, 0.0) - 1e-9
    return out


def _merged_lp(model: PathModel, free_ids, counts, rows, fixed_load, state):
    """The LP of the free demands merged (see :func:`_solve_fix_and_merge`), solved.

    Returns (result, the groups' path rates, the row links' prices per unit of rate, the paths
    of each group's first member, group offsets into them, group requests, the free demands'
    paths, each free demand's group, the row links), or None when the caller must solve again
    because ``state`` changed. ``state`` holds ``partial`` (a bool per demand, see below) and
    ``hint``, the last link prices (per arc) or None.

    A group with several paths that is carried in full (min-MLU: every group; max-throughput: every
    group with no member in ``partial``) needs no row of its own: one of its paths, the
    *reference* (its cheapest under the ``hint`` prices), carries what the others do not, so each
    other path's variable stands for moving rate off the reference (cost and link use: its own minus
    the reference's) and is bounded by the group's request. Only a group with three or more paths
    keeps a row (its other paths together carry at most the request). Kdl's merged LPs so lose most
    of their 15,000-31,000 demand rows and keep their 60-140 link rows. For max-throughput that
    assumes each such group is worth carrying in full, which the answer checks:

    - a group whose cheapest reduced cost comes out positive (carrying it costs more than it gains)
      was not: its members join ``partial`` and None is returned;
    - when the assumption makes the LP infeasible (the requests do not fit), the LP is solved with a
      row for every group instead, and the groups it does not carry in full join ``partial``.

    ``partial`` only grows, so the LPs of one call end. When the answer passes, it is optimal for
    the LP with a row per group (complementary slackness, to HiGHS's tolerance).
    """
    cands, mlu = model.cands, model.objective == "min-mlu"
    cost = model.c[:len(cands.paths)]
    cols, groups, group_ptr, members, sub_counts = _merge_free(cands, cost, free_ids, counts, rows, state["active"])
    lead_cols = cols[groups]  # paths of each group's first member
    n_sub, n_groups = len(lead_cols), len(group_ptr) - 1
    group_rate = np.zeros(n_groups)
    np.add.at(group_rate, members, model.rates[free_ids])
    arc_ids = np.flatnonzero(rows)
    use = cands.path_arc[lead_cols][:, arc_ids].tocsr()  # paths x row links
    c_lead = cost[lead_cols]
    sizes = np.diff(group_ptr)
    full = sizes > 1
    full[members[state["partial"][free_ids]]] = False
    key = c_lead if state["hint"] is None else c_lead + use @ state["hint"][arc_ids]
    args = (model, use, c_lead, group_ptr, group_rate, arc_ids, fixed_load)
    answer = _reference_lp(*args, full, key)
    if answer is None:  # the groups assumed full do not fit, or HiGHS failed on the substitution: the plain LP
        full[:] = False
        answer = _reference_lp(*args, full, key)
        if not mlu:
            carried = np.add.reduceat(answer[1], group_ptr[:-1]) if n_sub else np.zeros(0)
            short = (sizes > 1) & (carried < group_rate * (1 - 1e-9))
            state["partial"][free_ids[short[members]]] = True
    res, sub_x, price = answer
    if not mlu and full.any():
        least = np.minimum.reduceat(c_lead + use @ price, group_ptr[:-1])
        wrong = full & (least > _GROUP_TOL)
        if wrong.any():
            state["partial"][free_ids[wrong[members]]] = True
            return None
    return res, sub_x, price, lead_cols, group_ptr, group_rate, cols, members, arc_ids, sub_counts


_GROUP_TOL = 1e-7  # HiGHS's dual feasibility tolerance: a group assumed full is wrong above this


def _reference_lp(model: PathModel, use, c_sub, group_ptr, group_rate, arc_ids, fixed_load, full, key):
    """The merged LP with the groups ``full`` carried in full on their reference (see :func:`_merged_lp`).

    Each full group's reference is its first path by ``key``. Returns (result, each group path's rate,
    the row links' prices per unit of rate), or None when HiGHS did not solve the LP with some group
    ``full``: infeasible (max-throughput: the requests do not fit), or numerically too hard (moving
    rate off a 1 bit/s link's reference onto a 1 Tbit/s one). With no group ``full`` the LP is the
    plain one (a row per group with several paths), retried as every LP here is.
    """
    mlu = model.objective == "min-mlu"
    n_sub, n_groups = len(c_sub), len(group_ptr) - 1
    row_cap = model.capacity[arc_ids]
    sizes = np.diff(group_ptr)
    group_of = np.repeat(np.arange(n_groups), sizes)
    ref = np.lexsort((np.arange(n_sub), key, group_of))[group_ptr[:-1]]
    is_ref = np.zeros(n_sub, dtype=bool)
    is_ref[ref[full]] = True
    var = np.flatnonzero(~is_ref)  # the LP's columns
    owner = group_of[var]
    moved = full[owner]  # columns that move rate off their group's reference
    shift = sp.csr_matrix((np.ones(int(moved.sum())), (np.flatnonzero(moved), ref[owner[moved]])),
                          shape=(len(var), n_sub))
    A_use = (use[var] - shift @ use).T.tocsr()
    c_var = c_sub[var] - shift @ c_sub
    base = use[ref[full]].T @ group_rate[full]  # the references' load, in full
    one = sizes[owner] == 1
    upper = np.full(len(var), np.inf)
    upper[one | moved] = group_rate[owner[one | moved]]
    # a row for each group with several paths not assumed full (all its paths) and each full one with 3 or more
    has_row = np.where(full, sizes > 2, sizes > 1)
    row_groups = np.flatnonzero(has_row)
    in_row = np.flatnonzero(has_row[owner])
    demand_rows = sp.csr_matrix((np.ones(len(in_row)), (np.searchsorted(row_groups, owner[in_row]), in_row)),
                                shape=(len(row_groups), len(var)))
    assumed = bool(full.any())
    if mlu:
        # load - MLU * capacity <= -fixed load, each row times row_scale (see build_model); a single
        # path's variable is its request exactly, and so is the sum over a group's row (a full group's
        # row, over all but its reference, is at most the request)
        scale_r = model.row_scale[arc_ids]
        A_arc = sp.hstack([sp.diags(scale_r) @ A_use, sp.csr_matrix(-(scale_r * row_cap)[:, None])], format="csr")
        A_rows = sp.hstack([demand_rows, sp.csr_matrix((len(row_groups), 1))], format="csr")
        eq = ~full[row_groups]
        A = sp.vstack([A_arc, A_rows[~eq]], format="csr")
        b = np.concatenate([-scale_r * (fixed_load[arc_ids] + base), group_rate[row_groups[~eq]]])
        c = np.zeros(len(var) + 1)
        c[-1] = 1.0
        lower = np.zeros(len(var) + 1)
        lower[:-1][one] = upper[one]
        res = _linprog(c, A, b, A_rows[eq] if eq.any() else None, group_rate[row_groups[eq]] if eq.any() else None,
                       bounds=np.column_stack([lower, np.r_[upper, np.inf]]), retry=not assumed)
        if assumed and res.status != 0:
            return None
        _check(res, "min-mlu")
        price = np.maximum(-res.ineqlin.marginals[:len(arc_ids)], 0.0) * scale_r
        x_var = res.x[:-1]
    else:
        # each arc row is divided by its capacity (see the module notes)
        A = sp.vstack([sp.diags(1.0 / row_cap) @ A_use, demand_rows], format="csr")
        b = np.concatenate([(np.maximum(row_cap - fixed_load[arc_ids], 0.0) - base) / row_cap,
                            group_rate[row_groups]])
        if len(var) <= _PRIMAL_COLUMNS:
            # the plain LP (a row per group) to the primal simplex; with groups assumed full, HiGHS's default
            # dual simplex: on the 63 LPs of Kdl's run that took over 0.1 s, 60 with groups assumed full
            # took 0.1-0.6 s with the dual against 0.1-2.1 s with the primal (17.4 s against 21.5 s in all),
            # and the 3 plain ones 1.5, 0.5, 4.3 s with the primal against 7.6, 1.9, 20.8 s
            options = _PRIMAL if len(row_groups) and not assumed else None
        else:
            options = _IPM if A.shape[0] * 20 > len(var) else None
        res = _linprog(c_var, A, b, bounds=np.column_stack([np.zeros(len(var)), upper]), options=options,
                       retry=not assumed)
        if assumed and res.status != 0:
            return None
        _check(res, "max-throughput")
        price = -res.ineqlin.marginals[:len(arc_ids)] / row_cap
        x_var = res.x
    sub_x = np.zeros(n_sub)
    sub_x[var] = np.maximum(x_var, 0.0)
    moved_sum = np.add.reduceat(sub_x, group_ptr[:-1]) if n_sub else np.zeros(0)
    sub_x[ref[full]] = np.maximum(group_rate[full] - moved_sum[full], 0.0)
    return res, sub_x, price


def _most_loaded(util, floor):
    """The links whose utilisation is at least halfway from ``floor`` up to the largest.

    Min-MLU's fix-and-merge gives these a row first: a row for every link above a low MLU
    would free almost every demand and make the LP as large as the full one.

    >>> _most_loaded(np.array([0.2, 0.9, 1.0, 0.5]), 0.4).tolist()
    [False, True, True, False]
    """
    top = float(util.max(initial=0.0))
    return util >= (floor + max(top - floor, 0.0) / 2) * (1 - 1e-12)


def _merge_free(cands, cost, free_ids, counts, rows, active):
    """Group free demands whose candidate paths match in cost and in the row links they cross.

    Returns ``cols`` (the ``active`` paths of the free demands, grouped by demand), ``groups``
    (positions in ``cols`` of the paths of each group's first demand, its *leader*), ``group_ptr``
    (offsets of each group's paths in ``groups``), ``members`` (group of each free demand) and the
    number of paths of each free demand in ``cols``.
    """
    sub_counts = counts[free_ids]
    cols = _ranges(cands.path_ptr[free_ids], sub_counts)
    on = active[cols]
    cols = cols[on]
    if len(free_ids):
        sub_counts = np.add.reduceat(on.astype(np.int64), np.cumsum(sub_counts) - sub_counts)
    sub_ptr = np.r_[0, np.cumsum(sub_counts)]
    # Two demands merge when their paths, slot by slot, cross the same row links at the same cost.
    # Sorting those signatures (np.unique over rows) was half the time of a Cogentco round; they are
    # hashed instead: a path's signature is the sum of a random 40-bit integer per row link crossed
    # (exact in floating point, so one sparse product computes it: gathering per-link values and
    # summing them took Kdl 26 ms a merge), and a demand's key a sum (mod 2**64) over its slots of
    # (signature + cost id) times a random odd multiplier per slot, twice with independent values. Two
    # different sets of row links share both signatures with probability about 2**-80, two demands
    # with different signatures or costs both keys with about 2**-128.
    rng = np.random.default_rng(0x7E5EED)
    _, cost_id = np.unique(np.round(cost[cols], 12), return_inverse=True)
    per_link = np.zeros((len(rows), 2))
    per_link[rows] = rng.integers(0, 2 ** 40, size=(int(rows.sum()), 2))
    signatures = (cands.path_arc[cols] @ per_link).astype(np.uint64)  # at most 2**40 times the longest path
    slot = np.arange(len(cols)) - np.repeat(sub_ptr[:-1], sub_counts)
    width = int(sub_counts.max())
    keys = []
    for h in range(2):
        per_cost = rng.integers(1, 2 ** 63, size=int(cost_id.max(initial=0)) + 1, dtype=np.uint64)
        per_slot = _odd_keys(rng, width)
        mixed = (signatures[:, h] + per_cost[cost_id.ravel()]) * per_slot[slot]
        key = np.add.reduceat(mixed, sub_ptr[:-1]) if len(cols) else np.zeros(len(free_ids), dtype=np.uint64)
        keys.append(key + sub_counts.astype(np.uint64) * per_slot[0])
    order, new = _runs(*keys)
    first = order[new]  # each group's first demand
    members = np.empty(len(free_ids), dtype=np.int64)
    members[order] = np.cumsum(new) - 1
    lead = first  # the first free demand of each group
    lead_counts = sub_counts[lead]
    groups = _ranges(sub_ptr[lead], lead_counts)
    group_ptr = np.r_[0, np.cumsum(lead_counts)]
    return cols, groups, group_ptr, members, sub_counts


def _level_unit(model: PathModel, growing, weights) -> float:
    """A first guess of the water level (bit/s per unit of weight), to scale the level LP by.

    Every growing demand on its first path, nothing else on the links: the lowest capacity over
    the weight crossing it. Only its order of magnitude matters (see :func:`_solve_max_min`).

    Examples
    --------
    >>> import networkx as nx
    >>> from te.model import Demand
    >>> from te.paths import candidate_paths
    >>> g = nx.DiGraph([("a", "b", {"capacity": 6.0}), ("b", "c", {"capacity": 100.0})])
    >>> cands = candidate_paths(g, [Demand("x", "a", "c", 9.0), Demand("y", "a", "b", 9.0, weight=2.0)])
    >>> _level_unit(build_model(cands, "max-min"), np.array([True, True]), np.array([1.0, 2.0]))
    2.0
    """
    cands = model.cands
    crossing = model.first_path_arc @ np.where(growing, weights, 0.0)
    busy = crossing > 0
    return float(np.min(cands.capacity_bps[busy] / crossing[busy])) if busy.any() else 1.0


def _solve_max_min(model: PathModel):
    """Run the water-level sequence; returns (path rates in bit/s, LPs solved, the candidates they are on).

    With ``model.extend`` (column generation, :mod:`te.colgen`), each LP is solved again over the
    paths ``extend()`` adds after it, until it adds none; the rates are then on the last model's paths.

    Every LP works in shares (:meth:`PathModel.shares`): a demand's row counts shares of its unit
    (request, frozen value, or weight times ``unit_t``, the level's unit) and each arc's row is
    divided by its capacity, so HiGHS's absolute tolerances are relative to every demand and link. A level
    is resolved to about 1e-9 of the capacity of the links that bound it: exact to its own 1e-6
    unless it is a residue below 1e-3 of those links (e.g. what a higher class leaves of a full
    link).
    """
    cands = model.cands
    n_dem = len(cands.demands)
    weights = np.array([d.weight for d in cands.demands], dtype=float)
    priority = np.array([d.priority for d in cands.demands], dtype=np.int64)
    rates = model.requests_bps
    cap_level = rates / weights
    extend = model.extend

    def more_paths():
        """Move to a model over more paths if the last LP's prices found some (then solve it again)."""
        nonlocal model
        new = extend() if extend is not None else None
        if new is None:
            return False
        model = new
        return True

    value = np.zeros(n_dem)  # max-min rate (bit/s) of frozen demands
    frozen = rates <= 0
    served = np.zeros(n_dem, dtype=bool)  # demands of classes already reached
    placed = None
    lps = 0
    for level_class in sorted(set(priority.tolist()), reverse=True):
        served |= priority == level_class
        members = served & ~frozen
        t_prev = 0.0
        # Cheap common case first: if the whole class fits, max-min gives everyone its request.
        while True:
            fitted, fit_lps = _fit_class(model, members, served, frozen, value)
            lps += fit_lps
            if fitted is not None or not fit_lps or not more_paths():
                break
        if fitted is not None:
            value[members] = rates[members]
            frozen |= members
            placed = fitted if served.all() else None
            continue
        placed = None
        while True:
            active = served & ~frozen
            if not active.any():
                break
            # Demands whose cap level is at most a proven lower bound of the water level are
            # capped for sure; hold them at their request, let the rest grow without caps, and
            # repeat with the new (higher) bound until no further cap falls below it.
            known = t_prev
            unit_t = None
            rescaled = 0
            while True:
                capped = active & (cap_level <= known)
                growing = active & ~capped
                if unit_t is None:
                    unit_t = max(known, _level_unit(model, growing, weights))
                t, duals = _level_lp(model, served, frozen, value, capped, growing, weights, t_prev, unit_t)
                lps += 1
                if t is not None and more_paths():
                    continue  # the same LP over more paths
                if t is None:  # unbounded (not seen since paths have a floor unit): a coarser unit
                    if rescaled >= 8:
                        raise SolverError("max-min: the level LP stays unbounded however it is scaled")
                    unit_t, rescaled = unit_t * _UNIT_RANGE, rescaled + 1
                    continue
                if (growing & (cap_level <= t * (1 + _LEVEL_RTOL))).any():
                    known = t * (1 + _LEVEL_RTOL)
                    unit_t = None
                    continue
                if growing.any() and t > 0 and not 1 / _UNIT_RANGE <= t / unit_t <= _UNIT_RANGE and rescaled < 8:
                    unit_t, rescaled = t, rescaled + 1  # badly scaled: solve again with the level near 1
                    continue
                break
            stuck = growing & (duals > _DUAL_TOL)
            if growing.any() and not stuck.any():
                stuck[np.flatnonzero(growing)[np.argmax(duals[growing])]] = True
            value[capped] = rates[capped]
            value[stuck] = weights[stuck] * t
            frozen |= capped | stuck
            t_prev = t
    if placed is None:  # else the last class fitted whole: its LP already placed everyone
        placed, place_lps = _place(model, value)
        lps += place_lps
    # Capacity still free on the path of a demand short of its request is a residue the LPs could
    # not resolve (about 1e-9 of a link): it goes to the demands that cross it, as it would in an
    # exact max-min allocation.
    return fill(model.cands, placed), lps, model.cands


def _fit_class(model: PathModel, members, served, frozen, value):
    """Place every member at its request with the frozen demands at their values, if that fits.

    Returns (path rates in bit/s, LPs solved), rates ``None`` when some member cannot get its
    request (to ``_FIT_RTOL`` of it).
    """
    cands = model.cands
    rates = model.requests_bps
    if not members.any() or _node_overloaded(cands, np.where(members, rates, np.where(frozen, value, 0.0))):
        return None, 0
    if served.all() and not (frozen & (rates > 0)).any():  # zero requests hold nothing
        # a single class: the max-throughput LP (demand generation, fast) decides
        # (``model.warm``: where column generation's max-throughput pass ended, on these demands and arcs)
        x, lps, _ = _solve_fix_and_merge(PathModel("max-throughput", cands, model.scale, model.demand_path,
                                                   model.rates, model.capacity, c=_throughput_cost(cands)),
                                         model.warm)
        target = rates
        x = fill(cands, repair(cands, x * model.scale))
    else:
        # shares of the members' requests (maximised, at most 1) and of the frozen values (kept)
        unit = np.where(members, rates, np.where(frozen, value, 0.0))
        held = frozen & (unit > 0)
        arc_rows, demand_rows, scale = model.shares(unit)
        A = sp.vstack([arc_rows, demand_rows[members], -demand_rows[held]], format="csr")
        cost = np.where(members[cands.path_demand], _share_cost(cands, np.where(members, unit, 0.0), scale), 0.0)
        upper = np.where(scale > 0, np.inf, 0.0)
        for slack in _RELAXED_SLACKS:  # as in _level_lp
            b = np.concatenate([np.ones(len(cands.arcs)), np.ones(members.sum()), np.full(held.sum(), slack - 1)])
            res = _linprog(cost, A, b, bounds=np.column_stack([np.zeros(len(upper)), upper]), prescaled="small")
            if res.status not in (2, 4):
                break
        _check(res, "max-min")
        if _PRICES.get() is not None:
            n_arcs, n_mem = len(cands.arcs), int(members.sum())
            dual = np.maximum(-res.ineqlin.marginals, 0.0)
            with np.errstate(divide="ignore", invalid="ignore"):
                threshold = np.zeros(len(rates))
                threshold[members] = (1.0 - dual[n_arcs:n_arcs + n_mem]) / unit[members]
                threshold[held] = dual[n_arcs + n_mem:] / unit[held]
            _record_prices(cands, res, threshold)
        lps = 1
        target = unit
        x = fill(cands, repair(cands, res.x * scale, target_bps=target), target)
    allocated = np.bincount(cands.path_demand, x, minlength=len(rates))
    if np.all(allocated >= rates * (1 - _FIT_RTOL), where=members):
        return x, lps
    return None, lps


def _node_overloaded(cands, load_bps) -> bool:
    """Whether some node must send or receive more than its links carry (then the load cannot fit: no LP
    needed to say so).

    >>> import networkx as nx
    >>> from te.engine import candidates_for
    >>> from te.model import Demand
    >>> g = nx.DiGraph(); g.add_edge("a", "b", capacity=10.0); g.add_edge("b", "a", capacity=10.0)
    >>> c = candidates_for(g, [Demand("d", "a", "b", 12.0)], "max-min", k=1)
    >>> _node_overloaded(c, np.array([12.0])), _node_overloaded(c, np.array([10.0]))
    (True, False)
    """
    return _node_utilisation(cands, load_bps) > 1 + 1e-9


def _node_utilisation(cands, load_bps) -> float:
    """The largest share of its links' capacity that some node must send or receive: a lower bound of the MLU.

    >>> import networkx as nx
    >>> from te.engine import candidates_for
    >>> from te.model import Demand
    >>> g = nx.DiGraph(); g.add_edge("a", "b", capacity=10.0); g.add_edge("b", "a", capacity=10.0)
    >>> _node_utilisation(candidates_for(g, [Demand("d", "a", "b", 4.0)], "max-min", k=1), np.array([4.0]))
    0.4
    """
    ids = {}
    for arc in cands.arcs:
        for end in arc:
            ids.setdefault(end, len(ids))
    for d in cands.demands:
        ids.setdefault(d.src, len(ids))
        ids.setdefault(d.dst, len(ids))
    n, m = len(ids), len(cands.arcs)
    tails = np.fromiter((ids[u] for u, _ in cands.arcs), dtype=np.int64, count=m)
    heads = np.fromiter((ids[v] for _, v in cands.arcs), dtype=np.int64, count=m)
    srcs = np.fromiter((ids[d.src] for d in cands.demands), dtype=np.int64, count=len(cands.demands))
    dsts = np.fromiter((ids[d.dst] for d in cands.demands), dtype=np.int64, count=len(cands.demands))
    load = np.asarray(load_bps, dtype=float)
    load = np.where(load > 0, load, 0.0)
    need = np.concatenate([np.bincount(srcs, load, minlength=n), np.bincount(dsts, load, minlength=n)])
    have = np.concatenate([np.bincount(tails, cands.capacity_bps, minlength=n),
                           np.bincount(heads, cands.capacity_bps, minlength=n)])
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(need > 0, need / have, 0.0)
    return float(share.max(initial=0.0))


def _level_lp(model: PathModel, served, frozen, value, capped, growing, weights, t_prev, unit_t):
    """One level LP: maximise ``t`` with growing demands at ``w_i t``, capped ones at their request,
    frozen ones at their value; returns ``(t, duals of the demand rows)``, or ``(None, None)`` if unbounded.

    Variables: the paths in their own units (:meth:`PathModel.shares`, each demand's unit being
    its request, its value or ``w_i * unit_t``) and ``t / unit_t``; rows: each arc's load over
    its capacity <= 1, and per demand ``-(its share of its unit) + [growing] t / unit_t <= -lower``
    (``lower = 1 - slack`` if capped or frozen).
    Requests need no rows: a growing demand's level ``w t`` stays below its request (``t`` is
    at most the next cap level) and any excess can be dropped without lowering ``t``.
    """
    cands = model.cands
    n_arcs = len(cands.arcs)
    rates = model.requests_bps
    unit = np.where(growing, weights * unit_t, np.where(capped, rates, np.where(frozen, value, 0.0)))
    unit[~served] = 0.0
    held = capped | (frozen & (unit > 0))
    scale, arc_data, share = model._share_data(unit)
    template = model.level_template
    # demand row i holds -share of its paths, then 1 for t if growing (0, dropped, if not)
    dem_data = np.insert(-share, cands.path_ptr[1:], growing.astype(float))
    A = sp.csr_matrix((np.concatenate([arc_data, dem_data]), template.indices.copy(), template.indptr.copy()),
                      shape=template.shape)
    A.eliminate_zeros()  # in place: hence the copies of the template's arrays
    c = np.zeros(len(cands.paths) + 1)
    c[-1] = -1.0
    path_upper = np.where(scale > 0, np.inf, 0.0)
    # Held demands keep (1 - slack) of their unit, and t may fall that much below the previous
    # level: the LP is then feasible with room, not only to the solver's tolerance. A level far
    # below its unit (a residue of nearly full links) is known only to about 1e-9 of the unit, so its
    # frozen values can be infeasible together by more (HiGHS: infeasible, or numerical trouble):
    # then the holds are relaxed, to at most 1e-6 of each value, and t may fall back to 0.
    for slack in _RELAXED_SLACKS:
        t_low = t_prev * (1 - slack) / unit_t if slack == _FREEZE_SLACK else 0.0
        upper = np.append(path_upper, np.inf if growing.any() else t_low)
        bounds = np.column_stack([np.append(np.zeros(len(cands.paths)), t_low), upper])
        res = _linprog(c, A, np.concatenate([np.ones(n_arcs), np.where(held, slack - 1.0, 0.0)]), bounds=bounds,
                       prescaled="small")
        if res.status not in (2, 4):
            break
    if res.status == 3:
        return None, None
    _check(res, "max-min")
    duals = -res.ineqlin.marginals[n_arcs:]
    if _PRICES.get() is not None:
        with np.errstate(divide="ignore", invalid="ignore"):
            _record_prices(cands, res, np.where(unit > 0, np.maximum(duals, 0.0) / unit, 0.0))
    # a level at 0 (a residue, with relaxed holds) may come back a tolerance below it
    return max(float(res.x[-1]) * unit_t, 0.0), duals


def _place(model: PathModel, value):
    """Path rates (bit/s) giving every demand its max-min ``value``: maximise the sum of shares, prefer short paths.

    Then :func:`repair` and :func:`fill` to the values. Returns (path rates, LPs solved).
    (Demand generation, as in max-throughput, was slower here: at max-min values nearly every
    demand meets a full link.)
    """
    cands = model.cands
    arc_rows, demand_rows, scale = model.shares(value)
    A = sp.vstack([arc_rows, demand_rows], format="csr")
    b = np.concatenate([np.ones(len(cands.arcs)), (value > 0).astype(float)])
    upper = np.where(scale > 0, np.inf, 0.0)
    res = _linprog(_share_cost(cands, value, scale), A, b, bounds=np.column_stack([np.zeros(len(upper)), upper]),
                   prescaled="always")
    _check(res, "max-min (final placement)")
    return fill(cands, repair(cands, res.x * scale, target_bps=value), value), 1


def edge_optimum(graph, demands, objective: str = "min-mlu") -> float:
    """Optimum of the unrestricted multi-commodity flow (edge formulation), for quality checks.

    Commodities are aggregated by source (any flow from one source decomposes into paths),
    so the LP has ``sources x arcs`` variables whatever the number of demands.

    Parameters
    ----------
    graph : networkx.DiGraph
    demands : sequence of Demand
    objective : {"min-mlu", "max-throughput"}

    Returns
    -------
    float
        The minimum max-link-utilisation, or the maximum total rate in bit/s.

    Examples
    --------
    >>> import networkx as nx
    >>> from te.model import Demand
    >>> g = nx.DiGraph()
    >>> for u, v, cap in [("a", "b", 10.0), ("b", "c", 10.0), ("a", "c", 5.0)]:
    ...     g.add_edge(u, v, capacity=cap, weight=1.0)
    >>> round(edge_optimum(g, [Demand("x", "a", "c", 12.0)]), 6)
    0.8
    >>> round(edge_optimum(g, [Demand("x", "a", "c", 20.0)], "max-throughput"), 6)
    15.0
    """
    if objective not in ("min-mlu", "max-throughput"):
        raise InvalidInput(f"edge formulation supports min-mlu and max-throughput, not {objective!r}")
    nodes = sorted(graph)
    index = {n: i for i, n in enumerate(nodes)}
    arcs = sorted(graph.edges)
    n, m = len(nodes), len(arcs)
    tail = np.array([index[u] for u, _ in arcs])
    head = np.array([index[v] for _, v in arcs])
    capacity = np.array([graph[u][v]["capacity"] for u, v in arcs], dtype=float)
    scale = capacity.max()
    incidence = sp.csr_matrix((np.r_[np.ones(m), -np.ones(m)], (np.r_[tail, head], np.r_[np.arange(m), np.arange(m)])),
                              shape=(n, m))
    sources = sorted({index[d.src] for d in demands})
    s_pos = {s: i for i, s in enumerate(sources)}
    n_s = len(sources)
    # aggregate requests per (source, destination)
    pair = {}
    for d in demands:
        key = (s_pos[index[d.src]], index[d.dst])
        pair[key] = pair.get(key, 0.0) + d.rate_bps / scale
    keys = sorted(pair)
    src_of = np.array([k[0] for k in keys], dtype=np.int64)
    dst_of = np.array([k[1] for k in keys], dtype=np.int64)
    amount = np.array([pair[k] for k in keys])
    flow = sp.kron(sp.identity(n_s, format="csr"), incidence, format="csr")  # rows (s, v), cols (s, arc)
    cap_rows = sp.kron(np.ones((1, n_s)), sp.identity(m, format="csr"), format="csr")
    src_node = np.array(sources, dtype=np.int64)
    n_pairs = len(keys)
    # net outflow of commodity s at v: +a at v = s, -a at v = dst
    supply = sp.csr_matrix((np.r_[np.ones(n_pairs), -np.ones(n_pairs)],
                            (np.r_[src_of * n + src_node[src_of], src_of * n + dst_of],
                             np.r_[np.arange(n_pairs), np.arange(n_pairs)])), shape=(n_s * n, n_pairs))
    n_flow = n_s * m
    if objective == "min-mlu":
        A_eq = sp.hstack([flow, sp.csr_matrix((n_s * n, 1))], format="csr")
        b_eq = supply @ amount
        A_ub = sp.hstack([cap_rows, sp.csr_matrix(-capacity[:, None] / scale)], format="csr")
        c = np.zeros(n_flow + 1)
        c[-1] = 1.0
        res = _linprog(c, A_ub, np.zeros(m), A_eq, b_eq, (0, None))
        _check(res, "edge min-mlu")
        return float(res.x[-1])
    A_eq = sp.hstack([flow, -supply], format="csr")
    A_ub = sp.hstack([cap_rows, sp.csr_matrix((m, n_pairs))], format="csr")
    c = np.r_[np.zeros(n_flow), -np.ones(n_pairs)]
    bounds = np.column_stack([np.zeros(n_flow + n_pairs), np.r_[np.full(n_flow, np.inf), amount]])
    res = _linprog(c, A_ub, capacity / scale, A_eq, np.zeros(n_s * n), bounds)
    _check(res, "edge max-throughput")
    return float(-res.fun * scale)
