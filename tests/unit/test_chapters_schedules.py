"""The schedule service against a real (in-memory) database and a recording publisher: adding, firing
once after downtime, skipping a slot already claimed, pausing, resuming, cancelling, guild isolation."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from bot.chapters import schedules as service
from bot.chapters.publishing import ReleaseOutcome
from bot.chapters.queue import ReleaseQueue
from bot.chapters.when import ScheduleError
from bot.storage.guilds import update_guild_settings
from bot.storage.sql import execute
from bot.timestamps import format_timestamp

pytestmark = pytest.mark.both_backends

NOW = datetime(2026, 3, 25, 12, 0, tzinfo=UTC)  # a Wednesday, the week Europe springs forward


# --- the schedule service ---------------------------------------------------------------------------

class RecordingPublisher:
    """Stands in for the release engine: records what the schedule service asked for."""

    def __init__(self) -> None:
        self.calls: list[dict] = []

    async def release_next(self, guild_id: int, channel_id: int, **kw: object) -> ReleaseOutcome:
        self.calls.append({"guild": guild_id, "channel": channel_id, **kw})
        return ReleaseOutcome("released", guild_id, len(self.calls))


@pytest.fixture
async def conn(db):
    return db


async def test_service_defaults_to_the_guild_zone_and_fires_once_after_downtime(conn) -> None:
    await update_guild_settings(conn, 1, timezone="Europe/Paris", story_channel_id=555)
    info = await service.add_schedule(conn, guild_id=1, when_text="daily 20:00", zone=None, created_by=9,
                                      channel_id=77, now=NOW)
    assert info.when.zone == "Europe/Paris" and info.next_run_at == datetime(2026, 3, 25, 19, 0, tzinfo=UTC)
    publisher = RecordingPublisher()
    assert await service.run_due(conn, publisher, NOW) == []
    # The bot was down for three evenings: it fires once and moves to the next evening after now.
    late = datetime(2026, 3, 28, 9, 0, tzinfo=UTC)
    fired = await service.run_due(conn, publisher, late)
    assert [f.schedule_id for f in fired] == [info.id]
    assert publisher.calls == [{"guild": 1, "channel": 555, "threads": True, "schedule_id": info.id,
                                "schedule_slot": "2026-03-25T19:00:00.000Z",
                                "finish_interrupted_first": True}]
    assert fired[0].next_run_at == datetime(2026, 3, 28, 19, 0, tzinfo=UTC)
    assert await service.run_due(conn, publisher, late) == []
    assert len(publisher.calls) == 1


async def test_service_skips_a_slot_whose_release_was_already_claimed(conn) -> None:
    """A crash after the release was claimed but before the schedule moved on: the slot does not fire
    again."""
    from bot.storage import release_log

    await execute(conn, "INSERT INTO chapters(number, threadmark, title, content_hash)"
                       " VALUES (1, 't', 'T', 'h')")
    info = await service.add_schedule(conn, guild_id=1, when_text="daily 20:00", zone="UTC", created_by=None,
                                      channel_id=77, now=NOW)
    assert info.next_run_at is not None
    await release_log.claim_release(conn, guild_id=1, chapter=1, channel_id=77, rendered=[{"content": "x"}],
                                    renderer_version=1, alert_role_id=None, parts_total=1, thread_name=None,
                                    started_at="s", schedule_id=info.id,
                                    schedule_slot=format_timestamp(info.next_run_at))
    publisher = RecordingPublisher()
    fired = await service.run_due(conn, publisher, info.next_run_at + timedelta(minutes=1))
    assert [(f.schedule_id, f.outcome) for f in fired] == [(info.id, None)]
    assert publisher.calls == []
    [row] = await service.list_schedules(conn, 1)
    assert row.next_run_at == info.next_run_at + timedelta(days=1)


async def test_service_through_the_queue_releases_every_due_schedule_concurrently(conn) -> None:
    """With the release queue: every due schedule is submitted at once, releases of different guilds
    overlap, each schedule moves on when its own release is done."""
    gate, all_running = asyncio.Event(), asyncio.Event()
    running: set[int] = set()
    overlap = 0

    class GatedPublisher(RecordingPublisher):
        async def release_next(self, guild_id: int, channel_id: int, **kw: object) -> ReleaseOutcome:
            nonlocal overlap
            running.add(guild_id)
            overlap = max(overlap, len(running))
            if len(running) == 3:
                all_running.set()
            await gate.wait()
            running.discard(guild_id)
            return await super().release_next(guild_id, channel_id, **kw)

    infos = [await service.add_schedule(conn, guild_id=g, when_text="2026-03-25 13:00", zone="UTC",
                                        created_by=None, channel_id=70 + g, now=NOW) for g in (1, 2, 3)]
    publisher, queue = GatedPublisher(), ReleaseQueue(workers=4, requests_per_second=45)
    firing = asyncio.create_task(service.run_due(conn, publisher, NOW + timedelta(hours=2), queue))
    await asyncio.wait_for(all_running.wait(), 5)  # all three at once: none waits for another
    gate.set()
    fired = await firing
    assert overlap == 3 and sorted(c["guild"] for c in publisher.calls) == [1, 2, 3]
    assert sorted(f.schedule_id for f in fired) == sorted(i.id for i in infos)
    assert all(f.next_run_at is None for f in fired)  # one-offs, done
    assert await service.run_due(conn, publisher, NOW + timedelta(hours=2), queue) == []


async def test_service_leaves_a_schedule_due_when_the_queue_closed_before_its_release(conn) -> None:
    info = await service.add_schedule(conn, guild_id=1, when_text="2026-03-25 13:00", zone="UTC",
                                      created_by=None, channel_id=70, now=NOW)
    queue = ReleaseQueue(workers=1, requests_per_second=45)
    queue.close()  # the bot is shutting down
    assert await service.run_due(conn, RecordingPublisher(), NOW + timedelta(hours=2), queue) == []
    [row] = await service.list_schedules(conn, 1)
    assert row.next_run_at == info.next_run_at  # still due: it fires at the next start


async def test_service_pause_resume_cancel_and_guild_isolation(conn) -> None:
    a = await service.add_schedule(conn, guild_id=1, when_text="every monday 18:00", zone="UTC",
                                   created_by=None, channel_id=5, now=NOW)
    once = await service.add_schedule(conn, guild_id=1, when_text="2026-03-26 10:00", zone="UTC",
                                      created_by=None, channel_id=5, now=NOW)
    other = await service.add_schedule(conn, guild_id=2, when_text="daily 08:00", zone="UTC", created_by=None,
                                       channel_id=6, now=NOW)
    assert [s.id for s in await service.list_schedules(conn, 1)] == [once.id, a.id]
    with pytest.raises(ScheduleError, match="no live schedule"):
        await service.cancel_schedule(conn, 1, other.id, NOW)  # another guild's id is unknown here
    paused = await service.pause(conn, 1)
    assert {p.id for p in paused} == {a.id, once.id}
    publisher = RecordingPublisher()
    two_weeks = NOW + timedelta(days=14)
    fired = await service.run_due(conn, publisher, two_weeks)
    assert [f.guild_id for f in fired] == [2]  # only the unpaused guild
    resumed, expired = await service.resume(conn, 1, two_weeks)
    assert [r.id for r in resumed] == [a.id] and [e.id for e in expired] == [once.id]
    assert resumed[0].next_run_at == datetime(2026, 4, 13, 18, 0, tzinfo=UTC)  # next Monday after now
    assert await service.run_due(conn, publisher, two_weeks) == []  # resumed past now; guild 2 moved on
    assert len(publisher.calls) == 1
    cancelled = await service.cancel_schedule(conn, 1, a.id, two_weeks)
    assert cancelled.id == a.id
    assert await service.list_schedules(conn, 1) == []
    with pytest.raises(ScheduleError):
        await service.cancel_schedule(conn, 1, a.id, two_weeks)
