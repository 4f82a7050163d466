"""A real Prometheus (scripts/monitor.sh, Debian's package) scrapes a real controller on B4 every second while
iperf3 sends UDP through one intent above its allocation: PromQL's rate() of the intent's byte counters equals
what iperf3 received (and what the meter dropped), in Ethernet frames as the meter counts them."""
import json
import os
import shutil
import signal
import subprocess
import time

import pytest

from topologies import lab
from topologies.b4 import B4Topo

PROMETHEUS = shutil.which("prometheus")
pytestmark = pytest.mark.skipif(PROMETHEUS is None, reason="the prometheus binary is not installed (Debian package "
                                "prometheus; scripts/setup.sh installs it)")

MONITOR = lab.REPO / "scripts" / "monitor.sh"
UDP_PORT = 5201
ALLOCATED_BPS = 4e6
OFFERED_BPS = 6e6  # payload: above the allocation, so the meter passes 4 Mbit/s of frames and drops the rest
SECONDS = 24
STEADY = (8.0, SECONDS - 2.0)  # seconds after the client starts: rate()'s 5 s windows then start 3 s in
MPLS = 4  # bytes the ingress group pushes onto every frame before the first link
FRAME = lab.UDP_FRAME / lab.UDP_PAYLOAD  # frame bytes per payload byte


class Prometheus:
    """A Prometheus started by ``scripts/monitor.sh`` into ``directory``, stopped by its pid."""

    def __init__(self, directory, target: str):
        self.dir, self.target = directory, target
        self.listen = f"127.0.0.1:{lab.free_port()}"
        self.pid = None

    def start(self) -> None:
        run = subprocess.run([str(MONITOR), "start", "--target", self.target, "--listen", self.listen,
                              "--interval", "1", "--dir", str(self.dir)], capture_output=True, text=True, timeout=90)
        assert run.returncode == 0, run.stderr
        self.pid = int((self.dir / "prometheus.pid").read_text())
        again = subprocess.run([str(MONITOR), "start", "--target", self.target, "--listen", self.listen,
                                "--interval", "1", "--dir", str(self.dir)], capture_output=True, text=True, timeout=90)
        assert again.returncode == 0 and "already running" in again.stderr, again.stderr  # idempotent

    def alive(self) -> bool:
        try:  # an exited process, reaped or not, has no command line
            with open(f"/proc/{self.pid}/cmdline", "rb") as f:
                return b"prometheus" in f.read()
        except OSError:
            return False

    def stop(self) -> list:
        """Stop it (monitor.sh stop, SIGKILL to the pid if that failed); what went wrong, if anything."""
        if self.pid is None:
            return []
        problems = []
        run = subprocess.run([str(MONITOR), "stop", "--dir", str(self.dir)], capture_output=True, text=True,
                             timeout=60)
        if run.returncode != 0 or self.alive():
            problems.append(f"monitor.sh stop left Prometheus (pid {self.pid}) running: {run.stderr}")
            if self.alive():
                os.kill(self.pid, signal.SIGKILL)
        return problems

    def api(self, path: str, **params):
        import requests

        r = requests.get(f"http://{self.listen}/api/v1/{path}", params=params, timeout=10)
        body = r.json()
        assert r.status_code == 200 and body["status"] == "success", (path, params, r.text[:500])
        return body["data"]

    def query(self, expr: str) -> list:
        return self.api("query", query=expr)["result"]

    def query_range(self, expr: str, start: float, end: float) -> list:
        """The values of the one series ``expr`` gives, every second from ``start`` to ``end`` (Unix time)."""
        [series] = self.api("query_range", query=expr, start=start, end=end, step=1)["result"]
        return [float(v) for _, v in series["values"]]


@pytest.fixture
def prometheus(artifacts):
    """Call with the controller's REST address; returns a started :class:`Prometheus` scraping it every second."""
    started = []

    def start(target: str) -> Prometheus:
        prom = Prometheus(artifacts / "prometheus", target)
        started.append(prom)
        prom.start()
        return prom

    yield start

    problems = [p for prom in started for p in prom.stop()]
    if problems:
        pytest.fail("teardown: " + "; ".join(problems), pytrace=False)


def steady_mean(report: dict, lo: float, hi: float) -> float:
    """Mean bit/s of an iperf3 JSON report's 1-second intervals that lie within [lo, hi] seconds of its start."""
    rates = [iv["sum"]["bits_per_second"] for iv in report["intervals"]
             if iv["sum"]["start"] >= lo - 0.5 and iv["sum"]["end"] <= hi + 0.5]
    assert len(rates) >= 8, report["intervals"]
    return sum(rates) / len(rates)


