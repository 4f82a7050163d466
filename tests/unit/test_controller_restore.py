"""A restarted controller that adopts the switches' state recomputes exactly that state: no change to send."""
from controller.compile import compile_baseline, host_pairs
from controller.compile_te import compile_te
from controller.intents import IntentRegistry
from controller.reconcile import diff
from controller.restore import Readback, adopt_ids, hosts_from_routes, id_hints
from controller.specs import GROUP_ID_MAX, METER_ID_MAX, TE_GROUP_MIN, FlowSpec, State
from controller.te_plan import plan
from controller.tunnels import MPLS_LABEL_MAX, TE_LABEL_MIN, IdAllocator, TunnelPlanner

from test_controller_te import fabric_at

MBIT = 1e6


class Controller:
    """The allocators of controller.app and one recomputation, as _reconcile does it."""

    def __init__(self):
        self.planner = TunnelPlanner()
        self.group_ids = IdAllocator(1, TE_GROUP_MIN - 1)
        self.te_labels = IdAllocator(TE_LABEL_MIN, MPLS_LABEL_MAX)
        self.te_group_ids = IdAllocator(TE_GROUP_MIN, GROUP_ID_MAX)
        self.te_meter_ids = IdAllocator(1, METER_ID_MAX)

    def desired(self, fabric, intents) -> State:
        tunnels = self.planner.plan(fabric.adjacency(), host_pairs(fabric))
        baseline = compile_baseline(fabric.switches, fabric.hosts.values(), tunnels, self.group_ids)
        specs, _ = compile_te(plan(fabric, intents), self.te_labels, self.te_group_ids, self.te_meter_ids)
        return State.of([*baseline, *specs])

    def adopt(self, state, fabric):
        return adopt_ids(id_hints(state, fabric.links), self.planner.labels, self.te_labels, self.group_ids,
                         self.te_group_ids, self.te_meter_ids)


def history():
    """A fabric, intents and the state a long-running controller left on the switches.

    Hosts arrive one by one and intents come and go, so the ids in use are not the ones a fresh
    controller would hand out for the final network.
    """
    full = fabric_at(host_bps=40 * MBIT)
    growing = fabric_at(host_bps=40 * MBIT)
    growing.hosts = {}
    registry = IntentRegistry()
    before = Controller()
    for n, (ip, host) in enumerate(sorted(full.hosts.items(), key=lambda kv: -kv[1].dpid)):
        growing.learn_host(ip, host.mac, host.dpid, host.port)
        if n == 5:
            registry.create({"src": "10.0.0.16", "dst": "10.0.0.15", "rate_bps": 2 * MBIT})
            registry.create({"src": "10.0.0.14", "dst": "10.0.0.13", "rate_bps": 1 * MBIT})
        before.desired(growing, registry.list())
    registry.create({"src": "10.0.0.1", "dst": "10.0.0.16", "rate_bps": 15 * MBIT, "name": "split"})
    registry.delete("1")
    registry.create({"src": "10.0.0.3", "dst": "10.0.0.9", "rate_bps": 3 * MBIT, "match": {"ip_proto": 17}})
    return full, registry.list(), before.desired(growing, registry.list())


def test_a_fresh_controller_that_adopts_the_ids_on_the_switches_recomputes_them_unchanged():
    full, intents, on_switches = history()
    assert any(len(g.buckets) > 1 for g in on_switches.groups() if g.group_id >= TE_GROUP_MIN)  # a split intent

    restarted = full.__class__(full.link_info, full.default_capacity_bps)
    restarted.switches, restarted.links = full.switches, full.links
    for h in hosts_from_routes(on_switches.flows(), {ip: h.mac for ip, h in full.hosts.items()}):
        assert restarted.learn_host(h.ip, h.mac, h.dpid, h.port)
    assert restarted.hosts == full.hosts

    fresh = Controller()
    assert diff(on_switches, fresh.desired(restarted, intents)) != []  # what adoption is for

    after = Controller()
    assert after.adopt(on_switches, restarted) > 0
    assert diff(on_switches, after.desired(restarted, intents)) == []


def test_ids_of_entries_that_cannot_be_followed_are_not_adopted():
    full, intents, on_switches = history()
    broken = State({k: s for k, s in on_switches.entries.items()
                    if not (isinstance(s, FlowSpec) and dict(s.match).get("mpls_label") and s.dpid >= 0x2000)})
    hints = id_hints(broken, full.links)
    assert hints.te_groups and hints.te_meters  # from the classifiers' cookies, which need no walk
    # Inter-pod tunnels all cross an aggregation switch (0x2xxx), whose label rules are gone.
    assert len(hints.ecmp_labels) < len(id_hints(on_switches, full.links).ecmp_labels)


def test_readback_completes_when_every_part_has_its_last_reply():
    r = Readback()
    assert not r.add("flows", ["f1"], last=False)
    assert not r.add("flows", ["f2"], last=True)
    assert not r.add("groups", [], last=True)
    assert r.add("meters", ["m1"], last=True)
    assert r.specs == ["f1", "f2", "m1"]
