"""Hierarchical shares: groups of demands share the network, then their demands share the group's part.

A :class:`Group` is a named share, like an HTB class or one of B4/BwE's per-application
bandwidth functions: a ``weight``, an optional ``rate_cap_bps`` (ceiling) and an optional
``guaranteed_bps`` (assured rate, HTB's "rate"). A demand joins one by naming it
(:attr:`te.model.Demand.group`); a demand naming none is a group of its own whose weight is the
demand's weight.

What ``max-min`` with groups computes (hierarchical weighted max-min)
---------------------------------------------------------------------
Strict priority classes (:attr:`te.model.Demand.priority`, highest first) are served in turn,
each on the capacity the classes above it left; in class ``c`` a group's members are its
demands of that class, and its cap and guarantee are reduced by what its demands of higher
classes already got. Each class is two stages, over the candidate paths (multipath):

**Stage A, groups share the network.** ``X_g`` is group ``g``'s total (the sum of its members'
rates), ``W_g`` its weight, ``U_g = min(rate_cap_bps left, sum of its members' requests)`` its
ceiling and ``F_g = min(guaranteed_bps left, U_g)`` its floor (0 without a guarantee). Members
are routed freely on their paths, each within its own request.

1. Floors first: lexicographic max-min of ``X_g / F_g`` over the groups with a floor, each at
   most 1. When the network allows every group gets its floor; when it does not, the floors are
   met max-min fairly in proportion to them. Call what each group got ``P_g``.
2. Then water-filling by weight: a level ``t`` rises and every group gets
   ``X_g = min(U_g, max(P_g, W_g t))``; a group stops when it reaches ``U_g`` or when it cannot
   grow without some group of equal or lower level losing (the lexicographic weighted max-min
   of ``X_g / W_g`` above the floors).

**Stage B, members share their group.** Weighted max-min over the demands of the class with
flattened weights ``w_i W_g / sum_{j in g} w_j`` (the sum over the group's demands of the class
that request something), each at most its request, every group's total held at its Stage-A
value (to a relative slack of 1e-9, relaxed up to 1e-6 when solver tolerance needs it), the
other demands' rates held. A member that its own bottleneck stops leaves its share to its
siblings, never to other groups. A group of one (an ungrouped demand) simply gets its Stage-A
value.

Finally every group's total over all classes is scaled down to its ``rate_cap_bps`` if solver
tolerance left it above (by at most about 1e-6), and the rates are placed on the paths as
:func:`te.lp._place` does (shortest paths preferred among optima, :func:`te.lp.repair`,
:func:`te.lp.fill`). With groups given but no demand in any, this is plain weighted max-min.

Algorithm
---------
Progressive filling with LPs over the candidate paths (:func:`_lex_max_min`): the water-level
sequence of :func:`te.lp._solve_max_min` generalised to *entities* whose totals are sums of
demands (groups in Stage A, demands in Stage B). Variables are path rates and the level ``t``;
rows are arc capacities (each divided by the arc's capacity), hard upper rows (a member's
request, a group's total in Stage B, each divided by its bound), held lower rows (frozen
entities, floors, higher classes, each divided by its value) and one growth row per growing
entity (divided by ``W t``'s unit), so HiGHS's 1e-7 tolerance is relative to every row. Each
LP freezes the entities whose growth row has a positive dual (tight in every optimum; at least
one per LP) and, in Stage B, every growing member of a group whose total is full with all of
them at their level; entities whose cap falls below a proven lower bound of the level are held
at their cap. Three measures keep a long sequence solvable:

- a frozen value is lowered to what the LP's answer, made exactly feasible
  (:func:`te.lp.repair`), gives it, by at most 1e-7 of it in all, so that solver tolerance does
  not compound from LP to LP until holds must be relaxed;
- holds are relaxed in turn while an LP is infeasible: 1e-9, 1e-7, 1e-6 of each value, then
  also 1e-9 and 1e-8 of the widest link on the held demands' paths;
- a level frozen below 1e-8 of the widest link on an entity's paths and below 1e-6 of its own
  scale (cap, or in Stage B its share of its group) is what holds' slack left on full links (a
  *residue*): it becomes 0.

Precision: measured on random networks (up to 300 demands on 25 nodes with caps, guarantees
and priorities; tests/unit/test_te_hierarchy.py checks small ones against an independent
one-LP-per-entity implementation) no demand below its request in a group below its cap has a
path with spare capacity above 1e-6 of its links (:func:`certificate`), and small cases match
the reference to 1e-5 of the largest capacity. Residues are resolved to about 1e-8 of the links, coarser than
plain ``max-min``'s 1e-9 (:mod:`te.model`). A Stage-B member's level can only be found one cap
at a time when its group's total is pinned, and holds need relaxing more often, so congested
classes take more LPs than plain ``max-min`` (B4 at three times Teal's matrix: 86 LPs, 1.7 s,
against 14 LPs, 0.05 s; 1,000 random demands on 40 nodes: 154 s against 29 s).

Other objectives
----------------
Weights and floors are a max-min notion. ``max-throughput``, ``min-mlu``, ``alpha-fair``,
``max-min-fast`` and ``ecmp`` only honour the caps, by a post-pass (:func:`apply_group_caps`)
that scales every over-cap group's demands down in proportion: always feasible (loads only
fall), but not optimal for the objective with the caps as constraints (what a capped group
gives up is not handed to others), and ``min-mlu``'s demands may then be below their requests.

Examples
--------
One link of 10: group ``a`` (weight 1, two demands) and group ``b`` (weight 3, one demand).

>>> import networkx as nx
>>> from te.model import Demand
>>> from te.paths import candidate_paths
>>> g = nx.DiGraph([("s", "t", {"capacity": 10.0})])
>>> demands = [Demand("a1", "s", "t", 10.0, group="a"), Demand("a2", "s", "t", 10.0, group="a"),
...            Demand("b1", "s", "t", 10.0, group="b")]
>>> sol = solve_hierarchical(candidate_paths(g, demands), {"a": Group("a"), "b": Group("b", weight=3)})
>>> sol.allocated_bps.round(6).tolist()
[1.25, 1.25, 7.5]
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np
import scipy.sparse as sp

from te.errors import InvalidInput, SolverError
from te.lp import (_DUAL_TOL, _FREEZE_SLACK, _LEVEL_RTOL, _RELAXED_SLACKS, _UNIT_RANGE, PathModel, _check, _fit_class,
                   _linprog, _place, build_model, repair)
from te.model import MAX_BPS, Solution
from te.paths import Candidates, solution_from_rates

__all__ = ["Group", "HierarchicalModel", "apply_group_caps", "build_hierarchical", "certificate",
           "check_groups", "group_totals", "solve_hierarchical"]



@dataclass(frozen=True)
class Group:
    """A share of the network for the demands that name it (see the module notes).

    Parameters
    ----------
    name : str
        Non-empty; demands join with ``Demand(..., group=name)``.
    weight : float, default 1.0
        The group's weight against the other groups (finite, > 0).
    rate_cap_bps : float, optional
        Most the group's demands get together, over all priority classes (finite, > 0, at most
        :data:`te.model.MAX_BPS`).
    guaranteed_bps : float, optional
        Assured floor: served before any sharing by weight, as far as the network allows
        (finite, > 0, at most ``rate_cap_bps``).

    Examples
    --------
    >>> Group("web", weight=2, rate_cap_bps=5e6)
    Group(name='web', weight=2.0, rate_cap_bps=5000000.0, guaranteed_bps=None)
    >>> Group("web", rate_cap_bps=1e6, guaranteed_bps=2e6)
    Traceback (most recent call last):
    ...
    te.errors.InvalidInput: group web: guaranteed_bps 2e+06 is above its rate_cap_bps 1e+06
    >>> Group("web", weight=0)
    Traceback (most recent call last):
    ...
    te.errors.InvalidInput: group web: weight must be a finite number > 0, got 0
    """

    name: str
    weight: float = 1.0
    rate_cap_bps: float | None = None
    guaranteed_bps: float | None = None

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise InvalidInput(f"group name must be a non-empty string, got {self.name!r}")
        object.__setattr__(self, "weight", _number(self.name, "weight", self.weight))
        for key in ("rate_cap_bps", "guaranteed_bps"):
            value = getattr(self, key)
            if value is not None:
                value = _number(self.name, key, value)
                if value > MAX_BPS:
                    raise InvalidInput(f"group {self.name}: {key} {value:g} is above {MAX_BPS:g} bit/s, the largest "
                                       "rate the engine handles exactly")
                object.__setattr__(self, key, value)
        cap, floor = self.rate_cap_bps, self.guaranteed_bps
        if cap is not None and floor is not None and floor > cap:
            raise InvalidInput(f"group {self.name}: guaranteed_bps {floor:g} is above its rate_cap_bps {cap:g}")


def _number(name, key, value):
    """``value`` as a finite float > 0, else an error naming the group and the field."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise InvalidInput(f"group {name}: {key} must be a finite number > 0, got {value!r}")
    number = float(value)
    if not math.isfinite(number) or number <= 0:
        raise InvalidInput(f"group {name}: {key} must be a finite number > 0, got {value!r}")
    return number


