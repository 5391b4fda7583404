"""What each guild has released: the source of truth for spoiler safety.

Chapters are released in order, so a guild's released chapters are always 1..N; every feature that
shows story content asks `released_through` first and never looks past it.
"""

from __future__ import annotations

from dataclasses import dataclass

import aiosqlite


@dataclass(frozen=True)
class ReleasedChapter:
    number: int
    channel_id: int
    first_message_id: int | None
    thread_id: int | None
    completed_at: str | None


async def released_through(conn: aiosqlite.Connection, guild_id: int) -> int:
    """The highest chapter number this guild has fully released (0 when none)."""
    async with conn.execute(
        "SELECT COALESCE(MAX(chapter_number), 0) FROM releases WHERE guild_id = ? AND status = 'done'",
        (guild_id,),
    ) as cur:
        return (await cur.fetchone())[0]


async def released_chapters(conn: aiosqlite.Connection, guild_id: int) -> list[ReleasedChapter]:
    """The guild's completed releases in chapter order, with where their first message was posted."""
    sql = """
        SELECT r.chapter_number, r.channel_id, r.thread_id, r.completed_at,
               (SELECT p.message_id FROM release_parts p
                 WHERE p.guild_id = r.guild_id AND p.chapter_number = r.chapter_number AND p.part_index = 0)
                 AS first_message_id
          FROM releases r WHERE r.guild_id = ? AND r.status = 'done' ORDER BY r.chapter_number
    """
    async with conn.execute(sql, (guild_id,)) as cur:
        rows = await cur.fetchall()
    return [
        ReleasedChapter(r["chapter_number"], r["channel_id"], r["first_message_id"], r["thread_id"], r["completed_at"])
        for r in rows
    ]


async def chapter_for_message(conn: aiosqlite.Connection, message_id: int) -> tuple[int, int] | None:
    """(guild_id, chapter_number) of the release a posted message belongs to, or None."""
    async with conn.execute(
        "SELECT guild_id, chapter_number FROM release_parts WHERE message_id = ?", (message_id,)
    ) as cur:
        row = await cur.fetchone()
    return (row[0], row[1]) if row else None


def jump_url(guild_id: int, channel_id: int, message_id: int | None) -> str:
    """A link to a posted message (or to the channel when the message is unknown)."""
    base = f"https://discord.com/channels/{guild_id}/{channel_id}"
    return f"{base}/{message_id}" if message_id else base
