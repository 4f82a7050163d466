"""Service classes in the controller: admission control, guaranteed-first plans, groups, DSCP and bursts.

Hand-computed on the k=4 fat-tree of the compile tests: every link and host link at 10 Mbit/s, 10 %
headroom, so 9 Mbit/s plannable; host 10.0.0.16 hangs off edge switch 0x3008.
"""
import json

import pytest

from controller.admission import admit
from controller.compile_te import DscpPolicy, compile_te, meter_for
from controller.ids import IdSpace
from controller.intents import AdmissionRefused, GroupInUse, IntentRegistry, InvalidIntent
from controller.rest import dispatch
from controller.settings import Settings
from controller.specs import FlowSpec, MeterSpec, SetField
from controller.store import IntentStore
from controller.te_plan import plan
from controller.views import allocation_views, class_views

from test_controller_te import fabric_at

MBIT = 1e6
PLANNABLE = 9 * MBIT
DST = "10.0.0.16"
DST_EDGE = f"{0x3008:016x}"


def registry(f, headroom=0.1, window_s=0.1):
    """A registry that admits guaranteed intents against fabric ``f``, as the core's does."""
    return IntentRegistry(lambda: f.hosts.keys(),
                          admit=lambda intents, asking: admit(f, headroom, intents, asking, 4, None, window_s))


def body(src, rate, **extra):
    return {"src": src, "dst": DST, "rate_bps": rate, **extra}


def gold(src="10.0.0.1", rate=4 * MBIT, **extra):
    return body(src, rate, **{"class": "guaranteed", **extra})


# --- admission ---------------------------------------------------------------------------------------------
def test_a_guarantee_that_does_not_fit_names_the_link_and_the_largest_rate_that_fits():
    f = fabric_at()
    reg = registry(f)
    reg.create(gold())
    with pytest.raises(AdmissionRefused) as refused:
        reg.create(gold("10.0.0.5", 6 * MBIT))
    exc = refused.value
    assert exc.status == 409 and exc.field == "rate_bps" and "does not fit" in str(exc)
    assert (DST_EDGE, DST) in {(link["src"], link["dst"]) for link in exc.details["links"]}
    [access] = [link for link in exc.details["links"] if link["dst"] == DST]
    assert access["capacity_bps"] == pytest.approx(PLANNABLE) and access["needed_bps"] == pytest.approx(10 * MBIT)
    assert exc.details["largest_fitting_bps"] == pytest.approx(5 * MBIT, rel=1e-5)
    assert len(reg) == 1 and reg.generation == 1  # nothing changed
    fits = reg.create(gold("10.0.0.5", exc.details["largest_fitting_bps"]))
    assert fits.guaranteed


def test_best_effort_is_never_refused_and_guarantees_over_disjoint_paths_all_fit():
    f = fabric_at()
    reg = registry(f)
    for n in range(1, 9):  # eight guaranteed intents of 9 Mbit/s between disjoint host pairs
        reg.create({"src": f"10.0.0.{n}", "dst": f"10.0.0.{n + 8}", "rate_bps": PLANNABLE, "class": "guaranteed"})
    reg.create(body("10.0.0.9", 9 * MBIT))  # best-effort: admitted whatever the load
    assert len(reg) == 9


def test_only_changes_that_ask_for_more_are_checked():
    f = fabric_at()
    reg = registry(f)
    a = reg.create(gold(rate=PLANNABLE, name="a"))
    # the network shrinks under the admitted guarantee (host link now 5 Mbit/s): it is degraded ...
    f.link_info.hosts[DST] = f.link_info.hosts[DST].__class__(f.link_info.hosts[DST].name, f.hosts[DST].dpid, 5 * MBIT)
    renamed = reg.replace(a.id, gold(rate=PLANNABLE, name="a2"))  # ... a rename asks for nothing more
    assert renamed.name == "a2"
    lower = reg.replace(a.id, gold(rate=2 * MBIT, name="a2"))  # nor does a lower rate
    assert lower.rate_bps == 2 * MBIT
    with pytest.raises(AdmissionRefused):  # a higher one does
        reg.replace(a.id, gold(rate=5 * MBIT, name="a2"))


