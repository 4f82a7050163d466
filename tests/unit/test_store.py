"""IntentStore on real SQLite files: round trips, order, restore into a registry, refused files, read-only stores."""
import dataclasses
import json
import os
import re
import sqlite3
import subprocess
import sys

import pytest

import controller.store
from controller.intents import IntentRegistry, parse_intent
from controller.store import SCHEMA_VERSION, IntentStore, StoreError

RESTORE_OR_MOVE = "; restore it from a backup, or move it away to start with no intents"

# What the WAL-mode store of earlier versions left behind when the controller was stopped with SIGTERM (the
# process ends without closing the database): the main file holds only SQLite's header page, every intent is
# in PATH-wal.
OLD_VERSION = r"""
import json, os, sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("PRAGMA journal_mode=WAL")
db.executescript('''
CREATE TABLE schema_version (version INTEGER NOT NULL);
INSERT INTO schema_version (version) VALUES (1);
CREATE TABLE intents (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, version INTEGER NOT NULL,
                      request TEXT NOT NULL);
CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
''')
ids = json.loads(sys.argv[2])
for i in ids:
    db.execute("INSERT INTO intents (id, version, request) VALUES (?, 1, ?)",
               (i, json.dumps({"src": "10.0.0.1", "dst": "10.0.0.2", "rate_bps": 1e6 * int(i)})))
db.execute("INSERT INTO meta (key, value) VALUES ('next_id', ?)", (max(map(int, ids)) + 1,))
os._exit(0)
"""


def intent(id, rate=1e6, name=None, **extra):
    body = {"src": "10.0.0.1", "dst": "10.0.0.2", "rate_bps": rate, **extra}
    if name:
        body["name"] = name
    return parse_intent(body, id)


def old_version_store(path, ids=("1", "2", "3")):
    """Write ``ids`` as the WAL-mode version did and end the process without closing, as SIGTERM does."""
    subprocess.run([sys.executable, "-c", OLD_VERSION, str(path), json.dumps(list(ids))], check=True)
    assert path.stat().st_size == 4096 and path.with_name(path.name + "-wal").exists()


def good_store(path, n=3):
    with IntentStore(path) as store:
        store.apply(saved=[intent(str(i), 1e6 * i) for i in range(1, n + 1)], next_id=n + 1)
    return path.read_bytes()


def files_in(directory):
    return {p.name: p.read_bytes() for p in directory.iterdir()}


def test_round_trip_keeps_every_field_and_the_creation_order(tmp_path):
    path = tmp_path / "intents.sqlite3"
    a = intent("1", 4e6, "web", priority=3, weight=2.5, match={"ip_proto": 6, "tp_dst": 80})
    b = intent("2", 1e6)
    c = intent("10", 2e6, "bulk")
    with IntentStore(path) as store:
        store.apply(saved=[a, b])
        store.apply(saved=[c])
        newer = parse_intent({"src": "10.0.0.1", "dst": "10.0.0.3", "rate_bps": 5e6, "name": "web"}, "1", version=2)
        store.apply(saved=[newer])  # a replaced intent keeps its place
    assert IntentStore(path).load() == [newer, b, c]


def test_deleting_forgets_the_intent_and_an_unknown_id_is_no_error(tmp_path):
    store = IntentStore(tmp_path / "s.db")
    store.apply(saved=[intent("1"), intent("2")])
    store.apply(deleted=["1", "missing"])
    assert [i.id for i in store.load()] == ["2"]


def test_a_new_store_gets_its_directories_and_a_rollback_journal(tmp_path):
    path = tmp_path / "var" / "lib" / "sdn-te" / "intents.sqlite3"
    IntentStore(path).close()
    assert sorted(os.listdir(path.parent)) == ["intents.sqlite3"]  # nothing left aside while it was made
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA journal_mode").fetchone() == ("delete",)
    assert db.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]


