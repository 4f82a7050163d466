"""From intents and the discovered network to a TE plan: who gets how much over which switch paths.

Plain code (no Ryu, no clock): the core (:mod:`controller.core`) calls :func:`plan` when its
inputs change, :mod:`controller.compile_te` turns the plan into switch state and
:mod:`controller.views` shows it to the REST API and the metrics.

The TE graph has one node per connected switch (``f"{dpid:016x}"``) and one per
located host (its IPv4 address), so access links are capacities like any other
(three intents towards one host share that host's link). Every arc keeps
``headroom`` of its capacity free. A demand runs from its source host to its
destination host; a path ``(src_ip, sw_1, ..., sw_n, dst_ip)`` becomes the switch
path ``(sw_1, ..., sw_n)`` with the out port of every hop but the last.

Service classes: guaranteed intents (admitted by :mod:`controller.admission`, so they fit) are
placed first, by exact max-min over the whole network; best-effort intents then share what they
leave, by the configured objective, with intent groups as a hierarchy (:mod:`te.hierarchy`:
groups share by weight up to their caps, intents share their group's part by weight). A
guaranteed intent that the network can no longer carry in full (a link failed) is ``degraded``:
its allocation says by how much and which links are short (:func:`overflow` of :func:`min_mlu`).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import networkx as nx

import te
from te.errors import TEError
from te.hierarchy import Group
from te.unsplit import fewest_paths

# Path rates below this are solver noise, not traffic (a meter counts in kbit/s anyway).
MIN_PATH_BPS = 1000.0
# An allocation within this fraction of its request is the request (the LPs' tolerance).
FULL_RTOL = 1e-6
# Tunnels per intent with failure protection (te_protect_failures): edge-disjoint where the network has them.
FFC_PATHS = 4

def switch_node(dpid: int) -> str:
    return f"{dpid:016x}"


@dataclass(frozen=True)
class PathShare:
    """One path of an intent: ``dpids`` from ingress to egress switch, ``hops`` the
    ``(dpid, out_port)`` of every switch but the egress, and the rate it carries."""

    dpids: tuple
    hops: tuple
    rate_bps: float


@dataclass(frozen=True)
class Allocation:
    """What the plan gives one intent (at the version the plan was computed for)."""

    intent: object  # controller.intents.Intent
    allocated_bps: float = 0.0
    paths: tuple = ()  # PathShare with rate > 0, largest first
    src: object = None  # controller.topology.Host at the ingress, None if not located
    dst: object = None
    reason: str | None = None  # why the intent is unroutable; None when it is routed
    short_links: tuple = ()  # a degraded guaranteed intent: the links (overflow() dicts) that cannot carry it

    @property
    def routable(self) -> bool:
        return self.reason is None

    @property
    def degraded(self) -> bool:
        """A guaranteed intent that gets less than its rate."""
        return self.intent.guaranteed and self.allocated_bps < self.intent.rate_bps * (1 - FULL_RTOL)


@dataclass(frozen=True)
class Plan:
    allocations: tuple = ()  # Allocation, intent order
    objective: str = ""
    status: str = "none"  # the solver's status, "none" with no routable intent, "failed: ..." on error
    headroom: float = 0.0
    load_bps: dict = field(default_factory=dict)  # (dpid_a, dpid_b) -> planned load (FFC: reserved) on that arc
    protect: int = 0  # link failures the allocation survives (FFC), 0: unprotected

    def allocation(self, intent_id: str) -> Allocation | None:
        for a in self.allocations:
            if a.intent.id == intent_id:
                return a
        return None


def host_capacity(fabric, ip: str) -> float:
    """The rate of a host's access link (bit/s): as the topology file says, else the default."""
    listed = fabric.link_info.hosts.get(ip)
    return listed.capacity_bps if listed is not None and listed.capacity_bps else fabric.default_capacity_bps