def check_groups(groups, demands=()) -> dict[str, Group]:
    """``groups`` as ``{name: Group}``, every demand's group among them; else :class:`InvalidInput`.

    Parameters
    ----------
    groups : mapping of str to Group, iterable of Group, or None
        A mapping's keys must be its groups' names; an iterable must not name a group twice.
    demands : sequence of Demand

    Examples
    --------
    >>> from te.model import Demand
    >>> check_groups([Group("a")], [Demand("x", "s", "t", 1.0, group="a")])
    {'a': Group(name='a', weight=1.0, rate_cap_bps=None, guaranteed_bps=None)}
    >>> check_groups({}, [Demand("x", "s", "t", 1.0, group="b")])
    Traceback (most recent call last):
    ...
    te.errors.InvalidInput: demand x: unknown group 'b' (no groups are defined)
    >>> check_groups([Group("a"), Group("a")])
    Traceback (most recent call last):
    ...
    te.errors.InvalidInput: group a is defined twice
    """
    out: dict[str, Group] = {}
    if groups is None:
        groups = {}
    if isinstance(groups, Mapping):
        for key, group in groups.items():
            if not isinstance(group, Group):
                raise InvalidInput(f"group {key}: expected a te.hierarchy.Group, got {type(group).__name__}")
            if key != group.name:
                raise InvalidInput(f"group {group.name}: listed under another name, {key!r}")
            out[key] = group
    else:
        for group in groups:
            if not isinstance(group, Group):
                raise InvalidInput(f"expected te.hierarchy.Group objects, got {type(group).__name__}")
            if group.name in out:
                raise InvalidInput(f"group {group.name} is defined twice")
            out[group.name] = group
    for d in demands:
        if d.group is not None and d.group not in out:
            known = f"groups: {', '.join(sorted(out))}" if out else "no groups are defined"
            raise InvalidInput(f"demand {d.id}: unknown group {d.group!r} ({known})")
    return out


def _group_index(demands, groups):
    """Index of each demand's group in ``list(groups)`` (-1 for none)."""
    names = {name: j for j, name in enumerate(groups)}
    return np.array([names[d.group] if d.group is not None else -1 for d in demands], dtype=np.int64)


def group_totals(solution: Solution, groups) -> list[dict]:
    """Per group, a dict: ``name``, ``weight``, ``rate_cap_bps``, ``guaranteed_bps``, ``demands`` (how many),
    ``requested_bps`` and ``allocated_bps`` (sums over its demands).

    Examples
    --------
    >>> import networkx as nx
    >>> from te.model import Demand
    >>> from te.paths import candidate_paths
    >>> g = nx.DiGraph([("s", "t", {"capacity": 10.0})])
    >>> sol = solve_hierarchical(candidate_paths(g, [Demand("x", "s", "t", 9.0, group="a")]),
    ...                          {"a": Group("a", rate_cap_bps=4.0)})
    >>> group_totals(sol, {"a": Group("a", rate_cap_bps=4.0)})  # doctest: +NORMALIZE_WHITESPACE
    [{'name': 'a', 'weight': 1.0, 'rate_cap_bps': 4.0, 'guaranteed_bps': None, 'demands': 1,
      'requested_bps': 9.0, 'allocated_bps': 4.0}]
    """
    groups = check_groups(groups, solution.demands)
    index = _group_index(solution.demands, groups)
    allocated, requested = solution.allocated_bps, solution.requested_bps
    out = []
    for j, group in enumerate(groups.values()):
        mine = index == j
        out.append({"name": group.name, "weight": group.weight, "rate_cap_bps": group.rate_cap_bps,
                    "guaranteed_bps": group.guaranteed_bps, "demands": int(mine.sum()),
                    "requested_bps": float(requested[mine].sum()), "allocated_bps": float(allocated[mine].sum())})
    return out


