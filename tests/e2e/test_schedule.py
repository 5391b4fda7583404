"""`/schedule …`, the release loop on a fake clock, and `/aar setup`, end to end through the fake Discord."""

# The fake's waits take `timeout=` by design.
# ruff: noqa: ASYNC109

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.config import Settings
from bot.storage.guilds import get_guild_settings, update_guild_settings
from bot.storage.releases import released_through
from bot.storage.schedules import list_schedules
from bot.storage.sql import fetch_all
from tests.fakediscord import EPHEMERAL, FakeDiscord, GuildSetup, TestApiError
from tests.helpers import FakeClock, schedules_checked

pytestmark = [pytest.mark.timeout(60), pytest.mark.both_backends]

START = datetime(2026, 3, 25, 12, 0, tzinfo=UTC)  # a Wednesday



@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
async def bot(seeded: Settings, bot_factory, guild_setup: GuildSetup, clock: FakeClock):
    return await bot_factory(clock=clock)


async def command(fake: FakeDiscord, setup: GuildSetup, name: str, *, member=None, where=None,
                  bypass: bool = False, **options: Any) -> str:
    """Run a command (in `where`, default #story); return its ephemeral answer's text (content, embeds)."""
    record = await fake.invoke(name, guild=setup.guild, channel=where or setup.story,
                               member=member or setup.moderator, options=options, bypass_permissions=bypass)
    message = await record.wait_message()
    assert message["flags"] & EPHEMERAL, name
    parts = [message["content"]]
    for embed in message["embeds"]:
        parts += [embed.get("title", ""), embed.get("description", "")]
        parts += [f"{f['name']}: {f['value']}" for f in embed.get("fields", [])]
    return "\n".join(p for p in parts if p)


def cog(bot):
    schedule = bot.get_cog("Schedule")
    assert schedule is not None
    return schedule


async def tick(bot) -> None:
    """Wake the loop after moving the clock and wait until it has looked at the schedules."""
    await schedules_checked(bot)


async def scheduled_slots(bot) -> list[datetime]:
    """The schedule slots releases were claimed for, from the database (each fires at most once)."""
    cur_rows = await fetch_all(bot.db, "SELECT schedule_slot FROM releases WHERE schedule_slot IS NOT NULL"
                              " ORDER BY schedule_slot")
    return [datetime.fromisoformat(row[0]).astimezone(UTC) for row in cur_rows]


# --- scheduled releases ----------------------------------------------------------------------------------

async def test_one_off_fires_when_the_clock_passes_it_and_only_once(bot, fake_discord: FakeDiscord,
                                                                    guild_setup: GuildSetup,
                                                                    clock: FakeClock) -> None:
    text = await command(fake_discord, guild_setup, "schedule add", when="2026-03-25 18:00",
                         timezone="Europe/Paris")
    assert "Scheduled **#1** · once on 2026-03-25 at 18:00 (Europe/Paris)" in text
    await tick(bot)
    assert fake_discord.history(guild_setup.story) == []  # not yet
    clock.advance(hours=4, minutes=59)  # 16:59 UTC = 17:59 in Paris
    await tick(bot)
    assert fake_discord.history(guild_setup.story) == []
    clock.advance(minutes=1)
    await tick(bot)
    assert await released_through(bot.db, guild_setup.guild.id) == 1
    posted = len(fake_discord.history(guild_setup.story))
    assert posted >= 2 and "Chapter 1 of 6" in fake_discord.history(guild_setup.story)[0]["content"]
    clock.advance(days=3)
    await tick(bot)
    assert len(fake_discord.history(guild_setup.story)) == posted
    assert "No release is scheduled" in await command(fake_discord, guild_setup, "schedule list")


async def test_missed_slots_fire_once_after_a_restart(
        seeded: Settings, bot_factory, fake_discord: FakeDiscord, guild_setup: GuildSetup,
        clock: FakeClock) -> None:
    first = await bot_factory(clock=clock)
    await command(fake_discord, guild_setup, "schedule add", when="daily 20:00", timezone="UTC")
    await first.close()
    clock.advance(days=3, hours=10)  # the bot was down over three 20:00 slots; now Sat 22:00 UTC
    second = await bot_factory(clock=clock)
    await tick(second)  # the first check runs at start; this one sees the same clock
    assert await released_through(second.db, guild_setup.guild.id) == 1
    assert await scheduled_slots(second) == [datetime(2026, 3, 25, 20, 0, tzinfo=UTC)]
    await tick(second)
    assert await released_through(second.db, guild_setup.guild.id) == 1
    [row] = await list_schedules(second.db, guild_setup.guild.id)
    assert row.next_run_at == datetime(2026, 3, 29, 20, 0, tzinfo=UTC)
    clock.advance(days=1)  # past Sunday's slot
    await tick(second)
    assert await released_through(second.db, guild_setup.guild.id) == 2


