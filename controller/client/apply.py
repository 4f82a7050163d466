"""``te-intent apply`` and ``get -o yaml`` as plain data: the controller's apply plan for people, and the
live intents as a file that ``apply`` takes back.

The plan itself is the controller's (``POST /te/v1/apply``, :func:`controller.intents.plan_set`): this
module turns its answer into :class:`Change` lines and builds the request and the exported file.
"""
from __future__ import annotations

from dataclasses import dataclass

from controller.intents import COMPARED, IntentError, Intent, parse_intent

from .api import intent_from_api, request_body
from .errors import Refused
from .formatting import format_match, format_rate

DEFAULT_OWNER = "te-intent"
OPS = ("create", "update", "delete", "unchanged")


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


def apply_request(intents, versions=(), owner: str | None = DEFAULT_OWNER, prune: bool = False,
                  selector: dict | None = None, everything: bool = False, dry_run: bool = True) -> dict:
    """The ``ApplyInput`` body for a file's ``intents`` (with the ``versions`` it gave, None for none).

    >>> i = parse_intent({"name": "web", "src": "10.0.0.1", "dst": "10.0.0.2", "rate_bps": 1e6}, "#1")
    >>> apply_request([i], [3], prune=True)  # doctest: +NORMALIZE_WHITESPACE
    {'intents': [{'name': 'web', 'src': '10.0.0.1', 'dst': '10.0.0.2', 'rate_bps': 1000000.0, 'priority': 0,
                  'weight': 1.0, 'match': {}, 'version': 3}], 'owner': 'te-intent', 'dry_run': True, 'prune': True}
    """
    versions = list(versions) + [None] * (len(intents) - len(versions))
    body = {"intents": [request_body(i) | ({"version": v} if v is not None else {}) for i, v in zip(intents, versions)],
            "owner": owner, "dry_run": dry_run}
    if prune:
        body["prune"] = True
    if selector:
        body["selector"] = dict(selector)
    if everything:
        body["all"] = True
    return body


def seen_versions(plan: dict) -> dict:
    """The ``if_match`` of the apply that follows a dry run: ``{id: version}`` of what it updates or deletes.

    >>> seen_versions({"changes": [{"op": "update", "id": "4", "version": 2}, {"op": "create", "id": None},
    ...                            {"op": "unchanged", "id": "1", "version": 1},
    ...                            {"op": "delete", "id": "7", "version": 5}]})
    {'4': 2, '7': 5}
    """
    return {c["id"]: c["version"] for c in plan["changes"] if c["op"] in ("update", "delete")}


def changes_from_api(result: dict) -> list:
    """The :class:`Change` of every entry of an ``ApplyResult``'s ``changes``, in its order.

    Raises :class:`Refused` for an entry this client cannot read.

    >>> current = {"id": "4", "name": "web", "src": "10.0.0.1", "dst": "10.0.0.2", "rate_bps": 1e6, "priority": 0,
    ...            "weight": 1, "match": {}, "labels": {}, "version": 2}
    >>> desired = {k: v for k, v in current.items() if k not in ("id", "version")} | {"rate_bps": 2e6}
    >>> [describe_change(c) for c in changes_from_api({"changes": [
    ...     {"op": "update", "name": "web", "id": "4", "current": current, "desired": desired}]})]
    ['~ web (id 4): rate_bps: 1 Mbit/s -> 2 Mbit/s']
    """
    changes = []
    for obj in result.get("changes", []):
        current = intent_from_api(obj["current"]) if obj.get("current") is not None else None
        desired = None
        if obj.get("desired") is not None:
            try:
                desired = parse_intent(obj["desired"], obj.get("id") or "new")
            except (IntentError, TypeError, ValueError, AttributeError) as exc:
                raise Refused(f"the controller sent an apply change this client cannot read ({exc}): {obj!r}") from None
        if (obj["op"] != "create" and current is None) or (obj["op"] != "delete" and desired is None):
            raise Refused(f"the controller sent an apply change without its intents: {obj!r}")
        changes.append(Change(obj["op"], obj.get("name"), current, desired))
    return changes


