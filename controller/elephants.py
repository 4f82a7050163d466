"""Adaptive TE for traffic nobody declared: find the elephant flows at the ingress and place them (Hedera).

With ``te_elephants`` on, every switch counts each TCP and UDP flow that enters from one of its
host ports: a rule in table 0 resubmits such packets to table 2 (:data:`controller.pipeline.TABLE_FLOWS`)
on their way to routing, where the first packet of a 5-tuple *learns* an entry of its own that
only counts (and expires ``te_elephant_idle`` seconds after the flow's last packet). The
controller polls those entries; a flow whose rate reaches ``te_elephant_threshold`` of its
sender's link rate is an elephant (Hedera's 10 %), until its entry expires or it stays below half
the threshold for three polls. So is a *persistent bulk* flow: one that sent full-size packets
(``BULK_FRAME_BYTES`` on average) in each of ``PERSIST_POLLS`` polls in a row, whatever its rate: a flow
squeezed below the threshold by the elephants placed beside it would otherwise never be found (seen on
the fat-tree: a TCP flow held at 5 % of its link for 17 s). Other flows stay on ECMP, as do flows an
intent claims.

Elephants are placed as Hedera places them, on the capacity the intents' plan leaves free:

* their *natural demand* is estimated from the hosts' link rates (:func:`te.hedera.estimate_demands`),
  since a measured rate only says what a flow gets under the collisions it suffers;
* ``global-first-fit``: each flow in turn (oldest first) takes the first equal-cost path with room
  for its demand (:func:`te.hedera.global_first_fit`); placed flows keep their path while it still
  fits, and a flow that fits nowhere stays on ECMP;
* ``max-min``: the elephants of each pair of hosts are one demand, as an intent between them would be;
  the TE engine shares the free capacity max-min fairly over ``te_paths`` candidate paths, routed over
  the fewest paths, and each flow of a pair goes whole to one of the pair's paths (a flow cannot follow
  a split).

Like intents, elephants get what is free of every link after ``te_headroom``, and the hosts' link
rates after headroom bound the demands. A placed elephant gets one rule at its ingress switch
(priority PRIO_ELEPHANT: its 5-tuple -> a meter -> the path's TE tunnel); the rule goes when the flow
ends. The elephants of one pair of hosts on one path share a meter at the sum of their reservations
(one TCP flow alone behind a meter of a few packets per second loses its window to every drop:
measured on the fat-tree, eight flows per pair reached 84 % of the optimum with a meter each, where
intents with one meter for the eight reach 90 %). The meter keeps what is sent within what was reserved: without
it a TCP flow fills its bottleneck's queue, and the ACKs of every flow crossing that queue the other
way wait behind it (measured on the fat-tree: placed but unmetered flows reached 66% of the optimum).

>>> key = FlowKey("10.0.0.1", "10.0.0.2", 6, 5001, 5201)
>>> FlowKey.from_match(dict(key.match(3))) == key
True
>>> t = ElephantTracker(0.1)
>>> cap = lambda ip: 1e6
>>> t.counters(1, [(key, 0, 0)], True, 0.0, cap), t.counters(1, [(key, 50_000, 40)], True, 1.0, cap)
(False, True)
>>> [(e.key.sport, e.rate_bps, e.reason) for e in t.list()]
[(5001, 400000.0, 'rate')]
>>> t.counters(1, [], True, 2.0, cap), t.list()  # its entry expired: the flow ended
(True, [])
"""
from __future__ import annotations

from dataclasses import dataclass

import networkx as nx

import te
from te.errors import TEError
from te.hedera import estimate_demands, global_first_fit
from te.unsplit import fewest_paths

from .pipeline import (
    COOKIE_CONTROL, COOKIE_COUNTED, PRIO_COUNT, PRIO_LEARNED, PRIO_MISS, TABLE_FABRIC, TABLE_FLOWS, TABLE_ROUTE,
)
from .settings import ELEPHANT_MODES
from .specs import ETH_TYPE_IPV4, FlowSpec, Learn, Resubmit, match
from .stats import ByteRates
from .te_plan import MIN_PATH_BPS, host_capacity, path_share, switch_node, te_graph

MODES = ELEPHANT_MODES
_L4 = {6: ("tcp_src", "tcp_dst"), 17: ("udp_src", "udp_dst")}
QUIET_POLLS = 3  # polls below half the threshold before an elephant is a mouse again
PERSIST_POLLS = 3  # polls in a row with traffic that make a bulk flow an elephant whatever its rate
BULK_FRAME_BYTES = 1000  # mean bytes per packet of a bulk flow (ACK streams and chatter are far smaller)


