"""The one place that turns specs into Ryu OpenFlow 1.3 messages, and what switches report back into specs.

Every function takes ``dp``: a connected Ryu datapath, or for tests
``ryu.ofproto.ofproto_protocol.ProtocolDesc(ofproto_v1_3.OFP_VERSION)``.
Nothing here decides anything or sends anything.

The read-back parsers (:func:`flow_spec`, :func:`group_spec`, :func:`meter_spec`) invert the
builders: a spec installed and read back compares equal to itself. Anything they do not
recognise becomes an :class:`~controller.specs.Unreadable` part, so it can never equal a
desired spec and the diff replaces or deletes it.
"""
from __future__ import annotations

from .pipeline import COOKIE_COUNTED, COOKIE_MARK, COOKIE_MARK_MASK, TABLE_FLOWS
from .reconcile import ADD, DELETE, MODIFY, Change
from .specs import (
    GROUP_ALL, GROUP_FAST_FAILOVER, GROUP_INDIRECT, GROUP_SELECT, GROUP_UNREADABLE,
    METER_UNREADABLE, Bucket, FlowSpec, GroupSpec, Learn, MeterSpec, Output, PopMpls, PopVlan, PushMpls, PushVlan,
    Resubmit, SetField, ToController, ToGroup, Unreadable,
)

_ALL_COOKIE_BITS = (1 << 64) - 1
_IN_PORT = 0xFFF8  # OFPP_IN_PORT: resubmit keeps the packet's in_port
# Widths of the fields a Learn may copy from the packet into the learned match.
FIELD_BITS = {"eth_type": 16, "ip_proto": 8, "ipv4_src": 32, "ipv4_dst": 32, "tcp_src": 16, "tcp_dst": 16,
              "udp_src": 16, "udp_dst": 16, "in_port": 32}


def actions(dp, specs) -> list:
    ofp, parser = dp.ofproto, dp.ofproto_parser
    out = []
    for a in specs:
        if isinstance(a, Output):
            out.append(parser.OFPActionOutput(a.port))
        elif isinstance(a, ToController):
            out.append(parser.OFPActionOutput(ofp.OFPP_CONTROLLER, a.max_len))
        elif isinstance(a, ToGroup):
            out.append(parser.OFPActionGroup(a.group_id))
        elif isinstance(a, PushMpls):
            out.append(parser.OFPActionPushMpls(a.ethertype))
        elif isinstance(a, PopMpls):
            out.append(parser.OFPActionPopMpls(a.ethertype))
        elif isinstance(a, PushVlan):
            out.append(parser.OFPActionPushVlan(a.ethertype))
        elif isinstance(a, PopVlan):
            out.append(parser.OFPActionPopVlan())
        elif isinstance(a, SetField):
            out.append(parser.OFPActionSetField(**{a.field: a.value}))
        elif isinstance(a, Resubmit):
            out.append(parser.NXActionResubmitTable(in_port=_IN_PORT, table_id=a.table_id))
        elif isinstance(a, Learn):
            specs = [parser.NXFlowSpecMatch(src=v, dst=(f, 0), n_bits=FIELD_BITS[f]) for f, v in a.values]
            specs += [parser.NXFlowSpecMatch(src=(f, 0), dst=(f, 0), n_bits=FIELD_BITS[f]) for f in a.fields]
            out.append(parser.NXActionLearn(table_id=a.table_id, specs=specs, idle_timeout=a.idle_timeout,
                                            fin_idle_timeout=a.fin_idle_timeout, priority=a.priority,
                                            cookie=a.cookie))
        else:
            raise TypeError(f"no OpenFlow translation for action {a!r}")
    return out


