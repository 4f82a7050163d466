"""Intent files for ``te-intent apply``: YAML or JSON, validated in full before anything is sent.

A source is a file, ``-`` (standard input) or a directory (its ``*.yaml``, ``*.yml`` and ``*.json``
files, in name order); a YAML file may hold several documents separated by ``---``. Every intent of
every document is validated, and names must be unique across all of them.

YAML is read by :class:`IntentLoader`: PyYAML's safe loader, except that a key repeated in a mapping
is an error (not "the last one wins") and, as in YAML 1.2, only ``true``/``false`` are booleans and
dates stay strings, so ``name: no`` is the name ``"no"``. ``match.ip_proto`` may be ``tcp``, ``udp``,
``icmp`` or a number, as with ``te-intent add --proto``.

A document is a list of intents or ``{intents: [...], groups: [...], owner: NAME}`` (either list may be
left out): ``owner`` is who manages the file's intents (``te-intent apply`` sends it; documents that
name one must agree). Each intent may carry ``labels`` (a map of strings) and ``version``, the version
of the live intent it was based on (as ``te-intent get -o yaml`` writes it), which the controller checks.
The service-class fields are validated as the controller validates them: ``class`` (``best-effort``
or ``guaranteed``), ``group`` (a group's name), ``burst_bytes`` (a number of bytes, or a size like
``64K``, ``64KiB`` or ``1.5M``: SI prefixes, ``Ki``/``Mi`` powers of 1024) and ``dscp`` (0-63 or a
name: ``EF``, ``AF11`` to ``AF43``, ``CS0`` to ``CS7``).

``groups`` are ``GroupInput`` objects of the API: ``name``, and optionally ``weight``, ``rate_cap_bps``
and ``guaranteed_bps`` (rates may be written like ``5M``), and the ``version`` of the live group they
were based on. Group names are unique across all documents too::

    groups:
      - {name: video, weight: 3, rate_cap_bps: 50M}
    intents:
      - {name: cam1, src: 10.0.0.1, dst: 10.0.0.5, rate_bps: 8M, class: guaranteed, group: video, dscp: AF41}
"""
from __future__ import annotations

import io
import os
import re
import reprlib
import sys
from dataclasses import dataclass

import yaml

from controller.intents import IntentError, parse_group, parse_intent, parse_label_value

from .errors import UsageError
from .formatting import parse_bytes, parse_dscp, parse_proto, parse_rate

SUFFIXES = (".yaml", ".yml", ".json")
STDIN = "-"
STDIN_LABEL = "<stdin>"
_TAG = "tag:yaml.org,2002:"
_KINDS = {"int": "integer", "float": "number", "bool": "boolean", "timestamp": "date"}  # checked scalars
# What each field holds, for refusing a collection there before the API validation prints all of it.
_SCALARS = {"src": "an IPv4 address string", "dst": "an IPv4 address string", "rate_bps": "a number or a rate like 4M",
            "priority": "an integer", "weight": "a number", "name": "a string",
            "match.ip_proto": "tcp, udp, icmp or a number", "match.tp_src": "an integer", "match.tp_dst": "an integer",
            "class": "best-effort or guaranteed", "group": "a group name",
            "burst_bytes": "a number of bytes or a size like 64K", "dscp": "0-63 or a name like EF or AF41"}
_GROUP_SCALARS = {"name": "a string", "weight": "a number", "rate_cap_bps": "a number or a rate like 5M",
                  "guaranteed_bps": "a number or a rate like 5M"}
_DOCUMENT_KEYS = {"intents", "groups", "owner"}
_SHORT = reprlib.Repr()  # a bounded repr: YAML aliases can make a few bytes of file a huge nested list
_SHORT.maxlevel, _SHORT.maxstring = 2, 40
_SHORT.maxlist = _SHORT.maxtuple = _SHORT.maxset = _SHORT.maxfrozenset = _SHORT.maxdict = 4


class LoaderRefusal(yaml.YAMLError):
    """Well-formed YAML that an intent file may not contain (a repeated key, an integer too large)."""


