"""One entry point for every objective: candidate paths, then a model, then a :class:`~te.model.Solution`.

The three steps are separate calls so that callers (``te-solve``, the benchmark, the
controller) can time them from outside; no algorithm reads a clock::

    cands = candidate_paths(graph, demands, k)      # or ecmp_candidates(graph, demands)
    model = build(cands, objective)                 # sparse matrices, no solving
    solution = model.solve()

:func:`solve` does all three.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from te.errors import InvalidInput
from te.lp import LP_OBJECTIVES, build_model
from te.paths import Candidates, candidate_paths, solution_from_rates
from te.waterfill import build_waterfill

__all__ = ["AUTO", "OBJECTIVES", "build", "candidates_for", "ecmp_candidates", "generates_paths", "hierarchical",
           "paths_arg", "solve"]

OBJECTIVES = (*LP_OBJECTIVES, "max-min-fast", "alpha-fair", "ecmp")
DEFAULT_ALPHA = 1.0
"""``alpha`` of ``alpha-fair`` when none is given: proportional fairness."""


def ecmp_candidates(graph, demands) -> Candidates:
    """Candidates for ``ecmp``: every equal-cost shortest path of each demand (:mod:`te.ecmp`)."""
    from te.ecmp import equal_cost_paths

    demands = tuple(demands)
    per_pair = {}
    for d in demands:
        if (d.src, d.dst) not in per_pair:
            per_pair[d.src, d.dst] = equal_cost_paths(graph, d.src, d.dst, weight="weight")
    return Candidates.from_paths(graph, demands, [per_pair[d.src, d.dst] for d in demands])


AUTO = "auto"
"""``k`` for paths generated as the optimisation needs them (:mod:`te.colgen`)."""
AUTO_FALLBACK_K = 4
"""``k`` that ``max-min-fast``, ``alpha-fair`` and ``max-min`` with groups use when asked for ``auto`` (they price
no paths)."""


def paths_arg(value):
    """``k`` from text or a number: ``"auto"`` or an integer >= 1.

    Examples
    --------
    >>> paths_arg("auto"), paths_arg("4"), paths_arg(2)
    ('auto', 4, 2)
    >>> paths_arg("four")
    Traceback (most recent call last):
    ...
    te.errors.InvalidInput: paths must be 'auto' or a whole number >= 1, got 'four'
    """
    if isinstance(value, str) and value.strip().lower() == AUTO:
        return AUTO
    try:
        k = int(value)
    except (TypeError, ValueError):
        k = 0
    if k < 1 or (isinstance(value, float) and value != k):
        raise InvalidInput(f"paths must be 'auto' or a whole number >= 1, got {value!r}")
    return k


def hierarchical(objective, demands, groups=None) -> bool:
    """Whether ``objective`` runs the hierarchical solver (:mod:`te.hierarchy`): ``max-min`` with groups
    given, or with a demand naming a group.

    Examples
    --------
    >>> from te.model import Demand
    >>> hierarchical("max-min", [Demand("d", "a", "b", 1.0, group="g")]), hierarchical("max-min", [], {})
    (True, False)
    >>> hierarchical("max-throughput", [Demand("d", "a", "b", 1.0, group="g")])
    False
    """
    return objective == "max-min" and (bool(groups) or any(d.group is not None for d in demands))


def generates_paths(objective, k, demands=(), groups=None) -> bool:
    """Whether ``objective`` with ``k`` generates its paths (``k == "auto"`` and an LP objective, not
    :func:`hierarchical` for these ``demands`` and ``groups``)."""
    return k == AUTO and objective in LP_OBJECTIVES and not hierarchical(objective, demands, groups)


def candidates_for(graph, demands, objective, k=4, path_method="ksp", groups=None) -> Candidates:
    """The candidate paths ``objective`` starts from.

    Equal-cost paths for ``ecmp``; for ``k="auto"`` and an LP objective, each demand's shortest
    path (:func:`build` with ``generate=True`` adds the others), except for ``max-min`` with
    groups (:func:`hierarchical`), which takes :data:`AUTO_FALLBACK_K` shortest paths; else
    :func:`candidate_paths`.
    """
    _check_objective(objective)
    if objective == "ecmp":
        return ecmp_candidates(graph, demands)
    k = paths_arg(k)
    if generates_paths(objective, k, demands, groups):
        from te.colgen import shortest_candidates

        return shortest_candidates(graph, demands)
    return candidate_paths(graph, demands, k=AUTO_FALLBACK_K if k == AUTO else k, method=path_method)


def demand_five_tuple(demand):
    """The synthetic 5-tuple ``ecmp`` hashes for a demand: TCP to port 80 from a port derived from its id.

    Examples
    --------
    >>> from te.model import Demand
    >>> demand_five_tuple(Demand("d7", "a", "b", 1.0))
    ('10.0.0.1', '10.0.0.2', 6, 45395, 80)
    """
    return ("10.0.0.1", "10.0.0.2", 6, 1024 + zlib.crc32(demand.id.encode()) % 64000, 80)


@dataclass(eq=False)
class EcmpModel:
    """Each demand is one flow hashed onto one of its equal-cost paths; rates are flow-level max-min fair."""

    cands: Candidates

    @property
    def size(self):
        return {"variables": len(self.cands.demands), "constraints": len(self.cands.arcs)}

    def solve(self):
        from te.ecmp import pick_path
        from te.flowsim import max_min_rates

        cands = self.cands
        if not cands.demands:
            return solution_from_rates(cands, "ecmp", "heuristic", np.zeros(0), 0.0, {"lps": 0, **self.size})
        chosen = np.array([cands.path_ptr[i] + pick_path(cands.paths[cands.path_ptr[i]:cands.path_ptr[i + 1]],
                                                         demand_five_tuple(d))
                           for i, d in enumerate(cands.demands)], dtype=np.int64)
        capacity = dict(zip(cands.arcs, cands.capacity_bps.tolist()))
        requests = [d.rate_bps for d in cands.demands]
        flow_rates, _ = max_min_rates([cands.paths[p] for p in chosen], capacity, caps=requests)
        rates = np.zeros(len(cands.paths))
        rates[chosen] = flow_rates
        return solution_from_rates(cands, "ecmp", "heuristic", rates, float(rates.sum()), {"lps": 0, **self.size})


def build(cands: Candidates, objective: str, generate: bool = False, max_paths: int | None = None,
          alpha: float = DEFAULT_ALPHA, groups=None):
    """Build the model of ``objective`` over ``cands``; call ``.solve()`` on the result.

    With ``generate=True`` (an LP objective) the model adds paths to ``cands`` as its LPs need
    them (:mod:`te.colgen`), at most ``max_paths`` per demand. ``alpha``: the fairness of
    ``alpha-fair`` (:mod:`te.alphafair`; 0 max throughput, 1 proportional, large near max-min).

    ``groups`` (``{name: te.hierarchy.Group}``, or a list of them): the shares the demands name
    (:attr:`te.model.Demand.group`). ``alpha-fair`` with demands in groups shares the groups' totals
    of hierarchical max-min alpha-fairly inside each group (:class:`te.hierarchy.AlphaInGroupsModel`).
    ``max-min`` with groups, or with a demand naming one, is
    hierarchical weighted max-min (:mod:`te.hierarchy`) over ``cands`` as they are (it generates
    no paths: ``generate`` is ignored). Every other objective keeps only the groups' caps, by
    scaling each over-cap group's demands down after solving (:func:`te.hierarchy.apply_group_caps`).
    A demand naming a group that ``groups`` lacks is an :class:`~te.errors.InvalidInput`.

    Examples
    --------
    >>> import networkx as nx
    >>> from te.model import Demand
    >>> g = nx.DiGraph()
    >>> g.add_edge("a", "b", capacity=10.0, weight=1.0)
    >>> c = candidate_paths(g, [Demand("d", "a", "b", 4.0)])
    >>> build(c, "max-min").solve().allocated_bps
    array([4.])
    """
    _check_objective(objective)
    if groups is not None or any(d.group is not None for d in cands.demands):
        from te.hierarchy import build_hierarchical, check_groups

        checked = check_groups(groups, cands.demands)
        if hierarchical(objective, cands.demands, checked):
            return build_hierarchical(cands, checked)
        if objective == "alpha-fair" and any(d.group is not None for d in cands.demands):
            from te.hierarchy import build_alpha_in_groups

            return build_alpha_in_groups(cands, checked, alpha)
        if any(g.rate_cap_bps is not None for g in checked.values()):
            return GroupCapped(_build(cands, objective, generate, max_paths, alpha), checked)
    return _build(cands, objective, generate, max_paths, alpha)


def _build(cands, objective, generate, max_paths, alpha):
    """:func:`build` without groups."""
    if generate and objective in LP_OBJECTIVES:
        from te.colgen import GeneratedModel, check_max_paths

        return GeneratedModel(objective, cands, check_max_paths(max_paths))
    if objective == "max-min-fast":
        return build_waterfill(cands)
    if objective == "ecmp":
        return EcmpModel(cands)
    if objective == "alpha-fair":
        from te.alphafair import build_alpha_fair

        return build_alpha_fair(cands, alpha)
    return build_model(cands, objective)


@dataclass(eq=False)
class GroupCapped:
    """Another objective's model whose solution is brought within the groups' caps
    (:func:`te.hierarchy.apply_group_caps`)."""

    model: object
    groups: dict

    @property
    def cands(self):
        return self.model.cands

    @property
    def size(self):
        return self.model.size

    def solve(self):
        from te.hierarchy import apply_group_caps

        return apply_group_caps(self.model.solve(), self.groups)


def solve(graph, demands, objective="max-min", k=4, path_method="ksp", max_paths=None, alpha=DEFAULT_ALPHA,
          groups=None):
    """Route ``demands`` over ``graph`` with ``objective``.

    Parameters
    ----------
    graph : networkx.DiGraph
        Arcs with ``capacity`` (bit/s) and ``weight`` (see :func:`te.io.read_topology`).
    demands : sequence of Demand
    objective : {"max-throughput", "min-mlu", "max-min", "max-min-fast", "alpha-fair", "ecmp"}
    k : int or "auto", default 4
        Candidate paths per demand (ignored by ``ecmp``, which uses every equal-cost path), or
        ``"auto"``: paths generated as the LP objectives need them, reaching the optimum over
        all paths (:mod:`te.colgen`; ``max-min-fast``, ``alpha-fair`` and ``max-min`` with groups
        then use :data:`AUTO_FALLBACK_K` = 4 shortest paths).
    alpha : float, default 1
        ``alpha-fair`` only: maximise ``sum w_i x_i^(1-alpha) / (1-alpha)`` (``log`` at 1).
    max_paths : int, optional
        With ``k="auto"``: at most this many paths per demand.
    path_method : {"ksp", "disjoint"}
        See :func:`te.paths.candidate_paths`.
    groups : dict of str to te.hierarchy.Group, or list of Group, optional
        Shares the demands name (:attr:`te.model.Demand.group`). With ``max-min``: hierarchical
        weighted max-min (groups share the network by weight, with caps and guaranteed floors;
        then each group's demands share its part by their weights; :mod:`te.hierarchy`). Other
        objectives only keep the caps, scaling over-cap groups down (see :func:`build`).

    Returns
    -------
    te.model.Solution
        ``solution.routes(i)`` gives ``[(path_nodes, rate_bps), ...]`` for demand ``i``.

    Raises
    ------
    te.errors.InvalidInput, te.errors.NoPath, te.errors.SolverError

    Examples
    --------
    Two demands share link ``b-c``; with weights 1 and 3 they split it 1:3.

    >>> import networkx as nx
    >>> from te.model import Demand
    >>> g = nx.DiGraph()
    >>> for u, v in [("a", "b"), ("b", "c"), ("d", "b")]:
    ...     g.add_edge(u, v, capacity=8.0, weight=1.0)
    >>> sol = solve(g, [Demand("x", "a", "c", 10.0), Demand("y", "d", "c", 10.0, weight=3.0)])
    >>> sol.allocated_bps.round(9).tolist()
    [2.0, 6.0]

    With groups: ``x`` alone in group ``a``, ``y`` and ``z`` in group ``b`` of weight 2 (capped at 4).

    >>> from te.hierarchy import Group
    >>> ds = [Demand("x", "a", "c", 10.0, group="a"), Demand("y", "d", "c", 10.0, group="b"),
    ...       Demand("z", "d", "c", 10.0, weight=3.0, group="b")]
    >>> sol = solve(g, ds, groups=[Group("a"), Group("b", weight=2.0, rate_cap_bps=4.0)])
    >>> sol.allocated_bps.round(6).tolist()
    [4.0, 1.0, 3.0]
    """
    demands = tuple(demands)
    cands = candidates_for(graph, demands, objective, k=k, path_method=path_method, groups=groups)
    return build(cands, objective, generate=generates_paths(objective, paths_arg(k), demands, groups),
                 max_paths=max_paths, alpha=alpha, groups=groups).solve()


def _check_objective(objective):
    if objective not in OBJECTIVES:
        raise InvalidInput(f"unknown objective {objective!r} (expected one of {', '.join(OBJECTIVES)})")
