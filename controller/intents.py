"""Demand intents: validation of what an operator asks for, and the registry that holds them.

Plain code (no Ryu, no HTTP): the REST layer turns requests into calls here and
:class:`InvalidIntent` into 4xx answers; the TE loop reads :meth:`IntentRegistry.list`.
Every accepted change bumps :attr:`IntentRegistry.generation`, so a loop can tell
whether anything changed since it last looked. See ``docs/openapi.yaml``.

Intents carry ``labels``, a small string-to-string map for people and tools (not MPLS labels); the
label ``owner`` says which tool or file manages an intent. :meth:`IntentRegistry.apply` makes the
intents match a whole desired set at once (``POST /te/v1/apply``): it validates all of it against the
live intents (:func:`parse_apply`, :func:`plan_set`) and then changes everything in one write, or
nothing.
"""
from __future__ import annotations

import ipaddress
import math
import re
from dataclasses import asdict, dataclass, field, replace

MIN_RATE_BPS = 1000  # 1 kbit/s: a switch meter's rate is a whole number of kbit/s, so nothing slower is enforced
MAX_RATE_BPS = 1e12  # 1 Tbit/s: anything above is a typo, not a demand
MAX_PRIORITY = 7
MAX_WEIGHT = 1000.0
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")  # fullmatch: "$" would let a final newline in
INPUT_FIELDS = ("src", "dst", "rate_bps", "priority", "weight", "match", "name", "labels", "class", "group",
                "burst_bytes", "dscp")
BEST_EFFORT, GUARANTEED = "best-effort", "guaranteed"
CLASSES = (BEST_EFFORT, GUARANTEED)  # an intent's ``class`` (see docs/openapi.yaml)
# A meter band's burst is a 32-bit count of kilobits (OpenFlow 1.3); below one full frame a meter drops
# every full-sized packet.
MIN_BURST_BYTES = 1514
MAX_BURST_BYTES = (2 ** 32 - 1) * 1000 // 8
MAX_DSCP = 63
GROUP_FIELDS = ("name", "weight", "rate_cap_bps", "guaranteed_bps")
MATCH_FIELDS = ("ip_proto", "tp_src", "tp_dst")
L4_PROTOS = (6, 17)
MAX_LABELS = 16
# Keys like names (plus '/', for prefixes such as example.com/team); values also allow ':', '@' and '+'.
LABEL_KEY_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,62}")  # fullmatch
LABEL_VALUE_RE = re.compile(r"[A-Za-z0-9._:@/+-]{1,128}")  # fullmatch
OWNER = "owner"  # the label that says who manages an intent (apply's owner, its prune scope)
# What an apply compares to tell an update from an unchanged intent (the name is what it matches on).
COMPARED = ("src", "dst", "rate_bps", "priority", "weight", "match", "labels", "service_class", "group",
            "burst_bytes", "dscp")
API_NAMES = {"service_class": "class"}  # attribute -> JSON field, where they differ ("class" is a Python keyword)
APPLY_FIELDS = ("intents", "owner", "selector", "prune", "all", "dry_run", "if_match")


class IntentError(Exception):
    """A request the registry refuses; ``status`` is the HTTP status that fits, ``field`` the culprit."""

    status = 400

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


class InvalidIntent(IntentError):
    status = 400


class UnknownIntent(IntentError):
    status = 404


class DuplicateName(IntentError):
    status = 409


class DuplicateTraffic(IntentError):
    """Another intent already claims exactly this traffic (same hosts and match): a switch could not tell them apart."""

    status = 409


class OwnershipConflict(IntentError):
    """An apply would take over an intent that another owner manages."""

    status = 409


class AdmissionRefused(IntentError):
    """A guaranteed intent (or a change of one, or of its group) that the network cannot carry in full.

    ``details`` goes into the 409 body: the links that would overflow and the largest rate that fits.
    """

    status = 409

    def __init__(self, message: str, field: str | None = None, details: dict | None = None):
        super().__init__(message, field)
        self.details = details or {}


class GroupInUse(IntentError):
    """A group that intents still name cannot be deleted."""

    status = 409


class PreconditionFailed(IntentError):
    """The client's view is stale: an intent changed (or appeared, or went) since it read it (If-Match, version)."""

    status = 412


@dataclass(frozen=True)
class Match:
    """Optional narrowing of an intent to part of the traffic between its hosts."""

    ip_proto: int | None = None
    tp_src: int | None = None
    tp_dst: int | None = None

    def as_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v is not None}


@dataclass(frozen=True)
class Intent:
    """An accepted intent. ``version`` starts at 1 and grows with every change."""

    id: str
    src: str
    dst: str
    rate_bps: float
    priority: int = 0
    weight: float = 1.0
    match: Match = field(default_factory=Match)
    name: str | None = None
    version: int = 1
    labels: tuple = ()  # ((key, value), ...) sorted by key: hashable, like the rest of the intent
    service_class: str = BEST_EFFORT  # "class" in the API
    group: str | None = None  # the name of its IntentGroup; None: top level
    burst_bytes: int | None = None  # token bucket depth of its traffic spec; None: te_meter_burst_ms of its rate
    dscp: int | None = None  # DSCP its packets are marked with; None: its class's (see controller.compile_te)

    def as_dict(self) -> dict:
        """The JSON form of the API (``Intent`` in docs/openapi.yaml)."""
        return {"id": self.id, "name": self.name, "src": self.src, "dst": self.dst, "rate_bps": self.rate_bps,
                "priority": self.priority, "weight": self.weight, "match": self.match.as_dict(),
                "labels": dict(self.labels), "class": self.service_class, "group": self.group,
                "burst_bytes": self.burst_bytes, "dscp": self.dscp, "version": self.version}

    @property
    def guaranteed(self) -> bool:
        return self.service_class == GUARANTEED

    @property
    def owner(self) -> str | None:
        """The ``owner`` label, or None.

        >>> parse_intent({"src": "10.0.0.1", "dst": "10.0.0.2", "rate_bps": 1e6, "labels": {"owner": "ci"}}, "1").owner
        'ci'
        """
        return dict(self.labels).get(OWNER)

    def same_request(self, other: "Intent") -> bool:
        """True when ``other`` asks for exactly the same thing (ids and versions aside)."""
        return all(getattr(self, f) == getattr(other, f) for f in COMPARED + ("name",))

    def differences(self, other: "Intent") -> list:
        """``[(field, mine, other's), ...]`` of the fields :data:`COMPARED` that differ, in API order.

        >>> a = parse_intent({"src": "10.0.0.1", "dst": "10.0.0.2", "rate_bps": 1e6}, "1")
        >>> a.differences(parse_intent({"src": "10.0.0.1", "dst": "10.0.0.2", "rate_bps": 2e6,
        ...                             "labels": {"owner": "ci"}}, "1"))
        [('rate_bps', 1000000.0, 2000000.0), ('labels', (), (('owner', 'ci'),))]
        """
        return [(API_NAMES.get(f, f), getattr(self, f), getattr(other, f)) for f in COMPARED
                if getattr(self, f) != getattr(other, f)]