def flow_mod(dp, spec: FlowSpec, op: str):
    ofp, parser = dp.ofproto, dp.ofproto_parser
    match = parser.OFPMatch(**dict(spec.match))
    if op == DELETE:
        return parser.OFPFlowMod(dp, cookie=spec.cookie, cookie_mask=_ALL_COOKIE_BITS, table_id=spec.table_id,
                                 command=ofp.OFPFC_DELETE_STRICT, priority=spec.priority, out_port=ofp.OFPP_ANY,
                                 out_group=ofp.OFPG_ANY, match=match)
    inst = []
    if spec.meter_id is not None:
        inst.append(parser.OFPInstructionMeter(spec.meter_id, ofp.OFPIT_METER))
    if spec.actions:
        inst.append(parser.OFPInstructionActions(ofp.OFPIT_APPLY_ACTIONS, actions(dp, spec.actions)))
    if spec.goto_table is not None:
        inst.append(parser.OFPInstructionGotoTable(spec.goto_table))
    # OFPFC_ADD replaces an entry with the same match and priority, counters reset; it also
    # updates the cookie, which MODIFY would not.
    return parser.OFPFlowMod(dp, cookie=spec.cookie, table_id=spec.table_id, command=ofp.OFPFC_ADD,
                             priority=spec.priority, match=match, instructions=inst)


_GROUP_TYPES = {GROUP_SELECT: "OFPGT_SELECT", GROUP_ALL: "OFPGT_ALL", GROUP_INDIRECT: "OFPGT_INDIRECT",
                GROUP_FAST_FAILOVER: "OFPGT_FF"}


def group_mod(dp, spec: GroupSpec, op: str):
    ofp, parser = dp.ofproto, dp.ofproto_parser
    if op == DELETE:  # the type does not matter to a delete (and an unreadable group has none)
        gtype = getattr(ofp, _GROUP_TYPES.get(spec.type, "OFPGT_ALL"))
        return parser.OFPGroupMod(dp, ofp.OFPGC_DELETE, gtype, spec.group_id)
    gtype = getattr(ofp, _GROUP_TYPES[spec.type])
    buckets = [
        parser.OFPBucket(
            weight=b.weight if spec.type == GROUP_SELECT else 0,
            watch_port=ofp.OFPP_ANY if b.watch_port is None else b.watch_port,
            watch_group=ofp.OFPG_ANY,
            actions=actions(dp, b.actions),
        )
        for b in spec.buckets
    ]
    command = ofp.OFPGC_ADD if op == ADD else ofp.OFPGC_MODIFY
    return parser.OFPGroupMod(dp, command, gtype, spec.group_id, buckets)


def meter_mod(dp, spec: MeterSpec, op: str):
    ofp, parser = dp.ofproto, dp.ofproto_parser
    if op == DELETE:
        return parser.OFPMeterMod(dp, ofp.OFPMC_DELETE, 0, spec.meter_id)
    command = ofp.OFPMC_ADD if op == ADD else ofp.OFPMC_MODIFY
    bands = [parser.OFPMeterBandDrop(rate=spec.rate_kbps, burst_size=spec.burst_kb)]
    return parser.OFPMeterMod(dp, command, ofp.OFPMF_KBPS | ofp.OFPMF_BURST, spec.meter_id, bands)


def change_message(dp, change: Change):
    """The message that carries out one :class:`controller.reconcile.Change`."""
    if change.op not in (ADD, MODIFY, DELETE):
        raise ValueError(f"unknown change {change.op!r}")
    builder = {FlowSpec: flow_mod, GroupSpec: group_mod, MeterSpec: meter_mod}[type(change.spec)]
    return builder(dp, change.spec, change.op)


def barrier(dp):
    return dp.ofproto_parser.OFPBarrierRequest(dp)


def role_request(dp, leader: bool, generation: int):
    """Claim MASTER (``leader``) or SLAVE with the election's ``generation`` id; the switch refuses a
    generation older than one it has seen (OFPRRFC_STALE), so a deposed leader cannot take it back."""
    ofp = dp.ofproto
    role = ofp.OFPCR_ROLE_MASTER if leader else ofp.OFPCR_ROLE_SLAVE
    return dp.ofproto_parser.OFPRoleRequest(dp, role, generation & 0xFFFFFFFFFFFFFFFF)


def follower_async(dp):
    """Ask for packet-ins and port status in the SLAVE role too (OpenFlow 1.3 sends a slave only port
    status by default): a follower sees the leader's LLDP come back (links) and hosts' packets."""
    ofp = dp.ofproto
    packet_in = 1 << ofp.OFPR_NO_MATCH | 1 << ofp.OFPR_ACTION
    port_status = 1 << ofp.OFPPR_ADD | 1 << ofp.OFPPR_DELETE | 1 << ofp.OFPPR_MODIFY
    removed = 1 << ofp.OFPRR_IDLE_TIMEOUT | 1 << ofp.OFPRR_HARD_TIMEOUT | 1 << ofp.OFPRR_DELETE | \
        1 << ofp.OFPRR_GROUP_DELETE  # the master's default, kept
    return dp.ofproto_parser.OFPSetAsync(dp, [packet_in, packet_in], [port_status, port_status], [removed, 0])


