"""Every reply built from a variable number of lines, at its maximum, through the fake Discord.

The fake refuses an over-limit message with 400/50035 as Discord does; a reply that passed the limit would
reach the member as the generic apology instead.  Each test fills a list to what the bot allows (25
schedules in the longest time-zone name, 30+ released chapters, a full leaderboard in a guild with a
100-character name) and checks the answer arrived, within Discord's limits, with "…and N more" where
lines were left out.
"""

# The fake's waits take `timeout=` by design.
# ruff: noqa: ASYNC109

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.chapters.schedules import MAX_LIVE_SCHEDULES
from bot.config import SHIPPED_THREAD, Settings
from bot.storage import open_database
from bot.storage import quiz as quiz_store
from bot.story.importer import import_story
from bot.story.parser import parse_thread
from bot.text import MAX_CONTENT, MAX_DESCRIPTION, MAX_EMBEDS_TOTAL
from tests.fakediscord import EPHEMERAL, FakeDiscord, GuildSetup
from tests.helpers import mark_released
from tests.quiz_support import FiredTimer, ManualClock

pytestmark = pytest.mark.timeout(60)

START = datetime(2026, 3, 25, 12, 0, tzinfo=UTC)
LONGEST_ZONE = max(sorted(zoneinfo.available_timezones()), key=len)  # America/Argentina/ComodRivadavia
APOLOGY = "something went wrong"


def embed_size(embed: dict[str, Any]) -> int:
    fields = sum(len(f["name"]) + len(f["value"]) for f in embed.get("fields", []))
    return (len(embed.get("title", "")) + len(embed.get("description", "")) + fields
            + len(embed.get("footer", {}).get("text", "")))


async def answer(fake: FakeDiscord, setup: GuildSetup, name: str, **options: Any) -> dict[str, Any]:
    """Run `/name` as the moderator in #story; its ephemeral answer, checked against Discord's limits."""
    record = await fake.invoke(name, guild=setup.guild, channel=setup.story, member=setup.moderator,
                               options=options)
    message = await record.wait_message()
    assert message["flags"] & EPHEMERAL, name
    assert APOLOGY not in message["content"], message["content"]
    assert len(message["content"]) <= MAX_CONTENT
    assert sum(embed_size(e) for e in message["embeds"]) <= MAX_EMBEDS_TOTAL
    assert all(len(e.get("description", "")) <= MAX_DESCRIPTION for e in message["embeds"])
    return message


@pytest.fixture
async def full_schedules(seeded: Settings, bot_factory, guild_setup: GuildSetup, fake_discord: FakeDiscord):
    """A bot whose guild has the most schedules allowed, each in the longest time-zone name."""
    bot = await bot_factory(clock=lambda: START)
    for _ in range(MAX_LIVE_SCHEDULES):
        await answer(fake_discord, guild_setup, "schedule add", when="every 365 days 23:59",
                     timezone=LONGEST_ZONE)
    return bot


async def test_schedule_list_pause_resume_with_25_schedules_in_the_longest_zone(
        full_schedules, fake_discord: FakeDiscord, guild_setup: GuildSetup) -> None:
    listed = await answer(fake_discord, guild_setup, "schedule list")
    description = listed["embeds"][0]["description"]
    assert description.startswith("**#1** · every 365 days at 23:59 (America/Argentina/ComodRivadavia)")
    assert "**#25**" in description or "more" in description.splitlines()[-1]

    paused = await answer(fake_discord, guild_setup, "schedule pause")
    assert paused["content"].startswith("Paused #1, #2,") and "#25." in paused["content"]

    resumed = await answer(fake_discord, guild_setup, "schedule resume")
    lines = resumed["content"].splitlines()
    assert lines[0].startswith("Resumed **#1** · every 365 days at 23:59 (America/Argentina/ComodRivadavia)")
    shown = sum(line.startswith("Resumed ") for line in lines)
    assert 0 < shown < MAX_LIVE_SCHEDULES
    assert lines[-1] == f"…and {MAX_LIVE_SCHEDULES - shown} more"
    # Every schedule was resumed, whether or not its line fitted.
    listed = await answer(fake_discord, guild_setup, "schedule list")
    assert "paused" not in listed["embeds"][0]["description"]


def long_story(extra: int) -> str:
    """The shipped thread with `extra` more chapters after it."""
    seed = SHIPPED_THREAD.read_text(encoding="utf-8").rstrip("\n")
    body = "Story text goes on. " * 40
    return seed + "".join(f"\n\u00a0\nEpilogue {i}\nThe Epilogue {i}.\n\n{body}\n" for i in range(extra))


