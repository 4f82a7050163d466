"""monitoring/grafana-dashboard.json loads, is what monitoring/dashboard.py writes, and its queries read only
metrics the controller exports (and parse as PromQL, where promtool is installed)."""
import doctest
import importlib.util
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from controller.metrics import TECollector, render
from topologies.b4 import b4_graph

from test_controller_core import Network
from test_metrics import rich_snapshot

REPO = Path(__file__).resolve().parents[2]
JSON_PATH = REPO / "monitoring" / "grafana-dashboard.json"


def load_generator():
    spec = importlib.util.spec_from_file_location("dashboard", REPO / "monitoring" / "dashboard.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def generator():
    return load_generator()


@pytest.fixture(scope="module")
def dashboard():
    return json.loads(JSON_PATH.read_text())


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> set:
    """The sample names a controller's /metrics has: a B4 core with intents, counters and adaptive TE on,
    through the same render() as GET /metrics (process and Python collectors included)."""
    net = Network(b4_graph(bw=10), tmp_path_factory.mktemp("b4"), te_elephants="global-first-fit")
    net.start()
    snapshot = rich_snapshot(net)
    body, _ = render(TECollector(lambda: snapshot))
    return {s.name for f in text_string_to_metric_families(body.decode()) for s in f.samples}


def test_the_json_is_a_dashboard_with_the_four_subjects(dashboard):
    assert dashboard["uid"] == "sdn-te-controller" and dashboard["title"]
    titles = [p["title"] for p in dashboard["panels"]]
    for wanted in ("Link utilisation", "Intent rate vs allocation", "Solve time", "Errors"):
        assert wanted in titles
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids)) and all(isinstance(i, int) for i in ids)
    for panel in dashboard["panels"]:
        pos = panel["gridPos"]
        assert 0 <= pos["x"] and pos["x"] + pos["w"] <= 24, panel["title"]
        refs = [t["refId"] for t in panel.get("targets", ())]
        assert len(refs) == len(set(refs)), panel["title"]


def test_every_query_reads_only_metrics_the_controller_exports(generator, dashboard, exported):
    exprs = generator.expressions(dashboard)
    assert len(exprs) >= 15
    read = set().union(*(generator.metric_names(e) for e in exprs))
    assert read - exported == set(), f"the dashboard reads metrics /metrics does not export: {read - exported}"
    # and the new conventions are what it is built on
    assert {"te_link_tx_bytes_total", "te_intent_bytes_total", "te_intent_dropped_bytes_total",
            "te_solve_duration_seconds_bucket", "te_solves_total", "te_build_info",
            "process_cpu_seconds_total"} <= read


def test_the_solve_time_panel_shows_histogram_quantiles(dashboard):
    [panel] = [p for p in dashboard["panels"] if p["title"] == "Solve time"]
    quantiles = [t["expr"] for t in panel["targets"] if t["expr"].startswith("histogram_quantile(")]
    assert [re.match(r"histogram_quantile\(([\d.]+),", e).group(1) for e in quantiles] == ["0.5", "0.9", "0.99"]
    assert all("te_solve_duration_seconds_bucket" in e and "by (le)" in e for e in quantiles)


def test_the_json_file_is_what_the_generator_writes(generator):
    pytest.importorskip("grafanalib", reason="grafanalib is not installed (requirements.txt)")
    assert JSON_PATH.read_text() == generator.render(), \
        "monitoring/grafana-dashboard.json is out of date: run .venv/bin/python monitoring/dashboard.py"


def test_generator_doctests(generator):
    result = doctest.testmod(generator)
    assert result.failed == 0 and result.attempted > 0


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool (Debian's prometheus) is not installed")
def test_every_query_parses_as_promql(generator, dashboard, tmp_path):
    """promtool checks the expressions as recording rules, Grafana's variables given plain values."""
    def plain(expr):
        return (expr.replace("$__rate_interval", "1m").replace("$job", ".*").replace("$intent", ".*"))

    exprs = [e for e in generator.expressions(dashboard) if not e.startswith("label_values(")]
    rules = {"groups": [{"name": "dashboard", "rules": [{"record": f"dashboard:query{n}", "expr": plain(e)}
                                                        for n, e in enumerate(exprs)]}]}
    path = tmp_path / "rules.yml"
    path.write_text(json.dumps(rules))  # JSON is YAML
    result = subprocess.run(["promtool", "check", "rules", str(path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
