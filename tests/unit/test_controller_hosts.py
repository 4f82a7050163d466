from controller.hosts import ArpProxy
from controller.packets import (
    ARP_REPLY, ARP_REQUEST, BROADCAST_MAC, ZERO_MAC, Ipv4, build_arp, parse_arp, parse_ethernet,
)
from controller.topology import Fabric, LinkInfo

M1, M2, M3 = "00:00:00:00:00:01", "00:00:00:00:00:02", "00:00:00:00:00:03"


def fabric():
    """s1 -- s2 over port 1 on both; hosts may sit on ports 2 and 3."""
    f = Fabric(LinkInfo(expected_neighbours={1: {2: 1}, 2: {1: 1}}))
    f.add_switch(1, [1, 2, 3], now=0.0)
    f.add_switch(2, [1, 2, 3], now=0.0)
    f.add_link(1, 1, 2, 1)
    f.add_link(2, 1, 1, 1)
    return f


def request(sender_mac, sender_ip, target_ip):
    frame = build_arp(ARP_REQUEST, sender_mac, BROADCAST_MAC, sender_mac, sender_ip, ZERO_MAC, target_ip)
    eth = parse_ethernet(frame)
    return eth, parse_arp(eth.payload)


def reply(sender_mac, sender_ip, target_mac, target_ip):
    frame = build_arp(ARP_REPLY, sender_mac, target_mac, sender_mac, sender_ip, target_mac, target_ip)
    eth = parse_ethernet(frame)
    return eth, parse_arp(eth.payload)


def test_request_for_known_host_is_answered_by_the_controller():
    f, svc = fabric(), ArpProxy()
    f.learn_host("10.0.0.2", M2, 2, 2)
    out = svc.handle_arp(f, 1, 2, *request(M1, "10.0.0.1", "10.0.0.2"), now=1.0)
    assert out.hosts_changed  # the requester was learned
    (pkt,) = out.packets
    assert (pkt.dpid, pkt.port) == (1, 2)
    eth = parse_ethernet(pkt.data)
    arp = parse_arp(eth.payload)
    assert (eth.dst, eth.src) == (M1, M2)
    assert (arp.opcode, arp.sender_mac, arp.sender_ip, arp.target_mac, arp.target_ip) == \
        (ARP_REPLY, M2, "10.0.0.2", M1, "10.0.0.1")


def test_unknown_target_goes_out_of_host_ports_only_once_per_interval():
    f, svc = fabric(), ArpProxy(settle_s=3.0, flood_interval_s=1.0)
    out = svc.handle_arp(f, 1, 2, *request(M1, "10.0.0.1", "10.0.0.3"), now=1.0)
    assert sorted((p.dpid, p.port) for p in out.packets) == [(1, 3), (2, 2), (2, 3)]  # never port 1, not the sender
    assert svc.handle_arp(f, 1, 2, *request(M1, "10.0.0.1", "10.0.0.3"), now=1.5).packets == ()
    assert len(svc.handle_arp(f, 1, 2, *request(M1, "10.0.0.1", "10.0.0.3"), now=2.1).packets) == 3


def test_no_flooding_before_links_are_discovered():
    f, svc = Fabric(), ArpProxy(settle_s=3.0)
    f.add_switch(1, [1, 2], now=0.0)
    assert svc.handle_arp(f, 1, 2, *request(M1, "10.0.0.1", "10.0.0.3"), now=1.0).packets == ()
    # the limiter was not used up by the attempt that sent nothing
    assert [(p.dpid, p.port) for p in svc.handle_arp(f, 1, 2, *request(M1, "10.0.0.1", "10.0.0.3"), 3.0).packets] \
        == [(1, 1)]


def test_reply_to_a_flooded_request_reaches_the_requester_and_teaches_the_target():
    f, svc = fabric(), ArpProxy()
    f.learn_host("10.0.0.1", M1, 1, 2)
    out = svc.handle_arp(f, 2, 3, *reply(M3, "10.0.0.3", M1, "10.0.0.1"), now=1.0)
    assert out.hosts_changed and f.hosts["10.0.0.3"].dpid == 2
    (pkt,) = out.packets
    assert (pkt.dpid, pkt.port) == (1, 2)
    assert parse_arp(parse_ethernet(pkt.data).payload).sender_ip == "10.0.0.3"


def test_arp_from_an_inter_switch_port_is_ignored():
    f, svc = fabric(), ArpProxy()
    out = svc.handle_arp(f, 1, 1, *request(M1, "10.0.0.1", "10.0.0.3"), now=9.0)
    assert out.packets == () and not out.hosts_changed and f.hosts == {}


def test_probe_and_gratuitous_arp():
    f, svc = fabric(), ArpProxy()
    out = svc.handle_arp(f, 1, 2, *request(M1, "0.0.0.0", "10.0.0.1"), now=9.0)  # RFC 5227 probe
    assert not out.hosts_changed
    out = svc.handle_arp(f, 1, 2, *request(M1, "10.0.0.1", "10.0.0.1"), now=9.0)  # gratuitous
    assert out.hosts_changed and out.packets == ()


def test_ipv4_miss_learns_sender_and_asks_for_destination():
    f, svc = fabric(), ArpProxy()
    eth, _ = request(M1, "10.0.0.1", "10.0.0.9")
    out = svc.handle_ipv4(f, 1, 2, eth, Ipv4("10.0.0.1", "10.0.0.9", 1), now=9.0)
    assert out.hosts_changed and f.hosts["10.0.0.1"].port == 2
    assert {parse_arp(parse_ethernet(p.data).payload).target_ip for p in out.packets} == {"10.0.0.9"}
    f.learn_host("10.0.0.9", M3, 2, 3)
    out = svc.handle_ipv4(f, 1, 2, eth, Ipv4("10.0.0.1", "10.0.0.9", 1), now=20.0)
    assert out.packets == () and not out.hosts_changed