def test_another_programs_database_is_refused(tmp_path):
    path = tmp_path / "other.db"
    sqlite3.connect(path).execute("CREATE TABLE customers (id INTEGER)")
    with pytest.raises(StoreError, match="SQLite file of something else"):
        IntentStore(path)


def test_a_newer_schema_is_refused(tmp_path):
    path = tmp_path / "s.db"
    IntentStore(path).close()
    with sqlite3.connect(path) as db:
        db.execute("UPDATE schema_version SET version = 99")
    with pytest.raises(StoreError, match="schema version 99; this controller reads version 1"):
        IntentStore(path)


def test_an_unreadable_row_names_the_intent(tmp_path):
    path = tmp_path / "s.db"
    with IntentStore(path) as store:
        store.apply(saved=[intent("4")])
    with sqlite3.connect(path) as db:
        db.execute("UPDATE intents SET request = '{\"src\": \"10.0.0.1\"}'")
    with pytest.raises(StoreError, match="stored intent 4 is unreadable: missing field dst"):
        IntentStore(path).load()


def test_an_unwritable_place_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(StoreError, match="cannot create the intent store .*/file/intents.sqlite3: "):
        IntentStore(blocker / "intents.sqlite3")


def test_a_failed_write_changes_nothing(tmp_path):
    store = IntentStore(tmp_path / "s.db")
    store.apply(saved=[intent("1")])
    with pytest.raises(StoreError, match="NOT NULL constraint failed"):  # the whole transaction rolls back
        store.apply(saved=[intent("2"), dataclasses.replace(intent("3"), id=None)], deleted=["1"])
    assert [i.id for i in store.load()] == ["1"]


def test_apply_is_one_transaction_and_keeps_the_next_id(tmp_path):
    path = tmp_path / "s.db"
    with IntentStore(path) as store:
        assert store.next_id() is None
        store.apply(saved=[intent("1"), intent("2")], next_id=3)
        store.apply(deleted=["1"], next_id=None)
        with pytest.raises(ValueError):  # fails after the save and the delete: neither happens
            store.apply(saved=[intent("9")], deleted=["2"], next_id="not a number")
    with IntentStore(path) as store:
        assert [i.id for i in store.load()] == ["2"] and store.next_id() == 3


def test_registry_writes_through_the_store_and_never_reuses_an_id_after_a_restart(tmp_path):
    path = tmp_path / "s.db"
    with IntentStore(path) as store:
        registry = IntentRegistry(persist=store.apply)
        registry.create({"src": "10.0.0.1", "dst": "10.0.0.2", "rate_bps": 1e6})
        registry.create({"src": "10.0.0.3", "dst": "10.0.0.4", "rate_bps": 1e6})
        registry.replace("1", {"src": "10.0.0.1", "dst": "10.0.0.2", "rate_bps": 2e6})
        registry.delete("2")
    with IntentStore(path) as store:
        restored = IntentRegistry(persist=store.apply)
        restored.restore(store.load(), store.next_id())
        assert restored.list() == registry.list() and restored.list()[0].version == 2
        assert restored.create({"src": "10.0.0.5", "dst": "10.0.0.6", "rate_bps": 1e6}).id == "3"


def test_a_change_the_store_refuses_is_not_made():
    def broken(**change):
        raise StoreError("intent store /x: disk I/O error")

    registry = IntentRegistry()
    kept = registry.create({"src": "10.0.0.1", "dst": "10.0.0.2", "rate_bps": 1e6})
    registry._persist = broken
    for change in (lambda: registry.create({"src": "10.0.0.3", "dst": "10.0.0.2", "rate_bps": 1e6}),
                   lambda: registry.replace("1", {"src": "10.0.0.1", "dst": "10.0.0.2", "rate_bps": 5e6}),
                   lambda: registry.delete("1")):
        with pytest.raises(StoreError):
            change()
    assert registry.list() == [kept] and registry.generation == 1 and registry.next_id == 2


# --- a file that exists but whose intents are gone is refused, never read as "no intents" ---------------------

