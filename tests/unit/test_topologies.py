"""Unit tests of the topology descriptions (no Mininet network is started)."""
import json
from pathlib import Path

import networkx as nx
import pytest

from topologies.b4 import B4_LINKS, B4Topo, b4_graph
from topologies.base import HOST_MTU, validate_description, write_description
from topologies.fattree import FatTreeTopo, fattree_graph

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"


def switches(graph):
    return [n for n, d in graph.nodes(data=True) if d["kind"] == "switch"]


def hosts(graph):
    return [n for n, d in graph.nodes(data=True) if d["kind"] == "host"]


@pytest.mark.skipif(not (SHARED / "b4" / "teal_B4.json").exists(), reason="../shared/data/b4 not present")
def test_b4_links_match_the_published_b4_files():
    with open(SHARED / "b4" / "teal_B4.json") as f:
        teal = json.load(f)
    # Teal numbers sites from 0; every link appears once per direction.
    teal_links = {tuple(sorted((l["source"] + 1, l["target"] + 1))) for l in teal["links"]}
    assert teal_links == set(B4_LINKS)
    teavar = set()
    for line in (SHARED / "b4" / "teavar_B4_topology.txt").read_text().splitlines()[1:]:
        if line.strip():
            a, b = line.split()[:2]
            teavar.add(tuple(sorted((int(a), int(b)))))
    assert teavar == set(B4_LINKS)


def test_b4_description():
    g = b4_graph(bw=20)
    assert len(switches(g)) == 12 and len(hosts(g)) == 12
    assert g.subgraph(switches(g)).number_of_edges() == 19
    assert {g.nodes[s]["dpid"] for s in switches(g)} == set(range(1, 13))
    for i in range(1, 13):
        assert set(g[f"h{i}"]) == {f"s{i}"}
        assert g.nodes[f"h{i}"]["ip"] == f"10.0.0.{i}"
    assert all(d["capacity"] == 20e6 for _, _, d in g.edges(data=True))
    assert nx.is_connected(g)


@pytest.mark.parametrize("k", [2, 4, 6, 8])
def test_fattree_shape(k):
    g = fattree_graph(k=k)
    layers = nx.get_node_attributes(g, "layer")
    assert len(hosts(g)) == k**3 // 4
    assert len(switches(g)) == 5 * k * k // 4
    assert sum(1 for v in layers.values() if v == "core") == (k // 2) ** 2
    for node, layer in layers.items():
        neighbours = [layers.get(n, "host") for n in g[node]]
        if layer == "core":  # one aggregation switch in every pod
            assert sorted(g.nodes[n]["pod"] for n in g[node]) == list(range(k))
        elif layer == "agg":
            assert neighbours.count("core") == k // 2 and neighbours.count("edge") == k // 2
        else:
            assert neighbours.count("agg") == k // 2 and neighbours.count("host") == k // 2
    # k/2 * k/2 edge-disjoint... the classic property: (k/2)^2 shortest paths between pods.
    assert len(list(nx.all_shortest_paths(g, "h1", f"h{k**3 // 4}"))) == (k // 2) ** 2
    validate_description(g)


def test_fattree_rejects_odd_k():
    with pytest.raises(ValueError, match="even"):
        fattree_graph(k=3)


def test_validate_description_names_the_problem():
    g = b4_graph()
    g.nodes["s2"]["dpid"] = 1
    with pytest.raises(ValueError, match="share dpid 1"):
        validate_description(g)
    g = b4_graph()
    g.edges["s1", "s2"]["capacity"] = 0
    with pytest.raises(ValueError, match="s1-s2"):
        validate_description(g)
    g = b4_graph()
    g.add_node("averyveryverylongname", kind="host", ip="10.0.0.99", mac="00:00:00:00:00:99")
    with pytest.raises(ValueError, match="too long"):
        validate_description(g)


def test_mininet_topo_carries_dpids_bandwidth_and_host_mtu():
    topo = FatTreeTopo(k=4, bw=15)
    assert topo.nodeInfo("c1")["dpid"] == "0000000000001001"
    assert topo.nodeInfo("e8")["dpid"] == "0000000000003008"
    assert topo.nodeInfo("h16")["ip"] == "10.0.0.16/8"
    info = topo.linkInfo("e1", "h1")
    assert info["bw"] == 15
    host_side = info["params1"] if info["node1"] == "h1" else info["params2"]
    assert host_side == {"ifconfig": f"mtu {HOST_MTU}"}
    assert topo.linkInfo("a1", "c1")["bw"] == 15 and "params1" not in topo.linkInfo("a1", "c1")


def test_topology_file_round_trips(tmp_path):
    topo = B4Topo(bw=10)
    path = tmp_path / "b4.json"
    topo.write_topology_file(path)
    data = json.loads(path.read_text())
    assert data["directed"] is False
    g = nx.node_link_graph(data, edges="links")
    assert nx.utils.graphs_equal(g, topo.graph)


REPETITA = SHARED / "repetita" / "2016TopologyZooUCL_inverseCapacity"


@pytest.mark.skipif(not (REPETITA / "Geant2012.graph").exists(), reason="../shared/data/repetita not present")
def test_file_topology_scales_the_fastest_link_to_bw():
    from te.io import read_topology
    from topologies.fromfile import file_graph

    original = read_topology(REPETITA / "Geant2012.graph")
    g = file_graph(REPETITA / "Geant2012.graph", bw=20)
    validate_description(g)
    assert len(switches(g)) == original.number_of_nodes() and len(hosts(g)) == len(switches(g))
    fastest = max(d["capacity"] for _, _, d in original.edges(data=True))
    for u, v, d in g.edges(data=True):
        if g.nodes[u]["kind"] == g.nodes[v]["kind"] == "switch":
            a, b = g.nodes[u]["label"], g.nodes[v]["label"]
            file_cap = min(original.edges[a, b]["capacity"], original.edges[b, a]["capacity"])
            assert d["file_capacity"] == file_cap
            assert d["capacity"] == pytest.approx(max(file_cap / fastest * 20e6, 0.1e6))
    assert max(d["capacity"] for _, _, d in g.edges(data=True)) == pytest.approx(20e6)


@pytest.mark.skipif(not (SHARED / "topologyzoo" / "Abilene.graphml").exists(), reason="../shared/data not present")
def test_file_topology_needs_a_default_capacity_for_links_without_speed():
    from te.errors import TEError
    from topologies.fromfile import file_graph

    with pytest.raises(TEError, match="LinkSpeedRaw"):
        file_graph(SHARED / "topologyzoo" / "Abilene.graphml")
    g = file_graph(SHARED / "topologyzoo" / "Abilene.graphml", bw=10, default_capacity=1e9)
    assert {g.nodes[s]["label"] for s in switches(g)} == {str(i) for i in range(len(switches(g)))}
    assert all("Latitude" in g.nodes[s] for s in switches(g))


def test_lab_ports_are_distinct_free_and_never_ephemeral():
    """Seen in CI: an etcd member could not bind its peer port, which a port from bind(0) had put in the
    ephemeral range, where another member's outgoing connection had taken it meanwhile."""
    import socket

    from topologies.lab.control import _ephemeral_range, free_port

    low, high = _ephemeral_range()
    ports = [free_port() for _ in range(50)]
    assert len(set(ports)) == len(ports)
    assert not any(low <= p <= high for p in ports)
    for port in ports[:5]:
        with socket.socket() as s:
            s.bind(("127.0.0.1", port))
