"""Sending statements: every statement of the storage modules goes through these functions.

Two reasons for the detour.  They hand the statement to the `Database` (`bot.storage.database`), whichever
backend it is, and each backend keeps the transaction rule (SQLite's gate: no statement slips into another
task's open transaction; PostgreSQL's: a transaction's statements go to its own connection).  And each one
says what it returns, where a driver's "a row or None" is the type of every fetch: an aggregate always has
its one row, a look-up may have none, and the type says which.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from bot.storage.database import Database, Params, Row

__all__ = ["Params", "Row", "execute", "execute_many", "fetch_all", "fetch_one", "fetch_row", "fetch_value"]


async def execute(conn: Database, sql: str, params: Params = ()) -> int:
    """Run one statement that returns no rows (INSERT, UPDATE, DELETE, DDL); the number of rows it changed.

    An INSERT whose caller needs the new row's id says `RETURNING id` and is sent with `fetch_value`.
    """
    return await conn.execute(sql, params)


async def execute_many(conn: Database, sql: str, rows: Iterable[Params]) -> None:
    """Run one statement once per parameter row (a batch of INSERTs, say)."""
    await conn.execute_many(sql, rows)


async def fetch_all(conn: Database, sql: str, params: Params = ()) -> list[Row]:
    return await conn.fetch_all(sql, params)


async def fetch_one(conn: Database, sql: str, params: Params = ()) -> Row | None:
    """The first row, or None when the query finds nothing."""
    rows = await conn.fetch_all(sql, params)
    return rows[0] if rows else None


async def fetch_row(conn: Database, sql: str, params: Params = ()) -> Row:
    """The one row a query always returns (an aggregate such as `COUNT(*)` without GROUP BY).

    A query that found no row is a mistake in the query, not an answer: LookupError says which.
    """
    row = await fetch_one(conn, sql, params)
    if row is None:
        raise LookupError(f"expected one row from: {sql}")
    return row


async def fetch_value(conn: Database, sql: str, params: Params = ()) -> Any:
    """The first column of the one row a query always returns (`COUNT(*)`, `COALESCE(MAX(x), 0)`)."""
    return (await fetch_row(conn, sql, params))[0]
