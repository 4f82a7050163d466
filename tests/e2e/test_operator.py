"""te-intent against a real ``ryu-manager`` (controller.app with the B4 topology file, no Mininet).

The hosts 10.0.0.1-12 of the topology file are valid intent endpoints before any switch
connects, so the whole CLI (add, list, show, delete, apply, allocations, errors) runs
against the real REST API. The CLI runs as a subprocess, as an operator would run it.
Intents survive a controller restart (the intent store); applying a file twice changes
nothing, neither in the API nor on the switches of a running B4.
"""
import json
import subprocess
import sys

import pytest
import requests

from topologies import lab
from topologies.lab import REPO, Controller
from topologies.b4 import B4Topo


def cli(controller: Controller, *argv, check=None):
    result = subprocess.run([sys.executable, "-m", "controller.client.intent_cli", *argv], cwd=REPO, capture_output=True,
                            text=True, timeout=60,
                            env={"TE_CONTROLLER": controller.api_url.removesuffix("/te/v1"), "PATH": "/usr/bin:/bin"})
    if check is not None:
        assert result.returncode == check, f"exit {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    return result


def api_problem(controller: Controller) -> str | None:
    try:
        response = requests.get(controller.api_url + "/intents", timeout=5)
    except requests.RequestException as exc:
        return f"the controller does not serve the REST API yet ({exc.__class__.__name__})"
    if response.status_code != 200:
        return f"the controller does not serve /te/v1/intents yet (HTTP {response.status_code})"
    return None


@pytest.fixture
def controller_factory(artifacts):
    """Start controllers with the B4 topology file (and options); all are stopped and their logs checked."""
    topo_file = artifacts / "topology.json"
    B4Topo(bw=10).write_topology_file(str(topo_file))
    started = []

    def start(**options):
        controller = Controller(artifacts, topo_file, **options)
        controller.start()
        started.append(controller)
        problem = api_problem(controller)
        if problem:
            pytest.skip(problem)
        return controller

    yield start
    for controller in started:
        controller.stop()
    problems = [line for c in started for line in c.log_problems()]
    assert not problems, "controller log has errors:\n" + "\n".join(problems[:20])


INTENTS = """
intents:
  - {name: web, src: 10.0.0.1, dst: 10.0.0.12, rate_bps: 4M, match: {ip_proto: 6, tp_dst: 80}}
  - {name: bulk, src: 10.0.0.2, dst: 10.0.0.11, rate_bps: 6M, priority: 1}
  - {name: backup, src: 10.0.0.4, dst: 10.0.0.9, rate_bps: 2.5M, weight: 2}
"""


def test_operator_workflow(controller_factory, artifacts):
    controller = controller_factory()
    intents = artifacts / "intents.yaml"
    intents.write_text(INTENTS)

    # owned by te-intent, as apply marks what it creates: --prune may delete it (an intent without that
    # owner is left alone, tests/e2e/test_apply.py)
    out = cli(controller, "add", "--name", "adhoc", "--src", "10.0.0.3", "--dst", "10.0.0.7", "--rate", "1M",
              "--label", "owner=te-intent", check=0).stdout
    assert out.startswith("created intent 1 (adhoc): 10.0.0.3 -> 10.0.0.7 1 Mbit/s")

    dry = cli(controller, "apply", "-f", str(intents), "--prune", "--dry-run", check=0).stdout
    assert dry.splitlines()[-1] == "dry run, nothing changed; would 3 create, 0 change, 1 delete, 0 unchanged"
    assert [i["name"] for i in json.loads(cli(controller, "list", "--json", check=0).stdout)["intents"]] == ["adhoc"]

    out = cli(controller, "apply", "-f", str(intents), check=0).stdout
    assert out.splitlines()[-2:] == ["3 created, 0 changed, 0 deleted, 0 unchanged",
                                     "not in the file, left alone (use --prune to delete): 1 (adhoc)"]

    intents.write_text(INTENTS.replace("rate_bps: 6M", "rate_bps: 8M"))
    out = cli(controller, "apply", "-f", str(intents), "--prune", check=0).stdout
    assert "~ bulk (id 3): rate_bps: 6 Mbit/s -> 8 Mbit/s" in out and "- adhoc (id 1):" in out
    assert out.splitlines()[-1] == "0 created, 1 changed, 1 deleted, 2 unchanged"

    listed = cli(controller, "list", check=0).stdout.splitlines()
    assert [line.split()[1] for line in listed[1:]] == ["web", "bulk", "backup"]
    shown = cli(controller, "show", "bulk", check=0).stdout
    assert "rate:      8 Mbit/s" in shown and "version:   2" in shown
    table = cli(controller, "allocations", check=0).stdout.splitlines()
    assert table[0].split()[:6] == ["ID", "NAME", "CLASS", "GROUP", "STATE", "REQUESTED"] and len(table) >= 4

    assert cli(controller, "apply", "-f", str(intents), "--prune", check=0).stdout.splitlines()[-1] == \
        "0 created, 0 changed, 0 deleted, 3 unchanged"
    assert cli(controller, "delete", "web", check=0).stdout == "deleted intent 2 (web)\n"


