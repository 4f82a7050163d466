"""Accepted intents on disk (SQLite), so that a restarted controller restores them.

The registry (:class:`controller.intents.IntentRegistry`) writes every change through
:meth:`IntentStore.apply` *before* it takes the change itself, so the API answers only
for what is on disk; on start the app restores :meth:`IntentStore.load` and
:meth:`IntentStore.next_id` (ids are never handed out twice, even after a restart). Each
change is one transaction with SQLite's rollback journal (``journal_mode=DELETE``) and
``synchronous=FULL``: a crash leaves the old or the new state, and after every commit the file
alone holds every accepted intent, with nothing beside it that could be lost or left out of a
copy. (Earlier versions ran in WAL mode, where the intents could all be in ``-wal`` only; opening
such a file moves them into it.) Rows are the API's ``IntentInput`` JSON plus id, version and
creation order, and are validated again on load (with :func:`controller.intents.parse_intent`). New
fields of ``IntentInput`` live in that JSON, so they need no new column and no migration: an intent's
``labels`` are stored there (only when it has some), and rows written before labels existed read as
intents without labels. An apply (``POST /te/v1/apply``) writes all its creates, updates and deletes
with one :meth:`IntentStore.apply`, so one transaction.

A file that exists but cannot hold intents (empty, zeros, truncated, damaged, without tables) is
refused with a :class:`StoreError` naming it and what to do, never read as "no intents"; only a
path that does not exist is made into a new, empty store. A store that can be read but not
written opens with :attr:`IntentStore.read_only` set and a :attr:`IntentStore.warning` to log.

``te-store`` (:func:`main`, also ``python -m controller.store``) makes a complete copy of a store
at any time, even while the controller writes to it (a plain copy made during a commit can be
torn), and checks one::

    te-store backup /var/lib/sdn-te/intents.sqlite3 /backup/intents-2024-05-01.sqlite3
    te-store check /var/lib/sdn-te/intents.sqlite3
"""
from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
import threading
from pathlib import Path

from controller.intents import (BEST_EFFORT, INPUT_FIELDS, Intent, IntentError, IntentGroup, IntentRegistry,
                                parse_group, parse_intent)

DEFAULT_PATH = "/var/lib/sdn-te/intents.sqlite3"
SCHEMA_VERSION = 1

# Added within schema version 1 (files of the first layout lack it): created when missing.
_META = "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)"
# Intent groups (GroupInput JSON), also added within schema version 1: created when missing.
_GROUPS = ("CREATE TABLE IF NOT EXISTS groups (seq INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE, "
           "version INTEGER NOT NULL, request TEXT NOT NULL)")
_SCHEMA = f"""
CREATE TABLE schema_version (version INTEGER NOT NULL);
INSERT INTO schema_version (version) VALUES ({SCHEMA_VERSION});
CREATE TABLE intents (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,  -- creation order, kept when an intent is replaced
    id TEXT NOT NULL UNIQUE,
    version INTEGER NOT NULL,
    request TEXT NOT NULL                   -- IntentInput JSON (docs/openapi.yaml)
);
{_META};
{_GROUPS};
"""
_SQLITE_MAGIC = b"SQLite format 3\0"
# What SQLite answers when the file, its directory or the mount refuses writes.
_READ_ONLY_CODES = (sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PERM)


class StoreError(Exception):
    """The store cannot be opened, read or written; the message names the file and what to do."""


