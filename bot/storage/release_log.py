"""The release journal the publisher writes: a release's plan, and each part as it is attempted and sent.

Every write is one autocommitted statement (forgetting a release is one transaction), ordered so that a
crash between any two of them leaves a state the publisher resumes from without sending anything twice:

    claim (release row, referring to its shared render) → per part: intent (part row, nonce, no message id)
    → Discord call → sent (message id) … → thread id → done

A part row without a message id means "Discord may or may not have accepted it": the publisher looks
before sending again, and Discord's `enforce_nonce` turns a repeat into a no-op anyway.

A chapter's render is stored once (`rendered_chapters`, V12) and shared by every server's release of it:
a release keeps a reference and the plan inputs frozen when it was claimed (`StoredPlan`), and the
publisher rebuilds its messages from them (`bot.chapters.plan.stored_plan`).  A render no release refers
to any more is deleted whenever releases are claimed or forgotten.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from bot.storage.database import INTEGRITY_ERRORS, Database, Row
from bot.storage.sql import execute, fetch_all, fetch_one, fetch_value
from bot.storage.transaction import transaction


@dataclass(frozen=True)
class StoredPlan:
    """What a release sends, as stored: the shared render plus the plan inputs frozen at claim time.

    `planned`: `payloads` is already the whole plan (moved from a release row written before V12; empty
    for a release from before V6, which kept none), sent as it is.
    """

    payloads: list[dict[str, Any]]
    planned: bool
    alert_role_id: int | None


@dataclass(frozen=True)
class ReleaseRow:
    guild_id: int
    chapter_number: int
    channel_id: int
    status: str
    parts_total: int
    thread_id: int | None
    started_at: str
    plan: StoredPlan
    thread_name: str | None
    schedule_id: int | None
    schedule_slot: str | None


@dataclass(frozen=True)
class PartRow:
    part_index: int
    nonce: str
    message_id: int | None
    channel_id: int


_RELEASE_COLUMNS = ("r.guild_id, r.chapter_number, r.channel_id, r.status, r.parts_total, r.thread_id,"
                    " r.started_at, r.thread_name, r.schedule_id, r.schedule_slot, r.alert_role_id,"
                    " c.payloads AS payloads, c.planned AS planned")
_RELEASES = "releases r LEFT JOIN rendered_chapters c ON c.id = r.rendered_id"


def stored_plan(row: Row) -> StoredPlan:
    """A row's plan from the columns `payloads`, `planned` (of its render) and `alert_role_id`."""
    if row["payloads"] is None:  # a release from before V6: no plan kept, nothing to send
        return StoredPlan([], True, None)
    return StoredPlan(json.loads(row["payloads"]), bool(row["planned"]), row["alert_role_id"])


def _release(r: Row) -> ReleaseRow:
    return ReleaseRow(
        guild_id=r["guild_id"], chapter_number=r["chapter_number"], channel_id=r["channel_id"],
        status=r["status"],
        parts_total=r["parts_total"], thread_id=r["thread_id"], started_at=r["started_at"],
        plan=stored_plan(r), thread_name=r["thread_name"],
        schedule_id=r["schedule_id"], schedule_slot=r["schedule_slot"],
    )


async def get_release(conn: Database, guild_id: int, chapter: int) -> ReleaseRow | None:
    row = await fetch_one(
        conn, f"SELECT {_RELEASE_COLUMNS} FROM {_RELEASES} WHERE r.guild_id = ? AND r.chapter_number = ?",
        (guild_id, chapter))
    return _release(row) if row else None


async def unfinished_releases(conn: Database, guild_id: int | None = None) -> list[ReleaseRow]:
    """Releases started but not done (all guilds when `guild_id` is None), in guild then chapter order."""
    where, params = ("AND r.guild_id = ?", (guild_id,)) if guild_id is not None else ("", ())
    rows = await fetch_all(
        conn, f"SELECT {_RELEASE_COLUMNS} FROM {_RELEASES} WHERE r.status = 'in_progress' {where}"
        " ORDER BY r.guild_id, r.chapter_number", params,
    )
    return [_release(r) for r in rows]


async def last_claimed_chapter(conn: Database, guild_id: int) -> int:
    """The highest chapter this guild has started releasing, done or not (0 when none)."""
    return int(await fetch_value(
        conn, "SELECT COALESCE(MAX(chapter_number), 0) FROM releases WHERE guild_id = ?", (guild_id,)))


