import hashlib
import ipaddress
from collections import Counter

import networkx as nx
import numpy as np
import pytest

from te.ecmp import equal_cost_paths, flow_hash, pick_path
from te.errors import InvalidInput, NoPath


def _fat_tree(k):
    """Directed k-ary fat-tree switch graph (no hosts), arcs both ways."""
    g = nx.DiGraph()
    half = k // 2
    for pod in range(k):
        for e in range(half):
            for a in range(half):
                g.add_edge(f"e{pod}{e}", f"a{pod}{a}")
        for a in range(half):
            for c in range(half):
                g.add_edge(f"a{pod}{a}", f"c{a}{c}")
    return nx.DiGraph(list(g.edges) + [(v, u) for u, v in g.edges])


def _random_tuples(n, seed):
    rng = np.random.default_rng(seed)
    ips = rng.integers(0, 2**32, size=(n, 2))
    ports = rng.integers(0, 2**16, size=(n, 2))
    return [(str(ipaddress.IPv4Address(int(a))), str(ipaddress.IPv4Address(int(b))), 6, int(s), int(d))
            for (a, b), (s, d) in zip(ips, ports)]


# --- equal_cost_paths ------------------------------------------------------------------------------

def test_fat_tree_inter_pod_pairs_have_k2_over_4_sorted_paths():
    g = _fat_tree(4)
    paths = equal_cost_paths(g, "e00", "e10")
    assert len(paths) == 4
    assert paths == sorted(paths)
    assert paths[0] == ("e00", "a00", "c00", "a10", "e10")
    assert all(len(p) == 5 for p in paths)


def test_matches_networkx_on_random_weighted_graphs_and_limit_keeps_a_sorted_prefix():
    rng = np.random.default_rng(3)
    g = nx.gnp_random_graph(12, 0.35, seed=3, directed=True)
    g = nx.relabel_nodes(g, {n: f"n{n:02d}" for n in g})
    for u, v in g.edges:
        g[u][v]["igp"] = int(rng.integers(1, 3))
    for src in sorted(g):
        for dst in sorted(g):
            if not nx.has_path(g, src, dst):
                continue
            expected = sorted(tuple(p) for p in nx.all_shortest_paths(g, src, dst, weight="igp"))
            assert equal_cost_paths(g, src, dst, weight="igp") == expected
            assert equal_cost_paths(g, src, dst, weight="igp", limit=2) == expected[:2]


def test_missing_weight_counts_as_one_hop():
    g = nx.DiGraph([("a", "b"), ("b", "d"), ("a", "d")])
    assert equal_cost_paths(g, "a", "d") == [("a", "d")]
    g["a"]["d"]["weight"] = 2
    assert equal_cost_paths(g, "a", "d") == [("a", "b", "d"), ("a", "d")]


def test_same_source_and_destination_is_the_one_node_path():
    assert equal_cost_paths(nx.DiGraph([("a", "b")]), "a", "a") == [("a",)]


def test_unreachable_pair_raises_no_path_naming_the_pair():
    g = nx.DiGraph([("a", "b")])
    with pytest.raises(NoPath, match="'b' to 'a'"):
        equal_cost_paths(g, "b", "a")


@pytest.mark.parametrize("src, dst, limit", [("zz", "a", None), ("a", "zz", None), ("a", "b", 0)])
def test_unknown_node_or_bad_limit_is_invalid_input(src, dst, limit):
    with pytest.raises(InvalidInput, match="zz|limit"):
        equal_cost_paths(nx.DiGraph([("a", "b")]), src, dst, limit=limit)


# --- flow_hash -------------------------------------------------------------------------------------

def test_flow_hash_is_pinned_and_recomputable_with_hashlib():
    message = (bytes([10, 0, 0, 1]) + bytes([10, 0, 0, 2]) + bytes([6])
               + (80).to_bytes(2, "big") + (40000).to_bytes(2, "big") + (0).to_bytes(4, "big"))
    independent = int.from_bytes(hashlib.blake2b(message, digest_size=4).digest(), "big")
    assert flow_hash("10.0.0.2", "10.0.0.1", 6, 40000, 80) == independent == 765052900
    assert flow_hash("2001:db8::1", "2001:db8::2", 17, 5000, 53, basis=7) == 3861998710


def test_flow_hash_is_symmetric_in_addresses_and_in_ports():
    for src, dst, proto, sport, dport in _random_tuples(200, seed=1):
        h = flow_hash(src, dst, proto, sport, dport)
        assert h == flow_hash(dst, src, proto, sport, dport) == flow_hash(src, dst, proto, dport, sport)
        assert 0 <= h < 2**32


def test_flow_hash_accepts_address_objects_and_depends_on_basis():
    a, b = ipaddress.ip_address("10.0.0.1"), ipaddress.ip_address("10.0.0.2")
    assert flow_hash(a, b, 6, 1, 2) == flow_hash("10.0.0.1", "10.0.0.2", 6, 1, 2)
    assert len({flow_hash(a, b, 6, 1, 2, basis=s) for s in range(20)}) == 20


@pytest.mark.parametrize("args", [
    ("10.0.0.1", "::1", 6, 1, 2),
    ("10.0.0.300", "10.0.0.1", 6, 1, 2),
    ("10.0.0.1", "10.0.0.2", 256, 1, 2),
    ("10.0.0.1", "10.0.0.2", 6, 65536, 2),
    ("10.0.0.1", "10.0.0.2", 6, 1, -1),
])
def test_flow_hash_rejects_bad_fields(args):
    with pytest.raises(InvalidInput):
        flow_hash(*args)


# --- pick_path -------------------------------------------------------------------------------------

def test_ecmp_spreads_10k_flows_evenly_over_4_paths():
    paths = [("a", x, "d") for x in "bcef"]
    counts = Counter(pick_path(paths, t) for t in _random_tuples(10_000, seed=2))
    assert sorted(counts) == [0, 1, 2, 3]
    assert all(abs(c / 10_000 - 0.25) < 0.0125 for c in counts.values())


def test_wcmp_weights_split_proportionally_and_never_pick_weight_zero():
    paths = ["p0", "p1", "p2"]
    counts = Counter(pick_path(paths, t, weights=[1, 0, 3]) for t in _random_tuples(10_000, seed=4))
    assert counts[1] == 0
    assert abs(counts[0] / 10_000 - 0.25) < 0.0125
    assert abs(counts[2] / 10_000 - 0.75) < 0.0125


def test_both_directions_of_a_flow_pick_the_same_path():
    paths = list(range(7))
    for src, dst, proto, sport, dport in _random_tuples(100, seed=5):
        assert pick_path(paths, (src, dst, proto, sport, dport), basis=9) == \
            pick_path(paths, (dst, src, proto, dport, sport), basis=9)


def test_pick_path_is_the_hash_modulo_the_total_weight():
    flow = ("10.0.0.1", "10.0.0.2", 6, 40000, 80)
    h = flow_hash(*flow)
    assert pick_path(range(5), flow) == h % 5
    r = h % 6
    assert pick_path(["x", "y"], flow, weights=[2, 4]) == (0 if r < 2 else 1)


@pytest.mark.parametrize("paths, weights", [([], None), (["x"], [1, 1]), (["x", "y"], [1, -1]),
                                            (["x", "y"], [0, 0]), (["x", "y"], [0.5, 1])])
def test_pick_path_rejects_bad_paths_or_weights(paths, weights):
    with pytest.raises(InvalidInput):
        pick_path(paths, ("10.0.0.1", "10.0.0.2", 6, 1, 2), weights=weights)
