"""The intent REST API (docs/openapi.yaml), the Prometheus metrics and the dashboard: a plain
dispatcher plus the Ryu WSGI glue.

:func:`dispatch` maps ``(method, path, body, content type)`` to a :class:`Reply`
using a *service* (the Ryu app) that offers ``intents`` (an
:class:`~controller.intents.IntentRegistry`), ``intents_changed()``,
``allocations_body()``, ``topology_body()``, ``links_body()`` and
``metrics_text()`` (``(body, content type)``). Every client mistake becomes a 4xx
JSON error naming the problem and changes nothing. A change the intent store could
not write is a 503 and is not made (the registry writes before it changes); only a
bug in the controller is a 500 (logged with its traceback).

Besides ``/te/v1/...``: ``GET /metrics`` (Prometheus text) and the dashboard page at
``/`` and ``/dashboard/``.

Handlers run in eventlet green threads of the controller process and call the
app directly: nothing here yields, so a request never sees half an update.
"""
from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path

from ryu.app.wsgi import ControllerBase, Response, route

from .intents import IntentError
from .store import StoreError

PREFIX = "/te/v1"
MAX_BODY_BYTES = 64 * 1024
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


def parse_json(body: bytes, content_type: str | None):
    """The decoded JSON of a request body, or :class:`ApiError` 400/413/415 saying what is wrong.

    >>> parse_json(b'{"a": 1}', "application/json; charset=utf-8")
    {'a': 1}
    >>> parse_json(b'{"a": ', "application/json")
    Traceback (most recent call last):
    ...
    controller.rest.ApiError: malformed JSON: Expecting value: line 1 column 7 (char 6)
    """
    mime = (content_type or "application/json").split(";")[0].strip().lower()
    if mime != "application/json" and not mime.endswith("+json"):
        raise ApiError(415, f"Content-Type must be application/json, not {mime!r} "
                            "(curl: -H 'Content-Type: application/json')")
    if len(body) > MAX_BODY_BYTES:
        raise ApiError(413, f"request body of {len(body)} bytes is larger than {MAX_BODY_BYTES}")
    if not body.strip():
        raise ApiError(400, "empty request body; expected a JSON object")
    try:
        return json.loads(body.decode("utf-8"), parse_constant=_reject_constant)
    except UnicodeDecodeError as exc:
        raise ApiError(400, f"request body is not UTF-8: {exc}") from None
    except ValueError as exc:
        raise ApiError(400, f"malformed JSON: {exc}") from None


def _intents(service, method, body, content_type):
    if method == "GET":
        return Reply(200, {"intents": [i.as_dict() for i in service.intents.list()]})
    intent = service.intents.create(parse_json(body, content_type))
    service.intents_changed()
    return Reply(201, intent.as_dict(), (("Location", f"{PREFIX}/intents/{intent.id}"),))


def _intent(service, method, body, content_type, intent_id):
    if method == "GET":
        return Reply(200, service.intents.get(intent_id).as_dict())
    if method == "PUT":
        service.intents.get(intent_id)  # 404 before looking at the body
        intent = service.intents.replace(intent_id, parse_json(body, content_type))
        service.intents_changed()
        return Reply(200, intent.as_dict())
    service.intents.delete(intent_id)
    service.intents_changed()
    return Reply(204)


# path pattern -> (allowed methods, handler(service, method, body, content_type, *groups))
ROUTES = (
    (re.compile(rf"^{PREFIX}/intents/?$"), ("GET", "POST"), _intents),
    (re.compile(rf"^{PREFIX}/intents/([^/]+)/?$"), ("GET", "PUT", "DELETE"), _intent),
    (re.compile(rf"^{PREFIX}/allocations/?$"), ("GET",), lambda s, *_: Reply(200, s.allocations_body())),
    (re.compile(rf"^{PREFIX}/topology/?$"), ("GET",), lambda s, *_: Reply(200, s.topology_body())),
    (re.compile(rf"^{PREFIX}/links/?$"), ("GET",), lambda s, *_: Reply(200, s.links_body())),
    (re.compile(r"^/metrics/?$"), ("GET",), lambda s, *_: _raw(*s.metrics_text())),
    (re.compile(r"^/(dashboard/?)?$"), ("GET",),
     lambda s, *_: Reply(200, DASHBOARD.read_bytes(), content_type="text/html; charset=utf-8")),
)


def _raw(body: bytes, content_type: str) -> Reply:
    return Reply(200, body, content_type=content_type)


def dispatch(service, method: str, path: str, body: bytes = b"", content_type: str | None = None) -> Reply:
    """Answer one request; never raises."""
    try:
        for pattern, methods, handler in ROUTES:
            m = pattern.match(path)
            if m is None:
                continue
            if method not in methods:
                raise ApiError(405, f"{method} is not allowed on {path} (allowed: {', '.join(methods)})",
                               headers=(("Allow", ", ".join(methods)),))
            return handler(service, method, body, content_type, *m.groups())
        raise ApiError(404, f"no such resource {path!r}")
    except ApiError as exc:
        return _error(exc.status, str(exc), exc.field, exc.headers)
    except IntentError as exc:
        return _error(exc.status, str(exc), exc.field)
    except StoreError as exc:  # the server's fault, but nothing was changed: the client may retry
        LOG.error("te: REST %s %s: intent store failed, change not made: %s", method, path, exc)
        return _error(503, f"the change was not made: {exc}")
    except Exception:  # a bug of ours, not the client's: say so, and leave the traceback in the log
        LOG.exception("te: REST %s %s failed", method, path)
        return _error(500, "internal error (see the controller log)")


def _error(status, message, field=None, headers=()) -> Reply:
    body = {"error": message}
    if field is not None:
        body["field"] = field
    return Reply(status, body, headers)


class TERestController(ControllerBase):
    """Ryu WSGI glue: every request goes through :func:`dispatch`."""

    def __init__(self, req, link, data, **config):
        super().__init__(req, link, data, **config)
        self.service = data["app"]

    # One route for all it serves (/te/v1/..., /metrics, the dashboard); dispatch answers 404 for the rest.
    @route("te", "/{tail:.*}", requirements={"tail": ".*"})
    def handle(self, req, **_kwargs):
        reply = dispatch(self.service, req.method, req.path, req.body, req.headers.get("Content-Type"))
        if reply.body is None:
            response = Response(status=reply.status)
        elif isinstance(reply.body, bytes):
            response = Response(status=reply.status, body=reply.body)
            response.headers["Content-Type"] = reply.content_type
        else:
            response = Response(status=reply.status, content_type="application/json", charset="utf-8",
                                body=(json.dumps(reply.body) + "\n").encode())
        for name, value in reply.headers:
            response.headers[name] = value
        return response
