"""The Ryu application: decode events, call the plain modules, send what they return.

Run with (from the repository root)::

    .venv/bin/ryu-manager --observe-links --ofp-tcp-listen-port 6653 --config-file etc/te.conf controller.app

``--observe-links`` turns on Ryu's LLDP link discovery (``ryu.topology``), which this app needs.

A restart loses nothing: accepted intents are in the intent store (``intent_store``), and the
rules stay on the switches (fail-mode secure), which the app reads back on reconnect and adopts
(see :mod:`controller.restore`) instead of wiping them.
"""
from __future__ import annotations

import functools
import time
from collections import Counter
from dataclasses import fields

from ryu import cfg
from ryu.app.wsgi import WSGIApplication
from ryu.base import app_manager
from ryu.controller import ofp_event
from ryu.controller.handler import DEAD_DISPATCHER, MAIN_DISPATCHER, set_ev_cls
from ryu.lib import hub
from ryu.ofproto import ofproto_v1_3
from ryu.topology import event as topo_event

from . import ofmsg
from .compile import compile_baseline, host_pairs
from .compile_te import compile_te
from .hosts import HostService
from .intents import IntentRegistry
from .metrics import TECollector, render
from .packets import ETH_TYPE_ARP, ETH_TYPE_IPV4, ETH_TYPE_LLDP, parse_arp, parse_ethernet, parse_ipv4
from .reconcile import BARRIER, apply, diff
from .rest import TERestController
from .restore import Readback, adopt_ids, hosts_from_routes, id_hints
from .settings import Settings
from .specs import GROUP_ID_MAX, METER_ID_MAX, TE_GROUP_MIN, State
from .stats import ByteRates, meter_passed_bytes
from .store import IntentStore, StoreError
from .te_plan import Plan, allocation_views, inputs_key, link_views, plan, topology_view
from .topology import Fabric, read_link_info
from .tunnels import MPLS_LABEL_MAX, TE_LABEL_MIN, IdAllocator, TunnelPlanner

_OPT_TYPES = {"str": cfg.StrOpt, "float": cfg.FloatOpt, "int": cfg.IntOpt}
cfg.CONF.register_opts(
    [_OPT_TYPES[f.type](f.name, default=f.default, help=f.metadata["help"]) for f in fields(Settings)],
    group="te",
)


def logged(handler):
    """Log an exception in an event handler with its traceback instead of losing it in a green thread."""

    @functools.wraps(handler)
    def wrapper(self, *args, **kwargs):
        try:
            return handler(self, *args, **kwargs)
        except Exception:
            self.counters["handler_errors"] += 1
            self.logger.exception("te: %s failed", handler.__name__)

    return wrapper


def _port_live(ofp, port) -> bool:
    return port.port_no <= ofp.OFPP_MAX and not (port.state & ofp.OFPPS_LINK_DOWN) \
        and not (port.config & ofp.OFPPC_PORT_DOWN)


