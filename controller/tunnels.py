"""Equal-cost paths as labelled tunnels, with labels that stay put across recomputation.

ECMP is path-based: the ingress switch picks one of the equal-cost shortest
paths to the egress switch with a single SELECT group whose buckets push the
path's MPLS label; transit switches switch on the label and the egress switch
pops it.  One hash stage means no polarisation (OVS hashes identically at every
hop, so per-hop groups would keep re-choosing the same bucket index).

TE tunnels (:mod:`controller.compile_te`) are built from the same :class:`Tunnel` and helpers,
with labels of their own range.
"""
from __future__ import annotations

from dataclasses import dataclass

import networkx as nx

from te.ecmp import equal_cost_paths as te_equal_cost_paths
from te.errors import NoPath

from .pipeline import COOKIE_TUNNEL, PRIO_TUNNEL, TABLE_FABRIC, TABLE_ROUTE
from .specs import ETH_TYPE_IPV4, ETH_TYPE_MPLS, Bucket, FlowSpec, Output, PopMpls, PushMpls, SetField, match

@dataclass(frozen=True)
class Tunnel:
    """One path from an ingress to an egress switch.

    ``hops`` is ``((dpid, out_port), ...)`` for every switch but the egress.
    """

    label: int
    hops: tuple
    egress: int

    @property
    def ingress(self) -> int:
        return self.hops[0][0]

    @property
    def first_port(self) -> int:
        return self.hops[0][1]

    @property
    def transit(self) -> tuple:
        """``(dpid, out_port)`` of the switches between ingress and egress."""
        return self.hops[1:]

    @property
    def dpids(self) -> tuple:
        return tuple(d for d, _ in self.hops) + (self.egress,)


def equal_cost_paths(adjacency: dict, src: int, dst: int, max_paths: int, graph=None) -> list:
    """All shortest (fewest-hop) switch paths from ``src`` to ``dst``, at most ``max_paths``.

    Parameters
    ----------
    adjacency : dict
        ``{(a, b): out_port_on_a}`` for every usable directed link.
    src, dst : int
        Ingress and egress dpids (different).
    max_paths : int
        Keep the first ``max_paths`` paths in sorted order (deterministic).
    graph : networkx.DiGraph, optional
        ``adjacency`` as a graph, when the caller already built it (see :func:`te.ecmp.equal_cost_paths`).

    Returns
    -------
    list of tuple
        Paths as tuples of ``(dpid, out_port)`` hops (egress not included),
        sorted; empty if ``dst`` is unreachable.

    Examples
    --------
    >>> adj = {(1, 2): 1, (2, 4): 2, (1, 3): 2, (3, 4): 2}
    >>> equal_cost_paths(adj, 1, 4, 8)
    [((1, 1), (2, 2)), ((1, 2), (3, 2))]
    """
    g = graph if graph is not None else nx.DiGraph(list(adjacency))
    if src not in g or dst not in g:
        return []
    try:
        paths = te_equal_cost_paths(g, src, dst, limit=max_paths)
    except NoPath:
        return []
    return [tuple((a, adjacency[(a, b)]) for a, b in zip(p, p[1:])) for p in paths]


class TunnelPlanner:
    """Tunnels for a set of (ingress, egress) switch pairs, labels stable per path, bucket positions stable per pair.

    ``labels`` is the :class:`controller.ids.IdAllocator` of ECMP labels (keyed by ``(hops, egress)``).

    Open vSwitch picks a SELECT bucket per flow by bucket position: by highest random weight over
    the bucket ids (with OpenFlow 1.3 a bucket's id is its position), or, with the ``dp_hash``
    selection of OVS 2.10 and later, through a table of hash values to buckets built from the
    buckets in order. Dropping a failed path's bucket would shift the positions after it, or rebuild
    that table, and move flows of surviving paths too (tests/e2e/test_resilient_ecmp.py measures it).
    So each pair keeps ``slots``: one ``(owner, current)`` path key per bucket position. A failed owner's slot is lent
    to the surviving path with the fewest slots (ties: sorted order) and given back when the owner
    returns; only the flows of the failed path move, and back. New equal-cost paths get slots
    appended, up to ``max_paths``. When no owner survives (the shortest path length changed), the
    slots start afresh. Labels are kept for owners while they are down, so a returning path comes
    back with its old label and the group is exactly as before the failure.

    >>> from controller.ids import IdAllocator
    >>> adj = {(1, 2): 1, (2, 4): 2, (1, 3): 2, (3, 4): 2, (1, 5): 3, (5, 4): 2}
    >>> planner = TunnelPlanner(IdAllocator(16, 99))
    >>> [t.label for t in planner.plan(adj, [(1, 4)])[(1, 4)]]
    [16, 17, 18]
    >>> down = {arc: p for arc, p in adj.items() if arc != (2, 4)}
    >>> [t.label for t in planner.plan(down, [(1, 4)])[(1, 4)]]  # slot 0 lent to path 17
    [17, 17, 18]
    >>> [t.label for t in planner.plan(adj, [(1, 4)])[(1, 4)]]
    [16, 17, 18]
    """

    def __init__(self, labels, max_paths: int = 16):
        self.max_paths = max_paths
        self.labels = labels
        # (ingress, egress) -> tuple of (owner, current) path keys, one per bucket; owner None: unknown (adopted)
        self.slots: dict = {}

    def plan(self, adjacency: dict, pairs, avoid=frozenset()) -> dict:
        """``{(ingress, egress): tuple of Tunnel}`` for every pair with a path (pairs without one are left out).

        A pair's tunnels are its bucket slots in order, so a path may appear more than once.
        Switches in ``avoid`` are never transit (they may be a pair's ends).
        """
        result: dict = {}
        slots: dict = {}
        graph = nx.DiGraph(list(adjacency))
        for src, dst in sorted(set(pairs)):
            g = nx.restricted_view(graph, set(avoid) - {src, dst}, []) if avoid else graph
            live = [(hops, dst) for hops in equal_cost_paths(adjacency, src, dst, self.max_paths, g)]
            if live:
                slots[(src, dst)] = reslot(self.slots.get((src, dst), ()), live, self.max_paths)
                result[(src, dst)] = tuple(Tunnel(self.labels.get(cur), cur[0], dst) for _, cur in slots[(src, dst)])
        self.slots = slots
        self.labels.retain({key for ss in slots.values() for slot in ss for key in slot if key is not None})
        return result

    def adopt(self, groups: dict) -> None:
        """Slots from the buckets a restarted controller finds on the switches: ``{(ingress, egress): keys}``
        with one path key per bucket, in bucket order (:attr:`controller.ids.IdHints.ecmp_slots`).

        Which path owned a lent slot is not on the switches: a repeated path owns its first slot only,
        and a path that returns takes the unowned slots first (before any is appended).

        >>> planner = TunnelPlanner(None)
        >>> planner.adopt({(1, 4): ["b", "b", "c"]}); planner.slots
        {(1, 4): (('b', 'b'), (None, 'b'), ('c', 'c'))}
        """
        for pair, keys in groups.items():
            self.slots[pair] = tuple((None if key in keys[:i] else key, key) for i, key in enumerate(keys))


