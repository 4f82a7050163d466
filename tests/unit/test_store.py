"""IntentStore on real SQLite files: round trips, order, restore into a registry, bad files."""
import sqlite3

import pytest

from controller.intents import IntentRegistry, parse_intent
from controller.store import SCHEMA_VERSION, IntentStore, StoreError


def intent(id, rate=1e6, name=None, **extra):
    body = {"src": "10.0.0.1", "dst": "10.0.0.2", "rate_bps": rate, **extra}
    if name:
        body["name"] = name
    return parse_intent(body, id)


def test_round_trip_keeps_every_field_and_the_creation_order(tmp_path):
    path = tmp_path / "intents.sqlite3"
    a = intent("1", 4e6, "web", priority=3, weight=2.5, match={"ip_proto": 6, "tp_dst": 80})
    b = intent("2", 1e6)
    c = intent("10", 2e6, "bulk")
    with IntentStore(path) as store:
        for i in (a, b, c):
            store.save(i)
        newer = parse_intent({"src": "10.0.0.1", "dst": "10.0.0.3", "rate_bps": 5e6, "name": "web"}, "1", version=2)
        store.save(newer)  # a replaced intent keeps its place
    assert IntentStore(path).load() == [newer, b, c]


def test_delete_and_replace_all(tmp_path):
    store = IntentStore(tmp_path / "s.db")
    store.save(intent("1"))
    store.save(intent("2"))
    store.delete("1")
    store.delete("missing")  # nothing to do, no error
    assert [i.id for i in store.load()] == ["2"]
    store.replace_all([intent("7"), intent("3")])
    assert [i.id for i in store.load()] == ["7", "3"]


def test_restart_restores_the_registry_with_ids_and_versions(tmp_path):
    path = tmp_path / "s.db"
    registry, store = IntentRegistry(), IntentStore(path)
    for body in ({"src": "10.0.0.1", "dst": "10.0.0.2", "rate_bps": 1e6, "name": "a"},
                 {"src": "10.0.0.3", "dst": "10.0.0.4", "rate_bps": 2e6}):
        store.save(registry.create(body))
    store.save(registry.replace("1", {"src": "10.0.0.1", "dst": "10.0.0.2", "rate_bps": 3e6, "name": "a"}))
    store.close()

    restored = IntentRegistry()
    restored.restore(IntentStore(path).load())
    assert restored.list() == registry.list()
    assert restored.create({"src": "10.0.0.5", "dst": "10.0.0.6", "rate_bps": 1e6}).id == "3"


def test_missing_directories_are_created_and_the_file_uses_wal(tmp_path):
    path = tmp_path / "var" / "lib" / "sdn-te" / "intents.sqlite3"
    IntentStore(path).close()
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert db.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]


def test_a_file_that_is_not_sqlite_is_a_clear_error(tmp_path):
    path = tmp_path / "intents.sqlite3"
    path.write_bytes(b"this is not a database, it is a shopping list\n" * 100)
    with pytest.raises(StoreError, match=r"is not a usable intent store \(file is not a database\); move it away"):
        IntentStore(path)


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
        store.save(intent("4"))
    with sqlite3.connect(path) as db:
        db.execute("UPDATE intents SET request = '{\"src\": \"10.0.0.1\"}'")
    with pytest.raises(StoreError, match="stored intent 4 is unreadable: missing field dst"):
        IntentStore(path).load()


def test_an_unwritable_place_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(StoreError, match="cannot open the intent store"):
        IntentStore(blocker / "intents.sqlite3")


def test_a_failed_write_changes_nothing(tmp_path):
    store = IntentStore(tmp_path / "s.db")
    store.save(intent("1"))
    with pytest.raises(StoreError):
        store.replace_all([intent("2"), intent("2")])  # duplicate id: the whole transaction rolls back
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