def _number(body: dict, name: str, default=None) -> float:
    value = body.get(name, default)
    # bool is an int in Python; JSON true is not a rate. An integer beyond any float is not finite either.
    if isinstance(value, bool) or not isinstance(value, (int, float)) or \
            (isinstance(value, int) and abs(value) > 1e308) or not math.isfinite(value):
        shown = repr(value) if not isinstance(value, int) or abs(value) < 1e30 else f"an integer of {len(str(value))} digits"
        raise InvalidIntent(f"{name} must be a finite number, not {shown}", name)
    return float(value)


def _integer(body: dict, name: str, lo: int, hi: int, default=None) -> int:
    value = body.get(name, default)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise InvalidIntent(f"{name} must be an integer from {lo} to {hi}, not {value!r}", name)
    return value


def _host(body: dict, name: str, known_hosts) -> str:
    value = body.get(name)
    if not isinstance(value, str):
        raise InvalidIntent(f"{name} must be an IPv4 address string, not {value!r}", name)
    try:
        address = str(ipaddress.IPv4Address(value.strip()))
    except ValueError:
        raise InvalidIntent(f"{name} is not an IPv4 address: {value!r}", name) from None
    if known_hosts is not None and address not in known_hosts:
        raise InvalidIntent(f"{name} {address} is not a known host", name)
    return address


def parse_match(value) -> Match:
    """Validate the ``match`` object of a request.

    >>> parse_match({"ip_proto": 17, "tp_dst": 5001})
    Match(ip_proto=17, tp_src=None, tp_dst=5001)
    >>> parse_match({"tp_dst": 80})
    Traceback (most recent call last):
    ...
    controller.intents.InvalidIntent: match.tp_dst needs match.ip_proto 6 (TCP) or 17 (UDP)
    """
    if value is None:
        return Match()
    if not isinstance(value, dict):
        raise InvalidIntent(f"match must be an object, not {value!r}", "match")
    unknown = sorted(set(value) - set(MATCH_FIELDS))
    if unknown:
        raise InvalidIntent(f"unknown field match.{unknown[0]} (known: {', '.join(MATCH_FIELDS)})",
                            f"match.{unknown[0]}")
    fields = {}
    if "ip_proto" in value:
        fields["ip_proto"] = _integer(value, "ip_proto", 0, 255)
    for port in ("tp_src", "tp_dst"):
        if port in value:
            try:
                fields[port] = _integer(value, port, 0, 65535)
            except InvalidIntent as exc:
                raise InvalidIntent(f"match.{exc}", f"match.{port}") from None
            if fields.get("ip_proto") not in L4_PROTOS:
                raise InvalidIntent(f"match.{port} needs match.ip_proto 6 (TCP) or 17 (UDP)", f"match.{port}")
    return Match(**fields)


def parse_label_value(value, field_name: str) -> str:
    """Validate one label value (also an apply's ``owner``): 1-128 letters, digits or ``. _ : @ / + -``.

    >>> parse_label_value("team-a@ops", "owner")
    'team-a@ops'
    >>> parse_label_value("two words", "labels.owner")
    Traceback (most recent call last):
    ...
    controller.intents.InvalidIntent: labels.owner must be 1-128 letters, digits, '.', '_', ':', '@', '/', '+' or '-', not 'two words'
    """
    if not isinstance(value, str) or not LABEL_VALUE_RE.fullmatch(value):
        raise InvalidIntent(f"{field_name} must be 1-128 letters, digits, '.', '_', ':', '@', '/', '+' or '-', "
                            f"not {value!r}", field_name)
    return value


def parse_labels(value, field_name: str = "labels", allow_empty: bool = True) -> tuple:
    """Validate a labels object (``{"owner": "ci", "team": "video"}``) into sorted ``((key, value), ...)``.

    At most 16 labels; keys are 1-63 letters, digits, ``.``, ``_``, ``-`` or ``/`` starting with a letter
    or digit; values see :func:`parse_label_value`. None is no labels.

    >>> parse_labels({"team": "video", "owner": "ci"})
    (('owner', 'ci'), ('team', 'video'))
    >>> parse_labels({"-x": "1"})
    Traceback (most recent call last):
    ...
    controller.intents.InvalidIntent: labels: key '-x' must be 1-63 letters, digits, '.', '_', '-' or '/', starting with a letter or digit
    """
    if value is None:
        value = {}
    if not isinstance(value, dict):
        raise InvalidIntent(f"{field_name} must be an object of strings, not {value!r}", field_name)
    if not value and not allow_empty:
        raise InvalidIntent(f"{field_name} must name at least one label", field_name)
    if len(value) > MAX_LABELS:
        raise InvalidIntent(f"{field_name} has {len(value)} labels; at most {MAX_LABELS} are allowed", field_name)
    for key in value:
        if not isinstance(key, str) or not LABEL_KEY_RE.fullmatch(key):
            raise InvalidIntent(f"{field_name}: key {key!r} must be 1-63 letters, digits, '.', '_', '-' or '/', "
                                "starting with a letter or digit", field_name)
    return tuple(sorted((k, parse_label_value(v, f"{field_name}.{k}")) for k, v in value.items()))


