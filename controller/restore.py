"""A restarted controller adopts what the switches still hold instead of wiping it.

Open vSwitch in fail-mode secure keeps its flows, groups and meters while the
controller is away, so traffic keeps flowing. On reconnect the app reads them back
(:class:`Readback`, parsed by :mod:`controller.ofmsg`), takes them as the installed
state, and before the first recomputation learns from them what it forgot:

- the hosts (:func:`hosts_from_routes`): a route that outputs to a port delivers to
  a host on that port, and hosts with established traffic never send a packet-in;
- the ids it chose (:func:`id_hints`): MPLS labels per tunnel path, ECMP group ids per
  egress switch, TE group and meter ids per intent (given to :meth:`controller.ids.IdSpace.adopt`),
  and the paths of the ECMP groups' buckets in order (given to :meth:`controller.tunnels.TunnelPlanner.adopt`,
  so that bucket positions, and with them the flows' paths, stay as they are).
  Fresh allocators would number things differently, and every renumbered entry is a delete plus an add.

With the same intents and topology the first recomputation then sends no change at all.
Plain code: no Ryu, no clock.
"""
from __future__ import annotations

from .ids import IdHints
from .pipeline import (
    COOKIE_ROUTE, KIND_INTENT, OWNER_TE, PRIO_ROUTE, PRIO_TUNNEL, TABLE_FABRIC, TABLE_ROUTE, decode_cookie, is_te_label,
)
from .specs import ETH_TYPE_MPLS, FlowSpec, Output, PopMpls, PushMpls, SetField, ToGroup  # noqa: F401  (FlowSpec: the doctest)
from .topology import Host

PARTS = ("flows", "groups", "meters")
MAX_HOPS = 256  # a walk along a tunnel longer than this is a loop in what was read back


class Readback:
    """The parts of one switch's read-back as they arrive (multipart replies may come in pieces)."""

    def __init__(self):
        self.specs: list = []
        self.pending = set(PARTS)

    def add(self, part: str, specs, last: bool) -> bool:
        """Add specs of ``part``; ``last`` when its final reply came. True once every part is complete."""
        self.specs.extend(specs)
        if last:
            self.pending.discard(part)
        return not self.pending


def hosts_from_routes(flows, macs: dict) -> list:
    """Hosts that the baseline routes deliver to: ``ipv4_dst`` -> output port is a host at that port.

    ``macs`` maps IPv4 addresses to MAC addresses known otherwise (the topology file); a host
    without one gets ``mac=""`` until it is seen (the ARP proxy does not answer for it meanwhile).

    >>> from controller.specs import match
    >>> f = FlowSpec(3, TABLE_ROUTE, PRIO_ROUTE, match(eth_type=0x0800, ipv4_dst="10.0.0.3"), (Output(1),),
    ...              cookie=COOKIE_ROUTE)
    >>> hosts_from_routes([f], {"10.0.0.3": "00:00:00:00:00:03"})
    [Host(ip='10.0.0.3', mac='00:00:00:00:00:03', dpid=3, port=1)]
    """
    hosts = []
    for f in flows:
        if (f.cookie, f.table_id, f.priority) != (COOKIE_ROUTE, TABLE_ROUTE, PRIO_ROUTE) or len(f.actions) != 1:
            continue
        ip, out = dict(f.match).get("ipv4_dst"), f.actions[0]
        if isinstance(ip, str) and isinstance(out, Output):
            hosts.append(Host(ip, macs.get(ip) or "", f.dpid, out.port))
    return sorted(hosts, key=lambda h: (h.ip, h.dpid, h.port))


def _tunnel_start(bucket):
    """``(label, first out port)`` of a bucket that pushes a label and outputs, else None."""
    acts = bucket.actions
    if len(acts) == 3 and isinstance(acts[0], PushMpls) and isinstance(acts[1], SetField) \
            and acts[1].field == "mpls_label" and isinstance(acts[2], Output):
        return acts[1].value, acts[2].port
    return None


def id_hints(state, links: dict) -> IdHints:
    """What ids the switches use, from their read-back state and the discovered links.

    Parameters
    ----------
    state : controller.specs.State
        Entries read back from the switches.
    links : dict
        ``{(src_dpid, src_port): (dst_dpid, dst_port)}`` (:attr:`controller.topology.Fabric.links`).

    A tunnel is followed from the ingress bucket that pushes its label, along the links and
    the label-switching rules, to the switch that pops it; its key is the path as
    :class:`controller.tunnels.Tunnel` hops. A tunnel that cannot be followed gives no hint
    (its rules are then replaced like any other difference).
    """
    transit, pops = {}, set()
    for f in state.flows():
        m = dict(f.match)
        if (f.table_id, f.priority, m.get("eth_type")) != (TABLE_FABRIC, PRIO_TUNNEL, ETH_TYPE_MPLS):
            continue
        label = m.get("mpls_label")
        if len(f.actions) == 1 and isinstance(f.actions[0], Output):
            transit[(f.dpid, label)] = f.actions[0].port
        elif len(f.actions) == 1 and isinstance(f.actions[0], PopMpls):
            pops.add((f.dpid, label))

    def follow(ingress, port, label):
        hops = [(ingress, port)]
        while len(hops) <= MAX_HOPS:
            nxt = links.get(hops[-1])
            if nxt is None:
                return None
            dpid = nxt[0]
            if (dpid, label) in pops:
                return tuple(hops), dpid
            if (dpid, label) not in transit:
                return None
            hops.append((dpid, transit[(dpid, label)]))
        return None

    hints = IdHints()
    group_keys = {}  # (dpid, group id) -> path key of every bucket, where every bucket could be followed
    for g in state.groups():
        egresses, keys = set(), []
        for b in g.buckets:
            start = _tunnel_start(b)
            key = start and follow(g.dpid, start[1], start[0])
            if key is None:
                egresses.add(None)
                continue
            te_tunnel = is_te_label(start[0])
            (hints.te_labels if te_tunnel else hints.ecmp_labels)[key] = start[0]
            egresses.add(None if te_tunnel else key[1])
            keys.append(key)
        if None in egresses and keys and len(keys) == len(g.buckets):  # a TE group: every bucket a TE tunnel
            group_keys[(g.dpid, g.group_id)] = tuple(keys)
        if len(egresses) == 1 and None not in egresses:  # an ECMP group: every bucket towards one egress
            egress = egresses.pop()
            hints.ecmp_groups[egress] = g.group_id
            hints.ecmp_slots[(g.dpid, egress)] = keys  # a path lent a failed path's bucket appears twice
    for f in state.flows():
        owner = decode_cookie(f.cookie)
        if owner is None or (owner.owner, owner.kind) != (OWNER_TE, KIND_INTENT):
            continue
        intent_id = owner.intent
        groups = [a.group_id for a in f.actions if isinstance(a, ToGroup)]
        if len(groups) == 1:
            hints.te_groups[intent_id] = groups[0]
            if (f.dpid, groups[0]) in group_keys:
                hints.te_slots[intent_id] = group_keys[(f.dpid, groups[0])]
        if f.meter_id is not None:
            hints.te_meters[intent_id] = f.meter_id
    return hints
