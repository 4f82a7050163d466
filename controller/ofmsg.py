"""The one place that turns specs into Ryu OpenFlow 1.3 messages.

Every function takes ``dp``: a connected Ryu datapath, or for tests
``ryu.ofproto.ofproto_protocol.ProtocolDesc(ofproto_v1_3.OFP_VERSION)``.
Nothing here decides anything or sends anything.
"""
from __future__ import annotations

from .reconcile import ADD, DELETE, MODIFY, Change
from .specs import (
    COOKIE_MARK, COOKIE_MARK_MASK, GROUP_ALL, GROUP_FAST_FAILOVER, GROUP_INDIRECT, GROUP_SELECT,
    FlowSpec, GroupSpec, MeterSpec, Output, PopMpls, PopVlan, PushMpls, PushVlan, SetField, ToController, ToGroup,
)

_ALL_COOKIE_BITS = (1 << 64) - 1


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
    gtype = getattr(ofp, _GROUP_TYPES[spec.type])
    if op == DELETE:
        return parser.OFPGroupMod(dp, ofp.OFPGC_DELETE, gtype, spec.group_id)
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
