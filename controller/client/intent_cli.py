"""``te-intent``: manage the controller's intents from a shell (a client of controller/openapi.yaml).

::

    te-intent add --name web --src 10.0.0.1 --dst 10.0.0.5 --rate 4M --proto tcp --dport 80
    te-intent group add video --weight 3 --cap 50M [--guaranteed 20M]
    te-intent add --name cam1 --src 10.0.0.2 --dst 10.0.0.9 --rate 8M --class guaranteed --group video \\
        --burst 64K --dscp AF41
    te-intent list
    te-intent show web
    te-intent delete web
    te-intent apply -f intents.yaml [--prune] [--dry-run] [--owner NAME]
    te-intent get -o yaml > intents.yaml
    te-intent allocations
    te-intent classes
    te-intent groups
    te-intent group set video --cap 80M       # the options not given keep their values
    te-intent group set video --cap none      # no cap
    te-intent group delete video              # refused (409) while intents name it

``add --class guaranteed`` asks for the whole rate, always: the controller admits it only if the network
(and its group's cap) can carry it with every other guaranteed intent, else refuses it (exit 1) saying
which link is short and the largest rate that would fit. ``--group`` names an intent group (``group add``
first); ``--burst`` is the depth of its token bucket in bytes (``1514``, ``64K`` = 64000, ``64KiB`` =
65536, ``1.5M``; default: ``te_meter_burst_ms`` of its rate); ``--dscp`` the DSCP its packets are marked
with instead of its class's (0-63, or ``EF``, ``AF11`` to ``AF43``, ``CS0`` to ``CS7``, any case).

The controller is ``--controller URL``, else ``$TE_CONTROLLER``, else http://127.0.0.1:8080 (with or
without the API's ``/te/v1`` prefix: ``http://ctl:8080/te/v1/`` is the same controller). When the
controller has a ``rest_token``, writes need it: ``--token TOKEN`` or ``$TE_TOKEN`` (sent as
``Authorization: Bearer TOKEN`` with every request).
Human tables by default, ``--json`` for scripts. Exit status: 0 done, 1 the controller refused
(or failed) a request, 2 bad usage or a bad intent file (nothing was sent), 3 controller unreachable.
Every failure is one line on stderr.

An intent file (YAML or JSON) is a list of intents, or ``{"intents": [...], "groups": [...], "owner":
NAME}``; each intent is an ``IntentInput`` of the API with a unique ``name``, ``rate_bps`` may be written
like ``4M``, ``match.ip_proto`` as ``tcp``, ``udp`` or ``icmp``, ``burst_bytes`` like ``64K`` and ``dscp``
as a name like ``EF``; it may carry ``labels`` and the ``version`` of the live intent it was based on.
Each group is a ``GroupInput`` (``name``, ``weight``, ``rate_cap_bps``, ``guaranteed_bps``; rates like
``50M``), with the ``version`` of the live group it was based on, if any::

    owner: video-team
    groups:
      - {name: video, weight: 3, rate_cap_bps: 50M}
    intents:
      - {name: web, src: 10.0.0.1, dst: 10.0.0.5, rate_bps: 4M, match: {ip_proto: tcp, tp_dst: 80}}
      - {name: bulk, src: 10.0.0.2, dst: 10.0.0.9, rate_bps: 1.5G, priority: 1, labels: {tier: batch}}
      - {name: cam1, src: 10.0.0.3, dst: 10.0.0.9, rate_bps: 8M, class: guaranteed, group: video, dscp: AF41}

``-f -`` reads standard input, ``-f DIR`` every ``*.yaml``, ``*.yml`` and ``*.json`` file of DIR (in
name order), and a YAML file may hold several ``---`` documents: names are unique across all of them.
A key repeated in a mapping is an error, and only ``true``/``false`` are booleans (YAML 1.2), so
``name: no`` is the name "no".

``apply`` makes the controller's named intents match the file, keyed by name: it creates what is
missing and replaces what differs, all at once or not at all (``POST /te/v1/apply``: the controller
validates the whole file against its live intents first). It asks the controller for the plan (a dry
run), then applies exactly that plan: if an intent changed in between, the controller refuses and nothing
changes. What it creates gets the label ``owner`` (``--owner``, else the file's ``owner:``, else
``te-intent``). Intents the file does not name are left alone unless ``--prune`` is given (like
``kubectl apply``), and then only those of the owner (or matching ``-l KEY=VALUE``) are deleted; an empty
file with ``--prune`` also needs ``--all``.

Groups come first: ``apply`` creates the file's groups that the controller does not have and replaces
(PUT) those that differ from the live ones (what a group of the file leaves out is at its default: weight
1, no cap, no guaranteed rate), then applies the intents. Groups are never deleted by ``apply``, not even
with ``--prune`` (``group delete`` does that). The group changes are not part of the intents' all or
nothing: when the intents are then refused, the groups stay changed (the error says which). A group's
``version:`` is checked by ``te-intent`` just before (the controller does not take one for groups).
``--dry-run`` shows the group changes too and makes none; when intents name groups the controller does
not have yet, their plan is then made by ``te-intent`` (the same plan, without the controller's checks of
hosts and admission). ``get -o yaml`` writes the live intents and groups (without what is at its default:
class best-effort, no group, burst or dscp) as a file that ``apply`` takes back unchanged.

The pieces live next to this module: :mod:`.api` (HTTP), :mod:`.apply` (the plan), :mod:`.intent_file`
(reading files) and :mod:`.formatting` (rates and tables).
"""
from __future__ import annotations

