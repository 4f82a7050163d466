"""Turn a network description (a networkx graph) into a Mininet topology.

A *description* is an undirected :class:`networkx.Graph`:

- switch nodes: ``kind="switch"``, ``dpid`` (int), optional ``layer``/``pod``;
- host nodes: ``kind="host"``, ``ip`` (``"10.0.0.N/8"`` form without prefix is
  also accepted), ``mac``;
- edges: ``capacity`` in bit/s, the speed Mininet emulates (``TCLink`` ``bw``);
  :class:`GraphTopo` adds ``ports`` (``{node: port number}``), the ports Mininet gives
  the link, so the controller knows where every host is before it sends anything.

The same description is written as the topology file the controller reads
(networkx node-link JSON), because Open vSwitch cannot tell a veth's speed.
"""
import json

import networkx as nx

try:  # Mininet is only needed to build a network, not to describe one.
    from mininet.topo import Topo
except ImportError:  # pragma: no cover - Mininet is installed by scripts/setup.sh
    Topo = object

# Hosts get a smaller MTU so that a pushed VLAN tag or MPLS label still fits
# the 1500-byte veths between switches (OVS drops oversize frames silently).
HOST_MTU = 1450


def host_ip(n):
    """Return the address of the n-th host (1-based) in 10.0.0.0/8.

    >>> host_ip(1), host_ip(300)
    ('10.0.0.1', '10.0.1.44')
    """
    if not 1 <= n < 2**24 - 1:
        raise ValueError(f"host number {n} out of range")
    return f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"


def host_mac(n):
    """Return the MAC address of the n-th host (1-based).

    >>> host_mac(1), host_mac(300)
    ('00:00:00:00:00:01', '00:00:00:00:01:2c')
    """
    return ":".join(f"{(n >> (8 * i)) & 255:02x}" for i in range(5, -1, -1))


def dpid_str(dpid):
    """Mininet's form of a datapath id: 16 hex digits.

    >>> dpid_str(0x1001)
    '0000000000001001'
    """
    return f"{dpid:016x}"


def add_hosts(graph, switch_of_host):
    """Add hosts ``h1..hN`` to ``graph``, host i attached to ``switch_of_host[i-1]``.

    Each host gets :func:`host_ip` and :func:`host_mac` of its number and a
    link with the capacity given as ``graph.graph["host_capacity"]``.
    """
    capacity = graph.graph["host_capacity"]
    for n, switch in enumerate(switch_of_host, start=1):
        name = f"h{n}"
        graph.add_node(name, kind="host", ip=host_ip(n), mac=host_mac(n))
        graph.add_edge(name, switch, capacity=capacity)


def validate_description(graph):
    """Check a description before Mininet sees it; raise ValueError naming the problem.

    Catches what Mininet would otherwise turn into confusing failures:
    duplicate dpids, interface names over 15 characters, missing capacities.
    """
    dpids = {}
    for node, data in graph.nodes(data=True):
        kind = data.get("kind")
        if kind not in ("switch", "host"):
            raise ValueError(f"node {node!r}: kind must be 'switch' or 'host', not {kind!r}")
        if kind == "switch":
            dpid = data.get("dpid")
            if not isinstance(dpid, int) or not 0 < dpid < 2**64:
                raise ValueError(f"switch {node!r}: dpid must be a positive 64-bit int, not {dpid!r}")
            if dpid in dpids:
                raise ValueError(f"switches {dpids[dpid]!r} and {node!r} share dpid {dpid}")
            dpids[dpid] = node
        # Interface names are <node>-eth<port>; Linux allows 15 characters.
        if len(f"{node}-eth{graph.degree(node)}") > 15:
            raise ValueError(f"node name {node!r} is too long for Linux interface names")
    for u, v, data in graph.edges(data=True):
        cap = data.get("capacity")
        if not isinstance(cap, (int, float)) or not cap > 0:
            raise ValueError(f"link {u}-{v}: capacity must be a positive number of bit/s, not {cap!r}")


def write_description(graph, path):
    """Write ``graph`` as networkx node-link JSON (the controller's topology file)."""
    data = nx.node_link_data(graph, edges="links")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=1, sort_keys=True)
        f.write("\n")


def assign_ports(graph):
    """Number every node's link ends in the order the links are built: switch ports from 1, host ports from 0.

    Sets each edge's ``ports`` to ``{node: port}`` (what Mininet then uses, and what the topology
    file tells the controller).

    >>> g = nx.Graph()
    >>> g.add_node("s1", kind="switch"); g.add_node("s2", kind="switch"); g.add_node("h1", kind="host")
    >>> g.add_edge("h1", "s1"); g.add_edge("s1", "s2")
    >>> assign_ports(g)
    >>> g.edges["s1", "s2"]["ports"], g.edges["h1", "s1"]["ports"]
    ({'s1': 1, 's2': 1}, {'s1': 2, 'h1': 0})
    """
    used = {}
    for u, v, data in sorted(graph.edges(data=True), key=lambda e: _edge_order(graph, e)):
        ports = {}
        for node in (u, v):
            base = 0 if graph.nodes[node]["kind"] == "host" else 1
            ports[node] = used.get(node, base)
            used[node] = ports[node] + 1
        data["ports"] = ports


class GraphTopo(Topo):
    """A Mininet ``Topo`` built from a description graph.

    Subclasses implement :meth:`describe` and return the description; links
    get ``bw`` in Mbit/s from each edge's ``capacity``.
    """

    def build(self, **params):
        self.graph = self.describe(**params)
        validate_description(self.graph)
        for node, data in sorted(self.graph.nodes(data=True), key=_node_order):
            if data["kind"] == "switch":
                self.addSwitch(node, dpid=dpid_str(data["dpid"]), protocols="OpenFlow13")
            else:
                self.addHost(node, ip=data["ip"] + "/8", mac=data["mac"])
        assign_ports(self.graph)
        for u, v, data in sorted(self.graph.edges(data=True), key=lambda e: _edge_order(self.graph, e)):
            opts = {"bw": data["capacity"] / 1e6, "port1": data["ports"][u], "port2": data["ports"][v]}
            if self.graph.nodes[u]["kind"] == "host":
                opts["params1"] = {"ifconfig": f"mtu {HOST_MTU}"}
            elif self.graph.nodes[v]["kind"] == "host":
                opts["params2"] = {"ifconfig": f"mtu {HOST_MTU}"}
            self.addLink(u, v, **opts)

    def describe(self, **params):  # pragma: no cover - abstract
        raise NotImplementedError

    def write_topology_file(self, path):
        """Write the topology file the controller reads (see :func:`write_description`)."""
        write_description(self.graph, path)


def _natural(name):
    head = name.rstrip("0123456789")
    tail = name[len(head):]
    return (head, int(tail) if tail else -1, name)


def _node_order(item):
    node, data = item
    return (data["kind"] != "switch", _natural(str(node)))


def _edge_order(graph, edge):
    # Host links last so that switch ports 1..n face the fabric in a stable order.
    u, v, _ = edge
    return (graph.nodes[u]["kind"] == "host" or graph.nodes[v]["kind"] == "host", _natural(str(u)), _natural(str(v)))
