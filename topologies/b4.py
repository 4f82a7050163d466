"""Google's B4 WAN: 12 sites, 19 links, one host per site.

Use from Python (``B4Topo(bw=10)``) or with Mininet's CLI::

    mn --custom topologies/b4.py --topo b4,bw=10 \\
       --switch ovs,datapath=user,protocols=OpenFlow13 --controller remote --link tcu

Switch ``s<i>`` (dpid i) is site i; host ``h<i>`` (10.0.0.i) hangs off it.
"""
import sys

if globals().get("__package__") != "topologies":  # executed by `mn --custom`
    sys.path.insert(0, __import__("os").path.dirname(sys._getframe(0).f_code.co_filename))
    __import__("mnboot").prepare(sys._getframe(0).f_code.co_filename)

import networkx as nx  # noqa: E402

from topologies.base import GraphTopo, add_hosts  # noqa: E402

# The 19 B4 links between sites (1-based), as in ../shared/data/b4 (teal_B4.json,
# yates_b4.dot, teavar_B4_topology.txt: the same graph, from harvard-cns/teal,
# cornell-netlab/yates and manyaghobadi/teavar). tests/unit/test_topologies.py
# checks this list against those files when they are present.
B4_LINKS = (
    (1, 2), (1, 3), (2, 5), (3, 4), (3, 6), (4, 5), (4, 7), (4, 8), (5, 6), (6, 7),
    (6, 8), (7, 8), (7, 11), (8, 10), (9, 10), (9, 11), (10, 11), (10, 12), (11, 12),
)
B4_SITES = 12


def b4_graph(bw=10):
    """Describe B4 with every link (and host link) at ``bw`` Mbit/s.

    >>> g = b4_graph(bw=10)
    >>> sum(1 for _, d in g.nodes(data=True) if d["kind"] == "switch"), g.number_of_edges()
    (12, 31)
    >>> g.nodes["s7"]["dpid"], g.nodes["h7"]["ip"], g.edges["s7", "s11"]["capacity"]
    (7, '10.0.0.7', 10000000.0)
    """
    capacity = float(bw) * 1e6
    graph = nx.Graph(name="b4", host_capacity=capacity)
    for site in range(1, B4_SITES + 1):
        graph.add_node(f"s{site}", kind="switch", dpid=site, layer="wan")
    for a, b in B4_LINKS:
        graph.add_edge(f"s{a}", f"s{b}", capacity=capacity)
    add_hosts(graph, [f"s{site}" for site in range(1, B4_SITES + 1)])
    return graph


class B4Topo(GraphTopo):
    """Mininet topology of B4; ``bw`` is every link's speed in Mbit/s."""

    def describe(self, bw=10):
        return b4_graph(bw=bw)


topos = {"b4": B4Topo}
