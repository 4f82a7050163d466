"""Translate a TE plan into desired switch state: classifier, meter, WCMP group and tunnels per intent.

For an intent routed over the fabric, on its ingress switch::

    table 1 (ROUTE), priority PRIO_TE + (number of match fields given):
        in_port = src host port, IPv4, ipv4_src, ipv4_dst [, ip_proto, tcp/udp ports]
        -> meter (allocated rate, drop band; burst from the intent's burst_bytes or te_meter_burst_ms)
        -> set ip_dscp (the intent's, else its class's: :class:`DscpPolicy`) -> SELECT group of the intent
    group: one bucket for a single path; for a split, ``te_wcmp_budget`` buckets of weight 1, each
           a slot given to a path in proportion to its rate (te.wcmp.apportion) and kept by that
           path across recomputations (te.wcmp.reassign_slots): when a path fails only its slots,
           and so only its flows, move. Each bucket pushes its path's MPLS label and outputs to
           the first hop, and watches that port: when the first link of a path goes down, the
           switch skips its buckets and the surviving paths take its traffic in proportion to
           their slots at once (local rescaling, what FFC allocations are computed for)

and on every other switch of each path the label-switching rules of that tunnel
(:func:`controller.tunnels.tunnel_flows`): transit switches forward on the label,
the egress switch pops it and delivers by destination as for any packet.

TE tunnels are labelled per switch path from their own label range, shared by the
intents that use the same path and independent of the ECMP tunnels: ECMP
recomputation never moves a label under an intent, and deleting every intent
removes exactly the TE rules (all with OWNER_TE cookies), leaving the baseline.

An intent between two hosts on one switch gets classifier -> meter -> host port.
An intent routed with an allocation of 0 (starved by higher priorities) gets a
classifier that drops: the switches enforce the plan. Unroutable intents get
nothing, so their traffic keeps the ECMP baseline (which has no path either).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from te.wcmp import apportion, reassign_slots

from .pipeline import COOKIE_ELEPHANT, PRIO_ELEPHANT, PRIO_TE, TABLE_ROUTE, intent_cookie, tunnel_cookie
from .specs import ETH_TYPE_IPV4, GROUP_SELECT, FlowSpec, GroupSpec, MeterSpec, Output, SetField, ToGroup, match
from .tunnels import Tunnel, tunnel_bucket, tunnel_flows

FULL_FRAME_BITS = 1514 * 8
MIN_BURST_FRAMES = 16

_L4_FIELDS = {6: ("tcp_src", "tcp_dst"), 17: ("udp_src", "udp_dst")}


@dataclass(frozen=True)
class DscpPolicy:
    """The DiffServ code point each intent's packets get at the ingress switch (RFC 4594 names).

    ``guaranteed`` for guaranteed intents (EF, 46, by default); best-effort ones by priority 0-7
    (``by_priority[p]``: CS0, then AF11, AF21, AF31 and AF41 upwards). An intent's own ``dscp`` wins.

    >>> from controller.intents import parse_intent
    >>> policy = DscpPolicy()
    >>> [policy.of(parse_intent({"src": "10.0.0.1", "dst": "10.0.0.2", "rate_bps": 1e6, **extra}, "1"))
    ...  for extra in ({}, {"priority": 3}, {"class": "guaranteed"}, {"class": "guaranteed", "dscp": 40})]
    [0, 26, 46, 40]
    """

    guaranteed: int = 46
    by_priority: tuple = (0, 10, 18, 26, 34, 34, 34, 34)

    def of(self, intent) -> int:
        if intent.dscp is not None:
            return intent.dscp
        return self.guaranteed if intent.guaranteed else self.by_priority[intent.priority]


def parse_dscp_list(text: str) -> tuple:
    """``te_dscp_priorities``: eight DSCP values (0-63), for best-effort priorities 0 to 7.

    >>> parse_dscp_list("0,10,18,26,34,34,34,46")
    (0, 10, 18, 26, 34, 34, 34, 46)
    >>> parse_dscp_list("0,10")
    Traceback (most recent call last):
    ...
    ValueError: te_dscp_priorities must be 8 comma-separated DSCP values (0-63), one per priority 0-7, got '0,10'
    """
    try:
        values = tuple(int(v) for v in text.split(","))
    except ValueError:
        values = ()
    if len(values) != 8 or not all(0 <= v <= 63 for v in values):
        raise ValueError(f"te_dscp_priorities must be 8 comma-separated DSCP values (0-63), one per priority 0-7, "
                         f"got {text!r}")
    return values


def classifier_match(intent, in_port: int):
    """The OpenFlow match of an intent's traffic as it enters from its source host."""
    fields = dict(in_port=in_port, eth_type=ETH_TYPE_IPV4, ipv4_src=intent.src, ipv4_dst=intent.dst)
    m = intent.match
    if m.ip_proto is not None:
        fields["ip_proto"] = m.ip_proto
        src_field, dst_field = _L4_FIELDS.get(m.ip_proto, (None, None))
        if m.tp_src is not None:
            fields[src_field] = m.tp_src
        if m.tp_dst is not None:
            fields[dst_field] = m.tp_dst
    return match(**fields)


def classifier_priority(intent) -> int:
    """More specific intents win over broader ones between the same hosts."""
    return PRIO_TE + len(intent.match.as_dict())