async def test_schedules_use_the_story_channel_and_guilds_are_independent(bot, fake_discord: FakeDiscord,
                                                                          guild_setup: GuildSetup,
                                                                          clock: FakeClock) -> None:
    other = await fake_discord.add_standard_guild("Other")
    await update_guild_settings(bot.db, guild_setup.guild.id, story_channel_id=guild_setup.story.id)
    await command(fake_discord, guild_setup, "schedule add", where=guild_setup.general,
                  when="every 2 days 13:00")
    await command(fake_discord, other, "schedule add", when="every thursday 13:00")
    clock.advance(hours=1, minutes=30)  # Wed 13:30
    await tick(bot)
    assert (await released_through(bot.db, guild_setup.guild.id),
            await released_through(bot.db, other.guild.id)) == (1, 0)
    assert fake_discord.history(guild_setup.general) == [] and fake_discord.history(guild_setup.story)
    clock.advance(days=1)  # Thu 13:30
    await tick(bot)
    assert (await released_through(bot.db, guild_setup.guild.id),
            await released_through(bot.db, other.guild.id)) == (1, 1)
    clock.advance(days=1)  # Fri 13:30
    await tick(bot)
    assert (await released_through(bot.db, guild_setup.guild.id),
            await released_through(bot.db, other.guild.id)) == (2, 1)


async def test_pause_resume_cancel_and_list(bot, fake_discord: FakeDiscord, guild_setup: GuildSetup,
                                           clock: FakeClock) -> None:
    await command(fake_discord, guild_setup, "schedule add", when="every monday 18:00",
                  timezone="europe/paris")
    await command(fake_discord, guild_setup, "schedule add", when="daily 09:00")
    listing = await command(fake_discord, guild_setup, "schedule list")
    assert "**#1** · every Monday at 18:00 (Europe/Paris)" in listing
    assert "**#2** · every day at 09:00 (UTC)" in listing
    assert "<t:1774886400:F>" in listing  # Mon 30 March 18:00 CEST = 16:00 UTC
    assert "Paused #1, #2" in await command(fake_discord, guild_setup, "schedule pause")
    assert "paused" in await command(fake_discord, guild_setup, "schedule list")
    clock.advance(days=7)
    await tick(bot)
    assert await released_through(bot.db, guild_setup.guild.id) == 0
    text = await command(fake_discord, guild_setup, "schedule resume", id=2)
    assert "Resumed **#2**" in text
    await tick(bot)
    assert await released_through(bot.db, guild_setup.guild.id) == 0  # paused slots are skipped, not replayed
    assert "Cancelled schedule #1" in await command(fake_discord, guild_setup, "schedule cancel", id=1)
    assert "no live schedule #1" in await command(fake_discord, guild_setup, "schedule cancel", id=1)
    assert "no live schedule #99" in await command(fake_discord, guild_setup, "schedule pause", id=99)
    clock.advance(days=1)
    await tick(bot)
    assert await released_through(bot.db, guild_setup.guild.id) == 1


@pytest.mark.parametrize(("when", "zone", "expected"), [
    ("2026-03-01 18:00", None, "is in the past"),
    ("daily 20:00", "Mars/Olympus", "not a time zone I know"),
    ("every fortnight maybe", None, "can't read"),
    ("daily 24:30", "UTC", "not a time of day"),
])
async def test_add_refuses_bad_input_with_an_example(bot, fake_discord: FakeDiscord, guild_setup: GuildSetup,
                                                     when: str, zone: str | None, expected: str) -> None:
    options = {"when": when} | ({"timezone": zone} if zone else {})
    text = await command(fake_discord, guild_setup, "schedule add", **options)
    assert expected in text
    assert re.search(r"`[^`]*[\d/][^`]*`", text.split(expected, 1)[1])  # an example that works
    assert await list_schedules(bot.db, guild_setup.guild.id) == []


