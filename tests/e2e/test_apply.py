"""POST /te/v1/apply and ``te-intent apply`` against a real controller: all or nothing, also on the switches.

On a running B4 (Mininet, OVS), an apply with one bad intent among good changes (an update, a create and a
prune) is refused naming the intent and field, and leaves the intents and every flow, group and meter as
they were; the same file without the bad intent then changes them (so the comparison would notice). A
prune of intents nobody owns is refused, or deletes nothing. Without Mininet: ETag and If-Match over real
HTTP, the export and re-apply of ``te-intent get -o yaml``, and labels across a restart.

Every answer of the REST API is checked against ``controller/openapi.yaml`` (:class:`topologies.lab.Api`).
"""
import json
import subprocess
import sys
import time

import pytest
import requests
import yaml

from topologies import lab
from topologies.b4 import B4Topo
from topologies.lab import REPO, Controller

INTENTS = """
owner: e2e
intents:
  - {name: web, src: 10.0.0.1, dst: 10.0.0.12, rate_bps: 4M, match: {ip_proto: 6, tp_dst: 80}}
  - {name: bulk, src: 10.0.0.2, dst: 10.0.0.11, rate_bps: 6M, priority: 1}
  - {name: backup, src: 10.0.0.4, dst: 10.0.0.9, rate_bps: 2.5M, weight: 2}
"""
# bulk changes, backup goes (pruned), new comes, and far names a host B4 does not have.
CHANGED = """
owner: e2e
intents:
  - {name: web, src: 10.0.0.1, dst: 10.0.0.12, rate_bps: 4M, match: {ip_proto: 6, tp_dst: 80}}
  - {name: bulk, src: 10.0.0.2, dst: 10.0.0.11, rate_bps: 8M, priority: 1}
  - {name: new, src: 10.0.0.5, dst: 10.0.0.10, rate_bps: 2M}
"""
FAR = "  - {name: far, src: 10.0.0.6, dst: 10.0.0.99, rate_bps: 1M}\n"


def cli(controller: Controller, *argv, check=None):
    result = subprocess.run([sys.executable, "-m", "controller.client.intent_cli", *argv], cwd=REPO, capture_output=True,
                            text=True, timeout=60,
                            env={"TE_CONTROLLER": controller.api_url.removesuffix("/te/v1"), "PATH": "/usr/bin:/bin"})
    if check is not None:
        assert result.returncode == check, f"exit {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    return result


def intents(setup) -> list:
    return setup.api.call("GET", "/intents", expect=200).json()["intents"]


def last_install(setup) -> dict:
    return setup.api.call("GET", "/allocations", expect=200).json()["solve"]["last_install"]


def settled(setup) -> tuple:
    """Once every intent is on the switches: ``(switch tables, last install)``."""
    lab.wait_allocations(setup, [i["id"] for i in intents(setup)])
    return lab.switch_tables(setup.bridge_names), last_install(setup)


