"""The Ryu WSGI glue, through Ryu's own WSGIApplication (no server, no switches): the app claims only the
paths it serves, so Ryu's ofctl_rest and rest_topology can run beside it; bodies and headers reach dispatch."""
import json
import re
from io import BytesIO

import pytest
from ryu.app import ofctl_rest, rest_topology
from ryu.app.wsgi import WSGIApplication
from webob import Request

from controller.rest import ROUTES, dispatch
from controller.rest_ryu import TERestController
from test_controller_rest import GOOD, JSON, FakeService

TOKEN = "s3cret-token"


@pytest.fixture
def service():
    s = FakeService()
    s.metrics_text = lambda: (b"te_switches_connected 0.0\n", "text/plain; version=0.0.4; charset=utf-8")
    s.topology_body = lambda: {"switches": [], "links": [], "hosts": []}
    return s


def wsgi(service):
    """The TE app's routes, then those of Ryu's ofctl_rest and rest_topology, as ryu-manager would add them."""
    app = WSGIApplication()
    app.register(TERestController, {"app": service})
    ofctl_rest.RestStatsApi(dpset=None, wsgi=app)  # connects its routes in __init__
    app.register(rest_topology.TopologyController, {"topology_api_app": None})
    return app


def request(app, method, path, body=b"", **headers):
    req = Request.blank(path, method=method, body=body, headers=headers)
    return req.get_response(app)


def test_other_ryu_rest_apps_keep_their_paths():
    mapper = wsgi(FakeService()).mapper
    others = [r for r in mapper.matchlist if r.defaults["controller"] is not TERestController]
    assert len(others) > 40
    for r in others:
        path = re.sub(r"\{[^}]+\}", "1", r.routepath.replace("{dpid}", "0000000000000001"))
        for method in r.conditions.get("method", ["GET"]):
            match = mapper.match(environ={"PATH_INFO": path, "REQUEST_METHOD": method})
            assert match["controller"] is r.defaults["controller"], (method, path, match)


def test_paths_the_app_does_not_serve_are_left_to_ryu(service):
    app = wsgi(service)
    for method, path in (("GET", "/elsewhere"), ("GET", "/stats/flowentry/add"), ("GET", "/te/v1")):
        assert app.mapper.match(environ={"PATH_INFO": path, "REQUEST_METHOD": method}) is None, path
        assert request(app, method, path).status_int == 404


@pytest.mark.parametrize("path", [
    "/te/v1/intents", "/te/v1/intents/", "/te/v1/allocations", "/te/v1/allocations/", "/te/v1/topology",
    "/te/v1/topology/", "/te/v1/links", "/te/v1/links/", "/te/v1/openapi.json", "/metrics", "/metrics/", "/",
    "/dashboard", "/dashboard/",
])
def test_every_served_path_reaches_dispatch(service, path):
    r = request(wsgi(service), "GET", path)
    assert r.status_int == 200, (path, r.status, r.text)
    assert r.body == request_body(dispatch(service, "GET", path))


def request_body(reply):
    return reply.body if isinstance(reply.body, bytes) else (json.dumps(reply.body) + "\n").encode()


def test_intents_by_id_and_json_errors_in_the_api_namespace(service):
    app = wsgi(service)
    r = request(app, "POST", "/te/v1/intents", json.dumps(GOOD).encode(), Content_Type=JSON)
    assert r.status_int == 201 and r.headers["Location"].endswith("/te/v1/intents/1")
    assert request(app, "GET", "/te/v1/intents/1/").json["id"] == "1"
    for path in ("/te/v1/nowhere", "/te/v1/intents/1/more", "/te/v1/"):
        r = request(app, "GET", path)
        assert r.status_int == 404 and r.content_type == JSON and r.json["error"], (path, r.text)
    r = request(app, "PATCH", "/te/v1/intents")
    assert r.status_int == 405 and r.headers["Allow"] == "GET, POST" and r.json["error"]


def test_every_route_is_registered_with_ryu_as_a_concrete_path():
    paths = {r.routepath for r in wsgi(FakeService()).mapper.matchlist if r.defaults["controller"] is TERestController}
    for path, _, _ in ROUTES:
        assert path in paths and (path == "/" or path + "/" in paths)
    assert not any(p.startswith("/{") for p in paths)  # nothing claims paths outside what the app serves


def test_a_chunked_post_is_read(service):
    body = json.dumps(GOOD).encode()
    req = Request.blank("/te/v1/intents", method="POST", headers={"Content-Type": JSON},
                        environ={"wsgi.input": BytesIO(body), "HTTP_TRANSFER_ENCODING": "chunked"})
    req.environ.pop("CONTENT_LENGTH", None)
    r = req.get_response(wsgi(service))
    assert r.status_int == 201, r.text
    assert service.intents.get("1").rate_bps == GOOD["rate_bps"]


def test_a_broken_chunked_body_is_a_400_json(service):
    class Broken:
        def read(self, n):
            raise OSError("unexpected end of file while parsing chunked data")

    req = Request.blank("/te/v1/intents", method="POST", headers={"Content-Type": JSON},
                        environ={"wsgi.input": Broken(), "HTTP_TRANSFER_ENCODING": "chunked"})
    req.environ.pop("CONTENT_LENGTH", None)
    r = req.get_response(wsgi(service))
    assert r.status_int == 400 and "unexpected end of file" in r.json["error"]
    assert len(service.intents) == 0


def test_headers_reach_dispatch():
    s = FakeService(rest_token=TOKEN)
    app = wsgi(s)
    raw = json.dumps(GOOD).encode()
    r = request(app, "POST", "/te/v1/intents", raw, Content_Type=JSON)
    assert r.status_int == 401 and r.headers["WWW-Authenticate"] == "Bearer" and r.json["field"] == "Authorization"
    r = request(app, "POST", "/te/v1/intents", raw, Content_Type=JSON, Authorization=f"Bearer {TOKEN}")
    assert r.status_int == 201
    r = request(app, "GET", "/te/v1/intents", Host="rebound.example:8080")
    assert r.status_int == 403 and "rebound.example" in r.json["error"]


def test_the_openapi_document_is_served():
    from controller.openapi import load_spec

    r = dispatch(FakeService(), "GET", "/te/v1/openapi.json")
    assert r.status == 200 and r.content_type == JSON and r.body == load_spec()
    assert "/te/v1/openapi.json" in r.body["paths"]
    assert json.loads(json.dumps(r.body)) == r.body  # JSON-able as it is
    assert dispatch(FakeService(), "POST", "/te/v1/openapi.json").status == 405
