import json

import pytest

from controller.topology import Fabric, FileHost, LinkInfo, read_link_info


def square():
    """1-2-4 and 1-3-4, hosts on port 9 of every switch."""
    f = Fabric(default_capacity_bps=5.0)
    for d in (1, 2, 3, 4):
        f.add_switch(d, [1, 2, 9], now=0.0)
    for a, pa, b, pb in [(1, 1, 2, 1), (1, 2, 3, 1), (2, 2, 4, 1), (3, 2, 4, 2)]:
        f.add_link(a, pa, b, pb)
        f.add_link(b, pb, a, pa)
    return f


def test_host_ports_are_live_ports_outside_links():
    f = square()
    assert f.host_ports(1) == {9}
    assert f.link_ports(4) == {1, 2}
    assert f.set_port(1, 9, live=False)
    assert not f.set_port(1, 9, live=False)
    assert f.host_ports(1) == set()
    assert not f.set_port(99, 1, live=True)


def test_hosts_are_not_learned_on_link_ports_and_forgotten_when_a_link_appears():
    f = square()
    assert not f.learn_host("10.0.0.1", "00:00:00:00:00:01", 1, 1)
    assert f.learn_host("10.0.0.1", "00:00:00:00:00:01", 1, 9)
    assert not f.learn_host("10.0.0.1", "00:00:00:00:00:01", 1, 9)  # nothing new
    assert f.learn_host("10.0.0.1", "00:00:00:00:00:01", 2, 9)  # moved
    f.add_link(2, 9, 3, 9)
    assert "10.0.0.1" not in f.hosts


def test_adjacency_uses_only_live_ports_of_connected_switches_and_lowest_parallel_port():
    f = square()
    f.add_link(1, 5, 2, 5)
    f.set_port(1, 5, live=True)
    assert f.adjacency()[(1, 2)] == 1
    f.set_port(1, 1, live=False)
    assert f.adjacency()[(1, 2)] == 5
    f.remove_switch(4)
    assert all(4 not in arc for arc in f.adjacency())
    assert f.link_ports(2) == {1, 5}


def test_remove_link_is_per_direction():
    f = square()
    assert f.remove_link(1, 1)
    assert not f.remove_link(1, 1)
    assert (1, 2) not in f.adjacency() and (2, 1) in f.adjacency()


def test_graph_carries_file_capacity_or_default():
    f = square()
    f.link_info = LinkInfo({(1, 2): 10e6})
    g = f.graph()
    assert g.edges[1, 2]["capacity"] == 10e6
    assert g.edges[2, 1]["capacity"] == 5.0
    assert g.edges[1, 2]["port"] == 1


def test_settled_after_delay_or_when_expected_links_are_seen():
    f = Fabric(LinkInfo(expected_neighbours={1: {2: 1, 3: 1}}))
    f.add_switch(1, [1, 2, 9], now=100.0)
    assert not f.is_settled(1, 101.0, settle_s=3.0)
    f.add_link(1, 1, 2, 1)
    assert not f.is_settled(1, 101.0, settle_s=3.0)
    f.add_link(1, 2, 3, 1)
    assert f.is_settled(1, 101.0, settle_s=3.0)
    f.add_switch(7, [1], now=100.0)  # not in the file: only time settles it
    assert not f.is_settled(7, 102.9, 3.0) and f.is_settled(7, 103.0, 3.0)
    assert not f.is_settled(99, 1e9, 3.0)


def write_node_link(path, key="edges", directed=False):
    data = {
        "directed": directed, "multigraph": False, "graph": {},
        "nodes": [{"id": "s1", "dpid": 1}, {"id": "s2", "dpid": 2}, {"id": "h1", "ip": "10.0.0.1"}],
        key: [{"source": "s1", "target": "s2", "capacity": 2e7}, {"source": "h1", "target": "s1", "capacity": 1}],
    }
    path.write_text(json.dumps(data))
    return path


@pytest.mark.parametrize("key", ["edges", "links"])
def test_read_link_info_maps_dpids_and_ignores_hosts(tmp_path, key):
    info = read_link_info(str(write_node_link(tmp_path / "t.json", key)))
    assert info.capacity_bps == {(1, 2): 2e7, (2, 1): 2e7}
    assert info.expected_neighbours == {1: {2: 1}, 2: {1: 1}}
    assert info.capacity(1, 3, 7.0) == 7.0


def test_read_link_info_directed(tmp_path):
    info = read_link_info(str(write_node_link(tmp_path / "t.json", directed=True)))
    assert info.capacity_bps == {(1, 2): 2e7}


def test_read_link_info_rejects_bad_input(tmp_path):
    p = tmp_path / "bad.json"
    p.write_text(json.dumps({"nodes": []}))
    with pytest.raises(ValueError, match="node-link"):
        read_link_info(str(p))
    p.write_text(json.dumps({"nodes": [{"id": "a", "dpid": 1}, {"id": "b", "dpid": 2}],
                             "links": [{"source": "a", "target": "b", "capacity": 0}]}))
    with pytest.raises(ValueError, match="capacity 0"):
        read_link_info(str(p))


def test_read_link_info_lists_hosts_and_switch_names(tmp_path):
    p = tmp_path / "t.json"
    p.write_text(json.dumps({"nodes": [{"id": "s1", "dpid": 1}, {"id": "h1", "kind": "host", "ip": "10.0.0.1"},
                                       {"id": "h2", "kind": "host", "ip": "10.0.0.2"}],
                             "links": [{"source": "h1", "target": "s1", "capacity": 3e7}]}))
    info = read_link_info(str(p))
    assert info.switch_names == {1: "s1"}
    assert info.hosts["10.0.0.1"] == FileHost("h1", 1, 3e7)
    assert info.hosts["10.0.0.2"] == FileHost("h2", None, None)
