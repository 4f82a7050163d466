"""The whole controller pipeline through :class:`controller.core.Core`, on fake switches (no Ryu, no OVS).

A network is described as for Mininet (``topologies``), written as the topology file the controller
reads, and its switches, links and hosts are played to the core as events; the changes the core
returns are applied to :class:`fakeof.FakeSwitches` (which refuses a flow naming a missing group or
meter), and packets are walked through the resulting tables.
"""
import itertools

import pytest

from controller.core import Core
from controller.reconcile import ADD, Change
from controller.restore import PARTS
from controller.settings import Settings
from controller.specs import ETH_TYPE_IPV4, FlowSpec, State, ToGroup, match
from controller.topology import read_link_info
from topologies.b4 import b4_graph
from topologies.base import assign_ports, write_description
from topologies.fattree import fattree_graph

from fakeof import FakeSwitches, walk

MBIT = 1e6


class Network:
    """A described network played to a core: switches connect, links are discovered, changes land on fake switches."""

    def __init__(self, graph, tmp_path, **settings):
        assign_ports(graph)
        path = tmp_path / "topology.json"
        write_description(graph, path)
        self.graph = graph
        self.now = 0.0
        options = dict(intent_store="", topology_file=str(path), restore_timeout=0.0) | settings
        self.core = Core(Settings(**options), read_link_info(str(path)), now=self.now)
        self.switches = FakeSwitches()
        self.dpid = {n: d["dpid"] for n, d in graph.nodes(data=True) if d["kind"] == "switch"}
        self.hosts = {d["ip"]: n for n, d in graph.nodes(data=True) if d["kind"] == "host"}
        self.links = {}  # (dpid, port) -> (dpid, port), both directions, switch to switch
        self.host_at = {}  # ip -> (dpid, port)
        for u, v, data in graph.edges(data=True):
            pu, pv = data["ports"][u], data["ports"][v]
            if u in self.dpid and v in self.dpid:
                self.links[(self.dpid[u], pu)] = (self.dpid[v], pv)
                self.links[(self.dpid[v], pv)] = (self.dpid[u], pu)
            else:
                host, switch = (u, v) if v in self.dpid else (v, u)
                self.host_at[graph.nodes[host]["ip"]] = (self.dpid[switch], data["ports"][switch])

    def ports(self, dpid):
        return sorted({p for (d, p) in self.links if d == dpid} | {p for d, p in self.host_at.values() if d == dpid})

    def connect(self, dpid):
        """The switch connects and reports what it holds (the fake tables)."""
        self.core.switch_connected(dpid, self.ports(dpid), self.now)
        held = list(self.switches.state([dpid]))
        for part in PARTS:
            self.core.readback(dpid, part, [s for s in held if _part(s) == part], True, self.now)

    def discover(self, dpid=None):
        for (a, pa), (b, pb) in sorted(self.links.items()):
            if dpid is None or dpid in (a, b):
                self.core.link_added(a, pa, b, pb, self.now)

    def start(self):
        for dpid in sorted(self.dpid.values()):
            self.connect(dpid)
        self.discover()
        return self.settle()

    def settle(self, seconds=0.5):
        """Let time pass, recompute, apply the changes, confirm. Returns the batch."""
        self.now += seconds
        batch = self.core.recompute(self.now)
        sent = self.switches.send_all(batch.changes)
        assert not self.switches.errors, self.switches.errors
        self.core.confirm(batch, sent, confirmed=True, now=self.now)
        return batch

    def delivers(self, src_ip, dst_ip, picks=range(4), extra=None) -> bool:
        """Whether every bucket choice brings a packet from src to dst's port."""
        dpid, port = self.host_at[src_ip]
        pkt = {"eth_type": ETH_TYPE_IPV4, "ipv4_src": src_ip, "ipv4_dst": dst_ip, **(extra or {})}
        want = ("out", *self.host_at[dst_ip])
        return all(walk(self.switches.state(), self.links, dpid, port, pkt, pick) == want for pick in picks)

    def all_pairs_delivered(self) -> bool:
        return all(self.delivers(a, b) for a, b in itertools.permutations(self.host_at, 2))

    def link_down(self, a_name, b_name):
        """Both ends of a link report their port down (port status)."""
        a, b = self.dpid[a_name], self.dpid[b_name]
        for (x, px), (y, _) in list(self.links.items()):
            if (x, y) == (a, b) or (x, y) == (b, a):
                self.core.port_changed(x, px, False, self.now)
                del self.links[(x, px)]

    def allocation_states(self):
        return {a["intent_id"]: a["state"] for a in self.core.allocations_body()["allocations"]}