def test_prometheus_rate_of_the_intent_byte_counters_matches_iperf3(network, prometheus):
    setup = network(B4Topo(bw=10), port_stats_interval=1.0)
    prom = prometheus(f"127.0.0.1:{setup.controller.api_port}")
    lab.wait_full_reachability(setup.net, deadline_s=60)
    intent_id = lab.post_intent(setup, src="10.0.0.1", dst="10.0.0.5", rate_bps=ALLOCATED_BPS, name="video",
                                match={"ip_proto": 17, "tp_dst": UDP_PORT})
    lab.wait_allocations(setup, [intent_id])
    deadline = time.monotonic() + 30
    while not [s for s in prom.query('up{job="te-controller"} == 1')]:
        assert time.monotonic() < deadline, prom.api("targets")
        time.sleep(0.5)

    h1, h5 = setup.net.get("h1"), setup.net.get("h5")
    server = lab.start_iperf_server(h5, UDP_PORT)
    lab.wait_iperf_server(h5, UDP_PORT)
    started = time.time()  # Unix time, as Prometheus keeps it
    client = lab.start_iperf_udp(h1, h5.IP(), UDP_PORT, OFFERED_BPS, SECONDS)
    sent_report = json.loads(client.communicate(timeout=SECONDS + 30)[0])
    received_report = json.loads(server.communicate(timeout=30)[0])
    time.sleep(max(0.0, started + STEADY[1] + 3 - time.time()))  # the last polls and scrapes of the window

    labels = f'intent="{intent_id}", name="video"'
    assert prom.query(f"te_intent_dropped_bytes_total{{{labels}}}"), \
        "no te_intent_dropped_bytes_total: controller/app.py must hand the core controller.stats.meter_sample()s"
    start, end = started + STEADY[0], started + STEADY[1]
    passed = prom.query_range(f"rate(te_intent_bytes_total{{{labels}}}[5s]) * 8", start, end)
    dropped = prom.query_range(f"rate(te_intent_dropped_bytes_total{{{labels}}}[5s]) * 8", start, end)
    alloc = lab.allocation(setup, intent_id)
    first = alloc["paths"][0]["switches"][:2]
    link = f'src="{first[0]}", dst="{first[1]}"'
    on_link = prom.query_range(f"rate(te_link_tx_bytes_total{{{link}}}[5s]) * 8", start, end)
    (setup.artifacts / "prometheus_series.json").write_text(json.dumps(
        {"passed": passed, "dropped": dropped, "first_link": on_link, "window": [start, end]}))

    received = steady_mean(received_report, STEADY[0] - 5, STEADY[1]) * FRAME
    offered = steady_mean(sent_report, STEADY[0] - 5, STEADY[1]) * FRAME
    measured = sum(passed) / len(passed)
    lab.record("prometheus", "rate_intent_bytes_over_received", measured / received, "ratio",
               prometheus_bps=measured, iperf3_received_frame_bps=received)
    assert abs(measured - received) <= 0.05 * received, (measured, received, passed)
    # The meter drops what is offered beyond the allocation.
    measured_drop = sum(dropped) / len(dropped)
    lab.record("prometheus", "rate_intent_dropped_bytes_over_lost", measured_drop / (offered - received), "ratio",
               prometheus_bps=measured_drop, iperf3_lost_frame_bps=offered - received)
    assert offered - received > 0.2 * offered, (offered, received)  # the meter did have to drop
    assert abs(measured_drop - (offered - received)) <= 0.10 * (offered - received), (measured_drop, offered,
                                                                                        received, dropped)
    # The first link of the path carries the intent's frames, with the MPLS label the ingress pushes.
    link_bps = sum(on_link) / len(on_link)
    assert abs(link_bps - measured * (lab.UDP_FRAME + MPLS) / lab.UDP_FRAME) <= 0.05 * measured, (link_bps, measured)

    # The rest of the conventions, as Prometheus stored them.
    [build] = prom.query("te_build_info")
    assert build["metric"]["version"] and build["metric"]["ryu"] == "4.34"
    assert float(prom.query("te_solves_total")[0]["value"][1]) >= 1
    assert float(prom.query("te_solve_duration_seconds_count")[0]["value"][1]) == \
        float(prom.query("te_solves_total")[0]["value"][1])
    assert prom.query('histogram_quantile(0.9, sum by (le) (rate(te_solve_duration_seconds_bucket[5m])))')
    [s1] = prom.query(f'te_switch_info{{switch="{first[0]}"}}')
    assert s1["metric"]["name"] == "s1"
    names = {r["metric"]["src_name"] for r in prom.query("te_link_tx_bytes_total")}
    assert names == {f"s{n}" for n in range(1, 13)}
    assert prom.query("process_cpu_seconds_total") and prom.query("python_info")
