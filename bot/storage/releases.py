"""What each guild has released: the source of truth for spoiler safety.

Chapters are released in order, so a guild's released chapters are always 1..N; every feature that
shows story content asks `released_through` first and never looks past it.  Also here: the posted
messages of releases, which likes are counted on.  Writing releases is the publisher's, in
`bot.storage.release_log`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bot.storage.database import Database
from bot.storage.sql import fetch_all, fetch_row, fetch_value
from bot.storage.stories import DEFAULT_STORY_ID

_MAX_PARAMS = 900  # below SQLite's default limit of 999 host parameters on old builds


@dataclass(frozen=True)
class ReleasedChapter:
    number: int
    channel_id: int
    first_message_id: int | None
    thread_id: int | None
    completed_at: str | None


@dataclass(frozen=True)
class ReleasePart:
    """A posted part of a completed release, as the reconciliation at start needs it."""

    guild_id: int
    chapter_number: int
    part_index: int
    channel_id: int
    message_id: int
    completed_at: str | None


async def released_through(conn: Database, guild_id: int) -> int:
    """The highest chapter number this guild has fully released (0 when none)."""
    return int(await fetch_value(
        conn, "SELECT COALESCE(MAX(chapter_number), 0) FROM releases WHERE guild_id = ? AND status = 'done'",
        (guild_id,),
    ))


async def released_chapters(conn: Database, guild_id: int) -> list[ReleasedChapter]:
    """The guild's completed releases in chapter order, with where their first message was posted."""
    sql = """
        SELECT r.chapter_number, r.thread_id, r.completed_at,
               (SELECT p.message_id FROM release_parts p
                 WHERE p.guild_id = r.guild_id AND p.chapter_number = r.chapter_number AND p.part_index = 0)
                 AS first_message_id,
               -- where the first message is: the release's channel, or a forum release's post
               COALESCE((SELECT p.channel_id FROM release_parts p WHERE p.guild_id = r.guild_id
                           AND p.chapter_number = r.chapter_number AND p.part_index = 0), r.channel_id)
                 AS channel_id
          FROM releases r WHERE r.guild_id = ? AND r.status = 'done' ORDER BY r.chapter_number
    """
    return [
        ReleasedChapter(r["chapter_number"], r["channel_id"], r["first_message_id"], r["thread_id"],
                        r["completed_at"])
        for r in await fetch_all(conn, sql, (guild_id,))
    ]


async def release_message_map(conn: Database,
                              message_ids: Iterable[int]) -> dict[int, tuple[int, int]]:
    """message id → (guild_id, chapter_number) for those of these messages that are posted release parts.

    Looked up through `release_parts_by_message` (unique, on message_id where it is not NULL).
    """
    found: dict[int, tuple[int, int]] = {}
    ids = list(message_ids)
    for start in range(0, len(ids), _MAX_PARAMS):
        chunk = ids[start:start + _MAX_PARAMS]
        sql = ("SELECT message_id, guild_id, chapter_number FROM release_parts"
               f" WHERE message_id IN ({', '.join('?' * len(chunk))})")
        found.update({r[0]: (r[1], r[2]) for r in await fetch_all(conn, sql, chunk)})
    return found


async def release_parts_of(conn: Database, guild_id: int, *, completed_since: str | None = None,
                           limit: int = -1) -> list[ReleasePart]:
    """The guild's posted parts of completed releases, newest chapter first.

    `completed_since` (a `bot.timestamps` instant): only releases completed then or later; `limit`: at
    most that many parts (read in the primary key's order, so a long history is not read at all).
    """
    since = "" if completed_since is None else " AND r.completed_at >= ?"
    most = "" if limit < 0 else " LIMIT ?"
    sql = f"""
        SELECT p.guild_id, p.chapter_number, p.part_index, p.channel_id, p.message_id, r.completed_at
          FROM release_parts p
          JOIN releases r ON r.guild_id = p.guild_id AND r.chapter_number = p.chapter_number
         WHERE p.guild_id = ? AND r.status = 'done' AND p.message_id IS NOT NULL{since}
         ORDER BY p.chapter_number DESC, p.part_index{most}
    """
    params: list[object] = [guild_id]
    if completed_since is not None:
        params.append(completed_since)
    if limit >= 0:
        params.append(limit)
    rows = await fetch_all(conn, sql, params)
    return [ReleasePart(*row) for row in rows]


@dataclass(frozen=True)
class ReleaseState:
    """Where a guild's releases stand, read in one query (`/chapter next` answers within 3 seconds)."""

    chapters: int  # imported
    last_claimed: int  # the highest chapter started, done or not (0 when none)
    unfinished: int  # releases started and not done


async def release_state(conn: Database, guild_id: int, story: int = DEFAULT_STORY_ID) -> ReleaseState:
    row = await fetch_row(
        conn, "SELECT (SELECT COUNT(*) FROM chapters WHERE story_id = ?),"
        " (SELECT COALESCE(MAX(chapter_number), 0) FROM releases WHERE guild_id = ? AND story_id = ?),"
        " (SELECT COUNT(*) FROM releases WHERE guild_id = ? AND story_id = ? AND status = 'in_progress')",
        (story, guild_id, story, guild_id, story))
    return ReleaseState(int(row[0]), int(row[1]), int(row[2]))


def jump_url(guild_id: int, channel_id: int, message_id: int | None) -> str:
    """A link to a posted message (or to the channel when the message is unknown)."""
    base = f"https://discord.com/channels/{guild_id}/{channel_id}"
    return f"{base}/{message_id}" if message_id else base
