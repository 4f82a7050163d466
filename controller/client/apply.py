"""``te-intent apply`` as plain data: the plan that makes the controller's intents match a file."""
from __future__ import annotations

from dataclasses import dataclass

from controller.intents import Intent

from .formatting import format_match, format_rate

COMPARED = ("src", "dst", "rate_bps", "priority", "weight", "match")


@dataclass(frozen=True)
class Change:
    """One line of an apply: ``op`` is create, update, delete or unchanged."""

    op: str
    name: str | None
    current: Intent | None = None
    desired: Intent | None = None

    SYMBOL = {"create": "+", "update": "~", "delete": "-", "unchanged": "="}

    @property
    def intent_id(self) -> str | None:
        return self.current.id if self.current else None

    def fields(self) -> list:
        """``[(field, old, new), ...]`` that an update changes, in API order."""
        if self.current is None or self.desired is None:
            return []
        return [(f, getattr(self.current, f), getattr(self.desired, f)) for f in COMPARED
                if getattr(self.current, f) != getattr(self.desired, f)]


@dataclass(frozen=True)
class Plan:
    changes: tuple  # of Change, in the order they are applied
    left_alone: tuple  # of Intent: on the controller, not in the file, kept because there is no --prune

    def count(self, op: str) -> int:
        return sum(1 for c in self.changes if c.op == op)


def plan_apply(desired, current, prune: bool = False) -> Plan:
    """What makes the controller's intents ``current`` match the file's ``desired``, keyed by name.

    Creates come first (the controller may still refuse one, e.g. for an unknown host, and
    then nothing has been removed yet), then updates, then deletes; unchanged intents last.

    Parameters
    ----------
    desired : list of Intent
        From the file, each with a unique name.
    current : list of Intent
        On the controller, in its order.
    prune : bool
        Delete intents the file does not name (and unnamed ones); otherwise leave them alone.

    Examples
    --------
    >>> from controller.intents import parse_intent
    >>> def I(name, rate, id="f"):
    ...     return parse_intent({"src": "10.0.0.1", "dst": "10.0.0.2", "rate_bps": rate, "name": name}, id)
    >>> plan = plan_apply([I("a", 1e6), I("b", 2e6), I("c", 3e6)],
    ...                   [I("b", 2e6, "1"), I("c", 1e6, "2"), I("old", 1e6, "3")], prune=True)
    >>> [(c.op, c.name, c.intent_id) for c in plan.changes]
    [('create', 'a', None), ('update', 'c', '2'), ('delete', 'old', '3'), ('unchanged', 'b', '1')]
    >>> plan.changes[1].fields()
    [('rate_bps', 1000000.0, 3000000.0)]
    >>> [i.name for i in plan_apply([I("a", 1e6)], [I("old", 1e6, "3")]).left_alone]
    ['old']
    """
    by_name = {i.name: i for i in current if i.name is not None}
    wanted = {i.name for i in desired}
    creates, updates, unchanged = [], [], []
    for intent in desired:
        have = by_name.get(intent.name)
        if have is None:
            creates.append(Change("create", intent.name, None, intent))
        elif have.same_request(intent):
            unchanged.append(Change("unchanged", intent.name, have, intent))
        else:
            updates.append(Change("update", intent.name, have, intent))
    strays = [i for i in current if i.name not in wanted]
    deletes = [Change("delete", i.name, i, None) for i in strays] if prune else []
    return Plan(tuple(creates + updates + deletes + unchanged), () if prune else tuple(strays))


def describe_change(change: Change) -> str:
    """The diff line of one change, as ``apply`` prints it.

    >>> from controller.intents import parse_intent
    >>> a = parse_intent({"src": "10.0.0.1", "dst": "10.0.0.2", "rate_bps": 2e6, "name": "web"}, "4")
    >>> b = parse_intent({"src": "10.0.0.1", "dst": "10.0.0.2", "rate_bps": 3e6, "name": "web",
    ...                   "match": {"ip_proto": 6}}, "f")
    >>> describe_change(Change("update", "web", a, b))
    '~ web (id 4): rate_bps: 2 Mbit/s -> 3 Mbit/s, match: - -> ip_proto=6'
    >>> describe_change(Change("create", "web", None, b))
    '+ web: 10.0.0.1 -> 10.0.0.2 3 Mbit/s priority 0 weight 1 match ip_proto=6'
    """
    symbol = Change.SYMBOL[change.op]
    label = change.name if change.name is not None else "(unnamed)"
    if change.intent_id is not None:
        label += f" (id {change.intent_id})"
    if change.op == "create":
        return f"{symbol} {label}: {summary(change.desired)}"
    if change.op == "update":
        return f"{symbol} {label}: " + ", ".join(
            f"{f}: {_show_field(f, old)} -> {_show_field(f, new)}" for f, old, new in change.fields())
    if change.op == "delete":
        return f"{symbol} {label}: {summary(change.current)}"
    return f"{symbol} {label}"


def summary(intent: Intent) -> str:
    """What ``intent`` asks for, on one line (``add`` and ``apply`` print it)."""
    return (f"{intent.src} -> {intent.dst} {format_rate(intent.rate_bps)} priority {intent.priority} "
            f"weight {intent.weight:g} match {format_match(intent.match.as_dict())}")


def _show_field(name, value) -> str:
    if name == "rate_bps":
        return format_rate(value)
    if name == "match":
        return format_match(value.as_dict())
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def change_json(change: Change, done: bool) -> dict:
    return {"op": change.op, "name": change.name, "id": change.intent_id, "done": done,
            "fields": {f: [_jsonable(old), _jsonable(new)] for f, old, new in change.fields()}}


def _jsonable(value):
    return value.as_dict() if hasattr(value, "as_dict") else value
