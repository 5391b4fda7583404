"""The journal of updates to released chapters (V13): what an update brings a chapter's posted messages
to, and each of its planned operations as it is attempted and done.

An update is planned whole when it starts (`start_sync`, one transaction: the target render, shared with
releases in `rendered_chapters`, the alert role frozen from the release, and every operation), then
driven one operation at a time, each write one autocommitted statement, so a crash between any two
leaves a state `bot.chapters.edit_sync` resumes from without doing anything twice:

    start (sync row + ops, all 'pending') → per op: 'attempted' (a POST with its nonce) → Discord call →
    'done' (the posted message's id) … → sync done

An edit is idempotent (the same text twice is one result), so an attempted edit is simply made again; a
POST marked attempted but not done may have landed: the engine looks for it by its nonce before posting
again.  At most one update per (server, chapter) runs at a time (a partial unique index); the latest done
one says what the posted messages show, and the extra parts it posted stay journaled, so a later update
edits them rather than posting them again.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Literal

from bot.storage.database import INTEGRITY_ERRORS, Database, Row
from bot.storage.release_log import StoredPlan, stored_plan
from bot.storage.sql import execute, fetch_all, fetch_one
from bot.storage.transaction import transaction

OpKind = Literal["edit", "moved_up", "note", "extra"]
OpState = Literal["pending", "attempted", "done"]


@dataclass(frozen=True)
class NewOp:
    """An operation as planned: edit `message_id` in `channel_id` (to the part at `slot` of the target,
    or to the "(moved up)" line), or post the note / the extra part at `slot` into `channel_id` (the
    discussion) with `nonce`."""

    kind: OpKind
    slot: int | None
    channel_id: int
    message_id: int | None = None
    nonce: str | None = None


@dataclass(frozen=True)
class EditOp:
    sync_id: int
    op_index: int
    kind: OpKind
    slot: int | None
    channel_id: int
    message_id: int | None
    nonce: str | None
    state: OpState


@dataclass(frozen=True)
class EditSync:
    id: int
    guild_id: int
    chapter_number: int
    rendered_id: int
    plan: StoredPlan  # the target: its render, with the alert role frozen from the release
    status: str
    started_at: str


@dataclass(frozen=True)
class PostedExtra:
    """An extra part some update posted in the discussion: its place in the chapter's reading order."""

    slot: int
    channel_id: int
    message_id: int


_SYNC_COLUMNS = ("s.id, s.guild_id, s.chapter_number, s.rendered_id, s.status, s.started_at,"
                 " s.alert_role_id, c.payloads AS payloads, c.planned AS planned")
_SYNCS = "chapter_edit_syncs s JOIN rendered_chapters c ON c.id = s.rendered_id"


def _sync(row: Row) -> EditSync:
    return EditSync(row["id"], row["guild_id"], row["chapter_number"], row["rendered_id"], stored_plan(row),
                    row["status"], row["started_at"])


def _op(row: Row) -> EditOp:
    return EditOp(row["sync_id"], row["op_index"], row["kind"], row["slot"], row["channel_id"],
                  row["message_id"], row["nonce"], row["state"])


