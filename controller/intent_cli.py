"""``te-intent``: manage the controller's intents from a shell (a client of docs/openapi.yaml).

::

    te-intent add --name web --src 10.0.0.1 --dst 10.0.0.5 --rate 4M --proto tcp --dport 80
    te-intent list
    te-intent show web
    te-intent delete web
    te-intent apply -f intents.yaml [--prune] [--dry-run]
    te-intent allocations

The controller is ``--controller URL``, else ``$TE_CONTROLLER``, else http://127.0.0.1:8080.
Human tables by default, ``--json`` for scripts. Exit status: 0 done, 1 the controller refused
(or failed) a request, 2 bad usage or a bad intent file (nothing was sent), 3 controller unreachable.

An intent file (YAML or JSON) is a list of intents, or ``{"intents": [...]}``; each is an
``IntentInput`` of the API with a unique ``name``, and ``rate_bps`` may be written like ``4M``::

    intents:
      - {name: web, src: 10.0.0.1, dst: 10.0.0.5, rate_bps: 4M, match: {ip_proto: 6, tp_dst: 80}}
      - {name: bulk, src: 10.0.0.2, dst: 10.0.0.9, rate_bps: 1.5G, priority: 1}

``apply`` makes the controller's named intents match the file, keyed by name: it creates what is
missing and replaces what differs. Intents the file does not name are left alone unless
``--prune`` is given (like ``kubectl apply``).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
from dataclasses import dataclass

import requests
import yaml

from controller.intents import INPUT_FIELDS, Intent, IntentError, parse_intent

DEFAULT_CONTROLLER = "http://127.0.0.1:8080"
API = "/te/v1"
PROTOCOLS = {"icmp": 1, "tcp": 6, "udp": 17}
# Which flag of ``add`` sets which API field, to name the flag in local validation errors.
FLAG_OF_FIELD = {"src": "--src", "dst": "--dst", "rate_bps": "--rate", "priority": "--priority",
                 "weight": "--weight", "name": "--name", "match.ip_proto": "--proto",
                 "match.tp_src": "--sport", "match.tp_dst": "--dport"}


class CliError(Exception):
    """A failure reported as one line on stderr; ``status`` is the exit status."""

    status = 1


class UsageError(CliError):
    status = 2


class Unreachable(CliError):
    status = 3


class Refused(CliError):
    """The controller answered with an error (4xx with the API's Error body, or a 5xx)."""

    status = 1


# --- rates -----------------------------------------------------------------------------------

_RATE_RE = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)(?:e([+-]?\d+))?\s*([kKmMgGtT]?)(bit/s|bit|bps|b/s)?\s*$")
_PREFIX = {"": 1.0, "k": 1e3, "m": 1e6, "g": 1e9, "t": 1e12}


def parse_rate(text) -> float:
    """A rate in bit/s from ``4M``, ``4Mbit``, ``4 Mbit/s``, ``4000000`` or ``1.5G`` (SI prefixes).

    Bytes are not accepted: ``B`` is ambiguous on the command line, so ``4MB`` is an error.

    Examples
    --------
    >>> parse_rate("4M"), parse_rate("4Mbit"), parse_rate("1.5G"), parse_rate("4000000"), parse_rate("800 kbit/s")
    (4000000.0, 4000000.0, 1500000000.0, 4000000.0, 800000.0)
    >>> parse_rate("4MB")
    Traceback (most recent call last):
    ...
    ValueError: not a rate: '4MB' (examples: 4M, 4Mbit, 1.5G, 4000000)
    """
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        return float(text)
    match = _RATE_RE.match(str(text))
    if not match:
        raise ValueError(f"not a rate: {text!r} (examples: 4M, 4Mbit, 1.5G, 4000000)")
    mantissa, exponent, prefix, _ = match.groups()
    return float(mantissa) * 10.0 ** int(exponent or 0) * _PREFIX[prefix.lower()]