async def claim_release(conn: Database, *, guild_id: int, chapter: int, channel_id: int,
                        rendered: list[dict[str, Any]], renderer_version: int, alert_role_id: int | None,
                        parts_total: int, thread_name: str | None, started_at: str,
                        schedule_id: int | None = None, schedule_slot: str | None = None) -> bool:
    """Start a release with its fixed plan; False when the chapter or the schedule slot was already claimed.

    The plan is `rendered` (the renderer's output, stored once per chapter, renderer version and content:
    the first server's claim writes it, the others refer to it) with `alert_role_id`'s mention, frozen
    now; `parts_total` is the number of messages that plan sends.  One transaction.
    `started_at` and `schedule_slot` are `bot.timestamps` instants: a slot is recognised by equal text.
    """
    text = json.dumps(rendered, ensure_ascii=False)
    digest = hashlib.sha256(text.encode()).hexdigest()
    try:
        async with transaction(conn):
            await execute(
                conn,
                "INSERT INTO rendered_chapters(chapter_number, renderer_version, content_hash, payloads)"
                " VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING", (chapter, renderer_version, digest, text))
            rendered_id = await fetch_value(
                conn, "SELECT id FROM rendered_chapters WHERE chapter_number = ? AND renderer_version = ?"
                " AND content_hash = ?", (chapter, renderer_version, digest))
            await execute(
                conn,
                "INSERT INTO releases(guild_id, chapter_number, channel_id, status, parts_total, started_at,"
                " rendered_id, alert_role_id, thread_name, schedule_id, schedule_slot)"
                " VALUES (?, ?, ?, 'in_progress', ?, ?, ?, ?, ?, ?, ?)",
                (guild_id, chapter, channel_id, parts_total, started_at, rendered_id, alert_role_id,
                 thread_name, schedule_id, schedule_slot),
            )
            await _collect_unreferenced_renders(conn)
    except INTEGRITY_ERRORS:
        return False
    return True


async def _collect_unreferenced_renders(conn: Database) -> None:
    """Delete renders no release and no update of a posted chapter refers to (its releases were
    forgotten, abandoned or purged; `bot.storage.chapter_edits` keeps the render an update brings a
    chapter's messages to).

    Few rows (chapters × renderer versions × re-imports), each checked through `releases_by_rendered`
    and `chapter_edit_syncs_by_rendered`.
    """
    await execute(conn, "DELETE FROM rendered_chapters WHERE NOT EXISTS"
                        " (SELECT 1 FROM releases r WHERE r.rendered_id = rendered_chapters.id)"
                        " AND NOT EXISTS (SELECT 1 FROM chapter_edit_syncs e"
                        " WHERE e.rendered_id = rendered_chapters.id)")


async def slot_claimed(conn: Database, schedule_id: int, slot: str) -> bool:
    """Whether a release was started for this schedule slot (a `bot.timestamps` instant)."""
    row = await fetch_one(conn, "SELECT 1 FROM releases WHERE schedule_id = ? AND schedule_slot = ?",
                          (schedule_id, slot))
    return row is not None


async def parts(conn: Database, guild_id: int, chapter: int) -> dict[int, PartRow]:
    rows = await fetch_all(
        conn, "SELECT part_index, nonce, message_id, channel_id FROM release_parts"
        " WHERE guild_id = ? AND chapter_number = ? ORDER BY part_index", (guild_id, chapter),
    )
    return {r["part_index"]: PartRow(r["part_index"], r["nonce"], r["message_id"], r["channel_id"])
            for r in rows}


async def record_intent(conn: Database, guild_id: int, chapter: int, index: int, nonce: str,
                        channel_id: int) -> None:
    """Note that part `index` is about to be sent with `nonce` (before Discord sees it)."""
    await execute(
        conn,
        "INSERT INTO release_parts(guild_id, chapter_number, part_index, nonce, channel_id)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING", (guild_id, chapter, index, nonce, channel_id),
    )


async def record_sent(conn: Database, guild_id: int, chapter: int, index: int, message_id: int,
                      sent_at: str) -> None:
    await execute(
        conn,
        "UPDATE release_parts SET message_id = ?, sent_at = ? WHERE guild_id = ? AND chapter_number = ?"
        " AND part_index = ?", (message_id, sent_at, guild_id, chapter, index),
    )


