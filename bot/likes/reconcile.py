"""Which release messages to re-read from Discord, so reactions given while the bot was offline count.

Bounded on purpose: a bot in many servers with many chapters must not spend its start-up (and Discord's
rate limits) re-reading history nobody reacts to any more.  So a *round* spends at most `max_requests`
requests (`max_messages` messages), and within a server reads its newest chapters first, at most
`per_guild` messages, skipping chapters released longer ago than `max_age`.

Fair over time: servers are walked round-robin in id order from a cursor kept in the database across
starts (`bot.storage.likes.reconcile_cursor`), so each round continues where the last one stopped,
whichever start that was, and every server gets its turn; the same few servers at the front of the list
are not re-read at every start while the others never are.  After a start the cog runs rounds
`interval` apart until every server present then had its turn.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.storage import likes as store
from bot.storage.database import BUSY_ERRORS, Database
from bot.storage.releases import ReleasePart, release_parts_of
from bot.timestamps import format_timestamp, parse_timestamp

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReconcileLimits:
    max_age: timedelta = timedelta(days=30)
    max_messages: int = 200    # messages re-read per round
    max_requests: int = 400    # Discord requests per round: a message, and each page of a reaction's users
    per_guild: int = 20        # messages of one server per round (its newest chapters)
    max_users: int = 1000      # users read per reaction
    interval: timedelta | None = timedelta(minutes=2)  # between rounds after a start (None: one round)


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


async def targets(conn: Database, guild_id: int, now: datetime, limits: ReconcileLimits,
                  budget: int) -> list[ReleasePart]:
    """The guild's release messages to re-read (see `plan`); the database returns no more than that."""
    since = format_timestamp(now - limits.max_age)
    return plan(await release_parts_of(conn, guild_id, completed_since=since, limit=budget), now, limits,
                budget)


def round_robin(guild_ids: Iterable[int], after: int | None) -> list[int]:
    """The servers in id order, starting with the first one after `after` and wrapping around."""
    ordered = sorted(set(guild_ids))
    if after is None:
        return ordered
    later = [g for g in ordered if g > after]
    return later + [g for g in ordered if g <= after]


# Re-reads one message; returns the requests it cost (a refused or failed read costs its one request).
ReadPart = Callable[[ReleasePart], Awaitable[int]]


@dataclass
class RoundResult:
    covered: list[int] = field(default_factory=list)  # servers whose turn was taken, in order
    messages: int = 0
    requests: int = 0


async def run_round(conn: Database, guild_ids: Iterable[int], now: datetime,
                    limits: ReconcileLimits, read: ReadPart) -> RoundResult:
    """One round: servers after the stored cursor, each its turn of up to `per_guild` messages, while
    the budget lasts; the cursor moves past a server once its turn is complete, so a turn cut short by
    the budget is taken whole by the next round.

    The first server of a round always has its whole turn, so a round always makes progress: only it can
    go over the request budget (by its turn's cost at most).
    """
    result = RoundResult()
    for guild_id in round_robin(guild_ids, await store.reconcile_cursor(conn)):
        if result.covered and (result.messages >= limits.max_messages
                               or result.requests >= limits.max_requests):
            break
        parts = await targets(conn, guild_id, now, limits, limits.per_guild)
        if result.covered and result.messages + len(parts) > limits.max_messages:
            break  # its whole turn does not fit: it begins the next round
        for part in parts:
            if result.covered and result.requests >= limits.max_requests:
                return result  # the budget ran out in this server's turn: it begins the next round
            result.requests += await read(part)
            result.messages += 1
        try:
            await store.save_reconcile_cursor(conn, guild_id, format_timestamp(now))
        except BUSY_ERRORS as exc:  # locked by another process: this server comes round again
            _log.warning("likes: could not move the reconciliation cursor past server %s: %s", guild_id, exc)
        result.covered.append(guild_id)
    return result
