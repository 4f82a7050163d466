"""The intent REST API (controller/openapi.yaml), the Prometheus metrics and the dashboard, as a plain
dispatcher (no Ryu: :mod:`controller.rest_ryu` is the WSGI glue).

:func:`dispatch` maps ``(method, path, body, headers)`` to a :class:`Reply`
using a *service* (:class:`controller.core.Core`) that offers ``settings`` (a
:class:`~controller.settings.Settings`), ``intents`` (an
:class:`~controller.intents.IntentRegistry`), ``intents_changed()``,
``allocations_body()``, ``topology_body()``, ``links_body()`` and
``metrics_text()`` (``(body, content type)``). Every client mistake becomes a 4xx
JSON error naming the problem and changes nothing. A change the intent store could
not write is a 503 and is not made (the registry writes before it changes); only a
bug in the controller is a 500 (logged with its traceback).

Secure by default: a request whose ``Host`` is not one of ``rest_allowed_hosts`` gets 403
(a web page the operator visits cannot reach the API through DNS rebinding), and when
``rest_token`` is set every write needs ``Authorization: Bearer <token>`` (401 without).

Besides ``/te/v1/...``: ``GET /metrics`` (Prometheus text), the dashboard page at
``/`` and ``/dashboard/``, and the OpenAPI document at ``GET /te/v1/openapi.json``.

Optimistic concurrency: one intent's answers carry ``ETag: "<version>"``, and a PUT or DELETE with
``If-Match`` is refused with 412 when the intent is no longer at that version. ``POST /te/v1/apply``
makes the intents match a whole desired set, all or nothing (:meth:`IntentRegistry.apply`).

Handlers run in eventlet green threads of the controller process and call the
app directly: nothing here yields, so a request never sees half an update.
"""
from __future__ import annotations

import hmac
import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path


from .intents import IntentError
from .store import StoreError

PREFIX = "/te/v1"
MAX_BODY_BYTES = 64 * 1024
MAX_JSON_DEPTH = 32  # an intent nests 2 deep; the bound keeps the decoder's recursion far from the stack's end
DASHBOARD = Path(__file__).resolve().parent / "dashboard" / "index.html"

LOG = logging.getLogger("controller.rest")


@dataclass(frozen=True)
class Reply:
    status: int
    body: object = None  # JSON-able, or bytes sent as they are (with content_type); None means no content
    headers: tuple = ()
    content_type: str = "application/json"


class ApiError(Exception):
    def __init__(self, status: int, message: str, field: str | None = None, headers: tuple = ()):
        super().__init__(message)
        self.status, self.field, self.headers = status, field, headers


def _reject_constant(name):
    raise ValueError(f"{name} is not valid JSON")


# A JSON string (skipped whole, even an unterminated one) or a bracket; brackets inside strings do not nest.
_NESTING_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"?|[\[\]{}]', re.DOTALL)


def json_depth(text: str) -> int:
    """How deep the arrays and objects of a JSON text nest, found without decoding it.

    >>> json_depth('{"a": [1, {"b": "[[["}]}'), json_depth("[" * 10000), json_depth("7")
    (3, 10000, 0)
    """
    depth = deepest = 0
    for token in _NESTING_TOKEN.findall(text):
        if token in ("[", "{"):
            depth += 1
            deepest = max(deepest, depth)
        elif token in ("]", "}"):
            depth -= 1
    return deepest


class _RepeatedKey(dict):
    """A decoded JSON object that gave ``key`` more than once (json keeps the last value silently)."""

    def __init__(self, pairs, key):
        super().__init__(pairs)
        self.key = key


def _decode_object(pairs):
    seen = set()
    for key, _ in pairs:
        if key in seen:
            return _RepeatedKey(pairs, key)
        seen.add(key)
    return dict(pairs)


def _repeated_key(value, path=()):
    """The path to the first repeated key in decoded JSON (``("match", "tp_dst")``), or None."""
    if isinstance(value, _RepeatedKey):
        return path + (value.key,)
    children = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in children:
        found = _repeated_key(child, path + (str(key),))
        if found is not None:
            return found
    return None


