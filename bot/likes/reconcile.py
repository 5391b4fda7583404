"""Which release messages to re-read from Discord at start, so reactions given while offline count.

Bounded on purpose: a bot in many guilds with many chapters must not spend its start-up (and Discord's
rate limits) re-reading history nobody reacts to any more.  Newest chapters come first, chapters whose
release completed longer ago than `max_age` are skipped, and at most `max_messages` messages are read
per start (across guilds), each reaction's users up to `max_users`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import aiosqlite

from bot.storage.releases import ReleasePart, release_parts_of
from bot.timestamps import parse_timestamp


@dataclass(frozen=True)
class ReconcileLimits:
    max_age: timedelta = timedelta(days=30)
    max_messages: int = 200
    max_users: int = 1000


def parse_time(value: str | None) -> datetime | None:
    """A release's stored timestamp (see `bot.timestamps`), or None when there is none or it is unreadable."""
    if not value:
        return None
    try:
        return parse_timestamp(value)
    except ValueError:
        return None


def plan(parts: Iterable[ReleasePart], now: datetime, limits: ReconcileLimits,
         budget: int | None = None) -> list[ReleasePart]:
    """The parts to re-read, newest chapter first, within the age limit and the message budget."""
    budget = limits.max_messages if budget is None else budget
    chosen: list[ReleasePart] = []
    for part in sorted(parts, key=lambda p: (-p.chapter_number, p.part_index)):
        if len(chosen) >= budget:
            break
        completed = parse_time(part.completed_at)
        if completed is None or now - completed > limits.max_age:
            continue
        chosen.append(part)
    return chosen


async def targets(conn: aiosqlite.Connection, guild_id: int, now: datetime, limits: ReconcileLimits,
                  budget: int) -> list[ReleasePart]:
    """The guild's release messages to re-read at start (see `plan`)."""
    return plan(await release_parts_of(conn, guild_id), now, limits, budget)
