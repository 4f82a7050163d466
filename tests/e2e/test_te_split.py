"""An intent larger than any single path of B4 is split over two tunnels by a weighted SELECT group.

The traffic is TCP: Open vSwitch's userspace datapath hashes a SELECT group over the symmetric L3/L4
fields *without UDP ports*, so all UDP between two hosts takes one bucket, while TCP flows spread by port.
"""
from topologies import lab
from topologies.b4 import b4_graph
from topologies.base import GraphTopo

HOST_BW = 30  # Mbit/s: access links faster than the 10 Mbit/s fabric, so one host can fill two paths


class B4FastHosts(GraphTopo):
    def describe(self, bw=10):
        graph = b4_graph(bw=bw)
        for u, v, data in graph.edges(data=True):
            if "host" in (graph.nodes[u]["kind"], graph.nodes[v]["kind"]):
                data["capacity"] = HOST_BW * 1e6
        return graph


def test_intent_larger_than_a_path_is_split_over_tunnels(network):
    setup = network(B4FastHosts(bw=10))
    lab.wait_full_reachability(setup.net, deadline_s=60)
    # s4 has two links towards s12's side (s7 and s8): 2 x 9 Mbit/s after headroom.
    intent_id = lab.post_intent(setup, src="10.0.0.4", dst="10.0.0.12", rate_bps=17e6)
    alloc = lab.wait_allocations(setup, [intent_id])[intent_id]
    assert alloc["allocated_bps"] >= 17e6 * 0.999, alloc
    paths = alloc["paths"]
    assert len(paths) >= 2 and all(p["rate_bps"] <= 9e6 * 1.001 for p in paths), paths
    first_hops = {p["switches"][1] for p in paths}
    assert len(first_hops) >= 2, paths

    s4 = setup.net.get("s4")
    ports = {n: lab.switch_port_towards(setup.net, s4, setup.net.get(f"s{int(n, 16)}")) for n in first_hops}
    before = lab.port_counters("s4")
    h12 = setup.net.get("h12")
    server = lab.start_iperf_server(h12, 5201)
    lab.wait_iperf_server(h12, 5201)
    goodput = lab.received_goodput(server, lab.start_iperf_tcp(setup.net.get("h4"), h12.IP(), 5201, 10, 32))
    after = lab.port_counters("s4")
    carried = {n: after[p][1] - before[p][1] for n, p in ports.items()}
    expected = alloc["allocated_bps"] * lab.TCP_PAYLOAD_SHARE
    lab.record("te_split", "goodput_over_allocation", goodput / expected, "ratio", goodput_bps=goodput,
                   packets_per_first_hop=carried, weights=[p["weight"] for p in paths])
    assert all(n > 1000 for n in carried.values()), carried
    assert goodput >= 0.9 * expected, (goodput, expected)