def apply_group_caps(solution: Solution, groups) -> Solution:
    """Scale every over-cap group's demands down in proportion, so that its total is its ``rate_cap_bps``.

    The post-pass for objectives other than hierarchical ``max-min`` (see the module notes).
    Loads are recomputed, and the objective value: the maximum utilisation for ``min-mlu``, the
    utility for ``alpha-fair``, the total rate otherwise. ``stats["groups_scaled"]`` counts the
    groups scaled down.

    Examples
    --------
    >>> import networkx as nx
    >>> from te.engine import solve
    >>> from te.model import Demand
    >>> g = nx.DiGraph([("s", "t", {"capacity": 10.0})])
    >>> ds = [Demand("x", "s", "t", 4.0, group="a"), Demand("y", "s", "t", 2.0, group="a")]
    >>> sol = solve(g, ds, "max-throughput", groups=[Group("a", rate_cap_bps=3.0)])
    >>> sol.allocated_bps.tolist(), sol.stats["groups_scaled"]
    ([2.0, 1.0], 1)
    """
    groups = check_groups(groups, solution.demands)
    index = _group_index(solution.demands, groups)
    allocated = solution.allocated_bps
    factor = np.ones(len(solution.demands))
    scaled = 0
    for j, group in enumerate(groups.values()):
        mine = index == j
        total = float(allocated[mine].sum())
        if group.rate_cap_bps is not None and total > group.rate_cap_bps:
            factor[mine] = group.rate_cap_bps / total
            scaled += 1
    stats = {**solution.stats, "groups_scaled": scaled}
    if not scaled:
        return replace(solution, stats=stats)
    rates = solution.path_rate_bps * np.repeat(factor, np.diff(solution.path_ptr))
    load = _loads(solution, rates)
    sol = replace(solution, path_rate_bps=rates, load_bps=load, stats=stats)
    if sol.objective == "min-mlu":
        value = sol.max_link_utilization
    elif sol.objective == "alpha-fair":
        from te.alphafair import utility

        x = sol.allocated_bps
        weights = np.array([d.weight for d in sol.demands], dtype=float)
        asked = x > 0
        value = float(np.sum(utility(x[asked], stats.get("alpha", 1.0), weights[asked])))
    else:
        value = sol.total_allocated_bps
    return replace(sol, objective_value=value)


def _loads(solution, rates):
    """Load of every arc of ``solution`` under path ``rates``."""
    from te.unsplit import _path_arc  # the paths x arcs incidence of a Solution

    return np.asarray(_path_arc(solution).T @ rates, dtype=float)


@dataclass(eq=False)
class HierarchicalModel:
    """Hierarchical weighted max-min over candidate paths; :meth:`solve` returns a :class:`te.model.Solution`."""

    cands: Candidates
    groups: dict

    @property
    def size(self) -> dict:
        """Variables (paths and the level) and constraints (links, demands, groups) of one LP."""
        return {"variables": len(self.cands.paths) + 1,
                "constraints": len(self.cands.arcs) + len(self.cands.demands) + len(self.groups)}

    def solve(self) -> Solution:
        """Solve (see the module notes); ``stats`` has ``lps`` and ``groups``.

        Raises
        ------
        te.errors.SolverError
            HiGHS did not reach an optimum.
        """
        cands = self.cands
        stats = {"lps": 0, "groups": len(self.groups), **self.size}
        if not len(cands.paths):
            return solution_from_rates(cands, "max-min", "optimal", np.zeros(0), 0.0, stats)
        rates, lps = _solve(build_model(cands, "max-min"), self.groups)
        stats["lps"] = lps
        return solution_from_rates(cands, "max-min", "optimal", rates, float(rates.sum()), stats)


def build_hierarchical(cands: Candidates, groups) -> HierarchicalModel:
    """Check the groups against the demands and build the model; call ``.solve()`` on the result.

    Raises
    ------
    te.errors.InvalidInput
        A demand names a group not in ``groups``, or ``groups`` is malformed (:func:`check_groups`).
    """
    return HierarchicalModel(cands, check_groups(groups, cands.demands))


def solve_hierarchical(cands: Candidates, groups) -> Solution:
    """Hierarchical weighted max-min over ``cands`` (see the module notes).

    Parameters
    ----------
    cands : te.paths.Candidates
    groups : dict of str to Group
        Every group a demand names (others may be listed: they get nothing).

    Returns
    -------
    te.model.Solution
        Objective ``"max-min"``, status ``"optimal"``; ``stats["lps"]`` counts the LPs solved.

    Examples
    --------
    A group capped at 3 (weights 1, 1, 2 inside) beside an ungrouped demand, one link of 10:

    >>> import networkx as nx
    >>> from te.model import Demand
    >>> from te.paths import candidate_paths
    >>> g = nx.DiGraph([("s", "t", {"capacity": 10.0})])
    >>> ds = [Demand(f"g{i}", "s", "t", 10.0, weight=w, group="g") for i, w in enumerate((1, 1, 2))]
    >>> sol = solve_hierarchical(candidate_paths(g, ds + [Demand("u", "s", "t", 10.0)]),
    ...                          {"g": Group("g", rate_cap_bps=3.0)})
    >>> sol.allocated_bps.round(6).tolist()
    [0.75, 0.75, 1.5, 7.0]
    """
    return build_hierarchical(cands, groups).solve()


# --------------------------------------------------------------------------- the level sequence