@dataclass(frozen=True, order=True)
class FlowKey:
    """A TCP or UDP flow by its 5-tuple."""

    src: str
    dst: str
    proto: int
    sport: int
    dport: int

    @classmethod
    def from_match(cls, fields: dict) -> "FlowKey | None":
        """The flow a learned entry's match counts (None if it is not a TCP/UDP 5-tuple)."""
        names = _L4.get(fields.get("ip_proto"))
        if names is None or any(n not in fields for n in ("ipv4_src", "ipv4_dst", *names)):
            return None
        return cls(fields["ipv4_src"], fields["ipv4_dst"], fields["ip_proto"], fields[names[0]], fields[names[1]])

    def match(self, in_port: int):
        sport, dport = _L4[self.proto]
        return match(in_port=in_port, eth_type=ETH_TYPE_IPV4, ipv4_src=self.src, ipv4_dst=self.dst,
                     ip_proto=self.proto, **{sport: self.sport, dport: self.dport})

    def as_dict(self) -> dict:
        return {"src": self.src, "dst": self.dst, "ip_proto": self.proto, "tp_src": self.sport, "tp_dst": self.dport}


def count_flows(dpid: int, host_ports, idle_timeout: int) -> list:
    """The rules that make switch ``dpid`` count every TCP and UDP flow entering from ``host_ports``."""
    specs = [FlowSpec(dpid, TABLE_FABRIC, PRIO_COUNT, match(in_port=port, eth_type=ETH_TYPE_IPV4),
                      (Resubmit(TABLE_FLOWS),), goto_table=TABLE_ROUTE, cookie=COOKIE_CONTROL)
             for port in sorted(set(host_ports))]
    if not specs:
        return []
    for proto, (sport, dport) in sorted(_L4.items()):
        learn = Learn(TABLE_FLOWS, PRIO_LEARNED, idle_timeout, 1 if proto == 6 else 0, COOKIE_COUNTED,
                      (("eth_type", ETH_TYPE_IPV4), ("ip_proto", proto)), ("ipv4_src", "ipv4_dst", sport, dport))
        specs.append(FlowSpec(dpid, TABLE_FLOWS, PRIO_MISS + 1, match(eth_type=ETH_TYPE_IPV4, ip_proto=proto),
                              (learn,), cookie=COOKIE_CONTROL))
    specs.append(FlowSpec(dpid, TABLE_FLOWS, PRIO_MISS, match(), cookie=COOKIE_CONTROL))  # count nothing else
    return specs


@dataclass
class Elephant:
    key: FlowKey
    dpid: int  # the ingress switch that counts it
    rate_bps: float
    since: float  # when it was detected (monotonic)
    reason: str = "rate"  # rate (at the threshold) or persistent (a bulk flow for PERSIST_POLLS polls)
    quiet: int = 0  # successive polls below half the threshold


class ElephantTracker:
    """Rates of the counted flows, and which of them are elephants (see the module docstring)."""

    def __init__(self, threshold: float):
        self.threshold = threshold
        self.rates = ByteRates()
        self.elephants: dict = {}  # FlowKey -> Elephant
        self.detected = 0  # elephants found since the start
        self._pending: dict = {}  # dpid -> samples of a multipart reply still arriving
        self._bulk: dict = {}  # (dpid, FlowKey) -> (polls in a row with bulk traffic, packet count)

    def counters(self, dpid: int, samples, last: bool, now: float, capacity) -> bool:
        """Counts ``[(FlowKey, bytes, packets)]`` of switch ``dpid``'s counted flows (``last``: the reply is
        complete); ``capacity(ip)`` is a host's link rate. Returns whether the set of elephants changed."""
        self._pending.setdefault(dpid, []).extend(samples)
        if not last:
            return False
        samples, seen, changed = self._pending.pop(dpid), set(), False
        for key, byte_count, packets in samples:
            seen.add((dpid, key))
            before = self.rates.last((dpid, key))
            rate = self.rates.update((dpid, key), byte_count, now)
            polls, last_packets = self._bulk.get((dpid, key), (0, packets))
            sent = packets - last_packets
            bulk = rate is not None and before is not None and sent > 0 and \
                (byte_count - before[0]) / sent >= BULK_FRAME_BYTES
            polls = polls + 1 if bulk else 0
            self._bulk[(dpid, key)] = (polls, packets)
            if rate is None:
                continue
            limit = self.threshold * capacity(key.src)
            known = self.elephants.get(key)
            if known is None:
                if rate >= limit or polls >= PERSIST_POLLS:
                    self.elephants[key] = Elephant(key, dpid, rate, now, "rate" if rate >= limit else "persistent")
                    self.detected += 1
                    changed = True
                continue
            known.rate_bps = rate
            known.quiet = known.quiet + 1 if rate < limit / 2 and not bulk else 0
            if known.quiet >= QUIET_POLLS:
                del self.elephants[key]
                changed = True
        self.rates.retain(dpid, seen)
        self._bulk = {k: v for k, v in self._bulk.items() if k[0] != dpid or k in seen}
        for key in [k for k, e in self.elephants.items() if e.dpid == dpid and (dpid, k) not in seen]:
            del self.elephants[key]  # its learned entry expired: the flow ended
            changed = True
        return changed

    def forget(self, dpid: int) -> bool:
        """Switch ``dpid`` went away: its counters restart. Returns whether elephants were dropped."""
        self.rates.forget(dpid)
        self._pending.pop(dpid, None)
        self._bulk = {k: v for k, v in self._bulk.items() if k[0] != dpid}
        gone = [k for k, e in self.elephants.items() if e.dpid == dpid]
        for key in gone:
            del self.elephants[key]
        return bool(gone)

    def list(self) -> list:
        """Elephants, oldest first."""
        return sorted(self.elephants.values(), key=lambda e: (e.since, e.key))


