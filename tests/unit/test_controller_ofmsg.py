"""Messages built from specs, serialised and parsed back by Ryu (no switch)."""
import pytest
from ryu.ofproto import ofproto_parser, ofproto_protocol, ofproto_v1_3 as ofp

from controller import ofmsg
from controller.reconcile import ADD, DELETE, MODIFY, Change
from controller.specs import (
    GROUP_UNREADABLE, METER_UNREADABLE, Bucket, FlowSpec, GroupSpec, MeterSpec, Output, PopMpls, PushMpls, SetField,
    ToController, ToGroup, Unreadable, match,
)

DP = ofproto_protocol.ProtocolDesc(ofp.OFP_VERSION)


def roundtrip(msg):
    """Serialise ``msg``; parse it back where Ryu has a parser (flow mods), else return the serialised object.

    Ryu parses only what switches send plus a few symmetric messages; group, meter and packet-out
    messages have no parser, so for them serialising without error is the check.
    """
    msg.serialize()
    assert len(msg.buf) == ofproto_parser.header(msg.buf)[2]
    if type(msg).__name__ != "OFPFlowMod":
        return msg
    version, msg_type, msg_len, xid = ofproto_parser.header(msg.buf)
    return ofproto_parser.msg(DP, version, msg_type, msg_len, xid, bytes(msg.buf))


def test_flow_add_with_meter_actions_and_goto():
    spec = FlowSpec(1, 1, 100, match(eth_type=0x0800, ipv4_dst="10.0.0.2"),
                    (ToGroup(7), ToController(128)), goto_table=2, meter_id=3, cookie=0x7E01000000000002)
    m = roundtrip(ofmsg.change_message(DP, Change(ADD, spec)))
    assert (m.command, m.table_id, m.priority, m.cookie) == (ofp.OFPFC_ADD, 1, 100, spec.cookie)
    assert m.match["ipv4_dst"] == "10.0.0.2" and m.match["eth_type"] == 0x0800
    meter, apply_, goto = m.instructions
    assert meter.meter_id == 3 and goto.table_id == 2
    group, ctrl = apply_.actions
    assert group.group_id == 7 and (ctrl.port, ctrl.max_len) == (ofp.OFPP_CONTROLLER, 128)


def test_flow_delete_is_strict_and_cookie_exact():
    spec = FlowSpec(1, 0, 900, match(eth_type=0x8847, mpls_label=20), (Output(2),), cookie=5)
    m = roundtrip(ofmsg.flow_mod(DP, spec, DELETE))
    assert (m.command, m.priority, m.cookie, m.cookie_mask) == (ofp.OFPFC_DELETE_STRICT, 900, 5, 2**64 - 1)
    assert m.match["mpls_label"] == 20 and m.out_port == ofp.OFPP_ANY


def test_drop_flow_has_no_instructions_and_masked_match():
    spec = FlowSpec(1, 1, 50, match(eth_type=0x0800, ipv4_dst=("224.0.0.0", "240.0.0.0")))
    m = roundtrip(ofmsg.flow_mod(DP, spec, ADD))
    assert m.instructions == [] and m.match["ipv4_dst"] == ("224.0.0.0", "240.0.0.0")


@pytest.mark.parametrize("op,command", [(ADD, ofp.OFPGC_ADD), (MODIFY, ofp.OFPGC_MODIFY)])
def test_select_group_with_label_push_buckets(op, command):
    spec = GroupSpec(1, 4, "select", (
        Bucket((PushMpls(), SetField("mpls_label", 17), Output(3)), weight=2),
        Bucket((PushMpls(), SetField("mpls_label", 18), Output(4))),
    ))
    m = roundtrip(ofmsg.change_message(DP, Change(op, spec)))
    assert (m.command, m.type, m.group_id) == (command, ofp.OFPGT_SELECT, 4)
    assert [b.weight for b in m.buckets] == [2, 1]
    push, label, out = m.buckets[0].actions
    assert push.ethertype == 0x8847 and label.key == "mpls_label" and label.value == 17 and out.port == 3
    assert b"\x88\x47" in bytes(m.buf)  # push_mpls ethertype on the wire


