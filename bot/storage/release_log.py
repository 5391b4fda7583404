"""The release journal the publisher writes: a release's plan, and each part as it is attempted and sent.

Every write is one autocommitted statement (forgetting a release is one transaction), ordered so that a
crash between any two of them leaves a state the publisher resumes from without sending anything twice:

    claim (release row with its payloads) → per part: intent (part row, nonce, no message id)
    → Discord call → sent (message id) … → thread id → done

A part row without a message id means "Discord may or may not have accepted it": the publisher looks
before sending again, and Discord's `enforce_nonce` turns a repeat into a no-op anyway.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

import aiosqlite

from bot.storage.sql import execute, fetch_all, fetch_one, fetch_value
from bot.storage.transaction import transaction


@dataclass(frozen=True)
class ReleaseRow:
    guild_id: int
    chapter_number: int
    channel_id: int
    status: str
    parts_total: int
    thread_id: int | None
    started_at: str
    payloads: list[dict[str, Any]]
    thread_name: str | None
    schedule_id: int | None
    schedule_slot: str | None


@dataclass(frozen=True)
class PartRow:
    part_index: int
    nonce: str
    message_id: int | None
    channel_id: int


_RELEASE_COLUMNS = ("guild_id, chapter_number, channel_id, status, parts_total, thread_id, started_at,"
                    " payloads, thread_name, schedule_id, schedule_slot")


def _release(r: aiosqlite.Row) -> ReleaseRow:
    return ReleaseRow(
        guild_id=r["guild_id"], chapter_number=r["chapter_number"], channel_id=r["channel_id"],
        status=r["status"],
        parts_total=r["parts_total"], thread_id=r["thread_id"], started_at=r["started_at"],
        payloads=json.loads(r["payloads"]) if r["payloads"] else [], thread_name=r["thread_name"],
        schedule_id=r["schedule_id"], schedule_slot=r["schedule_slot"],
    )


async def get_release(conn: aiosqlite.Connection, guild_id: int, chapter: int) -> ReleaseRow | None:
    row = await fetch_one(
        conn, f"SELECT {_RELEASE_COLUMNS} FROM releases WHERE guild_id = ? AND chapter_number = ?",
        (guild_id, chapter))
    return _release(row) if row else None


async def unfinished_releases(conn: aiosqlite.Connection, guild_id: int | None = None) -> list[ReleaseRow]:
    """Releases started but not done (all guilds when `guild_id` is None), in guild then chapter order."""
    where, params = ("AND guild_id = ?", (guild_id,)) if guild_id is not None else ("", ())
    rows = await fetch_all(
        conn, f"SELECT {_RELEASE_COLUMNS} FROM releases WHERE status = 'in_progress' {where}"
        " ORDER BY guild_id, chapter_number", params,
    )
    return [_release(r) for r in rows]


async def last_claimed_chapter(conn: aiosqlite.Connection, guild_id: int) -> int:
    """The highest chapter this guild has started releasing, done or not (0 when none)."""
    return int(await fetch_value(
        conn, "SELECT COALESCE(MAX(chapter_number), 0) FROM releases WHERE guild_id = ?", (guild_id,)))


async def claim_release(conn: aiosqlite.Connection, *, guild_id: int, chapter: int, channel_id: int,
                        payloads: list[dict[str, Any]], thread_name: str | None, started_at: str,
                        schedule_id: int | None = None, schedule_slot: str | None = None) -> bool:
    """Start a release with its fixed plan; False when the chapter or the schedule slot was already claimed.

    `started_at` and `schedule_slot` are `bot.timestamps` instants: a slot is recognised by equal text.
    """
    try:
        await execute(
            conn,
            "INSERT INTO releases(guild_id, chapter_number, channel_id, status, parts_total, started_at,"
            " payloads, thread_name, schedule_id, schedule_slot)"
            " VALUES (?, ?, ?, 'in_progress', ?, ?, ?, ?, ?, ?)",
            (guild_id, chapter, channel_id, len(payloads), started_at,
             json.dumps(payloads, ensure_ascii=False), thread_name, schedule_id, schedule_slot),
        )
    except sqlite3.IntegrityError:
        return False
    return True


async def slot_claimed(conn: aiosqlite.Connection, schedule_id: int, slot: str) -> bool:
    """Whether a release was started for this schedule slot (a `bot.timestamps` instant)."""
    row = await fetch_one(conn, "SELECT 1 FROM releases WHERE schedule_id = ? AND schedule_slot = ?",
                          (schedule_id, slot))
    return row is not None


async def parts(conn: aiosqlite.Connection, guild_id: int, chapter: int) -> dict[int, PartRow]:
    rows = await fetch_all(
        conn, "SELECT part_index, nonce, message_id, channel_id FROM release_parts"
        " WHERE guild_id = ? AND chapter_number = ? ORDER BY part_index", (guild_id, chapter),
    )
    return {r["part_index"]: PartRow(r["part_index"], r["nonce"], r["message_id"], r["channel_id"])
            for r in rows}


async def record_intent(conn: aiosqlite.Connection, guild_id: int, chapter: int, index: int, nonce: str,
                        channel_id: int) -> None:
    """Note that part `index` is about to be sent with `nonce` (before Discord sees it)."""
    await execute(
        conn,
        "INSERT OR IGNORE INTO release_parts(guild_id, chapter_number, part_index, nonce, channel_id)"
        " VALUES (?, ?, ?, ?, ?)", (guild_id, chapter, index, nonce, channel_id),
    )


async def record_sent(conn: aiosqlite.Connection, guild_id: int, chapter: int, index: int, message_id: int,
                      sent_at: str) -> None:
    await execute(
        conn,
        "UPDATE release_parts SET message_id = ?, sent_at = ? WHERE guild_id = ? AND chapter_number = ?"
        " AND part_index = ?", (message_id, sent_at, guild_id, chapter, index),
    )


async def record_thread(conn: aiosqlite.Connection, guild_id: int, chapter: int, thread_id: int) -> None:
    await execute(conn, "UPDATE releases SET thread_id = ? WHERE guild_id = ? AND chapter_number = ?",
                  (thread_id, guild_id, chapter))


async def complete_release(conn: aiosqlite.Connection, guild_id: int, chapter: int,
                           completed_at: str) -> None:
    await execute(
        conn,
        "UPDATE releases SET status = 'done', completed_at = ? WHERE guild_id = ? AND chapter_number = ?",
        (completed_at, guild_id, chapter),
    )


async def forget_release(conn: aiosqlite.Connection, guild_id: int, chapter: int) -> None:
    """Forget an unfinished release whose channel was deleted, sent parts included (they were deleted too).

    One transaction, parts first (the release row is what they reference).
    """
    async with transaction(conn):
        await execute(conn, "DELETE FROM release_parts WHERE guild_id = ? AND chapter_number = ?",
                      (guild_id, chapter))
        await execute(conn, "DELETE FROM releases WHERE guild_id = ? AND chapter_number = ?"
                      " AND status = 'in_progress'", (guild_id, chapter))


async def abandon_release(conn: aiosqlite.Connection, guild_id: int, chapter: int) -> None:
    """Forget a release none of whose parts reached Discord, so the chapter is simply still unreleased.

    One transaction: the unsent part rows go, then the release if no part is left (a part Discord has
    keeps its release, which the next start finishes).
    """
    async with transaction(conn):
        await execute(conn, "DELETE FROM release_parts WHERE guild_id = ? AND chapter_number = ?"
                      " AND message_id IS NULL", (guild_id, chapter))
        await execute(
            conn,
            "DELETE FROM releases WHERE guild_id = ? AND chapter_number = ? AND status = 'in_progress'"
            " AND NOT EXISTS (SELECT 1 FROM release_parts p WHERE p.guild_id = releases.guild_id"
            " AND p.chapter_number = releases.chapter_number)", (guild_id, chapter),
        )


# --- delivery (V11): how a release reaches its channel, and the announcement channel's publish backlog ---

async def get_delivery(conn: aiosqlite.Connection, guild_id: int, chapter: int) -> dict[str, Any] | None:
    """The delivery fixed for this release (None: not decided yet, e.g. a release from before V11)."""
    value = await fetch_value(conn, "SELECT delivery FROM releases WHERE guild_id = ? AND chapter_number = ?",
                              (guild_id, chapter))
    return json.loads(value) if value else None


async def record_delivery(conn: aiosqlite.Connection, guild_id: int, chapter: int,
                          delivery: dict[str, Any]) -> None:
    """Fix the delivery before the first part goes out; a delivery already fixed is kept."""
    await execute(conn, "UPDATE releases SET delivery = ? WHERE guild_id = ? AND chapter_number = ?"
                  " AND delivery IS NULL", (json.dumps(delivery, ensure_ascii=False), guild_id, chapter))


@dataclass(frozen=True)
class PublishRow:
    guild_id: int
    chapter_number: int
    part_index: int
    channel_id: int
    message_id: int


async def mark_to_publish(conn: aiosqlite.Connection, guild_id: int, chapter: int, index: int) -> None:
    """Part `index` goes to an announcement channel: publish it once it is sent (before it is sent, so a
    crash in between cannot leave a posted part that is never published)."""
    await execute(conn, "UPDATE release_parts SET publish = 'pending' WHERE guild_id = ?"
                  " AND chapter_number = ? AND part_index = ? AND publish IS NULL",
                  (guild_id, chapter, index))


async def pending_publishes(conn: aiosqlite.Connection, guild_id: int | None = None) -> list[PublishRow]:
    """Sent parts still to publish, oldest release and part first (all guilds when `guild_id` is None)."""
    where, params = ("AND guild_id = ?", (guild_id,)) if guild_id is not None else ("", ())
    rows = await fetch_all(
        conn, "SELECT guild_id, chapter_number, part_index, channel_id, message_id FROM release_parts"
        f" WHERE publish = 'pending' AND message_id IS NOT NULL {where}"
        " ORDER BY guild_id, chapter_number, part_index", params)
    return [PublishRow(r["guild_id"], r["chapter_number"], r["part_index"], r["channel_id"], r["message_id"])
            for r in rows]


async def record_published(conn: aiosqlite.Connection, row: PublishRow, state: str = "done") -> None:
    """The part was published ('done'), or can never be ('dropped': its message is gone)."""
    await execute(conn, "UPDATE release_parts SET publish = ? WHERE guild_id = ? AND chapter_number = ?"
                  " AND part_index = ? AND publish = 'pending'",
                  (state, row.guild_id, row.chapter_number, row.part_index))


async def record_post_sent(conn: aiosqlite.Connection, guild_id: int, chapter: int, post_id: int,
                           sent_at: str) -> None:
    """A forum release's part 0 is its post: the post's first message, which lives in the post and has its
    id (one statement, so the part is never recorded as in the forum itself)."""
    await execute(
        conn,
        "UPDATE release_parts SET message_id = ?, channel_id = ?, sent_at = ? WHERE guild_id = ?"
        " AND chapter_number = ? AND part_index = 0", (post_id, post_id, sent_at, guild_id, chapter),
    )


async def message_recorded(conn: aiosqlite.Connection, message_id: int) -> bool:
    """Whether some release already recorded this message (or forum post) as one of its parts."""
    row = await fetch_one(conn, "SELECT 1 FROM release_parts WHERE message_id = ?", (message_id,))
    return row is not None