def test_bursts_must_drain_within_the_window():
    f = fabric_at()
    reg = registry(f, window_s=0.1)  # a 10 Mbit/s link drains 125,000 bytes in 100 ms
    reg.create(gold(rate=1 * MBIT, burst_bytes=100_000))
    with pytest.raises(AdmissionRefused) as refused:
        reg.create(gold("10.0.0.5", rate=1 * MBIT, burst_bytes=30_000))
    assert refused.value.field == "burst_bytes" and "125000 bytes" in str(refused.value)
    reg.create(gold("10.0.0.5", rate=1 * MBIT, burst_bytes=20_000))
    assert len(reg) == 2


def test_a_groups_cap_bounds_its_guarantees():
    f = fabric_at()
    reg = registry(f)
    reg.create_group({"name": "t", "rate_cap_bps": 5 * MBIT})
    reg.create(gold(group="t"))
    with pytest.raises(AdmissionRefused) as refused:
        reg.create(gold("10.0.0.5", 2 * MBIT, group="t"))
    assert refused.value.details["group"] == "t" and refused.value.details["largest_fitting_bps"] == 1 * MBIT
    with pytest.raises(AdmissionRefused) as lowered:
        reg.replace_group("t", {"name": "t", "rate_cap_bps": 3 * MBIT})
    assert lowered.value.field == "rate_cap_bps"
    with pytest.raises(GroupInUse):
        reg.delete_group("t")
    assert reg.get_group("t").rate_cap_bps == 5 * MBIT and len(reg) == 1


def test_an_apply_that_does_not_fit_changes_nothing_even_as_a_dry_run():
    f = fabric_at()
    reg = registry(f)
    desired = {"owner": "ci", "intents": [dict(gold(), name="a"), dict(gold("10.0.0.5", 6 * MBIT), name="b")]}
    for dry in (True, False):
        with pytest.raises(AdmissionRefused) as refused:
            reg.apply(dict(desired, dry_run=dry))
        assert refused.value.field == "intents[0].rate_bps" or refused.value.field == "intents[1].rate_bps"
    assert len(reg) == 0 and reg.generation == 0


@pytest.mark.parametrize("extra, field", [
    ({"class": "gold"}, "class"), ({"group": "nope"}, "group"), ({"burst_bytes": 100}, "burst_bytes"),
    ({"burst_bytes": 10 ** 13}, "burst_bytes"), ({"dscp": 64}, "dscp"), ({"dscp": "EF"}, "dscp"),
    ({"group": "bad name"}, "group"),
])
def test_bad_class_fields_name_the_field(extra, field):
    reg = IntentRegistry()
    with pytest.raises(InvalidIntent) as bad:
        reg.create(body("10.0.0.1", MBIT, **extra))
    assert bad.value.field == field and len(reg) == 0


@pytest.mark.parametrize("group, field", [
    ({"name": "t", "rate_cap_bps": 1e6, "guaranteed_bps": 2e6}, "rate_cap_bps"), ({"name": "t", "weight": 0}, "weight"),
    ({"name": "t", "weight": "3"}, "weight"), ({"name": "t", "colour": 1}, "colour"), ({"weight": 1}, "name"),
])
def test_bad_groups_name_the_field(group, field):
    reg = IntentRegistry()
    with pytest.raises(InvalidIntent) as bad:
        reg.create_group(group)
    assert bad.value.field == field and reg.groups() == {}


# --- plans -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("objective", ["max-min", "max-throughput", "min-mlu", "alpha-fair"])
def test_guarantees_are_served_first_and_best_effort_shares_the_rest(objective):
    f = fabric_at()
    reg = registry(f)
    for b in (gold(), body("10.0.0.2", 9 * MBIT), body("10.0.0.3", 9 * MBIT)):
        reg.create(b)
    p = plan(f, reg.list(), objective, k=4, headroom=0.1)
    got = [a.allocated_bps for a in p.allocations]
    assert got[0] == pytest.approx(4 * MBIT, rel=1e-6)
    assert sum(got[1:]) == pytest.approx(5 * MBIT, rel=1e-5)
    if objective == "max-min":
        assert got[1] == pytest.approx(2.5 * MBIT, rel=1e-5)