def te_graph(fabric, headroom: float, avoid=frozenset()) -> nx.DiGraph:
    """The graph the TE engine solves on: switches and located hosts, arcs at ``(1 - headroom)`` capacity.

    A switch in ``avoid`` is two nodes, one that arcs enter (and that leads to its hosts) and one that
    arcs leave (from its hosts), with no arc between them: paths may start or end there, never pass.
    Every switch node carries its ``dpid``.

    >>> from controller.topology import Fabric
    >>> f = Fabric()
    >>> for d in (1, 2, 3): f.add_switch(d, [1, 2], 0.0)
    >>> for a, b in ((1, 2), (2, 3)): _ = f.add_link(a, 1 if b > a else 2, b, 2 if b > a else 1)
    >>> nx.has_path(te_graph(f, 0.1), switch_node(1), switch_node(3))
    True
    >>> nx.has_path(te_graph(f, 0.1, avoid={2}), switch_node(1), switch_node(3))
    False
    """
    keep = 1.0 - headroom

    def leave(d):
        return switch_node(d)

    def enter(d):
        return switch_node(d) + ":in" if d in avoid else switch_node(d)

    g = nx.DiGraph()
    for (a, b), port in sorted(fabric.adjacency().items()):
        cap = fabric.link_info.capacity(a, b, fabric.default_capacity_bps)
        g.add_node(leave(a), dpid=a)
        g.add_node(enter(b), dpid=b)
        g.add_edge(leave(a), enter(b), capacity=cap * keep, weight=1.0, port=port)
    for ip, host in sorted(fabric.hosts.items()):
        if host.dpid not in fabric.switches:
            continue
        cap = host_capacity(fabric, ip)
        g.add_node(leave(host.dpid), dpid=host.dpid)
        g.add_node(enter(host.dpid), dpid=host.dpid)
        g.add_edge(ip, leave(host.dpid), capacity=cap * keep, weight=1.0)
        g.add_edge(enter(host.dpid), ip, capacity=cap * keep, weight=1.0, port=host.port)
    return g


def plan(fabric, intents, objective: str = "max-min", k="auto", headroom: float = 0.1,
         avoid=frozenset(), fewest_paths_s: float = 0.0, max_paths: int | None = None, alpha: float = 1.0,
         groups=None, protect: int = 0, protect_classes: str = "all") -> Plan:
    """Allocate every intent over the current network.

    Parameters
    ----------
    fabric : controller.topology.Fabric
    intents : sequence of controller.intents.Intent
    objective : str
        A :data:`te.OBJECTIVES` name, for the best-effort intents (guaranteed ones are placed
        first, by max-min: they fit, so each gets its rate).
    k : int or "auto"
        Candidate paths per intent, or generated as the LPs need them (:mod:`te.colgen`).
    headroom : float
        Fraction of each link's capacity left free.
    avoid : set of int
        Switches no path may pass through (they may be its ends), see :func:`te_graph`.
    fewest_paths_s : float
        If > 0, the allocation is routed over the fewest paths at the same rates (:func:`te.unsplit.fewest_paths`,
        with this time limit): a flow follows one path, so an intent with few flows cannot follow a split.
    max_paths : int, optional
        With ``k="auto"``: at most this many paths per intent.
    alpha : float
        ``objective="alpha-fair"`` only (:mod:`te.alphafair`).
    groups : dict of str to controller.intents.IntentGroup, optional
        The groups intents name (:mod:`te.hierarchy`).
    protect : int
        If > 0, allocations survive any ``protect`` switch-link failures with local rescaling in the
        switches (FFC, :mod:`te.ffc`; ``objective`` max-throughput, else max-min), over
        :data:`FFC_PATHS` edge-disjoint paths per intent; ``fewest_paths_s`` is then not used (it would
        undo the protection). Hosts' access links are taken not to fail (no path avoids them).
    protect_classes : {"all", "guaranteed"}
        Which intents are protected; "guaranteed" leaves best-effort unprotected.

    Returns
    -------
    Plan
        Intents whose hosts are not located or not connected are unroutable; a solver
        failure leaves every intent unallocated with ``status`` saying why.
    """
    g = te_graph(fabric, headroom, avoid)
    routed, allocations = [], {}
    for intent in intents:
        src, dst = fabric.hosts.get(intent.src), fabric.hosts.get(intent.dst)
        missing = [ip for ip, h in ((intent.src, src), (intent.dst, dst)) if h is None or h.dpid not in fabric.switches]
        if missing:
            allocations[intent.id] = Allocation(intent, reason=f"host {missing[0]} is not located yet")
        elif not nx.has_path(g, intent.src, intent.dst):
            allocations[intent.id] = Allocation(intent, src=src, dst=dst,
                                                reason=f"no path from {intent.src} to {intent.dst}")
        else:
            routed.append((intent, src, dst))
    status, load = "none", {}
    if routed:
        options = dict(k=k, max_paths=max_paths, alpha=alpha, fewest_paths_s=0.0 if protect else fewest_paths_s)
        guaranteed = [r for r in routed if r[0].guaranteed]
        best_effort = [r for r in routed if not r[0].guaranteed]
        try:
            statuses, arc_load = [], {}
            if guaranteed:
                sol = _solve(g, guaranteed, "max-min", protect=protect, **options)
                statuses.append(sol.status)
                _take(g, sol, guaranteed, allocations, arc_load)
                short = [a for a in (allocations[i.id] for i, _, _ in guaranteed) if a.degraded]
                if short:
                    full = [te.Demand(i.id, i.src, i.dst, i.rate_bps) for i, _, _ in guaranteed]
                    links = tuple(overflow(g, min_mlu(g, full, k, max_paths)))
                    for a in short:
                        allocations[a.intent.id] = replace(a, short_links=links)
            if best_effort:
                left = _residual(g, arc_load)
                given = {}  # group name -> what its guaranteed intents got
                for i, _, _ in guaranteed:
                    if i.group is not None:
                        given[i.group] = given.get(i.group, 0.0) + allocations[i.id].allocated_bps
                reachable = [r for r in best_effort if nx.has_path(left, r[0].src, r[0].dst)]
                for intent, src, dst in best_effort:
                    allocations[intent.id] = Allocation(intent, src=src, dst=dst)  # 0 unless solved below
                if reachable:
                    sol = _solve(left, reachable, objective, _groups_left(groups or {}, given),
                                 protect=protect if protect_classes == "all" else 0, **options)
                    statuses.append(sol.status)
                    # min-mlu routes every request whole, even above capacity; beside guarantees, best-effort
                    # is scaled down to fit what they leave (uniformly: the routing stays min-MLU)
                    scale = 1.0 / max(_mlu(left, sol), 1.0) if guaranteed else 1.0
                    _take(left, sol, reachable, allocations, arc_load, scale)
        except TEError as exc:
            status = f"failed: {exc}"
            for intent, src, dst in routed:
                allocations[intent.id] = Allocation(intent, src=src, dst=dst)
        else:
            status = next((s for s in statuses if s != "optimal"), statuses[0] if statuses else "none")
            for (u, v), bps in arc_load.items():
                a, b = g.nodes[u].get("dpid"), g.nodes[v].get("dpid")
                if bps > 0 and a is not None and b is not None:  # switch-to-switch (not an access link)
                    load[(a, b)] = bps
    return Plan(tuple(allocations[i.id] for i in intents), objective, status, headroom, load, protect)


