"""te-store: the backup and check commands of the intent store (controller.store.main)."""
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from controller.store import IntentStore, main
from test_store import good_store, intent, old_version_store

REPO = Path(__file__).resolve().parents[2]


def run(capsys, *argv):
    status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


def assert_one_line_error(status, out, err, text):
    assert status == 2 and out == ""
    assert err.startswith("te-store: error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    assert text in err, err


def test_check_prints_the_number_of_intents_and_the_next_id_and_changes_nothing(tmp_path, capsys):
    path = tmp_path / "intents.sqlite3"
    data = good_store(path)
    assert run(capsys, "check", path) == (0, f"{path}: 3 intents, next id 4\n", "")
    assert path.read_bytes() == data and [p.name for p in tmp_path.iterdir()] == ["intents.sqlite3"]


def test_check_gives_the_id_the_controller_would_hand_out_next(tmp_path, capsys):
    path = tmp_path / "intents.sqlite3"
    with IntentStore(path) as store:
        store.apply(saved=[intent("7")])  # no counter stored: ids continue after the highest
    assert run(capsys, "check", path) == (0, f"{path}: 1 intent, next id 8\n", "")


def test_check_reads_an_older_versions_store_with_its_wal(tmp_path, capsys):
    path = tmp_path / "intents.sqlite3"
    old_version_store(path)
    assert run(capsys, "check", path) == (0, f"{path}: 3 intents, next id 4\n", "")


@pytest.mark.parametrize("damage, text", [
    (None, "does not exist"),
    (b"", "is empty (0 bytes)"),
    (bytes(8192), "its header is all zeros"),
    ("no tables", "holds no tables"),
])
def test_check_of_a_missing_or_damaged_file_is_one_line_and_status_2(tmp_path, capsys, damage, text):
    path = tmp_path / "intents.sqlite3"
    if damage == "no tables":
        sqlite3.connect(path).execute("PRAGMA user_version = 1")
    elif damage is not None:
        path.write_bytes(damage)
    assert_one_line_error(*run(capsys, "check", path), f"{path} ")


def test_backup_of_an_open_store_is_a_complete_store_on_its_own(tmp_path, capsys):
    src = tmp_path / "live" / "intents.sqlite3"
    store = IntentStore(src)
    store.apply(saved=[intent("1", name="web"), intent("2", 2e6)], next_id=3)
    dest = tmp_path / "backup" / "intents-1.sqlite3"
    dest.parent.mkdir()
    assert run(capsys, "backup", src, dest) == (0, f"backed up 2 intents to {dest}\n", "")
    assert [p.name for p in dest.parent.iterdir()] == [dest.name]
    with IntentStore(dest) as copy:
        assert copy.load() == store.load() and copy.next_id() == 3
    store.apply(deleted=["1"])  # the controller's store is still its own
    assert [i.id for i in store.load()] == ["2"]


def test_backup_of_an_older_versions_store_holds_what_was_in_its_wal(tmp_path, capsys):
    src = tmp_path / "intents.sqlite3"
    old_version_store(src)
    dest = tmp_path / "b" / "copy.sqlite3"
    dest.parent.mkdir()
    assert run(capsys, "backup", src, dest) == (0, f"backed up 3 intents to {dest}\n", "")
    assert [p.name for p in dest.parent.iterdir()] == ["copy.sqlite3"]
    db = sqlite3.connect(dest)
    assert db.execute("PRAGMA journal_mode").fetchone() == ("delete",)
    assert db.execute("SELECT id FROM intents ORDER BY seq").fetchall() == [("1",), ("2",), ("3",)]


def test_backup_never_overwrites_a_file(tmp_path, capsys):
    src, dest = tmp_path / "intents.sqlite3", tmp_path / "old-backup.sqlite3"
    good_store(src)
    dest.write_bytes(b"yesterday's backup")
    assert_one_line_error(*run(capsys, "backup", src, dest), f"{dest} exists; name a new file for the backup")
    assert_one_line_error(*run(capsys, "backup", src, src), f"{src} exists")
    assert dest.read_bytes() == b"yesterday's backup" and len(IntentStore(src).load()) == 3


def test_backup_of_a_damaged_store_or_to_a_missing_directory_fails_and_writes_nothing(tmp_path, capsys):
    src = tmp_path / "intents.sqlite3"
    src.write_bytes(b"")
    assert_one_line_error(*run(capsys, "backup", src, tmp_path / "copy"), "is empty (0 bytes)")
    src.unlink()
    good_store(src)
    dest = tmp_path / "no" / "such" / "dir" / "copy"
    assert_one_line_error(*run(capsys, "backup", src, dest), f"cannot write the backup {dest}: ")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["intents.sqlite3"]


@pytest.mark.parametrize("argv", [[], ["frobnicate"], ["check"], ["check", "a", "b"], ["backup", "a"]])
def test_bad_arguments_are_one_line_and_status_2(capsys, argv):
    status, out, err = run(capsys, *argv)
    assert_one_line_error(status, out, err, "(see 'te-store")
    assert err.endswith(" --help')\n")


def test_help(capsys):
    status, out, err = run(capsys, "--help")
    assert status == 0 and "te-store backup SRC DEST" in out and "te-store check SRC" in out


def test_python_dash_m_runs_it(tmp_path):
    path = tmp_path / "intents.sqlite3"
    good_store(path)
    ok = subprocess.run([sys.executable, "-m", "controller.store", "check", str(path)], cwd=REPO,
                        capture_output=True, text=True)
    assert (ok.returncode, ok.stdout, ok.stderr) == (0, f"{path}: 3 intents, next id 4\n", "")
    bad = subprocess.run([sys.executable, "-m", "controller.store", "check", str(tmp_path / "nothing")], cwd=REPO,
                         capture_output=True, text=True)
    assert (bad.returncode, bad.stdout) == (2, "")
    assert bad.stderr == f"te-store: error: intent store {tmp_path / 'nothing'} does not exist\n"