def test_an_apply_with_one_bad_intent_changes_nothing_on_the_switches(network, artifacts):
    setup = network(B4Topo(bw=10))
    lab.wait_full_reachability(setup.net, deadline_s=60)
    good, bad = artifacts / "intents.yaml", artifacts / "bad.yaml"
    good.write_text(INTENTS)
    out = cli(setup.controller, "apply", "-f", str(good), check=0).stdout
    assert out.splitlines()[-1] == "3 created, 0 changed, 0 deleted, 0 unchanged"
    setup.api.post_intent(name="adhoc", src="10.0.0.3", dst="10.0.0.7", rate_bps=1e6)  # over REST: no owner
    before_intents = intents(setup)
    assert [(i["name"], i["labels"].get("owner")) for i in before_intents] == [
        ("web", "e2e"), ("bulk", "e2e"), ("backup", "e2e"), ("adhoc", None)]
    before, sent = settled(setup)

    bad.write_text(CHANGED + FAR)
    dry = cli(setup.controller, "apply", "-f", str(bad), "--prune", "--dry-run", check=1)
    refused = cli(setup.controller, "apply", "-f", str(bad), "--prune", check=1)
    for result in (dry, refused):
        assert result.stdout == "" and "Traceback" not in result.stderr
        assert result.stderr.startswith("te-intent: error: the controller refused POST /te/v1/apply (400): "
                                        "intents[3] (far): dst 10.0.0.99 is not a known host (field intents[3].dst)")
        assert result.stderr.endswith("; nothing was changed\n")
    body = {"owner": "e2e", "prune": True, "intents": [
        {"name": "bulk", "src": "10.0.0.2", "dst": "10.0.0.11", "rate_bps": 8e6, "priority": 1},
        {"name": "far", "src": "10.0.0.6", "dst": "10.0.0.99", "rate_bps": 1e6}]}
    r = setup.api.call("POST", "/apply", body, expect=400)
    assert r.json()["field"] == "intents[1].dst"
    # The same traffic twice in the resulting set: 409, naming the second.
    web = {"name": "web", "src": "10.0.0.1", "dst": "10.0.0.12", "rate_bps": 4e6, "match": {"ip_proto": 6, "tp_dst": 80}}
    r = setup.api.call("POST", "/apply", {"owner": "e2e", "intents": [web, web | {"name": "twin", "rate_bps": 1e6}]},
                       expect=409)
    assert r.json()["field"] == "intents[1].match"

    assert intents(setup) == before_intents
    time.sleep(2)  # time enough for a wrongly woken TE loop to reach the switches
    assert settled(setup) == (before, sent)

    # Without the bad intent the same file is applied, in full: the switches do change.
    good.write_text(CHANGED)
    out = cli(setup.controller, "apply", "-f", str(good), "--prune", check=0).stdout
    assert "~ bulk (id 2): rate_bps: 6 Mbit/s -> 8 Mbit/s" in out and "- backup (id 3)" in out
    assert out.splitlines()[-2:] == ["1 created, 1 changed, 1 deleted, 1 unchanged",
                                     "not in the file but not owned by e2e, left alone: 4 (adhoc)"]
    assert [(i["name"], i["version"]) for i in intents(setup)] == [("web", 1), ("bulk", 2), ("adhoc", 1), ("new", 1)]
    after, _ = settled(setup)
    assert after != before


def test_prune_without_ownership_is_refused_and_deletes_nothing(network, artifacts):
    setup = network(B4Topo(bw=10))
    lab.wait_full_reachability(setup.net, deadline_s=60)
    setup.api.post_intent(name="video", src="10.0.0.1", dst="10.0.0.12", rate_bps=4e6)
    cli(setup.controller, "add", "--name", "adhoc", "--src", "10.0.0.3", "--dst", "10.0.0.7", "--rate", "1M", check=0)
    before_intents = intents(setup)
    before, sent = settled(setup)

    r = setup.api.call("POST", "/apply", {"intents": [], "prune": True}, expect=400)
    assert r.json()["field"] == "prune" and "needs an owner or a selector" in r.json()["error"]
    r = setup.api.call("POST", "/apply", {"intents": [], "prune": True, "owner": "te-intent"}, expect=400)
    assert r.json()["field"] == "intents" and "all: true" in r.json()["error"]

    empty = artifacts / "empty.yaml"
    empty.write_text("")
    refused = cli(setup.controller, "apply", "-f", str(empty), "--prune", check=2)
    assert "names no intents" in refused.stderr and "--all" in refused.stderr
    # Confirmed with --all, the prune may delete only te-intent's own intents: there are none.
    out = cli(setup.controller, "apply", "-f", str(empty), "--prune", "--all", check=0).stdout
    assert out.splitlines() == ["0 created, 0 changed, 0 deleted, 0 unchanged",
                                "not in the file but not owned by te-intent, left alone: 1 (video), 2 (adhoc)"]
    # Nor would a file of another owner, truncated to one intent.
    partial = artifacts / "partial.yaml"
    partial.write_text("owner: team-a\nintents:\n  - {name: web, src: 10.0.0.2, dst: 10.0.0.11, rate_bps: 1M}\n")
    out = cli(setup.controller, "apply", "-f", str(partial), "--prune", "--dry-run", check=0).stdout
    assert out.splitlines()[-2:] == ["dry run, nothing changed; would 1 create, 0 change, 0 delete, 0 unchanged",
                                     "not in the file but not owned by team-a, left alone: 1 (video), 2 (adhoc)"]

    assert intents(setup) == before_intents
    time.sleep(2)
    assert settled(setup)[0] == before