def parse_intent(body, intent_id: str, version: int = 1, known_hosts=None, known_groups=None) -> Intent:
    """Validate a request body (``IntentInput``) into an :class:`Intent`.

    Parameters
    ----------
    body : object
        The decoded JSON.
    intent_id : str
        Id to give the intent.
    version : int
        Its version.
    known_hosts : container of str, optional
        Addresses ``src`` and ``dst`` must be among; None accepts any address.
    known_groups : container of str, optional
        Group names ``group`` must be among; None accepts any name.

    Raises
    ------
    InvalidIntent
        Naming the first bad field.

    Examples
    --------
    >>> parse_intent({"src": "10.0.0.1", "dst": "10.0.0.5", "rate_bps": 4e6}, "1").rate_bps
    4000000.0
    >>> parse_intent({"src": "10.0.0.1", "dst": "10.0.0.5", "rate_bps": -1}, "1")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    controller.intents.InvalidIntent: rate_bps must be at least 1000 bit/s (the smallest ...) and at most 1e+12, not -1
    >>> parse_intent({"src": "10.0.0.1", "dst": "10.0.0.5", "rate_bps": 999}, "1")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    controller.intents.InvalidIntent: rate_bps must be at least 1000 bit/s (...) and at most 1e+12, not 999
    >>> parse_intent({"src": "10.0.0.1", "dst": "10.0.0.5", "rate_bps": 1, "colour": "red"}, "1")
    Traceback (most recent call last):
    ...
    controller.intents.InvalidIntent: unknown field colour (known: src, dst, rate_bps, priority, weight, match, name, labels, class, group, burst_bytes, dscp)
    >>> parse_intent({"src": "10.0.0.1", "dst": "10.0.0.5", "rate_bps": 1e6, "class": "gold"}, "1")
    Traceback (most recent call last):
    ...
    controller.intents.InvalidIntent: class must be best-effort or guaranteed, not 'gold'
    """
    if not isinstance(body, dict):
        raise InvalidIntent("the request body must be a JSON object")
    unknown = sorted(set(body) - set(INPUT_FIELDS))
    if unknown:
        raise InvalidIntent(f"unknown field {unknown[0]} (known: {', '.join(INPUT_FIELDS)})", unknown[0])
    for required in ("src", "dst", "rate_bps"):
        if required not in body:
            raise InvalidIntent(f"missing field {required}", required)
    src = _host(body, "src", known_hosts)
    dst = _host(body, "dst", known_hosts)
    if src == dst:
        raise InvalidIntent(f"src and dst are the same host {src}", "dst")
    rate = _number(body, "rate_bps")
    if not MIN_RATE_BPS <= rate <= MAX_RATE_BPS:
        raise InvalidIntent(f"rate_bps must be at least {MIN_RATE_BPS:g} bit/s (the smallest rate a switch meter "
                            f"enforces) and at most {MAX_RATE_BPS:g}, not {body['rate_bps']!r}", "rate_bps")
    priority = _integer(body, "priority", 0, MAX_PRIORITY, default=0)
    weight = _number(body, "weight", default=1.0)
    if not 0 < weight <= MAX_WEIGHT:
        raise InvalidIntent(f"weight must be > 0 and at most {MAX_WEIGHT:g}, not {weight!r}", "weight")
    name = body.get("name")
    if name is not None and (not isinstance(name, str) or not NAME_RE.fullmatch(name)):
        raise InvalidIntent(f"name must be 1-64 letters, digits, '.', '_' or '-', not {name!r}", "name")
    match = parse_match(body.get("match"))
    service_class = body.get("class", BEST_EFFORT)
    if service_class not in CLASSES:
        raise InvalidIntent(f"class must be {' or '.join(CLASSES)}, not {service_class!r}", "class")
    group = body.get("group")
    if group is not None:
        if not isinstance(group, str) or not NAME_RE.fullmatch(group):
            raise InvalidIntent(f"group must be a group name (1-64 letters, digits, '.', '_' or '-'), not {group!r}",
                                "group")
        if known_groups is not None and group not in known_groups:
            raise InvalidIntent(f"group {group!r} does not exist (create it with POST /te/v1/groups first)", "group")
    burst = None
    if body.get("burst_bytes") is not None:
        try:
            burst = _integer(body, "burst_bytes", MIN_BURST_BYTES, MAX_BURST_BYTES)
        except InvalidIntent as exc:
            raise InvalidIntent(f"{exc} (one full frame up to the largest burst a meter band holds, 2**32-1 "
                                "kbit)", "burst_bytes") from None
    dscp = None if body.get("dscp") is None else _integer(body, "dscp", 0, MAX_DSCP)
    return Intent(intent_id, src, dst, rate, priority, weight, match, name, version, parse_labels(body.get("labels")),
                  service_class, group, burst, dscp)


@dataclass(frozen=True)
class IntentGroup:
    """A group of intents (a tenant, an application) that shares the network as one, by ``weight``.

    Its intents share what it gets by their own weights (hierarchical max-min, :mod:`te.hierarchy`);
    ``rate_cap_bps`` bounds the sum of its intents' allocations (and so of their meters),
    ``guaranteed_bps`` is the rate it gets first when its intents ask for it (HTB's assured rate).
    """

    name: str
    weight: float = 1.0
    rate_cap_bps: float | None = None
    guaranteed_bps: float | None = None
    version: int = 1

    def as_dict(self) -> dict:
        """The JSON form of the API (``Group`` in docs/openapi.yaml)."""
        return {"name": self.name, "weight": self.weight, "rate_cap_bps": self.rate_cap_bps,
                "guaranteed_bps": self.guaranteed_bps, "version": self.version}

    def request(self) -> dict:
        """Its ``GroupInput`` JSON, as stored."""
        return {k: v for k, v in self.as_dict().items() if k != "version" and v is not None}


def parse_group(body, name: str | None = None, version: int = 1) -> IntentGroup:
    """Validate a ``GroupInput`` body; ``name``: the name in the URL (a PUT), which the body must not contradict.

    >>> parse_group({"name": "video", "weight": 3, "rate_cap_bps": 5e6})
    IntentGroup(name='video', weight=3.0, rate_cap_bps=5000000.0, guaranteed_bps=None, version=1)
    >>> parse_group({"name": "video", "rate_cap_bps": 1e6, "guaranteed_bps": 2e6})
    Traceback (most recent call last):
    ...
    controller.intents.InvalidIntent: rate_cap_bps 1e+06 is below the group's guaranteed_bps 2e+06
    """
    if not isinstance(body, dict):
        raise InvalidIntent("the request body must be a JSON object")
    unknown = sorted(set(body) - set(GROUP_FIELDS))
    if unknown:
        raise InvalidIntent(f"unknown field {unknown[0]} (known: {', '.join(GROUP_FIELDS)})", unknown[0])
    given = body.get("name", name)
    if not isinstance(given, str) or not NAME_RE.fullmatch(given):
        raise InvalidIntent(f"name must be 1-64 letters, digits, '.', '_' or '-', not {given!r}", "name")
    if name is not None and given != name:
        raise InvalidIntent(f"name {given!r} is not the group of the URL, {name!r} (groups are not renamed)", "name")
    weight = _number(body, "weight", default=1.0)
    if not 0 < weight <= MAX_WEIGHT:
        raise InvalidIntent(f"weight must be > 0 and at most {MAX_WEIGHT:g}, not {weight!r}", "weight")
    rates = {}
    for key in ("rate_cap_bps", "guaranteed_bps"):
        if body.get(key) is not None:
            rates[key] = _number(body, key)
            if not MIN_RATE_BPS <= rates[key] <= MAX_RATE_BPS:
                raise InvalidIntent(f"{key} must be at least {MIN_RATE_BPS:g} bit/s and at most {MAX_RATE_BPS:g}, "
                                    f"not {body[key]!r}", key)
    cap, floor = rates.get("rate_cap_bps"), rates.get("guaranteed_bps")
    if cap is not None and floor is not None and cap < floor:
        raise InvalidIntent(f"rate_cap_bps {cap:g} is below the group's guaranteed_bps {floor:g}", "rate_cap_bps")
    return IntentGroup(given, weight, cap, floor, version)


def _flag(body: dict, name: str) -> bool:
    """The boolean ``name`` of ``body`` (false when absent); only JSON true and false are booleans.

    >>> _flag({"prune": True}, "prune"), _flag({}, "dry_run")
    (True, False)
    >>> _flag({"prune": 1}, "prune")
    Traceback (most recent call last):
    ...
    controller.intents.InvalidIntent: prune must be true or false, not 1
    """
    value = body.get(name, False)
    if not isinstance(value, bool):
        raise InvalidIntent(f"{name} must be true or false, not {value!r}", name)
    return value


