"""The migration runner for PostgreSQL: the SQLite runner's rules, through asyncpg.

As on SQLite (`bot.storage.migrations`): the versions applied are recorded in `schema_migrations`; each
migration runs in its own transaction, so a failing one leaves the database at the version before it; a
database a newer release wrote (its highest version above the newest shipped file) is refused with
`NewerSchema` before anything is written.

Unlike a SQLite file, one PostgreSQL database is shared by every process of the bot (each shard), which
may start at the same moment: the runner holds an advisory lock while it migrates, so the second process
waits, then finds nothing left to apply.  A migration file is sent whole (asyncpg's simple-query
protocol runs several statements), so PL/pgSQL bodies need no statement splitting.
"""

from __future__ import annotations

import asyncpg

from bot.storage.errors import NewerSchema
from bot.storage.migrations import POSTGRES_MIGRATIONS, discover_migrations, newest_version

# pg_advisory_lock's key for "migrating this database": any constant the bot uses for nothing else.
MIGRATION_LOCK = 0x4141_5242_4F54  # "AARBOT"

_NOW = """to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')"""


def newest_postgres_version() -> int:
    """The newest PostgreSQL migration shipped: the schema this code reads and writes."""
    return newest_version(POSTGRES_MIGRATIONS)


async def schema_version(conn: asyncpg.Connection) -> int:
    """The newest migration applied to the database (0 for a new, empty one).  Only reads."""
    if not await conn.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL"):
        return 0
    return int(await conn.fetchval("SELECT COALESCE(MAX(version), 0) FROM schema_migrations"))


async def apply_migrations(conn: asyncpg.Connection, *, through: int | None = None,
                           where: str = "the database") -> list[int]:
    """Apply every migration newer than the database; return the versions applied.

    `through` stops at that version (how a test builds a database as an older release left it).
    `where` names the database in a refusal (a URL without its password).
    """
    await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK)
    try:
        found, newest = await schema_version(conn), newest_postgres_version()
        if found > newest:
            raise NewerSchema(where, found, newest)
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            f" version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL DEFAULT ({_NOW}))"
        )
        done = {row[0] for row in await conn.fetch("SELECT version FROM schema_migrations")}
        applied: list[int] = []
        for migration in discover_migrations(POSTGRES_MIGRATIONS):
            if migration.version in done or (through is not None and migration.version > through):
                continue
            async with conn.transaction():
                await conn.execute(migration.sql)
                await conn.execute("INSERT INTO schema_migrations(version, name) VALUES ($1, $2)",
                                   migration.version, migration.name)
            applied.append(migration.version)
        return applied
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK)
