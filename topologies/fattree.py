"""A k-ary fat-tree data-center fabric (Al-Fares et al.).

k pods of k/2 edge and k/2 aggregation switches, (k/2)^2 core switches and
k^3/4 hosts. Use from Python (``FatTreeTopo(k=4, bw=10)``) or::

    mn --custom topologies/fattree.py --topo fattree,k=4,bw=10 \\
       --switch ovs,datapath=user,protocols=OpenFlow13 --controller remote --link tcu

Names are short and dpids explicit (Mininet would otherwise derive colliding
dpids from the digits in names): core ``c<i>`` (dpid 0x1000+i), aggregation
``a<i>`` (0x2000+i), edge ``e<i>`` (0x3000+i), hosts ``h<n>`` (10.0.0.n).
"""
import sys

if globals().get("__package__") != "topologies":  # executed by `mn --custom`
    sys.path.insert(0, __import__("os").path.dirname(sys._getframe(0).f_code.co_filename))
    __import__("mnboot").prepare(sys._getframe(0).f_code.co_filename)

import random  # noqa: E402

import networkx as nx  # noqa: E402

from topologies.base import GraphTopo, add_hosts  # noqa: E402

CORE_DPID, AGG_DPID, EDGE_DPID = 0x1000, 0x2000, 0x3000


def fattree_graph(k=4, bw=10):
    """Describe a k-ary fat-tree with every link at ``bw`` Mbit/s.

    Aggregation switch j of a pod (0-based) connects to core switches
    ``j*k/2+1 .. (j+1)*k/2``; each edge switch to every aggregation switch
    of its pod and to k/2 hosts.

    >>> g = fattree_graph(k=4)
    >>> layers = [d.get("layer") for _, d in g.nodes(data=True)]
    >>> [layers.count(x) for x in ("core", "agg", "edge", None)]
    [4, 8, 8, 16]
    >>> sorted(n for n in g["a1"] if n.startswith("c")), sorted(g["e1"])
    (['c1', 'c2'], ['a1', 'a2', 'h1', 'h2'])
    """
    k = int(k)
    if k < 2 or k % 2:
        raise ValueError(f"fat-tree k must be an even number >= 2, not {k}")
    half = k // 2
    capacity = float(bw) * 1e6
    graph = nx.Graph(name=f"fattree{k}", host_capacity=capacity, k=k)
    for i in range(1, half * half + 1):
        graph.add_node(f"c{i}", kind="switch", dpid=CORE_DPID + i, layer="core")
    hosts_at = []
    for pod in range(k):
        aggs = [f"a{pod * half + j + 1}" for j in range(half)]
        edges = [f"e{pod * half + j + 1}" for j in range(half)]
        for j, agg in enumerate(aggs):
            graph.add_node(agg, kind="switch", dpid=AGG_DPID + pod * half + j + 1, layer="agg", pod=pod)
            for c in range(j * half + 1, (j + 1) * half + 1):
                graph.add_edge(agg, f"c{c}", capacity=capacity)
        for j, edge in enumerate(edges):
            graph.add_node(edge, kind="switch", dpid=EDGE_DPID + pod * half + j + 1, layer="edge", pod=pod)
            for agg in aggs:
                graph.add_edge(edge, agg, capacity=capacity)
            hosts_at += [edge] * half
    add_hosts(graph, hosts_at)
    for n in range(1, len(hosts_at) + 1):
        graph.nodes[f"h{n}"]["pod"] = (n - 1) // (half * half)
    return graph


def stride(step: int, hosts: int = 16) -> list:
    """Hedera's stride pattern: host i (0-based) sends to host i + step.

    >>> stride(4)[:2], stride(4)[-1]
    ([(0, 4), (1, 5)], (15, 3))
    """
    return [(i, (i + step) % hosts) for i in range(hosts)]


def random_permutation(seed: int, hosts: int = 16) -> list:
    """A seeded permutation without fixed points: every host sends to another one and receives one flow.

    >>> p = random_permutation(0)
    >>> sorted(d for _, d in p) == list(range(16)) and all(s != d for s, d in p)
    True
    """
    rng = random.Random(seed)
    while True:
        dst = list(range(hosts))
        rng.shuffle(dst)
        if all(i != d for i, d in enumerate(dst)):
            return list(enumerate(dst))


class FatTreeTopo(GraphTopo):
    """Mininet topology of a k-ary fat-tree; ``bw`` is every link's speed in Mbit/s."""

    def describe(self, k=4, bw=10):
        return fattree_graph(k=k, bw=bw)


topos = {"fattree": FatTreeTopo}
