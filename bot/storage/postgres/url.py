"""`AAR_DATABASE_URL`: whether it names PostgreSQL, and how to name it without its password.

The URL is libpq's (`postgresql://user:password@host:port/db?sslmode=...`), which asyncpg reads as libpq
does.  No asyncpg import here: the settings check a URL without loading the driver.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

POSTGRES_SCHEMES = ("postgresql", "postgres")  # libpq accepts both


def is_postgres_url(url: str) -> bool:
    """Whether `url` names a PostgreSQL database."""
    return urlsplit(url).scheme in POSTGRES_SCHEMES


def describe(url: str) -> str:
    """`url` without its password, to name the database in a message or a log line."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{parts.username}@{host}" if parts.username else host))
