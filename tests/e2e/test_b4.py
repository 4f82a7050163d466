"""B4 (12 sites, 19 links, one host per site): reachability and link failure (control-plane faults: test_control_plane.py)."""

from topologies import lab
from topologies.b4 import B4Topo


def test_b4_pingall(network):
    setup = network(B4Topo(bw=10))
    reached, rounds = lab.wait_full_reachability(setup.net, deadline_s=60)
    lab.record("b4", "time_to_full_reachability_from_controller_start", reached - setup.controller.started_at, "s",
                   rounds=len(rounds))
    lab.record("b4", "time_to_full_reachability_from_network_start", reached - setup.network_started_at, "s")
    assert setup.net.pingAll(timeout="1") == 0.0
    assert lab.parallel_pingall(setup.net).loss == 0.0


def test_b4_link_failure_recovers(network):
    """h1 -> h12: every shortest path leaves s1 towards s3; that link goes down, a longer path takes over."""
    setup = network(B4Topo(bw=10))
    lab.wait_full_reachability(setup.net, deadline_s=60)
    result = lab.measure_link_failure(setup.net, "h1", "h12")
    lab.record("b4", "recovery_after_link_down", result["outage_s"], "s", link=result["link"],
                   lost=result["lost"])
    assert result["link"] == "s1-s3"
    assert result["outage_s"] < 5, result
    assert lab.parallel_pingall(setup.net).loss == 0.0
