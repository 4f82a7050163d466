"""A small fake OpenFlow pipeline for unit tests: switch tables that changes are applied to, and packet walks.

:class:`FakeSwitches` takes :class:`controller.reconcile.Change` items as a switch would: a flow
that names a group or meter the switch does not have is refused (recorded in ``errors``), so is
adding a group or meter that exists or modifying one that does not, and deleting a group also
deletes the flows that output to it, as OpenFlow requires.
:func:`walk` follows a packet through the tables ("would this packet leave on port X?").
"""
from __future__ import annotations

import ipaddress

from controller.pipeline import TABLE_FABRIC
from controller.reconcile import ADD, BARRIER, DELETE, MODIFY
from controller.specs import (
    ETH_TYPE_MPLS, FlowSpec, GroupSpec, MeterSpec, Output, PopMpls, PushMpls, SetField, State, ToController, ToGroup,
)


class FakeSwitches:
    """The entries of many switches as the changes sent to them leave them."""

    def __init__(self):
        self.entries: dict = {}  # spec key -> spec
        self.errors: list = []  # (change, why) refused

    def state(self, dpids=None) -> State:
        return State({k: v for k, v in self.entries.items() if dpids is None or v.dpid in dpids})

    def send(self, change) -> bool:
        """Apply one change; False (and an entry in ``errors``) if a switch would refuse it."""
        if change is BARRIER:
            return True
        spec = change.spec
        if change.op == DELETE:
            self.entries.pop(spec.key, None)
            if isinstance(spec, GroupSpec):
                self.entries = {k: v for k, v in self.entries.items()
                                if not (isinstance(v, FlowSpec) and v.dpid == spec.dpid and spec.group_id in v.group_refs)}
            return True
        if isinstance(spec, FlowSpec):
            missing = [g for g in spec.group_refs if ("group", spec.dpid, g) not in self.entries]
            if missing or (spec.meter_id is not None and ("meter", spec.dpid, spec.meter_id) not in self.entries):
                self.errors.append((change, f"missing group {missing} or meter {spec.meter_id}"))
                return False
        elif (spec.key in self.entries) != (change.op == MODIFY):  # groups and meters: ADD new, MODIFY existing
            self.errors.append((change, "exists already" if change.op == ADD else "does not exist"))
            return False
        self.entries[spec.key] = spec
        return True

    def send_all(self, changes) -> list:
        """Apply ``changes`` in order; the ones applied (barriers left out)."""
        return [c for c in changes if c is not BARRIER and self.send(c)]

    def clear(self, dpid: int) -> None:
        """The switch lost everything (a restart, or OVS flushing it when its controller was removed)."""
        self.entries = {k: v for k, v in self.entries.items() if v.dpid != dpid}


def _matches(flow_match, pkt) -> bool:
    for name, want in flow_match:
        have = pkt.get(name)
        if isinstance(want, tuple):
            net = ipaddress.ip_network(f"{want[0]}/{want[1]}")
            if have is None or ipaddress.ip_address(have) not in net:
                return False
        elif have != want:
            return False
    return True


def walk(state, links, dpid, in_port, pkt, pick=0, max_hops=16):
    """Follow ``pkt`` from ``dpid:in_port``; returns ("out", dpid, port), ("controller", dpid) or ("drop", dpid).

    ``links`` maps (dpid, port) -> (dpid, port) for inter-switch links; SELECT groups take bucket
    ``pick % len(buckets)`` at every switch (the same index everywhere, like OVS's hash). A flow
    that names a meter the switch does not have drops the packet.
    """
    flows = state.flows()
    groups = {(g.dpid, g.group_id): g for g in state.groups()}
    meters = {(m.dpid, m.meter_id) for m in state if isinstance(m, MeterSpec)}
    pkt = dict(pkt, in_port=in_port)
    for _ in range(max_hops):
        table = TABLE_FABRIC
        out = None
        while out is None:
            cands = [f for f in flows if f.dpid == dpid and f.table_id == table and _matches(f.match, pkt)]
            if not cands:
                return ("drop", dpid)
            f = max(cands, key=lambda f: f.priority)
            if f.meter_id is not None and (dpid, f.meter_id) not in meters:
                return ("drop", dpid)
            actions = list(f.actions)
            while actions:
                a = actions.pop(0)
                if isinstance(a, PushMpls):
                    pkt["eth_type"] = ETH_TYPE_MPLS
                elif isinstance(a, PopMpls):
                    pkt["eth_type"] = a.ethertype
                    pkt.pop("mpls_label")
                elif isinstance(a, SetField):
                    pkt[a.field] = a.value
                elif isinstance(a, ToGroup):
                    g = groups.get((dpid, a.group_id))
                    if g is None:
                        return ("drop", dpid)
                    actions = list(g.buckets[pick % len(g.buckets)].actions) + actions
                elif isinstance(a, ToController):
                    return ("controller", dpid)
                elif isinstance(a, Output):
                    out = a.port
            if out is None:
                if f.goto_table is None:
                    return ("drop", dpid)
                table = f.goto_table
        if (dpid, out) not in links:
            return ("out", dpid, out)
        dpid, in_port = links[(dpid, out)]
        pkt["in_port"] = in_port
    raise AssertionError("loop")
