"""Many servers releasing at once through the release queue, against a fake Discord that applies Discord's
global limit (50/s), the per-channel message limit (5 per 5 s) and a round trip: every release goes out
exactly once, no request of the bot is refused with 429, every `/chapter next` is answered at once (the
fake refuses an answer later than Discord's 3 s), says "going out now" or "queued", and is then edited
into its jump link.  And a shutdown
with releases still queued loses nothing: the next start releases them, once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.config import Settings
from bot.storage import schedules as store
from bot.storage.connection import open_storage
from bot.storage.releases import released_through
from tests.fakediscord import EPHEMERAL, FakeDiscord, GuildSetup
from tests.helpers import PENDING_ANSWER, SEED_CHAPTERS, FakeClock, final_answer, schedules_checked

pytestmark = [pytest.mark.timeout(60), pytest.mark.both_backends]

GUILDS = 30
PARTS = 3  # chapter 1 of the shipped AAR: three messages (and a thread)
SLOT = datetime(2026, 12, 1, 18, 0, tzinfo=UTC)


@pytest.fixture
async def fake_discord() -> AsyncIterator[FakeDiscord]:
    """The fake with every limit on and a 20 ms round trip (the conftest's has only the global limit)."""
    async with FakeDiscord(channel_limits=True, latency=0.02) as fake:
        yield fake


@pytest.fixture
async def setups(fake_discord: FakeDiscord) -> list[GuildSetup]:
    return [await fake_discord.add_standard_guild(f"Server {i}") for i in range(GUILDS)]


def released_once(fake: FakeDiscord, setup: GuildSetup) -> bool:
    threads = [c for c in fake.channels.values() if c.parent_id == setup.story.id]
    return len(fake.history(setup.story)) == PARTS and len(threads) == 1


async def add_due_schedules(db, setups: list[GuildSetup]) -> None:
    for setup in setups:
        await store.add_schedule(db, guild_id=setup.guild.id, spec=SLOT.strftime("%Y-%m-%d %H:%M"),
                                 timezone="UTC", next_run_at=SLOT, created_by=setup.moderator.id,
                                 channel_id=setup.story.id, now=SLOT - timedelta(days=1))


async def test_simultaneous_chapter_next_in_many_servers(seeded: Settings, bot_factory,
                                                         fake_discord: FakeDiscord,
                                                         setups: list[GuildSetup]) -> None:
    bot = await bot_factory()
    records = [await fake_discord.invoke("chapter next", guild=s.guild, channel=s.story, member=s.moderator)
               for s in setups]
    answers = await asyncio.gather(*(final_answer(r, timeout=40) for r in records))
    for record, setup, final in zip(records, setups, answers, strict=True):
        ack, said = record.responses[0], record.responses[1]
        assert ack.kind == "callback" and ack.type == 5 and ack.ephemeral  # acknowledged at once
        assert said.kind == "edit" and PENDING_ANSWER in said.data["content"]
        assert "going out now" in said.data["content"] or "Queued behind" in said.data["content"]
        assert record.responses[2:] and all(r.kind == "edit" for r in record.responses[2:])
        assert final["flags"] & EPHEMERAL and not record.followup_ids
        assert final["content"].startswith(f"Released chapter 1 of {SEED_CHAPTERS}"), final["content"]
        assert released_once(fake_discord, setup)
        assert await released_through(bot.db, setup.guild.id) == 1
    now = [r for r in records if "going out now" in r.responses[1].data["content"]]
    assert len(now) >= min(bot.pacing.release_workers, GUILDS)  # a free worker: it starts at once
    assert fake_discord.rate_limit_hits == []
    assert fake_discord.limited_requests >= GUILDS * (PARTS + 1)


async def test_schedules_due_together_release_concurrently_once_each(seeded: Settings, bot_factory,
                                                                      fake_discord: FakeDiscord,
                                                                      setups: list[GuildSetup]) -> None:
    clock = FakeClock(SLOT - timedelta(hours=1))
    bot = await bot_factory(clock=clock)
    await add_due_schedules(bot.db, setups)
    clock.now = SLOT + timedelta(seconds=1)
    fired = await schedules_checked(bot, within=40)
    assert len(fired) == GUILDS
    assert {f.guild_id for f in fired} == {s.guild.id for s in setups}
    assert all(f.outcome is not None and f.outcome.status == "released" for f in fired)
    assert all(f.next_run_at is None for f in fired)  # one-offs: finished
    assert all(released_once(fake_discord, s) for s in setups)
    assert fake_discord.rate_limit_hits == []
    assert await schedules_checked(bot) == []  # nothing fires twice


async def test_a_shutdown_with_releases_queued_loses_and_doubles_nothing(seeded: Settings, bot_factory,
                                                                         fake_discord: FakeDiscord,
                                                                         setups: list[GuildSetup]) -> None:
    few = setups[:4]
    clock = FakeClock(SLOT - timedelta(hours=1))
    bot = await bot_factory(clock=clock)
    bot.release_queue.workers = 1  # one release at a time: the others wait in the queue
    bot.shutdown_grace = 0.3
    await add_due_schedules(bot.db, few)
    held = fake_discord.hold(method="POST", path=rf"^/channels/{few[0].story.id}/messages$")
    clock.now = SLOT + timedelta(seconds=1)
    bot.get_cog("Schedule").wake()
    await fake_discord.wait_for(lambda: held.waiting, timeout=10)
    assert bot.release_queue.running == 1 and bot.release_queue.waiting == 3
    await asyncio.wait_for(bot.close(), 10)  # the running release is stopped, the queued ones dropped
    held.release()
    conn = await open_storage(seeded.db_path, seeded.database_url)
    try:
        due = await store.due_schedules(conn, clock.now)
        assert {r.guild_id for r in due} == {s.guild.id for s in few}  # none moved on: none was done
        assert [await released_through(conn, s.guild.id) for s in few] == [0] * len(few)
    finally:
        await conn.close()

    again = await bot_factory(clock=clock)  # the next start: resumes the one, fires the others
    await fake_discord.wait_for(lambda: all(released_once(fake_discord, s) for s in few), timeout=20)
    await schedules_checked(again)  # (the start-up check, or one after it)
    assert await schedules_checked(again) == []  # every schedule moved on: nothing left to fire
    for setup in few:
        assert await released_through(again.db, setup.guild.id) == 1
        assert released_once(fake_discord, setup)
    assert fake_discord.rate_limit_hits == []
