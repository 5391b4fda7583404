"""The release engine: posts a chapter as a sequence of parts, exactly once, resumable after a crash.

Discord-free: it talks to a `Sender` (the cog implements one on discord.py; tests implement fakes that
fail where they are told to).  A release is planned once — the rendered payloads, stored once per
chapter, and the plan's inputs stored with the release — and then driven step by step through
`bot.storage.release_log`:

    part 0 → discussion thread (unless the guild turned threads off) → part 1 … part n-1 → done

Exactly-once across a crash rests on two things.  Each part has a deterministic nonce (derived from
the guild, chapter, part and the release's start), sent with `enforce_nonce`, so Discord answers a
repeat with the message it already created.  And a part whose intent was recorded but whose message id
was not is first looked for among the channel's recent messages, which still works after Discord's
nonce memory (a few minutes) has lapsed.  A thread opened from a message has that message's id, so a
thread opened but not recorded is found again the same way.

The story channel's kind decides the delivery, fixed with the release before its first part
(`release_log.record_delivery`) so a resumed release goes on the same way:

- text: as above;
- forum: part 0 opens the chapter's post (titled with the chapter, with the guild's forum tag), which is
  the discussion; parts 1..n go into the post.  A post created but not recorded is found again among the
  guild's active threads (by name, parent and owner, and not already recorded for another release);
- announcement: as text, and every part is published to the following servers by the `Announcer`'s
  persisted backlog at Discord's pace (`bot.chapters.announcing`); the release never waits for it;
- with the author webhook on, parts are posted through a channel webhook under the author's name.
  Webhooks take no nonce: a part whose outcome is unknown is looked for among the recent messages by
  webhook and content.

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

from bot.chapters.plan import release_plan, stored_plan
from bot.chapters.render import RENDERER_VERSION, render_chapter
from bot.storage import release_log
from bot.storage.database import Database
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
MANAGE_WEBHOOKS = "Manage Webhooks"

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


class PublishLater(PublishError):
    """An announcement channel's publish limit: try again in `retry_after` seconds."""

    def __init__(self, retry_after: float) -> None:
        self.retry_after = retry_after
        super().__init__(f"publishing is rate limited for {retry_after:.0f} s")


class AlreadyPublished(PublishError):
    """Discord says the message was published already (e.g. just before a crash)."""


class MessageGone(PublishError):
    """The message to publish was deleted."""


ChannelKind = Literal["text", "forum", "announcement"]


@dataclass(frozen=True)
class ChannelInfo:
    """What the engine needs to know about the story channel: its kind, and a forum's tags by name."""

    kind: ChannelKind
    tags: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Author:
    """Who the parts are posted as through the channel webhook (`/aar setup author_webhook:`)."""

    username: str
    avatar_url: str | None = None


@dataclass(frozen=True)
class Delivery:
    """How one release reaches its channel; stored with it (JSON) before its first part."""

    kind: ChannelKind = "text"
    post_name: str | None = None  # forum: the post's title
    tag_ids: tuple[int, ...] = ()  # forum: the tags the post gets
    author: Author | None = None  # post through the webhook as this author

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "post_name": self.post_name, "tag_ids": list(self.tag_ids),
                "author": dataclasses.asdict(self.author) if self.author else None}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Delivery:
        author = data.get("author")
        return cls(kind=data.get("kind") or "text", post_name=data.get("post_name"),
                   tag_ids=tuple(data.get("tag_ids") or ()), author=Author(**author) if author else None)


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

    async def channel_info(self, channel_id: int) -> ChannelInfo:
        """The channel's kind (text, forum or announcement) and a forum's tags."""
        ...

    async def create_post(self, forum_id: int, name: str, payload: Payload, *, tag_ids: list[int]) -> int:
        """Open a forum post titled `name` whose first message is `payload`; return its id (which is also
        its first message's id)."""
        ...

    async def find_posts(self, guild_id: int, forum_id: int, name: str) -> list[int]:
        """The ids of the bot's active posts named `name` in the forum, oldest first."""
        ...

    async def send_as_author(self, channel_id: int, payload: Payload, *, author: Author,
                             thread_id: int | None) -> int:
        """Post `payload` through the bot's webhook of `channel_id` (into `thread_id`, a thread or forum
        post of that channel, when given) under the author's name and avatar; return the message id."""
        ...

    async def find_sent_as_author(self, channel_id: int, payload: Payload, *,
                                  after: int | None) -> int | None:
        """A message the bot's webhook already posted for this part (same content and embeds), if any."""
        ...

    async def publish(self, channel_id: int, message_id: int) -> None:
        """Publish (crosspost) a message of an announcement channel.  Raises `PublishLater` at Discord's
        publish limit, `AlreadyPublished`, `MessageGone`, `ChannelGone`, `ReleaseForbidden`."""
        ...


