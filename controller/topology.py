"""What the controller knows about the network: switches, ports, links, hosts.

Plain state fed by the Ryu app's events (switch up/down, port status, LLDP
links, host sightings) with the current time passed in.  No Ryu here.
"""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field

import networkx as nx


@dataclass(frozen=True)
class Host:
    ip: str
    mac: str
    dpid: int
    port: int


@dataclass(frozen=True)
class LinkInfo:
    """Link capacities and the expected switch adjacency, read from a topology file."""

    capacity_bps: dict = field(default_factory=dict)  # (dpid_a, dpid_b) -> bit/s, both directions
    expected_neighbours: dict = field(default_factory=dict)  # dpid -> Counter of neighbour dpids
    switch_names: dict = field(default_factory=dict)  # dpid -> node id in the file
    hosts: dict = field(default_factory=dict)  # ip -> FileHost

    def capacity(self, a: int, b: int, default_bps: float) -> float:
        return self.capacity_bps.get((a, b), default_bps)


@dataclass(frozen=True)
class FileHost:
    """A host the topology file lists (``kind="host"`` with an ``ip``): where it should be and its link speed."""

    name: str
    dpid: int | None  # the switch it is linked to, if the file says
    capacity_bps: float | None  # of its access link, if the file says
    mac: str | None = None  # if the file says
    port: int | None = None  # the switch port it is linked to, if the file says (link attribute ``ports``)


def read_link_info(path: str) -> LinkInfo:
    """Read switch-to-switch capacities from a networkx node-link JSON file.

    Switch nodes carry ``dpid`` (int); links carry ``capacity`` (bit/s).
    Host nodes (``kind="host"`` with an ``ip``) are listed with the switch and
    capacity of their access link, and the switch port when the link carries
    ``ports`` (``{node id: port number}``, as :mod:`topologies.base` writes it);
    other nodes without ``dpid`` are ignored. An undirected file gives each
    link's capacity to both directions.

    Raises
    ------
    ValueError
        If the file is not node-link JSON or a switch link has a bad capacity.
    """
    with open(path) as f:
        data = json.load(f)
    try:
        nodes = data["nodes"]
        links = data.get("links", data.get("edges"))
        if links is None:
            raise KeyError("links")
    except (KeyError, TypeError) as exc:
        raise ValueError(f"{path}: not networkx node-link JSON (missing {exc})") from None
    dpid_of = {n["id"]: int(n["dpid"]) for n in nodes if n.get("dpid") is not None}
    ip_of = {n["id"]: str(n["ip"]).split("/")[0] for n in nodes
             if n.get("kind") == "host" and n.get("ip") and n.get("dpid") is None}
    mac_of = {n["id"]: str(n["mac"]).lower() for n in nodes if n["id"] in ip_of and n.get("mac")}
    directed = bool(data.get("directed", False))
    capacity: dict = {}
    neighbours: dict = {}
    hosts = {ip: FileHost(str(name), None, None, mac_of.get(name)) for name, ip in ip_of.items()}
    for link in links:
        cap = link.get("capacity")
        if cap is not None:
            cap = float(cap)
            if not cap > 0:
                raise ValueError(f"{path}: link {link['source']}-{link['target']} has capacity {cap!r}, want > 0")
        ports = link.get("ports") if isinstance(link.get("ports"), dict) else {}
        for host, switch in ((link["source"], link["target"]), (link["target"], link["source"])):
            if host in ip_of and switch in dpid_of:
                port = ports.get(str(switch))
                hosts[ip_of[host]] = FileHost(str(host), dpid_of[switch], cap, mac_of.get(host),
                                              int(port) if isinstance(port, int) and port > 0 else None)
        a, b = dpid_of.get(link["source"]), dpid_of.get(link["target"])
        if a is None or b is None:
            continue
        if cap is not None:
            capacity[(a, b)] = cap
            if not directed:
                capacity.setdefault((b, a), cap)
        neighbours.setdefault(a, Counter())[b] += 1
        if not directed:
            neighbours.setdefault(b, Counter())[a] += 1
    names = {int(n["dpid"]): str(n["id"]) for n in nodes if n.get("dpid") is not None}
    return LinkInfo(capacity, neighbours, names, hosts)


@dataclass
class _Switch:
    connected_at: float
    ports: set  # live port numbers


