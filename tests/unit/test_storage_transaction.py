"""`transaction()`: all or nothing, the error that happened is the error raised, and on a shared connection
no other task's statement slips into an open transaction (the gate in `bot.storage.transaction`)."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest

from bot.storage import open_database, transaction
from bot.storage.database import INTEGRITY_ERRORS, Database
from bot.storage.sql import execute, fetch_all, fetch_value
from bot.storage.transaction import NestedTransaction

pytestmark = pytest.mark.both_backends


async def add_guild(conn: Database, guild_id: int) -> None:
    await execute(conn, "INSERT INTO guild_settings(guild_id) VALUES (?)", (guild_id,))


async def guilds(conn: Database) -> list[int]:
    return [r[0] for r in await fetch_all(conn, "SELECT guild_id FROM guild_settings ORDER BY guild_id")]


@pytest.mark.sqlite_only
async def test_the_statements_are_committed_together(db, tmp_path):
    async with transaction(db):
        await add_guild(db, 1)
        await add_guild(db, 2)
    assert not db.in_transaction
    other = await open_database(tmp_path / "aar.db")  # committed: another connection sees them
    try:
        assert await guilds(other) == [1, 2]
    finally:
        await other.close()


async def test_an_error_in_the_body_undoes_everything_and_is_the_error_raised(db):
    with pytest.raises(LookupError, match="the body failed"):
        async with transaction(db):
            await add_guild(db, 1)
            raise LookupError("the body failed")
    assert await guilds(db) == [] and not db.in_transaction


@pytest.mark.sqlite_only
async def test_when_sqlite_ended_the_transaction_itself_its_error_is_not_replaced(db):
    # RAISE(ROLLBACK) makes SQLite roll the whole transaction back before the error reaches us: a second
    # ROLLBACK would fail with "no transaction is active" and hide why the write failed.
    await execute(db, "CREATE TEMP TRIGGER refuse BEFORE INSERT ON guild_settings WHEN NEW.guild_id = 2"
                     " BEGIN SELECT RAISE(ROLLBACK, 'guild 2 refused'); END")
    with pytest.raises(sqlite3.IntegrityError, match="guild 2 refused"):
        async with transaction(db):
            await add_guild(db, 1)
            await add_guild(db, 2)
    assert await guilds(db) == [] and not db.in_transaction


@pytest.mark.sqlite_only
async def test_a_commit_that_fails_is_rolled_back(db):
    # A deferred foreign key is checked at COMMIT; a failed COMMIT leaves the transaction open.
    with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
        async with transaction(db):
            await execute(db, "PRAGMA defer_foreign_keys = ON")
            await add_guild(db, 1)
            await execute(db, "INSERT INTO blocks(chapter_number, position, kind)"
                              " VALUES (99, 0, 'paragraph')")
    assert not db.in_transaction
    assert await guilds(db) == [] and await fetch_value(db, "SELECT COUNT(*) FROM blocks") == 0


async def test_a_transaction_inside_a_transaction_is_refused_and_the_outer_one_undone(db):
    with pytest.raises(NestedTransaction):
        async with transaction(db):
            await add_guild(db, 1)
            async with transaction(db):
                await add_guild(db, 2)
    assert await guilds(db) == [] and not db.in_transaction


async def test_another_tasks_statement_waits_for_the_transaction_and_survives_its_rollback(db):
    inside, attempting = asyncio.Event(), asyncio.Event()

    async def other_feature() -> None:
        await inside.wait()
        attempting.set()
        await add_guild(db, 2)  # sent while the transaction below is open

    other = asyncio.create_task(other_feature())
    with pytest.raises(LookupError):
        async with transaction(db):
            await add_guild(db, 1)
            inside.set()
            # Breaking the rule on purpose (awaiting something else inside), to let the other task run.
            await attempting.wait()
            await fetch_value(db, "SELECT COUNT(*) FROM guild_settings")  # a round trip to the database
            raise LookupError("undo guild 1")
    await other
    assert await guilds(db) == [2]  # without the gate, guild 2 was written inside, and undone with it


async def test_transactions_of_several_tasks_on_one_connection_take_turns(db):
    async def write(guild_id: int) -> None:
        async with transaction(db):
            await add_guild(db, guild_id)
            await add_guild(db, guild_id + 100)

    await asyncio.gather(write(1), write(2), write(3))
    assert await guilds(db) == [1, 2, 3, 101, 102, 103]


async def test_a_statement_the_database_refuses_undoes_the_earlier_ones(db):
    # Both backends: the second INSERT breaks the primary key; the first must not stay behind.
    with pytest.raises(INTEGRITY_ERRORS):
        async with transaction(db):
            await add_guild(db, 1)
            await add_guild(db, 1)
    assert await guilds(db) == [] and not db.in_transaction
    async with transaction(db):  # and the database takes the next transaction as usual
        await add_guild(db, 2)
    assert await guilds(db) == [2]
