"""Forum, announcement and author-webhook releases end to end: the real bot against the fake Discord.

A forum story channel gets one post per chapter (titled with the chapter, tagged, its parts inside); an
announcement channel's parts are published at Discord's pace by a backlog that survives a restart and
never holds up the release; with the author webhook, parts are posted under the author's name.  Each is
exactly-once across a crash before or after any Discord call.
"""

# The fake's waits take `timeout=` by design.
# ruff: noqa: ASYNC109

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.chapters.plan import stored_plan
from bot.chapters.publishing import Publisher
from bot.config import Settings
from bot.storage import release_log
from bot.storage.guilds import update_guild_settings
from bot.storage.releases import released_through
from cogs.shared.sender import WEBHOOK_NAME, DiscordSender
from tests.fakediscord import EPHEMERAL, FakeDiscord, GuildSetup
from tests.fakediscord.models import CROSSPOSTED, MANAGE_WEBHOOKS, SEND_MESSAGES_IN_THREADS
from tests.helpers import SEED_CHAPTERS, FakeClock, final_answer

pytestmark = [pytest.mark.timeout(90), pytest.mark.both_backends]

CROSSPOST = r"^/channels/\d+/messages/\d+/crosspost$"


async def command(fake: FakeDiscord, setup: GuildSetup, name: str, **options: Any) -> dict[str, Any]:
    """A moderator's command from #general; its (ephemeral) answer, after a deferral if there was one."""
    record = await fake.invoke(name, guild=setup.guild, channel=setup.general, member=setup.moderator,
                               options=options)
    message = await final_answer(record, timeout=30)
    assert message["flags"] & EPHEMERAL
    return message


def seen(messages: list[dict[str, Any]]) -> list[tuple[str, int]]:
    """What members see of each message: its text and how many embeds."""
    return [(m["content"], len(m["embeds"])) for m in messages]


async def planned(bot, guild_id: int, number: int) -> list[tuple[str, int]]:
    release = await release_log.get_release(bot.db, guild_id, number)
    assert release is not None
    return [(p.get("content") or "", len(p.get("embeds") or []))
            for p in stored_plan(release.plan, number=number)]


def grant_webhooks(setup: GuildSetup) -> None:
    setup.guild.role("AAR Bot").permissions |= MANAGE_WEBHOOKS


class Crash(BaseException):
    """The process dies here."""


class CrashingSender:
    """The real Sender, killed just before or just after Discord accepts its operation number `at`."""

    OPERATIONS = ("send", "open_thread", "create_post", "send_as_author")

    def __init__(self, inner: DiscordSender, at: int, phase: str) -> None:
        self.inner, self.at, self.phase, self.ops = inner, at, phase, 0

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.inner, name)
        if name not in self.OPERATIONS:
            return method

        async def op(*args: Any, **kwargs: Any) -> Any:
            if (self.ops, self.phase) == (self.at, "before"):
                raise Crash
            result = await method(*args, **kwargs)
            if (self.ops, self.phase) == (self.at, "after"):
                raise Crash
            self.ops += 1
            return result
        return op


# --- forum channels ---------------------------------------------------------------------------------------

async def test_forum_release_is_one_tagged_post_per_chapter(seeded: Settings, bot_factory,
                                                            fake_discord: FakeDiscord,
                                                            guild_setup: GuildSetup) -> None:
    forum = await fake_discord.add_channel(guild_setup.guild, "chapters", type=15, tags=["Chapter", "Meta"])
    bot = await bot_factory()
    refused = await command(fake_discord, guild_setup, "aar setup", channel=forum, forum_tag="Chapters")
    assert "has no tag named `Chapters`" in refused["content"] and "`Chapter`, `Meta`" in refused["content"]
    shown = await command(fake_discord, guild_setup, "aar setup", channel=forum, forum_tag="Chapter")
    assert "Chapter" in str(shown["embeds"])

    for number in (1, 2):
        text = (await command(fake_discord, guild_setup, "chapter next"))["content"]
        assert f"Released chapter {number} of {SEED_CHAPTERS}" in text, text
    posts = fake_discord.posts(forum)
    assert len(posts) == 2 and forum.messages == {}  # nothing posted to the forum itself
    tag = forum.available_tags[0]["id"]
    for number, post in enumerate(posts, start=1):
        release = await release_log.get_release(bot.db, guild_setup.guild.id, number)
        assert release is not None and release.thread_id == post.id
        assert post.applied_tags == [tag] and post.owner_id == fake_discord.bot_user.id
        assert seen(fake_discord.history(post)) == await planned(bot, guild_setup.guild.id, number)
        assert fake_discord.history(post)[0]["id"] == str(post.id)  # the post is part 0
        assert post.name == fake_discord.history(post)[0]["content"].splitlines()[0].removeprefix("# ")
    assert f"discussion in <#{posts[1].id}>" in text
    assert f"/{guild_setup.guild.id}/{posts[1].id}/{posts[1].id}" in text  # the jump link opens the post
    assert not fake_discord.requests_to("POST", r"/messages/\d+/threads$")  # no separate thread
    listed = (await command(fake_discord, guild_setup, "chapter list"))["embeds"][0]["description"]
    assert f"/{guild_setup.guild.id}/{posts[0].id}/{posts[0].id}" in listed  # links into the posts
    assert await released_through(bot.db, guild_setup.guild.id) == 2


