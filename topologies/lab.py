"""A lab on this machine: a real ``ryu-manager`` running controller.app plus a Mininet network of it.

Used by the e2e tests (tests/e2e), the benchmarks and the demo.  Everything it
starts it stops by pid, or by the names of the bridges it created; it never
runs ``mn -c`` (which would kill every ryu-manager and bridge on the machine).
"""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RYU_MANAGER = REPO / ".venv" / "bin" / "ryu-manager"


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


class Controller:
    """``ryu-manager --observe-links ... controller.app`` as a subprocess with its log in ``artifacts``."""

    def __init__(self, artifacts: Path, topology_file: Path | None = None, **options):
        """``options`` go to the ``[te]`` section. Without ``intent_store`` the controller gets a fresh,
        empty store of its own, ``artifacts/intents.sqlite3`` (never the system default); pass one to
        share it (a restart with :meth:`restart` keeps it either way)."""
        self.artifacts = artifacts
        self.port = free_port()
        self.api_port = free_port()
        self.log_path = artifacts / "controller.log"
        self.conf_path = artifacts / "te.conf"
        if "intent_store" not in options:
            store = artifacts / "intents.sqlite3"
            for leftover in (store, store.with_name(store.name + "-wal"), store.with_name(store.name + "-shm")):
                leftover.unlink(missing_ok=True)
            options["intent_store"] = store
        self.intent_store = Path(options["intent_store"]) if options["intent_store"] else None
        conf = {"topology_file": str(topology_file or ""), "stats_interval": 5.0} | options
        self.conf_path.write_text("[te]\n" + "".join(f"{k} = {v}\n" for k, v in conf.items()))
        self.proc: subprocess.Popen | None = None
        self.started_at: float | None = None

    @property
    def command(self) -> list:
        return [str(RYU_MANAGER), "--observe-links", "--ofp-listen-host", "127.0.0.1",
                "--ofp-tcp-listen-port", str(self.port), "--wsapi-host", "127.0.0.1", "--wsapi-port",
                str(self.api_port), "--config-file", str(self.conf_path), "controller.app"]

    @property
    def api_url(self) -> str:
        """Base URL of the intent REST API, e.g. ``http://127.0.0.1:PORT/te/v1``."""
        return f"http://127.0.0.1:{self.api_port}/te/v1"

    def start(self, timeout: float = 30.0) -> None:
        log = open(self.log_path, "ab")
        self.started_at = time.monotonic()
        self.proc = subprocess.Popen(self.command, cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()
        deadline = time.monotonic() + timeout
        waiting = [self.port, self.api_port]
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"ryu-manager exited with {self.proc.returncode}; log: {self.log_path}")
            try:
                with socket.create_connection(("127.0.0.1", waiting[0]), timeout=0.2):
                    waiting.pop(0)
                    if not waiting:
                        return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"ryu-manager did not listen on port {waiting[0]} within {timeout} s")

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

    def restart(self, down_s: float = 0.0) -> None:
        """Stop (SIGTERM) and start again on the same ports, config and intent store."""
        self.stop()
        time.sleep(down_s)
        self.start()

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_problems(self) -> list:
        return [line for line in self.log().splitlines() if LOG_PROBLEM.search(line)]


LOCK_PATH = Path("/run/lock/sdn-te-lab.lock")


def machine_lock(timeout: float = 900.0):
    """An exclusive lock on this machine's lab (an open file; closing it releases the lock).

    Waits up to ``timeout`` seconds for another lab to finish.
    """
    import fcntl

    LOCK_PATH.parent.mkdir(parents=True, exist_ok=True)
    f = open(LOCK_PATH, "a")
    deadline, said = time.monotonic() + timeout, False
    while True:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return f
        except BlockingIOError:
            if time.monotonic() > deadline:
                f.close()
                raise RuntimeError(f"another lab on this machine held {LOCK_PATH} for {timeout:.0f} s") from None
            if not said:
                print(f"waiting for another lab on this machine to finish ({LOCK_PATH})", flush=True)
                said = True
            time.sleep(0.5)


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
        self._lock = None

    def start(self) -> "Setup":
        from topologies.net import start_network

        names = set(self.topo.switches())
        # Labs of one machine (tests, benchmarks, the demo) take turns: two networks with the same
        # switch names would tear each other down. Held until stop().
        self._lock = machine_lock()
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
        if self._lock is not None:
            self._lock.close()
            self._lock = None
        return problems
