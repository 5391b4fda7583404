"""Privacy end to end: `/aar forget-me`, and the purge of a server the bot was removed from.

The real bot and discord.py against the fake Discord.  Reactions are the fake's gateway events, settled
through the likes cog; the purge check runs on the bot's injected clock and is awaited through its
`departures_checked` event, so nothing here sleeps.
"""

# The fake's waits take `timeout=` by design.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.config import Settings
from bot.likes.tally import likes_of
from bot.storage import quiz
from bot.storage.database import Database
from bot.storage.guilds import update_guild_settings
from bot.storage.privacy import GUILD_TABLES, get_departure
from bot.storage.sql import execute, fetch_all
from tests.fakediscord import EPHEMERAL, FakeDiscord, GuildSetup
from tests.helpers import FakeClock, mark_released

pytestmark = [pytest.mark.timeout(60), pytest.mark.both_backends]

START = datetime(2026, 3, 25, 12, 0, tzinfo=UTC)
GRACE = timedelta(days=30)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


def privacy_cog(bot: Any) -> Any:
    cog = bot.get_cog("Privacy")
    assert cog is not None
    return cog


async def departures_checked(bot: Any, within: float = 10.0) -> list[int]:
    """Wake the purge check and wait for a check made at the bot's clock as it is now; the guilds it
    purged.  The waiter is registered before the check is woken, so it cannot be missed."""
    now = bot.clock()
    waiter = asyncio.ensure_future(bot.wait_for("departures_checked", check=lambda at, _p: at >= now,
                                                timeout=within))
    privacy_cog(bot).wake()
    _at, purged = await waiter
    return [p.guild_id for p in purged]


async def guild_rows(db: Database, guild_id: int) -> dict[str, int]:
    counts = {}
    for table in GUILD_TABLES:
        cur_rows = await fetch_all(db, f"SELECT COUNT(*) FROM {table} WHERE guild_id = ?", (guild_id,))
        counts[table] = cur_rows[0][0]
    return {table: n for table, n in counts.items() if n}


async def seed_guild(db: Database, guild_id: int) -> None:
    """What a server that used the bot has: settings, two releases, a schedule, a finished quiz."""
    await update_guild_settings(db, guild_id, timezone="Europe/Paris")
    await mark_released(db, guild_id, 2, first_message_id=guild_id % 100_000 * 10)
    await execute(db, "INSERT INTO schedules(guild_id, spec, timezone, created_by, created_at)"
                     " VALUES (?, 'daily 20:00', 'UTC', 5, 'x')", (guild_id,))
    game = await quiz.create_game(db, guild_id=guild_id, channel_id=9, starter_id=5, mode="solo",
                                  questions=[("q", 1, 0)], chapters="1", now=START)
    await quiz.record_answer(db, game_id=game, position=0, guild_id=guild_id, user_id=5, option=0,
                             correct=True, points=10, now=START)
    await quiz.end_game(db, game, "finished", START)


# --- /aar forget-me ------------------------------------------------------------------------------------

async def post_release(bot: Any, setup: GuildSetup, chapter: int) -> int:
    """A release message the bot really posted, recorded as the release of `chapter` (as the publisher
    does); its id."""
    message = await bot.get_channel(setup.story.id).send(f"Chapter {chapter}")
    await mark_released(bot.db, setup.guild.id, chapter)
    await execute(bot.db, "UPDATE release_parts SET message_id = ? WHERE guild_id = ? AND"
                             " chapter_number = ?",
                         (message.id, setup.guild.id, chapter))
    return message.id


