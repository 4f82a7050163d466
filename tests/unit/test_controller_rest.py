"""The REST dispatcher against a fake service: status codes, JSON errors naming the field, nothing changed."""
import json

import pytest

from controller.intents import IntentRegistry
from controller.rest import dispatch
from controller.settings import Settings

JSON = "application/json"


class FakeService:
    def __init__(self, **settings):
        self.settings = Settings(**settings)
        self.intents = IntentRegistry(lambda: {"10.0.0.1", "10.0.0.2", "10.0.0.5"})
        self.changes = 0

    def intents_changed(self):
        self.changes += 1

    def allocations_body(self):
        return {"allocations": []}

    def topology_body(self):
        raise RuntimeError("a bug")

    def links_body(self):
        return {"links": []}


def call(service, method, path, body=None, content_type=JSON, **headers):
    """``headers`` with _ for - in names: ``Authorization="Bearer x"``, ``Host="localhost"``."""
    raw = body if isinstance(body, bytes) else (json.dumps(body).encode() if body is not None else b"")
    headers = {name.replace("_", "-"): value for name, value in headers.items()} | {"Content-Type": content_type}
    return dispatch(service, method, "/te/v1" + path, raw, headers)


GOOD = {"src": "10.0.0.1", "dst": "10.0.0.5", "rate_bps": 4000000}


def test_create_list_get_replace_delete():
    s = FakeService()
    r = call(s, "POST", "/intents", GOOD)
    assert r.status == 201 and r.body["id"] == "1" and ("Location", "/te/v1/intents/1") in r.headers
    assert call(s, "GET", "/intents").body["intents"][0]["rate_bps"] == 4e6
    assert call(s, "GET", "/intents/1").body["version"] == 1
    r = call(s, "PUT", "/intents/1", GOOD | {"rate_bps": 5e6, "weight": 2})
    assert r.status == 200 and r.body["version"] == 2 and r.body["weight"] == 2
    assert call(s, "DELETE", "/intents/1").status == 204
    assert call(s, "GET", "/intents/1").status == 404
    assert s.changes == 3


@pytest.mark.parametrize("body, content_type, status, field", [
    (b'{"src": ', JSON, 400, None),
    (b"", JSON, 400, None),
    (b"\xff\xfe", JSON, 400, None),
    (b'{"src": NaN}', JSON, 400, None),
    (b"[1, 2]", JSON, 400, None),
    (json.dumps(GOOD).encode(), "text/plain", 415, None),
    (b" " * (70 * 1024), JSON, 413, None),
    (GOOD | {"src": "10.0.0.99"}, JSON, 400, "src"),
    (GOOD | {"dst": "not-an-ip"}, JSON, 400, "dst"),
    (GOOD | {"rate_bps": -1}, JSON, 400, "rate_bps"),
    (GOOD | {"rate_bps": 1e15}, JSON, 400, "rate_bps"),
    (GOOD | {"rate_bps": "4M"}, JSON, 400, "rate_bps"),
    (GOOD | {"priority": 1.5}, JSON, 400, "priority"),
    (GOOD | {"weight": True}, JSON, 400, "weight"),
    (GOOD | {"match": {"tp_dst": 80}}, JSON, 400, "match.tp_dst"),
    (GOOD | {"match": {"dscp": 1}}, JSON, 400, "match.dscp"),
    (GOOD | {"colour": "red"}, JSON, 400, "colour"),
    ({"src": "10.0.0.1", "dst": "10.0.0.5"}, JSON, 400, "rate_bps"),
])
def test_bad_requests_get_4xx_json_and_change_nothing(body, content_type, status, field):
    s = FakeService()
    r = call(s, "POST", "/intents", body, content_type)
    assert r.status == status and isinstance(r.body["error"], str) and r.body["error"]
    assert r.body.get("field") == field
    assert len(s.intents) == 0 and s.intents.generation == 0 and s.changes == 0


def test_conflicts_unknown_ids_methods_and_paths():
    s = FakeService()
    call(s, "POST", "/intents", GOOD | {"name": "web"})
    assert call(s, "POST", "/intents", GOOD | {"name": "web", "src": "10.0.0.2"}).status == 409
    assert call(s, "POST", "/intents", GOOD).body["field"] == "match"  # same traffic as intent 1
    assert call(s, "PUT", "/intents/7", b"garbage").status == 404  # the id first, then the body
    assert call(s, "DELETE", "/intents/7").status == 404
    r = call(s, "PATCH", "/intents/1")
    assert r.status == 405 and ("Allow", "GET, PUT, DELETE") in r.headers
    assert call(s, "GET", "/nothing").status == 404
    assert len(s.intents) == 1 and s.changes == 1


def test_a_bug_is_a_500_not_a_client_error(caplog):
    r = call(FakeService(), "GET", "/topology")
    assert r.status == 500 and "internal error" in r.body["error"]
    assert "a bug" in caplog.text


def test_read_only_views():
    s = FakeService()
    assert call(s, "GET", "/allocations").body == {"allocations": []}
    assert call(s, "GET", "/links/").body == {"links": []}


def test_openapi_documents_every_field_the_views_return():
    from pathlib import Path

    import yaml

    from test_controller_te import fabric_at, intents
    from controller.te_plan import plan
    from controller.views import allocation_views, link_views

    spec = yaml.safe_load((Path(__file__).resolve().parents[2] / "docs" / "openapi.yaml").read_text())
    schemas = spec["components"]["schemas"]
    f = fabric_at()
    [i] = intents({"src": "10.0.0.1", "dst": "10.0.0.16", "rate_bps": 1e6})
    p = plan(f, [i])
    [view] = allocation_views([i], p, {}, {})
    assert set(view) <= set(schemas["Allocation"]["properties"])
    assert set(link_views(f, p, {})[0]) <= set(schemas["Link"]["properties"])
    assert set(i.as_dict()) <= set(schemas["IntentInput"]["properties"]) | {"id", "version"}


def test_a_change_the_store_cannot_write_is_a_503_and_is_not_made():
    from controller.store import StoreError

    def broken(**change):
        raise StoreError("intent store /var/lib/sdn-te/intents.sqlite3: database or disk is full")

    s = FakeService()
    s.intents._persist = broken
    r = call(s, "POST", "/intents", GOOD)
    assert r.status == 503 and "not made" in r.body["error"] and "disk is full" in r.body["error"]
    assert call(s, "GET", "/intents").body == {"intents": []} and s.changes == 0


def test_metrics_and_dashboard_are_served_outside_the_api_prefix():
    s = FakeService()
    s.metrics_text = lambda: (b"te_switches_connected 3.0\n", "text/plain; version=0.0.4; charset=utf-8")
    r = dispatch(s, "GET", "/metrics")
    assert r.status == 200 and r.body == b"te_switches_connected 3.0\n" and r.content_type.startswith("text/plain")
    for path in ("/", "/dashboard/", "/dashboard"):
        page = dispatch(s, "GET", path)
        assert page.status == 200 and page.content_type.startswith("text/html") and b"sdn-te" in page.body
    assert dispatch(s, "POST", "/metrics").status == 405