@dataclass(frozen=True)
class Placement:
    """Where an elephant goes: ``share`` is its path, or None when it stays on ECMP (``state`` says why)."""

    elephant: Elephant
    demand_bps: float
    share: object = None  # controller.te_plan.PathShare
    state: str = "placed"  # placed | no-room | intent | local | unlocated


def claimed_by_intent(key: FlowKey, intents) -> bool:
    """Whether an intent's classifier takes this flow (its traffic is the intent's, not adaptive TE's)."""
    for i in intents:
        m = i.match
        if (i.src, i.dst) == (key.src, key.dst) and m.ip_proto in (None, key.proto) \
                and m.tp_src in (None, key.sport) and m.tp_dst in (None, key.dport):
            return True
    return False


def free_graph(fabric, te_plan, avoid=frozenset(), headroom: float = 0.0) -> nx.DiGraph:
    """The TE graph (after ``headroom``) less what the intents' plan puts on each arc (``capacity`` = what is free)."""
    g = te_graph(fabric, headroom, avoid)

    def enter(d):
        return switch_node(d) + ":in" if d in avoid else switch_node(d)

    for a in te_plan.allocations:
        if a.src is None or a.dst is None or not a.paths:
            continue
        for share in a.paths:
            arcs = [(a.intent.src, switch_node(share.dpids[0])), (enter(share.dpids[-1]), a.intent.dst)]
            arcs += [(switch_node(x), enter(y)) for x, y in zip(share.dpids, share.dpids[1:])]
            for u, v in arcs:
                if g.has_edge(u, v):
                    g[u][v]["capacity"] = max(0.0, g[u][v]["capacity"] - share.rate_bps)
    return g


def place(mode: str, fabric, elephants, te_plan, intents, previous: dict, k: int = 4, max_paths: int = 16,
          avoid=frozenset(), headroom: float = 0.0, fewest_paths_s: float = 1.0) -> dict:
    """Where each elephant goes (``{FlowKey: Placement}``), on what the intents leave free.

    ``previous`` (the last result) keeps global first fit's placements stable while they still fit.
    """
    out, todo = {}, []
    for e in elephants:
        src, dst = fabric.hosts.get(e.key.src), fabric.hosts.get(e.key.dst)
        if claimed_by_intent(e.key, intents):
            out[e.key] = Placement(e, 0.0, state="intent")
        elif src is None or dst is None or src.dpid not in fabric.switches or dst.dpid not in fabric.switches:
            out[e.key] = Placement(e, 0.0, state="unlocated")
        elif src.dpid == dst.dpid:
            out[e.key] = Placement(e, 0.0, state="local")
        else:
            todo.append(e)
    if not todo:
        return out
    demands = estimate_demands([(e.key.src, e.key.dst) for e in todo], {
        ip: host_capacity(fabric, ip) * (1 - headroom) for e in todo for ip in (e.key.src, e.key.dst)})
    g = free_graph(fabric, te_plan, avoid, headroom)
    if mode == "max-min":
        out.update(_max_min(g, todo, demands, k, previous, fewest_paths_s))
        return out
    residual = {(u, v): d["capacity"] for u, v, d in g.edges(data=True)}
    order = sorted(range(len(todo)), key=lambda n: (previous.get(todo[n].key) is None, todo[n].since, todo[n].key))
    candidates = []
    for n in order:
        e, old = todo[n], previous.get(todo[n].key)
        paths = _shortest(g, e.key.src, e.key.dst, max_paths)
        if old is not None and old.share is not None:  # its path first, if it is still there
            kept = [p for p in paths if tuple(g.nodes[s]["dpid"] for s in p[1:-1]) == old.share.dpids]
            paths = kept + [p for p in paths if p not in kept]
        candidates.append(paths)
    chosen = global_first_fit([demands[n] for n in order], [[list(zip(p, p[1:])) for p in paths]
                                                              for paths in candidates], residual)
    for n, paths, pick in zip(order, candidates, chosen):
        e = todo[n]
        out[e.key] = Placement(e, demands[n], path_share(g, paths[pick], demands[n])) if pick is not None \
            else Placement(e, demands[n], state="no-room")
    return out


