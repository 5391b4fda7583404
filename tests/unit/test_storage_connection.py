"""`open_database`: what it leaves behind when it fails, the busy timeout it is given, reading without
writing, and a full disk in the middle of an import."""

from __future__ import annotations

import os
import sqlite3
import threading

import pytest

from bot.config import SHIPPED_THREAD
from bot.storage import open_database
from bot.storage.errors import UpgradeNeeded, explain
from bot.storage.migrations import newest_version, schema_version
from bot.storage.sql import execute, fetch_value
from bot.story.importer import import_file
from tests.fixtures.schemas import generate


async def test_a_failed_open_leaves_no_worker_thread_behind(tmp_path):
    """aiosqlite's thread, left running, reports to a closed event loop: a second traceback at exit."""
    (tmp_path / "aar.db").mkdir()
    before = set(threading.enumerate())
    with pytest.raises(sqlite3.OperationalError) as failed:
        await open_database(tmp_path / "aar.db")
    assert failed.value.sqlite_errorname == "SQLITE_CANTOPEN"
    assert [t for t in threading.enumerate() if t not in before and "connection_worker" in t.name] == []


async def test_the_busy_timeout_is_the_one_given(tmp_path):
    path = tmp_path / "aar.db"
    await (await open_database(path)).close()
    holder = sqlite3.connect(path, isolation_level=None)
    conn = await open_database(path, busy_timeout=0.05)
    try:
        assert await fetch_value(conn, "PRAGMA busy_timeout") == 50
        holder.execute("BEGIN IMMEDIATE")
        with pytest.raises(sqlite3.OperationalError) as locked:
            await import_file(conn, SHIPPED_THREAD)
        assert locked.value.sqlite_errorname == "SQLITE_BUSY"
        assert explain(locked.value, path) == (f"{path} is locked by another process (database is locked); "
                                               "nothing was changed, retrying is safe")
    finally:
        holder.close()
        await conn.close()


async def test_reading_read_only_writes_nothing(tmp_path):
    path = tmp_path / "aar.db"
    conn = await open_database(path)
    await import_file(conn, SHIPPED_THREAD)
    await conn.close()
    written = path.read_bytes()
    reader = await open_database(path, readonly=True)
    try:
        assert await fetch_value(reader, "SELECT COUNT(*) FROM chapters") == 6
        with pytest.raises(sqlite3.OperationalError) as refused:
            await execute(reader, "INSERT INTO guild_settings(guild_id) VALUES (1)")
        assert refused.value.sqlite_errorname == "SQLITE_READONLY"
    finally:
        await reader.close()
    assert path.read_bytes() == written


async def test_reading_an_older_database_upgrades_it_when_it_may(tmp_path):
    path = tmp_path / "aar.db"
    old = sqlite3.connect(path)
    old.executescript(generate.fixture_path(3).read_text(encoding="utf-8"))
    old.close()
    reader = await open_database(path, readonly=True)
    try:
        assert await schema_version(reader) == newest_version()
        assert await fetch_value(reader, "SELECT COUNT(*) FROM characters") == 1
    finally:
        await reader.close()


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes to a 0444 file; "
                    "tests/e2e/test_cli_errors.py covers this case as root, without CAP_DAC_OVERRIDE")
async def test_reading_an_older_database_that_cannot_be_written_is_refused(tmp_path):
    path = tmp_path / "aar.db"
    old = sqlite3.connect(path)
    old.executescript(generate.fixture_path(5).read_text(encoding="utf-8"))
    old.close()
    path.chmod(0o444)
    try:
        with pytest.raises(UpgradeNeeded) as refused:
            await open_database(path, readonly=True)
    finally:
        path.chmod(0o644)
    assert (refused.value.found, refused.value.newest) == (5, newest_version())


async def test_a_full_disk_during_an_import_keeps_nothing_and_says_so(tmp_path):
    path = tmp_path / "aar.db"
    conn = await open_database(path)
    try:
        pages = await fetch_value(conn, "PRAGMA page_count")
        await fetch_value(conn, f"PRAGMA max_page_count = {pages + 2}")  # SQLite's SQLITE_FULL, for real
        with pytest.raises(sqlite3.OperationalError) as full:
            await import_file(conn, SHIPPED_THREAD)
        assert full.value.sqlite_errorname == "SQLITE_FULL"
        assert not conn.raw.in_transaction  # SQLite rolled it back; transaction() raised SQLite's error
        assert await fetch_value(conn, "SELECT COUNT(*) FROM chapters") == 0
        assert explain(full.value, path) == (f"{path}: disk full (database or disk is full); nothing was "
                                             "changed, free some space and retry")
    finally:
        await conn.close()
