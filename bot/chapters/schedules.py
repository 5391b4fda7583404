"""Scheduled releases: adding, listing, pausing schedules, and firing the due ones — Discord-free.

A due slot fires at most once, even across a crash: the release it starts carries the schedule id and
the slot (a unique index), so after a restart a slot whose release was already claimed only moves the
schedule on.  Slots missed while the bot was down (or while paused) are not replayed one by one: the
schedule fires once and moves to its next slot after now.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.chapters.publishing import Publisher, ReleaseOutcome
from bot.chapters.queue import QueueClosed, ReleaseQueue, Ticket
from bot.chapters.when import ScheduleError, When, parse_when, resolve_zone, restore_when
from bot.storage import release_log
from bot.storage import schedules as store
from bot.storage.database import Database
from bot.storage.guilds import get_guild_settings
from bot.timestamps import format_timestamp

log = logging.getLogger(__name__)

MAX_LIVE_SCHEDULES = 25  # what one /schedule list can show


@dataclass(frozen=True)
class ScheduleInfo:
    """A schedule as moderators see it."""

    row: store.ScheduleRow
    when: When

    @property
    def id(self) -> int:
        return self.row.id

    @property
    def next_run_at(self) -> datetime | None:
        return self.row.next_run_at

    @property
    def paused(self) -> bool:
        return self.row.paused


@dataclass(frozen=True)
class Fired:
    """One due schedule handled by `run_due`: what it released (None: the slot had already fired)."""

    schedule_id: int
    guild_id: int
    slot: datetime
    outcome: ReleaseOutcome | None
    next_run_at: datetime | None


def _info(row: store.ScheduleRow) -> ScheduleInfo:
    return ScheduleInfo(row, restore_when(row.spec, row.timezone, row.next_run_at))


async def add_schedule(conn: Database, *, guild_id: int, when_text: str, zone: str | None,
                       created_by: int | None, channel_id: int | None, now: datetime) -> ScheduleInfo:
    """Parse and store a schedule; the zone defaults to the guild's (set in /aar setup), else UTC."""
    if not zone:
        zone = (await get_guild_settings(conn, guild_id)).timezone or "UTC"
    when = parse_when(when_text, resolve_zone(zone), now)
    live = await store.list_schedules(conn, guild_id)
    if len(live) >= MAX_LIVE_SCHEDULES:
        raise ScheduleError(f"This server already has {len(live)} schedules; cancel one with "
                            "`/schedule cancel id:` first.")
    row = await store.add_schedule(conn, guild_id=guild_id, spec=when.spec, timezone=when.zone,
                                   next_run_at=when.first_run(now), created_by=created_by,
                                   channel_id=channel_id, now=now)
    return ScheduleInfo(row, when)


async def list_schedules(conn: Database, guild_id: int) -> list[ScheduleInfo]:
    return [_info(row) for row in await store.list_schedules(conn, guild_id)]


async def cancel_schedule(conn: Database, guild_id: int, schedule_id: int,
                          now: datetime) -> ScheduleInfo:
    row = await _live(conn, guild_id, schedule_id)
    await store.cancel_schedule(conn, guild_id, schedule_id, now)
    return _info(row)


async def pause(conn: Database, guild_id: int,
                schedule_id: int | None = None) -> list[ScheduleInfo]:
    """Pause one schedule, or all of the guild's; returns those now paused that were running."""
    rows = [await _live(conn, guild_id, schedule_id)] if schedule_id is not None else \
        await store.list_schedules(conn, guild_id)
    changed = [row for row in rows if not row.paused]
    for row in changed:
        await store.set_paused(conn, row.id, True)
    return [_info(row) for row in changed]


async def resume(conn: Database, guild_id: int, now: datetime,
                 schedule_id: int | None = None) -> tuple[list[ScheduleInfo], list[ScheduleInfo]]:
    """Resume paused schedules; returns (resumed, expired one-offs whose time passed while paused).

    A cadence resumes at its next slot after now: slots that passed while paused are skipped, since
    pausing meant "don't release".  A one-off whose time passed while paused is finished, not fired.
    """
    rows = [await _live(conn, guild_id, schedule_id)] if schedule_id is not None else \
        await store.list_schedules(conn, guild_id)
    resumed, expired = [], []
    for row in rows:
        if not row.paused:
            continue
        info = _info(row)
        assert row.next_run_at is not None
        if row.next_run_at <= now:
            following = info.when.next_run(row.next_run_at, now)
            await store.set_next_run(conn, row.id, following, expected=row.next_run_at)
            if following is None:
                expired.append(info)
                continue
        await store.set_paused(conn, row.id, False)
        fresh = await store.get_schedule(conn, guild_id, row.id)
        assert fresh is not None
        resumed.append(_info(fresh))
    return resumed, expired


