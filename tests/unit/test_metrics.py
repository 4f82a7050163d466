"""The Prometheus exposition of a controller snapshot, parsed back with prometheus_client's parser."""
import json
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from controller.metrics import TECollector, render

SNAPSHOT = json.loads((Path(__file__).resolve().parents[1] / "data" / "b4_snapshot.json").read_text())


def scrape(snapshot) -> dict:
    body, content_type = render(TECollector(lambda: snapshot))
    assert content_type.startswith("text/plain; version=")
    families = {f.name: f for f in text_string_to_metric_families(body.decode())}
    return families


def samples(family, name=None):
    return {tuple(sorted(s.labels.items())): s.value for s in family.samples if name is None or s.name == name}


def full_snapshot():
    return {"links": SNAPSHOT["links"]["links"], "allocations": SNAPSHOT["allocations"]["allocations"],
            "solve": SNAPSHOT["allocations"]["solve"], "rules": {"flow": 61, "group": 6, "meter": 6},
            "counters": {"of_errors": 2, "packet_in": 120, "packet_in_arp": 30}, "switches": 12}


def test_every_metric_of_a_full_snapshot():
    families = scrape(full_snapshot())
    links = SNAPSHOT["links"]["links"]
    assert len(families["te_link_capacity_bps"].samples) == len(links)
    first = links[0]
    key = (("dst", first["dst"]), ("src", first["src"]), ("src_port", str(first["src_port"])))
    assert samples(families["te_link_capacity_bps"])[key] == first["capacity_bps"]
    assert samples(families["te_link_utilization_ratio"])[key] == first["utilization"]
    assert families["te_link_utilization_ratio"].type == "gauge"

    web = (("intent", "1"), ("name", "web"))
    assert samples(families["te_intent_requested_bps"])[web] == 6e6
    assert samples(families["te_intent_allocated_bps"])[web] == SNAPSHOT["allocations"]["allocations"][0]["allocated_bps"]
    assert samples(families["te_intent_measured_bps"])[web] > 0
    assert samples(families["te_intent_paths"])[web] == 2
    assert samples(families["te_intent_state"])[web + (("state", "partial"),)] == 1
    assert samples(families["te_intent_state"])[web + (("state", "installed"),)] == 0
    assert samples(families["te_intent_requested_bps"])[(("intent", "6"), ("name", ""))] == 4e6

    assert samples(families["te_solve_seconds"]) == {(): 0.0123}
    assert samples(families["te_solve_info"]) == {(("objective", "max-min"), ("status", "optimal")): 1.0}
    assert samples(families["te_rules_installed"]) == {(("kind", "flow"),): 61, (("kind", "group"),): 6,
                                                      (("kind", "meter"),): 6}
    assert families["te_openflow_errors"].type == "counter"
    assert samples(families["te_openflow_errors"], "te_openflow_errors_total") == {(): 2}
    assert samples(families["te_controller_events"], "te_controller_events_total") == {
        (("event", "packet_in"),): 120, (("event", "packet_in_arp"),): 30}
    assert samples(families["te_switches_connected"]) == {(): 12}


def test_unmeasured_values_have_no_sample_rather_than_a_false_zero():
    snapshot = full_snapshot()
    snapshot["links"] = [dict(link, measured_load_bps=None, utilization=None) for link in snapshot["links"]]
    snapshot["allocations"] = [dict(a, measured_bps=None) for a in snapshot["allocations"]]
    families = scrape(snapshot)
    assert families["te_link_utilization_ratio"].samples == []
    assert families["te_intent_measured_bps"].samples == []
    assert len(families["te_link_capacity_bps"].samples) == len(snapshot["links"])


def test_an_empty_snapshot_is_an_empty_exposition():
    assert scrape({}) == {}
    assert render(TECollector(lambda: None))[0] == b""


def test_each_scrape_reads_a_fresh_snapshot():
    count = {"n": 0}

    def snapshot():
        count["n"] += 1
        return {"switches": count["n"]}

    collector = TECollector(snapshot)
    assert samples(scrape_with(collector)["te_switches_connected"]) == {(): 1}
    assert samples(scrape_with(collector)["te_switches_connected"]) == {(): 2}


def scrape_with(collector):
    return {f.name: f for f in text_string_to_metric_families(render(collector)[0].decode())}
