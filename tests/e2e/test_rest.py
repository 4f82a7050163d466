"""The intent REST API of a real te-controller (no switches: hosts are known from the topology file).

Every answer that the spec describes is checked against ``controller/openapi.yaml`` (:class:`topologies.lab.Api`).
"""
import json
import socket
import subprocess

import pytest
import requests

from topologies import lab
from topologies.b4 import b4_graph
from topologies.base import write_description

GOOD = {"src": "10.0.0.1", "dst": "10.0.0.5", "rate_bps": 4e6}


def start(artifacts, **options):
    write_description(b4_graph(bw=10), artifacts / "topology.json")
    c = lab.Controller(artifacts, artifacts / "topology.json", **options)
    c.start()
    return c


@pytest.fixture
def controller(artifacts):
    c = start(artifacts)
    yield c
    c.stop()
    assert not c.log_problems(), c.log_problems()


def test_rest_answers_client_mistakes_with_4xx_json(controller):
    api = lab.Api(controller.api_url)
    deep = b"[" * 10000 + b"]" * 10000
    cases = [
        (b'{"src": "10.0.0.1",', None, 400),
        (b'{"src": "10.0.0.99", "dst": "10.0.0.5", "rate_bps": 1e6}', "src", 400),
        (b'{"src": "10.0.0.1", "dst": "10.0.0.5", "rate_bps": -5}', "rate_bps", 400),
        (b'{"src": "10.0.0.1", "dst": "10.0.0.5", "rate_bps": 1e20}', "rate_bps", 400),
        (b'{"src": "10.0.0.1", "dst": "10.0.0.5", "rate_bps": "fast"}', "rate_bps", 400),
        (b'{"src": "10.0.0.1", "dst": "10.0.0.5", "rate_bps": 4000, "x": 1}', "x", 400),
        # below what a meter enforces: accepted, it would have been compiled to a drop rule
        (b'{"src": "10.0.0.1", "dst": "10.0.0.5", "rate_bps": 999}', "rate_bps", 400),
        (b'{"src": "10.0.0.1", "dst": "10.0.0.5", "rate_bps": 1e-300}', "rate_bps", 400),
        (b'{"src": "10.0.0.1", "dst": "10.0.0.5", "rate_bps": 4000, "name": "web\\n"}', "name", 400),
        (b'{"src": "10.0.0.1", "dst": "10.0.0.5", "rate_bps": 4000, "rate_bps": 9000}', "rate_bps", 400),
        (deep, None, 400),
    ]
    for raw, field, status in cases:
        r = api.call("POST", "/intents", raw=raw)
        assert r.status_code == status, (raw[:80], r.status_code, r.text)
        assert r.json()["error"] and r.json().get("field") == field, (raw[:80], r.text)
    r = api.call("POST", "/intents", raw=b"src=10.0.0.1", headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 415
    api.call("GET", "/intents/42", expect=404)
    api.call("PUT", "/intents/42", {}, expect=404)
    api.call("DELETE", "/intents/42", expect=404)
    for method, path, status in (("PATCH", "/intents", 405), ("GET", "/nowhere", 404)):  # not in the spec
        r = requests.request(method, controller.api_url + path, timeout=5)
        assert r.status_code == status and r.json()["error"], r.text
    assert api.call("GET", "/intents", expect=200).json() == {"intents": []}
    assert "Traceback" not in controller.log()


def test_a_chunked_body_is_read(controller):
    host, port = "127.0.0.1", controller.api_port
    body = json.dumps(GOOD).encode()
    request = (f"POST /te/v1/intents HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
               "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n").encode()
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (body[:10], body[10:])) + b"0\r\n\r\n"
    with socket.create_connection((host, port), timeout=5) as s:
        s.sendall(request + chunks)
        answer = b""
        while chunk := s.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 201"), answer[:300]
    assert lab.Api(controller.api_url).call("GET", "/intents/1", expect=200).json()["rate_bps"] == 4e6