def _part(spec):
    return {"FlowSpec": "flows", "GroupSpec": "groups", "MeterSpec": "meters"}[type(spec).__name__]


@pytest.fixture
def fattree(tmp_path):
    net = Network(fattree_graph(k=4, bw=10), tmp_path)
    net.start()
    return net


@pytest.fixture
def b4(tmp_path):
    net = Network(b4_graph(bw=10), tmp_path, switch_hold_time=30.0)
    net.start()
    return net


def test_hosts_named_in_the_topology_file_are_routable_before_they_send_anything(fattree):
    assert len(fattree.core.fabric.hosts) == 16
    assert fattree.all_pairs_delivered()
    assert fattree.core.counters["packet_in"] == 0


def test_link_down_recompute_still_delivers_every_pair_and_the_allocation_is_installed_again(fattree):
    net = fattree
    net.core.intents.create({"src": "10.0.0.1", "dst": "10.0.0.16", "rate_bps": 4 * MBIT, "name": "big"})
    net.settle()
    assert net.allocation_states() == {"1": "installed"}
    [alloc] = net.core.allocations_body()["allocations"]
    first = alloc["paths"][0]["switches"]
    a, b = _names(net, first[1:3])  # an edge -> aggregation link of its first path
    net.link_down(a, b)
    batch = net.settle()
    assert batch.barriers >= 2 and batch.sends  # make-before-break phases, each confirmed
    assert net.all_pairs_delivered()
    assert net.delivers("10.0.0.1", "10.0.0.16")
    [alloc] = net.core.allocations_body()["allocations"]
    assert alloc["state"] == "installed" and alloc["allocated_bps"] == pytest.approx(4 * MBIT)
    moved = [p["switches"] for p in alloc["paths"]]
    assert all((first[1], first[2]) not in zip(p, p[1:]) for p in moved)


def _names(net, hex_dpids):
    by_dpid = {d: n for n, d in net.dpid.items()}
    return [by_dpid[int(h, 16)] for h in hex_dpids]


def test_a_control_channel_cut_changes_nothing_and_drops_no_route(b4):
    net = b4
    net.core.intents.create({"src": "10.0.0.1", "dst": "10.0.0.4", "rate_bps": 2 * MBIT})
    net.settle()
    before = net.switches.state()
    s4 = net.dpid["s4"]
    net.core.switch_disconnected(s4, net.now)
    # Ryu's discovery deletes every link of a switch it cannot reach any more.
    for (a, pa), (b, pb) in sorted(net.links.items()):
        if s4 in (a, b):
            net.core.link_removed(a, pa, b, pb, net.now)
    batch = net.settle(seconds=5.0)
    assert batch.sends == [] and batch.recheck_after == pytest.approx(25.0)
    assert net.switches.state() == before and net.all_pairs_delivered()
    net.connect(s4)  # it kept everything (fail-mode secure)
    net.discover(s4)
    assert net.settle().sends == []
    assert net.allocation_states() == {"1": "installed"}


def test_a_switch_that_comes_back_empty_gets_every_rule_and_host_back_at_once(b4):
    net = b4
    s4 = net.dpid["s4"]
    net.core.switch_disconnected(s4, net.now)
    net.switches.clear(s4)  # ovs-vsctl del-controller, or ovs-vswitchd restarted
    assert not net.delivers("10.0.0.1", "10.0.0.4")
    net.connect(s4)
    batch = net.settle()
    assert batch.sends and all(c.dpid == s4 for c in batch.sends)
    assert net.all_pairs_delivered()
    assert net.core.counters["packet_in"] == 0  # no host had to speak


def test_a_switch_gone_longer_than_the_hold_time_is_routed_around(tmp_path):
    net = Network(b4_graph(bw=10), tmp_path, switch_hold_time=2.0)
    net.start()
    s3 = net.dpid["s3"]
    net.core.switch_disconnected(s3, net.now)
    assert net.settle(seconds=1.0).sends == []
    batch = net.settle(seconds=1.5)
    assert batch.sends  # now a topology change
    others = [ip for ip, (d, _) in net.host_at.items() if d != s3]
    net.links = {k: v for k, v in net.links.items() if s3 not in (k[0], v[0])}
    assert all(net.delivers(a, b) for a, b in itertools.permutations(others, 2))
    assert s3 not in net.core.fabric.switches