async def reacted_bot(bot_factory, fake: FakeDiscord, setup: GuildSetup) -> tuple[Any, int]:
    """The bot with chapter 1 released; the reader liked it and laughed at it, the moderator liked it, and
    the reader answered two questions of the moderator's quiz."""
    bot = await bot_factory()
    likes = bot.get_cog("Likes")
    await asyncio.wait_for(likes.reconciliations.wait_for(1), 5)
    message_id = await post_release(bot, setup, 1)
    await fake.add_reaction(setup.member, message_id, "👍")
    await fake.add_reaction(setup.member, message_id, "😂")
    await fake.add_reaction(setup.moderator, message_id, "👍")
    await asyncio.wait_for(likes.settle(3), 5)
    game = await quiz.create_game(bot.db, guild_id=setup.guild.id, channel_id=setup.general.id,
                                  starter_id=setup.moderator.id, mode="channel",
                                  questions=[("a", 1, 0), ("b", 1, 1)], chapters="1", now=START)
    for position in (0, 1):
        await quiz.record_answer(bot.db, game_id=game, position=position, guild_id=setup.guild.id,
                                 user_id=setup.member.id, option=0, correct=True, points=10, now=START)
    await quiz.end_game(bot.db, game, "finished", START)
    return bot, message_id


def button(message: dict[str, Any], label: str) -> str:
    for row in message["components"]:
        for component in row["components"]:
            if component.get("label") == label:
                return component["custom_id"]
    raise AssertionError(f"no {label!r} button on {message['components']}")


@pytest.mark.sqlite_only
async def test_forget_me_asks_then_deletes_the_members_data_and_their_likes_stop_counting(
        seeded: Settings, bot_factory, fake_discord: FakeDiscord, guild_setup: GuildSetup) -> None:
    fake, setup = fake_discord, guild_setup
    bot, _ = await reacted_bot(bot_factory, fake, setup)
    assert (await likes_of(bot.db, setup.guild.id, 1)).discord == 2

    asked = await fake.invoke("aar forget-me", guild=setup.guild, member=setup.member)
    prompt = await asked.wait_message()
    assert prompt["flags"] & EPHEMERAL
    assert "2 reactions, 2 quiz answers and your quiz score" in prompt["content"]
    assert "your likes will no longer count" in prompt["content"]
    confirm = button(prompt, "Delete my data")
    button(prompt, "Cancel")

    # Someone else can't answer for the member (the fake lets anyone click; Discord would not show it).
    intruder = await fake.click(prompt, confirm, member=setup.moderator)
    refusal = await intruder.wait_message()
    assert refusal["flags"] & EPHEMERAL and refusal["content"] == "Only the member who asked can answer this."
    assert (await likes_of(bot.db, setup.guild.id, 1)).discord == 2

    clicked = await fake.click(prompt, confirm, member=setup.member)
    done = await clicked.wait_message()
    assert done["content"] == ("Done: deleted 2 reactions, 2 quiz answers and your quiz score. "
                               "Your likes no longer count.")
    assert done["components"] == []
    assert (await likes_of(bot.db, setup.guild.id, 1)).discord == 1  # the moderator's like only
    assert [s.user_id for s in await quiz.leaderboard(bot.db, setup.guild.id)] == []
    again = await fake.invoke("aar forget-me", guild=setup.guild, member=setup.member)
    assert (await again.wait_message())["content"] == "AAR Bot stores nothing about you in this server."
    # the moderator's data is untouched
    assert [tuple(r) for r in await bot.db.raw.execute_fetchall("SELECT user_id FROM reactions")] == [
        (setup.moderator.id,)]


async def test_forget_me_cancelled_deletes_nothing(seeded: Settings, bot_factory, fake_discord: FakeDiscord,
                                                  guild_setup: GuildSetup) -> None:
    fake, setup = fake_discord, guild_setup
    bot, _ = await reacted_bot(bot_factory, fake, setup)
    prompt = await (await fake.invoke("aar forget-me", guild=setup.guild, member=setup.member)).wait_message()
    clicked = await fake.click(prompt, button(prompt, "Cancel"), member=setup.member)
    assert (await clicked.wait_message())["content"] == "Cancelled: nothing was deleted."
    assert (await likes_of(bot.db, setup.guild.id, 1)).discord == 2
    assert [s.user_id for s in await quiz.leaderboard(bot.db, setup.guild.id)] == [setup.member.id]