def port_stats_request(dp):
    return dp.ofproto_parser.OFPPortStatsRequest(dp, 0, dp.ofproto.OFPP_ANY)


def packet_out(dp, port: int, data: bytes):
    ofp, parser = dp.ofproto, dp.ofproto_parser
    return parser.OFPPacketOut(dp, buffer_id=ofp.OFP_NO_BUFFER, in_port=ofp.OFPP_CONTROLLER,
                               actions=[parser.OFPActionOutput(port)], data=data)


def clear_switch(dp) -> list:
    """Remove everything this controller may have left on a (re)connected switch.

    Only flows carrying our cookie mark go (Ryu's own LLDP rule stays); all
    groups and meters go, since this controller owns them all.
    """
    ofp, parser = dp.ofproto, dp.ofproto_parser
    return [
        parser.OFPFlowMod(dp, cookie=COOKIE_MARK, cookie_mask=COOKIE_MARK_MASK, table_id=ofp.OFPTT_ALL,
                          command=ofp.OFPFC_DELETE, out_port=ofp.OFPP_ANY, out_group=ofp.OFPG_ANY,
                          match=parser.OFPMatch()),
        parser.OFPGroupMod(dp, ofp.OFPGC_DELETE, ofp.OFPGT_ALL, ofp.OFPG_ALL),
        parser.OFPMeterMod(dp, ofp.OFPMC_DELETE, 0, ofp.OFPM_ALL),
    ]


# --- reading a switch's state back (a restarted controller adopts what is there) --------------
def readback_requests(dp) -> list:
    """Multipart requests for our flows (by cookie mark), all groups and all meters of a switch."""
    ofp, parser = dp.ofproto, dp.ofproto_parser
    return [
        parser.OFPFlowStatsRequest(dp, 0, ofp.OFPTT_ALL, ofp.OFPP_ANY, ofp.OFPG_ANY, COOKIE_MARK, COOKIE_MARK_MASK,
                                   parser.OFPMatch()),
        parser.OFPGroupDescStatsRequest(dp, 0),
        parser.OFPMeterConfigStatsRequest(dp, 0, ofp.OFPM_ALL),
    ]


def flow_counts_request(dp):
    """Flow stats of the per-flow counters the switch learned (:data:`controller.pipeline.TABLE_FLOWS`)."""
    ofp, parser = dp.ofproto, dp.ofproto_parser
    return parser.OFPFlowStatsRequest(dp, 0, TABLE_FLOWS, ofp.OFPP_ANY, ofp.OFPG_ANY, COOKIE_COUNTED,
                                      COOKIE_MARK_MASK, parser.OFPMatch())


def meter_stats_request(dp):
    return dp.ofproto_parser.OFPMeterStatsRequest(dp, 0, dp.ofproto.OFPM_ALL)


def reply_complete(msg) -> bool:
    """Whether a multipart reply is the last part of its answer."""
    return not msg.flags & msg.datapath.ofproto.OFPMPF_REPLY_MORE


def _hashable(value):
    return tuple(value) if isinstance(value, list) else value


def parse_actions(dp, acts) -> tuple:
    """Ryu actions as spec actions (the inverse of :func:`actions`)."""
    ofp, out = dp.ofproto, []
    for a in acts:
        name = type(a).__name__
        if name == "OFPActionOutput":
            out.append(ToController(a.max_len) if a.port == ofp.OFPP_CONTROLLER else Output(a.port))
        elif name == "OFPActionGroup":
            out.append(ToGroup(a.group_id))
        elif name == "OFPActionPushMpls":
            out.append(PushMpls(a.ethertype))
        elif name == "OFPActionPopMpls":
            out.append(PopMpls(a.ethertype))
        elif name == "OFPActionPushVlan":
            out.append(PushVlan(a.ethertype))
        elif name == "OFPActionPopVlan":
            out.append(PopVlan())
        elif name == "OFPActionSetField":
            out.append(SetField(a.key, _hashable(a.value)))
        elif name == "NXActionResubmitTable" and a.in_port == _IN_PORT:
            out.append(Resubmit(a.table_id))
        elif name == "NXActionLearn":
            out.append(_parse_learn(a))
        else:
            out.append(Unreadable(str(a)))
    return tuple(out)


