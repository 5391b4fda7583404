"""`explain`: one line per cause, on the exceptions SQLite and the OS really raise for each."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.storage.errors import explain


def raised(action: Callable[[], object]) -> sqlite3.Error | OSError:
    with pytest.raises((sqlite3.Error, OSError)) as caught:
        action()
    assert isinstance(caught.value, sqlite3.Error | OSError)
    return caught.value


def query(path: Path | str, sql: str, *, uri: bool = False) -> None:
    conn = sqlite3.connect(path, uri=uri, isolation_level=None)
    try:
        conn.execute(sql)
    finally:
        conn.close()


def test_a_file_that_is_not_sqlite(tmp_path):
    path = tmp_path / "aar.db"
    path.write_bytes(b"not SQLite " * 100)
    assert explain(raised(lambda: query(path, "SELECT 1 FROM sqlite_master")), path) == (
        f"{path} is not an AAR Bot database (file is not a database)")


def test_a_damaged_database(tmp_path):
    path = tmp_path / "aar.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE t (x TEXT)")
    conn.executemany("INSERT INTO t VALUES (?)", [("x" * 500,)] * 200)
    conn.commit()
    conn.close()
    data = bytearray(path.read_bytes())
    data[4096 * 2:4096 * 3] = b"\xff" * 4096  # a page of the table, overwritten
    path.write_bytes(bytes(data))
    line = explain(raised(lambda: query(path, "SELECT COUNT(*), MAX(length(x)) FROM t")), path)
    assert line == f"{path} is damaged (database disk image is malformed): restore it from a backup"


def test_a_directory_in_place_of_the_file(tmp_path):
    path = tmp_path / "aar.db"
    path.mkdir()
    assert explain(raised(lambda: sqlite3.connect(path)), path) == (
        f"{path}: is a directory, not a database file (unable to open database file)")


def test_a_file_where_a_folder_should_be(tmp_path):
    (tmp_path / "data").write_text("")
    path = tmp_path / "data" / "more" / "aar.db"
    assert explain(raised(lambda: path.parent.mkdir(parents=True, exist_ok=True)), path) == (
        f"{path}: cannot create its folder, {tmp_path / 'data'} is a file, not a folder (Not a directory)")


def test_a_folder_that_does_not_exist(tmp_path):
    path = tmp_path / "missing" / "copy.db"
    assert explain(raised(lambda: sqlite3.connect(path)), path) == (
        f"{path}: its folder {path.parent} does not exist (unable to open database file)")


def test_writing_a_read_only_database(tmp_path):
    path = tmp_path / "aar.db"
    query(path, "CREATE TABLE t (x)")
    error = raised(lambda: query(f"{path.as_uri()}?mode=ro", "INSERT INTO t VALUES (1)", uri=True))
    assert explain(error, path) == (f"{path} is read-only (attempt to write a readonly database); "
                                    "this command writes to it")


def test_a_lock_held_past_the_busy_timeout(tmp_path):
    path = tmp_path / "aar.db"
    query(path, "CREATE TABLE t (x)")
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        waiter = sqlite3.connect(path, isolation_level=None, timeout=0.01)
        error = raised(lambda: waiter.execute("INSERT INTO t VALUES (1)"))
        waiter.close()
    finally:
        holder.close()
    assert explain(error, path) == (f"{path} is locked by another process (database is locked); nothing was "
                                    "changed, retrying is safe")


def test_a_full_disk(tmp_path):
    path = tmp_path / "aar.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("CREATE TABLE t (x)")
    conn.execute("PRAGMA max_page_count = 3")
    error = raised(lambda: conn.execute("INSERT INTO t VALUES (randomblob(100000))"))
    conn.close()
    assert explain(error, path) == (f"{path}: disk full (database or disk is full); nothing was changed, "
                                    "free some space and retry")


@pytest.mark.skipif(os.geteuid() == 0, reason="root may create folders anywhere; "
                    "tests/e2e/test_cli_errors.py covers this case as root, without CAP_DAC_OVERRIDE")
def test_a_folder_that_may_not_be_written(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    path = locked / "new" / "aar.db"
    try:
        error = raised(lambda: path.parent.mkdir(parents=True, exist_ok=True))
    finally:
        locked.chmod(0o755)
    assert explain(error, path) == f"{path}: permission denied on {locked} (Permission denied)"
