"""Desired switch state as plain, hashable values (no Ryu objects).

A controller decides *what* every switch should hold as sets of these specs;
:mod:`controller.reconcile` diffs two such sets into ordered changes and
:mod:`controller.ofmsg` is the only place that turns them into OpenFlow
messages.  Because specs are frozen dataclasses they can be compared, hashed,
put in sets and asserted on in unit tests without a switch.

Identity (what makes two specs "the same entry" on a switch) is ``key``:
a flow is identified by ``(dpid, table_id, priority, match)`` as in OpenFlow's
strict matching, a group by ``(dpid, group_id)``, a meter by ``(dpid, meter_id)``.
Two specs with the same key and different contents mean "modify".

What the numbers in them mean (tables, priorities, cookies, id ranges) is
:mod:`controller.pipeline`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Mapping, Union

ETH_TYPE_IPV4 = 0x0800
ETH_TYPE_ARP = 0x0806
ETH_TYPE_IPV6 = 0x86DD
ETH_TYPE_MPLS = 0x8847


# --- actions -----------------------------------------------------------------
@dataclass(frozen=True)
class Output:
    port: int


@dataclass(frozen=True)
class ToController:
    max_len: int = 128


@dataclass(frozen=True)
class ToGroup:
    group_id: int


@dataclass(frozen=True)
class PushMpls:
    ethertype: int = ETH_TYPE_MPLS


@dataclass(frozen=True)
class PopMpls:
    ethertype: int = ETH_TYPE_IPV4


@dataclass(frozen=True)
class PushVlan:
    ethertype: int = 0x8100


@dataclass(frozen=True)
class PopVlan:
    pass


@dataclass(frozen=True)
class SetField:
    field: str
    value: object


@dataclass(frozen=True)
class Resubmit:
    """Run the packet through ``table_id`` and come back (Nicira extension): counting on the way."""

    table_id: int


@dataclass(frozen=True)
class Learn:
    """Add an entry to ``table_id`` that matches ``values`` (``(OXM name, value)`` pairs: the prerequisites
    of the fields, which OVS wants as values) and ``fields`` (OXM names) as this packet has them (Nicira
    extension), with no actions: it only counts. It expires after ``idle_timeout`` seconds without a
    packet (``fin_idle_timeout`` after a TCP FIN or RST), so the switch keeps only live flows."""

    table_id: int
    priority: int
    idle_timeout: int
    fin_idle_timeout: int
    cookie: int
    values: tuple
    fields: tuple


@dataclass(frozen=True)
class Unreadable:
    """Something read back from a switch that this controller never builds (see ofmsg.flow_spec).

    A spec holding it differs from every desired spec, so the diff replaces or deletes the entry.
    """

    text: str


Action = Union[Output, ToController, ToGroup, PushMpls, PopMpls, PushVlan, PopVlan, SetField, Resubmit, Learn]

GROUP_UNREADABLE = "unreadable"  # GroupSpec.type of a group read back with a type we never use
METER_UNREADABLE = -1  # MeterSpec.rate_kbps of a meter read back with bands or flags we never use

Match = tuple  # sorted tuple of (field, value) pairs, see match()


def match(**fields) -> Match:
    """A hashable OpenFlow match from Ryu OXM field names, e.g. ``match(eth_type=0x0800, ipv4_dst="10.0.0.1")``."""
    return tuple(sorted(fields.items()))


# --- entries -----------------------------------------------------------------
@dataclass(frozen=True)
class FlowSpec:
    dpid: int
    table_id: int
    priority: int
    match: Match
    actions: tuple = ()  # apply-actions; empty with no goto means drop
    goto_table: int | None = None
    meter_id: int | None = None
    cookie: int = 0

    @property
    def key(self) -> tuple:
        return ("flow", self.dpid, self.table_id, self.priority, self.match)

    @property
    def group_refs(self) -> frozenset:
        return frozenset(a.group_id for a in self.actions if isinstance(a, ToGroup))

    @property
    def steers(self) -> bool:
        """Whether this flow hands packets to a group or a meter (an ingress decision, not label switching)."""
        return self.meter_id is not None or bool(self.group_refs)


@dataclass(frozen=True)
class Bucket:
    actions: tuple
    weight: int = 1  # OVS never picks a weight-0 bucket of a SELECT group
    watch_port: int | None = None


GROUP_SELECT = "select"
GROUP_ALL = "all"
GROUP_INDIRECT = "indirect"
GROUP_FAST_FAILOVER = "ff"


@dataclass(frozen=True)
class GroupSpec:
    dpid: int
    group_id: int
    type: str
    buckets: tuple

    def __post_init__(self):
        if self.type == GROUP_SELECT and any(b.weight <= 0 for b in self.buckets):
            raise ValueError(f"group {self.group_id} on {self.dpid:#x}: SELECT bucket weights must be > 0")

    @property
    def key(self) -> tuple:
        return ("group", self.dpid, self.group_id)


@dataclass(frozen=True)
class MeterSpec:
    dpid: int
    meter_id: int
    rate_kbps: int
    burst_kb: int

    @property
    def key(self) -> tuple:
        return ("meter", self.dpid, self.meter_id)


Spec = Union[FlowSpec, GroupSpec, MeterSpec]


@dataclass(frozen=True)
class State:
    """A set of specs indexed by identity; the desired or the installed state of many switches."""

    entries: Mapping = field(default_factory=dict)  # key -> spec

    @classmethod
    def of(cls, specs: Iterable) -> "State":
        entries = {}
        for spec in specs:
            old = entries.get(spec.key)
            if old is not None and old != spec:
                raise ValueError(f"two different specs for one entry: {old} and {spec}")
            entries[spec.key] = spec
        return cls(entries)

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self):
        return iter(self.entries.values())

    def for_dpid(self, dpid: int) -> "State":
        return State({k: s for k, s in self.entries.items() if s.dpid == dpid})

    def without_dpid(self, dpid: int) -> "State":
        return State({k: s for k, s in self.entries.items() if s.dpid != dpid})

    def replace_dpid(self, dpid: int, specs: Iterable) -> "State":
        """This state with switch ``dpid``'s entries replaced by ``specs``."""
        merged = dict(self.without_dpid(dpid).entries)
        merged.update(State.of(specs).entries)
        return State(merged)

    def flows(self) -> list:
        return [s for s in self if isinstance(s, FlowSpec)]

    def groups(self) -> list:
        return [s for s in self if isinstance(s, GroupSpec)]

    def meters(self) -> list:
        return [s for s in self if isinstance(s, MeterSpec)]