async def test_forum_release_killed_at_every_step_resumes_to_one_post(seeded: Settings, bot_factory,
                                                                      fake_discord: FakeDiscord,
                                                                      guild_setup: GuildSetup) -> None:
    bot = await bot_factory()
    reference_forum = await fake_discord.add_channel(guild_setup.guild, "reference", type=15)
    outcome = await Publisher(bot.db, DiscordSender(bot), clock=bot.clock).release_next(
        guild_setup.guild.id, reference_forum.id)
    assert outcome.status == "released"
    [reference] = fake_discord.posts(reference_forum)
    expected = seen(fake_discord.history(reference))
    for step, phase in itertools.product(range(len(expected)), ("before", "after")):
        setup = await fake_discord.add_standard_guild(f"forum crash {step} {phase}")
        forum = await fake_discord.add_channel(setup.guild, "chapters", type=15)
        crashing = Publisher(bot.db, CrashingSender(DiscordSender(bot), step, phase), clock=bot.clock)
        with pytest.raises(Crash):
            await crashing.release_next(setup.guild.id, forum.id)
        [resumed] = await Publisher(bot.db, DiscordSender(bot), clock=bot.clock).resume(setup.guild.id)
        assert resumed.status == "released", (step, phase, resumed)
        [post] = fake_discord.posts(forum)
        assert post.name == reference.name and seen(fake_discord.history(post)) == expected, (step, phase)


# --- announcement channels ------------------------------------------------------------------------------

def published(fake: FakeDiscord, channel) -> list[bool]:
    return [bool(m["flags"] & CROSSPOSTED) for m in fake.history(channel)]


async def test_announcement_parts_are_published_at_discords_pace_across_a_restart(
        seeded: Settings, bot_factory, fake_discord: FakeDiscord, guild_setup: GuildSetup) -> None:
    news = await fake_discord.add_channel(guild_setup.guild, "news", type=5)
    fake_discord.crosspost_limit = 1  # Discord's 10 an hour, scaled down to the chapter's few parts
    first = await bot_factory()
    await update_guild_settings(first.db, guild_setup.guild.id, story_channel_id=news.id)
    text = (await command(fake_discord, guild_setup, "chapter next"))["content"]
    parts = len(fake_discord.history(news))
    assert parts > 2 and "Released chapter 1" in text
    # The release is done; one part is published and the rest wait, which the moderator is told.
    assert published(fake_discord, news) == [True] + [False] * (parts - 1)
    assert f"{parts - 1} messages waiting" in text and "all out about <t:" in text
    assert await released_through(first.db, guild_setup.guild.id) == 1
    assert len(await release_log.pending_publishes(first.db, guild_setup.guild.id)) == parts - 1
    settings = await command(fake_discord, guild_setup, "aar setup")
    assert f"{parts - 1} messages waiting" in str(settings["embeds"])

    # The hour passes while the bot is down; a new process works through the persisted backlog.
    await first.close()
    fake_discord.pass_crosspost_window()
    fake_discord.crosspost_limit = 10
    second = await bot_factory()
    await fake_discord.wait_for(lambda: all(published(fake_discord, news)), timeout=10)
    await second.announcer.settled()  # the last answer reached Discord's side: the bot records it after
    assert await release_log.pending_publishes(second.db) == []
    ok = [r for r in fake_discord.requests_to("POST", CROSSPOST) if r.status == 200]
    assert sorted(r.path for r in ok) == sorted(f"/channels/{news.id}/messages/{m['id']}/crosspost"
                                                for m in fake_discord.history(news))  # each exactly once


