"""Equal-cost paths as labelled tunnels, with labels that stay put across recomputation.

ECMP is path-based: the ingress switch picks one of the equal-cost shortest
paths to the egress switch with a single SELECT group whose buckets push the
path's MPLS label; transit switches switch on the label and the egress switch
pops it.  One hash stage means no polarisation (OVS hashes identically at every
hop, so per-hop groups would keep re-choosing the same bucket index).
"""
from __future__ import annotations

from dataclasses import dataclass
import networkx as nx

from te.ecmp import equal_cost_paths as te_equal_cost_paths
from te.errors import NoPath

MPLS_LABEL_MIN = 16  # 0-15 are reserved
MPLS_LABEL_MAX = (1 << 20) - 1
# ECMP tunnels take the lower half of the labels, TE tunnels (controller.compile_te) the upper half.
TE_LABEL_MIN = 1 << 19


class IdAllocator:
    """Stable small integers for hashable keys.

    A key keeps its id for as long as it is in use; fresh keys get ids that
    were not handed out recently (ids are not reused until the range wraps),
    so a label or group id of a removed entry never aliases a new one while
    the old entry may still be on a switch.
    """

    def __init__(self, first: int, last: int):
        self.first, self.last = first, last
        self._ids: dict = {}
        self._used: set = set()  # the values of _ids, kept so that a fresh id costs O(1) on average
        self._next = first

    def __contains__(self, key) -> bool:
        return key in self._ids

    def get(self, key) -> int:
        if key not in self._ids:
            value = self._fresh()
            self._ids[key] = value
            self._used.add(value)
        return self._ids[key]

    def adopt(self, key, value: int) -> bool:
        """Give ``key`` the id ``value`` (found on a switch after a restart) if both are free; True if it did.

        Fresh ids continue after the highest adopted one, as they would have before the restart.

        >>> ids = IdAllocator(1, 10)
        >>> ids.adopt("a", 4), ids.adopt("b", 4), ids.get("c")
        (True, False, 5)
        """
        if key in self._ids or value in self._used or not self.first <= value <= self.last:
            return False
        self._ids[key] = value
        self._used.add(value)
        if value >= self._next:
            self._next = value + 1 if value < self.last else self.first
        return True

    def lookup(self, key) -> int | None:
        """The id of ``key``, None if it has none (without handing one out)."""
        return self._ids.get(key)

    def retain(self, keys) -> None:
        """Forget every key not in ``keys``."""
        keep = set(keys)
        self._ids = {k: v for k, v in self._ids.items() if k in keep}
        self._used = set(self._ids.values())

    def _fresh(self) -> int:
        used = self._used
        span = self.last - self.first + 1
        if len(used) >= span:
            raise RuntimeError(f"all ids {self.first}..{self.last} are in use")
        while self._next in used:
            self._next = self._next + 1 if self._next < self.last else self.first
        value = self._next
        self._next = value + 1 if value < self.last else self.first
        return value


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
    """Tunnels for a set of (ingress, egress) switch pairs, labels stable per path."""

    def __init__(self, max_paths: int = 16):
        self.max_paths = max_paths
        self.labels = IdAllocator(MPLS_LABEL_MIN, TE_LABEL_MIN - 1)

    def plan(self, adjacency: dict, pairs) -> dict:
        """``{(ingress, egress): tuple of Tunnel}`` for every pair with a path (pairs without one are left out)."""
        result: dict = {}
        in_use = []
        graph = nx.DiGraph(list(adjacency))
        for src, dst in sorted(set(pairs)):
            tunnels = []
            for hops in equal_cost_paths(adjacency, src, dst, self.max_paths, graph):
                key = (hops, dst)
                in_use.append(key)
                tunnels.append(Tunnel(self.labels.get(key), hops, dst))
            if tunnels:
                result[(src, dst)] = tuple(tunnels)
        self.labels.retain(in_use)
        return result
