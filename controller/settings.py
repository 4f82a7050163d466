"""Options of the ``[te]`` section of the Ryu config file, as a plain value.

The Ryu app registers one ``ryu.cfg`` option per field (same name, type,
default and help text) and builds a :class:`Settings` from the parsed values.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields


@dataclass(frozen=True)
class Settings:
    topology_file: str = field(default="", metadata={
        "help": "node-link JSON topology file: switch dpids and link capacities (bit/s); empty for none"})
    default_capacity_bps: float = field(default=1e9, metadata={
        "help": "capacity of a discovered link that the topology file does not list (bit/s)"})
    arp_settle_seconds: float = field(default=3.0, metadata={
        "help": "after a switch connects, wait this long (or until all its links in the topology file are "
                "discovered) before sending ARP requests out of its host-facing ports"})
    arp_flood_interval: float = field(default=1.0, metadata={
        "help": "send an ARP request for one unknown address at most once per this many seconds"})
    max_paths: int = field(default=16, metadata={
        "help": "equal-cost paths (SELECT group buckets) per ingress/egress switch pair"})
    reconcile_delay: float = field(default=0.05, metadata={
        "help": "gather events this long before recomputing, so a burst costs one recomputation (s)"})
    barrier_timeout: float = field(default=5.0, metadata={
        "help": "how long to wait for switches to confirm a phase of changes (s)"})
    stats_interval: float = field(default=10.0, metadata={
        "help": "log packet-in and flow-mod counters this often (s); 0 to disable"})

    @classmethod
    def from_mapping(cls, values) -> "Settings":
        """From anything indexable by option name (e.g. ``ryu.cfg.CONF.te``)."""
        return cls(**{f.name: values[f.name] for f in fields(cls)})

    def __post_init__(self):
        for name in ("default_capacity_bps", "max_paths"):
            if not getattr(self, name) > 0:
                raise ValueError(f"[te] {name} must be > 0, got {getattr(self, name)!r}")
        for name in ("arp_settle_seconds", "arp_flood_interval", "reconcile_delay", "barrier_timeout",
                     "stats_interval"):
            if getattr(self, name) < 0:
                raise ValueError(f"[te] {name} must be >= 0, got {getattr(self, name)!r}")
