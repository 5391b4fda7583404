"""Numbered SQL migrations (`migrations/V<n>__<name>.sql`), applied in order and recorded.

Each file runs in its own transaction, so a failing migration leaves the database at the previous
version.  Migrations never drop data: a later file may add tables, columns or indexes, or rewrite
values into a new form (V7 puts every stored timestamp in the one format `bot.timestamps` writes).
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from importlib import resources

import aiosqlite

from bot.storage.sql import execute, fetch_all
from bot.storage.transaction import transaction

_NAME = re.compile(r"^V(\d+)__([a-z0-9_]+)\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def discover_migrations() -> list[Migration]:
    """The shipped migrations, ordered by version; duplicate versions are a packaging bug."""
    found: dict[int, Migration] = {}
    for entry in resources.files("bot.storage").joinpath("migrations").iterdir():
        match = _NAME.match(entry.name)
        if not match:
            continue
        version = int(match.group(1))
        if version in found:
            raise RuntimeError(f"two migrations share version {version}: {found[version].name}, {entry.name}")
        found[version] = Migration(version, match.group(2), entry.read_text(encoding="utf-8"))
    return [found[v] for v in sorted(found)]


async def apply_migrations(conn: aiosqlite.Connection, *, through: int | None = None) -> list[int]:
    """Apply every migration newer than the database; return the versions applied.

    `through` stops at that version: how a test builds a database as an older release left it.
    """
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
        async with transaction(conn):
            for statement in _split_statements(migration.sql):
                await execute(conn, statement)
            await execute(conn, "INSERT INTO schema_migrations(version, name) VALUES (?, ?)",
                          (migration.version, migration.name))
        applied.append(migration.version)
    return applied


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
