"""Diff desired against installed switch state into an ordered, make-before-break change list.

Order (each phase separated by a :data:`BARRIER`; the sender waits for every
switch touched so far to confirm a barrier before going on, so a phase is in
place on *all* switches before the next starts):

1. new meters and groups (a flow may only reference what exists);
2. new and changed flows that steer nothing: label switching on transit and
   egress switches, delivery to hosts (a new tunnel is complete...);
3. new and changed flows that hand packets to a group or meter (...before any
   ingress classifier or route starts pushing its label);
4. changed groups and meters (traffic moves onto the new paths): meters that lower a rate first,
   then groups, then meters that raise one, so that on every switch an intent's traffic on each
   path stays at most the larger of its old and new rate while the switch applies both
   (what congestion-free staged updates, ``te_update_scratch``, count on);
5. deleted flows (nothing references the old entries any more...);
6. deleted groups and meters (...so removing them cannot take live flows with them:
   OpenFlow deletes the flows that point at a deleted group).

A trailing barrier lets the sender know when everything is in place.
"""
from __future__ import annotations

from dataclasses import dataclass

from .specs import FlowSpec, GroupSpec, MeterSpec, State

ADD = "add"
MODIFY = "modify"
DELETE = "delete"


@dataclass(frozen=True)
class Change:
    op: str  # ADD, MODIFY or DELETE
    spec: object  # FlowSpec, GroupSpec or MeterSpec (for DELETE: the installed one)

    @property
    def dpid(self) -> int:
        return self.spec.dpid


class _Barrier:
    def __repr__(self) -> str:
        return "BARRIER"


BARRIER = _Barrier()


def _sort_key(spec) -> tuple:
    # Deterministic order inside a phase (by switch, then identity).
    return (spec.dpid, repr(spec.key))


def diff(installed: State, desired: State) -> list:
    """Return the changes that turn ``installed`` into ``desired``.

    Parameters
    ----------
    installed, desired : State
        Entries currently on the switches and entries that should be there.

    Returns
    -------
    list
        :class:`Change` items and :data:`BARRIER` markers, in the order to send.
        Empty when the states are equal.

    Examples
    --------
    >>> from controller.specs import FlowSpec, State, match
    >>> f = FlowSpec(1, 0, 10, match(in_port=1))
    >>> diff(State.of([]), State.of([f]))
    [Change(op='add', spec=FlowSpec(dpid=1, table_id=0, priority=10, match=(('in_port', 1),), actions=(), goto_table=None, meter_id=None, cookie=0)), BARRIER]
    """
    old, new = installed.entries, desired.entries
    added = sorted((new[k] for k in new.keys() - old.keys()), key=_sort_key)
    removed = sorted((old[k] for k in old.keys() - new.keys()), key=_sort_key)
    changed = sorted((new[k] for k in new.keys() & old.keys() if new[k] != old[k]), key=_sort_key)

    def of_kind(specs, *kinds):
        return [s for s in specs if isinstance(s, kinds)]

    def flows(steering):
        return [Change(op, s) for op, specs in ((ADD, added), (MODIFY, changed))
                for s in of_kind(specs, FlowSpec) if s.steers == steering]

    meters = of_kind(changed, MeterSpec)
    lower = {s for s in meters if s.rate_kbps < old[s.key].rate_kbps}
    phases = [
        [Change(ADD, s) for s in of_kind(added, MeterSpec, GroupSpec)],
        flows(steering=False),
        flows(steering=True),
        [Change(MODIFY, s) for s in meters if s in lower],
        [Change(MODIFY, s) for s in of_kind(changed, GroupSpec)],
        [Change(MODIFY, s) for s in meters if s not in lower],
        [Change(DELETE, s) for s in of_kind(removed, FlowSpec)],
        [Change(DELETE, s) for s in of_kind(removed, MeterSpec, GroupSpec)],
    ]
    out: list = []
    for phase in phases:
        if phase:
            out.extend(phase)
            out.append(BARRIER)
    return out


def apply(state: State, changes) -> State:
    """The state after ``changes`` were carried out (barriers ignored)."""
    entries = dict(state.entries)
    for change in changes:
        if change is BARRIER:
            continue
        if change.op == DELETE:
            entries.pop(change.spec.key, None)
        else:
            entries[change.spec.key] = change.spec
    return State(entries)
