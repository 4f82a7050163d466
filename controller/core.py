"""The controller's decisions, with no Ryu: from network events to the switch changes that follow.

:class:`Core` owns everything the controller knows and decides: the fabric (switches, links,
hosts), the ARP proxy, the intents, the id space, the TE plan, the state installed on the
switches and the gate that keeps a restarted controller from judging a half-rediscovered
network. Its event methods take the time (``now``, monotonic seconds) and return a
:class:`Reaction` (packets to send, whether to recompute, when to look again);
:meth:`Core.recompute` returns a :class:`Batch` of ordered changes with barrier points, and
:meth:`Core.confirm` takes back what was sent and whether the switches confirmed it.
The Ryu application (:mod:`controller.app`) only decodes events, calls these and sends.

Control-plane faults leave the data plane alone: a switch whose OpenFlow connection drops
keeps its links, hosts and rules in the view (it still forwards, in fail-mode secure) for
``switch_hold_time`` seconds; only port status, LLDP link loss between connected switches or
the end of that hold turn it into a topology change. When it reconnects, what it holds is
read back and whatever it lost is installed again, hosts included (learned ones, and those
the topology file places on a port), without any host having to send a packet.

Examples
--------
Two switches, one link, a host on each; the core installs the ECMP baseline once both are
read back and the link is seen:

>>> from controller.settings import Settings
>>> core = Core(Settings(intent_store="", restore_timeout=0))
>>> for dpid in (1, 2):
...     _ = core.switch_connected(dpid, [1, 2], now=0.0)
...     for part in PARTS:
...         _ = core.readback(dpid, part, [], True, now=0.0)
>>> _ = core.link_added(1, 1, 2, 1, now=0.1); _ = core.link_added(2, 1, 1, 1, now=0.1)
>>> _ = core.fabric.learn_host("10.0.0.1", "00:00:00:00:00:01", 1, 2)
>>> _ = core.fabric.learn_host("10.0.0.2", "00:00:00:00:00:02", 2, 2)
>>> batch = core.recompute(now=0.2)
>>> len(batch.sends), batch.barriers
(22, 3)
>>> core.confirm(batch, batch.sends, confirmed=True, now=0.3)
>>> core.recompute(now=0.4).sends  # nothing left to do
[]
"""
from __future__ import annotations

import logging
import time  # only for what operators are shown (solve duration, Unix times); decisions take ``now``
from collections import Counter
from dataclasses import dataclass, field

from te.errors import TEError
from te.updates import plan_update

from .admission import admit
from .compile_ecmp import compile_baseline, host_pairs
from .compile_te import compile_te
from .elephants import ElephantTracker, FlowKey, count_flows, place
from .etcd import EtcdStore, is_etcd_url
from .hosts import ArpProxy, PacketOut
from .ids import IdSpace
from .intents import IntentRegistry
from .metrics import TECollector, render
from .packets import ETH_TYPE_ARP, ETH_TYPE_IPV4, ETH_TYPE_LLDP, parse_arp, parse_ethernet, parse_ipv4
from .reconcile import BARRIER, DELETE, apply, diff
from .restore import PARTS, Readback, hosts_from_routes, id_hints  # noqa: F401  (PARTS: the doctest)
from .specs import State
from .stats import ByteRates, Durations, TrafficTotals
from .store import IntentStore, StoreError
from .te_plan import Plan, host_capacity, inputs_key, plan, rates_of, same_rates, switch_node, te_graph, with_rates
from .topology import Fabric, read_link_info
from .tunnels import TunnelPlanner
from .views import allocation_views, class_views, elephant_views, link_views, topology_view

LOG = logging.getLogger("controller.core")

RECHECK_S = 0.25  # how soon to look again while switches are being read back or settle
# After a control-channel cut, how long LLDP has to find a kept link again once both its ends are back
# (Ryu probes every port about once a second).
LINK_RECONFIRM_S = 5.0


class SetupError(Exception):
    """The controller cannot start with this configuration; the message says what to fix."""


@dataclass(frozen=True)
class Reaction:
    """What an event asks of the Ryu side."""

    packets: tuple = ()  # PacketOut to send now
    held: tuple = ()  # PacketOut to send once the next recomputation is on the switches
    recompute: bool = False  # the desired state may have changed


NOTHING = Reaction()


@dataclass(frozen=True)
class Batch:
    """One recomputation's changes, in order, with :data:`controller.reconcile.BARRIER` markers.

    The sender sends each change to its switch and, at every barrier, waits until every switch
    touched since the previous barrier confirmed one, then hands :meth:`Core.confirm` the
    changes it did send.
    """

    changes: list = field(default_factory=list)
    recheck_after: float | None = None  # seconds: recompute again then even without events
    held: frozenset = frozenset()  # switches left alone this time
    pending_on_held: bool = False  # held switches lack some of the desired state

    @property
    def sends(self) -> list:
        """The changes without the barriers."""
        return [c for c in self.changes if c is not BARRIER]

    @property
    def barriers(self) -> int:
        return sum(1 for c in self.changes if c is BARRIER)