import argparse
import json
import os
import sys

import yaml

from controller.intents import CLASSES, IntentError, parse_group, parse_intent, parse_label_value, parse_labels

from .api import DEFAULT_CONTROLLER, Client, group_path, intent_from_api, request_body, resolve
from .apply import (
    DEFAULT_OWNER, GroupChange, apply_request, changes_from_api, describe_change, describe_group_change,
    export_document, format_labels, group_from_api, group_summary, local_plan, plan_groups, seen_versions, summary,
)
from .errors import CliError, Refused, UsageError, one_line
from .formatting import (
    format_bytes, format_dscp, format_match, format_paths, format_rate, format_table, parse_bytes, parse_dscp,
    parse_proto, parse_rate,
)
from .intent_file import read_apply_file

MAX_TIMEOUT = 86400.0  # seconds; far beyond any useful wait, and within what a socket timeout can hold
# Which flag of ``add`` sets which API field, to name the flag in local validation errors.
FLAG_OF_FIELD = {"src": "--src", "dst": "--dst", "rate_bps": "--rate", "priority": "--priority",
                 "weight": "--weight", "name": "--name", "match.ip_proto": "--proto", "ip_proto": "--proto",
                 "match.tp_src": "--sport", "match.tp_dst": "--dport", "class": "--class", "group": "--group",
                 "burst_bytes": "--burst", "dscp": "--dscp"}
# Which flag of ``group add`` and ``group set`` sets which GroupInput field.
FLAG_OF_GROUP_FIELD = {"name": "NAME", "weight": "--weight", "rate_cap_bps": "--cap", "guaranteed_bps": "--guaranteed"}
NONE = "none"  # ``group set --cap none``: take the cap off


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
    if args.label:
        body["labels"] = dict(args.label)
    for key, value in (("class", args.service_class), ("group", args.group), ("burst_bytes", args.burst),
                       ("dscp", args.dscp)):
        if value is not None:
            body[key] = value
    try:
        intent = parse_intent(body, "new")  # refuse locally what the controller would refuse anyway
    except IntentError as exc:
        raise UsageError(f"{FLAG_OF_FIELD.get(exc.field, exc.field)}: {exc}") from None
    created = client.create(request_body(intent))
    if args.json:
        _print_json(created)
    else:
        what = summary(intent_from_api(created))  # first: it refuses an answer that is not an Intent
        print(f"created intent {created['id']}" + (f" ({created['name']})" if created.get("name") else "")
              + f": {what}")
    return 0