def parse_json(body: bytes, content_type: str | None):
    """The decoded JSON of a request body, or :class:`ApiError` 400/413/415 saying what is wrong.

    >>> parse_json(b'{"a": 1}', "application/json; charset=utf-8")
    {'a': 1}
    >>> parse_json(b'{"a": ', "application/json")
    Traceback (most recent call last):
    ...
    controller.rest.ApiError: malformed JSON: Expecting value: line 1 column 7 (char 6)
    >>> parse_json(b'{"a": 1, "a": 2}', "application/json")
    Traceback (most recent call last):
    ...
    controller.rest.ApiError: the JSON object gives the key 'a' more than once
    """
    mime = (content_type or "application/json").split(";")[0].strip().lower()
    if mime != "application/json" and not mime.endswith("+json"):
        raise ApiError(415, f"Content-Type must be application/json, not {mime!r} "
                            "(curl: -H 'Content-Type: application/json')")
    if len(body) > MAX_BODY_BYTES:
        raise ApiError(413, f"request body larger than {MAX_BODY_BYTES} bytes")
    if not body.strip():
        raise ApiError(400, "empty request body; expected a JSON object")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ApiError(400, f"request body is not UTF-8: {exc}") from None
    # Checked before decoding: json recurses once per level, and a deep enough body ends the process
    # when the recursion limit has been raised above what the C stack holds.
    depth = json_depth(text)
    if depth > MAX_JSON_DEPTH:
        raise ApiError(400, f"JSON nested {depth} levels deep; at most {MAX_JSON_DEPTH} are accepted")
    try:
        value = json.loads(text, parse_constant=_reject_constant, object_pairs_hook=_decode_object)
    except RecursionError:  # should json_depth ever miscount: still the client's mistake, not a 500
        raise ApiError(400, f"JSON nested too deeply; at most {MAX_JSON_DEPTH} levels are accepted") from None
    except ValueError as exc:
        raise ApiError(400, f"malformed JSON: {exc}") from None
    repeated = _repeated_key(value)
    if repeated is not None:
        raise ApiError(400, f"the JSON object gives the key {repeated[-1]!r} more than once", ".".join(repeated))
    return value


def read_body(environ) -> bytes:
    """The body of a WSGI request, at most ``MAX_BODY_BYTES + 1`` bytes (enough for a 413).

    A chunked body (``Transfer-Encoding: chunked``) has no Content-Length and WebOb's ``req.body``
    reads it as empty (eventlet does not set ``wsgi.input_terminated``), but eventlet's input stream
    decodes the chunks: it is read until it ends. The server has checked Content-Length already.

    >>> from io import BytesIO
    >>> read_body({"wsgi.input": BytesIO(b'{"a": 1}'), "HTTP_TRANSFER_ENCODING": "chunked"})
    b'{"a": 1}'
    >>> read_body({"wsgi.input": BytesIO(b'{"a": 1}then the next request'), "CONTENT_LENGTH": "8"})
    b'{"a": 1}'
    >>> read_body({"wsgi.input": BytesIO(b"not announced")})
    b''
    """
    # The same test eventlet.wsgi makes before it decodes chunks.
    if environ.get("HTTP_TRANSFER_ENCODING", "").lower() == "chunked":
        left = MAX_BODY_BYTES + 1
    else:
        left = min(int(environ.get("CONTENT_LENGTH") or 0), MAX_BODY_BYTES + 1)
    stream, chunks = environ["wsgi.input"], []
    try:
        while left > 0:
            chunk = stream.read(left)
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
    except (OSError, ValueError) as exc:  # eventlet: a broken chunk header or a body cut short
        raise ApiError(400, f"could not read the request body: {exc}") from None
    return b"".join(chunks)


def request_host(value: str) -> str:
    """The host name of a ``Host`` header: lower case, without port or IPv6 brackets.

    A malformed value comes back whole, so that it matches no allowed name.

    >>> request_host("LocalHost:8080"), request_host("[::1]:8080"), request_host("10.0.0.1"), request_host("[::1")
    ('localhost', '::1', '10.0.0.1', '[::1')
    """
    value = value.strip().lower()
    m = re.fullmatch(r"\[([^\]]*)\](?::\d*)?|([^:\[\]]*)(?::\d*)?", value)
    if m is None:
        return value
    return m[1] if m[1] is not None else m[2]


