"""Bringing a server's posted chapter in step with the author's edit: which released chapters are out of
step, and the update that fixes one, exactly once and resumably (issue 14).

A chapter is out of step when what its messages show (the release's render, or the last update's) differs
from what the chapter renders to now.  The new render keeps the "Chapter N of M" the release was posted
with, so chapters added since make nothing out of step: only the author's edits do.

An update is planned by `bot.chapters.edit_plan` (messages edited in place keep their id, reactions and
thread: the chapter's likes, quiz history and reading progress, which are keyed by message and chapter,
are untouched; spare messages become "(moved up)", never deleted; extra parts go into the chapter's
discussion, after a note), journaled whole before anything is sent (`bot.storage.chapter_edits`), and
driven as a release is: each POST carries a nonce derived from the update, and one that may have landed
before a crash is looked for by its nonce before it is sent again; edits are idempotent and simply made
again.  Discord-free: it talks to an `EditSender`.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

from bot.chapters.edit_plan import EditPlan, complete, continued_note, moved_up, plan_edit
from bot.chapters.plan import release_plan, stored_plan
from bot.chapters.publishing import MessageGone, PublishError, ReleaseForbidden, thread_name
from bot.chapters.render import RENDERER_VERSION, render_chapter
from bot.storage import chapter_edits as journal
from bot.storage import release_log
from bot.storage.database import Database
from bot.storage.releases import released_chapters
from bot.storage.story import chapter_count, load_chapter
from bot.story.model import Chapter
from bot.text import MAX_NONCE
from bot.timestamps import format_timestamp

log = logging.getLogger(__name__)

Payload = dict[str, Any]
RenderFn = Callable[..., list[Payload]]
RENDERS_KEPT = 64  # chapters × totals: a story's released chapters, rendered once per look at every server
Status = Literal["updated", "in_step", "not_released", "no_chapter", "busy", "forbidden", "failed"]


class EditSender(Protocol):
    """What an update needs from Discord (`cogs.shared.sender.DiscordSender` implements it).  Failures
    raise `bot.chapters.publishing`'s errors: `ReleaseForbidden` on 403, `MessageGone` when the message
    to edit was deleted, `PublishError` otherwise."""

    async def edit(self, channel_id: int, message_id: int, payload: Payload) -> None:
        """Edit the bot's message to show exactly `payload` (every field set)."""
        ...

    async def edit_as_author(self, channel_id: int, message_id: int, payload: Payload, *,
                             thread_id: int | None) -> None:
        """Edit a message the bot's webhook of `channel_id` posted (a release with the author webhook on),
        in `thread_id` when it is in a thread or forum post of that channel."""
        ...

    async def send(self, channel_id: int, payload: Payload, *, nonce: str) -> int: ...

    async def find_sent(self, channel_id: int, payload: Payload, *, nonce: str,
                        after: int | None) -> int | None: ...

    async def open_thread(self, channel_id: int, message_id: int, name: str) -> int: ...


@dataclass(frozen=True)
class EditOutcome:
    """How an update ended; the cog turns it into a reply, follow_edits into a log line."""

    status: Status
    guild_id: int
    chapter: int
    edited: int = 0  # messages edited in place to the new text
    moved_up: int = 0  # spare messages now "(moved up)"
    posted: int = 0  # extra parts posted in the discussion (the note not counted)
    discussion_id: int | None = None
    resumed: bool = False
    error: str | None = None


@dataclass(frozen=True)
class Slot:
    """A message of the chapter already out: where it is, and what it shows now."""

    channel_id: int
    message_id: int
    shows: Payload


