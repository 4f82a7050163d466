"""The HTTP side of ``te-intent``: the intent API (``controller/openapi.yaml``) over ``requests``.

The controller may require a bearer token for writes (its ``rest_token``); :class:`Client` sends the
one it is given on every request, so reads and writes behave alike whether or not the controller asks.
"""
from __future__ import annotations

from urllib.parse import urlsplit

import requests
import urllib3.exceptions

from controller.intents import BEST_EFFORT, INPUT_FIELDS, NAME_RE, Intent, IntentError, parse_intent

from .errors import Refused, Unreachable, UsageError
from .formatting import format_rate

DEFAULT_CONTROLLER = "http://127.0.0.1:8080"
API = "/te/v1"


def request_body(intent: Intent) -> dict:
    """The ``IntentInput`` JSON that asks for ``intent`` (no id, no version).

    Fields at their default (no name, no labels, class best-effort, no group, burst or dscp) are left
    out: what a controller without them also reads, and what it takes for the same request.

    >>> request_body(parse_intent({"src": "10.0.0.1", "dst": "10.0.0.2", "rate_bps": 1e6}, "x"))
    {'src': '10.0.0.1', 'dst': '10.0.0.2', 'rate_bps': 1000000.0, 'priority': 0, 'weight': 1.0, 'match': {}}
    >>> request_body(parse_intent({"src": "10.0.0.1", "dst": "10.0.0.2", "rate_bps": 1e6, "class": "guaranteed",
    ...                            "dscp": 34}, "x"))  # doctest: +NORMALIZE_WHITESPACE
    {'src': '10.0.0.1', 'dst': '10.0.0.2', 'rate_bps': 1000000.0, 'priority': 0, 'weight': 1.0, 'match': {},
     'class': 'guaranteed', 'dscp': 34}
    """
    body = intent.as_dict()
    del body["id"], body["version"]
    for key in ("name", "group", "burst_bytes", "dscp"):
        if body.get(key, 0) is None:
            del body[key]
    if not body["labels"]:  # what a controller without labels also reads
        del body["labels"]
    if body.get("class") == BEST_EFFORT:
        del body["class"]
    return body


def intent_from_api(obj) -> Intent:
    """An :class:`Intent` from the API's ``Intent`` JSON (validated like a request)."""
    try:
        body = {k: obj[k] for k in INPUT_FIELDS if obj.get(k) is not None}
        return parse_intent(body, str(obj["id"]), int(obj.get("version", 1)))
    except (IntentError, KeyError, TypeError, ValueError, AttributeError) as exc:
        raise Refused(f"the controller sent an intent this client cannot read ({exc}): {obj!r}") from None


def controller_url(text: str) -> str:
    """The controller's base URL from what an operator wrote: ``http://`` is implied, and a trailing
    ``/`` or API prefix ``/te/v1`` is dropped (requests add the prefix themselves).

    Raises :class:`UsageError` for what cannot be an http(s) URL of a host.

    >>> controller_url("10.0.0.254:8080"), controller_url("https://ctl/te/v1/"), controller_url(" http://ctl:8080/ ")
    ('http://10.0.0.254:8080', 'https://ctl', 'http://ctl:8080')
    >>> controller_url("ftp://ctl")
    Traceback (most recent call last):
    ...
    controller.client.errors.UsageError: bad controller address 'ftp://ctl': use http:// or https://
    """
    url = text.strip()
    if "://" not in url:
        url = "http://" + url
    url = url.rstrip("/")
    if url.endswith(API):
        url = url[:-len(API)].rstrip("/")
    try:
        parts = urlsplit(url)
        parts.port  # read for its ValueError: a port that is not a number from 0 to 65535
    except ValueError as exc:
        raise UsageError(f"bad controller address {text!r}: {exc}") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise UsageError(f"bad controller address {text!r}: use http:// or https://")
    if not parts.hostname:
        raise UsageError(f"bad controller address {text!r}: no host")
    return url


