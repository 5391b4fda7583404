"""Shared test helpers that are not fixtures."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

from bot.storage.database import Database
from bot.storage.sql import execute, fetch_all

SEED_CHAPTERS = 6


async def mark_released(conn: Database, guild_id: int, through: int, *, channel_id: int = 1000,
                        first_message_id: int = 900_000) -> None:
    """Record chapters 1..through as released in `guild_id` without Discord, for tests of other features.

    Each chapter gets one part; message ids are unique per (guild, chapter): see the expression below.
    """
    for number in range(1, through + 1):
        await execute(
            conn,
            "INSERT INTO releases(guild_id, chapter_number, channel_id, status, parts_total,"
            " started_at, completed_at)"
            " VALUES (?, ?, ?, 'done', 1, '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')"
            " ON CONFLICT (guild_id, story_id, chapter_number)"
            " DO UPDATE SET channel_id = excluded.channel_id,"
            " status = 'done', parts_total = 1, completed_at = excluded.completed_at",
            (guild_id, number, channel_id),
        )
        await execute(
            conn,
            "INSERT INTO release_parts(guild_id, chapter_number, part_index, nonce, message_id,"
            " channel_id, sent_at) VALUES (?, ?, 0, ?, ?, ?, '2026-01-01T00:00:00Z')"
            " ON CONFLICT (guild_id, story_id, chapter_number, part_index)"
            " DO UPDATE SET nonce = excluded.nonce,"
            " message_id = excluded.message_id, channel_id = excluded.channel_id, sent_at = excluded.sent_at",
            (guild_id, number, f"test-{guild_id}-{number}", first_message_id + number + guild_id % 1000 * 100,
             channel_id),
        )


async def table_names(conn: Database) -> list[str]:
    """Every table of the database, by name (the search index as the tables that hold it: SQLite's FTS5
    virtual table through its shadow tables, which are listed as tables)."""
    if conn.backend == "sqlite":
        sql = ("SELECT name FROM sqlite_master WHERE type = 'table' AND sql NOT LIKE 'CREATE VIRTUAL TABLE%'"
               " ORDER BY name")
    else:
        sql = "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
    return [row[0] for row in await fetch_all(conn, sql)]


async def schedules_checked(bot: Any, within: float = 10.0) -> list[Any]:
    """Wake the bot's schedule loop and wait for a check that used the bot's clock as it is now.

    The loop announces each check with the `schedules_checked(now, fired)` event; returns what it fired.
    The waiter is registered before the loop is woken, so the check cannot be missed.
    """
    now = bot.clock()
    waiter = asyncio.ensure_future(bot.wait_for("schedules_checked", check=lambda at, _fired: at >= now,
                                                timeout=within))
    bot.get_cog("Schedule").wake()
    _at, fired = await waiter
    return list(fired)


class FakeClock:
    """The bot's `clock` (`bot_factory(clock=...)`): time moves only when the test says so."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


# `/chapter next` says "going out now" / "queued" with this, then edits in the outcome.
PENDING_ANSWER = "I'll change this message to the jump link"


async def final_answer(record: Any, timeout: float = 20.0) -> dict[str, Any]:  # noqa: ASYNC109
    """The answer's message once it is final: a deferred answer's follow-up or its last edit (for
    `/chapter next`, the outcome that replaces "going out now" / "queued"); else the answer itself."""
    await record.wait_response(timeout=5)

    def final() -> bool:
        if record.followup_ids:
            return True
        return record.edited and PENDING_ANSWER not in (record.message or {}).get("content", "")

    if record.acknowledged_with == 5:
        await record.fake.wait_for(final, timeout=timeout)
        if record.followup_ids:
            return record.followups[-1]
    return record.message or {}


async def release_chapters(fake: Any, setup: Any, count: int) -> None:
    """Release chapters 1..count in `setup`'s story channel through `/chapter next`, as its moderator."""
    for number in range(1, count + 1):
        record = await fake.invoke("chapter next", guild=setup.guild, channel=setup.story,
                                   member=setup.moderator)
        answer = await final_answer(record)
        assert f"Released chapter {number} of {SEED_CHAPTERS}" in answer["content"], answer["content"]


STORY_TABLES = ("chapters", "blocks", "forum_reactions", "comments", "imports")


async def import_into_old_schema(conn: Database) -> None:
    """Fill `conn`, a SQLite database migrated only part of the way, with the shipped story as the release
    of its version imported it: imported by today's code into a scratch database, then copied over, column
    by column as far as the old schema has them (today's importer writes today's keys)."""
    from bot.config import SHIPPED_THREAD
    from bot.storage import open_database
    from bot.story.importer import import_file

    scratch = await open_database(":memory:")
    try:
        await import_file(scratch, SHIPPED_THREAD)
        for table in STORY_TABLES:
            old = [row[1] for row in await fetch_all(conn, f"SELECT * FROM pragma_table_info('{table}')")]
            rows = await fetch_all(scratch, f"SELECT {', '.join(old)} FROM {table}")
            marks = ", ".join("?" * len(old))
            for row in rows:
                await execute(conn, f"INSERT INTO {table}({', '.join(old)}) VALUES ({marks})", tuple(row))
    finally:
        await scratch.close()


CUT = "The author cut this passage."
FILLER = " ".join(["The author came back to this chapter and wrote more about the winter near Madrid."] * 20)


def edited_thread(seed: str, *, longer: int = 8) -> str:
    """The shipped thread `seed` as the author edited it: chapter 1 cut short (its paragraphs after the first
    replaced by `CUT`: three messages' worth to one) and chapter 2 made longer (`longer` paragraphs of
    `FILLER` at its end: two messages to four with the default)."""
    from bot.story.importer import parse_export

    story = parse_export(seed, "seed")
    first = [b.text for b in story.chapters[0].story_blocks if b.kind == "paragraph"]
    second = [b.text for b in story.chapters[1].story_blocks if b.kind == "paragraph"]
    text = seed.replace(second[-1], "\n\n".join([second[-1]] + [FILLER] * longer), 1)
    for paragraph in first[1:]:
        text = text.replace(paragraph, CUT, 1)
    return text
