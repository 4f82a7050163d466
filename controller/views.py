"""What the REST API and the metrics show: allocations, links and topology as JSON-able views.

Plain code over the core's state (:mod:`controller.te_plan`, :mod:`controller.topology`); the
shapes are the schemas of ``controller/openapi.yaml``.
"""
from __future__ import annotations

from .te_plan import Allocation, Plan, switch_node

UNROUTABLE = "unroutable"
PENDING = "pending"
INSTALLED = "installed"
PARTIAL = "partial"
DEGRADED = "degraded"


def allocation_state(allocation: Allocation | None, current_version: int, confirmed: bool) -> str:
    """``pending``, ``installed``, ``partial``, ``degraded`` (a guaranteed intent given less than its rate)
    or ``unroutable`` (see docs/openapi.yaml).

    >>> from controller.intents import Intent
    >>> i = Intent("1", "10.0.0.1", "10.0.0.2", 4e6)
    >>> allocation_state(Allocation(i, 4e6), 1, True), allocation_state(Allocation(i, 3e6), 1, True)
    ('installed', 'partial')
    >>> allocation_state(Allocation(i, 4e6), 2, True), allocation_state(None, 1, False)
    ('pending', 'pending')
    """
    if allocation is None or allocation.intent.version != current_version:
        return PENDING
    if not allocation.routable:
        return UNROUTABLE
    if not confirmed:
        return PENDING
    if allocation.degraded:
        return DEGRADED
    return INSTALLED if allocation.allocated_bps >= allocation.intent.rate_bps * (1 - 1e-6) else PARTIAL


def allocation_views(intents, te_plan: Plan, installed: dict, times: dict, measured: dict | None = None) -> list:
    """The ``Allocation`` objects of GET /te/v1/allocations, in intent order.

    ``installed`` maps intent id to ``[(PathShare, label, weight), ...]`` as compiled;
    ``times`` maps intent id to ``(computed_at, installed_at)`` of its current allocation
    (Unix time; ``installed_at`` None until the switches confirmed it); ``measured`` maps
    intent id to the rate its meter passed (bit/s; missing until measured).
    """
    measured = measured or {}
    out = []
    for intent in intents:
        a = te_plan.allocation(intent.id)
        computed_at, installed_at = times.get(intent.id, (None, None))
        state = allocation_state(a, intent.version, installed_at is not None)
        current = a is not None and a.intent.version == intent.version
        paths = [{"switches": [switch_node(d) for d in share.dpids], "rate_bps": share.rate_bps, "weight": weight,
                  "label": label} for share, label, weight in installed.get(intent.id, ())] if current else []
        view = {"intent_id": intent.id, "name": intent.name, "version": intent.version, "state": state,
                "class": intent.service_class, "group": intent.group,
                "requested_bps": intent.rate_bps, "allocated_bps": a.allocated_bps if current else 0.0,
                "measured_bps": measured.get(intent.id),
                "paths": paths, "computed_at": computed_at if current else None,
                "installed_at": installed_at if current and state in (INSTALLED, PARTIAL, DEGRADED) else None}
        if current and a.reason:
            view["reason"] = a.reason
        if current and a.degraded:
            view["shortfall_bps"] = intent.rate_bps - a.allocated_bps
            view["short_links"] = list(a.short_links)
        out.append(view)
    return out


