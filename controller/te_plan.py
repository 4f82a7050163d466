"""From intents and the discovered network to a TE plan: who gets how much over which switch paths.

Plain code (no Ryu, no clock): the app calls :func:`plan` in its reconcile loop,
:mod:`controller.compile_te` turns the plan into switch state and the REST API
shows it through :func:`allocation_views` and :func:`link_views`.

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

# Path rates below this are solver noise, not traffic (a meter counts in kbit/s anyway).
MIN_PATH_BPS = 1000.0

UNROUTABLE = "unroutable"
PENDING = "pending"
INSTALLED = "installed"
PARTIAL = "partial"


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


def te_graph(fabric, headroom: float) -> nx.DiGraph:
    """The graph the TE engine solves on: switches and located hosts, arcs at ``(1 - headroom)`` capacity."""
    keep = 1.0 - headroom
    g = nx.DiGraph()
    for (a, b), port in sorted(fabric.adjacency().items()):
        cap = fabric.link_info.capacity(a, b, fabric.default_capacity_bps)
        g.add_edge(switch_node(a), switch_node(b), capacity=cap * keep, weight=1.0, port=port)
    for ip, host in sorted(fabric.hosts.items()):
        if host.dpid not in fabric.switches:
            continue
        listed = fabric.link_info.hosts.get(ip)
        cap = listed.capacity_bps if listed is not None and listed.capacity_bps else fabric.default_capacity_bps
        g.add_edge(ip, switch_node(host.dpid), capacity=cap * keep, weight=1.0)
        g.add_edge(switch_node(host.dpid), ip, capacity=cap * keep, weight=1.0, port=host.port)
    return g


def plan(fabric, intents, objective: str = "max-min", k: int = 4, headroom: float = 0.1) -> Plan:
    """Allocate every intent over the current network.

    Parameters
    ----------
    fabric : controller.topology.Fabric
    intents : sequence of controller.intents.Intent
    objective : str
        A :data:`te.OBJECTIVES` name.
    k : int
        Candidate paths per intent.
    headroom : float
        Fraction of each link's capacity left free.

    Returns
    -------
    Plan
        Intents whose hosts are not located or not connected are unroutable; a solver
        failure leaves every intent unallocated with ``status`` saying why.
    """
    g = te_graph(fabric, headroom)
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
            solution = te.solve(g, demands, objective=objective, k=k)
        except TEError as exc:
            status = f"failed: {exc}"
            for intent, src, dst in routed:
                allocations[intent.id] = Allocation(intent, src=src, dst=dst)
        else:
            status = solution.status
            for n, (intent, src, dst) in enumerate(routed):
                shares = [_share(g, p, r) for p, r in solution.routes(n) if r >= MIN_PATH_BPS]
                shares.sort(key=lambda s: (-s.rate_bps, s.dpids))
                allocations[intent.id] = Allocation(intent, sum(s.rate_bps for s in shares), tuple(shares), src, dst)
            for (u, v), bps in zip(solution.arcs, solution.load_bps.tolist()):
                if bps > 0 and g.has_edge(u, v) and "." not in u and "." not in v:
                    load[(int(u, 16), int(v, 16))] = bps
    return Plan(tuple(allocations[i.id] for i in intents), objective, status, headroom, load)


def _share(g, path, rate) -> PathShare:
    switches = path[1:-1]
    hops = tuple((int(a, 16), g[a][b]["port"]) for a, b in zip(switches, switches[1:]))
    return PathShare(tuple(int(s, 16) for s in switches), hops, float(rate))


def inputs_key(fabric, generation: int) -> tuple:
    """Everything a plan depends on besides settings: a new key means solve again."""
    hosts = tuple(sorted((ip, h.dpid, h.port) for ip, h in fabric.hosts.items() if h.dpid in fabric.switches))
    return (generation, tuple(sorted(fabric.adjacency().items())), hosts)


# --- views for the REST API ------------------------------------------------------
def allocation_state(allocation: Allocation | None, current_version: int, confirmed: bool) -> str:
    """``pending``, ``installed``, ``partial`` or ``unroutable`` (see docs/openapi.yaml).

    >>> from controller.intents import Intent
    >>> i = Intent("1", "10.0.0.1", "10.0.0.2", 4e6)
    >>> allocation_state(Allocation(i, 4e6), 1, True), allocation_state(Allocation(i, 3e6), 1, True)
    ('installed', 'partial')
    >>> allocation_state(Allocation(i, 4e6), 2, True), allocation_state(None, 1, False)
    ('pending', 'pending')
    """
    if allocation is None or allocation.intent.version != current_version:
        return PENDING
    if not allocation.routable:
        return UNROUTABLE
    if not confirmed:
        return PENDING
    return INSTALLED if allocation.allocated_bps >= allocation.intent.rate_bps * (1 - 1e-6) else PARTIAL


def allocation_views(intents, te_plan: Plan, installed: dict, times: dict, measured: dict | None = None) -> list:
    """The ``Allocation`` objects of GET /te/v1/allocations, in intent order.

    ``installed`` maps intent id to ``[(PathShare, label, weight), ...]`` as compiled;
    ``times`` maps intent id to ``(computed_at, installed_at)`` of its current allocation
    (Unix time; ``installed_at`` None until the switches confirmed it); ``measured`` maps
    intent id to the rate its meter passed (bit/s; missing until measured).
    """
    measured = measured or {}
    out = []
    for intent in intents:
        a = te_plan.allocation(intent.id)
        computed_at, installed_at = times.get(intent.id, (None, None))
        state = allocation_state(a, intent.version, installed_at is not None)
        current = a is not None and a.intent.version == intent.version
        paths = [{"switches": [switch_node(d) for d in share.dpids], "rate_bps": share.rate_bps, "weight": weight,
                  "label": label} for share, label, weight in installed.get(intent.id, ())] if current else []
        view = {"intent_id": intent.id, "name": intent.name, "version": intent.version, "state": state,
                "requested_bps": intent.rate_bps, "allocated_bps": a.allocated_bps if current else 0.0,
                "measured_bps": measured.get(intent.id),
                "paths": paths, "computed_at": computed_at if current else None,
                "installed_at": installed_at if current and state in (INSTALLED, PARTIAL) else None}
        if current and a.reason:
            view["reason"] = a.reason
        out.append(view)
    return out


def topology_view(fabric) -> dict:
    """The body of GET /te/v1/topology."""
    names = fabric.link_info.switch_names
    switches = [{"dpid": switch_node(d), **({"name": names[d]} if d in names else {})} for d in sorted(fabric.switches)]
    links = [{"src": switch_node(a), "src_port": pa, "dst": switch_node(b), "dst_port": pb,
              "capacity_bps": fabric.link_info.capacity(a, b, fabric.default_capacity_bps)}
             for (a, pa), (b, pb) in sorted(fabric.links.items()) if a in fabric.switches and b in fabric.switches]
    hosts = [{"ip": h.ip, "mac": h.mac, "dpid": switch_node(h.dpid), "port": h.port}
             for _, h in sorted(fabric.hosts.items())]
    return {"switches": switches, "links": links, "hosts": hosts}


def link_views(fabric, te_plan: Plan, measured_bps: dict) -> list:
    """The links of GET /te/v1/links: every usable directed link with capacity and loads.

    ``measured_bps`` maps ``(dpid, port)`` to the transmit rate measured on that port.
    """
    out = []
    for (a, b), port in sorted(fabric.adjacency().items()):
        capacity = fabric.link_info.capacity(a, b, fabric.default_capacity_bps)
        measured = measured_bps.get((a, port))
        dst_port = fabric.links.get((a, port), (b, None))[1]
        out.append({"src": switch_node(a), "src_port": port, "dst": switch_node(b), "dst_port": dst_port,
                    "capacity_bps": capacity, "planned_load_bps": te_plan.load_bps.get((a, b), 0.0),
                    "measured_load_bps": measured,
                    "utilization": None if measured is None else measured / capacity})
    return out
