"""Resilient ECMP on a k=4 fat-tree: an aggregation->core link failure moves only the flows of its path.

Open vSwitch picks a flow's SELECT bucket by bucket position: OVS 3.x (``dp_hash`` selection, the
default) has the datapath hash the 5-tuple, recirculate, and map ``dp_hash`` through a table of
hash values to buckets that it builds from the buckets in order; older OVS takes the highest random
weight over the bucket ids. The controller keeps every group's bucket count and positions and lends
a failed path's bucket to a surviving path, so flows of surviving paths keep their label and the
repair moves the failed path's flows back.

The hash is computed by the kernel (after ``hash(sym_l4(0)),recirc(...)``), which
``ovs-appctl ofproto/trace`` cannot do; so a flow here is a 32-bit ``dp_hash`` value: the trace of
a TCP packet from h1 (pod 0) to h16 (pod 3) at h1's edge switch gives the recirculation, and the
trace of the recirculated packet with each of ``FLOWS`` spread hash values gives the label pushed.
"""
import re
import subprocess
import time

import pytest

from topologies import lab
from topologies.fattree import FatTreeTopo

FLOWS = 64
HASHES = [(i * 0x9E3779B1) & 0xFFFFFFFF for i in range(1, FLOWS + 1)]  # spread, never 0 ("no hash yet")


@pytest.fixture
def fattree(network):
    setup = network(FatTreeTopo(k=4, bw=10))
    lab.wait_full_reachability(setup.net, deadline_s=90)
    return setup


def trace(switch: str, flow: str) -> str:
    return subprocess.run(["ovs-appctl", "ofproto/trace", switch, flow], capture_output=True, text=True, timeout=30,
                          check=True).stdout


def traced_labels(net, src: str, dst: str) -> list:
    """The MPLS label that ``src``'s edge switch pushes for each flow hash of :data:`HASHES` towards ``dst``."""
    h_src, h_dst = net.get(src), net.get(dst)
    link = h_src.defaultIntf().link
    edge = (link.intf2 if link.intf1.node is h_src else link.intf1).node
    flow = (f"in_port={lab.switch_port_towards(net, edge, h_src)},tcp,dl_src={h_src.MAC()},dl_dst={h_dst.MAC()},"
            f"nw_src={h_src.IP()},nw_dst={h_dst.IP()},tp_src=40000,tp_dst=5001")
    first = trace(edge.name, flow)
    recirc = re.search(r"Datapath actions: hash\(.*\),recirc\((0x[0-9a-f]+)\)", first)
    assert recirc, first  # the group selects on the datapath's hash
    labels = []
    for h in HASHES:
        out = trace(edge.name, f"recirc_id={recirc.group(1)},dp_hash={h:#x},{flow}")
        found = re.findall(r"set_field:(\d+)->mpls_label", out)
        assert len(found) == 1, out  # one bucket taken, one label pushed
        labels.append(int(found[0]))
    return labels


def wait_groups_changed(switch: str, before: str, timeout: float = 30.0) -> str:
    """The groups of ``switch`` once they differ from ``before`` and have stayed the same for a second
    (the controller reconciled)."""
    deadline = time.monotonic() + timeout
    now = lab.ofctl("dump-groups", switch)
    while now == before:
        assert time.monotonic() < deadline, f"the groups of {switch} did not change in {timeout} s"
        time.sleep(0.2)
        now = lab.ofctl("dump-groups", switch)
    while True:
        time.sleep(1.0)
        again = lab.ofctl("dump-groups", switch)
        if again == now:
            return now
        assert time.monotonic() < deadline, f"the groups of {switch} did not settle in {timeout} s"
        now = again


def test_a_core_link_failure_moves_only_the_flows_of_its_path_and_the_repair_moves_them_back(fattree):
    net = fattree.net
    groups = lab.ofctl("dump-groups", "e1")
    first = traced_labels(net, "h1", "h16")
    assert len(set(first)) == 4, first  # one path over each core, all in use

    net.configLinkStatus("a1", "c1", "down")
    groups = wait_groups_changed("e1", groups)
    down = traced_labels(net, "h1", "h16")
    assert lab.parallel_pingall(net).loss == 0.0
    gone = set(first) - set(down)  # the label of the path over a1-c1
    on_failed = [i for i in range(FLOWS) if first[i] in gone]
    moved = [i for i in range(FLOWS) if down[i] != first[i]]
    survivors_moved = [i for i in moved if i not in on_failed]
    lab.record("resilient_ecmp", "flows_moved_by_failure", len(moved) / FLOWS, "share", flows=FLOWS,
               on_failed_path=len(on_failed), survivors_moved=len(survivors_moved))

    net.configLinkStatus("a1", "c1", "up")
    wait_groups_changed("e1", groups)
    back = traced_labels(net, "h1", "h16")
    assert lab.parallel_pingall(net).loss == 0.0
    restored = sum(b == f for b, f in zip(back, first))
    lab.record("resilient_ecmp", "flows_back_on_their_label_after_repair", restored / FLOWS, "share", flows=FLOWS)

    assert len(gone) == 1 and on_failed, (first, down)
    assert survivors_moved == [], (first, down)
    assert moved == on_failed
    assert back == first
