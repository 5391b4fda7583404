"""Opening the database: pragmas every connection needs, then migrations.

WAL lets the CLI read while the bot writes; foreign keys are off by default in SQLite and must be
switched on per connection; a busy timeout turns a brief lock into a wait instead of an error.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import aiosqlite

from bot.storage.migrations import apply_migrations


async def open_database(path: Path | str, *, migrate: bool = True) -> aiosqlite.Connection:
    """Open (creating if needed) the database at `path`, configured and migrated."""
    if str(path) != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    conn = await aiosqlite.connect(str(path), isolation_level=None)
    try:
        conn.row_factory = sqlite3.Row
        await conn.execute("PRAGMA journal_mode=WAL")
        await conn.execute("PRAGMA foreign_keys=ON")
        await conn.execute("PRAGMA busy_timeout=5000")
        await conn.execute("PRAGMA synchronous=NORMAL")
        if migrate:
            await apply_migrations(conn)
    except BaseException:
        # Close the connection's worker thread, or the process would hang on exit after the error.
        await conn.close()
        raise
    return conn