@dataclass(frozen=True)
class ApplyRequest:
    """A validated ``POST /te/v1/apply`` body (``ApplyInput`` in docs/openapi.yaml), from :func:`parse_apply`."""

    intents: tuple  # of Intent, ids "#0", "#1", ... by position; labels as the client gave them
    versions: tuple  # per intent: the version of the live intent the client based it on, or None
    owner: str | None = None
    selector: tuple | None = None  # ((key, value), ...): the prune scope instead of the owner
    prune: bool = False
    all: bool = False
    dry_run: bool = False
    if_match: dict | None = None  # {intent id: version} of the live intents the client planned against

    def scope(self) -> str:
        """Which live intents a prune may delete, in words.

        >>> ApplyRequest((), (), owner="ci").scope(), ApplyRequest((), (), selector=(("team", "a"),)).scope()
        ("owned by 'ci'", 'matching team=a')
        """
        if self.selector is not None:
            return "matching " + ",".join(f"{k}={v}" for k, v in self.selector)
        return f"owned by {self.owner!r}"

    def in_scope(self, intent: Intent) -> bool:
        """True when a prune may delete ``intent``: it matches the selector, or else it has the owner's label.

        >>> i = parse_intent({"src": "10.0.0.1", "dst": "10.0.0.2", "rate_bps": 1e6,
        ...                   "labels": {"owner": "ci", "team": "a"}}, "1")
        >>> ApplyRequest((), (), owner="ci").in_scope(i), ApplyRequest((), (), owner="cd").in_scope(i)
        (True, False)
        >>> ApplyRequest((), (), owner="cd", selector=(("team", "a"),)).in_scope(i)
        True
        """
        if self.selector is not None:
            labels = dict(intent.labels)
            return all(labels.get(k) == v for k, v in self.selector)
        return self.owner is not None and intent.owner == self.owner


def parse_apply(body, known_hosts=None, known_groups=None) -> ApplyRequest:
    """Validate a whole ``POST /te/v1/apply`` body; the first problem raises, naming ``intents[n].field``.

    Every desired intent is validated as a POST of it would be (``known_hosts`` as in :func:`parse_intent`),
    must have a name (apply matches intents by name) unique in the set, and may carry ``version``: the
    version of the live intent it was based on. ``prune`` needs an ``owner`` or a ``selector``, and an
    empty desired set with ``prune`` also needs ``all``.

    Examples
    --------
    >>> r = parse_apply({"owner": "ci", "prune": True, "intents": [
    ...     {"name": "web", "src": "10.0.0.1", "dst": "10.0.0.2", "rate_bps": 1e6, "version": 3}]})
    >>> [i.name for i in r.intents], r.versions, r.owner, r.prune, r.dry_run
    (['web'], (3,), 'ci', True, False)
    >>> parse_apply({"intents": [{"name": "a", "src": "10.0.0.1", "dst": "10.0.0.2", "rate_bps": 1e6},
    ...                          {"name": "b", "src": "10.0.0.1", "dst": "10.0.0.9", "rate_bps": 1e6}]},
    ...             known_hosts={"10.0.0.1", "10.0.0.2"})
    Traceback (most recent call last):
    ...
    controller.intents.InvalidIntent: intents[1] (b): dst 10.0.0.9 is not a known host
    >>> parse_apply({"intents": [], "owner": "ci", "prune": True})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    controller.intents.InvalidIntent: an empty desired set with prune would delete every intent owned by 'ci'; ...
    """
    if not isinstance(body, dict):
        raise InvalidIntent("the request body must be a JSON object")
    unknown = sorted(set(body) - set(APPLY_FIELDS))
    if unknown:
        raise InvalidIntent(f"unknown field {unknown[0]} (known: {', '.join(APPLY_FIELDS)})", unknown[0])
    if "intents" not in body:
        raise InvalidIntent("missing field intents (the desired intents; [] for none)", "intents")
    items = body["intents"]
    if not isinstance(items, list):
        raise InvalidIntent(f"intents must be an array of intents, not {type(items).__name__}", "intents")
    owner = body.get("owner")
    if owner is not None:
        parse_label_value(owner, "owner")
    selector = body.get("selector")
    if selector is not None:
        selector = parse_labels(selector, "selector", allow_empty=False)
    prune, everything, dry_run = _flag(body, "prune"), _flag(body, "all"), _flag(body, "dry_run")
    if_match = _if_match_field(body.get("if_match"))
    intents, versions, names = [], [], {}
    for n, item in enumerate(items):
        where = f"intents[{n}]"
        if not isinstance(item, dict):
            raise InvalidIntent(f"{where} must be an intent object, not {type(item).__name__}", where)
        label = f"{where} ({item['name']})" if isinstance(item.get("name"), str) else where
        version = item.get("version")
        if "version" in item:
            item = {k: v for k, v in item.items() if k != "version"}
            if isinstance(version, bool) or not isinstance(version, int) or version < 1:
                raise InvalidIntent(f"{label}: version must be the integer version (at least 1) of the live intent "
                                    f"this one was based on, not {version!r}", f"{where}.version")
        try:
            intent = parse_intent(item, f"#{n}", 1, known_hosts, known_groups)
        except IntentError as exc:
            raise type(exc)(f"{label}: {exc}", f"{where}.{exc.field}" if exc.field else where) from None
        if intent.name is None:
            raise InvalidIntent(f"{where} has no name (apply matches intents by name)", f"{where}.name")
        if intent.name in names:
            raise InvalidIntent(f"{label}: the name {intent.name!r} is also intents[{names[intent.name]}]",
                                f"{where}.name")
        names[intent.name] = n
        intents.append(intent)
        versions.append(version)
    request = ApplyRequest(tuple(intents), tuple(versions), owner, selector, prune, everything, dry_run, if_match)
    for flag, given in (("selector", selector is not None), ("all", everything)):
        if given and not prune:
            raise InvalidIntent(f"{flag} only applies with prune: true", flag)
    if prune and owner is None and selector is None:
        raise InvalidIntent("prune needs an owner or a selector: it deletes only the intents they match", "prune")
    if prune and not intents and not everything:
        raise InvalidIntent(f"an empty desired set with prune would delete every intent {request.scope()}; "
                            "send all: true if that is what you want", "intents")
    return request


def _if_match_field(value) -> dict | None:
    """The ``if_match`` of an apply: ``{intent id: version}``, or None when absent.

    >>> _if_match_field({"4": 2}), _if_match_field(None)
    ({'4': 2}, None)
    >>> _if_match_field({"4": True})
    Traceback (most recent call last):
    ...
    controller.intents.InvalidIntent: if_match.4 must be a version (an integer of at least 1), not True
    """
    if value is None:
        return None
    if not isinstance(value, dict):
        raise InvalidIntent(f"if_match must be an object of intent id: version, not {value!r}", "if_match")
    for intent_id, version in value.items():
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            raise InvalidIntent(f"if_match.{intent_id} must be a version (an integer of at least 1), not {version!r}",
                                f"if_match.{intent_id}")
    return dict(value)


