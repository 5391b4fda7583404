"""`/aar help` and the welcome on joining a server, end to end: the real bot against the fake Discord.

Help is read from the bot's own command tree, so the tests compare it with what the bot registered with
Discord (every command there, by who may run it) rather than with a list kept here.
"""

# The fake's waits take `timeout=` by design.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
from typing import Any

import discord
import pytest
from discord import app_commands

from bot import welcome
from bot.config import Settings
from bot.text import MAX_DESCRIPTION
from cogs.shared.checks import moderator_only
from tests.fakediscord import EPHEMERAL, FakeDiscord, GuildSetup
from tests.fakediscord.models import SEND_MESSAGES, VIEW_CHANNEL
from tests.helpers import mark_released

pytestmark = pytest.mark.timeout(60)

MODERATOR_ONLY = {"chapter next", "aar setup", "aar import", "schedule add", "schedule list",
                  "schedule cancel", "schedule pause", "schedule resume"}


def registered_commands(fake: FakeDiscord) -> set[str]:
    names: set[str] = set()

    def walk(prefix: str, options: list[dict[str, Any]]) -> None:
        subs = [o for o in options if o["type"] in (1, 2)]
        if not subs:
            names.add(prefix)
        for sub in subs:
            walk(f"{prefix} {sub['name']}", sub.get("options") or [])

    for command in fake.global_commands:
        if command.get("type", 1) == 1:
            walk(command["name"], command.get("options") or [])
    return names


async def ask_help(fake: FakeDiscord, setup: GuildSetup, member: Any) -> dict[str, Any]:
    record = await fake.invoke("aar help", guild=setup.guild, channel=setup.general, member=member)
    message = await record.wait_message()
    assert message["flags"] & EPHEMERAL
    [embed] = message["embeds"]
    assert len(embed["description"]) <= MAX_DESCRIPTION
    return embed


def listed(description: str) -> set[str]:
    return {line.split("`")[1].removeprefix("/") for line in description.splitlines()
            if line.startswith("`/")}


async def test_help_lists_what_each_member_can_use(seeded: Settings, bot_factory, fake_discord: FakeDiscord,
                                                   guild_setup: GuildSetup) -> None:
    bot = await bot_factory()
    await mark_released(bot.db, guild_setup.guild.id, 2)
    everything = registered_commands(fake_discord)
    assert MODERATOR_ONLY < everything and "aar help" in everything

    member_help = await ask_help(fake_discord, guild_setup, guild_setup.member)
    assert listed(member_help["description"]) == everything - MODERATOR_ONLY
    assert "🛡️" not in member_help["description"]
    assert "`/chapter read` — Read a released chapter" in member_help["description"]

    mod_help = await ask_help(fake_discord, guild_setup, guild_setup.moderator)
    assert listed(mod_help["description"]) == everything
    marked = {line.split("`")[1].removeprefix("/") for line in mod_help["description"].splitlines()
              if line.startswith("`/") and "🛡️" in line}
    assert marked == MODERATOR_ONLY


async def test_a_moderator_role_set_in_setup_counts_for_help(bot_factory, fake_discord: FakeDiscord,
                                                             guild_setup: GuildSetup) -> None:
    helper_role = fake_discord.add_role(guild_setup.guild, "Story helper")  # in the bot's cache from start
    helper = fake_discord.add_member(guild_setup.guild, "helper", roles=[helper_role])
    await bot_factory()
    assert "chapter next" not in listed((await ask_help(fake_discord, guild_setup, helper))["description"])
    record = await fake_discord.invoke("aar setup", guild=guild_setup.guild, channel=guild_setup.general,
                                       member=guild_setup.moderator, options={"moderator_role": helper_role})
    await record.wait_message()
    assert "chapter next" in listed((await ask_help(fake_discord, guild_setup, helper))["description"])


async def test_a_new_command_appears_in_help_by_itself(bot_factory, fake_discord: FakeDiscord,
                                                       guild_setup: GuildSetup) -> None:
    bot = await bot_factory()

    @app_commands.command(name="rollcall", description="Count the readers present")
    @moderator_only()
    async def rollcall(interaction: discord.Interaction) -> None:  # pragma: no cover - never run
        ...

    bot.tree.add_command(rollcall)
    assert "rollcall" not in listed((await ask_help(fake_discord, guild_setup, guild_setup.member))
                                    ["description"])
    mod = (await ask_help(fake_discord, guild_setup, guild_setup.moderator))["description"]
    assert "`/rollcall` 🛡️ — Count the readers present" in mod


# --- the welcome -------------------------------------------------------------------------------------------

