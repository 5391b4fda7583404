"""A day in the life of a community, across features, with one bot and the fake Discord.

A moderator sets the bot up; a plain member cannot release; the story team (the configured moderator
role, without Manage Server) releases chapters 1 and 2; members like chapter 2 and it enters the hall of
fame; the lists, the likes, the cast and a quiz agree with what was posted; a scheduled release goes out
once when the (fake) clock reaches it; and a restart on the same database keeps all of it.
"""

# The fake's waits take `timeout=` by design.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.config import Settings
from bot.storage.releases import jump_url, released_chapters, released_through
from bot.storage.sql import fetch_all
from tests.fakediscord import EPHEMERAL, FakeDiscord, GuildSetup, TestApiError
from tests.fakediscord.models import Member
from tests.helpers import SEED_CHAPTERS, final_answer, schedules_checked
from tests.quiz_support import FiredTimer

pytestmark = [pytest.mark.timeout(60), pytest.mark.both_backends]

START = datetime(2026, 4, 6, 9, 0, tzinfo=UTC)  # a Monday morning
LIKE = "👍"
FORUM_LIKES_CH2 = 1  # chapter 2 has one like on the forum (the imported thread)


class Clock:
    """The bot's clock: moves only when the test says so."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def text_of(message: dict[str, Any]) -> str:
    """A message as a member reads it: content, then each embed's title, description, fields and footer."""
    parts = [message.get("content") or ""]
    for embed in message.get("embeds") or []:
        parts += [embed.get("title", ""), embed.get("description", "")]
        parts += [f"{f['name']}: {f['value']}" for f in embed.get("fields", [])]
        parts.append((embed.get("footer") or {}).get("text", ""))
    return "\n".join(p for p in parts if p)


class Community:
    """The server and the people in it, and the bot currently serving it."""

    def __init__(self, fake: FakeDiscord, setup: GuildSetup, bot: Any) -> None:
        self.fake, self.setup, self.bot = fake, setup, bot
        self.reactions_seen = 0

    async def run(self, command: str, member: Member, **options: Any) -> tuple[dict[str, Any], Any]:
        """Run a command in #general; the answer's message (after a defer, its follow-up or edit) and the
        interaction."""
        record = await self.fake.invoke(command, guild=self.setup.guild, channel=self.setup.general,
                                        member=member, options=options)
        return await final_answer(record), record

    async def say(self, command: str, member: Member, **options: Any) -> str:
        message, _ = await self.run(command, member, **options)
        return text_of(message)

    async def react(self, member: Member, message_id: int, emoji: str = LIKE) -> None:
        await self.fake.add_reaction(member, message_id, emoji)
        self.reactions_seen += 1

    async def settle(self) -> None:
        """Until the bot has taken in every reaction so far, and the hall of fame has caught up."""
        await asyncio.wait_for(self.bot.get_cog("Likes").settle(self.reactions_seen), 5)

    async def parts(self, chapter: int) -> list[int]:
        cursor_rows = await fetch_all(self.bot.db, "SELECT message_id FROM release_parts WHERE guild_id = ?"
                                       " AND chapter_number = ? ORDER BY part_index",
                                       (self.setup.guild.id, chapter))
        return [row[0] for row in cursor_rows]

    def link(self, message_id: int) -> str:
        return jump_url(self.setup.guild.id, self.setup.story.id, message_id)


async def start_bot(bot_factory, clock: Clock) -> tuple[Any, FiredTimer]:
    bot = await bot_factory(clock=clock)
    timer = FiredTimer()
    quiz = bot.get_cog("Quiz")
    quiz.timer, quiz.reveal_seconds = timer, 0
    # Start-up work (re-reading reactions, the first look at the schedules) is done before anyone acts.
    await asyncio.wait_for(bot.get_cog("Likes").reconciliations.wait_for(1), 5)
    await schedules_checked(bot)
    return bot, timer


def line_about(text: str, pattern: str) -> str:
    line = next((ln for ln in text.splitlines() if re.search(pattern, ln)), None)
    assert line is not None, f"no line matching {pattern!r} in:\n{text}"
    return line


def top_line(text: str, chapter: int) -> str:
    """`/likes top`'s line about `chapter` ("**rank.** Chapter n: title — likes")."""
    return line_about(text, rf"^\*\*\d+\.\*\* Chapter {chapter}:")


def list_line(text: str, chapter: int) -> str:
    """`/chapter list`'s line about `chapter` ("**n.** [title](link) · date · likes")."""
    return line_about(text, rf"^\*\*{chapter}\.\*\* ")