def class_views(intents, allocations: list, groups: dict, dscp) -> dict:
    """``GET /te/v1/classes``: per service class and per group, what is asked, allocated and measured.

    ``allocations`` are :func:`allocation_views`; ``dscp`` a :class:`controller.compile_te.DscpPolicy`.

    >>> from controller.intents import parse_intent
    >>> from controller.compile_te import DscpPolicy
    >>> i = parse_intent({"src": "10.0.0.1", "dst": "10.0.0.2", "rate_bps": 4e6, "class": "guaranteed"}, "1")
    >>> view = class_views([i], [{"intent_id": "1", "state": "degraded", "allocated_bps": 3e6, "measured_bps": None}],
    ...                    {}, DscpPolicy())
    >>> view["classes"][1]
    {'class': 'guaranteed', 'dscp': 46, 'intents': 1, 'degraded': 1, 'requested_bps': 4000000.0, 'allocated_bps': 3000000.0, 'measured_bps': None}
    """
    from .intents import CLASSES, GUARANTEED

    by_id = {a["intent_id"]: a for a in allocations}

    def totals(members):
        views = [by_id.get(i.id, {}) for i in members]
        measured = [v.get("measured_bps") for v in views if v.get("measured_bps") is not None]
        return {"intents": len(members), "degraded": sum(1 for v in views if v.get("state") == DEGRADED),
                "requested_bps": sum(i.rate_bps for i in members),
                "allocated_bps": sum(v.get("allocated_bps", 0.0) for v in views),
                "measured_bps": sum(measured) if measured else None}

    classes = [{"class": c, "dscp": dscp.guaranteed if c == GUARANTEED else None,
                **totals([i for i in intents if i.service_class == c])} for c in CLASSES]
    classes[0]["dscp_by_priority"] = list(dscp.by_priority)
    out_groups = [{**g.as_dict(), **totals([i for i in intents if i.group == name])} for name, g in groups.items()]
    return {"classes": classes, "groups": out_groups}


def elephant_views(elephants, placements: dict) -> list:
    """The ``Elephant`` objects of GET /te/v1/elephants: every detected flow, oldest first, with its
    measured rate, estimated natural demand and where it was placed (``state``: ``placed``, or why it
    stays on ECMP: ``no-room``, ``intent``, ``local``, ``unlocated``, ``new`` until the next placement)."""
    out = []
    for e in elephants:
        p = placements.get(e.key)
        out.append({**e.key.as_dict(), "ingress": switch_node(e.dpid), "rate_bps": e.rate_bps, "detected_by": e.reason,
                    "demand_bps": p.demand_bps if p is not None else None,
                    "reserved_bps": p.share.rate_bps if p is not None and p.share else None,
                    "state": p.state if p is not None else "new",
                    "switches": [switch_node(d) for d in p.share.dpids] if p is not None and p.share else []})
    return out


def topology_view(fabric) -> dict:
    """The body of GET /te/v1/topology."""
    names = fabric.link_info.switch_names
    switches = [{"dpid": switch_node(d), **({"name": names[d]} if d in names else {})} for d in sorted(fabric.switches)]
    links = [{"src": switch_node(a), "src_port": pa, "dst": switch_node(b), "dst_port": pb,
              "capacity_bps": fabric.link_info.capacity(a, b, fabric.default_capacity_bps)}
             for (a, pa), (b, pb) in sorted(fabric.links.items()) if a in fabric.switches and b in fabric.switches]
    hosts = [{"ip": h.ip, "mac": h.mac, "dpid": switch_node(h.dpid), "port": h.port}
             for _, h in sorted(fabric.hosts.items())]
    return {"switches": switches, "links": links, "hosts": hosts}


def link_views(fabric, te_plan: Plan, measured_bps: dict) -> list:
    """The links of GET /te/v1/links: every usable directed link with capacity and loads.

    ``measured_bps`` maps ``(dpid, port)`` to the transmit rate measured on that port.
    """
    out = []
    for (a, b), port in sorted(fabric.adjacency().items()):
        capacity = fabric.link_info.capacity(a, b, fabric.default_capacity_bps)
        measured = measured_bps.get((a, port))
        dst_port = fabric.links.get((a, port), (b, None))[1]
        out.append({"src": switch_node(a), "src_port": port, "dst": switch_node(b), "dst_port": dst_port,
                    "capacity_bps": capacity, "planned_load_bps": te_plan.load_bps.get((a, b), 0.0),
                    "measured_load_bps": measured,
                    "utilization": None if measured is None else measured / capacity})
    return out