def _check_host(settings, headers) -> None:
    allowed = settings.allowed_hosts
    # A request without Host is not from a browser, and only browsers can be turned against the API.
    if allowed is None or "host" not in headers:
        return
    host = request_host(headers["host"])
    if host not in allowed:
        raise ApiError(403, f"this controller does not answer to the host {host!r}: add it to "
                            "[te] rest_allowed_hosts if clients really reach it by that name", "Host")


def _check_token(settings, method, headers) -> None:
    # Reads stay open: only a change of intents needs the token.
    if not settings.rest_token or method == "GET":
        return
    challenge = (("WWW-Authenticate", "Bearer"),)
    scheme, _, credentials = headers.get("authorization", "").strip().partition(" ")
    if scheme.lower() != "bearer":
        raise ApiError(401, f"{method} needs the header 'Authorization: Bearer <token>' with the [te] rest_token "
                            "of the controller (te-intent: --token or $TE_TOKEN)", "Authorization", challenge)
    if not hmac.compare_digest(credentials.strip().encode(), settings.rest_token.encode()):
        raise ApiError(401, "the bearer token is not the controller's [te] rest_token", "Authorization", challenge)


def etag(intent) -> str:
    """The entity tag of one intent: its version, quoted (``ETag`` answers, ``If-Match`` requests).

    >>> from controller.intents import parse_intent
    >>> etag(parse_intent({"src": "10.0.0.1", "dst": "10.0.0.2", "rate_bps": 1e6}, "7", version=3))
    '"3"'
    """
    return f'"{intent.version}"'


_ENTITY_TAG = re.compile(r'\s*(W/)?"([^"]*)"\s*')


def if_match_versions(value: str | None):
    """The intent versions an ``If-Match`` header accepts: None for any (no header, or ``*``).

    Strong comparison (RFC 9110): a weak tag ``W/"3"`` matches nothing. What is not a list of quoted entity
    tags is refused (400) rather than read as "no match", so that a typo is not mistaken for a conflict.

    >>> if_match_versions('"3"'), if_match_versions(' "3", "4" '), if_match_versions("*"), if_match_versions(None)
    (frozenset({3}), frozenset({3, 4}), None, None)
    >>> if_match_versions('W/"3"')
    frozenset()
    >>> if_match_versions("3")
    Traceback (most recent call last):
    ...
    controller.rest.ApiError: If-Match must be * or entity tags as ETag gives them (e.g. "3", with the quotes), not '3'
    """
    if value is None or value.strip() == "*":
        return None
    versions = set()
    for part in value.split(","):
        m = _ENTITY_TAG.fullmatch(part)
        if m is None:
            raise ApiError(400, f'If-Match must be * or entity tags as ETag gives them (e.g. "3", with the quotes), '
                                f"not {value.strip()!r}", "If-Match")
        if m[1] is None and m[2].isdigit() and len(m[2]) < 10:
            versions.add(int(m[2]))
    return frozenset(versions)


def _intents(service, method, body, content_type, headers):
    if method == "GET":
        return Reply(200, {"intents": [i.as_dict() for i in service.intents.list()]})
    intent = service.intents.create(parse_json(body, content_type))
    service.intents_changed()
    return Reply(201, intent.as_dict(), (("Location", f"{PREFIX}/intents/{intent.id}"), ("ETag", etag(intent))))


def _intent(service, method, body, content_type, headers, intent_id):
    if method == "GET":
        intent = service.intents.get(intent_id)
        return Reply(200, intent.as_dict(), (("ETag", etag(intent)),))
    service.intents.get(intent_id)  # 404 before looking at the headers and the body
    versions = if_match_versions(headers.get("if-match"))
    if method == "PUT":
        intent = service.intents.replace(intent_id, parse_json(body, content_type), if_version=versions)
        service.intents_changed()
        return Reply(200, intent.as_dict(), (("ETag", etag(intent)),))
    service.intents.delete(intent_id, if_version=versions)
    service.intents_changed()
    return Reply(204)


def _apply(service, method, body, content_type, headers):
    result = service.intents.apply(parse_json(body, content_type))
    if result.changed and not result.dry_run:
        service.intents_changed()
    return Reply(200, result.as_dict())


