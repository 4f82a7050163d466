"""controller/openapi.yaml is valid OpenAPI, and what the code really answers matches it."""
import os
import time
from pathlib import Path

import pytest
from openapi_spec_validator import validate

from controller.intents import IntentError, IntentRegistry, parse_intent
from controller.openapi import SPEC_PATH, load_spec, operation_for, validate_response
from controller.te_plan import plan
from controller.topology import Fabric
from controller.views import allocation_views, link_views, topology_view

REPO = Path(__file__).resolve().parents[2]
INTENT = {"src": "10.0.0.1", "dst": "10.0.0.16", "rate_bps": 4e6}
INTENT_7 = parse_intent(INTENT, "7").as_dict()


def test_the_spec_is_valid_openapi():
    validate(load_spec())


def test_docs_link_to_the_packaged_spec():
    link = REPO / "docs" / "openapi.yaml"
    assert link.is_symlink() and os.readlink(link) == "../controller/openapi.yaml"
    assert link.resolve() == SPEC_PATH


@pytest.mark.parametrize("path, template", [
    ("/te/v1/intents", "/te/v1/intents"),
    ("/te/v1/intents/", "/te/v1/intents"),
    ("/te/v1/intents/7", "/te/v1/intents/{id}"),
    ("/te/v1/intents/web?x=1", "/te/v1/intents/{id}"),
    ("/te/v1/openapi.json", "/te/v1/openapi.json"),
    ("/", "/"),
])
def test_concrete_paths_find_their_template(path, template):
    assert operation_for("GET", path)[0] == template


@pytest.mark.parametrize("method, path, message", [
    ("GET", "/te/v1/nothing", "GET /te/v1/nothing: no path of the spec matches"),
    ("GET", "/te/v1/intents/7/more", "no path of the spec matches"),
    ("PATCH", "/te/v1/intents/7", "PATCH /te/v1/intents/7: the spec has no PATCH on /te/v1/intents/{id}"),
])
def test_unknown_operations_are_named(method, path, message):
    with pytest.raises(AssertionError, match=message):
        operation_for(method, path)


@pytest.mark.parametrize("body", [
    INTENT,
    INTENT | {"name": "web", "priority": 7, "weight": 2.5, "match": {"ip_proto": 17, "tp_dst": 5001}},
    INTENT | {"name": None, "match": {"ip_proto": 6, "tp_src": 1, "tp_dst": 80}},
])
def test_real_intents_match_the_spec(body):
    intent = parse_intent(body, "7", version=3).as_dict()
    validate_response("GET", "/te/v1/intents", 200, {"intents": [intent]})
    validate_response("POST", "/te/v1/intents", 201, intent)
    validate_response("GET", "/te/v1/intents/7", 200, intent)
    validate_response("PUT", "/te/v1/intents/7", 200, intent)
    validate_response("GET", "/te/v1/intents", 200, {"intents": []})
    validate_response("DELETE", "/te/v1/intents/7", 204, None)


def test_real_error_bodies_match_the_spec():
    registry = IntentRegistry(lambda: {"10.0.0.1", "10.0.0.16"})
    registry.create(INTENT | {"name": "web"})
    for action, status in [(lambda: registry.create(INTENT | {"rate_bps": -1}), 400),
                           (lambda: registry.create(INTENT | {"src": "10.0.0.9"}), 400),
                           (lambda: registry.get("9"), 404),
                           (lambda: registry.create(INTENT | {"name": "web"}), 409)]:
        with pytest.raises(IntentError) as caught:
            action()
        assert caught.value.status == status
        body = {"error": str(caught.value)} | ({"field": caught.value.field} if caught.value.field else {})
        validate_response("POST" if status != 404 else "GET", "/te/v1/intents" + ("/9" if status == 404 else ""),
                          status, body)


