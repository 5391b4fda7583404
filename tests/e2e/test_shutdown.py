"""Closing the bot (what SIGTERM does) while a command is being handled: the member still gets the answer.

The fake holds a request of the command half-way (Discord being slow), the bot is closed meanwhile, then
the fake lets the request through.  Without a grace period the HTTP session closed under the command:
the release died with "Session is closed" and the moderator was left with "thinking…" for ever.
"""

# The fake's waits take `timeout=` by design.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import gc
import logging

import pytest

from bot.config import Settings
from bot.storage import open_database
from bot.storage.releases import released_through
from tests.fakediscord import EPHEMERAL, FakeDiscord, GuildSetup
from tests.helpers import final_answer

pytestmark = pytest.mark.timeout(60)

MESSAGES = r"^/channels/\d+/messages$"


async def test_close_waits_for_a_command_in_flight(seeded: Settings, bot_factory, fake_discord: FakeDiscord,
                                                   guild_setup: GuildSetup,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    bot = await bot_factory()
    held = fake_discord.hold(method="POST", path=MESSAGES)  # the chapter's first part waits in "Discord"
    caplog.set_level(logging.INFO)
    record = await fake_discord.invoke("chapter next", guild=guild_setup.guild, channel=guild_setup.story,
                                       member=guild_setup.moderator)
    await fake_discord.wait_for(lambda: held.waiting, timeout=10)

    closing = asyncio.create_task(bot.close())
    # While the command is held, the bot must not finish closing (it waits for the command).
    done, _ = await asyncio.wait({closing}, timeout=0.5)
    assert not done and not bot.is_closed()
    held.release()

    answer = await final_answer(record, timeout=10)
    await asyncio.wait_for(closing, 10)
    assert bot.is_closed()
    assert answer["flags"] & EPHEMERAL
    assert answer["content"].startswith("Released chapter 1 of 6"), answer["content"]
    assert "Session is closed" not in caplog.text  # messages and tracebacks
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_a_command_still_running_after_the_grace_period_is_stopped_quietly(
        seeded: Settings, bot_factory, fake_discord: FakeDiscord, guild_setup: GuildSetup,
        caplog: pytest.LogCaptureFixture) -> None:
    bot = await bot_factory()
    bot.shutdown_grace = 0.2
    held = fake_discord.hold(method="POST", path=MESSAGES)  # never released: Discord hangs
    caplog.set_level(logging.INFO)
    await fake_discord.invoke("chapter next", guild=guild_setup.guild, channel=guild_setup.story,
                              member=guild_setup.moderator)
    await fake_discord.wait_for(lambda: held.waiting, timeout=10)

    await asyncio.wait_for(bot.close(), 10)
    assert bot.is_closed()
    assert any("still running after" in r.getMessage() and r.levelno == logging.WARNING
               for r in caplog.records)
    assert "Session is closed" not in caplog.text  # messages and tracebacks
    held.release()
    # The release was stopped half-way: chapter 1 is not out; the next start finishes it.
    conn = await open_database(seeded.db_path)
    try:
        assert await released_through(conn, guild_setup.guild.id) == 0
    finally:
        await conn.close()


async def test_the_cache_is_kept_out_of_full_collections_while_the_bot_runs(bot_factory) -> None:
    """Ready: what is alive (the servers' cache) is frozen out of the garbage collector's full passes, which
    otherwise paused a bot in 1,000 servers for 0.3 s; closed: it is collectable again."""
    bot = await bot_factory()
    assert gc.get_freeze_count() > 0
    await bot.close()
    assert gc.get_freeze_count() == 0
