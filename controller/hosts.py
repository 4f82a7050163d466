"""Host learning and the ARP proxy: what to do with an ARP or IPv4 packet-in.

The controller answers ARP for every known host itself, so broadcasts never
travel the (loopy) fabric.  A request for an unknown address is re-sent only
out of host-facing ports of switches whose links have been discovered, and at
most once per ``flood_interval_s`` per address.
"""
from __future__ import annotations

from dataclasses import dataclass

from .packets import (
    ARP_REPLY, ARP_REQUEST, BROADCAST_MAC, ZERO_MAC, Arp, Ethernet, Ipv4, build_arp,
)


@dataclass(frozen=True)
class PacketOut:
    dpid: int
    port: int
    data: bytes


@dataclass(frozen=True)
class Outcome:
    packets: tuple = ()  # PacketOut to send
    # A host was learned or moved: recompute forwarding. The packets (ARP answers) then wait
    # until the new rules are installed, so that the first packet a host sends after its ARP
    # answer does not race them.
    hosts_changed: bool = False


class ArpProxy:
    """Answers ARP from the hosts the fabric knows; learns hosts from ARP and IPv4 packet-ins."""

    def __init__(self, settle_s: float = 3.0, flood_interval_s: float = 1.0):
        self.settle_s = settle_s
        self.flood_interval_s = flood_interval_s
        self._last_flood: dict = {}  # target ip -> time

    def handle_arp(self, fabric, dpid: int, in_port: int, eth: Ethernet, arp: Arp, now: float) -> Outcome:
        if in_port in fabric.link_ports(dpid):
            return Outcome()  # only host-facing ports carry host ARP
        changed = False
        if arp.sender_ip != "0.0.0.0":  # an ARP probe (RFC 5227) announces nothing
            changed = fabric.learn_host(arp.sender_ip, arp.sender_mac, dpid, in_port)
        packets: tuple = ()
        if arp.opcode == ARP_REQUEST and arp.target_ip != arp.sender_ip:
            target = fabric.hosts.get(arp.target_ip)
            if target is not None and target.mac:  # a host restored from routes has no MAC until it is seen
                if target.dpid != dpid or target.port != in_port:  # the target answers itself on a shared segment
                    packets = (PacketOut(dpid, in_port, build_arp(
                        ARP_REPLY, target.mac, arp.sender_mac, target.mac, target.ip, arp.sender_mac, arp.sender_ip)),)
            else:
                packets = self._flood(fabric, arp.target_ip, build_arp(
                    ARP_REQUEST, arp.sender_mac, BROADCAST_MAC, arp.sender_mac, arp.sender_ip, ZERO_MAC,
                    arp.target_ip), now, exclude=(dpid, in_port))
        elif arp.opcode == ARP_REPLY and eth.dst != BROADCAST_MAC:
            requester = fabric.hosts.get(arp.target_ip)
            if requester is not None and requester.mac and (requester.dpid, requester.port) != (dpid, in_port):
                packets = (PacketOut(requester.dpid, requester.port, build_arp(
                    ARP_REPLY, arp.sender_mac, requester.mac, arp.sender_mac, arp.sender_ip,
                    requester.mac, requester.ip)),)
        return Outcome(packets, changed)

    def handle_ipv4(self, fabric, dpid: int, in_port: int, eth: Ethernet, ip: Ipv4, now: float) -> Outcome:
        """An IPv4 packet missed the route table: learn its sender, ask for its unknown destination.

        The packet itself is not forwarded: a miss for a known destination means the rules are
        missing, which a slow path through the controller would only hide.
        """
        if in_port in fabric.link_ports(dpid):
            return Outcome()
        changed = fabric.learn_host(ip.src, eth.src, dpid, in_port)
        packets: tuple = ()
        if ip.dst not in fabric.hosts:
            packets = self._flood(fabric, ip.dst, build_arp(
                ARP_REQUEST, eth.src, BROADCAST_MAC, eth.src, ip.src, ZERO_MAC, ip.dst), now, exclude=(dpid, in_port))
        return Outcome(packets, changed)

    def _flood(self, fabric, target_ip: str, data: bytes, now: float, exclude) -> tuple:
        last = self._last_flood.get(target_ip)
        if last is not None and now - last < self.flood_interval_s:
            return ()
        out = []
        for dpid in sorted(fabric.switches):
            if not fabric.is_settled(dpid, now, self.settle_s):
                continue
            out.extend(PacketOut(dpid, port, data) for port in sorted(fabric.host_ports(dpid)) if (dpid, port) != exclude)
        if out:
            if len(self._last_flood) > 4096:  # forget old addresses; the limit only matters within an interval
                self._last_flood = {ip: t for ip, t in self._last_flood.items() if now - t < self.flood_interval_s}
            self._last_flood[target_ip] = now
        return tuple(out)