class IntentStore:
    """Intents in the SQLite file at ``path``.

    A ``path`` that does not exist is created (with its directory) as an empty store, unless
    ``read_only``; an existing file that holds no store is refused with :class:`StoreError`.
    ``read_only`` opens without ever writing to the file (e.g. while a controller uses it).

    Attributes
    ----------
    read_only : bool
        Changes are refused (:meth:`apply` raises :class:`StoreError`): asked for, or found at open.
    warning : str or None
        One line for the log when the store was opened for changes but cannot take them.

    Examples
    --------
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "sub", "intents.sqlite3")
    >>> store = IntentStore(path)
    >>> store.read_only, store.warning
    (False, None)
    >>> store.apply(saved=[parse_intent({"src": "10.0.0.1", "dst": "10.0.0.2", "rate_bps": 1e6}, "1"),
    ...                    parse_intent({"src": "10.0.0.3", "dst": "10.0.0.2", "rate_bps": 2e6}, "2")], next_id=3)
    >>> store.apply(deleted=["1"])
    >>> store.close()
    >>> [(i.id, i.rate_bps) for i in IntentStore(path, read_only=True).load()]
    [('2', 2000000.0)]
    >>> open(path, "wb").close()
    >>> IntentStore(path)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    controller.store.StoreError: .../intents.sqlite3 is empty (0 bytes), not an intent store; restore it from ...
    """

    def __init__(self, path=DEFAULT_PATH, *, read_only: bool = False):
        self.path = Path(path)
        # Ryu runs handlers in green threads of one OS thread; the lock keeps a
        # transaction whole if two of them write at once.
        self._lock = threading.Lock()
        try:
            wal_mode = _check_file(self.path)
        except (FileNotFoundError, NotADirectoryError):
            if read_only:
                raise StoreError(f"intent store {self.path} does not exist") from None
            self._create()
            wal_mode = False
        try:
            self._db = _connect(self.path, "ro" if read_only else "rw")
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the intent store {self.path}: {exc}") from None
        try:
            self._check_schema(wal_mode)
            cannot_write = None if read_only else self._prepare_writes()
        except sqlite3.Error as exc:
            self._db.close()
            raise _store_error(self.path, exc) from None
        except StoreError:
            self._db.close()
            raise
        self.read_only = read_only or cannot_write is not None
        self.warning = None if cannot_write is None else (
            f"intent store {self.path} is read-only ({cannot_write}): intents can be read, but every change will "
            f"be refused with 503")

    def _create(self) -> None:
        wal = _side_file(self.path, "-wal")
        if wal.exists():  # SQLite would start a new file and delete this -wal, which may hold every intent
            raise StoreError(f"{self.path} is missing, but its write-ahead log {wal} is there; restore the file "
                             f"from a backup, or move the -wal away to start with no intents")
        new = _side_file(self.path, ".new")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            new.unlink(missing_ok=True)  # left by a crash while an earlier start made the store
            db = _connect(new, "rwc")
            try:
                db.execute("PRAGMA synchronous=FULL")
                db.executescript(f"BEGIN; {_SCHEMA}; COMMIT;")
            finally:
                db.close()
            # Made aside and renamed into place: a crash leaves no store or a whole one, never an empty file.
            os.replace(new, self.path)
            _sync_directory(self.path.parent)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot create the intent store {self.path}: {exc}") from None

    def _check_schema(self, wal_mode: bool) -> None:
        with self._transaction(write=False):
            tables = {r[0] for r in self._db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            verdict = self._db.execute("PRAGMA quick_check(1)").fetchone()[0]
            version = self._db.execute("SELECT version FROM schema_version").fetchone() \
                if "schema_version" in tables else None
        if verdict != "ok":
            raise _refused(self.path, f"is damaged (quick_check: {' '.join(verdict.split())})")
        if not tables:
            # The file was made by someone else or lost its content; a new store is never left without tables.
            problem = "holds no tables, so no intents"
            if wal_mode:
                problem += (f": it is in WAL mode, and an older version kept them in {self.path.name}-wal, "
                            f"which is missing or damaged")
            raise _refused(self.path, problem)
        if "schema_version" not in tables:
            raise StoreError(f"{self.path} is an SQLite file of something else (tables: "
                             f"{', '.join(sorted(tables))}); choose another intent store path")
        if version is None or version[0] != SCHEMA_VERSION:
            raise StoreError(f"{self.path} has intent store schema version {version and version[0]}; this "
                             f"controller reads version {SCHEMA_VERSION}")

    def _prepare_writes(self) -> str | None:
        """Make the file ready for changes; returns why it cannot take them (None: it can)."""
        try:
            # FULL: an intent the API answered 201 for must survive a power cut, and changes are rare.
            self._db.execute("PRAGMA synchronous=FULL")
            # A row written and deleted in one commit, in the file's journal mode as found: a file, directory
            # or mount that refuses writes shows now rather than at the first change, and an older version's
            # WAL-mode file that cannot be written is still read.
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute(_META)
                self._db.execute(_GROUPS)
                self._db.execute("INSERT INTO meta (key, value) VALUES ('write_check', 0)")
                self._db.execute("DELETE FROM meta WHERE key = 'write_check'")
                self._db.execute("COMMIT")
            finally:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
        except sqlite3.Error as exc:
            if getattr(exc, "sqlite_errorcode", 0) & 0xFF in _READ_ONLY_CODES:
                return str(exc)
            raise
        # The rollback journal, not WAL: see the module's docstring. Leaving WAL mode copies the -wal into the
        # file and removes it; it fails (the file is busy) while an older controller still has it open.
        self._db.execute("PRAGMA journal_mode=DELETE")
        return None

    def _transaction(self, write: bool = True):
        return _Transaction(self._db, self._lock, self.path, "BEGIN IMMEDIATE" if write else "BEGIN")

    def load(self) -> list[Intent]:
        """Every stored intent, in creation order.

        Raises
        ------
        StoreError
            A row that does not hold a valid intent (naming its id).
        """
        with self._transaction(write=False):
            rows = self._db.execute("SELECT id, version, request FROM intents ORDER BY seq").fetchall()
        intents = []
        for intent_id, version, request in rows:
            try:
                intents.append(parse_intent(json.loads(request), intent_id, version))
            except (ValueError, IntentError) as exc:
                raise StoreError(f"{self.path}: stored intent {intent_id} is unreadable: {exc}") from None
        return intents

    def load_groups(self) -> list[IntentGroup]:
        """Every stored intent group, in creation order (none in a file written before groups existed)."""
        with self._transaction(write=False):
            if self._db.execute("SELECT 1 FROM sqlite_master WHERE name = 'groups'").fetchone() is None:
                return []
            rows = self._db.execute("SELECT name, version, request FROM groups ORDER BY seq").fetchall()
        groups = []
        for name, version, request in rows:
            try:
                groups.append(parse_group(json.loads(request), name, version))
            except (ValueError, IntentError) as exc:
                raise StoreError(f"{self.path}: stored group {name} is unreadable: {exc}") from None
        return groups

    def next_id(self) -> int | None:
        """The id number the registry hands out next, as last stored (None if never stored)."""
        with self._transaction(write=False):
            # A file of the first layout, opened read-only, has no meta table.
            if self._db.execute("SELECT 1 FROM sqlite_master WHERE name = 'meta'").fetchone() is None:
                return None
            row = self._db.execute("SELECT value FROM meta WHERE key = 'next_id'").fetchone()
        return None if row is None else int(row[0])

    def apply(self, saved=(), deleted=(), next_id: int | None = None, saved_groups=(), deleted_groups=()) -> None:
        """Save ``saved`` intents, delete the ids in ``deleted`` and record ``next_id``, in one transaction
        (with the groups in ``saved_groups`` saved and the names in ``deleted_groups`` deleted).

        A saved intent replaces the one with its id, if any, and keeps its place in the order; deleting an
        id that is not stored is no error.
        """
        with self._transaction():
            self._db.executemany(
                "INSERT INTO intents (id, version, request) VALUES (?, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET version = excluded.version, request = excluded.request",
                [(i.id, i.version, _request_json(i)) for i in saved])
            self._db.executemany("DELETE FROM intents WHERE id = ?", [(str(i),) for i in deleted])
            if saved_groups or deleted_groups:
                self._db.execute(_GROUPS)
                self._db.executemany(
                    "INSERT INTO groups (name, version, request) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE "
                    "SET version = excluded.version, request = excluded.request",
                    [(g.name, g.version, json.dumps(g.request(), sort_keys=True)) for g in saved_groups])
                self._db.executemany("DELETE FROM groups WHERE name = ?", [(n,) for n in deleted_groups])
            if next_id is not None:
                self._db.execute("INSERT INTO meta (key, value) VALUES ('next_id', ?) "
                                 "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (int(next_id),))

    def backup(self, dest) -> None:
        """Write a complete copy of the store to the new file ``dest``; safe while a controller changes it.

        SQLite's online backup copies one committed state; the copy is written aside, synced and then
        renamed to ``dest``, so ``dest`` is never half written, and it is a store of its own (rollback
        journal, even when copied from an older version's WAL-mode file).

        Raises
        ------
        StoreError
            ``dest`` exists (it is never overwritten), or cannot be written.
        """
        dest = Path(dest)
        if dest.exists() or dest.is_symlink():
            raise StoreError(f"{dest} exists; name a new file for the backup")
        new = _side_file(dest, ".new")
        try:
            new.unlink(missing_ok=True)  # left by an interrupted backup
            copy = _connect(new, "rwc")
            try:
                copy.execute("PRAGMA synchronous=FULL")
                with self._lock:
                    self._db.backup(copy)
                copy.execute("PRAGMA journal_mode=DELETE")  # a copy of a WAL-mode file is in WAL mode too
            finally:
                copy.close()
            os.replace(new, dest)
            _sync_directory(dest.parent)
        except (OSError, sqlite3.Error) as exc:
            new.unlink(missing_ok=True)
            raise StoreError(f"cannot write the backup {dest}: {exc}") from None

    def close(self) -> None:
        """Close the file; closing again does nothing.

        There is nothing to checkpoint: with the rollback journal every commit is in the file already.
        """
        with self._lock:
            self._db.close()

    def __enter__(self) -> "IntentStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class _Transaction:
    """``begin`` ... COMMIT under the lock; ROLLBACK and :class:`StoreError` on any SQLite error."""

    def __init__(self, db, lock, path, begin):
        self.db, self.lock, self.path, self.begin = db, lock, path, begin

    def __enter__(self):
        self.lock.acquire()
        try:
            self.db.execute(self.begin)  # BEGIN IMMEDIATE: take the write lock now, not halfway through
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


def _connect(path: Path, mode: str) -> sqlite3.Connection:
    """SQLite on ``path`` with URI ``mode``: ``ro``, ``rw`` (never creates the file) or ``rwc``."""
    return sqlite3.connect(f"{path.absolute().as_uri()}?mode={mode}", uri=True, isolation_level=None,
                           check_same_thread=False)


def _check_file(path: Path) -> bool:
    """Refuse a file that cannot be a store before SQLite opens it; returns whether it is in WAL mode.

    SQLite would take a 0-byte file for a new, empty database (and delete the -wal beside it), and
    reads a file cut within a page without complaint.
    """
    try:
        with open(path, "rb") as file:
            header = file.read(100)
            size = os.fstat(file.fileno()).st_size
    except (FileNotFoundError, NotADirectoryError):
        raise  # no file: the caller makes one
    except OSError as exc:
        raise StoreError(f"cannot open the intent store {path}: {exc}") from None
    if size == 0:
        raise _refused(path, "is empty (0 bytes), not an intent store")
    if not header.startswith(_SQLITE_MAGIC):
        raise _refused(path, "is not an SQLite file (" + ("no SQLite header" if any(header) else
                                                          "its header is all zeros") + ")")
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size  # how the header writes 64 KiB
    if page_size and size % page_size:
        raise _refused(path, f"is truncated ({size} bytes, not a whole number of {page_size}-byte pages)")
    return header[18:20] == b"\x02\x02"


def _side_file(path: Path, suffix: str) -> Path:
    return path.with_name(path.name + suffix)


def _sync_directory(directory: Path) -> None:
    # A renamed file survives a power cut only once its directory is synced too.
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _refused(path, problem: str) -> StoreError:
    return StoreError(f"{path} {problem}; restore it from a backup, or move it away to start with no intents")


def _store_error(path, exc: sqlite3.Error) -> StoreError:
    # A file that is not SQLite, or a damaged one, needs a person: say what to do.
    if isinstance(exc, sqlite3.DatabaseError) and any(
            s in str(exc) for s in ("not a database", "malformed", "corrupt")):
        return _refused(path, f"is damaged ({exc})")
    return StoreError(f"intent store {path}: {exc}")


def _request_json(intent: Intent) -> str:
    """The ``IntentInput`` JSON of a stored row; ``labels`` only when there are some (rows stay as before).

    >>> _request_json(parse_intent({"src": "10.0.0.1", "dst": "10.0.0.2", "rate_bps": 1e6, "name": "a",
    ...                             "labels": {"owner": "ci"}}, "1"))
    '{"dst": "10.0.0.2", "labels": {"owner": "ci"}, "match": {}, "name": "a", "priority": 0, "rate_bps": 1000000.0, "src": "10.0.0.1", "weight": 1.0}'
    """
    body = {k: v for k, v in intent.as_dict().items() if k in INPUT_FIELDS and v is not None}
    if not body["labels"]:
        del body["labels"]
    if body["class"] == BEST_EFFORT:  # the default: rows of best-effort intents stay as they were
        del body["class"]
    return json.dumps(body, sort_keys=True)


# --- te-store -------------------------------------------------------------------------------------------------

class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    """An argparse parser that raises :class:`_UsageError` instead of printing usage and exiting."""

    def error(self, message):
        raise _UsageError(f"{message} (see '{self.prog} --help')")


def _backup(args) -> None:
    with IntentStore(args.src, read_only=True) as store:
        store.backup(args.dest)
    with IntentStore(args.dest, read_only=True) as copy:  # the copy opens as a store and every row reads
        count = len(copy.load())
    print(f"backed up {_intents(count)} to {args.dest}")


def _check(args) -> None:
    with IntentStore(args.src, read_only=True) as store:
        registry = IntentRegistry()
        # What the controller would restore: the stored counter, or the id after the highest one.
        registry.restore(store.load(), store.next_id(), store.load_groups())
    groups = len(registry.groups())
    print(f"{args.src}: {_intents(len(registry))}, next id {registry.next_id}"
          + (f", {groups} group{'s' if groups != 1 else ''}" if groups else ""))


def _intents(count: int) -> str:
    return f"{count} intent{'' if count == 1 else 's'}"


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="te-store", formatter_class=argparse.RawDescriptionHelpFormatter,
                     description="Back up and check the controller's intent store (an SQLite file).",
                     epilog="  te-store backup SRC DEST   copy the store SRC to the new file DEST; safe while the "
                            "controller runs\n"
                            "  te-store check SRC         print the number of intents and the next id\n\n"
                            "Exit status 0 when done; 2, with one line on stderr, for a missing, damaged or "
                            "refused file.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser, metavar="COMMAND")
    backup = sub.add_parser("backup", help="copy a store (safe while the controller runs)")
    backup.add_argument("src", metavar="SRC", help="the store, e.g. " + DEFAULT_PATH)
    backup.add_argument("dest", metavar="DEST", help="the copy: a new file")
    backup.set_defaults(run=_backup)
    check = sub.add_parser("check", help="print the number of intents and the next id")
    check.add_argument("src", metavar="SRC", help="the store, opened read-only")
    check.set_defaults(run=_check)
    return parser


def main(argv=None) -> int:
    """Run ``te-store``; returns the exit status (0 done, 2 bad arguments or a file it cannot use).

    Examples
    --------
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "intents.sqlite3")
    >>> IntentStore(path).apply(saved=[parse_intent({"src": "10.0.0.1", "dst": "10.0.0.2", "rate_bps": 1e6}, "4")])
    >>> main(["backup", path, path + ".bak"])  # doctest: +ELLIPSIS
    backed up 1 intent to /.../intents.sqlite3.bak
    0
    >>> main(["check", path + ".bak"])  # doctest: +ELLIPSIS
    /.../intents.sqlite3.bak: 1 intent, next id 5
    0
    """
    try:
        args = _parser().parse_args(argv)
        args.run(args)
    except (StoreError, _UsageError, OSError) as exc:
        print(f"te-store: error: {exc}", file=sys.stderr)
        return 2
    except SystemExit as exc:  # --help
        return exc.code if isinstance(exc.code, int) else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