def reslot(slots, live: list, max_paths: int) -> tuple:
    """A pair's ``(owner, current)`` slots for the equal-cost paths ``live`` (sorted), from its previous ``slots``.

    >>> fresh = reslot((), ["a", "b", "c"], 4); fresh
    (('a', 'a'), ('b', 'b'), ('c', 'c'))
    >>> lent = reslot(fresh, ["b", "c"], 4); lent  # a fails: its slot goes to b (as few slots as c, sorted first)
    (('a', 'b'), ('b', 'b'), ('c', 'c'))
    >>> reslot(lent, ["c"], 4)  # b fails too: both its slot and the one it borrowed go to c
    (('a', 'c'), ('b', 'c'), ('c', 'c'))
    >>> reslot(lent, ["a", "b", "c", "d"], 4)  # a is back, d is new
    (('a', 'a'), ('b', 'b'), ('c', 'c'), ('d', 'd'))
    >>> reslot(lent, ["x", "y"], 4)  # no owner survives: afresh
    (('x', 'x'), ('y', 'y'))
    """
    alive = set(live)
    if not any(owner in alive for owner, _ in slots):
        return tuple((key, key) for key in live[:max_paths])
    slots = [list(slot) for slot in slots[:max_paths]]
    owners = {owner for owner, _ in slots}
    new = [key for key in live if key not in owners]
    for slot in slots:  # owners back home; unowned slots (adopted after a restart) go to new paths first
        if slot[0] is None and new:
            slot[0] = new.pop(0)
        if slot[0] in alive:
            slot[1] = slot[0]
    slots += [[key, key] for key in new[:max_paths - len(slots)]]
    count = {key: 0 for key in live}
    for _, current in slots:
        if current in alive:
            count[current] += 1
    rank = {key: i for i, key in enumerate(live)}
    for slot in slots:  # a lent slot stays with its borrower while that lives: its flows do not move again
        if slot[1] not in alive:
            slot[1] = min(live, key=lambda key: (count[key], rank[key]))
            count[slot[1]] += 1
    return tuple(tuple(slot) for slot in slots)


def tunnel_flows(tunnel: Tunnel, flow_cookie: int = COOKIE_TUNNEL) -> list:
    """Label switching on the transit switches and the pop on the egress switch of one tunnel."""
    label = match(eth_type=ETH_TYPE_MPLS, mpls_label=tunnel.label)
    flows = [
        FlowSpec(dpid, TABLE_FABRIC, PRIO_TUNNEL, label, (Output(port),), cookie=flow_cookie)
        for dpid, port in tunnel.transit
    ]
    flows.append(FlowSpec(tunnel.egress, TABLE_FABRIC, PRIO_TUNNEL, label, (PopMpls(ETH_TYPE_IPV4),),
                          goto_table=TABLE_ROUTE, cookie=flow_cookie))
    return flows


def tunnel_bucket(tunnel: Tunnel, weight: int = 1, watch: bool = False) -> Bucket:
    """The SELECT bucket that sends a packet into ``tunnel`` at its ingress: push the label, output.

    ``watch``: the bucket watches the tunnel's first port, so that when that link goes down the ingress
    switch stops choosing it at once and spreads the traffic over the group's live buckets in proportion
    to their weights (OVS skips dead buckets of SELECT groups), before the controller acts.
    """
    return Bucket((PushMpls(ETH_TYPE_MPLS), SetField("mpls_label", tunnel.label), Output(tunnel.first_port)), weight,
                  tunnel.first_port if watch else None)