def _jsonable(value):
    """A compared field's value as the API shows it: ``match`` and ``labels`` as objects.

    >>> _jsonable(Match(ip_proto=6)), _jsonable((("owner", "ci"),)), _jsonable(4e6)
    ({'ip_proto': 6}, {'owner': 'ci'}, 4000000.0)
    """
    if isinstance(value, Match):
        return value.as_dict()
    if isinstance(value, tuple):
        return dict(value)
    return value


@dataclass(frozen=True)
class SetChange:
    """One intent of an apply: ``op`` is create, update, delete or unchanged.

    ``index`` is its position in the desired set (None for a delete); ``current`` the live intent before
    (None for a create), ``result`` the intent after (None for a delete; a create's id is the one it gets).
    """

    op: str
    index: int | None
    current: Intent | None
    result: Intent | None

    def fields(self) -> list:
        """``[(field, old, new), ...]`` that an update changes (empty for the other ops)."""
        if self.op != "update":
            return []
        return self.current.differences(self.result)

    def as_dict(self, dry_run: bool = False) -> dict:
        """The ``ApplyChange`` JSON of the API: ``current`` unless a create, ``desired`` unless a delete; a dry
        run's creates have no id yet."""
        intent = self.result or self.current
        out = {"op": self.op, "index": self.index, "name": intent.name,
               "id": None if dry_run and self.op == "create" else intent.id,
               "version": self.current.version if self.current else None,
               "new_version": self.result.version if self.result else None,
               "fields": {f: {"old": _jsonable(old), "new": _jsonable(new)} for f, old, new in self.fields()}}
        if self.current is not None:
            out["current"] = self.current.as_dict()
        if self.result is not None:
            out["desired"] = {k: v for k, v in self.result.as_dict().items() if k not in ("id", "version")}
        return out


@dataclass(frozen=True)
class ApplyResult:
    """The plan of an apply (:func:`plan_set`): every change, and the live intents it leaves alone and why."""

    changes: tuple  # of SetChange: creates, updates, deletes, then unchanged
    left_alone: tuple  # of (Intent, reason): "no-prune" (prune not asked) or "not-owned" (outside its scope)
    next_id: int  # the registry's next id once the creates have theirs
    dry_run: bool = False

    def count(self, op: str) -> int:
        return sum(1 for c in self.changes if c.op == op)

    @property
    def changed(self) -> bool:
        """True when applying it changes something (a create, update or delete)."""
        return any(c.op != "unchanged" for c in self.changes)

    def as_dict(self) -> dict:
        """The ``ApplyResult`` JSON of the API.

        >>> web = parse_intent({"name": "web", "src": "10.0.0.1", "dst": "10.0.0.2", "rate_bps": 1e6}, "3")
        >>> d = ApplyResult((SetChange("unchanged", 0, web, web),), (), 4).as_dict()
        >>> d["counts"], [(c["op"], c["id"], c["version"], c["new_version"]) for c in d["changes"]]
        ({'create': 0, 'update': 0, 'delete': 0, 'unchanged': 1}, [('unchanged', '3', 1, 1)])
        """
        return {"dry_run": self.dry_run,
                "counts": {op: self.count(op) for op in ("create", "update", "delete", "unchanged")},
                "changes": [c.as_dict(self.dry_run) for c in self.changes],
                "left_alone": [{"id": i.id, "name": i.name, "owner": i.owner, "reason": reason}
                               for i, reason in self.left_alone]}


def plan_set(request: ApplyRequest, live, next_id: int) -> ApplyResult:
    """What makes the ``live`` intents match ``request``'s desired set, all checked; changes nothing.

    Desired intents are matched to live ones by name: none is a create (with the next ids, and the
    request's ``owner`` as its ``owner`` label unless its labels name one), a different one an update
    (its ``owner`` label stays unless the desired labels name one), an equal one unchanged. With ``prune``,
    live intents the set does not name are deleted when :meth:`ApplyRequest.in_scope`, and left alone
    otherwise. Refused, in this order:

    - :class:`PreconditionFailed` (412): a desired ``version`` that is not the live intent's (or names an
      intent that is gone); with ``if_match``, an update or delete of an intent it does not list at its
      current version, or a listed intent that changed or went;
    - :class:`OwnershipConflict` (409): a live intent owned by someone other than the desired owner
      (the desired ``owner`` label, else the request's owner);
    - :class:`DuplicateTraffic` (409): two intents of the resulting set with the same src, dst and match.

    Examples
    --------
    >>> live = [parse_intent({"name": "a", "src": "10.0.0.1", "dst": "10.0.0.2", "rate_bps": 1e6,
    ...                       "labels": {"owner": "ci"}}, "1"),
    ...         parse_intent({"name": "old", "src": "10.0.0.3", "dst": "10.0.0.2", "rate_bps": 1e6,
    ...                       "labels": {"owner": "ci"}}, "2"),
    ...         parse_intent({"name": "adhoc", "src": "10.0.0.4", "dst": "10.0.0.2", "rate_bps": 1e6}, "3")]
    >>> request = parse_apply({"owner": "ci", "prune": True, "intents": [
    ...     {"name": "a", "src": "10.0.0.1", "dst": "10.0.0.2", "rate_bps": 2e6},
    ...     {"name": "b", "src": "10.0.0.5", "dst": "10.0.0.2", "rate_bps": 1e6}]})
    >>> result = plan_set(request, live, next_id=4)
    >>> [(c.op, (c.result or c.current).name, (c.result or c.current).id) for c in result.changes]
    [('create', 'b', '4'), ('update', 'a', '1'), ('delete', 'old', '2')]
    >>> result.changes[0].result.labels, result.changes[1].fields()
    ((('owner', 'ci'),), [('rate_bps', 1000000.0, 2000000.0)])
    >>> [(i.name, why) for i, why in result.left_alone]
    [('adhoc', 'not-owned')]
    >>> plan_set(parse_apply({"owner": "cd", "intents": [
    ...     {"name": "a", "src": "10.0.0.1", "dst": "10.0.0.2", "rate_bps": 2e6}]}), live, 4)
    Traceback (most recent call last):
    ...
    controller.intents.OwnershipConflict: intents[0] (a): intent 1 is owned by 'ci', not 'cd'; change its owner label (PUT) or delete it first
    """
    by_name = {i.name: i for i in live if i.name is not None}
    creates, updates, unchanged, stale, conflicts = [], [], [], [], []
    matched = set()
    for n, (desired, seen) in enumerate(zip(request.intents, request.versions)):
        where, field_prefix = f"intents[{n}] ({desired.name})", f"intents[{n}]"
        have = by_name.get(desired.name)
        labels = dict(desired.labels)
        explicit = labels.get(OWNER)
        if seen is not None and (have is None or have.version != seen):
            now = "no longer exists" if have is None else f"is at version {have.version}"
            stale.append(PreconditionFailed(
                f"{where} was based on version {seen} of the intent named {desired.name!r}, which {now}; read it "
                "again", f"{field_prefix}.version"))
        if have is None:
            if explicit is None and request.owner is not None:
                labels[OWNER] = request.owner
            result = replace(desired, id=str(next_id), version=1, labels=tuple(sorted(labels.items())))
            next_id += 1
            creates.append(SetChange("create", n, None, result))
            continue
        matched.add(have.id)
        claim = explicit if explicit is not None else request.owner
        if have.owner is not None and claim is not None and claim != have.owner:
            conflicts.append(OwnershipConflict(
                f"{where}: intent {have.id} is owned by {have.owner!r}, not {claim!r}; change its owner label (PUT) "
                "or delete it first", f"{field_prefix}.labels.owner" if explicit is not None else "owner"))
        if explicit is None and have.owner is not None:
            labels[OWNER] = have.owner  # an apply does not take the owner label off
        result = replace(desired, id=have.id, version=have.version, labels=tuple(sorted(labels.items())))
        if result.same_request(have):
            unchanged.append(SetChange("unchanged", n, have, have))
        else:
            updates.append(SetChange("update", n, have, replace(result, version=have.version + 1)))
    deletes, left_alone = [], []
    for intent in live:
        if intent.id in matched:
            continue
        if not request.prune:
            left_alone.append((intent, "no-prune"))
        elif request.in_scope(intent):
            deletes.append(SetChange("delete", None, intent, None))
        else:
            left_alone.append((intent, "not-owned"))
    if request.if_match is not None:
        stale += _unseen(request.if_match, {i.id: i for i in live}, updates + deletes)
    for problem in stale + conflicts:
        raise problem
    _check_traffic(live, {c.current.id for c in deletes} | matched, creates + updates + unchanged)
    return ApplyResult(tuple(creates + updates + deletes + unchanged), tuple(left_alone), next_id, request.dry_run)