def test_refusals_and_bad_files(controller_factory, artifacts):
    controller = controller_factory()
    unknown = cli(controller, "add", "--src", "10.0.0.1", "--dst", "10.0.0.99", "--rate", "1M", check=1)
    assert unknown.stderr.startswith("te-intent: error: the controller refused POST /te/v1/intents (400): ")
    assert "10.0.0.99" in unknown.stderr and "(field dst)" in unknown.stderr and "Traceback" not in unknown.stderr

    bad = artifacts / "bad.yaml"
    bad.write_text(INTENTS + "  - {name: web, src: 10.0.0.5, dst: 10.0.0.6, rate_bps: 1M}\n")
    result = cli(controller, "apply", "-f", str(bad), check=2)
    assert "name 'web' is already used by intent #1" in result.stderr
    assert json.loads(cli(controller, "list", "--json", check=0).stdout) == {"intents": []}

    cli(controller, "add", "--name", "x", "--src", "10.0.0.1", "--dst", "10.0.0.2", "--rate", "1M", check=0)
    duplicate = cli(controller, "add", "--name", "x", "--src", "10.0.0.3", "--dst", "10.0.0.2", "--rate", "1M", check=1)
    assert "(409)" in duplicate.stderr and "(field name)" in duplicate.stderr

    controller.stop()
    down = cli(controller, "list", check=3)
    assert down.stderr.startswith("te-intent: error: cannot reach the controller at http://127.0.0.1:")


def test_intents_survive_a_restart(controller_factory, artifacts):
    store = artifacts / "state" / "intents.sqlite3"
    controller = controller_factory(intent_store=store)
    intents = artifacts / "intents.yaml"
    intents.write_text(INTENTS)
    cli(controller, "apply", "-f", str(intents), check=0)
    cli(controller, "add", "--src", "10.0.0.5", "--dst", "10.0.0.6", "--rate", "1M", check=0)
    cli(controller, "delete", "web", check=0)
    before = json.loads(cli(controller, "list", "--json", check=0).stdout)["intents"]
    controller.stop()

    restarted = controller_factory(intent_store=store)
    assert json.loads(cli(restarted, "list", "--json", check=0).stdout)["intents"] == before
    out = cli(restarted, "apply", "-f", str(intents), check=0).stdout
    assert out.splitlines()[0].startswith("+ web:")
    assert json.loads(cli(restarted, "show", "web", "--json", check=0).stdout)["intent"]["id"] == "5"


def test_applying_a_file_twice_changes_nothing_on_the_switches(network, artifacts):
    setup = network(B4Topo(bw=10))
    lab.wait_full_reachability(setup.net, deadline_s=60)
    intents = artifacts / "intents.yaml"
    intents.write_text(INTENTS)
    first = cli(setup.controller, "apply", "-f", str(intents), check=0).stdout
    assert first.splitlines()[-1] == "3 created, 0 changed, 0 deleted, 0 unchanged"
    ids = [i["id"] for i in json.loads(cli(setup.controller, "list", "--json", check=0).stdout)["intents"]]
    lab.wait_allocations(setup, ids)
    before = lab.switch_tables(setup.bridge_names)
    sent = lab.api(setup, "GET", "/allocations", expect=200).json()["solve"]["last_install"]

    again = cli(setup.controller, "apply", "-f", str(intents), "--prune", check=0).stdout
    assert again.splitlines()[-1] == "0 created, 0 changed, 0 deleted, 3 unchanged"
    assert [i["version"] for i in json.loads(cli(setup.controller, "list", "--json", check=0).stdout)["intents"]] \
        == [1, 1, 1]
    lab.wait_allocations(setup, ids)
    assert lab.switch_tables(setup.bridge_names) == before
    assert lab.api(setup, "GET", "/allocations", expect=200).json()["solve"]["last_install"] == sent
