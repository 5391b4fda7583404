"""The fake Discord's forum channels, announcement channels and channel webhooks, with Discord's errors:
what the release engine builds on (raw REST, and discord.py where its handling matters)."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import discord
import pytest

from tests.fakediscord import FakeDiscord, GuildSetup
from tests.fakediscord.models import CROSSPOSTED, MANAGE_WEBHOOKS

pytestmark = pytest.mark.timeout(30)


async def rest(fake: FakeDiscord, method: str, path: str, body: Any = None, *, auth: bool = True,
               params: dict[str, str] | None = None) -> tuple[int, Any, dict[str, str]]:
    headers = {"Authorization": f"Bot {fake.token}"} if auth else {}
    async with aiohttp.ClientSession() as session, session.request(
            method, fake.api_base + path, json=body, headers=headers, params=params) as resp:
        data = await resp.json() if resp.headers.get("Content-Type") == "application/json" else None
        return resp.status, data, dict(resp.headers)


async def crosspost(fake: FakeDiscord, channel_id: int, message_id: Any) -> tuple[int, Any, dict[str, str]]:
    return await rest(fake, "POST", f"/channels/{channel_id}/messages/{message_id}/crosspost")


def grant_webhooks(setup: GuildSetup) -> None:
    setup.guild.role("AAR Bot").permissions |= MANAGE_WEBHOOKS


# --- forum channels --------------------------------------------------------------------------------

async def test_forum_post_is_a_thread_whose_starter_has_its_id(fake_discord: FakeDiscord,
                                                               guild_setup: GuildSetup) -> None:
    forum = await fake_discord.add_channel(guild_setup.guild, "stories", type=15, tags=["Chapter", "Lore"])
    assert [t["name"] for t in forum.to_dict()["available_tags"]] == ["Chapter", "Lore"]
    tag = forum.available_tags[0]["id"]
    status, post, _ = await rest(fake_discord, "POST", f"/channels/{forum.id}/threads",
                                 {"name": "Chapter 1", "message": {"content": "Once upon"},
                                  "applied_tags": [str(tag)], "auto_archive_duration": 10080})
    assert status == 200, post
    assert post["type"] == 11 and post["parent_id"] == str(forum.id) and post["applied_tags"] == [str(tag)]
    assert post["message"]["id"] == post["id"] and post["message"]["channel_id"] == post["id"]
    thread = fake_discord.channels[int(post["id"])]
    assert [m["content"] for m in fake_discord.history(thread)] == ["Once upon"]
    assert fake_discord.posts(forum) == [thread]
    # Messages go into the post; the forum itself takes none.
    status, _, _ = await rest(fake_discord, "POST", f"/channels/{thread.id}/messages", {"content": "Part 2"})
    assert status == 200
    status, data, _ = await rest(fake_discord, "POST", f"/channels/{forum.id}/messages", {"content": "x"})
    assert (status, data["code"]) == (400, 50008)
    # The guild's active threads list the post (how a post created but not recorded is found again).
    status, active, _ = await rest(fake_discord, "GET", f"/guilds/{guild_setup.guild.id}/threads/active")
    assert status == 200 and post["id"] in [t["id"] for t in active["threads"]]


async def test_forum_post_errors(fake_discord: FakeDiscord, guild_setup: GuildSetup) -> None:
    forum = await fake_discord.add_channel(guild_setup.guild, "stories", type=15, tags=["a", "b"])
    path = f"/channels/{forum.id}/threads"
    status, data, _ = await rest(fake_discord, "POST", path, {"name": "x", "message": {"content": "y"},
                                                               "applied_tags": ["123"]})
    assert (status, data["code"]) == (400, 50035) and "applied_tags" in data["errors"]
    six = [str(forum.available_tags[0]["id"])] * 6
    status, data, _ = await rest(fake_discord, "POST", path, {"name": "x", "message": {"content": "y"},
                                                               "applied_tags": six})
    assert (status, data["code"]) == (400, 50035)
    status, data, _ = await rest(fake_discord, "POST", path, {"name": "x", "message": {"content": ""}})
    assert (status, data["code"]) == (400, 50006)
    status, data, _ = await rest(fake_discord, "POST", path, {"name": "x", "message": {"content": "y"},
                                                               "auto_archive_duration": 999})
    assert (status, data["code"]) == (400, 50035) and "auto_archive_duration" in data["errors"]
    fake_discord.forbid(forum, "create_thread")
    status, data, _ = await rest(fake_discord, "POST", path, {"name": "x", "message": {"content": "y"}})
    assert (status, data["code"]) == (403, 50013)
    assert fake_discord.posts(forum) == []


async def test_discord_py_sees_forums_and_posts(running_bot, fake_discord: FakeDiscord,
                                                guild_setup: GuildSetup) -> None:
    created = asyncio.ensure_future(running_bot.wait_for("guild_channel_create", timeout=5))
    forum = await fake_discord.add_channel(guild_setup.guild, "stories", type=15, tags=["Chapter"])
    assert (await created).id == forum.id
    cached = running_bot.get_channel(forum.id)
    assert isinstance(cached, discord.ForumChannel) and [t.name for t in cached.available_tags] == ["Chapter"]
    made = await cached.create_thread(name="Post", content="Hello", applied_tags=cached.available_tags)
    assert made.thread.id == made.message.id and [t.name for t in made.thread.applied_tags] == ["Chapter"]


# --- announcement channels ---------------------------------------------------------------------------

async def test_crosspost_once_only_in_announcement_channels(fake_discord: FakeDiscord,
                                                            guild_setup: GuildSetup) -> None:
    news = await fake_discord.add_channel(guild_setup.guild, "news", type=5)
    _, msg, _ = await rest(fake_discord, "POST", f"/channels/{news.id}/messages", {"content": "hi"})
    status, data, headers = await crosspost(fake_discord, news.id, msg['id'])
    assert status == 200 and data["flags"] & CROSSPOSTED and headers["X-RateLimit-Bucket"]
    status, data, _ = await crosspost(fake_discord, news.id, msg['id'])
    assert (status, data["code"]) == (400, 40033)
    _, text_msg, _ = await rest(fake_discord, "POST", f"/channels/{guild_setup.story.id}/messages",
                                {"content": "hi"})
    status, data, _ = await rest(fake_discord, "POST",
                                 f"/channels/{guild_setup.story.id}/messages/{text_msg['id']}/crosspost")
    assert (status, data["code"]) == (400, 50024)
    # Someone else's message needs Manage Messages, which the bot has by default; denied, it is 403.
    other = fake_discord.post_as(guild_setup.member, news, "theirs")
    fake_discord.forbid(news, "crosspost")
    status, data, _ = await crosspost(fake_discord, news.id, other['id'])
    assert (status, data["code"]) == (403, 50013)


async def test_crosspost_limit_per_channel_per_hour(fake_discord: FakeDiscord,
                                                    guild_setup: GuildSetup) -> None:
    news = await fake_discord.add_channel(guild_setup.guild, "news", type=5)
    other = await fake_discord.add_channel(guild_setup.guild, "news2", type=5)
    ids = []
    for _ in range(11):
        _, msg, _ = await rest(fake_discord, "POST", f"/channels/{news.id}/messages", {"content": "m"})
        ids.append(msg["id"])
    for mid in ids[:10]:
        status, _, _ = await crosspost(fake_discord, news.id, mid)
        assert status == 200
    status, data, headers = await crosspost(fake_discord, news.id, ids[10])
    assert status == 429 and data["retry_after"] > 3500 and headers["X-RateLimit-Scope"] == "shared"
    assert headers["X-RateLimit-Bucket"] and headers["Via"]
    assert not fake_discord.channels[news.id].messages[int(ids[10])]["flags"] & CROSSPOSTED
    _, msg, _ = await rest(fake_discord, "POST", f"/channels/{other.id}/messages", {"content": "m"})
    status, _, _ = await crosspost(fake_discord, other.id, msg['id'])
    assert status == 200  # the limit is per channel
    fake_discord.pass_crosspost_window()
    status, _, _ = await crosspost(fake_discord, news.id, ids[10])
    assert status == 200


async def test_discord_py_raises_rate_limited_instead_of_sleeping_an_hour(
        fake_discord: FakeDiscord, guild_setup: GuildSetup, bot_factory) -> None:
    bot = await bot_factory()
    assert bot.http.max_ratelimit_timeout is not None
    news = await fake_discord.add_channel(guild_setup.guild, "news", type=5)
    fake_discord.crosspost_limit = 1
    sent = [await rest(fake_discord, "POST", f"/channels/{news.id}/messages", {"content": str(i)})
            for i in range(2)]
    ids = [int(data["id"]) for _, data, _ in sent]
    await bot.http.publish_message(news.id, ids[0])
    with pytest.raises(discord.RateLimited) as caught:
        await bot.http.publish_message(news.id, ids[1])
    assert caught.value.retry_after > 3000


# --- webhooks ------------------------------------------------------------------------------------------

async def test_webhooks_create_list_execute(fake_discord: FakeDiscord, guild_setup: GuildSetup) -> None:
    channel = guild_setup.story
    path = f"/channels/{channel.id}/webhooks"
    status, data, _ = await rest(fake_discord, "POST", path, {"name": "AAR story"})
    assert (status, data["code"]) == (403, 50013)  # Manage Webhooks
    grant_webhooks(guild_setup)
    for bad in ("", "x" * 81, "my Clyde", "discord fan"):
        status, data, _ = await rest(fake_discord, "POST", path, {"name": bad})
        assert (status, data["code"]) == (400, 50035), bad
    status, hook, _ = await rest(fake_discord, "POST", path, {"name": "AAR story"})
    assert status == 200 and hook["token"] and hook["application_id"] == str(fake_discord.application_id)
    status, listed, _ = await rest(fake_discord, "GET", path)
    assert [w["id"] for w in listed] == [hook["id"]]
    execute = f"/webhooks/{hook['id']}/{hook['token']}"
    status, msg, _ = await rest(fake_discord, "POST", execute, {"content": "Hi", "username": "Kurt",
                                                                 "avatar_url": "https://x/a.png"},
                                auth=False, params={"wait": "true"})
    assert status == 200 and msg["webhook_id"] == hook["id"] and msg["author"]["username"] == "Kurt"
    assert fake_discord.history(channel)[-1]["webhook_id"] == hook["id"]
    status, data, _ = await rest(fake_discord, "POST", execute, {"content": "Hi", "username": "Discord"},
                                 auth=False, params={"wait": "true"})
    assert (status, data["code"]) == (400, 50035)
    status, data, _ = await rest(fake_discord, "POST", f"/webhooks/{hook['id']}/wrong", {"content": "x"},
                                 auth=False)
    assert (status, data["code"]) == (401, 50027)
    for i in range(14):
        assert (await rest(fake_discord, "POST", path, {"name": f"w{i}"}))[0] == 200
    status, data, _ = await rest(fake_discord, "POST", path, {"name": "one too many"})
    assert (status, data["code"]) == (400, 30007)
    fake_discord.delete_webhook(fake_discord.webhooks[int(hook["id"])])
    status, data, _ = await rest(fake_discord, "POST", execute, {"content": "x"}, auth=False)
    assert (status, data["code"]) == (404, 10015)


async def test_webhook_into_a_forum_post(fake_discord: FakeDiscord, guild_setup: GuildSetup) -> None:
    grant_webhooks(guild_setup)
    forum = await fake_discord.add_channel(guild_setup.guild, "stories", type=15)
    _, hook, _ = await rest(fake_discord, "POST", f"/channels/{forum.id}/webhooks", {"name": "AAR story"})
    _, post, _ = await rest(fake_discord, "POST", f"/channels/{forum.id}/threads",
                            {"name": "P", "message": {"content": "first"}})
    execute = f"/webhooks/{hook['id']}/{hook['token']}"
    status, data, _ = await rest(fake_discord, "POST", execute, {"content": "x"}, auth=False)
    assert (status, data["code"]) == (400, 220001)
    button = [{"type": 1, "components": [{"type": 2, "style": 1, "label": "b", "custom_id": "c"}]}]
    status, msg, _ = await rest(fake_discord, "POST", execute, {"content": "second", "components": button},
                                auth=False,
                                params={"wait": "1", "thread_id": post["id"], "with_components": "1"})
    assert status == 200 and msg["channel_id"] == post["id"] and msg["components"] == button
    status, data, _ = await rest(fake_discord, "POST", execute, {"content": "x"}, auth=False,
                                 params={"thread_id": str(guild_setup.story.id)})
    assert (status, data["code"]) == (404, 10003)
