"""Failure protection in the controller (te_protect_failures, FFC): plans that survive any single switch-link
failure with the ingress switches' local rescaling, checked by brute force on the k=4 fat-tree."""
import itertools

import pytest

from controller.compile_te import compile_te
from controller.ids import IdSpace
from controller.intents import IntentRegistry
from controller.settings import Settings
from controller.specs import GroupSpec
from controller.te_plan import plan

from test_controller_te import fabric_at

MBIT = 1e6
HEADROOM = 0.1


def intents(*pairs, rate=8 * MBIT, **extra):
    reg = IntentRegistry()
    return [reg.create({"src": f"10.0.0.{s}", "dst": f"10.0.0.{d}", "rate_bps": rate, **extra}) for s, d in pairs]


def rescaled_loads(p, failed: set) -> dict:
    """Arc loads when the links in ``failed`` (undirected dpid pairs) are down and every ingress re-spreads its
    intent over the surviving paths in proportion to their rates (what the switches' SELECT groups do)."""
    load = {}
    for a in p.allocations:
        alive = [s for s in a.paths if not any(frozenset(arc) in failed for arc in zip(s.dpids, s.dpids[1:]))]
        total, kept = a.allocated_bps, sum(s.rate_bps for s in alive)
        for s in alive:
            for arc in zip(s.dpids, s.dpids[1:]):
                load[arc] = load.get(arc, 0.0) + s.rate_bps * total / kept
    return load


@pytest.mark.parametrize("objective", ["max-min", "max-throughput"])
def test_a_protected_plan_fits_every_single_link_failure(objective):
    f = fabric_at()
    its = intents((1, 16), (3, 14), (5, 12), (7, 10))  # across pods: 4 edge-disjoint paths each
    unprotected = plan(f, its, objective, k=4, headroom=HEADROOM)
    p = plan(f, its, objective, k=4, headroom=HEADROOM, protect=1)
    assert p.protect == 1 and p.status == "optimal"
    assert all(a.allocated_bps > 0 and len(a.paths) >= 2 for a in p.allocations)
    assert sum(a.allocated_bps for a in p.allocations) <= sum(a.allocated_bps for a in unprotected.allocations) + 1
    capacity = 10 * MBIT * (1 - HEADROOM)
    links = {frozenset(arc) for arc in f.adjacency()}
    for failed in [set()] + [{link} for link in links]:
        for arc, bps in rescaled_loads(p, failed).items():
            assert bps <= capacity * (1 + 1e-6), (failed, arc, bps)
    # without protection some single failure overloads a link (or cuts an intent off)
    worst = max(max(rescaled_loads(unprotected, {link}).values(), default=0) for link in links)
    cut = any(not [s for s in a.paths if not any(frozenset(x) in {link} for x in zip(s.dpids, s.dpids[1:]))]
              for a in unprotected.allocations for link in links if a.paths)
    assert worst > capacity * 1.01 or cut


def test_two_failures_and_protecting_only_guaranteed_intents():
    f = fabric_at()
    its = intents((1, 16), (3, 14))
    p = plan(f, its, "max-min", k=4, headroom=HEADROOM, protect=2)
    capacity = 10 * MBIT * (1 - HEADROOM)
    links = sorted({frozenset(arc) for arc in f.adjacency()}, key=sorted)
    for pair in itertools.combinations(links, 2):
        for bps in rescaled_loads(p, set(pair)).values():
            assert bps <= capacity * (1 + 1e-6)
    reg = IntentRegistry()
    gold = reg.create({"src": "10.0.0.1", "dst": "10.0.0.16", "rate_bps": 3e6, "class": "guaranteed"})
    bulk = reg.create({"src": "10.0.0.3", "dst": "10.0.0.14", "rate_bps": 9e6})
    q = plan(f, [gold, bulk], "max-min", k=4, headroom=HEADROOM, protect=1, protect_classes="guaranteed")
    assert q.allocations[0].allocated_bps == pytest.approx(3e6, rel=1e-6) and len(q.allocations[0].paths) >= 2
    assert q.allocations[1].allocated_bps > 0


def test_buckets_watch_the_first_hop_so_switches_rescale_locally():
    f = fabric_at()
    p = plan(f, intents((1, 16)), "max-min", k=4, headroom=HEADROOM, protect=1)
    specs, shown = compile_te(p, IdSpace())
    [group] = [s for s in specs if isinstance(s, GroupSpec)]
    firsts = {share.hops[0][1] for share, _, _ in shown[p.allocations[0].intent.id]}
    assert {b.watch_port for b in group.buckets} == firsts and all(b.watch_port == b.actions[-1].port
                                                                   for b in group.buckets)


def test_protection_settings_are_checked():
    assert Settings(te_protect_failures=1).te_protect_failures == 1
    for bad, text in (({"te_protect_failures": 4}, "0, 1, 2 or 3"),
                      ({"te_protect_failures": 1, "te_objective": "min-mlu"}, "max-min or max-throughput"),
                      ({"te_protect_classes": "gold"}, "all or guaranteed")):
        with pytest.raises(ValueError, match=text):
            Settings(**bad)