def intents_table(intents: list) -> str:
    rows = [[i["id"], i.get("name") or "-", i["src"], i["dst"], format_rate(i["rate_bps"]), i.get("priority", 0),
             f"{i.get('weight', 1):g}", i.get("class") or "-", i.get("group") or "-",
             format_match(i.get("match") or {}), i.get("version", 1)] for i in intents]
    return format_table(["ID", "NAME", "SRC", "DST", "RATE", "PRIO", "WEIGHT", "CLASS", "GROUP", "MATCH", "VERSION"],
                        rows)


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
            ("match", format_match(intent.get("match") or {})), ("labels", format_labels(intent.get("labels") or {})),
            ("class", intent.get("class") or "-"), ("group", intent.get("group") or "-"),
            ("burst", format_bytes(intent.get("burst_bytes"))), ("dscp", format_dscp(intent.get("dscp"))),
            ("version", intent.get("version", 1))]
    if allocation is None:
        rows.append(("state", "not allocated yet"))
    else:
        names = client.switch_names()
        rows += [("state", allocation.get("state", "-")),
                 ("allocated", format_rate(allocation.get("allocated_bps"))),
                 ("measured", format_rate(allocation.get("measured_bps")))]
        if allocation.get("shortfall_bps") is not None:
            rows.append(("shortfall", format_rate(allocation["shortfall_bps"])))
        short = [format_link(link, names) for link in allocation.get("short_links") or [] if isinstance(link, dict)]
        rows += [("short on" if n == 0 else "", link) for n, link in enumerate(short)]
        if allocation.get("reason"):
            rows.append(("reason", allocation["reason"]))
        paths = format_paths(allocation, names)
        rows += [("paths" if n == 0 else "", p) for n, p in enumerate(paths or ["-"])]
    print("\n".join(f"{k + ':' if k else '':<11}{v}" for k, v in rows))
    return 0


def format_link(link: dict, names: dict | None = None) -> str:
    """A link a degraded intent is short on: ``s1->s2 needs 12 Mbit/s of 10 Mbit/s``.

    >>> format_link({"src": "0000000000000001", "dst": "0000000000000002", "capacity_bps": 1e7, "needed_bps": 1.2e7},
    ...             {"0000000000000001": "s1"})
    's1->2 needs 12 Mbit/s of 10 Mbit/s'
    """
    names = names or {}
    ends = [names.get(link.get(end)) or (str(link.get(end, "?")).lstrip("0") or "0") for end in ("src", "dst")]
    needed, capacity = format_rate(link.get("needed_bps")), format_rate(link.get("capacity_bps"))
    return f"{ends[0]}->{ends[1]} needs {needed} of {capacity}"


def cmd_delete(args, client: Client) -> int:
    intent = resolve(client.intents(), args.intent)
    client.delete(intent["id"], if_version=intent.get("version"))  # not if it changed since it was read
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
        rows = [[a.get("intent_id", "-"), a.get("name") or "-", a.get("class") or "-", a.get("group") or "-",
                 a.get("state", "-"), format_rate(a.get("requested_bps")), format_rate(a.get("allocated_bps")),
                 format_rate(a.get("measured_bps")), format_rate(a.get("shortfall_bps")),
                 ", ".join(format_paths(a, names)) or a.get("reason") or "-"]
                for a in allocations]
        print(format_table(["ID", "NAME", "CLASS", "GROUP", "STATE", "REQUESTED", "ALLOCATED", "MEASURED", "SHORTFALL",
                            "PATHS"], rows))
    solve = data.get("solve")
    if solve:
        seconds = solve.get("solve_seconds")
        print(f"last solve: {solve.get('objective', '?')}, {solve.get('status', '?')}"
              + (f", {1000 * seconds:.1f} ms" if isinstance(seconds, (int, float)) else ""))
    return 0


def cmd_apply(args, client: Client) -> int:
    source = read_apply_file(args.file)  # everything validated before the first request
    owner = _owner(args.owner, source.owner, args.file)
    selector = dict(args.selector) if args.selector else None
    scope = f"matching {','.join(f'{k}={v}' for k, v in selector.items())}" if selector else f"owned by {owner}"
    if (selector or args.all) and not args.prune:
        raise UsageError(f"{'-l/--selector' if selector else '--all'} only applies with --prune")
    if args.prune and not source.intents and not args.all:
        raise UsageError(f"{args.file} names no intents: with --prune that would delete every intent {scope}; "
                         "add --all if that is what you want")
    body = apply_request(source.intents, source.versions, owner, args.prune, selector, args.all, dry_run=True)
    group_changes, live_groups = _plan_groups(source, args.file, client)
    if args.dry_run:
        result = _dry_run(client, body, source, live_groups)
    else:
        done = _apply_groups(client, [c for c in group_changes if c.op != "unchanged"])
        result = _apply_intents(client, body, done)
    _report_apply(args, result, scope, group_changes)
    return 0


