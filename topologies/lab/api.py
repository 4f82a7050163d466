"""The lab's REST client: every answer of the controller is checked against its OpenAPI spec.

One place for what tests, benchmarks and the demo ask the controller (``requests``, a real HTTP
client), and for waiting until allocations are on the switches.
"""
from __future__ import annotations

import time

from controller.openapi import validate_response

INSTALLED = ("installed", "partial")


class Api:
    """The REST API of one controller, e.g. ``Api("http://127.0.0.1:8080/te/v1", token="s3cret")``."""

    def __init__(self, base_url: str, token: str | None = None, timeout: float = 10.0):
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout

    def call(self, method: str, path: str, body=None, expect: int | None = None, headers: dict | None = None,
             raw: bytes | None = None):
        """One request (``path`` below the base URL); returns the ``requests`` response.

        Raises AssertionError if the status is not ``expect`` (when given) or the answer breaks the spec.
        """
        import requests

        sent = dict(headers or {})
        if self.token and "Authorization" not in sent:
            sent["Authorization"] = f"Bearer {self.token}"
        if raw is not None:
            sent.setdefault("Content-Type", "application/json")
        r = requests.request(method, self.base_url + path, json=body if raw is None else None, data=raw,
                             headers=sent, timeout=self.timeout)
        if expect is not None:
            assert r.status_code == expect, f"{method} {path} {body}: {r.status_code} {r.text}"
        if r.headers.get("Content-Type", "").startswith("application/json") or not r.content:
            validate_response(method, "/te/v1" + path if not path.startswith("/te/") else path, r.status_code,
                              r.json() if r.content else None)
        return r

    def allocations(self) -> list:
        return self.call("GET", "/allocations", expect=200).json()["allocations"]

    def allocation(self, intent_id: str) -> dict:
        for a in self.allocations():
            if a["intent_id"] == intent_id:
                return a
        raise AssertionError(f"intent {intent_id} has no allocation")

    def post_intent(self, **body) -> str:
        """Create an intent; its id."""
        return self.call("POST", "/intents", body, expect=201).json()["id"]

    def wait_allocations(self, keys, timeout: float = 20.0, states=INSTALLED, version=None, by: str = "intent_id",
                         installed_after: float | None = None, avoid: tuple | None = None) -> dict:
        """Poll until every intent in ``keys`` (ids, or names with ``by="name"``) is in one of ``states``.

        Optionally also at ``version``, installed at or after the Unix time ``installed_after``, and with
        no path over the arc ``avoid`` (``(src dpid, dst dpid)`` as the API names them). Returns
        ``{key: allocation}``; an intent that turns unroutable while waiting for another state fails at once.
        """
        deadline = time.monotonic() + timeout
        while True:
            got = {a.get(by): a for a in self.allocations() if a.get(by) in keys}
            if all(k in got and _done(got[k], states, version, installed_after, avoid) for k in keys):
                return got
            stuck = [k for k in keys if k in got and got[k]["state"] == "unroutable" and "unroutable" not in states]
            if stuck:
                raise AssertionError(f"intents {stuck} are unroutable: {got[stuck[0]].get('reason')}")
            if time.monotonic() > deadline:
                raise AssertionError(f"allocations not {states} within {timeout:.0f} s: "
                                     f"{ {k: got.get(k, {}).get('state') for k in keys} }")
            time.sleep(0.05)


def _done(a: dict, states, version, installed_after, avoid) -> bool:
    if a["state"] not in states or (version is not None and a["version"] != version):
        return False
    if installed_after is not None and (a["installed_at"] is None or a["installed_at"] < installed_after):
        return False
    return avoid is None or not any(avoid in zip(p["switches"], p["switches"][1:]) for p in a["paths"])


def api(setup, method: str, path: str, body=None, expect: int | None = None):
    """One REST call to a lab's controller (see :meth:`Api.call`)."""
    return setup.api.call(method, path, body, expect)


def allocation(setup, intent_id: str) -> dict:
    return setup.api.allocation(intent_id)


def post_intent(setup, **body) -> str:
    return setup.api.post_intent(**body)


def wait_allocations(setup, ids, timeout: float = 20.0, states=INSTALLED, version=None) -> dict:
    """Wait for the allocations of intent ``ids`` on a lab's controller (see :meth:`Api.wait_allocations`)."""
    return setup.api.wait_allocations(ids, timeout, states, version)
