"""The ECMP baseline: the desired switch state that connects every pair of known hosts.

Pipeline on every switch::

    table 0 (FABRIC)  ARP            -> controller       (answered by the controller, never flooded)
                      IPv6           -> drop             (noise that would otherwise reach the controller)
                      MPLS label L   -> output next hop  (transit)   | pop, goto ROUTE (egress)
                      IPv4           -> goto ROUTE
                      anything else  -> drop
    table 1 (ROUTE)   ipv4_dst = local host  -> output host port
                      ipv4_dst = remote host -> SELECT group of the egress switch
                                                (one bucket per equal-cost path: push label, output;
                                                 a failed path's bucket stays, lent to another path)
                      IPv4 multicast/broadcast -> drop
                      miss           -> controller (learn the sender, probe the destination)
"""
from __future__ import annotations

from .pipeline import (
    COOKIE_CONTROL, COOKIE_ROUTE, PRIO_CONTROL, PRIO_DEFAULT, PRIO_MISS, PRIO_NOISE, PRIO_ROUTE, TABLE_FABRIC,
    TABLE_ROUTE,
)
from .specs import (
    ETH_TYPE_ARP, ETH_TYPE_IPV4, ETH_TYPE_IPV6, GROUP_SELECT, FlowSpec, GroupSpec, Output, State, ToController, ToGroup,
    match,
)
from .tunnels import tunnel_bucket, tunnel_flows

NO_BUFFER = 0xFFFF  # OFPCML_NO_BUFFER: the whole packet comes to the controller
IPV4_PROBE_LEN = 128  # headers are enough to learn the sender and the destination


def control_flows(dpid: int) -> list:
    """Flows every switch has regardless of hosts and paths."""
    ipv4 = dict(eth_type=ETH_TYPE_IPV4)
    return [
        FlowSpec(dpid, TABLE_FABRIC, PRIO_CONTROL, match(eth_type=ETH_TYPE_ARP), (ToController(NO_BUFFER),),
                 cookie=COOKIE_CONTROL),
        FlowSpec(dpid, TABLE_FABRIC, PRIO_CONTROL, match(eth_type=ETH_TYPE_IPV6), cookie=COOKIE_CONTROL),
        FlowSpec(dpid, TABLE_FABRIC, PRIO_DEFAULT, match(**ipv4), goto_table=TABLE_ROUTE, cookie=COOKIE_CONTROL),
        FlowSpec(dpid, TABLE_FABRIC, PRIO_MISS, match(), cookie=COOKIE_CONTROL),
        FlowSpec(dpid, TABLE_ROUTE, PRIO_NOISE, match(ipv4_dst=("224.0.0.0", "240.0.0.0"), **ipv4),
                 cookie=COOKIE_CONTROL),
        FlowSpec(dpid, TABLE_ROUTE, PRIO_NOISE, match(ipv4_dst="255.255.255.255", **ipv4), cookie=COOKIE_CONTROL),
        FlowSpec(dpid, TABLE_ROUTE, PRIO_MISS, match(), (ToController(IPV4_PROBE_LEN),), cookie=COOKIE_CONTROL),
    ]


def host_pairs(fabric) -> set:
    """(ingress, egress) switch pairs that both have known hosts."""
    edge = fabric.host_switches()
    return {(a, b) for a in edge for b in edge if a != b}


def compile_baseline(switches, hosts, tunnels: dict, group_ids) -> State:
    """Desired state for ECMP between every pair of known hosts.

    Parameters
    ----------
    switches : iterable of int
        Connected dpids.
    hosts : iterable of Host
        Known hosts (hosts on switches not in ``switches`` are ignored).
    tunnels : dict
        ``{(ingress, egress): tuple of Tunnel}`` from :class:`controller.tunnels.TunnelPlanner`, one per
        bucket in bucket order (a tunnel may appear twice).
    group_ids : IdAllocator
        Stable group id per egress switch (the same id on every ingress switch).
        Keys not used in this state are released.

    Returns
    -------
    State
    """
    switches = set(switches)
    hosts = [h for h in hosts if h.dpid in switches]
    specs = [f for dpid in sorted(switches) for f in control_flows(dpid)]
    for h in hosts:
        specs.append(FlowSpec(h.dpid, TABLE_ROUTE, PRIO_ROUTE, match(eth_type=ETH_TYPE_IPV4, ipv4_dst=h.ip),
                              (Output(h.port),), cookie=COOKIE_ROUTE))
    used_egress = sorted({dst for (src, dst), ts in tunnels.items() if ts and src in switches and dst in switches})
    group_ids.retain(used_egress)
    tunnels_used = set()
    for (src, dst), ts in sorted(tunnels.items()):
        if not ts or src not in switches or dst not in switches:
            continue
        gid = group_ids.get(dst)
        specs.append(GroupSpec(src, gid, GROUP_SELECT, tuple(tunnel_bucket(t) for t in ts)))
        for h in hosts:
            if h.dpid == dst:
                specs.append(FlowSpec(src, TABLE_ROUTE, PRIO_ROUTE, match(eth_type=ETH_TYPE_IPV4, ipv4_dst=h.ip),
                                      (ToGroup(gid),), cookie=COOKIE_ROUTE))
        tunnels_used.update(ts)
    for t in sorted(tunnels_used, key=lambda t: t.label):
        specs.extend(tunnel_flows(t))
    return State.of(specs)