def _plan_groups(source, label: str, client: Client) -> tuple:
    """``(changes, live names)`` of the groups of an apply: what the file's groups change, and the names of
    the live groups (None when neither the file nor its intents name a group: nothing is asked then).

    Refuses (exit 1, nothing changed) a group ``version:`` that is not the live one, and an intent that
    names a group which neither the controller nor the file has.
    """
    named = {i.group for i in source.intents if i.group is not None}
    if not source.groups and not named:
        return [], None
    live = client.groups()
    try:
        changes = plan_groups(source.groups, source.group_versions, live)
    except Refused as exc:
        raise Refused(f"{exc}; nothing was changed", exc.http_status) from None
    live_names = {g["name"] for g in live}
    unknown = named - live_names - {g.name for g in source.groups}
    if unknown:
        intent = next(i for i in source.intents if i.group in unknown)
        raise Refused(f"intent {intent.name!r} names the group {intent.group!r}, which the controller does not have "
                      f"and {label} does not define (add it to groups:); nothing was changed")
    return changes, live_names


def _dry_run(client: Client, body: dict, source, live_groups) -> dict:
    """The plan of the intents, changing nothing: the controller's, unless intents name groups it does not
    have yet (the file creates them): then planned here, the controller's way, but without its checks."""
    new_groups = {i.group for i in source.intents if i.group is not None} - (live_groups or set())
    try:
        if not new_groups:
            return client.apply(body)
        print(f"te-intent: note: the controller does not have the group{'s' if len(new_groups) > 1 else ''} "
              f"{', '.join(sorted(new_groups))} yet: the intents were planned here, without its checks of hosts and "
              "admission", file=sys.stderr)
        return local_plan(body, client.intents(), live_groups | {g.name for g in source.groups})
    except Refused as exc:
        if exc.http_status is not None and (exc.http_status < 500 or exc.http_status == 503):
            raise Refused(f"{exc}; nothing was changed", exc.http_status) from None
        raise


def _apply_groups(client: Client, pending: list) -> list:
    """Create or replace (PUT) the groups of ``pending`` in order; returns them. A refusal names what was done."""
    done = []
    for change in pending:
        try:
            if change.op == "create":
                client.create_group(change.desired.request())
            else:
                client.replace_group(change.name, change.desired.request(), change.current.version)
        except Refused as exc:
            raise Refused(f"{exc}; {_changed_so_far(done)}", exc.http_status) from None
        done.append(change)
    return done


def _apply_intents(client: Client, body: dict, done: list) -> dict:
    """The controller's plan of the intents, then exactly that plan (or nothing); ``done``: the group changes
    made before, which a refusal names."""
    try:
        result = client.apply(body)  # the plan, checked against the live intents; nothing changes yet
        if any(c["op"] != "unchanged" for c in result["changes"]):
            # Exactly that plan, or nothing: the controller refuses (412) if an intent changed since.
            return client.apply(body | {"dry_run": False, "if_match": seen_versions(result)})
        return result | {"dry_run": False}  # nothing to change: applying it is the plan
    except Refused as exc:
        if exc.http_status is not None and (exc.http_status < 500 or exc.http_status == 503):
            raise Refused(f"{exc}; {_changed_so_far(done)}", exc.http_status) from None
        raise


def _changed_so_far(done: list) -> str:
    """What an apply refused half-way had changed: only groups can be (intents change all at once or not at all).

    >>> from controller.intents import parse_group
    >>> _changed_so_far([])
    'nothing was changed'
    >>> _changed_so_far([GroupChange("create", None, parse_group({"name": "video"}))])
    'no intent was changed, but the group video was created already'
    """
    if not done:
        return "nothing was changed"
    made = ", ".join(f"{c.name} was {'created' if c.op == 'create' else 'changed'}" for c in done)
    return f"no intent was changed, but the group {made} already"


def _owner(flag: str | None, from_file: str | None, source: str) -> str:
    """The owner an apply sends: ``--owner``, else the file's ``owner:``, else ``te-intent``; they must agree.

    >>> _owner(None, None, "f.yaml"), _owner(None, "ops", "f.yaml"), _owner("ops", "ops", "f.yaml")
    ('te-intent', 'ops', 'ops')
    >>> _owner("dev", "ops", "f.yaml")
    Traceback (most recent call last):
    ...
    controller.client.errors.UsageError: --owner dev differs from the owner 'ops' that f.yaml names
    """
    if flag is not None:
        try:
            parse_label_value(flag, "--owner")
        except IntentError as exc:
            raise UsageError(str(exc)) from None
        if from_file is not None and from_file != flag:
            raise UsageError(f"--owner {flag} differs from the owner {from_file!r} that {source} names")
        return flag
    return from_file if from_file is not None else DEFAULT_OWNER


