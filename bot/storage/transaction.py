"""`transaction(db)`: the only way storage groups statements into one atomic write.

Each backend keeps the promise its own way (`Database.transaction`); this module holds SQLite's, below.

A SQLite connection opened by `open_database` is in autocommit mode: every statement commits on its own.  A
write that needs several statements to be all-or-nothing runs them inside `transaction(conn)`, which
sends `BEGIN IMMEDIATE` (take the write lock now, so the transaction can't fail half-way on a lock held
by another connection), then `COMMIT`, or `ROLLBACK` when the body raises.

aiosqlite runs one connection's statements in order, but it knows nothing of transactions: on the
shared connection, a statement another coroutine sends while our transaction is open would become part
of it, committed early or, worse, silently undone by our ROLLBACK while its caller believes it stored.
So each connection has a gate: while a task holds a transaction open on it, every statement the other
tasks send through `bot.storage.sql` waits until the transaction ended.  That is why the body of a
transaction must await nothing but its own statements (no Discord call, no waiting on another task):
everyone else's database work waits for it, and waiting on another task's statement would deadlock.

ROLLBACK is sent only while SQLite still has the transaction open: SQLite itself ends a transaction on
some errors (a full disk, an interrupt), and a ROLLBACK failing with "no transaction is active" would
replace the error that actually happened.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import weakref
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field

import aiosqlite

from bot.storage.database import Database, NestedTransaction

_log = logging.getLogger(__name__)

__all__ = ["NestedTransaction", "sqlite_transaction", "transaction", "wait_turn"]


@dataclass
class _Gate:
    """Who holds a transaction open on one connection; the lock is held for as long as it is open."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    owner: asyncio.Task[object] | None = None


_gates: weakref.WeakKeyDictionary[aiosqlite.Connection, _Gate] = weakref.WeakKeyDictionary()


def transaction(db: Database) -> AbstractAsyncContextManager[None]:
    """Run the body's statements as one transaction: committed together, or (on any error) not at all."""
    return db.transaction()


@asynccontextmanager
async def sqlite_transaction(conn: aiosqlite.Connection) -> AsyncIterator[None]:
    """SQLite's transaction on one connection: BEGIN IMMEDIATE behind the connection's gate."""
    gate = _gates.setdefault(conn, _Gate())
    task = asyncio.current_task()
    if task is not None and gate.owner is task:
        raise NestedTransaction("a transaction is already open on this connection")
    async with gate.lock:
        gate.owner = task
        try:
            await conn.execute("BEGIN IMMEDIATE")
            try:
                yield
                await conn.execute("COMMIT")
            except BaseException:
                if _active(conn):
                    await _rollback(conn)
                raise
        finally:
            gate.owner = None


async def wait_turn(conn: aiosqlite.Connection) -> None:
    """Return once a statement may be sent on `conn`: at once, unless another task's transaction is open.

    The caller sends its statement right after, without awaiting anything else in between, so a
    transaction can't begin (its BEGIN is sent by the task that gets the lock, later) ahead of it.
    """
    gate = _gates.get(conn)
    if gate is None or gate.owner is None or gate.owner is asyncio.current_task():
        return
    async with gate.lock:
        pass


def _active(conn: aiosqlite.Connection) -> bool:
    try:
        return conn.in_transaction
    except ValueError:  # the connection is closed: nothing is open any more
        return False


async def _rollback(conn: aiosqlite.Connection) -> None:
    try:
        await conn.execute("ROLLBACK")
    except sqlite3.Error:
        if _active(conn):
            raise  # still open: carrying on would run every later statement inside it
        # SQLite ended it in the meantime (a COMMIT that a cancellation interrupted still ran): the
        # error the caller is about to see is the one that matters.
        _log.warning("ROLLBACK found no transaction to roll back", exc_info=True)