@dataclass
class EditSyncer:
    """Updates posted chapters for every server over one database connection and one `EditSender`."""

    conn: Database
    sender: EditSender
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    render: RenderFn = render_chapter
    _locks: dict[int, asyncio.Lock] = field(default_factory=dict, init=False, repr=False)
    _rendered: dict[tuple[int, int], tuple[Chapter, list[Payload]]] = field(default_factory=dict, init=False,
                                                                          repr=False)

    def lock(self, guild_id: int) -> asyncio.Lock:
        return self._locks.setdefault(guild_id, asyncio.Lock())

    # --- which chapters are out of step ----------------------------------------------------------------

    async def stale_chapters(self, guild_id: int) -> list[int]:
        """The server's released chapters whose posted messages differ from the chapter now, in order
        (an update left half-done counts: it still has to finish)."""
        stale = []
        done = await _done_releases(self.conn, guild_id)
        running = {s.chapter_number for s in await journal.unfinished_syncs(self.conn, guild_id)}
        for number in done:
            if number in running:
                stale.append(number)
                continue
            planned = await self._plan(guild_id, number)
            if planned is not None and _changes(planned[0]):
                stale.append(number)
        return stale

    # --- updating --------------------------------------------------------------------------------------

    async def update(self, guild_id: int, number: int) -> EditOutcome:
        """Bring chapter `number`'s posted messages in this server in step with the chapter now.

        An update interrupted earlier is finished first; then, if the chapter still differs (edited again
        meanwhile), a new one is planned and driven."""
        async with self.lock(guild_id):
            resumed: EditOutcome | None = None
            running = await journal.running_sync(self.conn, guild_id, number)
            if running is not None:
                resumed = await self._drive(running, resumed=True)
                if resumed.status != "updated":
                    return resumed
            release = await release_log.get_release(self.conn, guild_id, number)
            if release is None or release.status != "done":
                return EditOutcome("not_released", guild_id, number)
            delivery = await release_log.get_delivery(self.conn, guild_id, number) or {}
            planned = await self._plan(guild_id, number)
            if planned is None:
                return EditOutcome("no_chapter", guild_id, number)
            plan, rendered, slots = planned
            if not _changes(plan):
                return resumed or EditOutcome("in_step", guild_id, number)
            try:
                discussion = await self._discussion(release, delivery) if plan.extras else None
            except PublishError as exc:
                return _failed(guild_id, number, exc)
            started_at = format_timestamp(self.clock())
            ops = _ops(plan, slots, discussion or 0, guild_id, number, started_at)
            sync = await journal.start_sync(
                self.conn, guild_id=guild_id, chapter=number, rendered=rendered,
                renderer_version=RENDERER_VERSION, alert_role_id=release.plan.alert_role_id,
                started_at=started_at, ops=ops)
            if sync is None:
                return EditOutcome("busy", guild_id, number, error="an update of this chapter is running")
            return await self._drive(sync)

    async def update_all(self, guild_id: int) -> list[EditOutcome]:
        """Update every out-of-step chapter of the server (follow_edits), in chapter order."""
        return [await self.update(guild_id, number) for number in await self.stale_chapters(guild_id)]

    async def resume(self, guild_id: int | None = None) -> list[EditOutcome]:
        """Finish every interrupted update (of one server, or all): what a fresh start does."""
        outcomes = []
        for sync in await journal.unfinished_syncs(self.conn, guild_id):
            async with self.lock(sync.guild_id):
                current = await journal.running_sync(self.conn, sync.guild_id, sync.chapter_number)
                if current is not None:
                    outcomes.append(await self._drive(current, resumed=True))
        return outcomes

    # --- planning --------------------------------------------------------------------------------------

    async def _plan(self, guild_id: int, number: int) -> tuple[EditPlan, list[Payload], list[Slot]] | None:
        """The plan that brings the chapter's messages to its current render, that render, and the messages
        already out in reading order; None when it cannot be planned (not released, no chapter now)."""
        release = await release_log.get_release(self.conn, guild_id, number)
        chapter = await load_chapter(self.conn, number)
        if release is None or release.status != "done" or chapter is None:
            return None
        last = await journal.latest_done_sync(self.conn, guild_id, number)
        shown = stored_plan(last.plan if last else release.plan, number=number)
        if not shown:  # a release from before V6 kept no plan: what it shows is unknown
            return None
        parts = await release_log.parts(self.conn, guild_id, number)
        extras = await journal.posted_extras(self.conn, guild_id, number)
        places = [(p.channel_id, p.message_id) for _, p in sorted(parts.items()) if p.message_id is not None]
        places += [(e.channel_id, e.message_id) for e in extras]
        slots = [Slot(channel, message, shown[i] if i < len(shown) else moved_up())
                 for i, (channel, message) in enumerate(places)]
        total = posted_total(shown, number) or await chapter_count(self.conn)
        rendered = self._render(chapter, number, total)
        new = release_plan(copy.deepcopy(rendered), number=number, alert_role_id=release.plan.alert_role_id)
        posted = [s.shows for s in slots[:len(slots) - len(extras)]]
        plan = plan_edit(posted, new, number=number, posted_extras=[s.shows for s in slots[len(posted):]],
                         note_posted=await journal.note_posted(self.conn, guild_id, number))
        return plan, rendered, slots

    async def _discussion(self, release: release_log.ReleaseRow, delivery: dict[str, Any]) -> int:
        """Where extra parts go: the chapter's discussion thread (a forum release's post), opened from the
        first message when the server had threads off, so they never land between later chapters."""
        if release.thread_id is not None:
            return release.thread_id
        parts = await release_log.parts(self.conn, release.guild_id, release.chapter_number)
        first = parts.get(0)
        if first is None or first.message_id is None:
            raise PublishError("the chapter's first message is unknown")
        if delivery.get("kind") == "forum":
            return first.message_id
        chapter = await load_chapter(self.conn, release.chapter_number)
        name = release.thread_name or (thread_name(chapter) if chapter
                                       else f"Chapter {release.chapter_number}")
        thread_id = await self.sender.open_thread(release.channel_id, first.message_id, name)
        await release_log.record_thread(self.conn, release.guild_id, release.chapter_number, thread_id)
        return thread_id

    # --- driving ---------------------------------------------------------------------------------------

    async def _drive(self, sync: journal.EditSync, *, resumed: bool = False) -> EditOutcome:
        """Take a started update from wherever it stopped to done; the caller holds the server's lock."""
        guild_id, number = sync.guild_id, sync.chapter_number
        target = stored_plan(sync.plan, number=number)
        release = await release_log.get_release(self.conn, guild_id, number)
        assert release is not None  # an update exists only for a done release, which nothing forgets
        by_author = await self._webhook_messages(release)
        counts = {"edit": 0, "moved_up": 0, "extra": 0}
        previous: int | None = None
        discussion: int | None = None
        try:
            for op in await journal.sync_ops(self.conn, sync.id):
                if op.kind in ("note", "extra"):
                    discussion = op.channel_id
                if op.state == "done":
                    previous = op.message_id if op.kind in ("note", "extra") else previous
                    counts[op.kind] = counts.get(op.kind, 0) + (op.kind != "note")
                    continue
                payload = _payload(op, target, number)
                if op.kind in ("edit", "moved_up"):
                    assert op.message_id is not None
                    await journal.record_attempt(self.conn, sync.id, op.op_index)
                    try:
                        if op.message_id in by_author:  # only the webhook that posted it may edit it
                            thread = op.channel_id if op.channel_id != release.channel_id else None
                            await self.sender.edit_as_author(release.channel_id, op.message_id, payload,
                                                             thread_id=thread)
                        else:
                            await self.sender.edit(op.channel_id, op.message_id, payload)
                    except MessageGone:  # deleted by someone: nothing left to bring in step
                        log.warning("guild %s chapter %s: message %s is gone; not edited", guild_id, number,
                                    op.message_id)
                    message_id = op.message_id
                else:
                    assert op.nonce is not None
                    found = None
                    if op.state == "attempted":  # it may have landed before a crash: look first
                        found = await self.sender.find_sent(op.channel_id, payload, nonce=op.nonce,
                                                            after=previous)
                    else:
                        await journal.record_attempt(self.conn, sync.id, op.op_index)
                    message_id = found or await self.sender.send(op.channel_id, payload, nonce=op.nonce)
                    previous = message_id
                await journal.record_done(self.conn, sync.id, op.op_index, message_id, self._now())
                counts[op.kind] = counts.get(op.kind, 0) + (op.kind != "note")
        except ReleaseForbidden as exc:
            log.warning("update of chapter %s in guild %s stopped by 403 (%s); resumable", number, guild_id,
                        exc.permission)
            return EditOutcome("forbidden", guild_id, number, resumed=resumed, error=str(exc))
        except PublishError as exc:
            log.warning("update of chapter %s in guild %s interrupted: %s", number, guild_id, exc)
            return _failed(guild_id, number, exc, resumed=resumed)
        await journal.complete_sync(self.conn, sync.id, self._now())
        return EditOutcome("updated", guild_id, number, counts["edit"], counts["moved_up"], counts["extra"],
                           discussion, resumed)

    async def _webhook_messages(self, release: release_log.ReleaseRow) -> set[int]:
        """The release's messages its author webhook posted: every part but a forum post's first message,
        which the bot opened the post with.  (Extra parts and the note an update adds are the bot's.)"""
        delivery = await release_log.get_delivery(self.conn, release.guild_id, release.chapter_number) or {}
        if not delivery.get("author"):
            return set()
        parts = await release_log.parts(self.conn, release.guild_id, release.chapter_number)
        forum = delivery.get("kind") == "forum"
        return {p.message_id for i, p in parts.items() if p.message_id is not None and not (forum and i == 0)}

    def _render(self, chapter: Chapter, number: int, total: int) -> list[Payload]:
        """The chapter's render, kept while the chapter is equal: finding the out-of-step chapters of every
        server that follows edits renders each released chapter once, not once per server."""
        key = (number, total)
        kept = self._rendered.get(key)
        if kept is None or kept[0] != chapter:
            kept = (chapter, self.render(chapter, number=number, total=total))
            self._rendered.pop(key, None)
            while len(self._rendered) >= RENDERS_KEPT:
                del self._rendered[next(iter(self._rendered))]  # the oldest
            self._rendered[key] = kept
        return copy.deepcopy(kept[1])

    def _now(self) -> str:
        return format_timestamp(self.clock())