def _groups(service, method, body, content_type, headers):
    if method == "GET":
        return Reply(200, {"groups": [g.as_dict() for g in service.intents.groups().values()]})
    group = service.intents.create_group(parse_json(body, content_type))
    service.intents_changed()
    return Reply(201, group.as_dict(), (("Location", f"{PREFIX}/groups/{group.name}"), ("ETag", etag(group))))


def _group(service, method, body, content_type, headers, name):
    if method == "GET":
        group = service.intents.get_group(name)
        return Reply(200, group.as_dict(), (("ETag", etag(group)),))
    service.intents.get_group(name)  # 404 before looking at the headers and the body
    versions = if_match_versions(headers.get("if-match"))
    if method == "PUT":
        group = service.intents.replace_group(name, parse_json(body, content_type), if_version=versions)
        service.intents_changed()
        return Reply(200, group.as_dict(), (("ETag", etag(group)),))
    service.intents.delete_group(name, if_version=versions)
    service.intents_changed()
    return Reply(204)


def _openapi(service, *_):
    from .openapi import load_spec  # the spec is read (YAML) only when someone asks for it

    return Reply(200, load_spec())


def _dashboard(service, *_):
    return Reply(200, DASHBOARD.read_bytes(), content_type="text/html; charset=utf-8")


def _raw(body: bytes, content_type: str) -> Reply:
    return Reply(200, body, content_type=content_type)


# (path, allowed methods, handler(service, method, body, content type, headers, *path variables)). A {name} in a
# path is one segment; every path but / also answers with one trailing slash. The Ryu routes of
# TERestController are made from these, so what is routed and what is dispatched cannot drift apart.
ROUTES = (
    (f"{PREFIX}/intents", ("GET", "POST"), _intents),
    (f"{PREFIX}/intents/{{intent_id}}", ("GET", "PUT", "DELETE"), _intent),
    (f"{PREFIX}/apply", ("POST",), _apply),
    (f"{PREFIX}/groups", ("GET", "POST"), _groups),
    (f"{PREFIX}/groups/{{name}}", ("GET", "PUT", "DELETE"), _group),
    (f"{PREFIX}/classes", ("GET",), lambda s, *_: Reply(200, s.classes_body())),
    (f"{PREFIX}/allocations", ("GET",), lambda s, *_: Reply(200, s.allocations_body())),
    (f"{PREFIX}/topology", ("GET",), lambda s, *_: Reply(200, s.topology_body())),
    (f"{PREFIX}/links", ("GET",), lambda s, *_: Reply(200, s.links_body())),
    (f"{PREFIX}/elephants", ("GET",), lambda s, *_: Reply(200, s.elephants_body())),
    (f"{PREFIX}/cluster", ("GET",), lambda s, *_: Reply(200, s.cluster_body())),
    (f"{PREFIX}/openapi.json", ("GET",), _openapi),
    ("/metrics", ("GET",), lambda s, *_: _raw(*s.metrics_text())),
    ("/", ("GET",), _dashboard),
    ("/dashboard", ("GET",), _dashboard),
)


def path_pattern(path: str) -> re.Pattern:
    """The regex (for ``fullmatch``) of a route's path: each ``{name}`` is one segment, captured.

    >>> path_pattern("/te/v1/intents/{intent_id}").fullmatch("/te/v1/intents/7").groups()
    ('7',)
    """
    parts = re.split(r"(\{\w+\})", path)
    return re.compile("".join("([^/]+)" if n % 2 else re.escape(part) for n, part in enumerate(parts)))


_PATTERNS = tuple((path_pattern(path), methods, handler) for path, methods, handler in ROUTES)


