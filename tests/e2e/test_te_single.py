"""One intent on B4 at 10 Mbit/s: its meter holds UDP sent at twice its rate to the allocation;
deleting it leaves the switches exactly as they were before it."""
import time

from topologies import lab
from topologies.b4 import B4Topo


def test_one_intent_is_metered_to_its_allocation_and_leaves_no_trace(network):
    setup = network(B4Topo(bw=10))
    lab.wait_full_reachability(setup.net, deadline_s=60)
    baseline = lab.switch_tables(setup.bridge_names)

    start = time.monotonic()
    intent_id = lab.post_intent(setup, src="10.0.0.1", dst="10.0.0.5", rate_bps=4e6, name="one")
    alloc = lab.wait_allocations(setup, [intent_id])[intent_id]
    lab.record("te_single", "post_to_installed_seen_by_client", time.monotonic() - start, "s")
    assert alloc["state"] == "installed" and alloc["allocated_bps"] == 4e6, alloc
    assert alloc["paths"] and alloc["paths"][0]["switches"][0] == "0000000000000001", alloc

    [goodput] = lab.udp_goodputs(setup.net, [("h1", "h5", 8e6, 1)])
    expected = lab.goodput_of(alloc["allocated_bps"])
    lab.record("te_single", "udp_goodput_over_expected", goodput / expected, "ratio", goodput_bps=goodput,
                   expected_bps=expected)
    assert abs(goodput - expected) <= 0.1 * expected, (goodput, expected)

    links = lab.api(setup, "GET", "/links", expect=200).json()["links"]
    first_hop = [l for l in links if l["src"] == "0000000000000001" and l["dst"] == alloc["paths"][0]["switches"][1]]
    assert first_hop and first_hop[0]["planned_load_bps"] > 0, first_hop

    lab.api(setup, "DELETE", f"/intents/{intent_id}", expect=204)
    deadline = time.monotonic() + 10
    while lab.switch_tables(setup.bridge_names) != baseline:
        assert time.monotonic() < deadline, "switch tables did not return to their baseline"
        time.sleep(0.2)
    assert lab.api(setup, "GET", "/allocations", expect=200).json()["allocations"] == []