class Core:
    """Everything the controller knows and decides (see the module docstring).

    Parameters
    ----------
    settings : controller.settings.Settings
    link_info : controller.topology.LinkInfo, optional
        The topology file, read (:meth:`open` reads it from ``settings.topology_file``).
    store : controller.store.IntentStore, optional
        Where accepted intents are written before they are taken; None keeps them in memory.
    now : float
        Monotonic time of the start.
    wake : callable, optional
        Called (with no argument) when a change from outside an event (the REST API) wants a
        recomputation.
    """

    def __init__(self, settings, link_info=None, store=None, now: float = 0.0, wake=None):
        self.settings = settings
        self.fabric = Fabric(link_info, settings.default_capacity_bps)
        self.arp = ArpProxy(settings.arp_settle_seconds, settings.arp_flood_interval)
        self.ids = IdSpace()
        self.planner = TunnelPlanner(self.ids.ecmp_labels, settings.max_paths)
        self.store = store
        self.intents = IntentRegistry(lambda: self.fabric.hosts.keys() | self.fabric.link_info.hosts.keys(),
                                      persist=store.apply if store is not None else None, admit=self._admit)
        self.wake = wake or (lambda: None)
        self.started_at = now
        self.installed = State()  # what the switches hold, as far as we know
        self.connected: set = set()  # switches with a live OpenFlow connection
        self.disconnected: dict = {}  # dpid -> when its connection dropped (held in the view)
        self.reading: dict = {}  # dpid -> Readback of a switch whose state is being read back
        self.kept: set = set()  # switches that came back holding our entries and may not be settled yet
        # Links kept through a control-channel cut that LLDP has not found again since: (src, port) -> (dst, port)
        self.unconfirmed: dict = {}
        self.restoring = True  # until the network is back after a start (see _restore_done)
        self.te_plan = Plan(objective=settings.te_objective, headroom=settings.te_headroom)
        self.te_inputs = None  # what the plans in te_plans were solved for (intents generation, links, hosts)
        self.te_plans: dict = {}  # avoided switches -> Plan, for te_inputs
        self.te_due = False  # the periodic re-solve is due
        self.te_solve_seconds = None
        self.te_shown: dict = {}  # intent id -> [(PathShare, label, weight)] as compiled
        self.te_times: dict = {}  # intent id -> (signature, computed_at, installed_at)
        # Staged (congestion-free) updates, te_update_scratch: what the switches were last confirmed to hold
        # (intent id -> {path: rate}), the steps still to go to the plan being installed, and what was sent.
        self.te_applied: dict | None = None
        self.te_steps: list = []
        self.te_steps_for = None  # the target rates the steps lead to
        self.te_sent: dict | None = None
        self.te_updates = {"staged": 0, "steps": 0, "fallbacks": 0, "last": None}
        self.last_install: dict = {}  # what the last reconcile sent and how long it took
        self.port_rates = ByteRates()  # (dpid, port) -> transmitted bit/s
        self.meter_rates = ByteRates()  # (dpid, meter id) -> bit/s the meter let through
        self.traffic = TrafficTotals()  # byte counters of links and intents, for /metrics
        self.solve_durations = Durations()  # of every TE solve, for /metrics
        self.elephants = ElephantTracker(settings.te_elephant_threshold)  # polled only with te_elephants on
        self.placements: dict = {}  # FlowKey -> elephants.Placement, as last compiled
        self._placed_for = None  # what self.placements were computed from
        self.counters: Counter = Counter()
        self.collector = TECollector(self.metrics_snapshot)
        # With several controllers (an etcd store): only the leader programs the switches. A follower keeps the
        # view (switches, links, hosts, what the switches hold, intents) and plans, but sends nothing.
        self.cluster = None  # controller.cluster.Cluster, set by the app when there is one
        self.leading = not is_etcd_url(settings.intent_store)

    @classmethod
    def open(cls, settings, now: float = 0.0, wake=None) -> "Core":
        """A core for ``settings``: reads the topology file, opens the intent store and restores its intents.

        Raises
        ------
        SetupError
            A topology file or intent store that cannot be used, in one line.
        """
        try:
            link_info = read_link_info(settings.topology_file) if settings.topology_file else None
        except (OSError, ValueError) as exc:
            raise SetupError(f"topology_file: {exc}") from None
        store = None
        if settings.intent_store:
            try:
                store = open_store(settings.intent_store)
            except StoreError as exc:
                raise SetupError(str(exc)) from None
        core = cls(settings, link_info, store, now, wake)
        if store is None:
            LOG.info("te: no intent_store: intents are kept in memory only")
            return core
        try:
            core.intents.restore(store.load(), store.next_id(), store.load_groups())
        except StoreError as exc:
            store.close()
            raise SetupError(str(exc)) from None
        LOG.info("te: restored %d intents from %s (next id %d)", len(core.intents), store.path, core.intents.next_id)
        if store.warning:
            LOG.warning("te: %s", store.warning)
        return core

    def close(self) -> None:
        """Release the intent store."""
        if self.store is not None:
            self.store.close()

    # --- switches ------------------------------------------------------------------------
    def switch_connected(self, dpid: int, live_ports, now: float) -> Reaction:
        """A switch (re)connected; the caller sends it the read-back requests next.

        Nothing is sent to it until its read-back is complete (:meth:`readback`).
        """
        self.connected.add(dpid)
        back_in_time = self.disconnected.pop(dpid, None) is not None
        self.installed = self.installed.without_dpid(dpid)
        self.reading[dpid] = Readback()
        self.kept.discard(dpid)
        self.fabric.add_switch(dpid, live_ports, now)
        LOG.info("te: switch %016x connected with %d live ports%s", dpid, len(self.fabric.host_ports(dpid)),
                 " (back within its hold time: links and hosts kept)" if back_in_time else "")
        return Reaction(recompute=True)

    def switch_disconnected(self, dpid: int, now: float) -> Reaction:
        """A switch's OpenFlow connection dropped: keep it in the view for ``switch_hold_time``."""
        if dpid not in self.connected:
            return NOTHING
        self.connected.discard(dpid)
        self.reading.pop(dpid, None)
        self.kept.discard(dpid)
        self.port_rates.forget(dpid)
        self.meter_rates.forget(dpid)
        self.elephants.forget(dpid)
        hold = self.settings.switch_hold_time
        self.disconnected[dpid] = now
        LOG.info("te: switch %016x disconnected; kept in the view (links, hosts, rules) for %.1f s", dpid, hold)
        return Reaction(recompute=True)  # whose Batch says when the hold ends

    def readback(self, dpid: int, part: str, specs, last: bool, now: float) -> Reaction:
        """Specs of one ``part`` (:data:`controller.restore.PARTS`) read back from switch ``dpid``;
        ``last`` when its final reply came.

        Once every part is in, they are the installed state of the switch; a switch that kept our
        entries is left alone until it settles (its expected links rediscovered, or
        ``arp_settle_seconds``), and hosts its routes deliver to are learned.
        """
        readback = self.reading.get(dpid)
        if readback is None or not readback.add(part, specs, last):
            return NOTHING  # an answer for a connection that is gone, or more to come
        del self.reading[dpid]
        state = State.of(readback.specs)
        self.installed = self.installed.replace_dpid(dpid, state)
        macs = {ip: h.mac for ip, h in self.fabric.link_info.hosts.items() if h.mac}
        hosts = [h for h in hosts_from_routes(state.flows(), macs)
                 if h.ip not in self.fabric.hosts and self.fabric.learn_host(h.ip, h.mac, h.dpid, h.port)]
        if len(state):
            self.kept.add(dpid)
        LOG.info("te: switch %016x holds %d flows, %d groups, %d meters of ours; %d hosts learned from its routes",
                 dpid, len(state.flows()), len(state.groups()), len(state.meters()), len(hosts))
        return Reaction(recompute=True)

    def readback_timed_out(self, dpid: int, now: float, token=None) -> bool:
        """The read-back of ``dpid`` did not complete in time: True if the caller should clear the switch.

        ``token``: the :class:`~controller.restore.Readback` the timer was set for; a later read-back of the
        same switch (a takeover, a resync) is not timed out by an earlier timer.
        """
        if dpid not in self.reading or (token is not None and self.reading[dpid] is not token):
            return False
        LOG.warning("te: switch %016x did not report its flows, groups and meters within %.1f s; clearing it "
                    "instead", dpid, self.settings.barrier_timeout)
        del self.reading[dpid]
        self.installed = self.installed.without_dpid(dpid)
        return True

    def resync(self, dpid: int) -> None:
        """What switch ``dpid`` holds is unknown (it did not confirm a barrier): read it back before
        anything else is sent to it. The caller sends the read-back requests."""
        if dpid in self.connected:
            self.installed = self.installed.without_dpid(dpid)
            self.reading[dpid] = Readback()
            LOG.warning("te: switch %016x did not confirm its changes; reading back what it holds", dpid)

    def port_changed(self, dpid: int, port: int, live: bool, now: float) -> Reaction:
        if dpid not in self.connected or not self.fabric.set_port(dpid, port, live):
            return NOTHING
        LOG.info("te: port %016x:%d %s", dpid, port, "up" if live else "down")
        return Reaction(recompute=True)

    def link_added(self, src: int, src_port: int, dst: int, dst_port: int, now: float) -> Reaction:
        self.unconfirmed.pop((src, src_port), None)
        if not self.fabric.add_link(src, src_port, dst, dst_port):
            return NOTHING
        LOG.info("te: link %016x:%d -> %016x:%d up", src, src_port, dst, dst_port)
        return Reaction(recompute=True)

    def link_removed(self, src: int, src_port: int, dst: int, dst_port: int, now: float) -> Reaction:
        """LLDP lost a link. Links of a switch whose connection dropped are kept: discovery stops there
        because the controller cannot reach the switch, not because the link is down."""
        if src in self.disconnected or dst in self.disconnected:
            if (src, src_port) in self.fabric.links:
                self.unconfirmed[(src, src_port)] = (dst, dst_port)  # LLDP must find it again once both are back
            return NOTHING
        self.unconfirmed.pop((src, src_port), None)
        if not self.fabric.remove_link(src, src_port):
            return NOTHING
        LOG.info("te: link %016x:%d -> %016x:%d down", src, src_port, dst, dst_port)
        return Reaction(recompute=True)

    # --- packets and counters --------------------------------------------------------------
    def packet_in(self, dpid: int, in_port: int, data: bytes, now: float) -> Reaction:
        """An ARP or IPv4 packet the switch sent up: learn its sender, answer or probe."""
        self.counters["packet_in"] += 1
        eth = parse_ethernet(data)
        if eth is None:
            return NOTHING
        outcome = None
        if eth.ethertype == ETH_TYPE_LLDP:
            self.counters["packet_in_lldp"] += 1  # Ryu's discovery handles these
        elif eth.ethertype == ETH_TYPE_ARP:
            self.counters["packet_in_arp"] += 1
            arp = parse_arp(eth.payload)
            if arp is not None:
                outcome = self.arp.handle_arp(self.fabric, dpid, in_port, eth, arp, now)
        elif eth.ethertype == ETH_TYPE_IPV4:
            self.counters["packet_in_ipv4"] += 1
            ip = parse_ipv4(eth.payload)
            if ip is not None:
                outcome = self.arp.handle_ipv4(self.fabric, dpid, in_port, eth, ip, now)
        else:
            self.counters["packet_in_other"] += 1
        if outcome is None:
            return NOTHING
        if outcome.hosts_changed:
            # Answer once the forwarding for the new host is on the switches: a host sends its first
            # packet right after the ARP answer, and it must not race the rules.
            return Reaction(held=outcome.packets, recompute=True)
        return Reaction(packets=outcome.packets)

    def port_counters(self, dpid: int, samples, now: float) -> None:
        """``samples``: ``(port, tx_bytes)`` of a port stats reply."""
        samples = list(samples)
        for port, tx_bytes in samples:
            self.port_rates.update((dpid, port), tx_bytes, now)
        self.traffic.ports(dpid, samples)

    def meter_counters(self, dpid: int, samples, complete: bool, now: float) -> None:
        """``samples``: ``(meter_id, bytes it let through[, bytes its drop band dropped])`` of a meter stats
        reply (:func:`controller.stats.meter_sample`)."""
        samples = list(samples)
        for meter_id, passed, *_ in samples:
            self.meter_rates.update((dpid, meter_id), passed, now)
        intents = self.intents.list()
        owners = {m: i.id for i in intents if (m := self.ids.te_meters.lookup(i.id)) is not None}
        self.traffic.meters(dpid, samples, owners)
        self.traffic.retain_intents([i.id for i in intents])
        if complete:
            installed = [m.meter_id for m in self.installed.for_dpid(dpid).meters()]
            self.meter_rates.retain(dpid, [(dpid, m) for m in installed])
            if dpid not in self.reading:  # while it is read back, what it holds is not known yet
                self.traffic.retain_meters(dpid, installed + [s[0] for s in samples])

    def flow_counters(self, dpid: int, samples, complete: bool, now: float) -> Reaction:
        """``samples``: ``(match fields, bytes, packets)`` of the flows switch ``dpid`` counted at its host ports
        (:func:`controller.elephants.count_flows`); ``complete`` with the reply's last part."""
        keyed = [(key, b, p) for key, b, p in ((FlowKey.from_match(dict(m)), b, p) for m, b, p in samples) if key]
        before = self.elephants.detected
        if not self.elephants.counters(dpid, keyed, complete, now, lambda ip: host_capacity(self.fabric, ip)):
            return NOTHING
        self.counters["elephants_detected"] += self.elephants.detected - before
        return Reaction(recompute=True)

    def te_timer(self) -> Reaction:
        """The periodic re-solve is due."""
        self.te_due = True
        return Reaction(recompute=True)

    def intents_changed(self) -> None:
        """Called by the REST API after every accepted change (the registry has stored it already)."""
        LOG.info("te: intents changed (generation %d, %d intents)", self.intents.generation, len(self.intents))
        self.wake()

    # --- several controllers ----------------------------------------------------------------
    def become_leader(self, now: float) -> list:
        """This controller won the election: take over the switches as a restarted controller does.

        Everything it decided as an earlier leader is forgotten (ids, the plan, the staged steps): every
        connected switch is read back, ids are adopted from what they hold once the network is complete
        (the restore gate), and only then is anything computed, so an unchanged network gets no change.
        Returns the switches the caller reads back (after its MASTER role request).
        """
        self.leading = True
        self.ids = IdSpace()
        self.planner = TunnelPlanner(self.ids.ecmp_labels, self.settings.max_paths)
        self.te_plan = Plan(objective=self.settings.te_objective, headroom=self.settings.te_headroom)
        self.te_inputs, self.te_plans, self.te_shown, self.te_times = None, {}, {}, {}
        self.te_applied, self.te_steps, self.te_steps_for, self.te_sent = None, [], None, None
        self.placements, self._placed_for = {}, None
        self.installed = State()
        self.reading = {dpid: Readback() for dpid in self.connected}
        self.kept = set()
        self.restoring, self.started_at = True, now
        self.counters["became_leader"] += 1
        LOG.info("te: leading now: reading back %d switches before changing anything", len(self.connected))
        return sorted(self.connected)

    def become_follower(self, now: float) -> None:
        """This controller no longer leads: it sends nothing from now on, and keeps its view."""
        if self.leading:
            self.counters["became_follower"] += 1
            LOG.warning("te: following now: no more changes to the switches from this controller")
        self.leading = False

    def follow_store(self, snapshot) -> bool:
        """Take the intents and groups as stored (``snapshot``, read from etcd; the caller makes sure it is not
        older than this controller's own last write); True if they changed (then it plans again)."""
        changed = self.intents.replace_all(snapshot.intents, snapshot.next_id, snapshot.groups)
        if changed:
            LOG.info("te: intents from the store (revision %d): %d intents, %d groups", snapshot.store_revision,
                     len(self.intents), len(self.intents.groups()))
            self.wake()
        return changed

    def forward_to(self) -> str | None:
        """Where a REST write goes: None to take it here (no cluster, or this controller leads), else the
        leader's base URL ("" while no leader is known)."""
        if self.cluster is None or self.leading:
            return None
        leadership = self.cluster.leadership
        if not leadership.leader or leadership.leader == self.cluster.name:  # none, or us still taking over
            return ""
        return leadership.leader_info.get("rest", "")

    def follow_changes(self, changes: dict, revision: int) -> bool:
        """Take one batch of changes another controller stored (:meth:`controller.etcd.EtcdStore.changes`)."""
        changed = self.intents.take_stored(**changes)
        if changed:
            LOG.info("te: intents from the store (revision %d): %d intents, %d groups", revision, len(self.intents),
                     len(self.intents.groups()))
            self.wake()
        return changed

    def cluster_body(self) -> dict:
        """``GET /te/v1/cluster``: members, leader, lease, store revision (one controller: no cluster)."""
        if self.cluster is None:
            return {"mode": "single", "role": "leader", "leading": True,
                    "store": str(self.store.path) if self.store is not None else None}
        body = {"mode": "etcd", "leading": self.leading, **self.cluster.as_dict()}
        body["store"] = {"url": self.store.path, "revision": self.store.last_revision, "writes": self.store.writes}
        body["changes_sent"] = self.counters["flow_group_mods"]  # OpenFlow changes this controller sent, ever
        roles = getattr(self, "switch_roles", {})
        body["switches"] = [{"dpid": f"{dpid:016x}", "role": role, "generation": generation}
                            for dpid, (role, generation) in sorted(roles.items()) if dpid in self.connected]
        return body

    # --- recomputation --------------------------------------------------------------------
    def recompute(self, now: float) -> Batch:
        """The changes that bring the switches to what the network and the intents call for now.

        A follower (:attr:`leading` false) only keeps its view and its plan up to date: no changes.
        """
        self._forget_lost_switches(now)
        self._forget_unconfirmed_links(now)
        self._place_file_hosts(now)
        if not self.leading:
            # A follower shows a plan too (its REST answers, and what it starts from if it wins), but, like a
            # restarted leader, not one judged on a half-rediscovered network: an intent it would call
            # "no path" may be routed by the leader, and stays so when this follower takes over.
            if self.restoring and self._restore_done(now):
                self.restoring = False
            if not self.reading and not self.restoring:
                self.te_plan = self._te_plan_for(frozenset())
            return Batch(recheck_after=RECHECK_S if self.restoring else self._recheck_after(now))
        if self.restoring:
            if self._restore_done(now):
                self.restoring = False
                self._finish_restore(now)
            elif self.kept or self.reading:
                # Rules kept across a restart must not be judged by a half-rediscovered network (a missing
                # link or host would delete what carries traffic), nor get ids handed out meanwhile.
                return Batch(recheck_after=RECHECK_S)
        held = self._held(now)
        slots, ids = self.planner.slots, self.ids.checkpoint()
        te_plan, desired, shown = self._desired()
        needs_held = _additions(diff(_only(self.installed, held), _only(desired, held)))
        if needs_held:
            # Plan again from the bucket slots and ids of the last recomputation, not from the discarded
            # plan's: a lent bucket whose borrower survives must stay with it, and a label or id the
            # discarded plan released must not be renumbered (every recomputation would change rules).
            self.planner.slots = slots
            self.ids.rollback(ids)
            # The plan needs switches that cannot be programmed now: route what can be routed around them
            # (they stay usable as ends, and as transit where their rules are in place).
            te_plan, desired, shown = self._desired(avoid=frozenset(held))
            needs_held = _additions(diff(_only(self.installed, held), _only(desired, held)))
        recheck = self._recheck_after(now)
        if self.settings.te_update_scratch > 0:
            step = self._next_step(te_plan, held)
            if step is not None:  # not the plan yet: a congestion-free step towards it, then come back at once
                # compiled from the ids of the last recomputation, as above: the target's compilation released
                # the labels of the paths the step still uses
                self.planner.slots = slots
                self.ids.rollback(ids)
                te_plan, desired, shown = self._desired(plan_override=step)
                recheck = 0.0
        self.te_sent = rates_of(te_plan)
        self.te_plan, self.te_shown = te_plan, shown
        self._note_computed()
        changes = diff(_without(self.installed, held), _without(desired, held))
        return Batch(changes, recheck, frozenset(held), bool(needs_held))

    def _next_step(self, target: Plan, held) -> Plan | None:
        """With staged updates: the next intermediate plan from what the switches hold to ``target``, or None
        to install ``target`` itself (it is next, nothing is applied yet, switches are held, or no short
        congestion-free sequence exists: then make-before-break, logged)."""
        goal = rates_of(target)
        if held or self.te_applied is None or self.restoring or same_rates(self.te_applied, goal):
            self.te_steps, self.te_steps_for = [], None
            return None
        if self.te_steps_for != goal:
            s = self.settings
            room = 1.0 - s.te_headroom + s.te_update_scratch
            capacity = self._path_capacities(room)
            self.te_steps_for = goal
            gone = [arc for alloc in (self.te_applied, goal) for paths in alloc.values() for path in paths
                    for arc in zip(path, path[1:]) if arc not in capacity]
            if gone:  # a link of the old allocation is down: what it carried is lost anyway, nothing to stage
                self.te_steps = []
                return None
            started = time.perf_counter()
            try:
                update = plan_update(self.te_applied, goal, capacity, s.te_update_scratch)
            except TEError as exc:
                LOG.warning("te: staged update not planned (%s); make-before-break", exc)
                self.te_steps = []
                return None
            seconds = time.perf_counter() - started
            if not update.feasible:
                self.te_steps = []
                self.te_updates["fallbacks"] += 1
                self.te_updates["last"] = {"steps": 1, "staged": False, "reason": update.reason,
                                           "plan_seconds": round(seconds, 6)}
                LOG.warning("te: no congestion-free update within te_update_scratch %g: %s; make-before-break",
                            s.te_update_scratch, update.reason)
                return None
            self.te_steps = list(update.steps[:-1])
            self.te_updates["last"] = {"steps": len(update.steps), "staged": len(update.steps) > 1,
                                       "worst_utilisation": max(update.worst, default=0.0) * room,
                                       "plan_seconds": round(seconds, 6), "reason": None}
            if self.te_steps:
                self.te_updates["staged"] += 1
                LOG.info("te: congestion-free update in %d steps (worst transient load %.2f of capacity)",
                         len(update.steps), max(update.worst, default=0.0) * room)
        if not self.te_steps:
            return None
        self.te_updates["steps"] += 1
        return with_rates(target, self.te_steps.pop(0), self.te_plan)

    def _path_capacities(self, share: float) -> dict:
        """``share`` of the capacity (bit/s) of every arc a TE path key (:func:`rates_of`: host addresses and
        dpids) can use: the TE graph's switch and access links."""
        g = te_graph(self.fabric, 1.0 - share)
        return {(g.nodes[u].get("dpid", u), g.nodes[v].get("dpid", v)): c for u, v, c in g.edges(data="capacity")}

    def _desired(self, avoid: frozenset = frozenset(), plan_override: Plan | None = None) -> tuple:
        """``(TE plan, state, compiled paths per intent)`` the switches should hold, with no path through
        ``avoid`` (they may be its ends); ``plan_override``: this plan instead (a step of a staged update)."""
        te_plan = plan_override or self._te_plan_for(avoid)
        switches = set(self.fabric.switches)  # a held switch still forwards: keep routing through it
        tunnels = self.planner.plan(self.fabric.adjacency(), host_pairs(self.fabric), avoid)
        baseline = compile_baseline(switches, self.fabric.hosts.values(), tunnels, self.ids.ecmp_groups)
        counting = []
        if self.settings.te_elephants != "off":
            ports = {}
            for h in self.fabric.hosts.values():
                ports.setdefault(h.dpid, set()).add(h.port)
            counting = [f for dpid in sorted(switches & ports.keys())
                        for f in count_flows(dpid, ports[dpid], self.settings.te_elephant_idle)]
        placed = [p for p in self._place_elephants(te_plan, avoid).values() if p.share is not None]
        # The elephants of one pair of hosts on one path share a meter at the sum of their reservations: a
        # TCP flow alone behind a meter of a few packets per second loses its window to every drop.
        meters = Counter()
        for p in placed:
            meters[("elephants", p.elephant.key.src, p.elephant.key.dst, p.share.hops)] += p.share.rate_bps
        steered = [(p.elephant.key.match(self.fabric.hosts[p.elephant.key.src].port), p.share,
                    ("elephants", p.elephant.key.src, p.elephant.key.dst, p.share.hops),
                    meters[("elephants", p.elephant.key.src, p.elephant.key.dst, p.share.hops)]) for p in placed]
        te_specs, shown = compile_te(te_plan, self.ids, self.settings.te_wcmp_budget, self.settings.te_meter_burst_ms,
                                     steered, self.settings.dscp)
        return te_plan, State.of([*baseline, *counting, *(spec for spec in te_specs if spec.dpid in switches)]), shown

    def _place_elephants(self, te_plan, avoid: frozenset) -> dict:
        """Where the elephants go (:func:`controller.elephants.place`), computed again only when they, the
        intents' plan or the network changed."""
        mode = self.settings.te_elephants
        elephants = self.elephants.list() if mode != "off" else []
        key = (tuple(e.key for e in elephants), self.te_inputs, id(te_plan), avoid)
        if key != self._placed_for:
            self.placements = place(mode, self.fabric, elephants, te_plan, self.intents.list(), self.placements,
                                    self.settings.te_paths, self.settings.max_paths, avoid,
                                    self.settings.te_headroom, self.settings.te_fewest_paths_seconds) if elephants else {}
            self._placed_for = key
        return self.placements

    def confirm(self, batch: Batch, sent, confirmed: bool, now: float, seconds: float | None = None) -> None:
        """What of ``batch`` was sent (to connections still up) and whether every barrier was answered;
        ``seconds`` is how long sending and confirming took (shown as ``last_install``)."""
        sent = list(sent)
        self.installed = apply(self.installed, sent)
        if confirmed and not batch.pending_on_held and not (batch.held & (self.reading.keys() | self.kept)):
            self._note_installed()
            self.te_applied = self.te_sent  # the next staged step starts from what is on the switches now
        else:
            self.te_applied, self.te_steps, self.te_steps_for = None, [], None  # unknown: no staging from it
        if not sent:
            return
        self.counters["flow_group_mods"] += len(sent)
        self.last_install = {"changes": len(sent), "seconds": None if seconds is None else round(seconds, 6),
                             "confirmed": confirmed}
        LOG.info("te: reconciled in %.0f ms: %s on %d switches; %d hosts, %d intents", 1000 * (seconds or 0.0),
                 dict(Counter(c.op for c in sent)), len({c.dpid for c in sent}), len(self.fabric.hosts),
                 len(self.te_shown))

    def _held(self, now: float) -> set:
        """Switches to leave alone for now: being read back, back with our rules and links not yet seen,
        or not connected."""
        self.kept = {d for d in self.kept if not self.fabric.is_settled(d, now, self.settings.arp_settle_seconds)}
        return self.reading.keys() | self.kept | (self.fabric.switches.keys() - self.connected)

    def _recheck_after(self, now: float) -> float | None:
        waits = [RECHECK_S] if (self.reading or self.kept) else []
        waits += [max(0.0, since + self.settings.switch_hold_time - now) for since in self.disconnected.values()]
        for src, dst in ((s, d) for (s, _), (d, _) in self.unconfirmed.items()):
            if src in self.connected and dst in self.connected:
                back = max(self.fabric.switches[src].connected_at, self.fabric.switches[dst].connected_at)
                waits.append(max(0.0, back + LINK_RECONFIRM_S - now))
        unsettled = [d for d in self.connected
                     if not self.fabric.is_settled(d, now, self.settings.arp_settle_seconds)]
        if unsettled and any(h.dpid in unsettled and h.port for h in self.fabric.link_info.hosts.values()):
            waits.append(RECHECK_S)  # file hosts to place once it settles
        return min(waits) if waits else None

    def _forget_lost_switches(self, now: float) -> None:
        """Switches disconnected for longer than the hold time leave the view: a topology change."""
        for dpid, since in sorted(self.disconnected.items()):
            if now - since < self.settings.switch_hold_time:
                continue
            del self.disconnected[dpid]
            self.fabric.remove_switch(dpid)
            self.installed = self.installed.without_dpid(dpid)
            LOG.warning("te: switch %016x has been disconnected for %.1f s: routing around it", dpid, now - since)

    def _forget_unconfirmed_links(self, now: float) -> None:
        """Links kept through a control-channel cut that LLDP has not found again within
        ``LINK_RECONFIRM_S`` of both ends being back: they failed meanwhile."""
        for (src, port), (dst, _) in sorted(self.unconfirmed.items()):
            if src not in self.connected or dst not in self.connected:
                continue
            back = max(self.fabric.switches[src].connected_at, self.fabric.switches[dst].connected_at)
            if now - back >= LINK_RECONFIRM_S:
                del self.unconfirmed[(src, port)]
                if self.fabric.remove_link(src, port):
                    LOG.warning("te: link %016x:%d -> %016x was not rediscovered after a control-channel cut: "
                                "taken as down", src, port, dst)

    def _place_file_hosts(self, now: float) -> None:
        """Hosts the topology file puts on a port of a settled switch are located there (see
        :meth:`controller.topology.Fabric.place_file_hosts`); before a switch settles, a port may still
        look host-facing that is an undiscovered link."""
        for dpid in sorted(self.connected):
            if self.fabric.is_settled(dpid, now, self.settings.arp_settle_seconds):
                placed = self.fabric.place_file_hosts(dpid)
                if placed:
                    LOG.info("te: %d hosts of the topology file located on switch %016x", placed, dpid)

    def _restore_done(self, now: float) -> bool:
        """Whether the network is back after a start: every switch of the topology file connected and read
        back and every link it lists discovered (without a file: every switch settled), or time is up."""
        if now - self.started_at >= self.settings.restore_timeout:
            return True
        if self.reading:
            return False
        expected = set(self.fabric.link_info.switch_names)
        if not expected:
            return all(self.fabric.is_settled(d, now, self.settings.arp_settle_seconds) for d in self.connected)
        return expected <= self.connected and all(
            self.fabric.expected_links_seen(d) or not self.fabric.link_info.expected_neighbours.get(d)
            for d in expected)

    def _finish_restore(self, now: float) -> None:
        """Before the first recomputation after a start: keep the ids the switches use."""
        hints = id_hints(self.installed, self.fabric.links)
        taken = self.ids.adopt(hints)
        self.planner.adopt(hints.ecmp_slots)
        LOG.info("te: network back %.1f s after start: %d switches, %d links, %d hosts; adopted %d ids in use "
                 "(%d ECMP and %d TE labels, %d ECMP groups, %d TE groups, %d meters)", now - self.started_at,
                 len(self.connected), len(self.fabric.links), len(self.fabric.hosts), taken, len(hints.ecmp_labels),
                 len(hints.te_labels), len(hints.ecmp_groups), len(hints.te_groups), len(hints.te_meters))

    # --- traffic engineering --------------------------------------------------------------
    def _admit(self, intents, asking) -> None:
        """Admission control of guaranteed intents (:func:`controller.admission.admit`) on the current network."""
        s = self.settings
        admit(self.fabric, s.te_headroom, intents, asking, s.te_paths, s.te_max_paths, s.te_burst_window_ms / 1000)

    def _te_plan_for(self, avoid: frozenset) -> Plan:
        """The TE plan for the current inputs with paths around ``avoid``: solved once per inputs and
        ``avoid`` (while a switch is held, each recomputation needs the plan with and without it)."""
        inputs = inputs_key(self.fabric, self.intents.generation)
        if inputs != self.te_inputs or self.te_due:
            self.te_inputs, self.te_due, self.te_plans = inputs, False, {}
        if avoid in self.te_plans:
            return self.te_plans[avoid]
        start = time.perf_counter()
        te_plan = plan(self.fabric, self.intents.list(), self.settings.te_objective, self.settings.te_paths,
                       self.settings.te_headroom, avoid, self.settings.te_fewest_paths_seconds,
                       self.settings.te_max_paths, self.settings.te_alpha, self.intents.groups(),
                       self.settings.te_protect_failures, self.settings.te_protect_classes)
        self.te_solve_seconds = time.perf_counter() - start
        self.solve_durations.observe(self.te_solve_seconds)
        self.counters["te_solves"] += 1
        self.te_plans[avoid] = te_plan
        if te_plan.allocations:
            routed = [a for a in te_plan.allocations if a.routable]
            LOG.info("te: solved %d intents (%d routable) with %s in %.0f ms: %s, %.3g bit/s allocated",
                     len(te_plan.allocations), len(routed), te_plan.objective,
                     1000 * self.te_solve_seconds, te_plan.status, sum(a.allocated_bps for a in routed))
        if te_plan.status.startswith("failed"):
            LOG.warning("te: TE solve %s", te_plan.status)
        return te_plan

    def _signature(self, allocation) -> tuple:
        shown = tuple((share.dpids, label, weight) for share, label, weight in self.te_shown.get(allocation.intent.id, ()))
        return (allocation.intent.version, round(allocation.allocated_bps), shown, allocation.reason)

    def _note_computed(self) -> None:
        """Start the clock of every allocation that differs from what was there before."""
        now, times = _wall_clock(), {}
        for a in self.te_plan.allocations:
            sig = self._signature(a)
            old = self.te_times.get(a.intent.id)
            times[a.intent.id] = old if old is not None and old[0] == sig else (sig, now, None)
        self.te_times = times

    def _note_installed(self) -> None:
        now = _wall_clock()
        for intent_id, (sig, computed_at, installed_at) in list(self.te_times.items()):
            if installed_at is None:
                self.te_times[intent_id] = (sig, computed_at, now)
                if sig[3] is None:  # routed (an unroutable intent has nothing to install)
                    LOG.info("te: intent %s v%d installed %.0f ms after its allocation was computed",
                             intent_id, sig[0], 1000 * (now - computed_at))

    # --- views (REST API and metrics) -----------------------------------------------------
    def measured_bps(self) -> dict:
        """Intent id -> rate its meter let through (bit/s), for intents measured so far."""
        out = {}
        for a in self.te_plan.allocations:
            meter_id = self.ids.te_meters.lookup(a.intent.id)
            rate = None if meter_id is None or a.src is None else self.meter_rates.get((a.src.dpid, meter_id))
            if rate is not None:
                out[a.intent.id] = rate
        return out

    def allocations_body(self) -> dict:
        times = {i: (computed, installed) for i, (_, computed, installed) in self.te_times.items()}
        return {"allocations": allocation_views(self.intents.list(), self.te_plan, self.te_shown, times,
                                                self.measured_bps()),
                "solve": {"objective": self.te_plan.objective, "status": self.te_plan.status,
                          "solve_seconds": self.te_solve_seconds, "headroom": self.te_plan.headroom,
                          "last_install": self.last_install, "protect": self.te_plan.protect,
                          "updates": self.te_updates}}

    def classes_body(self) -> dict:
        """``GET /te/v1/classes``: per service class and per group (:func:`controller.views.class_views`)."""
        return class_views(self.intents.list(), self.allocations_body()["allocations"], self.intents.groups(),
                           self.settings.dscp)

    def elephants_body(self) -> dict:
        return {"mode": self.settings.te_elephants, "threshold": self.settings.te_elephant_threshold,
                "detected_total": self.elephants.detected,
                "elephants": elephant_views(self.elephants.list(), self.placements)}

    def topology_body(self) -> dict:
        return topology_view(self.fabric)

    def links_body(self) -> dict:
        return {"links": link_views(self.fabric, self.te_plan, self.port_rates.rates_bps())}

    def metrics_snapshot(self) -> dict:
        """What /metrics shows (see controller.metrics): the REST views, with the byte totals of links and
        intents, plus rule, event and switch counts and the solve durations."""
        allocations = self.allocations_body()
        sent = {(switch_node(d), port): b for (d, port), b in self.traffic.port_bytes().items()}
        links = [dict(link, tx_bytes=sent.get((link["src"], link["src_port"]))) for link in self.links_body()["links"]]
        allocs = [dict(a, bytes=self.traffic.intent_bytes(a["intent_id"]),
                       dropped_bytes=self.traffic.intent_dropped_bytes(a["intent_id"]))
                  for a in allocations["allocations"]]
        return {"links": links, "allocations": allocs, "topology": self.topology_body(),
                "solve": allocations["solve"], "solve_durations": self.solve_durations.snapshot(),
                "switches": len(self.connected), "counters": dict(self.counters),
                "classes": class_views(self.intents.list(), allocations["allocations"], self.intents.groups(),
                                       self.settings.dscp),
                "elephants": self.elephants_body()["elephants"] if self.settings.te_elephants != "off" else None,
                "rules": {"flow": len(self.installed.flows()), "group": len(self.installed.groups()),
                          "meter": len(self.installed.meters())},
                "cluster": self.cluster_body() if self.cluster is not None else None}

    def metrics_text(self) -> tuple:
        return render(self.collector)