def test_group_delete_and_non_select_weights_are_zero():
    ff = GroupSpec(1, 5, "ff", (Bucket((Output(1),), watch_port=1), Bucket((Output(2),), watch_port=2)))
    m = roundtrip(ofmsg.group_mod(DP, ff, ADD))
    assert [(b.weight, b.watch_port) for b in m.buckets] == [(0, 1), (0, 2)]
    d = roundtrip(ofmsg.group_mod(DP, ff, DELETE))
    assert (d.command, d.group_id, d.buckets) == (ofp.OFPGC_DELETE, 5, [])


def test_meter_mod():
    m = roundtrip(ofmsg.change_message(DP, Change(ADD, MeterSpec(1, 9, 5000, 500))))
    assert (m.command, m.meter_id, m.flags) == (ofp.OFPMC_ADD, 9, ofp.OFPMF_KBPS | ofp.OFPMF_BURST)
    assert (m.bands[0].rate, m.bands[0].burst_size) == (5000, 500)
    assert roundtrip(ofmsg.meter_mod(DP, MeterSpec(1, 9, 1, 1), DELETE)).command == ofp.OFPMC_DELETE


def test_pop_and_packet_out_and_clear():
    m = roundtrip(ofmsg.flow_mod(DP, FlowSpec(1, 0, 900, match(eth_type=0x8847, mpls_label=16), (PopMpls(),),
                                              goto_table=1), ADD))
    assert m.instructions[0].actions[0].ethertype == 0x0800
    po = roundtrip(ofmsg.packet_out(DP, 3, b"\x00" * 60))
    assert po.actions[0].port == 3 and po.buffer_id == ofp.OFP_NO_BUFFER and len(po.data) == 60
    flows, groups, meters = [roundtrip(x) for x in ofmsg.clear_switch(DP)]
    assert flows.command == ofp.OFPFC_DELETE and flows.cookie_mask == 0xFF << 56 and flows.table_id == ofp.OFPTT_ALL
    assert groups.group_id == ofp.OFPG_ALL and meters.meter_id == ofp.OFPM_ALL


def test_unknown_action_is_rejected():
    with pytest.raises(TypeError):
        ofmsg.actions(DP, ["output:1"])


# --- read-back: what a switch reports, parsed by Ryu, back into the spec that was installed ----------
def reported_flow(spec):
    """The OFPFlowStats a switch reports for ``spec``: match and instructions as Ryu parses them off the wire."""
    m = roundtrip(ofmsg.flow_mod(DP, spec, ADD))
    return DP.ofproto_parser.OFPFlowStats(table_id=m.table_id, priority=m.priority, cookie=m.cookie, idle_timeout=0,
                                          hard_timeout=0, match=m.match, instructions=m.instructions)


def reported_group(spec):
    msg = ofmsg.group_mod(DP, spec, ADD)
    parser, buckets = DP.ofproto_parser, []
    for b in msg.buckets:
        buf = bytearray()
        b.serialize(buf, 0)
        buckets.append(parser.OFPBucket.parser(bytes(buf), 0))
    return parser.OFPGroupDescStats(msg.type, msg.group_id, buckets)


def reported_meter(spec):
    msg = ofmsg.meter_mod(DP, spec, ADD)
    parser, bands = DP.ofproto_parser, []
    for band in msg.bands:
        buf = bytearray(16)
        band.serialize(buf, 0)
        bands.append(parser.OFPMeterBandHeader.parser(bytes(buf), 0))
    return parser.OFPMeterConfigStats(msg.flags, msg.meter_id, bands)


