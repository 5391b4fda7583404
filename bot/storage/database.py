"""`Database`: the one contract every storage function is written against, whichever backend holds the data.

Two implementations: `SqliteDatabase` (`bot.storage.sqlite_database`, one aiosqlite connection: the
embedded default) and `PostgresDatabase` (`bot.storage.postgres.database`, an asyncpg pool: for several
processes sharing one database).  Storage modules never talk to either driver: they send statements
through `bot.storage.sql` and group them with `bot.storage.transaction`, and they write SQL both backends
run (`?` placeholders, which the PostgreSQL side numbers `$1, $2, …`; `INSERT ... ON CONFLICT`, `RETURNING`;
instants as text in the `bot.timestamps` format).  Where the two engines genuinely differ (full-text search,
the file a SQLite database lives in), a storage module asks `backend` and says why.

The transaction promise is SQLite's on both: one write transaction at a time (SQLite's `BEGIN IMMEDIATE`;
on PostgreSQL a transaction-scoped advisory lock every process takes first), so a read-then-write inside a
transaction (the release claim, the quiz's one answer) sees every earlier transaction's writes and no
later one can slip between its statements, even across processes.
"""

from __future__ import annotations

import sqlite3
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Literal, TypeAlias

import asyncpg

Row: TypeAlias = sqlite3.Row | asyncpg.Record  # both read by position and by column name
Params = Sequence[Any]
Backend = Literal["sqlite", "postgresql"]

# What each driver raises, by meaning, so features catch one name whichever backend answered:
# a constraint refused the write (a UNIQUE claim someone else holds, say);
INTEGRITY_ERRORS: tuple[type[Exception], ...] = (sqlite3.IntegrityError,
                                                 asyncpg.IntegrityConstraintViolationError)
# the database was busy with others (SQLite's lock past its timeout; PostgreSQL's deadlock, lock or
# connection limits): nothing is wrong but timing, and the same work may be tried again;
BUSY_ERRORS: tuple[type[Exception], ...] = (sqlite3.OperationalError, asyncpg.DeadlockDetectedError,
                                            asyncpg.LockNotAvailableError, asyncpg.TooManyConnectionsError,
                                            asyncpg.SerializationError)
# a table this code expects is not there (a database of an older tool, or none of its own).
MISSING_TABLE_ERRORS: tuple[type[Exception], ...] = (sqlite3.OperationalError, asyncpg.UndefinedTableError)


class NestedTransaction(RuntimeError):
    """`transaction()` inside another transaction of the same task: neither backend nests them here."""


class Database(ABC):
    """A database the storage functions read and write; see the module's docstring for the rules."""

    backend: Backend

    @abstractmethod
    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run one statement that returns no rows; the number of rows it changed."""

    @abstractmethod
    async def execute_many(self, sql: str, rows: Iterable[Params]) -> None:
        """Run one statement once per parameter row."""

    @abstractmethod
    async def fetch_all(self, sql: str, params: Params = ()) -> list[Row]:
        """Every row of a query, read whole in one call."""

    @property
    @abstractmethod
    def in_transaction(self) -> bool:
        """Whether a transaction is open here (SQLite: on the connection; PostgreSQL: in this task)."""

    @abstractmethod
    def transaction(self) -> AbstractAsyncContextManager[None]:
        """The body's statements as one transaction: committed together or, on any error, not at all."""

    @abstractmethod
    async def close(self) -> None:
        """Release the connection(s); the database is unusable afterwards."""

    async def __aenter__(self) -> Database:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
