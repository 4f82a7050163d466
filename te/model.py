"""Value types shared by every TE algorithm: demands in, one :class:`Solution` out.

Rates and capacities are in bit/s throughout (``*_bps``).

What the engine represents exactly
----------------------------------
Every demand's allocation is exact to 1e-6 of its *own* request or fair level, however small
beside the others (a 1 bit/s request beside 100 Gbit/s links gets its 1 bit/s), for values
within two bounds (checked on input, :func:`check_magnitudes`). One limit is in the nature of
a fair level: it is resolved to about 1e-9 of the capacity of the links that bound it, so a
level far below them (a residue, like what a higher class leaves of a nearly full link) is
exact to that, not to its own 1e-6.

- :data:`MAX_BPS` (1e15 bit/s, 1 Pbit/s): no capacity or request above it. Whole bit/s are
  exact floats only up to 2**53 (about 9e15), and sums of rates must stay finite.
- :data:`MAX_RANGE` (1e12): in one problem every capacity and every nonzero request is at
  least 1e-12 of the largest of them (1 bit/s beside 1 Tbit/s). The LPs are scaled per link
  and per demand (:mod:`te.lp`), so their coefficients are ratios of rates to capacities, and
  HiGHS works to a tolerance of 1e-7 and drops coefficients below 1e-9. Measured on random
  networks: across 12 decades every demand stays within 1e-6 of its own value; across 14,
  some max-min levels do not.

A value beyond them is an :class:`~te.errors.InvalidInput` naming the bound, never a wrong
answer.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from te.errors import InvalidInput

MAX_BPS = 1e15
"""Largest capacity or request in bit/s (see the module notes)."""
MAX_RANGE = 1e12
"""Largest ratio between the capacities and nonzero requests of one problem (see the module notes)."""
_WHY_MAX = "the largest rate the engine handles exactly (whole bit/s stop being exact floats near 2**53 = 9e15)"
_WHY_RANGE = ("the engine keeps every demand exact to 1e-6 of its own value only when all capacities and nonzero "
              f"requests are within {MAX_RANGE:g} of the largest")

Path = tuple[str, ...]
Arc = tuple[str, str]


@dataclass(frozen=True)
class Demand:
    """A request to carry ``rate_bps`` from ``src`` to ``dst``.

    Parameters
    ----------
    id : str
        Unique name of the demand.
    src, dst : str
        Node ids, exactly as the topology file names them.
    rate_bps : float
        Requested rate (finite, >= 0); no algorithm allocates more.
    weight : float, default 1.0
        Share in weighted max-min fairness (finite, > 0).
    priority : int, default 0
        Strict priority class for ``max-min``: higher classes are served first.
    group : str, optional
        Name of the group (:class:`te.hierarchy.Group`) whose share the demand takes part in;
        ``None`` (the default): the demand is a group of its own, with its own weight.
        Not shown in the repr.

    Examples
    --------
    >>> Demand("d0", "a", "b", 1e9)
    Demand(id='d0', src='a', dst='b', rate_bps=1000000000.0, weight=1.0, priority=0)
    >>> Demand("d1", "a", "a", 1.0)
    Traceback (most recent call last):
    ...
    te.errors.InvalidInput: demand d1: source and destination are both 'a'
    >>> Demand("d2", "a", "b", 1e308)
    Traceback (most recent call last):
    ...
    te.errors.InvalidInput: demand d2: rate_bps 1e+308 is above 1e+15 bit/s, the largest rate ...
    >>> Demand("d3", "a", "b", 1.0, group="web").group
    'web'
    """

    id: str
    src: str
    dst: str
    rate_bps: float
    weight: float = 1.0
    priority: int = 0
    group: str | None = field(default=None, repr=False)

    def __post_init__(self):
        rate, weight = float(self.rate_bps), float(self.weight)
        if not math.isfinite(rate) or rate < 0:
            raise InvalidInput(f"demand {self.id}: rate_bps must be a finite number >= 0, got {self.rate_bps!r}")
        if rate > MAX_BPS:
            raise InvalidInput(f"demand {self.id}: rate_bps {rate:g} is above {MAX_BPS:g} bit/s, {_WHY_MAX}")
        if not math.isfinite(weight) or weight <= 0:
            raise InvalidInput(f"demand {self.id}: weight must be a finite number > 0, got {self.weight!r}")
        if self.src == self.dst:
            raise InvalidInput(f"demand {self.id}: source and destination are both {self.src!r}")
        if self.group is not None and (not isinstance(self.group, str) or not self.group):
            raise InvalidInput(f"demand {self.id}: group must be a non-empty name or None, got {self.group!r}")
        object.__setattr__(self, "rate_bps", rate)
        object.__setattr__(self, "weight", weight)
        object.__setattr__(self, "priority", int(self.priority))


def capacity_error(what: str, capacity) -> str | None:
    """Why ``capacity`` (bit/s) cannot be a link's capacity, or ``None`` when it can.

    Examples
    --------
    >>> capacity_error("link a-b", 1e10) is None
    True
    >>> capacity_error("link a-b", 0.0)
    'link a-b: capacity must be a finite number > 0, got 0.0'
    >>> capacity_error("link a-b", 1e300)  # doctest: +ELLIPSIS
    'link a-b: capacity 1e+300 is above 1e+15 bit/s, the largest rate the engine handles exactly (...)'
    """
    value = float(capacity)
    if not math.isfinite(value) or value <= 0:
        return f"{what}: capacity must be a finite number > 0, got {capacity!r}"
    if value > MAX_BPS:
        return f"{what}: capacity {value:g} is above {MAX_BPS:g} bit/s, {_WHY_MAX}"
    return None


def check_magnitudes(arcs, capacity_bps, demands) -> None:
    """Raise :class:`InvalidInput` unless the capacities and requests are within the engine's bounds.

    Every capacity must be finite, > 0 and at most :data:`MAX_BPS`; every capacity and nonzero
    request at least ``1 / MAX_RANGE`` of the largest of them. The message names the first
    offending link or demand, the bound and why.

    Parameters
    ----------
    arcs : sequence of (str, str)
    capacity_bps : array_like of float
        Capacity of each arc.
    demands : sequence of Demand

    Examples
    --------
    >>> check_magnitudes([("a", "b"), ("b", "c")], [1e11, 1.0], [Demand("x", "a", "c", 1.0)])
    >>> check_magnitudes([("a", "b"), ("b", "c")], [1e11, 1e-2], [])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    te.errors.InvalidInput: link ('b', 'c'): capacity 0.01 bit/s is more than 1e+12 times below ...
    >>> check_magnitudes([("a", "b")], [1e11], [Demand("x", "a", "b", 1e-3)])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    te.errors.InvalidInput: demand x: rate_bps 0.001 is more than 1e+12 times below ...
    """
    capacity = np.asarray(capacity_bps, dtype=float)
    bad = np.flatnonzero(~((capacity > 0) & (capacity <= MAX_BPS)))  # also catches NaN
    if len(bad):
        raise InvalidInput(capacity_error(f"link {tuple(arcs[bad[0]])}", capacity[bad[0]]))
    rates = np.array([d.rate_bps for d in demands], dtype=float)
    top_cap = float(capacity.max(initial=0.0))
    top_rate = float(rates.max(initial=0.0))
    top = max(top_cap, top_rate)
    if not top:
        return
    where = f"link {tuple(arcs[int(np.argmax(capacity))])}" if top_cap >= top_rate else \
        f"demand {demands[int(np.argmax(rates))].id}"
    floor = top / MAX_RANGE
    low = np.flatnonzero(capacity < floor)
    if len(low):
        j = int(low[0])
        raise InvalidInput(f"link {tuple(arcs[j])}: capacity {capacity[j]:g} bit/s is more than {MAX_RANGE:g} times "
                           f"below the largest capacity or request, {top:g} bit/s ({where}): {_WHY_RANGE}")
    low = np.flatnonzero((rates > 0) & (rates < floor))
    if len(low):
        i = int(low[0])
        raise InvalidInput(f"demand {demands[i].id}: rate_bps {rates[i]:g} is more than {MAX_RANGE:g} times "
                           f"below the largest capacity or request, {top:g} bit/s ({where}): {_WHY_RANGE}")


@dataclass(frozen=True, eq=False)
class Solution:
    """The routing every objective returns: rates per candidate path, and the link loads they make.

    Paths are stored flat: the candidate paths of demand ``i`` are
    ``paths[path_ptr[i]:path_ptr[i + 1]]`` with rates ``path_rate_bps[path_ptr[i]:path_ptr[i + 1]]``.

    Attributes
    ----------
    objective : str
        Name of the objective that produced it.
    status : str
        ``"optimal"`` for an LP optimum, ``"heuristic"`` for water-filling / ECMP.
    demands : tuple of Demand
        Input order.
    paths : tuple of tuple of str
        Every candidate path considered, grouped by demand.
    path_ptr : ndarray of int
        Offsets into ``paths`` (length ``len(demands) + 1``).
    path_rate_bps : ndarray of float
        Rate on each path (>= 0).
    arcs : tuple of (str, str)
        Directed links, sorted.
    capacity_bps : ndarray of float
        Capacity of each arc.
    load_bps : ndarray of float
        Sum of path rates over each arc.
    objective_value : float
        The optimised quantity (total rate, MLU, ...), as reported by the algorithm.
    stats : dict
        Size of the model: ``lps`` solved, ``variables``, ``constraints``, ``paths``.

    Examples
    --------
    >>> import numpy as np
    >>> s = Solution("max-throughput", "optimal", (Demand("d", "a", "b", 5.0),),
    ...              (("a", "b"),), np.array([0, 1]), np.array([4.0]),
    ...              (("a", "b"),), np.array([8.0]), np.array([4.0]))
    >>> s.routes(0), s.total_allocated_bps, s.max_link_utilization
    ([(('a', 'b'), 4.0)], 4.0, 0.5)
    """

    objective: str
    status: str
    demands: tuple[Demand, ...]
    paths: tuple[Path, ...]
    path_ptr: np.ndarray
    path_rate_bps: np.ndarray
    arcs: tuple[Arc, ...]
    capacity_bps: np.ndarray
    load_bps: np.ndarray
    objective_value: float = float("nan")
    stats: dict = field(default_factory=dict)

    @property
    def allocated_bps(self) -> np.ndarray:
        """Allocated rate of each demand (sum of its path rates), input order."""
        counts = np.diff(self.path_ptr)
        per_demand = np.zeros(len(self.demands))
        np.add.at(per_demand, np.repeat(np.arange(len(self.demands)), counts), self.path_rate_bps)
        return per_demand

    @property
    def requested_bps(self) -> np.ndarray:
        """Requested rate of each demand, input order."""
        return np.array([d.rate_bps for d in self.demands], dtype=float)

    @property
    def total_allocated_bps(self) -> float:
        """Sum of all allocated rates."""
        return float(self.path_rate_bps.sum())

    @property
    def utilization(self) -> np.ndarray:
        """Load over capacity of each arc."""
        return self.load_bps / self.capacity_bps

    @property
    def max_link_utilization(self) -> float:
        """Largest arc utilisation (0 for a network without arcs)."""
        return float(self.utilization.max()) if len(self.arcs) else 0.0

    def routes(self, i: int) -> list[tuple[Path, float]]:
        """Candidate paths of demand ``i`` with their rates, ``[(nodes, rate_bps), ...]``."""
        lo, hi = int(self.path_ptr[i]), int(self.path_ptr[i + 1])
        return [(self.paths[j], float(self.path_rate_bps[j])) for j in range(lo, hi)]

    def routing(self) -> dict[str, list[tuple[Path, float]]]:
        """``{demand id: [(nodes, rate_bps), ...]}`` keeping only paths that carry traffic."""
        return {d.id: [(p, r) for p, r in self.routes(i) if r > 0] for i, d in enumerate(self.demands)}
