"""Shards: which shard holds a server, which shards this process runs, and pacing their IDENTIFYs.

Discord splits a bot's servers over shards by `(guild_id >> 22) % shard_count`, each shard one gateway
connection, and refuses a bot in more than 2,500 servers that connects without them.  Several processes
may each run some of the shards (`AAR_SHARD_IDS`); work that belongs to one server (a schedule firing, a
release resuming, a quiz recovered, reactions caught up) must run only in the process holding that
server's shard, or two processes would release the same chapter.  `ShardPlan.owns_guild` is that test, a
plain `Callable[[int], bool]` any Discord-free code can take.

Discord-free: `bot.app` feeds it the counts Discord gives and calls the pacer before each IDENTIFY.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass

# Discord's identify rate: one IDENTIFY per 5 s in each of `max_concurrency` buckets.
IDENTIFY_INTERVAL_SECONDS = 5.0
# A shard Discord will not connect is one holding more servers than this (close code 4011).
MAX_GUILDS_PER_SHARD = 2500

GuildOwner = Callable[[int], bool]


class ShardSpecError(ValueError):
    """A shard setting that cannot be used; the message is one line saying what and how to fix it."""


def shard_of(guild_id: int, shard_count: int) -> int:
    """The shard Discord routes `guild_id`'s events to (its documented sharding formula)."""
    return (guild_id >> 22) % shard_count


def parse_shard_ids(text: str, shard_count: int | None = None) -> tuple[int, ...]:
    """`"0-3"`, `"0,2"` or `"0-1,4"` → the shard ids, sorted, each once.

    With `shard_count`, every id must be below it.  Anything else is a `ShardSpecError` naming the part
    that is wrong.
    """
    ids: set[int] = set()
    parts = [part.strip() for part in text.split(",")]
    if not text.strip() or any(not part for part in parts):
        raise ShardSpecError(f"AAR_SHARD_IDS must be shard ids like 0-3 or 0,2, not {text!r}")
    for part in parts:
        low, dash, high = part.partition("-")
        if not low.strip().isdigit() or (dash and not high.strip().isdigit()):
            raise ShardSpecError(f"AAR_SHARD_IDS must be shard ids like 0-3 or 0,2; {part!r} is not")
        first, last = int(low), int(high) if dash else int(low)
        if last < first:
            raise ShardSpecError(f"AAR_SHARD_IDS: the range {part!r} runs backwards (write {last}-{first})")
        ids.update(range(first, last + 1))
    if shard_count is not None:
        outside = sorted(i for i in ids if i >= shard_count)
        if outside:
            raise ShardSpecError(f"AAR_SHARD_IDS: shard {outside[0]} does not exist with AAR_SHARD_COUNT="
                                 f"{shard_count} (shard ids run from 0 to {shard_count - 1})")
    return tuple(sorted(ids))


@dataclass(frozen=True)
class ShardPlan:
    """How many shards the bot has in all, and which of them this process runs."""

    shard_count: int
    shard_ids: tuple[int, ...]

    @classmethod
    def of(cls, shard_count: int, shard_ids: Iterable[int] | None = None) -> ShardPlan:
        """All shards when `shard_ids` is None (one process runs the whole bot)."""
        if shard_count < 1:
            raise ShardSpecError(f"the shard count must be at least 1, not {shard_count}")
        ids = tuple(sorted(set(shard_ids))) if shard_ids is not None else tuple(range(shard_count))
        if not ids or ids[0] < 0 or ids[-1] >= shard_count:
            raise ShardSpecError(f"shard ids {list(ids)} do not fit a count of {shard_count}")
        return cls(shard_count, ids)

    def owns_guild(self, guild_id: int) -> bool:
        """Does this process hold `guild_id`'s shard (and so its per-server work)?"""
        return shard_of(guild_id, self.shard_count) in self.shard_ids


class IdentifyPacer:
    """Spaces IDENTIFYs as Discord demands: one per `interval` seconds in each `max_concurrency` bucket.

    A shard's bucket is `shard_id % max_concurrency`; shards in different buckets may identify at once.
    discord.py's own hook ignores buckets and waits 5 s before every IDENTIFY but the first, which makes a
    large bot (max_concurrency 16 and more) start 16 times slower than it may, and still sleeps after a
    reconnect whose bucket has long been free.  `interval` is settable so tests against the fake run fast.
    """

    def __init__(self, *, max_concurrency: int = 1, interval: float = IDENTIFY_INTERVAL_SECONDS,
                 clock: Callable[[], float] | None = None) -> None:
        self.max_concurrency = max(1, max_concurrency)
        self.interval = interval
        self._clock = clock
        self._next_free: dict[int, float] = {}
        self._locks: dict[int, asyncio.Lock] = {}

    def bucket(self, shard_id: int) -> int:
        return shard_id % self.max_concurrency

    def _now(self) -> float:
        return self._clock() if self._clock is not None else asyncio.get_running_loop().time()

    def delay(self, shard_id: int) -> float:
        """How long an IDENTIFY of `shard_id` would have to wait now (0 when its bucket is free)."""
        return max(0.0, self._next_free.get(self.bucket(shard_id), 0.0) - self._now())

    async def wait_turn(self, shard_id: int) -> float:
        """Wait until `shard_id`'s bucket may IDENTIFY, and take the slot; returns the seconds waited."""
        bucket = self.bucket(shard_id)
        lock = self._locks.setdefault(bucket, asyncio.Lock())
        async with lock:
            waited = self.delay(shard_id)
            if waited > 0:
                await asyncio.sleep(waited)
            self._next_free[bucket] = self._now() + self.interval
            return waited
