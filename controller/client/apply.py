"""``te-intent apply`` and ``get -o yaml`` as plain data: the controller's apply plan for people, the
group changes that come first, and the live intents and groups as a file that ``apply`` takes back.

The plan of the intents is the controller's (``POST /te/v1/apply``, :func:`controller.intents.plan_set`):
this module turns its answer into :class:`Change` lines and builds the request and the exported file.
Groups have no apply of their own: :func:`plan_groups` compares the file's groups with the live ones
(``GET /te/v1/groups``) and ``apply`` creates or replaces (PUT) those that differ, before the intents.
"""
from __future__ import annotations

from dataclasses import dataclass

from controller.intents import (
    BEST_EFFORT, Intent, IntentError, IntentGroup, parse_apply, parse_group, parse_intent, plan_set,
)

from .api import intent_from_api, request_body
from .errors import Refused
from .formatting import format_bytes, format_dscp, format_match, format_rate

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
        return self.current.differences(self.desired)  # named as in the API: class, not service_class


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
    >>> c = parse_intent({"src": "10.0.0.1", "dst": "10.0.0.2", "rate_bps": 2e6, "name": "web", "class": "guaranteed",
    ...                   "group": "video", "dscp": 34}, "f")
    >>> describe_change(Change("update", "web", a, c))
    '~ web (id 4): class: best-effort -> guaranteed, group: - -> video, dscp: - -> 34 (AF41)'
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
    """What ``intent`` asks for, on one line (``add`` and ``apply`` print it); labels, a class other than
    best-effort, a group, a burst and a DSCP only when it has them.

    >>> summary(parse_intent({"src": "10.0.0.1", "dst": "10.0.0.2", "rate_bps": 4e6, "labels": {"team": "a"}}, "1"))
    '10.0.0.1 -> 10.0.0.2 4 Mbit/s priority 0 weight 1 match - labels team=a'
    >>> summary(parse_intent({"src": "10.0.0.1", "dst": "10.0.0.2", "rate_bps": 4e6, "class": "guaranteed",
    ...                       "group": "video", "burst_bytes": 64000, "dscp": 46}, "1"))
    '10.0.0.1 -> 10.0.0.2 4 Mbit/s priority 0 weight 1 match - class guaranteed group video burst 64000 bytes dscp 46 (EF)'
    """
    text = (f"{intent.src} -> {intent.dst} {format_rate(intent.rate_bps)} priority {intent.priority} "
            f"weight {intent.weight:g} match {format_match(intent.match.as_dict())}")
    if intent.labels:
        text += f" labels {format_labels(dict(intent.labels))}"
    if intent.service_class != BEST_EFFORT:
        text += f" class {intent.service_class}"
    if intent.group is not None:
        text += f" group {intent.group}"
    if intent.burst_bytes is not None:
        text += f" burst {format_bytes(intent.burst_bytes)}"
    if intent.dscp is not None:
        text += f" dscp {format_dscp(intent.dscp)}"
    return text


def format_labels(labels: dict) -> str:
    """``owner=ops team=video``, or ``-`` for none.

    >>> format_labels({"owner": "ops", "team": "video"}), format_labels({})
    ('owner=ops team=video', '-')
    """
    return " ".join(f"{k}={v}" for k, v in labels.items()) or "-"