def test_a_broken_guarantee_is_degraded_with_its_shortfall_and_the_short_link():
    f = fabric_at()
    reg = IntentRegistry()
    reg.restore([r for r in _intents(gold(), gold("10.0.0.5"))])  # admitted earlier; now the host link is 5 Mbit/s
    f.link_info.hosts[DST] = f.link_info.hosts[DST].__class__(f.link_info.hosts[DST].name, f.hosts[DST].dpid, 5 * MBIT)
    p = plan(f, reg.list(), "max-min", k=4, headroom=0.1)
    assert [a.allocated_bps for a in p.allocations] == pytest.approx([2.25 * MBIT] * 2, rel=1e-5)
    assert all(a.degraded for a in p.allocations)
    assert (DST_EDGE, DST) in {(link["src"], link["dst"]) for link in p.allocations[0].short_links}
    views = allocation_views(reg.list(), p, {}, {i.id: (1.0, 2.0) for i in reg.list()})
    assert [v["state"] for v in views] == ["degraded", "degraded"]
    assert views[0]["shortfall_bps"] == pytest.approx(1.75 * MBIT, rel=1e-5)
    classes = class_views(reg.list(), views, {}, DscpPolicy())
    assert classes["classes"][1]["degraded"] == 2


def _intents(*bodies):
    reg = IntentRegistry()
    return [reg.create(b) for b in bodies]


def test_groups_share_by_weight_up_to_their_caps_in_a_plan():
    f = fabric_at()
    reg = registry(f)
    reg.create_group({"name": "t", "rate_cap_bps": 5 * MBIT})
    for n, w in ((1, 1), (2, 1), (3, 2)):
        reg.create(body(f"10.0.0.{n}", 4 * MBIT, weight=w, group="t"))
    p = plan(f, reg.list(), "max-min", k=4, headroom=0.1, groups=reg.groups())
    got = [a.allocated_bps for a in p.allocations]
    assert got == pytest.approx([1.25 * MBIT, 1.25 * MBIT, 2.5 * MBIT], rel=1e-5)  # the cap binds, split 1:1:2
    specs, _ = compile_te(p, IdSpace())
    meters = {m.meter_id: m.rate_kbps for m in specs if isinstance(m, MeterSpec)}
    assert sorted(meters.values()) == [1250, 1250, 2500]  # the group's meters add up to its cap
    # an ungrouped intent into the same host is a group of one with weight 1: the host link's 9 Mbit/s go
    # 4.5 to it and 4.5 to the group (below its cap), which splits them 1:1:2
    reg.create(body("10.0.0.4", 9 * MBIT))
    p = plan(f, reg.list(), "max-min", k=4, headroom=0.1, groups=reg.groups())
    got = [a.allocated_bps for a in p.allocations]
    assert got == pytest.approx([1.125 * MBIT, 1.125 * MBIT, 2.25 * MBIT, 4.5 * MBIT], rel=1e-5)


def test_a_groups_guaranteed_intents_count_against_its_cap():
    f = fabric_at()
    reg = registry(f)
    reg.create_group({"name": "t", "rate_cap_bps": 5 * MBIT})
    reg.create(gold(rate=2 * MBIT, group="t"))
    reg.create(body("10.0.0.2", 4 * MBIT, group="t"))
    reg.create(body("10.0.0.3", 4 * MBIT, group="t"))
    p = plan(f, reg.list(), "max-min", k=4, headroom=0.1, groups=reg.groups())
    assert [a.allocated_bps for a in p.allocations] == pytest.approx([2 * MBIT, 1.5 * MBIT, 1.5 * MBIT], rel=1e-5)
    reg.create(gold("10.0.0.4", rate=3 * MBIT, group="t"))  # the guarantees now use the whole cap
    p = plan(f, reg.list(), "max-min", k=4, headroom=0.1, groups=reg.groups())
    assert [a.allocated_bps for a in p.allocations] == pytest.approx([2 * MBIT, 0, 0, 3 * MBIT], abs=1)


