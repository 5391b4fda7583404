"""Quiz storage: a new game and its questions are written together or not at all."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

import pytest

from bot.storage import quiz as store
from bot.storage.database import Database
from bot.storage.sql import execute, fetch_all

pytestmark = pytest.mark.both_backends

T0 = datetime(2026, 5, 1, 18, 0, tzinfo=UTC)
GAME = dict(guild_id=1, channel_id=10, starter_id=100, mode="channel", chapters="1", now=T0)
QUESTIONS = [("bank:1", 1, 2), ("bank:2", 1, 0)]


async def count(conn: Database, table: str) -> int:
    cur_rows = await fetch_all(conn, f"SELECT COUNT(*) FROM {table}")
    return cur_rows[0][0]


@pytest.mark.sqlite_only
async def test_a_game_whose_questions_cannot_be_written_is_not_recorded(db):
    # The second statement (the questions) fails: the game row must be undone, or it would sit 'running'
    # and block the channel until the next restart.
    await execute(db, "CREATE TEMP TRIGGER refuse BEFORE INSERT ON quiz_questions"
                     " BEGIN SELECT RAISE(ABORT, 'questions refused'); END")
    with pytest.raises(sqlite3.IntegrityError, match="questions refused"):
        await store.create_game(db, questions=QUESTIONS, **GAME)
    assert await count(db, "quiz_games") == 0
    await execute(db, "DROP TRIGGER temp.refuse")
    game_id = await store.create_game(db, questions=QUESTIONS, **GAME)  # the channel is free
    cur_rows = await fetch_all(db, "SELECT position, question_key, chapter, right_option FROM quiz_questions"
                          " WHERE game_id = ? ORDER BY position", (game_id,))
    assert [tuple(r) for r in cur_rows] == [(0, "bank:1", 1, 2), (1, "bank:2", 1, 0)]
    cur_rows = await fetch_all(db, "SELECT status, started_at FROM quiz_games WHERE id = ?", (game_id,))
    assert tuple(cur_rows[0]) == ("running", "2026-05-01T18:00:00.000Z")


async def test_a_second_running_game_in_the_channel_is_refused_and_writes_nothing(db):
    await store.create_game(db, questions=QUESTIONS, **GAME)
    with pytest.raises(store.QuizAlreadyRunning):
        await store.create_game(db, questions=QUESTIONS[:1], **GAME | {"starter_id": 200})
    assert await count(db, "quiz_games") == 1 and await count(db, "quiz_questions") == 2
    assert not db.in_transaction


async def test_a_members_accuracy_per_chapter_counts_only_chapters_through_the_released_one(db):
    questions = [("bank:1", 1, 0), ("bank:2", 1, 0), ("bank:3", 2, 0), ("bank:4", 4, 0)]
    game_id = await store.create_game(db, questions=questions, **GAME | {"chapters": "1-4"})
    for position, correct in enumerate((True, False, True, True)):
        await store.record_answer(db, game_id=game_id, position=position, guild_id=1, user_id=100, option=0,
                                  correct=correct, points=1, now=T0)
    await store.record_answer(db, game_id=game_id, position=0, guild_id=1, user_id=200, option=1,
                              correct=False, points=0, now=T0)
    assert await store.member_chapter_accuracy(db, 1, 100, through=2) == [(1, 2, 1), (2, 1, 1)]
    assert await store.member_chapter_accuracy(db, 1, 100, through=4) == [(1, 2, 1), (2, 1, 1), (4, 1, 1)]
    assert await store.member_chapter_accuracy(db, 1, 200, through=2) == [(1, 1, 0)]
    assert await store.member_chapter_accuracy(db, 2, 100, through=2) == []


async def test_recovery_at_start_ends_only_the_games_of_servers_this_process_owns(db):
    # Two processes share the database, each running some shards: each must end only its own servers'
    # games, or it would interrupt a game the other process is running right now.
    mine = await store.create_game(db, questions=QUESTIONS, **GAME | {"guild_id": 1})
    theirs = await store.create_game(db, questions=QUESTIONS, **GAME | {"guild_id": 2, "channel_id": 20})
    ended = await store.interrupt_running_games(db, T0, lambda guild_id: guild_id == 1)
    assert [game.id for game in ended] == [mine]
    cur_rows = await fetch_all(db, "SELECT id, status FROM quiz_games ORDER BY id")
    assert [tuple(r) for r in cur_rows] == [(mine, "interrupted"), (theirs, "running")]
    assert [game.id for game in await store.interrupt_running_games(db, T0)] == [theirs]  # default: all