async def test_announcement_backlog_waits_in_the_background_and_never_blocks_a_release(
        seeded: Settings, bot_factory, fake_discord: FakeDiscord, guild_setup: GuildSetup) -> None:
    news = await fake_discord.add_channel(guild_setup.guild, "news", type=5)
    fake_discord.crosspost_limit = 1
    clock = FakeClock(datetime.now(UTC))
    bot = await bot_factory(clock=clock)
    await update_guild_settings(bot.db, guild_setup.guild.id, story_channel_id=news.id)
    for number in (1, 2):  # the second release goes out at once although publishing is an hour behind
        text = (await command(fake_discord, guild_setup, "chapter next"))["content"]
        assert f"Released chapter {number}" in text and "waiting" in text
    assert published(fake_discord, news).count(True) == 1
    fake_discord.pass_crosspost_window()
    fake_discord.crosspost_limit = 100
    clock.advance(hours=1)
    bot.announcer.wake()
    await fake_discord.wait_for(lambda: all(published(fake_discord, news)), timeout=10)


# --- the author webhook -----------------------------------------------------------------------------------

async def test_author_webhook_needs_manage_webhooks_and_a_name(seeded: Settings, bot_factory,
                                                               fake_discord: FakeDiscord,
                                                               guild_setup: GuildSetup) -> None:
    await bot_factory()
    text = (await command(fake_discord, guild_setup, "aar setup", channel=guild_setup.story,
                          author_webhook=True, author_name="Kurt"))["content"]
    assert "**Manage Webhooks**" in text and "nothing was changed" in text
    text = (await command(fake_discord, guild_setup, "aar setup", author_name="Discord Kurt"))["content"]
    assert "\"discord\"" in text
    text = (await command(fake_discord, guild_setup, "aar setup", channel=guild_setup.story,
                          forum_tag="Chapter"))["content"]
    assert "only applies when the story channel is a forum" in text


async def test_author_webhook_release_posts_as_the_author_once_and_survives_a_deleted_webhook(
        seeded: Settings, bot_factory, fake_discord: FakeDiscord, guild_setup: GuildSetup) -> None:
    grant_webhooks(guild_setup)
    bot = await bot_factory()
    shown = await command(fake_discord, guild_setup, "aar setup", channel=guild_setup.story,
                          author_webhook=True, author_name="Kurt the Author",
                          author_avatar="https://example.invalid/kurt.png")
    assert "Kurt the Author (through a webhook)" in str(shown["embeds"])
    text = (await command(fake_discord, guild_setup, "chapter next"))["content"]
    assert "Released chapter 1" in text
    messages = fake_discord.history(guild_setup.story)
    [hook] = fake_discord.channel_webhooks(guild_setup.story)
    assert hook.name == WEBHOOK_NAME
    assert seen(messages) == await planned(bot, guild_setup.guild.id, 1)
    assert all(m["webhook_id"] == str(hook.id) and m["author"]["username"] == "Kurt the Author"
               and m["author"]["avatar_url"] == "https://example.invalid/kurt.png" for m in messages)
    assert messages[-1]["components"]  # the ✅ Read button goes through the webhook too
    assert fake_discord.channels[int(messages[0]["id"])].parent_id == guild_setup.story.id  # discussion
    # A moderator deletes the webhook: the next release makes a new one.
    fake_discord.delete_webhook(hook)
    assert "Released chapter 2" in (await command(fake_discord, guild_setup, "chapter next"))["content"]
    [new_hook] = fake_discord.channel_webhooks(guild_setup.story)
    assert fake_discord.history(guild_setup.story)[-1]["webhook_id"] == str(new_hook.id)


