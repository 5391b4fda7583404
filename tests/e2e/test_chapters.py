"""`/chapter next|read|list` end to end: the real bot and discord.py against the fake Discord.

Covers the release (order, thread, no pings, escaping via the renderer's payloads), 429/5xx retries,
a kill at every step of a release, 403s naming the permission, exhaustion, permissions, concurrency,
catch-up reading that never shows an unreleased chapter, and guilds reading at their own pace.
"""

# The fake's waits take `timeout=` by design.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from bot.__main__ import main as cli_main
from bot.chapters.publishing import Publisher
from bot.chapters.render import render_chapter
from bot.config import SHIPPED_THREAD, Settings
from bot.storage.guilds import update_guild_settings
from bot.storage.releases import released_through
from bot.storage.sql import execute
from bot.storage.story import load_chapter
from cogs.shared.sender import DiscordSender
from tests.fakediscord import EPHEMERAL, FakeDiscord, GuildSetup, validation
from tests.fakediscord.models import MANAGE_GUILD
from tests.helpers import SEED_CHAPTERS, final_answer, mark_released

pytestmark = [pytest.mark.timeout(60), pytest.mark.both_backends]

MESSAGES = r"^/channels/\d+/messages$"



@pytest.fixture
async def bot(seeded: Settings, bot_factory, guild_setup: GuildSetup):
    return await bot_factory()


async def expected_payloads(conn, number: int) -> list[dict[str, Any]]:
    chapter = await load_chapter(conn, number)
    assert chapter is not None
    return render_chapter(chapter, number=number, total=SEED_CHAPTERS)