# --- without Mininet ------------------------------------------------------------------------------------

@pytest.fixture
def controller(artifacts):
    topo_file = artifacts / "topology.json"
    B4Topo(bw=10).write_topology_file(str(topo_file))
    c = Controller(artifacts, topo_file)
    c.start()
    yield c
    c.stop()
    assert not c.log_problems(), c.log_problems()


def test_etag_and_if_match_over_http(controller):
    api = lab.Api(controller.api_url)
    body = {"name": "web", "src": "10.0.0.1", "dst": "10.0.0.5", "rate_bps": 4e6}
    r = api.call("POST", "/intents", body, expect=201)
    assert r.headers["ETag"] == '"1"'
    assert api.call("GET", "/intents/1", expect=200).headers["ETag"] == '"1"'
    r = api.call("PUT", "/intents/1", body | {"rate_bps": 5e6}, headers={"If-Match": '"1"'}, expect=200)
    assert r.headers["ETag"] == '"2"' and r.json()["version"] == 2
    r = api.call("PUT", "/intents/1", body | {"rate_bps": 6e6}, headers={"If-Match": '"1"'}, expect=412)
    assert r.json()["field"] == "If-Match"
    api.call("DELETE", "/intents/1", headers={"If-Match": '"1"'}, expect=412)
    api.call("DELETE", "/intents/1", headers={"If-Match": "2"}, expect=400)
    assert api.call("GET", "/intents/1", expect=200).json()["rate_bps"] == 5e6
    api.call("DELETE", "/intents/1", headers={"If-Match": '"2"'}, expect=204)


def test_export_and_apply_round_trip_and_labels_survive_a_restart(controller, artifacts):
    intents_file = artifacts / "intents.yaml"
    intents_file.write_text(INTENTS)
    cli(controller, "apply", "-f", str(intents_file), check=0)
    cli(controller, "add", "--name", "adhoc", "--src", "10.0.0.3", "--dst", "10.0.0.7", "--rate", "1M",
        "--label", "team=ops", check=0)
    exported = cli(controller, "get", "-o", "yaml", check=0).stdout
    document = yaml.safe_load(exported)
    assert [i["name"] for i in document["intents"]] == ["web", "bulk", "backup", "adhoc"]
    assert all(i["version"] == 1 for i in document["intents"])
    path = artifacts / "exported.yaml"
    path.write_text(exported)
    out = cli(controller, "apply", "-f", str(path), "--prune", check=0).stdout
    assert out.splitlines()[-1] == "0 created, 0 changed, 0 deleted, 4 unchanged"

    before = requests.get(controller.api_url + "/intents", timeout=5).json()
    controller.restart()
    assert requests.get(controller.api_url + "/intents", timeout=5).json() == before
    assert {i["name"]: i["labels"] for i in before["intents"]} == {
        "web": {"owner": "e2e"}, "bulk": {"owner": "e2e"}, "backup": {"owner": "e2e"}, "adhoc": {"team": "ops"}}
    # A change since the export: applying the exported file would undo it, and is refused.
    lab.Api(controller.api_url).call("PUT", "/intents/2", {
        "name": "bulk", "src": "10.0.0.2", "dst": "10.0.0.11", "rate_bps": 9e6, "labels": {"owner": "e2e"}}, expect=200)
    refused = cli(controller, "apply", "-f", str(path), check=1)
    assert "(412)" in refused.stderr and "intents[1] (bulk)" in refused.stderr
    assert json.loads(cli(controller, "show", "bulk", "--json", check=0).stdout)["intent"]["rate_bps"] == 9e6