def describe_change(change: Change) -> str:
    """The diff line of one change, as ``apply`` prints it.

    >>> a = parse_intent({"src": "10.0.0.1", "dst": "10.0.0.2", "rate_bps": 2e6, "name": "web"}, "4")
    >>> b = parse_intent({"src": "10.0.0.1", "dst": "10.0.0.2", "rate_bps": 3e6, "name": "web",
    ...                   "match": {"ip_proto": 6}, "labels": {"owner": "ops"}}, "f")
    >>> describe_change(Change("update", "web", a, b))
    '~ web (id 4): rate_bps: 2 Mbit/s -> 3 Mbit/s, match: - -> ip_proto=6, labels: - -> owner=ops'
    >>> describe_change(Change("create", "web", None, b))
    '+ web: 10.0.0.1 -> 10.0.0.2 3 Mbit/s priority 0 weight 1 match ip_proto=6 labels owner=ops'
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
    """What ``intent`` asks for, on one line (``add`` and ``apply`` print it); labels only when it has some.

    >>> summary(parse_intent({"src": "10.0.0.1", "dst": "10.0.0.2", "rate_bps": 4e6, "labels": {"team": "a"}}, "1"))
    '10.0.0.1 -> 10.0.0.2 4 Mbit/s priority 0 weight 1 match - labels team=a'
    """
    text = (f"{intent.src} -> {intent.dst} {format_rate(intent.rate_bps)} priority {intent.priority} "
            f"weight {intent.weight:g} match {format_match(intent.match.as_dict())}")
    if intent.labels:
        text += f" labels {format_labels(dict(intent.labels))}"
    return text


def format_labels(labels: dict) -> str:
    """``owner=ops team=video``, or ``-`` for none.

    >>> format_labels({"owner": "ops", "team": "video"}), format_labels({})
    ('owner=ops team=video', '-')
    """
    return " ".join(f"{k}={v}" for k, v in labels.items()) or "-"


def _show_field(name, value) -> str:
    if name == "rate_bps":
        return format_rate(value)
    if name == "match":
        return format_match(value.as_dict())
    if name == "labels":
        return format_labels(dict(value))
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def export_document(intents: list, versions: bool = True) -> tuple:
    """``(document, skipped)``: the API's intents as an intent file that ``apply`` takes back unchanged.

    Every named intent with its fields (defaults and an empty match left out), its labels and, with
    ``versions``, the version it is at (so that applying the file refuses a change made since). When
    every intent has the same ``owner`` label, the document says it once as ``owner:``. Intents
    without a name cannot be applied (apply matches by name): they are ``skipped``.

    >>> doc, skipped = export_document([
    ...     {"id": "1", "name": "web", "src": "10.0.0.1", "dst": "10.0.0.2", "rate_bps": 4e6, "priority": 1,
    ...      "weight": 1.0, "match": {"ip_proto": 6}, "labels": {"owner": "ops", "team": "a"}, "version": 3},
    ...     {"id": "2", "name": None, "src": "10.0.0.3", "dst": "10.0.0.2", "rate_bps": 1e6, "priority": 0,
    ...      "weight": 1.0, "match": {}, "labels": {}, "version": 1}])
    >>> doc
    {'owner': 'ops', 'intents': [{'name': 'web', 'src': '10.0.0.1', 'dst': '10.0.0.2', 'rate_bps': 4000000, 'priority': 1, 'match': {'ip_proto': 6}, 'labels': {'team': 'a'}, 'version': 3}]}
    >>> [i["id"] for i in skipped]
    ['2']
    """
    named = [i for i in intents if i.get("name")]
    skipped = [i for i in intents if not i.get("name")]
    owners = {(i.get("labels") or {}).get("owner") for i in named}
    owner = owners.pop() if len(owners) == 1 and None not in owners else None
    out = []
    for obj in named:
        entry = {"name": obj["name"], "src": obj["src"], "dst": obj["dst"], "rate_bps": _number(obj["rate_bps"])}
        if obj.get("priority", 0) != 0:
            entry["priority"] = obj["priority"]
        if obj.get("weight", 1) != 1:
            entry["weight"] = _number(obj["weight"])
        if obj.get("match"):
            entry["match"] = dict(obj["match"])
        labels = {k: v for k, v in (obj.get("labels") or {}).items() if not (owner is not None and k == "owner")}
        if labels:
            entry["labels"] = labels
        if versions and obj.get("version") is not None:
            entry["version"] = obj["version"]
        out.append(entry)
    document = {"owner": owner} if owner is not None else {}
    document["intents"] = out
    return document, skipped


def _number(value):
    """An integral float as an int (``4000000`` rather than ``4000000.0`` in a file); same value either way.

    >>> _number(4e6), _number(2.5), _number(3)
    (4000000, 2.5, 3)
    """
    return int(value) if isinstance(value, float) and value.is_integer() and abs(value) < 2 ** 53 else value
