"""The controller and the network of a lab: ``te-controller`` as a subprocess, a Mininet network of it,
the machine lock that makes labs take turns, and the measurements file.

Everything it starts it stops by pid, or by the names of the bridges it created; it never
runs ``mn -c`` (which would kill every ryu-manager and bridge on the machine).
"""
from __future__ import annotations

import json
import os
import random
import re
import signal
import socket
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

from .switches import bridges, clear_dead_lab, dump_switches, lab_mark, stale_interfaces

REPO = Path(__file__).resolve().parents[2]
TE_CONTROLLER = REPO / ".venv" / "bin" / "te-controller"
RESULTS = REPO / "results" / "e2e"
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
    if not TE_CONTROLLER.exists():
        return f"{TE_CONTROLLER} is missing; run scripts/setup.sh"
    try:
        import mininet.net  # noqa: F401
    except ImportError as exc:
        return f"Mininet does not import ({exc}); run scripts/setup.sh"
    return None


# Ports the lab hands out (controllers, REST, etcd) come from below the kernel's ephemeral range. A port from
# bind(0) is in that range, and once it was free when picked but not when etcd bound it: the first two members
# had opened their peer connections, and one connection's local port was the third member's peer port (CI:
# "listen tcp 127.0.0.1:35239: bind: address already in use"). Outgoing connections never take a port below
# the range.
_LAB_PORTS = (20000, 32768)
_handed_out: set = set()


def _ephemeral_range() -> tuple:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free now, outside the ephemeral range, and not handed out before by
    this process (a test asking for six ports gets six different ones)."""
    low, high = _LAB_PORTS
    e_low, e_high = _ephemeral_range()
    candidates = [p for p in range(low, high) if not e_low <= p <= e_high and p not in _handed_out]
    for port in random.sample(candidates, min(len(candidates), 200)):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    with socket.socket() as s:  # none there (a machine whose ephemeral range covers it): any free port
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listening(host: str, port: int) -> bool:
    """Whether a TCP socket listens on ``host:port`` (from ``ss``, without connecting)."""
    out = subprocess.run(["ss", "-ltnH", f"sport = :{port}"], capture_output=True, text=True).stdout
    return any(line.split()[3] == f"{host}:{port}" for line in out.splitlines() if len(line.split()) > 3)


def record(test: str, metric: str, value: float, unit: str, **extra) -> None:
    """Append one measurement to results/e2e/measurements.jsonl (and print it for ``pytest -s``)."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    row = dict(test=test, metric=metric, value=round(value, 4), unit=unit, time=time.time(), **extra)
    with open(MEASUREMENTS, "a") as f:
        f.write(json.dumps(row) + "\n")
    print(f"\n[measure] {test}: {metric} = {value:.3f} {unit} {extra if extra else ''}")


