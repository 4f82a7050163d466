"""The operator and researcher workflow: an atomic, server-side apply (POST /te/v1/apply), optimistic
concurrency (ETag, If-Match, versions), ownership labels and a safe prune, and te-intent on top of them.

The CLI tests run ``te-intent`` against :class:`Server`: real HTTP served by the real dispatcher
(controller.rest.dispatch) over a real IntentRegistry that writes through a real IntentStore, so what
an apply leaves behind is checked both in the registry and on disk. The first tests (``test_reproduce_*``)
are the failures of the client-side apply this replaces: a file applied half, and a prune that deleted
intents nobody had applied.
"""
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import yaml

from controller.client.intent_cli import main
from controller.intents import IntentRegistry
from controller.openapi import validate_response
from controller.rest import dispatch
from controller.settings import Settings
from controller.store import IntentStore, StoreError

KNOWN_HOSTS = {f"10.0.0.{n}" for n in range(1, 13)}
JSON = "application/json"
WEB = {"name": "web", "src": "10.0.0.1", "dst": "10.0.0.5", "rate_bps": 4e6}
BULK = {"name": "bulk", "src": "10.0.0.2", "dst": "10.0.0.9", "rate_bps": 2e6, "priority": 1}
VOICE = {"name": "voice", "src": "10.0.0.3", "dst": "10.0.0.4", "rate_bps": 1e6}


class Service:
    """What dispatch needs of the controller (controller.core.Core offers the same), over a registry that
    writes through ``store`` (when given) and counts the writes."""

    def __init__(self, store=None, **settings):
        self.settings = Settings(**settings)
        self.store = store
        self.writes = []
        self.intents = IntentRegistry(lambda: KNOWN_HOSTS, persist=self._persist)
        self.changes = 0

    def _persist(self, saved=(), deleted=(), next_id=None):
        self.writes.append(([i.id for i in saved], list(deleted)))
        if self.store is not None:
            self.store.apply(saved=saved, deleted=deleted, next_id=next_id)

    def intents_changed(self):
        self.changes += 1

    def allocations_body(self):
        return {"allocations": [], "solve": {"objective": "max-min", "status": "none", "solve_seconds": None}}

    def topology_body(self):
        return {"switches": [], "links": [], "hosts": []}


def call(service, method, path, body=None, **headers):
    """One request through dispatch, checked against the OpenAPI spec; ``headers`` with _ for -."""
    raw = body if isinstance(body, bytes) else (json.dumps(body).encode() if body is not None else b"")
    sent = {"Content-Type": JSON} | {name.replace("_", "-"): value for name, value in headers.items()}
    reply = dispatch(service, method, "/te/v1" + path, raw, sent)
    validate_response(method, "/te/v1" + path, reply.status, reply.body)
    return reply


def header(reply, name):
    return dict(reply.headers).get(name)


@pytest.fixture
def service(tmp_path):
    store = IntentStore(tmp_path / "intents.sqlite3")
    yield Service(store)
    store.close()


def stored(service):
    """``{name or id: (version, labels)}`` of what the store holds now."""
    return {i.name or i.id: (i.version, dict(i.labels)) for i in service.store.load()}


# --- te-intent against the real dispatcher ---------------------------------------------------------------

