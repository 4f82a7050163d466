"""The Prometheus exposition of a controller snapshot, parsed back with prometheus_client's parser; the byte
counters, solve durations and names the core puts in its snapshot."""
import json
import math
import random
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from controller.metrics import TECollector, package_version, render
from controller.stats import ByteTotals, Durations, TrafficTotals, meter_sample
from topologies.b4 import b4_graph

from test_controller_core import MBIT, Network

SNAPSHOT = json.loads((Path(__file__).resolve().parents[1] / "data" / "b4_snapshot.json").read_text())
DEFAULT_FAMILIES = ("process_", "python_")


def scrape(snapshot, defaults=False) -> dict:
    body, content_type = render(TECollector(lambda: snapshot), defaults=defaults)
    assert content_type.startswith("text/plain; version=")
    families = {f.name: f for f in text_string_to_metric_families(body.decode())}
    return families


def samples(family, name=None):
    return {tuple(sorted(s.labels.items())): s.value for s in family.samples if name is None or s.name == name}


def link_key(link, names=None):
    """The labels of a link's samples, sorted as :func:`samples` keys them."""
    names = names if names is not None else {s["dpid"]: s["name"] for s in SNAPSHOT["topology"]["switches"]}
    return (("dst", link["dst"]), ("dst_name", names.get(link["dst"], "")), ("src", link["src"]),
            ("src_name", names.get(link["src"], "")), ("src_port", str(link["src_port"])))


def full_snapshot():
    links = [dict(link, tx_bytes=1_000 * n) for n, link in enumerate(SNAPSHOT["links"]["links"])]
    allocations = [dict(a, bytes=10_000 + n, dropped_bytes=n)
                   for n, a in enumerate(SNAPSHOT["allocations"]["allocations"])]
    durations = Durations(buckets=(0.01, 0.1))
    for seconds in (0.004, 0.02, 0.5):
        durations.observe(seconds)
    return {"links": links, "allocations": allocations, "topology": SNAPSHOT["topology"],
            "solve": SNAPSHOT["allocations"]["solve"], "solve_durations": durations.snapshot(),
            "rules": {"flow": 61, "group": 6, "meter": 6},
            "counters": {"of_errors": 2, "packet_in": 120, "packet_in_arp": 30, "te_solves": 3}, "switches": 12}


def test_every_metric_of_a_full_snapshot():
    families = scrape(full_snapshot())
    links = SNAPSHOT["links"]["links"]
    assert len(families["te_link_capacity_bps"].samples) == len(links)
    first = links[0]
    key = link_key(first)
    assert dict(key)["src_name"] == "s1" and dict(key)["dst_name"] == "s2"
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


def test_byte_counters_are_counters_with_the_labels_of_their_gauges():
    families = scrape(full_snapshot())
    links = SNAPSHOT["links"]["links"]
    tx = families["te_link_tx_bytes"]
    assert tx.type == "counter"
    assert samples(tx, "te_link_tx_bytes_total") == {link_key(link): 1_000 * n for n, link in enumerate(links)}
    # rate(te_link_tx_bytes_total[1m]) * 8 / te_link_capacity_bps needs no on(): the label sets are the same
    assert set(samples(tx, "te_link_tx_bytes_total")) == set(samples(families["te_link_capacity_bps"]))

    passed, dropped = families["te_intent_bytes"], families["te_intent_dropped_bytes"]
    assert passed.type == dropped.type == "counter"
    web = (("intent", "1"), ("name", "web"))
    assert samples(passed, "te_intent_bytes_total")[web] == 10_000
    assert samples(dropped, "te_intent_dropped_bytes_total")[web] == 0
    assert set(samples(passed, "te_intent_bytes_total")) == set(samples(families["te_intent_requested_bps"]))


def test_switch_names_label_every_link_and_te_switch_info_lists_them():
    families = scrape(full_snapshot())
    switches = SNAPSHOT["topology"]["switches"]
    assert samples(families["te_switch_info"]) == {(("name", s["name"]), ("switch", s["dpid"])): 1.0
                                                   for s in switches}
    for family in ("te_link_capacity_bps", "te_link_planned_load_bps", "te_link_utilization_ratio",
                   "te_link_tx_bytes"):
        for labels in samples(families[family]):
            labels = dict(labels)
            assert labels["src_name"] == "s" + str(int(labels["src"], 16)), (family, labels)
            assert labels["dst_name"] == "s" + str(int(labels["dst"], 16)), (family, labels)


