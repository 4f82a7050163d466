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
    """Tunnels for a set of (ingress, egress) switch pairs, labels stable per path.

    ``labels`` is the :class:`controller.ids.IdAllocator` of ECMP labels (keyed by ``(hops, egress)``).
    """

    def __init__(self, labels, max_paths: int = 16):
        self.max_paths = max_paths
        self.labels = labels

    def plan(self, adjacency: dict, pairs, avoid=frozenset()) -> dict:
        """``{(ingress, egress): tuple of Tunnel}`` for every pair with a path (pairs without one are left out).

        Switches in ``avoid`` are never transit (they may be a pair's ends).
        """
        result: dict = {}
        in_use = []
        graph = nx.DiGraph(list(adjacency))
        for src, dst in sorted(set(pairs)):
            tunnels = []
            g = nx.restricted_view(graph, set(avoid) - {src, dst}, []) if avoid else graph
            for hops in equal_cost_paths(adjacency, src, dst, self.max_paths, g):
                key = (hops, dst)
                in_use.append(key)
                tunnels.append(Tunnel(self.labels.get(key), hops, dst))
            if tunnels:
                result[(src, dst)] = tuple(tunnels)
        self.labels.retain(in_use)
        return result


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


def tunnel_bucket(tunnel: Tunnel, weight: int = 1) -> Bucket:
    """The SELECT bucket that sends a packet into ``tunnel`` at its ingress: push the label, output."""
    return Bucket((PushMpls(ETH_TYPE_MPLS), SetField("mpls_label", tunnel.label), Output(tunnel.first_port)), weight)