class Server:
    """``service`` served over HTTP on 127.0.0.1 by the real dispatcher; ``requests`` records (method, path,
    If-Match) and ``after`` (when set) runs after each answer is computed, e.g. to change an intent between
    two requests of one command."""

    def __init__(self, service):
        self.service, self.requests, self.after = service, [], None
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _any(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                server.requests.append((self.command, self.path, self.headers.get("If-Match")))
                reply = dispatch(server.service, self.command, self.path, body, dict(self.headers.items()))
                if server.after is not None:
                    server.after(self.command, self.path)
                data = b"" if reply.body is None else json.dumps(reply.body).encode()
                self.send_response(reply.status)
                for name, value in reply.headers:
                    self.send_header(name, value)
                if data:
                    self.send_header("Content-Type", JSON)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = _any

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, args=(0.02,), daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server(service, monkeypatch):
    s = Server(service)
    monkeypatch.setenv("TE_CONTROLLER", s.url)
    monkeypatch.delenv("TE_TOKEN", raising=False)
    yield s
    s.close()


def run(capsys, *argv):
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def write(tmp_path, text, name="intents.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


FILE = """
intents:
  - {name: web, src: 10.0.0.1, dst: 10.0.0.5, rate_bps: 4M}
  - {name: bulk, src: 10.0.0.2, dst: 10.0.0.9, rate_bps: 2M, priority: 1}
"""


def names(service):
    return [i.name for i in service.intents.list()]


# --- the failures of the client-side apply, reproduced --------------------------------------------------

def test_reproduce_an_unknown_host_in_a_file_changes_nothing(server, service, tmp_path, capsys):
    """The client-side apply created ``web`` and then was refused on ``far``: the file was half applied."""
    path = write(tmp_path, FILE + "  - {name: far, src: 10.0.0.1, dst: 10.0.0.99, rate_bps: 1M}\n")
    status, _, err = run(capsys, "apply", "-f", path)
    assert status == 1 and "10.0.0.99 is not a known host" in err
    assert names(service) == [] and service.intents.generation == 0 and service.store.load() == []


def test_reproduce_duplicate_traffic_in_a_file_changes_nothing(server, service, tmp_path, capsys):
    service.intents.create({"name": "adhoc", "src": "10.0.0.2", "dst": "10.0.0.9", "rate_bps": 1e6})
    path = write(tmp_path, FILE)  # bulk claims adhoc's traffic: 409, after web was created
    status, _, err = run(capsys, "apply", "-f", path)
    assert status == 1 and "(409)" in err and "already covers 10.0.0.2 -> 10.0.0.9" in err
    assert names(service) == ["adhoc"] and list(stored(service)) == ["adhoc"]


def test_reproduce_prune_with_an_empty_file_deletes_nothing(server, service, tmp_path, capsys):
    """The client-side ``apply --prune`` of an empty file deleted every intent, also those made by hand."""
    assert run(capsys, "add", "--name", "adhoc", "--src", "10.0.0.1", "--dst", "10.0.0.2", "--rate", "1M")[0] == 0
    assert call(service, "POST", "/intents", VOICE).status == 201
    status, out, err = run(capsys, "apply", "-f", write(tmp_path, ""), "--prune")
    assert (status, out) == (2, "") and "add --all if that is what you want" in err
    assert names(service) == ["adhoc", "voice"]


def test_reproduce_prune_with_a_truncated_file_deletes_only_the_owners_intents(server, service, tmp_path, capsys):
    """A file cut short loses its own intents, never the ones made with add or over REST."""
    assert run(capsys, "apply", "-f", write(tmp_path, FILE))[0] == 0
    assert run(capsys, "add", "--name", "adhoc", "--src", "10.0.0.3", "--dst", "10.0.0.4", "--rate", "1M")[0] == 0
    truncated = write(tmp_path, FILE.split("  - {name: bulk")[0], "truncated.yaml")
    status, out, _ = run(capsys, "apply", "-f", truncated, "--prune")
    assert status == 0 and names(service) == ["web", "adhoc"]
    assert "- bulk (id 2)" in out and "not in the file but not owned by te-intent, left alone: 3 (adhoc)" in out


# --- POST /te/v1/apply ------------------------------------------------------------------------------------

def test_apply_creates_updates_and_deletes_in_one_write_and_one_generation(service):
    call(service, "POST", "/intents", WEB | {"labels": {"owner": "ops"}})
    call(service, "POST", "/intents", VOICE | {"labels": {"owner": "ops"}})
    call(service, "POST", "/intents", {"src": "10.0.0.6", "dst": "10.0.0.7", "rate_bps": 1e6})
    generation, writes, changes = service.intents.generation, len(service.writes), service.changes
    r = call(service, "POST", "/apply", {"owner": "ops", "prune": True, "intents": [WEB | {"rate_bps": 5e6}, BULK]})
    assert r.status == 200 and r.body["counts"] == {"create": 1, "update": 1, "delete": 1, "unchanged": 0}
    assert [(c["op"], c["name"], c["id"], c["version"], c["new_version"]) for c in r.body["changes"]] == [
        ("create", "bulk", "4", None, 1), ("update", "web", "1", 1, 2), ("delete", "voice", "2", 1, None)]
    assert r.body["changes"][1]["fields"] == {"rate_bps": {"old": 4e6, "new": 5e6}}
    assert r.body["left_alone"] == [{"id": "3", "name": None, "owner": None, "reason": "not-owned"}]
    assert service.intents.generation == generation + 1 and service.changes == changes + 1
    assert service.writes[writes:] == [(["4", "1"], ["2"])]  # one store transaction
    assert stored(service) == {"web": (2, {"owner": "ops"}), "3": (1, {}), "bulk": (1, {"owner": "ops"})}
    assert [i.id for i in service.intents.list()] == ["1", "3", "4"]


def test_a_dry_run_plans_with_field_diffs_and_changes_nothing(service):
    call(service, "POST", "/intents", WEB)
    r = call(service, "POST", "/apply", {"dry_run": True, "owner": "ops",
                                         "intents": [WEB | {"rate_bps": 6e6, "match": {"ip_proto": 6}}, BULK]})
    assert r.status == 200 and r.body["dry_run"] is True
    create, update = r.body["changes"]
    assert (create["op"], create["id"], create["desired"]["labels"]) == ("create", None, {"owner": "ops"})
    assert update["fields"] == {"rate_bps": {"old": 4e6, "new": 6e6}, "match": {"old": {}, "new": {"ip_proto": 6}}}
    assert update["current"]["version"] == 1 and update["desired"]["rate_bps"] == 6e6
    assert names(service) == ["web"] and service.intents.generation == 1 and len(service.writes) == 1


def test_an_apply_that_changes_nothing_does_not_wake_the_controller(service):
    call(service, "POST", "/apply", {"owner": "ops", "intents": [WEB, BULK]})
    generation, changes = service.intents.generation, service.changes
    r = call(service, "POST", "/apply", {"owner": "ops", "intents": [WEB, BULK]})
    assert r.body["counts"] == {"create": 0, "update": 0, "delete": 0, "unchanged": 2}
    assert service.intents.generation == generation and service.changes == changes and len(service.writes) == 1


@pytest.mark.parametrize("body, status, field, message", [
    ({"intents": [WEB, BULK | {"rate_bps": -1}]}, 400, "intents[1].rate_bps", "intents[1] (bulk): rate_bps must be"),
    ({"intents": [WEB, BULK | {"dst": "10.0.0.99"}]}, 400, "intents[1].dst", "10.0.0.99 is not a known host"),
    ({"intents": [WEB, {k: v for k, v in BULK.items() if k != "name"}]}, 400, "intents[1].name", "has no name"),
    ({"intents": [WEB, BULK | {"name": "web"}]}, 400, "intents[1].name", "is also intents[0]"),
    ({"intents": [WEB | {"colour": "red"}]}, 400, "intents[0].colour", "unknown field colour"),
    ({"intents": [WEB | {"match": {"tp_dst": 80}}]}, 400, "intents[0].match.tp_dst", "needs match.ip_proto"),
    ({"intents": [WEB | {"labels": {"owner": "a b"}}]}, 400, "intents[0].labels.owner", "labels.owner must be"),
    ({"intents": [WEB | {"version": 0}]}, 400, "intents[0].version", "version must be"),
    ({"intents": [7]}, 400, "intents[0]", "intents[0] must be an intent object"),
    ({"intents": {"web": WEB}}, 400, "intents", "intents must be an array"),
    ({}, 400, "intents", "missing field intents"),
    ({"intents": [], "force": True}, 400, "force", "unknown field force"),
    ({"intents": [], "prune": "yes"}, 400, "prune", "prune must be true or false"),
    ({"intents": [WEB], "prune": True}, 400, "prune", "prune needs an owner or a selector"),
    ({"intents": [], "prune": True, "owner": "ops"}, 400, "intents", "send all: true"),
    ({"intents": [WEB], "selector": {"team": "a"}}, 400, "selector", "only applies with prune"),
    ({"intents": [WEB], "all": True}, 400, "all", "only applies with prune"),
    ({"intents": [WEB], "prune": True, "selector": {}}, 400, "selector", "at least one label"),
    ({"intents": [WEB], "owner": ""}, 400, "owner", "owner must be"),
    ({"intents": [WEB], "if_match": {"1": "3"}}, 400, "if_match.1", "must be a version"),
    ({"intents": [WEB, BULK | {"src": "10.0.0.1", "dst": "10.0.0.5"}]}, 409, "intents[1].match",
     "intents[1] (bulk): intents[0] (web) already covers 10.0.0.1 -> 10.0.0.5"),
    ({"intents": [BULK | {"src": "10.0.0.6", "dst": "10.0.0.7"}]}, 409, "intents[0].match",
     "intent 1 (hand) already covers 10.0.0.6 -> 10.0.0.7"),
])
def test_a_refused_apply_names_the_intent_and_field_and_changes_nothing(service, body, status, field, message):
    call(service, "POST", "/intents", {"name": "hand", "src": "10.0.0.6", "dst": "10.0.0.7", "rate_bps": 1e6})
    before = (service.intents.list(), service.intents.generation, len(service.writes), service.changes)
    r = call(service, "POST", "/apply", body)
    assert (r.status, r.body.get("field")) == (status, field), r.body
    assert message in r.body["error"], r.body
    assert (service.intents.list(), service.intents.generation, len(service.writes), service.changes) == before


def test_a_body_that_is_not_json_or_too_large_is_refused(service):
    assert call(service, "POST", "/apply", b"{", ).status == 400
    assert call(service, "POST", "/apply", b"{}", Content_Type="text/plain").status == 415
    assert call(service, "POST", "/apply", b" " * (70 * 1024)).status == 413
    assert call(service, "GET", "/intents").body == {"intents": []}


def test_intents_may_swap_their_traffic_in_one_apply(service):
    """One at a time, the first PUT would collide with the other intent; as a set it is fine."""
    call(service, "POST", "/apply", {"intents": [WEB, BULK]})
    swapped = [WEB | {k: BULK[k] for k in ("src", "dst")}, BULK | {k: WEB[k] for k in ("src", "dst")}]
    assert call(service, "PUT", "/intents/1", {**swapped[0]}).status == 409
    r = call(service, "POST", "/apply", {"intents": swapped})
    assert r.status == 200 and r.body["counts"]["update"] == 2
    assert [(i.name, i.src) for i in service.intents.list()] == [("web", "10.0.0.2"), ("bulk", "10.0.0.1")]


def test_a_store_that_cannot_write_is_a_503_and_nothing_changes(service):
    call(service, "POST", "/intents", WEB)

    def broken(**change):
        raise StoreError("intent store /x: database or disk is full")

    service.intents._persist = broken
    r = call(service, "POST", "/apply", {"intents": [WEB | {"rate_bps": 1e6}, BULK]})
    assert r.status == 503 and "not made" in r.body["error"]
    assert names(service) == ["web"] and service.intents.get("1").rate_bps == 4e6 and service.intents.next_id == 2


def test_apply_needs_the_token_even_for_a_dry_run(tmp_path):
    s = Service(rest_token="s3cret")
    assert call(s, "POST", "/apply", {"intents": [WEB], "dry_run": True}).status == 401
    assert call(s, "POST", "/apply", {"intents": [WEB]}, Authorization="Bearer s3cret").status == 200
    assert dispatch(s, "GET", "/te/v1/apply").status == 405


# --- ownership and prune ------------------------------------------------------------------------------

def test_creates_get_the_owner_label_updates_keep_theirs_and_nothing_is_adopted(service):
    call(service, "POST", "/intents", WEB)  # made by hand: no owner
    r = call(service, "POST", "/apply", {"owner": "ops", "intents": [
        WEB | {"rate_bps": 1e6}, BULK, VOICE | {"labels": {"owner": "video", "team": "a"}}]})
    assert r.status == 200
    assert {i.name: i.labels for i in service.intents.list()} == {
        "web": (), "bulk": (("owner", "ops"),), "voice": (("owner", "video"), ("team", "a"))}
    # The owner label stays when the desired intent names none, and any other label follows the file.
    r = call(service, "POST", "/apply", {"owner": "ops", "intents": [BULK | {"labels": {"tier": "batch"}}]})
    assert r.body["changes"][0]["fields"] == {
        "labels": {"old": {"owner": "ops"}, "new": {"owner": "ops", "tier": "batch"}}}


def test_an_intent_of_another_owner_is_not_taken_over(service):
    call(service, "POST", "/intents", WEB | {"labels": {"owner": "alice"}})
    r = call(service, "POST", "/apply", {"owner": "bob", "intents": [WEB | {"rate_bps": 1e6}]})
    assert (r.status, r.body["field"]) == (409, "owner") and "owned by 'alice', not 'bob'" in r.body["error"]
    r = call(service, "POST", "/apply", {"owner": "bob", "intents": [WEB | {"labels": {"owner": "carol"}}]})
    assert (r.status, r.body["field"]) == (409, "intents[0].labels.owner")
    # Naming the live owner is no take-over; an apply without any owner claims nothing either.
    named = WEB | {"labels": {"owner": "alice"}}
    assert call(service, "POST", "/apply", {"owner": "bob", "intents": [named]}).status == 200
    assert call(service, "POST", "/apply", {"intents": [WEB | {"rate_bps": 2e6}]}).status == 200
    assert service.intents.get("1").owner == "alice"


def test_prune_deletes_only_what_its_owner_or_selector_matches(service):
    call(service, "POST", "/intents", {"name": "hand", "src": "10.0.0.6", "dst": "10.0.0.7", "rate_bps": 1e6})
    call(service, "POST", "/apply", {"owner": "ops", "intents": [WEB, BULK]})
    call(service, "POST", "/apply", {"owner": "dev", "intents": [VOICE | {"labels": {"team": "a"}}]})
    r = call(service, "POST", "/apply", {"owner": "ops", "prune": True, "intents": [WEB]})
    assert [(c["op"], c["name"]) for c in r.body["changes"]] == [("delete", "bulk"), ("unchanged", "web")]
    assert [(i["name"], i["owner"], i["reason"]) for i in r.body["left_alone"]] == [
        ("hand", None, "not-owned"), ("voice", "dev", "not-owned")]
    r = call(service, "POST", "/apply", {"owner": "ops", "prune": True, "selector": {"team": "a"}, "intents": [WEB]})
    assert [(c["op"], c["name"]) for c in r.body["changes"]] == [("delete", "voice"), ("unchanged", "web")]
    assert names(service) == ["hand", "web"]


def test_an_empty_set_prunes_the_owners_intents_only_with_all(service):
    call(service, "POST", "/intents", {"name": "hand", "src": "10.0.0.6", "dst": "10.0.0.7", "rate_bps": 1e6})
    call(service, "POST", "/apply", {"owner": "ops", "intents": [WEB, BULK]})
    assert call(service, "POST", "/apply", {"owner": "ops", "prune": True, "intents": []}).status == 400
    r = call(service, "POST", "/apply", {"owner": "ops", "prune": True, "all": True, "intents": []})
    assert r.status == 200 and r.body["counts"]["delete"] == 2 and names(service) == ["hand"]


# --- optimistic concurrency ---------------------------------------------------------------------------

def test_one_intent_carries_its_version_as_etag(service):
    r = call(service, "POST", "/intents", WEB)
    assert r.status == 201 and header(r, "ETag") == '"1"'
    assert header(call(service, "GET", "/intents/1"), "ETag") == '"1"'
    r = call(service, "PUT", "/intents/1", WEB | {"rate_bps": 5e6}, If_Match='"1"')
    assert r.status == 200 and r.body["version"] == 2 and header(r, "ETag") == '"2"'
    r = call(service, "PUT", "/intents/1", WEB | {"rate_bps": 5e6}, If_Match='"2"')  # the same request: no change
    assert r.status == 200 and header(r, "ETag") == '"2"'


@pytest.mark.parametrize("if_match, status", [
    ('"2"', 204), ('"1", "2"', 204), ("*", 204), ('"1"', 412), ('W/"2"', 412), ("2", 400), ('"2', 400),
])
def test_if_match_on_delete(service, if_match, status):
    call(service, "POST", "/intents", WEB)
    call(service, "PUT", "/intents/1", WEB | {"rate_bps": 5e6})
    r = call(service, "DELETE", "/intents/1", If_Match=if_match)
    assert r.status == status
    if status != 204:
        assert r.body["field"] == "If-Match" and names(service) == ["web"]


def test_a_put_on_a_changed_intent_is_412_and_changes_nothing(service):
    call(service, "POST", "/intents", WEB)
    call(service, "PUT", "/intents/1", WEB | {"rate_bps": 5e6})
    r = call(service, "PUT", "/intents/1", WEB | {"rate_bps": 9e6}, If_Match='"1"')
    assert r.status == 412 and r.body["field"] == "If-Match"
    assert "is at version 2, but If-Match names the version 1" in r.body["error"]
    assert service.intents.get("1").rate_bps == 5e6 and service.intents.generation == 2
    assert call(service, "PUT", "/intents/9", WEB, If_Match='"1"').status == 404  # no intent: 404 before 412


def test_etag_and_if_match_pass_through_ryus_wsgi_glue():
    from webob import Request
    from ryu.app.wsgi import WSGIApplication
    from controller.rest_ryu import TERestController

    app = WSGIApplication()
    s = Service()
    app.register(TERestController, {"app": s})

    def request(method, path, body=None, **headers):
        return Request.blank(path, method=method, body=json.dumps(body).encode() if body else b"",
                             headers={"Content-Type": JSON} | headers).get_response(app)

    assert request("POST", "/te/v1/intents", WEB).headers["ETag"] == '"1"'
    assert request("GET", "/te/v1/intents/1").headers["ETag"] == '"1"'
    r = request("DELETE", "/te/v1/intents/1", **{"If-Match": '"7"'})
    assert r.status_int == 412 and r.json["field"] == "If-Match"
    r = request("POST", "/te/v1/apply", {"intents": [WEB | {"rate_bps": 1e6}], "dry_run": True})
    assert r.status_int == 200 and r.json["changes"][0]["op"] == "update"


def test_a_desired_version_that_is_not_live_is_412(service):
    call(service, "POST", "/apply", {"intents": [WEB, BULK]})
    call(service, "PUT", "/intents/1", WEB | {"rate_bps": 5e6})
    r = call(service, "POST", "/apply", {"intents": [WEB | {"rate_bps": 6e6, "version": 1}]})
    assert (r.status, r.body["field"]) == (412, "intents[0].version") and "which is at version 2" in r.body["error"]
    assert call(service, "POST", "/apply", {"intents": [WEB | {"rate_bps": 6e6, "version": 2}]}).status == 200
    call(service, "DELETE", "/intents/2")
    r = call(service, "POST", "/apply", {"intents": [BULK | {"version": 1}]})
    assert r.status == 412 and "which no longer exists" in r.body["error"] and names(service) == ["web"]


def test_if_match_refuses_what_the_client_did_not_see(service):
    call(service, "POST", "/apply", {"owner": "ops", "intents": [WEB, BULK]})
    plan = call(service, "POST", "/apply", {"owner": "ops", "prune": True, "dry_run": True,
                                            "intents": [WEB | {"rate_bps": 1e6}]}).body
    seen = {c["id"]: c["version"] for c in plan["changes"] if c["op"] in ("update", "delete")}
    assert seen == {"1": 1, "2": 1}
    body = {"owner": "ops", "prune": True, "intents": [WEB | {"rate_bps": 1e6}], "if_match": seen}
    # Someone changes bulk after the plan was shown: deleting it would delete a change nobody saw.
    call(service, "PUT", "/intents/2", BULK | {"rate_bps": 3e6, "labels": {"owner": "ops"}})
    r = call(service, "POST", "/apply", body)
    assert (r.status, r.body["field"]) == (412, "if_match.2") and "is at version 2" in r.body["error"]
    # ... or someone adds an intent of the owner that the plan did not show.
    call(service, "POST", "/intents", VOICE | {"labels": {"owner": "ops"}})
    r = call(service, "POST", "/apply", body | {"if_match": {"1": 1, "2": 2}})
    assert (r.status, r.body["field"]) == (412, "if_match") and "intent 3 (voice) would be deleted" in r.body["error"]
    assert names(service) == ["web", "bulk", "voice"] and service.intents.get("1").rate_bps == 4e6
    r = call(service, "POST", "/apply", body | {"if_match": {"1": 1, "2": 2, "3": 1}})
    assert r.status == 200 and names(service) == ["web"]


# --- labels ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("labels, field", [
    ({"owner": ""}, "labels.owner"), ({"owner": 7}, "labels.owner"), ({"": "x"}, "labels"), ({"-a": "x"}, "labels"),
    ({f"k{n}": "v" for n in range(17)}, "labels"), (["owner"], "labels"), ({"owner": "a b"}, "labels.owner"),
])
def test_bad_labels_are_400_naming_the_field(service, labels, field):
    r = call(service, "POST", "/intents", WEB | {"labels": labels})
    assert (r.status, r.body["field"]) == (400, field) and names(service) == []