_RATCHET = 1e-7  # values are lowered towards a feasible point's by at most this share in all (see _ratchet)
_RESIDUE_LEVEL = 1e-8  # a stuck entity's level below this share of the widest link on its paths is 0 (see _lex_max_min)

# Holds of a level LP, relaxed in turn while it is infeasible: (share of each value, share of the widest
# link on the row's paths). As te.lp._RELAXED_SLACKS, then, as a last resort, an absolute slack: a value
# that is a residue of full links (found far below them, e.g. a member left nothing in Stage B, where
# every group's total is pinned) is only known to a small share of those links.
_SLACKS = (*((slack, 0.0) for slack in _RELAXED_SLACKS), (_RELAXED_SLACKS[-1], 1e-9), (_RELAXED_SLACKS[-1], 1e-8))


@dataclass(eq=False)
class _Entities:
    """What one max-min sequence shares among: entity ``e``'s total is the sum of its member demands' rates."""

    members: sp.csr_matrix  # entities x demands, 0/1; a demand is in one entity at most
    weight: np.ndarray
    cap: np.ndarray  # at most this (held there once the level passes cap / weight)
    floor: np.ndarray  # held at least this (<= cap)
    hint: np.ndarray | None = None  # a rate the members' paths are scaled to at least (their likely rate)


@dataclass(eq=False)
class _Rows:
    """Hard rows over sums of demands, each at least (holds) or at most (uppers) its ``bound``.

    Holds keep ``bound (1 - slack)`` and ``loose`` uppers ``bound (1 + slack)``, the slack relaxed in
    turn while a level LP is infeasible (``_SLACKS``); other uppers keep ``bound``.
    """

    matrix: sp.csr_matrix  # rows x demands
    bound: np.ndarray  # > 0
    loose: np.ndarray  # bool per row

    @staticmethod
    def of(rows, loose=False):
        """Stack ``[(matrix, bound), ...]`` (or ``(matrix, bound, loose)``), keeping the rows whose bound is > 0."""
        rows = [(sp.csr_matrix(r[0]), np.asarray(r[1], dtype=float), r[2] if len(r) > 2 else loose)
                for r in rows if r[0].shape[0]]
        if not rows:
            return None
        matrix = sp.vstack([m for m, _, _ in rows], format="csr")
        bound = np.concatenate([b for _, b, _ in rows])
        flags = np.concatenate([np.full(len(b), bool(f)) for _, b, f in rows])
        keep = bound > 0
        return _Rows(matrix[keep], bound[keep], flags[keep]) if keep.any() else None


def _identity_rows(mask, values):
    """Rows holding each demand of ``mask`` (with a value > 0) at its value."""
    ids = np.flatnonzero(mask & (values > 0))
    return sp.csr_matrix((np.ones(len(ids)), (np.arange(len(ids)), ids)), shape=(len(ids), len(mask))), values[ids]


def _lex_max_min(model: PathModel, ent: _Entities, base_unit, holds: _Rows | None, uppers: _Rows | None):
    """Lexicographic weighted max-min of the entities' totals over ``W_e t``, each within ``[floor, cap]``.

    Demands in no entity keep the scale ``base_unit`` (0: their paths carry nothing). ``holds``
    and ``uppers`` are hard rows every LP keeps. Returns (the entities' values, LPs solved).
    """
    n_e = len(ent.weight)
    value = np.zeros(n_e)
    frozen = ent.cap <= 0
    at_cap = ~frozen & (ent.floor >= ent.cap * (1 - _LEVEL_RTOL))  # a floor at its cap leaves nothing to share
    value[at_cap] = ent.cap[at_cap]
    frozen |= at_cap
    cap_level = ent.cap / ent.weight
    owner = np.full(ent.members.shape[1], -1, dtype=np.int64)
    coo = ent.members.tocoo()
    owner[coo.col] = coo.row
    ent_path = (ent.members @ model.demand_path).tocsr()
    hold_path = None if holds is None else (holds.matrix @ model.demand_path).tocsr()
    upper_path = None if uppers is None else (uppers.matrix @ model.demand_path).tocsr()
    fixed = (ent_path, hold_path, upper_path, _widest(model, ent_path), _widest(model, hold_path),
             _widest(model, upper_path))
    lps = 0
    t_prev = 0.0
    reached = None  # each entity's total in the last LP's answer, made exactly feasible (repair)
    feasible = None  # each demand's rate there
    born, was_frozen = value.copy(), frozen.copy()  # each value as frozen, before _ratchet
    per_demand = None  # each demand's rate in the last LP's answer
    while not frozen.all():
        active = ~frozen
        known, unit_t, rescaled = t_prev, None, 0
        while True:
            capped = active & (cap_level <= known)
            growing = active & ~capped
            if not growing.any():  # the last LP proved every remaining cap reachable
                t, duals = known, np.zeros(n_e)
                break
            if unit_t is None:
                unit_t = max(known, _level_guess(model, ent, owner, growing))
            t, duals, x = _level_lp(model, ent, owner, fixed, base_unit, holds, uppers, growing, capped, frozen,
                                    value, unit_t, t_prev)
            lps += 1
            if t is None:  # "unbounded": HiGHS tripping over a level unit far too small (a residue); coarser
                if rescaled >= 8:
                    raise SolverError("max-min with groups: the level LP stays unbounded however it is scaled")
                unit_t, rescaled = unit_t * _UNIT_RANGE, rescaled + 1
                continue
            per_demand = np.bincount(model.cands.path_demand, x, minlength=ent.members.shape[1])
            feasible = np.bincount(model.cands.path_demand, repair(model.cands, x), minlength=ent.members.shape[1])
            reached = ent.members @ feasible
            if (growing & (cap_level <= t * (1 + _LEVEL_RTOL))).any():
                known, unit_t = t * (1 + _LEVEL_RTOL), None  # some cap is below the level: hold it and solve again
                continue
            if t > 0 and not 1 / _UNIT_RANGE <= t / unit_t <= _UNIT_RANGE and rescaled < 8:
                unit_t, rescaled = t, rescaled + 1  # badly scaled: again with the level near 1
                continue
            break
        stuck = growing & (duals > _DUAL_TOL)
        if t > 0 and per_demand is not None and uppers is not None and uppers.loose.any():
            stuck |= _saturated(uppers, ent, owner, growing, per_demand, t)
        if growing.any() and not stuck.any():
            # numerical fallback: the growing entity with the largest dual, among those at their level
            candidates = growing & (ent.weight * t >= ent.floor * (1 - _LEVEL_RTOL))
            pool = candidates if candidates.any() else growing
            stuck[np.flatnonzero(pool)[np.argmax(duals[pool])]] = True
        value[capped] = ent.cap[capped]
        value[stuck] = np.minimum(np.maximum(ent.weight[stuck] * t, ent.floor[stuck]), ent.cap[stuck])
        # a level below what the LPs resolve on the entity's paths, and far below the entity's own scale
        # (its cap, or in Stage B its share of its group), is a residue of full links: 0
        own = ent.cap if ent.hint is None else np.minimum(ent.cap, ent.hint)
        value[stuck & (value < _RESIDUE_LEVEL * fixed[3]) & (value < 1e-6 * own) & (ent.floor <= 0)] = 0.0
        frozen |= capped | stuck
        t_prev = t
        if reached is not None:
            # Every value no higher than a feasible point allows (the LP's answer is feasible only to
            # HiGHS's tolerance): the next LP's holds are then met exactly, not only to a tolerance
            # that compounds from LP to LP until the holds must be relaxed.
            born = np.where(frozen & ~was_frozen, value, born)
            was_frozen = frozen.copy()
            value = np.where(frozen, _ratchet(value, reached, born), value)
            support = reached / (1 - _FREEZE_SLACK)
            still = ~frozen & (ent.weight > 0)
            if still.any():
                t_prev = min(t_prev, float(np.min(support[still] / ent.weight[still])))
    return value, lps, feasible