def _report_apply(args, result: dict, scope: str, group_changes: list = ()) -> None:
    if args.json:
        _print_json(result | ({"groups": [c.as_dict() for c in group_changes]} if group_changes else {}))
        return
    changes = changes_from_api(result)
    for change in group_changes:
        print(describe_group_change(change))
    for change in changes:
        print(describe_change(change))

    def count(op):
        return sum(1 for c in changes if c.op == op)

    verbs = ("create", "change", "delete") if args.dry_run else ("created", "changed", "deleted")
    counts = ", ".join(f"{count(op)} {verb}" for op, verb in zip(("create", "update", "delete"), verbs))
    counts += f", {count('unchanged')} unchanged"
    print(f"dry run, nothing changed; would {counts}" if args.dry_run else counts)
    if group_changes:
        def group_count(op):
            return sum(1 for c in group_changes if c.op == op)

        made = ", ".join(f"{group_count(op)} {verb}" for op, verb in zip(("create", "update"), verbs))
        print(f"groups: {'would ' if args.dry_run else ''}{made}, {group_count('unchanged')} unchanged")
    for reason, text in (("no-prune", "not in the file, left alone (use --prune to delete)"),
                         ("not-owned", f"not in the file but not {scope}, left alone")):
        left = [i for i in result.get("left_alone", []) if isinstance(i, dict) and i.get("reason") == reason]
        if left:
            print(f"{text}: " + ", ".join(f"{i.get('id')}" + (f" ({i['name']})" if i.get("name") else "")
                                          for i in left))


def cmd_get(args, client: Client) -> int:
    intents = client.intents()
    if args.intent:
        intents = [resolve(intents, key) for key in args.intent]
    if args.selector:
        wanted = dict(args.selector)
        intents = [i for i in intents if all((i.get("labels") or {}).get(k) == v for k, v in wanted.items())]
    output = "json" if args.json and args.output == "table" else args.output
    if output == "table":
        print(intents_table(intents) if intents else "no intents")
        return 0
    groups = _groups_for_export(client, intents if args.intent or args.selector else None)
    document, skipped = export_document(intents, versions=not args.no_versions, groups=groups)
    for obj in skipped:
        print(f"te-intent: note: intent {obj['id']} has no name, left out (apply matches intents by name)",
              file=sys.stderr)
    if output == "json":
        _print_json(document)
    else:
        print(f"# te-intent get -o yaml: {len(document['intents'])} intents"
              + (f" and {len(groups)} groups" if groups else "") + f" of {client.base_url}\n"
              "# te-intent apply -f FILE makes them so again"
              + ("" if args.no_versions else "; it refuses to undo a change made since (version:)"))
        print(yaml.safe_dump(document, sort_keys=False, default_flow_style=False, width=120), end="")
    return 0


def _groups_for_export(client: Client, intents) -> list:
    """The live groups ``get -o yaml`` writes: all of them, or those that ``intents`` name (when ``get`` was
    given intents or a selector). None from a controller without groups (``GET /groups`` answers 404)."""
    try:
        groups = client.groups()
    except Refused as exc:
        if exc.http_status == 404:
            return []
        raise
    if intents is not None:
        named = {i.get("group") for i in intents}
        groups = [g for g in groups if g["name"] in named]
    return groups


def cmd_groups(args, client: Client) -> int:
    groups = client.classes().get("groups", [])
    if args.json:
        _print_json({"groups": groups})
    elif not groups:
        print("no groups")
    else:
        rows = [[g.get("name", "-"), _weight(g.get("weight")), format_rate(g.get("rate_cap_bps")),
                 format_rate(g.get("guaranteed_bps")), g.get("intents", "-"), format_rate(g.get("requested_bps")),
                 format_rate(g.get("allocated_bps"))] for g in groups]
        print(format_table(["NAME", "WEIGHT", "CAP", "GUARANTEED", "INTENTS", "REQUESTED", "ALLOCATED"], rows))
    return 0


def cmd_classes(args, client: Client) -> int:
    data = client.classes()
    if args.json:
        _print_json(data)
        return 0
    rows = [[c.get("class", "-"), _class_dscp(c), c.get("intents", "-"), c.get("degraded", "-"),
             format_rate(c.get("requested_bps")), format_rate(c.get("allocated_bps")),
             format_rate(c.get("measured_bps"))] for c in data.get("classes", [])]
    print(format_table(["CLASS", "DSCP", "INTENTS", "DEGRADED", "REQUESTED", "ALLOCATED", "MEASURED"], rows))
    return 0


