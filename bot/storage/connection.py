"""Opening the database: pragmas every connection needs, then migrations; and what else concerns the file.

WAL lets the CLI read while the bot writes; foreign keys are off by default in SQLite and must be
switched on per connection; a busy timeout turns a brief lock into a wait instead of an error.

The schema version is read before anything is written (even `journal_mode=WAL` writes the file's
header): a database a newer release wrote is refused untouched (`NewerSchema`).

A command that only reads opens with `readonly=True`: SQLite's `mode=ro`, no pragma that writes, no
migration, so it works on a file or folder it may not write.  If the database is older than the code,
reading it needs the upgrade, which writes: that is tried, and a read-only database is then refused
with `UpgradeNeeded`.  A read-only folder is the one case `mode=ro` alone can't read: WAL readers share
a `-shm` file beside the database, which the folder won't let SQLite create.  When no `-wal` file exists
there, no writer has the database open in WAL mode, so the file itself is the whole database and it is
opened `immutable`, without the shared-memory file.

The sqlite3 connection is made before aiosqlite's worker thread starts.  aiosqlite starts the thread
first and, when connecting fails, stops it without waiting: the thread then reports to an event loop
that a short-lived command (`asyncio.run`) has often closed already, and prints a second traceback
("Event loop is closed") after the command's own error.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import aiosqlite

from bot.storage.database import Database
from bot.storage.errors import NewerSchema, UpgradeNeeded
from bot.storage.migrations import apply_migrations, newest_version, schema_version
from bot.storage.postgres.connection import open_postgres_pool
from bot.storage.postgres.database import PostgresDatabase
from bot.storage.sql import execute, fetch_all
from bot.storage.sqlite_database import SqliteDatabase
from bot.storage.transaction import transaction

DEFAULT_BUSY_TIMEOUT = 5.0


async def open_database(path: Path | str, *, migrate: bool = True, readonly: bool = False,
                        busy_timeout: float = DEFAULT_BUSY_TIMEOUT) -> SqliteDatabase:
    """Open (creating if needed) the database at `path`, configured and migrated.

    `readonly`: never write (see the module's docstring); a file that doesn't exist yet is created as
    without it.  `busy_timeout`: seconds to wait for another process's lock before failing.
    """
    uri = _readonly_uri(path) if readonly else None
    if uri is not None:
        return await _open_readonly(uri, str(path), busy_timeout)
    if str(path) != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    conn = await _connect(str(path), uri=False, busy_timeout=busy_timeout)
    try:
        found, newest = await schema_version(conn), newest_version()
        if found > newest:
            raise NewerSchema(str(path), found, newest)
        await execute(conn, "PRAGMA journal_mode=WAL")
        await execute(conn, "PRAGMA synchronous=NORMAL")
        if migrate:
            await apply_migrations(conn)
    except BaseException:
        # Close the connection's worker thread, or the process would hang on exit after the error.
        await conn.close()
        raise
    return conn


async def open_postgres_database(url: str, *, migrate: bool = True) -> PostgresDatabase:
    """Open the PostgreSQL database at `url` (`AAR_DATABASE_URL`), migrated: the other backend's
    `open_database`, a pool of connections (`bot.storage.postgres.database`)."""
    return await open_postgres_pool(url, migrate=migrate)


async def open_storage(db_path: Path | str, database_url: str | None, *, migrate: bool = True) -> Database:
    """The bot's database: PostgreSQL when `database_url` (AAR_DATABASE_URL) is set, else the SQLite file."""
    if database_url:
        return await open_postgres_database(database_url, migrate=migrate)
    return await open_database(db_path, migrate=migrate)


def _readonly_uri(path: Path | str) -> str | None:
    """The URI that opens `path` read-only; None when it is no file (it is created, or the error said)."""
    if str(path) == ":memory:" or not Path(path).is_file():
        return None
    return Path(path).absolute().as_uri() + "?mode=ro"


def _has_wal(path: str) -> bool:
    return Path(path + "-wal").exists()


async def _open_readonly(uri: str, path: str, busy_timeout: float) -> SqliteDatabase:
    conn = await _connect(uri, uri=True, busy_timeout=busy_timeout)
    try:
        try:
            found = await schema_version(conn)
        except sqlite3.Error as exc:
            if getattr(exc, "sqlite_errorname", "") != "SQLITE_READONLY_DIRECTORY" or _has_wal(path):
                raise
            await conn.close()
            conn = await _connect(uri + "&immutable=1", uri=True, busy_timeout=busy_timeout)
            found = await schema_version(conn)
    except BaseException:
        await conn.close()
        raise
    newest = newest_version()
    if found == newest:
        return conn
    await conn.close()
    if found > newest:
        raise NewerSchema(path, found, newest)
    try:
        return await open_database(path, busy_timeout=busy_timeout)  # the upgrade, then read as usual
    except sqlite3.Error as exc:
        if getattr(exc, "sqlite_errorname", "").startswith("SQLITE_READONLY"):
            raise UpgradeNeeded(path, found, newest, str(exc)) from exc
        raise


async def _connect(database: str, *, uri: bool, busy_timeout: float) -> SqliteDatabase:
    """Connect in a worker of asyncio's pool, then hand the open connection to aiosqlite (see above).

    `check_same_thread=False`: made in one thread, the connection is then used only by aiosqlite's.
    """
    raw = await asyncio.to_thread(sqlite3.connect, database, uri=uri, isolation_level=None,
                                  check_same_thread=False)
    conn = SqliteDatabase(await aiosqlite.Connection(lambda: raw, iter_chunk_size=64))
    try:
        conn.raw.row_factory = sqlite3.Row
        await execute(conn, "PRAGMA foreign_keys=ON")
        await execute(conn, f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
    except BaseException:
        await conn.close()
        raise
    return conn


class _ProbeDone(Exception):
    """Ends the probe's transaction, so it is rolled back."""


async def check_writable(conn: Database) -> None:
    """Raise SQLite's own error now if the database can't be written (a read-only file or folder).

    For a process that would otherwise find out at its first write, long after starting (the bot).  It
    creates a table in a transaction that is then rolled back: SQLite refuses the first page it would
    change, and on a writable database nothing reaches the file.
    """
    try:
        async with transaction(conn):
            await execute(conn, "CREATE TABLE aar_write_probe (x INTEGER)")
            raise _ProbeDone
    except _ProbeDone:
        pass


async def ping(conn: Database) -> None:
    """Ask the database the cheapest question there is; raises if it cannot answer (closed, broken)."""
    await fetch_all(conn, "SELECT 1")


async def database_file(conn: Database) -> str:
    """The file `conn` has open ("" for an in-memory database), to open a second connection on it."""
    rows = await fetch_all(conn, "PRAGMA database_list")
    return next((row[2] for row in rows if row[1] == "main"), "")


async def backup_to(conn: Database, target: Path) -> None:
    """Write a consistent copy of the database to `target` (a new file) while others keep using it."""
    await execute(conn, "VACUUM INTO ?", (str(target),))
