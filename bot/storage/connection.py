"""Opening the database: pragmas every connection needs, then migrations; and what else concerns the file.

WAL lets the CLI read while the bot writes; foreign keys are off by default in SQLite and must be
switched on per connection; a busy timeout turns a brief lock into a wait instead of an error.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import aiosqlite

from bot.storage.migrations import apply_migrations
from bot.storage.sql import execute, fetch_all


async def open_database(path: Path | str, *, migrate: bool = True) -> aiosqlite.Connection:
    """Open (creating if needed) the database at `path`, configured and migrated."""
    if str(path) != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    conn = await aiosqlite.connect(str(path), isolation_level=None)
    try:
        conn.row_factory = sqlite3.Row
        await execute(conn, "PRAGMA journal_mode=WAL")
        await execute(conn, "PRAGMA foreign_keys=ON")
        await execute(conn, "PRAGMA busy_timeout=5000")
        await execute(conn, "PRAGMA synchronous=NORMAL")
        if migrate:
            await apply_migrations(conn)
    except BaseException:
        # Close the connection's worker thread, or the process would hang on exit after the error.
        await conn.close()
        raise
    return conn


async def database_file(conn: aiosqlite.Connection) -> str:
    """The file `conn` has open ("" for an in-memory database), to open a second connection on it."""
    rows = await fetch_all(conn, "PRAGMA database_list")
    return next((row[2] for row in rows if row[1] == "main"), "")


async def backup_to(conn: aiosqlite.Connection, target: Path) -> None:
    """Write a consistent copy of the database to `target` (a new file) while others keep using it."""
    await execute(conn, "VACUUM INTO ?", (str(target),))
