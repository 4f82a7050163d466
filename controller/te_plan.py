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
"""
from __future__ import annotations

from dataclasses import dataclass, field

import networkx as nx

import te
from te.errors import TEError
from te.unsplit import fewest_paths

# Path rates below this are solver noise, not traffic (a meter counts in kbit/s anyway).
MIN_PATH_BPS = 1000.0

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

    @property
    def routable(self) -> bool:
        return self.reason is None


@dataclass(frozen=True)
class Plan:
    allocations: tuple = ()  # Allocation, intent order
    objective: str = ""
    status: str = "none"  # the solver's status, "none" with no routable intent, "failed: ..." on error
    headroom: float = 0.0
    load_bps: dict = field(default_factory=dict)  # (dpid_a, dpid_b) -> planned load on that arc

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
         avoid=frozenset(), fewest_paths_s: float = 0.0, max_paths: int | None = None, alpha: float = 1.0) -> Plan:
    """Allocate every intent over the current network.

    Parameters
    ----------
    fabric : controller.topology.Fabric
    intents : sequence of controller.intents.Intent
    objective : str
        A :data:`te.OBJECTIVES` name.
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
        demands = [te.Demand(i.id, i.src, i.dst, i.rate_bps, i.weight, i.priority) for i, _, _ in routed]
        try:
            solution = te.solve(g, demands, objective=objective, k=k, max_paths=max_paths if k == "auto" else None,
                                alpha=alpha)
            if fewest_paths_s > 0:
                solution = fewest_paths(solution, fewest_paths_s)
        except TEError as exc:
            status = f"failed: {exc}"
            for intent, src, dst in routed:
                allocations[intent.id] = Allocation(intent, src=src, dst=dst)
        else:
            status = solution.status
            for n, (intent, src, dst) in enumerate(routed):
                shares = [path_share(g, p, r) for p, r in solution.routes(n) if r >= MIN_PATH_BPS]
                shares.sort(key=lambda s: (-s.rate_bps, s.dpids))
                allocations[intent.id] = Allocation(intent, sum(s.rate_bps for s in shares), tuple(shares), src, dst)
            for (u, v), bps in zip(solution.arcs, solution.load_bps.tolist()):
                a, b = g.nodes[u].get("dpid"), g.nodes[v].get("dpid")
                if bps > 0 and a is not None and b is not None:  # switch-to-switch (not an access link)
                    load[(a, b)] = bps
    return Plan(tuple(allocations[i.id] for i in intents), objective, status, headroom, load)


def path_share(g, path, rate) -> PathShare:
    """A TE-graph path ``(src_ip, switch nodes..., dst_ip)`` as the switch path it takes, carrying ``rate``."""
    switches = path[1:-1]
    hops = tuple((g.nodes[a]["dpid"], g[a][b]["port"]) for a, b in zip(switches, switches[1:]))
    return PathShare(tuple(g.nodes[s]["dpid"] for s in switches), hops, float(rate))


def inputs_key(fabric, generation: int) -> tuple:
    """Everything a plan depends on besides settings: a new key means solve again."""
    hosts = tuple(sorted((ip, h.dpid, h.port) for ip, h in fabric.hosts.items() if h.dpid in fabric.switches))
    return (generation, tuple(sorted(fabric.adjacency().items())), hosts)
