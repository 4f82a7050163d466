"""te-intent: the apply plan as a pure function, and the whole command against an HTTP double of the API.

The double (:class:`ApiDouble`) serves the intent API with the real dispatcher (controller.rest.dispatch)
over a real controller.intents.IntentRegistry, on 127.0.0.1 in a thread: the CLI talks real HTTP to it.
"""
import io
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from controller.client.apply import Change, describe_change
from controller.client.errors import UsageError
from controller.client.formatting import parse_rate
from controller.client.intent_cli import main
from controller.client.intent_file import parse_intent_list
from controller.intents import IntentRegistry, parse_apply, parse_intent, plan_set
from controller.rest import dispatch
from controller.settings import Settings

KNOWN_HOSTS = {f"10.0.0.{n}" for n in range(1, 13)}


class ApiDouble(BaseHTTPRequestHandler):
    """The intent API of controller/openapi.yaml: intents, groups and apply by the real dispatcher over an
    IntentRegistry; allocations all pending (unless ``registry.views`` says otherwise for an intent id),
    classes and groups summed from them, an empty topology.

    Like the controller with a ``rest_token``, it refuses writes without ``registry.token`` (when set).
    """

    registry: IntentRegistry
    requests_seen: list

    def do_GET(self):
        parts = self._parts()
        if parts == ["allocations"]:
            return self._json(200, {"allocations": self._allocations(),
                                    "solve": {"objective": "max-min", "status": "none", "solve_seconds": 0.0}})
        if parts == ["topology"]:
            return self._json(200, {"switches": [], "links": [], "hosts": []})
        self._dispatch()

    def do_POST(self):
        self._parts()
        self._write()

    do_PUT = do_DELETE = do_POST

    def _write(self):
        if self.registry.token and self.headers.get("Authorization") != f"Bearer {self.registry.token}":
            return self._json(401, {"error": "this write needs the header 'Authorization: Bearer <rest_token>'"})
        self._dispatch()

    def _parts(self):
        self.requests_seen.append((self.command, self.path))
        self.registry.authorizations.append(self.headers.get("Authorization"))
        path = self.path.split("?")[0]
        assert path.startswith("/te/v1/"), path
        return path[len("/te/v1/"):].strip("/").split("/")

    def _dispatch(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if body:
            self.registry.bodies.append((self.command, self.path, json.loads(body)))
        reply = dispatch(self, self.command, self.path.split("?")[0], body, dict(self.headers.items()))
        self._json(reply.status, reply.body, reply.headers)

    def _allocations(self):
        return [{"intent_id": i.id, "name": i.name, "version": i.version, "state": "pending",
                 "class": i.service_class, "group": i.group, "requested_bps": i.rate_bps, "allocated_bps": 0.0,
                 "measured_bps": None, "paths": []} | self.registry.views.get(i.id, {}) for i in self.registry.list()]

    def classes_body(self):
        """GET /te/v1/classes, summed from the allocations (as controller.views.class_views does)."""
        views = {a["intent_id"]: a for a in self._allocations()}

        def totals(members):
            measured = [views[i.id]["measured_bps"] for i in members if views[i.id]["measured_bps"] is not None]
            return {"intents": len(members), "degraded": sum(views[i.id]["state"] == "degraded" for i in members),
                    "requested_bps": sum(i.rate_bps for i in members),
                    "allocated_bps": sum(views[i.id]["allocated_bps"] for i in members),
                    "measured_bps": sum(measured) if measured else None}

        intents = self.registry.list()
        return {"classes": [
            {"class": "best-effort", "dscp": None, **totals([i for i in intents if not i.guaranteed]),
             "dscp_by_priority": [0, 10, 18, 26, 34, 34, 34, 34]},
            {"class": "guaranteed", "dscp": 46, **totals([i for i in intents if i.guaranteed])}],
            "groups": [{**g.as_dict(), **totals([i for i in intents if i.group == name])}
                       for name, g in self.registry.groups().items()]}

    # the service dispatch asks for (controller.core.Core offers the same)
    settings = Settings()

    @property
    def intents(self):
        return self.registry

    def intents_changed(self):
        pass

    def _json(self, status, body, headers=()):
        self.send_response(status)
        data = b"" if body is None else json.dumps(body).encode()
        if data:
            self.send_header("Content-Type", "application/json")
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def api(monkeypatch):
    """A running double; TE_CONTROLLER points at it. Yields its registry (with .seen requests, the
    .authorizations headers they had, the .bodies of those with one, and .token: set it to require a
    bearer token for writes; .admission: set it to a function that refuses guaranteed intents, as
    controller.admission.admit does; .views: intent id -> what its allocation view has instead)."""

    def admit(intents, asking):
        if registry.admission is not None:
            registry.admission(intents, asking)

    registry = IntentRegistry(lambda: KNOWN_HOSTS, admit=admit)
    registry.token, registry.authorizations, registry.bodies = None, [], []
    registry.admission, registry.views = None, {}
    monkeypatch.delenv("TE_TOKEN", raising=False)
    seen = []
    handler = type("Handler", (ApiDouble,), {"registry": registry, "requests_seen": seen})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    monkeypatch.setenv("TE_CONTROLLER", f"http://127.0.0.1:{httpd.server_address[1]}")
    registry.seen = seen
    yield registry
    httpd.shutdown()
    httpd.server_close()


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
  - {name: web, src: 10.0.0.1, dst: 10.0.0.5, rate_bps: 4M, match: {ip_proto: 6, tp_dst: 80}}
  - {name: bulk, src: 10.0.0.2, dst: 10.0.0.9, rate_bps: 1.5G, priority: 1}
"""


# --- the plan, as a pure function -------------------------------------------------------------

def intent(name, rate=1e6, id="f", **extra):
    return parse_intent({"src": "10.0.0.1", "dst": "10.0.0.2", "rate_bps": rate, "name": name, **extra}, id)


def plan(desired, live, prune=False, owner="te-intent"):
    request = parse_apply({"intents": [{k: v for k, v in i.as_dict().items() if k not in ("id", "version")}
                                       for i in desired], "owner": owner, "prune": prune})
    return plan_set(request, live, next_id=100)


def test_plan_without_prune_leaves_unnamed_and_unlisted_intents_alone():
    unnamed = parse_intent({"src": "10.0.0.3", "dst": "10.0.0.4", "rate_bps": 1e6}, "9")
    result = plan([intent("a")], [unnamed, intent("b", id="2", src="10.0.0.7"), intent("a", id="3")])
    assert [(c.op, c.current.id) for c in result.changes] == [("unchanged", "3")]
    assert [(i.id, why) for i, why in result.left_alone] == [("9", "no-prune"), ("2", "no-prune")]


def test_plan_with_prune_deletes_only_the_owners_intents_after_creates_and_updates():
    unnamed = parse_intent({"src": "10.0.0.3", "dst": "10.0.0.4", "rate_bps": 1e6}, "9")
    owned = parse_intent({"src": "10.0.0.5", "dst": "10.0.0.4", "rate_bps": 1e6, "labels": {"owner": "te-intent"}}, "8")
    result = plan([intent("a", 2e6), intent("new", src="10.0.0.7")], [unnamed, owned, intent("a", id="3")], prune=True)
    assert [(c.op, (c.result or c.current).name, (c.result or c.current).id) for c in result.changes] == [
        ("create", "new", "100"), ("update", "a", "3"), ("delete", None, "8")]
    assert [(i.id, why) for i, why in result.left_alone] == [("9", "not-owned")]


def test_update_lists_every_changed_field():
    old = intent("a", 1e6, id="3")
    new = intent("a", 2e6, priority=3, match={"ip_proto": 17, "tp_dst": 53})
    change = plan([new], [old]).changes[0]
    assert [f for f, _, _ in change.fields()] == ["rate_bps", "priority", "match"]
    described = Change("update", "a", change.current, change.result)
    assert describe_change(described) == \
        "~ a (id 3): rate_bps: 1 Mbit/s -> 2 Mbit/s, priority: 0 -> 3, match: - -> ip_proto=17 tp_dst=53"


def test_same_request_in_another_spelling_is_unchanged():
    current = parse_intent({"src": "10.0.0.1", "dst": "10.0.0.2", "rate_bps": 4e6, "name": "a",
                            "weight": 1, "priority": 0, "match": {}}, "1")
    desired = parse_intent_list([{"name": "a", "src": " 10.0.0.1", "dst": "10.0.0.2", "rate_bps": "4Mbit"}])
    assert [(c.op, c.current) for c in plan(desired, [current]).changes] == [("unchanged", current)]


@pytest.mark.parametrize("data, message", [
    ({"intents": [{"name": "a", "src": "10.0.0.1", "dst": "10.0.0.2", "rate_bps": 1e6}] * 2},
     "intent #2 (a): name 'a' is already used by intent #1"),
    ([{"name": "a", "src": "10.0.0.1", "dst": "10.0.0.2", "rate_bps": "fast"}], "rate_bps: not a rate: 'fast'"),
    ([{"name": "a", "src": "10.0.0.1", "dst": "10.0.0.2", "rate_bps": 1e6, "colour": "red"}], "unknown field colour"),
    ({"intent": []}, "expected a list of intents"),
    ("text", "expected a list of intents"),
])
def test_bad_intent_lists_name_the_problem(data, message):
    with pytest.raises(UsageError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_intent_list(data)


@pytest.mark.parametrize("text, bps", [("4M", 4e6), ("4Mbit", 4e6), ("4000000", 4e6), ("1.5G", 1.5e9),
                                        ("250k", 2.5e5), ("4 Mbit/s", 4e6), ("2mbps", 2e6), ("1e6", 1e6)])
def test_rates(text, bps):
    assert parse_rate(text) == bps


@pytest.mark.parametrize("text", ["", "M", "4MB", "four", "-1M", "4 Mbytes"])
def test_bad_rates(text):
    with pytest.raises(ValueError):
        parse_rate(text)


# --- the command against the double --------------------------------------------------------------

def test_add_list_show_delete(api, capsys):
    status, out, _ = run(capsys, "add", "--name", "web", "--src", "10.0.0.1", "--dst", "10.0.0.5",
                         "--rate", "4M", "--proto", "tcp", "--dport", "80")
    assert status == 0 and out.startswith("created intent 1 (web): 10.0.0.1 -> 10.0.0.5 4 Mbit/s")
    assert api.get("1").match.as_dict() == {"ip_proto": 6, "tp_dst": 80}

    status, out, _ = run(capsys, "list")
    assert status == 0
    header, row = out.splitlines()
    assert header.split() == ["ID", "NAME", "SRC", "DST", "RATE", "PRIO", "WEIGHT", "CLASS", "GROUP", "MATCH",
                              "VERSION"]
    assert row.split() == ["1", "web", "10.0.0.1", "10.0.0.5", "4", "Mbit/s", "0", "1", "best-effort", "-", "ip_proto=6",
                           "tp_dst=80", "1"]

    status, out, _ = run(capsys, "show", "web", "--json")
    assert status == 0 and json.loads(out)["intent"]["id"] == "1"
    assert json.loads(out)["allocation"]["state"] == "pending"

    status, out, _ = run(capsys, "show", "1")
    assert status == 0 and "name:      web" in out and "state:     pending" in out

    status, out, _ = run(capsys, "delete", "web")
    assert (status, out) == (0, "deleted intent 1 (web)\n") and len(api) == 0


def test_list_json_is_the_api_answer(api, capsys):
    api.create({"src": "10.0.0.1", "dst": "10.0.0.2", "rate_bps": 1e6})
    status, out, _ = run(capsys, "--json", "list")
    assert status == 0 and json.loads(out) == {"intents": [api.get("1").as_dict()]}


def test_allocations_table(api, capsys):
    api.create({"src": "10.0.0.1", "dst": "10.0.0.2", "rate_bps": 2e6, "name": "a"})
    status, out, _ = run(capsys, "allocations")
    lines = out.splitlines()
    assert status == 0 and lines[0].split() == ["ID", "NAME", "CLASS", "GROUP", "STATE", "REQUESTED", "ALLOCATED",
                                                "MEASURED", "SHORTFALL", "PATHS"]
    assert lines[1].split() == ["1", "a", "best-effort", "-", "pending", "2", "Mbit/s", "0", "bit/s", "-", "-", "-"]
    assert lines[2] == "last solve: max-min, none, 0.0 ms"


def test_apply_creates_updates_prunes_its_own_and_is_idempotent(api, tmp_path, capsys):
    api.create({"src": "10.0.0.1", "dst": "10.0.0.5", "rate_bps": 1e6, "name": "web"})
    api.create({"src": "10.0.0.3", "dst": "10.0.0.4", "rate_bps": 1e6, "name": "old", "labels": {"owner": "te-intent"}})
    api.create({"src": "10.0.0.3", "dst": "10.0.0.6", "rate_bps": 1e6})
    path = write(tmp_path, FILE)

    status, out, _ = run(capsys, "apply", "-f", path, "--dry-run", "--prune")
    assert status == 0 and out.splitlines() == [
        "+ bulk: 10.0.0.2 -> 10.0.0.9 1.5 Gbit/s priority 1 weight 1 match - labels owner=te-intent",
        "~ web (id 1): rate_bps: 1 Mbit/s -> 4 Mbit/s, match: - -> ip_proto=6 tp_dst=80",
        "- old (id 2): 10.0.0.3 -> 10.0.0.4 1 Mbit/s priority 0 weight 1 match - labels owner=te-intent",
        "dry run, nothing changed; would 1 create, 1 change, 1 delete, 0 unchanged",
        "not in the file but not owned by te-intent, left alone: 3"]
    assert api.seen == [("POST", "/te/v1/apply")] and len(api) == 3

    api.seen.clear()
    status, out, _ = run(capsys, "apply", "-f", path)
    assert status == 0 and out.splitlines()[-2:] == [
        "1 created, 1 changed, 0 deleted, 0 unchanged",
        "not in the file, left alone (use --prune to delete): 2 (old), 3"]
    assert api.seen == [("POST", "/te/v1/apply")] * 2  # the plan, then exactly that plan
    assert {i.name: i.rate_bps for i in api.list()} == {"web": 4e6, "old": 1e6, None: 1e6, "bulk": 1.5e9}
    assert api.get("1").labels == () and api.get("4").owner == "te-intent"  # web was made by hand: not adopted

    status, out, _ = run(capsys, "apply", "-f", path, "--prune", "--json")
    report = json.loads(out)
    assert status == 0 and not report["dry_run"] and [(c["op"], c["id"]) for c in report["changes"]] == [
        ("delete", "2"), ("unchanged", "1"), ("unchanged", "4")]
    assert report["left_alone"] == [{"id": "3", "name": None, "owner": None, "reason": "not-owned"}]
    assert sorted(i.name or "-" for i in api.list()) == ["-", "bulk", "web"]

    api.seen.clear()
    status, out, _ = run(capsys, "apply", "-f", path, "--prune")
    assert status == 0 and out.splitlines() == ["= web (id 1)", "= bulk (id 4)",
                                                "0 created, 0 changed, 0 deleted, 2 unchanged",
                                                "not in the file but not owned by te-intent, left alone: 3"]
    assert api.seen == [("POST", "/te/v1/apply")]  # nothing to change: no second request


def test_apply_json_file(api, tmp_path, capsys):
    path = write(tmp_path, json.dumps([{"name": "a", "src": "10.0.0.1", "dst": "10.0.0.2", "rate_bps": 5e5}]),
                 "intents.json")
    assert run(capsys, "apply", "-f", path)[0] == 0 and api.get("1").rate_bps == 5e5


def test_bad_file_changes_nothing_and_exits_2(api, tmp_path, capsys):
    path = write(tmp_path, FILE + "  - {name: third, src: 10.0.0.1, dst: 10.0.0.1, rate_bps: 1M}\n")
    status, out, err = run(capsys, "apply", "-f", path, "--prune")
    assert status == 2 and out == ""
    assert err == f"te-intent: error: {path}: intent #3 (third): src and dst are the same host 10.0.0.1\n"
    assert api.seen == []


@pytest.mark.parametrize("text, message", [
    ("intents: [", "is neither YAML nor JSON"),
    ("- {src: 10.0.0.1, dst: 10.0.0.2, rate_bps: 1M}", "intent #1 has no name"),
])
def test_unreadable_files_exit_2(api, tmp_path, capsys, text, message):
    status, _, err = run(capsys, "apply", "-f", write(tmp_path, text))
    assert status == 2 and message in err and len(err.splitlines()) == 1 and api.seen == []


def test_missing_file_exits_2(api, tmp_path, capsys):
    status, _, err = run(capsys, "apply", "-f", str(tmp_path / "nope.yaml"))
    assert status == 2 and "cannot read" in err and "No such file" in err


def test_a_refused_apply_changes_nothing(api, tmp_path, capsys):
    # 10.0.0.99 is valid IPv4 (so the file passes local checks) but not a host the controller knows.
    path = write(tmp_path, FILE + "  - {name: far, src: 10.0.0.1, dst: 10.0.0.99, rate_bps: 1M}\n")
    api.create({"src": "10.0.0.1", "dst": "10.0.0.5", "rate_bps": 1e6, "name": "web"})
    status, out, err = run(capsys, "apply", "-f", path)
    assert (status, out) == (1, "")
    assert err == ("te-intent: error: the controller refused POST /te/v1/apply (400): intents[2] (far): dst 10.0.0.99 "
                   "is not a known host (field intents[2].dst); nothing was changed\n")
    assert [i.name for i in api.list()] == ["web"] and api.get("1").rate_bps == 1e6 and api.generation == 1


def test_refused_add_shows_the_controller_message(api, capsys):
    api.create({"src": "10.0.0.1", "dst": "10.0.0.2", "rate_bps": 1e6, "name": "web"})
    status, _, err = run(capsys, "add", "--src", "10.0.0.3", "--dst", "10.0.0.4", "--rate", "1M", "--name", "web")
    assert status == 1
    assert err == ("te-intent: error: the controller refused POST /te/v1/intents (409): intent 1 is already "
                   "named 'web' (field name)\n")


@pytest.mark.parametrize("argv, message", [
    (["add", "--src", "10.0.0.1", "--dst", "10.0.0.2", "--rate", "1M", "--dport", "80"],
     "--dport: match.tp_dst needs match.ip_proto 6 (TCP) or 17 (UDP)"),
    (["add", "--src", "10.0.0.1", "--dst", "10.0.0.2", "--rate", "4MB"], "argument --rate: not a rate: '4MB'"),
    (["add", "--src", "10.0.0.1", "--dst", "10.0.0.2"], "the following arguments are required: --rate"),
    (["add", "--src", "10.0.0.1", "--dst", "10.0.0.2", "--rate", "1M", "--priority", "9"],
     "--priority: priority must be an integer from 0 to 7, not 9"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
    ([], "the following arguments are required: COMMAND"),
])
def test_usage_errors_exit_2_without_a_request(api, capsys, argv, message):
    status, out, err = run(capsys, *argv)
    assert status == 2 and out == "" and api.seen == []
    assert err.startswith("te-intent: error: ") and message in err and len(err.splitlines()) == 1


def test_token_option_is_sent_with_every_request(api, capsys):
    api.token = "s3cret"
    assert run(capsys, "--token", "s3cret", "add", "--name", "web", "--src", "10.0.0.1", "--dst", "10.0.0.5",
               "--rate", "4M")[0] == 0
    assert run(capsys, "delete", "web", "--token", "s3cret")[0] == 0
    assert [m for m, _ in api.seen] == ["POST", "GET", "DELETE"] and len(api) == 0
    assert api.authorizations == ["Bearer s3cret"] * 3


def test_te_token_from_the_environment_and_the_option_wins(api, tmp_path, capsys, monkeypatch):
    api.token = "from-env"
    monkeypatch.setenv("TE_TOKEN", "from-env")
    assert run(capsys, "apply", "-f", write(tmp_path, FILE))[0] == 0 and len(api) == 2
    assert set(api.authorizations) == {"Bearer from-env"}
    status, _, err = run(capsys, "--token", "other", "delete", "web")
    assert status == 1 and "(401)" in err and len(api) == 2
    assert api.authorizations[-1] == "Bearer other"


def test_a_write_without_the_token_is_refused_and_reads_need_none(api, capsys):
    api.token = "s3cret"
    api.create({"src": "10.0.0.1", "dst": "10.0.0.2", "rate_bps": 1e6, "name": "web"})
    assert run(capsys, "list")[0] == 0 and api.authorizations == [None]
    status, out, err = run(capsys, "delete", "web")
    assert status == 1 and out == "" and len(api) == 1
    assert err == ("te-intent: error: the controller refused DELETE /te/v1/intents/1 (401): this write needs the "
                   "header 'Authorization: Bearer <rest_token>'\n")


@pytest.mark.parametrize("token", ["two words", "tab\there", "line\nbreak", "caf\u00e9"])
def test_a_token_that_cannot_be_a_header_is_a_usage_error(api, capsys, token):
    status, _, err = run(capsys, "--token", token, "list")
    assert status == 2 and api.seen == []
    assert err == "te-intent: error: --token/TE_TOKEN must be printable ASCII without spaces\n"


def test_unknown_intent_exits_1(api, capsys):
    status, _, err = run(capsys, "delete", "nothing")
    assert (status, err) == (1, "te-intent: error: no intent with id or name 'nothing'\n")


def test_unreachable_controller_exits_3(capsys, monkeypatch):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("TE_CONTROLLER", "http://127.0.0.1:1")
    status, out, err = run(capsys, "--controller", f"127.0.0.1:{port}", "list")
    assert status == 3 and out == ""
    assert err == (f"te-intent: error: cannot reach the controller at http://127.0.0.1:{port} (connection refused); "
                   f"set --controller or TE_CONTROLLER\n")


def test_silent_controller_times_out_with_exit_3(capsys):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()  # accepts the connection, never answers
        status, _, err = run(capsys, "list", "--timeout", "0.3", "--controller", f"http://127.0.0.1:{s.getsockname()[1]}")
    assert status == 3 and "did not answer within 0.3 s" in err


def test_a_server_without_the_api_is_refused_not_a_traceback(capsys):
    class NotTheApi(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(404)
            self.send_header("Content-Length", "9")
            self.end_headers()
            self.wfile.write(b"not here\n")

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), NotTheApi)
    threading.Thread(target=httpd.serve_forever, args=(0.02,), daemon=True).start()
    try:
        status, _, err = run(capsys, "--controller", f"http://127.0.0.1:{httpd.server_address[1]}", "list")
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert status == 1 and err == "te-intent: error: the controller has no intent API (GET /te/v1/intents answered 404)\n"


def test_help_exits_0(capsys):
    assert main(["--help"]) == 0 and "apply" in capsys.readouterr().out


# --- the operator and researcher workflow: every input error is one line and exit 2 -------------------

def assert_usage_error(status, out, err, message):
    assert (status, out) == (2, ""), err
    assert err.startswith("te-intent: error: ") and err.endswith("\n") and len(err.splitlines()) == 1, err
    assert message in err and "please report" not in err, err


@pytest.mark.parametrize("argv, message", [
    (["add", "--src", "10.0.0.1", "--dst", "10.0.0.2", "--rate", "1e400"], "argument --rate: not a rate: '1e400' (too large)"),
    (["add", "--src", "10.0.0.1", "--dst", "10.0.0.2", "--rate", "9" * 400], "(too large)"),
    (["list", "--timeout", "-1"], "argument --timeout: not a positive number of seconds: '-1'"),
    (["list", "--timeout", "0"], "argument --timeout: not a positive number of seconds: '0'"),
    (["list", "--timeout", "nan"], "argument --timeout: not a positive number of seconds: 'nan'"),
    (["list", "--timeout", "inf"], "argument --timeout: not a positive number of seconds: 'inf'"),
    (["list", "--timeout", "1e300"], "(at most 86400)"),
    (["list", "--controller", "http://a..b"], "bad controller address 'http://a..b'"),
    (["list", "--controller", "http://"], "bad controller address 'http://': no host"),
    (["list", "--controller", "ftp://x"], "bad controller address 'ftp://x': use http:// or https://"),
    (["list", "--controller", "http://h:99999"], "bad controller address 'http://h:99999'"),
    (["list", "--controller", "http://[::1"], "bad controller address 'http://[::1'"),
    (["show", "a\nb", "--controller", "http://h:x"], "bad controller address 'http://h:x'"),
])
def test_bad_arguments_are_one_line_usage_errors(api, capsys, argv, message):
    assert_usage_error(*run(capsys, *argv), message)
    assert api.seen == []


def test_a_non_utf8_file_exits_2(api, tmp_path, capsys):
    path = tmp_path / "latin1.yaml"
    path.write_bytes("- {name: caf\u00e9, src: 10.0.0.1, dst: 10.0.0.2, rate_bps: 1M}\n".encode("latin-1"))
    assert_usage_error(*run(capsys, "apply", "-f", str(path)),
                       f"te-intent: error: {path} is not UTF-8 text (byte 0xe9 on line 1); save it as UTF-8\n")
    assert api.seen == []


def test_a_duplicate_key_exits_2_naming_key_and_lines(api, tmp_path, capsys):
    path = write(tmp_path, FILE + "  - name: x\n    src: 10.0.0.3\n    dst: 10.0.0.4\n    rate_bps: 1M\n    name: y\n")
    assert_usage_error(*run(capsys, "apply", "-f", path, "--dry-run"),
                       f"{path}: duplicate key 'name' on lines 5 and 9 (a key may appear once per mapping)")
    assert api.seen == []


def test_name_no_is_the_string_no(api, tmp_path, capsys):
    path = write(tmp_path, "- {name: no, src: 10.0.0.1, dst: 10.0.0.2, rate_bps: 1M}\n"
                           "- {name: off, src: 10.0.0.3, dst: 10.0.0.4, rate_bps: 1M}\n")
    assert run(capsys, "apply", "-f", path)[0] == 0
    assert [i.name for i in api.list()] == ["no", "off"]


def test_a_name_read_as_a_bool_is_an_error_not_a_bool(api, tmp_path, capsys):
    path = write(tmp_path, "- {name: false, src: 10.0.0.1, dst: 10.0.0.2, rate_bps: 1M}\n")
    assert_usage_error(*run(capsys, "apply", "-f", path),
                       f'{path}: intent #1: name must be a string, not the bool False (quote it: name: "...")')


def test_ip_proto_by_name_in_a_file_matches_the_proto_option(api, tmp_path, capsys):
    assert run(capsys, "add", "--name", "web", "--src", "10.0.0.1", "--dst", "10.0.0.5", "--rate", "4M",
               "--proto", "tcp", "--dport", "80")[0] == 0
    path = write(tmp_path, "- {name: web, src: 10.0.0.1, dst: 10.0.0.5, rate_bps: 4M, match: {ip_proto: tcp, tp_dst: 80}}\n"
                           "- {name: dns, src: 10.0.0.2, dst: 10.0.0.5, rate_bps: 1M, match: {ip_proto: udp, tp_dst: 53}}\n")
    status, out, _ = run(capsys, "apply", "-f", path)
    assert status == 0 and out.splitlines()[-1] == "1 created, 0 changed, 0 deleted, 1 unchanged"
    assert api.get("2").match.as_dict() == {"ip_proto": 17, "tp_dst": 53}


def test_apply_from_standard_input(api, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(FILE.encode())))
    status, out, _ = run(capsys, "apply", "-f", "-")
    assert status == 0 and out.splitlines()[-1] == "2 created, 0 changed, 0 deleted, 0 unchanged"


def test_apply_a_directory(api, tmp_path, capsys):
    write(tmp_path, "- {name: b, src: 10.0.0.3, dst: 10.0.0.4, rate_bps: 2M}\n", "20-b.yml")
    write(tmp_path, json.dumps([{"name": "a", "src": "10.0.0.1", "dst": "10.0.0.2", "rate_bps": 1e6}]), "10-a.json")
    write(tmp_path, "ignored", "README.md")
    status, out, _ = run(capsys, "apply", "-f", f"{tmp_path}/", "--prune")
    assert status == 0 and [line[:3] for line in out.splitlines()[:2]] == ["+ a", "+ b"]
    assert [i.name for i in api.list()] == ["a", "b"]


def test_apply_a_multi_document_file(api, tmp_path, capsys):
    path = write(tmp_path, FILE + "---\n- {name: third, src: 10.0.0.3, dst: 10.0.0.4, rate_bps: 1M}\n")
    assert run(capsys, "apply", "-f", path)[0] == 0
    assert sorted(i.name for i in api.list()) == ["bulk", "third", "web"]


@pytest.mark.parametrize("suffix", ["/te/v1", "/te/v1/", "/", ""])
def test_controller_url_with_or_without_the_api_prefix(api, capsys, monkeypatch, suffix):
    import os
    base = os.environ["TE_CONTROLLER"]
    api.create({"src": "10.0.0.1", "dst": "10.0.0.2", "rate_bps": 1e6, "name": "web"})
    assert run(capsys, "--controller", base + suffix, "list")[0] == 0
    monkeypatch.setenv("TE_CONTROLLER", base + suffix)
    assert run(capsys, "show", "web")[0] == 0
    assert {path for _, path in api.seen} == {"/te/v1/intents", "/te/v1/allocations", "/te/v1/topology"}


@pytest.mark.parametrize("text", [
    "[" * 5000 + "]" * 5000,
    "- {name: a, src: 10.0.0.1, dst: 10.0.0.2, rate_bps: 1" + "0" * 400 + "}",
    "- {name: a, src: 10.0.0.1, dst: 10.0.0.2, rate_bps: 1M, weight: 1" + "0" * 400 + "}",
    "- {name: a, src: 10.0.0.1, dst: 10.0.0.2, rate_bps: 1M, priority: " + "9" * 5000 + "}",
    "- {name: a, src: 10.0.0.1, dst: 10.0.0.2, rate_bps: 1e400}",
    "- {name: a, src: 10.0.0.1, dst: 10.0.0.2, rate_bps: 1M, 1: x, 2.5: y, null: z}",
    '- {name: "a\\nb", src: 10.0.0.1, dst: 10.0.0.1, rate_bps: 1M}',
    "- {name: a, src: 10.0.0.1, dst: 10.0.0.2, rate_bps: 1M, match: !!set {a}}",
    "\t- x",
])
def test_hostile_files_are_one_line_usage_errors(api, tmp_path, capsys, text):
    assert_usage_error(*run(capsys, "apply", "-f", write(tmp_path, text)), "te-intent: error: ")
    assert api.seen == []


def test_closed_standard_input_is_a_usage_error(api, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", None)
    assert_usage_error(*run(capsys, "apply", "-f", "-"), "cannot read standard input: it is closed")


def test_an_empty_directory_is_refused_not_pruned_to_nothing(api, tmp_path, capsys):
    api.create({"src": "10.0.0.1", "dst": "10.0.0.2", "rate_bps": 1e6, "name": "web"})
    assert_usage_error(*run(capsys, "apply", "-f", str(tmp_path), "--prune"), "no *.yaml, *.yml or *.json file")
    assert len(api) == 1 and api.seen == []


@pytest.mark.parametrize("argv, message", [
    (["add", "--src", "10.0.0.1", "--dst", "10.0.0.2", "--rate", "1M", "--proto", "-1"],
     "te-intent: error: --proto: ip_proto must be an integer from 0 to 255, not -1\n"),
    (["add", "--src", "10.0.0.1", "--dst", "10.0.0.2", "--rate", "1M", "--proto", "sctp"],
     "te-intent: error: argument --proto: not a protocol: 'sctp' (tcp, udp, icmp or a number)"),
])
def test_bad_protocols_name_the_proto_option(api, capsys, argv, message):
    assert_usage_error(*run(capsys, *argv), message)


def test_a_protocol_out_of_range_in_a_file_names_the_match_field(api, tmp_path, capsys):
    path = write(tmp_path, "- {name: a, src: 10.0.0.1, dst: 10.0.0.2, rate_bps: 1M, match: {ip_proto: 300}}\n")
    assert_usage_error(*run(capsys, "apply", "-f", path),
                       f"{path}: intent #1 (a): match.ip_proto must be an integer from 0 to 255, not 300\n")


@pytest.mark.parametrize("answer", [b"[]", b'{"intents": {}, "allocations": {}}', b'{"intents": [1], "allocations": [1]}',
                                    b'"text"'])
def test_a_server_answering_other_json_is_refused_not_a_traceback(capsys, answer):
    class OtherJson(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), OtherJson)
    threading.Thread(target=httpd.serve_forever, args=(0.02,), daemon=True).start()
    url = f"http://127.0.0.1:{httpd.server_address[1]}"
    try:
        results = [run(capsys, "--controller", url, *argv) for argv in (["list"], ["show", "a"], ["allocations"])]
    finally:
        httpd.shutdown()
        httpd.server_close()
    for status, _, err in results:
        assert status == 1 and len(err.splitlines()) == 1 and "please report" not in err, err
    assert results[0][2] == "te-intent: error: the controller answered GET /te/v1/intents with JSON that is not a list of intents\n"