def open_store(url: str):
    """The intent store ``intent_store`` names: an etcd store for ``etcd://...``, else a SQLite file."""
    return EtcdStore(url) if is_etcd_url(url) else IntentStore(url)


def send_batch(batch: Batch, send, barrier) -> tuple:
    """Carry out ``batch`` phase by phase: ``send(change)`` returns False if it could not go to the switch
    the batch was computed for; ``barrier(dpids)`` returns the switches that did not confirm one.

    A phase goes out only once every earlier phase is confirmed everywhere (make-before-break across
    switches), so the first failure ends the batch. Returns ``(sent, confirmed, failed dpids)``.

    >>> from controller.reconcile import Change
    >>> from controller.specs import FlowSpec, match
    >>> a, b = (Change("add", FlowSpec(d, 0, 1, match())) for d in (1, 2))
    >>> send_batch(Batch([a, BARRIER, b, BARRIER]), lambda c: True, lambda dpids: set())[1:]
    (True, set())
    >>> sent, ok, failed = send_batch(Batch([a, BARRIER, b, BARRIER]), lambda c: True, lambda dpids: dpids)
    >>> [c.dpid for c in sent], ok, failed
    ([1], False, {1})
    """
    sent, touched, failed = [], set(), set()
    for change in batch.changes:
        if change is BARRIER:
            failed |= set(barrier(touched))
            if failed:
                return sent, False, failed
            touched = set()
        elif send(change):
            sent.append(change)
            touched.add(change.dpid)
        else:
            failed.add(change.dpid)
    return sent, not failed, failed


def _additions(changes) -> list:
    """The changes that add or modify (what a switch must receive for traffic to flow as planned)."""
    return [c for c in changes if c is not BARRIER and c.op != DELETE]


def _without(state: State, dpids) -> State:
    return State({k: v for k, v in state.entries.items() if v.dpid not in dpids}) if dpids else state


def _only(state: State, dpids) -> State:
    return State({k: v for k, v in state.entries.items() if v.dpid in dpids})


def _wall_clock() -> float:
    """Unix time, for the ``computed_at``/``installed_at`` the API shows (not for decisions)."""
    return time.time()


__all__ = ["Batch", "Core", "NOTHING", "PacketOut", "Reaction", "SetupError", "send_batch"]
