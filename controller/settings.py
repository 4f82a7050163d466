"""Options of the ``[te]`` section of the Ryu config file, as a plain value.

The Ryu app registers one ``ryu.cfg`` option per field (same name, type,
default and help text) and builds a :class:`Settings` from the parsed values.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, fields

from controller.compile_te import DscpPolicy, parse_dscp_list
from te.alphafair import check_alpha
from te.engine import AUTO, OBJECTIVES, paths_arg
from te.errors import InvalidInput

ELEPHANT_MODES = ("off", "global-first-fit", "max-min")  # te_elephants (see controller.elephants)


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
    te_objective: str = field(default="max-min", metadata={
        "help": "TE objective for intents: max-min (exact weighted max-min with priorities), max-min-fast, "
                "max-throughput, min-mlu, alpha-fair (with te_alpha)"})
    te_alpha: float = field(default=1.0, metadata={
        "help": "te_objective = alpha-fair: 0 max throughput, 1 proportional fairness, 2 minimum potential delay, "
                "large values near max-min"})
    te_paths: str = field(default="auto", metadata={
        "help": "candidate paths (tunnels) per intent: auto (paths generated as the TE LPs need them, reaching "
                "the optimum over all paths; max-min-fast then uses 4) or a number K (the K shortest paths)"})
    te_max_paths: int = field(default=8, metadata={
        "help": "with te_paths = auto: at most this many paths (tunnels) per intent"})
    te_headroom: float = field(default=0.1, metadata={
        "help": "fraction of every link's capacity the TE loop leaves unallocated (SWAN keeps 0.1)"})
    te_interval: float = field(default=30.0, metadata={
        "help": "re-run the TE solve this often even without changes (s); 0 to disable"})
    te_wcmp_budget: int = field(default=64, metadata={
        "help": "largest sum of the SELECT bucket weights of one intent's group (WCMP precision)"})
    te_fewest_paths_seconds: float = field(default=1.0, metadata={
        "help": "time the solver may take to route each allocation over the fewest paths, so that switches "
                "hashing whole flows onto paths can follow it (s); 0 keeps the LP's split"})
    te_meter_burst_ms: float = field(default=50.0, metadata={
        "help": "meter burst size as this many milliseconds of the allocated rate (at least 16 full frames)"})
    te_protect_failures: int = field(default=0, metadata={
        "help": "allocate so that any this many switch-link failures (0-3) need no controller: each intent's "
                "SELECT group skips the buckets of a dead first hop and the surviving tunnels, reserved for it, "
                "carry its traffic without overloading any link (FFC); needs te_objective max-min or "
                "max-throughput, and costs throughput (te-solve --protect-failures shows how much)"})
    te_protect_classes: str = field(default="all", metadata={
        "help": "with te_protect_failures: protect all intents, or only guaranteed ones (best-effort then shares "
                "what the protected reservations leave, unprotected)"})
    te_update_scratch: float = field(default=0.0, metadata={
        "help": "congestion-free updates (SWAN): when allocations change, move through intermediate allocations, "
                "each confirmed by barriers, so that no link exceeds (1 - te_headroom + this) of its capacity "
                "whatever order the switches apply a step in; at most te_headroom. 0: one make-before-break step"})
    te_burst_window_ms: float = field(default=100.0, metadata={
        "help": "admission of guaranteed intents with burst_bytes: the bursts crossing a link must drain at its "
                "capacity within this many milliseconds"})
    te_dscp_guaranteed: int = field(default=46, metadata={
        "help": "DSCP the ingress switch marks guaranteed intents' packets with (46: EF), unless an intent sets its own"})
    te_dscp_priorities: str = field(default="0,10,18,26,34,34,34,34", metadata={
        "help": "DSCP of best-effort intents by priority 0-7, comma-separated (default: CS0, AF11, AF21, AF31, "
                "then AF41), unless an intent sets its own"})
    te_elephants: str = field(default="off", metadata={
        "help": "adaptive TE for undeclared traffic: off, global-first-fit (Hedera) or max-min; detected "
                "elephant flows are placed on paths with room"})
    te_elephant_threshold: float = field(default=0.1, metadata={
        "help": "a flow is an elephant from this share of its sender's link rate (Hedera: 0.1)"})
    te_elephant_interval: float = field(default=1.0, metadata={
        "help": "seconds between polls of the per-flow counters (with te_elephants on)"})
    te_elephant_idle: int = field(default=5, metadata={
        "help": "seconds without a packet after which a switch forgets a counted flow (its rule goes too)"})
    port_stats_interval: float = field(default=2.0, metadata={
        "help": "poll port and meter counters this often to measure link loads and intent rates (s); 0 to disable"})
    intent_store: str = field(default="/var/lib/sdn-te/intents.sqlite3", metadata={
        "help": "SQLite file of accepted intents, restored after a restart; empty keeps them in memory only; "
                "etcd://host:port[,host:port...]/prefix shares them on etcd among several controllers, one of "
                "them elected leader (see ha_*)"})
    ha_member: str = field(default="", metadata={
        "help": "with an etcd intent_store: this controller's name in the cluster, unique among its members "
                "(empty: host name and REST port)"})
    ha_lease_ttl: int = field(default=2, metadata={
        "help": "with an etcd intent_store: TTL of the leader's etcd lease (s, at least 2): a leader that dies is "
                "replaced this long after its last keep-alive; it stops acting a quarter of it earlier"})
    ha_poll_interval: float = field(default=0.2, metadata={
        "help": "with an etcd intent_store: how often each controller looks at the lease and the leader key (s)"})
    ha_advertise_url: str = field(default="", metadata={
        "help": "with an etcd intent_store: the base URL other controllers forward REST writes to when this one "
                "leads, e.g. http://10.0.0.5:8080 (empty: http://<wsapi_host>:<wsapi_port>)"})
    restore_timeout: float = field(default=15.0, metadata={
        "help": "after a start, switches that kept rules are left untouched until every switch and link of "
                "the topology file is back, or at most this long (s)"})
    switch_hold_time: float = field(default=30.0, metadata={
        "help": "a switch whose OpenFlow connection drops keeps its links, hosts and rules in the controller's "
                "view this long before it counts as gone (s); port status and LLDP link loss act at once"})
    # repr=False: the settings are logged at start-up, and the token must not end up in a log.
    rest_token: str = field(default="", repr=False, metadata={
        "help": "when set, every REST write (POST, PUT, DELETE) needs the header 'Authorization: Bearer TOKEN' "
                "with this token (te-intent: --token or $TE_TOKEN), else 401; reads stay open. Empty: no token needed"})
    rest_allowed_hosts: str = field(default="127.0.0.1,localhost,::1", metadata={
        "help": "comma-separated host names or addresses (no port) that the REST API answers to in the Host "
                "header; any other gets 403, so a web page cannot reach the API through DNS rebinding. Add the "
                "name clients use when --wsapi-host is not loopback; '*' allows any"})

    @property
    def allowed_hosts(self) -> frozenset | None:
        """The names of ``rest_allowed_hosts``, in lower case; None when ``*`` allows any.

        >>> sorted(Settings(rest_allowed_hosts=" LocalHost, ::1 ").allowed_hosts)
        ['::1', 'localhost']
        >>> Settings(rest_allowed_hosts="*").allowed_hosts is None
        True
        """
        names = frozenset(name.strip().lower() for name in self.rest_allowed_hosts.split(","))
        return None if "*" in names else names

    @property
    def dscp(self) -> DscpPolicy:
        """How intents' packets are marked (:class:`controller.compile_te.DscpPolicy`)."""
        return DscpPolicy(self.te_dscp_guaranteed, parse_dscp_list(self.te_dscp_priorities))

    @classmethod
    def from_mapping(cls, values) -> "Settings":
        """From anything indexable by option name (e.g. ``ryu.cfg.CONF.te``)."""
        return cls(**{f.name: values[f.name] for f in fields(cls)})

    def __post_init__(self):
        if self.te_objective not in OBJECTIVES or self.te_objective == "ecmp":
            raise ValueError(f"[te] te_objective must be one of {', '.join(o for o in OBJECTIVES if o != 'ecmp')}, "
                             f"got {self.te_objective!r}")
        try:
            check_alpha(self.te_alpha)
        except InvalidInput as exc:
            raise ValueError(f"[te] te_alpha: {exc}") from None
        try:
            object.__setattr__(self, "te_paths", paths_arg(self.te_paths))
        except InvalidInput:
            raise ValueError(f"[te] te_paths must be auto or a whole number >= 1, got {self.te_paths!r}") from None
        most = self.te_max_paths if self.te_paths == AUTO else self.te_paths
        name = "te_max_paths" if self.te_paths == AUTO else "te_paths"
        if most > self.te_wcmp_budget:
            raise ValueError(f"[te] {name} ({most}) must not exceed te_wcmp_budget ({self.te_wcmp_budget}):"
                             " every path with traffic needs a bucket weight of at least 1")
        if not 0 <= self.te_update_scratch <= self.te_headroom:
            raise ValueError(f"[te] te_update_scratch must be >= 0 and at most te_headroom ({self.te_headroom:g}): the "
                             f"steps use the free part of every link, got {self.te_update_scratch!r}")
        if not 0 <= self.te_protect_failures <= 3:
            raise ValueError(f"[te] te_protect_failures must be 0, 1, 2 or 3, got {self.te_protect_failures!r}")
        if self.te_protect_failures and self.te_objective not in ("max-min", "max-throughput"):
            raise ValueError(f"[te] te_protect_failures needs te_objective max-min or max-throughput, not "
                             f"{self.te_objective}")
        if self.te_protect_classes not in ("all", "guaranteed"):
            raise ValueError(f"[te] te_protect_classes must be all or guaranteed, got {self.te_protect_classes!r}")
        try:
            parse_dscp_list(self.te_dscp_priorities)
        except ValueError as exc:
            raise ValueError(f"[te] {exc}") from None
        if not 0 <= self.te_dscp_guaranteed <= 63:
            raise ValueError(f"[te] te_dscp_guaranteed must be a DSCP value from 0 to 63, got {self.te_dscp_guaranteed!r}")
        if self.te_elephants not in ELEPHANT_MODES:
            raise ValueError(f"[te] te_elephants must be one of {', '.join(ELEPHANT_MODES)}, got {self.te_elephants!r}")
        if not 0 < self.te_elephant_threshold <= 1:
            raise ValueError(f"[te] te_elephant_threshold must be > 0 and <= 1, got {self.te_elephant_threshold!r}")
        if not 1 <= self.te_elephant_idle <= 65535:
            raise ValueError(f"[te] te_elephant_idle must be 1 to 65535 seconds, got {self.te_elephant_idle!r}")
        if self.ha_lease_ttl < 2:
            raise ValueError(f"[te] ha_lease_ttl must be at least 2 seconds (etcd's shortest lease), "
                             f"got {self.ha_lease_ttl!r}")
        if not 0 < self.ha_poll_interval <= self.ha_lease_ttl / 4:
            raise ValueError(f"[te] ha_poll_interval must be > 0 and at most a quarter of ha_lease_ttl "
                             f"({self.ha_lease_ttl / 4:g} s), got {self.ha_poll_interval!r}")
        if self.intent_store.startswith("etcd://"):
            from controller.etcd import parse_url

            parse_url(self.intent_store)  # a ValueError names the bad part
        if not 0 <= self.te_headroom < 1:
            raise ValueError(f"[te] te_headroom must be >= 0 and < 1, got {self.te_headroom!r}")
        for name in ("default_capacity_bps", "max_paths", "te_max_paths", "te_wcmp_budget", "te_meter_burst_ms",
                     "te_burst_window_ms"):
            if not getattr(self, name) > 0:
                raise ValueError(f"[te] {name} must be > 0, got {getattr(self, name)!r}")
        for name in ("arp_settle_seconds", "arp_flood_interval", "reconcile_delay", "barrier_timeout",
                     "stats_interval", "te_interval", "port_stats_interval", "restore_timeout", "switch_hold_time",
                     "te_fewest_paths_seconds", "te_elephant_interval"):
            if getattr(self, name) < 0:
                raise ValueError(f"[te] {name} must be >= 0, got {getattr(self, name)!r}")
        # The token travels in a header: printable ASCII without spaces. The value itself is not repeated.
        if not re.fullmatch(r"[!-~]*", self.rest_token):
            raise ValueError("[te] rest_token must be printable ASCII without spaces")
        for name in self.allowed_hosts or ():
            # An IPv6 address has two colons or more; one colon means a port, and the Host check drops ports,
            # so such a name would never match.
            if not name or name.count(":") == 1 or not re.fullmatch(r"[a-z0-9.:_-]+", name):
                raise ValueError(f"[te] rest_allowed_hosts must be comma-separated host names or addresses without "
                                 f"port or brackets (or *), got {self.rest_allowed_hosts!r}")
