"""Prometheus metrics of the controller, read from a snapshot of plain data at scrape time.

The app hands :class:`TECollector` a callable that returns a mapping (every key optional)::

    {
      "links":       [...],  # the Link objects of GET /te/v1/links
      "allocations": [...],  # the Allocation objects of GET /te/v1/allocations, with "measured_bps"
      "solve":       {...},  # the "solve" object of GET /te/v1/allocations
      "rules":       {"flow": 40, "group": 12, "meter": 3},   # installed on the switches now
      "counters":    {"of_errors": 0, "packet_in": 812, ...},  # monotonic event counts
      "switches":    12,     # connected switches
      "elephants":   [...],  # the Elephant objects of GET /te/v1/elephants (None: adaptive TE off)
    }

so the metrics show exactly what the REST API shows, and this module needs neither Ryu nor
the app. :func:`render` gives the exposition for a WSGI handler.
"""
from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

STATES = ("pending", "installed", "partial", "unroutable")
LINK_LABELS = ("src", "src_port", "dst")
INTENT_LABELS = ("intent", "name")
# Counters with a metric of their own; every other counter goes to te_controller_events_total.
NAMED_COUNTERS = {"of_errors": ("te_openflow_errors", "OpenFlow error messages received from switches"),
                  "elephants_detected": ("te_elephants_detected", "Elephant flows adaptive TE detected")}
ELEPHANT_STATES = ("placed", "no-room", "intent", "local", "unlocated", "new")


class TECollector:
    """A prometheus_client collector over ``snapshot()``; see the module docstring for its shape.

    Examples
    --------
    >>> c = TECollector(lambda: {"switches": 2, "rules": {"flow": 7}})
    >>> [(s.name, s.labels, s.value) for m in c.collect() for s in m.samples]
    [('te_rules_installed', {'kind': 'flow'}, 7), ('te_switches_connected', {}, 2)]
    """

    def __init__(self, snapshot):
        self.snapshot = snapshot

    def collect(self):
        data = self.snapshot() or {}
        yield from _link_metrics(data.get("links"))
        yield from _intent_metrics(data.get("allocations"))
        yield from _solve_metrics(data.get("solve"))
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


def _elephant_metrics(elephants):
    """Elephants by state, and their measured rates summed per state."""
    family = GaugeMetricFamily("te_elephants", "Elephant flows adaptive TE tracks now, by state", labels=["state"])
    for state in ELEPHANT_STATES:
        family.add_metric([state], sum(1 for e in elephants if e["state"] == state))
    return family


def _link_metrics(links):
    if links is None:
        return
    families = {
        "capacity_bps": GaugeMetricFamily("te_link_capacity_bps", "Link capacity in bit/s", labels=LINK_LABELS),
        "planned_load_bps": GaugeMetricFamily("te_link_planned_load_bps", "Load the TE plan puts on the link, bit/s",
                                              labels=LINK_LABELS),
        "measured_load_bps": GaugeMetricFamily("te_link_measured_load_bps", "Measured transmit rate, bit/s",
                                               labels=LINK_LABELS),
        "utilization": GaugeMetricFamily("te_link_utilization_ratio", "Measured load over capacity",
                                         labels=LINK_LABELS),
    }
    for link in links:
        labels = [str(link.get(k, "")) for k in LINK_LABELS]
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
        "measured_bps": GaugeMetricFamily("te_intent_measured_bps", "Measured rate of the intent's traffic, bit/s",
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


def _solve_metrics(solve):
    if not solve:
        return
    if solve.get("solve_seconds") is not None:
        yield GaugeMetricFamily("te_solve_seconds", "Duration of the last TE solve", value=solve["solve_seconds"])
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


def render(collector) -> tuple:
    """``(body, content_type)`` of the text exposition of ``collector`` alone.

    Examples
    --------
    >>> body, ctype = render(TECollector(lambda: {"switches": 3}))
    >>> print(body.decode().strip())
    # HELP te_switches_connected Switches connected to the controller
    # TYPE te_switches_connected gauge
    te_switches_connected 3.0
    >>> ctype.split(";")[0]
    'text/plain'
    """
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    return generate_latest(registry), CONTENT_TYPE_LATEST