def _ratchet(value, support, born):
    """``value`` lowered towards what a feasible point ``support`` gives, to at most ``_RATCHET`` below ``born``.

    The LPs' answers are feasible only to HiGHS's tolerance, and a value held from one LP to the next
    would compound it until holds must be relaxed; lowering the value to such a point (by at most
    1e-7 of what it was when frozen, ``born``) keeps the next LP's holds feasible without a loss
    beyond that.
    """
    lowered = support / (1 - _FREEZE_SLACK)
    return np.where(lowered < value, np.maximum(lowered, born * (1 - _RATCHET)), value)


def _saturated(uppers, ent, owner, growing, per_demand, t):
    """Growing entities in a full loose upper row (a group's total in Stage B), all of them at their level.

    None of them can then grow without another, at the same level, losing: they are stuck (the LP's
    duals, often degenerate there, name only some of them).
    """
    totals = uppers.matrix @ per_demand
    stuck = np.zeros(len(ent.weight), dtype=bool)
    level = ent.weight * t
    at_level = np.abs(ent.members @ per_demand - level) <= 1e-7 * level
    for k in np.flatnonzero(uppers.loose & (totals >= uppers.bound * (1 - 1e-7))):
        mine = np.unique(owner[uppers.matrix[k].indices])
        mine = mine[mine >= 0]
        mine = mine[growing[mine]]
        if len(mine) and at_level[mine].all():
            stuck[mine] = True
    return stuck


def _level_guess(model, ent, owner, growing):
    """Order of magnitude of the level: the growing entities on their members' first paths, alone on the links."""
    cands = model.cands
    counts = np.asarray(ent.members.sum(axis=1)).ravel()
    per_demand = np.zeros(len(owner))
    mine = owner >= 0
    share = np.where(growing, ent.weight / np.maximum(counts, 1), 0.0)
    per_demand[mine] = share[owner[mine]]
    crossing = model.first_path_arc @ per_demand
    busy = crossing > 0
    return float(np.min(cands.capacity_bps[busy] / crossing[busy])) if busy.any() else 1.0


def _widest(model, row_path):
    """Capacity of the widest link on the paths of each row (``rows x paths``), 0 for a row without paths."""
    if row_path is None:
        return None
    _, wide = model.path_span
    weighted = row_path.multiply(wide[None, :]).tocsr()
    return np.asarray(weighted.max(axis=1).toarray()).ravel()


