"""`aar-bot migrate-to-postgres`: copy a SQLite database into an empty PostgreSQL one, all or nothing.

Both databases are first brought to this code's schema (the same version on both backends, whose tables
and columns have the same names), so every SQLite table maps to the PostgreSQL table of its name.  Then:

* one PostgreSQL transaction holds the whole copy, and the counts of both sides are compared inside it:
  any difference, or any error, rolls it back and leaves the target as empty as it was;
* the SQLite side is read inside one of its transactions (`BEGIN IMMEDIATE`): a consistent snapshot, and
  a bot still running on the file can't write anything meanwhile that the copy would miss;
* a target that holds any row already is refused: the copy never merges two databases;
* tables are filled parents first (foreign keys stay checked), through COPY (asyncpg's binary
  `copy_records_to_table`), fed `BATCH` rows at a time in primary-key order, so a large table (the
  reactions) is never held in memory whole; SQLite is read through `bot.storage.sql`, as everywhere;
* user triggers are off during the copy (a copied quiz answer must not score again: `quiz_scores` is
  copied as it is), and the search index (`story_search`, which SQLite's contentless FTS5 table can't give
  back) is rebuilt from the copied blocks, as migration V9 builds it;
* identity columns continue after the highest copied id.
"""

from __future__ import annotations

import graphlib
from collections.abc import AsyncGenerator
from contextlib import aclosing
from dataclasses import dataclass

import asyncpg

from bot.storage.database import Database
from bot.storage.errors import DatabaseProblem
from bot.storage.migrations import schema_version as sqlite_schema_version
from bot.storage.postgres.migrations import schema_version as postgres_schema_version
from bot.storage.sql import fetch_all, fetch_value
from bot.storage.transaction import transaction

# Not copied: each backend records its own migrations, and the search index is rebuilt from `blocks`.
NOT_COPIED = frozenset({"schema_migrations", "story_search"})
# Rows a migration writes into a new database (V14's story 1), which the source holds as well: removed
# from the target before the copy, when nothing refers to them yet; anything more is a non-empty target.
SEEDED = {"stories": "id = 1 AND NOT EXISTS (SELECT 1 FROM chapters)"}
BATCH = 5000  # rows read from SQLite per query
REBUILD_SEARCH = ("INSERT INTO story_search(rowid, text) SELECT (story_id - 1) * 281474976710656"
                  " + chapter_number * 4294967296 + position, to_tsvector('aar_story', text) FROM blocks")


@dataclass(frozen=True)
class CopyReport:
    """Rows copied per table (equal on both sides: the copy checked), parents first."""

    rows: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.rows.values())


class CopyRefused(DatabaseProblem):
    """The copy can't be made as asked (a non-empty target, schemas that differ, counts that differ)."""


async def copy_to_postgres(source: Database, target: asyncpg.Connection, *,
                           target_name: str) -> CopyReport:
    """Copy every table of `source` (migrated) into `target` (migrated, empty) in one transaction."""
    async with transaction(source):
        versions = await sqlite_schema_version(source), await postgres_schema_version(target)
        if versions[0] != versions[1]:
            raise CopyRefused(f"the SQLite database has schema version {versions[0]} and {target_name} "
                              f"has {versions[1]}: both must be this AAR Bot's")
        tables = await _tables_parents_first(target)
        await _check_same_tables(source, tables, target_name)
        async with target.transaction():
            for table in tables:
                if table in SEEDED:  # rows the migrations wrote: the source has them too
                    await target.execute(f"DELETE FROM {table} WHERE {SEEDED[table]}")
                if await target.fetchval(f"SELECT EXISTS (SELECT 1 FROM {table})"):
                    raise CopyRefused(f"{target_name} already holds data (table {table}): "
                                      "migrate-to-postgres copies into an empty database only")
            for table in tables:
                await target.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
            for table in tables:
                columns = await _columns(target, table)
                # Closed here even when COPY fails half-way: its cursor must not outlive the connection.
                async with aclosing(_rows(source, table, columns, await _primary_key(source, table))) as rows:
                    try:
                        await target.copy_records_to_table(table, columns=columns, records=rows)
                    except (TypeError, ValueError, asyncpg.DataError) as exc:
                        # SQLite keeps any value in any column; PostgreSQL checks each against its type.
                        raise CopyRefused(f"table {table} holds a value {target_name} can't store ({exc}); "
                                          "nothing was kept") from None
            await target.execute(REBUILD_SEARCH)
            for table in tables:
                await target.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
            await _continue_identities(target)
            return CopyReport(await _checked_counts(source, target, tables, target_name))


async def _tables_parents_first(target: asyncpg.Connection) -> list[str]:
    names = [row[0] for row in await target.fetch(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")]
    sorter: graphlib.TopologicalSorter[str] = graphlib.TopologicalSorter({name: () for name in names})
    for row in await target.fetch(
            "SELECT conrelid::regclass::text, confrelid::regclass::text FROM pg_constraint"
            " WHERE contype = 'f' AND connamespace = 'public'::regnamespace"):
        sorter.add(row[0], row[1])
    return [name for name in sorter.static_order() if name not in NOT_COPIED]


async def _check_same_tables(source: Database, tables: list[str], target_name: str) -> None:
    found = {row[0] for row in await fetch_all(source, "SELECT name FROM sqlite_master WHERE type = 'table'")}
    missing = sorted(set(tables) - found)
    if missing:
        raise CopyRefused(f"the SQLite database has no table {', '.join(missing)} that {target_name} has")


async def _columns(target: asyncpg.Connection, table: str) -> list[str]:
    rows = await target.fetch("SELECT column_name FROM information_schema.columns WHERE table_schema ="
                              " 'public' AND table_name = $1 ORDER BY ordinal_position", table)
    return [row[0] for row in rows]


async def _primary_key(source: Database, table: str) -> list[str]:
    """The table's primary-key columns (every table has one), or its rowid."""
    info = await fetch_all(source, f"PRAGMA table_info({table})")
    return [row["name"] for row in sorted(info, key=lambda row: row["pk"]) if row["pk"]] or ["rowid"]


async def _rows(source: Database, table: str, columns: list[str],
                key: list[str]) -> AsyncGenerator[tuple[object, ...], None]:
    query = f"SELECT {', '.join(columns)} FROM {table} ORDER BY {', '.join(key)} LIMIT ? OFFSET ?"
    offset = 0
    while batch := await fetch_all(source, query, (BATCH, offset)):
        for row in batch:
            yield tuple(row)
        offset += len(batch)


async def _continue_identities(target: asyncpg.Connection) -> None:
    for table, column in await target.fetch(
            "SELECT table_name, column_name FROM information_schema.columns"
            " WHERE table_schema = 'public' AND is_identity = 'YES'"):
        await target.execute(f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'),"
                             f" COALESCE(MAX({column}), 0) + 1, false) FROM {table}")


async def _checked_counts(source: Database, target: asyncpg.Connection, tables: list[str],
                          target_name: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for table in tables:
        found = await fetch_value(source, f"SELECT COUNT(*) FROM {table}")
        copied = await target.fetchval(f"SELECT COUNT(*) FROM {table}")
        if found != copied:
            raise CopyRefused(f"table {table}: {found} rows in the SQLite database but "
                              f"{copied} in {target_name} after the copy; nothing was kept")
        counts[table] = copied
    blocks, indexed = counts.get("blocks", 0), await target.fetchval("SELECT COUNT(*) FROM story_search")
    if blocks != indexed:
        raise CopyRefused(f"{indexed} blocks indexed for search of {blocks}; nothing was kept")
    return counts
