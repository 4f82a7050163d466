"""Prometheus metrics of the controller, read from a snapshot of plain data at scrape time.

The app hands :class:`TECollector` a callable that returns a mapping (every key optional)::

    {
      "links":       [...],  # the Link objects of GET /te/v1/links, each with "tx_bytes" (total sent)
      "allocations": [...],  # the Allocation objects of GET /te/v1/allocations, each with "bytes" (its meter
                             # let through) and "dropped_bytes" (its meter's drop band dropped)
      "topology":    {...},  # GET /te/v1/topology: the switches' names
      "solve":       {...},  # the "solve" object of GET /te/v1/allocations
      "solve_durations": {"buckets": [(0.01, 3), ..., (inf, 5)], "sum": 0.4, "count": 5},  # every solve
      "rules":       {"flow": 40, "group": 12, "meter": 3},   # installed on the switches now
      "counters":    {"of_errors": 0, "packet_in": 812, ...},  # monotonic event counts
      "switches":    12,     # connected switches
      "elephants":   [...],  # the Elephant objects of GET /te/v1/elephants (None: adaptive TE off)
      "classes":     {...},  # GET /te/v1/classes: per service class and per group
    }

so the metrics show exactly what the REST API shows, and this module needs neither Ryu nor
the app. :func:`render` gives the exposition for a WSGI handler, with prometheus_client's
process and Python collectors beside :class:`TECollector`.

Conventions: rates measured over the polling interval stay gauges in bit/s (``*_bps``) as the
REST views give them; byte counters (``*_bytes_total``) are there for PromQL's ``rate()``. A
byte counter only grows while the controller runs (:class:`controller.stats.TrafficTotals`
adds what a switch counted after a reset to what it had counted before), and starts again
from the switches' own counts when the controller restarts, which ``rate()`` takes as a
counter reset. Switches are labelled by dpid (16 hex digits) and by their name in the
topology file (empty without one).
"""
from __future__ import annotations

import functools
from importlib import metadata