async def start_sync(conn: Database, *, guild_id: int, chapter: int, rendered: list[dict[str, Any]],
                     renderer_version: int, alert_role_id: int | None, started_at: str,
                     ops: list[NewOp]) -> EditSync | None:
    """Record an update with its whole plan, in one transaction; None when one is already running for
    this chapter in this server.  `rendered` is stored once per chapter and content, as a release's is."""
    text = json.dumps(rendered, ensure_ascii=False)
    content_hash = hashlib.sha256(text.encode()).hexdigest()  # as `release_log.claim_release` keys it
    try:
        async with transaction(conn):
            await execute(
                conn,
                "INSERT INTO rendered_chapters(chapter_number, renderer_version, content_hash, payloads)"
                " VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (chapter, renderer_version, content_hash, text))
            rendered_row = await fetch_one(
                conn, "SELECT id FROM rendered_chapters WHERE chapter_number = ? AND renderer_version = ?"
                " AND content_hash = ?", (chapter, renderer_version, content_hash))
            assert rendered_row is not None
            await execute(
                conn,
                "INSERT INTO chapter_edit_syncs(guild_id, chapter_number, rendered_id, alert_role_id, status,"
                " started_at) VALUES (?, ?, ?, ?, 'in_progress', ?)",
                (guild_id, chapter, rendered_row[0], alert_role_id, started_at))
            sync = await running_sync(conn, guild_id, chapter)
            assert sync is not None
            for index, op in enumerate(ops):
                await execute(
                    conn,
                    "INSERT INTO chapter_edit_ops(sync_id, op_index, guild_id, chapter_number, kind, slot,"
                    " channel_id, message_id, nonce, state) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending')",
                    (sync.id, index, guild_id, chapter, op.kind, op.slot, op.channel_id, op.message_id,
                     op.nonce))
    except INTEGRITY_ERRORS:
        return None
    return sync


async def running_sync(conn: Database, guild_id: int, chapter: int) -> EditSync | None:
    row = await fetch_one(conn, f"SELECT {_SYNC_COLUMNS} FROM {_SYNCS} WHERE s.guild_id = ?"
                          " AND s.chapter_number = ? AND s.status = 'in_progress'", (guild_id, chapter))
    return _sync(row) if row else None


async def latest_done_sync(conn: Database, guild_id: int, chapter: int) -> EditSync | None:
    """The last finished update of the chapter: what its posted messages show now (None: as released)."""
    row = await fetch_one(conn, f"SELECT {_SYNC_COLUMNS} FROM {_SYNCS} WHERE s.guild_id = ?"
                          " AND s.chapter_number = ? AND s.status = 'done' ORDER BY s.id DESC LIMIT 1",
                          (guild_id, chapter))
    return _sync(row) if row else None


async def unfinished_syncs(conn: Database, guild_id: int | None = None) -> list[EditSync]:
    """Updates started but not done (every server's when `guild_id` is None), oldest first."""
    where, params = ("AND s.guild_id = ?", (guild_id,)) if guild_id is not None else ("", ())
    rows = await fetch_all(conn, f"SELECT {_SYNC_COLUMNS} FROM {_SYNCS} WHERE s.status = 'in_progress'"
                           f" {where} ORDER BY s.id", params)
    return [_sync(r) for r in rows]


async def sync_ops(conn: Database, sync_id: int) -> list[EditOp]:
    rows = await fetch_all(conn, "SELECT sync_id, op_index, kind, slot, channel_id, message_id, nonce, state"
                           " FROM chapter_edit_ops WHERE sync_id = ? ORDER BY op_index", (sync_id,))
    return [_op(r) for r in rows]


async def record_attempt(conn: Database, sync_id: int, op_index: int) -> None:
    """The operation is about to reach Discord (a POST's nonce is already stored with it)."""
    await execute(conn, "UPDATE chapter_edit_ops SET state = 'attempted' WHERE sync_id = ? AND op_index = ?"
                  " AND state = 'pending'", (sync_id, op_index))


async def record_done(conn: Database, sync_id: int, op_index: int, message_id: int, done_at: str) -> None:
    """Discord answered: the message edited, or the one posted (its id, which later updates edit)."""
    await execute(conn, "UPDATE chapter_edit_ops SET state = 'done', message_id = ?, done_at = ?"
                  " WHERE sync_id = ? AND op_index = ?", (message_id, done_at, sync_id, op_index))


async def complete_sync(conn: Database, sync_id: int, completed_at: str) -> None:
    await execute(conn, "UPDATE chapter_edit_syncs SET status = 'done', completed_at = ? WHERE id = ?",
                  (completed_at, sync_id))


async def posted_extras(conn: Database, guild_id: int, chapter: int) -> list[PostedExtra]:
    """Every extra part updates of the chapter posted in the discussion, in reading order."""
    rows = await fetch_all(conn, "SELECT slot, channel_id, message_id FROM chapter_edit_ops"
                           " WHERE guild_id = ? AND chapter_number = ? AND kind = 'extra' AND state = 'done'"
                           " ORDER BY slot",
                           (guild_id, chapter))
    return [PostedExtra(r["slot"], r["channel_id"], r["message_id"]) for r in rows]


async def note_posted(conn: Database, guild_id: int, chapter: int) -> bool:
    """Whether the "continued" note is already out in the chapter's discussion."""
    row = await fetch_one(conn, "SELECT 1 FROM chapter_edit_ops WHERE guild_id = ? AND chapter_number = ?"
                          " AND kind = 'note' AND state = 'done'", (guild_id, chapter))
    return row is not None