async def test_forget_me_is_refused_while_a_quiz_the_member_started_runs(
        seeded: Settings, bot_factory, fake_discord: FakeDiscord, guild_setup: GuildSetup) -> None:
    fake, setup = fake_discord, guild_setup
    bot, _ = await reacted_bot(bot_factory, fake, setup)
    await quiz.create_game(bot.db, guild_id=setup.guild.id, channel_id=setup.general.id,
                           starter_id=setup.member.id, mode="solo", questions=[("a", 1, 0)], chapters="1",
                           now=START)
    asked = await fake.invoke("aar forget-me", guild=setup.guild, member=setup.member)
    refusal = await asked.wait_message()
    assert refusal["flags"] & EPHEMERAL and "/quiz stop" in refusal["content"]
    assert not refusal["components"]
    assert (await likes_of(bot.db, setup.guild.id, 1)).discord == 2


# --- a server the bot was removed from -----------------------------------------------------------------

async def two_guilds(bot_factory, fake: FakeDiscord, setup: GuildSetup, clock: FakeClock) -> tuple[Any, int]:
    """The bot in the standard guild and another one, both with data; the other guild's id."""
    other = await fake.add_standard_guild("Other")
    bot = await bot_factory(clock=clock)
    for guild_id in (setup.guild.id, other.guild.id):
        await seed_guild(bot.db, guild_id)
    return bot, other.guild.id


async def remove(bot: Any, fake: FakeDiscord, setup: GuildSetup) -> None:
    """Kick the bot from the standard guild; return once the bot has recorded it."""
    waiter = asyncio.ensure_future(bot.wait_for("guild_departure_recorded",
                                                check=lambda gid: gid == setup.guild.id, timeout=5))
    await fake.remove_bot_from_guild(setup.guild)
    await waiter


async def test_a_server_that_removed_the_bot_is_purged_after_the_grace_period(
        seeded: Settings, bot_factory, fake_discord: FakeDiscord, guild_setup: GuildSetup,
        clock: FakeClock) -> None:
    bot, other = await two_guilds(bot_factory, fake_discord, guild_setup, clock)
    kept = await guild_rows(bot.db, other)
    assert set(kept) == {"guild_settings", "releases", "release_parts", "schedules", "quiz_games",
                         "quiz_answers", "quiz_scores"}
    before = await guild_rows(bot.db, guild_setup.guild.id)

    await remove(bot, fake_discord, guild_setup)
    assert bot.get_guild(guild_setup.guild.id) is None
    clock.advance(days=29, hours=23)
    assert await departures_checked(bot) == []
    assert await guild_rows(bot.db, guild_setup.guild.id) == before | {"guild_departures": 1}

    clock.advance(hours=1)
    assert await departures_checked(bot) == [guild_setup.guild.id]
    assert await guild_rows(bot.db, guild_setup.guild.id) == {}
    assert await guild_rows(bot.db, other) == kept


async def test_a_re_invite_within_the_grace_period_keeps_everything(
        seeded: Settings, bot_factory, fake_discord: FakeDiscord, guild_setup: GuildSetup,
        clock: FakeClock) -> None:
    bot, _ = await two_guilds(bot_factory, fake_discord, guild_setup, clock)
    before = await guild_rows(bot.db, guild_setup.guild.id)
    await remove(bot, fake_discord, guild_setup)
    clock.advance(days=10)
    waiter = asyncio.ensure_future(bot.wait_for("guild_departure_cancelled",
                                                check=lambda gid: gid == guild_setup.guild.id, timeout=5))
    await fake_discord.invite_bot_to_guild(guild_setup.guild)
    await waiter
    clock.advance(days=60)
    assert await departures_checked(bot) == []
    assert await guild_rows(bot.db, guild_setup.guild.id) == before
    status = await fake_discord.invoke("aar status", guild=guild_setup.guild, member=guild_setup.member)
    assert (await status.wait_message())["embeds"], "the bot works in the server it is back in"


async def test_the_departure_survives_a_restart_and_the_purge_follows_it(
        seeded: Settings, bot_factory, fake_discord: FakeDiscord, guild_setup: GuildSetup,
        clock: FakeClock) -> None:
    bot, other = await two_guilds(bot_factory, fake_discord, guild_setup, clock)
    kept = await guild_rows(bot.db, other)
    await remove(bot, fake_discord, guild_setup)
    await bot.close()

    clock.advance(days=20)
    second = await bot_factory(clock=clock)  # a new process: only the database remembers the departure
    assert await departures_checked(second) == []
    clock.advance(days=10)
    assert await departures_checked(second) == [guild_setup.guild.id]
    assert await guild_rows(second.db, guild_setup.guild.id) == {}
    assert await guild_rows(second.db, other) == kept


