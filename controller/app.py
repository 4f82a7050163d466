"""The Ryu application: decode OpenFlow and discovery events, call the core, send what it returns.

Every decision is in :class:`controller.core.Core` (no Ryu there); this module only turns Ryu
events into core calls with the time, core answers into OpenFlow messages
(:mod:`controller.ofmsg`), and waits for barriers. Run it with ``te-controller --config-file
etc/te.conf`` (:mod:`controller.launch`), or from a checkout::

    .venv/bin/ryu-manager --config-file etc/te.conf controller.app

where the config file's ``[DEFAULT]`` section sets ``observe_links = true`` (Ryu's LLDP link
discovery, which this app needs) and the listen addresses (127.0.0.1 in the sample).
"""
from __future__ import annotations

import functools
import socket
import time
from dataclasses import fields

from ryu import cfg
from ryu.app.wsgi import WSGIApplication
from ryu.base import app_manager
from ryu.controller import ofp_event
from ryu.controller.handler import CONFIG_DISPATCHER, DEAD_DISPATCHER, MAIN_DISPATCHER, set_ev_cls, set_ev_handler
from ryu.lib import hub
from ryu.ofproto import ofproto_v1_3
from ryu.topology import event as topo_event

from . import ofmsg, ryu_fixes  # ryu_fixes also patches Ryu on import
from .cluster import LEADER, Cluster
from .ha import RoleChange
from .core import Core, SetupError, send_batch
from .etcd import Member, PrefixWatch, is_etcd_url
from .rest_ryu import TERestController
from .settings import Settings
from .stats import meter_sample
from .store import StoreError

_OPT_TYPES = {"str": cfg.StrOpt, "float": cfg.FloatOpt, "int": cfg.IntOpt}
cfg.CONF.register_opts(
    [_OPT_TYPES[f.type](f.name, default=f.default, help=f.metadata["help"]) for f in fields(Settings)],
    group="te",
)


def logged(handler):
    """Log and count an exception in an event handler, and go on.

    One bad event must not stop the controller that keeps the network's rules in place; the
    count is exported (``te_controller_events_total{event="handler_errors"}``) and the e2e tests
    fail on any traceback in the log.
    """

    @functools.wraps(handler)
    def wrapper(self, *args, **kwargs):
        try:
            return handler(self, *args, **kwargs)
        except Exception:
            self.core.counters["handler_errors"] += 1
            self.logger.exception("te: %s failed", handler.__name__)

    return wrapper


# The replies of a switch's read-back: which part of its state each holds, and its parser.
_READBACK = {ofp_event.EventOFPFlowStatsReply: ("flows", ofmsg.flow_spec),
             ofp_event.EventOFPGroupDescStatsReply: ("groups", ofmsg.group_spec),
             ofp_event.EventOFPMeterConfigStatsReply: ("meters", ofmsg.meter_spec)}


def _port_live(ofp, port) -> bool:
    return port.port_no <= ofp.OFPP_MAX and not (port.state & ofp.OFPPS_LINK_DOWN) \
        and not (port.config & ofp.OFPPC_PORT_DOWN)