async def test_a_day_in_the_life_of_a_community(seeded: Settings, bot_factory, fake_discord: FakeDiscord,
                                               guild_setup: GuildSetup) -> None:
    fake, setup = fake_discord, guild_setup
    guild, moderator, reader = setup.guild, setup.moderator, setup.member
    hall = await fake.add_channel(guild, "hall-of-fame")
    story_team = fake.add_role(guild, "Story team")  # no Manage Server: trusted by the bot's own setting only
    teller = fake.add_member(guild, "storyteller", roles=[story_team])
    fan = fake.add_member(guild, "fan")
    clock = Clock()
    bot, timer = await start_bot(bot_factory, clock)
    town = Community(fake, setup, bot)

    # --- morning: the moderator sets the bot up ---------------------------------------------------------
    with pytest.raises(TestApiError):  # the client does not even offer moderator set-up to a plain member…
        await fake.invoke("schedule list", guild=guild, member=reader)
    configured = await town.say("aar setup", moderator, channel=setup.story, moderator_role=story_team,
                                like_emoji=LIKE, hall_of_fame_channel=hall, hall_of_fame_threshold=2)
    assert f"<#{setup.story.id}>" in configured and f"<@&{story_team.id}>" in configured
    assert f"<#{hall.id}>" in configured and "from 2 likes" in configured

    # A plain member may not release; nothing is posted.
    refused, record = await town.run("chapter next", reader)
    assert record.callback["data"]["flags"] & EPHEMERAL and "moderator" in text_of(refused).lower()
    assert fake.history(setup.story) == [] and await released_through(bot.db, guild.id) == 0

    # The story team releases chapters 1 and 2 from #general: they go to the configured story channel.
    for number in (1, 2):
        answer = await town.say("chapter next", teller)
        assert f"Released chapter {number} of {SEED_CHAPTERS}" in answer, answer
    assert fake.history(setup.general) == []
    ch1, ch2 = await town.parts(1), await town.parts(2)
    assert len(ch2) >= 2 and len(fake.history(setup.story)) == len(ch1) + len(ch2)
    assert fake.history(setup.story)[0]["id"] == str(ch1[0])

    # --- noon: members like chapter 2 ----------------------------------------------------------------
    await town.react(reader, ch2[0])
    await town.react(reader, ch2[1])  # the same member on a second part: still one like
    await town.settle()
    (post,) = fake.history(hall)  # forum 1 + Discord 1 = 2 likes: in the hall of fame, once
    assert "Chapter 2:" in post["embeds"][0]["title"] and "**2 likes** (forum 1 + Discord 1)" in text_of(post)
    assert town.link(ch2[0]) in text_of(post)
    await town.react(fan, ch2[1])
    await town.react(fan, ch1[0], "🎉")  # not the like emoji: counted apart, never a like
    await town.settle()
    (edited,) = fake.history(hall)  # the same post, edited to the new count
    assert edited["id"] == post["id"] and edited["edited_timestamp"] is not None
    assert "**3 likes** (forum 1 + Discord 2)" in text_of(edited)

    top = await town.say("likes top", reader)
    assert "3 likes (forum 1 + Discord 2)" in top_line(top, 2)
    assert "0 likes (forum 0 + Discord 0)" in top_line(top, 1)
    assert top.index("Chapter 2:") < top.index("Chapter 1:")
    chapter2 = await town.say("likes chapter", reader, chapter=2)
    assert "Forum likes: 1" in chapter2 and f"Discord likes {LIKE}: 2" in chapter2 and "Total: 3" in chapter2
    assert "🎉" not in chapter2
    assert "🎉 1" in await town.say("likes chapter", reader, chapter=1)

    listing = await town.say("chapter list", reader)
    assert (f"]({town.link(ch1[0])})" in list_line(listing, 1)
            and f"]({town.link(ch2[0])})" in list_line(listing, 2))
    assert "👍 3 (1 on the forum, 2 here)" in list_line(listing, 2)  # the figures /likes shows
    assert "👍 0" in list_line(listing, 1)

    card, record = await town.run("character", reader, name="Rokossovsky")
    (embed,) = card["embeds"]
    first = next(f["value"] for f in embed["fields"] if f["name"] == "First appearance")
    assert first.startswith("[Chapter 1") and first.endswith(f"({town.link(ch1[0])})")
    assert not card["flags"] & EPHEMERAL and record.callback["data"]["allowed_mentions"] == {"parse": []}

    # --- afternoon: a solo quiz on what is out ----------------------------------------------------------
    message, _ = await town.run("quiz start", fan, questions=3, mode="solo")
    assert message["flags"] & EPHEMERAL
    for position in range(3):
        def showing(position: int = position) -> dict[str, Any] | None:
            current = fake.messages[int(message["id"])]
            return next((b for row in current["components"] for b in row["components"]
                         if re.fullmatch(rf"aarquiz:\d+:{position}:\d", b["custom_id"])
                         and not b.get("disabled")),
                        None)
        button = await fake.wait_for(showing)
        chapter = int(re.search(r"chapter (\d+)", fake.messages[int(message["id"])]["embeds"][0]["title"])[1])
        assert chapter in (1, 2)
        await (await fake.click(message, button["custom_id"], member=fan)).wait_response()
    over = await fake.wait_for(lambda: (m := fake.messages[int(message["id"])])["embeds"][0]["title"]
                               .startswith("Quiz over") and m)
    assert re.search(r"\(\d/3 right\)", text_of(over))
    assert f"**1.** <@{fan.id}> · " in await town.say("quiz leaderboard", reader)

    # --- evening: chapter 3 is scheduled, and goes out once when its time comes --------------------------
    scheduled = await town.say("schedule add", moderator, when="2026-04-06 20:00", timezone="Europe/Paris")
    assert "Scheduled **#1**" in scheduled
    weekly = await town.say("schedule add", moderator, when="every wednesday 20:00", timezone="Europe/Paris")
    assert "Scheduled **#2**" in weekly

    clock.advance(hours=8, minutes=59)  # 17:59 UTC = 19:59 in Paris
    await schedules_checked(bot)
    assert await released_through(bot.db, guild.id) == 2
    clock.advance(minutes=1)
    await schedules_checked(bot)
    assert await released_through(bot.db, guild.id) == 3
    ch3 = await town.parts(3)
    posted = len(fake.history(setup.story))
    assert (posted == len(ch1) + len(ch2) + len(ch3)
            and "Chapter 3 of 6" in fake.history(setup.story)[len(ch1) + len(ch2)]["content"])
    clock.advance(hours=1)
    await schedules_checked(bot)
    assert len(fake.history(setup.story)) == posted and await released_through(bot.db, guild.id) == 3
    before = {
        "list": await town.say("chapter list", reader),
        "likes": await town.say("likes chapter", reader, chapter=2),
        "top": await town.say("likes top", reader),
        "schedules": await town.say("schedule list", moderator),
        "board": await town.say("quiz leaderboard", reader),
    }
    assert ("#1" not in before["schedules"]
            and "**#2** · every Wednesday" in before["schedules"].replace("wednesday", "Wednesday"))
    assert len(re.findall(r"^\*\*\d\.\*\* ", before["list"], re.M)) == 3

    # --- night: the bot restarts on the same database ---------------------------------------------------
    releases = await released_chapters(bot.db, guild.id)
    await bot.close()
    bot, timer = await start_bot(bot_factory, clock)
    town.bot, town.reactions_seen = bot, 0
    assert await released_chapters(bot.db, guild.id) == releases
    after = {
        "list": await town.say("chapter list", reader),
        "likes": await town.say("likes chapter", reader, chapter=2),
        "top": await town.say("likes top", reader),
        "schedules": await town.say("schedule list", moderator),
        "board": await town.say("quiz leaderboard", reader),
    }
    assert after == before
    assert len(fake.history(setup.story)) == posted  # nothing re-posted at start
    (still,) = fake.history(hall)
    # A like after the restart edits the same hall-of-fame post.
    await town.react(moderator, ch2[0])
    await town.settle()
    (again,) = fake.history(hall)
    assert again["id"] == post["id"] == still["id"] and "**4 likes** (forum 1 + Discord 3)" in text_of(again)
    # …and the weekly schedule still fires after the restart: Wednesday 20:00 in Paris releases chapter 4.
    clock.advance(days=1, hours=22, minutes=59)  # Wednesday 17:59 UTC = 19:59 in Paris
    await schedules_checked(bot)
    assert await released_through(bot.db, guild.id) == 3
    clock.advance(minutes=1)
    await schedules_checked(bot)
    assert await released_through(bot.db, guild.id) == 4


async def test_a_server_with_its_own_like_emoji_sees_the_same_likes_everywhere(
        seeded: Settings, bot_factory, fake_discord: FakeDiscord, guild_setup: GuildSetup) -> None:
    """Likes counted with ⭐ (and 👍 then just another reaction) read the same in every view."""
    fake, setup = fake_discord, guild_setup
    reader, moderator = setup.member, setup.moderator
    bot, _ = await start_bot(bot_factory, Clock())
    town = Community(fake, setup, bot)
    await town.say("chapter next", moderator)
    (first, *_) = await town.parts(1)
    await town.react(reader, first, LIKE)
    await town.react(reader, first, "⭐")
    await town.react(moderator, first, "⭐")
    await town.settle()
    await town.say("aar setup", moderator, like_emoji="⭐")

    card = await town.say("likes chapter", reader, chapter=1)
    assert "Discord likes ⭐: 2" in card and "Total: 2" in card and "Other reactions: 👍 1" in card
    assert "2 likes (forum 0 + Discord 2)" in top_line(await town.say("likes top", reader), 1)
    line = list_line(await town.say("chapter list", reader), 1)
    assert line.endswith("⭐ 2"), line  # the server's like emoji, not a 👍 that /likes counts as 1
