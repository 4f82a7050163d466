"""Messages built from specs, serialised and parsed back by Ryu (no switch)."""
import pytest
from ryu.ofproto import ofproto_parser, ofproto_protocol, ofproto_v1_3 as ofp

from controller import ofmsg
from controller.reconcile import ADD, DELETE, MODIFY, Change
from controller.specs import (
    Bucket, FlowSpec, GroupSpec, MeterSpec, Output, PopMpls, PushMpls, SetField, ToController, ToGroup, match,
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