class Fabric:
    """Switches, live ports, discovered links (per direction) and learned hosts."""

    def __init__(self, link_info: LinkInfo | None = None, default_capacity_bps: float = 1e9):
        self.link_info = link_info or LinkInfo()
        self.default_capacity_bps = default_capacity_bps
        self.switches: dict = {}  # dpid -> _Switch
        self.links: dict = {}  # (src_dpid, src_port) -> (dst_dpid, dst_port)
        self.hosts: dict = {}  # ip -> Host

    # --- switches and ports ----------------------------------------------------
    def add_switch(self, dpid: int, ports, now: float) -> None:
        """A switch connected with ``ports`` live. A switch that is back keeps its links and hosts."""
        self.switches[dpid] = _Switch(now, set(ports))

    def remove_switch(self, dpid: int) -> bool:
        if self.switches.pop(dpid, None) is None:
            return False
        self.links = {s: d for s, d in self.links.items() if s[0] != dpid and d[0] != dpid}
        self.hosts = {ip: h for ip, h in self.hosts.items() if h.dpid != dpid}
        return True

    def set_port(self, dpid: int, port: int, live: bool) -> bool:
        """Record a port's liveness; True if it changed."""
        sw = self.switches.get(dpid)
        if sw is None or (port in sw.ports) == live:
            return False
        if live:
            sw.ports.add(port)
        else:
            sw.ports.discard(port)
        return True

    # --- links -------------------------------------------------------------------
    def add_link(self, src: int, src_port: int, dst: int, dst_port: int) -> bool:
        """Record a discovered link ``src:src_port -> dst:dst_port``; True if anything changed.

        A host learned on either end is forgotten: that port is not host-facing.
        """
        if self.links.get((src, src_port)) == (dst, dst_port):
            return False
        self.links[(src, src_port)] = (dst, dst_port)
        self.hosts = {
            ip: h for ip, h in self.hosts.items() if (h.dpid, h.port) not in ((src, src_port), (dst, dst_port))
        }
        return True

    def remove_link(self, src: int, src_port: int) -> bool:
        return self.links.pop((src, src_port), None) is not None

    def link_ports(self, dpid: int) -> set:
        """Ports of ``dpid`` that are an end of a discovered link (either direction)."""
        ports = {p for (d, p) in self.links if d == dpid}
        ports.update(p for (d, p) in self.links.values() if d == dpid)
        return ports

    def host_ports(self, dpid: int) -> set:
        """Live ports of ``dpid`` that are not in any discovered link."""
        sw = self.switches.get(dpid)
        return set() if sw is None else sw.ports - self.link_ports(dpid)

    def is_settled(self, dpid: int, now: float, settle_s: float) -> bool:
        """Whether link discovery has had its chance at ``dpid``.

        True once every link the topology file expects at ``dpid`` was
        discovered, or ``settle_s`` after the switch connected: until then an
        inter-switch port may still look host-facing, and flooding onto it
        would loop.
        """
        sw = self.switches.get(dpid)
        if sw is None:
            return False
        return now - sw.connected_at >= settle_s or self.expected_links_seen(dpid)

    def expected_links_seen(self, dpid: int) -> bool:
        """Whether every link the topology file expects out of ``dpid`` was discovered (False if it expects none)."""
        expected = self.link_info.expected_neighbours.get(dpid)
        if not expected or dpid not in self.switches:
            return False
        seen = Counter(d for (s, _), (d, _) in self.links.items() if s == dpid)
        return all(seen[n] >= c for n, c in expected.items())

    def adjacency(self) -> dict:
        """``{(a, b): port on a}`` for every usable directed link between connected switches.

        Of parallel links the lowest port is used, so the choice is stable.
        """
        adj: dict = {}
        for (a, pa), (b, _) in sorted(self.links.items()):
            if a in self.switches and b in self.switches and pa in self.switches[a].ports:
                adj.setdefault((a, b), pa)
        return adj

    def graph(self) -> nx.DiGraph:
        """Directed switch graph with ``port`` (on the tail) and ``capacity`` (bit/s) on every arc."""
        g = nx.DiGraph()
        g.add_nodes_from(sorted(self.switches))
        for (a, b), port in sorted(self.adjacency().items()):
            g.add_edge(a, b, port=port, capacity=self.link_info.capacity(a, b, self.default_capacity_bps))
        return g

    # --- hosts -------------------------------------------------------------------
    def learn_host(self, ip: str, mac: str, dpid: int, port: int) -> bool:
        """Record a host seen at ``dpid:port``; True if that is new or it moved.

        Sightings on inter-switch ports and unknown switches are ignored.
        """
        if dpid not in self.switches or port in self.link_ports(dpid):
            return False
        host = Host(ip, mac, dpid, port)
        if self.hosts.get(ip) == host:
            return False
        self.hosts[ip] = host
        return True

    def place_file_hosts(self, dpid: int) -> int:
        """Locate the hosts the topology file puts on a live host port of ``dpid``; how many were new.

        They are routable before they send anything (a host that only receives is reachable),
        with the MAC address from the file, if it gives one (the ARP proxy answers for a host only
        once it knows its MAC). A host seen elsewhere is where it was seen.
        """
        placed = 0
        for ip, listed in sorted(self.link_info.hosts.items()):
            if listed.dpid != dpid or listed.port is None or ip in self.hosts:
                continue
            sw = self.switches.get(dpid)
            if sw is not None and listed.port in sw.ports:
                placed += self.learn_host(ip, listed.mac or "", dpid, listed.port)
        return placed

    def host_switches(self) -> set:
        return {h.dpid for h in self.hosts.values() if h.dpid in self.switches}