def _payload(op: journal.EditOp, target: list[Payload], number: int) -> Payload:
    """What the operation makes a message show (rebuilt from the journaled target, so a resume sends the
    same)."""
    if op.kind == "moved_up":
        return moved_up()
    if op.kind == "note":
        return continued_note(number)
    return complete(target[op.slot or 0])


def _changes(plan: EditPlan) -> bool:
    return bool(plan.edits or plan.extras)


def _failed(guild_id: int, number: int, exc: Exception, *, resumed: bool = False) -> EditOutcome:
    return EditOutcome("failed", guild_id, number, resumed=resumed, error=str(exc))


def _ops(plan: EditPlan, slots: list[Slot], discussion: int, guild_id: int, number: int,
         started_at: str) -> list[journal.NewOp]:
    """The plan as journaled operations: the edits in reading order, then the note and the extra parts."""
    posted = len(slots) - sum(1 for c in plan.changes if c.slot.where == "extra")
    ops = []
    for change in plan.edits:
        position = change.slot.index + (posted if change.slot.where == "extra" else 0)
        slot = slots[position]
        ops.append(journal.NewOp("moved_up" if change.action == "moved_up" else "edit", position,
                                 slot.channel_id, slot.message_id))
    if plan.note is not None:
        ops.append(journal.NewOp("note", None, discussion,
                                 nonce=edit_nonce(guild_id, number, "note", started_at)))
    for offset, _ in enumerate(plan.extras):
        position = len(slots) + offset
        ops.append(journal.NewOp("extra", position, discussion,
                                 nonce=edit_nonce(guild_id, number, str(position), started_at)))
    return ops


def edit_nonce(guild_id: int, chapter: int, what: str, started_at: str) -> str:
    """A nonce unique to one POST of one update, the same every time it is recomputed."""
    digest = hashlib.sha256(f"aar-edit:{guild_id}:{chapter}:{what}:{started_at}".encode()).hexdigest()
    return digest[:MAX_NONCE]


def posted_total(shown: list[Payload], number: int) -> int | None:
    """The "of M" the chapter was posted with (its header's "Chapter N of M"), if the messages show it."""
    pattern = re.compile(rf"Chapter {number} of (\d+)")
    for payload in shown:
        match = pattern.search(payload.get("content") or "")
        if match:
            return int(match.group(1))
    return None


async def _done_releases(conn: Database, guild_id: int) -> list[int]:
    return [r.number for r in await released_chapters(conn, guild_id)]
