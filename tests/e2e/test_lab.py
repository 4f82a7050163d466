"""The lab itself: teardown leaves nothing behind, failures keep evidence, log errors are caught."""
import os
import signal
import subprocess
import sys
from pathlib import Path

import networkx as nx
import pytest

from topologies import lab
from topologies.base import GraphTopo, add_hosts


class TriangleTopo(GraphTopo):
    """Three switches in a triangle, a host on two of them (a loop: flooded ARP would storm)."""

    def describe(self, bw=10):
        g = nx.Graph(name="triangle", host_capacity=bw * 1e6)
        g.add_node("t1", kind="switch", dpid=0x9001)
        g.add_node("t2", kind="switch", dpid=0x9002)
        g.add_node("t3", kind="switch", dpid=0x9003)
        for a, b in (("t1", "t2"), ("t2", "t3"), ("t1", "t3")):
            g.add_edge(a, b, capacity=bw * 1e6)
        add_hosts(g, ["t1", "t3"])
        return g


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_teardown_removes_bridges_hosts_and_controller(artifacts):
    setup = lab.Setup("teardown", TriangleTopo(), artifacts)
    try:
        setup.start()
        lab.wait_full_reachability(setup.net, deadline_s=30)
        controller_pid = setup.controller.proc.pid
        host_pids = [h.pid for h in setup.net.hosts]
        assert setup.bridge_names <= lab.bridges()
        # Evidence a failing test would keep.
        setup.dump()
        dump = (artifacts / "switches" / "t1.txt").read_text()
        assert "dump-groups" in dump and "mpls_label" in dump and "group_id=" in dump
    finally:
        problems = setup.stop()
    assert problems == []
    assert not (setup.bridge_names & lab.bridges())
    assert not _alive(controller_pid)
    assert not any(_alive(p) for p in host_pids)
    assert lab.stale_interfaces(setup.bridge_names) == []
    assert setup.controller.log_problems() == []
    assert "te: reconciled" in setup.controller.log()


def test_controller_stop_escalates_to_sigkill(artifacts, monkeypatch):
    c = lab.Controller(artifacts)
    c.start()
    # A controller that ignores SIGTERM is killed after the timeout.
    real_send_signal = c.proc.send_signal
    monkeypatch.setattr(c.proc, "send_signal", lambda sig: None if sig == signal.SIGTERM else real_send_signal(sig))
    try:
        c.stop(timeout=0.5)
    finally:
        if c.alive():
            real_send_signal(signal.SIGKILL)
    assert not c.alive() and c.proc.returncode == -signal.SIGKILL


def test_log_scan_finds_openflow_errors_and_tracebacks(tmp_path):
    c = lab.Controller(tmp_path)
    c.log_path.write_text("te: reconciled in 3 ms\n"
                          "te: OFPErrorMsg from 0000000000000001: type=OFPET_BAD_ACTION code=...\n"
                          "Traceback (most recent call last):\n"
                          "EventOFPErrorMsg received.\n")
    assert len(c.log_problems()) == 3


# A lab run in its own process, killed outright once its network is up: it prints the pids it started.
_DOOMED_LAB = """
import sys, time
from pathlib import Path
sys.path.insert(0, {here!r})
from topologies import lab
from test_lab import TriangleTopo
setup = lab.Setup("doomed", TriangleTopo(), Path({artifacts!r}))
setup.start()
print("pids", setup.controller.proc.pid, *[h.pid for h in setup.net.hosts], flush=True)
time.sleep(600)
"""


def test_a_lab_killed_outright_leaves_bridges_the_next_lab_deletes(artifacts):
    """A lab killed with SIGKILL (or on a machine that restarted: OVS keeps its bridges in its database)
    leaves its bridges and veths. The next lab of those switches deletes them and runs; a bridge of the same
    name that no lab created is refused and not touched."""
    names = set(TriangleTopo().switches())
    script = _DOOMED_LAB.format(here=str(Path(__file__).parent), artifacts=str(artifacts / "doomed"))
    doomed = subprocess.Popen([sys.executable, "-c", script], cwd=lab.REPO, stdout=subprocess.PIPE, text=True)
    orphans = []
    try:
        try:
            for line in doomed.stdout:  # the lab may say other things first
                if line.startswith("pids "):
                    orphans = [int(p) for p in line.split()[1:]]  # the controller and the host shells
                    break
            assert len(orphans) == 3, "the doomed lab did not start"
            assert set(lab.bridge_marks()[n] for n in names) == {str(doomed.pid)}
        finally:
            doomed.kill()
            doomed.wait(10)
            for pid in orphans:  # what a restart would have ended (ours: we started them, through the lab)
                if _alive(pid):
                    os.kill(pid, signal.SIGKILL)
        assert names <= lab.bridges() and lab.stale_interfaces(names)  # left behind

        setup = lab.Setup("after", TriangleTopo(), artifacts)
        try:
            setup.start()
            lab.wait_full_reachability(setup.net, deadline_s=30)
            assert set(lab.bridge_marks()[n] for n in names) == {str(os.getpid())}
        finally:
            assert setup.stop() == []
        assert not (names & lab.bridges()) and lab.stale_interfaces(names) == []
    finally:  # the doomed lab's bridges, had it or the lab above failed
        lock = lab.machine_lock()
        try:
            lab.clear_dead_lab(names)
        finally:
            lock.close()

    # A bridge no lab made: refused, left as it was.
    subprocess.run(["ovs-vsctl", "--timeout=10", "add-br", "t2", "--", "set", "bridge", "t2", "datapath_type=netdev"],
                   check=True)
    try:
        with pytest.raises(RuntimeError, match=r"bridges \['t2'\] already exist and no lab of ours made them"):
            lab.Setup("refused", TriangleTopo(), artifacts / "refused").start()
        assert "t2" in lab.bridges() and not ({"t1", "t3"} & lab.bridges())
    finally:
        subprocess.run(["ovs-vsctl", "--timeout=10", "--if-exists", "del-br", "t2"])