def _level_lp(model, ent, owner, fixed, base_unit, holds, uppers, growing, capped, frozen, value, unit_t, t_prev):
    """One level LP: maximise ``t`` (see the module notes); returns ``(t, duals of the entities' growth rows,
    path rates in bit/s)``, ``(None, None, None)`` if HiGHS calls it unbounded."""
    cands = model.cands
    n_paths, n_arcs = len(cands.paths), len(cands.arcs)
    ent_path, hold_path, upper_path, ent_wide, hold_wide, upper_wide = fixed
    requests = model.requests_bps
    ent_unit = np.where(growing, ent.weight * unit_t, np.where(capped, ent.cap, np.where(frozen, value, 0.0)))
    dem_unit = np.array(base_unit, dtype=float)
    mine = owner >= 0
    unit = ent_unit if ent.hint is None else np.where(ent_unit > 0, np.maximum(ent_unit, ent.hint), 0.0)
    dem_unit[mine] = np.minimum(requests[mine], unit[owner[mine]])
    scale, arc_data, _ = model._share_data(dem_unit)
    ap = model.arc_path
    columns = sp.diags(scale)
    blocks = [sp.csr_matrix((arc_data, ap.indices, ap.indptr), shape=ap.shape)]
    # right-hand sides as functions of the slack and the absolute share of links (see _SLACKS)
    rhs = [lambda slack, links: np.ones(n_arcs)]
    if uppers is not None:
        blocks.append(sp.diags(1.0 / uppers.bound) @ upper_path @ columns)
        give = upper_wide / uppers.bound
        rhs.append(lambda slack, links, give=give: np.where(uppers.loose, 1.0 + slack + links * give, 1.0))
    if holds is not None:
        blocks.append(-(sp.diags(1.0 / holds.bound) @ hold_path @ columns))
        give = hold_wide / holds.bound
        rhs.append(lambda slack, links, give=give: slack - 1.0 + links * give)
    held = capped | (frozen & (value > 0)) | (growing & (ent.floor > 0))
    held_ids = np.flatnonzero(held)
    if len(held_ids):
        low = np.where(capped, ent.cap, np.where(frozen, value, ent.floor))[held_ids]
        # a growing entity's floor far below its level's unit is counted in that unit (else huge coefficients)
        row_unit = np.where(growing[held_ids], np.maximum(low, ent_unit[held_ids]), low)
        blocks.append(-(sp.diags(1.0 / row_unit) @ ent_path[held_ids] @ columns))
        need, give = low / row_unit, ent_wide[held_ids] / row_unit
        rhs.append(lambda slack, links, need=need, give=give: (slack - 1.0) * need + links * give)
    grow_ids = np.flatnonzero(growing)
    first_growth = sum(b.shape[0] for b in blocks)
    blocks.append(-(sp.diags(1.0 / ent_unit[grow_ids]) @ ent_path[grow_ids] @ columns))
    rhs.append(lambda slack, links, count=len(grow_ids): np.zeros(count))
    paths_part = sp.vstack(blocks, format="csr")
    t_column = np.zeros(paths_part.shape[0])
    t_column[first_growth:] = 1.0
    A = sp.hstack([paths_part, sp.csr_matrix(t_column[:, None])], format="csr")
    A.eliminate_zeros()
    c = np.zeros(n_paths + 1)
    c[-1] = -1.0
    upper = np.append(np.where(scale > 0, np.inf, 0.0), np.inf)
    for slack, links in _SLACKS:  # holds relaxed in turn while the LP is infeasible
        b = [part(slack, links) for part in rhs]
        t_low = t_prev * (1 - slack) / unit_t if (slack, links) == _SLACKS[0] else 0.0
        lower = np.append(np.zeros(n_paths), t_low)
        res = _linprog(c, A, np.concatenate(b), bounds=np.column_stack([lower, upper]), prescaled="small")
        if res.status not in (2, 4):
            break
    if res.status == 3:
        return None, None, None
    _check(res, "max-min with groups")
    duals = np.zeros(len(ent.weight))
    duals[grow_ids] = -res.ineqlin.marginals[first_growth:]
    return max(float(res.x[-1]) * unit_t, 0.0), duals, np.maximum(res.x[:-1], 0.0) * scale


# --------------------------------------------------------------------------- the two stages, class by class

def _solve(model: PathModel, groups: dict):
    """Path rates (bit/s) of the hierarchical max-min allocation, and the LPs solved."""
    cands = model.cands
    demands = cands.demands
    n = len(demands)
    requests = model.requests_bps
    weights = np.array([d.weight for d in demands], dtype=float)
    priority = np.array([d.priority for d in demands], dtype=np.int64)
    group_of = _group_index(demands, groups)
    group_list = list(groups.values())
    value = np.zeros(n)
    born = np.zeros(n)  # each demand's value when decided (_ratchet lowers values by at most 1e-7 of it)
    done = requests <= 0  # demands whose value is decided
    served = np.zeros(n, dtype=bool)
    placed = None
    lps = 0
    for level_class in sorted(set(priority.tolist()), reverse=True):
        in_class = priority == level_class
        served |= in_class
        members = in_class & ~done
        before = done & ~in_class  # higher classes (lower ones are not done yet)
        entities = _class_entities(members, group_of, group_list, weights, requests, value, before)
        if not entities:
            continue
        if all(cap >= need for _, _, cap, _, need in entities):
            # no cap binds: if every demand of the class fits, max-min gives each its request
            fitted, fit_lps = _fit_class(model, members, served, done, value)
            lps += fit_lps
            if fitted is not None:
                value[members] = born[members] = requests[members]
                done |= members
                placed = fitted if served.all() else None
                continue
        placed = None
        ids = [ids for ids, *_ in entities]
        member_matrix = _membership(ids, n)
        weight = np.array([w for _, w, _, _, _ in entities])
        cap = np.array([c for _, _, c, _, _ in entities])
        floor = np.array([f for _, _, _, f, _ in entities])
        base_unit = np.where(before, value, 0.0)
        # a member's request binds its group's composition
        multi = [i for group in ids if len(group) > 1 for i in group]
        uppers = _Rows.of([_identity_rows(np.isin(np.arange(n), multi), requests)])
        holds = _Rows.of([_identity_rows(before, value)])
        # Stage A.1: floors, max-min in proportion to them
        with_floor = floor > 0
        reached = np.zeros(len(ids))
        if with_floor.any():
            sub = _Entities(member_matrix[with_floor], floor[with_floor], floor[with_floor], np.zeros(with_floor.sum()))
            reached[with_floor], used, feasible = _lex_max_min(model, sub, base_unit, holds, uppers)
            lps += used
            _hold_within(value, before, feasible, born)
            holds = _Rows.of([_identity_rows(before, value)])
        # Stage A.2: by weight above the floors, up to the caps
        totals, used, feasible = _lex_max_min(model, _Entities(member_matrix, weight, cap, reached), base_unit,
                                              holds, uppers)
        lps += used
        _hold_within(value, before, feasible, born)
        # Stage B: members share their group's total
        lps += _stage_b(model, ids, totals, weights, weight, requests, value, born, before)
        born[members] = value[members]
        done |= members
    value = _within_caps(value, group_of, group_list)
    if placed is None:
        placed, place_lps = _place(model, value)
        lps += place_lps
    return placed, lps


def _hold_within(value, held, feasible, born):
    """Lower the values of the ``held`` demands towards the last feasible point's (:func:`_ratchet`, in place)."""
    if feasible is not None:
        value[held] = _ratchet(value[held], feasible[held], born[held])


def _class_entities(members, group_of, group_list, weights, requests, value, before):
    """The entities of one class: ``(member ids, weight, cap, floor, sum of requests)`` per group or
    ungrouped demand."""
    entities = []
    for j, group in enumerate(group_list):
        ids = np.flatnonzero(members & (group_of == j))
        if not len(ids):
            continue
        need = float(requests[ids].sum())
        got = float(value[before & (group_of == j)].sum())  # what its demands of higher classes have
        cap = need if group.rate_cap_bps is None else min(need, _left(group.rate_cap_bps, got))
        floor = 0.0 if group.guaranteed_bps is None else min(_left(group.guaranteed_bps, got), cap)
        entities.append((ids, group.weight, cap, floor, need))
    for i in np.flatnonzero(members & (group_of < 0)):
        entities.append((np.array([i]), float(weights[i]), float(requests[i]), 0.0, float(requests[i])))
    return entities


