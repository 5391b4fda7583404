"""Opening a PostgreSQL database: connect through asyncpg, refuse a newer schema, migrate.

The URL is the operator's `AAR_DATABASE_URL` (libpq's form, `postgresql://user:password@host:port/db`,
which asyncpg reads as libpq does, including `?sslmode=`).  The password never appears in a message:
`describe` gives the URL without it.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import asyncpg

from bot.storage.errors import NewerSchema
from bot.storage.postgres.migrations import apply_migrations, newest_postgres_version, schema_version

POSTGRES_SCHEMES = ("postgresql", "postgres")
DEFAULT_CONNECT_TIMEOUT = 10.0


def is_postgres_url(url: str) -> bool:
    """Whether `url` names a PostgreSQL database (libpq accepts both schemes)."""
    return urlsplit(url).scheme in POSTGRES_SCHEMES


def describe(url: str) -> str:
    """`url` without its password, to name the database in a message or a log line."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}@{netloc}" if user else netloc))


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