def cmd_cluster(args, client: Client) -> int:
    data = client.cluster()
    if args.json:
        _print_json(data)
        return 0
    if data.get("mode") != "etcd":
        print(f"one controller (no cluster); intent store {data.get('store') or 'in memory'}")
        return 0
    leader = data.get("leader") or "none"
    lease = data.get("lease_valid_for")
    print(f"this controller: {data.get('member')} ({data.get('role')}{', acting' if data.get('acting') else ''}); "
          f"leader: {leader}, generation {data.get('generation')}; lease TTL {data.get('lease_ttl')} s"
          + (f", valid for {lease:.1f} s" if isinstance(lease, (int, float)) else ""))
    etcd = data.get("etcd") or {}
    store = data.get("store") or {}
    print(f"etcd: {'reachable' if etcd.get('reachable') else 'NOT reachable: ' + str(etcd.get('problem'))}; "
          f"store {store.get('url')} at revision {store.get('revision')}")
    rows = [[m.get("member", "-"), m.get("rest", "-"), "leader" if m.get("member") == data.get("leader") else "follower"]
            for m in data.get("members", [])]
    print(format_table(["MEMBER", "REST", "ROLE"], rows))
    return 0


def _class_dscp(view: dict) -> str:
    """The DSCP of a class view: its own, or the best-effort class's one per priority 0-7.

    >>> _class_dscp({"dscp": 46}), _class_dscp({"dscp": None, "dscp_by_priority": [0, 10, 18, 26, 34, 34, 34, 34]})
    ('46 (EF)', 'by priority 0,10,18,26,34,34,34,34')
    """
    if view.get("dscp") is not None:
        return format_dscp(view["dscp"])
    by_priority = view.get("dscp_by_priority")
    if isinstance(by_priority, list) and by_priority:
        return "by priority " + ",".join(str(v) for v in by_priority)
    return "-"


def _weight(value) -> str:
    return f"{value:g}" if isinstance(value, (int, float)) and not isinstance(value, bool) else "-"


def _group_input(args, body: dict, name: str | None = None):
    """``body`` (a ``GroupInput``) with the options of ``group add``/``group set`` on top, validated as the
    controller validates it (a :class:`UsageError` naming the option otherwise)."""
    for key, value in (("weight", args.weight), ("rate_cap_bps", args.cap), ("guaranteed_bps", args.guaranteed)):
        if value is NONE:
            body.pop(key, None)
        elif value is not None:
            body[key] = value
    try:
        return parse_group(body, name)
    except IntentError as exc:
        raise UsageError(f"{FLAG_OF_GROUP_FIELD.get(exc.field, exc.field)}: {exc}") from None


def cmd_group_add(args, client: Client) -> int:
    group = _group_input(args, {"name": args.name})
    created = client.create_group(group.request())
    if args.json:
        _print_json(created)
    else:
        made = group_from_api(created)  # first: it refuses an answer that is not a Group
        print(f"created group {made.name}: {group_summary(made)}")
    return 0


def cmd_group_set(args, client: Client) -> int:
    """``PUT /groups/NAME`` of the live group with the options given changed (a GET first: the rest stays)."""
    name = group_path(args.name)
    if args.weight is None and args.cap is None and args.guaranteed is None:
        raise UsageError("group set needs at least one of --weight, --cap and --guaranteed (what to change)")
    old = group_from_api(client.group(name))
    new = _group_input(args, old.request(), name)
    if new.request() == old.request():
        changed = old.as_dict()
        text = f"group {name} unchanged: {group_summary(old)}"
    else:
        changed = client.replace_group(name, new.request(), old.version)
        text = "changed " + describe_group_change(GroupChange("update", old, group_from_api(changed)))[2:]
    if args.json:
        _print_json(changed)
    else:
        print(text)
    return 0


def cmd_group_delete(args, client: Client) -> int:
    name = group_path(args.name)
    group = client.group(name)
    client.delete_group(name)  # 409 while intents name it
    if args.json:
        _print_json({"deleted": group})
    else:
        print(f"deleted group {name}")
    return 0


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


def _group_rate_arg(text: str):
    """A rate of ``group add``/``group set``, or ``none`` (no cap, no guaranteed rate).

    >>> _group_rate_arg("5M"), _group_rate_arg("None") is NONE
    (5000000.0, True)
    """
    if text.strip().lower() == NONE:
        return NONE
    return _rate_arg(text)