def _left(bound, got):
    """What a cap or guarantee leaves after ``got``; 0 when that is within solver tolerance (1e-6) of the bound."""
    left = bound - got
    return left if left > 1e-6 * bound else 0.0


def _membership(ids, n):
    """``entities x demands`` 0/1 matrix of the member ids of each entity."""
    rows = np.repeat(np.arange(len(ids)), [len(i) for i in ids])
    cols = np.concatenate(ids) if ids else np.zeros(0, dtype=np.int64)
    return sp.csr_matrix((np.ones(len(cols)), (rows, cols)), shape=(len(ids), n))


def _stage_b(model, ids, totals, weights, group_weight, requests, value, born, before):
    """Stage B: split each entity's Stage-A total among its members (``value`` is set in place); returns LPs solved."""
    n = len(requests)
    shared = []  # entities whose split needs the LPs
    for e, members in enumerate(ids):
        total = totals[e]
        need = requests[members].sum()
        if len(members) == 1:
            value[members] = min(total, requests[members[0]])
        elif total >= need * (1 - _LEVEL_RTOL):
            value[members] = requests[members]
        elif total <= 0:
            value[members] = 0.0
        else:
            shared.append(e)
    if not shared:
        return 0
    decided = np.zeros(n, dtype=bool)
    for e in set(range(len(ids))) - set(shared):
        decided[ids[e]] = True
    born[decided] = value[decided]
    member_ids = [i for e in shared for i in ids[e]]
    flat = np.concatenate([weights[ids[e]] * group_weight[e] / weights[ids[e]].sum() for e in shared])
    # each member's paths are scaled to at least its weighted share of its group's total (a level far
    # below it, a residue, would otherwise scale them so small that the group's hold is out of reach)
    share = np.concatenate([weights[ids[e]] / weights[ids[e]].sum() * totals[e] for e in shared])
    ent = _Entities(_membership([np.array([i]) for i in member_ids], n), flat, requests[member_ids],
                    np.zeros(len(member_ids)), share)
    group_rows = _membership([ids[e] for e in shared], n)
    group_total = totals[shared]
    # every group's total held at its Stage-A value, to the holds' slack (at most 1e-6) either way
    holds = _Rows.of([_identity_rows(before | decided, value), (group_rows, group_total)])
    # requests as rows too: a member above its request could otherwise fill its group's hold
    uppers = _Rows.of([(group_rows, group_total, True), _identity_rows(np.isin(np.arange(n), member_ids), requests)])
    base_unit = np.where(before | decided, value, 0.0)
    got, lps, feasible = _lex_max_min(model, ent, base_unit, holds, uppers)
    value[member_ids] = got
    _hold_within(value, before | decided, feasible, born)
    return lps


def _within_caps(value, group_of, group_list):
    """Values with every group's total over all classes at most its cap (tolerance may leave it 1e-6 above)."""
    value = value.copy()
    for j, group in enumerate(group_list):
        mine = group_of == j
        total = value[mine].sum()
        if group.rate_cap_bps is not None and total > group.rate_cap_bps:
            value[mine] *= group.rate_cap_bps / total
    return value


# --------------------------------------------------------------------------- checking a result

_RESIDUE = 1e-6  # spare capacity below this share of a link is solver residue (see certificate)

def certificate(solution: Solution, groups, rtol: float = 1e-6) -> list[str]:
    """The ways ``solution`` breaks the hierarchical rules (empty when it keeps them all).

    Checks, each to ``rtol`` of its own scale: every demand within its request, every link
    within its capacity, every group's total within its ``rate_cap_bps``; and that no group
    below its cap could be raised: a demand short of its request whose group is below its cap
    has no candidate path with spare capacity on every link (spare above ``rtol`` of the
    demand's rate, or of its request when it has none, plus 1e-6 of the link: what full links
    leave is resolved to about 1e-8 of their capacity, and holds may be relaxed to 1e-6).

    Examples
    --------
    >>> import networkx as nx
    >>> from te.model import Demand
    >>> from te.paths import candidate_paths, solution_from_rates
    >>> g = nx.DiGraph([("s", "t", {"capacity": 10.0})])
    >>> groups = {"a": Group("a", rate_cap_bps=4.0)}
    >>> cands = candidate_paths(g, [Demand("x", "s", "t", 9.0, group="a"), Demand("y", "s", "t", 9.0)])
    >>> certificate(solve_hierarchical(cands, groups), groups)
    []
    >>> certificate(solution_from_rates(cands, "demo", "optimal", [5.0, 3.0]), groups)  # doctest: +NORMALIZE_WHITESPACE
    ['group a: allocated 5.0 above its rate_cap_bps 4.0',
     "demand y: allocated 3.0 of 9.0 while path ('s', 't') has 2.0 bit/s spare"]
    """
    groups = check_groups(groups, solution.demands)
    problems = []
    allocated, requested = solution.allocated_bps.tolist(), solution.requested_bps.tolist()
    for i in np.flatnonzero(np.array(allocated) > np.array(requested) * (1 + rtol)):
        problems.append(f"demand {solution.demands[i].id}: allocated {allocated[i]!r} above its request "
                        f"{requested[i]!r}")
    load, capacity = solution.load_bps.tolist(), solution.capacity_bps.tolist()
    for j in np.flatnonzero(np.array(load) > np.array(capacity) * (1 + rtol)):
        problems.append(f"link {solution.arcs[j]}: load {load[j]!r} above its capacity {capacity[j]!r}")
    group_of = _group_index(solution.demands, groups)
    open_group = np.ones(len(solution.demands), dtype=bool)
    for j, group in enumerate(groups.values()):
        mine = group_of == j
        total = float(solution.allocated_bps[mine].sum())
        if group.rate_cap_bps is None:
            continue
        if total > group.rate_cap_bps * (1 + rtol):
            problems.append(f"group {group.name}: allocated {total!r} above its rate_cap_bps {group.rate_cap_bps!r}")
        if total >= group.rate_cap_bps * (1 - rtol):
            open_group[mine] = False
    spare = [c - x for c, x in zip(capacity, load)]
    arc_index = {arc: j for j, arc in enumerate(solution.arcs)}
    for i, d in enumerate(solution.demands):
        if not open_group[i] or allocated[i] >= requested[i] * (1 - rtol):
            continue
        own = rtol * (allocated[i] if allocated[i] > 0 else requested[i])
        for path, _ in solution.routes(i):
            arcs = [arc_index[a] for a in zip(path, path[1:])]
            room = min(spare[a] - own - _RESIDUE * capacity[a] for a in arcs)
            if room > 0:
                problems.append(f"demand {d.id}: allocated {allocated[i]!r} of {requested[i]!r} while path {path} "
                                f"has {min(spare[a] for a in arcs)!r} bit/s spare")
                break
    return problems


