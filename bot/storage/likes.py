"""SQL for likes: reaction rows, custom emoji names, hall-of-fame posts, and the release messages they key on.

Writes (`insert_reactions` … `replace_message_reactions`) are called by the ingest's single writer inside
its own transaction; reads take `through` (the guild's `released_through`) so nothing past it is counted.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import aiosqlite

# A reaction row in key order: (guild_id, chapter_number, emoji, user_id, message_id).
ReactionRow = tuple[int, int, str, int, int]

_MAX_PARAMS = 900  # below SQLite's default limit of 999 host parameters on old builds


# --- release messages ------------------------------------------------------------------------------

async def release_message_map(conn: aiosqlite.Connection,
                              message_ids: Iterable[int] | None = None) -> dict[int, tuple[int, int]]:
    """message id → (guild_id, chapter_number) for posted release parts (all of them, or just these ids)."""
    if message_ids is None:
        sql, params = "SELECT message_id, guild_id, chapter_number FROM release_parts WHERE message_id IS NOT NULL", ()
        async with conn.execute(sql, params) as cur:
            return {r[0]: (r[1], r[2]) for r in await cur.fetchall()}
    found: dict[int, tuple[int, int]] = {}
    ids = list(message_ids)
    for start in range(0, len(ids), _MAX_PARAMS):
        chunk = ids[start:start + _MAX_PARAMS]
        sql = ("SELECT message_id, guild_id, chapter_number FROM release_parts"
               f" WHERE message_id IN ({', '.join('?' * len(chunk))})")
        async with conn.execute(sql, chunk) as cur:
            found.update({r[0]: (r[1], r[2]) for r in await cur.fetchall()})
    return found


@dataclass(frozen=True)
class ReleasePart:
    """A posted part of a completed release, as the reconciliation at start needs it."""

    guild_id: int
    chapter_number: int
    part_index: int
    channel_id: int
    message_id: int
    completed_at: str | None


async def release_parts_of(conn: aiosqlite.Connection, guild_id: int) -> list[ReleasePart]:
    """The guild's posted parts of completed releases, newest chapter first."""
    sql = """
        SELECT p.guild_id, p.chapter_number, p.part_index, p.channel_id, p.message_id, r.completed_at
          FROM release_parts p JOIN releases r ON r.guild_id = p.guild_id AND r.chapter_number = p.chapter_number
         WHERE p.guild_id = ? AND r.status = 'done' AND p.message_id IS NOT NULL
         ORDER BY p.chapter_number DESC, p.part_index
    """
    async with conn.execute(sql, (guild_id,)) as cur:
        return [ReleasePart(*row) for row in await cur.fetchall()]


# --- writes (inside the ingest writer's transaction) ------------------------------------------------

async def insert_reactions(conn: aiosqlite.Connection, rows: Sequence[ReactionRow]) -> None:
    if rows:
        await conn.executemany(
            "INSERT OR IGNORE INTO reactions(guild_id, chapter_number, emoji, user_id, message_id)"
            " VALUES (?, ?, ?, ?, ?)", rows)


async def delete_reactions(conn: aiosqlite.Connection, rows: Sequence[ReactionRow]) -> None:
    if rows:
        await conn.executemany(
            "DELETE FROM reactions WHERE guild_id = ? AND chapter_number = ? AND emoji = ? AND user_id = ?"
            " AND message_id = ?", rows)


async def clear_message(conn: aiosqlite.Connection, guild_id: int, chapter: int, message_id: int,
                        emoji: str | None = None) -> None:
    """Remove every reaction on a message (or only those with `emoji`)."""
    if emoji is None:
        await conn.execute("DELETE FROM reactions WHERE guild_id = ? AND chapter_number = ? AND message_id = ?",
                           (guild_id, chapter, message_id))
    else:
        await conn.execute(
            "DELETE FROM reactions WHERE guild_id = ? AND chapter_number = ? AND emoji = ? AND message_id = ?",
            (guild_id, chapter, emoji, message_id))


async def message_reactions(conn: aiosqlite.Connection, guild_id: int, chapter: int,
                            message_id: int) -> set[tuple[int, str]]:
    """(user_id, emoji) pairs stored for one message."""
    async with conn.execute(
        "SELECT user_id, emoji FROM reactions WHERE guild_id = ? AND chapter_number = ? AND message_id = ?",
        (guild_id, chapter, message_id),
    ) as cur:
        return {(r[0], r[1]) for r in await cur.fetchall()}


async def save_emoji_names(conn: aiosqlite.Connection, names: dict[str, tuple[str, bool]]) -> None:
    if names:
        await conn.executemany(
            "INSERT INTO reaction_emojis(emoji, name, animated) VALUES (?, ?, ?)"
            " ON CONFLICT(emoji) DO UPDATE SET name = excluded.name, animated = excluded.animated",
            [(key, name, int(animated)) for key, (name, animated) in names.items()])


# --- reads -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ChapterRow:
    number: int
    title: str
    forum_likes: int
    threadmark: str = ""


