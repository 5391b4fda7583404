"""The story library (migration V14): the stories a database holds, and which one each server reads.

Story 1 is the one a database held before there were several (the shipped AAR on a fresh install); it
needs no set-up, and a server reads it until a moderator chooses another.  A story is named by its slug
(`aar-bot import FILE --story SLUG`), short and typed by hand: lower-case letters, digits and hyphens.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.storage.database import Database
from bot.storage.sql import execute, fetch_all, fetch_one, fetch_value

DEFAULT_STORY_ID = 1
SLUG = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?")  # 1-40 characters, no hyphen at either end
MAX_TITLE = 100  # characters: a story's title fits an autocomplete choice (Discord's limit is 100)


class BadSlug(ValueError):
    """A slug the library can't take; the message says what a slug may hold."""


@dataclass(frozen=True)
class StoryRecord:
    id: int
    slug: str
    title: str
    chapters: int


def check_slug(slug: str) -> str:
    """`slug` when it is one; BadSlug saying why not."""
    if not SLUG.fullmatch(slug):
        raise BadSlug(f"{slug!r} is not a story slug: 1 to 40 lower-case letters, digits and hyphens"
                      " (not at either end), e.g. 'red-star'")
    return slug


_SELECT = ("SELECT s.id, s.slug, s.title, (SELECT COUNT(*) FROM chapters c WHERE c.story_id = s.id)"
           " FROM stories s")


async def list_stories(conn: Database) -> list[StoryRecord]:
    """Every story, in the order they were added."""
    rows = await fetch_all(conn, _SELECT + " ORDER BY s.id")
    return [StoryRecord(int(r[0]), r[1], r[2], int(r[3])) for r in rows]


async def story_by_slug(conn: Database, slug: str) -> StoryRecord | None:
    row = await fetch_one(conn, _SELECT + " WHERE s.slug = ?", (slug,))
    return StoryRecord(int(row[0]), row[1], row[2], int(row[3])) if row else None


async def story_by_id(conn: Database, story_id: int) -> StoryRecord | None:
    row = await fetch_one(conn, _SELECT + " WHERE s.id = ?", (story_id,))
    return StoryRecord(int(row[0]), row[1], row[2], int(row[3])) if row else None


async def create_story(conn: Database, slug: str, title: str) -> StoryRecord:
    """A new, empty story (the caller checked that the slug is free, in its transaction)."""
    check_slug(slug)
    story_id = int(await fetch_value(conn, "INSERT INTO stories(slug, title) VALUES (?, ?) RETURNING id",
                                     (slug, title.strip()[:MAX_TITLE] or slug)))
    return StoryRecord(story_id, slug, title.strip()[:MAX_TITLE] or slug, 0)


async def rename_story(conn: Database, story_id: int, title: str) -> None:
    await execute(conn, "UPDATE stories SET title = ? WHERE id = ?", (title.strip()[:MAX_TITLE], story_id))


async def forget_empty_story(conn: Database, story_id: int) -> None:
    """Remove a story that holds nothing (one added for an import that failed); never the first one."""
    await execute(conn, "DELETE FROM stories WHERE id = ? AND id != ? AND NOT EXISTS"
                        " (SELECT 1 FROM chapters WHERE story_id = ?) AND NOT EXISTS"
                        " (SELECT 1 FROM guild_settings WHERE story_id = ?)",
                  (story_id, DEFAULT_STORY_ID, story_id, story_id))


async def servers_reading(conn: Database) -> dict[int, int]:
    """story id → how many servers read it (servers that never chose read the first story)."""
    rows = await fetch_all(conn, "SELECT story_id, COUNT(*) FROM guild_settings GROUP BY story_id")
    return {int(r[0]): int(r[1]) for r in rows}


async def guild_story_id(conn: Database, guild_id: int) -> int:
    """The story the server reads (story 1 until a moderator chose another)."""
    row = await fetch_one(conn, "SELECT story_id FROM guild_settings WHERE guild_id = ?", (guild_id,))
    return int(row[0]) if row else DEFAULT_STORY_ID
