"""The Ryu application: decode events, call the plain modules, send what they return.

Run with (from the repository root)::

    .venv/bin/ryu-manager --observe-links --ofp-tcp-listen-port 6653 --config-file etc/te.conf controller.app

``--observe-links`` turns on Ryu's LLDP link discovery (``ryu.topology``), which this app needs.
"""
from __future__ import annotations

import functools
import time
from collections import Counter
from dataclasses import fields

from ryu import cfg
from ryu.base import app_manager
from ryu.controller import ofp_event
from ryu.controller.handler import DEAD_DISPATCHER, MAIN_DISPATCHER, set_ev_cls
from ryu.lib import hub
from ryu.ofproto import ofproto_v1_3
from ryu.topology import event as topo_event

from . import ofmsg
from .compile import compile_baseline, host_pairs
from .hosts import HostService
from .packets import ETH_TYPE_ARP, ETH_TYPE_IPV4, ETH_TYPE_LLDP, parse_arp, parse_ethernet, parse_ipv4
from .reconcile import BARRIER, apply, diff
from .settings import Settings
from .specs import State
from .topology import Fabric, read_link_info
from .tunnels import IdAllocator, TunnelPlanner

_OPT_TYPES = {"str": cfg.StrOpt, "float": cfg.FloatOpt, "int": cfg.IntOpt}
cfg.CONF.register_opts(
    [_OPT_TYPES[f.type](f.name, default=f.default, help=f.metadata["help"]) for f in fields(Settings)],
    group="te",
)

GROUP_ID_MAX = 0xFFFFFF00  # OFPG_MAX


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

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.CONF.observe_links:
            raise SystemExit("controller.app needs link discovery: start ryu-manager with --observe-links")
        self.settings = Settings.from_mapping(self.CONF.te)
        link_info = read_link_info(self.settings.topology_file) if self.settings.topology_file else None
        self.fabric = Fabric(link_info, self.settings.default_capacity_bps)
        self.hosts = HostService(self.settings.arp_settle_seconds, self.settings.arp_flood_interval)
        self.planner = TunnelPlanner(self.settings.max_paths)
        self.group_ids = IdAllocator(1, GROUP_ID_MAX)
        self.installed = State()
        self.dps: dict = {}  # dpid -> Datapath
        self.counters: Counter = Counter()
        self._barrier_waiters: dict = {}  # (dpid, xid) -> hub.Event
        self._dirty = hub.Event()
        self.logger.info("te: settings %s; topology file gives %d link capacities", self.settings,
                         len(link_info.capacity_bps) if link_info else 0)
        self.threads.append(hub.spawn(self._reconcile_loop))
        if self.settings.stats_interval > 0:
            self.threads.append(hub.spawn(self._stats_loop))

    # --- switches, ports and links -------------------------------------------------
    @set_ev_cls(ofp_event.EventOFPStateChange, [MAIN_DISPATCHER, DEAD_DISPATCHER])
    @logged
    def _state_change(self, ev):
        dp = ev.datapath
        if dp.id is None:
            return
        if ev.state == MAIN_DISPATCHER:
            self.dps[dp.id] = dp
            for msg in ofmsg.clear_switch(dp):
                dp.send_msg(msg)
            self.installed = self.installed.without_dpid(dp.id)
            self.fabric.add_switch(dp.id, [p for p, d in dp.ports.items() if _port_live(dp.ofproto, d)],
                                   time.monotonic())
            self.logger.info("te: switch %016x connected with %d live ports", dp.id, len(self.fabric.host_ports(dp.id)))
        elif self.dps.get(dp.id) is dp:
            del self.dps[dp.id]
            self.installed = self.installed.without_dpid(dp.id)
            self.fabric.remove_switch(dp.id)
            self.logger.info("te: switch %016x disconnected", dp.id)
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
                outcome = self.hosts.handle_ipv4(self.fabric, dp.id, in_port, eth, ip, now, msg.data)
        else:
            self.counters["packet_in_other"] += 1
        if outcome is None:
            return
        for out in outcome.packets:
            target = self.dps.get(out.dpid)
            if target is not None:
                target.send_msg(ofmsg.packet_out(target, out.port, out.data))
                self.counters["packet_out"] += 1
        if outcome.hosts_changed:
            self._request_reconcile()

    @set_ev_cls(ofp_event.EventOFPErrorMsg, MAIN_DISPATCHER)
    @logged
    def _error(self, ev):
        msg = ev.msg
        self.counters["of_errors"] += 1
        ofp = msg.datapath.ofproto
        self.logger.error("te: OFPErrorMsg from %016x: type=%s code=%s data=%s", msg.datapath.id,
                          ofp.ofp_error_type_to_str(msg.type), ofp.ofp_error_code_to_str(msg.type, msg.code),
                          msg.data.hex())

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
            try:
                self._reconcile()
            except Exception:
                self.counters["handler_errors"] += 1
                self.logger.exception("te: recomputation failed")

    def _reconcile(self):
        start = time.monotonic()
        tunnels = self.planner.plan(self.fabric.adjacency(), host_pairs(self.fabric))
        desired = compile_baseline(self.dps.keys() & self.fabric.switches.keys(), self.fabric.hosts.values(),
                                   tunnels, self.group_ids)
        changes = diff(self.installed, desired)
        if not changes:
            return
        sent, touched = [], set()
        for change in changes:
            if change is BARRIER:
                self._await_barriers(touched)
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
        self.counters["flow_group_mods"] += len(sent)
        ops = Counter(c.op for _, c in sent)
        self.logger.info("te: reconciled in %.0f ms: %s on %d switches; %d hosts, %d switch pairs, %d tunnels",
                         1000 * (time.monotonic() - start), dict(ops), len({c.dpid for _, c in sent}),
                         len(self.fabric.hosts), len(tunnels), sum(len(t) for t in tunnels.values()))

    def _await_barriers(self, dpids):
        waiters = []
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
                self.logger.warning("te: no barrier reply from %016x within %.1f s", dpid,
                                    self.settings.barrier_timeout)
            self._barrier_waiters.pop((dpid, xid), None)

    def _stats_loop(self):
        while self.is_active:
            hub.sleep(self.settings.stats_interval)
            self.logger.info("te: stats %s", " ".join(f"{k}={v}" for k, v in sorted(self.counters.items())))