class Client:
    """The intent API at ``base_url``; raises :class:`Refused` or :class:`Unreachable`, never requests' errors."""

    def __init__(self, base_url: str, timeout: float = 10.0, token: str | None = None):
        self.base_url = controller_url(base_url)
        self.timeout = timeout
        self.session = requests.Session()
        self.session.headers["Accept"] = "application/json"
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def call(self, method: str, path: str, body=None, headers: dict | None = None):
        """The decoded JSON answer (None for 204)."""
        url = self.base_url + API + path
        try:
            response = self.session.request(method, url, json=body, timeout=self.timeout, headers=headers)
        except (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema,
                requests.exceptions.InvalidSchema, urllib3.exceptions.LocationValueError) as exc:
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
            raise Refused(_error_text(method, path, response.status_code, data), response.status_code)
        if data is None:
            raise Refused(f"the controller answered {method} {API}{path} with {response.status_code} "
                          f"and a body that is not JSON")
        return data

    def intents(self) -> list:
        """The ``intents`` of ``GET /intents``: a list of objects, each with an ``id``."""
        data = self.call("GET", "/intents")
        intents = data.get("intents") if isinstance(data, dict) else None
        if not isinstance(intents, list) or not all(isinstance(i, dict) and "id" in i for i in intents):
            raise Refused(f"the controller answered GET {API}/intents with JSON that is not a list of intents")
        return intents

    def create(self, body: dict) -> dict:
        return _object(self.call("POST", "/intents", body), "POST", "/intents")

    def replace(self, intent_id: str, body: dict) -> dict:
        return _object(self.call("PUT", f"/intents/{intent_id}", body), "PUT", f"/intents/{intent_id}")

    def delete(self, intent_id: str, if_version: int | None = None) -> None:
        """Delete an intent; with ``if_version``, only if it is still at that version (If-Match, else 412)."""
        headers = None if if_version is None else {"If-Match": f'"{int(if_version)}"'}
        self.call("DELETE", f"/intents/{intent_id}", headers=headers)

    def apply(self, body: dict) -> dict:
        """``POST /apply``: the ``ApplyResult`` (an object whose ``changes`` are objects with a known ``op``)."""
        data = _object(self.call("POST", "/apply", body), "POST", "/apply")
        changes = data.get("changes")
        if not isinstance(changes, list) or not all(
                isinstance(c, dict) and c.get("op") in ("create", "update", "delete", "unchanged") for c in changes) \
                or not isinstance(data.get("left_alone", []), list):
            raise Refused(f"the controller answered POST {API}/apply with JSON that is not an apply result")
        return data

    def groups(self) -> list:
        """The ``groups`` of ``GET /groups``: a list of objects, each with a ``name``."""
        data = self.call("GET", "/groups")
        groups = data.get("groups") if isinstance(data, dict) else None
        if not isinstance(groups, list) or not all(isinstance(g, dict) and isinstance(g.get("name"), str)
                                                   for g in groups):
            raise Refused(f"the controller answered GET {API}/groups with JSON that is not a list of groups")
        return groups

    def group(self, name: str) -> dict:
        return _object(self.call("GET", f"/groups/{group_path(name)}"), "GET", f"/groups/{name}")

    def create_group(self, body: dict) -> dict:
        return _object(self.call("POST", "/groups", body), "POST", "/groups")

    def replace_group(self, name: str, body: dict, version: int | None = None) -> dict:
        """``PUT /groups/NAME``; with ``version`` (as read), refused (412) if the group changed since."""
        headers = {"If-Match": f'"{version}"'} if version is not None else None
        return _object(self.call("PUT", f"/groups/{group_path(name)}", body, headers), "PUT", f"/groups/{name}")

    def delete_group(self, name: str, version: int | None = None) -> None:
        headers = {"If-Match": f'"{version}"'} if version is not None else None
        self.call("DELETE", f"/groups/{group_path(name)}", headers=headers)

    def classes(self) -> dict:
        """``GET /classes``: an object whose ``classes`` and ``groups`` (if any) are lists of objects."""
        data = _object(self.call("GET", "/classes"), "GET", "/classes")
        for key in ("classes", "groups"):
            items = data.get(key, [])
            if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
                raise Refused(f"the controller answered GET {API}/classes with JSON whose {key} is not a list of "
                              "objects")
        return data

    def cluster(self) -> dict:
        """``GET /cluster``: this controller's view of the controllers sharing the network."""
        return _object(self.call("GET", "/cluster"), "GET", "/cluster")

    def allocations(self) -> dict:
        """``GET /allocations``: an object whose ``allocations`` (if any) is a list of objects."""
        data = _object(self.call("GET", "/allocations"), "GET", "/allocations")
        allocations = data.get("allocations", [])
        if not isinstance(allocations, list) or not all(isinstance(a, dict) for a in allocations):
            raise Refused(f"the controller answered GET {API}/allocations with JSON that is not a list of allocations")
        return data

    def switch_names(self) -> dict:
        """``{dpid: name}`` from the topology; empty when the controller cannot say."""
        try:
            switches = self.call("GET", "/topology").get("switches", [])
            return {s["dpid"]: s["name"] for s in switches if s.get("name")}
        except (Refused, AttributeError, KeyError, TypeError):  # refused, or not the API's Topology
            return {}


def group_path(name: str) -> str:
    """``name`` as a path segment; a name no group can have is refused before it goes into a URL.

    >>> group_path("video-1")
    'video-1'
    >>> group_path("../intents")
    Traceback (most recent call last):
    ...
    controller.client.errors.UsageError: not a group name: '../intents' (1-64 letters, digits, '.', '_' or '-')
    """
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        raise UsageError(f"not a group name: {name!r} (1-64 letters, digits, '.', '_' or '-')")
    return name


def _object(data, method: str, path: str) -> dict:
    """``data`` if it is a JSON object, as every answer of the API but 204 is; else :class:`Refused`."""
    if not isinstance(data, dict):
        raise Refused(f"the controller answered {method} {API}{path} with JSON that is not an object")
    return data


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
        fits = data.get("largest_fitting_bps")
        if isinstance(fits, (int, float)) and not isinstance(fits, bool):  # an admission refusal (409)
            text += f"; largest rate that fits: {format_rate(fits)}"
        return f"the controller refused {method} {API}{path} ({status}): {text}"
    if status == 404 and path == "/intents":
        return f"the controller has no intent API ({method} {API}{path} answered 404)"
    return f"the controller answered {method} {API}{path} with {status}"


def resolve(intents: list, key: str) -> dict:
    """The intent whose id is ``key``, else the one named ``key``.

    >>> resolve([{"id": "1", "name": "2"}, {"id": "2", "name": "web"}], "2")["name"]
    'web'
    >>> resolve([{"id": "1", "name": "2"}], "web")
    Traceback (most recent call last):
    ...
    controller.client.errors.Refused: no intent with id or name 'web'
    """
    # An id wins over a name: ids are what the controller hands out, names are optional labels.
    for by in ("id", "name"):
        for obj in intents:
            if obj.get(by) == key:
                return obj
    raise Refused(f"no intent with id or name {key!r}")