# --------------------------------------------------------------------------- alpha-fair inside groups

@dataclass(eq=False)
class AlphaInGroupsModel:
    """``alpha-fair`` with groups: groups share the network as in hierarchical max-min (weights, caps,
    assured rates), and the demands of each group share its total alpha-fairly by their weights.

    Stage A is :func:`solve_hierarchical`'s (its group totals ``X_g``); then one convex program over the
    same paths maximises ``sum_i w_i U_alpha(x_i)`` with every group's total held at ``X_g`` (to 1e-7 of
    the largest capacity), links within capacity and ``x_i <= r_i``. An ungrouped demand is a group of one,
    so it keeps its max-min rate. Solved by Clarabel through cvxpy (interior point, tolerances 1e-10 of
    the largest capacity, which the program is scaled by; measured within 1e-5 relative on the unit
    tests' hand-computed cases, not the 1e-6 of :mod:`te.alphafair`'s own interior point); the status says which it reached.
    """

    cands: Candidates
    groups: dict
    alpha: float

    @property
    def size(self):
        return {"variables": len(self.cands.paths), "constraints": len(self.cands.arcs) + len(self.groups)}

    def solve(self):
        try:
            import cvxpy as cp
        except ImportError:
            raise SolverError("alpha-fair with intent groups needs cvxpy with Clarabel (pip install "
                              "'cvxpy>=1.4', or the package's [alpha-groups] extra)") from None
        from te.alphafair import check_alpha

        alpha = check_alpha(self.alpha)
        cands = self.cands
        stage_a = solve_hierarchical(cands, self.groups)
        if not len(cands.paths):
            return stage_a
        index = _group_index(cands.demands, self.groups)  # -1: ungrouped
        scale = float(cands.capacity_bps.max())
        requests = cands.requests_bps / scale
        weights = np.array([d.weight for d in cands.demands])
        held = stage_a.allocated_bps / scale
        f = cp.Variable(len(cands.paths), nonneg=True)
        x = sp.csr_matrix((np.ones(len(cands.paths)), (cands.path_demand, np.arange(len(cands.paths)))),
                          shape=(len(cands.demands), len(cands.paths))) @ f
        tol = 1e-7
        constraints = [cands.arc_path @ f <= cands.capacity_bps / scale, x <= requests]
        members = {}
        for i, j in enumerate(index.tolist()):
            members.setdefault(("g", j) if j >= 0 else ("d", i), []).append(i)
        for key, ids in members.items():
            total = float(held[ids].sum())
            constraints += [cp.sum(x[ids]) >= total - tol, cp.sum(x[ids]) <= total + tol]
        live = np.flatnonzero(held > 0)
        if alpha == 1.0:
            utility = cp.sum(cp.multiply(weights[live], cp.log(x[live])))
        elif alpha == 0.0:
            utility = cp.sum(cp.multiply(weights[live], x[live]))
        elif alpha < 1.0:
            utility = cp.sum(cp.multiply(weights[live] / (1 - alpha), cp.power(x[live], 1 - alpha)))
        else:
            utility = -cp.sum(cp.multiply(weights[live] / (alpha - 1), cp.power(x[live], 1 - alpha)))
        starved = np.flatnonzero(held <= 0)  # nothing in stage A: nothing here either
        if len(starved):
            constraints.append(x[starved] == 0)
        problem = cp.Problem(cp.Maximize(utility), constraints)
        try:
            problem.solve(solver=cp.CLARABEL, tol_gap_abs=1e-10, tol_gap_rel=1e-10, tol_feas=1e-10, max_iter=400)
        except cp.error.SolverError as exc:
            raise SolverError(f"alpha-fair in groups: {exc}") from None
        if problem.status not in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE) or f.value is None:
            raise SolverError(f"alpha-fair in groups: Clarabel ended {problem.status}")
        rates = np.maximum(f.value, 0.0) * scale
        # within capacity and requests exactly (the interior point is feasible to its tolerance)
        load = cands.arc_path @ rates
        with np.errstate(divide="ignore", invalid="ignore"):
            over = np.where(load > cands.capacity_bps, cands.capacity_bps / load, 1.0)
        pa = cands.path_arc
        nonempty = np.diff(pa.indptr) > 0
        factor = np.ones(len(rates))
        factor[nonempty] = np.minimum.reduceat(over[pa.indices], pa.indptr[:-1][nonempty])
        rates = rates * factor
        got = np.bincount(cands.path_demand, rates, minlength=len(cands.demands))
        with np.errstate(divide="ignore", invalid="ignore"):
            trim = np.where(got > requests * scale, requests * scale / got, 1.0)
        rates = rates * trim[cands.path_demand]
        status = "optimal" if problem.status == cp.OPTIMAL else "optimal_inaccurate"
        return solution_from_rates(cands, "alpha-fair", status, rates, float(rates.sum()),
                                   {**stage_a.stats, "alpha": alpha, "in_groups": True})


def build_alpha_in_groups(cands: Candidates, groups, alpha) -> AlphaInGroupsModel:
    """:class:`AlphaInGroupsModel` over ``cands`` for the checked ``groups``."""
    return AlphaInGroupsModel(cands, check_groups(groups, cands.demands), alpha)