def format_rate(bps) -> str:
    """A rate for people: three significant digits and an SI prefix; ``-`` for None.

    Examples
    --------
    >>> format_rate(4e6), format_rate(1.5e9), format_rate(999999), format_rate(1234), format_rate(0), format_rate(None)
    ('4 Mbit/s', '1.5 Gbit/s', '1 Mbit/s', '1.23 kbit/s', '0 bit/s', '-')
    """
    if bps is None:
        return "-"
    value = float(f"{float(bps):.3g}")  # round first, so 999999 becomes 1 Mbit/s, not 1e+03 kbit/s
    for prefix, scale in (("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(value) >= scale:
            return f"{value / scale:.3g} {prefix}bit/s"
    return f"{value:.3g} bit/s"


def format_match(match: dict) -> str:
    """``ip_proto=6 tp_dst=80``, or ``-`` for an empty match.

    >>> format_match({"ip_proto": 6, "tp_dst": 80}), format_match({})
    ('ip_proto=6 tp_dst=80', '-')
    """
    return " ".join(f"{k}={v}" for k, v in match.items()) or "-"


def format_table(headers, rows) -> str:
    """Left-aligned columns separated by two spaces.

    >>> print(format_table(["ID", "NAME"], [["1", "web"], ["12", "-"]]))
    ID  NAME
    1   web
    12  -
    """
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells)


# --- intents as the API sends them --------------------------------------------------------------

def request_body(intent: Intent) -> dict:
    """The ``IntentInput`` JSON that asks for ``intent`` (no id, no version).

    >>> request_body(parse_intent({"src": "10.0.0.1", "dst": "10.0.0.2", "rate_bps": 1e6}, "x"))
    {'src': '10.0.0.1', 'dst': '10.0.0.2', 'rate_bps': 1000000.0, 'priority': 0, 'weight': 1.0, 'match': {}}
    """
    body = intent.as_dict()
    del body["id"], body["version"]
    if body["name"] is None:
        del body["name"]
    return body


def intent_from_api(obj) -> Intent:
    """An :class:`Intent` from the API's ``Intent`` JSON (validated like a request)."""
    try:
        body = {k: obj[k] for k in INPUT_FIELDS if obj.get(k) is not None}
        return parse_intent(body, str(obj["id"]), int(obj.get("version", 1)))
    except (IntentError, KeyError, TypeError, ValueError, AttributeError) as exc:
        raise Refused(f"the controller sent an intent this client cannot read ({exc}): {obj!r}") from None


# --- the HTTP client ------------------------------------------------------------------------------

class Client:
    """The intent API at ``base_url``; raises :class:`Refused` or :class:`Unreachable`, never requests' errors."""

    def __init__(self, base_url: str, timeout: float = 10.0):
        base_url = base_url.strip().rstrip("/")
        if "://" not in base_url:
            base_url = "http://" + base_url
        self.base_url = base_url
        self.timeout = timeout
        self.session = requests.Session()

    def call(self, method: str, path: str, body=None):
        """The decoded JSON answer (None for 204)."""
        url = self.base_url + API + path
        try:
            response = self.session.request(method, url, json=body, timeout=self.timeout,
                                            headers={"Accept": "application/json"})
        except (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema,
                requests.exceptions.InvalidSchema) as exc:
            raise UsageError(f"bad controller address {self.base_url!r}: {exc}") from None
        except requests.exceptions.Timeout:
            raise Unreachable(f"the controller at {self.base_url} did not answer within {self.timeout:g} s "
                              f"({method} {API}{path})") from None
        except requests.exceptions.RequestException as exc:
            raise Unreachable(f"cannot reach the controller at {self.base_url} ({_reason(exc)}); "
                              f"set --controller or TE_CONTROLLER") from None
        if response.status_code == 204:
            return None
        try:
            data = response.json()
        except ValueError:
            data = None
        if response.status_code >= 400:
            raise Refused(_error_text(method, path, response.status_code, data))
        if data is None:
            raise Refused(f"the controller answered {method} {API}{path} with {response.status_code} "
                          f"and a body that is not JSON")
        return data

    def intents(self) -> list:
        return self.call("GET", "/intents")["intents"]

    def create(self, body: dict) -> dict:
        return self.call("POST", "/intents", body)

    def replace(self, intent_id: str, body: dict) -> dict:
        return self.call("PUT", f"/intents/{intent_id}", body)

    def delete(self, intent_id: str) -> None:
        self.call("DELETE", f"/intents/{intent_id}")

    def allocations(self) -> dict:
        return self.call("GET", "/allocations")

    def switch_names(self) -> dict:
        """``{dpid: name}`` from the topology; empty when the controller cannot say."""
        try:
            switches = self.call("GET", "/topology").get("switches", [])
        except Refused:
            return {}
        return {s["dpid"]: s["name"] for s in switches if s.get("name")}


def _reason(exc) -> str:
    # requests nests the socket error several levels deep; its innermost text is the useful part.
    text = str(exc)
    for marker in ("Connection refused", "Name or service not known", "No route to host",
                   "Temporary failure in name resolution", "Network is unreachable"):
        if marker in text:
            return marker.lower()
    return type(exc).__name__


def _error_text(method, path, status, data) -> str:
    if isinstance(data, dict) and isinstance(data.get("error"), str):
        text = data["error"]
        if data.get("field"):
            text += f" (field {data['field']})"
        return f"the controller refused {method} {API}{path} ({status}): {text}"
    if status == 404 and path == "/intents":
        return f"the controller has no intent API ({method} {API}{path} answered 404)"
    return f"the controller answered {method} {API}{path} with {status}"


# --- finding intents by id or name ------------------------------------------------------------------

def resolve(intents: list, key: str) -> dict:
    """The intent whose id is ``key``, else the one named ``key``.

    >>> resolve([{"id": "1", "name": "2"}, {"id": "2", "name": "web"}], "2")["name"]
    'web'
    >>> resolve([{"id": "1", "name": "2"}], "web")
    Traceback (most recent call last):
    ...
    controller.intent_cli.Refused: no intent with id or name 'web'
    """
    # An id wins over a name: ids are what the controller hands out, names are optional labels.
    for by in ("id", "name"):
        for obj in intents:
            if obj.get(by) == key:
                return obj
    raise Refused(f"no intent with id or name {key!r}")


# --- apply: the plan ----------------------------------------------------------------------------------

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
        return f"{symbol} {label}: {_summary(change.desired)}"
    if change.op == "update":
        return f"{symbol} {label}: " + ", ".join(
            f"{f}: {_show_field(f, old)} -> {_show_field(f, new)}" for f, old, new in change.fields())
    if change.op == "delete":
        return f"{symbol} {label}: {_summary(change.current)}"
    return f"{symbol} {label}"


def _summary(intent: Intent) -> str:
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


# --- reading an intent file ----------------------------------------------------------------------------

def read_intent_file(path: str) -> list:
    """Validated intents from a YAML or JSON file; raises :class:`UsageError` naming the culprit."""
    try:
        with open(path, encoding="utf-8") as f:
            data = yaml.safe_load(f)  # YAML is a superset of JSON: one reader for both
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise UsageError(f"{path} is neither YAML nor JSON: {' '.join(str(exc).split())}") from None
    return parse_intent_list(data, path)


def parse_intent_list(data, source: str = "the file") -> list:
    """Validate the decoded content of an intent file: every intent valid and uniquely named.

    Examples
    --------
    >>> [i.name for i in parse_intent_list({"intents": [
    ...     {"name": "a", "src": "10.0.0.1", "dst": "10.0.0.2", "rate_bps": "4M"}]})]
    ['a']
    >>> parse_intent_list([{"src": "10.0.0.1", "dst": "10.0.0.2", "rate_bps": 1}])
    Traceback (most recent call last):
    ...
    controller.intent_cli.UsageError: the file: intent #1 has no name (apply matches intents by name)
    """
    if isinstance(data, dict) and set(data) == {"intents"}:
        data = data["intents"]
    if data is None:
        data = []  # an empty file asks for no intents
    if not isinstance(data, list):
        raise UsageError(f"{source}: expected a list of intents or {{intents: [...]}}, not {type(data).__name__}")
    intents, seen = [], {}
    for n, body in enumerate(data, 1):
        where = f"{source}: intent #{n}"
        if isinstance(body, dict) and isinstance(body.get("name"), str):
            where += f" ({body['name']})"
        if isinstance(body, dict) and isinstance(body.get("rate_bps"), str):
            try:
                body = body | {"rate_bps": parse_rate(body["rate_bps"])}
            except ValueError as exc:
                raise UsageError(f"{where}: rate_bps: {exc}") from None
        try:
            intent = parse_intent(body, f"#{n}")
        except IntentError as exc:
            raise UsageError(f"{where}: {exc}") from None
        if intent.name is None:
            raise UsageError(f"{where} has no name (apply matches intents by name)")
        if intent.name in seen:
            raise UsageError(f"{where}: name {intent.name!r} is already used by intent #{seen[intent.name]}")
        seen[intent.name] = n
        intents.append(intent)
    return intents


# --- subcommands ---------------------------------------------------------------------------------------

def _print_json(data) -> None:
    print(json.dumps(data, indent=2, sort_keys=True))


def cmd_add(args, client: Client) -> int:
    body = {"src": args.src, "dst": args.dst, "rate_bps": args.rate, "priority": args.priority,
            "weight": args.weight}
    if args.name is not None:
        body["name"] = args.name
    match = {k: v for k, v in (("ip_proto", args.proto), ("tp_src", args.sport), ("tp_dst", args.dport))
             if v is not None}
    if match:
        body["match"] = match
    try:
        intent = parse_intent(body, "new")  # refuse locally what the controller would refuse anyway
    except IntentError as exc:
        raise UsageError(f"{FLAG_OF_FIELD.get(exc.field, exc.field)}: {exc}") from None
    created = client.create(request_body(intent))
    if args.json:
        _print_json(created)
    else:
        print(f"created intent {created['id']}" + (f" ({created['name']})" if created.get("name") else "")
              + f": {_summary(intent_from_api(created))}")
    return 0


def intents_table(intents: list) -> str:
    rows = [[i["id"], i.get("name") or "-", i["src"], i["dst"], format_rate(i["rate_bps"]), i.get("priority", 0),
             f"{i.get('weight', 1):g}", format_match(i.get("match") or {}), i.get("version", 1)] for i in intents]
    return format_table(["ID", "NAME", "SRC", "DST", "RATE", "PRIO", "WEIGHT", "MATCH", "VERSION"], rows)


def cmd_list(args, client: Client) -> int:
    intents = client.intents()
    if args.json:
        _print_json({"intents": intents})
    elif intents:
        print(intents_table(intents))
    else:
        print("no intents")
    return 0


def cmd_show(args, client: Client) -> int:
    intent = resolve(client.intents(), args.intent)
    allocations = client.allocations().get("allocations", [])
    allocation = next((a for a in allocations if a.get("intent_id") == intent["id"]), None)
    if args.json:
        _print_json({"intent": intent, "allocation": allocation})
        return 0
    rows = [("id", intent["id"]), ("name", intent.get("name") or "-"), ("src", intent["src"]),
            ("dst", intent["dst"]), ("rate", format_rate(intent["rate_bps"])),
            ("priority", intent.get("priority", 0)), ("weight", f"{intent.get('weight', 1):g}"),
            ("match", format_match(intent.get("match") or {})), ("version", intent.get("version", 1))]
    if allocation is None:
        rows.append(("state", "not allocated yet"))
    else:
        names = client.switch_names()
        rows += [("state", allocation.get("state", "-")),
                 ("allocated", format_rate(allocation.get("allocated_bps"))),
                 ("measured", format_rate(allocation.get("measured_bps")))]
        if allocation.get("reason"):
            rows.append(("reason", allocation["reason"]))
        paths = format_paths(allocation, names)
        rows += [("paths" if n == 0 else "", p) for n, p in enumerate(paths or ["-"])]
    print("\n".join(f"{k + ':' if k else '':<11}{v}" for k, v in rows))
    return 0


def format_paths(allocation: dict, names: dict | None = None) -> list:
    """One ``s1-s3-s4 2.4 Mbit/s (60%)`` per path: switches, rate and share of the allocation.

    >>> format_paths({"allocated_bps": 4e6, "paths": [
    ...     {"switches": ["0000000000000001", "000000000000000a"], "rate_bps": 3e6},
    ...     {"switches": ["0000000000000001", "0000000000000002", "000000000000000a"], "rate_bps": 1e6}]},
    ...     {"0000000000000001": "s1"})
    ['s1-a 3 Mbit/s (75%)', 's1-2-a 1 Mbit/s (25%)']
    """
    names = names or {}
    total = allocation.get("allocated_bps") or 0
    out = []
    for path in allocation.get("paths") or []:
        hops = "-".join(names.get(d) or (d.lstrip("0") or "0") for d in path.get("switches", []))
        rate = path.get("rate_bps") or 0
        share = f" ({100 * rate / total:.0f}%)" if total > 0 else ""
        out.append(f"{hops} {format_rate(rate)}{share}")
    return out


def cmd_delete(args, client: Client) -> int:
    intent = resolve(client.intents(), args.intent)
    client.delete(intent["id"])
    if args.json:
        _print_json({"deleted": intent})
    else:
        print(f"deleted intent {intent['id']}" + (f" ({intent['name']})" if intent.get("name") else ""))
    return 0


def cmd_allocations(args, client: Client) -> int:
    data = client.allocations()
    if args.json:
        _print_json(data)
        return 0
    allocations = data.get("allocations", [])
    if not allocations:
        print("no intents")
    else:
        names = client.switch_names()
        rows = [[a.get("intent_id", "-"), a.get("name") or "-", a.get("state", "-"),
                 format_rate(a.get("requested_bps")), format_rate(a.get("allocated_bps")),
                 format_rate(a.get("measured_bps")), ", ".join(format_paths(a, names)) or a.get("reason") or "-"]
                for a in allocations]
        print(format_table(["ID", "NAME", "STATE", "REQUESTED", "ALLOCATED", "MEASURED", "PATHS"], rows))
    solve = data.get("solve")
    if solve:
        seconds = solve.get("solve_seconds")
        print(f"last solve: {solve.get('objective', '?')}, {solve.get('status', '?')}"
              + (f", {1000 * seconds:.1f} ms" if isinstance(seconds, (int, float)) else ""))
    return 0


def cmd_apply(args, client: Client) -> int:
    desired = read_intent_file(args.file)  # everything validated before the first request
    current = [intent_from_api(obj) for obj in client.intents()]
    plan = plan_apply(desired, current, prune=args.prune)
    done: list = []
    failure = None
    if not args.dry_run:
        try:
            for change in plan.changes:
                _execute(change, client)
                done.append(change)
        except CliError as exc:
            failure = exc
    _report_apply(args, plan, done, failure)
    if failure is not None:
        applied = sum(1 for c in done if c.op != "unchanged")
        total = sum(1 for c in plan.changes if c.op != "unchanged")
        failed = plan.changes[len(done)]
        raise type(failure)(f"{failure} [while applying {Change.SYMBOL[failed.op]} {failed.name or failed.intent_id}; "
                            f"{applied} of {total} changes were applied, the rest were not]")
    return 0


def _execute(change: Change, client: Client) -> None:
    if change.op == "create":
        client.create(request_body(change.desired))
    elif change.op == "update":
        client.replace(change.current.id, request_body(change.desired))
    elif change.op == "delete":
        client.delete(change.current.id)


def _report_apply(args, plan: Plan, done: list, failure) -> None:
    if args.json:
        _print_json({"dry_run": args.dry_run, "complete": failure is None,
                     "changes": [change_json(c, c in done) for c in plan.changes],
                     "left_alone": [i.id for i in plan.left_alone]})
        return
    if failure is not None:
        for change in done:
            print(describe_change(change))
        print("not applied:")
        for change in plan.changes[len(done):]:
            print("  " + describe_change(change))
        return
    for change in plan.changes:
        print(describe_change(change))
    verbs = ("create", "change", "delete") if args.dry_run else ("created", "changed", "deleted")
    counts = ", ".join(f"{plan.count(op)} {verb}" for op, verb in zip(("create", "update", "delete"), verbs))
    counts += f", {plan.count('unchanged')} unchanged"
    print(f"dry run, nothing changed; would {counts}" if args.dry_run else counts)
    if plan.left_alone:
        ids = ", ".join(i.id if i.name is None else f"{i.id} ({i.name})" for i in plan.left_alone)
        print(f"not in the file, left alone (use --prune to delete): {ids}")


# --- the command line ---------------------------------------------------------------------------------

class _Parser(argparse.ArgumentParser):
    """An argparse parser that raises :class:`UsageError` instead of printing usage and exiting."""

    def error(self, message):
        raise UsageError(f"{message} (see '{self.prog} --help')")


def _rate_arg(text: str) -> float:
    try:
        return parse_rate(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _proto_arg(text: str) -> int:
    if text.lower() in PROTOCOLS:
        return PROTOCOLS[text.lower()]
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a protocol: {text!r} (tcp, udp, icmp or a number)") from None


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    # SUPPRESS: the options may come before or after the subcommand without one hiding the other.
    common.add_argument("--controller", default=argparse.SUPPRESS,
                        help=f"controller URL (default: $TE_CONTROLLER or {DEFAULT_CONTROLLER})")
    common.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="JSON output for scripts")
    common.add_argument("--timeout", type=float, default=argparse.SUPPRESS, help="seconds per request (default 10)")
    parser = _Parser(prog="te-intent", parents=[common],
                     description="Manage the traffic-engineering controller's intents.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser, metavar="COMMAND")

    add = sub.add_parser("add", parents=[common], help="create an intent")
    add.add_argument("--src", required=True, help="source host IPv4 address")
    add.add_argument("--dst", required=True, help="destination host IPv4 address")
    add.add_argument("--rate", required=True, type=_rate_arg, help="requested rate: 4M, 4Mbit, 1.5G, 4000000")
    add.add_argument("--priority", type=int, default=0, help="0-7, higher is served first (default 0)")
    add.add_argument("--weight", type=float, default=1.0, help="share under max-min fairness (default 1)")
    add.add_argument("--proto", type=_proto_arg, help="tcp, udp, icmp or an IP protocol number")
    add.add_argument("--sport", type=int, help="source port (needs --proto tcp or udp)")
    add.add_argument("--dport", type=int, help="destination port (needs --proto tcp or udp)")
    add.add_argument("--name", help="a unique name")
    add.set_defaults(run=cmd_add)

    sub.add_parser("list", parents=[common], help="list intents").set_defaults(run=cmd_list)
    for name, run, what in (("show", cmd_show, "show an intent and its allocation"),
                            ("delete", cmd_delete, "delete an intent")):
        p = sub.add_parser(name, parents=[common], help=what)
        p.add_argument("intent", metavar="ID|NAME")
        p.set_defaults(run=run)

    apply = sub.add_parser("apply", parents=[common], help="make the controller's intents match a file")
    apply.add_argument("-f", "--file", required=True, help="YAML or JSON: a list of intents or {intents: [...]}")
    apply.add_argument("--prune", action="store_true", help="delete intents the file does not name")
    apply.add_argument("--dry-run", action="store_true", help="print what would change, change nothing")
    apply.set_defaults(run=cmd_apply)

    sub.add_parser("allocations", parents=[common],
                   help="what the TE loop allocated to every intent").set_defaults(run=cmd_allocations)
    return parser


def main(argv=None) -> int:
    """Entry point of ``te-intent``; returns the exit status."""
    try:
        args = build_parser().parse_args(argv)
        controller = getattr(args, "controller", None) or os.environ.get("TE_CONTROLLER") or DEFAULT_CONTROLLER
        args.json = getattr(args, "json", False)
        client = Client(controller, getattr(args, "timeout", 10.0))
        return args.run(args, client)
    except CliError as exc:
        print(f"te-intent: error: {exc}", file=sys.stderr)
        return exc.status
    except SystemExit as exc:  # --help
        return exc.code if isinstance(exc.code, int) else 0
    except KeyboardInterrupt:
        print("te-intent: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `te-intent list | head`
        return 0
    except Exception as exc:  # a bug here must still not show a traceback to an operator
        print(f"te-intent: error: unexpected {type(exc).__name__}: {exc} (please report this)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