def test_labels_are_stored_and_restored_and_rows_without_them_stay_as_they_were(service, tmp_path):
    call(service, "POST", "/intents", WEB | {"labels": {"owner": "ops", "example.com/team": "video"}})
    call(service, "POST", "/intents", BULK)
    service.store.close()
    with IntentStore(tmp_path / "intents.sqlite3") as store:
        restored = IntentRegistry()
        restored.restore(store.load(), store.next_id())
        rows = dict(store._db.execute("SELECT id, request FROM intents").fetchall())
    assert restored.list() == service.intents.list()
    assert restored.get("1").labels == (("example.com/team", "video"), ("owner", "ops"))
    assert "labels" not in json.loads(rows["2"]) and json.loads(rows["1"])["labels"]["owner"] == "ops"
    service.store = IntentStore(tmp_path / "intents.sqlite3")  # for the fixture to close


# --- te-intent on the endpoint ------------------------------------------------------------------------

def test_apply_plans_then_applies_exactly_that_plan(server, service, tmp_path, capsys):
    service.intents.create(WEB | {"rate_bps": 1e6, "labels": {"owner": "te-intent"}})
    path = write(tmp_path, FILE)
    status, out, _ = run(capsys, "apply", "-f", path, "--dry-run")
    assert status == 0 and out.splitlines() == [
        "+ bulk: 10.0.0.2 -> 10.0.0.9 2 Mbit/s priority 1 weight 1 match - labels owner=te-intent",
        "~ web (id 1): rate_bps: 1 Mbit/s -> 4 Mbit/s",
        "dry run, nothing changed; would 1 create, 1 change, 0 delete, 0 unchanged"]
    assert [r[:2] for r in server.requests] == [("POST", "/te/v1/apply")] and len(service.writes) == 1
    server.requests.clear()
    status, out, _ = run(capsys, "apply", "-f", path)
    assert status == 0 and out.splitlines()[-1] == "1 created, 1 changed, 0 deleted, 0 unchanged"
    assert [r[:2] for r in server.requests] == [("POST", "/te/v1/apply")] * 2
    assert stored(service) == {"web": (2, {"owner": "te-intent"}), "bulk": (1, {"owner": "te-intent"})}


