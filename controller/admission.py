"""Admission control of guaranteed intents: admitted only if every guaranteed intent fits in full.

Plain code (no Ryu): the registry (:class:`controller.intents.IntentRegistry`) calls :func:`admit`
through the core before it accepts a guaranteed intent that asks for more (a new one, a higher
rate or burst, other ends); a refusal is :class:`controller.intents.AdmissionRefused` (409) naming
the links that would overflow and the largest rate that would fit, and nothing changes.

The test is exact over all paths: min-MLU routing of every guaranteed intent at its full rate on the
current topology, every link at ``1 - headroom`` of its capacity (:func:`controller.te_plan.overflow`);
they fit when no link is above capacity. The largest rate that fits is the max-min rate of the
asking intent below every other guaranteed intent at its full rate (a strict lower class). Bursts
(``burst_bytes``, the intent's token bucket) of the guaranteed intents whose min-MLU paths cross
a link must drain at the link's capacity within ``burst_window_s``.
"""
from __future__ import annotations

import networkx as nx

import te
from te.errors import TEError

from .intents import AdmissionRefused
from .te_plan import FULL_RTOL, min_mlu, overflow, te_graph


def _name(node: str) -> str:
    return node.split(":")[0]


def _link_text(link: dict) -> str:
    return (f"{link['src']}->{link['dst']} (needs {link['needed_bps']:.4g} of {link['capacity_bps']:.4g} "
            "bit/s)")


def admit(fabric, headroom: float, intents, asking, k="auto", max_paths=None, burst_window_s: float = 0.1) -> None:
    """Raise :class:`AdmissionRefused` unless every guaranteed intent of ``intents`` fits in full.

    Parameters
    ----------
    fabric : controller.topology.Fabric
    headroom : float
        Fraction of each link kept free (the TE loop's ``te_headroom``).
    intents : sequence of controller.intents.Intent
        The intents as they would be after the change.
    asking : sequence of controller.intents.Intent
        The guaranteed intents of the change that ask for more (named in the refusal).
    k, max_paths :
        Paths, as for :func:`controller.te_plan.plan`.
    burst_window_s : float
        Seconds within which the bursts crossing a link must drain.
    """
    first = asking[0]
    for intent in asking:
        for end in ("src", "dst"):
            host = fabric.hosts.get(getattr(intent, end))
            if host is None or host.dpid not in fabric.switches:
                raise AdmissionRefused(f"a guaranteed intent needs located hosts, and {end} {getattr(intent, end)} "
                                       "is not located yet (it has not sent a packet, or its switch is down)", end,
                                       {"largest_fitting_bps": 0.0, "links": []})
    g = te_graph(fabric, headroom)
    located = [i for i in intents if i.guaranteed and all(
        (h := fabric.hosts.get(ip)) is not None and h.dpid in fabric.switches for ip in (i.src, i.dst))]
    for intent in asking:
        if not nx.has_path(g, intent.src, intent.dst):
            raise AdmissionRefused(f"no path from {intent.src} to {intent.dst} on the current topology", "dst",
                                   {"largest_fitting_bps": 0.0, "links": []})
    demands = [te.Demand(i.id, i.src, i.dst, i.rate_bps) for i in located]
    try:
        routing = min_mlu(g, demands, k, max_paths)  # decides the overflow and where the bursts go
        short = overflow(g, routing)
    except TEError as exc:
        raise AdmissionRefused(f"admission could not be decided: {exc}", "rate_bps",
                               {"largest_fitting_bps": None, "links": []}) from None
    if short:
        fits = largest_fitting(g, located, first, k, max_paths)
        others = len(located) - len(asking)
        raise AdmissionRefused(
            f"guaranteed {first.rate_bps:.4g} bit/s from {first.src} to {first.dst} does not fit with the {others} "
            f"other guaranteed intent{'s' if others != 1 else ''}: link {_link_text(short[0])}"
            + (f" and {len(short) - 1} more link(s)" if len(short) > 1 else "")
            + f"; at most {fits:.4g} bit/s would fit", "rate_bps", {"largest_fitting_bps": fits, "links": short})
    _check_bursts(g, routing, located, asking, burst_window_s, headroom)


def largest_fitting(g, located, intent, k="auto", max_paths=None) -> float:
    """The largest rate of ``intent`` (one of ``located``) with every other guaranteed intent at its rate: 0 when
    they do not fit without it."""
    others = [te.Demand(i.id, i.src, i.dst, i.rate_bps, priority=1) for i in located if i.id != intent.id]
    mine = te.Demand(intent.id, intent.src, intent.dst, intent.rate_bps, priority=0)
    try:
        if others and overflow(g, min_mlu(g, others, k, max_paths)):
            return 0.0
        sol = te.solve(g, others + [mine], objective="max-min", k=k, max_paths=max_paths if k == "auto" else None)
    except TEError:
        return 0.0
    return float(sol.allocated_bps[-1]) * (1 - FULL_RTOL)  # what surely fits, below the LP's tolerance


def _check_bursts(g, sol, located, asking, window_s: float, headroom: float) -> None:
    """Refuse when the bursts of the guaranteed intents crossing a link (on their paths in ``sol``, the min-MLU
    routing of ``located``) exceed what it drains in ``window_s`` at its full capacity (``g`` holds
    ``1 - headroom`` of it)."""
    bursty = [i for i in located if i.burst_bytes]
    if not any(i.burst_bytes for i in asking):
        return
    index = {i.id: n for n, i in enumerate(located)}
    bits: dict = {}
    for intent in bursty:
        arcs = {arc for path, rate in sol.routes(index[intent.id]) if rate > 0 for arc in zip(path, path[1:])}
        for arc in arcs:
            bits[arc] = bits.get(arc, 0.0) + intent.burst_bytes * 8
    for (u, v), total in sorted(bits.items(), key=lambda kv: -kv[1] / g[kv[0][0]][kv[0][1]]["capacity"]):
        drains = g[u][v]["capacity"] / (1.0 - headroom) * window_s
        if total > drains:
            mine = [i for i in asking if i.burst_bytes]
            raise AdmissionRefused(
                f"burst_bytes: the bursts of the guaranteed intents crossing {_name(u)}->{_name(v)} add up to "
                f"{total / 8:.0f} bytes, more than the {drains / 8:.0f} bytes it drains in {window_s * 1000:.0f} ms "
                "(te_burst_window_ms)", "burst_bytes",
                {"largest_fitting_bps": None, "links": [{"src": _name(u), "dst": _name(v),
                                                         "burst_bytes": total / 8, "drains_bytes": drains / 8}],
                 "intent": mine[0].id})


__all__ = ["admit", "largest_fitting"]
