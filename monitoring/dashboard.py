"""The Grafana dashboard of the controller's /metrics, written as code with grafanalib.

    .venv/bin/python monitoring/dashboard.py           # rewrites monitoring/grafana-dashboard.json
    .venv/bin/python monitoring/dashboard.py --check   # exit status 1 if the file is not what this writes

Import ``monitoring/grafana-dashboard.json`` in Grafana (Dashboards, New, Import) and pick a Prometheus
data source that scrapes the controller (``scripts/monitor.sh`` runs one here). Its panels: link
utilisation (from the byte counters, by switch name), each intent's measured rate against its
allocation and request, what its meter drops, TE solve time (quantiles of the histogram) and
solves, and errors and health (OpenFlow errors, handler errors, unroutable intents, failed
solves, switches connected, the controller process). Every expression names only metrics the
controller exports (tests/unit/test_grafana_dashboard.py checks it against ``controller.metrics.TECollector``).
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

OUTPUT = Path(__file__).resolve().parent / "grafana-dashboard.json"
UID = "sdn-te-controller"
DATASOURCE = "${datasource}"
RATE = "$__rate_interval"  # Grafana's rate window: at least four scrape intervals
JOB = 'job=~"$job"'

# PromQL words that look like metric names but are not: keywords, and aggregation modifiers.
_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless",
             "offset", "inf", "nan"}


def metric_names(expr: str) -> set:
    """The metric names a PromQL expression reads (label matchers, ranges, modifiers and functions left out).

    >>> sorted(metric_names('sum by (le) (rate(te_solve_duration_seconds_bucket{job=~"$job"}[5m]))'))
    ['te_solve_duration_seconds_bucket']
    >>> sorted(metric_names('rate(a_total[1m]) * 8 / ignoring(x) b_bps > bool 0.5'))
    ['a_total', 'b_bps']
    >>> sorted(metric_names('label_values(te_intent_requested_bps{job=~"$job"}, name)'))
    ['te_intent_requested_bps']
    """
    label_values = re.fullmatch(r"\s*label_values\((.*),\s*\w+\s*\)\s*", expr)
    if label_values:
        expr = label_values.group(1)
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', "", expr)  # strings
    expr = re.sub(r"\{[^}]*\}", "", expr)  # label matchers
    expr = re.sub(r"\[[^\]]*\]", "", expr)  # ranges and subqueries
    expr = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", expr)  # label lists
    names = set()
    for name, call in re.findall(r"(?<![\w.$])([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\()?", expr):
        if not call and name.lower() not in _KEYWORDS:
            names.add(name)
    return names


def expressions(dashboard_json: dict) -> list:
    """Every PromQL expression of a dashboard's JSON: its panels' targets (rows included) and query variables.

    >>> expressions({"panels": [{"targets": [{"expr": "up"}]}, {"panels": [{"targets": [{"expr": "x"}]}]}],
    ...              "templating": {"list": [{"type": "query", "query": "label_values(y, job)"}]}})
    ['up', 'x', 'label_values(y, job)']
    """
    out = []

    def walk(panels):
        for panel in panels:
            out.extend(t["expr"] for t in panel.get("targets", ()) if t.get("expr"))
            walk(panel.get("panels", ()))

    walk(dashboard_json.get("panels", ()))
    out.extend(v["query"] for v in dashboard_json.get("templating", {}).get("list", ())
               if v.get("type") == "query" and isinstance(v.get("query"), str))
    return out


def _targets(*queries):
    """grafanalib Targets with refIds A, B, ... from ``(expr, legend)`` pairs."""
    from grafanalib.core import Target

    return [Target(expr=expr, legendFormat=legend, refId=chr(ord("A") + n), datasource=DATASOURCE, intervalFactor=1)
            for n, (expr, legend) in enumerate(queries)]


def dashboard():
    """The dashboard as a grafanalib ``Dashboard``."""
    from grafanalib.core import (
        BarGauge, Dashboard, GridPos, RowPanel, Stat, Template, Templating, Time, TimeSeries,
    )

    def series(title, description, queries, unit, pos, **extra):
        return TimeSeries(title=title, description=description, dataSource=DATASOURCE, targets=_targets(*queries),
                          unit=unit, gridPos=GridPos(*pos), legendDisplayMode="table", legendPlacement="right",
                          tooltipMode="multi", **extra)

    link = "{{src_name}} -> {{dst_name}} ({{src}}:{{src_port}})"
    intent = f'{JOB}, name=~"$intent"'
    panels = [
        RowPanel(title="Links", gridPos=GridPos(1, 24, 0, 0)),
        series("Link utilisation", "Transmitted bits over capacity, from the switches' port counters "
               "(te_link_tx_bytes_total), per directed link.",
               [(f"rate(te_link_tx_bytes_total{{{JOB}}}[{RATE}]) * 8 / te_link_capacity_bps{{{JOB}}}", link)],
               "percentunit", (9, 16, 0, 1), valueMin=0),
        BarGauge(title="Busiest links now", description="Utilisation over the last polling interval "
                 "(te_link_utilization_ratio), the ten highest.", dataSource=DATASOURCE,
                 targets=_targets((f"topk(10, te_link_utilization_ratio{{{JOB}}})", link)),
                 format="percentunit", min=0, max=1, calc="lastNotNull", displayMode="gradient",
                 gridPos=GridPos(9, 8, 16, 1)),
        series("Planned load over capacity", "What the TE plan puts on each link, over its capacity.",
               [(f"te_link_planned_load_bps{{{JOB}}} / te_link_capacity_bps{{{JOB}}}", link)],
               "percentunit", (8, 24, 0, 10), valueMin=0),
        RowPanel(title="Intents", gridPos=GridPos(1, 24, 0, 18)),
        series("Intent rate vs allocation", "Bits per second each intent's meter let through "
               "(te_intent_bytes_total), against what the TE plan allocates and what the intent requests.",
               [(f"rate(te_intent_bytes_total{{{intent}}}[{RATE}]) * 8", "{{name}} #{{intent}} measured"),
                (f"te_intent_allocated_bps{{{intent}}}", "{{name}} #{{intent}} allocated"),
                (f"te_intent_requested_bps{{{intent}}}", "{{name}} #{{intent}} requested")],
               "bps", (9, 16, 0, 19), valueMin=0),
        series("Meter drops", "Bits per second each intent's meter dropped for exceeding its allocation "
               "(te_intent_dropped_bytes_total).",
               [(f"rate(te_intent_dropped_bytes_total{{{intent}}}[{RATE}]) * 8", "{{name}} #{{intent}}")],
               "bps", (9, 8, 16, 19), valueMin=0),
        RowPanel(title="TE solver", gridPos=GridPos(1, 24, 0, 28)),
        series("Solve time", "Quantiles of the TE solve duration (te_solve_duration_seconds histogram), and "
               "the last solve (te_solve_seconds).",
               [(f"histogram_quantile({q}, sum by (le) (rate(te_solve_duration_seconds_bucket{{{JOB}}}[{RATE}])))",
                 f"p{round(q * 100)}") for q in (0.5, 0.9, 0.99)] + [(f"te_solve_seconds{{{JOB}}}", "last")],
               "s", (8, 12, 0, 29)),
        series("Solves", "TE solves per minute (te_solves_total) and their mean duration.",
               [(f"rate(te_solves_total{{{JOB}}}[{RATE}]) * 60", "solves per minute"),
                (f"rate(te_solve_duration_seconds_sum{{{JOB}}}[{RATE}]) / "
                 f"rate(te_solve_duration_seconds_count{{{JOB}}}[{RATE}])", "mean seconds")],
               "short", (8, 12, 12, 29)),
        RowPanel(title="Errors and health", gridPos=GridPos(1, 24, 0, 37)),
        series("Errors", "OpenFlow errors from switches, exceptions in the controller's event handlers "
               "(both per 5 minutes), intents that cannot be routed, and a failed last solve.",
               [(f"increase(te_openflow_errors_total{{{JOB}}}[5m])", "OpenFlow errors / 5 min"),
                (f'increase(te_controller_events_total{{{JOB}, event="handler_errors"}}[5m])',
                 "handler errors / 5 min"),
                (f'sum(te_intent_state{{{JOB}, state="unroutable"}})', "unroutable intents"),
                (f'count(te_solve_info{{{JOB}, status=~"failed.*"}}) or vector(0)', "last solve failed")],
               "short", (8, 12, 0, 38), valueMin=0),
        Stat(title="Switches connected", dataSource=DATASOURCE, targets=_targets(
                 (f"te_switches_connected{{{JOB}}}", "connected"),
                 (f"count(te_switch_info{{{JOB}}})", "in the view")),
             reduceCalc="lastNotNull", graphMode="none", gridPos=GridPos(4, 6, 12, 38)),
        Stat(title="Rules installed", dataSource=DATASOURCE,
             targets=_targets((f"te_rules_installed{{{JOB}}}", "{{kind}}")),
             reduceCalc="lastNotNull", graphMode="none", gridPos=GridPos(4, 6, 18, 38)),
        series("Controller process", "CPU (cores) and resident memory of the controller process.",
               [(f"rate(process_cpu_seconds_total{{{JOB}}}[{RATE}])", "CPU cores"),
                (f"process_resident_memory_bytes{{{JOB}}} / 2^30", "memory GiB")],
               "short", (4, 12, 12, 42)),
    ]
    templating = Templating(list=[
        Template(name="datasource", label="Data source", type="datasource", query="prometheus"),
        Template(name="job", label="Job", dataSource=DATASOURCE, query="label_values(te_build_info, job)",
                 includeAll=True, allValue=".*", refresh=2, sort=1),
        Template(name="intent", label="Intent", dataSource=DATASOURCE, multi=True, includeAll=True, allValue=".*",
                 query=f"label_values(te_intent_requested_bps{{{JOB}}}, name)", refresh=2, sort=1),
    ])
    return Dashboard(title="SDN TE controller", uid=UID, description="Links, intents, TE solves and errors of "
                     "an sdn-te controller (generated by monitoring/dashboard.py)", tags=["sdn-te"],
                     panels=panels, templating=templating, time=Time("now-15m", "now"), refresh="10s",
                     timezone="browser").auto_panel_ids()


def render() -> str:
    """The dashboard's JSON text, as written to :data:`OUTPUT`."""
    from grafanalib._gen import DashboardEncoder

    return json.dumps(dashboard().to_json_data(), cls=DashboardEncoder, indent=2, sort_keys=True) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the file differs from what would be written")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        same = args.output.exists() and args.output.read_text() == text
        print(f"{args.output}: {'up to date' if same else 'out of date: run monitoring/dashboard.py'}")
        return 0 if same else 1
    args.output.write_text(text)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