from prometheus_client import (
    CONTENT_TYPE_LATEST, CollectorRegistry, GCCollector, PlatformCollector, ProcessCollector, generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, InfoMetricFamily
from prometheus_client.utils import floatToGoString

STATES = ("pending", "installed", "partial", "degraded", "unroutable")
LINK_LABELS = ("src", "src_port", "dst", "src_name", "dst_name")
INTENT_LABELS = ("intent", "name")
# Counters with a metric of their own; every other counter goes to te_controller_events_total.
NAMED_COUNTERS = {"of_errors": ("te_openflow_errors", "OpenFlow error messages received from switches"),
                  "elephants_detected": ("te_elephants_detected", "Elephant flows adaptive TE detected"),
                  "te_solves": ("te_solves", "TE solves (one per change of intents, links or hosts, "
                                             "te_interval, and set of held switches)")}
ELEPHANT_STATES = ("placed", "no-room", "intent", "local", "unlocated", "new")


class TECollector:
    """A prometheus_client collector over ``snapshot()``; see the module docstring for its shape.

    Examples
    --------
    >>> c = TECollector(lambda: {"switches": 2, "rules": {"flow": 7}})
    >>> [(s.name, s.labels, s.value) for m in c.collect() for s in m.samples if s.name != "te_build_info"]
    [('te_rules_installed', {'kind': 'flow'}, 7), ('te_switches_connected', {}, 2)]
    """

    def __init__(self, snapshot):
        self.snapshot = snapshot

    def collect(self):
        yield _build_info()
        data = self.snapshot() or {}
        names = switch_names(data.get("topology"))
        yield from _switch_metrics(data.get("topology"))
        yield from _link_metrics(data.get("links"), names)
        yield from _intent_metrics(data.get("allocations"))
        yield from _solve_metrics(data.get("solve"), data.get("solve_durations"))
        if data.get("rules") is not None:
            rules = GaugeMetricFamily("te_rules_installed", "Rules the controller has installed on the switches",
                                      labels=["kind"])
            for kind, count in sorted(data["rules"].items()):
                rules.add_metric([kind], count)
            yield rules
        yield from _counter_metrics(data.get("counters"))
        if data.get("switches") is not None:
            yield GaugeMetricFamily("te_switches_connected", "Switches connected to the controller",
                                    value=data["switches"])
        if data.get("elephants") is not None:
            yield _elephant_metrics(data["elephants"])
        yield from _class_metrics(data.get("classes"))
        yield from _cluster_metrics(data.get("cluster"))


def _cluster_metrics(cluster):
    """With several controllers (an etcd store): this one's role, its elections, and etcd's reach."""
    if not cluster or cluster.get("mode") != "etcd":
        return
    yield GaugeMetricFamily("te_cluster_leader", "1 while this controller leads the cluster (and may change the "
                            "switches), else 0", value=1 if cluster.get("acting") else 0)
    yield GaugeMetricFamily("te_cluster_generation", "Election revision of the current leader (the OpenFlow "
                            "generation id)", value=cluster.get("generation", 0))
    yield CounterMetricFamily("te_cluster_elections_won", "Elections this controller won",
                              value=cluster.get("elections_won", 0))
    yield CounterMetricFamily("te_cluster_stepdowns", "Times this controller stopped leading",
                              value=cluster.get("stepdowns", 0))
    reachable = (cluster.get("etcd") or {}).get("reachable")
    yield GaugeMetricFamily("te_cluster_etcd_reachable", "1 when etcd answered this controller's last round",
                            value=1 if reachable else 0)


def _class_metrics(classes):
    """Per service class (label ``class``) and per intent group (label ``group``): requested, allocated,
    measured bit/s, and the degraded guaranteed intents.

    >>> fams = list(_class_metrics({"classes": [{"class": "guaranteed", "intents": 1, "degraded": 1,
    ...     "requested_bps": 4e6, "allocated_bps": 3e6, "measured_bps": None}], "groups": []}))
    >>> [(s.name, s.labels, s.value) for f in fams for s in f.samples][:3]
    [('te_class_requested_bps', {'class': 'guaranteed'}, 4000000.0), ('te_class_allocated_bps', {'class': 'guaranteed'}, 3000000.0), ('te_class_intents', {'class': 'guaranteed'}, 1)]
    """
    if classes is None:
        return
    for kind, key, rows in (("class", "class", classes.get("classes", ())), ("group", "name", classes.get("groups", ()))):
        fams = {"requested_bps": GaugeMetricFamily(f"te_{kind}_requested_bps", f"Rate the intents of the {kind} ask "
                                                   "for, bit/s", labels=[kind]),
                "allocated_bps": GaugeMetricFamily(f"te_{kind}_allocated_bps", f"Rate the TE plan gives the intents of "
                                                   f"the {kind}, bit/s", labels=[kind]),
                "measured_bps": GaugeMetricFamily(f"te_{kind}_measured_bps", f"Rate the meters of the {kind}'s intents "
                                                  "let through over the last polling interval, bit/s", labels=[kind]),
                "intents": GaugeMetricFamily(f"te_{kind}_intents", f"Intents of the {kind}", labels=[kind]),
                "degraded": GaugeMetricFamily(f"te_{kind}_degraded_intents", f"Guaranteed intents of the {kind} "
                                              "given less than their rate (state degraded)", labels=[kind])}
        for row in rows:
            for field, fam in fams.items():
                if row.get(field) is not None:
                    fam.add_metric([row[key]], row[field])
        yield from fams.values()


def package_version(name: str) -> str:
    """The installed version of distribution ``name``, or ``""`` if it is not installed.

    >>> package_version("prometheus_client") != "", package_version("no-such-distribution-here")
    (True, '')
    """
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return ""


@functools.lru_cache(maxsize=1)
def _build_labels() -> tuple:
    return (("version", package_version("sdn-te")), ("ryu", package_version("ryu")),
            ("prometheus_client", package_version("prometheus_client")))


def _build_info():
    """te_build_info: what runs (the sdn-te package's version, Ryu's, prometheus_client's), always 1."""
    return InfoMetricFamily("te_build", "Versions of the controller (sdn-te) and what it runs on",
                            value=dict(_build_labels()))


def switch_names(topology) -> dict:
    """Switch dpid (16 hex digits) -> name from a GET /te/v1/topology body (switches without a name: none).

    >>> switch_names({"switches": [{"dpid": "0000000000000001", "name": "s1"}, {"dpid": "0000000000000002"}]})
    {'0000000000000001': 's1'}
    >>> switch_names(None)
    {}
    """
    return {s["dpid"]: s["name"] for s in (topology or {}).get("switches", ()) if s.get("name")}


def _switch_metrics(topology):
    if topology is None:
        return
    info = GaugeMetricFamily("te_switch_info", "Switches in the controller's view with their name in the topology "
                             "file (always 1)", labels=["switch", "name"])
    for s in topology.get("switches", ()):
        info.add_metric([s["dpid"], s.get("name") or ""], 1.0)
    yield info


def _elephant_metrics(elephants):
    """Elephants by state, and their measured rates summed per state."""
    family = GaugeMetricFamily("te_elephants", "Elephant flows adaptive TE tracks now, by state", labels=["state"])
    for state in ELEPHANT_STATES:
        family.add_metric([state], sum(1 for e in elephants if e["state"] == state))
    return family


def _link_metrics(links, names: dict):
    if links is None:
        return
    families = {
        "capacity_bps": GaugeMetricFamily("te_link_capacity_bps", "Link capacity in bit/s", labels=LINK_LABELS),
        "planned_load_bps": GaugeMetricFamily("te_link_planned_load_bps", "Load the TE plan puts on the link, bit/s",
                                              labels=LINK_LABELS),
        "measured_load_bps": GaugeMetricFamily("te_link_measured_load_bps",
                                               "Measured transmit rate over the last polling interval, bit/s",
                                               labels=LINK_LABELS),
        "utilization": GaugeMetricFamily("te_link_utilization_ratio", "Measured load over capacity",
                                         labels=LINK_LABELS),
        "tx_bytes": CounterMetricFamily("te_link_tx_bytes", "Bytes (Ethernet frames) the link's source port sent, "
                                        "from the switch's port counters; grows across switch resets, starts again "
                                        "from the switch's count when the controller restarts", labels=LINK_LABELS),
    }
    for link in links:
        src, dst = str(link.get("src", "")), str(link.get("dst", ""))
        labels = [src, str(link.get("src_port", "")), dst, names.get(src, ""), names.get(dst, "")]
        for key, family in families.items():
            # None means "not measured yet": no sample is better than a false zero.
            if link.get(key) is not None:
                family.add_metric(labels, link[key])
    yield from families.values()


def _intent_metrics(allocations):
    if allocations is None:
        return
    families = {
        "requested_bps": GaugeMetricFamily("te_intent_requested_bps", "Rate the intent asks for, bit/s",
                                           labels=INTENT_LABELS),
        "allocated_bps": GaugeMetricFamily("te_intent_allocated_bps", "Rate the TE plan gives the intent, bit/s",
                                           labels=INTENT_LABELS),
        "measured_bps": GaugeMetricFamily("te_intent_measured_bps", "Rate the intent's meter let through over the "
                                          "last polling interval, bit/s", labels=INTENT_LABELS),
        "bytes": CounterMetricFamily("te_intent_bytes", "Bytes (Ethernet frames) of the intent's traffic its meter "
                                     "let through; grows across meter changes and switch resets, starts again from "
                                     "the switch's count when the controller restarts", labels=INTENT_LABELS),
        "dropped_bytes": CounterMetricFamily("te_intent_dropped_bytes", "Bytes (Ethernet frames) of the intent's "
                                             "traffic its meter dropped for exceeding the allocation",
                                             labels=INTENT_LABELS),
    }
    state = GaugeMetricFamily("te_intent_state", "1 for the allocation state the intent is in, else 0",
                              labels=INTENT_LABELS + ("state",))
    paths = GaugeMetricFamily("te_intent_paths", "Paths that carry the intent's traffic", labels=INTENT_LABELS)
    for a in allocations:
        labels = [str(a.get("intent_id", "")), a.get("name") or ""]
        for key, family in families.items():
            if a.get(key) is not None:
                family.add_metric(labels, a[key])
        for s in STATES:
            state.add_metric(labels + [s], 1.0 if a.get("state") == s else 0.0)
        paths.add_metric(labels, len(a.get("paths") or ()))
    yield from families.values()
    yield state
    yield paths


def histogram_buckets(durations: dict) -> list:
    """The ``(le, cumulative count)`` buckets prometheus_client wants, from a ``Durations.snapshot()``.

    >>> histogram_buckets({"buckets": [(0.01, 1), (1.0, 3), (float("inf"), 4)], "sum": 4.2, "count": 4})
    [('0.01', 1), ('1.0', 3), ('+Inf', 4)]
    """
    return [(floatToGoString(bound), count) for bound, count in durations["buckets"]]


def _solve_metrics(solve, durations):
    if durations is not None:
        yield HistogramMetricFamily("te_solve_duration_seconds", "Duration of every TE solve",
                                    buckets=histogram_buckets(durations), sum_value=durations["sum"])
    if not solve:
        return
    if solve.get("solve_seconds") is not None:
        yield GaugeMetricFamily("te_solve_seconds", "Duration of the last TE solve (every solve: "
                                "te_solve_duration_seconds)", value=solve["solve_seconds"])
    info = GaugeMetricFamily("te_solve_info", "Objective and status of the last TE solve (always 1)",
                             labels=["objective", "status"])
    info.add_metric([str(solve.get("objective", "")), str(solve.get("status", ""))], 1.0)
    yield info
    if solve.get("headroom") is not None:
        yield GaugeMetricFamily("te_headroom_ratio", "Fraction of every link's capacity the TE plan keeps free",
                                value=solve["headroom"])


def _counter_metrics(counters):
    if counters is None:
        return
    for key, (name, help_text) in NAMED_COUNTERS.items():
        yield CounterMetricFamily(name, help_text, value=counters.get(key, 0))
    events = CounterMetricFamily("te_controller_events", "Controller events by kind (packet-ins, flow mods, ...)",
                                 labels=["event"])
    for key, value in sorted(counters.items()):
        if key not in NAMED_COUNTERS:
            events.add_metric([key], value)
    yield events


def registry(collector, defaults: bool = True) -> CollectorRegistry:
    """A registry of ``collector`` and, with ``defaults``, the collectors of prometheus_client's default
    registry: ``process_*`` (CPU, memory, open files of this process), ``python_info`` and ``python_gc_*``.

    A registry of its own rather than the global one: every call gives a complete, independent set.

    >>> names = {m.name for m in registry(TECollector(lambda: {})).collect()}
    >>> sorted(n for n in names if n.startswith("python_"))
    ['python_gc_collections', 'python_gc_objects_collected', 'python_gc_objects_uncollectable', 'python_info']
    """
    reg = CollectorRegistry(auto_describe=False)
    reg.register(collector)
    if defaults:
        ProcessCollector(registry=reg)
        PlatformCollector(registry=reg)
        GCCollector(registry=reg)
    return reg


def render(collector, defaults: bool = True) -> tuple:
    """``(body, content_type)`` of the text exposition of ``collector`` (with ``defaults``, the process and
    Python collectors too: see :func:`registry`).

    Examples
    --------
    >>> body, ctype = render(TECollector(lambda: {"switches": 3}), defaults=False)
    >>> print("\\n".join(line for line in body.decode().splitlines() if "te_build" not in line))
    # HELP te_switches_connected Switches connected to the controller
    # TYPE te_switches_connected gauge
    te_switches_connected 3.0
    >>> ctype.split(";")[0]
    'text/plain'
    """
    return generate_latest(registry(collector, defaults)), CONTENT_TYPE_LATEST
