"""Accepted intents on disk (SQLite), so that a restarted controller restores them.

The registry (:class:`controller.intents.IntentRegistry`) writes every change through
:meth:`IntentStore.apply` *before* it takes the change itself, so the API answers only
for what is on disk; on start the app restores :meth:`IntentStore.load` and
:meth:`IntentStore.next_id` (ids are never handed out twice, even after a restart). Each
change is one transaction; the database runs in WAL mode, so a crash leaves either the
old or the new state, never half of one. Rows are the API's ``IntentInput`` JSON plus id, version and
creation order, and are validated again on load (with :func:`controller.intents.parse_intent`).
"""
from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path

from controller.intents import INPUT_FIELDS, Intent, IntentError, parse_intent

DEFAULT_PATH = "/var/lib/sdn-te/intents.sqlite3"
SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE schema_version (version INTEGER NOT NULL);
CREATE TABLE intents (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,  -- creation order, kept when an intent is replaced
    id TEXT NOT NULL UNIQUE,
    version INTEGER NOT NULL,
    request TEXT NOT NULL                   -- IntentInput JSON (docs/openapi.yaml)
);
"""
# Added within schema version 1 (no file of an older layout was ever released): created when missing.
_META = "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)"


class StoreError(Exception):
    """The store cannot be opened, read or written; the message names the file and what to do."""


class IntentStore:
    """Intents in the SQLite file at ``path`` (created, with its directory, when missing).

    Examples
    --------
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "sub", "intents.sqlite3")
    >>> store = IntentStore(path)
    >>> store.save(parse_intent({"src": "10.0.0.1", "dst": "10.0.0.2", "rate_bps": 1e6, "name": "web"}, "1"))
    >>> store.save(parse_intent({"src": "10.0.0.3", "dst": "10.0.0.2", "rate_bps": 2e6}, "2"))
    >>> store.delete("1")
    >>> store.close()
    >>> [(i.id, i.rate_bps) for i in IntentStore(path).load()]
    [('2', 2000000.0)]
    """

    def __init__(self, path=DEFAULT_PATH):
        self.path = Path(path)
        # Ryu runs handlers in green threads of one OS thread; the lock keeps a
        # transaction whole if two of them write at once.
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open the intent store {self.path}: {exc}") from None
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            # FULL: an intent the API answered 201 for must survive a power cut, and changes are rare.
            self._db.execute("PRAGMA synchronous=FULL")
            self._prepare()
        except sqlite3.Error as exc:
            self._db.close()
            raise _store_error(self.path, exc) from None
        except StoreError:
            self._db.close()
            raise

    def _prepare(self) -> None:
        with self._transaction():
            tables = {r[0] for r in self._db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            if "schema_version" not in tables:
                if tables - {"sqlite_sequence"}:
                    raise StoreError(f"{self.path} is an SQLite file of something else (tables: "
                                     f"{', '.join(sorted(tables))}); choose another intent store path")
                self._create_schema()
            version = self._db.execute("SELECT version FROM schema_version").fetchone()
            if version is None or version[0] != SCHEMA_VERSION:
                raise StoreError(f"{self.path} has intent store schema version {version and version[0]}; this "
                                 f"controller reads version {SCHEMA_VERSION}")
            self._db.execute(_META)

    def _create_schema(self) -> None:
        for statement in _SCHEMA.split(";"):
            if statement.strip():
                self._db.execute(statement)
        self._db.execute("INSERT INTO schema_version (version) VALUES (?)", (SCHEMA_VERSION,))

    def _transaction(self):
        return _Transaction(self._db, self._lock, self.path)

    def load(self) -> list[Intent]:
        """Every stored intent, in creation order.

        Raises
        ------
        StoreError
            A row that does not hold a valid intent (naming its id).
        """
        with self._transaction():
            rows = self._db.execute("SELECT id, version, request FROM intents ORDER BY seq").fetchall()
        intents = []
        for intent_id, version, request in rows:
            try:
                intents.append(parse_intent(json.loads(request), intent_id, version))
            except (ValueError, IntentError) as exc:
                raise StoreError(f"{self.path}: stored intent {intent_id} is unreadable: {exc}") from None
        return intents

    def next_id(self) -> int | None:
        """The id number the registry hands out next, as last stored (None if never stored)."""
        with self._transaction():
            row = self._db.execute("SELECT value FROM meta WHERE key = 'next_id'").fetchone()
        return None if row is None else int(row[0])

    def apply(self, saved=(), deleted=(), next_id: int | None = None) -> None:
        """Save ``saved`` intents, delete the ids in ``deleted`` and record ``next_id``, in one transaction."""
        with self._transaction():
            self._save(saved)
            self._db.executemany("DELETE FROM intents WHERE id = ?", [(str(i),) for i in deleted])
            if next_id is not None:
                self._db.execute("INSERT INTO meta (key, value) VALUES ('next_id', ?) "
                                 "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (int(next_id),))

    def _save(self, intents) -> None:
        self._db.executemany(
            "INSERT INTO intents (id, version, request) VALUES (?, ?, ?) "
            "ON CONFLICT (id) DO UPDATE SET version = excluded.version, request = excluded.request",
            [(i.id, i.version, _request_json(i)) for i in intents])

    def save(self, intent: Intent) -> None:
        """Insert or replace ``intent`` (by id); a replaced intent keeps its place in the order."""
        with self._transaction():
            self._save([intent])

    def delete(self, intent_id: str) -> None:
        """Forget the intent with ``intent_id`` (nothing happens if there is none)."""
        with self._transaction():
            self._db.execute("DELETE FROM intents WHERE id = ?", (str(intent_id),))

    def replace_all(self, intents) -> None:
        """Make the store hold exactly ``intents``, in their order, in one transaction."""
        with self._transaction():
            self._db.execute("DELETE FROM intents")
            self._db.executemany("INSERT INTO intents (id, version, request) VALUES (?, ?, ?)",
                                 [(i.id, i.version, _request_json(i)) for i in intents])

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> "IntentStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT under the lock; ROLLBACK and :class:`StoreError` on any SQLite error."""

    def __init__(self, db, lock, path):
        self.db, self.lock, self.path = db, lock, path

    def __enter__(self):
        self.lock.acquire()
        try:
            self.db.execute("BEGIN IMMEDIATE")  # take the write lock now, not halfway through
        except sqlite3.Error as exc:
            self.lock.release()
            raise _store_error(self.path, exc) from None
        return self

    def __exit__(self, exc_type, exc, tb):
        try:
            if exc_type is None:
                self.db.execute("COMMIT")
            elif self.db.in_transaction:
                self.db.execute("ROLLBACK")
        except sqlite3.Error as commit_exc:
            exc = exc or commit_exc
        finally:
            self.lock.release()
        if isinstance(exc, sqlite3.Error):
            raise _store_error(self.path, exc) from None
        return False


def _store_error(path, exc: sqlite3.Error) -> StoreError:
    # A file that is not SQLite, or a damaged one, needs a person: say what to do.
    if isinstance(exc, sqlite3.DatabaseError) and any(
            s in str(exc) for s in ("not a database", "malformed", "corrupt")):
        return StoreError(f"{path} is not a usable intent store ({exc}); move it away to start with no "
                          f"intents, or restore it from a backup")
    return StoreError(f"intent store {path}: {exc}")


def _request_json(intent: Intent) -> str:
    body = {k: v for k, v in intent.as_dict().items() if k in INPUT_FIELDS and v is not None}
    return json.dumps(body, sort_keys=True)
