"""The release engine: posts a chapter as a sequence of parts, exactly once, resumable after a crash.

Discord-free: it talks to a `Sender` (the cog implements one on discord.py; tests implement fakes that
fail where they are told to).  A release is planned once — the rendered payloads are stored with the
release — and then driven step by step through `bot.storage.release_log`:

    part 0 → discussion thread (unless the guild turned threads off) → part 1 … part n-1 → done

Exactly-once across a crash rests on two things.  Each part has a deterministic nonce (derived from
the guild, chapter, part and the release's start), sent with `enforce_nonce`, so Discord answers a
repeat with the message it already created.  And a part whose intent was recorded but whose message id
was not is first looked for among the channel's recent messages, which still works after Discord's
nonce memory (a few minutes) has lapsed.  A thread opened from a message has that message's id, so a
thread opened but not recorded is found again the same way.

Per guild, one release runs at a time (an asyncio.Lock here, the database's primary key behind it),
and an unfinished release is always finished before the next chapter is claimed.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

import aiosqlite

from bot.chapters.plan import release_plan
from bot.chapters.render import render_chapter
from bot.storage import release_log
from bot.storage.guilds import get_guild_settings
from bot.storage.story import chapter_count, load_chapter
from bot.story.model import Chapter
from bot.text import MAX_NONCE, MAX_THREAD_NAME, clip
from bot.timestamps import format_timestamp

log = logging.getLogger(__name__)

VIEW_CHANNEL = "View Channel"
SEND_MESSAGES = "Send Messages"
EMBED_LINKS = "Embed Links"
CREATE_PUBLIC_THREADS = "Create Public Threads"

Payload = dict[str, Any]
RenderFn = Callable[..., list[Payload]]
RENDERED_KEPT = 8  # chapters whose rendering is kept: the few that servers are releasing now


class PublishError(Exception):
    """A part could not be delivered (after the HTTP layer's own retries); the release stays resumable."""


class ReleaseForbidden(PublishError):
    """Discord refused with 403: the bot lacks `permission` in the channel."""

    def __init__(self, permission: str | None, detail: str = "") -> None:
        self.permission = permission
        super().__init__(detail or f"missing permission: {permission or 'unknown'}")


class ChannelGone(PublishError):
    """The release's channel no longer exists (Discord: Unknown Channel): its messages went with it."""


def needed_permissions(*, thread: bool) -> list[str]:
    """The permissions a release needs in its channel, in the order it needs them."""
    needed = [VIEW_CHANNEL, SEND_MESSAGES, EMBED_LINKS]
    return [*needed, CREATE_PUBLIC_THREADS] if thread else needed


@dataclass(frozen=True)
class ChannelPermissions:
    """What Discord said the bot may do in one channel, by permission name.

    A `/chapter next` interaction carries the bot's permissions in the interaction's channel
    (`app_permissions`): fresher than any cache, and the only source the cache cannot contradict.  The
    cog passes them to the release explicitly; the engine trusts them over the `Sender`'s own view.
    """

    channel_id: int
    granted: frozenset[str]

    def missing(self, *, thread: bool) -> list[str]:
        return [name for name in needed_permissions(thread=thread) if name not in self.granted]


class Sender(Protocol):
    """What the engine needs from Discord.  Implementations raise `ReleaseForbidden` on 403 and
    `PublishError` on other failures that outlived the HTTP layer's retries."""

    async def missing_permissions(self, channel_id: int, *, thread: bool) -> list[str]:
        """Permissions the release needs but the bot lacks in the channel (empty when unknown)."""
        ...

    async def send(self, channel_id: int, payload: Payload, *, nonce: str) -> int:
        """Post `payload` with `nonce` (and `enforce_nonce`); return the message id.  It pings nothing
        but the roles its `allowed_mentions` names (`bot.chapters.plan.allowed_role_ids`)."""
        ...

    async def find_sent(self, channel_id: int, payload: Payload, *, nonce: str,
                        after: int | None) -> int | None:
        """The id of a message the bot already posted for this part (same nonce, or same content), if any."""
        ...

    async def open_thread(self, channel_id: int, message_id: int, name: str) -> int:
        """Open a public thread from the message; if one exists already, return its id."""
        ...


Status = Literal["released", "all_out", "no_story", "forbidden", "failed", "busy", "channel_gone"]


@dataclass(frozen=True)
class ReleaseOutcome:
    """What happened; the cog turns it into a reply, the scheduler into a log line."""

    status: Status
    guild_id: int
    chapter: int | None = None
    title: str | None = None
    total: int = 0
    channel_id: int | None = None
    first_message_id: int | None = None
    thread_id: int | None = None
    parts: int = 0
    resumed: bool = False
    missing_permission: str | None = None
    error: str | None = None


@dataclass
class Publisher:
    """Releases chapters for every guild over one database connection and one `Sender`."""

    conn: aiosqlite.Connection
    sender: Sender
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    render: RenderFn = render_chapter
    # Told of every release that completed (fresh or resumed), after it is recorded: e.g. release alerts'
    # DMs, which must not hold up the release, so a listener only schedules its work and returns.
    on_released: list[Callable[[ReleaseOutcome], None]] = field(default_factory=list, repr=False)
    _locks: dict[int, asyncio.Lock] = field(default_factory=dict, init=False, repr=False)
    # (render, number, total) -> (the chapter as rendered, its messages): see `_render`.
    _rendered: dict[tuple[RenderFn, int, int], tuple[Chapter, list[Payload]]] = field(
        default_factory=dict, init=False, repr=False)

    def lock(self, guild_id: int) -> asyncio.Lock:
        return self._locks.setdefault(guild_id, asyncio.Lock())

    async def release_next(self, guild_id: int, channel_id: int, *, threads: bool = True,
                           schedule_id: int | None = None, schedule_slot: str | None = None,
                           precheck: bool = True, finish_interrupted_first: bool = False,
                           known: ChannelPermissions | None = None) -> ReleaseOutcome:
        """Release the guild's next chapter into `channel_id`.

        Releases go out in order and one at a time, so an interrupted release of this guild is finished
        first.  By default that finished chapter is the answer (a moderator's `/chapter next` asked for
        "the next chapter", and that was it); with `finish_interrupted_first` (a schedule slot, which
        stands for a new chapter) the next chapter is released after it.  `known`: what Discord just
        said the bot may do in a channel (see `ChannelPermissions`).
        """
        async with self.lock(guild_id):
            for release in await release_log.unfinished_releases(self.conn, guild_id):
                outcome = _replace(await self._drive(release, known=known), resumed=True)
                if outcome.status == "channel_gone" and release.channel_id != channel_id:
                    continue  # forgotten: its chapter goes out afresh in the channel asked for now
                if outcome.status != "released" or not finish_interrupted_first:
                    return outcome
            total = await chapter_count(self.conn)
            if total == 0:
                return ReleaseOutcome("no_story", guild_id)
            number = await release_log.last_claimed_chapter(self.conn, guild_id) + 1
            if number > total:
                return ReleaseOutcome("all_out", guild_id, total=total)
            chapter = await load_chapter(self.conn, number)
            if chapter is None:  # a gap in the imported numbering: nothing sensible to release
                return ReleaseOutcome("failed", guild_id, number, total=total,
                                      error=f"chapter {number} is missing")
            if precheck:
                missing = await self._missing(channel_id, thread=threads, known=known)
                if missing:
                    return ReleaseOutcome("forbidden", guild_id, number, chapter.title, total, channel_id,
                                          missing_permission=missing[0])
            alert_role_id = (await get_guild_settings(self.conn, guild_id)).alert_role_id
            payloads = self._render(chapter, number, total, alert_role_id)
            claimed = await release_log.claim_release(
                self.conn, guild_id=guild_id, chapter=number, channel_id=channel_id, payloads=payloads,
                thread_name=thread_name(chapter) if threads else None, started_at=self._now(),
                schedule_id=schedule_id, schedule_slot=schedule_slot,
            )
            if not claimed:
                return ReleaseOutcome("busy", guild_id, number, total=total, error="already claimed")
            planned = await release_log.get_release(self.conn, guild_id, number)
            assert planned is not None
            return await self._drive(planned, fresh=True, known=known)

    async def resume(self, guild_id: int | None = None) -> list[ReleaseOutcome]:
        """Finish every interrupted release (of one guild, or all): what a fresh start does first."""
        outcomes = []
        for release in await release_log.unfinished_releases(self.conn, guild_id):
            async with self.lock(release.guild_id):
                current = await release_log.get_release(self.conn, release.guild_id, release.chapter_number)
                if current is None or current.status != "in_progress":
                    continue
                outcomes.append(_replace(await self._drive(current), resumed=True))
        return outcomes

    async def _missing(self, channel_id: int, *, thread: bool, known: ChannelPermissions | None) -> list[str]:
        if known is not None and known.channel_id == channel_id:
            return known.missing(thread=thread)
        return await self.sender.missing_permissions(channel_id, thread=thread)

    async def _drive(self, release: release_log.ReleaseRow, *, fresh: bool = False,
                     known: ChannelPermissions | None = None) -> ReleaseOutcome:
        """Take a claimed release from wherever it stopped to done; the caller holds the guild lock.

        Every release row holds its plan (`claim_release` stores the payloads with the claim), so the
        parts are sent exactly as planned, even if the story was re-imported since.
        """
        guild_id, number, channel_id = release.guild_id, release.chapter_number, release.channel_id
        chapter = await load_chapter(self.conn, number)
        title = chapter.title if chapter else None
        total = await chapter_count(self.conn)
        payloads = release.payloads
        done = await release_log.parts(self.conn, guild_id, number)
        thread_id = release.thread_id
        first_message_id = done[0].message_id if 0 in done else None
        previous: int | None = None
        try:
            for index, payload in enumerate(payloads):
                part = done.get(index)
                if part is not None and part.message_id is not None:
                    message_id = part.message_id
                else:
                    message_id = await self._deliver(release, index, payload, part, previous)
                previous = message_id
                if index == 0:
                    first_message_id = message_id
                    if release.thread_name and thread_id is None:
                        thread_id = await self.sender.open_thread(channel_id, message_id, release.thread_name)
                        await release_log.record_thread(self.conn, guild_id, number, thread_id)
        except ReleaseForbidden as exc:
            if known is not None and known.channel_id == channel_id:
                named = known.missing(thread=exc.permission == CREATE_PUBLIC_THREADS)
                exc = ReleaseForbidden(named[0], str(exc)) if named else exc
            nothing_out = fresh and first_message_id is None
            if nothing_out:
                await release_log.abandon_release(self.conn, guild_id, number)
            log.warning("release of chapter %s in guild %s stopped by 403 (%s)%s", number, guild_id,
                        exc.permission, "; abandoned" if nothing_out else "; resumable")
            return ReleaseOutcome("forbidden", guild_id, number, title, total, channel_id, first_message_id,
                                  thread_id, missing_permission=exc.permission, error=str(exc))
        except ChannelGone as exc:
            # Nothing of this release can be finished or seen any more: forget it, so the chapter is simply
            # unreleased and goes out whole in the story channel the guild has now.
            await release_log.forget_release(self.conn, guild_id, number)
            log.warning("release of chapter %s in guild %s forgotten: its channel %s is gone (%s)", number,
                        guild_id, channel_id, exc)
            return ReleaseOutcome("channel_gone", guild_id, number, title, total, channel_id, error=str(exc))
        except PublishError as exc:
            log.warning("release of chapter %s in guild %s interrupted: %s", number, guild_id, exc)
            return ReleaseOutcome("failed", guild_id, number, title, total, channel_id, first_message_id,
                                  thread_id, error=str(exc))
        await release_log.complete_release(self.conn, guild_id, number, self._now())
        outcome = ReleaseOutcome("released", guild_id, number, title, total, channel_id, first_message_id,
                                 thread_id, parts=len(payloads))
        for listener in self.on_released:
            try:
                listener(outcome)
            except Exception:  # a listener's bug must not turn a finished release into a failure
                log.exception("release listener %r failed", listener)
        return outcome

    async def _deliver(self, release: release_log.ReleaseRow, index: int, payload: Payload,
                       part: release_log.PartRow | None, previous: int | None) -> int:
        """Send one part exactly once: intent, (look for an earlier attempt), send, record."""
        guild_id, number, channel_id = release.guild_id, release.chapter_number, release.channel_id
        nonce = part_nonce(guild_id, number, index, release.started_at)
        message_id: int | None = None
        if part is None:
            await release_log.record_intent(self.conn, guild_id, number, index, nonce, channel_id)
        else:
            # Intent recorded, outcome unknown: the process may have died after Discord accepted it.
            message_id = await self.sender.find_sent(channel_id, payload, nonce=part.nonce, after=previous)
            nonce = part.nonce
        if message_id is None:
            message_id = await self.sender.send(channel_id, payload, nonce=nonce)
        await release_log.record_sent(self.conn, guild_id, number, index, message_id, self._now())
        return message_id

    def _render(self, chapter: Chapter, number: int, total: int, alert_role_id: int | None) -> list[Payload]:
        """The plan stored with the release: mention and buttons decided now, so a resume sends the same.

        Rendering is pure and costs milliseconds of the event loop's time (a long chapter, tens), so
        when a thousand servers release the same chapter it is rendered once, not a thousand times
        while their members wait for answers: kept while the chapter is equal (a re-import that changed
        it renders afresh), and copied, as the plan is each release's own."""
        key = (self.render, number, total)
        kept = self._rendered.get(key)
        if kept is None or kept[0] != chapter:
            kept = (chapter, self.render(chapter, number=number, total=total))
            self._rendered.pop(key, None)
            while len(self._rendered) >= RENDERED_KEPT:
                del self._rendered[next(iter(self._rendered))]  # the oldest
            self._rendered[key] = kept
        return release_plan(copy.deepcopy(kept[1]), number=number, alert_role_id=alert_role_id)

    def _now(self) -> str:
        return format_timestamp(self.clock())


def part_nonce(guild_id: int, chapter: int, index: int, started_at: str) -> str:
    """A nonce unique to this part of this release attempt, and the same every time it is recomputed."""
    digest = hashlib.sha256(f"aar:{guild_id}:{chapter}:{index}:{started_at}".encode()).hexdigest()
    return digest[:MAX_NONCE]


def thread_name(chapter: Chapter) -> str:
    """The discussion thread's name: the chapter's title, within Discord's 100 characters."""
    return clip(" ".join((chapter.title or chapter.threadmark or "Discussion").split()), MAX_THREAD_NAME)


def _replace(outcome: ReleaseOutcome, **changes: Any) -> ReleaseOutcome:
    return dataclasses.replace(outcome, **changes)