def _empty(path):
    path.write_bytes(b"")


def _zeros(path):
    path.write_bytes(bytes(len(good_store(path))))


def _text(path):
    path.write_bytes(b"this is not a database, it is a shopping list\n" * 100)


def _cut_in_a_page(path):
    path.write_bytes(good_store(path)[:-1000])


def _cut_at_a_page(path):
    path.write_bytes(good_store(path)[:4096])


def _zeros_after_the_header_page(path):
    data = good_store(path)
    path.write_bytes(data[:4096] + bytes(len(data) - 4096))


def _cells_past_the_end_of_the_intents_page(path):
    data = bytearray(good_store(path))
    page = sqlite3.connect(path).execute("SELECT rootpage FROM sqlite_master WHERE name = 'intents'").fetchone()[0]
    header = (page - 1) * 4096  # a leaf table page: its number of cells is at bytes 3-4 of the page header
    data[header + 3:header + 5] = (200).to_bytes(2, "big")
    path.write_bytes(data)


def _no_tables(path):
    sqlite3.connect(path).execute("PRAGMA user_version = 7")  # a valid SQLite file of one page, no schema
    assert path.stat().st_size == 4096


def _old_version_without_its_wal(path):
    old_version_store(path)
    for side in ("-wal", "-shm"):
        path.with_name(path.name + side).unlink()


def _old_version_main_file_copied_alone(path):
    old_version_store(path)
    data = path.read_bytes()
    for p in path.parent.iterdir():
        p.unlink()
    path.write_bytes(data)


def _old_version_emptied_beside_its_wal(path):
    old_version_store(path)
    path.write_bytes(b"")  # SQLite would read this as a new database and delete the -wal


def _old_version_zeroed_beside_its_wal(path):
    old_version_store(path)
    path.write_bytes(bytes(4096))


REFUSED = {
    _empty: r"is empty \(0 bytes\), not an intent store",
    _zeros: r"is not an SQLite file \(its header is all zeros\)",
    _text: r"is not an SQLite file \(no SQLite header\)",
    _cut_in_a_page: r"is truncated \(\d+ bytes, not a whole number of 4096-byte pages\)",
    _cut_at_a_page: r"is damaged \(database disk image is malformed\)",
    _zeros_after_the_header_page: r"is damaged \(",
    _cells_past_the_end_of_the_intents_page: r"is damaged \(quick_check: \*\*\* in database main \*\*\* On tree "
                                             r"page \d+ cell 199: Offset 0 out of range",
    _no_tables: r"holds no tables, so no intents",
    _old_version_without_its_wal: r"holds no tables, so no intents: it is in WAL mode, and an older version kept "
                                  r"them in intents.sqlite3-wal, which is missing or damaged",
    _old_version_main_file_copied_alone: r"holds no tables, so no intents: it is in WAL mode",
    _old_version_emptied_beside_its_wal: r"is empty \(0 bytes\), not an intent store",
    _old_version_zeroed_beside_its_wal: r"is not an SQLite file \(its header is all zeros\)",
}


@pytest.mark.parametrize("damage", REFUSED, ids=lambda f: f.__name__.strip("_"))
@pytest.mark.parametrize("read_only", [False, True], ids=["read-write", "read-only"])
def test_a_store_whose_intents_are_gone_is_refused_with_one_line_and_left_as_it_is(tmp_path, damage, read_only):
    path = tmp_path / "intents.sqlite3"
    damage(path)
    before = files_in(tmp_path)
    with pytest.raises(StoreError) as refused:
        IntentStore(path, read_only=read_only)
    message = str(refused.value)
    assert message.startswith(f"{path} ") and message.endswith(RESTORE_OR_MOVE) and "\n" not in message
    assert re.search(REFUSED[damage], message), message
    # The evidence is kept for whoever restores it. (Reading a WAL-mode file read-only may leave an empty
    # -wal and its index beside it: SQLite makes them to read, and only a writer removes them.)
    after = files_in(tmp_path)
    assert {name: after[name] for name in before} == before
    assert all(name.endswith(("-wal", "-shm")) and read_only for name in after.keys() - before.keys())