def _groups_left(groups: dict, given: dict) -> dict:
    """The engine's :class:`te.hierarchy.Group` of every intent group, less what its guaranteed intents got;
    None for a group whose cap they use up (its best-effort intents get nothing).

    >>> from controller.intents import IntentGroup
    >>> _groups_left({"v": IntentGroup("v", 2.0, 5e6, 1e6), "w": IntentGroup("w", 1.0, 2e6)}, {"v": 4.5e6, "w": 2e6})
    {'v': Group(name='v', weight=2.0, rate_cap_bps=500000.0, guaranteed_bps=None), 'w': None}
    """
    out = {}
    for name, group in groups.items():
        taken = given.get(name, 0.0)
        cap = None if group.rate_cap_bps is None else group.rate_cap_bps - taken
        floor = None if group.guaranteed_bps is None else group.guaranteed_bps - taken
        if cap is not None and cap < MIN_PATH_BPS:
            out[name] = None
            continue
        out[name] = Group(name, group.weight, cap, floor if floor is not None and floor >= MIN_PATH_BPS else None)
    return out


def access_links(g) -> frozenset:
    """The links (``(u, v)`` with ``u < v``) of ``g`` between a host and its switch: every path of the host crosses
    its own, so protection cannot route around it."""
    return frozenset(tuple(sorted((u, v))) for u, v in g.edges
                     if "dpid" not in g.nodes[u] or "dpid" not in g.nodes[v])


