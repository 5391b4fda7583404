"""The one-of-a-kind rules under concurrency on PostgreSQL: two processes (two pools on one database)
racing for the same release, the same reaction arriving many times at once, the same quiz answer clicked
many times at once.  Each holds in the database itself, whichever process wins."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from bot.config import SHIPPED_THREAD
from bot.storage import likes, quiz, release_log
from bot.storage.connection import open_postgres_database
from bot.storage.database import Database
from bot.storage.sql import fetch_value
from bot.story.importer import import_file
from tests.postgres import PostgresServer

GUILD, MEMBER = 1_100_000_000_000_000_001, 1_200_000_000_000_000_002
RACERS = 12


@pytest.fixture
async def two_processes(postgres_server: PostgresServer) -> AsyncIterator[tuple[Database, Database]]:
    """Two independent pools on one database holding the shipped story, as two bot processes have."""
    url = await postgres_server.new_migrated_database()
    first, second = await open_postgres_database(url), await open_postgres_database(url)
    try:
        await import_file(first, SHIPPED_THREAD)
        yield first, second
    finally:
        await first.close()
        await second.close()
        await postgres_server.drop_database(url)


def alternating(pair: tuple[Database, Database]) -> list[Database]:
    return [pair[i % 2] for i in range(RACERS)]


async def test_racing_claims_for_one_release_let_exactly_one_win(two_processes) -> None:
    async def claim(db: Database) -> bool:
        return await release_log.claim_release(
            db, guild_id=GUILD, chapter=1, channel_id=10, rendered=[{"content": "Chapter 1"}],
            renderer_version=1, alert_role_id=None, parts_total=1, thread_name=None,
            started_at="2026-03-01T18:00:00.000Z")

    won = await asyncio.gather(*(claim(db) for db in alternating(two_processes)))
    assert won.count(True) == 1
    db = two_processes[0]
    assert await fetch_value(db, "SELECT COUNT(*) FROM releases WHERE guild_id = ?", (GUILD,)) == 1
    assert await fetch_value(db, "SELECT COUNT(*) FROM rendered_chapters") == 1  # the plan stored once


async def test_the_same_reaction_arriving_many_times_at_once_counts_once(two_processes) -> None:
    row = (GUILD, 1, "👍", MEMBER, 4_000_000)
    await asyncio.gather(*(likes.insert_reactions(db, [row]) for db in alternating(two_processes)))
    assert await fetch_value(two_processes[0], "SELECT COUNT(*) FROM reactions") == 1


async def test_the_same_answer_clicked_many_times_at_once_is_taken_once(two_processes) -> None:
    now = datetime(2026, 3, 1, 18, 0, tzinfo=UTC)
    game = await quiz.create_game(two_processes[0], guild_id=GUILD, channel_id=10, starter_id=MEMBER,
                                  mode="channel", questions=[("bank:1", 1, 2)], chapters="1", now=now)
    taken = await asyncio.gather(*(
        quiz.record_answer(db, game_id=game, position=0, guild_id=GUILD, user_id=MEMBER, option=2,
                           correct=True, points=1000, now=now) for db in alternating(two_processes)))
    assert taken.count(True) == 1
    db = two_processes[1]
    assert await fetch_value(db, "SELECT COUNT(*) FROM quiz_answers") == 1
    assert await fetch_value(db, "SELECT score || '/' || answers || '/' || games FROM quiz_scores"
                                 " WHERE user_id = ?", (MEMBER,)) == "1000/1/1"  # scored once
