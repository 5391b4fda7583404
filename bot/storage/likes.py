"""SQL for likes (migration V5 tables): reaction rows, custom emoji names, hall-of-fame posts.

Writes (`insert_reactions` … `save_emoji_names`) are called by the ingest's single writer inside its
transaction, on its own connection; reads take `through` (the guild's `released_through`) so nothing past
it is counted.  The chapters and release messages likes are counted on are read from `bot.storage.story`
and `bot.storage.releases`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bot.storage.database import Database
from bot.storage.sql import execute, execute_many, fetch_all, fetch_one

# A reaction row in key order: (guild_id, chapter_number, emoji, user_id, message_id).
ReactionRow = tuple[int, int, str, int, int]
EMOJI_BATCH = 500  # custom emoji names per query (SQLite takes 32,766 parameters, PostgreSQL 65,535)


# --- writes (inside the ingest writer's transaction) ------------------------------------------------

async def insert_reactions(conn: Database, rows: Sequence[ReactionRow]) -> None:
    if rows:
        await execute_many(
            conn,
            "INSERT INTO reactions(guild_id, chapter_number, emoji, user_id, message_id)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING", rows)


async def delete_reactions(conn: Database, rows: Sequence[ReactionRow]) -> None:
    if rows:
        await execute_many(
            conn,
            "DELETE FROM reactions WHERE guild_id = ? AND chapter_number = ? AND emoji = ? AND user_id = ?"
            " AND message_id = ?", rows)


async def clear_message(conn: Database, guild_id: int, chapter: int, message_id: int,
                        emoji: str | None = None) -> None:
    """Remove every reaction on a message (or only those with `emoji`)."""
    if emoji is None:
        await execute(conn, "DELETE FROM reactions WHERE guild_id = ? AND chapter_number = ?"
                      " AND message_id = ?", (guild_id, chapter, message_id))
    else:
        await execute(
            conn,
            "DELETE FROM reactions WHERE guild_id = ? AND chapter_number = ? AND emoji = ?"
            " AND message_id = ?", (guild_id, chapter, emoji, message_id))


async def message_reactions(conn: Database, guild_id: int, chapter: int,
                            message_id: int) -> set[tuple[int, str]]:
    """(user_id, emoji) pairs stored for one message."""
    rows = await fetch_all(
        conn,
        "SELECT user_id, emoji FROM reactions WHERE guild_id = ? AND chapter_number = ? AND message_id = ?",
        (guild_id, chapter, message_id),
    )
    return {(r[0], r[1]) for r in rows}


async def save_emoji_names(conn: Database, names: dict[str, tuple[str, bool]]) -> None:
    if names:
        await execute_many(
            conn,
            "INSERT INTO reaction_emojis(emoji, name, animated) VALUES (?, ?, ?)"
            " ON CONFLICT(emoji) DO UPDATE SET name = excluded.name, animated = excluded.animated",
            [(key, name, int(animated)) for key, (name, animated) in names.items()])


# --- reads -------------------------------------------------------------------------------------------

async def discord_likes(conn: Database, guild_id: int, through: int,
                        like_keys: Sequence[str], chapter: int | None = None) -> dict[int, int]:
    """chapter → distinct members who reacted with a like key, for chapters ≤ through (or one chapter)."""
    marks = ", ".join("?" * len(like_keys))
    sql = (f"SELECT chapter_number, COUNT(DISTINCT user_id) FROM reactions"
           f" WHERE guild_id = ? AND chapter_number <= ? AND emoji IN ({marks})")
    params: list[object] = [guild_id, through, *like_keys]
    if chapter is not None:
        sql += " AND chapter_number = ?"
        params.append(chapter)
    return {r[0]: r[1] for r in await fetch_all(conn, sql + " GROUP BY chapter_number", params)}


async def emoji_tally(conn: Database, guild_id: int, chapter: int) -> dict[str, int]:
    """emoji → distinct members who reacted with it on any part of the chapter."""
    rows = await fetch_all(
        conn,
        "SELECT emoji, COUNT(DISTINCT user_id) FROM reactions WHERE guild_id = ? AND chapter_number = ?"
        " GROUP BY emoji", (guild_id, chapter),
    )
    return {r[0]: r[1] for r in rows}


async def emoji_names(conn: Database, keys: Iterable[str]) -> dict[str, tuple[str, bool]]:
    wanted = [k for k in keys if k.startswith("custom:")]
    if not wanted:
        return {}
    found: dict[str, tuple[str, bool]] = {}
    for start in range(0, len(wanted), EMOJI_BATCH):
        batch = wanted[start:start + EMOJI_BATCH]
        marks = ", ".join("?" * len(batch))
        rows = await fetch_all(
            conn, f"SELECT emoji, name, animated FROM reaction_emojis WHERE emoji IN ({marks})", batch)
        found.update((r[0], (r[1], bool(r[2]))) for r in rows)
    return found


@dataclass(frozen=True)
class ReaderRow:
    user_id: int
    chapters: int
    reactions: int


async def top_reactors(conn: Database, guild_id: int, through: int,
                       limit: int) -> list[ReaderRow]:
    """Members by chapters reacted to, then distinct (chapter, emoji) reactions, for chapters ≤ through."""
    sql = """
        SELECT user_id, COUNT(DISTINCT chapter_number) AS chapters,
               COUNT(DISTINCT chapter_number || ' ' || emoji) AS reactions
          FROM reactions WHERE guild_id = ? AND chapter_number <= ?
         GROUP BY user_id ORDER BY chapters DESC, reactions DESC, user_id LIMIT ?
    """
    return [ReaderRow(r[0], r[1], r[2]) for r in await fetch_all(conn, sql, (guild_id, through, limit))]


# --- hall of fame ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class HallOfFamePost:
    guild_id: int
    chapter_number: int
    channel_id: int
    message_id: int | None
    shown_total: int
    shown_discord: int


async def get_hall_of_fame_post(conn: Database, guild_id: int,
                                chapter: int) -> HallOfFamePost | None:
    row = await fetch_one(
        conn,
        "SELECT guild_id, chapter_number, channel_id, message_id, shown_total, shown_discord"
        " FROM hall_of_fame_posts WHERE guild_id = ? AND chapter_number = ?", (guild_id, chapter),
    )
    return HallOfFamePost(*row) if row else None


async def save_hall_of_fame_post(conn: Database, post: HallOfFamePost, now: str) -> None:
    """Record a post just made, or the counts an edit now shows, or (message_id None) that it is gone.

    `now` is a `bot.timestamps` instant.
    """
    await execute(
        conn,
        "INSERT INTO hall_of_fame_posts(guild_id, chapter_number, channel_id, message_id, shown_total,"
        " shown_discord, posted_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT(guild_id, story_id, chapter_number) DO UPDATE SET channel_id = excluded.channel_id,"
        " message_id = excluded.message_id, shown_total = excluded.shown_total,"
        " shown_discord = excluded.shown_discord, updated_at = excluded.updated_at",
        (post.guild_id, post.chapter_number, post.channel_id, post.message_id, post.shown_total,
         post.shown_discord, now, now),
    )


# --- the offline reconciliation's cursor (V12) -------------------------------------------------------

async def reconcile_cursor(conn: Database) -> int | None:
    """The server the reactions reconciliation read last (None: it never ran)."""
    row = await fetch_one(conn, "SELECT last_guild_id FROM likes_reconcile_cursor WHERE id = 1")
    return int(row[0]) if row else None


async def save_reconcile_cursor(conn: Database, guild_id: int, now: str) -> None:
    """Remember that the reconciliation read `guild_id` last (`now`: a `bot.timestamps` instant)."""
    await execute(
        conn,
        "INSERT INTO likes_reconcile_cursor(id, last_guild_id, updated_at) VALUES (1, ?, ?)"
        " ON CONFLICT(id) DO UPDATE SET last_guild_id = excluded.last_guild_id,"
        " updated_at = excluded.updated_at", (guild_id, now))