def triangle() -> Fabric:
    """Switches 1, 2, 3 in a ring of 10 Mbit/s links (port n leads to switch n); host 10.0.0.1 on port 10
    of switch 1, 10.0.0.16 on port 10 of switch 3."""
    f = Fabric(default_capacity_bps=10e6)
    for dpid in (1, 2, 3):
        f.add_switch(dpid, {1, 2, 3, 10}, now=0.0)
    for a, b in ((1, 2), (2, 3), (3, 1)):
        f.add_link(a, b, b, a)
        f.add_link(b, a, a, b)
    assert f.learn_host("10.0.0.1", "00:00:00:00:00:01", 1, 10)
    assert f.learn_host("10.0.0.16", "00:00:00:00:00:10", 3, 10)
    return f


def test_real_views_of_a_small_plan_match_the_spec():
    f = triangle()
    registry = IntentRegistry()
    routed = registry.create(INTENT | {"rate_bps": 15e6, "name": "video"})  # more than a host link carries
    stranger = registry.create({"src": "10.0.0.2", "dst": "10.0.0.99", "rate_bps": 1e6})
    te_plan = plan(f, [routed, stranger], headroom=0.0)
    # As the compiler reports them: every path with its MPLS label and SELECT bucket weight.
    installed = {routed.id: [(share, 100 + n, 3 - n) for n, share in enumerate(te_plan.allocation(routed.id).paths)]}
    now = time.time()
    views = allocation_views([routed, stranger], te_plan, installed, {routed.id: (now, now + 0.1)},
                             {routed.id: 3.9e6})
    assert [v["state"] for v in views] == ["partial", "unroutable"] and views[0]["paths"]
    solve = {"objective": "max-min", "status": te_plan.status, "solve_seconds": None, "headroom": 0.1,
             "last_install": {}}
    validate_response("GET", "/te/v1/allocations", 200, {"allocations": views, "solve": solve})
    validate_response("GET", "/te/v1/allocations", 200, {
        "allocations": allocation_views([routed], te_plan, {}, {}), "solve": solve | {
            "solve_seconds": 0.01, "last_install": {"changes": 12, "seconds": 0.05, "confirmed": True}}})
    validate_response("GET", "/te/v1/links", 200, {"links": link_views(f, te_plan, {})})
    validate_response("GET", "/te/v1/topology", 200, topology_view(f))
    validate_response("GET", "/te/v1/openapi.json", 200, load_spec())


@pytest.mark.parametrize("method, path, status, body, message", [
    ("GET", "/te/v1/intents/7", 200, INTENT_7 | {"id": 7}, r"at \$\.id: 7 is not of type 'string'"),
    ("GET", "/te/v1/intents", 200, {}, r"at \$: 'intents' is a required property"),
    ("POST", "/te/v1/intents", 201, None, r"at \$: None for not nullable"),
    ("GET", "/te/v1/allocations", 200, {"allocations": [{"state": "done"}]},
     r"at \$\.allocations\[0\]\.state: 'done' is not one of"),
    ("GET", "/te/v1/links", 200, {"links": [{"measured_load_bps": "3"}]},
     r"at \$\.links\[0\]\.measured_load_bps: '3' is not of type 'number'"),
    ("GET", "/te/v1/intents", 500, {"error": "boom"}, r"GET /te/v1/intents -> 500: status not declared"),
    ("DELETE", "/te/v1/intents/7", 200, None, r"-> 200: status not declared \(the spec has 204, 400, 401"),
    ("PUT", "/te/v1/intents/7", 400, {"message": "no"}, r"-> 400: .* 'error' is a required property"),
])
def test_wrong_answers_are_refused_naming_method_path_status_and_problem(method, path, status, body, message):
    with pytest.raises(AssertionError, match=message):
        validate_response(method, path, status, body)


def test_a_wrong_field_in_a_real_intent_is_caught():
    intent = INTENT_7
    for broken in ({k: v for k, v in intent.items() if k != "version"}, intent | {"version": 0},
                   intent | {"src": "10.0.0.300"}, intent | {"rate_bps": 10}, intent | {"match": {"vlan": 3}}):
        with pytest.raises(AssertionError, match="GET /te/v1/intents/7 -> 200: the body does not match"):
            validate_response("GET", "/te/v1/intents/7", 200, broken)