def test_the_fake_switches_refuse_a_flow_that_names_a_missing_group():
    """They enforce the order that makes make-before-break safe, so settle() would catch a wrong one."""
    switches = FakeSwitches()
    assert not switches.send(Change(ADD, FlowSpec(1, 1, 10, match(in_port=1), (ToGroup(99),))))
    assert len(switches.errors) == 1 and switches.state() == State()


def test_the_fake_switches_refuse_adding_an_existing_group_and_modifying_a_missing_one():
    from controller.reconcile import MODIFY
    from controller.specs import GROUP_SELECT, Bucket, GroupSpec, Output
    group = GroupSpec(1, 5, GROUP_SELECT, (Bucket((Output(1),)),))
    switches = FakeSwitches()
    assert not switches.send(Change(MODIFY, group))
    assert switches.send(Change(ADD, group))
    assert not switches.send(Change(ADD, group))
    assert len(switches.errors) == 2


def test_while_a_switch_is_held_new_paths_avoid_it_where_they_can(b4):
    """s1's channel is cut and then link s4-s5 fails: h2 <-> h4 went s2-s5-s4; the shortest detour would
    cross s1, which cannot be programmed now, so the detour avoids it."""
    net = b4
    s1 = net.dpid["s1"]
    net.core.switch_disconnected(s1, net.now)
    net.settle()
    net.link_down("s4", "s5")
    batch = net.settle()
    assert batch.sends and all(c.dpid != s1 for c in batch.sends)
    assert net.delivers("10.0.0.2", "10.0.0.4") and net.delivers("10.0.0.4", "10.0.0.2")
    assert net.all_pairs_delivered()
    net.connect(s1)  # back: the shortest paths (through s1) return
    net.discover(s1)
    assert net.settle(seconds=4.0).sends
    assert net.all_pairs_delivered()


def test_a_link_that_failed_during_a_control_channel_cut_is_dropped_when_lldp_does_not_find_it(b4):
    net = b4
    s4, s5 = net.dpid["s4"], net.dpid["s5"]
    net.core.switch_disconnected(s4, net.now)
    for (a, pa), (b, pb) in sorted(net.links.items()):
        if s4 in (a, b):
            net.core.link_removed(a, pa, b, pb, net.now)
    # meanwhile s4-s5 dies without a port going down (a fault in between): LLDP will not find it again
    net.links = {k: v for k, v in net.links.items() if {k[0], v[0]} != {s4, s5}}
    net.settle(seconds=2.0)
    net.connect(s4)
    net.discover(s4)
    assert net.settle().recheck_after == pytest.approx(5.0, abs=0.6)
    assert not net.all_pairs_delivered()  # the routes over s4-s5 are still there...
    net.settle(seconds=5.0)
    assert net.all_pairs_delivered()  # ...until the link counts as down
    assert not any({a, b} == {s4, s5} for (a, _), (b, _) in net.core.fabric.links.items())


def test_a_readback_that_times_out_leaves_the_switch_cleared_and_reprogrammed(b4):
    net = b4
    s2 = net.dpid["s2"]
    net.core.switch_disconnected(s2, net.now)
    net.core.switch_connected(s2, net.ports(s2), net.now)  # and it never answers the read-back
    assert net.core.readback_timed_out(s2, net.now + 5.0)
    net.switches.clear(s2)  # what the app then does: clear the switch
    batch = net.settle()
    assert batch.sends and {c.dpid for c in batch.sends} == {s2}
    assert net.all_pairs_delivered()


def test_while_a_switch_is_held_each_plan_is_solved_once_and_keeps_its_clock(b4):
    """Planning around a held switch needs two plans per recomputation; neither is solved again, nor
    does an allocation's computed_at move, while nothing changes."""
    net = b4
    net.core.intents.create({"src": "10.0.0.2", "dst": "10.0.0.4", "rate_bps": 2 * MBIT})
    net.settle()
    net.core.switch_disconnected(net.dpid["s1"], net.now)
    net.link_down("s4", "s5")
    assert net.settle().pending_on_held is False
    solves = net.core.counters["te_solves"]
    [before] = net.core.allocations_body()["allocations"]
    for _ in range(3):
        assert net.settle().sends == []
    [after] = net.core.allocations_body()["allocations"]
    assert net.core.counters["te_solves"] == solves
    assert after["computed_at"] == before["computed_at"] and after["state"] == "installed"
