import struct

from controller.packets import (
    ARP_REQUEST, ETH_TYPE_ARP, ETH_TYPE_IPV4, build_arp, parse_arp, parse_ethernet, parse_ipv4,
)


def test_arp_roundtrip_and_padding():
    frame = build_arp(ARP_REQUEST, "00:00:00:00:00:01", "ff:ff:ff:ff:ff:ff", "00:00:00:00:00:01", "10.0.0.1",
                      "00:00:00:00:00:00", "10.0.0.2")
    assert len(frame) == 60
    eth = parse_ethernet(frame)
    assert (eth.dst, eth.src, eth.ethertype) == ("ff:ff:ff:ff:ff:ff", "00:00:00:00:00:01", ETH_TYPE_ARP)
    arp = parse_arp(eth.payload)
    assert (arp.opcode, arp.sender_ip, arp.target_ip) == (ARP_REQUEST, "10.0.0.1", "10.0.0.2")


def test_ryu_parses_what_we_build():
    from ryu.lib.packet import arp, packet
    frame = build_arp(2, "00:00:00:00:00:02", "00:00:00:00:00:01", "00:00:00:00:00:02", "10.0.0.2",
                      "00:00:00:00:00:01", "10.0.0.1")
    a = packet.Packet(frame).get_protocol(arp.arp)
    assert (a.opcode, a.src_mac, a.src_ip, a.dst_ip) == (2, "00:00:00:00:00:02", "10.0.0.2", "10.0.0.1")


def test_ipv4_and_vlan_and_garbage():
    ip = bytes([0x45, 0, 0, 20, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2])
    frame = bytes(6) + bytes(5) + b"\x01" + struct.pack("!HHH", 0x8100, 5, ETH_TYPE_IPV4) + ip
    eth = parse_ethernet(frame)
    assert eth.ethertype == ETH_TYPE_IPV4
    assert parse_ipv4(eth.payload) == parse_ipv4(ip)
    assert (parse_ipv4(ip).src, parse_ipv4(ip).dst, parse_ipv4(ip).proto) == ("10.0.0.1", "10.0.0.2", 17)
    assert parse_ethernet(b"\x00" * 5) is None
    assert parse_arp(b"\x00" * 10) is None
    assert parse_ipv4(b"\x60" + bytes(39)) is None