def test_a_change_between_the_plan_and_the_apply_is_refused_and_kept(server, service, tmp_path, capsys):
    service.intents.create(WEB | {"rate_bps": 1e6, "labels": {"owner": "te-intent"}})

    def meanwhile(method, path):
        if method == "POST" and path.endswith("/apply") and service.intents.get("1").rate_bps == 1e6:
            service.intents.replace("1", WEB | {"rate_bps": 7e6, "labels": {"owner": "te-intent"}})

    server.after = meanwhile
    status, out, err = run(capsys, "apply", "-f", write(tmp_path, FILE))
    assert (status, out) == (1, "")
    assert err.startswith("te-intent: error: the controller refused POST /te/v1/apply (412): intent 1 is at version 2")
    assert err.endswith("; nothing was changed\n")
    assert names(service) == ["web"] and service.intents.get("1").rate_bps == 7e6


def test_the_owner_comes_from_the_option_or_the_file_and_they_must_agree(server, service, tmp_path, capsys):
    owned = write(tmp_path, "owner: video-team\n" + FILE)
    assert run(capsys, "apply", "-f", owned)[0] == 0
    assert {i.owner for i in service.intents.list()} == {"video-team"}
    status, _, err = run(capsys, "apply", "-f", owned, "--owner", "other")
    assert status == 2 and "--owner other differs from the owner 'video-team'" in err
    assert run(capsys, "apply", "-f", write(tmp_path, VOICE_FILE, "voice.yaml"), "--owner", "ops")[0] == 0
    assert service.intents.get("3").owner == "ops"
    status, _, err = run(capsys, "apply", "-f", owned, "--owner", "two words")
    assert status == 2 and "--owner must be" in err and len(service.writes) == 2


