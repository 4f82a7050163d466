"""/metrics of a real controller on B4 with an intent carrying UDP: the Prometheus view agrees with the REST views."""
import time

from topologies import lab
from prometheus_client.parser import text_string_to_metric_families
from topologies.b4 import B4Topo

UDP_PORT = 5201
OFFERED_BPS = 3e6  # payload, below the 4 Mbit/s allocation
SECONDS = 14



def link_labels(link):
    """The labels of a link's metrics: dpids and ports as in the JSON view, and the switch names of the
    topology file (B4's switches are s1..s12)."""
    def name(dpid):
        return f"s{int(dpid, 16)}"

    return (("dst", link["dst"]), ("dst_name", name(link["dst"])), ("src", link["src"]),
            ("src_name", name(link["src"])), ("src_port", str(link["src_port"])))

def scrape(setup) -> tuple:
    import requests

    r = requests.get(setup.controller.api_url.removesuffix("/te/v1") + "/metrics", timeout=10)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/plain"), r.text[:500]
    samples = {}
    for family in text_string_to_metric_families(r.text):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples, r.text


def test_metrics_match_the_rest_views_while_traffic_flows(network):
    setup = network(B4Topo(bw=10), port_stats_interval=1.0)
    lab.wait_full_reachability(setup.net, deadline_s=60)
    intent_id = lab.post_intent(setup, src="10.0.0.1", dst="10.0.0.5", rate_bps=4e6, name="video",
                                    match={"ip_proto": 17, "tp_dst": UDP_PORT})
    lab.wait_allocations(setup, [intent_id])
    h1, h5 = setup.net.get("h1"), setup.net.get("h5")
    server = lab.start_iperf_server(h5, UDP_PORT)
    lab.wait_iperf_server(h5, UDP_PORT)
    client = lab.start_iperf_udp(h1, h5.IP(), UDP_PORT, OFFERED_BPS, SECONDS)

    deadline = time.monotonic() + SECONDS - 2
    while True:  # until two meter polls have a rate (the first one only has a baseline)
        time.sleep(1)
        alloc = lab.allocation(setup, intent_id)
        if alloc["measured_bps"] or time.monotonic() > deadline:
            break
    time.sleep(3)  # the meter's burst is spent: the rate is the steady one
    samples, text = scrape(setup)
    alloc = lab.allocation(setup, intent_id)
    links = lab.api(setup, "GET", "/links", expect=200).json()["links"]
    client.communicate(timeout=SECONDS + 30)
    server.communicate(timeout=30)
    (setup.artifacts / "metrics.txt").write_text(text)

    labels = (("intent", intent_id), ("name", "video"))
    assert samples[("te_switches_connected", ())] == 12
    assert samples[("te_intent_requested_bps", labels)] == 4e6
    assert samples[("te_intent_allocated_bps", labels)] == alloc["allocated_bps"] == 4e6
    assert samples[("te_intent_state", labels + (("state", "installed"),))] == 1
    assert samples[("te_intent_paths", labels)] == len(alloc["paths"]) >= 1
    link = next(l for l in links if l["src"] == "0000000000000001")
    assert samples[("te_link_capacity_bps", link_labels(link))] == link["capacity_bps"] == 10e6
    assert sum(1 for name, _ in samples if name == "te_link_capacity_bps") == len(links) == 38
    assert samples[("te_rules_installed", (("kind", "meter"),))] == 1
    assert samples[("te_rules_installed", (("kind", "flow"),))] > 100
    assert samples[("te_openflow_errors_total", ())] == 0
    assert samples[("te_solve_seconds", ())] > 0
    # The meter counts frames: UDP payload plus UDP, IPv4 and Ethernet headers.
    offered_frames = OFFERED_BPS * lab.UDP_FRAME / lab.UDP_PAYLOAD
    measured = samples[("te_intent_measured_bps", labels)]
    lab.record("metrics", "intent_measured_over_offered", measured / offered_frames, "ratio",
                   measured_bps=measured, offered_frame_bps=offered_frames)
    assert abs(measured - offered_frames) <= 0.15 * offered_frames, (measured, offered_frames)
    assert alloc["measured_bps"] is not None and abs(alloc["measured_bps"] - offered_frames) <= 0.15 * offered_frames
    # The first link of the intent's path carries its traffic, as measured on the port.
    first = alloc["paths"][0]["switches"][:2]
    [on_path] = [l for l in links if [l["src"], l["dst"]] == first]
    util = samples[("te_link_utilization_ratio", link_labels(on_path))]
    assert util >= 0.8 * offered_frames / 10e6, (util, on_path)