class IntentLoader(yaml.SafeLoader):
    """PyYAML's safe loader with repeated keys refused and YAML 1.2 booleans (see the module doc).

    >>> yaml.load("{a: no, b: true, c: 2024-01-01}", Loader=IntentLoader)
    {'a': 'no', 'b': True, 'c': '2024-01-01'}
    >>> yaml.load("{a: 1,\\n a: 2}", Loader=IntentLoader)
    Traceback (most recent call last):
    ...
    controller.client.intent_file.LoaderRefusal: duplicate key 'a' on lines 1 and 2 (a key may appear once per mapping)
    """

    def compose_mapping_node(self, anchor):
        # Checked on the composed node, before merge keys (<<) are flattened in: a key given next to a
        # merge overrides the merged one, as YAML intends, and is not a duplicate.
        node = super().compose_mapping_node(anchor)
        _refuse_duplicate_keys(node)
        return node


def _refuse_duplicate_keys(node: yaml.MappingNode) -> None:
    """Raise :class:`LoaderRefusal` naming the first scalar key that ``node`` holds more than once."""
    lines: dict = {}
    for key, _ in node.value:
        if isinstance(key, yaml.ScalarNode) and key.tag != _TAG + "merge":
            lines.setdefault((key.tag, key.value), []).append(key.start_mark.line + 1)
    for (_, key), where in lines.items():
        if len(where) > 1:
            raise LoaderRefusal(f"duplicate key {key!r} on {_lines(where)} (a key may appear once per mapping)")


def _lines(numbers) -> str:
    """``line 3`` or ``lines 3 and 5`` or ``lines 3, 5 and 7``.

    >>> _lines([3, 3]), _lines([5, 3]), _lines([3, 5, 7])
    ('line 3', 'lines 3 and 5', 'lines 3, 5 and 7')
    """
    unique = sorted(set(numbers))
    if len(unique) == 1:
        return f"line {unique[0]}"
    return "lines " + ", ".join(map(str, unique[:-1])) + f" and {unique[-1]}"


def _checked_scalar(construct):
    """``construct`` (a scalar constructor), with a value it cannot build reported as YAML at its line.

    PyYAML raises plain ValueError, KeyError, ... for ``!!int abc``, ``!!bool maybe`` or an integer of
    more than 4300 digits; an integer beyond a float's range would only fail later, as a rate or weight.
    """
    def checked(loader, node):
        try:
            value = construct(loader, node)
        except (ValueError, KeyError, AttributeError, TypeError, OverflowError):
            raise _scalar_refusal(node, "is not a valid {kind}") from None
        if isinstance(value, int) and abs(value) > sys.float_info.max:
            raise _scalar_refusal(node, "is too large")
        return value
    return checked


def _scalar_refusal(node: yaml.ScalarNode, problem: str) -> LoaderRefusal:
    kind = _KINDS[node.tag[len(_TAG):]]
    text = node.value if len(node.value) <= 20 else f"{node.value[:10]}... ({len(node.value)} characters)"
    return LoaderRefusal(f"line {node.start_mark.line + 1}: the {kind} {text} {problem.format(kind=kind)}")