def _show_field(name, value) -> str:
    if value is None:
        return "-"
    if name in ("rate_bps", "rate_cap_bps", "guaranteed_bps"):
        return format_rate(value)
    if name == "burst_bytes":
        return format_bytes(value)
    if name == "dscp":
        return format_dscp(value)
    if name == "match":
        return format_match(value.as_dict())
    if name == "labels":
        return format_labels(dict(value))
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def export_document(intents: list, versions: bool = True, groups=()) -> tuple:
    """``(document, skipped)``: the API's intents (and ``groups``) as an intent file that ``apply`` takes
    back unchanged.

    Every named intent with its fields (defaults, an empty match, class best-effort and unset fields
    left out), its labels and, with ``versions``, the version it is at (so that applying the file refuses
    a change made since). When every intent has the same ``owner`` label, the document says it once as
    ``owner:``. Intents without a name cannot be applied (apply matches by name): they are ``skipped``.
    The API's ``groups`` (``GET /te/v1/groups``) come first, as ``groups:``, likewise without defaults.

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
        if obj.get("class", BEST_EFFORT) != BEST_EFFORT:
            entry["class"] = obj["class"]
        for key in ("group", "burst_bytes", "dscp"):
            if obj.get(key) is not None:
                entry[key] = obj[key]
        if versions and obj.get("version") is not None:
            entry["version"] = obj["version"]
        out.append(entry)
    document = {"owner": owner} if owner is not None else {}
    if groups:
        document["groups"] = [export_group(g, versions) for g in groups]
    document["intents"] = out
    return document, skipped


def export_group(obj: dict, versions: bool = True) -> dict:
    """One group of the API (``Group``) as a file's ``groups:`` entry: weight 1 and unset rates left out.

    >>> export_group({"name": "video", "weight": 3.0, "rate_cap_bps": 5e6, "guaranteed_bps": None, "version": 2})
    {'name': 'video', 'weight': 3, 'rate_cap_bps': 5000000, 'version': 2}
    """
    entry = {"name": obj["name"]}
    if obj.get("weight", 1) != 1:
        entry["weight"] = _number(obj["weight"])
    for key in ("rate_cap_bps", "guaranteed_bps"):
        if obj.get(key) is not None:
            entry[key] = _number(obj[key])
    if versions and obj.get("version") is not None:
        entry["version"] = obj["version"]
    return entry


def _number(value):
    """An integral float as an int (``4000000`` rather than ``4000000.0`` in a file); same value either way.

    >>> _number(4e6), _number(2.5), _number(3)
    (4000000, 2.5, 3)
    """
    return int(value) if isinstance(value, float) and value.is_integer() and abs(value) < 2 ** 53 else value


# --- groups ---------------------------------------------------------------------------------------------

GROUP_FIELDS_SHOWN = ("weight", "rate_cap_bps", "guaranteed_bps")


@dataclass(frozen=True)
class GroupChange:
    """What ``apply`` does to one group of its file: ``op`` is create, update or unchanged (never delete)."""

    op: str
    current: IntentGroup | None  # the live group (None for a create)
    desired: IntentGroup

    @property
    def name(self) -> str:
        return self.desired.name

    def fields(self) -> list:
        """``[(field, old, new), ...]`` that an update changes."""
        if self.current is None:
            return []
        return [(f, getattr(self.current, f), getattr(self.desired, f)) for f in GROUP_FIELDS_SHOWN
                if getattr(self.current, f) != getattr(self.desired, f)]

    def as_dict(self) -> dict:
        """As ``apply --json`` shows it: the live ``Group`` (None for a create) and the ``GroupInput`` sent."""
        return {"op": self.op, "name": self.name,
                "current": self.current.as_dict() if self.current is not None else None,
                "desired": self.desired.request(),
                "fields": {f: {"old": old, "new": new} for f, old, new in self.fields()}}


def group_from_api(obj) -> IntentGroup:
    """An :class:`IntentGroup` from the API's ``Group`` JSON (validated like a request)."""
    try:
        body = {k: obj[k] for k in ("name", "weight", "rate_cap_bps", "guaranteed_bps") if obj.get(k) is not None}
        return parse_group(body, None, int(obj.get("version", 1)))
    except (IntentError, KeyError, TypeError, ValueError, AttributeError) as exc:
        raise Refused(f"the controller sent a group this client cannot read ({exc}): {obj!r}") from None


