"""A lab of several controllers on one etcd cluster, every switch connected to all of them.

    with lab.running_ha(lab.HASetup("ha", B4Topo(bw=10), Path("results/ha"), controllers=3)) as setup:
        leader = setup.wait_leader(timeout=10)      # index of the controller that leads
        setup.kill(leader)                          # SIGKILL
        setup.wait_leader(timeout=5, not_=leader)   # a standby took over

Controller ``n`` is ``c<n>`` (``ha_member``), with its log and config under ``artifacts/c<n>``; etcd's
members log under ``artifacts/etcd``. Everything started is stopped by pid (and bridges by name).
"""
from __future__ import annotations

import signal
import time
from contextlib import contextmanager
from pathlib import Path

from .control import Controller, take_turn
from .etcd import EtcdCluster
from .switches import bridges, lab_mark


class HASetup:
    """etcd (``etcd_members``), ``controllers`` controllers on it, and a Mininet network of ``topo``."""

    def __init__(self, name: str, topo, artifacts: Path, controllers: int = 3, etcd_members: int = 3,
                 prefix: str = "/sdn-te", etcd_of=None, **controller_options):
        """``etcd_of``: for each controller, the etcd members (indexes) it talks to (default: all)."""
        self.name, self.topo, self.artifacts = name, topo, Path(artifacts)
        self.count, self.prefix = controllers, prefix
        self.etcd = EtcdCluster(self.artifacts / "etcd", etcd_members)
        self.etcd_of = etcd_of or [None] * controllers
        self.controller_options = controller_options
        self.controllers: list = []
        self.controller = None  # the one a client talks to (the demo sets it); tests use api(n)
        self.leader = None
        self.net = None
        self.bridge_names: set = set()
        self._lock = None

    def start(self) -> "HASetup":
        from topologies.net import start_network

        names = set(self.topo.switches())
        self._lock, topo_file = take_turn(names, self.topo, self.artifacts)
        self.etcd.start()
        for n in range(self.count):
            options = {"intent_store": self.etcd.url(self.prefix, self.etcd_of[n]), "ha_member": f"c{n}",
                       "stats_interval": 5.0} | self.controller_options
            (self.artifacts / f"c{n}").mkdir(exist_ok=True)
            controller = Controller(self.artifacts / f"c{n}", topo_file, **options)
            controller.start()
            self.controllers.append(controller)
        self.bridge_names = names
        self.net = start_network(self.topo, controller_ports=[c.port for c in self.controllers],
                                 external_ids=lab_mark())
        return self

    # --- the cluster, seen through each controller's REST API -----------------------------------
    def api(self, n: int):
        from .api import Api

        return Api(self.controllers[n].api_url, token=self.controllers[n].token)

    def cluster(self, n: int, timeout: float = 2.0) -> dict | None:
        """``GET /te/v1/cluster`` of controller ``n`` (None when it does not answer)."""
        import requests

        try:
            return requests.get(self.controllers[n].api_url + "/cluster", timeout=timeout).json()
        except (requests.RequestException, ValueError):
            return None

    def leaders(self) -> list:
        """Indexes of the live controllers that say they act as leader now."""
        out = []
        for n, c in enumerate(self.controllers):
            if c.alive():
                body = self.cluster(n)
                if body and body.get("acting"):
                    out.append(n)
        return out

    def wait_leader(self, timeout: float = 15.0, not_=None, step: float = 0.05) -> int:
        """The index of the single acting leader (other than ``not_``), waiting for one."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [n for n in self.leaders() if n != not_]
            if len(found) == 1:
                return found[0]
            time.sleep(step)
        raise RuntimeError(f"no single leader within {timeout} s: {self.leaders()}")

    def kill(self, n: int) -> None:
        """SIGKILL controller ``n`` (no goodbye: its lease must expire)."""
        proc = self.controllers[n].proc
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)

    def log_problems(self) -> dict:
        return {f"c{n}": c.log_problems() for n, c in enumerate(self.controllers) if c.log_problems()}

    def stop(self) -> list:
        from topologies.net import stop_network
        import subprocess

        problems = []
        try:
            if self.net is not None:
                stop_network(self.net)
        except Exception as exc:
            problems.append(f"stop_network failed: {exc!r}")
        finally:
            for name in sorted(self.bridge_names & bridges()):
                subprocess.run(["ovs-vsctl", "--timeout=10", "--if-exists", "del-br", name], capture_output=True)
            for c in self.controllers:
                c.stop()
            self.etcd.stop()
        left = self.bridge_names & bridges()
        if left:
            problems.append(f"bridges left behind: {sorted(left)}")
        problems += [f"controller pid {c.proc.pid} still alive" for c in self.controllers if c.alive()]
        problems += [f"etcd member {n} still alive" for n in range(len(self.etcd.names)) if self.etcd.alive(n)]
        if self._lock is not None:
            self._lock.close()
            self._lock = None
        return problems


@contextmanager
def running_ha(setup: HASetup):
    """Start ``setup``; stop it on the way out and fail on leftovers."""
    try:
        setup.start()
        yield setup
    finally:
        leftovers = setup.stop()
    if leftovers:
        raise RuntimeError(f"left behind: {leftovers}")
