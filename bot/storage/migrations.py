"""Numbered SQL migrations (`migrations/V<n>__<name>.sql`), applied in order and recorded.

Each file runs in its own transaction, so a failing migration leaves the database at the previous
version.  Migrations never drop data: a later file may add tables, columns or indexes, or rewrite
values into a new form (V7 puts every stored timestamp in the one format `bot.timestamps` writes).

A change SQLite's ALTER TABLE can't make (a new primary key, a constraint) rebuilds the table, as SQLite
documents it: create the new table, copy the rows, drop the old one, rename the new one into place.  A
migration that does so starts with the line `-- aar: rebuilds tables`.  Its transaction then runs with
foreign-key enforcement off (SQLite only switches it outside a transaction; dropping a parent table would
otherwise delete or orphan its children's references), and `PRAGMA foreign_key_check` must find every
reference intact before it commits: a copy that lost a row is refused, and nothing of it stays.

A database records the versions applied to it (`schema_migrations`), so a database a newer release
wrote is recognised: its highest version is above the newest file shipped here.  This code doesn't know
what that release's tables mean, so it refuses it (`NewerSchema`) rather than write to it.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from importlib import resources

from bot.storage.database import Database
from bot.storage.errors import NewerSchema
from bot.storage.sql import execute, fetch_all, fetch_value
from bot.storage.transaction import transaction

_NAME = re.compile(r"^V(\d+)__([a-z0-9_]+)\.sql$")


REBUILDS_TABLES = "-- aar: rebuilds tables"


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def rebuilds_tables(self) -> bool:
        """Whether the migration rebuilds tables (see the module's docstring): its first line says so."""
        return self.sql.lstrip().startswith(REBUILDS_TABLES)


class BrokenReferences(RuntimeError):
    """A table rebuild left references to rows that are not there: the migration is refused."""


SQLITE_MIGRATIONS = "migrations"
POSTGRES_MIGRATIONS = "migrations_pg"  # the same versions and names, in PostgreSQL's dialect


def discover_migrations(folder: str = SQLITE_MIGRATIONS) -> list[Migration]:
    """The shipped migrations of one backend (`folder` of bot.storage), ordered by version; duplicate
    versions are a packaging bug."""
    found: dict[int, Migration] = {}
    for entry in resources.files("bot.storage").joinpath(folder).iterdir():
        match = _NAME.match(entry.name)
        if not match:
            continue
        version = int(match.group(1))
        if version in found:
            raise RuntimeError(f"two migrations share version {version}: {found[version].name}, {entry.name}")
        found[version] = Migration(version, match.group(2), entry.read_text(encoding="utf-8"))
    return [found[v] for v in sorted(found)]


def newest_version(folder: str = SQLITE_MIGRATIONS) -> int:
    """The version of the newest shipped migration: the schema this code reads and writes."""
    return max((m.version for m in discover_migrations(folder)), default=0)


async def schema_version(conn: Database) -> int:
    """The newest migration applied to the database (0 for a new, empty one).  Only reads."""
    if not await fetch_value(conn, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'"
                                   " AND name = 'schema_migrations'"):
        return 0
    return int(await fetch_value(conn, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations"))


async def apply_migrations(conn: Database, *, through: int | None = None) -> list[int]:
    """Apply every migration newer than the database; return the versions applied.

    `through` stops at that version: how a test builds a database as an older release left it.
    A database newer than every shipped migration is refused before anything is written.
    """
    found, newest = await schema_version(conn), newest_version()
    if found > newest:
        rows = await fetch_all(conn, "PRAGMA database_list")
        raise NewerSchema(next((row[2] for row in rows if row[1] == "main"), "") or "the database",
                          found, newest)
    await execute(
        conn,
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
        " applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')))",
    )
    done = {row[0] for row in await fetch_all(conn, "SELECT version FROM schema_migrations")}
    applied: list[int] = []
    for migration in discover_migrations():
        if migration.version in done or (through is not None and migration.version > through):
            continue
        await apply_migration(conn, migration)
        applied.append(migration.version)
    return applied


async def apply_migration(conn: Database, migration: Migration) -> None:
    """Apply one migration in its own transaction and record it (the runner's step; tests use it alone)."""
    if migration.rebuilds_tables:
        await execute(conn, "PRAGMA foreign_keys = OFF")  # takes effect here, outside any transaction
    try:
        async with transaction(conn):
            for statement in _split_statements(migration.sql):
                await execute(conn, statement)
            if migration.rebuilds_tables:
                broken = await fetch_all(conn, "PRAGMA foreign_key_check")
                if broken:
                    tables = sorted({str(row[0]) for row in broken})
                    raise BrokenReferences(f"migration V{migration.version} ({migration.name}) left "
                                           f"{len(broken)} broken references in {', '.join(tables)}")
            await execute(conn, "INSERT INTO schema_migrations(version, name) VALUES (?, ?)",
                          (migration.version, migration.name))
    finally:
        if migration.rebuilds_tables:
            await execute(conn, "PRAGMA foreign_keys = ON")


def _split_statements(sql: str) -> list[str]:
    """Split a migration into statements (sqlite3's executescript would commit our transaction).

    SQLite's own `complete_statement` decides where a statement ends, so semicolons inside strings,
    triggers and trailing `-- comments` are all handled.
    """
    statements, buffer = [], []
    for line in sql.splitlines():
        buffer.append(line)
        candidate = "\n".join(buffer)
        if sqlite3.complete_statement(candidate):
            statements.append(candidate.strip())
            buffer = []
    tail = "\n".join(line for line in buffer if not line.strip().startswith("--")).strip()
    if tail:
        statements.append(tail)
    return statements