async def test_timezone_defaults_to_the_guild_zone_and_autocompletes(bot, fake_discord: FakeDiscord,
                                                                     guild_setup: GuildSetup) -> None:
    await command(fake_discord, guild_setup, "aar setup", timezone="America/New_York")
    text = await command(fake_discord, guild_setup, "schedule add", when="daily 20:00")
    assert "(America/New_York)" in text
    choices = await fake_discord.autocomplete("schedule add", focused="timezone",
                                              options={"when": "daily 20:00", "timezone": "paris"},
                                              guild=guild_setup.guild, member=guild_setup.moderator)
    assert choices[0]["value"] == "Europe/Paris" and len(choices) <= 25


async def test_schedule_commands_are_for_moderators_only(bot, fake_discord: FakeDiscord,
                                                         guild_setup: GuildSetup) -> None:
    with pytest.raises(TestApiError, match="lacks permissions"):  # Discord hides /schedule from members
        await fake_discord.invoke("schedule list", guild=guild_setup.guild, member=guild_setup.member)
    schema = next(c for c in fake_discord.global_commands if c["name"] == "schedule")
    assert int(schema["default_member_permissions"]) == 1 << 5 and schema["contexts"] == [0]
    # ...and the bot refuses even when a server overrides that in its integration settings.
    for name, options in [("schedule add", {"when": "daily 20:00"}), ("schedule list", {}),
                          ("schedule cancel", {"id": 1}), ("schedule pause", {}), ("schedule resume", {})]:
        text = await command(fake_discord, guild_setup, name, member=guild_setup.member, bypass=True,
                             **options)
        assert "Only moderators can do this" in text, name
    assert await list_schedules(bot.db, guild_setup.guild.id) == []


# --- /aar setup ------------------------------------------------------------------------------------------

async def test_setup_stores_and_shows_the_settings(bot, fake_discord: FakeDiscord,
                                                   guild_setup: GuildSetup) -> None:
    text = await command(fake_discord, guild_setup, "aar setup", channel=guild_setup.story,
                         moderator_role=guild_setup.moderator_role, timezone="europe/berlin",
                         discussion_threads=False, like_emoji="❤️", hall_of_fame_channel=guild_setup.general,
                         hall_of_fame_threshold=5)
    assert f"Story channel: <#{guild_setup.story.id}>" in text
    assert f"Moderator role: <@&{guild_setup.moderator_role.id}>" in text
    assert ("Time zone: Europe/Berlin" in text and "Discussion threads: off" in text
            and "Like emoji: ❤️" in text)
    assert f"Hall of fame: <#{guild_setup.general.id}>, from 5 likes" in text
    settings = await get_guild_settings(bot.db, guild_setup.guild.id)
    assert (settings.story_channel_id, settings.moderator_role_id, settings.timezone,
            settings.discussion_threads, settings.like_emoji, settings.hall_of_fame_channel_id,
            settings.hall_of_fame_threshold) == (
        guild_setup.story.id, guild_setup.moderator_role.id, "Europe/Berlin", False, "❤️",
        guild_setup.general.id, 5)
    # Options left out keep their values.
    text = await command(fake_discord, guild_setup, "aar setup", discussion_threads=True)
    assert "Discussion threads: on" in text and "Time zone: Europe/Berlin" in text
    last = fake_discord.requests_to("POST", r"/interactions/")[-1]
    assert last.json["data"]["allowed_mentions"] == {"parse": []}


async def test_setup_refuses_bad_values_and_non_moderators(bot, fake_discord: FakeDiscord,
                                                           guild_setup: GuildSetup) -> None:
    assert "not a time zone I know" in await command(fake_discord, guild_setup, "aar setup",
                                                     timezone="Nowhere/Land")
    assert "between 1 and 1000" in await command(fake_discord, guild_setup, "aar setup",
                                                 hall_of_fame_threshold=0)
    assert "one emoji" in await command(fake_discord, guild_setup, "aar setup", like_emoji="thumbs up")
    assert "Only moderators" in await command(fake_discord, guild_setup, "aar setup",
                                              member=guild_setup.member, bypass=True, timezone="UTC")
    settings = await get_guild_settings(bot.db, guild_setup.guild.id)
    assert settings.timezone == "UTC" and settings.hall_of_fame_threshold is None
