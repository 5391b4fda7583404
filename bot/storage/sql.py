"""Sending statements: every statement of the storage modules goes through these functions.

Two reasons for the detour.  Each one waits its turn at the connection's transaction gate (see
`bot.storage.transaction`), so no statement slips into another task's open transaction.  And each one
says what it returns, where aiosqlite's `(await cur.fetchone())[0]` is typed "a row or None": an
aggregate always has its one row, a look-up may have none, and the type says which.

A query runs whole in one call to aiosqlite's worker thread (`execute_fetchall`), never as execute, then
fetch, then close: between those three calls other tasks' statements run on the same connection, and
while a SELECT's cursor is open the connection holds a read snapshot.  A write queued in that gap, after
another connection (the likes ingest's writer) committed, cannot upgrade the stale snapshot and fails at
once with SQLITE_BUSY ("database is locked"), which no busy timeout waits out.  A ✅ click just after a
restart, while the likes cog re-read reactions, failed that way.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import aiosqlite

from bot.storage.transaction import wait_turn

Params = Sequence[Any]


async def execute(conn: aiosqlite.Connection, sql: str, params: Params = ()) -> int:
    """Run one statement that returns no rows (INSERT, UPDATE, DELETE, DDL); the number of rows it changed.

    An INSERT whose caller needs the new row's id says `RETURNING id` and is sent with `fetch_value`.
    """
    await wait_turn(conn)
    async with conn.execute(sql, params) as cur:
        return cur.rowcount


async def execute_many(conn: aiosqlite.Connection, sql: str, rows: Iterable[Params]) -> None:
    """Run one statement once per parameter row (a batch of INSERTs, say)."""
    await wait_turn(conn)
    async with conn.executemany(sql, rows):
        pass


async def fetch_all(conn: aiosqlite.Connection, sql: str, params: Params = ()) -> list[aiosqlite.Row]:
    await wait_turn(conn)
    return list(await conn.execute_fetchall(sql, params))


async def fetch_one(conn: aiosqlite.Connection, sql: str, params: Params = ()) -> aiosqlite.Row | None:
    """The first row, or None when the query finds nothing."""
    await wait_turn(conn)
    rows = list(await conn.execute_fetchall(sql, params))
    return rows[0] if rows else None


async def fetch_row(conn: aiosqlite.Connection, sql: str, params: Params = ()) -> aiosqlite.Row:
    """The one row a query always returns (an aggregate such as `COUNT(*)` without GROUP BY).

    A query that found no row is a mistake in the query, not an answer: LookupError says which.
    """
    row = await fetch_one(conn, sql, params)
    if row is None:
        raise LookupError(f"expected one row from: {sql}")
    return row


async def fetch_value(conn: aiosqlite.Connection, sql: str, params: Params = ()) -> Any:
    """The first column of the one row a query always returns (`COUNT(*)`, `COALESCE(MAX(x), 0)`)."""
    return (await fetch_row(conn, sql, params))[0]
