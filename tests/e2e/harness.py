"""End-to-end harness: a real ``ryu-manager`` running controller.app, real OVS bridges, real Mininet hosts.

Used by the e2e tests (through the fixtures in conftest.py) and by
benchmarks/bench_controller.py.  Everything it starts it stops by pid or by
name of the bridges it created; it never runs ``mn -c``.
"""
from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
RESULTS = REPO / "results" / "e2e"
RYU_MANAGER = REPO / ".venv" / "bin" / "ryu-manager"
MEASUREMENTS = RESULTS / "measurements.jsonl"

# Lines in the controller log that fail a test: OpenFlow errors from a switch, tracebacks.
LOG_PROBLEM = re.compile(r"OFPErrorMsg|error msg|Traceback")


def environment_problem() -> str | None:
    """Why e2e tests cannot run here, or None if they can."""
    if os.geteuid() != 0:
        return "e2e tests need root (Mininet and Open vSwitch)"
    try:
        subprocess.run(["ovs-vsctl", "--timeout=5", "show"], check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        return f"Open vSwitch is not running (`ovs-vsctl show` failed: {exc}); run scripts/setup.sh"
    if not RYU_MANAGER.exists():
        return f"{RYU_MANAGER} is missing; run scripts/setup.sh"
    try:
        import mininet.net  # noqa: F401
    except ImportError as exc:
        return f"Mininet does not import ({exc}); run scripts/setup.sh"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def record(test: str, metric: str, value: float, unit: str, **extra) -> None:
    """Append one measurement to results/e2e/measurements.jsonl (and print it for ``pytest -s``)."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    row = dict(test=test, metric=metric, value=round(value, 4), unit=unit, time=time.time(), **extra)
    with open(MEASUREMENTS, "a") as f:
        f.write(json.dumps(row) + "\n")
    print(f"\n[measure] {test}: {metric} = {value:.3f} {unit} {extra if extra else ''}")


class Controller:
    """``ryu-manager --observe-links ... controller.app`` as a subprocess with its log in ``artifacts``."""

    def __init__(self, artifacts: Path, topology_file: Path | None = None, **options):
        self.artifacts = artifacts
        self.port = free_port()
        self.log_path = artifacts / "controller.log"
        self.conf_path = artifacts / "te.conf"
        conf = {"topology_file": str(topology_file or ""), "stats_interval": 5.0} | options
        self.conf_path.write_text("[te]\n" + "".join(f"{k} = {v}\n" for k, v in conf.items()))
        self.proc: subprocess.Popen | None = None
        self.started_at: float | None = None

    @property
    def command(self) -> list:
        return [str(RYU_MANAGER), "--observe-links", "--ofp-listen-host", "127.0.0.1",
                "--ofp-tcp-listen-port", str(self.port), "--config-file", str(self.conf_path), "controller.app"]

    def start(self, timeout: float = 30.0) -> None:
        log = open(self.log_path, "ab")
        self.started_at = time.monotonic()
        self.proc = subprocess.Popen(self.command, cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"ryu-manager exited with {self.proc.returncode}; log: {self.log_path}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"ryu-manager did not listen on port {self.port} within {timeout} s")

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM (SIGINT can hang ryu-manager), then SIGKILL after ``timeout``."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_problems(self) -> list:
        return [line for line in self.log().splitlines() if LOG_PROBLEM.search(line)]


def ofctl(*args) -> str:
    return subprocess.run(["ovs-ofctl", "-O", "OpenFlow13", *args], capture_output=True, text=True, timeout=30).stdout


def stale_interfaces(switch_names) -> list:
    """Root-namespace interfaces named like ports of ``switch_names`` (left by a network that died)."""
    out = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True).stdout
    names = [line.split(": ")[1].split("@")[0] for line in out.splitlines() if ": " in line]
    return sorted(n for n in names if n.split("-eth")[0] in switch_names and "-eth" in n)


def bridges() -> set:
    out = subprocess.run(["ovs-vsctl", "--timeout=10", "list-br"], capture_output=True, text=True).stdout
    return set(out.split())


def dump_switches(names, dest: Path) -> None:
    """Flows, groups, meters and port counters of every bridge in ``names``, one file each."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in sorted(names):
        parts = []
        for what in ("dump-flows", "dump-groups", "dump-meters", "dump-ports"):
            parts.append(f"### ovs-ofctl -O OpenFlow13 {what} {name}\n{ofctl(what, name)}")
        (dest / f"{name}.txt").write_text("\n".join(parts))


_N_PACKETS = re.compile(r"n_packets=(\d+)")


def controller_packet_counts(names) -> dict:
    """Packets that matched flows sending to the controller, per kind (lldp, arp, ipv4), summed over bridges.

    These are the switches' own counts of packet-ins, independent of the controller.
    """
    counts = {"lldp": 0, "arp": 0, "ipv4": 0}
    for name in names:
        for line in ofctl("dump-flows", name).splitlines():
            if "CONTROLLER" not in line.upper().split("ACTIONS=")[-1]:
                continue
            m = _N_PACKETS.search(line)
            n = int(m.group(1)) if m else 0
            if "dl_type=0x88cc" in line:
                counts["lldp"] += n
            elif "arp" in line:
                counts["arp"] += n
            else:
                counts["ipv4"] += n
    return counts


_PORT_STATS = re.compile(r"port\s+(\S+):\s+rx pkts=(\d+).*?tx pkts=(\d+)", re.S)


def port_counters(name) -> dict:
    """``{port: (rx packets, tx packets)}`` of one bridge (LOCAL excluded)."""
    return {port: (int(rx), int(tx)) for port, rx, tx in _PORT_STATS.findall(ofctl("dump-ports", name))
            if port.upper() != "LOCAL"}


def port_rx_packets(name) -> dict:
    """``{port: rx packets}`` of one bridge (LOCAL excluded)."""
    return {port: rx for port, (rx, _) in port_counters(name).items()}


def ping_outage(output: str, interval_s: float) -> float:
    """Longest time without replies in ``ping -D -i interval_s`` output, less one interval.

    Counts the silent stretch between consecutive replies; a lost reply at the end is not counted.
    """
    stamps = [float(t) for t in re.findall(r"^\[(\d+\.\d+)\].*icmp_seq", output, re.M)]
    if len(stamps) < 2:
        raise AssertionError(f"too few ping replies to measure an outage:\n{output[-2000:]}")
    return max(b - a for a, b in zip(stamps, stamps[1:])) - interval_s


@dataclass
class Pingall:
    ok: int
    total: int
    failed: list = field(default_factory=list)

    @property
    def loss(self) -> float:
        return 1.0 - self.ok / self.total if self.total else 1.0


def parallel_pingall(net, timeout_s: int = 1) -> Pingall:
    """Every host pings every other host once, all at the same time; a round takes about ``timeout_s``.

    Mininet's own pingAll() is sequential: with unreachable pairs it takes a timeout per pair.
    """
    hosts = net.hosts
    for h in hosts:
        script = " ".join(
            f"(ping -c1 -W{timeout_s} {o.IP()} >/dev/null 2>&1 && echo OK {o.name} || echo FAIL {o.name}) &"
            for o in hosts if o is not h)
        h.sendCmd(script + " wait")
    ok, failed = 0, []
    for h in hosts:
        for line in h.waitOutput().splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[0] == "OK":
                ok += 1
            elif len(parts) == 2 and parts[0] == "FAIL":
                failed.append((h.name, parts[1]))
    n = len(hosts)
    return Pingall(ok, n * (n - 1), failed)


def wait_full_reachability(net, deadline_s: float) -> tuple:
    """Repeat parallel pingall rounds until one has no loss; returns (time of success, rounds)."""
    end = time.monotonic() + deadline_s
    rounds = []
    while True:
        result = parallel_pingall(net)
        rounds.append(result)
        if result.loss == 0:
            return time.monotonic(), rounds
        if time.monotonic() > end:
            raise AssertionError(f"no full reachability within {deadline_s} s; last round lost "
                                 f"{len(result.failed)}/{result.total}: {result.failed[:10]}")
        time.sleep(0.2)


class Setup:
    """A running controller plus a Mininet network connected to it."""

    def __init__(self, name: str, topo, artifacts: Path, **controller_options):
        self.name = name
        self.topo = topo
        self.artifacts = artifacts
        self.controller_options = controller_options
        self.controller: Controller | None = None
        self.net = None
        self.bridge_names: set = set()
        self.network_started_at: float | None = None

    def start(self) -> "Setup":
        from topologies.net import start_network

        names = set(self.topo.switches())
        leftovers = names & bridges()
        if leftovers:  # not ours: never touch them
            raise RuntimeError(f"bridges {sorted(leftovers)} already exist: another network is running here")
        stale = stale_interfaces(names)
        if stale:
            raise RuntimeError(f"interfaces {stale[:6]}... of another network exist; not ours, not touched")
        self.artifacts.mkdir(parents=True, exist_ok=True)
        topo_file = self.artifacts / "topology.json"
        self.topo.write_topology_file(str(topo_file))
        self.controller = Controller(self.artifacts, topo_file, **self.controller_options)
        self.controller.start()
        self.bridge_names = names  # from here on these bridges are ours to delete
        self.net = start_network(self.topo, controller_port=self.controller.port)
        self.network_started_at = time.monotonic()
        return self

    def dump(self, dest: Path | None = None) -> None:
        dump_switches(self.bridge_names & bridges(), dest or self.artifacts / "switches")

    def stop(self) -> list:
        """Stop everything; return a list of what could not be cleaned up (empty when all went)."""
        from topologies.net import stop_network

        problems = []
        try:
            if self.net is not None:
                stop_network(self.net)
        except Exception as exc:  # keep going: the controller must still die
            problems.append(f"stop_network failed: {exc!r}")
        finally:
            for name in sorted(self.bridge_names & bridges()):
                subprocess.run(["ovs-vsctl", "--timeout=10", "--if-exists", "del-br", name], capture_output=True)
            if self.controller is not None:
                self.controller.stop()
        left = self.bridge_names & bridges()
        if left:
            problems.append(f"bridges left behind: {sorted(left)}")
        if self.controller is not None and self.controller.alive():
            problems.append(f"controller pid {self.controller.proc.pid} still alive")
        if self.net is not None:
            alive = [h.name for h in self.net.hosts if h.shell is not None and h.shell.poll() is None]
            if alive:
                problems.append(f"host shells still alive: {alive}")
        return problems


def steady_packet_in_rate(switch_names, seconds: float = 10.0) -> dict:
    """Packet-ins per second by kind over ``seconds``, from the switches' flow counters."""
    before, t0 = controller_packet_counts(switch_names), time.monotonic()
    time.sleep(seconds)
    after, t1 = controller_packet_counts(switch_names), time.monotonic()
    rate = {k: (after[k] - before[k]) / (t1 - t0) for k in after}
    rate["total"] = sum(rate.values())
    return rate


def _switch_port_towards(net, sw, other):
    link = net.linksBetween(sw, other)[0]
    return str(sw.ports[link.intf1 if link.intf1.node is sw else link.intf2])


def busiest_next_hop(net, switch: str, host, target_ip: str) -> str:
    """The neighbour switch that ``host``'s pings to ``target_ip`` leave ``switch`` towards (tx counters)."""
    sw = net.get(switch)
    neighbours = sorted({(l.intf2.node if l.intf1.node is sw else l.intf1.node).name
                         for l in net.links if sw in (l.intf1.node, l.intf2.node)} & {s.name for s in net.switches})
    ports = {n: _switch_port_towards(net, sw, net.get(n)) for n in neighbours}
    before = port_counters(switch)
    host.popen(["ping", "-i", "0.01", "-c", "200", target_ip]).wait(20)
    after = port_counters(switch)
    return max(neighbours, key=lambda n: after[ports[n]][1] - before[ports[n]][1])


def measure_link_failure(net, src: str, dst: str, interval_s: float = 0.01, count: int = 600) -> dict:
    """Ping ``dst`` from ``src`` continuously, take down the first link on the ping's path, measure the outage.

    Returns ``{"link", "outage_s", "lost"}``; the outage is the longest silence between replies.
    """
    h_src, h_dst = net.get(src), net.get(dst)
    link = h_src.defaultIntf().link
    first_switch = (link.intf2 if link.intf1.node is h_src else link.intf1).node.name
    nxt = busiest_next_hop(net, first_switch, h_src, h_dst.IP())
    ping = h_src.popen(["ping", "-D", "-i", str(interval_s), "-W", "1", "-c", str(count), h_dst.IP()])
    time.sleep(count * interval_s / 3)
    net.configLinkStatus(first_switch, nxt, "down")
    out, _ = ping.communicate(timeout=count * interval_s + 30)
    out = out.decode() if isinstance(out, bytes) else out
    sent, received = map(int, re.search(r"(\d+) packets transmitted, (\d+) received", out).groups())
    return {"link": f"{first_switch}-{nxt}", "outage_s": ping_outage(out, interval_s), "lost": sent - received}
