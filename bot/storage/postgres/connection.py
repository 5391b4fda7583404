"""Opening a PostgreSQL database: connect through asyncpg, refuse a newer schema, migrate.

The URL is the operator's `AAR_DATABASE_URL` (`bot.storage.postgres.url`).  The password never appears in
a message: a refusal names the database by `describe(url)`.
"""

from __future__ import annotations

import asyncpg

from bot.storage.errors import NewerSchema
from bot.storage.postgres.database import PostgresDatabase
from bot.storage.postgres.migrations import apply_migrations, newest_postgres_version, schema_version
from bot.storage.postgres.url import describe

DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_POOL_SIZE = 10


async def open_postgres(url: str, *, migrate: bool = True,
                        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT) -> asyncpg.Connection:
    """Connect to the database at `url`, then bring its schema to this code's (unless `migrate=False`).

    A database a newer release wrote is refused (`NewerSchema`) and left untouched.
    """
    conn = await asyncpg.connect(url, timeout=connect_timeout)
    try:
        if migrate:
            await apply_migrations(conn, where=describe(url))
        else:
            found, newest = await schema_version(conn), newest_postgres_version()
            if found > newest:
                raise NewerSchema(describe(url), found, newest)
    except BaseException:
        await conn.close()
        raise
    return conn


async def open_postgres_pool(url: str, *, migrate: bool = True, min_size: int = 1,
                             max_size: int = DEFAULT_POOL_SIZE,
                             connect_timeout: float = DEFAULT_CONNECT_TIMEOUT) -> PostgresDatabase:
    """The bot's PostgreSQL storage: the database at `url` migrated (as `open_postgres`), then a pool.

    The pool starts with `min_size` connections and grows to `max_size` while statements wait for one; a
    process never needs many (a statement holds its connection only while it runs).
    """
    conn = await open_postgres(url, migrate=migrate, connect_timeout=connect_timeout)
    await conn.close()
    pool = await asyncpg.create_pool(url, min_size=min_size, max_size=max_size, timeout=connect_timeout)
    return PostgresDatabase(pool)