async def join(fake: FakeDiscord, bot: Any, name: str, channels: tuple[str, ...], *,
               system: str | None = None, deny: dict[str, int] | None = None) -> tuple[Any, int | None]:
    """Build a server the bot is not in, invite the bot, wait for its welcome decision."""
    guild = await fake.add_guild(name, channels=channels, announce=False)
    if system is not None:
        guild.system_channel_id = guild.channel(system).id
    for channel_name, bits in (deny or {}).items():
        guild.channel(channel_name).overwrites.append(
            {"id": fake.bot_user.id, "type": 1, "allow": 0, "deny": bits})
    done = asyncio.get_running_loop().create_future()

    async def on_welcome_done(guild_id: int, channel_id: int | None) -> None:
        if guild_id == guild.id and not done.done():
            done.set_result(channel_id)

    bot.add_listener(on_welcome_done, "on_welcome_done")
    try:
        await fake.invite_bot_to_guild(guild)
        channel_id = await asyncio.wait_for(done, 5)
    finally:
        bot.remove_listener(on_welcome_done, "on_welcome_done")
    return guild, channel_id


def bot_messages(fake: FakeDiscord, guild: Any) -> list[dict[str, Any]]:
    return [m for c in guild.channels for m in fake.history(c) if int(m["author"]["id"]) == fake.bot_user.id]


async def test_joining_a_server_posts_one_welcome_in_its_system_channel(
        bot_factory, fake_discord: FakeDiscord, guild_setup: GuildSetup) -> None:
    bot = await bot_factory()
    guild, channel_id = await join(fake_discord, bot, "Newcomers", ("rules", "lobby", "welcome"),
                                   system="welcome")
    assert channel_id == guild.channel("welcome").id
    [message] = bot_messages(fake_discord, guild)
    assert message["channel_id"] == str(guild.channel("welcome").id)
    assert "`/aar setup`" in message["content"] and "`/chapter next`" in message["content"]
    assert message["content"] == welcome.WELCOME
    # It pings no one: the request asked Discord to parse no mention at all.
    [post] = [r for r in fake_discord.requests if r.method == "POST"
              and r.path == f"/channels/{guild.channel('welcome').id}/messages"]
    assert post.json["allowed_mentions"] == {"parse": []}
    # Nothing was said in the server the bot was already in, nor at a reconnect.
    assert bot_messages(fake_discord, guild_setup.guild) == []


async def test_without_a_usable_system_channel_the_first_writable_channel_is_used(
        bot_factory, fake_discord: FakeDiscord, guild_setup: GuildSetup) -> None:
    bot = await bot_factory()
    guild, channel_id = await join(fake_discord, bot, "Strict", ("announcements", "rules", "chat"),
                                   system="announcements",
                                   deny={"announcements": SEND_MESSAGES, "rules": VIEW_CHANNEL})
    assert channel_id == guild.channel("chat").id
    [message] = bot_messages(fake_discord, guild)
    assert message["channel_id"] == str(guild.channel("chat").id)


async def test_a_server_where_the_bot_cannot_post_gets_no_welcome_and_no_failed_request(
        bot_factory, fake_discord: FakeDiscord, guild_setup: GuildSetup) -> None:
    bot = await bot_factory()
    before = len(fake_discord.requests)
    guild, channel_id = await join(fake_discord, bot, "Read-only", ("news", "chat"),
                                   deny={"news": SEND_MESSAGES, "chat": SEND_MESSAGES})
    assert channel_id is None
    assert bot_messages(fake_discord, guild) == []
    assert not [r for r in fake_discord.requests[before:] if r.method == "POST" and "/channels/" in r.path]


async def test_the_fake_refuses_a_post_where_an_overwrite_denies_sending(
        bot_factory, fake_discord: FakeDiscord, guild_setup: GuildSetup) -> None:
    bot = await bot_factory()
    guild_setup.general.overwrites.append({"id": fake_discord.bot_user.id, "type": 1, "allow": 0,
                                           "deny": SEND_MESSAGES})
    with pytest.raises(discord.Forbidden) as caught:
        await bot.get_partial_messageable(guild_setup.general.id, guild_id=guild_setup.guild.id).send("hi")
    assert caught.value.code == 50013


async def test_a_restart_says_nothing_in_servers_the_bot_is_already_in(
        bot_factory, fake_discord: FakeDiscord, guild_setup: GuildSetup) -> None:
    guild_setup.guild.system_channel_id = guild_setup.general.id
    first = await bot_factory()
    await first.close()
    await bot_factory()
    await fake_discord.drop_gateway()
    await fake_discord.wait_for(lambda: fake_discord.resume_count >= 1, timeout=10)
    assert bot_messages(fake_discord, guild_setup.guild) == []
