"""etcd for the lab: a cluster of 1 or 3 (or more) members on loopback, each a process of Debian's
``etcd`` with its data under the lab's artifacts, started and stopped by pid.

    cluster = EtcdCluster(Path("results/ha/etcd"), members=3).start()
    cluster.url("/te")          # etcd://127.0.0.1:P1,127.0.0.1:P2,127.0.0.1:P3/te
    cluster.stop_member(0)      # SIGTERM one member (the other two keep the quorum)
    cluster.start_member(0)     # it rejoins with its data
    cluster.stop()

The heartbeat and election timeouts are etcd's defaults (100 ms, 1 s): a lost member is noticed in about
a second, and etcd's shortest lease is then 2 s.
"""
from __future__ import annotations

import json
import shutil
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

from .control import free_port

ETCD = shutil.which("etcd") or "/usr/bin/etcd"


class EtcdCluster:
    """``members`` etcd processes forming one cluster on 127.0.0.1 (see the module docstring)."""

    def __init__(self, artifacts: Path, members: int = 3, max_txn_ops: int = 4096):
        self.artifacts = Path(artifacts)
        self.names = [f"etcd{n}" for n in range(members)]
        self.client_ports = [free_port() for _ in self.names]
        self.peer_ports = [free_port() for _ in self.names]
        self.max_txn_ops = max_txn_ops
        self.procs: list = [None] * members
        self.started = [False] * members

    @property
    def endpoints(self) -> list:
        return [("127.0.0.1", port) for port in self.client_ports]

    def url(self, prefix: str = "/sdn-te", members=None) -> str:
        """The controller's ``intent_store`` for this cluster (only ``members``, by index, when given)."""
        chosen = range(len(self.names)) if members is None else members
        return "etcd://" + ",".join(f"127.0.0.1:{self.client_ports[n]}" for n in chosen) + prefix

    def _command(self, n: int) -> list:
        initial = ",".join(f"{name}=http://127.0.0.1:{port}" for name, port in zip(self.names, self.peer_ports))
        client, peer = f"http://127.0.0.1:{self.client_ports[n]}", f"http://127.0.0.1:{self.peer_ports[n]}"
        return [ETCD, "--name", self.names[n], "--data-dir", str(self.artifacts / self.names[n]),
                "--listen-client-urls", client, "--advertise-client-urls", client,
                "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                "--initial-cluster", initial, "--initial-cluster-token", f"lab-{self.peer_ports[0]}",
                "--initial-cluster-state", "existing" if self.started[n] else "new",
                "--max-txn-ops", str(self.max_txn_ops), "--log-level", "warn", "--logger", "zap"]

    def start(self, timeout: float = 30.0) -> "EtcdCluster":
        """Start every member (fresh data) and wait until the cluster answers writes."""
        self.artifacts.mkdir(parents=True, exist_ok=True)
        for name in self.names:
            shutil.rmtree(self.artifacts / name, ignore_errors=True)
        for n in range(len(self.names)):
            self._spawn(n)
        self.wait_healthy(timeout)
        return self

    def _spawn(self, n: int) -> None:
        log = open(self.artifacts / f"{self.names[n]}.log", "ab")
        self.procs[n] = subprocess.Popen(self._command(n), stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()
        self.started[n] = True

    def stop_member(self, n: int, sig=signal.SIGTERM, timeout: float = 10.0) -> None:
        proc = self.procs[n]
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)

    def start_member(self, n: int) -> None:
        """Start member ``n`` again with its data (it rejoins the cluster)."""
        if self.procs[n] is not None and self.procs[n].poll() is None:
            return
        self._spawn(n)

    def alive(self, n: int) -> bool:
        return self.procs[n] is not None and self.procs[n].poll() is None

    def healthy(self, n: int) -> bool:
        """Whether member ``n`` answers /health with a quorum behind it."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.client_ports[n]}/health", timeout=1) as answer:
                return json.loads(answer.read()).get("health") in ("true", True)
        except (OSError, ValueError):
            return False

    def wait_healthy(self, timeout: float = 30.0, members=None) -> None:
        chosen = [n for n in (range(len(self.names)) if members is None else members) if self.alive(n)]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if chosen and all(self.healthy(n) for n in chosen):
                return
            dead = [self.names[n] for n in chosen if not self.alive(n)]
            if dead:
                raise RuntimeError(f"etcd members {dead} exited; logs in {self.artifacts}")
            time.sleep(0.2)
        raise RuntimeError(f"etcd did not become healthy within {timeout} s; logs in {self.artifacts}")

    def stop(self) -> None:
        for n in range(len(self.names)):
            self.stop_member(n)

    def __enter__(self) -> "EtcdCluster":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