def _unseen(if_match: dict, live: dict, touched) -> list:
    """What ``if_match`` (the intents a client saw) says is stale, as :class:`PreconditionFailed` errors:
    a listed intent gone or at another version, and a ``touched`` change of an intent not listed.

    >>> a = parse_intent({"name": "a", "src": "10.0.0.1", "dst": "10.0.0.2", "rate_bps": 1e6}, "1", version=2)
    >>> [str(e) for e in _unseen({"1": 1}, {"1": a}, [])]
    ['intent 1 is at version 2, not at the version 1 the client saw (if_match); plan again']
    >>> [e.field for e in _unseen({}, {"1": a}, [SetChange("delete", None, a, None)])]
    ['if_match']
    """
    problems = []
    for intent_id, version in if_match.items():
        intent = live.get(str(intent_id))
        if intent is None or intent.version != version:
            now = "is gone" if intent is None else f"is at version {intent.version}"
            problems.append(PreconditionFailed(f"intent {intent_id} {now}, not at the version {version} the client saw "
                                               "(if_match); plan again", f"if_match.{intent_id}"))
    for change in touched:
        if str(change.current.id) not in {str(k) for k in if_match}:
            problems.append(PreconditionFailed(
                f"intent {change.current.id} ({change.current.name or 'unnamed'}) would be {change.op}d, but the "
                "client did not see it (if_match): it was created or renamed since; plan again", "if_match"))
    return problems


def _check_traffic(live, replaced: set, desired) -> None:
    """Refuse a resulting set where two intents claim the same traffic (src, dst, match), naming a desired one.

    ``live`` intents whose id is in ``replaced`` (updated, unchanged or deleted by the apply) do not count;
    ``desired`` are the apply's creates, updates and unchanged intents.

    >>> a = parse_intent({"name": "a", "src": "10.0.0.1", "dst": "10.0.0.2", "rate_bps": 1e6}, "1")
    >>> b = parse_intent({"name": "b", "src": "10.0.0.1", "dst": "10.0.0.2", "rate_bps": 2e6}, "2")
    >>> _check_traffic([a], {"1"}, [SetChange("create", 0, None, b)])  # a goes: b may take its traffic
    >>> _check_traffic([a], set(), [SetChange("create", 0, None, b)])
    Traceback (most recent call last):
    ...
    controller.intents.DuplicateTraffic: intents[0] (b): intent 1 (a) already covers 10.0.0.1 -> 10.0.0.2 with the same match
    """
    owners = {(i.src, i.dst, i.match): f"intent {i.id}" + (f" ({i.name})" if i.name else "")
              for i in live if i.id not in replaced}
    for change in sorted(desired, key=lambda c: c.index):
        intent = change.result
        key = (intent.src, intent.dst, intent.match)
        if key in owners:
            raise DuplicateTraffic(f"intents[{change.index}] ({intent.name}): {owners[key]} already covers "
                                   f"{intent.src} -> {intent.dst} with the same match",
                                   f"intents[{change.index}].match")
        owners[key] = f"intents[{change.index}] ({intent.name})"