def test_rest_intent_lifecycle_and_views(controller):
    api = lab.Api(controller.api_url)
    r = api.call("POST", "/intents", GOOD | {"name": "web", "match": {"ip_proto": 17, "tp_dst": 5001}}, expect=201)
    assert r.headers["Location"].endswith("/te/v1/intents/1")
    intent = r.json()
    assert intent["id"] == "1" and intent["version"] == 1 and intent["match"] == {"ip_proto": 17, "tp_dst": 5001}
    api.call("POST", "/intents", GOOD | {"name": "web", "src": "10.0.0.2"}, expect=409)
    r = api.call("PUT", "/intents/1", GOOD | {"rate_bps": 5e6, "name": "web"}, expect=200)
    assert r.json()["version"] == 2 and r.json()["match"] == {}
    allocs = api.call("GET", "/allocations", expect=200).json()
    assert allocs["solve"]["objective"] == "max-min" and allocs["solve"]["headroom"] == 0.1
    [a] = allocs["allocations"]
    assert a["intent_id"] == "1" and a["requested_bps"] == 5e6 and a["state"] in ("pending", "unroutable")
    assert api.call("GET", "/topology", expect=200).json() == {"switches": [], "links": [], "hosts": []}
    assert api.call("GET", "/links", expect=200).json() == {"links": []}
    api.call("DELETE", "/intents/1", expect=204)
    assert api.call("GET", "/intents", expect=200).json() == {"intents": []}
    spec = api.call("GET", "/openapi.json", expect=200).json()
    assert spec["openapi"].startswith("3.") and "/te/v1/intents" in spec["paths"]


def test_writes_need_the_token_and_foreign_hosts_are_refused(artifacts):
    c = start(artifacts, rest_token="s3cret-token")
    try:
        anonymous, operator = lab.Api(c.api_url), lab.Api(c.api_url, token="s3cret-token")
        r = anonymous.call("POST", "/intents", GOOD, expect=401)
        assert r.headers["WWW-Authenticate"].startswith("Bearer")
        lab.Api(c.api_url, token="wrong").call("POST", "/intents", GOOD, expect=401)
        anonymous.call("GET", "/intents", expect=200)  # reads stay open
        operator.call("POST", "/intents", GOOD, expect=201)
        # DNS rebinding: a page from evil.example that resolves to 127.0.0.1 sends its own Host.
        r = operator.call("GET", "/intents", headers={"Host": f"evil.example:{c.api_port}"}, expect=403)
        assert "evil.example" in r.json()["error"]
        operator.call("DELETE", "/intents/1", headers={"Host": f"localhost:{c.api_port}"}, expect=204)
    finally:
        c.stop()
    assert not c.log_problems(), c.log_problems()
    assert "s3cret-token" not in c.log()


def test_ryu_rest_apps_run_beside_the_controller(artifacts):
    c = start(artifacts, apps=["ryu.app.ofctl_rest", "ryu.app.rest_topology"])
    try:
        base = c.api_url.rsplit("/te/v1", 1)[0]
        assert requests.get(base + "/stats/switches", timeout=5).json() == []
        assert requests.get(base + "/v1.0/topology/switches", timeout=5).json() == []
        lab.Api(c.api_url).call("GET", "/intents", expect=200)
    finally:
        c.stop()
    assert not c.log_problems(), c.log_problems()


def test_operator_script(controller):
    """scripts/te-intent (the checkout's entry to te-intent) adds, lists, shows and deletes intents."""
    script = [str(lab.REPO / "scripts" / "te-intent"), "--controller", controller.api_url.rsplit("/te/v1", 1)[0]]

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
    r = run("add", "--src", "10.0.0.1", "--dst", "10.0.0.5", "--rate", "999")
    assert r.returncode != 0 and "1000" in r.stderr and "Traceback" not in r.stderr, r
    r = run("delete", "video")
    assert r.returncode == 0, r
    r = run("delete", "video")
    assert r.returncode != 0 and "video" in r.stderr, r