async def test_a_removal_while_the_bot_was_offline_is_noticed_at_start(
        seeded: Settings, bot_factory, fake_discord: FakeDiscord, guild_setup: GuildSetup,
        clock: FakeClock) -> None:
    bot, other = await two_guilds(bot_factory, fake_discord, guild_setup, clock)
    await bot.close()
    await fake_discord.remove_bot_from_guild(guild_setup.guild)  # nobody connected to hear it

    clock.advance(days=3)
    second = await bot_factory(clock=clock)
    await asyncio.wait_for(privacy_cog(second).reconciled.wait(), 5)
    departure = await get_departure(second.db, guild_setup.guild.id)
    assert departure is not None and departure.left_at == "2026-03-28T12:00:00.000Z"
    assert await get_departure(second.db, other) is None
    clock.advance(days=30)
    assert await departures_checked(second) == [guild_setup.guild.id]
    assert await guild_rows(second.db, other) != {}


async def test_forget_me_updates_the_hall_of_fame_at_once(seeded: Settings, bot_factory,
                                                          fake_discord: FakeDiscord,
                                                          guild_setup: GuildSetup) -> None:
    fake, setup = fake_discord, guild_setup
    bot, _ = await reacted_bot(bot_factory, fake, setup)
    hall = await fake.add_channel(setup.guild, "hall-of-fame")
    await update_guild_settings(bot.db, setup.guild.id, hall_of_fame_channel_id=hall.id,
                                hall_of_fame_threshold=1)
    likes = bot.get_cog("Likes")
    likes.hall.mark([(setup.guild.id, 1)])
    await asyncio.wait_for(likes.hall.drain(), 5)
    (post,) = fake.history(hall)
    assert post["embeds"][0]["description"].startswith("**2 likes**")  # forum 0 + the two members

    prompt = await (await fake.invoke("aar forget-me", guild=setup.guild, member=setup.member)).wait_message()
    await (await fake.click(prompt, button(prompt, "Delete my data"), member=setup.member)).wait_message()
    await fake.wait_for(lambda: fake.history(hall)[0]["embeds"][0]["description"].startswith("**1 like**"),
                        timeout=5)
    assert len(fake.history(hall)) == 1  # the one post, edited; not a second one


async def test_after_a_purge_reactions_on_the_servers_old_release_messages_count_for_nothing(
        seeded: Settings, bot_factory, fake_discord: FakeDiscord, guild_setup: GuildSetup,
        clock: FakeClock) -> None:
    """The likes ingest remembers which chapter a message belongs to: a purge must make it forget, or a
    re-invited server's old release messages would count likes for chapters it has not released."""
    fake, setup = fake_discord, guild_setup
    bot = await bot_factory(clock=clock)
    likes = bot.get_cog("Likes")
    await asyncio.wait_for(likes.reconciliations.wait_for(1), 5)
    message_id = await post_release(bot, setup, 1)
    await fake.add_reaction(setup.member, message_id, "👍")
    await asyncio.wait_for(likes.settle(1), 5)  # counted: the ingest now knows the message
    assert (await likes_of(bot.db, setup.guild.id, 1)).discord == 1

    await remove(bot, fake, setup)
    clock.advance(days=30, hours=1)
    assert await departures_checked(bot) == [setup.guild.id]
    joined = asyncio.ensure_future(bot.wait_for("guild_join", check=lambda g: g.id == setup.guild.id,
                                                timeout=5))
    await fake.invite_bot_to_guild(setup.guild)
    await joined
    await fake.add_reaction(setup.moderator, message_id, "👍")
    await asyncio.wait_for(likes.settle(2), 5)
    cur_rows = await fetch_all(bot.db, "SELECT COUNT(*) FROM reactions WHERE guild_id ="
                                  " ?", (setup.guild.id,))
    assert cur_rows[0][0] == 0
