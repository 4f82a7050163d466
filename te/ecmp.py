"""Equal-cost multipath: the equal-cost paths of a pair, and the per-flow hash that picks one.

The hash is the one the controller uses to pin a flow to a path, so offline evaluation
(:mod:`te.flowsim`) and the running network put every flow on the same path. It is defined on
bytes (BLAKE2b, see :func:`flow_hash`) so it is the same in every process and on every machine,
unlike Python's salted :func:`hash`.
"""
from __future__ import annotations

import hashlib
import ipaddress
from bisect import bisect_right
from itertools import accumulate

import networkx as nx

from te.errors import InvalidInput, NoPath

__all__ = ["equal_cost_paths", "flow_hash", "pick_path"]


def equal_cost_paths(graph, src, dst, weight="weight", limit=None):
    """All shortest paths from ``src`` to ``dst``, sorted by their node tuples.

    Parameters
    ----------
    graph : networkx.DiGraph
    src, dst : node
    weight : str, default "weight"
        Arc attribute holding the (non-negative) path cost; an arc without it costs 1.
        Costs tie only when they are exactly equal, so use integers or other exactly
        representable values.
    limit : int, optional
        Return at most this many paths: the first ones in sorted order.

    Returns
    -------
    list of tuple
        Node tuples, lexicographically sorted; ``[(src,)]`` when ``src == dst``.

    Raises
    ------
    te.errors.InvalidInput
        ``src`` or ``dst`` is not in the graph, or ``limit < 1``.
    te.errors.NoPath
        ``dst`` is not reachable from ``src``.

    Notes
    -----
    Paths are enumerated depth first over the shortest-path DAG (networkx's Dijkstra
    predecessors), children in sorted order, so the output is sorted without generating
    every path first: with ``limit`` the cost is ``O(limit * path length)`` after Dijkstra,
    even in a fat-tree whose pairs have many equal-cost paths.

    Examples
    --------
    >>> g = nx.DiGraph([("a", "c"), ("c", "d"), ("a", "b"), ("b", "d"), ("a", "d")])
    >>> g["a"]["d"]["weight"] = 2
    >>> equal_cost_paths(g, "a", "d")
    [('a', 'b', 'd'), ('a', 'c', 'd'), ('a', 'd')]
    >>> equal_cost_paths(g, "a", "d", limit=1)
    [('a', 'b', 'd')]
    >>> equal_cost_paths(g, "d", "a")
    Traceback (most recent call last):
    ...
    te.errors.NoPath: no path from 'd' to 'a'
    """
    for node in (src, dst):
        if node not in graph:
            raise InvalidInput(f"unknown node {node!r}")
    if limit is not None and limit < 1:
        raise InvalidInput(f"limit must be >= 1, got {limit}")
    pred, _ = nx.dijkstra_predecessor_and_distance(graph, src, weight=weight)
    if dst not in pred:
        raise NoPath(f"no path from {src!r} to {dst!r}")
    succ = _shortest_path_successors(pred, dst)
    paths = []
    stack = [(src,)]
    while stack and (limit is None or len(paths) < limit):
        path = stack.pop()
        if path[-1] == dst:
            paths.append(path)
            continue
        # Pushed in reverse so that the smallest successor is expanded first.
        stack.extend(path + (v,) for v in sorted(succ[path[-1]], reverse=True) if v not in path)
    return paths


def _shortest_path_successors(pred, dst):
    """Successor lists of the arcs that lie on some shortest path ending at ``dst``."""
    succ = {dst: []}
    todo = [dst]
    while todo:
        v = todo.pop()
        for u in pred[v]:
            if u not in succ:
                succ[u] = []
                todo.append(u)
            succ[u].append(v)
    return succ