VOICE_FILE = "- {name: voice, src: 10.0.0.3, dst: 10.0.0.4, rate_bps: 1M}\n"


def test_prune_by_selector_and_all(server, service, tmp_path, capsys):
    service.intents.create(VOICE | {"labels": {"team": "a"}})
    assert run(capsys, "apply", "-f", write(tmp_path, FILE))[0] == 0
    status, out, _ = run(capsys, "apply", "-f", write(tmp_path, VOICE_FILE.replace("voice", "x").replace(
        "10.0.0.3", "10.0.0.8"), "x.yaml"), "--prune", "-l", "team=a")
    assert status == 0 and "- voice (id 1)" in out and names(service) == ["web", "bulk", "x"]
    assert run(capsys, "apply", "-f", write(tmp_path, "", "empty.yaml"), "--all")[0] == 2  # --all needs --prune
    status, out, _ = run(capsys, "apply", "-f", write(tmp_path, "", "empty.yaml"), "--prune", "--all")
    assert status == 0 and out.splitlines()[-1] == "0 created, 0 changed, 3 deleted, 0 unchanged"
    assert names(service) == []


def test_get_yaml_round_trips_through_apply(server, service, tmp_path, capsys):
    assert run(capsys, "apply", "-f", write(tmp_path, FILE))[0] == 0
    assert run(capsys, "add", "--name", "hand", "--src", "10.0.0.6", "--dst", "10.0.0.7", "--rate", "1.5M",
               "--proto", "udp", "--dport", "53", "--label", "team=dns")[0] == 0
    assert run(capsys, "add", "--src", "10.0.0.8", "--dst", "10.0.0.7", "--rate", "1M")[0] == 0  # unnamed
    status, exported, err = run(capsys, "get", "-o", "yaml")
    assert status == 0 and "intent 4 has no name, left out" in err
    document = yaml.safe_load(exported)
    assert "owner" not in document  # two owners (te-intent and none): each intent says its own
    assert document["intents"][2] == {"name": "hand", "src": "10.0.0.6", "dst": "10.0.0.7", "rate_bps": 1500000,
                                      "match": {"ip_proto": 17, "tp_dst": 53}, "labels": {"team": "dns"}, "version": 1}
    path = write(tmp_path, exported, "exported.yaml")
    before = service.intents.list()
    status, out, _ = run(capsys, "apply", "-f", path, "--prune")
    assert status == 0 and out.splitlines()[-2:] == ["0 created, 0 changed, 0 deleted, 3 unchanged",
                                                     "not in the file but not owned by te-intent, left alone: 4"]
    assert service.intents.list() == before

    status, exported, _ = run(capsys, "get", "web", "bulk", "-o", "yaml", "--no-versions")
    assert yaml.safe_load(exported)["owner"] == "te-intent" and "version" not in exported
    status, out, _ = run(capsys, "apply", "-f", write(tmp_path, exported, "owned.yaml"), "--prune")
    assert status == 0 and out.splitlines()[-2] == "0 created, 0 changed, 0 deleted, 2 unchanged"
    status, out, _ = run(capsys, "get", "-l", "team=dns", "--json")
    assert json.loads(out)["intents"][0]["name"] == "hand"


