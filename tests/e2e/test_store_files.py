"""The intent store of a real te-controller survives what operators do to files (no switches needed).

Probes of a hostile tester, rerun: copying the documented file after a clean stop, losing the files
beside it, a zeroed or emptied file, and the documented backup command.
"""
import shutil
import subprocess

import pytest

from topologies import lab
from topologies.b4 import b4_graph
from topologies.base import write_description

INTENTS = [{"src": "10.0.0.1", "dst": "10.0.0.5", "rate_bps": 4e6, "name": "web"},
           {"src": "10.0.0.2", "dst": "10.0.0.6", "rate_bps": 2e6, "priority": 1},
           {"src": "10.0.0.3", "dst": "10.0.0.7", "rate_bps": 1e6, "match": {"ip_proto": 17}}]


def controller(artifacts, name, store):
    folder = artifacts / name
    folder.mkdir()
    write_description(b4_graph(bw=10), folder / "topology.json")
    return lab.Controller(folder, folder / "topology.json", intent_store=store)


def listed(c) -> list:
    return [(i["id"], i["rate_bps"]) for i in lab.Api(c.api_url).call("GET", "/intents", expect=200).json()["intents"]]


@pytest.fixture
def stored(artifacts):
    """A store written by a controller that was then stopped cleanly (SIGTERM); the intents it holds."""
    store = artifacts / "intents.sqlite3"
    c = controller(artifacts, "first", store)
    c.start()
    try:
        for body in INTENTS:
            lab.Api(c.api_url).post_intent(**body)
        want = listed(c)
    finally:
        c.stop()
    assert not c.log_problems(), c.log_problems()
    return store, want


def test_a_copy_of_the_store_file_alone_holds_every_intent(artifacts, stored):
    store, want = stored
    copy = artifacts / "copy.sqlite3"
    shutil.copyfile(store, copy)  # the documented file, nothing beside it
    assert sorted(p.name for p in artifacts.iterdir() if p.name.startswith("intents.sqlite3")) == ["intents.sqlite3"]
    c = controller(artifacts, "second", copy)
    c.start()
    try:
        assert listed(c) == want and len(want) == 3
    finally:
        c.stop()


def test_te_store_backup_of_a_running_controller_is_complete(artifacts, stored):
    store, want = stored
    c = controller(artifacts, "running", store)
    c.start()
    backup = artifacts / "backup.sqlite3"
    try:
        r = subprocess.run([str(lab.REPO / ".venv" / "bin" / "te-store"), "backup", str(store), str(backup)],
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 0 and "3 intents" in r.stdout, r
    finally:
        c.stop()
    restored = controller(artifacts, "restored", backup)
    restored.start()
    try:
        assert listed(restored) == want
    finally:
        restored.stop()


@pytest.mark.parametrize("damage", ["zeroed", "emptied"])
def test_a_store_whose_data_is_gone_is_refused_at_start_in_one_line(artifacts, stored, damage):
    store, _ = stored
    size = store.stat().st_size
    store.write_bytes(b"\0" * size if damage == "zeroed" else b"")
    c = controller(artifacts, "refused", store)
    with pytest.raises(RuntimeError, match="exited"):
        c.start(timeout=20)
    refusal = [line for line in c.log().splitlines() if str(store) in line]
    assert refusal and "restore it from a backup" in refusal[-1], c.log()[-2000:]
    assert "Traceback" not in c.log()
    assert store.stat().st_size == (size if damage == "zeroed" else 0)  # left as it was