async def test_author_webhook_release_killed_at_every_step_sends_each_part_once(
        seeded: Settings, bot_factory, fake_discord: FakeDiscord, guild_setup: GuildSetup) -> None:
    bot = await bot_factory()
    expected: list[tuple[str, int]] | None = None
    for step, phase in itertools.product(range(12), ("before", "after")):
        setup = await fake_discord.add_standard_guild(f"webhook crash {step} {phase}")
        grant_webhooks(setup)
        await update_guild_settings(bot.db, setup.guild.id, author_webhook=1, author_name="Kurt",
                                    discussion_threads=0)
        crashing = Publisher(bot.db, CrashingSender(DiscordSender(bot), step, phase), clock=bot.clock)
        try:
            await crashing.release_next(setup.guild.id, setup.story.id)
        except Crash:
            [resumed] = await Publisher(bot.db, DiscordSender(bot), clock=bot.clock).resume(setup.guild.id)
            assert resumed.status == "released", (step, phase, resumed)
        else:
            break  # fewer steps than parts: every step has been crashed at
        expected = expected or await planned(bot, setup.guild.id, 1)
        history = fake_discord.history(setup.story)
        assert seen(history) == expected and all(m.get("webhook_id") for m in history), (step, phase)
        assert len(fake_discord.channel_webhooks(setup.story)) == 1  # found again, not made anew


async def test_forum_with_author_webhook_posts_the_parts_into_the_post(seeded: Settings, bot_factory,
                                                                       fake_discord: FakeDiscord,
                                                                       guild_setup: GuildSetup) -> None:
    grant_webhooks(guild_setup)
    forum = await fake_discord.add_channel(guild_setup.guild, "chapters", type=15)
    bot = await bot_factory()
    await command(fake_discord, guild_setup, "aar setup", channel=forum, author_webhook=True,
                  author_name="Kurt")
    assert "Released chapter 1" in (await command(fake_discord, guild_setup, "chapter next"))["content"]
    [post] = fake_discord.posts(forum)
    history = fake_discord.history(post)
    assert seen(history) == await planned(bot, guild_setup.guild.id, 1)
    assert "webhook_id" not in history[0]  # the post itself is the bot's (Discord: only it can open it)
    assert all(m["webhook_id"] and m["author"]["username"] == "Kurt" for m in history[1:])


async def test_refusals_in_a_forum_and_for_the_webhook_name_the_permission(
        seeded: Settings, bot_factory, fake_discord: FakeDiscord, guild_setup: GuildSetup) -> None:
    forum = await fake_discord.add_channel(guild_setup.guild, "chapters", type=15)
    bot = await bot_factory()
    await update_guild_settings(bot.db, guild_setup.guild.id, story_channel_id=forum.id)
    fake_discord.forbid(forum, "create_thread")  # Discord refuses the post (the cache cannot see it)
    text = (await command(fake_discord, guild_setup, "chapter next"))["content"]
    assert "missing the **Send Messages" in text and "Nothing was posted" in text
    assert fake_discord.posts(forum) == [] and await released_through(bot.db, guild_setup.guild.id) == 0
    fake_discord.allow(forum)
    # The webhook was allowed at set-up, then Manage Webhooks was taken away.
    await update_guild_settings(bot.db, guild_setup.guild.id, story_channel_id=guild_setup.story.id,
                                author_webhook=1, author_name="Kurt")
    text = (await command(fake_discord, guild_setup, "chapter next"))["content"]
    assert "missing the **Manage Webhooks** permission" in text and "Nothing was posted" in text
    assert fake_discord.history(guild_setup.story) == []
    grant_webhooks(guild_setup)
    assert "Released chapter 1" in (await command(fake_discord, guild_setup, "chapter next"))["content"]


async def test_a_forum_without_send_messages_in_threads_is_named_before_anything_is_posted(
        seeded: Settings, bot_factory, fake_discord: FakeDiscord, guild_setup: GuildSetup) -> None:
    forum = await fake_discord.add_channel(guild_setup.guild, "chapters", type=15)
    forum.overwrites.append({"id": guild_setup.guild.id, "type": 0, "allow": 0,
                             "deny": SEND_MESSAGES_IN_THREADS})
    bot = await bot_factory()
    await update_guild_settings(bot.db, guild_setup.guild.id, story_channel_id=forum.id)
    text = (await command(fake_discord, guild_setup, "chapter next"))["content"]
    assert "missing the **Send Messages in Threads** permission" in text
    assert fake_discord.posts(forum) == [] and not fake_discord.requests_to("POST", r"/threads$")