def every_guild(_guild_id: int) -> bool:
    """The ownership of a process that holds every shard (the default: one process)."""
    return True


async def run_due(conn: Database, publisher: Publisher, now: datetime,
                  queue: ReleaseQueue | None = None,
                  owns_guild: Callable[[int], bool] = every_guild) -> list[Fired]:
    """Fire every schedule due at `now` of the guilds this process holds (`owns_guild`: its shards'; the
    others are another process's to fire): one release per due schedule, then move it past now.

    With the release queue, every due schedule's release is submitted at once and they go out
    concurrently (one at a time per guild, fairly between guilds); each schedule moves on as soon as its
    own release is done.  One whose release never ran (the bot shut down first) does not move, so it fires
    at the next start; one whose release was claimed moves on there (`slot_claimed`).  Without a queue,
    they go out one after another (what the bot did before the queue; the benchmark's baseline).
    """
    async def fire(row: store.ScheduleRow, slot: datetime, slot_text: str, following: datetime | None,
                   outcome: ReleaseOutcome | None) -> Fired:
        if outcome is not None:
            log.info("schedule %s (guild %s, slot %s): %s chapter %s", row.id, row.guild_id, slot_text,
                     outcome.status, outcome.chapter)
        await store.set_next_run(conn, row.id, following, expected=slot, last_run_at=slot)
        return Fired(row.id, row.guild_id, slot, outcome, following)

    async def queued(row: store.ScheduleRow, slot: datetime, slot_text: str, following: datetime | None,
                     ticket: Ticket[ReleaseOutcome] | None) -> Fired | None:
        try:
            outcome = await ticket.result() if ticket is not None else None
        except QueueClosed:
            return None  # never released: the slot fires at the next start
        return await fire(row, slot, slot_text, following, outcome)

    fired: list[Fired] = []
    waiting: list[Coroutine[Any, Any, Fired | None]] = []
    try:
        for row in await store.due_schedules(conn, now):
            if not owns_guild(row.guild_id):
                continue
            assert row.next_run_at is not None
            slot = row.next_run_at
            following = restore_when(row.spec, row.timezone, slot).next_run(slot, now)
            slot_text = format_timestamp(slot)  # a claimed slot is recognised by this text (bot.timestamps)
            release: Callable[[], Awaitable[ReleaseOutcome]] | None = None
            if not await release_log.slot_claimed(conn, row.id, slot_text):
                settings = await get_guild_settings(conn, row.guild_id)
                channel_id = settings.story_channel_id or row.channel_id
                if channel_id is None:
                    log.warning("schedule %s of guild %s has no channel to release into", row.id,
                                row.guild_id)
                else:
                    release = functools.partial(
                        publisher.release_next, row.guild_id, channel_id,
                        threads=settings.discussion_threads, schedule_id=row.id, schedule_slot=slot_text,
                        finish_interrupted_first=True)
            if queue is None:
                outcome = await release() if release else None
                fired.append(await fire(row, slot, slot_text, following, outcome))
            else:  # submitted at once, so releases start while the next rows are read
                ticket = queue.submit(row.guild_id, release, source="schedule") if release else None
                waiting.append(queued(row, slot, slot_text, following, ticket))
    except BaseException:
        for pending in waiting:  # their tickets are in the queue (a claimed slot never releases twice);
            pending.close()      # unawaited, these would only warn "never awaited"
        raise
    results = await asyncio.gather(*waiting, return_exceptions=True)
    errors = [r for r in results if isinstance(r, BaseException)]
    if errors:  # the others moved on; these are tried again at the next check (a claimed slot only moves)
        raise errors[0]
    return fired + [r for r in results if isinstance(r, Fired)]


async def next_due_at(conn: Database,
                      owns_guild: Callable[[int], bool] = every_guild) -> datetime | None:
    """When the soonest schedule of a guild this process holds is due: another process's overdue schedule
    must not wake this one again and again."""
    due_by_guild = await store.next_due_by_guild(conn)
    return min((due for guild_id, due in due_by_guild.items() if owns_guild(guild_id)), default=None)


async def _live(conn: Database, guild_id: int, schedule_id: int) -> store.ScheduleRow:
    row = await store.get_schedule(conn, guild_id, schedule_id)
    if row is None or not row.active:
        raise ScheduleError(f"There is no live schedule #{schedule_id} in this server; `/schedule list` "
                            "shows the ones there are.")
    return row