def test_without_a_topology_the_name_labels_are_empty():
    snapshot = full_snapshot()
    del snapshot["topology"]
    families = scrape(snapshot)
    assert "te_switch_info" not in families
    first = SNAPSHOT["links"]["links"][0]
    assert samples(families["te_link_capacity_bps"])[link_key(first, names={})] == first["capacity_bps"]


def test_solve_durations_are_a_histogram_and_solves_a_counter():
    families = scrape(full_snapshot())
    hist = families["te_solve_duration_seconds"]
    assert hist.type == "histogram"
    assert samples(hist, "te_solve_duration_seconds_bucket") == {(("le", "0.01"),): 1, (("le", "0.1"),): 2,
                                                                 (("le", "+Inf"),): 3}
    assert samples(hist, "te_solve_duration_seconds_count") == {(): 3}
    assert samples(hist, "te_solve_duration_seconds_sum")[()] == pytest.approx(0.524)
    assert samples(families["te_solves"], "te_solves_total") == {(): 3}
    # te_solves has a metric of its own, not an event of te_controller_events_total
    assert ("event", "te_solves") not in {label for key in samples(families["te_controller_events"]) for label in key}


def test_build_info_names_the_installed_versions():
    families = scrape({})
    [sample] = families["te_build_info"].samples
    assert sample.value == 1
    assert sample.labels == {"version": package_version("sdn-te"), "ryu": package_version("ryu"),
                             "prometheus_client": package_version("prometheus_client")}
    assert sample.labels["version"]  # the checkout is installed (pip install -e .)


def test_the_process_and_python_collectors_are_exported_by_default():
    families = scrape({"switches": 1}, defaults=True)
    assert samples(families["te_switches_connected"]) == {(): 1}
    names = {s.name for f in families.values() for s in f.samples}
    assert {"process_cpu_seconds_total", "process_resident_memory_bytes", "process_open_fds",
            "python_info", "python_gc_collections_total"} <= names
    assert not any(n.startswith(DEFAULT_FAMILIES) for n in scrape({"switches": 1}))


def test_unmeasured_values_have_no_sample_rather_than_a_false_zero():
    snapshot = full_snapshot()
    snapshot["links"] = [dict(link, measured_load_bps=None, utilization=None, tx_bytes=None)
                         for link in snapshot["links"]]
    snapshot["allocations"] = [dict(a, measured_bps=None, bytes=None, dropped_bytes=None)
                               for a in snapshot["allocations"]]
    families = scrape(snapshot)
    for family in ("te_link_utilization_ratio", "te_intent_measured_bps", "te_link_tx_bytes", "te_intent_bytes",
                   "te_intent_dropped_bytes"):
        assert families[family].samples == [], family
    assert len(families["te_link_capacity_bps"].samples) == len(snapshot["links"])


def test_an_empty_snapshot_is_an_exposition_of_the_build_alone():
    assert set(scrape({})) == {"te_build_info"}
    assert [line for line in render(TECollector(lambda: None), defaults=False)[0].decode().splitlines()
            if not line.startswith("#")] == [next(line for line in render(TECollector(lambda: {}), defaults=False)[0]
                                                  .decode().splitlines() if line.startswith("te_build_info"))]


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


# --- the recorders (controller.stats) ---------------------------------------------------------
def test_byte_totals_never_go_back_whatever_the_counter_does():
    rng = random.Random(7)
    totals, raw, true_total, last = ByteTotals(), 0, 0, 0
    for _ in range(500):
        if rng.random() < 0.05:
            raw = 0  # the switch, port or meter was reset
        step = rng.randrange(0, 10_000)
        raw += step
        true_total += step
        totals.update((1, 1), raw)
        assert totals.total((1, 1)) >= last
        last = totals.total((1, 1))
    # Only a counter that restarts and grows past its old value between two samples is undercounted;
    # this sequence samples after every step, so nothing is lost.
    assert last == true_total


def test_byte_totals_forget_only_the_keys_of_the_switch_they_are_told():
    totals = ByteTotals()
    for key in ((1, 1), (1, 2), (2, 1)):
        totals.update(key, 100)
    totals.retain(1, [(1, 2)])
    assert totals.totals() == {(1, 2): 100, (2, 1): 100}