IntentLoader.yaml_implicit_resolvers = {  # YAML 1.2: no yes/no/on/off booleans, no implicit dates
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in (_TAG + "bool", _TAG + "timestamp")]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}
IntentLoader.add_implicit_resolver(_TAG + "bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))
for _kind in ("int", "float", "bool", "timestamp"):
    IntentLoader.add_constructor(_TAG + _kind, _checked_scalar(getattr(yaml.SafeLoader, f"construct_yaml_{_kind}")))


def load_documents(text: str, label: str) -> list:
    """The documents of ``text`` (YAML or JSON) read by :class:`IntentLoader`; ``label`` names it in errors.

    >>> load_documents("- a\\n---\\n{b: 1}\\n", "x.yaml")
    [['a'], {'b': 1}]
    >>> load_documents("[a", "x.yaml")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    controller.client.errors.UsageError: x.yaml is neither YAML nor JSON: while parsing a flow sequence in "x.yaml", ...
    """
    stream = io.StringIO(text)
    stream.name = label  # PyYAML names the stream in its messages
    try:
        return list(yaml.load_all(stream, Loader=IntentLoader))
    except LoaderRefusal as exc:
        raise UsageError(f"{label}: {exc}") from None
    except yaml.YAMLError as exc:
        raise UsageError(f"{label} is neither YAML nor JSON: {' '.join(str(exc).split())}") from None
    except RecursionError:
        raise UsageError(f"{label} is nested too deeply to be an intent file") from None


@dataclass(frozen=True)
class IntentFile:
    """What an intent source asks for: the intents, the versions they were based on, the owner, and the
    groups (with the versions they were based on)."""

    intents: tuple  # of Intent
    versions: tuple  # per intent: the ``version:`` it gave, or None
    owner: str | None = None  # from the documents' ``owner:``; None when none names one
    groups: tuple = ()  # of IntentGroup, from the documents' ``groups:``
    group_versions: tuple = ()  # per group: the ``version:`` it gave, or None


def read_intent_file(source: str) -> list:
    """Validated intents from ``source``: a file, ``-`` (standard input) or a directory of files.

    Raises :class:`UsageError` naming the culprit (file, document, intent) when anything is wrong.
    """
    return list(read_apply_file(source).intents)


def read_apply_file(source: str) -> IntentFile:
    """Like :func:`read_intent_file`, with each intent's ``version:`` and the documents' ``owner:``.

    Raises :class:`UsageError` also when two documents name different owners.
    """
    intents: list = []
    versions: list = []
    groups: list = []
    group_versions: list = []
    seen: dict = {}
    seen_groups: dict = {}
    owner = owner_where = None
    for label, data in _sources(source):
        documents = load_documents(_decode(data, label), label)
        for n, document in enumerate(documents, 1):
            where = label if len(documents) == 1 else f"{label} (document {n})"
            found = parse_document(document, where, seen, seen_groups)
            intents += found.intents
            versions += found.versions
            groups += found.groups
            group_versions += found.group_versions
            if found.owner is not None and owner is not None and found.owner != owner:
                raise UsageError(f"{where}: owner {found.owner!r} differs from the owner {owner!r} of {owner_where}")
            if found.owner is not None and owner is None:
                owner, owner_where = found.owner, where
    return IntentFile(tuple(intents), tuple(versions), owner, tuple(groups), tuple(group_versions))


def _sources(source: str) -> list:
    """``[(label, bytes), ...]``: what ``source`` names, read in full."""
    if source == STDIN:
        return [(STDIN_LABEL, _read_stdin())]
    if os.path.isdir(source):
        return [(path, _read(path)) for path in _directory_files(source)]
    return [(source, _read(source))]


def _directory_files(directory: str) -> list:
    """The paths of the intent files in ``directory``, sorted by name; at least one."""
    try:
        names = sorted(os.listdir(directory))
    except OSError as exc:
        raise UsageError(f"cannot read {directory}: {exc.strerror or exc}") from None
    paths = [os.path.join(directory, n) for n in names if n.lower().endswith(SUFFIXES)]
    paths = [p for p in paths if os.path.isfile(p)]
    if not paths:
        raise UsageError(f"{directory}: no *.yaml, *.yml or *.json file in this directory")
    return paths


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None


def _read_stdin() -> bytes:
    if sys.stdin is None:  # started with standard input closed (<&-)
        raise UsageError("cannot read standard input: it is closed")
    try:
        return getattr(sys.stdin, "buffer", sys.stdin).read()
    except OSError as exc:
        raise UsageError(f"cannot read standard input: {exc.strerror or exc}") from None


def _decode(data, label: str) -> str:
    """``data`` as UTF-8 text (a byte order mark is allowed).

    >>> _decode(b"rate_bps: 4M\\nname: caf\\xe9\\n", "x.yaml")
    Traceback (most recent call last):
    ...
    controller.client.errors.UsageError: x.yaml is not UTF-8 text (byte 0xe9 on line 2); save it as UTF-8
    """
    if isinstance(data, str):  # a text-only standard input
        return data
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise UsageError(f"{label} is not UTF-8 text (byte 0x{data[exc.start]:02x} on line {line}); "
                         f"save it as UTF-8") from None


def parse_intent_list(data, source: str = "the file", seen: dict | None = None) -> list:
    """Validate the decoded content of an intent file: every intent valid and uniquely named.

    ``seen`` maps the names already taken (by earlier documents or files) to ``(source, number)``;
    it is updated with this list's names.

    Examples
    --------
    >>> [i.name for i in parse_intent_list({"intents": [
    ...     {"name": "a", "src": "10.0.0.1", "dst": "10.0.0.2", "rate_bps": "4M", "match": {"ip_proto": "tcp"}}]})]
    ['a']
    >>> parse_intent_list([{"src": "10.0.0.1", "dst": "10.0.0.2", "rate_bps": 1e6}])
    Traceback (most recent call last):
    ...
    controller.client.errors.UsageError: the file: intent #1 has no name (apply matches intents by name)
    """
    return parse_intent_document(data, source, seen)[0]


def parse_intent_document(data, source: str = "the file", seen: dict | None = None) -> tuple:
    """``(intents, versions, owner)`` of one decoded document: a list of intents or ``{intents, owner}``.

    Examples
    --------
    >>> intents, versions, owner = parse_intent_document({"owner": "ops", "intents": [
    ...     {"name": "a", "src": "10.0.0.1", "dst": "10.0.0.2", "rate_bps": "4M", "version": 3,
    ...      "labels": {"team": "video"}}]})
    >>> [(i.name, i.labels) for i in intents], versions, owner
    ([('a', (('team', 'video'),))], [3], 'ops')
    >>> parse_intent_document({"owner": "two words", "intents": []})
    Traceback (most recent call last):
    ...
    controller.client.errors.UsageError: the file: owner must be 1-128 letters, digits, '.', '_', ':', '@', '/', '+' or '-', not 'two words'
    """
    found = parse_document(data, source, seen)
    return list(found.intents), list(found.versions), found.owner


def parse_document(data, source: str = "the file", seen: dict | None = None,
                   seen_groups: dict | None = None) -> IntentFile:
    """One decoded document as an :class:`IntentFile`: a list of intents or ``{intents, groups, owner}``.

    ``seen_groups``, like ``seen`` for intents, maps the group names already taken to ``(source, number)``.

    Examples
    --------
    >>> found = parse_document({"groups": [{"name": "video", "rate_cap_bps": "5M", "version": 2}], "intents": [
    ...     {"name": "a", "src": "10.0.0.1", "dst": "10.0.0.2", "rate_bps": "4M", "class": "guaranteed",
    ...      "group": "video", "burst_bytes": "64K", "dscp": "af41"}]})
    >>> found.groups, found.group_versions
    ((IntentGroup(name='video', weight=1.0, rate_cap_bps=5000000.0, guaranteed_bps=None, version=1),), (2,))
    >>> [(i.service_class, i.group, i.burst_bytes, i.dscp) for i in found.intents]
    [('guaranteed', 'video', 64000, 34)]
    """
    owner = None
    groups, group_versions = [], []
    if isinstance(data, dict) and data and set(data) <= _DOCUMENT_KEYS and ("intents" in data or "groups" in data):
        owner = data.get("owner")
        if owner is not None:
            try:
                parse_label_value(owner, "owner")
            except IntentError as exc:
                raise UsageError(f"{source}: {exc}") from None
        groups, group_versions = _parse_groups(data.get("groups"), source, {} if seen_groups is None else seen_groups)
        data = data.get("intents")
    if data is None:
        data = []  # an empty file asks for no intents
    if not isinstance(data, list):
        raise UsageError(f"{source}: expected a list of intents or {{intents: [...], groups: [...], owner: NAME}}, "
                         f"not {type(data).__name__}")
    seen = {} if seen is None else seen
    intents, versions = [], []
    for n, body in enumerate(data, 1):
        intent, where, version = _parse_one(body, n, source)
        if intent.name in seen:
            other, m = seen[intent.name]
            raise UsageError(f"{where}: name {intent.name!r} is already used by intent #{m}"
                             + ("" if other == source else f" of {other}"))
        seen[intent.name] = (source, n)
        intents.append(intent)
        versions.append(version)
    return IntentFile(tuple(intents), tuple(versions), owner, tuple(groups), tuple(group_versions))


def _parse_groups(data, source: str, seen: dict) -> tuple:
    """``(groups, versions)`` of a document's ``groups:`` list, each validated as the controller does.

    >>> _parse_groups([{"name": "a", "weight": 2}, {"name": "a"}], "x", {})
    Traceback (most recent call last):
    ...
    controller.client.errors.UsageError: x: group #2 (a): name 'a' is already used by group #1
    """
    if data is None:
        return [], []
    if not isinstance(data, list):
        raise UsageError(f"{source}: groups must be a list of groups ({{name, weight, rate_cap_bps, guaranteed_bps}}), "
                         f"not the {type(data).__name__} {_SHORT.repr(data)}")
    groups, versions = [], []
    for n, body in enumerate(data, 1):
        where = f"{source}: group #{n}"
        version = None
        if isinstance(body, dict):
            if isinstance(body.get("name"), str):
                where += f" ({body['name']})"
            body, version = _prepare_group(body, where)
        try:
            group = parse_group(body)
        except IntentError as exc:
            raise UsageError(f"{where}: {exc}") from None
        if group.name in seen:
            other, m = seen[group.name]
            raise UsageError(f"{where}: name {group.name!r} is already used by group #{m}"
                             + ("" if other == source else f" of {other}"))
        seen[group.name] = (source, n)
        groups.append(group)
        versions.append(version)
    return groups, versions


def _prepare_group(body: dict, where: str) -> tuple:
    """``(body, version)``: a group with its rates read (``rate_cap_bps: 5M``) and its ``version:`` taken out.

    >>> _prepare_group({"name": "v", "rate_cap_bps": "5M", "guaranteed_bps": "1.5M", "version": 3}, "x")
    ({'name': 'v', 'rate_cap_bps': 5000000.0, 'guaranteed_bps': 1500000.0}, 3)
    """
    _refuse_non_string_keys(body, where)
    for field, value in body.items():
        if field in _GROUP_SCALARS and isinstance(value, (list, tuple, dict, set, frozenset)):
            raise UsageError(f"{where}: {field} must be {_GROUP_SCALARS[field]}, "
                             f"not the {type(value).__name__} {_SHORT.repr(value)}")
    name = body.get("name")
    if name is not None and not isinstance(name, str):
        raise UsageError(f'{where}: name must be a string, not the {type(name).__name__} {_SHORT.repr(name)} '
                         f'(quote it: name: "...")')
    body = dict(body)
    version = None
    if "version" in body:
        version = body.pop("version")
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            raise UsageError(f"{where}: version must be the version (an integer, at least 1) of the live group it "
                             f"was based on, not {_SHORT.repr(version)}")
    for key in ("rate_cap_bps", "guaranteed_bps"):
        if isinstance(body.get(key), str):
            try:
                body[key] = parse_rate(body[key])
            except ValueError as exc:
                raise UsageError(f"{where}: {key}: {exc}") from None
    return body, version


def _parse_one(body, n: int, source: str):
    """``(intent, where, version)``: intent #``n`` of ``source`` validated and named, how errors name it,
    and the ``version:`` it was based on (None when it gives none)."""
    where = f"{source}: intent #{n}"
    version = None
    if isinstance(body, dict):
        if isinstance(body.get("name"), str):
            where += f" ({body['name']})"
        body = _prepare(body, where)
        if "version" in body:
            version = body.pop("version")
            if isinstance(version, bool) or not isinstance(version, int) or version < 1:
                raise UsageError(f"{where}: version must be the version (an integer, at least 1) of the live intent "
                                 f"it was based on, not {_SHORT.repr(version)}")
    try:
        intent = parse_intent(body, f"#{n}")
    except IntentError as exc:
        inside_match = exc.field == "ip_proto"  # the validator names it without its "match."
        raise UsageError(f"{where}: {'match.' if inside_match else ''}{exc}") from None
    if intent.name is None:
        raise UsageError(f"{where} has no name (apply matches intents by name)")
    return intent, where, version


def _prepare(body: dict, where: str) -> dict:
    """``body`` with what files may spell differently from the API: ``rate_bps: 4M``, ``ip_proto: tcp``,
    ``burst_bytes: 64K``, ``dscp: EF``.

    Also refuses what the API validation would report badly: field names that are not strings, and a
    name that YAML read as something else (``name: 012`` is the integer 10).

    >>> _prepare({"rate_bps": "4M", "match": {"ip_proto": "udp", "tp_dst": 53}}, "x")
    {'rate_bps': 4000000.0, 'match': {'ip_proto': 17, 'tp_dst': 53}}
    >>> _prepare({"burst_bytes": "1.5K", "dscp": "ef"}, "x")
    {'burst_bytes': 1500, 'dscp': 46}
    """
    _refuse_non_string_keys(body, where)
    _refuse_collections(body, where)
    name = body.get("name")
    if name is not None and not isinstance(name, str):
        raise UsageError(f'{where}: name must be a string, not the {type(name).__name__} {_SHORT.repr(name)} '
                         f'(quote it: name: "...")')
    body = dict(body)
    if isinstance(body.get("rate_bps"), str):
        try:
            body["rate_bps"] = parse_rate(body["rate_bps"])
        except ValueError as exc:
            raise UsageError(f"{where}: rate_bps: {exc}") from None
    for key, parse in (("burst_bytes", parse_bytes), ("dscp", parse_dscp)):
        if isinstance(body.get(key), str):
            try:
                body[key] = parse(body[key])
            except ValueError as exc:
                raise UsageError(f"{where}: {key}: {exc}") from None
    match = body.get("match")
    if isinstance(match, dict):
        _refuse_non_string_keys(match, f"{where}: match")
        if isinstance(match.get("ip_proto"), str):
            try:
                body["match"] = match | {"ip_proto": parse_proto(match["ip_proto"])}
            except ValueError as exc:
                raise UsageError(f"{where}: match.ip_proto: {exc}") from None
    return body


def _refuse_collections(body: dict, where: str) -> None:
    """Refuse a list, mapping or set where a single value belongs, showing only the start of it.

    >>> _refuse_collections({"src": "10.0.0.1", "match": {"tp_dst": [80, 443]}}, "x")
    Traceback (most recent call last):
    ...
    controller.client.errors.UsageError: x: match.tp_dst must be an integer, not the list [80, 443]
    """
    match = body.get("match")
    if match is not None and not isinstance(match, dict):
        raise UsageError(f"{where}: match must be an object, not the {type(match).__name__} {_SHORT.repr(match)}")
    labels = body.get("labels")
    if labels is not None and not isinstance(labels, dict):
        raise UsageError(f"{where}: labels must be a mapping of strings, not the {type(labels).__name__} "
                         f"{_SHORT.repr(labels)}")
    for key, value in (labels or {}).items():
        if not isinstance(value, str):
            raise UsageError(f"{where}: labels.{key if isinstance(key, str) else _SHORT.repr(key)} must be a string, "
                             f"not the {type(value).__name__} {_SHORT.repr(value)} (quote it)")
    values = [(field, body.get(field)) for field in _SCALARS if "." not in field]
    values += [(f"match.{key}", value) for key, value in (match or {}).items()]
    for field, value in values:
        if field in _SCALARS and isinstance(value, (list, tuple, dict, set, frozenset)):
            raise UsageError(f"{where}: {field} must be {_SCALARS[field]}, "
                             f"not the {type(value).__name__} {_SHORT.repr(value)}")


def _refuse_non_string_keys(mapping: dict, where: str) -> None:
    for key in mapping:
        if not isinstance(key, str):
            raise UsageError(f"{where}: field names must be strings, not {key!r}")