class TEController(app_manager.RyuApp):
    OFP_VERSIONS = [ofproto_v1_3.OFP_VERSION]
    _CONTEXTS = {"wsgi": WSGIApplication}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.CONF.observe_links:
            raise SystemExit("controller.app needs link discovery: set observe_links = true in [DEFAULT] of the "
                             "config file, or start ryu-manager with --observe-links")
        problem = ryu_fixes.check_tls(self.CONF)
        if problem:
            raise SystemExit(f"controller.app: {problem}")
        self._dirty = hub.Event()
        try:
            self.core = Core.open(Settings.from_mapping(self.CONF.te), time.monotonic(), wake=self._dirty.set)
        except (SetupError, ValueError) as exc:
            raise SystemExit(f"controller.app: {exc}") from None
        self.logger.info("te: settings %s; topology file gives %d link capacities", self.core.settings,
                         len(self.core.fabric.link_info.capacity_bps))
        self.dps: dict = {}  # dpid -> Datapath of the live connection
        self._barrier_waiters: dict = {}  # (dpid, xid) -> hub.Event
        self._held_packets: list = []  # PacketOuts waiting for the next recomputation to be installed
        self._wake_at = None  # when a scheduled recomputation is due
        self._count_xids: set = set()  # (dpid, xid) of the flow-counter polls in flight (adaptive TE)
        kwargs["wsgi"].register(TERestController, {"app": self.core})
        settings = self.core.settings
        self.cluster = None
        if is_etcd_url(settings.intent_store):
            self._join_cluster(settings)
        self.threads.append(hub.spawn(self._reconcile_loop))
        jobs = ((settings.stats_interval, lambda: self.logger.info("te: stats %s", " ".join(
                    f"{k}={v}" for k, v in sorted(self.core.counters.items())))),
                (settings.te_interval, lambda: self._react(self.core.te_timer())),
                (settings.port_stats_interval, self._poll_counters),
                (settings.te_elephant_interval if settings.te_elephants != "off" else 0, self._poll_flow_counts))
        for interval, job in jobs:
            if interval > 0:
                self.threads.append(hub.spawn(self._every, interval, job))

    def start(self):
        super().start()
        # Ryu's own handlers of the OpenFlow handshake run inside each connection's receive loop, before
        # any app sees the switch; ours runs there too, so an impostor is turned away before Ryu's
        # topology app would close the real switch's connection in its favour.
        app_manager.lookup_service_brick("ofp_event").register_handler(ofp_event.EventOFPSwitchFeatures,
                                                                       self._refuse_impostor)

    def stop(self):
        if self.cluster is not None:
            self.cluster.resign(self._role_changed)
        self.core.close()
        super().stop()

    # --- several controllers (an etcd intent store) -----------------------------------------
    def _join_cluster(self, settings):
        """Take part in the election on etcd; until this controller wins it sends nothing to the switches."""
        conf = self.CONF
        member = settings.ha_member or f"{socket.gethostname()}:{conf.wsapi_port}"
        host = conf.wsapi_host if conf.wsapi_host not in ("", "0.0.0.0", "::") else socket.getfqdn()
        rest = settings.ha_advertise_url or f"http://{host}:{conf.wsapi_port}"  # where followers send writes
        store = self.core.store
        self.cluster = Cluster(Member(store, member, settings.ha_lease_ttl, {"rest": rest.rstrip("/"),
                                                                             "started": time.time()}),
                               settings.ha_lease_ttl)
        self.core.cluster = self.cluster
        store.fence = self.cluster.fence
        store.resync = self.core.follow_store
        self.switch_roles: dict = {}  # dpid -> (role, generation) the switch last confirmed
        self.core.switch_roles = self.switch_roles
        self._slave_claimed = 0  # the generation this follower last claimed SLAVE with
        self._watch = PrefixWatch(store, self._store_changed, sleep=hub.sleep)
        self.threads.append(hub.spawn(self._cluster_loop, settings.ha_poll_interval))
        self.threads.append(hub.spawn(self._watch.run))
        self.logger.info("te: cluster member %s on %s (lease TTL %d s); REST writes reach it at %s", member,
                         store.path, settings.ha_lease_ttl, rest)

    def _acting(self) -> bool:
        """Whether this controller may change the switches now (always, without a cluster)."""
        return self.cluster is None or (self.core.leading and self.cluster.acting())

    def _cluster_loop(self, interval: float):
        while self.is_active:
            try:
                change = self.cluster.step()
                if change is not None:
                    self._role_changed(change)
                self._settle_role()
            except Exception:
                self.core.counters["handler_errors"] += 1
                self.logger.exception("te: cluster step failed")
            hub.sleep(interval)

    def _settle_role(self):
        """Make the core's role and the switches' agree with the election's, whatever event was missed."""
        leadership = self.cluster.leadership
        if (leadership.role == LEADER) != self.core.leading:
            self._role_changed(RoleChange(leadership.role, leadership.generation, "catching up with the election"))
        elif not self.core.leading and leadership.generation > self._slave_claimed:
            # a new leader's generation: claim SLAVE with it on every switch (a switch that connected before
            # any leader was known left this connection EQUAL)
            self._slave_claimed = leadership.generation
            for dp in list(self.dps.values()):
                dp.send_msg(ofmsg.role_request(dp, False, leadership.generation))

    def _role_changed(self, change):
        if change.role == LEADER:
            try:  # start from the store as the last leader left it (its writes reached us by the watch, or not)
                snapshot = self.core.store.snapshot()
            except StoreError as exc:
                self.cluster.leadership.step_down(f"cannot read the store to take over: {exc}")
                return
            if not self.cluster.acting():  # the read took long: the lease may be uncertain now
                return  # (the next round wins again, or steps down)
            self.core.follow_store(snapshot)
            dpids = self.core.become_leader(time.monotonic())
            for dpid in dpids:
                dp = self.dps.get(dpid)
                if dp is not None:
                    dp.send_msg(ofmsg.role_request(dp, True, change.generation))
                    self._read_back(dp)
            self._dirty.set()
        else:
            was_leading = self.core.leading
            self.core.become_follower(time.monotonic())
            self._held_packets = []
            self._slave_claimed = change.generation
            for dp in list(self.dps.values()):
                dp.send_msg(ofmsg.role_request(dp, False, change.generation))
            if was_leading:  # what the store holds now may be newer than what this controller took
                self._watch_resync()

    def _watch_resync(self):
        try:
            self.core.follow_store(self.core.store.snapshot())
        except StoreError as exc:
            self.logger.warning("te: cannot read the intent store: %s (the watch reads it when etcd is back)", exc)

    def _claim(self, dp):
        """A switch connected: tell it this controller's role (before anything else is sent to it)."""
        dp.send_msg(ofmsg.follower_async(dp))
        leadership = self.cluster.leadership
        if self._acting():
            dp.send_msg(ofmsg.role_request(dp, True, leadership.generation))
        elif leadership.generation > 0:
            dp.send_msg(ofmsg.role_request(dp, False, leadership.generation))

    def _store_changed(self, revision, events):
        """The watch saw changes of the store (``events`` at ``revision``; None: (re)connected, read it all).

        Every controller takes what it did not write itself: changes after its own last write (a leader's
        registry already holds its own writes; a write whose answer was lost, or a newer leader's, comes
        later). A StoreError ends the watch, which reconnects and reads the whole store again.
        """
        store = self.core.store
        if events is None:
            snapshot = store.snapshot()
            if snapshot.revision >= store.own_revision:  # (not older than a write taken meanwhile)
                self.core.follow_store(snapshot)
        elif revision > store.own_revision:
            self.core.follow_changes(store.changes(events), revision)

    @set_ev_cls(ofp_event.EventOFPRoleReply, MAIN_DISPATCHER)
    @logged
    def _role_reply(self, ev):
        msg = ev.msg
        ofp = msg.datapath.ofproto
        role = {ofp.OFPCR_ROLE_MASTER: "master", ofp.OFPCR_ROLE_SLAVE: "slave",
                ofp.OFPCR_ROLE_EQUAL: "equal"}.get(msg.role, str(msg.role))
        self.switch_roles[msg.datapath.id] = (role, msg.generation_id)

    def _react(self, reaction):
        self._send_packets(reaction.packets)
        self._held_packets.extend(reaction.held)
        if reaction.recompute:
            self._dirty.set()

    # --- switches, ports and links -------------------------------------------------
    @set_ev_handler(ofp_event.EventOFPSwitchFeatures, CONFIG_DISPATCHER)
    def _refuse_impostor(self, ev):
        """A second connection claims a connected switch's dpid: keep the switch if it still answers."""
        dp = ev.msg.datapath
        current = self.dps.get(dp.id)
        if current is None or current is dp or self._unconfirmed([dp.id], {dp.id: current}, timeout=1.0):
            return  # a switch reconnecting after its old connection died: let it in
        self.core.counters["impostors_refused"] += 1
        self.logger.warning("te: refused a connection from %s claiming switch %016x: the connected switch answers",
                            dp.address, dp.id)
        dp.close()

    @set_ev_cls(ofp_event.EventOFPStateChange, [MAIN_DISPATCHER, DEAD_DISPATCHER])
    @logged
    def _state_change(self, ev):
        dp, now = ev.datapath, time.monotonic()
        if dp.id is None:
            return
        if ev.state == MAIN_DISPATCHER:
            self.dps[dp.id] = dp
            if self.cluster is not None:
                self._claim(dp)
            live = [p for p, d in dp.ports.items() if _port_live(dp.ofproto, d)]
            self._react(self.core.switch_connected(dp.id, live, now))
            self._read_back(dp)
        elif self.dps.get(dp.id) is dp:
            del self.dps[dp.id]
            self._react(self.core.switch_disconnected(dp.id, now))

    def _read_back(self, dp):
        """Ask ``dp`` for everything it holds; nothing else goes to it until the answer is complete."""
        # the timer is for this read-back only: a later one (a takeover, a resync) has a Readback of its own
        hub.spawn_after(self.core.settings.barrier_timeout, self._readback_timeout, dp, self.core.reading.get(dp.id))
        for msg in ofmsg.readback_requests(dp):
            dp.send_msg(msg)

    @set_ev_cls(list(_READBACK), MAIN_DISPATCHER)
    @logged
    def _readback_reply(self, ev):
        dp, (part, parse) = ev.msg.datapath, _READBACK[type(ev)]
        if (dp.id, ev.msg.xid) in self._count_xids:  # a poll of the per-flow counters, not a read-back
            last = ofmsg.reply_complete(ev.msg)
            if last:
                self._count_xids.discard((dp.id, ev.msg.xid))
            self._react(self.core.flow_counters(dp.id, [(s.match.items(), s.byte_count, s.packet_count)
                                                              for s in ev.msg.body], last,
                                                time.monotonic()))
        elif self.dps.get(dp.id) is dp:
            specs = [parse(dp, dp.id, s) for s in ev.msg.body]
            self._react(self.core.readback(dp.id, part, specs, ofmsg.reply_complete(ev.msg), time.monotonic()))

    def _readback_timeout(self, dp, token):
        if self.dps.get(dp.id) is dp and self.core.readback_timed_out(dp.id, time.monotonic(), token) and \
                self._acting():
            for msg in ofmsg.clear_switch(dp):
                dp.send_msg(msg)
            self._dirty.set()

    @set_ev_cls(ofp_event.EventOFPPortStatus, MAIN_DISPATCHER)
    @logged
    def _port_status(self, ev):
        msg = ev.msg
        dp, ofp = msg.datapath, msg.datapath.ofproto
        live = msg.reason != ofp.OFPPR_DELETE and _port_live(ofp, msg.desc)
        self._react(self.core.port_changed(dp.id, msg.desc.port_no, live, time.monotonic()))

    @set_ev_cls([topo_event.EventLinkAdd, topo_event.EventLinkDelete])
    @logged
    def _link(self, ev):
        s, d = ev.link.src, ev.link.dst
        change = self.core.link_added if isinstance(ev, topo_event.EventLinkAdd) else self.core.link_removed
        self._react(change(s.dpid, s.port_no, d.dpid, d.port_no, time.monotonic()))

    # --- packets and counters ---------------------------------------------------------
    @set_ev_cls(ofp_event.EventOFPPacketIn, MAIN_DISPATCHER)
    @logged
    def _packet_in(self, ev):
        msg = ev.msg
        self._react(self.core.packet_in(msg.datapath.id, msg.match["in_port"], msg.data, time.monotonic()))

    def _send_packets(self, packets):
        if not self._acting():
            return  # the leader answers
        for out in packets:
            target = self.dps.get(out.dpid)
            if target is not None:
                target.send_msg(ofmsg.packet_out(target, out.port, out.data))
                self.core.counters["packet_out"] += 1

    @set_ev_cls(ofp_event.EventOFPErrorMsg, MAIN_DISPATCHER)
    @logged
    def _error(self, ev):
        msg = ev.msg
        ofp = msg.datapath.ofproto
        if msg.type == ofp.OFPET_BAD_REQUEST and msg.code == ofp.OFPBRC_IS_SLAVE:
            # A follower's messages that only a master may send (Ryu's LLDP probes): refused, as they should be.
            self.core.counters["refused_as_slave"] += 1
            return
        self.core.counters["of_errors"] += 1
        if msg.type == ofp.OFPET_ROLE_REQUEST_FAILED:
            self.core.counters["role_refused"] += 1
            self.logger.warning("te: switch %016x refused our role request (%s): a newer leader has claimed it",
                                msg.datapath.id, ofp.ofp_error_code_to_str(msg.type, msg.code))
            if self.cluster is not None and self.core.leading:
                # a switch knows a newer generation than ours: let another controller (or a later election,
                # with a higher revision) lead rather than win again with the same refused generation
                self.cluster.resign(self._role_changed)
            return
        self.logger.error("te: OFPErrorMsg from %016x: type=%s code=%s data=%s", msg.datapath.id,
                          ofp.ofp_error_type_to_str(msg.type), ofp.ofp_error_code_to_str(msg.type, msg.code),
                          msg.data.hex())

    @set_ev_cls(ofp_event.EventOFPPortStatsReply, MAIN_DISPATCHER)
    @logged
    def _port_stats_reply(self, ev):
        dp = ev.msg.datapath
        self.core.port_counters(dp.id, [(s.port_no, s.tx_bytes) for s in ev.msg.body
                                        if s.port_no <= dp.ofproto.OFPP_MAX], time.monotonic())

    @set_ev_cls(ofp_event.EventOFPMeterStatsReply, MAIN_DISPATCHER)
    @logged
    def _meter_stats_reply(self, ev):
        samples = [meter_sample(s.meter_id, s.byte_in_count, [b.byte_band_count for b in s.band_stats])
                   for s in ev.msg.body]
        self.core.meter_counters(ev.msg.datapath.id, samples, ofmsg.reply_complete(ev.msg), time.monotonic())

    @set_ev_cls(ofp_event.EventOFPBarrierReply, MAIN_DISPATCHER)
    @logged
    def _barrier_reply(self, ev):
        waiter = self._barrier_waiters.pop((ev.msg.datapath.id, ev.msg.xid), None)
        if waiter is not None:
            waiter.set()

    # --- recomputation ------------------------------------------------------------------
    def _reconcile_loop(self):
        while self.is_active:
            self._dirty.wait()
            hub.sleep(self.core.settings.reconcile_delay)
            self._dirty.clear()
            # Packets held for this recomputation go out once its changes are confirmed (or it failed:
            # holding them longer would only turn a late answer into no answer).
            release, self._held_packets = self._held_packets, []
            try:
                self._reconcile()
            except Exception:
                self.core.counters["handler_errors"] += 1
                self.logger.exception("te: recomputation failed")
            finally:
                self._send_packets(release)

    def _reconcile(self):
        start = time.monotonic()
        batch = self.core.recompute(start)
        conns = dict(self.dps)  # the connections this batch is for: a switch that reconnects gets none of it
        if batch.changes and not self._acting():  # leadership lost since: send nothing (the next leader will)
            self.core.counters["batches_dropped_not_leading"] += 1
            return

        def send(change) -> bool:
            if not self._acting():
                return False
            dp = self.dps.get(change.dpid)
            return dp is not None and dp is conns.get(change.dpid) and \
                dp.send_msg(ofmsg.change_message(dp, change)) is not False

        sent, confirmed, failed = send_batch(batch, send, lambda dpids: self._unconfirmed(dpids, conns))
        now = time.monotonic()
        self.core.confirm(batch, [c for c in sent if self.dps.get(c.dpid) is conns.get(c.dpid)], confirmed, now,
                          now - start)
        for dpid in sorted(failed):
            dp = self.dps.get(dpid)
            if dp is not None and dp is conns.get(dpid) and self._acting():  # still there, state unknown: read it back
                self.core.resync(dpid)
                self._read_back(dp)
        if failed:
            self._dirty.set()
        if batch.recheck_after is not None:
            self._wake_after(batch.recheck_after)

    def _wake_after(self, delay: float):
        """Recompute in ``delay`` seconds (one timer: the earliest asked for)."""
        due = time.monotonic() + max(0.0, delay)
        if self._wake_at is None or due < self._wake_at:
            self._wake_at = due
            hub.spawn_after(max(0.0, delay), self._wake, due)

    def _wake(self, due: float):
        if self._wake_at == due:
            self._wake_at = None
            self._dirty.set()

    def _unconfirmed(self, dpids, conns: dict, timeout: float | None = None) -> set:
        """Send a barrier to each switch (on its connection in ``conns``) and wait for the replies; the
        switches that did not answer in time (or whose connection changed)."""
        timeout = self.core.settings.barrier_timeout if timeout is None else timeout
        waiters, missing = [], set()
        for dpid in sorted(dpids):
            dp = conns.get(dpid)
            if dp is None or self.dps.get(dpid) is not dp:
                missing.add(dpid)
                continue
            msg = ofmsg.barrier(dp)
            dp.set_xid(msg)
            waiter = hub.Event()
            self._barrier_waiters[(dpid, msg.xid)] = waiter
            dp.send_msg(msg)
            waiters.append((dpid, msg.xid, waiter))
        deadline = time.monotonic() + timeout
        for dpid, xid, waiter in waiters:
            if not waiter.wait(timeout=max(0.0, deadline - time.monotonic())):
                missing.add(dpid)
                self.logger.warning("te: no barrier reply from %016x within %.1f s", dpid, timeout)
            self._barrier_waiters.pop((dpid, xid), None)
        return missing

    # --- periodic jobs ------------------------------------------------------------------
    def _every(self, interval: float, job):
        while self.is_active:
            hub.sleep(interval)
            job()

    def _poll_flow_counts(self):
        self._count_xids.clear()  # an answer later than a whole interval is dropped
        for dp in list(self.dps.values()):
            msg = ofmsg.flow_counts_request(dp)
            dp.set_xid(msg)
            self._count_xids.add((dp.id, msg.xid))
            dp.send_msg(msg)

    def _poll_counters(self):
        for dp in list(self.dps.values()):
            dp.send_msg(ofmsg.port_stats_request(dp))
            dp.send_msg(ofmsg.meter_stats_request(dp))