def flow_hash(src_ip, dst_ip, proto, sport, dport, basis=0):
    """A 32-bit hash of a 5-tuple, the same in both directions of the flow.

    Like Open vSwitch's ``symmetric_l4`` hash it does not change when the addresses are
    swapped or when the ports are swapped, so a flow and its replies take the same path.
    Unlike XOR-ing the two sides, it keeps both values of each pair.

    Parameters
    ----------
    src_ip, dst_ip : str or ipaddress.IPv4Address or ipaddress.IPv6Address
        Both of the same IP version.
    proto : int
        IP protocol number, 0 to 255.
    sport, dport : int
        Transport ports, 0 to 65535 (0 for protocols without ports).
    basis : int, default 0
        Unsigned 32-bit seed; switches (or experiments) using different bases spread the
        same flows differently.

    Returns
    -------
    int
        ``int.from_bytes(blake2b(m, digest_size=4).digest(), "big")`` where ``m`` is the
        lower then the higher packed address, ``proto`` as one byte, the lower then the
        higher port as two big-endian bytes each, and ``basis`` as four big-endian bytes.

    Raises
    ------
    te.errors.InvalidInput
        An address that does not parse, mixed IP versions, or a number out of range.

    Examples
    --------
    >>> h = flow_hash("10.0.0.1", "10.0.0.2", 6, 40000, 80)
    >>> h == flow_hash("10.0.0.2", "10.0.0.1", 6, 80, 40000)
    True
    >>> 0 <= h < 2**32
    True
    """
    try:
        a, b = ipaddress.ip_address(src_ip), ipaddress.ip_address(dst_ip)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    if a.version != b.version:
        raise InvalidInput(f"addresses of different IP versions: {src_ip!r} and {dst_ip!r}")
    for name, value, bits in (("proto", proto, 8), ("sport", sport, 16), ("dport", dport, 16),
                              ("basis", basis, 32)):
        if not 0 <= value < 2**bits or int(value) != value:
            raise InvalidInput(f"{name} must be an integer in [0, {2**bits - 1}], got {value!r}")
    lo_ip, hi_ip = sorted((a.packed, b.packed))
    lo_port, hi_port = sorted((int(sport), int(dport)))
    message = b"".join((lo_ip, hi_ip, int(proto).to_bytes(1, "big"), lo_port.to_bytes(2, "big"),
                        hi_port.to_bytes(2, "big"), int(basis).to_bytes(4, "big")))
    return int.from_bytes(hashlib.blake2b(message, digest_size=4).digest(), "big")


def pick_path(paths, five_tuple, weights=None, basis=0):
    """Index of the path a flow takes: its hash modulo the total weight, into cumulative weights.

    Parameters
    ----------
    paths : sequence
        The candidate paths (only their number matters).
    five_tuple : tuple
        ``(src_ip, dst_ip, proto, sport, dport)``, as for :func:`flow_hash`.
    weights : sequence of int, optional
        Integer bucket weights, one per path (WCMP, see :func:`te.wcmp.quantize_weights`);
        a path of weight 0 is never chosen. Default: all 1 (ECMP).
    basis : int, default 0
        Hash seed, see :func:`flow_hash`.

    Returns
    -------
    int
        Path ``i`` is chosen for ``weights[i]`` of every ``sum(weights)`` hash values.

    Raises
    ------
    te.errors.InvalidInput
        No paths; weights of another length, negative, not integers, or all 0.

    Examples
    --------
    >>> paths = [("a", "b", "d"), ("a", "c", "d")]
    >>> flow = ("10.0.0.1", "10.0.0.2", 6, 40000, 80)
    >>> pick_path(paths, flow) in (0, 1)
    True
    >>> pick_path(paths, flow, weights=[0, 3])
    1
    """
    if len(paths) == 0:
        raise InvalidInput("no paths to choose from")
    if weights is None:
        weights = [1] * len(paths)
    if len(weights) != len(paths):
        raise InvalidInput(f"{len(weights)} weights for {len(paths)} paths")
    if any(w < 0 or int(w) != w for w in weights) or sum(weights) == 0:
        raise InvalidInput(f"weights must be integers >= 0, not all 0, got {list(weights)}")
    cumulative = list(accumulate(int(w) for w in weights))
    return bisect_right(cumulative, flow_hash(*five_tuple, basis=basis) % cumulative[-1])