def test_an_exported_file_refuses_to_undo_a_later_change(server, service, tmp_path, capsys):
    assert run(capsys, "apply", "-f", write(tmp_path, FILE))[0] == 0
    exported = write(tmp_path, run(capsys, "get", "-o", "yaml")[1], "exported.yaml")
    assert call(service, "PUT", "/intents/1", WEB | {"rate_bps": 9e6, "labels": {"owner": "te-intent"}}).status == 200
    status, _, err = run(capsys, "apply", "-f", exported)
    assert status == 1 and "(412)" in err and "(field intents[0].version)" in err
    assert service.intents.get("1").rate_bps == 9e6


def test_delete_sends_the_version_it_read(server, service, capsys):
    service.intents.create(WEB)
    assert run(capsys, "delete", "web")[0] == 0
    assert server.requests[-1] == ("DELETE", "/te/v1/intents/1", '"1"')


def test_show_and_add_with_labels(server, service, capsys):
    status, out, _ = run(capsys, "add", "--name", "web", "--src", "10.0.0.1", "--dst", "10.0.0.5", "--rate", "4M",
                         "--label", "owner=ops", "--label", "team=video")
    assert status == 0 and out.endswith("labels owner=ops team=video\n")
    status, out, _ = run(capsys, "show", "web")
    assert status == 0 and "labels:    owner=ops team=video" in out
    status, _, err = run(capsys, "add", "--src", "10.0.0.1", "--dst", "10.0.0.5", "--rate", "4M", "--label", "owner")
    assert status == 2 and "not KEY=VALUE: 'owner'" in err