class Announcing(Protocol):
    """The announcement backlog as the engine uses it (`bot.chapters.announcing.Announcer`)."""

    async def publish_due(self, channel_id: int | None = None) -> None: ...

    async def backlog(self, guild_id: int) -> tuple[int, datetime | None]: ...


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
    kind: ChannelKind = "text"
    publish_waiting: int = 0  # announcement channel: parts still to publish to the following servers
    publish_eta: datetime | None = None  # about when the last of them will be out


@dataclass
class Publisher:
    """Releases chapters for every guild over one database connection and one `Sender`."""

    conn: Database
    sender: Sender
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    render: RenderFn = render_chapter
    # Told of every release that completed (fresh or resumed), after it is recorded: e.g. release alerts'
    # DMs, which must not hold up the release, so a listener only schedules its work and returns.
    on_released: list[Callable[[ReleaseOutcome], None]] = field(default_factory=list, repr=False)
    # Told of how every release that started ended (released, forbidden, failed, channel_gone), fresh or
    # resumed: e.g. the operators' metrics.  Same rule: quick, and never raising into the release.
    on_finished: list[Callable[[ReleaseOutcome], None]] = field(default_factory=list, repr=False)
    # Publishes the parts released into announcement channels (None: they are only posted).
    announcer: Announcing | None = None
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
                outcome = await self._drive(release, known=known, resumed=True)
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
            rendered, parts_total = self._render(chapter, number, total, alert_role_id)
            claimed = await release_log.claim_release(
                self.conn, guild_id=guild_id, chapter=number, channel_id=channel_id, rendered=rendered,
                renderer_version=RENDERER_VERSION, alert_role_id=alert_role_id, parts_total=parts_total,
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
                outcomes.append(await self._drive(current, resumed=True))
        return outcomes

    async def _missing(self, channel_id: int, *, thread: bool, known: ChannelPermissions | None) -> list[str]:
        if known is not None and known.channel_id == channel_id:
            return known.missing(thread=thread)
        return await self.sender.missing_permissions(channel_id, thread=thread)

    async def _drive(self, release: release_log.ReleaseRow, *, fresh: bool = False,
                     known: ChannelPermissions | None = None, resumed: bool = False) -> ReleaseOutcome:
        """`_drive_release`, then tell the `on_finished` listeners how it ended (`resumed`: it had been
        interrupted)."""
        outcome = _replace(await self._drive_release(release, fresh=fresh, known=known), resumed=resumed)
        _notify(self.on_finished, outcome)
        return outcome

    async def _drive_release(self, release: release_log.ReleaseRow, *, fresh: bool = False,
                             known: ChannelPermissions | None = None) -> ReleaseOutcome:
        """Take a claimed release from wherever it stopped to done; the caller holds the guild lock.

        Every release row holds its plan (`claim_release` stores a reference to the render and the plan's
        inputs with the claim), so the parts are sent exactly as planned, even if the story was
        re-imported since.
        """
        guild_id, number, channel_id = release.guild_id, release.chapter_number, release.channel_id
        chapter = await load_chapter(self.conn, number)
        title = chapter.title if chapter else None
        total = await chapter_count(self.conn)
        payloads = stored_plan(release.plan, number=number)
        done = await release_log.parts(self.conn, guild_id, number)
        thread_id = release.thread_id
        first_message_id = done[0].message_id if 0 in done else None
        previous: int | None = None
        delivery = Delivery()
        try:
            delivery = await self._delivery(release, chapter)
            forum = delivery.kind == "forum"
            for index, payload in enumerate(payloads):
                part = done.get(index)
                if part is not None and part.message_id is not None:
                    message_id = part.message_id
                elif forum and index == 0:
                    message_id = await self._open_post(release, payload, part, delivery)
                else:
                    message_id = await self._deliver(release, index, payload, part, previous, delivery,
                                                     post_id=thread_id if forum else None)
                previous = message_id
                if index == 0:
                    first_message_id = message_id
                    if forum and thread_id is None:  # the post is the discussion: it has its message's id
                        thread_id = message_id
                        await release_log.record_thread(self.conn, guild_id, number, thread_id)
                    elif not forum and release.thread_name and thread_id is None:
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
                                  thread_id, missing_permission=exc.permission, error=str(exc),
                                  kind=delivery.kind)
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
                                  thread_id, error=str(exc), kind=delivery.kind)
        await release_log.complete_release(self.conn, guild_id, number, self._now())
        outcome = ReleaseOutcome("released", guild_id, number, title, total, channel_id, first_message_id,
                                 thread_id, parts=len(payloads), kind=delivery.kind)
        if delivery.kind == "announcement":
            outcome = await self._publish(outcome)
        _notify(self.on_released, outcome)
        return outcome

    async def _delivery(self, release: release_log.ReleaseRow, chapter: Chapter | None) -> Delivery:
        """The release's delivery: as fixed before its first part, or decided now from the channel's kind
        and the guild's settings (and fixed)."""
        stored = await release_log.get_delivery(self.conn, release.guild_id, release.chapter_number)
        if stored is not None:
            return Delivery.from_json(stored)
        info = await self.sender.channel_info(release.channel_id)
        settings = await get_guild_settings(self.conn, release.guild_id)
        tag_ids: tuple[int, ...] = ()
        if info.kind == "forum" and settings.forum_tag:
            tag = info.tags.get(settings.forum_tag)
            if tag is None:
                log.warning("guild %s: the forum %s has no tag %r; posting chapter %s untagged",
                            release.guild_id, release.channel_id, settings.forum_tag, release.chapter_number)
            else:
                tag_ids = (tag,)
        author = (Author(settings.author_name, settings.author_avatar_url)
                  if settings.author_webhook and settings.author_name else None)
        name = release.thread_name or (thread_name(chapter) if chapter
                                       else f"Chapter {release.chapter_number}")
        delivery = Delivery(info.kind, name if info.kind == "forum" else None, tag_ids, author)
        await release_log.record_delivery(self.conn, release.guild_id, release.chapter_number,
                                          delivery.to_json())
        return delivery

    async def _open_post(self, release: release_log.ReleaseRow, payload: Payload,
                         part: release_log.PartRow | None, delivery: Delivery) -> int:
        """Part 0 in a forum: the chapter's post, exactly once (intent, look for it, create, record)."""
        guild_id, number, forum_id = release.guild_id, release.chapter_number, release.channel_id
        name = delivery.post_name or f"Chapter {number}"
        post_id: int | None = None
        if part is None:
            await release_log.record_intent(self.conn, guild_id, number, 0,
                                            part_nonce(guild_id, number, 0, release.started_at), forum_id)
        else:  # intent recorded, outcome unknown: a post Discord created is among the active threads
            for candidate in await self.sender.find_posts(guild_id, forum_id, name):
                if not await release_log.message_recorded(self.conn, candidate):
                    post_id = candidate
                    break
        if post_id is None:
            post_id = await self.sender.create_post(forum_id, name, payload, tag_ids=list(delivery.tag_ids))
        await release_log.record_post_sent(self.conn, guild_id, number, post_id, self._now())
        return post_id

    async def _deliver(self, release: release_log.ReleaseRow, index: int, payload: Payload,
                       part: release_log.PartRow | None, previous: int | None, delivery: Delivery,
                       *, post_id: int | None = None) -> int:
        """Send one part exactly once: intent, (look for an earlier attempt), send, record.

        `post_id`: a forum release's post, where the part goes (else the release's channel)."""
        guild_id, number, channel_id = release.guild_id, release.chapter_number, release.channel_id
        target = post_id or channel_id
        nonce = part_nonce(guild_id, number, index, release.started_at)
        message_id: int | None = None
        if part is None:
            await release_log.record_intent(self.conn, guild_id, number, index, nonce, target)
        elif delivery.author is not None:  # webhooks take no nonce: look by webhook and content
            message_id = await self.sender.find_sent_as_author(target, payload, after=previous)
        else:
            # Intent recorded, outcome unknown: the process may have died after Discord accepted it.
            message_id = await self.sender.find_sent(target, payload, nonce=part.nonce, after=previous)
            nonce = part.nonce
        if delivery.kind == "announcement":
            await release_log.mark_to_publish(self.conn, guild_id, number, index)
        if message_id is None:
            if delivery.author is not None:
                message_id = await self.sender.send_as_author(channel_id, payload, author=delivery.author,
                                                              thread_id=post_id)
            else:
                message_id = await self.sender.send(target, payload, nonce=nonce)
        await release_log.record_sent(self.conn, guild_id, number, index, message_id, self._now())
        return message_id

    async def _publish(self, outcome: ReleaseOutcome) -> ReleaseOutcome:
        """An announcement release is out: publish what Discord allows now, and say what still waits."""
        if self.announcer is None or outcome.channel_id is None:
            return outcome
        try:
            await self.announcer.publish_due(outcome.channel_id)
            waiting, eta = await self.announcer.backlog(outcome.guild_id)
        except Exception:  # publishing is the backlog's job: it must never fail the release
            log.exception("publishing chapter %s in guild %s failed; the backlog retries", outcome.chapter,
                          outcome.guild_id)
            return outcome
        if waiting:
            log.info("guild %s: %d parts wait to be published, about %s", outcome.guild_id, waiting, eta)
        return _replace(outcome, publish_waiting=waiting, publish_eta=eta)

    def _render(self, chapter: Chapter, number: int, total: int,
                alert_role_id: int | None) -> tuple[list[Payload], int]:
        """The render stored (once per chapter) for the release, and how many messages its plan sends
        with the mention decided now (the role is frozen with the claim, so a resume sends the same).

        Rendering is pure and costs milliseconds of the event loop's time (a long chapter, tens), so
        when a thousand servers release the same chapter it is rendered once, not a thousand times
        while their members wait for answers: kept while the chapter is equal (a re-import that changed
        it renders afresh); the plan is built on a copy, as it is each release's own."""
        key = (self.render, number, total)
        kept = self._rendered.get(key)
        if kept is None or kept[0] != chapter:
            kept = (chapter, self.render(chapter, number=number, total=total))
            self._rendered.pop(key, None)
            while len(self._rendered) >= RENDERED_KEPT:
                del self._rendered[next(iter(self._rendered))]  # the oldest
            self._rendered[key] = kept
        rendered = copy.deepcopy(kept[1])  # each release's own: nothing done to it reaches the kept one
        plan = release_plan(copy.deepcopy(rendered), number=number, alert_role_id=alert_role_id)
        return rendered, len(plan)

    def _now(self) -> str:
        return format_timestamp(self.clock())


def part_nonce(guild_id: int, chapter: int, index: int, started_at: str) -> str:
    """A nonce unique to this part of this release attempt, and the same every time it is recomputed."""
    digest = hashlib.sha256(f"aar:{guild_id}:{chapter}:{index}:{started_at}".encode()).hexdigest()
    return digest[:MAX_NONCE]


def thread_name(chapter: Chapter) -> str:
    """The discussion thread's name: the chapter's title, within Discord's 100 characters."""
    return clip(" ".join((chapter.title or chapter.threadmark or "Discussion").split()), MAX_THREAD_NAME)


def _notify(listeners: list[Callable[[ReleaseOutcome], None]], outcome: ReleaseOutcome) -> None:
    for listener in listeners:
        try:
            listener(outcome)
        except Exception:  # a listener's bug must not turn a finished release into a failure
            log.exception("release listener %r failed", listener)


def _replace(outcome: ReleaseOutcome, **changes: Any) -> ReleaseOutcome:
    return dataclasses.replace(outcome, **changes)

