"""Option values of Discord's full 6,000 characters: the member gets the specific refusal, not the generic
error.

A refusal that quotes the value back whole would pass Discord's 2,000-character message limit and fail
to send; the quoted value is cut, so the reason still reaches the member.
"""

# The fake's waits take `timeout=` by design.
# ruff: noqa: ASYNC109

from __future__ import annotations

import pytest

from bot.config import Settings
from tests.fakediscord import FakeDiscord, GuildSetup
from tests.helpers import mark_released

pytestmark = pytest.mark.timeout(60)
LONG = "x" * 6000


async def test_refusals_quoting_a_6000_character_value_still_arrive(
        seeded: Settings, bot_factory, fake_discord: FakeDiscord, guild_setup: GuildSetup) -> None:
    bot = await bot_factory()
    await mark_released(bot.db, guild_setup.guild.id, 2)
    cases = [
        ("quiz start", {"chapters": LONG}, guild_setup.member, "I don't understand the chapters"),
        ("schedule add", {"when": LONG}, guild_setup.moderator, "as a date or a cadence"),
        ("schedule add", {"when": "daily 18:00", "timezone": LONG}, guild_setup.moderator,
         "is not a time zone I know"),
        ("aar setup", {"timezone": LONG}, guild_setup.moderator, "is not a time zone I know"),
    ]
    for command, options, member, reason in cases:
        record = await fake_discord.invoke(command, member=member, options=options)
        content = (await record.wait_message())["content"]
        assert reason in content and len(content) <= 2000 and record.ephemeral, (command, content[:200])
        assert "x" * 40 in content and "x" * 100 not in content  # quoted, but cut