def _bytes_arg(text: str) -> int:
    try:
        return parse_bytes(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _dscp_arg(text: str) -> int:
    try:
        return parse_dscp(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _proto_arg(text: str) -> int:
    try:
        return parse_proto(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _timeout_arg(text: str) -> float:
    """Seconds per request: more than 0 and at most :data:`MAX_TIMEOUT` (so never nan or inf).

    >>> _timeout_arg("2.5")
    2.5
    >>> _timeout_arg("nan")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: not a positive number of seconds: 'nan' (at most 86400)
    """
    try:
        seconds = float(text)
    except ValueError:
        seconds = float("nan")
    if not 0 < seconds <= MAX_TIMEOUT:  # False for nan
        raise argparse.ArgumentTypeError(f"not a positive number of seconds: {text!r} (at most {MAX_TIMEOUT:g})")
    return seconds


def _label_arg(text: str) -> tuple:
    """``KEY=VALUE`` of ``--label`` and ``-l``, validated like the labels of an intent.

    >>> _label_arg("owner=ops")
    ('owner', 'ops')
    >>> _label_arg("owner")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: not KEY=VALUE: 'owner'
    """
    key, equals, value = text.partition("=")
    if not equals:
        raise argparse.ArgumentTypeError(f"not KEY=VALUE: {text!r}")
    try:
        return parse_labels({key: value})[0]
    except IntentError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix("labels: ")) from None


def token_arg(token: str | None) -> str | None:
    """The bearer token from ``--token``, else ``$TE_TOKEN``; None when neither gives one.

    A token goes into an HTTP header, so it must be printable ASCII without spaces.

    >>> token_arg("s3cret"), token_arg(None) == (os.environ.get("TE_TOKEN") or None)
    ('s3cret', True)
    >>> token_arg("two words")
    Traceback (most recent call last):
    ...
    controller.client.errors.UsageError: --token/TE_TOKEN must be printable ASCII without spaces
    """
    if token is None:
        token = os.environ.get("TE_TOKEN")
    if not token:
        return None
    if not all("!" <= c <= "~" for c in token):
        raise UsageError("--token/TE_TOKEN must be printable ASCII without spaces")
    return token


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    # SUPPRESS: the options may come before or after the subcommand without one hiding the other.
    common.add_argument("--controller", default=argparse.SUPPRESS,
                        help=f"controller URL (default: $TE_CONTROLLER or {DEFAULT_CONTROLLER})")
    common.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="JSON output for scripts")
    common.add_argument("--timeout", type=_timeout_arg, default=argparse.SUPPRESS,
                        help="seconds per request (default 10)")
    common.add_argument("--token", default=argparse.SUPPRESS,
                        help="the controller's rest_token, sent as a bearer token (default: $TE_TOKEN)")
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
    add.add_argument("--label", action="append", type=_label_arg, metavar="KEY=VALUE",
                     help="a label (repeatable), e.g. owner=ops: apply --prune deletes only its owner's intents")
    add.add_argument("--class", dest="service_class", choices=CLASSES,
                     help="service class (default best-effort); guaranteed intents are admitted only if they fit")
    add.add_argument("--group", metavar="NAME", help="the intent group it belongs to (te-intent group add NAME first)")
    add.add_argument("--burst", type=_bytes_arg, metavar="BYTES",
                     help="token bucket depth in bytes: 1514, 64K (64000), 64KiB (65536), 1.5M "
                          "(default: te_meter_burst_ms of its rate)")
    add.add_argument("--dscp", type=_dscp_arg, metavar="DSCP",
                     help="DSCP to mark its packets with: 0-63, EF, AF11-AF43 or CS0-CS7 (default: its class's)")
    add.set_defaults(run=cmd_add)

    sub.add_parser("list", parents=[common], help="list intents").set_defaults(run=cmd_list)
    for name, run, what in (("show", cmd_show, "show an intent and its allocation"),
                            ("delete", cmd_delete, "delete an intent")):
        p = sub.add_parser(name, parents=[common], help=what)
        p.add_argument("intent", metavar="ID|NAME")
        p.set_defaults(run=run)

    apply = sub.add_parser("apply", parents=[common], help="make the controller's intents match a file")
    apply.add_argument("-f", "--file", required=True, metavar="FILE|DIR|-",
                       help="YAML or JSON: a list of intents or {intents: [...], groups: [...], owner: NAME}; - reads "
                            "standard input, a directory means its *.yaml, *.yml and *.json files")
    apply.add_argument("--prune", action="store_true",
                       help="delete intents the file does not name, of the owner (or matching -l) only; "
                            "groups are never deleted")
    apply.add_argument("--dry-run", action="store_true", help="print what would change, change nothing")
    apply.add_argument("--owner", metavar="NAME",
                       help=f"who manages the file's intents: the owner label of what it creates and the prune scope "
                            f"(default: the file's owner:, else {DEFAULT_OWNER})")
    apply.add_argument("-l", "--selector", action="append", type=_label_arg, metavar="KEY=VALUE",
                       help="with --prune: delete intents with these labels instead of the owner's (repeatable)")
    apply.add_argument("--all", action="store_true",
                       help="with --prune: accept a file with no intents (delete every intent of the owner)")
    apply.set_defaults(run=cmd_apply)

    get = sub.add_parser("get", parents=[common], help="print intents; -o yaml writes a file that apply takes back")
    get.add_argument("intent", nargs="*", metavar="ID|NAME", help="these intents only (default: all)")
    get.add_argument("-o", "--output", choices=("table", "yaml", "json"), default="table",
                     help="table (default), or an intent file in YAML or JSON")
    get.add_argument("-l", "--selector", action="append", type=_label_arg, metavar="KEY=VALUE",
                     help="only intents with this label (repeatable)")
    get.add_argument("--no-versions", action="store_true",
                     help="leave the versions out of the file (apply then does not check that nothing changed since)")
    get.set_defaults(run=cmd_get)

    sub.add_parser("allocations", parents=[common],
                   help="what the TE loop allocated to every intent").set_defaults(run=cmd_allocations)
    sub.add_parser("classes", parents=[common],
                   help="per service class: DSCP, intents, degraded, requested, allocated, measured"
                   ).set_defaults(run=cmd_classes)
    sub.add_parser("groups", parents=[common],
                   help="list intent groups with what their intents ask and get").set_defaults(run=cmd_groups)
    sub.add_parser("cluster", parents=[common],
                   help="the controllers sharing the network (etcd), which one leads, the lease and store revision"
                   ).set_defaults(run=cmd_cluster)

    group = sub.add_parser("group", parents=[common], help="create, change or delete an intent group")
    actions = group.add_subparsers(dest="action", required=True, parser_class=_Parser, metavar="ACTION")
    for name, run, what in (("add", cmd_group_add, "create a group"),
                            ("set", cmd_group_set, "change a group: the options not given keep their values")):
        p = actions.add_parser(name, parents=[common], help=what)
        p.add_argument("name", metavar="NAME")
        p.add_argument("--weight", type=float, help="its share against other groups under max-min fairness"
                                                    + (" (default 1)" if name == "add" else ""))
        p.add_argument("--cap", type=_group_rate_arg, metavar="RATE",
                       help="the most its intents get together, e.g. 50M"
                            + (" (none: no cap)" if name == "set" else ""))
        p.add_argument("--guaranteed", type=_group_rate_arg, metavar="RATE",
                       help="the rate it gets first when its intents ask for it"
                            + (" (none: no guaranteed rate)" if name == "set" else ""))
        p.set_defaults(run=run)
    p = actions.add_parser("delete", parents=[common], help="delete a group that no intent names")
    p.add_argument("name", metavar="NAME")
    p.set_defaults(run=cmd_group_delete)
    return parser


def main(argv=None) -> int:
    """Entry point of ``te-intent``; returns the exit status."""
    try:
        args = build_parser().parse_args(argv)
        controller = getattr(args, "controller", None) or os.environ.get("TE_CONTROLLER") or DEFAULT_CONTROLLER
        args.json = getattr(args, "json", False)
        client = Client(controller, getattr(args, "timeout", 10.0), token_arg(getattr(args, "token", None)))
        return args.run(args, client)
    except CliError as exc:
        print(f"te-intent: error: {one_line(str(exc))}", file=sys.stderr)
        return exc.status
    except SystemExit as exc:  # --help
        return exc.code if isinstance(exc.code, int) else 0
    except KeyboardInterrupt:
        print("te-intent: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `te-intent list | head`
        return 0
    except Exception as exc:  # a bug here must still not show a traceback to an operator
        print(f"te-intent: error: unexpected {type(exc).__name__}: {one_line(str(exc))} (please report this)",
              file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
