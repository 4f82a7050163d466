"""The main file of the intent store alone holds every committed intent, whatever happens to the files beside it.

Earlier versions ran SQLite in WAL mode and never checkpointed: after a SIGTERM of the controller every intent was
only in ``intents.sqlite3-wal``, so a copy of the documented file, or a lost ``-wal``, started the controller with
no intents and no warning.
"""
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

from controller.store import IntentStore
from test_store import good_store, intent, old_version_store

REPO = Path(__file__).resolve().parents[2]

# A controller that commits intents and is then killed: the process ends without closing the store.
KILLED_AFTER_COMMITS = r"""
import os, sys
from controller.intents import parse_intent
from controller.store import IntentStore
store = IntentStore(sys.argv[1])
for i in range(1, 4):
    store.apply(saved=[parse_intent({"src": "10.0.0.1", "dst": "10.0.0.2", "rate_bps": 1e6 * i}, str(i))],
                next_id=i + 1)
os._exit(0)
"""


def journal_mode(path):
    db = sqlite3.connect(path)
    try:
        return db.execute("PRAGMA journal_mode").fetchone()[0]
    finally:
        db.close()


def test_a_copy_of_the_main_file_of_an_open_store_holds_every_committed_intent(tmp_path):
    path = tmp_path / "live" / "intents.sqlite3"
    store = IntentStore(path)
    store.apply(saved=[intent("1"), intent("2")], next_id=3)
    store.apply(saved=[intent("3")], deleted=["1"], next_id=4)
    assert sorted(p.name for p in path.parent.iterdir()) == ["intents.sqlite3"]  # nothing beside it to lose
    copy = tmp_path / "copy.sqlite3"
    shutil.copyfile(path, copy)
    with IntentStore(copy) as restored:
        assert [i.id for i in restored.load()] == ["2", "3"] and restored.next_id() == 4
    store.close()


def test_a_controller_killed_after_its_commits_loses_nothing_even_without_the_files_beside_the_store(tmp_path):
    path = tmp_path / "intents.sqlite3"
    subprocess.run([sys.executable, "-c", KILLED_AFTER_COMMITS, str(path)], check=True, cwd=REPO)
    for side in path.parent.glob("intents.sqlite3-*"):  # -wal, -shm, -journal: lost, deleted or not copied
        side.unlink()
    with IntentStore(path) as store:
        assert [i.id for i in store.load()] == ["1", "2", "3"] and store.next_id() == 4


def test_an_older_versions_store_is_moved_into_its_main_file_on_open(tmp_path):
    path = tmp_path / "intents.sqlite3"
    old_version_store(path, ["1", "2", "5"])
    with IntentStore(path) as store:
        assert [i.id for i in store.load()] == ["1", "2", "5"] and store.next_id() == 6
        assert sorted(p.name for p in tmp_path.iterdir()) == ["intents.sqlite3"]
    assert journal_mode(path) == "delete"
    copy = tmp_path / "copy.sqlite3"
    shutil.copyfile(path, copy)
    assert [i.id for i in IntentStore(copy).load()] == ["1", "2", "5"]


def test_close_twice_is_fine_and_leaves_only_the_main_file(tmp_path):
    path = tmp_path / "intents.sqlite3"
    good_store(path)
    store = IntentStore(path)
    store.close()
    store.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["intents.sqlite3"]
    assert [i.id for i in IntentStore(path, read_only=True).load()] == ["1", "2", "3"]