def _shortest(g, src: str, dst: str, max_paths: int) -> list:
    try:
        return sorted(nx.all_shortest_paths(g, src, dst))[:max_paths]
    except nx.NetworkXNoPath:
        return []


def _max_min(g, todo, demands, k: int, previous: dict, fewest_paths_s: float) -> dict:
    """Rates by the TE engine's max-min per pair of hosts, then each flow of a pair on one of its paths.

    The elephants of one pair of hosts are one demand (the sum of theirs), as an intent between them
    would be: the engine shares the free capacity max-min fairly over ``k`` candidate paths and routes
    the result over the fewest paths (:func:`te.unsplit.fewest_paths`, within ``fewest_paths_s``), so
    most pairs use one path. A pair's rate is then divided between its flows in proportion to their
    demands, and each flow goes whole to one of the pair's paths: its previous path if that still has
    room for it (a re-solve moves as few flows as it can), else the path with the most room left; a
    path never carries more than the solution gave it.
    """
    h = nx.DiGraph()
    h.add_nodes_from(g.nodes(data=True))
    h.add_edges_from((u, v, d) for u, v, d in g.edges(data=True) if d["capacity"] >= MIN_PATH_BPS)
    out, pairs = {}, {}
    for n, e in enumerate(todo):
        if e.key.src in h and e.key.dst in h and nx.has_path(h, e.key.src, e.key.dst):
            pairs.setdefault((e.key.src, e.key.dst), []).append(n)
        else:
            out[e.key] = Placement(e, demands[n], state="no-room")
    if not pairs:
        return out
    keys = sorted(pairs)
    wanted = [te.Demand(str(i), src, dst, max(sum(demands[n] for n in pairs[(src, dst)]), MIN_PATH_BPS))
              for i, (src, dst) in enumerate(keys)]
    try:
        solution = te.solve(h, wanted, objective="max-min", k=k)
        if fewest_paths_s > 0:
            solution = fewest_paths(solution, fewest_paths_s)
    except TEError:
        return out | {todo[n].key: Placement(todo[n], demands[n], state="no-room") for ns in pairs.values() for n in ns}
    for i, pair in enumerate(keys):
        routes = sorted(((p, r) for p, r in solution.routes(i) if r >= MIN_PATH_BPS), key=lambda pr: -pr[1])
        flows = pairs[pair]
        total, wanted_sum = sum(r for _, r in routes), sum(demands[n] for n in flows)
        left = [r for _, r in routes]
        dpids = [tuple(h.nodes[x]["dpid"] for x in p[1:-1]) for p, _ in routes]
        for n in sorted(flows, key=lambda n: (-demands[n], todo[n].since, todo[n].key)):
            e = todo[n]
            share = total * demands[n] / wanted_sum if wanted_sum > 0 else 0.0
            old = previous.get(e.key)
            mine = [j for j in range(len(routes)) if old is not None and old.share is not None
                    and dpids[j] == old.share.dpids and left[j] >= share * (1 - 1e-6)]
            pick = mine[0] if mine else (max(range(len(routes)), key=lambda j: left[j]) if routes else None)
            rate = min(share, left[pick]) if pick is not None else 0.0
            if rate < MIN_PATH_BPS:
                out[e.key] = Placement(e, demands[n], state="no-room")
                continue
            left[pick] -= rate
            out[e.key] = Placement(e, demands[n], path_share(h, routes[pick][0], rate))
    return out


__all__ = ["MODES", "Elephant", "ElephantTracker", "FlowKey", "Placement", "claimed_by_intent", "count_flows",
           "free_graph", "place"]
