"""Value types shared by every TE algorithm: demands in, one :class:`Solution` out.

Rates and capacities are in bit/s throughout (``*_bps``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from te.errors import InvalidInput

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

    Examples
    --------
    >>> Demand("d0", "a", "b", 1e9)
    Demand(id='d0', src='a', dst='b', rate_bps=1000000000.0, weight=1.0, priority=0)
    >>> Demand("d1", "a", "a", 1.0)
    Traceback (most recent call last):
    ...
    te.errors.InvalidInput: demand d1: source and destination are both 'a'
    """

    id: str
    src: str
    dst: str
    rate_bps: float
    weight: float = 1.0
    priority: int = 0

    def __post_init__(self):
        rate, weight = float(self.rate_bps), float(self.weight)
        if not math.isfinite(rate) or rate < 0:
            raise InvalidInput(f"demand {self.id}: rate_bps must be a finite number >= 0, got {self.rate_bps!r}")
        if not math.isfinite(weight) or weight <= 0:
            raise InvalidInput(f"demand {self.id}: weight must be a finite number > 0, got {self.weight!r}")
        if self.src == self.dst:
            raise InvalidInput(f"demand {self.id}: source and destination are both {self.src!r}")
        object.__setattr__(self, "rate_bps", rate)
        object.__setattr__(self, "weight", weight)
        object.__setattr__(self, "priority", int(self.priority))


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