class IntentRegistry:
    """The accepted intents, in creation order.

    ``known_hosts`` is a callable returning the addresses intents may name (None: any).
    A refused request raises :class:`IntentError` and leaves the registry unchanged.

    Examples
    --------
    >>> reg = IntentRegistry()
    >>> a = reg.create({"src": "10.0.0.1", "dst": "10.0.0.2", "rate_bps": 1e6, "name": "web"})
    >>> a.id, a.version, reg.generation
    ('1', 1, 1)
    >>> reg.replace("1", {"src": "10.0.0.1", "dst": "10.0.0.2", "rate_bps": 2e6, "name": "web"}).version
    2
    >>> reg.create({"src": "10.0.0.3", "dst": "10.0.0.2", "rate_bps": 1e6, "name": "web"})
    Traceback (most recent call last):
    ...
    controller.intents.DuplicateName: intent 1 is already named 'web'
    >>> reg.create({"src": "10.0.0.1", "dst": "10.0.0.2", "rate_bps": 5e6})
    Traceback (most recent call last):
    ...
    controller.intents.DuplicateTraffic: intent 1 already covers 10.0.0.1 -> 10.0.0.2 with the same match
    >>> reg.delete("1"); len(reg), reg.generation
    (0, 3)
    >>> result = reg.apply({"owner": "ci", "intents": [
    ...     {"name": "a", "src": "10.0.0.1", "dst": "10.0.0.2", "rate_bps": 1e6},
    ...     {"name": "b", "src": "10.0.0.3", "dst": "10.0.0.2", "rate_bps": 1e6}]})
    >>> [(i.id, i.name, i.owner) for i in reg.list()], reg.generation
    ([('2', 'a', 'ci'), ('3', 'b', 'ci')], 4)
    >>> reg.delete("2", if_version={7})
    Traceback (most recent call last):
    ...
    controller.intents.PreconditionFailed: intent 2 is at version 1, but If-Match names the version 7: it changed since it was read; read it again
    """

    def __init__(self, known_hosts=None, persist=None, admit=None):
        self._known_hosts = known_hosts
        # persist(saved=[Intent], deleted=[id], next_id=int[, saved_groups=[IntentGroup], deleted_groups=[name]])
        # writes a change durably, or raises and the registry stays as it was (e.g. IntentStore.apply).
        self._persist = persist
        # admit(intents, asking) raises AdmissionRefused when the network cannot carry every guaranteed
        # intent of ``intents`` in full (``asking``: the guaranteed ones that ask for more).
        self._admit = admit
        self._groups: dict[str, IntentGroup] = {}
        self._intents: dict[str, Intent] = {}
        self._next_id = 1
        self.generation = 0

    @property
    def next_id(self) -> int:
        """The number the next created intent gets as its id."""
        return self._next_id

    def __len__(self) -> int:
        return len(self._intents)

    def list(self) -> list[Intent]:
        return list(self._intents.values())

    def get(self, intent_id: str) -> Intent:
        try:
            return self._intents[str(intent_id)]
        except KeyError:
            raise UnknownIntent(f"no intent with id {intent_id!r}", "id") from None

    def create(self, body) -> Intent:
        intent = parse_intent(body, str(self._next_id), 1, self._hosts(), self._groups)
        self._check_unique(intent)
        self._check_admission([intent], {})
        self._commit(saved=[intent], next_id=self._next_id + 1)
        # (pop, max: on etcd, the watch may have brought this very change in while it was being stored)
        self._intents[intent.id] = intent
        self._next_id = max(self._next_id, int(intent.id) + 1)
        self.generation += 1
        return intent

    def replace(self, intent_id: str, body, if_version=None) -> Intent:
        """Replace intent ``intent_id`` with ``body``; ``if_version``: the versions it may be at (If-Match)."""
        old = self.get(intent_id)
        _check_version(old, if_version)
        new = parse_intent(body, old.id, old.version + 1, self._hosts(), self._groups)
        if new.same_request(old):
            return old
        self._check_unique(new)
        self._check_admission([new], {old.id: old})
        self._commit(saved=[new])
        self._intents[old.id] = new
        self.generation += 1
        return new

    def delete(self, intent_id: str, if_version=None) -> None:
        """Delete intent ``intent_id``; ``if_version``: the versions it may be at (If-Match)."""
        intent = self.get(intent_id)
        _check_version(intent, if_version)
        self._commit(deleted=[intent.id])
        self._intents.pop(intent.id, None)
        self.generation += 1

    def apply(self, body) -> ApplyResult:
        """Make the intents match the desired set of an apply ``body`` (``ApplyInput``): all of it or nothing.

        The body is validated in full (:func:`parse_apply`) and planned against the live intents
        (:func:`plan_set`); a refusal raises and changes nothing. Unless it is a dry run, every create,
        update and delete is then written in one store transaction and taken at once, with one
        generation bump (none when nothing changes). Returns the plan, with the ids creates got.
        """
        request = parse_apply(body, self._hosts(), self._groups)
        result = plan_set(request, self.list(), self._next_id)
        if not result.changed:
            return result
        gone = {c.current.id for c in result.changes if c.op == "delete"}
        self._check_admission([c.result for c in result.changes if c.op in ("create", "update")],
                              {c.current.id: c.current for c in result.changes if c.op == "update"}, gone,
                              where={c.result.id: c.index for c in result.changes if c.op in ("create", "update")})
        if request.dry_run:
            return result
        saved = [c.result for c in result.changes if c.op in ("create", "update")]
        deleted = [c.current.id for c in result.changes if c.op == "delete"]
        created = result.count("create") > 0
        self._commit(saved=saved, deleted=deleted, next_id=result.next_id if created else None)
        for change in result.changes:
            if change.op == "delete":
                self._intents.pop(change.current.id, None)
            elif change.op in ("create", "update"):
                self._intents[change.result.id] = change.result
        self._next_id = max(self._next_id, result.next_id)
        self.generation += 1
        return result

    # --- groups ---------------------------------------------------------------------------------------
    def groups(self) -> dict:
        """Group name -> :class:`IntentGroup`, in creation order."""
        return dict(self._groups)

    def get_group(self, name: str) -> IntentGroup:
        try:
            return self._groups[name]
        except KeyError:
            raise UnknownIntent(f"no group named {name!r}", "name") from None

    def create_group(self, body) -> IntentGroup:
        group = parse_group(body)
        if group.name in self._groups:
            raise DuplicateName(f"a group named {group.name!r} exists already (PUT /te/v1/groups/{group.name} "
                                "changes it)", "name")
        self._commit(saved_groups=[group])
        self._groups[group.name] = group
        self.generation += 1
        return group

    def replace_group(self, name: str, body, if_version=None) -> IntentGroup:
        """Change group ``name`` (``if_version``: the versions it may be at, If-Match); a cap below its
        guaranteed intents is a 409."""
        old = self.get_group(name)
        _check_version(old, if_version, f"group {name}")
        new = parse_group(body, name, old.version + 1)
        if replace(new, version=old.version) == old:
            return old
        needed = _guaranteed_bps(self._intents.values(), name)
        if new.rate_cap_bps is not None and needed > new.rate_cap_bps:
            members = [i.id for i in self._intents.values() if i.group == name and i.guaranteed]
            raise AdmissionRefused(
                f"rate_cap_bps {new.rate_cap_bps:g} is below the {needed:g} bit/s of the guaranteed intents in "
                f"group {name!r} ({', '.join(members)})", "rate_cap_bps", {"largest_fitting_bps": None, "links": []})
        self._commit(saved_groups=[new])
        self._groups[name] = new
        self.generation += 1
        return new

    def delete_group(self, name: str, if_version=None) -> None:
        _check_version(self.get_group(name), if_version, f"group {name}")
        users = [i.id for i in self._intents.values() if i.group == name]
        if users:
            raise GroupInUse(f"group {name!r} is named by intent{'s' if len(users) > 1 else ''} "
                             f"{', '.join(users)}; move or delete them first", "name")
        self._commit(deleted_groups=[name])
        self._groups.pop(name, None)
        self.generation += 1

    def restore(self, intents, next_id: int | None = None, groups=()) -> None:
        """Put back intents accepted earlier (e.g. from a store) as they were: ids, versions and all.

        Ids continue from ``next_id`` (the stored counter) or after the highest restored id, whichever
        is larger, so an id deleted before a restart is not handed out again. Hosts are not checked
        again: a restored intent may name a host that is not yet learned. ``groups``: the intent groups,
        restored the same way. Nothing is persisted.
        """
        for group in groups:
            self._groups[group.name] = group
        for intent in intents:
            self._intents[intent.id] = intent
            if intent.id.isdigit():
                self._next_id = max(self._next_id, int(intent.id) + 1)
        if next_id is not None:
            self._next_id = max(self._next_id, int(next_id))
        self.generation += 1

    def replace_all(self, intents, next_id: int | None = None, groups=()) -> bool:
        """Become exactly ``intents`` and ``groups`` as another controller stored them (a follower of an
        etcd cluster does, on every change it is told of); nothing is persisted. True if anything changed
        (only then the generation moves, so an unchanged store costs no new TE solve).

        >>> reg = IntentRegistry(lambda: {"10.0.0.1", "10.0.0.2"})
        >>> a = reg.create({"src": "10.0.0.1", "dst": "10.0.0.2", "rate_bps": 1e6})
        >>> reg.replace_all([a], 2), reg.generation
        (False, 1)
        >>> reg.replace_all([], 5), len(reg), reg.generation, reg.next_id
        (True, 0, 2, 5)
        """
        intents, groups = list(intents), {g.name: g for g in groups}
        same = [(i.id, i) for i in intents] == list(self._intents.items()) and groups == self._groups
        if next_id is not None:
            self._next_id = max(self._next_id, int(next_id))
        if same:
            return False
        self._intents, self._groups = {i.id: i for i in intents}, groups
        for intent in intents:
            if intent.id.isdigit():
                self._next_id = max(self._next_id, int(intent.id) + 1)
        self.generation += 1
        return True

    def take_stored(self, saved=(), deleted=(), next_id: int | None = None, saved_groups=(), deleted_groups=()) -> bool:
        """Take changes another controller stored (a follower does, from etcd's watch), as
        :meth:`replace_all` does for a whole store: nothing is persisted; True if anything changed. A saved
        intent replaces the one with its id in place, or comes last; deleting an unknown id is no change.

        >>> reg = IntentRegistry(lambda: set())
        >>> a = parse_intent({"src": "10.0.0.1", "dst": "10.0.0.2", "rate_bps": 1e6}, "4", 1)
        >>> reg.take_stored([a], next_id=5), reg.take_stored([a]), reg.take_stored(deleted=["9"]), reg.next_id
        (True, False, False, 5)
        """
        changed = False
        for intent in saved:
            changed |= self._intents.get(intent.id) != intent
            self._intents[intent.id] = intent
            if intent.id.isdigit():
                self._next_id = max(self._next_id, int(intent.id) + 1)
        for intent_id in deleted:
            changed |= self._intents.pop(str(intent_id), None) is not None
        for group in saved_groups:
            changed |= self._groups.get(group.name) != group
            self._groups[group.name] = group
        for name in deleted_groups:
            changed |= self._groups.pop(name, None) is not None
        if next_id is not None:
            self._next_id = max(self._next_id, int(next_id))
        if changed:
            self.generation += 1
        return changed

    def _commit(self, saved=(), deleted=(), next_id=None, saved_groups=(), deleted_groups=()) -> None:
        if self._persist is None:
            return
        extra = {k: v for k, v in (("saved_groups", saved_groups), ("deleted_groups", deleted_groups)) if v}
        self._persist(saved=saved, deleted=deleted, next_id=next_id, **extra)

    def _check_admission(self, new, old: dict, gone=frozenset(), where=None) -> None:
        """Refuse (409) ``new`` intents (replacing ``old`` ones by id; ``gone`` ids deleted) when guaranteed
        ones ask for more than their groups' caps or the network (``admit``) allow.

        Only a change that asks for more is checked: a new guaranteed intent, or a guaranteed one whose
        rate, burst, ends, match or group changed, or that was best-effort. ``where``: intent id -> its
        index in an apply, for the message and the field.
        """
        asking = [i for i in new if i.guaranteed and not _asks_no_more(old.get(i.id), i)]
        if not asking:
            return
        result = {i.id: i for i in self._intents.values() if i.id not in gone}
        result.update({i.id: i for i in new})
        intents = list(result.values())
        try:
            for group in {i.group for i in asking if i.group is not None}:
                cap = self._groups[group].rate_cap_bps
                needed = _guaranteed_bps(intents, group)
                if cap is not None and needed > cap * (1 + 1e-12):
                    others = needed - sum(i.rate_bps for i in asking if i.group == group)
                    raise AdmissionRefused(
                        f"group {group!r} is capped at {cap:g} bit/s and its guaranteed intents would need "
                        f"{needed:g}", "rate_bps", {"largest_fitting_bps": max(cap - others, 0.0), "links": [],
                                                    "group": group})
            if self._admit is not None:
                self._admit(intents, asking)
        except AdmissionRefused as exc:
            if where is not None:
                n = min(where.get(i.id, 0) for i in asking)
                raise AdmissionRefused(f"intents[{n}]: {exc}", f"intents[{n}].{exc.field}", exc.details) from None
            raise

    def _hosts(self):
        return None if self._known_hosts is None else self._known_hosts()

    def _check_unique(self, intent: Intent) -> None:
        for other in self._intents.values():
            if other.id == intent.id:
                continue
            if intent.name is not None and other.name == intent.name:
                raise DuplicateName(f"intent {other.id} is already named {intent.name!r}", "name")
            if (other.src, other.dst, other.match) == (intent.src, intent.dst, intent.match):
                raise DuplicateTraffic(f"intent {other.id} already covers {intent.src} -> {intent.dst} "
                                       "with the same match", "match")


