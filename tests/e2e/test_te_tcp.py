"""One TCP flow through an intent's meter reaches its allocation (B4, 10 Mbit/s links, real iperf3).

A drop meter is a policer: with too small a burst it cuts a TCP window's bursts and the flow backs off
far below the rate. The burst (te_meter_burst_ms, 50 ms of the rate by default) is measured against this
in benchmarks/meter_burst.py. The same run first measures the path without the intent, so a busy
machine that cannot carry the rate fails the emulator check, not the meter.
"""
from topologies import lab
from topologies.b4 import B4Topo


def test_one_tcp_flow_reaches_its_allocation(network):
    setup = network(B4Topo(bw=10))
    lab.wait_full_reachability(setup.net, deadline_s=60)
    h1, h12 = setup.net.get("h1"), setup.net.get("h12")

    def one_flow(port):
        server = lab.start_iperf_server(h12, port)
        lab.wait_iperf_server(h12, port)
        return lab.received_goodput(server, lab.start_iperf_tcp(h1, h12.IP(), port, 8, 1))

    unmetered = one_flow(5201)
    intent = lab.post_intent(setup, src=h1.IP(), dst=h12.IP(), rate_bps=4e6, match={"ip_proto": 6})
    alloc = lab.wait_allocations(setup, [intent])[intent]
    expected = alloc["allocated_bps"] * lab.TCP_PAYLOAD_SHARE
    assert unmetered >= expected, f"the emulator carried only {unmetered:.3g} bit/s without the meter"
    metered = one_flow(5202)
    lab.record("te_tcp", "one_tcp_flow_over_allocation", metered / expected, "ratio", goodput_bps=metered,
               unmetered_bps=unmetered)
    assert 0.9 * expected <= metered <= 1.05 * expected, (metered, expected)
