"""Likes end to end: the real bot and discord.py against the fake Discord.

Release messages are real messages the bot posts in the fake; the release itself is recorded in the
database the way the publisher records it (the chapters feature is tested on its own).  Reactions are
injected as the fake's gateway events; `cog.settle(n)` awaits the n-th raw reaction event and everything
it caused (ingest flush, hall-of-fame post or edit), so nothing here sleeps.
"""

# The fake's waits take `timeout=` by design.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import functools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import discord
import pytest

from bot.config import Settings
from bot.storage.connection import open_storage
from bot.storage.guilds import update_guild_settings
from bot.storage.sql import execute, fetch_all
from cogs.likes import Likes
from tests.fakediscord import EPHEMERAL, FakeDiscord, GuildSetup
from tests.helpers import mark_released

pytestmark = [pytest.mark.timeout(60), pytest.mark.both_backends]

LIKE = "👍"
TITLES = {1: "The Spanish Civil War: Further Beyond.",
          2: "Spanish Civil War: Madrid shall be Fascism's grave.",
          3: "Chapter 2: Abolish the Cult of the Individual.", 4: "Spanish Civil War: Workers, to Victory!"}



@dataclass
class World:
    fake: FakeDiscord
    bot: Any
    setup: GuildSetup
    parts: dict[int, list[int]]  # chapter → message ids of its parts

    @property
    def cog(self) -> Likes:
        cog = self.bot.get_cog("Likes")  # load_extension imports its own copy of cogs.likes: no isinstance
        assert cog is not None and type(cog).__name__ == "Likes"
        return cog

    async def settle(self, events: int) -> None:
        """Await `events` more raw reaction events than seen so far, and their effects."""
        await asyncio.wait_for(self.cog.settle(self._seen + events), 5)
        self._seen += events

    _seen: int = 0