async def test_chapter_list_with_36_released_chapters(bot_settings: Settings, bot_factory,
                                                      guild_setup: GuildSetup,
                                                      fake_discord: FakeDiscord) -> None:
    conn = await open_database(bot_settings.db_path)
    try:
        story = parse_thread(long_story(30))
        assert len(story.chapters) == 36
        await import_story(conn, story, source="long", sha256="0")
        await mark_released(conn, guild_setup.guild.id, 36)
    finally:
        await conn.close()
    await bot_factory()
    message = await answer(fake_discord, guild_setup, "chapter list")
    text = "\n".join(e.get("description", "") for e in message["embeds"])
    assert "**36.** [The Epilogue 29.]" in text
    shown = text.count("\n") + 1
    footer = message["embeds"][-1]["footer"]["text"]
    assert "36 released" in footer
    assert shown == 36 or f"{36 - shown} older chapters not shown" in footer


async def test_quiz_leaderboard_full_in_a_guild_with_a_100_character_name(
        seeded: Settings, bot_factory, fake_discord: FakeDiscord) -> None:
    setup = await fake_discord.add_standard_guild("G" * 100)
    bot = await bot_factory()
    guild_id = setup.guild.id
    game = await quiz_store.create_game(bot.db, guild_id=guild_id, channel_id=setup.general.id,
                                        starter_id=setup.member.id, mode="channel",
                                        questions=[("q", 1, 0)], chapters="1", now=START)
    for n in range(40):
        await quiz_store.record_answer(bot.db, game_id=game, position=0, guild_id=guild_id,
                                       user_id=9 * 10**18 + n, option=0, correct=True, points=10**9 - n,
                                       now=START)
    record = await fake_discord.invoke("quiz leaderboard", guild=setup.guild, channel=setup.general,
                                       member=setup.member)
    message = await record.wait_message()
    [embed] = message["embeds"]
    assert embed["title"].startswith("Quiz leaderboard · GGG") and len(embed["title"]) <= 256
    assert embed["description"].startswith(f"**1.** <@{9 * 10**18}> · {10**9} points")
    assert embed_size(embed) <= MAX_EMBEDS_TOTAL and len(embed["description"]) <= MAX_DESCRIPTION


async def test_quiz_reveal_and_scoreboard_with_60_players(seeded: Settings, bot_factory,
                                                         fake_discord: FakeDiscord,
                                                         guild_setup: GuildSetup) -> None:
    clock = ManualClock(START)
    bot = await bot_factory(clock=clock)
    cog = bot.get_cog("Quiz")
    timer = FiredTimer()
    cog.timer, cog.reveal_seconds, cog.question_seconds = timer, 0, 20
    await mark_released(bot.db, guild_setup.guild.id, 6)
    start = await fake_discord.invoke("quiz start", member=guild_setup.member, channel=guild_setup.general,
                                      options={"questions": 1})
    message = await start.wait_message()
    await timer.wait_question(1)
    (session,) = cog.service.sessions.values()
    custom_id = f"aarquiz:{session.game_id}:0:{session.question.answer}"
    players = [fake_discord.add_member(guild_setup.guild, f"player {n:02} " + "x" * 20) for n in range(60)]
    for player in players:
        clicked = await fake_discord.click(message, custom_id, member=player)
        assert "is in" in (await clicked.wait_response())["data"]["content"]
    timer.expire()
    final = await fake_discord.wait_for(
        lambda: (m := fake_discord.messages[int(message["id"])])["embeds"][0]["title"]
        == "Quiz over · scoreboard" and m)
    reveal = next(r.json for r in fake_discord.requests_to("PATCH", r"^/channels/\d+/messages/\d+$")
                  if "· answer" in r.json["embeds"][0]["title"])
    [field] = reveal["embeds"][0]["fields"]
    assert field["name"] == "Right: 60 of 60 answers" and len(field["value"]) <= 1024
    assert field["value"].splitlines()[-1].startswith("…and ")
    assert embed_size(reveal["embeds"][0]) <= MAX_EMBEDS_TOTAL
    board = final["embeds"][0]["description"].split("\n\n")[0].splitlines()
    assert board[0].startswith(f"**1.** <@{players[0].id}> · 1000 points")
    assert board[-1] == "…and 40 more" and len(board) == 21
