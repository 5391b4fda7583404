"""How far each member has read through the bot: the furthest page per chapter, and chapters finished.

Rows are per (server, member, chapter) and only ever move forward: turning back a page does not
"unread" the pages after it, so `/chapter continue` always opens where the member got to.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.storage.database import Database
from bot.storage.sql import execute, fetch_all


@dataclass(frozen=True)
class ChapterProgress:
    chapter_number: int
    pages_seen: int   # the furthest page reached (1-based), 0 when none
    finished: bool


async def record_page(conn: Database, guild_id: int, user_id: int, chapter: int, *,
                      page: int, pages: int, now: str) -> None:
    """Page `page` (0-based) of the chapter's `pages` was shown to the member; the last one finishes it."""
    seen = page + 1
    finished = int(seen >= pages)
    await execute(
        conn,
        "INSERT INTO reading_progress(guild_id, user_id, chapter_number, pages_seen, finished, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?)"
        " ON CONFLICT(guild_id, story_id, user_id, chapter_number) DO UPDATE SET"
        " pages_seen = MAX(reading_progress.pages_seen, excluded.pages_seen),"
        " finished = MAX(reading_progress.finished, excluded.finished), updated_at = excluded.updated_at",
        (guild_id, user_id, chapter, seen, finished, now))


async def mark_finished(conn: Database, guild_id: int, user_id: int, chapter: int, *,
                        now: str) -> None:
    """The member says they read the chapter (✅ Read under its release)."""
    await execute(
        conn,
        "INSERT INTO reading_progress(guild_id, user_id, chapter_number, pages_seen, finished, updated_at)"
        " VALUES (?, ?, ?, 0, 1, ?)"
        " ON CONFLICT(guild_id, story_id, user_id, chapter_number) DO UPDATE SET"
        " finished = 1, updated_at = excluded.updated_at",
        (guild_id, user_id, chapter, now))


async def progress_of(conn: Database, guild_id: int, user_id: int,
                      through: int) -> dict[int, ChapterProgress]:
    """The member's progress in chapters 1..through (the released ones: nothing later is looked at)."""
    rows = await fetch_all(
        conn, "SELECT chapter_number, pages_seen, finished FROM reading_progress"
              " WHERE guild_id = ? AND user_id = ? AND chapter_number <= ? ORDER BY chapter_number",
        (guild_id, user_id, through))
    return {r[0]: ChapterProgress(r[0], r[1], bool(r[2])) for r in rows}
