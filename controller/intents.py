"""Demand intents: validation of what an operator asks for, and the registry that holds them.

Plain code (no Ryu, no HTTP): the REST layer turns requests into calls here and
:class:`InvalidIntent` into 4xx answers; the TE loop reads :meth:`IntentRegistry.list`.
Every accepted change bumps :attr:`IntentRegistry.generation`, so a loop can tell
whether anything changed since it last looked. See ``docs/openapi.yaml``.
"""
from __future__ import annotations

import ipaddress
import math
import re
from dataclasses import asdict, dataclass, field

MIN_RATE_BPS = 1000  # 1 kbit/s: a switch meter's rate is a whole number of kbit/s, so nothing slower is enforced
MAX_RATE_BPS = 1e12  # 1 Tbit/s: anything above is a typo, not a demand
MAX_PRIORITY = 7
MAX_WEIGHT = 1000.0
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")  # fullmatch: "$" would let a final newline in
INPUT_FIELDS = ("src", "dst", "rate_bps", "priority", "weight", "match", "name")
MATCH_FIELDS = ("ip_proto", "tp_src", "tp_dst")
L4_PROTOS = (6, 17)


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

    def as_dict(self) -> dict:
        """The JSON form of the API (``Intent`` in docs/openapi.yaml)."""
        return {"id": self.id, "name": self.name, "src": self.src, "dst": self.dst, "rate_bps": self.rate_bps,
                "priority": self.priority, "weight": self.weight, "match": self.match.as_dict(),
                "version": self.version}

    def same_request(self, other: "Intent") -> bool:
        """True when ``other`` asks for exactly the same thing (ids and versions aside)."""
        return (self.src, self.dst, self.rate_bps, self.priority, self.weight, self.match, self.name) == \
            (other.src, other.dst, other.rate_bps, other.priority, other.weight, other.match, other.name)


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


def parse_intent(body, intent_id: str, version: int = 1, known_hosts=None) -> Intent:
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
    controller.intents.InvalidIntent: unknown field colour (known: src, dst, rate_bps, priority, weight, match, name)
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
    return Intent(intent_id, src, dst, rate, priority, weight, parse_match(body.get("match")), name, version)


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
    """

    def __init__(self, known_hosts=None, persist=None):
        self._known_hosts = known_hosts
        # persist(saved=[Intent], deleted=[id], next_id=int) writes a change durably, or raises and
        # the registry stays as it was (e.g. IntentStore.apply).
        self._persist = persist
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
        intent = parse_intent(body, str(self._next_id), 1, self._hosts())
        self._check_unique(intent)
        self._commit(saved=[intent], next_id=self._next_id + 1)
        self._intents[intent.id] = intent
        self._next_id += 1
        self.generation += 1
        return intent

    def replace(self, intent_id: str, body) -> Intent:
        old = self.get(intent_id)
        new = parse_intent(body, old.id, old.version + 1, self._hosts())
        if new.same_request(old):
            return old
        self._check_unique(new)
        self._commit(saved=[new])
        self._intents[old.id] = new
        self.generation += 1
        return new

    def delete(self, intent_id: str) -> None:
        intent = self.get(intent_id)
        self._commit(deleted=[intent.id])
        del self._intents[intent.id]
        self.generation += 1

    def restore(self, intents, next_id: int | None = None) -> None:
        """Put back intents accepted earlier (e.g. from a store) as they were: ids, versions and all.

        Ids continue from ``next_id`` (the stored counter) or after the highest restored id, whichever
        is larger, so an id deleted before a restart is not handed out again. Hosts are not checked
        again: a restored intent may name a host that is not yet learned. Nothing is persisted.
        """
        for intent in intents:
            self._intents[intent.id] = intent
            if intent.id.isdigit():
                self._next_id = max(self._next_id, int(intent.id) + 1)
        if next_id is not None:
            self._next_id = max(self._next_id, int(next_id))
        self.generation += 1

    def _commit(self, saved=(), deleted=(), next_id=None) -> None:
        if self._persist is not None:
            self._persist(saved=saved, deleted=deleted, next_id=next_id)

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