def dispatch(service, method: str, path: str, body: bytes = b"", headers=None) -> Reply:
    """Answer one request; never raises.

    ``headers`` maps header names, in any case, to values. Those that matter: ``Host`` (checked
    against ``rest_allowed_hosts`` when present), ``Authorization`` (the bearer token, for writes
    when ``rest_token`` is set), ``Content-Type`` (of a body; JSON when absent) and ``If-Match``
    (PUT and DELETE of one intent).
    """
    headers = {name.lower(): value for name, value in (headers or {}).items()}
    try:
        _check_host(service.settings, headers)
        route_path = path[:-1] if path != "/" and path.endswith("/") else path
        for pattern, methods, handler in _PATTERNS:
            m = pattern.fullmatch(route_path)
            if m is None:
                continue
            if method not in methods:
                raise ApiError(405, f"{method} is not allowed on {path} (allowed: {', '.join(methods)})",
                               headers=(("Allow", ", ".join(methods)),))
            _check_token(service.settings, method, headers)
            return handler(service, method, body, headers.get("content-type"), headers, *m.groups())
        raise ApiError(404, f"no such resource {path!r}")
    except ApiError as exc:
        return api_error(exc)
    except IntentError as exc:
        reply = _error(exc.status, str(exc), exc.field)
        reply.body.update(getattr(exc, "details", {}))  # an admission refusal: the links, the largest rate that fits
        return reply
    except StoreError as exc:  # the server's fault, but nothing was changed: the client may retry
        LOG.error("te: REST %s %s: intent store failed, change not made: %s", method, path, exc)
        return _error(503, f"the change was not made: {exc}")
    except Exception:  # a bug of ours, not the client's: say so, and leave the traceback in the log
        LOG.exception("te: REST %s %s failed", method, path)
        return _error(500, "internal error (see the controller log)")


WRITES = ("POST", "PUT", "DELETE")
# Reads that only the leader answers fully (what is installed): a follower passes them on when it can.
LEADER_READS = (f"{PREFIX}/allocations", f"{PREFIX}/classes", f"{PREFIX}/elephants")
FORWARDED_HEADER = "X-TE-Forwarded-By"


def forwarding(service, method: str, path: str, headers) -> str | None:
    """Where a follower of a cluster sends this request on: the leader's base URL, "" when the request
    should be answered 503 (no leader known, or it came from another controller already), None to answer
    it here. Without a cluster, always None.
    """
    target = service.forward_to() if hasattr(service, "forward_to") else None
    if target is None:
        return None
    path = path[:-1] if path.endswith("/") else path
    already = any(name.lower() == FORWARDED_HEADER.lower() for name in (headers or {}))
    if method in WRITES and path.startswith(PREFIX + "/") and _routed(method, path):
        return "" if already else target
    if method == "GET" and path in LEADER_READS and target and not already:
        return target
    return None


def _routed(method: str, path: str) -> bool:
    """Whether a route takes ``method`` on ``path`` (anything else is answered here: 404, 405)."""
    return any(pattern.fullmatch(path) and method in methods for pattern, methods, _ in _PATTERNS)


def check_host(service, headers) -> Reply | None:
    """The 403 for a ``Host`` the API does not answer (see :func:`dispatch`), or None."""
    try:
        _check_host(service.settings, {name.lower(): value for name, value in (headers or {}).items()})
    except ApiError as exc:
        return api_error(exc)
    return None


def no_leader(target: str, problem: str | None = None) -> Reply:
    """503 for a write that no leader could take (504 when the leader took it and did not answer in time:
    the change may have been made)."""
    if problem == "ReadTimeout":
        return _error(504, f"the leader at {target} did not answer in time; the change may have been made: read "
                           "the intents before trying again")
    if target:
        message = f"the leader at {target} did not answer ({problem}); the change was not made, retry"
    else:
        message = ("no controller leads now (an election is under way, or etcd has no quorum); the change was "
                   "not made, retry")
    return _error(503, message, headers=(("Retry-After", "1"),))


def api_error(exc: ApiError) -> Reply:
    return _error(exc.status, str(exc), exc.field, exc.headers)


def _error(status, message, field=None, headers=()) -> Reply:
    body = {"error": message}
    if field is not None:
        body["field"] = field
    return Reply(status, body, headers)


def ryu_paths() -> list:
    """The paths TERestController registers with Ryu: those of :data:`ROUTES`, their trailing-slash
    forms, and the rest of the ``/te/v1`` namespace (so that a wrong API path gets a JSON 404).

    No route claims a path outside what the app serves, so Ryu's own REST apps (ofctl_rest, rest_topology)
    can run beside it.

    >>> ryu_paths()[:3], ryu_paths()[-1]
    (['/te/v1/intents', '/te/v1/intents/', '/te/v1/intents/{intent_id}'], '/te/v1/{tail:.*}')
    """
    paths = []
    for path, _, _ in ROUTES:
        paths += [path] if path == "/" else [path, path + "/"]
    return paths + [PREFIX + "/{tail:.*}"]