class Controller:
    """``te-controller --config-file artifacts/te.conf`` as a subprocess with its log in ``artifacts``.

    Everything it listens on is in the config file, on 127.0.0.1 as in the documented launch.
    """

    def __init__(self, artifacts: Path, topology_file: Path | None = None, tls: dict | None = None, apps=(),
                 **options):
        """``options`` go to the ``[te]`` section. Without ``intent_store`` the controller gets a fresh,
        empty store of its own, ``artifacts/intents.sqlite3`` (never the system default); pass one to
        share it (a restart with :meth:`restart` keeps it either way). ``tls``
        (``{"privkey", "cert", "ca_certs"}`` file paths) makes OpenFlow listen with TLS only; ``apps``
        are more Ryu apps to run beside it (e.g. ``ryu.app.ofctl_rest``)."""
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
        self.token = options.get("rest_token") or None
        self.tls = tls
        self.apps = list(apps)
        ryu = {"observe_links": "true", "ofp_listen_host": "127.0.0.1", "wsapi_host": "127.0.0.1",
               "wsapi_port": self.api_port}
        if tls:  # then Ryu listens with TLS only
            ryu |= {"ofp_ssl_listen_port": self.port, "ctl_privkey": tls["privkey"], "ctl_cert": tls["cert"],
                    "ca_certs": tls["ca_certs"]}
        else:
            ryu |= {"ofp_tcp_listen_port": self.port}
        conf = {"topology_file": str(topology_file or ""), "stats_interval": 5.0} | options
        self.conf_path.write_text("[DEFAULT]\n" + "".join(f"{k} = {v}\n" for k, v in ryu.items()) +
                                  "\n[te]\n" + "".join(f"{k} = {v}\n" for k, v in conf.items()))
        self.proc: subprocess.Popen | None = None
        self.started_at: float | None = None

    @property
    def command(self) -> list:
        return [str(TE_CONTROLLER), "--config-file", str(self.conf_path), *self.apps]

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
                raise RuntimeError(f"te-controller exited with {self.proc.returncode}; log: {self.log_path}")
            # Looked up, not connected to: a probe on the OpenFlow port would look like a switch (or,
            # with TLS, a failed handshake in the log).
            if listening("127.0.0.1", waiting[0]):
                waiting.pop(0)
                if not waiting:
                    return
            else:
                time.sleep(0.1)
        raise RuntimeError(f"te-controller did not listen on port {waiting[0]} within {timeout} s")

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM (SIGINT can hang Ryu's manager), then SIGKILL after ``timeout``."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)

    def reconfigure(self, **options) -> None:
        """Set ``[te]`` options in the config file and restart with them (same ports and intent store)."""
        lines = self.conf_path.read_text().splitlines()
        head, te = lines[:lines.index("[te]") + 1], lines[lines.index("[te]") + 1:]
        kept = [line for line in te if line.split(" = ")[0] not in options]
        self.conf_path.write_text("\n".join(head + kept + [f"{k} = {v}" for k, v in options.items()]) + "\n")
        self.restart()

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


def take_turn(names, topo, artifacts: Path) -> tuple:
    """Before a lab starts a network of switches ``names``: the machine's lab lock (labs of one machine -
    tests, benchmarks, the demo - take turns: two networks with the same switch names would tear each other
    down; held until the lab stops), the bridges of those names a dead lab left deleted
    (:func:`~topologies.lab.switches.clear_dead_lab`), a check that no other bridge or interface of those
    names exists (not ours: never touched), and ``topo``'s topology file written to ``artifacts``.
    Returns (lock, topology file)."""
    lock = machine_lock()
    try:
        dead = clear_dead_lab(set(names))
        if dead:
            pids = ", ".join(sorted(set(dead.values())))
            print(f"deleted bridges {sorted(dead)} left by a lab that died (pid {pids})", flush=True)
        leftovers = set(names) & bridges()
        if leftovers:
            raise RuntimeError(f"bridges {sorted(leftovers)} already exist and no lab of ours made them: another "
                               "network is running here (stop it, or delete them: ovs-vsctl del-br NAME)")
        stale = stale_interfaces(names)
        if stale:
            raise RuntimeError(f"interfaces {stale[:6]}... of another network exist; not ours, not touched")
        artifacts.mkdir(parents=True, exist_ok=True)
        topo_file = artifacts / "topology.json"
        topo.write_topology_file(str(topo_file))
    except BaseException:
        lock.close()
        raise
    return lock, topo_file


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
        self._lock, topo_file = take_turn(names, self.topo, self.artifacts)
        self.controller = Controller(self.artifacts, topo_file, **self.controller_options)
        self.controller.start()
        self.bridge_names = names  # from here on these bridges are ours to delete
        self.net = start_network(self.topo, controller_port=self.controller.port,
                                 protocol="ssl" if self.controller.tls else "tcp", external_ids=lab_mark())
        self.network_started_at = time.monotonic()
        return self

    @property
    def api(self):
        """The REST API of the lab's controller (:class:`topologies.lab.api.Api`)."""
        from .api import Api

        return Api(self.controller.api_url, token=self.controller.token)

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


@contextmanager
def running(setup):
    """Start ``setup`` for a benchmark; stop it on the way out and fail on controller log errors or leftovers."""
    try:
        setup.start()
        yield setup
        problems = setup.controller.log_problems()
        if problems:
            raise RuntimeError(f"controller log {setup.controller.log_path}: {problems[:5]}")
    finally:
        leftovers = setup.stop()
    if leftovers:
        raise RuntimeError(f"left behind: {leftovers}")