def bare(embeds: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Embeds as sent, without the defaults Discord (`type`) or discord.Embed (`flags: 0`) add."""
    return [{k: v for k, v in e.items() if k not in ("type", "flags")} for e in embeds]


def posted(fake: FakeDiscord, channel) -> list[dict[str, Any]]:
    """The channel's messages as members see them: content, embeds, and the thread opened from each."""
    out = []
    for message in fake.history(channel):
        embeds = [{k: v for k, v in e.items() if k != "type"} for e in message["embeds"]]
        thread = fake.channels.get(int(message["id"]))
        out.append({"content": message["content"], "embeds": embeds,
                    "thread": thread.name if thread is not None and thread.parent_id else None})
    return out


def as_posted(payloads: list[dict[str, Any]], thread: str | None) -> list[dict[str, Any]]:
    return [{"content": p["content"], "embeds": p.get("embeds", []), "thread": thread if i == 0 else None}
            for i, p in enumerate(payloads)]


async def next_chapter(fake: FakeDiscord, setup: GuildSetup, *, channel=None, member=None,
                       timeout: float = 20) -> str:
    """Run `/chapter next` and return its (ephemeral) answer's final text: a refusal at once, or the
    outcome the "going out now" / "queued" answer was edited into."""
    record = await fake.invoke("chapter next", guild=setup.guild, channel=channel or setup.story,
                               member=member or setup.moderator)
    response = await record.wait_response(timeout=5)
    assert response["type"] in (4, 5) and response["data"]["flags"] & EPHEMERAL  # at once, privately
    answer = await final_answer(record, timeout=timeout)
    assert answer["flags"] & EPHEMERAL
    return answer["content"]


# --- release -----------------------------------------------------------------------------------------

async def test_next_releases_in_order_with_thread_and_no_pings(bot, fake_discord: FakeDiscord,
                                                               guild_setup: GuildSetup) -> None:
    text = await next_chapter(fake_discord, guild_setup)
    chapter = await load_chapter(bot.db, 1)
    assert chapter is not None
    expected = await expected_payloads(bot.db, 1)
    assert posted(fake_discord, guild_setup.story) == as_posted(expected, chapter.title)
    first = fake_discord.history(guild_setup.story)[0]
    assert f"Released chapter 1 of {SEED_CHAPTERS}" in text
    assert (f"https://discord.com/channels/{guild_setup.guild.id}/{guild_setup.story.id}/{first['id']}"
            in text)
    assert f"<#{first['id']}>" in text  # the discussion thread (a thread from a message has its id)
    # Every story message: no pings, a nonce Discord must enforce, and a first message with the header.
    sends = [r for r in fake_discord.requests_to("POST", MESSAGES) if r.status == 200]
    assert len(sends) == len(expected)
    assert all(r.json["allowed_mentions"] == {"parse": []} for r in sends)
    assert all(r.json["enforce_nonce"] is True and len(r.json["nonce"]) == 25 for r in sends)
    assert len({r.json["nonce"] for r in sends}) == len(sends)
    assert first["content"].startswith(f"# {chapter.title}")
    assert f"Chapter 1 of {SEED_CHAPTERS}" in first["content"]
    # The thread was opened after the first message and before the second.
    order = [(r.method, r.path) for r in fake_discord.requests
             if r.method == "POST" and re.search(r"/messages(/\d+/threads)?$", r.path)
             and "/channels/" in r.path and "/interactions/" not in r.path and "/webhooks/" not in r.path]
    assert order[1][1].endswith("/threads") and len(order) == len(expected) + 1
    assert await released_through(bot.db, guild_setup.guild.id) == 1


async def test_story_channel_setting_and_threads_off(bot, fake_discord: FakeDiscord,
                                                     guild_setup: GuildSetup) -> None:
    await update_guild_settings(bot.db, guild_setup.guild.id, story_channel_id=guild_setup.story.id,
                                discussion_threads=0)
    text = await next_chapter(fake_discord, guild_setup, channel=guild_setup.general)
    assert f"<#{guild_setup.story.id}>" in text and "discussion" not in text
    assert fake_discord.history(guild_setup.general) == []
    expected = await expected_payloads(bot.db, 1)
    assert posted(fake_discord, guild_setup.story) == as_posted(expected, None)


def test_preview_payloads_of_every_seed_chapter_pass_the_fakes_limits(tmp_path: Path, capsys) -> None:
    db = tmp_path / "preview.db"
    assert cli_main(["import", str(SHIPPED_THREAD), "--db", str(db)]) == 0
    capsys.readouterr()
    for number in range(1, SEED_CHAPTERS + 1):
        assert cli_main(["preview", str(number), "--json", "--db", str(db)]) == 0
        messages = json.loads(capsys.readouterr().out)
        assert messages, number
        for message in messages:
            assert validation.validate_message(message) == {}, (number, message)
            assert message["allowed_mentions"] == {"parse": []}


async def test_all_six_releases_match_the_preview_and_then_it_is_all_out(bot, fake_discord: FakeDiscord,
                                                                          guild_setup: GuildSetup) -> None:
    for number in range(1, SEED_CHAPTERS + 1):
        text = await next_chapter(fake_discord, guild_setup)
        assert f"Released chapter {number} of {SEED_CHAPTERS}" in text
    expected = []
    for number in range(1, SEED_CHAPTERS + 1):
        chapter = await load_chapter(bot.db, number)
        assert chapter is not None
        expected += as_posted(await expected_payloads(bot.db, number), chapter.title)
    assert posted(fake_discord, guild_setup.story) == expected
    assert all(r.status == 200 for r in fake_discord.requests_to("POST", MESSAGES))
    before = len(fake_discord.requests_to("POST", MESSAGES))
    text = await next_chapter(fake_discord, guild_setup)
    assert "All 6 chapters are already out" in text and "nothing was posted" in text
    assert len(fake_discord.requests_to("POST", MESSAGES)) == before


async def test_longest_chapter_survives_429s_and_a_5xx(bot, fake_discord: FakeDiscord,
                                                       guild_setup: GuildSetup) -> None:
    lengths = {n: sum(len(p["content"]) + len(json.dumps(p.get("embeds", [])))
                      for p in await expected_payloads(bot.db, n)) for n in range(1, SEED_CHAPTERS + 1)}
    longest = max(lengths, key=lengths.__getitem__)
    await mark_released(bot.db, guild_setup.guild.id, longest - 1, channel_id=guild_setup.general.id)
    # discord.py tries a request 5 times and sleeps 1 + 2·tries after a 5xx: the 500 comes first (1 s),
    # then 429s (their retry_after is honoured), on the first part and on the thread.
    fake_discord.inject_fault(500, method="POST", path=MESSAGES, times=1)
    fake_discord.inject_fault(429, method="POST", path=MESSAGES, times=3, retry_after=0.01)
    fake_discord.inject_fault(429, method="POST", path=r"/threads$", times=1, retry_after=0.01)
    text = await next_chapter(fake_discord, guild_setup, timeout=30)
    assert f"Released chapter {longest} of" in text
    chapter = await load_chapter(bot.db, longest)
    assert chapter is not None
    assert posted(fake_discord, guild_setup.story) == as_posted(await expected_payloads(bot.db, longest),
                                                                chapter.title)
    statuses = [r.status for r in fake_discord.requests_to("POST", MESSAGES)]
    assert statuses.count(429) == 3 and statuses.count(500) == 1  # the faults really happened


# --- crash at every step --------------------------------------------------------------------------------

class Crash(BaseException):
    """The process dies here."""


class CrashingSender:
    """The real Sender, killed just before or just after Discord accepts operation number `at`."""

    def __init__(self, inner: DiscordSender, at: int, phase: str) -> None:
        self.inner, self.at, self.phase, self.ops = inner, at, phase, 0

    async def missing_permissions(self, channel_id: int, *, thread: bool) -> list[str]:
        return await self.inner.missing_permissions(channel_id, thread=thread)

    async def find_sent(self, *args: Any, **kwargs: Any) -> int | None:
        return await self.inner.find_sent(*args, **kwargs)

    async def channel_info(self, channel_id: int) -> Any:
        return await self.inner.channel_info(channel_id)

    async def _op(self, call) -> int:
        if (self.ops, self.phase) == (self.at, "before"):
            raise Crash
        result = await call()
        if (self.ops, self.phase) == (self.at, "after"):
            raise Crash
        self.ops += 1
        return result

    async def send(self, channel_id: int, payload: dict[str, Any], *, nonce: str) -> int:
        return await self._op(lambda: self.inner.send(channel_id, payload, nonce=nonce))

    async def open_thread(self, channel_id: int, message_id: int, name: str) -> int:
        return await self._op(lambda: self.inner.open_thread(channel_id, message_id, name))


@pytest.mark.parametrize("nonce_window", [300.0, 0.0], ids=["discord-remembers-nonce", "nonce-expired"])
async def test_killed_at_every_part_boundary_resumes_to_the_same_history(
        bot, fake_discord: FakeDiscord, guild_setup: GuildSetup, nonce_window: float) -> None:
    fake_discord.nonce_window = nonce_window  # 0: only the look at the channel's messages closes the gap
    await next_chapter(fake_discord, guild_setup)  # the uninterrupted reference
    reference = posted(fake_discord, guild_setup.story)
    steps = len(reference) + 1  # each part, and the thread
    for step, phase in itertools.product(range(steps), ("before", "after")):
        setup = await fake_discord.add_standard_guild(f"crash {step} {phase}")
        crashing = Publisher(bot.db, CrashingSender(DiscordSender(bot), step, phase), clock=bot.clock)
        with pytest.raises(Crash):
            await crashing.release_next(setup.guild.id, setup.story.id)
        assert await released_through(bot.db, setup.guild.id) == 0
        # A new process: a fresh engine over the same database and the same Discord.
        restarted = Publisher(bot.db, DiscordSender(bot), clock=bot.clock)
        [outcome] = await restarted.resume(setup.guild.id)
        assert (outcome.status, outcome.chapter) == ("released", 1), (step, phase)
        assert posted(fake_discord, setup.story) == reference, (step, phase)
        assert await released_through(bot.db, setup.guild.id) == 1


async def test_a_new_bot_process_finishes_an_interrupted_release(seeded: Settings, bot_factory,
                                                                 fake_discord: FakeDiscord,
                                                                 guild_setup: GuildSetup) -> None:
    first = await bot_factory()
    reference_guild = await fake_discord.add_standard_guild("reference")
    await next_chapter(fake_discord, reference_guild)
    crashing = Publisher(first.db, CrashingSender(DiscordSender(first), 2, "after"), clock=first.clock)
    with pytest.raises(Crash):
        await crashing.release_next(guild_setup.guild.id, guild_setup.story.id)
    assert len(fake_discord.history(guild_setup.story)) == 2  # first part posted, second accepted unrecorded
    await first.close()
    second = await bot_factory()
    cog = second.get_cog("Chapters")
    assert cog is not None and cog.startup_resume is not None
    await asyncio.wait_for(cog.startup_resume, 10)
    assert posted(fake_discord, guild_setup.story) == posted(fake_discord, reference_guild.story)
    assert await released_through(second.db, guild_setup.guild.id) == 1


# --- refusals -------------------------------------------------------------------------------------------

async def test_missing_send_messages_is_named_and_the_chapter_stays_unreleased(
        bot, fake_discord: FakeDiscord, guild_setup: GuildSetup) -> None:
    fake_discord.forbid(guild_setup.story, "send_messages")
    text = await next_chapter(fake_discord, guild_setup)
    assert "missing the **Send Messages** permission" in text and "stays unreleased" in text
    assert fake_discord.history(guild_setup.story) == []
    assert await released_through(bot.db, guild_setup.guild.id) == 0
    fake_discord.allow(guild_setup.story)
    assert "Released chapter 1 of" in await next_chapter(fake_discord, guild_setup)


async def test_a_403_discord_raises_anyway_stops_and_resumes_without_doubles(bot, fake_discord: FakeDiscord,
                                                                             guild_setup: GuildSetup) -> None:
    # Used from #general about #story: the bot's permission cache cannot see the fake's denial, so the
    # 403 comes from Discord itself when the thread is opened after the first part.
    await update_guild_settings(bot.db, guild_setup.guild.id, story_channel_id=guild_setup.story.id)
    fake_discord.forbid(guild_setup.story, "create_thread")
    text = await next_chapter(fake_discord, guild_setup, channel=guild_setup.general)
    assert ("missing the **Create Public Threads** permission" in text
            and "first part is already posted" in text)
    assert len(fake_discord.history(guild_setup.story)) == 1
    assert await released_through(bot.db, guild_setup.guild.id) == 0
    fake_discord.allow(guild_setup.story)
    text = await next_chapter(fake_discord, guild_setup, channel=guild_setup.general)
    assert "Finished releasing chapter 1" in text
    chapter = await load_chapter(bot.db, 1)
    assert chapter is not None
    assert posted(fake_discord, guild_setup.story) == as_posted(await expected_payloads(bot.db, 1),
                                                                chapter.title)


async def test_members_without_permission_are_refused_and_the_moderator_role_counts(
        bot, fake_discord: FakeDiscord, guild_setup: GuildSetup) -> None:
    text = await next_chapter(fake_discord, guild_setup, member=guild_setup.member)
    assert "Only moderators can do this" in text
    assert fake_discord.history(guild_setup.story) == []
    helper_role = fake_discord.add_role(guild_setup.guild, "Story keeper")
    await fake_discord.dispatch("GUILD_ROLE_CREATE", {"guild_id": str(guild_setup.guild.id),
                                                      "role": helper_role.to_dict()})
    keeper = fake_discord.add_member(guild_setup.guild, "keeper", roles=[helper_role])
    assert "Only moderators" in await next_chapter(fake_discord, guild_setup, member=keeper)
    await update_guild_settings(bot.db, guild_setup.guild.id, moderator_role_id=helper_role.id)
    assert "Released chapter 1" in await next_chapter(fake_discord, guild_setup, member=keeper)
    manager = fake_discord.add_member(guild_setup.guild, "manager", permissions=MANAGE_GUILD)
    assert "Released chapter 2" in await next_chapter(fake_discord, guild_setup, member=manager)


async def test_concurrent_next_in_one_guild_releases_each_chapter_once(bot, fake_discord: FakeDiscord,
                                                                       guild_setup: GuildSetup) -> None:
    texts = await asyncio.gather(*(next_chapter(fake_discord, guild_setup) for _ in range(3)))
    assert sorted(re.search(r"chapter (\d) of", t).group(1) for t in texts) == ["1", "2", "3"]
    expected = []
    for number in (1, 2, 3):
        chapter = await load_chapter(bot.db, number)
        assert chapter is not None
        expected += as_posted(await expected_payloads(bot.db, number), chapter.title)
    assert posted(fake_discord, guild_setup.story) == expected


# --- catch-up -------------------------------------------------------------------------------------------

async def read(fake: FakeDiscord, setup: GuildSetup, number: int, member=None):
    record = await fake.invoke("chapter read", guild=setup.guild, channel=setup.general,
                               member=member or setup.member, options={"number": number})
    await record.wait_response()
    return record


def button(message: dict[str, Any], label: str) -> dict[str, Any]:
    for row in message["components"]:
        for component in row["components"]:
            if component.get("label", "").startswith(label):
                return component
    raise AssertionError(f"no {label!r} button in {message['components']}")


async def test_read_pages_through_a_released_chapter_privately(bot, fake_discord: FakeDiscord,
                                                               guild_setup: GuildSetup) -> None:
    await mark_released(bot.db, guild_setup.guild.id, 3)
    pages = await expected_payloads(bot.db, 3)
    assert len(pages) >= 2
    record = await read(fake_discord, guild_setup, 3)
    message = await record.wait_message()
    assert message["flags"] & EPHEMERAL
    assert (message["content"], bare(message["embeds"])) == (pages[0]["content"], pages[0]["embeds"])
    assert button(message, "Previous")["disabled"] is True
    assert button(message, "Page")["label"] == f"Page 1 of {len(pages)}"
    click = await fake_discord.click(message, button(message, "Next")["custom_id"], member=guild_setup.member)
    await click.wait_response()
    message = record.message
    assert message is not None and message["content"] == pages[1]["content"]
    assert button(message, "Page")["label"] == f"Page 2 of {len(pages)}"
    click = await fake_discord.click(message, button(message, "Previous")["custom_id"],
                                     member=guild_setup.member)
    await click.wait_response()
    assert record.message["content"] == pages[0]["content"]
    assert fake_discord.history(guild_setup.general) == []  # nothing public


async def test_catch_up_never_shows_an_unreleased_chapter(bot, fake_discord: FakeDiscord,
                                                          guild_setup: GuildSetup) -> None:
    await mark_released(bot.db, guild_setup.guild.id, 2)
    titles = {n: (await load_chapter(bot.db, n)).title for n in range(1, SEED_CHAPTERS + 1)}
    for number in (3, 6, 7, 99):
        record = await read(fake_discord, guild_setup, number)
        message = await record.wait_message()
        assert message["flags"] & EPHEMERAL
        assert f"Chapter {number} is not out yet in this server" in message["content"]
        assert not message["embeds"] and not message["components"]
        assert not any(title in message["content"] for n, title in titles.items() if n > 2)
    for typed in ("", "3", "Chapter", "War", "a"):
        choices = await fake_discord.autocomplete("chapter read", focused="number", options={"number": typed},
                                                  guild=guild_setup.guild, member=guild_setup.member)
        assert {c["value"] for c in choices} <= {1, 2}
        assert not any(titles[n] in c["name"] for c in choices for n in range(3, SEED_CHAPTERS + 1))
    choices = await fake_discord.autocomplete("chapter read", focused="number", options={"number": ""},
                                              guild=guild_setup.guild, member=guild_setup.member)
    assert [c["value"] for c in choices] == [1, 2] and titles[2] in choices[1]["name"]
    record = await read(fake_discord, guild_setup, 0)
    assert "start at 1" in (await record.wait_message())["content"]


async def test_guilds_read_at_their_own_pace(bot, fake_discord: FakeDiscord, guild_setup: GuildSetup) -> None:
    other = await fake_discord.add_standard_guild("Other server")
    await next_chapter(fake_discord, guild_setup)
    await next_chapter(fake_discord, guild_setup)
    assert "Released chapter 1 of" in await next_chapter(fake_discord, other)
    assert (await released_through(bot.db, guild_setup.guild.id),
            await released_through(bot.db, other.guild.id)) == (2, 1)
    record = await read(fake_discord, other, 2)
    assert "Chapter 2 is not out yet" in (await record.wait_message())["content"]
    record = await read(fake_discord, guild_setup, 2)
    assert (await record.wait_message())["content"] == (await expected_payloads(bot.db, 2))[0]["content"]
    choices = await fake_discord.autocomplete("chapter read", focused="number", options={"number": ""},
                                              guild=other.guild, member=other.member)
    assert [c["value"] for c in choices] == [1]


async def test_list_shows_released_chapters_with_links_dates_and_likes(bot, fake_discord: FakeDiscord,
                                                                        guild_setup: GuildSetup) -> None:
    record = await fake_discord.invoke("chapter list", guild=guild_setup.guild, member=guild_setup.member)
    message = await record.wait_message()
    assert message["flags"] & EPHEMERAL and "No chapter has been released" in message["content"]
    await next_chapter(fake_discord, guild_setup)
    await next_chapter(fake_discord, guild_setup)
    record = await fake_discord.invoke("chapter list", guild=guild_setup.guild, member=guild_setup.member)
    message = await record.wait_message()
    assert message["flags"] & EPHEMERAL
    [embed] = message["embeds"]
    lines = embed["description"].split("\n")
    assert len(lines) == 2
    history = fake_discord.history(guild_setup.story)
    thread_firsts = [m for m in history if fake_discord.channels.get(int(m["id"]))]
    for number, (line, first) in enumerate(zip(lines, thread_firsts, strict=True), 1):
        chapter = await load_chapter(bot.db, number)
        assert chapter is not None
        assert line.startswith(f"**{number}.** [")
        assert (f"(https://discord.com/channels/{guild_setup.guild.id}/{guild_setup.story.id}/"
                f"{first['id']})" in line)
        assert re.search(r"<t:\d+:d>", line)
        assert f"👍 {chapter.forum_likes}" in line
    titles = {(await load_chapter(bot.db, n)).title for n in range(3, SEED_CHAPTERS + 1)}
    assert not any(t in embed["description"] for t in titles)


async def test_list_counts_discord_likes_through_the_likes_seam(bot, fake_discord: FakeDiscord,
                                                                 guild_setup: GuildSetup) -> None:
    await next_chapter(fake_discord, guild_setup)
    first = fake_discord.history(guild_setup.story)[0]
    cog = bot.get_cog("Likes")
    for member in (guild_setup.member, guild_setup.moderator):
        await fake_discord.add_reaction(member, first, "👍")
    if cog is None or not hasattr(cog, "settle"):
        pytest.skip("the likes feature is not loaded")
    await cog.settle(2)
    record = await fake_discord.invoke("chapter list", guild=guild_setup.guild, member=guild_setup.member)
    line = (await record.wait_message())["embeds"][0]["description"]
    chapter = await load_chapter(bot.db, 1)
    assert chapter is not None
    assert f"👍 {chapter.forum_likes + 2}" in line



@pytest.mark.sqlite_only
async def test_a_locked_database_during_next_says_busy_not_went_wrong(
        bot, fake_discord: FakeDiscord, guild_setup: GuildSetup, bot_settings: Settings,
        caplog: pytest.LogCaptureFixture) -> None:
    await execute(bot.db, "PRAGMA busy_timeout=100")  # give up on the lock at once, not after 5 s
    holder = sqlite3.connect(bot_settings.db_path, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        with caplog.at_level(logging.WARNING):
            text = await next_chapter(fake_discord, guild_setup)
        assert text == "The database is busy, try again in a moment."
        busy = [r for r in caplog.records if "database was busy" in r.getMessage()]
        assert [r.levelno for r in busy] == [logging.WARNING]
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
        holder.execute("ROLLBACK")
    finally:
        holder.close()
    assert await released_through(bot.db, guild_setup.guild.id) == 0
    assert (await next_chapter(fake_discord, guild_setup)).startswith("Released chapter 1 of 6")
