"""B4 demo: the controller engineers real traffic for a sample intent file on an emulated B4 WAN.

1. starts ``te-controller`` (controller.app) and B4 in Mininet: 12 userspace OVS switches, 19 WAN links
   and 12 host links, all shaped to 10 Mbit/s; waits until every host reaches every other one;
2. applies ``examples/b4-intents.yaml`` with the real ``te-intent apply -f`` and shows its diff;
3. waits until every intent's allocation is on the switches (GET /te/v1/allocations);
4. drives iperf3 for every intent at the same time, 1.2 times the requested rate, to the intent's
   ports, 16 flows each: TCP when the intent matches ip_proto 6 or is split over several paths
   without matching UDP (OVS spreads UDP between two hosts onto one path), UDP otherwise;
   measured at the receiver;
5. prints one row per intent (requested, allocated, measured, paths with their split) and writes
   PNG plots (link utilisation on the B4 map, requested/allocated/measured per intent).

With ``--ha``: three controllers on a 3-member etcd cluster instead of one (every switch connected to all
three); the demo talks to a follower (writes reach the leader through it), and SIGKILLs the leader halfway
through the traffic: a standby takes over, and the table shows what the intents got all the same.

Everything it writes goes to ``results/demo/``. It stops everything it started on exit, Ctrl-C or
SIGTERM; ``--stay`` keeps it all up for exploring (Mininet CLI when run from a terminal) until then.
Exit status: 0 done, 1 failed (one line says why), 130 interrupted.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from topologies.b4 import B4Topo
from topologies.lab import (
    REPO, TCP_PAYLOAD_SHARE, UDP_FRAME, UDP_PAYLOAD, Api, Setup, budget_warning, environment_problem,
    machine_lock, wait_full_reachability,
)

OUT = REPO / "results" / "demo"
INTENTS = REPO / "examples" / "b4-intents.yaml"
LINK_MBPS = 10
OVERSUBSCRIBE = 1.2  # offered rate / requested rate
# A SELECT group splits flows, not packets (OVS hashes the 5-tuple): an intent on several paths needs many
# flows to follow its split, and TCP through a policing meter fills it better as many small flows.
STREAMS = 16
FIRST_PORT = 5201
STEPS = 6


class Failed(Exception):
    """The demo cannot go on; the message is the one line the user sees."""


class Interrupted(BaseException):
    """SIGTERM or SIGHUP: stop like on Ctrl-C."""


class Progress:
    """``[i/n] what`` lines with the time since the start, and how long each step took."""

    def __init__(self):
        self.start = time.monotonic()
        self.step_start = self.start
        self.number = 0
        self.staying = False  # all steps done, up for exploring: Ctrl-C is the normal way out

    def step(self, text: str) -> None:
        self.number += 1
        self.step_start = time.monotonic()
        print(f"\n[{self.number}/{STEPS}] {text}  (t={self.step_start - self.start:.1f} s)", flush=True)

    def note(self, text: str) -> None:
        print(f"      {text}", flush=True)

    def done(self, text: str = "done") -> None:
        self.note(f"{text} in {time.monotonic() - self.step_start:.1f} s")


# --- the REST API ------------------------------------------------------------------------------------

def get(api_url: str, what: str) -> dict:
    import requests

    try:
        return Api(api_url).call("GET", f"/{what}", expect=200).json()
    except (requests.RequestException, ValueError, AssertionError) as exc:
        raise Failed(f"GET {api_url}/{what} failed: {exc}") from None


def te_intent(api_url: str, *args: str) -> subprocess.CompletedProcess:
    """The real ``te-intent`` command (its console script when installed, else the module)."""
    script = REPO / ".venv" / "bin" / "te-intent"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "controller.client.intent_cli"]
    env = dict(os.environ, TE_CONTROLLER=api_url.rsplit("/te/v1", 1)[0])
    return subprocess.run(command + list(args), cwd=REPO, env=env, capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL)


def wait_allocations(api_url: str, names: list, timeout: float) -> dict:
    """Wait until every named intent is installed or partial (on the switches); the allocations body."""
    try:
        Api(api_url).wait_allocations(names, timeout, by="name")
    except AssertionError as exc:
        raise Failed(str(exc)) from None
    return get(api_url, "allocations")


# --- traffic -------------------------------------------------------------------------------------------

class Flow:
    """The iperf3 traffic of one intent: a server on its destination host, a client on its source."""

    def __init__(self, intent: dict, port: int, hosts: dict, paths: int):
        self.intent = intent
        self.port = port
        match = intent.get("match") or {}
        # OVS userspace SELECT groups hash UDP without its ports: UDP between two hosts cannot follow a split.
        self.tcp = match.get("ip_proto") == 6 or (paths > 1 and match.get("ip_proto") is None)
        self.src, self.dst = hosts[intent["src"]], hosts[intent["dst"]]
        self.cport = match.get("tp_src")
        self.streams = 1 if self.cport is not None else STREAMS  # a fixed source port allows one flow only
        self.server = self.client = None
        self.measured_bps: float | None = None
        self.intervals_bps: list = []  # the receiver's goodput per second

    @property
    def offered_bps(self) -> float:
        """Payload rate for iperf3 -b: frames at OVERSUBSCRIBE times the requested rate."""
        return OVERSUBSCRIBE * self.intent["rate_bps"] * UDP_PAYLOAD / UDP_FRAME

    def start_server(self):
        self.server = self.dst.popen(["iperf3", "-s", "-1", "-J", "-p", str(self.port)],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT)

    def start_client(self, seconds: int):
        streams = self.streams
        command = ["iperf3", "-c", self.dst.IP(), "-p", str(self.port), "-t", str(seconds), "-P", str(streams), "-J"]
        if self.cport is not None:
            command += ["--cport", str(self.cport)]
        if self.tcp:
            command += ["-b", str(int(OVERSUBSCRIBE * self.intent["rate_bps"] * TCP_PAYLOAD_SHARE / streams))]
        else:
            command += ["-u", "-b", str(int(self.offered_bps / streams)), "-l", str(UDP_PAYLOAD)]
        self.client = self.src.popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)

    def frame_rate_bps(self, timeout: float) -> float:
        """The receiver's steady goodput as Ethernet frame rate (what meters and links count).

        Mean of the server's 1-second intervals without the first two (meter burst, start-up)
        and the last (often partial).
        """
        name = self.intent.get("name")
        try:
            client_out, _ = self.client.communicate(timeout=timeout)
            server_out, _ = self.server.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            raise Failed(f"iperf3 for intent {name} did not finish within {timeout:.0f} s") from None
        try:
            report = json.loads(server_out)
            rates = [iv["sum"]["bits_per_second"] for iv in report["intervals"]]
        except (ValueError, KeyError, TypeError):
            tail = " ".join((client_out or b"").decode(errors="replace").split())[-200:]
            raise Failed(f"iperf3 for intent {name} gave no report (client said: {tail})") from None
        self.intervals_bps = rates
        steady = rates[2:-1] if len(rates) > 4 else rates
        if not steady:
            raise Failed(f"iperf3 for intent {name} measured nothing")
        goodput = sum(steady) / len(steady)
        return goodput / TCP_PAYLOAD_SHARE if self.tcp else goodput * UDP_FRAME / UDP_PAYLOAD

    def kill(self):
        for proc in (self.client, self.server):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait(5)


def plan_flows(intents: list, allocations: dict, net) -> list:
    """One :class:`Flow` per intent, each server on a port of its own on its host (the intent's tp_dst if any)."""
    hosts = {h.IP(): h for h in net.hosts}
    used, flows = set(), []
    next_port = FIRST_PORT
    for intent in intents:
        port = (intent.get("match") or {}).get("tp_dst")
        if port is None or (intent["dst"], port) in used:
            while (intent["dst"], next_port) in used:
                next_port += 1
            port = next_port
        used.add((intent["dst"], port))
        flows.append(Flow(intent, port, hosts, len(allocations[intent["id"]].get("paths") or [])))
    return flows


def wait_listening(flow, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while f":{flow.port} " not in flow.dst.cmd(f"ss -lnH 'sport = :{flow.port}'") + " ":
        if flow.server.poll() is not None or time.monotonic() > deadline:
            raise Failed(f"iperf3 server on {flow.dst.name}:{flow.port} did not start")
        time.sleep(0.05)


def drive(flows: list, seconds: int, api_url: str) -> dict:
    """Run every flow at once; returns the API snapshot taken near the end of the traffic."""
    for flow in flows:
        flow.start_server()
    for flow in flows:
        wait_listening(flow)
    for flow in flows:
        flow.start_client(seconds)
    begin = time.monotonic()
    live = sys.stdout.isatty()
    for n in range(1, seconds):
        time.sleep(max(0.0, begin + n - time.monotonic()))
        if live:
            print(f"\r      traffic {n}/{seconds} s", end="", flush=True)
    print("\r      traffic running, measuring" if live else "      traffic running, measuring", flush=True)
    # The controller measures links (and intents) over a few seconds: look while traffic still flows.
    snapshot = {what: get(api_url, what) for what in ("topology", "links", "allocations")}
    for flow in flows:
        flow.measured_bps = flow.frame_rate_bps(timeout=seconds + 30)
    return snapshot


def start_failover(setup, after: float):
    """A thread that SIGKILLs the leader ``after`` seconds from now and waits for a standby to take over."""
    import threading

    def run():
        time.sleep(after)
        killed = setup.leader
        start = time.monotonic()
        try:
            setup.kill(killed)
            new = setup.wait_leader(timeout=15, not_=killed, step=0.02)
            elected = time.monotonic() - start
            time.sleep(1)  # the takeover: read back, nothing to change
            thread.result = {"killed": killed, "new": new, "elected_s": elected,
                             "changes": setup.cluster(new)["changes_sent"]}
            setup.leader = new
        except (RuntimeError, OSError, KeyError, TypeError) as exc:
            thread.result = {"error": f"failover: {exc}"}

    thread = threading.Thread(target=run, daemon=True)
    thread.result = {}
    thread.start()
    return thread


# --- the results -------------------------------------------------------------------------------------------

def mbit(bps) -> str:
    return "-" if bps is None else f"{bps / 1e6:.2f}"


def describe_match(match: dict) -> str:
    proto = {6: "tcp", 17: "udp", 1: "icmp"}.get(match.get("ip_proto"), match.get("ip_proto"))
    parts = [str(proto)] if proto is not None else []
    parts += [f"{k.split('_')[1]}port {match[k]}" for k in ("tp_src", "tp_dst") if k in match]
    return " ".join(parts) or "-"


def results_table(flows: list, allocations: dict, names: dict) -> str:
    """One row per intent (more lines when it has several paths); rates in Mbit/s of Ethernet frames."""
    from controller.client.formatting import format_paths

    by_name = {a.get("name"): a for a in allocations["allocations"]}
    controller_measures = any(a.get("measured_bps") is not None for a in allocations["allocations"])
    headers = ["NAME", "SRC -> DST", "CLASS", "GROUP", "PRIO", "WEIGHT", "MATCH", "REQUESTED", "ALLOCATED", "MEASURED",
               "MEAS/ALLOC"]
    headers += ["CTL-MEASURED"] if controller_measures else []
    headers += ["STATE", "PATHS (rate, share)"]
    rows = []
    for flow in flows:
        i = flow.intent
        a = by_name[i["name"]]
        ratio = f"{flow.measured_bps / a['allocated_bps']:.2f}" if a["allocated_bps"] > 0 else "-"
        row = [i["name"], f"{i['src']} -> {i['dst']}", i.get("class") or "best-effort", i.get("group") or "-",
               str(i["priority"]), f"{i['weight']:g}",
               describe_match(i.get("match") or {}), mbit(i["rate_bps"]), mbit(a["allocated_bps"]),
               mbit(flow.measured_bps), ratio]
        row += [mbit(a.get("measured_bps"))] if controller_measures else []
        paths = format_paths(a, names) or ["-"]
        rows.append(row + [a["state"], paths[0]])
        rows += [[""] * (len(row) + 1) + [p] for p in paths[1:]]
    right = {"PRIO", "WEIGHT", "REQUESTED", "ALLOCATED", "MEASURED", "MEAS/ALLOC", "CTL-MEASURED"}
    widths = [max(len(r[c]) for r in [headers] + rows) for c in range(len(headers))]
    return "\n".join("  ".join(cell.rjust(w) if h in right else cell.ljust(w)
                               for h, cell, w in zip(headers, r, widths)).rstrip() for r in [headers] + rows)


def write_results(flows: list, snapshot: dict, seconds: int) -> list:
    """The PNG plots and demo.json (the API snapshot plus the measurements) in OUT; returns the PNG paths."""
    from controller.client.plots import plot_intent_rates, plot_utilization_map

    topology, links = snapshot["topology"], snapshot["links"]
    allocations = json.loads(json.dumps(snapshot["allocations"]))
    measured = {f.intent["name"]: f.measured_bps for f in flows}
    for a in allocations["allocations"]:
        a["measured_bps"] = measured.get(a.get("name"))  # the receivers' view, not the controller's
    paths = []
    if any(link.get("measured_load_bps") is not None for link in links["links"]):
        paths.append(plot_utilization_map(topology, links, OUT / "utilization_map.png", "measured",
                                          "B4 link utilisation measured during the demo traffic"))
    paths.append(plot_utilization_map(topology, links, OUT / "utilization_planned.png", "planned",
                                      "B4 link utilisation planned by the TE solve"))
    paths.append(plot_intent_rates(allocations, OUT / "intent_rates.png",
                                   f"Per intent: requested, allocated, measured (iperf3 receivers, {seconds} s)"))
    (OUT / "demo.json").write_text(json.dumps({
        "intents_file": str(INTENTS.relative_to(REPO)), "seconds": seconds, "oversubscribe": OVERSUBSCRIBE,
        "measured_frame_bps": measured,
        "receiver_goodput_intervals_bps": {f.intent["name"]: f.intervals_bps for f in flows}, **snapshot},
        indent=1, sort_keys=True) + "\n")
    return paths


# --- staying up ----------------------------------------------------------------------------------------------

def explore(setup, api_url: str) -> None:
    import requests

    base = api_url.rsplit("/te/v1", 1)[0]
    try:
        dashboard = requests.get(base + "/", timeout=5).status_code == 200
    except requests.RequestException:
        dashboard = False
    cli = ".venv/bin/te-intent" if (REPO / ".venv" / "bin" / "te-intent").exists() \
        else ".venv/bin/python -m controller.client.intent_cli"
    print(f"""
Everything stays up. From another shell, in {REPO}:
  export TE_CONTROLLER={base}
  {cli} allocations
  {cli} show video
  {cli} add --name extra --src 10.0.0.9 --dst 10.0.0.1 --rate 3M --priority 1
  {cli} apply -f examples/b4-intents.yaml --prune
  curl -s $TE_CONTROLLER/te/v1/links | python3 -m json.tool
  ovs-ofctl -O OpenFlow13 dump-flows s1; ovs-ofctl -O OpenFlow13 dump-groups s1
  dashboard: {base + '/' if dashboard else '(not served by this controller)'}
  controller log: {setup.controller.log_path}""", flush=True)
    if sys.stdin.isatty():
        from mininet.cli import CLI

        print("Mininet CLI (try 'h1 ping -c3 h12', 'iperf h4 h9', 'link s7 s11 down'); 'exit' stops everything.")
        CLI(setup.net)
    else:
        print(f"Stop with Ctrl-C or `kill {os.getpid()}`.", flush=True)
        while True:
            time.sleep(3600)


# --- main ------------------------------------------------------------------------------------------------------

def run(args, progress: Progress, setup_box: list, flows_box: list) -> None:
    from controller.client.errors import UsageError
    from controller.client.intent_file import read_intent_file

    try:
        desired = read_intent_file(str(args.intents))
    except UsageError as exc:
        raise Failed(str(exc)) from None
    problem = environment_problem()
    if problem:
        raise Failed(problem)
    # Another lab (a test of this demo, say) may be writing to OUT: wait for it before clearing OUT.
    try:
        machine_lock().close()
    except RuntimeError as exc:
        raise Failed(str(exc)) from None
    if OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir(parents=True)

    if args.ha:
        from topologies.lab.ha import HASetup

        progress.step(f"Starting a 3-member etcd cluster, three te-controllers on it, and B4 in Mininet (every "
                      f"switch connected to all three): 12 switches, 19 links, 12 hosts, {LINK_MBPS} Mbit/s links")
        setup = HASetup("demo", B4Topo(bw=LINK_MBPS), OUT, controllers=3, etcd_members=3)
    else:
        progress.step(f"Starting te-controller (controller.app) and B4 in Mininet: 12 switches, 19 links, "
                      f"12 hosts, {LINK_MBPS} Mbit/s links")
        setup = Setup("demo", B4Topo(bw=LINK_MBPS), OUT)
    setup_box.append(setup)
    try:
        setup.start()
        if args.ha:
            leader = setup.wait_leader(30)
            setup.leader = leader
            setup.controller = setup.controllers[(leader + 1) % 3]  # the demo talks to a follower
            progress.note(f"c{leader} leads (OpenFlow MASTER of every switch), the others follow (SLAVE); etcd "
                          f"{setup.etcd.url()}")
    except RuntimeError as exc:
        raise Failed(str(exc)) from None
    api_url = setup.controller.api_url
    progress.note(f"controller: OpenFlow on 127.0.0.1:{setup.controller.port}, REST API {api_url}")
    progress.note(f"controller log: {setup.controller.log_path.relative_to(REPO)}")
    progress.done("started")

    progress.step("Waiting until every host reaches every other one (parallel ping rounds)")
    try:
        reached, rounds = wait_full_reachability(setup.net, deadline_s=90)
    except AssertionError as exc:
        raise Failed(str(exc)) from None
    progress.note(f"132 host pairs reach each other after {len(rounds)} ping rounds, "
                  f"{reached - setup.controller.started_at:.1f} s after the controller started")
    progress.done()

    progress.step(f"Applying {args.intents.relative_to(REPO) if args.intents.is_relative_to(REPO) else args.intents}"
                  f" ({len(desired)} intents) with te-intent apply -f")
    applied = te_intent(api_url, "apply", "-f", str(args.intents))
    for line in applied.stdout.splitlines():
        progress.note(line)
    if applied.returncode != 0:
        raise Failed(applied.stderr.strip().splitlines()[-1] if applied.stderr.strip()
                     else f"te-intent apply exited with {applied.returncode}")
    progress.done()

    progress.step("Waiting until the TE loop has solved and every allocation is on the switches")
    names = [i.name for i in desired]
    body = wait_allocations(api_url, names, timeout=30)
    states = [a["state"] for a in body["allocations"] if a.get("name") in names]
    solve = body.get("solve") or {}
    seconds = solve.get("solve_seconds")
    install = solve.get("last_install") or {}
    progress.note(f"{states.count('installed')} intents installed in full, {states.count('partial')} partially; "
                  f"solve {solve.get('objective')} {solve.get('status')}"
                  + (f" in {1000 * seconds:.0f} ms" if isinstance(seconds, (int, float)) else "")
                  + (f", last install {install.get('changes')} OpenFlow mods in {1000 * install['seconds']:.0f} ms"
                     if install.get("seconds") is not None else ""))
    progress.done()

    progress.step(f"Driving traffic for every intent at once for {args.seconds} s "
                  f"(iperf3 at {OVERSUBSCRIBE:g}x the requested rate)")
    intents = {i["name"]: i for i in get(api_url, "intents")["intents"]}
    by_id = {a["intent_id"]: a for a in body["allocations"]}
    flows = plan_flows([intents[n] for n in names], by_id, setup.net)
    flows_box.extend(flows)
    warning = budget_warning([(OVERSUBSCRIBE * f.intent["rate_bps"],
                               max((len(p["switches"]) for p in by_id[f.intent["id"]]["paths"]), default=1), f.tcp)
                              for f in flows])
    if warning:
        progress.note(warning)
    for flow in flows:
        rate = OVERSUBSCRIBE * flow.intent["rate_bps"] / 1e6
        progress.note(f"{flow.intent['name']:10} {flow.src.name:>3} -> {flow.dst.name:<3} "
                      f"{'TCP' if flow.tcp else 'UDP'} to port {flow.port}, {flow.streams} flows, "
                      f"{'paced at' if flow.tcp else 'offered'} {rate:.2f} Mbit/s")
    failover = start_failover(setup, args.seconds / 2) if args.ha else None
    snapshot = drive(flows, args.seconds, api_url)
    if failover is not None:
        failover.join()
        if "error" in failover.result:
            raise Failed(failover.result["error"])
        r = failover.result
        progress.note(f"c{r['killed']} (the leader) was SIGKILLed {args.seconds / 2:g} s into the traffic: c{r['new']} "
                      f"led {r['elected_s']:.2f} s later and sent {r['changes']} OpenFlow changes taking over")
    progress.done()

    progress.step("Results")
    switch_names = {s["dpid"]: s["name"] for s in snapshot["topology"].get("switches", []) if s.get("name")}
    print("\nRates in Mbit/s of Ethernet frames (what meters and links count). MEASURED: iperf3 receiver, "
          "steady seconds,\nconverted from goodput to frame rate. Allocations leave the controller's "
          f"{100 * (snapshot['allocations'].get('solve') or {}).get('headroom', 0):.0f}% link headroom free.\n")
    print(results_table(flows, snapshot["allocations"], switch_names))
    print()
    for path in write_results(flows, snapshot, args.seconds):
        progress.note(f"plot: {path.relative_to(REPO)}")
    progress.note(f"API snapshot and measurements: {(OUT / 'demo.json').relative_to(REPO)}")
    progress.done()
    if args.stay:
        progress.staying = True
        explore(setup, api_url)


def cleanup(setup_box: list, flows_box: list) -> list:
    for flow in flows_box:
        flow.kill()
    problems = []
    for setup in setup_box:
        problems += setup.stop()  # stop_network also interrupts host commands cut short
        logs = [c for c in getattr(setup, "controllers", [setup.controller]) if c is not None]
        for controller in logs:
            bad = controller.log_problems()
            if bad:
                problems.append(f"controller log {controller.log_path} has {len(bad)} error lines, first: "
                                f"{bad[0].strip()}")
    return problems


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stay", action="store_true",
                        help="keep the controller and the network up afterwards (until Ctrl-C, or 'exit' in the "
                             "Mininet CLI)")
    parser.add_argument("--seconds", type=int, default=10, help="traffic duration (default 10, at least 5)")
    parser.add_argument("--intents", type=Path, default=INTENTS, help="intent file (default examples/b4-intents.yaml)")
    parser.add_argument("--ha", action="store_true",
                        help="three controllers on a 3-member etcd cluster; the leader is killed during the traffic")
    args = parser.parse_args(argv)
    if args.seconds < 5:
        parser.error("--seconds must be at least 5")
    args.intents = args.intents.resolve()

    def terminate(signum, _frame):
        raise Interrupted(signal.Signals(signum).name)

    signal.signal(signal.SIGTERM, terminate)
    signal.signal(signal.SIGHUP, terminate)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even when started in the background
    progress = Progress()
    print(f"B4 traffic-engineering demo; output in {OUT.relative_to(REPO)}/", flush=True)
    setup_box, flows_box = [], []
    status = 0
    try:
        run(args, progress, setup_box, flows_box)
    except Failed as exc:
        print(f"\ndemo: error: {exc}", file=sys.stderr, flush=True)
        status = 1
    except (KeyboardInterrupt, Interrupted) as exc:
        if not progress.staying:
            print(f"\ndemo: interrupted ({str(exc) or 'SIGINT'})", file=sys.stderr, flush=True)
            status = 130
    finally:
        # A second Ctrl-C must not leave half a network behind.
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)
        if setup_box:
            t0 = time.monotonic()
            print("\nStopping the network and the controller ...", end="", flush=True)
            problems = cleanup(setup_box, flows_box)
            print(f" done in {time.monotonic() - t0:.1f} s (total {time.monotonic() - progress.start:.1f} s)",
                  flush=True)
            for p in problems:
                print(f"demo: cleanup: {p}", file=sys.stderr)
            if problems and status == 0:
                print(f"demo: error: {problems[0]}", file=sys.stderr)
                status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