def _guaranteed_bps(intents, group: str) -> float:
    """The sum of the rates of the guaranteed intents of ``group`` among ``intents``."""
    return sum(i.rate_bps for i in intents if i.group == group and i.guaranteed)


def _asks_no_more(old: Intent | None, new: Intent) -> bool:
    """True when guaranteed ``new`` needs nothing that ``old`` did not already have admitted.

    >>> a = parse_intent({"src": "10.0.0.1", "dst": "10.0.0.2", "rate_bps": 4e6, "class": "guaranteed"}, "1")
    >>> _asks_no_more(a, replace(a, name="web")), _asks_no_more(a, replace(a, rate_bps=5e6)), _asks_no_more(None, a)
    (True, False, False)
    """
    if old is None or not old.guaranteed:
        return False
    same = (old.src, old.dst, old.match, old.group) == (new.src, new.dst, new.match, new.group)
    return same and new.rate_bps <= old.rate_bps and (new.burst_bytes or 0) <= (old.burst_bytes or 0)


def _check_version(intent, versions, what: str | None = None) -> None:
    """Refuse (412) a change of ``intent`` unless it is at one of ``versions`` (None: any).

    >>> a = parse_intent({"src": "10.0.0.1", "dst": "10.0.0.2", "rate_bps": 1e6}, "1", version=2)
    >>> _check_version(a, None), _check_version(a, {1, 2})
    (None, None)
    >>> _check_version(a, frozenset())
    Traceback (most recent call last):
    ...
    controller.intents.PreconditionFailed: intent 1 is at version 2, but If-Match names no version of it (a weak entity tag W/"..." never matches If-Match): it changed since it was read; read it again
    """
    if versions is None or intent.version in versions:
        return
    if not versions:
        named = "no version of it (a weak entity tag W/\"...\" never matches If-Match)"
    else:
        named = "the version" + ("s " if len(versions) > 1 else " ") + ", ".join(str(v) for v in sorted(versions))
    raise PreconditionFailed(f"{what or f'intent {intent.id}'} is at version {intent.version}, but If-Match names {named}: "
                             "it changed since it was read; read it again", "If-Match")