def test_meter_sample_splits_what_a_meter_saw_into_passed_and_dropped():
    assert meter_sample(3, 10_000, [1_000, 500]) == (3, 8_500, 1_500)
    assert meter_sample(3, 10_000, []) == (3, 10_000, 0)


def test_an_intent_keeps_counting_when_its_meter_is_replaced():
    t = TrafficTotals()
    t.meters(1, [(9, 1_000, 10)], {9: "a"})
    t.meters(1, [(9, 3_000, 30)], {9: "a"})
    t.retain_meters(1, [])  # meter 9 deleted; the intent got meter 12, which starts at 0
    t.meters(1, [(12, 500, 5)], {12: "a"})
    assert (t.intent_bytes("a"), t.intent_dropped_bytes("a")) == (3_500, 35)
    t.retain_intents(["b"])
    assert t.intent_bytes("a") is None


def test_durations_count_every_observation_in_its_bucket():
    d = Durations(buckets=(1.0, 0.1))  # any order
    for seconds in (0.1, 0.10001, 1.0, 7.0, 0.0):
        d.observe(seconds)
    snap = d.snapshot()
    assert snap["buckets"] == [(0.1, 2), (1.0, 4), (math.inf, 5)] and snap["count"] == 5
    assert snap["sum"] == pytest.approx(8.20001)


# --- the core's snapshot -------------------------------------------------------------------------
def intent_meter(core, intent_id):
    """``(ingress dpid, meter id)`` of an intent's meter."""
    return core.te_plan.allocation(intent_id).src.dpid, core.ids.te_meters.lookup(intent_id)


@pytest.fixture
def b4(tmp_path):
    net = Network(b4_graph(bw=10), tmp_path, switch_hold_time=30.0, te_elephants="global-first-fit")
    net.start()
    return net


def rich_snapshot(net) -> dict:
    """A B4 core with two intents, port and meter counters polled twice: every key of the snapshot filled."""
    core = net.core
    ids = [core.intents.create({"src": "10.0.0.1", "dst": "10.0.0.12", "rate_bps": 4 * MBIT, "name": "video"}).id,
           core.intents.create({"src": "10.0.0.2", "dst": "10.0.0.5", "rate_bps": 2 * MBIT}).id]
    net.settle()
    for step in (1, 2):
        for dpid in sorted(net.dpid.values()):
            core.port_counters(dpid, [(p, step * 1_000 * p) for p in net.ports(dpid)], now=net.now)
        for n, intent_id in enumerate(ids):
            dpid, meter = intent_meter(core, intent_id)
            core.meter_counters(dpid, [meter_sample(meter, step * 50_000 * (n + 1), [step * 1_000])], True, net.now)
        net.now += 1.0
    return core.metrics_snapshot()


def test_the_core_snapshot_has_byte_totals_names_and_solve_durations(b4):
    snapshot = rich_snapshot(b4)
    families = scrape(snapshot)
    video = (("intent", "1"), ("name", "video"))
    assert samples(families["te_intent_bytes"], "te_intent_bytes_total")[video] == 2 * 50_000 - 2 * 1_000
    assert samples(families["te_intent_dropped_bytes"], "te_intent_dropped_bytes_total")[video] == 2_000
    # measured_bps stays the rate over the last interval: 49 kB more passed in 1 s
    assert samples(families["te_intent_measured_bps"])[video] == pytest.approx(8 * 49_000)
    s1_s2 = next(link for link in snapshot["links"] if (link["src"], link["dst"]) == ("0000000000000001",
                                                                                       "0000000000000002"))
    key = link_key(s1_s2, names={"0000000000000001": "s1", "0000000000000002": "s2"})
    assert samples(families["te_link_tx_bytes"], "te_link_tx_bytes_total")[key] == 2_000 * s1_s2["src_port"]
    solves = b4.core.counters["te_solves"]
    assert solves > 0
    assert samples(families["te_solves"], "te_solves_total") == {(): solves}
    assert samples(families["te_solve_duration_seconds"], "te_solve_duration_seconds_count") == {(): solves}
    assert len(samples(families["te_switch_info"])) == 12
    assert "te_elephants" in families


