"""The announcement backlog: publishing at Discord's pace from the database, what each answer of Discord
does to a pending part, and the moderator's figures (how many wait, about when they are out)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.chapters.announcing import Announcer
from bot.chapters.publishing import (
    AlreadyPublished,
    MessageGone,
    PublishError,
    PublishLater,
    ReleaseForbidden,
)
from bot.storage import release_log
from bot.storage.database import Database
from bot.storage.sql import execute, fetch_all
from tests.helpers import FakeClock

pytestmark = pytest.mark.both_backends

GUILD, CHANNEL, OTHER = 5, 50, 60


class PacedDiscord:
    """Publishes up to `allowed` messages per channel, then answers PublishLater; scripted answers first."""

    def __init__(self, allowed: int) -> None:
        self.allowed = allowed
        self.published: list[tuple[int, int]] = []
        self.answers: dict[int, Exception] = {}  # message id → what Discord answers instead

    async def publish(self, channel_id: int, message_id: int) -> None:
        if message_id in self.answers:
            raise self.answers.pop(message_id)
        if sum(1 for c, _ in self.published if c == channel_id) >= self.allowed:
            raise PublishLater(1800.0)
        self.published.append((channel_id, message_id))


async def pending(conn: Database, chapter: int, channel: int, message_ids: list[int]) -> None:
    """A released chapter whose parts (sent, with these ids) wait to be published."""
    await execute(conn, "INSERT INTO chapters(number, threadmark, title, content_hash)"
                       " VALUES (?, 'T', ?, 'h')", (chapter, f"Chapter {chapter}"))
    await execute(conn, "INSERT INTO releases(guild_id, chapter_number, channel_id, status, parts_total,"
                       " started_at) VALUES (?, ?, ?, 'done', ?, '2026-01-01T00:00:00.000Z')",
                       (GUILD, chapter, channel, len(message_ids)))
    for index, message_id in enumerate(message_ids):
        await release_log.record_intent(conn, GUILD, chapter, index, f"n{chapter}.{index}", channel)
        await release_log.mark_to_publish(conn, GUILD, chapter, index)
        await release_log.record_sent(conn, GUILD, chapter, index, message_id, "2026-01-01T00:00:01.000Z")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 3, 1, 12, 0, tzinfo=UTC))


async def test_publishes_what_discord_allows_then_waits_and_says_when(db, clock) -> None:
    discord = PacedDiscord(allowed=2)
    announcer = Announcer(db, discord, clock=clock)  # type: ignore[arg-type]
    await pending(db, 1, CHANNEL, [101, 102, 103])
    await announcer.publish_due()
    assert discord.published == [(CHANNEL, 101), (CHANNEL, 102)]
    waiting, eta = await announcer.backlog(GUILD)
    assert (waiting, eta) == (1, clock.now + timedelta(seconds=1800))
    await announcer.publish_due()  # still inside the wait: Discord is not asked again
    assert discord.published == [(CHANNEL, 101), (CHANNEL, 102)]
    assert await announcer._next_delay() == 1800.0
    clock.advance(seconds=1800)
    discord.allowed = 10
    await announcer.publish_due()
    assert discord.published[-1] == (CHANNEL, 103)
    assert await announcer.backlog(GUILD) == (0, None)


async def test_each_channel_waits_alone_and_a_long_backlog_takes_more_hours(db, clock) -> None:
    discord = PacedDiscord(allowed=0)
    announcer = Announcer(db, discord, clock=clock)  # type: ignore[arg-type]
    await pending(db, 1, CHANNEL, list(range(200, 225)))  # 25 parts: two more windows after this one
    await pending(db, 2, OTHER, [300])
    discord.allowed = 0
    await announcer.publish_due(CHANNEL)  # only the channel asked for
    waiting, eta = await announcer.backlog(GUILD)
    assert waiting == 26 and eta == clock.now + timedelta(seconds=1800) + timedelta(hours=2)
    discord.allowed = 1
    await announcer.publish_due()
    assert discord.published == [(OTHER, 300)]  # the other channel was not held up


async def test_discords_answers_settle_or_retry_a_part(db, clock) -> None:
    discord = PacedDiscord(allowed=10)
    announcer = Announcer(db, discord, clock=clock)  # type: ignore[arg-type]
    await pending(db, 1, CHANNEL, [1, 2, 3])
    await pending(db, 2, OTHER, [4])
    discord.answers = {1: AlreadyPublished("40033"), 2: MessageGone("10008"),
                       4: ReleaseForbidden("Send Messages")}
    await announcer.publish_due()
    assert discord.published == [(CHANNEL, 3)]
    assert [r.message_id for r in await release_log.pending_publishes(db)] == [4]  # 1 done, 2 dropped
    clock.advance(minutes=15)
    discord.answers = {4: PublishError("500")}
    await announcer.publish_due()
    assert [r.message_id for r in await release_log.pending_publishes(db)] == [4]
    clock.advance(minutes=1)
    await announcer.publish_due()
    assert discord.published[-1] == (OTHER, 4) and await release_log.pending_publishes(db) == []
    cur_rows = await fetch_all(db, "SELECT message_id, publish FROM release_parts ORDER BY message_id")
    assert [tuple(r) for r in cur_rows] == [(1, "done"), (2, "dropped"), (3, "done"),
                                                        (4, "done")]