def ffc_candidates(g, demands):
    """The tunnels of each demand under protection: its :data:`FFC_PATHS` shortest paths, and as many
    switch-level edge-disjoint paths (between its ingress and egress switches: a host's own access link is
    on every path) as the network has, up to :data:`FFC_PATHS`.
    """
    from te.paths import Candidates, candidate_paths

    switches = g.subgraph([n for n in g.nodes if "dpid" in g.nodes[n]])
    shortest = candidate_paths(g, demands, k=FFC_PATHS)
    per_demand = []
    for n, d in enumerate(demands):
        paths = list(shortest.paths[shortest.path_ptr[n]:shortest.path_ptr[n + 1]])
        ingress, egress = next(iter(g.successors(d.src))), next(iter(g.predecessors(d.dst)))
        if ingress != egress and nx.has_path(switches, ingress, egress):
            disjoint = sorted(nx.edge_disjoint_paths(switches, ingress, egress), key=len)[:FFC_PATHS]
            for path in disjoint:
                full = (d.src, *path, d.dst)
                if full not in paths:
                    paths.append(full)
        per_demand.append(paths)
    return Candidates.from_paths(g, demands, per_demand)


def _solve(g, routed, objective, groups=None, *, k, max_paths, alpha, fewest_paths_s, protect=0):
    """One engine solve of ``routed`` ``[(intent, src, dst), ...]`` over ``g``; ``groups`` as :func:`_groups_left`.

    With ``protect``, an FFC allocation (:mod:`te.ffc`) whose ``stats["tunnel_bps"]`` are the tunnels' reservations.
    """
    groups = groups or {}
    live = {name: group for name, group in groups.items() if group is not None}
    demands = [te.Demand(i.id, i.src, i.dst, 0.0 if i.group in groups and i.group not in live else i.rate_bps,
                         i.weight, i.priority, group=i.group if i.group in live else None) for i, _, _ in routed]
    if protect:
        from te.ffc import ffc_solve

        plain = [te.Demand(d.id, d.src, d.dst, d.rate_bps, d.weight, d.priority) for d in demands]
        cands = ffc_candidates(g, plain)
        return ffc_solve(cands, protect, "max-throughput" if objective == "max-throughput" else "max-min",
                         fixed=access_links(g))
    solution = te.solve(g, demands, objective=objective, k=k, max_paths=max_paths if k == "auto" else None,
                        alpha=alpha, groups=live or None)
    if fewest_paths_s > 0:
        solution = fewest_paths(solution, fewest_paths_s)
    return solution


def _mlu(g, solution) -> float:
    """The highest load over capacity of ``solution`` on ``g``."""
    return max((bps / g[u][v]["capacity"] for (u, v), bps in zip(solution.arcs, solution.load_bps.tolist())),
               default=0.0)


def _take(g, solution, routed, allocations: dict, arc_load: dict, scale: float = 1.0) -> None:
    """Record ``solution``'s allocation of ``routed`` (every rate times ``scale``) and add its arc loads to
    ``arc_load``."""
    for n, (intent, src, dst) in enumerate(routed):
        shares = [path_share(g, p, r * scale) for p, r in solution.routes(n) if r * scale >= MIN_PATH_BPS]
        shares.sort(key=lambda s: (-s.rate_bps, s.dpids))
        allocations[intent.id] = Allocation(intent, sum(s.rate_bps for s in shares), tuple(shares), src, dst)
    reserved = solution.stats.get("tunnel_bps") if isinstance(solution.stats, dict) else None
    if reserved is not None:
        # FFC: an intent may put min(b, its tunnels' reservations through an arc) on it after failures
        for n in range(len(routed)):
            lo, hi = int(solution.path_ptr[n]), int(solution.path_ptr[n + 1])
            through = {}
            for path, bps in zip(solution.paths[lo:hi], reserved[lo:hi]):
                for arc in zip(path, path[1:]):
                    through[arc] = through.get(arc, 0.0) + bps
            granted = float(solution.allocated_bps[n])
            for arc, bps in through.items():
                arc_load[arc] = arc_load.get(arc, 0.0) + min(bps, granted) * scale
        return
    for arc, bps in zip(solution.arcs, solution.load_bps.tolist()):
        if bps > 0:
            arc_load[arc] = arc_load.get(arc, 0.0) + bps * scale


def _residual(g, arc_load: dict) -> nx.DiGraph:
    """``g`` with what ``arc_load`` uses taken off every arc; arcs with less than 1 kbit/s left are gone."""
    left = g.copy()
    for (u, v), bps in arc_load.items():
        rest = left[u][v]["capacity"] - bps
        if rest < MIN_PATH_BPS:
            left.remove_edge(u, v)
        else:
            left[u][v]["capacity"] = rest
    return left