def test_core_byte_counters_grow_through_a_switch_reset_and_a_reconnect(b4):
    core = b4.core
    intent_id = core.intents.create({"src": "10.0.0.1", "dst": "10.0.0.12", "rate_bps": 4 * MBIT}).id
    b4.settle()
    dpid, meter = intent_meter(core, intent_id)

    def totals():
        snap = core.metrics_snapshot()
        [alloc] = snap["allocations"]
        link = next(l for l in snap["links"] if l["src"] == f"{dpid:016x}")
        return alloc["bytes"], alloc["dropped_bytes"], link["tx_bytes"], link["src_port"]

    port = next(l for l in core.links_body()["links"] if l["src"] == f"{dpid:016x}")["src_port"]
    history = []
    for raw_passed, raw_dropped, raw_tx in ((10_000, 100, 5_000), (30_000, 300, 9_000)):
        core.port_counters(dpid, [(port, raw_tx)], b4.now)
        core.meter_counters(dpid, [(meter, raw_passed, raw_dropped)], True, b4.now)
        history.append(totals()[:3])
    # The switch's control channel drops and it comes back with its counters intact: only what it counted meanwhile
    core.switch_disconnected(dpid, b4.now)
    b4.connect(dpid)
    b4.settle()
    core.port_counters(dpid, [(port, 12_000)], b4.now)
    core.meter_counters(dpid, [(meter, 40_000, 400)], True, b4.now)
    history.append(totals()[:3])
    # OVS restarted: every counter starts from 0 again
    core.port_counters(dpid, [(port, 1_000)], b4.now)
    core.meter_counters(dpid, [(meter, 2_000, 20)], True, b4.now)
    history.append(totals()[:3])
    assert history == [(10_000, 100, 5_000), (30_000, 300, 9_000), (40_000, 400, 12_000), (42_000, 420, 13_000)]


def test_a_meter_reply_of_two_fields_counts_what_passed_without_a_dropped_counter(b4):
    core = b4.core
    intent_id = core.intents.create({"src": "10.0.0.1", "dst": "10.0.0.12", "rate_bps": 4 * MBIT}).id
    b4.settle()
    dpid, meter = intent_meter(core, intent_id)
    core.meter_counters(dpid, [(meter, 7_000)], True, b4.now)
    [alloc] = core.metrics_snapshot()["allocations"]
    assert (alloc["bytes"], alloc["dropped_bytes"]) == (7_000, None)


def test_a_deleted_intents_counters_go_and_other_meters_are_not_attributed(b4):
    core = b4.core
    a = core.intents.create({"src": "10.0.0.1", "dst": "10.0.0.12", "rate_bps": 4 * MBIT}).id
    b4.settle()
    dpid, meter = intent_meter(core, a)
    core.meter_counters(dpid, [(meter, 7_000, 0), (meter + 1000, 99_000, 0)], True, b4.now)
    assert core.traffic.intent_bytes(a) == 7_000
    core.intents.delete(a)
    b4.settle()
    core.meter_counters(dpid, [(meter + 1000, 99_500, 0)], True, b4.now)
    assert core.traffic.intent_bytes(a) is None and core.metrics_snapshot()["allocations"] == []


def test_every_solve_is_recorded(b4):
    core = b4.core
    before = core.solve_durations.snapshot()["count"]
    core.intents.create({"src": "10.0.0.1", "dst": "10.0.0.12", "rate_bps": 4 * MBIT})
    b4.settle()
    snap = core.solve_durations.snapshot()
    assert snap["count"] == before + 1 == core.counters["te_solves"]
    assert snap["sum"] > 0 and snap["buckets"][-1] == (math.inf, snap["count"])


def test_a_switch_being_read_back_keeps_its_meter_samples(b4):
    """While a reconnected switch is read back the core does not know what it holds: a meter reply then must not
    make it forget a meter's last sample (the next one would count everything again)."""
    core = b4.core
    intent_id = core.intents.create({"src": "10.0.0.1", "dst": "10.0.0.12", "rate_bps": 4 * MBIT}).id
    b4.settle()
    dpid, meter = intent_meter(core, intent_id)
    core.meter_counters(dpid, [(meter, 10_000, 0)], True, b4.now)
    core.switch_disconnected(dpid, b4.now)
    core.switch_connected(dpid, b4.ports(dpid), b4.now)  # read-back requested, not answered yet
    core.meter_counters(dpid, [], True, b4.now)
    core.meter_counters(dpid, [(meter, 12_000, 0)], True, b4.now)
    assert core.traffic.intent_bytes(intent_id) == 12_000
