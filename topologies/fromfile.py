"""Any topology file the TE engine reads, as a Mininet network.

Reads networkx node-link JSON, Topology Zoo GraphML or Repetita ``.graph``
through :func:`te.io.read_topology` and scales link capacities so that the
fastest link runs at ``bw`` Mbit/s (others proportionally)::

    mn --custom topologies/fromfile.py \\
       --topo fromfile,path=../shared/data/topologyzoo/Abilene.graphml,bw=20,default_capacity=1e9 \\
       --switch ovs,datapath=user,protocols=OpenFlow13 --controller remote --link tcu

Switch ``s<i>`` (dpid i) is the i-th node in the file's sorted order, with one
host ``h<i>`` (10.0.0.i); the file's own node id is kept as attribute
``label``. The topology file written for the controller carries the emulated
(scaled) capacities, since those are what the emulated network really has.
"""
import sys

if globals().get("__package__") != "topologies":  # executed by `mn --custom`
    sys.path.insert(0, __import__("os").path.dirname(sys._getframe(0).f_code.co_filename))
    __import__("mnboot").prepare(sys._getframe(0).f_code.co_filename)

import networkx as nx  # noqa: E402

from topologies.base import GraphTopo, add_hosts  # noqa: E402

# tc cannot shape much below this; a link scaled under it is raised to it.
MIN_BW_MBPS = 0.1


def file_graph(path, bw=10, default_capacity=None, min_bw=MIN_BW_MBPS):
    """Describe the network in ``path`` with the fastest link at ``bw`` Mbit/s.

    A pair of opposite arcs becomes one Mininet link at the smaller of their
    capacities (a Mininet link has one speed). ``default_capacity`` (bit/s)
    is given to links the file has no capacity for.

    Raises
    ------
    te.errors.TEError
        When the file is missing or malformed (the message names the problem).
    """
    from te.io import read_topology  # te imports scipy; only needed here

    directed = read_topology(path, default_capacity_bps=default_capacity)
    nodes = sorted(directed.nodes, key=_sort_key)
    index = {node: i for i, node in enumerate(nodes, start=1)}
    capacity = {}
    for u, v, data in directed.edges(data=True):
        if u == v:
            continue
        key = tuple(sorted((index[u], index[v])))
        capacity[key] = min(capacity.get(key, float("inf")), float(data["capacity"]))
    if not capacity:
        raise ValueError(f"{path}: no links between distinct nodes")
    fastest = max(capacity.values())
    scale = float(bw) * 1e6 / fastest
    graph = nx.Graph(name=str(path), host_capacity=float(bw) * 1e6, scale=scale)
    for node, i in index.items():
        # Keep the file's coordinates: plots and the dashboard draw maps with them.
        coords = {k: directed.nodes[node][k] for k in ("Latitude", "Longitude") if k in directed.nodes[node]}
        graph.add_node(f"s{i}", kind="switch", dpid=i, label=str(node), **coords)
    for (a, b), cap in sorted(capacity.items()):
        emulated = max(cap * scale, min_bw * 1e6)
        graph.add_edge(f"s{a}", f"s{b}", capacity=emulated, file_capacity=cap)
    add_hosts(graph, [f"s{i}" for i in range(1, len(nodes) + 1)])
    return graph


def _sort_key(node):
    # Numeric ids ("2" before "10") in number order, names alphabetically.
    text = str(node)
    return (0, int(text), text) if text.isdigit() else (1, 0, text)


class FileTopo(GraphTopo):
    """Mininet topology from a TE topology file (see :func:`file_graph`)."""

    def describe(self, path, bw=10, default_capacity=None):
        return file_graph(path, bw=bw, default_capacity=default_capacity)


topos = {"fromfile": FileTopo}
