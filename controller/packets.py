"""Just enough Ethernet/ARP/IPv4 parsing and ARP building for the controller (no Ryu)."""
from __future__ import annotations

import socket
import struct
from dataclasses import dataclass

ETH_TYPE_IPV4 = 0x0800
ETH_TYPE_ARP = 0x0806
ETH_TYPE_LLDP = 0x88CC
ETH_TYPE_VLAN = 0x8100
BROADCAST_MAC = "ff:ff:ff:ff:ff:ff"
ZERO_MAC = "00:00:00:00:00:00"

ARP_REQUEST = 1
ARP_REPLY = 2


def mac_to_bytes(mac: str) -> bytes:
    return bytes(int(x, 16) for x in mac.split(":"))


def mac_to_str(raw: bytes) -> str:
    return ":".join(f"{b:02x}" for b in raw)


@dataclass(frozen=True)
class Ethernet:
    dst: str
    src: str
    ethertype: int
    payload: bytes


@dataclass(frozen=True)
class Arp:
    opcode: int
    sender_mac: str
    sender_ip: str
    target_mac: str
    target_ip: str


@dataclass(frozen=True)
class Ipv4:
    src: str
    dst: str
    proto: int


def parse_ethernet(data: bytes) -> Ethernet | None:
    if len(data) < 14:
        return None
    dst, src, ethertype = struct.unpack("!6s6sH", data[:14])
    payload = data[14:]
    if ethertype == ETH_TYPE_VLAN and len(payload) >= 4:
        ethertype = struct.unpack("!H", payload[2:4])[0]
        payload = payload[4:]
    return Ethernet(mac_to_str(dst), mac_to_str(src), ethertype, payload)


def parse_arp(payload: bytes) -> Arp | None:
    """Ethernet/IPv4 ARP only; anything else is None."""
    if len(payload) < 28:
        return None
    htype, ptype, hlen, plen, op, sha, spa, tha, tpa = struct.unpack("!HHBBH6s4s6s4s", payload[:28])
    if (htype, ptype, hlen, plen) != (1, ETH_TYPE_IPV4, 6, 4):
        return None
    return Arp(op, mac_to_str(sha), socket.inet_ntoa(spa), mac_to_str(tha), socket.inet_ntoa(tpa))


def parse_ipv4(payload: bytes) -> Ipv4 | None:
    if len(payload) < 20 or payload[0] >> 4 != 4:
        return None
    return Ipv4(socket.inet_ntoa(payload[12:16]), socket.inet_ntoa(payload[16:20]), payload[9])


def build_arp(opcode: int, eth_src: str, eth_dst: str, sender_mac: str, sender_ip: str,
              target_mac: str, target_ip: str) -> bytes:
    """An Ethernet frame carrying one ARP message (padded to the 60-byte minimum)."""
    frame = struct.pack("!6s6sH", mac_to_bytes(eth_dst), mac_to_bytes(eth_src), ETH_TYPE_ARP)
    frame += struct.pack("!HHBBH6s4s6s4s", 1, ETH_TYPE_IPV4, 6, 4, opcode,
                         mac_to_bytes(sender_mac), socket.inet_aton(sender_ip),
                         mac_to_bytes(target_mac), socket.inet_aton(target_ip))
    return frame.ljust(60, b"\0")