def meter_for(dpid: int, meter_id: int, rate_bps: float, burst_ms: float, burst_bytes: int | None = None) -> MeterSpec:
    """A drop meter at ``rate_bps`` with a burst of ``burst_bytes`` (an intent's token bucket), else of
    ``burst_ms`` of that rate, at least 16 full frames.

    OVS takes burst 0 as one second of the rate (short measurements read high) and a
    burst of a few frames starves TCP, whose windows arrive as bursts. The rate is rounded down to
    whole kbit/s, so meters never let through more than was allocated (a group's cap holds on the
    sum of its intents' meters).

    >>> meter_for(1, 5, 4e6, 50)
    MeterSpec(dpid=1, meter_id=5, rate_kbps=4000, burst_kb=200)
    >>> meter_for(1, 5, 1e6, 50).burst_kb, meter_for(1, 5, 1666666.7, 50).rate_kbps
    (194, 1666)
    >>> meter_for(1, 5, 4e6, 50, burst_bytes=100_000).burst_kb
    800
    """
    rate_kbps = max(1, math.floor(rate_bps / 1000 * (1 + 1e-9)))
    if burst_bytes is not None:
        return MeterSpec(dpid, meter_id, rate_kbps, max(1, math.ceil(burst_bytes * 8 / 1000)))
    burst_kb = max(math.ceil(rate_kbps * burst_ms / 1000), math.ceil(MIN_BURST_FRAMES * FULL_FRAME_BITS / 1000))
    return MeterSpec(dpid, meter_id, rate_kbps, burst_kb)


def compile_te(te_plan, ids, budget: int = 64, burst_ms: float = 50.0, steered=(), dscp: DscpPolicy = DscpPolicy()):
    """Desired state for every routed intent of ``te_plan``.

    Parameters
    ----------
    te_plan : controller.te_plan.Plan
    ids : controller.ids.IdSpace
        Its ``te_labels`` (per switch path), ``te_groups`` and ``te_meters`` (per intent id) give
        stable ids. Keys not used by this plan are released.
    budget : int
        Buckets (slots) of the group of a split intent.
    burst_ms : float
        Meter burst of intents without ``burst_bytes`` (see :func:`meter_for`).
    steered : iterable of (match, PathShare, meter key, rate)
        Single flows to send down one path each (placed elephants, :mod:`controller.elephants`):
        a rule at the path's ingress switch (PRIO_ELEPHANT) that meters the flow at ``rate`` (bit/s)
        and pushes the path's tunnel label; the meter id is ``te_meters``' for ``meter key``.
    dscp : DscpPolicy
        The code point every routed intent's packets are marked with.

    Returns
    -------
    (list, dict)
        The specs, and per intent id ``[(PathShare, label or None, weight), ...]`` as installed.
    """
    labels, group_ids, meter_ids = ids.te_labels, ids.te_groups, ids.te_meters
    specs, installed, tunnels = [], {}, {}
    used_paths, used_intents = [], []
    for a in te_plan.allocations:
        if not a.routable or a.src is None or a.dst is None:
            continue
        intent, ingress = a.intent, a.src.dpid
        classify = dict(dpid=ingress, table_id=TABLE_ROUTE, priority=classifier_priority(intent),
                        match=classifier_match(intent, a.src.port), cookie=intent_cookie(intent.id, intent.version))
        if not a.paths:
            specs.append(FlowSpec(**classify))  # starved: drop
            installed[intent.id] = []
            continue
        used_intents.append(intent.id)
        meter_id = meter_ids.get(intent.id)
        specs.append(meter_for(ingress, meter_id, a.allocated_bps, burst_ms, intent.burst_bytes))
        mark = SetField("ip_dscp", dscp.of(intent))
        if a.src.dpid == a.dst.dpid:
            specs.append(FlowSpec(**classify, actions=(mark, Output(a.dst.port)), meter_id=meter_id))
            installed[intent.id] = [(a.paths[0], None, 1)]
            continue
        keys = [(share.hops, share.dpids[-1]) for share in a.paths]
        for share, key in zip(a.paths, keys):
            used_paths.append(key)
            tunnels[key] = tunnels.get(key) or Tunnel(labels.get(key), share.hops, share.dpids[-1])
        if len(a.paths) == 1:
            slots = (keys[0],)
        else:  # a fixed number of slots, each a bucket: a failed path's slots move, nobody else's
            counts = dict(zip(keys, apportion([s.rate_bps for s in a.paths], budget)))
            slots = reassign_slots(ids.te_slots.get(intent.id, ()), counts)
        ids.te_slots[intent.id] = slots
        buckets = [tunnel_bucket(tunnels[key], watch=True) for key in slots]
        shown = [(share, tunnels[key].label, slots.count(key)) for share, key in zip(a.paths, keys)]
        group_id = group_ids.get(intent.id)
        specs.append(GroupSpec(ingress, group_id, GROUP_SELECT, tuple(buckets)))
        specs.append(FlowSpec(**classify, actions=(mark, ToGroup(group_id)), meter_id=meter_id))
        installed[intent.id] = shown
    for flow_match, share, meter_key, rate_bps in steered:
        key = (share.hops, share.dpids[-1])
        used_paths.append(key)
        used_intents.append(meter_key)
        tunnel = tunnels.get(key) or Tunnel(labels.get(key), share.hops, share.dpids[-1])
        tunnels[key] = tunnel
        meter_id = meter_ids.get(meter_key)
        specs.append(meter_for(tunnel.ingress, meter_id, rate_bps, burst_ms))
        specs.append(FlowSpec(tunnel.ingress, TABLE_ROUTE, PRIO_ELEPHANT, flow_match, tunnel_bucket(tunnel).actions,
                              meter_id=meter_id, cookie=COOKIE_ELEPHANT))
    for tunnel in sorted(tunnels.values(), key=lambda t: t.label):
        specs.extend(tunnel_flows(tunnel, tunnel_cookie(tunnel.label)))
    labels.retain(used_paths)
    group_ids.retain(used_intents)
    meter_ids.retain(used_intents)
    ids.te_slots = {i: v for i, v in ids.te_slots.items() if i in set(used_intents)}
    return specs, installed