async def post_release(bot, guild_id: int, channel_id: int, chapter: int, parts: int,
                       completed_at: datetime | None = None) -> list[int]:
    """Post `parts` messages as the bot and record them as the release of `chapter`, like the publisher
    does."""
    channel = bot.get_channel(channel_id)
    ids = [(await channel.send(f"Chapter {chapter}, part {i + 1}")).id for i in range(parts)]
    done = (completed_at or datetime.now(UTC)).isoformat()
    await execute(bot.db,
        "INSERT INTO releases(guild_id, chapter_number, channel_id, status, parts_total, started_at,"
        " completed_at) VALUES (?, ?, ?, 'done', ?, ?, ?)",
        (guild_id, chapter, channel_id, parts, done, done))
    for index, message_id in enumerate(ids):
        await execute(bot.db,
            "INSERT INTO release_parts(guild_id, chapter_number, part_index, nonce, message_id, channel_id,"
            " sent_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (guild_id, chapter, index, f"n-{message_id}", message_id, channel_id, done))
    return ids


async def start_world(bot_factory, fake: FakeDiscord, setup: GuildSetup, chapters: int = 2,
                      parts: int = 3) -> World:
    bot = await bot_factory()
    # The reconciliation at start has nothing to read yet; let it finish so each test starts from a known
    # state.
    await asyncio.wait_for(bot.get_cog("Likes").reconciliations.wait_for(1), 5)
    released = {n: await post_release(bot, setup.guild.id, setup.story.id, n, parts)
                for n in range(1, chapters + 1)}
    return World(fake, bot, setup, released)


@pytest.fixture
async def world(seeded: Settings, bot_factory, fake_discord: FakeDiscord, guild_setup: GuildSetup) -> World:
    return await start_world(bot_factory, fake_discord, guild_setup)


async def run(fake: FakeDiscord, command: str, member, **options: Any) -> dict[str, Any]:
    record = await fake.invoke(command, guild=member.guild, member=member, options=options)
    message = await record.wait_message()
    data = record.callback["data"]
    assert data.get("allowed_mentions") == {"parse": []}, "every likes answer must be sent without pings"
    return message


def fields(message: dict[str, Any]) -> dict[str, str]:
    (embed,) = message["embeds"]
    return {f["name"].split(" ")[0] if f["name"].startswith("Discord") else f["name"]: f["value"]
            for f in embed["fields"]}


async def chapter_fields(w: World, chapter: int, member=None) -> dict[str, str]:
    return fields(await run(w.fake, "likes chapter", member or w.setup.member, chapter=chapter))


# --- tracking -------------------------------------------------------------------------------------------

async def test_adds_and_removes_on_several_parts_count_each_member_once(world: World):
    w, fake, (p0, p1, p2) = world, world.fake, world.parts[1]
    reader, moddy = w.setup.member, w.setup.moderator
    await fake.add_reaction(reader, p0, LIKE)
    await fake.add_reaction(reader, p2, LIKE)   # the same member again, on another part: still one like
    await fake.add_reaction(moddy, p1, LIKE)
    await fake.add_reaction(reader, p1, "😂")
    await fake.add_reaction(moddy, p2, "😂")
    await w.settle(5)
    assert await chapter_fields(w, 1) == {"Forum likes": "0", "Discord": "2", "Total": "2",
                                          "Other reactions": "😂 2"}
    assert b"aar_reactions_ingested_total 5.0" in w.bot.metrics.render()  # operators see them (/metrics)

    await fake.remove_reaction(reader, p0, LIKE)  # still liked on part 3
    await w.settle(1)
    assert (await chapter_fields(w, 1))["Discord"] == "2"
    await fake.remove_reaction(reader, p2, LIKE)
    await fake.remove_reaction(reader, p1, "😂")
    await w.settle(2)
    assert await chapter_fields(w, 1) == {"Forum likes": "0", "Discord": "1", "Total": "1",
                                          "Other reactions": "😂 1"}
    # Chapter 2 (forum: 1 like) is untouched by reactions on chapter 1.
    assert await chapter_fields(w, 2) == {"Forum likes": "1", "Discord": "0", "Total": "1",
                                          "Other reactions": "none yet"}


async def test_remove_all_and_remove_emoji(world: World):
    w, fake, (p0, p1, _) = world, world.fake, world.parts[1]
    reader, moddy = w.setup.member, w.setup.moderator
    for member in (reader, moddy):
        await fake.add_reaction(member, p0, LIKE)
        await fake.add_reaction(member, p0, "🔥")
    await fake.add_reaction(moddy, p1, LIKE)
    await fake.add_reaction(reader, p1, "🔥")
    await w.settle(6)
    assert await chapter_fields(w, 1) == {"Forum likes": "0", "Discord": "2", "Total": "2",
                                          "Other reactions": "🔥 2"}

    await fake.remove_emoji_reactions(p1, "🔥")  # a moderator clears 🔥 on part 2: part 1 still has both
    await w.settle(1)
    assert (await chapter_fields(w, 1))["Other reactions"] == "🔥 2"
    await fake.remove_all_reactions(p0)          # part 1 cleared: only the moderator's like on part 2 is left
    await w.settle(1)
    assert await chapter_fields(w, 1) == {"Forum likes": "0", "Discord": "1", "Total": "1",
                                          "Other reactions": "none yet"}


async def test_the_bots_own_reaction_and_other_messages_are_ignored(world: World):
    w, fake = world, world.fake
    p0 = w.parts[1][0]
    await w.bot.get_channel(w.setup.story.id).get_partial_message(p0).add_reaction(LIKE)
    assert w.fake.reactions(p0, LIKE) == [fake.bot_user.id]
    chatter = fake.post_as(w.setup.member, w.setup.general, "great chapter!")
    await fake.add_reaction(w.setup.moderator, chatter, LIKE)
    await w.settle(2)
    assert (await chapter_fields(w, 1))["Discord"] == "0"
    readers = await run(fake, "likes readers", w.setup.member)
    assert readers["embeds"][0]["description"] == "Nobody has reacted to a released chapter yet."
    await fake.add_reaction(w.setup.member, p0, LIKE)
    await w.settle(1)
    assert (await chapter_fields(w, 1))["Discord"] == "1"
    readers = await run(fake, "likes readers", w.setup.moderator)
    assert readers["embeds"][0]["description"] == (f"**1.** <@{w.setup.member.id}> — "
                                                   "reacted to 1 chapter (1 reaction)")


async def test_custom_emoji_counted_by_id(world: World):
    w, fake = world, world.fake
    p0, p1 = w.parts[2][:2]
    party = {"id": "123456789012345678", "name": "party", "animated": False}
    await fake.add_reaction(w.setup.member, p0, party)
    await fake.add_reaction(w.setup.moderator, p1, {**party, "name": "fiesta"})  # renamed since: same emoji
    await w.settle(2)
    assert (await chapter_fields(w, 2))["Other reactions"] == "<:fiesta:123456789012345678> 2"
    await update_guild_settings(w.bot.db, w.setup.guild.id, like_emoji="<:fiesta:123456789012345678>")
    assert await chapter_fields(w, 2) == {"Forum likes": "1", "Discord": "2", "Total": "3",
                                          "Other reactions": "none yet"}


# --- reconciliation at start ----------------------------------------------------------------------------

async def test_reactions_given_while_the_bot_was_down_are_reconciled(
        seeded, bot_factory, fake_discord: FakeDiscord, guild_setup: GuildSetup):
    fake, setup = fake_discord, guild_setup
    reader, moddy = setup.member, setup.moderator
    extra = fake.add_member(setup.guild, "latecomer")
    bot = await bot_factory()
    old = await post_release(bot, setup.guild.id, setup.story.id, 1, 1,
                             datetime.now(UTC) - timedelta(days=90))
    recent = await post_release(bot, setup.guild.id, setup.story.id, 2, 2)
    w = World(fake, bot, setup, {1: old, 2: recent})
    await fake.add_reaction(reader, recent[0], LIKE)
    await fake.add_reaction(moddy, recent[1], "🔥")
    await w.settle(2)
    await bot.close()

    # While the bot is offline: a like and a fire are taken back, others are given (on both chapters).
    await fake.remove_reaction(reader, recent[0], LIKE)
    await fake.remove_reaction(moddy, recent[1], "🔥")
    await fake.add_reaction(moddy, recent[0], LIKE)
    await fake.add_reaction(extra, recent[1], LIKE)
    await fake.add_reaction(extra, recent[1], "😂")
    await fake.add_reaction(reader, old[0], LIKE)  # chapter 1 was released 90 days ago: not re-read

    bot2 = await bot_factory()
    w2 = World(fake, bot2, setup, w.parts)
    await asyncio.wait_for(w2.cog.reconciliations.wait_for(1), 10)
    await asyncio.wait_for(w2.cog.settle(0), 5)
    assert await chapter_fields(w2, 2) == {"Forum likes": "1", "Discord": "2", "Total": "3",
                                           "Other reactions": "😂 1"}
    assert (await chapter_fields(w2, 1))["Discord"] == "0"
    fetched = {r.path for r in fake.requests if r.method == "GET" and "/messages/" in r.path}
    assert fetched >= {f"/channels/{setup.story.id}/messages/{m}" for m in recent}
    assert f"/channels/{setup.story.id}/messages/{old[0]}" not in fetched
    # Live events keep working after the reconciliation.
    await fake.add_reaction(reader, recent[1], LIKE)
    await w2.settle(1)
    assert (await chapter_fields(w2, 2))["Discord"] == "3"


async def test_successive_starts_reconcile_every_server_in_turn(
        seeded, bot_factory, fake_discord: FakeDiscord, guild_setup: GuildSetup,
        monkeypatch: pytest.MonkeyPatch):
    """A round's budget fits one server's turn here: each start re-reads the next server, round-robin
    from where the last start stopped (a cursor in the database), until every server had its turn."""
    from bot.likes import reconcile

    monkeypatch.setattr(reconcile, "ReconcileLimits", functools.partial(
        reconcile.ReconcileLimits, max_messages=2, per_guild=2, interval=None))
    fake = fake_discord
    setups = [guild_setup, await fake.add_standard_guild("Second"), await fake.add_standard_guild("Third")]
    bot = await bot_factory()
    await asyncio.wait_for(bot.get_cog("Likes").reconciliations.wait_for(1), 5)
    posted = {s.guild.id: await post_release(bot, s.guild.id, s.story.id, 1, 2) for s in setups}
    await bot.close()

    read_per_start = []
    for _ in setups:
        seen = len(fake.requests)
        again = await bot_factory()
        await asyncio.wait_for(again.get_cog("Likes").reconciliations.wait_for(1), 10)
        fetched = {r.path for r in fake.requests[seen:] if r.method == "GET" and "/messages/" in r.path}
        read_per_start.append({guild for guild, ids in posted.items()
                               if any(f"/messages/{m}" in path for m in ids for path in fetched)})
        await again.close()
    assert all(len(read) == 1 for read in read_per_start), read_per_start
    assert set().union(*read_per_start) == set(posted)


# --- hall of fame ---------------------------------------------------------------------------------------

async def test_hall_of_fame_posted_once_then_edited(world: World):
    w, fake, setup = world, world.fake, world.setup
    hall = await fake.add_channel(setup.guild, "hall-of-fame")
    await update_guild_settings(w.bot.db, setup.guild.id, hall_of_fame_channel_id=hall.id,
                                hall_of_fame_threshold=3)
    p0, p1, p2 = w.parts[2]  # chapter 2 has 1 like from the forum
    await fake.add_reaction(setup.member, p0, LIKE)
    await w.settle(1)
    assert fake.history(hall) == []  # 2 < 3

    await fake.add_reaction(setup.moderator, p1, LIKE)
    await w.settle(1)
    (post,) = fake.history(hall)
    (embed,) = post["embeds"]
    assert embed["title"] == f"🏆 Chapter 2: {TITLES[2]}"
    assert embed["description"].startswith("**3 likes** (forum 1 + Discord 2)")
    jump = f"https://discord.com/channels/{setup.guild.id}/{setup.story.id}/{p0}"
    assert jump in embed["description"] and embed["url"] == jump
    assert post["mentions"] == [] and post["author"]["id"] == str(fake.bot_user.id)

    await fake.add_reaction(fake.add_member(setup.guild, "third"), p2, LIKE)
    await w.settle(1)
    (post,) = fake.history(hall)
    assert post["embeds"][0]["description"].startswith("**4 likes** (forum 1 + Discord 3)")
    assert post.get("edited_timestamp")
    edits = [r for r in fake.requests if r.method == "PATCH" and r.path.endswith(f"/messages/{post['id']}")]
    assert len(edits) == 1

    await fake.add_reaction(setup.member, p2, "🔥")  # not a like: nothing to edit
    await fake.remove_reaction(setup.member, p0, LIKE)
    await w.settle(2)
    (post,) = fake.history(hall)  # below… still one post, showing the current count
    assert post["embeds"][0]["description"].startswith("**3 likes**")
    edits = [r for r in fake.requests if r.method == "PATCH" and r.path.endswith(f"/messages/{post['id']}")]
    assert len(edits) == 2


async def test_hall_of_fame_follows_a_new_threshold_without_waiting_for_a_reaction(world: World):
    """Setting the hall of fame in /aar setup posts the chapters that already qualify, once."""
    w, fake, setup = world, world.fake, world.setup
    hall = await fake.add_channel(setup.guild, "hall-of-fame")
    record = await fake.invoke("aar setup", guild=setup.guild, member=setup.moderator,
                               options={"hall_of_fame_channel": hall, "hall_of_fame_threshold": 1})
    await record.wait_response()
    await fake.wait_for(lambda: len(fake.history(hall)) == 1, timeout=5)  # chapter 2: 1 forum like
    await asyncio.wait_for(w.cog.hall.drain(), 5)
    (post,) = fake.history(hall)
    assert post["embeds"][0]["title"] == f"🏆 Chapter 2: {TITLES[2]}"

    record = await fake.invoke("aar setup", guild=setup.guild, member=setup.moderator,
                               options={"hall_of_fame_threshold": 1})
    await record.wait_response()
    await asyncio.wait_for(w.cog.hall.drain(), 5)
    assert len(fake.history(hall)) == 1  # unchanged count: not posted again


# --- guilds and spoilers --------------------------------------------------------------------------------

async def test_two_guilds_are_counted_apart(seeded, bot_factory, fake_discord: FakeDiscord,
                                            guild_setup: GuildSetup):
    fake = fake_discord
    other = await fake.add_standard_guild("Other Guild")
    bot = await bot_factory()
    mine = await post_release(bot, guild_setup.guild.id, guild_setup.story.id, 1, 2)
    theirs = await post_release(bot, other.guild.id, other.story.id, 1, 2)
    w = World(fake, bot, guild_setup, {1: mine})
    await fake.add_reaction(guild_setup.member, mine[0], LIKE)
    await fake.add_reaction(guild_setup.moderator, mine[1], LIKE)
    await fake.add_reaction(other.member, theirs[1], LIKE)
    await fake.add_reaction(other.member, theirs[1], "🎉")
    await w.settle(4)
    assert await chapter_fields(w, 1) == {"Forum likes": "0", "Discord": "2", "Total": "2",
                                          "Other reactions": "none yet"}
    theirs_fields = fields(await run(fake, "likes chapter", other.member, chapter=1))
    assert theirs_fields == {"Forum likes": "0", "Discord": "1", "Total": "1", "Other reactions": "🎉 1"}
    top = await run(fake, "likes top", other.moderator)
    assert top["embeds"][0]["description"] == (f"**1.** Chapter 1: {TITLES[1]} — "
                                               "1 like (forum 0 + Discord 1)")


async def test_top_shows_the_forum_likes_before_anyone_reacts(seeded, bot_factory, fake_discord: FakeDiscord,
                                                              guild_setup: GuildSetup):
    bot = await bot_factory()
    member = guild_setup.member
    empty = await run(fake_discord, "likes top", member)
    assert empty["embeds"][0]["description"] == "No chapter has been released in this server yet."

    await mark_released(bot.db, guild_setup.guild.id, 3)
    top = await run(fake_discord, "likes top", member)
    lines = top["embeds"][0]["description"].split("\n")
    assert lines == [f"**1.** Chapter 2: {TITLES[2]} — 1 like (forum 1 + Discord 0)",
                     f"**1.** Chapter 3: {TITLES[3]} — 1 like (forum 1 + Discord 0)",
                     f"**3.** Chapter 1: {TITLES[1]} — 0 likes (forum 0 + Discord 0)"]
    assert TITLES[4] not in str(top)

    await mark_released(bot.db, guild_setup.guild.id, 6)
    top = await run(fake_discord, "likes top", member)
    totals = [line.rsplit("—", 1)[1] for line in top["embeds"][0]["description"].split("\n")]
    # The seed: 0, 1, 1, 1, 1, 1.
    assert [t.split(" (")[0].strip() for t in totals] == ["1 like"] * 5 + ["0 likes"]


async def test_unreleased_chapter_is_not_out_yet_and_never_suggested(
        seeded, bot_factory, fake_discord: FakeDiscord, guild_setup: GuildSetup):
    bot = await bot_factory()
    await mark_released(bot.db, guild_setup.guild.id, 2)
    record = await fake_discord.invoke("likes chapter", member=guild_setup.member, options={"chapter": 4})
    message = await record.wait_message()
    assert message["flags"] & EPHEMERAL
    assert message["content"] == "Chapter 4 is not out yet in this server, so it has no likes to show."
    assert TITLES[4] not in str(message)
    missing = await fake_discord.invoke("likes chapter", member=guild_setup.member, options={"chapter": 99})
    assert "not out yet" in (await missing.wait_message())["content"]

    choices = await fake_discord.autocomplete("likes chapter", focused="chapter", options={"chapter": ""},
                                              member=guild_setup.member)
    assert [c["value"] for c in choices] == [1, 2]
    assert [c["value"] for c in await fake_discord.autocomplete(
        "likes chapter", focused="chapter", options={"chapter": "madrid"}, member=guild_setup.member)] == [2]


async def test_chapter_titles_are_escaped(seeded, bot_factory, fake_discord: FakeDiscord,
                                          guild_setup: GuildSetup):
    bot = await bot_factory()
    await mark_released(bot.db, guild_setup.guild.id, 1)
    await execute(bot.db, "UPDATE chapters SET title = '**Not bold** and _not italic_' WHERE number = 1")
    message = await run(fake_discord, "likes chapter", guild_setup.member, chapter=1)
    assert message["embeds"][0]["title"] == "Chapter 1: \\*\\*Not bold\\*\\* and \\_not italic\\_"


async def test_shutdown_writes_pending_reactions(world: World):
    """Reactions received just before shutdown are written by the ingest's flush on close."""
    w, fake = world, world.fake
    members = [fake.add_member(w.setup.guild, f"fan{i}") for i in range(20)]
    for member in members:
        await fake.add_reaction(member, w.parts[1][0], LIKE)
    await asyncio.wait_for(w.cog.received.wait_for(20), 5)  # seen, not necessarily written yet
    ingest = w.cog.ingest
    settings = w.bot.settings
    await w.bot.close()
    assert ingest.stats.applied == ingest.stats.submitted == 20
    conn = await open_storage(settings.db_path, settings.database_url)
    try:
        cur_rows = await fetch_all(conn, "SELECT COUNT(DISTINCT user_id) FROM reactions"
                                " WHERE chapter_number = 1")
        assert cur_rows[0][0] == 20
    finally:
        await conn.close()


def test_listeners_cover_every_raw_reaction_event():
    names = {name for name, _ in Likes.__cog_listeners__}
    assert {"on_raw_reaction_add", "on_raw_reaction_remove", "on_raw_reaction_clear",
            "on_raw_reaction_clear_emoji"} <= names
    assert discord.Intents.none().guild_reactions is False  # the bot asks for it explicitly (bot.app)