class TEController(app_manager.RyuApp):
    OFP_VERSIONS = [ofproto_v1_3.OFP_VERSION]
    _CONTEXTS = {"wsgi": WSGIApplication}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.CONF.observe_links:
            raise SystemExit("controller.app needs link discovery: start ryu-manager with --observe-links")
        self.settings = Settings.from_mapping(self.CONF.te)
        link_info = read_link_info(self.settings.topology_file) if self.settings.topology_file else None
        self.fabric = Fabric(link_info, self.settings.default_capacity_bps)
        self.hosts = HostService(self.settings.arp_settle_seconds, self.settings.arp_flood_interval)
        self.planner = TunnelPlanner(self.settings.max_paths)
        self.group_ids = IdAllocator(1, TE_GROUP_MIN - 1)
        self.store = self._open_store()
        self.intents = IntentRegistry(lambda: self.fabric.hosts.keys() | self.fabric.link_info.hosts.keys(),
                                      persist=self.store.apply if self.store else None)
        if self.store is not None:
            try:
                self.intents.restore(self.store.load(), self.store.next_id())
            except StoreError as exc:
                raise SystemExit(f"controller.app: {exc}") from None
            self.logger.info("te: restored %d intents from %s (next id %d)", len(self.intents), self.store.path,
                             self.intents.next_id)
        self.te_plan = Plan(objective=self.settings.te_objective, headroom=self.settings.te_headroom)
        self.te_key = None  # inputs of te_plan (intents generation, links, hosts)
        self.te_due = False  # the periodic re-solve is due
        self.te_solve_seconds = None
        self.te_shown: dict = {}  # intent id -> [(PathShare, label, weight)] as compiled
        self.te_times: dict = {}  # intent id -> (signature, computed_at, installed_at)
        self.te_labels = IdAllocator(TE_LABEL_MIN, MPLS_LABEL_MAX)
        self.te_group_ids = IdAllocator(TE_GROUP_MIN, GROUP_ID_MAX)
        self.te_meter_ids = IdAllocator(1, METER_ID_MAX)
        self.last_install: dict = {}  # what the last reconcile sent and how long it took
        self.port_rates = ByteRates()  # (dpid, port) -> transmitted bit/s
        self.meter_rates = ByteRates()  # (dpid, meter id) -> bit/s the meter let through
        self.installed = State()
        self.started_at = time.monotonic()
        self._reading: dict = {}  # dpid -> Readback of a switch whose state is being read back
        self._kept: set = set()  # switches that came back holding our entries and may not be settled yet
        self._restoring = True  # until the network is back after a start (see _restore_done)
        self._recheck_pending = False
        self.collector = TECollector(self.metrics_snapshot)
        self.dps: dict = {}  # dpid -> Datapath
        self.counters: Counter = Counter()
        self._barrier_waiters: dict = {}  # (dpid, xid) -> hub.Event
        self._dirty = hub.Event()
        self._held_packets: list = []  # PacketOuts waiting for the next recomputation to be installed
        self.logger.info("te: settings %s; topology file gives %d link capacities", self.settings,
                         len(link_info.capacity_bps) if link_info else 0)
        kwargs["wsgi"].register(TERestController, {"app": self})
        self.threads.append(hub.spawn(self._reconcile_loop))
        if self.settings.stats_interval > 0:
            self.threads.append(hub.spawn(self._stats_loop))
        if self.settings.te_interval > 0:
            self.threads.append(hub.spawn(self._te_timer))
        if self.settings.port_stats_interval > 0:
            self.threads.append(hub.spawn(self._port_stats_loop))

    # --- switches, ports and links -------------------------------------------------
    @set_ev_cls(ofp_event.EventOFPStateChange, [MAIN_DISPATCHER, DEAD_DISPATCHER])
    @logged
    def _state_change(self, ev):
        dp = ev.datapath
        if dp.id is None:
            return
        if ev.state == MAIN_DISPATCHER:
            self.dps[dp.id] = dp
            # Nothing is sent to the switch until what it holds is read back (see _readback_part).
            self.installed = self.installed.without_dpid(dp.id)
            self._reading[dp.id] = Readback()
            self._kept.discard(dp.id)
            for msg in ofmsg.readback_requests(dp):
                dp.send_msg(msg)
            hub.spawn_after(self.settings.barrier_timeout, self._readback_timeout, dp)
            self.fabric.add_switch(dp.id, [p for p, d in dp.ports.items() if _port_live(dp.ofproto, d)],
                                   time.monotonic())
            self.logger.info("te: switch %016x connected with %d live ports", dp.id, len(self.fabric.host_ports(dp.id)))
        elif self.dps.get(dp.id) is dp:
            del self.dps[dp.id]
            self.installed = self.installed.without_dpid(dp.id)
            self._reading.pop(dp.id, None)
            self._kept.discard(dp.id)
            self.fabric.remove_switch(dp.id)
            self.port_rates.forget(dp.id)
            self.meter_rates.forget(dp.id)
            self.logger.info("te: switch %016x disconnected", dp.id)
        self._request_reconcile()

    # --- reading back what a (re)connected switch holds --------------------------------
    @set_ev_cls(ofp_event.EventOFPFlowStatsReply, MAIN_DISPATCHER)
    @logged
    def _flow_stats_reply(self, ev):
        dp = ev.msg.datapath
        self._readback_part(dp, "flows", [ofmsg.flow_spec(dp, dp.id, s) for s in ev.msg.body], ev.msg)

    @set_ev_cls(ofp_event.EventOFPGroupDescStatsReply, MAIN_DISPATCHER)
    @logged
    def _group_desc_reply(self, ev):
        dp = ev.msg.datapath
        self._readback_part(dp, "groups", [ofmsg.group_spec(dp, dp.id, s) for s in ev.msg.body], ev.msg)

    @set_ev_cls(ofp_event.EventOFPMeterConfigStatsReply, MAIN_DISPATCHER)
    @logged
    def _meter_config_reply(self, ev):
        dp = ev.msg.datapath
        self._readback_part(dp, "meters", [ofmsg.meter_spec(dp, dp.id, s) for s in ev.msg.body], ev.msg)

    def _readback_part(self, dp, part, specs, msg):
        readback = self._reading.get(dp.id)
        if readback is None or self.dps.get(dp.id) is not dp:
            return  # an answer for a connection that is gone
        if not readback.add(part, specs, ofmsg.reply_complete(msg)):
            return
        del self._reading[dp.id]
        state = State.of(readback.specs)
        self.installed = self.installed.replace_dpid(dp.id, state)
        macs = {ip: h.mac for ip, h in self.fabric.link_info.hosts.items() if h.mac}
        hosts = [h for h in hosts_from_routes(state.flows(), macs)
                 if h.ip not in self.fabric.hosts and self.fabric.learn_host(h.ip, h.mac, h.dpid, h.port)]
        if len(state):
            self._kept.add(dp.id)
        self.logger.info("te: switch %016x holds %d flows, %d groups, %d meters of ours; %d hosts learned from "
                         "its routes", dp.id, len(state.flows()), len(state.groups()), len(state.meters()),
                         len(hosts))
        self._request_reconcile()

    def _readback_timeout(self, dp):
        if dp.id in self._reading and self.dps.get(dp.id) is dp:
            self.logger.warning("te: switch %016x did not report its flows, groups and meters within %.1f s; "
                                "clearing it instead", dp.id, self.settings.barrier_timeout)
            for msg in ofmsg.clear_switch(dp):
                dp.send_msg(msg)
            del self._reading[dp.id]
            self._request_reconcile()

    @set_ev_cls(ofp_event.EventOFPPortStatus, MAIN_DISPATCHER)
    @logged
    def _port_status(self, ev):
        msg = ev.msg
        dp, ofp = msg.datapath, msg.datapath.ofproto
        live = msg.reason != ofp.OFPPR_DELETE and _port_live(ofp, msg.desc)
        if self.fabric.set_port(dp.id, msg.desc.port_no, live):
            self.logger.info("te: port %016x:%d %s", dp.id, msg.desc.port_no, "up" if live else "down")
            self._request_reconcile()

    @set_ev_cls(topo_event.EventLinkAdd)
    @logged
    def _link_add(self, ev):
        s, d = ev.link.src, ev.link.dst
        if self.fabric.add_link(s.dpid, s.port_no, d.dpid, d.port_no):
            self.logger.info("te: link %016x:%d -> %016x:%d up", s.dpid, s.port_no, d.dpid, d.port_no)
            self._request_reconcile()

    @set_ev_cls(topo_event.EventLinkDelete)
    @logged
    def _link_delete(self, ev):
        s, d = ev.link.src, ev.link.dst
        if self.fabric.remove_link(s.dpid, s.port_no):
            self.logger.info("te: link %016x:%d -> %016x:%d down", s.dpid, s.port_no, d.dpid, d.port_no)
            self._request_reconcile()

    # --- packets -------------------------------------------------------------------
    @set_ev_cls(ofp_event.EventOFPPacketIn, MAIN_DISPATCHER)
    @logged
    def _packet_in(self, ev):
        msg = ev.msg
        dp = msg.datapath
        self.counters["packet_in"] += 1
        eth = parse_ethernet(msg.data)
        if eth is None:
            return
        now = time.monotonic()
        in_port = msg.match["in_port"]
        outcome = None
        if eth.ethertype == ETH_TYPE_LLDP:
            self.counters["packet_in_lldp"] += 1  # Ryu's discovery handles these
        elif eth.ethertype == ETH_TYPE_ARP:
            self.counters["packet_in_arp"] += 1
            arp = parse_arp(eth.payload)
            if arp is not None:
                outcome = self.hosts.handle_arp(self.fabric, dp.id, in_port, eth, arp, now)
        elif eth.ethertype == ETH_TYPE_IPV4:
            self.counters["packet_in_ipv4"] += 1
            ip = parse_ipv4(eth.payload)
            if ip is not None:
                outcome = self.hosts.handle_ipv4(self.fabric, dp.id, in_port, eth, ip, now)
        else:
            self.counters["packet_in_other"] += 1
        if outcome is None:
            return
        if outcome.hosts_changed:
            # Answer once the forwarding for the new host is on the switches: a host sends its first
            # packet right after the ARP answer, and it must not race the rules (see _reconcile_loop).
            self._held_packets.extend(outcome.packets)
            self._request_reconcile()
        else:
            self._send_packets(outcome.packets)

    def _send_packets(self, packets):
        for out in packets:
            target = self.dps.get(out.dpid)
            if target is not None:
                target.send_msg(ofmsg.packet_out(target, out.port, out.data))
                self.counters["packet_out"] += 1

    @set_ev_cls(ofp_event.EventOFPErrorMsg, MAIN_DISPATCHER)
    @logged
    def _error(self, ev):
        msg = ev.msg
        self.counters["of_errors"] += 1
        ofp = msg.datapath.ofproto
        self.logger.error("te: OFPErrorMsg from %016x: type=%s code=%s data=%s", msg.datapath.id,
                          ofp.ofp_error_type_to_str(msg.type), ofp.ofp_error_code_to_str(msg.type, msg.code),
                          msg.data.hex())

    @set_ev_cls(ofp_event.EventOFPPortStatsReply, MAIN_DISPATCHER)
    @logged
    def _port_stats_reply(self, ev):
        dp, now = ev.msg.datapath, time.monotonic()
        for stat in ev.msg.body:
            if stat.port_no <= dp.ofproto.OFPP_MAX:
                self.port_rates.update((dp.id, stat.port_no), stat.tx_bytes, now)

    @set_ev_cls(ofp_event.EventOFPMeterStatsReply, MAIN_DISPATCHER)
    @logged
    def _meter_stats_reply(self, ev):
        dp, now = ev.msg.datapath, time.monotonic()
        for stat in ev.msg.body:
            passed = meter_passed_bytes(stat.byte_in_count, [b.byte_band_count for b in stat.band_stats])
            self.meter_rates.update((dp.id, stat.meter_id), passed, now)
        if ofmsg.reply_complete(ev.msg):
            self.meter_rates.retain(dp.id, [(dp.id, m.meter_id) for m in self.installed.for_dpid(dp.id).meters()])

    @set_ev_cls(ofp_event.EventOFPBarrierReply, MAIN_DISPATCHER)
    @logged
    def _barrier_reply(self, ev):
        waiter = self._barrier_waiters.pop((ev.msg.datapath.id, ev.msg.xid), None)
        if waiter is not None:
            waiter.set()

    # --- recomputation -----------------------------------------------------------
    def _request_reconcile(self):
        self._dirty.set()

    def _reconcile_loop(self):
        while self.is_active:
            self._dirty.wait()
            hub.sleep(self.settings.reconcile_delay)
            self._dirty.clear()
            # Packets held for this recomputation go out once its changes are confirmed (or it failed:
            # holding them longer would only turn a late answer into no answer).
            release, self._held_packets = self._held_packets, []
            try:
                self._reconcile()
            except Exception:
                self.counters["handler_errors"] += 1
                self.logger.exception("te: recomputation failed")
            finally:
                self._send_packets(release)

    def _restore_done(self, now: float) -> bool:
        """Whether the network is back after a start: every switch of the topology file connected and read
        back and every link it lists discovered (without a file: every switch settled), or time is up."""
        if now - self.started_at >= self.settings.restore_timeout:
            return True
        if self._reading:
            return False
        expected = set(self.fabric.link_info.switch_names)
        if not expected:
            return all(self.fabric.is_settled(d, now, self.settings.arp_settle_seconds) for d in self.dps)
        return expected <= self.dps.keys() and all(
            self.fabric.expected_links_seen(d) or not self.fabric.link_info.expected_neighbours.get(d)
            for d in expected)

    def _held(self, now: float) -> set:
        """Switches to leave alone for now: being read back, or back with our rules and links not yet seen."""
        self._kept = {d for d in self._kept if not self.fabric.is_settled(d, now, self.settings.arp_settle_seconds)}
        return self._reading.keys() | self._kept

    def _recheck_later(self, delay: float = 0.25):
        if not self._recheck_pending:
            self._recheck_pending = True
            hub.spawn_after(delay, self._recheck)

    def _recheck(self):
        self._recheck_pending = False
        self._request_reconcile()

    def _finish_restore(self):
        """Before the first recomputation after a start: keep the ids the switches use."""
        hints = id_hints(self.installed, self.fabric.links)
        taken = adopt_ids(hints, self.planner.labels, self.te_labels, self.group_ids, self.te_group_ids,
                          self.te_meter_ids)
        self.logger.info("te: network back %.1f s after start: %d switches, %d links, %d hosts; adopted %d ids "
                         "in use (%d ECMP and %d TE labels, %d ECMP groups, %d TE groups, %d meters)",
                         time.monotonic() - self.started_at, len(self.dps), len(self.fabric.links),
                         len(self.fabric.hosts), taken, len(hints.ecmp_labels), len(hints.te_labels),
                         len(hints.ecmp_groups), len(hints.te_groups), len(hints.te_meters))

    def _reconcile(self):
        start = time.monotonic()
        if self._restoring:
            if self._restore_done(start):
                self._restoring = False
                self._finish_restore()
            elif self._kept or self._reading:
                # Rules kept across a restart must not be judged by a half-rediscovered network (a missing
                # link or host would delete what carries traffic), nor get ids handed out meanwhile.
                self._recheck_later()
                return
        self._solve_te_if_needed()
        switches = self.dps.keys() & self.fabric.switches.keys()
        tunnels = self.planner.plan(self.fabric.adjacency(), host_pairs(self.fabric))
        baseline = compile_baseline(switches, self.fabric.hosts.values(), tunnels, self.group_ids)
        te_specs, self.te_shown = compile_te(self.te_plan, self.te_labels, self.te_group_ids, self.te_meter_ids,
                                             self.settings.te_wcmp_budget, self.settings.te_meter_burst_ms)
        self._note_computed()
        desired = State.of([*baseline, *(spec for spec in te_specs if spec.dpid in switches)])
        held = self._held(start)
        if held:
            self._recheck_later()
            desired = State({k: v for k, v in desired.entries.items() if v.dpid not in held})
        changes = diff(State({k: v for k, v in self.installed.entries.items() if v.dpid not in held}), desired)
        sent, touched, confirmed = [], set(), True
        for change in changes:
            if change is BARRIER:
                confirmed &= self._await_barriers(touched)
                touched = set()
                continue
            dp = self.dps.get(change.dpid)
            if dp is None:
                continue
            dp.send_msg(ofmsg.change_message(dp, change))
            sent.append((dp, change))
            touched.add(change.dpid)
        # A switch that went away (or reconnected) meanwhile was cleared by _state_change.
        self.installed = apply(self.installed, [c for dp, c in sent if self.dps.get(c.dpid) is dp])
        if confirmed and not held:
            self._note_installed()
        if not changes:
            return
        elapsed = time.monotonic() - start
        self.counters["flow_group_mods"] += len(sent)
        ops = Counter(c.op for _, c in sent)
        self.last_install = {"changes": len(sent), "seconds": round(elapsed, 6), "confirmed": confirmed}
        self.logger.info("te: reconciled in %.0f ms: %s on %d switches; %d hosts, %d switch pairs, %d tunnels, "
                         "%d intents", 1000 * elapsed, dict(ops), len({c.dpid for _, c in sent}),
                         len(self.fabric.hosts), len(tunnels), sum(len(t) for t in tunnels.values()),
                         len(self.te_shown))

    # --- traffic engineering -----------------------------------------------------
    def _open_store(self):
        if not self.settings.intent_store:
            self.logger.info("te: no intent_store: intents are kept in memory only")
            return None
        try:
            return IntentStore(self.settings.intent_store)
        except StoreError as exc:
            raise SystemExit(f"controller.app: {exc}") from None

    def intents_changed(self):
        """Called by the REST API after every accepted change (the registry has stored it already)."""
        self.logger.info("te: intents changed (generation %d, %d intents)", self.intents.generation,
                         len(self.intents))
        self._request_reconcile()

    def _solve_te_if_needed(self):
        key = inputs_key(self.fabric, self.intents.generation)
        if key == self.te_key and not self.te_due:
            return
        self.te_key, self.te_due = key, False
        start = time.monotonic()
        self.te_plan = plan(self.fabric, self.intents.list(), self.settings.te_objective, self.settings.te_paths,
                            self.settings.te_headroom)
        self.te_solve_seconds = time.monotonic() - start
        if self.te_plan.allocations:
            routed = [a for a in self.te_plan.allocations if a.routable]
            self.logger.info("te: solved %d intents (%d routable) with %s in %.0f ms: %s, %.3g bit/s allocated",
                             len(self.te_plan.allocations), len(routed), self.te_plan.objective,
                             1000 * self.te_solve_seconds, self.te_plan.status,
                             sum(a.allocated_bps for a in routed))
        if self.te_plan.status.startswith("failed"):
            self.logger.warning("te: TE solve %s", self.te_plan.status)

    def _signature(self, allocation) -> tuple:
        shown = tuple((share.dpids, label, weight) for share, label, weight in self.te_shown.get(allocation.intent.id, ()))
        return (allocation.intent.version, round(allocation.allocated_bps), shown, allocation.reason)

    def _note_computed(self):
        """Start the clock of every allocation that differs from what was there before."""
        now, times = time.time(), {}
        for a in self.te_plan.allocations:
            sig = self._signature(a)
            old = self.te_times.get(a.intent.id)
            times[a.intent.id] = old if old is not None and old[0] == sig else (sig, now, None)
        self.te_times = times

    def _note_installed(self):
        now = time.time()
        for intent_id, (sig, computed_at, installed_at) in list(self.te_times.items()):
            if installed_at is None:
                self.te_times[intent_id] = (sig, computed_at, now)
                if sig[3] is None:  # routed (an unroutable intent has nothing to install)
                    self.logger.info("te: intent %s v%d installed %.0f ms after its allocation was computed",
                                     intent_id, sig[0], 1000 * (now - computed_at))

    def _te_timer(self):
        while self.is_active:
            hub.sleep(self.settings.te_interval)
            self.te_due = True
            self._request_reconcile()

    def _port_stats_loop(self):
        while self.is_active:
            hub.sleep(self.settings.port_stats_interval)
            for dp in list(self.dps.values()):
                dp.send_msg(ofmsg.port_stats_request(dp))
                dp.send_msg(ofmsg.meter_stats_request(dp))

    # --- REST views (see controller.rest) ------------------------------------------
    def measured_bps(self) -> dict:
        """Intent id -> rate its meter let through (bit/s), for intents measured so far."""
        out = {}
        for a in self.te_plan.allocations:
            meter_id = self.te_meter_ids.lookup(a.intent.id)
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
                          "last_install": self.last_install}}

    def topology_body(self) -> dict:
        return topology_view(self.fabric)

    def links_body(self) -> dict:
        return {"links": link_views(self.fabric, self.te_plan, self.port_rates.rates_bps())}

    def metrics_snapshot(self) -> dict:
        """What /metrics shows (see controller.metrics): the REST views plus rule, event and switch counts."""
        allocations = self.allocations_body()
        return {"links": self.links_body()["links"], "allocations": allocations["allocations"],
                "solve": allocations["solve"], "switches": len(self.dps), "counters": dict(self.counters),
                "rules": {"flow": len(self.installed.flows()), "group": len(self.installed.groups()),
                          "meter": len(self.installed.meters())}}

    def metrics_text(self) -> tuple:
        return render(self.collector)

    def _await_barriers(self, dpids) -> bool:
        """Send a barrier to each switch and wait for the replies; True if all came in time."""
        waiters, ok = [], True
        for dpid in sorted(dpids):
            dp = self.dps.get(dpid)
            if dp is None:
                continue
            msg = ofmsg.barrier(dp)
            dp.set_xid(msg)
            waiter = hub.Event()
            self._barrier_waiters[(dpid, msg.xid)] = waiter
            dp.send_msg(msg)
            waiters.append((dpid, msg.xid, waiter))
        deadline = time.monotonic() + self.settings.barrier_timeout
        for dpid, xid, waiter in waiters:
            if not waiter.wait(timeout=max(0.0, deadline - time.monotonic())):
                ok = False
                self.logger.warning("te: no barrier reply from %016x within %.1f s", dpid,
                                    self.settings.barrier_timeout)
            self._barrier_waiters.pop((dpid, xid), None)
        return ok

    def _stats_loop(self):
        while self.is_active:
            hub.sleep(self.settings.stats_interval)
            self.logger.info("te: stats %s", " ".join(f"{k}={v}" for k, v in sorted(self.counters.items())))