def test_a_missing_file_beside_a_wal_is_refused_not_made_anew(tmp_path):
    path = tmp_path / "intents.sqlite3"
    old_version_store(path)
    path.unlink()
    before = files_in(tmp_path)
    with pytest.raises(StoreError) as refused:
        IntentStore(path)
    assert str(refused.value) == (f"{path} is missing, but its write-ahead log {path}-wal is there; restore the "
                                  f"file from a backup, or move the -wal away to start with no intents")
    assert files_in(tmp_path) == before


def test_a_missing_file_opened_read_only_is_an_error_and_is_not_created(tmp_path):
    path = tmp_path / "intents.sqlite3"
    with pytest.raises(StoreError, match=f"^intent store {path} does not exist$"):
        IntentStore(path, read_only=True)
    assert not path.exists()


# --- a store that cannot be written is announced at start -------------------------------------------------------

READ_ONLY_WARNING = "intent store {} is read-only ({}): intents can be read, but every change will be refused with 503"


def test_a_writable_store_says_so(tmp_path):
    with IntentStore(tmp_path / "s.db") as store:
        assert store.read_only is False and store.warning is None


def test_a_store_opened_read_only_reads_and_refuses_changes_without_touching_the_file(tmp_path):
    path = tmp_path / "s.db"
    good_store(path)
    before = files_in(tmp_path)
    with IntentStore(path, read_only=True) as store:
        assert store.read_only is True and store.warning is None  # asked for: nothing to warn about
        assert [i.id for i in store.load()] == ["1", "2", "3"] and store.next_id() == 4
        with pytest.raises(StoreError, match=f"^intent store {path}: attempt to write a readonly database$"):
            store.apply(saved=[intent("9")], next_id=10)
    assert files_in(tmp_path) == before


def test_a_store_sqlite_can_only_read_is_announced_and_refuses_changes(tmp_path, monkeypatch):
    path = tmp_path / "s.db"
    good_store(path)
    connect = controller.store._connect
    # As when the file, its directory or the mount is read-only (root writes past permission bits).
    monkeypatch.setattr(controller.store, "_connect", lambda p, mode: connect(p, "ro"))
    with IntentStore(path) as store:
        assert store.read_only is True
        assert store.warning == READ_ONLY_WARNING.format(path, "attempt to write a readonly database")
        assert len(store.load()) == 3
        with pytest.raises(StoreError, match="attempt to write a readonly database"):
            store.apply(deleted=["1"])
    monkeypatch.undo()
    assert len(IntentStore(path).load()) == 3


@pytest.fixture
def immutable():
    """chattr +i: even root cannot write the file, or create files in the directory."""
    made = []

    def make(path):
        if subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode != 0:
            pytest.skip("chattr +i is not available here")
        made.append(path)

    yield make
    for path in made:
        subprocess.run(["chattr", "-i", str(path)], check=True)


@pytest.mark.parametrize("what, reason", [("file", "attempt to write a readonly database"),
                                          ("directory", "unable to open database file")])
def test_an_immutable_file_or_directory_is_announced_as_read_only(tmp_path, immutable, what, reason):
    path = tmp_path / "s.db"
    good_store(path)
    immutable(path if what == "file" else tmp_path)
    with IntentStore(path) as store:
        assert store.read_only is True and store.warning == READ_ONLY_WARNING.format(path, reason)
        assert len(store.load()) == 3
        with pytest.raises(StoreError):
            store.apply(saved=[intent("9")])


def test_an_older_versions_store_that_cannot_be_written_is_still_read(tmp_path, immutable):
    path = tmp_path / "s.db"
    old_version_store(path)
    immutable(path)
    with IntentStore(path) as store:
        assert store.read_only is True and [i.id for i in store.load()] == ["1", "2", "3"]
