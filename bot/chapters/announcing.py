"""Publishing the parts released into announcement channels, at Discord's pace, from a persisted backlog.

Discord lets a channel publish (crosspost) 10 messages an hour and answers the 11th with a 429 whose
`retry_after` can be most of an hour.  A release must not wait for that, so the engine only marks each
part of an announcement release 'pending' (before sending it) and this backlog publishes them: right after
the release as far as Discord allows, then in the background whenever a channel's wait is over.  The
backlog lives in the database (`release_parts.publish`), so a restart resumes it; publishing a part twice
is harmless (Discord answers "already crossposted", which counts as done).

Discord-free: it talks to the engine's `Sender`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from bot.chapters.publishing import (
    AlreadyPublished,
    ChannelGone,
    MessageGone,
    PublishError,
    PublishLater,
    ReleaseForbidden,
    Sender,
)
from bot.storage import release_log
from bot.storage.database import Database

log = logging.getLogger(__name__)

PUBLISHES_PER_WINDOW = 10  # Discord's limit per announcement channel...
PUBLISH_WINDOW = timedelta(hours=1)  # ...per hour
RETRY_REFUSED = timedelta(minutes=15)  # a 403 (permissions may be fixed) or another failure: try again
RETRY_FAILED = timedelta(minutes=1)


@dataclass
class Announcer:
    """Works through the publish backlog of every guild; `run()` is the background task."""

    conn: Database
    sender: Sender
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    _not_before: dict[int, datetime] = field(default_factory=dict, init=False, repr=False)  # channel → when
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock, init=False, repr=False)
    _wake: asyncio.Event = field(default_factory=asyncio.Event, init=False, repr=False)

    def wake(self) -> None:
        """Look at the backlog now (a release added to it)."""
        self._wake.set()

    async def settled(self) -> None:
        """Return once no publishing pass is running: what it published is then recorded too."""
        async with self._lock:
            pass

    async def publish_due(self, channel_id: int | None = None) -> None:
        """Publish every pending part whose channel may publish now (only `channel_id`'s, when given)."""
        async with self._lock:
            waiting: set[int] = set()
            for row in await release_log.pending_publishes(self.conn):
                channel = row.channel_id
                if (channel_id is not None and channel != channel_id) or channel in waiting:
                    continue
                if self._not_before.get(channel, self.clock()) > self.clock():
                    waiting.add(channel)
                    continue
                if not await self._publish(row):
                    waiting.add(channel)

    async def _publish(self, row: release_log.PublishRow) -> bool:
        """Publish one part; False when its channel must wait (the wait is noted)."""
        try:
            await self.sender.publish(row.channel_id, row.message_id)
        except PublishLater as exc:
            self._wait(row.channel_id, timedelta(seconds=exc.retry_after))
            log.info("publishing in channel %s waits %.0f s (Discord's publish limit)", row.channel_id,
                     exc.retry_after)
            return False
        except AlreadyPublished:
            pass
        except (MessageGone, ChannelGone) as exc:
            log.warning("part %s of chapter %s in guild %s can't be published: %s", row.part_index,
                        row.chapter_number, row.guild_id, exc)
            await release_log.record_published(self.conn, row, "dropped")
            return True
        except ReleaseForbidden as exc:
            self._wait(row.channel_id, RETRY_REFUSED)
            log.warning("publishing in channel %s refused (missing %s); retrying later", row.channel_id,
                        exc.permission)
            return False
        except PublishError as exc:
            self._wait(row.channel_id, RETRY_FAILED)
            log.warning("publishing in channel %s failed (%s); retrying later", row.channel_id, exc)
            return False
        await release_log.record_published(self.conn, row)
        return True

    def _wait(self, channel_id: int, delay: timedelta) -> None:
        self._not_before[channel_id] = self.clock() + delay

    async def backlog(self, guild_id: int) -> tuple[int, datetime | None]:
        """How many of the guild's parts wait to be published, and about when the last will be out."""
        rows = await release_log.pending_publishes(self.conn, guild_id)
        if not rows:
            return 0, None
        now = self.clock()
        eta = now
        for channel, count in Counter(r.channel_id for r in rows).items():
            start = max(self._not_before.get(channel, now), now)
            eta = max(eta, start + PUBLISH_WINDOW * ((count - 1) // PUBLISHES_PER_WINDOW))
        return len(rows), eta

    async def _next_delay(self) -> float | None:
        """Seconds until a waiting channel may publish again (None: nothing waits)."""
        channels = {r.channel_id for r in await release_log.pending_publishes(self.conn)}
        if not channels:
            return None
        now = self.clock()
        return max(0.0, min((self._not_before.get(c, now) - now).total_seconds() for c in channels))

    async def run(self) -> None:
        """Forever: publish what is due, then sleep until a channel's wait is over or `wake()`."""
        while True:
            self._wake.clear()
            delay: float | None = RETRY_FAILED.total_seconds()
            try:
                await self.publish_due()
                delay = await self._next_delay()
            except Exception:  # a database hiccup: the backlog is persisted, try again shortly
                log.exception("publishing the announcement backlog failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=delay)