# --- switches ----------------------------------------------------------------------------------------------
def test_ingress_marks_dscp_and_meters_take_the_intents_burst():
    f = fabric_at()
    reg = IntentRegistry()
    for b in (gold(burst_bytes=64_000), body("10.0.0.2", MBIT, priority=3), body("10.0.0.3", MBIT, dscp=40)):
        reg.create(b)
    p = plan(f, reg.list(), "max-min", k=4, headroom=0.1)
    ids = IdSpace()
    specs, _ = compile_te(p, ids, dscp=DscpPolicy(guaranteed=46, by_priority=(0, 10, 18, 26, 34, 34, 34, 34)))
    marks = {}
    for s in specs:
        if isinstance(s, FlowSpec) and s.meter_id is not None:
            marks[dict(s.match)["ipv4_src"]] = [a.value for a in s.actions if isinstance(a, SetField)]
    assert marks == {"10.0.0.1": [46], "10.0.0.2": [26], "10.0.0.3": [40]}
    meter = next(s for s in specs if isinstance(s, MeterSpec) and s.meter_id == ids.te_meters.lookup(reg.list()[0].id))
    assert meter.burst_kb == 512 and meter == meter_for(meter.dpid, meter.meter_id, 4 * MBIT, 50, 64_000)


def test_dscp_settings_are_checked():
    assert Settings(te_dscp_priorities="0,8,16,24,32,40,48,56").dscp.by_priority[7] == 56
    with pytest.raises(ValueError, match="te_dscp_priorities"):
        Settings(te_dscp_priorities="0,8,16")
    with pytest.raises(ValueError, match="te_dscp_guaranteed"):
        Settings(te_dscp_guaranteed=64)


# --- store and REST ----------------------------------------------------------------------------------------
def test_groups_and_class_fields_survive_a_restart(tmp_path):
    path = tmp_path / "intents.sqlite3"
    with IntentStore(path) as store:
        reg = IntentRegistry(persist=store.apply)
        reg.create_group({"name": "t", "weight": 3, "rate_cap_bps": 5e6, "guaranteed_bps": 1e6})
        made = reg.create(gold(group="t", burst_bytes=20_000, dscp=34))
        reg.create_group({"name": "gone"})
        reg.delete_group("gone")
    with IntentStore(path, read_only=True) as store:
        again = IntentRegistry()
        again.restore(store.load(), store.next_id(), store.load_groups())
    assert again.groups() == reg.groups() and again.list() == [made]


class Service:
    def __init__(self, reg):
        self.settings = Settings()
        self.intents = reg

    def intents_changed(self):
        pass

    def allocations_body(self):
        return {"allocations": []}

    def classes_body(self):
        return class_views(self.intents.list(), [], self.intents.groups(), self.settings.dscp)


def call(service, method, path, payload=None):
    raw = json.dumps(payload).encode() if payload is not None else b""
    return dispatch(service, method, "/te/v1" + path, raw, {"Content-Type": "application/json"})


def test_rest_groups_classes_and_an_admission_refusal():
    f = fabric_at()
    s = Service(registry(f))
    assert call(s, "POST", "/groups", {"name": "t", "weight": 2}).status == 201
    assert call(s, "POST", "/groups", {"name": "t"}).status == 409
    assert call(s, "PUT", "/groups/t", {"name": "t", "weight": 3}).body["version"] == 2
    assert call(s, "PUT", "/groups/t", {"name": "u"}).body["field"] == "name"
    assert call(s, "GET", "/groups/nope").status == 404
    assert call(s, "POST", "/intents", gold(group="t")).status == 201
    r = call(s, "POST", "/intents", gold("10.0.0.5", 6 * MBIT))
    assert r.status == 409 and r.body["field"] == "rate_bps" and r.body["links"]
    assert r.body["largest_fitting_bps"] == pytest.approx(5 * MBIT, rel=1e-5)
    assert call(s, "DELETE", "/groups/t").status == 409
    classes = call(s, "GET", "/classes").body
    assert [c["intents"] for c in classes["classes"]] == [0, 1] and classes["groups"][0]["name"] == "t"
    assert call(s, "GET", "/groups").body["groups"][0]["weight"] == 3