def _parse_learn(a):
    """A Learn if ``a`` only sets values and copies packet fields into the learned match (what
    :func:`actions` builds)."""
    values, fields = [], []
    for spec in a.specs:
        if type(spec).__name__ != "NXFlowSpecMatch" or not isinstance(spec.dst, tuple) or spec.dst[1] != 0:
            return Unreadable(str(a))
        name = spec.dst[0].removesuffix("_nxm")  # OVS may answer with the NXM names of the same fields
        if FIELD_BITS.get(name) != spec.n_bits:
            return Unreadable(str(a))
        if isinstance(spec.src, int) and not fields:
            values.append((name, spec.src))
        elif spec.src == spec.dst:
            fields.append(name)
        else:
            return Unreadable(str(a))
    if a.hard_timeout or a.fin_hard_timeout or a.flags:
        return Unreadable(str(a))
    return Learn(a.table_id, a.priority, a.idle_timeout, a.fin_idle_timeout, a.cookie, tuple(values), tuple(fields))


def flow_spec(dp, dpid: int, stat) -> FlowSpec:
    """The spec of one entry of a flow stats reply (``OFPFlowStats``)."""
    ofp = dp.ofproto
    acts, goto, meter_id = (), None, None
    for inst in stat.instructions:
        name = type(inst).__name__
        if name == "OFPInstructionActions" and inst.type == ofp.OFPIT_APPLY_ACTIONS and not acts:
            acts = parse_actions(dp, inst.actions)
        elif name == "OFPInstructionGotoTable":
            goto = inst.table_id
        elif name == "OFPInstructionMeter":
            meter_id = inst.meter_id
        else:
            acts += (Unreadable(str(inst)),)
    if stat.idle_timeout or stat.hard_timeout:  # never set by this controller
        acts += (Unreadable(f"timeouts {stat.idle_timeout}/{stat.hard_timeout}"),)
    fields = tuple(sorted((k, _hashable(v)) for k, v in stat.match.items()))
    return FlowSpec(dpid, stat.table_id, stat.priority, fields, acts, goto, meter_id, stat.cookie)


_GROUP_NAMES = {"OFPGT_SELECT": GROUP_SELECT, "OFPGT_ALL": GROUP_ALL, "OFPGT_INDIRECT": GROUP_INDIRECT,
                "OFPGT_FF": GROUP_FAST_FAILOVER}


def group_spec(dp, dpid: int, stat) -> GroupSpec:
    """The spec of one entry of a group description reply (``OFPGroupDescStats``)."""
    ofp = dp.ofproto
    gtype = {getattr(ofp, name): spec_type for name, spec_type in _GROUP_NAMES.items()}.get(stat.type)
    if gtype is None or (gtype == GROUP_SELECT and any(b.weight <= 0 for b in stat.buckets)):
        return GroupSpec(dpid, stat.group_id, GROUP_UNREADABLE, ())
    buckets = tuple(
        Bucket(parse_actions(dp, b.actions),
               # only SELECT buckets carry a weight (group_mod sends 0 for the others)
               b.weight if gtype == GROUP_SELECT else Bucket.__dataclass_fields__["weight"].default,
               None if b.watch_port == ofp.OFPP_ANY else b.watch_port)
        for b in stat.buckets)
    return GroupSpec(dpid, stat.group_id, gtype, buckets)


def meter_spec(dp, dpid: int, stat) -> MeterSpec:
    """The spec of one entry of a meter configuration reply (``OFPMeterConfigStats``)."""
    ofp = dp.ofproto
    bands = stat.bands
    if stat.flags != ofp.OFPMF_KBPS | ofp.OFPMF_BURST or len(bands) != 1 or bands[0].type != ofp.OFPMBT_DROP:
        return MeterSpec(dpid, stat.meter_id, METER_UNREADABLE, METER_UNREADABLE)
    return MeterSpec(dpid, stat.meter_id, bands[0].rate, bands[0].burst_size)