@pytest.mark.parametrize("text, message", [
    ("owner: a\nintents: []\n---\nowner: b\nintents: []\n", "owner 'b' differs from the owner 'a'"),
    ("- {name: a, src: 10.0.0.1, dst: 10.0.0.2, rate_bps: 1M, version: x}\n", "version must be"),
    ("- {name: a, src: 10.0.0.1, dst: 10.0.0.2, rate_bps: 1M, labels: {team: 42}}\n", "labels.team must be a string"),
    ("- {name: a, src: 10.0.0.1, dst: 10.0.0.2, rate_bps: 1M, labels: [a]}\n", "labels must be a mapping"),
    ("owner: [a]\nintents: []\n", "owner must be"),
])
def test_bad_owner_labels_and_versions_in_files_are_usage_errors(server, tmp_path, capsys, text, message):
    status, out, err = run(capsys, "apply", "-f", write(tmp_path, text))
    assert (status, out) == (2, "") and message in err and len(err.splitlines()) == 1
    assert server.requests == []


def test_apply_json_is_the_controllers_answer(server, service, tmp_path, capsys):
    path = write(tmp_path, FILE)
    status, out, _ = run(capsys, "apply", "-f", path, "--json", "--dry-run")
    assert status == 0 and json.loads(out)["dry_run"] is True and json.loads(out)["counts"]["create"] == 2
    status, out, _ = run(capsys, "apply", "-f", path, "--json")
    report = json.loads(out)
    assert report["dry_run"] is False and [(c["op"], c["id"]) for c in report["changes"]] == [("create", "1"),
                                                                                                ("create", "2")]
    status, out, _ = run(capsys, "apply", "-f", path, "--json")  # nothing to change: one request, not a dry run
    assert json.loads(out)["dry_run"] is False and json.loads(out)["counts"]["unchanged"] == 2
