"""A restarted controller that adopts the switches' state recomputes exactly that state: no change to send."""
from collections import Counter

from controller.core import Core
from controller.pipeline import TE_GROUP_MIN
from controller.restore import PARTS, Readback, hosts_from_routes, id_hints
from controller.settings import Settings
from controller.specs import FlowSpec, State
from controller.topology import LinkInfo

from fakeof import FakeSwitches
from test_controller_te import fabric_at

MBIT = 1e6


def running_core(fabric, restore_timeout=0.0):
    """A core whose network is ``fabric``, every switch connected and read back empty."""
    core = Core(Settings(intent_store="", restore_timeout=restore_timeout), fabric.link_info)
    core.fabric = fabric
    for dpid in sorted(fabric.switches):
        core.switch_connected(dpid, fabric.switches[dpid].ports, 0.0)
        for part in PARTS:
            core.readback(dpid, part, [], True, 0.0)
    return core


def settle(core, switches, now=1.0):
    batch = core.recompute(now)
    core.confirm(batch, switches.send_all(batch.changes), True, now)
    return batch


def history():
    """A fabric, intents and the state a long-running controller left on the switches.

    Hosts arrive one by one and intents come and go, so the ids in use are not the ones a fresh
    controller would hand out for the final network.
    """
    full = fabric_at(host_bps=40 * MBIT)
    growing = fabric_at(host_bps=40 * MBIT)
    growing.hosts = {}
    core, switches = running_core(growing), FakeSwitches()
    for n, (ip, host) in enumerate(sorted(full.hosts.items(), key=lambda kv: -kv[1].dpid)):
        growing.learn_host(ip, host.mac, host.dpid, host.port)
        if n == 5:
            core.intents.create({"src": "10.0.0.16", "dst": "10.0.0.15", "rate_bps": 2 * MBIT})
            core.intents.create({"src": "10.0.0.14", "dst": "10.0.0.13", "rate_bps": 1 * MBIT})
        settle(core, switches)
    core.intents.create({"src": "10.0.0.1", "dst": "10.0.0.16", "rate_bps": 15 * MBIT, "name": "split"})
    core.intents.delete("1")
    core.intents.create({"src": "10.0.0.3", "dst": "10.0.0.9", "rate_bps": 3 * MBIT, "match": {"ip_proto": 17}})
    settle(core, switches)
    assert not switches.errors
    return full, core.intents.list(), switches.state()


def restarted(full, intents, on_switches, restore_timeout, links=True):
    """A new core that meets the switches as they are: connected, read back, links rediscovered (unless not
    ``links``)."""
    fabric = full.__class__(full.link_info, full.default_capacity_bps)
    core = Core(Settings(intent_store="", restore_timeout=restore_timeout), full.link_info)
    core.fabric = fabric
    core.intents.restore(intents)
    for dpid in sorted(full.switches):
        core.switch_connected(dpid, full.switches[dpid].ports, 0.0)
        held = on_switches.for_dpid(dpid)
        for part, specs in (("flows", held.flows()), ("groups", held.groups()), ("meters", held.meters())):
            core.readback(dpid, part, specs, True, 0.0)
    if links:
        rediscover(core, full, 0.1)
    return core


def rediscover(core, full, now):
    for (a, pa), (b, pb) in sorted(full.links.items()):
        core.link_added(a, pa, b, pb, now)


def test_a_restarted_core_adopts_the_ids_on_the_switches_and_sends_no_change():
    full, intents, on_switches = history()
    assert any(len(g.buckets) > 1 for g in on_switches.groups() if g.group_id >= TE_GROUP_MIN)  # a split intent

    core = restarted(full, intents, on_switches, restore_timeout=60.0)
    where = {ip: (h.dpid, h.port) for ip, h in full.hosts.items()}
    assert {ip: (h.dpid, h.port) for ip, h in core.fabric.hosts.items()} == where  # learned from the routes
    batch = core.recompute(5.0)  # past the settle time: the restore gate opens
    assert not core.restoring
    assert batch.changes == []


def described(full):
    """``full`` as a topology file describes it (as the lab's controllers get it): every switch and link."""
    expected = {}
    for (a, _), (b, _) in full.links.items():
        expected.setdefault(a, Counter())[b] += 1
    info = full.link_info
    full.link_info = LinkInfo(info.capacity_bps, expected, {d: f"s{d:x}" for d in full.switches}, info.hosts)
    return full


def test_a_restarted_follower_plans_only_once_its_links_are_back():
    """Seen in CI: a follower restarted a few seconds before the leader died had seen few LLDP packets; it
    planned on that view, showed its intents "unroutable: no path", and the new leader's REST answers kept
    saying so between winning the election and taking over. A restarted follower, like a restarted leader,
    judges nothing before the network is back."""
    full, intents, on_switches = history()
    core = restarted(described(full), intents, on_switches, restore_timeout=60.0, links=False)
    core.leading = False  # a cluster member starts as a follower
    assert core.fabric.hosts  # learned from the routes: every intent's hosts are located
    assert core.recompute(0.2).sends == []
    assert not core.te_plan.allocations  # no verdict yet, so none is shown
    assert {a["state"] for a in core.allocations_body()["allocations"]} == {"pending"}
    rediscover(core, full, 0.3)
    assert core.recompute(0.4).sends == []
    assert len(core.te_plan.allocations) == len(intents)
    assert all(a.routable for a in core.te_plan.allocations)


def test_a_follower_plans_after_the_restore_timeout_whatever_links_are_missing():
    full, intents, on_switches = history()
    core = restarted(described(full), intents, on_switches, restore_timeout=5.0, links=False)
    core.leading = False
    core.recompute(4.9)
    assert not core.te_plan.allocations
    core.recompute(5.0)  # a link the topology file lists may really be down: plan on what there is
    assert len(core.te_plan.allocations) == len(intents)
    assert not any(a.routable for a in core.te_plan.allocations if a.src.dpid != a.dst.dpid)


def test_without_adopting_the_ids_a_fresh_controller_would_renumber_everything():
    full, intents, on_switches = history()
    core = restarted(full, intents, on_switches, restore_timeout=60.0)
    core.restoring = False  # skip the restore gate, and with it the adoption of ids
    assert core.recompute(5.0).sends != []


def test_hosts_from_routes_are_where_the_routes_deliver():
    full, _, on_switches = history()
    found = hosts_from_routes(on_switches.flows(), {ip: h.mac for ip, h in full.hosts.items()})
    assert {h.ip: h for h in found} == full.hosts


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