@pytest.mark.parametrize("spec", [
    FlowSpec(1, 1, 100, match(eth_type=0x0800, ipv4_dst="10.0.0.2"), (ToGroup(7),), cookie=0x7E01000000000002),
    FlowSpec(1, 1, 503, match(in_port=3, eth_type=0x0800, ipv4_src="10.0.0.1", ipv4_dst="10.0.0.5", ip_proto=17,
                              udp_dst=5201), (ToGroup(0x40000001),), meter_id=4, cookie=0x7E02100000100001),
    FlowSpec(1, 0, 900, match(eth_type=0x8847, mpls_label=524300), (PopMpls(0x0800),), goto_table=1, cookie=9),
    FlowSpec(1, 0, 1000, match(eth_type=0x0806), (ToController(0xFFFF),), cookie=0x7E01000000000001),
    FlowSpec(1, 1, 50, match(eth_type=0x0800, ipv4_dst=("224.0.0.0", "240.0.0.0")), cookie=5),
    FlowSpec(1, 0, 0, match(), cookie=5),
])
def test_flow_read_back_is_the_installed_spec(spec):
    assert ofmsg.flow_spec(DP, 1, reported_flow(spec)) == spec


def test_group_and_meter_read_back_are_the_installed_specs():
    group = GroupSpec(2, 0x40000003, "select", (
        Bucket((PushMpls(), SetField("mpls_label", 524289), Output(3)), weight=5),
        Bucket((PushMpls(), SetField("mpls_label", 17), Output(4)), weight=1),
    ))
    assert ofmsg.group_spec(DP, 2, reported_group(group)) == group
    ff = GroupSpec(2, 9, "ff", (Bucket((Output(1),), watch_port=1), Bucket((Output(2),), watch_port=2)))
    assert ofmsg.group_spec(DP, 2, reported_group(ff)) == ff
    meter = MeterSpec(2, 4, 4000, 200)
    assert ofmsg.meter_spec(DP, 2, reported_meter(meter)) == meter


def test_what_the_controller_never_builds_reads_back_as_unreadable_and_can_be_deleted():
    parser = DP.ofproto_parser
    stat = parser.OFPFlowStats(table_id=0, priority=7, cookie=0x7E00000000000000, idle_timeout=0, hard_timeout=0,
                               match=parser.OFPMatch(eth_type=0x0800),
                               instructions=[parser.OFPInstructionActions(ofp.OFPIT_WRITE_ACTIONS,
                                                                          [parser.OFPActionOutput(1)])])
    flow = ofmsg.flow_spec(DP, 1, stat)
    assert flow.actions and all(isinstance(a, Unreadable) for a in flow.actions)
    delete = roundtrip(ofmsg.flow_mod(DP, flow, DELETE))
    assert (delete.priority, delete.cookie) == (7, 0x7E00000000000000)
    weightless = parser.OFPGroupDescStats(ofp.OFPGT_SELECT, 3, [parser.OFPBucket(0, ofp.OFPP_ANY, ofp.OFPG_ANY, [])])
    group = ofmsg.group_spec(DP, 1, weightless)
    assert group.type == GROUP_UNREADABLE and roundtrip(ofmsg.group_mod(DP, group, DELETE)).group_id == 3
    pktps = parser.OFPMeterConfigStats(ofp.OFPMF_PKTPS, 6, [parser.OFPMeterBandDrop(10, 0)])
    assert ofmsg.meter_spec(DP, 1, pktps).rate_kbps == METER_UNREADABLE


def test_readback_requests_ask_for_our_cookie_mark_only():
    flows, groups, meters = (roundtrip(m) for m in ofmsg.readback_requests(DP))
    assert (flows.cookie, flows.cookie_mask, flows.table_id) == (0x7E << 56, 0xFF << 56, ofp.OFPTT_ALL)
    assert type(groups).__name__ == "OFPGroupDescStatsRequest" and meters.meter_id == ofp.OFPM_ALL