def min_mlu(g, demands, k="auto", max_paths=None):
    """Every demand routed in full over ``g`` with the least maximum link utilisation (a :class:`te.Solution`)."""
    return te.solve(g, demands, objective="min-mlu", k=k, max_paths=max_paths if k == "auto" else None)


def overflow(g, solution) -> list:
    """The links a :func:`min_mlu` ``solution`` loads above capacity: those that cannot carry its demands in full
    together, most loaded first, as ``{"src", "dst", "capacity_bps", "needed_bps"}`` dicts (TE-graph node
    names: a switch's 16-digit dpid, a host's address). Empty when they fit.
    """
    out = []
    for (u, v), bps in zip(solution.arcs, solution.load_bps.tolist()):
        cap = g[u][v]["capacity"]
        if bps > cap * (1 + FULL_RTOL):
            out.append({"src": u.split(":")[0], "dst": v.split(":")[0], "capacity_bps": cap, "needed_bps": bps})
    return sorted(out, key=lambda link: -link["needed_bps"] / link["capacity_bps"])


def rates_of(te_plan: Plan) -> dict:
    """``intent id -> {path: rate}`` of the routed allocations of ``te_plan``, a path being
    ``(src ip, dpid, ..., dpid, dst ip)``: the flows of a staged update (:mod:`te.updates`)."""
    out = {}
    for a in te_plan.allocations:
        if a.routable and a.src is not None and a.paths:
            out[a.intent.id] = {(a.intent.src, *s.dpids, a.intent.dst): s.rate_bps for s in a.paths}
    return out


def same_rates(a: dict, b: dict, tol_bps: float = MIN_PATH_BPS) -> bool:
    """Whether two :func:`rates_of` differ by less than ``tol_bps`` on every path.

    >>> same_rates({"1": {("a", 1, "b"): 4e6}}, {"1": {("a", 1, "b"): 4e6 + 1}}), same_rates({}, {"1": {}})
    (True, False)
    """
    if a.keys() != b.keys():
        return False
    return all(abs(a[i].get(p, 0.0) - b[i].get(p, 0.0)) < tol_bps for i in a for p in a[i].keys() | b[i].keys())


def with_rates(target: Plan, rates: dict, previous: Plan | None = None) -> Plan:
    """``target`` with each intent's paths at ``rates`` (a step of a staged update, from :func:`rates_of`'s shape).

    Paths are those of ``target`` or of ``previous`` (the plan the switches hold); an intent at 0 in the step
    keeps nothing (its traffic stays on the ECMP baseline until it gets a rate).
    """
    known = {}
    for p in (previous, target):
        for a in (p.allocations if p is not None else ()):
            for s in a.paths:
                known[(a.intent.id, s.dpids)] = s
    out = []
    for a in target.allocations:
        step = rates.get(a.intent.id)
        if step is None or not a.routable:
            out.append(a)
            continue
        shares = [replace(known[(a.intent.id, tuple(path[1:-1]))], rate_bps=r)
                  for path, r in step.items() if r >= MIN_PATH_BPS and (a.intent.id, tuple(path[1:-1])) in known]
        shares.sort(key=lambda s: (-s.rate_bps, s.dpids))
        if not shares:
            out.append(replace(a, allocated_bps=0.0, paths=(), reason="staged: not yet allocated"))
            continue
        out.append(replace(a, allocated_bps=sum(s.rate_bps for s in shares), paths=tuple(shares)))
    return replace(target, allocations=tuple(out))


def path_share(g, path, rate) -> PathShare:
    """A TE-graph path ``(src_ip, switch nodes..., dst_ip)`` as the switch path it takes, carrying ``rate``."""
    switches = path[1:-1]
    hops = tuple((g.nodes[a]["dpid"], g[a][b]["port"]) for a, b in zip(switches, switches[1:]))
    return PathShare(tuple(g.nodes[s]["dpid"] for s in switches), hops, float(rate))


def inputs_key(fabric, generation: int) -> tuple:
    """Everything a plan depends on besides settings: a new key means solve again."""
    hosts = tuple(sorted((ip, h.dpid, h.port) for ip, h in fabric.hosts.items() if h.dpid in fabric.switches))
    return (generation, tuple(sorted(fabric.adjacency().items())), hosts)
