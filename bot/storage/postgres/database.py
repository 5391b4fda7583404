"""`PostgresDatabase`: the `Database` contract over an asyncpg pool (`AAR_DATABASE_URL`).

Statements outside a transaction each borrow a pooled connection for just that statement, so one slow
query never holds up the others (SQLite's single connection queues them).  A transaction borrows one
connection for its whole body; the body's statements find it through a context variable, so storage code
keeps passing the `Database` and needs no second API.

The write promise is SQLite's (`bot.storage.database`): a transaction first takes a transaction-scoped
advisory lock, the same key in every process, so write transactions run one at a time across the whole
deployment, as `BEGIN IMMEDIATE` makes them on a SQLite file.  Under PostgreSQL's READ COMMITTED, each
statement after the lock sees everything committed before it: a claim's "is this release taken?" then
"take it" can't interleave with another process's.
"""

from __future__ import annotations

import contextvars
from collections.abc import AsyncIterator, Iterable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from bot.storage.database import Database, NestedTransaction, Params, Row
from bot.storage.postgres.dialect import postgres_sql, rows_changed

# pg_advisory_xact_lock's key for "a storage write transaction": a constant the bot uses for nothing else.
WRITE_LOCK = 0x4141_5257_5254  # "AARWRT"


class PostgresDatabase(Database):
    """A pool of connections to one PostgreSQL database (migrated), shared by every task of the process."""

    backend = "postgresql"

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self._in_transaction: contextvars.ContextVar[PoolConnectionProxy | None] = contextvars.ContextVar(
            f"aar_pg_transaction_{id(self)}", default=None)

    async def execute(self, sql: str, params: Params = ()) -> int:
        conn = self._in_transaction.get()
        query = postgres_sql(sql)
        if conn is not None:
            return rows_changed(await conn.execute(query, *params))
        return rows_changed(await self.pool.execute(query, *params))

    async def execute_many(self, sql: str, rows: Iterable[Params]) -> None:
        conn = self._in_transaction.get()
        query, batch = postgres_sql(sql), [tuple(row) for row in rows]
        if not batch:
            return
        if conn is not None:
            await conn.executemany(query, batch)
        else:
            await self.pool.executemany(query, batch)

    async def fetch_all(self, sql: str, params: Params = ()) -> list[Row]:
        conn = self._in_transaction.get()
        query = postgres_sql(sql)
        if conn is not None:
            return list(await conn.fetch(query, *params))
        return list(await self.pool.fetch(query, *params))

    @property
    def in_transaction(self) -> bool:
        return self._in_transaction.get() is not None

    def transaction(self) -> AbstractAsyncContextManager[None]:
        return self._transaction()

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[None]:
        if self._in_transaction.get() is not None:
            raise NestedTransaction("a transaction is already open in this task")
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", WRITE_LOCK)
            token = self._in_transaction.set(conn)
            try:
                yield
            finally:
                self._in_transaction.reset(token)

    async def close(self) -> None:
        await self.pool.close()
