"""`SqliteDatabase`: the `Database` contract over one aiosqlite connection (the embedded default).

A query runs whole in one call to aiosqlite's worker thread (`execute_fetchall`), never as execute, then
fetch, then close: between those three calls other tasks' statements run on the same connection, and
while a SELECT's cursor is open the connection holds a read snapshot.  A write queued in that gap, after
another connection (the likes ingest's writer) committed, cannot upgrade the stale snapshot and fails at
once with SQLITE_BUSY ("database is locked"), which no busy timeout waits out.  A ✅ click just after a
restart, while the likes cog re-read reactions, failed that way.

Every statement first waits its turn at the connection's transaction gate (`bot.storage.transaction`),
so none slips into another task's open transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import AbstractAsyncContextManager

import aiosqlite

from bot.storage.database import Database, Params, Row
from bot.storage.transaction import sqlite_transaction, wait_turn


class SqliteDatabase(Database):
    """One SQLite connection in autocommit mode, shared by every task of the process."""

    backend = "sqlite"

    def __init__(self, raw: aiosqlite.Connection) -> None:
        self.raw = raw  # for what only SQLite has (the file, VACUUM INTO, in_transaction)

    async def execute(self, sql: str, params: Params = ()) -> int:
        await wait_turn(self.raw)
        async with self.raw.execute(sql, params) as cur:
            return cur.rowcount

    async def execute_many(self, sql: str, rows: Iterable[Params]) -> None:
        await wait_turn(self.raw)
        async with self.raw.executemany(sql, rows):
            pass

    async def fetch_all(self, sql: str, params: Params = ()) -> list[Row]:
        await wait_turn(self.raw)
        return list(await self.raw.execute_fetchall(sql, params))

    @property
    def in_transaction(self) -> bool:
        try:
            return self.raw.in_transaction
        except ValueError:  # closed: nothing is open any more
            return False

    def transaction(self) -> AbstractAsyncContextManager[None]:
        return sqlite_transaction(self.raw)

    async def close(self) -> None:
        await self.raw.close()
