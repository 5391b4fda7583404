"""`bot.privacy` and `bot.storage.privacy`: forgetting a member, purging a server the bot left."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot import privacy
from bot.likes.tally import likes_of
from bot.storage import quiz, reading_progress
from bot.storage.database import Database
from bot.storage.privacy import GUILD_TABLES, MEMBER_COLUMNS, MemberData, get_departure
from bot.storage.sql import execute, fetch_all
from tests.helpers import mark_released

pytestmark = pytest.mark.both_backends

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
A, B = 1001, 2002              # two servers
ALICE, BOB = 501, 502          # two members, in both
MEMBER_ID_NAMES = {"user_id", "member_id", "author_id", "starter_id", "created_by", "ended_by"}


async def rows(conn: Database, sql: str, *params: object) -> list[tuple[object, ...]]:
    cur_rows = await fetch_all(conn, sql, params)
    return [tuple(r) for r in cur_rows]


async def count(conn: Database, table: str, guild_id: int) -> int:
    return (await rows(conn, f"SELECT COUNT(*) FROM {table} WHERE guild_id = ?", guild_id))[0][0]


async def seed(conn: Database) -> None:
    """Two chapters released in A and B; in each: likes, a finished quiz, a schedule, a hall-of-fame post."""
    for number in (1, 2):
        await execute(conn, "INSERT INTO chapters(number, threadmark, title, content_hash)"
                           " VALUES (?, ?, ?, 'h') ON CONFLICT DO NOTHING",
                      (number, f"Ch {number}", f"Title {number}"))
    for guild in (A, B):
        await execute(conn, "INSERT INTO guild_settings(guild_id) VALUES (?)", (guild,))
        await mark_released(conn, guild, 2)
        parts = {r[0]: r[1] for r in await rows(conn, "SELECT chapter_number, message_id FROM release_parts"
                                                      " WHERE guild_id = ?", guild)}
        for user, emoji, chapter in [(ALICE, "👍", 1), (ALICE, "😂", 1), (ALICE, "👍", 2), (BOB, "👍", 1)]:
            await execute(conn, "INSERT INTO reactions(guild_id, chapter_number, emoji, user_id, message_id)"
                                " VALUES (?, ?, ?, ?, ?)",
                               (guild, chapter, emoji, user, parts[chapter]))
        await execute(conn, "INSERT INTO hall_of_fame_posts(guild_id, chapter_number, channel_id,"
                            " message_id, shown_total, shown_discord, posted_at, updated_at)"
                            " VALUES (?, 1, 77, 88, 3, 2, 'x', 'x')", (guild,))
        game = await quiz.create_game(conn, guild_id=guild, channel_id=9, starter_id=ALICE, mode="channel",
                                      questions=[("q1", 1, 0), ("q2", 2, 1)], chapters="1-2", now=T0)
        for user in (ALICE, BOB):
            for position in (0, 1):
                await quiz.record_answer(conn, game_id=game, position=position, guild_id=guild, user_id=user,
                                         option=0, correct=position == 0, points=10, now=T0)
        await quiz.end_game(conn, game, "stopped", T0, ended_by=ALICE)
        await execute(conn, "INSERT INTO schedules(guild_id, spec, timezone, created_by, created_at)"
                           " VALUES (?, 'daily 20:00', 'UTC', ?, 'x')", (guild, ALICE))


# --- the schema is covered --------------------------------------------------------------------------------

@pytest.mark.sqlite_only
async def test_every_server_table_and_member_column_is_known(db: Database) -> None:
    """A table or column added later must be added to the forgetting and the purge too: this says so."""
    tables = [r[0] for r in await rows(db, "SELECT name FROM sqlite_master WHERE type = 'table'")]
    with_guild, member_columns = set(), set()
    for table in tables:
        for column in await rows(db, f"PRAGMA table_info({table})"):
            if column[1] == "guild_id":
                with_guild.add(table)
            if column[1] in MEMBER_ID_NAMES:
                member_columns.add((table, column[1]))
    assert with_guild == set(GUILD_TABLES)
    assert member_columns == set(MEMBER_COLUMNS)


# --- forgetting a member ------------------------------------------------------------------------------------

async def test_forget_in_one_server_deletes_the_members_rows_there_only(db: Database) -> None:
    await seed(db)
    assert (await likes_of(db, A, 1)).discord == 2  # type: ignore[union-attr]
    stored = await privacy.stored_about(db, ALICE, A)
    assert stored == MemberData(reactions=3, quiz_answers=2, quiz_scores=1, quiz_games_started=1,
                                quiz_games_stopped=1, schedules=1)

    done = await privacy.forget(db, ALICE, guild_id=A)

    assert done == stored
    assert await privacy.stored_about(db, ALICE, A) == MemberData()
    # her likes no longer count; Bob's do, and everything in B is untouched
    assert (await likes_of(db, A, 1)).discord == 1  # type: ignore[union-attr]
    assert (await likes_of(db, A, 2)).discord == 0  # type: ignore[union-attr]
    assert (await likes_of(db, B, 1)).discord == 2  # type: ignore[union-attr]
    assert await privacy.stored_about(db, ALICE, B) == stored
    assert await privacy.stored_about(db, BOB, A) == MemberData(reactions=1, quiz_answers=2, quiz_scores=1)
    # the leaderboard has Bob only; the game and the schedule stay, without her id
    assert [s.user_id for s in await quiz.leaderboard(db, A)] == [BOB]
    assert await rows(db, "SELECT starter_id, ended_by, status FROM quiz_games WHERE guild_id = ?", A) == [
        (0, None, "stopped")]
    assert await rows(db, "SELECT created_by FROM schedules WHERE guild_id = ?", A) == [(None,)]
    assert await privacy.forget(db, ALICE, guild_id=A) == MemberData()  # again: nothing left


async def test_reading_progress_and_release_dm_requests_are_forgotten(db: Database) -> None:
    await seed(db)
    for guild in (A, B):
        await reading_progress.record_page(db, guild, ALICE, 1, page=0, pages=3, now="2026-03-01T12:00:00Z")
        await reading_progress.mark_finished(db, guild, ALICE, 2, now="2026-03-01T12:00:00Z")
        await reading_progress.mark_finished(db, guild, BOB, 1, now="2026-03-01T12:00:00Z")
        await execute(db, "INSERT INTO alert_dms(guild_id, user_id, since) VALUES (?, ?,"
                             " 'x')", (guild, ALICE))
    assert (await privacy.stored_about(db, ALICE, A)).chapters_read == 2
    assert (await privacy.stored_about(db, ALICE, A)).alert_dms == 1
    assert "your reading progress in 2 chapters" in privacy.describe(await privacy.stored_about(db, ALICE, A))
    done = await privacy.forget(db, ALICE, guild_id=A)
    assert (done.chapters_read, done.alert_dms) == (2, 1)
    assert await reading_progress.progress_of(db, A, ALICE, 6) == {}
    assert set(await reading_progress.progress_of(db, B, ALICE, 6)) == {1, 2}
    assert set(await reading_progress.progress_of(db, A, BOB, 6)) == {1}
    assert (await privacy.stored_about(db, ALICE, B)).alert_dms == 1


async def test_forget_everywhere(db: Database) -> None:
    await seed(db)
    done = await privacy.forget(db, ALICE)
    assert done == MemberData(reactions=6, quiz_answers=4, quiz_scores=2, quiz_games_started=2,
                              quiz_games_stopped=2, schedules=2)
    assert await privacy.stored_about(db, ALICE) == MemberData()
    assert (await privacy.stored_about(db, BOB)).reactions == 2


async def test_forget_is_refused_while_a_quiz_the_member_started_runs(db: Database) -> None:
    await seed(db)
    await quiz.create_game(db, guild_id=A, channel_id=9, starter_id=BOB, mode="solo",
                           questions=[("q1", 1, 0)], chapters="1", now=T0)
    with pytest.raises(privacy.QuizStillRunning, match="/quiz stop"):
        await privacy.forget(db, BOB, guild_id=A)
    assert (await privacy.stored_about(db, BOB, A)).reactions == 1  # nothing was deleted
    assert (await privacy.forget(db, BOB, guild_id=B)).reactions == 1  # the other server is not blocked


def test_what_the_member_is_told() -> None:
    data = MemberData(reactions=12, quiz_answers=3, quiz_scores=1, quiz_games_started=1, schedules=2)
    assert privacy.describe(data) == ("12 reactions, 3 quiz answers and your quiz score, and your name on "
                                      "1 quiz game you started and 2 release schedules you added")
    prompt = privacy.confirm_prompt(data)
    assert "your likes will no longer count" in prompt and "cannot be undone" in prompt
    assert privacy.forgotten_reply(data) == (
        "Done: deleted 12 reactions, 3 quiz answers and your quiz score, and removed your name from "
        "1 quiz game you started and 2 release schedules you added. Your likes no longer count.")
    assert privacy.forgotten_reply(MemberData(quiz_answers=1)) == "Done: deleted 1 quiz answer."
    assert privacy.forgotten_reply(MemberData()) == "Done: nothing about you is stored in this server."


def test_what_the_operator_is_told() -> None:
    data = MemberData(reactions=2, quiz_scores=1, quiz_games_stopped=1)
    assert privacy.cli_summary(data, ALICE, A) == (
        "Forgot user 501 in server 1001: deleted 2 reactions and 1 quiz score, and removed their id from "
        "1 quiz game they stopped.")
    assert privacy.cli_summary(MemberData(quiz_scores=2), ALICE, None) == (
        "Forgot user 501 in every server: deleted 2 quiz scores.")
    assert privacy.cli_summary(MemberData(), BOB, A) == "Nothing is stored about user 502 in server 1001."


# --- servers the bot left --------------------------------------------------------------------------------

async def test_a_server_left_is_purged_after_the_grace_period_and_the_others_are_kept(
        db: Database) -> None:
    await seed(db)
    before_b = {table: await count(db, table, B) for table in GUILD_TABLES}
    assert await privacy.guild_left(db, A, T0)
    assert not await privacy.guild_left(db, A, T0 + timedelta(days=5))  # the first departure counts

    assert await privacy.purge_due(db, T0 + privacy.GRACE_PERIOD - timedelta(seconds=1)) == []
    assert await count(db, "reactions", A) == 4  # nothing purged yet
    purged = await privacy.purge_due(db, T0 + privacy.GRACE_PERIOD)

    assert [(p.guild_id, p.left_at) for p in purged] == [(A, T0)]
    assert purged[0].rows["reactions"] == 4 and purged[0].rows["quiz_questions"] == 2
    assert {table: await count(db, table, A) for table in GUILD_TABLES} == dict.fromkeys(GUILD_TABLES, 0)
    assert await rows(db, "SELECT COUNT(*) FROM quiz_questions") == [(2,)]  # B's
    assert {table: await count(db, table, B) for table in GUILD_TABLES} == before_b
    assert await privacy.purge_due(db, T0 + timedelta(days=400)) == []


async def test_a_return_within_the_grace_period_keeps_everything(db: Database) -> None:
    await seed(db)
    await privacy.guild_left(db, A, T0)
    assert await privacy.guild_returned(db, A)
    assert not await privacy.guild_returned(db, A)
    assert await privacy.purge_due(db, T0 + timedelta(days=400)) == []
    assert await count(db, "reactions", A) == 4


async def test_membership_at_start_notes_departures_and_returns_made_while_offline(
        db: Database) -> None:
    await seed(db)
    await privacy.guild_left(db, B, T0)  # left before; the bot was re-invited while offline
    changed = await privacy.reconcile_membership(db, present=[B, 3003], now=T0 + timedelta(days=1))
    assert changed == privacy.Membership(left=[A], returned=[B])
    assert await get_departure(db, B) is None
    departure = await get_departure(db, A)
    assert departure is not None and departure.left_at == "2026-03-02T12:00:00.000Z"
    # a second start changes nothing, and keeps A's first departure time
    again = await privacy.reconcile_membership(db, present=[B], now=T0 + timedelta(days=2))
    assert again == privacy.Membership()
    assert await get_departure(db, A) == departure


async def test_reconciling_one_process_of_a_sharded_bot_leaves_other_shards_servers_alone(
        db: Database) -> None:
    # Servers held by another process are absent from this one's guild list: they were not left.
    await seed(db)
    changed = await privacy.reconcile_membership(db, present=[], now=T0, owns_guild=lambda guild: guild == A)
    assert changed == privacy.Membership(left=[A], returned=[])
    assert await get_departure(db, B) is None