def plan_groups(desired, versions, live: list) -> list:
    """The :class:`GroupChange` of every group of a file, in its order, against the ``live`` API groups.

    ``versions``: per desired group, the ``version:`` it was based on (None for none); a group at another
    version (or gone) is refused, as the controller refuses a stale intent (412): nothing is sent.

    >>> video = parse_group({"name": "video", "weight": 3})
    >>> live = [{"name": "video", "weight": 1.0, "rate_cap_bps": None, "guaranteed_bps": None, "version": 2}]
    >>> [(c.op, c.fields()) for c in plan_groups([video, parse_group({"name": "bulk"})], [2, None], live)]
    [('update', [('weight', 1.0, 3.0)]), ('create', [])]
    >>> plan_groups([video], [1], live)
    Traceback (most recent call last):
    ...
    controller.client.errors.Refused: group 'video' was based on version 1 of the live group, which is at version 2 now; read it again
    """
    by_name = {g["name"]: group_from_api(g) for g in live}
    changes = []
    for group, version in zip(desired, list(versions) + [None] * (len(desired) - len(versions))):
        have = by_name.get(group.name)
        if version is not None and (have is None or have.version != version):
            now = "no longer exists" if have is None else f"is at version {have.version} now"
            raise Refused(f"group {group.name!r} was based on version {version} of the live group, which {now}; "
                          "read it again", 412)
        if have is None:
            changes.append(GroupChange("create", None, group))
        elif have.request() == group.request():
            changes.append(GroupChange("unchanged", have, have))
        else:
            changes.append(GroupChange("update", have, group))
    return changes


def group_summary(group: IntentGroup) -> str:
    """What a group asks for, on one line: its weight, and its cap and guaranteed rate when it has them.

    >>> group_summary(parse_group({"name": "video", "weight": 3, "rate_cap_bps": 5e6}))
    'weight 3 cap 5 Mbit/s'
    """
    text = f"weight {group.weight:g}"
    if group.rate_cap_bps is not None:
        text += f" cap {format_rate(group.rate_cap_bps)}"
    if group.guaranteed_bps is not None:
        text += f" guaranteed {format_rate(group.guaranteed_bps)}"
    return text


def describe_group_change(change: GroupChange) -> str:
    """The diff line of one group change, as ``apply`` prints it (before the intents' lines).

    >>> old, new = parse_group({"name": "video"}), parse_group({"name": "video", "rate_cap_bps": 5e6})
    >>> describe_group_change(GroupChange("update", old, new))
    '~ group video: rate_cap_bps: - -> 5 Mbit/s'
    >>> describe_group_change(GroupChange("create", None, new))
    '+ group video: weight 1 cap 5 Mbit/s'
    >>> describe_group_change(GroupChange("unchanged", old, old))
    '= group video'
    """
    symbol = Change.SYMBOL[change.op]
    if change.op == "create":
        return f"{symbol} group {change.name}: {group_summary(change.desired)}"
    if change.op == "update":
        return f"{symbol} group {change.name}: " + ", ".join(
            f"{f}: {_show_field(f, old)} -> {_show_field(f, new)}" for f, old, new in change.fields())
    return f"{symbol} group {change.name}"


def local_plan(body: dict, live: list, known_groups) -> dict:
    """The ``ApplyResult`` of a dry run of ``body`` against the ``live`` API intents, planned here.

    For a dry run whose intents name groups the controller does not have yet (the file creates them):
    the controller would refuse to plan them. The same plan (:func:`controller.intents.plan_set`), but
    hosts and admission are not checked: the controller does that when the apply is made.
    """
    intents = [intent_from_api(obj) for obj in live]
    numbers = [int(i.id) for i in intents if i.id.isdigit()]
    try:
        request = parse_apply(body, None, known_groups)
        return plan_set(request, intents, max(numbers, default=0) + 1).as_dict()
    except IntentError as exc:
        raise Refused(f"the controller would refuse this apply: {exc}" + (f" (field {exc.field})" if exc.field else ""),
                      exc.status) from None