async def chapters_through(conn: aiosqlite.Connection, through: int) -> list[ChapterRow]:
    """Chapters 1..through (titles, threadmarks and forum likes), in order.

    One row each from the chapters table alone: cheap enough for every autocomplete keystroke, unlike
    `list_chapters`, whose per-chapter statistics scan every block of the story.
    """
    async with conn.execute(
        "SELECT number, title, forum_likes, threadmark FROM chapters WHERE number <= ? ORDER BY number",
        (through,),
    ) as cur:
        return [ChapterRow(r[0], r[1], r[2], r[3]) for r in await cur.fetchall()]


async def chapter_row(conn: aiosqlite.Connection, number: int) -> ChapterRow | None:
    """One chapter's title and forum likes (None if the story has no such chapter)."""
    async with conn.execute("SELECT number, title, forum_likes, threadmark FROM chapters WHERE number = ?",
                            (number,)) as cur:
        row = await cur.fetchone()
    return ChapterRow(row[0], row[1], row[2], row[3]) if row else None


async def discord_likes(conn: aiosqlite.Connection, guild_id: int, through: int,
                        like_keys: Sequence[str], chapter: int | None = None) -> dict[int, int]:
    """chapter → distinct members who reacted with a like key, for chapters ≤ through (or one chapter)."""
    marks = ", ".join("?" * len(like_keys))
    sql = (f"SELECT chapter_number, COUNT(DISTINCT user_id) FROM reactions"
           f" WHERE guild_id = ? AND chapter_number <= ? AND emoji IN ({marks})")
    params: list[object] = [guild_id, through, *like_keys]
    if chapter is not None:
        sql += " AND chapter_number = ?"
        params.append(chapter)
    async with conn.execute(sql + " GROUP BY chapter_number", params) as cur:
        return {r[0]: r[1] for r in await cur.fetchall()}


async def emoji_tally(conn: aiosqlite.Connection, guild_id: int, chapter: int) -> dict[str, int]:
    """emoji → distinct members who reacted with it on any part of the chapter."""
    async with conn.execute(
        "SELECT emoji, COUNT(DISTINCT user_id) FROM reactions WHERE guild_id = ? AND chapter_number = ?"
        " GROUP BY emoji", (guild_id, chapter),
    ) as cur:
        return {r[0]: r[1] for r in await cur.fetchall()}


async def emoji_names(conn: aiosqlite.Connection, keys: Iterable[str]) -> dict[str, tuple[str, bool]]:
    wanted = [k for k in keys if k.startswith("custom:")]
    if not wanted:
        return {}
    async with conn.execute(
        "SELECT emoji, name, animated FROM reaction_emojis WHERE emoji IN (SELECT value FROM json_each(?))",
        (json.dumps(wanted),),
    ) as cur:
        return {r[0]: (r[1], bool(r[2])) for r in await cur.fetchall()}


@dataclass(frozen=True)
class ReaderRow:
    user_id: int
    chapters: int
    reactions: int


async def top_reactors(conn: aiosqlite.Connection, guild_id: int, through: int, limit: int) -> list[ReaderRow]:
    """Members by chapters reacted to, then distinct (chapter, emoji) reactions, for chapters ≤ through."""
    sql = """
        SELECT user_id, COUNT(DISTINCT chapter_number) AS chapters,
               COUNT(DISTINCT chapter_number || ' ' || emoji) AS reactions
          FROM reactions WHERE guild_id = ? AND chapter_number <= ?
         GROUP BY user_id ORDER BY chapters DESC, reactions DESC, user_id LIMIT ?
    """
    async with conn.execute(sql, (guild_id, through, limit)) as cur:
        return [ReaderRow(r[0], r[1], r[2]) for r in await cur.fetchall()]


# --- hall of fame ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class HallOfFamePost:
    guild_id: int
    chapter_number: int
    channel_id: int
    message_id: int | None
    shown_total: int
    shown_discord: int


async def get_hall_of_fame_post(conn: aiosqlite.Connection, guild_id: int, chapter: int) -> HallOfFamePost | None:
    async with conn.execute(
        "SELECT guild_id, chapter_number, channel_id, message_id, shown_total, shown_discord"
        " FROM hall_of_fame_posts WHERE guild_id = ? AND chapter_number = ?", (guild_id, chapter),
    ) as cur:
        row = await cur.fetchone()
    return HallOfFamePost(*row) if row else None


async def save_hall_of_fame_post(conn: aiosqlite.Connection, post: HallOfFamePost, now: str) -> None:
    """Record a post just made, or the counts an edit now shows, or (message_id None) that it is gone."""
    await conn.execute(
        "INSERT INTO hall_of_fame_posts(guild_id, chapter_number, channel_id, message_id, shown_total,"
        " shown_discord, posted_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT(guild_id, chapter_number) DO UPDATE SET channel_id = excluded.channel_id,"
        " message_id = excluded.message_id, shown_total = excluded.shown_total,"
        " shown_discord = excluded.shown_discord, updated_at = excluded.updated_at",
        (post.guild_id, post.chapter_number, post.channel_id, post.message_id, post.shown_total,
         post.shown_discord, now, now),
    )
    await conn.commit()
