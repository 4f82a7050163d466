import pytest

from controller.reconcile import ADD, BARRIER, DELETE, MODIFY, apply, diff
from controller.specs import Bucket, FlowSpec, GroupSpec, MeterSpec, Output, State, ToGroup, match


def flow(dpid=1, port=1, prio=10, **m):
    return FlowSpec(dpid, 1, prio, match(**(m or {"ipv4_dst": "10.0.0.1", "eth_type": 0x0800})), (Output(port),))


def group(dpid=1, gid=1, ports=(1, 2)):
    return GroupSpec(dpid, gid, "select", tuple(Bucket((Output(p),)) for p in ports))


def phases(changes):
    """Split a change list at barriers into lists of (op, spec type name)."""
    out, cur = [], []
    for c in changes:
        if c is BARRIER:
            out.append(cur)
            cur = []
        else:
            cur.append((c.op, type(c.spec).__name__))
    assert cur == [], "a change list ends with a barrier"
    return out


def test_equal_states_give_no_changes():
    s = State.of([flow(), group()])
    assert diff(s, State.of([group(), flow()])) == []


def test_add_puts_groups_and_meters_before_flows_that_use_them():
    f = FlowSpec(1, 1, 10, match(eth_type=0x0800, ipv4_dst="10.0.0.2"), (ToGroup(1),), meter_id=3)
    changes = diff(State(), State.of([f, group(), MeterSpec(1, 3, 1000, 100)]))
    assert phases(changes) == [[(ADD, "GroupSpec"), (ADD, "MeterSpec")], [(ADD, "FlowSpec")]]


def test_delete_removes_flows_before_groups():
    f = FlowSpec(1, 1, 10, match(eth_type=0x0800, ipv4_dst="10.0.0.2"), (ToGroup(1),))
    changes = diff(State.of([f, group()]), State())
    assert phases(changes) == [[(DELETE, "FlowSpec")], [(DELETE, "GroupSpec")]]


def test_make_before_break_order_of_all_phases():
    old = State.of([flow(port=1), group(gid=1, ports=(1, 2)), flow(dpid=2), group(gid=9)])
    new = State.of([flow(port=2), group(gid=1, ports=(2,)), group(gid=5), flow(dpid=3)])
    assert phases(diff(old, new)) == [
        [(ADD, "GroupSpec")],  # group 5 exists before anything could use it
        [(ADD, "FlowSpec"), (MODIFY, "FlowSpec")],  # new and changed flows...
        [(MODIFY, "GroupSpec")],  # ...before a group moves traffic onto them
        [(DELETE, "FlowSpec")],  # old flows go only then...
        [(DELETE, "GroupSpec")],  # ...and groups last (deleting a group deletes the flows using it)
    ]


def test_apply_reaches_the_desired_state():
    old = State.of([flow(port=1), group(gid=1), flow(dpid=2)])
    new = State.of([flow(port=2), group(gid=1, ports=(3,)), flow(dpid=3)])
    assert apply(old, diff(old, new)).entries == new.entries


def test_state_rejects_two_specs_for_one_entry():
    with pytest.raises(ValueError, match="two different specs"):
        State.of([flow(port=1), flow(port=2)])


def test_select_bucket_weight_zero_is_rejected():
    with pytest.raises(ValueError, match="weights must be > 0"):
        GroupSpec(1, 1, "select", (Bucket((Output(1),), weight=0),))


def test_replace_dpid_and_for_dpid():
    s = State.of([flow(dpid=1), flow(dpid=2)])
    s2 = s.replace_dpid(2, [flow(dpid=2, port=7)])
    assert s2.for_dpid(1).entries == s.for_dpid(1).entries
    assert [f.actions for f in s2.for_dpid(2)] == [(Output(7),)]