async def record_thread(conn: Database, guild_id: int, chapter: int, thread_id: int) -> None:
    await execute(conn, "UPDATE releases SET thread_id = ? WHERE guild_id = ? AND chapter_number = ?",
                  (thread_id, guild_id, chapter))


async def complete_release(conn: Database, guild_id: int, chapter: int,
                           completed_at: str) -> None:
    await execute(
        conn,
        "UPDATE releases SET status = 'done', completed_at = ? WHERE guild_id = ? AND chapter_number = ?",
        (completed_at, guild_id, chapter),
    )


async def forget_release(conn: Database, guild_id: int, chapter: int) -> None:
    """Forget an unfinished release whose channel was deleted, sent parts included (they were deleted too).

    One transaction, parts first (the release row is what they reference).
    """
    async with transaction(conn):
        await execute(conn, "DELETE FROM release_parts WHERE guild_id = ? AND chapter_number = ?",
                      (guild_id, chapter))
        await execute(conn, "DELETE FROM releases WHERE guild_id = ? AND chapter_number = ?"
                      " AND status = 'in_progress'", (guild_id, chapter))
        await _collect_unreferenced_renders(conn)


async def abandon_release(conn: Database, guild_id: int, chapter: int) -> None:
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
        await _collect_unreferenced_renders(conn)


# --- delivery (V11): how a release reaches its channel, and the announcement channel's publish backlog ---

async def get_delivery(conn: Database, guild_id: int, chapter: int) -> dict[str, Any] | None:
    """The delivery fixed for this release (None: not decided yet, e.g. a release from before V11)."""
    value = await fetch_value(conn, "SELECT delivery FROM releases WHERE guild_id = ? AND chapter_number = ?",
                              (guild_id, chapter))
    return json.loads(value) if value else None


async def record_delivery(conn: Database, guild_id: int, chapter: int,
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


async def mark_to_publish(conn: Database, guild_id: int, chapter: int, index: int) -> None:
    """Part `index` goes to an announcement channel: publish it once it is sent (before it is sent, so a
    crash in between cannot leave a posted part that is never published)."""
    await execute(conn, "UPDATE release_parts SET publish = 'pending' WHERE guild_id = ?"
                  " AND chapter_number = ? AND part_index = ? AND publish IS NULL",
                  (guild_id, chapter, index))


async def pending_publishes(conn: Database, guild_id: int | None = None) -> list[PublishRow]:
    """Sent parts still to publish, oldest release and part first (all guilds when `guild_id` is None)."""
    where, params = ("AND guild_id = ?", (guild_id,)) if guild_id is not None else ("", ())
    rows = await fetch_all(
        conn, "SELECT guild_id, chapter_number, part_index, channel_id, message_id FROM release_parts"
        f" WHERE publish = 'pending' AND message_id IS NOT NULL {where}"
        " ORDER BY guild_id, chapter_number, part_index", params)
    return [PublishRow(r["guild_id"], r["chapter_number"], r["part_index"], r["channel_id"], r["message_id"])
            for r in rows]


async def record_published(conn: Database, row: PublishRow, state: str = "done") -> None:
    """The part was published ('done'), or can never be ('dropped': its message is gone)."""
    await execute(conn, "UPDATE release_parts SET publish = ? WHERE guild_id = ? AND chapter_number = ?"
                  " AND part_index = ? AND publish = 'pending'",
                  (state, row.guild_id, row.chapter_number, row.part_index))


async def record_post_sent(conn: Database, guild_id: int, chapter: int, post_id: int,
                           sent_at: str) -> None:
    """A forum release's part 0 is its post: the post's first message, which lives in the post and has its
    id (one statement, so the part is never recorded as in the forum itself)."""
    await execute(
        conn,
        "UPDATE release_parts SET message_id = ?, channel_id = ?, sent_at = ? WHERE guild_id = ?"
        " AND chapter_number = ? AND part_index = 0", (post_id, post_id, sent_at, guild_id, chapter),
    )


async def message_recorded(conn: Database, message_id: int) -> bool:
    """Whether some release already recorded this message (or forum post) as one of its parts."""
    row = await fetch_one(conn, "SELECT 1 FROM release_parts WHERE message_id = ?", (message_id,))
    return row is not None
