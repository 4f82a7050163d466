"""The intent REST API of a real ryu-manager (no switches: hosts are known from the topology file),
and the operator script scripts/intents.py against it."""
import json
import subprocess

import pytest
import requests

import harness
from topologies.b4 import b4_graph
from topologies.base import write_description

GOOD = {"src": "10.0.0.1", "dst": "10.0.0.5", "rate_bps": 4e6}


@pytest.fixture
def controller(artifacts):
    write_description(b4_graph(bw=10), artifacts / "topology.json")
    c = harness.Controller(artifacts, artifacts / "topology.json")
    c.start()
    yield c
    c.stop()
    assert not c.log_problems(), c.log_problems()


def test_rest_answers_client_mistakes_with_4xx_json(controller):
    url = controller.api_url
    cases = [
        ("POST", "/intents", b'{"src": "10.0.0.1",', "application/json", 400),
        ("POST", "/intents", b'{"src": "10.0.0.99", "dst": "10.0.0.5", "rate_bps": 1e6}', "application/json", 400),
        ("POST", "/intents", b'{"src": "10.0.0.1", "dst": "10.0.0.5", "rate_bps": -5}', "application/json", 400),
        ("POST", "/intents", b'{"src": "10.0.0.1", "dst": "10.0.0.5", "rate_bps": 1e20}', "application/json", 400),
        ("POST", "/intents", b'{"src": "10.0.0.1", "dst": "10.0.0.5", "rate_bps": "fast"}', "application/json", 400),
        ("POST", "/intents", b'{"src": "10.0.0.1", "dst": "10.0.0.5", "rate_bps": 1, "x": 1}', "application/json", 400),
        ("POST", "/intents", b'src=10.0.0.1', "application/x-www-form-urlencoded", 415),
        ("GET", "/intents/42", None, None, 404),
        ("PUT", "/intents/42", b"{}", "application/json", 404),
        ("DELETE", "/intents/42", None, None, 404),
        ("PATCH", "/intents", None, None, 405),
        ("GET", "/nowhere", None, None, 404),
    ]
    for method, path, body, ctype, status in cases:
        r = requests.request(method, url + path, data=body, headers={"Content-Type": ctype} if ctype else {}, timeout=5)
        assert r.status_code == status, (method, path, body, r.status_code, r.text)
        assert r.headers["Content-Type"].startswith("application/json") and r.json()["error"], r.text
    assert requests.get(url + "/intents", timeout=5).json() == {"intents": []}


def test_rest_intent_lifecycle_and_views(controller):
    url = controller.api_url
    r = requests.post(url + "/intents", json=GOOD | {"name": "web", "match": {"ip_proto": 17, "tp_dst": 5001}})
    assert r.status_code == 201 and r.headers["Location"].endswith("/te/v1/intents/1")
    intent = r.json()
    assert intent["id"] == "1" and intent["version"] == 1 and intent["match"] == {"ip_proto": 17, "tp_dst": 5001}
    assert requests.post(url + "/intents", json=GOOD | {"name": "web", "src": "10.0.0.2"}).status_code == 409
    r = requests.put(url + "/intents/1", json=GOOD | {"rate_bps": 5e6, "name": "web"})
    assert r.status_code == 200 and r.json()["version"] == 2 and r.json()["match"] == {}
    allocs = requests.get(url + "/allocations").json()
    assert allocs["solve"]["objective"] == "max-min" and allocs["solve"]["headroom"] == 0.1
    [a] = allocs["allocations"]
    assert a["intent_id"] == "1" and a["requested_bps"] == 5e6 and a["state"] in ("pending", "unroutable")
    assert requests.get(url + "/topology").json() == {"switches": [], "links": [], "hosts": []}
    assert requests.get(url + "/links").json() == {"links": []}
    assert requests.delete(url + "/intents/1").status_code == 204
    assert requests.get(url + "/intents").json() == {"intents": []}


def test_operator_script(controller):
    """scripts/te-intent (the checkout's entry to te-intent) adds, lists, shows and deletes intents."""
    script = [str(harness.REPO / "scripts" / "te-intent"), "--controller", controller.api_url.rsplit("/te/v1", 1)[0]]

    def run(*args):
        return subprocess.run(script + list(args), capture_output=True, text=True, timeout=30)

    r = run("add", "--src", "10.0.0.1", "--dst", "10.0.0.5", "--rate", "4M", "--proto", "udp", "--dport", "5001",
            "--name", "video")
    assert r.returncode == 0 and "video" in r.stdout, r
    r = run("list")
    assert r.returncode == 0 and "video" in r.stdout and "4 Mbit/s" in r.stdout, r
    r = run("show", "video", "--json")
    assert r.returncode == 0 and json.loads(r.stdout)["intent"]["match"] == {"ip_proto": 17, "tp_dst": 5001}, r
    r = run("add", "--src", "10.0.0.1", "--dst", "10.0.0.77", "--rate", "1M")
    assert r.returncode == 1 and "not a known host" in r.stderr and "Traceback" not in r.stderr, r
    r = run("delete", "video")
    assert r.returncode == 0, r
    r = run("delete", "video")
    assert r.returncode != 0 and "video" in r.stderr, r
